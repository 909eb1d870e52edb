#pragma once
/*
 * PCI bus 0 behind configuration mechanism #1 (ports 0xcf8-0xcff, x86) or
 * an ECAM window (memory-mapped, arm64's pci-host-ecam-generic), with the
 * host bridge at 00:00.0. Both reach the same configuration space.
 *
 * Devices own a 256-byte configuration space; a write changes only the
 * bits their write mask allows. BARs are emulated here: sizing, relocation
 * by the guest, and dispatch of accesses in the PCI MMIO window and the PCI
 * I/O port window (one bus range each, owned by this module) to the BAR that
 * covers them, while the device's memory or I/O decoding is on. Devices hear of BAR moves and of
 * config writes through their pci_dev_ops.
 *
 * Locking: `lock` guards the address latch and every device's config
 * space. It is taken before any device, MSI-X or router lock, and is not
 * held while a BAR access is passed to a device.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PCI_SLOTS 32
#define PCI_CFG_SIZE 256
#define PCI_CONFIG_LEN 8 /* 0xcf8-0xcff */
#define PCI_BARS 6

#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_FIRST 0x40

struct pci_dev_ops {
	/* BAR `bar` now decodes at `addr` (may be an unusable sizing pattern). pci lock held. */
	void (*bar_moved)(void *ctx, unsigned int bar, uint64_t addr);
	/* The guest wrote config bytes [reg, reg + len). pci lock held. */
	void (*config_written)(void *ctx, uint32_t reg, uint32_t len);
	/* The guest is about to read config bytes [reg, reg + len): refresh them. pci lock held. */
	void (*config_reading)(void *ctx, uint32_t reg, uint32_t len);
};

struct pci_bar {
	uint64_t size; /* power of two: memory >= 4 KiB, I/O 4-256 bytes; 0: BAR unused */
	bool is64;
	bool io; /* in I/O port space */
	const struct bus_ops *ops; /* receives offsets within the BAR */
	void *ctx;
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	struct pci_bar bar[PCI_BARS];
	uint8_t cap_last; /* offset of the last capability, 0: none */
	uint8_t cap_end;  /* first free byte for the next capability */
	const struct pci_dev_ops *ops;
	void *ctx;
	const char *name; /* for --trace (vda, a tap's name); NULL: its slot */
	uint16_t devfn;	  /* slot << 3 (function 0) once pci_add() placed it: the requester id on bus 0 */
};

struct pci {
	pthread_mutex_t lock;
	uint32_t address; /* the 0xcf8 latch */
	struct pci_dev *slot[PCI_SLOTS];
	struct pci_dev host_bridge;
	uint64_t mmio_base, mmio_size, mmio_next; /* memory BAR window and its bump allocator */
	uint64_t io_base, io_size, io_next;	  /* I/O BAR window (ports) and its allocator */
};

extern const struct bus_ops pci_config_ops; /* ctx: struct pci *, on the port bus */
extern const struct bus_ops pci_mmio_ops;   /* ctx: struct pci *, over the BAR window */
extern const struct bus_ops pci_io_ops;	    /* ctx: struct pci *, over the I/O BAR window */
/*
 * ctx: struct pci *, over an ECAM window (offset = bus << 20 | device << 15
 * | function << 12 | register): bus 0, function 0, 1, 2 or 4 bytes at
 * natural alignment; registers 256-4095 of a present function read 0 (no
 * extended capabilities) and ignore writes; any other access reads all
 * ones and writes nothing.
 */
extern const struct bus_ops pci_ecam_ops;

/* Set up bus 0 with the host bridge in slot 0 and the windows of vmm/layout.h. */
__attribute__((warn_unused_result)) int pci_init(struct pci *p);
void pci_set_window(struct pci *p, uint64_t base, uint64_t size);
void pci_set_io_window(struct pci *p, uint64_t base, uint64_t size);
void pci_destroy(struct pci *p);

/* A function's configuration space as a snapshot keeps it. */
void pci_dev_save(struct pci *p, const struct pci_dev *d, uint8_t cfg[PCI_CFG_SIZE]);

/*
 * Take a snapshot's configuration space (untrusted): only the bits the guest
 * could have written change (BARs aligned as a guest write aligns them), and
 * each BAR's bar_moved() follows. The owner then acts on what its own
 * registers say (command, MSI-X control): no config_written() call is made.
 */
void pci_dev_load(struct pci *p, struct pci_dev *d, const uint8_t cfg[PCI_CFG_SIZE]);

/* Fill the identity fields of a type-0 header (and clear the rest). */
void pci_dev_header(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code);

/* Declare memory BAR `i` (a 64-bit BAR uses i and i + 1). Returns 0 or -EINVAL. */
__attribute__((warn_unused_result)) int pci_dev_add_bar(struct pci_dev *d, unsigned int i,
							uint64_t size, bool is64,
							const struct bus_ops *ops, void *ctx);

/* Declare I/O BAR `i` of `size` ports (4-256, a power of two). Returns 0 or -EINVAL. */
__attribute__((warn_unused_result)) int pci_dev_add_io_bar(struct pci_dev *d, unsigned int i,
							   uint32_t size, const struct bus_ops *ops,
							   void *ctx);

/*
 * Append a capability: `body` holds the bytes after the ID and next
 * pointer (len - 2 bytes). Returns its config offset, or -ENOSPC.
 */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned int len);

/* INTx pin A routed to I/O APIC `gsi` (reported in the interrupt line register). */
void pci_dev_set_intx(struct pci_dev *d, uint8_t gsi);

/* Current guest address of BAR `i` (0 when unset). */
uint64_t pci_dev_bar_addr(const struct pci_dev *d, unsigned int i);

/*
 * Put `d` (owned by the caller) in `slot` and give its BARs addresses in
 * the window, as firmware would. Returns 0, -EINVAL, -EEXIST or -ENOSPC.
 */
__attribute__((warn_unused_result)) int pci_add(struct pci *p, unsigned int slot,
						struct pci_dev *d);
