/*
 * How a snapshot is asked for: `ember run --restore DIR` (and what may not
 * go with it), `ember ctl PATH snapshot DIR [--stop]`, and the API's
 * snapshot request with its members checked (other commands still refuse
 * members they do not know).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/api.h"
#include "vmm/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the command line ---- */

/* cli_parse() with its messages captured (stderr into a temporary file) into `msg`. */
static int parse_logged(int argc, char **argv, struct cli_config *c, char *msg, size_t size)
{
	char path[] = "/tmp/ember-snapcli-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	unlink(path);
	fflush(stderr);
	ck_assert_int_ge(dup2(fd, 2), 0);
	ret = cli_parse(argc, argv, c);
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, 2), 0);
	close(saved);
	n = pread(fd, msg, size - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(fd);
	return ret;
}

START_TEST(test_run_restore_parses)
{
	char *argv[] = { "ember", "run", "--restore", "/var/snap" };
	char *eq[] = { "ember", "run", "--restore=snap", "--api", "/run/vm.sock", "--serial", "none" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_RUN);
	ck_assert_str_eq(c.restore, "/var/snap");
	ck_assert_ptr_null(c.kernel);
	ck_assert_int_eq(cli_parse(ARGC(eq), eq, &c), 0);
	ck_assert_str_eq(c.restore, "snap");
	ck_assert_str_eq(c.api_path, "/run/vm.sock");
}
END_TEST

/* Each option that says how the VM is made, given with --restore (before or after it). */
static const char *const machine_opts[][2] = {
	{ "--kernel", "bz" }, { "--memory", "512M" }, { "--cpus", "2" },	 { "--disk", "a.img" },
	{ "--net", "tap0" },  { "--initrd", "i" },    { "--cmdline", "quiet" }, { "--firmware", "f" },
};

START_TEST(test_restore_with_machine_option_refused)
{
	const char *opt = machine_opts[_i][0], *val = machine_opts[_i][1];
	char *after[] = { "ember", "run", "--restore", "/s", (char *)opt, (char *)val };
	char *before[] = { "ember", "run", (char *)opt, (char *)val, "--restore", "/s" };
	char joined[64], msg[4096];
	char *eq[] = { "ember", "run", joined, "--restore=/s" };
	struct cli_config c;

	ck_assert_int_eq(parse_logged(ARGC(after), after, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, opt), "'%s' does not name %s", msg, opt);
	ck_assert_int_eq(parse_logged(ARGC(before), before, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, opt), "'%s' does not name %s", msg, opt);
	snprintf(joined, sizeof(joined), "%s=%s", opt, val);
	ck_assert_int_eq(parse_logged(ARGC(eq), eq, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, opt), "'%s' does not name %s", msg, opt);
}
END_TEST

START_TEST(test_restore_bad)
{
	char *empty[] = { "ember", "run", "--restore=" };
	char *missing[] = { "ember", "run", "--restore" };
	char *exec[] = { "ember", "exec", "--kernel", "bz", "--restore", "/s", "--", "true" };
	char *prefix[] = { "ember", "run", "--restorex", "/s" };
	char msg[4096];
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(empty), empty, &c), -EINVAL);
	ck_assert_int_eq(cli_parse(ARGC(missing), missing, &c), -EINVAL);
	ck_assert_int_eq(parse_logged(ARGC(exec), exec, &c, msg, sizeof(msg)), -EINVAL);
	ck_assert_msg(strstr(msg, "--restore"), "'%s' does not name --restore", msg);
	ck_assert_int_eq(cli_parse(ARGC(prefix), prefix, &c), -EINVAL);
}
END_TEST

START_TEST(test_ctl_snapshot_parses)
{
	char *argv[] = { "ember", "ctl", "/run/vm.sock", "snapshot", "snap-1" };
	char *stop[] = { "ember", "ctl", "/run/vm.sock", "snapshot", "/var/snap", "--stop" };
	struct cli_config c;

	ck_assert_int_eq(cli_parse(ARGC(argv), argv, &c), 0);
	ck_assert_int_eq(c.command, CLI_CTL);
	ck_assert_str_eq(c.ctl_cmd, "snapshot");
	ck_assert_str_eq(c.ctl_dir, "snap-1");
	ck_assert(!c.ctl_stop);
	ck_assert_int_eq(cli_parse(ARGC(stop), stop, &c), 0);
	ck_assert_str_eq(c.ctl_dir, "/var/snap");
	ck_assert(c.ctl_stop);
}
END_TEST

static const char *const ctl_snapshot_bad[][7] = {
	{ "ember", "ctl", "/run/vm.sock", "snapshot" },
	{ "ember", "ctl", "/run/vm.sock", "snapshot", "" },
	{ "ember", "ctl", "/run/vm.sock", "snapshot", "d", "--bogus" },
	{ "ember", "ctl", "/run/vm.sock", "snapshot", "d", "--stop", "--stop" },
	{ "ember", "ctl", "/run/vm.sock", "snapshot", "d", "stop" },
	{ "ember", "ctl", "/run/vm.sock", "snapshot", "d", "" },
	{ "ember", "ctl", "", "snapshot", "d" },
	{ "ember", "ctl", "/run/vm.sock", "status", "d" },
};

START_TEST(test_ctl_snapshot_bad_refused)
{
	char *argv[8] = { 0 };
	int argc = 0;
	struct cli_config c;

	while (argc < 7 && ctl_snapshot_bad[_i][argc]) {
		argv[argc] = (char *)ctl_snapshot_bad[_i][argc];
		argc++;
	}
	ck_assert_int_eq(cli_parse(argc, argv, &c), -EINVAL);
}
END_TEST

/* ---- the API request ---- */

struct snap_vm {
	int calls, ret;
	char dir[4200];
	bool stop;
};

static void nop_status(void *ctx, struct json_out *o)
{
	(void)ctx;
	json_key(o, "state");
	json_cstr(o, "running");
}

static int nop_int(void *ctx)
{
	(void)ctx;
	return 0;
}

static void nop_poweroff(void *ctx)
{
	(void)ctx;
}

static int fake_snapshot(void *ctx, const char *dir, bool stop, struct json_out *o, char *why,
			 size_t why_len)
{
	struct snap_vm *v = ctx;

	v->calls++;
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	v->stop = stop;
	if (v->ret) {
		snprintf(why, why_len, "the disk is full (fake)");
		return v->ret;
	}
	json_key(o, "state");
	json_cstr(o, stop ? "stopping" : "running");
	return 0;
}

struct afx {
	struct api api;
	struct snap_vm vm;
	int peer; /* the client's end */
};

static void afx_open(struct afx *f, bool with_snapshot)
{
	struct api_vm ops = { .status = nop_status, .pause = nop_int, .pause_done = nop_int,
			      .pause_fd = -1, .resume = nop_int, .poweroff = nop_poweroff,
			      .shutdown = nop_int, .ctx = &f->vm };
	int sv[2];

	memset(f, 0, sizeof(*f));
	if (with_snapshot)
		ops.snapshot = fake_snapshot;
	ck_assert_int_eq(api_open(&f->api, NULL), 0);
	api_attach(&f->api, &ops);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(api_add_client(&f->api, sv[0]), 0);
	f->peer = sv[1];
}

static void afx_close(struct afx *f)
{
	api_close(&f->api);
	close(f->peer);
}

/* Send one request line; the reply line (without its newline) into `line`. */
static void ask(struct afx *f, const char *req, char *line, size_t size)
{
	size_t len = 0;

	ck_assert_int_eq(write(f->peer, req, strlen(req)), (ssize_t)strlen(req));
	ck_assert_int_eq(write(f->peer, "\n", 1), 1);
	for (int round = 0; round < 200; round++) {
		struct pollfd pfd[API_POLL_MAX];
		unsigned int n = api_poll_fill(&f->api, pfd, API_POLL_MAX);
		char c;

		if (poll(pfd, n, 10) > 0)
			api_poll_ready(&f->api, pfd, n);
		while (recv(f->peer, &c, 1, MSG_DONTWAIT) == 1) {
			if (c == '\n') {
				line[len] = '\0';
				return;
			}
			ck_assert_uint_lt(len, size - 1);
			line[len++] = c;
		}
	}
	ck_abort_msg("no reply to %s", req);
}

static void expect_error(struct afx *f, const char *req, const char *part)
{
	char line[8192];

	ask(f, req, line, sizeof(line));
	ck_assert_msg(strstr(line, "\"ok\":false") && strstr(line, part), "'%s' for %s, wanted %s",
		      line, req, part);
}

static const struct {
	const char *req, *error;
} bad_snapshots[] = {
	{ "{\"id\":1,\"cmd\":\"snapshot\"}", "needs dir" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"snap\"}", "absolute" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"./snap\"}", "absolute" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"\"}", "absolute" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":42}", "needs dir" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":null}", "needs dir" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":true}", "needs dir" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/s\",\"stop\":\"yes\"}", "stop must be" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/s\",\"stop\":1}", "stop must be" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/s\",\"stop\":null}", "stop must be" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/s\",\"force\":true}", "unknown member 'force'" },
	{ "{\"id\":1,\"cmd\":\"snapshot\",\"stop\":true,\"x\":1}", "unknown member 'x'" },
	{ "{\"id\":1,\"cmd\":\"status\",\"dir\":\"/s\"}", "unknown member 'dir'" },
	{ "{\"id\":1,\"cmd\":\"pause\",\"stop\":true}", "unknown member 'stop'" },
	{ "{\"id\":1,\"cmd\":\"poweroff\",\"dir\":\"/s\"}", "unknown member 'dir'" },
	{ "{\"id\":1,\"cmd\":\"resume\",\"stop\":false}", "unknown member 'stop'" },
};

START_TEST(test_api_snapshot_malformed_refused)
{
	struct afx f;

	afx_open(&f, true);
	expect_error(&f, bad_snapshots[_i].req, bad_snapshots[_i].error);
	ck_assert_int_eq(f.vm.calls, 0);
	afx_close(&f);
}
END_TEST

/* The longest dir a request line can carry reaches the VM whole (4096-byte lines). */
START_TEST(test_api_snapshot_long_dir_whole)
{
	char *req = malloc(API_LINE_MAX + 1), line[8192];
	struct afx f;
	size_t p;

	ck_assert_ptr_nonnull(req);
	afx_open(&f, true);
	strcpy(req, "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/");
	p = strlen(req);
	memset(req + p, 'a', API_LINE_MAX - p - 2);
	strcpy(req + API_LINE_MAX - 2, "\"}");
	ck_assert_uint_eq(strlen(req), API_LINE_MAX);
	ask(&f, req, line, sizeof(line));
	ck_assert_msg(strstr(line, "\"ok\":true"), "%s", line);
	ck_assert_int_eq(f.vm.calls, 1);
	ck_assert_uint_eq(strlen(f.vm.dir), API_LINE_MAX - p - 2 + 1);
	afx_close(&f);
	free(req);
}
END_TEST

START_TEST(test_api_snapshot_valid)
{
	char line[8192];
	struct afx f;

	afx_open(&f, true);
	ask(&f, "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/var/snap\"}", line, sizeof(line));
	ck_assert_str_eq(line, "{\"id\":1,\"ok\":true,\"state\":\"running\"}");
	ck_assert_int_eq(f.vm.calls, 1);
	ck_assert_str_eq(f.vm.dir, "/var/snap");
	ck_assert(!f.vm.stop);
	ask(&f, "{\"id\":2,\"cmd\":\"snapshot\",\"stop\":true,\"dir\":\"/v\"}", line, sizeof(line));
	ck_assert_str_eq(line, "{\"id\":2,\"ok\":true,\"state\":\"stopping\"}");
	ck_assert(f.vm.stop);
	ask(&f, "{\"id\":3,\"cmd\":\"snapshot\",\"stop\":false,\"dir\":\"/v\"}", line, sizeof(line));
	ck_assert(!f.vm.stop);
	/* The VM's failure and its cause. */
	f.vm.ret = -ENOSPC;
	expect_error(&f, "{\"id\":4,\"cmd\":\"snapshot\",\"dir\":\"/v\"}", "the disk is full (fake)");
	ck_assert_int_eq(f.vm.calls, 4);
	afx_close(&f);
}
END_TEST

/* A VM that offers no snapshot call (the API's other users): an error reply, not a crash. */
START_TEST(test_api_snapshot_without_vm_support)
{
	struct afx f;

	afx_open(&f, false);
	expect_error(&f, "{\"id\":1,\"cmd\":\"snapshot\",\"dir\":\"/var/snap\"}", "cannot take");
	afx_close(&f);
}
END_TEST

Suite *snapcli_suite(void)
{
	Suite *s = suite_create("snapcli");
	TCase *cli_tc = tcase_create("cli");
	TCase *api_tc = tcase_create("api");

	tcase_add_test(cli_tc, test_run_restore_parses);
	tcase_add_loop_test(cli_tc, test_restore_with_machine_option_refused, 0,
			    sizeof(machine_opts) / sizeof(machine_opts[0]));
	tcase_add_test(cli_tc, test_restore_bad);
	tcase_add_test(cli_tc, test_ctl_snapshot_parses);
	tcase_add_loop_test(cli_tc, test_ctl_snapshot_bad_refused, 0,
			    sizeof(ctl_snapshot_bad) / sizeof(ctl_snapshot_bad[0]));
	suite_add_tcase(s, cli_tc);
	tcase_add_loop_test(api_tc, test_api_snapshot_malformed_refused, 0,
			    sizeof(bad_snapshots) / sizeof(bad_snapshots[0]));
	tcase_add_test(api_tc, test_api_snapshot_long_dir_whole);
	tcase_add_test(api_tc, test_api_snapshot_valid);
	tcase_add_test(api_tc, test_api_snapshot_without_vm_support);
	suite_add_tcase(s, api_tc);
	return s;
}
