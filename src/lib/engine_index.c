// SPDX-License-Identifier: Apache-2.0
/*
 * Selector indexes: label -> policies whose selector requires it, label ->
 * pods carrying it, template -> its bindings. They make a change touch only
 * the pods it may select, and a pod's candidates only the policies that may
 * select it, sorted so that compiled rules never depend on arrival order.
 */
#include "engine_internal.h"

int eng_ptrs_add(struct ptrs *a, void *p)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4;
		void **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = p;
	return 0;
}

int eng_ptrs_add_unique(struct ptrs *a, void *p)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == p)
			return 0;
	return eng_ptrs_add(a, p);
}

static void ptrs_del(struct ptrs *a, void *p)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i] == p) {
			a->v[i] = a->v[--a->n];
			return;
		}
	}
}

static char *label_kv(const char *k, const char *v)
{
	char *s;

	return asprintf(&s, "%s=%s", k, v) < 0 ? NULL : s;
}

/*
 * A workload as an index key next to the labels: "@workload=Kind/name".
 * No label key holds '@', so it never meets a label; the namespace is
 * checked by consider() as for any namespaced selector.
 */
static char *workload_kv(const struct pf_workload *w)
{
	char *s;

	if (!w->kind || !w->name)
		return NULL;
	return asprintf(&s, "@workload=%s/%s", w->kind, w->name) < 0 ? NULL : s;
}

static int index_add(struct bucket **idx, const char *kv, void *item)
{
	struct bucket *b;

	HASH_FIND_STR(*idx, kv, b);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->kv = strdup(kv))) {
			free(b);
			return -ENOMEM;
		}
		HASH_ADD_KEYPTR(hh, *idx, b->kv, strlen(b->kv), b);
		if (!eng_hash_added()) {
			free(b->kv);
			free(b);
			return -ENOMEM;
		}
	}
	return eng_ptrs_add(&b->items, item);
}

static void index_del(struct bucket **idx, const char *kv, void *item)
{
	struct bucket *b;

	HASH_FIND_STR(*idx, kv, b);
	if (!b)
		return;
	ptrs_del(&b->items, item);
	if (!b->items.n) {
		HASH_DEL(*idx, b);
		free(b->items.v);
		free(b->kv);
		free(b);
	}
}

/* The labels a policy's selector requires (In with listed values), or none when it cannot be
 * indexed. */
static const struct pf_sel_req *index_req(const struct pf_policy *p)
{
	if (!p->pods.present)
		return NULL;
	for (size_t i = 0; i < p->pods.n; i++)
		if (p->pods.reqs[i].op == PF_SEL_IN && p->pods.reqs[i].values.n)
			return &p->pods.reqs[i];
	return NULL;
}

/*
 * An index entry could not be stored (out of memory): from now on every
 * policy is a candidate for every pod and every change recomputes every pod.
 * Slower, never wrong; said once and shown in status.
 */
static void index_lost(struct pf_engine *e)
{
	if (!e->index_lost)
		pf_err("out of memory in the selector index: every pod is now recomputed on "
		       "every change");
	e->index_lost = true;
}

/* Adds item under key kv (taken: freed here; NULL: no memory) or removes it. */
static void index_update(struct pf_engine *e, struct bucket **idx, char *kv, void *item, bool add)
{
	if (add && (!kv || index_add(idx, kv, item)))
		index_lost(e);
	else if (kv && !add)
		index_del(idx, kv, item);
	free(kv);
}

static void policy_index(struct pf_engine *e, struct policy_ent *pe, struct pf_policy *p, bool add)
{
	const struct pf_sel_req *req = index_req(p);

	if (p->target.kind) {
		index_update(e, &e->pol_index, workload_kv(&p->target), pe, add);
		return;
	}
	if (!req) {
		if (add && eng_ptrs_add(&e->pol_global, pe))
			index_lost(e);
		else if (!add)
			ptrs_del(&e->pol_global, pe);
		return;
	}
	for (size_t i = 0; i < req->values.n; i++)
		index_update(e, &e->pol_index, label_kv(req->key, req->values.v[i]), pe, add);
}

void eng_pod_index(struct pf_engine *e, struct pod_ent *pe, struct pf_pod *pod, bool add)
{
	if (pod->workload.kind)
		index_update(e, &e->pod_index, workload_kv(&pod->workload), pe, add);
	for (size_t i = 0; i < pod->labels.n; i++)
		index_update(e, &e->pod_index,
			     label_kv(pod->labels.v[i].key, pod->labels.v[i].value), pe, add);
}

void eng_mark_dirty(struct pf_engine *e, struct pod_ent *pe)
{
	if (pe->dirty)
		return;
	pe->dirty = true;
	pe->next_dirty = e->dirty;
	e->dirty = pe;
}

/* Marks every pod a policy's selector may select. */
void eng_mark_selected(struct pf_engine *e, const struct pf_policy *p)
{
	const struct pf_sel_req *req = p ? index_req(p) : NULL;
	struct pod_ent *pe, *tmp;
	struct bucket *b;

	if (!p)
		return;
	if (p->target.kind && !e->index_lost) {
		char *kv = workload_kv(&p->target);

		if (kv) {
			HASH_FIND_STR(e->pod_index, kv, b);
			free(kv);
			for (size_t j = 0; b && j < b->items.n; j++)
				eng_mark_dirty(e, b->items.v[j]);
			return;
		}
		index_lost(e); /* no memory to look it up: every pod, as below */
	}
	if (!req || e->index_lost) {
		HASH_ITER (hh, e->pods, pe, tmp)
			eng_mark_dirty(e, pe);
		return;
	}
	for (size_t i = 0; i < req->values.n; i++) {
		char *kv = label_kv(req->key, req->values.v[i]);

		if (!kv)
			continue;
		HASH_FIND_STR(e->pod_index, kv, b);
		free(kv);
		for (size_t j = 0; b && j < b->items.n; j++)
			eng_mark_dirty(e, b->items.v[j]);
	}
}

/* Pods that bindings of template `name` may select: a template change recomputes them. */
void eng_mark_template_users(struct pf_engine *e, const char *name)
{
	struct bucket *b;

	HASH_FIND_STR(e->tpl_index, name, b);
	for (size_t i = 0; b && i < b->items.n; i++) {
		struct policy_ent *be = b->items.v[i];

		eng_mark_selected(e, defs_active(&be->defs));
	}
}

/* Keeps the index of selecting objects (policies, bindings) and of template users. */
void eng_policy_reindex(struct pf_engine *e, struct policy_ent *pe, struct pf_policy *p, bool add)
{
	if (p->type == PF_POLICY_TEMPLATE)
		return; /* selects nothing itself */
	policy_index(e, pe, p, add);
	if (p->type != PF_POLICY_BINDING)
		return;
	if (add && index_add(&e->tpl_index, p->template_ref, pe))
		index_lost(e);
	else if (!add)
		index_del(&e->tpl_index, p->template_ref, pe);
}

static int cmp_policy_key(const void *a, const void *b)
{
	const struct policy_ent *pa = *(const struct policy_ent *const *)a;
	const struct policy_ent *pb = *(const struct policy_ent *const *)b;

	return strcmp(pa->key, pb->key);
}

static int consider(struct pf_engine *e, struct policy_ent *pe, const struct pf_pod *pod,
		    struct ptrs *out)
{
	struct pf_policy *p = defs_active(&pe->defs);

	/* A template selects nothing itself (its bindings do); an instance has no definition. */
	if (pe->stamp == e->stamp || !p || p->type == PF_POLICY_TEMPLATE)
		return 0;
	pe->stamp = e->stamp;
	if (p->namespace && strcmp(p->namespace, pod->namespace) != 0)
		return 0;
	if (p->pods.present && !pf_selector_matches(&p->pods, &pod->labels))
		return 0;
	if (!pf_policy_targets(p, &pod->workload))
		return 0;
	return eng_ptrs_add(out, pe);
}

/*
 * Policies that select the pod (for some container at least), sorted by key.
 * -ENOMEM when the list could not be made whole: a candidate left out would
 * go unenforced, so the caller keeps what the pod had.
 */
int eng_candidates(struct pf_engine *e, const struct pf_pod *pod, struct ptrs *out)
{
	struct bucket *b;
	int err = 0;

	e->stamp++;
	if (pod->workload.kind) {
		char *kv = workload_kv(&pod->workload);

		if (!kv)
			return -ENOMEM;
		HASH_FIND_STR(e->pol_index, kv, b);
		free(kv);
		for (size_t j = 0; b && j < b->items.n && !err; j++)
			err = consider(e, b->items.v[j], pod, out);
	}
	for (size_t i = 0; i < pod->labels.n && !err; i++) {
		char *kv = label_kv(pod->labels.v[i].key, pod->labels.v[i].value);

		if (!kv) {
			err = -ENOMEM;
			break;
		}
		HASH_FIND_STR(e->pol_index, kv, b);
		free(kv);
		for (size_t j = 0; b && j < b->items.n && !err; j++)
			err = consider(e, b->items.v[j], pod, out);
	}
	for (size_t j = 0; j < e->pol_global.n && !err; j++)
		err = consider(e, e->pol_global.v[j], pod, out);
	if (e->index_lost && !err) {
		struct policy_ent *pe, *tmp;

		HASH_ITER (hh, e->policies, pe, tmp) {
			err = consider(e, pe, pod, out);
			if (err)
				break;
		}
	}
	if (err)
		return err;
	/* Canonical order: the compiled rules never depend on arrival order. */
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_policy_key);
	return 0;
}
