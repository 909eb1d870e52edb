/*
 * PSCI 0.2 and secondary vCPUs. vCPU 0 reads PSCI_VERSION, then starts
 * vCPU 1, 2, ... one at a time with CPU_ON (entry secondary_entry, a
 * context that must arrive in the new vCPU's x0) until CPU_ON answers
 * INVALID_PARAMETERS for the first vCPU that does not exist. Each secondary
 * prints its MPIDR and context, sets its flag in RAM and powers itself off
 * (CPU_OFF); vCPU 0 waits for the flag and for AFFINITY_INFO to say OFF,
 * each within a bounded time. Then: CPU_ON of vCPU 0 itself and of a
 * running secondary (vCPU 1, started again, which waits for a word in RAM)
 * give ALREADY_ON; CPU_ON of an MPIDR no vCPU has gives INVALID_PARAMETERS.
 * Finally SYSTEM_OFF.
 *
 * Output: "psci version M.m", "cpu N up mpidr X ctx Y" per start,
 * "cpu_on self A", "cpu_on absent B", "cpu_on running C" (numbers, -4 and
 * -2 expected), "smp ok: N cpus". A failed check prints FAIL and exits with
 * its number.
 */
#include "guest.h"

#define MAX_CPUS 8 /* start.S has stacks for 8 */
#define WAIT_MS 10000
#define CTX(round, id) (0x5e000000ul | (round) << 8 | (id))
#define ABSENT_MPIDR 0xff0000ul /* Aff2 = 255: no vCPU of Ember's has it */

/* Shared with the secondaries: plain words in RAM, ordered with barriers. */
static volatile uint32_t reports[MAX_CPUS];
static volatile uint64_t context_seen[MAX_CPUS];
static volatile uint32_t hold[MAX_CPUS];

static void report(const char *what, int32_t r)
{
	puts_serial(what);
	putc_serial(' ');
	put_dec(r);
	putc_serial('\n');
}

void secondary_main(uint64_t ctx)
{
	uint64_t id = mpidr() & 0xff, end;
	int32_t r;

	puts_serial("cpu ");
	put_dec((int64_t)id);
	puts_serial(" up mpidr ");
	put_hex(mpidr());
	puts_serial(" ctx ");
	put_hex(ctx);
	putc_serial('\n');
	if ((ctx & 0xff) != id)
		fail(20, ctx);
	context_seen[id] = ctx;
	mb(); /* the context before the count that publishes it */
	reports[id] = reports[id] + 1;
	mb();
	for (end = deadline_ms(WAIT_MS); hold[id]; cpu_relax())
		if (counter() > end)
			fail(21, id);
	r = psci_call32(PSCI_CPU_OFF, 0, 0, 0);
	fail(22, (uint64_t)(int64_t)r); /* CPU_OFF returned */
}

/* Wait until `cpu` has reported `n` times; FAIL code on timeout. */
static void wait_reports(unsigned int cpu, uint32_t n, uint8_t code)
{
	uint64_t end = deadline_ms(WAIT_MS);

	while (reports[cpu] < n) {
		if (counter() > end)
			fail(code, reports[cpu]);
		cpu_relax();
	}
	mb();
}

static void wait_affinity(unsigned int cpu, int32_t state, uint8_t code)
{
	uint64_t end = deadline_ms(WAIT_MS);
	int32_t r;

	while ((r = psci_call32(PSCI_AFFINITY_INFO, cpu, 0, 0)) != state) {
		if (counter() > end)
			fail(code, (uint64_t)(int64_t)r);
		cpu_relax();
	}
}

static int32_t cpu_on(uint64_t target, uint64_t ctx)
{
	return psci_call32(PSCI_CPU_ON, target, (uint64_t)secondary_entry, ctx);
}

void guest_main(void)
{
	int32_t v = psci_call32(PSCI_VERSION, 0, 0, 0), r;
	unsigned int n;

	puts_serial("psci version ");
	put_dec(v >> 16);
	putc_serial('.');
	put_dec(v & 0xffff);
	putc_serial('\n');
	if (v < 2) /* 0.2 */
		fail(1, (uint64_t)(int64_t)v);
	puts_serial("cpu 0 up mpidr ");
	put_hex(mpidr());
	putc_serial('\n');
	if ((r = cpu_on(0, CTX(1, 0))) != PSCI_ALREADY_ON)
		fail(2, (uint64_t)(int64_t)r);
	report("cpu_on self", r);

	for (n = 1; n < MAX_CPUS; n++) {
		int32_t aff = psci_call32(PSCI_AFFINITY_INFO, n, 0, 0);

		r = cpu_on(n, CTX(1, n));
		if (r == PSCI_INVALID_PARAMETERS)
			break; /* vCPU n does not exist */
		if (r != PSCI_SUCCESS)
			fail(4, (uint64_t)(int64_t)r);
		if (aff != PSCI_AFFINITY_OFF)
			fail(3, (uint64_t)(int64_t)aff); /* secondaries start powered off */
		wait_reports(n, 1, 5);
		if (context_seen[n] != CTX(1, n))
			fail(6, context_seen[n]);
		wait_affinity(n, PSCI_AFFINITY_OFF, 7);
	}
	if (n == MAX_CPUS)
		fail(8, n);
	if ((r = cpu_on(ABSENT_MPIDR, CTX(1, 0))) != PSCI_INVALID_PARAMETERS)
		fail(9, (uint64_t)(int64_t)r);
	report("cpu_on absent", r);

	if (n > 1) {
		/* vCPU 1 again, held on until it has been asked twice. */
		hold[1] = 1;
		mb();
		if ((r = cpu_on(1, CTX(2, 1))) != PSCI_SUCCESS)
			fail(10, (uint64_t)(int64_t)r);
		wait_reports(1, 2, 11);
		if (context_seen[1] != CTX(2, 1))
			fail(12, context_seen[1]);
		if ((r = psci_call32(PSCI_AFFINITY_INFO, 1, 0, 0)) != PSCI_AFFINITY_ON)
			fail(13, (uint64_t)(int64_t)r);
		if ((r = cpu_on(1, CTX(3, 1))) != PSCI_ALREADY_ON)
			fail(14, (uint64_t)(int64_t)r);
		report("cpu_on running", r);
		hold[1] = 0;
		mb();
		wait_affinity(1, PSCI_AFFINITY_OFF, 15);
		if (reports[1] != 2)
			fail(16, reports[1]);
	}
	puts_serial("smp ok: ");
	put_dec(n);
	puts_serial(" cpus\n");
	system_off();
}
