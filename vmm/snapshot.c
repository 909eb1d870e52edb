#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/kvmstate.h"
#include "vmm/log.h"

#define INDEX_NIC 16 /* virtio sections: disks 0-7, NICs from 16 */
#define INDEX_HOST_BRIDGE 0
#define INDEX_PVPANIC 1
#define MAX_CPUID 256

/* The platform section: the UART and the PCI address latch. */
struct platform_state {
	struct serial_state serial;
	uint32_t pci_address;
	uint32_t reserved;
};

/* ---- describing the VM at start ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void snapshot_describe(struct snapshot_source *src, const struct cli_config *cfg,
		       struct disk *const *disks, bool has_fs_or_console)
{
	struct snapshot_config *c = &src->config;

	memset(src, 0, sizeof(*src));
	c->memory = cfg->memory;
	c->cpus = cfg->cpus;
	c->nr_disks = cfg->nr_disks;
	c->nr_nics = cfg->nr_nics;
	if (has_fs_or_console)
		copy_str(src->refuse, sizeof(src->refuse),
			 "a virtio-fs or exec console device cannot be saved (its state is another process's)");
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct cli_disk *d = &cfg->disk[i];
		struct snapshot_disk *s = &c->disk[i];
		char *abs = realpath(d->path, NULL);

		copy_str(s->path, sizeof(s->path), abs ? abs : d->path);
		free(abs);
		s->size = disks[i] ? disk_info(disks[i])->size : 0;
		s->format = (uint8_t)d->format;
		s->readonly = d->readonly;
		s->sync_io = d->sync_io;
		s->poll_us = d->poll_us;
		copy_str(s->id, sizeof(s->id), d->id);
		if (d->snapshot)
			snprintf(src->refuse, sizeof(src->refuse),
				 "disk %u has snapshot=on: its writes live in a temporary overlay", i);
	}
	for (unsigned int i = 0; i < cfg->nr_nics; i++) {
		copy_str(c->nic[i].tap, sizeof(c->nic[i].tap), cfg->nic[i].tap);
		if (cfg->nic[i].mac_set)
			memcpy(c->nic[i].mac, cfg->nic[i].mac, 6);
		else
			net_default_mac(cfg->nic[i].tap, c->nic[i].mac);
	}
}

/* ---- saving ---- */

static void save_devices(struct vm *vm, struct snapfile_writer *w)
{
	struct platform_state ps = { .pci_address = vm->pci.address };
	uint8_t cfg[PCI_CFG_SIZE];
	struct virtio_pci_state *vs = malloc(sizeof(*vs));

	serial_save(&vm->arch.serial, &ps.serial);
	snapfile_add(w, KVMSTATE_PLATFORM, 0, &ps, sizeof(ps));
	pci_dev_save(&vm->pci, &vm->pci.host_bridge, cfg);
	snapfile_add(w, KVMSTATE_PCI, INDEX_HOST_BRIDGE, cfg, sizeof(cfg));
	pci_dev_save(&vm->pci, &vm->pvpanic.pci, cfg);
	snapfile_add(w, KVMSTATE_PCI, INDEX_PVPANIC, cfg, sizeof(cfg));
	if (!vs) {
		w->err = -ENOMEM;
		return;
	}
	for (unsigned int i = 0; i < vm->nr_disks; i++) {
		virtio_pci_save(&vm->disk[i].pci, &vm->pci, vs);
		snapfile_add(w, KVMSTATE_VIRTIO, i, vs, sizeof(*vs));
	}
	for (unsigned int i = 0; i < vm->nr_nics; i++) {
		virtio_pci_save(&vm->nic[i].pci, &vm->pci, vs);
		snapfile_add(w, KVMSTATE_VIRTIO, INDEX_NIC + i, vs, sizeof(*vs));
	}
	free(vs);
}

static int build_state(struct vm *vm, const struct snapshot_source *src, struct snapfile_writer *w,
		       char *why)
{
	int err;

	snapfile_add(w, KVMSTATE_CONFIG, 0, &src->config, sizeof(src->config));
	snapfile_add(w, KVMSTATE_CPUID, 0, vm->arch.cpuid,
		     sizeof(*vm->arch.cpuid) + vm->arch.cpuid->nent * sizeof(vm->arch.cpuid->entries[0]));
	if (vm->arch.firmware)
		snapfile_add(w, KVMSTATE_FIRMWARE, 0, vm->arch.firmware, vm->arch.firmware_size);
	err = kvmstate_save_vm(vm->vm_fd, &vm->arch.paused_clock, vm->arch.paused_realtime_ns, w);
	if (err) {
		snprintf(why, SNAPFILE_WHY_MAX, "cannot read the VM's state from KVM: %s", strerror(-err));
		return err;
	}
	save_devices(vm, w);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = kvmstate_save_vcpu(vm->kvm_fd, vm->vm_fd, vm->vcpu[i].fd, i, w);
		if (err) {
			snprintf(why, SNAPFILE_WHY_MAX, "cannot read vCPU %u's state from KVM: %s", i,
				 strerror(-err));
			return err;
		}
	}
	err = snapfile_finish(w);
	if (err)
		snprintf(why, SNAPFILE_WHY_MAX, "cannot build the state file: %s", strerror(-err));
	return err;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write `name` in dfd through a temporary name: data, sync, rename. */
static int write_file(int dfd, const char *name, struct vm *vm, const struct snapfile_writer *w,
		      uint64_t *bytes)
{
	char tmp[64];
	int fd, err;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (w) {
		err = write_all(fd, w->buf, w->len);
		*bytes = w->len;
	} else {
		err = gm_save(&vm->mem, fd, bytes);
	}
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	close(fd);
	/* On failure the temporary file stays: the main thread may not remove files (seccomp). */
	if (!err && renameat(dfd, tmp, dfd, name) < 0)
		err = -errno;
	return err;
}


int snapshot_save(struct vm *vm, const struct snapshot_source *src, const char *dir,
		  struct snapshot_result *res, char why[SNAPFILE_WHY_MAX])
{
	struct snapfile_writer w;
	int dfd, err;

	memset(res, 0, sizeof(*res));
	if (src->refuse[0]) {
		snprintf(why, SNAPFILE_WHY_MAX, "%s", src->refuse);
		return -ENOTSUP;
	}
	if (!vm->arch.clock_saved) {
		snprintf(why, SNAPFILE_WHY_MAX, "kvmclock could not be read at the pause");
		return -EIO;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		err = -errno;
		snprintf(why, SNAPFILE_WHY_MAX, "cannot open directory '%.100s': %s", dir,
			 strerror(-err));
		return err;
	}
	/* Before the save, which reads every page (an untouched one then maps the zero page). */
	res->touched_bytes = gm_resident(&vm->mem);
	snapfile_writer_init(&w);
	err = build_state(vm, src, &w, why);
	if (!err) {
		err = write_file(dfd, SNAPSHOT_MEMORY, vm, NULL, &res->memory_bytes);
		if (!err)
			err = write_file(dfd, SNAPSHOT_STATE, vm, &w, &res->state_bytes);
		if (!err && fsync(dfd) < 0)
			err = -errno;
		if (err)
			snprintf(why, SNAPFILE_WHY_MAX, "cannot write the snapshot into '%.100s': %s",
				 dir, strerror(-err));
	}
	snapfile_writer_free(&w);
	close(dfd);
	return err;
}

/* ---- opening for restore ---- */

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The configuration section, checked as the command line would be. */
static int check_config(const struct snapshot_config *c, char *why)
{
	if (c->memory == 0 || (c->memory & 0xfff) || c->cpus == 0 || c->cpus > CLI_MAX_CPUS ||
	    c->nr_disks > CLI_MAX_DISKS || c->nr_nics > CLI_MAX_NICS) {
		snprintf(why, SNAPFILE_WHY_MAX, "the configuration's sizes are out of range");
		return -EBADMSG;
	}
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		const struct snapshot_disk *d = &c->disk[i];

		if (!terminated(d->path, sizeof(d->path)) || d->path[0] != '/' ||
		    !terminated(d->id, sizeof(d->id)) || d->format > DISK_FORMAT_QCOW2 ||
		    d->readonly > 1 || d->sync_io > 1 || d->poll_us < -1 || d->poll_us > CLI_POLL_US_MAX) {
			snprintf(why, SNAPFILE_WHY_MAX, "disk %u's configuration is malformed", i);
			return -EBADMSG;
		}
	}
	for (unsigned int i = 0; i < c->nr_nics; i++) {
		if (!terminated(c->nic[i].tap, sizeof(c->nic[i].tap)) || !c->nic[i].tap[0]) {
			snprintf(why, SNAPFILE_WHY_MAX, "network device %u's configuration is malformed",
				 i);
			return -EBADMSG;
		}
	}
	return 0;
}

static int read_state(struct snapshot_image *img, int dfd, const char *dir)
{
	struct stat st;
	int fd = openat(dfd, SNAPSHOT_STATE, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		log_err("cannot open snapshot '%s': %s/%s: %s", dir, dir, SNAPSHOT_STATE, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SNAPFILE_MAX_SIZE) {
		log_err("snapshot '%s': %s is not a state file (%lld bytes)", dir, SNAPSHOT_STATE,
			(long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	img->len = (size_t)st.st_size;
	img->buf = malloc(img->len);
	if (!img->buf)
		err = -ENOMEM;
	for (size_t got = 0; !err && got < img->len;) {
		ssize_t n = read(fd, img->buf + got, img->len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	close(fd);
	if (err)
		log_err("cannot read snapshot '%s': %s", dir, strerror(-err));
	return err;
}

static int open_memory(struct snapshot_image *img, int dfd, const char *dir)
{
	struct stat st;

	img->mem_fd = openat(dfd, SNAPSHOT_MEMORY, O_RDONLY | O_CLOEXEC);
	if (img->mem_fd < 0 || fstat(img->mem_fd, &st) < 0) {
		int err = -errno; /* before log_err(), which may change errno */

		log_err("cannot open snapshot '%s': %s/%s: %s", dir, dir, SNAPSHOT_MEMORY,
			strerror(-err));
		return err;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != img->config.memory) {
		log_err("snapshot '%s': %s has %lld bytes, the guest had %llu: damaged or truncated",
			dir, SNAPSHOT_MEMORY, (long long)st.st_size,
			(unsigned long long)img->config.memory);
		return -EBADMSG;
	}
	return 0;
}

static int parse_image(struct snapshot_image *img, const char *dir)
{
	const struct snapfile_section *fw;
	char why[SNAPFILE_WHY_MAX];
	int err;

	img->file = malloc(sizeof(*img->file));
	if (!img->file)
		return -ENOMEM;
	err = snapfile_parse(img->file, img->buf, img->len, KVMSTATE_MAX, why);
	if (!err && snapfile_get(img->file, KVMSTATE_CONFIG, 0, &img->config, sizeof(img->config))) {
		snprintf(why, sizeof(why), "the configuration section is missing or of another size");
		err = -EBADMSG;
	}
	if (!err)
		err = check_config(&img->config, why);
	fw = err ? NULL : snapfile_find(img->file, KVMSTATE_FIRMWARE, 0);
	if (fw) {
		img->firmware = fw->data;
		img->firmware_size = (size_t)fw->len;
	}
	if (err)
		log_err("snapshot '%s' is refused: %s", dir, why);
	return err;
}

int snapshot_open(struct snapshot_image *img, const char *dir)
{
	int dfd, err;

	memset(img, 0, sizeof(*img));
	img->mem_fd = -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_err("cannot open snapshot directory '%s': %s", dir, strerror(errno));
		return -errno;
	}
	err = read_state(img, dfd, dir);
	if (!err)
		err = parse_image(img, dir);
	if (!err)
		err = open_memory(img, dfd, dir);
	close(dfd);
	if (err)
		snapshot_close(img);
	return err;
}

void snapshot_close(struct snapshot_image *img)
{
	if (img->mem_fd >= 0)
		close(img->mem_fd);
	free(img->file);
	free(img->buf);
	snapshot_image_init(img);
}

void snapshot_to_cli(const struct snapshot_image *img, struct cli_config *cfg)
{
	const struct snapshot_config *c = &img->config;

	cfg->memory = c->memory;
	cfg->cpus = c->cpus;
	cfg->nr_disks = c->nr_disks;
	for (unsigned int i = 0; i < c->nr_disks; i++) {
		const struct snapshot_disk *d = &c->disk[i];
		struct cli_disk *o = &cfg->disk[i];

		copy_str(cfg->disk_paths[i], sizeof(cfg->disk_paths[i]), d->path);
		*o = (struct cli_disk){ .path = cfg->disk_paths[i], .format = d->format,
					.readonly = d->readonly, .sync_io = d->sync_io,
					.poll_us = d->poll_us };
		copy_str(o->id, sizeof(o->id), d->id);
	}
	cfg->nr_nics = c->nr_nics;
	for (unsigned int i = 0; i < c->nr_nics; i++) {
		struct cli_nic *n = &cfg->nic[i];

		*n = (struct cli_nic){ .mac_set = true };
		copy_str(n->tap, sizeof(n->tap), c->nic[i].tap);
		memcpy(n->mac, c->nic[i].mac, 6);
	}
}

int snapshot_check_disks(const struct snapshot_image *img, struct disk *const *disks)
{
	for (unsigned int i = 0; i < img->config.nr_disks; i++) {
		uint64_t now = disk_info(disks[i])->size, then = img->config.disk[i].size;

		if (now != then) {
			log_err("disk '%s' has %llu bytes, %llu when the snapshot was taken: refused",
				img->config.disk[i].path, (unsigned long long)now,
				(unsigned long long)then);
			return -ESTALE;
		}
	}
	return 0;
}

/* ---- loading ---- */

static int load_cpuid(struct vm *vm, const struct snapfile *f, char *why)
{
	const struct snapfile_section *s = snapfile_find(f, KVMSTATE_CPUID, 0);
	struct kvm_cpuid2 *c;
	int err;

	if (!s || s->len < sizeof(*c) ||
	    (s->len - sizeof(*c)) % sizeof(c->entries[0]) ||
	    (s->len - sizeof(*c)) / sizeof(c->entries[0]) > MAX_CPUID) {
		snprintf(why, SNAPFILE_WHY_MAX, "the CPUID section is missing or malformed");
		return -EBADMSG;
	}
	c = malloc(s->len);
	if (!c)
		return -ENOMEM;
	memcpy(c, s->data, s->len);
	c->nent = (uint32_t)((s->len - sizeof(*c)) / sizeof(c->entries[0]));
	err = kvmstate_check_cpuid(c, vm->arch.cpuid, why);
	free(c);
	return err;
}

static int load_devices(struct vm *vm, const struct snapfile *f, char *why)
{
	struct platform_state ps;
	uint8_t cfg[PCI_CFG_SIZE];
	struct virtio_pci_state *vs;
	int err = 0;

	if (snapfile_get(f, KVMSTATE_PLATFORM, 0, &ps, sizeof(ps)) ||
	    serial_load(&vm->arch.serial, &ps.serial)) {
		snprintf(why, SNAPFILE_WHY_MAX, "the serial port's section is missing or malformed");
		return -EBADMSG;
	}
	vm->pci.address = ps.pci_address;
	if (snapfile_get(f, KVMSTATE_PCI, INDEX_HOST_BRIDGE, cfg, sizeof(cfg)) == 0)
		pci_dev_load(&vm->pci, &vm->pci.host_bridge, cfg);
	if (snapfile_get(f, KVMSTATE_PCI, INDEX_PVPANIC, cfg, sizeof(cfg)) == 0)
		pci_dev_load(&vm->pci, &vm->pvpanic.pci, cfg);
	vs = malloc(sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_disks + vm->nr_nics && !err; i++) {
		bool disk = i < vm->nr_disks;
		uint32_t index = disk ? i : INDEX_NIC + (i - vm->nr_disks);
		struct virtio_pci *vp = disk ? &vm->disk[i].pci : &vm->nic[i - vm->nr_disks].pci;

		if (snapfile_get(f, KVMSTATE_VIRTIO, index, vs, sizeof(*vs)) ||
		    virtio_pci_load(vp, &vm->pci, vs)) {
			snprintf(why, SNAPFILE_WHY_MAX, "%s %u: its section is missing or malformed",
				 disk ? "disk" : "network device", disk ? i : i - vm->nr_disks);
			err = -EBADMSG;
		}
	}
	free(vs);
	return err;
}

int snapshot_load(struct vm *vm, const struct snapshot_image *img)
{
	const struct snapfile *f = img->file;
	char why[SNAPFILE_WHY_MAX] = "";
	int err = load_cpuid(vm, f, why);

	if (!err)
		err = kvmstate_load_vm(vm->vm_fd, f, why);
	if (!err)
		err = load_devices(vm, f, why);
	for (unsigned int i = 0; !err && i < vm->nr_vcpus; i++)
		err = kvmstate_load_vcpu(vm->vm_fd, vm->vcpu[i].fd, i, f, why);
	if (err) {
		log_err("cannot restore the snapshot: %s", why);
		return err;
	}
	for (unsigned int i = 0; i < vm->nr_disks; i++)
		virtio_pci_restart(&vm->disk[i].pci);
	for (unsigned int i = 0; i < vm->nr_nics; i++)
		virtio_pci_restart(&vm->nic[i].pci);
	return 0;
}
