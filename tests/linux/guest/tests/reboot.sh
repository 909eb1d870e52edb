#!/bin/sh
# ember.test=reboot: reports like check.sh, then reboots instead of letting
# /init power off. Ember ends on a guest reboot too (exit status 0).
sh /tests/check.sh
echo "EMBER-REBOOTING"
# The tty sends through UART interrupts; give it time to drain before the
# kernel stops everything.
sleep 1
reboot -f
# Only reached when the reboot system call failed.
echo "EMBER-REBOOT-FAILED"
