/*
 * virtio-net throughput, device side. Two NICs whose taps one bridge joins
 * (tests/bench/net.sh): the first only sends, to the second, which only
 * receives; both rings are set up so that the guest does almost nothing per
 * frame, and what the TSC measures is the VMM's path: the kick, the I/O
 * thread, the writev() into one tap, the host's bridge, the readv() from the
 * other tap, the used ring.
 *
 * The same image runs under Ember (--firmware) and, in the same benchmark
 * run, as the BIOS of QEMU's q35 with virtio-net-pci on the same taps (no
 * vhost): there no firmware has placed the BARs, so the guest does
 * (pci_assign_bars(), a no-op under Ember).
 *
 * On a /dev/kvm that emulates CPL0 code (PVM: ~1 us an instruction) every
 * guest instruction per frame counts, so everything is built before the
 * clock starts. Transmit descriptor i points at frame buffer i % TX_BUFS,
 * which holds the virtio-net header, the Ethernet, IPv4 and TCP headers and
 * the payload in one piece; the available ring holds i at position i. A
 * batch of frames then costs the guest an index store and, if the device
 * asks for one (EVENT_IDX), a kick. At most WINDOW frames are on their way
 * at any time, since a tap drops what its queue cannot hold. Receive buffers are posted the same way,
 * so taking frames back costs loads of the first and last used lengths of
 * a batch (whole frames are counted by the used index; the lengths are
 * added up only where those show anything else) and an index store. The guest polls; it never takes an interrupt.
 *
 * Phases, one line each: "bench NAME payload P frames F cycles C kicks K
 * rxkicks R buffers B" (C in hex: TSC cycles from the first frame published to the
 * last byte received; K and R: kicks of the sending NIC's transmit queue and
 * the receiving NIC's receive queue):
 *   tso  TCP segments of 64000 bytes of payload (HOST_TSO4 on the sender,
 *        GUEST_TSO4 on the receiver: the kernel never cuts them up)
 *   mtu  full-size 1514-byte frames, no segmentation: the cost per frame
 * "buffers" counts the receive buffers the frames took (one each where the
 * kernel passed the segments whole), "kicks" and "rxkicks" as above.
 */
#include "guest.h"
#include "virtio.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VNET_HDR 12
#define HDRS (14 + 20 + 20) /* Ethernet, IPv4, TCP */

#define TXQ_SIZE 256
#define RXQ_SIZE 256
#define TX_BUFS 64
#define TX_BUF(i) (0x1000000u + (i) * 0x10000u)	 /* 64 KiB each */
#define RX_BUF(i) (0x1800000u + (i) * 0x11000u)	 /* a whole 64 KiB frame each: 17 MiB */
#define RX_BUF_LEN 0x11000u
#define A_RX_BUF(i) (0x1400000u + (i) * 0x800u) /* the sender's: strays only */
#define QMEM(n, q) (0x100000u + (n) * 0x8000u + (q) * 0x4000u)
#define STALL (1ULL << 34)
#define WINDOW 512 /* frames sent and not yet received: half a tap's queue (1000) */

struct nic {
	struct virtio_pci pci;
	struct virtq rx, tx;
	uint8_t mac[6];
	uint16_t rx_pub, tx_pub;
	uint32_t kicks_rx, kicks_tx;
};

struct phase {
	const char *name;
	uint32_t payload, frames;
	int tso;
};

static const struct phase phases[] = {
	{ "tso", 64000, 16384, 1 },
	{ "mtu", 1460, 65536, 0 },
};

/* Publish the avail index `now`; kick only where avail_event asks (virtq_publish_event). */
static void publish(struct virtq *q, uint16_t *pub, uint16_t now, uint32_t *kicks)
{
	if (*pub != now) {
		q->avail_idx = now;
		*kicks += (uint32_t)virtq_publish_event(q, *pub);
		*pub = now;
	}
}

static void bring_up(struct nic *x, int slot, unsigned int n, uint64_t wanted, uint8_t code)
{
	int err;

	if (slot < 0)
		fail(code, 0);
	if ((err = pci_assign_bars((unsigned int)slot)) ||
	    (err = virtio_pci_probe(&x->pci, (unsigned int)slot)))
		fail(code, 0x100 | (uint32_t)-err);
	wanted |= VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | VIRTIO_FEATURE(VIRTIO_NET_F_MRG_RXBUF) |
		  VIRTIO_FEATURE(VIRTIO_F_EVENT_IDX);
	if ((err = virtio_negotiate(&x->pci, wanted)))
		fail(code, 0x200 | (uint32_t)-err);
	if ((x->pci.features & wanted) != wanted)
		fail(code, 0x300);
	if ((err = virtq_setup(&x->pci, &x->rx, 0, RXQ_SIZE, QMEM(n, 0))) ||
	    (err = virtq_setup(&x->pci, &x->tx, 1, TXQ_SIZE, QMEM(n, 1))))
		fail(code, 0x400 | (uint32_t)-err);
	if (x->rx.size != RXQ_SIZE || x->tx.size != TXQ_SIZE)
		fail(code, 0x500);
	for (int i = 0; i < 6; i++)
		x->mac[i] = mmio_read8(x->pci.device + (uint32_t)i);
}

static void put16be(uint32_t a, uint16_t v)
{
	*(volatile uint8_t *)a = (uint8_t)(v >> 8);
	*(volatile uint8_t *)(a + 1) = (uint8_t)v;
}

/* Ones' complement sum of n bytes at a, as 16-bit big-endian words. */
static uint32_t sum16(uint32_t a, uint32_t n, uint32_t s)
{
	for (uint32_t i = 0; i < n; i += 2)
		s += (uint32_t)(*(volatile uint8_t *)(a + i) << 8 | *(volatile uint8_t *)(a + i + 1));
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * Frame buffer at f: virtio-net header (checksum left to the host, and with
 * tso a 1448-byte segment size), Ethernet a -> b, IPv4 10.0.0.1 -> 10.0.0.2,
 * TCP with the pseudo-header sum in its checksum field, as a driver sends
 * with checksum offload. The payload is left as it is.
 */
static void build_frame(uint32_t f, const struct nic *a, const struct nic *b,
			const struct phase *p, uint32_t seq)
{
	uint32_t e = f + VNET_HDR, ip = e + 14, tcp = ip + 20, s;

	for (uint32_t i = 0; i < VNET_HDR + HDRS; i++)
		*(volatile uint8_t *)(f + i) = 0;
	*(volatile uint8_t *)f = 1;				  /* NEEDS_CSUM */
	*(volatile uint8_t *)(f + 1) = p->tso ? 1 : 0;		  /* GSO_TCPV4 */
	*(volatile uint16_t *)(f + 2) = p->tso ? HDRS : 0;	  /* hdr_len */
	*(volatile uint16_t *)(f + 4) = p->tso ? 1448 : 0;	  /* gso_size */
	*(volatile uint16_t *)(f + 6) = 14 + 20;		  /* csum_start */
	*(volatile uint16_t *)(f + 8) = 16;			  /* csum_offset */
	for (int i = 0; i < 6; i++) {
		*(volatile uint8_t *)(e + i) = b->mac[i];
		*(volatile uint8_t *)(e + 6 + i) = a->mac[i];
	}
	put16be(e + 12, 0x0800);
	*(volatile uint8_t *)ip = 0x45;
	put16be(ip + 2, (uint16_t)(20 + 20 + p->payload));
	put16be(ip + 6, 0x4000); /* DF */
	*(volatile uint8_t *)(ip + 8) = 64;
	*(volatile uint8_t *)(ip + 9) = 6;
	put16be(ip + 12, 0x0a00);
	put16be(ip + 14, 0x0001);
	put16be(ip + 16, 0x0a00);
	put16be(ip + 18, 0x0002);
	put16be(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
	put16be(tcp, 40000);
	put16be(tcp + 2, 5001);
	put16be(tcp + 4, (uint16_t)(seq >> 16));
	put16be(tcp + 6, (uint16_t)seq);
	*(volatile uint8_t *)(tcp + 12) = 0x50; /* 5 words */
	*(volatile uint8_t *)(tcp + 13) = 0x18; /* ACK, PSH */
	put16be(tcp + 14, 0xffff);
	s = sum16(ip + 12, 8, 6 + 20 + p->payload); /* pseudo-header */
	put16be(tcp + 16, fold(s));
}

static void run_phase(struct nic *a, struct nic *b, const struct phase *p)
{
	uint32_t frame = VNET_HDR + HDRS + p->payload, sent = 0, taken = 0;
	uint32_t got = 0, part = 0; /* frames received, and payload bytes of the next (if cut up) */
	uint64_t t0, t1, last;
	uint32_t kicks0 = a->kicks_tx, rxkicks0 = b->kicks_rx;
	uint16_t tx0 = a->tx.avail_idx;

	for (uint32_t i = 0; i < TX_BUFS; i++)
		build_frame(TX_BUF(i), a, b, p, i * p->payload);
	for (uint32_t i = 0; i < TXQ_SIZE; i++) {
		a->tx.desc[i].addr = TX_BUF(i % TX_BUFS);
		a->tx.desc[i].len = frame;
		a->tx.desc[i].flags = 0;
		a->tx.avail->ring[i] = (uint16_t)i;
	}
	t0 = last = rdtsc();
	while (got < p->frames) {
		uint16_t done = a->tx.used->idx, used = b->rx.used->idx;
		uint32_t room = TXQ_SIZE - (uint16_t)(tx0 + sent - done), n = p->frames - sent;
		uint32_t ahead = sent - got;

		uint32_t space = ahead < WINDOW ? WINDOW - ahead : 0;

		/* The host drops what a tap cannot queue: stay within its queue. */
		if (room > space)
			room = space;
		if (n > room)
			n = room;
		if (n) {
			sent += n;
			publish(&a->tx, &a->tx_pub, (uint16_t)(tx0 + sent), &a->kicks_tx);
		}
		if (used != b->rx.last_used) {
			uint16_t n_used = (uint16_t)(used - b->rx.last_used);

			/* Whole frames only (the batch's first and last say so): count them;
			 * else (a stray, or segments the kernel cut) add up the lengths. A
			 * stray between two whole frames would count as one: net.sh checks
			 * that the buffers taken equal the frames sent. */
			if (b->rx.used->ring[b->rx.last_used % RXQ_SIZE].len == frame &&
			    b->rx.used->ring[(uint16_t)(used - 1) % RXQ_SIZE].len == frame && !part) {
				got += n_used;
			} else {
				for (uint16_t i = b->rx.last_used; i != used; i++) {
					uint32_t len = b->rx.used->ring[i % RXQ_SIZE].len;

					if (len > 200) { /* not a stray */
						part += len - VNET_HDR - HDRS;
						for (; part >= p->payload; part -= p->payload)
							got++;
					}
				}
			}
			taken += n_used;
			b->rx.last_used = used;
			publish(&b->rx, &b->rx_pub, (uint16_t)(used + RXQ_SIZE), &b->kicks_rx);
			last = rdtsc();
		} else if (rdtsc() - last > STALL) {
			puts_serial("stalled: sent ");
			put_dec(sent);
			puts_serial(" received ");
			put_dec(got);
			puts_serial("\n");
			fail(30, taken);
		}
	}
	t1 = rdtsc();
	/* Every frame's transmission completes before the next phase reuses the ring. */
	while ((uint16_t)(a->tx.used->idx - tx0) != (uint16_t)sent)
		if (rdtsc() - t1 > STALL)
			fail(31, sent);
	a->tx.last_used = a->tx.avail_idx; /* publish() left it at tx0 + sent */
	puts_serial("bench ");
	puts_serial(p->name);
	puts_serial(" payload ");
	put_dec(p->payload);
	puts_serial(" frames ");
	put_dec(p->frames);
	puts_serial(" cycles ");
	put_hex64(t1 - t0);
	puts_serial(" kicks ");
	put_dec(a->kicks_tx - kicks0);
	puts_serial(" rxkicks ");
	put_dec(b->kicks_rx - rxkicks0);
	puts_serial(" buffers ");
	put_dec(taken);
	putc_serial('\n');
}

void guest_main(void)
{
	static struct nic nics[2];
	struct nic *a = &nics[0], *b = &nics[1];
	int sa = pci_find(0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE(VIRTIO_ID_NET));
	int sb = sa < 0 ? -1 : pci_find((unsigned int)sa + 1, VIRTIO_PCI_VENDOR,
				       VIRTIO_PCI_DEVICE(VIRTIO_ID_NET));
	int err;

	bring_up(a, sa, 0, VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) | VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4), 20);
	bring_up(b, sb, 1, VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_TSO4),
		 21);
	/* Receive buffers: small ones for strays on a, whole frames on b; descriptor i, position i. */
	for (uint16_t i = 0; i < RXQ_SIZE; i++) {
		a->rx.desc[i].addr = A_RX_BUF(i);
		a->rx.desc[i].len = 0x800;
		a->rx.desc[i].flags = VRING_DESC_F_WRITE;
		a->rx.avail->ring[i] = i;
		b->rx.desc[i].addr = RX_BUF(i);
		b->rx.desc[i].len = RX_BUF_LEN;
		b->rx.desc[i].flags = VRING_DESC_F_WRITE;
		b->rx.avail->ring[i] = i;
	}
	/* Fault the buffers in now: the first phase should not pay for the host zeroing them. */
	for (uint32_t p = RX_BUF(0); p < RX_BUF(RXQ_SIZE); p += 4096)
		*(volatile uint32_t *)p = 0;
	for (uint32_t p = TX_BUF(0); p < TX_BUF(TX_BUFS); p += 4096)
		*(volatile uint32_t *)p = 0;
	if ((err = virtio_driver_ok(&a->pci)) || (err = virtio_driver_ok(&b->pci)))
		fail(22, (uint32_t)-err);
	publish(&a->rx, &a->rx_pub, RXQ_SIZE, &a->kicks_rx);
	publish(&b->rx, &b->rx_pub, RXQ_SIZE, &b->kicks_rx);
	/* b says who it is first, so that the bridge sends a's frames to b's port only. */
	{
		uint32_t f = TX_BUF(0);

		for (uint32_t i = 0; i < VNET_HDR + 60; i++)
			*(volatile uint8_t *)(f + i) = 0xff;
		for (uint32_t i = 0; i < VNET_HDR; i++)
			*(volatile uint8_t *)(f + i) = 0;
		for (int i = 0; i < 6; i++)
			*(volatile uint8_t *)(f + VNET_HDR + 6 + i) = b->mac[i];
		put16be(f + VNET_HDR + 12, 0x88b5);
		b->tx.desc[0].addr = f;
		b->tx.desc[0].len = VNET_HDR + 60;
		b->tx.desc[0].flags = 0;
		b->tx.avail->ring[0] = 0;
		publish(&b->tx, &b->tx_pub, 1, &b->kicks_tx);
		for (uint64_t t = rdtsc(); b->tx.used->idx != 1;)
			if (rdtsc() - t > STALL)
				fail(23, 0);
	}
	for (unsigned int i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		run_phase(a, b, &phases[i]);
	puts_serial("netbench done\n");
	guest_exit(0);
}

void ap_main(uint32_t id) { (void)id; }
