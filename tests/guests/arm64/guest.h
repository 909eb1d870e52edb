/*
 * Helpers for freestanding arm64 micro-guests (no libc, EL1, MMU off): the
 * PL011, the test exit port, PSCI through hvc, the generic timer's counter,
 * and FAIL reports. The addresses are vmm/layout_arm64.h's.
 *
 * With the MMU off every data access is to Device memory: the compiler is
 * told -mstrict-align, and MMIO goes through the accessors below, single
 * loads and stores in inline assembly, because KVM can only hand an access
 * to Ember when the instruction's syndrome describes it (no load/store
 * pair, no writeback addressing).
 *
 * Each guest is one C file that includes this header (it defines
 * guest_exception(), which start.S's vectors call, and the memset() and
 * memcpy() the compiler may call), linked after start.S.
 */
#pragma once
#include <stdint.h>

#define RAM_BASE 0x40000000ul
#define UART_BASE 0x09000000ul
#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1u << 5)
#define UART_FR_RXFE (1u << 4)
#define EXIT_PORT 0x09010000ul
#define GUEST_EXC_CODE 60 /* exit code of an unexpected exception */

/* PSCI 0.2 function ids (SMC calling convention) and return codes */
#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0xc4000003u
#define PSCI_AFFINITY_INFO 0xc4000004u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_SUCCESS 0
#define PSCI_NOT_SUPPORTED (-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_DENIED (-3)
#define PSCI_ALREADY_ON (-4)
#define PSCI_AFFINITY_ON 0
#define PSCI_AFFINITY_OFF 1

static inline void mmio_write8(uint64_t a, uint8_t v) { __asm__ volatile("strb %w0, [%1]" ::"rZ"(v), "r"(a) : "memory"); }
static inline void mmio_write16(uint64_t a, uint16_t v) { __asm__ volatile("strh %w0, [%1]" ::"rZ"(v), "r"(a) : "memory"); }
static inline void mmio_write32(uint64_t a, uint32_t v) { __asm__ volatile("str %w0, [%1]" ::"rZ"(v), "r"(a) : "memory"); }
static inline void mmio_write64(uint64_t a, uint64_t v) { __asm__ volatile("str %x0, [%1]" ::"rZ"(v), "r"(a) : "memory"); }
static inline uint8_t mmio_read8(uint64_t a) { uint32_t v; __asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return (uint8_t)v; }
static inline uint16_t mmio_read16(uint64_t a) { uint32_t v; __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return (uint16_t)v; }
static inline uint32_t mmio_read32(uint64_t a) { uint32_t v; __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint64_t mmio_read64(uint64_t a) { uint64_t v; __asm__ volatile("ldr %x0, [%1]" : "=r"(v) : "r"(a) : "memory"); return v; }

/* Full-system barriers: the device model runs on another host CPU. */
static inline void mb(void) { __asm__ volatile("dsb sy" ::: "memory"); }
static inline void rmb(void) { __asm__ volatile("dsb ld" ::: "memory"); }
static inline void wmb(void) { __asm__ volatile("dsb st" ::: "memory"); }

/* The generic timer's virtual counter and its frequency (CNTFRQ_EL0, 0 if unset). */
static inline uint64_t counter(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline uint64_t counter_freq(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v ? v : 62500000; /* QEMU's virt machine: 62.5 MHz */
}

/* The counter value `ms` milliseconds from now; compare with counter(). */
static inline uint64_t deadline_ms(uint64_t ms)
{
	return counter() + counter_freq() / 1000 * ms;
}

static inline uint64_t mpidr(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
	return v;
}

/* Spin a little between polls (a hint to the host, not a delay). */
static inline void cpu_relax(void) { __asm__ volatile("yield" ::: "memory"); }

/* An SMCCC call through hvc #0: x0-x3 in, x0 out; x4-x17 may be clobbered (SMCCC 1.0). */
static inline int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 :
			 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
			   "x16", "x17", "memory");
	return (int64_t)x0;
}

/* The 32-bit calls return an int32 in w0. */
static inline int32_t psci_call32(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return (int32_t)psci_call(fn, a1, a2, a3);
}

static inline void putc_serial(char c)
{
	while (mmio_read32(UART_BASE + UART_FR) & UART_FR_TXFF)
		;
	mmio_write32(UART_BASE + UART_DR, (uint8_t)c);
}

static inline void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static inline void put_hex(uint64_t v)
{
	int i = 60;

	while (i > 0 && !((v >> i) & 0xf))
		i -= 4;
	puts_serial("0x");
	for (; i >= 0; i -= 4)
		putc_serial("0123456789abcdef"[(v >> i) & 0xf]);
}

static inline void put_dec(int64_t sv)
{
	char buf[21];
	int i = 20;
	uint64_t v = sv < 0 ? -(uint64_t)sv : (uint64_t)sv;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (sv < 0)
		putc_serial('-');
	puts_serial(&buf[i]);
}

/* Ember exits with 0 for code 0, else 64 + code. Never returns. */
static inline __attribute__((noreturn)) void guest_exit(uint8_t code)
{
	mmio_write8(EXIT_PORT, code);
	for (;;)
		__asm__ volatile("msr daifset, #0xf; wfi");
}

/* PSCI SYSTEM_OFF (Ember: status 0, "guest powered off"); exit code 62 if it returns. */
static inline __attribute__((noreturn)) void system_off(void)
{
	psci_call32(PSCI_SYSTEM_OFF, 0, 0, 0);
	puts_serial("FAIL SYSTEM_OFF returned\n");
	guest_exit(62);
}

/* Report a failed check by number: "FAIL <n> <value>" then exit with n. */
static inline __attribute__((noreturn)) void fail(uint8_t n, uint64_t value)
{
	puts_serial("FAIL ");
	put_dec(n);
	puts_serial(" ");
	put_hex(value);
	puts_serial("\n");
	guest_exit(n);
}

/* What start.S found at entry: x0-x3, CurrentEL, DAIF, SCTLR_EL1, SPSel. */
struct boot_regs {
	uint64_t x[4];
	uint64_t current_el, daif, sctlr, spsel;
};
extern struct boot_regs boot_regs;

void guest_main(void);
void secondary_main(uint64_t context); /* optional: PSCI CPU_ON's entry */
void secondary_entry(void);	      /* start.S: give this to CPU_ON */
void guest_halt(void) __attribute__((noreturn));
void guest_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far);

/*
 * The compiler may call these for struct copies and initialisers even in a
 * freestanding program. Byte by byte through a volatile pointer, so that it
 * does not turn the loops back into calls; only for small objects.
 */
void *memset(void *s, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

void *memset(void *s, int c, unsigned long n)
{
	volatile unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	volatile unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

/* Called by start.S's vectors: an exception no guest expects. */
void guest_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far)
{
	puts_serial("FAIL exception ");
	put_dec((int64_t)vector);
	puts_serial(" esr ");
	put_hex(esr);
	puts_serial(" elr ");
	put_hex(elr);
	puts_serial(" far ");
	put_hex(far);
	puts_serial(" mpidr ");
	put_hex(mpidr());
	puts_serial("\n");
	guest_exit(GUEST_EXC_CODE);
}
