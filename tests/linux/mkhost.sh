#!/usr/bin/env bash
# Builds the nested test host's initramfs: busybox-static, kvm-amd and the
# modules it needs, build/ember, the guest kernel and guest initramfs under
# /guest, the micro-guests (build/guests/*.bin, when built) under /guests,
# and SCENARIO as /scenario.sh, which the host's /init runs once /dev/kvm
# exists.
# Usage: tests/linux/mkhost.sh SCENARIO [OUT]   (OUT: build/kit/host.cpio.gz)
# Needs fetch.sh and mkguest.sh first. Without build/ember it warns and
# builds the host anyway (enough to probe kvm-amd). EMBER_BIN picks another
# ember binary; EMBER_HOST_OVERLAY=DIR adds DIR's tree to the host's root;
# EMBER_HOST_GUEST=0 leaves the Linux guest out (micro-guests only).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=initramfs.sh
. "$KIT_LIB_DIR/initramfs.sh"

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 SCENARIO [OUT]" >&2; exit 2; }
scenario=$1
out=${2:-$KIT/host.cpio.gz}
[[ -f "$scenario" ]] || kit_die "no scenario script $scenario"
kit_need_fetch
with_guest=${EMBER_HOST_GUEST:-1}
((!with_guest)) || [[ -f "$KIT/guest.cpio.gz" ]] ||
	kit_die "no $KIT/guest.cpio.gz; run tests/linux/mkguest.sh"

# One staging tree per run: another run may be building at the same time.
root="$KIT/stage/host-$$"
trap 'rm -rf "$root"' EXIT
initramfs_stage_busybox "$root"
install -m 0755 "$KIT_LIB_DIR/host/init" "$root/init"
install -m 0755 "$scenario" "$root/scenario.sh"
# tun is not loaded by /init; it is there for scenarios that need a tap.
initramfs_add_modules "$root" irqbypass kvm ccp kvm-amd tun
for mod in irqbypass kvm ccp kvm-amd; do
	[[ -f "$root/lib/modules/$mod.ko" ]] || kit_die "$mod.ko missing from $(cat "$KIT/kver"); kvm-amd cannot load"
done
if [[ -x "$EMBER" ]]; then
	# It must run without the host's libraries: the test host has none.
	if ldd "$EMBER" >/dev/null 2>&1; then
		kit_die "$EMBER is dynamically linked; the test host needs a static binary"
	fi
	install -m 0755 "$EMBER" "$root/bin/ember"
else
	kit_log "warning: $EMBER missing; the test host will have no ember"
fi
if ((with_guest)); then
	mkdir -p "$root/guest"
	cp -L "$KIT/vmlinuz" "$root/guest/vmlinuz"
	cp "$KIT/guest.cpio.gz" "$root/guest/guest.cpio.gz"
fi
# Micro-guests, run there with ember run --firmware /guests/NAME.bin.
if compgen -G "$MICRO_DIR/*.bin" >/dev/null; then
	mkdir -p "$root/guests"
	cp "$MICRO_DIR"/*.bin "$root/guests/"
else
	kit_log "warning: no $MICRO_DIR/*.bin (make guests); the test host will have no micro-guests"
fi
# A directory tree to add as is, e.g. another VMM to compare ember with.
if [[ -n "${EMBER_HOST_OVERLAY:-}" ]]; then
	[[ -d "$EMBER_HOST_OVERLAY" ]] || kit_die "EMBER_HOST_OVERLAY=$EMBER_HOST_OVERLAY is not a directory"
	cp -a "$EMBER_HOST_OVERLAY/." "$root/"
fi
initramfs_pack "$root" "$out"
kit_log "wrote $out ($(du -k "$out" | cut -f1) kB)"
