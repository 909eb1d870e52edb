/*
 * boot/fdt: the device tree an arm64 guest boots with. The tree is read
 * back with libfdt and every node and property Linux needs is checked
 * (memory, PSCI CPUs, GICv3 and its ITS, timer, PL011 and its clock, the
 * ECAM host bridge with its windows, MSI map and INTx map, /chosen); dtc
 * must take it without a warning; bad descriptions and small buffers are
 * refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "boot/fdt.h"
#include "tests/unit/suites.h"

/* A platform laid out as an arm64 Ember would: GIC and UART below 1 GiB, RAM from 1 GiB. */
static struct fdt_platform plat(unsigned int cpus)
{
	return (struct fdt_platform){
		.ram_base = 0x40000000, .ram_size = 256ULL << 20, .nr_cpus = cpus,
		.gicd_base = 0x08000000, .gicd_size = 0x10000,
		.gicr_base = 0x080a0000, .gicr_size = 0x20000ULL * cpus,
		.its_base = 0x08080000, .its_size = 0x20000,
		.uart_base = 0x09000000, .uart_size = 0x1000, .uart_spi = 1, .uart_clock_hz = 24000000,
		.ecam_base = 0x3f000000, .ecam_size = 1 << 20,
		.pci_mmio_base = 0x10000000, .pci_mmio_size = 0x2eff0000,
		.pci_io_base = 0x3eff0000, .pci_io_size = 0x10000,
		.pci_slots = 32, .pci_intx_spi = 3,
		.cmdline = "console=ttyAMA0 quiet", .initrd_start = 0x48000000, .initrd_end = 0x48100000,
	};
}

static void *build(const struct fdt_platform *p)
{
	void *buf = malloc(FDT_MAX_SIZE);
	int n;

	ck_assert_ptr_nonnull(buf);
	n = fdt_build(p, buf, FDT_MAX_SIZE);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdt_check_header(buf), 0);
	ck_assert_int_eq((int)fdt_totalsize(buf), n);
	return buf;
}

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	ck_assert_msg(off >= 0, "no node %s", path);
	return off;
}

static const char *prop_str(const void *fdt, int off, const char *name)
{
	int len;
	const char *s = fdt_getprop(fdt, off, name, &len);

	ck_assert_msg(s != NULL && len > 0 && s[len - 1] == '\0', "no string %s", name);
	return s;
}

/* Property `name` as cells; its count in *n. */
static const fdt32_t *prop_cells(const void *fdt, int off, const char *name, int *n)
{
	int len;
	const fdt32_t *c = fdt_getprop(fdt, off, name, &len);

	ck_assert_msg(c != NULL && len % 4 == 0, "no cells %s", name);
	*n = len / 4;
	return c;
}

static uint32_t cell(const fdt32_t *c, int i)
{
	return fdt32_to_cpu(c[i]);
}

static uint64_t cell64(const fdt32_t *c, int i)
{
	return ((uint64_t)cell(c, i) << 32) | cell(c, i + 1);
}

START_TEST(test_root_memory_chosen)
{
	struct fdt_platform p = plat(2);
	void *fdt = build(&p);
	const fdt32_t *c;
	int off, n;
	const char *out;

	ck_assert_str_eq(prop_str(fdt, 0, "compatible"), "linux,dummy-virt");
	c = prop_cells(fdt, 0, "#address-cells", &n);
	ck_assert_uint_eq(cell(c, 0), 2);
	c = prop_cells(fdt, 0, "interrupt-parent", &n);
	ck_assert_uint_eq(cell(c, 0), fdt_get_phandle(fdt, node(fdt, "/intc@8000000")));
	off = node(fdt, "/memory@40000000");
	ck_assert_str_eq(prop_str(fdt, off, "device_type"), "memory");
	c = prop_cells(fdt, off, "reg", &n);
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(cell64(c, 0), p.ram_base);
	ck_assert_uint_eq(cell64(c, 2), p.ram_size);
	off = node(fdt, "/chosen");
	ck_assert_str_eq(prop_str(fdt, off, "bootargs"), p.cmdline);
	out = prop_str(fdt, off, "stdout-path");
	ck_assert_int_ge(fdt_path_offset(fdt, out), 0);
	ck_assert_str_eq(out, "/pl011@9000000");
	c = prop_cells(fdt, off, "linux,initrd-start", &n);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(cell64(c, 0), p.initrd_start);
	c = prop_cells(fdt, off, "linux,initrd-end", &n);
	ck_assert_uint_eq(cell64(c, 0), p.initrd_end);
	free(fdt);
}
END_TEST

START_TEST(test_no_initrd_no_cmdline)
{
	struct fdt_platform p = plat(1);
	void *fdt;
	int off;

	p.cmdline = NULL;
	p.initrd_start = p.initrd_end = 0;
	fdt = build(&p);
	off = node(fdt, "/chosen");
	ck_assert_ptr_null(fdt_getprop(fdt, off, "bootargs", NULL));
	ck_assert_ptr_null(fdt_getprop(fdt, off, "linux,initrd-start", NULL));
	free(fdt);
}
END_TEST

START_TEST(test_cpus_psci_timer)
{
	struct fdt_platform p = plat(4);
	void *fdt = build(&p);
	const fdt32_t *c;
	int off, n, count = 0;
	char path[32];

	for (unsigned int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
		off = node(fdt, path);
		ck_assert_str_eq(prop_str(fdt, off, "device_type"), "cpu");
		ck_assert_str_eq(prop_str(fdt, off, "enable-method"), "psci");
		c = prop_cells(fdt, off, "reg", &n);
		ck_assert_int_eq(n, 1);
		ck_assert_uint_eq(cell(c, 0), i);
	}
	fdt_for_each_subnode(off, fdt, node(fdt, "/cpus"))
		count++;
	ck_assert_int_eq(count, 4);
	off = node(fdt, "/psci");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, off, "arm,psci-0.2"), 0);
	ck_assert_str_eq(prop_str(fdt, off, "method"), "hvc");
	off = node(fdt, "/timer");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, off, "arm,armv8-timer"), 0);
	c = prop_cells(fdt, off, "interrupts", &n);
	ck_assert_int_eq(n, 12);
	ck_assert_uint_eq(cell(c, 0), 1);  /* PPI */
	ck_assert_uint_eq(cell(c, 1), 13); /* secure physical */
	ck_assert_uint_eq(cell(c, 7), 11); /* virtual */
	ck_assert_uint_eq(cell(c, 2), 4); /* level high, no GICv2 CPU mask */
	free(fdt);
}
END_TEST

START_TEST(test_gic_its_uart)
{
	struct fdt_platform p = plat(2);
	void *fdt = build(&p);
	const fdt32_t *c;
	int off, its, clk, n;

	off = node(fdt, "/intc@8000000");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, off, "arm,gic-v3"), 0);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, off, "interrupt-controller", NULL));
	c = prop_cells(fdt, off, "#interrupt-cells", &n);
	ck_assert_uint_eq(cell(c, 0), 3);
	c = prop_cells(fdt, off, "reg", &n);
	ck_assert_int_eq(n, 8);
	ck_assert_uint_eq(cell64(c, 0), p.gicd_base);
	ck_assert_uint_eq(cell64(c, 4), p.gicr_base);
	ck_assert_uint_eq(cell64(c, 6), p.gicr_size);
	its = node(fdt, "/intc@8000000/msi-controller@8080000");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, its, "arm,gic-v3-its"), 0);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, its, "msi-controller", NULL));
	off = node(fdt, "/pl011@9000000");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, off, "arm,pl011"), 0);
	c = prop_cells(fdt, off, "interrupts", &n);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(cell(c, 0), 0); /* SPI */
	ck_assert_uint_eq(cell(c, 1), p.uart_spi);
	c = prop_cells(fdt, off, "clocks", &n);
	ck_assert_int_eq(n, 2);
	clk = fdt_node_offset_by_phandle(fdt, cell(c, 0));
	ck_assert_int_ge(clk, 0);
	c = prop_cells(fdt, clk, "clock-frequency", &n);
	ck_assert_uint_eq(cell(c, 0), p.uart_clock_hz);
	free(fdt);
}
END_TEST

START_TEST(test_pci_host)
{
	struct fdt_platform p = plat(2);
	void *fdt = build(&p);
	const fdt32_t *c;
	int off, n;

	off = node(fdt, "/pcie@3f000000");
	ck_assert_int_eq(fdt_node_check_compatible(fdt, off, "pci-host-ecam-generic"), 0);
	ck_assert_str_eq(prop_str(fdt, off, "device_type"), "pci");
	c = prop_cells(fdt, off, "bus-range", &n);
	ck_assert_uint_eq(cell(c, 1), 0); /* 1 MiB of ECAM: bus 0 only */
	c = prop_cells(fdt, off, "reg", &n);
	ck_assert_uint_eq(cell64(c, 0), p.ecam_base);
	c = prop_cells(fdt, off, "ranges", &n);
	ck_assert_int_eq(n, 14); /* I/O and 32-bit memory, 7 cells each */
	ck_assert_uint_eq(cell(c, 0), 0x01000000);
	ck_assert_uint_eq(cell64(c, 3), p.pci_io_base);
	ck_assert_uint_eq(cell(c, 7), 0x02000000);
	ck_assert_uint_eq(cell64(c, 8), p.pci_mmio_base);
	ck_assert_uint_eq(cell64(c, 12), p.pci_mmio_size);
	c = prop_cells(fdt, off, "msi-map", &n);
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(cell(c, 1),
			  fdt_get_phandle(fdt, node(fdt, "/intc@8000000/msi-controller@8080000")));
	c = prop_cells(fdt, off, "interrupt-map", &n);
	ck_assert_int_eq(n, 32 * 4 * 10);
	/* slot 5, pin INTC (entry 5 * 4 + 2): SPI 3 + (5 + 2) % 4 = 6 */
	ck_assert_uint_eq(cell(c, (5 * 4 + 2) * 10), 5 << 11);
	ck_assert_uint_eq(cell(c, (5 * 4 + 2) * 10 + 3), 3);
	ck_assert_uint_eq(cell(c, (5 * 4 + 2) * 10 + 8), 6);
	c = prop_cells(fdt, off, "interrupt-map-mask", &n);
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(cell(c, 3), 7);
	free(fdt);
}
END_TEST

/* dtc reads the blob back to source without a warning. */
START_TEST(test_dtc_accepts)
{
	struct fdt_platform p = plat(3);
	void *fdt = build(&p);
	char dir[] = "/tmp/ember-fdt-XXXXXX", cmd[256], path[64];
	FILE *f;
	long size;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.dtb", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(fdt, 1, fdt_totalsize(fdt), f), fdt_totalsize(fdt));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s/t.dts %s 2>%s/err", dir, path, dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/err", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	ck_assert_int_eq(size, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(fdt);
}
END_TEST

START_TEST(test_refused)
{
	struct fdt_platform p = plat(1);
	char small[256];
	void *buf = malloc(FDT_MAX_SIZE);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fdt_build(&p, small, sizeof(small)), -ENOSPC);
	p.nr_cpus = 0;
	ck_assert_int_eq(fdt_build(&p, buf, FDT_MAX_SIZE), -EINVAL);
	p = plat(256);
	ck_assert_int_eq(fdt_build(&p, buf, FDT_MAX_SIZE), -EINVAL);
	p = plat(1);
	p.ram_size = 0;
	ck_assert_int_eq(fdt_build(&p, buf, FDT_MAX_SIZE), -EINVAL);
	p = plat(1);
	p.pci_slots = 33;
	ck_assert_int_eq(fdt_build(&p, buf, FDT_MAX_SIZE), -EINVAL);
	p = plat(1);
	p.ecam_size = 4096;
	ck_assert_int_eq(fdt_build(&p, buf, FDT_MAX_SIZE), -EINVAL);
	free(buf);
}
END_TEST

/* The largest description fits FDT_MAX_SIZE. */
START_TEST(test_largest_fits)
{
	struct fdt_platform p = plat(255);
	void *fdt = build(&p);
	int count = 0, off;

	fdt_for_each_subnode(off, fdt, node(fdt, "/cpus"))
		count++;
	ck_assert_int_eq(count, 255);
	/* Past 15 vCPUs, KVM's MPIDR moves on to Aff1: vCPU 16 is 0x100, 254 is 0xf0e. */
	ck_assert_uint_eq(fdt_mpidr(15), 0xf);
	ck_assert_uint_eq(fdt_mpidr(16), 0x100);
	ck_assert_uint_eq(fdt_mpidr(254), 0xf0e);
	off = node(fdt, "/cpus/cpu@f0e");
	ck_assert_uint_eq(cell(prop_cells(fdt, off, "reg", &count), 0), 0xf0e);
	free(fdt);
}
END_TEST

Suite *fdt_suite(void)
{
	Suite *s = suite_create("fdt");
	TCase *tc = tcase_create("tree");

	tcase_add_test(tc, test_root_memory_chosen);
	tcase_add_test(tc, test_no_initrd_no_cmdline);
	tcase_add_test(tc, test_cpus_psci_timer);
	tcase_add_test(tc, test_gic_its_uart);
	tcase_add_test(tc, test_pci_host);
	tcase_add_test(tc, test_dtc_accepts);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_largest_fits);
	suite_add_tcase(s, tc);
	return s;
}
