#!/bin/sh
# ember.test=check: what the guest found, one EMBER- line each: CPUs,
# memory, command line, the GIC and PL011 interrupts, PCI functions and
# virtio devices with their drivers, block and network devices.
echo "EMBER-NPROC=$(nproc)"
echo "EMBER-MEMTOTAL-KB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
echo "EMBER-CMDLINE=$(cat /proc/cmdline)"
grep -E 'GIC|ITS|pl011|uart' /proc/interrupts | sed 's/^ */EMBER-IRQ=/;s/  */ /g'
for f in /sys/bus/pci/devices/*; do
	[ -e "$f" ] || continue
	drv=$(basename "$(readlink "$f/driver" 2>/dev/null)" 2>/dev/null)
	echo "EMBER-PCI=${f##*/} $(cat "$f/vendor"):$(cat "$f/device") class=$(cat "$f/class") driver=${drv:-none}"
done
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "EMBER-VIRTIO=${d##*/} device=$(cat "$d/device") driver=${drv:-none}"
done
for b in /sys/block/vd*; do
	[ -e "$b" ] || continue
	echo "EMBER-BLOCK=${b##*/} sectors=$(cat "$b/size") ro=$(cat "$b/ro")"
done
for n in /sys/class/net/eth*; do
	[ -e "$n" ] || continue
	echo "EMBER-NET=${n##*/} mac=$(cat "$n/address")"
done
