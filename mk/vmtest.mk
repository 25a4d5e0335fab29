# Kernel matrix: the kernel test tier on Debian's 6.1 and 6.12 LTS kernels under
# QEMU, once per exec backend each kernel has (tests/vmtest/run.sh, docs/kernels.md).
# `make test` runs it as its "vm" tier; `make vmtest LANES="6.1-lsm"` runs some lanes.
.PHONY: vmtest

vmtest: setup
	@$(MAKE) --no-print-directory $(BUILD)/podfence $(BUILD)/tests/bpf_tests $(BUILD)/tests/helpers
	@BUILD=$(BUILD) bash tests/vmtest/run.sh $(LANES)
