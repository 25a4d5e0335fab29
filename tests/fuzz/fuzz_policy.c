// SPDX-License-Identifier: Apache-2.0
/*
 * Policy files: the bytes of one file through what the agent does with it
 * (pf_policy_parse_buf, then pf_policy_validate on each policy, diagnostics
 * formatted), then what the model does downstream with the same objects:
 * keys, template instances of the file's bindings (checked, instantiated,
 * validated) and the reference evaluator on one exec.
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "podfence/compile.h"
#include "podfence/evaluate.h"
#include "podfence/policy.h"

/* One instance per template: every binding of the file its template accepts, united. */
static void instantiate(const struct pf_policy *const *v, size_t n, const struct pf_policy *tpl)
{
	const struct pf_policy *bindings[64];
	struct pf_policy inst;
	size_t nb = 0, n_values;
	char msg[256];
	int line, col;

	for (size_t i = 0; i < n && nb < 64; i++) {
		if (v[i]->type != PF_POLICY_BINDING || strcmp(v[i]->template_ref, tpl->name) != 0)
			continue;
		if (pf_binding_check(tpl, v[i], msg, sizeof(msg), &line, &col) == 0)
			bindings[nb++] = v[i];
		else
			FUZZ_CHECK(line > 0 && col > 0);
	}
	if (pf_template_instantiate(tpl, bindings, nb, &inst, msg, sizeof(msg)))
		return;
	pf_policy_validate(&inst, &n_values, msg, sizeof(msg));
	pf_policy_free(&inst);
}

/* A value of the policies (or a shell) as the exec path: selectors really match. */
static const char *some_value(const struct pf_policy *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < v[i]->n_rules; r++)
			if (v[i]->rules[r].n_conds && v[i]->rules[r].conds[0].values.n)
				return v[i]->rules[r].conds[0].values.v[0];
	return "/bin/sh";
}

static void evaluate(const struct pf_policy *const *v, size_t n)
{
	struct pf_labels labels = {0};
	struct pf_eval_query q = {.pod_namespace = "default",
				  .pod_labels = &labels,
				  .container = "main",
				  .path = some_value(v, n),
				  .caller = "/usr/bin/bash"};
	struct pf_eval_result res;

	pf_labels_set(&labels, "app", "web");
	if (pf_evaluate(v, n, &q, &res) == 0) {
		FUZZ_CHECK(res.blocked == (res.err != 0));
		pf_eval_result_free(&res);
	}
	pf_labels_free(&labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pf_policy *v[256];
	struct pf_policy_list pols = {0};
	struct pf_diags diags = {0};
	char msg[256], line[4096];
	size_t n_values, n = 0;
	int err;

	err = pf_policy_parse_buf("fuzz.yaml", (const char *)data, size, &pols, &diags);
	/* A file is accepted or rejected as a whole, and a rejection says why. */
	FUZZ_CHECK(err != 0 || diags.n_errors == 0);
	FUZZ_CHECK(err == 0 || pols.n == 0);
	FUZZ_CHECK(err != -EINVAL || diags.n_errors > 0);
	for (size_t i = 0; i < pols.n; i++) {
		const struct pf_policy *p = &pols.v[i];
		char *key = pf_policy_key(p);

		FUZZ_CHECK(p->name && p->kind && p->file && key);
		free(key);
		if (pf_policy_validate(p, &n_values, msg, sizeof(msg)))
			FUZZ_CHECK(msg[0] != '\0');
		if (n < 256)
			v[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->type == PF_POLICY_TEMPLATE)
			instantiate(v, n, v[i]);
	evaluate(v, n);
	for (size_t i = 0; i < diags.n; i++)
		pf_diag_format(&diags.v[i], line, sizeof(line));
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
	return 0;
}
