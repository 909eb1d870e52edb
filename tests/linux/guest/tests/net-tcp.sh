#!/bin/sh
# ember.test=net-tcp: TCP through NIC 0 with busybox nc. The host sends a
# file (EMBER-NC-LISTENING tells it the guest listens on port 5001); the
# guest reports its size and sha256 and sends it back to the host's port
# 5002, then waits until the host has checked it (a line on the console).
# shellcheck source=lib.sh
. /tests/lib.sh
report_links
net_setup 0 || { echo "EMBER-NC-SENT"; exit 1; }
peer=$(param peer0)
# nc exits when its stdin ends as well as when the peer closes; a fifo
# opened read-write never ends.
mkfifo /tmp/nc.in
timeout 180 nc -l -p 5001 <>/tmp/nc.in >/tmp/rx &
pid=$!
n=0
until netstat -ltn | grep -q ':5001 '; do
	n=$((n + 1))
	[ "$n" -lt 50 ] || break
	sleep 0.1
done
echo "EMBER-NC-LISTENING"
wait "$pid"
echo "EMBER-RX-STATUS=$?"
echo "EMBER-RX-BYTES=$(wc -c </tmp/rx)"
echo "EMBER-RX-SHA256=$(sha256sum </tmp/rx | cut -d' ' -f1)"
t0=$(now)
timeout 180 nc "$peer" 5002 </tmp/rx
echo "EMBER-TX-STATUS=$?"
echo "EMBER-TX-SECONDS=$(since "$t0")"
echo "EMBER-NC-SENT"
wait_host 180
