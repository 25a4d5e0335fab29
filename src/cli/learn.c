// SPDX-License-Identifier: Apache-2.0
/*
 * `podfence learn`: start and stop learning on a running agent, and turn
 * proposals (the agent's, or PolicyProposal files from several nodes or
 * the API: `kubectl get policyproposals -o json`) into reviewed bindings.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "podfence/control.h"
#include "podfence/learn.h"
#include "podfence/policy.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: podfence learn start SCOPE [--seed-from-proc]\n"
	    "       podfence learn stop SCOPE\n"
	    "       podfence learn show [FILTER] [--from FILE]... [--json]\n"
	    "       podfence learn diff [FILTER] --against FILE... [--from FILE]...\n"
	    "       podfence learn write DIR [FILTER] [--from FILE]... [--template NAME]\n"
	    "                            [--parameter NAME] [--monitor] [--include-sessions]\n"
	    "       podfence learn template [--template NAME] [--parameter NAME]\n"
	    "\n"
	    "SCOPE and FILTER: * (every pod of the node), NAMESPACE, or NAMESPACE/KIND/NAME\n"
	    "(KIND: Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, Pod).\n"
	    "\n"
	    "  --seed-from-proc   also record what the workload's processes run now\n"
	    "  --from FILE        PolicyProposal JSON (one object, an array, or a List, as\n"
	    "                     kubectl get policyproposals -o json prints it), repeatable;\n"
	    "                     without it, the running agent's proposals\n"
	    "  --against FILE     PolicyBinding files whose values the proposal is compared with\n"
	    "  --template NAME    template the bindings instantiate (default exec-allowlist)\n"
	    "  --parameter NAME   its parameter (default allowedExecs)\n"
	    "  --monitor          bind NAME-monitor: report what the proposal misses, block "
	    "nothing\n"
	    "  --include-sessions allow what exec sessions (kubectl exec) ran too\n"
	    "  --socket PATH      the agent's control socket (default %s)\n"
	    "  --json             the merged proposals as JSON\n",
	    PF_SOCKET_DEFAULT);
}

struct learn_opts {
	const char *socket_path;
	const char *from[64];
	size_t n_from;
	const char *against[64];
	size_t n_against;
	bool json, seed;
	struct pf_proposal_opts prop;
};

static int request(const struct learn_opts *o, const char *cmd, struct json_object **out)
{
	char *reply = NULL;
	int err = pf_control_request(o->socket_path, cmd, &reply);
	struct json_object *j, *e;

	if (err) {
		fprintf(stderr, "Error: no agent answers on %s: %s\n", o->socket_path,
			strerror(-err));
		return -err;
	}
	j = json_tokener_parse(reply);
	free(reply);
	if (!j) {
		fprintf(stderr, "Error: unreadable reply from the agent\n");
		return EBADMSG;
	}
	if (json_object_is_type(j, json_type_object) && json_object_object_get_ex(j, "error", &e)) {
		fprintf(stderr, "Error: %s\n", json_object_get_string(e));
		json_object_put(j);
		return EINVAL;
	}
	*out = j;
	return 0;
}

/* Appends the proposals of a file (object, array or List) to arr. */
static int read_proposals(const char *file, struct json_object *arr)
{
	struct json_object *j = json_object_from_file(file), *items;

	if (!j) {
		fprintf(stderr, "Error: %s: not JSON: %s\n", file, json_util_get_last_err());
		return EINVAL;
	}
	if (json_object_is_type(j, json_type_object) &&
	    json_object_object_get_ex(j, "items", &items))
		j = (json_object_get(items), json_object_put(j), items);
	if (json_object_is_type(j, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(j); i++)
			json_object_array_add(arr,
					      json_object_get(json_object_array_get_idx(j, i)));
		json_object_put(j);
	} else {
		json_object_array_add(arr, j);
	}
	return 0;
}

/* The merged proposals: from files, or from the agent. */
static int merged_proposals(const struct learn_opts *o, const char *filter,
			    struct json_object **out)
{
	struct json_object *all = json_object_new_array(), *errors = json_object_new_array();
	int rc = 0;

	if (!o->n_from) {
		char cmd[512];

		json_object_put(all);
		snprintf(cmd, sizeof(cmd), "learn show %s", filter ? filter : "");
		rc = request(o, cmd, &all);
		if (rc) {
			json_object_put(errors);
			return rc;
		}
	}
	for (size_t i = 0; i < o->n_from && !rc; i++)
		rc = read_proposals(o->from[i], all);
	if (!rc) {
		*out = pf_proposal_merge(all, errors);
		for (size_t i = 0; i < json_object_array_length(errors); i++)
			fprintf(stderr, "Warning: %s\n",
				json_object_get_string(json_object_array_get_idx(errors, i)));
	}
	json_object_put(all);
	json_object_put(errors);
	return rc;
}

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return v ? json_object_get_string(v) : "";
}

static bool filter_keeps(struct json_object *p, const char *filter)
{
	char wl[600];

	if (!filter || !filter[0] || !strcmp(filter, "*"))
		return true;
	snprintf(wl, sizeof(wl), "%s/%s/%s", jstr(jget(p, "metadata"), "namespace"),
		 jstr(jget(jget(p, "spec"), "targetRef"), "kind"),
		 jstr(jget(jget(p, "spec"), "targetRef"), "name"));
	return strchr(filter, '/') ? !strcmp(filter, wl)
				   : !strcmp(filter, jstr(jget(p, "metadata"), "namespace"));
}

static void show_text(struct json_object *merged, const char *filter)
{
	static const char *const lists[] = {"execs", "sessions", "temporary", "outsideView"};

	printf("%-32s %-14s %-11s %5s %8s  %-20s %-20s %s\n", "WORKLOAD", "CONTAINER", "LIST",
	       "PODS", "EXECS", "FIRST SEEN", "LAST SEEN", "PATH");
	for (size_t i = 0; i < json_object_array_length(merged); i++) {
		struct json_object *p = json_object_array_get_idx(merged, i);
		struct json_object *conts =
		    jget(jget(jget(jget(p, "spec"), "nodes"), "*"), "containers");
		char wl[600];

		if (!filter_keeps(p, filter))
			continue;
		snprintf(wl, sizeof(wl), "%s/%s/%s", jstr(jget(p, "metadata"), "namespace"),
			 jstr(jget(jget(p, "spec"), "targetRef"), "kind"),
			 jstr(jget(jget(p, "spec"), "targetRef"), "name"));
		json_object_object_foreach(conts, cname, cj)
		{
			for (size_t l = 0; l < 4; l++) {
				struct json_object *items = jget(cj, lists[l]);

				for (size_t k = 0; items && k < json_object_array_length(items);
				     k++) {
					struct json_object *it =
					    json_object_array_get_idx(items, k);

					printf(
					    "%-32s %-14s %-11s %5lld %8lld  %-20s %-20s %s%s%s\n",
					    wl, cname, lists[l],
					    (long long)json_object_get_int64(jget(it, "pods")),
					    (long long)json_object_get_int64(jget(it, "execs")),
					    jstr(it, "firstSeen"), jstr(it, "lastSeen"),
					    jstr(it, "path"),
					    jget(it, "suggestedPrefix") ? "  -> Prefix " : "",
					    jget(it, "suggestedPrefix")
						? jstr(it, "suggestedPrefix")
						: "");
				}
			}
		}
	}
}

/* The values bindings in the files give one workload's container; false: none binds it. */
static bool bound_values(struct pf_policy_list *bindings, const char *ns, const char *kind,
			 const char *name, const char *container, const char *param,
			 struct pf_strset *out)
{
	bool found = false;

	for (size_t i = 0; i < bindings->n; i++) {
		struct pf_policy *b = &bindings->v[i];

		if (b->type != PF_POLICY_BINDING || !b->target.kind || !b->namespace ||
		    strcmp(b->namespace, ns) || strcmp(b->target.kind, kind) ||
		    strcmp(b->target.name, name) ||
		    (b->containers.n && !pf_strset_has(&b->containers, container)))
			continue;
		found = true;
		for (size_t v = 0; v < b->n_values; v++)
			if (!strcmp(b->values[v].param, param))
				pf_strset_union(out, &b->values[v].values);
	}
	return found;
}

static int diff(const struct learn_opts *o, struct json_object *merged, const char *filter)
{
	struct pf_policy_list bindings = {};
	int changes = 0;

	for (size_t i = 0; i < o->n_against; i++) {
		struct pf_diags diags = {};
		struct pf_policy_list one = {};

		if (pf_policy_parse_file(o->against[i], &one, &diags)) {
			pf_diags_print(&diags, stderr);
			pf_diags_free(&diags);
			return EINVAL;
		}
		pf_diags_free(&diags);
		for (size_t k = 0; k < one.n; k++)
			pf_policy_list_push(&bindings, &one.v[k]); /* moved: one.v[k] zeroed */
		pf_policy_list_free(&one);
	}
	for (size_t i = 0; i < json_object_array_length(merged); i++) {
		struct json_object *p = json_object_array_get_idx(merged, i);
		struct json_object *t = jget(jget(p, "spec"), "targetRef");
		struct json_object *conts =
		    jget(jget(jget(jget(p, "spec"), "nodes"), "*"), "containers");
		const char *ns = jstr(jget(p, "metadata"), "namespace");

		if (!filter_keeps(p, filter))
			continue;
		json_object_object_foreach(conts, cname, cj)
		{
			struct json_object *ex = jget(cj, "execs");
			struct pf_strset enforced = {}, learned = {};
			bool bound = bound_values(&bindings, ns, jstr(t, "kind"), jstr(t, "name"),
						  cname, o->prop.parameter, &enforced);

			for (size_t k = 0; ex && k < json_object_array_length(ex); k++)
				pf_strset_add(&learned,
					      jstr(json_object_array_get_idx(ex, k), "path"));
			printf("%s/%s/%s container %s%s\n", ns, jstr(t, "kind"), jstr(t, "name"),
			       cname, bound ? "" : " (no binding in the files)");
			for (size_t k = 0; k < learned.n; k++)
				if (!pf_strset_has(&enforced, learned.v[k])) {
					printf("+ %s\n", learned.v[k]);
					changes++;
				}
			for (size_t k = 0; k < enforced.n; k++)
				if (!pf_strset_has(&learned, enforced.v[k])) {
					printf("- %s\n", enforced.v[k]);
					changes++;
				}
			pf_strset_free(&enforced);
			pf_strset_free(&learned);
		}
	}
	pf_policy_list_free(&bindings);
	return changes ? 1 : 0; /* like diff(1): 1 when they differ */
}

static int write_bindings(const struct learn_opts *o, struct json_object *merged, const char *dir,
			  const char *filter)
{
	int written = 0;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "Error: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < json_object_array_length(merged); i++) {
		struct json_object *p = json_object_array_get_idx(merged, i);
		char *yaml, path[4096];
		FILE *f;

		if (!filter_keeps(p, filter) || !(yaml = pf_proposal_bindings_yaml(p, &o->prop)))
			continue;
		snprintf(path, sizeof(path), "%s/learned-%s-%s.yaml", dir,
			 jstr(jget(p, "metadata"), "namespace"), jstr(jget(p, "metadata"), "name"));
		f = fopen(path, "we");
		if (!f || fputs(yaml, f) < 0 || fclose(f)) {
			fprintf(stderr, "Error: %s: %s\n", path, strerror(errno));
			free(yaml);
			return 1;
		}
		printf("%s\n", path);
		free(yaml);
		written++;
	}
	if (!written)
		fprintf(stderr, "Nothing learned%s%s yet\n", filter ? " for " : "",
			filter ? filter : "");
	return 0;
}

int cmd_learn(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"seed-from-proc", no_argument, NULL, 'S'},
	    {"from", required_argument, NULL, 'f'},
	    {"against", required_argument, NULL, 'a'},
	    {"template", required_argument, NULL, 't'},
	    {"parameter", required_argument, NULL, 'p'},
	    {"monitor", no_argument, NULL, 'm'},
	    {"include-sessions", no_argument, NULL, 'i'},
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct learn_opts o = {
	    .socket_path = PF_SOCKET_DEFAULT,
	    .prop = {.template_name = "exec-allowlist", .parameter = "allowedExecs"},
	};
	struct json_object *merged = NULL, *reply = NULL;
	const char *verb, *arg1, *arg2;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			o.seed = true;
			break;
		case 'f':
		case 'a':
			if ((opt == 'f' ? o.n_from : o.n_against) >= 64) {
				fprintf(stderr, "Error: at most 64 files\n");
				return 2;
			}
			if (opt == 'f')
				o.from[o.n_from++] = optarg;
			else
				o.against[o.n_against++] = optarg;
			break;
		case 't':
			o.prop.template_name = optarg;
			break;
		case 'p':
			o.prop.parameter = optarg;
			break;
		case 'm':
			o.prop.monitor = true;
			break;
		case 'i':
			o.prop.include_sessions = true;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	verb = optind < argc ? argv[optind] : NULL;
	arg1 = optind + 1 < argc ? argv[optind + 1] : NULL;
	arg2 = optind + 2 < argc ? argv[optind + 2] : NULL;
	if (!verb) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(verb, "start") || !strcmp(verb, "stop")) {
		char cmd[512];

		if (!arg1) {
			usage(stderr);
			return 2;
		}
		snprintf(cmd, sizeof(cmd), "learn %s %s%s", verb, arg1,
			 !strcmp(verb, "start") && o.seed ? " seed" : "");
		rc = request(&o, cmd, &reply);
		if (!rc) {
			puts(json_object_to_json_string_ext(
			    reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(reply);
		}
		return rc ? 1 : 0;
	}
	if (!strcmp(verb, "template")) {
		char *t = pf_proposal_template_yaml(&o.prop);

		fputs(t ? t : "", stdout);
		free(t);
		return t ? 0 : 1;
	}
	if (!strcmp(verb, "write") && !arg1) {
		usage(stderr);
		return 2;
	}
	if (strcmp(verb, "show") && strcmp(verb, "diff") && strcmp(verb, "write")) {
		fprintf(stderr, "Error: unknown learn command \"%s\"\n", verb);
		usage(stderr);
		return 2;
	}
	if (!strcmp(verb, "diff") && !o.n_against) {
		fprintf(stderr, "Error: learn diff needs --against FILE\n");
		return 2;
	}
	{
		const char *filter = !strcmp(verb, "write") ? arg2 : arg1;

		rc = merged_proposals(&o, filter, &merged);
		if (rc)
			return 1;
		if (!strcmp(verb, "show") && o.json)
			puts(json_object_to_json_string_ext(
			    merged, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		else if (!strcmp(verb, "show"))
			show_text(merged, filter);
		else if (!strcmp(verb, "diff"))
			rc = diff(&o, merged, filter);
		else
			rc = write_bindings(&o, merged, arg1, filter);
	}
	json_object_put(merged);
	return rc;
}
