// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's life and what it answers: created over a store, synced,
 * garbage collected after a barrier, taken over from a previous agent, and
 * asked who an event is about. The jobs are in files of their own
 * (engine_internal.h lists them); docs/architecture.md draws the way of one
 * policy from its source to a map entry.
 */
#include "engine_internal.h"

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
	if (cgroup_root)
		snprintf(e->cgroup_root, sizeof(e->cgroup_root), "%s", cgroup_root);
	else if (pf_cgroup2_mount(e->cgroup_root, sizeof(e->cgroup_root)))
		pf_warn("no cgroup2 mount found: pods cannot be bound");
	return e;
}

int pf_engine_sync(struct pf_engine *e)
{
	int n = 0;

	while (e->dirty) {
		struct pod_ent *pe = e->dirty;

		e->dirty = pe->next_dirty;
		pe->dirty = false;
		eng_pod_compute(e, pe);
		n++;
	}
	return n;
}

void pf_engine_set_learning(struct pf_engine *e, pf_engine_learn_fn fn, void *ctx)
{
	e->learn_fn = fn;
	e->learn_ctx = ctx;
	pf_engine_learning_changed(e);
}

void pf_engine_learning_changed(struct pf_engine *e)
{
	struct pod_ent *pe, *tmp;

	HASH_ITER (hh, e->pods, pe, tmp)
		eng_mark_dirty(e, pe);
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
		pf_store_net_ruleset_delete(e->st, g->id);
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

/* The names pods register now, to keep at a takeover. */
struct name_ent {
	const char *name;
	UT_hash_handle hh;
};

static bool gc_expected(const char *name, void *ctx)
{
	struct name_ent **keep = ctx, *ne;

	HASH_FIND_STR(*keep, name, ne);
	return !ne;
}

/* cg_expect: drops what a previous agent registered for pods and containers gone since. */
static int takeover_gc_expected(struct pf_engine *e)
{
	struct name_ent *keep = NULL, *ne, *ntmp;
	struct pod_ent *pe, *tmp;
	int err = 0;

	HASH_ITER (hh, e->pods, pe, tmp) {
		for (size_t i = 0; i < pe->n_expected && !err; i++) {
			ne = calloc(1, sizeof(*ne));
			if (ne) {
				ne->name = pe->expected[i];
				HASH_ADD_KEYPTR(hh, keep, ne->name, strlen(ne->name), ne);
			}
			if (!ne || !eng_hash_added()) {
				free(ne);
				err = -ENOMEM; /* nothing dropped rather than a name still needed */
			}
		}
	}
	if (!err)
		err = e->st->ops->gc_expected(e->st, gc_expected, &keep);
	HASH_ITER (hh, keep, ne, ntmp) {
		HASH_DEL(keep, ne);
		free(ne);
	}
	return err;
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
	if (!err)
		err = takeover_gc_expected(e);
	return err;
}

/*
 * A cgroup the kernel bound at creation (so not tracked) of a container the
 * runtime announced: its name says the container (or the sandbox).
 */
static void owner_from_runtime(const struct pf_engine *e, const struct pod_ent *pe,
			       uint64_t cgroup_id, struct pf_owner *out)
{
	char path[PATH_MAX], *comp;
	struct rt_ent *rt;

	if (!e->runtime || pf_cgroup_path_by_id(e->cgroup_root, cgroup_id, path, sizeof(path)))
		return;
	/* From the deepest component up: the container's cgroup, or one it created. */
	while ((comp = strrchr(path, '/'))) {
		rt = eng_runtime_of_cgroup((struct pf_engine *)e, pe, comp + 1);
		if (rt) {
			out->container = rt->name;
			out->sandbox = rt->sandbox;
			return;
		}
		*comp = 0;
	}
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
	out->workload = &pe->applied->workload;
	if (!out->container)
		owner_from_runtime(e, pe, cgroup_id, out);
	if (!out->container && !out->sandbox && pe->applied->n_containers == 1)
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

static void pods_free(struct pf_engine *e)
{
	struct pod_ent *po, *tmp;

	HASH_ITER (hh, e->pods, po, tmp) {
		for (size_t i = 0; i < po->defs.n; i++) {
			if (po->defs.v[i].obj != po->applied) {
				pf_pod_free(po->defs.v[i].obj);
				free(po->defs.v[i].obj);
			}
			free(po->defs.v[i].source);
		}
		if (po->applied) {
			pf_pod_free(po->applied);
			free(po->applied);
		}
		HASH_DEL(e->pods, po);
		free(po->defs.v);
		eng_conts_free(po->cont, po->n_cont);
		free(po->expected);
		free(po->policies.v);
		free(po->cgids);
		free(po->key);
		free(po);
	}
}

static void policies_free(struct pf_engine *e)
{
	struct policy_ent *pe, *tmp;

	HASH_ITER (hh, e->policies, pe, tmp) {
		for (size_t i = 0; i < pe->defs.n; i++) {
			pf_policy_free(pe->defs.v[i].obj);
			free(pe->defs.v[i].obj);
			free(pe->defs.v[i].source);
		}
		pe->defs.n = 0;
		eng_policy_ent_free(e, pe);
	}
}

static void index_free(struct bucket **idx)
{
	struct bucket *b, *tmp;

	HASH_ITER (hh, *idx, b, tmp) {
		HASH_DEL(*idx, b);
		free(b->items.v);
		free(b->kv);
		free(b);
	}
}

void pf_engine_free(struct pf_engine *e)
{
	struct source_ent *se, *stmp;
	struct wl_ent *wl, *wtmp;
	struct cg_ent *ce, *ctmp;

	if (!e)
		return;
	/* Memory only: the kernel state stays in force for the next agent. */
	pods_free(e);
	policies_free(e);
	eng_runtime_free(e);
	HASH_ITER (hh, e->sources, se, stmp)
		eng_source_drop(e, se);
	index_free(&e->pol_index);
	index_free(&e->tpl_index);
	index_free(&e->pod_index);
	HASH_ITER (hh, e->wls, wl, wtmp) {
		HASH_DEL(e->wls, wl);
		eng_wl_ent_free(wl);
	}
	HASH_ITER (hh, e->cgs, ce, ctmp) {
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
