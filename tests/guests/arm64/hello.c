/*
 * The smallest guest: checks the state Ember starts vCPU 0 in (EL1h, MMU and
 * caches off, DAIF masked, x1-x3 zero, x0 the device tree's address, which
 * holds a flattened tree), prints one line on the PL011, then powers off
 * through PSCI SYSTEM_OFF. Output: "dtb ADDR size N", "boot state ok" and
 * the hello line; a failed check exits with its number.
 */
#include "guest.h"

#define FDT_MAGIC 0xd00dfeedu
#define SZ_2M 0x200000ul

static uint32_t be32(uint64_t a)
{
	uint32_t v = mmio_read32(a);

	return __builtin_bswap32(v);
}

void guest_main(void)
{
	const struct boot_regs *b = &boot_regs;
	uint64_t dtb = b->x[0];

	if (b->current_el != 1u << 2) /* CurrentEL.EL in bits 3:2 */
		fail(1, b->current_el);
	if (b->spsel != 1) /* EL1h: SP_EL1 */
		fail(2, b->spsel);
	if ((b->daif & 0x3c0) != 0x3c0) /* D, A, I, F */
		fail(3, b->daif);
	if (b->sctlr & (1u << 0 | 1u << 2)) /* M, C */
		fail(4, b->sctlr);
	if (b->x[1] || b->x[2] || b->x[3])
		fail(5, b->x[1] | b->x[2] | b->x[3]);
	if (dtb < RAM_BASE || (dtb & (SZ_2M - 1)))
		fail(6, dtb);
	if (be32(dtb) != FDT_MAGIC)
		fail(7, be32(dtb));
	if (be32(dtb + 4) < 40 || be32(dtb + 4) > SZ_2M) /* totalsize */
		fail(8, be32(dtb + 4));
	puts_serial("dtb ");
	put_hex(dtb);
	puts_serial(" size ");
	put_dec(be32(dtb + 4));
	puts_serial("\nboot state ok\n");
	puts_serial("Hello from an Ember arm64 micro-guest\n");
	system_off();
}
