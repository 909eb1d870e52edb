/*
 * Common start of every micro-guest: the reset vector jumps into the copy
 * below 1 MiB, the code switches to 32-bit protected mode with flat
 * segments and calls guest_main(). APs woken by INIT-SIPI (vector 0xf1)
 * do the same and call ap_main().
 */
#define BASE 0xf0000
#define STACK_TOP 0x80000
#define AP_STACK_BASE 0x70000 /* AP n gets 1 KiB below AP_STACK_BASE + n KiB */

	.section .text16, "ax"
	.code16
start16:
	cli
	mov $0xf000, %ax
	mov %ax, %ds
	lgdtl (gdt_desc - start16) /* .text16 starts at BASE */
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $start32

	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff /* 0x08 flat 32-bit code */
	.quad 0x00cf93000000ffff /* 0x10 flat data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.section .ap16, "ax"
	.code16
ap_start16:
	cli
	mov $0xf000, %ax
	mov %ax, %ds
	lgdtl (gdt_desc - start16) /* .text16 starts at BASE */
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $ap_start32

	.text
	.code32
start32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $STACK_TOP, %esp
	call guest_main
	jmp guest_halt

ap_start32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $1, %eax
	cpuid
	shr $24, %ebx /* initial APIC ID */
	mov %ebx, %esp
	shl $10, %esp
	add $AP_STACK_BASE + 1024, %esp
	push %ebx
	call ap_main
	jmp guest_halt

	.globl guest_halt
guest_halt:
	cli
1:	hlt
	jmp 1b

	.section .reset, "ax"
	.code16
	.globl reset
reset:
	ljmp $0xf000, $0 /* start16: the first byte of .text16, at BASE */
	.fill 11, 1, 0xf4

	.section .note.GNU-stack, "", @progbits
