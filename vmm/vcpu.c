#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/seccomp.h"

#define SIG_FORCE_EXIT SIGUSR1
#define UNMAPPED_LOG_BURST 20

static void force_exit_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

int vcpu_signal_setup(void)
{
	struct sigaction sa = { .sa_handler = force_exit_handler }; /* no SA_RESTART: KVM_RUN returns EINTR */

	sigemptyset(&sa.sa_mask);
	return sigaction(SIG_FORCE_EXIT, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vcpu *v, const struct vcpu_env *env, int vm_fd, unsigned int id)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->env = env;
	v->id = id;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		goto err_fd;
	}
	atomic_store(&v->state, VCPU_CREATED);
	return 0;

err_fd:
	close(v->fd);
	v->fd = -1;
	return err;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->fd < 0)
		return;
	munmap(v->run, v->env->run_size);
	close(v->fd);
	v->fd = -1;
}

/*
 * --trace, -v: note which bus range took the access (its slot in the exit
 * table) and write the trace line. Only called when tracing, so that the
 * exit path pays nothing for it otherwise.
 */
static void note_access(struct vcpu *v, bool mmio, uint64_t addr, const void *data, uint32_t len,
			uint32_t count, bool is_write)
{
	const struct bus *b = mmio ? v->env->mmio : v->env->pio;
	const struct bus_range *r = bus_find(b, addr, len);
	size_t i = r ? (size_t)(r - b->range) : TRACE_MAX_DEVS;
	char name[64], what[40];

	if (i < TRACE_MAX_DEVS)
		v->trace_dev = (unsigned int)i + (mmio ? TRACE_MAX_DEVS : 0);
	else
		v->trace_dev = 2 * TRACE_MAX_DEVS + (mmio ? 1 : 0); /* unhandled */
	if (!(v->env->trace->classes & (mmio ? TRACE_MMIO : TRACE_IO)))
		return; /* counted for the table (-v), no line to write */
	if (r && r->ops->describe) {
		r->ops->describe(r->ctx, addr - r->base, what, sizeof(what));
		snprintf(name, sizeof(name), "%s (%s)", r->name, what); /* a window: whose BAR */
	}
	trace_access(v->env->trace, v->id, mmio, is_write, addr, len, data, count,
		     r && r->ops->describe ? name : r ? r->name : NULL);
}

static bool tracing(const struct vcpu *v)
{
	return v->env->trace->classes || v->env->trace->stats;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset, *first = data;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep ins/outs) comes as `count` accesses of `size` bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (bus_access(v->env->pio, run->io.port, data, run->io.size, out) &&
		    log_limit_ok(&v->unmapped_log, UNMAPPED_LOG_BURST, LOG_DEBUG))
			log_debug("vCPU %u: %s unmapped port %#x (%u bytes)", v->id, out ? "write to" : "read from",
				  run->io.port, run->io.size);
	}
	if (tracing(v))
		note_access(v, false, run->io.port, first, run->io.size, run->io.count, out);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (bus_access(v->env->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write) &&
	    log_limit_ok(&v->unmapped_log, UNMAPPED_LOG_BURST, LOG_DEBUG))
		log_debug("vCPU %u: %s unmapped MMIO %#llx (%u bytes)", v->id,
			  run->mmio.is_write ? "write to" : "read from", run->mmio.phys_addr, len);
	if (tracing(v))
		note_access(v, true, run->mmio.phys_addr, run->mmio.data, len, 1, run->mmio.is_write);
}

static void guest_failed(struct vcpu *v, int status, const char *what)
{
	trace_event(v->env->trace, v->id, TRACE_SHUTDOWN, what);
	log_err("vCPU %u: %s", v->id, what);
	arch_vcpu_dump(v->fd, v->id);
	exit_request(&v->env->stop, status, what);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		trace_event(v->env->trace, v->id, TRACE_SHUTDOWN, "system-event power-off");
		exit_request(&v->env->stop, EXIT_GUEST_OFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		trace_event(v->env->trace, v->id, TRACE_SHUTDOWN, "system-event reset");
		exit_request(&v->env->stop, EXIT_GUEST_OFF, "guest rebooted");
		break;
	default:
		guest_failed(v, EXIT_INTERNAL, "guest crashed (system event)");
		break;
	}
}

/* Handle one exit. Returns false when this vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char msg[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		trace_event(v->env->trace, v->id, TRACE_HLT, "hlt");
		exit_request(&v->env->stop, EXIT_GUEST_OFF, "guest halted");
		return false;
	case KVM_EXIT_SHUTDOWN:
		guest_failed(v, EXIT_TRIPLE_FAULT, "guest triple fault (shutdown)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg), "VM entry failed, hardware reason %#llx",
			 run->fail_entry.hardware_entry_failure_reason);
		guest_failed(v, EXIT_FAIL_ENTRY, msg);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "KVM internal error, suberror %u", run->internal.suberror);
		guest_failed(v, EXIT_INTERNAL, msg);
		return false;
	default:
		snprintf(msg, sizeof(msg), "unexpected KVM exit reason %u", run->exit_reason);
		guest_failed(v, EXIT_INTERNAL, msg);
		return false;
	}
}

static enum trace_reason reason_of(uint32_t exit_reason)
{
	switch (exit_reason) {
	case KVM_EXIT_IO: return TRACE_R_IO;
	case KVM_EXIT_MMIO: return TRACE_R_MMIO;
	case KVM_EXIT_HLT: return TRACE_R_HLT;
	case KVM_EXIT_INTR: return TRACE_R_INTR;
	case KVM_EXIT_SHUTDOWN: return TRACE_R_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT: return TRACE_R_SYSTEM;
	default: return TRACE_R_OTHER;
	}
}

/* handle_exit(), counted and timed for the exit table (--trace, -v). */
static bool handle_exit_counted(struct vcpu *v)
{
	enum trace_reason r = reason_of(v->run->exit_reason);
	uint64_t t0 = trace_now_ns(), dt;
	bool more = handle_exit(v);

	dt = trace_now_ns() - t0;
	/* Only this thread writes the count; the status request reads it meanwhile (vm_exit_counts()). */
	__atomic_store_n(&v->stats.count[r], v->stats.count[r] + 1, __ATOMIC_RELAXED);
	v->stats.ns[r] += dt;
	if (r == TRACE_R_IO || r == TRACE_R_MMIO) {
		v->stats.dev_count[v->trace_dev]++;
		v->stats.dev_ns[v->trace_dev] += dt;
	}
	return more;
}

int vcpu_gate_init(struct vcpu_gate *g)
{
	memset(g, 0, sizeof(*g));
	g->parked_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->parked_fd < 0)
		return -errno;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	atomic_store(&g->closed, false);
	return 0;
}

void vcpu_gate_destroy(struct vcpu_gate *g)
{
	if (g->parked_fd < 0)
		return;
	close(g->parked_fd);
	g->parked_fd = -1;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void vcpu_gate_close(struct vcpu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	atomic_store(&g->closed, true);
	pthread_mutex_unlock(&g->lock);
}

void vcpu_gate_open(struct vcpu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	atomic_store(&g->closed, false);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void vcpu_gate_wake(struct vcpu_gate *g)
{
	pthread_mutex_lock(&g->lock);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

bool vcpu_gate_all_parked(struct vcpu_gate *g)
{
	uint64_t n;
	bool all;

	if (read(g->parked_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("vCPU gate eventfd: %s", strerror(errno));
	pthread_mutex_lock(&g->lock);
	all = atomic_load(&g->closed) && g->parked == g->running;
	pthread_mutex_unlock(&g->lock);
	return all;
}

/* Under g->lock: tell the main thread when the last running vCPU has parked. */
static void gate_note(struct vcpu_gate *g)
{
	uint64_t one = 1;

	if (atomic_load(&g->closed) && g->parked == g->running &&
	    write(g->parked_fd, &one, sizeof(one)) < 0)
		log_err("cannot tell the main thread the vCPUs are parked: %s", strerror(errno));
}

static bool handle_any_exit(struct vcpu *v)
{
	return v->env->trace->stats ? handle_exit_counted(v) : handle_exit(v);
}

/*
 * KVM finishes an exit's I/O (an IN's value into RAX, an MMIO read's into
 * its register) only on the next KVM_RUN: enter once with immediate_exit
 * set, so that a paused vCPU's registers are whole when a snapshot reads
 * them. A string instruction may exit again before it is done; those exits
 * are served as usual, a bounded number of times.
 */
static void complete_io(struct vcpu *v)
{
	for (unsigned int i = 0; i < 64 && !atomic_load(v->env->stopping); i++) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(v->fd, KVM_RUN, 0) < 0 || !handle_any_exit(v))
			return; /* EINTR: nothing pending; a failing exit has asked for a stop */
	}
}

/*
 * Wait at the closed gate until it opens or a stop is requested. A thread
 * waiting here counts as parked: a pause sees it so whether it waits since
 * it started or since the last pause closed the gate.
 */
static void wait_at_gate(struct vcpu *v)
{
	struct vcpu_gate *g = v->env->gate;

	pthread_mutex_lock(&g->lock);
	g->parked++;
	gate_note(g);
	while (atomic_load(&g->closed) && !atomic_load(v->env->stopping))
		pthread_cond_wait(&g->cond, &g->lock);
	g->parked--;
	pthread_mutex_unlock(&g->lock);
	/*
	 * The kick of the pause set immediate_exit; clear it before the next
	 * KVM_RUN. A pause or stop that comes after this store sets it again,
	 * and the loop checks both flags after it (all sequentially consistent).
	 */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/*
 * The VM is paused: finish the last exit's I/O, then wait at the gate.
 * Called at the top of the loop, with no device lock held.
 */
static void park(struct vcpu *v)
{
	complete_io(v);
	wait_at_gate(v);
}

/* The thread leaves its loop: a pause no longer waits for it. */
static void leave_loop(struct vcpu *v)
{
	struct vcpu_gate *g = v->env->gate;

	pthread_mutex_lock(&g->lock);
	g->running--;
	gate_note(g);
	pthread_mutex_unlock(&g->lock);
	atomic_store(&v->state, VCPU_STOPPED);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	if (v->env->seccomp && seccomp_install(SECCOMP_THREAD_VCPU)) {
		exit_request(&v->env->stop, EXIT_SETUP, "a vCPU thread has no seccomp filter");
		leave_loop(v);
		return NULL;
	}
	/*
	 * The gate is closed while the VM is set up, until vm_start() opens
	 * it. The thread has not entered KVM_RUN: there is no exit to
	 * complete (park() would), and the main thread may still set its
	 * registers.
	 */
	wait_at_gate(v);
	while (!atomic_load(v->env->stopping)) {
		if (atomic_load(&v->env->gate->closed)) {
			park(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_err("vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			exit_request(&v->env->stop, EXIT_INTERNAL, "KVM_RUN failed");
			break;
		}
		if (!handle_any_exit(v))
			break;
	}
	leave_loop(v);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	struct vcpu_gate *g = v->env->gate;
	int err;

	atomic_store(&v->state, VCPU_RUNNING);
	pthread_mutex_lock(&g->lock);
	g->running++; /* before the thread exists: a pause right after start waits for it */
	pthread_mutex_unlock(&g->lock);
	err = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (err) {
		pthread_mutex_lock(&g->lock);
		g->running--;
		gate_note(g);
		pthread_mutex_unlock(&g->lock);
		atomic_store(&v->state, VCPU_CREATED);
		return -err;
	}
	return 0;
}

void vcpu_force_exit(struct vcpu *v)
{
	/* immediate_exit covers a vCPU that is between its stop check and KVM_RUN. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->state) == VCPU_RUNNING)
		pthread_kill(v->thread, SIG_FORCE_EXIT);
}
