/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two builds of the same programs. The default one needs Linux 5.18:
 * bpf_loop callbacks (the verifier checks a loop body once, whatever the
 * number of iterations), bpf_get_current_task_btf (typed reads of the task),
 * atomic compare-and-swap, bpf_get_current_ancestor_cgroup_id in tracing
 * programs and bpf_set_retval. Built with PF_COMPAT, the same sources give
 * the object that kernels from 5.10 load: user space picks it only where a
 * probe finds bpf_loop missing (src/lib/kstore.c), so newer kernels keep the
 * default programs. Each difference is one of the definitions below; the
 * decisions they take part in are the same.
 */
#ifndef PF_COMPAT_BPF_H
#define PF_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifdef PF_COMPAT

/*
 * A bounded loop (5.3+) calling the same step the default build hands to
 * bpf_loop: same iterations, same early stop. The verifier walks it
 * iteration by iteration, which the loops' small bodies keep affordable.
 */
#define pf_loop(n, step, ctx)                                                                      \
	({                                                                                         \
		for (__u32 pf_i__ = 0; pf_i__ < (__u32)(n); pf_i__++)                              \
			if (step(pf_i__, ctx))                                                     \
				break;                                                             \
	})

/*
 * A loop whose body would be too much to walk per iteration: the step is
 * also a global function, step##_global(i, slot), verified once on its own
 * (5.6+); it finds its context in a per-CPU map slot.
 */
#define pf_loop_global(n, step, ctx, slot)                                                         \
	({                                                                                         \
		for (__u32 pf_i__ = 0; pf_i__ < (__u32)(n); pf_i__++)                              \
			if (step##_global(pf_i__, slot))                                           \
				break;                                                             \
	})

/*
 * Without bpf_get_current_task_btf (5.11) the task is an untyped address,
 * and so is everything reached from it: each read is a CO-RE probe read.
 */
#define pf_kread(src, a, ...) BPF_CORE_READ(src, a, ##__VA_ARGS__)

static __always_inline struct task_struct *pf_current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* struct cgroup before 6.0 kept its ancestors' ids; later, the ancestors. */
struct cgroup___ancestor_ids {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/* bpf_get_current_ancestor_cgroup_id() for tracing programs before 5.14. */
static __always_inline __u64 pf_current_ancestor_cgroup_id(int level)
{
	struct cgroup *cg = BPF_CORE_READ(pf_current_task(), cgroups, dfl_cgrp);
	struct cgroup *anc = NULL;
	__u64 id = 0;

	if (level < 0 || level > BPF_CORE_READ(cg, level))
		return 0;
	if (bpf_core_field_exists(struct cgroup___ancestor_ids, ancestor_ids)) {
		bpf_probe_read_kernel(
		    &id, sizeof(id),
		    (char *)cg + bpf_core_field_offset(struct cgroup___ancestor_ids, ancestor_ids) +
			level * sizeof(__u64));
		return id;
	}
	bpf_probe_read_kernel(&anc, sizeof(anc),
			      (char *)cg + bpf_core_field_offset(struct cgroup, ancestors) +
				  level * sizeof(anc));
	return BPF_CORE_READ(anc, kn, id);
}

/* cgroup programs choose their errno from 5.18: before, a refusal is EPERM. */
#define pf_set_retval(err) ((void)(err))

#else /* !PF_COMPAT */

#define pf_loop(n, step, ctx)		   bpf_loop(n, step, ctx, 0)
#define pf_loop_global(n, step, ctx, slot) bpf_loop(n, step, ctx, 0)

/* Typed reads: the verifier makes them fault-safe loads, far cheaper than probe reads. */
#define pf_kread(src, a, ...)		   (___arrow(src, a, ##__VA_ARGS__))

static __always_inline struct task_struct *pf_current_task(void)
{
	return bpf_get_current_task_btf();
}

static __always_inline __u64 pf_current_ancestor_cgroup_id(int level)
{
	return bpf_get_current_ancestor_cgroup_id(level);
}

#define pf_set_retval(err) bpf_set_retval(err)

#endif /* PF_COMPAT */

#endif /* PF_COMPAT_BPF_H */
