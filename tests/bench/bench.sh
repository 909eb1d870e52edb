#!/usr/bin/env bash
# make bench: figures, never pass/fail.
#  1. exec -> the guest's first port write (micro-guest first.bin), median of 20 runs,
#     Ember and QEMU -M microvm with the same image as -bios;
#  2. peak RSS minus the guest RAM the guest touched;
#  3. what a queue kick costs the guest, through ports and through memory (kickbench.bin);
#  4. Linux boot to the guest's init inside the nested test host, Ember and QEMU.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build
cc -O2 -Wall -Wextra -o build/firstout tests/bench/firstout.c

RUNS=${RUNS:-20}
FIRST=build/guests/first.bin
echo "== start-up: exec to first guest port write, $RUNS runs (this machine's /dev/kvm)"
ember_line=$(build/firstout "$RUNS" build/ember run --firmware "$FIRST")
touched=$(build/ember run --firmware "$FIRST" -v 2>&1 >/dev/null | sed -n 's/.*guest RAM touched: \([0-9]*\) KiB/\1/p')
echo "ember: $ember_line"
rss=$(sed -E 's/.*maxrss-kib median ([0-9]+).*/\1/' <<<"$ember_line")
echo "ember: guest RAM touched ${touched} KiB; memory overhead (peak RSS - touched) $((rss - touched)) KiB"

if command -v qemu-system-x86_64 >/dev/null; then
	qemu=(qemu-system-x86_64 -M microvm -accel kvm -m 256M -bios "$FIRST" -nodefaults
		-serial stdio -display none -no-reboot -device isa-debug-exit,iobase=0x501)
	qemu_line=$(build/firstout "$RUNS" "${qemu[@]}" 2>/dev/null)
	echo "qemu microvm: $qemu_line"
	qrss=$(sed -E 's/.*maxrss-kib median ([0-9]+).*/\1/' <<<"$qemu_line")
	echo "qemu microvm: memory overhead (peak RSS - ${touched} KiB touched by the same guest) $((qrss - touched)) KiB"
	et=$(sed -E 's/.*median ([0-9]+) max.*/\1/' <<<"$ember_line")
	qt=$(sed -E 's/.*median ([0-9]+) max.*/\1/' <<<"$qemu_line")
	echo "ratio: ember start-up is $(awk "BEGIN{printf \"%.1f\", $qt/$et}")x faster, overhead $(awk "BEGIN{printf \"%.1f\", ($qrss-$touched)/($rss-$touched)}")x smaller"
else
	echo "qemu-system-x86_64 not installed: no comparison (tests/deps.sh installs it)"
fi

echo "== queue kick: guest TSC cycles each, port and memory notification structure (kickbench.bin, this machine's /dev/kvm)"
truncate -s 1M build/kickbench.img
build/ember run --firmware build/guests/kickbench.bin --disk path=build/kickbench.img | grep '^kick' | tr '\n' ' '
echo
rm -f build/kickbench.img

if [ -x tests/linux/bench-boot.sh ]; then
	echo "== Linux boot to init (nested test host where /dev/kvm is not hardware-backed)"
	tests/linux/bench-boot.sh
fi
if [ -x tests/bench/blk.sh ]; then tests/bench/blk.sh; fi
if [ -x tests/bench/net.sh ]; then tests/bench/net.sh; fi
if [ -x tests/linux/bench-io.sh ]; then echo "== Linux guest disk and network I/O, Ember and QEMU"; tests/linux/bench-io.sh; fi
