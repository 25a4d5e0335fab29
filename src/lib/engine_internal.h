/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's private state, shared by its files, one job each:
 *
 *   engine.c            life, sync, collect, takeover, who an event is about
 *   engine_sources.c    source documents and precedence (the first source wins)
 *   engine_index.c      selector indexes: which pods a change touches
 *   engine_compile.c    candidate policies -> rules of each container
 *   engine_reconcile.c  rules -> workloads (make-before-break) -> garbage
 *   engine_cgroups.c    workloads -> cgroup bindings, at any depth
 *   engine_runtime.c    containers their runtime announced, before they start
 *   engine_status.c     status document
 */
#ifndef PODFENCE_ENGINE_INTERNAL_H
#define PODFENCE_ENGINE_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A hash table out of memory is an error the engine handles (the element is
 * not added; eng_hash_added() says so), never uthash's default exit().
 */
#define HASH_NONFATAL_OOM	 1
#define uthash_nonfatal_oom(obj) (eng_hash_oom = true)
static bool eng_hash_oom;
#include <uthash.h>

/* Whether the last HASH_ADD stored its element. */
static inline bool eng_hash_added(void)
{
	bool added = !eng_hash_oom;

	eng_hash_oom = false;
	return added;
}
#include "podfence/cgroup.h"
#include "podfence/compile.h"
#include "podfence/engine.h"
#include "podfence/log.h"
#include "podfence/netaddr.h"
#include "podfence/runtime.h"
#include "podfence/sets.h"

/* Room for one error message about a pod or a container. */
#define PF_ENGINE_MSG 256
/* How often bindings that could not be written are tried again. */
#define REPAIR_EVERY_MS 5000

struct ptrs {
	void **v;
	size_t n, cap;
};

/* Buckets of an inverted index "key=value" -> objects. */
struct bucket {
	char *kv;
	struct ptrs items;
	UT_hash_handle hh;
};

/*
 * Definitions of one object by several source documents, sorted as
 * pf_source_kind documents sort (kind, then id): the first is in force.
 * Makes the result independent of arrival order.
 */
struct def {
	enum pf_source_kind kind;
	char *source; /* the document's id (a file: its path) */
	void *obj;
};

struct defs {
	struct def *v;
	size_t n, cap;
};

static inline void *defs_active(const struct defs *d)
{
	return d->n ? d->v[0].obj : NULL;
}

/*
 * A policy object (TracingPolicy, PolicyTemplate, PolicyBinding: defined by
 * files) or a template instance: the template as the bindings of one
 * container make it, with the union of their values. An instance is keyed by
 * its template and binding keys, so containers with the same bindings share
 * its id and counters; it lives while some pod uses it.
 */
struct policy_ent {
	char *key; /* "<kind>/<namespace>/<name>", or "instance:<template>|<binding>|..." */
	uint32_t id;
	struct defs defs; /* struct pf_policy * per file (none for an instance) */
	unsigned stamp;	  /* candidate de-duplication */
	size_t n_pods;	  /* pods it applies to; counters exist while > 0 */
	int counters_err; /* why its counters could not be created (-E2BIG: map full), or 0 */
	struct pf_policy *indexed; /* definition whose selector is in the index */
	/* instance only */
	char *tpl_name;
	char **bindings; /* "<namespace>/<name>" of its bindings, sorted */
	size_t n_bindings;
	UT_hash_handle hh;
	UT_hash_handle hh_id;
};

struct wl_ent;

/* A container of the applied pod definition and the workload of its own rules. */
struct cont_ent {
	char *name;
	struct wl_ent *wl; /* NULL: no rule applies to it (bound to the engine's empty workload) */
};

struct pod_ent {
	char *key;		/* "<namespace>/<name>" */
	struct defs defs;	/* struct pf_pod * per file */
	struct pf_pod *indexed; /* definition whose labels are in the index */
	bool dirty;
	struct pod_ent *next_dirty;
	/* what is in the kernel for it */
	struct pf_pod *applied; /* the definition the kernel state was computed from */
	/*
	 * The pod cgroup and every cgroup of the pod that no container of
	 * `applied` claims (a container not identified yet, restarted, ...):
	 * the rules of all its containers together, the strictest that can
	 * apply to any of them. NULL when no rule applies to the pod at all.
	 */
	struct wl_ent *pod_wl;
	struct cont_ent *cont; /* per container of `applied` */
	size_t n_cont;
	struct ptrs policies; /* policy_ent * applied to some workload of the pod */
	uint64_t *cgids;      /* cgroups bound by us */
	size_t n_cgids, cap_cgids;
	bool pending; /* pod cgroup not found yet */
	bool rewalk;  /* a container reported with an id has no cgroup yet */
	long long rewalk_until_ms;
	char (*expected)[PF_CG_NAME_MAX]; /* cgroup names the kernel binds at creation */
	size_t n_expected;
	char error[2 * PF_ENGINE_MSG];
	UT_hash_handle hh;
};

/* A workload's rules as written: exec rules and egress rules, their set ids filled. */
struct wl_rules {
	struct pf_rule exec[PF_MAX_RULES];
	size_t n;
	struct pf_net_rule net[PF_NET_MAX_RULES];
	size_t n_net;
	struct pf_net_shared net_shared; /* lengths of the net rules' sets, inline ports */
};

struct wl_ent {
	uint32_t id;
	uint32_t learn_id;   /* learning (learn.h): 0, or its records' id */
	struct pod_ent *pod; /* NULL: the engine's empty workload */
	char *container;     /* NULL: the pod's (pod_wl) */
	struct wl_rules r;
	UT_hash_handle hh;
};

struct cg_ent {
	uint64_t cgid;
	struct pod_ent *pod;
	UT_hash_handle hh;
};

/* A source document and what it defines. */
struct source_ent {
	char *key; /* hash key: "<kind digit>:<id>" */
	enum pf_source_kind kind;
	const char *id; /* in key */
	bool has_pods;	/* its objects are pods (else policies) */
	char **keys;	/* objects it defines */
	size_t n_keys;
	struct pf_diags diags; /* last read: errors keep the previous good version */
	UT_hash_handle hh;
};

struct wl_garbage {
	uint32_t id;
	struct wl_garbage *next;
};

/*
 * A container its runtime announced (runtime.h), by id: its cgroup is bound
 * to its own rules when created, before the pod's status names it.
 */
struct rt_ent {
	char id[PF_RUNTIME_ID_MAX];
	char *pod_key; /* "<namespace>/<name>" */
	char *pod_uid;
	char *name;	 /* the container's name; NULL for the sandbox */
	bool sandbox;	 /* the pod's sandbox: its start is allowed (PF_CG_SANDBOX) */
	bool has_cgroup; /* its cgroup was found: the kernel needs no name for it */
	UT_hash_handle hh;
};

struct pf_engine {
	struct pf_store *st;
	struct pf_sets *sets;
	char cgroup_root[PATH_MAX];
	struct policy_ent *policies;
	struct policy_ent *policies_by_id;
	struct bucket *pol_index;    /* label -> policies whose selector requires it */
	struct bucket *tpl_index;    /* template name -> bindings referring to it */
	struct ptrs fresh_instances; /* instances created by the pod being computed */
	struct ptrs pol_global;	     /* policies that cannot be indexed */
	struct pod_ent *pods;
	struct bucket *pod_index; /* label -> pods carrying it */
	struct pod_ent *dirty;
	struct wl_ent *wls;
	struct cg_ent *cgs;
	struct source_ent *sources;
	struct rt_ent *runtime; /* containers announced by their runtime */
	struct wl_garbage *wl_garbage;
	struct wl_ent *wl_none; /* no rules: containers of bound pods that no policy selects */
	unsigned stamp;
	uint32_t generation;
	size_t n_policy_pods;
	bool index_lost; /* an index entry could not be stored: every lookup is a scan */
	/* a document that could not even be recorded (out of memory): said until it is */
	char input_error[2 * PF_ENGINE_MSG];
	char input_error_id[PATH_MAX];
	/* cgroups that could not be bound (cg_workload full, trees deeper than the walk) */
	size_t bind_failures;
	char bind_error[256];
	long long repair_due_ms;
	/* learning: which pods' containers learn, under which id (learn.h) */
	pf_engine_learn_fn learn_fn;
	void *learn_ctx;
};

/* The learn id of a pod's container (NULL: the pod's own cgroups), 0: not learning. */
static inline uint32_t eng_learn_id(struct pf_engine *e, const struct pf_pod *pod,
				    const char *container)
{
	return e->learn_fn ? e->learn_fn(e->learn_ctx, pod, container) : 0;
}

/* engine_sources.c */
void eng_source_drop(struct pf_engine *e, struct source_ent *se);
/* How status names a definition's document: a file by its path, else "api:<id>". */
const char *eng_def_source(const struct def *d, char *buf, size_t len);
void eng_policy_ent_free(struct pf_engine *e, struct policy_ent *pe);

/* engine_index.c */
int eng_candidates(struct pf_engine *e, const struct pf_pod *pod, struct ptrs *out);
void eng_mark_dirty(struct pf_engine *e, struct pod_ent *pe);
void eng_mark_selected(struct pf_engine *e, const struct pf_policy *p);
void eng_mark_template_users(struct pf_engine *e, const char *name);
void eng_pod_index(struct pf_engine *e, struct pod_ent *pe, struct pf_pod *pod, bool add);
void eng_policy_reindex(struct pf_engine *e, struct policy_ent *pe, struct pf_policy *p, bool add);
int eng_ptrs_add(struct ptrs *a, void *p);
int eng_ptrs_add_unique(struct ptrs *a, void *p);

/* engine_compile.c */
struct pf_policy *eng_active_template(struct pf_engine *e, const char *name);
int eng_compile_rules(struct pf_engine *e, const struct ptrs *cands, const char *container,
		      struct pf_compiled *out, struct ptrs *used, char *err, size_t err_len);
int eng_compile_unidentified(struct pf_engine *e, const struct ptrs *cands,
			     const struct pf_pod *pod, const struct pf_compiled *cc,
			     const int *cerr, char (*cmsg)[PF_ENGINE_MSG], struct pf_compiled *out,
			     struct ptrs *used, char *err, size_t err_len);

/* engine_reconcile.c */
void eng_conts_free(struct cont_ent *cont, size_t n);
void eng_pod_compute(struct pf_engine *e, struct pod_ent *pe);
void eng_wl_ent_free(struct wl_ent *wl);
struct wl_ent *eng_wl_none(struct pf_engine *e);

/* engine_cgroups.c */
void eng_bind_cgroups(struct pf_engine *e, struct pod_ent *pe, bool unbind);
void eng_cg_untrack_all(struct pf_engine *e, struct pod_ent *pe, bool unbind);
void eng_expected_clear(struct pf_engine *e, struct pod_ent *pe);

/* engine_runtime.c */
/* The runtime's record of a cgroup of the pod (rel: its path below the pod's), or NULL. */
struct rt_ent *eng_runtime_of_cgroup(struct pf_engine *e, const struct pod_ent *pe,
				     const char *rel);
/* Where the runtime's container goes: *flags gets enum pf_cg_flags. */
struct wl_ent *eng_runtime_target(struct pf_engine *e, struct pod_ent *pe, const struct rt_ent *rt,
				  uint32_t *flags);
/* Whether the runtime's container belongs to the pod (namespace, name and UID). */
bool eng_runtime_of_pod(const struct rt_ent *rt, const struct pod_ent *pe);
void eng_runtime_free(struct pf_engine *e);

#endif /* PODFENCE_ENGINE_INTERNAL_H */
