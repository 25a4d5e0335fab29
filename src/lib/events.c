// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "podfence/events.h"

/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: shift it to wall-clock time. */
static void event_time(uint64_t ktime_ns, char *buf, size_t len)
{
	struct timespec mono, real;
	int64_t wall_ns;
	time_t secs;
	struct tm tm;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	wall_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
		  ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec - (int64_t)ktime_ns);
	secs = wall_ns / 1000000000;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(wall_ns % 1000000000));
}

static const char *event_action(const struct pf_event *ev)
{
	if (ev->flags & PF_EV_BLOCKED)
		return "blocked";
	if (ev->flags & PF_EV_MONITOR)
		return "would-block";
	return "reported";
}

struct json_object *pf_event_json(const struct pf_event *ev, const struct pf_engine *e)
{
	struct json_object *o = json_object_new_object(), *pols = json_object_new_array();
	struct json_object *binds = NULL;
	bool overlap = false;
	char ts[64], comm[sizeof(ev->comm) + 1];
	struct pf_owner owner = {};
	uint32_t len = ev->path_len < sizeof(ev->path) ? ev->path_len : sizeof(ev->path) - 1;

	event_time(ev->ktime_ns, ts, sizeof(ts));
	memcpy(comm, ev->comm, sizeof(ev->comm));
	comm[sizeof(ev->comm)] = 0;
	if (e)
		pf_engine_owner(e, ev->cgroup_id, ev->workload_id, &owner);
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "pid", json_object_new_int64(ev->tgid));
	json_object_object_add(o, "tid", json_object_new_int64(ev->pid));
	json_object_object_add(o, "comm", json_object_new_string(comm));
	json_object_object_add(o, "path", json_object_new_string_len(ev->path, len));
	json_object_object_add(o, "namespace", owner.pod_namespace ?
				       json_object_new_string(owner.pod_namespace) : NULL);
	json_object_object_add(o, "pod", owner.pod_name ?
				       json_object_new_string(owner.pod_name) : NULL);
	json_object_object_add(o, "container", owner.container ?
				       json_object_new_string(owner.container) : NULL);
	json_object_object_add(o, "cgroup_id", json_object_new_int64((int64_t)ev->cgroup_id));
	for (uint32_t i = 0; i < ev->n_policies && i < PF_EVENT_POLICIES; i++) {
		const char *name = e ? pf_engine_policy_name(e, ev->policies[i].policy_id) : NULL;
		char fallback[32];

		const char *const *bnames;
		size_t nb = e ? pf_engine_policy_bindings(e, ev->policies[i].policy_id, &bnames) : 0;

		snprintf(fallback, sizeof(fallback), "#%u", ev->policies[i].policy_id);
		json_object_array_add(pols, json_object_new_string(name ? name : fallback));
		/* A template instance: which bindings made it (several: their values united). */
		if (nb) {
			struct json_object *arr = json_object_new_array();

			for (size_t b = 0; b < nb; b++)
				json_object_array_add(arr, json_object_new_string(bnames[b]));
			if (!binds)
				binds = json_object_new_object();
			json_object_object_add(binds, name ? name : fallback, arr);
			overlap |= nb > 1;
		}
	}
	json_object_object_add(o, "policy", json_object_array_length(pols) ?
				       json_object_get(json_object_array_get_idx(pols, 0)) : NULL);
	json_object_object_add(o, "policies", pols);
	if (binds) {
		json_object_object_add(o, "bindings", binds);
		json_object_object_add(o, "overlap", json_object_new_boolean(overlap));
	}
	json_object_object_add(o, "action", json_object_new_string(event_action(ev)));
	json_object_object_add(o, "blocked", json_object_new_boolean(ev->flags & PF_EV_BLOCKED));
	if (ev->flags & PF_EV_BLOCKED)
		json_object_object_add(o, "enforcement", json_object_new_string(
			ev->flags & PF_EV_KILLED ? "sigkill" : "eperm"));
	if (ev->flags & PF_EV_PATH_LONG)
		json_object_object_add(o, "path_too_long", json_object_new_boolean(1));
	if (ev->flags & PF_EV_PATH_FAILED)
		json_object_object_add(o, "path_unresolved", json_object_new_boolean(1));
	return o;
}
