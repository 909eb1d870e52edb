#!/usr/bin/env bash
# virtio-blk throughput, device side: Ember beside QEMU's virtio-blk running
# the same micro-guest in the same run, and beside the host's own I/O on the
# same file. Figures, never pass/fail.
#
# The micro-guest blkbench.bin builds every request before its clock
# starts; a batch then costs it one store per request (~2.4 emulated
# instructions), one `repe scasl` over the status bytes of the batch it
# replaces, an index store and, if the device asks for one (EVENT_IDX), a
# kick. It halts while it waits (MSI-X) and never touches the data. It times
# each phase with the TSC: 64 KiB sequential reads and writes over the whole
# image (256 in flight, published 128 at a time), the same with 1 MiB
# requests (32 in flight, 16 at a time), and 4 KiB random reads with at most
# 32 in flight (16 at a time); then the sequential phases again with every
# request's data in one buffer ("1 buf"), which is how dd works: those are
# the like-for-like lines for the host dd comparison. The host turns TSC cycles into time with its
# own TSC rate (build/tschz); a guest spin of 2^30 cycles, timed by the wall
# clock between the guest's lines before and after it, checks that the
# guest's TSC runs at that rate, in each VMM.
#
# QEMU (if qemu-system-x86_64 is installed) runs the same image as the BIOS
# of a q35 machine (-accel kvm -cpu host, 128 MiB): virtio-blk-pci, modern
# only, on an iothread, aio=io_uring, cache=writeback (buffered, as Ember),
# the disk's serial= set to what Ember gets as id= (it picks the phases).
# No firmware runs there, so the guest places the BARs itself (virtio.h,
# pci_assign_bars) and maps RAM under its image (start.S). Its figures are
# the guest's TSC as for Ember, so QEMU's start-up is not in them. The
# "Ember/QEMU" ratios are the ones the targets are about: random-read IOPS
# and the sequential rates at least QEMU's.
#
# Beside each line: dd on the same image with the same block size through
# the page cache (warm; Ember does buffered I/O, so this is the figure to
# match) and, for reference, with O_DIRECT and with a buffer as large as all
# the guest's requests in flight together (dd's one small buffer stays in
# the CPU's cache, the guest's 16-32 MiB do not); for the random reads,
# build/randread (tests/bench/randread.c): the guest's offsets at the same
# queue depth through io_uring. dd's time is its own (its copy loop, not its
# start-up); its writes read /dev/zero, which costs it ~15 ms a GiB. Every
# figure is the median of BLK_BENCH_RUNS (3) runs, taken in rounds (host,
# Ember io_uring, Ember sync, QEMU) so that a busy spell on the machine hits
# all of them. The page cache is warmed right before each run (this
# machine's DAMON pages out file pages left idle for ~30 s) and dirty pages
# are synced before each one.
#
# Below the table: the guest's kicks (the notifications the device asked
# for through avail_event) and the interrupts it took, per 1000 requests:
# where the figure is the guest's (low "guest idle"), these are the ways
# the device side still changes it (a kick is an exit, an interrupt a wake
# from `hlt`).
#
# "guest idle" is the share of a phase the guest spent halted waiting for
# the device: near 100% means the figure is the VMM's; low means the guest
# bounds it. On this machine's PVM-backed /dev/kvm every guest instruction
# is emulated (~1 us), under QEMU as under Ember: a batch of 16 costs the
# guest ~100 us, which bounds the 4 KiB random reads far below what either
# VMM's I/O path could do. The guest does the same work in both, so what
# differs between them is the device's: its kicks, interrupts and latency.
#
# Host CPU per request: every guest run above goes through build/vmmcpu
# (tests/bench/vmmcpu.c), which notes the VMM process's user + system time
# and the time its vCPUs ran the guest (/proc/PID/stat, 10 ms ticks) as
# each "bench" line arrives. A phase's CPU is the difference between its
# line and the line before, so neither the VMM's start nor the guest's
# set-up is in it (which is why seqread 64K, the first phase, has no
# figure); it is shown per 4 KiB read or per MiB, without the guest's own
# time (it builds the next phase's requests in that span) and with it.
#
# BLK_BENCH_MB (1024): image size. BLK_BENCH_TIMEOUT (240): seconds one
# guest run may take before it is stopped (and counted as failed). BLK_BENCH_IMG (build/blkbench.img): a
# scratch file, overwritten and removed. QEMU (qemu-system-x86_64): the QEMU
# binary. The whole script takes ~1.5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=${EMBER:-build/ember}
GUEST=build/guests/blkbench.bin
MB=${BLK_BENCH_MB:-1024}
RUNS=${BLK_BENCH_RUNS:-3}
IMG=${BLK_BENCH_IMG:-build/blkbench.img} # not /tmp: O_DIRECT fails on tmpfs
RAND_OPS=32768 # as blkbench.c
RAND_QD=32
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_NAME=$QEMU
command -v "$QEMU" >/dev/null || QEMU=
if [ ! -x "$EMBER" ] || [ ! -f "$GUEST" ]; then
	echo "virtio-blk bench: $EMBER or $GUEST missing (make all guests)"
	exit 0
fi
. tests/bench/lib.sh
bench_tools
HZ=$(tsc_hz)
RANDREAD=build/randread
[ -x "$RANDREAD" ] || RANDREAD=
VMMCPU=build/vmmcpu
TMO=${BLK_BENCH_TIMEOUT:-240} # seconds a guest run may take
OUT=$(mktemp -d)
trap 'rm -rf "$OUT" "$IMG"' EXIT
export LC_ALL=C

now() { date +%s%N; }
busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
warm() { cat "$IMG" >/dev/null; }

# dd_rate BYTES dd-args...: MiB/s by dd's own clock
dd_rate() {
	local bytes=$1
	shift
	dd "$@" 2>&1 >/dev/null | awk -v b="$bytes" '/copied/ {
		for (i = 1; i < NF; i++) if ($(i + 1) == "s,") printf "%.0f\n", b / 1048576 / $i }'
}

# rand_iops cached|direct: IOPS of the host's random reads
rand_iops() {
	[ -n "$RANDREAD" ] || return 0
	"$RANDREAD" "$IMG" $RAND_OPS $RAND_QD "$1" 2>/dev/null | awk '{printf "%.0f\n", $2 / ($4 / 1e9)}'
}

# ember_cmd ID [disk options]: the guest under Ember, with as much RAM as
# QEMU's below, its output on stdout
ember_cmd() {
	local id=$1 pre=()
	shift
	[ -z "${CPUFILE:-}" ] || pre=("$VMMCPU" "$CPUFILE")
	timeout "$TMO" "${pre[@]}" "$EMBER" run --memory 128M --firmware "$GUEST" --disk "path=$IMG,id=$id$*" </dev/null
}

# ember_run ID [disk options]: the guest's output in $OUT/ember.out
ember_run() {
	if ! ember_cmd "$@" >"$OUT/ember.out"; then
		echo "ember: blkbench.bin (id=$1${*:2}) failed: $(tail -1 "$OUT/ember.out")" >&2
		return 1
	fi
}

# qemu_cmd ID: the same guest under QEMU, the disk's serial= in place of id=; its output
# on stdout. isa-debug-exit makes the guest's exit code c QEMU's status 2c + 1.
qemu_cmd() {
	local pre=()
	[ -z "${CPUFILE:-}" ] || pre=("$VMMCPU" "$CPUFILE")
	timeout "$TMO" "${pre[@]}" "$QEMU" -M q35 -accel kvm -cpu host -m 128M -bios "$GUEST" -nodefaults -serial stdio \
		-display none -no-reboot -device isa-debug-exit,iobase=0x501 -object iothread,id=io0 \
		-drive "file=$IMG,if=none,id=d0,format=raw,cache=writeback,aio=io_uring" \
		-device "virtio-blk-pci,drive=d0,disable-legacy=on,iothread=io0,serial=$1" \
		2>&1 </dev/null
}

# qemu_run ID: the output in $OUT/qemu.out
qemu_run() {
	local st=0
	qemu_cmd "$1" >"$OUT/qemu.out" || st=$?
	if [ $st -ne 1 ] || ! grep -q '^blkbench done' "$OUT/qemu.out"; then
		echo "qemu: blkbench.bin (serial=$1) failed, status $st: $(tail -1 "$OUT/qemu.out")" >&2
		return 1
	fi
}

# figures OUTPUT RUNS: per phase "NAME RATE IDLE% KICKS IRQS" (RATE MiB/s, IOPS for
# randread; KICKS and IRQS per 1000 requests) into $OUT/RUNS.runs
figures() {
	local name opbytes ops cycles waiting irqs kicks
	while read -r _ name _ opbytes _ ops _ _ _ _ _ cycles _ waiting _ irqs _ kicks _; do
		awk -v n="$name" -v b=$((opbytes * ops)) -v o="$ops" -v c=$((16#$cycles)) \
			-v w=$((16#$waiting)) -v i="$irqs" -v k="$kicks" -v hz="$HZ" 'BEGIN {
			s = c / hz
			printf "%s %.0f %.0f %.1f %.1f\n", n, n == "randread" ? o / s : b / 1048576 / s,
				100 * w / c, 1000 * k / o, 1000 * i / o }'
	done < <(grep '^bench ' "$1") >>"$OUT/$2.runs"
}

# ember_figures AIO: into $OUT/AIO.runs
ember_figures() {
	progress "blk.sh: ember aio=$1"
	CPUFILE=$OUT/cpu.$1 ember_run all ",aio=$1" || return 0
	figures "$OUT/ember.out" "$1"
}

# qemu_figures: into $OUT/qemu.runs; a failure leaves QEMU out of the rest of the run
qemu_figures() {
	[ -n "$QEMU" ] || return 0
	progress "blk.sh: qemu"
	if CPUFILE=$OUT/cpu.qemu qemu_run all; then
		figures "$OUT/qemu.out" qemu
	else
		QEMU=
		qemu_failed=1
	fi
}

# tsc_check CMD-FUNCTION: ms of wall time from the guest's line "tsc spin" to its line
# "tsc done", between which it spins for 2^30 TSC cycles, by the time each line arrives
# here (so the VMM's start-up and the guest's set-up are not in it); median of RUNS runs,
# empty if the guest failed
tsc_check() {
	local r l
	for ((r = 0; r < RUNS; r++)); do
		"$1" tsc | while IFS= read -r l; do echo "${EPOCHREALTIME/./} $l"; done |
			awk '$2 == "tsc" && $3 == "spin" {t0 = $1} $2 == "tsc" && $3 == "done" {t1 = $1}
				END {if (t0 && t1) printf "%.0f\n", (t1 - t0) / 1000}' || true
	done | median
}

rm -f "$IMG"
dd if=/dev/zero of="$IMG" bs=1M count="$MB" conv=fsync status=none # allocated, like Ember's image
fs=$(df --output=fstype "$(dirname "$IMG")" | tail -1)
load=$(cut -d' ' -f1 /proc/loadavg)
t_start=$(now)
busy0=$(busy_jiffies)

qemu_failed=0
tsc_ms=$(tsc_check ember_cmd)
qemu_tsc_ms=
[ -z "$QEMU" ] || qemu_tsc_ms=$(tsc_check qemu_cmd)
for ((r = 0; r < RUNS; r++)); do
	sync
	warm
	# "LINE BS": dd at the line's block size, or (LINEfp) with a buffer as large as all the
	# guest's requests in flight
	for line in "64K 64K" "1M 1M" "64K 16M" "1M 32M"; do
		read -r name bs <<<"$line"
		[ "$name" = "$bs" ] || name=${name}fp
		echo "seqread$name $(dd_rate $((MB << 20)) if="$IMG" of=/dev/null bs="$bs")" >>"$OUT/cached.runs"
	done
	echo "randread $(rand_iops cached)" >>"$OUT/cached.runs"
	for line in "64K 64K" "1M 1M" "64K 16M" "1M 32M"; do
		read -r name bs <<<"$line"
		[ "$name" = "$bs" ] || name=${name}fp
		sync
		echo "seqwrite$name $(dd_rate $((MB << 20)) if=/dev/zero of="$IMG" bs="$bs" \
			count=$(((MB << 20) / $(numfmt --from=iec "$bs"))) conv=notrunc)" >>"$OUT/cached.runs"
	done
	for aio in io_uring sync; do
		sync
		warm
		ember_figures $aio
	done
	sync
	warm
	qemu_figures
done
for ((r = 0; r < RUNS; r++)); do
	sync
	for bs in 64K 1M; do
		echo "seqread$bs $(dd_rate $((MB << 20)) if="$IMG" of=/dev/null bs=$bs iflag=direct)" \
			>>"$OUT/direct.runs"
		echo "seqwrite$bs $(dd_rate $((MB << 20)) if=/dev/zero of="$IMG" bs=$bs \
			count=$(((MB << 20) / $(numfmt --from=iec $bs))) conv=notrunc oflag=direct)" \
			>>"$OUT/direct.runs"
	done
	echo "randread $(rand_iops direct)" >>"$OUT/direct.runs"
done
busy1=$(busy_jiffies)
t_end=$(now)

# fig FILE NAME [COLUMN]: median of that line's figures
fig() {
	[ -f "$OUT/$1.runs" ] || return 0
	awk -v n="$2" -v c="${3:-2}" '$1 == n && $c != "" {print $c}' "$OUT/$1.runs" | median
}

echo "== virtio-blk device side vs QEMU and the host: $MB MiB image on $fs, TSC $((HZ / 1000000)) MHz," \
	"median of $RUNS"
ms_at_hz=$(awk "BEGIN{printf \"%.0f\", 2^30 / $HZ * 1000}")
printf 'guest TSC check, 2^30 cycles: Ember %s ms wall, QEMU %s ms (%s ms at the host TSC rate)\n' \
	"${tsc_ms:--}" "${qemu_tsc_ms:--}" "$ms_at_hz"
if [ -f "$OUT/qemu.runs" ]; then
	echo "QEMU: $("$QEMU_NAME" --version | head -1 | sed 's/ emulator version//')," \
		"q35, virtio-blk-pci on an iothread, aio=io_uring, cache=writeback"
elif [ $qemu_failed -eq 1 ]; then
	echo "QEMU: the guest failed under it (above): no QEMU figures"
else
	echo "QEMU: $QEMU_NAME not installed: no QEMU figures (tests/deps.sh installs it)"
fi
fmt='%-21s %9s %9s %9s %9s %7s %7s %7s %7s %9s %9s %15s\n'
printf '%-21s %9s %9s %9s %9s %15s %15s %9s %9s %15s\n' "" "Ember" "Ember" "QEMU" "host" \
	"Ember/QEMU" "Ember/host" "dd, guest" "host" "guest idle"
printf "$fmt" "" "io_uring" "sync" "" "cached" "uring" "sync" "uring" "sync" "footprint" "O_DIRECT" \
	"uring/sync/QEMU"
for line in "seqread 64K:seqread:seqread64K" "seqwrite 64K:seqwrite:seqwrite64K" \
	"seqread 1M:seqread1m:seqread1M" "seqwrite 1M:seqwrite1m:seqwrite1M" \
	"randread 4K QD$RAND_QD:randread:randread" \
	"seqread 64K 1 buf:seqread1b:seqread64K" "seqwrite 64K 1 buf:seqwrite1b:seqwrite64K" \
	"seqread 1M 1 buf:seqread1m1b:seqread1M" "seqwrite 1M 1 buf:seqwrite1m1b:seqwrite1M"; do
	IFS=: read -r label phase host <<<"$line"
	unit="MiB/s"
	[ "$phase" = randread ] && unit=IOPS
	eu=$(fig io_uring "$phase")
	es=$(fig sync "$phase")
	qu=$(fig qemu "$phase")
	hc=$(fig cached "$host")
	hf=$(fig cached "${host}fp")
	hd=$(fig direct "$host")
	qi=$(fig qemu "$phase" 3)
	idle="$(fig io_uring "$phase" 3)%/$(fig sync "$phase" 3)%/${qi:--}"
	[ -z "$qi" ] || idle+=%
	printf "$fmt" "$label $unit" "$eu" "$es" "${qu:--}" "${hc:--}" "$(ratio "$eu" "$qu")" \
		"$(ratio "$es" "$qu")" "$(ratio "$eu" "$hc")" "$(ratio "$es" "$hc")" "${hf:--}" "${hd:--}" \
		"$idle"
done
fmt='%-21s %15s %15s %15s\n'
printf "$fmt" "kicks/irqs per 1000" "Ember io_uring" "Ember sync" "QEMU"
for line in "seqread 64K:seqread" "seqwrite 64K:seqwrite" "seqread 1M:seqread1m" \
	"seqwrite 1M:seqwrite1m" "randread 4K QD$RAND_QD:randread"; do
	IFS=: read -r label phase <<<"$line"
	row=()
	for f in io_uring sync qemu; do
		k=$(fig $f "$phase" 4)
		row+=("${k:--}/$(fig $f "$phase" 5)")
	done
	[ -f "$OUT/qemu.runs" ] || row[2]=-
	printf "$fmt" "$label" "${row[@]}"
done
echo "host: dd for the sequential lines, ${RANDREAD:-(randread not built: liburing missing)}" \
	"for the random one; \"dd, guest footprint\": dd through the page cache with a buffer as large" \
	"as the guest's requests in flight (16M for 64K x 256, 32M for 1M x 32); \"1 buf\": the guest puts" \
	"every request's data in one buffer, as dd does"
# cpu_line LABEL PHASE UNITS UNIT [guest]: a phase's CPU per UNITS, median of the runs
cpu_line() {
	local f row=()
	for f in io_uring sync qemu; do
		row+=("$(phase_cpu "$OUT/cpu.$f" "$2" "${5:-}" | awk -v u="$3" '{ printf "%.1f\n", $1 / u }' |
			median)")
	done
	printf '%-34s %10s %10s %10s %11s\n' "$1 $4" "${row[0]:--}" "${row[1]:--}" "${row[2]:--}" \
		"$(ratio "${row[0]}" "${row[2]}")"
}
echo "host CPU per request, virtio-blk: the VMM process's user + system time, all threads, between the" \
	"guest's line for the phase before and its line for this one (build/vmmcpu; /proc/PID/stat, 10 ms" \
	"ticks), in the runs above, median of $RUNS; without the time the vCPU ran the guest (guest_time)" \
	"and, below, with it. Not for seqread 64K, the first phase: its span holds the VMM's start."
printf '%-34s %10s %10s %10s %11s\n' "" "Ember" "Ember" "QEMU" "Ember/QEMU"
printf '%-34s %10s %10s %10s %11s\n' "" "io_uring" "sync" "" "io_uring"
for g in guest ""; do
	cpu_line "randread 4K QD$RAND_QD" randread $RAND_OPS "us/read" $g
	cpu_line "seqwrite 64K" seqwrite "$MB" "us/MiB" $g
	cpu_line "seqread 1M" seqread1m "$MB" "us/MiB" $g
	cpu_line "seqwrite 1M" seqwrite1m "$MB" "us/MiB" $g
	if [ -n "$g" ]; then echo "with the guest's own time:"; fi
done
# BENCH_RAW=1: vmmcpu's lines as they are, for a look at the runs
if [ -n "${BENCH_RAW:-}" ]; then
	for f in "$OUT"/cpu.*; do [ ! -f "$f" ] || sed "s|^|BENCH-RAW blk ${f##*/}: |" "$f"; done
fi
# CPU time of other processes (and of kernel threads, writeback included) during the runs
times >"$OUT/times"
mine=$(tail -1 "$OUT/times" | awk '{for (i = 1; i <= 2; i++) {split($i, p, "m"); s += p[1] * 60 + p[2]}; print s}')
awk -v l="$load" -v b=$((busy1 - busy0)) -v m="$mine" -v t=$((t_end - t_start)) -v n="$(nproc)" '
BEGIN {
	o = (b / 100 - m) / (t / 1e9) / n * 100
	printf "machine: load average %s before; other processes (and kernel threads) used %.0f%% of the %d CPUs meanwhile\n",
		l, o < 0 ? 0 : o, n
	if (o > 15) print "warning: a busy machine: figures vary widely, run again when it is idle" }'
