// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling the connect-hook selectors of a policy into egress rules: one
 * rule per selector, its address and port conditions as value sets (CIDRs,
 * port ranges: written by the engine like exec's, content-addressed), its
 * protocol and family as bits in the rule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "podfence/compile.h"

static int net_rule(const struct pf_policy *p, const struct pf_policy_rule *pr, uint32_t policy_id,
		    uint8_t group, struct pf_net_rule *r, struct pf_strset values[2])
{
	const struct pf_net_match *m = &pr->net;

	memset(r, 0, sizeof(*r));
	r->policy_id = policy_id;
	r->actions = pr->actions;
	r->flags = p->mode == PF_MODE_MONITOR ? PF_RULE_MONITOR : 0;
	r->group = group;
	r->err = pr->err > 0 && pr->err < 256 ? pr->err : EPERM;
	r->families = m->families;
	r->protocols = m->protocols;
	/*
	 * A condition is there even with no value (a binding that gave none):
	 * its set is then empty, in which no address is. PF_NET_SET_WANTED
	 * stands for the set id until the engine writes the set.
	 */
	if (m->has_addr) {
		r->addr_set = PF_NET_SET_WANTED;
		r->negate |= m->addr.negate ? PF_NET_NOT_ADDR : 0;
		if (pf_strset_copy(&values[PF_NET_VALUES_ADDR], &m->addr.values))
			return -ENOMEM;
	}
	if (m->has_port) {
		r->port_set = PF_NET_SET_WANTED;
		r->negate |= m->port.negate ? PF_NET_NOT_PORT : 0;
		if (pf_strset_copy(&values[PF_NET_VALUES_PORT], &m->port.values))
			return -ENOMEM;
	}
	return 0;
}

static void net_truncate(struct pf_compiled *c, size_t n)
{
	for (size_t i = n; i < c->n_net && i < PF_NET_MAX_RULES; i++) {
		pf_strset_free(&c->net_values[i][PF_NET_VALUES_ADDR]);
		pf_strset_free(&c->net_values[i][PF_NET_VALUES_PORT]);
	}
	if (n < c->n_net)
		c->n_net = n;
}

int pf_compile_net_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
			  struct pf_compiled *out, char *err, size_t err_len)
{
	size_t n0 = out->n_net, entries = 0;
	unsigned last = 0;
	bool any = false;
	int ret;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct pf_policy_rule *pr = &p->rules[i];

		if (pr->profile != PF_PROFILE_NET)
			continue;
		if (!any || pr->group != last)
			entries++;
		any = true;
		last = pr->group;
		if (out->n_net >= PF_NET_MAX_RULES) {
			snprintf(err, err_len,
				 "more than %d egress rules (connect-hook selectors) apply to one "
				 "workload",
				 PF_NET_MAX_RULES);
			ret = -E2BIG;
			goto fail;
		}
		ret = net_rule(p, pr, policy_id, (uint8_t)(*group + entries - 1),
			       &out->net[out->n_net], out->net_values[out->n_net]);
		out->n_net++;
		if (ret) {
			snprintf(err, err_len, "out of memory");
			goto fail;
		}
	}
	*group += entries;
	return 0;
fail:
	net_truncate(out, n0);
	return ret;
}

int pf_net_ruleset_init(struct pf_net_ruleset *rs, const struct pf_net_rule *rules, size_t n,
			const struct pf_net_shared *shared, uint32_t generation)
{
	memset(rs, 0, sizeof(*rs));
	if (n > PF_NET_MAX_RULES)
		return -E2BIG;
	rs->generation = generation;
	rs->n_rules = n;
	pf_net_shared_apply(shared, rs);
	if (n)
		memcpy(rs->rules, rules, n * sizeof(*rules));
	/*
	 * An enforcing rule that can deny makes the workload's egress judged:
	 * sockets no egress hook sees (raw, ping, SCTP) would go around it.
	 */
	for (size_t i = 0; i < n; i++)
		if ((rules[i].actions & PF_ACT_DENY) && !(rules[i].flags & PF_RULE_MONITOR))
			rs->flags |= PF_NRS_NO_RAW;
	return 0;
}
