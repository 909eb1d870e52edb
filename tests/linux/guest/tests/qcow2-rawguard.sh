#!/bin/sh
# ember.test=qcow2-rawguard: a raw disk's first bytes and the qcow2 magic.
# vda is raw by format=raw, vdb raw by probing (no format=), both writable.
# The guest writes a qcow2 header to sector 0 of each, with O_DIRECT and
# through the page cache (fsync): vda takes it, vdb must fail it with an I/O
# error (a later start would probe vdb as qcow2, and the header's backing
# file is a host file); other data at vdb's sector 0 is taken. Reports the
# first bytes of each disk read back.
# With ember.phase=read (the second start of vda's image, format=raw again,
# by the host side) it reports what vda holds: the header as raw bytes, the
# image file's size, and whether the host file named as backing shows.
# shellcheck source=lib.sh
. /tests/lib.sh

# head_hex DEV: DEV's first 16 bytes in hex, read from the device.
head_hex() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	dd if="$1" bs=4k count=1 iflag=direct 2>/dev/null | head -c 16 | xxd -p
}

if [ "$(param phase)" = read ]; then
	echo "EMBER-RG-READ-SECTORS=$(cat /sys/block/vda/size 2>/dev/null)"
	echo "EMBER-RG-READ-HEAD=$(head_hex /dev/vda)"
	if head -c 1048576 /dev/vda | grep -q EMBER-HOST-SECRET; then
		echo "EMBER-RG-READ-SECRET=seen"
	else
		echo "EMBER-RG-READ-SECRET=not seen"
	fi
	exit 0
fi

# The first 112 bytes of `qemu-img create -f qcow2 -o compat=0.10 -u -b
# rg-secret.img -F raw X 16M`: version 2, 16 MiB, backing file rg-secret.img
# (raw), relative to the image's directory. Padded to 4 KiB: busybox dd's
# buffer is page-aligned (O_DIRECT) from 4 KiB on.
{
	echo 514649fb0000000200000000000000600000000d000000100000000001000000000000000000000100000000000300000000000000010000000000010000000000000000000000
	echo 00e2792aca000000037261770000000000000000000000000072672d7365637265742e696d67000000
} | xxd -r -p >/tmp/hdr
head -c $((4096 - 112)) /dev/zero >>/tmp/hdr
echo "EMBER-RG-HDR-BYTES=$(wc -c </tmp/hdr)"

# put KEY DEV FILE: FILE to DEV's sector 0 with O_DIRECT (KEY-DIRECT=) and
# through the page cache with fsync (KEY-BUFFERED=): ok, or dd's error.
put() {
	for _how in DIRECT:oflag=direct BUFFERED:conv=notrunc,fsync; do
		if dd if="$3" of="$2" bs=4k count=1 conv=notrunc "${_how#*:}" 2>/tmp/dd.err; then
			echo "$1-${_how%%:*}=ok"
		else
			echo "$1-${_how%%:*}=refused: $(grep -v records /tmp/dd.err | tr '\n' ' ')"
		fi
	done
}
put EMBER-RG-RAW-WRITE /dev/vda /tmp/hdr
echo "EMBER-RG-RAW-HEAD=$(head_hex /dev/vda)"
put EMBER-RG-PROBED-WRITE /dev/vdb /tmp/hdr
yes EMBER-NOT-QCOW2 | head -c 4096 >/tmp/plain
put EMBER-RG-PROBED-PLAIN /dev/vdb /tmp/plain
echo "EMBER-RG-PROBED-HEAD=$(head_hex /dev/vdb)"
