/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An in-memory store (include/podfence/store.h) for the unit tier: the
 * engine drives it exactly as it drives the BPF maps, without root. Maps have
 * capacities counted as the kernel counts them (one entry per value in its
 * tier, per ruleset in its class, ...), full maps answer -E2BIG with the
 * same message, and any write can be made to fail. An exec can be judged
 * against what is stored, the way the program judges it.
 */
#ifndef PF_MEMSTORE_H
#define PF_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/store.h"

struct pf_memstore;

/* Default capacities: the agent's defaults. */
struct pf_memstore *pf_memstore_new(void);
void pf_memstore_free(struct pf_memstore *ms);
struct pf_store *pf_memstore_store(struct pf_memstore *ms);

void pf_memstore_set_capacity(struct pf_memstore *ms, enum pf_kmap m, uint32_t entries);
size_t pf_memstore_entries(const struct pf_memstore *ms, enum pf_kmap m);
/* The n-th write from now (1: the next) fails with err (-E2BIG: as a full map); 0: none. */
void pf_memstore_fail_write(struct pf_memstore *ms, unsigned long n, int err);
/* Writes so far (every call that may fail: ids, sets, rulesets, bindings, counters). */
unsigned long pf_memstore_writes(const struct pf_memstore *ms);
unsigned long pf_memstore_barriers(const struct pf_memstore *ms);

/* The binding of a cgroup (-ENOENT: unbound). */
int pf_memstore_binding(struct pf_memstore *ms, uint64_t cgid, uint32_t *wl_id);
/* What a cgroup name registered for binding at creation gets (-ENOENT: none). */
int pf_memstore_expected(struct pf_memstore *ms, const char *name, uint32_t *wl_id,
			 uint32_t *flags);
/* Whether a workload's ruleset is stored. */
bool pf_memstore_has_ruleset(const struct pf_memstore *ms, uint32_t wl_id);
/* The learn id of a workload's ruleset (0: not learning, or no ruleset). */
uint32_t pf_memstore_learn_id(const struct pf_memstore *ms, uint32_t wl_id);

enum pf_mem_verdict {
	PF_MEM_UNBOUND,	 /* the cgroup is not bound: nothing enforces there */
	PF_MEM_NO_RULES, /* bound to a workload without a ruleset (the program denies) */
	PF_MEM_ALLOWED,
	PF_MEM_DENIED,
};
/*
 * What the program decides for an exec of `path` (called from `caller`) in
 * cgroup cgid, from the stored data alone: first matching rule per group,
 * any enforcing deny blocks, the skip rule honoured.
 */
enum pf_mem_verdict pf_memstore_exec(struct pf_memstore *ms, uint64_t cgid, const char *path,
				     const char *caller);

/*
 * Everything stored, with ids replaced by what they hold (a cgroup by its
 * cgroup_name() or its id, its workload by its rules, a policy by name(), a
 * set by its values),
 * one line per cgroup, sorted, then the entry counts: equal for two stores
 * that enforce the same. Caller frees.
 */
char *pf_memstore_dump(struct pf_memstore *ms, const char *(*name)(void *ctx, uint32_t policy_id),
		       const char *(*cgroup_name)(void *ctx, uint64_t cgid), void *ctx);

#endif /* PF_MEMSTORE_H */
