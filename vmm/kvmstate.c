#include "vmm/kvmstate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define XSAVE_LEGACY 4096 /* struct kvm_xsave */

/* ---- the VM ---- */

uint64_t kvmstate_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int kvmstate_save_vm(int vm_fd, const struct kvm_clock_data *clock, uint64_t realtime_ns,
		     struct snapfile_writer *w)
{
	struct kvmstate_vm s;

	memset(&s, 0, sizeof(s));
	s.pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	s.pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm_fd, KVM_GET_IRQCHIP, &s.pic[0]) < 0 ||
	    ioctl(vm_fd, KVM_GET_IRQCHIP, &s.pic[1]) < 0 ||
	    ioctl(vm_fd, KVM_GET_IRQCHIP, &s.ioapic) < 0 || ioctl(vm_fd, KVM_GET_PIT2, &s.pit) < 0)
		return -errno;
	/*
	 * The host's wall clock at the same instant: KVM's, read with the clock
	 * (KVM_CLOCK_REALTIME, where its clock is TSC-based), else the one the
	 * caller read right after it.
	 */
	s.clock = (struct kvm_clock_data){
		.clock = clock->clock, .flags = KVM_CLOCK_REALTIME,
		.realtime = (clock->flags & KVM_CLOCK_REALTIME) ? clock->realtime : realtime_ns,
	};
	snapfile_add(w, KVMSTATE_VM, 0, &s, sizeof(s));
	return 0;
}

int kvmstate_load_vm(int vm_fd, const struct snapfile *f, char why[SNAPFILE_WHY_MAX])
{
	struct kvmstate_vm s;
	struct kvm_clock_data c;
	uint64_t now;

	if (snapfile_get(f, KVMSTATE_VM, 0, &s, sizeof(s))) {
		snprintf(why, SNAPFILE_WHY_MAX, "the VM's section is missing or of another size");
		return -EBADMSG;
	}
	if (s.pic[0].chip_id != KVM_IRQCHIP_PIC_MASTER || s.pic[1].chip_id != KVM_IRQCHIP_PIC_SLAVE ||
	    s.ioapic.chip_id != KVM_IRQCHIP_IOAPIC) {
		snprintf(why, SNAPFILE_WHY_MAX, "the VM's section names other interrupt controllers");
		return -EBADMSG;
	}
	if (ioctl(vm_fd, KVM_SET_IRQCHIP, &s.pic[0]) < 0 ||
	    ioctl(vm_fd, KVM_SET_IRQCHIP, &s.pic[1]) < 0 ||
	    ioctl(vm_fd, KVM_SET_IRQCHIP, &s.ioapic) < 0 || ioctl(vm_fd, KVM_SET_PIT2, &s.pit) < 0) {
		snprintf(why, SNAPFILE_WHY_MAX, "KVM refused the interrupt controllers or the PIT: %s",
			 strerror(errno));
		return -EINVAL;
	}
	/*
	 * kvmclock goes on from the saved value plus the wall-clock time the
	 * snapshot waited, so the guest's time is not left in the past (what
	 * KVM_CLOCK_REALTIME does in KVM, done here so that any host can).
	 */
	c = (struct kvm_clock_data){ .clock = s.clock.clock };
	now = kvmstate_realtime_ns();
	if ((s.clock.flags & KVM_CLOCK_REALTIME) && now > s.clock.realtime &&
	    __builtin_add_overflow(s.clock.clock, now - s.clock.realtime, &c.clock))
		c.clock = s.clock.clock;
	if (ioctl(vm_fd, KVM_SET_CLOCK, &c) < 0) {
		snprintf(why, SNAPFILE_WHY_MAX, "KVM refused kvmclock: %s", strerror(errno));
		return -EINVAL;
	}
	return 0;
}

/* ---- MSRs ---- */

/* The MSRs KVM saves and restores, TSC first and the TSC deadline last (it counts in TSC). */
static int msr_list(int kvm_fd, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	unsigned int n;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG)
		return errno ? -errno : -EINVAL;
	if (probe.nmsrs == 0 || probe.nmsrs > KVMSTATE_MAX_MSRS)
		return -E2BIG;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return -errno;
	}
	n = l->nmsrs;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t m = l->indices[i];

		if (m == MSR_IA32_TSC && i > 0) {
			memmove(l->indices + 1, l->indices, i * sizeof(m));
			l->indices[0] = m;
		} else if (m == MSR_IA32_TSC_DEADLINE && i + 1 < n) {
			memmove(l->indices + i, l->indices + i + 1, (n - i - 1) * sizeof(m));
			l->indices[n - 1] = m;
		}
	}
	*out = l;
	return 0;
}

static struct kvm_msrs *msrs_alloc(unsigned int n)
{
	return calloc(1, sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry));
}

/*
 * Read every MSR of the list that this vCPU has: KVM_GET_MSRS stops at the
 * first it cannot read (a feature the guest was not given); that one is
 * left out and the rest read on.
 */
static int save_msrs(int kvm_fd, int vcpu_fd, unsigned int id, struct snapfile_writer *w)
{
	struct kvm_msr_list *l = NULL;
	struct kvm_msrs *batch, *got;
	unsigned int start = 0;
	int err = msr_list(kvm_fd, &l);

	if (err)
		return err;
	batch = msrs_alloc(l->nmsrs);
	got = msrs_alloc(l->nmsrs);
	if (!batch || !got) {
		err = -ENOMEM;
		goto out;
	}
	while (start < l->nmsrs) {
		int r;

		batch->nmsrs = l->nmsrs - start;
		for (unsigned int i = 0; i < batch->nmsrs; i++)
			batch->entries[i] = (struct kvm_msr_entry){ .index = l->indices[start + i] };
		r = ioctl(vcpu_fd, KVM_GET_MSRS, batch);
		if (r < 0) {
			err = -errno;
			goto out;
		}
		memcpy(got->entries + got->nmsrs, batch->entries, (size_t)r * sizeof(batch->entries[0]));
		got->nmsrs += (unsigned int)r;
		start += (unsigned int)r + 1; /* past the one it could not read, if any */
	}
	snapfile_add(w, KVMSTATE_MSRS, id, got->entries, got->nmsrs * sizeof(got->entries[0]));
out:
	free(batch);
	free(got);
	free(l);
	return err;
}

static int load_msrs(int vcpu_fd, unsigned int id, const struct snapfile *f, char *why)
{
	const struct snapfile_section *s = snapfile_find(f, KVMSTATE_MSRS, id);
	struct kvm_msrs *m;
	unsigned int n;
	int r;

	if (!s || s->len % sizeof(struct kvm_msr_entry) ||
	    s->len / sizeof(struct kvm_msr_entry) > KVMSTATE_MAX_MSRS) {
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: the MSR section is missing or malformed", id);
		return -EBADMSG;
	}
	n = (unsigned int)(s->len / sizeof(struct kvm_msr_entry));
	m = msrs_alloc(n);
	if (!m)
		return -ENOMEM;
	m->nmsrs = n;
	memcpy(m->entries, s->data, s->len);
	r = ioctl(vcpu_fd, KVM_SET_MSRS, m);
	if (r >= 0 && (unsigned int)r < n)
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: KVM refused MSR %#x = %#llx", id,
			 m->entries[r].index, (unsigned long long)m->entries[r].data);
	else if (r < 0)
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: KVM_SET_MSRS: %s", id, strerror(errno));
	free(m);
	return r >= 0 && (unsigned int)r == n ? 0 : -EINVAL;
}

/* ---- a vCPU ---- */

static size_t xsave_size(int vm_fd)
{
	int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > XSAVE_LEGACY ? (size_t)n : XSAVE_LEGACY;
}

/* One fixed-size piece of vCPU state: its ioctls and its section. */
struct piece {
	uint32_t type;
	unsigned long get, set;
	size_t size;
	const char *name;
};

static const struct piece pieces[] = {
	{ KVMSTATE_REGS, KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), "registers" },
	{ KVMSTATE_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), "special registers" },
	{ KVMSTATE_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), "XCRs" },
	{ KVMSTATE_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), "LAPIC" },
	{ KVMSTATE_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs),
	  "debug registers" },
	{ KVMSTATE_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events),
	  "events" },
	{ KVMSTATE_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state),
	  "MP state" },
};

static const struct piece *piece(uint32_t type)
{
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		if (pieces[i].type == type)
			return &pieces[i];
	return NULL;
}

int kvmstate_save_vcpu(int kvm_fd, int vm_fd, int vcpu_fd, unsigned int id,
		       struct snapfile_writer *w)
{
	size_t xs = xsave_size(vm_fd);
	uint8_t buf[sizeof(struct kvm_sregs) + sizeof(struct kvm_lapic_state)];
	void *xsave;

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		memset(buf, 0, sizeof(buf));
		if (ioctl(vcpu_fd, pieces[i].get, buf) < 0)
			return -errno;
		snapfile_add(w, pieces[i].type, id, buf, pieces[i].size);
	}
	xsave = calloc(1, xs);
	if (!xsave)
		return -ENOMEM;
	if (ioctl(vcpu_fd, xs > XSAVE_LEGACY ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, xsave) < 0) {
		int err = -errno;

		free(xsave);
		return err;
	}
	snapfile_add(w, KVMSTATE_XSAVE, id, xsave, xs);
	free(xsave);
	return save_msrs(kvm_fd, vcpu_fd, id, w);
}

static int load_piece(int vcpu_fd, unsigned int id, uint32_t type, const struct snapfile *f,
		      char *why)
{
	const struct piece *p = piece(type);
	uint8_t buf[sizeof(struct kvm_sregs) + sizeof(struct kvm_lapic_state)];

	if (snapfile_get(f, type, id, buf, p->size)) {
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: the %s section is missing or of another size",
			 id, p->name);
		return -EBADMSG;
	}
	if (ioctl(vcpu_fd, p->set, buf) < 0) {
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: KVM refused the %s: %s", id, p->name,
			 strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int load_xsave(int vm_fd, int vcpu_fd, unsigned int id, const struct snapfile *f,
		      char *why)
{
	const struct snapfile_section *s = snapfile_find(f, KVMSTATE_XSAVE, id);
	size_t xs = xsave_size(vm_fd);
	void *buf;
	int err = 0;

	if (!s || s->len < XSAVE_LEGACY || s->len > xs) {
		snprintf(why, SNAPFILE_WHY_MAX,
			 "vCPU %u: the XSAVE section is missing or larger than this host's (%zu bytes)",
			 id, xs);
		return -EBADMSG;
	}
	buf = calloc(1, xs);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, s->data, s->len);
	if (ioctl(vcpu_fd, KVM_SET_XSAVE, buf) < 0) {
		snprintf(why, SNAPFILE_WHY_MAX, "vCPU %u: KVM refused the XSAVE state: %s", id,
			 strerror(errno));
		err = -EINVAL;
	}
	free(buf);
	return err;
}

int kvmstate_load_vcpu(int vm_fd, int vcpu_fd, unsigned int id, const struct snapfile *f,
		       char why[SNAPFILE_WHY_MAX])
{
	int err = load_piece(vcpu_fd, id, KVMSTATE_SREGS, f, why);

	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_REGS, f, why);
	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_XCRS, f, why);
	if (!err)
		err = load_xsave(vm_fd, vcpu_fd, id, f, why);
	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_LAPIC, f, why);
	if (!err)
		err = load_msrs(vcpu_fd, id, f, why);
	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_DEBUGREGS, f, why);
	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_EVENTS, f, why);
	if (!err)
		err = load_piece(vcpu_fd, id, KVMSTATE_MP_STATE, f, why);
	return err;
}

/* ---- CPUID ---- */

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, unsigned int reg)
{
	switch (reg) {
	case 0:
		return e->eax;
	case 1:
		return e->ebx;
	case 2:
		return e->ecx;
	default:
		return e->edx;
	}
}

int kvmstate_check_cpuid(const struct kvm_cpuid2 *saved, const struct kvm_cpuid2 *host,
			 char why[SNAPFILE_WHY_MAX])
{
	static const struct {
		uint32_t fn, idx;
		unsigned int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
		const char *name;
	} feats[] = {
		{ 1, 0, 2, "1.ecx" },	       { 1, 0, 3, "1.edx" },	      { 7, 0, 1, "7.ebx" },
		{ 7, 0, 2, "7.ecx" },	       { 7, 0, 3, "7.edx" },	      { 0xd, 1, 0, "0xd.1.eax" },
		{ 0x80000001, 0, 2, "0x80000001.ecx" }, { 0x80000001, 0, 3, "0x80000001.edx" },
	};

	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		const struct kvm_cpuid_entry2 *s = leaf(saved, feats[i].fn, feats[i].idx);
		const struct kvm_cpuid_entry2 *h = leaf(host, feats[i].fn, feats[i].idx);
		uint32_t sv, hv;

		if (!s)
			continue;
		sv = reg_of(s, feats[i].reg);
		hv = h ? reg_of(h, feats[i].reg) : 0;
		if (sv & ~hv) {
			snprintf(why, SNAPFILE_WHY_MAX,
				 "this host's CPU lacks features the guest was using: CPUID %s bits %#x",
				 feats[i].name, sv & ~hv);
			return -ENOTSUP;
		}
	}
	return 0;
}
