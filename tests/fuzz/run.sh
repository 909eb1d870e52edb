#!/usr/bin/env bash
# Runs libFuzzer targets for a fixed time each and prints one line per target.
#   tests/fuzz/run.sh SECONDS TARGET...      (targets: vq blk net bzimage cli vhost_user vconsole qcow2 api snapfile image)
# Environment: FUZZ_JOBS (targets run at once, default 1), FUZZ_ARGS (more
# libFuzzer flags), BUILD (default build).
# Seeds come from tests/fuzz/corpus/TARGET/ (read only); new inputs go to
# BUILD/fuzz/corpus/TARGET/, crash reproducers to BUILD/fuzz/crashes/TARGET/,
# the full output to BUILD/fuzz/logs/TARGET.log. Exits 1 if any target crashed.
set -uo pipefail

secs=${1:?usage: run.sh SECONDS TARGET...}
shift
build=${BUILD:-build}
jobs=${FUZZ_JOBS:-1}
here=$(cd "$(dirname "$0")" && pwd)

# Larger inputs where a file or a whole request stream needs the room.
max_len() {
	case $1 in
	bzimage | image) echo 16384 ;;
	qcow2) echo 65536 ;; # images of 512-byte to 32 KiB clusters
	api) echo 16384 ;; # room for lines past the 4096-byte limit
	*) echo 4096 ;;
	esac
}

run_one() {
	local t=$1 bin=$build/fuzz/fuzz_$1 corpus=$build/fuzz/corpus/$1
	local crashes=$build/fuzz/crashes/$1 log=$build/fuzz/logs/$1.log start rc
	mkdir -p "$corpus" "$crashes" "$build/fuzz/logs"
	start=$(date +%s)
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$bin" -max_total_time="$secs" -timeout=10 -max_len="$(max_len "$t")" \
		-close_fd_mask=3 -print_final_stats=1 -error_exitcode=77 -timeout_exitcode=78 \
		-artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "$corpus" "$here/corpus/$t" \
		>"$log" 2>&1
	rc=$?
	echo $(($(date +%s) - start)) "$rc" >"$log.result"
}

summary() {
	local t=$1 log=$build/fuzz/logs/$1.log elapsed rc execs cov ft corp result
	read -r elapsed rc <"$log.result"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="CRASH (status $rc): $(grep -o "$build/fuzz/crashes/$t/[^ ]*" "$log" | tail -1)"
	fi
	printf '%-8s %6ss %12s %8s %8s %12s  %s\n' "$t" "$elapsed" "${execs:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "$result"
	[ "$rc" -eq 0 ]
}

for t in "$@"; do
	[ -x "$build/fuzz/fuzz_$t" ] || { echo "no $build/fuzz/fuzz_$t: run make fuzz-build" >&2; exit 2; }
done
echo "fuzzing $* for ${secs}s each, $jobs at a time (logs in $build/fuzz/logs/)"
running=0
for t in "$@"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

printf '%-8s %7s %12s %8s %8s %12s  %s\n' target time execs cov ft corpus result
failed=0
for t in "$@"; do
	summary "$t" || failed=$((failed + 1))
done
echo "$(($# - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
