/*
 * vmm/seccomp: each thread kind's filter lets through the calls that kind
 * makes, and a forbidden call ends the process with EXIT_SECCOMP and a line
 * naming the thread kind and the call. Every case runs in a forked child,
 * since a filter cannot be removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/exit.h"
#include "vmm/seccomp.h"

#define LEN(a)		(sizeof(a) / sizeof((a)[0]))
#define CHILD_NO_FILTER 100 /* the child could not install its filter */
#define CHILD_WRONG	101 /* an allowed call did not behave as it should */

struct outcome {
	int status;
	char err[512]; /* the child's stderr */
};

static void child_start(enum seccomp_thread kind, const struct seccomp_extra *x, int err_fd)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core); /* a child that dies of SIGSYS leaves no core file */
	dup2(err_fd, STDERR_FILENO);
	if (seccomp_prepare() || seccomp_install_extra(kind, x))
		_exit(CHILD_NO_FILTER);
}

/* Fork; the child installs `kind`'s filter with `x`, runs fn(arg) and exits 0. */
static void run_filtered_extra(enum seccomp_thread kind, const struct seccomp_extra *x,
			       void (*fn)(const void *), const void *arg, struct outcome *o)
{
	size_t len = 0;
	ssize_t n;
	int pfd[2];
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		child_start(kind, x, pfd[1]);
		fn(arg);
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += (size_t)n;
	o->err[len] = 0;
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &o->status, 0), pid);
}

static void run_filtered(enum seccomp_thread kind, void (*fn)(const void *), const void *arg,
			 struct outcome *o)
{
	run_filtered_extra(kind, NULL, fn, arg, o);
}

static const enum seccomp_thread kinds[] = { SECCOMP_THREAD_MAIN, SECCOMP_THREAD_VCPU,
					    SECCOMP_THREAD_IO, SECCOMP_THREAD_DISK };

/* ---- what every kind may do ---- */

static void expect(bool ok)
{
	if (!ok)
		_exit(CHILD_WRONG);
}

static void runtime_calls(const void *arg)
{
	static const char line[] = "ember: still here\n";
	int futex_word = 0;
	void *p;

	(void)arg;
	expect(write(STDERR_FILENO, line, sizeof(line) - 1) == sizeof(line) - 1);
	expect(getpid() > 0 && gettid() > 0);
	expect(syscall(SYS_tgkill, getpid(), gettid(), 0) == 0); /* its own threads only */
	expect(syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(p != MAP_FAILED);
	expect(mprotect(p, 4096, PROT_READ) == 0);
	expect(madvise(p, 1 << 20, MADV_DONTNEED) == 0);
	expect(munmap(p, 1 << 20) == 0);
	p = malloc(1 << 22); /* above the mmap threshold */
	expect(p != NULL);
	memset(p, 1, 1 << 22);
	free(p);
	expect(sigprocmask(SIG_BLOCK, NULL, NULL) == 0);
	expect(sigaction(SIGUSR2, NULL, &(struct sigaction){ 0 }) == 0);
}

START_TEST(test_runtime_calls_allowed)
{
	struct outcome o;

	run_filtered(kinds[_i], runtime_calls, NULL, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
		      "%s thread: status %#x, %s", seccomp_thread_name(kinds[_i]), o.status, o.err);
	ck_assert_str_eq(o.err, "ember: still here\n");
}
END_TEST

/* ---- each kind's own calls ---- */

struct kind_calls {
	enum seccomp_thread kind;
	const long *calls; /* called as nr(-1, 0, 0, 0) */
	size_t nr_calls;
	const unsigned long *ioctls; /* called as ioctl(-1, request, 0) */
	size_t nr_ioctls;
};

/* clang-format off */
static const long main_calls[] = { SYS_read, SYS_close, SYS_epoll_ctl, SYS_io_uring_enter };
static const unsigned long main_ioctls[] = {
	KVM_IRQ_LINE, KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_IOEVENTFD, KVM_IRQFD, TCGETS, TCSETS,
};
static const long vcpu_calls[] = {
	SYS_epoll_ctl, SYS_io_uring_enter, SYS_sendmsg, SYS_recvmsg, SYS_close,
};
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_SET_GSI_ROUTING, KVM_IOEVENTFD, KVM_IRQFD, TUNSETOFFLOAD, KVM_GET_REGS,
	KVM_GET_SREGS, TCGETS, TCSETS,
};
static const long io_calls[] = {
	SYS_epoll_wait, SYS_epoll_pwait, SYS_read, SYS_io_uring_enter, SYS_readv, SYS_writev,
	SYS_preadv, SYS_pwritev, SYS_pwrite64, SYS_fdatasync, SYS_fallocate, SYS_epoll_ctl,
};
static const unsigned long io_ioctls[] = { KVM_IRQ_LINE, KVM_SET_GSI_ROUTING, TCGETS, TCSETS };
static const long disk_calls[] = { SYS_pread64, SYS_preadv, SYS_pwrite64, SYS_pwritev,
				   SYS_fdatasync, SYS_ftruncate, SYS_io_uring_enter };
static const unsigned long disk_ioctls[] = { TCGETS, TCSETS };
/* clang-format on */

static const struct kind_calls own_calls[] = {
	{ SECCOMP_THREAD_MAIN, main_calls, LEN(main_calls), main_ioctls, LEN(main_ioctls) },
	{ SECCOMP_THREAD_VCPU, vcpu_calls, LEN(vcpu_calls), vcpu_ioctls, LEN(vcpu_ioctls) },
	{ SECCOMP_THREAD_IO, io_calls, LEN(io_calls), io_ioctls, LEN(io_ioctls) },
	{ SECCOMP_THREAD_DISK, disk_calls, LEN(disk_calls), disk_ioctls, LEN(disk_ioctls) },
};

/* Nothing can succeed on fd -1; what matters is that the call returns instead of trapping. */
static void bad_fd_calls(const void *arg)
{
	const struct kind_calls *k = arg;

	for (size_t i = 0; i < k->nr_calls; i++)
		expect(syscall(k->calls[i], -1, 0, 0, 0) < 0);
	for (size_t i = 0; i < k->nr_ioctls; i++)
		expect(ioctl(-1, k->ioctls[i], 0) < 0 && errno == EBADF);
}

START_TEST(test_own_calls_allowed)
{
	const struct kind_calls *k = &own_calls[_i];
	struct outcome o;

	run_filtered(k->kind, bad_fd_calls, k, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
		      "%s thread: status %#x, %s", seccomp_thread_name(k->kind), o.status, o.err);
}
END_TEST

static void main_poll(const void *arg)
{
	(void)arg;
	expect(poll(NULL, 0, 0) == 0);
	expect(mincore(NULL, 0, NULL) == 0 || errno == EINVAL || errno == ENOMEM);
}

START_TEST(test_main_polls)
{
	struct outcome o;

	run_filtered(SECCOMP_THREAD_MAIN, main_poll, NULL, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, %s", o.status,
		      o.err);
}
END_TEST

/* A vCPU thread talks to a vhost-user backend: a request with a descriptor, a reply
 * waited for with poll, received, and a descriptor it should not have carried closed. */
static void vcpu_vhost_user(const void *arg)
{
	const int *sv = arg;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 1;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct pollfd p = { .fd = sv[1], .events = POLLIN };
	int fd = sv[0];

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	expect(sendmsg(sv[0], &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == 1);
	expect(poll(&p, 1, 1000) == 1);
	expect(recvmsg(sv[1], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	expect(close(fd) == 0);
}

START_TEST(test_vcpu_talks_to_vhost_user_backend)
{
	struct outcome o;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	run_filtered(SECCOMP_THREAD_VCPU, vcpu_vhost_user, sv, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, %s", o.status,
		      o.err);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- forbidden calls ---- */

struct forbidden {
	const char *what; /* for failure messages */
	long nr;
	long a[6];
	const char *report; /* what follows "<kind> thread made forbidden system call " */
};

static void make_call(const void *arg)
{
	const struct forbidden *f = arg;

	syscall(f->nr, f->a[0], f->a[1], f->a[2], f->a[3], f->a[4], f->a[5]);
	_exit(0); /* not reached if the call was refused */
}

static char *const true_argv[] = { "/bin/true", NULL };

/* Refused on every kind of thread, in the plain and the sanitized build. */
/* clang-format off */
static const struct forbidden never[] = {
	{ "execve", SYS_execve, { (long)"/bin/true", (long)true_argv, 0 }, "59 (execve)" },
	{ "socket", SYS_socket, { AF_INET, SOCK_STREAM, 0 }, "41 (socket)" },
	{ "open a new file", SYS_openat,
	  { AT_FDCWD, (long)"ember-seccomp-test.tmp", O_WRONLY | O_CREAT | O_EXCL, 0600 },
	  "257 (openat)" },
	{ "fork", SYS_fork, { 0 }, "57 (fork)" },
	{ "kill another process", SYS_kill, { 1, 0 }, "62 (kill)" },
	{ "tgkill another process", SYS_tgkill, { 1, 1, 0 }, "234 (tgkill)" },
	{ "an executable mapping", SYS_mmap,
	  { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 }, "9 (mmap)" },
	{ "make memory executable", SYS_mprotect, { 0, 4096, PROT_READ | PROT_EXEC },
	  "10 (mprotect)" },
	{ "a new VM", SYS_ioctl, { -1, KVM_CREATE_VM, 0 }, "16 (ioctl), request 0xae01" },
	{ "an x32 call", __X32_SYSCALL_BIT + SYS_getpid, { 0 }, "1073741863 (x32 ABI)" },
	{ "mount", SYS_mount, { 0 }, "165 (mount)" },
};
/* clang-format on */

static void expect_refused_extra(enum seccomp_thread kind, const struct seccomp_extra *x,
				 const struct forbidden *f)
{
	char want[160];
	struct outcome o;

	run_filtered_extra(kind, x, make_call, f, &o);
	snprintf(want, sizeof(want), "ember: seccomp: %s thread made forbidden system call %s\n",
		 seccomp_thread_name(kind), f->report);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == EXIT_SECCOMP,
		      "%s thread, %s: status %#x, stderr '%s'", seccomp_thread_name(kind), f->what,
		      o.status, o.err);
	ck_assert_str_eq(o.err, want);
}

static void expect_refused(enum seccomp_thread kind, const struct forbidden *f)
{
	expect_refused_extra(kind, NULL, f);
}

START_TEST(test_forbidden_call_ends_ember)
{
	const struct forbidden *f = &never[_i % LEN(never)];

	expect_refused(kinds[_i / LEN(never)], f);
}
END_TEST

/* What one kind does is still refused to the others. */
static const struct {
	enum seccomp_thread kind;
	struct forbidden f;
} not_theirs[] = {
	/* clang-format off */
	{ SECCOMP_THREAD_MAIN, { "KVM_RUN", SYS_ioctl, { -1, KVM_RUN },
				 "16 (ioctl), request 0xae80" } },
	{ SECCOMP_THREAD_MAIN, { "epoll_wait", SYS_epoll_wait, { -1 }, "232 (epoll_wait)" } },
	{ SECCOMP_THREAD_MAIN, { "preadv", SYS_preadv, { -1 }, "295 (preadv)" } },
	{ SECCOMP_THREAD_VCPU, { "connect", SYS_connect, { -1 }, "42 (connect)" } },
	{ SECCOMP_THREAD_VCPU, { "KVM_CREATE_IRQCHIP", SYS_ioctl, { -1, KVM_CREATE_IRQCHIP },
				 "16 (ioctl), request 0xae60" } },
	{ SECCOMP_THREAD_VCPU, { "writev", SYS_writev, { -1 }, "20 (writev)" } },
	{ SECCOMP_THREAD_IO, { "KVM_RUN", SYS_ioctl, { -1, KVM_RUN },
			       "16 (ioctl), request 0xae80" } },
	{ SECCOMP_THREAD_IO, { "TUNSETOFFLOAD", SYS_ioctl, { -1, TUNSETOFFLOAD },
			       "16 (ioctl), request 0x400454d0" } },
	{ SECCOMP_THREAD_IO, { "poll", SYS_poll, { 0 }, "7 (poll)" } },
	{ SECCOMP_THREAD_IO, { "sendmsg", SYS_sendmsg, { -1 }, "46 (sendmsg)" } },
	{ SECCOMP_THREAD_MAIN, { "sendmsg", SYS_sendmsg, { -1 }, "46 (sendmsg)" } },
	{ SECCOMP_THREAD_DISK, { "epoll_wait", SYS_epoll_wait, { -1 }, "232 (epoll_wait)" } },
	{ SECCOMP_THREAD_MAIN, { "accept4 without an API socket", SYS_accept4, { -1 },
				 "288 (accept4)" } },
	{ SECCOMP_THREAD_MAIN, { "getsockopt without an API socket", SYS_getsockopt, { -1 },
				 "55 (getsockopt)" } },
	{ SECCOMP_THREAD_MAIN, { "unlinkat without an API socket", SYS_unlinkat,
				 { AT_FDCWD, (long)"ember-seccomp-test.tmp", 0 }, "263 (unlinkat)" } },
	{ SECCOMP_THREAD_IO, { "accept4", SYS_accept4, { -1 }, "288 (accept4)" } },
	{ SECCOMP_THREAD_VCPU, { "KVM_SET_CLOCK", SYS_ioctl, { -1, KVM_SET_CLOCK },
				 "16 (ioctl), request 0x4030ae7b" } },
	{ SECCOMP_THREAD_DISK, { "KVM_IRQ_LINE", SYS_ioctl, { -1, KVM_IRQ_LINE },
				 "16 (ioctl), request 0x4008ae61" } },
	{ SECCOMP_THREAD_DISK, { "fallocate", SYS_fallocate, { -1 }, "285 (fallocate)" } },
	/* clang-format on */
};

START_TEST(test_other_kinds_calls_refused)
{
	expect_refused(not_theirs[_i].kind, &not_theirs[_i].f);
}
END_TEST

/* ---- the main thread serving the API socket (struct seccomp_extra) ---- */

struct api_setup {
	char dir[64];
	int dir_fd, listen_fd, client_fd;
};

/* A listening socket in a fresh directory, and a client already queued on it. */
static void api_setup(struct api_setup *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(s->dir, sizeof(s->dir), "/tmp/ember-seccomp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/api.sock", s->dir);
	s->dir_fd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s->client_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s->dir_fd, 0);
	ck_assert_int_eq(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->listen_fd, 1), 0);
	ck_assert_int_eq(connect(s->client_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void api_teardown(struct api_setup *s)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/api.sock", s->dir);
	unlink(path);
	close(s->client_fd);
	close(s->listen_fd);
	close(s->dir_fd);
	ck_assert_int_eq(rmdir(s->dir), 0);
}

/* What the main thread does with its API socket: accept, check the peer, reply, remove the file. */
static void main_api(const void *arg)
{
	const struct api_setup *s = arg;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	expect(fd >= 0);
	expect(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 0);
	expect(write(fd, "{}\n", 3) == 3);
	expect(close(fd) == 0);
	expect(unlinkat(s->dir_fd, "api.sock", 0) == 0);
}

START_TEST(test_main_serves_api)
{
	struct api_setup s;
	struct seccomp_extra x;
	struct outcome o;
	char buf[4] = { 0 };

	api_setup(&s);
	x.api_dir_fd = s.dir_fd;
	run_filtered_extra(SECCOMP_THREAD_MAIN, &x, main_api, &s, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, %s", o.status,
		      o.err);
	ck_assert_int_eq(read(s.client_fd, buf, 3), 3);
	ck_assert_str_eq(buf, "{}\n");
	ck_assert_int_eq(faccessat(s.dir_fd, "api.sock", F_OK, 0), -1); /* removed */
	api_teardown(&s);
}
END_TEST

/* Even with an API socket: unlinkat elsewhere than its directory is refused. */
START_TEST(test_main_unlinks_only_in_api_dir)
{
	struct forbidden f = { "unlinkat elsewhere", SYS_unlinkat,
			       { AT_FDCWD, (long)"ember-seccomp-test.tmp", 0 }, "263 (unlinkat)" };
	struct api_setup s;
	struct seccomp_extra x;

	api_setup(&s);
	x.api_dir_fd = s.dir_fd;
	expect_refused_extra(SECCOMP_THREAD_MAIN, &x, &f);
	f.a[0] = s.dir_fd + 1; /* another fd */
	f.a[1] = (long)"api.sock";
	expect_refused_extra(SECCOMP_THREAD_MAIN, &x, &f);
	ck_assert_int_eq(faccessat(s.dir_fd, "api.sock", F_OK, 0), 0);
	/* The extra calls are the main thread's only. */
	x.api_dir_fd = s.dir_fd;
	f = (struct forbidden){ "accept4", SYS_accept4, { -1 }, "288 (accept4)" };
	expect_refused_extra(SECCOMP_THREAD_IO, &x, &f);
	api_teardown(&s);
}
END_TEST

/* ---- the filter is the calling thread's only ---- */

struct two_threads {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t filtered_tid; /* set once the filter is in */
	bool done;
};

static void *filtered_thread(void *arg)
{
	struct two_threads *t = arg;

	if (seccomp_install(SECCOMP_THREAD_VCPU))
		_exit(CHILD_NO_FILTER);
	pthread_mutex_lock(&t->lock);
	t->filtered_tid = gettid();
	pthread_cond_broadcast(&t->cond);
	while (!t->done)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* The "Seccomp:" mode of a thread (0 none, 2 filter), or -1. */
static int seccomp_mode(const char *status_path)
{
	char buf[4096], *line;
	ssize_t n;
	int fd = open(status_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	line = strstr(buf, "\nSeccomp:");
	return line ? atoi(line + strlen("\nSeccomp:")) : -1;
}

/* This thread stays unfiltered while another one runs under its filter. */
static void other_thread_filtered(void)
{
	struct two_threads t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
	char path[64];
	pthread_t th;
	int fd;

	expect(pthread_create(&th, NULL, filtered_thread, &t) == 0);
	pthread_mutex_lock(&t.lock);
	while (!t.filtered_tid)
		pthread_cond_wait(&t.cond, &t.lock);
	pthread_mutex_unlock(&t.lock);
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)t.filtered_tid);
	expect(seccomp_mode(path) == 2);
	expect(seccomp_mode("/proc/thread-self/status") == 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	expect(fd >= 0);
	close(fd);
	pthread_mutex_lock(&t.lock);
	t.done = true;
	pthread_cond_broadcast(&t.cond);
	pthread_mutex_unlock(&t.lock);
	expect(pthread_join(th, NULL) == 0);
}

START_TEST(test_filter_is_per_thread)
{
	struct outcome o;
	int pfd[2];
	pid_t pid;

	/* run_filtered() would filter the child's first thread: do it by hand. */
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		if (seccomp_prepare())
			_exit(CHILD_NO_FILTER);
		other_thread_filtered();
		_exit(0);
	}
	close(pfd[1]);
	memset(o.err, 0, sizeof(o.err));
	if (read(pfd[0], o.err, sizeof(o.err) - 1) < 0)
		o.err[0] = 0;
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &o.status, 0), pid);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status %#x, %s", o.status,
		      o.err);
}
END_TEST

/* ---- other ways to get SIGSYS ---- */

static void raise_sigsys(const void *arg)
{
	(void)arg;
	raise(SIGSYS);
}

START_TEST(test_sigsys_from_elsewhere_is_fatal)
{
	struct outcome o;

	run_filtered(SECCOMP_THREAD_MAIN, raise_sigsys, NULL, &o);
	ck_assert_msg(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS, "status %#x, %s",
		      o.status, o.err);
	ck_assert_str_eq(o.err, "");
}
END_TEST

/* getpid through the i386 entry point: another ABI, so another table of calls. */
static long getpid_i386(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r;
}

static void call_i386(const void *arg)
{
	(void)arg;
	getpid_i386();
}

START_TEST(test_other_abi_is_killed)
{
	struct outcome o;
	pid_t pid = fork();
	int st;

	/* Without IA32 emulation in the kernel there is nothing to check. */
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(getpid_i386() == getpid() ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return;
	run_filtered(SECCOMP_THREAD_IO, call_i386, NULL, &o);
	ck_assert_msg(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS, "status %#x, %s",
		      o.status, o.err);
	ck_assert_str_eq(o.err, ""); /* killed outright: no handler runs */
}
END_TEST

/* ---- names ---- */

START_TEST(test_syscall_names)
{
	ck_assert_str_eq(seccomp_syscall_name(0), "read");
	ck_assert_str_eq(seccomp_syscall_name(SYS_ioctl), "ioctl");
	ck_assert_str_eq(seccomp_syscall_name(SYS_execve), "execve");
	ck_assert_str_eq(seccomp_syscall_name(SYS_rseq), "rseq");
	ck_assert_str_eq(seccomp_syscall_name(SYS_pidfd_send_signal), "pidfd_send_signal");
	ck_assert_str_eq(seccomp_syscall_name(SYS_io_uring_enter), "io_uring_enter");
	ck_assert_str_eq(seccomp_syscall_name(__X32_SYSCALL_BIT + 1), "x32 ABI");
	ck_assert_ptr_null(seccomp_syscall_name(-1));
	ck_assert_ptr_null(seccomp_syscall_name(335)); /* unused numbers up to 423 */
	ck_assert_ptr_null(seccomp_syscall_name(100000));
	ck_assert_str_eq(seccomp_thread_name(SECCOMP_THREAD_MAIN), "main");
	ck_assert_str_eq(seccomp_thread_name(SECCOMP_THREAD_VCPU), "vCPU");
	ck_assert_str_eq(seccomp_thread_name(SECCOMP_THREAD_IO), "I/O");
	ck_assert_str_eq(seccomp_thread_name(SECCOMP_THREAD_DISK), "disk");
}
END_TEST

Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *allow = tcase_create("allowed");
	TCase *refuse = tcase_create("refused");
	TCase *names = tcase_create("names");

	tcase_add_loop_test(allow, test_runtime_calls_allowed, 0, LEN(kinds));
	tcase_add_loop_test(allow, test_own_calls_allowed, 0, LEN(own_calls));
	tcase_add_test(allow, test_main_polls);
	tcase_add_test(allow, test_main_serves_api);
	tcase_add_test(allow, test_vcpu_talks_to_vhost_user_backend);
	tcase_add_test(allow, test_filter_is_per_thread);
	suite_add_tcase(s, allow);

	tcase_add_loop_test(refuse, test_forbidden_call_ends_ember, 0, LEN(kinds) * LEN(never));
	tcase_add_loop_test(refuse, test_other_kinds_calls_refused, 0, LEN(not_theirs));
	tcase_add_test(refuse, test_main_unlinks_only_in_api_dir);
	tcase_add_test(refuse, test_sigsys_from_elsewhere_is_fatal);
	tcase_add_test(refuse, test_other_abi_is_killed);
	suite_add_tcase(s, refuse);

	tcase_add_test(names, test_syscall_names);
	suite_add_tcase(s, names);
	return s;
}
