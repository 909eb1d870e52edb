#pragma once
/*
 * seccomp-bpf: once the VM is set up, each thread keeps only the system
 * calls its kind needs (docs/seccomp.md lists them and says why). A
 * forbidden call does not run: it raises SIGSYS, whose handler writes
 * "ember: seccomp: <kind> thread made forbidden system call N (name)" to
 * stderr, restores the terminal and ends Ember with EXIT_SECCOMP.
 *
 * Filters are per thread (no TSYNC): a vCPU thread installs its own right
 * before its first KVM_RUN, the I/O thread before its loop, a disk worker
 * as it starts (while the VM is created), the main thread once every other
 * thread has started. A filter cannot be removed.
 */

enum seccomp_thread {
	SECCOMP_THREAD_MAIN, /* console loop, then stop and teardown */
	SECCOMP_THREAD_VCPU, /* KVM_RUN and the devices a guest exit reaches */
	SECCOMP_THREAD_IO,   /* event loop: queue kicks, disk and tap I/O */
	SECCOMP_THREAD_DISK, /* a qcow2 disk's worker: the image's reads, writes and flushes */
};

/*
 * Check that this kernel can filter system calls and install the
 * process-wide SIGSYS handler. Call on the main thread before any other
 * thread starts. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int seccomp_prepare(void);

/*
 * Set no_new_privs and install `kind`'s filter on the calling thread only.
 * Call once per thread, after seccomp_prepare(). Returns 0 or -errno
 * (logged); on failure the thread is left unfiltered.
 */
__attribute__((warn_unused_result)) int seccomp_install(enum seccomp_thread kind);

/* What a thread's filter allows beyond its kind's lists. */
struct seccomp_extra {
	/*
	 * Main thread with an API socket (vmm/api.c), >= 0: it accepts clients
	 * (accept4), checks who they are (getsockopt SO_PEERCRED) and at the end
	 * removes the socket file with unlinkat() on this directory fd only.
	 * -1: no API socket.
	 */
	int api_dir_fd;
};

/* seccomp_install() with what `x` adds (NULL: nothing). */
__attribute__((warn_unused_result)) int seccomp_install_extra(enum seccomp_thread kind,
							      const struct seccomp_extra *x);

/* "main", "vCPU", "I/O" or "disk". */
const char *seccomp_thread_name(enum seccomp_thread kind);

/* The x86-64 name of system call `nr` ("execve"), or NULL if unknown. Async-signal-safe. */
const char *seccomp_syscall_name(long nr);
