#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"
#include "vmm/trace.h"

int cli_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v = 0, mult = 1ULL << 20; /* a plain number means MiB */
	const char *p = s;
	bool overflow = false;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	/* Too many digits is -ERANGE only once the whole string is known to be a size. */
	for (; isdigit((unsigned char)*p); p++)
		overflow |= __builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v);
	if (*p) {
		switch (toupper((unsigned char)*p)) {
		case 'K': mult = 1ULL << 10; break;
		case 'M': mult = 1ULL << 20; break;
		case 'G': mult = 1ULL << 30; break;
		case 'T': mult = 1ULL << 40; break;
		default: return -EINVAL;
		}
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (overflow || __builtin_mul_overflow(v, mult, bytes))
		return -ERANGE;
	return 0;
}

/* A plain decimal number in [min, max]. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_cpus(const char *s, unsigned int *cpus)
{
	return parse_uint(s, 1, CLI_MAX_CPUS, cpus);
}

static int parse_serial(const char *s, struct cli_config *cfg)
{
	if (!strcmp(s, "stdio")) {
		cfg->serial = CLI_SERIAL_STDIO;
	} else if (!strcmp(s, "none")) {
		cfg->serial = CLI_SERIAL_NONE;
	} else if (!strncmp(s, "file=", 5) && s[5]) {
		cfg->serial = CLI_SERIAL_FILE;
		cfg->serial_path = s + 5;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Copy "key=value" pieces of a comma-separated list one at a time. */
static const char *next_item(const char *s, char *buf, size_t size, bool *too_long)
{
	size_t n = strcspn(s, ",");

	*too_long = n >= size;
	if (!*too_long) {
		memcpy(buf, s, n);
		buf[n] = 0;
	}
	return s[n] ? s + n + 1 : s + n;
}

static int disk_item(const char *item, struct cli_disk *d, char *path_buf, size_t path_size)
{
	if (!strncmp(item, "path=", 5) && item[5]) {
		if (strlen(item + 5) >= path_size)
			return -EINVAL;
		strcpy(path_buf, item + 5);
		d->path = path_buf;
	} else if (!strcmp(item, "readonly=on") || !strcmp(item, "readonly") ||
		   !strcmp(item, "ro")) {
		d->readonly = true;
	} else if (!strcmp(item, "readonly=off")) {
		d->readonly = false;
	} else if (!strcmp(item, "format=raw")) {
		d->format = DISK_FORMAT_RAW;
	} else if (!strcmp(item, "format=qcow2")) {
		d->format = DISK_FORMAT_QCOW2;
	} else if (!strcmp(item, "snapshot=on") || !strcmp(item, "snapshot")) {
		d->snapshot = true;
	} else if (!strcmp(item, "snapshot=off")) {
		d->snapshot = false;
	} else if (!strcmp(item, "aio=sync")) {
		d->sync_io = true;
	} else if (!strcmp(item, "aio=io_uring")) {
		d->sync_io = false;
	} else if (!strncmp(item, "poll=", 5)) {
		unsigned int us;

		if (parse_uint(item + 5, 0, CLI_POLL_US_MAX, &us))
			return -EINVAL;
		d->poll_us = (int)us;
	} else if (!strncmp(item, "id=", 3)) {
		if (strlen(item + 3) > 20)
			return -EINVAL;
		strcpy(d->id, item + 3);
	} else {
		return -EINVAL;
	}
	return 0;
}

int cli_parse_disk(const char *s, struct cli_disk *d, char *path_buf, size_t path_size)
{
	char item[4200];
	bool too_long;

	memset(d, 0, sizeof(*d));
	d->poll_us = -1;
	if (!strchr(s, '=')) { /* a bare file name; "file,ro" is a mistake, not a name */
		if (!*s || strchr(s, ',') || strlen(s) >= path_size)
			return -EINVAL;
		strcpy(path_buf, s);
		d->path = path_buf;
		return 0;
	}
	while (*s) {
		s = next_item(s, item, sizeof(item), &too_long);
		if (too_long || disk_item(item, d, path_buf, path_size))
			return -EINVAL;
	}
	return d->path ? 0 : -EINVAL;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	/* Exactly xx:xx:xx:xx:xx:xx: sscanf() alone would take signs and spaces. */
	for (int i = 0; i < 17; i++)
		if (!s[i] || (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i])))
			return -EINVAL;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				       &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return (mac[0] & 1) ? -EINVAL : 0; /* a multicast address cannot be a NIC's */
}

int cli_parse_nic(const char *s, struct cli_nic *n)
{
	char item[64];
	bool too_long;

	memset(n, 0, sizeof(*n));
	while (*s) {
		s = next_item(s, item, sizeof(item), &too_long);
		if (too_long)
			return -EINVAL;
		if (!strncmp(item, "tap=", 4) && item[4] && strlen(item + 4) < sizeof(n->tap))
			strcpy(n->tap, item + 4);
		else if (!strncmp(item, "mac=", 4) && !parse_mac(item + 4, n->mac))
			n->mac_set = true;
		else
			return -EINVAL;
	}
	return n->tap[0] ? 0 : -EINVAL;
}

int cli_parse_fs(const char *s, struct cli_fs *f)
{
	char item[160];
	bool too_long;

	memset(f, 0, sizeof(*f));
	while (*s) {
		s = next_item(s, item, sizeof(item), &too_long);
		if (too_long)
			return -EINVAL;
		if (!strncmp(item, "socket=", 7) && item[7] && strlen(item + 7) < sizeof(f->socket))
			strcpy(f->socket, item + 7);
		else if (!strncmp(item, "tag=", 4) && item[4] && strlen(item + 4) <= CLI_FS_TAG_MAX)
			strcpy(f->tag, item + 4);
		else
			return -EINVAL;
	}
	return f->socket[0] && f->tag[0] ? 0 : -EINVAL;
}

/*
 * A guest directory as the exec description wants it: absolute, no "." or
 * ".." component, not "/". Doubled and trailing slashes are dropped in place.
 */
static int clean_guest_dir(char *p)
{
	char *out = p, *seg = p;

	if (*p != '/')
		return -EINVAL;
	while (*seg) {
		size_t n;

		while (*seg == '/')
			seg++;
		n = strcspn(seg, "/");
		if (!n)
			break;
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return -EINVAL;
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
		seg += n;
	}
	*out = 0;
	return out == p ? -EINVAL : 0; /* "/" itself is the root, not a share */
}

int cli_parse_share(const char *s, struct cli_share *sh)
{
	size_t n = strcspn(s, ",");
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;

	memset(sh, 0, sizeof(*sh));
	if (!hn || hn >= sizeof(sh->host))
		return -EINVAL;
	memcpy(sh->host, s, hn);
	if (colon) {
		size_t gn = n - hn - 1;

		if (!gn || gn >= sizeof(sh->guest))
			return -EINVAL;
		memcpy(sh->guest, colon + 1, gn);
		if (clean_guest_dir(sh->guest))
			return -EINVAL;
	}
	for (s += n; *s;) {
		char item[32];
		bool too_long;

		s = next_item(s + (*s == ','), item, sizeof(item), &too_long);
		if (too_long)
			return -EINVAL;
		if (!strcmp(item, "readonly=on") || !strcmp(item, "readonly") || !strcmp(item, "ro"))
			sh->readonly = true;
		else if (!strcmp(item, "readonly=off"))
			sh->readonly = false;
		else
			return -EINVAL;
	}
	return 0;
}

/* Options of `ember run` and `ember exec` that take a value. */
enum opt {
	OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_FIRMWARE, OPT_SERIAL, OPT_DISK,
	OPT_NET, OPT_SECCOMP, OPT_TRACE_FILE, OPT_FS, OPT_ROOT, OPT_SHARE, OPT_MODULES, OPT_TIMEOUT,
	OPT_DUMP_INITRAMFS, OPT_API, OPT_RESTORE, OPT_DUMP_DTB
};

static const struct {
	const char *name;
	enum opt id;
} run_opts[] = {
	{ "--kernel", OPT_KERNEL }, { "--initrd", OPT_INITRD },	    { "--cmdline", OPT_CMDLINE },
	{ "--memory", OPT_MEMORY }, { "--cpus", OPT_CPUS },	    { "--firmware", OPT_FIRMWARE },
	{ "--serial", OPT_SERIAL }, { "--disk", OPT_DISK },	    { "--net", OPT_NET },
	{ "--seccomp", OPT_SECCOMP }, { "--trace-file", OPT_TRACE_FILE }, { "--fs", OPT_FS },
	{ "--root", OPT_ROOT },	    { "--share", OPT_SHARE },	    { "--modules", OPT_MODULES },
	{ "--timeout", OPT_TIMEOUT }, { "--dump-initramfs", OPT_DUMP_INITRAMFS },
	{ "--api", OPT_API },	    { "--restore", OPT_RESTORE }, { "--dump-dtb", OPT_DUMP_DTB },
};

static int bad(const char *what, const char *val, const char *hint)
{
	log_err("invalid %s '%s': %s", what, val, hint);
	return -EINVAL;
}

/* Options that say how the VM is made: a snapshot says it with --restore. */
static bool machine_opt(enum opt id)
{
	return id == OPT_KERNEL || id == OPT_INITRD || id == OPT_CMDLINE || id == OPT_FIRMWARE ||
	       id == OPT_MEMORY || id == OPT_CPUS || id == OPT_DISK || id == OPT_NET || id == OPT_FS;
}

static int apply_opt(enum opt id, const char *val, struct cli_config *cfg)
{
	switch (id) {
	case OPT_RESTORE:
		if (!*val)
			return bad("--restore", val, "give the snapshot's directory");
		cfg->restore = val;
		break;
	case OPT_KERNEL: cfg->kernel = val; break;
	case OPT_INITRD: cfg->initrd = val; break;
	case OPT_CMDLINE: cfg->cmdline = val; break;
	case OPT_FIRMWARE: cfg->firmware = val; break;
	case OPT_MEMORY:
		if (cli_parse_size(val, &cfg->memory) || cfg->memory == 0)
			return bad("--memory", val, "give a size such as 256M or 2G (a plain number is MiB)");
		break;
	case OPT_CPUS:
		if (parse_cpus(val, &cfg->cpus))
			return bad("--cpus", val, "give a number from 1 to 255");
		break;
	case OPT_SERIAL:
		if (parse_serial(val, cfg))
			return bad("--serial", val, "use stdio, none or file=PATH");
		break;
	case OPT_DISK:
		if (cfg->nr_disks == CLI_MAX_DISKS)
			return bad("--disk", val, "at most 8 disks");
		if (cli_parse_disk(val, &cfg->disk[cfg->nr_disks], cfg->disk_paths[cfg->nr_disks],
				   sizeof(cfg->disk_paths[0])))
			return bad("--disk", val, "use path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=SERIAL][,aio=io_uring|sync][,poll=US] (id: 20 bytes at most, poll: 0-1000)");
		cfg->nr_disks++;
		break;
	case OPT_NET:
		if (cfg->nr_nics == CLI_MAX_NICS)
			return bad("--net", val, "at most 4 network devices");
		if (cli_parse_nic(val, &cfg->nic[cfg->nr_nics]))
			return bad("--net", val,
				   "use tap=NAME[,mac=52:54:00:xx:xx:xx] (name up to 15 characters, unicast MAC)");
		cfg->nr_nics++;
		break;
	case OPT_TRACE_FILE:
		if (!*val)
			return bad("--trace-file", val, "give a file name");
		cfg->trace_path = val;
		break;
	case OPT_FS:
		if (cfg->nr_fs == CLI_MAX_FS)
			return bad("--fs", val, "at most 8 virtio-fs devices");
		if (cli_parse_fs(val, &cfg->fs[cfg->nr_fs]))
			return bad("--fs", val, "use socket=PATH,tag=TAG (tag: 1-36 bytes)");
		cfg->nr_fs++;
		break;
	case OPT_ROOT:
		if (!*val)
			return bad("--root", val, "give a directory");
		cfg->root = val;
		break;
	case OPT_MODULES:
		if (!*val)
			return bad("--modules", val, "give a directory");
		cfg->modules_dir = val;
		break;
	case OPT_SHARE:
		if (cfg->nr_shares == CLI_MAX_SHARES)
			return bad("--share", val, "at most 8 shares");
		if (cli_parse_share(val, &cfg->share[cfg->nr_shares]))
			return bad("--share", val,
				   "use HOSTDIR[:GUESTDIR][,readonly=on], GUESTDIR absolute, not /, without . or ..");
		cfg->nr_shares++;
		break;
	case OPT_DUMP_INITRAMFS:
		if (!*val)
			return bad("--dump-initramfs", val, "give a file name");
		cfg->dump_initramfs = val;
		break;
	case OPT_DUMP_DTB:
		if (!*val)
			return bad("--dump-dtb", val, "give a file name");
		cfg->dump_dtb = val;
		break;
	case OPT_TIMEOUT:
		if (parse_uint(val, 1, CLI_MAX_TIMEOUT, &cfg->timeout))
			return bad("--timeout", val, "give whole seconds, 1 to 604800");
		break;
	case OPT_API:
		if (!*val || strlen(val) > CLI_SOCKET_PATH_MAX)
			return bad("--api", val, "give a socket path of 1 to 107 bytes");
		cfg->api_path = val;
		break;
	case OPT_SECCOMP:
		if (strcmp(val, "on") && strcmp(val, "off"))
			return bad("--seccomp", val, "use on or off");
		cfg->seccomp = !strcmp(val, "on");
		break;
	}
	return 0;
}

/* Accepts "--opt value" and "--opt=value". Returns args consumed, or -EINVAL. */
static int parse_run_opt(int argc, char *const argv[], int i, struct cli_config *cfg)
{
	const char *arg = argv[i];

	/* --trace takes its value only after '=': a bare --trace means every class. */
	if (!strcmp(arg, "--trace")) {
		cfg->trace = TRACE_ALL;
		return 1;
	}
	if (!strncmp(arg, "--trace=", 8)) {
		if (trace_parse_classes(arg + 8, &cfg->trace))
			return bad("--trace", arg + 8, "use a comma-separated list of io, mmio, hlt, shutdown, irq, virtio, all");
		return 1;
	}
	for (size_t k = 0; k < sizeof(run_opts) / sizeof(run_opts[0]); k++) {
		size_t n = strlen(run_opts[k].name);

		if (strncmp(arg, run_opts[k].name, n) || (arg[n] && arg[n] != '='))
			continue;
		if (machine_opt(run_opts[k].id))
			cfg->machine_opt = run_opts[k].name;
		if (arg[n] == '=')
			return apply_opt(run_opts[k].id, arg + n + 1, cfg) ?: 1;
		if (i + 1 >= argc) {
			log_err("option %s needs a value", arg);
			return -EINVAL;
		}
		return apply_opt(run_opts[k].id, argv[i + 1], cfg) ?: 2;
	}
	if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
		cfg->verbose++;
		return 1;
	}
	log_err("unknown option '%s' (see ember --help)", arg);
	return -EINVAL;
}

/* Options that only one of run and exec takes. */
static int check_mode_options(const struct cli_config *cfg)
{
	bool exec = cfg->command == CLI_EXEC;

	if (exec && (cfg->initrd || cfg->firmware)) {
		log_err("exec builds its own initramfs and boots --kernel: no --initrd or --firmware");
		return -EINVAL;
	}
	if (exec && (cfg->api_path || cfg->restore || cfg->dump_dtb)) {
		log_err("--api, --restore and --dump-dtb belong to ember run");
		return -EINVAL;
	}
	if (!exec && (cfg->root || cfg->modules_dir || cfg->nr_shares || cfg->timeout ||
		      cfg->dump_initramfs)) {
		log_err("--root, --share, --modules, --timeout and --dump-initramfs belong to ember exec");
		return -EINVAL;
	}
	return 0;
}

static int check_exec(struct cli_config *cfg)
{
	if (!cfg->kernel) {
		log_err("exec needs --kernel PATH");
		return -EINVAL;
	}
	if (!cfg->exec_argc) {
		log_err("exec needs a command after '--' (ember exec --kernel PATH -- COMMAND [ARGS...])");
		return -EINVAL;
	}
	if (cfg->trace_path && !cfg->trace)
		cfg->trace = TRACE_ALL;
	return 0;
}

static int check_run(struct cli_config *cfg)
{
	if (cfg->restore && (cfg->machine_opt || cfg->dump_dtb)) {
		log_err("%s comes from the snapshot with --restore",
			cfg->machine_opt ? cfg->machine_opt : "--dump-dtb");
		return -EINVAL;
	}
	if (cfg->trace_path && !cfg->trace)
		cfg->trace = TRACE_ALL;
	if (cfg->restore)
		return 0;
	if (!cfg->kernel && !cfg->firmware) {
		log_err("run needs --kernel PATH or --firmware PATH");
		return -EINVAL;
	}
	if (cfg->kernel && cfg->firmware) {
		log_err("--kernel and --firmware exclude each other");
		return -EINVAL;
	}
	if (cfg->trace_path && !cfg->trace)
		cfg->trace = TRACE_ALL; /* --trace-file alone: every class */
	if (cfg->firmware && (cfg->initrd || cfg->cmdline)) {
		log_err("--initrd and --cmdline need --kernel");
		return -EINVAL;
	}
	if (cfg->dump_dtb && !cfg->kernel) {
		log_err("--dump-dtb needs --kernel: the tree it writes is the one that kernel would get");
		return -EINVAL;
	}
	return 0;
}

static const char *const ctl_cmds[] = { "status",   "pause",  "resume",  "shutdown",
					 "poweroff", "events", "snapshot" };

bool cli_ctl_cmd_ok(const char *cmd)
{
	if (cmd[0] == '{')
		return true; /* a request written out, sent as it is */
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(cmd, ctl_cmds[i]))
			return true;
	return false;
}

/* ember ctl PATH CMD */
static int parse_ctl(int argc, char *const argv[], struct cli_config *cfg)
{
	cfg->command = CLI_CTL;
	if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		cfg->command = CLI_HELP;
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[3], "snapshot")) {
		if (argc < 5 || argc > 6 || !argv[4][0] || (argc == 6 && strcmp(argv[5], "--stop"))) {
			log_err("usage: ember ctl PATH snapshot DIR [--stop]");
			return -EINVAL;
		}
		cfg->ctl_dir = argv[4];
		cfg->ctl_stop = argc == 6;
	} else if (argc != 4) {
		log_err("ctl needs a socket and a command: ember ctl PATH status|pause|resume|shutdown|poweroff|events|snapshot DIR");
		return -EINVAL;
	}
	if (!argv[2][0] || strlen(argv[2]) > CLI_SOCKET_PATH_MAX)
		return bad("ctl socket", argv[2], "give a socket path of 1 to 107 bytes");
	if (!cli_ctl_cmd_ok(argv[3]))
		return bad("ctl command", argv[3],
			   "use status, pause, resume, shutdown, poweroff, events, snapshot DIR or a request {...}");
	cfg->ctl_path = argv[2];
	cfg->ctl_cmd = argv[3];
	return 0;
}

int cli_parse(int argc, char *const argv[], struct cli_config *cfg)
{
	memset(cfg, 0, offsetof(struct cli_config, disk_paths)); /* not the storage (vmm/cli.h) */
	cfg->memory = CLI_DEFAULT_MEMORY;
	cfg->cpus = 1;
	cfg->serial = CLI_SERIAL_STDIO;
	cfg->seccomp = true;

	if (argc < 2) {
		log_err("missing command (see ember --help)");
		return -EINVAL;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cfg->command = CLI_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		cfg->command = CLI_VERSION;
		return 0;
	}
	if (!strcmp(argv[1], "ctl"))
		return parse_ctl(argc, argv, cfg);
	if (!strcmp(argv[1], "exec")) {
		cfg->command = CLI_EXEC;
		cfg->serial = CLI_SERIAL_NONE; /* the command's streams are stdio; kernel messages go nowhere */
	} else if (!strcmp(argv[1], "run")) {
		cfg->command = CLI_RUN;
	} else {
		log_err("unknown command '%s' (see ember --help)", argv[1]);
		return -EINVAL;
	}
	for (int i = 2; i < argc;) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cfg->command = CLI_HELP;
			return 0;
		}
		if (!strcmp(argv[i], "--")) {
			if (cfg->command != CLI_EXEC) {
				log_err("'--' and a command belong to ember exec");
				return -EINVAL;
			}
			cfg->exec_argv = argv + i + 1;
			cfg->exec_argc = argc - i - 1;
			break;
		}
		int n = parse_run_opt(argc, argv, i, cfg);

		if (n < 0)
			return n;
		i += n;
	}
	if (check_mode_options(cfg))
		return -EINVAL;
	return cfg->command == CLI_EXEC ? check_exec(cfg) : check_run(cfg);
}

void cli_usage(void)
{
	fputs("usage: ember run --kernel PATH [options]\n"
	      "       ember run --firmware PATH [options]\n"
	      "       ember run --restore DIR [--api PATH] [--serial MODE] [other options]\n"
	      "       ember exec --kernel PATH [options] -- COMMAND [ARGS...]\n"
	      "       ember ctl PATH status|pause|resume|shutdown|poweroff|events\n"
	      "       ember ctl PATH snapshot DIR [--stop]\n"
	      "       ember --help | --version\n"
	      "\n"
	      "Boot a Linux " LAYOUT_KERNEL_NAME " or a raw firmware image in a KVM virtual machine.\n"
	      "exec runs COMMAND in the kernel over the host's files (read-only) with\n"
	      "Ember's stdin, stdout and stderr, and exits with COMMAND's status.\n"
	      "\n"
	      "options of run:\n"
	      "  --kernel PATH      " LAYOUT_HELP_KERNEL "\n"
	      "  --initrd PATH      initial ramdisk loaded beside the kernel\n"
	      "  --cmdline STR      kernel command line (default: \"" CLI_DEFAULT_CMDLINE "\")\n"
	      "  --memory SIZE      guest RAM: 256M, 2G, or a plain number of MiB (default 256M)\n"
	      "  --cpus N           number of vCPUs, 1-255 (default 1)\n"
	      "  --firmware PATH    " LAYOUT_HELP_FIRMWARE "\n"
	      "  --serial MODE      guest " LAYOUT_CONSOLE ": stdio (default), file=PATH or none\n"
	      "  --disk path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=SERIAL]\n"
	      "         [,aio=io_uring|sync][,poll=US]\n"
	      "                     virtio-blk disk on a raw or qcow2 image (repeatable: vda,\n"
	      "                     vdb, ...); the format is read from the image unless given\n"
	      "                     (give format=raw for raw images the guest writes);\n"
	      "                     snapshot=on: writes go to a temporary overlay, the image\n"
	      "                     is left as it was\n"
	      "                     poll: microseconds the I/O thread watches an idle queue\n"
	      "                     before asking the guest to notify (0-1000, default 32)\n"
	      "  --net tap=NAME[,mac=52:54:00:xx:xx:xx]\n"
	      "                     virtio-net on a tap device, created if missing (repeatable)\n"
	      "  --fs socket=PATH,tag=TAG\n"
	      "                     virtio-fs on a vhost-user backend (virtiofsd) listening on PATH\n"
	      "  --seccomp on|off   system call filters per thread (default on; off to debug)\n"
	      "  --trace[=CLASSES]  a line per VM exit on stderr, and a table of exits at the end;\n"
	      "                     CLASSES: io,mmio,hlt,shutdown,irq,virtio or all (default)\n"
	      "  --trace-file PATH  trace lines and table into PATH instead (implies --trace)\n"
	      "  --api PATH         serve the API on a unix socket at PATH (mode 0600; see\n"
	      "                     ember ctl and docs/api.md)\n"
	      "  --restore DIR      start from a snapshot (ember ctl PATH snapshot DIR): the\n"
	      "                     memory, vCPUs, disks and NICs are the snapshot's\n"
	      "  --dump-dtb PATH    write the device tree the kernel would get (arm64) to PATH\n"
	      "                     and stop; dtc -I dtb -O dts PATH shows it\n"
	      "  -v, --verbose      more messages and the exit table (twice for debug)\n"
	      "\n"
	      "options of exec (besides --kernel, --cmdline, --memory, --cpus, --disk, --net,\n"
	      "--fs, --serial (default none), --seccomp, --trace, -v):\n"
	      "  --root DIR         the guest's root file system, read-only (default /)\n"
	      "  --share HOSTDIR[:GUESTDIR][,readonly=on]\n"
	      "                     a writable host directory at GUESTDIR (default: the same path)\n"
	      "  --modules DIR      kernel modules for the kernel (default /lib/modules/VERSION)\n"
	      "  --timeout SECS     stop the guest after SECS seconds: status 124\n"
	      "  --dump-initramfs FILE  write the initramfs exec builds to FILE and stop\n"
	      "exec status: COMMAND's (0-255; 127 not found), 124 timeout, 125 guest kernel\n"
	      "panic, 255 the guest ended without the command's status; 1 and 2 as below.\n"
	      "\n"
	      "ctl talks to the API socket of a running ember: it sends one request and\n"
	      "prints the reply (a JSON line); status 0 if the reply says ok, 1 if not.\n"
	      "  status             state (running/paused), uptime, vCPUs, memory, devices\n"
	      "  pause, resume      stop the vCPUs (the guest's clock with them) and go on\n"
	      "  poweroff           stop the VM now, as SIGTERM does (status 143)\n"
	      "  shutdown           ask the guest to shut down (ACPI power button)\n"
	      "  events             print the VM's events (paused, resumed, shutdown, exit)\n"
	      "                     until it ends\n"
	      "  snapshot DIR       save the VM into DIR (created if missing) and go on;\n"
	      "                     --stop: end it once saved (status 0)\n"
	      "  '{...}'            send this request line as it is\n"
	      "\n"
	      "On the console, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n"
	      "Exit status: 0 guest powered off or rebooted, 1 setup error, 2 usage error,\n"
	      "3 guest triple fault, 4 KVM internal error, 5 VM entry failed,\n"
	      "6 forbidden system call (seccomp), 7 guest kernel panic (pvpanic),\n"
	      "64+N guest wrote N (1-63) to the exit port 0x501, 130 quit from the console,\n"
	      "143 SIGTERM or poweroff on the API socket.\n",
	      stdout);
}
