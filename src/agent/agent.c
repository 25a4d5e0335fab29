// SPDX-License-Identifier: Apache-2.0
/*
 * `podfence agent`: loads (or takes over) the kernel side, feeds it policies
 * and pods from watched directories, writes events, answers the control
 * socket. Stopping it, even with SIGKILL, leaves the pinned programs and
 * maps enforcing the last state.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "podfence/compile.h"
#include "podfence/control.h"
#include "podfence/dirwatch.h"
#include "podfence/engine.h"
#include "podfence/events.h"
#include "podfence/k8s.h"
#include "podfence/kstore.h"
#include "podfence/log.h"
#include "podfence/metrics.h"
#include "podfence/pod.h"
#include "podfence/policy.h"
#include "podfence/runtime.h"
#include "../cli/commands.h"

/* Changes are applied this long after the last file event (editors write in bursts). */
#define DEBOUNCE_MS 50
#define TICK_MS	    100
#define RETRY_MS    500
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
	FILE *events;
	int epfd, sigfd, ctlfd;
	bool ready;
	bool took_over;
	long long rescan_due_ms; /* 0: none */
	long long next_retry_ms;
	unsigned long long events_written;
	time_t started;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void policy_file_changed(void *ctx, const char *path)
{
	struct agent *a = ctx;
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	int err;

	err = pf_policy_parse_file(path, &pols, &diags);
	if (err && !diags.n_errors)
		pf_diags_error(&diags, path, 0, 0, "cannot read: %s", strerror(-err));
	/*
	 * An empty file is far more often a write caught halfway than a wish to
	 * drop every policy in it: rejected, so the previous version keeps
	 * enforcing. Deleting the file removes its policies.
	 */
	for (size_t i = 0; i < pols.n; i++) {
		char msg[256];
		size_t n_values;

		if (pf_policy_validate(&pols.v[i], &n_values, msg, sizeof(msg)))
			pf_diags_error(&diags, path, pols.v[i].line, pols.v[i].col, "policy %s: %s",
				       pols.v[i].name, msg);
	}
	if (!err && !diags.n_errors && pols.n == 0)
		pf_diags_error(
		    &diags, path, 0, 0,
		    "defines no policy: rejected (delete the file to remove its policies)");
	if (diags.n)
		pf_diags_print(&diags, stderr);
	if (diags.n_errors)
		pf_warn("%s rejected: %zu error(s); its previous version stays in force", path,
			diags.n_errors);
	else
		pf_info("%s: %zu polic%s", path, pols.n, pols.n == 1 ? "y" : "ies");
	pf_engine_policy_file(a->engine, path, &pols, &diags);
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
}

static void policy_file_removed(void *ctx, const char *path)
{
	struct agent *a = ctx;

	pf_info("%s removed", path);
	pf_engine_policy_file_removed(a->engine, path);
}

static void pod_file_changed(void *ctx, const char *path)
{
	struct agent *a = ctx;
	struct pf_pod_list pods = {};
	struct pf_diags diags = {};
	int err;

	err = pf_pod_parse_file(path, &pods, &diags);
	if (err && !diags.n_errors)
		pf_diags_error(&diags, path, 0, 0, "cannot read: %s", strerror(-err));
	if (diags.n)
		pf_diags_print(&diags, stderr);
	pf_engine_pod_file(a->engine, path, &pods, &diags);
	pf_pod_list_free(&pods);
	pf_diags_free(&diags);
}

static void pod_file_removed(void *ctx, const char *path)
{
	struct agent *a = ctx;

	pf_info("%s removed", path);
	pf_engine_pod_file_removed(a->engine, path);
}

static int on_event(void *ctx, const struct pf_event *ev, size_t size)
{
	struct agent *a = ctx;
	struct json_object *o;

	if (size < sizeof(*ev) - sizeof(ev->path))
		return 0;
	o = pf_event_json(ev, a->engine);
	fprintf(a->events, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(a->events);
	json_object_put(o);
	a->events_written++;
	return 0;
}

static struct json_object *status_json(struct agent *a)
{
	struct json_object *root = pf_engine_status_json(a->engine);
	struct json_object *maps = json_object_new_array(), *stats = json_object_new_object();
	struct pf_kmap_usage usage[32];
	uint64_t st[PF_STAT__MAX];
	uint64_t memlock = 0;
	int n;

	json_object_object_add(root, "backend",
			       json_object_new_string(pf_backend_name(pf_kstore_backend(a->ks))));
	json_object_object_add(root, "ready", json_object_new_boolean(a->ready));
	json_object_object_add(root, "pid", json_object_new_int64(getpid()));
	json_object_object_add(root, "uptime_s", json_object_new_int64(time(NULL) - a->started));
	json_object_object_add(root, "took_over", json_object_new_boolean(a->took_over));
	json_object_object_add(root, "pin_dir",
			       a->kopts.pin_dir ? json_object_new_string(a->kopts.pin_dir) : NULL);
	json_object_object_add(root, "programs_attached",
			       json_object_new_int64(pf_kstore_attached_programs(a->ks)));
	json_object_object_add(root, "events_written", json_object_new_int64(a->events_written));
	n = pf_kstore_usage(a->ks, usage, 32);
	for (int i = 0; i < n; i++) {
		struct json_object *m = json_object_new_object();

		json_object_object_add(m, "name", json_object_new_string(usage[i].name));
		json_object_object_add(m, "max_entries",
				       json_object_new_int64(usage[i].max_entries));
		json_object_object_add(m, "entries", json_object_new_int64(usage[i].entries));
		json_object_object_add(m, "memlock", json_object_new_int64(usage[i].memlock));
		json_object_array_add(maps, m);
		memlock += usage[i].memlock;
	}
	json_object_object_add(root, "maps", maps);
	json_object_object_add(root, "kernel_memory_bytes", json_object_new_int64(memlock));
	if (!pf_kstore_stats(a->ks, st))
		for (int i = 0; i < PF_STAT__MAX; i++)
			json_object_object_add(stats, pf_stat_name(i),
					       json_object_new_int64(st[i]));
	json_object_object_add(root, "kernel_stats", stats);
	if (a->api) {
		struct json_object *api = json_object_new_array();

		for (size_t i = 0; i < PF_K8S_RES__MAX; i++) {
			struct json_object *r = json_object_new_object();
			struct pf_k8s_resource_state rs;

			pf_k8s_watcher_state(a->api, i, &rs);
			json_object_object_add(r, "resource",
					       json_object_new_string(a->api_res[i].name));
			json_object_object_add(r, "listed", json_object_new_boolean(rs.listed));
			json_object_object_add(r, "not_installed",
					       json_object_new_boolean(rs.not_installed));
			json_object_object_add(r, "lists", json_object_new_int64(rs.lists));
			json_object_object_add(r, "watches", json_object_new_int64(rs.watches));
			json_object_object_add(r, "errors", json_object_new_int64(rs.errors));
			json_object_object_add(r, "last_error",
					       json_object_new_string(rs.last_error));
			json_object_object_add(r, "resource_version",
					       json_object_new_string(rs.resource_version));
			json_object_array_add(api, r);
		}
		json_object_object_add(root, "api", api);
	}
	return root;
}

static void handle_client(struct agent *a)
{
	struct json_object *reply;
	char req[256];
	const char *s;
	int fd;

	fd = accept4(a->ctlfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (pf_control_read_request(fd, req, sizeof(req)) == 0) {
		if (strcmp(req, "status") == 0) {
			reply = status_json(a);
		} else {
			reply = json_object_new_object();
			json_object_object_add(reply, "error",
					       json_object_new_string("unknown request"));
		}
		s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		pf_control_write_all(fd, s, strlen(s));
		pf_control_write_all(fd, "\n", 1);
		json_object_put(reply);
	}
	close(fd);
}

static void apply_changes(struct agent *a)
{
	int n = pf_engine_sync(a->engine);

	if (n)
		pf_debug("%d pod(s) updated", n);
}

static void rescan_inputs(struct agent *a)
{
	if (a->policies_watch)
		pf_dirwatch_rescan(a->policies_watch);
	if (a->pods_watch)
		pf_dirwatch_rescan(a->pods_watch);
	apply_changes(a);
}

static int epoll_add(int epfd, int fd, int tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

enum {
	TAG_SIGNAL,
	TAG_CONTROL,
	TAG_EVENTS,
	TAG_POLICIES,
	TAG_PODS,
	TAG_RUNTIME,
	TAG_API,
	TAG_HTTP
};

/* What the API watches learnt: into the engine, then the kernel. */
static void api_apply(struct agent *a)
{
	struct pf_k8s_item *items = pf_k8s_watcher_take(a->api);

	if (!items)
		return;
	a->api_rejected += pf_k8s_source_apply(a->api_source, items);
	apply_changes(a);
	/* Applied to the kernel now: what readiness and the sync time say. */
	for (struct pf_k8s_item *it = items; it; it = it->next) {
		a->api_synced[it->resource] = time(NULL);
		if (it->change == PF_K8S_REPLACE)
			a->api_applied[it->resource] = true;
	}
	pf_k8s_items_free(items);
}

/*
 * Ready: the inputs are loaded and in the kernel, and every API resource's
 * first list too (a resource whose CRD is not installed has nothing to
 * wait for). What /readyz answers, so a rolling update of the DaemonSet
 * moves on only once this node enforces everything.
 */
static bool agent_ready(struct agent *a, char *why, size_t len)
{
	if (!a->ready) {
		snprintf(why, len, "starting");
		return false;
	}
	for (size_t i = 0; a->api && i < PF_K8S_RES__MAX; i++) {
		struct pf_k8s_resource_state rs;

		pf_k8s_watcher_state(a->api, i, &rs);
		if (!a->api_applied[i] && !rs.not_installed) {
			snprintf(why, len, "waiting for the first list of %s%s%s",
				 a->api_res[i].name, rs.last_error[0] ? ": " : "", rs.last_error);
			return false;
		}
	}
	snprintf(why, len, "ok");
	return true;
}

/* The API server's address and credentials; then one watch per resource. */
static int api_start(struct agent *a)
{
	struct pf_k8s_config cfg;
	char err[512] = "", host[256];
	int ret;

	if (!a->kubeconfig && !a->in_cluster)
		return 0;
	ret = a->kubeconfig ? pf_k8s_config_kubeconfig(a->kubeconfig, &cfg, err, sizeof(err))
			    : pf_k8s_config_in_cluster(PF_K8S_SA_DIR, &cfg, err, sizeof(err));
	if (ret) {
		pf_err("Kubernetes API: %s", err);
		return ret;
	}
	if (!a->node_name)
		a->node_name = getenv("NODE_NAME");
	if (!a->node_name && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = 0;
		a->node_name = strdup(host);
	}
	snprintf(a->pod_selector, sizeof(a->pod_selector), "spec.nodeName=%s",
		 a->node_name ? a->node_name : "");
	pf_k8s_resources(a->pod_selector, a->api_res);
	a->api_source = pf_k8s_source_new(a->engine);
	ret = a->api_source ? pf_k8s_watcher_start(&a->api, &cfg, a->api_res, PF_K8S_RES__MAX)
			    : -ENOMEM;
	if (!ret)
		pf_info("Kubernetes API %s: pods of node %s, policies of the cluster", cfg.server,
			a->node_name);
	pf_k8s_config_free(&cfg);
	return ret;
}

/* Per-policy series at most: the rest is summed under policy="(other)" (bounded cardinality). */
#define METRICS_POLICIES_MAX 500

struct policy_series {
	struct pf_prom *prom;
	const char *metric;
	int field; /* 0 matched, 1 blocked, 2 reported */
	size_t n;
	unsigned long long other;
};

static void policy_sample(void *ctx, const char *policy, const struct pf_policy_counters *c)
{
	struct policy_series *ps = ctx;
	unsigned long long v = ps->field == 0	? c->matched
			       : ps->field == 1 ? c->blocked
						: c->reported;

	if (ps->n++ < METRICS_POLICIES_MAX)
		pf_prom_sample(ps->prom, ps->metric, "policy", policy, (double)v);
	else
		ps->other += v;
}

static void gauge(struct pf_prom *p, const char *name, const char *help, double v)
{
	pf_prom_family(p, name, "gauge", help);
	pf_prom_sample(p, name, NULL, NULL, v);
}

/* Prometheus /metrics: every label's values are bounded (docs/kubernetes.md, Metrics). */
static int metrics_text(struct agent *a, struct pf_http_reply *out)
{
	static const struct {
		const char *name, *help;
	} execs[] = {
	    {"podfence_execs_matched_total", "Execs a policy's selectors matched, per policy"},
	    {"podfence_execs_blocked_total", "Execs a policy blocked, per policy"},
	    {"podfence_execs_reported_total",
	     "Execs a policy reported (monitor or Post), per policy"},
	};
	struct pf_engine_counts c;
	struct pf_kmap_usage usage[32];
	uint64_t st[PF_STAT__MAX];
	struct pf_prom p;
	char why[320];
	uint64_t memlock = 0;
	int n, err;

	err = pf_prom_open(&p);
	if (err)
		return err;
	for (size_t i = 0; i < 3; i++) {
		struct policy_series ps = {.prom = &p, .metric = execs[i].name, .field = (int)i};

		pf_prom_family(&p, execs[i].name, "counter", execs[i].help);
		pf_engine_policy_counters(a->engine, policy_sample, &ps);
		if (ps.n > METRICS_POLICIES_MAX)
			pf_prom_sample(&p, execs[i].name, "policy", "(other)", (double)ps.other);
	}
	pf_engine_counts(a->engine, &c);
	gauge(&p, "podfence_ready", "1 once every input is applied to the kernel (/readyz)",
	      agent_ready(a, why, sizeof(why)));
	gauge(&p, "podfence_policies", "TracingPolicies in force",
	      (double)(c.policies - c.bindings - c.templates));
	gauge(&p, "podfence_templates", "PolicyTemplates in force", (double)c.templates);
	gauge(&p, "podfence_bindings", "PolicyBindings in force", (double)c.bindings);
	gauge(&p, "podfence_pods", "Pods of this node known", (double)c.pods);
	gauge(&p, "podfence_pods_pending", "Pods whose cgroup is not found yet",
	      (double)c.pods_pending);
	gauge(&p, "podfence_policy_pods", "(policy or template instance, pod) pairs applied",
	      (double)c.policy_pods);
	gauge(&p, "podfence_rulesets", "Distinct rulesets (workloads) in the kernel",
	      (double)c.workloads);
	gauge(&p, "podfence_cgroups_bound", "Cgroups bound to a ruleset in the kernel",
	      (double)c.bound_cgroups);
	gauge(&p, "podfence_runtime_containers", "Containers announced by their runtime's bundle",
	      (double)c.runtime_containers);
	gauge(&p, "podfence_inputs_rejected",
	      "Policy and pod documents rejected (file or API object)", (double)c.files_rejected);
	gauge(&p, "podfence_workload_errors",
	      "Workloads whose last update failed (previous rules kept)",
	      (double)c.workload_errors);
	gauge(&p, "podfence_policies_without_counters", "Policies enforced without counters",
	      (double)c.policies_without_counters);
	n = pf_kstore_usage(a->ks, usage, 32);
	pf_prom_family(&p, "podfence_map_entries", "gauge", "Entries used in a BPF map");
	for (int i = 0; i < n; i++)
		pf_prom_sample(&p, "podfence_map_entries", "map", usage[i].name, usage[i].entries);
	pf_prom_family(&p, "podfence_map_capacity", "gauge", "Capacity of a BPF map (max_entries)");
	for (int i = 0; i < n; i++)
		pf_prom_sample(&p, "podfence_map_capacity", "map", usage[i].name,
			       usage[i].max_entries);
	for (int i = 0; i < n; i++)
		memlock += usage[i].memlock;
	gauge(&p, "podfence_kernel_memory_bytes", "Kernel memory of podfence's maps",
	      (double)memlock);
	if (!pf_kstore_stats(a->ks, st)) {
		pf_prom_family(&p, "podfence_kernel_events_total", "counter",
			       "What the BPF programs counted, per kind (status kernel_stats)");
		for (int i = 0; i < PF_STAT__MAX; i++)
			pf_prom_sample(&p, "podfence_kernel_events_total", "stat", pf_stat_name(i),
				       (double)st[i]);
	}
	pf_prom_family(&p, "podfence_events_written_total", "counter", "Exec events written");
	pf_prom_sample(&p, "podfence_events_written_total", NULL, NULL, (double)a->events_written);
	pf_prom_family(&p, "podfence_start_time_seconds", "gauge", "When the agent started");
	pf_prom_sample(&p, "podfence_start_time_seconds", NULL, NULL, (double)a->started);
	if (a->api) {
		static const char *const names[] = {"podfence_api_lists_total",
						    "podfence_api_relists_total",
						    "podfence_api_watches_total",
						    "podfence_api_errors_total",
						    "podfence_api_listed",
						    "podfence_api_not_installed",
						    "podfence_api_last_sync_timestamp_seconds"};
		static const char *const helps[] = {
		    "Lists of a resource (the first and every relist)",
		    "Relists of a resource (410 Expired, reconnections after errors)",
		    "Watches started on a resource (each restart counts)",
		    "Failed requests on a resource",
		    "1 once the first list of a resource is applied to the kernel",
		    "1 while the API server answers 404 for a resource (CRD not installed)",
		    "When a change of a resource was last applied to the kernel (0: never)"};

		for (size_t m = 0; m < 7; m++) {
			pf_prom_family(&p, names[m], m < 4 ? "counter" : "gauge", helps[m]);
			for (size_t i = 0; i < PF_K8S_RES__MAX; i++) {
				struct pf_k8s_resource_state rs;
				double v[7];

				pf_k8s_watcher_state(a->api, i, &rs);
				v[0] = (double)rs.lists;
				v[1] = rs.lists > 1 ? (double)(rs.lists - 1) : 0;
				v[2] = (double)rs.watches;
				v[3] = (double)rs.errors;
				v[4] = a->api_applied[i];
				v[5] = rs.not_installed;
				v[6] = (double)a->api_synced[i];
				pf_prom_sample(&p, names[m], "resource", a->api_res[i].name, v[m]);
			}
		}
		pf_prom_family(&p, "podfence_api_objects_rejected_total", "counter",
			       "API objects that did not decode (their last good version stays)");
		pf_prom_sample(&p, "podfence_api_objects_rejected_total", NULL, NULL,
			       (double)a->api_rejected);
	}
	return pf_prom_close(&p, out);
}

static void text_reply(struct pf_http_reply *out, unsigned status, const char *text)
{
	out->status = status;
	out->content_type = "text/plain; charset=utf-8";
	if (asprintf(&out->body, "%s\n", text) < 0)
		out->body = NULL;
	out->len = out->body ? strlen(out->body) : 0;
}

static void http_request(void *ctx, const char *path, struct pf_http_reply *out)
{
	struct agent *a = ctx;
	char why[320];

	if (strcmp(path, "/healthz") == 0) {
		/* Answered by the main loop itself: it is alive. */
		text_reply(out, 200, "ok");
	} else if (strcmp(path, "/readyz") == 0) {
		bool ready = agent_ready(a, why, sizeof(why));

		text_reply(out, ready ? 200 : 503, why);
	} else if (strcmp(path, "/metrics") == 0) {
		if (metrics_text(a, out))
			text_reply(out, 500, "out of memory");
	}
}

static void runtime_container(void *ctx, const struct pf_runtime_container *c)
{
	struct agent *a = ctx;
	int err = pf_engine_runtime_container(a->engine, c);

	if (err)
		pf_err("runtime: container %s of pod %s/%s: %s", c->id, c->pod_namespace,
		       c->pod_name, strerror(-err));
}

static void runtime_container_gone(void *ctx, const char *id)
{
	struct agent *a = ctx;

	pf_engine_runtime_container_gone(a->engine, id);
}

/*
 * The node's mount namespace, where the runtime runs: pid 1's (the agent
 * runs in a container of its own with hostPID), else the agent's own.
 */
static uint32_t node_mntns_inum(void)
{
	struct stat sb;

	if (stat("/proc/1/ns/mnt", &sb) == 0)
		return (uint32_t)sb.st_ino;
	if (stat("/proc/self/ns/mnt", &sb) == 0) {
		pf_info("pid 1's mount namespace is not readable: the runtime is taken to run in "
			"the agent's own");
		return (uint32_t)sb.st_ino;
	}
	return 0;
}

static int setup(struct agent *a)
{
	struct pf_dirwatch_ops pol_ops = {policy_file_changed, policy_file_removed, a};
	struct pf_dirwatch_ops pod_ops = {pod_file_changed, pod_file_removed, a};
	struct pf_runtime_watch_ops rt_ops = {runtime_container, runtime_container_gone, a};
	sigset_t mask;
	int err = 0, rbfd;

	a->started = time(NULL);
	a->events = stdout;
	if (a->events_path) {
		a->events = fopen(a->events_path, "ae");
		if (!a->events) {
			pf_err("open events file %s: %s", a->events_path, strerror(errno));
			return -errno;
		}
	}
	pf_kstore_mount_prerequisites(a->kopts.pin_dir);
	a->kopts.node_mntns_inum = node_mntns_inum();
	err = pf_kstore_open(&a->ks, &a->kopts, &a->took_over);
	if (err) {
		pf_err("cannot load the BPF programs: %s", strerror(-err));
		return err;
	}
	a->engine = pf_engine_new(pf_kstore_store(a->ks), a->cgroup_root);
	if (!a->engine)
		return -ENOMEM;
	if (a->policies_dir)
		err = pf_dirwatch_open(&a->policies_watch, a->policies_dir, &pol_ops);
	if (!err && a->pods_dir)
		err = pf_dirwatch_open(&a->pods_watch, a->pods_dir, &pod_ops);
	if (err) {
		pf_err("watch %s / %s: %s", a->policies_dir, a->pods_dir, strerror(-err));
		return err;
	}
	err = api_start(a);
	if (err)
		return err;
	err = pf_runtime_watch_open(&a->runtime_watch, a->runtime_dirs, a->n_runtime_dirs, &rt_ops);
	if (err) {
		pf_err("watch the runtimes' state: %s", strerror(-err));
		return err;
	}
	rbfd = pf_kstore_events_open(a->ks, on_event, a);
	if (rbfd < 0)
		return rbfd;
	a->ctlfd = pf_control_listen(a->socket_path);
	if (a->ctlfd < 0) {
		pf_err("control socket %s: %s", a->socket_path, strerror(-a->ctlfd));
		return a->ctlfd;
	}
	if (a->metrics_addr) {
		char why[512];

		err = pf_http_start(&a->http, a->metrics_addr, http_request, a, why, sizeof(why));
		if (err) {
			pf_err("%s", why);
			return err;
		}
		pf_info("metrics: /healthz, /readyz, /metrics on %s (port %u)", a->metrics_addr,
			pf_http_port(a->http));
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->sigfd < 0 || a->epfd < 0)
		return -errno;
	if ((err = epoll_add(a->epfd, a->sigfd, TAG_SIGNAL)) ||
	    (err = epoll_add(a->epfd, a->ctlfd, TAG_CONTROL)) ||
	    (err = epoll_add(a->epfd, rbfd, TAG_EVENTS)) ||
	    (a->policies_watch &&
	     (err = epoll_add(a->epfd, pf_dirwatch_fd(a->policies_watch), TAG_POLICIES))) ||
	    (a->pods_watch &&
	     (err = epoll_add(a->epfd, pf_dirwatch_fd(a->pods_watch), TAG_PODS))) ||
	    (a->api && (err = epoll_add(a->epfd, pf_k8s_watcher_fd(a->api), TAG_API))) ||
	    (a->http && (err = epoll_add(a->epfd, pf_http_fd(a->http), TAG_HTTP))) ||
	    (err = epoll_add(a->epfd, pf_runtime_watch_fd(a->runtime_watch), TAG_RUNTIME)))
		return err;

	/* Initial state: every input, then (after a takeover) drop what nothing needs. */
	rescan_inputs(a);
	if (a->took_over) {
		err = pf_engine_takeover_gc(a->engine);
		if (err)
			pf_warn("cleaning up the previous agent's state: %s", strerror(-err));
	}
	pf_engine_collect(a->engine);
	a->ready = true;
	pf_info("ready: policies from %s, pods from %s%s, control socket %s",
		a->policies_dir ? a->policies_dir : "-", a->pods_dir ? a->pods_dir : "-",
		a->api ? " and the Kubernetes API" : "", a->socket_path);
	return 0;
}

static int run(struct agent *a)
{
	struct epoll_event evs[8];
	struct signalfd_siginfo si;

	for (;;) {
		int n = epoll_wait(a->epfd, evs, 8, TICK_MS);
		long long now;

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_SIGNAL:
				if (read(a->sigfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					a->rescan_due_ms = now_ms();
					break;
				}
				pf_info("signal %u: exiting; pinned programs keep enforcing",
					si.ssi_signo);
				return 0;
			case TAG_CONTROL:
				handle_client(a);
				break;
			case TAG_EVENTS:
				pf_kstore_events_poll(a->ks, 0);
				break;
			case TAG_API:
				api_apply(a);
				break;
			case TAG_HTTP:
				pf_http_run(a->http);
				break;
			case TAG_RUNTIME:
				/* Not debounced: the runtime creates the cgroup right after. */
				pf_runtime_watch_drain(a->runtime_watch);
				break;
			case TAG_POLICIES:
			case TAG_PODS:
				if (pf_dirwatch_drain(evs[i].data.u32 == TAG_PODS
							  ? a->pods_watch
							  : a->policies_watch))
					a->rescan_due_ms = now_ms() + DEBOUNCE_MS;
				break;
			}
		}
		now = now_ms();
		if (a->rescan_due_ms && now >= a->rescan_due_ms) {
			a->rescan_due_ms = 0;
			rescan_inputs(a);
		}
		if (now >= a->next_retry_ms) {
			a->next_retry_ms = now + RETRY_MS;
			pf_runtime_watch_retry(a->runtime_watch);
			pf_engine_retry_pending(a->engine);
		}
		if (pf_engine_has_garbage(a->engine))
			pf_engine_collect(a->engine);
		pf_http_run(a->http); /* its connection timeouts */
	}
}

static void teardown(struct agent *a)
{
	if (a->socket_path && a->ctlfd > 0)
		unlink(a->socket_path);
	pf_http_stop(a->http);
	pf_dirwatch_close(a->policies_watch);
	pf_dirwatch_close(a->pods_watch);
	pf_runtime_watch_close(a->runtime_watch);
	pf_k8s_watcher_stop(a->api); /* its threads first: they queue for the engine */
	pf_k8s_source_free(a->api_source);
	pf_engine_free(a->engine);
	pf_kstore_close(a->ks);
	if (a->events && a->events != stdout)
		fclose(a->events);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: podfence agent [--policies DIR] [--pods DIR] [--kubeconfig FILE | "
	    "--in-cluster]\n"
	    "                      [OPTIONS]\n"
	    "\n"
	    "Loads podfence's BPF programs (or takes over pinned ones), enforces the policies\n"
	    "in DIR on the pods in DIR, and keeps both in sync while files change.\n"
	    "\n"
	    "Options:\n"
	    "  --policies DIR       policy files (.yaml/.yml/.json), watched\n"
	    "  --pods DIR           Pod manifests (kubectl get pod -o yaml|json), watched\n"
	    "  --kubeconfig FILE    the Kubernetes API (its current context): this node's pods,\n"
	    "                       the cluster's TracingPolicies, PolicyTemplates, "
	    "PolicyBindings\n"
	    "  --in-cluster         the same, from the pod's service account\n"
	    "  --node-name NAME     this node (default: $NODE_NAME, then the host name)\n"
	    "  --metrics-addr ADDR  serve /healthz, /readyz and Prometheus /metrics on ADDR\n"
	    "                       (HOST:PORT, :PORT, [IPV6]:PORT)\n"
	    "  --events FILE        append events as JSON lines (default: stdout)\n"
	    "  --socket PATH        control socket (default %s)\n"
	    "  --pin-dir DIR        pinned state (default %s)\n"
	    "  --backend NAME       auto (default), lsm, fmod_ret, tracepoint or tracepoint-late\n"
	    "  --cgroup-root DIR    cgroup2 mount (default: from /proc/self/mountinfo)\n"
	    "  --runtime-state DIR  a container runtime's bundle directory, watched to bind\n"
	    "                       each container's cgroup at creation (default: %s\n"
	    "                       and %s; \"none\": only the pods'\n"
	    "                       status identifies containers); repeatable\n"
	    "  --map-size MAP=N     size a map at start (cg_workload, wl_rules_s, wl_rules_l,\n"
	    "                       exact_s, exact_m, exact_l, prefix_trie, suffix_trie,\n"
	    "                       pol_counters, cg_expect); repeatable\n"
	    "  -v, --verbose        debug logging\n"
	    "  -h, --help           this help\n",
	    PF_SOCKET_DEFAULT, PF_PIN_DIR_DEFAULT, PF_RUNTIME_STATE_CONTAINERD,
	    PF_RUNTIME_STATE_CRIO);
}

static int parse_map_size(struct pf_kstore_opts *o, const char *arg)
{
	char name[32];
	const char *eq = strchr(arg, '=');
	enum pf_kmap m;
	char *end;
	unsigned long v;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return -EINVAL;
	memcpy(name, arg, eq - arg);
	name[eq - arg] = 0;
	v = strtoul(eq + 1, &end, 10);
	if (*end || !v || v > (1UL << 30) || pf_kmap_parse(name, &m))
		return -EINVAL;
	o->max_entries[m] = v;
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"policies", required_argument, NULL, 'P'},
	    {"pods", required_argument, NULL, 'p'},
	    {"events", required_argument, NULL, 'e'},
	    {"socket", required_argument, NULL, 's'},
	    {"pin-dir", required_argument, NULL, 'd'},
	    {"backend", required_argument, NULL, 'b'},
	    {"cgroup-root", required_argument, NULL, 'c'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"runtime-state", required_argument, NULL, 'r'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"in-cluster", no_argument, NULL, 'i'},
	    {"node-name", required_argument, NULL, 'n'},
	    {"metrics-addr", required_argument, NULL, 'M'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct agent a = {
	    .kopts = {.pin_dir = PF_PIN_DIR_DEFAULT, .attach = true},
	    .socket_path = PF_SOCKET_DEFAULT,
	    .ctlfd = -1,
	};
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			a.policies_dir = optarg;
			break;
		case 'p':
			a.pods_dir = optarg;
			break;
		case 'e':
			a.events_path = optarg;
			break;
		case 's':
			a.socket_path = optarg;
			break;
		case 'd':
			a.kopts.pin_dir = optarg;
			break;
		case 'c':
			a.cgroup_root = optarg;
			break;
		case 'k':
			a.kubeconfig = optarg;
			break;
		case 'i':
			a.in_cluster = true;
			break;
		case 'n':
			a.node_name = optarg;
			break;
		case 'M':
			a.metrics_addr = optarg;
			break;
		case 'r':
			a.runtime_dirs_given = true;
			if (strcmp(optarg, "none") == 0)
				break;
			if (a.n_runtime_dirs == RUNTIME_DIRS_MAX) {
				fprintf(stderr, "Error: more than %d --runtime-state directories\n",
					RUNTIME_DIRS_MAX);
				return 1;
			}
			a.runtime_dirs[a.n_runtime_dirs++] = optarg;
			break;
		case 'v':
			pf_log_set_level(PF_LOG_DEBUG);
			break;
		case 'b':
			if (pf_backend_parse(optarg, &a.kopts.backend)) {
				fprintf(stderr, "Error: unknown backend \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'm':
			if (parse_map_size(&a.kopts, optarg)) {
				fprintf(
				    stderr,
				    "Error: --map-size wants MAP=N with a known map, got \"%s\"\n",
				    optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if ((!a.policies_dir || !a.pods_dir) && !a.kubeconfig && !a.in_cluster) {
		fprintf(stderr,
			"Error: --policies and --pods, or the Kubernetes API (--kubeconfig, "
			"--in-cluster), are required\n");
		usage(stderr);
		return 1;
	}
	if (!a.runtime_dirs_given) {
		a.runtime_dirs[a.n_runtime_dirs++] = PF_RUNTIME_STATE_CONTAINERD;
		a.runtime_dirs[a.n_runtime_dirs++] = PF_RUNTIME_STATE_CRIO;
	}
	pf_log_route_libbpf();
	err = setup(&a);
	if (!err)
		err = run(&a);
	teardown(&a);
	return err ? 1 : 0;
}
