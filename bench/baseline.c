// SPDX-License-Identifier: Apache-2.0
/*
 * N copies of the per-policy-program baseline (baseline.bpf.c), as Tetragon
 * loads one program per TracingPolicy: copy i enforces policy w<i+1>, its
 * filter holds pod w<i+1>'s cgroups (copy 0 also the measured pod m1's) and
 * its allowlist the same values as podfence's policy w<i+1>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "baseline.h"
#include "baseline.skel.h"
#include "podfence/cgroup.h"

struct bl_set {
	int n;
	struct baseline_bpf **copies;
	int *inner_fds;
	int *links;
	bool attached;
};

int bl_n(const struct bl_set *s)
{
	return s->n;
}

static int filter_add_pod(int inner_fd, const struct bench *b, int pod)
{
	char path[PATH_MAX];
	const __u8 one = 1;
	uint64_t id;
	int err;

	pod_cgroup(b, pod, path, sizeof(path));
	/* the container's cgroup and its pod's, as podfence binds both */
	for (int level = 0; level < 2; level++) {
		err = pf_cgroup_id(path, &id);
		if (err)
			return err;
		if (bpf_map_update_elem(inner_fd, &id, &one, BPF_ANY))
			return -errno;
		*strrchr(path, '/') = 0;
	}
	return 0;
}

static int allowed_add(struct baseline_bpf *skel, const char *path)
{
	struct bl_path_key key = {};
	const __u8 one = 1;

	if (strlen(path) >= BL_PATH_LEN)
		return -ENAMETOOLONG;
	memcpy(key.path, path, strlen(path));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bl_allowed), &key, &one, BPF_ANY))
		return -errno;
	return 0;
}

static int copy_load(struct bl_set *s, const struct bench *b, int i)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
	struct baseline_bpf *skel;
	__u32 policy = i + 1;
	char path[96];
	int err;

	skel = baseline_bpf__open();
	if (!skel)
		return -errno;
	s->copies[i] = skel;
	skel->rodata->policy_id = policy;
	/* One policy filter map for all copies, as Tetragon's policy_filter_maps. */
	if (i > 0) {
		err = bpf_map__reuse_fd(skel->maps.bl_filters,
					bpf_map__fd(s->copies[0]->maps.bl_filters));
		if (err)
			return err;
	}
	err = baseline_bpf__load(skel);
	if (err)
		return err;
	s->inner_fds[i] = bpf_map_create(BPF_MAP_TYPE_HASH, "bl_filter", sizeof(__u64),
					 sizeof(__u8), BL_FILTER_MAX, &mopts);
	if (s->inner_fds[i] < 0)
		return -errno;
	err = filter_add_pod(s->inner_fds[i], b, i + 1);
	if (!err && i == 0)
		err = filter_add_pod(s->inner_fds[i], b, mpod_index(MPOD_1));
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bl_filters), &policy, &s->inner_fds[i],
				BPF_ANY))
		return -errno;
	err = allowed_add(skel, b->true_bin);
	for (int j = 1; j < b->o.paths && !err; j++) {
		snprintf(path, sizeof(path), "/opt/w%d/bin/tool-%d", i + 1, j);
		err = allowed_add(skel, path);
	}
	return err;
}

int bl_open(struct bench *b, int n, struct bl_set **out)
{
	struct bl_set *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->copies = calloc(n, sizeof(*s->copies));
	s->inner_fds = calloc(n, sizeof(*s->inner_fds));
	s->links = calloc(n, sizeof(*s->links));
	if (!s->copies || !s->inner_fds || !s->links)
		goto fail;
	for (int i = 0; i < n; i++)
		s->inner_fds[i] = s->links[i] = -1;
	s->n = n;
	for (int i = 0; i < n; i++) {
		err = copy_load(s, b, i);
		if (err) {
			fprintf(stderr, "Error: baseline copy %d of %d: %s\n", i + 1, n,
				strerror(-err));
			goto fail;
		}
		if (bench_stop) {
			err = -EINTR;
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	bl_close(s);
	return err;
}

int bl_attach(struct bl_set *s)
{
	for (int i = 0; i < s->n; i++) {
		s->links[i] = bpf_raw_tracepoint_open(
		    NULL, bpf_program__fd(s->copies[i]->progs.bl_prepare_exec));
		if (s->links[i] < 0) {
			int err = -errno;

			bl_detach(s);
			return err;
		}
	}
	s->attached = true;
	return 0;
}

void bl_detach(struct bl_set *s)
{
	for (int i = 0; i < s->n; i++) {
		if (s->links[i] >= 0)
			close(s->links[i]);
		s->links[i] = -1;
	}
	s->attached = false;
}

int bl_stats(struct bl_set *s, struct prog_stats *sum, struct prog_stats *first)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < s->n; i++) {
		struct prog_stats st;
		int err =
		    prog_stats_read(bpf_program__fd(s->copies[i]->progs.bl_prepare_exec), &st);

		if (err)
			return err;
		if (i == 0)
			*first = st;
		sum->run_ns += st.run_ns;
		sum->run_cnt += st.run_cnt;
	}
	return 0;
}

void bl_memlock(struct bl_set *s, struct kmem *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < s->n; i++) {
		struct baseline_bpf *k = s->copies[i];
		uint64_t prog = pf_fdinfo_u64(bpf_program__fd(k->progs.bl_prepare_exec), "memlock");
		uint64_t heap = pf_fdinfo_u64(bpf_map__fd(k->maps.bl_heap), "memlock");
		uint64_t maps = heap + pf_fdinfo_u64(bpf_map__fd(k->maps.bl_allowed), "memlock") +
				pf_fdinfo_u64(bpf_map__fd(k->maps.rodata), "memlock") +
				pf_fdinfo_u64(s->inner_fds[i], "memlock");

		if (i == 0) /* the shared filter map counts once */
			maps += pf_fdinfo_u64(bpf_map__fd(k->maps.bl_filters), "memlock");
		m->progs += prog;
		m->maps += maps;
		m->percpu += heap;
	}
	m->total = m->progs + m->maps;
}

void bl_close(struct bl_set *s)
{
	if (!s)
		return;
	if (s->links)
		bl_detach(s);
	for (int i = 0; s->copies && i < s->n; i++) {
		baseline_bpf__destroy(s->copies[i]);
		if (s->inner_fds[i] >= 0)
			close(s->inner_fds[i]);
	}
	free(s->copies);
	free(s->inner_fds);
	free(s->links);
	free(s);
}
