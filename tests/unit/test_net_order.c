/*
 * virtio/net receive, as a driver on another CPU sees it: when the used
 * index moves, the frames it covers must be complete (header with its final
 * num_buffers, every buffer of a merged frame listed). A race cannot be
 * relied on to show this, so the used ring's page is made read-only: each
 * device write to it traps (SIGSEGV), runs single-stepped (the x86 trap
 * flag), and the trap handler records the used index and write-protects
 * the page again. Everything happens on the test thread (kicks, no loop).
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "tests/unit/test_net.h"

#if defined(__x86_64__)

#define EFLAGS_TF 0x100
#define WATCH_MAX 16

/* Signal handlers get no context pointer: the watch is file state, used by one test at a time. */
static struct {
	uint8_t *page;
	size_t page_size;
	const volatile uint16_t *used_idx;
	const volatile uint8_t *nbuf; /* num_buffers of the buffer the frame starts in */
	unsigned int faults;
	uint16_t nbuf_at_first_write; /* num_buffers when the device first wrote the used ring */
	uint16_t last, pub[WATCH_MAX];
	unsigned int npub; /* used index values in the order they appeared */
	struct sigaction old_segv, old_trap;
} w;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *a = si->si_addr;

	if (a < w.page || a >= w.page + w.page_size) {
		sigaction(sig, &w.old_segv, NULL); /* not ours: fault again, unhandled */
		return;
	}
	if (!w.faults++)
		w.nbuf_at_first_write = (uint16_t)(w.nbuf[0] | w.nbuf[1] << 8);
	mprotect(w.page, w.page_size, PROT_READ | PROT_WRITE);
	uc->uc_mcontext.gregs[REG_EFL] |= EFLAGS_TF; /* one instruction, then on_trap */
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint16_t now = *w.used_idx;

	(void)sig, (void)si;
	uc->uc_mcontext.gregs[REG_EFL] &= ~EFLAGS_TF;
	if (now != w.last && w.npub < WATCH_MAX)
		w.pub[w.npub++] = now;
	w.last = now;
	mprotect(w.page, w.page_size, PROT_READ);
}

static void watch(struct nfx *f, uint64_t first_buf)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO };
	uint64_t bytes = fake_vring_used_bytes(f->rx.size);
	uint8_t *used = nfx_host(f, f->rx.used, bytes);
	uintptr_t mask;

	memset(&w, 0, sizeof(w));
	w.page_size = (size_t)sysconf(_SC_PAGESIZE);
	mask = ~(uintptr_t)(w.page_size - 1);
	w.page = (uint8_t *)((uintptr_t)used & mask);
	/* The whole used ring in one page, so every write to it is seen. */
	ck_assert_ptr_eq(w.page, (uint8_t *)((uintptr_t)(used + bytes - 1) & mask));
	w.used_idx = (const volatile uint16_t *)(used + 2);
	w.last = *w.used_idx;
	w.nbuf = nfx_host(f, first_buf + offsetof(struct virtio_net_hdr_v1, num_buffers), 2);
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = on_segv;
	ck_assert_int_eq(sigaction(SIGSEGV, &sa, &w.old_segv), 0);
	sa.sa_sigaction = on_trap;
	ck_assert_int_eq(sigaction(SIGTRAP, &sa, &w.old_trap), 0);
	ck_assert_int_eq(mprotect(w.page, w.page_size, PROT_READ), 0);
}

static void unwatch(void)
{
	ck_assert_int_eq(mprotect(w.page, w.page_size, PROT_READ | PROT_WRITE), 0);
	sigaction(SIGSEGV, &w.old_segv, NULL);
	sigaction(SIGTRAP, &w.old_trap, NULL);
	ck_assert_uint_gt(w.faults, 0); /* the watch saw the device write */
}

static const struct virtio_net_hdr_v1 stale = { .num_buffers = 0x7777 };

/* One frame in one buffer: num_buffers is 1 before the used entry can be seen. */
START_TEST(test_rx_header_final_before_used)
{
	uint64_t gpa;
	struct nfx f;

	nfx_open(&f, _i ? NFX_MRG : 0);
	gpa = f.buf_next;
	nfx_post_rx(&f, 2048);
	nfx_send(&f, &stale, 1, 100);
	watch(&f, gpa);
	nfx_kick(&f, RXQ);
	unwatch();
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 1);
	ck_assert_msg(w.nbuf_at_first_write == 1,
		      "num_buffers was %#x when the device first wrote the used ring",
		      w.nbuf_at_first_write);
	ck_assert_uint_eq(w.npub, 1);
	ck_assert_uint_eq(w.pub[0], 1);
	nfx_close(&f);
}
END_TEST

/* A frame over three mergeable buffers appears at once, num_buffers already 3. */
START_TEST(test_rx_merged_frame_published_whole)
{
	uint64_t gpa;
	struct nfx f;

	nfx_open(&f, NFX_MRG | NFX_TSO4);
	gpa = f.buf_next;
	for (unsigned int i = 0; i < 48; i++)
		nfx_post_rx(&f, 1536);
	nfx_send(&f, &stale, 2, 4000);
	watch(&f, gpa);
	nfx_kick(&f, RXQ);
	unwatch();
	ck_assert_uint_eq(nfx_used_idx(&f, RXQ), 3);
	ck_assert_msg(w.nbuf_at_first_write == 3,
		      "num_buffers was %#x when the device first wrote the used ring",
		      w.nbuf_at_first_write);
	ck_assert_msg(w.npub == 1 && w.pub[0] == 3,
		      "the used index went through %u values (first %u): a driver can see part of "
		      "a merged frame",
		      w.npub, w.pub[0]);
	nfx_close(&f);
}
END_TEST

void net_order_tcases(Suite *s)
{
	TCase *tc = tcase_create("publication order");

	tcase_add_loop_test(tc, test_rx_header_final_before_used, 0, 2);
	tcase_add_test(tc, test_rx_merged_frame_published_whole);
	suite_add_tcase(s, tc);
}

#else

void net_order_tcases(Suite *s)
{
	(void)s; /* the watch needs the x86 trap flag */
}

#endif
