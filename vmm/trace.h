#pragma once
/*
 * The exit trace (--trace): one line per VM exit, written by the vCPU
 * thread that took it, and a table of exits per reason and per device at
 * the end. For watching what a guest makes the VMM do, and the cheapest
 * way to see why a guest is slow: every exit is a round trip through
 * userspace.
 *
 * Line format (one write() each, so lines of several threads do not mix):
 *   trace: vcpu 0 io out port 0x3f8 len 1 data 0x48 -> serial
 *   trace: vcpu 0 mmio read addr 0xc0001000 len 4 data 0xffffffff -> unhandled
 *   trace: vcpu 1 hlt
 *   trace: vcpu 0 shutdown
 * and from the thread that serves a virtio device (the I/O thread, or a
 * vCPU for a reset), naming the device by its disk or tap name:
 *   trace: virtio vda queue 0 kick 1, took 16 chains
 *   trace: virtio vda queue 0 used 16 (+16)
 *   trace: irq vda msix vector 1
 *   trace: irq vda intx level 1
 *
 * Threads: each vCPU owns its struct trace_stats; trace_report() runs on the
 * main thread once every vCPU thread has been joined. The configuration is
 * read-only once vCPUs run. No locks.
 */
#include <stdbool.h>
#include <stdint.h>

/* What --trace=CLASSES selects. */
enum trace_class {
	TRACE_IO = 1u << 0,	  /* port I/O exits */
	TRACE_MMIO = 1u << 1,	  /* MMIO exits */
	TRACE_HLT = 1u << 2,	  /* HLT exits (the guest halted with no in-kernel irqchip wake) */
	TRACE_SHUTDOWN = 1u << 3, /* triple fault, system events (power off, reset), failures */
	TRACE_IRQ = 1u << 4,	  /* a virtio function's interrupt: MSI-X vector or INTx level */
	TRACE_VIRTIO = 1u << 5,	  /* virtqueue kicks (chains taken) and completions (used index) */
	TRACE_ALL = (1u << 6) - 1,
};

/* The exit reasons the table counts. */
enum trace_reason {
	TRACE_R_IO,
	TRACE_R_MMIO,
	TRACE_R_HLT,
	TRACE_R_INTR,	  /* KVM_RUN interrupted by a signal (a stop request) */
	TRACE_R_SHUTDOWN, /* triple fault */
	TRACE_R_SYSTEM,	  /* power off, reset */
	TRACE_R_OTHER,	  /* entry failure, internal error, unknown */
	TRACE_REASONS
};

/* Devices the table knows: at most this many bus ranges on each bus. */
#define TRACE_MAX_DEVS 24

/* Where and what to trace: set before the vCPUs start, read-only after. */
struct trace {
	unsigned int classes; /* TRACE_* bits: lines to write; 0: none */
	bool stats;	      /* count exits and time them (--trace or -v) */
	int fd;		      /* where lines and the table go */
};

/* One vCPU's counts: written by its own thread only. */
struct trace_stats {
	uint64_t count[TRACE_REASONS], ns[TRACE_REASONS];
	/* Per bus range, port I/O first, then MMIO; the last two slots are the
	 * accesses no device took (port I/O, MMIO). */
	uint64_t dev_count[2 * TRACE_MAX_DEVS + 2], dev_ns[2 * TRACE_MAX_DEVS + 2];
};

/*
 * Parse "io,mmio,hlt,shutdown,all" (any order, comma-separated) into
 * TRACE_* bits. Returns 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int trace_parse_classes(const char *s, unsigned int *classes);

/* The table's name of an exit reason ("io", "mmio", "signal", ...). */
const char *trace_reason_name(enum trace_reason r);

/* Monotonic nanoseconds, for timing an exit. */
uint64_t trace_now_ns(void);

/*
 * Write one line about an I/O or MMIO access: vCPU `cpu`, `is_write`,
 * address, length, data (little-endian, up to 8 bytes) and the device that
 * took it (NULL: unhandled). `count` > 1 marks string I/O (rep ins/outs).
 */
void trace_access(const struct trace *t, unsigned int cpu, bool mmio, bool is_write, uint64_t addr,
		  uint32_t len, const void *data, uint32_t count, const char *dev);

/* Write "trace: " and the formatted rest as one line, if class `cls` is traced. */
__attribute__((format(printf, 3, 4))) void trace_line(const struct trace *t, unsigned int cls,
						      const char *fmt, ...);

/* Write one line about any other exit of class `cls` (TRACE_HLT or TRACE_SHUTDOWN). */
void trace_event(const struct trace *t, unsigned int cpu, unsigned int cls, const char *what);

/* Add one vCPU's counts to `sum`. */
void trace_stats_add(struct trace_stats *sum, const struct trace_stats *s);

/*
 * Write the table of the counts in `sum` (every vCPU's, added up): exits per
 * reason and per device with the host time spent handling them, busiest
 * first. `pio_names` and `mmio_names` name the bus ranges, in bus order.
 */
void trace_report(const struct trace *t, const struct trace_stats *sum,
		  const char *const *pio_names, unsigned int nr_pio, const char *const *mmio_names,
		  unsigned int nr_mmio);
