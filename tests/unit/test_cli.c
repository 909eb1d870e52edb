/* vmm/cli: sizes, --disk values and the command line of `ember`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/suites.h"
#include "vmm/cli.h"
#include "vmm/trace.h"

#define KIB (1ULL << 10)
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct {
	const char *s;
	uint64_t bytes;
} good_sizes[] = {
	{ "256M", 256 * MIB }, { "2G", 2 * GIB },     { "1024", 1024 * MIB }, { "512K", 512 * KIB },
	{ "1T", 1ULL << 40 },  { "2GiB", 2 * GIB },   { "2GB", 2 * GIB },     { "256m", 256 * MIB },
	{ "2g", 2 * GIB },     { "512k", 512 * KIB }, { "1t", 1ULL << 40 },   { "0", 0 },
};

START_TEST(test_size_parses)
{
	uint64_t bytes = 12345;

	ck_assert_msg(cli_parse_size(good_sizes[_i].s, &bytes) == 0, "'%s' rejected", good_sizes[_i].s);
	ck_assert_uint_eq(bytes, good_sizes[_i].bytes);
}
END_TEST

static const char *const bad_sizes[] = {
	"", "M", "12X", "-5", "1.5G", " 1G", "1G ", "1GiBx", "G1",
};

START_TEST(test_size_garbage_is_einval)
{
	uint64_t bytes;

	ck_assert_msg(cli_parse_size(bad_sizes[_i], &bytes) == -EINVAL, "'%s' not rejected",
		      bad_sizes[_i]);
}
END_TEST

START_TEST(test_size_null_is_einval)
{
	uint64_t bytes;

	ck_assert_int_eq(cli_parse_size(NULL, &bytes), -EINVAL);
}
END_TEST

START_TEST(test_size_overflow_is_erange)
{
	uint64_t bytes;

	ck_assert_int_eq(cli_parse_size("99999999999999999999G", &bytes), -ERANGE);
	ck_assert_int_eq(cli_parse_size("99999999999999999999", &bytes), -ERANGE);
	ck_assert_int_eq(cli_parse_size("17179869184G", &bytes), -ERANGE); /* 2^34 GiB = 2^64 */
	ck_assert_int_eq(cli_parse_size("17592186044416", &bytes), -ERANGE); /* 2^44 MiB */
}
END_TEST

/* Found by fuzzing: digits that overflow made garbage -ERANGE; it is not a size at all. */
START_TEST(test_size_overflow_in_garbage_is_einval)
{
	uint64_t bytes;

	ck_assert_int_eq(cli_parse_size("99999999999999999999X", &bytes), -EINVAL);
	ck_assert_int_eq(cli_parse_size("99999999999999999999G ", &bytes), -EINVAL);
	ck_assert_int_eq(cli_parse_size("99999999999999999999KiBx", &bytes), -EINVAL);
	ck_assert_int_eq(cli_parse_size("99999999999999999999KiB", &bytes), -ERANGE);
}
END_TEST

START_TEST(test_size_largest_value_fits)
{
	uint64_t bytes;

	ck_assert_int_eq(cli_parse_size("17179869183G", &bytes), 0);
	ck_assert_uint_eq(bytes, 17179869183ULL * GIB);
}
END_TEST

/* --dump-dtb PATH: run only, with --kernel (the tree is that kernel's), never empty. */
START_TEST(test_dump_dtb)
{
	char *ok[] = { "ember", "run", "--kernel", "Image", "--dump-dtb", "/tmp/g.dtb" };
	char *eq[] = { "ember", "run", "--kernel=Image", "--dump-dtb=g.dtb", "--cpus", "2" };
	char *no_kernel[] = { "ember", "run", "--firmware", "fw.bin", "--dump-dtb", "g.dtb" };
	char *empty[] = { "ember", "run", "--kernel", "Image", "--dump-dtb", "" };
	char *exec[] = { "ember", "exec", "--kernel", "Image", "--dump-dtb", "g.dtb", "--", "true" };
	char *restore[] = { "ember", "run", "--restore", "/snap", "--dump-dtb", "g.dtb" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(ok), ok, &c), 0);
	ck_assert_str_eq(c.dump_dtb, "/tmp/g.dtb");
	ck_assert_int_eq(cli_parse(ARGC(eq), eq, &c), 0);
	ck_assert_str_eq(c.dump_dtb, "g.dtb");
	ck_assert_int_eq(cli_parse(ARGC(no_kernel), no_kernel, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(empty), empty, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(exec), exec, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(restore), restore, &c), -EINVAL);
}
END_TEST

START_TEST(test_defaults)
{
	char *argv[] = { "ember", "run", "--kernel", "bzImage" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_RUN);
	ck_assert_str_eq(c.kernel, "bzImage");
	ck_assert_uint_eq(c.memory, 256 * MIB);
	ck_assert_uint_eq(c.cpus, 1);
	ck_assert_int_eq(c.serial, CLI_SERIAL_STDIO);
	ck_assert_ptr_null(c.initrd);
	ck_assert_ptr_null(c.cmdline);
	ck_assert_ptr_null(c.firmware);
	ck_assert_int_eq(c.verbose, 0);
	ck_assert(c.seccomp);
}
END_TEST

static void assert_all_kernel_options(const struct cli_config *c)
{
	ck_assert_int_eq(c->command, CLI_RUN);
	ck_assert_str_eq(c->kernel, "vmlinuz");
	ck_assert_str_eq(c->initrd, "initrd.gz");
	ck_assert_str_eq(c->cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(c->memory, 2 * GIB);
	ck_assert_uint_eq(c->cpus, 4);
	ck_assert_int_eq(c->serial, CLI_SERIAL_FILE);
	ck_assert_str_eq(c->serial_path, "/tmp/ser.log");
	ck_assert_int_eq(c->verbose, 2);
}

START_TEST(test_all_options_separate_values)
{
	char *argv[] = {
		"ember", "run", "--kernel", "vmlinuz", "--initrd", "initrd.gz",
		"--cmdline", "console=ttyS0 quiet", "--memory", "2G", "--cpus", "4",
		"--serial", "file=/tmp/ser.log", "-v", "--verbose",
	};
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	assert_all_kernel_options(&c);
}
END_TEST

START_TEST(test_all_options_equals_form)
{
	char *argv[] = { "ember",
			 "run",
			 "--kernel=vmlinuz",
			 "--initrd=initrd.gz",
			 "--cmdline=console=ttyS0 quiet",
			 "--memory=2048",
			 "--cpus=4",
			 "--serial=file=/tmp/ser.log",
			 "-v",
			 "-v" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	assert_all_kernel_options(&c);
}
END_TEST

START_TEST(test_firmware_and_serial_modes)
{
	char *argv[] = { "ember", "run", "--firmware=fw.bin", "--serial", "none" };
	char *argv2[] = { "ember", "run", "--firmware", "fw.bin", "--serial=stdio" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_str_eq(c.firmware, "fw.bin");
	ck_assert_ptr_null(c.kernel);
	ck_assert_int_eq(c.serial, CLI_SERIAL_NONE);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), 0);
	ck_assert_int_eq(c.serial, CLI_SERIAL_STDIO);
}
END_TEST

START_TEST(test_max_cpus_accepted)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--cpus", "255" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_uint_eq(c.cpus, CLI_MAX_CPUS);
}
END_TEST

static const char *const bad_cpus[] = { "0", "256", "abc", "", "4x", "-1", "99999999999999999999" };

START_TEST(test_bad_cpus_rejected)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--cpus", (char *)bad_cpus[_i] };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
}
END_TEST

static const char *const bad_memory[] = { "0", "0G", "12X", "", "1.5G", "99999999999999999999G" };

START_TEST(test_bad_memory_rejected)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--memory", (char *)bad_memory[_i] };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
}
END_TEST

START_TEST(test_bad_serial_rejected)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--serial", "tcp" };
	char *argv2[] = { "ember", "run", "--kernel", "k", "--serial=file=" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

START_TEST(test_unknown_option_rejected)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--netdev", "tap0" };
	char *argv2[] = { "ember", "run", "--kernelx=k" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

START_TEST(test_missing_value_rejected)
{
	char *argv[] = { "ember", "run", "--kernel" };
	char *argv2[] = { "ember", "run", "--kernel", "k", "--memory" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

START_TEST(test_kernel_with_firmware_rejected)
{
	char *argv[] = { "ember", "run", "--kernel", "k", "--firmware", "f" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
}
END_TEST

START_TEST(test_neither_kernel_nor_firmware_rejected)
{
	char *argv[] = { "ember", "run", "--memory", "1G" };
	char *argv2[] = { "ember", "run" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

START_TEST(test_firmware_with_initrd_or_cmdline_rejected)
{
	char *argv[] = { "ember", "run", "--firmware", "f", "--initrd", "i" };
	char *argv2[] = { "ember", "run", "--firmware", "f", "--cmdline", "quiet" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

START_TEST(test_missing_or_unknown_command_rejected)
{
	char *argv[] = { "ember" };
	char *argv2[] = { "ember", "start", "--kernel", "k" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

static const char *const help_words[] = { "--help", "-h", "help" };

START_TEST(test_help)
{
	char *argv[] = { "ember", (char *)help_words[_i] };
	char *argv2[] = { "ember", "run", "--cpus", "2", "--help" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_HELP);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), 0);
	ck_assert_int_eq(c.command, CLI_HELP);
}
END_TEST

START_TEST(test_version)
{
	char *argv[] = { "ember", "--version" };
	char *argv2[] = { "ember", "version" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_VERSION);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), 0);
	ck_assert_int_eq(c.command, CLI_VERSION);
}
END_TEST

/* ---- --seccomp ---- */

START_TEST(test_seccomp_on_off)
{
	char *off[] = { "ember", "run", "--firmware", "f", "--seccomp", "off" };
	char *off_eq[] = { "ember", "run", "--seccomp=off", "--firmware", "f" };
	char *on[] = { "ember", "run", "--firmware", "f", "--seccomp=off", "--seccomp", "on" };
	char *on_eq[] = { "ember", "run", "--firmware", "f", "--seccomp=on" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(off), off, &c), 0);
	ck_assert(!c.seccomp);
	ck_assert_int_eq(cli_parse(ARGC(off_eq), off_eq, &c), 0);
	ck_assert(!c.seccomp);
	ck_assert_int_eq(cli_parse(ARGC(on), on, &c), 0); /* the last one given wins */
	ck_assert(c.seccomp);
	ck_assert_int_eq(cli_parse(ARGC(on_eq), on_eq, &c), 0);
	ck_assert(c.seccomp);
}
END_TEST

static const char *const bad_seccomp[] = { "", "ON", "Off", "yes", "no", "1", "0", "on,", "off " };

START_TEST(test_seccomp_bad_value_rejected)
{
	char *argv[] = { "ember", "run", "--firmware", "f", "--seccomp", (char *)bad_seccomp[_i] };
	struct cli_config c;

	ck_assert_msg(cli_parse(ARGC(argv), argv, &c) == -EINVAL, "'%s' accepted", bad_seccomp[_i]);
}
END_TEST

START_TEST(test_seccomp_needs_a_value)
{
	char *argv[] = { "ember", "run", "--firmware", "f", "--seccomp" };
	char *argv2[] = { "ember", "run", "--firmware", "f", "--seccompx=on" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
}
END_TEST

/* ---- --trace ---- */

START_TEST(test_trace_options)
{
	char *none[] = { "ember", "run", "--firmware", "f" };
	char *bare[] = { "ember", "run", "--trace", "--firmware", "f" };
	char *some[] = { "ember", "run", "--firmware", "f", "--trace=io,shutdown" };
	char *file[] = { "ember", "run", "--firmware", "f", "--trace-file", "t.log" };
	char *both[] = { "ember", "run", "--trace=mmio", "--trace-file=t.log", "--firmware", "f" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(none), none, &c), 0);
	ck_assert_uint_eq(c.trace, 0);
	ck_assert_ptr_null(c.trace_path);
	ck_assert_int_eq(cli_parse(ARGC(bare), bare, &c), 0);
	ck_assert_uint_eq(c.trace, TRACE_ALL);
	ck_assert_str_eq(c.firmware, "f"); /* --trace took no value */
	ck_assert_int_eq(cli_parse(ARGC(some), some, &c), 0);
	ck_assert_uint_eq(c.trace, TRACE_IO | TRACE_SHUTDOWN);
	ck_assert_int_eq(cli_parse(ARGC(file), file, &c), 0);
	ck_assert_uint_eq(c.trace, TRACE_ALL); /* a trace file alone traces everything */
	ck_assert_str_eq(c.trace_path, "t.log");
	ck_assert_int_eq(cli_parse(ARGC(both), both, &c), 0);
	ck_assert_uint_eq(c.trace, TRACE_MMIO);
}
END_TEST

START_TEST(test_trace_bad)
{
	char *cls[] = { "ember", "run", "--firmware", "f", "--trace=virtio-net" };
	char *empty[] = { "ember", "run", "--firmware", "f", "--trace=" };
	char *file[] = { "ember", "run", "--firmware", "f", "--trace-file" };
	char *file_empty[] = { "ember", "run", "--firmware", "f", "--trace-file=" };
	char *glued[] = { "ember", "run", "--firmware", "f", "--traceio" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(cls), cls, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(empty), empty, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(file), file, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(file_empty), file_empty, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(glued), glued, &c), -EINVAL);
}
END_TEST

/* ---- --disk ---- */

static const struct {
	const char *s, *path, *id;
	bool readonly, sync_io;
	int poll_us; /* 0 in this table means the default (-1) */
} good_disks[] = {
	{ "path=/img/a.raw", "/img/a.raw", "", false, false, 0 },
	{ "disk.img", "disk.img", "", false, false, 0 }, /* a bare file name */
	{ "/var/lib/vm disk.img", "/var/lib/vm disk.img", "", false, false, 0 },
	{ "path=a,readonly=on", "a", "", true, false, 0 },
	{ "path=a,readonly=off", "a", "", false, false, 0 },
	{ "path=a,ro", "a", "", true, false, 0 },
	{ "path=a,readonly", "a", "", true, false, 0 },
	{ "readonly=on,path=a", "a", "", true, false, 0 },
	{ "path=a,readonly=on,readonly=off", "a", "", false, false, 0 },
	{ "path=a,id=serial-1", "a", "serial-1", false, false, 0 },
	{ "path=a,id=abcdefghijklmnopqrst", "a", "abcdefghijklmnopqrst", false, false, 0 },
	{ "path=a,id=", "a", "", false, false, 0 },
	{ "path=a,aio=sync", "a", "", false, true, 0 },
	{ "path=a,aio=io_uring", "a", "", false, false, 0 },
	{ "path=a,aio=sync,aio=io_uring", "a", "", false, false, 0 },
	{ "path=x/y.qcow,ro,id=vd0,aio=sync", "x/y.qcow", "vd0", true, true, 0 },
	{ "path=a=b", "a=b", "", false, false, 0 },
	{ "path=a,poll=0", "a", "", false, false, -2 }, /* -2: explicitly 0 */
	{ "path=a,poll=1000", "a", "", false, false, 1000 },
	{ "path=a,poll=32,aio=sync", "a", "", false, true, 32 },
};

START_TEST(test_disk_parses)
{
	char buf[4096];
	struct cli_disk d;

	ck_assert_msg(cli_parse_disk(good_disks[_i].s, &d, buf, sizeof(buf)) == 0, "'%s' rejected",
		      good_disks[_i].s);
	ck_assert_ptr_eq(d.path, buf);
	ck_assert_str_eq(d.path, good_disks[_i].path);
	ck_assert_str_eq(d.id, good_disks[_i].id);
	ck_assert_int_eq(d.readonly, good_disks[_i].readonly);
	ck_assert_int_eq(d.sync_io, good_disks[_i].sync_io);
	switch (good_disks[_i].poll_us) {
	case 0:
		ck_assert_int_eq(d.poll_us, -1);
		break;
	case -2:
		ck_assert_int_eq(d.poll_us, 0);
		break;
	default:
		ck_assert_int_eq(d.poll_us, good_disks[_i].poll_us);
	}
}
END_TEST

static const char *const bad_disks[] = {
	"",
	"path=",
	"readonly=on", /* no path */
	"id=x,aio=sync",
	"path=a,id=abcdefghijklmnopqrstu", /* 21 bytes */
	"path=a,foo=bar",
	"path=a,readonly=yes",
	"path=a,aio=native",
	"path=a,aio=",
	"path=a,,ro",
	"path=a,RO",
	",path=a",
	"file=a",
	"path=a,poll=",
	"path=a,poll=1001",
	"path=a,poll=-1",
	"path=a,poll=10us",
	"path=a,poll=99999999999999999999",
};

START_TEST(test_disk_garbage_rejected)
{
	char buf[4096];
	struct cli_disk d;

	ck_assert_msg(cli_parse_disk(bad_disks[_i], &d, buf, sizeof(buf)) == -EINVAL,
		      "'%s' not rejected", bad_disks[_i]);
}
END_TEST

START_TEST(test_disk_path_length)
{
	static char s[8192], buf[4096];
	struct cli_disk d;

	/* Bare: 4095 bytes fit the buffer with the NUL, 4096 do not. */
	memset(s, 'x', 4095);
	s[4095] = 0;
	ck_assert_int_eq(cli_parse_disk(s, &d, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(strlen(d.path), 4095);
	s[4095] = 'x';
	s[4096] = 0;
	ck_assert_int_eq(cli_parse_disk(s, &d, buf, sizeof(buf)), -EINVAL);
	/* path=: the same limit, and far longer values. */
	memcpy(s, "path=", 5);
	memset(s + 5, 'y', 4095);
	s[5 + 4095] = 0;
	ck_assert_int_eq(cli_parse_disk(s, &d, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(strlen(d.path), 4095);
	s[5 + 4095] = 'y';
	s[5 + 4096] = 0;
	ck_assert_int_eq(cli_parse_disk(s, &d, buf, sizeof(buf)), -EINVAL);
	memset(s + 5, 'z', sizeof(s) - 6);
	s[sizeof(s) - 1] = 0;
	ck_assert_int_eq(cli_parse_disk(s, &d, buf, sizeof(buf)), -EINVAL);
	/* A small buffer. */
	ck_assert_int_eq(cli_parse_disk("path=abcd", &d, buf, 4), -EINVAL);
	ck_assert_int_eq(cli_parse_disk("abcd", &d, buf, 4), -EINVAL);
	ck_assert_int_eq(cli_parse_disk("abc", &d, buf, 4), 0);
}
END_TEST

START_TEST(test_disk_options_in_cli_parse)
{
	char *argv[] = { "ember",
			 "run",
			 "--kernel",
			 "k",
			 "--disk",
			 "path=a.img,ro",
			 "--disk=b.img",
			 "--disk",
			 "path=c.img,id=vdc,aio=sync" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_uint_eq(c.nr_disks, 3);
	ck_assert_str_eq(c.disk[0].path, "a.img");
	ck_assert(c.disk[0].readonly);
	ck_assert_str_eq(c.disk[1].path, "b.img");
	ck_assert(!c.disk[1].readonly);
	ck_assert_str_eq(c.disk[2].path, "c.img");
	ck_assert_str_eq(c.disk[2].id, "vdc");
	ck_assert(c.disk[2].sync_io);
	for (unsigned int i = 0; i < 3; i++)
		ck_assert_ptr_eq(c.disk[i].path, c.disk_paths[i]); /* copies owned by cfg */
}
END_TEST

START_TEST(test_disk_count_limit)
{
	char *argv[4 + 2 * (CLI_MAX_DISKS + 1)] = { "ember", "run", "--kernel", "k" };
	struct cli_config c;
	int argc = 4;

	for (int i = 0; i < CLI_MAX_DISKS; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = "d.img";
	}
	ck_assert_int_eq(cli_parse(argc, argv, &c), 0);
	ck_assert_uint_eq(c.nr_disks, CLI_MAX_DISKS);
	argv[argc++] = "--disk";
	argv[argc++] = "d.img";
	ck_assert_int_eq(cli_parse(argc, argv, &c), -EINVAL);
}
END_TEST

START_TEST(test_disk_bad_value_in_cli_parse)
{
	char *argv[] = { "ember", "run",    "--kernel",
			 "k",	  "--disk", "path=a,id=abcdefghijklmnopqrstu" };
	char *argv2[] = { "ember", "run", "--kernel", "k", "--disk", "" };
	char *argv3[] = { "ember", "run", "--kernel", "k", "--disk" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv2), argv2, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(argv3), argv3, &c), -EINVAL);
}
END_TEST

/* ---- ember exec, --fs, --share ---- */

START_TEST(test_exec_command_after_dashes)
{
	char *argv[] = { "ember", "exec", "--kernel", "bz", "--timeout", "5", "--root", "/srv/r",
			 "--modules", "/m", "--", "sh", "-c", "exit 7", NULL };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv) - 1, argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_EXEC);
	ck_assert_int_eq(c.exec_argc, 3);
	ck_assert_str_eq(c.exec_argv[0], "sh");
	ck_assert_str_eq(c.exec_argv[2], "exit 7");
	ck_assert_ptr_null(c.exec_argv[3]);
	ck_assert_uint_eq(c.timeout, 5);
	ck_assert_str_eq(c.root, "/srv/r");
	ck_assert_str_eq(c.modules_dir, "/m");
	ck_assert_int_eq(c.serial, CLI_SERIAL_NONE); /* exec's default */
}
END_TEST

START_TEST(test_exec_options_after_dashes_belong_to_the_command)
{
	char *argv[] = { "ember", "exec", "--kernel", "bz", "--", "ls", "--bogus", "-v", NULL };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv) - 1, argv, &c), 0);
	ck_assert_int_eq(c.exec_argc, 3);
	ck_assert_int_eq(c.verbose, 0);
}
END_TEST

static const char *const bad_exec[][8] = {
	{ "ember", "exec", "--kernel", "bz" },			  /* no command */
	{ "ember", "exec", "--kernel", "bz", "--" },		  /* empty command */
	{ "ember", "exec", "--", "true" },			  /* no kernel */
	{ "ember", "exec", "--kernel", "bz", "--initrd", "i", "--", "true" },
	{ "ember", "exec", "--kernel", "bz", "--timeout", "0", "--", "true" },
	{ "ember", "exec", "--kernel", "bz", "--timeout", "5s", "--", "true" },
	{ "ember", "run", "--kernel", "bz", "--timeout", "5" },	  /* exec only */
	{ "ember", "run", "--kernel", "bz", "--", "true" },
};

START_TEST(test_exec_bad_rejected)
{
	char *argv[8];
	struct cli_config c;
	int n = 0;

	while (n < 8 && bad_exec[_i][n]) {
		argv[n] = (char *)bad_exec[_i][n];
		n++;
	}
	ck_assert_int_eq(cli_parse(n, argv, &c), -EINVAL);
}
END_TEST

START_TEST(test_share_values)
{
	struct cli_share sh;

	ck_assert_int_eq(cli_parse_share("/srv/data", &sh), 0);
	ck_assert_str_eq(sh.host, "/srv/data");
	ck_assert_str_eq(sh.guest, ""); /* exec uses the resolved host path */
	ck_assert(!sh.readonly);
	ck_assert_int_eq(cli_parse_share("rel/dir", &sh), 0); /* a relative HOSTDIR is fine */
	ck_assert_int_eq(cli_parse_share("d:/mnt//x/", &sh), 0);
	ck_assert_str_eq(sh.guest, "/mnt/x");
	ck_assert_int_eq(cli_parse_share("d:/", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("d://", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("d:/a/../b", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("d:/a/./b", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("out:/mnt/out,readonly=on", &sh), 0);
	ck_assert_str_eq(sh.host, "out");
	ck_assert_str_eq(sh.guest, "/mnt/out");
	ck_assert(sh.readonly);
	ck_assert_int_eq(cli_parse_share("/a:/b,readonly=off", &sh), 0);
	ck_assert(!sh.readonly);
	ck_assert_int_eq(cli_parse_share("/a:rel", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("/a:", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share(":/b", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("/a,bogus=1", &sh), -EINVAL);
	ck_assert_int_eq(cli_parse_share("/a,", &sh), -EINVAL);
}
END_TEST

START_TEST(test_fs_values)
{
	struct cli_fs f;
	char tag37[40];

	ck_assert_int_eq(cli_parse_fs("socket=/run/fs.sock,tag=host", &f), 0);
	ck_assert_str_eq(f.socket, "/run/fs.sock");
	ck_assert_str_eq(f.tag, "host");
	ck_assert_int_eq(cli_parse_fs("tag=host", &f), -EINVAL);
	ck_assert_int_eq(cli_parse_fs("socket=/s", &f), -EINVAL);
	ck_assert_int_eq(cli_parse_fs("socket=/s,tag=", &f), -EINVAL);
	ck_assert_int_eq(cli_parse_fs("socket=/s,tag=t,x=1", &f), -EINVAL);
	memset(tag37, 'a', 37);
	tag37[37] = 0;
	ck_assert_int_eq(cli_parse_fs(tag37, &f), -EINVAL);
	{
		char v[64];

		snprintf(v, sizeof(v), "socket=/s,tag=%.36s", tag37);
		ck_assert_int_eq(cli_parse_fs(v, &f), 0); /* 36 bytes fit */
		snprintf(v, sizeof(v), "socket=/s,tag=%s", tag37);
		ck_assert_int_eq(cli_parse_fs(v, &f), -EINVAL);
	}
}
END_TEST

START_TEST(test_share_and_fs_limits)
{
	char *argv[40] = { "ember", "exec", "--kernel", "bz" };
	struct cli_config c;
	int n = 4;

	for (int i = 0; i < CLI_MAX_SHARES; i++) {
		argv[n++] = "--share";
		argv[n++] = "/tmp";
	}
	argv[n] = "--";
	argv[n + 1] = "true";
	ck_assert_int_eq(cli_parse(n + 2, argv, &c), 0);
	ck_assert_uint_eq(c.nr_shares, CLI_MAX_SHARES);
	argv[n++] = "--share";
	argv[n++] = "/tmp";
	argv[n] = "--";
	argv[n + 1] = "true";
	ck_assert_int_eq(cli_parse(n + 2, argv, &c), -EINVAL);
}
END_TEST

/* ---- --api and ember ctl ---- */

START_TEST(test_api_option)
{
	char *argv[] = { "ember", "run", "--firmware", "f", "--api", "/run/vm.sock" };
	char *eq[] = { "ember", "run", "--firmware", "f", "--api=vm.sock" };
	char *none[] = { "ember", "run", "--firmware", "f" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_str_eq(c.api_path, "/run/vm.sock");
	ck_assert_int_eq(cli_parse(ARGC(eq), eq, &c), 0);
	ck_assert_str_eq(c.api_path, "vm.sock");
	ck_assert_int_eq(cli_parse(ARGC(none), none, &c), 0);
	ck_assert_ptr_null(c.api_path);
}
END_TEST

START_TEST(test_api_option_bad)
{
	char long_path[200];
	char *empty[] = { "ember", "run", "--firmware", "f", "--api=" };
	char *missing[] = { "ember", "run", "--firmware", "f", "--api" };
	char *too_long[] = { "ember", "run", "--firmware", "f", "--api", long_path };
	char *exec[] = { "ember", "exec", "--kernel", "bz", "--api", "s", "--", "true" };
	struct cli_config c;

	memset(long_path, 'a', sizeof(long_path));
	long_path[CLI_SOCKET_PATH_MAX + 1] = 0; /* one byte too many for sun_path */
	ck_assert_int_eq(cli_parse(ARGC(empty), empty, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(missing), missing, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(too_long), too_long, &c), -EINVAL);
	long_path[CLI_SOCKET_PATH_MAX] = 0;
	ck_assert_int_eq(cli_parse(ARGC(too_long), too_long, &c), 0);
	ck_assert_int_eq(cli_parse(ARGC(exec), exec, &c), -EINVAL);
}
END_TEST

static const char *const ctl_good[] = {
	"status", "pause", "resume", "shutdown", "poweroff", "events", "{\"id\":9,\"cmd\":\"status\"}", "{",
};

START_TEST(test_ctl_commands)
{
	char *argv[] = { "ember", "ctl", "/run/vm.sock", (char *)ctl_good[_i] };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_CTL);
	ck_assert_str_eq(c.ctl_path, "/run/vm.sock");
	ck_assert_str_eq(c.ctl_cmd, ctl_good[_i]);
}
END_TEST

static const char *const ctl_bad[][5] = {
	{ "ember", "ctl" },
	{ "ember", "ctl", "/run/vm.sock" },
	{ "ember", "ctl", "/run/vm.sock", "reboot" },
	{ "ember", "ctl", "/run/vm.sock", "" },
	{ "ember", "ctl", "/run/vm.sock", "STATUS" },
	{ "ember", "ctl", "/run/vm.sock", "status", "extra" },
	{ "ember", "ctl", "", "status" },
};

START_TEST(test_ctl_bad_rejected)
{
	char *argv[6] = { 0 };
	int argc = 0;
	struct cli_config c;

	while (argc < 5 && ctl_bad[_i][argc]) {
		argv[argc] = (char *)ctl_bad[_i][argc];
		argc++;
	}
	ck_assert_int_eq(cli_parse(argc, argv, &c), -EINVAL);
}
END_TEST

START_TEST(test_ctl_path_length_and_help)
{
	char long_path[200];
	char *argv[] = { "ember", "ctl", long_path, "status" };
	char *help[] = { "ember", "ctl", "--help" };
	struct cli_config c;

	memset(long_path, 's', sizeof(long_path));
	long_path[CLI_SOCKET_PATH_MAX + 1] = 0;
	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), -EINVAL);
	long_path[CLI_SOCKET_PATH_MAX] = 0;
	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(cli_parse(ARGC(help), help, &c), 0);
	ck_assert_int_eq(c.command, CLI_HELP);
	ck_assert(cli_ctl_cmd_ok("pause"));
	ck_assert(!cli_ctl_cmd_ok("paws"));
}
END_TEST

Suite *cli_suite(void)
{
	TCase *exec_tc = tcase_create("exec");
	Suite *s = suite_create("cli");
	TCase *size_tc = tcase_create("size");
	TCase *parse_tc = tcase_create("parse");
	TCase *disk_tc = tcase_create("disk");
	TCase *seccomp_tc = tcase_create("seccomp");
	TCase *api_tc = tcase_create("api");

	tcase_add_loop_test(size_tc, test_size_parses, 0, sizeof(good_sizes) / sizeof(good_sizes[0]));
	tcase_add_loop_test(size_tc, test_size_garbage_is_einval, 0,
			    sizeof(bad_sizes) / sizeof(bad_sizes[0]));
	tcase_add_test(size_tc, test_size_null_is_einval);
	tcase_add_test(size_tc, test_size_overflow_is_erange);
	tcase_add_test(size_tc, test_size_overflow_in_garbage_is_einval);
	tcase_add_test(size_tc, test_size_largest_value_fits);
	suite_add_tcase(s, size_tc);

	tcase_add_test(parse_tc, test_defaults);
	tcase_add_test(parse_tc, test_dump_dtb);
	tcase_add_test(parse_tc, test_all_options_separate_values);
	tcase_add_test(parse_tc, test_all_options_equals_form);
	tcase_add_test(parse_tc, test_firmware_and_serial_modes);
	tcase_add_test(parse_tc, test_max_cpus_accepted);
	tcase_add_loop_test(parse_tc, test_bad_cpus_rejected, 0, sizeof(bad_cpus) / sizeof(bad_cpus[0]));
	tcase_add_loop_test(parse_tc, test_bad_memory_rejected, 0,
			    sizeof(bad_memory) / sizeof(bad_memory[0]));
	tcase_add_test(parse_tc, test_bad_serial_rejected);
	tcase_add_test(parse_tc, test_unknown_option_rejected);
	tcase_add_test(parse_tc, test_missing_value_rejected);
	tcase_add_test(parse_tc, test_kernel_with_firmware_rejected);
	tcase_add_test(parse_tc, test_neither_kernel_nor_firmware_rejected);
	tcase_add_test(parse_tc, test_firmware_with_initrd_or_cmdline_rejected);
	tcase_add_test(parse_tc, test_missing_or_unknown_command_rejected);
	tcase_add_loop_test(parse_tc, test_help, 0, sizeof(help_words) / sizeof(help_words[0]));
	tcase_add_test(parse_tc, test_version);
	suite_add_tcase(s, parse_tc);

	tcase_add_loop_test(disk_tc, test_disk_parses, 0,
			    sizeof(good_disks) / sizeof(good_disks[0]));
	tcase_add_loop_test(disk_tc, test_disk_garbage_rejected, 0,
			    sizeof(bad_disks) / sizeof(bad_disks[0]));
	tcase_add_test(disk_tc, test_disk_path_length);
	tcase_add_test(disk_tc, test_disk_options_in_cli_parse);
	tcase_add_test(disk_tc, test_disk_count_limit);
	tcase_add_test(disk_tc, test_disk_bad_value_in_cli_parse);
	suite_add_tcase(s, disk_tc);

	tcase_add_test(seccomp_tc, test_seccomp_on_off);
	tcase_add_loop_test(seccomp_tc, test_seccomp_bad_value_rejected, 0,
			    sizeof(bad_seccomp) / sizeof(bad_seccomp[0]));
	tcase_add_test(seccomp_tc, test_seccomp_needs_a_value);
	tcase_add_test(seccomp_tc, test_trace_options);
	tcase_add_test(seccomp_tc, test_trace_bad);
	suite_add_tcase(s, seccomp_tc);

	tcase_add_test(exec_tc, test_exec_command_after_dashes);
	tcase_add_test(exec_tc, test_exec_options_after_dashes_belong_to_the_command);
	tcase_add_loop_test(exec_tc, test_exec_bad_rejected, 0, sizeof(bad_exec) / sizeof(bad_exec[0]));
	tcase_add_test(exec_tc, test_share_values);
	tcase_add_test(exec_tc, test_fs_values);
	tcase_add_test(exec_tc, test_share_and_fs_limits);
	suite_add_tcase(s, exec_tc);

	tcase_add_test(api_tc, test_api_option);
	tcase_add_test(api_tc, test_api_option_bad);
	tcase_add_loop_test(api_tc, test_ctl_commands, 0, sizeof(ctl_good) / sizeof(ctl_good[0]));
	tcase_add_loop_test(api_tc, test_ctl_bad_rejected, 0, sizeof(ctl_bad) / sizeof(ctl_bad[0]));
	tcase_add_test(api_tc, test_ctl_path_length_and_help);
	suite_add_tcase(s, api_tc);
	return s;
}
