#!/usr/bin/env bash
# The sysroot for a static arm64 cross build of Ember: downloads (without
# installing) the arm64 .debs of the libraries Ember links (liburing, zlib,
# zstd, libfdt: headers and static .a) and unpacks them into
# build/arm64/sysroot/, then checks that aarch64-linux-gnu-gcc links a small
# static program against all four. Idempotent; prints the sysroot's path.
# The C library is the cross compiler's own (libc6-dev-arm64-cross, in
# /usr/aarch64-linux-gnu); the sysroot adds the four libraries:
#   CC=aarch64-linux-gnu-gcc
#   CFLAGS+=-isystem $SYSROOT/usr/include
#   LDFLAGS+=-static -L$SYSROOT/usr/lib/aarch64-linux-gnu
#   LIBS=-luring -lz -lzstd -lfdt
# (Debian's cross gcc also takes --sysroot=$SYSROOT in CFLAGS and LDFLAGS
# instead: it keeps finding its C library outside the sysroot. A cross
# compiler whose C library lives in its sysroot would not.)
# EMBER_APT_UPDATE=1 forces "apt-get update" first. Needs tests/deps.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v "$A64_CC" >/dev/null || a64_die "$A64_CC missing; run tests/deps.sh"
# The -dev packages hold the headers and the .a files; the runtime ones the
# .so files that the -dev packages' libX.so links point at (for a dynamic
# build; the static one does not use them).
PKGS=(liburing-dev liburing2 zlib1g-dev zlib1g libzstd-dev libzstd1 libfdt-dev libfdt1)
debs="$A64_BUILD/debs"
lib="$A64_SYSROOT/usr/lib/aarch64-linux-gnu"
a64_apt_lists

mapfile -t files < <(a64_fetch_debs "$debs" "${PKGS[@]}")
[[ ${#files[@]} -eq ${#PKGS[@]} ]] || a64_die "cannot download ${PKGS[*]}"
# The stamp names the .debs it was made of: new versions make a new sysroot.
want=$(printf '%s\n' "${files[@]##*/}")
if [[ "$(cat "$A64_SYSROOT/.debs" 2>/dev/null || true)" != "$want" ]]; then
	a64_log "unpacking ${#files[@]} packages into $A64_SYSROOT"
	rm -rf "$A64_SYSROOT"
	mkdir -p "$A64_SYSROOT"
	for f in "${files[@]}"; do
		dpkg-deb -x "$f" "$A64_SYSROOT"
	done
	printf '%s\n' "$want" >"$A64_SYSROOT/.debs"
fi
for a in liburing.a libz.a libzstd.a libfdt.a; do
	[[ -f "$lib/$a" ]] || a64_die "no $lib/$a after unpacking ${PKGS[*]}"
done

# The link check, once per sysroot: one call into each library.
check="$A64_BUILD/libcheck"
if [[ ! -x "$check" || "$A64_SYSROOT/.debs" -nt "$check" || "$A64_DIR/libcheck.c" -nt "$check" ]]; then
	"$A64_CC" -std=gnu11 -O2 -Wall -Wextra -Werror -isystem "$A64_SYSROOT/usr/include" \
		-static -L"$lib" -o "$check.tmp.$$" "$A64_DIR/libcheck.c" -luring -lz -lzstd -lfdt ||
		{ rm -f "$check.tmp.$$"; a64_die "cannot link against the sysroot's static libraries"; }
	mv "$check.tmp.$$" "$check"
	a64_log "linked $check statically against liburing, zlib, zstd and libfdt"
fi
printf '%s\n' "$A64_SYSROOT"
