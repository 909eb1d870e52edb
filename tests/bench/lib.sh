# Shared helpers for the device-side benchmarks (blk.sh, net.sh), sourced
# from the repository's top directory.
# shellcheck shell=bash

# bench_tools: build the benchmarks' helper programs into build/, static so
# that the nested test host runs them as they are: firstout, floor, vmmcpu,
# tschz, threadcost, randread (left out without liburing). With BENCH_PREBUILT=1 (in the
# test host, which has no compiler) they are taken as they are.
bench_tools() {
	[ "${BENCH_PREBUILT:-0}" = 1 ] && return 0
	mkdir -p build
	local p
	for p in firstout floor vmmcpu tschz threadcost; do
		cc -O2 -Wall -Wextra -static -pthread -o "build/$p" "tests/bench/$p.c"
	done
	cc -O2 -Wall -Wextra -static -o build/randread tests/bench/randread.c -luring 2>/dev/null ||
		rm -f build/randread
}

# tsc_hz: print the host's TSC rate in Hz (build/tschz, made by bench_tools),
# with which the micro-guests' TSC cycles become time.
tsc_hz() {
	[ -x build/tschz ] || bench_tools
	build/tschz
}

# cpu_fig FILE [guest]: from FILE's (- for stdin) vmmcpu lines (tests/bench/vmmcpu.c, one
# per run), the median of the runs' user + system microseconds, or with "guest" of the
# same minus the time the guest itself ran; empty for none
cpu_fig() {
	[ "$1" = - ] || [ -f "$1" ] || return 0
	awk -v g="${2:-}" '$1 == "vmmcpu" { print $3 + $5 - (g == "guest" ? $7 : 0) }' "$1" | median
}

# phase_cpu FILE PHASE [guest]: for each run in FILE (vmmcpu's samples at the guest's
# "bench NAME" lines), the user + system microseconds from the sample before PHASE's to
# PHASE's, or with "guest" the same minus the guest's own time; for a run's first
# phase, from the VMM's start. One line per run that has the phase.
phase_cpu() {
	[ -f "$1" ] || return 0
	awk -v ph="$2" -v g="${3:-}" '
		$1 == "sample" { x = $4 + $6 - (g == "guest" ? $8 : 0); if ($2 == ph) print x - prev; prev = x }
		$1 == "vmmcpu" { prev = 0 }' "$1"
}

# progress TEXT: with BENCH_PROGRESS=1 (in the test host, whose console
# must not stay silent for long), "BENCH-ALIVE TEXT" on stderr
progress() { [ -z "${BENCH_PROGRESS:-}" ] || echo "BENCH-ALIVE $*" >&2; }

# median: the median of the numbers on standard input (the upper one of an
# even count), or an empty line for none
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print ""}'; }

# ratio A B: A / B to two places, or - if either is missing
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN{printf \"%.2f\", $1 / $2}" || echo -; }
