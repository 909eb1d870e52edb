#!/usr/bin/env bash
# Builds build/kit-arm64/guest.cpio.gz, the initramfs of arm64 Linux guests:
# busybox-static:arm64, /init from tests/arm64/guest/init (ember.test=NAME
# runs /tests/NAME.sh, from tests/arm64/guest/tests/; ember.end=reboot
# reboots instead of powering off), the kernel modules a guest needs that
# Debian's arm64 kernel has as modules (virtio-pci, virtio-blk, virtio-net:
# loaded at boot), and ext4 (which mounts ext2) with crc32c, copied but not
# loaded: a test insmods those listed in /lib/modules/ondemand-order.
# Usage: tests/arm64/mkguest.sh   (after fetch.sh); prints the path.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

a64_need_kit
src="$A64_DIR/guest"
out="$A64_KIT/guest.cpio.gz"
# One staging tree per run: another run may be building at the same time.
root="$A64_KIT/stage/guest-$$"
trap 'rm -rf "$root"' EXIT

a64_stage_busybox "$root"
install -m 0755 "$src/init" "$root/init"
mkdir -p "$root/tests"
install -m 0755 "$src"/tests/*.sh "$root/tests/"
a64_add_modules "$root" load-order virtio_pci virtio_blk virtio_net
a64_add_modules "$root" ondemand-order crc32c_generic ext4
cat >"$root/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=${TERM:-vt100}
PS1='guest:\w\$ '
cd /root
PROFILE
a64_pack "$root" "$out"
a64_log "wrote $out ($(du -k "$out" | cut -f1) kB)"
printf '%s\n' "$out"
