/*
 * Crash consistency: tests/guests/run.sh kills Ember with SIGKILL once this
 * guest says its FLUSH completed, then checks that the image holds every
 * sector written before the FLUSH.
 *
 * The guest writes PRE sectors (sector s filled with the word WORD + s) as
 * REQS requests, queues a FLUSH behind them and kicks once, so the FLUSH
 * reaches the device while the writes are still in flight. It waits for the
 * FLUSH only, and reports how many of the writes had completed by then:
 * all of them, if the FLUSH waited for the writes submitted before it. Then
 * "FLUSHED <PRE>", and from there on it writes other data to other sectors
 * in a loop, never flushing, until it is killed.
 *
 * Uses the queue and buffer helpers of hostile.h. The disk must be at least
 * 2 * PRE sectors.
 */
#include "hostile.h"

#define PRE 512u			/* sectors written before the FLUSH */
#define REQS 32u			/* ... in requests of PRE / REQS sectors */
#define PER (PRE / REQS)
#define WORD 0xc0000000u
#define BUF 0x800000u			/* PRE sectors of pattern */
#define LOOP_BUF 0x900000u		/* what the loop writes */
#define LOOP_WORD 0xd0d0d0d0u
#define QSIZE 256

static int submit_write(struct hdisk *d, unsigned int r, uint32_t sector, uint32_t buf)
{
	struct vbuf b = { buf, PER * SECTOR_SIZE, 0 };
	int head = vblk_submit(&d->q, h_req(d, r), VIRTIO_BLK_T_OUT, sector, &b, 1, 0);

	if (head < 0)
		fail(3, r);
	return head;
}

/* Write other sectors for ever, REQS requests in flight at a time. */
static __attribute__((noreturn)) void keep_writing(struct hdisk *d)
{
	uint32_t next = PRE, len;

	h_fill(LOOP_BUF, LOOP_WORD, PER * SECTOR_SIZE);
	for (;;) {
		for (unsigned int r = 0; r < REQS && d->q.num_free >= 3; r++) {
			submit_write(d, r, next, LOOP_BUF);
			next = next + PER < 2 * PRE ? next + PER : PRE;
		}
		virtq_kick(&d->q);
		while (virtq_get(&d->q, &len) >= 0)
			;
		__asm__ volatile("pause");
	}
}

void guest_main(void)
{
	struct hctx c;
	struct hdisk *d = &c.a;
	int flush, id, heads[REQS];
	unsigned int before = 0, r;
	uint32_t len;

	hostile_start(&c, 1, 1);
	if (d->sectors < 2 * PRE)
		fail(2, d->sectors);
	if (h_up(d, H_FEATURES, QSIZE))
		fail(2, 0);
	for (uint32_t s = 0; s < PRE; s++)
		h_fill(BUF + s * SECTOR_SIZE, WORD + s, SECTOR_SIZE);
	for (r = 0; r < REQS; r++)
		heads[r] = submit_write(d, r, r * PER, BUF + r * PER * SECTOR_SIZE);
	flush = vblk_submit(&d->q, h_req(d, REQS), VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	if (flush < 0)
		fail(3, REQS);
	virtq_kick(&d->q);
	while ((id = virtq_wait(&d->q, &len, VIRTQ_TIMEOUT)) != flush) {
		if (id < 0)
			fail(4, (uint32_t)id);
		for (r = 0; r < REQS && heads[r] != id; r++)
			;
		if (r == REQS || h_req(d, r)->status != VIRTIO_BLK_S_OK)
			fail(5, (uint32_t)id);
		before++;
	}
	if (h_req(d, REQS)->status != VIRTIO_BLK_S_OK)
		fail(6, h_req(d, REQS)->status);
	puts_serial("writes completed before the flush: ");
	put_dec(before);
	puts_serial(" of ");
	put_dec(REQS);
	puts_serial("\nFLUSHED ");
	put_dec(PRE);
	putc_serial('\n');
	keep_writing(d);
}

void ap_main(uint32_t id) { (void)id; }
