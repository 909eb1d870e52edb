/*
 * randread: the host's own 4 KiB random reads, for comparison with the
 * blkbench.bin micro-guest's randread phase (same offsets: the same
 * xorshift sequence and seed, 4 KiB-aligned, over the whole file).
 *
 *   randread FILE OPS QD cached|direct
 *
 * Keeps QD reads in flight through io_uring (QD 1: plain pread), through the
 * page cache or with O_DIRECT, and prints "ops N ns T" (T from the first
 * submission to the last completion).
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define BS     4096u
#define MAX_QD 256u

static int die(const char *what, int err)
{
	fprintf(stderr, "randread: %s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	struct io_uring ring;
	struct stat st;
	uint64_t t0, t1, *off;
	uint32_t ops, qd, slots, submitted = 0, done = 0, rng = PROG_RNG_SEED;
	uint8_t *buf;
	int fd, direct, err;

	if (argc != 5 || (strcmp(argv[4], "cached") && strcmp(argv[4], "direct"))) {
		fprintf(stderr, "usage: randread FILE OPS QD cached|direct\n");
		return 2;
	}
	ops = (uint32_t)strtoul(argv[2], NULL, 0);
	qd = (uint32_t)strtoul(argv[3], NULL, 0);
	direct = !strcmp(argv[4], "direct");
	if (!ops || !qd || qd > MAX_QD)
		return die("OPS and QD (1-256)", EINVAL);
	fd = open(argv[1], O_RDONLY | (direct ? O_DIRECT : 0));
	if (fd < 0 || fstat(fd, &st) < 0)
		return die(argv[1], errno);
	slots = (uint32_t)((uint64_t)st.st_size / BS);
	off = malloc(sizeof(*off) * ops);
	if (!slots || !off || posix_memalign((void **)&buf, BS, (size_t)qd * BS))
		return die("set-up", ENOMEM);
	memset(buf, 0, (size_t)qd * BS);   /* faulted in, as the guest's buffers are */
	for (uint32_t i = 0; i < ops; i++) /* drawn before the clock starts, as in the guest */
		off[i] = (uint64_t)(prog_xorshift(&rng) % slots) * BS;

	if (qd == 1) {
		t0 = prog_now_ns();
		for (uint32_t i = 0; i < ops; i++)
			if (pread(fd, buf, BS, (off_t)off[i]) != BS)
				return die("pread", errno ? errno : EIO);
		t1 = prog_now_ns();
		printf("ops %u ns %llu\n", ops, (unsigned long long)(t1 - t0));
		return 0;
	}
	if ((err = io_uring_queue_init(qd, &ring, 0)) < 0)
		return die("io_uring_queue_init", -err);
	t0 = prog_now_ns();
	while (done < ops) {
		struct io_uring_cqe *cqe;

		while (submitted < ops && submitted - done < qd) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			if (!sqe)
				break;
			/* buffer by submission number: the data is never looked at */
			io_uring_prep_read(sqe, fd, buf + (size_t)(submitted % qd) * BS, BS,
					   off[submitted]);
			submitted++;
		}
		if ((err = io_uring_submit_and_wait(&ring, 1)) < 0)
			return die("io_uring_submit_and_wait", -err);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			if (cqe->res != (int)BS)
				return die("read", cqe->res < 0 ? -cqe->res : EIO);
			io_uring_cqe_seen(&ring, cqe);
			done++;
		}
	}
	t1 = prog_now_ns();
	printf("ops %u ns %llu\n", ops, (unsigned long long)(t1 - t0));
	io_uring_queue_exit(&ring);
	return 0;
}
