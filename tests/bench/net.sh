#!/usr/bin/env bash
# virtio-net throughput, device side: Ember beside QEMU's userspace
# virtio-net (tap, no vhost) running the same micro-guest on the same taps in
# the same run. Figures, never pass/fail.
#
# The micro-guest netbench.bin (tests/guests/netbench.c) drives two NICs
# whose taps one bridge joins, in a network namespace of this script's own
# (no address, no IPv6: nothing leaves it). The first NIC sends, the second
# receives; the guest builds every frame before its clock starts and then
# costs almost nothing per frame (an index store and a load per batch, a
# kick where the device asks for one), so what its TSC measures is the
# VMM's path both ways plus the host's taps and bridge:
#   tso  64000-byte TCP segments (HOST_TSO4 on the sender, GUEST_TSO4 on
#        the receiver; the host passes them whole), MiB/s of payload;
#   mtu  1514-byte frames, thousands of frames a second.
# At most 512 frames are on their way at any time (a tap's queue holds
# 1000; the host drops beyond it). Every figure is the median of
# NET_BENCH_RUNS (5) runs, taken in alternating rounds (Ember, QEMU) so that
# a busy spell of the machine hits both. The host turns TSC cycles into time
# with its own TSC rate (build/tschz).
#
# Host CPU per MiB: each run goes through build/vmmcpu, which notes the
# VMM process's user + system time and its guest time as each "bench" line
# arrives: mtu's CPU is the span from the tso line to its own; tso's runs
# from the VMM's start, so a run of first.bin (start and exit, the same
# NICs) is taken off. Shown per MiB of payload, without the guest's own
# time (the guest polls while it waits) and with it.
#
# Needs root, unshare, ip (iproute2) and /dev/net/tun. QEMU
# (qemu-system-x86_64, if installed): q35, -accel kvm, 128 MiB, the image as
# its BIOS, two virtio-net-pci (modern only, no option ROM: no firmware
# would run it) on -netdev tap,vhost=off.
# Takes ~30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=${EMBER:-build/ember}
GUEST=build/guests/netbench.bin
RUNS=${NET_BENCH_RUNS:-5}
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || QEMU=
if [ ! -x "$EMBER" ] || [ ! -f "$GUEST" ]; then
	echo "virtio-net bench: $EMBER or $GUEST missing (make all guests)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
	[ ! -c /dev/net/tun ]; then
	echo "virtio-net bench: needs root, unshare, ip and /dev/net/tun: not run"
	exit 0
fi
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "NET_BENCH_RUNS must be a positive number" >&2; exit 2; }
. tests/bench/lib.sh
bench_tools
HZ=$(tsc_hz)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
VMMCPU=build/vmmcpu
FIRST=build/guests/first.bin
export LC_ALL=C EMBER GUEST QEMU RUNS OUT VMMCPU FIRST BENCH_PROGRESS

# The runs, inside the namespace: $OUT/{ember,qemu}.N hold each run's output.
unshare --net bash -euo pipefail -c '
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
	ip tuntap add dev na mode tap
	ip tuntap add dev nb mode tap
	ip link add nbr type bridge
	ip link set na master nbr
	ip link set nb master nbr
	for d in na nb nbr; do ip link set $d up; done
	# A device that comes up sends a few IGMP reports over the next ~2 s; they
	# would land among the measured frames.
	sleep 3
	# Each run under build/vmmcpu (its CPU time in $OUT/cpu.VMM); then, for
	# the CPU figures, the same VMM and NICs with first.bin, which exits at
	# once ($OUT/base.VMM).
	ember() {
		timeout 120 "$VMMCPU" "$1" "$EMBER" run --memory 128M --firmware "$2" \
			--net tap=na,mac=52:54:00:45:4d:01 --net tap=nb,mac=52:54:00:45:4d:02 </dev/null
	}
	qemu() {
		timeout 120 "$VMMCPU" "$1" "$QEMU" -M q35 -accel kvm -cpu host -m 128M -bios "$2" -nodefaults \
			-serial stdio -display none -no-reboot -device isa-debug-exit,iobase=0x501 \
			-netdev tap,id=n0,ifname=na,script=no,downscript=no,vhost=off \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:45:4d:01,disable-legacy=on,romfile= \
			-netdev tap,id=n1,ifname=nb,script=no,downscript=no,vhost=off \
			-device virtio-net-pci,netdev=n1,mac=52:54:00:45:4d:02,disable-legacy=on,romfile= </dev/null
	}
	for ((r = 1; r <= RUNS; r++)); do
		[ -z "${BENCH_PROGRESS:-}" ] || echo "BENCH-ALIVE net.sh: round $r" >&2
		ember "$OUT/cpu.ember" "$GUEST" >"$OUT/ember.$r" 2>&1 ||
			echo "ember: netbench.bin failed: $(tail -1 "$OUT/ember.$r")" >&2
		ember "$OUT/base.ember" "$FIRST" >/dev/null 2>&1 || true
		[ -n "$QEMU" ] || continue
		# isa-debug-exit: the guest exit code c gives QEMU status 2c + 1.
		st=0
		qemu "$OUT/cpu.qemu" "$GUEST" >"$OUT/qemu.$r" 2>&1 || st=$?
		[ $st -eq 1 ] && grep -q "^netbench done" "$OUT/qemu.$r" ||
			echo "qemu: netbench.bin failed, status $st: $(tail -1 "$OUT/qemu.$r")" >&2
		qemu "$OUT/base.qemu" "$FIRST" >/dev/null 2>&1 || true
	done
'

# rate VMM PHASE [kicks|rxkicks]: the median over the runs of MiB/s of
# payload (tso) or thousands of frames a second (mtu); or of the transmit
# (kicks) or receive (rxkicks) queue's kicks per 1000 frames
rate() {
	local f w
	for f in "$OUT/$1".*; do
		# bench NAME payload P frames F cycles HEX kicks K rxkicks R buffers B
		read -r -a w < <(grep "^bench $2 " "$f") || continue
		awk -v ph="$2" -v what="${3:-rate}" -v p="${w[3]}" -v n="${w[5]}" -v c=$((16#${w[7]})) \
			-v k="${w[9]}" -v r="${w[11]}" -v hz="$HZ" 'BEGIN {
			s = c / hz
			if (what == "kicks") printf "%.1f\n", 1000 * k / n
			else if (what == "rxkicks") printf "%.1f\n", 1000 * r / n
			else if (ph == "tso") printf "%.0f\n", p * n / 1048576 / s
			else printf "%.1f\n", n / 1000 / s }'
	done | median
}

QV=
[ -z "$QEMU" ] || QV=$("$QEMU" --version | head -1)
echo "== virtio-net device side vs QEMU: two NICs on taps joined by a bridge, TSC $((HZ / 1000000)) MHz, median of $RUNS"
echo "QEMU: ${QV:-not installed}${QV:+, q35, virtio-net-pci on -netdev tap, vhost=off}"
printf '%-26s %8s %8s %11s\n' "" Ember QEMU Ember/QEMU
for p in tso mtu; do
	e=$(rate ember $p)
	q=$([ -z "$QEMU" ] || rate qemu $p)
	label="tso 64000 B MiB/s"
	[ $p = tso ] || label="mtu 1514 B kframes/s"
	printf '%-26s %8s %8s %11s\n' "$label" "${e:--}" "${q:--}" "$(ratio "$e" "$q")"
done
printf '%-26s %8s %8s\n' "kicks per 1000 frames" "Ember" "QEMU"
for p in tso mtu; do
	printf '%-26s %8s %8s\n' "$p (transmit/receive)" "$(rate ember $p kicks)/$(rate ember $p rxkicks)" \
		"$([ -z "$QEMU" ] && echo - || echo "$(rate qemu $p kicks)/$(rate qemu $p rxkicks)")"
done
# A run whose frames took other than one receive buffer each (a stray frame
# counted as one of them, or segments the host cut up) is reported.
for f in "$OUT"/*.[0-9]*; do
	awk -v f="${f##*/}" '$1 == "bench" && $14 != $6 {
		print "note: " f " " $2 ": " $14 " receive buffers for " $6 " frames" }' "$f"
done

# Host CPU per MiB of payload, per phase: mtu's from the sample at the tso
# line to the one at its own (build/vmmcpu); tso's from the VMM's start to
# its line, minus the median first.bin run (start and exit with the same
# NICs; a failed one, status other than Ember's 0 and QEMU's 1, does not
# count). The runs' payload is the same every time.
# net_cpu VMM PHASE [guest]: microseconds per MiB, median over the runs
net_cpu() {
	local base=0 mib f
	f=$(grep -l '^netbench done' "$OUT/$1".[0-9]* 2>/dev/null | head -1) || true
	[ -n "$f" ] || return 0
	mib=$(awk -v ph="$2" '$1 == "bench" && $2 == ph { printf "%.3f", $4 * $6 / 1048576 }' "$f")
	if [ "$2" = tso ]; then
		base=$(awk -v ok="$([ "$1" = ember ] && echo 0 || echo 1)" '$11 == ok' "$OUT/base.$1" \
			2>/dev/null | cpu_fig - "${3:-}")
		[ -n "$base" ] || return 0
	fi
	phase_cpu "$OUT/cpu.$1" "$2" "${3:-}" | awk -v b="$base" -v m="$mib" '{ printf "%.1f\n", ($1 - b) / m }' |
		median
}
echo "host CPU per MiB, virtio-net: the VMM process's user + system time, all threads (build/vmmcpu:" \
	"/proc/PID/stat at the guest's lines, 10 ms ticks), per MiB of payload sent from one NIC to the other;" \
	"mtu from the tso line to its own, tso from the VMM's start minus a run of first.bin on the same NICs" \
	"(start and exit); median of $RUNS; without the time the vCPU ran the guest (guest_time; the guest" \
	"polls) and, below, with it"
printf '%-34s %10s %10s %11s\n' "" Ember QEMU Ember/QEMU
for g in guest ""; do
	for p in tso mtu; do
		e=$(net_cpu ember $p $g)
		q=
		[ -z "$QEMU" ] || q=$(net_cpu qemu $p $g)
		printf '%-34s %10s %10s %11s\n' "$p us/MiB" "${e:--}" "${q:--}" "$(ratio "$e" "$q")"
	done
	if [ -n "$g" ]; then echo "with the guest's own time:"; fi
done
# BENCH_RAW=1: vmmcpu's lines as they are, for a look at the runs
if [ -n "${BENCH_RAW:-}" ]; then
	for f in "$OUT"/cpu.* "$OUT"/base.*; do [ ! -f "$f" ] || sed "s|^|BENCH-RAW net ${f##*/}: |" "$f"; done
fi
