# shellcheck shell=sh
# Host-side steps of boot-tests.sh's qcow2-* scenarios (--disk format=,
# snapshot=on), pasted after hooks.sh, whose helpers they use (note, sha,
# wait_for, scen_arg, check_fs). They make the images with qemu-img before
# ember starts and check them with qemu-img after it has exited: in the
# nested test host boot-tests.sh copies qemu-img in, with its libraries.
# The writes that a guest makes (ember.writes=, write_plan in
# guest/tests/lib.sh) are applied here to a raw file of what the disk held
# before (apply_plan), and the image must then equal that file.

# apply_plan FILE PLAN: the writes of PLAN (SECTOR+COUNT:WORD[:cache],
# comma-separated; write_plan in guest/tests/lib.sh) to FILE, in order.
apply_plan() {
	for _w in $(echo "$2" | tr , ' '); do
		_r=${_w#*+}
		_n=${_r%%:*}
		_r=${_r#*:}
		yes "${_r%%:*}" | head -c $((_n * 512)) |
			dd of="$1" bs=4k iflag=fullblock oflag=seek_bytes conv=notrunc seek=$((${_w%%+*} * 512)) 2>/dev/null
	done
}

# qcow2_check IMG KEY: qemu-img check's status on IMG (EMBER-HOST-QCHECK-KEY=;
# what it said, when not clean, as EMBER-HOST-QCHECK-OUT-KEY: lines) and the
# format version and cluster size that qemu-img info reads in its header
# (EMBER-HOST-QINFO-KEY=compat C cluster N).
qcow2_check() {
	qemu-img check -f qcow2 "$1" >qcheck.out 2>&1
	_st=$?
	note "EMBER-HOST-QCHECK-$2" "$_st"
	[ "$_st" = 0 ] || sed "s/^/EMBER-HOST-QCHECK-OUT-$2: /" qcheck.out >>"$HOSTLOG"
	note "EMBER-HOST-QINFO-$2" "$(qemu-img info -f qcow2 "$1" 2>&1 |
		awk '$1 == "compat:" { c = $2 } $1 == "cluster_size:" { n = $2 } END { print "compat " c " cluster " n }')"
	rm -f qcheck.out
}

# qcow2_compare IMG RAW KEY: qemu-img compare's status, IMG (qcow2) against
# the raw file RAW (0: identical), as EMBER-HOST-COMPARE-KEY=; what it said
# otherwise as EMBER-HOST-COMPARE-OUT-KEY: lines.
qcow2_compare() {
	qemu-img compare -f qcow2 -F raw "$1" "$2" >qcmp.out 2>&1
	_st=$?
	note "EMBER-HOST-COMPARE-$3" "$_st"
	[ "$_st" = 0 ] || sed "s/^/EMBER-HOST-COMPARE-OUT-$3: /" qcmp.out >>"$HOSTLOG"
	rm -f qcmp.out
}

# numbered_image FILE: 8 MiB of 16-byte lines, each its own number (so every
# cluster's data differs, and compresses well).
numbered_image() { seq 100000000000000 100000000524287 >"$1"; }

# qcow2-data: two fresh 64 MiB qcow2 images, v3 with 64 KiB clusters and v2
# with 4 KiB ones. The guest makes ext2 in the first 32 MiB of each and
# writes ember.writes above it. Afterwards each image must pass qemu-img
# check, keep its version and cluster size, hold a clean file system with
# the guest's files (e2fsck, debugfs on a raw copy), and equal what the
# guest wrote: the file system as the raw copy has it, the writes above it,
# zeros elsewhere (qemu-img compare).
pre_qcow2_data() {
	rm -f q3.qcow2 q2.qcow2
	qemu-img create -q -f qcow2 -o cluster_size=65536 q3.qcow2 64M
	qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 q2.qcow2 64M
}
post_qcow2_data() {
	for _d in vda:q3 vdb:q2; do
		_k=${_d%%:*}
		_img=${_d#*:}.qcow2
		qcow2_check "$_img" "$_k"
		rm -f "$_k.raw" "$_k.want"
		qemu-img convert -f qcow2 -O raw "$_img" "$_k.raw"
		check_fs "$_k.raw" "$_k"
		truncate -s 64M "$_k.want"
		dd if="$_k.raw" of="$_k.want" bs=1M count=32 conv=notrunc 2>/dev/null
		apply_plan "$_k.want" "$(scen_arg writes)"
		qcow2_compare "$_img" "$_k.want" "$_k"
		note "EMBER-HOST-UPPER-SHA256-$_k" "$(dd if="$_k.want" bs=1M skip=32 2>/dev/null | sha256sum | cut -d' ' -f1)"
		rm -f "$_k.raw" "$_k.want" "$_img"
	done
}

# qcow2-overlay: an empty qcow2 overlay over a compressed qcow2 base
# (qemu-img convert -c of numbered_image with 1 MiB of random bytes at
# 4 MiB, which qemu-img stores uncompressed, and 2 MiB of zeros at 5 MiB,
# which it leaves unallocated). The guest reads all of it and writes
# ember.writes. Afterwards the base file is unchanged, both images pass
# qemu-img check, and the overlay equals the base's data with the writes.
pre_qcow2_overlay() {
	rm -f ov-base.raw ov-base.qcow2 ov.qcow2
	numbered_image ov-base.raw
	dd if=/dev/urandom of=ov-base.raw bs=1M seek=4 count=1 conv=notrunc 2>/dev/null
	dd if=/dev/zero of=ov-base.raw bs=1M seek=5 count=2 conv=notrunc 2>/dev/null
	qemu-img convert -c -f raw -O qcow2 ov-base.raw ov-base.qcow2
	qemu-img create -q -f qcow2 -b ov-base.qcow2 -F qcow2 ov.qcow2
	note EMBER-HOST-BASE-SHA256-BEFORE "$(sha ov-base.qcow2)"
	note EMBER-HOST-DATA-SHA256 "$(sha ov-base.raw)"
	apply_plan ov-base.raw "$(scen_arg writes)"
	note EMBER-HOST-WANT-SHA256 "$(sha ov-base.raw)"
}
post_qcow2_overlay() {
	note EMBER-HOST-BASE-SHA256-AFTER "$(sha ov-base.qcow2)"
	qcow2_check ov-base.qcow2 base
	qcow2_check ov.qcow2 vda
	qcow2_compare ov.qcow2 ov-base.raw vda
	rm -f ov-base.raw ov-base.qcow2 ov.qcow2
}

# qcow2-snapshot: a raw image and a qcow2 one (numbered_image, converted),
# both with snapshot=on and TMPDIR a fresh directory. The guest writes
# ember.writes to both, reads them back, and waits while the host looks at
# which files ember holds open in that directory (its overlays, unlinked).
# Afterwards both images are unchanged (sha256) and the directory is empty.
pre_qcow2_snapshot() {
	rm -rf snap.img snap.qcow2 snap.want snaptmp
	mkdir snaptmp
	numbered_image snap.img
	qemu-img convert -f raw -O qcow2 snap.img snap.qcow2
	note EMBER-HOST-SHA256-BEFORE-vda "$(sha snap.img)"
	note EMBER-HOST-SHA256-BEFORE-vdb "$(sha snap.qcow2)"
	note EMBER-HOST-DATA-SHA256 "$(sha snap.img)"
	cp snap.img snap.want
	apply_plan snap.want "$(scen_arg writes)"
	note EMBER-HOST-WANT-SHA256 "$(sha snap.want)"
	rm -f snap.want
	# Ember's overlays go to $TMPDIR; post_qcow2_snapshot puts it back.
	snap_tmpdir=${TMPDIR-}
	TMPDIR=$PWD/snaptmp
	export TMPDIR
}
during_qcow2_snapshot() {
	if wait_for "$1" EMBER-RW-DONE 250; then
		# Files open in snaptmp, any process's: ember's overlays ("#N
		# (deleted)"), named by their physical path.
		note EMBER-HOST-SNAPTMP-OPEN "$(for _f in /proc/[0-9]*/fd/*; do readlink "$_f"; done 2>/dev/null |
			grep -c "^$(pwd -P)/snaptmp/")"
		note EMBER-HOST-SNAPTMP-DURING "$(find snaptmp -mindepth 1 | wc -l)"
	fi
	echo host-done
}
post_qcow2_snapshot() {
	if [ -n "$snap_tmpdir" ]; then TMPDIR=$snap_tmpdir; else unset TMPDIR; fi
	note EMBER-HOST-SHA256-AFTER-vda "$(sha snap.img)"
	note EMBER-HOST-SHA256-AFTER-vdb "$(sha snap.qcow2)"
	qcow2_check snap.qcow2 vdb
	note EMBER-HOST-SNAPTMP-AFTER "$(find snaptmp -mindepth 1 | wc -l)"
	rm -rf snap.img snap.qcow2 snaptmp
}

# qcow2-rawguard: rg-raw.img (format=raw) and rg-probed.img (probed), 8 MiB
# of zeros each; the guest writes a qcow2 header naming rg-secret.img as its
# backing file to sector 0 of both (guest/tests/qcow2-rawguard.sh). Then
# the first bytes of each image, and a second start on rg-raw.img with
# format=raw whose guest reports what vda holds (EMBER-HOST-RG-READ-*).
pre_qcow2_rawguard() {
	rm -f rg-raw.img rg-probed.img rg-secret.img
	truncate -s 8M rg-raw.img rg-probed.img
	yes EMBER-HOST-SECRET | head -c 1048576 >rg-secret.img
}
post_qcow2_rawguard() {
	note EMBER-HOST-RG-RAW-HEAD "$(head -c 16 rg-raw.img | od -An -tx1 | tr -d ' \n')"
	note EMBER-HOST-RG-PROBED-HEAD "$(head -c 16 rg-probed.img | od -An -tx1 | tr -d ' \n')"
	timeout -k 10 200 "$EMBER" run --kernel "$KERNEL" --initrd "$INITRD" --serial stdio \
		--cmdline "console=ttyS0 ember.test=qcow2-rawguard ember.phase=read panic=-1 quiet" \
		--disk path=rg-raw.img,format=raw </dev/null >rg-read.out 2>&1
	note EMBER-HOST-RG-READ-STATUS "$?"
	tr -d '\r' <rg-read.out | grep -a -o 'EMBER-RG-READ-[A-Z]*=.*' | sed 's/^EMBER-/EMBER-HOST-/' >>"$HOSTLOG"
	grep -a -v '^EMBER-' rg-read.out | tr -d '\r' | tail -n 5 | sed 's/^/EMBER-HOST-RG-READ-OUT: /' >>"$HOSTLOG"
	rm -f rg-raw.img rg-probed.img rg-secret.img rg-read.out
}
