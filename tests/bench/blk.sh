#!/usr/bin/env bash
# virtio-blk throughput, device side: figures, never pass/fail.
#
# The micro-guest blkbench.bin only builds descriptors (one indirect table
# per request, made once per phase) and polls the used ring; it never
# touches the data. It times each phase with the TSC: 64 KiB sequential
# reads and writes over the whole image (256 in flight, kicked 128 at a
# time), the same with 1 MiB requests of 16 segments (16 in flight), and
# 4 KiB random reads at queue depth 32; with aio=io_uring and aio=sync,
# median of BLK_BENCH_RUNS (3) runs. The host turns TSC cycles into time
# with its own TSC rate (build/tschz); a guest spin of 2^30 cycles, timed by
# the wall clock, checks that the guest's TSC runs at that rate.
#
# For comparison, dd on the same image with the same block sizes, through
# the page cache (warm, as Ember's reads are) and with O_DIRECT. dd has no
# queue depth: its 4 KiB figure is sequential reads one at a time.
#
# On this machine's PVM-backed /dev/kvm every guest instruction at CPL0 is
# emulated (~1 us), and the guest spends ~40 of them per request: the 64 KiB
# and 4 KiB figures are bounded by the guest there, the 1 MiB ones much less.
#
# BLK_BENCH_MB (256): image size. BLK_BENCH_IMG (build/blkbench.img): a
# scratch file, overwritten and removed.
set -euo pipefail
cd "$(dirname "$0")/../.."

EMBER=${EMBER:-build/ember}
GUEST=build/guests/blkbench.bin
MB=${BLK_BENCH_MB:-256}
RUNS=${BLK_BENCH_RUNS:-3}
IMG=${BLK_BENCH_IMG:-build/blkbench.img} # not /tmp: O_DIRECT fails on tmpfs
if [ ! -x "$EMBER" ] || [ ! -f "$GUEST" ]; then
	echo "virtio-blk bench: $EMBER or $GUEST missing (make all guests)"
	exit 0
fi
mkdir -p build
cc -O2 -Wall -Wextra -o build/tschz tests/bench/tschz.c
HZ=$(build/tschz)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT" "$IMG"' EXIT

now() { date +%s%N; }
mibs() { awk "BEGIN{printf \"%.0f\", $1 / 1048576 / ($2 / 1e9)}"; }   # BYTES NS
iops() { awk "BEGIN{printf \"%.0f\", $1 / ($2 / 1e9)}"; }             # OPS NS
cyc_ns() { awk "BEGIN{printf \"%.0f\", $((16#$1)) / $HZ * 1e9}"; }    # HEX-CYCLES

# timed_dd BYTES LABEL dd-args...: one figure line
timed_dd() {
	local bytes=$1 label=$2 t0 t1
	shift 2
	t0=$(now)
	dd "$@" status=none
	t1=$(now)
	printf '%-56s %6s MiB/s\n' "dd $label:" "$(mibs "$bytes" $((t1 - t0)))"
}

timed_dd_iops() { # OPS LABEL dd-args...
	local ops=$1 label=$2 t0 t1
	shift 2
	t0=$(now)
	dd "$@" status=none
	t1=$(now)
	printf '%-56s %6s IOPS (%s MiB/s)\n' "dd $label:" "$(iops "$ops" $((t1 - t0)))" \
		"$(mibs $((ops * 4096)) $((t1 - t0)))"
}

# ember_run ID [disk options]: the guest's output in $OUT/ID.out, wall ns in $wall
ember_run() {
	local id=$1 t0 t1
	shift
	t0=$(now)
	if ! "$EMBER" run --firmware "$GUEST" --disk "path=$IMG,id=$id$*" >"$OUT/$id.out" </dev/null; then
		echo "ember: blkbench.bin (id=$id$*) failed: $(tail -1 "$OUT/$id.out")"
		return 1
	fi
	t1=$(now)
	wall=$((t1 - t0))
}

N4=16384
fs=$(df --output=fstype "$(dirname "$IMG")" | tail -1)
echo "== virtio-blk device-side throughput: $MB MiB image on $fs, TSC $((HZ / 1000000)) MHz"
rm -f "$IMG"
dd if=/dev/zero of="$IMG" bs=1M count="$MB" conv=fsync status=none # allocated, like Ember's image
for bs in 64K 1M; do
	timed_dd $((MB << 20)) "seqwrite $bs, page cache" if=/dev/zero of="$IMG" bs=$bs \
		count=$(((MB << 20) / $(numfmt --from=iec $bs))) conv=notrunc
done
sync
for bs in 64K 1M; do
	timed_dd $((MB << 20)) "seqwrite $bs, O_DIRECT" if=/dev/zero of="$IMG" bs=$bs \
		count=$(((MB << 20) / $(numfmt --from=iec $bs))) conv=notrunc oflag=direct
done
for bs in 64K 1M; do
	timed_dd $((MB << 20)) "seqread $bs, O_DIRECT" if="$IMG" of=/dev/null bs=$bs iflag=direct
done
timed_dd_iops $N4 "read 4K sequential QD1, O_DIRECT" if="$IMG" of=/dev/null bs=4K count=$N4 \
	iflag=direct
cat "$IMG" >/dev/null # warm the page cache: Ember's reads find it warm too
for bs in 64K 1M; do
	timed_dd $((MB << 20)) "seqread $bs, page cache" if="$IMG" of=/dev/null bs=$bs
done
timed_dd_iops $N4 "read 4K sequential QD1, page cache" if="$IMG" of=/dev/null bs=4K count=$N4

ember_run none
base=$wall
ember_run tsc
printf '%-56s %6s ms wall (%s ms at the host TSC rate)\n' "ember guest TSC check, 2^30 cycles:" \
	$(((wall - base) / 1000000)) "$(awk "BEGIN{printf \"%.0f\", 2^30 / $HZ * 1000}")"

# Median of $RUNS runs per phase: figures from one run vary by tens of percent here.
for aio in io_uring sync; do
	for ((r = 0; r < RUNS; r++)); do
		ember_run all ",aio=$aio"
		grep '^bench ' "$OUT/all.out" >>"$OUT/$aio.runs"
	done
	for name in seqread seqwrite seqread1m seqwrite1m randread; do
		read -r opbytes ops cycles < <(awk -v n=$name '$2 == n {print $4, $6, $8}' "$OUT/$aio.runs" |
			sort -k3 | sed -n "$(((RUNS + 1) / 2))p")
		ns=$(cyc_ns "$cycles")
		bytes=$((opbytes * ops))
		case $name in
		randread)
			printf '%-56s %6s IOPS (%s MiB/s)\n' "ember aio=$aio randread 4K QD32:" \
				"$(iops "$ops" "$ns")" "$(mibs "$bytes" "$ns")" ;;
		*1m)
			printf '%-56s %6s MiB/s\n' "ember aio=$aio ${name%1m} 1M (16 x 64K segments) QD16:" \
				"$(mibs "$bytes" "$ns")" ;;
		*)
			printf '%-56s %6s MiB/s\n' "ember aio=$aio $name 64K QD256:" "$(mibs "$bytes" "$ns")" ;;
		esac
	done
done
