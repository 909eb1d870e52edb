/*
 * The arm64 start-up micro-guest (tests/arm64/bench.sh): one byte to the
 * PL011's data register, then PSCI SYSTEM_OFF. Position-independent and
 * touching no RAM, so the same bytes run as Ember's --firmware (copied to
 * RAM at 0x4000_0000), under tests/arm64/floor.c (the same) and as QEMU
 * virt's -bios (run from flash at 0). The PL011 is at 0x0900_0000 on all
 * three. Assembled with aarch64-linux-gnu-as, taken out with objcopy -O binary.
 */
	.text
	.global _start
_start:
	movz	x1, #0x0900, lsl #16	/* the PL011's data register */
	mov	w2, #'E'
	strb	w2, [x1]
	movz	x0, #0x8400, lsl #16
	movk	x0, #0x0008		/* PSCI 0.2 SYSTEM_OFF */
	hvc	#0
1:	wfi				/* not reached */
	b	1b
