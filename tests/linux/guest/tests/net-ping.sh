#!/bin/sh
# ember.test=net-ping: NICs 0 .. ember.nics-1 (net_setup in lib.sh: MAC,
# address and peer from the command line) each ping their peer on the
# host; then the guest says EMBER-NET-READY and waits while the host pings
# it back (the host types a line when done).
# shellcheck source=lib.sh
. /tests/lib.sh
report_links
n=$(param nics 1)
i=0
while [ "$i" -lt "$n" ]; do
	if net_setup "$i"; then
		ping_report "EMBER-NET$i-PING" "$(param "peer$i")" 5
	fi
	i=$((i + 1))
done
echo "EMBER-NET-READY"
wait_host 120
