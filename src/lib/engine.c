// SPDX-License-Identifier: Apache-2.0
/*
 * Desired state -> kernel. Inputs are kept per source file; when two files
 * define the same object, the file that sorts first wins (so every node
 * reaches the same state whatever the order files arrive in). Pods touched
 * by a change are marked dirty and recomputed by pf_engine_sync().
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>
#include "podfence/cgroup.h"
#include "podfence/compile.h"
#include "podfence/engine.h"
#include "podfence/log.h"
#include "podfence/sets.h"

/* Room for one error message about a pod or a container. */
#define PF_ENGINE_MSG 256

/* ---- small containers ------------------------------------------------- */

struct ptrs {
	void **v;
	size_t n, cap;
};

static int ptrs_add(struct ptrs *a, void *p)
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

static int ptrs_add_unique(struct ptrs *a, void *p)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == p)
			return 0;
	return ptrs_add(a, p);
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

/* Buckets of an inverted index "key=value" -> objects. */
struct bucket {
	char *kv;
	struct ptrs items;
	UT_hash_handle hh;
};

static char *label_kv(const char *k, const char *v)
{
	char *s;

	return asprintf(&s, "%s=%s", k, v) < 0 ? NULL : s;
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
	}
	return ptrs_add(&b->items, item);
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

/*
 * Definitions of one object by several files, sorted by file name: the first
 * is in force. Makes the result independent of arrival order.
 */
struct def {
	char *file;
	void *obj;
};

struct defs {
	struct def *v;
	size_t n, cap;
};

/*
 * Sets file's definition (replacing a previous one); returns the old object
 * or NULL, and *err -ENOMEM when it could not be stored (obj not taken).
 */
static void *defs_set(struct defs *d, const char *file, void *obj, int *err)
{
	char *name;
	size_t i;
	void *old;

	*err = 0;
	for (i = 0; i < d->n; i++) {
		int c = strcmp(d->v[i].file, file);

		if (c == 0) {
			old = d->v[i].obj;
			d->v[i].obj = obj;
			return old;
		}
		if (c > 0)
			break;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 2;
		struct def *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			*err = -ENOMEM;
			return NULL;
		}
		d->v = v;
		d->cap = cap;
	}
	name = strdup(file);
	if (!name) {
		*err = -ENOMEM;
		return NULL;
	}
	memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(*d->v));
	d->v[i].file = name;
	d->v[i].obj = obj;
	d->n++;
	return NULL;
}

static void *defs_remove(struct defs *d, const char *file)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->v[i].file, file) == 0) {
			void *obj = d->v[i].obj;

			free(d->v[i].file);
			memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(*d->v));
			d->n--;
			return obj;
		}
	}
	return NULL;
}

static void *defs_active(const struct defs *d)
{
	return d->n ? d->v[0].obj : NULL;
}

/* ---- engine state ---------------------------------------------------- */

/*
 * A policy object (TracingPolicy, PolicyTemplate, PolicyBinding: defined by
 * files) or a template instance: the template as the bindings of one
 * container make it, with the union of their values. An instance is keyed by
 * its template and binding keys, so containers with the same bindings share
 * its id and counters; it lives while some pod uses it.
 */
struct policy_ent {
	char *key; /* "<kind>/<namespace>/<name>", or "instance:<template>|<binding>|..." */
	uint32_t id;
	struct defs defs; /* struct pf_policy * per file (none for an instance) */
	unsigned stamp;	  /* candidate de-duplication */
	size_t n_pods;	  /* pods it applies to; counters exist while > 0 */
	int counters_err; /* why its counters could not be created (-E2BIG: map full), or 0 */
	struct pf_policy *indexed; /* definition whose selector is in the index */
	/* instance only */
	char *tpl_name;
	char **bindings; /* "<namespace>/<name>" of its bindings, sorted */
	size_t n_bindings;
	UT_hash_handle hh;
	UT_hash_handle hh_id;
};

struct wl_ent;

/* A container of the applied pod definition and the workload of its own rules. */
struct cont_ent {
	char *name;
	struct wl_ent *wl; /* NULL: no rule applies to it (bound to the engine's empty workload) */
};

struct pod_ent {
	char *key;		/* "<namespace>/<name>" */
	struct defs defs;	/* struct pf_pod * per file */
	struct pf_pod *indexed; /* definition whose labels are in the index */
	bool dirty;
	struct pod_ent *next_dirty;
	/* what is in the kernel for it */
	struct pf_pod *applied; /* the definition the kernel state was computed from */
	/*
	 * The pod cgroup and every cgroup of the pod that no container of
	 * `applied` claims (a container not identified yet, restarted, ...):
	 * the rules of all its containers together, the strictest that can
	 * apply to any of them. NULL when no rule applies to the pod at all.
	 */
	struct wl_ent *pod_wl;
	struct cont_ent *cont; /* per container of `applied` */
	size_t n_cont;
	struct ptrs policies; /* policy_ent * applied to some workload of the pod */
	uint64_t *cgids;      /* cgroups bound by us */
	size_t n_cgids, cap_cgids;
	bool pending; /* pod cgroup not found yet */
	bool rewalk;  /* a container reported with an id has no cgroup yet */
	long long rewalk_until_ms;
	char (*expected)[PF_CG_NAME_MAX]; /* cgroup names the kernel binds at creation */
	size_t n_expected;
	char error[2 * PF_ENGINE_MSG];
	UT_hash_handle hh;
};

struct wl_ent {
	uint32_t id;
	struct pod_ent *pod; /* NULL: the engine's empty workload */
	char *container;     /* NULL: the pod's (pod_wl) */
	struct pf_rule rules[PF_MAX_RULES];
	size_t n_rules;
	UT_hash_handle hh;
};

struct cg_ent {
	uint64_t cgid;
	struct pod_ent *pod;
	UT_hash_handle hh;
};

struct file_ent {
	char *file;
	bool is_pod_file;
	char **keys; /* objects it defines */
	size_t n_keys;
	struct pf_diags diags; /* last parse: errors keep the previous good version */
	UT_hash_handle hh;
};

struct wl_garbage {
	uint32_t id;
	struct wl_garbage *next;
};

struct pf_engine {
	struct pf_store *st;
	struct pf_sets *sets;
	struct pf_set_resolver resolver;
	char cgroup_root[PATH_MAX];
	struct policy_ent *policies;
	struct policy_ent *policies_by_id;
	struct bucket *pol_index;    /* label -> policies whose selector requires it */
	struct bucket *tpl_index;    /* template name -> bindings referring to it */
	struct ptrs fresh_instances; /* instances created by the pod being computed */
	struct ptrs pol_global;	     /* policies that cannot be indexed */
	struct pod_ent *pods;
	struct bucket *pod_index; /* label -> pods carrying it */
	struct pod_ent *dirty;
	struct wl_ent *wls;
	struct cg_ent *cgs;
	struct file_ent *files;
	struct wl_garbage *wl_garbage;
	struct wl_ent *wl_none; /* no rules: containers of bound pods that no policy selects */
	unsigned stamp;
	uint32_t generation;
	size_t n_policy_pods;
	bool index_lost; /* an index entry could not be stored: every lookup is a scan */
	/* cgroups that could not be bound (cg_workload full, trees deeper than the walk) */
	size_t bind_failures;
	char bind_error[256];
	long long repair_due_ms;
};

static int resolver_acquire(void *ctx, enum pf_match match, const struct pf_strset *values,
			    uint32_t *set_id, uint8_t *tiers, char *err, size_t err_len)
{
	return pf_sets_acquire(ctx, match, values, set_id, tiers, err, err_len);
}

static void resolver_release(void *ctx, uint32_t set_id)
{
	pf_sets_release(ctx, set_id);
}

struct pf_engine *pf_engine_new(struct pf_store *st, const char *cgroup_root)
{
	struct pf_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->st = st;
	e->sets = pf_sets_new(st);
	if (!e->sets) {
		free(e);
		return NULL;
	}
	e->resolver =
	    (struct pf_set_resolver){resolver_acquire, resolver_release, e->sets, !st->sees_caller};
	if (cgroup_root)
		snprintf(e->cgroup_root, sizeof(e->cgroup_root), "%s", cgroup_root);
	else if (pf_cgroup2_mount(e->cgroup_root, sizeof(e->cgroup_root)))
		pf_warn("no cgroup2 mount found: pods cannot be bound");
	return e;
}

/* ---- policy index --------------------------------------------------- */

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

static void policy_index(struct pf_engine *e, struct policy_ent *pe, struct pf_policy *p, bool add)
{
	const struct pf_sel_req *req = index_req(p);

	if (!req) {
		if (add && ptrs_add(&e->pol_global, pe))
			index_lost(e);
		else if (!add)
			ptrs_del(&e->pol_global, pe);
		return;
	}
	for (size_t i = 0; i < req->values.n; i++) {
		char *kv = label_kv(req->key, req->values.v[i]);

		if (add && (!kv || index_add(&e->pol_index, kv, pe)))
			index_lost(e);
		else if (kv && !add)
			index_del(&e->pol_index, kv, pe);
		free(kv);
	}
}

static void pod_index(struct pf_engine *e, struct pod_ent *pe, struct pf_pod *pod, bool add)
{
	for (size_t i = 0; i < pod->labels.n; i++) {
		char *kv = label_kv(pod->labels.v[i].key, pod->labels.v[i].value);

		if (add && (!kv || index_add(&e->pod_index, kv, pe)))
			index_lost(e);
		else if (kv && !add)
			index_del(&e->pod_index, kv, pe);
		free(kv);
	}
}

static void mark_dirty(struct pf_engine *e, struct pod_ent *pe)
{
	if (pe->dirty)
		return;
	pe->dirty = true;
	pe->next_dirty = e->dirty;
	e->dirty = pe;
}

/* Marks every pod a policy's selector may select. */
static void mark_selected(struct pf_engine *e, const struct pf_policy *p)
{
	const struct pf_sel_req *req = p ? index_req(p) : NULL;
	struct pod_ent *pe, *tmp;
	struct bucket *b;

	if (!p)
		return;
	if (!req || e->index_lost) {
		HASH_ITER(hh, e->pods, pe, tmp)
		mark_dirty(e, pe);
		return;
	}
	for (size_t i = 0; i < req->values.n; i++) {
		char *kv = label_kv(req->key, req->values.v[i]);

		if (!kv)
			continue;
		HASH_FIND_STR(e->pod_index, kv, b);
		free(kv);
		for (size_t j = 0; b && j < b->items.n; j++)
			mark_dirty(e, b->items.v[j]);
	}
}

/* ---- files ----------------------------------------------------------- */

static struct file_ent *file_get(struct pf_engine *e, const char *file, bool is_pod_file)
{
	struct file_ent *fe;

	HASH_FIND_STR(e->files, file, fe);
	if (fe)
		return fe;
	fe = calloc(1, sizeof(*fe));
	if (!fe || !(fe->file = strdup(file))) {
		free(fe);
		return NULL;
	}
	fe->is_pod_file = is_pod_file;
	HASH_ADD_KEYPTR(hh, e->files, fe->file, strlen(fe->file), fe);
	return fe;
}

static void file_set_keys(struct file_ent *fe, char **keys, size_t n)
{
	for (size_t i = 0; i < fe->n_keys; i++)
		free(fe->keys[i]);
	free(fe->keys);
	fe->keys = keys;
	fe->n_keys = n;
}

static void file_drop(struct pf_engine *e, struct file_ent *fe)
{
	HASH_DEL(e->files, fe);
	file_set_keys(fe, NULL, 0);
	pf_diags_free(&fe->diags);
	free(fe->file);
	free(fe);
}

static void file_set_diags(struct file_ent *fe, const struct pf_diags *diags)
{
	pf_diags_clear(&fe->diags);
	if (!diags)
		return;
	for (size_t i = 0; i < diags->n; i++) {
		const struct pf_diag *d = &diags->v[i];

		pf_diags_add(&fe->diags, d->sev, d->file, d->line, d->col, "%s",
			     d->msg ? d->msg : "");
	}
}

static void policy_ent_free(struct pf_engine *e, struct policy_ent *pe)
{
	HASH_DEL(e->policies, pe);
	HASH_DELETE(hh_id, e->policies_by_id, pe);
	for (size_t i = 0; i < pe->n_bindings; i++)
		free(pe->bindings[i]);
	free(pe->bindings);
	free(pe->tpl_name);
	free(pe->defs.v);
	free(pe->key);
	free(pe);
}

/* Pods that bindings of template `name` may select: a template change recomputes them. */
static void mark_template_users(struct pf_engine *e, const char *name)
{
	struct bucket *b;

	HASH_FIND_STR(e->tpl_index, name, b);
	for (size_t i = 0; b && i < b->items.n; i++) {
		struct policy_ent *be = b->items.v[i];

		mark_selected(e, defs_active(&be->defs));
	}
}

/* Keeps the index of selecting objects (policies, bindings) and of template users. */
static void policy_reindex(struct pf_engine *e, struct policy_ent *pe, struct pf_policy *p,
			   bool add)
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

/*
 * Installs (or, with p NULL, removes) file's definition of a policy, taking
 * p. On error p is freed and what was in force stays in force.
 */
static int policy_define(struct pf_engine *e, const char *key, const char *file,
			 struct pf_policy *p)
{
	struct pf_policy *before, *after, *old;
	struct policy_ent *pe;
	int err = 0;

	HASH_FIND_STR(e->policies, key, pe);
	if (!pe) {
		if (!p)
			return 0;
		pe = calloc(1, sizeof(*pe));
		err = !pe || !(pe->key = strdup(key))
			  ? -ENOMEM
			  : pf_store_alloc_id(e->st, PF_ID_POLICY, &pe->id);
		if (err) {
			if (pe)
				free(pe->key);
			free(pe);
			goto drop;
		}
		HASH_ADD_KEYPTR(hh, e->policies, pe->key, strlen(pe->key), pe);
		HASH_ADD(hh_id, e->policies_by_id, id, sizeof(pe->id), pe);
	}
	before = defs_active(&pe->defs);
	old = p ? defs_set(&pe->defs, file, p, &err) : defs_remove(&pe->defs, file);
	if (err) {
		if (!pe->defs.n && !pe->n_pods)
			policy_ent_free(e, pe);
		goto drop;
	}
	after = defs_active(&pe->defs);
	if (before != after) {
		if (pe->indexed)
			policy_reindex(e, pe, pe->indexed, false);
		pe->indexed = after;
		if (after)
			policy_reindex(e, pe, after, true);
		/* Pods it selected and pods it selects now: both may change. */
		if (before && before->type == PF_POLICY_TEMPLATE)
			mark_template_users(e, before->name);
		else
			mark_selected(e, before);
		if (after && after->type == PF_POLICY_TEMPLATE)
			mark_template_users(e, after->name);
		else
			mark_selected(e, after);
	}
	if (old && old != p) {
		pf_policy_free(old);
		free(old);
	}
	/* Pods using it were marked above; the entry goes once none refers to it. */
	if (!pe->defs.n && !pe->n_pods)
		policy_ent_free(e, pe);
	return 0;

drop:
	pf_err("%s: policy %s: %s (what was in force stays)", file, key, strerror(-err));
	pf_policy_free(p);
	free(p);
	return err;
}

static int policy_define_v(struct pf_engine *e, const char *key, const char *file, void *obj)
{
	return policy_define(e, key, file, obj);
}

static void pod_release_all(struct pf_engine *e, struct pod_ent *pe);

/* The same for a pod. */
static int pod_define(struct pf_engine *e, const char *key, const char *file, struct pf_pod *pod)
{
	struct pf_pod *before, *after, *old;
	struct pod_ent *pe;
	int err = 0;

	HASH_FIND_STR(e->pods, key, pe);
	if (!pe) {
		if (!pod)
			return 0;
		pe = calloc(1, sizeof(*pe));
		if (!pe || !(pe->key = strdup(key))) {
			free(pe);
			err = -ENOMEM;
			goto drop;
		}
		HASH_ADD_KEYPTR(hh, e->pods, pe->key, strlen(pe->key), pe);
	}
	before = defs_active(&pe->defs);
	old = pod ? defs_set(&pe->defs, file, pod, &err) : defs_remove(&pe->defs, file);
	if (err) {
		if (!pe->defs.n && !pe->applied) {
			HASH_DEL(e->pods, pe);
			free(pe->defs.v);
			free(pe->key);
			free(pe);
		}
		goto drop;
	}
	after = defs_active(&pe->defs);
	if (before != after) {
		if (pe->indexed)
			pod_index(e, pe, pe->indexed, false);
		pe->indexed = after;
		if (after)
			pod_index(e, pe, after, true);
		mark_dirty(e, pe);
	}
	/* `applied` may still point at the old definition: freed when replaced in sync. */
	if (old && old != pod && old != pe->applied) {
		pf_pod_free(old);
		free(old);
	}
	return 0;

drop:
	pf_err("%s: pod %s: %s (what was in force stays)", file, key, strerror(-err));
	pf_pod_free(pod);
	free(pod);
	return err;
}

static int pod_define_v(struct pf_engine *e, const char *key, const char *file, void *obj)
{
	return pod_define(e, key, file, obj);
}

/* How the objects of one kind of input file are keyed and installed. */
struct file_kind {
	bool is_pod_file;
	size_t size; /* of one object in the parsed list */
	char *(*key)(const void *obj);
	int (*define)(struct pf_engine *e, const char *key, const char *file, void *obj);
};

static char *policy_key_v(const void *obj)
{
	return pf_policy_key(obj);
}

static char *pod_key(const void *obj)
{
	const struct pf_pod *pod = obj;
	char *s;

	return asprintf(&s, "%s/%s", pod->namespace, pod->name) < 0 ? NULL : s;
}

static const struct file_kind policy_files = {
    false,
    sizeof(struct pf_policy),
    policy_key_v,
    policy_define_v,
};
static const struct file_kind pod_files = {
    true,
    sizeof(struct pf_pod),
    pod_key,
    pod_define_v,
};

/*
 * Replaces what a file defines with the n objects of `objs` (moved into the
 * engine, zeroed in the list). With errors in diags the previous good
 * version stays in force and only the errors are recorded.
 */
/* Whether the file's previous version defined key (its definition then stays on failure). */
static bool file_had(const struct file_ent *fe, const char *key)
{
	for (size_t i = 0; i < fe->n_keys; i++)
		if (strcmp(fe->keys[i], key) == 0)
			return true;
	return false;
}

/*
 * Replaces what a file defines with the n objects of `objs` (moved into the
 * engine, zeroed in the list; what is not moved stays the caller's). With
 * errors in diags the previous good version stays in force and only the
 * errors are recorded. An object that cannot be stored (out of memory, ids)
 * keeps the file's previous definition of it in force; the first error is
 * returned and shown in status with the file's diagnostics.
 */
static int file_replace(struct pf_engine *e, const char *file, const struct file_kind *kind,
			void *objs, size_t n_objs, const struct pf_diags *diags)
{
	struct file_ent *fe = file_get(e, file, kind->is_pod_file);
	char **keys = NULL, **new_keys = NULL;
	size_t n = 0, failed = 0;
	int err = 0, ret = 0;

	if (!fe) {
		pf_err("%s: out of memory: not applied (what was in force stays)", file);
		return -ENOMEM;
	}
	file_set_diags(fe, diags);
	if (diags && diags->n_errors)
		return 0;
	new_keys = calloc(n_objs + 1, sizeof(*new_keys));
	keys = calloc(n_objs + 1, sizeof(*keys));
	if (!new_keys || !keys) {
		ret = -ENOMEM;
		failed = n_objs;
		goto out;
	}
	for (size_t i = 0; i < n_objs; i++)
		new_keys[i] = kind->key((char *)objs + i * kind->size);
	/* Objects of the previous version that this one no longer defines. */
	for (size_t i = 0; i < fe->n_keys; i++) {
		bool kept = false;

		for (size_t j = 0; j < n_objs && !kept; j++)
			kept = new_keys[j] && strcmp(new_keys[j], fe->keys[i]) == 0;
		if (!kept)
			kind->define(e, fe->keys[i], file, NULL);
	}
	for (size_t i = 0; i < n_objs; i++) {
		void *slot = (char *)objs + i * kind->size, *obj = NULL;

		err = new_keys[i] ? 0 : -ENOMEM;
		if (!err && !(obj = malloc(kind->size)))
			err = -ENOMEM;
		if (!err) {
			memcpy(obj, slot, kind->size);
			memset(slot, 0, kind->size);
			err = kind->define(e, new_keys[i], file, obj);
		}
		if (err) {
			ret = ret ? ret : err;
			failed++;
			/* Its previous definition, if any, is still this file's. */
			if (!new_keys[i] || !file_had(fe, new_keys[i])) {
				free(new_keys[i]);
				continue;
			}
		}
		keys[n++] = new_keys[i];
	}
	file_set_keys(fe, keys, n);
	keys = NULL;
out:
	if (ret)
		pf_diags_error(&fe->diags, file, 0, 0,
			       "%zu of %zu objects not applied: %s (what was in force stays)",
			       failed, n_objs, strerror(-ret));
	free(new_keys);
	free(keys);
	return ret;
}

static int file_removed(struct pf_engine *e, const char *file, const struct file_kind *kind)
{
	struct file_ent *fe;

	HASH_FIND_STR(e->files, file, fe);
	if (!fe)
		return 0;
	for (size_t i = 0; i < fe->n_keys; i++)
		kind->define(e, fe->keys[i], file, NULL);
	file_drop(e, fe);
	return 0;
}

int pf_engine_policy_file(struct pf_engine *e, const char *file, struct pf_policy_list *pols,
			  const struct pf_diags *diags)
{
	return file_replace(e, file, &policy_files, pols->v, pols->n, diags);
}

int pf_engine_policy_file_removed(struct pf_engine *e, const char *file)
{
	return file_removed(e, file, &policy_files);
}

int pf_engine_pod_file(struct pf_engine *e, const char *file, struct pf_pod_list *pods,
		       const struct pf_diags *diags)
{
	return file_replace(e, file, &pod_files, pods->v, pods->n, diags);
}

int pf_engine_pod_file_removed(struct pf_engine *e, const char *file)
{
	return file_removed(e, file, &pod_files);
}

/* ---- computing a pod ---------------------------------------------------- */

static int cmp_policy_key(const void *a, const void *b)
{
	const struct policy_ent *pa = *(const struct policy_ent *const *)a;
	const struct policy_ent *pb = *(const struct policy_ent *const *)b;

	return strcmp(pa->key, pb->key);
}

static void consider(struct pf_engine *e, struct policy_ent *pe, const struct pf_pod *pod,
		     struct ptrs *out)
{
	struct pf_policy *p = defs_active(&pe->defs);

	if (pe->stamp == e->stamp || !p)
		return;
	pe->stamp = e->stamp;
	if (p->namespace && strcmp(p->namespace, pod->namespace) != 0)
		return;
	if (p->pods.present && !pf_selector_matches(&p->pods, &pod->labels))
		return;
	ptrs_add(out, pe);
}

/* Policies that select the pod (for some container at least), sorted by key. */
static void candidates(struct pf_engine *e, const struct pf_pod *pod, struct ptrs *out)
{
	struct bucket *b;

	e->stamp++;
	for (size_t i = 0; i < pod->labels.n; i++) {
		char *kv = label_kv(pod->labels.v[i].key, pod->labels.v[i].value);

		if (!kv)
			continue;
		HASH_FIND_STR(e->pol_index, kv, b);
		free(kv);
		for (size_t j = 0; b && j < b->items.n; j++)
			consider(e, b->items.v[j], pod, out);
	}
	for (size_t j = 0; j < e->pol_global.n; j++)
		consider(e, e->pol_global.v[j], pod, out);
	if (e->index_lost) {
		struct policy_ent *pe, *tmp;

		HASH_ITER(hh, e->policies, pe, tmp)
		consider(e, pe, pod, out);
	}
	/* Canonical order: the compiled rules never depend on arrival order. */
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_policy_key);
}

/* The definition in force of a policy object (NULL for an instance, or once undefined). */
static struct pf_policy *ent_policy(const struct policy_ent *pe)
{
	return defs_active(&pe->defs);
}

static bool applies_to(const struct pf_policy *p, const char *container)
{
	return !p->containers.n || (container && pf_strset_has(&p->containers, container));
}

static struct pf_policy *active_template(struct pf_engine *e, const char *name)
{
	struct policy_ent *te;
	char *key = pf_template_key(name);

	if (!key)
		return NULL;
	HASH_FIND_STR(e->policies, key, te);
	free(key);
	return te ? defs_active(&te->defs) : NULL;
}

static int cmp_binding(const void *a, const void *b)
{
	const struct policy_ent *pa = *(const struct policy_ent *const *)a;
	const struct policy_ent *pb = *(const struct policy_ent *const *)b;
	int c = strcmp(ent_policy(pa)->template_ref, ent_policy(pb)->template_ref);

	return c ? c : strcmp(pa->key, pb->key);
}

/* The instance of a template made by these bindings (sorted by key), created on first use. */
static struct policy_ent *instance_get(struct pf_engine *e, const char *tpl,
				       const struct pf_policy *const *bs, size_t n)
{
	struct policy_ent *ie;
	char *key = NULL;
	size_t len;
	FILE *f = open_memstream(&key, &len);

	if (!f)
		return NULL;
	fprintf(f, "instance:%s", tpl);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "|%s/%s", bs[i]->namespace, bs[i]->name);
	if (fclose(f)) {
		free(key);
		return NULL;
	}
	HASH_FIND_STR(e->policies, key, ie);
	if (ie) {
		free(key);
		return ie;
	}
	ie = calloc(1, sizeof(*ie));
	if (!ie || pf_store_alloc_id(e->st, PF_ID_POLICY, &ie->id) ||
	    !(ie->tpl_name = strdup(tpl)) || !(ie->bindings = calloc(n, sizeof(*ie->bindings)))) {
		if (ie)
			free(ie->tpl_name);
		free(ie);
		free(key);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (asprintf(&ie->bindings[ie->n_bindings], "%s/%s", bs[i]->namespace,
			     bs[i]->name) > 0)
			ie->n_bindings++;
	ie->key = key;
	HASH_ADD_KEYPTR(hh, e->policies, ie->key, strlen(ie->key), ie);
	HASH_ADD(hh_id, e->policies_by_id, id, sizeof(ie->id), ie);
	ptrs_add(&e->fresh_instances, ie);
	return ie;
}

/* Compiles one template's bindings[0..n) (same template, sorted) for a container. */
static int compile_instance(struct pf_engine *e, struct policy_ent *const *bes, size_t n,
			    uint8_t *group, struct pf_rule *rules, size_t *n_rules,
			    struct ptrs *used, char *err, size_t err_len)
{
	const struct pf_policy *b0 = ent_policy(bes[0]);
	struct pf_policy *tpl = active_template(e, b0->template_ref), inst;
	const struct pf_policy **ok = calloc(n, sizeof(*ok));
	struct policy_ent *ie;
	size_t m = 0;
	int ret = 0, line, col;

	if (!ok)
		return -ENOMEM;
	if (!tpl)
		goto out; /* waiting for its template (reported in status) */
	for (size_t i = 0; i < n; i++) {
		const struct pf_policy *b = ent_policy(bes[i]);
		char msg[256];

		/* A binding its template refuses takes no part (reported in status). */
		if (!pf_binding_check(tpl, b, msg, sizeof(msg), &line, &col))
			ok[m++] = b;
	}
	if (!m)
		goto out;
	ie = instance_get(e, tpl->name, ok, m);
	if (!ie) {
		ret = -ENOMEM;
		goto out;
	}
	ret = pf_template_instantiate(tpl, ok, m, &inst, err, err_len);
	if (ret)
		goto out;
	ret = pf_compile_policy(&inst, ie->id, group, &e->resolver, rules, PF_MAX_RULES, n_rules,
				err, err_len);
	pf_policy_free(&inst);
	if (!ret)
		ret = ptrs_add_unique(used, ie);
out:
	free(ok);
	return ret;
}

/*
 * Rules for one container (name NULL: pod-level) from the sorted candidates:
 * tracing policies in key order, then one instance per template whose
 * bindings select the container. Objects whose rules were used go to `used`.
 */
/* The set of an allowlist condition of rule r (NotEqual on the executed file), or NULL. */
static const struct pf_cond *allowlist_cond(const struct pf_rule *r)
{
	for (unsigned c = 0; c < r->n_conds && c < PF_MAX_CONDS; c++)
		if (r->conds[c].subject == PF_SUBJ_EXEC_PATH &&
		    r->conds[c].match == PF_MATCH_EXACT && r->conds[c].negate)
			return &r->conds[c];
	return NULL;
}

/*
 * Several allowlists on one workload (one per policy that selects it) cost
 * one value lookup each per exec. A file in all of them, the usual exec,
 * makes each of those rules false: so one lookup in their intersection, a
 * rule of its own in front (PF_RULE_SKIP_IF_IN), lets the program skip them
 * all. Any other file evaluates every rule as before. Only for workloads
 * already in the large class, and never at the cost of a rule slot a policy
 * needs; a failure leaves the rules as they are.
 */
/* Keeps in *common only what is also in values (all of values for the first list). */
static int strset_keep_common(struct pf_strset *common, const struct pf_strset *values, bool first)
{
	struct pf_strset kept = {};

	for (size_t i = 0; i < values->n; i++) {
		if ((first || pf_strset_has(common, values->v[i])) &&
		    pf_strset_add(&kept, values->v[i]) < 0) {
			pf_strset_free(&kept);
			return -ENOMEM;
		}
	}
	pf_strset_free(common);
	*common = kept;
	return 0;
}

static void add_allowlist_skip_rule(struct pf_engine *e, struct pod_ent *pe, struct pf_rule *rules,
				    size_t *n)
{
	struct pf_strset common = {};
	struct pf_rule skip = {
	    .flags = PF_RULE_SKIP_IF_IN,
	    .group = UINT8_MAX,
	    .n_conds = 1,
	};
	size_t n_lists = 0;
	char msg[PF_ENGINE_MSG] = "";
	int err = 0;

	if (*n <= PF_SMALL_RULES || *n >= PF_MAX_RULES)
		return;
	for (size_t i = 0; i < *n; i++) {
		const struct pf_cond *c = allowlist_cond(&rules[i]);
		const struct pf_strset *values = c ? pf_sets_values(e->sets, c->set_id) : NULL;

		if (!values)
			continue;
		err = strset_keep_common(&common, values, n_lists == 0);
		if (err)
			goto out;
		skip.skip_mask |= 1u << (i + 1); /* indices once the skip rule is in front */
		n_lists++;
	}
	if (n_lists < 2 || !common.n)
		goto out;
	skip.conds[0].subject = PF_SUBJ_EXEC_PATH;
	skip.conds[0].match = PF_MATCH_EXACT;
	err = pf_sets_acquire(e->sets, PF_MATCH_EXACT, &common, &skip.conds[0].set_id,
			      &skip.conds[0].tiers, msg, sizeof(msg));
	if (err)
		goto out;
	memmove(&rules[1], &rules[0], *n * sizeof(*rules));
	rules[0] = skip;
	(*n)++;
out:
	/* The rules are complete without it; execs only cost more. Said anyway. */
	if (err && !pe->error[0]) {
		snprintf(pe->error, sizeof(pe->error),
			 "%s: the allowlists' shortcut rule was not written: %s (rules complete; "
			 "execs cost one lookup per allowlist)",
			 pe->key, msg[0] ? msg : strerror(-err));
		pf_err("%s", pe->error);
	}
	pf_strset_free(&common);
}

/* The rules of one container (name NULL: of no known container), without the skip rule. */
static int compile_rules(struct pf_engine *e, const struct ptrs *cands, const char *container,
			 struct pf_rule *rules, size_t *n, struct ptrs *used, char *err,
			 size_t err_len)
{
	struct ptrs bindings = {};
	uint8_t group = 0;
	int ret = 0;

	*n = 0;
	for (size_t i = 0; i < cands->n && !ret; i++) {
		struct policy_ent *pe = cands->v[i];
		struct pf_policy *p = defs_active(&pe->defs);

		if (!applies_to(p, container))
			continue;
		if (p->type == PF_POLICY_BINDING) {
			ret = ptrs_add(&bindings, pe);
			continue;
		}
		ret = pf_compile_policy(p, pe->id, &group, &e->resolver, rules, PF_MAX_RULES, n,
					err, err_len);
		if (!ret)
			ret = ptrs_add_unique(used, pe);
	}
	/* One instance per template, from its bindings: united, whatever their order. */
	if (bindings.n)
		qsort(bindings.v, bindings.n, sizeof(*bindings.v), cmp_binding);
	for (size_t i = 0, j; i < bindings.n && !ret; i = j) {
		const char *tpl = ent_policy(bindings.v[i])->template_ref;

		for (j = i + 1; j < bindings.n; j++)
			if (strcmp(ent_policy(bindings.v[j])->template_ref, tpl))
				break;
		ret = compile_instance(e, (struct policy_ent *const *)&bindings.v[i], j - i, &group,
				       rules, n, used, err, err_len);
	}
	free(bindings.v);
	if (ret) {
		pf_rules_release(rules, *n, &e->resolver);
		*n = 0;
	}
	return ret;
}

/*
 * Appends to out[*n] the rules of src whose policies out does not hold yet
 * (a policy compiles to the same rules for every container it applies to),
 * each hook entry a group of its own; takes a set reference per condition.
 */
static int rules_merge(struct pf_engine *e, struct pf_rule *out, size_t *n,
		       const struct pf_rule *src, size_t n_src, char *err, size_t err_len)
{
	uint8_t next = 0, src_group = 0, mapped = 0;
	bool have_map = false;
	size_t n0 = *n;

	for (size_t i = 0; i < n0; i++)
		next = out[i].group + 1 > next ? out[i].group + 1 : next;
	for (size_t i = 0; i < n_src; i++) {
		bool held = false;

		for (size_t k = 0; k < n0 && !held; k++)
			held = out[k].policy_id == src[i].policy_id;
		if (held)
			continue;
		if (*n >= PF_MAX_RULES) {
			snprintf(err, err_len,
				 "more than %d rules apply to a container not identified "
				 "yet (the rules of all the pod's containers)",
				 PF_MAX_RULES);
			return -E2BIG;
		}
		if (!have_map || src[i].group != src_group) {
			src_group = src[i].group;
			mapped = next++;
			have_map = true;
		}
		out[*n] = src[i];
		out[*n].group = mapped;
		for (unsigned c = 0; c < src[i].n_conds && c < PF_MAX_CONDS; c++)
			pf_sets_ref(e->sets, src[i].conds[c].set_id);
		(*n)++;
	}
	return 0;
}

/* Denies every exec: what a container not identified yet gets when its rules cannot be written. */
static void rules_deny_all(struct pf_rule *rules, size_t *n)
{
	memset(rules, 0, sizeof(*rules));
	rules[0].policy_id = 0; /* no policy: reported as the engine's own */
	rules[0].actions = PF_ACT_DENY | PF_ACT_POST;
	rules[0].err = EPERM;
	*n = 1;
}

static bool same_rules(const struct pf_rule *a, size_t na, const struct pf_rule *b, size_t nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

static void wl_ent_free(struct wl_ent *wl)
{
	free(wl->container);
	free(wl);
}

static void wl_garbage(struct pf_engine *e, struct wl_ent *wl)
{
	struct wl_garbage *g = malloc(sizeof(*g));

	HASH_DEL(e->wls, wl);
	pf_rules_release(wl->rules, wl->n_rules, &e->resolver);
	if (g) {
		/* The ruleset stays until no program can still hold the old cgroup mapping. */
		g->id = wl->id;
		g->next = e->wl_garbage;
		e->wl_garbage = g;
	}
	wl_ent_free(wl);
}

/* Writes a workload's ruleset, its flags derived from the rules. */
static int ruleset_write(struct pf_engine *e, uint32_t wl_id, const struct pf_rule *rules, size_t n,
			 char *msg, size_t msg_len)
{
	struct pf_ruleset rs;
	int err = pf_ruleset_init(&rs, rules, n, ++e->generation);

	if (err) {
		snprintf(msg, msg_len, "%zu rules apply to one workload (at most %d)", n,
			 PF_MAX_RULES);
		return err;
	}
	return pf_store_ruleset_write(e->st, wl_id, &rs, msg, msg_len);
}

/*
 * Makes *slot hold a workload with these rules (taking ownership of their
 * set references): rewritten in place when the class allows, which is atomic
 * for every cgroup of the workload; otherwise a new workload, and the old
 * one goes to *replaced (collected once no cgroup points at it).
 */
static int wl_apply(struct pf_engine *e, struct pod_ent *pe, const char *container,
		    struct wl_ent **slot, struct pf_rule *rules, size_t n, struct wl_ent **replaced)
{
	struct wl_ent *wl = *slot, *fresh = NULL;
	bool large = n > PF_SMALL_RULES;
	char msg[192] = "";
	int err;

	*replaced = NULL;
	if (wl && same_rules(wl->rules, wl->n_rules, rules, n)) {
		pf_rules_release(rules, n, &e->resolver); /* already in force */
		return 0;
	}
	if (!wl || !!(wl->id & PF_WL_LARGE) != large) {
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh || (container && !(fresh->container = strdup(container)))) {
			if (fresh)
				wl_ent_free(fresh);
			return -ENOMEM;
		}
		err = pf_store_alloc_id(e->st, large ? PF_ID_WORKLOAD_LARGE : PF_ID_WORKLOAD,
					&fresh->id);
		if (err) {
			snprintf(pe->error, sizeof(pe->error),
				 "%s%s%s: no workload id: %s (previous rules kept)", pe->key,
				 container ? "/" : "", container ? container : "", strerror(-err));
			pf_err("%s", pe->error);
			wl_ent_free(fresh);
			return err;
		}
		fresh->pod = pe;
		wl = fresh;
	}
	err = ruleset_write(e, wl->id, rules, n, msg, sizeof(msg));
	if (err) {
		snprintf(pe->error, sizeof(pe->error), "%s%s%s: %s (previous rules kept)", pe->key,
			 container ? "/" : "", container ? container : "", msg);
		pf_err("%s", pe->error);
		if (fresh)
			wl_ent_free(fresh);
		return err;
	}
	if (fresh) {
		HASH_ADD(hh, e->wls, id, sizeof(fresh->id), fresh);
		*replaced = *slot;
	} else {
		pf_rules_release(wl->rules, wl->n_rules, &e->resolver);
	}
	memcpy(wl->rules, rules, n * sizeof(*rules));
	wl->n_rules = n;
	*slot = wl;
	return 0;
}

/* The workload with no rules, shared by every container no policy selects. */
static struct wl_ent *wl_none(struct pf_engine *e)
{
	struct wl_ent *wl;
	char msg[192] = "";

	if (e->wl_none)
		return e->wl_none;
	wl = calloc(1, sizeof(*wl));
	if (!wl)
		return NULL;
	if (pf_store_alloc_id(e->st, PF_ID_WORKLOAD, &wl->id) ||
	    ruleset_write(e, wl->id, NULL, 0, msg, sizeof(msg))) {
		pf_err("the empty workload: %s", msg[0] ? msg : "no id");
		free(wl);
		return NULL;
	}
	HASH_ADD(hh, e->wls, id, sizeof(wl->id), wl);
	e->wl_none = wl;
	return wl;
}

static void cg_track(struct pf_engine *e, struct pod_ent *pe, uint64_t cgid)
{
	struct cg_ent *ce;

	HASH_FIND(hh, e->cgs, &cgid, sizeof(cgid), ce);
	if (!ce) {
		ce = calloc(1, sizeof(*ce));
		if (!ce)
			return;
		ce->cgid = cgid;
		HASH_ADD(hh, e->cgs, cgid, sizeof(ce->cgid), ce);
		if (pe->n_cgids == pe->cap_cgids) {
			size_t cap = pe->cap_cgids ? pe->cap_cgids * 2 : 4;
			uint64_t *v = realloc(pe->cgids, cap * sizeof(*v));

			if (v) {
				pe->cgids = v;
				pe->cap_cgids = cap;
			}
		}
		if (pe->n_cgids < pe->cap_cgids)
			pe->cgids[pe->n_cgids++] = cgid;
	}
	ce->pod = pe;
}

static void cg_untrack_all(struct pf_engine *e, struct pod_ent *pe, bool unbind)
{
	for (size_t i = 0; i < pe->n_cgids; i++) {
		struct cg_ent *ce;

		HASH_FIND(hh, e->cgs, &pe->cgids[i], sizeof(pe->cgids[i]), ce);
		if (ce) {
			HASH_DEL(e->cgs, ce);
			free(ce);
		}
		if (unbind)
			pf_store_cgroup_unbind(e->st, pe->cgids[i]);
	}
	pe->n_cgids = 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* How long a container reported before its cgroup is looked for. */
#define REWALK_FOR_MS 60000

/*
 * A binding that could not be written: until a repair pass writes them all,
 * the kernel enforces unbound cgroups through their nearest bound ancestor.
 */
static void bind_failed(struct pf_engine *e, const char *what)
{
	if (!e->bind_failures++)
		pf_store_cg_overflow_ack(e->st, UINT64_MAX);
	snprintf(e->bind_error, sizeof(e->bind_error), "%s", what);
	pf_err("%s: execs there are enforced through the nearest bound ancestor cgroup", what);
}

struct bind_walk {
	struct pf_engine *e;
	struct pod_ent *pe;
	size_t dir_len;
	bool unbind;	/* unbind every cgroup of the pod (no rule applies any more) */
	bool populated; /* processes run in the pod's cgroups */
	int err;
};

/* Which container a cgroup under the pod belongs to: its first path component names the id. */
static int cgroup_container(const struct pod_ent *pe, const char *rel)
{
	const struct pf_pod *pod = pe->applied;
	size_t comp = strcspn(rel, "/");

	for (size_t i = 0; i < pod->n_containers; i++) {
		const char *id = pod->containers[i].id;
		const char *hit;

		if (!id || !*id)
			continue;
		hit = strstr(rel, id);
		if (hit && (size_t)(hit - rel) < comp)
			return (int)i;
	}
	return -1;
}

/* The workload a cgroup of the pod belongs to (rel: its path below the pod's). */
static struct wl_ent *cgroup_target(struct pf_engine *e, struct pod_ent *pe, const char *rel)
{
	int c = *rel ? cgroup_container(pe, rel) : -1;

	if (c < 0 || (size_t)c >= pe->n_cont)
		return pe->pod_wl;
	return pe->cont[c].wl ? pe->cont[c].wl : wl_none(e);
}

static int bind_one(const char *path, int dirfd, uint64_t id, void *ctx)
{
	struct bind_walk *w = ctx;
	struct pod_ent *pe = w->pe;
	const char *rel = path + w->dir_len;
	struct pf_cg_binding cur;
	struct wl_ent *target;
	char msg[192] = "", what[512];
	uint32_t hint = 0;
	int err;

	while (*rel == '/')
		rel++;
	/* CRI-O's monitor runs next to the container, not in it: never bound. */
	target = w->unbind || strncmp(rel, "crio-conmon-", 12) == 0 ? NULL
								    : cgroup_target(w->e, pe, rel);
	if (!target) {
		pf_store_cgroup_unbind(w->e->st, id);
		return 0;
	}
	/*
	 * Processes run under the pod: a cgroup bound now is anchored to its
	 * oldest process's namespace, not to whoever execs first. (Bound
	 * already: moved in place, its anchor kept.)
	 */
	if (w->populated) {
		err = pf_store_cgroup_lookup(w->e->st, id, &cur);
		if (!err && cur.wl_id == target->id)
			goto track;
		if (err)
			hint = pf_cgroup_mntns_hint(dirfd);
	}
	err = pf_store_cgroup_bind(w->e->st, id, target->id, hint, msg, sizeof(msg));
	if (err) {
		snprintf(what, sizeof(what), "%s: cgroup %.300s: %s", pe->key, path, msg);
		snprintf(pe->error, sizeof(pe->error), "%s", what);
		bind_failed(w->e, what);
		w->err = err;
		return 0;
	}
track:
	cg_track(w->e, pe, id);
	return 0;
}

/* Forgets the kernel's names for a pod not created yet (bound at creation meanwhile or not). */
static void expected_clear(struct pf_engine *e, struct pod_ent *pe)
{
	for (size_t i = 0; i < pe->n_expected; i++)
		pf_store_cgroup_unexpect(e->st, pe->expected[i]);
	free(pe->expected);
	pe->expected = NULL;
	pe->n_expected = 0;
}

/*
 * A pod known before its cgroup: the kernel binds the cgroup to the pod's
 * workload the moment the kubelet creates it, so that no exec waits for the
 * agent to see it (children inherit at their creation in turn).
 */
static void expected_set(struct pf_engine *e, struct pod_ent *pe)
{
	char names[16][PF_CG_NAME_MAX], msg[192] = "";
	int n = pf_cgroup_pod_expected_names(pe->applied, e->cgroup_root, names, 16);

	expected_clear(e, pe);
	if (n <= 0 || !pe->pod_wl)
		return;
	pe->expected = calloc(n, sizeof(*pe->expected));
	if (!pe->expected)
		return;
	for (int i = 0; i < n; i++) {
		if (pf_store_cgroup_expect(e->st, names[i], pe->pod_wl->id, msg, sizeof(msg))) {
			snprintf(pe->error, sizeof(pe->error),
				 "%s: cannot bind its cgroup at creation: %s (bound when found)",
				 pe->key, msg);
			pf_err("%s", pe->error);
			continue;
		}
		memcpy(pe->expected[pe->n_expected++], names[i], PF_CG_NAME_MAX);
	}
}

/*
 * Makes every cgroup of the pod point at the workload it belongs to, in
 * place (make-before-break: the workloads are written before, the ones
 * replaced are collected after). With unbind, removes every binding under
 * the pod, at any depth: bindings the kernel made at creation included.
 */
static void bind_cgroups(struct pf_engine *e, struct pod_ent *pe, bool unbind)
{
	char dir[PATH_MAX], what[PATH_MAX + 128];
	struct bind_walk w = {e, pe, 0, unbind || !pe->pod_wl, false, 0};
	int err;

	if (!e->cgroup_root[0] ||
	    pf_cgroup_find_pod(e->cgroup_root, pe->applied, dir, sizeof(dir))) {
		if (!pe->pending && !w.unbind)
			pf_info("pod %s: no cgroup yet, bound by the kernel when it is created",
				pe->key);
		pe->pending = !w.unbind;
		cg_untrack_all(e, pe, true);
		if (w.unbind)
			expected_clear(e, pe);
		else
			expected_set(e, pe);
		return;
	}
	pe->pending = false;
	expected_clear(e, pe);
	w.dir_len = strlen(dir);
	w.populated = !w.unbind && pf_cgroup_populated(dir);
	/* Re-learnt from the walk: removed cgroups were dropped by the kernel's rmdir tracker. */
	cg_untrack_all(e, pe, false);
	err = pf_cgroup_walk(dir, bind_one, &w);
	if (err == -ELOOP && !w.unbind) {
		snprintf(what, sizeof(what), "%s: cgroups deeper than %d levels under %s", pe->key,
			 PF_MAX_CG_LEVELS, dir);
		bind_failed(e, what);
	}
	if (w.unbind) {
		cg_untrack_all(e, pe, false);
		return;
	}
	/*
	 * A container reported before its cgroup exists (a manifest written
	 * ahead) is under the pod's rules when it appears: walked again for a
	 * while, until it is there. (A container that ended keeps its id and
	 * loses its cgroup: not for ever.)
	 */
	pe->rewalk = false;
	for (size_t i = 0; i < pe->n_cont; i++) {
		char cdir[PATH_MAX];

		if (pe->applied->containers[i].id &&
		    pf_cgroup_find_container(dir, &pe->applied->containers[i], cdir, sizeof(cdir)))
			pe->rewalk = true;
	}
	if (!pe->rewalk)
		pe->rewalk_until_ms = 0;
	else if (!pe->rewalk_until_ms)
		pe->rewalk_until_ms = mono_ms() + REWALK_FOR_MS;
}

static void pod_set_policies(struct pf_engine *e, struct pod_ent *pe, struct ptrs *now)
{
	/* Counters exist for policies that apply to at least one local pod. */
	for (size_t i = 0; i < now->n; i++) {
		struct policy_ent *p = now->v[i];

		/* Still enforced without them (the program skips a missing entry): reported,
		 * and tried again whenever a pod it applies to is recomputed. */
		if (p->n_pods++ == 0 || p->counters_err)
			p->counters_err = pf_store_counters_create(e->st, p->id);
	}
	for (size_t i = 0; i < pe->policies.n; i++) {
		struct policy_ent *p = pe->policies.v[i];

		if (--p->n_pods == 0) {
			pf_store_counters_delete(e->st, p->id);
			p->counters_err = 0;
			if (!p->defs.n)
				policy_ent_free(e, p);
		}
	}
	e->n_policy_pods -= pe->policies.n;
	e->n_policy_pods += now->n;
	free(pe->policies.v);
	pe->policies = *now;
	memset(now, 0, sizeof(*now));
}

/* Whether wl is a container's own workload (not the pod's, which it may fall back to). */
static bool cont_owns(const struct cont_ent *c)
{
	return c->wl && c->wl->container;
}

static void conts_free(struct cont_ent *cont, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cont[i].name);
	free(cont);
}

/* Unbinds every cgroup of the pod and releases its workloads (collected after a barrier). */
static void pod_release_all(struct pf_engine *e, struct pod_ent *pe)
{
	struct ptrs none = {};

	if (pe->applied)
		bind_cgroups(e, pe, true);
	cg_untrack_all(e, pe, true);
	expected_clear(e, pe);
	for (size_t i = 0; i < pe->n_cont; i++)
		if (cont_owns(&pe->cont[i]))
			wl_garbage(e, pe->cont[i].wl);
	if (pe->pod_wl)
		wl_garbage(e, pe->pod_wl);
	pe->pod_wl = NULL;
	conts_free(pe->cont, pe->n_cont);
	pe->cont = NULL;
	pe->n_cont = 0;
	pod_set_policies(e, pe, &none);
}

static void pod_forget(struct pf_engine *e, struct pod_ent *pe)
{
	pod_release_all(e, pe);
	if (pe->applied) {
		pf_pod_free(pe->applied);
		free(pe->applied);
	}
	HASH_DEL(e->pods, pe);
	free(pe->cgids);
	free(pe->defs.v);
	free(pe->key);
	free(pe);
}

/* The workload of its own a container called `name` had before this computation, or NULL. */
static struct wl_ent *cont_previous(struct pod_ent *pe, const char *name)
{
	for (size_t i = 0; i < pe->n_cont; i++)
		if (pe->cont[i].name && strcmp(pe->cont[i].name, name) == 0)
			return cont_owns(&pe->cont[i]) ? pe->cont[i].wl : NULL;
	return NULL;
}

/*
 * The rules of a container not identified yet: those of every container of
 * the pod together, each policy once (its hook entries stay groups of their
 * own), so that whichever container it turns out to be, nothing it may not
 * run runs. Pod-level policies apply to every container, so they are in.
 */
static int compile_unidentified(struct pf_engine *e, const struct ptrs *cands,
				const struct pf_pod *pod, struct pf_rule (*crules)[PF_MAX_RULES],
				const size_t *cn, const int *cerr, char (*cmsg)[PF_ENGINE_MSG],
				struct pf_rule *rules, size_t *n, struct ptrs *used, char *err,
				size_t err_len)
{
	int ret = 0;

	if (!pod->n_containers)
		return compile_rules(e, cands, NULL, rules, n, used, err, err_len);
	*n = 0;
	for (size_t i = 0; i < pod->n_containers && !ret; i++) {
		if (cerr[i]) {
			snprintf(err, err_len, "container %s: %s", pod->containers[i].name,
				 cmsg[i]);
			ret = cerr[i];
			break;
		}
		ret = rules_merge(e, rules, n, crules[i], cn[i], err, err_len);
	}
	if (ret) {
		pf_rules_release(rules, *n, &e->resolver);
		*n = 0;
	}
	return ret;
}

/* Applies one container's compiled rules (or, on error, keeps what it had, else the pod's). */
static struct wl_ent *cont_apply(struct pf_engine *e, struct pod_ent *pe, const char *name,
				 struct pf_rule *rules, size_t n, int cerr, struct ptrs *garbage,
				 bool *kept_previous)
{
	struct wl_ent *prev = cont_previous(pe, name), *slot = prev, *replaced = NULL;

	if (!cerr && !n) {
		if (prev)
			ptrs_add_unique(garbage, prev);
		return NULL; /* no rule applies to it */
	}
	/* The rules of every container together are its own (one container, or alike): shared. */
	if (!cerr && pe->pod_wl && same_rules(pe->pod_wl->rules, pe->pod_wl->n_rules, rules, n)) {
		pf_rules_release(rules, n, &e->resolver);
		if (prev)
			ptrs_add_unique(garbage, prev);
		return pe->pod_wl;
	}
	if (cerr || wl_apply(e, pe, name, &slot, rules, n, &replaced)) {
		if (!cerr)
			pf_rules_release(rules, n, &e->resolver);
		*kept_previous = true;
		/* Nothing of its own to keep: the strictest the pod has (fail closed). */
		return prev ? prev : pe->pod_wl;
	}
	if (replaced)
		ptrs_add_unique(garbage, replaced);
	return slot;
}

/*
 * Recomputes a pod's workloads and bindings from its definition in force,
 * make-before-break: new rules are written first (in place, or under new
 * workload ids), then every cgroup of the pod is moved to its workload in
 * place, and only then are the workloads no cgroup uses any more released
 * (their rulesets deleted after a barrier). An exec never finds a cgroup of
 * the pod unbound, whatever the update.
 */
static void pod_compute(struct pf_engine *e, struct pod_ent *pe)
{
	struct pf_pod *pod = defs_active(&pe->defs), *old_applied = pe->applied;
	struct pf_rule rules[PF_MAX_RULES], (*crules)[PF_MAX_RULES] = NULL;
	char(*cmsg)[PF_ENGINE_MSG] = NULL;
	struct wl_ent *pod_wl = pe->pod_wl, *replaced = NULL;
	struct ptrs cands = {}, used = {}, garbage = {};
	struct cont_ent *cont = NULL;
	bool kept_previous = false;
	char msg[PF_ENGINE_MSG];
	size_t n, *cn = NULL;
	int err, *cerr = NULL;

	if (!pod) {
		pod_forget(e, pe);
		return;
	}
	pe->error[0] = 0;
	candidates(e, pod, &cands);
	crules = calloc(pod->n_containers + 1, sizeof(*crules));
	cn = calloc(pod->n_containers + 1, sizeof(*cn));
	cerr = calloc(pod->n_containers + 1, sizeof(*cerr));
	cont = calloc(pod->n_containers + 1, sizeof(*cont));
	cmsg = calloc(pod->n_containers + 1, sizeof(*cmsg));
	if (!crules || !cn || !cerr || !cont || !cmsg) {
		snprintf(pe->error, sizeof(pe->error), "%s: out of memory (previous rules kept)",
			 pe->key);
		pf_err("%s", pe->error);
		goto out;
	}
	for (size_t i = 0; i < pod->n_containers; i++) {
		cerr[i] = compile_rules(e, &cands, pod->containers[i].name, crules[i], &cn[i],
					&used, cmsg[i], sizeof(cmsg[i]));
		if (cerr[i])
			pf_err("pod %s/%s: %s", pe->key, pod->containers[i].name, cmsg[i]);
	}

	/* 1. The pod's workload: what a container not identified yet gets. */
	err = compile_unidentified(e, &cands, pod, crules, cn, cerr, cmsg, rules, &n, &used, msg,
				   sizeof(msg));
	if (err && pod_wl) {
		/* What the kernel enforces stays as it was (and containers fall back to it). */
		snprintf(pe->error, sizeof(pe->error), "%s: %s (previous rules kept)", pe->key,
			 msg);
		pf_err("%s", pe->error);
		kept_previous = true;
		n = 0;
	} else if (err) {
		/* Nothing to keep. Fail closed: nothing it may not run runs; reported. */
		snprintf(pe->error, sizeof(pe->error),
			 "%s: %s (containers not identified yet deny every exec)", pe->key, msg);
		pf_err("%s", pe->error);
		rules_deny_all(rules, &n);
	} else if (n) {
		add_allowlist_skip_rule(e, pe, rules, &n);
	}
	if (err && pod_wl) {
		/* kept */
	} else if (!n) {
		if (pod_wl)
			ptrs_add_unique(&garbage, pod_wl);
		pod_wl = NULL;
	} else if (wl_apply(e, pe, NULL, &pod_wl, rules, n, &replaced)) {
		pf_rules_release(rules, n, &e->resolver);
		kept_previous = true;
	} else if (replaced) {
		ptrs_add_unique(&garbage, replaced);
	}
	pe->pod_wl = pod_wl;

	/* 2. Each container's own workload, matched to what it had by name. */
	for (size_t i = 0; i < pod->n_containers; i++) {
		if (!cerr[i] && cn[i])
			add_allowlist_skip_rule(e, pe, crules[i], &cn[i]);
		cont[i].name = strdup(pod->containers[i].name);
		cont[i].wl = cont_apply(e, pe, pod->containers[i].name, crules[i], cn[i], cerr[i],
					&garbage, &kept_previous);
	}
	/* Containers the pod no longer has. */
	for (size_t i = 0; i < pe->n_cont; i++) {
		bool kept = false;

		for (size_t j = 0; j < pod->n_containers && !kept; j++)
			kept = pe->cont[i].wl == cont[j].wl;
		if (cont_owns(&pe->cont[i]) && !kept)
			ptrs_add_unique(&garbage, pe->cont[i].wl);
	}
	conts_free(pe->cont, pe->n_cont);
	pe->cont = cont;
	pe->n_cont = pod->n_containers;
	cont = NULL;

	/* 3. Switch every cgroup of the pod in place. */
	pe->applied = pod;
	pe->rewalk_until_ms = 0; /* a new definition: its containers are looked for afresh */
	bind_cgroups(e, pe, false);
	if (old_applied && old_applied != pod) {
		bool still_defined = false;

		for (size_t i = 0; i < pe->defs.n; i++)
			still_defined |= pe->defs.v[i].obj == old_applied;
		if (!still_defined) {
			pf_pod_free(old_applied);
			free(old_applied);
		}
	}

	/* 4. Release what no cgroup points at any more. */
	for (size_t i = 0; i < garbage.n; i++) {
		bool in_use = garbage.v[i] == pe->pod_wl;

		for (size_t j = 0; j < pe->n_cont && !in_use; j++)
			in_use = garbage.v[i] == pe->cont[j].wl;
		if (!in_use)
			wl_garbage(e, garbage.v[i]);
	}
out:
	/* Rules kept from before still name their policies: they stay referenced. */
	for (size_t i = 0; kept_previous && i < pe->policies.n; i++)
		ptrs_add_unique(&used, pe->policies.v[i]);
	if (!pe->applied) {
		pe->applied = pod; /* out of memory on a new pod: known, nothing bound */
	}
	pod_set_policies(e, pe, &used);
	if (cont)
		conts_free(cont, pod->n_containers);
	free(crules);
	free(cn);
	free(cerr);
	free(cmsg);
	free(garbage.v);
	free(cands.v);
	/* Instances created for rules that were not applied after all. */
	for (size_t i = 0; i < e->fresh_instances.n; i++) {
		struct policy_ent *ie = e->fresh_instances.v[i];

		if (!ie->n_pods)
			policy_ent_free(e, ie);
	}
	e->fresh_instances.n = 0;
}

int pf_engine_sync(struct pf_engine *e)
{
	int n = 0;

	while (e->dirty) {
		struct pod_ent *pe = e->dirty;

		e->dirty = pe->next_dirty;
		pe->dirty = false;
		pod_compute(e, pe);
		n++;
	}
	return n;
}

/* How often bindings that could not be written are tried again. */
#define REPAIR_EVERY_MS 5000

/*
 * Writes again every binding of every bound pod; when all of them are in
 * the kernel (and the kernel missed none since), execs in unbound cgroups
 * stop looking for bound ancestors.
 */
static void repair_bindings(struct pf_engine *e)
{
	uint64_t events = 0, acked = 0;
	struct pod_ent *pe, *tmp;

	if (pf_store_cg_overflow(e->st, &events, &acked) || (events == acked && !e->bind_failures))
		return;
	if (mono_ms() < e->repair_due_ms)
		return;
	e->repair_due_ms = mono_ms() + REPAIR_EVERY_MS;
	e->bind_failures = 0;
	HASH_ITER(hh, e->pods, pe, tmp)
	if (pe->applied && pe->pod_wl && !pe->pending)
		bind_cgroups(e, pe, false);
	if (!e->bind_failures) {
		/* Children the kernel could not bind meanwhile keep the fallback on. */
		pf_store_cg_overflow_ack(e->st, events);
		e->bind_error[0] = 0;
		pf_info("every cgroup binding is in the kernel again");
	}
}

void pf_engine_retry_pending(struct pf_engine *e)
{
	struct pod_ent *pe, *tmp;

	HASH_ITER(hh, e->pods, pe, tmp)
	{
		if (!pe->applied)
			continue;
		if (pe->pending) {
			char dir[PATH_MAX];

			if (pf_cgroup_find_pod(e->cgroup_root, pe->applied, dir, sizeof(dir)) == 0)
				mark_dirty(e, pe);
		} else if (pe->rewalk && mono_ms() < pe->rewalk_until_ms) {
			bind_cgroups(e, pe, false);
		}
	}
	pf_engine_sync(e);
	repair_bindings(e);
}

bool pf_engine_has_garbage(const struct pf_engine *e)
{
	return e->wl_garbage || pf_sets_pending_garbage(e->sets);
}

int pf_engine_collect(struct pf_engine *e)
{
	int err;

	if (!pf_engine_has_garbage(e))
		return 0;
	err = pf_store_barrier(e->st);
	if (err) {
		pf_warn("barrier: %s: released data kept for now", strerror(-err));
		return err;
	}
	while (e->wl_garbage) {
		struct wl_garbage *g = e->wl_garbage;

		e->wl_garbage = g->next;
		pf_store_ruleset_delete(e->st, g->id);
		free(g);
	}
	pf_sets_collect(e->sets);
	return 0;
}

static bool wl_live(const struct pf_engine *e, uint32_t wl)
{
	struct wl_ent *w;

	HASH_FIND(hh, e->wls, &wl, sizeof(wl), w);
	return w != NULL;
}

/* Whether a cgroup (by path) has an ancestor bound to a workload in force. */
static bool has_live_bound_ancestor(struct pf_engine *e, char *path)
{
	size_t root_len = strlen(e->cgroup_root);
	struct pf_cg_binding b;
	uint64_t id;
	char *slash;

	while ((slash = strrchr(path, '/')) && (size_t)(slash - path) > root_len) {
		*slash = 0;
		if (!pf_cgroup_id(path, &id) && !pf_store_cgroup_lookup(e->st, id, &b) &&
		    wl_live(e, b.wl_id))
			return true;
	}
	return false;
}

/*
 * A previous agent's binding to a workload the current inputs do not have:
 * dropped, unless the cgroup is still under a bound cgroup (a descendant
 * too deep for the walk): then the kernel enforces it through that
 * ancestor, and dropping it would leave it unbound.
 */
static bool gc_cgroup(uint64_t cgid, uint32_t wl, void *ctx)
{
	struct pf_engine *e = ctx;
	char path[PATH_MAX];

	if (wl_live(e, wl))
		return false;
	if (!e->cgroup_root[0] || pf_cgroup_path_by_id(e->cgroup_root, cgid, path, sizeof(path)))
		return true; /* gone */
	return !has_live_bound_ancestor(e, path);
}

static bool gc_workload(uint32_t wl, void *ctx)
{
	return !wl_live(ctx, wl);
}

static bool gc_set(uint32_t set_id, void *ctx)
{
	struct pf_engine *e = ctx;

	return !pf_sets_live(e->sets, set_id);
}

static bool gc_counter(uint32_t policy_id, void *ctx)
{
	struct pf_engine *e = ctx;
	struct policy_ent *pe;

	HASH_FIND(hh_id, e->policies_by_id, &policy_id, sizeof(policy_id), pe);
	return !pe || !pe->n_pods;
}

int pf_engine_takeover_gc(struct pf_engine *e)
{
	int err;

	/* Cgroups first: after the barrier no program can reach the old workloads. */
	err = e->st->ops->gc_cgroups(e->st, gc_cgroup, e);
	if (!err)
		err = pf_store_barrier(e->st);
	if (!err)
		err = e->st->ops->gc_workloads(e->st, gc_workload, e);
	if (!err)
		err = pf_store_barrier(e->st);
	if (!err)
		err = e->st->ops->gc_sets(e->st, gc_set, e);
	if (!err)
		err = e->st->ops->gc_counters(e->st, gc_counter, e);
	return err;
}

bool pf_engine_owner(const struct pf_engine *e, uint64_t cgroup_id, uint32_t wl_id,
		     struct pf_owner *out)
{
	struct pod_ent *pe = NULL;
	struct cg_ent *ce;
	struct wl_ent *wl;

	memset(out, 0, sizeof(*out));
	HASH_FIND(hh, e->wls, &wl_id, sizeof(wl_id), wl);
	if (wl) {
		pe = wl->pod;
		out->container = wl->container;
	}
	HASH_FIND(hh, e->cgs, &cgroup_id, sizeof(cgroup_id), ce);
	if (ce)
		pe = ce->pod;
	if (!pe || !pe->applied)
		return false;
	out->pod_namespace = pe->applied->namespace;
	out->pod_name = pe->applied->name;
	if (!out->container && pe->applied->n_containers == 1)
		out->container = pe->applied->containers[0].name;
	return true;
}

const char *pf_engine_policy_name(const struct pf_engine *e, uint32_t policy_id)
{
	struct policy_ent *pe;
	struct pf_policy *p;

	if (!policy_id)
		return "podfence:fail-closed"; /* rules_deny_all: the pod's rules could not be
						  written */
	HASH_FIND(hh_id, e->policies_by_id, &policy_id, sizeof(policy_id), pe);
	if (pe && pe->tpl_name)
		return pe->tpl_name;
	p = pe ? defs_active(&pe->defs) : NULL;
	return p ? p->name : NULL;
}

size_t pf_engine_policy_bindings(const struct pf_engine *e, uint32_t policy_id,
				 const char *const **names)
{
	struct policy_ent *pe;

	HASH_FIND(hh_id, e->policies_by_id, &policy_id, sizeof(policy_id), pe);
	*names = pe ? (const char *const *)pe->bindings : NULL;
	return pe ? pe->n_bindings : 0;
}

void pf_engine_counts(const struct pf_engine *e, struct pf_engine_counts *out)
{
	struct policy_ent *pe, *ptmp;
	struct pod_ent *po, *otmp;
	struct file_ent *fe, *ftmp;
	struct pf_sets_stats ss;

	memset(out, 0, sizeof(*out));
	HASH_ITER(hh, e->policies, pe, ptmp)
	{
		out->policies += pe->defs.n > 0;
		out->policies_without_counters += pe->counters_err != 0;
	}
	HASH_ITER(hh, e->files, fe, ftmp)
	{
		out->policy_files += !fe->is_pod_file;
		out->files_rejected += fe->diags.n_errors > 0;
	}
	HASH_ITER(hh, e->pods, po, otmp)
	{
		out->pods += po->applied != NULL;
		out->pods_pending += po->pending;
		out->workload_errors += po->error[0] != 0;
	}
	out->policy_pods = e->n_policy_pods;
	out->workloads = HASH_CNT(hh, e->wls) - (e->wl_none != NULL);
	out->bound_cgroups = HASH_CNT(hh, e->cgs);
	pf_sets_stats(e->sets, &ss);
	out->value_sets = ss.sets;
	out->values = ss.values;
}

static struct json_object *json_strings(char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void status_counters(struct pf_engine *e, struct policy_ent *pe, struct json_object *o)
{
	struct pf_policy_counters c = {};

	if (pe->n_pods)
		pf_store_counters_read(e->st, pe->id, &c);
	json_object_object_add(o, "id", json_object_new_int64(pe->id));
	json_object_object_add(o, "pods", json_object_new_int64(pe->n_pods));
	json_object_object_add(o, "matched", json_object_new_int64(c.matched));
	json_object_object_add(o, "blocked", json_object_new_int64(c.blocked));
	json_object_object_add(o, "reported", json_object_new_int64(c.reported));
}

/* Pods each binding takes part in ("namespace/name" -> pods): one pass over the instances. */
struct binding_pods {
	const char *name;
	size_t pods;
	UT_hash_handle hh;
};

static struct binding_pods *binding_pods_count(struct pf_engine *e)
{
	struct binding_pods *map = NULL, *bp;
	struct policy_ent *pe, *tmp;

	HASH_ITER(hh, e->policies, pe, tmp)
	{
		for (size_t i = 0; i < pe->n_bindings; i++) {
			HASH_FIND_STR(map, pe->bindings[i], bp);
			if (!bp) {
				bp = calloc(1, sizeof(*bp));
				if (!bp)
					continue;
				bp->name = pe->bindings[i];
				HASH_ADD_KEYPTR(hh, map, bp->name, strlen(bp->name), bp);
			}
			bp->pods += pe->n_pods;
		}
	}
	return map;
}

static struct json_object *status_binding(struct pf_engine *e, struct policy_ent *pe,
					  const struct pf_policy *b, struct binding_pods *counts)
{
	struct binding_pods *bp = NULL;
	struct json_object *o = json_object_new_object();
	struct pf_policy *tpl = active_template(e, b->template_ref);
	char msg[256], where[PATH_MAX + 300];
	int line, col;

	json_object_object_add(o, "name", json_object_new_string(b->name));
	json_object_object_add(o, "namespace", json_object_new_string(b->namespace));
	json_object_object_add(o, "template", json_object_new_string(b->template_ref));
	json_object_object_add(o, "file", json_object_new_string(pe->defs.v[0].file));
	if (!tpl) {
		json_object_object_add(o, "state", json_object_new_string("waiting-for-template"));
	} else if (pf_binding_check(tpl, b, msg, sizeof(msg), &line, &col)) {
		snprintf(where, sizeof(where), "%s:%d:%d: %s", b->file, line, col, msg);
		json_object_object_add(o, "state", json_object_new_string("rejected"));
		json_object_object_add(o, "error", json_object_new_string(where));
	} else {
		json_object_object_add(o, "state", json_object_new_string("active"));
	}
	snprintf(where, sizeof(where), "%s/%s", b->namespace, b->name);
	HASH_FIND_STR(counts, where, bp);
	json_object_object_add(o, "pods", json_object_new_int64(bp ? bp->pods : 0));
	return o;
}

/* Policies and templates with counters, bindings with their state, template instances. */
static void status_policies(struct pf_engine *e, struct json_object *root)
{
	struct json_object *pols = json_object_new_array(), *binds = json_object_new_array();
	struct json_object *insts = json_object_new_array();
	struct json_object *errors = json_object_object_get(root, "errors");
	struct binding_pods *counts = binding_pods_count(e), *bp, *btmp;
	struct policy_ent *pe, *tmp;

	HASH_ITER(hh, e->policies, pe, tmp)
	{
		struct pf_policy *p = defs_active(&pe->defs);
		struct json_object *o;

		if (pe->tpl_name) {
			o = json_object_new_object();
			json_object_object_add(o, "template", json_object_new_string(pe->tpl_name));
			json_object_object_add(o, "bindings",
					       json_strings(pe->bindings, pe->n_bindings));
			json_object_object_add(o, "overlap",
					       json_object_new_boolean(pe->n_bindings > 1));
			status_counters(e, pe, o);
			json_object_array_add(insts, o);
			continue;
		}
		if (!p)
			continue;
		for (size_t i = 1; i < pe->defs.n; i++) {
			char msg[PATH_MAX * 2];

			snprintf(msg, sizeof(msg), "%s: %s %s is also defined in %s, which wins",
				 pe->defs.v[i].file, p->kind, p->name, pe->defs.v[0].file);
			json_object_array_add(errors, json_object_new_string(msg));
		}
		if (p->type == PF_POLICY_BINDING) {
			json_object_array_add(binds, status_binding(e, pe, p, counts));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "kind", json_object_new_string(p->kind ? p->kind : ""));
		if (p->namespace)
			json_object_object_add(o, "namespace",
					       json_object_new_string(p->namespace));
		json_object_object_add(o, "file", json_object_new_string(pe->defs.v[0].file));
		json_object_object_add(
		    o, "mode",
		    json_object_new_string(p->mode == PF_MODE_MONITOR ? "monitor" : "enforce"));
		status_counters(e, pe, o);
		json_object_array_add(pols, o);
	}
	HASH_ITER(hh, counts, bp, btmp)
	{
		HASH_DEL(counts, bp);
		free(bp);
	}
	json_object_object_add(root, "policies", pols);
	json_object_object_add(root, "bindings", binds);
	json_object_object_add(root, "instances", insts);
}

/* Containers where several bindings of one template are united. */
static void status_overlaps(struct pf_engine *e, struct json_object *root)
{
	struct json_object *arr = json_object_new_array();
	struct pod_ent *po, *tmp;

	HASH_ITER(hh, e->pods, po, tmp)
	{
		for (size_t i = 0; i < po->policies.n; i++) {
			struct policy_ent *ie = po->policies.v[i];
			struct json_object *o;

			if (!ie->tpl_name || ie->n_bindings < 2)
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "pod", json_object_new_string(po->key));
			json_object_object_add(o, "template", json_object_new_string(ie->tpl_name));
			json_object_object_add(o, "bindings",
					       json_strings(ie->bindings, ie->n_bindings));
			json_object_array_add(arr, o);
		}
	}
	json_object_object_add(root, "overlaps", arr);
}

/* Cgroup bindings that are not in the kernel: enforced through ancestors, said loudly. */
static void status_bindings(struct pf_engine *e, struct json_object *errors)
{
	uint64_t events = 0, acked = 0;
	char buf[512];

	if (e->bind_failures) {
		snprintf(buf, sizeof(buf),
			 "%zu cgroup binding(s) not written (last: %s); execs there are enforced "
			 "through the nearest bound ancestor; retried every %d s",
			 e->bind_failures, e->bind_error, REPAIR_EVERY_MS / 1000);
		json_object_array_add(errors, json_object_new_string(buf));
	}
	if (!pf_store_cg_overflow(e->st, &events, &acked) && events != acked &&
	    acked != UINT64_MAX) {
		snprintf(
		    buf, sizeof(buf),
		    "the kernel could not bind %llu cgroup(s) at their creation (map cg_workload "
		    "full, %u entries: podfence agent --map-size cg_workload=N); execs there are "
		    "enforced through the nearest bound ancestor",
		    (unsigned long long)(events - (acked < events ? acked : 0)),
		    pf_store_capacity(e->st, PF_KMAP_CGROUPS));
		json_object_array_add(errors, json_object_new_string(buf));
	}
}

struct json_object *pf_engine_status_json(struct pf_engine *e)
{
	struct json_object *root = json_object_new_object();
	struct json_object *counts = json_object_new_object();
	struct json_object *errors = json_object_new_array();
	struct json_object *pending = json_object_new_array();
	struct pf_engine_counts c;
	struct file_ent *fe, *ftmp;
	struct pod_ent *po, *otmp;
	char buf[4096];

	pf_engine_counts(e, &c);
#define COUNT(f) json_object_object_add(counts, #f, json_object_new_int64(c.f))
	COUNT(policies);
	COUNT(policy_files);
	COUNT(files_rejected);
	COUNT(pods);
	COUNT(pods_pending);
	COUNT(policy_pods);
	COUNT(workloads);
	COUNT(bound_cgroups);
	COUNT(value_sets);
	COUNT(values);
	COUNT(workload_errors);
	COUNT(policies_without_counters);
#undef COUNT
	json_object_object_add(root, "counts", counts);
	HASH_ITER(hh, e->files, fe, ftmp)
	{
		for (size_t i = 0; i < fe->diags.n; i++) {
			if (fe->diags.v[i].sev != PF_SEV_ERROR)
				continue;
			pf_diag_format(&fe->diags.v[i], buf, sizeof(buf));
			json_object_array_add(errors, json_object_new_string(buf));
		}
	}
	if (c.policies_without_counters) {
		snprintf(buf, sizeof(buf),
			 "%zu policies (or template instances) enforced without counters: map "
			 "pol_counters full (podfence agent --map-size pol_counters=N)",
			 c.policies_without_counters);
		json_object_array_add(errors, json_object_new_string(buf));
	}
	status_bindings(e, errors);
	if (e->index_lost)
		json_object_array_add(
		    errors,
		    json_object_new_string(
			"out of memory in the selector index: every pod is recomputed on every "
			"change (restart the agent to rebuild it)"));
	HASH_ITER(hh, e->pods, po, otmp)
	{
		if (po->error[0])
			json_object_array_add(errors, json_object_new_string(po->error));
		if (po->pending)
			json_object_array_add(pending, json_object_new_string(po->key));
	}
	json_object_object_add(root, "errors", errors);
	json_object_object_add(root, "pods_pending", pending);
	status_policies(e, root);
	status_overlaps(e, root);
	return root;
}

void pf_engine_free(struct pf_engine *e)
{
	struct policy_ent *pe, *ptmp;
	struct pod_ent *po, *otmp;
	struct file_ent *fe, *ftmp;
	struct bucket *b, *btmp;
	struct wl_ent *wl, *wtmp;
	struct cg_ent *ce, *ctmp;

	if (!e)
		return;
	/* Memory only: the kernel state stays in force for the next agent. */
	HASH_ITER(hh, e->pods, po, otmp)
	{
		for (size_t i = 0; i < po->defs.n; i++) {
			if (po->defs.v[i].obj != po->applied) {
				pf_pod_free(po->defs.v[i].obj);
				free(po->defs.v[i].obj);
			}
			free(po->defs.v[i].file);
		}
		if (po->applied) {
			pf_pod_free(po->applied);
			free(po->applied);
		}
		HASH_DEL(e->pods, po);
		free(po->defs.v);
		conts_free(po->cont, po->n_cont);
		free(po->expected);
		free(po->policies.v);
		free(po->cgids);
		free(po->key);
		free(po);
	}
	HASH_ITER(hh, e->policies, pe, ptmp)
	{
		for (size_t i = 0; i < pe->defs.n; i++) {
			pf_policy_free(pe->defs.v[i].obj);
			free(pe->defs.v[i].obj);
			free(pe->defs.v[i].file);
		}
		pe->defs.n = 0;
		policy_ent_free(e, pe);
	}
	HASH_ITER(hh, e->files, fe, ftmp)
	file_drop(e, fe);
	HASH_ITER(hh, e->pol_index, b, btmp)
	{
		HASH_DEL(e->pol_index, b);
		free(b->items.v);
		free(b->kv);
		free(b);
	}
	HASH_ITER(hh, e->tpl_index, b, btmp)
	{
		HASH_DEL(e->tpl_index, b);
		free(b->items.v);
		free(b->kv);
		free(b);
	}
	HASH_ITER(hh, e->pod_index, b, btmp)
	{
		HASH_DEL(e->pod_index, b);
		free(b->items.v);
		free(b->kv);
		free(b);
	}
	HASH_ITER(hh, e->wls, wl, wtmp)
	{
		HASH_DEL(e->wls, wl);
		wl_ent_free(wl);
	}
	HASH_ITER(hh, e->cgs, ce, ctmp)
	{
		HASH_DEL(e->cgs, ce);
		free(ce);
	}
	while (e->wl_garbage) {
		struct wl_garbage *g = e->wl_garbage;

		e->wl_garbage = g->next;
		free(g);
	}
	free(e->pol_global.v);
	free(e->fresh_instances.v);
	pf_sets_free(e->sets);
	free(e);
}
