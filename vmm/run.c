#include "vmm/run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/arch.h"
#include "vmm/console.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/snapshot.h"
#include "vmm/tap.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MIN_MEMORY (2ULL << 20)
#define MAX_KERNEL (512ULL << 20)
#define MAX_INITRD (2048ULL << 20)

/* The guest images, mapped before the VM exists so that bad input fails fast. */
struct images {
	struct file_map kernel, initrd, firmware;
	bool initrd_borrowed; /* the plan's, not a mapping */
	struct arch_kernel kernel_info; /* the parsed kernel (vmm/arch.h) */
	bool kernel_parsed;
};

static int check_memory(uint64_t bytes)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t host = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;

	if (bytes & 0xfff) {
		log_err("--memory must be a multiple of 4K (got %llu bytes)", (unsigned long long)bytes);
		return -EINVAL;
	}
	if (bytes < MIN_MEMORY) {
		log_err("--memory %lluK is too small: the minimum is 2M",
			(unsigned long long)(bytes >> 10));
		return -EINVAL;
	}
	if (host && bytes > host) {
		log_err("--memory %lluM is more than this host's %lluM of RAM",
			(unsigned long long)(bytes >> 20), (unsigned long long)(host >> 20));
		return -ENOMEM;
	}
	return 0;
}

static int load_images(const struct cli_config *cfg, const struct run_plan *plan,
		       struct images *img)
{
	const char *why;
	int err;

	memset(img, 0, sizeof(*img));
	if (cfg->firmware)
		return file_map(cfg->firmware, "firmware", ARCH_FIRMWARE_MAX, &img->firmware);
	err = file_map(cfg->kernel, "kernel", MAX_KERNEL, &img->kernel);
	if (err)
		return err;
	err = arch_kernel_parse(&img->kernel_info, img->kernel.data, img->kernel.size, &why);
	if (err) {
		log_err("cannot boot kernel '%s': %s", cfg->kernel, why);
		return err;
	}
	img->kernel_parsed = true;
	if (plan->initrd) { /* built in memory (exec); not ours to unmap */
		img->initrd.data = (void *)plan->initrd;
		img->initrd.size = plan->initrd_size;
		img->initrd_borrowed = true;
	} else if (cfg->initrd) {
		err = file_map(cfg->initrd, "initrd", MAX_INITRD, &img->initrd);
	}
	return err;
}

/*
 * Will the kernel (and initrd) fit the RAM asked for? arch_boot_linux()
 * checks again when it places them; this says so before /dev/kvm is opened.
 */
static int check_fit(const struct cli_config *cfg, const struct images *img)
{
	const char *why = "";
	int err;

	if (cfg->firmware)
		return 0;
	err = arch_kernel_fits(&img->kernel_info, img->initrd.size, cfg->memory, &why);
	if (err)
		log_err("cannot load kernel '%s' into %lluM of RAM: %s", cfg->kernel,
			(unsigned long long)(cfg->memory >> 20), why);
	return err;
}

/* One --disk as the disk layer opens it. */
static int open_disk(const struct cli_disk *c, struct disk **d)
{
	struct disk_options o = { .format = c->format,
				  .aio = c->sync_io ? DISK_AIO_SYNC : DISK_AIO_IO_URING,
				  .readonly = c->readonly,
				  .snapshot = c->snapshot };

	return disk_open(d, c->path, &o);
}

/* Disk images and taps, opened and checked before the VM exists. */
struct backends {
	struct disk *disk[CLI_MAX_DISKS];
	int tap_fd[CLI_MAX_NICS];
};

static void close_backends(struct backends *be)
{
	for (unsigned int i = 0; i < CLI_MAX_DISKS; i++) {
		disk_close(be->disk[i]);
		be->disk[i] = NULL;
	}
	for (unsigned int i = 0; i < CLI_MAX_NICS; i++) {
		if (be->tap_fd[i] >= 0)
			close(be->tap_fd[i]);
		be->tap_fd[i] = -1;
	}
}

/*
 * Open, check and lock every disk image and attach every tap, so that a
 * typo or a busy file is reported on any host, before /dev/kvm. A tap that
 * did not exist is created here and disappears with its fd.
 */
static int open_backends(const struct cli_config *cfg, struct backends *be)
{
	int err = 0;

	for (unsigned int i = 0; i < CLI_MAX_DISKS; i++)
		be->disk[i] = NULL;
	for (unsigned int i = 0; i < CLI_MAX_NICS; i++)
		be->tap_fd[i] = -1;
	for (unsigned int i = 0; i < cfg->nr_disks && !err; i++)
		err = open_disk(&cfg->disk[i], &be->disk[i]);
	for (unsigned int i = 0; i < cfg->nr_nics && !err; i++)
		err = tap_open(cfg->nic[i].tap, &be->tap_fd[i]);
	if (err)
		close_backends(be);
	return err;
}

static void unload_images(struct images *img)
{
	if (img->kernel_parsed)
		arch_kernel_release(&img->kernel_info);
	img->kernel_parsed = false;
	file_unmap(&img->kernel);
	if (!img->initrd_borrowed)
		file_unmap(&img->initrd);
	img->initrd = (struct file_map){ 0 };
	file_unmap(&img->firmware);
}

static int boot_linux(struct vm *vm, const struct cli_config *cfg, const struct run_plan *plan,
		      struct images *img)
{
	const char *cmdline = plan->cmdline ? plan->cmdline
			      : cfg->cmdline ? cfg->cmdline : CLI_DEFAULT_CMDLINE;
	const char *why = "";
	int err = arch_boot_linux(vm, &img->kernel_info, img->initrd.data, img->initrd.size, cmdline,
				  &why);

	if (err)
		log_err("cannot load kernel '%s' into %lluM of RAM: %s", cfg->kernel,
			(unsigned long long)(cfg->memory >> 20), why);
	return err;
}

static int open_serial_out(const struct cli_config *cfg, int *fd)
{
	*fd = -1;
	if (cfg->serial == CLI_SERIAL_STDIO)
		*fd = STDOUT_FILENO;
	if (cfg->serial != CLI_SERIAL_FILE)
		return 0;
	*fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0) {
		log_err("cannot open serial output file '%s': %s", cfg->serial_path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* --trace-file, opened with the user's other files, before /dev/kvm. */
static int open_trace(const struct cli_config *cfg, struct trace *t)
{
	t->classes = cfg->trace;
	t->stats = cfg->trace || cfg->verbose;
	t->fd = STDERR_FILENO;
	if (!cfg->trace_path)
		return 0;
	t->fd = open(cfg->trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (t->fd < 0) {
		log_err("cannot open trace file '%s': %s", cfg->trace_path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* --timeout: a timerfd on the I/O thread that stops the VM with EXIT_TIMEOUT. */
struct run_timer {
	struct vm *vm;
	int fd;
};

static void timed_out(void *ctx, uint32_t events)
{
	struct run_timer *t = ctx;
	uint64_t n;

	(void)events;
	if (read(t->fd, &n, sizeof(n)) == sizeof(n))
		vm_request_stop(t->vm, EXIT_TIMEOUT, "the time limit (--timeout) ran out");
}

static int arm_timeout(struct vm *vm, unsigned int seconds, struct run_timer *t)
{
	struct itimerspec its = { .it_value.tv_sec = seconds };
	int err;

	t->vm = vm;
	t->fd = -1;
	if (!seconds)
		return 0;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || timerfd_settime(t->fd, 0, &its, NULL)) {
		err = -errno;
		log_err("cannot set the time limit: %s", strerror(-err));
		return err;
	}
	err = vm_watch(vm, t->fd, timed_out, t);
	if (err)
		log_err("cannot set the time limit: %s", strerror(-err));
	return err;
}

/* ---- the VM as the API socket sees it (vmm/api.h, docs/api.md) ---- */

struct run_api {
	struct vm *vm;
	uint64_t started_ms; /* CLOCK_MONOTONIC when the guest started */
	const struct snapshot_source *snap;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void status_device(void *ctx, const char *name)
{
	json_cstr(ctx, name);
}

static void api_status(void *ctx, struct json_out *o)
{
	static const char *const states[] = { [VM_RUNNING] = "running", [VM_PAUSING] = "pausing",
					      [VM_PAUSED] = "paused" };
	struct run_api *r = ctx;
	uint64_t exits[TRACE_REASONS];

	json_key(o, "state");
	json_cstr(o, states[r->vm->run_state]);
	json_key(o, "uptime");
	json_millis(o, now_ms() - r->started_ms);
	json_key(o, "vcpus");
	json_uint(o, r->vm->nr_vcpus);
	json_key(o, "memory");
	json_uint(o, r->vm->mem.ram_size);
	json_key(o, "devices");
	json_array_begin(o);
	vm_for_each_device(r->vm, status_device, o);
	json_array_end(o);
	if (!vm_exit_counts(r->vm, exits))
		return; /* counted with -v or --trace only */
	json_key(o, "exits");
	json_begin(o);
	for (unsigned int i = 0; i < TRACE_REASONS; i++) {
		json_key(o, trace_reason_name(i));
		json_uint(o, exits[i]);
	}
	json_end(o);
}

static int api_pause(void *ctx)
{
	return vm_pause(((struct run_api *)ctx)->vm);
}

static int api_pause_done(void *ctx)
{
	return vm_pause_done(((struct run_api *)ctx)->vm);
}

static int api_resume(void *ctx)
{
	return vm_resume(((struct run_api *)ctx)->vm);
}

static void api_poweroff(void *ctx)
{
	vm_request_stop(((struct run_api *)ctx)->vm, EXIT_POWEROFF,
			"poweroff requested on the API socket");
}

static int api_shutdown(void *ctx)
{
	return vm_power_button(((struct run_api *)ctx)->vm);
}

#define SNAPSHOT_PAUSE_WAIT_MS 5000

/* Pause and wait for it here: 0 (also when it was paused already) or -errno. */
static int pause_now(struct vm *vm)
{
	int r = vm_pause(vm);

	for (unsigned int ms = 0; r == -EINPROGRESS && ms < SNAPSHOT_PAUSE_WAIT_MS; ms++) {
		struct pollfd p = { .fd = vm_pause_fd(vm), .events = POLLIN };

		poll(&p, 1, 1);
		r = vm_pause_done(vm);
	}
	return r == -EINPROGRESS ? -ETIMEDOUT : r < 0 ? r : 0;
}

/* snapshot (docs/snapshot.md): pause, quiesce, save; then as before, or stop. */
static int api_snapshot(void *ctx, const char *dir, bool stop, struct json_out *o, char *why,
			size_t why_len)
{
	struct run_api *r = ctx;
	bool was_paused = r->vm->run_state == VM_PAUSED;
	struct snapshot_result res;
	char w[SNAPFILE_WHY_MAX] = "";
	uint64_t t0, ms = 0;
	int err;

	if (r->snap->refuse[0]) {
		snprintf(why, why_len, "%s", r->snap->refuse);
		return -ENOTSUP;
	}
	err = pause_now(r->vm);
	if (err) {
		snprintf(why, why_len, "the vCPUs did not pause: %s", strerror(-err));
		return err;
	}
	err = vm_quiesce(r->vm);
	if (err) {
		snprintf(why, why_len, "the disks did not settle: %s", strerror(-err));
	} else {
		t0 = now_ms();
		err = snapshot_save(r->vm, r->snap, dir, &res, w);
		ms = now_ms() - t0;
		vm_unquiesce(r->vm);
		if (err)
			snprintf(why, why_len, "%s", w);
	}
	if (!err && stop)
		vm_request_stop(r->vm, EXIT_GUEST_OFF, "stopped after a snapshot");
	else if (!was_paused && vm_resume(r->vm) < 0)
		log_warn("cannot resume after the snapshot");
	if (err)
		return err;
	log_info("snapshot in %s: %llu KiB of state, %llu KiB of memory, %llu ms", dir,
		 (unsigned long long)(res.state_bytes >> 10),
		 (unsigned long long)(res.memory_bytes >> 10), (unsigned long long)ms);
	json_key(o, "state");
	json_cstr(o, stop ? "stopping" : was_paused ? "paused" : "running");
	json_key(o, "state_bytes");
	json_uint(o, res.state_bytes);
	json_key(o, "memory_bytes");
	json_uint(o, res.memory_bytes);
	json_key(o, "touched_bytes");
	json_uint(o, res.touched_bytes);
	json_key(o, "time");
	json_millis(o, ms);
	return 0;
}

static unsigned int api_fill(void *ctx, struct pollfd *pfd, unsigned int max)
{
	return api_poll_fill(ctx, pfd, max);
}

static void api_ready(void *ctx, const struct pollfd *pfd, unsigned int n)
{
	api_poll_ready(ctx, pfd, n);
}

/* Requests are served from here on, by the main loop. */
static void attach_api(struct api *api, struct run_api *ra)
{
	struct api_vm ops = { .status = api_status, .pause = api_pause,
			      .pause_done = api_pause_done, .pause_fd = vm_pause_fd(ra->vm),
			      .resume = api_resume, .poweroff = api_poweroff,
			      .shutdown = api_shutdown, .snapshot = api_snapshot, .ctx = ra };

	ra->started_ms = now_ms();
	api_attach(api, &ops);
}

static int start_and_wait(struct vm *vm, const struct cli_config *cfg, const struct run_plan *plan,
			  struct api *api, const struct snapshot_source *snap)
{
	struct console_source api_src = { .fill = api_fill, .ready = api_ready, .ctx = api };
	struct seccomp_extra sx = { .api_dir_fd = api ? api->dir_fd : -1 };
	struct run_api ra = { .vm = vm, .snap = snap };
	struct run_timer timer;
	struct console con;
	int status, err;

	/* The console reads stdin only when it is the guest's serial input (not in exec). */
	err = console_open(&con, cfg->serial == CLI_SERIAL_STDIO && !plan->ports ? STDIN_FILENO : -1);
	if (err) {
		log_err("cannot set up the console: %s", strerror(-err));
		return EXIT_SETUP;
	}
	status = arm_timeout(vm, plan->timeout, &timer) ? EXIT_SETUP : 0;
	if (!status) {
		vm_start(vm);
		if (cfg->seccomp && seccomp_install_extra(SECCOMP_THREAD_MAIN, &sx)) {
			vm_request_stop(vm, EXIT_SETUP, "the main thread has no seccomp filter");
			status = EXIT_SETUP;
		}
	}
	if (!status) {
		/* From here on (with seccomp) every thread runs under its filter. */
		struct console_vm cv = { .stop_fd = vm->stop_fd, .exit_status = &vm->exit_status,
					 .uart = vm->uart, .rx_space_fd = vm->rx_space_fd,
					 .extra = api ? &api_src : NULL };

		if (api)
			attach_api(api, &ra);
		status = console_loop(&con, &cv);
	}
	/* A stop the loop saw itself (a signal, Ctrl-A x) gets its reason; else the request's stays. */
	vm_request_stop(vm, status, status == EXIT_USER_QUIT ? "quit from the console"
				    : status > 128 ? "stopped by a signal" : "stopped");
	vm_stop(vm);
	if (api)
		api_stopping(api, status, vm->exit_reason); /* every thread that could set it is joined */
	vm_drain_console(vm);
	if (timer.fd >= 0)
		close(timer.fd);
	console_close(&con);
	vm_trace_report(vm);
	if (vm->exit_reason[0])
		log_info("%s", vm->exit_reason);
	if (log_get_level() >= LOG_INFO) {
		log_info("guest RAM touched: %llu KiB",
			 (unsigned long long)(gm_resident(&vm->mem) >> 10));
		vm_log_stats(vm);
	}
	if (api)
		api_exit(api, status);
	return status;
}

int run_vm(const struct cli_config *cfg)
{
	struct run_plan plan = { .fs = cfg->fs, .nr_fs = cfg->nr_fs };

	return run_vm_plan(cfg, &plan);
}

/*
 * --restore DIR: the snapshot is read and checked first; the machine it
 * describes (memory, vCPUs, disks, NICs) replaces the command line's.
 * Returns the configuration to run with (`given`, or a copy in *copy).
 */
static const struct cli_config *open_restore(const struct cli_config *given,
					     struct snapshot_image *snap, struct cli_config **copy)
{
	*copy = NULL;
	if (!given->restore)
		return given;
	if (snapshot_open(snap, given->restore))
		return NULL;
	*copy = malloc(sizeof(**copy));
	if (!*copy) {
		log_err("out of memory");
		return NULL;
	}
	**copy = *given;
	snapshot_to_cli(snap, *copy);
	return *copy;
}

/* The guest's first state: a Linux kernel loaded, a firmware at its reset vector, or a snapshot. */
static int set_up_guest(struct vm *vm, const struct cli_config *cfg, const struct run_plan *plan,
			struct images *img, struct snapshot_image *snap)
{
	if (cfg->restore)
		return snapshot_load(vm, snap);
	const char *why = "";
	int err;

	if (!cfg->firmware)
		return boot_linux(vm, cfg, plan, img);
	err = arch_start_firmware(vm, &why);
	if (err)
		log_err("cannot start firmware '%s': %s", cfg->firmware, why);
	return err;
}

int run_vm_plan(const struct cli_config *given, const struct run_plan *plan)
{
	struct api api = { .listen_fd = -1, .dir_fd = -1 };
	struct snapshot_source *src = NULL; /* with --api only: snapshots are taken through it */
	struct cli_config *copy = NULL;
	struct snapshot_image snap;
	const struct cli_config *cfg;
	struct vm_config vc = { 0 };
	struct backends be;
	struct images img;
	struct vm vm;
	int status = EXIT_SETUP;

	/* Everything the user gave is checked first; /dev/kvm is opened last (vm_create). */
	memset(&img, 0, sizeof(img));
	snapshot_image_init(&snap);
	cfg = open_restore(given, &snap, &copy);
	if (!cfg || check_memory(cfg->memory) ||
	    (!cfg->restore && (load_images(cfg, plan, &img) || check_fit(cfg, &img))))
		goto out_images;
	if (cfg->dump_dtb) {
		status = arch_dump_dtb(cfg, &img.kernel_info, img.initrd.size, cfg->dump_dtb) ? EXIT_SETUP
											       : 0;
		goto out_images;
	}
	vc.memory = cfg->memory;
	vc.cpus = cfg->cpus;
	if (open_backends(cfg, &be))
		goto out_images;
	if (cfg->restore && snapshot_check_disks(&snap, be.disk))
		goto out_backends;
	if (cfg->api_path) {
		src = malloc(sizeof(*src));
		if (!src) {
			log_err("out of memory");
			goto out_backends;
		}
		snapshot_describe(src, cfg, be.disk, plan->nr_fs || plan->nr_ports);
	}
	if (open_trace(cfg, &vc.trace))
		goto out_backends;
	if (open_serial_out(cfg, &vc.serial_out_fd))
		goto out_trace;
	/* The API socket is the user's path too: checked (and refused if live) before /dev/kvm. */
	if (cfg->api_path && api_open(&api, cfg->api_path))
		goto out_serial;
	vc.disks = cfg->disk;
	vc.disk_images = be.disk;
	vc.nr_disks = cfg->nr_disks;
	vc.nics = cfg->nic;
	vc.tap_fds = be.tap_fd;
	vc.nr_nics = cfg->nr_nics;
	vc.seccomp = cfg->seccomp;
	vc.ports = plan->ports;
	vc.nr_ports = plan->nr_ports;
	vc.fs = plan->fs;
	vc.nr_fs = plan->nr_fs;
	vc.firmware = cfg->restore ? snap.firmware : img.firmware.data;
	vc.firmware_size = cfg->restore ? snap.firmware_size : img.firmware.size;
	vc.memory_from_file = cfg->restore != NULL;
	vc.memory_fd = snap.mem_fd;
	/*
	 * Before any thread starts (a qcow2 disk's worker and the vCPU threads
	 * start in vm_create()): the SIGSYS handler, and the termination signals
	 * held for the console loop.
	 */
	if (console_hold_signals()) {
		log_err("cannot block the termination signals");
		goto out_api;
	}
	if ((cfg->seccomp && seccomp_prepare()) || vm_create(&vm, &vc))
		goto out_api;
	if (plan->created)
		plan->created(plan->ctx, &vm);
	if (set_up_guest(&vm, cfg, plan, &img, &snap))
		goto out_vm;
	/* The images are in guest RAM now; drop the host mappings before the guest runs. */
	unload_images(&img);
	snapshot_close(&snap);
	status = start_and_wait(&vm, cfg, plan, cfg->api_path ? &api : NULL, src);
out_vm:
	vm_destroy(&vm);
out_api:
	api_close(&api);
out_serial:
	if (cfg->serial == CLI_SERIAL_FILE && vc.serial_out_fd >= 0)
		close(vc.serial_out_fd);
out_trace:
	if (vc.trace.fd != STDERR_FILENO)
		close(vc.trace.fd);
out_backends:
	close_backends(&be);
out_images:
	unload_images(&img);
	snapshot_close(&snap);
	free(copy);
	free(src);
	return status;
}
