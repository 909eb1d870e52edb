#include "virtio/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/log.h"

/* What Ember's transport and rings support, when the backend offers it too. */
#define FS_FEATURES (VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC)

/*
 * The backend cannot serve the device any more: DEVICE_NEEDS_RESET (a
 * configuration interrupt tells the driver), and the VM hears of it once.
 * Lock held.
 */
static void broken(struct fs *f, const char *why)
{
	struct virtio_dev *v = &f->vdev;

	if (!f->gone)
		log_err("virtio-fs %.*s: %s", FS_TAG_MAX, f->config.tag, why);
	if (!(v->status & VIRTIO_STATUS_NEEDS_RESET)) {
		v->status |= VIRTIO_STATUS_NEEDS_RESET;
		if (v->transport)
			v->transport->notify_config(v);
	}
	if (!f->gone && f->lost) {
		f->gone = true;
		f->lost(f->lost_ctx);
	}
	f->gone = true;
}

/* Hand queue q to the backend: its size, rings, start, kick and call eventfds. */
static int start_queue(struct fs *f, unsigned int q)
{
	struct virtio_dev *v = &f->vdev;
	const struct virtio_queue_cfg *c = &v->qcfg[q];
	int kick = v->transport->kick_fd(v, q), call = v->transport->call_fd(v, q);
	int err;

	if (kick < 0 || call < 0)
		return -ENODEV;
	err = vhost_user_set_vring_num(&f->vu, q, c->size);
	if (!err)
		err = vhost_user_set_vring_addr(&f->vu, v->mem, q, c->size, c->desc, c->avail, c->used);
	if (!err)
		err = vhost_user_set_vring_base(&f->vu, q, 0);
	if (!err)
		err = vhost_user_set_vring_kick(&f->vu, q, kick);
	if (!err)
		err = vhost_user_set_vring_call(&f->vu, q, call);
	if (err)
		return err;
	f->started[q] = true;
	if (f->vu.features & VHOST_USER_F_PROTOCOL_FEATURES)
		err = vhost_user_set_vring_enable(&f->vu, q, true);
	return err;
}

/* DRIVER_OK (vCPU thread): the negotiated features, guest RAM, then each ready queue. */
static void fs_activate(struct virtio_dev *v)
{
	struct fs *f = v->priv;
	int err = -ENODEV;

	if (v->transport && v->transport->kick_fd && v->transport->call_fd)
		err = vhost_user_set_features(&f->vu, v->driver_features);
	if (!err)
		err = vhost_user_set_mem_table(&f->vu, v->mem);
	for (unsigned int q = 0; !err && q < FS_QUEUES; q++)
		if (v->qcfg[q].enabled)
			err = start_queue(f, q);
	if (err)
		broken(f, "the backend could not start the device's queues");
}

/* The driver reset the device (vCPU thread): the backend stops each queue it was given. */
static void fs_reset(struct virtio_dev *v)
{
	struct fs *f = v->priv;
	int err = 0;

	for (unsigned int q = 0; q < FS_QUEUES; q++) {
		uint16_t base;

		if (!f->started[q])
			continue;
		f->started[q] = false;
		if (!err && (f->vu.features & VHOST_USER_F_PROTOCOL_FEATURES))
			err = vhost_user_set_vring_enable(&f->vu, q, false);
		if (!err)
			err = vhost_user_get_vring_base(&f->vu, q, &base);
	}
	if (err)
		broken(f, "the backend could not stop the device's queues");
}

static void fs_config_read(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	struct fs *f = v->priv;

	memcpy(data, (const uint8_t *)&f->config + off, len); /* the transport checked the range */
}

static void fs_queue_notify(struct virtio_dev *v, unsigned int q)
{
	(void)v, (void)q; /* the backend serves the queues; the transport never calls this */
}

static const struct virtio_dev_ops fs_ops = {
	.queue_notify = fs_queue_notify,
	.activate = fs_activate,
	.reset = fs_reset,
	.config_read = fs_config_read,
	/* The configuration is read-only: no config_write. */
};

/* I/O thread: the backend's socket hung up (the only events it is watched for). */
static void backend_event(void *ctx, uint32_t events)
{
	struct fs *f = ctx;

	if (!(events & (EPOLLHUP | EPOLLERR)))
		return;
	evloop_del(f->loop, f->vu.fd);
	pthread_mutex_lock(&f->vdev.lock);
	f->watched = false;
	broken(f, "the backend closed its socket");
	pthread_mutex_unlock(&f->vdev.lock);
}

static int check_options(const struct fs_options *o)
{
	size_t n = o->tag ? strlen(o->tag) : 0;

	if (n == 0 || n > FS_TAG_MAX) {
		log_err("virtio-fs: the tag must have 1 to %d bytes, not %zu", FS_TAG_MAX, n);
		return -EINVAL;
	}
	if (!o->mem->shared) {
		log_err("virtio-fs %s: guest RAM is not shared memory (gm_init_shared())", o->tag);
		return -EINVAL;
	}
	return 0;
}

/* The hello, and what the backend must offer: VERSION_1, and two queues if it counts them. */
static int hello(struct fs *f, const char *tag)
{
	int err = vhost_user_negotiate(&f->vu, VHOST_USER_PROTOCOL_F_MQ);

	if (err) {
		log_err("virtio-fs %s: the vhost-user backend did not answer: %s", tag, strerror(-err));
		return err;
	}
	if (!(f->vu.features & VIRTIO_FEAT_VERSION_1) ||
	    (vhost_user_has(&f->vu, VHOST_USER_PROTOCOL_F_MQ) && f->vu.queue_num < FS_QUEUES)) {
		log_err("virtio-fs %s: the backend offers no VERSION_1 or fewer than %d queues", tag,
			FS_QUEUES);
		return -ENOTSUP;
	}
	return 0;
}

int fs_init(struct fs *f, int sock, const struct fs_options *o)
{
	int err;

	memset(f, 0, sizeof(*f));
	err = vhost_user_init(&f->vu, sock, o->timeout_ms);
	if (!err)
		err = check_options(o);
	if (!err)
		err = hello(f, o->tag);
	if (!err)
		err = virtio_dev_init(&f->vdev, "virtio-fs", FS_DEVICE_ID, &fs_ops, f, o->mem, 0,
				      sizeof(f->config), FS_QUEUES, FS_QUEUE_SIZE);
	if (err) {
		vhost_user_close(&f->vu);
		return err;
	}
	f->vdev.host_features = f->vu.features & FS_FEATURES;
	f->vdev.external_queues = true;
	memcpy(f->config.tag, o->tag, strlen(o->tag)); /* the rest stays zero */
	f->config.num_request_queues = 1;
	f->loop = o->loop;
	f->lost = o->lost;
	f->lost_ctx = o->lost_ctx;
	err = evloop_add(f->loop, f->vu.fd, backend_event, f);
	if (err) {
		fs_destroy(f);
		return err;
	}
	evloop_set_events(f->loop, f->vu.fd, 0); /* hang-ups only: replies are read by whoever asked */
	f->watched = true;
	return 0;
}

int fs_open(struct fs *f, const char *path, const struct fs_options *o)
{
	struct vhost_user u;
	int err = vhost_user_connect(&u, path, o->timeout_ms);

	if (err) {
		memset(f, 0, sizeof(*f));
		f->vu = u;
		log_err("virtio-fs: cannot connect to the vhost-user backend at %s: %s (is virtiofsd "
			"listening there?)",
			path, strerror(-err));
		return err;
	}
	return fs_init(f, u.fd, o);
}

void fs_destroy(struct fs *f)
{
	if (f->watched)
		evloop_del(f->loop, f->vu.fd);
	f->watched = false;
	vhost_user_close(&f->vu);
	virtio_dev_destroy(&f->vdev);
}
