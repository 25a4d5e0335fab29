// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling a pod's candidate policies into the rules of each container:
 * tracing policies in key order, then one instance per template from the
 * union of its bindings, and the rules of a container not identified yet.
 * What comes out is kernel-independent (compile.h): engine_reconcile.c
 * writes it.
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
	struct policy_ent *te = NULL;
	char key[PATH_MAX], *long_key;

	/* pf_template_key()'s spelling, without an allocation for any usual name */
	if (snprintf(key, sizeof(key), "PolicyTemplate//%s", name) < (int)sizeof(key)) {
		HASH_FIND_STR(e->policies, key, te);
	} else if ((long_key = pf_template_key(name))) {
		HASH_FIND_STR(e->policies, long_key, te);
		free(long_key);
	}
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
	ie->key = key;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&ie->bindings[i], "%s/%s", bs[i]->namespace, bs[i]->name) < 0) {
			ie->bindings[i] = NULL;
			goto fail;
		}
		ie->n_bindings++;
	}
	HASH_ADD_KEYPTR(hh, e->policies, ie->key, strlen(ie->key), ie);
	if (!eng_hash_added())
		goto fail;
	HASH_ADD(hh_id, e->policies_by_id, id, sizeof(ie->id), ie);
	if (!eng_hash_added()) {
		HASH_DEL(e->policies, ie);
		goto fail;
	}
	/* Dropped again at the end of the pod's computation if no rule of it was applied. */
	if (eng_ptrs_add(&e->fresh_instances, ie)) {
		eng_policy_ent_free(e, ie);
		return NULL;
	}
	return ie;

fail:
	for (size_t i = 0; i < ie->n_bindings; i++)
		free(ie->bindings[i]);
	free(ie->bindings);
	free(ie->tpl_name);
	free(ie->key);
	free(ie);
	return NULL;
}

/* Compiles one template's bindings[0..n) (same template, sorted) for a container. */
static int compile_instance(struct pf_engine *e, struct policy_ent *const *bes, size_t n,
			    uint8_t *group, uint8_t *net_group, struct pf_compiled *out,
			    struct ptrs *used, char *err, size_t err_len)
{
	const struct pf_policy *b0 = ent_policy(bes[0]);
	struct pf_policy *tpl = eng_active_template(e, b0->template_ref), inst;
	const struct pf_policy **ok = calloc(n, sizeof(*ok));
	const struct pf_policy *refused = NULL;
	struct policy_ent *ie;
	size_t m = 0;
	int ret = 0;

	if (!ok)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pf_policy *b = ent_policy(bes[i]);
		struct pf_binding_why why;

		/* A binding its template refuses takes no part (reported in status)... */
		switch (pf_binding_accept(tpl, b, &why)) {
		case PF_BINDING_ACTIVE:
			ok[m++] = b;
			break;
		case PF_BINDING_REJECTED:
			if (!refused)
				refused = b;
			break;
		case PF_BINDING_WAITING:
			break;
		}
	}
	if (!m && refused) {
		/*
		 * ... but when it was the only one for this container, the
		 * container is known to need the template and its rules cannot
		 * be written: an input error, failed closed (engine_reconcile.c).
		 */
		snprintf(err, err_len,
			 "PolicyBinding %s/%s is refused by template \"%s\" and no other binding "
			 "of it selects this container",
			 refused->namespace, refused->name, tpl->name);
		ret = -EINVAL;
		goto out;
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
	ret = pf_compile_policy(&inst, ie->id, group, e->st->sees_caller, out, err, err_len);
	if (!ret)
		ret = pf_compile_net_policy(&inst, ie->id, net_group, out, err, err_len);
	pf_policy_free(&inst);
	if (!ret)
		ret = eng_ptrs_add_unique(used, ie);
out:
	free(ok);
	return ret;
}

/*
 * The rules of one container (name NULL: of no known container), without the
 * skip rule, from the sorted candidates: tracing policies in key order, then
 * one instance per template whose bindings select the container. Objects
 * whose rules were used go to `used`.
 */
int eng_compile_rules(struct pf_engine *e, const struct ptrs *cands, const char *container,
		      struct pf_compiled *out, struct ptrs *used, char *err, size_t err_len)
{
	struct ptrs bindings = {};
	uint8_t group = 0, net_group = 0;
	int ret = 0;

	pf_compiled_free(out);
	for (size_t i = 0; i < cands->n && !ret; i++) {
		struct policy_ent *pe = cands->v[i];
		struct pf_policy *p = defs_active(&pe->defs);

		if (!applies_to(p, container))
			continue;
		if (p->type == PF_POLICY_BINDING) {
			ret = eng_ptrs_add(&bindings, pe);
			continue;
		}
		ret = pf_compile_policy(p, pe->id, &group, e->st->sees_caller, out, err, err_len);
		if (!ret)
			ret = pf_compile_net_policy(p, pe->id, &net_group, out, err, err_len);
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
				       &net_group, out, used, err, err_len);
	}
	free(bindings.v);
	if (ret)
		pf_compiled_free(out);
	return ret;
}

/*
 * The rules of a container not identified yet: those of every container of
 * the pod together, each policy once (its hook entries stay groups of their
 * own), so that whichever container it turns out to be, nothing it may not
 * run runs. Pod-level policies apply to every container, so they are in.
 */
int eng_compile_unidentified(struct pf_engine *e, const struct ptrs *cands,
			     const struct pf_pod *pod, const struct pf_compiled *cc,
			     const int *cerr, char (*cmsg)[PF_ENGINE_MSG], struct pf_compiled *out,
			     struct ptrs *used, char *err, size_t err_len)
{
	int ret = 0;

	if (!pod->n_containers)
		return eng_compile_rules(e, cands, NULL, out, used, err, err_len);
	pf_compiled_free(out);
	for (size_t i = 0; i < pod->n_containers && !ret; i++) {
		if (cerr[i]) {
			snprintf(err, err_len, "container %s: %s", pod->containers[i].name,
				 cmsg[i]);
			ret = cerr[i];
			break;
		}
		ret = pf_compiled_merge(out, &cc[i], err, err_len);
	}
	if (ret)
		pf_compiled_free(out);
	return ret;
}
