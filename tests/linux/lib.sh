# shellcheck shell=bash
# Shared paths and helpers for the Linux-guest test kit. Sourced, not run.

KIT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$KIT_LIB_DIR/../.." && pwd)
KIT="$REPO_ROOT/build/kit"
# EMBER_BIN picks another ember build (e.g. a sanitizer build).
EMBER=${EMBER_BIN:-$REPO_ROOT/build/ember}
# Micro-guests (make guests); mkhost.sh copies them to the test host's /guests.
MICRO_DIR="$REPO_ROOT/build/guests"
SPIN_BIN="$MICRO_DIR/spin.bin"
export KIT_LIB_DIR REPO_ROOT KIT EMBER MICRO_DIR SPIN_BIN
# ember exec: the virtiofsd that tests and benchmarks use (Debian 12's), and
# the kit kernel's modules exec resolves (vmm/exec.c), dependencies included,
# for a nested test host's /lib/modules/VERSION.
EXEC_VIRTIOFSD=${EMBER_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
EXEC_GUEST_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console fuse virtiofs pvpanic pvpanic-pci"

kit_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
kit_die() { kit_log "error: $*"; exit 1; }

# Fails with a hint unless fetch.sh has produced the stable kit paths.
kit_need_fetch() {
	[[ -s "$KIT/kver" && -e "$KIT/vmlinuz" && -x "$KIT/busybox" && -d "$KIT/modules" ]] ||
		kit_die "kernel/busybox kit missing; run tests/linux/fetch.sh first"
}

# Milliseconds since the epoch (GNU date).
kit_now_ms() { date +%s%3N; }

# Decides where Linux guests run. Prints "direct" when /dev/kvm is
# hardware-backed (the spin micro-guest finishes fast), "nested" otherwise.
# Under PVM-style /dev/kvm every CPL0 instruction is emulated, so the fixed
# ~200k-instruction loop takes 110-140 ms (measured on the 2-core PVM
# machine; ~0.4 s earlier), on VT-x/AMD-V a few ms, most of it ember's
# start-up.
# EMBER_KVM_MODE=direct|nested overrides the measurement.
# EMBER_SPIN_THRESHOLD_MS sets the limit (default 30).
kit_kvm_mode() {
	local limit=${EMBER_SPIN_THRESHOLD_MS:-30} t0 t1 rc=0
	case "${EMBER_KVM_MODE:-}" in
	direct | nested) echo "$EMBER_KVM_MODE"; return 0 ;;
	"") ;;
	*) kit_die "EMBER_KVM_MODE must be direct or nested, not '$EMBER_KVM_MODE'" ;;
	esac
	if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		kit_log "no usable /dev/kvm here: using the nested test host"
		echo nested; return 0
	fi
	[[ -x "$EMBER" ]] || kit_die "$EMBER missing; run make"
	if [[ ! -f "$SPIN_BIN" ]]; then
		# A weaker guess: PVM-backed KVM shows no vmx/svm CPU flag.
		kit_log "warning: $SPIN_BIN missing (make guests); guessing from CPU flags"
		if [[ ! -e /sys/module/kvm_pvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
			echo direct
		else
			echo nested
		fi
		return 0
	fi
	# One untimed run first so page-cache and module loading do not count.
	timeout 60 "$EMBER" run --firmware "$SPIN_BIN" --serial none >/dev/null 2>&1 || rc=$?
	[[ $rc -eq 0 ]] || kit_die "spin micro-guest failed (ember exit $rc)"
	t0=$(kit_now_ms)
	timeout 60 "$EMBER" run --firmware "$SPIN_BIN" --serial none >/dev/null 2>&1 || rc=$?
	t1=$(kit_now_ms)
	[[ $rc -eq 0 ]] || kit_die "spin micro-guest failed (ember exit $rc)"
	if ((t1 - t0 < limit)); then
		kit_log "spin micro-guest took $((t1 - t0)) ms (< $limit): /dev/kvm is hardware-backed"
		echo direct
	else
		kit_log "spin micro-guest took $((t1 - t0)) ms (>= $limit): using the nested test host"
		echo nested
	fi
}

# kit_copy_bin ROOT BIN DEST: copies this machine's program BIN to ROOT/DEST
# (an absolute path in the test host) with the shared libraries that ldd
# lists, at their own paths, so that it runs in the test host.
kit_copy_bin() {
	local root=$1 bin=$2 dest=$3 lib
	[[ -x "$bin" ]] || kit_die "$bin missing (tests/deps.sh installs it)"
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$bin" "$root$dest"
	while read -r lib; do
		[[ -e "$root$lib" ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# kit_qemu_overlay ROOT: this machine's QEMU as ROOT/usr/bin/qemu-system-x86_64
# with its libraries and the firmware it finds relative to its path.
# Loadable modules (/usr/lib/x86_64-linux-gnu/qemu) are left out: with
# -accel kvm and -display none none is needed.
kit_qemu_overlay() {
	local root=$1 qemu
	qemu=$(command -v qemu-system-x86_64) || kit_die "qemu-system-x86_64 missing; run tests/deps.sh"
	kit_copy_bin "$root" "$qemu" /usr/bin/qemu-system-x86_64
	mkdir -p "$root/usr/share"
	cp -a /usr/share/qemu /usr/share/seabios "$root/usr/share/"
}

# kit_run_dir NAME: sets run_dir to a new build/kit/logs/NAME-<time>/,
# linked as NAME-latest; the ten newest are kept.
kit_run_dir() {
	run_dir="$KIT/logs/$1-$(date +%Y%m%d-%H%M%S)-$$"
	mkdir -p "$run_dir"
	find "$KIT/logs" -maxdepth 1 -type d -name "$1-[0-9]*" | LC_ALL=C sort | head -n -10 |
		xargs -r rm -rf
	ln -sfn "$(basename "$run_dir")" "$KIT/logs/$1-latest"
}

# kit_bench_start NAME: what both Linux benchmarks do first. Checks for
# ember and QEMU, fetches the kernel and builds the guest initramfs, sets
# QEMU_BIN, mode (kit_kvm_mode) and run_dir (kit_run_dir NAME).
kit_bench_start() {
	[[ -x "$EMBER" ]] || kit_die "$EMBER missing; run make"
	QEMU_BIN=$(command -v qemu-system-x86_64) ||
		kit_die "qemu-system-x86_64 missing; run tests/deps.sh"
	"$KIT_LIB_DIR/fetch.sh"
	"$KIT_LIB_DIR/mkguest.sh"
	mode=$(kit_kvm_mode)
	kit_run_dir "$1"
}

# kit_bench_overlay DIR: DIR, emptied, gets what the benchmark's test host
# adds to its root: $EMBER_HOST_OVERLAY's files and this machine's QEMU.
kit_bench_overlay() {
	rm -rf "$1"
	mkdir -p "$1"
	if [[ -n "${EMBER_HOST_OVERLAY:-}" ]]; then
		cp -a "$EMBER_HOST_OVERLAY/." "$1/"
	fi
	kit_qemu_overlay "$1"
}

# kit_bench_host SCRIPT LOG TIMEOUT OVERLAY WHAT: one boot of the nested test
# host for a benchmark: SCRIPT as its scenario, OVERLAY's tree added
# (kit_bench_overlay), its console in LOG. It is stopped after TIMEOUT s, or
# once its console has been silent for 5 minutes (a wedged test host,
# README.txt). WHAT says what it runs, for the log line. Sets rc to
# testhost.sh's status.
kit_bench_host() {
	local t0 ms
	EMBER_HOST_OVERLAY="$4" "$KIT_LIB_DIR/mkhost.sh" "$1" "$run_dir/host.cpio.gz"
	kit_log "booting the nested test host: $5 (a few minutes under TCG)"
	rc=0
	t0=$(kit_now_ms)
	"$KIT_LIB_DIR/testhost.sh" -t "$3" -w 300 -c "$run_dir/host.cpio.gz" -l "$2" >/dev/null || rc=$?
	ms=$(($(kit_now_ms) - t0))
	kit_log "test host exited with status $rc after $((ms / 1000)) s"
	rm -f "$run_dir/host.cpio.gz"
}

# Decides where micro-guests run: "direct" when this machine has a /dev/kvm
# that this user may open and on which ember runs first.bin (hardware- or
# PVM-backed: micro-guests run fine on either), "nested" (the nested test
# host) otherwise. EMBER_KVM_MODE=direct|nested overrides it, as for
# kit_kvm_mode.
kit_micro_mode() {
	case "${EMBER_KVM_MODE:-}" in
	direct | nested) echo "$EMBER_KVM_MODE"; return 0 ;;
	"") ;;
	*) kit_die "EMBER_KVM_MODE must be direct or nested, not '$EMBER_KVM_MODE'" ;;
	esac
	if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		kit_log "no usable /dev/kvm here: micro-guests run in the nested test host"
		echo nested
	elif timeout 60 "$EMBER" run --firmware "$MICRO_DIR/first.bin" --serial none >/dev/null 2>&1; then
		echo direct
	else
		kit_log "ember cannot run first.bin on this /dev/kvm: micro-guests run in the nested test host"
		echo nested
	fi
}
