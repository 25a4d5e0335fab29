// SPDX-License-Identifier: Apache-2.0
/*
 * The fake node and what podfence is given to enforce on it.
 *
 * Pods w1..wN live in kubelet's cgroupfs layout (Burstable QoS, containerd
 * ids) under the run's own subtree: <cgroup2>/pf-bench-<pid>/kubepods/
 * burstable/pod<uid>/<container id>. The cgroups are created once for the
 * largest N and shared by every configuration: each podfence instance binds
 * only the pods it is told about, in its own maps. Three measured pods (m1,
 * m8, m0) are selected by 1, 8 and no policy.
 *
 * Policy i selects pod w<i> through `app In (...)`, and also m1 when i == 1
 * and m8 when i <= 8, and allows the measured binary plus paths-1 binaries of
 * its own (/opt/w<i>/bin/tool-<j>): one value set per policy, as per-workload
 * fingerprints differ.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"
#include "podfence/log.h"
#include "podfence/pod.h"
#include "podfence/policy.h"

static const char *const mpod_app[MPOD__MAX] = {"bench-1", "bench-8", "bench-0"};
static const char *const mpod_name[MPOD__MAX] = {"m1", "m8", "m0"};

const char *shape_name(enum cfg_shape s)
{
	return s == SHAPE_TEMPLATE ? "template" : "plain";
}

const char *place_name(enum cfg_place p)
{
	return p == PLACE_REMOTE ? "remote" : "local";
}

int mpod_index(enum mpod m)
{
	return -1 - (int)m;
}

/* uid and container id of pod index i (w<i> for i > 0, measured pod for i < 0). */
static void pod_ids(int i, char *uid, size_t ulen, char *cid, size_t clen)
{
	if (i > 0) {
		snprintf(uid, ulen, "%08x-0000-4000-8000-%012x", i, i);
		snprintf(cid, clen, "%064x", i);
	} else {
		snprintf(uid, ulen, "ffff%04x-0000-4000-8000-%012x", -i, -i);
		snprintf(cid, clen, "fe%062x", -i);
	}
}

static void pod_dir(const struct bench *b, int i, char *buf, size_t len)
{
	char uid[64], cid[80];

	pod_ids(i, uid, sizeof(uid), cid, sizeof(cid));
	snprintf(buf, len, "%s/kubepods/burstable/pod%s", b->node_cg, uid);
}

void pod_cgroup(const struct bench *b, int i, char *buf, size_t len)
{
	char uid[64], cid[80];

	pod_ids(i, uid, sizeof(uid), cid, sizeof(cid));
	snprintf(buf, len, "%s/kubepods/burstable/pod%s/%s", b->node_cg, uid, cid);
}

static int pod_create(const struct bench *b, int i)
{
	char dir[PATH_MAX];

	pod_dir(b, i, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	pod_cgroup(b, i, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int node_init(struct bench *b)
{
	char path[PATH_MAX + 32];
	int err;

	snprintf(b->node_cg, sizeof(b->node_cg), "%s/pf-bench-%d", b->cg2, getpid());
	snprintf(path, sizeof(path), "%s/kubepods/burstable", b->node_cg);
	err = mkdir_p(path);
	if (err) {
		fprintf(stderr, "Error: create %s: %s\n", path, strerror(-err));
		return err;
	}
	for (int m = 0; m < MPOD__MAX; m++) {
		err = pod_create(b, mpod_index(m));
		if (err)
			return err;
	}
	return 0;
}

int node_grow(struct bench *b, int n)
{
	double t0 = now_s();
	int err;

	for (int i = b->pods_created + 1; i <= n; i++) {
		if (bench_stop)
			return -EINTR;
		err = pod_create(b, i);
		if (err) {
			fprintf(stderr, "Error: pod cgroup %d: %s\n", i, strerror(-err));
			return err;
		}
		b->pods_created = i;
	}
	if (n > 1000)
		fprintf(stderr, "bench: %d pod cgroups ready (%.1f s)\n", n, now_s() - t0);
	return 0;
}

void node_cleanup(struct bench *b)
{
	long left;

	if (!b->node_cg[0])
		return;
	left = cg_remove_tree(b->node_cg);
	if (left)
		fprintf(stderr, "warning: %ld cgroup(s) under %s could not be removed\n", left,
			b->node_cg);
	b->node_cg[0] = 0;
}

/* ---- documents ---- */

static int gen_pod(struct sbuf *out, int i)
{
	char uid[64], cid[80], name[32];
	const char *app;
	char appbuf[32];

	pod_ids(i, uid, sizeof(uid), cid, sizeof(cid));
	if (i > 0) {
		snprintf(name, sizeof(name), "w%d", i);
		snprintf(appbuf, sizeof(appbuf), "w%d", i);
		app = appbuf;
	} else {
		snprintf(name, sizeof(name), "%s", mpod_name[-1 - i]);
		app = mpod_app[-1 - i];
	}
	return sbuf_printf(
	    out,
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: " BENCH_NS
	    "\n  uid: %s\n  labels: {app: %s}\nspec:\n  containers:\n"
	    "  - {name: main, image: example/main}\nstatus:\n  qosClass: Burstable\n"
	    "  containerStatuses:\n  - {name: main, containerID: \"containerd://%s\"}\n"
	    "---\n",
	    name, uid, app, cid);
}

int gen_pods(struct sbuf *out, int first, int last, bool with_measured)
{
	int err = 0;

	for (int m = 0; with_measured && m < MPOD__MAX && !err; m++)
		err = gen_pod(out, mpod_index(m));
	for (int i = first; i <= last && !err; i++)
		err = gen_pod(out, i);
	return err;
}

int gen_template(struct sbuf *out)
{
	return sbuf_printf(
	    out, "apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\n"
		 "metadata: {name: exec-allowlist}\nspec:\n  parameters:\n"
		 "  - name: allowedExecs\n  lsmhooks:\n  - hook: bprm_check_security\n"
		 "    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		 "    - matchArgs:\n      - {index: 0, operator: NotEqual, valuesFrom: "
		 "allowedExecs}\n      matchActions:\n      - {action: Override, argError: -1}\n"
		 "---\n");
}

static int gen_values(struct sbuf *out, const struct bench *b, int i, int paths, bool shared,
		      int variant, const char *indent)
{
	int err = sbuf_printf(out, "%s- \"%s\"\n", indent, b->true_bin);

	for (int j = 1; j < paths && !err; j++) {
		if (shared)
			err = sbuf_printf(out, "%s- \"/usr/local/bin/tool-%d\"\n", indent, j);
		else
			err = sbuf_printf(out, "%s- \"/opt/w%d/bin/tool-%d\"\n", indent, i, j);
	}
	if (!err && variant)
		err = sbuf_printf(out, "%s- \"/opt/w%d/bin/changed-%d\"\n", indent, i, variant);
	return err;
}

int gen_policy(struct sbuf *out, const struct bench *b, enum cfg_shape shape, int i, int paths,
	       bool shared, int variant)
{
	char sel[96];
	int err;

	snprintf(sel, sizeof(sel), "[w%d%s%s]", i, i == 1 ? ", bench-1" : "",
		 i <= 8 ? ", bench-8" : "");
	if (shape == SHAPE_TEMPLATE) {
		err = sbuf_printf(
		    out,
		    "apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\n"
		    "metadata: {name: w%d, namespace: " BENCH_NS "}\nspec:\n"
		    "  templateRef: exec-allowlist\n  podSelector:\n"
		    "    matchExpressions:\n    - {key: app, operator: In, values: %s}\n"
		    "  values:\n    allowedExecs:\n",
		    i, sel);
		if (!err)
			err = gen_values(out, b, i, paths, shared, variant, "    ");
	} else {
		err = sbuf_printf(
		    out,
		    "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
		    "metadata: {name: w%d}\nspec:\n  podSelector:\n"
		    "    matchExpressions:\n    - {key: app, operator: In, values: %s}\n"
		    "  kprobes:\n  - call: security_bprm_creds_for_exec\n"
		    "    syscall: false\n    args: [{index: 0, type: linux_binprm}]\n"
		    "    selectors:\n    - matchArgs:\n      - index: 0\n"
		    "        operator: NotEqual\n        values:\n",
		    i, sel);
		if (!err)
			err = gen_values(out, b, i, paths, shared, variant, "        ");
		if (!err)
			err = sbuf_printf(out, "      matchActions:\n"
					       "      - {action: Override, argError: -1}\n");
	}
	return err ?: sbuf_printf(out, "---\n");
}

/* ---- feeding the engine ---- */

int feed_policies(struct pf_engine *e, const char *file, const struct sbuf *docs)
{
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	int err;

	err = pf_policy_parse_buf(file, docs->s, docs->len, &pols, &diags);
	if (err || diags.n_errors) {
		fprintf(stderr, "Error: generated policies do not parse:\n");
		pf_diags_print(&diags, stderr);
		err = err ?: -EINVAL;
	} else {
		pf_engine_policy_file(e, file, &pols, &diags);
	}
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
	return err;
}

int feed_pods(struct pf_engine *e, const char *file, const struct sbuf *docs)
{
	struct pf_pod_list pods = {};
	struct pf_diags diags = {};
	int err;

	err = pf_pod_parse_buf(file, docs->s, docs->len, &pods, &diags);
	if (err || diags.n_errors) {
		fprintf(stderr, "Error: generated pods do not parse:\n");
		pf_diags_print(&diags, stderr);
		err = err ?: -EINVAL;
	} else {
		pf_engine_pod_file(e, file, &pods, &diags);
	}
	pf_pod_list_free(&pods);
	pf_diags_free(&diags);
	return err;
}

/* ---- configurations ---- */

/*
 * What an operator sizing a node for this load would pass: the need plus a
 * little, rounded up to the power of two the kernel rounds the bucket array
 * to anyway (capacity up to there costs no fixed memory).
 */
static uint32_t size_for(uint32_t need)
{
	uint32_t v = 1;

	need += 1024;
	while (v < need)
		v <<= 1;
	return v;
}

void cfg_size_for(struct bench_cfg *c, int n, int paths, int pods)
{
	/* distinct value sets: one per policy with a local pod, plus m8's union instance */
	uint32_t sets = c->shared_values ? 2 : (uint32_t)(c->place == PLACE_LOCAL ? n : 8);
	uint32_t need[PF_KMAP__MAX] = {
	    [PF_KMAP_CGROUPS] = 2 * (uint32_t)(pods + MPOD__MAX),
	    [PF_KMAP_WORKLOADS] = (uint32_t)(pods + MPOD__MAX),
	    [PF_KMAP_EXACT_S] = sets * (uint32_t)paths + 8 * (uint32_t)paths,
	    [PF_KMAP_POLICIES] = (uint32_t)(c->place == PLACE_LOCAL ? n : 8) + 2,
	};

	memset(c->sizes, 0, sizeof(c->sizes));
	for (int m = 0; m < PF_KMAP__MAX; m++)
		if (need[m] && need[m] + 1024 > bench_default_size(m))
			c->sizes[m] = size_for(need[m]);
}

int cfg_open(struct bench *b, struct bench_cfg *c)
{
	struct pf_kstore_opts opts = {.backend = b->backend, .attach = false};
	struct fd_snapshot snap;
	bool took_over;
	int err;

	memcpy(opts.max_entries, c->sizes, sizeof(opts.max_entries));
	err = fd_snapshot_take(&snap);
	if (err)
		return err;
	err = pf_kstore_open(&c->ks, &opts, &took_over);
	if (err) {
		fprintf(stderr, "Error: %s: podfence's BPF object does not load: %s\n", c->name,
			strerror(-err));
		goto out;
	}
	if (b->backend == PF_BACKEND_NONE)
		b->backend = pf_kstore_backend(c->ks);
	err = bpf_objs_since(&snap, &c->objs);
	if (err)
		goto out;
	c->exec_fd = bpf_objs_exec_prog(&c->objs);
	if (c->exec_fd < 0) {
		fprintf(stderr, "Error: %s: exec program not found among the loaded objects\n",
			c->name);
		err = -ENOENT;
		goto out;
	}
	bpf_objs_memlock(&c->objs, &c->mem_empty);
	c->mem = c->mem_empty;
	c->eng = pf_engine_new(pf_kstore_store(c->ks), b->node_cg);
	if (!c->eng)
		err = -ENOMEM;
out:
	fd_snapshot_free(&snap);
	return err;
}

/* The first error the engine reports (pods and files), or "" (a pointer to a static buffer). */
const char *cfg_first_error(struct bench_cfg *c)
{
	static char buf[512];
	struct json_object *st = pf_engine_status_json(c->eng), *errs = NULL;

	buf[0] = 0;
	if (json_object_object_get_ex(st, "errors", &errs) && json_object_array_length(errs))
		snprintf(buf, sizeof(buf), "%s",
			 json_object_get_string(json_object_array_get_idx(errs, 0)));
	json_object_put(st);
	return buf;
}

int cfg_add_measured(struct bench *b, struct bench_cfg *c)
{
	struct sbuf docs = {};
	int err;

	err = gen_pods(&docs, 1, 0, true);
	if (!err)
		err = feed_pods(c->eng, "mem:/pods/measured", &docs);
	sbuf_free(&docs);
	return err;
}

int cfg_load_upto(struct bench *b, struct bench_cfg *c, int upto)
{
	struct sbuf docs = {};
	char file[64];
	int err = 0;

	if (c->shape == SHAPE_TEMPLATE && c->pols_loaded == 0) {
		err = gen_template(&docs);
		if (!err)
			err = feed_policies(c->eng, "mem:/policies/template", &docs);
		docs.len = 0;
	}
	if (c->place == PLACE_LOCAL) {
		while (!err && c->pods_loaded < upto) {
			int first = c->pods_loaded + 1, last = first + BENCH_CHUNK - 1;

			if (last > upto)
				last = upto;
			err = gen_pods(&docs, first, last, false);
			snprintf(file, sizeof(file), "mem:/pods/%d", first);
			if (!err)
				err = feed_pods(c->eng, file, &docs);
			docs.len = 0;
			c->pods_loaded = last;
		}
	}
	while (!err && c->pols_loaded < upto) {
		int first = c->pols_loaded + 1, last = first + BENCH_CHUNK - 1;

		if (last > upto)
			last = upto;
		for (int i = first; i <= last && !err; i++)
			err = gen_policy(&docs, b, c->shape, i, c->paths, c->shared_values, 0);
		snprintf(file, sizeof(file), "mem:/policies/%d", first);
		if (!err)
			err = feed_policies(c->eng, file, &docs);
		docs.len = 0;
		c->pols_loaded = last;
		if (bench_stop)
			err = -EINTR;
	}
	sbuf_free(&docs);
	if (!err)
		pf_engine_sync(c->eng);
	return err;
}

void cfg_measure(struct bench_cfg *c)
{
	bpf_objs_memlock(&c->objs, &c->mem);
}

struct json_object *cfg_usage_json(struct bench_cfg *c)
{
	struct json_object *j = json_object_new_object();
	struct pf_kmap_usage u[32];
	int n = pf_kstore_usage(c->ks, u, 32);

	for (int i = 0; i < n; i++) {
		struct json_object *m = json_object_new_object();

		json_add_int(m, "max_entries", u[i].max_entries);
		json_add_int(m, "entries", u[i].entries);
		json_add_int(m, "memlock", u[i].memlock);
		json_object_object_add(j, u[i].name, m);
	}
	return j;
}

void cfg_close(struct bench_cfg *c)
{
	pf_engine_free(c->eng);
	pf_kstore_close(c->ks);
	c->eng = NULL;
	c->ks = NULL;
	c->exec_fd = -1;
}

int cfg_check(struct bench_cfg *c, int n)
{
	struct pf_engine_counts cnt;

	pf_engine_counts(c->eng, &cnt);
	if (cnt.workload_errors || cnt.files_rejected || cnt.pods_pending) {
		fprintf(stderr,
			"Error: %s: %zu pod error(s), %zu file(s) rejected, %zu pod(s) "
			"without cgroup: %s\n",
			c->name, cnt.workload_errors, cnt.files_rejected, cnt.pods_pending,
			cfg_first_error(c));
		return -EIO;
	}
	if (cnt.policies < (size_t)n) {
		fprintf(stderr, "Error: %s: %zu policies in force, expected %d\n", c->name,
			cnt.policies, n);
		return -EIO;
	}
	return 0;
}
