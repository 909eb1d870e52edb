/* vmm/trace: --trace classes, the lines it writes, and the exit table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/trace.h"

/* A trace writing into a temporary file; read() gives back what it wrote. */
struct tfx {
	struct trace t;
	char path[64];
	char out[8192];
};

static void tfx_open(struct tfx *f, unsigned int classes)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->path, "/tmp/ember-trace-XXXXXX");
	f->t.fd = mkstemp(f->path);
	ck_assert_int_ge(f->t.fd, 0);
	f->t.classes = classes;
	f->t.stats = true;
}

static const char *tfx_read(struct tfx *f)
{
	ssize_t n = pread(f->t.fd, f->out, sizeof(f->out) - 1, 0);

	ck_assert_int_ge(n, 0);
	f->out[n] = 0;
	return f->out;
}

static void tfx_close(struct tfx *f)
{
	close(f->t.fd);
	unlink(f->path);
}

START_TEST(test_classes_parse)
{
	unsigned int c;

	ck_assert_int_eq(trace_parse_classes("io", &c), 0);
	ck_assert_uint_eq(c, TRACE_IO);
	ck_assert_int_eq(trace_parse_classes("mmio,io", &c), 0);
	ck_assert_uint_eq(c, TRACE_IO | TRACE_MMIO);
	ck_assert_int_eq(trace_parse_classes("hlt,shutdown", &c), 0);
	ck_assert_uint_eq(c, TRACE_HLT | TRACE_SHUTDOWN);
	ck_assert_int_eq(trace_parse_classes("all", &c), 0);
	ck_assert_uint_eq(c, TRACE_ALL);
	ck_assert_int_eq(trace_parse_classes("io,all", &c), 0);
	ck_assert_uint_eq(c, TRACE_ALL);
	ck_assert_int_eq(trace_parse_classes("virtio,irq", &c), 0);
	ck_assert_uint_eq(c, TRACE_VIRTIO | TRACE_IRQ);
}
END_TEST

START_TEST(test_classes_bad)
{
	static const char *const bad[] = { "", ",", "io,", ",io", "IO", "i", "iox", "io,,mmio",
					   "mmio io", "virtio-net" };
	unsigned int c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(trace_parse_classes(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_access_lines)
{
	struct tfx f;
	uint8_t b = 'H';
	uint32_t w = 0xffffffff;
	uint64_t q = 0x1122334455667788ULL;

	tfx_open(&f, TRACE_IO | TRACE_MMIO);
	trace_access(&f.t, 0, false, true, 0x3f8, 1, &b, 1, "serial");
	trace_access(&f.t, 1, true, false, 0xc0001000, 4, &w, 1, NULL);
	trace_access(&f.t, 0, false, false, 0x60, 1, &b, 16, "i8042");
	trace_access(&f.t, 2, true, true, 0xfee00000, 8, &q, 1, "pci-mmio");
	ck_assert_str_eq(tfx_read(&f),
			 "trace: vcpu 0 io out port 0x3f8 len 1 data 0x48 -> serial\n"
			 "trace: vcpu 1 mmio read addr 0xc0001000 len 4 data 0xffffffff -> unhandled\n"
			 "trace: vcpu 0 io in port 0x60 len 1 data 0x48 rep 16 -> i8042\n"
			 "trace: vcpu 2 mmio write addr 0xfee00000 len 8 data 0x1122334455667788 -> pci-mmio\n");
	tfx_close(&f);
}
END_TEST

/* Each class writes its own lines and no other's. */
START_TEST(test_classes_filter_lines)
{
	struct tfx f;
	uint8_t b = 1;

	tfx_open(&f, TRACE_MMIO | TRACE_SHUTDOWN);
	trace_access(&f.t, 0, false, true, 0x3f8, 1, &b, 1, "serial");
	trace_access(&f.t, 0, true, true, 0x1000, 1, &b, 1, NULL);
	trace_event(&f.t, 0, TRACE_HLT, "hlt");
	trace_event(&f.t, 3, TRACE_SHUTDOWN, "shutdown");
	ck_assert_str_eq(tfx_read(&f), "trace: vcpu 0 mmio write addr 0x1000 len 1 data 0x1 -> unhandled\n"
				       "trace: vcpu 3 shutdown\n");
	tfx_close(&f);
	tfx_open(&f, TRACE_HLT);
	trace_event(&f.t, 0, TRACE_HLT, "hlt");
	trace_event(&f.t, 0, TRACE_SHUTDOWN, "shutdown");
	ck_assert_str_eq(tfx_read(&f), "trace: vcpu 0 hlt\n");
	tfx_close(&f);
}
END_TEST

/* Lines from device code: only their class's, whole, and none without a trace. */
START_TEST(test_device_lines)
{
	char big[400];
	struct tfx f;
	const char *out;

	tfx_open(&f, TRACE_VIRTIO);
	trace_line(&f.t, TRACE_VIRTIO, "virtio %s queue %u used %u (+%u)", "vda", 0, 16, 16);
	trace_line(&f.t, TRACE_IRQ, "irq %s msix vector %u", "vda", 1);
	trace_line(NULL, TRACE_VIRTIO, "no trace: %d", 1);
	ck_assert_str_eq(tfx_read(&f), "trace: virtio vda queue 0 used 16 (+16)\n");
	tfx_close(&f);
	tfx_open(&f, TRACE_IRQ);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	trace_line(&f.t, TRACE_IRQ, "irq %s", big); /* cut, still one line */
	out = tfx_read(&f);
	ck_assert_uint_eq(strlen(out), 255);
	ck_assert_int_eq(out[254], '\n');
	ck_assert_ptr_null(strchr(out, '\n') == out + 254 ? NULL : out);
	tfx_close(&f);
}
END_TEST

/* The table adds up every vCPU, busiest first, and names the devices by bus range. */
START_TEST(test_report_table)
{
	static const char *const pio[] = { "i8042", "serial", "exit-port" };
	static const char *const mmio[] = { "pci-mmio" };
	struct trace_stats cpu[2], sum;
	struct tfx f;
	const char *out, *serial, *exitp, *unh;

	memset(cpu, 0, sizeof(cpu));
	cpu[0].count[TRACE_R_IO] = 30;
	cpu[0].ns[TRACE_R_IO] = 60000;
	cpu[1].count[TRACE_R_IO] = 10;
	cpu[1].count[TRACE_R_MMIO] = 5;
	cpu[0].dev_count[1] = 25; /* serial */
	cpu[1].dev_count[1] = 10;
	cpu[0].dev_count[2] = 5; /* exit-port */
	cpu[1].dev_count[2 * TRACE_MAX_DEVS + 1] = 5; /* MMIO nobody took */
	memset(&sum, 0, sizeof(sum));
	trace_stats_add(&sum, &cpu[0]);
	trace_stats_add(&sum, &cpu[1]);
	tfx_open(&f, 0);
	trace_report(&f.t, &sum, pio, 3, mmio, 1);
	out = tfx_read(&f);
	ck_assert_ptr_nonnull(strstr(out, "exits: total                        45  100.0%       0.060 ms"));
	ck_assert_ptr_nonnull(strstr(out, "exits: reason io                    40   88.9%       0.060 ms      1.50 us each"));
	ck_assert_ptr_nonnull(strstr(out, "exits: reason mmio                   5"));
	serial = strstr(out, "exits: io serial                    35");
	exitp = strstr(out, "exits: io exit-port                  5");
	unh = strstr(out, "exits: mmio unhandled                5");
	ck_assert_ptr_nonnull(serial);
	ck_assert_ptr_nonnull(exitp);
	ck_assert_ptr_nonnull(unh);
	ck_assert(serial < exitp);
	ck_assert_ptr_null(strstr(out, "i8042")); /* no exits: no row */
	ck_assert_ptr_null(strstr(out, "signal"));
	tfx_close(&f);
	tfx_open(&f, TRACE_ALL);
	f.t.stats = false; /* neither --trace nor -v counted: no table */
	trace_report(&f.t, &sum, pio, 3, mmio, 1);
	ck_assert_str_eq(tfx_read(&f), "");
	tfx_close(&f);
}
END_TEST

Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");

	tcase_add_test(tc, test_classes_parse);
	tcase_add_test(tc, test_classes_bad);
	tcase_add_test(tc, test_access_lines);
	tcase_add_test(tc, test_classes_filter_lines);
	tcase_add_test(tc, test_device_lines);
	tcase_add_test(tc, test_report_table);
	suite_add_tcase(s, tc);
	return s;
}
