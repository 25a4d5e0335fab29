/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine: keeps the desired state (policies and pods, by source
 * document) and makes the kernel match it. For each local pod it compiles the
 * policies that select it into workloads (one per distinct rule list in the
 * pod), writes their rulesets, and binds the pod's cgroups. Policies that
 * select no local pod cost nothing in the kernel.
 *
 * Input changes only mark pods dirty; pf_engine_sync() applies them, so a
 * burst of changes is applied once, and the result never depends on
 * the order in which inputs arrived.
 */
#ifndef PODFENCE_ENGINE_H
#define PODFENCE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "podfence/diag.h"
#include "podfence/store.h"
#include "podfence/pod.h"
#include "podfence/policy.h"

struct pf_engine;

/* cgroup_root: the cgroup2 mount (NULL: found in mountinfo). */
struct pf_engine *pf_engine_new(struct pf_store *st, const char *cgroup_root);
void pf_engine_free(struct pf_engine *e);

/*
 * Where desired state comes from. Every input is a source document: a kind,
 * an id unique within its kind, and the objects it defines (policies or
 * pods). Files are one kind (the id is the path); objects from the
 * Kubernetes API are another (the id names the object), given through the
 * same two entry points.
 *
 * Precedence, when several documents define one object (same kind of
 * object, namespace and name): the document that sorts first is in force,
 * never the one that arrived last, so every node reaches the same state
 * whatever the order of arrival. Documents sort by kind first, in the
 * order of enum pf_source_kind (the cluster's objects before a node's own
 * files: a file on one node cannot shadow what the cluster says), then by
 * id, byte by byte. The documents that lose are shown in status.
 */
enum pf_source_kind {
	PF_SOURCE_API = 0,  /* Kubernetes API objects: id "<resource>/<namespace>/<name>" */
	PF_SOURCE_FILE = 1, /* files on the node: id = path */
};

struct pf_source_doc {
	enum pf_source_kind kind;
	const char *id;
	/* What it defines: one of the two lists (the other NULL). */
	struct pf_policy_list *policies;
	struct pf_pod_list *pods;
	/*
	 * Diagnostics of reading it: with errors, its previous (good) version
	 * stays in force and only the errors are kept, for status.
	 */
	const struct pf_diags *diags;
};

/*
 * Replaces what a document defines. Its objects are moved into the engine
 * (slots moved are zeroed: the caller frees the list as usual). Returns 0,
 * or the first error storing an object (-ENOMEM, ids exhausted): that
 * object's previous definition stays in force, and status shows the error.
 */
int pf_engine_source_put(struct pf_engine *e, const struct pf_source_doc *doc);
/* Removes everything a document defined. */
int pf_engine_source_remove(struct pf_engine *e, enum pf_source_kind kind, const char *id);

/* A file source (PF_SOURCE_FILE): the same two entry points, for files of either list. */
int pf_engine_policy_file(struct pf_engine *e, const char *file, struct pf_policy_list *pols,
			  const struct pf_diags *diags);
int pf_engine_policy_file_removed(struct pf_engine *e, const char *file);
int pf_engine_pod_file(struct pf_engine *e, const char *file, struct pf_pod_list *pods,
		       const struct pf_diags *diags);
int pf_engine_pod_file_removed(struct pf_engine *e, const char *file);

/*
 * A container its runtime announced before creating it (runtime.h): the
 * kernel binds its cgroup at creation to its own rules, or, for the pod's
 * sandbox, to the pod's with its start allowed. Returns -errno.
 */
struct pf_runtime_container;
int pf_engine_runtime_container(struct pf_engine *e, const struct pf_runtime_container *c);
/* Its bundle is gone (the container was removed). */
void pf_engine_runtime_container_gone(struct pf_engine *e, const char *id);

/*
 * Learning (learn.h): fn says which pods' containers learn, and under which
 * id (0: not learning); container NULL asks for the pod's own cgroups. A
 * learning container is bound even when no policy selects it, its rules
 * unchanged. After the answers change: pf_engine_learning_changed().
 */
typedef uint32_t (*pf_engine_learn_fn)(void *ctx, const struct pf_pod *pod, const char *container);
void pf_engine_set_learning(struct pf_engine *e, pf_engine_learn_fn fn, void *ctx);
/* Every pod is computed again at the next sync. */
void pf_engine_learning_changed(struct pf_engine *e);

/* Applies every pending change to the kernel; returns the number of pods updated. */
int pf_engine_sync(struct pf_engine *e);
/* Pods whose cgroups did not exist yet are looked for again. */
void pf_engine_retry_pending(struct pf_engine *e);
/* Frees released kernel data after a barrier; cheap when there is none. */
int pf_engine_collect(struct pf_engine *e);
bool pf_engine_has_garbage(const struct pf_engine *e);
/*
 * After taking pinned state over and syncing every input: removes kernel
 * entries the previous agent left that the current inputs do not need.
 */
int pf_engine_takeover_gc(struct pf_engine *e);

/* Who an event is about (from the cgroup or, for inherited cgroups, the workload). */
struct pf_owner {
	const char *pod_namespace;
	const char *pod_name;
	const struct pf_workload *workload; /* the pod's (pod.h) */
	const char *container;		    /* NULL: pod-level or not identified */
	bool sandbox;			    /* the pod's sandbox (its runtime said so) */
};
bool pf_engine_owner(const struct pf_engine *e, uint64_t cgroup_id, uint32_t wl_id,
		     struct pf_owner *out);
/* Name of a policy, or of the template of an instance. */
const char *pf_engine_policy_name(const struct pf_engine *e, uint32_t policy_id);
/* The bindings ("namespace/name") united in a template instance; 0 for a policy. */
size_t pf_engine_policy_bindings(const struct pf_engine *e, uint32_t policy_id,
				 const char *const **names);

struct pf_engine_counts {
	size_t policies; /* policies in force (templates and bindings included) */
	size_t bindings; /* ... of which PolicyBindings */
	size_t templates;
	size_t policy_files;
	size_t files_rejected; /* policy and pod files with errors */
	size_t pods;
	size_t pods_pending; /* cgroup not found (yet) */
	size_t policy_pods;  /* (policy or template instance, pod) pairs applied */
	size_t workloads;
	size_t bound_cgroups;
	size_t runtime_containers; /* containers announced by their runtime's bundles */
	size_t value_sets;
	size_t values;
	size_t workload_errors; /* workloads whose last update failed (previous rules kept) */
	size_t policies_without_counters; /* enforced, but pol_counters was full */
};
void pf_engine_counts(const struct pf_engine *e, struct pf_engine_counts *out);

/*
 * The kernel's counters of every policy in force, one call per policy key
 * ("TracingPolicy//name", "PolicyTemplate//name", ...): a template's
 * instances (one per distinct union of bindings) are summed under the
 * template, so the number of calls is the number of policies and templates,
 * never of bindings or pods. Returns -ENOMEM if a sum could not be kept.
 */
typedef void (*pf_policy_counters_fn)(void *ctx, const char *policy,
				      const struct pf_policy_counters *c);
int pf_engine_policy_counters(struct pf_engine *e, pf_policy_counters_fn fn, void *ctx);
/* Status document: counts, per-policy counters, errors. */
struct json_object *pf_engine_status_json(struct pf_engine *e);

#endif /* PODFENCE_ENGINE_H */
