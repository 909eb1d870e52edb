#!/usr/bin/env bash
# The arm64 kit: downloads (without installing) Debian 12's current arm64
# kernel (linux-image-<abi>-arm64-unsigned) and busybox-static:arm64 and
# unpacks them under build/kit-arm64/, exposing stable paths:
#   build/kit-arm64/Image     the kernel, an uncompressed arm64 Image (Debian
#                             calls it vmlinuz), for the test host and guests
#   build/kit-arm64/config    its build configuration
#   build/kit-arm64/modules/  its lib/modules/<ver>
#   build/kit-arm64/modules.index  every module's path in that tree
#   build/kit-arm64/kver      <ver>
#   build/kit-arm64/busybox   static arm64 busybox
# Idempotent; prints the kit's directory. EMBER_APT_UPDATE=1 forces "apt-get
# update" first; otherwise it runs only when apt has no arm64 lists.
# Needs tests/deps.sh (the arm64 architecture enabled for apt).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

debs="$A64_KIT/debs"
pkgs="$A64_KIT/pkgs"
mkdir -p "$debs" "$pkgs"
a64_apt_lists

# linux-image-arm64 is a metapackage; its Depends names the current ABI's
# (signed) image, whose -unsigned twin holds the same kernel.
kpkg=$(apt-cache depends linux-image-arm64:arm64 |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }')
[[ -n "$kpkg" ]] || a64_die "cannot resolve linux-image-arm64's kernel package (apt lists stale? try EMBER_APT_UPDATE=1)"
kver=${kpkg#linux-image-}

# One step per assignment so that set -e sees each failure.
mapfile -t files < <(a64_fetch_debs "$debs" "$kpkg-unsigned" busybox-static)
[[ ${#files[@]} -eq 2 ]] || a64_die "cannot download $kpkg-unsigned and busybox-static"
kdeb=${files[0]} bdeb=${files[1]}
kdir=$(a64_unpack_deb "$kdeb" "$pkgs")
bdir=$(a64_unpack_deb "$bdeb" "$pkgs")

image="$kdir/boot/vmlinuz-$kver"
[[ -f "$image" ]] || a64_die "no boot/vmlinuz-$kver in $kpkg-unsigned"
[[ -d "$kdir/lib/modules/$kver" ]] || a64_die "no lib/modules/$kver in $kpkg-unsigned"
# An arm64 Image has "ARM\x64" at offset 56 (Documentation/arm64/booting.rst).
[[ "$(dd if="$image" bs=1 skip=56 count=4 status=none | od -An -tx1 | tr -d ' \n')" == 41524d64 ]] ||
	a64_die "$image is not an uncompressed arm64 Image"
bb=""
for p in bin/busybox usr/bin/busybox; do
	[[ -f "$bdir/$p" ]] && { bb="$bdir/$p"; break; }
done
[[ -n "$bb" ]] || a64_die "no busybox binary in busybox-static:arm64"

# Relative symlinks keep the kit movable together with the build tree.
ln -sfn "${image#"$A64_KIT"/}" "$A64_KIT/Image"
ln -sfn "${kdir#"$A64_KIT"/}/boot/config-$kver" "$A64_KIT/config"
ln -sfn "${kdir#"$A64_KIT"/}/lib/modules/$kver" "$A64_KIT/modules"
ln -sfn "${bb#"$A64_KIT"/}" "$A64_KIT/busybox"
# Where each module is (lib.sh's a64_module_path), made once per kernel.
if [[ ! -s "$A64_KIT/modules.index" || "$(cat "$A64_KIT/kver" 2>/dev/null || true)" != "$kver" ]]; then
	(cd "$A64_KIT/modules/" && find kernel -name '*.ko*' | LC_ALL=C sort) >"$A64_KIT/modules.index.tmp.$$"
	mv "$A64_KIT/modules.index.tmp.$$" "$A64_KIT/modules.index"
fi
if [[ "$(cat "$A64_KIT/kver" 2>/dev/null || true)" != "$kver" ]]; then
	printf '%s\n' "$kver" >"$A64_KIT/kver"
fi
a64_log "kit ready: kernel $kver"
printf '%s\n' "$A64_KIT"
