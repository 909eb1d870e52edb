#!/bin/sh
# Test-host scenario: shows that kvm-amd works in the test host.
ls -l /dev/kvm
dmesg | grep -i kvm
grep -o -m1 -w svm /proc/cpuinfo
ls -l /bin/ember /guest
