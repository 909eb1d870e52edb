/*
 * Fuzz target: the API socket (vmm/api.c) and its JSON reader and writer
 * (vmm/json.c), against a fake VM.
 *
 * Three clients on socket pairs (api_add_client(), no socket file) send
 * what the input says, in pieces of any size, with passes of the main
 * loop's poll in between; they hang up and come back; the fake VM's pause
 * completes, fails or stays in progress as the input says. Checked: every
 * line Ember sends parses again with json_parse() (the fake status is flat)
 * and is an event or a reply with "id" and "ok" (and "error" when ok is
 * false); a client never gets more replies than it sent lines plus one per
 * overlong line; the VM is powered off at most once per line sent; at the
 * end every client reads to EOF. Each
 * input also goes to json_parse() alone: what parses must write out with
 * the writer and parse again to the same members.
 *
 * Input: u8 VM behaviour, then operations until the input ends:
 *   op % 7 == 0  data: u8 client, u16 length, bytes for that client to send
 *   op % 7 == 1  one pass of the main loop
 *   op % 7 == 2  each client reads and checks what it was sent
 *   op % 7 == 3  the VM's pause completes (u8 % 3: done, still in progress, failed)
 *   op % 7 == 4  u8 client hangs up (and a new one takes its place)
 *   op % 7 == 5  u8 client shuts its sending side
 *   op % 7 == 6  a canned request: u8 command, u8 client
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/expect.h"
#include "tests/fuzz/input.h"
#include "vmm/api.h"
#include "vmm/json.h"

#define CLIENTS 3

struct fake_vm {
	int pause_ret, pause_done_ret, resume_ret, shutdown_ret;
	int pause_fd;
	int poweroffs;
};

struct peer {
	int fd;		    /* our end; -1 when hung up */
	size_t lines_sent;  /* newlines sent */
	size_t long_lines;  /* runs of API_LINE_MAX bytes without a newline (each may cost an error) */
	size_t run;	    /* bytes since the last newline */
	size_t replies;	    /* reply lines received */
	char in[API_OUT_MAX + API_REPLY_MAX];
	size_t in_len;
};

struct world {
	struct api api;
	struct fake_vm vm;
	struct peer peer[CLIENTS];
	size_t lines; /* newlines sent by every client so far */
};

static void fake_status(void *ctx, struct json_out *o)
{
	(void)ctx;
	json_key(o, "state");
	json_cstr(o, "running");
	json_key(o, "uptime");
	json_millis(o, 1234);
}

static int fake_pause(void *ctx)
{
	return ((struct fake_vm *)ctx)->pause_ret;
}

static int fake_pause_done(void *ctx)
{
	struct fake_vm *f = ctx;
	uint64_t n;

	if (read(f->pause_fd, &n, sizeof(n)) < 0)
		n = 0;
	return f->pause_done_ret;
}

static int fake_resume(void *ctx)
{
	return ((struct fake_vm *)ctx)->resume_ret;
}

static void fake_poweroff(void *ctx)
{
	((struct fake_vm *)ctx)->poweroffs++;
}

static int fake_shutdown(void *ctx)
{
	return ((struct fake_vm *)ctx)->shutdown_ret;
}

static void pass(struct world *w)
{
	struct pollfd pfd[API_POLL_MAX];
	unsigned int n = api_poll_fill(&w->api, pfd, API_POLL_MAX);

	if (poll(pfd, n, 0) > 0)
		api_poll_ready(&w->api, pfd, n);
}

static void connect_peer(struct world *w, struct peer *p)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	p->fd = sv[0];
	/* Refused (slots of hung-up peers not yet freed): it reads the refusal, then EOF. */
	if (api_add_client(&w->api, sv[1]))
		return;
}

/* One line Ember sent: valid JSON, an event or a reply as docs/api.md says. */
static void check_line(struct peer *p, char *line, size_t len)
{
	struct json_object o;
	const struct json_value *ok, *err;

	expect(json_parse(line, len, &o, NULL) == 0);
	if (json_get(&o, "event")) {
		expect(json_get(&o, "event")->type == JSON_STRING);
		return;
	}
	p->replies++;
	ok = json_get(&o, "ok");
	err = json_get(&o, "error");
	expect(json_get(&o, "id") && ok && (ok->type == JSON_TRUE || ok->type == JSON_FALSE));
	expect(ok->type == JSON_TRUE || (err && err->type == JSON_STRING && err->len > 0));
	expect(json_get(&o, "id")->type != JSON_TRUE && json_get(&o, "id")->type != JSON_FALSE);
}

/* Read what Ember sent; check each complete line. Returns false at EOF. */
static bool drain(struct peer *p)
{
	bool open = true;

	while (p->fd >= 0) {
		ssize_t n = read(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len);
		char *nl;

		/* ECONNRESET: Ember closed with bytes of ours unread, which is how it ends too. */
		if (n == 0 || (n < 0 && errno != EAGAIN))
			open = false;
		if (n <= 0)
			break;
		p->in_len += (size_t)n;
		while ((nl = memchr(p->in, '\n', p->in_len))) {
			size_t len = (size_t)(nl - p->in);

			check_line(p, p->in, len);
			memmove(p->in, nl + 1, p->in_len - len - 1);
			p->in_len -= len + 1;
		}
		expect(p->in_len < sizeof(p->in)); /* no line longer than a reply */
	}
	/* Replies answer lines: at most one per line sent, plus one per overlong line. */
	expect(p->replies <= p->lines_sent + p->long_lines + 1);
	return open;
}

static void send_bytes(struct world *w, struct peer *p, const uint8_t *b, size_t n)
{
	ssize_t put;

	if (p->fd < 0)
		return;
	put = send(p->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (ssize_t i = 0; i < put; i++) {
		if (b[i] == '\n') {
			p->lines_sent++;
			w->lines++;
			p->run = 0;
		} else if (++p->run % (API_LINE_MAX + 1) == 0) {
			p->long_lines++;
		}
	}
}

static void canned(struct world *w, struct peer *p, uint8_t which)
{
	static const char *const reqs[] = {
		"{\"id\":1,\"cmd\":\"status\"}\n",	 "{\"id\":\"p\",\"cmd\":\"pause\"}\n",
		"{\"id\":2,\"cmd\":\"resume\"}\n",	 "{\"id\":3,\"cmd\":\"shutdown\"}\n",
		"{\"id\":4,\"cmd\":\"poweroff\"}\n", "{\"id\":5,\"cmd\":\"status\",\"x\":[1]}\n",
	};
	const char *r = reqs[which % (sizeof(reqs) / sizeof(reqs[0]))];

	send_bytes(w, p, (const uint8_t *)r, strlen(r));
}

static void hang_up(struct world *w, struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	for (int i = 0; i < 4; i++)
		pass(w); /* Ember notices and frees the slot */
	connect_peer(w, p);
}

/* Every op of the stream; see the header. */
static void run_op(struct world *w, struct input *in)
{
	uint8_t op = input_u8(in) % 7, k;
	uint8_t buf[8192];
	size_t n;

	switch (op) {
	case 0:
		k = input_u8(in) % CLIENTS;
		n = input_u16(in) % sizeof(buf);
		n = input_bytes(in, buf, n);
		send_bytes(w, &w->peer[k], buf, n);
		break;
	case 1:
		pass(w);
		break;
	case 2:
		for (int i = 0; i < CLIENTS; i++)
			drain(&w->peer[i]);
		break;
	case 3:
		w->vm.pause_done_ret = (int[]){ 0, -EINPROGRESS, -EIO }[input_u8(in) % 3];
		if (write(w->vm.pause_fd, &(uint64_t){ 1 }, 8) < 0)
			abort();
		break;
	case 4:
		hang_up(w, &w->peer[input_u8(in) % CLIENTS]);
		break;
	case 5:
		k = input_u8(in) % CLIENTS;
		if (w->peer[k].fd >= 0)
			shutdown(w->peer[k].fd, SHUT_WR);
		break;
	default:
		k = input_u8(in);
		canned(w, &w->peer[input_u8(in) % CLIENTS], k);
		break;
	}
}

/* The input alone through the reader: what parses writes out and parses again the same. */
static void round_trip(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), out[16384];
	struct json_object a, b;
	struct json_out w;

	if (!text)
		abort();
	memcpy(text, data, size);
	if (json_parse(text, size, &a, NULL) == 0) {
		json_out_init(&w, out, sizeof(out));
		json_begin(&w);
		for (unsigned int i = 0; i < a.n; i++) {
			const struct json_value *v = &a.m[i].v;

			json_key(&w, a.m[i].name);
			if (v->type == JSON_STRING)
				json_str(&w, v->s, v->len);
			else if (v->type == JSON_NUMBER)
				json_raw(&w, v->s, v->len);
			else
				json_raw(&w, v->type == JSON_TRUE ? "true" : v->type == JSON_FALSE ? "false" : "null",
					 v->type == JSON_FALSE ? 5 : 4);
		}
		json_end(&w);
		if (!w.overflow) {
			expect(json_parse(out, w.len, &b, NULL) == 0 && b.n == a.n);
			for (unsigned int i = 0; i < a.n; i++)
				expect(b.m[i].v.type == a.m[i].v.type && b.m[i].v.len == a.m[i].v.len &&
				       !memcmp(b.m[i].v.s, a.m[i].v.s, a.m[i].v.len) &&
				       !strcmp(b.m[i].name, a.m[i].name));
		}
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = calloc(1, sizeof(*w));
	struct input in = input_init(data, size);
	uint8_t flags = input_u8(&in);

	if (!w)
		abort();
	signal(SIGPIPE, SIG_IGN); /* as Ember runs (console_open()): a gone client is EPIPE */
	round_trip(data, size);
	w->vm = (struct fake_vm){ .pause_ret = flags & 1 ? -EINPROGRESS : flags & 2 ? 1 : 0,
				  .resume_ret = flags & 4 ? -EBUSY : flags & 8 ? 1 : 0,
				  .shutdown_ret = flags & 16 ? 0 : -EOPNOTSUPP,
				  .pause_done_ret = -EINPROGRESS };
	w->vm.pause_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->vm.pause_fd < 0 || api_open(&w->api, NULL))
		abort();
	api_attach(&w->api, &(struct api_vm){ .status = fake_status, .pause = fake_pause,
					      .pause_done = fake_pause_done, .pause_fd = w->vm.pause_fd,
					      .resume = fake_resume, .poweroff = fake_poweroff,
					      .shutdown = fake_shutdown, .ctx = &w->vm });
	for (int i = 0; i < CLIENTS; i++)
		connect_peer(w, &w->peer[i]);
	while (!input_empty(&in))
		run_op(w, &in);
	for (int i = 0; i < 8; i++)
		pass(w);
	for (int i = 0; i < CLIENTS; i++)
		drain(&w->peer[i]);
	expect((size_t)w->vm.poweroffs <= w->lines);
	api_stopping(&w->api, 143, "fuzz");
	api_exit(&w->api, 143);
	for (int i = 0; i < CLIENTS; i++) {
		/* The clients are gone: every one reads to EOF (the exit event, unless it was full). */
		expect(!drain(&w->peer[i]) || w->peer[i].fd < 0);
		close(w->peer[i].fd);
	}
	api_close(&w->api);
	close(w->vm.pause_fd);
	free(w);
	return 0;
}
