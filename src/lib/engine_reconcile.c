// SPDX-License-Identifier: Apache-2.0
/*
 * Reconciling one pod with the kernel, make-before-break: its workloads'
 * rulesets are written first (in place, or under new ids), then its cgroups
 * are moved in place (engine_cgroups.c), and only then is what no cgroup
 * uses any more released, to be freed after a barrier.
 */
#include "engine_internal.h"

static bool same_rules(const struct wl_rules *a, const struct wl_rules *b)
{
	return a->n == b->n && memcmp(a->exec, b->exec, a->n * sizeof(a->exec[0])) == 0 &&
	       a->n_net == b->n_net && memcmp(a->net, b->net, a->n_net * sizeof(a->net[0])) == 0 &&
	       /* inline values: the same references may hold others */
	       (!a->n_net || memcmp(&a->net_shared, &b->net_shared, sizeof(a->net_shared)) == 0);
}

/* Drops the set references the rules hold. */
static void rules_release(struct pf_engine *e, const struct wl_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		for (unsigned c = 0; c < r->exec[i].n_conds && c < PF_MAX_CONDS; c++)
			pf_sets_release(e->sets, r->exec[i].conds[c].set_id);
	for (size_t i = 0; i < r->n_net; i++) {
		if (r->net[i].addr_set && !(r->net[i].addr_set & PF_NET_INLINE))
			pf_sets_release(e->sets, r->net[i].addr_set);
		if (r->net[i].port_set && !(r->net[i].port_set & PF_NET_INLINE))
			pf_sets_release(e->sets, r->net[i].port_set);
	}
}

/*
 * The egress rules' sets: a reference per condition whose values do not fit
 * inline in the ruleset (those that fit, first come first served in the
 * compiled order, take no set).
 */
static int net_rules_acquire(struct pf_engine *e, const struct pf_compiled *c, struct wl_rules *out,
			     char *msg, size_t msg_len)
{
	struct pf_net_shared *sh = &out->net_shared;
	uint8_t tiers;
	int err = 0;

	out->n_net = 0;
	memset(sh, 0, sizeof(*sh));
	for (size_t i = 0; i < c->n_net && !err; i++) {
		const struct pf_strset *addrs = &c->net_values[i][PF_NET_VALUES_ADDR],
				       *ports = &c->net_values[i][PF_NET_VALUES_PORT];
		struct pf_net_rule r = c->net[i];
		bool addr_set_taken = false;

		/* a condition with no value still has its (empty) values: nothing is in them */
		if (r.addr_set && pf_net_addrs_inline_add(sh, addrs, &r.addr_set)) {
			err = pf_sets_acquire(e->sets, PF_MATCH_CIDR, addrs, &r.addr_set, &tiers,
					      msg, msg_len);
			addr_set_taken = !err;
		}
		if (!err && r.port_set && pf_net_ports_inline_add(sh, ports, &r.port_set)) {
			err = pf_sets_acquire(e->sets, PF_MATCH_PORT, ports, &r.port_set, &tiers,
					      msg, msg_len);
			if (!err)
				pf_net_lens_add(sh, PF_MATCH_PORT, ports);
		}
		if (err) {
			if (addr_set_taken)
				pf_sets_release(e->sets, r.addr_set);
			break;
		}
		/* values the compiler accepted: their lengths parse */
		if (addr_set_taken)
			pf_net_lens_add(sh, PF_MATCH_CIDR, addrs);
		out->net[out->n_net++] = r;
	}
	return err;
}

/*
 * The compiled rules with their value sets in the kernel: a reference per
 * condition (equal values share one set; new ones are written). On failure
 * no reference is kept and msg says why. The allowlists' shortcut rule is
 * only an optimisation: when its set cannot be written it is left out (the
 * rules stay complete) and said in the pod's status.
 */
static int rules_acquire(struct pf_engine *e, struct pod_ent *pe, const struct pf_compiled *c,
			 struct wl_rules *out, char *msg, size_t msg_len)
{
	struct pf_rule *rules = out->exec;
	size_t *n = &out->n;
	int err = 0;

	*n = 0;
	out->n_net = 0;
	msg[0] = 0;
	for (size_t i = 0; i < c->n && !err; i++) {
		struct pf_rule r = c->rules[i];
		unsigned k;

		for (k = 0; k < r.n_conds && k < PF_MAX_CONDS; k++) {
			err = pf_sets_acquire(e->sets, r.conds[k].match, &c->values[i][k],
					      &r.conds[k].set_id, &r.conds[k].tiers, msg, msg_len);
			if (err)
				break;
		}
		for (unsigned j = 0; err && j < k; j++) /* the conditions acquired before */
			pf_sets_release(e->sets, r.conds[j].set_id);
		if (err && (r.flags & PF_RULE_SKIP_IF_IN)) {
			if (!pe->error[0]) {
				snprintf(pe->error, sizeof(pe->error),
					 "%s: the allowlists' shortcut rule was not written: %s "
					 "(rules complete; execs cost one lookup per allowlist)",
					 pe->key, msg[0] ? msg : strerror(-err));
				pf_err("%s", pe->error);
			}
			err = 0;
			continue;
		}
		if (!err)
			rules[(*n)++] = r;
	}
	if (!err)
		err = net_rules_acquire(e, c, out, msg, msg_len);
	if (err) {
		rules_release(e, out);
		*n = 0;
		out->n_net = 0;
		if (!msg[0])
			snprintf(msg, msg_len, "%s", strerror(-err));
	}
	return err;
}

void eng_wl_ent_free(struct wl_ent *wl)
{
	free(wl->container);
	free(wl);
}

static void wl_garbage(struct pf_engine *e, struct wl_ent *wl)
{
	struct wl_garbage *g = malloc(sizeof(*g));

	HASH_DEL(e->wls, wl);
	rules_release(e, &wl->r);
	if (g) {
		/* The ruleset stays until no program can still hold the old cgroup mapping. */
		g->id = wl->id;
		g->next = e->wl_garbage;
		e->wl_garbage = g;
	}
	eng_wl_ent_free(wl);
}

/*
 * Writes a workload's rulesets, their flags derived from the rules: the
 * egress rules first, then the exec ruleset that says they exist (a connect
 * finding the flag without the rules is refused, never let through); egress
 * rules no longer wanted go after the flag is cleared. had_net: the
 * workload had egress rules before.
 */
static int ruleset_write(struct pf_engine *e, uint32_t wl_id, const struct wl_rules *r,
			 bool had_net, uint32_t learn_id, char *msg, size_t msg_len)
{
	struct pf_net_ruleset nrs;
	struct pf_ruleset rs;
	int err = pf_ruleset_init(&rs, r->exec, r->n, ++e->generation);

	rs.learn_id = learn_id;
	if (err) {
		snprintf(msg, msg_len, "%zu rules apply to one workload (at most %d)", r->n,
			 PF_MAX_RULES);
		return err;
	}
	if (r->n_net) {
		err = pf_net_ruleset_init(&nrs, r->net, r->n_net, &r->net_shared, e->generation);
		nrs.learn_id = learn_id;
		if (err) {
			snprintf(msg, msg_len,
				 "%zu egress rules apply to one workload (at most %d)", r->n_net,
				 PF_NET_MAX_RULES);
			return err;
		}
		err = pf_store_net_ruleset_write(e->st, wl_id, &nrs, msg, msg_len);
		if (err) {
			if (!msg[0])
				snprintf(msg, msg_len, "%s", strerror(-err));
			return err;
		}
		rs.flags |= PF_RS_NET;
	}
	err = pf_store_ruleset_write(e->st, wl_id, &rs, msg, msg_len);
	if (err && !msg[0])
		snprintf(msg, msg_len, "%s", strerror(-err));
	if (!err && !r->n_net && had_net)
		pf_store_net_ruleset_delete(e->st, wl_id);
	return err;
}

/* Says why a workload of the pod (container NULL: the pod's own) kept its previous rules. */
static void wl_failed(struct pod_ent *pe, const char *container, const char *why)
{
	snprintf(pe->error, sizeof(pe->error), "%s%s%s: %s (previous rules kept)", pe->key,
		 container ? "/" : "", container ? container : "", why);
	pf_err("%s", pe->error);
}

/*
 * Makes *slot hold a workload with these rules (taking ownership of their
 * set references): rewritten in place when the class allows, which is atomic
 * for every cgroup of the workload; otherwise a new workload, and the old
 * one goes to *replaced (collected once no cgroup points at it).
 */
static int wl_apply(struct pf_engine *e, struct pod_ent *pe, const char *container,
		    struct wl_ent **slot, const struct wl_rules *rules, uint32_t learn_id,
		    struct wl_ent **replaced)
{
	struct wl_ent *wl = *slot, *fresh = NULL;
	bool large = rules->n > PF_SMALL_RULES;
	char msg[192] = "";
	int err;

	*replaced = NULL;
	if (wl && wl->learn_id == learn_id && same_rules(&wl->r, rules)) {
		rules_release(e, rules); /* already in force */
		return 0;
	}
	if (!wl || !!(wl->id & PF_WL_LARGE) != large) {
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh || (container && !(fresh->container = strdup(container)))) {
			err = -ENOMEM;
			goto fail;
		}
		err = pf_store_alloc_id(e->st, large ? PF_ID_WORKLOAD_LARGE : PF_ID_WORKLOAD,
					&fresh->id);
		if (err) {
			snprintf(msg, sizeof(msg), "no workload id: %s", strerror(-err));
			goto fail;
		}
		fresh->pod = pe;
		wl = fresh;
	}
	err = ruleset_write(e, wl->id, rules, !fresh && wl->r.n_net, learn_id, msg, sizeof(msg));
	if (err)
		goto fail;
	if (fresh) {
		HASH_ADD(hh, e->wls, id, sizeof(fresh->id), fresh);
		if (!eng_hash_added()) {
			/* Untracked, it could never be collected: not used at all. */
			pf_store_ruleset_delete(e->st, fresh->id);
			pf_store_net_ruleset_delete(e->st, fresh->id);
			err = -ENOMEM;
			goto fail;
		}
		*replaced = *slot;
	} else {
		rules_release(e, &wl->r);
	}
	wl->r = *rules;
	wl->learn_id = learn_id;
	*slot = wl;
	return 0;

fail:
	if (fresh) {
		/* an egress ruleset written before the exec ruleset failed */
		pf_store_net_ruleset_delete(e->st, fresh->id);
		eng_wl_ent_free(fresh);
	}
	wl_failed(pe, container, msg[0] ? msg : err == -ENOMEM ? "out of memory" : strerror(-err));
	return err;
}

/* The workload with no rules, shared by every container no policy selects. */
struct wl_ent *eng_wl_none(struct pf_engine *e)
{
	static const struct wl_rules none;
	struct wl_ent *wl;
	char msg[192] = "";

	if (e->wl_none)
		return e->wl_none;
	wl = calloc(1, sizeof(*wl));
	if (!wl)
		return NULL;
	if (pf_store_alloc_id(e->st, PF_ID_WORKLOAD, &wl->id) ||
	    ruleset_write(e, wl->id, &none, false, 0, msg, sizeof(msg))) {
		pf_err("the empty workload: %s", msg[0] ? msg : "no id");
		free(wl);
		return NULL;
	}
	HASH_ADD(hh, e->wls, id, sizeof(wl->id), wl);
	if (!eng_hash_added()) {
		pf_store_ruleset_delete(e->st, wl->id);
		free(wl);
		return NULL;
	}
	e->wl_none = wl;
	return wl;
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
				eng_policy_ent_free(e, p);
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

void eng_conts_free(struct cont_ent *cont, size_t n)
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
		eng_bind_cgroups(e, pe, true);
	eng_cg_untrack_all(e, pe, true);
	eng_expected_clear(e, pe);
	for (size_t i = 0; i < pe->n_cont; i++)
		if (cont_owns(&pe->cont[i]))
			wl_garbage(e, pe->cont[i].wl);
	if (pe->pod_wl)
		wl_garbage(e, pe->pod_wl);
	pe->pod_wl = NULL;
	eng_conts_free(pe->cont, pe->n_cont);
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
 * A compile error the inputs alone decide: more rules than a workload holds,
 * a refused binding that was a container's only one, matchBinaries on a
 * backend that cannot see the caller. Every node decides it the same way
 * whatever it held before, so it fails closed the same way everywhere: the
 * container denies every exec. Out of memory, or a kernel write that fails,
 * is not decided by the inputs: what was in force stays.
 */
static bool input_error(int err)
{
	return err && err != -ENOMEM;
}

/*
 * Applies one container's compiled rules (cerr: they could not be
 * compiled). An input error gives it the pod's workload, which then denies
 * every exec; any other error keeps what it had, else the pod's workload
 * (the strictest the pod has).
 */
static struct wl_ent *cont_apply(struct pf_engine *e, struct pod_ent *pe, const struct pf_pod *pod,
				 const char *name, const struct pf_compiled *cc, int cerr,
				 struct ptrs *garbage, bool *kept_previous)
{
	struct wl_ent *prev = cont_previous(pe, name), *slot = prev, *replaced = NULL;
	struct wl_rules rules = {};
	char msg[PF_ENGINE_MSG] = "";
	uint32_t learn_id = eng_learn_id(e, pod, name);

	if ((!cerr && !cc->n && !cc->n_net && !learn_id) || input_error(cerr)) {
		if (prev)
			eng_ptrs_add_unique(garbage, prev);
		return cerr ? pe->pod_wl : NULL; /* NULL: no rule applies to it */
	}
	if (!cerr) {
		cerr = rules_acquire(e, pe, cc, &rules, msg, sizeof(msg));
		if (cerr)
			wl_failed(pe, name, msg);
	}
	/* The rules of every container together are its own (one container, or alike): shared. */
	if (!cerr && pe->pod_wl && pe->pod_wl->learn_id == learn_id &&
	    same_rules(&pe->pod_wl->r, &rules)) {
		rules_release(e, &rules);
		if (prev)
			eng_ptrs_add_unique(garbage, prev);
		return pe->pod_wl;
	}
	if (cerr || wl_apply(e, pe, name, &slot, &rules, learn_id, &replaced)) {
		if (!cerr)
			rules_release(e, &rules);
		*kept_previous = true;
		return prev ? prev : pe->pod_wl;
	}
	if (replaced)
		eng_ptrs_add_unique(garbage, replaced);
	return slot;
}

/* One pod's recomputation, step by step (eng_pod_compute). */
struct pod_update {
	struct pf_pod *pod;
	struct ptrs cands;	/* policies that may select it, sorted */
	struct ptrs used;	/* policies and instances its rules name */
	struct ptrs garbage;	/* workloads it may no longer use */
	struct pf_compiled *cc; /* per container, then the pod's (not identified yet) */
	int *cerr;
	char (*cmsg)[PF_ENGINE_MSG];
	struct cont_ent *cont;
	bool kept_previous; /* some rules in force are from before (they name their policies) */
};

/* Candidates, and each container's rules compiled (not written yet). */
static int update_prepare(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	size_t nc = u->pod->n_containers + 1;

	u->cc = calloc(nc, sizeof(*u->cc));
	u->cerr = calloc(nc, sizeof(*u->cerr));
	u->cont = calloc(nc, sizeof(*u->cont));
	u->cmsg = calloc(nc, sizeof(*u->cmsg));
	if (!u->cc || !u->cerr || !u->cont || !u->cmsg || eng_candidates(e, u->pod, &u->cands)) {
		wl_failed(pe, NULL, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < u->pod->n_containers; i++) {
		const char *name = u->pod->containers[i].name;

		u->cerr[i] = eng_compile_rules(e, &u->cands, name, &u->cc[i], &u->used, u->cmsg[i],
					       sizeof(u->cmsg[i]));
		if (u->cerr[i] && !u->cmsg[i][0])
			snprintf(u->cmsg[i], sizeof(u->cmsg[i]), "%s", strerror(-u->cerr[i]));
		if (u->cerr[i])
			pf_err("pod %s/%s: %s", pe->key, name, u->cmsg[i]);
	}
	return 0;
}

/*
 * 1. The pod's workload: what a container not identified yet gets (and a
 * container whose own rules are an input error). An input error makes it
 * deny every exec; any other failure keeps what the pod had, and a pod that
 * had nothing denies every exec (fail closed). Either way, reported.
 */
static void update_pod_workload(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	struct pf_compiled *pod_cc = &u->cc[u->pod->n_containers];
	struct wl_ent *pod_wl = pe->pod_wl, *replaced = NULL;
	struct wl_rules rules = {};
	char msg[PF_ENGINE_MSG] = "";
	uint32_t learn_id = eng_learn_id(e, u->pod, NULL);
	bool input;
	int err;

	err = eng_compile_unidentified(e, &u->cands, u->pod, u->cc, u->cerr, u->cmsg, pod_cc,
				       &u->used, msg, sizeof(msg));
	input = input_error(err);
	if (!err && pod_cc->n)
		pf_compiled_add_skip(pod_cc); /* without it (no memory): complete all the same */
	if (!err)
		err = rules_acquire(e, pe, pod_cc, &rules, msg, sizeof(msg));
	else if (!msg[0])
		snprintf(msg, sizeof(msg), "%s", strerror(-err));
	if (err && pod_wl && !input) {
		wl_failed(pe, NULL, msg);
		u->kept_previous = true;
		return;
	}
	if (err) {
		snprintf(pe->error, sizeof(pe->error),
			 "%s: %s (containers not identified yet deny every exec)", pe->key, msg);
		pf_err("%s", pe->error);
		pf_compiled_deny_all(pod_cc);
		rules_acquire(e, pe, pod_cc, &rules, msg, sizeof(msg)); /* no sets: no error */
	}
	if (!rules.n && !rules.n_net && !learn_id) {
		if (pod_wl)
			eng_ptrs_add_unique(&u->garbage, pod_wl);
		pod_wl = NULL;
	} else if (wl_apply(e, pe, NULL, &pod_wl, &rules, learn_id, &replaced)) {
		rules_release(e, &rules);
		u->kept_previous = true;
	} else if (replaced) {
		eng_ptrs_add_unique(&u->garbage, replaced);
	}
	pe->pod_wl = pod_wl;
}

/* 2. Each container's own workload, matched to what it had by name. */
static void update_containers(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	const struct pf_pod *pod = u->pod;

	for (size_t i = 0; i < pod->n_containers; i++) {
		if (!u->cerr[i] && u->cc[i].n)
			pf_compiled_add_skip(&u->cc[i]);
		u->cont[i].name = strdup(pod->containers[i].name);
		u->cont[i].wl = cont_apply(e, pe, pod, pod->containers[i].name, &u->cc[i],
					   u->cerr[i], &u->garbage, &u->kept_previous);
	}
	/* Containers the pod no longer has. */
	for (size_t i = 0; i < pe->n_cont; i++) {
		bool kept = false;

		for (size_t j = 0; j < pod->n_containers && !kept; j++)
			kept = pe->cont[i].wl == u->cont[j].wl;
		if (cont_owns(&pe->cont[i]) && !kept)
			eng_ptrs_add_unique(&u->garbage, pe->cont[i].wl);
	}
	eng_conts_free(pe->cont, pe->n_cont);
	pe->cont = u->cont;
	pe->n_cont = pod->n_containers;
	u->cont = NULL;
}

/* 3. Every cgroup of the pod switched in place; the previous definition freed. */
static void update_switch(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	struct pf_pod *old_applied = pe->applied;
	bool still_defined = false;

	pe->applied = u->pod;
	pe->rewalk_until_ms = 0; /* a new definition: its containers are looked for afresh */
	eng_bind_cgroups(e, pe, false);
	if (!old_applied || old_applied == u->pod)
		return;
	for (size_t i = 0; i < pe->defs.n; i++)
		still_defined |= pe->defs.v[i].obj == old_applied;
	if (!still_defined) {
		pf_pod_free(old_applied);
		free(old_applied);
	}
}

/* 4. What no cgroup points at any more: released, freed after a barrier. */
static void update_release(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	for (size_t i = 0; i < u->garbage.n; i++) {
		bool in_use = u->garbage.v[i] == pe->pod_wl;

		for (size_t j = 0; j < pe->n_cont && !in_use; j++)
			in_use = u->garbage.v[i] == pe->cont[j].wl;
		if (!in_use)
			wl_garbage(e, u->garbage.v[i]);
	}
}

/* The policies the pod's rules now name; instances nothing ended up using dropped. */
static void update_finish(struct pf_engine *e, struct pod_ent *pe, struct pod_update *u)
{
	/* Rules kept from before still name their policies: they stay referenced. */
	for (size_t i = 0; u->kept_previous && i < pe->policies.n; i++)
		eng_ptrs_add_unique(&u->used, pe->policies.v[i]);
	if (!pe->applied)
		pe->applied = u->pod; /* out of memory on a new pod: known, nothing bound */
	pod_set_policies(e, pe, &u->used);
	if (u->cont)
		eng_conts_free(u->cont, u->pod->n_containers);
	for (size_t i = 0; u->cc && i <= u->pod->n_containers; i++)
		pf_compiled_free(&u->cc[i]);
	free(u->cc);
	free(u->cerr);
	free(u->cmsg);
	free(u->garbage.v);
	free(u->cands.v);
	for (size_t i = 0; i < e->fresh_instances.n; i++) {
		struct policy_ent *ie = e->fresh_instances.v[i];

		if (!ie->n_pods)
			eng_policy_ent_free(e, ie);
	}
	e->fresh_instances.n = 0;
}

/*
 * Recomputes a pod's workloads and bindings from its definition in force,
 * make-before-break: new rules are written first (in place, or under new
 * workload ids), then every cgroup of the pod is moved to its workload in
 * place, and only then are the workloads no cgroup uses any more released
 * (their rulesets deleted after a barrier). An exec never finds a cgroup of
 * the pod unbound, whatever the update.
 */
void eng_pod_compute(struct pf_engine *e, struct pod_ent *pe)
{
	struct pod_update u = {.pod = defs_active(&pe->defs)};

	if (!u.pod) {
		pod_forget(e, pe);
		return;
	}
	pe->error[0] = 0;
	if (update_prepare(e, pe, &u)) {
		u.kept_previous = true; /* nothing changed in the kernel */
	} else {
		update_pod_workload(e, pe, &u);
		update_containers(e, pe, &u);
		update_switch(e, pe, &u);
		update_release(e, pe, &u);
	}
	update_finish(e, pe, &u);
}
