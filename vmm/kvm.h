#pragma once
/* The /dev/kvm system handle: open, API checks, host-wide queries. */
#include <stddef.h>

#include <linux/kvm.h>

/*
 * Open /dev/kvm and check the API version and every capability Ember
 * needs. On failure logs what is missing and what to do; returns -errno.
 */
__attribute__((warn_unused_result)) int kvm_open(int *kvm_fd);

/*
 * KVM_GET_SUPPORTED_CPUID into a new allocation (free() it) with room for
 * KVM_CPUID_SPARE more entries, which *cap counts. Returns 0 or -errno.
 */
#define KVM_CPUID_SPARE 8
__attribute__((warn_unused_result)) int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out,
							    unsigned int *cap);
