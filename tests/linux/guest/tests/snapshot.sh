#!/bin/sh
# ember.test=snapshot: a guest that counts and writes, snapshotted and
# restored while it does (host/snapshot.sh). It makes an ext2 file system
# on vda and mounts it, sets up its NIC, then every 0.5 s appends the next
# number to /mnt/count.txt (synced) and prints it with its boot id and
# uptime. The host pauses it, saves it, kills ember and restores it from
# the snapshot: the count goes on in the restored ember's output, which
# then pings the host through the NIC again, unmounts and powers off.
# shellcheck source=lib.sh
. /tests/lib.sh
net_setup 0 || true
make_fs /dev/vda || exit 0
mount -t ext2 /dev/vda /mnt || { echo "EMBER-FS=mount failed"; exit 0; }
boot_id=$(cat /proc/sys/kernel/random/boot_id)
echo "EMBER-BOOT-ID=$boot_id"
echo "EMBER-CPUS=$(grep -c ^processor /proc/cpuinfo)"
n=$(param counts 60)
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	echo "$i" >>/mnt/count.txt
	sync
	echo "EMBER-COUNT=$i $(cat /proc/sys/kernel/random/boot_id) $(now)"
	sleep 0.5
done
echo "EMBER-CPUS-END=$(grep -c ^processor /proc/cpuinfo)"
ping_report EMBER-AFTER-PING "$(param peer0)" 5
echo "EMBER-AFTER-ARP=$(grep "^$(param peer0) " /proc/net/arp | tr -s ' ')"
echo "EMBER-AFTER-ETH0=rx $(cat /sys/class/net/eth0/statistics/rx_packets) tx $(cat /sys/class/net/eth0/statistics/tx_packets)"
umount /mnt && echo "EMBER-UMOUNTED"
