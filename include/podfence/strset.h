/* SPDX-License-Identifier: Apache-2.0 */
/* A sorted set of unique strings: values of rules, label values, ... */
#ifndef PODFENCE_STRSET_H
#define PODFENCE_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct pf_strset {
	char **v;
	size_t n, cap;
};

/* Adds a copy of s; returns 1 if added, 0 if already present, -ENOMEM. */
int pf_strset_add(struct pf_strset *set, const char *s);
bool pf_strset_has(const struct pf_strset *set, const char *s);
/* Adds every element of src to dst; returns number added or -ENOMEM. */
int pf_strset_union(struct pf_strset *dst, const struct pf_strset *src);
int pf_strset_copy(struct pf_strset *dst, const struct pf_strset *src);
bool pf_strset_equal(const struct pf_strset *a, const struct pf_strset *b);
/* Order-independent 64-bit digest of the content (FNV-1a over the sorted values). */
unsigned long long pf_strset_digest(const struct pf_strset *set, unsigned long long seed);
void pf_strset_free(struct pf_strset *set);

#endif /* PODFENCE_STRSET_H */
