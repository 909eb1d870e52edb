#!/usr/bin/env bash
# The reading guides name real code: every file (`vmm/vcpu.c`) and every
# function (`vcpu_thread()`) that docs/walkthrough.md, docs/trace.md and docs/api.md name
# in backquotes must exist. A rename that leaves a guide behind fails here.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh

DOCS=(docs/walkthrough.md docs/trace.md docs/api.md)
SRC=(vmm/*.[ch] devices/*.[ch] virtio/*.[ch] boot/*.[ch])
# Functions of the C library and the kernel's interface that the guides name.
NOT_OURS='^(ioctl|mmap|open|read|write|close|epoll_wait|eventfd|io_uring_enter|seccomp|pthread_create|main|poll|readv|writev|preadv|pwritev|fdatasync|fallocate|bind|connect)$'

files=$(grep -ohE '`[a-z0-9_]+/[a-zA-Z0-9_./-]+\.(c|h|S|sh|md|ld)`' "${DOCS[@]}" | tr -d '`' | sort -u)
funcs=$(grep -ohE '`[a-z_][a-z0-9_]*\(\)`' "${DOCS[@]}" | tr -d '`()' | sort -u | grep -vE "$NOT_OURS")
plan $(($(wc -w <<<"$files") + $(wc -w <<<"$funcs")))
for f in $files; do
	check "file $f exists" [ -e "$f" ]
done
for fn in $funcs; do
	# A definition: the name at the start of a line or after a return type, then '('.
	check "function $fn() is defined" grep -qE "^([a-z_].*[ *])?$fn\(" "${SRC[@]}"
done
summary
