#pragma once
/*
 * The I/O thread: an epoll loop over file descriptors (queue ioeventfds,
 * io_uring completion eventfds, tap fds), each with a callback run on this
 * thread. A stop eventfd ends it. Device work runs here, with one
 * exception: a reset the guest asks for (a status write of 0, on a vCPU
 * thread) makes a disk wait there for its requests in flight, and those
 * complete on that vCPU thread.
 *
 * A callback should do a bounded amount of work: a device with more to do
 * asks for another turn (an eventfd of its own, or EPOLLOUT on a tap) and
 * comes back after the other sources that are ready.
 *
 * Registration happens before evloop_start() or from a callback on the
 * loop itself; epoll makes later additions from other threads safe too.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*evloop_fn)(void *ctx, uint32_t events);

struct evloop_src {
	int fd;
	evloop_fn fn;
	void *ctx;
};

#define EVLOOP_MAX_SRCS 256

struct evloop {
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* guards src[] slots and the park fields */
	int park_fd;	      /* eventfd: evloop_park() asks the thread to park */
	pthread_cond_t park_cond;
	bool park_req, parked;
	struct evloop_src src[EVLOOP_MAX_SRCS];
	unsigned int nr_srcs; /* registered sources (under lock) */
	/* If set (before evloop_start), runs first on the I/O thread; nonzero ends the thread. */
	int (*thread_init)(void *ctx);
	void *thread_init_ctx;
};

__attribute__((warn_unused_result)) int evloop_init(struct evloop *l);
void evloop_destroy(struct evloop *l);

/* Watch `fd` for input; `fn(ctx, events)` runs on the I/O thread. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int evloop_add(struct evloop *l, int fd, evloop_fn fn,
						   void *ctx);
/* Stop watching `fd`. */
void evloop_del(struct evloop *l, int fd);
/* Whether any fd is watched: with none, a VM needs no I/O thread. */
bool evloop_has_sources(struct evloop *l);

/* Wake on exactly `events` (EPOLLIN, EPOLLOUT, both or none) of a registered `fd`;
 * none keeps it registered without waking on it (back-pressure). */
void evloop_set_events(struct evloop *l, int fd, uint32_t events);

__attribute__((warn_unused_result)) int evloop_start(struct evloop *l);

/*
 * Start the thread parked: it runs thread_init, then waits, running no
 * handler, until evloop_unpark(). Its start overlaps what the caller does
 * meanwhile (the VM's set-up). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int evloop_start_parked(struct evloop *l);

/*
 * Park the I/O thread between two sources (snapshot): on return it runs no
 * handler until evloop_unpark(). 0 (also with no thread running), or
 * -ETIMEDOUT if it did not park within 5 s. Not from the I/O thread.
 */
__attribute__((warn_unused_result)) int evloop_park(struct evloop *l);
void evloop_unpark(struct evloop *l);
/* Lift any park, signal the stop eventfd and join the thread. */
void evloop_stop(struct evloop *l);
