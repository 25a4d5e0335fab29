/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the engine needs from the kernel, and nothing more: ids, value sets,
 * rulesets, cgroup bindings, counters, a barrier and the takeover walks.
 *
 * The agent's store is the BPF object's maps (kstore.c, pf_kstore_store());
 * the unit tier drives the same engine through an in-memory store
 * (tests/lib/pf_memstore.c), without root and under the sanitizers. Every
 * write reports a full map as -E2BIG with the map's name and size in err.
 */
#ifndef PODFENCE_STORE_H
#define PODFENCE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/strset.h"

/* Maps the user can size at start (index into pf_kstore_opts.max_entries). */
enum pf_kmap {
	PF_KMAP_CGROUPS = 0,	 /* cg_workload */
	PF_KMAP_WORKLOADS,	 /* wl_rules_s */
	PF_KMAP_WORKLOADS_LARGE, /* wl_rules_l */
	PF_KMAP_EXACT_S,
	PF_KMAP_EXACT_M,
	PF_KMAP_EXACT_L,
	PF_KMAP_PREFIX,
	PF_KMAP_SUFFIX,
	PF_KMAP_POLICIES,   /* pol_counters */
	PF_KMAP_CG_EXPECT,  /* cg_expect: pods' cgroup names bound when created */
	PF_KMAP_LEARNED,    /* learned: learning's records (the agent's, not the engine's) */
	PF_KMAP_NET_RULES,  /* wl_net: egress rules of workloads that have any */
	PF_KMAP_NET_VALUES, /* net_values: destination CIDRs and port prefixes */
	PF_KMAP__MAX,
};

/* Id spaces; ids are never reused. */
enum pf_id_kind {
	PF_ID_SET,
	PF_ID_WORKLOAD,	      /* a small ruleset (at most PF_SMALL_RULES rules) */
	PF_ID_WORKLOAD_LARGE, /* a large one: the id has PF_WL_LARGE set */
	PF_ID_POLICY,
};

struct pf_store;

typedef bool (*pf_store_drop_cgroup_fn)(uint64_t cgid, uint32_t wl, void *ctx);
typedef bool (*pf_store_drop_id_fn)(uint32_t id, void *ctx);
typedef bool (*pf_store_drop_name_fn)(const char *name, void *ctx);

struct pf_store_ops {
	int (*alloc_id)(struct pf_store *st, enum pf_id_kind kind, uint32_t *id);
	/* Writes every value of a set; on failure removes what it wrote. */
	int (*set_write)(struct pf_store *st, uint32_t set_id, enum pf_match match,
			 const struct pf_strset *values, char *err, size_t err_len);
	void (*set_delete)(struct pf_store *st, uint32_t set_id, enum pf_match match,
			   const struct pf_strset *values);
	/* Replaces a workload's ruleset in one update (atomic for execs). */
	int (*ruleset_write)(struct pf_store *st, uint32_t wl_id, const struct pf_ruleset *rs,
			     char *err, size_t err_len);
	void (*ruleset_delete)(struct pf_store *st, uint32_t wl_id);
	/* Replaces a workload's egress rules in one update (atomic for connects). */
	int (*net_ruleset_write)(struct pf_store *st, uint32_t wl_id,
				 const struct pf_net_ruleset *rs, char *err, size_t err_len);
	void (*net_ruleset_delete)(struct pf_store *st, uint32_t wl_id);
	/* Binds a cgroup (or moves a bound one in place, its view anchor kept). */
	int (*cgroup_bind)(struct pf_store *st, uint64_t cgid, uint32_t wl_id, uint32_t flags,
			   uint32_t mntns_hint, char *err, size_t err_len);
	void (*cgroup_unbind)(struct pf_store *st, uint64_t cgid);
	/* -ENOENT when the cgroup is not bound. */
	int (*cgroup_lookup)(struct pf_store *st, uint64_t cgid, struct pf_cg_binding *out);
	/* A cgroup directory name bound to wl_id (flags) when it is created (cg_expect). */
	int (*cgroup_expect)(struct pf_store *st, const char *name, uint32_t wl_id, uint32_t flags,
			     char *err, size_t err_len);
	void (*cgroup_unexpect)(struct pf_store *st, const char *name);
	/* Bindings the kernel could not make at mkdir, and how many user space repaired. */
	int (*cg_overflow)(struct pf_store *st, uint64_t *events, uint64_t *acked);
	int (*cg_overflow_ack)(struct pf_store *st, uint64_t acked);
	int (*counters_create)(struct pf_store *st, uint32_t policy_id);
	void (*counters_delete)(struct pf_store *st, uint32_t policy_id);
	int (*counters_read)(struct pf_store *st, uint32_t policy_id,
			     struct pf_policy_counters *out);
	/* Waits until no program can still read data removed before the call. */
	int (*barrier)(struct pf_store *st);
	/* Takeover: walks the state a previous agent left; drop() true deletes the entry. */
	int (*gc_cgroups)(struct pf_store *st, pf_store_drop_cgroup_fn drop, void *ctx);
	int (*gc_workloads)(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx);
	int (*gc_sets)(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx);
	int (*gc_counters)(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx);
	int (*gc_expected)(struct pf_store *st, pf_store_drop_name_fn drop, void *ctx);
	uint32_t (*capacity)(struct pf_store *st, enum pf_kmap m);
};

struct pf_store {
	const struct pf_store_ops *ops;
	/* The exec hook sees the calling binary (matchBinaries can be enforced). */
	bool sees_caller;
};

const char *pf_kmap_name(enum pf_kmap m);

/* Calls through the ops, so that callers read like plain functions. */
static inline int pf_store_alloc_id(struct pf_store *st, enum pf_id_kind kind, uint32_t *id)
{
	return st->ops->alloc_id(st, kind, id);
}
static inline int pf_store_set_write(struct pf_store *st, uint32_t set_id, enum pf_match match,
				     const struct pf_strset *values, char *err, size_t err_len)
{
	return st->ops->set_write(st, set_id, match, values, err, err_len);
}
static inline void pf_store_set_delete(struct pf_store *st, uint32_t set_id, enum pf_match match,
				       const struct pf_strset *values)
{
	st->ops->set_delete(st, set_id, match, values);
}
static inline int pf_store_ruleset_write(struct pf_store *st, uint32_t wl_id,
					 const struct pf_ruleset *rs, char *err, size_t err_len)
{
	return st->ops->ruleset_write(st, wl_id, rs, err, err_len);
}
static inline void pf_store_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	st->ops->ruleset_delete(st, wl_id);
}
static inline int pf_store_net_ruleset_write(struct pf_store *st, uint32_t wl_id,
					     const struct pf_net_ruleset *rs, char *err,
					     size_t err_len)
{
	return st->ops->net_ruleset_write(st, wl_id, rs, err, err_len);
}
static inline void pf_store_net_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	st->ops->net_ruleset_delete(st, wl_id);
}
static inline int pf_store_cgroup_bind(struct pf_store *st, uint64_t cgid, uint32_t wl_id,
				       uint32_t flags, uint32_t mntns_hint, char *err,
				       size_t err_len)
{
	return st->ops->cgroup_bind(st, cgid, wl_id, flags, mntns_hint, err, err_len);
}
static inline void pf_store_cgroup_unbind(struct pf_store *st, uint64_t cgid)
{
	st->ops->cgroup_unbind(st, cgid);
}
static inline int pf_store_cgroup_lookup(struct pf_store *st, uint64_t cgid,
					 struct pf_cg_binding *out)
{
	return st->ops->cgroup_lookup(st, cgid, out);
}
static inline int pf_store_cgroup_expect(struct pf_store *st, const char *name, uint32_t wl_id,
					 uint32_t flags, char *err, size_t err_len)
{
	return st->ops->cgroup_expect(st, name, wl_id, flags, err, err_len);
}
static inline void pf_store_cgroup_unexpect(struct pf_store *st, const char *name)
{
	st->ops->cgroup_unexpect(st, name);
}
static inline int pf_store_cg_overflow(struct pf_store *st, uint64_t *events, uint64_t *acked)
{
	return st->ops->cg_overflow(st, events, acked);
}
static inline int pf_store_cg_overflow_ack(struct pf_store *st, uint64_t acked)
{
	return st->ops->cg_overflow_ack(st, acked);
}
static inline int pf_store_counters_create(struct pf_store *st, uint32_t policy_id)
{
	return st->ops->counters_create(st, policy_id);
}
static inline void pf_store_counters_delete(struct pf_store *st, uint32_t policy_id)
{
	st->ops->counters_delete(st, policy_id);
}
static inline int pf_store_counters_read(struct pf_store *st, uint32_t policy_id,
					 struct pf_policy_counters *out)
{
	return st->ops->counters_read(st, policy_id, out);
}
static inline int pf_store_barrier(struct pf_store *st)
{
	return st->ops->barrier(st);
}
static inline uint32_t pf_store_capacity(struct pf_store *st, enum pf_kmap m)
{
	return st->ops->capacity(st, m);
}

#endif /* PODFENCE_STORE_H */
