#!/bin/sh
# ember.test=blk-data: two virtio-blk disks (vda with id=, vdb). Reports
# what the guest sees (block devices, sizes, serials, interrupts), writes a
# pattern that the host can reproduce to the start of vda (conv=fsync) and
# reads it back with O_DIRECT, then makes an ext2 filesystem on vdb with
# busybox mke2fs, writes a few files and prints their sha256, unmounts
# (make_fs). The runner then checks the image files: cmp, e2fsck -fn,
# debugfs.
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-BLOCK-DEVS=$(cd /sys/block && echo vd*)"
for d in vda vdb; do
	echo "EMBER-SECTORS-$d=$(cat /sys/block/$d/size 2>/dev/null)"
	echo "EMBER-SERIAL-$d=$(cat /sys/block/$d/serial 2>/dev/null)"
done
report_irqs

# 4 MiB of "EMBER-PATTERN-LINE\n" lines; the host makes the same.
pattern() { yes EMBER-PATTERN-LINE | head -c 4194304; }
echo "EMBER-PATTERN-SHA256=$(pattern | sha256sum | cut -d' ' -f1)"
if pattern | dd of=/dev/vda bs=64k conv=notrunc,fsync 2>/tmp/dd.err; then
	echo "EMBER-VDA-WRITE=ok"
else
	echo "EMBER-VDA-WRITE=failed: $(tail -n 1 /tmp/dd.err)"
fi
echo "EMBER-VDA-READBACK-SHA256=$(dd if=/dev/vda bs=1M count=4 iflag=direct 2>/dev/null |
	sha256sum | cut -d' ' -f1)"

make_fs /dev/vdb
