// SPDX-License-Identifier: Apache-2.0
/*
 * Control plane: N policies loaded from files (what the agent does on start:
 * parse, validate, compile, apply), one binding changed with N loaded, pods
 * bound one at a time. Timed through the library the agent links, from the
 * first read of a file to the kernel holding the result; the agent's own
 * 50 ms debounce of file events is left out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bench.h"
#include "podfence/compile.h"
#include "podfence/pod.h"
#include "podfence/policy.h"

/* Parses, validates and hands one policy file to the engine (as the agent does). */
static int load_policy_file(struct pf_engine *e, const char *path, double *t_parse)
{
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	double t0 = now_s();
	int err;

	err = pf_policy_parse_file(path, &pols, &diags);
	for (size_t i = 0; !err && i < pols.n; i++) {
		char msg[256];
		size_t n_values;

		if (pf_policy_validate(&pols.v[i], &n_values, msg, sizeof(msg)))
			pf_diags_error(&diags, path, pols.v[i].line, pols.v[i].col, "%s", msg);
	}
	*t_parse += now_s() - t0;
	if (err || diags.n_errors) {
		fprintf(stderr, "Error: %s does not load:\n", path);
		pf_diags_print(&diags, stderr);
		err = err ?: -EINVAL;
	} else {
		pf_engine_policy_file(e, path, &pols, &diags);
	}
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
	return err;
}

static int load_pod_file(struct pf_engine *e, const char *path)
{
	struct pf_pod_list pods = {};
	struct pf_diags diags = {};
	int err;

	err = pf_pod_parse_file(path, &pods, &diags);
	if (err || diags.n_errors) {
		fprintf(stderr, "Error: %s does not load:\n", path);
		pf_diags_print(&diags, stderr);
		err = err ?: -EINVAL;
	} else {
		pf_engine_pod_file(e, path, &pods, &diags);
	}
	pf_pod_list_free(&pods);
	pf_diags_free(&diags);
	return err;
}

static void policy_path(const char *dir, int i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "%s/template.yaml", dir);
	else
		snprintf(buf, len, "%s/w%06d.yaml", dir, i);
}

/* One file per policy, as `kubectl get -o yaml` of each object would give. */
static int write_policies(struct bench *b, const char *dir, enum cfg_shape shape, int n,
			  int variant_of, int variant)
{
	struct sbuf doc = {};
	char path[PATH_MAX];
	int err = mkdir_p(dir);

	if (!err && shape == SHAPE_TEMPLATE && !variant_of) {
		err = gen_template(&doc);
		policy_path(dir, 0, path, sizeof(path));
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	for (int i = variant_of ? variant_of : 1; i <= (variant_of ? variant_of : n) && !err; i++) {
		if (bench_stop)
			err = -EINTR;
		doc.len = 0;
		err = gen_policy(&doc, b, shape, i, b->o.paths, false, variant);
		policy_path(dir, i, path, sizeof(path));
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	sbuf_free(&doc);
	return err;
}

static int write_pods(const char *dir, int n, bool local)
{
	struct sbuf doc = {};
	char path[PATH_MAX];
	int err = mkdir_p(dir);

	for (int first = 1; local && first <= n && !err; first += BENCH_CHUNK) {
		int last = first + BENCH_CHUNK - 1 > n ? n : first + BENCH_CHUNK - 1;

		doc.len = 0;
		err = gen_pods(&doc, first, last, false);
		snprintf(path, sizeof(path), "%s/pods-%06d.yaml", dir, first);
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	sbuf_free(&doc);
	return err;
}

struct load_times {
	double parse, engine, sync, total;
};

/* Pods first (untimed, as a running node has them), then every policy file, timed. */
static int load_from_files(struct bench *b, struct bench_cfg *c, const char *pol_dir,
			   const char *pod_dir, struct load_times *t)
{
	char path[PATH_MAX];
	double t0, t1;
	int err;

	err = cfg_open(b, c);
	for (int first = 1; !err && c->place == PLACE_LOCAL && first <= c->n;
	     first += BENCH_CHUNK) {
		snprintf(path, sizeof(path), "%s/pods-%06d.yaml", pod_dir, first);
		err = load_pod_file(c->eng, path);
	}
	if (err)
		return err;
	pf_engine_sync(c->eng);
	memset(t, 0, sizeof(*t));
	t0 = now_s();
	for (int i = c->shape == SHAPE_TEMPLATE ? 0 : 1; i <= c->n && !err; i++) {
		policy_path(pol_dir, i, path, sizeof(path));
		err = load_policy_file(c->eng, path, &t->parse);
		if (bench_stop)
			err = -EINTR;
	}
	t1 = now_s();
	if (err)
		return err;
	pf_engine_sync(c->eng);
	t->total = now_s() - t0;
	t->sync = now_s() - t1;
	t->engine = t1 - t0 - t->parse;
	pf_engine_collect(c->eng);
	return cfg_check(c, c->n);
}

/* One binding (or policy) file rewritten with one more value, n times, each a different one. */
static int changes(struct bench *b, struct bench_cfg *c, const char *pol_dir, struct json_object *o)
{
	int n = b->o.changes, err = 0;
	double *t = calloc(n, sizeof(*t)), *gc = calloc(n, sizeof(*gc));
	char path[PATH_MAX];

	if (!t || !gc) {
		err = -ENOMEM;
		goto out;
	}
	for (int k = 0; k < n && !err; k++) {
		int i = 1 + (int)((k * 7919LL) % c->n);
		double parse = 0, t0;

		err = write_policies(b, pol_dir, c->shape, c->n, i, 1 + k);
		if (err)
			break;
		policy_path(pol_dir, i, path, sizeof(path));
		t0 = now_s();
		err = load_policy_file(c->eng, path, &parse);
		pf_engine_sync(c->eng);
		t[k] = (now_s() - t0) * 1e3;
		t0 = now_s();
		pf_engine_collect(c->eng);
		gc[k] = (now_s() - t0) * 1e3;
		if (!err)
			err = cfg_check(c, c->n);
	}
	if (!err) {
		json_add_int(o, "changes", n);
		json_add_double(o, "change_median_ms", percentile(t, n, 50));
		json_add_double(o, "change_p99_ms", percentile(t, n, 99));
		json_add_double(o, "collect_median_ms", percentile(gc, n, 50));
	}
out:
	free(t);
	free(gc);
	return err;
}

/* Pods arriving one by one, each selected by one of the N bindings already loaded. */
static int pods_arriving(struct bench *b, struct bench_cfg *c, struct json_object *o)
{
	int m = b->o.pods_arriving < c->n ? b->o.pods_arriving : c->n, err = 0;
	double *t = calloc(m, sizeof(*t)), total = 0;
	struct sbuf doc = {};
	char dir[PATH_MAX], path[PATH_MAX + 32];

	if (!t)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/arriving", b->tmp);
	err = mkdir_p(dir);
	for (int i = 1; i <= m && !err; i++) {
		doc.len = 0;
		err = gen_pods(&doc, i, i, false);
		snprintf(path, sizeof(path), "%s/w%06d.yaml", dir, i);
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	for (int i = 1; i <= m && !err; i++) {
		double t0 = now_s();

		snprintf(path, sizeof(path), "%s/w%06d.yaml", dir, i);
		err = load_pod_file(c->eng, path);
		pf_engine_sync(c->eng);
		t[i - 1] = now_s() - t0;
		total += t[i - 1];
	}
	if (!err) {
		struct pf_engine_counts cnt;

		pf_engine_counts(c->eng, &cnt);
		if (cnt.workload_errors || cnt.pods_pending) {
			fprintf(stderr, "Error: arriving pods: %s\n", cfg_first_error(c));
			err = -EIO;
		}
	}
	if (!err) {
		json_add_int(o, "pods", m);
		json_add_double(o, "pods_per_s", m / total);
		json_add_double(o, "pod_median_ms", percentile(t, m, 50) * 1e3);
		json_add_double(o, "pod_p99_ms", percentile(t, m, 99) * 1e3);
	}
	sbuf_free(&doc);
	free(t);
	return err;
}

static int files_one(struct bench *b, enum cfg_shape shape, enum cfg_place place, int n,
		     struct json_object *arr)
{
	int reps = n >= 100000 ? 1 : b->o.files_reps, err = 0;
	double *tot = calloc(reps, sizeof(*tot));
	char pol_dir[PATH_MAX], pod_dir[PATH_MAX];
	struct load_times t = {}, best = {};
	struct json_object *o;
	struct bench_cfg c;

	if (!tot)
		return -ENOMEM;
	o = json_object_new_object();
	snprintf(pol_dir, sizeof(pol_dir), "%s/files-%s-%d/policies", b->tmp, shape_name(shape), n);
	snprintf(pod_dir, sizeof(pod_dir), "%s/files-local-%d/pods", b->tmp, n);
	/* the policy files do not depend on the placement: written once */
	if (place == PLACE_LOCAL)
		err = write_policies(b, pol_dir, shape, n, 0, 0);
	if (!err && place == PLACE_LOCAL && shape == SHAPE_TEMPLATE)
		err = write_pods(pod_dir, n, true);
	memset(&c, 0, sizeof(c));
	for (int r = 0; r < reps && !err; r++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "files-%s-%s-%d", shape_name(shape),
			 place_name(place), n);
		c.shape = shape;
		c.place = place;
		c.n = n;
		c.paths = b->o.paths;
		c.exec_fd = -1;
		cfg_size_for(&c, n, c.paths, place == PLACE_LOCAL ? n : 0);
		err = load_from_files(b, &c, pol_dir, pod_dir, &t);
		tot[r] = t.total;
		if (!err && (r == 0 || t.total < best.total))
			best = t;
		/* the last repetition stays loaded for the change and arrival tests */
		if (r + 1 < reps || err)
			cfg_close(&c);
	}
	if (err)
		goto out;
	json_add_str(o, "shape", shape_name(shape));
	json_add_str(o, "placement", place_name(place));
	json_add_int(o, "n", n);
	json_add_int(o, "reps", reps);
	json_add_double(o, "load_median_s", percentile(tot, reps, 50));
	json_add_double(o, "parse_s", best.parse);
	json_add_double(o, "engine_s", best.engine);
	json_add_double(o, "sync_s", best.sync);
	err = changes(b, &c, pol_dir, o);
	if (!err && shape == SHAPE_TEMPLATE && place == PLACE_REMOTE)
		err = pods_arriving(b, &c, o);
	fprintf(stderr, "bench: %s: loaded in %.3f s, change %.3f ms\n", c.name,
		percentile(tot, reps, 50), json_get_double(o, "change_median_ms"));
	cfg_close(&c);
out:
	free(tot);
	json_object_array_add(arr, o);
	return err;
}

int phase_control(struct bench *b)
{
	static const enum cfg_shape shapes[] = {SHAPE_TEMPLATE, SHAPE_PLAIN};
	static const enum cfg_place places[] = {PLACE_LOCAL, PLACE_REMOTE};
	struct json_object *arr = json_object_new_array();
	int err = 0;

	json_object_object_add(b->res, "control", arr);
	for (int k = 0; k < b->o.n_files_n && !err; k++) {
		int n = b->o.files_n[k];

		err = node_grow(b, n);
		for (int s = 0; s < 2 && !err; s++)
			for (int p = 0; p < 2 && !err; p++)
				err = files_one(b, shapes[s], places[p], n, arr);
		/* the files of this N are not needed any more */
		if (!err) {
			char dir[PATH_MAX];

			for (int s = 0; s < 2; s++) {
				snprintf(dir, sizeof(dir), "%s/files-%s-%d", b->tmp,
					 shape_name(shapes[s]), n);
				rm_rf(dir);
			}
			snprintf(dir, sizeof(dir), "%s/files-local-%d", b->tmp, n);
			rm_rf(dir);
		}
	}
	return err;
}
