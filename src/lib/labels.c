// SPDX-License-Identifier: Apache-2.0
/* Labels and label selectors with Kubernetes apimachinery semantics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/labels.h"

/* Index of key, or -(insertion point) - 1 when absent. */
static long labels_find(const struct pf_labels *l, const char *key)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int labels_insert(struct pf_labels *l, size_t pos, const char *key, const char *value)
{
	char *k = NULL, *v = NULL;
	int err = -ENOMEM;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct pf_label *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			goto cleanup;
		l->v = nv;
		l->cap = cap;
	}
	k = strdup(key);
	v = strdup(value);
	if (!k || !v)
		goto cleanup;
	memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(*l->v));
	l->v[pos].key = k;
	l->v[pos].value = v;
	l->n++;
	return 0;
cleanup:
	free(k);
	free(v);
	return err;
}

int pf_labels_set(struct pf_labels *l, const char *key, const char *value)
{
	long at;
	char *v;

	if (!key || !value)
		return -EINVAL;
	at = labels_find(l, key);
	if (at < 0)
		return labels_insert(l, (size_t)(-at - 1), key, value);
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(l->v[at].value);
	l->v[at].value = v;
	return 0;
}

const char *pf_labels_get(const struct pf_labels *l, const char *key)
{
	long at;

	if (!l)
		return NULL;
	at = labels_find(l, key);
	return at >= 0 ? l->v[at].value : NULL;
}

bool pf_labels_equal(const struct pf_labels *a, const struct pf_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

void pf_labels_free(struct pf_labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int pf_selector_add(struct pf_selector *s, const char *key, enum pf_sel_op op,
		    const struct pf_strset *values)
{
	struct pf_sel_req *v, *r;
	int err;

	v = realloc(s->reqs, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->reqs = v;
	r = &s->reqs[s->n];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->key = strdup(key);
	if (!r->key)
		return -ENOMEM;
	if (values) {
		err = pf_strset_copy(&r->values, values);
		if (err) {
			free(r->key);
			return err;
		}
	}
	s->n++;
	return 0;
}

static bool req_matches(const struct pf_sel_req *r, const struct pf_labels *labels)
{
	const char *v = pf_labels_get(labels, r->key);

	switch (r->op) {
	case PF_SEL_IN:
		return v && pf_strset_has(&r->values, v);
	case PF_SEL_NOT_IN:
		/* apimachinery: a missing key satisfies NotIn */
		return !v || !pf_strset_has(&r->values, v);
	case PF_SEL_EXISTS:
		return v != NULL;
	case PF_SEL_DOES_NOT_EXIST:
		return v == NULL;
	}
	return false; /* unknown operator: fail closed, select nothing */
}

/* Requirements are ANDed; no requirement at all matches every label set. */
bool pf_selector_matches(const struct pf_selector *s, const struct pf_labels *labels)
{
	for (size_t i = 0; i < s->n; i++)
		if (!req_matches(&s->reqs[i], labels))
			return false;
	return true;
}

void pf_selector_free(struct pf_selector *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->reqs[i].key);
		pf_strset_free(&s->reqs[i].values);
	}
	free(s->reqs);
	memset(s, 0, sizeof(*s));
}
