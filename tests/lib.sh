# Shared helpers for the shell test tiers: PASS/FAIL/SKIP lines, a plan
# and a summary.
# shellcheck shell=bash
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0
TESTS_PLANNED=

# plan N: the tier runs N checks. Printed first ("PLAN: N") so that whoever
# reads the output can count checks a crash or a time limit left unrun as
# failed; summary() fails the tier when the count run differs.
plan() {
	TESTS_PLANNED=$1
	echo "PLAN: $1"
}

pass() {
	echo "PASS: $1"
	TESTS_PASSED=$((TESTS_PASSED + 1))
}

fail() {
	echo "FAIL: $1${2:+ ($2)}"
	TESTS_FAILED=$((TESTS_FAILED + 1))
}

# skip NAME REASON: a check that cannot run here (not root, no tun, ...).
skip() {
	echo "SKIP: $1 ($2)"
	TESTS_SKIPPED=$((TESTS_SKIPPED + 1))
}

# check NAME CONDITION-COMMAND... : pass when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

summary() {
	local run=$((TESTS_PASSED + TESTS_FAILED + TESTS_SKIPPED))
	if [ -n "$TESTS_PLANNED" ] && [ "$run" -ne "$TESTS_PLANNED" ]; then
		fail "the tier ran the checks it planned" "$run counted, $TESTS_PLANNED planned"
	fi
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
	[ "$TESTS_FAILED" -eq 0 ]
}

# kvm_runs_guests [EMBER]: this machine's /dev/kvm runs a micro-guest (any
# backend: hardware, PVM). Where it does not, the micro-guest tier runs in
# the nested test host.
kvm_runs_guests() {
	local ember=${1:-build/ember}
	[ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		timeout 60 "$ember" run --firmware build/guests/hello.bin --serial none \
			</dev/null >/dev/null 2>&1
}
