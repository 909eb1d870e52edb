/*
 * Every vCPU reports. The BSP prints the CPUID features a Linux guest's
 * timer and interrupt set-up depend on, reads the CPU count from CPUID leaf
 * 0xb (core level), wakes the APs with INIT-SIPI-SIPI through its local
 * APIC, and waits until each has checked in and printed its line.
 */
#include "guest.h"

#define LAPIC_ICR_LO 0xfee00300u
#define LAPIC_ICR_HI 0xfee00310u
#define ICR_INIT 0x00000500u
#define ICR_STARTUP 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u
#define AP_VECTOR 0xf1 /* APs start at 0xf1000 (see guest.ld) */

/* Shared state lives in RAM, not in the image. */
#define CHECKED_IN (*(volatile uint32_t *)0x8000)
#define PRINT_LOCK (*(volatile uint32_t *)0x8004)
#define SEEN_MASK (*(volatile uint32_t *)0x8008)

static void lock(void)
{
	while (__atomic_exchange_n(&PRINT_LOCK, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}

static void unlock(void)
{
	__atomic_store_n(&PRINT_LOCK, 0, __ATOMIC_RELEASE);
}

static void report(uint32_t id)
{
	lock();
	puts_serial("cpu ");
	put_dec(id);
	puts_serial(" up\n");
	unlock();
	__atomic_or_fetch(&SEEN_MASK, 1u << (id & 31), __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&CHECKED_IN, 1, __ATOMIC_SEQ_CST);
}

static void delay(uint32_t n)
{
	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
}

static void send_ipi(uint32_t icr)
{
	mmio_write32(LAPIC_ICR_HI, 0);
	mmio_write32(LAPIC_ICR_LO, icr);
}

/* "features:" then x2apic, tsc-deadline, hypervisor and kvm (the KVM
 * signature at leaf 0x40000000), each present or with a leading "no-". */
static void report_features(void)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} leaf1[] = { { 21, "x2apic" }, { 24, "tsc-deadline" }, { 31, "hypervisor" } };
	uint32_t r[4];

	cpuid(1, 0, r);
	puts_serial("features:");
	for (unsigned int i = 0; i < sizeof(leaf1) / sizeof(leaf1[0]); i++) {
		puts_serial(r[2] & (1u << leaf1[i].bit) ? " " : " no-");
		puts_serial(leaf1[i].name);
	}
	cpuid(0x40000000, 0, r);
	/* "KVMKVMKVM\0\0\0" in ebx, ecx, edx */
	puts_serial(r[1] == 0x4b4d564b && r[2] == 0x564b4d56 && r[3] == 0x4d ? " kvm\n" : " no-kvm\n");
}

void guest_main(void)
{
	uint32_t r[4], n, spins = 0;

	CHECKED_IN = 0;
	PRINT_LOCK = 0;
	SEEN_MASK = 0;
	report_features();
	cpuid(0xb, 1, r);
	n = r[1] & 0xffff;
	if (n == 0 || n > 32)
		fail(1, n);
	report(0);
	if (n > 1) {
		send_ipi(ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT);
		delay(100);
		send_ipi(ICR_ALL_BUT_SELF | ICR_STARTUP | AP_VECTOR);
		delay(100);
		send_ipi(ICR_ALL_BUT_SELF | ICR_STARTUP | AP_VECTOR);
	}
	while (CHECKED_IN < n) {
		if (++spins > 20000000)
			fail(2, CHECKED_IN);
		__asm__ volatile("pause");
	}
	delay(1000); /* a second SIPI must not make any AP report twice */
	if (CHECKED_IN != n || SEEN_MASK != (n == 32 ? 0xffffffffu : (1u << n) - 1))
		fail(3, SEEN_MASK);
	lock();
	puts_serial("smp ok: ");
	put_dec(n);
	puts_serial(" cpus\n");
	unlock();
	guest_exit(0);
}

void ap_main(uint32_t id)
{
	report(id);
}
