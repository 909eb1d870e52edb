#include "virtio/virtio.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

int virtio_dev_init(struct virtio_dev *v, const char *name, uint32_t device_id,
		    const struct virtio_dev_ops *ops, void *priv, const struct gm *mem,
		    uint64_t features, uint32_t config_size, unsigned int num_queues,
		    uint16_t queue_size)
{
	if (num_queues == 0 || num_queues > VIRTIO_MAX_QUEUES || queue_size > VQ_MAX_SIZE)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->device_id = device_id;
	v->ops = ops;
	v->priv = priv;
	v->mem = mem;
	v->host_features = features | VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC;
	v->config_size = config_size;
	v->num_queues = num_queues;
	for (unsigned int i = 0; i < num_queues; i++)
		v->qcfg[i].max_size = queue_size;
	virtio_dev_reset(v);
	return -pthread_mutex_init(&v->lock, NULL);
}

void virtio_dev_destroy(struct virtio_dev *v)
{
	pthread_mutex_destroy(&v->lock);
}

void virtio_dev_reset(struct virtio_dev *v)
{
	v->driver_features = 0;
	v->status = 0;
	v->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int i = 0; i < v->num_queues; i++) {
		uint16_t max = v->qcfg[i].max_size;

		v->qcfg[i] = (struct virtio_queue_cfg){
			.size = max, .max_size = max, .msix_vector = VIRTIO_MSI_NO_VECTOR,
		};
		vq_reset(&v->vq[i]);
	}
}

void virtio_driver_reset(struct virtio_dev *v)
{
	if (v->ops->reset)
		v->ops->reset(v);
	virtio_dev_reset(v);
}

void virtio_needs_reset(struct virtio_dev *v)
{
	if (v->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (log_limit_ok(&v->warn_limit, 10, LOG_WARN))
		log_warn("%s: the guest broke a virtqueue rule; device needs reset", v->name);
	v->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (v->transport)
		v->transport->notify_config(v);
}

void virtio_queue_interrupt(struct virtio_dev *v, unsigned int q)
{
	if (q < v->num_queues && vq_should_notify(&v->vq[q]) && v->transport) {
		v->stats[q].interrupts++;
		v->transport->notify_queue(v, q);
	}
}

void virtio_log_stats(struct virtio_dev *v, const char *label)
{
	pthread_mutex_lock(&v->lock);
	for (unsigned int q = 0; q < v->num_queues; q++)
		log_info("%s: queue %u: %llu kicks, %llu interrupts", label, q,
			 (unsigned long long)v->stats[q].kicks,
			 (unsigned long long)v->stats[q].interrupts);
	pthread_mutex_unlock(&v->lock);
}

void virtio_dev_save(struct virtio_dev *v, struct virtio_dev_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&v->lock);
	st->driver_features = v->driver_features;
	st->status = v->status;
	st->config_generation = v->config_generation;
	st->config_msix_vector = v->config_msix_vector;
	st->num_queues = v->num_queues;
	for (unsigned int i = 0; i < v->num_queues; i++) {
		const struct virtio_queue_cfg *c = &v->qcfg[i];
		struct virtio_queue_state *q = &st->q[i];
		unsigned int held = v->ops->held && v->vq[i].ready ? v->ops->held(v, i) : 0;

		*q = (struct virtio_queue_state){
			.size = c->size, .msix_vector = c->msix_vector, .enabled = c->enabled,
			.desc = c->desc, .avail = c->avail, .used = c->used,
			.last_avail = (uint16_t)(v->vq[i].last_avail - held),
			.used_idx = v->vq[i].used_idx,
		};
	}
	pthread_mutex_unlock(&v->lock);
}

static bool vector_ok(uint16_t vec, unsigned int nr_vectors)
{
	return vec == VIRTIO_MSI_NO_VECTOR || vec < nr_vectors;
}

static int load_queue(struct virtio_dev *v, unsigned int i, const struct virtio_queue_state *q,
		      unsigned int nr_vectors)
{
	struct virtio_queue_cfg *c = &v->qcfg[i];

	if (!vector_ok(q->msix_vector, nr_vectors) || q->enabled > 1 || q->size > c->max_size)
		return -EINVAL;
	c->size = q->size;
	c->msix_vector = q->msix_vector;
	c->desc = q->desc;
	c->avail = q->avail;
	c->used = q->used;
	if (!q->enabled)
		return 0;
	if (vq_setup(&v->vq[i], v->mem, q->size, q->desc, q->avail, q->used,
		     virtio_has(v, VIRTIO_FEAT_EVENT_IDX), virtio_has(v, VIRTIO_FEAT_INDIRECT_DESC)))
		return -EINVAL;
	c->enabled = true;
	v->vq[i].last_avail = q->last_avail;
	v->vq[i].used_idx = q->used_idx;
	return 0; /* signalled_valid stays false: the next completion interrupts */
}

int virtio_dev_load(struct virtio_dev *v, const struct virtio_dev_state *st,
		    unsigned int nr_vectors)
{
	int err = 0;

	if (st->num_queues != v->num_queues || (st->driver_features & ~v->host_features) ||
	    !vector_ok(st->config_msix_vector, nr_vectors))
		return -EINVAL;
	/* The status a driver could have reached: FEATURES_OK only on VERSION_1, DRIVER_OK after it. */
	if (((st->status & VIRTIO_STATUS_FEATURES_OK) &&
	     !(st->driver_features & VIRTIO_FEAT_VERSION_1)) ||
	    ((st->status & VIRTIO_STATUS_DRIVER_OK) && !(st->status & VIRTIO_STATUS_FEATURES_OK)))
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	v->driver_features = st->driver_features;
	v->config_generation = st->config_generation;
	v->config_msix_vector = st->config_msix_vector;
	for (unsigned int i = 0; i < v->num_queues && !err; i++)
		err = load_queue(v, i, &st->q[i], nr_vectors);
	if (!err) {
		v->status = st->status;
		if ((v->status & VIRTIO_STATUS_DRIVER_OK) && v->ops->activate)
			v->ops->activate(v);
	} else {
		virtio_dev_reset(v);
	}
	pthread_mutex_unlock(&v->lock);
	return err;
}
