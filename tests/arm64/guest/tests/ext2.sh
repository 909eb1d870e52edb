#!/bin/sh
# ember.test=ext2: loads the on-demand modules (ext4, which mounts ext2,
# and what it needs), makes an ext2 file system on /dev/vda (all of it is
# lost), writes a file, reads it back and prints its sha256 as
# EMBER-EXT2-SHA256=...; EMBER-EXT2-OK at the end.
set -e
while read -r mod; do
	insmod "/lib/modules/$mod.ko"
done </lib/modules/ondemand-order
mke2fs -q /dev/vda >/dev/null
mkdir -p /mnt
mount -t ext2 /dev/vda /mnt
dd if=/dev/urandom of=/mnt/data bs=64k count=16 2>/dev/null
sync
echo "EMBER-EXT2-SHA256=$(sha256sum </mnt/data | cut -d' ' -f1)"
umount /mnt
mount -t ext2 -o ro /dev/vda /mnt
echo "EMBER-EXT2-REREAD=$(sha256sum </mnt/data | cut -d' ' -f1)"
umount /mnt
echo "EMBER-EXT2-OK"
