/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy model: what a policy file says, independent of its syntax.
 * Three kinds of objects are parsed into struct pf_policy:
 *
 *   TracingPolicy[Namespaced]  rules + pod selection (Tetragon, as written)
 *   PolicyTemplate             rules whose values are left open (parameters)
 *   PolicyBinding              pod selection + values for a template's parameters
 *
 * Composition (docs/policy.md): every policy and every template instance that
 * applies to a container is evaluated on its own, and an exec (a connect) is
 * blocked if any enforcing one blocks it. The bindings of one template that
 * apply to one container make ONE instance, whose parameters hold the union
 * of their values: arrival order never matters.
 *
 * A rule belongs to one profile, the kind of event its hook sees: an exec
 * (exec hooks) or a connection's destination (connect hooks, "egress"). One
 * policy may hold rules of both; each compiler takes the rules of its own.
 */
#ifndef PODFENCE_POLICY_H
#define PODFENCE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/diag.h"
#include "podfence/labels.h"
#include "podfence/pod.h"
#include "podfence/strset.h"

enum pf_policy_type {
	PF_POLICY_TRACING = 0, /* TracingPolicy, TracingPolicyNamespaced */
	PF_POLICY_TEMPLATE,    /* podfence.io PolicyTemplate: selects nothing by itself */
	PF_POLICY_BINDING,     /* podfence.io PolicyBinding: selects pods, has no rules */
};

enum pf_mode {
	PF_MODE_ENFORCE = 0,
	PF_MODE_MONITOR = 1,
};

/* One condition of a rule: "subject (not) matches one of values". */
struct pf_policy_cond {
	enum pf_subject subject; /* exec path (matchArgs) or caller binary (matchBinaries);
				  * egress: destination address or port */
	enum pf_match match;	 /* exact / prefix / suffix; egress: CIDR / port */
	bool negate;		 /* NotEqual, NotPrefix, NotPostfix, NotIn; NotDAddr, NotDPort */
	/*
	 * Egress: written SAddr/SPort, on a sockaddr argument, whose address is
	 * the destination (Tetragon's names); else DAddr/DPort. Only the name
	 * shown to the user depends on it.
	 */
	bool sockaddr_op;
	struct pf_strset values; /* egress: canonical spellings (pf_net_value_canon()) */
	char *param;		 /* template: values also come from this parameter */
	int line, col;		 /* where the operator was written */
};

enum pf_profile {
	PF_PROFILE_EXEC = 0, /* exec hooks: conds[] */
	PF_PROFILE_NET = 1,  /* connect hooks: net */
};

/*
 * What one selector of a connect hook matches, ANDed: the destination's
 * address and port, the connection's protocol and address family. An absent
 * part matches everything. "Both" has one spelling, 0, so that equal
 * selectors are equal models.
 */
struct pf_net_match {
	struct pf_policy_cond addr; /* PF_SUBJ_DADDR, PF_MATCH_CIDR: "10.0.0.0/8", "::1/128" */
	bool has_addr;
	struct pf_policy_cond port; /* PF_SUBJ_DPORT, PF_MATCH_PORT: "53", "8000-8080" */
	bool has_port;
	uint8_t families;	     /* enum pf_net_family bits; 0: both (never both bits) */
	uint8_t protocols;	     /* enum pf_net_proto bits; 0: both (tcp_connect: PF_NET_TCP) */
	int family_line, family_col; /* the first Family operator (0: none written) */
	int protocol_line, protocol_col; /* the first Protocol operator (0: none written) */
};

/* One selector: conditions ANDed, then actions (enum pf_action bits). */
struct pf_policy_rule {
	enum pf_profile profile;
	struct pf_policy_cond conds[PF_MAX_CONDS]; /* exec; n_conds is 0 in an egress rule */
	size_t n_conds;
	struct pf_net_match net; /* egress */
	unsigned actions;
	int err;	/* Override argError as a positive errno (EPERM when -1) */
	unsigned group; /* hook entry of the policy: first match wins per group */
	int line, col;
};

/* Where a binding writes one value: its index in the file's list, line:col. */
struct pf_value_pos {
	size_t index;
	int line, col;
};

/* A binding's values for one template parameter. */
struct pf_binding_values {
	char *param;
	struct pf_strset values;
	int line, col;
	struct pf_value_pos *pos; /* per values.v[i]; NULL: unknown (line, col above) */
};

struct pf_policy {
	enum pf_policy_type type;
	char *name;
	char *namespace; /* NULL: cluster-wide (TracingPolicy) */
	char *kind;	 /* "TracingPolicy", ... */
	char *hook;	 /* as written: "security_bprm_creds_for_exec", ... */
	char *file;
	int line, col;		     /* position of the document */
	struct pf_selector pods;     /* absent: every pod on the node (as Tetragon) */
	struct pf_strset containers; /* empty: every container */
	enum pf_mode mode;
	/*
	 * Annotation podfence.io/path-view: task. Paths are matched as the
	 * calling task sees them even outside its container's view (another
	 * mount namespace, a chroot, a detached mount), for workloads that nest
	 * containers; by default such an exec is denied (docs/security.md).
	 */
	bool any_view;
	struct pf_policy_rule *rules; /* selectors, ORed; first match wins within a group */
	size_t n_rules;
	struct pf_strset params; /* template: declared parameters */
	char *template_ref;	 /* binding: the template it instantiates */
	/*
	 * Binding: spec.targetRef, the workload (in the binding's namespace)
	 * whose pods it selects, instead of a podSelector: a Deployment's pods
	 * across rollouts, with no label conventions (pod.h, pf_workload).
	 */
	struct pf_workload target;
	struct pf_binding_values *values; /* binding: values per parameter */
	size_t n_values;
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

/*
 * The identity of a policy object: "<kind>/<namespace>/<name>". One key is in
 * force at a time; the same key in several files resolves to the file whose
 * path sorts first.
 */
char *pf_policy_key(const struct pf_policy *p);
/* Key of the template a binding refers to. */
char *pf_template_key(const char *name);

/*
 * The policy enforced by the bindings[0..n) of template tpl on one container:
 * tpl's rules, each parameterised condition holding its fixed values plus the
 * union of the bindings' values for its parameter (egress values in their
 * canonical spelling). The bindings must have been accepted by
 * pf_binding_accept(); fails only without memory (-ENOMEM), or with -EINVAL
 * for an egress value pf_binding_check() would refuse (never widened by
 * skipping it). out->name is "<template>", out->kind is "PolicyTemplate".
 */
int pf_template_instantiate(const struct pf_policy *tpl, const struct pf_policy *const *bindings,
			    size_t n, struct pf_policy *out, char *err, size_t err_len);
/*
 * Whether a PolicyBinding takes part: the one decision the engine, status,
 * the evaluator and `check` share. tpl is the template the binding names,
 * NULL when no such template is in force (yet). Anything but ACTIVE fills
 * why: what, and for a rejected binding where in its file (line, col).
 */
enum pf_binding_state {
	PF_BINDING_ACTIVE,
	PF_BINDING_WAITING,  /* its template is not there (yet): it waits, enforcing nothing */
	PF_BINDING_REJECTED, /* its template refuses it: it takes no part, reported */
};
struct pf_binding_why {
	char msg[512];
	int line, col; /* of the refused value (REJECTED) */
};
enum pf_binding_state pf_binding_accept(const struct pf_policy *tpl, const struct pf_policy *b,
					struct pf_binding_why *why);
/* "active", "waiting-for-template", "rejected" (status). */
const char *pf_binding_state_name(enum pf_binding_state s);

/*
 * Checks a binding against its template alone (what instantiate would
 * refuse); on error, err says what and line/col where in the binding's file.
 * The part of pf_binding_accept() that reads the values.
 */
int pf_binding_check(const struct pf_policy *tpl, const struct pf_policy *binding, char *err,
		     size_t err_len, int *line, int *col);

/*
 * Whether a value can equal what the kernel reports for its kind of match
 * (docs/policy.md 2.4): exact values are resolved absolute paths, Prefix
 * values start with "/", and no value has an empty ("//"), "." or ".."
 * component, except in a memfd name ("/memfd:..."). CIDR and port values:
 * see pf_net_value_canon() below. Returns 0, or -EINVAL with the problem and,
 * where a lexical fix is safe, the canonical spelling.
 */
int pf_value_check(enum pf_match match, const char *value, char *err, size_t err_len);

/*
 * Egress values (PF_MATCH_CIDR, PF_MATCH_PORT), checked by pf_value_check()
 * too. A CIDR is "10.0.0.0/8", "fd00::/8", or an address alone ("127.0.0.1"
 * is /32, "::1" /128); an IPv4-mapped IPv6 one ("::ffff:10.0.0.0/104") is the
 * IPv4 one, as the kernel judges such a destination. Host bits set beyond the
 * prefix ("10.1.2.3/8") are an error naming the network ("10.0.0.0/8"): the
 * value says two things. A port is "443" or a range, "8000-8080" or (as
 * Tetragon writes it) "8000:8080", within 0..65535.
 *
 * The canonical spelling of a valid value: inet_ntop()'s output and "/len"
 * always; "80" or "8000-8080". Values are stored canonical, so the same
 * destinations written differently make the same set. Returns 0, -EINVAL with
 * the problem in err, -ENOSPC when out_len is too short (PF_NET_VALUE_MAX is
 * enough).
 */
#define PF_NET_VALUE_MAX 64
int pf_net_value_canon(enum pf_match match, const char *in, char *out, size_t out_len, char *err,
		       size_t err_len);
/*
 * The parsers of the compiler and the evaluator: a CIDR as family
 * (PF_NET_INET or PF_NET_INET6), address in network byte order (IPv4 in
 * addr[0..4), the rest zero) and prefix length; a port range (lo == hi for one
 * port). They take any spelling pf_value_check() accepts; 0 or -EINVAL.
 * Weak in policy.c: src/lib/netaddr.c's definitions, if linked, win.
 */
int pf_cidr_parse(const char *canon, uint8_t *family, uint8_t addr[16], unsigned *prefix_len);
int pf_port_range_parse(const char *canon, uint16_t *lo, uint16_t *hi);

/* A binding's values for one parameter (NULL: it gives none). */
const struct pf_strset *pf_binding_values(const struct pf_policy *binding, const char *param);
/* The template called name among v[0..n) (keys already unique), or NULL. */
const struct pf_policy *pf_policies_find_template(const struct pf_policy *const *v, size_t n,
						  const char *name);

/* The operator as written in the policy ("NotEqual", "In", "Postfix", "NotDAddr", ...). */
const char *pf_policy_cond_op(const struct pf_policy_cond *c);

/* Whether the policy applies to a pod (namespace, labels, workload) and a container name. */
bool pf_policy_selects(const struct pf_policy *p, const char *pod_namespace,
		       const struct pf_labels *pod_labels, const struct pf_workload *pod_workload,
		       const char *container);
/* Whether a pod's workload is the one a binding's targetRef names (no targetRef: true). */
bool pf_policy_targets(const struct pf_policy *p, const struct pf_workload *pod_workload);
/* The workload kinds a targetRef may name. */
extern const char *const pf_workload_kinds[];

void pf_policy_free(struct pf_policy *p);
void pf_policy_list_free(struct pf_policy_list *l);
int pf_policy_list_reserve(struct pf_policy_list *l, size_t extra);
/* Moves the policy (shallow) to the end of the list. */
int pf_policy_list_push(struct pf_policy_list *l, struct pf_policy *p);

#endif /* PODFENCE_POLICY_H */
