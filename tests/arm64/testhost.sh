#!/usr/bin/env bash
# Runs SCRIPT inside the arm64 test host: QEMU TCG emulating an arm64
# machine with EL2 (-M virt,virtualization=on, GICv3), booting the kit's
# Debian kernel, in which KVM comes up in VHE mode and /dev/kvm exists. The
# test host's root is an initramfs built here from busybox-static:arm64,
# tests/arm64/host/init, the tun module (and bridge, not loaded), the trees
# given with -o (a static arm64 ember, test scripts, ...) and, under
# /guest, the guest kit (-g) or any files (-G). SCRIPT (busybox sh) runs as /scenario.sh
# between marker lines; what it prints is printed here as it comes, and
# this script ends with SCRIPT's exit status.
#
# Usage: tests/arm64/testhost.sh [options] SCRIPT
#        tests/arm64/testhost.sh -i [options] [SCRIPT]
#   -o DIR   copy DIR's tree into the test host's root (repeatable)
#   -g       the guest kit under /guest: /guest/Image (the kit's kernel) and
#            /guest/guest.cpio.gz (tests/arm64/mkguest.sh, run when that is
#            missing or older than its sources)
#   -G FILE  copy FILE into /guest (repeatable)
#   -i       interactive: the console is this terminal (QEMU's escape key is
#            Ctrl-], so Ctrl-A reaches the test host: Ctrl-] x quits); a
#            shell follows SCRIPT
#   -t SECS  stop QEMU after SECS (default 600; none when interactive)
#   -w SECS  also stop it once its console has been silent for SECS
#   -s N     test-host CPUs (default $EMBER_A64_SMP or 2)
#   -m MIB   test-host RAM (default $EMBER_A64_MEM or 2048)
# Env: EMBER_A64_HOST_MODULES='name ...' loads more of the kit's modules
# (and what they need) at boot. The bridge module and what it needs are in
# /lib/modules (insmod those in /lib/modules/ondemand-order, in order).
# Logs: build/kit-arm64/logs/testhost-<time>/ (console.log, qemu.stderr,
# timing), linked as testhost-latest; the ten newest are kept.
# Exit status: SCRIPT's; 124 when -t or -w stopped the test host; 125 when
# it ended without SCRIPT's status (a panic, a failed /init).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t_begin=$(a64_now_ms)

usage() { sed -n '/^# Usage:/,/^# Exit status:/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
overlays=()
guest_files=()
guest_kit=0
interactive=0
tmo=""
stall=0
smp=${EMBER_A64_SMP:-2}
mem=${EMBER_A64_MEM:-2048}
while getopts "o:gG:it:w:s:m:" opt; do
	case "$opt" in
	o) [[ -d "$OPTARG" ]] || a64_die "-o $OPTARG: not a directory"; overlays+=("$OPTARG") ;;
	g) guest_kit=1 ;;
	G) [[ -f "$OPTARG" ]] || a64_die "-G $OPTARG: no such file"; guest_files+=("$OPTARG") ;;
	i) interactive=1 ;;
	t) tmo=$OPTARG ;;
	w) stall=$OPTARG ;;
	s) smp=$OPTARG ;;
	m) mem=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
script=${1:-}
[[ $# -le 1 ]] || usage
((interactive)) || [[ -n "$script" ]] || usage
[[ -z "$script" || -f "$script" ]] || a64_die "no script $script"
command -v qemu-system-aarch64 >/dev/null ||
	a64_die "qemu-system-aarch64 missing; run tests/deps.sh (apt-get install qemu-system-arm)"
a64_need_kit

# A fresh log directory per run; the ten newest are kept.
mkdir -p "$A64_KIT/logs"
run_dir="$A64_KIT/logs/testhost-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir"
find "$A64_KIT/logs" -maxdepth 1 -type d -name 'testhost-[0-9]*' | LC_ALL=C sort | head -n -10 |
	xargs -r rm -rf
ln -sfn "$(basename "$run_dir")" "$A64_KIT/logs/testhost-latest"
log="$run_dir/console.log"

# The test host's initramfs. One staging tree per run: another run may be
# building at the same time.
root="$A64_KIT/stage/host-$$"
cpio="$run_dir/host.cpio"
qpid="" wpid=""
# Whatever ends this script ends QEMU and the watchdog too (a background
# job ignores the terminal's SIGINT); they are waited for, and their ids
# cleared, once they ended by themselves.
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	[[ -z "$wpid" ]] || kill "$wpid" 2>/dev/null || true
	[[ -z "$qpid" ]] || kill "$qpid" 2>/dev/null || true
	rm -rf "$root" "$cpio"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
a64_stage_busybox "$root"
install -m 0755 "$A64_DIR/host/init" "$root/init"
[[ -z "$script" ]] || install -m 0755 "$script" "$root/scenario.sh"
cat >"$root/etc/profile" <<'PROFILE'
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=${TERM:-vt100}
PS1='testhost:\w\$ '
PROFILE
# tun is loaded at boot; bridge (for two NICs joined on the test host)
# waits in /lib/modules/ondemand-order: loading it costs ~0.2 s under TCG.
# shellcheck disable=SC2086 # a list of module names
a64_add_modules "$root" load-order tun ${EMBER_A64_HOST_MODULES:-}
a64_add_modules "$root" ondemand-order bridge
if ((guest_kit)); then
	# Made again when a file it is made of changed.
	if [[ ! -f "$A64_KIT/guest.cpio.gz" ]] ||
		[[ -n "$(find "$A64_DIR/guest" "$A64_DIR/mkguest.sh" -newer "$A64_KIT/guest.cpio.gz" -print -quit)" ]]; then
		"$A64_DIR/mkguest.sh" >/dev/null
	fi
	guest_files+=("$A64_KIT/Image" "$A64_KIT/guest.cpio.gz")
fi
if ((${#guest_files[@]})); then
	mkdir -p "$root/guest"
	cp -L "${guest_files[@]}" "$root/guest/"
fi
for dir in "${overlays[@]}"; do
	cp -a "$dir/." "$root/"
done
a64_pack "$root" "$cpio"
rm -rf "$root"

# -cpu max,pauth=off: emulated pointer authentication makes everything ~4x
# slower. -nic none: no network to the outside. -no-reboot: a panic
# (panic=-1) ends QEMU. softlockup_panic=1: a test host wedged in its kernel
# panics after ~20 s instead of waiting for the timeout.
# shellcheck disable=SC2054 # commas inside QEMU's option values
qemu=(qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max,pauth=off
	-smp "$smp" -m "$mem" -accel tcg -nic none -no-reboot
	-kernel "$A64_KIT/Image" -initrd "$cpio")
append="console=ttyAMA0 panic=-1 softlockup_panic=1 quiet"

if ((interactive)); then
	rc=0
	cmd=("${qemu[@]}" -nographic -serial mon:stdio -echr 0x1d -append "$append testhost.shell=1")
	if [[ -n "$tmo" ]]; then
		timeout --foreground -k 10 "$tmo" "${cmd[@]}" || rc=$?
	else
		"${cmd[@]}" || rc=$?
	fi
	exit "$rc"
fi

tmo=${tmo:-600}
: >"$log"
t0=$(a64_now_ms)
timeout -k 10 "$tmo" "${qemu[@]}" -display none -serial "file:$log" -monitor none -append "$append" \
	</dev/null 2>"$run_dir/qemu.stderr" &
qpid=$!
if ((stall > 0)); then
	# Stops QEMU (timeout(1) passes the SIGTERM on) once the console has
	# not grown for $stall seconds, and leaves a note for the status.
	(
		size=-1 quiet=0
		while kill -0 "$qpid" 2>/dev/null; do
			sleep 1
			now=$(stat -c %s "$log" 2>/dev/null || echo 0)
			if [[ "$now" != "$size" ]]; then
				size=$now quiet=0
			elif (((quiet += 1) >= stall)); then
				a64_log "test host console silent for ${stall}s: stopping it"
				touch "$run_dir/stalled"
				kill "$qpid" 2>/dev/null || true
				break
			fi
		done
	) &
	wpid=$!
fi

# The script's lines as they come, and when its first ones came.
state=before start_ms=- first_ms=- end_ms=-
while IFS= read -r line || [[ -n "$line" ]]; do
	line=${line%$'\r'}
	case "$state:$line" in
	before:EMBER-A64-SCRIPT-BEGIN)
		state=in start_ms=$(($(a64_now_ms) - t0))
		;;
	in:EMBER-A64-SCRIPT-EXIT=*)
		state=after end_ms=$(($(a64_now_ms) - t0))
		;;
	in:*)
		[[ "$first_ms" != - ]] || first_ms=$(($(a64_now_ms) - t0))
		printf '%s\n' "$line"
		;;
	esac
done < <(tail -n +1 -F -s 0.1 --pid="$qpid" "$log" 2>/dev/null)
rc=0
wait "$qpid" || rc=$?
qpid=""
total_ms=$(($(a64_now_ms) - t0))
if [[ -n "$wpid" ]]; then
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" || true
	wpid=""
fi
# From QEMU's launch, except prepare_ms: the initramfs, before it.
printf 'prepare_ms=%s\nscript_start_ms=%s\nfirst_line_ms=%s\nscript_end_ms=%s\ntotal_ms=%s\n' \
	"$((t0 - t_begin))" "$start_ms" "$first_ms" "$end_ms" "$total_ms" >"$run_dir/timing"

if [[ -s "$run_dir/qemu.stderr" ]]; then
	sed 's/^/qemu: /' "$run_dir/qemu.stderr" >&2
else
	rm -f "$run_dir/qemu.stderr"
fi
status=$(tr -d '\r' <"$log" | sed -n 's/^EMBER-A64-SCRIPT-EXIT=\([0-9]*\)$/\1/p' | tail -1)
a64_log "test host: initramfs in $((t0 - t_begin)) ms; from QEMU's launch: script started after" \
	"$start_ms ms, first line after $first_ms ms, QEMU ended after $total_ms ms (log: $log)"
if [[ -n "$status" ]]; then
	exit "$status"
fi
if [[ -e "$run_dir/stalled" ]] || ((rc == 124)); then
	a64_log "error: the test host was stopped (timeout ${tmo}s, silence limit ${stall}s) before the script ended"
	rc=124
else
	a64_log "error: the test host ended (QEMU status $rc) without the script's status"
	rc=125
fi
tail -n 30 "$log" | tr -d '\r' | sed 's/^/testhost: /' >&2
exit "$rc"
