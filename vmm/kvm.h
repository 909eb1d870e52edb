#pragma once
/* The /dev/kvm system handle: open, API checks, host-wide queries. */
#include <stddef.h>

#include <linux/kvm.h>

/*
 * Open /dev/kvm and check the API version and every capability Ember
 * needs (the common ones here, the architecture's through arch_kvm_check()). On failure logs what is missing and what to do; returns -errno.
 */
__attribute__((warn_unused_result)) int kvm_open(int *kvm_fd);
