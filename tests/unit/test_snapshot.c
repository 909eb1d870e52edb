/*
 * Snapshot pieces that need no KVM: the CPUID check, RAM written sparse and
 * mapped back copy-on-write, the I/O thread parked, and snapshot_open() on
 * crafted directories (the configuration section checked as the command
 * line would be, the memory file's size).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "tests/unit/tmpdir.h"
#include "vmm/evloop.h"
#include "vmm/gm.h"
#include "vmm/kvmstate.h"
#include "vmm/layout.h"
#include "vmm/snapshot.h"

#define MIB (1ULL << 20)
#define PAGE 4096ULL

/* ---- kvmstate_check_cpuid ---- */

static struct kvm_cpuid2 *cpuid_new(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	ck_assert_ptr_nonnull(c);
	c->nent = n;
	return c;
}

static void leaf_set(struct kvm_cpuid2 *c, unsigned int i, uint32_t fn, uint32_t idx, uint32_t eax,
		     uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	c->entries[i] = (struct kvm_cpuid_entry2){
		.function = fn, .index = idx, .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx
	};
}

/* The host: leaves 1, 7.0, 0xd.1, 0x80000001 with some bits each. */
static struct kvm_cpuid2 *host_cpuid(void)
{
	struct kvm_cpuid2 *h = cpuid_new(5);

	leaf_set(h, 0, 0, 0, 0xd, 0, 0, 0);
	leaf_set(h, 1, 1, 0, 0, 0, 0x80202001, 0x178bfbff);
	leaf_set(h, 2, 7, 0, 0, 0x029c67af, 0x4, 0x10);
	leaf_set(h, 3, 0xd, 1, 0xf, 0, 0, 0);
	leaf_set(h, 4, 0x80000001, 0, 0, 0, 0x121, 0x2c100800);
	return h;
}

START_TEST(test_cpuid_subset_passes)
{
	struct kvm_cpuid2 *h = host_cpuid(), *s = cpuid_new(4);
	char why[SNAPFILE_WHY_MAX] = "";

	/* Fewer bits, in another order; leaves the host lacks but the guest had none of: fine. */
	leaf_set(s, 0, 0x80000001, 0, 0, 0, 0x1, 0x100800);
	leaf_set(s, 1, 1, 0, 0xffffffff, 0xffffffff, 0x80002001, 0x178bfbff); /* eax, ebx: not compared */
	leaf_set(s, 2, 7, 0, 0, 0x029c67af, 0, 0);
	leaf_set(s, 3, 0x40000001, 0, 0xffffffff, 0, 0, 0);
	ck_assert_int_eq(kvmstate_check_cpuid(s, h, why), 0);
	ck_assert_int_eq(kvmstate_check_cpuid(h, h, why), 0);
	s->nent = 0;
	ck_assert_int_eq(kvmstate_check_cpuid(s, h, why), 0);
	free(h);
	free(s);
}
END_TEST

/* One bit more than the host in each compared register: -ENOTSUP naming the leaf. */
START_TEST(test_cpuid_missing_bit_names_the_leaf)
{
	static const struct {
		uint32_t fn, idx;
		unsigned int reg;
		uint32_t bit;
		const char *name;
	} cases[] = {
		{ 1, 0, 2, 1U << 30, "1.ecx" },	  { 1, 0, 3, 1U << 10, "1.edx" },
		{ 7, 0, 1, 1U << 16, "7.ebx" },	  { 7, 0, 2, 1U << 1, "7.ecx" },
		{ 7, 0, 3, 1U << 2, "7.edx" },	  { 0xd, 1, 0, 1U << 4, "0xd.1.eax" },
		{ 0x80000001, 0, 2, 1U << 6, "0x80000001.ecx" },
		{ 0x80000001, 0, 3, 1U << 1, "0x80000001.edx" },
	};
	struct kvm_cpuid2 *h = host_cpuid(), *s = host_cpuid();
	char why[SNAPFILE_WHY_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_cpuid_entry2 *e = NULL;
		uint32_t *r;

		memcpy(s, h, sizeof(*h) + h->nent * sizeof(h->entries[0]));
		for (unsigned int k = 0; k < s->nent; k++)
			if (s->entries[k].function == cases[i].fn && s->entries[k].index == cases[i].idx)
				e = &s->entries[k];
		ck_assert_ptr_nonnull(e);
		r = cases[i].reg == 0 ? &e->eax : cases[i].reg == 1 ? &e->ebx
						: cases[i].reg == 2 ? &e->ecx : &e->edx;
		ck_assert_uint_eq(*r & cases[i].bit, 0); /* the host lacks it */
		*r |= cases[i].bit;
		why[0] = '\0';
		ck_assert_int_eq(kvmstate_check_cpuid(s, h, why), -ENOTSUP);
		ck_assert_msg(strstr(why, cases[i].name), "'%s' does not name %s", why, cases[i].name);
	}
	/* A compared leaf the host lacks altogether: every bit of it is missing. */
	memcpy(s, h, sizeof(*h) + h->nent * sizeof(h->entries[0]));
	h->entries[3].function = 0x40000000;
	ck_assert_int_eq(kvmstate_check_cpuid(s, h, why), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(why, "0xd.1.eax"));
	free(h);
	free(s);
}
END_TEST

/* ---- gm_save and gm_init_file ---- */

static int memory_file(char *dir, size_t size, const char *name, char *path, size_t psize)
{
	int fd;

	tmpdir_create(dir, size, name);
	snprintf(path, psize, "%s/memory", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* A few non-zero pages (one run longer than gm_save's 1 MiB pieces) written sparse, mapped back. */
static void save_and_map(uint64_t ram, uint64_t hole)
{
	char dir[64], path[96];
	struct gm m, back;
	struct stat st;
	uint64_t written = 0, data = 0, gpa;
	uint8_t byte;
	int fd = memory_file(dir, sizeof(dir), "gmsave", path, sizeof(path)), rfd;

	ck_assert_int_eq(gm_init(&m, ram, hole), 0);
	m.map[0] = 1;
	m.map[5 * PAGE + 17] = 2;
	m.map[ram - 1] = 3;
	memset(m.map + 2 * MIB - PAGE, 0x77, MIB + 2 * PAGE); /* 258 pages in a row */
	data = 3 * PAGE + MIB + 2 * PAGE;
	ck_assert_int_eq(gm_save(&m, fd, &written), 0);
	ck_assert_uint_eq(written, data);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, ram);
	ck_assert_msg((uint64_t)st.st_blocks * 512 <= data + 16 * PAGE,
		      "%lld blocks for %llu bytes of data: not sparse", (long long)st.st_blocks,
		      (unsigned long long)data);
	/* Mapped back read-only, as a restore opens it. */
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_eq(gm_init_file(&back, ram, hole, rfd), 0);
	ck_assert_uint_eq(back.nr, m.nr);
	ck_assert(!memcmp(back.map, m.map, ram));
	/* The guest's writes stay in the mapping. */
	gpa = ram > hole ? LAYOUT_4G : 5 * PAGE;
	ck_assert_int_eq(gm_write(&back, gpa, "\x55", 1), 0);
	back.map[0] = 9;
	ck_assert_int_eq(pread(rfd, &byte, 1, 0), 1);
	ck_assert_uint_eq(byte, 1);
	ck_assert_int_eq(pread(rfd, &byte, 1, (off_t)(ram > hole ? hole : 5 * PAGE)), 1);
	ck_assert_uint_eq(byte, ram > hole ? m.map[hole] : 0);
	gm_destroy(&back);
	gm_destroy(&m);
	close(rfd);
	close(fd);
	tmpdir_remove(dir);
}

START_TEST(test_gm_save_sparse_and_map_back)
{
	save_and_map(4 * MIB, 4 * MIB);
}
END_TEST

START_TEST(test_gm_save_two_regions)
{
	save_and_map(4 * MIB, 3 * MIB); /* the last MiB at 4 GiB */
}
END_TEST

/* A memory file of all zeros writes nothing but its length. */
START_TEST(test_gm_save_all_zero)
{
	char dir[64], path[96];
	struct gm m;
	struct stat st;
	uint64_t written = 1;
	int fd = memory_file(dir, sizeof(dir), "gmzero", path, sizeof(path));

	ck_assert_int_eq(gm_init(&m, 2 * MIB, 2 * MIB), 0);
	ck_assert_int_eq(pwrite(fd, "junk", 4, 0), 4); /* an older file's bytes go */
	ck_assert_int_eq(gm_save(&m, fd, &written), 0);
	ck_assert_uint_eq(written, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, 2 * MIB);
	ck_assert_int_le(st.st_blocks, 16);
	gm_destroy(&m);
	close(fd);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_gm_init_file_wrong_size_or_kind)
{
	static const uint64_t sizes[] = { 0, 2 * MIB - PAGE, 2 * MIB + PAGE, 2 * MIB + 1 };
	char dir[64], path[96];
	struct gm m;
	int fd = memory_file(dir, sizeof(dir), "gmsize", path, sizeof(path)), pfd[2];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(ftruncate(fd, (off_t)sizes[i]), 0);
		ck_assert_int_eq(gm_init_file(&m, 2 * MIB, 2 * MIB, fd), -EINVAL);
		ck_assert_ptr_null(m.map);
	}
	ck_assert_int_eq(ftruncate(fd, (off_t)(2 * MIB)), 0);
	ck_assert_int_eq(gm_init_file(&m, 2 * MIB + 1, 2 * MIB, fd), -EINVAL); /* not 4K */
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(gm_init_file(&m, 2 * MIB, 2 * MIB, pfd[0]), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	ck_assert_int_eq(gm_init_file(&m, 2 * MIB, 2 * MIB, fd), 0);
	gm_destroy(&m);
	close(fd);
	tmpdir_remove(dir);
}
END_TEST

/* ---- evloop_park ---- */

struct counter {
	int fd;
	unsigned int calls; /* atomic */
};

static void count(void *ctx, uint32_t events)
{
	struct counter *c = ctx;
	uint64_t n;

	(void)events;
	if (read(c->fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: counted anyway */
	}
	__atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
}

static unsigned int calls_of(struct counter *c)
{
	return __atomic_load_n(&c->calls, __ATOMIC_SEQ_CST);
}

static void kick(struct counter *c)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(c->fd, &one, sizeof(one)), sizeof(one));
}

static void wait_for(struct counter *c, unsigned int n)
{
	for (int i = 0; i < 5000 && calls_of(c) < n; i++)
		usleep(1000);
	ck_assert_uint_eq(calls_of(c), n);
}

START_TEST(test_evloop_park_holds_handlers)
{
	struct evloop l;
	struct counter c = { .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };

	ck_assert_int_ge(c.fd, 0);
	ck_assert_int_eq(evloop_init(&l), 0);
	ck_assert_int_eq(evloop_park(&l), 0); /* no thread yet: nothing to park */
	evloop_unpark(&l);
	ck_assert_int_eq(evloop_add(&l, c.fd, count, &c), 0);
	ck_assert_int_eq(evloop_start(&l), 0);
	kick(&c);
	wait_for(&c, 1);
	for (unsigned int round = 0; round < 3; round++) {
		ck_assert_int_eq(evloop_park(&l), 0);
		kick(&c);
		usleep(50000);
		ck_assert_uint_eq(calls_of(&c), 1 + round); /* parked: not served */
		evloop_unpark(&l);
		wait_for(&c, 2 + round);
	}
	evloop_stop(&l);
	evloop_destroy(&l);
	close(c.fd);
}
END_TEST

/* ---- snapshot_open on crafted directories ---- */

#define SNAP_MEMORY (2 * MIB)

static void good_config(struct snapshot_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = SNAP_MEMORY;
	c->cpus = 2;
	c->nr_disks = 1;
	snprintf(c->disk[0].path, sizeof(c->disk[0].path), "/var/lib/vm/root.img");
	c->disk[0].size = 1 << 20;
	c->disk[0].format = DISK_FORMAT_RAW;
	c->disk[0].poll_us = -1;
	snprintf(c->disk[0].id, sizeof(c->disk[0].id), "root");
	c->nr_nics = 1;
	snprintf(c->nic[0].tap, sizeof(c->nic[0].tap), "tap0");
}

/* DIR/state with the configuration `c` (`len` bytes of it), DIR/memory of `mem` bytes (or none). */
static void write_snapshot(const char *dir, const struct snapshot_config *c, size_t len,
			   long long mem)
{
	struct snapfile_writer w;
	char path[128];
	int fd;

	snapfile_writer_init(&w);
	snapfile_add(&w, KVMSTATE_CONFIG, 0, c, len);
	ck_assert_int_eq(snapfile_finish(&w), 0);
	tmpdir_write(dir, SNAPSHOT_STATE, w.buf, w.len);
	snapfile_writer_free(&w);
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_MEMORY);
	unlink(path);
	if (mem < 0)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, mem), 0);
	close(fd);
}

static void expect_refused(const char *dir)
{
	struct snapshot_image img;

	memset(&img, 0x5a, sizeof(img));
	ck_assert_int_lt(snapshot_open(&img, dir), 0);
	ck_assert_ptr_null(img.buf);
	ck_assert_ptr_null(img.file);
	ck_assert_int_eq(img.mem_fd, -1);
}

START_TEST(test_open_good_snapshot)
{
	struct snapshot_config c;
	struct snapshot_image img;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "snapopen");
	good_config(&c);
	write_snapshot(dir, &c, sizeof(c), SNAP_MEMORY);
	ck_assert_int_eq(snapshot_open(&img, dir), 0);
	ck_assert_uint_eq(img.config.memory, SNAP_MEMORY);
	ck_assert_str_eq(img.config.disk[0].path, "/var/lib/vm/root.img");
	ck_assert_int_ge(img.mem_fd, 0);
	ck_assert_ptr_null(img.firmware);
	snapshot_close(&img);
	ck_assert_int_eq(img.mem_fd, -1);
	snapshot_close(&img); /* idempotent */
	tmpdir_remove(dir);
}
END_TEST

/* Each malformed configuration, by number. */
static void spoil_config(struct snapshot_config *c, int i)
{
	switch (i) {
	case 0: memset(c->disk[0].path, 'a', sizeof(c->disk[0].path)), c->disk[0].path[0] = '/'; break;
	case 1: snprintf(c->disk[0].path, sizeof(c->disk[0].path), "root.img"); break; /* relative */
	case 2: c->disk[0].path[0] = '\0'; break;
	case 3: c->cpus = 0; break;
	case 4: c->cpus = CLI_MAX_CPUS + 1; break;
	case 5: c->memory = SNAP_MEMORY + 1; break; /* not 4 KiB aligned */
	case 6: c->memory = SNAP_MEMORY + 2048; break;
	case 7: c->memory = 0; break;
	case 8: c->nr_disks = CLI_MAX_DISKS + 1; break;
	case 9: c->nr_disks = UINT32_MAX; break;
	case 10: c->nr_nics = CLI_MAX_NICS + 1; break;
	case 11: memset(c->disk[0].id, 'x', sizeof(c->disk[0].id)); break;
	case 12: c->disk[0].format = DISK_FORMAT_QCOW2 + 1; break;
	case 13: c->disk[0].readonly = 2; break;
	case 14: c->disk[0].sync_io = 0xff; break;
	case 15: c->disk[0].poll_us = -2; break;
	case 16: c->disk[0].poll_us = CLI_POLL_US_MAX + 1; break;
	case 17: c->nic[0].tap[0] = '\0'; break;
	case 18: memset(c->nic[0].tap, 't', sizeof(c->nic[0].tap)); break;
	default: c->nr_disks = 2; break; /* the second disk: all zeros, no path */
	}
}

#define CONFIG_SPOILS 20

START_TEST(test_open_malformed_config_refused)
{
	struct snapshot_config c;
	char dir[64];

	tmpdir_create(dir, sizeof(dir), "snapcfg");
	good_config(&c);
	spoil_config(&c, _i);
	/* The memory file fits the (spoiled) size where it can, so only the configuration is wrong. */
	write_snapshot(dir, &c, sizeof(c), c.memory && c.memory < 64 * MIB ? (long long)c.memory
									    : (long long)SNAP_MEMORY);
	expect_refused(dir);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_open_bad_files_refused)
{
	struct snapshot_config c;
	char dir[64], path[128];

	tmpdir_create(dir, sizeof(dir), "snapfiles");
	expect_refused(dir); /* empty directory */
	good_config(&c);
	write_snapshot(dir, &c, sizeof(c), -1); /* no memory file */
	expect_refused(dir);
	write_snapshot(dir, &c, sizeof(c), SNAP_MEMORY - PAGE);
	expect_refused(dir);
	write_snapshot(dir, &c, sizeof(c), SNAP_MEMORY + PAGE);
	expect_refused(dir);
	write_snapshot(dir, &c, sizeof(c), 0);
	expect_refused(dir);
	write_snapshot(dir, &c, sizeof(c) - 1, SNAP_MEMORY); /* the section of another size */
	expect_refused(dir);
	/* The memory file a directory. */
	write_snapshot(dir, &c, sizeof(c), -1);
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_MEMORY);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	expect_refused(dir);
	ck_assert_int_eq(rmdir(path), 0);
	/* A state file that is empty, or not one. */
	write_snapshot(dir, &c, sizeof(c), SNAP_MEMORY);
	tmpdir_write(dir, SNAPSHOT_STATE, "", 0);
	expect_refused(dir);
	tmpdir_write(dir, SNAPSHOT_STATE, "EMBERSNP and then nothing good", 30);
	expect_refused(dir);
	/* Not a directory at all. */
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE);
	expect_refused(path);
	tmpdir_remove(dir);
	expect_refused(dir); /* gone */
}
END_TEST

Suite *snapshot_suite(void)
{
	Suite *s = suite_create("snapshot");
	TCase *cpuid_tc = tcase_create("cpuid");
	TCase *gm_tc = tcase_create("memory");
	TCase *evloop_tc = tcase_create("park");
	TCase *open_tc = tcase_create("open");

	tcase_add_test(cpuid_tc, test_cpuid_subset_passes);
	tcase_add_test(cpuid_tc, test_cpuid_missing_bit_names_the_leaf);
	suite_add_tcase(s, cpuid_tc);
	tcase_add_test(gm_tc, test_gm_save_sparse_and_map_back);
	tcase_add_test(gm_tc, test_gm_save_two_regions);
	tcase_add_test(gm_tc, test_gm_save_all_zero);
	tcase_add_test(gm_tc, test_gm_init_file_wrong_size_or_kind);
	suite_add_tcase(s, gm_tc);
	tcase_add_test(evloop_tc, test_evloop_park_holds_handlers);
	suite_add_tcase(s, evloop_tc);
	tcase_add_test(open_tc, test_open_good_snapshot);
	tcase_add_loop_test(open_tc, test_open_malformed_config_refused, 0, CONFIG_SPOILS);
	tcase_add_test(open_tc, test_open_bad_files_refused);
	suite_add_tcase(s, open_tc);
	return s;
}
