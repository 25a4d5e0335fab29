// SPDX-License-Identifier: Apache-2.0
/*
 * Exec latency and BPF cost per exec.
 *
 * Every configuration is loaded before the first measurement and stays in
 * the kernel, unattached: a podfence instance per (shape, placement, N) and
 * a baseline set per N. A case is one configuration plus the measured pod
 * the execs run in. A round visits every case in a new random order and, for
 * each, runs one batch with nothing attached and one with the case attached,
 * back to back (which comes first alternates): the ratio of the two batch
 * medians is one paired sample, so drift of the machine (another workload,
 * frequency changes) hits both sides of every pair alike.
 *
 * An exec is posix_spawn() + waitpid() of a static no-op binary by this
 * process, which moves itself into the measured pod's cgroup first (its
 * children start there). Every exec must exit 0: a killed one means the
 * configuration blocks the measured binary, a harness error.
 *
 * BPF cost: in separate rounds with BPF_ENABLE_STATS held (its two clock
 * reads per program run would otherwise be in the latency), the kernel's
 * run_time_ns / run_cnt of the attached programs over a batch.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "bench.h"
#include "probe.skel.h"
#include "podfence/cgroup.h"

struct dvec {
	double *v;
	size_t n, cap;
};

static int dvec_push(struct dvec *d, double x)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		double *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = x;
	return 0;
}

/* CASE_PROBE: BPF cost only (no latency pairs), see probe.bpf.c */
enum case_kind { CASE_NONE, CASE_PF, CASE_BL, CASE_PROBE };

struct lat_case {
	char name[80];
	enum case_kind kind;
	struct bench_cfg *cfg;
	struct bl_set *bl;
	enum mpod pod;
	char cg[PATH_MAX];
	struct dvec lat;   /* µs, every exec */
	struct dvec none;  /* µs, the paired batches with nothing attached */
	struct dvec ratio; /* median(case batch) / median(paired none batch) */
	struct dvec cost;  /* ns per exec of each BPF-cost batch */
	uint64_t cost_ns, cost_cnt, cost_execs;
	int prog_fd; /* CASE_PROBE */
	int link;
};

struct lat_run {
	struct bench *b;
	struct bench_cfg *cfgs;
	int n_cfgs;
	struct bl_set **bls;
	int n_bls;
	struct lat_case *cases;
	int n_cases;
	struct probe_bpf *probe;
	bool fifo; /* the exec loop ran at SCHED_FIFO */
	struct dvec none_all;
	struct dvec batch;
};

static int case_attach(struct lat_run *r, struct lat_case *c);
static void case_detach(struct lat_case *c);

/*
 * Whether the case enforces: in the pod bound to one policy, the allowed
 * binary runs and the same program under another path is stopped (SIGKILL
 * on the tracepoint backend, EPERM from posix_spawn on LSM and fmod_ret).
 */
static int check_enforces(struct lat_run *r, struct lat_case *c)
{
	struct bench *b = r->b;
	int st = 0, err;

	err = case_attach(r, c);
	if (err)
		return err;
	err = spawner_check(b, c->cg, b->true_bin, &st);
	if (!err && (!WIFEXITED(st) || WEXITSTATUS(st))) {
		fprintf(stderr, "Error: %s: %s did not run (status %#x)\n", c->name, b->true_bin,
			st);
		err = -EIO;
	}
	if (!err) {
		err = spawner_check(b, c->cg, b->denied_bin, &st);
		if (err == -EPERM) /* LSM and fmod_ret backends: the exec fails */
			err = 0;
		else if (!err && (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)) {
			fprintf(stderr, "Error: %s: %s was not stopped (status %#x)\n", c->name,
				b->denied_bin, st);
			err = -EIO;
		}
	}
	case_detach(c);
	return err;
}

/* n execs after `warmup` unrecorded ones, into out (and batch, which is reset). */
static int run_batch(struct lat_run *r, const char *cg, int n, int warmup, struct dvec *out,
		     struct dvec *also)
{
	int err;

	r->batch.n = 0;
	while (r->batch.n < (size_t)n)
		if (dvec_push(&r->batch, 0))
			return -ENOMEM;
	err = spawner_batch(r->b, cg, n, warmup, r->batch.v);
	if (err)
		return err;
	r->batch.n = n;
	for (int i = 0; i < n; i++)
		if ((out && dvec_push(out, r->batch.v[i])) ||
		    (also && dvec_push(also, r->batch.v[i])))
			return -ENOMEM;
	return 0;
}

static double batch_median(struct lat_run *r)
{
	return percentile(r->batch.v, r->batch.n, 50);
}

static int case_attach(struct lat_run *r, struct lat_case *c)
{
	switch (c->kind) {
	case CASE_PF:
		c->link = prog_attach(c->cfg->exec_fd, r->b->backend);
		return c->link < 0 ? c->link : 0;
	case CASE_BL:
		return bl_attach(c->bl);
	case CASE_PROBE:
		c->link = bpf_raw_tracepoint_open(NULL, c->prog_fd);
		return c->link < 0 ? -errno : 0;
	default:
		return 0;
	}
}

static void case_detach(struct lat_case *c)
{
	if ((c->kind == CASE_PF || c->kind == CASE_PROBE) && c->link >= 0) {
		close(c->link);
		c->link = -1;
	} else if (c->kind == CASE_BL) {
		bl_detach(c->bl);
	}
}

static int case_stats(struct lat_case *c, struct prog_stats *sum, struct prog_stats *first)
{
	int err;

	if (c->kind == CASE_BL)
		return bl_stats(c->bl, sum, first);
	err = prog_stats_read(c->kind == CASE_PROBE ? c->prog_fd : c->cfg->exec_fd, sum);
	*first = *sum;
	return err;
}

static int one_pair(struct lat_run *r, struct lat_case *c, bool none_first)
{
	const struct bench_opts *o = &r->b->o;
	double med_case = 0, med_none = 0;
	int err = 0;

	for (int k = 0; k < 2 && !err; k++) {
		if ((k == 0) == none_first) {
			err = run_batch(r, c->cg, o->batch, 2, &c->none, &r->none_all);
			med_none = batch_median(r);
			continue;
		}
		err = case_attach(r, c);
		if (err) {
			fprintf(stderr, "Error: attach %s: %s\n", c->name, strerror(-err));
			break;
		}
		err = run_batch(r, c->cg, o->batch, 2, &c->lat, NULL);
		med_case = batch_median(r);
		case_detach(c);
	}
	if (!err && med_none > 0)
		err = dvec_push(&c->ratio, med_case / med_none);
	return err;
}

static int one_cost(struct lat_run *r, struct lat_case *c)
{
	struct prog_stats s0, f0, s1, f1;
	int err;

	err = case_attach(r, c);
	if (err)
		return err;
	err = run_batch(r, c->cg, 2, 0, NULL, NULL); /* warm caches before the window */
	if (!err)
		err = case_stats(c, &s0, &f0);
	if (!err)
		err = run_batch(r, c->cg, r->b->o.stats_batch, 0, NULL, NULL);
	if (!err)
		err = case_stats(c, &s1, &f1);
	case_detach(c);
	if (err)
		return err;
	/* every program of the case runs once per exec on the system: count by the first */
	c->cost_ns += s1.run_ns - s0.run_ns;
	c->cost_cnt += f1.run_cnt - f0.run_cnt;
	c->cost_execs += r->b->o.stats_batch;
	if (f1.run_cnt > f0.run_cnt)
		return dvec_push(&c->cost,
				 (double)(s1.run_ns - s0.run_ns) / (f1.run_cnt - f0.run_cnt));
	return 0;
}

static void shuffle(int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static int rounds(struct lat_run *r)
{
	struct bench *b = r->b;
	int *order = calloc(r->n_cases, sizeof(*order));
	int err = 0;
	double t0 = now_s();

	if (!order)
		return -ENOMEM;
	/*
	 * The spawner runs at SCHED_FIFO (its children inherit it): other
	 * workloads of the machine then cannot preempt a measured exec, which
	 * on a shared 2-CPU machine otherwise adds milliseconds to a few percent
	 * of them and moves batch medians by more than the 2% to be resolved.
	 * It holds one CPU at a time, for at most 95% of it (RT throttling).
	 */
	err = spawner_fifo(b, true);
	r->fifo = !err;
	if (err)
		fprintf(stderr,
			"warning: SCHED_FIFO refused (%s): other workloads will add noise\n",
			strerror(-err));
	err = 0;
	for (int round = 0; round < b->o.rounds && !err; round++) {
		for (int i = 0; i < r->n_cases; i++)
			order[i] = i;
		shuffle(order, r->n_cases);
		for (int i = 0; i < r->n_cases && !err; i++) {
			if (r->cases[order[i]].kind == CASE_PROBE)
				continue;
			err = one_pair(r, &r->cases[order[i]], (round + i) % 2 == 0);
			if (bench_stop)
				err = -EINTR;
		}
		/* BPF cost every few rounds, so that it sees the same drift */
		if (!err && (round % 4 == 3 || round == b->o.rounds - 1)) {
			int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

			if (fd < 0) {
				err = -errno;
				fprintf(stderr, "Error: BPF_ENABLE_STATS: %s\n", strerror(-err));
				break;
			}
			shuffle(order, r->n_cases);
			for (int i = 0; i < r->n_cases && !err; i++)
				err = one_cost(r, &r->cases[order[i]]);
			close(fd);
		}
		fprintf(stderr, "bench: latency round %d/%d done (%.0f s)\n", round + 1,
			b->o.rounds, now_s() - t0);
	}
	free(order);
	spawner_fifo(b, false);
	return err;
}

/* ---- set-up ---- */

static struct lat_case *add_case(struct lat_run *r, enum case_kind kind, struct bench_cfg *cfg,
				 struct bl_set *bl, enum mpod pod)
{
	struct lat_case *c = &r->cases[r->n_cases++];

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->cfg = cfg;
	c->bl = bl;
	c->pod = pod;
	c->link = -1;
	pod_cgroup(r->b, mpod_index(pod), c->cg, sizeof(c->cg));
	if (kind == CASE_PF)
		snprintf(c->name, sizeof(c->name), "%s/pod-%s", cfg->name,
			 pod == MPOD_1	 ? "1"
			 : pod == MPOD_8 ? "8"
					 : "unbound");
	else if (kind == CASE_BL)
		snprintf(c->name, sizeof(c->name), "baseline-%d", bl_n(bl));
	return c;
}

/* The probes of probe.bpf.c, loaded once, with the measured pod's cgroup as target. */
static int load_probes(struct lat_run *r)
{
	struct bpf_program *progs[2];
	char cg[PATH_MAX];
	uint64_t id;
	int err;

	pod_cgroup(r->b, mpod_index(MPOD_1), cg, sizeof(cg));
	err = pf_cgroup_id(cg, &id);
	if (err)
		return err;
	r->probe = probe_bpf__open();
	if (!r->probe)
		return -errno;
	r->probe->rodata->target_cgid = id;
	err = probe_bpf__load(r->probe);
	if (err)
		return err;
	progs[0] = r->probe->progs.probe_empty;
	progs[1] = r->probe->progs.probe_path;
	for (int i = 0; i < 2; i++) {
		struct lat_case *c = add_case(r, CASE_PROBE, NULL, NULL, MPOD_1);

		c->prog_fd = bpf_program__fd(progs[i]);
		snprintf(c->name, sizeof(c->name), "%s", bpf_program__name(progs[i]));
	}
	return 0;
}

static int load_configs(struct lat_run *r)
{
	static const enum cfg_shape shapes[] = {SHAPE_TEMPLATE, SHAPE_PLAIN};
	static const enum cfg_place places[] = {PLACE_LOCAL, PLACE_REMOTE};
	struct bench *b = r->b;
	int err = 0;

	for (int k = 0; k < b->o.n_n && !err; k++) {
		for (int s = 0; s < 2 && !err; s++) {
			for (int p = 0; p < 2 && !err; p++) {
				struct bench_cfg *c = &r->cfgs[r->n_cfgs];
				double t0 = now_s();
				int n = b->o.n[k];

				memset(c, 0, sizeof(*c));
				c->shape = shapes[s];
				c->place = places[p];
				c->n = n;
				c->paths = b->o.paths;
				c->exec_fd = -1;
				snprintf(c->name, sizeof(c->name), "podfence-%s-%s-%d",
					 shape_name(c->shape), place_name(c->place), n);
				cfg_size_for(c, n, c->paths, c->place == PLACE_LOCAL ? n : 0);
				err = cfg_open(b, c);
				if (err)
					break;
				r->n_cfgs++;
				err = cfg_add_measured(b, c);
				if (!err)
					err = cfg_load_upto(b, c, n);
				if (err)
					break;
				c->load_s = now_s() - t0;
				err = cfg_check(c, n);
				if (err)
					break;
				cfg_measure(c);
				fprintf(stderr, "bench: %s loaded in %.1f s (%.1f MB kernel)\n",
					c->name, c->load_s, c->mem.total / 1e6);
			}
		}
	}
	for (int k = 0; k < b->o.n_bl && !err; k++) {
		double t0 = now_s();

		err = bl_open(b, b->o.bl[k], &r->bls[r->n_bls]);
		if (err)
			break;
		r->n_bls++;
		fprintf(stderr, "bench: baseline with %d programs loaded in %.1f s\n", b->o.bl[k],
			now_s() - t0);
	}
	return err;
}

static struct json_object *dist_json(struct dvec *d, const char *prefix, struct json_object *o)
{
	char k[64];

	snprintf(k, sizeof(k), "%smedian_us", prefix);
	json_add_double(o, k, percentile(d->v, d->n, 50));
	snprintf(k, sizeof(k), "%sp99_us", prefix);
	json_add_double(o, k, percentile(d->v, d->n, 99));
	return o;
}

static struct json_object *case_json(struct lat_run *r, struct lat_case *c)
{
	struct json_object *o = json_object_new_object();
	double med, p99, nmed, np99;

	json_add_str(o, "name", c->name);
	json_add_str(o, "impl", c->kind == CASE_PF ? "podfence" : "baseline");
	if (c->kind == CASE_PF) {
		json_add_str(o, "shape", shape_name(c->cfg->shape));
		json_add_str(o, "placement", place_name(c->cfg->place));
		json_add_int(o, "n", c->cfg->n);
		json_add_int(o, "bound", c->pod == MPOD_1 ? 1 : c->pod == MPOD_8 ? 8 : 0);
		json_add_int(o, "programs", 1);
		json_add_str(o, "config", c->cfg->name);
	} else {
		json_add_str(o, "shape", "plain");
		json_add_str(o, "placement", "local");
		json_add_int(o, "n", bl_n(c->bl));
		json_add_int(o, "bound", 1);
		json_add_int(o, "programs", bl_n(c->bl));
	}
	json_add_int(o, "samples", c->lat.n);
	med = percentile(c->lat.v, c->lat.n, 50);
	p99 = percentile(c->lat.v, c->lat.n, 99);
	nmed = percentile(c->none.v, c->none.n, 50);
	np99 = percentile(c->none.v, c->none.n, 99);
	json_add_double(o, "median_us", med);
	json_add_double(o, "p99_us", p99);
	json_add_double(o, "none_median_us", nmed);
	json_add_double(o, "none_p99_us", np99);
	json_add_double(o, "delta_median_us", med - nmed);
	json_add_int(o, "pairs", c->ratio.n);
	json_add_double(o, "ratio_median", percentile(c->ratio.v, c->ratio.n, 50));
	/* spread of the paired ratios: how much of a difference the run can resolve */
	json_add_double(o, "ratio_p25", percentile(c->ratio.v, c->ratio.n, 25));
	json_add_double(o, "ratio_p75", percentile(c->ratio.v, c->ratio.n, 75));
	json_add_double(o, "ratio_p99", np99 > 0 ? p99 / np99 : 0);
	json_add_int(o, "bpf_execs", c->cost_cnt);
	json_add_int(o, "bpf_batches", c->cost.n);
	/* the median of the batch means: a batch hit by interrupts or vCPU steal moves it less */
	json_add_double(o, "bpf_ns_per_exec", percentile(c->cost.v, c->cost.n, 50));
	json_add_double(o, "bpf_ns_mean", c->cost_cnt ? (double)c->cost_ns / c->cost_cnt : 0);
	/* runs of the program for execs not ours (other processes of the machine) */
	json_add_double(o, "bpf_foreign_fraction",
			c->cost_cnt > c->cost_execs ? 1 - (double)c->cost_execs / c->cost_cnt : 0);
	return o;
}

static struct json_object *cfg_json(struct bench_cfg *c)
{
	struct json_object *o = json_object_new_object(), *sizes = json_object_new_object();
	struct pf_engine_counts cnt;

	json_add_str(o, "name", c->name);
	json_add_str(o, "shape", shape_name(c->shape));
	json_add_str(o, "placement", place_name(c->place));
	json_add_int(o, "n", c->n);
	json_add_int(o, "paths", c->paths);
	json_add_double(o, "load_s", c->load_s);
	json_add_int(o, "enforces", c->enforces);
	for (int m = 0; m < PF_KMAP__MAX; m++)
		if (c->sizes[m])
			json_add_int(sizes, pf_kmap_name(m), c->sizes[m]);
	json_object_object_add(o, "sizes", sizes);
	json_add_int(o, "kmem_empty", c->mem_empty.total);
	json_add_int(o, "kmem_total", c->mem.total);
	json_add_int(o, "kmem_maps", c->mem.maps);
	json_add_int(o, "kmem_progs", c->mem.progs);
	json_add_int(o, "kmem_percpu", c->mem.percpu);
	json_object_object_add(o, "usage", cfg_usage_json(c));
	pf_engine_counts(c->eng, &cnt);
	json_add_int(o, "workloads", cnt.workloads);
	json_add_int(o, "bound_cgroups", cnt.bound_cgroups);
	json_add_int(o, "value_sets", cnt.value_sets);
	json_add_int(o, "values", cnt.values);
	return o;
}

static struct json_object *bl_json(struct bl_set *s)
{
	struct json_object *o = json_object_new_object();
	struct kmem m;

	bl_memlock(s, &m);
	json_add_int(o, "n", bl_n(s));
	json_add_int(o, "kmem_total", m.total);
	json_add_int(o, "kmem_maps", m.maps);
	json_add_int(o, "kmem_progs", m.progs);
	json_add_int(o, "kmem_percpu", m.percpu);
	return o;
}

int phase_latency(struct bench *b)
{
	int max_cfgs = b->o.n_n * 4, max_cases = max_cfgs * 3 + b->o.n_bl + 2;
	struct lat_run r = {.b = b};
	struct json_object *lat, *cfgs, *bls, *none, *probes;
	int err;

	r.cfgs = calloc(max_cfgs, sizeof(*r.cfgs));
	r.bls = calloc(b->o.n_bl ? b->o.n_bl : 1, sizeof(*r.bls));
	r.cases = calloc(max_cases, sizeof(*r.cases));
	if (!r.cfgs || !r.bls || !r.cases) {
		err = -ENOMEM;
		goto out;
	}
	err = load_configs(&r);
	if (err)
		goto out;
	for (int i = 0; i < r.n_cfgs; i++) {
		struct bench_cfg *c = &r.cfgs[i];

		add_case(&r, CASE_PF, c, NULL, MPOD_1);
		if (c->n >= 8)
			add_case(&r, CASE_PF, c, NULL, MPOD_8);
		if (c->shape == SHAPE_TEMPLATE)
			add_case(&r, CASE_PF, c, NULL, MPOD_0);
	}
	for (int i = 0; i < r.n_bls; i++)
		add_case(&r, CASE_BL, NULL, r.bls[i], MPOD_1);
	err = load_probes(&r);
	if (err) {
		fprintf(stderr, "Error: probe.bpf.c does not load: %s\n", strerror(-err));
		goto out;
	}
	for (int i = 0; i < r.n_cases && !err; i++) {
		if (r.cases[i].pod != MPOD_1 || r.cases[i].kind == CASE_PROBE)
			continue;
		err = check_enforces(&r, &r.cases[i]);
		if (!err && r.cases[i].kind == CASE_PF)
			r.cases[i].cfg->enforces = true;
	}
	srand(getpid());
	if (!err)
		err = rounds(&r);
	if (err)
		goto out;

	lat = json_object_new_array();
	none = json_object_new_object();
	json_add_str(none, "name", "none");
	json_add_str(none, "impl", "none");
	json_add_int(none, "n", 0);
	json_add_int(none, "samples", r.none_all.n);
	dist_json(&r.none_all, "", none);
	json_object_array_add(lat, none);
	probes = json_object_new_object();
	for (int i = 0; i < r.n_cases; i++) {
		struct lat_case *c = &r.cases[i];

		if (c->kind == CASE_PROBE)
			json_add_double(probes, c->name, percentile(c->cost.v, c->cost.n, 50));
		else
			json_object_array_add(lat, case_json(&r, c));
	}
	json_object_object_add(b->res, "bpf_probes", probes);
	json_add_str(b->res, "latency_sched", r.fifo ? "SCHED_FIFO 10" : "SCHED_OTHER");
	cfgs = json_object_new_array();
	for (int i = 0; i < r.n_cfgs; i++)
		json_object_array_add(cfgs, cfg_json(&r.cfgs[i]));
	bls = json_object_new_array();
	for (int i = 0; i < r.n_bls; i++)
		json_object_array_add(bls, bl_json(r.bls[i]));
	json_object_object_add(b->res, "latency", lat);
	json_object_object_add(b->res, "configs", cfgs);
	json_object_object_add(b->res, "baseline_sets", bls);
out:
	if (r.cases)
		for (int i = 0; i < r.n_cases; i++) {
			case_detach(&r.cases[i]);
			free(r.cases[i].lat.v);
			free(r.cases[i].none.v);
			free(r.cases[i].ratio.v);
			free(r.cases[i].cost.v);
		}
	for (int i = 0; r.cfgs && i < r.n_cfgs; i++)
		cfg_close(&r.cfgs[i]);
	for (int i = 0; i < r.n_bls; i++)
		bl_close(r.bls[i]);
	probe_bpf__destroy(r.probe);
	free(r.cfgs);
	free(r.bls);
	free(r.cases);
	free(r.none_all.v);
	free(r.batch.v);
	return err;
}
