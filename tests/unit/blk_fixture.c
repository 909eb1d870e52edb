/* The virtio-blk test fixture: see test_blk.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_blk.h"

uint64_t bfx_merged(struct bfx *f)
{
	struct disk_stats st;

	disk_stats(f->b.disk, &st);
	return st.merged;
}

uint8_t bfx_pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) * 13 + 1);
}

void bfx_image(struct bfx *f, uint64_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	ck_assert_ptr_nonnull(buf);
	snprintf(f->path, sizeof(f->path), "/tmp/ember-blk-XXXXXX");
	fd = mkstemp(f->path);
	ck_assert_int_ge(fd, 0);
	for (uint64_t i = 0; i < size; i++)
		buf[i] = bfx_pattern(i);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	free(buf);
	f->size = size;
}

int bfx_try_open(struct bfx *f, bool readonly, bool sync, const char *id)
{
	struct blk_options o = { .path = f->path, .readonly = readonly, .id = id, .sync_io = sync,
				 .poll_us = f->poll_us, .disk = f->disk };
	struct virtio_dev *v = &f->b.vdev;
	int err;

	ck_assert_int_eq(gm_init(&f->m, f->ram ? f->ram : BFX_RAM, f->ram ? f->ram : BFX_RAM), 0);
	f->uring = !sync;
	if (f->uring && !f->shared_loop)
		ck_assert_int_eq(evloop_init(&f->loop), 0);
	err = blk_open(&f->b, &o, &f->m,
		       f->shared_loop ? f->shared_loop : f->uring ? &f->loop : NULL);
	if (err)
		return err;
	f->opened = true;
	fake_vring_init_at(&f->v, &f->m, BLK_QUEUE_SIZE, BFX_RING);
	ck_assert_int_eq(vq_setup(&v->vq[0], &f->m, BLK_QUEUE_SIZE, f->v.desc, f->v.avail,
				  f->v.used, f->event_idx, true),
			 0);
	v->driver_features = v->host_features;
	if (!f->event_idx)
		v->driver_features &= ~VIRTIO_FEAT_EVENT_IDX;
	v->status |= VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		     VIRTIO_STATUS_DRIVER_OK;
	if (f->uring && !f->shared_loop) {
		ck_assert_int_eq(evloop_start(&f->loop), 0);
		f->loop_running = true;
	}
	return 0;
}

void bfx_open(struct bfx *f, bool readonly, bool sync, const char *id)
{
	memset(f, 0, sizeof(*f));
	bfx_image(f, BFX_IMAGE);
	ck_assert_int_eq(bfx_try_open(f, readonly, sync, id), 0);
}

void bfx_close(struct bfx *f)
{
	if (f->loop_running)
		evloop_stop(&f->loop);
	if (f->opened)
		blk_close(&f->b);
	if (f->uring && !f->shared_loop)
		evloop_destroy(&f->loop);
	gm_destroy(&f->m);
	unlink(f->path);
}

uint8_t *bfx_host(struct bfx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&f->m, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

uint8_t bfx_get8(struct bfx *f, uint64_t gpa)
{
	return *bfx_host(f, gpa, 1);
}

void bfx_fill(struct bfx *f, uint64_t gpa, uint8_t byte, uint64_t len)
{
	memset(bfx_host(f, gpa, len), byte, len);
}

uint64_t bfx_hdr(struct bfx *f, uint32_t type, uint64_t sector)
{
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} h = { type, 0, sector };
	uint64_t gpa;

	ck_assert_uint_lt(f->nreq, BFX_MAX_REQS);
	gpa = BFX_HDR + 16ULL * f->nreq++;
	ck_assert_int_eq(gm_write(&f->m, gpa, &h, sizeof(h)), 0);
	return gpa;
}

uint64_t bfx_status(struct bfx *f)
{
	uint64_t gpa;

	ck_assert_uint_lt(f->nreq, BFX_MAX_REQS);
	gpa = BFX_STATUS + f->nreq++;
	bfx_fill(f, gpa, 0xff, 1);
	return gpa;
}

uint16_t bfx_publish(struct bfx *f, const struct fake_seg *segs, unsigned int n)
{
	uint16_t head = fake_vring_chain(&f->v, f->next, segs, n);

	f->next = (uint16_t)((f->next + n) % BLK_QUEUE_SIZE);
	fake_vring_publish(&f->v, head);
	return head;
}

void bfx_kick(struct bfx *f)
{
	pthread_mutex_lock(&f->b.vdev.lock);
	f->b.vdev.ops->queue_notify(&f->b.vdev, 0);
	pthread_mutex_unlock(&f->b.vdev.lock);
}

uint16_t bfx_used_idx(struct bfx *f)
{
	const uint16_t *p = (const uint16_t *)bfx_host(f, f->v.used + 2, 2);

	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void bfx_wait_used(struct bfx *f, uint16_t idx)
{
	for (int i = 0; i < 20000 && bfx_used_idx(f) != idx; i++)
		usleep(500);
	ck_assert_uint_eq(bfx_used_idx(f), idx);
}

void bfx_used_is(struct bfx *f, uint16_t idx, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	fake_vring_used_elem(&f->v, idx, &id, &l);
	ck_assert_uint_eq(id, head);
	ck_assert_uint_eq(l, len);
}

uint8_t bfx_run(struct bfx *f, const struct fake_seg *segs, unsigned int n, uint32_t *used_len)
{
	uint16_t before = bfx_used_idx(f), head;
	uint32_t id, len;

	head = bfx_publish(f, segs, n);
	bfx_kick(f);
	bfx_wait_used(f, (uint16_t)(before + 1));
	fake_vring_used_elem(&f->v, before, &id, &len);
	ck_assert_uint_eq(id, head);
	if (used_len)
		*used_len = len;
	return bfx_get8(f, segs[n - 1].addr + segs[n - 1].len - 1);
}

uint8_t bfx_rw(struct bfx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
	       uint32_t *used_len)
{
	struct fake_seg s[3];
	unsigned int n = 0;

	s[n++] = (struct fake_seg){ bfx_hdr(f, type, sector), 16, F_R };
	if (len)
		s[n++] =
			(struct fake_seg){ data, len,
					   type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID };
	s[n++] = (struct fake_seg){ bfx_status(f), 1, F_W };
	return bfx_run(f, s, n, used_len);
}

uint8_t bfx_discard(struct bfx *f, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = { .sector = sector,
						       .num_sectors = num,
						       .flags = flags };
	uint64_t hdr = bfx_hdr(f, type, 0), seg_gpa = BFX_SEGS + 16ULL * f->nreq;
	struct fake_seg s[3] = { { hdr, 16, F_R },
				 { seg_gpa, sizeof(seg), F_R },
				 { bfx_status(f), 1, F_W } };
	uint32_t used;
	uint8_t st;

	ck_assert_int_eq(gm_write(&f->m, seg_gpa, &seg, sizeof(seg)), 0);
	st = bfx_run(f, s, 3, &used);
	ck_assert_uint_eq(used, 1);
	return st;
}

void bfx_file_read(struct bfx *f, uint64_t off, void *buf, uint64_t len)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* Whether the image bytes [off, off + len) are all `byte`, or (byte < 0) the creation pattern. */
static bool file_check(struct bfx *f, uint64_t off, uint64_t len, int byte)
{
	uint8_t *buf = malloc(len);
	bool ok = true;

	ck_assert_ptr_nonnull(buf);
	bfx_file_read(f, off, buf, len);
	for (uint64_t i = 0; i < len && ok; i++)
		ok = buf[i] == (byte < 0 ? bfx_pattern(off + i) : (uint8_t)byte);
	free(buf);
	return ok;
}

bool bfx_file_is_pattern(struct bfx *f, uint64_t off, uint64_t len)
{
	return file_check(f, off, len, -1);
}

bool bfx_file_is_zero(struct bfx *f, uint64_t off, uint64_t len)
{
	return file_check(f, off, len, 0);
}

bool bfx_file_is_byte(struct bfx *f, uint64_t off, uint64_t len, uint8_t byte)
{
	return file_check(f, off, len, byte);
}

bool bfx_guest_is_pattern(struct bfx *f, uint64_t gpa, uint64_t off, uint64_t len)
{
	const uint8_t *p = bfx_host(f, gpa, len);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != bfx_pattern(off + i))
			return false;
	return true;
}
