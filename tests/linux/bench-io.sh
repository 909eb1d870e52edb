#!/usr/bin/env bash
# Linux guest I/O figures, ember beside QEMU -M microvm,pcie=on with
# virtio-blk-pci and virtio-net-pci (vhost=off): the same kernel, guest
# initramfs, 512 MiB and 1 vCPU. The guest (guest/tests/bench-io.sh) reads
# all of a 256 MiB raw image with dd bs=1M, through the page cache (dropped
# first) and with iflag=direct; pings the host 50 times (0.2 s apart);
# receives MB MiB from the host with busybox nc (timed by the host's nc:
# connect to close, after the guest's nc has read everything) and sends as
# many (timed in the guest the same way), both from a tmpfs file. RUNS
# times each in a guest boot; ROUNDS guest boots per VMM, alternating
# (ember, qemu, ember, qemu...) so that a busy spell of the machine hits
# both. The best throughput counts; for latency the median and the minimum
# of all pings. The first page-cache read after boot is
# slower: the guest touches its RAM for the first time (README.txt).
# Prints figure lines, never pass/fail. Runs on this /dev/kvm when it is
# hardware-backed (in a network namespace of its own), else in one boot of
# the nested test host with this machine's QEMU copied in; the taps and
# their addresses exist only there.
#
# Beside the figures, per MiB moved in each direction: the guest's virtio
# interrupts and, where the host's debugfs shows them, KVM's counters for
# the VM (exits; instructions emulated, which on AMD includes every queue
# kick; interrupts injected) and the VMM's CPU time (vCPU threads, the
# guest's part of it, the other threads). ember's own count of kicks and
# interrupts per queue (-v) is in its log.
#
# Usage: tests/linux/bench-io.sh   (make bench runs it)
# Env: RUNS (2), ROUNDS (2), MB (128), VMMS ("ember qemu"; ember-poll0 is
# ember with --disk ...,poll=0), EMBER_KVM_MODE=direct|nested,
# EMBER_GUEST_TIMEOUT (400 s per VMM run), TRACE=1 (KVM's exit reasons and
# the guest's MMIO addresses while the guest sends, from the test host's
# kvm tracepoints, as BENCH-TRACE-* lines in the log; keep MB small, the
# trace buffer holds ~100k events). Logs: build/kit/logs/bench-io-<time>/
# (bench-io-latest): all.log (all-2.log: the retry boot, see below), one
# log per VMM (ember.log, qemu.log...).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

runs=${RUNS:-2}
rounds=${ROUNDS:-2}
mb=${MB:-128}
guest_tmo=${EMBER_GUEST_TIMEOUT:-400}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || kit_die "RUNS must be a positive number"
[[ "$mb" =~ ^[1-9][0-9]*$ ]] || kit_die "MB must be a positive number"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || kit_die "ROUNDS must be a positive number"
read -r -a vmms <<<"${VMMS:-ember qemu}"
for v in "${vmms[@]}"; do
	[[ "$v" =~ ^(ember|ember-poll0|qemu)$ ]] || kit_die "VMMS: '$v' is not one of ember, ember-poll0, qemu"
done
((${#vmms[@]})) || kit_die "VMMS is empty"
kit_bench_start bench-io
all_log="$run_dir/all.log"

# The run script (POSIX sh: busybox ash in the test host, sh here in direct
# mode), with host/hooks.sh's helpers (note, wait_for, tap_up, load_tun).
# Each VMM gets a tap of its own (ember creates tap0, QEMU tapq) in a subnet
# of its own.
# VMMS (set per boot, see run_boot) lists the VMMs to run.
body="$run_dir/bench-io.body"
{
	cat <<'HEAD'
: "${EMBER:=ember}" "${QEMU:=/usr/bin/qemu-system-x86_64}"
: "${KERNEL:=/guest/vmlinuz}" "${INITRD:=/guest/guest.cpio.gz}" "${TMPD:=/tmp}" "${GUESTS:=/guests}"
HEAD
	echo ": \"\${RUNS:=$runs}\" \"\${ROUNDS:=$rounds}\" \"\${MB:=$mb}\" \"\${TMO:=$guest_tmo}\""
	echo ": \"\${TRACE:=${TRACE:-}}\""
	echo "EXIT_MARK=BENCH-STATUS="
	cat "$KIT_LIB_DIR/host/hooks.sh"
	cat <<'BODY'

# kvm_snapshot KEY: for the one VM running now, KVM's counters (debugfs)
# and the CPU time, in ms, of the VMM's threads (its pid names the VM's
# debugfs directory): vcpu_ms those that run a vCPU (their guest time > 0),
# guest_ms the part of it in the guest, vmm_ms all the others (device
# emulation, main loop). "NAME:COUNT ..."; nothing where debugfs is not
# there to read.
kvm_snapshot() {
	for _d in /sys/kernel/debug/kvm/*-*; do
		[ -r "$_d/exits" ] || continue
		_cpu=$(cat /proc/"$(basename "$_d" | cut -d- -f1)"/task/*/stat 2>/dev/null | awk '
			# From the state on: utime is field 12, stime 13, guest_time 41 (USER_HZ 100).
			{ sub(/.*\) /, ""); t = ($12 + $13) * 10
			  if ($41 > 0) { v += t; g += $41 * 10 } else o += t }
			END { printf "vcpu_ms:%d guest_ms:%d vmm_ms:%d", v, g, o }')
		note "BENCH-KVM-$1" "$(for _f in exits insn_emulation irq_injections halt_exits; do
			printf '%s:%s ' "$_f" "$(cat "$_d/$_f" 2>/dev/null || echo 0)"
		done)$_cpu"
		return 0
	done
}

# trace_start / trace_stop [KEY]: with TRACE set, the VM exits' reasons and
# the MMIO accesses KVM saw between the two (kvm_exit, kvm_mmio events) as
# "BENCH-TRACE-KEY-EXITS=reason:count ..." and "BENCH-TRACE-KEY-MMIO=
# type@gpa:count ...", the 12 most frequent of each; without KEY (a run
# that did not finish) tracing just stops.
TRACEFS=/sys/kernel/debug/tracing
trace_start() {
	[ -n "$TRACE" ] && [ -d $TRACEFS/events/kvm ] || return 0
	echo 0 >$TRACEFS/tracing_on
	echo 8192 >$TRACEFS/buffer_size_kb
	echo >$TRACEFS/trace
	echo 1 >$TRACEFS/events/kvm/kvm_exit/enable
	echo 1 >$TRACEFS/events/kvm/kvm_mmio/enable
	echo 1 >$TRACEFS/tracing_on
}
trace_top() { sort | uniq -c | sort -rn | head -12 | awk '{ printf "%s:%s ", $2, $1 }'; }
trace_stop() {
	[ -n "$TRACE" ] && [ -d $TRACEFS/events/kvm ] || return 0
	echo 0 >$TRACEFS/tracing_on
	echo 0 >$TRACEFS/events/kvm/enable
	[ -n "${1:-}" ] || return 0
	note "BENCH-TRACE-$1-EXITS" "$(awk '/kvm_exit:/ { for (i = 1; i < NF; i++)
		if ($i == "reason") print $(i + 1) }' $TRACEFS/trace | trace_top)"
	note "BENCH-TRACE-$1-MMIO" "$(awk '/kvm_mmio:/ { for (i = 1; i < NF; i++)
		if ($i == "gpa") print $(i - 3) "@" $(i + 1) }' $TRACEFS/trace | trace_top)"
	note "BENCH-TRACE-$1-LOST" "$(cat $TRACEFS/per_cpu/cpu*/stats 2>/dev/null |
		awk '/overrun/ { n += $2 } END { print n + 0 }')"
}

# host_side OUT TAP HOSTADDR GUESTIP: the host's part while a VMM runs; its
# stdout is the guest's console. RUNS rounds each way (guest/tests/bench-io.sh):
# host -> guest to port 5100+i once the guest says BENCH-LISTENING=i, timed
# here; guest -> host to port 5200+i, timed in the guest.
host_side() {
	tap_up "$1" "$2" "$3" || return 0
	mkfifo g2h.fifo
	pids=""
	for i in $(seq "$RUNS"); do
		timeout "$TMO" "$BB" nc -l -p $((5200 + i)) <>g2h.fifo >/dev/null &
		pids="$pids $!"
	done
	for i in $(seq "$RUNS"); do
		wait_for "$1" "BENCH-LISTENING=$i" "$TMO" || break
		[ "$i" = 1 ] && kvm_snapshot H2G-BEFORE
		t0=$(uptime_s)
		timeout "$TMO" "$BB" nc "$4" $((5100 + i)) <h2g.dat >/dev/null
		note BENCH-H2G "$? $(elapsed "$t0")"
	done
	kvm_snapshot H2G-AFTER
	# The guest marks its sending's start and end (polled: within 0.2 s).
	if wait_for "$1" BENCH-IRQ-G2H-BEFORE "$TMO"; then
		kvm_snapshot G2H-BEFORE
		trace_start
		if wait_for "$1" BENCH-IRQ-G2H-AFTER "$TMO"; then
			kvm_snapshot G2H-AFTER
			trace_stop G2H
		else
			trace_stop
		fi
	fi
	wait_for "$1" BENCH-NET-DONE "$TMO"
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -f g2h.fifo
}

# one NAME SUBNET COMMAND...: one VMM run; the guest gets SUBNET.2, the
# host's side of the tap SUBNET.1.
one() {
	name=$1 tap=$2 net=$3
	shift 3
	out=$TMPD/$name.out
	HOSTLOG=$TMPD/$name.host
	: >"$out"
	: >"$HOSTLOG"
	echo "BENCH-BEGIN=$name"
	{
		host_side "$out" "$tap" "$net.1/24" "$net.2" 2>>"$HOSTLOG"
		echo host-done
	} | {
		timeout "$TMO" "$@" 2>&1
		echo "BENCH-STATUS=$?"
	} | tee "$out"
	cat "$HOSTLOG"
	echo "BENCH-END=$name"
}

# one_ember NAME TAP SUBNET [DISK-OPTIONS]: one ember run (-v: its queue counts).
one_ember() {
	one "$1" "$2" "$3" "$EMBER" run -v --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline "console=ttyS0 $args ember.ip0=$3.2/24 ember.peer0=$3.1 quiet" \
		--memory 512M --cpus 1 --serial stdio --disk "path=bench.img${4:-}" --net "tap=$2"
}

mkdir -p "$TMPD"
cd "$TMPD" || exit 1
[ -d /sys/kernel/debug/kvm ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
HOSTLOG=$TMPD/tun.host
load_tun
cat "$HOSTLOG"
dd if=/dev/zero of=bench.img bs=1M count=256 2>/dev/null
# What one queue kick costs the guest, through the port and through the
# memory notification structure (micro-guest kickbench.bin, ember only).
if [ -f "$GUESTS/kickbench.bin" ]; then
	"$EMBER" run --firmware "$GUESTS/kickbench.bin" --disk path=bench.img </dev/null 2>&1 |
		awk '/^kick (port|memory) [0-9]+/ { print "BENCH-KICK-" toupper($2) "=" $3 }'
fi
# What the host sends: a file (in tmpfs), not a pipe, as in the guest.
dd if=/dev/zero of=h2g.dat bs=1M count="$MB" 2>/dev/null
# panic=-1: a guest that panics reboots, which ends either VMM at once.
args="ember.test=bench-io ember.runs=$RUNS ember.mb=$MB panic=-1"
for round in $(seq "$ROUNDS"); do
echo "BENCH-ROUND=$round"
case " $VMMS " in
*" ember "*) one_ember ember tap0 10.0.0 ;;
esac
case " $VMMS " in
*" ember-poll0 "*) one_ember ember-poll0 tapp 10.0.2 ,poll=0 ;;
esac
case " $VMMS " in
*" qemu "*)
one qemu tapq 10.0.9 "$QEMU" -M microvm,pcie=on -accel kvm -cpu host -m 512M -smp 1 \
	-nodefaults -no-user-config -serial stdio -display none -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 $args ember.ip0=10.0.9.2/24 ember.peer0=10.0.9.1 quiet" \
	-drive file=bench.img,if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0 \
	-netdev tap,id=n0,ifname=tapq,script=no,downscript=no,vhost=off \
	-device virtio-net-pci,netdev=n0,romfile=
;;
esac
done
rm -f bench.img h2g.dat
BODY
} >"$body"

if [[ "$mode" == nested ]]; then
	overlay="$KIT/stage/bench-io-overlay-$$"
	kit_bench_overlay "$overlay"
fi

# run_boot LOG VMM...: the runs of the VMMs named, in one test-host boot (or
# here in direct mode); their output in LOG.
run_boot() {
	local log=$1 scen="$run_dir/bench-io.sh" rc=0
	shift
	{
		printf '#!/bin/sh\n# Generated by bench-io.sh.\nVMMS="%s"\n' "$*"
		cat "$body"
	} >"$scen"
	if [[ "$mode" == direct ]]; then
		kit_log "running on this /dev/kvm: $*, in a network namespace"
		command -v unshare >/dev/null || kit_die "needs unshare (util-linux)"
		mkdir -p "$run_dir/tmp"
		EMBER="$EMBER" QEMU="$QEMU_BIN" KERNEL="$KIT/vmlinuz" INITRD="$KIT/guest.cpio.gz" GUESTS="$MICRO_DIR" \
			TMPD="$run_dir/tmp" BUSYBOX="$KIT/busybox" unshare --net sh "$scen" >"$log" 2>&1 || true
	else
		# A wedged test host is stopped (kit_bench_host); the VMMs it did not
		# finish get the retry boot below.
		kit_bench_host "$scen" "$log" $((120 + rounds * $# * (guest_tmo + 10))) "$overlay" \
			"$* with disk and network"
	fi
	tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
}

# complete VMM LOG: each of the VMM's runs in LOG got to the end of the
# guest's network part (BENCH-NET-DONE) and the VMM exited.
complete() {
	local n
	n=$(sed -n "/BENCH-BEGIN=$1\$/,/BENCH-END=$1\$/p" "$2" | grep -a -cx BENCH-NET-DONE)
	((n == rounds))
}

run_boot "$all_log" "${vmms[@]}"
# In the nested test host the test host or a guest sometimes crashes under
# network load (README.txt, known findings): the VMMs whose run did not
# complete get one more boot; the figures come from the last run of each.
retry=()
for vmm in "${vmms[@]}"; do
	complete "$vmm" "$all_log" || retry+=("$vmm")
done
if ((${#retry[@]})) && [[ "$mode" == nested ]]; then
	kit_log "incomplete: ${retry[*]} (crash, see $all_log); once more in a new test-host boot"
	run_boot "$run_dir/all-2.log" "${retry[@]}"
	for vmm in "${retry[@]}"; do
		complete "$vmm" "$run_dir/all-2.log" || kit_log "$vmm: incomplete again"
	done
fi
rm -rf "${overlay:-}"

# Value of the first "KEY=value" marker in file $2; all values of it.
marker() { grep -a -o -m1 "$1=.*" "$2" | cut -d= -f2- || true; }
markers() { grep -a -o "$1=.*" "$2" | cut -d= -f2- || true; }
# "BEST MEDIAN": the MiB/s of the fastest and of the median of the seconds on stdin
# that MiB took (the faster middle one of an even count), "- -" without any.
rates() {
	awk '$1 > 0' | sort -g | awk -v m="$1" '{ t[NR] = $1 }
		END { if (NR) printf "%.1f %.1f\n", m / t[1], m / t[int((NR + 1) / 2)]; else print "- -" }'
}
mib_s() { awk -v s="$1" -v m="$2" 'BEGIN { if (s > 0) printf "%.1f\n", m / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# "median M min N (K pings)" of the round-trip times (ms) on stdin, one a line
# (a reply timed 0.000 ms, which the test host's clock gives now and then, is left out).
rtt_stats() {
	awk '$1 > 0' | sort -g | awk '{ t[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		printf "%.3f %.3f %d\n", m, t[1], NR }'
}

# per_mib LOG PREFIX MIB: "NAME=N ..." each counter's increase per MiB moved,
# from the PREFIX-BEFORE/PREFIX-AFTER "NAME:COUNT ..." pairs in LOG (PREFIX:
# BENCH-IRQ-H2G, BENCH-KVM-G2H...), each pair around MIB moved. Only whole
# pairs count: a run cut short by a crash leaves a BEFORE without its AFTER.
per_mib() {
	grep -a -o "$2-[A-Z]*=.*" "$1" | awk -v mib="$3" '
		{ split($0, kv, "="); after = kv[1] ~ /AFTER$/; n = split(kv[2], f, " ")
		  if (after && !open) next
		  open = !after; pairs += after
		  for (i = 1; i <= n; i++) { split(f[i], p, ":"); q = p[1]; sub(/^virtio[0-9]+-/, "", q)
			if (after) d[q] += p[2] - b[q]; else b[q] = p[2] } }
		END { for (q in d) printf "%s=%.0f\n", q, d[q] / (pairs * mib) }' | sort | tr '\n' ' ' |
		sed 's/ $//'
}

declare -A buf dir png pmin h2g g2h irqh irqg kvmh kvmg bufm dirm h2gm g2hm
for vmm in "${vmms[@]}"; do
	log="$run_dir/$vmm.log"
	src=$all_log
	if [[ " ${retry[*]} " == *" $vmm "* ]]; then
		sed -n "/BENCH-BEGIN=$vmm\$/,/BENCH-END=$vmm\$/p" "$all_log" >"$log"
		v=$(grep -a -m1 -E 'Kernel panic|double fault:|triple fault|BUG:' "$log" || true)
		if [[ -n "$v" ]]; then
			v="crash: ${v#*\] }"
		elif grep -a -q "BENCH-END=$vmm" "$log"; then
			v="VMM status $(marker BENCH-STATUS "$log") (124, 143: stopped after ${guest_tmo}s)"
		else
			v="the test host died"
		fi
		if [[ -f "$run_dir/all-2.log" ]]; then
			src=$run_dir/all-2.log
			v+="; figures from a second boot"
		fi
		echo "$vmm: first run incomplete: $v"
	fi
	sed -n "/BENCH-BEGIN=$vmm\$/,/BENCH-END=$vmm\$/p" "$src" >"$log"
	st=$(markers BENCH-STATUS "$log" | sort -u | tr '\n' ' ' | sed 's/ $//')
	bytes=$(marker BENCH-DISK-BYTES "$log")
	[[ "$st" == 0 ]] || echo "$vmm: VMM status '${st:-none}' ($log)"
	# Under the nested test host, guests of both VMMs and the test host
	# itself sometimes crash under network load (README.txt, known findings).
	v=$(grep -a -m1 -E 'Kernel panic|double fault:|triple fault|reboot: Restarting' "$log" || true)
	if (($(grep -a -c "BENCH-END=$vmm" "$log") < rounds)); then
		echo "$vmm: the test host died during this run: $(grep -a -E 'Kernel panic|BUG:' "$log" | tail -n 1 || true)"
	elif [[ -n "$v" ]]; then
		echo "$vmm: the guest crashed: ${v#*\] }"
	fi
	[[ "$bytes" == $((256 << 20)) ]] || echo "$vmm: guest saw a disk of '${bytes:-no}' bytes, not 256 MiB ($log)"
	read -r buf[$vmm] bufm[$vmm] < <(markers BENCH-BLK-BUFFERED "$log" | rates 256)
	read -r dir[$vmm] dirm[$vmm] < <(markers BENCH-BLK-DIRECT "$log" | rates 256)
	read -r png[$vmm] pmin[$vmm] v < <(markers BENCH-PING-TIMES "$log" | tr ' ' '\n' | grep . | rtt_stats)
	markers BENCH-PING-STATS "$log" | grep -v " 0% packet loss" | sed "s/^/$vmm: ping: /" || true
	n=$((mb * runs))
	irqh[$vmm]=$(per_mib "$log" BENCH-IRQ-H2G "$n")
	irqg[$vmm]=$(per_mib "$log" BENCH-IRQ-G2H "$n")
	kvmh[$vmm]=$(per_mib "$log" BENCH-KVM-H2G "$n")
	kvmg[$vmm]=$(per_mib "$log" BENCH-KVM-G2H "$n")
	read -r h2g[$vmm] h2gm[$vmm] < <(markers BENCH-H2G "$log" | awk '$1 == 0 { print $2 }' | rates "$mb")
	read -r g2h[$vmm] g2hm[$vmm] < <(markers BENCH-G2H "$log" | awk '$1 == 0 { print $2 }' | rates "$mb")
	v=$(markers BENCH-H2G "$log" | grep -vc '^0 ' || true)
	w=$(markers BENCH-H2G-STATUS "$log" | grep -vxc 0 || true)
	((v == 0 && w == 0)) || echo "$vmm: $v host -> guest transfer(s) failed on the host side, $w on the guest side ($log)"
	v=$(markers BENCH-G2H "$log" | grep -vc '^0 ' || true)
	((v == 0)) || echo "$vmm: $v guest -> host transfer(s) failed ($log)"
	for v in h2g g2h; do
		n=$(markers "BENCH-${v^^}" "$log" | grep -c '^0 ' || true)
		((n == runs * rounds)) || echo "$vmm: ${v}: $n of $((runs * rounds)) transfers done ($log)"
	done
done
where="nested test host (QEMU TCG): figures are relative"
[[ "$mode" == nested ]] || where="this machine's /dev/kvm"
echo "Linux guest I/O, 1 vCPU, 512 MiB, $where (qemu: -M microvm; ember-poll0: --disk ...,poll=0)."
echo "virtio-blk: dd if=/dev/vda bs=1M of 256 MiB, page cache and O_DIRECT; virtio-net: TCP with busybox nc," \
	"$mb MiB from a tmpfs file, host -> guest and guest -> host (best of $((runs * rounds)) each, and medians), ping guest -> host" \
	"50 x $rounds, RTT median (min)"
for vmm in "${vmms[@]}"; do
	echo "$vmm: dd ${buf[$vmm]} / ${dir[$vmm]} MiB/s; TCP ${h2g[$vmm]} / ${g2h[$vmm]} MiB/s; ping ${png[$vmm]} (${pmin[$vmm]}) ms"
	echo "$vmm, medians: dd ${bufm[$vmm]} / ${dirm[$vmm]} MiB/s; TCP ${h2gm[$vmm]} / ${g2hm[$vmm]} MiB/s"
done
if [[ -n "${buf[qemu]+set}" ]]; then
	for vmm in "${vmms[@]}"; do
		[[ "$vmm" != qemu ]] || continue
		echo "$vmm / qemu (>1: $vmm better): dd $(ratio "${buf[$vmm]}" "${buf[qemu]}") / $(ratio "${dir[$vmm]}" "${dir[qemu]}");" \
			"TCP $(ratio "${h2g[$vmm]}" "${h2g[qemu]}") / $(ratio "${g2h[$vmm]}" "${g2h[qemu]}");" \
			"ping (qemu's median / $vmm's) $(ratio "${png[qemu]}" "${png[$vmm]}")"
		echo "$vmm / qemu, medians: dd $(ratio "${bufm[$vmm]}" "${bufm[qemu]}") / $(ratio "${dirm[$vmm]}" "${dirm[qemu]}");" \
			"TCP $(ratio "${h2gm[$vmm]}" "${h2gm[qemu]}") / $(ratio "${g2hm[$vmm]}" "${g2hm[qemu]}")"
	done
fi
for vmm in "${vmms[@]}"; do
	echo "$vmm per MiB, host -> guest: guest interrupts and eth0 packets ${irqh[$vmm]:--}; KVM ${kvmh[$vmm]:--}"
	echo "$vmm per MiB, guest -> host: guest interrupts and eth0 packets ${irqg[$vmm]:--}; KVM ${kvmg[$vmm]:--}"
done
v=$(marker BENCH-KICK-PORT "$all_log")
w=$(marker BENCH-KICK-MEMORY "$all_log")
[[ -z "$v" ]] || echo "ember queue kick, guest TSC cycles each (kickbench.bin, median of 9 x 200): port $v, memory $w"
echo "logs: $run_dir"
