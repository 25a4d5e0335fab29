// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "podfence/compile.h"

void pf_rules_release(const struct pf_rule *rules, size_t n, const struct pf_set_resolver *sets)
{
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < rules[i].n_conds; c++)
			sets->release(sets->ctx, rules[i].conds[c].set_id);
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
			uint32_t policy_id, uint8_t group, const struct pf_set_resolver *sets,
			struct pf_rule *r, char *err, size_t err_len)
{
	int ret;

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

		if (pc->subject == PF_SUBJ_CALLER && sets->no_caller) {
			/* Accepting it would leave the rule silently unenforced. */
			snprintf(
			    err, err_len,
			    "matchBinaries cannot be enforced on this node: its exec backend "
			    "(sched_process_exec: no BPF LSM, no fmod_ret, kernel < 6.10) runs "
			    "after the calling binary is gone");
			for (size_t k = 0; k < c; k++)
				sets->release(sets->ctx, r->conds[k].set_id);
			return -EOPNOTSUPP;
		}
		kc->subject = pc->subject;
		kc->match = pc->match;
		kc->negate = pc->negate;
		ret = sets->acquire(sets->ctx, pc->match, &pc->values, &kc->set_id, &kc->tiers, err,
				    err_len);
		if (ret) {
			for (size_t k = 0; k < c; k++)
				sets->release(sets->ctx, r->conds[k].set_id);
			return ret;
		}
		r->n_conds++;
	}
	return 0;
}

int pf_compile_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
		      const struct pf_set_resolver *sets, struct pf_rule *out, size_t cap,
		      size_t *n, char *err, size_t err_len)
{
	size_t start = *n;
	unsigned last_hook = 0;
	uint8_t g = *group;
	int ret;

	if (*n + p->n_rules > cap) {
		snprintf(err, err_len, "%zu rules apply to one workload (at most %zu)",
			 *n + p->n_rules, cap);
		return -E2BIG;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		/* Each hook entry of a policy is a first-match group of its own. */
		if (i > 0 && p->rules[i].group != last_hook)
			g++;
		last_hook = p->rules[i].group;
		ret = compile_rule(p, &p->rules[i], policy_id, g, sets, &out[*n], err, err_len);
		if (ret) {
			pf_rules_release(&out[start], *n - start, sets);
			*n = start;
			return ret;
		}
		(*n)++;
	}
	if (p->n_rules)
		g++;
	*group = g;
	return 0;
}

/* Sets are only counted when validating. */
static int count_acquire(void *ctx, enum pf_match match, const struct pf_strset *values,
			 uint32_t *set_id, uint8_t *tiers, char *err, size_t err_len)
{
	size_t *n_values = ctx;

	*n_values += values->n;
	*set_id = 1;
	*tiers = 0;
	return 0;
}

static void count_release(void *ctx, uint32_t set_id)
{
}

int pf_policy_validate(const struct pf_policy *p, size_t *n_values, char *err, size_t err_len)
{
	struct pf_set_resolver counter = {count_acquire, count_release, n_values, false};
	struct pf_rule rules[PF_MAX_RULES];
	uint8_t group = 0;
	size_t n = 0;

	*n_values = 0;
	return pf_compile_policy(p, 1, &group, &counter, rules, PF_MAX_RULES, &n, err, err_len);
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
