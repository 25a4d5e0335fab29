// SPDX-License-Identifier: Apache-2.0
/*
 * The engine driven through the in-memory store (tests/lib/pf_memstore.c):
 * no root, no kernel, sanitizers on. A node is a temp dir laid out as the
 * kubelet lays out cgroups (its inode numbers are the cgroup ids), a store,
 * and an engine; inputs are given as files, and what the engine wrote is
 * judged as the program would judge an exec.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sanitizer/lsan_interface.h>
#include "pf_failalloc.h"
#include "pf_give.h"
#include "pf_memstore.h"
#include "pf_sandbox.h"
#include "pf_test.h"
#include "podfence/cgroup.h"
#include "podfence/engine.h"
#include "podfence/runtime.h"
#include "podfence/sets.h"

#define MAX_CGROUPS 32

struct node {
	char root[PATH_MAX];
	struct pf_memstore *ms;
	struct pf_engine *e;
	/* cgroups made so far: the dump names them by path, not by (inode) id */
	uint64_t cg_ids[MAX_CGROUPS];
	char cg_names[MAX_CGROUPS][64];
	size_t n_cgroups;
};

static bool node_open(struct node *n)
{
	memset(n, 0, sizeof(*n));
	if (!ASSERT_OK(pf_tmpdir(n->root, sizeof(n->root)), "tmpdir"))
		return false;
	n->ms = pf_memstore_new();
	n->e = n->ms ? pf_engine_new(pf_memstore_store(n->ms), n->root) : NULL;
	return ASSERT_NOT_NULL(n->e, "engine");
}

static void node_close(struct node *n)
{
	pf_engine_free(n->e);
	pf_memstore_free(n->ms);
	if (n->root[0])
		pf_rm_rf(n->root);
}

/* Hands a policy file to the engine, as the agent's file source does. */
static bool policy_file(struct node *n, const char *file, const char *yaml)
{
	return ASSERT_OK(pf_give(n->e, file, yaml, false, NULL), file);
}

static bool pod_file(struct node *n, const char *file, const char *yaml)
{
	return ASSERT_OK(pf_give(n->e, file, yaml, true, NULL), file);
}

/* A pod in namespace shop: uid u<name>, containers c1 (id <name>1) and c2 (<name>2). */
static char *pod_yaml(const char *name, const char *app, int containers)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: shop\n"
		"  uid: u-%s\n  labels: {app: %s}\nspec:\n  containers:\n",
		name, name, app);
	for (int c = 1; c <= containers; c++)
		fprintf(f, "  - {name: c%d, image: x}\n", c);
	fprintf(f, "status:\n  qosClass: Burstable\n  containerStatuses:\n");
	for (int c = 1; c <= containers; c++)
		fprintf(f, "  - {name: c%d, containerID: 'containerd://%s%d'}\n", c, name, c);
	fclose(f);
	return buf;
}

static uint64_t cgroup(struct node *n, const char *pod, int container);

/* A running pod: its cgroups exist when its manifest arrives. */
static bool add_pod(struct node *n, const char *file, const char *name, const char *app,
		    int containers)
{
	char *yaml = pod_yaml(name, app, containers);
	bool ok;

	for (int c = 0; c <= containers; c++)
		(void)cgroup(n, name, c);
	ok = ASSERT_NOT_NULL(yaml, "pod yaml") && pod_file(n, file, yaml);
	free(yaml);
	return ok;
}

/* Creates (if needed) a cgroup of the pod (0: the pod's, c: container c's) and returns its id. */
static uint64_t cgroup(struct node *n, const char *pod, int container)
{
	char dir[PATH_MAX + 128];
	uint64_t id = 0;

	if (container)
		snprintf(dir, sizeof(dir), "%s/kubepods/burstable/podu-%s/%s%d", n->root, pod, pod,
			 container);
	else
		snprintf(dir, sizeof(dir), "%s/kubepods/burstable/podu-%s", n->root, pod);
	if (!ASSERT_OK(pf_mkdir_p(dir), "cgroup dir") || !ASSERT_OK(pf_cgroup_id(dir, &id), "id"))
		return 0;
	for (size_t i = 0; i < n->n_cgroups; i++)
		if (n->cg_ids[i] == id)
			return id;
	if (n->n_cgroups < MAX_CGROUPS) {
		n->cg_ids[n->n_cgroups] = id;
		snprintf(n->cg_names[n->n_cgroups++], sizeof(n->cg_names[0]), "%s/%d", pod,
			 container);
	}
	return id;
}

static enum pf_mem_verdict exec_in(struct node *n, const char *pod, int container, const char *path)
{
	return pf_memstore_exec(n->ms, cgroup(n, pod, container), path, "/bin/sh");
}

static const char *policy_name(void *ctx, uint32_t id)
{
	const struct node *n = ctx;

	return pf_engine_policy_name(n->e, id);
}

static const char *cgroup_name(void *ctx, uint64_t id)
{
	const struct node *n = ctx;

	for (size_t i = 0; i < n->n_cgroups; i++)
		if (n->cg_ids[i] == id)
			return n->cg_names[i];
	return NULL;
}

/* What the kernel holds once released data is collected. */
static char *dump(struct node *n)
{
	pf_engine_collect(n->e);
	return pf_memstore_dump(n->ms, policy_name, cgroup_name, n);
}

/* Keeps the first dump of a loop; every later one must equal it. */
static void same_as_first(char **first, char *d, const char *what)
{
	if (!*first) {
		*first = d;
		return;
	}
	ASSERT_STREQ(d, *first, what);
	free(d);
}

static char *status_errors(struct node *n)
{
	struct json_object *st = pf_engine_status_json(n->e);
	char *s = strdup(json_object_to_json_string_ext(json_object_object_get(st, "errors"),
							JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(st);
	return s;
}

#define ALLOWLIST(name, app, values)                                                               \
	"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: " name "}\n"        \
	"spec:\n  podSelector: {matchLabels: {app: " app "}}\n  kprobes:\n"                        \
	"  - call: security_bprm_creds_for_exec\n    syscall: false\n"                             \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: NotEqual, values: " values "}]\n"                  \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define TEMPLATE                                                                                   \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: allow}\n"        \
	"spec:\n  parameters: [{name: execs}]\n  lsmhooks:\n  - hook: bprm_check_security\n"       \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: NotEqual, valuesFrom: execs}]\n"                   \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define DENY_TEMPLATE                                                                              \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: deny}\n"         \
	"spec:\n  parameters: [{name: execs}]\n  lsmhooks:\n  - hook: bprm_check_security\n"       \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: Equal, valuesFrom: execs}]\n"                      \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define BINDING_OF(tpl, name, app, values)                                                         \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\n"                                  \
	"metadata: {name: " name ", namespace: shop}\nspec:\n  templateRef: " tpl "\n"             \
	"  podSelector: {matchLabels: {app: " app "}}\n  values: {execs: " values "}\n"
#define BINDING(name, app, values) BINDING_OF("allow", name, app, values)

/* Every permutation of idx[0..n) in turn (Heap's algorithm, iterative). */
static bool next_permutation(int *idx, int n)
{
	int i = n - 2, j = n - 1;

	while (i >= 0 && idx[i] >= idx[i + 1])
		i--;
	if (i < 0)
		return false;
	while (idx[j] <= idx[i])
		j--;
	int t = idx[i];
	idx[i] = idx[j];
	idx[j] = t;
	for (int a = i + 1, b = n - 1; a < b; a++, b--) {
		t = idx[a];
		idx[a] = idx[b];
		idx[b] = t;
	}
	return true;
}

PF_TEST(engine_file_precedence_same_in_every_order)
{
	static const char *const files[] = {"10-a.yaml", "20-b.yaml", "30-c.yaml"};
	static const char *const texts[] = {
	    ALLOWLIST("web", "web", "[/bin/a]"),
	    ALLOWLIST("web", "web", "[/bin/b]"),
	    ALLOWLIST("web", "web", "[/bin/c]"),
	};
	int idx[3] = {0, 1, 2};
	char *first = NULL;

	do {
		struct node n;

		if (!node_open(&n))
			break;
		add_pod(&n, "pods.yaml", "p", "web", 1);
		for (int i = 0; i < 3; i++) {
			policy_file(&n, files[idx[i]], texts[idx[i]]);
			pf_engine_sync(n.e); /* each arrival applied on its own */
		}
		/* The file that sorts first defines it, whatever arrived last. */
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "10-a.yaml wins");
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/c"), PF_MEM_DENIED, "30-c.yaml not in force");
		same_as_first(&first, dump(&n), "same kernel contents in every order");
		/* Its removal hands the object to the next file in order. */
		pf_engine_policy_file_removed(n.e, "10-a.yaml");
		pf_engine_sync(n.e);
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_ALLOWED, "20-b.yaml next");
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_DENIED, "10-a.yaml gone");
		node_close(&n);
	} while (next_permutation(idx, 3));
	free(first);
}

/* A document of another kind, as the Kubernetes API source gives them (issue 13). */
static bool api_policy(struct node *n, const char *id, const char *yaml)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	int err = pf_policy_parse_buf(id, yaml, strlen(yaml), &l, &d);
	struct pf_source_doc doc = {PF_SOURCE_API, id, &l, NULL, &d};

	if (!err)
		err = pf_engine_source_put(n->e, &doc);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
	return ASSERT_OK(err, id);
}

PF_TEST(engine_api_documents_take_precedence_over_files_in_every_order)
{
	for (int order = 0; order < 2; order++) {
		struct node n;
		char *errors;

		if (!node_open(&n))
			return;
		add_pod(&n, "pods.yaml", "p", "web", 1);
		if (order == 0)
			policy_file(&n, "/etc/podfence/a.yaml",
				    ALLOWLIST("web", "web", "[/bin/file]"));
		api_policy(&n, "tracingpolicies/-/web", ALLOWLIST("web", "web", "[/bin/api]"));
		if (order == 1)
			policy_file(&n, "/etc/podfence/a.yaml",
				    ALLOWLIST("web", "web", "[/bin/file]"));
		pf_engine_sync(n.e);
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/api"), PF_MEM_ALLOWED, "the cluster's wins");
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/file"), PF_MEM_DENIED, "not the node's file");
		errors = status_errors(&n);
		ASSERT_STRSTR(errors, "also defined in api:tracingpolicies/-/web, which wins",
			      "the loser is told");
		free(errors);
		ASSERT_OK(pf_engine_source_remove(n.e, PF_SOURCE_API, "tracingpolicies/-/web"),
			  "remove");
		pf_engine_sync(n.e);
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/file"), PF_MEM_ALLOWED, "the file takes over");
		node_close(&n);
	}
}

PF_TEST(engine_several_policies_same_rules_in_every_order)
{
	static const char *const texts[] = {
	    ALLOWLIST("p1", "web", "[/bin/a, /bin/b]"),
	    ALLOWLIST("p2", "web", "[/bin/a, /bin/c]"),
	    ALLOWLIST("p3", "web", "[/bin/a]"),
	};
	int idx[3] = {0, 1, 2};
	char *first = NULL;

	do {
		struct node n;
		char file[32];

		if (!node_open(&n))
			break;
		add_pod(&n, "pods.yaml", "p", "web", 1);
		for (int i = 0; i < 3; i++) {
			snprintf(file, sizeof(file), "p%d.yaml", idx[i]);
			policy_file(&n, file, texts[idx[i]]);
			pf_engine_sync(n.e);
		}
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "in every allowlist");
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "p2 and p3 deny it");
		same_as_first(&first, dump(&n),
			      "same rules, same order, whatever the arrival order");
		node_close(&n);
	} while (next_permutation(idx, 3));
	free(first);
}

PF_TEST(engine_binding_union_same_in_every_order)
{
	static const char *const texts[] = {
	    TEMPLATE,
	    /* Names interleave the templates: bindings are grouped by template, not by name. */
	    BINDING("a1", "web", "[/bin/one]"),
	    BINDING_OF("deny", "b1", "web", "[/bin/bad]"),
	    BINDING("c2", "web", "[/bin/two, /bin/bad]"),
	    BINDING("d3", "web", "[/bin/three, /bin/one]"),
	    DENY_TEMPLATE,
	};
	int idx[6] = {0, 1, 2, 3, 4, 5};
	char *first = NULL;
	int orders = 0;

	do {
		struct node n;
		char file[32];

		if (!node_open(&n))
			break;
		add_pod(&n, "pods.yaml", "p", "web", 2);
		for (int i = 0; i < 6; i++) {
			snprintf(file, sizeof(file), "f%d.yaml", idx[i]);
			policy_file(&n, file, texts[idx[i]]);
			if (i == 2)
				pf_engine_sync(n.e);
		}
		pf_engine_sync(n.e);
		for (int c = 0; c <= 2; c++) {
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/one"), PF_MEM_ALLOWED, "a1 and d3");
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/two"), PF_MEM_ALLOWED, "c2");
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/three"), PF_MEM_ALLOWED, "d3");
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/four"), PF_MEM_DENIED, "in none");
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/bad"), PF_MEM_DENIED, "b1 denies it");
		}
		same_as_first(&first, dump(&n), "same kernel contents in every order");
		node_close(&n);
		orders++;
	} while (next_permutation(idx, 6));
	ASSERT_EQ(orders, 720, "orders tried");
	free(first);
}

PF_TEST(engine_workloads_shared_then_split_then_shared)
{
	struct node n;
	uint32_t wl_pod, wl1, wl2;

	if (!node_open(&n))
		return;
	add_pod(&n, "pods.yaml", "p", "web", 2);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 0), &wl_pod), "pod bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 2), &wl2), "c2 bound");
	ASSERT_TRUE(wl_pod == wl1 && wl1 == wl2, "one rule list in the pod: one workload");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_WORKLOADS), 1, "one ruleset");

	/* A policy for c2 only: c2 splits off, the pod's (unidentified) gets both. */
	policy_file(&n, "b.yaml",
		    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: c2}\n"
		    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
		    "  containerSelector: {matchLabels: {name: c2}}\n  kprobes:\n"
		    "  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		    "    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		    "    - matchArgs: [{index: 0, operator: Equal, values: [/bin/a]}]\n"
		    "      matchActions: [{action: Override, argError: -1}]\n");
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 2), &wl2), "c2 bound");
	ASSERT_NEQ(wl1, wl2, "different rules: different workloads");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "c1: allowlist only");
	ASSERT_EQ(exec_in(&n, "p", 2, "/bin/a"), PF_MEM_DENIED, "c2: denied by its own policy");
	ASSERT_EQ(exec_in(&n, "p", 0, "/bin/a"), PF_MEM_DENIED, "not identified: the strictest");

	/* Gone again: shared again, the split-off workload collected after a barrier. */
	pf_engine_policy_file_removed(n.e, "b.yaml");
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 2), &wl2), "c2 bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_EQ(wl1, wl2, "shared again");
	ASSERT_EQ(exec_in(&n, "p", 2, "/bin/a"), PF_MEM_ALLOWED, "c2: allowlist only");
	ASSERT_OK(pf_engine_collect(n.e), "collect");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_WORKLOADS) +
		      pf_memstore_entries(n.ms, PF_KMAP_WORKLOADS_LARGE),
		  1, "one ruleset left");
	node_close(&n);
}

PF_TEST(engine_pod_moves_between_policies)
{
	struct node n;

	if (!node_open(&n))
		return;
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/web]"));
	policy_file(&n, "b.yaml", ALLOWLIST("db", "db", "[/bin/db]"));
	add_pod(&n, "pods.yaml", "p", "web", 1);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/web"), PF_MEM_ALLOWED, "web's allowlist");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/db"), PF_MEM_DENIED, "not db's");
	/* Relabelled: the same cgroups now enforce the other policy. */
	add_pod(&n, "pods.yaml", "p", "db", 1);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/db"), PF_MEM_ALLOWED, "db's allowlist");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/web"), PF_MEM_DENIED, "no longer web's");
	ASSERT_EQ(exec_in(&n, "p", 0, "/bin/web"), PF_MEM_DENIED, "pod cgroup too");
	/* Selected by nothing: unbound, everything collected. */
	add_pod(&n, "pods.yaml", "p", "other", 1);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/web"), PF_MEM_UNBOUND, "no policy: unbound");
	ASSERT_OK(pf_engine_collect(n.e), "collect");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_WORKLOADS), 0, "no ruleset left");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_EXACT_S), 0, "no value left");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_POLICIES), 0, "no counters left");
	node_close(&n);
}

/* A pod of ReplicaSet <deploy>-<hash> (a Deployment's), labelled app=web whatever its owner. */
static void owned_pod(FILE *f, const char *deploy, const char *hash)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%s-1", deploy, hash);
	fprintf(f,
		"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: shop\n"
		"  uid: u-%s\n  labels: {app: web, pod-template-hash: %s}\n"
		"  ownerReferences: [{kind: ReplicaSet, name: %s-%s, controller: true}]\n"
		"spec: {containers: [{name: c1}]}\nstatus:\n  qosClass: Burstable\n"
		"  containerStatuses: [{name: c1, containerID: 'containerd://%s1'}]\n",
		name, name, hash, deploy, hash, name);
}

/* Writes pods.yaml with the given Deployment pods ("deploy/hash" each) after making cgroups. */
static bool deployment_pods(struct node *n, const char *const *pods, size_t count)
{
	char *buf = NULL, name[64], deploy[32], hash[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok;

	if (!f)
		return false;
	for (size_t i = 0; i < count; i++) {
		sscanf(pods[i], "%31[^/]/%31s", deploy, hash);
		snprintf(name, sizeof(name), "%s-%s-1", deploy, hash);
		(void)cgroup(n, name, 0);
		(void)cgroup(n, name, 1);
		owned_pod(f, deploy, hash);
	}
	fclose(f);
	ok = pod_file(n, "pods.yaml", buf);
	free(buf);
	return ok;
}

#define TARGET_BINDING(name, kind, target, values)                                                 \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\n"                                  \
	"metadata: {name: " name ", namespace: shop}\nspec:\n  templateRef: allow\n"               \
	"  targetRef: {kind: " kind ", name: " target "}\n  values: {execs: " values "}\n"

/* A targetRef binding holds its Deployment's pods across a rollout, and no other pod. */
PF_TEST(engine_target_ref_follows_its_deployment)
{
	static const char *const before[] = {"web/aaa", "api/ccc"};
	static const char *const rolling[] = {"web/aaa", "web/bbb", "api/ccc"};
	static const char *const after[] = {"web/bbb", "api/ccc"};
	struct node n;

	if (!node_open(&n))
		return;
	policy_file(&n, "t.yaml", TEMPLATE);
	policy_file(&n, "b.yaml", TARGET_BINDING("web", "Deployment", "web", "[/bin/web]"));
	deployment_pods(&n, before, 2);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "web-aaa-1", 1, "/bin/web"), PF_MEM_ALLOWED, "web's value");
	ASSERT_EQ(exec_in(&n, "web-aaa-1", 1, "/bin/sh"), PF_MEM_DENIED, "web's pod is held");
	ASSERT_EQ(exec_in(&n, "api-ccc-1", 1, "/bin/sh"), PF_MEM_UNBOUND,
		  "same labels, another Deployment: not selected");
	/* Rollout: a new ReplicaSet's pod joins while the old one runs. */
	deployment_pods(&n, rolling, 3);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "web-bbb-1", 1, "/bin/sh"), PF_MEM_DENIED, "the new pod is held");
	ASSERT_EQ(exec_in(&n, "web-bbb-1", 1, "/bin/web"), PF_MEM_ALLOWED, "with the same value");
	ASSERT_EQ(exec_in(&n, "web-aaa-1", 1, "/bin/sh"), PF_MEM_DENIED, "the old one still");
	deployment_pods(&n, after, 2);
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "web-bbb-1", 1, "/bin/sh"), PF_MEM_DENIED, "after the rollout");
	/* The binding retargeted: web is released, api is held. */
	policy_file(&n, "b.yaml", TARGET_BINDING("web", "Deployment", "api", "[/bin/web]"));
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "web-bbb-1", 1, "/bin/sh"), PF_MEM_UNBOUND, "web released");
	ASSERT_EQ(exec_in(&n, "api-ccc-1", 1, "/bin/sh"), PF_MEM_DENIED, "api held");
	node_close(&n);
}

PF_TEST(engine_garbage_freed_only_after_a_barrier)
{
	struct node n;
	uint32_t before, after;
	unsigned long barriers;

	if (!node_open(&n))
		return;
	add_pod(&n, "pods.yaml", "p", "web", 1);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &before), "bound");
	/* Three policies: too many rules for the small class, so a new workload. */
	policy_file(&n, "b.yaml", ALLOWLIST("web-b", "web", "[/bin/a, /bin/b]"));
	policy_file(&n, "c.yaml", ALLOWLIST("web-c", "web", "[/bin/a, /bin/c]"));
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &after), "bound");
	ASSERT_NEQ(before, after, "moved to a new workload");
	ASSERT_TRUE(pf_memstore_has_ruleset(n.ms, before),
		    "the old ruleset stays until no program can read it");
	ASSERT_TRUE(pf_engine_has_garbage(n.e), "garbage pending");
	barriers = pf_memstore_barriers(n.ms);
	ASSERT_OK(pf_engine_collect(n.e), "collect");
	ASSERT_EQ(pf_memstore_barriers(n.ms), barriers + 1, "one barrier");
	ASSERT_FALSE(pf_memstore_has_ruleset(n.ms, before), "freed after it");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "in all three");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "in one only");
	node_close(&n);
}

PF_TEST(engine_takeover_keeps_what_is_needed_and_drops_the_rest)
{
	struct node n;
	struct pf_engine *next;
	char *before, *after;

	if (!node_open(&n))
		return;
	add_pod(&n, "pods.yaml", "p", "web", 1);
	add_pod(&n, "pods2.yaml", "q", "db", 1);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	policy_file(&n, "b.yaml", ALLOWLIST("db", "db", "[/bin/b]"));
	pf_engine_sync(n.e);
	(void)cgroup(&n, "q", 1);
	pf_engine_free(n.e); /* an agent stops: the kernel state stays in force */
	n.e = NULL;

	/* The next agent has web's policy only. */
	next = pf_engine_new(pf_memstore_store(n.ms), n.root);
	if (!ASSERT_NOT_NULL(next, "engine"))
		goto out;
	n.e = next;
	add_pod(&n, "pods.yaml", "p", "web", 1);
	add_pod(&n, "pods2.yaml", "q", "db", 1);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	ASSERT_EQ(exec_in(&n, "q", 1, "/bin/b"), PF_MEM_ALLOWED, "old state in force meanwhile");
	pf_engine_sync(n.e);
	before = dump(&n);
	ASSERT_OK(pf_engine_takeover_gc(n.e), "takeover gc");
	after = dump(&n);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "web still enforced");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "web still enforced");
	ASSERT_EQ(exec_in(&n, "q", 1, "/bin/x"), PF_MEM_UNBOUND, "db's binding dropped");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_WORKLOADS), 1, "db's ruleset dropped");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_EXACT_S), 1, "db's values dropped");
	ASSERT_TRUE(before && after && strcmp(before, after) != 0, "something was dropped");
	free(before);
	free(after);
out:
	node_close(&n);
}

PF_TEST(engine_full_value_map_keeps_previous_rules_and_says_so)
{
	struct node n;
	char *errors;

	if (!node_open(&n))
		return;
	add_pod(&n, "pods.yaml", "p", "web", 1);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	pf_engine_sync(n.e);
	pf_memstore_set_capacity(n.ms, PF_KMAP_EXACT_S, 2);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a, /bin/b, /bin/c]"));
	pf_engine_sync(n.e);
	errors = status_errors(&n);
	ASSERT_STRSTR(errors, "map exact_s full (2 entries)", "status names the map and its size");
	free(errors);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "previous rules kept");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "previous rules kept");
	ASSERT_EQ(exec_in(&n, "p", 0, "/bin/b"), PF_MEM_DENIED, "pod cgroup kept too");
	/* Room again: the next change goes in. */
	pf_memstore_set_capacity(n.ms, PF_KMAP_EXACT_S, 100);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a, /bin/b]"));
	pf_engine_sync(n.e);
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_ALLOWED, "applied once it fits");
	errors = status_errors(&n);
	ASSERT_TRUE(!strstr(errors, "full"), "error cleared");
	free(errors);
	node_close(&n);
}

PF_TEST(engine_full_cgroup_map_is_an_error_with_numbers)
{
	struct node n;
	char *errors;

	if (!node_open(&n))
		return;
	pf_memstore_set_capacity(n.ms, PF_KMAP_CGROUPS, 2);
	(void)cgroup(&n, "p", 1);
	(void)cgroup(&n, "p", 2);
	add_pod(&n, "pods.yaml", "p", "web", 2);
	policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
	pf_engine_sync(n.e);
	errors = status_errors(&n);
	ASSERT_STRSTR(errors, "map cg_workload full (2 entries)", "status names the map");
	ASSERT_STRSTR(errors, "nearest bound ancestor", "and what enforces meanwhile");
	free(errors);
	ASSERT_EQ(exec_in(&n, "p", 0, "/bin/x"), PF_MEM_DENIED, "pod cgroup bound");
	node_close(&n);
}

/*
 * A binding its template refuses takes no part. When it was a container's
 * only binding of that template, the container is known to need the
 * template and its rules cannot be written: it denies every exec, the same
 * whether the refused version came first or replaced a good one (every node
 * decides it from its inputs alone). Another binding of the template keeps
 * the container enforced by what it gives.
 */
PF_TEST(engine_refused_only_binding_fails_closed_whatever_came_before)
{
	static const char refused[] = TEMPLATE "---\n" BINDING("b1", "web", "[bin/relative]");
	static const char good[] = TEMPLATE "---\n" BINDING("b1", "web", "[/bin/a]");
	char *first = NULL;

	for (int history = 0; history < 2; history++) {
		struct node n;
		char *errors;

		if (!node_open(&n))
			return;
		add_pod(&n, "pods.yaml", "p", "web", 1);
		add_pod(&n, "pods2.yaml", "q", "db", 1);
		policy_file(&n, "db.yaml", ALLOWLIST("db", "db", "[/bin/db]"));
		if (history) { /* a good version in force first */
			policy_file(&n, "b.yaml", good);
			pf_engine_sync(n.e);
			ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "good binding");
		}
		policy_file(&n, "b.yaml", refused);
		pf_engine_sync(n.e);
		for (int c = 0; c <= 1; c++) {
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/a"), PF_MEM_DENIED, "fails closed");
			ASSERT_EQ(exec_in(&n, "p", c, "/bin/x"), PF_MEM_DENIED, "fails closed");
		}
		ASSERT_EQ(exec_in(&n, "q", 1, "/bin/db"), PF_MEM_ALLOWED, "other pods unaffected");
		ASSERT_EQ(exec_in(&n, "q", 1, "/bin/x"), PF_MEM_DENIED, "other pods unaffected");
		errors = status_errors(&n);
		ASSERT_STRSTR(errors, "PolicyBinding shop/b1 is refused by template", "said");
		ASSERT_STRSTR(errors, "deny every exec", "and what it does");
		free(errors);
		same_as_first(&first, dump(&n), "the same kernel contents whatever came before");
		/* A second binding of the template: the container is enforced by it. */
		policy_file(&n, "b2.yaml", BINDING("b2", "web", "[/bin/a]"));
		pf_engine_sync(n.e);
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "b2's value");
		ASSERT_EQ(exec_in(&n, "p", 1, "/bin/x"), PF_MEM_DENIED, "b2's allowlist");
		node_close(&n);
	}
	free(first);
}

/* Digest collisions: sets are still told apart by content (the bucket's chain). */
static unsigned long long same_digest(const struct pf_strset *values, unsigned long long seed)
{
	return 42;
}

PF_TEST(sets_colliding_digests_find_their_own_set)
{
	struct pf_memstore *ms = pf_memstore_new();
	struct pf_sets *s = ms ? pf_sets_new(pf_memstore_store(ms)) : NULL;
	struct pf_strset a = {}, b = {}, c = {};
	uint32_t ia, ib, ic, again;
	uint8_t tiers;
	struct pf_sets_stats st;

	if (!ASSERT_NOT_NULL(s, "sets"))
		goto out;
	pf_sets_set_digest(s, same_digest);
	pf_strset_add(&a, "/bin/a");
	pf_strset_add(&b, "/bin/b");
	pf_strset_add(&c, "/bin/c");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_EXACT, &a, &ia, &tiers, NULL, 0), "a");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_EXACT, &b, &ib, &tiers, NULL, 0), "b");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_EXACT, &c, &ic, &tiers, NULL, 0), "c");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_EXACT, &a, &again, &tiers, NULL, 0), "a again");
	ASSERT_EQ(again, ia, "the first set, found behind two others of its digest");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_EXACT, &b, &again, &tiers, NULL, 0), "b again");
	ASSERT_EQ(again, ib, "the middle one");
	ASSERT_OK(pf_sets_acquire(s, PF_MATCH_PREFIX, &a, &again, &tiers, NULL, 0), "prefix a");
	ASSERT_NEQ(again, ia, "another match kind is another set");
	pf_sets_stats(s, &st);
	ASSERT_EQ(st.sets, 4, "no duplicate set");
	ASSERT_EQ(tiers, 0, "prefix sets have no exact tier");
out:
	pf_strset_free(&a);
	pf_strset_free(&b);
	pf_strset_free(&c);
	pf_sets_free(s);
	pf_memstore_free(ms);
}

PF_TEST(exact_tier_one_rule_for_every_length)
{
	ASSERT_EQ(pf_exact_tier(0), 0, "empty: no tier");
	ASSERT_EQ(pf_exact_tier(1), PF_TIER_S, "1");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_S), PF_TIER_S, "48");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_S + 1), PF_TIER_M, "49");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_M), PF_TIER_M, "256");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_M + 1), PF_TIER_L, "257");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_MAX), PF_TIER_L, "1024");
	ASSERT_EQ(pf_exact_tier(PF_EXACT_MAX + 1), 0, "longer: equals no value");
}

/*
 * A store write failing at each point of an update, in turn: nothing
 * crashes or leaks, status says it, and every cgroup of the pod enforces
 * either what it had or what it should have, never less than both.
 */
PF_TEST(engine_update_failing_at_each_write_never_enforces_less)
{
	static const char *const before = ALLOWLIST("web", "web", "[/bin/a, /bin/b]");
	static const char *const after[] = {
	    ALLOWLIST("web", "web", "[/bin/a, /bin/c]"),
	    ALLOWLIST("web-2", "web", "[/bin/a, /bin/d]"),
	    ALLOWLIST("web-3", "web", "[/bin/a, /bin/e]"),
	};
	static const char *const paths[] = {"/bin/a", "/bin/b", "/bin/c", "/bin/x"};
	unsigned long writes = 0, tried = 0;
	char *wanted = NULL;

	/* A clean run: how many writes the update makes, and where it ends. */
	for (unsigned long k = 0; k == 0 || k <= writes; k++) {
		struct node n;
		unsigned long w0;
		char *errors;

		if (!node_open(&n))
			break;
		add_pod(&n, "pods.yaml", "p", "web", 2);
		policy_file(&n, "a.yaml", before);
		pf_engine_sync(n.e);
		pf_engine_collect(n.e);
		w0 = pf_memstore_writes(n.ms);
		if (k)
			pf_memstore_fail_write(n.ms, k, k % 2 ? -E2BIG : -ENOMEM);
		policy_file(&n, "a.yaml", after[0]);
		policy_file(&n, "b.yaml", after[1]);
		policy_file(&n, "c.yaml", after[2]);
		pf_engine_sync(n.e);
		if (!k) {
			writes = pf_memstore_writes(n.ms) - w0;
			wanted = dump(&n);
			node_close(&n);
			continue;
		}
		tried++;
		for (int c = 0; c <= 2; c++) {
			enum pf_mem_verdict v[4];

			for (int i = 0; i < 4; i++)
				v[i] = exec_in(&n, "p", c, paths[i]);
			ASSERT_EQ(v[0], PF_MEM_ALLOWED, "allowed before and after");
			ASSERT_EQ(v[3], PF_MEM_DENIED, "denied before and after");
			ASSERT_TRUE(v[1] == PF_MEM_DENIED || v[2] == PF_MEM_DENIED,
				    "the old rules or the new ones, never neither");
		}
		errors = status_errors(&n);
		if (pf_memstore_writes(n.ms) - w0 >= k && !strcmp(errors, "[]"))
			fprintf(stderr, "    failing write %lu is not in status\n", k);
		if (pf_memstore_writes(n.ms) - w0 >= k)
			ASSERT_TRUE(strcmp(errors, "[]") != 0, "a failed write is in status");
		free(errors);
		/* The next change of the same files goes through completely. */
		pf_memstore_fail_write(n.ms, 0, 0);
		policy_file(&n, "a.yaml", before);
		policy_file(&n, "a.yaml", after[0]);
		pf_engine_sync(n.e);
		policy_file(&n, "b.yaml", after[1]);
		policy_file(&n, "c.yaml", after[2]);
		pf_engine_sync(n.e);
		{
			char *d = dump(&n);

			if (d && wanted && strcmp(d, wanted) != 0)
				fprintf(stderr, "    after failing write %lu:\n%s    clean:\n%s", k,
					d, wanted);
			ASSERT_TRUE(d && wanted && strcmp(d, wanted) == 0,
				    "recovered: the same state as a clean update");
			free(d);
		}
		node_close(&n);
	}
	ASSERT_GE(tried, 5, "failure points tried");
	printf("     %lu store writes of the update, each made to fail in turn\n", tried);
	free(wanted);
}

/*
 * An allocation failing at each point of an update (inputs given, then a
 * sync), in turn: nothing crashes, nothing leaks, every cgroup enforces the
 * old rules or the new ones (never less, never unbound), and the next
 * change of the same inputs reaches the state of a clean update.
 */
/* Parsed ahead, so that only the engine's allocations are counted. */
struct parsed {
	struct pf_policy_list a, b;
	struct pf_pod_list pods;
};

static bool parse_update(struct parsed *u)
{
	static const char a[] = ALLOWLIST("web", "web", "[/bin/a, /bin/c]");
	static const char b[] = TEMPLATE "---\n" BINDING("b1", "web", "[/bin/a, /bin/d]");
	char *pods = pod_yaml("q", "web", 1);
	struct pf_diags d = {};
	bool ok = pods && !pf_policy_parse_buf("a.yaml", a, strlen(a), &u->a, &d) &&
		  !pf_policy_parse_buf("b.yaml", b, strlen(b), &u->b, &d) &&
		  !pf_pod_parse_buf("pods2.yaml", pods, strlen(pods), &u->pods, &d);

	free(pods);
	pf_diags_free(&d);
	return ASSERT_TRUE(ok, "parse the update");
}

static void parsed_free(struct parsed *u)
{
	pf_policy_list_free(&u->a);
	pf_policy_list_free(&u->b);
	pf_pod_list_free(&u->pods);
	memset(u, 0, sizeof(*u));
}

/* The update: two policy files, a new pod; applied. Allocations counted from `arm` on. */
static void update_inputs(struct node *n, bool count, unsigned long fail_at)
{
	struct parsed u = {};

	(void)cgroup(n, "q", 0);
	(void)cgroup(n, "q", 1);
	if (!parse_update(&u))
		return;
	if (count)
		pf_failalloc_arm(fail_at);
	pf_engine_policy_file(n->e, "a.yaml", &u.a, NULL);
	pf_engine_policy_file(n->e, "b.yaml", &u.b, NULL);
	pf_engine_pod_file(n->e, "pods2.yaml", &u.pods, NULL);
	pf_engine_sync(n->e);
	parsed_free(&u);
}

static bool base_inputs(struct node *n)
{
	if (!node_open(n))
		return false;
	add_pod(n, "pods.yaml", "p", "web", 2);
	policy_file(n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a, /bin/b]"));
	pf_engine_sync(n->e);
	pf_engine_collect(n->e);
	return true;
}

PF_TEST(engine_update_failing_at_each_allocation_never_enforces_less)
{
	static const char *const paths[] = {"/bin/a", "/bin/b", "/bin/c", "/bin/x"};
	unsigned long allocs = 0, fired = 0;
	char *wanted = NULL;
	struct node n;

	/* A clean run: how many allocations the update makes, and where it ends. */
	if (!base_inputs(&n))
		return;
	update_inputs(&n, true, 0);
	allocs = pf_failalloc_disarm();
	wanted = dump(&n);
	node_close(&n);
	ASSERT_GE(allocs, 50, "allocations counted");

	for (unsigned long k = 1; k <= allocs; k++) {
		char *d;

		if (!base_inputs(&n))
			break;
		update_inputs(&n, true, k);
		pf_failalloc_disarm();
		fired += pf_failalloc_fired();
		for (int c = 0; c <= 2; c++) {
			enum pf_mem_verdict v[4];

			for (int i = 0; i < 4; i++)
				v[i] = exec_in(&n, "p", c, paths[i]);
			if (v[0] != PF_MEM_ALLOWED || v[3] != PF_MEM_DENIED ||
			    (v[1] != PF_MEM_DENIED && v[2] != PF_MEM_DENIED))
				fprintf(stderr, "    allocation %lu failing: p/%d: %d %d %d %d\n",
					k, c, v[0], v[1], v[2], v[3]);
			ASSERT_EQ(v[0], PF_MEM_ALLOWED, "allowed before and after");
			ASSERT_EQ(v[3], PF_MEM_DENIED, "denied before and after");
			ASSERT_TRUE(v[1] == PF_MEM_DENIED || v[2] == PF_MEM_DENIED,
				    "the old rules or the new ones, never neither");
		}
		/* Anything short of the clean result is said in status. */
		d = dump(&n);
		if (d && wanted && strcmp(d, wanted) != 0) {
			char *errors = status_errors(&n);

			if (!strcmp(errors, "[]"))
				fprintf(stderr, "    allocation %lu failing: silent\n", k);
			ASSERT_TRUE(strcmp(errors, "[]") != 0,
				    "a failure that changed the result is in status");
			free(errors);
		}
		free(d);
		/* Recovery: the same inputs again. */
		policy_file(&n, "a.yaml", ALLOWLIST("web", "web", "[/bin/a]"));
		policy_file(&n, "b.yaml", ALLOWLIST("other", "other", "[/bin/a]"));
		pf_engine_policy_file_removed(n.e, "b.yaml");
		pf_engine_pod_file_removed(n.e, "pods2.yaml");
		pf_engine_sync(n.e);
		update_inputs(&n, false, 0);
		d = dump(&n);
		if (d && wanted && strcmp(d, wanted) != 0)
			fprintf(stderr, "    after allocation %lu failed:\n%s    clean:\n%s", k, d,
				wanted);
		ASSERT_TRUE(d && wanted && strcmp(d, wanted) == 0,
			    "recovered: the state of a clean update");
		free(d);
		node_close(&n);
	}
	ASSERT_EQ(fired, allocs, "every allocation was made to fail once");
	printf("     %lu allocations of the update, each made to fail in turn\n", allocs);
	free(wanted);
	ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0, "no leak");
}

/*
 * Containers their runtime announced before the pod's status names them:
 * the kernel is told each cgroup name before it exists, bound to the
 * container's own rules (the sandbox to the pod's, its start allowed); a
 * cgroup already there is bound in place; the names go with the bundles.
 */
PF_TEST(engine_runtime_announced_containers_bound_to_their_own_rules)
{
	static const char pod[] =
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: r, namespace: shop, uid: u-r, labels: "
	    "{app: web}}\nspec:\n  containers: [{name: c1, image: x}, {name: c2, image: x}]\n"
	    "status: {qosClass: Burstable}\n";
	struct pf_runtime_container sandbox = {.id = "sb0",
					       .pod_uid = "u-r",
					       .pod_namespace = "shop",
					       .pod_name = "r",
					       .sandbox = true},
				    c1 = {.id = "r1",
					  .pod_uid = "u-r",
					  .pod_namespace = "shop",
					  .pod_name = "r",
					  .name = "c1"},
				    other = {.id = "x1",
					     .pod_uid = "u-other",
					     .pod_namespace = "shop",
					     .pod_name = "r",
					     .name = "c1"};
	uint32_t wl_sb, fl_sb, wl_c1, fl_c1, wl_pod, wl_bound, wl;
	struct pf_engine_counts counts;
	struct node n;

	if (!node_open(&n))
		return;
	policy_file(&n, "c1.yaml",
		    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: c1}\n"
		    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
		    "  containerSelector: {matchLabels: {name: c1}}\n  kprobes:\n"
		    "  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		    "    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		    "    - matchArgs: [{index: 0, operator: NotEqual, values: [/c1]}]\n"
		    "      matchActions: [{action: Override, argError: -1}]\n");
	policy_file(&n, "c2.yaml",
		    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: c2}\n"
		    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
		    "  containerSelector: {matchLabels: {name: c2}}\n  kprobes:\n"
		    "  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		    "    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		    "    - matchArgs: [{index: 0, operator: NotEqual, values: [/c2]}]\n"
		    "      matchActions: [{action: Override, argError: -1}]\n");
	(void)cgroup(&n, "r", 0);
	pod_file(&n, "r.yaml", pod);
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "r", 0), &wl_pod), "pod cgroup bound");

	ASSERT_OK(pf_engine_runtime_container(n.e, &sandbox), "sandbox announced");
	ASSERT_OK(pf_engine_runtime_container(n.e, &c1), "c1 announced");
	ASSERT_OK(pf_engine_runtime_container(n.e, &other), "another pod's (same name, other uid)");
	if (ASSERT_OK(pf_memstore_expected(n.ms, "sb0", &wl_sb, &fl_sb), "sandbox's name")) {
		ASSERT_EQ(wl_sb, wl_pod, "sandbox: the pod's rules");
		ASSERT_EQ(fl_sb, PF_CG_SANDBOX, "sandbox: its start allowed");
	}
	if (ASSERT_OK(pf_memstore_expected(n.ms, "r1", &wl_c1, &fl_c1), "c1's name")) {
		ASSERT_NEQ(wl_c1, wl_pod, "c1: its own rules, not the pod's union");
		ASSERT_EQ(fl_c1, 0, "c1: no exemption");
	}
	ASSERT_EQ(pf_memstore_expected(n.ms, "x1", &wl, &fl_c1), -ENOENT,
		  "a container of another pod UID is not this pod's");
	ASSERT_EQ(pf_memstore_expected(n.ms, "cri-containerd-r1.scope", &wl, &fl_c1), -ENOENT,
		  "cgroupfs driver: only cgroupfs names");

	/* The cgroup appears (as the kernel would bind it): the next pass binds it, the name goes.
	 */
	pf_engine_runtime_container_gone(n.e, "r1");
	ASSERT_EQ(pf_memstore_expected(n.ms, "r1", &wl, &fl_c1), -ENOENT, "gone with the bundle");
	(void)cgroup(&n, "r", 1); /* directory r1: the cgroupfs name of container r1 */
	ASSERT_OK(pf_engine_runtime_container(n.e, &c1), "announced after its cgroup exists");
	if (ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "r", 1), &wl_bound), "bound in place"))
		ASSERT_EQ(wl_bound, wl_c1, "by c1's rules");
	ASSERT_EQ(pf_memstore_expected(n.ms, "r1", &wl, &fl_c1), -ENOENT,
		  "no name for a cgroup that exists");
	ASSERT_EQ(pf_memstore_exec(n.ms, cgroup(&n, "r", 1), "/c1", "/bin/sh"), PF_MEM_ALLOWED,
		  "c1 runs its own binary");
	ASSERT_EQ(pf_memstore_exec(n.ms, cgroup(&n, "r", 1), "/other", "/bin/sh"), PF_MEM_DENIED,
		  "and nothing else");

	/* The pod goes: every name with it. */
	pf_engine_pod_file_removed(n.e, "r.yaml");
	pf_engine_sync(n.e);
	ASSERT_EQ(pf_memstore_expected(n.ms, "sb0", &wl, &fl_c1), -ENOENT, "sandbox name released");
	ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_CG_EXPECT), 0, "no name left");
	pf_engine_runtime_container_gone(n.e, "sb0");
	pf_engine_runtime_container_gone(n.e, "r1");
	pf_engine_runtime_container_gone(n.e, "x1");
	pf_engine_counts(n.e, &counts);
	ASSERT_EQ(counts.runtime_containers, 0, "runtime table empty");
	node_close(&n);
}

/* A restarted agent drops the cgroup names registered for pods that went meanwhile. */
PF_TEST(engine_takeover_drops_names_nothing_expects)
{
	struct pf_engine *next;
	struct node n;
	char *yaml;

	if (!node_open(&n))
		return;
	policy_file(&n, "allow.yaml", ALLOWLIST("allow", "web", "[/a]"));
	yaml = pod_yaml("later", "web", 1); /* no cgroup yet: its names are registered */
	if (ASSERT_NOT_NULL(yaml, "pod") && pod_file(&n, "later.yaml", yaml))
		pf_engine_sync(n.e);
	free(yaml);
	ASSERT_GE(pf_memstore_entries(n.ms, PF_KMAP_CG_EXPECT), 1, "names of a pod not created");
	/* The agent stops; the pod is deleted before the next one starts. */
	next = pf_engine_new(pf_memstore_store(n.ms), n.root);
	if (ASSERT_NOT_NULL(next, "next engine")) {
		policy_file(&(struct node){.e = next}, "allow.yaml",
			    ALLOWLIST("allow", "web", "[/a]"));
		pf_engine_sync(next);
		ASSERT_OK(pf_engine_takeover_gc(next), "takeover");
		ASSERT_EQ(pf_memstore_entries(n.ms, PF_KMAP_CG_EXPECT), 0, "stale names dropped");
		pf_engine_free(next);
	}
	node_close(&n);
}

/* Learning: pod "p" and container c1 learn (ids 7 and 8), nothing else. */
static uint32_t learn_p(void *ctx, const struct pf_pod *pod, const char *container)
{
	int *asked = ctx;

	(*asked)++;
	if (strcmp(pod->name, "p"))
		return 0;
	return !container ? 7 : !strcmp(container, "c1") ? 8 : 0;
}

/*
 * A learning container is bound even when no policy selects its pod, with
 * its learn id in its ruleset, and its rules unchanged when one does; when
 * learning stops, the pod goes back to what its policies alone make.
 */
PF_TEST(engine_learning_binds_with_the_learn_id_and_keeps_the_rules)
{
	struct node n;
	uint32_t wl_pod = 0, wl1 = 0, wl2 = 0;
	int asked = 0;

	if (!node_open(&n))
		return;
	add_pod(&n, "pods.yaml", "p", "web", 2);
	add_pod(&n, "pods-q.yaml", "q", "web", 1);
	pf_engine_sync(n.e);
	ASSERT_EQ(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), -ENOENT,
		  "no policy: not bound");

	pf_engine_set_learning(n.e, learn_p, &asked);
	pf_engine_sync(n.e);
	ASSERT_TRUE(asked > 0, "asked");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 0), &wl_pod), "pod bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 2), &wl2), "c2 bound");
	ASSERT_EQ(pf_memstore_learn_id(n.ms, wl_pod), 7, "the pod's own learn id");
	ASSERT_EQ(pf_memstore_learn_id(n.ms, wl1), 8, "c1's learn id");
	ASSERT_EQ(pf_memstore_learn_id(n.ms, wl2), 0, "c2 does not learn");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/anything"), PF_MEM_ALLOWED, "learning blocks nothing");
	ASSERT_EQ(pf_memstore_binding(n.ms, cgroup(&n, "q", 1), &wl1), -ENOENT,
		  "a pod out of scope is not bound");

	/* a policy too: its rules apply, learning goes on */
	policy_file(&n, "allow.yaml", ALLOWLIST("allow", "web", "[/bin/a]"));
	pf_engine_sync(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_EQ(pf_memstore_learn_id(n.ms, wl1), 8, "still learning");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "the policy enforces");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/a"), PF_MEM_ALLOWED, "the policy allows");

	/* learning stopped: the policy alone */
	pf_engine_set_learning(n.e, NULL, NULL);
	pf_engine_sync(n.e);
	pf_engine_collect(n.e);
	ASSERT_OK(pf_memstore_binding(n.ms, cgroup(&n, "p", 1), &wl1), "c1 bound");
	ASSERT_EQ(pf_memstore_learn_id(n.ms, wl1), 0, "no learn id");
	ASSERT_EQ(exec_in(&n, "p", 1, "/bin/b"), PF_MEM_DENIED, "the policy still enforces");
	node_close(&n);
}
