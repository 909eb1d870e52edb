/*
 * blkio: disk figures from inside a Linux guest (tests/linux/bench-qcow2.sh),
 * where busybox has nothing that keeps several requests in flight. Built
 * static by mkguest.sh, which puts it in the guest initramfs as /bin/blkio.
 *
 *   blkio DEV OP OFFSET_MIB SPAN_MIB BS COUNT QD
 *
 * OP read / write: the span (SPAN_MIB MiB from OFFSET_MIB) once, in order,
 * in BS-byte requests. OP randread / randwrite: COUNT requests of BS bytes
 * at BS-aligned offsets in the span, drawn with a fixed xorshift sequence
 * (tests/bench/prog.h), so every VMM gets the same offsets. QD requests in flight (Linux native
 * AIO on an O_DIRECT descriptor: the guest's page cache plays no part).
 * Written data is a non-zero pattern. Prints "bytes N ops N ns T", T from
 * the first submission to the last completion; exits 1 on any error.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../bench/prog.h"

#define MAX_QD 64

static int die(const char *what, int err)
{
	fprintf(stderr, "blkio: %s: %s\n", what, strerror(err));
	return 1;
}

static unsigned long arg(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "blkio: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	aio_context_t ctx = 0;
	struct iocb cb[MAX_QD], *cbp[MAX_QD];
	struct io_event ev[MAX_QD];
	uint64_t base, span, bs, ops, next = 0, issued = 0, done = 0, t0;
	unsigned qd, i, nfree, freel[MAX_QD];
	uint32_t rng = PROG_RNG_SEED;
	int fd, rand, write;
	char *buf;

	if (argc != 8) {
		fprintf(stderr, "usage: blkio DEV read|write|randread|randwrite OFFSET_MIB SPAN_MIB BS COUNT QD\n");
		return 2;
	}
	rand = strncmp(argv[2], "rand", 4) == 0;
	write = strcmp(argv[2] + (rand ? 4 : 0), "write") == 0;
	if (!write && strcmp(argv[2] + (rand ? 4 : 0), "read") != 0)
		return die(argv[2], EINVAL);
	base = arg(argv[3], 1u << 20) << 20;
	span = arg(argv[4], 1u << 20) << 20;
	bs = arg(argv[5], 16u << 20);
	qd = (unsigned)arg(argv[7], MAX_QD);
	if (bs == 0 || bs % 512 || span < bs || qd == 0)
		return die("sizes", EINVAL);
	ops = rand ? arg(argv[6], 1u << 24) : span / bs;

	fd = open(argv[1], (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return die(argv[1], errno);
	if (posix_memalign((void **)&buf, 4096, bs * qd))
		return die("memory", ENOMEM);
	memset(buf, 0x5a, bs * qd);
	if (syscall(SYS_io_setup, qd, &ctx) < 0)
		return die("io_setup", errno);
	for (i = 0; i < qd; i++)
		freel[i] = i;
	nfree = qd;

	t0 = prog_now_ns();
	while (done < ops) {
		unsigned n = 0;
		int got;

		while (nfree > 0 && issued < ops) {
			unsigned slot = freel[--nfree];
			uint64_t off = rand ? (prog_xorshift(&rng) % (span / bs)) * bs : next;

			next += bs;
			memset(&cb[slot], 0, sizeof(cb[slot]));
			cb[slot].aio_data = slot;
			cb[slot].aio_fildes = (uint32_t)fd;
			cb[slot].aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
			cb[slot].aio_buf = (uint64_t)(uintptr_t)(buf + slot * bs);
			cb[slot].aio_nbytes = bs;
			cb[slot].aio_offset = (int64_t)(base + off);
			cbp[n++] = &cb[slot];
			issued++;
		}
		if (n > 0 && syscall(SYS_io_submit, ctx, (long)n, cbp) != (long)n)
			return die("io_submit", errno ? errno : EIO);
		got = (int)syscall(SYS_io_getevents, ctx, 1L, (long)qd, ev, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return die("io_getevents", errno);
		}
		for (i = 0; i < (unsigned)got; i++) {
			if (ev[i].res != (int64_t)bs)
				return die(write ? "write" : "read", ev[i].res < 0 ? (int)-ev[i].res : EIO);
			freel[nfree++] = (unsigned)ev[i].data;
			done++;
		}
	}
	printf("bytes %llu ops %llu ns %llu\n", (unsigned long long)(ops * bs), (unsigned long long)ops,
	       (unsigned long long)(prog_now_ns() - t0));
	return 0;
}
