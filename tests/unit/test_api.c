/*
 * vmm/api: the API socket against a fake VM. The socket file (mode 0600,
 * a live one refused, a stale one replaced, removed at the end), the
 * requests and their replies, pause answered only once the VM says it is
 * paused, events to every client, and hostile clients: malformed and
 * oversized lines, requests cut anywhere, clients that hang up, too many
 * clients, a client that does not read, another user.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tests/unit/tmpdir.h"
#include "vmm/api.h"

/* The VM as the API sees it: counts calls, answers what the test sets. */
struct fake_vm {
	int status, pause, pause_done, resume, poweroff, shutdown;
	int pause_ret, pause_done_ret, resume_ret, shutdown_ret;
	int pause_fd;
};

static void fake_status(void *ctx, struct json_out *o)
{
	((struct fake_vm *)ctx)->status++;
	json_key(o, "state");
	json_cstr(o, "running");
	json_key(o, "devices");
	json_array_begin(o);
	json_cstr(o, "serial");
	json_array_end(o);
}

static int fake_pause(void *ctx)
{
	struct fake_vm *f = ctx;

	f->pause++;
	return f->pause_ret;
}

static int fake_pause_done(void *ctx)
{
	struct fake_vm *f = ctx;
	uint64_t n;

	f->pause_done++;
	if (read(f->pause_fd, &n, sizeof(n)) < 0)
		n = 0;
	return f->pause_done_ret;
}

static int fake_resume(void *ctx)
{
	struct fake_vm *f = ctx;

	f->resume++;
	return f->resume_ret;
}

static void fake_poweroff(void *ctx)
{
	((struct fake_vm *)ctx)->poweroff++;
}

static int fake_shutdown(void *ctx)
{
	struct fake_vm *f = ctx;

	f->shutdown++;
	return f->shutdown_ret;
}

struct fixture {
	char dir[64], path[96];
	struct api api;
	struct fake_vm vm;
};

static void setup(struct fixture *f)
{
	struct api_vm ops = { .status = fake_status, .pause = fake_pause, .pause_done = fake_pause_done,
			      .resume = fake_resume, .poweroff = fake_poweroff,
			      .shutdown = fake_shutdown, .ctx = &f->vm };

	memset(f, 0, sizeof(*f));
	signal(SIGPIPE, SIG_IGN); /* as Ember runs (console_open()) */
	tmpdir_create(f->dir, sizeof(f->dir), "api");
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	ck_assert_int_eq(api_open(&f->api, f->path), 0);
	f->vm.pause_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->vm.shutdown_ret = -EIO;
	ops.pause_fd = f->vm.pause_fd;
	api_attach(&f->api, &ops);
}

static void teardown(struct fixture *f)
{
	api_close(&f->api);
	close(f->vm.pause_fd);
	tmpdir_remove(f->dir);
}

/* Serve whatever is ready now (a few rounds of the main loop, no waiting). */
static void pump(struct fixture *f)
{
	for (int i = 0; i < 8; i++) {
		struct pollfd pfd[API_POLL_MAX];
		unsigned int n = api_poll_fill(&f->api, pfd, API_POLL_MAX);

		if (poll(pfd, n, 0) <= 0)
			return;
		api_poll_ready(&f->api, pfd, n);
	}
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int client(struct fixture *f)
{
	int fd = connect_to(f->path);

	pump(f);
	return fd;
}

static void send_bytes(int fd, const char *s, size_t n)
{
	ck_assert_int_eq(write(fd, s, n), (ssize_t)n);
}

static void send_str(int fd, const char *s)
{
	send_bytes(fd, s, strlen(s));
}

/*
 * The next line the server sent to `fd` (without its newline), serving
 * meanwhile; false if none comes in a few hundred rounds, or at EOF.
 */
static bool recv_line(struct fixture *f, int fd, char *line, size_t size)
{
	size_t len = 0;

	for (int round = 0; round < 400; round++) {
		char c;
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 1) {
			if (c == '\n') {
				line[len] = 0;
				return true;
			}
			ck_assert_uint_lt(len, size - 1);
			line[len++] = c;
			round = 0;
			continue;
		}
		if (n == 0)
			return false;
		pump(f);
		if (round > 100)
			usleep(1000);
	}
	return false;
}

static void expect_line(struct fixture *f, int fd, const char *want)
{
	char line[8192];

	ck_assert_msg(recv_line(f, fd, line, sizeof(line)), "no line, wanted %s", want);
	ck_assert_str_eq(line, want);
}

/* A line that starts with `prefix` and holds `part`. */
static void expect_line_like(struct fixture *f, int fd, const char *prefix, const char *part)
{
	char line[8192];

	ck_assert_msg(recv_line(f, fd, line, sizeof(line)), "no line, wanted %s...", prefix);
	ck_assert_msg(!strncmp(line, prefix, strlen(prefix)) && strstr(line, part),
		      "got '%s', wanted '%s'...'%s'", line, prefix, part);
}

static void expect_nothing(struct fixture *f, int fd)
{
	char c;

	pump(f);
	ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
}

static void expect_eof(struct fixture *f, int fd)
{
	char line[8192];

	ck_assert(!recv_line(f, fd, line, sizeof(line)));
}

/* ---- the socket file ---- */

START_TEST(test_socket_is_private_and_removed)
{
	mode_t before = umask(022), after;
	struct fixture f;
	struct stat st;

	setup(&f);
	after = umask(before);
	ck_assert_int_eq(after, 022); /* put back as it was */
	ck_assert_int_eq(lstat(f.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	api_close(&f.api);
	ck_assert_int_eq(lstat(f.path, &st), -1);
	api_close(&f.api); /* idempotent */
	teardown(&f);
}
END_TEST

START_TEST(test_live_socket_refused)
{
	struct fixture f;
	struct api second;
	int fd;

	setup(&f);
	ck_assert_int_eq(api_open(&second, f.path), -EADDRINUSE);
	/* The first one still owns the file and answers. */
	fd = client(&f);
	send_str(fd, "{\"id\":1,\"cmd\":\"status\"}\n");
	expect_line(&f, fd, "{\"id\":1,\"ok\":true,\"state\":\"running\",\"devices\":[\"serial\"]}");
	close(fd);
	teardown(&f);
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[64], path[96];
	struct api a;
	int fd;

	tmpdir_create(dir, sizeof(dir), "api");
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	/* A socket file nobody listens on: what an Ember killed with SIGKILL leaves. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(api_open(&a, path), 0);
	close(connect_to(path));
	api_close(&a);
	ck_assert_int_eq(access(path, F_OK), -1);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_bad_paths_refused)
{
	char dir[64], path[256];
	struct api a;
	struct stat st;

	tmpdir_create(dir, sizeof(dir), "api");
	snprintf(path, sizeof(path), "%s/not-a-socket", dir);
	tmpdir_write(dir, "not-a-socket", "data", 4);
	ck_assert_int_eq(api_open(&a, path), -EEXIST);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4); /* left alone */
	snprintf(path, sizeof(path), "%s/nope/api.sock", dir);
	ck_assert_int_eq(api_open(&a, path), -ENOENT);
	snprintf(path, sizeof(path), "%s/", dir);
	ck_assert_int_eq(api_open(&a, path), -EISDIR);
	memset(path, 'x', 200);
	path[200] = 0;
	ck_assert_int_eq(api_open(&a, path), -ENAMETOOLONG);
	tmpdir_remove(dir);
}
END_TEST

/* ---- requests ---- */

START_TEST(test_ids_echoed)
{
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	send_str(fd, "{\"cmd\":\"status\",\"id\":-1.5e3}\n");
	expect_line_like(&f, fd, "{\"id\":-1.5e3,\"ok\":true,", "running");
	send_str(fd, "{\"id\":\"a\\\"b\\u00e9\\n\",\"cmd\":\"status\"}\n");
	expect_line_like(&f, fd, "{\"id\":\"a\\\"b\xc3\xa9\\n\",\"ok\":true,", "running");
	ck_assert_int_eq(f.vm.status, 2);
	close(fd);
	teardown(&f);
}
END_TEST

/* Each request and the error reply it gets (id null when the id cannot be used). */
static const struct {
	const char *req;
	const char *reply; /* the start of the reply */
	const char *error; /* a part of the message */
} bad_requests[] = {
	{ "{\"id\":1,\"cmd\":", "{\"id\":null,\"ok\":false,", "malformed request at byte 14" },
	{ "not json", "{\"id\":null,\"ok\":false,", "malformed" },
	{ "{\"id\":1,\"cmd\":\"status\",\"x\":[1]}", "{\"id\":null,\"ok\":false,", "nested" },
	{ "{\"cmd\":\"status\"}", "{\"id\":null,\"ok\":false,", "no id" },
	{ "{\"id\":true,\"cmd\":\"status\"}", "{\"id\":null,\"ok\":false,", "number or a string" },
	{ "{\"id\":null,\"cmd\":\"status\"}", "{\"id\":null,\"ok\":false,", "number or a string" },
	{ "{\"id\":7}", "{\"id\":7,\"ok\":false,", "cmd (a string) is missing" },
	{ "{\"id\":7,\"cmd\":3}", "{\"id\":7,\"ok\":false,", "cmd (a string) is missing" },
	{ "{\"id\":7,\"cmd\":\"reboot\"}", "{\"id\":7,\"ok\":false,", "unknown cmd 'reboot'" },
	{ "{\"id\":7,\"cmd\":\"status\",\"dir\":\"/tmp\"}", "{\"id\":7,\"ok\":false,", "unknown member 'dir'" },
	{ "{\"id\":7,\"cmd\":\"status\",\"id\":8}", "{\"id\":null,\"ok\":false,", "twice" },
	{ "{\"id\":7,\"cmd\":\"shutdown\"}", "{\"id\":7,\"ok\":false,", "cannot press the power button: Input/output error" },
	{ "{\"id\":7,\"cmd\":\"\\u0000\"}", "{\"id\":null,\"ok\":false,", "\\\\u0000" },
	{ "{\"id\":7,\"cmd\":\"status\\u0000x\"}", "{\"id\":null,\"ok\":false,", "malformed" },
	{ "{\"id\":7,\"cmd\":\"STATUS\"}", "{\"id\":7,\"ok\":false,", "unknown cmd" },
	{ "\x01\x02\xff{}", "{\"id\":null,\"ok\":false,", "malformed" },
	{ "", "{\"id\":null,\"ok\":false,", "malformed" },
};

START_TEST(test_bad_request_gets_error_and_vm_goes_on)
{
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	send_str(fd, bad_requests[_i].req);
	send_str(fd, "\n{\"id\":2,\"cmd\":\"status\"}\n");
	expect_line_like(&f, fd, bad_requests[_i].reply, bad_requests[_i].error);
	expect_line_like(&f, fd, "{\"id\":2,\"ok\":true,", "running");
	ck_assert_int_eq(f.vm.pause + f.vm.resume + f.vm.poweroff, 0);
	close(fd);
	teardown(&f);
}
END_TEST

START_TEST(test_long_id_refused)
{
	char req[512];
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	snprintf(req, sizeof(req), "{\"id\":\"%0129d\",\"cmd\":\"status\"}\n", 0);
	send_str(fd, req);
	expect_line_like(&f, fd, "{\"id\":null,\"ok\":false,", "longer than 128");
	snprintf(req, sizeof(req), "{\"id\":\"%0128d\",\"cmd\":\"status\"}\n", 0);
	send_str(fd, req);
	expect_line_like(&f, fd, "{\"id\":\"000", "\"ok\":true");
	close(fd);
	teardown(&f);
}
END_TEST

START_TEST(test_line_limit)
{
	char *big = malloc(3 * API_LINE_MAX);
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	/* Exactly API_LINE_MAX bytes (spaces after the object) is a line. */
	memset(big, ' ', API_LINE_MAX);
	memcpy(big, "{\"id\":1,\"cmd\":\"status\"}", 23);
	big[API_LINE_MAX] = '\n';
	send_bytes(fd, big, API_LINE_MAX + 1);
	expect_line_like(&f, fd, "{\"id\":1,\"ok\":true,", "running");
	/* One more byte: refused once, skipped to its newline, the next line served. */
	memset(big, 'x', 3 * API_LINE_MAX);
	big[API_LINE_MAX + 1] = '\n';
	send_bytes(fd, big, API_LINE_MAX + 2);
	expect_line_like(&f, fd, "{\"id\":null,\"ok\":false,", "longer than 4096 bytes");
	/* Far longer, in pieces: still one error. */
	big[API_LINE_MAX + 1] = 'x';
	for (int i = 0; i < 4; i++)
		send_bytes(fd, big, 3 * API_LINE_MAX);
	send_str(fd, "\n{\"id\":2,\"cmd\":\"status\"}\n");
	expect_line_like(&f, fd, "{\"id\":null,\"ok\":false,", "longer than 4096 bytes");
	expect_line_like(&f, fd, "{\"id\":2,\"ok\":true,", "running");
	expect_nothing(&f, fd);
	close(fd);
	free(big);
	teardown(&f);
}
END_TEST

/* A request sent one byte at a time is held until its newline, then answered once. */
START_TEST(test_request_in_pieces)
{
	static const char req[] = "{\"id\":3,\"cmd\":\"status\"}\n";
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	for (size_t i = 0; i < sizeof(req) - 2; i++) {
		send_bytes(fd, req + i, 1);
		expect_nothing(&f, fd);
	}
	send_bytes(fd, req + sizeof(req) - 2, 1);
	expect_line_like(&f, fd, "{\"id\":3,\"ok\":true,", "running");
	ck_assert_int_eq(f.vm.status, 1);
	close(fd);
	teardown(&f);
}
END_TEST

/* Half a request, then the client goes: nothing reaches the VM, the slot is free again. */
START_TEST(test_half_request_then_hangup)
{
	struct fixture f;
	int fds[API_MAX_CLIENTS], fd;

	setup(&f);
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		fds[i] = client(&f);
		send_str(fds[i], "{\"id\":1,\"cmd\":\"poweroff\"");
	}
	pump(&f);
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		shutdown(fds[i], SHUT_RDWR);
		close(fds[i]);
	}
	pump(&f);
	ck_assert_int_eq(f.vm.poweroff, 0);
	fd = client(&f);
	send_str(fd, "{\"id\":1,\"cmd\":\"status\"}\n");
	expect_line_like(&f, fd, "{\"id\":1,\"ok\":true,", "running");
	close(fd);
	teardown(&f);
}
END_TEST

/*
 * A client that hangs up right after sending two requests: the first reply
 * finds it gone (EPIPE) and it is dropped while its second line waits.
 * fuzz_api found this: the line was then consumed from the emptied buffer.
 */
START_TEST(test_hangup_while_answered)
{
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	send_str(fd, "{\"id\":1,\"cmd\":\"status\"}\n{\"id\":2,\"cmd\":\"status\"}\n");
	close(fd);
	pump(&f);
	ck_assert_int_eq(f.vm.status, 1);
	fd = client(&f); /* the slot is free and the table sane */
	send_str(fd, "{\"id\":3,\"cmd\":\"status\"}\n");
	expect_line_like(&f, fd, "{\"id\":3,\"ok\":true,", "running");
	close(fd);
	teardown(&f);
}
END_TEST

/*
 * A client that closes its side gets the replies to its lines, then EOF; a
 * last line without its newline is no request (it was cut off).
 */
START_TEST(test_last_line_at_eof)
{
	struct fixture f;
	int fd;

	setup(&f);
	fd = client(&f);
	send_str(fd, "{\"id\":4,\"cmd\":\"status\"}\n{\"id\":5,\"cmd\":\"poweroff\"}");
	shutdown(fd, SHUT_WR);
	expect_line_like(&f, fd, "{\"id\":4,\"ok\":true,", "running");
	expect_eof(&f, fd);
	ck_assert_int_eq(f.vm.poweroff, 0);
	close(fd);
	teardown(&f);
}
END_TEST

START_TEST(test_too_many_clients)
{
	struct fixture f;
	int fds[API_MAX_CLIENTS + 1];

	setup(&f);
	for (int i = 0; i <= API_MAX_CLIENTS; i++)
		fds[i] = client(&f);
	expect_line_like(&f, fds[API_MAX_CLIENTS], "{\"id\":null,\"ok\":false,", "too many clients");
	expect_eof(&f, fds[API_MAX_CLIENTS]);
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		send_str(fds[i], "{\"id\":1,\"cmd\":\"status\"}\n");
		expect_line_like(&f, fds[i], "{\"id\":1,\"ok\":true,", "running");
	}
	for (int i = 0; i <= API_MAX_CLIENTS; i++)
		close(fds[i]);
	teardown(&f);
}
END_TEST

/* ---- pause, resume, poweroff and events ---- */

START_TEST(test_pause_answered_once_parked)
{
	struct fixture f;
	uint64_t one = 1;
	int a, b;

	setup(&f);
	a = client(&f);
	b = client(&f);
	f.vm.pause_ret = -EINPROGRESS;
	f.vm.pause_done_ret = -EINPROGRESS;
	send_str(a, "{\"id\":1,\"cmd\":\"pause\"}\n{\"id\":2,\"cmd\":\"status\"}\n");
	expect_nothing(&f, a);
	ck_assert_int_eq(f.vm.status, 0); /* the status waits behind the pause */
	/* A wake-up that is not yet the last vCPU: still nothing. */
	ck_assert_int_eq(write(f.vm.pause_fd, &one, sizeof(one)), sizeof(one));
	expect_nothing(&f, a);
	ck_assert_int_ge(f.vm.pause_done, 1);
	/* Another client asks too: both wait for the same pause. */
	send_str(b, "{\"id\":\"b\",\"cmd\":\"pause\"}\n");
	expect_nothing(&f, b);
	f.vm.pause_done_ret = 0;
	ck_assert_int_eq(write(f.vm.pause_fd, &one, sizeof(one)), sizeof(one));
	expect_line(&f, a, "{\"id\":1,\"ok\":true,\"state\":\"paused\"}");
	expect_line(&f, a, "{\"event\":\"paused\"}");
	expect_line_like(&f, a, "{\"id\":2,\"ok\":true,", "running");
	expect_line(&f, b, "{\"id\":\"b\",\"ok\":true,\"state\":\"paused\"}");
	expect_line(&f, b, "{\"event\":\"paused\"}");
	/* Paused already: ok, no event. */
	f.vm.pause_ret = 1;
	send_str(b, "{\"id\":3,\"cmd\":\"pause\"}\n");
	expect_line(&f, b, "{\"id\":3,\"ok\":true,\"state\":\"paused\"}");
	expect_nothing(&f, a);
	close(a);
	close(b);
	teardown(&f);
}
END_TEST

START_TEST(test_resume_and_its_refusals)
{
	struct fixture f;
	int a, b;

	setup(&f);
	a = client(&f);
	b = client(&f);
	send_str(a, "{\"id\":1,\"cmd\":\"resume\"}\n");
	expect_line(&f, a, "{\"id\":1,\"ok\":true,\"state\":\"running\"}");
	expect_line(&f, a, "{\"event\":\"resumed\"}");
	expect_line(&f, b, "{\"event\":\"resumed\"}");
	f.vm.resume_ret = 1; /* running already */
	send_str(a, "{\"id\":2,\"cmd\":\"resume\"}\n");
	expect_line(&f, a, "{\"id\":2,\"ok\":true,\"state\":\"running\"}");
	expect_nothing(&f, b);
	f.vm.resume_ret = -EBUSY;
	send_str(a, "{\"id\":3,\"cmd\":\"resume\"}\n");
	expect_line_like(&f, a, "{\"id\":3,\"ok\":false,", "still completing");
	f.vm.pause_ret = -EIO;
	send_str(a, "{\"id\":4,\"cmd\":\"pause\"}\n");
	expect_line_like(&f, a, "{\"id\":4,\"ok\":false,", "cannot pause");
	ck_assert_int_eq(f.vm.resume, 3);
	close(a);
	close(b);
	teardown(&f);
}
END_TEST

START_TEST(test_poweroff_then_stop_events)
{
	struct fixture f;
	int a, b;

	setup(&f);
	a = client(&f);
	b = client(&f);
	send_str(a, "{\"id\":1,\"cmd\":\"poweroff\"}\n");
	expect_line(&f, a, "{\"id\":1,\"ok\":true,\"state\":\"stopping\"}");
	ck_assert_int_eq(f.vm.poweroff, 1);
	api_stopping(&f.api, 143, "poweroff requested on the API socket");
	expect_line(&f, a, "{\"event\":\"shutdown\",\"reason\":\"poweroff requested on the API socket\",\"status\":143}");
	expect_line(&f, b, "{\"event\":\"shutdown\",\"reason\":\"poweroff requested on the API socket\",\"status\":143}");
	/* Stopping: no more requests, no more clients. */
	send_str(b, "{\"id\":2,\"cmd\":\"status\"}\n");
	expect_nothing(&f, b);
	api_exit(&f.api, 143);
	expect_line(&f, a, "{\"event\":\"exit\",\"status\":143}");
	expect_eof(&f, a);
	expect_line(&f, b, "{\"event\":\"exit\",\"status\":143}");
	expect_eof(&f, b);
	ck_assert_int_eq(f.vm.status, 0);
	close(a);
	close(b);
	teardown(&f);
}
END_TEST

START_TEST(test_stop_while_pausing_fails_the_pause)
{
	struct fixture f;
	int a;

	setup(&f);
	a = client(&f);
	f.vm.pause_ret = -EINPROGRESS;
	send_str(a, "{\"id\":1,\"cmd\":\"pause\"}\n");
	expect_nothing(&f, a);
	api_stopping(&f.api, 7, "guest kernel panicked (pvpanic)");
	expect_line_like(&f, a, "{\"id\":1,\"ok\":false,", "stopping");
	expect_line(&f, a, "{\"event\":\"guest-panicked\"}");
	expect_line_like(&f, a, "{\"event\":\"shutdown\",", "\"status\":7");
	close(a);
	teardown(&f);
}
END_TEST

/*
 * A client sends many requests and reads nothing: Ember stops reading it
 * (its replies wait), serves others meanwhile, and once it reads, every
 * reply comes, in order.
 */
START_TEST(test_client_that_does_not_read)
{
	enum { N = 4000 };
	struct fixture f;
	char req[64], line[512], want[64];
	int slow, other, sent = 0, got = 0;

	setup(&f);
	slow = client(&f);
	other = client(&f);
	while (sent < N) {
		int n = snprintf(req, sizeof(req), "{\"id\":%d,\"cmd\":\"status\"}\n", sent);

		if (send(slow, req, (size_t)n, MSG_DONTWAIT) != n)
			break; /* its socket is full: Ember no longer reads it */
		sent++;
		if (sent % 64 == 0)
			pump(&f);
	}
	ck_assert_int_gt(sent, 100);
	send_str(other, "{\"id\":\"o\",\"cmd\":\"status\"}\n");
	expect_line_like(&f, other, "{\"id\":\"o\",\"ok\":true,", "running");
	while (got < sent && recv_line(&f, slow, line, sizeof(line))) {
		snprintf(want, sizeof(want), "{\"id\":%d,\"ok\":true,", got);
		ck_assert_msg(!strncmp(line, want, strlen(want)), "reply %d: %s", got, line);
		got++;
	}
	ck_assert_int_eq(got, sent);
	close(slow);
	close(other);
	teardown(&f);
}
END_TEST

/* Another user cannot use the socket, even where its mode would let it connect. */
START_TEST(test_other_user_refused)
{
	struct fixture f;
	int pfd[2], status = -1;
	pid_t pid;

	if (geteuid() != 0)
		return; /* needs root to become another user */
	setup(&f);
	ck_assert_int_eq(chmod(f.path, 0666), 0);
	ck_assert_int_eq(chmod(f.dir, 0755), 0);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[512] = { 0 };
		ssize_t n, total = 0;
		int fd;

		close(pfd[1]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		fd = connect_to(f.path);
		while ((n = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
			total += n;
		_exit(strstr(buf, "\"ok\":false") && strstr(buf, "permission denied") && n == 0 ? 0 : 11);
	}
	close(pfd[0]);
	for (int i = 0; i < 5000 && waitpid(pid, &status, WNOHANG) == 0; i++) {
		pump(&f);
		usleep(1000);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	close(pfd[1]);
	teardown(&f);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *sock = tcase_create("socket");
	TCase *req = tcase_create("requests");
	TCase *vm = tcase_create("vm");

	tcase_add_test(sock, test_socket_is_private_and_removed);
	tcase_add_test(sock, test_live_socket_refused);
	tcase_add_test(sock, test_stale_socket_replaced);
	tcase_add_test(sock, test_bad_paths_refused);
	tcase_add_test(sock, test_too_many_clients);
	tcase_add_test(sock, test_other_user_refused);
	suite_add_tcase(s, sock);
	tcase_add_test(req, test_ids_echoed);
	tcase_add_loop_test(req, test_bad_request_gets_error_and_vm_goes_on, 0,
			    sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_test(req, test_long_id_refused);
	tcase_add_test(req, test_line_limit);
	tcase_add_test(req, test_request_in_pieces);
	tcase_add_test(req, test_half_request_then_hangup);
	tcase_add_test(req, test_last_line_at_eof);
	tcase_add_test(req, test_hangup_while_answered);
	tcase_add_test(req, test_client_that_does_not_read);
	suite_add_tcase(s, req);
	tcase_add_test(vm, test_pause_answered_once_parked);
	tcase_add_test(vm, test_resume_and_its_refusals);
	tcase_add_test(vm, test_poweroff_then_stop_events);
	tcase_add_test(vm, test_stop_while_pausing_fails_the_pause);
	suite_add_tcase(s, vm);
	return s;
}
