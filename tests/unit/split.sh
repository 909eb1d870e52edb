#!/usr/bin/env bash
# split.sh BINARY [N]: the unit tests of BINARY in N processes at once (default
# 2, one per core), each taking every Nth suite (`BINARY K/N`), for the
# sanitized build, whose fork per test is slow. Prints each part's output,
# then one "N passed, N failed" line over all parts; the status is non-zero
# if any part failed or ended without Check's summary.
set -uo pipefail
bin=$1
parts=${2:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pids=()
for ((k = 0; k < parts; k++)); do
	"$bin" "$k/$parts" >"$tmp/$k.log" 2>&1 &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
passed=0
failed=0
for ((k = 0; k < parts; k++)); do
	cat "$tmp/$k.log"
	line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$tmp/$k.log" | tail -1)
	if [ -z "$line" ]; then
		echo "split.sh: part $k/$parts ended without a summary"
		failed=$((failed + 1))
		rc=1
		continue
	fi
	c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line")
	f=$((f))
	passed=$((passed + c - f))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
exit $rc
