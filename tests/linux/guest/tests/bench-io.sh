#!/bin/sh
# ember.test=bench-io (bench-io.sh): figures, no checks. Reads all of vda
# with dd bs=1M through the page cache (dropped first) and with O_DIRECT,
# ember.runs times each; then on NIC 0 (net_setup) pings the host 50 times,
# receives ember.mb MiB from the host with nc on port 5001 (the host times
# it) and sends as many from a tmpfs file to the host's port 5002 (timed
# here). Then waits
# for the host's line. Lines start with BENCH-.
# shellcheck source=lib.sh
. /tests/lib.sh
runs=$(param runs 2)
mb=$(param mb 128)
# How the kernel set up its interrupts and timers on this VMM's CPUID.
dmesg | grep -i -E 'x2apic|tsc.deadline|clocksource: Switched|kvm-clock: using|PV EOI|pv.*ipi' |
	sed 's/^\[[ 0-9.]*\] */BENCH-DMESG=/'
echo "BENCH-DISK-BYTES=$(($(cat /sys/block/vda/size 2>/dev/null || echo 0) * 512))"
# Seconds per whole-disk read (this busybox's dd prints no rate).
i=1
while [ "$i" -le "$runs" ]; do
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(now)
	dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null
	echo "BENCH-BLK-BUFFERED=$(since "$t0")"
	t0=$(now)
	dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2>/dev/null
	echo "BENCH-BLK-DIRECT=$(since "$t0")"
	i=$((i + 1))
done

# irq_snapshot KEY: the virtio queue and local timer (LOC) interrupts taken
# so far and eth0's packet counts (a TSO frame is one packet), "NAME:COUNT ..."
irq_snapshot() {
	echo "BENCH-IRQ-$1=$(awk '/virtio.*-(input|output)|^ *LOC:/ { n = 0
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
		printf "%s:%d ", $1 == "LOC:" ? "LOC" : $NF, n }' /proc/interrupts)" \
		"rx_packets:$(cat /sys/class/net/eth0/statistics/rx_packets)" \
		"tx_packets:$(cat /sys/class/net/eth0/statistics/tx_packets)"
}

peer=$(param peer0)
if net_setup 0; then
	ping_report BENCH-PING "$peer" 50
	# Round i: the host sends to port 5100+i (it waits for
	# BENCH-LISTENING=i and times its nc: connect to close, which is after
	# ours has read everything).
	irq_snapshot H2G-BEFORE
	i=1
	while [ "$i" -le "$runs" ]; do
		nc_listen 300 $((5100 + i)) /dev/null
		echo "BENCH-LISTENING=$i"
		wait "$nc_pid"
		echo "BENCH-H2G-STATUS=$?"
		i=$((i + 1))
	done
	# Then to the host's port 5200+i, from a tmpfs file: sending from a pipe
	# (dd | nc) reset the guest (triple fault) under both VMMs in 3 of 8
	# runs in the nested test host.
	irq_snapshot H2G-AFTER
	dd if=/dev/zero of=/tmp/tx bs=1M count="$mb" 2>/dev/null
	irq_snapshot G2H-BEFORE
	i=1
	while [ "$i" -le "$runs" ]; do
		t0=$(now)
		timeout 300 nc "$peer" $((5200 + i)) </tmp/tx
		echo "BENCH-G2H=$? $(since "$t0")"
		i=$((i + 1))
	done
	irq_snapshot G2H-AFTER
fi
echo "BENCH-NET-DONE"
wait_host 120
