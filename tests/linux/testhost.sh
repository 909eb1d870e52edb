#!/usr/bin/env bash
# Boots the nested test host (QEMU TCG, emulated AMD CPU with SVM) from the
# kit's kernel and a host initramfs made by mkhost.sh. Its /init loads
# kvm-amd, runs the scenario and powers off, which ends QEMU.
#
# Usage: tests/linux/testhost.sh [-i] [-t SECONDS] [-w SECONDS] [-l LOG] [-c CPIO] [-s SMP] [-m MIB]
#   -i  interactive: the test host's serial console is this terminal
#       (-serial mon:stdio; QEMU's escape key is Ctrl-] so Ctrl-A reaches
#       the guest: Ctrl-] x quits QEMU, Ctrl-] c toggles its monitor)
#   -t  kill QEMU after SECONDS (default 900; none when interactive)
#   -w  also kill QEMU once its serial log has not grown for SECONDS
#       (a wedged test host; default: no such limit)
#   -l  serial log (default build/kit/logs/testhost-<time>.log)
#   -c  host initramfs (default build/kit/host.cpio.gz)
#   -s  test-host CPUs (default $EMBER_TESTHOST_SMP or 2)
#   -m  test-host RAM in MiB (default $EMBER_TESTHOST_MEM or 3584)
# Without -i it prints the log path on stdout and exits with QEMU's status
# (124 when the timeout or the -w limit hit).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

interactive=0
tmo=""
stall=0
log=""
cpio="$KIT/host.cpio.gz"
# Two CPUs: multi-threaded TCG then runs a 2-vCPU guest's vCPUs truly in
# parallel, which tests SMP more like real hardware, and that guest boots
# ~10% faster; 1-vCPU guests and the test host's own boot take the same time.
smp=${EMBER_TESTHOST_SMP:-2}
# ember refuses --memory beyond the RAM its host has, and the highmem boot
# test gives its guest 3200 MiB; 3584 leaves the test host ~3.4 GiB MemTotal.
# QEMU and ember both map RAM lazily: only what guests touch costs memory
# here (the 3200 MiB guest touches ~250 MiB; QEMU peaked at ~1.1 GB
# resident over a whole boot-tests.sh run).
mem=${EMBER_TESTHOST_MEM:-3584}
while getopts "it:w:l:c:s:m:" opt; do
	case "$opt" in
	i) interactive=1 ;;
	t) tmo=$OPTARG ;;
	w) stall=$OPTARG ;;
	l) log=$OPTARG ;;
	c) cpio=$OPTARG ;;
	s) smp=$OPTARG ;;
	m) mem=$OPTARG ;;
	*) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || kit_die "unexpected argument: $1"
kit_need_fetch
[[ -f "$cpio" ]] || kit_die "no $cpio; run tests/linux/mkhost.sh SCENARIO"
command -v qemu-system-x86_64 >/dev/null ||
	kit_die "qemu-system-x86_64 missing; run tests/deps.sh (apt-get install qemu-system-x86)"

# -nic none: the test host never gets a network to the outside.
# -no-reboot: a test-host panic (panic=-1) ends QEMU instead of looping.
# softlockup_panic=1: a test host wedged in its kernel (seen once under TCG,
# both CPUs in soft lockup for 10+ minutes) panics after ~20 s, which ends
# the run instead of waiting for the -t timeout; softlockup_all_cpu_backtrace=1
# shows what the other CPU was doing then.
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp"
	-display none -nic none -no-reboot
	-kernel "$KIT/vmlinuz" -initrd "$cpio"
	-append "console=ttyS0 panic=-1 softlockup_panic=1 softlockup_all_cpu_backtrace=1 quiet")

if ((interactive)); then
	rc=0
	if [[ -n "$tmo" ]]; then
		timeout --foreground -k 10 "$tmo" "${qemu[@]}" -serial mon:stdio -echr 0x1d || rc=$?
	else
		"${qemu[@]}" -serial mon:stdio -echr 0x1d || rc=$?
	fi
	exit "$rc"
fi

tmo=${tmo:-900}
if [[ -z "$log" ]]; then
	mkdir -p "$KIT/logs"
	log="$KIT/logs/testhost-$(date +%Y%m%d-%H%M%S)-$$.log"
fi
mkdir -p "$(dirname "$log")"
: >"$log"
rc=0
timeout -k 10 "$tmo" "${qemu[@]}" -serial "file:$log" -monitor none \
	</dev/null 2>"$log.qemu-stderr" &
qpid=$!
if ((stall > 0)); then
	# timeout(1) passes our SIGTERM on to QEMU.
	size=-1
	quiet=0
	stalled=0
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		now=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [[ "$now" != "$size" ]]; then
			size=$now quiet=0
		elif (((quiet += 5) >= stall)); then
			kit_log "test host console silent for ${stall}s: stopping it"
			kill "$qpid" 2>/dev/null || true
			stalled=1
			break
		fi
	done
fi
wait "$qpid" || rc=$?
# QEMU ends with status 0 on SIGTERM.
((!${stalled:-0})) || rc=124
if [[ -s "$log.qemu-stderr" ]]; then
	sed 's/^/qemu: /' "$log.qemu-stderr" >&2
else
	rm -f "$log.qemu-stderr"
fi
((rc != 124 || ${stalled:-0})) || kit_log "test host timed out after ${tmo}s"
printf '%s\n' "$log"
exit "$rc"
