# Shared helpers for the shell test tiers: PASS/FAIL lines and a summary.
# shellcheck shell=bash
TESTS_PASSED=0
TESTS_FAILED=0

pass() {
	echo "PASS: $1"
	TESTS_PASSED=$((TESTS_PASSED + 1))
}

fail() {
	echo "FAIL: $1${2:+ ($2)}"
	TESTS_FAILED=$((TESTS_FAILED + 1))
}

# check NAME CONDITION-COMMAND... : pass when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

summary() {
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
}

# Is /dev/kvm backed by hardware virtualization? Times the spin micro-guest
# (about 200,000 CPL0 instructions): a few ms natively, far more when the
# host emulates guest kernel code.
kvm_is_native() {
	local ember=${1:-build/ember} spin=${2:-build/guests/spin.bin} t0 t1
	t0=$(date +%s%N)
	"$ember" run --firmware "$spin" --serial none >/dev/null 2>&1 || return 1
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 100 ]
}
