/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The adversarial tier: what a process inside a bound pod would try to run a
 * binary its policy forbids, against the real BPF object in the real kernel,
 * through the engine as the agent drives it.
 *
 * A node: a cgroup root with kubelet-layout pods (cgroupfs, containerd ids),
 * an engine on the kernel store, and a temp dir holding the allowed binary
 * (bin/allowed, a copy of pf_true) and the forbidden one (bin/forbidden, a
 * copy of pf_marker: it creates `marker` if it ever runs). Every attack runs
 * in a child that joins a cgroup of the pod and drops to the capabilities a
 * container runtime gives by default (CAP_SYS_CHROOT included, no
 * CAP_SYS_ADMIN), then tries its trick and execs. Each attempt prints what
 * it tried and the verdict; a forbidden binary that runs fails the test.
 */
#ifndef PF_ADV_H
#define PF_ADV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "pf_kfixture.h"
#include "podfence/engine.h"
#include "podfence/kstore.h"

struct adv_node {
	struct pf_kstore *ks;
	struct pf_engine *e;
	bool own_store;		       /* opened by adv_node_setup (pinned or sized) */
	char pin_dir[128];	       /* "" unless pinned */
	char dir[PATH_MAX];	       /* temp dir as created */
	char root[PATH_MAX];	       /* its real path: what the kernel resolves */
	char allowed[PATH_MAX + 32];   /* <root>/bin/allowed (pf_true) */
	char forbidden[PATH_MAX + 32]; /* <root>/bin/forbidden (pf_marker) */
	char marker[PATH_MAX + 32];    /* created by a forbidden binary that runs */
	char jail[PATH_MAX + 32];      /* <root>/jail<root>/bin/allowed is a pf_marker copy */
	struct pf_sandbox_cg cg;       /* the node's cgroup2 root */
	struct {
		char name[64];
		bool pods;
	} file[32]; /* files handed to the engine (removed at teardown) */
	unsigned files;
};

/* Node options: a store of its own when pinned (restarts) or with a small cgroup map. */
struct adv_opts {
	bool pinned;
	uint32_t cg_map_size; /* 0: the shared store with default sizes */
};

bool adv_node_setup(struct adv_node *n, const char *name, const struct adv_opts *o);
void adv_node_teardown(struct adv_node *n);
/* Simulates an agent restart: engine and store closed, pinned state taken over. */
bool adv_node_restart(struct adv_node *n, const char *pod_yaml, const char *policy_yaml);

/* Hands a file's text to the engine (as the agent does on a change), then syncs. */
bool adv_policy(struct adv_node *n, const char *file, const char *yaml);
bool adv_pods(struct adv_node *n, const char *file, const char *yaml);
void adv_sync(struct adv_node *n);

/*
 * YAML of a pod with containers named in `containers` (comma-separated),
 * uid and ids derived from the name, labels "app=<app>" plus `extra_label`
 * (may be NULL); creates its cgroups when `mkdirs`.
 */
char *adv_pod_yaml(struct adv_node *n, const char *name, const char *app, const char *containers,
		   const char *extra_label, bool mkdirs);
/* Paths of a pod's cgroup and of a container's. */
void adv_pod_cgroup(const struct adv_node *n, const char *pod, char *buf, size_t len);
void adv_container_cgroup(const struct adv_node *n, const char *pod, const char *container,
			  char *buf, size_t len);
/* A Tetragon allowlist for pods labelled app=<app> (containers: NULL for all). */
char *adv_allowlist_yaml(const struct adv_node *n, const char *name, const char *app,
			 const char *container, bool any_view);

enum adv_attack {
	ADV_PLAIN,	  /* exec target */
	ADV_CHROOT,	  /* chroot(jail), exec target inside */
	ADV_CHROOT_FD,	  /* open target, chroot(jail), fexecve */
	ADV_USERNS,	  /* own user+mount namespace, exec target unchanged */
	ADV_USERNS_BIND,  /* ... bind the forbidden binary over target, exec target */
	ADV_USERNS_TMPFS, /* ... tmpfs over target's dir holding a forbidden copy */
	ADV_USERNS_PIVOT, /* ... pivot_root into the jail, exec target */
	ADV_USERNS_MEMFD, /* ... a memfd copy of target, fexecve */
	ADV_DETACHED,	  /* accomplice's detached mount (open_tree) of the jail, execveat */
	ADV_PROC_ROOT,	  /* exec /proc/<accomplice>/root<target>, its tmpfs over target */
	ADV_FD_PASS,	  /* accomplice's fd of its tmpfs copy, passed over a socket */
	ADV_DEEP,	  /* target copied 300 directories down, exec ./x */
	ADV_LONG,	  /* target copied 5,000 bytes down, exec ./x */
	ADV__MAX,
};

struct adv_result {
	bool setup_failed; /* the trick could not be set up: nothing was tried */
	char why[160];
	bool ran; /* the forbidden binary ran (marker created) */
	bool exited;
	int exit_code;
	int signal;
	int exec_errno;
};

const char *adv_attack_name(enum adv_attack a);
/* Runs one attack in a child placed in `cgroup` (a directory); waits for it. */
int adv_attack(struct adv_node *n, const char *cgroup, enum adv_attack a, const char *target,
	       struct adv_result *r);

/*
 * Prints the attempt and its verdict; fails the test when a forbidden binary
 * ran, or when it was not stopped the way the backend stops an exec (EPERM
 * in the caller on LSM/fmod_ret, SIGKILL on the tracepoints). Returns whether
 * the attempt was stopped (false on setup failure, after failing the test).
 */
bool adv_expect_blocked(struct adv_node *n, const char *what, const char *cgroup, enum adv_attack a,
			const char *target);
/* The attempt must run (an allowed binary, or an opted-out view). */
bool adv_expect_runs(struct adv_node *n, const char *what, const char *cgroup, enum adv_attack a,
		     const char *target);

/* A directory chain of `depth` components named `comp` under dir; returns an fd of the last. */
int adv_deep_dir(const char *dir, int depth, const char *comp);

#endif /* PF_ADV_H */
