#!/bin/sh
# ember.test=pci-hostbridge: reports the PCI host bridge at 00:00.0 as the
# kernel enumerated it, and the kernel log's warnings.
d=/sys/bus/pci/devices/0000:00:00.0
for f in vendor device class; do
	echo "EMBER-PCI-$f=$(cat "$d/$f" 2>/dev/null || echo missing)"
done
echo "EMBER-PCI-DEVICES=$(cd /sys/bus/pci/devices && echo *)"
sh /tests/kwarn.sh
