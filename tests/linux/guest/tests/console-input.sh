#!/bin/sh
# ember.test=console-input: reads one line from the console (ttyS0), which
# needs the UART's receive interrupt, and echoes it back. The runner types
# the line into ember's stdin once it has seen EMBER-READY-FOR-INPUT.
echo "EMBER-READY-FOR-INPUT"
# busybox ash has read -t.
# shellcheck disable=SC3045
if read -r -t 120 line; then
	echo "EMBER-ECHO=$line"
else
	echo "EMBER-NO-INPUT"
fi
# Port 0: bytes received, and its IRQ (irq:0 would mean polled). The IRQ
# there is Linux's number; /proc/interrupts shows the IO-APIC pin behind it.
echo "EMBER-SERIAL0=$(grep '^0:' /proc/tty/driver/serial)"
echo "EMBER-TTYS0-INTERRUPTS=$(grep -w ttyS0 /proc/interrupts | tr -s ' ' | sed 's/^ //')"
