#!/bin/sh
# ember.test=disk: /dev/vda holds, at 1 MiB, 1 MiB the test host wrote
# (linux.sh); the guest prints its sha256 as EMBER-DISK-READ=..., then
# writes 1 MiB of its own at 2 MiB (the line "guest-data" repeated, the
# bytes linux.sh expects there), syncs it and prints EMBER-DISK-WROTE=...
echo "EMBER-DISK-READ=$(dd if=/dev/vda bs=65536 skip=16 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
yes guest-data | head -c 1048576 >/tmp/pattern
dd if=/tmp/pattern of=/dev/vda bs=65536 seek=32 conv=fsync 2>/dev/null
echo "EMBER-DISK-WROTE=$(sha256sum </tmp/pattern | cut -d' ' -f1)"
echo "EMBER-DISK-REREAD=$(dd if=/dev/vda bs=65536 skip=32 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
