// SPDX-License-Identifier: Apache-2.0
/* `podfence check FILE...`: parse and compile policies without touching the kernel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "podfence/compile.h"
#include "podfence/policy.h"
#include "commands.h"

static int check_file(const char *path, bool quiet)
{
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	size_t n_values = 0;
	int err, failed = 0;

	err = pf_policy_parse_file(path, &pols, &diags);
	if (err && !diags.n_errors)
		pf_diags_error(&diags, path, 0, 0, "cannot read: %s", strerror(-err));
	for (size_t i = 0; i < pols.n; i++) {
		char msg[256];
		size_t n;

		if (pf_policy_validate(&pols.v[i], &n, msg, sizeof(msg)))
			pf_diags_error(&diags, path, pols.v[i].line, pols.v[i].col,
				       "policy %s: %s", pols.v[i].name, msg);
		n_values += n;
	}
	pf_diags_print(&diags, stderr);
	if (diags.n_errors)
		failed = 1;
	else if (!quiet)
		printf("%s: ok: %zu polic%s, %zu value%s\n", path, pols.n,
		       pols.n == 1 ? "y" : "ies", n_values, n_values == 1 ? "" : "s");
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
	return failed;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool quiet = false;
	int opt, failed = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q': quiet = true; break;
		case 'h':
			printf("Usage: podfence check [--quiet] FILE...\n\n"
			       "Validates and compiles policy files. Every problem is printed as\n"
			       "file:line:col: error|warning: message. Exit status 1 if any file has an error.\n");
			return 0;
		default: return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "Error: no file given\n");
		return 1;
	}
	for (int i = optind; i < argc; i++)
		failed |= check_file(argv[i], quiet);
	return failed;
}
