// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
/* Out of memory in a table: the set is not created (an error), never exit(). */
#define HASH_NONFATAL_OOM	 1
#define uthash_nonfatal_oom(obj) (hash_oom = true)
static bool hash_oom;
#include <uthash.h>
#include "podfence/compile.h"
#include "podfence/sets.h"

struct set_entry {
	uint64_t digest; /* content key: match kind + values */
	uint32_t id;
	enum pf_match match;
	uint8_t tiers;
	unsigned refs;
	struct pf_strset values;
	UT_hash_handle hh_digest; /* by content (digest, then compared in full) */
	UT_hash_handle hh_id;
	struct set_entry *next_garbage;
};

struct pf_sets {
	struct pf_store *st;
	unsigned long long (*digest)(const struct pf_strset *values, unsigned long long seed);
	struct set_entry *by_digest;
	struct set_entry *by_id;
	struct set_entry *garbage;
	size_t n_garbage;
	size_t n_values;
	size_t n_refs;
};

struct pf_sets *pf_sets_new(struct pf_store *st)
{
	struct pf_sets *s = calloc(1, sizeof(*s));

	if (s) {
		s->st = st;
		s->digest = pf_strset_digest;
	}
	return s;
}

void pf_sets_set_digest(struct pf_sets *s,
			unsigned long long (*digest)(const struct pf_strset *, unsigned long long))
{
	s->digest = digest;
}

static void entry_free(struct set_entry *e)
{
	pf_strset_free(&e->values);
	free(e);
}

void pf_sets_free(struct pf_sets *s)
{
	struct set_entry *e, *tmp;

	if (!s)
		return;
	/* The digest table lives in its entries' handles: cleared before they go. */
	HASH_CLEAR(hh_digest, s->by_digest);
	HASH_ITER (hh_id, s->by_id, e, tmp) {
		HASH_DELETE(hh_id, s->by_id, e);
		entry_free(e);
	}
	while (s->garbage) {
		e = s->garbage;
		s->garbage = e->next_garbage;
		entry_free(e);
	}
	free(s);
}

/*
 * Digests collide in theory: entries with equal digests share a hash bucket,
 * so the bucket's chain (not the table's insertion order) is walked and
 * each entry of that digest compared in full.
 */
static struct set_entry *find_content(struct pf_sets *s, uint64_t digest, enum pf_match match,
				      const struct pf_strset *values)
{
	struct set_entry *e;
	UT_hash_handle *hh;

	HASH_FIND(hh_digest, s->by_digest, &digest, sizeof(digest), e);
	for (hh = e ? &e->hh_digest : NULL; hh; hh = hh->hh_next) {
		e = ELMT_FROM_HH(s->by_digest->hh_digest.tbl, hh);
		if (e->digest == digest && e->match == match && pf_strset_equal(&e->values, values))
			return e;
	}
	return NULL;
}

int pf_sets_acquire(struct pf_sets *s, enum pf_match match, const struct pf_strset *values,
		    uint32_t *set_id, uint8_t *tiers, char *err_msg, size_t err_len)
{
	uint64_t digest = s->digest(values, (uint64_t)match);
	struct set_entry *e;
	int err;

	e = find_content(s, digest, match, values);
	if (e) {
		e->refs++;
		s->n_refs++;
		*set_id = e->id;
		*tiers = e->tiers;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->digest = digest;
	e->match = match;
	err = pf_strset_copy(&e->values, values);
	if (!err)
		err = pf_store_alloc_id(s->st, PF_ID_SET, &e->id);
	if (!err)
		err = pf_store_set_write(s->st, e->id, match, values, err_msg, err_len);
	if (err) {
		entry_free(e);
		return err;
	}
	e->tiers = pf_values_tiers(match, values);
	hash_oom = false;
	HASH_ADD(hh_digest, s->by_digest, digest, sizeof(e->digest), e);
	if (!hash_oom) {
		HASH_ADD(hh_id, s->by_id, id, sizeof(e->id), e);
		if (hash_oom)
			HASH_DELETE(hh_digest, s->by_digest, e);
	}
	if (hash_oom) {
		pf_store_set_delete(s->st, e->id, match, values);
		entry_free(e);
		if (err_msg)
			snprintf(err_msg, err_len, "out of memory");
		return -ENOMEM;
	}
	e->refs = 1;
	s->n_refs++;
	s->n_values += values->n;
	*set_id = e->id;
	*tiers = e->tiers;
	return 0;
}

static struct set_entry *find_id(const struct pf_sets *s, uint32_t set_id)
{
	struct set_entry *e;

	HASH_FIND(hh_id, s->by_id, &set_id, sizeof(set_id), e);
	return e;
}

void pf_sets_ref(struct pf_sets *s, uint32_t set_id)
{
	struct set_entry *e = find_id(s, set_id);

	if (e && e->refs) {
		e->refs++;
		s->n_refs++;
	}
}

void pf_sets_release(struct pf_sets *s, uint32_t set_id)
{
	struct set_entry *e;

	HASH_FIND(hh_id, s->by_id, &set_id, sizeof(set_id), e);
	if (!e || !e->refs)
		return;
	s->n_refs--;
	if (--e->refs)
		return;
	/* Unreachable for new rulesets now; freed in the kernel after a barrier. */
	HASH_DELETE(hh_id, s->by_id, e);
	HASH_DELETE(hh_digest, s->by_digest, e);
	s->n_values -= e->values.n;
	e->next_garbage = s->garbage;
	s->garbage = e;
	s->n_garbage++;
}

void pf_sets_collect(struct pf_sets *s)
{
	while (s->garbage) {
		struct set_entry *e = s->garbage;

		s->garbage = e->next_garbage;
		pf_store_set_delete(s->st, e->id, e->match, &e->values);
		entry_free(e);
	}
	s->n_garbage = 0;
}

size_t pf_sets_pending_garbage(const struct pf_sets *s)
{
	return s->n_garbage;
}

bool pf_sets_live(const struct pf_sets *s, uint32_t set_id)
{
	return find_id(s, set_id) != NULL;
}

const struct pf_strset *pf_sets_values(const struct pf_sets *s, uint32_t set_id)
{
	struct set_entry *e = find_id(s, set_id);

	return e ? &e->values : NULL;
}

void pf_sets_stats(const struct pf_sets *s, struct pf_sets_stats *out)
{
	out->sets = HASH_CNT(hh_id, s->by_id);
	out->values = s->n_values;
	out->refs = s->n_refs;
}
