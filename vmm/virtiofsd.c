#include "vmm/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define STOP_GRACE_MS 1000

static bool executable(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

int virtiofsd_find(char *path, size_t size)
{
	static const char *const fixed[] = {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"};
	const char *env = getenv("EMBER_VIRTIOFSD"), *p = getenv("PATH");

	if (env && *env) {
		if (!executable(env)) {
			log_err("EMBER_VIRTIOFSD='%s' is not an executable file", env);
			return -ENOENT;
		}
		snprintf(path, size, "%s", env);
		return 0;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (executable(fixed[i])) {
			snprintf(path, size, "%s", fixed[i]);
			return 0;
		}
	}
	while (p && *p) {
		size_t n = strcspn(p, ":");

		if (n && (size_t)snprintf(path, size, "%.*s/virtiofsd", (int)n, p) < size &&
		    executable(path))
			return 0;
		p += n + (p[n] == ':');
	}
	log_err("virtiofsd not found: install the virtiofsd package, or qemu-system-common "
		"on Debian 12 (/usr/lib/qemu/virtiofsd), or set EMBER_VIRTIOFSD");
	return -ENOENT;
}

/*
 * In the child, before exec: in a mount namespace of its own, bind `dir`
 * and every mount below it at `mnt` (an empty directory) and make the
 * whole tree read-only with one mount_setattr(AT_RECURSIVE), which changes
 * only the read-only bit of each mount (Linux 5.12). The rest of its tree
 * stays writable.
 */
static int bind_readonly(const char *dir, const char *mnt)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(dir, mnt, NULL, MS_BIND | MS_REC, NULL) ||
	    mount_setattr(AT_FDCWD, mnt, AT_RECURSIVE, &attr, sizeof(attr)))
		return -errno;
	return 0;
}

/*
 * In the child: virtiofsd on the listening socket `lfd`. Options both
 * virtiofsd programs (Debian 12's C one, the Rust one) spell the same way.
 */
static void child(const char *bin, const char *dir, const char *ro_mnt, int lfd, pid_t parent,
		  bool quiet)
{
	char src[4200], fdopt[32];
	char *argv[] = { (char *)bin, fdopt, "-o", src, "-o", "sandbox=chroot", "-o", "cache=auto",
			 NULL };
	int fd, err;

	sigset_t none;

	/* Default dispositions, then the signals the parent held back (see virtiofsd_start()). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* Ctrl-C on the terminal is for Ember, which then stops the guest and virtiofsd. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* It dies with Ember; if Ember died before this line, at once. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	snprintf(src, sizeof(src), "source=%s", ro_mnt ? ro_mnt : dir);
	snprintf(fdopt, sizeof(fdopt), "--fd=%d", lfd);
	if (fcntl(lfd, F_SETFD, 0) < 0) /* it keeps the socket across exec */
		_exit(127);
	if (ro_mnt && (err = bind_readonly(dir, ro_mnt))) {
		fprintf(stderr, "ember: error: cannot bind %s read-only for virtiofsd: %s\n", dir,
			strerror(-err));
		_exit(127);
	}
	/* Quiet: nothing of it on Ember's stderr, which in exec is the command's. */
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(quiet ? fd : STDERR_FILENO, STDOUT_FILENO);
		if (quiet)
			dup2(fd, STDERR_FILENO);
	}
	execv(bin, argv);
	fprintf(stderr, "ember: error: cannot run %s: %s\n", bin, strerror(errno));
	_exit(127);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A unix socket listening on `path`, for virtiofsd to accept Ember's connection on. */
static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int virtiofsd_start(struct virtiofsd *d, const char *bin, const char *dir, bool readonly,
		    const char *socket, bool quiet)
{
	pid_t parent = getpid();
	sigset_t all, old;
	int lfd, err;

	memset(d, 0, sizeof(*d));
	if (strlen(socket) + 5 >= sizeof(d->socket))
		return -ENAMETOOLONG;
	snprintf(d->socket, sizeof(d->socket), "%s", socket);
	if (readonly) {
		snprintf(d->ro_mnt, sizeof(d->ro_mnt), "%s.ro", socket);
		if (mkdir(d->ro_mnt, 0700)) {
			err = -errno;
			log_err("cannot make %s: %s", d->ro_mnt, strerror(-err));
			d->ro_mnt[0] = 0;
			return err;
		}
	}
	lfd = listen_on(socket);
	if (lfd < 0) {
		log_err("cannot listen on %s for virtiofsd: %s", socket, strerror(-lfd));
		return lfd;
	}
	/* No signal reaches the child before it has reset the parent's handlers. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	d->pid = fork();
	if (d->pid == 0)
		child(bin, dir, readonly ? d->ro_mnt : NULL, lfd, parent, quiet);
	err = d->pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(lfd);
	if (err) {
		d->pid = 0;
		log_err("cannot start virtiofsd: %s", strerror(-err));
	}
	return err;
}

bool virtiofsd_exited(struct virtiofsd *d)
{
	int st;

	if (!d->pid)
		return true;
	if (waitpid(d->pid, &st, WNOHANG) != d->pid)
		return false;
	d->pid = 0;
	return true;
}

bool virtiofsd_wait(struct virtiofsd *d, int ms)
{
	for (long t0 = now_ms(); !virtiofsd_exited(d); usleep(1000))
		if (now_ms() - t0 > ms)
			return false;
	return true;
}

void virtiofsd_stop(struct virtiofsd *d)
{
	if (!d->pid)
		return;
	kill(d->pid, SIGTERM);
	if (!virtiofsd_wait(d, STOP_GRACE_MS)) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
}
