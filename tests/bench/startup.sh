#!/usr/bin/env bash
# Start-up and memory, micro-guest first.bin (its first instruction writes
# a byte to COM1, then it exits): the floor (build/floor, tests/bench/floor.c:
# a minimal KVM program, one memory slot, one vCPU, COM1 and the exit port),
# Ember and QEMU -M microvm with the same image as -bios, RUNS (20) runs each
# through build/firstout: exec -> the first byte on the VMM's stdout, and
# peak RSS (wait4's ru_maxrss). Memory is peak RSS minus the guest RAM the
# guest touched (Ember's -v count, the same guest in all three), with
# transparent huge pages off (never) for these runs where this script may
# switch them (root), restored afterwards: with THP on, the guest's first
# touch of a 2 MiB range can cost 2 MiB of RSS, which is the guest's, not
# the VMM's. Needs a usable /dev/kvm here; make bench runs it in the nested
# test host where there is none. Figures, never pass/fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
bench_tools

EMBER=${EMBER:-build/ember}
QEMU=${QEMU:-qemu-system-x86_64}
RUNS=${RUNS:-20}
FIRST=build/guests/first.bin
THP=/sys/kernel/mm/transparent_hugepage/enabled
command -v "$QEMU" >/dev/null || QEMU=

thp_old=
if [ -w "$THP" ]; then
	thp_old=$(sed 's/.*\[\(.*\)\].*/\1/' "$THP")
	trap 'echo "$thp_old" >"$THP"' EXIT
	echo never >"$THP"
	thp="transparent huge pages off (never) for these runs, $thp_old again after"
elif [ -r "$THP" ]; then
	thp="transparent huge pages left at $(sed 's/.*\[\(.*\)\].*/\1/' "$THP") (not root):" \
		"a huge page the guest touched may count as VMM memory"
else
	thp="no transparent huge pages on this kernel"
fi

# fig LINE WHAT: from a firstout summary line, the median first-output us (t) or peak RSS KiB (rss)
fig() {
	case $2 in
	t) sed -E 's/.*median ([0-9]+) max.*/\1/' <<<"$1" ;;
	rss) sed -E 's/.*maxrss-kib median ([0-9]+).*/\1/' <<<"$1" ;;
	esac
}
mins() { sed -E 's/.*min ([0-9]+) median.*max ([0-9]+) .*/min \1, max \2/' <<<"$1"; }

progress "startup.sh"
floor_line=$(build/firstout "$RUNS" build/floor "$FIRST")
ember_line=$(build/firstout "$RUNS" "$EMBER" run --firmware "$FIRST")
qemu_line=
if [ -n "$QEMU" ]; then
	qemu_line=$(build/firstout "$RUNS" "$QEMU" -M microvm -accel kvm -m 256M -bios "$FIRST" \
		-nodefaults -serial stdio -display none -no-reboot -device isa-debug-exit,iobase=0x501 \
		2>/dev/null) || qemu_line=
fi
touched=$("$EMBER" run --firmware "$FIRST" -v 2>&1 >/dev/null |
	sed -n 's/.*guest RAM touched: \([0-9]*\) KiB/\1/p')

ft=$(fig "$floor_line" t) et=$(fig "$ember_line" t)
fr=$(fig "$floor_line" rss) er=$(fig "$ember_line" rss)
qt='' qr=''
[ -z "$qemu_line" ] || { qt=$(fig "$qemu_line" t); qr=$(fig "$qemu_line" rss); }
echo "== start-up: exec -> the guest's first byte on the VMM's stdout (first.bin), median of $RUNS runs"
printf '%-36s %8s us  (%s)\n' "floor (minimal KVM program)" "$ft" "$(mins "$floor_line")"
printf '%-36s %8s us  (%s)\n' "ember" "$et" "$(mins "$ember_line")"
if [ -n "$qemu_line" ]; then
	printf '%-36s %8s us  (%s)\n' "qemu microvm" "$qt" "$(mins "$qemu_line")"
else
	echo "qemu microvm: ${QEMU:-qemu-system-x86_64 not installed}${QEMU:+ failed}: no figure"
fi
echo "start-up / floor: ember $(ratio "$et" "$ft")x, qemu $(ratio "$qt" "$ft")x; qemu / ember $(ratio "$qt" "$et")x"
# What the floor leaves out and Ember cannot: a thread per vCPU (tests/bench/threadcost.c).
[ ! -x build/threadcost ] || echo "a process's first thread here (create, first run, condvar wake): $(build/threadcost 20)"
echo "== memory: peak RSS minus the ${touched:-?} KiB of guest RAM the guest touched (Ember -v); $thp"
mem() { [ -n "$1" ] && [ -n "$touched" ] && echo $(($1 - touched)) || echo; }
fm=$(mem "$fr") em=$(mem "$er") qm=$(mem "$qr")
printf '%-36s %8s KiB  (peak RSS %s KiB)\n' "floor (minimal KVM program)" "${fm:--}" "${fr:--}"
printf '%-36s %8s KiB  (peak RSS %s KiB)\n' "ember" "${em:--}" "${er:--}"
printf '%-36s %8s KiB  (peak RSS %s KiB)\n' "qemu microvm" "${qm:--}" "${qr:--}"
echo "memory / floor: ember $(ratio "$em" "$fm")x, qemu $(ratio "$qm" "$fm")x; qemu / ember $(ratio "$qm" "$em")x"
