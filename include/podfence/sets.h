/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Value sets in the kernel, content-addressed and reference-counted: rules
 * with the same values share one set, a set exists only while a workload on
 * this node uses it, and a set is immutable (changing values = a new set), so
 * a ruleset always points at complete sets. Released sets are freed after a
 * barrier guarantees no running program still reads them.
 */
#ifndef PODFENCE_SETS_H
#define PODFENCE_SETS_H

#include <stdint.h>
#include "podfence/store.h"
#include "podfence/strset.h"

struct pf_sets;

struct pf_sets *pf_sets_new(struct pf_store *st);
/* Replaces the content digest (tests: every set colliding). */
void pf_sets_set_digest(struct pf_sets *s,
			unsigned long long (*digest)(const struct pf_strset *, unsigned long long));
void pf_sets_free(struct pf_sets *s);

/* Takes a reference on the set holding exactly these values (creating it). */
int pf_sets_acquire(struct pf_sets *s, enum pf_match match, const struct pf_strset *values,
		    uint32_t *set_id, uint8_t *tiers, char *err_msg, size_t err_len);
/* Takes another reference on a live set. */
void pf_sets_ref(struct pf_sets *s, uint32_t set_id);
/* Drops a reference; the last one queues the set for deletion. */
void pf_sets_release(struct pf_sets *s, uint32_t set_id);
/* Deletes queued sets from the kernel; the caller has passed a barrier since queuing. */
void pf_sets_collect(struct pf_sets *s);
size_t pf_sets_pending_garbage(const struct pf_sets *s);
/* Whether a set id is live (for takeover garbage collection). */
bool pf_sets_live(const struct pf_sets *s, uint32_t set_id);
/* The values of a live set, NULL if there is no such set. */
const struct pf_strset *pf_sets_values(const struct pf_sets *s, uint32_t set_id);

struct pf_sets_stats {
	size_t sets;
	size_t values;
	size_t refs;
};
void pf_sets_stats(const struct pf_sets *s, struct pf_sets_stats *out);

#endif /* PODFENCE_SETS_H */
