#!/bin/sh
# ember.test=ticker: prints EMBER-TICK=N every 10 ms or so, for ever (the
# snapshot benchmark, bench-snapshot.sh, times how soon a restored guest
# prints again). Says EMBER-TICKER-READY first.
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-TICKER-READY"
i=0
while :; do
	i=$((i + 1))
	echo "EMBER-TICK=$i"
	sleep 0.01
done
