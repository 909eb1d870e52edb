#!/usr/bin/env bash
# Installs what the Linux-guest kit needs on a fresh Debian 12 (as root):
# QEMU for the nested test host and cpio to pack initramfs images. The kernel
# and busybox-static are not installed: fetch.sh downloads and unpacks them,
# which also needs the package lists that apt-get update makes here.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends qemu-system-x86 cpio
