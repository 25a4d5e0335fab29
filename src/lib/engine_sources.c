// SPDX-License-Identifier: Apache-2.0
/*
 * Inputs and precedence: what each source document (a file today) defines.
 * When several sources define one object, the source that sorts first is in
 * force, whatever the order they arrived in; a change marks the pods it may
 * touch dirty.
 */
#include "engine_internal.h"

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

void eng_file_drop(struct pf_engine *e, struct file_ent *fe)
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

void eng_policy_ent_free(struct pf_engine *e, struct policy_ent *pe)
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
			eng_policy_ent_free(e, pe);
		goto drop;
	}
	after = defs_active(&pe->defs);
	if (before != after) {
		if (pe->indexed)
			eng_policy_reindex(e, pe, pe->indexed, false);
		pe->indexed = after;
		if (after)
			eng_policy_reindex(e, pe, after, true);
		/* Pods it selected and pods it selects now: both may change. */
		if (before && before->type == PF_POLICY_TEMPLATE)
			eng_mark_template_users(e, before->name);
		else
			eng_mark_selected(e, before);
		if (after && after->type == PF_POLICY_TEMPLATE)
			eng_mark_template_users(e, after->name);
		else
			eng_mark_selected(e, after);
	}
	if (old && old != p) {
		pf_policy_free(old);
		free(old);
	}
	/* Pods using it were marked above; the entry goes once none refers to it. */
	if (!pe->defs.n && !pe->n_pods)
		eng_policy_ent_free(e, pe);
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
			eng_pod_index(e, pe, pe->indexed, false);
		pe->indexed = after;
		if (after)
			eng_pod_index(e, pe, after, true);
		eng_mark_dirty(e, pe);
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
	eng_file_drop(e, fe);
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
