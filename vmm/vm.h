#pragma once
/*
 * A virtual machine: KVM handles, guest memory, the two buses, platform
 * devices and the vCPUs.
 *
 * Threads: the main thread builds the VM, starts one thread per vCPU and
 * then runs the console loop (vmm/console.c) until a stop is requested.
 * The I/O thread (vmm/evloop.c) serves virtio queue kicks and disk
 * completions.
 *
 * Lock order: pci.lock -> virtio_dev.lock -> msix.lock -> router.lock. A
 * vCPU thread holds no lock of its own while it calls into a device; the
 * serial lock and the vCPU gate's lock (pause) are leaves.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "devices/pci.h"
#include "devices/pvpanic.h"
#include "devices/uart.h"
#include "virtio/blk.h"
#include "virtio/fs.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "virtio/vconsole.h"
#include "vmm/arch.h"
#include "vmm/cli.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"
#include "vmm/bus.h"
#include "vmm/exit.h"
#include "vmm/gm.h"
#include "vmm/log.h"
#include "vmm/trace.h"
#include "vmm/vcpu.h"

struct vm_config {
	uint64_t memory;
	unsigned int cpus;
	int serial_out_fd; /* -1: guest serial output discarded */
	const void *firmware; /* raw image to map below 4 GiB, or NULL */
	size_t firmware_size;
	const struct cli_disk *disks;
	struct disk **disk_images; /* nr_disks, opened before the VM: vm_create() takes them (sets NULL) */
	unsigned int nr_disks;
	const struct cli_nic *nics;
	int *tap_fds; /* nr_nics taps opened before the VM: vm_create() takes them (sets -1) */
	unsigned int nr_nics;
	const struct vconsole_port_cfg *ports; /* a virtio-console device with these ports, or NULL */
	unsigned int nr_ports;
	const struct cli_fs *fs; /* virtio-fs devices on vhost-user backends (RAM then shared) */
	unsigned int nr_fs;
	bool seccomp; /* each thread installs its seccomp filter once set up */
	struct trace trace; /* --trace and -v: exit lines and the exit table */
	bool memory_from_file; /* restore: RAM is memory_fd, mapped copy-on-write (gm_init_file()) */
	int memory_fd;
};

/* A disk: the virtio-blk device and its PCI function. */
struct vm_disk {
	char name[8]; /* vda, vdb, ...: as the guest names it */
	struct blk blk;
	struct virtio_pci pci;
	bool open, wired;
};

/* A network device: virtio-net on a tap, and its PCI function. */
struct vm_nic {
	struct net net;
	struct virtio_pci pci;
	bool open, wired;
};

/* A virtio-fs device on a vhost-user backend, and its PCI function. */
struct vm_fs {
	struct fs fs;
	struct virtio_pci pci;
	bool open, wired;
};

/* Pause state, as the main thread sees it (vm_pause(), vm_resume()). */
enum vm_run_state {
	VM_RUNNING,
	VM_PAUSING, /* gate closed, vCPUs kicked, not all parked yet */
	VM_PAUSED,  /* every vCPU parked, kvmclock saved */
};

struct vm {
	int kvm_fd, vm_fd;
	struct gm mem;
	struct bus pio, mmio;
	struct vcpu *vcpu;
	unsigned int nr_vcpus;
	struct vcpu_env vcpu_env; /* what every vCPU thread reads of the VM */
	struct vcpu_gate gate;	  /* where vCPUs park while paused */
	enum vm_run_state run_state; /* main thread only */
	size_t run_size;
	struct arch_vm arch; /* what only this architecture has (vmm/arch.h) */

	struct uart uart; /* the console's view of the platform UART (set by arch_vm_devices()) */
	struct pci pci;
	struct irq_router router;
	struct evloop io; /* the I/O thread */
	bool io_ready;
	struct vm_disk *disk;
	unsigned int nr_disks;
	struct vm_nic *nic;
	unsigned int nr_nics;
	struct vm_fs *fs;
	unsigned int nr_fs;
	struct vconsole *con; /* virtio-console (exec), or NULL */
	struct virtio_pci con_pci;
	bool con_wired;
	struct exit_hook exit_hook; /* devices' way to stop the VM */
	struct pvpanic pvpanic;	    /* in the PCI slot after the NICs */
	bool devices_ready;
	bool seccomp; /* vCPU and I/O threads install their seccomp filters */
	struct trace trace; /* read-only once the vCPUs run */

	int stop_fd;	    /* eventfd: a stop was requested */
	int rx_space_fd;    /* eventfd: the serial RX FIFO drained */
	atomic_int stopping; /* set once, by the first stop request */
	int exit_status;     /* written before stop_fd is signalled */
	char exit_reason[128];
};

/*
 * Create the VM from images and taps the caller has opened (every check of
 * the user's files comes before /dev/kvm): KVM handles, RAM, the firmware image if any (mapped to end
 * at 4 GiB, its last 128 KiB also copied below 1 MiB), irqchip, PIT, buses,
 * platform devices and `cpus` vCPUs with CPUID set, their threads and the I/O
 * thread (if a device has a source for it) started and waiting for
 * vm_start() (with seccomp, each under its filter already). Each disk image and tap fd
 * it took over is marked closed in `cfg` (fd -1) and closed by vm_destroy();
 * what it did not take stays the caller's to close. Logs the cause and
 * returns -errno on failure, with everything undone.
 */
__attribute__((warn_unused_result)) int vm_create(struct vm *vm, const struct vm_config *cfg);

/*
 * Watch `fd` on the I/O thread (`fn(ctx, events)` runs there), starting
 * the thread if the VM had no source for it yet. Before vm_start(). 0 or -errno.
 */
__attribute__((warn_unused_result)) int vm_watch(struct vm *vm, int fd, evloop_fn fn, void *ctx);

/* KVM memory slots: RAM (below and above the hole), then a firmware image. */
#define VM_SLOT_RAM 0
#define VM_SLOT_FIRMWARE 2

/* Map host memory `host` at guest range [gpa, gpa + size) in `slot`. 0 or -errno. */
__attribute__((warn_unused_result)) int vm_set_slot(struct vm *vm, uint32_t slot, uint32_t flags,
						    uint64_t gpa, uint64_t size, void *host);
void vm_destroy(struct vm *vm);

/* Log each virtio queue's kicks and interrupts (info level): disks as vda,
 * vdb..., network devices by their tap. */
void vm_log_stats(struct vm *vm);

/* Write the exit table (--trace, -v) once the vCPU threads are joined. */
void vm_trace_report(const struct vm *vm);

/* Ask the VM to stop with `status` (first request wins). Thread-safe. */
void vm_request_stop(struct vm *vm, int status, const char *reason);

/*
 * Press the ACPI power button: the Generic Event Device's interrupt, whose
 * _EVT notifies the button device (boot/acpi.c). The guest decides what to
 * do (Linux reports KEY_POWER; an init or acpid usually powers off).
 * Returns 0 or -errno. Any thread.
 */
__attribute__((warn_unused_result)) int vm_power_button(struct vm *vm);

/*
 * Let the threads that vm_create() started go: the vCPU threads (waiting at
 * the closed gate) enter the guest, the I/O thread (parked, if there is
 * one) serves its sources. With vm->seccomp each installed its filter before it waited.
 */
void vm_start(struct vm *vm);

/* Kick every vCPU out of KVM_RUN (also out of a pause) and join the threads. */
void vm_stop(struct vm *vm);

/*
 * Pause the guest (main thread): close the vCPU gate and kick every vCPU
 * out of KVM_RUN. Returns 1 if it was already paused, 0 once every vCPU is
 * parked and kvmclock is saved, or -EINPROGRESS: then call vm_pause_done()
 * when vm_pause_fd() is readable. Devices' I/O (the I/O thread) goes on.
 */
__attribute__((warn_unused_result)) int vm_pause(struct vm *vm);

/* The fd that becomes readable when the last vCPU parks. */
int vm_pause_fd(const struct vm *vm);

/* After vm_pause_fd() became readable: 0 once paused, -EINPROGRESS while not yet. */
__attribute__((warn_unused_result)) int vm_pause_done(struct vm *vm);

/*
 * Resume (main thread): put kvmclock back where the pause left it, so the
 * guest's clock does not jump by the time it was paused, and open the gate.
 * Returns 1 if it was running, 0 when resumed, -EBUSY while a pause is
 * still completing.
 */
__attribute__((warn_unused_result)) int vm_resume(struct vm *vm);

/*
 * With the VM paused (main thread): let the disks' requests in flight
 * complete, then park the I/O thread, so that no device moves until
 * vm_unquiesce(). 0, -EINVAL (not paused) or -ETIMEDOUT (a disk did not
 * finish within 10 s; nothing is parked then).
 */
__attribute__((warn_unused_result)) int vm_quiesce(struct vm *vm);
void vm_unquiesce(struct vm *vm);

/* Call fn(ctx, name) for each device, as the status request lists them ("virtio-blk vda"). */
void vm_for_each_device(const struct vm *vm, void (*fn)(void *ctx, const char *name), void *ctx);

/* Exits per reason so far, every vCPU's added up; false when they are not counted (-v, --trace). */
bool vm_exit_counts(const struct vm *vm, uint64_t count[TRACE_REASONS]);

/* After vm_stop(): write out the guest's last console output (vconsole_drain()). */
void vm_drain_console(struct vm *vm);
