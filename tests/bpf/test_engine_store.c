// SPDX-License-Identifier: Apache-2.0
/*
 * The unit tier drives the engine through an in-memory store
 * (tests/lib/pf_memstore.c). This test runs the same scenario through the BPF
 * maps and through the in-memory store side by side, over the same cgroups,
 * and reads the maps back after every step: the kernel must hold exactly
 * what the in-memory store holds (bindings, rulesets, values), so that what
 * the unit tier shows of the engine is what the kernel gets.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf_give.h"
#include "pf_kfixture.h"
#include "pf_memstore.h"
#include "pf_sandbox.h"
#include "pf_test.h"
#include "podfence/cgroup.h"
#include "podfence/engine.h"

static struct pf_kstore *store;

#define N_CGROUPS 5

struct side {
	struct pf_engine *e;
	struct pf_memstore *ms; /* NULL: the BPF maps */
};

struct world {
	struct pf_sandbox_cg cg;
	uint64_t ids[N_CGROUPS];
	char names[N_CGROUPS][16];
	struct side maps, mem;
};

#define ALLOWLIST(name, app, values)                                                               \
	"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: " name "}\n"        \
	"spec:\n  podSelector: {matchLabels: {app: " app "}}\n  kprobes:\n"                        \
	"  - call: security_bprm_creds_for_exec\n    syscall: false\n"                             \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: NotEqual, values: " values "}]\n"                  \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define DENY_SUFFIX(name, app, container, values)                                                  \
	"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: " name "}\n"        \
	"spec:\n  podSelector: {matchLabels: {app: " app "}}\n"                                    \
	"  containerSelector: {matchLabels: {name: " container "}}\n  kprobes:\n"                  \
	"  - call: security_bprm_creds_for_exec\n    syscall: false\n"                             \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: Postfix, values: " values "}]\n"                   \
	"      matchActions: [{action: Override, argError: -1}]\n"                                 \
	"    - matchArgs: [{index: 0, operator: Prefix, values: [/tmp/]}]\n"                       \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define TEMPLATE_AND_BINDINGS(v1, v2)                                                              \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: allow}\n"        \
	"spec:\n  parameters: [{name: execs}]\n  lsmhooks:\n  - hook: bprm_check_security\n"       \
	"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"                             \
	"    - matchArgs: [{index: 0, operator: NotEqual, valuesFrom: execs}]\n"                   \
	"      matchActions: [{action: Override, argError: -1}]\n---\n"                            \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\n"                                  \
	"metadata: {name: b1, namespace: shop}\nspec:\n  templateRef: allow\n"                     \
	"  podSelector: {matchLabels: {app: web}}\n  values: {execs: " v1 "}\n---\n"               \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\n"                                  \
	"metadata: {name: b2, namespace: shop}\nspec:\n  templateRef: allow\n"                     \
	"  podSelector: {matchLabels: {app: web}}\n  values: {execs: " v2 "}\n"

/* Pods p (containers c1, c2) and q (c1), labelled app=<p_app> and app=<q_app>. */
static char *pods_yaml(const char *p_app, const char *q_app)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, uid: u-p, "
		"labels: {app: %s}}\nspec:\n  containers: [{name: c1, image: x}, {name: c2, "
		"image: x}]\nstatus:\n  qosClass: Burstable\n  containerStatuses:\n"
		"  - {name: c1, containerID: 'containerd://p1'}\n"
		"  - {name: c2, containerID: 'containerd://p2'}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: shop, uid: u-q, "
		"labels: {app: %s}}\nspec:\n  containers: [{name: c1, image: x}]\n"
		"status:\n  qosClass: Burstable\n  containerStatuses:\n"
		"  - {name: c1, containerID: 'containerd://q1'}\n",
		p_app, q_app);
	fclose(f);
	return buf;
}

/* The same file to both sides. */
static void give_both(struct world *w, const char *file, const char *yaml, bool pods)
{
	struct side *sides[] = {&w->maps, &w->mem};

	for (int s = 0; yaml && s < 2; s++) {
		int engine_err = 0;

		if (ASSERT_OK(pf_give(sides[s]->e, file, yaml, pods, &engine_err), file))
			ASSERT_OK(engine_err, file);
	}
}

static void give_policies(struct world *w, const char *file, const char *yaml)
{
	give_both(w, file, yaml, false);
}

static void give_pods(struct world *w, const char *p_app, const char *q_app)
{
	char *yaml = pods_yaml(p_app, q_app);

	give_both(w, "pods.yaml", yaml, true);
	free(yaml);
}

static const char *cgroup_name(void *ctx, uint64_t id)
{
	struct world *w = ctx;

	for (int i = 0; i < N_CGROUPS; i++)
		if (w->ids[i] == id)
			return w->names[i];
	return NULL;
}

static struct pf_engine *naming_engine;

static const char *policy_name(void *ctx, uint32_t id)
{
	return pf_engine_policy_name(naming_engine, id);
}

/* The cgroup lines of a dump (the entry counts of a shared kernel store differ). */
static char *cgroup_lines(char *dump)
{
	char *counts = dump ? strstr(dump, "rulesets ") : NULL;

	if (counts)
		*counts = 0;
	return dump;
}

/* The BPF maps read back into an in-memory store, then dumped the same way. */
static char *maps_dump(struct world *w)
{
	struct pf_memstore *mirror = pf_memstore_new();
	struct pf_store *st = mirror ? pf_memstore_store(mirror) : NULL;
	uint32_t seen[64];
	size_t n_seen = 0;
	char *out = NULL;

	if (!ASSERT_NOT_NULL(mirror, "mirror"))
		return NULL;
	for (int i = 0; i < N_CGROUPS; i++) {
		struct pf_cg_binding b;
		struct pf_ruleset rs;

		if (pf_kstore_cgroup_lookup(store, w->ids[i], &b))
			continue;
		if (ASSERT_OK(pf_kstore_ruleset_read(store, b.wl_id, &rs), "ruleset")) {
			for (unsigned r = 0; r < rs.n_rules && r < PF_MAX_RULES; r++) {
				for (unsigned c = 0; c < rs.rules[r].n_conds && c < PF_MAX_CONDS;
				     c++) {
					const struct pf_cond *k = &rs.rules[r].conds[c];
					struct pf_strset v = {};
					bool dup = false;

					for (size_t s = 0; s < n_seen; s++)
						dup |= seen[s] == k->set_id;
					if (dup || n_seen == 64)
						continue;
					seen[n_seen++] = k->set_id;
					ASSERT_OK(
					    pf_kstore_set_values(store, k->set_id, k->match, &v),
					    "values");
					pf_store_set_write(st, k->set_id, k->match, &v, NULL, 0);
					pf_strset_free(&v);
				}
			}
			pf_store_ruleset_write(st, b.wl_id, &rs, NULL, 0);
		}
		pf_store_cgroup_bind(st, w->ids[i], b.wl_id, b.flags, 0, NULL, 0);
	}
	naming_engine = w->maps.e;
	out = pf_memstore_dump(mirror, policy_name, cgroup_name, w);
	pf_memstore_free(mirror);
	return cgroup_lines(out);
}

static void compare(struct world *w, const char *step)
{
	char *in_memory, *in_maps;

	pf_engine_sync(w->maps.e);
	pf_engine_sync(w->mem.e);
	pf_engine_collect(w->maps.e);
	pf_engine_collect(w->mem.e);
	naming_engine = w->mem.e;
	in_memory = cgroup_lines(pf_memstore_dump(w->mem.ms, policy_name, cgroup_name, w));
	in_maps = maps_dump(w);
	if (ASSERT_NOT_NULL(in_memory, step) && ASSERT_NOT_NULL(in_maps, step)) {
		ASSERT_TRUE(strlen(in_memory) > 0, "something is bound");
		ASSERT_STREQ(in_maps, in_memory, step);
	}
	printf("     %s: %zu bytes of bindings, rules and values alike\n", step,
	       in_memory ? strlen(in_memory) : 0);
	if (getenv("PF_TEST_VERBOSE") && in_memory)
		printf("%s", in_memory);
	free(in_memory);
	free(in_maps);
}

PF_TEST(engine_writes_the_same_through_the_maps_as_in_memory)
{
	static const char *const dirs[N_CGROUPS] = {"podu-p", "podu-p/p1", "podu-p/p2", "podu-q",
						    "podu-q/q1"};
	struct world w = {};
	char dir[PATH_MAX + 64];

	if (!pf_kfix_store(&store) ||
	    !ASSERT_OK(pf_sandbox_cg_create(&w.cg, NULL, "engine-store"), "sandbox cgroup"))
		goto out;
	for (int i = 0; i < N_CGROUPS; i++) {
		snprintf(dir, sizeof(dir), "%s/kubepods/burstable/%s", w.cg.path, dirs[i]);
		if (!ASSERT_OK(pf_mkdir_p(dir), "cgroup") ||
		    !ASSERT_OK(pf_cgroup_id(dir, &w.ids[i]), "cgroup id"))
			goto out;
		snprintf(w.names[i], sizeof(w.names[i]), "%s", dirs[i] + 3);
	}
	w.mem.ms = pf_memstore_new();
	w.maps.e = pf_engine_new(pf_kstore_store(store), w.cg.path);
	w.mem.e = w.mem.ms ? pf_engine_new(pf_memstore_store(w.mem.ms), w.cg.path) : NULL;
	if (!ASSERT_NOT_NULL(w.maps.e, "engine") || !ASSERT_NOT_NULL(w.mem.e, "engine"))
		goto out;

	give_pods(&w, "web", "db");
	give_policies(&w, "a.yaml", ALLOWLIST("web", "web", "[/bin/a, /bin/b]"));
	give_policies(&w, "b.yaml", TEMPLATE_AND_BINDINGS("[/bin/a, /usr/bin/c]", "[/bin/d]"));
	give_policies(&w, "c.yaml", DENY_SUFFIX("db", "db", "c1", "[/nc, /ncat]"));
	compare(&w, "three policies, two pods");

	give_pods(&w, "web", "web"); /* q moves to web's policies */
	give_policies(&w, "b.yaml", TEMPLATE_AND_BINDINGS("[/bin/a]", "[/bin/e, /bin/f]"));
	give_policies(&w, "d.yaml", ALLOWLIST("web-2", "web", "[/bin/a, /bin/g]"));
	compare(&w, "a pod relabelled, values changed, a policy added");

	pf_engine_policy_file_removed(w.maps.e, "a.yaml");
	pf_engine_policy_file_removed(w.mem.e, "a.yaml");
	compare(&w, "a policy removed");
out:
	if (w.maps.e) {
		/* The engine leaves the kernel state in force when freed: inputs first. */
		pf_engine_pod_file_removed(w.maps.e, "pods.yaml");
		pf_engine_sync(w.maps.e);
		pf_engine_collect(w.maps.e);
		pf_engine_free(w.maps.e);
	}
	pf_engine_free(w.mem.e);
	pf_memstore_free(w.mem.ms);
	pf_sandbox_cg_destroy(&w.cg);
}
