/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state, shared by its loop (agent.c) and what it reports
 * (report.c: status over the control socket, readiness, metrics).
 */
#ifndef PODFENCE_AGENT_H
#define PODFENCE_AGENT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <json-c/json.h>
#include "podfence/dirwatch.h"
#include "podfence/engine.h"
#include "podfence/k8s.h"
#include "podfence/kstore.h"
#include "podfence/learn.h"
#include "podfence/metrics.h"
#include "podfence/runtime.h"

/* Container runtimes' state directories watched at most (--runtime-state). */
#define RUNTIME_DIRS_MAX 8

struct agent {
	struct pf_kstore_opts kopts;
	const char *policies_dir;
	const char *pods_dir;
	const char *events_path;
	const char *socket_path;
	const char *cgroup_root;
	struct pf_kstore *ks;
	struct pf_engine *engine;
	struct pf_dirwatch *policies_watch;
	struct pf_dirwatch *pods_watch;
	const char *runtime_dirs[RUNTIME_DIRS_MAX];
	size_t n_runtime_dirs;
	bool runtime_dirs_given; /* --runtime-state: instead of the defaults */
	struct pf_runtime_watch *runtime_watch;
	/* the Kubernetes API (--kubeconfig, --in-cluster) */
	const char *kubeconfig;
	bool in_cluster;
	const char *node_name;
	char pod_selector[300];
	struct pf_k8s_resource api_res[PF_K8S_RES__MAX];
	struct pf_k8s_watcher *api;
	struct pf_k8s_source *api_source;
	bool api_applied[PF_K8S_RES__MAX];  /* a whole list is in the engine and the kernel */
	time_t api_synced[PF_K8S_RES__MAX]; /* when the last of its changes was applied */
	unsigned long long api_rejected;    /* objects that did not decode */
	/* --metrics-addr */
	const char *metrics_addr;
	struct pf_http *http;
	/* learning (learning.c) */
	const char *state_dir;	/* --state-dir: learned records survive restarts here */
	struct pf_learn *learn; /* NULL: unavailable (learn_error says why) */
	char learn_error[600];
	long long learn_due_ms; /* next upkeep */
	unsigned long learn_ticks;
	unsigned long long learn_evicted;
	struct pf_k8s_writer *proposal_writer; /* in a cluster: PolicyProposal contributions */
	FILE *events;
	int epfd, sigfd, ctlfd;
	bool ready;
	bool took_over;
	long long rescan_due_ms; /* 0: none */
	long long next_retry_ms;
	unsigned long long events_written;
	time_t started;
};

/* The status document (podfence status): the engine's, the kernel's maps and stats, the API. */
struct json_object *agent_status_json(struct agent *a);
/* Whether every input is in the kernel (the API's first lists included); why not in why. */
bool agent_ready(struct agent *a, char *why, size_t len);
/* --metrics-addr: /healthz, /readyz, /metrics (a pf_http_handler; ctx is the agent). */
void agent_http_request(void *ctx, const char *path, struct pf_http_reply *out);

/* learning.c */
int agent_learn_setup(struct agent *a);
void agent_learn_teardown(struct agent *a);
void agent_learn_record(struct agent *a, const void *ev, size_t size);
void agent_learn_tick(struct agent *a, long long now_ms);
/* "learn ..." requests of the control socket (args: what follows "learn "). */
struct json_object *agent_learn_request(struct agent *a, const char *args);
/* Adds status.learning to root, and learning's capacity errors to root.errors. */
void agent_learn_status(struct agent *a, struct json_object *root, const uint64_t *stats);

#endif /* PODFENCE_AGENT_H */
