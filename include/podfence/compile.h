/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiling a policy into kernel rules. Value sets are resolved through a
 * callback, so the same code serves the agent (sets written to the kernel)
 * and `podfence check` (sets only counted).
 */
#ifndef PODFENCE_COMPILE_H
#define PODFENCE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/policy.h"

struct pf_set_resolver {
	int (*acquire)(void *ctx, enum pf_match match, const struct pf_strset *values,
		       uint32_t *set_id, uint8_t *tiers, char *err, size_t err_len);
	void (*release)(void *ctx, uint32_t set_id);
	void *ctx;
	bool no_caller; /* the exec backend cannot see the calling binary: matchBinaries refused */
};

/*
 * Appends the rules of policy p to out[*n .. cap), numbering its hook entries
 * from *group on (each hook entry is one first-match group). On error nothing
 * is appended and every set acquired for p is released.
 */
int pf_compile_policy(const struct pf_policy *p, uint32_t policy_id, uint8_t *group,
		      const struct pf_set_resolver *sets, struct pf_rule *out, size_t cap,
		      size_t *n, char *err, size_t err_len);

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

/* Releases the sets referenced by rules[0..n). */
void pf_rules_release(const struct pf_rule *rules, size_t n, const struct pf_set_resolver *sets);

#endif /* PODFENCE_COMPILE_H */
