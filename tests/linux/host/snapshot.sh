# shellcheck shell=sh
# Host side of boot-tests.sh's snapshot scenario (pasted into its scenario
# script after hooks.sh, whose helpers it uses). While the guest counts
# (guest/tests/snapshot.sh), the host pauses it, saves it with
# `ember ctl api.sock snapshot snapdir`, kills ember (SIGKILL) and starts
# `ember run --restore snapdir`, whose output it keeps as EMBER-RESTORED:
# lines; then checks the guest's file system on the host.

# ember_pid SOCKET: the pid of the ember serving SOCKET (its command name is
# ember's file name; `timeout` above it has the same arguments; the test
# host may run other embers).
ember_pid() {
	for _p in /proc/[0-9]*; do
		[ "$(cat "$_p/comm" 2>/dev/null)" = "$(basename "$EMBER")" ] || continue
		tr '\0' ' ' <"$_p/cmdline" 2>/dev/null | grep -q -F -e "--api $1 " && echo "${_p#/proc/}"
	done
}

# wait_gone PID SECONDS: waits until PID has ended; its status in _st (999: still there).
wait_gone() {
	_n=0
	while kill -0 "$1" 2>/dev/null && [ "$_n" -lt $(($2 * 5)) ]; do
		_n=$((_n + 1))
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		_st=999
	fi
	wait "$1" 2>/dev/null && _st=0 || _st=${_st:-$?}
}

pre_snapshot() {
	load_tun
	rm -rf snap-disk.img snapdir
	truncate -s 64M snap-disk.img
}
# snap_tap OUT: tap0 up as for any NIC scenario, with the same MAC both times
# (a tap Ember creates gets a random one): the guest's ARP entry for the
# host stays right across the restore.
snap_tap() {
	tap_up "$1" tap0 10.0.0.1/24 && ip link set tap0 address 52:54:00:e0:ff:01
}
during_snapshot() {
	snap_tap "$1" || return 0
	# A pause of 2 s first: no output meanwhile, the count goes on after resume.
	wait_for "$1" "EMBER-COUNT=3 " 200 || return 0
	"$EMBER" ctl api.sock pause >ctl.out 2>&1
	note EMBER-HOST-PAUSE1 "$? $(head -c 200 ctl.out)"
	sleep 0.5
	_b1=$(wc -c <"$1")
	sleep 2
	note EMBER-HOST-PAUSE-BYTES "$_b1 $(wc -c <"$1")"
	"$EMBER" ctl api.sock resume >ctl.out 2>&1
	note EMBER-HOST-RESUME "$? $(head -c 200 ctl.out)"
	wait_for "$1" "EMBER-COUNT=6 " 60 || return 0
	"$EMBER" ctl api.sock pause >ctl.out 2>&1
	note EMBER-HOST-SNAP-PAUSE "$? $(head -c 200 ctl.out)"
	read -r _t0 _ </proc/uptime
	"$EMBER" ctl api.sock snapshot snapdir >ctl.out 2>&1
	note EMBER-HOST-SNAP-STATUS "$?"
	note EMBER-HOST-SNAP-REPLY "$(head -c 300 ctl.out)"
	note EMBER-HOST-SNAP-SECONDS "$(elapsed "$_t0")"
	note EMBER-HOST-SNAP-MEMORY-KB "$(du -k snapdir/memory | cut -f1)"
	_pid=$(ember_pid api.sock)
	note EMBER-HOST-SNAP-PIDS "$_pid"
	[ -n "$_pid" ] && kill -KILL "$_pid"
	# The first ember's tap goes with it; the restored one makes it again.
	_n=0
	while [ -e /sys/class/net/tap0 ] && [ "$_n" -lt 50 ]; do
		_n=$((_n + 1))
		sleep 0.2
	done
	: >restore.out
	read -r _t0 _ </proc/uptime
	"$EMBER" run --restore snapdir --api api2.sock --serial stdio </dev/null >restore.out 2>restore.err &
	_rpid=$!
	snap_tap restore.out
	wait_for restore.out EMBER-COUNT= 60 && note EMBER-HOST-RESTORE-FIRST-OUTPUT "$(elapsed "$_t0")"
	_st=
	wait_gone "$_rpid" 200
	note EMBER-HOST-RESTORE-STATUS "$_st"
	sed 's/^/EMBER-RESTORED: /' restore.out >>"$HOSTLOG"
	sed 's/^/EMBER-RESTORED-ERR: /' restore.err >>"$HOSTLOG"
	rm -f ctl.out restore.out restore.err
}
post_snapshot() {
	check_fs snap-disk.img
	note EMBER-HOST-COUNT-FILE "$(debugfs -R 'cat /count.txt' snap-disk.img 2>/dev/null | tr '\n' ' ')"
	rm -rf snap-disk.img snapdir
}
