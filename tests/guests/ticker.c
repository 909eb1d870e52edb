/*
 * Prints "tick N clock C" (N = 0, 1, 2, ...) about every 2^26 TSC cycles
 * (20-40 ms at 2-3 GHz) for ever, C being the guest's kvmclock in units of
 * 2^20 ns (about 1 ms). tests/guests/run.sh drives it through the API
 * socket: while it is paused no line may come; after resume the count goes
 * on, and kvmclock (which Ember holds across a pause) must not have jumped
 * by the time it was paused. The next tick is timed from the end of the
 * last line, so a pause (the TSC keeps counting) brings no burst of lines.
 */
#include "guest.h"

#define TICK_CYCLES		(1ULL << 26)
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define PVCLOCK_GPA		0x30000 /* free low RAM (the stacks are at 0x70000-0x80000) */

/* The pvclock page KVM keeps up to date for the vCPU (Documentation/virt/kvm/x86/msr.rst). */
struct pvclock {
	uint32_t version; /* odd while KVM updates it */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* (a * b) >> 32 without a 128-bit product. */
static uint64_t mul_shr32(uint64_t a, uint32_t b)
{
	return (((a & 0xffffffffu) * b) >> 32) + (a >> 32) * b;
}

static uint64_t kvmclock_ns(void)
{
	volatile struct pvclock *p = (volatile struct pvclock *)PVCLOCK_GPA;
	uint32_t version;
	uint64_t ns;

	do {
		uint64_t delta;
		int8_t shift;

		version = p->version;
		__asm__ volatile("" ::: "memory");
		delta = rdtsc() - p->tsc_timestamp;
		shift = p->tsc_shift;
		delta = shift >= 0 ? delta << shift : delta >> -shift;
		ns = p->system_time + mul_shr32(delta, p->tsc_to_system_mul);
		__asm__ volatile("" ::: "memory");
	} while ((version & 1) || version != p->version);
	return ns;
}

void guest_main(void)
{
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, PVCLOCK_GPA | 1); /* bit 0: enabled */
	for (uint32_t i = 0;; i++) {
		uint64_t next;

		puts_serial("tick ");
		put_dec(i);
		puts_serial(" clock ");
		put_dec((uint32_t)(kvmclock_ns() >> 20));
		putc_serial('\n');
		next = rdtsc() + TICK_CYCLES;
		while (rdtsc() < next)
			__asm__ volatile("pause");
	}
}

void ap_main(uint32_t id) { (void)id; }
