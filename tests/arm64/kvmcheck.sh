#!/usr/bin/env bash
# Proof that the arm64 test host can run an arm64 VMM: builds
# tests/arm64/kvmcheck.c static for aarch64 into build/arm64/kvmcheck (and
# the sysroot's link check build/arm64/libcheck, tests/arm64/sysroot.sh),
# boots the test host (tests/arm64/testhost.sh) with both in /bin, runs
# them there and prints what they printed. Exit status 0 when both passed.
# Usage: tests/arm64/kvmcheck.sh [testhost.sh options, e.g. -s 1]
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v "$A64_CC" >/dev/null || a64_die "$A64_CC missing; run tests/deps.sh"
[[ -s "$A64_KIT/kver" ]] || "$A64_DIR/fetch.sh" >/dev/null
# sysroot.sh asks apt for the newest versions (seconds): only when its link
# check is missing or older than its source.
if [[ ! -x "$A64_BUILD/libcheck" || "$A64_DIR/libcheck.c" -nt "$A64_BUILD/libcheck" ]]; then
	"$A64_DIR/sysroot.sh" >/dev/null
fi
bin="$A64_BUILD/kvmcheck"
if [[ ! -x "$bin" || "$A64_DIR/kvmcheck.c" -nt "$bin" ]]; then
	mkdir -p "$A64_BUILD"
	"$A64_CC" -std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -static \
		-o "$bin.tmp.$$" "$A64_DIR/kvmcheck.c" || { rm -f "$bin.tmp.$$"; a64_die "cannot build $bin"; }
	mv "$bin.tmp.$$" "$bin"
fi

overlay=$(mktemp -d "$A64_BUILD/kvmcheck-overlay.XXXXXX")
scenario="$overlay.sh"
trap 'rm -rf "$overlay" "$scenario"' EXIT
mkdir -p "$overlay/bin"
install -m 0755 "$bin" "$A64_BUILD/libcheck" "$overlay/bin/"
cat >"$scenario" <<'SCRIPT'
#!/bin/sh
echo "test host: $(uname -r), $(nproc) CPUs, uptime $(cut -d' ' -f1 /proc/uptime) s"
rc=0
kvmcheck || rc=1
libcheck || rc=1
exit $rc
SCRIPT
"$A64_DIR/testhost.sh" -t 300 -w 120 -o "$overlay" "$@" "$scenario"
