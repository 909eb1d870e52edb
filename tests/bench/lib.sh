# Shared helpers for the device-side benchmarks (blk.sh, net.sh), sourced
# from the repository's top directory.
# shellcheck shell=bash

# tsc_hz: build build/tschz and print the host's TSC rate in Hz, with which
# the micro-guests' TSC cycles become time.
tsc_hz() {
	mkdir -p build
	cc -O2 -Wall -Wextra -o build/tschz tests/bench/tschz.c
	build/tschz
}

# median: the median of the numbers on standard input (the upper one of an
# even count), or an empty line for none
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print ""}'; }

# ratio A B: A / B to two places, or - if either is missing
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk "BEGIN{printf \"%.2f\", $1 / $2}" || echo -; }
