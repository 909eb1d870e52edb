#pragma once
/*
 * An interrupt line into the in-kernel irqchip. Devices hold one and call
 * irq_set() with the level they want; they never issue KVM ioctls.
 */
#include <stdint.h>

struct irq_line {
	int vm_fd; /* -1: a line that goes nowhere (unit tests) */
	uint32_t gsi;
};

/* Drive the line to `level` (0 or 1). Returns 0 or -errno. */
int irq_set(const struct irq_line *l, int level);
