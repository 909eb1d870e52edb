#!/usr/bin/env bash
# Micro-guest tier: tiny guests on this machine's /dev/kvm through the real
# KVM_RUN path. Each prints PASS/FAIL; the last line is the summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

EMBER=${EMBER:-build/ember}
G=build/guests
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# run NAME [ember args...]: stdout to $OUT/NAME.out, stderr to .err, status to $st
run() {
	local name=$1
	shift
	timeout 60 "$EMBER" run "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	st=$?
}

run hello --firmware $G/hello.bin
check "hello: prints its line over COM1" grep -qx "Hello from an Ember micro-guest" "$OUT/hello.out"
check "hello: exit port 0 gives status 0 (got $st)" [ "$st" -eq 0 ]

run exitcode --firmware $G/exitcode.bin
check "exit port: code 7 gives status 71 (got $st)" [ "$st" -eq 71 ]

run unmapped --firmware $G/unmapped.bin
check "unmapped port/MMIO read all ones, PCI host bridge answers (status $st)" \
	grep -q "unmapped accesses ok" "$OUT/unmapped.out"

for n in 1 2 4; do
	run smp$n --firmware $G/smp.bin --cpus $n
	check "smp: $n vCPUs each report once (status $st)" \
		bash -c "[ $st -eq 0 ] && grep -q 'smp ok: $n cpus' $OUT/smp$n.out &&
			[ \$(grep -c ' up$' $OUT/smp$n.out) -eq $n ] &&
			[ \$(sort -u $OUT/smp$n.out | grep -c ' up$') -eq $n ]"
done

run triple --firmware $G/triple.bin
if [ -d /sys/module/kvm_pvm ]; then
	# PVM cannot deliver the guest's faults and reports an emulation failure instead.
	want=4
else
	want=3
fi
check "triple fault: status $want with a register dump (got $st)" \
	bash -c "[ $st -eq $want ] && grep -q 'rip ' $OUT/triple.err"

head -c 200 /dev/urandom | tr -dc 'a-p' | head -c 100 >"$OUT/input"
(cat "$OUT/input"; printf q) | timeout 60 "$EMBER" run --firmware $G/echo.bin >"$OUT/echo.out" 2>&1
st=$?
check "serial input: 100 bytes echoed in order through the 16-byte FIFO (status $st)" \
	cmp -s "$OUT/input" "$OUT/echo.out"

run file --firmware $G/hello.bin --serial "file=$OUT/serial.log"
check "--serial file=PATH receives the output" \
	bash -c "grep -q 'Hello from' $OUT/serial.log && [ ! -s $OUT/file.out ]"

run none --firmware $G/hello.bin --serial none
check "--serial none prints nothing (status $st)" bash -c "[ $st -eq 0 ] && [ ! -s $OUT/none.out ]"

# virtio-blk (blk.bin). The guest writes the word 0x5a000000 + (byte offset) at
# sectors 8 (4 KiB), 100 (12 KiB), 1000 (16 KiB), 2040 (the last 4 KiB) and
# 1500 + 4i (1 KiB each, i < 16); everything else stays zero.
pattern() { # SECTOR BYTES: the expected words, one per line
	local o
	for ((o = $1 * 512; o < $1 * 512 + $2; o += 4)); do printf '%08x\n' $((0x5a000000 + o)); done
}
words() { # IMG SECTOR BYTES: the image's words, one per line
	od -A n -v -t x4 -j $(($2 * 512)) -N "$3" "$1" | tr -s ' ' '\n' | sed '/^$/d'
}
blk_image_ok() { # IMG
	local img=$1 rest=$OUT/rest.img r i sec len
	local regions=("8 4096" "100 12288" "1000 16384" "2040 4096")
	for ((i = 0; i < 16; i++)); do regions+=("$((1500 + 4 * i)) 1024"); done
	[ "$(stat -c %s "$img")" -eq 1048576 ] || return 1
	cp "$img" "$rest"
	for r in "${regions[@]}"; do
		read -r sec len <<<"$r"
		cmp -s <(words "$img" "$sec" "$len") <(pattern "$sec" "$len") || return 1
		dd if=/dev/zero of="$rest" bs=512 seek="$sec" count=$((len / 512)) conv=notrunc status=none
	done
	cmp -s -n 1048576 "$rest" /dev/zero # the rest of the image is untouched
}

truncate -s 1M "$OUT/blk.img"
run blk --firmware $G/blk.bin --disk "path=$OUT/blk.img,id=ember-test-disk"
check "virtio-blk: chains, indirect, batches, flush, errors; prints blk ok (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'blk ok' $OUT/blk.out"
check "virtio-blk: capacity 2048 sectors, GET_ID returns the id= string" \
	bash -c "grep -qx 'capacity 2048' $OUT/blk.out && grep -qx 'id ember-test-disk' $OUT/blk.out"
check "virtio-blk: the image holds the pattern at the right offsets, zeros elsewhere, size unchanged" \
	blk_image_ok "$OUT/blk.img"

truncate -s 1M "$OUT/blk-sync.img"
run blksync --firmware $G/blk.bin --disk "path=$OUT/blk-sync.img,id=ember-test-disk,aio=sync"
check "virtio-blk with aio=sync: the same requests and the same image (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'blk ok' $OUT/blksync.out && cmp -s $OUT/blk.img $OUT/blk-sync.img"

truncate -s 1M "$OUT/blk2.img"
head -c 65536 /dev/urandom >"$OUT/ro.img"
sum=$(sha256sum <"$OUT/ro.img")
run blkro --firmware $G/blk.bin --disk "path=$OUT/blk2.img" --disk "path=$OUT/ro.img,readonly=on"
check "virtio-blk: a write to a readonly=on disk fails with IOERR, a read works (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'ro disk ok' $OUT/blkro.out && grep -qx 'blk ok' $OUT/blkro.out"
check "virtio-blk: the readonly image is unchanged" [ "$(sha256sum <"$OUT/ro.img")" = "$sum" ]

# An image held open for writing by one Ember (echo.bin waits for a 'q' on
# its serial input) is refused to a second one, writable or readonly.
mkfifo "$OUT/hold"
timeout 60 "$EMBER" run --firmware $G/echo.bin --disk "path=$OUT/blk.img" <"$OUT/hold" \
	>"$OUT/hold.out" 2>&1 &
holder=$!
exec 9>"$OUT/hold"
ino=$(stat -c %i "$OUT/blk.img")
for ((i = 0; i < 100; i++)); do
	grep -q ":$ino " /proc/locks && break
	sleep 0.1
done
run inuse --firmware $G/hello.bin --disk "path=$OUT/blk.img"
check "virtio-blk: an image in use is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'in use' $OUT/inuse.err && grep -qF '$OUT/blk.img' $OUT/inuse.err"
run inuse-ro --firmware $G/hello.bin --disk "path=$OUT/blk.img,readonly=on"
check "virtio-blk: ... also to a readonly=on user (status $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'in use' $OUT/inuse-ro.err"
printf q >&9
exec 9>&-
wait $holder
hst=$?
run unlocked --firmware $G/hello.bin --disk "path=$OUT/blk.img"
check "virtio-blk: the holder exits cleanly (status $hst) and the image is free again (status $st)" \
	bash -c "[ $hst -eq 0 ] && [ $st -eq 0 ]"
run ro-shared --firmware $G/hello.bin --disk "path=$OUT/ro.img,readonly=on" \
	--disk "path=$OUT/ro.img,readonly=on"
check "virtio-blk: readonly users share an image (status $st)" [ "$st" -eq 0 ]

run missing --firmware $G/hello.bin --disk "path=$OUT/missing.img"
check "virtio-blk: a missing image is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -qF '$OUT/missing.img' $OUT/missing.err"
: >"$OUT/empty.img"
run empty --firmware $G/hello.bin --disk "path=$OUT/empty.img"
check "virtio-blk: a zero-size image is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'empty' $OUT/empty.err && grep -qF '$OUT/empty.img' $OUT/empty.err"

summary
