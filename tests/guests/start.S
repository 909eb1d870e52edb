/*
 * Common start of every micro-guest: the reset vector jumps into the copy
 * below 1 MiB, the code switches to 32-bit protected mode with flat
 * segments and calls guest_main(). APs woken by INIT-SIPI (vector 0xf1)
 * do the same and call ap_main().
 *
 * Ember's copy below 1 MiB is RAM. QEMU's q35 (-bios IMAGE) shows the image
 * there as a read-only alias of its ROM until the chipset's PAM0 register
 * maps RAM in, so stores to .data and .bss would be dropped: if a store to
 * the image does not stick, the boot CPU maps RAM there and copies the
 * image into it from its alias below 4 GiB, before anything else runs.
 */
#define BASE 0xf0000
#define IMAGE_SIZE 0x10000
#define STACK_TOP 0x80000
#define AP_STACK_BASE 0x70000 /* AP n gets 1 KiB below AP_STACK_BASE + n KiB */
#define RAM_COPY_STUB 0x1000 /* low RAM the copy runs from while BASE changes under it */
#define Q35_PAM0 0x80000090 /* config address of the q35 MCH's PAM0 (00:00.0, 0x90) */
#define PAM_RAM 0x30 /* PAM0 bits 5:4 = 3: 0xf0000-0xfffff reads and writes go to RAM */

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
	mov image_probe, %eax
	notl image_probe
	cmp image_probe, %eax
	je 1f /* the store did not stick: ROM */
	notl image_probe
	jmp 2f
1:	mov $ram_copy, %esi
	mov $RAM_COPY_STUB, %edi
	mov $(ram_copy_end - ram_copy), %ecx
	cld
	rep movsb
	mov $RAM_COPY_STUB, %eax
	call *%eax
2:	call guest_main
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

image_probe:
	.long 0x5a5aa5a5

/*
 * Copied to RAM_COPY_STUB and run there (position-independent): RAM at
 * 0xf0000-0xfffff, then the image from its alias that ends at 4 GiB into it.
 */
ram_copy:
	mov $Q35_PAM0, %eax
	mov $0xcf8, %dx
	out %eax, %dx
	mov $PAM_RAM, %al
	mov $0xcfc, %dx
	out %al, %dx
	mov $(0x100000000 - IMAGE_SIZE), %esi
	mov $BASE, %edi
	mov $(IMAGE_SIZE / 4), %ecx
	rep movsl
	ret
ram_copy_end:

	.section .reset, "ax"
	.code16
	.globl reset
reset:
	ljmp $0xf000, $0 /* start16: the first byte of .text16, at BASE */
	.fill 11, 1, 0xf4

	.section .note.GNU-stack, "", @progbits
