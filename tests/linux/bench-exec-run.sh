#!/usr/bin/env bash
# The `ember exec` benchmark's runs (tests/linux/bench-exec.sh runs this
# here or in the nested test host): wall time of `exec -- true`, and of
# reading a BIG_MIB host file through the root share, for Ember and for
# QEMU set up the way virtme-ng sets it up: -M microvm with PCIe,
# virtiofsd + vhost-user-fs-pci for the root, virtio-serial ports for the
# streams and the status, pvpanic-pci, the same kernel, command line and
# initramfs (ember exec --dump-initramfs: the same init and modules).
# QEMU's time includes starting its virtiofsd, as Ember's does.
# Prints "RESULT vmm what seconds status N [guest-seconds]" lines (the read
# is also timed inside the guest, from /proc/uptime around the cat);
# figures only, never pass/fail.
# Env: EMBER, KERNEL, QEMU, VIRTIOFSD, MODULES (--modules, optional), RUNS,
# BIG_MIB, OUT (a directory outside /tmp).
set -uo pipefail
EMBER=${EMBER:-build/ember}
KERNEL=${KERNEL:-/guest/vmlinuz}
QEMU=${QEMU:-qemu-system-x86_64}
VIRTIOFSD=${VIRTIOFSD:-virtiofsd}
RUNS=${RUNS:-5}
BIG_MIB=${BIG_MIB:-256}
OUT=${OUT:-$PWD/build/bench-exec}
CMDLINE="quiet panic=-1 rdinit=/init"
rm -rf "$OUT"
mkdir -p "$OUT"
head -c $((BIG_MIB << 20)) /dev/urandom >"$OUT/big"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The same initramfs for QEMU: init, modules and the command's description.
"$EMBER" exec --kernel "$KERNEL" ${MODULES:+--modules "$MODULES"} \
	--dump-initramfs "$OUT/true.cpio" -- true || exit 1
READ_CMD='read a _ </proc/uptime; cat "$1" >/dev/null; read b _ </proc/uptime; echo "GUEST-READ $a $b"'
"$EMBER" exec --kernel "$KERNEL" ${MODULES:+--modules "$MODULES"} \
	--dump-initramfs "$OUT/read.cpio" -- sh -c "$READ_CMD" sh "$OUT/big" || exit 1
# guest_secs FILE: the seconds the guest's GUEST-READ line in FILE says.
guest_secs() { awk '$1 == "GUEST-READ" { printf "%.3f", $3 - $2 }' "$1" 2>/dev/null; }

# ember_run WHAT COMMAND...: one timed ember exec, stdout discarded.
ember_run() {
	local what=$1 t0 st
	shift
	t0=$(now)
	timeout 600 "$EMBER" exec --kernel "$KERNEL" ${MODULES:+--modules "$MODULES"} -- "$@" \
		>"$OUT/ember.out" 2>"$OUT/ember.err" </dev/null
	st=$?
	echo "RESULT ember $what $(secs "$t0" "$(now)") status $st $(guest_secs "$OUT/ember.out")"
}

# qemu_run WHAT CPIO: one timed QEMU run of that initramfs with its virtiofsd.
qemu_run() {
	local what=$1 cpio=$2 t0 st sock=$OUT/fs.sock fsd
	t0=$(now)
	rm -f "$sock" "$OUT/status" "$OUT/qemu.stdout"
	"$VIRTIOFSD" --socket-path="$sock" -o source=/ -o sandbox=chroot -o cache=auto \
		-o log_level=err >/dev/null 2>&1 &
	fsd=$!
	while [ ! -S "$sock" ]; do sleep 0.001; done
	timeout 600 "$QEMU" -M microvm,pcie=on,rtc=on,memory-backend=mem -accel kvm -cpu host \
		-m 256M -smp 1 -nodefaults -no-user-config -display none -no-reboot -nic none \
		-object memory-backend-memfd,id=mem,size=256M,share=on \
		-chardev socket,id=fs0,path="$sock" -device vhost-user-fs-pci,chardev=fs0,tag=root \
		-device virtio-serial-pci,max_ports=5 \
		-chardev null,id=cin -device virtserialport,chardev=cin,name=ember.stdin \
		-chardev file,id=cout,path="$OUT/qemu.stdout" -device virtserialport,chardev=cout,name=ember.stdout \
		-chardev file,id=cerr,path="$OUT/qemu.err" -device virtserialport,chardev=cerr,name=ember.stderr \
		-chardev file,id=cst,path="$OUT/status" -device virtserialport,chardev=cst,name=ember.status \
		-device pvpanic-pci \
		-kernel "$KERNEL" -initrd "$cpio" -append "$CMDLINE" </dev/null >"$OUT/qemu.out" 2>&1
	wait "$fsd"
	st=$(tr -d '\n' <"$OUT/status" 2>/dev/null)
	echo "RESULT qemu $what $(secs "$t0" "$(now)") status ${st:-none} $(guest_secs "$OUT/qemu.stdout")"
}

# One untimed run of each first (page cache, module loading).
ember_run warmup true >/dev/null
qemu_run warmup "$OUT/true.cpio" >/dev/null
# Alternating which goes first, so that neither always follows the other.
for i in $(seq 1 "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then
		ember_run true true
		qemu_run true "$OUT/true.cpio"
	else
		qemu_run true "$OUT/true.cpio"
		ember_run true true
	fi
done
for i in $(seq 1 "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then
		ember_run read sh -c "$READ_CMD" sh "$OUT/big"
		qemu_run read "$OUT/read.cpio"
	else
		qemu_run read "$OUT/read.cpio"
		ember_run read sh -c "$READ_CMD" sh "$OUT/big"
	fi
done
echo "ember stderr (last run): $(head -c 300 "$OUT/ember.err")"
echo "qemu output (last run): $(head -c 300 "$OUT/qemu.out")"
rm -rf "$OUT"
