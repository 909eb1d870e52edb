#!/usr/bin/env bash
# Micro-guest tier: tiny guests through the real KVM_RUN path, on this
# machine's /dev/kvm where it runs them (hardware-backed or PVM), else in the
# nested test host (tests/guests/nested.sh boots it and runs this script
# there, with the same checks). Each check prints PASS/FAIL/SKIP; the last
# line is the summary.
# Env: EMBER (build/ember), EMBER_KVM_MODE=direct|nested forces where.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

EMBER=${EMBER:-build/ember}
G=build/guests
case "${EMBER_KVM_MODE:-}" in
direct) ;;
nested) exec tests/guests/nested.sh ;;
"")
	if ! kvm_runs_guests "$EMBER"; then
		echo "note: no /dev/kvm here that runs a micro-guest: running them in the nested test host"
		exec tests/guests/nested.sh
	fi
	;;
*) echo "EMBER_KVM_MODE must be direct or nested, not '$EMBER_KVM_MODE'" >&2; exit 2 ;;
esac
# A fifo whose reader died must fail a check, not end the tier.
trap '' PIPE
plan 79
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# run NAME [ember args...]: stdout to $OUT/NAME.out, stderr to .err, status to $st
run() {
	local name=$1
	shift
	timeout 60 "$EMBER" run "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null
	st=$?
}

run hello --firmware $G/hello.bin
check "hello: prints its line over COM1" grep -qx "Hello from an Ember micro-guest" "$OUT/hello.out"
check "hello: exit port 0 gives status 0 (got $st)" [ "$st" -eq 0 ]

run exitcode --firmware $G/exitcode.bin
check "exit port: code 7 gives status 71 (got $st)" [ "$st" -eq 71 ]

run unmapped --firmware $G/unmapped.bin
check "unmapped port/MMIO read all ones, PCI host bridge answers; status 0 (got $st)" \
	bash -c "[ $st -eq 0 ] && grep -q 'unmapped accesses ok' $OUT/unmapped.out"

run features --firmware $G/smp.bin
check "CPUID: x2APIC, TSC-deadline timer, hypervisor bit, KVM signature; status 0 (got $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'features: x2apic tsc-deadline hypervisor kvm' $OUT/features.out"

for n in 1 2 4; do
	run smp$n --firmware $G/smp.bin --cpus $n
	check "smp: $n vCPUs each report once (status $st)" \
		bash -c "[ $st -eq 0 ] && grep -q 'smp ok: $n cpus' $OUT/smp$n.out &&
			[ \$(grep -c ' up$' $OUT/smp$n.out) -eq $n ] &&
			[ \$(sort -u $OUT/smp$n.out | grep -c ' up$') -eq $n ]"
done

run triple --firmware $G/triple.bin
if [ -d /sys/module/kvm_pvm ]; then
	# PVM cannot deliver the guest's faults and reports an emulation failure instead.
	want=4
else
	want=3
fi
check "triple fault: status $want with a register dump (got $st)" \
	bash -c "[ $st -eq $want ] && grep -q 'rip ' $OUT/triple.err"

head -c 200 /dev/urandom | tr -dc 'a-p' | head -c 100 >"$OUT/input"
(cat "$OUT/input"; printf q) | timeout 60 "$EMBER" run --firmware $G/echo.bin >"$OUT/echo.out" 2>&1
st=$?
check "serial input: 100 bytes echoed in order through the 16-byte FIFO; status 0 (got $st)" \
	bash -c "[ $st -eq 0 ] && cmp -s $OUT/input $OUT/echo.out"

run file --firmware $G/hello.bin --serial "file=$OUT/serial.log"
check "--serial file=PATH receives the output" \
	bash -c "grep -q 'Hello from' $OUT/serial.log && [ ! -s $OUT/file.out ]"

run none --firmware $G/hello.bin --serial none
check "--serial none prints nothing (status $st)" bash -c "[ $st -eq 0 ] && [ ! -s $OUT/none.out ]"

# --trace: a line per exit from the vCPU thread that took it, and the exit
# table at the end (also with -v). HLT never reaches Ember: with the
# in-kernel local APIC, KVM handles it.
run trace-hello --firmware $G/hello.bin --serial none --trace
check "--trace: each COM1 byte is an io out line naming the serial device, the exit port's too (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'trace: vcpu 0 io out port 0x3f8 len 1 data 0x48 -> serial' $OUT/trace-hello.err &&
		[ \$(grep -c 'io out port 0x3f8 len 1 .* -> serial\$' $OUT/trace-hello.err) -ge 31 ] &&
		grep -qE '^trace: vcpu 0 io out port 0x501 len [124] data 0x0 -> exit-port\$' $OUT/trace-hello.err"
check "--trace: the exit table counts the io exits, the serial device's among them" \
	bash -c "grep -qE '^exits: reason io +[0-9]+ ' $OUT/trace-hello.err &&
		grep -qE '^exits: io serial +(3[1-9]|[4-9][0-9]|[1-9][0-9]{2,}) ' $OUT/trace-hello.err"
run trace-mmio --firmware $G/unmapped.bin --serial none --trace=mmio
check "--trace=mmio: MMIO that no BAR holds reads all ones from the PCI window, no io lines (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'trace: vcpu 0 mmio read addr 0xd0000000 len 4 data 0xffffffff -> pci-mmio (no BAR)' $OUT/trace-mmio.err &&
		! grep -q '^trace: vcpu 0 io ' $OUT/trace-mmio.err"
run trace-shutdown --firmware $G/triple.bin --serial none --trace=shutdown --trace-file "$OUT/trace.log"
check "--trace=shutdown --trace-file: the guest's crash is traced into the file, nothing else (status $st)" \
	bash -c "grep -qE '^trace: vcpu 0 (guest triple fault|KVM internal error)' $OUT/trace.log &&
		! grep -qE '^trace: vcpu 0 (io|mmio) ' $OUT/trace.log && ! grep -q '^trace:' $OUT/trace-shutdown.err"
run trace-v -v --firmware $G/hello.bin --serial none
run trace-off --firmware $G/hello.bin --serial none
check "-v prints the exit table without trace lines; neither without -v or --trace" \
	bash -c "grep -qE '^exits: total +[1-9]' $OUT/trace-v.err && ! grep -q '^trace:' $OUT/trace-v.err &&
		! grep -qE '^(exits|trace):' $OUT/trace-off.err"

# virtio-blk (blk.bin). The guest writes the word 0x5a000000 + (byte offset) at
# sectors 8 (4 KiB), 100 (12 KiB), 1000 (16 KiB), 2040 (the last 4 KiB) and
# 1500 + 4i (1 KiB each, i < 16); everything else stays zero.
pattern() { # SECTOR BYTES: the expected words, one per line
	local o
	for ((o = $1 * 512; o < $1 * 512 + $2; o += 4)); do printf '%08x\n' $((0x5a000000 + o)); done
}
words() { # IMG SECTOR BYTES: the image's words, one per line
	od -A n -v -t x4 -j $(($2 * 512)) -N "$3" "$1" | tr -s ' ' '\n' | sed '/^$/d'
}
blk_image_ok() { # IMG
	local img=$1 rest=$OUT/rest.img r i sec len
	local regions=("8 4096" "100 12288" "1000 16384" "2040 4096")
	for ((i = 0; i < 16; i++)); do regions+=("$((1500 + 4 * i)) 1024"); done
	[ "$(stat -c %s "$img")" -eq 1048576 ] || return 1
	cp "$img" "$rest"
	for r in "${regions[@]}"; do
		read -r sec len <<<"$r"
		cmp -s <(words "$img" "$sec" "$len") <(pattern "$sec" "$len") || return 1
		dd if=/dev/zero of="$rest" bs=512 seek="$sec" count=$((len / 512)) conv=notrunc status=none
	done
	cmp -s -n 1048576 "$rest" /dev/zero # the rest of the image is untouched
}

truncate -s 1M "$OUT/blk.img"
run blk --firmware $G/blk.bin --disk "path=$OUT/blk.img,id=ember-test-disk"
check "virtio-blk: chains, indirect, batches, flush, errors; prints blk ok (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'blk ok' $OUT/blk.out"
check "virtio-blk: capacity 2048 sectors, GET_ID returns the id= string" \
	bash -c "grep -qx 'capacity 2048' $OUT/blk.out && grep -qx 'id ember-test-disk' $OUT/blk.out"
check "virtio-blk: the image holds the pattern at the right offsets, zeros elsewhere, size unchanged" \
	blk_image_ok "$OUT/blk.img"

truncate -s 1M "$OUT/blk-sync.img"
run blksync -v --firmware $G/blk.bin --disk "path=$OUT/blk-sync.img,id=ember-test-disk,aio=sync"
check "virtio-blk with aio=sync: the same requests and the same image (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'blk ok' $OUT/blksync.out && cmp -s $OUT/blk.img $OUT/blk-sync.img"
check "-v: the queue's kicks and interrupts are counted at exit" \
	grep -qE '^ember: virtio-blk vda: queue 0: [1-9][0-9]* kicks, [1-9][0-9]* interrupts$' "$OUT/blksync.err"
check "virtio-blk: the guest kicks through the I/O port notification structure, listed first" \
	grep -qx 'kicks port' "$OUT/blksync.out"
check "-v: every port kick reached Ember through its ioeventfd, none as a vCPU exit" \
	bash -c "! grep -q 'came as vCPU exits' $OUT/blksync.err"

truncate -s 1M "$OUT/blk-trace.img"
run blk-trace --firmware $G/blk.bin --disk "path=$OUT/blk-trace.img,id=ember-test-disk" --trace=virtio,irq,mmio
check "--trace=virtio,irq,mmio: the disk's kicks with the chains they brought, its completions and interrupts, its BAR accesses by name, no port lines (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qE '^trace: virtio vda queue 0 kick [0-9]+, took [1-9][0-9]* chains\$' $OUT/blk-trace.err &&
		grep -qE '^trace: virtio vda queue 0 used [0-9]+ \(\+[1-9][0-9]*\)\$' $OUT/blk-trace.err &&
		grep -qE '^trace: irq vda (msix vector [0-9]+|intx level 1)\$' $OUT/blk-trace.err &&
		grep -qE '^trace: vcpu 0 mmio (read|write) .* -> pci-mmio \(vda BAR [0-5]\)\$' $OUT/blk-trace.err &&
		! grep -qE '^trace: vcpu [0-9]+ io ' $OUT/blk-trace.err"

truncate -s 1M "$OUT/blk2.img"
head -c 65536 /dev/urandom >"$OUT/ro.img"
sum=$(sha256sum <"$OUT/ro.img")
run blkro -v --firmware $G/blk.bin --disk "path=$OUT/blk2.img" --disk "path=$OUT/ro.img,readonly=on"
check "virtio-blk: a write to a readonly=on disk fails with IOERR, a read works (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'ro disk ok' $OUT/blkro.out && grep -qx 'blk ok' $OUT/blkro.out"
check "virtio-blk: the second disk is kicked through the memory notification structure" \
	bash -c "grep -qx 'kicks memory' $OUT/blkro.out && grep -qE '^ember: virtio-blk vdb: queue 0: [1-9][0-9]* kicks' $OUT/blkro.err"
check "virtio-blk: the readonly image is unchanged" [ "$(sha256sum <"$OUT/ro.img")" = "$sum" ]

# virtio-net (net.bin): two NICs on taps that one bridge joins, in a network
# namespace of the test's own (no address, no IPv6; nothing leaves it), so
# that what one NIC sends arrives on the other. The taps exist before Ember
# starts: it attaches to them.
NET_CHECKS=("virtio-net: two NICs through a bridge, 600 frames each way"
	"virtio-net: the guest reads each NIC's mac= and link up"
	"virtio-net: backpressure" "virtio-net: 100 interrupt rounds" "virtio-net: -v kick counts")
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
	[ -c /dev/net/tun ]; then
	EMBER=$EMBER G=$G OUT=$OUT unshare --net bash -c '
		sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
		{ ip tuntap add dev na mode tap && ip tuntap add dev nb mode tap &&
			ip link add nbr type bridge && ip link set na master nbr &&
			ip link set nb master nbr && ip link set na up && ip link set nb up &&
			ip link set nbr up; } 2>"$OUT/net.err" || exit 99
		timeout 60 "$EMBER" run -v --firmware "$G/net.bin" \
			--net tap=na,mac=52:54:00:45:4d:01 --net tap=nb,mac=52:54:00:45:4d:02 \
			>"$OUT/net.out" 2>"$OUT/net.err" </dev/null'
	st=$?
	check "virtio-net: two NICs through a bridge, 600 frames of 60-1514 bytes each way at once, every one once, in order, intact (status $st)" \
		bash -c "[ $st -eq 0 ] && grep -qx 'frames 600 each way' $OUT/net.out && grep -qx 'net ok' $OUT/net.out"
	check "virtio-net: the guest reads each NIC's mac= and link up" \
		bash -c "grep -qx 'mac 52:54:00:45:4d:01 link up' $OUT/net.out &&
			grep -qx 'mac 52:54:00:45:4d:02 link up' $OUT/net.out"
	check "virtio-net: a NIC out of receive buffers holds 200 frames back in its tap, then takes them all in order" \
		grep -qx 'backpressure 200' "$OUT/net.out"
	check "virtio-net: 100 rounds in which used_event asks for a transmit and a receive interrupt (MSI-X): every one comes" \
		grep -qE '^interrupts 100 rounds: transmit (1[0-9][0-9]), receive (1[0-9][0-9])$' "$OUT/net.out"
	check "virtio-net: -v counts kicks per NIC and queue; no sanitizer report" \
		bash -c "grep -qE '^ember: virtio-net na: queue 1: [1-9][0-9]* kicks' $OUT/net.err &&
			grep -qE '^ember: virtio-net nb: queue 0: [1-9][0-9]* kicks' $OUT/net.err &&
			! grep -qE 'Sanitizer|runtime error' $OUT/net.err"
else
	for c in "${NET_CHECKS[@]}"; do
		skip "$c" "needs root, unshare, ip and /dev/net/tun"
	done
fi

# An image held open for writing by one Ember (echo.bin waits for a 'q' on
# its serial input) is refused to a second one, writable or readonly.
mkfifo "$OUT/hold"
timeout 60 "$EMBER" run --firmware $G/echo.bin --disk "path=$OUT/blk.img" <"$OUT/hold" \
	>"$OUT/hold.out" 2>&1 &
holder=$!
exec 9>"$OUT/hold"
ino=$(stat -c %i "$OUT/blk.img")
for ((i = 0; i < 100; i++)); do
	grep -q ":$ino " /proc/locks && break
	sleep 0.1
done
run inuse --firmware $G/hello.bin --disk "path=$OUT/blk.img"
check "virtio-blk: an image in use is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'in use' $OUT/inuse.err && grep -qF '$OUT/blk.img' $OUT/inuse.err"
run inuse-ro --firmware $G/hello.bin --disk "path=$OUT/blk.img,readonly=on"
check "virtio-blk: ... also to a readonly=on user (status $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'in use' $OUT/inuse-ro.err"
printf q >&9
exec 9>&-
wait $holder
hst=$?
run unlocked --firmware $G/hello.bin --disk "path=$OUT/blk.img"
check "virtio-blk: the holder exits cleanly (status $hst) and the image is free again (status $st)" \
	bash -c "[ $hst -eq 0 ] && [ $st -eq 0 ]"
run ro-shared --firmware $G/hello.bin --disk "path=$OUT/ro.img,readonly=on" \
	--disk "path=$OUT/ro.img,readonly=on"
check "virtio-blk: readonly users share an image (status $st)" [ "$st" -eq 0 ]

run missing --firmware $G/hello.bin --disk "path=$OUT/missing.img"
check "virtio-blk: a missing image is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -qF '$OUT/missing.img' $OUT/missing.err"
: >"$OUT/empty.img"
run empty --firmware $G/hello.bin --disk "path=$OUT/empty.img"
check "virtio-blk: a zero-size image is refused, status 1, message names the file (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'empty' $OUT/empty.err && grep -qF '$OUT/empty.img' $OUT/empty.err"

# Hostile guests (docs/security.md lists every attack and what Ember does).
# Disk A is attacked and reset after each attack, B must keep working, C is
# read-only and holds a 65536-descriptor indirect table the guest reads. After
# attack i the guest writes sector 256 + i of A and of B with the word
# base + sector (A 0xa0000000, B 0xb0000000); hostile_vq.bin also writes the
# last 8 sectors of A first. Nothing else may reach the images.
hostile_expect() { # FILE BASE N [SECTOR...]: 1 MiB holding what the valid requests wrote
	local file=$1
	shift
	perl -e 'my ($base, $n, @extra) = @ARGV; my $img = "\0" x 1048576;
		substr($img, $_ * 512, 512) = pack("V", $base + $_) x 128 for (256 .. 255 + $n), @extra;
		print $img' "$@" >"$file"
}
hostile_table() { # FILE: header, 65534 data sectors, status, chained in order (hostile.h addresses)
	perl -e 'print pack("QLSS", 0x120000, 16, 1, 1);
		print pack("QLSS", 0x210000, 512, 1, $_ + 1) for 1 .. 65534;
		print pack("QLSS", 0x120020, 1, 2, 0)' >"$1"
}
hostile_check() { # NAME CODE: outputs, status, sanitizer, images of $OUT/NAME-{a,b}.img
	local name=$1 code=$2 n
	n=$(sed -n 's/^attacks \([0-9]*\)$/\1/p' "$OUT/$name.out")
	check "$name: every attack passes, exit code $code gives status $((64 + code)) (got $st)" \
		bash -c "[ $st -eq $((64 + code)) ] && [ -n '$n' ] && ! grep -q '^FAIL' $OUT/$name.out &&
			[ \$(grep -c '^PASS ' $OUT/$name.out) -eq '$n' ]"
	check "$name: no sanitizer report, no error from Ember" \
		bash -c "! grep -qE 'Sanitizer|runtime error|ember: error' $OUT/$name.err"
	hostile_expect "$OUT/$name-a.want" $((0xa0000000)) "${n:-0}" "${@:3}"
	hostile_expect "$OUT/$name-b.want" $((0xb0000000)) "${n:-0}"
	check "$name: the images hold exactly what the valid requests wrote" \
		bash -c "cmp -s $OUT/$name-a.img $OUT/$name-a.want && cmp -s $OUT/$name-b.img $OUT/$name-b.want"
}

hostile_table "$OUT/hostile-c.img"
csum=$(sha256sum <"$OUT/hostile-c.img")
for aio in io_uring sync; do
	name=hostile-vq-$aio
	truncate -s 1M "$OUT/$name-a.img" "$OUT/$name-b.img"
	run $name --firmware $G/hostile_vq.bin --memory 256M --disk "path=$OUT/$name-a.img,aio=$aio" \
		--disk "path=$OUT/$name-b.img,aio=$aio" --disk "path=$OUT/hostile-c.img,readonly=on,aio=$aio"
	hostile_check $name 40 {2040..2047}
	check "$name: the read-only image is unchanged" [ "$(sha256sum <"$OUT/hostile-c.img")" = "$csum" ]
done
truncate -s 1M "$OUT/hostile-cfg-a.img" "$OUT/hostile-cfg-b.img"
run hostile-cfg --firmware $G/hostile_cfg.bin --memory 256M --disk "path=$OUT/hostile-cfg-a.img" \
	--disk "path=$OUT/hostile-cfg-b.img"
hostile_check hostile-cfg 42

# Crash consistency (crash.bin): Ember is killed with SIGKILL as soon as the
# guest prints FLUSHED; every sector written before the FLUSH must be in the
# image (sector s holds the word 0xc0000000 + s), and the FLUSH must have
# completed after the 32 writes queued ahead of it.
crash_check() { # NAME AIO
	local name=crash-$1 img=$OUT/crash-$1.img pid n i
	truncate -s 1M "$img"
	"$EMBER" run --firmware $G/crash.bin --disk "path=$img,aio=$1" >"$OUT/$name.out" \
		2>"$OUT/$name.err" </dev/null &
	pid=$!
	for ((i = 0; i < 1000; i++)); do
		grep -q '^FLUSHED ' "$OUT/$name.out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL $pid 2>/dev/null
	{ wait $pid; } 2>/dev/null
	st=$?
	n=$(sed -n 's/^FLUSHED \([0-9]*\)$/\1/p' "$OUT/$name.out")
	check "$name: still running when killed after 'FLUSHED $n' (status $st)" \
		bash -c "[ $st -eq 137 ] && [ -n '$n' ] && ! grep -qE 'Sanitizer|runtime error' $OUT/$name.err"
	check "$name: the FLUSH completed after every write queued before it" \
		grep -qx 'writes completed before the flush: 32 of 32' "$OUT/$name.out"
	check "$name: every sector written before the FLUSH holds its pattern" \
		cmp -s -n $((${n:-512} * 512)) "$img" \
		<(perl -e 'print pack("V", 0xc0000000 + $_) x 128 for 0 .. $ARGV[0] - 1' "${n:-512}")
}
crash_check io_uring
crash_check sync

# seccomp: every run above had its filters on (the default). While echo.bin
# waits for input with 2 vCPUs and a disk, every thread (main, I/O, two vCPUs,
# and any kernel worker KVM started from one of them) must show the filter and
# no_new_privs in /proc; with --seccomp=off, neither. The main thread installs
# its filter last, once the others run. The guest then quits ('q') as usual.
seccomp_threads() { # MODE SECCOMP NO_NEW_PRIVS: sets $seen (1: all threads as wanted) and $st
	local mode=$1 tpid pid n i
	seen=0
	truncate -s 1M "$OUT/seccomp-$mode.img"
	mkfifo "$OUT/seccomp-$mode.in"
	timeout 60 "$EMBER" run --firmware $G/echo.bin --cpus 2 --disk "path=$OUT/seccomp-$mode.img" \
		--seccomp=$mode <"$OUT/seccomp-$mode.in" >"$OUT/seccomp-$mode.out" 2>&1 &
	tpid=$!
	exec 9>"$OUT/seccomp-$mode.in"
	for ((i = 0; i < 100 && !seen; i++)); do
		sleep 0.1
		pid=$(pgrep -P $tpid) || continue
		n=$(ls /proc/$pid/task | wc -l)
		[ "$n" -ge 4 ] &&
			[ "$(cat /proc/$pid/task/*/status | grep -cx "Seccomp:[[:space:]]*$2")" -eq "$n" ] &&
			[ "$(cat /proc/$pid/task/*/status | grep -cx "NoNewPrivs:[[:space:]]*$3")" -eq "$n" ] &&
			seen=1
	done
	printf q >&9
	exec 9>&-
	wait $tpid
	st=$?
}
seccomp_threads on 2 1
check "seccomp on: main, I/O and both vCPU threads filtered, no_new_privs; then status 0 (got $st)" \
	bash -c "[ $seen -eq 1 ] && [ $st -eq 0 ]"
seccomp_threads off 0 0
check "--seccomp=off: no thread filtered; status 0 (got $st)" bash -c "[ $seen -eq 1 ] && [ $st -eq 0 ]"
run seccomp-off-blk --firmware $G/blk.bin --disk "path=$OUT/seccomp-off.img" --seccomp=off
check "--seccomp=off: virtio-blk guest passes too (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx 'blk ok' $OUT/seccomp-off-blk.out"
run seccomp-bad --firmware $G/hello.bin --seccomp=maybe
check "--seccomp=maybe: usage error, status 2 (got $st)" \
	bash -c "[ $st -eq 2 ] && grep -q 'seccomp' $OUT/seccomp-bad.err"

# The API socket: status, pause and resume, bad requests, poweroff (api-checks.sh).
. tests/guests/api-checks.sh

# Snapshot and restore of a running micro-guest (snapshot-checks.sh).
. tests/guests/snapshot-checks.sh

# Output plumbing: a console reader that goes away or stalls (extra-checks.sh).
. tests/guests/extra-checks.sh

summary
