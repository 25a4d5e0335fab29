// SPDX-License-Identifier: Apache-2.0
/*
 * What the agent tells: the status document of the control socket, its
 * readiness, and the /healthz, /readyz and /metrics answers.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "podfence/events.h"
#include "agent.h"

struct json_object *agent_status_json(struct agent *a)
{
	struct json_object *root = pf_engine_status_json(a->engine);
	struct json_object *maps = json_object_new_array(), *stats = json_object_new_object();
	struct pf_kmap_usage usage[32];
	uint64_t st[PF_STAT__MAX];
	uint64_t memlock = 0;
	char why[320];
	int n;

	json_object_object_add(root, "backend",
			       json_object_new_string(pf_backend_name(pf_kstore_backend(a->ks))));
	/* "compat": the build for kernels without bpf_loop (docs/kernels.md, "Two builds of the
	 * programs") */
	json_object_object_add(
	    root, "programs",
	    json_object_new_string(pf_kstore_compat(a->ks) ? "compat" : "default"));
	json_object_object_add(root, "ready", json_object_new_boolean(a->ready));
	agent_ready(a, why, sizeof(why));
	json_object_object_add(root, "readiness", json_object_new_string(why));
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
	else
		memset(st, 0, sizeof(st));
	json_object_object_add(root, "kernel_stats", stats);
	agent_learn_status(a, root, st);
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

/*
 * Ready: the inputs are loaded and in the kernel, and every API resource's
 * first list too (a resource whose CRD is not installed has nothing to
 * wait for). What /readyz answers, so a rolling update of the DaemonSet
 * moves on only once this node enforces everything.
 */
bool agent_ready(struct agent *a, char *why, size_t len)
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

/* Per-policy series at most: the rest is summed under policy="(other)" (bounded cardinality). */
#define METRICS_POLICIES_MAX 500

/* Every policy's counters, read from the kernel once per scrape for the three families. */
struct policy_counts {
	struct {
		const char *policy; /* the engine's key: valid until the engine changes */
		struct pf_policy_counters c;
	} * v;
	size_t n, cap;
	bool lost; /* beyond the cap (or out of memory): the rest summed under "(other)" */
	struct pf_policy_counters other;
};

static void policy_counts_add(void *ctx, const char *policy, const struct pf_policy_counters *c)
{
	struct policy_counts *pc = ctx;

	if (pc->n == pc->cap && pc->n < METRICS_POLICIES_MAX) {
		size_t cap = pc->cap ? pc->cap * 2 : 64;
		void *v = realloc(pc->v, cap * sizeof(*pc->v));

		if (v) {
			pc->v = v;
			pc->cap = cap;
		}
	}
	if (pc->n < pc->cap && pc->n < METRICS_POLICIES_MAX) {
		pc->v[pc->n].policy = policy;
		pc->v[pc->n++].c = *c;
		return;
	}
	pc->lost = true;
	pc->other.matched += c->matched;
	pc->other.blocked += c->blocked;
	pc->other.reported += c->reported;
}

static unsigned long long counter_field(const struct pf_policy_counters *c, size_t field)
{
	return field == 0 ? c->matched : field == 1 ? c->blocked : c->reported;
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
	struct policy_counts pc = {};
	struct pf_prom p;
	char why[320];
	uint64_t memlock = 0;
	int n, err;

	err = pf_prom_open(&p);
	if (err)
		return err;
	pf_engine_policy_counters(a->engine, policy_counts_add, &pc);
	for (size_t i = 0; i < 3; i++) {
		pf_prom_family(&p, execs[i].name, "counter", execs[i].help);
		for (size_t k = 0; k < pc.n; k++)
			pf_prom_sample(&p, execs[i].name, "policy", pc.v[k].policy,
				       (double)counter_field(&pc.v[k].c, i));
		if (pc.lost)
			pf_prom_sample(&p, execs[i].name, "policy", "(other)",
				       (double)counter_field(&pc.other, i));
	}
	free(pc.v);
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

		double v[PF_K8S_RES__MAX][7];

		for (size_t i = 0; i < PF_K8S_RES__MAX; i++) {
			struct pf_k8s_resource_state rs;

			pf_k8s_watcher_state(a->api, i, &rs);
			v[i][0] = (double)rs.lists;
			v[i][1] = rs.lists > 1 ? (double)(rs.lists - 1) : 0;
			v[i][2] = (double)rs.watches;
			v[i][3] = (double)rs.errors;
			v[i][4] = a->api_applied[i];
			v[i][5] = rs.not_installed;
			v[i][6] = (double)a->api_synced[i];
		}
		for (size_t m = 0; m < 7; m++) {
			pf_prom_family(&p, names[m], m < 4 ? "counter" : "gauge", helps[m]);
			for (size_t i = 0; i < PF_K8S_RES__MAX; i++)
				pf_prom_sample(&p, names[m], "resource", a->api_res[i].name,
					       v[i][m]);
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

void agent_http_request(void *ctx, const char *path, struct pf_http_reply *out)
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
