#!/bin/sh
# ember.test=blk-ro: vda is a readonly=on disk. Writes to it must fail,
# through the page cache and with O_DIRECT; reads work. The runner checks
# the image's sha256 on the host before and after.
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-RO-SYSFS=$(cat /sys/block/vda/ro 2>/dev/null)"
# BUFFERED: through the page cache, the error shows at the latest on
# fsync; DIRECT: O_DIRECT. dd's messages end with its record counts.
for how in BUFFERED:conv=fsync DIRECT:oflag=direct; do
	if dd if=/dev/zero of=/dev/vda bs=4k count=1 conv=notrunc "${how#*:}" 2>/tmp/dd.err; then
		echo "EMBER-RO-WRITE-${how%%:*}=accepted"
	else
		echo "EMBER-RO-WRITE-${how%%:*}=refused: $(grep -v records /tmp/dd.err | tr '\n' ' ')"
	fi
done
echo "EMBER-RO-READ-SHA256=$(sha256sum </dev/vda | cut -d' ' -f1)"
