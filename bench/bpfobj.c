// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF maps and programs one load created, found in our own fd table:
 * podfence's kstore does not hand out its fds, and it need not. Every fd that
 * appeared during the load and carries a map_id or prog_id in its fdinfo is
 * ours (the benchmark is single-threaded), which also gives the kernel's own
 * memlock accounting for each object, exactly what `tetra debug maps` sums.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"

int fd_snapshot_take(struct fd_snapshot *s)
{
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	s->max = 65536;
	s->open = calloc(s->max, 1);
	if (!s->open)
		return -ENOMEM;
	d = opendir("/proc/self/fd");
	if (!d) {
		free(s->open);
		s->open = NULL;
		return -errno;
	}
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd >= 0 && fd < s->max)
			s->open[fd] = 1;
	}
	closedir(d);
	return 0;
}

void fd_snapshot_free(struct fd_snapshot *s)
{
	free(s->open);
	s->open = NULL;
}

int bpf_objs_since(const struct fd_snapshot *s, struct bpf_objs *out)
{
	struct dirent *de;
	DIR *d;

	memset(out, 0, sizeof(*out));
	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		uint32_t map_id, prog_id;

		if (de->d_name[0] == '.' || fd < 0 || fd == dirfd(d) ||
		    (fd < s->max && s->open[fd]))
			continue;
		map_id = pf_fdinfo_u64(fd, "map_id");
		prog_id = pf_fdinfo_u64(fd, "prog_id");
		if (!map_id && !prog_id)
			continue;
		if (out->n >= BENCH_MAX_OBJS)
			break;
		out->v[out->n].fd = fd;
		out->v[out->n].prog = prog_id != 0;
		out->v[out->n].id = prog_id ? prog_id : map_id;
		if (prog_id) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
				out->v[out->n].type = info.type;
				memcpy(out->v[out->n].name, info.name, sizeof(info.name));
			}
		} else {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);

			if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
				out->v[out->n].type = info.type;
				memcpy(out->v[out->n].name, info.name, sizeof(info.name));
			}
		}
		out->n++;
	}
	closedir(d);
	return 0;
}

static bool map_is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

void bpf_objs_memlock(const struct bpf_objs *o, struct kmem *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < o->n; i++) {
		uint64_t v = pf_fdinfo_u64(o->v[i].fd, "memlock");

		m->total += v;
		if (o->v[i].prog) {
			m->progs += v;
		} else {
			m->maps += v;
			if (map_is_percpu(o->v[i].type))
				m->percpu += v;
		}
	}
}

struct json_object *bpf_objs_json(const struct bpf_objs *o)
{
	struct json_object *j = json_object_new_object();

	for (int i = 0; i < o->n; i++) {
		char key[40];

		snprintf(key, sizeof(key), "%s%s", o->v[i].prog ? "prog:" : "", o->v[i].name);
		json_add_int(j, key, json_get_int(j, key) + pf_fdinfo_u64(o->v[i].fd, "memlock"));
	}
	return j;
}

int bpf_objs_exec_prog(const struct bpf_objs *o)
{
	/* program names as the kernel keeps them (15 characters) */
	static const char *const names[] = {"tp_prepare_exec", "tp_sched_exec", "lsm_bprm_check",
					    "fmodret_bprm_ch"};

	for (int i = 0; i < o->n; i++)
		for (size_t k = 0; o->v[i].prog && k < sizeof(names) / sizeof(*names); k++)
			if (strncmp(o->v[i].name, names[k], 15) == 0)
				return o->v[i].fd;
	return -1;
}

int prog_stats_read(int prog_fd, struct prog_stats *st)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	st->run_ns = info.run_time_ns;
	st->run_cnt = info.run_cnt;
	return 0;
}

int prog_attach(int prog_fd, enum pf_backend backend)
{
	int fd;

	switch (backend) {
	case PF_BACKEND_TP:
	case PF_BACKEND_TP_LATE:
		/* tp_btf: the tracepoint is named by the BTF id given at load */
		fd = bpf_raw_tracepoint_open(NULL, prog_fd);
		break;
	case PF_BACKEND_LSM:
		fd = bpf_link_create(prog_fd, 0, BPF_LSM_MAC, NULL);
		break;
	case PF_BACKEND_FMODRET:
		fd = bpf_link_create(prog_fd, 0, BPF_MODIFY_RETURN, NULL);
		break;
	default:
		return -EINVAL;
	}
	return fd < 0 ? -errno : fd;
}
