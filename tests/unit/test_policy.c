// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>
#include "pf_test.h"
#include "podfence/policy.h"

/* Tests run from the project root; the shared corpus sits next to it (absent for users). */
#define CORPUS	  "../shared/corpus/tetragon"
#define SEED_PAIR CORPUS "/CFP4191__per-workload-exec-allowlist__policy-1_policy-2.yaml"

/* Lines 1-5. */
#define HDR                                                                                        \
	"apiVersion: cilium.io/v1alpha1\n"                                                         \
	"kind: TracingPolicy\n"                                                                    \
	"metadata:\n"                                                                              \
	"  name: p\n"                                                                              \
	"spec:\n"
/* Lines 6-12: selectors follow at line 13, column 5 for "- ". */
#define HOOK                                                                                       \
	"  kprobes:\n"                                                                             \
	"  - call: security_bprm_creds_for_exec\n"                                                 \
	"    syscall: false\n"                                                                     \
	"    args:\n"                                                                              \
	"    - index: 0\n"                                                                         \
	"      type: linux_binprm\n"                                                               \
	"    selectors:\n"

/* A deny-listing selector with one matchArgs entry: operator and value vary. */
#define SEL_ARG(op, val)                                                                           \
	"    - matchArgs:\n"                                                                       \
	"      - index: 0\n"                                                                       \
	"        operator: " op "\n"                                                               \
	"        values: [\"" val "\"]\n"                                                          \
	"      matchActions:\n"                                                                    \
	"      - action: Override\n"                                                               \
	"        argError: -1\n"

static int parse(const char *text, struct pf_policy_list *l, struct pf_diags *d)
{
	return pf_policy_parse_buf("t.yaml", text, strlen(text), l, d);
}

/* The diagnostic of severity sev whose message contains needle; prints all when absent. */
static const struct pf_diag *diag(const struct pf_diags *d, enum pf_severity sev,
				  const char *needle)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].msg && strstr(d->v[i].msg, needle))
			return &d->v[i];
	fprintf(stderr, "    no %s containing \"%s\" among:\n", sev ? "warning" : "error", needle);
	for (size_t i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "      %s\n", buf);
	}
	return NULL;
}

/* Parses text expecting success and exactly one policy; returns it or NULL. */
static struct pf_policy *parse_one(const char *text, struct pf_policy_list *l, struct pf_diags *d)
{
	if (!ASSERT_OK(parse(text, l, d), "parse") || !ASSERT_EQ(l->n, 1, "one policy")) {
		pf_diags_print(d, stderr);
		return NULL;
	}
	return &l->v[0];
}

/* Parses text expecting the file to be rejected with an error containing needle. */
static const struct pf_diag *parse_err(const char *text, const char *needle, struct pf_diags *d)
{
	struct pf_policy_list l = {0};
	int err = parse(text, &l, d);

	ASSERT_EQ(err, -EINVAL, "file rejected");
	ASSERT_EQ(l.n, 0, "no policy out of a rejected file");
	pf_policy_list_free(&l);
	return diag(d, PF_SEV_ERROR, needle);
}

static void check_seed_policy(const struct pf_policy *p, const char *name, const char *app,
			      size_t n_values, const char *value)
{
	const struct pf_policy_rule *r = &p->rules[0];
	const struct pf_policy_cond *c = &r->conds[0];

	ASSERT_STREQ(p->name, name, "name");
	ASSERT_TRUE(p->namespace == NULL, "cluster-wide");
	ASSERT_STREQ(p->kind, "TracingPolicy", "kind");
	ASSERT_STREQ(p->hook, "security_bprm_creds_for_exec", "hook");
	ASSERT_EQ(p->mode, PF_MODE_ENFORCE, "enforce by default");
	ASSERT_TRUE(p->pods.present, "podSelector present");
	if (ASSERT_EQ(p->pods.n, 1, "one matchLabels requirement")) {
		ASSERT_STREQ(p->pods.reqs[0].key, "app", "label key");
		ASSERT_EQ(p->pods.reqs[0].op, PF_SEL_IN, "matchLabels is In");
		ASSERT_TRUE(pf_strset_has(&p->pods.reqs[0].values, app), "label value");
	}
	ASSERT_EQ(p->containers.n, 0, "every container");
	if (!ASSERT_EQ(p->n_rules, 1, "one selector") || !ASSERT_EQ(r->n_conds, 1, "one cond"))
		return;
	ASSERT_EQ(r->actions, PF_ACT_DENY | PF_ACT_POST, "Override + default Post");
	ASSERT_EQ(r->err, EPERM, "argError -1");
	ASSERT_EQ(r->group, 0, "group");
	ASSERT_EQ(c->subject, PF_SUBJ_EXEC_PATH, "matchArgs on the exec path");
	ASSERT_EQ(c->match, PF_MATCH_EXACT, "NotEqual is exact");
	ASSERT_TRUE(c->negate, "NotEqual negates");
	ASSERT_EQ(c->values.n, n_values, "values");
	ASSERT_TRUE(pf_strset_has(&c->values, value), "value");
}

PF_TEST(policy_seed_cfp4191_pair)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_labels pod = {0};

	if (access(SEED_PAIR, R_OK) != 0)
		PF_SKIP("%s not present (shared corpus absent)", SEED_PAIR);
	if (!ASSERT_OK(pf_policy_parse_file(SEED_PAIR, &l, &d), "parse") ||
	    !ASSERT_EQ(l.n, 2, "two documents, two policies"))
		goto out;
	check_seed_policy(&l.v[0], "policy-1", "my-deployment-1", 3, "/usr/bin/my-server-1");
	check_seed_policy(&l.v[1], "policy-2", "my-deployment-2", 2, "/usr/bin/ls");
	ASSERT_EQ(l.v[0].rules[0].conds[0].line, 19, "cond at its operator (line)");
	ASSERT_EQ(l.v[0].rules[0].conds[0].col, 19, "cond at its operator (col)");
	ASSERT_EQ(d.n_errors, 0, "no error");
	ASSERT_TRUE(diag(&d, PF_SEV_WARNING, "\"disable-kprobe-multi\" has no effect"),
		    "ignored option is a warning");
	pf_labels_set(&pod, "app", "my-deployment-1");
	ASSERT_TRUE(pf_policy_selects(&l.v[0], "default", &pod, NULL, "c"),
		    "policy-1 selects its pods");
	ASSERT_FALSE(pf_policy_selects(&l.v[1], "default", &pod, NULL, "c"), "policy-2 does not");
out:
	pf_labels_free(&pod);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_arg_operators)
{
	static const struct {
		const char *op;
		enum pf_match match;
		bool negate;
	} ops[] = {
	    {"Equal", PF_MATCH_EXACT, false},	 {"NotEqual", PF_MATCH_EXACT, true},
	    {"Prefix", PF_MATCH_PREFIX, false},	 {"NotPrefix", PF_MATCH_PREFIX, true},
	    {"Postfix", PF_MATCH_SUFFIX, false}, {"NotPostfix", PF_MATCH_SUFFIX, true},
	};
	char buf[2048];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct pf_policy_list l = {0};
		struct pf_diags d = {0};
		struct pf_policy *p;

		snprintf(buf, sizeof(buf),
			 HDR HOOK "    - matchArgs:\n      - index: 0\n        operator: %s\n"
				  "        values: [\"/usr/bin/true\", \"/usr/bin/true\"]\n",
			 ops[i].op);
		p = parse_one(buf, &l, &d);
		if (p && ASSERT_EQ(p->rules[0].n_conds, 1, ops[i].op)) {
			const struct pf_policy_cond *c = &p->rules[0].conds[0];

			ASSERT_EQ(c->subject, PF_SUBJ_EXEC_PATH, ops[i].op);
			ASSERT_EQ(c->match, ops[i].match, ops[i].op);
			ASSERT_EQ(c->negate, ops[i].negate, ops[i].op);
			ASSERT_EQ(c->values.n, 1, "values deduplicated");
			ASSERT_EQ(p->rules[0].actions, PF_ACT_POST, "no matchActions: Post only");
		}
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

PF_TEST(policy_binary_operators)
{
	static const struct {
		const char *op;
		enum pf_match match;
		bool negate;
	} ops[] = {
	    {"In", PF_MATCH_EXACT, false},	 {"NotIn", PF_MATCH_EXACT, true},
	    {"Prefix", PF_MATCH_PREFIX, false},	 {"NotPrefix", PF_MATCH_PREFIX, true},
	    {"Postfix", PF_MATCH_SUFFIX, false}, {"NotPostfix", PF_MATCH_SUFFIX, true},
	};
	char buf[2048];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct pf_policy_list l = {0};
		struct pf_diags d = {0};
		struct pf_policy *p;

		snprintf(buf, sizeof(buf),
			 HDR HOOK "    - matchBinaries:\n      - operator: %s\n"
				  "        values: [/usr/bin/bash, /bin/sh]\n"
				  "      matchArgs:\n      - index: 0\n        operator: Equal\n"
				  "        values: [/usr/bin/curl]\n",
			 ops[i].op);
		p = parse_one(buf, &l, &d);
		if (p && ASSERT_EQ(p->rules[0].n_conds, 2, ops[i].op)) {
			/* matchArgs entries come first, whatever the order in the file */
			const struct pf_policy_cond *c = &p->rules[0].conds[1];

			ASSERT_EQ(p->rules[0].conds[0].subject, PF_SUBJ_EXEC_PATH, "matchArgs");
			ASSERT_EQ(c->subject, PF_SUBJ_CALLER, ops[i].op);
			ASSERT_EQ(c->match, ops[i].match, ops[i].op);
			ASSERT_EQ(c->negate, ops[i].negate, ops[i].op);
			ASSERT_EQ(c->values.n, 2, "values");
		}
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

PF_TEST(policy_operator_names_case_sensitive)
{
	struct pf_diags d = {0};
	const struct pf_diag *e;

	e = parse_err(
	    HDR HOOK SEL_ARG("equal", "/bin/sh"),
	    "spec.kprobes[0].selectors[0].matchArgs[0].operator: \"equal\" is not supported", &d);
	if (e) {
		ASSERT_STRSTR(e->msg, "did you mean \"Equal\"?", "hint");
		ASSERT_EQ(e->line, 15, "at the operator (line)");
		ASSERT_EQ(e->col, 19, "at the operator (col)");
	}
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK SEL_ARG("Mask", "2"),
				  "\"Mask\" is not supported (expected Equal, NotEqual, Prefix, "
				  "NotPrefix, Postfix or NotPostfix)",
				  &d),
			"Tetragon operator without exec meaning");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(
	    parse_err(HDR HOOK "    - matchBinaries:\n      - operator: Equal\n"
			       "        values: [/bin/sh]\n",
		      "matchBinaries[0].operator: \"Equal\" is not supported (expected In, NotIn",
		      &d),
	    "matchBinaries takes In, not Equal");
	pf_diags_free(&d);
}

PF_TEST(policy_actions)
{
	static const struct {
		const char *actions;
		unsigned expect;
		int err;
	} cases[] = {
	    {"      - action: Sigkill\n", PF_ACT_DENY | PF_ACT_KILL | PF_ACT_POST, EPERM},
	    {"      - action: Post\n", PF_ACT_POST, 0},
	    {"      - action: NoPost\n", 0, 0},
	    {"      - action: Override\n        argError: -13\n      - action: NoPost\n",
	     PF_ACT_DENY, EACCES},
	    {"      - action: Override\n        argError: -1\n      - action: Sigkill\n",
	     PF_ACT_DENY | PF_ACT_KILL | PF_ACT_POST, EPERM},
	    {"        []\n", PF_ACT_POST, 0},
	};
	char buf[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_policy_list l = {0};
		struct pf_diags d = {0};
		struct pf_policy *p;

		snprintf(buf, sizeof(buf), HDR HOOK "    - matchActions:\n%s", cases[i].actions);
		p = parse_one(buf, &l, &d);
		if (p && ASSERT_EQ(p->n_rules, 1, "rule")) {
			ASSERT_EQ(p->rules[0].actions, cases[i].expect, cases[i].actions);
			ASSERT_EQ(p->rules[0].err, cases[i].err, cases[i].actions);
			ASSERT_EQ(p->rules[0].n_conds, 0, "no condition: every exec");
		}
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

PF_TEST(policy_action_errors)
{
	struct pf_diags d = {0};

	ASSERT_NOT_NULL(
	    parse_err(HDR HOOK "    - matchActions:\n      - action: Signal\n        argSig: 9\n",
		      "matchActions[0].action: \"Signal\" is not supported (expected Override, "
		      "Sigkill, Post or NoPost)",
		      &d),
	    "unknown action");
	ASSERT_NOT_NULL(
	    diag(&d, PF_SEV_ERROR, "matchActions[0].argSig: field \"argSig\" is not supported"),
	    "argSig");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK "    - matchActions:\n      - action: Override\n",
				  "matchActions[0].argError: required with Override", &d),
			"Override needs argError");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(
	    parse_err(HDR HOOK
		      "    - matchActions:\n      - action: Override\n        argError: 1\n",
		      "argError: \"1\" is not a negative errno", &d),
	    "positive argError");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(
	    parse_err(HDR HOOK
		      "    - matchActions:\n      - action: Post\n      - action: NoPost\n",
		      "Post and NoPost contradict", &d),
	    "Post + NoPost");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK "    - matchActions:\n      - action: sigkill\n",
				  "did you mean \"Sigkill\"?", &d),
			"action names are case-sensitive");
	pf_diags_free(&d);
}

PF_TEST(policy_monitor_mode_and_options)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_policy *p;

	p = parse_one(HDR "  options:\n  - name: policy-mode\n    value: monitor\n"
			  "  - name: disable-kprobe-multi\n    value: \"1\"\n" HOOK SEL_ARG(
			      "NotEqual", "/bin/sh"),
		      &l, &d);
	if (p) {
		ASSERT_EQ(p->mode, PF_MODE_MONITOR, "monitor");
		ASSERT_EQ(p->rules[0].actions, PF_ACT_DENY | PF_ACT_POST,
			  "actions kept as written");
	}
	ASSERT_NOT_NULL(diag(&d, PF_SEV_WARNING,
			     "spec.options[1].name: option \"disable-kprobe-multi\" has no effect"),
			"unknown option warns");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	p = parse_one(HDR "  options:\n  - name: policy-mode\n    value: enforce\n" HOOK, &l, &d);
	if (p)
		ASSERT_EQ(p->mode, PF_MODE_ENFORCE, "enforce");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR
				  "  options:\n  - name: policy-mode\n    value: Monitor\n" HOOK,
				  "spec.options[0].value: \"Monitor\" is not a policy mode "
				  "(expected enforce or monitor)",
				  &d),
			"bad mode");
	pf_diags_free(&d);
}

PF_TEST(policy_unknown_field_exact_position)
{
	struct pf_diags d = {0};
	const struct pf_diag *e;

	e = parse_err(HDR HOOK "    - matchArgs:\n      - index: 0\n        operator: Equal\n"
			       "        values: [/bin/sh]\n        valuez: [/bin/ls]\n",
		      "spec.kprobes[0].selectors[0].matchArgs[0].valuez: unknown field \"valuez\"",
		      &d);
	if (e) {
		ASSERT_STREQ(e->file, "t.yaml", "file");
		ASSERT_EQ(e->line, 17, "line of the key");
		ASSERT_EQ(e->col, 9, "column of the key");
	}
	pf_diags_clear(&d);
	e = parse_err("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\n"
		      "  nmae: q\nspec:\n" HOOK,
		      "metadata.nmae: unknown field \"nmae\"", &d);
	if (e) {
		ASSERT_EQ(e->line, 5, "line");
		ASSERT_EQ(e->col, 3, "col");
	}
	pf_diags_free(&d);
}

PF_TEST(policy_unsupported_hook_message)
{
	struct pf_diags d = {0};
	const struct pf_diag *e;

	e = parse_err(HDR "  kprobes:\n  - call: \"security_file_open\"\n    syscall: false\n"
			  "    return: true\n",
		      "spec.kprobes[0].call: \"security_file_open\" is not supported (podfence "
		      "enforces exec hooks",
		      &d);
	if (e) {
		/* the hooks it could have been: exec and connect */
		ASSERT_STREQ(e->msg,
			     "spec.kprobes[0].call: \"security_file_open\" is not supported "
			     "(podfence enforces exec hooks: security_bprm_creds_for_exec, "
			     "security_bprm_check; and connect hooks: tcp_connect, "
			     "security_socket_connect)",
			     "exact text");
		ASSERT_EQ(e->line, 7, "line");
		ASSERT_EQ(e->col, 11, "col");
	}
	ASSERT_EQ(d.n_errors, 1, "the hook is the only error worth reporting");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(
	    parse_err(HDR "  lsmhooks:\n  - hook: file_open\n",
		      "spec.lsmhooks[0].hook: \"file_open\" is not supported (podfence "
		      "enforces exec hooks: bprm_check_security, bprm_creds_for_exec; and "
		      "connect hooks: socket_connect)",
		      &d),
	    "lsm hook");
	pf_diags_free(&d);
}

PF_TEST(policy_lsmhook_and_kprobe_groups)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_policy *p;

	p = parse_one(
	    HDR HOOK SEL_ARG("Equal", "/bin/nc") SEL_ARG(
		"Prefix",
		"/tmp/") "  lsmhooks:\n  - hook: bprm_check_security\n    args:\n    - index: 0\n"
			 "      type: file\n    selectors:\n" SEL_ARG("Postfix", "/nmap"),
	    &l, &d);
	if (p && ASSERT_EQ(p->n_rules, 3, "three selectors")) {
		ASSERT_STREQ(p->hook, "security_bprm_creds_for_exec", "first hook");
		ASSERT_EQ(p->rules[0].group, 0, "first hook entry");
		ASSERT_EQ(p->rules[1].group, 0, "same entry, same first-match group");
		ASSERT_EQ(p->rules[2].group, 1, "next entry, own group");
		ASSERT_EQ(p->rules[2].conds[0].match, PF_MATCH_SUFFIX, "lsm selector");
		ASSERT_EQ(p->rules[1].line, 20, "rule at its selector");
	}
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_value_limits)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	char *big = malloc(PF_EXACT_MAX + 2), *text = NULL;
	const struct pf_diag *e;

	if (!ASSERT_NOT_NULL(big, "malloc"))
		return;
	/* exactly at the limits: accepted */
	memset(big, 'a', PF_EXACT_MAX + 1);
	big[0] = '/';
	big[PF_EXACT_MAX] = '\0';
	if (asprintf(&text, HDR HOOK SEL_ARG("Equal", "%s") SEL_ARG("Prefix", "%.*s"), big,
		     PF_AFFIX_MAX, big) < 0)
		goto out;
	ASSERT_OK(parse(text, &l, &d), "1024-byte exact, 252-byte prefix");
	pf_policy_list_free(&l);
	free(text);
	text = NULL;
	/* one byte over each */
	big[PF_EXACT_MAX] = 'a';
	big[PF_EXACT_MAX + 1] = '\0';
	if (asprintf(&text, HDR HOOK SEL_ARG("NotEqual", "%s") SEL_ARG("Postfix", "%.*s"), big,
		     PF_AFFIX_MAX + 1, big) < 0)
		goto out;
	ASSERT_EQ(parse(text, &l, &d), -EINVAL, "over the limits");
	e = diag(&d, PF_SEV_ERROR,
		 "selectors[0].matchArgs[0].values[0]: value is 1025 bytes, longer than the "
		 "1024-byte limit");
	if (ASSERT_NOT_NULL(e, "exact limit")) {
		ASSERT_EQ(e->line, 16, "at the value (line)");
		ASSERT_EQ(e->col, 18, "at the value (col)");
	}
	ASSERT_NOT_NULL(diag(&d, PF_SEV_ERROR,
			     "selectors[1].matchArgs[0].values[0]: value is 253 bytes, longer than "
			     "the 252-byte limit"),
			"affix limit");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK SEL_ARG("Equal", ""), "values[0]: empty value", &d),
			"empty value");
out:
	free(text);
	free(big);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* What each operator accepts as a path (docs/policy.md 2.4), message by message. */
PF_TEST(value_check_canonical_forms)
{
	static const struct {
		enum pf_match m;
		const char *value, *msg; /* msg NULL: accepted */
	} cases[] = {
	    /* exact values: resolved absolute paths */
	    {PF_MATCH_EXACT, "/usr/bin/true", NULL},
	    {PF_MATCH_EXACT, "/usr/bin/...", NULL},
	    {PF_MATCH_EXACT, "/opt/.app/..x/y.", NULL},
	    {PF_MATCH_EXACT, "/memfd:payload (deleted)", NULL},
	    {PF_MATCH_EXACT, "/memfd:a/../b//c/ (deleted)", NULL},
	    {PF_MATCH_EXACT, "/tmp/x (deleted)", NULL},
	    {PF_MATCH_EXACT, "/usr/bin/../bin/true",
	     "\"/usr/bin/../bin/true\" has a \"..\" component: it can never match (the kernel "
	     "reports resolved paths; \"..\" is not resolved here, through a symlink it leads "
	     "elsewhere: write what readlink -f prints in the container)"},
	    {PF_MATCH_EXACT, "/usr/./bin/true",
	     "\"/usr/./bin/true\" has a \".\" component: it can never match (the kernel reports "
	     "resolved paths): write \"/usr/bin/true\""},
	    {PF_MATCH_EXACT, "/usr//bin/true",
	     "\"/usr//bin/true\" has an empty component (\"//\"): it can never match (the kernel "
	     "reports resolved paths): write \"/usr/bin/true\""},
	    {PF_MATCH_EXACT, "/usr/bin/true/",
	     "\"/usr/bin/true/\" ends with \"/\": it can never match (the kernel reports resolved "
	     "paths): write \"/usr/bin/true\""},
	    {PF_MATCH_EXACT, "/usr/bin/.",
	     "has a \".\" component: it can never match (the kernel "
	     "reports resolved paths): write \"/usr/bin\""},
	    /* several problems: the worst is named, the spelling fixes them all */
	    {PF_MATCH_EXACT, "//usr/./bin//true/",
	     "\"//usr/./bin//true/\" has a \".\" component: it can never match (the kernel reports "
	     "resolved paths): write \"/usr/bin/true\""},
	    {PF_MATCH_EXACT, "/usr/./bin/../true", "has a \"..\" component"},
	    {PF_MATCH_EXACT, "/",
	     "\"/\" ends with \"/\": it can never match (the kernel reports "
	     "resolved paths of files)"},
	    {PF_MATCH_EXACT, "/./",
	     "\"/./\" has a \".\" component: it can never match (the kernel "
	     "reports resolved paths of files)"},
	    {PF_MATCH_EXACT, "usr/bin/true",
	     "\"usr/bin/true\" is not an absolute path: it can "
	     "never match (the kernel reports absolute paths)"},
	    {PF_MATCH_EXACT, "./true", "is not an absolute path"},
	    /* Prefix: absolute; a final "/" is meaningful, the final piece starts a name */
	    {PF_MATCH_PREFIX, "/", NULL},
	    {PF_MATCH_PREFIX, "/usr/bin/", NULL},
	    {PF_MATCH_PREFIX, "/usr/bin", NULL},
	    {PF_MATCH_PREFIX, "/tmp/.", NULL},
	    {PF_MATCH_PREFIX, "/tmp/..", NULL},
	    {PF_MATCH_PREFIX, "/memfd:", NULL},
	    {PF_MATCH_PREFIX, "/usr//bin/",
	     "has an empty component (\"//\"): it can never match "
	     "(the kernel reports resolved paths): write \"/usr/bin/\""},
	    {PF_MATCH_PREFIX, "/usr/./",
	     "has a \".\" component: it can never match (the kernel "
	     "reports resolved paths): write \"/usr/\""},
	    {PF_MATCH_PREFIX, "/opt/../usr/", "has a \"..\" component"},
	    {PF_MATCH_PREFIX, "usr/", "\"usr/\" is not an absolute path"},
	    /* Postfix: may be relative; its first piece ends a name, unless a "/" follows */
	    {PF_MATCH_SUFFIX, "bin/true", NULL},
	    {PF_MATCH_SUFFIX, "/true", NULL},
	    {PF_MATCH_SUFFIX, " (deleted)", NULL},
	    {PF_MATCH_SUFFIX, "..", NULL},
	    {PF_MATCH_SUFFIX, ".sh", NULL},
	    {PF_MATCH_SUFFIX, "bin//true",
	     "\"bin//true\" has an empty component (\"//\"): it can "
	     "never match (the kernel reports resolved paths): write \"bin/true\""},
	    {PF_MATCH_SUFFIX, "/bin/./true", "write \"/bin/true\""},
	    {PF_MATCH_SUFFIX, "../bin/true", "has a \"..\" component"},
	    {PF_MATCH_SUFFIX, "./true",
	     "\"./true\" has a \".\" component: it can never match "
	     "(the kernel reports resolved paths of files)"},
	    {PF_MATCH_SUFFIX, "bin/",
	     "\"bin/\" ends with \"/\": it can never match (the kernel "
	     "reports resolved paths of files)"},
	    {PF_MATCH_SUFFIX, "bin/.", "(the kernel reports resolved paths of files)"},
	    {PF_MATCH_SUFFIX, "/memfd:a/../b (deleted)", "has a \"..\" component"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024] = "";
		int ret = pf_value_check(cases[i].m, cases[i].value, err, sizeof(err));

		if (!cases[i].msg) {
			if (!ASSERT_OK(ret, cases[i].value))
				fprintf(stderr, "    %s\n", err);
			continue;
		}
		ASSERT_EQ(ret, -EINVAL, cases[i].value);
		ASSERT_STRSTR(err, cases[i].msg, cases[i].value);
		/* only a lexical fix is ever suggested */
		if (!strstr(cases[i].msg, "write \""))
			ASSERT_FALSE(strstr(err, "write \""), err);
	}
}

/* Non-canonical values in a policy file: an error at the value, the file refused. */
PF_TEST(policy_noncanonical_values_file_line_col)
{
	static const struct {
		const char *text, *msg;
		int line, col;
	} cases[] = {
	    {HDR HOOK SEL_ARG("Equal", "/usr/bin/../bin/true"),
	     "selectors[0].matchArgs[0].values[0]: \"/usr/bin/../bin/true\" has a \"..\" component",
	     16, 18},
	    {HDR HOOK SEL_ARG("NotEqual", "/usr/./bin/true"),
	     "values[0]: \"/usr/./bin/true\" has a \".\" component: it can never match (the kernel "
	     "reports resolved paths): write \"/usr/bin/true\"",
	     16, 18},
	    {HDR HOOK SEL_ARG("Equal", "/usr//bin/true"), "write \"/usr/bin/true\"", 16, 18},
	    {HDR HOOK SEL_ARG("NotEqual", "/usr/bin/true/"), "\"/usr/bin/true/\" ends with \"/\"",
	     16, 18},
	    {HDR HOOK SEL_ARG("Equal", "true"), "\"true\" is not an absolute path", 16, 18},
	    {HDR HOOK SEL_ARG("Prefix", "/opt//app/"), "write \"/opt/app/\"", 16, 18},
	    {HDR HOOK SEL_ARG("NotPrefix", "opt/"), "\"opt/\" is not an absolute path", 16, 18},
	    {HDR HOOK SEL_ARG("Postfix", "../bin/true"), "has a \"..\" component", 16, 18},
	    {HDR HOOK SEL_ARG("NotPostfix", "bin/./true"), "write \"bin/true\"", 16, 18},
	    /* "\0" would end the C string: refused by the YAML reader, for every scalar */
	    {HDR HOOK SEL_ARG("Equal", "/usr/bin/true\\0x"), "string contains a NUL character", 16,
	     18},
	    /* second value of a list: its own column */
	    {HDR HOOK SEL_ARG("Equal", "/usr/bin/id\", \"/usr/bin//id"),
	     "values[1]: \"/usr/bin//id\" has an empty component", 16, 33},
	};
	/* matchBinaries (In: an exact operator): values on line 15 */
	static const char bin[] =
	    HDR HOOK "    - matchBinaries:\n"
		     "      - operator: In\n"
		     "        values: [/usr/bin/bash, /usr/bin/../bin/bash]\n";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_diags d = {0};
		const struct pf_diag *e = parse_err(cases[i].text, cases[i].msg, &d);

		if (ASSERT_NOT_NULL(e, cases[i].msg)) {
			ASSERT_EQ(e->line, cases[i].line, cases[i].msg);
			ASSERT_EQ(e->col, cases[i].col, cases[i].msg);
		}
		ASSERT_EQ(d.n_errors, 1, cases[i].msg);
		pf_diags_free(&d);
	}
	{
		struct pf_diags d = {0};
		const struct pf_diag *e = parse_err(
		    bin, "matchBinaries[0].values[1]: \"/usr/bin/../bin/bash\" has a \"..\"", &d);

		if (ASSERT_NOT_NULL(e, "matchBinaries In")) {
			ASSERT_EQ(e->line, 15, "In value line");
			ASSERT_EQ(e->col, 33, "In value col");
		}
		pf_diags_free(&d);
	}
}

/* Kernel-reported forms that look odd stay accepted: memfd, unlinked files, hidden names. */
PF_TEST(policy_kernel_path_forms_accepted)
{
	static const char text[] =
	    HDR HOOK SEL_ARG("Equal", "/memfd:payload (deleted)\", \"/tmp/x (deleted)\", "
				      "\"/memfd:a/../b (deleted)")
		SEL_ARG("Prefix", "/memfd:\", \"/tmp/.\", \"/usr/bin/\", \"/")
		    SEL_ARG("Postfix", " (deleted)\", \"bin/true\", \"..\", \"/nc");
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_policy *p = parse_one(text, &l, &d);

	if (p && ASSERT_EQ(p->n_rules, 3, "three selectors")) {
		ASSERT_EQ(p->rules[0].conds[0].values.n, 3, "exact values");
		ASSERT_EQ(p->rules[1].conds[0].values.n, 4, "prefix values");
		ASSERT_EQ(p->rules[2].conds[0].values.n, 4, "postfix values");
	}
	ASSERT_EQ(d.n, 0, "no diagnostic");
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_too_many_selectors_and_conds)
{
	struct pf_diags d = {0};
	const struct pf_diag *e;

	e = parse_err(HDR HOOK SEL_ARG("Equal", "/a") SEL_ARG("Equal", "/b") SEL_ARG("Equal", "/c")
			  SEL_ARG("Equal", "/d") SEL_ARG("Equal", "/e") SEL_ARG("Equal", "/f"),
		      "spec.kprobes[0].selectors: 6 selectors, at most 5 are supported", &d);
	if (e)
		ASSERT_EQ(e->line, 13, "at the selectors list");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK
				  "    - matchArgs:\n"
				  "      - {index: 0, operator: Prefix, values: [/a]}\n"
				  "      - {index: 0, operator: NotEqual, values: [/a/b]}\n"
				  "      - {index: 0, operator: NotPostfix, values: [.sh]}\n"
				  "      matchBinaries:\n"
				  "      - {operator: In, values: [/bin/sh]}\n",
				  "spec.kprobes[0].selectors[0]: 4 conditions (matchArgs and "
				  "matchBinaries entries), at most 3 are supported",
				  &d),
			"too many conditions");
	pf_diags_free(&d);
}

PF_TEST(policy_unsupported_fields_named)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {HDR HOOK "    - matchPIDs:\n      - {operator: In, values: [1]}\n",
	     "selectors[0].matchPIDs: field \"matchPIDs\" is not supported"},
	    {HDR HOOK
	     "    - matchNamespaces:\n      - {namespace: Pid, operator: In, values: [host_ns]}\n",
	     "selectors[0].matchNamespaces: field \"matchNamespaces\" is not supported"},
	    {HDR
	     "  kprobes:\n  - call: security_bprm_check\n    returnArg: {index: 0, type: int}\n",
	     "spec.kprobes[0].returnArg: field \"returnArg\" is not supported"},
	    {HDR "  kprobes:\n  - call: security_bprm_check\n    return: true\n",
	     "spec.kprobes[0].return: field \"return\" is not supported"},
	    {HDR "  kprobes:\n  - call: security_bprm_check\n    returnArgAction: Post\n",
	     "spec.kprobes[0].returnArgAction: field \"returnArgAction\" is not supported"},
	    {HDR "  kprobes:\n  - call: security_bprm_check\n    syscall: true\n",
	     "spec.kprobes[0].syscall: true is not supported"},
	    {HDR
	     "  kprobes:\n  - call: security_bprm_check\n    args:\n    - {index: 0, type: int}\n",
	     "spec.kprobes[0].args[0].type: \"int\" is not supported (expected linux_binprm or "
	     "file"},
	    {HDR
	     "  kprobes:\n  - call: security_bprm_check\n    args:\n    - {index: 1, type: file}\n",
	     "spec.kprobes[0].args[0].index: 1 is out of range"},
	    {HDR
	     "  kprobes:\n  - call: security_bprm_check\n    selectors:\n" SEL_ARG("Equal", "/x"),
	     "matchArgs[0].index: 0 does not name a declared argument"},
	    {HDR "  tracepoints:\n  - {subsystem: raw_syscalls, event: sys_enter}\n" HOOK,
	     "spec.tracepoints: field \"tracepoints\" is not supported (podfence enforces exec "
	     "hooks"},
	    {HDR "  uprobes: []\n" HOOK, "spec.uprobes: field \"uprobes\" is not supported"},
	    {HDR "  enforcers: []\n" HOOK, "spec.enforcers: field \"enforcers\" is not supported"},
	    {HDR "  lists: []\n" HOOK, "spec.lists: field \"lists\" is not supported"},
	    {HDR "  usdts: []\n" HOOK, "spec.usdts: field \"usdts\" is not supported"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_diags d = {0};

		ASSERT_NOT_NULL(parse_err(cases[i].text, cases[i].needle, &d), cases[i].needle);
		pf_diags_free(&d);
	}
}

PF_TEST(policy_needs_an_exec_hook)
{
	struct pf_diags d = {0};

	ASSERT_NOT_NULL(parse_err(HDR "  options:\n  - {name: policy-template-ref, value: t}\n",
				  "spec: no exec hook", &d),
			"hookless policy");
	ASSERT_NOT_NULL(diag(&d, PF_SEV_ERROR,
			     "write a podfence.io/v1alpha1 PolicyTemplate and "
			     "PolicyBinding instead"),
			"Tetragon PR 4279 options point to podfence's kinds");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR "  kprobes: []\n", "spec: no exec hook", &d), "empty list");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
				  "metadata: {name: p}\n",
				  "spec: required", &d),
			"no spec");
	pf_diags_free(&d);
}

PF_TEST(policy_no_selectors_only_reports)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_policy *p;

	p = parse_one(HDR "  lsmhooks:\n  - hook: bprm_creds_for_exec\n", &l, &d);
	if (p && ASSERT_EQ(p->n_rules, 1, "one catch-all rule")) {
		ASSERT_EQ(p->rules[0].n_conds, 0, "matches every exec");
		ASSERT_EQ(p->rules[0].actions, PF_ACT_POST, "Post only");
	}
	ASSERT_NOT_NULL(
	    diag(&d, PF_SEV_WARNING,
		 "spec.lsmhooks[0]: no selectors: every exec matches and is only reported"),
	    "warning");
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_kind_and_api_version)
{
	struct pf_diags d = {0};
	const struct pf_diag *e;

	e = parse_err("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
		      "kind: \"Deployment\" is not a policy kind (expected TracingPolicy, "
		      "TracingPolicyNamespaced, PolicyTemplate or PolicyBinding)",
		      &d);
	if (e) {
		ASSERT_EQ(e->line, 2, "at the kind");
		ASSERT_EQ(d.n_errors, 1, "only the kind: its apiVersion is right for it");
	}
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(
	    parse_err("apiVersion: cilium.io/v1\nkind: TracingPolicy\n",
		      "apiVersion: \"cilium.io/v1\" is not supported for TracingPolicy (expected "
		      "cilium.io/v1alpha1)",
		      &d),
	    "api version");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nspec: {}\n",
				  "metadata: required", &d),
			"metadata");
	pf_diags_free(&d);
}

PF_TEST(policy_yaml_syntax_error_line_col)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};

	ASSERT_EQ(parse(HDR "  kprobes:\n  - call: [security_bprm_check\n", &l, &d), -EINVAL,
		  "rejected");
	ASSERT_EQ(l.n, 0, "no policy");
	if (ASSERT_EQ(d.n_errors, 1, "one error")) {
		ASSERT_EQ(d.v[0].line, 8, "line");
		ASSERT_EQ(d.v[0].col, 1, "col");
		ASSERT_STRSTR(d.v[0].msg, "did not find expected ',' or ']'", "libyaml text");
	}
	pf_diags_free(&d);
}

PF_TEST(policy_json_input)
{
	static const char json[] =
	    "{\"apiVersion\": \"cilium.io/v1alpha1\", \"kind\": \"TracingPolicyNamespaced\",\n"
	    " \"metadata\": {\"name\": \"j\", \"namespace\": \"shop\", \"uid\": \"1234\"},\n"
	    " \"spec\": {\"lsmhooks\": [{\"hook\": \"bprm_check_security\",\n"
	    "   \"args\": [{\"index\": 0, \"type\": \"file\"}],\n"
	    "   \"selectors\": [{\"matchBinaries\": [{\"operator\": \"NotIn\", \"values\": "
	    "[\"/bin/sh\"]}],\n"
	    "                  \"matchActions\": [{\"action\": \"Sigkill\"}]}]}]}}\n";
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_policy *p;

	p = parse_one(json, &l, &d);
	if (p && ASSERT_EQ(p->n_rules, 1, "rule")) {
		ASSERT_STREQ(p->namespace, "shop", "namespace");
		ASSERT_EQ(p->rules[0].conds[0].subject, PF_SUBJ_CALLER, "matchBinaries");
		ASSERT_TRUE(p->rules[0].conds[0].negate, "NotIn");
		ASSERT_EQ(p->rules[0].actions, PF_ACT_DENY | PF_ACT_KILL | PF_ACT_POST, "Sigkill");
		ASSERT_EQ(p->rules[0].conds[0].line, 5, "position in JSON");
	}
	ASSERT_EQ(d.n, 0, "server metadata accepted silently");
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_multi_document_all_or_nothing)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};

	ASSERT_OK(parse(HDR HOOK "---\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
				 "metadata: {name: q}\nspec:\n" HOOK,
			&l, &d),
		  "two good documents");
	if (ASSERT_EQ(l.n, 2, "two policies")) {
		ASSERT_STREQ(l.v[1].name, "q", "second");
		ASSERT_EQ(l.v[1].line, 14, "document position");
	}
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	/* first document good, two bad ones: nothing out, both errors reported */
	ASSERT_EQ(parse(HDR HOOK "---\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
				 "metadata: {name: q}\nspec:\n  kprobes:\n  - call: sys_connect\n"
				 "---\napiVersion: v1\nkind: Pod\n",
			&l, &d),
		  -EINVAL, "rejected as a whole");
	ASSERT_EQ(l.n, 0, "no policy");
	ASSERT_EQ(d.n_errors, 2, "every error of the file");
	ASSERT_NOT_NULL(diag(&d, PF_SEV_ERROR, "\"sys_connect\" is not supported"), "doc 2");
	ASSERT_NOT_NULL(diag(&d, PF_SEV_ERROR, "\"Pod\" is not a policy kind"), "doc 3");
	pf_diags_clear(&d);
	ASSERT_NOT_NULL(parse_err(HDR HOOK "---\n" HDR HOOK,
				  "policy \"p\" is already defined in this file (line 1)", &d),
			"duplicate name");
	pf_diags_free(&d);
}

PF_TEST(policy_namespaced_selects_only_its_namespace)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_labels pod = {0};
	struct pf_policy *p;

	p = parse_one("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n"
		      "metadata: {name: n, namespace: prod}\nspec:\n" HOOK,
		      &l, &d);
	if (p) {
		ASSERT_STREQ(p->namespace, "prod", "namespace");
		ASSERT_TRUE(pf_policy_selects(p, "prod", &pod, NULL, "app"), "own namespace");
		ASSERT_FALSE(pf_policy_selects(p, "dev", &pod, NULL, "app"), "other namespace");
		ASSERT_FALSE(pf_policy_selects(p, NULL, &pod, NULL, "app"), "no namespace");
	}
	pf_policy_list_free(&l);
	p = parse_one("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n"
		      "metadata: {name: n}\nspec:\n" HOOK,
		      &l, &d);
	if (p)
		ASSERT_STREQ(p->namespace, "default", "namespace defaults to default");
	pf_policy_list_free(&l);
	p = parse_one("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
		      "metadata: {name: n, namespace: prod}\nspec:\n" HOOK,
		      &l, &d);
	if (p) {
		ASSERT_TRUE(p->namespace == NULL, "cluster-wide ignores metadata.namespace");
		ASSERT_TRUE(pf_policy_selects(p, "dev", &pod, NULL, "app"), "every namespace");
	}
	ASSERT_NOT_NULL(diag(&d, PF_SEV_WARNING, "metadata.namespace: ignored"), "warned");
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_pod_and_container_selectors)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	struct pf_labels pod = {0};
	struct pf_policy *p;

	p = parse_one(HDR "  podSelector:\n    matchLabels: {app: web}\n    matchExpressions:\n"
			  "    - {key: env, operator: NotIn, values: [dev]}\n"
			  "    - {key: canary, operator: DoesNotExist}\n"
			  "    - {key: team, operator: Exists, values: []}\n"
			  "  containerSelector:\n    matchExpressions:\n"
			  "    - {key: name, operator: In, values: [main, sidecar]}\n" HOOK,
		      &l, &d);
	if (!p)
		goto out;
	ASSERT_EQ(p->pods.n, 4, "requirements");
	ASSERT_EQ(p->containers.n, 2, "containers");
	pf_labels_set(&pod, "app", "web");
	ASSERT_FALSE(pf_policy_selects(p, "ns", &pod, NULL, "main"), "Exists team fails");
	pf_labels_set(&pod, "team", "");
	ASSERT_TRUE(pf_policy_selects(p, "ns", &pod, NULL, "main"), "env absent satisfies NotIn");
	ASSERT_FALSE(pf_policy_selects(p, "ns", &pod, NULL, "init"), "container not selected");
	ASSERT_FALSE(pf_policy_selects(p, "ns", &pod, NULL, NULL), "unknown container");
	pf_labels_set(&pod, "env", "dev");
	ASSERT_FALSE(pf_policy_selects(p, "ns", &pod, NULL, "main"), "NotIn value");
	pf_labels_set(&pod, "env", "prod");
	pf_labels_set(&pod, "canary", "1");
	ASSERT_FALSE(pf_policy_selects(p, "ns", &pod, NULL, "main"), "DoesNotExist");
	pf_policy_list_free(&l);
	/* absent podSelector: every pod; empty podSelector: every pod too */
	p = parse_one(HDR HOOK, &l, &d);
	if (p) {
		ASSERT_FALSE(p->pods.present, "absent");
		ASSERT_TRUE(pf_policy_selects(p, "ns", &pod, NULL, "x"), "every pod");
		ASSERT_TRUE(pf_policy_selects(p, "ns", NULL, NULL, NULL), "even without labels");
	}
	pf_policy_list_free(&l);
	p = parse_one(HDR "  podSelector: {}\n" HOOK, &l, &d);
	if (p) {
		ASSERT_TRUE(p->pods.present, "present");
		ASSERT_TRUE(pf_policy_selects(p, "ns", &pod, NULL, "x"), "{} selects every pod");
	}
out:
	pf_labels_free(&pod);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(policy_selector_errors)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {HDR "  podSelector:\n    matchExpressions:\n    - {key: a, operator: In}\n" HOOK,
	     "spec.podSelector.matchExpressions[0].values: operator In needs at least one value"},
	    {HDR "  podSelector:\n    matchExpressions:\n    - {key: a, operator: NotIn, values: "
		 "[]}\n" HOOK,
	     "operator NotIn needs at least one value"},
	    {HDR "  podSelector:\n    matchExpressions:\n    - {key: a, operator: Exists, values: "
		 "[x]}\n" HOOK,
	     "spec.podSelector.matchExpressions[0].values: operator Exists takes no values"},
	    {HDR "  podSelector:\n    matchExpressions:\n    - {key: a, operator: in, values: "
		 "[x]}\n" HOOK,
	     "spec.podSelector.matchExpressions[0].operator: \"in\" is not a selector operator"},
	    {HDR "  podSelector:\n    matchLabel: {a: b}\n" HOOK,
	     "spec.podSelector.matchLabel: unknown field \"matchLabel\""},
	    {HDR "  containerSelector:\n    matchExpressions:\n    - {key: image, operator: In, "
		 "values: [x]}\n" HOOK,
	     "spec.containerSelector: only key \"name\" with operator In"},
	    {HDR "  containerSelector:\n    matchExpressions:\n    - {key: name, operator: NotIn, "
		 "values: [x]}\n" HOOK,
	     "spec.containerSelector: only key \"name\" with operator In"},
	    {HDR "  containerSelector:\n    matchLabels: {name: a}\n    matchExpressions:\n"
		 "    - {key: name, operator: In, values: [a, b]}\n" HOOK,
	     "spec.containerSelector: 2 requirements, only one"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_diags d = {0};

		ASSERT_NOT_NULL(parse_err(cases[i].text, cases[i].needle, &d), cases[i].needle);
		pf_diags_free(&d);
	}
}

PF_TEST(policy_parse_file_missing)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};

	ASSERT_EQ(pf_policy_parse_file("/nonexistent/p.yaml", &l, &d), -ENOENT, "I/O error");
	ASSERT_EQ(l.n, 0, "nothing");
	ASSERT_EQ(d.n_errors, 1, "reported");
	pf_diags_free(&d);
}

/* Which corpus files are exec policies podfence accepts: the rest must be refused. */
PF_TEST(policy_corpus_conformance)
{
	static const char *const accepted[] = {
	    "CFP4191__per-workload-exec-allowlist__policy-1_policy-2.yaml",
	    "examples__tracingpolicy__lsm_bprm_check.yaml",
	    NULL,
	};
	DIR *dir = opendir(CORPUS);
	struct dirent *de;
	int files = 0;

	if (!dir)
		PF_SKIP("%s not present (shared corpus absent)", CORPUS);
	while ((de = readdir(dir))) {
		struct pf_policy_list l = {0};
		struct pf_diags d = {0};
		bool want = false;
		char path[512];
		int err;

		if (!strstr(de->d_name, ".yaml"))
			continue;
		for (const char *const *a = accepted; *a; a++)
			want |= strcmp(*a, de->d_name) == 0;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, de->d_name);
		err = pf_policy_parse_file(path, &l, &d);
		ASSERT_EQ(err, want ? 0 : -EINVAL, de->d_name);
		ASSERT_EQ(l.n > 0, want, de->d_name);
		/* every error carries a position and a field path */
		for (size_t i = 0; i < d.n; i++)
			ASSERT_GE(d.v[i].line, 1, d.v[i].msg);
		files++;
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
	closedir(dir);
	ASSERT_GE(files, 3, "corpus files read");
}

/* podfence.io/path-view: "task" opts a policy out of the container's view; anything else is an
 * error. */
PF_TEST(policy_path_view_annotation)
{
	struct pf_policy_list l = {0};
	struct pf_diags d = {0};
	const struct pf_diag *e;
	struct pf_policy *p;

#define META(view)                                                                                 \
	"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\n"              \
	"  annotations:\n    podfence.io/path-view: " view "\nspec:\n"
	p = parse_one(META("task") HOOK SEL_ARG("NotEqual", "/bin/sh"), &l, &d);
	if (p)
		ASSERT_TRUE(p->any_view, "task: opted out");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	p = parse_one(META("container") HOOK SEL_ARG("NotEqual", "/bin/sh"), &l, &d);
	if (p)
		ASSERT_FALSE(p->any_view, "container: the default, said explicitly");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	p = parse_one(HDR HOOK SEL_ARG("NotEqual", "/bin/sh"), &l, &d);
	if (p)
		ASSERT_FALSE(p->any_view, "no annotation: the container's view");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	e = parse_err(META("Task") HOOK SEL_ARG("NotEqual", "/bin/sh"),
		      "metadata.annotations.podfence.io/path-view: \"Task\" is not a path view",
		      &d);
	if (ASSERT_NOT_NULL(e, "bad value")) {
		ASSERT_EQ(e->line, 6, "at the value's line");
		ASSERT_EQ(e->col, 28, "at the value's column");
	}
	pf_diags_free(&d);
#undef META
}
