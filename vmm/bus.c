#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

void bus_destroy(struct bus *b)
{
	free(b->range);
	memset(b, 0, sizeof(*b));
}

/* Index of the first range whose base is greater than addr. */
static size_t upper_bound(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->range[mid].base > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int bus_add(struct bus *b, uint64_t base, uint64_t len, const char *name,
	    const struct bus_ops *ops, void *ctx)
{
	uint64_t last;
	size_t i;

	if (b->frozen)
		return -EBUSY;
	if (len == 0 || !ops || !ops->read || !ops->write ||
	    __builtin_add_overflow(base, len - 1, &last))
		return -EINVAL;
	i = upper_bound(b, base);
	/* The range before must end before base; the range at i must start after last. */
	if (i > 0 && b->range[i - 1].base + (b->range[i - 1].len - 1) >= base)
		return -EEXIST;
	if (i < b->nr && b->range[i].base <= last)
		return -EEXIST;
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct bus_range *r = realloc(b->range, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		b->range = r;
		b->cap = cap;
	}
	memmove(&b->range[i + 1], &b->range[i], (b->nr - i) * sizeof(*b->range));
	b->range[i] = (struct bus_range){ base, len, name, ops, ctx };
	b->nr++;
	return 0;
}

void bus_freeze(struct bus *b)
{
	b->frozen = true;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint64_t len)
{
	size_t i = upper_bound(b, addr);
	const struct bus_range *r;
	uint64_t last;

	if (i == 0 || len == 0 || __builtin_add_overflow(addr, len - 1, &last))
		return NULL;
	r = &b->range[i - 1];
	if (last > r->base + (r->len - 1))
		return NULL;
	return r;
}

int bus_access(const struct bus *b, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(b, addr, len);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return -ENOENT;
	}
	if (is_write)
		r->ops->write(r->ctx, addr - r->base, data, len);
	else
		r->ops->read(r->ctx, addr - r->base, data, len);
	return 0;
}
