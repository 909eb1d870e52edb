#!/bin/sh
# ember.test=net: eth0 as 10.0.2.15/24, then ping the test host's end of
# the tap (10.0.2.1, which linux.sh sets up once Ember made the tap);
# EMBER-PING-OK=<replies> or EMBER-PING-FAIL after 10 tries.
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
n=0
while [ $n -lt 10 ]; do
	got=$(ping -c 3 -W 2 10.0.2.1 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	if [ "${got:-0}" -gt 0 ]; then
		echo "EMBER-PING-OK=$got"
		exit 0
	fi
	n=$((n + 1))
	sleep 1
done
echo "EMBER-PING-FAIL"
exit 1
