#include "devices/msix.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CAP_MSIX 0x11
#define CTRL_ENABLE 0x8000
#define CTRL_FUNC_MASK 0x4000
#define VEC_MASKED 1U

int msix_init(struct msix *m, unsigned int nr, struct irq_router *router, int vm_fd,
	      struct pci_dev *d, uint8_t bir, uint32_t table_off, uint32_t pba_off)
{
	uint8_t body[MSIX_CAP_LEN - 2];
	uint16_t ctrl;
	uint32_t t = table_off | bir, pba = pba_off | bir;
	int err;

	memset(m, 0, sizeof(*m));
	for (unsigned int i = 0; i < MSIX_MAX_VECTORS; i++)
		m->efd[i] = -1;
	if (nr == 0 || nr > MSIX_MAX_VECTORS)
		return -EINVAL;
	m->nr = nr;
	m->router = router;
	m->vm_fd = vm_fd;
	m->dev = d;
	m->gsi_base = irq_router_alloc(router, nr);
	if (m->gsi_base < 0)
		return m->gsi_base;
	for (unsigned int i = 0; i < nr; i++) {
		m->table[i].ctrl = VEC_MASKED;
		m->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->efd[i] < 0)
			return -errno;
		err = irq_irqfd(vm_fd, m->efd[i], (uint32_t)m->gsi_base + i, true);
		if (err)
			return err;
	}
	ctrl = (uint16_t)(nr - 1);
	memcpy(body, &ctrl, 2);
	memcpy(body + 2, &t, 4);
	memcpy(body + 6, &pba, 4);
	m->cap = pci_dev_add_cap(d, CAP_MSIX, body, MSIX_CAP_LEN);
	if (m->cap < 0)
		return m->cap;
	d->wmask[m->cap + 3] = (CTRL_ENABLE | CTRL_FUNC_MASK) >> 8;
	return -pthread_mutex_init(&m->lock, NULL);
}

void msix_destroy(struct msix *m)
{
	for (unsigned int i = 0; i < MSIX_MAX_VECTORS; i++) {
		if (m->efd[i] < 0)
			continue;
		irq_irqfd(m->vm_fd, m->efd[i], (uint32_t)m->gsi_base + i, false);
		close(m->efd[i]);
		m->efd[i] = -1;
	}
	if (m->nr)
		pthread_mutex_destroy(&m->lock);
	m->nr = 0;
}

/* Push vector v's message to KVM if it changed since the last push: only as it fires. */
static void route_locked(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];
	struct msix_entry *r = &m->routed[v];

	if (m->route_valid[v] && r->addr_lo == e->addr_lo && r->addr_hi == e->addr_hi &&
	    r->data == e->data)
		return;
	*r = *e;
	m->route_valid[v] = true;
	irq_router_set_msi(m->router, (uint32_t)m->gsi_base + v,
			   ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data, m->dev->devfn, true);
}

static bool masked_locked(const struct msix *m, unsigned int v)
{
	return m->func_masked || (m->table[v].ctrl & VEC_MASKED);
}

static void fire_locked(struct msix *m, unsigned int v)
{
	uint64_t one = 1;

	route_locked(m, v);
	if (write(m->efd[v], &one, sizeof(one)) < 0) {
		/* Only fails when the counter would overflow: an interrupt is pending anyway. */
	}
}

/* Deliver what became deliverable: pending vectors that are now unmasked. */
static void flush_pending_locked(struct msix *m)
{
	if (!m->enabled)
		return;
	for (unsigned int v = 0; v < m->nr; v++) {
		if ((m->pending & (1ULL << v)) && !masked_locked(m, v)) {
			m->pending &= ~(1ULL << v);
			fire_locked(m, v);
		}
	}
}

void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0xff, len);
	/* Entries are read in aligned dwords or qwords; anything else reads as ones. */
	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > m->nr * MSIX_ENTRY_SIZE)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy(data, (uint8_t *)m->table + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len)
{
	unsigned int v = (unsigned int)(off / MSIX_ENTRY_SIZE);

	if ((len != 4 && len != 8) || (off & (len - 1)) || off + len > m->nr * MSIX_ENTRY_SIZE)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy((uint8_t *)m->table + off, data, len);
	m->table[v].ctrl &= VEC_MASKED; /* other control bits are reserved */
	/* The route follows the entry when the vector fires (fire_locked()), not
	 * here: KVM_SET_GSI_ROUTING replaces the whole table, and a guest may
	 * rewrite an unmasked entry as often as it likes. */
	flush_pending_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	if ((len != 4 && len != 8) || off + len > 8)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy(data, (uint8_t *)&m->pending + off, len);
	pthread_mutex_unlock(&m->lock);
}

void msix_config_written(struct msix *m, const struct pci_dev *d, uint32_t reg, uint32_t len)
{
	uint16_t ctrl;

	if (m->cap <= 0 || reg + len <= (uint32_t)m->cap + 2 || reg >= (uint32_t)m->cap + 4)
		return;
	memcpy(&ctrl, d->cfg + m->cap + 2, 2);
	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & CTRL_ENABLE;
	m->func_masked = ctrl & CTRL_FUNC_MASK;
	flush_pending_locked(m); /* routes what fires */
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

int msix_notify(struct msix *m, unsigned int vector)
{
	int err = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->enabled)
		err = -ENODEV;
	else if (vector >= m->nr)
		err = -EINVAL;
	else if (masked_locked(m, vector))
		m->pending |= 1ULL << vector;
	else
		fire_locked(m, vector);
	pthread_mutex_unlock(&m->lock);
	return err;
}

int msix_vector_gsi(struct msix *m, unsigned int vector)
{
	int gsi;

	if (m->nr == 0)
		return -ENODEV;
	pthread_mutex_lock(&m->lock);
	if (!m->enabled)
		gsi = -ENODEV;
	else if (vector >= m->nr)
		gsi = -EINVAL;
	else if (masked_locked(m, vector))
		gsi = -EAGAIN;
	else {
		route_locked(m, vector);
		gsi = m->gsi_base + (int)vector;
	}
	pthread_mutex_unlock(&m->lock);
	return gsi;
}

void msix_save(struct msix *m, struct msix_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&m->lock);
	st->nr = m->nr;
	st->pending = m->pending;
	memcpy(st->table, m->table, sizeof(st->table));
	pthread_mutex_unlock(&m->lock);
}

int msix_load(struct msix *m, const struct pci_dev *d, const struct msix_state *st)
{
	if (st->nr != m->nr)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	for (unsigned int v = 0; v < m->nr; v++) {
		m->table[v] = st->table[v];
		m->table[v].ctrl &= VEC_MASKED;
		m->route_valid[v] = false;
	}
	m->pending = m->nr < 64 ? st->pending & ((1ULL << m->nr) - 1) : st->pending;
	pthread_mutex_unlock(&m->lock);
	msix_config_written(m, d, (uint32_t)m->cap + 2, 2);
	return 0;
}
