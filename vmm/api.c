#include "vmm/api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/exit.h"
#include "vmm/log.h"

#define SLOT_LISTEN (-1)
#define SLOT_PAUSE  (-2)

/* ---- the socket file ---- */

/* Split `path` into its directory (opened as dir_fd) and its name. */
static int open_dir(struct api *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(a->name)];

	if (slash) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = 0;
	} else {
		strcpy(dir, ".");
	}
	snprintf(a->name, sizeof(a->name), "%s", slash ? slash + 1 : path);
	if (!a->name[0])
		return -EISDIR;
	a->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return a->dir_fd < 0 ? -errno : 0;
}

/* bind() under a umask that leaves the socket file to its owner only (mode 0600). */
static int bind_private(int fd, const struct sockaddr_un *sa)
{
	mode_t old = umask(0177);
	int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int err = r < 0 ? -errno : 0;

	umask(old);
	return err;
}

/*
 * Something is at the path already. A socket on which connect() is refused
 * was left by a process that died: remove it. Anything else stays.
 */
static int remove_stale(struct api *a, const struct sockaddr_un *sa, const char *path)
{
	struct stat st;
	int probe, r, err;

	if (fstatat(a->dir_fd, a->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("cannot create the API socket '%s': the file exists and is not a socket", path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	err = r < 0 ? errno : 0;
	close(probe);
	if (err != ECONNREFUSED) {
		/* Accepted, or queued (EAGAIN: its backlog is full): a process serves it. */
		log_err("cannot create the API socket '%s': another process answers on it (another ember?); choose another path",
			path);
		return -EADDRINUSE;
	}
	if (unlinkat(a->dir_fd, a->name, 0) < 0)
		return -errno;
	log_info("replaced the stale API socket '%s'", path);
	return 0;
}

static int create_socket(struct api *a, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->listen_fd < 0)
		return -errno;
	err = bind_private(a->listen_fd, &sa);
	if (err == -EADDRINUSE) {
		err = remove_stale(a, &sa, path);
		if (err)
			return err;
		err = bind_private(a->listen_fd, &sa);
		if (err == -EADDRINUSE) /* someone else took the path meanwhile */
			log_err("cannot create the API socket '%s': another process made it first", path);
	}
	if (!err && listen(a->listen_fd, API_MAX_CLIENTS) < 0) {
		err = -errno;
		unlinkat(a->dir_fd, a->name, 0);
	}
	return err;
}

/* The table of clients, every slot free. */
static int api_open_clients(struct api *a)
{
	a->client = calloc(API_MAX_CLIENTS, sizeof(*a->client));
	if (!a->client) {
		log_err("out of memory for the API's clients");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		a->client[i].fd = -1;
	return 0;
}

int api_open(struct api *a, const char *path)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->listen_fd = a->dir_fd = -1;
	a->uid = geteuid();
	if (!path)
		return api_open_clients(a);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_err("--api path '%s' is too long: a unix socket path has at most 107 bytes", path);
		return -ENAMETOOLONG;
	}
	err = api_open_clients(a);
	if (!err)
		err = open_dir(a, path);
	if (!err)
		err = create_socket(a, path);
	if (err) {
		/* remove_stale() said why it left a file that is there. */
		if (err != -EEXIST && err != -EADDRINUSE)
			log_err("cannot create the API socket '%s': %s", path,
				err == -EISDIR ? "the path names a directory" : strerror(-err));
		if (a->listen_fd >= 0)
			close(a->listen_fd);
		a->listen_fd = -1; /* the file, if any, is not ours */
		api_close(a);
		return err;
	}
	return 0;
}

void api_attach(struct api *a, const struct api_vm *vm)
{
	a->vm = *vm;
	a->attached = true;
}

/* ---- clients: connections and output ---- */

/* One line to a client we do not keep (refused), best effort, then closed. */
static void refuse(int fd, const char *why)
{
	char buf[256];
	struct json_out o;

	json_out_init(&o, buf, sizeof(buf));
	json_begin(&o);
	json_key(&o, "id");
	json_null(&o);
	json_key(&o, "ok");
	json_bool(&o, false);
	json_key(&o, "error");
	json_cstr(&o, why);
	json_end(&o);
	if (!o.overflow && o.len < sizeof(buf) - 1) {
		buf[o.len++] = '\n';
		if (write(fd, buf, o.len) < 0)
			log_debug("API: a refused client went away first: %s", strerror(errno));
	}
	close(fd);
}

static void drop(struct api_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = c->out_len = 0;
	c->skipping = c->eof = c->waiting = false;
}

int api_add_client(struct api *a, int fd)
{
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &a->client[i];

		if (c->fd >= 0)
			continue;
		drop(c);
		c->fd = fd;
		return 0;
	}
	refuse(fd, "too many clients: at most 8 at once");
	return -EMFILE;
}

/* The peer runs as Ember's user (the socket's mode already keeps others out, but root). */
static bool peer_is_owner(const struct api *a, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && len == sizeof(cr) &&
	       cr.uid == a->uid;
}

static void accept_clients(struct api *a)
{
	/* Bounded: a full table refuses the rest, and the loop comes back for more. */
	for (unsigned int i = 0; i <= API_MAX_CLIENTS; i++) {
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("API: accept failed: %s", strerror(errno));
			return;
		}
		if (!peer_is_owner(a, fd))
			refuse(fd, "permission denied: only the user running ember may connect");
		else if (api_add_client(a, fd))
			log_info("API: a client was refused: %u are connected", API_MAX_CLIENTS);
	}
}

/* Write what waits for the client, as far as it takes it now. */
static void flush(struct api_client *c)
{
	while (c->fd >= 0 && c->out_len) {
		ssize_t n = write(c->fd, c->out, c->out_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop(c); /* gone (EPIPE: SIGPIPE is ignored) */
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

/* Queue one line for the client; one that lets its output pile up is dropped. */
static void send_line(struct api_client *c, const struct json_out *o)
{
	if (c->fd < 0)
		return;
	if (o->overflow || o->len + 1 > API_OUT_MAX - c->out_len) {
		log_info("API: a client that does not read its replies was disconnected");
		drop(c);
		return;
	}
	memcpy(c->out + c->out_len, o->buf, o->len);
	c->out_len += o->len;
	c->out[c->out_len++] = '\n';
	flush(c);
}

/* ---- replies and events ---- */

/* {"id":ID,"ok":OK  (the caller adds members and the closing brace) */
static void reply_begin(struct json_out *o, char *buf, const char *id, size_t id_len, bool ok)
{
	json_out_init(o, buf, API_REPLY_MAX);
	json_begin(o);
	json_key(o, "id");
	if (id)
		json_raw(o, id, id_len);
	else
		json_null(o);
	json_key(o, "ok");
	json_bool(o, ok);
}

static __attribute__((format(printf, 4, 5))) void reply_error(struct api_client *c, const char *id,
							       size_t id_len, const char *fmt, ...)
{
	char buf[API_REPLY_MAX], msg[256];
	struct json_out o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_begin(&o, buf, id, id_len, false);
	json_key(&o, "error");
	json_cstr(&o, msg);
	json_end(&o);
	send_line(c, &o);
}

static void reply_state(struct api_client *c, const char *id, size_t id_len, const char *state)
{
	char buf[API_REPLY_MAX];
	struct json_out o;

	reply_begin(&o, buf, id, id_len, true);
	json_key(&o, "state");
	json_cstr(&o, state);
	json_end(&o);
	send_line(c, &o);
}

/* {"event":NAME[,"reason":REASON][,"status":STATUS]} to every client. */
static void event(struct api *a, const char *name, const char *reason, int status)
{
	char buf[512];
	struct json_out o;

	json_out_init(&o, buf, sizeof(buf));
	json_begin(&o);
	json_key(&o, "event");
	json_cstr(&o, name);
	if (reason) {
		json_key(&o, "reason");
		json_cstr(&o, reason);
	}
	if (status >= 0) {
		json_key(&o, "status");
		json_int(&o, status);
	}
	json_end(&o);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		send_line(&a->client[i], &o);
}

/* ---- requests ---- */

static void cmd_status(struct api *a, struct api_client *c, const char *id, size_t id_len,
		       const struct json_object *req)
{
	(void)req;
	char buf[API_REPLY_MAX];
	struct json_out o;

	reply_begin(&o, buf, id, id_len, true);
	a->vm.status(a->vm.ctx, &o);
	json_end(&o);
	if (o.overflow)
		reply_error(c, id, id_len, "the status does not fit in a reply");
	else
		send_line(c, &o);
}

static void cmd_pause(struct api *a, struct api_client *c, const char *id, size_t id_len,
			const struct json_object *req)
{
	(void)req;
	int r = a->vm.pause(a->vm.ctx);

	if (r == -EINPROGRESS) {
		/* Answered when the last vCPU parks (pause_completed()). */
		memcpy(c->wait_id, id, id_len);
		c->wait_id_len = id_len;
		c->waiting = true;
		a->pausing = true;
		return;
	}
	if (r < 0) {
		reply_error(c, id, id_len, "cannot pause: %s", strerror(-r));
		return;
	}
	reply_state(c, id, id_len, "paused");
	if (r == 0)
		event(a, "paused", NULL, -1);
}

static void cmd_resume(struct api *a, struct api_client *c, const char *id, size_t id_len,
		const struct json_object *req)
{
	(void)req;
	int r = a->vm.resume(a->vm.ctx);

	if (r == -EBUSY) {
		reply_error(c, id, id_len, "a pause is still completing; resume once it is done");
		return;
	}
	if (r < 0) {
		reply_error(c, id, id_len, "cannot resume: %s", strerror(-r));
		return;
	}
	reply_state(c, id, id_len, "running");
	if (r == 0)
		event(a, "resumed", NULL, -1);
}

static void cmd_poweroff(struct api *a, struct api_client *c, const char *id, size_t id_len,
		const struct json_object *req)
{
	(void)req;
	reply_state(c, id, id_len, "stopping");
	a->vm.poweroff(a->vm.ctx); /* the main loop sees the stop next (api_stopping()) */
}

static void cmd_shutdown(struct api *a, struct api_client *c, const char *id, size_t id_len,
		const struct json_object *req)
{
	(void)req;
	int r = a->vm.shutdown(a->vm.ctx);

	if (r < 0)
		reply_error(c, id, id_len, "cannot press the power button: %s", strerror(-r));
	else
		reply_state(c, id, id_len, "running");
}

/* snapshot: {"dir": "/abs/path", "stop": true|false (optional)} */
static void cmd_snapshot(struct api *a, struct api_client *c, const char *id, size_t id_len,
			 const struct json_object *req)
{
	const struct json_value *dir = json_get(req, "dir"), *stop = json_get(req, "stop");
	char buf[API_REPLY_MAX], why[256] = "";
	struct json_out o;
	int r;

	if (!dir || dir->type != JSON_STRING || dir->s[0] != '/' || dir->len >= 4096) {
		reply_error(c, id, id_len, "snapshot needs dir, an absolute path to an existing directory");
		return;
	}
	if (stop && stop->type != JSON_TRUE && stop->type != JSON_FALSE) {
		reply_error(c, id, id_len, "stop must be true or false");
		return;
	}
	/* Optional in struct api_vm: its users other than run.c (tests, fuzz target) leave it out. */
	if (!a->vm.snapshot) {
		reply_error(c, id, id_len, "cannot take the snapshot: not supported here");
		return;
	}
	reply_begin(&o, buf, id, id_len, true);
	r = a->vm.snapshot(a->vm.ctx, dir->s, stop && stop->type == JSON_TRUE, &o, why, sizeof(why));
	json_end(&o);
	if (r < 0)
		reply_error(c, id, id_len, "cannot take the snapshot: %s", why[0] ? why : strerror(-r));
	else
		send_line(c, &o);
}

static const struct {
	const char *name;
	void (*fn)(struct api *a, struct api_client *c, const char *id, size_t id_len,
		   const struct json_object *req);
	const char *members[2]; /* what the request may carry besides id and cmd */
} cmds[] = {
	{ "status", cmd_status, { NULL } },	    { "pause", cmd_pause, { NULL } },
	{ "resume", cmd_resume, { NULL } },	    { "shutdown", cmd_shutdown, { NULL } },
	{ "poweroff", cmd_poweroff, { NULL } },	    { "snapshot", cmd_snapshot, { "dir", "stop" } },
};

/* The request's id as JSON text for the reply (`buf`), or why it cannot be used. */
static const char *request_id(const struct json_object *req, char *buf, size_t size,
			      size_t *len)
{
	const struct json_value *v = json_get(req, "id");
	struct json_out o;

	if (!v)
		return "the request has no id";
	if (v->type != JSON_NUMBER && v->type != JSON_STRING)
		return "id must be a number or a string";
	if (v->len > API_ID_MAX)
		return "id is longer than 128 bytes";
	json_out_init(&o, buf, size);
	if (v->type == JSON_NUMBER)
		json_raw(&o, v->s, v->len);
	else
		json_str(&o, v->s, v->len);
	*len = o.len;
	return o.overflow ? "id is too long" : NULL;
}

static bool allowed(const char *name, const char *const members[2])
{
	if (!strcmp(name, "id") || !strcmp(name, "cmd"))
		return true;
	for (unsigned int i = 0; i < 2; i++)
		if (members[i] && !strcmp(name, members[i]))
			return true;
	return false;
}

/* A member command cmd does not know, or NULL. */
static const char *unknown_member(const struct json_object *req, const char *const members[2])
{
	for (unsigned int i = 0; i < req->n; i++)
		if (!allowed(req->m[i].name, members))
			return req->m[i].name;
	return NULL;
}

/* One request line (without its newline); parsed in place. */
static void handle_line(struct api *a, struct api_client *c, char *line, size_t len)
{
	char id[sizeof(c->wait_id)];
	const struct json_value *cmd;
	struct json_object req;
	struct json_error e;
	const char *why, *extra;
	size_t id_len = 0;

	if (json_parse(line, len, &req, &e)) {
		reply_error(c, NULL, 0, "malformed request at byte %zu: %s", e.at, e.what);
		return;
	}
	why = request_id(&req, id, sizeof(id), &id_len);
	if (why) {
		reply_error(c, NULL, 0, "%s", why);
		return;
	}
	cmd = json_get(&req, "cmd");
	if (!cmd || cmd->type != JSON_STRING) {
		reply_error(c, id, id_len, "cmd (a string) is missing");
		return;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd->s, cmds[i].name))
			continue;
		extra = unknown_member(&req, cmds[i].members);
		if (extra)
			reply_error(c, id, id_len, "unknown member '%.32s'", extra);
		else
			cmds[i].fn(a, c, id, id_len, &req);
		return;
	}
	reply_error(c, id, id_len,
		    "unknown cmd '%.32s' (status, pause, resume, shutdown, poweroff, snapshot)", cmd->s);
}

/* Drop the first `n` bytes of the client's input. */
static void consume(struct api_client *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* No complete line, and the buffer is full: the line is too long. */
static void too_long(struct api_client *c)
{
	if (!c->skipping)
		reply_error(c, NULL, 0, "request line longer than %d bytes", API_LINE_MAX);
	c->skipping = true; /* up to its newline */
	c->in_len = 0;
}

/* Answer the complete lines received, while replies have room and no pause reply is owed. */
static void serve_lines(struct api *a, struct api_client *c)
{
	while (c->fd >= 0 && c->in_len && !c->waiting && !a->stopping && a->attached &&
	       API_OUT_MAX - c->out_len >= API_REPLY_MAX) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t len;

		if (!nl) {
			if (c->in_len == sizeof(c->in))
				too_long(c);
			else if (c->eof)
				c->in_len = 0; /* cut off by the end of the input: not a request */
			break;		       /* else the rest of the line is still to come */
		}
		len = (size_t)(nl - c->in);
		if (!c->skipping)
			handle_line(a, c, c->in, len);
		if (c->fd < 0)
			return; /* gone while it was answered (EPIPE, output full): nothing left */
		c->skipping = false;
		consume(c, len + 1);
	}
	/* A client that is done and owed nothing is closed. */
	if (c->fd >= 0 && c->eof && !c->in_len && !c->waiting && !c->out_len)
		drop(c);
}

static void read_client(struct api *a, struct api_client *c)
{
	size_t room = sizeof(c->in) - c->in_len;
	ssize_t n;

	/* serve_lines() never leaves the buffer full; a read of 0 bytes would look like EOF. */
	if (room) {
		n = read(c->fd, c->in + c->in_len, room);
		if (n == 0)
			c->eof = true;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			drop(c);
		else if (n > 0)
			c->in_len += (size_t)n;
	}
	serve_lines(a, c);
}

/* The VM's pause fd became readable: answer the owed pause replies once it is paused. */
static void pause_completed(struct api *a)
{
	int r = a->vm.pause_done(a->vm.ctx);

	if (r == -EINPROGRESS)
		return;
	a->pausing = false;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &a->client[i];

		if (c->fd < 0 || !c->waiting)
			continue;
		c->waiting = false;
		if (r)
			reply_error(c, c->wait_id, c->wait_id_len, "cannot pause: %s", strerror(-r));
		else
			reply_state(c, c->wait_id, c->wait_id_len, "paused");
	}
	if (!r)
		event(a, "paused", NULL, -1);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		serve_lines(a, &a->client[i]); /* what they sent meanwhile */
}

/* ---- the main loop's side ---- */

static void add_poll(struct api *a, struct pollfd *pfd, unsigned int max, int fd, short events,
		     int slot)
{
	if (a->poll_n >= max)
		return;
	pfd[a->poll_n] = (struct pollfd){ .fd = fd, .events = events };
	a->poll_slot[a->poll_n++] = slot;
}

unsigned int api_poll_fill(struct api *a, struct pollfd *pfd, unsigned int max)
{
	a->poll_n = 0;
	if (max > API_POLL_MAX)
		max = API_POLL_MAX;
	if (a->listen_fd >= 0 && a->attached && !a->stopping)
		add_poll(a, pfd, max, a->listen_fd, POLLIN, SLOT_LISTEN);
	if (a->pausing)
		add_poll(a, pfd, max, a->vm.pause_fd, POLLIN, SLOT_PAUSE);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		const struct api_client *c = &a->client[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		/* Read only while there is room for the replies: a client that does not read stalls itself. */
		if (!c->eof && !c->waiting && c->in_len < sizeof(c->in) &&
		    API_OUT_MAX - c->out_len >= API_REPLY_MAX)
			ev |= POLLIN;
		if (c->out_len)
			ev |= POLLOUT;
		add_poll(a, pfd, max, c->fd, ev, (int)i);
	}
	return a->poll_n;
}

static void client_ready(struct api *a, struct api_client *c, short revents)
{
	if (revents & (POLLERR | POLLNVAL)) {
		drop(c);
		return;
	}
	if (revents & POLLOUT) {
		flush(c);
		serve_lines(a, c); /* lines that waited for room */
	}
	if (c->fd >= 0 && (revents & POLLIN))
		read_client(a, c);
	else if (c->fd >= 0 && (revents & POLLHUP))
		drop(c); /* gone both ways: nothing can reach it */
}

void api_poll_ready(struct api *a, const struct pollfd *pfd, unsigned int n)
{
	if (n > a->poll_n)
		n = a->poll_n;
	for (unsigned int i = 0; i < n; i++) {
		int slot = a->poll_slot[i];

		if (!pfd[i].revents)
			continue;
		if (slot == SLOT_LISTEN)
			accept_clients(a);
		else if (slot == SLOT_PAUSE)
			pause_completed(a);
		else if (a->client[slot].fd == pfd[i].fd)
			client_ready(a, &a->client[slot], pfd[i].revents);
	}
}

void api_stopping(struct api *a, int status, const char *reason)
{
	if (!a->client || a->stopping)
		return;
	a->stopping = true;
	a->pausing = false;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &a->client[i];

		if (c->fd >= 0 && c->waiting) {
			c->waiting = false;
			reply_error(c, c->wait_id, c->wait_id_len, "the VM is stopping");
		}
	}
	if (status == EXIT_GUEST_PANIC)
		event(a, "guest-panicked", NULL, -1);
	event(a, "shutdown", reason, status);
}

void api_exit(struct api *a, int status)
{
	if (!a->client)
		return;
	a->stopping = true;
	event(a, "exit", NULL, status);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		drop(&a->client[i]); /* what they did not take now is lost */
}

void api_close(struct api *a)
{
	for (unsigned int i = 0; a->client && i < API_MAX_CLIENTS; i++)
		drop(&a->client[i]);
	free(a->client);
	a->client = NULL;
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		a->listen_fd = -1;
		/* The file is ours (we bound it): remove it through its directory. */
		if (unlinkat(a->dir_fd, a->name, 0) < 0)
			log_warn("cannot remove the API socket '%s': %s", a->name, strerror(errno));
	}
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	a->dir_fd = -1;
	a->attached = false;
}
