// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel memory and ceiling: the fixed overhead of a default load, the bytes
 * each added binding costs (and in which map), the per-CPU part, and the
 * largest N that loads with the default sizes, with the error podfence prints
 * beyond it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bench.h"

uint32_t bench_defaults[PF_KMAP__MAX];

uint32_t bench_default_size(int m)
{
	return m >= 0 && m < PF_KMAP__MAX ? bench_defaults[m] : 0;
}

static void cfg_init(struct bench_cfg *c, const char *name, enum cfg_shape shape,
		     enum cfg_place place, int paths)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->shape = shape;
	c->place = place;
	c->paths = paths;
	c->exec_fd = -1;
}

/* The fixed overhead: a default load with nothing in it. Also learns the default sizes. */
static int fixed_overhead(struct bench *b, struct json_object *out)
{
	struct json_object *o = json_object_new_object();
	struct bench_cfg c;
	int err;

	cfg_init(&c, "default-empty", SHAPE_TEMPLATE, PLACE_LOCAL, b->o.paths);
	err = cfg_open(b, &c);
	if (err)
		goto out;
	for (int m = 0; m < PF_KMAP__MAX; m++)
		bench_defaults[m] = pf_kstore_capacity(c.ks, m);
	json_add_int(o, "total", c.mem_empty.total);
	json_add_int(o, "maps", c.mem_empty.maps);
	json_add_int(o, "progs", c.mem_empty.progs);
	json_add_int(o, "percpu", c.mem_empty.percpu);
	json_add_int(o, "cpus_possible", libbpf_num_possible_cpus());
	json_object_object_add(o, "objects", bpf_objs_json(&c.objs));
	json_object_object_add(o, "usage", cfg_usage_json(&c));
out:
	cfg_close(&c);
	json_object_object_add(out, "fixed", o);
	return err;
}

/* Per map: (memlock, entries) at N2 minus at N1, divided by N2 - N1. */
static struct json_object *usage_delta(struct json_object *u1, struct json_object *u2, int dn)
{
	struct json_object *d = json_object_new_object();

	json_object_object_foreach(u2, name, m2)
	{
		struct json_object *m1 = NULL, *x = json_object_new_object();
		long long mem1 = 0, ent1 = 0;

		if (json_object_object_get_ex(u1, name, &m1)) {
			mem1 = json_get_int(m1, "memlock");
			ent1 = json_get_int(m1, "entries");
		}
		json_add_double(x, "bytes", (double)(json_get_int(m2, "memlock") - mem1) / dn);
		json_add_double(x, "entries", (double)(json_get_int(m2, "entries") - ent1) / dn);
		json_object_object_add(d, name, x);
	}
	return d;
}

static int per_binding(struct bench *b, enum cfg_shape shape, int paths, struct json_object *arr)
{
	struct json_object *o = json_object_new_object(), *u1 = NULL, *u2 = NULL;
	int n1 = b->o.mem_n1, n2 = b->o.mem_n2, err;
	struct kmem m1, m2;
	struct bench_cfg c;
	char name[64];

	snprintf(name, sizeof(name), "memory-%s-%dpaths", shape_name(shape), paths);
	cfg_init(&c, name, shape, PLACE_LOCAL, paths);
	/* sized for N2 from the start: the bucket arrays stay the same, only data grows */
	cfg_size_for(&c, n2, paths, n2);
	err = cfg_open(b, &c);
	if (!err)
		err = cfg_load_upto(b, &c, n1);
	if (!err)
		err = cfg_check(&c, n1);
	if (err)
		goto out;
	cfg_measure(&c);
	m1 = c.mem;
	u1 = cfg_usage_json(&c);
	err = cfg_load_upto(b, &c, n2);
	if (!err)
		err = cfg_check(&c, n2);
	if (err)
		goto out;
	cfg_measure(&c);
	m2 = c.mem;
	u2 = cfg_usage_json(&c);
	json_add_str(o, "shape", shape_name(shape));
	json_add_int(o, "paths", paths);
	json_add_int(o, "n1", n1);
	json_add_int(o, "n2", n2);
	json_add_int(o, "kmem_n1", m1.total);
	json_add_int(o, "kmem_n2", m2.total);
	json_add_int(o, "percpu_n1", m1.percpu);
	json_add_int(o, "percpu_n2", m2.percpu);
	json_add_double(o, "bytes_per_binding", (double)(m2.total - m1.total) / (n2 - n1));
	json_add_double(o, "percpu_bytes_per_binding", (double)(m2.percpu - m1.percpu) / (n2 - n1));
	json_object_object_add(o, "per_map", usage_delta(u1, u2, n2 - n1));
	json_object_array_add(arr, o);
	o = NULL;
	fprintf(stderr, "bench: %s: %.0f bytes per binding\n", name,
		(double)(m2.total - m1.total) / (n2 - n1));
out:
	json_object_put(o);
	json_object_put(u1);
	json_object_put(u2);
	cfg_close(&c);
	return err;
}

int phase_fixed(struct bench *b)
{
	struct json_object *mem = json_object_new_object();

	json_object_object_add(b->res, "memory", mem);
	return fixed_overhead(b, mem);
}

int phase_memory(struct bench *b)
{
	struct json_object *mem = NULL, *arr = json_object_new_array();
	int err;

	json_object_object_get_ex(b->res, "memory", &mem);
	json_object_object_add(mem, "per_binding", arr);
	err = node_grow(b, b->o.mem_n2);
	if (!err)
		err = per_binding(b, SHAPE_TEMPLATE, 10, arr);
	if (!err)
		err = per_binding(b, SHAPE_TEMPLATE, 100, arr);
	if (!err)
		err = per_binding(b, SHAPE_PLAIN, 10, arr);
	return err;
}

/* ---- ceiling ---- */

/* First "error:" line podfence printed into the captured log (containing `what`), or "". */
static void first_error_line(const char *log, const char *what, char *buf, size_t len)
{
	char line[1024];
	FILE *f = fopen(log, "re");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ": error: ") && (!what || strstr(line, what))) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%s", line);
			break;
		}
	}
	fclose(f);
}

static int ceiling_one(struct bench *b, bool shared, struct json_object *arr)
{
	struct json_object *o = json_object_new_object();
	int step = b->o.quick ? 64 : 2048, upto = 0, saved = -1, logfd = -1, err;
	struct pf_engine_counts cnt = {};
	char log[PATH_MAX + 32], first[1024], cerr[1024];
	long long counters = 0;
	struct bench_cfg c;

	cfg_init(&c, shared ? "ceiling-shared-values" : "ceiling-own-values", SHAPE_TEMPLATE,
		 PLACE_LOCAL, b->o.paths);
	c.shared_values = shared;
	for (int m = 0; m < PF_KMAP__MAX && b->o.ceiling_scale > 1; m++)
		c.sizes[m] = bench_defaults[m] / b->o.ceiling_scale;
	err = cfg_open(b, &c);
	if (err)
		goto out;
	/* podfence prints its errors on stderr: keep them to quote the first one */
	snprintf(log, sizeof(log), "%s/%s.log", b->tmp, c.name);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	saved = dup(STDERR_FILENO);
	if (logfd < 0 || saved < 0) {
		err = -errno;
		goto out;
	}
	dup2(logfd, STDERR_FILENO);
	while (upto < b->o.ceiling_max) {
		upto += step;
		if (upto > b->o.ceiling_max)
			upto = b->o.ceiling_max;
		err = node_grow(b, upto);
		if (!err)
			err = cfg_load_upto(b, &c, upto);
		if (err)
			break;
		pf_engine_counts(c.eng, &cnt);
		if (cnt.workload_errors || cnt.files_rejected)
			break;
	}
	dup2(saved, STDERR_FILENO);
	if (err)
		goto out;
	first_error_line(log, NULL, first, sizeof(first));
	first_error_line(log, "pol_counters full", cerr, sizeof(cerr));
	{
		struct json_object *u = cfg_usage_json(&c), *pc = NULL;

		if (json_object_object_get_ex(u, "pol_counters", &pc))
			counters = json_get_int(pc, "entries");
		json_object_object_add(o, "usage", u);
	}
	json_add_str(o, "values", shared ? "shared" : "own");
	json_add_int(o, "paths", c.paths);
	json_add_int(o, "tried", upto);
	json_add_int(o, "pod_errors", cnt.workload_errors);
	json_add_int(o, "loaded", upto - (long long)cnt.workload_errors);
	json_add_int(o, "reached_limit", cnt.workload_errors || cnt.files_rejected);
	json_add_str(o, "first_error", first);
	json_add_str(o, "counters_error", cerr);
	json_add_int(o, "instances", cnt.policy_pods);
	json_add_int(o, "counters", counters);
	json_add_int(o, "scale", b->o.ceiling_scale);
	fprintf(stderr, "bench: %s: %lld loaded of %d tried%s%s\n", c.name,
		upto - (long long)cnt.workload_errors, upto, first[0] ? ": " : "", first);
out:
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	if (logfd >= 0)
		close(logfd);
	cfg_close(&c);
	json_object_array_add(arr, o);
	return err;
}

int phase_ceiling(struct bench *b)
{
	struct json_object *arr = json_object_new_array();
	int err;

	json_object_object_add(b->res, "ceiling", arr);
	err = ceiling_one(b, false, arr);
	if (!err)
		err = ceiling_one(b, true, arr);
	return err;
}
