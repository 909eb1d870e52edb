#!/usr/bin/env bash
# Builds build/kit/guest.cpio.gz: the Linux guest's busybox-static initramfs.
# /init comes from tests/linux/guest/init, the ember.test=NAME scenarios from
# tests/linux/guest/tests/NAME.sh, the modules from tests/linux/guest/modules.txt
# (loaded at boot) and modules-ondemand.txt (loaded by the tests needing them),
# /bin/blkio from tests/linux/guest/blkio.c (built here).
# Usage: tests/linux/mkguest.sh   (after fetch.sh)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=initramfs.sh
. "$KIT_LIB_DIR/initramfs.sh"

kit_need_fetch
src="$KIT_LIB_DIR/guest"
# One staging tree per run: another run may be building at the same time.
root="$KIT/stage/guest-$$"
out="$KIT/guest.cpio.gz"
trap 'rm -rf "$root"' EXIT

initramfs_stage_busybox "$root"
install -m 0755 "$src/init" "$root/init"
mkdir -p "$root/tests"
install -m 0755 "$src"/tests/*.sh "$root/tests/"
# blkio (guest/blkio.c), the disk benchmark's tool: built here, static,
# when its source is newer; without a compiler the guest goes without it.
blkio="$KIT/blkio"
if [[ ! -x "$blkio" || "$src/blkio.c" -nt "$blkio" ]]; then
	if cc -std=gnu11 -O2 -Wall -Wextra -Werror -static -s -o "$blkio.tmp.$$" "$src/blkio.c"; then
		mv "$blkio.tmp.$$" "$blkio"
	else
		rm -f "$blkio.tmp.$$"
		kit_log "warning: cannot build $src/blkio.c; the guest has no blkio (bench-qcow2.sh)"
	fi
fi
[[ ! -x "$blkio" ]] || install -m 0755 "$blkio" "$root/bin/blkio"
mapfile -t mods < <(initramfs_module_list "$src/modules.txt")
initramfs_add_modules "$root" "${mods[@]}"
mapfile -t mods < <(initramfs_module_list "$src/modules-ondemand.txt")
initramfs_copy_modules "$root" "${mods[@]}"
cat >"$root/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin HOME=/root TERM=${TERM:-vt100}
PS1='guest:\w\$ '
cd /root
PROFILE
initramfs_pack "$root" "$out"
kit_log "wrote $out ($(du -k "$out" | cut -f1) kB)"
