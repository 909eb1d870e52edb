#pragma once
/* The /dev/kvm system handle: open, API checks, host-wide queries. */
#include <stddef.h>

#include <linux/kvm.h>

/* A KVM capability Ember needs, and its name for the message when it is missing. */
struct kvm_cap_need {
	int cap;
	const char *name;
};

/*
 * Open /dev/kvm and check the API version and every capability Ember
 * needs (the common ones here, the architecture's in arch_kvm_caps). On failure logs what is missing and what to do; returns -errno.
 */
__attribute__((warn_unused_result)) int kvm_open(int *kvm_fd);
