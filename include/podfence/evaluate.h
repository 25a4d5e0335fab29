/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference evaluator: podfence's policy semantics written directly from
 * the model, in user space, with no kernel data structures involved. It is
 * what `podfence check --simulate` prints, and the differential test requires
 * the kernel program to reach the same verdict on every case. It is written
 * independently of the engine and the compiler on purpose: sharing their
 * code would let a composition bug agree with itself.
 *
 * Semantics (docs/policy.md):
 *   - a TracingPolicy applies when its namespace (Namespaced kind), podSelector
 *     and containerSelector select the container;
 *   - a PolicyTemplate applies when at least one of its bindings selects the
 *     container; its parameterised conditions then hold the union of the
 *     values of all those bindings; a binding its template refuses (unknown
 *     parameter, value too long for the operator using it) takes no part;
 *   - within one hook entry of one policy, selectors are tried in order and
 *     the first whose conditions all hold acts; hook entries are independent;
 *   - the exec is blocked if any matching selector of an enforcing policy has
 *     Override or Sigkill; monitor-mode policies only report;
 *   - a cgroup of the pod that no known container claims (a container not
 *     identified yet) gets the policies of every container of the pod: it is
 *     blocked if it would be in any of them;
 *   - fail closed: an executed file whose path cannot be resolved, or that is
 *     outside the container's view (another mount namespace, a chroot, a
 *     detached mount) for a policy without podfence.io/path-view: task, is
 *     denied by every enforcing policy that applies, by its first selector
 *     with Override or Sigkill in each hook entry, whatever the selectors
 *     before it would have done;
 *   - a connect (or an unconnected send, or a raw socket) is judged by the
 *     selectors of connect hooks only, an exec by those of exec hooks only;
 *     an address is in a CIDR when its first prefix-length bits are the
 *     CIDR's (IPv4-mapped IPv6 addresses are IPv4), a port in a range when
 *     between its bounds; tcp_connect selectors hold for TCP only; a raw
 *     socket is refused by every enforcing policy with a denying selector
 *     (docs/policy.md 9.7).
 */
#ifndef PODFENCE_EVALUATE_H
#define PODFENCE_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/labels.h"
#include "podfence/policy.h"

/* A connect or unconnected send (docs/policy.md 9.7): the destination as the kernel judges it. */
struct pf_eval_connect {
	uint8_t family;	  /* PF_NET_INET (IPv4-mapped included) or PF_NET_INET6 */
	uint8_t protocol; /* PF_NET_TCP, PF_NET_UDP; 0: another protocol */
	bool raw;	  /* socket(2) of a raw, ping or SCTP socket (no destination) */
	uint8_t addr[16]; /* network order; IPv4 in addr[0..4) */
	uint16_t port;
};

struct pf_eval_query {
	const char *pod_namespace;
	const struct pf_labels *pod_labels;
	const struct pf_workload *pod_workload; /* NULL: none known (no targetRef selects it) */
	const char *container; /* NULL: a cgroup of the pod outside any known container */
	const char *path;      /* executed file, absolute, as the kernel resolves it */
	const char *caller;    /* binary of the calling process; NULL: unknown (no match) */
	/* the pod's containers: what a cgroup of no known container may be (container NULL) */
	const char *const *pod_containers;
	size_t n_pod_containers;
	bool path_unresolved; /* the kernel could not resolve the executed file's path */
	bool foreign_view;    /* ... or resolved it outside the container's view */
	const struct pf_eval_connect
	    *connect; /* non-NULL: a connection, not an exec (path unused) */
};

/*
 * "tcp://10.0.0.1:443", "udp://[fd00::1]:53", "tcp://[::ffff:10.0.0.1]:80" or
 * "raw://" into a query's connection (an IPv4-mapped address becomes IPv4).
 * Returns 0 or -EINVAL.
 */
int pf_eval_connect_parse(const char *s, struct pf_eval_connect *out);

/* One policy (or template instance) that applies to the queried container. */
struct pf_eval_policy {
	const struct pf_policy *policy;	   /* TracingPolicy or PolicyTemplate */
	const struct pf_policy **bindings; /* template: bindings selecting the container, by key */
	size_t n_bindings;
	long *matched; /* per hook entry (group): index in policy->rules, -1: none */
	size_t n_groups;
	bool blocks;	  /* enforcing and a matched selector denies */
	bool would_block; /* monitor mode and a matched selector denies */
	bool kills;	  /* a blocking selector has Sigkill */
	bool reports;	  /* an event is posted (Post, or monitor would-block) */
	int err;	  /* errno of the first blocking selector */
};

struct pf_eval_result {
	bool blocked;
	bool killed;
	int err;		  /* errno on LSM/fmod_ret backends (0: allowed) */
	struct pf_eval_policy *v; /* applying policies: tracing policies, then templates, by key */
	size_t n;
	/*
	 * The container is known to need a template but every binding of it
	 * that selects the container is refused: failed closed, every exec is
	 * denied (EPERM), whatever the policies say (engine_reconcile.c).
	 */
	bool fail_closed;
	char fail_why[384];
	/* Bindings that select the container but take no part: template missing, or refused. */
	struct pf_eval_binding {
		const struct pf_policy *binding;
		char why[256];
	} * ignored;
	size_t n_ignored;
};

/*
 * Evaluates one exec against every object of pols (tracing policies,
 * templates and bindings; keys unique: the caller resolved duplicates).
 * Returns 0, or -ENOMEM.
 */
int pf_evaluate(const struct pf_policy *const *pols, size_t n, const struct pf_eval_query *q,
		struct pf_eval_result *out);
void pf_eval_result_free(struct pf_eval_result *r);

#endif /* PODFENCE_EVALUATE_H */
