# shellcheck shell=sh
# Host-side steps of boot-tests.sh's disk and network scenarios, run where
# ember runs (in the nested test host, or on this machine in direct mode,
# inside a network namespace of its own). boot-tests.sh pastes this file
# into its generated scenario script (POSIX sh: busybox ash or dash). For
# scenario NAME (dashes become underscores) scen() calls, when defined:
#   pre_NAME          before ember starts
#   during_NAME OUT   while ember runs, OUT being ember's output so far;
#                     its stdout is ember's stdin (the guest's console).
#                     It must end by itself: every wait here is bounded and
#                     gives up once ember has exited.
#   post_NAME         after ember has exited
# They run in $TMPD, where the scenario's disk images are, and record what
# they found with note KEY VALUE: KEY=VALUE lines that scen() prints after
# ember's output, where the runner's checks read them. Their stderr is
# printed there too, as EMBER-HOST-STDERR: lines.
# The guest side of each is tests/linux/guest/tests/*.sh; the addresses
# here match the ember.ipN/peerN arguments in boot-tests.sh's table.

note() { printf '%s=%s\n' "$1" "$2" >>"${HOSTLOG:-/dev/null}"; }
# nc and ping are busybox's everywhere (their behaviour and output are what
# the scripts expect): BUSYBOX is the kit's busybox in direct mode.
BB=${BUSYBOX:-busybox}
# What the runner prints in OUT once the VMM has exited.
: "${EXIT_MARK:=EMBER-EXIT=}"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
uptime_s() {
	read -r _t _ </proc/uptime
	echo "$_t"
}
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
# scen_arg NAME: the value of the guest argument ember.NAME= in the
# scenario's ember arguments (ARGS, set by boot-tests.sh's scen()).
scen_arg() { echo " ${ARGS:-} " | sed -n "s/.* ember\.$1=\([^ ]*\) .*/\1/p"; }

# wait_for OUT STRING SECONDS: succeeds once the fixed STRING is in OUT;
# fails (noting what it waited for) when ember has exited first
# ($EXIT_MARK in OUT) or after SECONDS.
wait_for() {
	_n=0
	until grep -q -F -e "$2" "$1"; do
		if grep -q -F "$EXIT_MARK" "$1" || [ "$_n" -ge $(($3 * 5)) ]; then
			grep -q -F -e "$2" "$1" && return 0
			note EMBER-HOST-GAVE-UP "waiting for $2 after $((_n / 5)) s"
			return 1
		fi
		_n=$((_n + 1))
		sleep 0.2
	done
}

# load_tun: /dev/net/tun, which ember's --net needs.
load_tun() {
	[ -c /dev/net/tun ] || insmod /lib/modules/tun.ko 2>/dev/null || modprobe tun
	if [ -c /dev/net/tun ]; then note EMBER-HOST-TUN ok; else note EMBER-HOST-TUN missing; fi
}

# tap_up OUT TAP ADDR: waits until ember has created TAP (it does when it
# starts and removes it when it exits), gives it ADDR and brings it up.
tap_up() {
	_n=0
	until [ -e "/sys/class/net/$2" ]; do
		if grep -q -F "$EXIT_MARK" "$1" || [ "$_n" -ge 150 ]; then
			note "EMBER-HOST-TAP-$2" missing
			return 1
		fi
		_n=$((_n + 1))
		sleep 0.2
	done
	if ip addr add "$3" dev "$2" && ip link set "$2" up; then
		note "EMBER-HOST-TAP-$2" "up $3"
	else
		note "EMBER-HOST-TAP-$2" "configuration failed"
		return 1
	fi
}

# host_ping KEY PEER COUNT: pings PEER COUNT times, 0.2 s apart; notes
# KEY-STATS (transmitted, received, loss) and KEY-RTT (min/avg/max).
host_ping() {
	"$BB" ping -c "$3" -i 0.2 -W 2 "$2" >ping.out 2>&1
	note "$1-STATS" "$(grep 'packets transmitted' ping.out)"
	note "$1-RTT" "$(grep round-trip ping.out)"
	rm -f ping.out
}

# blk-data: vda (blk-a.img) gets a pattern, vdb (blk-b.img) an ext2
# filesystem from the guest. While the guest runs, a second ember on vda's
# image, writable and then read-only, must be refused (the first holds its
# lock).
pre_blk_data() {
	rm -f blk-a.img blk-b.img
	truncate -s 64M blk-a.img
	truncate -s 64M blk-b.img
}
during_blk_data() {
	wait_for "$1" EMBER-GUEST-INIT-STARTED 200 || return 0
	for _ro in "" ,readonly=on; do
		# Should it start, this guest would power off after ~15 s (status 0).
		timeout 60 "$EMBER" run --kernel "$KERNEL" --initrd "$INITRD" \
			--cmdline "console=ttyS0 ember.test=check quiet" --serial none \
			--disk "path=blk-a.img$_ro" </dev/null >/dev/null 2>second.err
		note "EMBER-HOST-SECOND${_ro:+-RO}-STATUS" "$?"
		note "EMBER-HOST-SECOND${_ro:+-RO}-ERROR" "$(head -n 1 second.err)"
	done
	rm -f second.err
}
post_blk_data() {
	yes EMBER-PATTERN-LINE | head -c 4194304 >pattern
	note EMBER-HOST-PATTERN-SHA256 "$(sha pattern)"
	if head -c 4194304 blk-a.img | cmp -s - pattern; then
		note EMBER-HOST-PATTERN match
	else
		note EMBER-HOST-PATTERN "differs: $(head -c 4194304 blk-a.img | cmp - pattern 2>&1)"
	fi
	# The MiB after the pattern must still be zeros.
	note EMBER-HOST-AFTER-PATTERN-NONZERO \
		"$(dd if=blk-a.img bs=1M skip=4 count=1 2>/dev/null | tr -d '\000' | wc -c)"
	check_fs blk-b.img
	rm -f pattern blk-a.img blk-b.img
}

# check_fs IMG [KEY]: the file system that the guest's make_fs made, in the
# raw image file IMG: e2fsck -fn's status (EMBER-HOST-E2FSCK[-KEY]=, its
# output as EMBER-HOST-E2FSCK-OUT[-KEY]: lines) and the sha256 of each of
# make_fs's files read with debugfs (EMBER-HOST-FILE-SHA256[-KEY]=NAME SUM).
check_fs() {
	_fk=${2:+-$2}
	e2fsck -fn "$1" >e2fsck.out 2>&1
	note "EMBER-HOST-E2FSCK$_fk" "$?"
	sed "s/^/EMBER-HOST-E2FSCK-OUT$_fk: /" e2fsck.out >>"$HOSTLOG"
	for _f in big.bin dir/hello.txt dir/seq.txt; do
		note "EMBER-HOST-FILE-SHA256$_fk" \
			"$_f $(debugfs -R "cat /$_f" "$1" 2>/dev/null | sha256sum | cut -d' ' -f1)"
	done
	rm -f e2fsck.out
}

# blk-ro: a 16 MiB image (text, random bytes, zeros) behind readonly=on.
pre_blk_ro() {
	rm -f blk-ro.img
	{
		yes EMBER-READONLY | head -c 1048576
		dd if=/dev/urandom bs=1M count=1 2>/dev/null
	} >blk-ro.img
	truncate -s 16M blk-ro.img
	note EMBER-HOST-SHA256-BEFORE "$(sha blk-ro.img)"
}
# trace: a Linux boot with --trace=io,mmio,virtio,irq into a file; what
# each class wrote is counted (the table's total too).
pre_trace() {
	rm -f blk-trace.img trace.log
	truncate -s 16M blk-trace.img
}
post_trace() {
	note EMBER-HOST-TRACE-IO "$(grep -c '^trace: vcpu [0-9]* io ' trace.log)"
	note EMBER-HOST-TRACE-MMIO "$(grep -c '^trace: vcpu [0-9]* mmio ' trace.log)"
	note EMBER-HOST-TRACE-KICK "$(grep -c '^trace: virtio vda queue 0 kick ' trace.log)"
	note EMBER-HOST-TRACE-USED "$(grep -c '^trace: virtio vda queue 0 used ' trace.log)"
	note EMBER-HOST-TRACE-IRQ "$(grep -c '^trace: irq vda msix vector ' trace.log)"
	note EMBER-HOST-TRACE-OTHER "$(grep '^trace: ' trace.log | grep -c -v -e '^trace: vcpu [0-9]* io ' \
		-e '^trace: vcpu [0-9]* mmio ' -e '^trace: virtio ' -e '^trace: irq ')"
	note EMBER-HOST-TRACE-TOTAL "$(sed -n 's/^exits: total *\([0-9]*\) .*/\1/p' trace.log)"
	rm -f blk-trace.img trace.log
}

post_blk_ro() {
	note EMBER-HOST-SHA256-AFTER "$(sha blk-ro.img)"
	rm -f blk-ro.img
}

# blk-intx: 16 MiB of random bytes that the guest reads over INTx.
pre_blk_intx() {
	rm -f blk-intx.img
	dd if=/dev/urandom of=blk-intx.img bs=1M count=16 2>/dev/null
	note EMBER-HOST-MD5 "$(md5sum <blk-intx.img | cut -d' ' -f1)"
}
post_blk_intx() { rm -f blk-intx.img; }

# intx-many: eight 4 MiB images of random bytes, then two taps as net-two.
pre_intx_many() {
	load_tun
	for _i in 0 1 2 3 4 5 6 7; do
		rm -f "im$_i.img"
		dd if=/dev/urandom of="im$_i.img" bs=1M count=4 2>/dev/null
		note "EMBER-HOST-MD5-$_i" "$(md5sum <"im$_i.img" | cut -d' ' -f1)"
	done
}
during_intx_many() { during_net_two "$1"; }
post_intx_many() { rm -f im0.img im1.img im2.img im3.img im4.img im5.img im6.img im7.img; }

# net-ping and net-two: the host side of each tap gets .1 of its subnet;
# once the guest has pinged it (EMBER-NET-READY), the host pings the guest,
# then types a line to let it power off. That line is typed on every path,
# so the guest never waits for its own time limit.
pre_net_ping() { load_tun; }
during_net_ping() {
	if tap_up "$1" tap0 10.0.0.1/24 && wait_for "$1" EMBER-NET-READY 200; then
		host_ping EMBER-HOST-PING0 10.0.0.2 5
	fi
	echo host-done
}
pre_net_two() { load_tun; }
during_net_two() {
	if tap_up "$1" tap0 10.0.0.1/24 && tap_up "$1" tap1 10.0.1.1/24 &&
		wait_for "$1" EMBER-NET-READY 200; then
		host_ping EMBER-HOST-PING0 10.0.0.2 5
		host_ping EMBER-HOST-PING1 10.0.1.2 5
	fi
	echo host-done
}

# net-tcp: 16 MiB of random bytes, host -> guest (the guest listens on
# 5001), then the guest sends what it got back to the host's port 5002.
# (64 MiB each way crashed the nested test host's guest too often, see
# tests/linux/README.txt; tests/linux/bench-io.sh moves more.)
pre_net_tcp() {
	load_tun
	rm -f net.dat net.back net.fifo
	dd if=/dev/urandom of=net.dat bs=1M count=16 2>/dev/null
	note EMBER-HOST-DATA-BYTES "$(wc -c <net.dat)"
	note EMBER-HOST-DATA-SHA256 "$(sha net.dat)"
}
during_net_tcp() {
	net_tcp "$1"
	echo host-done
}
net_tcp() {
	tap_up "$1" tap0 10.0.0.1/24 || return 0
	# busybox nc ends when its stdin does too: a fifo opened read-write
	# never ends.
	mkfifo net.fifo
	timeout 300 "$BB" nc -l -p 5002 <>net.fifo >net.back &
	_lpid=$!
	if wait_for "$1" EMBER-NC-LISTENING 200; then
		_t0=$(uptime_s)
		# nc ends once the guest's nc has read everything and closed.
		timeout 180 "$BB" nc 10.0.0.2 5001 <net.dat >/dev/null
		note EMBER-HOST-TX-STATUS "$?"
		note EMBER-HOST-TX-SECONDS "$(elapsed "$_t0")"
	fi
	wait_for "$1" EMBER-NC-SENT 200
	# The guest's nc ended after ours (when ours closed): give ours 10 s.
	_n=0
	while kill -0 "$_lpid" 2>/dev/null && [ "$_n" -lt 50 ]; do
		_n=$((_n + 1))
		sleep 0.2
	done
	kill "$_lpid" 2>/dev/null
	wait "$_lpid"
	note EMBER-HOST-RX-STATUS "$?"
	note EMBER-HOST-RX-BYTES "$(wc -c <net.back)"
	note EMBER-HOST-RX-SHA256 "$(sha net.back)"
}
post_net_tcp() { rm -f net.dat net.back net.fifo; }

# stop_wait PID: SIGTERM, then the status in _st (999: still running after 10 s, killed).
# Not in a subshell: only the parent can reap it (a zombie answers kill -0).
stop_wait() {
	kill -TERM "$1"
	_n=0
	while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null && [ "$_n" -lt 100 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	if [ "$_n" -ge 100 ]; then kill -KILL "$1"; wait "$1"; _st=999; else wait "$1"; _st=$?; fi
}
# micro-plumbing: chatter.bin (prints for ever) with its reader gone (head
# leaves after 100 bytes), then with stdout stalled (a FIFO nobody reads)
# and a line typed once the pipe is full: both must stop on SIGTERM (143).
# Before the fix: 141 (SIGPIPE), and 999 (the main loop waited for the
# serial lock that a blocked write held).
pre_micro_plumbing() {
	rm -f hp sp
	mkfifo hp sp
	head -c 100 <hp >head.out &
	"$EMBER" run --firmware "$GUESTS/chatter.bin" >hp 2>head.err </dev/null &
	_e=$!
	sleep 3
	stop_wait $_e
	note EMBER-PLUMB-HEAD-STATUS "$_st"
	note EMBER-PLUMB-HEAD-BYTES "$(wc -c <head.out)"
	rm -f ip
	mkfifo ip
	exec 7<>sp 8<>ip
	"$EMBER" run --firmware "$GUESTS/chatter.bin" >sp 2>stall.err <ip &
	_e=$!
	sleep 12 # 64 KiB of output at ~110 us an exit: the pipe is full
	echo typed >&8
	sleep 1
	stop_wait $_e
	exec 8>&-
	note EMBER-PLUMB-STALL-STATUS "$_st"
	exec 7>&-
	note EMBER-PLUMB-ERR "$(cat head.err stall.err | tr '\n' ' ')"
	rm -f hp sp ip head.out head.err stall.err
}

# power-button: once the guest waits for the button, `ember ctl shutdown`
# on the scenario's control socket presses it.
during_power_button() {
	wait_for "$1" EMBER-READY-FOR-BUTTON 200 || return 0
	"$EMBER" ctl api.sock shutdown >ctl.out 2>&1
	note EMBER-HOST-CTL-STATUS "$?"
	note EMBER-HOST-CTL-REPLY "$(head -c 300 ctl.out | tr '\n' ' ')"
	rm -f ctl.out
}
