/* vmm/cli: sizes and the command line of `ember`. */
#include <errno.h>

#include "tests/unit/suites.h"
#include "vmm/cli.h"

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

START_TEST(test_size_largest_value_fits)
{
	uint64_t bytes;

	ck_assert_int_eq(cli_parse_size("17179869183G", &bytes), 0);
	ck_assert_uint_eq(bytes, 17179869183ULL * GIB);
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
	char *argv[] = { "ember", "run", "--kernel", "k", "--net", "tap0" };
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

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *size_tc = tcase_create("size");
	TCase *parse_tc = tcase_create("parse");

	tcase_add_loop_test(size_tc, test_size_parses, 0, sizeof(good_sizes) / sizeof(good_sizes[0]));
	tcase_add_loop_test(size_tc, test_size_garbage_is_einval, 0,
			    sizeof(bad_sizes) / sizeof(bad_sizes[0]));
	tcase_add_test(size_tc, test_size_null_is_einval);
	tcase_add_test(size_tc, test_size_overflow_is_erange);
	tcase_add_test(size_tc, test_size_largest_value_fits);
	suite_add_tcase(s, size_tc);

	tcase_add_test(parse_tc, test_defaults);
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
	return s;
}
