/*
 * virtio-blk's share of the I/O thread: DISCARD and WRITE_ZEROES within the
 * sizes the device advertises, zeros the file system cannot write for us
 * (tmpfs has no FALLOC_FL_ZERO_RANGE) written a slice a turn, and a queue the
 * guest keeps full (cheap GET_IDs) that must leave other disks served. Two
 * disks share one event loop, as in Ember; their kicks come through eventfds
 * on it, as the transport's ioeventfds do.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

#define MAX_SECTORS (1U << 22) /* what the device advertises for both */

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A sparse image of `size` bytes in `dir` (the pattern in its first 64 KiB), opened on `loop`. */
static void open_in(struct bfx *f, const char *dir, uint64_t size, bool sync, struct evloop *loop)
{
	uint8_t buf[BFX_IMAGE];
	int fd;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/ember-blk-XXXXXX", dir);
	fd = mkstemp(f->path);
	ck_assert_int_ge(fd, 0);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = bfx_pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	f->size = size;
	f->shared_loop = loop;
	ck_assert_int_eq(bfx_try_open(f, false, sync, NULL), 0);
}

/* A kick as the transport delivers it: an eventfd the I/O thread reads, then queue_notify. */
struct kicker {
	int fd;
	struct bfx *f;
	unsigned int served; /* atomic */
};

static void kick_ready(void *ctx, uint32_t events)
{
	struct kicker *k = ctx;
	uint64_t n;

	(void)events;
	if (read(k->fd, &n, sizeof(n)) == sizeof(n)) {
		bfx_kick(k->f);
		__atomic_fetch_add(&k->served, 1, __ATOMIC_RELAXED);
	}
}

static void kicker_add(struct kicker *k, struct evloop *l, struct bfx *f)
{
	k->f = f;
	k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(k->fd, 0);
	ck_assert_int_eq(evloop_add(l, k->fd, kick_ready, k), 0);
}

static void kick(struct kicker *k)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(k->fd, &one, sizeof(one)), sizeof(one));
}

/* One segment request (DISCARD / WRITE_ZEROES) published, not kicked. */
static void publish_seg(struct bfx *f, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = { .sector = sector, .num_sectors = num,
						       .flags = flags };
	uint64_t hdr = bfx_hdr(f, type, 0), seg_gpa = BFX_SEGS + 16ULL * f->nreq;
	struct fake_seg s[3] = { { hdr, 16, F_R }, { seg_gpa, sizeof(seg), F_R },
				 { bfx_status(f), 1, F_W } };

	ck_assert_int_eq(gm_write(&f->m, seg_gpa, &seg, sizeof(seg)), 0);
	bfx_publish(f, s, 3);
}

/* A 4 KiB read of sector 0 into BFX_DATA, published, not kicked. */
static void publish_read(struct bfx *f)
{
	struct fake_seg s[3] = { { bfx_hdr(f, VIRTIO_BLK_T_IN, 0), 16, F_R },
				 { BFX_DATA, 4096, F_W },
				 { bfx_status(f), 1, F_W } };

	bfx_publish(f, s, 3);
}

static uint8_t last_status(struct bfx *f)
{
	return bfx_get8(f, BFX_STATUS + f->nreq - 1);
}

/*
 * One sector more than advertised is refused (IOERR) and the image is left
 * alone; exactly the maximum is done. _i: DISCARD, WRITE_ZEROES, WRITE_ZEROES
 * with UNMAP.
 */
START_TEST(test_discard_and_zeroes_beyond_max_refused)
{
	uint32_t type = _i ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_DISCARD;
	uint32_t flags = _i == 2 ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	struct bfx f;

	open_in(&f, "/tmp", 3ULL << 30, true, NULL);
	ck_assert_uint_eq(f.b.cfg.max_discard_sectors, MAX_SECTORS);
	ck_assert_uint_eq(f.b.cfg.max_write_zeroes_sectors, MAX_SECTORS);
	ck_assert_uint_eq(bfx_discard(&f, type, 0, MAX_SECTORS + 1, flags), VIRTIO_BLK_S_IOERR);
	ck_assert(bfx_file_is_pattern(&f, 0, BFX_IMAGE));
	ck_assert_uint_eq(bfx_discard(&f, type, 0, 1, flags), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_zero(&f, 0, 512));
	ck_assert(bfx_file_is_pattern(&f, 512, BFX_IMAGE - 512));
	bfx_close(&f);
}
END_TEST

/*
 * WRITE_ZEROES of 128 MiB on tmpfs (no ZERO_RANGE: Ember writes the zeros)
 * while a second disk on the same loop is asked for a read: the read must
 * not wait for all the zeros. _i: disk A with io_uring, with aio=sync.
 */
START_TEST(test_zero_fallback_leaves_other_disks_served)
{
	const uint32_t sectors = 128u << 11;
	struct kicker ka, kb;
	struct evloop loop;
	struct bfx a, b;
	uint64_t t0, ta = 0, tb = 0;
	bool a_first = false;

	ck_assert_int_eq(evloop_init(&loop), 0);
	open_in(&a, "/dev/shm", 256ULL << 20, _i, &loop);
	open_in(&b, "/tmp", BFX_IMAGE, false, &loop);
	kicker_add(&ka, &loop, &a);
	kicker_add(&kb, &loop, &b);
	ck_assert_int_eq(evloop_start(&loop), 0);
	publish_seg(&a, VIRTIO_BLK_T_WRITE_ZEROES, 0, sectors, 0);
	t0 = mono_ns();
	kick(&ka);
	usleep(1000); /* the I/O thread has started on the zeros */
	publish_read(&b);
	kick(&kb);
	while ((!ta || !tb) && mono_ns() - t0 < 20000000000ULL) {
		if (!ta && bfx_used_idx(&a) == 1)
			ta = mono_ns();
		if (!tb && bfx_used_idx(&b) == 1) {
			tb = mono_ns();
			a_first = bfx_used_idx(&a) == 1;
		}
		usleep(200);
	}
	ck_assert_msg(ta && tb, "not done after 20 s");
	ck_assert_msg(!a_first, "the read on disk B waited for all of A's zeros (%.1f ms; A: %.1f ms)",
		      (double)(tb - t0) / 1e6, (double)(ta - t0) / 1e6);
	evloop_stop(&loop);
	ck_assert_uint_eq(last_status(&a), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(last_status(&b), VIRTIO_BLK_S_OK);
	ck_assert(bfx_guest_is_pattern(&b, BFX_DATA, 0, 4096));
	ck_assert(bfx_file_is_zero(&a, 0, BFX_IMAGE));
	ck_assert(bfx_file_is_zero(&a, (uint64_t)sectors * 512 - 4096, 4096));
	bfx_close(&a);
	bfx_close(&b);
	close(ka.fd);
	close(kb.fd);
	evloop_destroy(&loop);
}
END_TEST

/* Two WRITE_ZEROES that both need the fallback: the second waits its turn, both are done. */
START_TEST(test_zero_fallback_two_requests)
{
	struct kicker ka;
	struct evloop loop;
	struct bfx a;

	ck_assert_int_eq(evloop_init(&loop), 0);
	open_in(&a, "/dev/shm", 64ULL << 20, false, &loop);
	kicker_add(&ka, &loop, &a);
	ck_assert_int_eq(evloop_start(&loop), 0);
	publish_seg(&a, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8192, 0);
	publish_seg(&a, VIRTIO_BLK_T_WRITE_ZEROES, 16384, 8192, 0);
	publish_read(&a);
	kick(&ka);
	bfx_wait_used(&a, 3);
	evloop_stop(&loop);
	for (unsigned int i = 0; i < 3; i++)
		ck_assert_uint_eq(bfx_get8(&a, BFX_STATUS + 2 * i + 1), VIRTIO_BLK_S_OK);
	ck_assert(bfx_file_is_zero(&a, 0, BFX_IMAGE));
	ck_assert(bfx_file_is_zero(&a, 16384 * 512, 8192 * 512));
	bfx_close(&a);
	close(ka.fd);
	evloop_destroy(&loop);
}
END_TEST

/* ---- a flooded queue ---- */

#define FLOOD_CHAINS 64

struct flood {
	struct bfx *f;
	struct kicker *kick;
	uint16_t head[FLOOD_CHAINS];
	int stop; /* atomic */
	unsigned long posted;
};

/*
 * Keep FLOOD_CHAINS GET_IDs outstanding, reposting each one that completed,
 * and kick when the device asked for it (EVENT_IDX's avail_event).
 */
static void flood_top_up(struct flood *fl)
{
	uint16_t done = bfx_used_idx(fl->f), old = fl->f->v.avail_idx, ev;

	while ((uint16_t)(fl->f->v.avail_idx - done) < FLOOD_CHAINS) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		fake_vring_publish(&fl->f->v, fl->head[fl->posted % FLOOD_CHAINS]);
		__atomic_store_n(&fl->posted, fl->posted + 1, __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the index before avail_event (the device's pair) */
	ev = fake_vring_avail_event(&fl->f->v);
	if (fl->kick && (uint16_t)(fl->f->v.avail_idx - ev - 1) < (uint16_t)(fl->f->v.avail_idx - old))
		kick(fl->kick);
}

/* The hostile driver: tops the ring up for ever. */
static void *flood_thread(void *arg)
{
	struct flood *fl = arg;

	while (!__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE))
		flood_top_up(fl);
	return NULL;
}

/*
 * Disk A's guest keeps its ring full of GET_IDs (no system call each, so the
 * I/O thread can take them as fast as they come); disk B's read must still
 * be served promptly. _i: A with io_uring, with aio=sync.
 */
START_TEST(test_flooded_queue_leaves_other_disks_served)
{
	struct kicker ka, kb;
	struct evloop loop;
	struct flood fl = { 0 };
	struct bfx a, b;
	pthread_t th;
	uint64_t t0, tb = 0;

	ck_assert_int_eq(evloop_init(&loop), 0);
	memset(&a, 0, sizeof(a));
	bfx_image(&a, BFX_IMAGE);
	a.event_idx = true; /* and a long poll window: the device keeps looking at the ring */
	a.poll_us = 1000;
	a.shared_loop = &loop;
	ck_assert_int_eq(bfx_try_open(&a, false, _i, NULL), 0);
	open_in(&b, "/tmp", BFX_IMAGE, false, &loop);
	kicker_add(&ka, &loop, &a);
	kicker_add(&kb, &loop, &b);
	for (unsigned int i = 0; i < FLOOD_CHAINS; i++) {
		struct fake_seg s[3] = { { bfx_hdr(&a, VIRTIO_BLK_T_GET_ID, 0), 16, F_R },
					 { BFX_DATA + 32 * i, 20, F_W },
					 { bfx_status(&a), 1, F_W } };

		fl.head[i] = fake_vring_chain(&a.v, (uint16_t)(3 * i), s, 3);
	}
	fl.f = &a;
	fl.kick = &ka;
	ck_assert_int_eq(evloop_start(&loop), 0);
	flood_top_up(&fl); /* before the kick: the kick finds work */
	ck_assert_int_eq(pthread_create(&th, NULL, flood_thread, &fl), 0);
	kick(&ka);
	/* The flood is under way (the flooder was scheduled and sees completions). */
	for (int i = 0; i < 2000 && __atomic_load_n(&fl.posted, __ATOMIC_RELAXED) < 10 * FLOOD_CHAINS; i++)
		usleep(1000);
	publish_read(&b);
	t0 = mono_ns();
	kick(&kb);
	/* Sleeping, not spinning: on two CPUs a third spinner would preempt the flood. */
	while (!tb && mono_ns() - t0 < 3000000000ULL) {
		if (bfx_used_idx(&b) == 1)
			tb = mono_ns();
		else
			usleep(500);
	}
	__atomic_store_n(&fl.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (!tb) {
		bfx_wait_used(&b, 1);
		tb = mono_ns();
	}
	ck_assert_msg(tb - t0 < 200000000ULL,
		      "disk B's read took %.0f ms while disk A was flooded", (double)(tb - t0) / 1e6);
	ck_assert_msg(fl.posted >= 10 * FLOOD_CHAINS, "the flood did not flow: %lu GET_IDs, used %u, kicks %llu", fl.posted, bfx_used_idx(&a), (unsigned long long)__atomic_load_n(&ka.served, __ATOMIC_RELAXED));
	evloop_stop(&loop);
	ck_assert_uint_eq(last_status(&b), VIRTIO_BLK_S_OK);
	bfx_close(&a);
	bfx_close(&b);
	close(ka.fd);
	close(kb.fd);
	evloop_destroy(&loop);
}
END_TEST

void blk_turn_tcases(Suite *s)
{
	TCase *tc = tcase_create("turns");

	tcase_add_loop_test(tc, test_discard_and_zeroes_beyond_max_refused, 0, 3);
	tcase_add_loop_test(tc, test_zero_fallback_leaves_other_disks_served, 0, 2);
	tcase_add_test(tc, test_zero_fallback_two_requests);
	tcase_add_loop_test(tc, test_flooded_queue_leaves_other_disks_served, 0, 2);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
}
