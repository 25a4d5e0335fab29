/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exec decision, shared by every backend: which workload the current
 * cgroup belongs to, which rules apply to it, and whether the executed path
 * is in each rule's value sets. Work is proportional to the rules of the
 * current workload only: a cgroup lookup for unbound tasks, then one ruleset
 * lookup and one value lookup per condition.
 *
 * It fails closed: a path that cannot be resolved, or that is not the
 * container's view of the file, is denied by every enforcing policy of the
 * workload whatever its selectors say; a bound cgroup whose workload lost its
 * rules takes its nearest bound ancestor's, or denies.
 */
#ifndef PF_DECIDE_BPF_H
#define PF_DECIDE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "podfence/abi.h"
#include "path.bpf.h"

/*
 * Default sizes (user space resizes before load: agent --map-size). A hash map
 * pays 16 bytes per bucket (max_entries rounded up to a power of two) even
 * when empty: these defaults keep the fixed cost under 8 MB and hold 65,536
 * pods (two cgroups each) or 13,107 bindings of 10 values of their own
 * (measured: docs/benchmarks.md). Larger nodes size the maps at start.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct pf_cg_binding);
	__uint(max_entries, 131072);
} cg_workload SEC(".maps");

/*
 * Bindings that could not be written (cg_workload full, cgroup trees deeper
 * than user space walks): while the kernel's count differs from what user
 * space acknowledged, an exec in an unbound cgroup looks for a bound
 * ancestor. Costs nothing otherwise (two array reads on the unbound path).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, PF_CG_OVERFLOW__MAX);
} cg_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pf_ruleset_s);
	__uint(max_entries, 131072);
} wl_rules_s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pf_ruleset);
	__uint(max_entries, 4096);
} wl_rules_l SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_exact_key_s);
	__type(value, __u8);
	__uint(max_entries, 131072);
} exact_s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_exact_key_m);
	__type(value, __u8);
	__uint(max_entries, 8192);
} exact_m SEC(".maps");

#ifndef PF_COMPAT
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_exact_key_l);
	__type(value, __u8);
	__uint(max_entries, 1024);
} exact_l SEC(".maps");
#else
/* Chains of chunks (abi.h, struct pf_exact_key_chunk): up to 3 entries a value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_exact_key_chunk);
	__type(value, __u32); /* the next chunk's link */
	__uint(max_entries, 3072);
} exact_l SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_affix_key);
	__type(value, __u8);
	__uint(max_entries, 65536);
} prefix_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_affix_key);
	__type(value, __u8);
	__uint(max_entries, 65536);
} suffix_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pf_policy_counters);
	/* policies and template instances in use on the node (32,768: room for learning's
	 * table within the fixed cost; larger nodes: --map-size pol_counters=N) */
	__uint(max_entries, 32768);
} pol_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, PF_STAT__MAX);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct pf_verdict {
	bool deny;
	bool kill; /* Sigkill action: kill the caller as well */
	__u8 err;  /* errno for Override on -EPERM-capable backends */
	__u32 ev_flags;
	__u32 n_policies;
	struct pf_event_policy policies[PF_EVENT_POLICIES];
};

/*
 * Everything one exec decision needs, on the stack of the program and
 * handed to bpf_loop callbacks (each callback is verified once, whatever
 * the number of rules). In the compat build it lives in the scratch slot
 * instead, where the global rule step finds it (pf_eval_scratch()).
 */
struct pf_scratch;
struct pf_eval {
#ifndef PF_COMPAT
	struct pf_scratch *s;
#endif
	struct task_struct *task;
	struct pf_view vw;   /* where the task resolves paths from */
	bool container_view; /* vw is the container's: anchored namespace, its own root */
	__u32 n_rules;
#ifdef PF_COMPAT
	/*
	 * Its scratch slot, which the global steps take. Not in the default
	 * build: a slot number in the state handed to bpf_loop doubles what
	 * the 6.1 verifier walks (the exec program went over its 1M limit).
	 */
	__u32 slot;
#endif
	int matched_group;
	__u32 skip; /* rules known not to match (PF_RULE_SKIP_IF_IN) */
	struct pf_verdict v;
};

/* Where one subject's path is: buf[off .. PF_PATH_BUF) of its scratch buffer. */
struct pf_subj {
	__u32 off;
	__u32 len;
	__u32 state;  /* enum pf_subject_state */
	__u32 pseudo; /* a file no view names (memfd, the runtime's detached copy) */
};

enum pf_subject_state {
	PF_SUBJECT_UNRESOLVED = 0,
	PF_SUBJECT_OK,
	PF_SUBJECT_FOREIGN, /* resolved, but not in the container's view (see path.bpf.h) */
	PF_SUBJECT_FAILED,  /* unresolvable: every enforcing policy denies (fail closed) */
	PF_SUBJECT_NONE,    /* no calling binary (kernel thread): in no value set */
};

/* Per-exec scratch: too big for the 512-byte BPF stack. */
struct pf_scratch {
	char walk[PF_WALK_BUF];	  /* path of the executed file (PF_SUBJ_EXEC_PATH) */
	char caller[PF_WALK_BUF]; /* path of the calling binary (PF_SUBJ_CALLER), on demand */
	/*
	 * Lookup keys, one per subject, shared by every value map: the path
	 * always sits at offset 8; the two header words are (set id, length)
	 * for exact maps and (prefix length, big-endian set id) for LPM tries.
	 * Oversized so that zero-filling after a path of any length stays in
	 * bounds. Filled before the rules run, so the per-rule callback only
	 * sets the header words.
	 */
	struct {
		__u32 w0;
		__u32 w1;
		char path[2 * PF_EXACT_MAX];
	} key[2];
	struct pf_affix_key rev[2]; /* reversed paths, for suffix tries (on demand) */
#ifdef PF_COMPAT
	struct pf_exact_key_chunk chunk; /* the chunk of a long value being looked up */
#endif
	/*
	 * Where each subject's path is, and which reversed paths are ready:
	 * kept in the map value rather than on the stack so that the verifier
	 * does not explore the per-rule callback once per combination.
	 */
	struct pf_subj subj[2]; /* index: enum pf_subject */
	__u32 rev_ready;	/* bit per subject: rev[subject] is filled */
	__u32 rev_subject;	/* subject pf_rev_step is reversing */
	/* learning: the hash pf_learn_hash_step is computing (learn.bpf.h) */
	__u64 hash;
	__u32 hash_subject;
	__u32 hash_words;
	/*
	 * The record being learned: in the map value, not on the stack, so
	 * that the verifier does not follow each combination of kinds apart.
	 */
	struct pf_learn_key learn_key;
	__u32 learn_flags;
	/*
	 * Copy of the workload's ruleset: elements are replaced, never changed
	 * in place, so the copy is consistent, and one layout serves both classes.
	 */
	struct pf_ruleset rs;
#ifdef PF_COMPAT
	struct pf_eval ev;
#endif
};

#ifndef PF_COMPAT
#define pf_eval_scratch(e) ((e)->s)
#define pf_eval_slot(e)	   0 /* unused: the default build's loops are bpf_loop */
#else
#define pf_eval_slot(e) ((e)->slot)
/* The scratch slot the evaluation lives in (a constant offset back). */
#define pf_eval_scratch(e)                                                                         \
	((struct pf_scratch *)((char *)(e) - __builtin_offsetof(struct pf_scratch, ev)))
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_scratch);
	__uint(max_entries, PF_SCRATCH_SLOTS);
} scratch SEC(".maps");

#ifndef PF_COMPAT
/* Bit i set: scratch slot i of this CPU is in use. */
struct pf_scratch_busy {
	__u32 bits;
};
#else
/* Without compare-and-swap (5.12): per slot, how many claims are under way. */
struct pf_scratch_busy {
	__u32 claims[PF_SCRATCH_SLOTS];
};

/*
 * The mount namespace each cgroup was anchored to, for kernels without
 * compare-and-swap: the first insertion wins (BPF_NOEXIST), and every
 * racing exec copies the winner's into the binding. Removed with the cgroup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 131072);
} cg_anchor SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_scratch_busy);
	__uint(max_entries, 1);
} scratch_busy SEC(".maps");

static const char pf_zeros[PF_EXACT_MAX];
/* Cleared by user space when the hook runs after the caller's image is gone. */
const volatile bool pf_caller_from_mm = true;
/* nsfs inode of the node's own mount namespace (the runtime's); 0: unknown. */
const volatile __u32 pf_node_mntns_inum;

static __always_inline void pf_stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

/*
 * Claims a free slot of this CPU in a per-CPU map of PF_SCRATCH_SLOTS
 * entries, whose busy map is busy_map; returns the slot index or -1.
 */
static __always_inline int pf_slot_claim(void *busy_map, struct pf_scratch_busy **busy_out)
{
	__u32 zero = 0;
	struct pf_scratch_busy *busy = bpf_map_lookup_elem(busy_map, &zero);

	if (!busy)
		return -1;
	*busy_out = busy;
	for (int i = 0; i < PF_SCRATCH_SLOTS; i++) {
#ifndef PF_COMPAT
		__u32 old = busy->bits;

		if (old & (1u << i))
			continue;
		/* Another task preempting us on this CPU may claim concurrently. */
		if (__sync_val_compare_and_swap(&busy->bits, old, old | (1u << i)) == old)
			return i;
#else
		/*
		 * The slot is ours when our add made its count 1: a program
		 * nested on this CPU in between sees 2 and gives up the slot.
		 * (The add's result unused: an XADD, which 5.10 has.)
		 */
		__sync_fetch_and_add(&busy->claims[i], 1);
		if (*(volatile __u32 *)&busy->claims[i] == 1)
			return i;
		__sync_fetch_and_add(&busy->claims[i], -1);
#endif
	}
	return -1;
}

static __always_inline int pf_scratch_claim(struct pf_scratch_busy **busy_out)
{
	return pf_slot_claim(&scratch_busy, busy_out);
}

static __always_inline void pf_scratch_release(struct pf_scratch_busy *busy, int slot)
{
#ifndef PF_COMPAT
	__sync_fetch_and_and(&busy->bits, ~(1u << slot));
#else
	__sync_fetch_and_add(&busy->claims[slot & (PF_SCRATCH_SLOTS - 1)], -1);
#endif
}

static long pf_rev_step(__u32 i, void *ctx)
{
	struct pf_eval *e = ctx;
	struct pf_scratch *s = pf_eval_scratch(e);
	__u32 subj = s->rev_subject & 1;

	if (i >= PF_AFFIX_MAX || i >= s->subj[subj].len)
		return 1;
	/* Paths end at PF_PATH_BUF, so their reverse is read from the end. */
	if (subj == PF_SUBJ_CALLER)
		s->rev[1].path[i] = s->caller[(PF_PATH_BUF - 1 - i) & (PF_PATH_BUF - 1)];
	else
		s->rev[0].path[i] = s->walk[(PF_PATH_BUF - 1 - i) & (PF_PATH_BUF - 1)];
	return 0;
}

#ifdef PF_COMPAT
__noinline int pf_rev_step_global(__u32 i, __u32 slot)
{
	struct pf_scratch *s = bpf_map_lookup_elem(&scratch, &slot);

	return s ? pf_rev_step(i, &s->ev) : 1;
}
#endif

/*
 * Key = the subject's path (all of it, or the head kept for prefix tries),
 * then zeros up to the size of the one exact tier its length selects
 * (pf_exact_tier(): spelt out here on the length itself, so that each branch
 * keeps a constant bound for the verifier): only that many key bytes are
 * ever hashed. Called with a constant subject.
 */
static __always_inline void pf_key_load(struct pf_eval *e, __u32 subj)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	struct pf_subj *sj = &s->subj[subj];
	__u32 len = sj->len, n = len <= PF_EXACT_MAX ? len : PF_AFFIX_MAX;
	char *key = s->key[subj].path;
	const char *src = subj == PF_SUBJ_CALLER ? s->caller : s->walk;

	barrier_var(n);
	if (n > PF_EXACT_MAX)
		n = PF_EXACT_MAX;
	bpf_probe_read_kernel(key, n, src + (sj->off & (PF_PATH_BUF - 1)));
	if (n <= PF_EXACT_S)
		bpf_probe_read_kernel(key + n, PF_EXACT_S - n, pf_zeros);
	else if (n <= PF_EXACT_M)
		bpf_probe_read_kernel(key + n, PF_EXACT_M - n, pf_zeros);
	else
		bpf_probe_read_kernel(key + n, PF_EXACT_MAX - n, pf_zeros);
#ifdef PF_COMPAT
	/* the last chunk of a long value reaches past PF_EXACT_MAX (pf_exact_chunks_in) */
	if (n > PF_EXACT_M)
		bpf_probe_read_kernel(key + PF_EXACT_MAX,
				      PF_EXACT_CHUNKS * PF_EXACT_CHUNK - PF_EXACT_MAX, pf_zeros);
#endif
}

#ifdef PF_COMPAT
/* Whether the subject's path, of tier L, is a value of set_id: its chain of chunks. */
static __always_inline bool pf_exact_chunks_in(struct pf_scratch *s, __u32 subj, __u32 set_id,
					       __u32 len)
{
	struct pf_exact_key_chunk *k = &s->chunk;
	__u32 link = 0, *next;

	for (__u32 i = 0; i < PF_EXACT_CHUNKS; i++) {
		if (i * PF_EXACT_CHUNK >= len)
			break;
		k->set_id = set_id;
		k->len = len;
		k->link = link;
		/* zero past the path: pf_key_load() cleared the key to the end of the last chunk */
		bpf_probe_read_kernel(k->part, PF_EXACT_CHUNK,
				      s->key[subj & 1].path + i * PF_EXACT_CHUNK);
		next = bpf_map_lookup_elem(&exact_l, k);
		if (!next)
			return false;
		link = *next;
	}
	return true;
}
#endif

/* Whether the subject's path is in the condition's value set. */
static __always_inline bool pf_path_in_set(struct pf_eval *e, const struct pf_cond *c)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	__u32 subj = c->subject == PF_SUBJ_CALLER ? PF_SUBJ_CALLER : PF_SUBJ_EXEC_PATH;
	__u32 len = s->subj[subj].len;
	__u32 n = len < PF_AFFIX_MAX ? len : PF_AFFIX_MAX;
	void *key = &s->key[subj];
	struct pf_affix_key *rev = &s->rev[subj];

	switch (c->match) {
	case PF_MATCH_EXACT: {
		__u8 tier = pf_exact_tier(len);

		/* Only the tier of this length can hold it, if the set has values there. */
		if (!(c->tiers & tier))
			return false;
		s->key[subj].w0 = c->set_id;
		s->key[subj].w1 = len;
		if (tier == PF_TIER_S)
			return bpf_map_lookup_elem(&exact_s, key);
		if (tier == PF_TIER_M)
			return bpf_map_lookup_elem(&exact_m, key);
#ifndef PF_COMPAT
		return bpf_map_lookup_elem(&exact_l, key);
#else
		return pf_exact_chunks_in(s, subj, c->set_id, len);
#endif
	}
	case PF_MATCH_PREFIX:
		s->key[subj].w0 = 32 + 8 * n;
		s->key[subj].w1 = bpf_htonl(c->set_id);
		return bpf_map_lookup_elem(&prefix_trie, key) != NULL;
	case PF_MATCH_SUFFIX:
		if (!(s->rev_ready & (1u << subj))) {
			s->rev_subject = subj;
			pf_loop_global(PF_AFFIX_MAX, pf_rev_step, e, pf_eval_slot(e));
			s->rev_ready |= 1u << subj;
		}
		rev->prefixlen = 32 + 8 * n;
		rev->set_id_be = bpf_htonl(c->set_id);
		return bpf_map_lookup_elem(&suffix_trie, rev) != NULL;
	}
	return false;
}

/*
 * The calling binary, resolved once before the rules when one of them needs
 * it (resolving inside the per-rule callback would make the verifier walk
 * the path code once per condition): current->mm->exe_file, which
 * every backend sees before the new image replaces it (LSM and fmod_ret run
 * in the binfmt search, sched_prepare_exec before the point of no return).
 */
static __always_inline void pf_caller_resolve(struct pf_eval *e)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	struct pf_subj *sj = &s->subj[PF_SUBJ_CALLER];
	/* a local: CO-RE reads must start from kernel types, not from our struct */
	struct task_struct *task = e->task;
	struct mm_struct *mm = pf_kread(task, mm);
	struct file *exe = mm ? pf_kread(mm, exe_file) : NULL;
	__u32 off = PF_PATH_BUF;
	bool foreign, pseudo;

	if (!pf_caller_from_mm || !exe) {
		sj->state = PF_SUBJECT_NONE;
		return;
	}
	if (pf_resolve_path(exe, &e->vw, s->caller, pf_eval_slot(e), &off, &foreign, &pseudo) !=
	    PF_PATH_OK) {
		sj->state = PF_SUBJECT_FAILED;
		pf_stat_inc(PF_STAT_PATH_FAILED);
		e->v.ev_flags |= PF_EV_PATH_FAILED;
		return;
	}
	if (off > PF_PATH_BUF)
		off = PF_PATH_BUF;
	sj->off = off;
	sj->len = PF_PATH_BUF - off;
	/*
	 * The runtime's private copy of itself: runc init execs a container's
	 * entrypoint (and kubectl exec's command) from a bind mount of its own
	 * binary that it detached at once, a file of no mount namespace, named
	 * "/" in every view as d_path() names it. It is no container's binary:
	 * inside a pod, the exec of such a file is outside the container's
	 * view, denied by every enforcing policy, so no caller of a judged exec
	 * there can be one but the runtime.
	 */
	if (pf_file_on_detached_mount(exe))
		pseudo = true;
	sj->state = !pseudo && (foreign || !e->container_view) ? PF_SUBJECT_FOREIGN : PF_SUBJECT_OK;
	sj->pseudo = pseudo;
	pf_key_load(e, PF_SUBJ_CALLER);
}

/*
 * Whether rule r cannot judge the subject: unresolvable (or, cannot happen,
 * unresolved), or outside the container's view and r did not opt out of it.
 */
static __always_inline bool pf_subject_unusable(const struct pf_subj *sj, const struct pf_rule *r)
{
	return sj->state == PF_SUBJECT_FAILED || sj->state == PF_SUBJECT_UNRESOLVED ||
	       (sj->state == PF_SUBJECT_FOREIGN && !(r->flags & PF_RULE_ANY_VIEW));
}

/* Only for usable subjects (see pf_subject_unusable). */
static __always_inline bool pf_cond_holds(struct pf_eval *e, const struct pf_cond *c)
{
	struct pf_scratch *s = pf_eval_scratch(e);
	struct pf_subj *sj;

	/* resolved before the rules when the ruleset has caller conditions (PF_RS_CALLER) */
	sj = &s->subj[c->subject == PF_SUBJ_CALLER ? PF_SUBJ_CALLER : PF_SUBJ_EXEC_PATH];
	if (sj->state == PF_SUBJECT_NONE)
		return !!c->negate;
	return pf_path_in_set(e, c) != !!c->negate;
}

static __always_inline void pf_count_policy(__u32 policy_id, bool blocked, bool reported)
{
	struct pf_policy_counters *c = bpf_map_lookup_elem(&pol_counters, &policy_id);

	if (!c)
		return;
	__sync_fetch_and_add(&c->matched, 1);
	if (blocked)
		__sync_fetch_and_add(&c->blocked, 1);
	if (reported)
		__sync_fetch_and_add(&c->reported, 1);
}

/*
 * A matching rule (exec or egress: the same actions) acts on the verdict:
 * a deny that is not monitor-only blocks (its errno the first blocking
 * rule's), a Post or a monitored deny is reported, and the policy counts it.
 */
static __always_inline void pf_verdict_apply(struct pf_verdict *v, __u32 policy_id, __u8 actions,
					     __u8 flags, __u8 err)
{
	bool monitor = flags & PF_RULE_MONITOR;
	bool blocks = (actions & PF_ACT_DENY) && !monitor;
	bool reports = (actions & PF_ACT_POST) || ((actions & PF_ACT_DENY) && monitor);

	if (blocks) {
		if (!v->deny)
			v->err = err;
		v->deny = true;
		v->kill |= !!(actions & PF_ACT_KILL);
	}
	if ((actions & PF_ACT_DENY) && monitor)
		v->ev_flags |= PF_EV_MONITOR;
	pf_count_policy(policy_id, blocks, !blocks && reports);
	if (reports && v->n_policies < PF_EVENT_POLICIES) {
		struct pf_event_policy *p = &v->policies[v->n_policies & (PF_EVENT_POLICIES - 1)];

		p->policy_id = policy_id;
		p->actions = actions;
		p->flags = flags;
		v->n_policies++;
	}
}

/* Evaluates rule i (a bpf_loop callback). */
static long pf_rule_step(__u32 i, void *ctx)
{
	struct pf_eval *e = ctx;
	struct pf_scratch *s = pf_eval_scratch(e);
	const struct pf_rule *r;

	if (i >= e->n_rules || i >= PF_MAX_RULES)
		return 1;
	r = &s->rs.rules[i];
	if (e->skip & (1u << i))
		return 0;
	if (r->flags & PF_RULE_SKIP_IF_IN) {
		/* A file in every allowlist of the workload: none of them can match. */
		if (s->subj[PF_SUBJ_EXEC_PATH].state == PF_SUBJECT_OK &&
		    pf_path_in_set(e, &r->conds[0]))
			e->skip = r->skip_mask;
		return 0;
	}
	if (r->group == e->matched_group)
		return 0; /* Tetragon: the first matching selector of a policy acts */
	if (pf_subject_unusable(&s->subj[PF_SUBJ_EXEC_PATH], r) ||
	    ((s->rs.flags & PF_RS_CALLER) && pf_subject_unusable(&s->subj[PF_SUBJ_CALLER], r))) {
		/*
		 * Fail closed: what cannot be checked is denied by every
		 * enforcing policy, whatever the order of its selectors; a
		 * selector that would not deny does not take its policy's turn.
		 */
		if (!(r->actions & PF_ACT_DENY))
			return 0;
	} else {
		for (int c = 0; c < PF_MAX_CONDS; c++) {
			if (c >= r->n_conds)
				break;
			if (!pf_cond_holds(e, &r->conds[c]))
				return 0;
		}
	}
	e->matched_group = r->group;
	pf_verdict_apply(&e->v, r->policy_id, r->actions, r->flags, r->err);
	return 0;
}

#ifdef PF_COMPAT
/*
 * The rule step as a global function, verified once on its own whatever
 * the caller's state; 5.10 passes a global function scalars only, so it
 * finds the evaluation by scratch slot.
 */
__noinline int pf_rule_step_global(__u32 i, __u32 slot)
{
	struct pf_scratch *s = bpf_map_lookup_elem(&scratch, &slot);

	return s ? pf_rule_step(i, &s->ev) : 1;
}
#endif

static __always_inline void pf_emit_event(struct pf_eval *e, __u64 cgid, __u32 wl_id)
{
	struct pf_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();
	struct pf_scratch *s = pf_eval_scratch(e);
	__u32 len = s->subj[PF_SUBJ_EXEC_PATH].len;

	if (!ev) {
		pf_stat_inc(PF_STAT_EVENTS_LOST);
		return;
	}
	ev->ktime_ns = bpf_ktime_get_ns();
	ev->cgroup_id = cgid;
	ev->pid = (__u32)id;
	ev->tgid = id >> 32;
	ev->workload_id = wl_id;
	ev->flags = e->v.ev_flags;
	ev->n_policies = e->v.n_policies;
	__builtin_memcpy(ev->policies, e->v.policies, sizeof(ev->policies));
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (len > PF_PATH_BUF - 1)
		len = PF_PATH_BUF - 1;
	ev->path_len = len;
	bpf_probe_read_kernel(ev->path, len,
			      s->walk + (s->subj[PF_SUBJ_EXEC_PATH].off & (PF_PATH_BUF - 1)));
	ev->path[len & (PF_PATH_BUF - 1)] = 0;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void *pf_ruleset_lookup(__u32 wl_id)
{
	if (wl_id & PF_WL_LARGE)
		return bpf_map_lookup_elem(&wl_rules_l, &wl_id);
	return bpf_map_lookup_elem(&wl_rules_s, &wl_id);
}

/*
 * Copies the workload's ruleset into scratch; returns false when the workload
 * has none (a retired workload id: see pf_cg_search_step).
 */
static __always_inline bool pf_load_ruleset(__u32 wl_id, struct pf_scratch *s)
{
	void *rs = pf_ruleset_lookup(wl_id);

	if (!rs)
		return false;
	bpf_probe_read_kernel(
	    &s->rs, wl_id & PF_WL_LARGE ? sizeof(struct pf_ruleset) : sizeof(struct pf_ruleset_s),
	    rs);
	return true;
}

/* The nearest bound ancestor of the current cgroup whose workload has rules. */
struct pf_cg_search {
	__u64 self;  /* the current cgroup: the search stops there */
	__u64 found; /* cgroup id, 0: none (ids, not map pointers, cross bpf_loop) */
};

static long pf_cg_search_step(__u32 i, void *ctx)
{
	struct pf_cg_search *cs = ctx;
	__u64 id = pf_current_ancestor_cgroup_id(i + 1); /* level 0, the root, is never bound */
	struct pf_cg_binding *b;

	if (!id || id == cs->self)
		return 1;
	b = bpf_map_lookup_elem(&cg_workload, &id);
	/* Top down, the last hit is the nearest ancestor. */
	if (b && pf_ruleset_lookup(b->wl_id))
		cs->found = id;
	return 0;
}

#ifdef PF_COMPAT
/* The search as a global function (compat.bpf.h): verified once on its own. */
__noinline __u64 pf_cg_search_global(__u64 self)
{
	struct pf_cg_search cs = {.self = self};

	pf_loop(PF_MAX_CG_LEVELS, pf_cg_search_step, &cs);
	return cs.found;
}
#endif

/*
 * Where a cgroup's own binding is missing (it could not be written) or
 * names a workload without rules (a descendant user space did not rebind
 * when its workload was replaced), the nearest bound ancestor's binding
 * applies: a cgroup under a bound cgroup is never unenforced.
 */
static __always_inline struct pf_cg_binding *pf_cg_nearest_bound(__u64 cgid, __u64 *bound_cg)
{
#ifndef PF_COMPAT
	struct pf_cg_search cs = {.self = cgid};

	bpf_loop(PF_MAX_CG_LEVELS, pf_cg_search_step, &cs, 0);
#else
	struct pf_cg_search cs = {.found = pf_cg_search_global(cgid)};
#endif
	if (!cs.found)
		return NULL;
	pf_stat_inc(PF_STAT_CG_ANCESTOR);
	if (bound_cg)
		*bound_cg = cs.found;
	return bpf_map_lookup_elem(&cg_workload, &cs.found);
}

/* Whether some cgroup may lack the binding it should have inherited. */
static __always_inline bool pf_cg_overflowed(void)
{
	__u32 k0 = PF_CG_OVERFLOW_EVENTS, k1 = PF_CG_OVERFLOW_ACKED;
	__u64 *events = bpf_map_lookup_elem(&cg_overflow, &k0);
	__u64 *acked = bpf_map_lookup_elem(&cg_overflow, &k1);

	return events && acked && *events != *acked;
}

/*
 * Anchors the binding to mount namespace `id` unless another exec did
 * first: returns the earlier anchor, or 0 when this call set it.
 */
static __always_inline __u64 pf_anchor_claim(struct pf_cg_binding *b, __u64 cgid, __u64 id)
{
#ifndef PF_COMPAT
	return __sync_val_compare_and_swap(&b->mntns_id, 0, id);
#else
	__u64 *won;

	if (!bpf_map_update_elem(&cg_anchor, &cgid, &id, BPF_NOEXIST)) {
		b->mntns_id = id;
		return 0;
	}
	won = bpf_map_lookup_elem(&cg_anchor, &cgid);
	if (!won) {
		/* cg_anchor full: no anchor to compare with, so not the container's view */
		pf_stat_inc(PF_STAT_CG_FULL);
		return ~0ULL;
	}
	b->mntns_id = *won; /* every racer writes the same: the winner's */
	return *won;
#endif
}

/*
 * Whether the task sees the container's view: its mount namespace is the
 * one the cgroup is anchored to (the first exec in the cgroup anchors it,
 * after the hint user space gave for cgroups bound while running) and its
 * root is that namespace's own. Without may_anchor (the exec of a pseudo
 * file, which names nothing in any view) a cgroup not anchored yet stays so.
 */
static __always_inline bool pf_view_is_container(struct pf_cg_binding *b, __u64 cgid,
						 const struct pf_view *vw, bool may_anchor,
						 bool *anchored)
{
	struct mnt_namespace *ns = vw->ns; /* CO-RE reads start from a kernel type */
	__u64 id, anchor;

	*anchored = false;
	if (!ns)
		return false;
	id = pf_mntns_id(ns);
	anchor = b->mntns_id;
	if (!anchor && !may_anchor)
		return true; /* nothing to compare with yet */
	if (!anchor) {
		if (b->mntns_inum && b->mntns_inum != pf_kread(ns, ns.inum))
			return false;
		/* Two first execs may race: whichever anchors first, both compare with it. */
		anchor = pf_anchor_claim(b, cgid, id);
		if (!anchor) {
			anchor = id;
			*anchored = true;
		}
	}
	return anchor == id && vw->root_is_ns_root;
}

/*
 * The runtime's own exec before a container's first one: `runc init`, still
 * in the node's mount namespace, is moved into the container's cgroup and
 * then re-executes a private copy of itself (a memfd, or a bind mount it
 * detached at once: a file no mount namespace names). Such an exec names
 * nothing the container could ever see; it neither anchors the cgroup nor is
 * judged. No process of a pod is in the node's mount namespace, and a
 * container's first exec anchors its cgroup for good (its children inherit
 * the anchor), so nothing inside a pod can reach this. (A chroot or another
 * namespace's file is not such a file: judged as always.)
 */
static __always_inline bool pf_runtime_exec(const struct pf_cg_binding *b, const struct pf_view *vw,
					    struct file *file, int status, bool pseudo)
{
	struct mnt_namespace *ns = vw->ns;

	if (b->mntns_id || !pf_node_mntns_inum || status != PF_PATH_OK)
		return false;
	if (!pseudo && !pf_file_on_detached_mount(file))
		return false;
	return ns && pf_kread(ns, ns.inum) == pf_node_mntns_inum;
}

#include "learn.bpf.h"

/*
 * Decides on the exec of `file` by the current task. Returns true when the
 * exec must be stopped; v says how (errno, kill) and what was reported.
 * `kills`: the backend stops execs with SIGKILL (recorded in the event).
 */
static __always_inline bool pf_decide_exec(struct file *file, bool kills, struct pf_verdict *v)
{
	struct task_struct *task = pf_current_task();
	__u64 cgid = bpf_get_current_cgroup_id();
#ifndef PF_COMPAT
	struct pf_eval ev = {.matched_group = -1, .task = task}, *e = &ev;
#else
	struct pf_eval *e;
#endif
	struct pf_scratch *s;
	struct pf_cg_binding *b, *anc;
	struct pf_scratch_busy *busy = NULL;
	__u64 bound_cg = cgid, anc_cg; /* whose binding b is */
	__u32 wl_id, slot_key, off = PF_PATH_BUF;
	int slot, status;
	bool foreign, pseudo, anchored;

	pf_stat_inc(PF_STAT_EXECS);
	b = bpf_map_lookup_elem(&cg_workload, &cgid);
	if (!b) {
		if (!pf_cg_overflowed())
			return false;
		b = pf_cg_nearest_bound(cgid, &bound_cg);
		if (!b)
			return false;
	}
	wl_id = b->wl_id;
	pf_stat_inc(PF_STAT_BOUND);

	slot = pf_scratch_claim(&busy);
	if (slot < 0) {
		/* Cannot resolve the path: fail closed for this bound workload. */
		pf_stat_inc(PF_STAT_SCRATCH_BUSY);
		v->deny = true;
		v->err = 1; /* EPERM */
		return true;
	}
	slot_key = slot;
	s = bpf_map_lookup_elem(&scratch, &slot_key);
	if (!s) {
		pf_scratch_release(busy, slot);
		return false; /* cannot happen: slot < PF_SCRATCH_SLOTS */
	}
#ifndef PF_COMPAT
	e->s = s;
#else
	e = &s->ev;
	__builtin_memset(e, 0, sizeof(*e));
	e->matched_group = -1;
	e->task = task;
	e->slot = slot_key;
#endif
	if (!pf_load_ruleset(wl_id, s)) {
		pf_stat_inc(PF_STAT_NO_RULESET);
		anc = pf_cg_nearest_bound(cgid, &anc_cg);
		if (!anc || !pf_load_ruleset(anc->wl_id, s)) {
			/* Bound, but no rules anywhere: deny rather than guess. */
			s->rs.n_rules = 0;
			s->rs.learn_id = 0;
			e->v.deny = true;
			e->v.err = 1; /* EPERM */
			e->v.ev_flags |= PF_EV_NO_RULES;
		}
		/* The cgroup's own anchor, if it has one, still says what its view is. */
	}
	e->n_rules = s->rs.n_rules < PF_MAX_RULES ? s->rs.n_rules : PF_MAX_RULES;

	pf_view_load(task, &e->vw);
	s->subj[PF_SUBJ_CALLER].state = PF_SUBJECT_UNRESOLVED;
	s->rev_ready = 0;
	status = pf_resolve_path(file, &e->vw, s->walk, slot_key, &off, &foreign, &pseudo);
	if (pf_runtime_exec(b, &e->vw, file, status, pseudo)) {
		pf_stat_inc(PF_STAT_RUNTIME_EXEC);
		goto out;
	}
	/*
	 * A memfd's name is the same in every view, so its exec neither needs
	 * the view nor anchors it: a runtime may exec one from the node's own
	 * namespace in the container's cgroup before the container's first exec.
	 */
	e->container_view = pf_view_is_container(b, bound_cg, &e->vw, !pseudo, &anchored);
	if (anchored && e->container_view && (b->flags & PF_CG_SANDBOX)) {
		/* The sandbox's start: the one exec that anchored its cgroup. */
		pf_stat_inc(PF_STAT_SANDBOX_START);
		goto out;
	}
	if (off > PF_PATH_BUF)
		off = PF_PATH_BUF;
	s->subj[PF_SUBJ_EXEC_PATH].off = off;
	s->subj[PF_SUBJ_EXEC_PATH].len = PF_PATH_BUF - off;
	s->subj[PF_SUBJ_EXEC_PATH].state = PF_SUBJECT_OK;
	s->subj[PF_SUBJ_EXEC_PATH].pseudo = pseudo;
	if (status != PF_PATH_OK) {
		s->subj[PF_SUBJ_EXEC_PATH].state = PF_SUBJECT_FAILED;
		e->v.ev_flags |= PF_EV_PATH_FAILED;
		pf_stat_inc(PF_STAT_PATH_FAILED);
	} else if (PF_PATH_BUF - off > PF_EXACT_MAX) {
		e->v.ev_flags |= PF_EV_PATH_LONG;
		pf_stat_inc(PF_STAT_PATH_LONG);
	}
	if (status == PF_PATH_OK && !pseudo && (foreign || !e->container_view)) {
		s->subj[PF_SUBJ_EXEC_PATH].state = PF_SUBJECT_FOREIGN;
		e->v.ev_flags |= PF_EV_FOREIGN_VIEW;
		pf_stat_inc(PF_STAT_FOREIGN_VIEW);
	}

	pf_key_load(e, PF_SUBJ_EXEC_PATH);
	if ((e->n_rules && (s->rs.flags & PF_RS_CALLER)) || s->rs.learn_id)
		pf_caller_resolve(e);
	pf_loop_global(PF_MAX_RULES, pf_rule_step, e, slot_key);
	if (e->v.deny)
		e->v.ev_flags |= PF_EV_BLOCKED | (kills || e->v.kill ? PF_EV_KILLED : 0);
	if (e->v.n_policies || e->v.deny)
		pf_emit_event(e, cgid, wl_id);
	if (e->v.deny)
		pf_stat_inc(PF_STAT_BLOCKED);
	else if (e->v.n_policies)
		pf_stat_inc(PF_STAT_REPORTED);
	/*
	 * The verdict is copied out before learning, so that nothing of it is
	 * live across pf_learn() and the verifier sees one state there, not
	 * one per combination of verdicts.
	 */
	*v = e->v;
	if (!v->deny && s->rs.learn_id)
		pf_learn(e, cgid, anchored);
	pf_scratch_release(busy, slot);
	return v->deny;
out:
	pf_scratch_release(busy, slot);
	*v = e->v;
	return v->deny;
}

#endif /* PF_DECIDE_BPF_H */
