/*
 * vmm/evloop: registration, callbacks on the loop's own thread, removal,
 * pausing a source, and a stop that joins the thread (a callback in
 * progress finishes first).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/evloop.h"

struct src {
	int fd;
	unsigned int calls;   /* atomic */
	unsigned int started; /* atomic: the callback began */
	pthread_t thread;
	uint32_t events;
	useconds_t linger;	 /* sleep inside the callback */
	struct evloop *loop;	 /* for callbacks that register more */
	struct src *add_on_call; /* registered from the loop thread */
};

static void on_ready(void *ctx, uint32_t events)
{
	struct src *s = ctx;
	uint64_t n;

	__atomic_store_n(&s->started, 1, __ATOMIC_SEQ_CST);
	if (read(s->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	s->thread = pthread_self();
	s->events = events;
	if (s->add_on_call) {
		ck_assert_int_eq(evloop_add(s->loop, s->add_on_call->fd, on_ready, s->add_on_call),
				 0);
		s->add_on_call = NULL;
	}
	if (s->linger)
		usleep(s->linger);
	__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
}

static void src_open(struct src *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(s->fd, 0);
}

static void signal_src(struct src *s)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(s->fd, &one, sizeof(one)), sizeof(one));
}

static unsigned int calls(struct src *s)
{
	return __atomic_load_n(&s->calls, __ATOMIC_SEQ_CST);
}

static void wait_calls(struct src *s, unsigned int n)
{
	for (int i = 0; i < 5000 && calls(s) < n; i++)
		usleep(1000);
	ck_assert_uint_eq(calls(s), n);
}

START_TEST(test_callback_on_loop_thread)
{
	struct evloop l;
	struct src s;

	src_open(&s);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), 0);
	ck_assert(!l.running);
	ck_assert_int_eq(evloop_start(&l), 0);
	ck_assert(l.running);
	signal_src(&s);
	wait_calls(&s, 1);
	ck_assert(pthread_equal(s.thread, l.thread));
	ck_assert(!pthread_equal(s.thread, pthread_self()));
	ck_assert(s.events & EPOLLIN);
	signal_src(&s);
	wait_calls(&s, 2);
	evloop_stop(&l);
	ck_assert(!l.running);
	evloop_destroy(&l);
	close(s.fd);
}
END_TEST

START_TEST(test_signal_before_start_is_served)
{
	struct evloop l;
	struct src s;

	src_open(&s);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), 0);
	signal_src(&s);
	usleep(10000);
	ck_assert_uint_eq(calls(&s), 0); /* nothing runs before the thread exists */
	ck_assert_int_eq(evloop_start(&l), 0);
	wait_calls(&s, 1);
	evloop_stop(&l);
	evloop_destroy(&l);
	close(s.fd);
}
END_TEST

START_TEST(test_del_stops_callbacks)
{
	struct evloop l;
	struct src a, b;

	src_open(&a);
	src_open(&b);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert(!evloop_has_sources(&l));
	ck_assert_int_eq(evloop_add(&l, a.fd, on_ready, &a), 0);
	ck_assert_int_eq(evloop_add(&l, b.fd, on_ready, &b), 0);
	ck_assert(evloop_has_sources(&l));
	ck_assert_int_eq(evloop_start(&l), 0);
	evloop_del(&l, a.fd);
	evloop_del(&l, 12345); /* not registered: harmless */
	ck_assert(evloop_has_sources(&l)); /* b still is */
	signal_src(&a);
	signal_src(&b);
	wait_calls(&b, 1);
	usleep(20000);
	ck_assert_uint_eq(calls(&a), 0);
	/* Added back, it is served again. */
	ck_assert_int_eq(evloop_add(&l, a.fd, on_ready, &a), 0);
	wait_calls(&a, 1); /* still readable: level-triggered */
	evloop_del(&l, a.fd);
	evloop_del(&l, b.fd);
	ck_assert(!evloop_has_sources(&l));
	evloop_stop(&l);
	evloop_destroy(&l);
	close(a.fd);
	close(b.fd);
}
END_TEST

START_TEST(test_stop_joins_the_thread)
{
	struct evloop l;
	struct src s;

	src_open(&s);
	s.linger = 100000;
	ck_assert_int_eq(evloop_init(&l), 0);
	evloop_stop(&l); /* never started: nothing to do */
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), 0);
	ck_assert_int_eq(evloop_start(&l), 0);
	signal_src(&s);
	for (int i = 0; i < 5000 && !__atomic_load_n(&s.started, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	ck_assert(__atomic_load_n(&s.started, __ATOMIC_SEQ_CST));
	evloop_stop(&l);
	ck_assert_uint_eq(calls(&s), 1); /* the callback in progress finished first */
	ck_assert(!l.running);
	/* No thread any more: nothing is served. */
	signal_src(&s);
	usleep(20000);
	ck_assert_uint_eq(calls(&s), 1);
	evloop_stop(&l); /* twice: harmless */
	evloop_destroy(&l);
	close(s.fd);
}
END_TEST

START_TEST(test_add_from_callback)
{
	struct evloop l;
	struct src a, b;

	src_open(&a);
	src_open(&b);
	a.loop = &l;
	a.add_on_call = &b;
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_add(&l, a.fd, on_ready, &a), 0);
	ck_assert_int_eq(evloop_start(&l), 0);
	signal_src(&a);
	wait_calls(&a, 1);
	signal_src(&b);
	wait_calls(&b, 1);
	ck_assert(pthread_equal(b.thread, l.thread));
	evloop_stop(&l);
	evloop_destroy(&l);
	close(a.fd);
	close(b.fd);
}
END_TEST

START_TEST(test_set_events_pauses_a_source)
{
	struct evloop l;
	struct src s;

	src_open(&s);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), 0);
	ck_assert_int_eq(evloop_start(&l), 0);
	evloop_set_events(&l, s.fd, 0);
	signal_src(&s);
	usleep(20000);
	ck_assert_uint_eq(calls(&s), 0);
	evloop_set_events(&l, s.fd, EPOLLIN); /* still readable: served at once */
	wait_calls(&s, 1);
	evloop_set_events(&l, 12345, 0); /* not registered: harmless */
	signal_src(&s);
	wait_calls(&s, 2);
	evloop_stop(&l);
	evloop_destroy(&l);
	close(s.fd);
}
END_TEST

START_TEST(test_add_errors_and_capacity)
{
	static int fds[EVLOOP_MAX_SRCS + 1];
	struct evloop l;
	struct src s;
	int n = 0, err = 0;

	src_open(&s);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_add(&l, -1, on_ready, &s), -EBADF);
	ck_assert(!evloop_has_sources(&l)); /* a failed add counts for nothing */
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), 0);
	ck_assert_int_eq(evloop_add(&l, s.fd, on_ready, &s), -EEXIST);
	ck_assert_uint_eq(l.nr_srcs, 1);
	/* Failed adds gave their slots back: 255 more fit, then the table is full. */
	while (n < EVLOOP_MAX_SRCS + 1) {
		fds[n] = eventfd(0, EFD_CLOEXEC);
		ck_assert_int_ge(fds[n], 0);
		err = evloop_add(&l, fds[n], on_ready, &s);
		n++;
		if (err)
			break;
	}
	ck_assert_int_eq(err, -ENOSPC);
	ck_assert_int_eq(n, EVLOOP_MAX_SRCS);
	ck_assert_uint_eq(l.nr_srcs, EVLOOP_MAX_SRCS);
	evloop_del(&l, fds[0]);
	ck_assert_uint_eq(l.nr_srcs, EVLOOP_MAX_SRCS - 1);
	ck_assert_int_eq(evloop_add(&l, fds[n - 1], on_ready, &s), 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	evloop_destroy(&l);
	close(s.fd);
}
END_TEST

Suite *evloop_suite(void)
{
	Suite *s = suite_create("evloop");
	TCase *tc = tcase_create("evloop");

	tcase_add_test(tc, test_callback_on_loop_thread);
	tcase_add_test(tc, test_signal_before_start_is_served);
	tcase_add_test(tc, test_del_stops_callbacks);
	tcase_add_test(tc, test_stop_joins_the_thread);
	tcase_add_test(tc, test_add_from_callback);
	tcase_add_test(tc, test_set_events_pauses_a_source);
	tcase_add_test(tc, test_add_errors_and_capacity);
	suite_add_tcase(s, tc);
	return s;
}
