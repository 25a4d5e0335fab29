// SPDX-License-Identifier: Apache-2.0
/* Learning's store and proposals (learn.c, learn_proposal.c), without a kernel. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pf_test.h"
#include "pf_sandbox.h"
#include "podfence/learn.h"
#include "podfence/policy.h"

static struct pf_pod pod_of(const char *name, const char *uid, const char *kind, const char *wname)
{
	struct pf_pod p = {.namespace = "shop", .name = (char *)name, .uid = (char *)uid};

	p.workload.kind = (char *)kind;
	p.workload.name = (char *)wname;
	return p;
}

/* A record as the kernel sends it. */
static void record(struct pf_learn *l, uint32_t id, const char *path, const char *caller,
		   uint32_t flags)
{
	struct pf_learn_event ev = {.learn_id = id, .flags = PF_EV_LEARN | flags};
	struct timespec now;
	unsigned long long h = 1469598103934665603ULL;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ev.ktime_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	ev.key = (struct pf_learn_key){.learn_id = id,
				       .flags = flags & PF_LEARN_KEY_FLAGS,
				       .path_hash = h,
				       .caller_hash = caller[0] ? h ^ 1 : 0};
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	snprintf(ev.caller, sizeof(ev.caller), "%s", caller);
	pf_learn_record(l, &ev, sizeof(ev));
}

static struct json_object *jpath(struct json_object *o, const char *const *keys)
{
	for (; o && *keys; keys++)
		o = json_object_object_get(o, *keys);
	return o;
}

/* The paths of one list of a container in a (merged: node "*") proposal. */
static void list_paths(struct json_object *p, const char *node, const char *cont, const char *list,
		       char *out, size_t len)
{
	struct json_object *arr =
	    jpath(p, (const char *const[]){"spec", "nodes", node, "containers", cont, list, NULL});

	out[0] = 0;
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "",
			 json_object_get_string(
			     json_object_object_get(json_object_array_get_idx(arr, i), "path")));
}

PF_TEST(learn_scopes_select_workloads_namespaces_or_all)
{
	struct pf_learn *l;
	struct pf_pod web = pod_of("web-aaa-x", "u1", "Deployment", "web");
	struct pf_pod db = pod_of("db-0", "u2", "StatefulSet", "db");
	char err[256];

	if (!ASSERT_OK(pf_learn_open(&l, NULL, err, sizeof(err)), err))
		return;
	ASSERT_FALSE(pf_learn_in_scope(l, &web), "nothing learns by default");
	ASSERT_EQ(pf_learn_scope_add(l, "shop/Deploy/web", err, sizeof(err)), -EINVAL, "bad kind");
	ASSERT_TRUE(strstr(err, "Deploy") != NULL, err);
	ASSERT_EQ(pf_learn_scope_add(l, "shop/Deployment/", err, sizeof(err)), -EINVAL, "no name");
	ASSERT_OK(pf_learn_scope_add(l, "shop/Deployment/web", err, sizeof(err)), err);
	ASSERT_TRUE(pf_learn_in_scope(l, &web), "the workload learns");
	ASSERT_FALSE(pf_learn_in_scope(l, &db), "another workload does not");
	ASSERT_EQ(pf_learn_id_for(l, &db, "main"), 0, "no id out of scope");
	ASSERT_OK(pf_learn_scope_add(l, "shop", err, sizeof(err)), err);
	ASSERT_TRUE(pf_learn_in_scope(l, &db), "the namespace learns");
	ASSERT_OK(pf_learn_scope_remove(l, "shop"), "removed");
	ASSERT_EQ(pf_learn_scope_remove(l, "shop"), -ENOENT, "removed once");
	ASSERT_OK(pf_learn_scope_add(l, "*", err, sizeof(err)), err);
	ASSERT_TRUE(pf_learn_in_scope(l, &db), "every pod learns");
	ASSERT_NEQ(pf_learn_id_for(l, &web, "main"), 0, "an id");
	ASSERT_EQ(pf_learn_id_for(l, &web, "main"), pf_learn_id_for(l, &web, "main"), "stable");
	ASSERT_NEQ(pf_learn_id_for(l, &web, "main"), pf_learn_id_for(l, &web, "side"),
		   "one per container");
	pf_learn_close(l);
}

PF_TEST(learn_journal_keeps_everything_across_a_restart)
{
	struct pf_pod web = pod_of("web-aaa-x", "u1", "Deployment", "web");
	struct pf_learn *l;
	struct json_object *p;
	char dir[4096], err[256], paths[512];
	uint32_t id;
	FILE *f;

	if (!ASSERT_OK(pf_tmpdir(dir, sizeof(dir)), "tmpdir"))
		return;
	if (!ASSERT_OK(pf_learn_open(&l, dir, err, sizeof(err)), err))
		goto out;
	pf_learn_scope_add(l, "shop/Deployment/web", err, sizeof(err));
	id = pf_learn_id_for(l, &web, "main");
	record(l, id, "/usr/bin/sleep", "/bin/sh", 0);
	record(l, id, "/bin/sh", "", PF_LEARN_RUNTIME_CALLER);
	/* no close: an agent killed here has written every line already */
	{
		struct pf_learn *again;
		char jf[4200];

		/* a line cut by the kill is skipped */
		snprintf(jf, sizeof(jf), "%s/learn-journal", dir);
		if (!ASSERT_OK(pf_learn_open(&again, dir, err, sizeof(err)), err))
			goto out_l;
		(void)jf;
		ASSERT_TRUE(pf_learn_in_scope(again, &web), "scope kept");
		ASSERT_EQ(pf_learn_id_for(again, &web, "main"), id, "id kept");
		p = pf_learn_proposals(again, "n1", NULL);
		ASSERT_EQ(json_object_array_length(p), 1, "one workload");
		list_paths(json_object_array_get_idx(p, 0), "n1", "main", "execs", paths,
			   sizeof(paths));
		ASSERT_STREQ(paths, "/bin/sh /usr/bin/sleep", "both records kept, sorted");
		json_object_put(p);
		pf_learn_close(again);
	}
	/* a torn last line (killed mid-write) costs only itself */
	{
		char jf[4200];
		struct pf_learn *third;
		struct pf_learn_counts c;

		snprintf(jf, sizeof(jf), "%s/journal.jsonl", dir);
		f = fopen(jf, "a");
		fputs("{\"rec\": {\"id\": 1, \"pa", f);
		fclose(f);
		if (ASSERT_OK(pf_learn_open(&third, dir, err, sizeof(err)), err)) {
			pf_learn_counts(third, &c);
			ASSERT_EQ(c.records, 2, "records");
			ASSERT_EQ(c.journal_errors, 1, "the torn line counted");
			pf_learn_close(third);
		}
	}
out_l:
	pf_learn_close(l);
out:
	pf_rm_rf(dir);
}

PF_TEST(learn_proposals_merge_two_nodes_into_the_union)
{
	struct pf_pod a = pod_of("web-aaa-x", "ua", "Deployment", "web");
	struct pf_pod b = pod_of("web-aaa-y", "ub", "Deployment", "web");
	struct pf_learn *n1, *n2;
	struct json_object *all = json_object_new_array(), *pa, *pb, *merged, *errors;
	char err[256], paths[512];
	uint32_t ia, ib;

	pf_learn_open(&n1, NULL, err, sizeof(err));
	pf_learn_open(&n2, NULL, err, sizeof(err));
	pf_learn_scope_add(n1, "shop", err, sizeof(err));
	pf_learn_scope_add(n2, "shop", err, sizeof(err));
	ia = pf_learn_id_for(n1, &a, "main");
	ib = pf_learn_id_for(n2, &b, "main");
	record(n1, ia, "/usr/bin/sleep", "/bin/sh", 0);
	record(n1, ia, "/usr/bin/id", "/bin/sh", 0);
	record(n2, ib, "/usr/bin/sleep", "/bin/sh", 0);
	record(n2, ib, "/usr/bin/uname", "/bin/sh", 0);
	record(n2, ib, "/bin/ls", "/bin/sh", PF_LEARN_SESSION);
	record(n2, ib, "/tmp/tmp.k3J9xq/run.sh", "/bin/sh", 0);
	pa = pf_learn_proposals(n1, "node-a", NULL);
	pb = pf_learn_proposals(n2, "node-b", NULL);
	/* in either order, the same result */
	json_object_array_add(all, json_object_get(json_object_array_get_idx(pb, 0)));
	json_object_array_add(all, json_object_get(json_object_array_get_idx(pa, 0)));
	errors = json_object_new_array();
	merged = pf_proposal_merge(all, errors);
	ASSERT_EQ(json_object_array_length(errors), 0, "no errors");
	ASSERT_EQ(json_object_array_length(merged), 1, "one workload");
	list_paths(json_object_array_get_idx(merged, 0), "*", "main", "execs", paths,
		   sizeof(paths));
	ASSERT_STREQ(paths, "/usr/bin/id /usr/bin/sleep /usr/bin/uname", "exactly the union");
	list_paths(json_object_array_get_idx(merged, 0), "*", "main", "sessions", paths,
		   sizeof(paths));
	ASSERT_STREQ(paths, "/bin/ls", "sessions apart");
	list_paths(json_object_array_get_idx(merged, 0), "*", "main", "temporary", paths,
		   sizeof(paths));
	ASSERT_STREQ(paths, "/tmp/tmp.k3J9xq/run.sh", "temporary apart");
	{
		struct json_object *sleep = json_object_array_get_idx(
		    jpath(json_object_array_get_idx(merged, 0),
			  (const char *const[]){"spec", "nodes", "*", "containers", "main", "execs",
						NULL}),
		    1);

		ASSERT_EQ(json_object_get_int(json_object_object_get(sleep, "pods")), 2,
			  "sleep ran in two pods");
	}
	{
		struct json_object *rev = json_object_new_array(), *m2;

		json_object_array_add(rev, json_object_get(json_object_array_get_idx(pa, 0)));
		json_object_array_add(rev, json_object_get(json_object_array_get_idx(pb, 0)));
		m2 = pf_proposal_merge(rev, NULL);
		ASSERT_STREQ(json_object_to_json_string(m2), json_object_to_json_string(merged),
			     "the same bytes whatever the order");
		json_object_put(m2);
		json_object_put(rev);
	}
	{
		struct pf_proposal_opts o = {.template_name = "exec-allowlist",
					     .parameter = "allowedExecs"};
		char *yaml = pf_proposal_bindings_yaml(json_object_array_get_idx(merged, 0), &o);
		struct pf_policy_list pols = {};
		struct pf_diags d = {};

		ASSERT_TRUE(yaml && strstr(yaml, "suggested Prefix /tmp/tmp.") != NULL,
			    "temporary path with its suggested Prefix");
		if (yaml &&
		    ASSERT_OK(pf_policy_parse_buf("learned.yaml", yaml, strlen(yaml), &pols, &d),
			      "the binding parses")) {
			ASSERT_EQ(pols.n, 1, "one binding");
			ASSERT_STREQ(pols.v[0].target.kind, "Deployment", "targetRef");
			ASSERT_EQ(pols.v[0].values[0].values.n, 3, "three values");
		}
		pf_policy_list_free(&pols);
		pf_diags_free(&d);
		free(yaml);
	}
	json_object_put(merged);
	json_object_put(errors);
	json_object_put(all);
	json_object_put(pa);
	json_object_put(pb);
	pf_learn_close(n1);
	pf_learn_close(n2);
}

PF_TEST(learn_temporary_paths_suggest_a_prefix)
{
	static const char *const cases[][2] = {
	    {"/tmp/tmp.k3J9xq/run.sh", "/tmp/tmp."},
	    {"/tmp/go-build2837462/b001/exe/app", "/tmp/go-build"},
	    {"/tmp/x", "/tmp/"},
	    {"/var/tmp/cache/tool", "/var/tmp/cache/"},
	    {"/dev/shm/pip-req-build-a8b9x/setup", "/dev/shm/pip-req-build-"},
	};
	char prefix[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		ASSERT_TRUE(pf_proposal_temporary(cases[i][0], prefix, sizeof(prefix)),
			    cases[i][0]);
		ASSERT_STREQ(prefix, cases[i][1], cases[i][0]);
	}
	ASSERT_FALSE(pf_proposal_temporary("/usr/bin/tmp/x", prefix, sizeof(prefix)),
		     "not temporary");
}

/*
 * Names and paths are a workload's choice: a line break in one must not
 * write YAML into the binding (values are quoted, comments cleaned).
 */
PF_TEST(learn_bindings_are_not_injected_by_paths_or_names)
{
	static const char *const json =
	    "[{\"metadata\": {\"namespace\": \"shop\", \"name\": \"pod-x\"},"
	    " \"spec\": {\"targetRef\": {\"kind\": \"Pod\", \"name\": \"x\\nspec: evil\"},"
	    "  \"nodes\": {\"n1\\n    - /bin/evil1\": {\"containers\": {\"main\": {"
	    "   \"execs\": [{\"path\": \"/bin/ok\", \"pods\": 1, \"execs\": 1,"
	    "                \"firstSeen\": \"t\\n    - /bin/evil2\", \"lastSeen\": \"t\","
	    "                \"callers\": [\"/bin/sh\\n    - /bin/evil3\"]}],"
	    "   \"sessions\": [{\"path\": \"/bin/s\\n    - /bin/evil4\", \"pods\": 1, \"execs\": "
	    "1}],"
	    "   \"temporary\": [{\"path\": \"/tmp/a\\n    - /bin/evil5\", \"suggestedPrefix\": "
	    "\"/tmp/\\n    - /bin/evil6\", \"pods\": 1, \"execs\": 1}]}}}}}},"
	    " {\"not\": \"a proposal\"}, 42]";
	struct json_object *in = json_tokener_parse(json), *errors = json_object_new_array(), *m;
	struct pf_proposal_opts o = {.template_name = "t", .parameter = "allowedExecs"};
	struct pf_policy_list pols = {};
	struct pf_diags d = {};
	char *yaml;

	m = pf_proposal_merge(in, errors);
	ASSERT_EQ(json_object_array_length(errors), 2, "the two malformed inputs named");
	yaml = pf_proposal_bindings_yaml(json_object_array_get_idx(m, 0), &o);
	if (ASSERT_NOT_NULL(yaml, "binding") &&
	    ASSERT_OK(pf_policy_parse_buf("b.yaml", yaml, strlen(yaml), &pols, &d), "parses")) {
		ASSERT_EQ(pols.n, 1, "one document");
		ASSERT_EQ(pols.v[0].values[0].values.n, 1, "one value");
		ASSERT_STREQ(pols.v[0].values[0].values.v[0], "/bin/ok", "only the learned value");
		ASSERT_STREQ(pols.v[0].target.name, "x\nspec: evil", "the name is data");
	}
	ASSERT_TRUE(yaml && !strstr(yaml, "\n    - /bin/evil"),
		    "no line written by a name or path");
	free(yaml);
	pf_policy_list_free(&pols);
	pf_diags_free(&d);
	json_object_put(m);
	json_object_put(errors);
	json_object_put(in);
}

/*
 * Learned destinations become one egress binding per container; a destination
 * that is not one (an edited or foreign proposal) is a comment, never a value,
 * and a container with none gets no egress binding at all (the template's
 * lists empty would be read as no condition).
 */
PF_TEST(learn_egress_binding_holds_only_understood_destinations)
{
	static const char *const json =
	    "[{\"metadata\": {\"namespace\": \"shop\", \"name\": \"pod-x\"},"
	    " \"spec\": {\"targetRef\": {\"kind\": \"Pod\", \"name\": \"x\"},"
	    "  \"nodes\": {\"n1\": {\"containers\": {"
	    "   \"main\": {\"execs\": [{\"path\": \"/bin/ok\"}],"
	    "            \"egress\": [{\"path\": \"tcp://10.0.0.1:443\"},"
	    "                         {\"path\": \"udp://[fd00::1]:53\"},"
	    "                         {\"path\": \"garbage\\n    - 0.0.0.0/0\"}]},"
	    "   \"side\": {\"execs\": [{\"path\": \"/bin/ok\"}],"
	    "            \"egress\": [{\"path\": \"tcp://nohost\"}]}}}}}}]";
	struct json_object *in = json_tokener_parse(json), *m;
	struct pf_proposal_opts o = {.template_name = "t", .parameter = "allowedExecs"};
	struct pf_policy_list pols = {};
	struct pf_diags d = {};
	char *yaml;

	m = pf_proposal_merge(in, NULL);
	yaml = pf_proposal_bindings_yaml(json_object_array_get_idx(m, 0), &o);
	if (ASSERT_NOT_NULL(yaml, "bindings") &&
	    ASSERT_OK(pf_policy_parse_buf("b.yaml", yaml, strlen(yaml), &pols, &d), "parses")) {
		ASSERT_EQ(pols.n, 3, "two exec bindings and main's egress binding");
		ASSERT_TRUE(strstr(yaml, "\"10.0.0.1/32\"") && strstr(yaml, "\"fd00::1/128\"") &&
				strstr(yaml, "\"443\"") && strstr(yaml, "\"53\""),
			    "both destinations as addresses and ports");
		ASSERT_FALSE(strstr(yaml, "learned-pod-x-side-egress"), "side has none");
		ASSERT_STRSTR(yaml, "# egress destination not understood", "the others shown");
		ASSERT_FALSE(strstr(yaml, "\n    - 0.0.0.0/0"), "and never a value");
	}
	free(yaml);
	pf_policy_list_free(&pols);
	pf_diags_free(&d);
	json_object_put(m);
	json_object_put(in);
}
