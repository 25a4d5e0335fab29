/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy model: what a policy file says, independent of its syntax.
 * Tetragon TracingPolicy (and later podfence's own kinds) are parsed into this;
 * the compiler turns it into kernel rules per workload.
 */
#ifndef PODFENCE_POLICY_H
#define PODFENCE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include "podfence/abi.h"
#include "podfence/diag.h"
#include "podfence/labels.h"
#include "podfence/strset.h"

enum pf_mode {
	PF_MODE_ENFORCE = 0,
	PF_MODE_MONITOR = 1,
};

/* One condition of a rule: "subject (not) matches one of values". */
struct pf_policy_cond {
	enum pf_subject subject;	/* exec path (matchArgs) or caller binary (matchBinaries) */
	enum pf_match match;		/* exact / prefix / suffix */
	bool negate;			/* NotEqual, NotPrefix, NotPostfix, NotIn */
	struct pf_strset values;
	int line, col;			/* where the operator was written */
};

/* One selector: conditions ANDed, then actions (enum pf_action bits). */
struct pf_policy_rule {
	struct pf_policy_cond conds[PF_MAX_CONDS];
	size_t n_conds;
	unsigned actions;
	int err;			/* Override argError as a positive errno (EPERM when -1) */
	unsigned group;			/* hook entry of the policy: first match wins per group */
	int line, col;
};

struct pf_policy {
	char *name;
	char *namespace;		/* NULL: cluster-wide (TracingPolicy) */
	char *kind;			/* "TracingPolicy", ... */
	char *hook;			/* as written: "security_bprm_creds_for_exec", ... */
	char *file;
	int line, col;			/* position of the document */
	struct pf_selector pods;	/* absent: every pod on the node (as Tetragon) */
	struct pf_strset containers;	/* empty: every container */
	enum pf_mode mode;
	struct pf_policy_rule *rules;	/* selectors, ORed; first match wins within a group */
	size_t n_rules;
};

struct pf_policy_list {
	struct pf_policy *v;
	size_t n, cap;
};

/*
 * Parses every document of a policy file. Errors and warnings go to diags,
 * each with file:line:col. Returns 0 when the file holds no error (out then
 * holds its policies), -EINVAL when it holds errors (out is left empty: a file
 * is accepted or rejected as a whole), another negative errno on I/O failure.
 */
int pf_policy_parse_file(const char *path, struct pf_policy_list *out, struct pf_diags *diags);
int pf_policy_parse_buf(const char *file, const char *buf, size_t len, struct pf_policy_list *out,
			struct pf_diags *diags);

/* Whether the policy applies to a pod (namespace, labels) and a container name. */
bool pf_policy_selects(const struct pf_policy *p, const char *pod_namespace,
		       const struct pf_labels *pod_labels, const char *container);

void pf_policy_free(struct pf_policy *p);
void pf_policy_list_free(struct pf_policy_list *l);
/* Moves the policy (shallow) to the end of the list. */
int pf_policy_list_push(struct pf_policy_list *l, struct pf_policy *p);

#endif /* PODFENCE_POLICY_H */
