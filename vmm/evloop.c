#include "vmm/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define SLOT_STOP UINT32_MAX
#define SLOT_PARK (UINT32_MAX - 1)
#define PARK_TIMEOUT_S 5

int evloop_init(struct evloop *l)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->stop_fd = l->park_fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->park_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0 || l->park_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = SLOT_STOP }) < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->park_fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = SLOT_PARK }) < 0) {
		err = -errno;
		evloop_destroy(l);
		return err;
	}
	err = -pthread_mutex_init(&l->lock, NULL);
	if (!err)
		err = -pthread_cond_init(&l->park_cond, NULL);
	return err;
}

void evloop_destroy(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	if (l->park_fd >= 0)
		close(l->park_fd);
	l->epfd = l->stop_fd = l->park_fd = -1;
}

int evloop_add(struct evloop *l, int fd, evloop_fn fn, void *ctx)
{
	int slot = -1, err = 0;

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < EVLOOP_MAX_SRCS; i++) {
		if (!l->src[i].fn) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		err = -ENOSPC;
	} else {
		l->src[slot] = (struct evloop_src){ fd, fn, ctx };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t)slot }) < 0) {
			err = -errno;
			l->src[slot].fn = NULL;
		} else {
			l->nr_srcs++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return err;
}

void evloop_del(struct evloop *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < EVLOOP_MAX_SRCS; i++) {
		if (l->src[i].fn && l->src[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->src[i].fn = NULL;
			l->nr_srcs--;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

bool evloop_has_sources(struct evloop *l)
{
	bool any;

	pthread_mutex_lock(&l->lock);
	any = l->nr_srcs > 0;
	pthread_mutex_unlock(&l->lock);
	return any;
}

void evloop_set_events(struct evloop *l, int fd, uint32_t events)
{
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < EVLOOP_MAX_SRCS; i++) {
		if (l->src[i].fn && l->src[i].fd == fd) {
			struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)i };

			epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
		}
	}
	pthread_mutex_unlock(&l->lock);
}

/* I/O thread: while a park is asked for, wait parked. */
static void wait_parked(struct evloop *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->park_req) {
		l->parked = true;
		pthread_cond_broadcast(&l->park_cond);
		while (l->park_req)
			pthread_cond_wait(&l->park_cond, &l->lock);
		l->parked = false;
	}
	pthread_mutex_unlock(&l->lock);
}

/* I/O thread: a park was asked for; wait until it is lifted. */
static void park(struct evloop *l)
{
	uint64_t n;

	if (read(l->park_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: a park already served; the flag below decides. */
	}
	wait_parked(l);
}

static void *loop(void *arg)
{
	struct evloop *l = arg;
	struct epoll_event ev[32];

	if (l->thread_init && l->thread_init(l->thread_init_ctx))
		return NULL;
	wait_parked(l); /* evloop_start_parked(): until evloop_unpark() */
	for (;;) {
		int n = epoll_wait(l->epfd, ev, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint32_t slot = ev[i].data.u32;
			struct evloop_src s;

			if (slot == SLOT_STOP)
				return NULL;
			if (slot == SLOT_PARK) {
				park(l);
				continue;
			}
			pthread_mutex_lock(&l->lock);
			s = l->src[slot];
			pthread_mutex_unlock(&l->lock);
			if (s.fn)
				s.fn(s.ctx, ev[i].events);
		}
	}
	return NULL;
}

int evloop_start(struct evloop *l)
{
	int err = pthread_create(&l->thread, NULL, loop, l);

	if (err)
		return -err;
	l->running = true;
	return 0;
}

int evloop_start_parked(struct evloop *l)
{
	int err;

	pthread_mutex_lock(&l->lock);
	l->park_req = true;
	pthread_mutex_unlock(&l->lock);
	err = evloop_start(l);
	if (err)
		evloop_unpark(l);
	return err;
}

void evloop_stop(struct evloop *l)
{
	uint64_t one = 1;

	if (!l->running)
		return;
	evloop_unpark(l); /* a parked thread would not see the stop */
	if (write(l->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail for a fresh eventfd; join regardless. */
	}
	pthread_join(l->thread, NULL);
	l->running = false;
}

int evloop_park(struct evloop *l)
{
	struct timespec until;
	uint64_t one = 1;
	int err = 0;

	if (!l->running)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PARK_TIMEOUT_S;
	pthread_mutex_lock(&l->lock);
	l->park_req = true;
	if (write(l->park_fd, &one, sizeof(one)) < 0)
		err = -errno;
	while (!err && !l->parked)
		err = -pthread_cond_timedwait(&l->park_cond, &l->lock, &until);
	if (err)
		l->park_req = false;
	pthread_mutex_unlock(&l->lock);
	return err;
}

void evloop_unpark(struct evloop *l)
{
	pthread_mutex_lock(&l->lock);
	l->park_req = false;
	pthread_cond_broadcast(&l->park_cond);
	pthread_mutex_unlock(&l->lock);
}
