#!/usr/bin/env bash
# The `ember exec` tier: the Debian kernel runs commands over the host's
# files (virtio-fs through virtiofsd), with the command's streams on
# virtio-console ports and its status as Ember's. The checks are in
# exec-checks.sh; this script picks where they run: on this machine's
# /dev/kvm when it is hardware-backed, else in the nested test host, whose
# root file system then is the one the guest sees.
# Env: EMBER (build/ember), EMBER_KVM_MODE=direct|nested forces where.
set -uo pipefail
cd "$(dirname "$0")/../.."
ember=${EMBER:-build/ember}
# shellcheck source=lib.sh
. tests/linux/lib.sh

tests/linux/fetch.sh >/dev/null || kit_die "cannot fetch the guest kernel (tests/linux/fetch.sh)"
[ -f build/guests/idle.bin ] || kit_die "build/guests/idle.bin missing; run make guests"
VIRTIOFSD=$EXEC_VIRTIOFSD
[ -x "$VIRTIOFSD" ] || kit_die "$VIRTIOFSD missing (tests/deps.sh installs qemu-system-common)"
mode=$(EMBER=$ember kit_kvm_mode)
if [ "$mode" = direct ]; then
	EMBER=$ember KERNEL="$KIT/vmlinuz" MODULES="$KIT/modules" VIRTIOFSD="$VIRTIOFSD" \
		exec bash tests/linux/exec-checks.sh
fi
# Nested: the test host holds the guest kit too.
tests/linux/mkguest.sh >/dev/null || kit_die "cannot build the guest initramfs (tests/linux/mkguest.sh)"
# virtiofsd and the tools the commands use, the guest kernel's
# modules that exec needs under /lib/modules/VERSION.
EMBER=$ember EMBER_HOST_GUEST=1 EMBER_NESTED_SCRIPT=tests/linux/exec-checks.sh \
	EMBER_NESTED_TOOLS="$VIRTIOFSD nproc pkill env" \
	EMBER_NESTED_MODULES="$EXEC_GUEST_MODULES" \
	exec tests/guests/nested.sh
