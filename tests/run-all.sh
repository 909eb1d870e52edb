#!/usr/bin/env bash
# Every test tier, in order of cost: unit tests (plain and under
# ASan/UBSan), bad-input checks, micro-guests (on this /dev/kvm where it runs
# them, else in the nested test host), a short run of each fuzz target,
# Linux guests and `ember exec` (directly where /dev/kvm is hardware-backed,
# else in the nested test host), then the arm64 build's micro-guests and
# Linux guests in the arm64 test host (tests/arm64/: emulated, any host). Ends with one "N passed, N failed, N skipped" line over
# all tiers, each check counted once; the status is non-zero if any failed.
# EMBER_KVM_MODE=nested runs every guest tier in the nested test host even
# where this /dev/kvm could run it.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
skipped=0
LOG=build/test-logs
mkdir -p "$LOG"

# count PATTERN LOG: lines of LOG that start with PATTERN.
count() { grep -c "^$1" "$2"; }

# Add a tier's counts. Its closing line ("N passed, N failed[, N skipped]"
# or Check's "Checks: N, Failures: N, Errors: N") when it has one; else the
# tier crashed or was stopped: its PASS/FAIL/SKIP lines count, and every
# check its "PLAN: N" line promised and that never reported fails (at least
# one failure for a tier that ended without a closing line).
tally() {
	local name=$1 log=$2 rc=$3 p f s=0 line planned
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		if [[ "$line" =~ ,\ ([0-9]+)\ skipped ]]; then s=${BASH_REMATCH[1]}; fi
	elif line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1); then
		p=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line")
		f=$((f))
		p=$((p - f))
	else
		p=$(count 'PASS: ' "$log")
		f=$(count 'FAIL: ' "$log")
		s=$(count 'SKIP: ' "$log")
		planned=$(sed -n 's/^PLAN: \([0-9]*\)$/\1/p' "$log" | head -1)
		local unrun=$((${planned:-0} - p - f - s))
		((unrun > 0)) || unrun=1
		echo "== $name ended without its closing line (status $rc): $unrun check(s) that did not report count as failed"
		f=$((f + unrun))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the tier failed without saying which check
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	echo "== $name: $p passed, $f failed, $s skipped (log: $log)"
}

tier() {
	local name=$1 rc t0=$SECONDS
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$LOG/$name.log"
	rc=${PIPESTATUS[0]}
	tally "$name" "$LOG/$name.log" "$rc"
	echo "== $name took $((SECONDS - t0)) s"
}

# Check's per-test time limits are for an idle machine; a busy one (or the
# sanitizers) gets twice as long.
tier unit env CK_FORK=yes CK_TIMEOUT_MULTIPLIER=2 build/unit
tier unit-sanitized env CK_FORK=no tests/unit/split.sh build/unit-san
tests/linux/fetch.sh >"$LOG/fetch.log" 2>&1 || echo "== fetch of the guest kernel failed (see $LOG/fetch.log)"
tier cli tests/cli.sh
tier docs tests/docs.sh
tier layers tests/layers.sh
tier micro-guests tests/guests/run.sh
tier micro-guests-sanitized env EMBER=build/ember-san tests/guests/run.sh
# Each libFuzzer target, a few seconds from its seed corpus: they build, and
# the crash inputs turned unit tests stay fixed (long runs: make fuzz).
tier fuzz-smoke make --no-print-directory fuzz-smoke
tier linux-guests tests/linux/boot-tests.sh
tier exec tests/linux/exec-tests.sh
# arm64: Ember's arm64 build in the arm64 test host (QEMU TCG with EL2 and KVM inside), on any host.
tests/arm64/fetch.sh >"$LOG/fetch-arm64.log" 2>&1 || echo "== fetch of the arm64 kit failed (see $LOG/fetch-arm64.log)"
tier arm64-micro-guests env EMBER_A64_EMBER=build/arm64/ember tests/arm64/micro.sh
tier arm64-linux-guests tests/arm64/linux.sh

echo "all tiers took $SECONDS s"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
