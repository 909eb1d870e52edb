# Ember: a minimal KVM virtual machine monitor.
#   make            build build/ember
#   make test       unit tests (also under ASan/UBSan), micro-guests, Linux guests
#   make bench      start-up, memory, CPU per request and boot figures beside QEMU and a
#                   minimal KVM program (runs in the nested test host without /dev/kvm)
# ARCH=arm64 cross-builds a static build/arm64/ember with gcc-aarch64-linux-gnu, against the
# arm64 libraries that tests/arm64/sysroot.sh unpacks from Debian's packages (tests/deps.sh
# installs the compiler). The default is this machine's x86-64 build in build/.
ARCH ?= x86_64
CC ?= gcc
BUILD := build
ifeq ($(ARCH),arm64)
CC := aarch64-linux-gnu-gcc
BUILD := build/arm64
SYSROOT := $(BUILD)/sysroot
endif
CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
	  -D_GNU_SOURCE -I. -MMD -MP
# liburing: the standard interface to io_uring, which keeps many disk requests in flight.
# zlib and zstd: inflate the compressed clusters of qcow2 images (the two compression types
# the format defines).
# libfdt: the device tree an arm64 guest is described by (boot/fdt.c).
LIBS := -luring -lz -lzstd -lfdt
LDFLAGS := -static -pthread
ifeq ($(ARCH),arm64)
CFLAGS += -idirafter $(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Everything but main(): shared by the binary and the unit tests. What only one architecture
# builds (vmm/arch.h): x86-64's platform, boot protocol and snapshots; arm64's platform, and
# snapshots refused (vmm/snapshot_none.c).
X86_SRCS := vmm/arch_x86.c vmm/irqchip_x86.c vmm/kvmstate.c vmm/snapshot.c devices/i8042.c \
	boot/acpi.c boot/aml.c boot/bzimage.c boot/cpu.c boot/e820.c boot/linux.c
ARM64_SRCS := vmm/arch_arm64.c vmm/irqchip_arm64.c vmm/snapshot_none.c
LIB_SRCS := $(wildcard vmm/*.c devices/*.c boot/*.c virtio/*.c)
LIB_SRCS := $(filter-out vmm/main.c $(X86_SRCS) $(ARM64_SRCS),$(LIB_SRCS))
ifeq ($(ARCH),arm64)
LIB_SRCS += $(ARM64_SRCS)
else
LIB_SRCS += $(X86_SRCS)
endif
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)

UNIT_SRCS := $(wildcard tests/unit/*.c)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

GUEST_SRCS := $(wildcard tests/guests/*.c)
GUESTS := $(GUEST_SRCS:tests/guests/%.c=$(BUILD)/guests/%.bin)
GUEST_CFLAGS := -m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror -I tests/guests

.PHONY: all arm64 init guests unit test test-unit test-guests test-linux bench clean format shell
all: $(BUILD)/ember

# The guest init of `ember exec` (boot/init/): a separate static program, small (-Os, stripped),
# that boot/init_image.c embeds into Ember and the unit tests with the assembler's .incbin.
INIT_SRCS := boot/init/init.c boot/exec_spec.c
INIT_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -D_GNU_SOURCE -I.
INIT_IMAGE_OBJS := $(BUILD)/obj/boot/init_image.o $(BUILD)/san/boot/init_image.o \
	$(BUILD)/fuzz/obj/boot/init_image.o
INIT_PATH_DEF := -DEMBER_INIT_PATH='"$(BUILD)/ember-init"'

init: $(BUILD)/ember-init

$(BUILD)/ember-init: $(INIT_SRCS) boot/exec_spec.h
	@mkdir -p $(dir $@)
	$(CC) $(INIT_CFLAGS) -static -s -o $@ $(INIT_SRCS)

$(INIT_IMAGE_OBJS): $(BUILD)/ember-init
$(INIT_IMAGE_OBJS): CFLAGS += $(INIT_PATH_DEF)
$(INIT_IMAGE_OBJS): FUZZ_CFLAGS += $(INIT_PATH_DEF)

$(BUILD)/ember: $(BUILD)/obj/vmm/main.o $(LIB_OBJS)
	$(CC) -o $@ $^ $(LDFLAGS) $(LIBS)

# The same VMM built with AddressSanitizer and UBSan (dynamic: ASan cannot be static).
$(BUILD)/ember-san: $(BUILD)/san/vmm/main.o $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ -pthread $(LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# Unit tests: one Check runner over every suite, plain and sanitized.
$(BUILD)/unit: $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_OBJS)
	$(CC) -o $@ $^ -pthread $(CHECK_LIBS) $(LIBS)

$(BUILD)/unit-san: $(UNIT_SRCS:%.c=$(BUILD)/san/%.o) $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ -pthread $(CHECK_LIBS) $(LIBS)

unit: $(BUILD)/unit $(BUILD)/unit-san

ifeq ($(ARCH),arm64)
# arm64 micro-guests (tests/guests/arm64/): raw images that Ember copies to the start of RAM,
# where vCPU 0 starts at EL1 with the MMU off; run by tests/arm64/micro.sh.
A64_GUEST_CFLAGS := -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
	-mgeneral-regs-only -mstrict-align -fno-asynchronous-unwind-tables -O2 -Wall -Wextra \
	-Werror -I tests/guests/arm64
GUESTS := $(patsubst tests/guests/arm64/%.c,$(BUILD)/guests/%.bin,$(wildcard tests/guests/arm64/*.c))

guests: $(GUESTS)

$(BUILD)/guests/start.o: tests/guests/arm64/start.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(BUILD)/guests/%.bin: tests/guests/arm64/%.c $(wildcard tests/guests/arm64/*.h) \
		tests/guests/arm64/guest.ld $(BUILD)/guests/start.o
	$(CC) $(A64_GUEST_CFLAGS) -c -o $(BUILD)/guests/$*.o $<
	aarch64-linux-gnu-ld -nostdlib --no-warn-rwx-segments -T tests/guests/arm64/guest.ld \
		-o $(BUILD)/guests/$*.elf $(BUILD)/guests/start.o $(BUILD)/guests/$*.o
	aarch64-linux-gnu-objcopy -O binary $(BUILD)/guests/$*.elf $@
else
# Micro-guests: flat binaries run as --firmware images (16-bit entry at the reset vector).
guests: $(GUESTS)

$(BUILD)/guests/start.o: tests/guests/start.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $@ $<

$(BUILD)/guests/%.bin: tests/guests/%.c $(wildcard tests/guests/*.h) tests/guests/guest.ld $(BUILD)/guests/start.o
	$(CC) $(GUEST_CFLAGS) -c -o $(BUILD)/guests/$*.o $<
	ld -m elf_i386 -nostdlib -T tests/guests/guest.ld -o $(BUILD)/guests/$*.elf \
		$(BUILD)/guests/start.o $(BUILD)/guests/$*.o
	objcopy -O binary $(BUILD)/guests/$*.elf $@
endif

test-unit: unit
	CK_FORK=yes $(BUILD)/unit
	CK_FORK=no tests/unit/split.sh $(BUILD)/unit-san

test-guests: $(BUILD)/ember $(BUILD)/ember-san guests
	tests/guests/run.sh
	EMBER=$(BUILD)/ember-san tests/guests/run.sh

# Test helpers that run on the host (tests/tools/).
$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

test-linux: $(BUILD)/ember guests
	tests/linux/boot-tests.sh
	tests/linux/exec-tests.sh

# The arm64 build and micro-guests the arm64 tiers run in the arm64 test host (tests/arm64/),
# after the arm64 libraries they link (tests/arm64/sysroot.sh).
arm64:
	tests/arm64/sysroot.sh >/dev/null
	$(MAKE) --no-print-directory ARCH=arm64 build/arm64/ember guests

# The README's test command: every tier, one summary line at the end.
test: $(BUILD)/ember $(BUILD)/ember-san unit guests $(BUILD)/tools/taphold arm64
	tests/run-all.sh

# Build everything and boot the Debian kernel to an interactive shell.
shell: $(BUILD)/ember guests
	tests/linux/shell.sh

bench: $(BUILD)/ember guests
	tests/bench/bench.sh

format:
	clang-format -i $(wildcard vmm/*.[ch] devices/*.[ch] boot/*.[ch] boot/init/*.c virtio/*.[ch] \
		tests/unit/*.[ch])

clean:
	rm -rf $(BUILD)/obj $(BUILD)/san $(BUILD)/guests $(BUILD)/ember $(BUILD)/ember-san \
		$(BUILD)/ember-init $(BUILD)/unit $(BUILD)/unit-san

-include $(shell find $(BUILD)/obj $(BUILD)/san -name '*.d' 2>/dev/null)

# ---- Fuzzing: libFuzzer targets in tests/fuzz/ (see tests/fuzz/README.txt) ----
#   make fuzz-build   build/fuzz/fuzz_{vq,blk,net,bzimage,cli,vhost_user,vconsole,qcow2,api,snapfile,image}
#   make fuzz         run each for FUZZ_SECONDS (FUZZ_TARGETS to choose, FUZZ_JOBS=2 to pair them)
#   make fuzz-smoke   build, then run each for FUZZ_SMOKE_SECONDS
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_TARGETS ?= vq blk net bzimage cli vhost_user vconsole qcow2 api snapfile image
FUZZ_JOBS ?= 1
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
	-D_GNU_SOURCE -I. -MMD -MP -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
# Shared by the targets: heap-backed RAM, driver rings on the unit tests' fake vring (whose
# Check assertions abort through check_stub.c: the targets do not link libcheck).
FUZZ_COMMON := $(addprefix $(BUILD)/fuzz/obj/,tests/fuzz/ram.o tests/fuzz/ring.o \
	tests/fuzz/check_stub.o tests/unit/fake_vring.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-clean
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(FUZZ_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ -pthread $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) BUILD=$(BUILD) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) BUILD=$(BUILD) tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# Objects and binaries only: what the fuzzers found (build/fuzz/corpus, crashes) stays.
fuzz-clean:
	rm -rf $(BUILD)/fuzz/obj $(BUILD)/fuzz/fuzz_*

-include $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)
# ---- end of fuzzing ----
