# podfence build. One BPF object -> one skeleton, embedded in build/podfence.
# `make demo` and `make test` are the two entry points (see README.md).

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
	     -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD) -Isrc/lib
LDLIBS    := -l:libbpf.a -lelf -lz -lyaml -ljson-c -lcurl -lcrypto -lmicrohttpd -pthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Header dependencies come from the compiler (-MMD -MP: one .d file per object), so an edit
# rebuilds what includes it and nothing else; the skeleton is generated before any C is built.
DEPFLAGS  := -MMD -MP

LIB_SRCS  := $(sort $(wildcard src/lib/*.c))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c src/agent/*.c))
BPF_SRCS  := bpf/podfence.bpf.c
BPF_HDRS  := $(wildcard bpf/*.h) include/podfence/abi.h

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
SAN_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c)) tests/lib/pf_test.c tests/lib/pf_sandbox.c \
	     tests/lib/pf_memstore.c tests/lib/pf_failalloc.c tests/lib/pf_give.c
# Allocation failure injection in the unit tier (tests/lib/pf_failalloc.h).
FAILALLOC := $(foreach f,malloc calloc realloc strdup strndup asprintf open_memstream,-Wl,--wrap=$(f))
BPFT_SRCS := $(sort $(wildcard tests/bpf/*.c)) tests/lib/pf_test.c tests/lib/pf_sandbox.c \
	     tests/lib/pf_kfixture.c tests/lib/pf_memstore.c tests/lib/pf_give.c
ADV_SRCS  := $(sort $(wildcard tests/adversarial/*.c)) tests/lib/pf_test.c tests/lib/pf_sandbox.c \
	     tests/lib/pf_kfixture.c tests/lib/pf_give.c
# Test objects per suite: each suite compiles tests/lib with its own name (and the unit
# suite with the sanitizers).
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/unit/%.o)
BPFT_OBJS := $(BPFT_SRCS:%.c=$(BUILD)/bpft/%.o)
ADV_OBJS  := $(ADV_SRCS:%.c=$(BUILD)/adv/%.o)
DEPS      := $(patsubst %.o,%.d,$(LIB_OBJS) $(SAN_OBJS) $(CLI_OBJS) $(UNIT_OBJS) $(BPFT_OBJS) \
	       $(ADV_OBJS)) $(BUILD)/tests/k8s-write.d

.PHONY: all setup test test-unit test-bpf test-bpf-compat test-adversarial test-integration demo bench bench-quick \
	format format-check clean
.DELETE_ON_ERROR:

all: $(BUILD)/podfence $(BUILD)/tests/unit_tests $(BUILD)/tests/bpf_tests \
     $(BUILD)/tests/adversarial_tests $(BUILD)/tests/helpers $(BUILD)/tests/k8s-write

setup:
	@bash mk/setup.sh
	@bash mk/kubectl.sh $(BUILD)/tools/kubernetes-client

# The BPF side is compiled against the running kernel's BTF; CO-RE relocates it elsewhere.
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

# Two builds of bpf/: the default programs, and the compat ones (-DPF_COMPAT,
# bpf/compat.bpf.h) that kernels without bpf_loop load. Both are embedded;
# the loader picks one by probing the kernel.
$(BUILD)/podfence.bpf.o: $(BPF_SRCS) $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -I$(BUILD) \
		-Wall -Wno-unused-function -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/podfence_compat.bpf.o: $(BPF_SRCS) $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -DPF_COMPAT -D__TARGET_ARCH_$(ARCH) -Iinclude \
		-I$(BUILD) -Wall -Wno-unused-function -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/podfence.skel.h: $(BUILD)/podfence.bpf.o $(BUILD)/podfence_compat.bpf.o
	$(BPFTOOL) gen skeleton $< name podfence_bpf > $@
	$(BPFTOOL) gen skeleton $(BUILD)/podfence_compat.bpf.o name podfence_compat_bpf \
		> $(BUILD)/podfence_compat.skel.h

$(BUILD)/%.o: %.c | $(BUILD)/podfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c | $(BUILD)/podfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/unit/%.o: %.c | $(BUILD)/podfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -Itests/lib -DPF_TEST_SUITE='"unit"' -c $< -o $@

$(BUILD)/bpft/%.o: %.c | $(BUILD)/podfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/lib -DPF_TEST_SUITE='"bpf"' -c $< -o $@

$(BUILD)/adv/%.o: %.c | $(BUILD)/podfence.skel.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/lib -DPF_TEST_SUITE='"adversarial"' -c $< -o $@

$(BUILD)/libpodfence.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/libpodfence-san.a: $(SAN_OBJS)
	ar rcs $@ $^

$(BUILD)/podfence: $(CLI_OBJS) $(BUILD)/libpodfence.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/unit_tests: $(UNIT_OBJS) $(BUILD)/libpodfence-san.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(FAILALLOC) $^ $(LDLIBS) -o $@

$(BUILD)/tests/bpf_tests: $(BPFT_OBJS) $(BUILD)/libpodfence.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/adversarial_tests: $(ADV_OBJS) $(BUILD)/libpodfence.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# Tiny static programs executed inside test cgroups (a forbidden one must never run).
# k8s-write is not one of them: it drives the library's API writer (test_proposals.sh).
$(BUILD)/tests/helpers: $(filter-out tests/helpers/k8s-write.c,$(wildcard tests/helpers/*.c))
	@mkdir -p $@
	@for f in $^; do n=$$(basename $$f .c); \
		$(CC) -O2 -static -o $@/$$n $$f || exit 1; done
	@touch $@

# (Built outside $(BUILD)/tests/helpers, whose files are copied into test images and guests.)
$(BUILD)/tests/k8s-write: tests/helpers/k8s-write.c $(BUILD)/libpodfence.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $^ $(LDLIBS) -o $@

test: setup
	@$(MAKE) --no-print-directory all
	@bash tests/run.sh

test-unit test-bpf test-bpf-compat test-adversarial test-integration: setup
	@$(MAKE) --no-print-directory all
	@bash tests/run.sh $(@:test-%=%)

demo: setup
	@$(MAKE) --no-print-directory $(BUILD)/podfence $(BUILD)/tests/helpers
	@bash examples/demo.sh $(if $(filter runc,$(DEMO)),--runc)

# The committed .clang-format, over every C file of the tree; CI runs format-check.
FORMAT_SRCS := $(wildcard bpf/*.c bpf/*.h include/podfence/*.h src/*/*.c src/*/*.h tests/*/*.c \
		 tests/*/*.h bench/*.c bench/*.h)

format:
	clang-format -i $(FORMAT_SRCS)

format-check: setup
	@clang-format --dry-run -Werror $(FORMAT_SRCS) && echo "format-check: $(words $(FORMAT_SRCS)) files formatted"

clean:
	rm -rf $(BUILD)

# Kernel matrix under QEMU (mk/vmtest.mk), benchmarks (mk/bench.mk), fuzzing (mk/fuzz.mk).
-include mk/vmtest.mk
-include mk/bench.mk
-include mk/fuzz.mk
-include $(DEPS)

# The image's root filesystem from Debian packages (mk/image.sh): build/image/rootfs, then
# e.g. `podman build -f deploy/Containerfile -t podfence build/image`.
image-rootfs: $(BUILD)/podfence
	@bash mk/image.sh $(BUILD)/podfence $(BUILD)/image
