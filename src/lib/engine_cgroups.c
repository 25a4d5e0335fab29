// SPDX-License-Identifier: Apache-2.0
/*
 * A pod's cgroups: found on disk, bound to the workload each belongs to (at
 * any depth), registered with the kernel before they exist, and bindings
 * that could not be written retried.
 */
#include "engine_internal.h"

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
		if (!eng_hash_added()) {
			free(ce);
			return;
		}
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

void eng_cg_untrack_all(struct pf_engine *e, struct pod_ent *pe, bool unbind)
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

/*
 * The workload a cgroup of the pod belongs to (rel: its path below the
 * pod's): its container's, known from the pod's status or else from the
 * runtime; the pod's (the strictest) when neither names it.
 */
static struct wl_ent *cgroup_target(struct pf_engine *e, struct pod_ent *pe, const char *rel,
				    uint32_t *flags)
{
	int c = *rel ? cgroup_container(pe, rel) : -1;
	struct rt_ent *rt;

	*flags = 0;
	if (c >= 0 && (size_t)c < pe->n_cont)
		return pe->cont[c].wl ? pe->cont[c].wl : eng_wl_none(e);
	rt = *rel ? eng_runtime_of_cgroup(e, pe, rel) : NULL;
	if (!rt)
		return pe->pod_wl;
	if (!strchr(rel, '/'))
		rt->has_cgroup = true;
	return eng_runtime_target(e, pe, rt, flags);
}

static int bind_one(const char *path, int dirfd, uint64_t id, void *ctx)
{
	struct bind_walk *w = ctx;
	struct pod_ent *pe = w->pe;
	const char *rel = path + w->dir_len;
	struct pf_cg_binding cur;
	struct wl_ent *target;
	char msg[192] = "", what[512];
	uint32_t hint = 0, flags = 0;
	int err;

	while (*rel == '/')
		rel++;
	/* CRI-O's monitor runs next to the container, not in it: never bound. */
	target = w->unbind || strncmp(rel, "crio-conmon-", 12) == 0
		     ? NULL
		     : cgroup_target(w->e, pe, rel, &flags);
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
		if (!err && cur.wl_id == target->id && cur.flags == flags)
			goto track;
		if (err)
			hint = pf_cgroup_mntns_hint(dirfd);
	}
	err = pf_store_cgroup_bind(w->e->st, id, target->id, flags, hint, msg, sizeof(msg));
	if (err && !msg[0])
		snprintf(msg, sizeof(msg), "%s", strerror(-err));
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

/* Forgets the names the kernel would bind at creation for the pod. */
void eng_expected_clear(struct pf_engine *e, struct pod_ent *pe)
{
	for (size_t i = 0; i < pe->n_expected; i++)
		pf_store_cgroup_unexpect(e->st, pe->expected[i]);
	free(pe->expected);
	pe->expected = NULL;
	pe->n_expected = 0;
}

/* Room for the names of a pod (or a container) for every cgroup driver and runtime. */
#define NAMES_MAX 16

struct names {
	char (*v)[PF_CG_NAME_MAX];
	uint32_t *wl, *flags;
	size_t n, cap;
};

static int names_add(struct names *ns, const char (*v)[PF_CG_NAME_MAX], int n, uint32_t wl,
		     uint32_t flags)
{
	if (ns->n + n > ns->cap) {
		size_t cap = (ns->cap + n) * 2;
		void *a = realloc(ns->v, cap * sizeof(*ns->v)), *b, *c;

		if (a)
			ns->v = a;
		b = realloc(ns->wl, cap * sizeof(*ns->wl));
		if (b)
			ns->wl = b;
		c = realloc(ns->flags, cap * sizeof(*ns->flags));
		if (c)
			ns->flags = c;
		if (!a || !b || !c)
			return -ENOMEM;
		ns->cap = cap;
	}
	for (int i = 0; i < n; i++, ns->n++) {
		memcpy(ns->v[ns->n], v[i], PF_CG_NAME_MAX);
		ns->wl[ns->n] = wl;
		ns->flags[ns->n] = flags;
	}
	return 0;
}

/*
 * The names the kernel binds at creation (cg_expect) for a pod whose cgroup
 * does not exist yet (with pod_names), and for every container its runtime
 * announced whose cgroup does not exist yet, so that no exec waits for the
 * agent to see them (children inherit at their creation in turn). New names
 * are written before stale ones are removed.
 */
static void expected_set(struct pf_engine *e, struct pod_ent *pe, bool pod_names, int systemd)
{
	char names[NAMES_MAX][PF_CG_NAME_MAX], msg[192] = "";
	struct names want = {};
	struct rt_ent *rt, *tmp;
	uint32_t flags;
	int n;

	if (pod_names && pe->pod_wl) {
		n = pf_cgroup_pod_expected_names(pe->applied, e->cgroup_root, names, NAMES_MAX);
		if (n > 0 &&
		    names_add(&want, (const char(*)[PF_CG_NAME_MAX])names, n, pe->pod_wl->id, 0))
			goto nomem;
	}
	HASH_ITER (hh, e->runtime, rt, tmp) {
		struct wl_ent *wl;

		if (!pe->pod_wl || rt->has_cgroup || !eng_runtime_of_pod(rt, pe))
			continue;
		wl = eng_runtime_target(e, pe, rt, &flags);
		n = pf_cgroup_container_names(rt->id, systemd, names, NAMES_MAX);
		if (wl && n > 0 &&
		    names_add(&want, (const char(*)[PF_CG_NAME_MAX])names, n, wl->id, flags))
			goto nomem;
	}
	for (size_t i = 0; i < want.n; i++) {
		if (!pf_store_cgroup_expect(e->st, want.v[i], want.wl[i], want.flags[i], msg,
					    sizeof(msg)))
			continue;
		snprintf(pe->error, sizeof(pe->error),
			 "%s: cannot bind cgroup %s at creation: %s (bound when found)", pe->key,
			 want.v[i], msg);
		pf_err("%s", pe->error);
	}
	/* Names no longer wanted (the pod's cgroup found, a container's created). */
	for (size_t i = 0; i < pe->n_expected; i++) {
		bool kept = false;

		for (size_t j = 0; j < want.n && !kept; j++)
			kept = strcmp(pe->expected[i], want.v[j]) == 0;
		if (!kept)
			pf_store_cgroup_unexpect(e->st, pe->expected[i]);
	}
	free(pe->expected);
	pe->expected = want.v;
	pe->n_expected = want.n;
	free(want.wl);
	free(want.flags);
	return;
nomem:
	snprintf(pe->error, sizeof(pe->error),
		 "%s: out of memory for the cgroup names bound at creation (bound when found)",
		 pe->key);
	pf_err("%s", pe->error);
	free(want.v);
	free(want.wl);
	free(want.flags);
}

/* Before a walk: whether each announced container has its cgroup is learnt again. */
static void runtime_cgroups_forget(struct pf_engine *e, struct pod_ent *pe)
{
	struct rt_ent *rt, *tmp;

	HASH_ITER (hh, e->runtime, rt, tmp)
		if (eng_runtime_of_pod(rt, pe))
			rt->has_cgroup = false;
}

/*
 * Makes every cgroup of the pod point at the workload it belongs to, in
 * place (make-before-break: the workloads are written before, the ones
 * replaced are collected after). With unbind, removes every binding under
 * the pod, at any depth: bindings the kernel made at creation included.
 */
void eng_bind_cgroups(struct pf_engine *e, struct pod_ent *pe, bool unbind)
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
		eng_cg_untrack_all(e, pe, true);
		if (w.unbind)
			eng_expected_clear(e, pe);
		else
			expected_set(e, pe, true, -1);
		return;
	}
	pe->pending = false;
	w.dir_len = strlen(dir);
	w.populated = !w.unbind && pf_cgroup_populated(dir);
	/* Re-learnt from the walk: removed cgroups were dropped by the kernel's rmdir tracker. */
	eng_cg_untrack_all(e, pe, false);
	runtime_cgroups_forget(e, pe);
	err = pf_cgroup_walk(dir, bind_one, &w);
	if (err == -ELOOP && !w.unbind) {
		snprintf(what, sizeof(what), "%s: cgroups deeper than %d levels under %s", pe->key,
			 PF_MAX_CG_LEVELS, dir);
		bind_failed(e, what);
	} else if (err && !w.unbind) {
		/* Some cgroups may be left unbound: said, retried by the repair pass. */
		snprintf(what, sizeof(what), "%s: cgroups under %s not all walked: %s", pe->key,
			 dir, strerror(-err));
		snprintf(pe->error, sizeof(pe->error), "%s", what);
		bind_failed(e, what);
	}
	if (w.unbind) {
		eng_cg_untrack_all(e, pe, false);
		eng_expected_clear(e, pe);
		return;
	}
	/* The kubelet's driver shows in the pod's directory name (a .slice: systemd). */
	expected_set(e, pe, false, strstr(dir, ".slice") ? 1 : 0);
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
	HASH_ITER (hh, e->pods, pe, tmp)
		if (pe->applied && pe->pod_wl && !pe->pending)
			eng_bind_cgroups(e, pe, false);
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

	HASH_ITER (hh, e->pods, pe, tmp) {
		if (!pe->applied)
			continue;
		if (pe->pending) {
			char dir[PATH_MAX];

			if (pf_cgroup_find_pod(e->cgroup_root, pe->applied, dir, sizeof(dir)) == 0)
				eng_mark_dirty(e, pe);
		} else if (pe->rewalk && mono_ms() < pe->rewalk_until_ms) {
			eng_bind_cgroups(e, pe, false);
		}
	}
	pf_engine_sync(e);
	repair_bindings(e);
}
