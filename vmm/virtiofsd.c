#include "vmm/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define START_WAIT_MS 10000
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
 * and every mount below it at `mnt` (an empty directory), all read-only.
 * The rest of its tree stays writable: virtiofsd writes its pid file and
 * socket there.
 */
static int bind_readonly(const char *dir, const char *mnt)
{
	char line[8192], path[4096];
	size_t mn = strlen(mnt);
	FILE *f;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(dir, mnt, NULL, MS_BIND | MS_REC, NULL))
		return -errno;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent major:minor root MOUNT-POINT ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", path) != 1)
			continue;
		if (strncmp(path, mnt, mn) || (path[mn] && path[mn] != '/'))
			continue;
		/* A read-only remount must keep the nosuid and nodev a mount may already have. */
		if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) &&
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
			  NULL) &&
		    !strcmp(path, mnt)) {
			fclose(f);
			return -errno;
		}
	}
	fclose(f);
	return 0;
}

static void child(const char *bin, const char *dir, const char *ro_mnt, const char *socket,
		  bool quiet)
{
	char src[4200], sock[200];
	char *argv[] = {(char *)bin, sock,
			"-o",	     src,
			"-o",	     "sandbox=chroot",
			"-o",	     "cache=auto",
			"-o",	     quiet ? "log_level=err" : "log_level=info",
			NULL};
	int fd, err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(src, sizeof(src), "source=%s", ro_mnt ? ro_mnt : dir);
	snprintf(sock, sizeof(sock), "--socket-path=%s", socket);
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

/*
 * Has virtiofsd bound its socket? (A connection would be the one it
 * serves, so only the file is looked at; it listens right after binding.)
 */
static bool listening(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

int virtiofsd_start(struct virtiofsd *d, const char *bin, const char *dir, bool readonly,
		    const char *socket, bool quiet)
{
	long t0 = now_ms();

	memset(d, 0, sizeof(*d));
	if (strlen(socket) + 5 >= sizeof(d->socket))
		return -ENAMETOOLONG;
	snprintf(d->socket, sizeof(d->socket), "%s", socket);
	if (readonly) {
		snprintf(d->ro_mnt, sizeof(d->ro_mnt), "%s.ro", socket);
		if (mkdir(d->ro_mnt, 0700)) {
			int err = -errno;

			log_err("cannot make %s: %s", d->ro_mnt, strerror(-err));
			d->ro_mnt[0] = 0;
			return err;
		}
	}
	d->pid = fork();
	if (d->pid < 0) {
		int err = -errno;

		d->pid = 0;
		log_err("cannot start virtiofsd: %s", strerror(-err));
		return err;
	}
	if (d->pid == 0)
		child(bin, dir, readonly ? d->ro_mnt : NULL, socket, quiet);
	while (!listening(socket)) {
		if (virtiofsd_exited(d)) {
			log_err("virtiofsd for '%s' exited before it listened (%s)", dir, bin);
			return -ECHILD;
		}
		if (now_ms() - t0 > START_WAIT_MS) {
			log_err("virtiofsd for '%s' did not listen on %s within %d s", dir, socket,
				START_WAIT_MS / 1000);
			virtiofsd_stop(d);
			return -ETIMEDOUT;
		}
		usleep(2000);
	}
	return 0;
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
	long t0;

	if (!d->pid)
		return;
	kill(d->pid, SIGTERM);
	for (t0 = now_ms(); !virtiofsd_exited(d);) {
		if (now_ms() - t0 > STOP_GRACE_MS) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = 0;
			break;
		}
		usleep(1000);
	}
}
