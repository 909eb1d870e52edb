/*
 * Common start of every arm64 micro-guest. Ember starts vCPU 0 at the
 * first byte of the image (RAM base) at EL1h with the MMU and caches off
 * and DAIF masked, x0 = the device tree's address, x1-x3 = 0. The entry
 * records that state for the guest to check (boot_regs), clears .bss,
 * installs the exception vectors (an unexpected exception prints its
 * syndrome and exits with status 64 + GUEST_EXC_CODE, instead of hanging),
 * sets vCPU 0's stack and calls guest_main().
 *
 * secondary_entry is where PSCI CPU_ON starts another vCPU (x0 = the
 * caller's context): it takes the stack of its MPIDR's Aff0 and calls
 * secondary_main(context), if the guest has one. A function that returns
 * parks its vCPU (guest_halt).
 */
#define MAX_CPUS 8
#define STACK_SIZE 0x2000

	.section .text.start, "ax"
	.globl _start
_start:
	adr x9, boot_regs
	stp x0, x1, [x9]
	stp x2, x3, [x9, #16]
	mrs x10, CurrentEL
	mrs x11, DAIF
	stp x10, x11, [x9, #32]
	mrs x10, SCTLR_EL1
	mrs x11, SPSel
	stp x10, x11, [x9, #48]
	ldr x10, =__bss_start
	ldr x11, =__bss_end
1:	cmp x10, x11
	b.hs 2f
	str xzr, [x10], #8
	b 1b
2:	bl set_vectors
	ldr x10, =stacks + STACK_SIZE
	mov sp, x10
	bl guest_main
	b guest_halt

	.text
	.globl secondary_entry
secondary_entry:
	mov x19, x0
	bl set_vectors
	mrs x10, MPIDR_EL1
	and x10, x10, #0xff
	cmp x10, #MAX_CPUS
	b.hs guest_halt /* no stack for it */
	add x10, x10, #1
	mov x11, #STACK_SIZE
	ldr x12, =stacks
	madd x10, x10, x11, x12
	mov sp, x10
	ldr x10, =secondary_main
	cbz x10, guest_halt
	mov x0, x19
	blr x10
	b guest_halt

set_vectors:
	ldr x10, =vectors
	msr VBAR_EL1, x10
	isb
	ret

	.globl guest_halt
guest_halt:
	msr DAIFSet, #0xf
1:	wfi
	b 1b

	/* 16 entries of 128 bytes: which one (x0), then ESR, ELR, FAR to C. */
	.balign 2048
vectors:
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.balign 128
	mov x0, #\i
	b exception
	.endr
exception:
	mrs x1, ESR_EL1
	mrs x2, ELR_EL1
	mrs x3, FAR_EL1
	bl guest_exception
	b guest_halt

	.weak secondary_main
	.ltorg

	.data
	.balign 8
	.globl boot_regs
boot_regs: /* x0, x1, x2, x3, CurrentEL, DAIF, SCTLR_EL1, SPSel at entry */
	.fill 8, 8, 0

	.bss
	.balign 16
stacks: /* vCPU n's stack ends at stacks + (n + 1) * STACK_SIZE */
	.space MAX_CPUS * STACK_SIZE

	.section .note.GNU-stack, "", @progbits
