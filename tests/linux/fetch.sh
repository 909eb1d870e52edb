#!/usr/bin/env bash
# Downloads (without installing) Debian 12's current kernel and busybox-static
# and unpacks them under build/kit/, exposing stable paths:
#   build/kit/vmlinuz   kernel for both the guest and the nested test host
#   build/kit/busybox   static busybox
#   build/kit/modules/  lib/modules/<ver> of that kernel
#   build/kit/kver      <ver>
# Idempotent. EMBER_APT_UPDATE=1 forces "apt-get update" first; otherwise it
# runs only when no package lists exist.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

debs="$KIT/debs"
pkgs="$KIT/pkgs"
mkdir -p "$debs" "$pkgs"

lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}
if [[ "${EMBER_APT_UPDATE:-0}" == 1 ]] || ! lists_present; then
	kit_log "apt-get update"
	apt-get update -qq
fi

# linux-image-amd64 is a metapackage; its Depends names the current ABI's image.
kpkg=$(apt-cache depends linux-image-amd64 |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[[ -n "$kpkg" ]] || kit_die "cannot resolve linux-image-amd64's kernel package (apt lists stale? try EMBER_APT_UPDATE=1)"
kver=${kpkg#linux-image-}

# Downloads package $1 into debs/ unless a .deb of its candidate version is there.
fetch_deb() {
	local pkg=$1 ver file
	ver=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
	[[ -n "$ver" && "$ver" != "(none)" ]] || kit_die "no candidate for $pkg"
	# apt writes an epoch's colon as %3a in .deb file names.
	file="$debs/${pkg}_${ver//:/%3a}_amd64.deb"
	if [[ ! -s "$file" ]]; then
		kit_log "downloading $pkg $ver"
		# apt-get download writes to the current directory. As root it would
		# try to drop to the _apt user, which cannot write here.
		(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null)
		[[ -s "$file" ]] || kit_die "apt-get download $pkg left no $file (stale apt lists? try EMBER_APT_UPDATE=1)"
	fi
	printf '%s\n' "$file"
}

# Unpacks .deb $1 into pkgs/<name-version>/; a stamp marks a complete unpack.
unpack_deb() {
	local deb=$1 dir
	[[ -f "$deb" ]] || kit_die "no such .deb: '$deb'"
	dir="$pkgs/$(basename "$deb" .deb)"
	if [[ ! -e "$dir/.unpacked" ]]; then
		kit_log "unpacking $(basename "$deb")"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		touch "$dir/.unpacked"
	fi
	printf '%s\n' "$dir"
}

# One step per assignment so that set -e sees each failure.
kdeb=$(fetch_deb "$kpkg")
bdeb=$(fetch_deb busybox-static)
kdir=$(unpack_deb "$kdeb")
bdir=$(unpack_deb "$bdeb")

[[ -f "$kdir/boot/vmlinuz-$kver" ]] || kit_die "no boot/vmlinuz-$kver in $kpkg"
[[ -d "$kdir/lib/modules/$kver" ]] || kit_die "no lib/modules/$kver in $kpkg"
bb=""
for p in bin/busybox usr/bin/busybox; do
	[[ -x "$bdir/$p" ]] && { bb="$bdir/$p"; break; }
done
[[ -n "$bb" ]] || kit_die "no busybox binary in busybox-static"

# Relative symlinks keep the kit movable together with the build tree.
ln -sfn "${kdir#"$KIT"/}/boot/vmlinuz-$kver" "$KIT/vmlinuz"
ln -sfn "${kdir#"$KIT"/}/lib/modules/$kver" "$KIT/modules"
ln -sfn "${bb#"$KIT"/}" "$KIT/busybox"
if [[ "$(cat "$KIT/kver" 2>/dev/null || true)" != "$kver" ]]; then
	printf '%s\n' "$kver" >"$KIT/kver"
fi
kit_log "kit ready: kernel $kver"
