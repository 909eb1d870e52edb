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

summary
