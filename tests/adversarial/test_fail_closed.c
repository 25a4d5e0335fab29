// SPDX-License-Identifier: Apache-2.0
/* What cannot be checked is denied, and said: unresolvable paths, full maps. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "adv.h"
#include "pf_test.h"

/* A policy for app=<app>: a Post-only selector matching everything, and an allowlist. */
static char *two_selectors(const struct adv_node *n, const char *name, const char *app,
			   bool post_first)
{
	char *buf = NULL, post[160], allow[PATH_MAX + 160];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	snprintf(post, sizeof(post),
		 "    - matchArgs: [{index: 0, operator: Prefix, values: [\"/\"]}]\n"
		 "      matchActions: [{action: Post}]\n");
	snprintf(allow, sizeof(allow),
		 "    - matchArgs: [{index: 0, operator: NotEqual, values: [\"%s\"]}]\n"
		 "      matchActions: [{action: Override, argError: -1}]\n",
		 n->allowed);
	fprintf(f,
		"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: %s}\n"
		"spec:\n  podSelector: {matchLabels: {app: \"%s\"}}\n  kprobes:\n"
		"  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n%s%s",
		name, app, post_first ? post : allow, post_first ? allow : post);
	fclose(f);
	return buf;
}

/* A denylist: only the forbidden binary's own path is blocked. */
static char *denylist(const struct adv_node *n, const char *name, const char *app)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f,
		"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: %s}\n"
		"spec:\n  podSelector: {matchLabels: {app: \"%s\"}}\n  kprobes:\n"
		"  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		"    - matchArgs: [{index: 0, operator: Equal, values: [\"%s\"]}]\n"
		"      matchActions: [{action: Override, argError: -1}]\n",
		name, app, n->forbidden);
	fclose(f);
	return buf;
}

PF_TEST(unresolvable_path_denied_by_every_enforcing_policy_whatever_the_order)
{
	static const char *const apps[] = {"post-first", "post-last", "denylist"};
	struct adv_node n;
	char cg[PATH_MAX], *yaml = NULL;
	FILE *f;
	size_t len = 0;

	if (!adv_node_setup(&n, "unresolvable", NULL))
		goto out;
	f = open_memstream(&yaml, &len);
	for (size_t i = 0; f && i < 3; i++) {
		char *pod = adv_pod_yaml(&n, apps[i], apps[i], "main", NULL, true);

		fprintf(f, "---\n%s", pod ? pod : "");
		free(pod);
	}
	if (!f || fclose(f) || !adv_pods(&n, "pods.yaml", yaml))
		goto out;
	free(yaml);
	yaml = NULL;
	if (!adv_policy(&n, "a.yaml", two_selectors(&n, "post-first", "post-first", true)) ||
	    !adv_policy(&n, "b.yaml", two_selectors(&n, "post-last", "post-last", false)) ||
	    !adv_policy(&n, "c.yaml", denylist(&n, "denylist", "denylist")))
		goto out;
	for (size_t i = 0; i < 3; i++) {
		char what[96];

		adv_container_cgroup(&n, apps[i], "main", cg, sizeof(cg));
		adv_expect_runs(&n, "the allowed binary", cg, ADV_PLAIN, n.allowed);
		snprintf(what, sizeof(what), "policy %s: a binary 300 directories down", apps[i]);
		adv_expect_blocked(&n, what, cg, ADV_DEEP, NULL);
		snprintf(what, sizeof(what), "policy %s: a binary 5,000 bytes down", apps[i]);
		adv_expect_blocked(&n, what, cg, ADV_LONG, NULL);
	}
out:
	free(yaml);
	adv_node_teardown(&n);
}

static bool status_says(struct pf_engine *e, const char *needle)
{
	struct json_object *st = pf_engine_status_json(e);
	bool found = strstr(json_object_to_json_string(st), needle) != NULL;

	json_object_put(st);
	return found;
}

/*
 * cg_workload full: a cgroup created under a bound cgroup cannot inherit its
 * binding; the kernel counts it, execs there are enforced through the
 * nearest bound ancestor, and status says so with the numbers.
 */
PF_TEST(full_cgroup_map_leaves_no_cgroup_unenforced)
{
	struct adv_opts o = {.cg_map_size = 8};
	uint64_t st[PF_STAT__MAX], full0;
	struct adv_node n;
	char cg[PATH_MAX], child[PATH_MAX + 32], *pod = NULL, *pol = NULL;
	int made = 0;

	if (!adv_node_setup(&n, "map-full", &o))
		goto out;
	pod = adv_pod_yaml(&n, "victim", "victim", "main", NULL, true);
	pol = adv_allowlist_yaml(&n, "allow", "victim", NULL, false);
	if (!adv_pods(&n, "pods.yaml", pod) || !adv_policy(&n, "policy.yaml", pol) ||
	    !ASSERT_OK(pf_kstore_stats(n.ks, st), "stats"))
		goto out;
	full0 = st[PF_STAT_CG_FULL];
	adv_container_cgroup(&n, "victim", "main", cg, sizeof(cg));
	/* Children of the container until the map is full, and one more. */
	for (made = 0; made < 16; made++) {
		snprintf(child, sizeof(child), "%s/c%d", cg, made);
		if (!ASSERT_OK(mkdir(child, 0755) ? -errno : 0, "child cgroup"))
			goto out;
		pf_kstore_stats(n.ks, st);
		if (st[PF_STAT_CG_FULL] > full0)
			break;
	}
	printf("     %d child cgroups bound, the next one not: map cg_workload full (8 entries)\n",
	       made);
	if (!ASSERT_GE(st[PF_STAT_CG_FULL], full0 + 1, "the kernel says it could not bind"))
		goto out;
	adv_expect_blocked(&n, "the forbidden binary in a cgroup the full map left unbound", child,
			   ADV_PLAIN, n.forbidden);
	adv_expect_runs(&n, "the allowed binary there (its ancestor's rules)", child, ADV_PLAIN,
			n.allowed);
	ASSERT_TRUE(status_says(n.e, "could not bind"), "status reports the unbound cgroups");
	ASSERT_TRUE(status_says(n.e, "cg_workload full"), "... with the map and its size");
out:
	free(pod);
	free(pol);
	adv_node_teardown(&n);
}
