#pragma once
/*
 * One pass of the I/O thread's loop (vmm/evloop.c), run on the fuzzing
 * thread instead of a thread of its own: the callbacks of the sources that
 * are ready now (a paused source is not), then return. Keeps a target
 * single-threaded, so that an input always does the same thing.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "vmm/evloop.h"

static inline void io_thread_step(struct evloop *l)
{
	struct epoll_event ev[32];
	int n = epoll_wait(l->epfd, ev, 32, 0);

	for (int i = 0; i < n; i++) {
		uint32_t slot = ev[i].data.u32;
		struct evloop_src s;

		if (slot >= EVLOOP_MAX_SRCS)
			continue; /* the stop eventfd */
		pthread_mutex_lock(&l->lock);
		s = l->src[slot];
		pthread_mutex_unlock(&l->lock);
		if (s.fn)
			s.fn(s.ctx, ev[i].events);
	}
}
