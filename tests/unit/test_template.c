// SPDX-License-Identifier: Apache-2.0
/*
 * PolicyTemplate and PolicyBinding: the reader, instances (union of the
 * bindings' values, whatever their order), what a template refuses, and the
 * reference evaluator's composition rules.
 */
#include "pf_test.h"
#include "podfence/evaluate.h"
#include "podfence/policy.h"

#define TEMPLATE                                                                                   \
	"apiVersion: podfence.io/v1alpha1\n"                                                       \
	"kind: PolicyTemplate\n"                                                                   \
	"metadata: {name: allow}\n"                                                                \
	"spec:\n"                                                                                  \
	"  parameters: [{name: execs}, {name: dirs}]\n"                                            \
	"  lsmhooks:\n"                                                                            \
	"  - hook: bprm_check_security\n"                                                          \
	"    args: [{index: 0, type: linux_binprm}]\n"                                             \
	"    selectors:\n"                                                                         \
	"    - matchArgs:\n"                                                                       \
	"      - {index: 0, operator: NotEqual, valuesFrom: execs, values: [/bin/true]}\n"         \
	"      - {index: 0, operator: NotPrefix, valuesFrom: dirs}\n"                              \
	"      matchActions: [{action: Override, argError: -1}]\n"

#define BINDING(name, label, values)                                                               \
	"apiVersion: podfence.io/v1alpha1\n"                                                       \
	"kind: PolicyBinding\n"                                                                    \
	"metadata: {name: " name ", namespace: shop}\n"                                            \
	"spec:\n"                                                                                  \
	"  templateRef: allow\n"                                                                   \
	"  podSelector: {matchLabels: {app: " label "}}\n"                                         \
	"  values: " values "\n"

static int parse(const char *text, struct pf_policy_list *l, struct pf_diags *d)
{
	return pf_policy_parse_buf("t.yaml", text, strlen(text), l, d);
}

static bool has_error(const struct pf_diags *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == PF_SEV_ERROR && strstr(d->v[i].msg, needle))
			return true;
	pf_diags_print(d, stderr);
	return false;
}

PF_TEST(template_and_bindings_parse)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	const struct pf_policy *t, *b;

	if (!ASSERT_OK(
		parse(TEMPLATE "---\n" BINDING("web", "web", "{execs: [/usr/sbin/nginx]}"), &l, &d),
		"parse") ||
	    !ASSERT_EQ(l.n, 2, "two objects"))
		goto out;
	t = &l.v[0];
	b = &l.v[1];
	ASSERT_EQ(t->type, PF_POLICY_TEMPLATE, "template");
	ASSERT_EQ(t->params.n, 2, "parameters");
	ASSERT_STREQ(t->rules[0].conds[0].param, "execs", "valuesFrom");
	ASSERT_EQ(t->rules[0].conds[0].values.n, 1, "fixed values kept");
	ASSERT_FALSE(pf_policy_selects(t, "shop", NULL, NULL, "c"), "a template selects nothing");
	ASSERT_EQ(b->type, PF_POLICY_BINDING, "binding");
	ASSERT_STREQ(b->namespace, "shop", "namespaced");
	ASSERT_STREQ(b->template_ref, "allow", "templateRef");
	ASSERT_EQ(b->n_values, 1, "values");
	ASSERT_FALSE(pf_policy_selects(b, "other", NULL, NULL, "c"), "other namespace");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(template_and_binding_errors_name_field_and_position)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n"
	     "spec:\n  parameters: [{name: a}]\n  podSelector: {}\n",
	     "spec.podSelector: field \"podSelector\" is not supported (a template selects no pod"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n"
	     "spec:\n  parameters: [{name: a}]\n  lsmhooks:\n  - hook: bprm_check_security\n"
	     "    args: [{index: 0, type: file}]\n    selectors:\n    - matchArgs:\n"
	     "      - {index: 0, operator: Equal, valuesFrom: b}\n",
	     "valuesFrom: \"b\" is not a parameter of this template"},
	    {"apiVersion: cilium.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n",
	     "apiVersion: \"cilium.io/v1alpha1\" is not supported for PolicyTemplate"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: b}\n"
	     "spec:\n  values: {a: [x]}\n",
	     "spec.templateRef: required"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: b}\n"
	     "spec:\n  templateRef: t\n  values: {a: /bin/x}\n",
	     "spec.values.a: must be a list of strings"},
	    {"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: p}\nspec:\n"
	     "  kprobes:\n  - call: security_bprm_check\n    args: [{index: 0, type: file}]\n"
	     "    selectors:\n    - matchArgs:\n      - {index: 0, operator: Equal, valuesFrom: "
	     "a}\n",
	     "valuesFrom: only a podfence.io PolicyTemplate has parameters"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_policy_list l = {};
		struct pf_diags d = {};

		ASSERT_EQ(parse(cases[i].text, &l, &d), -EINVAL, cases[i].needle);
		ASSERT_TRUE(has_error(&d, cases[i].needle), cases[i].needle);
		for (size_t k = 0; k < d.n; k++)
			ASSERT_GE(d.v[k].line, 1, d.v[k].msg);
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

/* Parses TEMPLATE + bindings a and b (in that order): v[0] template, v[1] a, v[2] b. */
static bool parse_three(const char *a, const char *b, struct pf_policy_list *l)
{
	struct pf_diags d = {};
	char text[4096];
	int err;

	snprintf(text, sizeof(text), "%s---\n%s---\n%s", TEMPLATE, a, b);
	err = parse(text, l, &d);
	if (err)
		pf_diags_print(&d, stderr);
	pf_diags_free(&d);
	return ASSERT_OK(err, "parse") && ASSERT_EQ(l->n, 3, "three objects");
}

PF_TEST(template_instance_is_the_union_in_any_order)
{
	struct pf_policy_list l = {};
	struct pf_policy ab = {}, ba = {};
	const struct pf_policy *order1[2], *order2[2];
	char err[256] = "";

	if (!parse_three(BINDING("a", "x", "{execs: [/a, /c], dirs: [/opt/a/]}"),
			 BINDING("b", "x", "{execs: [/b, /c]}"), &l))
		goto out;
	order1[0] = order2[1] = &l.v[1];
	order1[1] = order2[0] = &l.v[2];
	if (!ASSERT_OK(pf_template_instantiate(&l.v[0], order1, 2, &ab, err, sizeof(err)), err) ||
	    !ASSERT_OK(pf_template_instantiate(&l.v[0], order2, 2, &ba, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(ab.rules[0].conds[0].values.n, 4, "fixed + a + b, /c once");
	ASSERT_TRUE(pf_strset_has(&ab.rules[0].conds[0].values, "/bin/true"), "fixed value");
	ASSERT_TRUE(pf_strset_has(&ab.rules[0].conds[0].values, "/b"), "b's value");
	ASSERT_EQ(ab.rules[0].conds[1].values.n, 1, "dirs from a only");
	for (size_t c = 0; c < 2; c++)
		ASSERT_TRUE(
		    pf_strset_equal(&ab.rules[0].conds[c].values, &ba.rules[0].conds[c].values),
		    "order-independent");
	ASSERT_EQ(ab.rules[0].conds[0].param, NULL, "instance is concrete");
out:
	pf_policy_free(&ab);
	pf_policy_free(&ba);
	pf_policy_list_free(&l);
}

PF_TEST(template_refuses_unknown_parameter_and_long_affix)
{
	struct pf_policy_list l = {};
	char err[256] = "", longv[300];
	char text[1024];
	int line = 0, col = 0;

	memset(longv, 'a', sizeof(longv));
	longv[0] = '/';
	longv[sizeof(longv) - 1] = 0;
	snprintf(text, sizeof(text), BINDING("b", "x", "{dirs: [\"%s\"]}"), longv);
	if (!parse_three(BINDING("a", "x", "{exec: [/a]}"), text, &l))
		goto out;
	ASSERT_EQ(pf_binding_check(&l.v[0], &l.v[1], err, sizeof(err), &line, &col), -EINVAL,
		  "unknown parameter");
	ASSERT_STRSTR(err, "spec.values.exec: template \"allow\" has no parameter \"exec\"", "msg");
	ASSERT_GE(line, 20, "line of the binding's value");
	ASSERT_EQ(pf_binding_check(&l.v[0], &l.v[2], err, sizeof(err), &line, &col), -EINVAL,
		  "long prefix value");
	ASSERT_STRSTR(err, "longer than the 252-byte limit of NotPrefix values", "msg");
out:
	pf_policy_list_free(&l);
}

/* A binding (lines 15-) of TEMPLATE: "values:" on line 20, its entries below. */
#define BINDING_AT_15(values)                                                                      \
	TEMPLATE "---\n"                                                                           \
		 "apiVersion: podfence.io/v1alpha1\n"                                              \
		 "kind: PolicyBinding\n"                                                           \
		 "metadata: {name: b, namespace: shop}\n"                                          \
		 "spec:\n"                                                                         \
		 "  templateRef: allow\n"                                                          \
		 "  values:\n" values

/* Parses TEMPLATE + one binding; returns pf_binding_check's verdict on it. */
static int check_binding(const char *text, char *err, size_t err_len, int *line, int *col)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	int ret = -1;

	*line = *col = 0;
	err[0] = 0;
	if (ASSERT_OK(parse(text, &l, &d), "parse") && ASSERT_EQ(l.n, 2, "two objects"))
		ret = pf_binding_check(&l.v[0], &l.v[1], err, err_len, line, col);
	/* the reader leaves the operators' checks to the template: not even a warning */
	ASSERT_EQ(d.n, 0, "no diagnostic from the reader");
	pf_diags_print(&d, stderr);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
	return ret;
}

/* A value is checked as the template uses it, and reported where the binding writes it. */
PF_TEST(template_refuses_noncanonical_binding_values_at_their_position)
{
	char err[1024];
	int line, col;

	/* the first refused value in the file, not in sorted order ("/usr/./bin/id" sorts first) */
	ASSERT_EQ(check_binding(BINDING_AT_15("    execs:\n"
					      "    - /usr/bin/true\n"
					      "    - /usr/bin/../bin/true\n"
					      "    - /usr/./bin/id\n"),
				err, sizeof(err), &line, &col),
		  -EINVAL, "\"..\" in an exact value");
	ASSERT_STRSTR(err,
		      "spec.values.execs[1]: \"/usr/bin/../bin/true\" has a \"..\" component: "
		      "it can never match",
		      "msg");
	ASSERT_STRSTR(err, "(NotEqual value of template \"allow\" line 11)", "operator named");
	ASSERT_EQ(line, 23, "line of the value");
	ASSERT_EQ(col, 7, "column of the value");

	ASSERT_EQ(check_binding(BINDING_AT_15("    execs: [/usr/bin/true/]\n"), err, sizeof(err),
				&line, &col),
		  -EINVAL, "trailing / in an exact value");
	ASSERT_STRSTR(err,
		      "spec.values.execs[0]: \"/usr/bin/true/\" ends with \"/\": it can "
		      "never match (the kernel reports resolved paths): write "
		      "\"/usr/bin/true\"",
		      "msg");
	ASSERT_EQ(line, 21, "line");
	ASSERT_EQ(col, 13, "column");

	ASSERT_EQ(
	    check_binding(BINDING_AT_15("    execs: [bin/true]\n"), err, sizeof(err), &line, &col),
	    -EINVAL, "relative exact value");
	ASSERT_STRSTR(err, "spec.values.execs[0]: \"bin/true\" is not an absolute path", "msg");

	/* dirs is used with NotPrefix: a final "/" is right there, "//" is not */
	ASSERT_EQ(check_binding(BINDING_AT_15("    execs: [/memfd:x (deleted), /tmp/y (deleted)]\n"
					      "    dirs: [/opt/app/, /opt//app/]\n"),
				err, sizeof(err), &line, &col),
		  -EINVAL, "\"//\" in a prefix value");
	ASSERT_STRSTR(err,
		      "spec.values.dirs[1]: \"/opt//app/\" has an empty component "
		      "(\"//\"): it can never match (the kernel reports resolved paths): "
		      "write \"/opt/app/\" (NotPrefix value of template \"allow\" line 12)",
		      "msg");
	ASSERT_EQ(line, 22, "line");
	ASSERT_EQ(col, 23, "column");

	ASSERT_EQ(check_binding(BINDING_AT_15("    execs: [/memfd:x (deleted), /usr/bin/id]\n"
					      "    dirs: [/opt/app/, /tmp/., /]\n"),
				err, sizeof(err), &line, &col),
		  0, "canonical values");
}

/* Evaluates path in a pod of app=x, namespace shop. */
static bool blocked(const struct pf_policy_list *l, const char *path, size_t *n_applying)
{
	const struct pf_policy *v[8];
	struct pf_labels labels = {};
	struct pf_eval_result r;
	struct pf_eval_query q = {
	    .pod_namespace = "shop", .pod_labels = &labels, .container = "c", .path = path};
	bool b;

	for (size_t i = 0; i < l->n; i++)
		v[i] = &l->v[i];
	pf_labels_set(&labels, "app", "x");
	if (pf_evaluate(v, l->n, &q, &r))
		return false;
	b = r.blocked;
	*n_applying = r.n;
	pf_eval_result_free(&r);
	pf_labels_free(&labels);
	return b;
}

PF_TEST(evaluator_unites_bindings_and_ignores_refused_ones)
{
	struct pf_policy_list l = {};
	size_t n = 0;

	if (!parse_three(BINDING("a", "x", "{execs: [/a]}"), BINDING("b", "x", "{execs: [/b]}"),
			 &l))
		goto out;
	ASSERT_FALSE(blocked(&l, "/a", &n), "a's value");
	ASSERT_FALSE(blocked(&l, "/b", &n), "b's value");
	ASSERT_FALSE(blocked(&l, "/bin/true", &n), "template's fixed value");
	ASSERT_TRUE(blocked(&l, "/c", &n), "neither");
	ASSERT_EQ(n, 1, "one instance for both bindings");
	pf_policy_list_free(&l);
	/* b names a parameter the template lacks: it takes no part */
	if (!parse_three(BINDING("a", "x", "{execs: [/a]}"), BINDING("b", "x", "{bogus: [/b]}"),
			 &l))
		goto out;
	ASSERT_TRUE(blocked(&l, "/b", &n), "refused binding adds nothing");
	ASSERT_FALSE(blocked(&l, "/a", &n), "the other binding still applies");
out:
	pf_policy_list_free(&l);
}

/*
 * A cgroup of the pod that no known container claims is held to the policies
 * of every container; an unresolvable path, or one outside the container's
 * view, is denied by every enforcing policy (unless it opted out of the view).
 */
PF_TEST(evaluator_unidentified_container_and_fail_closed)
{
	static const char *const containers[] = {"a", "b"};
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_labels labels = {};
	struct pf_eval_result r;
	const struct pf_policy *refs[4];
	const char *text =
	    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: only-a}\n"
	    "spec:\n  containerSelector: {matchLabels: {name: a}}\n  kprobes:\n"
	    "  - call: security_bprm_creds_for_exec\n    syscall: false\n"
	    "    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
	    "    - matchArgs: [{index: 0, operator: Prefix, values: [/]}]\n"
	    "      matchActions: [{action: Post}]\n"
	    "    - matchArgs: [{index: 0, operator: NotEqual, values: [/bin/a]}]\n"
	    "      matchActions: [{action: Override, argError: -1}]\n";
	struct pf_eval_query q = {.pod_namespace = "default",
				  .pod_labels = &labels,
				  .path = "/bin/b",
				  .pod_containers = containers,
				  .n_pod_containers = 2};

	if (!ASSERT_OK(pf_policy_parse_buf("t.yaml", text, strlen(text), &l, &d), "parse"))
		goto out;
	refs[0] = &l.v[0];
	/* Post first: /bin/b is only reported in a; b has no policy. */
	q.container = "b";
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "b"))
		ASSERT_FALSE(r.blocked, "container b: no policy");
	pf_eval_result_free(&r);
	q.container = NULL;
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "unidentified"))
		ASSERT_EQ(r.n, 1, "a's policy applies to a container not identified yet");
	pf_eval_result_free(&r);
	/* Unresolvable: the Post-only selector does not take the Override's turn. */
	q.container = "a";
	q.path_unresolved = true;
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "unresolved"))
		ASSERT_TRUE(r.blocked, "unresolvable path denied by the enforcing policy");
	pf_eval_result_free(&r);
	q.path_unresolved = false;
	q.path = "/bin/a";
	q.foreign_view = true;
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "foreign"))
		ASSERT_TRUE(r.blocked, "an allowed name outside the container's view: denied");
	pf_eval_result_free(&r);
	l.v[0].any_view = true;
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "opted out"))
		ASSERT_FALSE(r.blocked, "opted out: the name counts in the task's view");
	pf_eval_result_free(&r);
	q.container = NULL;
	q.path = "/bin/x";
	q.foreign_view = false;
	q.path_unresolved = true;
	if (ASSERT_OK(pf_evaluate(refs, 1, &q, &r), "unidentified, unresolvable"))
		ASSERT_TRUE(r.blocked, "a container not identified yet is held to a's policy");
	pf_eval_result_free(&r);
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

#define TARGET_BINDING(name, kind, target)                                                         \
	"apiVersion: podfence.io/v1alpha1\n"                                                       \
	"kind: PolicyBinding\n"                                                                    \
	"metadata: {name: " name ", namespace: shop}\n"                                            \
	"spec:\n"                                                                                  \
	"  templateRef: allow\n"                                                                   \
	"  targetRef: {apiVersion: apps/v1, kind: " kind ", name: " target "}\n"                   \
	"  values: {execs: [/bin/a]}\n"

/* targetRef: the pods of one workload, whatever their labels; wrong ones name the field. */
PF_TEST(binding_target_ref_selects_its_workload)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_workload web = {"Deployment", "web"}, db = {"StatefulSet", "web"},
			   other = {"Deployment", "web2"};
	const struct pf_policy *b;

	if (!ASSERT_OK(parse(TEMPLATE "---\n" TARGET_BINDING("b", "Deployment", "web"), &l, &d),
		       "parse") ||
	    !ASSERT_EQ(l.n, 2, "two objects"))
		goto out;
	b = &l.v[1];
	ASSERT_STREQ(b->target.kind, "Deployment", "kind");
	ASSERT_STREQ(b->target.name, "web", "name");
	ASSERT_TRUE(pf_policy_selects(b, "shop", NULL, &web, "c"), "its Deployment's pods");
	ASSERT_FALSE(pf_policy_selects(b, "shop", NULL, &db, "c"), "same name, other kind");
	ASSERT_FALSE(pf_policy_selects(b, "shop", NULL, &other, "c"), "other Deployment");
	ASSERT_FALSE(pf_policy_selects(b, "dev", NULL, &web, "c"), "other namespace");
	ASSERT_FALSE(pf_policy_selects(b, "shop", NULL, NULL, "c"), "no workload known");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);

	static const struct {
		const char *text, *needle;
	} bad[] = {
	    {TARGET_BINDING("b", "Rollout", "web"),
	     "spec.targetRef.kind: \"Rollout\" is not a workload kind (Deployment, StatefulSet"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: b}\n"
	     "spec:\n  templateRef: t\n  targetRef: {kind: Deployment}\n",
	     "spec.targetRef.name: required"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: b}\n"
	     "spec:\n  templateRef: t\n  podSelector: {}\n  targetRef: {kind: Job, name: j}\n",
	     "by podSelector or by targetRef, not both"},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: b}\n"
	     "spec:\n  templateRef: t\n  targetRef: {kind: Job, name: j, namespace: x}\n",
	     "a targetRef names a workload of the binding's own namespace"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = (struct pf_policy_list){};
		d = (struct pf_diags){};
		ASSERT_EQ(parse(bad[i].text, &l, &d), -EINVAL, bad[i].needle);
		ASSERT_TRUE(has_error(&d, bad[i].needle), bad[i].needle);
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

/* The reference evaluator: a targetRef binding's instance applies to its workload only. */
PF_TEST(evaluator_follows_target_ref)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_labels labels = {};
	struct pf_workload web = {"Deployment", "web"}, api = {"Deployment", "api"};
	const struct pf_policy *refs[2];
	struct pf_eval_query q = {.pod_namespace = "shop",
				  .pod_labels = &labels,
				  .pod_workload = &web,
				  .container = "c",
				  .path = "/bin/sh"};
	struct pf_eval_result r;

	if (!ASSERT_OK(parse(TEMPLATE "---\n" TARGET_BINDING("b", "Deployment", "web"), &l, &d),
		       "parse"))
		goto out;
	refs[0] = &l.v[0];
	refs[1] = &l.v[1];
	if (ASSERT_OK(pf_evaluate(refs, 2, &q, &r), "web"))
		ASSERT_TRUE(r.blocked, "web's pods are held to the binding");
	pf_eval_result_free(&r);
	q.path = "/bin/a";
	if (ASSERT_OK(pf_evaluate(refs, 2, &q, &r), "web allowed"))
		ASSERT_FALSE(r.blocked, "the binding's value is allowed");
	pf_eval_result_free(&r);
	q.path = "/bin/sh";
	q.pod_workload = &api;
	if (ASSERT_OK(pf_evaluate(refs, 2, &q, &r), "api"))
		ASSERT_FALSE(r.blocked, "another Deployment: no policy");
	pf_eval_result_free(&r);
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}
