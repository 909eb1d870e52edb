#!/bin/sh
# ember.test=kmsg-diag: dumps interrupt and serial state through printk, which
# reaches the console even when the UART's interrupt-driven tty output does not.
# Run the guest without "quiet" or add loglevel=8.
for f in /proc/interrupts /proc/tty/driver/serial /proc/cmdline; do
	echo "<2>EMBER-DIAG: ---- $f" >/dev/kmsg
	while IFS= read -r line; do
		echo "<2>EMBER-DIAG: $line" >/dev/kmsg
	done <"$f"
done
echo "EMBER-DIAG-TTY-WRITE"
sleep 1
echo "<2>EMBER-DIAG: after tty write" >/dev/kmsg
while IFS= read -r line; do
	echo "<2>EMBER-DIAG: $line" >/dev/kmsg
done </proc/tty/driver/serial
