// SPDX-License-Identifier: GPL-2.0
/*
 * The per-policy-program baseline: the architecture of Tetragon today (one
 * generic program per policy on the hook), reduced to its per-exec skeleton.
 * The benchmark loads one copy of this object per policy and attaches every
 * copy to the same hook, so every exec runs all of them:
 *
 *   1. policy filter: the outer map (shared by all copies, keyed by policy
 *      id) gives this policy's own map of cgroup ids; a cgroup it does not
 *      hold ends the program (what most copies do on most execs);
 *   2. the executed file's path, resolved like podfence does (same walk,
 *      bpf/path.bpf.h), into this copy's own per-CPU heap;
 *   3. one lookup in this copy's own allowlist; a miss kills the exec.
 *
 * Tetragon's generic programs do much more per copy (argument copying,
 * selector interpretation, tail calls, events), so this model is a lower
 * bound of the cost of that architecture, not a reimplementation of it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "path.bpf.h"
#include "baseline.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load: the policy this copy enforces. */
const volatile __u32 policy_id = 0;

/* Type only: the inner maps (one per policy) are created by user space. */
struct filter_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
	__uint(max_entries, BL_FILTER_MAX);
};

/* One map for all copies (user space reuses the first copy's fd), as policy_filter_maps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, BL_POLICIES_MAX);
	__array(values, struct filter_inner);
} bl_filters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bl_path_key);
	__type(value, __u8);
	__uint(max_entries, BL_PATHS_MAX);
} bl_allowed SEC(".maps");

struct bl_heap {
	char walk[PF_WALK_BUF];
	struct bl_path_key key;
};

/* Per policy and per CPU, as Tetragon's per-program heaps. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bl_heap);
	__uint(max_entries, 1);
} bl_heap SEC(".maps");

SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(bl_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 id = policy_id, zero = 0, off = PF_PATH_BUF, len;
	struct pf_view vw = {};
	struct bl_heap *h;
	bool foreign, pseudo;
	void *filter;

	filter = bpf_map_lookup_elem(&bl_filters, &id);
	if (!filter || !bpf_map_lookup_elem(filter, &cgid))
		return 0;
	h = bpf_map_lookup_elem(&bl_heap, &zero);
	if (!h)
		return 0;
	/* As Tetragon: the path against the task's own root, no check of the view. */
	vw.root_dentry = task->fs->root.dentry;
	vw.root_mnt = task->fs->root.mnt;
	vw.root_is_ns_root = true;
	if (pf_resolve_path(bprm->file, &vw, h->walk, 0, &off, &foreign, &pseudo) != PF_PATH_OK)
		goto deny;
	if (off > PF_PATH_BUF)
		off = PF_PATH_BUF;
	len = PF_PATH_BUF - off;
	if (len >= BL_PATH_LEN)
		goto deny; /* no allowed value is that long */
	__builtin_memset(&h->key, 0, sizeof(h->key));
	bpf_probe_read_kernel(h->key.path, len & (BL_PATH_LEN - 1),
			      h->walk + (off & (PF_PATH_BUF - 1)));
	if (bpf_map_lookup_elem(&bl_allowed, &h->key))
		return 0;
deny:
	bpf_send_signal(9);
	return 0;
}
