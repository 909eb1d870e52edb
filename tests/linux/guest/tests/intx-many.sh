#!/bin/sh
# ember.test=intx-many, booted with pci=nomsi and 8 disks + 2 NICs: ten
# virtio functions on eight INTx lines, so the NICs share their lines with
# vda and vdb. Every disk is read at once (md5 of each, page cache, then
# O_DIRECT) while both NICs ping their peers; a lost interrupt shows as a
# read or a ping that never finishes (each is bounded). Then the host pings
# the guest through both NICs (EMBER-NET-READY, as net-ping).
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-CMDLINE=$(cat /proc/cmdline)"
echo "EMBER-BLOCK-DEVS=$(cd /sys/block && echo vd*)"
report_links
n=$(param nics 2)
i=0
while [ "$i" -lt "$n" ]; do
	net_setup "$i"
	i=$((i + 1))
done
# read_all KEY FLAG: every disk read in parallel, KEY-vdX=md5 (or timeout).
read_all() {
	for d in /dev/vd?; do
		(
			s=$(timeout 90 dd if="$d" bs=64k $2 2>/dev/null | md5sum | cut -d' ' -f1)
			echo "$1-${d#/dev/}=$s" >"/tmp/md5.${d#/dev/}"
		) &
	done
	wait
	cat /tmp/md5.vd?
	rm -f /tmp/md5.vd?
}
i=0
while [ "$i" -lt "$n" ]; do
	ping_report "EMBER-NET$i-PING" "$(param "peer$i")" 20 >"/tmp/ping.$i" &
	i=$((i + 1))
done
read_all EMBER-MD5 ""
read_all EMBER-MD5-DIRECT iflag=direct
wait
cat /tmp/ping.*
report_irqs
echo "EMBER-NET-READY"
wait_host 120
