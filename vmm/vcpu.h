#pragma once
/*
 * One vCPU: its thread, its KVM_RUN loop and the handling of every exit.
 * A vCPU sees of the VM only its struct vcpu_env: the two buses it sends
 * accesses to, the trace settings, the stop flag and the way to ask for a
 * stop. It knows nothing of struct vm.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/bus.h"
#include "vmm/exit.h"
#include "vmm/log.h"
#include "vmm/trace.h"

enum vcpu_state {
	VCPU_CREATED, /* fd and registers set; no thread (not started, or joined) */
	VCPU_RUNNING, /* thread in its KVM_RUN loop */
	VCPU_STOPPED, /* thread has left its loop and may be joined */
};

/*
 * Where vCPU threads wait while the VM is paused (vm_pause()). The main
 * thread closes the gate and kicks every vCPU out of KVM_RUN; each vCPU
 * thread, at the top of its loop (holding no lock of a device), parks on
 * `cond` until the gate opens or a stop is requested. The last vCPU to park
 * writes `parked_fd`, which the main thread polls, so nothing waits for
 * the vCPUs with a lock held. `lock` is a leaf: nothing else is taken under it.
 */
struct vcpu_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* parked vCPUs wait here */
	atomic_bool closed;	/* written under lock; read without it at the top of each loop */
	unsigned int running;	/* vCPU threads in their loop (under lock) */
	unsigned int parked;	/* of those, waiting at the gate (under lock) */
	int parked_fd;		/* eventfd: every running vCPU is parked */
};

/* The VM as its vCPU threads see it; read-only once they run. */
struct vcpu_env {
	const struct bus *pio, *mmio; /* frozen before the gate first opens: lookups take no lock */
	const struct trace *trace;
	const atomic_int *stopping; /* set once a stop was requested */
	struct vcpu_gate *gate;	    /* where the thread parks while the VM is paused */
	struct exit_hook stop;	    /* asks the VM to stop (first request wins) */
	bool seccomp;		    /* install the vCPU filter before the first KVM_RUN */
	size_t run_size;	    /* the kvm_run mapping's size */
};

struct vcpu {
	const struct vcpu_env *env;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	_Atomic enum vcpu_state state;
	struct log_limit unmapped_log; /* accesses no device claims */
	struct trace_stats stats;      /* exits counted and timed (--trace, -v) */
	unsigned int trace_dev;	       /* the trace slot of the device the last access went to */
};

/*
 * Create vCPU `id` on VM fd `vm_fd`: its fd and kvm_run mapping. What the
 * architecture sets up in it comes after (arch_vcpu_init()). 0 or -errno.
 */
__attribute__((warn_unused_result)) int vcpu_create(struct vcpu *v, const struct vcpu_env *env,
						    int vm_fd, unsigned int id);
void vcpu_destroy(struct vcpu *v);

/*
 * Start the vCPU's thread (state CREATED -> RUNNING). It installs its
 * seccomp filter, then waits while the gate is closed (vm_create() starts
 * the threads behind a closed gate; vm_start() opens it) before its first
 * KVM_RUN.
 */
__attribute__((warn_unused_result)) int vcpu_start(struct vcpu *v);

/* Create the gate, open, with its eventfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int vcpu_gate_init(struct vcpu_gate *g);
void vcpu_gate_destroy(struct vcpu_gate *g);

/*
 * Close the gate: from now on each vCPU thread parks at the top of its
 * loop. The caller then kicks every vCPU (vcpu_force_exit()) and waits for
 * parked_fd. Main thread.
 */
void vcpu_gate_close(struct vcpu_gate *g);

/* Open the gate and wake every parked vCPU. Main thread. */
void vcpu_gate_open(struct vcpu_gate *g);

/* Every vCPU thread still in its loop is parked (drains parked_fd first). */
bool vcpu_gate_all_parked(struct vcpu_gate *g);

/* Wake parked vCPUs so that they see a stop that was requested (vm_stop()). */
void vcpu_gate_wake(struct vcpu_gate *g);

/* Make the vCPU leave KVM_RUN soon; safe from any thread. */
void vcpu_force_exit(struct vcpu *v);

/* Install the no-op handler for the force-exit signal (once per process). */
__attribute__((warn_unused_result)) int vcpu_signal_setup(void);

