#!/usr/bin/env bash
# split.sh BINARY [N]: the unit tests of BINARY, each suite in a process of
# its own (`BINARY K/COUNT`), N at once (default 2, one per core), for the
# sanitized build: there, one runner forking every test grows its
# allocator's quarantine with each, and each fork then costs more (the whole
# list in one process took about six times as long as suite by suite).
# The sanitized tier runs it with CK_FORK=no: a forked test's exit runs a
# leak check of its own, which took most of the time (a 141-test suite: 8.9
# s forked, 1.9 s forked without leak checks, 0.1 s unforked); unforked,
# each suite's process checks for leaks once, at its end, and a leak fails
# the suite. Check's per-test time limit needs a fork, so each suite gets
# SUITE_TIMEOUT seconds (default 600) instead.
# Prints each suite's output in the list's order, then one "N passed, N
# failed" line over all; the status is non-zero if any suite failed or
# ended without Check's summary.
set -uo pipefail
bin=$1
jobs=${2:-2}
count=$("$bin" --count) || {
	echo "split.sh: $bin --count failed"
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2016 # expanded by the inner shell
seq 0 $((count - 1)) | xargs -P "$jobs" -I{} sh -c \
	'timeout -k 5 "$5" "$1" "$2/$3" >"$4/$2.log" 2>&1 || { st=$?; echo "split.sh: suite $2/$3 ended with status $st" >>"$4/$2.log"; exit "$st"; }' \
	sh "$bin" {} "$count" "$tmp" "${SUITE_TIMEOUT:-600}"
rc=$?
passed=0
failed=0
for ((k = 0; k < count; k++)); do
	cat "$tmp/$k.log"
	line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$tmp/$k.log" | tail -1)
	if [ -z "$line" ]; then
		echo "split.sh: suite $k/$count ended without a summary"
		failed=$((failed + 1))
		rc=1
		continue
	fi
	c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line")
	f=$((f))
	passed=$((passed + c - f))
	failed=$((failed + f))
	# Every check passed, yet the process failed: a leak or a sanitizer report at its end.
	if ((f == 0)) && grep -q '^split.sh: suite .* ended with status' "$tmp/$k.log"; then
		echo "split.sh: suite $k/$count passed its checks but failed at its end (see above)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
