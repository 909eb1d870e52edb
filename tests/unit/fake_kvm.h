#pragma once
/*
 * A stand-in for a KVM VM file descriptor in unit tests. The unit binary
 * defines ioctl() (fake_kvm.c): calls on the fd fake_kvm_open() returned are
 * recorded and succeed, every other fd goes to the real system call. So code
 * that issues KVM ioctls (interrupt lines, GSI routing, irqfds, ioeventfds)
 * can be watched without /dev/kvm.
 *
 * One fake VM at a time (Check runs each test in its own process).
 */
#include <stdint.h>

/* A fresh fake VM fd (a /dev/null fd); forgets what an earlier one recorded. */
int fake_kvm_open(void);
void fake_kvm_close(int fd);

/* The level KVM_IRQ_LINE last set on `gsi` (-1: never set). */
int fake_kvm_level(uint32_t gsi);

/* How many KVM_IRQ_LINE calls reached `gsi`; how many KVM_SET_GSI_ROUTING calls in all. */
unsigned int fake_kvm_line_calls(uint32_t gsi);
unsigned int fake_kvm_routing_pushes(void);

/* The GSI eventfd `fd` is bound to with KVM_IRQFD, or -1 (never bound, or unbound since). */
int fake_kvm_irqfd_gsi(int fd);
