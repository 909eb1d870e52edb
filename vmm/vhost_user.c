#include "vmm/vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

#define HDR_SIZE sizeof(struct vhost_user_hdr)
#define MAX_FDS	 VHOST_USER_MAX_REGIONS
/* The protocol features this frontend implements: never agree to any other. */
#define KNOWN_PROTOCOL                                                                             \
	(VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK | VHOST_USER_PROTOCOL_F_CONFIG)

int vhost_user_check_reply(const struct vhost_user_hdr *h, uint32_t request, uint32_t size)
{
	uint32_t flags = h->flags & ~VHOST_USER_FLAG_NEED_REPLY; /* some backends echo it */

	if (h->request != request || flags != (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY) ||
	    h->size != size)
		return -EPROTO;
	return 0;
}

/* A connection that is not one: every call fails with `err`. */
static int unusable(struct vhost_user *u, int timeout_ms, int err)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->timeout_ms = timeout_ms;
	u->err = err;
	return err;
}

int vhost_user_init(struct vhost_user *u, int fd, int timeout_ms)
{
	if (fd < 0)
		return unusable(u, timeout_ms, -EBADF);
	memset(u, 0, sizeof(*u));
	u->fd = fd;
	u->timeout_ms = timeout_ms > 0 ? timeout_ms : VHOST_USER_TIMEOUT_MS;
	return 0;
}

int vhost_user_connect(struct vhost_user *u, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return unusable(u, timeout_ms, -ENAMETOOLONG);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return unusable(u, timeout_ms, err);
	}
	return vhost_user_init(u, fd, timeout_ms);
}

void vhost_user_close(struct vhost_user *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->err = -ENOTCONN;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for `events` on the socket until `deadline`: 0, -ETIMEDOUT or -errno. */
static int wait_for(struct vhost_user *u, short events, int64_t deadline)
{
	struct pollfd p = { .fd = u->fd, .events = events };
	int64_t left = deadline - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)left);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0; /* POLLHUP, POLLERR: the next call says what */
}

/* Send all `len` bytes, `fds` with the first of them. */
static int send_all(struct vhost_user *u, const void *buf, size_t len, const int *fds,
		    unsigned int nfds, int64_t deadline)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} c;
	size_t sent = 0;

	while (sent < len) {
		struct iovec iov = { .iov_base = (char *)buf + sent, .iov_len = len - sent };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;
		int err;

		if (nfds && sent == 0) {
			memset(&c, 0, sizeof(c));
			mh.msg_control = c.b;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c.h.cmsg_level = SOL_SOCKET;
			c.h.cmsg_type = SCM_RIGHTS;
			c.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(&c.h), fds, sizeof(int) * nfds);
		}
		n = sendmsg(u->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		err = wait_for(u, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* Close every descriptor a received message carried; how many there were. */
static unsigned int drop_fds(struct msghdr *mh)
{
	unsigned int dropped = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
			dropped++;
		}
	}
	return dropped + ((mh->msg_flags & MSG_CTRUNC) != 0);
}

/* Read exactly `len` bytes before `deadline`. A reply never carries fds: -EPROTO if one did. */
static int recv_all(struct vhost_user *u, void *buf, size_t len, int64_t deadline)
{
	unsigned int fds = 0;
	size_t got = 0;

	while (got < len) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		} c;
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
				     .msg_controllen = sizeof(c.b) };
		ssize_t n = recvmsg(u->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int err;

		if (n > 0) {
			fds += drop_fds(&mh);
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = wait_for(u, POLLIN, deadline);
		if (err)
			return err;
	}
	return fds ? -EPROTO : 0;
}

static const char *request_name(uint32_t r)
{
	switch (r) {
	case VHOST_USER_GET_FEATURES: return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES: return "SET_FEATURES";
	case VHOST_USER_SET_OWNER: return "SET_OWNER";
	case VHOST_USER_SET_MEM_TABLE: return "SET_MEM_TABLE";
	case VHOST_USER_SET_VRING_NUM: return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR: return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE: return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE: return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK: return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL: return "SET_VRING_CALL";
	case VHOST_USER_GET_PROTOCOL_FEATURES: return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES: return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_GET_QUEUE_NUM: return "GET_QUEUE_NUM";
	case VHOST_USER_SET_VRING_ENABLE: return "SET_VRING_ENABLE";
	case VHOST_USER_GET_CONFIG: return "GET_CONFIG";
	case VHOST_USER_SET_CONFIG: return "SET_CONFIG";
	default: return "?";
	}
}

/*
 * One exchange: send `msg` (its payload of msg->hdr.size bytes) with `fds`.
 * A GET_* request (`reply` not NULL) reads a reply of exactly `reply_size`
 * bytes into it; any other request, when REPLY_ACK was agreed, is marked
 * NEED_REPLY and reads the u64 acknowledgement (nonzero: -EIO, the stream
 * still in step). Any other failure breaks the connection for good.
 */
static int exchange(struct vhost_user *u, struct vhost_user_msg *msg, const int *fds,
		    unsigned int nfds, void *reply, uint32_t reply_size)
{
	bool ack = !reply && vhost_user_has(u, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint32_t req = msg->hdr.request;
	struct vhost_user_hdr h;
	uint64_t ackval = 0;
	int64_t deadline;
	int err;

	if (u->err)
		return u->err;
	msg->hdr.flags = VHOST_USER_VERSION | (ack ? VHOST_USER_FLAG_NEED_REPLY : 0);
	deadline = now_ms() + u->timeout_ms;
	err = send_all(u, msg, HDR_SIZE + msg->hdr.size, fds, nfds, deadline);
	if (!err && (reply || ack)) {
		err = recv_all(u, &h, HDR_SIZE, deadline);
		if (!err)
			err = vhost_user_check_reply(&h, req, reply ? reply_size : sizeof(ackval));
		if (!err)
			err = recv_all(u, reply ? reply : (void *)&ackval, h.size, deadline);
	}
	if (err) {
		u->err = err;
		log_err("vhost-user: %s: %s", request_name(req),
			err == -EPROTO ? "the backend's reply is malformed" : strerror(-err));
		return err;
	}
	if (ackval) {
		log_err("vhost-user: the backend refused %s (status %llu)", request_name(req),
			(unsigned long long)ackval);
		return -EIO;
	}
	return 0;
}

/* A request with no payload or a u64 one. */
static int send_u64(struct vhost_user *u, uint32_t req, uint64_t val, bool has_payload,
		    const int *fds, unsigned int nfds)
{
	struct vhost_user_msg msg = { .hdr = { .request = req } };

	if (has_payload) {
		msg.hdr.size = sizeof(uint64_t);
		msg.p.u64 = val;
	}
	return exchange(u, &msg, fds, nfds, NULL, 0);
}

static int get_u64(struct vhost_user *u, uint32_t req, uint64_t *val)
{
	struct vhost_user_msg msg = { .hdr = { .request = req } };

	return exchange(u, &msg, NULL, 0, val, sizeof(*val));
}

static int send_state(struct vhost_user *u, uint32_t req, unsigned int q, uint32_t num)
{
	struct vhost_user_msg msg = { .hdr = { .request = req, .size = sizeof(msg.p.state) } };

	msg.p.state = (struct vhost_user_state){ .index = q, .num = num };
	return exchange(u, &msg, NULL, 0, NULL, 0);
}

int vhost_user_negotiate(struct vhost_user *u, uint64_t want_protocol)
{
	uint64_t offered = 0, n = 0;
	int err;

	err = get_u64(u, VHOST_USER_GET_FEATURES, &u->features);
	if (!err && (u->features & VHOST_USER_F_PROTOCOL_FEATURES)) {
		err = get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES, &offered);
		offered &= (want_protocol | VHOST_USER_PROTOCOL_F_REPLY_ACK) & KNOWN_PROTOCOL;
		if (!err)
			err = send_u64(u, VHOST_USER_SET_PROTOCOL_FEATURES, offered, true, NULL, 0);
		if (!err)
			u->protocol_features = offered; /* acknowledgements from here on */
	}
	if (!err)
		err = send_u64(u, VHOST_USER_SET_OWNER, 0, false, NULL, 0);
	if (!err && vhost_user_has(u, VHOST_USER_PROTOCOL_F_MQ)) {
		err = get_u64(u, VHOST_USER_GET_QUEUE_NUM, &n);
		u->queue_num = n > UINT16_MAX ? UINT16_MAX : (unsigned int)n;
	}
	return err;
}

int vhost_user_set_features(struct vhost_user *u, uint64_t features)
{
	features |= u->features & VHOST_USER_F_PROTOCOL_FEATURES;
	return send_u64(u, VHOST_USER_SET_FEATURES, features, true, NULL, 0);
}

int vhost_user_mem_table_msg(const struct gm *m, struct vhost_user_msg *msg,
			     int fds[VHOST_USER_MAX_REGIONS])
{
	if (!m->shared || m->nr == 0 || m->nr > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	msg->hdr.request = VHOST_USER_SET_MEM_TABLE;
	msg->hdr.size = (uint32_t)(offsetof(struct vhost_user_mem, region) +
				   m->nr * sizeof(struct vhost_user_region));
	msg->p.mem.nregions = m->nr;
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct gm_region *r = &m->region[i];

		msg->p.mem.region[i] = (struct vhost_user_region){
			.gpa = r->gpa,
			.size = r->size,
			.uaddr = (uint64_t)(uintptr_t)r->host,
			.mmap_offset = r->fd_offset,
		};
		fds[i] = m->fd;
	}
	return (int)m->nr;
}

int vhost_user_set_mem_table(struct vhost_user *u, const struct gm *m)
{
	struct vhost_user_msg msg;
	int fds[VHOST_USER_MAX_REGIONS];
	int n = vhost_user_mem_table_msg(m, &msg, fds);

	if (n < 0) {
		log_err("vhost-user: guest RAM is not shared memory: the backend cannot map it");
		return n;
	}
	return exchange(u, &msg, fds, (unsigned int)n, NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user *u, unsigned int q, uint16_t num)
{
	return send_state(u, VHOST_USER_SET_VRING_NUM, q, num);
}

int vhost_user_set_vring_addr(struct vhost_user *u, const struct gm *m, unsigned int q,
			      uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	/* The split ring's parts (virtio 1.2, 2.7), event fields included. */
	void *d = gm_ptr(m, desc, 16ULL * num);
	void *a = gm_ptr(m, avail, 6 + 2ULL * num);
	void *us = gm_ptr(m, used, 6 + 8ULL * num);
	struct vhost_user_msg msg = { .hdr = { .request = VHOST_USER_SET_VRING_ADDR,
					       .size = sizeof(msg.p.addr) } };

	if (!d || !a || !us || num == 0)
		return -EFAULT;
	msg.p.addr = (struct vhost_user_addr){
		.index = q,
		.desc = (uint64_t)(uintptr_t)d,
		.used = (uint64_t)(uintptr_t)us,
		.avail = (uint64_t)(uintptr_t)a,
	};
	return exchange(u, &msg, NULL, 0, NULL, 0);
}

int vhost_user_set_vring_base(struct vhost_user *u, unsigned int q, uint16_t base)
{
	return send_state(u, VHOST_USER_SET_VRING_BASE, q, base);
}

int vhost_user_get_vring_base(struct vhost_user *u, unsigned int q, uint16_t *base)
{
	struct vhost_user_msg msg = { .hdr = { .request = VHOST_USER_GET_VRING_BASE,
					       .size = sizeof(msg.p.state) } };
	struct vhost_user_state st;
	int err;

	msg.p.state = (struct vhost_user_state){ .index = q };
	err = exchange(u, &msg, NULL, 0, &st, sizeof(st));
	if (err)
		return err;
	if (st.index != q || st.num > UINT16_MAX) {
		u->err = -EPROTO;
		log_err("vhost-user: GET_VRING_BASE: the backend answered for queue %u, index %u",
			st.index, st.num);
		return -EPROTO;
	}
	*base = (uint16_t)st.num;
	return 0;
}

static int send_vring_fd(struct vhost_user *u, uint32_t req, unsigned int q, int fd)
{
	uint64_t val = (q & 0xff) | (fd < 0 ? VHOST_USER_VRING_NOFD : 0);

	if (q > 0xff)
		return -EINVAL;
	return send_u64(u, req, val, true, &fd, fd < 0 ? 0 : 1);
}

int vhost_user_set_vring_kick(struct vhost_user *u, unsigned int q, int fd)
{
	return send_vring_fd(u, VHOST_USER_SET_VRING_KICK, q, fd);
}

int vhost_user_set_vring_call(struct vhost_user *u, unsigned int q, int fd)
{
	return send_vring_fd(u, VHOST_USER_SET_VRING_CALL, q, fd);
}

int vhost_user_set_vring_enable(struct vhost_user *u, unsigned int q, bool enable)
{
	if (!(u->features & VHOST_USER_F_PROTOCOL_FEATURES))
		return -ENOTSUP;
	return send_state(u, VHOST_USER_SET_VRING_ENABLE, q, enable);
}

static int config_msg(struct vhost_user_msg *msg, uint32_t req, uint32_t off, uint32_t len)
{
	if (len == 0 || len > VHOST_USER_MAX_CONFIG)
		return -EINVAL;
	*msg = (struct vhost_user_msg){ .hdr = { .request = req, .size = VHOST_USER_CONFIG_HDR + len } };
	msg->p.config.offset = off;
	msg->p.config.size = len;
	return 0;
}

int vhost_user_get_config(struct vhost_user *u, uint32_t off, void *buf, uint32_t len)
{
	struct vhost_user_msg msg;
	struct vhost_user_config reply;
	int err;

	if (!vhost_user_has(u, VHOST_USER_PROTOCOL_F_CONFIG))
		return -ENOTSUP;
	err = config_msg(&msg, VHOST_USER_GET_CONFIG, off, len);
	if (!err)
		err = exchange(u, &msg, NULL, 0, &reply, VHOST_USER_CONFIG_HDR + len);
	if (err)
		return err;
	if (reply.offset != off || reply.size != len) {
		u->err = -EPROTO;
		log_err("vhost-user: GET_CONFIG: asked for %u bytes at %u, got %u at %u", len, off,
			reply.size, reply.offset);
		return -EPROTO;
	}
	memcpy(buf, reply.data, len);
	return 0;
}

int vhost_user_set_config(struct vhost_user *u, uint32_t off, const void *buf, uint32_t len)
{
	struct vhost_user_msg msg;
	int err;

	if (!vhost_user_has(u, VHOST_USER_PROTOCOL_F_CONFIG))
		return -ENOTSUP;
	err = config_msg(&msg, VHOST_USER_SET_CONFIG, off, len);
	if (err)
		return err;
	memcpy(msg.p.config.data, buf, len);
	return exchange(u, &msg, NULL, 0, NULL, 0);
}
