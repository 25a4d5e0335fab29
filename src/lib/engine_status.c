// SPDX-License-Identifier: Apache-2.0
/*
 * What `podfence status` shows of the engine: counts, per-policy counters,
 * bindings and their state, template instances, and every error.
 */
#include "engine_internal.h"

void pf_engine_counts(const struct pf_engine *e, struct pf_engine_counts *out)
{
	struct policy_ent *pe, *ptmp;
	struct pod_ent *po, *otmp;
	struct source_ent *se, *stmp;
	struct pf_sets_stats ss;

	memset(out, 0, sizeof(*out));
	HASH_ITER (hh, e->policies, pe, ptmp) {
		struct pf_policy *p = defs_active(&pe->defs);

		out->policies += pe->defs.n > 0;
		out->bindings += p && p->type == PF_POLICY_BINDING;
		out->templates += p && p->type == PF_POLICY_TEMPLATE;
		out->policies_without_counters += pe->counters_err != 0;
	}
	HASH_ITER (hh, e->sources, se, stmp) {
		out->policy_files += se->kind == PF_SOURCE_FILE && !se->has_pods;
		out->files_rejected += se->diags.n_errors > 0;
	}
	HASH_ITER (hh, e->pods, po, otmp) {
		out->pods += po->applied != NULL;
		out->pods_pending += po->pending;
		out->workload_errors += po->error[0] != 0;
	}
	out->policy_pods = e->n_policy_pods;
	out->workloads = HASH_CNT(hh, e->wls) - (e->wl_none != NULL);
	out->bound_cgroups = HASH_CNT(hh, e->cgs);
	out->runtime_containers = HASH_CNT(hh, e->runtime);
	pf_sets_stats(e->sets, &ss);
	out->value_sets = ss.sets;
	out->values = ss.values;
}

struct tpl_sum {
	const char *name;
	struct pf_policy_counters c;
	UT_hash_handle hh;
};

int pf_engine_policy_counters(struct pf_engine *e, pf_policy_counters_fn fn, void *ctx)
{
	struct tpl_sum *sums = NULL, *ts, *ttmp;
	struct policy_ent *pe, *tmp;
	int err = 0;

	HASH_ITER (hh, e->policies, pe, tmp) {
		struct pf_policy_counters c = {};

		if (!pe->tpl_name || !pe->n_pods)
			continue;
		pf_store_counters_read(e->st, pe->id, &c);
		HASH_FIND_STR(sums, pe->tpl_name, ts);
		if (!ts) {
			ts = calloc(1, sizeof(*ts));
			if (!ts) {
				err = -ENOMEM;
				continue;
			}
			ts->name = pe->tpl_name;
			HASH_ADD_KEYPTR(hh, sums, ts->name, strlen(ts->name), ts);
			if (!eng_hash_added()) {
				free(ts);
				err = -ENOMEM;
				continue;
			}
		}
		ts->c.matched += c.matched;
		ts->c.blocked += c.blocked;
		ts->c.reported += c.reported;
	}
	HASH_ITER (hh, e->policies, pe, tmp) {
		struct pf_policy *p = defs_active(&pe->defs);
		struct pf_policy_counters c = {};

		if (pe->tpl_name || !p || p->type == PF_POLICY_BINDING)
			continue;
		if (p->type == PF_POLICY_TEMPLATE) {
			HASH_FIND_STR(sums, p->name, ts);
			if (ts)
				c = ts->c;
		} else if (pe->n_pods) {
			pf_store_counters_read(e->st, pe->id, &c);
		}
		fn(ctx, pe->key, &c);
	}
	HASH_ITER (hh, sums, ts, ttmp) {
		HASH_DEL(sums, ts);
		free(ts);
	}
	return err;
}

static struct json_object *json_strings(char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void status_counters(struct pf_engine *e, struct policy_ent *pe, struct json_object *o)
{
	struct pf_policy_counters c = {};

	if (pe->n_pods)
		pf_store_counters_read(e->st, pe->id, &c);
	json_object_object_add(o, "id", json_object_new_int64(pe->id));
	json_object_object_add(o, "pods", json_object_new_int64(pe->n_pods));
	json_object_object_add(o, "matched", json_object_new_int64(c.matched));
	json_object_object_add(o, "blocked", json_object_new_int64(c.blocked));
	json_object_object_add(o, "reported", json_object_new_int64(c.reported));
}

/* Pods each binding takes part in ("namespace/name" -> pods): one pass over the instances. */
struct binding_pods {
	const char *name;
	size_t pods;
	UT_hash_handle hh;
};

static struct binding_pods *binding_pods_count(struct pf_engine *e)
{
	struct binding_pods *map = NULL, *bp;
	struct policy_ent *pe, *tmp;

	HASH_ITER (hh, e->policies, pe, tmp) {
		for (size_t i = 0; i < pe->n_bindings; i++) {
			HASH_FIND_STR(map, pe->bindings[i], bp);
			if (!bp) {
				bp = calloc(1, sizeof(*bp));
				if (!bp)
					continue;
				bp->name = pe->bindings[i];
				HASH_ADD_KEYPTR(hh, map, bp->name, strlen(bp->name), bp);
				if (!eng_hash_added()) {
					free(bp);
					continue;
				}
			}
			bp->pods += pe->n_pods;
		}
	}
	return map;
}

static struct json_object *status_binding(struct pf_engine *e, struct policy_ent *pe,
					  const struct pf_policy *b, struct binding_pods *counts)
{
	struct binding_pods *bp = NULL;
	struct json_object *o = json_object_new_object();
	struct pf_policy *tpl = eng_active_template(e, b->template_ref);
	char where[PATH_MAX + 600], src[PATH_MAX + 8];
	enum pf_binding_state state;
	struct pf_binding_why why;

	json_object_object_add(o, "name", json_object_new_string(b->name));
	json_object_object_add(o, "namespace", json_object_new_string(b->namespace));
	json_object_object_add(o, "template", json_object_new_string(b->template_ref));
	if (b->target.kind) {
		snprintf(where, sizeof(where), "%s/%s", b->target.kind, b->target.name);
		json_object_object_add(o, "target", json_object_new_string(where));
	}
	json_object_object_add(
	    o, "file", json_object_new_string(eng_def_source(&pe->defs.v[0], src, sizeof(src))));
	state = pf_binding_accept(tpl, b, &why);
	json_object_object_add(o, "state", json_object_new_string(pf_binding_state_name(state)));
	if (state == PF_BINDING_REJECTED) {
		snprintf(where, sizeof(where), "%s:%d:%d: %s", b->file, why.line, why.col, why.msg);
		json_object_object_add(o, "error", json_object_new_string(where));
	}
	snprintf(where, sizeof(where), "%s/%s", b->namespace, b->name);
	HASH_FIND_STR(counts, where, bp);
	json_object_object_add(o, "pods", json_object_new_int64(bp ? bp->pods : 0));
	return o;
}

/* Policies and templates with counters, bindings with their state, template instances. */
static void status_policies(struct pf_engine *e, struct json_object *root)
{
	struct json_object *pols = json_object_new_array(), *binds = json_object_new_array();
	struct json_object *insts = json_object_new_array();
	struct json_object *errors = json_object_object_get(root, "errors");
	struct binding_pods *counts = binding_pods_count(e), *bp, *btmp;
	struct policy_ent *pe, *tmp;
	char src[PATH_MAX + 8];

	HASH_ITER (hh, e->policies, pe, tmp) {
		struct pf_policy *p = defs_active(&pe->defs);
		struct json_object *o;

		if (pe->tpl_name) {
			o = json_object_new_object();
			json_object_object_add(o, "template", json_object_new_string(pe->tpl_name));
			json_object_object_add(o, "bindings",
					       json_strings(pe->bindings, pe->n_bindings));
			json_object_object_add(o, "overlap",
					       json_object_new_boolean(pe->n_bindings > 1));
			status_counters(e, pe, o);
			json_object_array_add(insts, o);
			continue;
		}
		if (!p)
			continue;
		for (size_t i = 1; i < pe->defs.n; i++) {
			char msg[PATH_MAX * 3], loser[PATH_MAX + 8], winner[PATH_MAX + 8];

			snprintf(msg, sizeof(msg), "%s: %s %s is also defined in %s, which wins",
				 eng_def_source(&pe->defs.v[i], loser, sizeof(loser)), p->kind,
				 p->name, eng_def_source(&pe->defs.v[0], winner, sizeof(winner)));
			json_object_array_add(errors, json_object_new_string(msg));
		}
		if (p->type == PF_POLICY_BINDING) {
			json_object_array_add(binds, status_binding(e, pe, p, counts));
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "kind", json_object_new_string(p->kind ? p->kind : ""));
		if (p->namespace)
			json_object_object_add(o, "namespace",
					       json_object_new_string(p->namespace));
		json_object_object_add(
		    o, "file",
		    json_object_new_string(eng_def_source(&pe->defs.v[0], src, sizeof(src))));
		json_object_object_add(
		    o, "mode",
		    json_object_new_string(p->mode == PF_MODE_MONITOR ? "monitor" : "enforce"));
		status_counters(e, pe, o);
		json_object_array_add(pols, o);
	}
	HASH_ITER (hh, counts, bp, btmp) {
		HASH_DEL(counts, bp);
		free(bp);
	}
	json_object_object_add(root, "policies", pols);
	json_object_object_add(root, "bindings", binds);
	json_object_object_add(root, "instances", insts);
}

/* Containers where several bindings of one template are united. */
static void status_overlaps(struct pf_engine *e, struct json_object *root)
{
	struct json_object *arr = json_object_new_array();
	struct pod_ent *po, *tmp;

	HASH_ITER (hh, e->pods, po, tmp) {
		for (size_t i = 0; i < po->policies.n; i++) {
			struct policy_ent *ie = po->policies.v[i];
			struct json_object *o;

			if (!ie->tpl_name || ie->n_bindings < 2)
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "pod", json_object_new_string(po->key));
			json_object_object_add(o, "template", json_object_new_string(ie->tpl_name));
			json_object_object_add(o, "bindings",
					       json_strings(ie->bindings, ie->n_bindings));
			json_object_array_add(arr, o);
		}
	}
	json_object_object_add(root, "overlaps", arr);
}

/* Each pod with its workload (what targetRef bindings select) and how many policies it has. */
static void status_pods(struct pf_engine *e, struct json_object *root)
{
	struct json_object *arr = json_object_new_array();
	struct pod_ent *po, *tmp;

	HASH_ITER (hh, e->pods, po, tmp) {
		const struct pf_pod *pod = po->applied;
		struct json_object *o, *w;

		if (!pod)
			continue;
		o = json_object_new_object();
		w = json_object_new_object();
		json_object_object_add(o, "namespace", json_object_new_string(pod->namespace));
		json_object_object_add(o, "name", json_object_new_string(pod->name));
		json_object_object_add(
		    w, "kind",
		    json_object_new_string(pod->workload.kind ? pod->workload.kind : ""));
		json_object_object_add(
		    w, "name",
		    json_object_new_string(pod->workload.name ? pod->workload.name : ""));
		json_object_object_add(o, "workload", w);
		json_object_object_add(o, "policies", json_object_new_int64(po->policies.n));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "pods", arr);
}

/* Cgroup bindings that are not in the kernel: enforced through ancestors, said loudly. */
static void status_bindings(struct pf_engine *e, struct json_object *errors)
{
	uint64_t events = 0, acked = 0;
	char buf[512];

	if (e->bind_failures) {
		snprintf(buf, sizeof(buf),
			 "%zu cgroup binding(s) not written (last: %s); execs there are enforced "
			 "through the nearest bound ancestor; retried every %d s",
			 e->bind_failures, e->bind_error, REPAIR_EVERY_MS / 1000);
		json_object_array_add(errors, json_object_new_string(buf));
	}
	if (!pf_store_cg_overflow(e->st, &events, &acked) && events != acked &&
	    acked != UINT64_MAX) {
		snprintf(
		    buf, sizeof(buf),
		    "the kernel could not bind %llu cgroup(s) at their creation (map cg_workload "
		    "full, %u entries: podfence agent --map-size cg_workload=N); execs there are "
		    "enforced through the nearest bound ancestor",
		    (unsigned long long)(events - (acked < events ? acked : 0)),
		    pf_store_capacity(e->st, PF_KMAP_CGROUPS));
		json_object_array_add(errors, json_object_new_string(buf));
	}
}

struct json_object *pf_engine_status_json(struct pf_engine *e)
{
	struct json_object *root = json_object_new_object();
	struct json_object *counts = json_object_new_object();
	struct json_object *errors = json_object_new_array();
	struct json_object *pending = json_object_new_array();
	struct pf_engine_counts c;
	struct source_ent *se, *stmp;
	struct pod_ent *po, *otmp;
	char buf[4096];

	pf_engine_counts(e, &c);
#define COUNT(f) json_object_object_add(counts, #f, json_object_new_int64(c.f))
	COUNT(policies);
	COUNT(policy_files);
	COUNT(files_rejected);
	COUNT(pods);
	COUNT(pods_pending);
	COUNT(bindings);
	COUNT(templates);
	COUNT(policy_pods);
	COUNT(workloads);
	COUNT(bound_cgroups);
	COUNT(runtime_containers);
	COUNT(value_sets);
	COUNT(values);
	COUNT(workload_errors);
	COUNT(policies_without_counters);
#undef COUNT
	json_object_object_add(root, "counts", counts);
	HASH_ITER (hh, e->sources, se, stmp) {
		for (size_t i = 0; i < se->diags.n; i++) {
			if (se->diags.v[i].sev != PF_SEV_ERROR)
				continue;
			pf_diag_format(&se->diags.v[i], buf, sizeof(buf));
			json_object_array_add(errors, json_object_new_string(buf));
		}
	}
	if (c.policies_without_counters) {
		snprintf(buf, sizeof(buf),
			 "%zu policies (or template instances) enforced without counters: map "
			 "pol_counters full (podfence agent --map-size pol_counters=N)",
			 c.policies_without_counters);
		json_object_array_add(errors, json_object_new_string(buf));
	}
	status_bindings(e, errors);
	if (e->input_error[0])
		json_object_array_add(errors, json_object_new_string(e->input_error));
	if (e->index_lost)
		json_object_array_add(
		    errors,
		    json_object_new_string(
			"out of memory in the selector index: every pod is recomputed on every "
			"change (restart the agent to rebuild it)"));
	HASH_ITER (hh, e->pods, po, otmp) {
		if (po->error[0])
			json_object_array_add(errors, json_object_new_string(po->error));
		if (po->pending)
			json_object_array_add(pending, json_object_new_string(po->key));
	}
	json_object_object_add(root, "errors", errors);
	json_object_object_add(root, "pods_pending", pending);
	status_policies(e, root);
	status_overlaps(e, root);
	status_pods(e, root);
	return root;
}
