#!/bin/sh
# ember.test=power-button: waits for the ACPI power button. Ember's GED
# (ACPI0013) interrupt runs _EVT, which notifies PNP0C0C; Linux's button
# driver reports KEY_POWER on the "Power Button" input device. Here, the
# first event on that device is the press; the guest then powers off (as an
# acpid would), which ends ember with status 0.
# shellcheck source=lib.sh
. /tests/lib.sh
load_modules button evdev
dev=
for d in /sys/class/input/input*; do
	if [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ]; then
		for e in "$d"/event*; do [ -e "$e" ] && dev=/dev/input/${e##*/}; done
	fi
done
echo "EMBER-POWER-BUTTON-DEV=${dev:-none}"
[ -n "$dev" ] || exit 0
# evdev queues events only for readers that have the device open, so it is
# opened before the host is told to press the button.
exec 3<"$dev"
echo "EMBER-READY-FOR-BUTTON"
# One struct input_event (24 bytes) is enough: only the button reports there.
if timeout 120 dd of=/dev/null bs=24 count=1 <&3 2>/dev/null; then
	echo "EMBER-POWER-BUTTON-PRESSED"
else
	echo "EMBER-POWER-BUTTON-NOT-PRESSED"
fi
