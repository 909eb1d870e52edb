#!/bin/sh
# ember.test=qcow2-rw (boot-tests.sh's qcow2-overlay and qcow2-snapshot):
# on every disk, the sha256 of all of it (page cache), the writes of
# ember.writes (write_plan), then the sha256 of all of it again with
# O_DIRECT. The runner knows what the disks held and what they must hold
# after the writes. With ember.wait=host the guest then waits for the
# host's line (it looks at the running VMM) before it powers off.
# shellcheck source=lib.sh
. /tests/lib.sh
devs=$(cd /sys/block && echo vd*)
echo "EMBER-BLOCK-DEVS=$devs"
plan=$(param writes)
for d in $devs; do
	echo "EMBER-SECTORS-$d=$(cat /sys/block/"$d"/size 2>/dev/null)"
	echo "EMBER-BEFORE-SHA256-$d=$(disk_sha256 "/dev/$d")"
	write_plan "/dev/$d" "$plan" && echo "EMBER-WRITES-$d=ok"
	echo "EMBER-AFTER-SHA256-$d=$(disk_sha256 "/dev/$d" direct)"
done
echo "EMBER-RW-DONE"
[ "$(param wait)" != host ] || wait_host 120
