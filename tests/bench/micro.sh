#!/usr/bin/env bash
# The micro-guest sections of make bench, one after the other, each under a
# "== " header: start-up and memory beside the floor and QEMU (startup.sh),
# what a queue kick costs the guest (kickbench.bin), virtio-blk and
# virtio-net beside QEMU with the host CPU per request (blk.sh, net.sh).
# Needs a usable /dev/kvm where it runs: bench.sh runs it on this machine's
# or in the nested test host (where it runs with BENCH_PREBUILT=1 and the
# test host's EMBER and QEMU). A section that fails says so; the others
# still run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
bench_tools || echo "bench: building the helper programs failed"
EMBER=${EMBER:-build/ember}
export EMBER

tests/bench/startup.sh || echo "start-up and memory: failed (status $?)"
echo "== queue kick: guest TSC cycles each, port and memory notification structure (kickbench.bin, Ember)"
truncate -s 1M build/kickbench.img
"$EMBER" run --firmware build/guests/kickbench.bin --disk path=build/kickbench.img </dev/null |
	grep '^kick' | tr '\n' ' ' || echo -n "kickbench.bin failed"
echo
rm -f build/kickbench.img
tests/bench/blk.sh || echo "virtio-blk: failed (status $?)"
tests/bench/net.sh || echo "virtio-net: failed (status $?)"
