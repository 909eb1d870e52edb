#!/usr/bin/env bash
# Installs what building and testing Ember needs on Debian 12. Safe to run
# again. Guest kernels and busybox are not installed: the Linux kit fetches
# them with apt-get download (tests/linux/fetch.sh). The arm64 tiers
# (tests/arm64/) need the arm64 architecture enabled for apt: their kernel,
# busybox and the static libraries of the cross build are arm64 .debs that
# tests/arm64/fetch.sh and sysroot.sh download (never install).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(gcc make libc6-dev pkg-config check libsubunit-dev liburing-dev qemu-system-x86 qemu-system-common cpio e2fsprogs
	clang libclang-rt-14-dev zlib1g-dev libzstd-dev qemu-utils libfdt-dev device-tree-compiler
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	$SUDO dpkg --add-architecture arm64
fi
# fetch.sh needs current package lists even when nothing is missing.
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
