/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Learning (docs/learning.md): what each workload really executes, turned
 * into a proposed allowlist.
 *
 * The kernel records each distinct (pod container, file, calling binary)
 * once (bpf/learn.bpf.h); this store keeps those records, merged per
 * workload identity (namespace, kind, name) and container, and writes
 * each one to a journal before the kernel's ring buffer slot is released,
 * so that an agent killed at any point loses nothing it was told. A
 * proposal is a PolicyProposal document: this node's findings under
 * spec.nodes.<node>, which proposals of other nodes merge with key by key
 * (learn_proposal.c).
 */
#ifndef PODFENCE_LEARN_H
#define PODFENCE_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "podfence/abi.h"
#include "podfence/pod.h"

struct pf_learn;

#define PF_STATE_DIR_DEFAULT "/var/lib/podfence"

/*
 * Opens the store kept in dir (created if missing; its journal replayed and
 * compacted). dir NULL: in memory only (tests). Returns -errno with why in err.
 */
int pf_learn_open(struct pf_learn **out, const char *dir, char *err, size_t err_len);
void pf_learn_close(struct pf_learn *l);

/*
 * What learns. A scope is "*" (every pod of the node), "<namespace>", or
 * "<namespace>/<Kind>/<name>" (one workload: Deployment, StatefulSet,
 * DaemonSet, Job, CronJob, ReplicaSet or Pod). Returns -EINVAL with why.
 */
int pf_learn_scope_add(struct pf_learn *l, const char *scope, char *err, size_t err_len);
/* -ENOENT when it was not there. */
int pf_learn_scope_remove(struct pf_learn *l, const char *scope);
bool pf_learn_in_scope(const struct pf_learn *l, const struct pf_pod *pod);
/* Scopes in force, sorted (borrowed until the next change). */
size_t pf_learn_scopes(const struct pf_learn *l, const char *const **out);

/*
 * The learn id of a pod's container (container NULL: the pod's own cgroups,
 * containers not identified yet), when the pod is in scope; 0 when it is
 * not, or when no id could be recorded (the error is kept for status).
 * Stable: the same pod uid and container always get the same id.
 */
uint32_t pf_learn_id_for(struct pf_learn *l, const struct pf_pod *pod, const char *container);

/* Whether an id was given (by this store, now or before a restart). */
bool pf_learn_knows(const struct pf_learn *l, uint32_t learn_id);

/* Converts the kernel's ktime (CLOCK_MONOTONIC ns) to wall-clock ns. */
int64_t pf_learn_wall_ns(uint64_t ktime_ns);

/*
 * A record from the kernel (struct pf_learn_event of `size` bytes).
 * Journaled before it returns. -EBADMSG: not a record; -ENOENT: its learn id
 * is unknown (counted, kept under "unknown").
 */
int pf_learn_record(struct pf_learn *l, const void *ev, size_t size);

/*
 * The kernel's view of a record: the last exec and the count, read when
 * proposals are made (pf_learn_refresh): repeated execs never reach user
 * space one by one.
 */
typedef int (*pf_learn_seen_fn)(void *ctx, const struct pf_learn_key *k, struct pf_learn_seen *out);
/* Refreshes last-seen and exec counts of every record from fn; journals what moved. */
int pf_learn_refresh(struct pf_learn *l, pf_learn_seen_fn fn, void *ctx);

/*
 * Seeds a pod's container with the executables its processes run now
 * (--seed-from-proc): each is recorded once, marked seeded.
 */
int pf_learn_seed(struct pf_learn *l, uint32_t learn_id, const char *path);

/*
 * The workloads ("<namespace>/<Kind>/<name>") whose findings changed since
 * the last call (new records, last-seen or counts moved): what to write out.
 */
struct pf_strset;
void pf_learn_take_dirty(struct pf_learn *l, struct pf_strset *out);

struct pf_learn_counts {
	size_t scopes;
	size_t identities; /* pod containers that learned */
	size_t records;	   /* (pod container, file, caller, kind) */
	size_t unknown;	   /* records of an unknown learn id */
	size_t journal_errors;
	char last_error[256];
};
void pf_learn_counts(const struct pf_learn *l, struct pf_learn_counts *out);

/*
 * This node's findings: one PolicyProposal object per workload identity,
 * sorted by namespace, kind, name; filter: NULL (all), a namespace, or
 * "<namespace>/<Kind>/<name>". Values sorted; each names when it was first and
 * last seen and by how many pods. Per workload, its memory (records and bytes)
 * in status.learning.
 */
struct json_object *pf_learn_proposals(struct pf_learn *l, const char *node, const char *filter);
/* status.learning: scopes, counts, per workload the records and bytes held. */
struct json_object *pf_learn_status_json(struct pf_learn *l);

/* learn_proposal.c: proposals as data, whatever node or file they came from. */

/* "Deployment" + "web" -> "deployment-web" (a PolicyProposal's name). */
void pf_proposal_name(const char *kind, const char *name, char *out, size_t len);
/*
 * Merges PolicyProposal objects (from several nodes, files or the API) into
 * one per workload: for each container and list, the union of values; pods
 * and execs summed, first seen the earliest, last seen the latest, callers
 * united. Returns an array of objects whose spec.nodes holds one merged entry
 * "*" (and spec.merged lists the nodes). Never fails on a malformed input
 * object: it is skipped and named in errors (an array of strings).
 */
struct json_object *pf_proposal_merge(struct json_object *proposals, struct json_object *errors);

struct pf_proposal_opts {
	const char *template_name; /* PolicyTemplate the binding instantiates */
	const char *parameter;	   /* its parameter (allowedExecs) */
	bool monitor;		   /* bind <template>-monitor: report what the proposal misses */
	bool include_sessions;	   /* exec sessions' binaries are allowed too */
};
/*
 * The PolicyBinding documents (YAML text) of one merged proposal: one per
 * container, named learned-<proposal name>-<container>, with targetRef and
 * containers, values sorted. Temporary paths are not values: each is a
 * comment with its suggested Prefix. Returns NULL on a proposal with no
 * container.
 */
char *pf_proposal_bindings_yaml(struct json_object *merged, const struct pf_proposal_opts *o);
/* The template pair (enforce and -monitor) the bindings refer to, as YAML. */
char *pf_proposal_template_yaml(const struct pf_proposal_opts *o);

/*
 * Where a temporary path's values should go: "/tmp/tmp.k3J9xq/run.sh" ->
 * "/tmp/tmp.". Returns false when path is not under a temporary directory
 * (/tmp, /var/tmp, /dev/shm, /run/user).
 */
bool pf_proposal_temporary(const char *path, char *prefix, size_t len);

#endif /* PODFENCE_LEARN_H */
