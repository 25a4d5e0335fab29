// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include "pf_test.h"
#include "podfence/compile.h"
#include "podfence/policy.h"

static const char caller_policy[] = "apiVersion: cilium.io/v1alpha1\n"
				    "kind: TracingPolicy\n"
				    "metadata:\n"
				    "  name: by-caller\n"
				    "spec:\n"
				    "  kprobes:\n"
				    "  - call: security_bprm_creds_for_exec\n"
				    "    syscall: false\n"
				    "    args:\n"
				    "    - index: 0\n"
				    "      type: linux_binprm\n"
				    "    selectors:\n"
				    "    - matchBinaries:\n"
				    "      - operator: In\n"
				    "        values: [/usr/bin/bash]\n"
				    "      matchArgs:\n"
				    "      - index: 0\n"
				    "        operator: Equal\n"
				    "        values: [/usr/bin/id, /usr/bin/whoami]\n"
				    "      matchActions:\n"
				    "      - action: Override\n"
				    "        argError: -1\n";

PF_TEST(validate_counts_values_of_exec_path_rules)
{
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	char err[256] = "";
	size_t n;
	/* Same policy without the caller condition: accepted, 2 values. */
	const char *cut = strstr(caller_policy, "    - matchBinaries:");
	char buf[sizeof(caller_policy)];
	size_t head = cut - caller_policy;
	const char *tail = strstr(cut, "      matchArgs:");

	memcpy(buf, caller_policy, head);
	strcpy(buf + head, "    -");
	strcat(buf, tail + strlen("     "));
	if (!ASSERT_OK(pf_policy_parse_buf("p.yaml", buf, strlen(buf), &pols, &diags), "parse"))
		goto out;
	ASSERT_OK(pf_policy_validate(&pols.v[0], &n, err, sizeof(err)), err);
	ASSERT_EQ(n, 2, "values");
out:
	pf_diags_print(&diags, stderr);
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
}

/* Refusing beats accepting a rule the backend cannot enforce. */
PF_TEST(caller_conditions_compile_unless_the_backend_cannot_see_the_caller)
{
	struct pf_compiled *c = calloc(1, sizeof(*c));
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	char err[256] = "";
	uint8_t group = 0;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(c, "compiled") ||
	    !ASSERT_OK(
		pf_policy_parse_buf("p.yaml", caller_policy, strlen(caller_policy), &pols, &diags),
		"parse"))
		goto out;
	ASSERT_OK(pf_policy_validate(&pols.v[0], &n, err, sizeof(err)), err);
	ASSERT_EQ(n, 3, "values of both conditions");
	ASSERT_EQ(pf_compile_policy(&pols.v[0], 7, &group, false, c, err, sizeof(err)), -EOPNOTSUPP,
		  "refused on a blind backend");
	ASSERT_STRSTR(err, "matchBinaries", "message names the construct");
	ASSERT_EQ(c->n, 0, "nothing appended");
	group = 0;
	ASSERT_OK(pf_compile_policy(&pols.v[0], 7, &group, true, c, err, sizeof(err)), err);
	ASSERT_EQ(c->n, 1, "one rule");
	ASSERT_EQ(c->rules[0].n_conds, 2, "both conditions");
	ASSERT_EQ(c->rules[0].conds[0].set_id, 0, "no kernel id: the values are held");
	ASSERT_GE(c->values[0][0].n + c->values[0][1].n, 3, "values by content");
out:
	if (c)
		pf_compiled_free(c);
	free(c);
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
}
