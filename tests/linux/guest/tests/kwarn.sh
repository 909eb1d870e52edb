#!/bin/sh
# ember.test=kwarn: reports the kernel log's WARNING:/BUG: lines (with
# "quiet" they do not reach the console). Also used by pci-hostbridge.sh.
dmesg | grep -E 'WARNING:|BUG:' | while IFS= read -r line; do
	echo "EMBER-KWARN=$line"
done
echo "EMBER-KWARN-COUNT=$(dmesg | grep -cE 'WARNING:|BUG:')"
