#!/usr/bin/env bash
# Every test tier, in order of cost: unit tests (plain and under
# ASan/UBSan), bad-input checks, micro-guests on /dev/kvm, a short run of
# each fuzz target, Linux guests
# (directly where /dev/kvm is hardware-backed, else in the nested test
# host). Ends with one "N passed, N failed" line over all tiers.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
LOG=build/test-logs
mkdir -p "$LOG"

# Add a tier's counts from its closing line ("N passed, M failed" or Check's).
tally() {
	local name=$1 log=$2 rc=$3 p f line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	elif line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1); then
		p=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line")
		f=$((f))
		p=$((p - f))
	else
		p=0
		f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the tier failed without saying which check
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "== $name: $p passed, $f failed (log: $log)"
}

tier() {
	local name=$1 rc
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$LOG/$name.log"
	rc=${PIPESTATUS[0]}
	tally "$name" "$LOG/$name.log" "$rc"
}

tier unit env CK_FORK=yes build/unit
tier unit-sanitized env CK_FORK=yes build/unit-san
tests/linux/fetch.sh >"$LOG/fetch.log" 2>&1 || echo "== fetch of the guest kernel failed (see $LOG/fetch.log)"
tier cli tests/cli.sh
tier micro-guests tests/guests/run.sh
tier micro-guests-sanitized env EMBER=build/ember-san tests/guests/run.sh
# Each libFuzzer target, a few seconds from its seed corpus: they build, and
# the crash inputs turned unit tests stay fixed (long runs: make fuzz).
tier fuzz-smoke make --no-print-directory fuzz-smoke
tier linux-guests tests/linux/boot-tests.sh

echo "all tiers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
