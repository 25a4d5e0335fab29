// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/strset.h"

/* Index of s, or -(insertion point) - 1 when absent. */
static long strset_find(const struct pf_strset *set, const char *s)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(set->v[mid], s);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

int pf_strset_add(struct pf_strset *set, const char *s)
{
	long at = strset_find(set, s);
	size_t pos;
	char *copy;

	if (at >= 0)
		return 0;
	pos = (size_t)(-at - 1);
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		char **v = realloc(set->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	memmove(&set->v[pos + 1], &set->v[pos], (set->n - pos) * sizeof(*set->v));
	set->v[pos] = copy;
	set->n++;
	return 1;
}

bool pf_strset_has(const struct pf_strset *set, const char *s)
{
	return strset_find(set, s) >= 0;
}

int pf_strset_union(struct pf_strset *dst, const struct pf_strset *src)
{
	int added = 0;

	for (size_t i = 0; i < src->n; i++) {
		int err = pf_strset_add(dst, src->v[i]);

		if (err < 0)
			return err;
		added += err;
	}
	return added;
}

int pf_strset_copy(struct pf_strset *dst, const struct pf_strset *src)
{
	int err;

	memset(dst, 0, sizeof(*dst));
	err = pf_strset_union(dst, src);
	if (err < 0) {
		pf_strset_free(dst);
		return err;
	}
	return 0;
}

bool pf_strset_equal(const struct pf_strset *a, const struct pf_strset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

unsigned long long pf_strset_digest(const struct pf_strset *set, unsigned long long seed)
{
	unsigned long long h = 0xcbf29ce484222325ULL ^ seed;

	/* Sorted storage makes the digest independent of insertion order. */
	for (size_t i = 0; i < set->n; i++) {
		for (const unsigned char *p = (const unsigned char *)set->v[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* separator: no string holds 0xff+NUL */
	}
	return h;
}

void pf_strset_free(struct pf_strset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}
