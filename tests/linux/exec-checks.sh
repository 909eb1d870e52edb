#!/usr/bin/env bash
# The checks of the `ember exec` tier (run by exec-tests.sh, on this machine
# or in the nested test host). Each runs `ember exec` on the Debian kernel
# and looks at what came out of it and what it left on the host.
# Env: EMBER, KERNEL (default /guest/vmlinuz, the test host's), MODULES
# (--modules DIR; default: /lib/modules/VERSION), OUT (files the guest
# reads and writes: a directory outside /tmp, which the guest gets fresh).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
trap '' PIPE

EMBER=${EMBER:-build/ember}
KERNEL=${KERNEL:-/guest/vmlinuz}
OUT=${OUT:-$PWD/build/exec-out}
LIMIT=${EMBER_EXEC_LIMIT:-240} # seconds for one ember exec, boot included
rm -rf "$OUT"
mkdir -p "$OUT/share"
plan 18

# ex NAME [ember exec options] -- COMMAND...: stdout to $OUT/NAME.out,
# stderr to .err, status in $st, seconds in $secs. Stdin: $OUT/NAME.in if
# it exists, else /dev/null. The nested test host's guests sometimes crash
# (a triple or double fault under TCG, QEMU's guests too; see
# tests/linux/README.txt): a run whose guest crashed runs once more, and the
# crash stays in the log.
ex() {
	local name=$1 in=/dev/null t0 try
	shift
	[ -e "$OUT/$name.in" ] && in=$OUT/$name.in
	for try in 1 2; do
		t0=$(date +%s.%N)
		timeout -k 5 "$LIMIT" "$EMBER" exec --kernel "$KERNEL" ${MODULES:+--modules "$MODULES"} "$@" \
			<"$in" >"$OUT/$name.out" 2>"$OUT/$name.err"
		st=$?
		secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		echo "# $name: status $st after $secs s"
		sed 's/^/#   stderr: /' "$OUT/$name.err" | head -n 5
		[ "$try" = 1 ] && grep -a -q -E 'guest triple fault|double fault:|Kernel panic' "$OUT/$name.err" ||
			break
		echo "# $name: the guest crashed; running it once more"
	done
}

ex true -- true
check "exec true: status 0 ($st, $secs s)" [ "$st" -eq 0 ]
boot_secs=${secs%.*}

ex exit7 -- sh -c 'exit 7'
check "exec sh -c 'exit 7': status 7 ($st)" [ "$st" -eq 7 ]

ex notfound -- no-such-command-here
check "a command that is not found: status 127 and a message on stderr ($st)" \
	bash -c "[ $st -eq 127 ] && grep -q 'no-such-command-here' $OUT/notfound.err"

ex streams -- sh -c 'echo to-stdout; echo to-stderr >&2; echo more-stdout'
check "stdout and stderr arrive separately ($st)" \
	bash -c "[ $st -eq 0 ] && [ \"\$(cat $OUT/streams.out)\" = \"\$(printf 'to-stdout\nmore-stdout')\" ] &&
		grep -qx to-stderr $OUT/streams.err && ! grep -q stdout $OUT/streams.err"

# A host file made here, read in the guest and sent through stdout.
head -c $((64 << 20)) /dev/urandom >"$OUT/big.bin"
ex big -- cat "$OUT/big.bin"
check "64 MiB of a host file through the guest's stdout, intact ($st, $secs s)" \
	bash -c "[ $st -eq 0 ] && [ \"\$(sha256sum <$OUT/big.bin)\" = \"\$(sha256sum <$OUT/big.out)\" ]"
rm -f "$OUT/big.bin" "$OUT/big.out"

head -c $((4 << 20)) /dev/urandom >"$OUT/stdin.in"
ex stdin -- sha256sum
check "stdin piped into the command arrives intact and ends ($st)" \
	bash -c "[ $st -eq 0 ] && [ \"\$(sha256sum <$OUT/stdin.in | cut -d' ' -f1)\" = \"\$(cut -d' ' -f1 $OUT/stdin.out)\" ]"

# Several checks share one boot (each boot takes tens of seconds in the
# nested test host); each prints a marker line for its check.
ex env --cpus 2 -- sh -c 'echo "CWD=$(pwd)"; env; echo "NPROC=$(nproc)";
	echo t >/tmp/x && echo r >/run/x && echo v >/var/tmp/x && echo "TMP=$(cat /tmp/x)"'
check "the command runs in the caller's directory ($st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'CWD=$PWD' $OUT/env.out"
check "the command sees the caller's PATH ($st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'PATH=$PATH' $OUT/env.out"
check "/tmp, /run and /var/tmp are writable tmpfs ($st)" bash -c "[ $st -eq 0 ] && grep -qx TMP=t $OUT/env.out"
check "--cpus 2: the command sees 2 CPUs ($st)" bash -c "[ $st -eq 0 ] && grep -qx NPROC=2 $OUT/env.out"

mkdir -p "$OUT/roshare"
ex shares --share "$OUT/share" --share "$OUT/roshare,readonly=on" -- sh -c "
	echo written-in-the-guest >$OUT/share/f && echo SHARE-WRITTEN
	echo x >$OUT/roshare/g 2>/dev/null || echo RO-SHARE-REFUSED
	echo x >$OUT/root-write 2>/dev/null || echo ROOT-REFUSED
	mount -o remount,rw / 2>/dev/null; echo x >$OUT/root-write2 2>/dev/null || echo ROOT-STILL-REFUSED"
check "a file written into a --share directory is on the host afterwards ($st)" \
	bash -c "grep -qx SHARE-WRITTEN $OUT/shares.out && [ \"\$(cat $OUT/share/f 2>/dev/null)\" = written-in-the-guest ]"
check "a readonly=on share refuses writes ($st)" \
	bash -c "grep -qx RO-SHARE-REFUSED $OUT/shares.out && [ ! -e $OUT/roshare/g ]"
check "the root is read-only, even remounted read-write in the guest ($st)" \
	bash -c "grep -qx ROOT-REFUSED $OUT/shares.out && grep -qx ROOT-STILL-REFUSED $OUT/shares.out &&
		[ ! -e $OUT/root-write ] && [ ! -e $OUT/root-write2 ]"

# --fs: a virtio-fs device on a virtiofsd the user started, mounted by the command.
mkdir -p "$OUT/userfs"
echo from-the-user-backend >"$OUT/userfs/hello"
FSD=${VIRTIOFSD:-$(command -v virtiofsd || echo /usr/lib/qemu/virtiofsd)}
"$FSD" --socket-path="$OUT/user.sock" -o source="$OUT/userfs" -o sandbox=chroot \
	-o log_level=err >/dev/null 2>&1 &
fsd=$!
for _ in $(seq 1 100); do [ -S "$OUT/user.sock" ] && break; sleep 0.1; done
ex userfs --fs "socket=$OUT/user.sock,tag=extra" -- \
	sh -c 'mkdir /tmp/m && mount -t virtiofs extra /tmp/m && cat /tmp/m/hello'
kill "$fsd" 2>/dev/null
wait "$fsd" 2>/dev/null
check "--fs socket=PATH,tag=TAG: the guest mounts the user's backend by its tag ($st)" \
	bash -c "[ $st -eq 0 ] && grep -qx from-the-user-backend $OUT/userfs.out"

ex panic -- sh -c 'echo c >/proc/sysrq-trigger'
check "a guest kernel panic gives status 125 (pvpanic) ($st)" [ "$st" -eq 125 ]

# The limit must outlast the boot (seconds where guests run natively, more
# than ten in the nested test host) for sleep to be running when it ends.
TMO=${EMBER_EXEC_TIMEOUT:-$((boot_secs + 5))}
ex timeout --timeout "$TMO" -- sleep 600
check "--timeout $TMO on sleep 600: status 124 in $secs s" \
	bash -c "[ $st -eq 124 ] && awk -v s=$secs -v t=$TMO 'BEGIN { exit !(s < t + 15) }'"

# virtiofsd killed while the command runs: an error status, no hang.
(
	for _ in $(seq 1 600); do
		if [ -s "$OUT/dies.out" ]; then
			pkill -KILL -f "virtiofsd.*$OUT" || pkill -KILL virtiofsd
			break
		fi
		sleep 0.2
	done
) &
killer=$!
ex dies -- sh -c "echo started; sleep 3; ls / >/dev/null; cat /etc/hostname; sleep 600"
wait "$killer"
check "virtiofsd killed mid-run: Ember ends with an error status, no hang ($st, $secs s)" \
	bash -c "[ $st -ne 0 ] && [ $st -ne 124 ] && awk -v s=$secs 'BEGIN { exit !(s < 200) }'"

# stdout closed early: the reader takes 10 bytes and goes away.
t0=$(date +%s)
timeout -k 5 "$LIMIT" "$EMBER" exec --kernel "$KERNEL" ${MODULES:+--modules "$MODULES"} \
	-- sh -c 'while :; do echo yes; done' 2>"$OUT/early.err" </dev/null | head -c 10 >"$OUT/early.out"
st=${PIPESTATUS[0]}
check "stdout closed early: Ember ends with SIGPIPE's status, 141, as the command would ($st, $(($(date +%s) - t0)) s)" \
	bash -c "[ $st -eq 141 ] && [ \$(wc -c <$OUT/early.out) -eq 10 ]"

summary
