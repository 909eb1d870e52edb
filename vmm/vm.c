#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/seccomp.h"
#include "vmm/vcpu.h"

#define QUIESCE_TRIES 10000 /* vm_quiesce(): 10 s for the disks' requests in flight */
#define QUIESCE_WAIT_US 1000

void vm_request_stop(struct vm *vm, int status, const char *reason)
{
	int expected = 0;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, 1))
		return;
	vm->exit_status = status;
	snprintf(vm->exit_reason, sizeof(vm->exit_reason), "%s", reason);
	/* The write publishes exit_status to the main thread, which reads it after poll(). */
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_err("cannot signal the main thread: %s", strerror(errno));
}

static void hook_request(void *ctx, int status, const char *reason)
{
	vm_request_stop(ctx, status, reason);
}

int vm_set_slot(struct vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* RAM in a memfd only when a vhost-user backend must map it too (it costs more to fault in). */
static int create_memory(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t size = cfg->memory;
	int err = cfg->memory_from_file ? gm_init_file(&vm->mem, size, LAYOUT_MMIO_HOLE, cfg->memory_fd)
		  : cfg->nr_fs		? gm_init_shared(&vm->mem, size, LAYOUT_MMIO_HOLE)
					: gm_init(&vm->mem, size, LAYOUT_MMIO_HOLE);

	if (err) {
		log_err("cannot reserve %llu MiB for guest RAM: %s",
			(unsigned long long)(size >> 20), strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		const struct gm_region *r = &vm->mem.region[i];

		err = vm_set_slot(vm, VM_SLOT_RAM + i, 0, r->gpa, r->size, r->host);
		if (err) {
			log_err("KVM refused guest RAM at %#llx (%llu MiB): %s",
				(unsigned long long)r->gpa, (unsigned long long)(r->size >> 20),
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Give virtio device `vdev` its PCI function `vp` in `slot`; *wired says what to undo. */
static int plug_virtio(struct vm *vm, struct virtio_dev *vdev, struct virtio_pci *vp, bool *wired,
		       unsigned int slot, const char *what)
{
	int err = virtio_pci_init(vp, vdev, vm->vm_fd, &vm->router, &vm->io,
				  (uint8_t)arch_pci_intx_gsi(slot, 0));

	if (!err) {
		*wired = true;
		err = pci_add(&vm->pci, slot, &vp->pci);
	}
	if (err)
		log_err("cannot attach %s to PCI slot %u: %s", what, slot, strerror(-err));
	return err;
}

/* The command line's limit for poll= is the device's: one number, checked in two modules. */
_Static_assert(CLI_POLL_US_MAX == BLK_POLL_US_MAX, "--disk poll= range and virtio-blk's disagree");

/* A disk's worker thread (qcow2), as it starts: its seccomp filter. */
static int disk_thread_init(void *ctx)
{
	(void)ctx;
	return seccomp_install(SECCOMP_THREAD_DISK);
}

static int add_disk(struct vm *vm, unsigned int i, const struct cli_disk *d, struct disk **img)
{
	struct blk_options o = { .path = d->path, .disk = *img, .readonly = d->readonly,
				   .id = d->id[0] ? d->id : NULL, .sync_io = d->sync_io,
				   .poll_us = d->poll_us < 0 ? BLK_POLL_US_DEFAULT : (unsigned int)d->poll_us };
	struct vm_disk *vd = &vm->disk[i];
	unsigned int slot = LAYOUT_PCI_FIRST_SLOT + i;
	int err;

	*img = NULL; /* blk_open() takes it over, and closes it if it fails */
	if (vm->seccomp)
		o.thread_init = disk_thread_init;
	err = blk_open(&vd->blk, &o, &vm->mem, &vm->io);
	if (err)
		return err;
	vd->open = true;
	snprintf(vd->name, sizeof(vd->name), "vd%c", 'a' + (int)(i % 26));
	err = plug_virtio(vm, &vd->blk.vdev, &vd->pci, &vd->wired, slot, d->path);
	if (!err)
		virtio_pci_set_trace(&vd->pci, &vm->trace, vd->name);
	return err;
}

static int add_nic(struct vm *vm, unsigned int i, const struct cli_nic *c, int *tap_fd)
{
	struct net_options o = { .tap = c->tap, .mac_set = c->mac_set };
	struct vm_nic *vn = &vm->nic[i];
	unsigned int slot = LAYOUT_PCI_FIRST_SLOT + vm->nr_disks + i;
	int err;

	memcpy(o.mac, c->mac, sizeof(o.mac));
	err = net_attach_tap(&vn->net, *tap_fd, &o, &vm->mem, &vm->io);
	if (err)
		return err;
	*tap_fd = -1; /* the device owns it now */
	vn->open = true;
	err = plug_virtio(vm, &vn->net.vdev, &vn->pci, &vn->wired, slot, c->tap);
	if (!err)
		virtio_pci_set_trace(&vn->pci, &vm->trace, vn->net.tap);
	return err;
}

static int add_nics(struct vm *vm, const struct vm_config *cfg)
{
	if (!cfg->nr_nics)
		return 0; /* none: not even an empty array (its zeroing is pages to touch) */
	vm->nic = calloc(cfg->nr_nics, sizeof(*vm->nic));
	if (!vm->nic) {
		log_err("out of memory for the network devices");
		return -ENOMEM;
	}
	vm->nr_nics = cfg->nr_nics;
	for (unsigned int i = 0; i < cfg->nr_nics; i++) {
		int err = add_nic(vm, i, &cfg->nics[i], &cfg->tap_fds[i]);

		if (err)
			return err;
	}
	return 0;
}

static void fs_lost(void *ctx)
{
	vm_request_stop(ctx, EXIT_BACKEND_LOST, "a virtio-fs backend (virtiofsd) went away");
}

/* virtio-fs devices in the slots after the NICs, each connected to its backend now. */
static int add_fs(struct vm *vm, const struct vm_config *cfg)
{
	if (!cfg->nr_fs)
		return 0;
	vm->fs = calloc(cfg->nr_fs, sizeof(*vm->fs));
	if (!vm->fs) {
		log_err("out of memory for the virtio-fs devices");
		return -ENOMEM;
	}
	vm->nr_fs = cfg->nr_fs;
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		const struct cli_fs *c = &cfg->fs[i];
		struct fs_options o = { .tag = c->tag, .mem = &vm->mem, .loop = &vm->io,
					.lost = fs_lost, .lost_ctx = vm };
		struct vm_fs *f = &vm->fs[i];
		unsigned int slot = LAYOUT_PCI_FIRST_SLOT + vm->nr_disks + vm->nr_nics + i;
		int err = fs_open(&f->fs, c->socket, &o);

		if (err) {
			log_err("cannot use the virtio-fs backend on %s (tag %s): %s", c->socket, c->tag,
				strerror(-err));
			return err;
		}
		f->open = true;
		err = plug_virtio(vm, &f->fs.vdev, &f->pci, &f->wired, slot, c->tag);
		if (err)
			return err;
		virtio_pci_set_trace(&f->pci, &vm->trace, c->tag);
	}
	return 0;
}

/* virtio-console with the configured ports, in the slot after virtio-fs. */
static int add_console(struct vm *vm, const struct vm_config *cfg)
{
	unsigned int slot = LAYOUT_PCI_FIRST_SLOT + vm->nr_disks + vm->nr_nics + vm->nr_fs;
	int err;

	if (!cfg->nr_ports)
		return 0;
	vm->con = calloc(1, sizeof(*vm->con));
	if (!vm->con) {
		log_err("out of memory for the virtio-console");
		return -ENOMEM;
	}
	err = vconsole_init(vm->con, cfg->ports, cfg->nr_ports, &vm->mem, &vm->io);
	if (err) {
		log_err("cannot set up the virtio-console: %s", strerror(-err));
		free(vm->con);
		vm->con = NULL;
		return err;
	}
	err = plug_virtio(vm, &vm->con->vdev, &vm->con_pci, &vm->con_wired, slot, "virtio-console");
	if (!err)
		virtio_pci_set_trace(&vm->con_pci, &vm->trace, "vport");
	return err;
}

/* pvpanic in the first slot after the other devices. */
static int add_pvpanic(struct vm *vm)
{
	unsigned int slot = LAYOUT_PCI_FIRST_SLOT + vm->nr_disks + vm->nr_nics + vm->nr_fs +
			    (vm->con ? 1 : 0);
	int err = pvpanic_init(&vm->pvpanic, &vm->exit_hook);

	if (!err)
		err = pci_add(&vm->pci, slot, &vm->pvpanic.pci);
	if (err)
		log_err("cannot attach pvpanic to PCI slot %u: %s", slot, strerror(-err));
	return err;
}

/* The I/O thread's first act. */
static int io_thread_init(void *ctx)
{
	struct vm *vm = ctx;
	int err = seccomp_install(SECCOMP_THREAD_IO);

	if (err)
		vm_request_stop(vm, EXIT_SETUP, "the I/O thread has no seccomp filter");
	return err;
}

static int add_disks(struct vm *vm, const struct vm_config *cfg)
{
	int err = irq_router_init(&vm->router, vm->vm_fd);

	if (!err)
		err = evloop_init(&vm->io);
	if (err) {
		log_err("cannot create the I/O thread's event loop: %s", strerror(-err));
		return err;
	}
	vm->io_ready = true;
	if (!cfg->nr_disks)
		return 0;
	vm->disk = calloc(cfg->nr_disks, sizeof(*vm->disk));
	if (!vm->disk) {
		log_err("out of memory for the disks");
		return -ENOMEM;
	}
	vm->nr_disks = cfg->nr_disks;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		err = add_disk(vm, i, &cfg->disks[i], &cfg->disk_images[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The I/O thread starts once the VM has a source for it (a queue, a disk, a
 * tap, a timer), parked until vm_start(): its start and its filter overlap
 * the rest of the set-up, as the vCPU threads' do. A VM with none (a
 * firmware image on the serial port) runs without it.
 */
static int start_io_thread(struct vm *vm)
{
	int err;

	if (vm->io.running || !evloop_has_sources(&vm->io))
		return 0;
	if (vm->seccomp) {
		vm->io.thread_init = io_thread_init;
		vm->io.thread_init_ctx = vm;
	}
	err = evloop_start_parked(&vm->io);
	if (err)
		log_err("cannot start the I/O thread: %s", strerror(-err));
	return err;
}

int vm_watch(struct vm *vm, int fd, evloop_fn fn, void *ctx)
{
	int err = evloop_add(&vm->io, fd, fn, ctx);

	if (!err)
		err = start_io_thread(vm);
	return err;
}

/* The PCI host bridge, then the architecture's platform devices (vmm/arch.h). */
static int init_devices(struct vm *vm, const struct vm_config *cfg)
{
	int err = pci_init(&vm->pci);

	if (err) {
		log_err("cannot set up the PCI host bridge: %s", strerror(-err));
		return err;
	}
	vm->devices_ready = true;
	return arch_vm_devices(vm, cfg);
}

static int create_vcpus(struct vm *vm, unsigned int n)
{
	int err;

	vm->vcpu = calloc(n, sizeof(*vm->vcpu));
	if (!vm->vcpu) {
		log_err("out of memory for %u vCPUs", n);
		return -ENOMEM;
	}
	vm->nr_vcpus = n;
	vm->vcpu_env = (struct vcpu_env){ .pio = &vm->pio, .mmio = &vm->mmio, .trace = &vm->trace,
					  .stopping = &vm->stopping, .gate = &vm->gate,
					  .stop = vm->exit_hook, .seccomp = vm->seccomp,
					  .run_size = vm->run_size };
	for (unsigned int i = 0; i < n; i++)
		vm->vcpu[i].fd = -1;
	for (unsigned int i = 0; i < n; i++) {
		err = vcpu_create(&vm->vcpu[i], &vm->vcpu_env, vm->vm_fd, i);
		if (!err)
			err = arch_vcpu_init(vm, &vm->vcpu[i]);
		if (err) {
			log_err("cannot create vCPU %u: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * The vCPU threads start as soon as their vCPUs exist and wait at the
 * closed gate until vm_start() opens it. Starting a thread and installing
 * its seccomp filter take milliseconds where system calls are slow (the
 * emulated test hosts); this way they overlap the rest of the set-up
 * instead of delaying the guest's first instruction. A waiting thread
 * touches nothing of the VM: the main thread goes on setting registers and
 * adding devices.
 */
static int start_vcpu_threads(struct vm *vm)
{
	int err = vcpu_signal_setup();

	vcpu_gate_close(&vm->gate);
	for (unsigned int i = 0; !err && i < vm->nr_vcpus; i++)
		err = vcpu_start(&vm->vcpu[i]);
	if (err)
		log_err("cannot start vCPU threads: %s", strerror(-err));
	return err;
}

/* Wake the vCPU threads (a stop was requested), kick them out of KVM_RUN and join them. */
static void join_vcpu_threads(struct vm *vm)
{
	vcpu_gate_wake(&vm->gate); /* parked or waiting vCPUs see the stop and leave */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (atomic_load(&vm->vcpu[i].state) != VCPU_CREATED)
			vcpu_force_exit(&vm->vcpu[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (atomic_load(&vm->vcpu[i].state) == VCPU_CREATED)
			continue;
		pthread_join(vm->vcpu[i].thread, NULL);
		atomic_store(&vm->vcpu[i].state, VCPU_CREATED);
	}
}

static int open_vm(struct vm *vm)
{
	int err = kvm_open(&vm->kvm_fd);
	long sz;

	if (err)
		return err;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		err = -errno;
		log_err("cannot create a KVM virtual machine: %s", strerror(-err));
		return err;
	}
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		log_err("KVM gives no size for the vCPU's shared page (KVM_GET_VCPU_MMAP_SIZE)");
		return -EINVAL;
	}
	vm->run_size = (size_t)sz;
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->rx_space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0 || vm->rx_space_fd < 0 || vcpu_gate_init(&vm->gate)) {
		err = -errno;
		log_err("cannot create the VM's eventfds: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * vm_destroy() undoes whatever part of vm_create() succeeded, so creation
 * can fail at any step and simply hand the half-built VM to it.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = vm->rx_space_fd = vm->gate.parked_fd = -1;
	vm->seccomp = cfg->seccomp;
	vm->trace = cfg->trace;
	vm->exit_hook = (struct exit_hook){ .request = hook_request, .ctx = vm };
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	err = open_vm(vm);
	/*
	 * RAM before the irqchip: once an in-kernel irqchip exists, the first
	 * memory slot costs milliseconds more (KVM waits for readers of its
	 * interrupt routing to finish), which is most of Ember's start-up.
	 */
	if (!err)
		err = create_memory(vm, cfg);
	if (!err && cfg->firmware) {
		err = arch_load_firmware(vm, cfg->firmware, cfg->firmware_size, !cfg->memory_from_file);
		if (err)
			log_err("cannot map the firmware image: %s", strerror(-err));
	}
	/*
	 * The interrupt controller, then the vCPUs (an arm64 GIC is initialised
	 * once they all exist), then the devices, whose MSI-X vectors bind
	 * irqfds to it.
	 */
	if (!err)
		err = arch_vm_create(vm, cfg);
	if (!err)
		err = create_vcpus(vm, cfg->cpus);
	if (!err)
		err = start_vcpu_threads(vm);
	if (!err)
		err = arch_vm_finish(vm);
	if (!err)
		err = init_devices(vm, cfg);
	if (!err)
		err = add_disks(vm, cfg);
	if (!err)
		err = add_nics(vm, cfg);
	if (!err)
		err = add_fs(vm, cfg);
	if (!err)
		err = add_console(vm, cfg);
	if (!err)
		err = add_pvpanic(vm);
	if (!err)
		err = start_io_thread(vm);
	if (err)
		vm_destroy(vm);
	return err;
}

void vm_start(struct vm *vm)
{
	bus_freeze(&vm->pio);
	bus_freeze(&vm->mmio);
	/* The exit table has a slot per bus range; a bus grown past them goes untraced. */
	if (vm->pio.nr > TRACE_MAX_DEVS || vm->mmio.nr > TRACE_MAX_DEVS)
		vm->trace.stats = false;
	/* The vCPUs first: the guest's first instruction waits for nothing else. */
	vcpu_gate_open(&vm->gate);
	evloop_unpark(&vm->io);
}

void vm_stop(struct vm *vm)
{
	vm_request_stop(vm, EXIT_GUEST_OFF, "stopped");
	join_vcpu_threads(vm);
	/* No vCPU runs now: stop the I/O thread; disks finish in-flight work on close. */
	evloop_stop(&vm->io);
}

void vm_drain_console(struct vm *vm)
{
	if (vm->con)
		vconsole_drain(vm->con, 10000);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vm_log_stats(struct vm *vm)
{
	struct disk_stats ds;
	char label[48];

	for (unsigned int i = 0; vm->disk && i < vm->nr_disks; i++) {
		if (!vm->disk[i].open)
			continue;
		snprintf(label, sizeof(label), "virtio-blk vd%c", 'a' + (int)(i % 26));
		virtio_log_stats(&vm->disk[i].blk.vdev, label);
		virtio_pci_log_stats(&vm->disk[i].pci, label);
		disk_stats(vm->disk[i].blk.disk, &ds);
		if (ds.merged)
			log_info("%s: %llu requests went to the image inside a neighbour's transfer", label,
				 (unsigned long long)ds.merged);
	}
	for (unsigned int i = 0; vm->nic && i < vm->nr_nics; i++) {
		if (!vm->nic[i].open)
			continue;
		snprintf(label, sizeof(label), "virtio-net %s", vm->nic[i].net.tap);
		virtio_log_stats(&vm->nic[i].net.vdev, label);
		virtio_pci_log_stats(&vm->nic[i].pci, label);
	}
	for (unsigned int i = 0; vm->fs && i < vm->nr_fs; i++) {
		if (!vm->fs[i].open)
			continue;
		snprintf(label, sizeof(label), "virtio-fs %.30s", vm->fs[i].fs.config.tag);
		virtio_log_stats(&vm->fs[i].fs.vdev, label);
	}
	if (vm->con)
		virtio_log_stats(&vm->con->vdev, "virtio-console");
}

void vm_trace_report(const struct vm *vm)
{
	const char *pio[TRACE_MAX_DEVS], *mmio[TRACE_MAX_DEVS];
	struct trace_stats sum;
	unsigned int np = 0, nm = 0;

	if (!vm->trace.stats || !vm->nr_vcpus)
		return;
	memset(&sum, 0, sizeof(sum));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		trace_stats_add(&sum, &vm->vcpu[i].stats);
	for (; np < vm->pio.nr && np < TRACE_MAX_DEVS; np++)
		pio[np] = vm->pio.range[np].name;
	for (; nm < vm->mmio.nr && nm < TRACE_MAX_DEVS; nm++)
		mmio[nm] = vm->mmio.range[nm].name;
	trace_report(&vm->trace, &sum, pio, np, mmio, nm);
}

void vm_destroy(struct vm *vm)
{
	/*
	 * Set-up failed after the threads started (the vCPUs wait at the gate,
	 * the I/O thread parked): end them before anything they could touch goes.
	 */
	for (unsigned int i = 0; vm->vcpu && i < vm->nr_vcpus; i++) {
		if (atomic_load(&vm->vcpu[i].state) != VCPU_CREATED) {
			vm_request_stop(vm, EXIT_SETUP, "set-up failed");
			join_vcpu_threads(vm);
			break;
		}
	}
	evloop_stop(&vm->io); /* nothing if it is not running */
	for (unsigned int i = 0; vm->vcpu && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	free(vm->vcpu);
	vm->vcpu = NULL;
	for (unsigned int i = 0; vm->nic && i < vm->nr_nics; i++) {
		if (vm->nic[i].wired)
			virtio_pci_destroy(&vm->nic[i].pci);
		if (vm->nic[i].open)
			net_close(&vm->nic[i].net);
	}
	free(vm->nic);
	vm->nic = NULL;
	for (unsigned int i = 0; vm->fs && i < vm->nr_fs; i++) {
		if (vm->fs[i].wired)
			virtio_pci_destroy(&vm->fs[i].pci);
		if (vm->fs[i].open)
			fs_destroy(&vm->fs[i].fs);
	}
	free(vm->fs);
	vm->fs = NULL;
	if (vm->con_wired)
		virtio_pci_destroy(&vm->con_pci);
	vm->con_wired = false;
	if (vm->con)
		vconsole_destroy(vm->con);
	free(vm->con);
	vm->con = NULL;
	for (unsigned int i = 0; vm->disk && i < vm->nr_disks; i++) {
		if (vm->disk[i].wired)
			virtio_pci_destroy(&vm->disk[i].pci);
		if (vm->disk[i].open)
			blk_close(&vm->disk[i].blk);
	}
	free(vm->disk);
	vm->disk = NULL;
	if (vm->io_ready) {
		evloop_destroy(&vm->io);
		irq_router_destroy(&vm->router);
		vm->io_ready = false;
	}
	if (vm->devices_ready) {
		pci_destroy(&vm->pci);
		vm->devices_ready = false;
	}
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	close_fd(&vm->vm_fd); /* before unmapping what its slots point at */
	arch_vm_destroy(vm);
	gm_destroy(&vm->mem);
	close_fd(&vm->kvm_fd);
	close_fd(&vm->stop_fd);
	close_fd(&vm->rx_space_fd);
	vcpu_gate_destroy(&vm->gate);
}

/* ---- pause and resume (main thread) ---- */


int vm_pause_fd(const struct vm *vm)
{
	return vm->gate.parked_fd;
}

int vm_pause(struct vm *vm)
{
	if (vm->run_state == VM_PAUSED)
		return 1;
	if (vm->run_state == VM_RUNNING) {
		vcpu_gate_close(&vm->gate);
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (atomic_load(&vm->vcpu[i].state) == VCPU_RUNNING)
				vcpu_force_exit(&vm->vcpu[i]);
		vm->run_state = VM_PAUSING;
	}
	return vm_pause_done(vm);
}

int vm_pause_done(struct vm *vm)
{
	if (vm->run_state != VM_PAUSING)
		return vm->run_state == VM_PAUSED ? 0 : -EINVAL;
	if (!vcpu_gate_all_parked(&vm->gate))
		return -EINPROGRESS;
	arch_vm_paused(vm);
	vm->run_state = VM_PAUSED;
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (vm->run_state == VM_RUNNING)
		return 1;
	if (vm->run_state == VM_PAUSING)
		return -EBUSY;
	arch_vm_resuming(vm);
	vm->run_state = VM_RUNNING;
	vcpu_gate_open(&vm->gate);
	return 0;
}

/* Every disk idle: nothing in flight, nothing taken from a ring and unfinished. */
static bool disks_idle(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_disks; i++)
		if (!blk_idle(&vm->disk[i].blk))
			return false;
	return true;
}

int vm_quiesce(struct vm *vm)
{
	if (vm->run_state != VM_PAUSED)
		return -EINVAL;
	for (unsigned int tries = 0; tries < QUIESCE_TRIES; tries++) {
		int err = evloop_park(&vm->io);

		if (err)
			return err;
		if (disks_idle(vm))
			return 0;
		/* Requests are still completing: let the I/O thread reap them. */
		evloop_unpark(&vm->io);
		usleep(QUIESCE_WAIT_US);
	}
	return -ETIMEDOUT;
}

void vm_unquiesce(struct vm *vm)
{
	evloop_unpark(&vm->io);
}

void vm_for_each_device(const struct vm *vm, void (*fn)(void *ctx, const char *name), void *ctx)
{
	char name[64];

	for (const char *const *d = arch_device_names; *d; d++)
		fn(ctx, *d);
	for (unsigned int i = 0; vm->disk && i < vm->nr_disks; i++) {
		snprintf(name, sizeof(name), "virtio-blk %s", vm->disk[i].name);
		fn(ctx, name);
	}
	for (unsigned int i = 0; vm->nic && i < vm->nr_nics; i++) {
		snprintf(name, sizeof(name), "virtio-net %s", vm->nic[i].net.tap);
		fn(ctx, name);
	}
	for (unsigned int i = 0; vm->fs && i < vm->nr_fs; i++) {
		snprintf(name, sizeof(name), "virtio-fs %.36s", vm->fs[i].fs.config.tag);
		fn(ctx, name);
	}
	if (vm->con)
		fn(ctx, "virtio-console");
	fn(ctx, "pvpanic");
}

bool vm_exit_counts(const struct vm *vm, uint64_t count[TRACE_REASONS])
{
	if (!vm->trace.stats)
		return false;
	for (unsigned int r = 0; r < TRACE_REASONS; r++) {
		count[r] = 0;
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			count[r] += __atomic_load_n(&vm->vcpu[i].stats.count[r], __ATOMIC_RELAXED);
	}
	return true;
}

int vm_power_button(struct vm *vm)
{
	return arch_power_button(vm);
}
