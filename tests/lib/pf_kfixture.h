/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel-tier fixtures shared by tests/bpf/: the BPF object loaded (or the
 * test skipped with the reason), and a workload to enforce on: a temp dir
 * with an allowed (pf_true) and a forbidden (pf_marker) binary, a cgroup of
 * its own, and the ids written for it.
 */
#ifndef PF_KFIXTURE_H
#define PF_KFIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "pf_sandbox.h"
#include "podfence/kstore.h"

/* nsfs inode of the tests' mount namespace: the node's, as the agent passes it. */
uint32_t pf_kfix_node_mntns(void);
/*
 * Loads and attaches a store into *slot on first use (backend from
 * PF_TEST_BACKEND, libbpf's log with PF_TEST_VERBOSE); PF_SKIP()s when the
 * kernel tier cannot run, saying why. With PF_TEST_EXPECT_BACKEND set (the
 * kernel matrix), automatic selection must have picked that backend.
 */
struct pf_kstore *pf_kfix_store(struct pf_kstore **slot);

struct pf_kfix {
	struct pf_kstore *ks;
	char dir[PATH_MAX];
	char allowed[PATH_MAX + 16];   /* <dir>/bin/allowed */
	char forbidden[PATH_MAX + 16]; /* <dir>/bin/forbidden: creates `marker` if it ever runs */
	char marker[PATH_MAX + 16];
	struct pf_sandbox_cg cg;
	uint32_t wl_id;
	uint32_t policy_id; /* with its counters entry */
};

/* Writes rules[0..n) as workload wl_id's ruleset (flags derived as the engine does). */
int pf_kfix_ruleset_write(struct pf_kstore *ks, uint32_t wl_id, const struct pf_rule *rules,
			  size_t n, uint32_t generation, char *msg, size_t msg_len);

/* Moves the caller into a network namespace of its own, loopback up: 0 or -errno. */
int pf_kfix_netns_lo(void);
bool pf_kfix_setup(struct pf_kfix *f, struct pf_kstore *ks, const char *name);
void pf_kfix_teardown(struct pf_kfix *f);

/* Whether podfence stopped the exec, whichever backend (EPERM or SIGKILL). */
bool pf_exec_blocked(const struct pf_exec_result *r);
/* Whether the exec was stopped the way ks's backend stops one, and only that way. */
bool pf_exec_blocked_by_backend(const struct pf_kstore *ks, const struct pf_exec_result *r);

#endif /* PF_KFIXTURE_H */
