#!/usr/bin/env bash
# The code reads top-down: each module (a .c and its .h) includes only
# modules of its own folder or of a lower layer, and the include graph has
# no cycle. Layers, bottom up:
#   0  vmm/ primitives: gm, bus, irq and irqchip, ioeventfd, evloop, log, exit, relax, layout (per architecture), tap, file, trace,
#      iov, json, vhost_user, qcow2 (qcow2, qcow2_impl, qcow2_write, qcow2_create),
#      disk (disk, disk_impl, disk_raw, disk_qcow2)
#   1  devices/
#   2  virtio/ and boot/ (neither includes the other)
#   3  the rest of vmm/: the VM, vCPUs, command line, console, seccomp, the API socket (api, ctl)
# And only vmm/ talks to KVM: no KVM ioctl in devices/, virtio/ or boot/.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh

PRIMITIVES='^vmm/(gm|bus|irq|irqchip|irqchip_x86|irqchip_arm64|evloop|log|exit|relax|layout|layout_x86|layout_arm64|tap|file|trace|ioeventfd|iov|json|vhost_user|qcow2|qcow2_impl|qcow2_write|qcow2_create|disk|disk_impl|disk_raw|disk_qcow2)$'

rank() { # MODULE (path without .c/.h)
	if [[ $1 =~ $PRIMITIVES ]]; then echo 0; return; fi
	case $1 in
	devices/*) echo 1 ;;
	virtio/* | boot/*) echo 2 ;;
	vmm/*) echo 3 ;;
	*) echo 9 ;;
	esac
}

edges=$(for f in vmm/*.[ch] devices/*.[ch] virtio/*.[ch] boot/*.[ch]; do
	sed -n 's/^#include "\([a-z]*\/[a-z0-9_]*\)\.h".*/\1/p' "$f" | sed "s|^|${f%.[ch]} |"
done | awk '$1 != $2' | sort -u)

plan 3
bad=()
while read -r from to; do
	[ -n "$from" ] || continue
	rf=$(rank "$from")
	rt=$(rank "$to")
	if ((rt > rf)) || { ((rt == rf)) && [ "${from%%/*}" != "${to%%/*}" ]; }; then
		bad+=("$from (layer $rf) includes $to (layer $rt)")
	fi
done <<<"$edges"
if ((${#bad[@]})); then
	fail "no module includes one of a higher layer or a sibling folder" "$(printf '%s; ' "${bad[@]}")"
else
	pass "no module includes one of a higher layer or a sibling folder ($(wc -l <<<"$edges") include edges)"
fi
if loop=$(tsort <<<"$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
	pass "the include graph has no cycle"
else
	fail "the include graph has no cycle" "$(tr '\n' ' ' <<<"$loop")"
fi
kvm=$(grep -lE 'ioctl\([^,]*, *KVM_' devices/*.c virtio/*.c boot/*.c 2>/dev/null | tr '\n' ' ')
check "only vmm/ issues KVM ioctls (${kvm:-none elsewhere})" [ -z "$kvm" ]
summary
