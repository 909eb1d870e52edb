/* A vhost-user backend for unit tests: see fake_vhost.h. */
#include "tests/unit/fake_vhost.h"

#include <check.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read exactly len bytes (blocking); descriptors are noted in *r and closed. False at EOF. */
static bool read_full(int fd, void *buf, size_t len, struct fake_vhost_req *r)
{
	size_t got = 0;

	while (got < len) {
		char cbuf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				struct stat st;
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (r->nfds < VHOST_USER_MAX_REGIONS && fstat(rfd, &st) == 0) {
					r->dev[r->nfds] = st.st_dev;
					r->ino[r->nfds] = st.st_ino;
				}
				r->nfds++;
				close(rfd);
			}
		}
		got += (size_t)n;
	}
	return true;
}

static void send_reply(struct fake_vhost *b, uint32_t req, const void *payload, uint32_t size)
{
	struct vhost_user_msg m = { .hdr = { .request = req,
					     .flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY,
					     .size = size } };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m.hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int efd = -1;

	memcpy(&m.p, payload, size);
	if (req == b->fault_on) {
		switch (b->fault) {
		case FAKE_VHOST_WRONG_REQUEST: m.hdr.request++; break;
		case FAKE_VHOST_SHORT: m.hdr.size--; iov.iov_len--; break;
		case FAKE_VHOST_LONG: m.hdr.size += 8; iov.iov_len += 8; break;
		case FAKE_VHOST_BAD_VERSION: m.hdr.flags = 2 | VHOST_USER_FLAG_REPLY; break;
		case FAKE_VHOST_NOT_REPLY: m.hdr.flags = VHOST_USER_VERSION; break;
		case FAKE_VHOST_SILENT: return;
		case FAKE_VHOST_SEND_FD: {
			struct cmsghdr *c;

			efd = eventfd(0, EFD_CLOEXEC);
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &efd, sizeof(int));
			break;
		}
		default: break;
		}
	}
	ck_assert_int_eq(sendmsg(b->fd, &mh, MSG_NOSIGNAL), (ssize_t)iov.iov_len);
	if (efd >= 0)
		close(efd);
}

static void answer(struct fake_vhost *b, const struct fake_vhost_req *r)
{
	uint32_t req = r->hdr.request;
	uint64_t v = 0;

	if (req == b->fault_on && b->fault == FAKE_VHOST_CLOSE) {
		shutdown(b->fd, SHUT_RDWR);
		return;
	}
	switch (req) {
	case VHOST_USER_GET_FEATURES: v = b->features; break;
	case VHOST_USER_GET_PROTOCOL_FEATURES: v = b->protocol; break;
	case VHOST_USER_GET_QUEUE_NUM: v = 2; break;
	case VHOST_USER_GET_VRING_BASE: {
		struct vhost_user_state st = { .index = r->p.state.index, .num = b->vring_base };

		send_reply(b, req, &st, sizeof(st));
		return;
	}
	case VHOST_USER_GET_CONFIG: {
		struct vhost_user_config c = r->p.config;

		for (uint32_t i = 0; i < c.size && i < VHOST_USER_MAX_CONFIG; i++)
			c.data[i] = (uint8_t)(c.offset + i);
		send_reply(b, req, &c, r->hdr.size);
		return;
	}
	default:
		if (!(r->hdr.flags & VHOST_USER_FLAG_NEED_REPLY))
			return;
		v = req == b->fault_on && b->fault == FAKE_VHOST_NACK;
	}
	send_reply(b, req, &v, sizeof(v));
}

static void *backend(void *arg)
{
	struct fake_vhost *b = arg;

	for (;;) {
		struct fake_vhost_req r = { 0 };

		if (!read_full(b->fd, &r.hdr, sizeof(r.hdr), &r) || r.hdr.size > sizeof(r.p) ||
		    !read_full(b->fd, &r.p, r.hdr.size, &r))
			break;
		if (b->n < FAKE_VHOST_LOG)
			b->log[b->n++] = r;
		answer(b, &r);
	}
	close(b->fd);
	return NULL;
}

void fake_vhost_start(struct fake_vhost *b, uint64_t features, uint64_t protocol,
		      int *frontend_fd)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	b->fd = sv[1];
	b->features = features;
	b->protocol = protocol;
	b->n = 0;
	*frontend_fd = sv[0];
	ck_assert_int_eq(pthread_create(&b->thread, NULL, backend, b), 0);
}

void fake_vhost_join(struct fake_vhost *b)
{
	pthread_join(b->thread, NULL);
}

int fake_vhost_find(const struct fake_vhost *b, uint32_t request, unsigned int from)
{
	for (unsigned int i = from; i < b->n; i++)
		if (b->log[i].hdr.request == request)
			return (int)i;
	return -1;
}
