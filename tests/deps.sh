#!/usr/bin/env bash
# Installs what building and testing Ember needs on Debian 12. Safe to run
# again. Guest kernels and busybox are not installed: the Linux kit fetches
# them with apt-get download (tests/linux/fetch.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS=(gcc make libc6-dev pkg-config check libsubunit-dev liburing-dev qemu-system-x86 qemu-system-common cpio e2fsprogs
	clang libclang-rt-14-dev zlib1g-dev libzstd-dev qemu-utils libfdt-dev device-tree-compiler)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# fetch.sh needs current package lists even when nothing is missing.
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
