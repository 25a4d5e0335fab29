# Benchmarks (issue 5); included by the Makefile. Not part of `make test`.
#   make bench        full run: regenerates docs/benchmarks.md and docs/img/exec-latency.png
#   make bench-quick  CI smoke run (small N, few rounds): checks the harness, not the numbers;
#                     its outputs stay under $(BUILD)/bench/
# Both need root (BPF programs, cgroups). Results as JSON: $(BUILD)/bench/*.json.

BENCH_DIR  := $(BUILD)/bench
# The report: the C harness measures and judges (results JSON); a short script lays the
# numbers out in the prose of bench/benchmarks.md.j2 (Debian's python3 and python3-jinja2).
PYTHON     ?= /usr/bin/python3
BENCH_BIN  := $(BENCH_DIR)/podfence-bench
BENCH_SRCS := $(sort $(filter-out %.bpf.c,$(wildcard bench/*.c)))
BENCH_ARGS := --podfence $(BUILD)/podfence --helper $(BUILD)/tests/helpers/pf_true \
	      --gnuplot-script bench/exec-latency.gp

# Small BPF objects of their own: the per-policy-program baseline (loaded N
# times), the probes that split podfence's BPF time into parts, and the
# per-policy-program baseline of the egress hooks (baseline_net, net.c).
$(BENCH_DIR)/%.bpf.o: bench/%.bpf.c bench/baseline.h $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ibpf -Ibench \
		-I$(BUILD) -Wall -Wno-unused-function -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BENCH_DIR)/%.skel.h: $(BENCH_DIR)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BENCH_BIN): $(BENCH_SRCS) $(wildcard bench/*.h) $(BENCH_DIR)/baseline.skel.h $(BENCH_DIR)/probe.skel.h \
	      $(BENCH_DIR)/baseline_net.skel.h \
	      $(BUILD)/libpodfence.a
	$(CC) $(CFLAGS) -Ibench -I$(BENCH_DIR) $(BENCH_SRCS) $(BUILD)/libpodfence.a $(LDLIBS) -lm -o $@

bench: setup
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(BUILD)/podfence $(BUILD)/tests/helpers
	@mkdir -p docs/img
	$(BENCH_BIN) $(BENCH_ARGS) --json $(BENCH_DIR)/results.json --plot docs/img/exec-latency.png
	$(PYTHON) bench/render_report.py $(BENCH_DIR)/results.json docs/benchmarks.md \
		docs/img/exec-latency.png

bench-quick: setup
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(BUILD)/podfence $(BUILD)/tests/helpers
	$(BENCH_BIN) $(BENCH_ARGS) --quick --json $(BENCH_DIR)/quick.json --plot $(BENCH_DIR)/quick.png
	$(PYTHON) bench/render_report.py $(BENCH_DIR)/quick.json $(BENCH_DIR)/quick.md \
		$(BENCH_DIR)/quick.png

.SECONDARY: $(BENCH_DIR)/baseline.bpf.o $(BENCH_DIR)/probe.bpf.o $(BENCH_DIR)/baseline_net.bpf.o
