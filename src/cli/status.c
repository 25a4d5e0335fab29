// SPDX-License-Identifier: Apache-2.0
/* `podfence status [--json]`: what a running agent enforces and what it costs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "podfence/control.h"
#include "podfence/kstore.h"
#include "commands.h"

static long long jint(struct json_object *o, const char *k)
{
	return json_object_get_int64(json_object_object_get(o, k));
}

/* The strings of a JSON array, joined by sep (truncated to len). */
static void join_strings(struct json_object *arr, const char *sep, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? sep : "",
			 json_object_get_string(json_object_array_get_idx(arr, i)));
}

/* The Kubernetes API's resources, when the agent reads it. */
static void print_api(struct json_object *api)
{
	if (!api || !json_object_array_length(api))
		return;
	printf("\n%-26s %-14s %6s %8s %7s  %s\n", "API RESOURCE", "STATE", "LISTS", "WATCHES",
	       "ERRORS", "LAST ERROR");
	for (size_t i = 0; i < json_object_array_length(api); i++) {
		struct json_object *r = json_object_array_get_idx(api, i);
		const char *state =
		    json_object_get_boolean(json_object_object_get(r, "not_installed"))
			? "not installed"
		    : json_object_get_boolean(json_object_object_get(r, "listed")) ? "listed"
										   : "listing";

		printf("%-26s %-14s %6lld %8lld %7lld  %s\n",
		       json_object_get_string(json_object_object_get(r, "resource")), state,
		       jint(r, "lists"), jint(r, "watches"), jint(r, "errors"),
		       json_object_get_string(json_object_object_get(r, "last_error")));
	}
}

static void print_text(struct json_object *st)
{
	struct json_object *counts = json_object_object_get(st, "counts");
	struct json_object *pols = json_object_object_get(st, "policies");
	struct json_object *errors = json_object_object_get(st, "errors");
	struct json_object *insts = json_object_object_get(st, "instances");
	struct json_object *binds = json_object_object_get(st, "bindings");
	struct json_object *overlaps = json_object_object_get(st, "overlaps");

	printf("backend:   %s\n", json_object_get_string(json_object_object_get(st, "backend")));
	printf("ready:     %s (%s)\n",
	       json_object_get_boolean(json_object_object_get(st, "ready")) ? "yes" : "no",
	       json_object_get_string(json_object_object_get(st, "readiness")));
	printf("programs:  %lld attached\n", jint(st, "programs_attached"));
	printf("policies:  %lld (%lld file(s) rejected)\n", jint(counts, "policies"),
	       jint(counts, "files_rejected"));
	printf("pods:      %lld (%lld waiting for their cgroup); %lld containers announced by "
	       "their runtime\n",
	       jint(counts, "pods"), jint(counts, "pods_pending"),
	       jint(counts, "runtime_containers"));
	printf("applied:   %lld (policy, pod) pairs; %lld workloads; %lld cgroups bound\n",
	       jint(counts, "policy_pods"), jint(counts, "workloads"),
	       jint(counts, "bound_cgroups"));
	printf("values:    %lld in %lld sets\n", jint(counts, "values"),
	       jint(counts, "value_sets"));
	printf("memory:    %lld bytes of BPF maps\n", jint(st, "kernel_memory_bytes"));
	print_api(json_object_object_get(st, "api"));
	if (json_object_array_length(pols)) {
		printf("\n%-32s %-8s %6s %9s %9s\n", "POLICY", "MODE", "PODS", "BLOCKED",
		       "REPORTED");
		for (size_t i = 0; i < json_object_array_length(pols); i++) {
			struct json_object *p = json_object_array_get_idx(pols, i);

			printf("%-32s %-8s %6lld %9lld %9lld\n",
			       json_object_get_string(json_object_object_get(p, "name")),
			       json_object_get_string(json_object_object_get(p, "mode")),
			       jint(p, "pods"), jint(p, "blocked"), jint(p, "reported"));
		}
	}
	if (json_object_array_length(insts)) {
		printf("\n%-32s %-40s %6s %9s %9s\n", "TEMPLATE", "BINDINGS (united)", "PODS",
		       "BLOCKED", "REPORTED");
		for (size_t i = 0; i < json_object_array_length(insts); i++) {
			struct json_object *p = json_object_array_get_idx(insts, i);
			char names[256];

			join_strings(json_object_object_get(p, "bindings"), "+", names,
				     sizeof(names));
			printf("%-32s %-40s %6lld %9lld %9lld\n",
			       json_object_get_string(json_object_object_get(p, "template")), names,
			       jint(p, "pods"), jint(p, "blocked"), jint(p, "reported"));
		}
	}
	for (size_t i = 0; i < json_object_array_length(binds); i++) {
		struct json_object *b = json_object_array_get_idx(binds, i);
		const char *state = json_object_get_string(json_object_object_get(b, "state"));

		if (strcmp(state, "active") == 0)
			continue;
		printf("binding %s/%s (template %s): %s%s%s\n",
		       json_object_get_string(json_object_object_get(b, "namespace")),
		       json_object_get_string(json_object_object_get(b, "name")),
		       json_object_get_string(json_object_object_get(b, "template")), state,
		       json_object_object_get(b, "error") ? ": " : "",
		       json_object_object_get(b, "error")
			   ? json_object_get_string(json_object_object_get(b, "error"))
			   : "");
	}
	for (size_t i = 0; i < json_object_array_length(overlaps); i++) {
		struct json_object *o = json_object_array_get_idx(overlaps, i);
		char names[256];

		join_strings(json_object_object_get(o, "bindings"), ", ", names, sizeof(names));
		printf("overlap: pod %s: bindings %s of template %s (values united)\n",
		       json_object_get_string(json_object_object_get(o, "pod")), names,
		       json_object_get_string(json_object_object_get(o, "template")));
	}
	if (json_object_array_length(errors)) {
		printf("\nerrors:\n");
		for (size_t i = 0; i < json_object_array_length(errors); i++)
			printf("  %s\n",
			       json_object_get_string(json_object_array_get_idx(errors, i)));
	}
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	const char *socket_path = PF_SOCKET_DEFAULT;
	struct json_object *st;
	bool json = false;
	char *reply;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			printf(
			    "Usage: podfence status [--json] [--socket PATH]\n\n"
			    "Asks the running agent for its state: backend, readiness, counts of\n"
			    "policies, pods, bindings and cgroups, per-policy counters, errors.\n"
			    "Exit status 0 when an agent answered.\n");
			return 0;
		default:
			return 1;
		}
	}
	err = pf_control_request(socket_path, "status", &reply);
	if (err) {
		fprintf(stderr, "Error: no agent answers on %s: %s\n", socket_path, strerror(-err));
		return 1;
	}
	if (json) {
		fputs(reply, stdout);
	} else {
		st = json_tokener_parse(reply);
		if (!st) {
			fprintf(stderr, "Error: unreadable reply from the agent\n");
			free(reply);
			return 1;
		}
		print_text(st);
		json_object_put(st);
	}
	free(reply);
	return 0;
}

int cmd_unpin(int argc, char **argv)
{
	const char *dir = argc > 1 && argv[1][0] != '-' ? argv[1] : PF_PIN_DIR_DEFAULT;
	int err;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: podfence unpin [PIN_DIR]\n\nDetaches podfence's pinned programs and "
		       "removes its\n"
		       "pinned maps (default %s). Enforcement stops.\n",
		       PF_PIN_DIR_DEFAULT);
		return 0;
	}
	err = pf_kstore_unpin(dir);
	if (err) {
		fprintf(stderr, "Error: unpin %s: %s\n", dir, strerror(-err));
		return 1;
	}
	return 0;
}
