#!/usr/bin/env bash
# `make bench`'s exec section: `ember exec -- true` and a BIG_MIB MiB host
# file read through the root share, beside QEMU set up the way
# virtme-ng sets it up (bench-exec-run.sh has the runs and the QEMU
# command line). Medians of RUNS runs each, the ratio Ember/QEMU, and the
# read throughput: BIG_MIB over the read's time inside the guest. Runs on this
# /dev/kvm when it is hardware-backed, else in one boot of the nested test
# host, with this machine's QEMU and virtiofsd copied in.
set -uo pipefail
cd "$(dirname "$0")/../.."
ember=${EMBER:-build/ember}
# shellcheck source=lib.sh
. tests/linux/lib.sh

VIRTIOFSD=$EXEC_VIRTIOFSD
tests/linux/fetch.sh >/dev/null || kit_die "cannot fetch the guest kernel"
mode=$(EMBER=$ember kit_kvm_mode)
# The nested test host moves a few MiB/s through virtio-fs (guest code under
# TCG): 3 runs of 64 MiB there, 5 of 256 MiB where guests run natively.
if [ "$mode" = direct ]; then
	export RUNS=${RUNS:-5} BIG_MIB=${BIG_MIB:-256}
else
	export RUNS=${RUNS:-3} BIG_MIB=${BIG_MIB:-64}
fi
kit_run_dir bench-exec
out="$run_dir/run.out"
if [ "$mode" = direct ]; then
	EMBER=$ember KERNEL="$KIT/vmlinuz" MODULES="$KIT/modules" VIRTIOFSD="$VIRTIOFSD" \
		QEMU=$(command -v qemu-system-x86_64) bash tests/linux/bench-exec-run.sh >"$out" 2>&1
else
	EMBER=$ember EMBER_HOST_GUEST=1 EMBER_NESTED_QEMU=1 EMBER_GUESTS_TIMEOUT=2400 \
		EMBER_NESTED_SCRIPT=tests/linux/bench-exec-run.sh \
		EMBER_NESTED_CMD="RUNS=$RUNS BIG_MIB=$BIG_MIB VIRTIOFSD=/usr/local/bin/virtiofsd QEMU=/usr/bin/qemu-system-x86_64 bash tests/linux/bench-exec-run.sh" \
		EMBER_NESTED_TOOLS="$VIRTIOFSD" \
		EMBER_NESTED_MODULES="$EXEC_GUEST_MODULES" \
		tests/guests/nested.sh >"$out" 2>&1
fi
grep -v '^RESULT' "$out" | grep -E 'status|stderr|output' | tail -4
# median VMM WHAT: of the runs that ended with status 0
median() {
	awk -v v="$1" -v w="$2" '$1 == "RESULT" && $2 == v && $3 == w && $6 == "0" { print $4 }' "$out" |
		sort -n | awk '{ a[NR] = $1 } END { if (!NR) print "-"; else printf "%.3f\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# gmedian VMM: the median guest-side seconds of its reads
gmedian() {
	awk -v v="$1" '$1 == "RESULT" && $2 == v && $3 == "read" && $6 == "0" && $7 != "" { print $7 }' "$out" |
		sort -n | awk '{ a[NR] = $1 } END { if (!NR) print "-"; else printf "%.3f\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
mib_s() { awk -v t="$1" -v m="$BIG_MIB" 'BEGIN { if (t == "-" || t <= 0) print "-"; else printf "%.1f", m / t }'; }
et=$(median ember true); qt=$(median qemu true)
er=$(median ember read); qr=$(median qemu read)
echo "exec -- true, wall time (median of $RUNS): ember ${et} s, QEMU microvm + virtiofsd ${qt} s; ember/QEMU $(ratio "$et" "$qt")"
eg=$(gmedian ember); qg=$(gmedian qemu)
echo "read a $BIG_MIB MiB host file over virtio-fs (timed in the guest): ember $(mib_s "$eg") MiB/s, QEMU $(mib_s "$qg") MiB/s; ember/QEMU $(ratio "$qg" "$eg") (whole runs: ember ${er} s, QEMU ${qr} s)"
echo "runs that did not end with status 0: $(awk '$1 == "RESULT" && $6 != "0"' "$out" | wc -l) (log: $out)"
