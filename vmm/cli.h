#pragma once
/* Command-line parsing for `ember`. Pure: no I/O besides the messages it prints. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/disk.h"
#include "vmm/layout.h"

#define CLI_DEFAULT_MEMORY (256ULL << 20)
#define CLI_DEFAULT_CMDLINE "console=" LAYOUT_CONSOLE /* the platform UART (vmm/layout.h) */
#define CLI_MAX_CPUS 255

#define CLI_MAX_DISKS 8
#define CLI_MAX_NICS 4
#define CLI_POLL_US_MAX 1000
#define CLI_MAX_SHARES 8
#define CLI_MAX_FS 8
#define CLI_FS_TAG_MAX 36 /* virtio-fs config: the tag is 36 bytes */
#define CLI_MAX_TIMEOUT 604800 /* --timeout: a week at most */

#define CLI_SOCKET_PATH_MAX 107 /* sun_path, without its NUL */

enum cli_command { CLI_RUN, CLI_EXEC, CLI_CTL, CLI_HELP, CLI_VERSION };

/* --fs socket=PATH,tag=TAG: a virtio-fs device on a vhost-user backend the user started. */
struct cli_fs {
	char socket[108]; /* sun_path */
	char tag[CLI_FS_TAG_MAX + 1];
};

/* --share HOSTDIR[:GUESTDIR][,readonly=on] (exec): a host directory in the guest. */
struct cli_share {
	char host[4096];
	char guest[4096]; /* absolute, clean, not "/"; empty: HOSTDIR's resolved path (exec) */
	bool readonly;
};

struct cli_nic {
	char tap[16];
	uint8_t mac[6];
	bool mac_set;
};

struct cli_disk {
	const char *path;
	enum disk_format format; /* format=raw|qcow2; DISK_FORMAT_PROBE when not given */
	bool snapshot;		 /* snapshot=on: writes go to a temporary overlay */
	bool readonly;
	bool sync_io; /* aio=sync: one request at a time, no io_uring */
	char id[21];  /* serial, at most 20 bytes */
	int poll_us;  /* poll=US (0 to CLI_POLL_US_MAX); -1: the device's default */
};
enum cli_serial { CLI_SERIAL_STDIO, CLI_SERIAL_FILE, CLI_SERIAL_NONE };

struct cli_config {
	enum cli_command command;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *firmware;
	uint64_t memory;
	unsigned int cpus;
	enum cli_serial serial;
	const char *serial_path;
	int verbose; /* -v given n times */
	bool seccomp; /* --seccomp=on (default): per-thread system call filters */
	unsigned int trace; /* --trace[=CLASSES]: TRACE_* bits (vmm/trace.h); 0: off */
	const char *trace_path; /* --trace-file PATH: trace lines there, not to stderr */
	struct cli_disk disk[CLI_MAX_DISKS];
	unsigned int nr_disks;
	struct cli_nic nic[CLI_MAX_NICS];
	unsigned int nr_nics;
	struct cli_fs fs[CLI_MAX_FS];
	unsigned int nr_fs;
	const char *api_path; /* --api PATH: the API socket (docs/api.md); NULL: none */
	const char *restore;  /* --restore DIR: start from this snapshot (docs/snapshot.md) */
	const char *machine_opt; /* the last option given that says how the VM is made (--memory, ...) */

	/* ember ctl PATH CMD */
	const char *ctl_path; /* the API socket */
	const char *ctl_cmd;  /* status, pause, resume, shutdown, poweroff, events, snapshot, or a request ("{...}") */
	const char *ctl_dir;  /* snapshot DIR */
	bool ctl_stop;	      /* snapshot DIR --stop */

	/* ember exec */
	const char *root;	 /* --root DIR: the guest's read-only root (default "/") */
	const char *modules_dir; /* --modules DIR: instead of /lib/modules/VERSION */
	unsigned int timeout;	 /* --timeout SECS; 0: none */
	const char *dump_initramfs; /* --dump-initramfs FILE: write exec's initramfs there, run nothing */
	const char *dump_dtb;	    /* --dump-dtb FILE: write the guest's device tree there, run nothing */
	unsigned int nr_shares;
	char *const *exec_argv; /* COMMAND and its arguments (after "--"), NULL-terminated */
	int exec_argc;

	/*
	 * Storage, last: cli_parse() zeroes only what comes before it (96 KiB
	 * that a run would otherwise touch page by page). An entry is valid
	 * below its count and written whole when it is parsed.
	 */
	char disk_paths[CLI_MAX_DISKS][4096]; /* path= values, below nr_disks */
	struct cli_share share[CLI_MAX_SHARES]; /* below nr_shares */
};

/* Parse one --fs value: "socket=PATH,tag=TAG". Returns 0 or -EINVAL. */
__attribute__((warn_unused_result)) int cli_parse_fs(const char *s, struct cli_fs *f);

/*
 * Parse one --share value: "HOSTDIR[:GUESTDIR][,readonly=on|off]". GUESTDIR
 * must be absolute, without "." or ".." components, and not "/" (trailing
 * and doubled slashes are dropped). Returns 0 or -EINVAL.
 */
__attribute__((warn_unused_result)) int cli_parse_share(const char *s, struct cli_share *sh);

/* Parse one --net value: "tap=NAME[,mac=52:54:00:12:34:56]". Returns 0 or -EINVAL. */
__attribute__((warn_unused_result)) int cli_parse_nic(const char *s, struct cli_nic *n);

/*
 * Parse one --disk value: "path=FILE[,format=raw|qcow2][,readonly=on|off][,snapshot=on|off][,id=SERIAL][,aio=io_uring|sync]" or a
 * bare FILE. Returns 0 or -EINVAL with a message on stderr.
 */
__attribute__((warn_unused_result)) int cli_parse_disk(const char *s, struct cli_disk *d,
						       char *path_buf, size_t path_size);

/*
 * Parse "256M", "2G", "1024" (MiB), "512K" into bytes. Suffixes K, M, G, T,
 * either case. Returns 0 or -EINVAL (not a size) / -ERANGE (overflow).
 */
__attribute__((warn_unused_result)) int cli_parse_size(const char *s, uint64_t *bytes);

/*
 * Fill `cfg` from argv. On error prints one line naming the problem to
 * stderr and returns -EINVAL. argv strings are referenced, not copied.
 */
__attribute__((warn_unused_result)) int cli_parse(int argc, char *const argv[],
						  struct cli_config *cfg);

/* A command `ember ctl` knows, or a request written out ("{..."). */
bool cli_ctl_cmd_ok(const char *cmd);

/* Print the help text to stdout. */
void cli_usage(void);
