/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel store: podfence's BPF object and its maps. Loads the object
 * (probing the exec backend), pins state and links so enforcement outlives
 * the agent, takes pinned state over on restart, and offers typed writes of
 * rulesets, value sets and cgroup bindings that report capacity limits with
 * numbers.
 */
#ifndef PODFENCE_KSTORE_H
#define PODFENCE_KSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/store.h"
#include "podfence/strset.h"

#define PF_PIN_DIR_DEFAULT "/sys/fs/bpf/podfence"

struct pf_kstore_opts {
	const char *pin_dir;	 /* NULL: nothing pinned (tests); else reuse + pin there */
	enum pf_backend backend; /* PF_BACKEND_NONE: probe LSM, fmod_ret, tracepoint */
	uint32_t max_entries[PF_KMAP__MAX]; /* 0: default */
	bool attach;			    /* attach programs (false: load only, for tests) */
	/*
	 * nsfs inode of the node's mount namespace, where the container runtime
	 * runs: its own re-exec in a container's cgroup before the container's
	 * first exec is let through (decide.bpf.h). 0: nothing is.
	 */
	uint32_t node_mntns_inum;
	/* Where the cgroup2 hierarchy is mounted: the egress hooks attach at its root
	 * (NULL: found in /proc/self/mountinfo). */
	const char *cgroup_root;
};

struct pf_kstore;

/*
 * Opens, loads and attaches. When pin_dir holds a previous agent's state, its
 * maps are reused and its links replaced only after the new programs are
 * attached, so enforcement never stops. *took_over says whether that happened.
 */
int pf_kstore_open(struct pf_kstore **out, const struct pf_kstore_opts *opts, bool *took_over);
/* The store the engine writes through (valid until pf_kstore_close()). */
struct pf_store *pf_kstore_store(struct pf_kstore *ks);
/* Closes the store; pinned programs keep enforcing. */
void pf_kstore_close(struct pf_kstore *ks);
/* Detaches and unpins everything under pin_dir (podfence stops enforcing). */
int pf_kstore_unpin(const char *pin_dir);

enum pf_backend pf_kstore_backend(const struct pf_kstore *ks);
/* Whether the exec backend sees the calling binary (matchBinaries). */
bool pf_kstore_sees_caller(const struct pf_kstore *ks);
/*
 * Mounts what a bare host may lack: securityfs (the active LSM list; a
 * failure is logged), and bpffs when pin_dir is under /sys/fs/bpf, which
 * only the node's own mount namespace may do (may_mount_bpffs): a bpffs
 * mounted in a container of the agent's own dies with it. Returns -ENOENT
 * (said) when the pins have no bpffs, -errno when mounting it failed.
 */
int pf_kstore_mount_prerequisites(const char *pin_dir, bool may_mount_bpffs);
/*
 * Whether "bpf" is in the active LSM list (/sys/kernel/security/lsm). An LSM
 * program loads and attaches without it, but never runs.
 */
bool pf_bpf_lsm_active(void);
/*
 * Which build of the programs this kernel gets (probed: the ring buffer,
 * bpf_loop, bpf_set_retval; PODFENCE_PROGRAMS=compat|default forces one).
 * 0 with *compat set when the compat build (bpf/compat.bpf.h) is needed, and
 * msg saying why; -EOPNOTSUPP with msg naming the missing feature and the
 * kernel release when neither build can run; pf_kstore_open refuses such a
 * kernel with that message.
 */
int pf_kstore_kernel_check(bool *compat, char *msg, size_t msg_len);
/* Whether the store loaded the compat build of the programs. */
bool pf_kstore_compat(const struct pf_kstore *ks);
/* A numeric field of /proc/self/fdinfo/<fd> ("memlock" of a map or program); 0 if absent. */
uint64_t pf_fdinfo_u64(int fd, const char *field);
const char *pf_backend_name(enum pf_backend b);
int pf_backend_parse(const char *s, enum pf_backend *out);
int pf_kmap_parse(const char *name, enum pf_kmap *out);
uint32_t pf_kstore_capacity(const struct pf_kstore *ks, enum pf_kmap m);
/* Number of programs of this store attached to hooks (1 exec + cgroup tracker). */
int pf_kstore_attached_programs(const struct pf_kstore *ks);
/* The fd of a loaded program by name (e.g. "net_connect4"; benchmarks), or -ENOENT. */
int pf_kstore_prog_fd(struct pf_kstore *ks, const char *name);

/* Ids that are never reused, reserved in the pinned meta map in blocks. */
int pf_kstore_alloc_set_id(struct pf_kstore *ks, uint32_t *id);
int pf_kstore_alloc_wl_id(struct pf_kstore *ks, bool large, uint32_t *id);
int pf_kstore_alloc_policy_id(struct pf_kstore *ks, uint32_t *id);

/*
 * Writes every value of a set. `tiers` receives the exact tiers used
 * (enum pf_tier bits). On failure the entries written so far are removed.
 * Capacity: -E2BIG with a message "map exact_s full (131072 entries)" in err_msg.
 */
int pf_kstore_set_write(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			const struct pf_strset *values, uint8_t *tiers, char *err_msg,
			size_t err_len);
void pf_kstore_set_delete(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			  const struct pf_strset *values);

/* Replaces the workload's ruleset in one map update (atomic for execs). */
int pf_kstore_ruleset_write(struct pf_kstore *ks, uint32_t wl_id, const struct pf_ruleset *rs,
			    char *err_msg, size_t err_len);
void pf_kstore_ruleset_delete(struct pf_kstore *ks, uint32_t wl_id);
/* Egress: replaces the workload's egress rules in one map update (atomic for connects). */
int pf_kstore_net_ruleset_write(struct pf_kstore *ks, uint32_t wl_id,
				const struct pf_net_ruleset *rs, char *err_msg, size_t err_len);
void pf_kstore_net_ruleset_delete(struct pf_kstore *ks, uint32_t wl_id);
int pf_kstore_net_ruleset_read(struct pf_kstore *ks, uint32_t wl_id, struct pf_net_ruleset *out);

/*
 * Binds a cgroup to a workload. A cgroup already bound (by an earlier call,
 * by the kernel at its creation, by a previous agent) is moved in place and
 * keeps the mount namespace its view is anchored to; a new binding takes
 * mntns_hint (nsfs inode of the mount namespace its processes live in, 0 when
 * it has none: the first exec anchors it). -E2BIG with "map cg_workload full
 * (N entries)" in err_msg at capacity.
 */
int pf_kstore_cgroup_bind(struct pf_kstore *ks, uint64_t cgroup_id, uint32_t wl_id, uint32_t flags,
			  uint32_t mntns_hint, char *err_msg, size_t err_len);
void pf_kstore_cgroup_unbind(struct pf_kstore *ks, uint64_t cgroup_id);
/* -ENOENT when the cgroup is not bound. */
int pf_kstore_cgroup_lookup(struct pf_kstore *ks, uint64_t cgroup_id, struct pf_cg_binding *out);

/* Reading back what is stored (tests, debugging): a workload's ruleset, a set's values. */
int pf_kstore_ruleset_read(struct pf_kstore *ks, uint32_t wl_id, struct pf_ruleset *out);
int pf_kstore_set_values(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			 struct pf_strset *out);

/*
 * Registers a cgroup directory name (e.g. "pod<uid>") that the kernel binds
 * to wl_id (with enum pf_cg_flags) when a cgroup of that name is created
 * under no bound cgroup or under one not anchored yet (a pod's).
 */
int pf_kstore_cgroup_expect(struct pf_kstore *ks, const char *name, uint32_t wl_id, uint32_t flags,
			    char *err_msg, size_t err_len);
void pf_kstore_cgroup_unexpect(struct pf_kstore *ks, const char *name);

/*
 * Bindings that could not be written: the kernel counts its own in *events;
 * execs in unbound cgroups look for a bound ancestor while *events != *acked.
 * User space acknowledges the count it has repaired, or writes UINT64_MAX
 * while bindings of its own are missing.
 */
int pf_kstore_cg_overflow(struct pf_kstore *ks, uint64_t *events, uint64_t *acked);
int pf_kstore_cg_overflow_ack(struct pf_kstore *ks, uint64_t acked);

int pf_kstore_counters_create(struct pf_kstore *ks, uint32_t policy_id);
void pf_kstore_counters_delete(struct pf_kstore *ks, uint32_t policy_id);
int pf_kstore_counters_read(struct pf_kstore *ks, uint32_t policy_id,
			    struct pf_policy_counters *out);

/* Global counters summed over CPUs. */
int pf_kstore_stats(struct pf_kstore *ks, uint64_t out[PF_STAT__MAX]);
const char *pf_stat_name(enum pf_stat s);

/* Waits until no BPF program can still be reading data removed before the call. */
int pf_kstore_barrier(struct pf_kstore *ks);

/* Entries and memlock bytes of one map, from the kernel (fdinfo). */
struct pf_kmap_usage {
	const char *name;
	uint32_t max_entries;
	uint64_t entries;
	uint64_t memlock;
};
/* Every map of the object; returns the count written (at most n). */
int pf_kstore_usage(struct pf_kstore *ks, struct pf_kmap_usage *out, int n);

/*
 * Walks a state map's keys (for takeover garbage collection): fn returns
 * true to delete the entry.
 */
int pf_kstore_gc_cgroups(struct pf_kstore *ks, bool (*drop)(uint64_t cgid, uint32_t wl, void *ctx),
			 void *ctx);
int pf_kstore_gc_workloads(struct pf_kstore *ks, bool (*drop)(uint32_t wl, void *ctx), void *ctx);
/* cg_expect: the names a previous agent registered that nothing expects any more. */
int pf_kstore_gc_expected(struct pf_kstore *ks, bool (*drop)(const char *name, void *ctx),
			  void *ctx);
int pf_kstore_gc_sets(struct pf_kstore *ks, bool (*drop)(uint32_t set_id, void *ctx), void *ctx);
int pf_kstore_gc_counters(struct pf_kstore *ks, bool (*drop)(uint32_t policy_id, void *ctx),
			  void *ctx);

/* Event ring buffer: fn is called for every event; returns the epoll-able fd. */
/* Learning's records in the kernel (learn.bpf.h): one, or each (drop() true deletes it). */
int pf_kstore_learned_read(struct pf_kstore *ks, const struct pf_learn_key *k,
			   struct pf_learn_seen *out);
typedef bool (*pf_learned_fn)(const struct pf_learn_key *k, const struct pf_learn_seen *seen,
			      void *ctx);
int pf_kstore_learned_walk(struct pf_kstore *ks, pf_learned_fn fn, void *ctx);
/* Drops exec-session marks (session_procs) of thread groups gone() says have exited. */
int pf_kstore_sessions_gc(struct pf_kstore *ks, bool (*gone)(uint32_t tgid, void *ctx), void *ctx);

/*
 * Kernel records: a struct pf_event, or a struct pf_learn_event when
 * ev->flags has PF_EV_LEARN (both start alike).
 */
typedef int (*pf_event_fn)(void *ctx, const struct pf_event *ev, size_t size);
int pf_kstore_events_open(struct pf_kstore *ks, pf_event_fn fn, void *ctx);
int pf_kstore_events_poll(struct pf_kstore *ks, int timeout_ms);

#endif /* PODFENCE_KSTORE_H */
