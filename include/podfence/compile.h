/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiling policies into the rules of one workload. The result is complete
 * and independent of the kernel: rules, each condition's values by content,
 * tiers and flags; the engine writes it (value sets are content-addressed:
 * equal values share one set) and `podfence check` only counts it.
 */
#ifndef PODFENCE_COMPILE_H
#define PODFENCE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/netaddr.h"
#include "podfence/policy.h"

/*
 * One workload's rules. rules[i].conds[k].set_id is 0 until written; the
 * values of that condition are values[i][k] (owned).
 */
struct pf_compiled {
	struct pf_rule rules[PF_MAX_RULES];
	struct pf_strset values[PF_MAX_RULES][PF_MAX_CONDS];
	size_t n;
	/*
	 * Egress rules (connect hooks): net[i].addr_set and port_set are 0
	 * when the rule has no such condition, PF_NET_SET_WANTED until the
	 * set is written; their values are net_values[i][PF_NET_VALUES_ADDR]
	 * and [PF_NET_VALUES_PORT] (possibly none: a set nothing is in).
	 */
	struct pf_net_rule net[PF_NET_MAX_RULES];
	struct pf_strset net_values[PF_NET_MAX_RULES][2];
	size_t n_net;
};

enum { PF_NET_VALUES_ADDR = 0, PF_NET_VALUES_PORT = 1 };
#define PF_NET_SET_WANTED UINT32_MAX

void pf_compiled_free(struct pf_compiled *c);
/* The exact tiers (enum pf_tier bits) a set of these values occupies (pf_exact_tier()). */
uint8_t pf_values_tiers(enum pf_match match, const struct pf_strset *values);

/*
 * Appends the rules of policy p, numbering its hook entries from *group on
 * (each hook entry is one first-match group). sees_caller: the node's exec
 * backend sees the calling binary (else matchBinaries is refused: it would
 * go unenforced). On error nothing is appended.
 */
int pf_compile_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
		      bool sees_caller, struct pf_compiled *out, char *err, size_t err_len);
/*
 * Appends the rules of src whose policies out does not hold yet (a policy
 * compiles to the same rules for every container it applies to), each hook
 * entry a group of its own: the union for a container not identified yet.
 */
int pf_compiled_merge(struct pf_compiled *out, const struct pf_compiled *src, char *err,
		      size_t err_len);
/* One rule denying every exec (policy id 0: the engine's own, "podfence:fail-closed"). */
void pf_compiled_deny_all(struct pf_compiled *c);
/*
 * Several allowlists on one workload (one per policy that selects it) cost
 * one value lookup each per exec. A file in all of them, the usual exec,
 * makes each of those rules false: so one lookup in their intersection, a
 * rule of its own in front (PF_RULE_SKIP_IF_IN), lets the program skip them
 * all. Any other file evaluates every rule as before. Only for workloads
 * already in the large class, and never at the cost of a rule slot a policy
 * needs; on error (memory) the rules stay as they were.
 */
int pf_compiled_add_skip(struct pf_compiled *c);
bool pf_compiled_equal(const struct pf_compiled *a, const struct pf_compiled *b);

/*
 * Compiles p without writing anything (sets only counted): what `check` and
 * the agent run on every policy before accepting its file. Returns 0 or a
 * negative errno with a message; *n_values receives the number of values.
 */
int pf_policy_validate(const struct pf_policy *p, size_t *n_values, char *err, size_t err_len);

/*
 * Kernel memory one value takes, as the allocator rounds it: an exact value
 * is a hash element whose key is the tier its length selects (48/256/1024
 * bytes), a Prefix/Postfix value an LPM trie node (plus at most one
 * intermediate node). Used by `check --explain` and the status counts.
 */
enum pf_kentry {
	PF_KENTRY_EXACT,
	PF_KENTRY_AFFIX,
};
size_t pf_kernel_entry_bytes(enum pf_kentry kind, size_t len);

/*
 * The ruleset the kernel reads for rules[0..n): its flags (PF_RS_CALLER)
 * derived from the rules. -E2BIG beyond PF_MAX_RULES.
 */
int pf_ruleset_init(struct pf_ruleset *rs, const struct pf_rule *rules, size_t n,
		    uint32_t generation);

/*
 * Appends the egress rules of policy p (its connect-hook selectors), each
 * hook entry a group of its own numbered from *group on. On error nothing is
 * appended; more than PF_NET_MAX_RULES on one workload is -E2BIG, said.
 */
int pf_compile_net_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
			  struct pf_compiled *out, char *err, size_t err_len);
/*
 * The egress ruleset the kernel reads for rules[0..n), with what they share
 * (their sets' prefix lengths, their inline port ranges): raw sockets are
 * refused (PF_NRS_NO_RAW) when an enforcing rule can deny. -E2BIG beyond
 * PF_NET_MAX_RULES.
 */
int pf_net_ruleset_init(struct pf_net_ruleset *rs, const struct pf_net_rule *rules, size_t n,
			const struct pf_net_shared *shared, uint32_t generation);

#endif /* PODFENCE_COMPILE_H */
