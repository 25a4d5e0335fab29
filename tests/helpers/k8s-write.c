// SPDX-License-Identifier: Apache-2.0
/*
 * Drives the library's API writer (pf_k8s_writer, k8s.h) for the integration
 * tests, as an agent would: the writes of one node.
 *
 *   k8s-write KUBECONFIG PATH NAME PATCH_FILE CREATE_FILE [PATCH_FILE CREATE_FILE]...
 *
 * Puts each pair (in order, without waiting: later ones replace pending
 * ones) for object NAME of collection PATH, waits for the queue to drain
 * (K8S_WRITE_TIMEOUT_MS, default 20000), and prints the writer's state as
 * one JSON line. Exit status 0 when the queue drained, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "podfence/k8s.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void print_state(struct pf_k8s_writer *w)
{
	struct pf_k8s_writer_state st;
	struct json_object *o = json_object_new_object();

	pf_k8s_writer_state(w, &st);
	json_object_object_add(o, "written", json_object_new_int64((int64_t)st.written));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)st.errors));
	json_object_object_add(o, "pending", json_object_new_int64((int64_t)st.pending));
	json_object_object_add(o, "last_error", json_object_new_string(st.last_error));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	const char *tmo = getenv("K8S_WRITE_TIMEOUT_MS");
	struct pf_k8s_config cfg = {0};
	struct pf_k8s_writer *w = NULL;
	char err[512], *patch = NULL, *create = NULL;
	int rc = 1, e;

	if (argc < 6 || (argc - 4) % 2) {
		fprintf(stderr,
			"usage: %s KUBECONFIG PATH NAME PATCH_FILE CREATE_FILE "
			"[PATCH_FILE CREATE_FILE]...\n",
			argv[0]);
		return 2;
	}
	if (pf_k8s_config_kubeconfig(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	e = pf_k8s_writer_start(&w, &cfg);
	if (e) {
		fprintf(stderr, "Error: writer: %s\n", strerror(-e));
		goto cleanup;
	}
	for (int i = 4; i + 1 < argc; i += 2) {
		patch = slurp(argv[i]);
		create = slurp(argv[i + 1]);
		if (!patch || !create) {
			fprintf(stderr, "Error: cannot read %s or %s\n", argv[i], argv[i + 1]);
			goto cleanup;
		}
		e = pf_k8s_writer_put(w, argv[2], argv[3], patch, create);
		if (e) {
			fprintf(stderr, "Error: put: %s\n", strerror(-e));
			goto cleanup;
		}
		free(patch);
		free(create);
		patch = create = NULL;
	}
	e = pf_k8s_writer_flush(w, tmo ? atoi(tmo) : 20000);
	print_state(w);
	if (e)
		fprintf(stderr, "Error: flush: %s\n", strerror(-e));
	rc = e ? 1 : 0;
cleanup:
	free(patch);
	free(create);
	pf_k8s_writer_stop(w);
	pf_k8s_config_free(&cfg);
	return rc;
}
