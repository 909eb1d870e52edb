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
nc_listen 180 5001 /tmp/rx
echo "EMBER-NC-LISTENING"
wait "$nc_pid"
echo "EMBER-RX-STATUS=$?"
echo "EMBER-RX-BYTES=$(wc -c </tmp/rx)"
echo "EMBER-RX-SHA256=$(sha256sum </tmp/rx | cut -d' ' -f1)"
t0=$(now)
timeout 180 nc "$peer" 5002 </tmp/rx
echo "EMBER-TX-STATUS=$?"
echo "EMBER-TX-SECONDS=$(since "$t0")"
echo "EMBER-NC-SENT"
wait_host 180
