// SPDX-License-Identifier: Apache-2.0
/*
 * Containers as their runtime announces them: bundles' annotations
 * (containerd's and CRI-O's), and the watch that reports a bundle the
 * moment it is written in place, and its removal.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pf_sandbox.h"
#include "pf_test.h"
#include "podfence/cgroup.h"
#include "podfence/runtime.h"

#define CONTAINERD_ANN(type, extra)                                                                \
	"{\"ociVersion\": \"1.0.2\", \"annotations\": {"                                           \
	"\"io.kubernetes.cri.container-type\": \"" type "\","                                      \
	"\"io.kubernetes.cri.sandbox-id\": \"sb\","                                                \
	"\"io.kubernetes.cri.sandbox-name\": \"web-0\","                                           \
	"\"io.kubernetes.cri.sandbox-namespace\": \"shop\","                                       \
	"\"io.kubernetes.cri.sandbox-uid\": \"u-1\"" extra "}}"

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static int read_text(const char *dir, const char *text, struct pf_runtime_container *c, char *err,
		     size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (!write_file(path, text))
		return -EIO;
	return pf_runtime_bundle_read(path, "abc", c, err, len);
}

PF_TEST(runtime_bundle_annotations_of_containerd_and_crio)
{
	struct pf_runtime_container c;
	char dir[PATH_MAX], err[512] = "";

	if (!ASSERT_OK(pf_tmpdir(dir, sizeof(dir)), "tmpdir"))
		return;
	if (ASSERT_OK(read_text(dir,
				CONTAINERD_ANN("container",
					       ", \"io.kubernetes.cri.container-name\": \"nginx\""),
				&c, err, sizeof(err)),
		      err)) {
		ASSERT_STREQ(c.id, "abc", "id: the bundle's directory name");
		ASSERT_STREQ(c.pod_uid, "u-1", "pod uid");
		ASSERT_STREQ(c.pod_namespace, "shop", "namespace");
		ASSERT_STREQ(c.pod_name, "web-0", "pod name");
		ASSERT_STREQ(c.name, "nginx", "container name");
		ASSERT_FALSE(c.sandbox, "an app container");
		pf_runtime_container_free(&c);
	}
	if (ASSERT_OK(read_text(dir, CONTAINERD_ANN("sandbox", ""), &c, err, sizeof(err)), err)) {
		ASSERT_TRUE(c.sandbox, "the sandbox");
		ASSERT_TRUE(c.name == NULL, "the sandbox has no container name");
		pf_runtime_container_free(&c);
	}
	if (ASSERT_OK(
		read_text(dir,
			  "{\"annotations\": {\"io.kubernetes.cri-o.ContainerType\": "
			  "\"container\", \"io.kubernetes.pod.uid\": \"u-2\", "
			  "\"io.kubernetes.pod.namespace\": \"shop\", \"io.kubernetes.pod.name\": "
			  "\"db-0\", \"io.kubernetes.container.name\": \"postgres\"}}",
			  &c, err, sizeof(err)),
		err)) {
		ASSERT_STREQ(c.pod_uid, "u-2", "CRI-O: pod uid");
		ASSERT_STREQ(c.name, "postgres", "CRI-O: container name");
		pf_runtime_container_free(&c);
	}
	ASSERT_EQ(read_text(dir,
			    "{\"annotations\": {\"org.opencontainers.image.ref.name\": \"x\"}}", &c,
			    err, sizeof(err)),
		  -ENODATA, "not a Kubernetes container: ignored");
	ASSERT_EQ(read_text(dir, CONTAINERD_ANN("container", ""), &c, err, sizeof(err)), -EINVAL,
		  "a container without its name is an error");
	ASSERT_STRSTR(err, "io.kubernetes.cri.container-name", "the error names what is missing");
	ASSERT_EQ(read_text(dir, "{\"annotations\": {", &c, err, sizeof(err)), -EINVAL,
		  "half-written JSON is an error");
	pf_rm_rf(dir);
}

PF_TEST(runtime_container_cgroup_names_round_trip)
{
	char names[8][PF_CG_NAME_MAX], id[PF_RUNTIME_ID_MAX];
	int n = pf_cgroup_container_names("c0ffee", -1, names, 8);

	ASSERT_EQ(n, 5, "every runtime's and driver's name");
	for (int i = 0; i < n; i++)
		if (ASSERT_OK(pf_cgroup_container_id(names[i], strlen(names[i]), id, sizeof(id)),
			      names[i]))
			ASSERT_STREQ(id, "c0ffee", names[i]);
	ASSERT_EQ(pf_cgroup_container_names("c0ffee", 0, names, 8), 2, "cgroupfs: two names");
	ASSERT_STREQ(names[1], "c0ffee", "containerd's cgroupfs name: the id");
	ASSERT_EQ(pf_cgroup_container_names("c0ffee", 1, names, 8), 3, "systemd: three names");
	ASSERT_STREQ(names[0], "cri-containerd-c0ffee.scope", "containerd's systemd name");
	ASSERT_EQ(pf_cgroup_container_id("crio-conmon-c0ffee.scope", 24, id, sizeof(id)), -ENOENT,
		  "CRI-O's monitor names no container");
	ASSERT_EQ(pf_cgroup_container_names("../x", -1, names, 8), -EINVAL, "no path in an id");
}

struct seen {
	char ids[8][PF_RUNTIME_ID_MAX];
	char names[8][64];
	int n;
	char gone[8][PF_RUNTIME_ID_MAX];
	int n_gone;
};

static void on_container(void *ctx, const struct pf_runtime_container *c)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", c->id);
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s",
			 c->sandbox ? "(sandbox)" : c->name);
	}
}

static void on_gone(void *ctx, const char *id)
{
	struct seen *s = ctx;

	if (s->n_gone < 8)
		snprintf(s->gone[s->n_gone++], sizeof(s->gone[0]), "%s", id);
}

PF_TEST(runtime_watch_reports_bundles_written_in_place_and_removed)
{
	char root[PATH_MAX], state[PATH_MAX + 16], path[PATH_MAX + 64];
	struct pf_runtime_watch_ops ops = {on_container, on_gone, NULL};
	struct pf_runtime_watch *w = NULL;
	struct seen s = {};
	const char *dirs[1];

	if (!ASSERT_OK(pf_tmpdir(root, sizeof(root)), "tmpdir"))
		return;
	ops.ctx = &s;
	/* The runtime not started yet: its state directory does not exist. */
	snprintf(state, sizeof(state), "%s/k8s.io", root);
	dirs[0] = state;
	if (!ASSERT_OK(pf_runtime_watch_open(&w, dirs, 1, &ops), "open"))
		goto out;
	ASSERT_OK(mkdir(state, 0755), "the runtime starts");
	/* A bundle there before the watch: reported when the directory is watched. */
	snprintf(path, sizeof(path), "%s/before", state);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/before/config.json", state);
	write_file(path, CONTAINERD_ANN("sandbox", ""));
	pf_runtime_watch_retry(w);
	ASSERT_EQ(s.n, 1, "the bundle written before");
	/* containerd: mkdir, then config.json written in place (no rename). */
	snprintf(path, sizeof(path), "%s/c1", state);
	mkdir(path, 0755);
	pf_runtime_watch_drain(w);
	snprintf(path, sizeof(path), "%s/c1/config.json", state);
	write_file(path,
		   CONTAINERD_ANN("container", ", \"io.kubernetes.cri.container-name\": \"app\""));
	pf_runtime_watch_drain(w);
	if (ASSERT_EQ(s.n, 2, "the bundle written in place")) {
		ASSERT_STREQ(s.ids[1], "c1", "its id");
		ASSERT_STREQ(s.names[1], "app", "its container");
	}
	/* CRI-O: <id>/userdata/config.json */
	snprintf(path, sizeof(path), "%s/c2", state);
	mkdir(path, 0755);
	pf_runtime_watch_drain(w);
	snprintf(path, sizeof(path), "%s/c2/userdata", state);
	mkdir(path, 0755);
	pf_runtime_watch_drain(w);
	snprintf(path, sizeof(path), "%s/c2/userdata/config.json", state);
	write_file(path,
		   CONTAINERD_ANN("container", ", \"io.kubernetes.cri.container-name\": \"db\""));
	pf_runtime_watch_drain(w);
	if (ASSERT_EQ(s.n, 3, "CRI-O's layout"))
		ASSERT_STREQ(s.names[2], "db", "its container");
	/* Removed: reported once. */
	snprintf(path, sizeof(path), "%s/c1", state);
	pf_rm_rf(path);
	pf_runtime_watch_drain(w);
	if (ASSERT_EQ(s.n_gone, 1, "removal reported"))
		ASSERT_STREQ(s.gone[0], "c1", "the removed bundle");
out:
	pf_runtime_watch_close(w);
	pf_rm_rf(root);
}
