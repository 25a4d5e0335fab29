// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling a pod's candidate policies into the rules of each container:
 * tracing policies in key order, then one instance per template from the
 * union of its bindings; the rules of a container not identified yet; the
 * allowlists' shortcut rule.
 */
#include "engine_internal.h"

/* The definition in force of a policy object (NULL for an instance, or once undefined). */
static struct pf_policy *ent_policy(const struct policy_ent *pe)
{
	return defs_active(&pe->defs);
}

static bool applies_to(const struct pf_policy *p, const char *container)
{
	return !p->containers.n || (container && pf_strset_has(&p->containers, container));
}

struct pf_policy *eng_active_template(struct pf_engine *e, const char *name)
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
	eng_ptrs_add(&e->fresh_instances, ie);
	return ie;
}

/* Compiles one template's bindings[0..n) (same template, sorted) for a container. */
static int compile_instance(struct pf_engine *e, struct policy_ent *const *bes, size_t n,
			    uint8_t *group, struct pf_rule *rules, size_t *n_rules,
			    struct ptrs *used, char *err, size_t err_len)
{
	const struct pf_policy *b0 = ent_policy(bes[0]);
	struct pf_policy *tpl = eng_active_template(e, b0->template_ref), inst;
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
		ret = eng_ptrs_add_unique(used, ie);
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

void eng_add_allowlist_skip_rule(struct pf_engine *e, struct pod_ent *pe, struct pf_rule *rules,
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
int eng_compile_rules(struct pf_engine *e, const struct ptrs *cands, const char *container,
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
			ret = eng_ptrs_add(&bindings, pe);
			continue;
		}
		ret = pf_compile_policy(p, pe->id, &group, &e->resolver, rules, PF_MAX_RULES, n,
					err, err_len);
		if (!ret)
			ret = eng_ptrs_add_unique(used, pe);
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
void eng_rules_deny_all(struct pf_rule *rules, size_t *n)
{
	memset(rules, 0, sizeof(*rules));
	rules[0].policy_id = 0; /* no policy: reported as the engine's own */
	rules[0].actions = PF_ACT_DENY | PF_ACT_POST;
	rules[0].err = EPERM;
	*n = 1;
}

/*
 * The rules of a container not identified yet: those of every container of
 * the pod together, each policy once (its hook entries stay groups of their
 * own), so that whichever container it turns out to be, nothing it may not
 * run runs. Pod-level policies apply to every container, so they are in.
 */
int eng_compile_unidentified(struct pf_engine *e, const struct ptrs *cands,
			     const struct pf_pod *pod, struct pf_rule (*crules)[PF_MAX_RULES],
			     const size_t *cn, const int *cerr, char (*cmsg)[PF_ENGINE_MSG],
			     struct pf_rule *rules, size_t *n, struct ptrs *used, char *err,
			     size_t err_len)
{
	int ret = 0;

	if (!pod->n_containers)
		return eng_compile_rules(e, cands, NULL, rules, n, used, err, err_len);
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
