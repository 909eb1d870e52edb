/*
 * ember-init: PID 1 of an `ember exec` guest (docs/exec-init.md). In order:
 *  1. mount devtmpfs on /dev, proc on /proc, sysfs on /sys;
 *  2. read /ember/exec (format: boot/exec_spec.h) and load each module= file
 *     with finit_module (compressed ones with MODULE_INIT_COMPRESSED_FILE);
 *  3. find the virtio-console ports named ember.stdin, ember.stdout,
 *     ember.stderr and ember.status under /sys/class/virtio-ports, waiting up
 *     to 5 s for the driver to add them, and open their /dev nodes;
 *  4. mount the virtio-fs root read-only on /newroot, fresh tmpfs on its
 *     /tmp, /run and /var/tmp, move /dev, /proc and /sys into it, and mount
 *     each share on its directory (read-only or not);
 *  5. fork; the child enters /newroot (chroot), changes to cwd (else "/"
 *     with a warning), takes the environment from env= entries and the
 *     ports as fds 0, 1 and 2, and execs the command: a missing command
 *     exits 127, any other exec failure 126, as a shell does;
 *  6. PID 1 reaps every child (orphans too) until the command exits, writes
 *     its status (exit code, or 128 + signal) in decimal with "\n" to the
 *     status port, closes the ports, syncs and powers off.
 * Any failure is reported on /dev/kmsg and the stderr port (the console
 * before that is open), and ends the run with status 255.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot/exec_spec.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4 /* linux/module.h, Linux 6.4 and later */
#endif
#define PORTS_DIR "/sys/class/virtio-ports"
#define PORT_WAIT_MS 5000
#define PORT_POLL_MS 20

enum { PORT_IN, PORT_OUT, PORT_ERR, PORT_STATUS, NPORTS };
static const char *const port_names[NPORTS] = { "ember.stdin", "ember.stdout", "ember.stderr",
						"ember.status" };
static const int port_modes[NPORTS] = { O_RDONLY, O_WRONLY, O_WRONLY, O_WRONLY };

struct init {
	int kmsg;	   /* -1 until /dev is mounted */
	int port[NPORTS];  /* -1 until found */
	char *spec_buf;	   /* the strings of spec point into it */
	struct exec_spec spec;
};

/* One message, "ember-init: ...", to the kernel log and to the stderr port (or the console). */
__attribute__((format(printf, 3, 0))) static void vreport(const struct init *in, int prio,
							  const char *fmt, va_list ap)
{
	char msg[600];
	int n = snprintf(msg, sizeof(msg), "<%d>ember-init: ", prio);

	vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	strcat(msg, "\n");
	if (in->kmsg >= 0 && write(in->kmsg, msg, strlen(msg)) < 0) {
		/* nowhere better to say it */
	}
	if (write(in->port[PORT_ERR] >= 0 ? in->port[PORT_ERR] : 2, msg + 3, strlen(msg + 3)) < 0) {
		/* idem */
	}
}

__attribute__((format(printf, 2, 3))) static void warn(const struct init *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(in, 4, fmt, ap);
	va_end(ap);
}

/* Write the status, close the ports, sync, power off. Never returns. */
__attribute__((noreturn)) static void finish(struct init *in, int status)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%d\n", status);

	if (in->port[PORT_STATUS] >= 0 && write(in->port[PORT_STATUS], text, (size_t)n) != n)
		warn(in, "cannot write the status %d: %s", status, strerror(errno));
	for (int i = 0; i < NPORTS; i++)
		if (in->port[i] >= 0)
			close(in->port[i]);
	in->port[PORT_ERR] = -1;
	sync();
	reboot(RB_POWER_OFF);
	warn(in, "power off failed: %s", strerror(errno));
	for (;;)
		pause();
}

__attribute__((noreturn, format(printf, 2, 3))) static void die(struct init *in, const char *fmt,
								 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(in, 3, fmt, ap);
	va_end(ap);
	finish(in, 255);
}

static void mount_fs(struct init *in, const char *type, const char *dir, unsigned long flags)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die(in, "cannot create %s: %s", dir, strerror(errno));
	if (mount(type, dir, type, flags, NULL) < 0)
		die(in, "cannot mount %s on %s: %s", type, dir, strerror(errno));
}

/* Step 1; fds 0-2 are made valid (/dev/null) so that nothing opened later takes them. */
static void mount_early(struct init *in)
{
	mount_fs(in, "devtmpfs", "/dev", MS_NOSUID);
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			die(in, "cannot open /dev/null: %s", strerror(errno));
	in->kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	mount_fs(in, "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	mount_fs(in, "sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

/* Step 2. */
static void read_spec(struct init *in)
{
	const char *why;
	struct stat st;
	size_t got = 0;
	int fd = open("/ember/exec", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(in, "cannot open /ember/exec: %s", strerror(errno));
	if (st.st_size <= 0 || st.st_size > EXEC_SPEC_MAX_BYTES)
		die(in, "/ember/exec: empty or larger than %u bytes", EXEC_SPEC_MAX_BYTES);
	in->spec_buf = malloc((size_t)st.st_size);
	if (!in->spec_buf)
		die(in, "out of memory reading /ember/exec");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, in->spec_buf + got, (size_t)st.st_size - got);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			die(in, "cannot read /ember/exec: %s", n ? strerror(errno) : "short file");
		got += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	if (exec_spec_parse(in->spec_buf, got, &in->spec, &why))
		die(in, "/ember/exec: %s", why);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void load_modules(struct init *in)
{
	for (size_t i = 0; i < in->spec.nmodules; i++) {
		const char *path = in->spec.modules[i];
		int flags = ends_with(path, ".xz") || ends_with(path, ".zst") ? MODULE_INIT_COMPRESSED_FILE : 0;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			die(in, "cannot open module %s: %s", path, strerror(errno));
		if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
			die(in, "cannot load module %s: %s", path, strerror(errno));
		close(fd);
	}
}

/* One look at the ports directory; opens each wanted port that is complete. */
static void scan_ports(struct init *in)
{
	DIR *d = opendir(PORTS_DIR);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[300], name[64];
		ssize_t n;
		int fd;

		if (strncmp(e->d_name, "vport", 5))
			continue;
		snprintf(path, sizeof(path), PORTS_DIR "/%s/name", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) /* the name arrives after the port: look again later */
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		name[n > 0 ? n : 0] = '\0';
		name[strcspn(name, "\n")] = '\0';
		for (int i = 0; i < NPORTS; i++) {
			if (in->port[i] >= 0 || strcmp(name, port_names[i]))
				continue;
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			in->port[i] = open(path, port_modes[i] | O_CLOEXEC | O_NOCTTY);
			if (in->port[i] < 0 && errno != ENOENT)
				die(in, "cannot open %s (%s): %s", path, name, strerror(errno));
		}
	}
	if (d)
		closedir(d);
}

/* Step 3. */
static void find_ports(struct init *in)
{
	const struct timespec pause_ts = { 0, PORT_POLL_MS * 1000000L };

	for (int waited = 0;; waited += PORT_POLL_MS) {
		int missing = -1;

		scan_ports(in);
		for (int i = NPORTS - 1; i >= 0; i--)
			if (in->port[i] < 0)
				missing = i;
		if (missing < 0)
			return;
		if (waited >= PORT_WAIT_MS)
			die(in, "virtio-console port %s not found in %s after %d ms", port_names[missing],
			    PORTS_DIR, PORT_WAIT_MS);
		nanosleep(&pause_ts, NULL);
	}
}

/* mkdir -p below /newroot; only succeeds where a tmpfs lies (the root is read-only). */
static int make_dirs(char *path)
{
	for (char *p = path + strlen("/newroot/");; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (!c)
			return 0;
	}
}

/* Step 4. */
static void mount_root(struct init *in)
{
	static const char *const tmp[][2] = {
		{ "/newroot/tmp", "mode=1777" },
		{ "/newroot/run", "mode=0755" },
		{ "/newroot/var/tmp", "mode=1777" },
	};
	static const char *const moved[] = { "/dev", "/proc", "/sys" };
	char path[EXEC_SPEC_MAX_PATH + 16];

	if (mount(in->spec.root, "/newroot", "virtiofs", MS_RDONLY, NULL) < 0)
		die(in, "cannot mount the root (virtio-fs tag %s): %s", in->spec.root, strerror(errno));
	for (size_t i = 0; i < sizeof(tmp) / sizeof(tmp[0]); i++)
		/* A root without the directory (a minimal one) goes without; the root is read-only. */
		if (mount("tmpfs", tmp[i][0], "tmpfs", MS_NOSUID | MS_NODEV, tmp[i][1]) < 0 &&
		    errno != ENOENT)
			warn(in, "no tmpfs on %s: %s", tmp[i][0] + 8, strerror(errno));
	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		snprintf(path, sizeof(path), "/newroot%s", moved[i]);
		if (mount(moved[i], path, NULL, MS_MOVE, NULL) < 0)
			die(in, "cannot move %s into the root: %s", moved[i], strerror(errno));
	}
	for (size_t i = 0; i < in->spec.nshares; i++) {
		const struct exec_share *s = &in->spec.shares[i];
		struct stat st;

		snprintf(path, sizeof(path), "/newroot%s", s->dir);
		if (stat(path, &st) < 0 && make_dirs(path) < 0)
			die(in, "share %s: %s does not exist in the read-only root and cannot be created "
				"there (%s); create it on the host", s->tag, s->dir, strerror(errno));
		if (mount(s->tag, path, "virtiofs", s->readonly ? MS_RDONLY : 0, NULL) < 0)
			die(in, "cannot mount share %s on %s: %s", s->tag, s->dir, strerror(errno));
	}
}

/* Step 5, in the child. */
__attribute__((noreturn)) static void run_command(struct init *in)
{
	const char *cwd = in->spec.cwd ? in->spec.cwd : "/";
	const char *arg0 = in->spec.argv[0];
	int err;

	if (chroot("/newroot") < 0 || chdir("/") < 0)
		warn(in, "cannot enter /newroot: %s", strerror(errno)), _exit(255);
	if (dup2(in->port[PORT_IN], 0) < 0 || dup2(in->port[PORT_OUT], 1) < 0 ||
	    dup2(in->port[PORT_ERR], 2) < 0)
		warn(in, "cannot set up fds 0-2: %s", strerror(errno)), _exit(255);
	if (chdir(cwd) < 0)
		dprintf(2, "ember-init: warning: cannot change directory to %s (%s); running in /\n",
			cwd, strerror(errno));
	clearenv();
	for (size_t i = 0; i < in->spec.nenv; i++)
		if (putenv((char *)in->spec.env[i]) != 0)
			warn(in, "cannot set %s", in->spec.env[i]), _exit(255);
	execvp(arg0, (char *const *)in->spec.argv);
	err = errno;
	if (err == ENOENT)
		dprintf(2, "ember-init: %s: command not found\n", arg0);
	else
		dprintf(2, "ember-init: %s: %s\n", arg0, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* Step 6 up to the status: reap until `pid` exits. */
static int wait_command(struct init *in, pid_t pid)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			die(in, "waitpid: %s", strerror(errno));
		if (p != pid)
			continue; /* an orphan, reparented to us */
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		return WTERMSIG(st) + 128 > 255 ? 255 : WTERMSIG(st) + 128;
	}
}

int main(void)
{
	struct init *in = calloc(1, sizeof(*in));
	pid_t pid;

	if (!in)
		return 255; /* PID 1 exiting makes the kernel panic: the VMM sees the failure */
	in->kmsg = -1;
	for (int i = 0; i < NPORTS; i++)
		in->port[i] = -1;
	mount_early(in);
	read_spec(in);
	load_modules(in);
	find_ports(in);
	mount_root(in);
	pid = fork();
	if (pid < 0)
		die(in, "fork: %s", strerror(errno));
	if (pid == 0)
		run_command(in);
	finish(in, wait_command(in, pid));
}
