// SPDX-License-Identifier: GPL-2.0
/* placeholder: replaced by the real programs */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "podfence/abi.h"
char LICENSE[] SEC("license") = "GPL";
