// SPDX-License-Identifier: Apache-2.0
/*
 * Pod manifests: the bytes of one file as `kubectl get pod -o yaml|json`
 * prints it (a pod, several documents, a List or PodList) through
 * pf_pod_parse_buf, then the cgroup names the agent derives from each pod:
 * the pod directory under both drivers and the container directories.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "fuzz.h"
#include "podfence/cgroup.h"
#include "podfence/pod.h"

/* Never a real directory: the lookups only build and probe names. */
#define NO_POD_DIR "/nonexistent/podfence-fuzz"

static void cgroup_names(const struct pf_pod *pod)
{
	char name[NAME_MAX + 1], path[PATH_MAX];

	for (int systemd = 0; systemd < 2; systemd++)
		if (pf_cgroup_pod_dirname(pod, systemd, name, sizeof(name)) == 0)
			FUZZ_CHECK(strlen(name) < sizeof(name) && !strchr(name, '/'));
	for (size_t i = 0; i < pod->n_containers; i++) {
		const struct pf_container *c = &pod->containers[i];

		FUZZ_CHECK(c->name && (!c->id || *c->id));
		FUZZ_CHECK(pf_cgroup_find_container(NO_POD_DIR, c, path, sizeof(path)) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_pod_list pods = {0};
	struct pf_diags diags = {0};
	char line[4096];
	int err;

	err = pf_pod_parse_buf("fuzz.yaml", (const char *)data, size, &pods, &diags);
	/* All or nothing, and a rejection says why. */
	FUZZ_CHECK(err != 0 || diags.n_errors == 0);
	FUZZ_CHECK(err == 0 || pods.n == 0);
	FUZZ_CHECK(err != -EINVAL || diags.n_errors > 0);
	for (size_t i = 0; i < pods.n; i++) {
		const struct pf_pod *p = &pods.v[i];

		FUZZ_CHECK(p->name && p->uid && p->namespace && p->file);
		FUZZ_CHECK((unsigned)p->qos <= PF_QOS_BESTEFFORT);
		cgroup_names(p);
	}
	for (size_t i = 0; i < diags.n; i++)
		pf_diag_format(&diags.v[i], line, sizeof(line));
	pf_pod_list_free(&pods);
	pf_diags_free(&diags);
	return 0;
}
