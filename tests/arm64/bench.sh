#!/usr/bin/env bash
# The arm64 benchmark (make bench runs it): figures, never pass/fail, all
# taken in ONE boot of the arm64 test host (tests/arm64/testhost.sh: QEMU
# TCG emulating arm64 with EL2, KVM inside; guest code at TCG speed, ~55-180
# us an exit, so its figures are ratios, not absolute speeds).
#  1. start-up: launch -> the guest's first byte on the VMM's stdout
#     (tests/bench/firstout.c, cross-built), RUNS (20) rounds of one run
#     each, the order turned every round, for the floor
#     (tests/arm64/floor.c: a minimal KVM program, one memory slot, one
#     vCPU, no interrupt controller), Ember (--firmware, 128 MiB, 1 vCPU)
#     and QEMU -M virt (-bios, from flash), all running the same stub
#     (tests/arm64/stub.S: a byte to the PL011 at 0x0900_0000, then PSCI
#     SYSTEM_OFF); medians, ratios to the floor. Target: Ember at the floor.
#     Beside it, what a process's first thread costs in the test host
#     (tests/bench/threadcost.c): the floor has none, Ember a thread per vCPU.
#  2. Linux boot: launch -> VMM exit (tests/arm64/boottime.c) of the guest
#     kit (Debian's arm64 kernel and tests/arm64/mkguest.sh's initramfs,
#     "console=ttyAMA0 quiet", no ember.test=: its /init powers off), Ember
#     and QEMU -M virt -accel kvm -cpu host -kernel, 256 MiB, 1 and 2
#     vCPUs (CPUS), ROUNDS (5) rounds alternating which goes first;
#     medians, also of launch -> the guest's init marker; Ember/QEMU.
#     Target: Ember at most 0.8x QEMU's time.
# QEMU is Debian 12's qemu-system-arm:arm64 with its libraries and loader
# (tests/arm64/fetchqemu.sh, cached in build/kit-arm64/qemu/). Fails soft:
# what cannot be fetched, built or run is said on one line and left out;
# the exit status is 0 unless the command line is wrong.
# Usage: tests/arm64/bench.sh
# Env: RUNS (20), ROUNDS (5), CPUS ("1 2"), EMBER_GUEST_TIMEOUT (120 s a
# boot), EMBER_A64_SMP (test-host CPUs, 2). Logs: build/kit-arm64/logs/bench-<time>/.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

runs=${RUNS:-20}
rounds=${ROUNDS:-5}
cpus=${CPUS:-1 2}
tmo=${EMBER_GUEST_TIMEOUT:-120}
for v in "$runs" "$rounds" "$tmo" $cpus; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || a64_die "RUNS, ROUNDS, CPUS and EMBER_GUEST_TIMEOUT take positive numbers"
done
skip() {
	echo "arm64 benchmark skipped: $*"
	exit 0
}

cd "$REPO_ROOT"
mkdir -p "$A64_KIT/logs"
run_dir="$A64_KIT/logs/bench-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir"
# last_line FILE: a one-line reason from FILE's messages: apt's first
# error if it has one, else its last line
last_line() {
	{ grep -m 1 '^E: ' "$1" || tail -n 1 "$1"; } 2>/dev/null | sed 's/^[^:]*: //'
}

command -v "$A64_CC" >/dev/null || skip "no $A64_CC (tests/deps.sh installs it)"
command -v qemu-system-aarch64 >/dev/null || skip "no qemu-system-aarch64 here for the test host (tests/deps.sh: qemu-system-arm)"
"$A64_DIR/fetch.sh" >/dev/null 2>"$run_dir/fetch.log" ||
	skip "cannot fetch the arm64 kernel and busybox: $(last_line "$run_dir/fetch.log") ($run_dir/fetch.log)"
if [[ ! -x "$A64_BUILD/libcheck" || "$A64_DIR/libcheck.c" -nt "$A64_BUILD/libcheck" ]]; then
	"$A64_DIR/sysroot.sh" >/dev/null 2>"$run_dir/sysroot.log" ||
		skip "cannot make the arm64 sysroot: $(last_line "$run_dir/sysroot.log")"
fi
make -s ARCH=arm64 -j2 "$A64_BUILD/ember" >"$run_dir/make.log" 2>&1 ||
	skip "cannot build $A64_BUILD/ember: $(last_line "$run_dir/make.log") ($run_dir/make.log)"

# The static helpers and the stub, built again when their source changed.
bin="$A64_BUILD/bench"
mkdir -p "$bin"
cflags=(-std=gnu11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -static -pthread)
for src in "$A64_DIR/floor.c" "$A64_DIR/boottime.c" tests/bench/firstout.c tests/bench/threadcost.c; do
	out="$bin/$(basename "$src" .c)"
	[[ -x "$out" && "$out" -nt "$src" ]] && continue
	"$A64_CC" "${cflags[@]}" -o "$out" "$src" 2>"$run_dir/cc.log" || skip "cannot build $out: $(head -n 1 "$run_dir/cc.log")"
done
if [[ ! -s "$bin/stub.bin" || "$A64_DIR/stub.S" -nt "$bin/stub.bin" ]]; then
	{ "${A64_CC%gcc}as" -o "$bin/stub.o" "$A64_DIR/stub.S" &&
		"${A64_CC%gcc}objcopy" -O binary "$bin/stub.o" "$bin/stub.bin"; } 2>"$run_dir/cc.log" ||
		skip "cannot assemble the stub: $(head -n 1 "$run_dir/cc.log")"
fi

# QEMU: left out, with the reason, if it cannot be had.
qemu_root="" qemu_why=""
if qemu_root=$("$A64_DIR/fetchqemu.sh" 2>"$run_dir/fetchqemu.log"); then
	[[ -x "$qemu_root/usr/bin/qemu-system-aarch64" ]] || qemu_why="fetchqemu.sh made no qemu-system-aarch64"
else
	qemu_why="cannot fetch qemu-system-arm:arm64: $(last_line "$run_dir/fetchqemu.log") ($run_dir/fetchqemu.log)"
fi
[[ -z "$qemu_why" ]] || qemu_root=""

overlay="$A64_BUILD/bench-overlay-$$"
scen="$run_dir/scenario.sh"
trap 'rm -rf "$overlay"' EXIT
rm -rf "$overlay"
mkdir -p "$overlay/bin" "$overlay/usr/local/bin" "$overlay/bench"
[[ -z "$qemu_root" ]] || cp -a "$qemu_root/." "$overlay/"
cp "$A64_BUILD/ember" "$overlay/bin/ember"
cp "$bin/floor" "$bin/boottime" "$bin/firstout" "$bin/threadcost" "$overlay/usr/local/bin/"
cp "$bin/stub.bin" "$overlay/bench/"

cat >"$scen" <<'SCRIPT'
#!/bin/sh
# Generated by tests/arm64/bench.sh: runs in the arm64 test host.
cd /bench
K=/guest/Image I=/guest/guest.cpio.gz C='console=ttyAMA0 quiet'
[ -x /usr/bin/qemu-system-aarch64 ] && Q=/usr/bin/qemu-system-aarch64 || Q=
echo "A64-HOST $(uname -r), $(nproc) CPUs"
[ -z "$Q" ] || echo "A64-QEMU $($Q --version | head -n 1)"

# start NAME CMD...: one firstout run; "A64-START NAME US" or the reason.
start() {
	name=$1
	shift
	line=$(firstout 1 "$@" 2>&1 </dev/null | tail -n 1)
	case "$line" in
	first-output-us*)
		echo "A64-START $name $(echo "$line" |
			sed 's/^first-output-us min [0-9]* median \([0-9]*\) .*maxrss-kib median \([0-9]*\) .*/\1 \2/')"
		;;
	*) echo "A64-START-FAILED $name: $line" ;;
	esac
}
s_floor() { start floor floor stub.bin 128; }
s_ember() { start ember ember run --firmware stub.bin --memory 128M --cpus 1 --serial stdio; }
s_qemu() {
	[ -z "$Q" ] || start qemu "$Q" -M virt -accel kvm -cpu host -m 128M -smp 1 -nodefaults \
		-no-user-config -nic none -display none -serial stdio -no-reboot -bios stub.bin
}
# Transparent huge pages off for the start-up runs, as tests/bench/startup.sh
# has them on x86-64: a VMM that aligns guest RAM to 2 MiB (Ember, QEMU)
# would otherwise clear a whole huge page for each of the stub's first
# touches, which the floor's unaligned mapping does not. On again for the
# boots (the test host's default), where it is the same for both VMMs.
THP=/sys/kernel/mm/transparent_hugepage/enabled
thp=$(sed 's/.*\[\(.*\)\].*/\1/' $THP 2>/dev/null)
[ -z "$thp" ] || echo never >$THP
echo "A64-THP ${thp:-none}"
i=1
while [ "$i" -le "$RUNS" ]; do
	case $((i % 3)) in
	1) s_floor; s_ember; s_qemu ;;
	2) s_ember; s_qemu; s_floor ;;
	0) s_qemu; s_floor; s_ember ;;
	esac
	i=$((i + 1))
done
echo "A64-THREAD $(threadcost 20 2>&1)"
[ -z "$thp" ] || echo "$thp" >$THP

# boot NAME CPUS ROUND CMD...: one boot, "A64-BOOT NAME CPUS ROUND <boottime's line> guest=1|0";
# guest=1: its /init ran to its end (EMBER-GUEST-NO-TEST).
boot() {
	name=$1 n=$2 r=$3
	shift 3
	line=$(boottime -t "$TMO" /tmp/boot.log "$@")
	ok=0
	grep -q EMBER-GUEST-NO-TEST /tmp/boot.log && ok=1
	echo "A64-BOOT $name $n $r $line guest=$ok"
	[ "$ok" = 1 ] || tail -n 12 /tmp/boot.log | sed "s/^/A64-LOG $name-$n-$r: /"
}
b_ember() {
	boot ember "$1" "$2" ember run --kernel "$K" --initrd "$I" --cmdline "$C" --memory 256M \
		--cpus "$1" --serial stdio
}
b_qemu() {
	[ -z "$Q" ] || boot qemu "$1" "$2" "$Q" -M virt -accel kvm -cpu host -m 256M -smp "$1" \
		-nodefaults -no-user-config -nic none -display none -serial stdio -no-reboot \
		-kernel "$K" -initrd "$I" -append "$C"
}
for n in $CPUS; do
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		if [ $((r % 2)) = 1 ]; then
			b_ember "$n" "$r"
			b_qemu "$n" "$r"
		else
			b_qemu "$n" "$r"
			b_ember "$n" "$r"
		fi
		r=$((r + 1))
	done
done
echo A64-BENCH-DONE
SCRIPT
sed -i "2a RUNS=$runs ROUNDS=$rounds CPUS='$cpus' TMO=$tmo" "$scen"

ncpu=$(wc -w <<<"$cpus")
host_tmo=$((300 + runs * 5 + rounds * ncpu * 2 * (tmo + 5)))
a64_log "booting the arm64 test host: start-up $runs rounds, Linux boot $rounds rounds for $cpus vCPUs" \
	"(a few minutes under TCG; log: $run_dir)"
t0=$(a64_now_ms)
rc=0
"$A64_DIR/testhost.sh" -t "$host_tmo" -w 300 -g -o "$overlay" "$scen" >"$run_dir/out.log" 2>"$run_dir/testhost.log" || rc=$?
rm -rf "$overlay"
a64_log "test host ended with status $rc after $((($(a64_now_ms) - t0) / 1000)) s"
out="$run_dir/out.log"
grep -q '^A64-BENCH-DONE' "$out" ||
	echo "the test host did not finish the arm64 benchmark (status $rc; $run_dir/testhost.log): the figures below are partial"

# med: the median of the numbers on stdin (the mean of the middle two of an even count), or "-"
med() {
	sort -g | awk 'NF { v[++n] = $1 } END {
		if (!n) print "-"; else if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# field LINE KEY: KEY=value's value in LINE
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

host=$(sed -n 's/^A64-HOST //p' "$out")
qver=$(sed -n 's/^A64-QEMU //p' "$out")
echo "== arm64 (test host ${host:-?}; QEMU: ${qver:-not available})"
vmms=(ember)
[[ -z "$qemu_root" ]] || vmms+=(qemu)

# Linux boot: per vCPU count and VMM, the runs that count (status 0, the
# guest's /init ran to its end), their median launch -> exit and -> init.
# s MS: seconds to two places, or "-"
s() { awk -v m="$1" 'BEGIN { if (m == "-") print "-"; else printf "%.2f s", m / 1000 }'; }
echo "== arm64 Linux boot: launch -> VMM exit (the guest kit powers off; 256 MiB," \
	"'console=ttyAMA0 quiet'), median of $rounds rounds alternating which VMM goes first"
printf '%-24s %10s %12s   %s\n' "" ember "qemu -M virt" "ember/qemu (target <= 0.8)"
notes=()
for n in $cpus; do
	declare -A ex=() ini=() ok=()
	for v in "${vmms[@]}"; do
		lines=$(awk -v v="$v" -v n="$n" '$1 == "A64-BOOT" && $2 == v && $3 == n' "$out")
		good=$(grep ' status=0 guest=1$' <<<"$lines" || true)
		ok[$v]=$(grep -c . <<<"$good" || true)
		ex[$v]=$(while read -r l; do [[ -z "$l" ]] || field "$l" exit_ms; done <<<"$good" | med)
		ini[$v]=$(while read -r l; do [[ -z "$l" ]] || field "$l" marker_ms; done <<<"$good" |
			{ grep -v '^-$' || true; } | med)
		((ok[$v] == rounds)) || notes+=("$v, $n vCPU: ${ok[$v]} of $rounds runs counted;" \
			"first one not: $(grep -v ' status=0 guest=1$' <<<"$lines" | head -n 1)")
	done
	cpu="$n vCPU"
	((n == 1)) || cpu+=s
	printf '%-24s %10s %12s   %s\n' "$cpu, launch -> exit" "$(s "${ex[ember]}")" "$(s "${ex[qemu]:--}")" \
		"$(ratio "${ex[ember]}" "${ex[qemu]:--}")"
	printf '%-24s %10s %12s   %s\n' "$cpu, launch -> init" "$(s "${ini[ember]}")" "$(s "${ini[qemu]:--}")" \
		"$(ratio "${ini[ember]}" "${ini[qemu]:--}")"
done
[[ -n "$qemu_root" ]] || notes+=("qemu -M virt: no figure ($qemu_why)")
for note in "${notes[@]}"; do
	echo "$note"
done

# Start-up.
declare -A st rss lo hi cnt
for v in floor "${vmms[@]}"; do
	vals=$(awk -v v="$v" '$1 == "A64-START" && $2 == v { print $3 }' "$out")
	st[$v]=$(med <<<"$vals")
	[[ "${st[$v]}" == - ]] || st[$v]=$(printf '%.0f' "${st[$v]}")
	rss[$v]=$(awk -v v="$v" '$1 == "A64-START" && $2 == v { print $4 }' "$out" | med)
	[[ "${rss[$v]}" == - ]] || rss[$v]=$(printf '%.0f' "${rss[$v]}")
	lo[$v]=$(sort -g <<<"$vals" | head -n 1)
	hi[$v]=$(sort -g <<<"$vals" | tail -n 1)
	cnt[$v]=$(grep -c . <<<"$vals" || true)
done
thp=$(sed -n 's/^A64-THP //p' "$out")
echo "== arm64 start-up: launch -> the stub's first byte on the VMM's stdout (tests/arm64/stub.S)," \
	"median of $runs runs; transparent huge pages off for these runs (${thp:-?} otherwise)"
printf '%-30s %9s %9s %9s %6s %9s\n' "" "median us" "min" "max" "runs" "peak RSS"
row() {
	printf '%-30s %9s %9s %9s %6s %5s KiB\n' "$1" "${st[$2]}" "${lo[$2]:--}" "${hi[$2]:--}" "${cnt[$2]}" "${rss[$2]}"
}
row "floor (tests/arm64/floor.c)" floor
row "ember --firmware" ember
if [[ -n "$qemu_root" ]]; then
	row "qemu -M virt -bios" qemu
else
	echo "qemu -M virt -bios: no figure ($qemu_why)"
fi
echo "start-up / floor: ember $(ratio "${st[ember]}" "${st[floor]}") (target: at the floor, 1.00)," \
	"qemu $(ratio "${st[qemu]:--}" "${st[floor]}"); qemu / ember $(ratio "${st[qemu]:--}" "${st[ember]}")"
echo "a process's first thread in the test host (create, first run, condvar wake;" \
	"tests/bench/threadcost.c): $(sed -n 's/^A64-THREAD //p' "$out")"
grep '^A64-START-FAILED' "$out" | sed 's/^A64-START-FAILED /start-up run failed: /' | sort | uniq -c |
	sed 's/^ *//' || true
grep '^A64-LOG ' "$out" | head -n 24 | sed 's/^A64-LOG /log of a run not counted: /' || true
echo "arm64 logs: $run_dir"
