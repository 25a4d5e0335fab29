// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/compile.h"

uint8_t pf_values_tiers(enum pf_match match, const struct pf_strset *values)
{
	uint8_t tiers = 0;

	if (match != PF_MATCH_EXACT)
		return 0;
	for (size_t i = 0; i < values->n; i++)
		tiers |= pf_exact_tier(strlen(values->v[i]));
	return tiers;
}

void pf_compiled_free(struct pf_compiled *c)
{
	for (size_t i = 0; i < c->n && i < PF_MAX_RULES; i++)
		for (unsigned k = 0; k < PF_MAX_CONDS; k++)
			pf_strset_free(&c->values[i][k]);
	c->n = 0;
	for (size_t i = 0; i < c->n_net && i < PF_NET_MAX_RULES; i++)
		for (unsigned k = 0; k < 2; k++)
			pf_strset_free(&c->net_values[i][k]);
	c->n_net = 0;
}

int pf_ruleset_init(struct pf_ruleset *rs, const struct pf_rule *rules, size_t n,
		    uint32_t generation)
{
	memset(rs, 0, sizeof(*rs));
	if (n > PF_MAX_RULES)
		return -E2BIG;
	rs->generation = generation;
	rs->n_rules = n;
	if (n)
		memcpy(rs->rules, rules, n * sizeof(*rules));
	/* The program resolves the calling binary only for rulesets that need it. */
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < rules[i].n_conds && c < PF_MAX_CONDS; c++)
			if (rules[i].conds[c].subject == PF_SUBJ_CALLER)
				rs->flags |= PF_RS_CALLER;
	return 0;
}

static int compile_rule(const struct pf_policy *p, const struct pf_policy_rule *pr,
			uint32_t policy_id, uint8_t group, bool sees_caller, struct pf_rule *r,
			struct pf_strset *values, char *err, size_t err_len)
{
	memset(r, 0, sizeof(*r));
	r->policy_id = policy_id;
	r->actions = pr->actions;
	r->flags = (p->mode == PF_MODE_MONITOR ? PF_RULE_MONITOR : 0) |
		   (p->any_view ? PF_RULE_ANY_VIEW : 0);
	r->group = group;
	r->err = pr->err > 0 && pr->err < 256 ? pr->err : EPERM;
	for (size_t c = 0; c < pr->n_conds && c < PF_MAX_CONDS; c++) {
		const struct pf_policy_cond *pc = &pr->conds[c];
		struct pf_cond *kc = &r->conds[c];

		if (pc->subject == PF_SUBJ_CALLER && !sees_caller) {
			/* Accepting it would leave the rule silently unenforced. */
			snprintf(
			    err, err_len,
			    "matchBinaries cannot be enforced on this node: its exec backend "
			    "(sched_process_exec: no BPF LSM, no fmod_ret, kernel < 6.10) runs "
			    "after the calling binary is gone");
			return -EOPNOTSUPP;
		}
		kc->subject = pc->subject;
		kc->match = pc->match;
		kc->negate = pc->negate;
		kc->tiers = pf_values_tiers(pc->match, &pc->values);
		if (pf_strset_copy(&values[c], &pc->values)) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		r->n_conds++;
	}
	return 0;
}

/* Drops rules [from, c->n), their values with them. */
static void compiled_truncate(struct pf_compiled *c, size_t from)
{
	for (size_t i = from; i < c->n; i++)
		for (unsigned k = 0; k < PF_MAX_CONDS; k++)
			pf_strset_free(&c->values[i][k]);
	c->n = from;
}

int pf_compile_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
		      bool sees_caller, struct pf_compiled *out, char *err, size_t err_len)
{
	size_t start = out->n, n_exec = 0;
	unsigned last_hook = 0;
	uint8_t g = *group;
	int ret;

	for (size_t i = 0; i < p->n_rules; i++)
		n_exec += p->rules[i].profile == PF_PROFILE_EXEC;
	if (out->n + n_exec > PF_MAX_RULES) {
		snprintf(err, err_len, "%zu rules apply to one workload (at most %d)",
			 out->n + n_exec, PF_MAX_RULES);
		return -E2BIG;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		if (p->rules[i].profile == PF_PROFILE_NET)
			continue; /* egress: never an exec rule (its own compiler's) */
		/* Each hook entry of a policy is a first-match group of its own. */
		if (i > 0 && p->rules[i].group != last_hook)
			g++;
		last_hook = p->rules[i].group;
		ret = compile_rule(p, &p->rules[i], policy_id, g, sees_caller, &out->rules[out->n],
				   out->values[out->n], err, err_len);
		out->n++;
		if (ret) {
			compiled_truncate(out, start);
			return ret;
		}
	}
	if (p->n_rules)
		g++;
	*group = g;
	return 0;
}

/* pf_compiled_merge() for the egress rules: the same, on their own groups. */
static int compiled_merge_net(struct pf_compiled *out, const struct pf_compiled *src, char *err,
			      size_t err_len)
{
	uint8_t next = 0, src_group = 0, mapped = 0;
	bool have_map = false;
	size_t n0 = out->n_net;

	for (size_t i = 0; i < n0; i++)
		next = out->net[i].group + 1 > next ? out->net[i].group + 1 : next;
	for (size_t i = 0; i < src->n_net; i++) {
		bool held = false;

		for (size_t k = 0; k < n0 && !held; k++)
			held = out->net[k].policy_id == src->net[i].policy_id;
		if (held)
			continue;
		if (out->n_net >= PF_NET_MAX_RULES) {
			snprintf(err, err_len,
				 "more than %d egress rules apply to a container not identified "
				 "yet (the rules of all the pod's containers)",
				 PF_NET_MAX_RULES);
			return -E2BIG;
		}
		if (!have_map || src->net[i].group != src_group) {
			src_group = src->net[i].group;
			mapped = next++;
			have_map = true;
		}
		out->net[out->n_net] = src->net[i];
		out->net[out->n_net].group = mapped;
		out->n_net++;
		for (unsigned k = 0; k < 2; k++) {
			if (pf_strset_copy(&out->net_values[out->n_net - 1][k],
					   &src->net_values[i][k])) {
				snprintf(err, err_len, "out of memory");
				return -ENOMEM;
			}
		}
	}
	return 0;
}

int pf_compiled_merge(struct pf_compiled *out, const struct pf_compiled *src, char *err,
		      size_t err_len)
{
	uint8_t next = 0, src_group = 0, mapped = 0;
	bool have_map = false;
	size_t n0 = out->n;

	for (size_t i = 0; i < n0; i++)
		next = out->rules[i].group + 1 > next ? out->rules[i].group + 1 : next;
	for (size_t i = 0; i < src->n; i++) {
		bool held = false;

		for (size_t k = 0; k < n0 && !held; k++)
			held = out->rules[k].policy_id == src->rules[i].policy_id;
		if (held)
			continue;
		if (out->n >= PF_MAX_RULES) {
			snprintf(err, err_len,
				 "more than %d rules apply to a container not identified "
				 "yet (the rules of all the pod's containers)",
				 PF_MAX_RULES);
			return -E2BIG;
		}
		if (!have_map || src->rules[i].group != src_group) {
			src_group = src->rules[i].group;
			mapped = next++;
			have_map = true;
		}
		out->rules[out->n] = src->rules[i];
		out->rules[out->n].group = mapped;
		out->n++;
		for (unsigned c = 0; c < PF_MAX_CONDS; c++) {
			if (pf_strset_copy(&out->values[out->n - 1][c], &src->values[i][c])) {
				snprintf(err, err_len, "out of memory");
				return -ENOMEM;
			}
		}
	}
	return compiled_merge_net(out, src, err, err_len);
}

void pf_compiled_deny_all(struct pf_compiled *c)
{
	compiled_truncate(c, 0);
	memset(&c->rules[0], 0, sizeof(c->rules[0]));
	c->rules[0].policy_id = 0; /* no policy: reported as the engine's own */
	c->rules[0].actions = PF_ACT_DENY | PF_ACT_POST;
	c->rules[0].err = EPERM;
	c->n = 1;
	/* and every connect, send and raw socket */
	for (size_t i = 0; i < c->n_net; i++)
		for (unsigned k = 0; k < 2; k++)
			pf_strset_free(&c->net_values[i][k]);
	memset(&c->net[0], 0, sizeof(c->net[0]));
	c->net[0].actions = PF_ACT_DENY | PF_ACT_POST;
	c->net[0].err = EPERM;
	c->n_net = 1;
}

/* The values of an allowlist condition of rule i (NotEqual on the executed file), or NULL. */
static const struct pf_strset *allowlist_values(const struct pf_compiled *c, size_t i)
{
	const struct pf_rule *r = &c->rules[i];

	for (unsigned k = 0; k < r->n_conds && k < PF_MAX_CONDS; k++)
		if (r->conds[k].subject == PF_SUBJ_EXEC_PATH &&
		    r->conds[k].match == PF_MATCH_EXACT && r->conds[k].negate)
			return &c->values[i][k];
	return NULL;
}

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

int pf_compiled_add_skip(struct pf_compiled *c)
{
	struct pf_strset common = {};
	struct pf_rule skip = {
	    .flags = PF_RULE_SKIP_IF_IN,
	    .group = UINT8_MAX,
	    .n_conds = 1,
	};
	size_t n_lists = 0;
	int err = 0;

	if (c->n <= PF_SMALL_RULES || c->n >= PF_MAX_RULES)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct pf_strset *values = allowlist_values(c, i);

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
	skip.conds[0].tiers = pf_values_tiers(PF_MATCH_EXACT, &common);
	memmove(&c->rules[1], &c->rules[0], c->n * sizeof(c->rules[0]));
	memmove(&c->values[1], &c->values[0], c->n * sizeof(c->values[0]));
	memset(&c->values[0], 0, sizeof(c->values[0]));
	c->rules[0] = skip;
	c->values[0][0] = common; /* taken */
	common = (struct pf_strset){};
	c->n++;
out:
	pf_strset_free(&common);
	return err;
}

bool pf_compiled_equal(const struct pf_compiled *a, const struct pf_compiled *b)
{
	if (a->n != b->n || memcmp(a->rules, b->rules, a->n * sizeof(a->rules[0])))
		return false;
	for (size_t i = 0; i < a->n; i++)
		for (unsigned k = 0; k < PF_MAX_CONDS; k++)
			if (!pf_strset_equal(&a->values[i][k], &b->values[i][k]))
				return false;
	if (a->n_net != b->n_net || memcmp(a->net, b->net, a->n_net * sizeof(a->net[0])))
		return false;
	for (size_t i = 0; i < a->n_net; i++)
		for (unsigned k = 0; k < 2; k++)
			if (!pf_strset_equal(&a->net_values[i][k], &b->net_values[i][k]))
				return false;
	return true;
}

int pf_policy_validate(const struct pf_policy *p, size_t *n_values, char *err, size_t err_len)
{
	struct pf_compiled *c = calloc(1, sizeof(*c));
	uint8_t group = 0;
	int ret;

	*n_values = 0;
	if (!c)
		return -ENOMEM;
	/* The node's backend is checked when the policy is applied; here, everything else. */
	ret = pf_compile_policy(p, 1, &group, true, c, err, err_len);
	group = 0;
	if (!ret)
		ret = pf_compile_net_policy(p, 1, &group, c, err, err_len);
	for (size_t i = 0; i < c->n; i++)
		for (unsigned k = 0; k < c->rules[i].n_conds && k < PF_MAX_CONDS; k++)
			*n_values += c->values[i][k].n;
	for (size_t i = 0; i < c->n_net; i++)
		*n_values += c->net_values[i][0].n + c->net_values[i][1].n;
	pf_compiled_free(c);
	free(c);
	return ret;
}

/* The size classes of the kernel's BPF memory allocator (kmalloc-like). */
static size_t alloc_class(size_t n)
{
	static const size_t classes[] = {16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096};

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (n <= classes[i])
			return classes[i];
	return n;
}

/* Kernel structure headers: struct htab_elem, struct lpm_trie_node (64-bit). */
#define HTAB_ELEM_HDR 48
#define LPM_NODE_HDR  40

size_t pf_kernel_entry_bytes(enum pf_kentry kind, size_t len)
{
	size_t key;

	if (kind == PF_KENTRY_AFFIX)
		return alloc_class(LPM_NODE_HDR + sizeof(struct pf_affix_key) - 4 + 1);
	switch (pf_exact_tier(len)) {
	case PF_TIER_S:
		key = sizeof(struct pf_exact_key_s);
		break;
	case PF_TIER_M:
		key = sizeof(struct pf_exact_key_m);
		break;
	default:
		key = sizeof(struct pf_exact_key_l);
	}
	return alloc_class(HTAB_ELEM_HDR + key + 8);
}
