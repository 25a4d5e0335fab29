// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "pf_give.h"

int pf_give(struct pf_engine *e, const char *file, const char *yaml, bool pods, int *engine_err)
{
	struct pf_policy_list pols = {};
	struct pf_pod_list podl = {};
	struct pf_diags d = {};
	int err, eerr;

	if (!yaml)
		return -ENOMEM;
	if (pods) {
		err = pf_pod_parse_buf(file, yaml, strlen(yaml), &podl, &d);
		eerr = pf_engine_pod_file(e, file, &podl, &d);
	} else {
		err = pf_policy_parse_buf(file, yaml, strlen(yaml), &pols, &d);
		eerr = pf_engine_policy_file(e, file, &pols, &d);
	}
	if (err)
		pf_diags_print(&d, stderr);
	if (engine_err)
		*engine_err = eerr;
	pf_policy_list_free(&pols);
	pf_pod_list_free(&podl);
	pf_diags_free(&d);
	return err;
}
