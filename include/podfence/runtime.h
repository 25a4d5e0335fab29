/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the container runtime says about a container before it starts.
 *
 * containerd (and CRI-O) write each container's OCI bundle, whose
 * config.json carries the Kubernetes identity as annotations (pod UID,
 * namespace and name, container name, sandbox or not), before they run
 * `runc create`, which creates the container's cgroup. Reading the bundle
 * the moment it is written lets the kernel bind that cgroup, at its
 * creation, to the container's own rules: the pod's status names the
 * container only after it started.
 *
 * Layouts (each a directory of one entry per container id):
 *   containerd: <state>/<id>/config.json, state
 *               /run/containerd/io.containerd.runtime.v2.task/k8s.io
 *   CRI-O:      <state>/<id>/userdata/config.json, state
 *               /run/containers/storage/overlay-containers
 */
#ifndef PODFENCE_RUNTIME_H
#define PODFENCE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define PF_RUNTIME_STATE_CONTAINERD "/run/containerd/io.containerd.runtime.v2.task/k8s.io"
#define PF_RUNTIME_STATE_CRIO	    "/run/containers/storage/overlay-containers"
#define PF_RUNTIME_ID_MAX	    128

struct pf_runtime_container {
	char id[PF_RUNTIME_ID_MAX]; /* the bundle's directory name: the container id */
	char *pod_uid;
	char *pod_namespace;
	char *pod_name;
	char *name;   /* the container's name in the pod spec; NULL for a sandbox */
	bool sandbox; /* the pod's sandbox (pause) container */
};

void pf_runtime_container_free(struct pf_runtime_container *c);

/*
 * Reads a bundle's config.json. Returns 0, -ENODATA when it is not a
 * Kubernetes container (no such annotations), -errno otherwise, with the
 * reason in err.
 */
int pf_runtime_bundle_read(const char *config_json, const char *id,
			   struct pf_runtime_container *out, char *err, size_t err_len);

struct pf_runtime_watch;

struct pf_runtime_watch_ops {
	/* A container's bundle was written (again). */
	void (*container)(void *ctx, const struct pf_runtime_container *c);
	/* A container's bundle is gone. */
	void (*gone)(void *ctx, const char *id);
	void *ctx;
};

/*
 * Watches state directories (inotify). A directory that does not exist yet
 * (the runtime not started) is watched once it appears (pf_runtime_watch_retry).
 */
int pf_runtime_watch_open(struct pf_runtime_watch **out, const char *const *dirs, size_t n_dirs,
			  const struct pf_runtime_watch_ops *ops);
void pf_runtime_watch_close(struct pf_runtime_watch *w);
int pf_runtime_watch_fd(const struct pf_runtime_watch *w);
/* Handles pending events: reports bundles written and removed. */
void pf_runtime_watch_drain(struct pf_runtime_watch *w);
/* Starts watching directories that appeared since; reports their containers. */
void pf_runtime_watch_retry(struct pf_runtime_watch *w);

#endif /* PODFENCE_RUNTIME_H */
