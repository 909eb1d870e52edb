#!/bin/sh
# Helpers for the guest's test scripts, which source it (". /tests/lib.sh").
# Run as a test (ember.test=lib) it does nothing.

# param NAME [DEFAULT]: the value of ember.NAME=VALUE on the kernel command
# line, else DEFAULT.
param() {
	_v=${2:-}
	read -r _cl </proc/cmdline
	for _a in $_cl; do
		case "$_a" in
		"ember.$1="*) _v=${_a#*=} ;;
		esac
	done
	printf '%s\n' "$_v"
}

# load_modules NAME...: insmods /lib/modules/NAME.ko for modules that /init
# does not load (mkguest.sh copies guest/modules-ondemand.txt's there).
load_modules() {
	for _m in "$@"; do
		grep -q "^$(echo "$_m" | tr - _) " /proc/modules && continue
		[ -f "/lib/modules/$_m.ko" ] || continue
		insmod "/lib/modules/$_m.ko" || echo "EMBER-INSMOD-FAILED=$_m"
	done
}

# now: seconds since boot; since T: seconds since now was T.
now() {
	read -r _t _ </proc/uptime
	echo "$_t"
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }

# report_irqs: the /proc/interrupts lines of virtio devices, blanks squeezed.
report_irqs() {
	grep virtio /proc/interrupts | tr -s ' ' | sed 's/^ //' | while IFS= read -r _l; do
		echo "EMBER-VIRTIO-IRQ=$_l"
	done
	echo "EMBER-PCI-MSI-IRQS=$(grep -c PCI-MSI /proc/interrupts)"
}

# iface_by_mac MAC: the network interface with that address.
iface_by_mac() {
	for _d in /sys/class/net/*; do
		if [ "$(cat "$_d/address")" = "$1" ]; then
			echo "${_d##*/}"
			return 0
		fi
	done
	return 1
}

# report_links: every interface but lo with its MAC as ip link shows it.
report_links() {
	for _d in /sys/class/net/*; do
		_i=${_d##*/}
		[ "$_i" = lo ] && continue
		echo "EMBER-LINK=$_i $(ip link show dev "$_i" | awk '$1 == "link/ether" { print $2 }')"
	done
}

# wait_ping PEER SECONDS: pings PEER once a second until it answers (the
# host brings its side of the tap up while the guest boots); prints the
# seconds waited. Fails when PEER never answered.
wait_ping() {
	_n=0
	while [ "$_n" -lt "$2" ]; do
		if ping -c 1 -W 1 "$1" >/dev/null 2>&1; then
			echo "$_n"
			return 0
		fi
		_n=$((_n + 1))
	done
	return 1
}

# ping_report KEY PEER COUNT: pings PEER COUNT times, 0.2 s apart; prints
# KEY-STATS= (transmitted, received, loss), KEY-RTT= (min/avg/max) and
# KEY-TIMES= (each reply's time in ms, space-separated).
ping_report() {
	ping -c "$3" -i 0.2 -W 2 "$2" >/tmp/ping.out 2>&1
	echo "$1-STATS=$(grep 'packets transmitted' /tmp/ping.out)"
	echo "$1-RTT=$(grep 'round-trip' /tmp/ping.out)"
	echo "$1-TIMES=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' /tmp/ping.out | tr '\n' ' ')"
}

# wait_host [SECONDS]: waits for the line the host types on the console
# when its side of the test is done (it may still be using the guest).
wait_host() {
	# busybox ash has read -t.
	# shellcheck disable=SC3045
	if read -r -t "${1:-120}" _line; then
		echo "EMBER-HOST-SAID=$_line"
	else
		echo "EMBER-HOST-SILENT"
	fi
}

# net_setup N: configures NIC N from the kernel command line: the
# interface whose MAC is ember.macN (ethN without it) gets ember.ipN
# (ADDR/PREFIX) and goes up, then waits until ember.peerN answers pings.
# Prints EMBER-NETN-IFACE= and EMBER-NETN-PEER-AFTER= (seconds) or
# EMBER-NETN-PEER-UNREACHABLE; fails unless the peer answered.
net_setup() {
	_mac=$(param "mac$1")
	_if=eth$1
	if [ -n "$_mac" ]; then
		_if=$(iface_by_mac "$_mac") || _if=""
	fi
	echo "EMBER-NET$1-IFACE=${_if:-none}"
	[ -n "$_if" ] || return 1
	if ! ip addr add "$(param "ip$1")" dev "$_if" || ! ip link set "$_if" up; then
		echo "EMBER-NET$1-CONFIG-FAILED"
		return 1
	fi
	if _t=$(wait_ping "$(param "peer$1")" 60); then
		echo "EMBER-NET$1-PEER-AFTER=$_t"
	else
		echo "EMBER-NET$1-PEER-UNREACHABLE"
		return 1
	fi
}

# nc_listen SECONDS PORT OUT: busybox nc listens on PORT in the background
# for SECONDS at most (its pid in nc_pid), writing what it receives to OUT;
# returns once the port is open (or after 5 s). nc ends when its stdin does
# too: it reads a fifo opened read-write, which never ends.
nc_listen() {
	[ -p /tmp/nc.in ] || mkfifo /tmp/nc.in
	timeout "$1" nc -l -p "$2" <>/tmp/nc.in >"$3" &
	# shellcheck disable=SC2034 # for the caller
	nc_pid=$!
	_n=0
	until netstat -ltn | grep -q ":$2 "; do
		_n=$((_n + 1))
		[ "$_n" -lt 50 ] || break
		sleep 0.1
	done
}
