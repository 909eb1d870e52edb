#!/usr/bin/env bash
# Bad input from the user: each case must fail with a non-zero status and a
# single error line that names the problem. Runs no guest code.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh

EMBER=${EMBER:-build/ember}
KERNEL=${KERNEL:-build/kit/vmlinuz}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Every case runs before Ember needs /dev/kvm, so all of them run on any
# host, with or without it.
plan 67

# expect NAME STATUS PATTERN -- ARGS...: status and a one-line stderr matching PATTERN
expect() {
	local name=$1 want=$2 pattern=$3 st lines
	shift 4
	"$EMBER" "$@" >"$T/out" 2>"$T/err" </dev/null
	st=$?
	lines=$(wc -l <"$T/err")
	if [ "$st" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$T/err"; then
		pass "$name"
	else
		fail "$name" "status $st (want $want), stderr: $(head -c 300 "$T/err")"
	fi
}

: >"$T/empty"
mkdir "$T/dir"
head -c 4096 /dev/urandom >"$T/random"

expect "no command" 2 "missing command" -- 
expect "unknown command" 2 "unknown command 'fly'" -- fly
expect "unknown option" 2 "unknown option '--bogus'" -- run --kernel x --bogus
expect "option without value" 2 "needs a value" -- run --kernel
expect "neither kernel nor firmware" 2 "needs --kernel" -- run --memory 64M
expect "kernel and firmware together" 2 "exclude each other" -- run --kernel a --firmware b
expect "--memory 0" 2 "invalid --memory '0'" -- run --kernel x --memory 0
expect "--memory garbage" 2 "invalid --memory 'lots'" -- run --kernel x --memory lots
expect "--memory overflow" 2 "invalid --memory" -- run --kernel x --memory 99999999999999999999G
expect "--cpus 0" 2 "invalid --cpus '0'" -- run --kernel x --cpus 0
expect "--cpus 256" 2 "invalid --cpus '256'" -- run --kernel x --cpus 256
expect "--serial bad" 2 "invalid --serial" -- run --kernel x --serial tty
expect "missing kernel file" 1 "cannot open kernel '$T/nope'" -- run --kernel "$T/nope"
expect "empty kernel file" 1 "kernel '$T/empty' is empty" -- run --kernel "$T/empty"
expect "kernel is a directory" 1 "is not a regular file" -- run --kernel "$T/dir"
expect "non-Linux kernel" 1 "not a Linux bzImage" -- run --kernel "$T/random"
expect "missing initrd" 1 "cannot open initrd" -- run --kernel "$KERNEL" --initrd "$T/nope"
expect "memory more than the host has" 1 "more than this host" -- run --kernel "$KERNEL" --memory 64T
expect "memory too small" 1 "too small" -- run --kernel "$KERNEL" --memory 1M
expect "memory not 4K aligned" 1 "multiple of 4K" -- run --kernel "$KERNEL" --memory 5K
truncate -s 17M "$T/big"
expect "firmware too large" 1 "too large" -- run --firmware "$T/big" --memory 64M
expect "missing firmware" 1 "cannot open firmware" -- run --firmware "$T/nope"

if [ -f "$KERNEL" ]; then
	head -c 600 "$KERNEL" >"$T/trunc-header"
	head -c 2000000 "$KERNEL" >"$T/trunc-body"
	expect "kernel truncated in its header" 1 "cannot boot kernel" -- run --kernel "$T/trunc-header"
	expect "kernel truncated in its body" 1 "truncated" -- run --kernel "$T/trunc-body"
	expect "kernel larger than RAM" 1 "needs more memory" -- run --kernel "$KERNEL" --memory 8M
else
	for c in "kernel truncated in its header" "kernel truncated in its body" "kernel larger than RAM"; do
		fail "$c" "no Linux kernel at $KERNEL (run tests/linux/fetch.sh)"
	done
fi

# Disks and taps.
G=build/guests
expect "--disk unknown key" 2 "invalid --disk 'path=x,cache=none'" -- run --firmware x --disk path=x,cache=none
expect "--disk missing image" 1 "cannot open disk image '$T/nope'" -- run --firmware "$G/hello.bin" --disk "path=$T/nope"
expect "--disk empty image" 1 "'$T/empty'" -- run --firmware "$G/hello.bin" --disk "path=$T/empty"
expect "--disk unknown format" 2 "invalid --disk 'path=x,format=vmdk'" -- run --firmware x --disk path=x,format=vmdk
truncate -s 1M "$T/raw.img"
expect "--disk format=qcow2 on a raw image" 1 "qcow2 image '$T/raw.img': not a qcow2 image" -- run --firmware "$G/hello.bin" --disk "path=$T/raw.img,format=qcow2"
printf 'QFI\xfb\0\0\0\7' | dd of="$T/v7.qcow2" conv=notrunc status=none
truncate -s 1M "$T/v7.qcow2"
expect "--disk qcow2 of an unknown version" 1 "qcow2 image '$T/v7.qcow2'" -- run --firmware "$G/hello.bin" --disk "path=$T/v7.qcow2,format=qcow2"
TMPDIR="$T/nope" expect "--disk snapshot=on without a usable TMPDIR" 1 "snapshot=on cannot create its overlay in $T/nope" -- run --firmware "$G/hello.bin" --disk "path=$T/raw.img,snapshot=on"
expect "--net name too long" 2 "invalid --net 'tap=averyveryverylongname'" -- run --firmware x --net tap=averyveryverylongname
expect "--net bad MAC" 2 "invalid --net 'tap=t0,mac=zz'" -- run --firmware x --net tap=t0,mac=zz
expect "--net multicast MAC" 2 "invalid --net" -- run --firmware x --net tap=t0,mac=01:00:5e:00:00:01
# The tap cases need a network namespace of their own (root, unshare):
# the taps exist only there.
TAPHOLD=${TAPHOLD:-build/tools/taphold}
TAP_CASES=("busy tap" "no /dev/net/tun" "no permission for a tap")
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && [ -c /dev/net/tun ] &&
	command -v setpriv >/dev/null && [ -x "$TAPHOLD" ]; then
	# in_netns NAME STATUS PATTERN SETUP ARGS...: expect, inside a fresh
	# network (and mount) namespace after the shell command SETUP (which may
	# set PRE, a command that runs ember, and holder, a PID to end after).
	in_netns() {
		local name=$1 want=$2 pattern=$3 setup=$4
		shift 4
		EMBER=$EMBER unshare --net --mount bash -c "$setup"'
			${PRE:-} "$EMBER" "$@" >"'"$T"'/out" 2>"'"$T"'/err" </dev/null
			echo $? >"'"$T"'/st"
			[ -z "${holder:-}" ] || { kill "$holder"; wait "$holder"; }' _ "$@"
		local st lines
		st=$(cat "$T/st")
		lines=$(wc -l <"$T/err")
		if [ "$st" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$T/err"; then
			pass "$name"
		else
			fail "$name" "status $st (want $want), stderr: $(head -c 300 "$T/err")"
		fi
	}
	# The holder is a plain process attached to the tap (tests/tools/taphold.c).
	in_netns "busy tap" 1 "tap 't0' is in use by another process" \
		'"'"$TAPHOLD"'" t0 </dev/null >/dev/null & holder=$!
		for i in $(seq 50); do [ -e /sys/class/net/t0 ] && break; sleep 0.1; done' \
		run --firmware "$G/hello.bin" --net tap=t0
	in_netns "no /dev/net/tun" 1 "no /dev/net/tun" 'mount -t tmpfs none /dev/net' \
		run --firmware "$G/hello.bin" --net tap=t0
	in_netns "no permission for a tap" 1 "no permission to use tap 't0'" \
		'PRE="setpriv --inh-caps=-all --bounding-set=-net_admin"' \
		run --firmware "$G/hello.bin" --net tap=t0
else
	for c in "${TAP_CASES[@]}"; do
		skip "$c" "needs root, unshare, setpriv, /dev/net/tun and $TAPHOLD"
	done
fi

# ember exec: the user's directories, the kernel's drivers and virtiofsd are
# checked before /dev/kvm and before any virtiofsd starts.
expect "exec without a command" 2 "needs a command after '--'" -- exec --kernel x
expect "exec with --initrd" 2 "no --initrd" -- exec --kernel x --initrd y -- true
expect "exec --share GUESTDIR relative" 2 "invalid --share '$T/dir:rel'" -- exec --kernel x --share "$T/dir:rel" -- true
expect "exec --timeout 0" 2 "invalid --timeout '0'" -- exec --kernel x --timeout 0 -- true
expect "exec --root missing" 1 "--root '$T/nope'" -- exec --kernel "$KERNEL" --root "$T/nope" -- true
expect "exec --root not a directory" 1 "is not a directory" -- exec --kernel "$KERNEL" --root "$T/empty" -- true
expect "exec --share missing" 1 "--share '$T/nope'" -- exec --kernel "$KERNEL" --share "$T/nope" -- true
mkdir -p "$T/mods"
: >"$T/mods/modules.builtin"
expect "exec: a kernel without the drivers and no modules" 1 "virtio_pci" -- exec --kernel "$KERNEL" --modules "$T/mods" -- true
EMBER_VIRTIOFSD="$T/nope" expect "exec: virtiofsd missing" 1 "is not an executable" -- exec --kernel "$KERNEL" -- true

# The API socket (--api) and its client (ember ctl): checked before /dev/kvm.
expect "--api in a directory that does not exist" 1 "cannot create the API socket '$T/nope/api.sock': No such file or directory" -- run --firmware "$G/hello.bin" --api "$T/nope/api.sock"
expect "--api on a file that is not a socket" 1 "'$T/empty': the file exists and is not a socket" -- run --firmware "$G/hello.bin" --api "$T/empty"
expect "--api path too long" 2 "invalid --api" -- run --firmware x --api "$T/$(printf '%0120d' 0)"
expect "--api belongs to run" 2 "--api, --restore and --dump-dtb belong to ember run" -- exec --kernel x --api "$T/s" -- true
expect "--restore belongs to run" 2 "--api, --restore and --dump-dtb belong to ember run" -- exec --kernel x --restore "$T" -- true
expect "--dump-dtb belongs to run" 2 "--api, --restore and --dump-dtb belong to ember run" -- exec --kernel x --dump-dtb "$T/g.dtb" -- true
expect "--dump-dtb needs --kernel" 2 "--dump-dtb needs --kernel" -- run --firmware x --dump-dtb "$T/g.dtb"
if [ -s build/kit/vmlinuz ]; then
	expect "--dump-dtb on x86-64 says it has ACPI tables instead" 1 "ACPI tables, not a device tree" -- run --kernel build/kit/vmlinuz --dump-dtb "$T/g.dtb"
else
	skip "--dump-dtb on x86-64 says it has ACPI tables instead" "no kit kernel: tests/linux/fetch.sh"
fi
expect "--restore with --memory" 2 "--memory comes from the snapshot with --restore" -- run --restore "$T" --memory 512M
expect "--restore of a directory without a snapshot" 1 "cannot open snapshot" -- run --restore "$T"
expect "ctl snapshot without a directory" 2 "usage: ember ctl PATH snapshot DIR [--stop]" -- ctl "$T/s" snapshot
expect "ctl without a command" 2 "ctl needs a socket and a command" -- ctl "$T/api.sock"
expect "ctl with an unknown command" 2 "invalid ctl command 'reboot'" -- ctl "$T/api.sock" reboot
expect "ctl: no socket there" 1 "no API socket at '$T/api.sock'" -- ctl "$T/api.sock" status
# listen_on PATH SECONDS / stale_at PATH: a live listener (perl), or a socket file nobody listens on.
SOCK_CASES=("--api on a live socket is refused" "ctl: a socket nobody listens on"
	"--api replaces a stale socket and removes it at exit" "ember ctl: the reply line, status 0 if ok")
if perl -MIO::Socket::UNIX -e 1 2>/dev/null; then
	listen_on() {
		perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0],
			Listen => 1) or die; $|=1; print "up\n"; sleep $ARGV[1]' "$1" "$2"
	}
	stale_at() {
		perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0],
			Listen => 1) or die' "$1"
	}
	coproc LIVE { listen_on "$T/live.sock" 30; }
	read -r -u "${LIVE[0]}" _
	expect "--api on a live socket is refused" 1 "'$T/live.sock': another process answers on it" -- run --firmware "$G/hello.bin" --api "$T/live.sock"
	kill "$LIVE_PID" 2>/dev/null
	wait "$LIVE_PID" 2>/dev/null
	stale_at "$T/stale.sock"
	expect "ctl: a socket nobody listens on" 1 "nothing answers on '$T/stale.sock'" -- ctl "$T/stale.sock" status
	# Past the socket Ember needs /dev/kvm: status 0 where it runs hello.bin, else 1; either way
	# the stale file was taken over and is gone at exit.
	"$EMBER" run --firmware "$G/hello.bin" --serial none --api "$T/stale.sock" </dev/null >/dev/null 2>"$T/err"
	st=$?
	check "--api replaces a stale socket and removes it at exit (status $st)" \
		bash -c "[ ! -e '$T/stale.sock' ] && ! grep -q 'API socket' '$T/err' && [ $st -le 1 ]"
	# A server that answers one request as Ember would: ctl prints the reply and says ok.
	perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0],
		Listen => 1) or die; $|=1; print "up\n"; $c = $s->accept; $r = <$c>;
		print $c "{\"event\":\"resumed\"}\n{\"id\":1,\"ok\":true,\"state\":\"running\"}\n" if $r eq "{\"id\":1,\"cmd\":\"resume\"}\n"' \
		"$T/fake.sock" >"$T/fake.out" &
	for i in $(seq 50); do grep -q up "$T/fake.out" 2>/dev/null && break; sleep 0.1; done
	"$EMBER" ctl "$T/fake.sock" resume >"$T/out" 2>"$T/err"
	st=$?
	check "ember ctl: the reply line, status 0 if ok (status $st)" \
		bash -c "[ $st -eq 0 ] && [ \"\$(cat '$T/out')\" = '{\"id\":1,\"ok\":true,\"state\":\"running\"}' ] && [ ! -s '$T/err' ]"
	wait
else
	for c in "${SOCK_CASES[@]}"; do
		skip "$c" "needs perl with IO::Socket::UNIX"
	done
fi

"$EMBER" --help >"$T/help" && grep -q -- "--kernel PATH" "$T/help" && pass "--help" || fail "--help"
"$EMBER" --version | grep -q '^ember ' && pass "--version" || fail "--version"

summary
