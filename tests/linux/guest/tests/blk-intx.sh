#!/bin/sh
# ember.test=blk-intx, booted with pci=nomsi: virtio-pci falls back to the
# INTx line (IO-APIC, routed by the ACPI _PRT). Reads all of vda, through
# the page cache and with O_DIRECT, and reports the md5 sums and the
# virtio interrupt lines.
# shellcheck source=lib.sh
. /tests/lib.sh
echo "EMBER-CMDLINE=$(cat /proc/cmdline)"
echo "EMBER-MD5-BUFFERED=$(md5sum </dev/vda | cut -d' ' -f1)"
echo "EMBER-MD5-DIRECT=$(dd if=/dev/vda bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
report_irqs
