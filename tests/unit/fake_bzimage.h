#pragma once
/*
 * A synthetic bzImage for the loader tests: boot sector and setup code
 * (FAKE_BZ_SETUP_SECTS sectors plus the boot sector) holding a valid setup
 * header for a 64-bit, relocatable kernel, then a payload of FAKE_BZ_PAYLOAD
 * patterned bytes. Tests change header fields through fake_bzimage_hdr().
 */
#include <stdint.h>
#include <string.h>

#include <asm/bootparam.h>

#define FAKE_BZ_SETUP_SECTS 4
#define FAKE_BZ_SETUP_SIZE ((FAKE_BZ_SETUP_SECTS + 1) * 512)
#define FAKE_BZ_PAYLOAD 8192
#define FAKE_BZ_SIZE (FAKE_BZ_SETUP_SIZE + FAKE_BZ_PAYLOAD)
#define FAKE_BZ_HDR_OFFSET 0x1f1
#define FAKE_BZ_HDR_LEN_BYTE 0x66 /* at 0x201: header ends at 0x202 + 0x66 = 0x268 */
#define FAKE_BZ_PREF_ADDRESS 0x1000000ULL
#define FAKE_BZ_INIT_SIZE 0x400000U
#define FAKE_BZ_CMDLINE_SIZE 2047

struct fake_bzimage {
	uint8_t data[FAKE_BZ_SIZE];
};

/* The setup header inside the image; the struct is packed, so any address will do. */
static inline struct setup_header *fake_bzimage_hdr(struct fake_bzimage *f)
{
	return (struct setup_header *)(f->data + FAKE_BZ_HDR_OFFSET);
}

static inline uint8_t fake_bzimage_payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline void fake_bzimage_init(struct fake_bzimage *f)
{
	struct setup_header h = {
		.setup_sects = FAKE_BZ_SETUP_SECTS,
		.syssize = FAKE_BZ_PAYLOAD / 16,
		.boot_flag = 0xaa55,
		.header = 0x53726448, /* "HdrS" */
		.version = 0x020f,
		.loadflags = LOADED_HIGH,
		.initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 0x200000,
		.relocatable_kernel = 1,
		.min_alignment = 21,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.cmdline_size = FAKE_BZ_CMDLINE_SIZE,
		.pref_address = FAKE_BZ_PREF_ADDRESS,
		.init_size = FAKE_BZ_INIT_SIZE,
	};

	memset(f->data, 0, sizeof(f->data));
	memcpy(f->data + FAKE_BZ_HDR_OFFSET, &h, sizeof(h));
	f->data[0x200] = 0xeb; /* jmp short over the header */
	f->data[0x201] = FAKE_BZ_HDR_LEN_BYTE;
	for (size_t i = 0; i < FAKE_BZ_PAYLOAD; i++)
		f->data[FAKE_BZ_SETUP_SIZE + i] = fake_bzimage_payload_byte(i);
}
