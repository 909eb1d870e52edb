#include "vmm/trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *name;
	unsigned int bits;
} class_names[] = {
	{ "io", TRACE_IO },		{ "mmio", TRACE_MMIO }, { "hlt", TRACE_HLT },
	{ "shutdown", TRACE_SHUTDOWN }, { "irq", TRACE_IRQ },	{ "virtio", TRACE_VIRTIO },
	{ "all", TRACE_ALL },
};

static const char *const reason_names[TRACE_REASONS] = {
	[TRACE_R_IO] = "io",
	[TRACE_R_MMIO] = "mmio",
	[TRACE_R_HLT] = "hlt",
	[TRACE_R_INTR] = "signal",
	[TRACE_R_SHUTDOWN] = "shutdown",
	[TRACE_R_SYSTEM] = "system-event",
	[TRACE_R_OTHER] = "other",
};

const char *trace_reason_name(enum trace_reason r)
{
	return (unsigned int)r < TRACE_REASONS ? reason_names[r] : "?";
}

int trace_parse_classes(const char *s, unsigned int *classes)
{
	*classes = 0;
	while (*s) {
		size_t n = strcspn(s, ","), k;

		for (k = 0; k < sizeof(class_names) / sizeof(class_names[0]); k++) {
			if (strlen(class_names[k].name) == n && !strncmp(s, class_names[k].name, n))
				break;
		}
		if (k == sizeof(class_names) / sizeof(class_names[0]))
			return -EINVAL;
		*classes |= class_names[k].bits;
		s += n;
		if (*s == ',' && !*++s)
			return -EINVAL; /* a trailing comma */
	}
	return *classes ? 0 : -EINVAL;
}

uint64_t trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One line, one write(): whole lines even when several vCPUs trace at once. */
static void put_line(const struct trace *t, const char *buf, int n)
{
	if (n <= 0)
		return;
	if ((size_t)n >= 256)
		n = 255;
	if (write(t->fd, buf, (size_t)n) < 0) {
		/* A trace reader that went away loses lines, never the guest. */
	}
}

void trace_access(const struct trace *t, unsigned int cpu, bool mmio, bool is_write, uint64_t addr,
		  uint32_t len, const void *data, uint32_t count, const char *dev)
{
	const char *dir = is_write ? (mmio ? "write" : "out") : (mmio ? "read" : "in");
	char buf[256], rep[24] = "";
	uint64_t v = 0;

	if (!(t->classes & (mmio ? TRACE_MMIO : TRACE_IO)))
		return;
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v)); /* x86: little-endian, as the guest's */
	if (count > 1) /* string I/O: the first element's data */
		snprintf(rep, sizeof(rep), " rep %u", count);
	put_line(t, buf,
		 snprintf(buf, sizeof(buf), "trace: vcpu %u %s %s %s 0x%llx len %u data 0x%llx%s -> %s\n",
			  cpu, mmio ? "mmio" : "io", dir, mmio ? "addr" : "port",
			  (unsigned long long)addr, len, (unsigned long long)v, rep,
			  dev ? dev : "unhandled"));
}

void trace_line(const struct trace *t, unsigned int cls, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (!t || !(t->classes & cls))
		return;
	memcpy(buf, "trace: ", 7);
	va_start(ap, fmt);
	n = vsnprintf(buf + 7, sizeof(buf) - 8, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = n + 7 < (int)sizeof(buf) - 1 ? n + 7 : (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	put_line(t, buf, n);
}

void trace_event(const struct trace *t, unsigned int cpu, unsigned int cls, const char *what)
{
	char buf[256];

	if (t->classes & cls)
		put_line(t, buf, snprintf(buf, sizeof(buf), "trace: vcpu %u %s\n", cpu, what));
}

static void put_row(const struct trace *t, const char *what, uint64_t count, uint64_t ns,
		    uint64_t total)
{
	char buf[256];

	put_line(t, buf,
		 snprintf(buf, sizeof(buf), "exits: %-20s %10llu  %5.1f%%  %10.3f ms  %8.2f us each\n",
			  what, (unsigned long long)count, total ? 100.0 * (double)count / (double)total : 0.0,
			  (double)ns / 1e6, count ? (double)ns / 1e3 / (double)count : 0.0));
}

/* Indices of `count` (n entries) in decreasing order of count, zero counts left out. */
static unsigned int rank(const uint64_t *count, unsigned int n, unsigned int *order)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = m++;

		if (!count[i]) {
			m--;
			continue;
		}
		for (; j > 0 && count[order[j - 1]] < count[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	return m;
}

void trace_stats_add(struct trace_stats *sum, const struct trace_stats *s)
{
	for (unsigned int r = 0; r < TRACE_REASONS; r++) {
		sum->count[r] += s->count[r];
		sum->ns[r] += s->ns[r];
	}
	for (unsigned int d = 0; d < 2 * TRACE_MAX_DEVS + 2; d++) {
		sum->dev_count[d] += s->dev_count[d];
		sum->dev_ns[d] += s->dev_ns[d];
	}
}

void trace_report(const struct trace *t, const struct trace_stats *sum,
		  const char *const *pio_names, unsigned int nr_pio, const char *const *mmio_names,
		  unsigned int nr_mmio)
{
	enum { NDEV = 2 * TRACE_MAX_DEVS + 2 };
	unsigned int order[NDEV], m;
	uint64_t total = 0, total_ns = 0;
	char name[64], buf[256];

	if (!t->stats)
		return;
	for (unsigned int r = 0; r < TRACE_REASONS; r++) {
		total += sum->count[r];
		total_ns += sum->ns[r];
	}
	put_line(t, buf, snprintf(buf, sizeof(buf), "exits: %-20s %10s  %6s  %13s  %16s\n", "",
				  "count", "share", "host time", "per exit"));
	put_row(t, "total", total, total_ns, total);
	m = rank(sum->count, TRACE_REASONS, order);
	for (unsigned int i = 0; i < m; i++) {
		snprintf(name, sizeof(name), "reason %s", reason_names[order[i]]);
		put_row(t, name, sum->count[order[i]], sum->ns[order[i]], total);
	}
	m = rank(sum->dev_count, NDEV, order);
	for (unsigned int i = 0; i < m; i++) {
		unsigned int d = order[i];

		if (d == NDEV - 2 || d == NDEV - 1)
			snprintf(name, sizeof(name), "%s unhandled", d == NDEV - 2 ? "io" : "mmio");
		else if (d < TRACE_MAX_DEVS)
			snprintf(name, sizeof(name), "io %s", d < nr_pio ? pio_names[d] : "?");
		else
			snprintf(name, sizeof(name), "mmio %s",
				 d - TRACE_MAX_DEVS < nr_mmio ? mmio_names[d - TRACE_MAX_DEVS] : "?");
		put_row(t, name, sum->dev_count[d], sum->dev_ns[d], total);
	}
}
