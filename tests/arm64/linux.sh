#!/usr/bin/env bash
# The arm64 Linux-guest tier: Debian's arm64 kernel with the busybox
# initramfs of mkguest.sh, on build/arm64/ember, in one boot of the arm64
# test host (testhost.sh). Proves that a real kernel's drivers take Ember's
# arm64 platform: 2 vCPUs through PSCI, the memory size, the PL011 console,
# virtio-blk and virtio-net on the ECAM host bridge with MSIs through the
# ITS, and INTx through its interrupt-map (pci=nomsi), a disk written and read back (checked in the image on the test
# host), ext2 on it, a ping through a tap, power-off and reboot with
# status 0, and bad input refused with status 1.
# Usage: tests/arm64/linux.sh   (make ARCH=arm64 first; tests/run-all.sh runs it)
# Env: EMBER_A64_EMBER (build/arm64/ember).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
# shellcheck source=lib.sh
. tests/arm64/lib.sh

ember=${EMBER_A64_EMBER:-$A64_BUILD/ember}
[[ -x "$ember" ]] || a64_die "$ember missing: run make ARCH=arm64"
[[ -s "$A64_KIT/kver" ]] || tests/arm64/fetch.sh >/dev/null || a64_die "cannot fetch the arm64 kit"
overlay=$(mktemp -d "${TMPDIR:-/tmp}/ember-a64-linux.XXXXXX")
trap 'rm -rf "$overlay"' EXIT
mkdir -p "$overlay/bin"
install -m 0755 "$ember" "$overlay/bin/ember"

# Inside the test host (busybox sh): "R NAME key=value" lines for this side to check.
cat >"$overlay/scenario.sh" <<'SCRIPT'
#!/bin/sh
cd /tmp
K=/guest/Image I=/guest/guest.cpio.gz
# run NAME SECONDS EMBER-ARGS...: Ember's status and the guest's EMBER- lines.
run() {
	name=$1 tmo=$2
	shift 2
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout "$tmo" ember run "$@" </dev/null >"$name.out" 2>&1
	echo "R $name status=$?"
	echo "R $name seconds=$(awk -v a="$t0" '{ print $1 - a; exit }' /proc/uptime)"
	grep -a -E '^EMBER-|^ember: |reboot: ' "$name.out" | sed "s/^\[[ 0-9.]*\] //; s/^/R $name /"
}
boot() { # NAME SECONDS CMDLINE-EXTRA EMBER-ARGS...
	name=$1 tmo=$2 extra=$3
	shift 3
	run "$name" "$tmo" --kernel $K --initrd $I --serial stdio --cmdline "console=ttyAMA0 quiet $extra" "$@"
}

dd if=/dev/zero of=d0.img bs=1M count=8 2>/dev/null
dd if=/dev/zero of=d1.img bs=1M count=4 2>/dev/null
boot devices 120 ember.test=check --cpus 2 --memory 300M --disk path=/tmp/d0.img --net tap=tapc0 \
	--disk path=/tmp/d1.img

# INTx: with pci=nomsi the disk's interrupts come through the host bridge's interrupt-map (SPIs).
dd if=/dev/zero of=d2.img bs=1M count=4 2>/dev/null
boot intx 120 "ember.test=check pci=nomsi" --memory 256M --disk path=/tmp/d2.img

# A disk: the host's 1 MiB at 1 MiB read by the guest, the guest's at 2 MiB checked here.
dd if=/dev/zero of=disk.img bs=1M count=8 2>/dev/null
yes host-data | head -c 1048576 | dd of=disk.img bs=65536 seek=16 conv=notrunc 2>/dev/null
boot disk 120 ember.test=disk --memory 256M --disk path=/tmp/disk.img
echo "R disk host-wrote=$(yes host-data | head -c 1048576 | sha256sum | cut -d' ' -f1)"
echo "R disk image-at-2M=$(dd if=disk.img bs=65536 skip=32 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "R disk expected-at-2M=$(yes guest-data | head -c 1048576 | sha256sum | cut -d' ' -f1)"

dd if=/dev/zero of=ext2.img bs=1M count=32 2>/dev/null
boot ext2 180 ember.test=ext2 --memory 256M --disk path=/tmp/ext2.img

# The network: Ember makes the tap; this side gives it 10.0.2.1 once it exists.
boot net 120 ember.test=net --memory 256M --net tap=tapn0 &
pid=$!
n=0
until ip link show tapn0 >/dev/null 2>&1 || [ $n -ge 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
ip addr add 10.0.2.1/24 dev tapn0 && ip link set tapn0 up && echo "R net tap=up"
wait $pid

boot reboot 120 ember.end=reboot --memory 256M
boot poweroff 120 "" --memory 256M

# Refused before the guest runs, status 1 and a message naming the cause.
head -c 100000 $K >trunc.img
run truncated 60 --kernel /tmp/trunc.img --memory 256M
run notimage 60 --kernel $I --memory 256M
run toosmall 60 --kernel $K --initrd $I --memory 16M
run restore 60 --restore /tmp

# --dump-dtb: the tree that kernel would get, written before any VM exists; base64 to this side.
run dumpdtb 60 --kernel $K --initrd $I --cpus 2 --memory 300M --cmdline "console=ttyAMA0 dumped" \
	--dump-dtb /tmp/guest.dtb
echo "R dumpdtb bytes=$(wc -c </tmp/guest.dtb)"
base64 /tmp/guest.dtb | sed 's/^/R dumpdtb b64 /'
SCRIPT

a64_log "booting the arm64 test host: Linux guests on $ember"
out=$(tests/arm64/testhost.sh -g -t 900 -w 300 -o "$overlay" "$overlay/scenario.sh" 2>&1)
host_status=$?
r() { # NAME KEY: the value of "R NAME KEY=value" (first)
	sed -n "s/^R $1 $2=//p" <<<"$out" | tr -d '\r' | head -1
}
has() { grep -q -a -- "^R $1 .*$2" <<<"$out"; }
num_between() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }

plan 20
[[ $host_status -eq 0 ]] || echo "$out" | tail -40
check "devices: the guest powered off, status 0 ($(r devices seconds) s)" [ "$(r devices status)" = 0 ]
check "devices: 2 vCPUs online (PSCI CPU_ON): $(r devices EMBER-NPROC)" [ "$(r devices EMBER-NPROC)" = 2 ]
mem=$(r devices EMBER-MEMTOTAL-KB)
check "devices: --memory 300M gives the kernel 250000-307200 kB: ${mem:-none}" num_between "${mem:-0}" 250000 307200
check "devices: two virtio-blk and one virtio-net function on the ECAM bus, drivers bound" \
	bash -c '[ "$(grep -c -a "^R devices EMBER-VIRTIO=.*driver=virtio_blk" <<<"$1")" = 2 ] &&
		grep -q -a "^R devices EMBER-VIRTIO=.*driver=virtio_net" <<<"$1"' _ "$out"
check "devices: virtio interrupts are MSIs through the ITS" has devices "EMBER-IRQ=.*ITS-MSI.*virtio"
check "devices: the PL011 is the console (its interrupt, GIC SPI 1 = INTID 33)" has devices "EMBER-IRQ=.*GICv3 33 .*uart-pl011"
check "INTx (pci=nomsi): the disk probes through a GIC SPI of the interrupt-map, no MSI: $(sed -n 's/^R intx EMBER-IRQ=.*\(GICv3 [0-9]* Level virtio[^ ]*\).*/\1/p' <<<"$out" | head -1)" \
	bash -c '[ "$1" = 0 ] && grep -q -a "^R intx EMBER-IRQ=.*GICv3 3[5-8] Level virtio" <<<"$2" &&
		! grep -q -a "^R intx EMBER-IRQ=.*ITS-MSI" <<<"$2" && grep -q -a "^R intx EMBER-BLOCK=vda" <<<"$2"' _ "$(r intx status)" "$out"
check "disk: status 0, the guest read the 1 MiB the host wrote" \
	bash -c '[ "$1" = 0 ] && [ -n "$2" ] && [ "$2" = "$3" ]' _ "$(r disk status)" "$(r disk EMBER-DISK-READ)" "$(r disk host-wrote)"
check "disk: the 1 MiB the guest wrote is in the image on the test host" \
	bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && [ "$1" = "$3" ]' _ "$(r disk image-at-2M)" "$(r disk expected-at-2M)" "$(r disk EMBER-DISK-WROTE)"
check "ext2: made, written, remounted and read back the same ($(r ext2 seconds) s)" \
	bash -c '[ "$1" = 0 ] && [ -n "$2" ] && [ "$2" = "$3" ] && [ -n "$4" ]' _ "$(r ext2 status)" \
	"$(r ext2 EMBER-EXT2-SHA256)" "$(r ext2 EMBER-EXT2-REREAD)" "$(grep -a '^R ext2 EMBER-EXT2-OK' <<<"$out")"
check "net: the guest pinged the test host through the tap: $(r net EMBER-PING-OK) replies" \
	bash -c '[ "$1" = 0 ] && [ -n "$2" ]' _ "$(r net status)" "$(r net EMBER-PING-OK)"
check "reboot: the kernel restarts the system (PSCI SYSTEM_RESET): Ember ends with status 0" \
	bash -c '[ "$1" = 0 ] && grep -q -a "^R reboot reboot: Restarting system" <<<"$2"' _ "$(r reboot status)" "$out"
check "power-off: PSCI SYSTEM_OFF ends Ember with status 0 ($(r poweroff seconds) s)" \
	bash -c '[ "$1" = 0 ] && grep -q -a "^R poweroff EMBER-GUEST-NO-TEST" <<<"$2"' _ "$(r poweroff status)" "$out"
check "a truncated Image (its PE sections past the end) is refused, status 1: $(sed -n 's/^R truncated ember: //p' <<<"$out" | head -1)" \
	[ "$(r truncated status)" = 1 ]
check "a file that is not an arm64 Image is refused, status 1: $(sed -n 's/^R notimage ember: //p' <<<"$out" | head -1)" \
	[ "$(r notimage status)" = 1 ]
check "RAM too small for the kernel is refused, status 1: $(sed -n 's/^R toosmall ember: //p' <<<"$out" | head -1)" \
	[ "$(r toosmall status)" = 1 ]
check "--restore says snapshots are not supported on arm64 yet, status 1" \
	bash -c '[ "$1" = 1 ] && grep -q -a "^R restore ember: .*not supported on arm64" <<<"$2"' _ "$(r restore status)" "$out"
dtb="$overlay/guest.dtb"
sed -n 's/^R dumpdtb b64 //p' <<<"$out" | tr -d '\r' | base64 -d >"$dtb" 2>/dev/null
dts=$(dtc -q -I dtb -O dts "$dtb" 2>&1)
check "--dump-dtb writes the tree (status $(r dumpdtb status), $(r dumpdtb bytes) bytes), dtc reads it: 2 CPUs, the command line" \
	bash -c '[ "$1" = 0 ] && grep -q "cpu@1 {" <<<"$2" && grep -q "bootargs = \"console=ttyAMA0 dumped\"" <<<"$2" &&
		grep -q "linux,initrd-end" <<<"$2"' _ "$(r dumpdtb status)" "$dts"
check "no seccomp denial in any run" bash -c '! grep -q -a "^R .* ember: seccomp" <<<"$1"' _ "$out"
check "the test host ran the whole scenario (status $host_status)" [ "$host_status" = 0 ]
summary
