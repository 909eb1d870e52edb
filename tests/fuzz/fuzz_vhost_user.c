/*
 * Fuzz target: the replies a vhost-user backend sends (vmm/vhost_user.c).
 *
 * The frontend talks over a socket pair whose other end holds the input as
 * everything the backend ever says, then hangs up: it negotiates (asking for
 * every protocol feature it knows), then makes each kind of request that
 * reads a reply (features, vring bases, config) or an acknowledgement. No
 * reply may be taken unless it is exactly the one asked for; once the
 * stream is out of step (malformed, short, closed) every later request must
 * fail with that same error; a refusal (-EIO) leaves it usable; what a reply
 * claims never reaches the caller's buffers beyond the size asked for.
 * vhost_user_check_reply() must agree with a reference of the rule.
 *
 * Input: the backend's byte stream (headers and payloads, any framing).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/expect.h"
#include "vmm/vhost_user.h"

static void check_reply_rule(const uint8_t *data, size_t size)
{
	struct vhost_user_hdr h;
	uint32_t flags;
	bool want;

	if (size < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	flags = h.flags & ~VHOST_USER_FLAG_NEED_REPLY;
	want = h.request == VHOST_USER_GET_FEATURES && h.size == 8 &&
	       flags == (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	expect((vhost_user_check_reply(&h, VHOST_USER_GET_FEATURES, 8) == 0) == want);
}

/* After a call: a broken stream stays broken with the same error (a request the agreed
 * features do not allow is refused before that, with -ENOTSUP). */
static void after(struct vhost_user *u, int err, int *broken)
{
	if (*broken) {
		expect(err == *broken || err == -ENOTSUP);
		return;
	}
	expect(err <= 0);
	if (err && err != -EIO && err != -ENOTSUP && err != -EINVAL) {
		expect(u->err == err);
		*broken = err;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhost_user u;
	uint8_t cfg[VHOST_USER_MAX_CONFIG + 8];
	uint16_t base = 0xbeef;
	int sv[2], broken = 0, err;

	check_reply_rule(data, size);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* 4 KiB inputs (run.sh's max_len) fit in a socket buffer: written at once. */
	if (size && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR); /* then EOF: no request waits for the timeout */
	expect(vhost_user_init(&u, sv[0], 10) == 0);
	err = vhost_user_negotiate(&u, ~0ULL);
	after(&u, err, &broken);
	expect(!(u.protocol_features & ~(VHOST_USER_PROTOCOL_F_MQ | VHOST_USER_PROTOCOL_F_REPLY_ACK |
					 VHOST_USER_PROTOCOL_F_CONFIG)) ||
	       err);
	after(&u, vhost_user_set_features(&u, 1ULL << 32), &broken);
	after(&u, vhost_user_set_vring_num(&u, 1, 256), &broken);
	err = vhost_user_get_vring_base(&u, 1, &base);
	after(&u, err, &broken);
	expect(!err || base == 0xbeef); /* a failed request leaves the caller's value */
	memset(cfg, 0xa5, sizeof(cfg));
	err = vhost_user_get_config(&u, 4, cfg, 16);
	after(&u, err, &broken);
	for (size_t i = 16; i < sizeof(cfg); i++)
		expect(cfg[i] == 0xa5); /* never past what was asked */
	after(&u, vhost_user_set_config(&u, 0, cfg, 4), &broken);
	after(&u, vhost_user_set_vring_enable(&u, 1, false), &broken);
	after(&u, vhost_user_set_vring_call(&u, 1, -1), &broken);
	vhost_user_close(&u);
	close(sv[1]);
	return 0;
}
