#!/bin/sh
# ember.test=kmsg-diag: reports interrupt and serial state through printk,
# which reaches the console by polling even when the UART's interrupt-driven
# tty output is broken. Every line starts with EMBER-DIAG.
k() { echo "<2>EMBER-DIAG: $*" >/dev/kmsg; }
dump() {
	k "---- $1"
	while IFS= read -r line; do k "$line"; done <"$1"
}
dump /proc/cmdline
dump /proc/interrupts
dump /proc/tty/driver/serial
# A tty write fails with EIO when the 8250 driver could not start the port
# (for example no IRQ descriptor for its ISA interrupt).
k "tty write: $(timeout 5 sh -c 'echo EMBER-DIAG-TTY-WRITE >/dev/ttyS0 && echo ok' 2>&1)"
k "tty settings: $(stty -F /dev/ttyS0 2>&1 | head -n1)"
sleep 1
dump /proc/tty/driver/serial
