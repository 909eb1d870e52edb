#pragma once
/*
 * The API socket (`ember run --api PATH`, docs/api.md): a unix socket on
 * which the socket's owner reads the VM's status, pauses and resumes it and
 * stops it, one JSON object per line each way; events go to every client.
 *
 * Served on the main thread, from its poll loop (vmm/console.c), and never
 * blocks there: output a client does not take at once waits in its buffer,
 * and a pause is answered when the VM's pause fd says every vCPU parked.
 *
 * Every client is treated as hostile: only Ember's own user may connect
 * (mode 0600 and SO_PEERCRED); at most API_MAX_CLIENTS at once; a line
 * longer than API_LINE_MAX gets an error reply and is skipped; a partial
 * line is held only while its client is connected; malformed requests get
 * an error reply; a client that lets API_OUT_MAX bytes of replies and
 * events pile up is disconnected. A request reaches the VM only through
 * the calls of struct api_vm.
 *
 * Threads: everything here runs on the main thread; no lock. SIGPIPE must
 * be ignored (console_open() does): a client that went away is an EPIPE.
 */
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/json.h"

#define API_LINE_MAX	4096  /* a request line, without its newline */
#define API_MAX_CLIENTS 8
#define API_OUT_MAX	16384 /* replies and events waiting for one client */
#define API_REPLY_MAX	4096  /* one reply */
#define API_ID_MAX	128   /* a request id (a number's text or a string's bytes) */
#define API_POLL_MAX	(2 + API_MAX_CLIENTS) /* listening socket, pause fd, clients */

/* What the API may do to the VM: vmm/run.c binds it to struct vm, the unit tests to a fake. */
struct api_vm {
	/* Write the status reply's members (state, uptime, ...) after "id" and "ok". */
	void (*status)(void *ctx, struct json_out *o);
	/* 1: was paused; 0: paused; -EINPROGRESS: pause_done() once pause_fd is readable; -errno. */
	int (*pause)(void *ctx);
	/* 0: paused now; -EINPROGRESS: not yet. */
	int (*pause_done)(void *ctx);
	int pause_fd;
	/* 1: was running; 0: resumed; -EBUSY while a pause completes; -errno. */
	int (*resume)(void *ctx);
	/* Stop the VM now, as SIGTERM does. */
	void (*poweroff)(void *ctx);
	/* Ask the guest to shut down (ACPI power button): 0 or -errno. */
	int (*shutdown)(void *ctx);
	/*
	 * Save the VM into directory `dir` (absolute), then go on as it was, or
	 * stop with status 0 when `stop`. Synchronous (the main loop waits). 0
	 * with the reply's members (state, sizes, time) written to o, or -errno
	 * with the cause in why. NULL: the snapshot request is refused.
	 */
	int (*snapshot)(void *ctx, const char *dir, bool stop, struct json_out *o, char *why,
			size_t why_len);
	void *ctx;
};

struct api_client {
	int fd;			  /* -1: a free slot */
	char in[API_LINE_MAX + 1]; /* what came after the last newline */
	size_t in_len;
	bool skipping; /* the line was too long: its bytes are dropped up to its newline */
	bool eof;      /* the client will send nothing more */
	char out[API_OUT_MAX];
	size_t out_len;
	bool waiting; /* a pause reply is owed: its next requests wait until it is sent */
	char wait_id[API_ID_MAX * 6 + 3]; /* that request's id, as JSON */
	size_t wait_id_len;
};

struct api {
	int listen_fd;	/* -1: no socket */
	int dir_fd;	/* the socket's directory: the file is removed through it (unlinkat) */
	char name[108]; /* the socket's name in that directory */
	uid_t uid;	/* who may connect: Ember's effective uid */
	bool attached;	/* vm is set: requests are served */
	bool stopping;	/* the VM is stopping: no more requests */
	bool pausing;	/* a pause is completing: pause_fd is polled */
	struct api_vm vm;
	struct api_client *client; /* API_MAX_CLIENTS slots */
	int poll_slot[API_POLL_MAX]; /* what api_poll_fill() put in each entry */
	unsigned int poll_n;
};

/*
 * Create the socket at `path` (mode 0600) and listen. A socket file on which
 * nothing answers (left by an Ember that was killed) is replaced; a live one,
 * or a file that is not a socket, is refused. Call before any thread starts
 * (it sets the umask around bind()). Logs the cause and returns -errno.
 * `path` NULL: no socket; clients come through api_add_client() only
 * (the fuzz target).
 */
__attribute__((warn_unused_result)) int api_open(struct api *a, const char *path);

/* Serve requests against `vm` from now on (the VM runs). */
void api_attach(struct api *a, const struct api_vm *vm);

/* Take a connected client's fd (non-blocking). Returns 0, or -EMFILE when full (fd closed). */
__attribute__((warn_unused_result)) int api_add_client(struct api *a, int fd);

/* Poll entries for the main loop: up to `max`; returns how many. */
unsigned int api_poll_fill(struct api *a, struct pollfd *pfd, unsigned int max);

/* The entries api_poll_fill() gave, with their revents: accept, read, answer, write. */
void api_poll_ready(struct api *a, const struct pollfd *pfd, unsigned int n);

/*
 * The VM stops with `status` for `reason`: owed pause replies fail, events
 * "guest-panicked" (if that is why) and "shutdown" go out, and no more
 * requests are served.
 */
void api_stopping(struct api *a, int status, const char *reason);

/* Ember ends with `status`: event "exit", output flushed as far as it goes now, clients closed. */
void api_exit(struct api *a, int status);

/* Close every fd and remove the socket file. Idempotent. */
void api_close(struct api *a);
