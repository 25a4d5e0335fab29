// SPDX-License-Identifier: GPL-2.0
/*
 * podfence's BPF programs: exactly one exec program is attached (whichever
 * backend the kernel allows), plus the cgroup tracker and one program per
 * egress hook (net.bpf.h). Every policy, binding and cgroup is map data;
 * nothing here depends on how many there are.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "podfence/abi.h"
#include "decide.bpf.h"
#include "net.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_SIGKILL 9
#define PF_EPERM   1

/* Allocation state that must survive agent restarts (ids are never reused). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_meta);
	__uint(max_entries, 1);
} meta SEC(".maps");

/*
 * Map-in-map updates make the kernel wait for every running program
 * (synchronize_rcu): user space updates this one to know that no program
 * still reads data it is about to free.
 */
struct barrier_inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} barrier_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct barrier_inner_map);
} barrier SEC(".maps") = {
    .values = {&barrier_inner},
};

/*
 * Since 6.12 the verifier refuses an LSM program unless it can prove the return
 * value is 0 or an errno (-4095..0); a negated errno byte or the hook's `ret`
 * argument proves nothing. Two separate checks narrow the register's range;
 * the barriers keep clang from folding them into one unsigned compare on a
 * copy, which would narrow only the copy.
 */
static __always_inline int pf_errno_ret(int ret)
{
	barrier_var(ret);
	if (ret > 0)
		return -PF_EPERM;
	barrier_var(ret);
	if (ret < -4095)
		return -PF_EPERM;
	return ret;
}

static __always_inline int pf_enforce_eperm(struct linux_binprm *bprm, int ret)
{
	struct pf_verdict v = {};

	if (ret)
		return pf_errno_ret(ret); /* an earlier program already refused */
	if (!pf_decide_exec(bprm->file, false, &v))
		return 0;
	if (v.kill)
		bpf_send_signal(PF_SIGKILL);
	return pf_errno_ret(-(int)(v.err ? v.err : PF_EPERM));
}

/* Tracepoints cannot fail the exec: the verdict is SIGKILL. */
static __always_inline void pf_enforce_sigkill(struct linux_binprm *bprm)
{
	struct pf_verdict v = {};

	if (pf_decide_exec(bprm->file, true, &v))
		bpf_send_signal(PF_SIGKILL);
}

/* Backend 1: BPF LSM. Runs for every binfmt stage (script, then interpreter). */
SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	return pf_enforce_eperm(bprm, ret);
}

/* Backend 2: the same decision on the LSM entry point, for kernels without bpf in lsm=. */
SEC("fmod_ret/security_bprm_check")
int BPF_PROG(fmodret_bprm_check, struct linux_binprm *bprm, int ret)
{
	return pf_enforce_eperm(bprm, ret);
}

/*
 * Backend 3 (fallback, kernel >= 6.10): the point of no return of the exec,
 * where the caller's image is still in place. The exec cannot fail any more,
 * so the verdict is SIGKILL: the new image never runs an instruction.
 */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(tp_prepare_exec, struct task_struct *task, struct linux_binprm *bprm)
{
	pf_enforce_sigkill(bprm);
	return 0;
}

/*
 * Backend 4 (older kernels): after the exec, before the return to user
 * space; SIGKILL is delivered before the new image runs. The caller's image
 * is gone here: user space clears pf_caller_from_mm and refuses matchBinaries.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	pf_enforce_sigkill(bprm);
	return 0;
}

/*
 * Pods and containers known before their cgroup exists: user space registers
 * the names the kubelet will give the pod's cgroup directory ("pod<uid>",
 * "kubepods-besteffort-pod<uid_>.slice", ...) and the runtime a container's
 * ("<id>", "cri-containerd-<id>.scope", ...: from the bundle the runtime
 * wrote first), and the cgroup is bound when it is created, before any task
 * can be moved into it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_cg_name);
	__type(value, struct pf_cg_expect);
	/* names of pods and containers not created yet: one to three each */
	__uint(max_entries, 512);
} cg_expect SEC(".maps");

static __always_inline bool pf_is_cgroup2(struct cgroup *cgrp)
{
	/* The default (v2) hierarchy has id 0; v1 hierarchies reuse inode numbers. */
	return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
}

/* A binding the kernel could not write: counted, and execs look for bound ancestors. */
static __always_inline void pf_cg_overflow(void)
{
	__u32 k = PF_CG_OVERFLOW_EVENTS;
	__u64 *events = bpf_map_lookup_elem(&cg_overflow, &k);

	pf_stat_inc(PF_STAT_CG_FULL);
	if (events)
		__sync_fetch_and_add(events, 1);
}

/*
 * A cgroup user space expects by name (a pod's, or a container's its
 * runtime announced) is bound to the workload it registered, unless its
 * parent is a running container's (anchored: a name a container chose must
 * not buy another container's rules). Any other cgroup created under a bound
 * cgroup inherits its binding now, anchor included, before any task can be
 * moved into it and exec (crun's "container" child, systemd-in-container,
 * nested runtimes).
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tp_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup_subsys_state *parent_css;
	struct pf_cg_binding nb = {}, *pb;
	struct pf_cg_name name = {};
	struct pf_cg_expect *exp;
	struct cgroup *parent;
	__u64 id, parent_id;
	long err;

	if (!pf_is_cgroup2(cgrp))
		return 0;
	parent_css = BPF_CORE_READ(cgrp, self.parent);
	if (!parent_css)
		return 0;
	parent = (struct cgroup *)((char *)parent_css - bpf_core_field_offset(struct cgroup, self));
	parent_id = BPF_CORE_READ(parent, kn, id);
	id = BPF_CORE_READ(cgrp, kn, id);
	pb = bpf_map_lookup_elem(&cg_workload, &parent_id);
	bpf_probe_read_kernel_str(name.name, sizeof(name.name), BPF_CORE_READ(cgrp, kn, name));
	exp = bpf_map_lookup_elem(&cg_expect, &name);
	if (exp && (!pb || !pb->mntns_id)) {
		nb.wl_id = exp->wl_id;
		nb.flags = exp->flags;
	} else if (pb) {
		nb = *pb;
		nb.flags &= ~PF_CG_SANDBOX;
		exp = NULL;
	} else {
		return 0;
	}
	err = bpf_map_update_elem(&cg_workload, &id, &nb, BPF_NOEXIST);
	if (!err)
		pf_stat_inc(exp ? PF_STAT_CG_EXPECTED : PF_STAT_CG_INHERITED);
	else if (err != -17 /* EEXIST: user space was first */)
		pf_cg_overflow();
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tp_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	__u64 id;

	if (!pf_is_cgroup2(cgrp))
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	bpf_map_delete_elem(&cg_workload, &id);
#ifdef PF_COMPAT
	bpf_map_delete_elem(&cg_anchor, &id);
#endif
	return 0;
}

/*
 * Not attached: user space runs it (BPF_PROG_TEST_RUN, args = cgroup id,
 * workload id, enum pf_cg_flags) to move a bound cgroup to another workload
 * in place. A map update from user space would write the whole value and
 * could erase an anchor the kernel set meanwhile. Returns 1 when the cgroup
 * is not bound.
 */
SEC("raw_tp")
int cg_rebind(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 cgid = ctx->args[0];
	struct pf_cg_binding *b = bpf_map_lookup_elem(&cg_workload, &cgid);

	if (!b)
		return 1;
	/* One aligned store: an exec reads the old workload or the new one. */
	b->wl_id = (__u32)ctx->args[1];
	b->flags = (__u32)ctx->args[2];
	return 0;
}
