#include "vmm/ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/json.h"
#include "vmm/log.h"

#define CTL_LINE_MAX	   65536
#define CTL_REPLY_WAIT_MS  30000 /* a pause waits for every vCPU to leave the guest */

/* Lines as they come from the socket. */
struct lines {
	int fd;
	char buf[CTL_LINE_MAX];
	size_t len;  /* bytes in buf */
	size_t used; /* of those, the line handed out last (consumed on the next call) */
};

static int connect_api(const char *path, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	err = -errno;
	close(*fd);
	*fd = -1;
	if (err == -ENOENT)
		log_err("no API socket at '%s' (is ember running with --api %s?)", path, path);
	else if (err == -ECONNREFUSED)
		log_err("nothing answers on '%s' (the ember that made it has ended)", path);
	else
		log_err("cannot connect to the API socket '%s': %s", path, strerror(-err));
	return err;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The next line, NUL-terminated, without its newline. Waits until
 * `deadline` (CLOCK_MONOTONIC ms; 0: for ever). Returns 1, 0 at the end
 * of the stream, -ETIMEDOUT, -E2BIG (a line longer than the buffer) or -errno.
 */
static int next_line(struct lines *l, char **line, long long deadline)
{
	memmove(l->buf, l->buf + l->used, l->len - l->used);
	l->len -= l->used;
	l->used = 0;
	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		long long wait = deadline ? deadline - now_ms() : -1;
		ssize_t n;

		if (nl) {
			*nl = 0;
			*line = l->buf;
			l->used = (size_t)(nl - l->buf) + 1;
			return 1;
		}
		if (l->len == sizeof(l->buf))
			return -E2BIG;
		if (deadline && (wait <= 0 || poll(&p, 1, (int)wait) == 0))
			return -ETIMEDOUT;
		n = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			l->len += (size_t)n;
	}
}

/* `events`: print every line until Ember closes the socket. */
static int print_events(struct lines *l)
{
	char *line;
	int r;

	while ((r = next_line(l, &line, 0)) > 0) {
		printf("%s\n", line);
		fflush(stdout);
	}
	if (r < 0) {
		log_err("reading events: %s", strerror(-r));
		return 1;
	}
	return 0;
}

/*
 * Ember writes replies as {"id":ID,"ok":BOOL,...} and events as
 * {"event":...}. A '"' inside a JSON string is escaped, so the first
 * ,"ok": of a reply line is its ok member.
 */
static bool is_reply(const char *line)
{
	return !strncmp(line, "{\"id\":", 6);
}

static bool reply_ok(const char *line)
{
	const char *ok = strstr(line, ",\"ok\":");

	return ok && !strncmp(ok + 6, "true", 4);
}

/*
 * snapshot DIR: the directory is made here if missing (mode 0700) and sent
 * as an absolute path, since Ember's working directory is not ours.
 */
static int snapshot_request(const struct cli_config *cfg, char *req, size_t size)
{
	struct json_out o;
	char *abs;

	if (mkdir(cfg->ctl_dir, 0700) < 0 && errno != EEXIST) {
		log_err("cannot create snapshot directory '%s': %s", cfg->ctl_dir, strerror(errno));
		return -1;
	}
	abs = realpath(cfg->ctl_dir, NULL);
	if (!abs) {
		log_err("snapshot directory '%s': %s", cfg->ctl_dir, strerror(errno));
		return -1;
	}
	json_out_init(&o, req, size - 1);
	json_begin(&o);
	json_key(&o, "id");
	json_uint(&o, 1);
	json_key(&o, "cmd");
	json_cstr(&o, "snapshot");
	json_key(&o, "dir");
	json_cstr(&o, abs);
	if (cfg->ctl_stop) {
		json_key(&o, "stop");
		json_bool(&o, true);
	}
	json_end(&o);
	free(abs);
	if (o.overflow)
		return -1;
	req[o.len] = '\n';
	return (int)o.len + 1;
}

/* Send the request and print the first reply (events before it are skipped). */
static int request(struct lines *l, const struct cli_config *cfg)
{
	const char *path = cfg->ctl_path, *cmd = cfg->ctl_cmd;
	char req[CTL_LINE_MAX], *line;
	long long deadline = now_ms() + CTL_REPLY_WAIT_MS;
	int n, r;

	/* A command ember ctl knows becomes a request with id 1; "{..." is sent as it is. */
	if (cfg->ctl_dir) {
		n = snapshot_request(cfg, req, sizeof(req));
		if (n < 0)
			return 1;
	} else {
		n = cmd[0] == '{' ? snprintf(req, sizeof(req), "%s\n", cmd)
				  : snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"%s\"}\n", cmd);
	}
	if (n < 0 || (size_t)n >= sizeof(req)) {
		log_err("the request is longer than %d bytes", CTL_LINE_MAX - 2);
		return 1;
	}
	r = send_all(l->fd, req, (size_t)n);
	while (!r && (r = next_line(l, &line, deadline)) > 0) {
		if (is_reply(line)) {
			printf("%s\n", line);
			return reply_ok(line) ? 0 : 1;
		}
		r = 0; /* an event: the reply is still to come */
	}
	if (r == 0)
		log_err("'%s' closed the connection without a reply", path);
	else if (r == -ETIMEDOUT)
		log_err("no reply from '%s' within %d s", path, CTL_REPLY_WAIT_MS / 1000);
	else
		log_err("talking to '%s': %s", path, strerror(-r));
	return 1;
}

int ctl_run(const struct cli_config *cfg)
{
	struct lines *l = calloc(1, sizeof(*l));
	int status = 1;

	signal(SIGPIPE, SIG_IGN); /* Ember gone: write() says EPIPE */
	if (!l) {
		log_err("out of memory");
		return 1;
	}
	if (!connect_api(cfg->ctl_path, &l->fd)) {
		status = !strcmp(cfg->ctl_cmd, "events") ? print_events(l)
							 : request(l, cfg);
		close(l->fd);
	}
	free(l);
	return status;
}
