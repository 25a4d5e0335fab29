/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes labels and label selectors (apimachinery semantics). */
#ifndef PODFENCE_LABELS_H
#define PODFENCE_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include "podfence/strset.h"

struct pf_label {
	char *key;
	char *value;
};

/* Key/value pairs, kept sorted by key, keys unique. */
struct pf_labels {
	struct pf_label *v;
	size_t n, cap;
};

int pf_labels_set(struct pf_labels *l, const char *key, const char *value);
const char *pf_labels_get(const struct pf_labels *l, const char *key);
bool pf_labels_equal(const struct pf_labels *a, const struct pf_labels *b);
void pf_labels_free(struct pf_labels *l);

enum pf_sel_op {
	PF_SEL_IN = 0, /* key present and value in values */
	PF_SEL_NOT_IN, /* key absent, or value not in values */
	PF_SEL_EXISTS,
	PF_SEL_DOES_NOT_EXIST,
};

struct pf_sel_req {
	char *key;
	enum pf_sel_op op;
	struct pf_strset values;
};

/*
 * matchLabels (each pair becomes an In requirement with one value) ANDed with
 * matchExpressions. An empty selector matches everything. Whether an absent
 * selector matches everything or nothing is the caller's decision: `present`
 * records whether the selector was written at all.
 */
struct pf_selector {
	bool present;
	struct pf_sel_req *reqs;
	size_t n;
};

int pf_selector_add(struct pf_selector *s, const char *key, enum pf_sel_op op,
		    const struct pf_strset *values);
bool pf_selector_matches(const struct pf_selector *s, const struct pf_labels *labels);
void pf_selector_free(struct pf_selector *s);

#endif /* PODFENCE_LABELS_H */
