# Fuzzing (issue 10); included by the Makefile. Not part of `make test`.
#   make fuzz        every target of tests/fuzz/ for FUZZ_SECONDS (60) each
#   make fuzz-quick  the same, FUZZ_QUICK_SECONDS (25) each: CI's bounded pass
# Targets run FUZZ_JOBS at a time (default: one per CPU), each with its own persistent
# corpus in $(BUILD)/fuzz/corpus/<target>; crash inputs go to $(BUILD)/fuzz/crashes/<target>/.
# The run ends with "fuzz: N passed, N failed, N skipped" and fails if any target crashed.
#
# libFuzzer + ASan/UBSan (LeakSanitizer included) need clang and libclang-rt-14-dev.
# The library is rebuilt for that in $(BUILD)/fuzz/obj: every reader of outside input,
# without the kernel side (kstore, engine, sets), which needs the skeleton (fuzz_event stubs
# the engine's three lookups events.c makes).

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CC      ?= $(CLANG)
FUZZ_SECONDS ?= 60
FUZZ_QUICK_SECONDS ?= 25
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(CFLAGS) -O1 -Wno-unknown-warning-option $(FUZZ_SAN)
FUZZ_LIB_SRCS := $(filter-out src/lib/kstore.c src/lib/engine%.c src/lib/sets.c,\
		   $(LIB_SRCS))
FUZZ_OBJS    := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_HDRS    := $(wildcard include/podfence/*.h src/lib/*.h)

.PHONY: fuzz fuzz-quick fuzz-build

# Coverage instrumentation in the library too (fuzzer-no-link): libFuzzer steers by it.
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@

-include $(FUZZ_OBJS:.o=.d)

$(FUZZ_DIR)/libpodfence-fuzz.a: $(FUZZ_OBJS)
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libpodfence-fuzz.a $(FUZZ_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_DIR)/libpodfence-fuzz.a $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: setup
	@$(MAKE) --no-print-directory fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-quick: setup
	@$(MAKE) --no-print-directory fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_QUICK_SECONDS) bash tests/fuzz/run.sh $(FUZZ_TARGETS)
