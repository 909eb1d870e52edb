/*
 * virtio-net through the modern virtio-pci transport, two NICs at once,
 * driven by polling, then by interrupts. tests/guests/run.sh puts both taps in one bridge of a
 * network namespace of its own, so every frame one NIC sends comes back in
 * on the other.
 *
 * Each NIC negotiates MAC, STATUS, MRG_RXBUF and EVENT_IDX, reports its MAC
 * and link state, and posts 512-byte receive buffers, so that a full-size
 * frame spans three of them (num_buffers). Then:
 *   - both NICs send NET_FRAMES frames to each other at the same time, of
 *     60 to 1514 bytes, at most WINDOW ahead of what the other has taken;
 *     each arrives once, in order, with its length and every byte checked;
 *   - backpressure: the second NIC stops taking frames while the first
 *     sends BP_FRAMES to it. Its buffers run out, Ember stops reading the
 *     tap (the frames wait in the tap's queue, which holds more than
 *     BP_FRAMES), and when it takes them again all of them arrive, in order;
 *   - interrupts: 100 times, the guest sets used_event on the first NIC's
 *     transmit queue and the second's receive queue, the first NIC sends
 *     1-4 frames, and the guest halts until both queues' interrupts (MSI-X,
 *     a vector each) have come. One that has not come ~1 s later is lost
 *     and fails the test.
 * The guest kicks only when the device asks for it (avail_event), so a
 * device that forgot to ask stalls the test rather than passing.
 *
 * Frame seq from NIC n: destination the other NIC's MAC, source n's MAC,
 * ethertype 0x88b5 (local experimental), the 32-bit seq, then bytes 18.. of
 * the frame equal to PAT[base + 18..], base = seq * 13 % 251. Frames of any
 * other ethertype (none are expected) are counted and skipped.
 *
 * Output for the runner: "mac XX:XX:XX:XX:XX:XX link up" per NIC, "frames N
 * each way", "backpressure N", "interrupts N rounds: transmit T, receive R",
 * "kicks ..."
 * and finally "net ok".
 */
#include "guest.h"
#include "irq.h"
#include "virtio.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1
#define VNET_HDR 12	   /* struct virtio_net_hdr_v1 */
#define VNET_NUM_BUFFERS 10 /* its num_buffers field */
#define ETHERTYPE 0x88b5
#define ETH_HDR 14
#define FRAME_HDR (ETH_HDR + 4) /* and the seq */

#define QSIZE 64
#define RXBUF_LEN 512
#define NET_FRAMES 600
#define BP_FRAMES 200
#define WINDOW 32
#define STALL (1ULL << 34) /* TSC cycles without progress that fail the test (seconds) */
#define IRQ_ROUNDS 100
#define RX_STUB(n) (2 * (n))	 /* irq.h counter of NIC n's receive queue */
#define TX_STUB(n) (2 * (n) + 1) /* and of its transmit queue */
#define VEC_QUEUE(stub) (0x40 + (stub)) /* MSI-X: a vector per queue */
#define VEC_TICK 0x31	/* LAPIC timer: bounds each wait for an interrupt */
#define IRQ_TICKS 40	/* ~5 s of ticks: an interrupt that has not come by then is lost (a loaded
			   nested test host once took more than 1.3 s to deliver one) */

#define QMEM(n) (0x100000u + (n) * 0x8000u) /* RX queue, then TX queue 0x4000 on */
#define TXVNET 0x120000u		      /* the (zero) header every frame sent starts with */
#define TXHDR(n, slot) (0x121000u + (n) * 0x1000u + (slot) * 32u)
#define PAT 0x130000u
#define PAT_LEN 4096u
#define RXBUF(n, i) (0x200000u + (n) * 0x10000u + (i) * RXBUF_LEN)

struct nic {
	struct virtio_pci pci;
	struct virtq rx, tx;
	uint8_t mac[6];
	uint16_t rx_pub, tx_pub; /* avail indexes the device was last told of */
	uint32_t sent, rcvd, stray;
	uint32_t kicks_rx, kicks_tx;
	/* the frame being taken, buffer by buffer */
	uint32_t left;	/* buffers still to come, 0: next is a frame's first */
	uint32_t off;	/* frame bytes taken so far */
	uint32_t seq;
	int skip;	/* not one of ours: drop its buffers */
};

static uint32_t frame_len(uint32_t seq)
{
	return 60 + seq * 389 % 1455; /* 60 .. 1514 */
}

static uint32_t pat_base(uint32_t seq)
{
	return seq * 13 % 251;
}

/* n bytes at a and b equal (repe cmps: few emulated instructions a frame). */
static int same(uint32_t a, uint32_t b, uint32_t n)
{
	uint32_t words = n / 4, rest = n % 4;
	uint8_t eq = 1;

	if (words)
		__asm__ volatile("repe cmpsl; sete %0"
				 : "=q"(eq), "+S"(a), "+D"(b), "+c"(words)
				 :
				 : "memory", "cc");
	if (eq && rest)
		__asm__ volatile("repe cmpsb; sete %0"
				 : "=q"(eq), "+S"(a), "+D"(b), "+c"(rest)
				 :
				 : "memory", "cc");
	return eq;
}

/* Publish what was pushed on q; kick only where avail_event asks (virtq_publish_event). */
static void publish(struct virtq *q, uint16_t *pub, uint32_t *kicks)
{
	if (*pub != q->avail_idx) {
		*kicks += (uint32_t)virtq_publish_event(q, *pub);
		*pub = q->avail_idx;
	}
}

static void put_mac(const uint8_t *m)
{
	for (int i = 0; i < 6; i++) {
		putc_serial("0123456789abcdef"[m[i] >> 4]);
		putc_serial("0123456789abcdef"[m[i] & 15]);
		if (i < 5)
			putc_serial(':');
	}
}

static void bring_up(struct nic *x, int slot, unsigned int n)
{
	const uint64_t wanted = VIRTIO_FEATURE(VIRTIO_NET_F_MAC) |
				VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF) |
				VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX);
	uint8_t code = (uint8_t)(20 + n);
	uint32_t table;
	int err;

	if ((err = virtio_pci_probe(&x->pci, (unsigned int)slot)))
		fail(code, 0x100 | (uint32_t)-err);
	if ((err = virtio_negotiate(&x->pci, wanted)))
		fail(code, 0x200 | (uint32_t)-err);
	if ((x->pci.features & wanted) != wanted)
		fail(code, 0x300 | (uint32_t)x->pci.features);
	if ((err = virtq_setup(&x->pci, &x->rx, 0, QSIZE, QMEM(n))) ||
	    (err = virtq_setup(&x->pci, &x->tx, 1, QSIZE, QMEM(n) + 0x4000)))
		fail(code, 0x400 | (uint32_t)-err);
	if (x->rx.size != QSIZE || x->tx.size != QSIZE)
		fail(code, 0x500 | x->rx.size);
	/* MSI-X: table entry 0 for the receive queue, 1 for transmit, each its own
	 * vector and counter. */
	if (!(table = msix_enable(&x->pci)))
		fail(code, 0x700);
	msix_route(table, 0, VEC_QUEUE(RX_STUB(n)), RX_STUB(n));
	msix_route(table, 1, VEC_QUEUE(TX_STUB(n)), TX_STUB(n));
	mmio_write16(x->pci.common + VC_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	if (!virtio_queue_vector(&x->pci, 0, 0) || !virtio_queue_vector(&x->pci, 1, 1))
		fail(code, 0x800);
	/* Every receive buffer is one descriptor, i for buffer i, posted for good. */
	for (uint16_t i = 0; i < QSIZE; i++) {
		x->rx.desc[i].addr = RXBUF(n, i);
		x->rx.desc[i].len = RXBUF_LEN;
		x->rx.desc[i].flags = VRING_DESC_F_WRITE;
		virtq_push(&x->rx, i);
	}
	if ((err = virtio_driver_ok(&x->pci)))
		fail(code, 0x600 | (uint32_t)-err);
	publish(&x->rx, &x->rx_pub, &x->kicks_rx);
	for (int i = 0; i < 6; i++)
		x->mac[i] = mmio_read8(x->pci.device + (uint32_t)i);
	puts_serial("mac ");
	put_mac(x->mac);
	puts_serial(mmio_read16(x->pci.device + 6) & VIRTIO_NET_S_LINK_UP ? " link up\n"
									  : " link down\n");
}

/* Return finished transmissions to the free list. */
static void reap_tx(struct nic *x, uint8_t code)
{
	int h;

	while ((h = virtq_get(&x->tx, 0)) != -1)
		if (h < 0)
			fail(code, (uint32_t)-h);
}

/* Queue frame x->sent to `to` (header, Ethernet header and seq, payload). */
static void send_one(struct nic *x, const struct nic *to, unsigned int n)
{
	uint32_t seq = x->sent, len = frame_len(seq), hdr = TXHDR(n, seq % QSIZE);
	struct vbuf b[3] = {
		{ TXVNET, VNET_HDR, 0 },
		{ hdr, FRAME_HDR, 0 },
		{ PAT + pat_base(seq) + FRAME_HDR, len - FRAME_HDR, 0 },
	};
	int head;

	for (int i = 0; i < 6; i++) {
		*(volatile uint8_t *)(hdr + i) = to->mac[i];
		*(volatile uint8_t *)(hdr + 6 + i) = x->mac[i];
	}
	*(volatile uint16_t *)(hdr + 12) = (uint16_t)(ETHERTYPE >> 8 | (ETHERTYPE & 0xff) << 8);
	*(volatile uint32_t *)(hdr + 14) = seq;
	head = virtq_add(&x->tx, b, 3);
	if (head < 0)
		fail(30, (uint32_t)-head);
	virtq_push(&x->tx, (uint16_t)head);
	x->sent++;
}

/* Send what the window and the ring allow, up to `upto` frames in all. */
static void send(struct nic *x, const struct nic *to, unsigned int n, uint32_t upto,
		 uint32_t window)
{
	reap_tx(x, 31);
	while (x->sent < upto && x->sent - to->rcvd < window && x->tx.num_free >= 3)
		send_one(x, to, n);
	publish(&x->tx, &x->tx_pub, &x->kicks_tx);
}

/*
 * Take what arrived from `from` and post the buffers again. Checks every
 * frame: ours, the next seq, its length and bytes. Returns buffers taken.
 */
static uint32_t receive(struct nic *x, const struct nic *from)
{
	uint32_t taken = 0, len;
	int h;

	while ((h = virtq_get(&x->rx, &len)) != -1) {
		uint32_t buf, data, n;

		if (h < 0 || h >= QSIZE)
			fail(40, (uint32_t)h);
		buf = x->rx.desc[h].addr;
		if (len > RXBUF_LEN)
			fail(41, len);
		data = buf;
		n = len;
		if (!x->left) { /* a frame's first buffer: header, then the frame */
			uint16_t nb = *(volatile uint16_t *)(buf + VNET_NUM_BUFFERS);
			uint16_t type = (uint16_t)(*(volatile uint8_t *)(buf + VNET_HDR + 12) << 8 |
						   *(volatile uint8_t *)(buf + VNET_HDR + 13));

			if (len < VNET_HDR + FRAME_HDR || nb == 0 || nb > QSIZE)
				fail(42, (uint32_t)nb << 16 | len);
			x->left = nb;
			x->skip = type != ETHERTYPE;
			if (x->skip) {
				x->stray++;
			} else {
				x->seq = *(volatile uint32_t *)(buf + VNET_HDR + ETH_HDR);
				if (x->seq != x->rcvd)
					fail(43, x->seq << 16 | (x->rcvd & 0xffff));
				if (!same(buf + VNET_HDR, (uint32_t)x->mac, 6) ||
				    !same(buf + VNET_HDR + 6, (uint32_t)from->mac, 6))
					fail(44, x->seq);
			}
			data = buf + VNET_HDR + FRAME_HDR;
			n = len - VNET_HDR - FRAME_HDR;
			x->off = FRAME_HDR;
		}
		if (!x->skip) {
			if (x->off + n > frame_len(x->seq))
				fail(45, x->seq);
			if (!same(data, PAT + pat_base(x->seq) + x->off, n))
				fail(46, x->seq);
		}
		x->off += n;
		if (--x->left == 0 && !x->skip) {
			if (x->off != frame_len(x->seq))
				fail(47, x->seq << 16 | x->off);
			x->rcvd++;
		}
		virtq_push(&x->rx, (uint16_t)h);
		taken++;
	}
	publish(&x->rx, &x->rx_pub, &x->kicks_rx);
	return taken;
}

static void stalled(uint8_t code, const struct nic *a, const struct nic *b)
{
	puts_serial("stalled: sent ");
	put_dec(a->sent);
	puts_serial("/");
	put_dec(b->sent);
	puts_serial(" received ");
	put_dec(a->rcvd);
	puts_serial("/");
	put_dec(b->rcvd);
	puts_serial("\n");
	fail(code, a->rcvd << 16 | b->rcvd);
}

/* Ask for an interrupt when q's used index passes idx - 1 (used_event). */
static void arm(struct virtq *q, uint16_t idx)
{
	q->avail->ring[q->size] = (uint16_t)(idx - 1);
}

/*
 * Halt until the interrupt counted in `count` comes (it is not c any more),
 * or fail with `code` after IRQ_TICKS timer ticks.
 */
static void expect_irq(volatile uint32_t *count, uint32_t c, uint8_t code)
{
	for (uint32_t t0 = ticks; *count == c;) {
		if (ticks - t0 >= IRQ_TICKS)
			fail(code, c);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

void guest_main(void)
{
	static struct nic nics[2];
	struct nic *a = &nics[0], *b = &nics[1];
	int slot_a, slot_b;
	uint64_t last;
	volatile uint32_t *tx_irq = &irq_count[TX_STUB(0)], *rx_irq = &irq_count[RX_STUB(1)];
	uint32_t tx_irqs, rx_irqs;

	for (uint32_t i = 0; i < PAT_LEN; i++)
		*(volatile uint8_t *)(PAT + i) = (uint8_t)(i * 7 + (i >> 8) * 31 + 0x5a);
	for (uint32_t i = 0; i < VNET_HDR; i++)
		*(volatile uint8_t *)(TXVNET + i) = 0;
	slot_a = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_NET));
	slot_b = slot_a < 0 ? -1 : pci_find((unsigned int)slot_a + 1, VIRTIO_PCI_VENDOR,
					    VIRTIO_PCI_DEVICE(VIRTIO_ID_NET));
	if (slot_b < 0)
		fail(20, (uint32_t)slot_a);
	bring_up(a, slot_a, 0);
	bring_up(b, slot_b, 1);

	/* Both ways at once. */
	last = rdtsc();
	while (a->rcvd < NET_FRAMES || b->rcvd < NET_FRAMES) {
		uint32_t before = a->rcvd + b->rcvd + a->stray + b->stray;

		send(a, b, 0, NET_FRAMES, WINDOW);
		send(b, a, 1, NET_FRAMES, WINDOW);
		receive(a, b);
		receive(b, a);
		if (a->rcvd + b->rcvd + a->stray + b->stray != before)
			last = rdtsc();
		else if (rdtsc() - last > STALL)
			stalled(50, a, b);
	}
	puts_serial("frames ");
	put_dec(NET_FRAMES);
	puts_serial(" each way\n");

	/* Backpressure: b takes nothing until a's frames have all left. */
	last = rdtsc();
	while (a->sent < NET_FRAMES + BP_FRAMES || a->tx.num_free != QSIZE) {
		uint32_t before = a->sent + a->tx.num_free;

		send(a, b, 0, NET_FRAMES + BP_FRAMES, BP_FRAMES + 1);
		if (a->sent + a->tx.num_free != before)
			last = rdtsc();
		else if (rdtsc() - last > STALL)
			stalled(51, a, b);
	}
	/* Ember fills b's buffers, all but less than a full-size frame's three, and
	 * stops reading its tap: the rest of the frames wait there. */
	for (last = rdtsc(); (uint16_t)(b->rx.used->idx - b->rx.last_used) < QSIZE - 2;)
		if (rdtsc() - last > STALL)
			fail(52, (uint16_t)(b->rx.used->idx - b->rx.last_used));
	last = rdtsc();
	while (b->rcvd < NET_FRAMES + BP_FRAMES) {
		if (receive(b, a))
			last = rdtsc();
		else if (rdtsc() - last > STALL)
			stalled(53, a, b);
	}
	puts_serial("backpressure ");
	put_dec(BP_FRAMES);
	puts_serial("\n");
	receive(a, b);

	/* Interrupts: with used_event set on a's transmit queue (at the last frame)
	 * and on b's receive queue (at the next entry) before a kicks, the device
	 * owes both an interrupt: the guest halts until each comes. */
	irq_setup(VEC_TICK, 1u << 27);
	tx_irqs = *tx_irq;
	rx_irqs = *rx_irq;
	for (uint32_t r = 0, want = b->rcvd; r < IRQ_ROUNDS; r++) {
		uint32_t c1 = *tx_irq, c2 = *rx_irq;
		uint32_t m = 1 + r % 4;

		want += m;
		arm(&a->tx, (uint16_t)(a->tx.avail_idx + m));
		arm(&b->rx, (uint16_t)(b->rx.last_used + 1));
		full_barrier(); /* used_event before the kick */
		send(a, b, 0, want, QSIZE);
		if (a->sent != want)
			fail(60, a->sent);
		expect_irq(rx_irq, c2, 62);
		while (receive(b, a), b->rcvd < want) {
			c2 = *rx_irq;
			arm(&b->rx, (uint16_t)(b->rx.last_used + 1));
			full_barrier();
			if (b->rx.used->idx == b->rx.last_used) /* else it came meanwhile */
				expect_irq(rx_irq, c2, 62);
		}
		if (b->rcvd != want)
			fail(63, b->rcvd);
		expect_irq(tx_irq, c1, 61);
		reap_tx(a, 31);
		if (a->tx.num_free != QSIZE)
			fail(64, a->tx.num_free);
	}
	puts_serial("interrupts ");
	put_dec(IRQ_ROUNDS);
	puts_serial(" rounds: transmit ");
	put_dec(*tx_irq - tx_irqs);
	puts_serial(", receive ");
	put_dec(*rx_irq - rx_irqs);
	puts_serial("\n");
	if (a->stray || b->stray) {
		puts_serial("stray frames ");
		put_dec(a->stray + b->stray);
		puts_serial("\n");
	}
	puts_serial("interrupts taken on a hlt ");
	put_dec(irq_at_hlt);
	puts_serial("\nkicks rx ");
	put_dec(a->kicks_rx + b->kicks_rx);
	puts_serial(" tx ");
	put_dec(a->kicks_tx + b->kicks_tx);
	puts_serial("\nnet ok\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
