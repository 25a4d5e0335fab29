/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes API's wire format, as a node agent reads it.
 *
 * A watch response is a stream of JSON objects {"type": ..., "object": ...},
 * one per line in practice, but nothing ties object boundaries to HTTP
 * chunks or reads (a real capture delivered 23- and 5-byte pieces): the
 * stream decoder takes bytes as they come and hands over each complete
 * top-level JSON value (json-c's incremental tokener), whatever the cut.
 * The same decoder reads a LIST response (one value) or a bare object.
 */
#ifndef PODFENCE_K8S_H
#define PODFENCE_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct pf_k8s_stream;

/* Called with each complete value (borrowed: take a reference to keep it); non-zero stops. */
typedef int (*pf_k8s_value_fn)(void *ctx, struct json_object *value);

struct pf_k8s_stream *pf_k8s_stream_new(pf_k8s_value_fn fn, void *ctx);
void pf_k8s_stream_free(struct pf_k8s_stream *s);
/*
 * Feeds the next bytes. Returns 0, the callback's non-zero value, or
 * -EBADMSG when the bytes are not JSON (with where and why in err): the
 * stream is then unusable and the watch must be started again.
 */
int pf_k8s_stream_feed(struct pf_k8s_stream *s, const char *buf, size_t len, char *err,
		       size_t err_len);
/* Whether a value was cut in the middle (the connection ended inside an object). */
int pf_k8s_stream_partial(const struct pf_k8s_stream *s);
/* Values handed over so far. */
size_t pf_k8s_stream_values(const struct pf_k8s_stream *s);

enum pf_k8s_event_type {
	PF_K8S_ADDED,
	PF_K8S_MODIFIED,
	PF_K8S_DELETED,
	PF_K8S_BOOKMARK,
	PF_K8S_ERROR, /* object is a Status: code 410 (Expired / Gone) means relist */
};

struct pf_k8s_event {
	enum pf_k8s_event_type type;
	struct json_object *object;   /* borrowed from the value */
	const char *resource_version; /* object.metadata.resourceVersion, or NULL */
	int code;		      /* ERROR: the Status's code (0 if none) */
	const char *reason;	      /* ERROR: the Status's reason, or NULL */
};

/* Reads one watch event out of a value; -EBADMSG with err when it is none. */
int pf_k8s_event_parse(struct json_object *value, struct pf_k8s_event *ev, char *err,
		       size_t err_len);
const char *pf_k8s_event_type_name(enum pf_k8s_event_type t);

/* A string field at a dotted path ("metadata.name"), or NULL. */
const char *pf_k8s_str(struct json_object *o, const char *path);

/*
 * Where the API server is and how to authenticate: a kubeconfig file's
 * current context, or the pod's service account (in-cluster).
 */
struct pf_k8s_config {
	char *server;		    /* "https://host:port" ("http://" for tests) */
	char *ca_file;		    /* PEM file, or NULL */
	char *ca_pem;		    /* PEM bytes (certificate-authority-data), or NULL */
	char *token;		    /* bearer token, or NULL */
	char *token_file;	    /* read again before every request (rotated tokens), or NULL */
	char *cert_file, *key_file; /* client certificate and key files, or NULL */
	char *cert_pem, *key_pem;   /* ... as PEM bytes (client-*-data), or NULL */
};

/* Reads kubeconfig `path` (its current context); -EINVAL with "file:line:col: why" in err. */
int pf_k8s_config_kubeconfig(const char *path, struct pf_k8s_config *out, char *err,
			     size_t err_len);
/* KUBERNETES_SERVICE_HOST/PORT and the service account's token and CA under `sa_dir`. */
int pf_k8s_config_in_cluster(const char *sa_dir, struct pf_k8s_config *out, char *err,
			     size_t err_len);
void pf_k8s_config_free(struct pf_k8s_config *c);

#define PF_K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * List + watch, with client-go's reflector semantics, one thread per
 * resource: LIST (paged with limit/continue) then WATCH from its
 * resourceVersion (bookmarks move it on); 410 Expired, in the watch or as
 * HTTP 410, relists; a watch that ends normally is started again; errors
 * back off 0.8 s doubling to 30 s, with jitter (429: Retry-After); a
 * resource the server does not know (404: its CRD not installed) is
 * retried quietly. What a thread learns is queued for the main loop, which
 * an eventfd wakes.
 */
struct pf_k8s_resource {
	const char *name;	    /* "pods", "tracingpolicies", ... */
	const char *path;	    /* "/api/v1/pods", "/apis/cilium.io/v1alpha1/tracingpolicies" */
	const char *field_selector; /* "spec.nodeName=node-1", or NULL */
};

enum pf_k8s_change {
	PF_K8S_REPLACE, /* a whole list: exactly these objects (an array), no other */
	PF_K8S_UPSERT,	/* an object added or changed */
	PF_K8S_REMOVE,	/* an object deleted */
};

struct pf_k8s_item {
	size_t resource; /* index in the resources given */
	enum pf_k8s_change change;
	struct json_object *object; /* owned: REPLACE: an array of objects */
	struct pf_k8s_item *next;
};

/* What status shows of one resource. */
struct pf_k8s_resource_state {
	bool listed;	     /* a first list arrived */
	bool not_installed;  /* the server answers 404 (its CRD is not installed) */
	unsigned long lists; /* lists, relists included */
	unsigned long watches;
	unsigned long errors;
	char last_error[256];
	char resource_version[64];
};

struct pf_k8s_watcher;

int pf_k8s_watcher_start(struct pf_k8s_watcher **out, const struct pf_k8s_config *cfg,
			 const struct pf_k8s_resource *res, size_t n);
/* Readable when items are queued. */
int pf_k8s_watcher_fd(const struct pf_k8s_watcher *w);
/* Takes every queued item, oldest first (caller frees with pf_k8s_items_free). */
struct pf_k8s_item *pf_k8s_watcher_take(struct pf_k8s_watcher *w);
void pf_k8s_items_free(struct pf_k8s_item *it);
void pf_k8s_watcher_state(struct pf_k8s_watcher *w, size_t resource,
			  struct pf_k8s_resource_state *out);
/* Stops every thread (an open request is aborted) and frees the watcher. */
void pf_k8s_watcher_stop(struct pf_k8s_watcher *w);

/*
 * The API as a source of the engine: the resources podfence reads, and
 * what the watcher's items change (k8s_source.c). Each object is a source
 * document of kind PF_SOURCE_API, id "<resource>/<namespace>/<name>"; a
 * REPLACE removes the documents of its resource that the list lacks (objects
 * deleted while no watch ran). An object that does not decode is reported
 * and its previous version stays in force.
 */
enum pf_k8s_res {
	PF_K8S_PODS,
	PF_K8S_TRACINGPOLICIES,
	PF_K8S_TRACINGPOLICIES_NAMESPACED,
	PF_K8S_POLICYTEMPLATES,
	PF_K8S_POLICYBINDINGS,
	PF_K8S_RES__MAX,
};

struct pf_engine;
struct pf_k8s_source;

/*
 * The resources to watch; pods with the field selector given (e.g.
 * "spec.nodeName=node-1": this node's), which must outlive them.
 */
void pf_k8s_resources(const char *pod_selector, struct pf_k8s_resource out[PF_K8S_RES__MAX]);
struct pf_k8s_source *pf_k8s_source_new(struct pf_engine *e);
void pf_k8s_source_free(struct pf_k8s_source *s);
/* Applies items (in order) to the engine; returns how many objects were rejected. */
size_t pf_k8s_source_apply(struct pf_k8s_source *s, const struct pf_k8s_item *items);

/*
 * Writes to the API server, in the background: the agents' PolicyProposals
 * (one object per workload, each node's agent owning spec.nodes.<node>).
 * One thread sends each queued write as a JSON merge patch (RFC 7386:
 * maps merge key by key, so agents contributing to one object never
 * overwrite each other's keys); an object that does not exist yet (404) is
 * created with a POST, and one created meanwhile by another agent (409) is
 * patched again. 5xx, 429 (Retry-After) and connection errors are retried
 * with the watcher's backoff, 0.8 s doubling to 30 s; any other 4xx is an
 * error shown in the state, and that write is dropped.
 */
struct pf_k8s_writer;

int pf_k8s_writer_start(struct pf_k8s_writer **out, const struct pf_k8s_config *cfg);
/*
 * Queues a merge patch of object `name` in collection `path` (e.g.
 * "/apis/podfence.io/v1alpha1/namespaces/shop/policyproposals"); `create`
 * is the whole object to POST when the PATCH answers 404. Both JSON text,
 * copied. A later put for the same path+name replaces a pending one (latest
 * wins). Returns 0 or -errno (-ESHUTDOWN once stopping).
 */
int pf_k8s_writer_put(struct pf_k8s_writer *w, const char *path, const char *name,
		      const char *patch_json, const char *create_json);

struct pf_k8s_writer_state {
	unsigned long written; /* objects patched or created */
	unsigned long errors;  /* failed requests, retried ones included */
	unsigned long pending; /* queued, or being written */
	char last_error[256];  /* "PATCH <path>/<name>: HTTP <code> <reason>: <message>" */
};

void pf_k8s_writer_state(struct pf_k8s_writer *w, struct pf_k8s_writer_state *out);
/* Waits up to timeout_ms for the queue to drain (tests, shutdown); returns 0 or -ETIMEDOUT. */
int pf_k8s_writer_flush(struct pf_k8s_writer *w, int timeout_ms);
/* Stops the thread (an open request is aborted; pending writes are dropped) and frees w. */
void pf_k8s_writer_stop(struct pf_k8s_writer *w);

#endif /* PODFENCE_K8S_H */
