// SPDX-License-Identifier: Apache-2.0
/*
 * PolicyProposal objects as `podfence learn` reads them (files, the API):
 * written by every node's agent, editable by anyone who may patch one.
 * Whatever they hold, merging never fails, and each binding written from
 * a merged proposal parses back as a policy file with exactly one exec
 * document per container, and at most one egress document (nothing a name,
 * a path or a destination holds writes YAML).
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "podfence/learn.h"
#include "podfence/policy.h"

static size_t count(const char *yaml, const char *what)
{
	size_t n = 0;

	for (const char *p = yaml; (p = strstr(p, what)); p++)
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *in, *arr, *errors, *merged;
	struct pf_proposal_opts o = {.template_name = "exec-allowlist",
				     .parameter = "allowedExecs"};

	in = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (!in)
		return 0;
	if (json_object_is_type(in, json_type_array)) {
		arr = in;
	} else {
		arr = json_object_new_array();
		json_object_array_add(arr, in);
	}
	errors = json_object_new_array();
	merged = pf_proposal_merge(arr, errors);
	FUZZ_CHECK(merged && json_object_is_type(merged, json_type_array));
	for (size_t i = 0; i < json_object_array_length(merged); i++) {
		struct json_object *p = json_object_array_get_idx(merged, i), *conts = NULL;
		char *yaml;

		for (int monitor = 0; monitor < 2; monitor++) {
			o.monitor = monitor;
			o.include_sessions = monitor;
			yaml = pf_proposal_bindings_yaml(p, &o);
			if (yaml) {
				struct pf_policy_list pols = {};
				struct pf_diags d = {};
				size_t n_conts = 0, docs, egress;

				json_object_object_get_ex(
				    json_object_object_get(
					json_object_object_get(json_object_object_get(p, "spec"),
							       "nodes"),
					"*"),
				    "containers", &conts);
				json_object_object_foreach(conts, k, v)
				{
					(void)v;
					n_conts += strcmp(k, "(unidentified)") != 0;
				}
				docs = count(yaml, "\nkind: PolicyBinding\n");
				egress = count(yaml, "\n  templateRef: \"egress-allowlist");
				/* one exec binding per container, at most one egress binding */
				FUZZ_CHECK(docs - egress == n_conts && egress <= n_conts);
				/* it parses as YAML into as many documents (a kind the
				 * parser refuses is an error, never a crash) */
				if (pf_policy_parse_buf("learned.yaml", yaml, strlen(yaml), &pols,
							&d) == 0)
					FUZZ_CHECK(pols.n == docs);
				pf_policy_list_free(&pols);
				pf_diags_free(&d);
				free(yaml);
			}
		}
	}
	json_object_put(merged);
	json_object_put(errors);
	json_object_put(arr);
	return 0;
}
