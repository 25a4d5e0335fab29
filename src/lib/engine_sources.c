// SPDX-License-Identifier: Apache-2.0
/*
 * Inputs and precedence. Every input is a source document (engine.h: a file,
 * an API object) defining policies or pods. When several documents define
 * one object, the one that sorts first (kind, then id) is in force, whatever
 * the order they arrived in; a change marks the pods it may touch dirty.
 */
#include "engine_internal.h"

/* Which document: kind and id. */
struct source {
	enum pf_source_kind kind;
	const char *id;
};

static int source_cmp(const struct def *d, const struct source *src)
{
	if (d->kind != src->kind)
		return d->kind < src->kind ? -1 : 1;
	return strcmp(d->source, src->id);
}

const char *eng_def_source(const struct def *d, char *buf, size_t len)
{
	if (d->kind == PF_SOURCE_FILE)
		return d->source;
	snprintf(buf, len, "api:%s", d->source);
	return buf;
}

/*
 * Sets a document's definition (replacing a previous one), in precedence
 * order; returns the old object or NULL, and *err -ENOMEM when it could not
 * be stored (obj not taken).
 */
static void *defs_set(struct defs *d, const struct source *src, void *obj, int *err)
{
	char *name;
	size_t i;
	void *old;

	*err = 0;
	for (i = 0; i < d->n; i++) {
		int c = source_cmp(&d->v[i], src);

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
	name = strdup(src->id);
	if (!name) {
		*err = -ENOMEM;
		return NULL;
	}
	memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(*d->v));
	d->v[i] = (struct def){src->kind, name, obj};
	d->n++;
	return NULL;
}

static void *defs_remove(struct defs *d, const struct source *src)
{
	for (size_t i = 0; i < d->n; i++) {
		if (source_cmp(&d->v[i], src) == 0) {
			void *obj = d->v[i].obj;

			free(d->v[i].source);
			memmove(&d->v[i], &d->v[i + 1], (d->n - i - 1) * sizeof(*d->v));
			d->n--;
			return obj;
		}
	}
	return NULL;
}

static char *source_key(const struct source *src)
{
	char *key;

	return asprintf(&key, "%d:%s", (int)src->kind, src->id) < 0 ? NULL : key;
}

static struct source_ent *source_find(struct pf_engine *e, const struct source *src)
{
	struct source_ent *se = NULL;
	char *key = source_key(src);

	if (key)
		HASH_FIND_STR(e->sources, key, se);
	free(key);
	return se;
}

static struct source_ent *source_get(struct pf_engine *e, const struct source *src, bool has_pods)
{
	struct source_ent *se = source_find(e, src);

	if (se)
		return se;
	se = calloc(1, sizeof(*se));
	if (!se || !(se->key = source_key(src))) {
		free(se);
		return NULL;
	}
	se->kind = src->kind;
	se->id = strchr(se->key, ':') + 1;
	se->has_pods = has_pods;
	HASH_ADD_KEYPTR(hh, e->sources, se->key, strlen(se->key), se);
	if (!eng_hash_added()) {
		free(se->key);
		free(se);
		return NULL;
	}
	return se;
}

static void source_set_keys(struct source_ent *se, char **keys, size_t n)
{
	for (size_t i = 0; i < se->n_keys; i++)
		free(se->keys[i]);
	free(se->keys);
	se->keys = keys;
	se->n_keys = n;
}

void eng_source_drop(struct pf_engine *e, struct source_ent *se)
{
	HASH_DEL(e->sources, se);
	source_set_keys(se, NULL, 0);
	pf_diags_free(&se->diags);
	free(se->key);
	free(se);
}

static void source_set_diags(struct source_ent *se, const struct pf_diags *diags)
{
	pf_diags_clear(&se->diags);
	if (!diags)
		return;
	for (size_t i = 0; i < diags->n; i++) {
		const struct pf_diag *d = &diags->v[i];

		pf_diags_add(&se->diags, d->sev, d->file, d->line, d->col, "%s",
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
 * Installs (or, with p NULL, removes) a document's definition of a policy, taking
 * p. On error p is freed and what was in force stays in force.
 */
static int policy_define(struct pf_engine *e, const char *key, const struct source *src,
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
		if (!eng_hash_added()) {
			err = -ENOMEM;
			free(pe->key);
			free(pe);
			goto drop;
		}
		HASH_ADD(hh_id, e->policies_by_id, id, sizeof(pe->id), pe);
		if (!eng_hash_added()) {
			err = -ENOMEM;
			HASH_DEL(e->policies, pe);
			free(pe->key);
			free(pe);
			goto drop;
		}
	}
	before = defs_active(&pe->defs);
	old = p ? defs_set(&pe->defs, src, p, &err) : defs_remove(&pe->defs, src);
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
	pf_err("%s: policy %s: %s (what was in force stays)", src->id, key, strerror(-err));
	pf_policy_free(p);
	free(p);
	return err;
}

static int policy_define_v(struct pf_engine *e, const char *key, const struct source *src,
			   void *obj)
{
	return policy_define(e, key, src, obj);
}

/* The same for a pod. */
static int pod_define(struct pf_engine *e, const char *key, const struct source *src,
		      struct pf_pod *pod)
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
		if (!eng_hash_added()) {
			free(pe->key);
			free(pe);
			err = -ENOMEM;
			goto drop;
		}
	}
	before = defs_active(&pe->defs);
	old = pod ? defs_set(&pe->defs, src, pod, &err) : defs_remove(&pe->defs, src);
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
	pf_err("%s: pod %s: %s (what was in force stays)", src->id, key, strerror(-err));
	pf_pod_free(pod);
	free(pod);
	return err;
}

static int pod_define_v(struct pf_engine *e, const char *key, const struct source *src, void *obj)
{
	return pod_define(e, key, src, obj);
}

/* How the objects of one list (policies or pods) are keyed and installed. */
struct object_kind {
	bool pods;
	size_t size; /* of one object in the list */
	char *(*key)(const void *obj);
	int (*define)(struct pf_engine *e, const char *key, const struct source *src, void *obj);
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

static const struct object_kind policy_objects = {
    .pods = false,
    .size = sizeof(struct pf_policy),
    .key = policy_key_v,
    .define = policy_define_v,
};
static const struct object_kind pod_objects = {
    .pods = true,
    .size = sizeof(struct pf_pod),
    .key = pod_key,
    .define = pod_define_v,
};

/* Whether the document's previous version defined key (its definition then stays on failure). */
static bool source_had(const struct source_ent *se, const char *key)
{
	for (size_t i = 0; i < se->n_keys; i++)
		if (strcmp(se->keys[i], key) == 0)
			return true;
	return false;
}

/* Objects of the document's previous version that this one no longer defines. */
static void source_forget_dropped(struct pf_engine *e, struct source_ent *se,
				  const struct object_kind *kind, const struct source *src,
				  char **new_keys, size_t n_objs)
{
	for (size_t i = 0; i < se->n_keys; i++) {
		bool kept = false;

		for (size_t j = 0; j < n_objs && !kept; j++)
			kept = new_keys[j] && strcmp(new_keys[j], se->keys[i]) == 0;
		if (!kept)
			kind->define(e, se->keys[i], src, NULL);
	}
}

/* Moves object i of the list into the engine. */
static int source_define_one(struct pf_engine *e, const struct object_kind *kind,
			     const struct source *src, void *slot, const char *key)
{
	void *obj;

	if (!key || !(obj = malloc(kind->size)))
		return -ENOMEM;
	memcpy(obj, slot, kind->size);
	memset(slot, 0, kind->size);
	return kind->define(e, key, src, obj);
}

/*
 * Replaces what a document defines with the n objects of `objs` (moved into
 * the engine, zeroed in the list; what is not moved stays the caller's).
 * With errors in diags the previous good version stays in force and only
 * the errors are recorded. An object that cannot be stored (out of memory,
 * ids) keeps the document's previous definition of it in force; the first
 * error is returned and shown in status with the document's diagnostics.
 */
static int source_replace(struct pf_engine *e, const struct source *src,
			  const struct object_kind *kind, void *objs, size_t n_objs,
			  const struct pf_diags *diags)
{
	struct source_ent *se = source_get(e, src, kind->pods);
	char **keys = NULL, **new_keys = NULL;
	size_t n = 0, failed = 0;
	int ret = 0;

	if (!se) {
		snprintf(e->input_error, sizeof(e->input_error),
			 "%s: out of memory: not applied (what was in force stays)", src->id);
		snprintf(e->input_error_id, sizeof(e->input_error_id), "%s", src->id);
		pf_err("%s", e->input_error);
		return -ENOMEM;
	}
	if (!strcmp(e->input_error_id, src->id))
		e->input_error[0] = e->input_error_id[0] = 0;
	source_set_diags(se, diags);
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
	source_forget_dropped(e, se, kind, src, new_keys, n_objs);
	for (size_t i = 0; i < n_objs; i++) {
		int err =
		    source_define_one(e, kind, src, (char *)objs + i * kind->size, new_keys[i]);

		if (err) {
			ret = ret ? ret : err;
			failed++;
			/* Its previous definition, if any, is still this document's. */
			if (!new_keys[i] || !source_had(se, new_keys[i])) {
				free(new_keys[i]);
				continue;
			}
		}
		keys[n++] = new_keys[i];
	}
	source_set_keys(se, keys, n);
	keys = NULL;
out:
	if (ret)
		pf_diags_error(&se->diags, src->id, 0, 0,
			       "%zu of %zu objects not applied: %s (what was in force stays)",
			       failed, n_objs, strerror(-ret));
	free(new_keys);
	free(keys);
	return ret;
}

int pf_engine_source_put(struct pf_engine *e, const struct pf_source_doc *doc)
{
	struct source src = {doc->kind, doc->id};

	if (!doc->id || !!doc->policies == !!doc->pods)
		return -EINVAL;
	if (doc->policies)
		return source_replace(e, &src, &policy_objects, doc->policies->v, doc->policies->n,
				      doc->diags);
	return source_replace(e, &src, &pod_objects, doc->pods->v, doc->pods->n, doc->diags);
}

int pf_engine_source_remove(struct pf_engine *e, enum pf_source_kind kind, const char *id)
{
	struct source src = {kind, id};
	struct source_ent *se = source_find(e, &src);
	const struct object_kind *objects;

	if (!se)
		return 0;
	objects = se->has_pods ? &pod_objects : &policy_objects;
	for (size_t i = 0; i < se->n_keys; i++)
		objects->define(e, se->keys[i], &src, NULL);
	eng_source_drop(e, se);
	return 0;
}

int pf_engine_policy_file(struct pf_engine *e, const char *file, struct pf_policy_list *pols,
			  const struct pf_diags *diags)
{
	struct pf_source_doc doc = {PF_SOURCE_FILE, file, pols, NULL, diags};

	return pf_engine_source_put(e, &doc);
}

int pf_engine_policy_file_removed(struct pf_engine *e, const char *file)
{
	return pf_engine_source_remove(e, PF_SOURCE_FILE, file);
}

int pf_engine_pod_file(struct pf_engine *e, const char *file, struct pf_pod_list *pods,
		       const struct pf_diags *diags)
{
	struct pf_source_doc doc = {PF_SOURCE_FILE, file, NULL, pods, diags};

	return pf_engine_source_put(e, &doc);
}

int pf_engine_pod_file_removed(struct pf_engine *e, const char *file)
{
	return pf_engine_source_remove(e, PF_SOURCE_FILE, file);
}
