#!/bin/sh
# ember.test=qcow2-data: vda and vdb are qcow2 images (boot-tests.sh: v3
# with 64 KiB clusters, v2 with 4 KiB ones), 64 MiB each. On each disk: ext2
# in its first 32 MiB with three files (make_fs), then the writes of
# ember.writes (write_plan) above that, and the sha256 of those upper
# 32 MiB read back with O_DIRECT. The runner checks the images with
# qemu-img check and qemu-img compare, and the file system with e2fsck and
# debugfs on a raw copy.
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-BLOCK-DEVS=$(cd /sys/block && echo vd*)"
plan=$(param writes)
for d in vda vdb; do
	echo "EMBER-SECTORS-$d=$(cat /sys/block/"$d"/size 2>/dev/null)"
	make_fs "/dev/$d" $d 32768
	write_plan "/dev/$d" "$plan" && echo "EMBER-WRITES-$d=ok"
	echo "EMBER-UPPER-SHA256-$d=$(dd if="/dev/$d" bs=1M skip=32 iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1)"
done
