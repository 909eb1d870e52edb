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

# make_fs DEV [KEY] [KBYTES]: ext2 on DEV with busybox mke2fs (KBYTES: a
# file system smaller than DEV, the rest left alone), mounted on /mnt
# (ext4's driver, loaded here), three files written (one 6 MiB random),
# their sha256 printed as EMBER-FILE-SHA256[-KEY]=NAME SUM, unmounted.
# Prints EMBER-FS[-KEY]=ok or what failed.
make_fs() {
	_k=${2:+-$2}
	# ext2 is ext4's driver here (CONFIG_EXT4_USE_FOR_EXT2).
	load_modules crc16 mbcache jbd2 crc32c_generic ext4
	# shellcheck disable=SC2086 # no KBYTES: no argument
	mke2fs -F -L EMBERDATA "$1" ${3:-} >/tmp/mke2fs.log 2>&1 || {
		sed "s/^/EMBER-MKE2FS-LOG$_k: /" /tmp/mke2fs.log
		echo "EMBER-FS$_k=mke2fs failed"
		return 1
	}
	mkdir -p /mnt
	mount -t ext2 "$1" /mnt || { echo "EMBER-FS$_k=mount failed"; return 1; }
	mkdir /mnt/dir
	dd if=/dev/urandom of=/mnt/big.bin bs=1M count=6 2>/dev/null
	echo "hello from the ember guest" >/mnt/dir/hello.txt
	seq 1 20000 >/mnt/dir/seq.txt
	for _f in big.bin dir/hello.txt dir/seq.txt; do
		echo "EMBER-FILE-SHA256$_k=$_f $(sha256sum </mnt/$_f | cut -d' ' -f1)"
	done
	sync
	umount /mnt || { echo "EMBER-FS$_k=umount failed"; return 1; }
	echo "EMBER-FS$_k=ok"
}

# write_plan DEV PLAN: the writes of PLAN to DEV, in order. PLAN is a
# comma-separated list of SECTOR+COUNT:WORD[:cache]: COUNT sectors of
# "WORD" lines from sector SECTOR, with O_DIRECT (dd's 4 KiB buffer is
# page-aligned, so offsets and lengths that are not multiples of 4 KiB reach
# the device as they are), or with :cache through the page cache and fsync.
# boot-tests.sh's host side applies the same PLAN to a file (apply_plan).
# Stops at the first failed write and prints EMBER-WRITE-FAILED=.
write_plan() {
	for _w in $(echo "$2" | tr , ' '); do
		_s=${_w%%+*}
		_r=${_w#*+}
		_n=${_r%%:*}
		_r=${_r#*:}
		_o=direct,seek_bytes _c=notrunc
		case "$_r" in
		*:cache) _o=seek_bytes _c=notrunc,fsync ;;
		esac
		yes "${_r%%:*}" | head -c $((_n * 512)) |
			dd of="$1" bs=4k iflag=fullblock oflag=$_o conv=$_c seek=$((_s * 512)) 2>/tmp/wp.err || {
			echo "EMBER-WRITE-FAILED=$1 $_w: $(grep -v records /tmp/wp.err | tr '
' ' ')"
			return 1
		}
	done
}

# disk_sha256 DEV [direct]: the sha256 of all of DEV, through the page
# cache or with O_DIRECT.
disk_sha256() {
	if [ "${2:-}" = direct ]; then
		dd if="$1" bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
	else
		sha256sum <"$1" | cut -d' ' -f1
	fi
}
