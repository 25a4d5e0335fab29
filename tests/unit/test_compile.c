// SPDX-License-Identifier: Apache-2.0
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
static int no_acquire(void *ctx, enum pf_match match, const struct pf_strset *values,
		      uint32_t *set_id, uint8_t *tiers, char *err, size_t err_len)
{
	*set_id = 1;
	*tiers = 0;
	return 0;
}

static void no_release(void *ctx, uint32_t set_id)
{
}

PF_TEST(caller_conditions_compile_unless_the_backend_cannot_see_the_caller)
{
	struct pf_set_resolver blind = {no_acquire, no_release, NULL, true};
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	struct pf_rule rules[PF_MAX_RULES];
	char err[256] = "";
	uint8_t group = 0;
	size_t n = 0;

	if (!ASSERT_OK(
		pf_policy_parse_buf("p.yaml", caller_policy, strlen(caller_policy), &pols, &diags),
		"parse"))
		goto out;
	ASSERT_OK(pf_policy_validate(&pols.v[0], &n, err, sizeof(err)), err);
	ASSERT_EQ(n, 3, "values of both conditions");
	n = 0;
	ASSERT_EQ(pf_compile_policy(&pols.v[0], 7, &group, &blind, rules, PF_MAX_RULES, &n, err,
				    sizeof(err)),
		  -EOPNOTSUPP, "refused on a blind backend");
	ASSERT_STRSTR(err, "matchBinaries", "message names the construct");
	ASSERT_EQ(n, 0, "nothing appended");
out:
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
}
