/* SPDX-License-Identifier: Apache-2.0 */
/* Pods as the node agent needs them: identity, labels, QoS, container ids. */
#ifndef PODFENCE_POD_H
#define PODFENCE_POD_H

#include <stddef.h>
#include "podfence/diag.h"
#include "podfence/labels.h"

enum pf_qos {
	PF_QOS_GUARANTEED = 0,
	PF_QOS_BURSTABLE,
	PF_QOS_BESTEFFORT,
};

enum pf_container_kind {
	PF_CONTAINER_REGULAR = 0,
	PF_CONTAINER_INIT,
	PF_CONTAINER_EPHEMERAL,
};

struct pf_container {
	char *name;
	char *id;      /* bare container id (hex), NULL until the runtime reported it */
	char *runtime; /* "containerd", "cri-o", "docker", NULL */
	enum pf_container_kind kind;
};

/*
 * The workload a pod belongs to, from its controller ownerReference alone (no
 * extra API calls): a ReplicaSet named <deployment>-<pod-template-hash> is
 * its Deployment's, a Job named <cronjob>-<8 to 10 digits> its CronJob's,
 * any other owner is the workload as it is, and a pod without one is its own.
 */
struct pf_workload {
	char *kind; /* "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", ... */
	char *name;
};

struct pf_pod {
	char *namespace;
	char *name;
	char *uid;	  /* metadata.uid */
	char *cgroup_uid; /* uid in the cgroup path: kubernetes.io/config.hash for static pods */
	char *node;	  /* spec.nodeName, NULL if unscheduled */
	enum pf_qos qos;
	struct pf_labels labels;
	struct pf_workload workload;
	struct pf_container *containers;
	size_t n_containers;
	char *file; /* source file, for diagnostics */
};

struct pf_pod_list {
	struct pf_pod *v;
	size_t n, cap;
};

/*
 * Parses a file of Kubernetes v1 Pod manifests (YAML or JSON, one or several
 * documents, or a v1 List of pods). Returns 0, -EINVAL with diags on bad
 * input (out left empty), or another negative errno on I/O failure.
 */
int pf_pod_parse_file(const char *path, struct pf_pod_list *out, struct pf_diags *diags);
int pf_pod_parse_buf(const char *file, const char *buf, size_t len, struct pf_pod_list *out,
		     struct pf_diags *diags);

/*
 * The workload of a pod whose controller is (owner_kind, owner_name), NULL
 * for none; template_hash is its pod-template-hash label (or NULL). Sets
 * kind and name to static strings or into owner_name (not copied).
 */
void pf_workload_of(const char *owner_kind, const char *owner_name, const char *template_hash,
		    const char *pod_name, const char **kind, const char **name, size_t *name_len);

void pf_pod_free(struct pf_pod *p);
void pf_pod_list_free(struct pf_pod_list *l);
int pf_pod_list_push(struct pf_pod_list *l, struct pf_pod *p);

#endif /* PODFENCE_POD_H */
