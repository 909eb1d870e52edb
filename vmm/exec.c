/*
 * `ember exec`: run one command in a test kernel over the host's files and
 * return its status. In order:
 *   1. check what the user gave: --root and --share directories, the
 *      kernel (and its release, from the bzImage header), virtiofsd;
 *   2. resolve the kernel modules the guest needs (virtio-pci,
 *      virtio-console, virtio-fs, pvpanic) under /lib/modules/RELEASE or
 *      --modules, unless the kernel has them built in (boot/modules.c);
 *   3. build the initramfs in memory: the guest init (boot/init/init.c),
 *      the modules, and the description of the command (boot/exec_spec.h):
 *      its argv, the caller's directory, PATH, TERM and HOME, the shares;
 *   4. start one virtiofsd per shared directory (vmm/virtiofsd.c), the
 *      root read-only;
 *   5. give the command's stdin, stdout and stderr, and a pipe for its
 *      status, to four virtio-console ports (ember.stdin, ...);
 *   6. run the VM (run_vm_plan()) and turn how it ended into a status:
 *      the number init wrote on the status port when the guest powered
 *      off, else EXIT_TIMEOUT, EXIT_EXEC_PANIC or EXIT_EXEC_NO_STATUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/init_image.h"
#include "boot/initramfs.h"
#include "boot/modules.h"
#include "vmm/exit.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/run.h"
#include "vmm/virtiofsd.h"
#include "vmm/vm.h"

#define EXEC_MAX_FS	(1 + CLI_MAX_SHARES + CLI_MAX_FS) /* root, shares, --fs */
#define EXEC_ROOT_TAG	"root"
#define EXEC_CMDLINE	"panic=-1 rdinit=/init"
#define EXEC_MAX_KERNEL (512ULL << 20)

/* Everything exec sets up around the VM, released by exec_cleanup(). */
struct exec_job {
	char fsd_bin[PATH_MAX];
	char sock_dir[64]; /* private directory of the virtiofsd sockets; "" when none */
	struct virtiofsd fsd[EXEC_MAX_FS];
	struct cli_fs fs[EXEC_MAX_FS];
	unsigned int nr_fs;
	char cwd[PATH_MAX];
	char root[PATH_MAX];
	char share_dir[CLI_MAX_SHARES][PATH_MAX]; /* the hosts' directories, resolved */
	const char *share_guest[CLI_MAX_SHARES];  /* where the guest mounts each */
	struct cpio initramfs;
	int port_fd[3]; /* the command's stdin, stdout, stderr as the device uses them */
	int shared_flags[3]; /* the caller's file status flags where port_fd shares them, else -1 */
	bool vm_ran;	/* threads may have seccomp filters now: no more signals sent */
	struct vm *vm;	/* while it runs */
	int status_pipe[2];
	char cmdline[1024];
};

/* A directory the user named: it must exist and be one. Resolved into `out`. */
static int check_dir(const char *what, const char *dir, char *out)
{
	struct stat st;

	if (!realpath(dir, out) || stat(out, &st)) {
		log_err("%s '%s': %s", what, dir, strerror(errno));
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("%s '%s' is not a directory", what, dir);
		return -ENOTDIR;
	}
	return 0;
}

/*
 * A share's GUESTDIR must be a directory of the guest's root (which is a
 * host directory), since the root is mounted read-only; init makes it only
 * under the fresh tmpfs of /tmp, /run and /var/tmp.
 */
static int check_mount_point(const char *root, const char *guest)
{
	static const char *const fresh[] = {"/tmp/", "/run/", "/var/tmp/"};
	char path[PATH_MAX * 2];
	struct stat st;

	for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++)
		if (!strncmp(guest, fresh[i], strlen(fresh[i])))
			return 0;
	snprintf(path, sizeof(path), "%s%s", strcmp(root, "/") ? root : "", guest);
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return 0;
	log_err("--share: %s is not a directory in the guest's root (%s); the root is read-only, "
		"so it must exist there, or be under /tmp, /run or /var/tmp",
		guest, path);
	return -ENOENT;
}

/* The kernel's release, for /lib/modules/RELEASE. */
static int kernel_release(const char *kernel, char *out, size_t size)
{
	struct arch_kernel k;
	struct file_map f;
	const char *why = "";
	int err = file_map(kernel, "kernel", EXEC_MAX_KERNEL, &f);

	if (err)
		return err;
	err = arch_kernel_parse(&k, f.data, f.size, &why);
	if (!err) {
		err = arch_kernel_release_name(&k, out, size, &why);
		arch_kernel_release(&k);
	}
	if (err)
		log_err("cannot boot kernel '%s': %s", kernel, why);
	file_unmap(&f);
	return err;
}

/*
 * The modules the guest needs that its kernel does not have built in.
 * pvpanic is optional: without it a panic is reported as the guest ending
 * without a status.
 */
static int resolve_modules(const struct cli_config *cfg, struct modules_list *mods)
{
	static const char *const needed[] = {"virtio_pci", "virtio_console", "virtiofs"};
	static const char *const wanted[] = {"virtio_pci", "virtio_console", "virtiofs",
					     "pvpanic_pci"};
	char release[ARCH_KERNEL_RELEASE_MAX + 1], dir[PATH_MAX], why[512], pv_why[512];
	int err;

	if (cfg->modules_dir) {
		snprintf(dir, sizeof(dir), "%s", cfg->modules_dir);
	} else {
		err = kernel_release(cfg->kernel, release, sizeof(release));
		if (err)
			return err;
		snprintf(dir, sizeof(dir), "/lib/modules/%s", release);
	}
	/* Usually everything is there: one walk of the directory. */
	err = modules_resolve(dir, wanted, 4, mods, why, sizeof(why));
	if (!err)
		return 0;
	/* Else the required drivers alone, so that an error names one of them. */
	modules_list_free(mods);
	snprintf(pv_why, sizeof(pv_why), "%s", why);
	err = modules_resolve(dir, needed, 3, mods, why, sizeof(why));
	if (err)
		log_err("the guest kernel needs the virtio-pci, virtio-console and virtio-fs "
			"drivers, built in or as modules under %s (--modules DIR): %s",
			dir, why);
	else
		log_info("no pvpanic driver for the guest (%s): a panic ends it without a status",
			 pv_why);
	return err;
}

/* The description of the command and the initramfs that carries it. */
static int build_initramfs(const struct cli_config *cfg, struct exec_job *job,
			   const struct modules_list *mods)
{
	static const char *const env_names[] = {"PATH", "TERM", "HOME"};
	struct exec_spec *spec = calloc(1, sizeof(*spec)); /* large: argv and env arrays */
	char env[3][PATH_MAX + 8], why[512];
	struct initramfs_input in = {0};
	size_t init_size;
	int err;

	if (!spec)
		return -ENOMEM;
	spec->root = EXEC_ROOT_TAG;
	spec->cwd = job->cwd;
	for (unsigned int i = 0; i < cfg->nr_shares; i++) {
		spec->shares[i].tag = job->fs[1 + i].tag;
		spec->shares[i].dir = job->share_guest[i];
		spec->shares[i].readonly = cfg->share[i].readonly;
	}
	spec->nshares = cfg->nr_shares;
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(env_names[i]);

		if (v && snprintf(env[spec->nenv], sizeof(env[0]), "%s=%s", env_names[i], v) <
				 (int)sizeof(env[0])) {
			spec->env[spec->nenv] = env[spec->nenv];
			spec->nenv++;
		}
	}
	if ((size_t)cfg->exec_argc > EXEC_SPEC_MAX_ARGS) {
		log_err("the command has more than %d arguments", EXEC_SPEC_MAX_ARGS);
		free(spec);
		return -E2BIG;
	}
	for (int i = 0; i < cfg->exec_argc; i++)
		spec->argv[i] = cfg->exec_argv[i];
	spec->nargs = (size_t)cfg->exec_argc;
	in.init = init_image(&init_size);
	in.init_size = init_size;
	in.modules = (const char *const *)mods->path;
	in.nmodules = mods->n;
	in.spec = spec;
	err = initramfs_build(&in, &job->initramfs, why, sizeof(why));
	if (err)
		log_err("cannot build the guest's initramfs: %s", why);
	free(spec);
	return err;
}

/* --dump-initramfs: the archive as a file, to read with cpio -t or boot elsewhere. */
static int dump(const char *path, const struct cpio *c)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;
	size_t off = 0;

	if (fd < 0)
		err = errno;
	while (!err && off < c->len) {
		ssize_t n = write(fd, c->buf + off, c->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	if (err)
		log_err("cannot write the initramfs to '%s': %s", path, strerror(err));
	return -err;
}

/* One virtiofsd per directory: the root (read-only), then each share. */
static int start_fs(const struct cli_config *cfg, struct exec_job *job)
{
	bool quiet = log_get_level() < LOG_INFO;
	int err;

	snprintf(job->sock_dir, sizeof(job->sock_dir), "/tmp/ember-exec-XXXXXX");
	if (!mkdtemp(job->sock_dir)) {
		err = -errno;
		job->sock_dir[0] = 0;
		log_err("cannot make a directory for the virtiofsd sockets: %s", strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < job->nr_fs; i++) {
		const char *dir = i ? job->share_dir[i - 1] : job->root;
		bool ro = i ? cfg->share[i - 1].readonly : true;

		snprintf(job->fs[i].socket, sizeof(job->fs[i].socket), "%s/fs%u.sock",
			 job->sock_dir, i);
		err = virtiofsd_start(&job->fsd[i], job->fsd_bin, dir, ro, job->fs[i].socket,
				      quiet);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A file description of our own for one of Ember's standard streams, so
 * that the device can make it non-blocking without changing the caller's
 * (a shell shares its terminal and pipes with us). Regular files and
 * devices that cannot be polled are used as they are.
 */
static int own_stream(int fd, int flags, int *shared_flags)
{
	char path[32];
	struct stat st;
	int nfd;

	*shared_flags = -1;
	if (fstat(fd, &st)) {
		/* Closed by the caller: /dev/null in its place. */
		return open("/dev/null", flags | O_CLOEXEC);
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return fcntl(fd, F_DUPFD_CLOEXEC, 3);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd >= 0)
		return nfd;
	/* A socket cannot be reopened: a duplicate, made non-blocking, and its
	 * flags put back at the end (exec_cleanup()). */
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd >= 0) {
		*shared_flags = fcntl(nfd, F_GETFL);
		fcntl(nfd, F_SETFL, *shared_flags | O_NONBLOCK);
	}
	return nfd;
}

/*
 * Ember's stdout lost its reader (`ember exec ... | head`): the guest's
 * writer would block for good, so Ember ends as the command would have in
 * the pipeline, with SIGPIPE's status.
 */
static void stdout_gone(void *ctx)
{
	struct exec_job *job = ctx;

	if (job->vm)
		vm_request_stop(job->vm, EXIT_EXEC_SIGPIPE, "standard output was closed");
}

/*
 * A closed fd 0, 1 or 2 becomes /dev/null, so that no file Ember opens
 * takes its number (and is then taken for that stream).
 */
static void fill_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

/*
 * Stdin for the command: Ember's, except a terminal that Ember does not
 * own (`ember exec ... &` from a shell): reading it would stop Ember
 * (SIGTTIN) and take keystrokes meant for the shell.
 */
static int own_stdin(int *shared_flags)
{
	pid_t fg;

	if (isatty(STDIN_FILENO) && (fg = tcgetpgrp(STDIN_FILENO)) >= 0 && fg != getpgrp()) {
		*shared_flags = -1;
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	return own_stream(STDIN_FILENO, O_RDONLY, shared_flags);
}

static int open_ports(struct exec_job *job, struct vconsole_port_cfg ports[4])
{
	if ((job->port_fd[0] = own_stdin(&job->shared_flags[0])) < 0 ||
	    (job->port_fd[1] = own_stream(STDOUT_FILENO, O_WRONLY, &job->shared_flags[1])) < 0 ||
	    (job->port_fd[2] = own_stream(STDERR_FILENO, O_WRONLY, &job->shared_flags[2])) < 0 ||
	    pipe2(job->status_pipe, O_NONBLOCK | O_CLOEXEC)) {
		log_err("cannot set up the command's streams: %s", strerror(errno));
		return -errno;
	}
	ports[0] = (struct vconsole_port_cfg){
		.name = "ember.stdin", .in_fd = job->port_fd[0], .out_fd = -1};
	ports[1] = (struct vconsole_port_cfg){.name = "ember.stdout",
					      .in_fd = -1,
					      .out_fd = job->port_fd[1],
					      .out_gone = stdout_gone,
					      .out_gone_ctx = job};
	ports[2] = (struct vconsole_port_cfg){
		.name = "ember.stderr", .in_fd = -1, .out_fd = job->port_fd[2]};
	ports[3] = (struct vconsole_port_cfg){
		.name = "ember.status", .in_fd = -1, .out_fd = job->status_pipe[1]};
	return 0;
}

/* What init wrote on the status port: "N\n", N in 0-255; -1 if nothing valid. */
static int read_status(int fd)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	char *end;
	long v;

	if (n <= 0)
		return -1;
	buf[n] = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || v < 0 || v > 255)
		return -1;
	return (int)v;
}

/* How the VM ended, as exec's status. */
static int exec_status(int vm_status, int cmd_status)
{
	switch (vm_status) {
	case EXIT_GUEST_OFF:
		if (cmd_status >= 0)
			return cmd_status;
		log_err("the guest ended without reporting the command's status");
		return EXIT_EXEC_NO_STATUS;
	case EXIT_GUEST_PANIC: log_err("the guest kernel panicked"); return EXIT_EXEC_PANIC;
	case EXIT_TIMEOUT:
		log_err("the time limit (--timeout) ran out: the guest was stopped");
		return EXIT_TIMEOUT;
	case EXIT_EXEC_SIGPIPE: return EXIT_EXEC_SIGPIPE;
	case EXIT_SETUP:
	case EXIT_USAGE: return vm_status;
	default:
		if (vm_status >= 128 && vm_status < 128 + 65)
			return vm_status; /* Ember was stopped by a signal */
		log_err("the guest ended without the command's status (Ember status %d)",
			vm_status);
		return EXIT_EXEC_NO_STATUS;
	}
}

/* The sockets and their directory go once the devices are connected. */
static void remove_sockets(struct exec_job *job)
{
	if (!job->sock_dir[0])
		return;
	for (unsigned int i = 0; i < job->nr_fs; i++) {
		unlink(job->fs[i].socket);
		if (job->fsd[i].ro_mnt[0])
			rmdir(job->fsd[i].ro_mnt);
	}
	rmdir(job->sock_dir);
	job->sock_dir[0] = 0;
}

static void vm_created(void *ctx, struct vm *vm)
{
	struct exec_job *job = ctx;

	job->vm = vm;
	job->vm_ran = true; /* from here on vm_destroy() closes the connections */
	remove_sockets(job);
}

static void exec_cleanup(struct exec_job *job)
{
	for (unsigned int i = 0; i < job->nr_fs; i++) {
		if (job->vm_ran)
			virtiofsd_wait(&job->fsd[i], 1000);
		else
			virtiofsd_stop(&job->fsd[i]);
	}
	remove_sockets(job);
	cpio_free(&job->initramfs);
	for (int i = 0; i < 3; i++) {
		if (job->port_fd[i] >= 0 && job->shared_flags[i] >= 0)
			fcntl(job->port_fd[i], F_SETFL, job->shared_flags[i]);
		if (job->port_fd[i] >= 0)
			close(job->port_fd[i]);
	}
	for (int i = 0; i < 2; i++)
		if (job->status_pipe[i] >= 0)
			close(job->status_pipe[i]);
}

int run_exec(const struct cli_config *cfg)
{
	struct exec_job *job = calloc(1, sizeof(*job)); /* large: not on the stack */
	struct vconsole_port_cfg ports[4];
	struct modules_list mods = {0};
	struct run_plan plan = {0};
	int status = EXIT_SETUP, vm_status;

	if (!job) {
		log_err("out of memory");
		return EXIT_SETUP;
	}
	for (int i = 0; i < 3; i++)
		job->port_fd[i] = job->shared_flags[i] = -1;
	job->status_pipe[0] = job->status_pipe[1] = -1;
	cpio_init(&job->initramfs);
	/* A reader that goes away must end a write with EPIPE, not end Ember. */
	signal(SIGPIPE, SIG_IGN);
	fill_std_fds();

	if (!getcwd(job->cwd, sizeof(job->cwd))) {
		log_err("cannot tell the current directory: %s", strerror(errno));
		goto out;
	}
	if (check_dir("--root", cfg->root ? cfg->root : "/", job->root))
		goto out;
	snprintf(job->fs[0].tag, sizeof(job->fs[0].tag), EXEC_ROOT_TAG);
	for (unsigned int i = 0; i < cfg->nr_shares; i++) {
		if (check_dir("--share", cfg->share[i].host, job->share_dir[i]))
			goto out;
		/* Without GUESTDIR: the directory's own (resolved) path. */
		job->share_guest[i] = cfg->share[i].guest[0] ? cfg->share[i].guest : job->share_dir[i];
		if (!strcmp(job->share_guest[i], "/")) {
			log_err("--share %s: the root is the guest's / already; give a GUESTDIR",
				cfg->share[i].host);
			goto out;
		}
		if (check_mount_point(job->root, job->share_guest[i]))
			goto out;
		snprintf(job->fs[1 + i].tag, sizeof(job->fs[0].tag), "share%u", i);
	}
	job->nr_fs = 1 + cfg->nr_shares;
	if (virtiofsd_find(job->fsd_bin, sizeof(job->fsd_bin)) || resolve_modules(cfg, &mods) ||
	    build_initramfs(cfg, job, &mods))
		goto out;
	if (cfg->dump_initramfs) {
		status = dump(cfg->dump_initramfs, &job->initramfs) ? EXIT_SETUP : 0;
		goto out;
	}
	if (start_fs(cfg, job) || open_ports(job, ports))
		goto out;
	/* Kernel messages only where --serial sends them: printing costs exits. */
	snprintf(job->cmdline, sizeof(job->cmdline), "%s %s%s%s",
		 cfg->serial == CLI_SERIAL_NONE ? "quiet" : "console=" LAYOUT_CONSOLE, EXEC_CMDLINE,
		 cfg->cmdline ? " " : "", cfg->cmdline ? cfg->cmdline : "");
	plan.initrd = job->initramfs.buf;
	plan.initrd_size = job->initramfs.len;
	plan.cmdline = job->cmdline;
	plan.ports = ports;
	plan.nr_ports = 4;
	/* The user's own --fs devices come after the ones exec serves. */
	memcpy(&job->fs[job->nr_fs], cfg->fs, cfg->nr_fs * sizeof(cfg->fs[0]));
	plan.fs = job->fs;
	plan.nr_fs = job->nr_fs + cfg->nr_fs;
	plan.timeout = cfg->timeout;
	plan.created = vm_created;
	plan.ctx = job;
	vm_status = run_vm_plan(cfg, &plan);
	status = exec_status(vm_status, read_status(job->status_pipe[0]));
out:
	modules_list_free(&mods);
	exec_cleanup(job);
	free(job);
	return status;
}
