#include "boot/init_image.h"

#include <stdint.h>

/*
 * The Makefile builds the init first and passes its path as EMBER_INIT_PATH;
 * the assembler copies the file's bytes between the two labels.
 */
#ifndef EMBER_INIT_PATH
#error "EMBER_INIT_PATH (the built guest init) must be defined by the Makefile"
#endif

__asm__(".section .rodata.ember_init,\"a\",@progbits\n"
	".balign 16\n"
	"init_image_start:\n"
	".incbin \"" EMBER_INIT_PATH "\"\n"
	"init_image_end:\n"
	".previous\n");

extern const uint8_t init_image_start[] __attribute__((visibility("hidden")));
extern const uint8_t init_image_end[] __attribute__((visibility("hidden")));

const void *init_image(size_t *len)
{
	*len = (size_t)(init_image_end - init_image_start);
	return init_image_start;
}
