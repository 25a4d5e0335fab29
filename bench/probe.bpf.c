// SPDX-License-Identifier: GPL-2.0
/*
 * Probes that split podfence's BPF time per exec into its parts, measured
 * by the kernel like the real program: `probe_empty` is the floor of any
 * program on the hook (entry, accounting, return); `probe_path` resolves the
 * executed file's path with podfence's own walk (bpf/path.bpf.h) for execs
 * in the measured cgroup (the task's view, then the walk with its checks of
 * the container's view), so the path walk's cost is known on its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "path.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 target_cgid = 0;

struct probe_buf {
	char walk[PF_WALK_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct probe_buf);
	__uint(max_entries, 1);
} probe_heap SEC(".maps");

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(probe_empty, struct task_struct *task, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(probe_path, struct task_struct *task, struct linux_binprm *bprm)
{
	__u32 zero = 0, off = PF_PATH_BUF;
	struct probe_buf *h;
	struct pf_view vw;
	bool foreign, pseudo;

	if (bpf_get_current_cgroup_id() != target_cgid)
		return 0;
	h = bpf_map_lookup_elem(&probe_heap, &zero);
	if (!h)
		return 0;
	pf_view_load(task, &vw);
	pf_resolve_path(bprm->file, &vw, h->walk, 0, &off, &foreign, &pseudo);
	return 0;
}
