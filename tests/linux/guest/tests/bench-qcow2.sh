#!/bin/sh
# ember.test=bench-qcow2 (bench-qcow2.sh): figures, no checks. On every disk
# that has a serial (the runner's label for it), four blkio runs, each on a
# region of ember.region MiB of its own, so that on a fresh image each one
# meets clusters nobody touched before: sequential read and write in 1 MiB
# requests, one at a time, then ember.ops random 4 KiB reads and writes,
# ember.qd in flight. Lines: BENCH-Q=LABEL OP bytes N ops N ns T.
# shellcheck source=lib.sh
. /tests/lib.sh
region=$(param region 64)
ops=$(param ops 4096)
qd=$(param qd 16)
for d in /sys/block/vd*; do
	label=$(cat "$d/serial" 2>/dev/null)
	[ -n "$label" ] || continue
	i=0
	for op in read write randread randwrite; do
		case "$op" in
		rand*) set -- 4096 "$ops" "$qd" ;;
		*) set -- 1048576 0 1 ;;
		esac
		echo "BENCH-Q=$label $op $(blkio "/dev/${d##*/}" "$op" $((i * region)) "$region" "$@" 2>&1)"
		i=$((i + 1))
	done
done
echo "BENCH-Q-DONE"
