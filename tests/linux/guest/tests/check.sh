#!/bin/sh
# ember.test=check: reports what the guest sees; the runner compares it
# with the VMM options it used.
echo "EMBER-NPROC=$(nproc)"
echo "EMBER-MEMTOTAL=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
echo "EMBER-CMDLINE=$(cat /proc/cmdline)"
echo "EMBER-INIT-OK"
