#include "vmm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "vmm/arch.h"
#include "vmm/console.h"
#include "vmm/exit.h"
#include "vmm/log.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS from a filter (asm-generic/siginfo.h) */
#endif

/* Built with AddressSanitizer (build/ember-san)? gcc says so one way, clang another. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

/*
 * Calls arm64 never had: its C library uses ppoll, epoll_pwait, renameat2,
 * getdents64, openat and readlinkat, which the lists name too. Numbered -1
 * there, and left out of the filter.
 */
#ifndef __NR_poll
#define __NR_poll -1
#endif
#ifndef __NR_epoll_wait
#define __NR_epoll_wait -1
#endif
#ifndef __NR_renameat
#define __NR_renameat -1
#endif
#ifndef __NR_getdents
#define __NR_getdents -1
#endif
#ifndef __NR_open
#define __NR_open -1
#endif
#ifndef __NR_readlink
#define __NR_readlink -1
#endif

/*
 * The allowlists. Every thread of a C program needs the first list; the
 * others are what each kind does after setup (docs/seccomp.md says where
 * each call comes from). mmap and mprotect are allowed without PROT_EXEC
 * only, tgkill only towards Ember's own threads, ioctl only with the
 * requests listed per kind.
 */
static const int runtime_calls[] = {
	__NR_futex,	      /* mutexes, pthread_join */
	__NR_write,	      /* stderr; eventfds (stop, kicks, MSI-X); UART output */
	__NR_brk,	      /* malloc */
	__NR_munmap,	      /* free, thread stacks */
	__NR_madvise,	      /* free, a thread's exit */
	__NR_rt_sigreturn,    /* the vCPU kick signal's handler returns */
	__NR_rt_sigprocmask,  /* pthread_kill, thread exit */
	__NR_rt_sigaction,    /* fatal-signal path: back to SIG_DFL, then re-raise */
	__NR_getpid,	      /* pthread_kill, raise */
	__NR_gettid,	      /* raise */
	__NR_restart_syscall, /* the kernel resumes a call a signal interrupted */
	__NR_exit,	      /* a thread ends */
	__NR_exit_group,      /* Ember ends */
#ifdef SANITIZED
	/*
	 * build/ember-san only, what the sanitizer runtime needs on any thread:
	 * an alternate signal stack; for a report, the symbolizer reads
	 * /proc/self/maps and the binary (open and openat: see build()); for
	 * LeakSanitizer's check at exit, a tracer task ptraces every thread and
	 * lists /proc/self/task; the allocator reads the clock when it frees,
	 * which is a system call where the vDSO cannot read the TSC (a nested
	 * host under emulation).
	 */
	/* clang-format off */
	__NR_sigaltstack, __NR_clock_gettime,
	__NR_read, __NR_close, __NR_lseek, __NR_fcntl, __NR_newfstatat, __NR_readlink,
	__NR_clone, __NR_ptrace, __NR_wait4, __NR_prctl, __NR_getppid, __NR_sched_yield,
	__NR_getdents, __NR_getdents64,
	/* clang-format on */
#endif
};

static const int main_calls[] = {
	__NR_poll,	     /* console_loop() */
	__NR_ppoll,	     /* poll() where the C library implements it with ppoll */
	__NR_read,	     /* standard input, the signalfd, the RX-drained eventfd */
	__NR_close,	     /* teardown */
	__NR_fcntl,	     /* teardown: a disk's image lock is released at once */
	__NR_epoll_ctl,	     /* teardown: sources leave the event loop */
	__NR_io_uring_enter, /* teardown: a disk waits for its requests in flight */
	__NR_mincore,	     /* -v: guest RAM touched */
	__NR_wait4,	     /* exec: virtiofsd, which ends with its connection, is reaped */
	__NR_writev,	     /* exec: the guest's last console output, after the VM stopped */
	__NR_clock_nanosleep, /* exec: while it exits */
	__NR_nanosleep,	     /* usleep() where the C library uses it */
	__NR_clock_gettime,  /* exec: its grace period, where the vDSO cannot read the clock */
};

/* The main thread's calls while it serves the API socket (struct seccomp_extra). */
static const int main_api_calls[] = {
	__NR_accept4,	 /* a client connects */
	__NR_getsockopt, /* SO_PEERCRED: only Ember's user may use the socket */
	/* snapshot DIR: the files are written under temporary names, synced and renamed */
	__NR_ftruncate,	 /* the memory file: its size, then its pages (sparse) */
	__NR_pwrite64,
	__NR_fdatasync,
	__NR_fsync,	 /* the directory, after the renames */
	__NR_renameat,
	__NR_renameat2,	 /* renameat() where the C library implements it so */
};

static const int vcpu_calls[] = {
	__NR_epoll_ctl,	     /* virtio-net pauses or resumes reading its tap; a vhost-user queue's
				call eventfd moves between an irqfd and the I/O thread */
	__NR_sendmsg,	     /* vhost-user: requests at DRIVER_OK and reset */
	__NR_recvmsg,	     /* vhost-user: the backend's replies */
	__NR_poll,	     /* vhost-user: a reply within the timeout */
	__NR_ppoll,	     /* poll() where the C library implements it with ppoll */
	__NR_close,	     /* vhost-user: a descriptor a reply should not have carried */
	__NR_clock_gettime,  /* --trace, -v: exits timed, where the vDSO cannot read the clock */
	__NR_io_uring_enter, /* a disk reset by the guest waits for its requests in flight */
};

static const int io_calls[] = {
	__NR_epoll_wait,     /* the loop */
	__NR_epoll_pwait,    /* epoll_wait() where the C library implements it with epoll_pwait */
	__NR_read,	     /* eventfds: kicks, io_uring completions, stop */
	__NR_io_uring_enter, /* submit disk requests, reap completions */
	__NR_readv,	     /* a frame from a tap */
	__NR_writev,	     /* a frame to a tap */
	__NR_preadv,	     /* aio=sync disk reads */
	__NR_pwritev,	     /* aio=sync disk writes */
	__NR_pwrite64,	     /* WRITE_ZEROES where fallocate cannot */
	__NR_fdatasync,	     /* aio=sync flush */
	__NR_fallocate,	     /* DISCARD, WRITE_ZEROES */
	__NR_epoll_ctl,	     /* virtio-net pauses or resumes reading its tap */
	__NR_clock_gettime,  /* a disk polling its queue, where the vDSO cannot read the clock */
};

static const int disk_calls[] = {
	__NR_pread64,	/* qcow2: tables, data, the backing chain */
	__NR_preadv,	/* qcow2: reads of allocated clusters, straight into the guest's buffers */
	__NR_io_uring_enter, /* qcow2: the same reads, a batch at a time, through its own ring */
	__NR_pwrite64,	/* qcow2: data, tables, refcounts */
	__NR_pwritev,	/* qcow2: data straight from the guest's buffers, clusters in a run */
	__NR_fdatasync, /* qcow2: the barriers between metadata writes, and FLUSH */
	__NR_ftruncate, /* qcow2: the image grows by whole clusters */
};

/*
 * The terminal's ioctls: the SIGSYS handler (any thread) and console_close()
 * restore it with tcsetattr(), which reads the settings back. C libraries
 * that support arbitrary baud rates use the termios2 requests instead; they
 * are spelt out because <asm/termbits.h>, which declares struct termios2
 * (44 bytes on x86-64), clashes with <termios.h>.
 */
#define TCGETS2_REQ	_IOR('T', 0x2A, char[44])
#define TCSETS2_REQ	_IOW('T', 0x2B, char[44])
#define TERMINAL_IOCTLS TCGETS, TCSETS, TCGETS2_REQ, TCSETS2_REQ

static const uint32_t main_ioctls[] = {
	KVM_IRQ_LINE,  /* console input raises the UART's interrupt */
	KVM_IOEVENTFD, /* teardown: queue kicks unbound */
	KVM_IRQFD,     /* teardown: MSI-X vectors unbound */
	ARCH_MAIN_IOCTLS, /* pause, resume, snapshot: the architecture's (vmm/arch_types_*.h) */
	TERMINAL_IOCTLS,
};

static const uint32_t vcpu_ioctls[] = {
	KVM_RUN,	     /* first: the hot path */
	KVM_IRQ_LINE,	     /* the UART's IRQ, a virtio function's INTx */
	KVM_SET_GSI_ROUTING, /* a pending MSI-X vector fires as the guest unmasks it */
	KVM_IOEVENTFD,	     /* the guest moves a BAR or toggles memory decoding */
	KVM_IRQFD,	     /* a vhost-user queue's call eventfd follows its MSI-X vector */
	TUNSETOFFLOAD,	     /* virtio-net: offloads follow the features at DRIVER_OK */
	ARCH_VCPU_IOCTLS,    /* register dump when the guest fails */
	TERMINAL_IOCTLS,
};

static const uint32_t io_ioctls[] = {
	KVM_IRQ_LINE,	     /* INTx of a virtio function */
	KVM_SET_GSI_ROUTING, /* an MSI-X vector fires with a changed message: its route first */
	TERMINAL_IOCTLS,
};

static const uint32_t disk_ioctls[] = {
	TERMINAL_IOCTLS,
};

#ifdef SANITIZED
/* The sanitizer runtime opens files to read them only. */
#define SANITIZER_OPEN_DENIED (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)
#endif

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct policy {
	const char *name;
	const int *calls;
	size_t nr_calls;
	const uint32_t *ioctls;
	size_t nr_ioctls;
} policies[] = {
#define POLICY(name, calls, ioctls) { name, calls, LEN(calls), ioctls, LEN(ioctls) }
	[SECCOMP_THREAD_MAIN] = POLICY("main", main_calls, main_ioctls),
	[SECCOMP_THREAD_VCPU] = POLICY("vCPU", vcpu_calls, vcpu_ioctls),
	[SECCOMP_THREAD_IO] = POLICY("I/O", io_calls, io_ioctls),
	[SECCOMP_THREAD_DISK] = POLICY("disk", disk_calls, disk_ioctls),
#undef POLICY
};

/* A classic BPF program under construction. */
#define MAX_INSNS 200

struct prog {
	struct sock_filter insn[MAX_INSNS];
	size_t len;   /* may pass MAX_INSNS: then the program is refused */
	bool too_far; /* a jump longer than 255 instructions was asked for */
};

static void emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->len < MAX_INSNS)
		p->insn[p->len] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
	p->len++;
}

static void load(struct prog *p, uint32_t offset)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, offset, 0, 0);
}

static void ret(struct prog *p, uint32_t action)
{
	emit(p, BPF_RET | BPF_K, action, 0, 0);
}

/* seccomp_data.args[n] is 64 bits; x86-64 is little-endian: this is its low half. */
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + (n) * sizeof(uint64_t))

/* Allow `nr` outright (-1: a call this architecture has not). The accumulator holds the call number. */
static void allow_call(struct prog *p, int nr)
{
	if (nr < 0)
		return;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1);
	ret(p, SECCOMP_RET_ALLOW);
}

/*
 * Allow `nr` when the low 32 bits of argument `arg` are one of `vals`; any
 * other value takes `deny`. Only the low half is checked because the kernel
 * reads these arguments as 32-bit ints (ioctl's request, tgkill's tgid).
 */
static void allow_call_if(struct prog *p, int nr, unsigned int arg, const uint32_t *vals, size_t n,
			  uint32_t deny)
{
	p->too_far |= 2 * n + 2 > UINT8_MAX;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, (uint8_t)(2 * n + 2));
	load(p, ARG_LO(arg));
	for (size_t i = 0; i < n; i++) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, vals[i], 0, 1);
		ret(p, SECCOMP_RET_ALLOW);
	}
	ret(p, deny);
	/* Not taken: the accumulator still holds the call number. */
}

/* Allow `nr` unless argument `arg` (32-bit flags) has any bit of `bits`. */
static void allow_call_unless(struct prog *p, int nr, unsigned int arg, uint32_t bits,
			      uint32_t deny)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4);
	load(p, ARG_LO(arg));
	emit(p, BPF_JMP | BPF_JSET | BPF_K, bits, 1, 0);
	ret(p, SECCOMP_RET_ALLOW);
	ret(p, deny);
}

/*
 * Build `kind`'s filter. The denial action carries the kind in its data
 * bits, which the SIGSYS handler receives in si_errno.
 */
static int build(enum seccomp_thread kind, uint32_t pid, const struct seccomp_extra *x,
		 struct prog *p)
{
	const struct policy *pol = &policies[kind];
	const uint32_t deny = SECCOMP_RET_TRAP | ((uint32_t)kind & SECCOMP_RET_DATA);

	p->len = 0;
	p->too_far = false;
	/* Another ABI (i386 through int 0x80, arm32) numbers its calls differently: kill at once. */
	load(p, offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, ARCH_AUDIT, 1, 0);
	ret(p, SECCOMP_RET_KILL_PROCESS);
	load(p, offsetof(struct seccomp_data, nr));
	emit(p, BPF_JMP | BPF_JGE | BPF_K, ARCH_SYSCALL_LIMIT, 0, 1); /* x86's x32 ABI */
	ret(p, deny);
	/* ioctl first: KVM_RUN is the vCPU threads' hot path. */
	allow_call_if(p, __NR_ioctl, 1, pol->ioctls, pol->nr_ioctls, deny);
	allow_call_if(p, __NR_tgkill, 0, &pid, 1, deny);
	allow_call_unless(p, __NR_mmap, 2, PROT_EXEC, deny);
	allow_call_unless(p, __NR_mprotect, 2, PROT_EXEC, deny);
	/*
	 * With an API socket, the main thread opens the snapshot directory and
	 * creates the snapshot's files (any path the socket's owner names):
	 * before the sanitizer's read-only rule, which would refuse them.
	 */
	if (kind == SECCOMP_THREAD_MAIN && x && x->api_dir_fd >= 0)
		allow_call(p, __NR_openat);
#ifdef SANITIZED
	allow_call_unless(p, __NR_open, 1, SANITIZER_OPEN_DENIED, deny);
	allow_call_unless(p, __NR_openat, 2, SANITIZER_OPEN_DENIED, deny);
#endif
	for (size_t i = 0; i < LEN(runtime_calls); i++)
		allow_call(p, runtime_calls[i]);
	for (size_t i = 0; i < pol->nr_calls; i++)
		allow_call(p, pol->calls[i]);
	if (kind == SECCOMP_THREAD_MAIN && x && x->api_dir_fd >= 0) {
		uint32_t dir_fd = (uint32_t)x->api_dir_fd;

		for (size_t i = 0; i < LEN(main_api_calls); i++)
			allow_call(p, main_api_calls[i]);
		/* The socket file goes at the end; nothing outside its directory can. */
		allow_call_if(p, __NR_unlinkat, 0, &dir_fd, 1, deny);
	}
	ret(p, deny);
	return p->len <= MAX_INSNS && !p->too_far ? 0 : -E2BIG;
}

static void put(char *buf, size_t size, size_t *at, const char *s)
{
	while (*s && *at + 1 < size)
		buf[(*at)++] = *s++;
}

/* Async-signal-safe number formatting (no snprintf in a signal handler). */
static void put_num(char *buf, size_t size, size_t *at, unsigned long v, unsigned int base)
{
	char digits[24];
	size_t n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < sizeof(digits));
	if (base == 16)
		put(buf, size, at, "0x");
	while (n && *at + 1 < size)
		buf[(*at)++] = digits[--n];
}

static void on_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	const ucontext_t *uc = ucontext;
	unsigned int kind = (unsigned int)si->si_errno;
	const char *name = seccomp_syscall_name(si->si_syscall);
	char msg[160];
	size_t n = 0;

	if (si->si_code != SYS_SECCOMP || kind >= LEN(policies)) {
		/* Sent by someone else: die of it as from any other fatal signal. */
		console_restore_terminal();
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	put(msg, sizeof(msg), &n, "ember: seccomp: ");
	put(msg, sizeof(msg), &n, policies[kind].name);
	put(msg, sizeof(msg), &n, " thread made forbidden system call ");
	put_num(msg, sizeof(msg), &n, (unsigned int)si->si_syscall, 10);
	if (name) {
		put(msg, sizeof(msg), &n, " (");
		put(msg, sizeof(msg), &n, name);
		put(msg, sizeof(msg), &n, ")");
	}
	if (si->si_syscall == __NR_ioctl) {
		put(msg, sizeof(msg), &n, ", request ");
		put_num(msg, sizeof(msg), &n, (uint32_t)ARCH_SIGSYS_ARG1(uc), 16);
	}
	put(msg, sizeof(msg), &n, "\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* Nothing left to report it with. */
	}
	console_restore_terminal();
	_exit(EXIT_SECCOMP);
}

int seccomp_prepare(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	uint32_t action = SECCOMP_RET_TRAP;

	/* The SECCOMP_RET_TRAP action exists: so do seccomp() and filters (Linux 4.14). */
	if (syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) {
		int err = -errno;

		log_err("this kernel cannot filter system calls (%s): use --seccomp=off",
			strerror(-err));
		return err;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		int err = -errno;

		log_err("cannot install the SIGSYS handler: %s", strerror(-err));
		return err;
	}
	return 0;
}

int seccomp_install(enum seccomp_thread kind)
{
	return seccomp_install_extra(kind, NULL);
}

int seccomp_install_extra(enum seccomp_thread kind, const struct seccomp_extra *x)
{
	struct prog p;
	struct sock_fprog fprog;
	int err;

	err = build(kind, (uint32_t)getpid(), x, &p);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	if (!err) {
		fprog = (struct sock_fprog){ .len = (unsigned short)p.len, .filter = p.insn };
		if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
			err = -errno;
	}
	if (err)
		log_err("%s thread: cannot install its seccomp filter: %s", policies[kind].name,
			strerror(-err));
	return err;
}

const char *seccomp_thread_name(enum seccomp_thread kind)
{
	return (size_t)kind < LEN(policies) ? policies[kind].name : "?";
}

/*
 * x86-64 system call names by number (arch/x86/entry/syscalls/syscall_64.tbl;
 * the ABI never renumbers): 0-334 in order, then 424 onwards.
 */
/* clang-format off */
static const char *const syscall_names[] = {
	"read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap",
	"mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",
	"pread64", "pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield",
	"mremap", "msync", "mincore", "madvise", "shmget", "shmat", "shmctl", "dup", "dup2",
	"pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",
	"connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "bind",
	"listen", "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt", "clone",
	"fork", "vfork", "execve", "exit", "wait4", "kill", "uname", "semget", "semop", "semctl",
	"shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "fcntl", "flock", "fsync", "fdatasync",
	"truncate", "ftruncate", "getdents", "getcwd", "chdir", "fchdir", "rename", "mkdir",
	"rmdir", "creat", "link", "unlink", "symlink", "readlink", "chmod", "fchmod", "chown",
	"fchown", "lchown", "umask", "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times",
	"ptrace", "getuid", "syslog", "getgid", "setuid", "setgid", "geteuid", "getegid", "setpgid",
	"getppid", "getpgrp", "setsid", "setreuid", "setregid", "getgroups", "setgroups",
	"setresuid", "getresuid", "setresgid", "getresgid", "getpgid", "setfsuid", "setfsgid",
	"getsid", "capget", "capset", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_sigsuspend", "sigaltstack", "utime", "mknod", "uselib", "personality", "ustat",
	"statfs", "fstatfs", "sysfs", "getpriority", "setpriority", "sched_setparam",
	"sched_getparam", "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max",
	"sched_get_priority_min", "sched_rr_get_interval", "mlock", "munlock", "mlockall",
	"munlockall", "vhangup", "modify_ldt", "pivot_root", "_sysctl", "prctl", "arch_prctl",
	"adjtimex", "setrlimit", "chroot", "sync", "acct", "settimeofday", "mount", "umount2",
	"swapon", "swapoff", "reboot", "sethostname", "setdomainname", "iopl", "ioperm",
	"create_module", "init_module", "delete_module", "get_kernel_syms", "query_module",
	"quotactl", "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security",
	"gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr",
	"fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	"fremovexattr", "tkill", "time", "futex", "sched_setaffinity", "sched_getaffinity",
	"set_thread_area", "io_setup", "io_destroy", "io_getevents", "io_submit", "io_cancel",
	"get_thread_area", "lookup_dcookie", "epoll_create", "epoll_ctl_old", "epoll_wait_old",
	"remap_file_pages", "getdents64", "set_tid_address", "restart_syscall", "semtimedop",
	"fadvise64", "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun",
	"timer_delete", "clock_settime", "clock_gettime", "clock_getres", "clock_nanosleep",
	"exit_group", "epoll_wait", "epoll_ctl", "tgkill", "utimes", "vserver", "mbind",
	"set_mempolicy", "get_mempolicy", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
	"mq_notify", "mq_getsetattr", "kexec_load", "waitid", "add_key", "request_key", "keyctl",
	"ioprio_set", "ioprio_get", "inotify_init", "inotify_add_watch", "inotify_rm_watch",
	"migrate_pages", "openat", "mkdirat", "mknodat", "fchownat", "futimesat", "newfstatat",
	"unlinkat", "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat", "faccessat",
	"pselect6", "ppoll", "unshare", "set_robust_list", "get_robust_list", "splice", "tee",
	"sync_file_range", "vmsplice", "move_pages", "utimensat", "epoll_pwait", "signalfd",
	"timerfd_create", "eventfd", "fallocate", "timerfd_settime", "timerfd_gettime", "accept4",
	"signalfd4", "eventfd2", "epoll_create1", "dup3", "pipe2", "inotify_init1", "preadv",
	"pwritev", "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg", "fanotify_init",
	"fanotify_mark", "prlimit64", "name_to_handle_at", "open_by_handle_at", "clock_adjtime",
	"syncfs", "sendmmsg", "setns", "getcpu", "process_vm_readv", "process_vm_writev", "kcmp",
	"finit_module", "sched_setattr", "sched_getattr", "renameat2", "seccomp", "getrandom",
	"memfd_create", "kexec_file_load", "bpf", "execveat", "userfaultfd", "membarrier", "mlock2",
	"copy_file_range", "preadv2", "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free",
	"statx", "io_pgetevents", "rseq", [424] = "pidfd_send_signal", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig",
	"fsmount", "fspick", "pidfd_open", "clone3", "close_range", "openat2", "pidfd_getfd",
	"faccessat2", "process_madvise", "epoll_pwait2", "mount_setattr", "quotactl_fd",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "memfd_secret",
	"process_mrelease", "futex_waitv", "set_mempolicy_home_node", "cachestat", "fchmodat2",
	"map_shadow_stack", "futex_wake", "futex_wait", "futex_requeue", "statmount", "listmount",
	"lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules", "mseal",
};
/* clang-format on */

const char *seccomp_syscall_name(long nr)
{
	if (!ARCH_SYSCALL_NAMES)
		return NULL; /* the table is x86-64's numbering */
	if (nr >= ARCH_SYSCALL_LIMIT)
		return "x32 ABI";
	return nr >= 0 && (size_t)nr < LEN(syscall_names) ? syscall_names[nr] : NULL;
}
