// SPDX-License-Identifier: Apache-2.0
/*
 * Learning (bpf/learn.bpf.h, src/agent/learning.c): what it costs next to
 * enforcement, and whether its records stay one per (file, caller) at scale.
 *
 *  1. exec latency, interleaved in one run: a podfence instance (object +
 *     engine, detached) holds one allowlist binding and two learning pods;
 *     each round runs one batch per case in a new random order: nothing
 *     attached, an unbound pod, a pod bound to the allowlist, a learning pod
 *     (no rules), a learning pod under the allowlist. Each case's batch
 *     median over the same round's no-podfence median is one paired sample.
 *     BPF time per exec from the kernel's accounting, as latency.c does.
 *  2. a fork storm in a learning pod of the real agent: pf_spawn_loop, one
 *     per CPU, N execs of one static binary in all; one record, N counted,
 *     and the agent's CPU time during the storm next to an idle interval.
 *  3. distinct binaries (hard links of one file) run once each in one
 *     learning pod: every one in the proposal; bytes per record.
 *  4. many workloads learning at once (a namespace in scope), 3 binaries
 *     each: every proposal exact; memory per workload, `learn show` timed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "bench.h"
#include "podfence/control.h"
#include "podfence/pod.h"

extern char **environ;

/* ---- 1. exec latency ---- */

enum lcase { LC_NONE, LC_UNBOUND, LC_ENFORCE, LC_LEARN, LC_BOTH, LC__MAX };

static const char *const lcase_id[LC__MAX] = {"none", "unbound", "allowlist", "learning",
					      "learning+allowlist"};

/* Learn ids of part 1 (the engine's callback); the agent's parts have their own. */
#define LAT_LEARN_M0 0x7e000001u
#define LAT_LEARN_M1 0x7e000002u

struct lat_samples {
	double *lat;   /* µs, every exec */
	double *ratio; /* batch median / the round's no-podfence batch median */
	double *cost;  /* ns per exec, per BPF-cost batch */
	size_t n_lat, n_ratio, n_cost;
};

/*
 * m1: allowlist + learning, m8: allowlist only (binding 1 selects both),
 * m0: learning only (selected by nothing). Pods of other indexes: unbound.
 */
static uint32_t lat_learn_id(void *ctx, const struct pf_pod *pod, const char *container)
{
	if (!strcmp(pod->name, "m0"))
		return LAT_LEARN_M0;
	if (!strcmp(pod->name, "m1"))
		return LAT_LEARN_M1;
	return 0;
}

static void lat_cgroup(struct bench *b, enum lcase k, char *buf, size_t len)
{
	static const int pod[LC__MAX] = {[LC_NONE] = -1 - MPOD_0,
					 [LC_UNBOUND] = 1,
					 [LC_ENFORCE] = -1 - MPOD_8,
					 [LC_LEARN] = -1 - MPOD_0,
					 [LC_BOTH] = -1 - MPOD_1};

	pod_cgroup(b, pod[k], buf, len);
}

static int lat_open(struct bench *b, struct bench_cfg *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "podfence-learn");
	c->shape = SHAPE_TEMPLATE;
	c->place = PLACE_REMOTE; /* only the measured pods: w1 stays unbound */
	c->n = 1;
	c->paths = b->o.paths;
	c->exec_fd = -1;
	cfg_size_for(c, 1, c->paths, 0);
	err = cfg_open(b, c);
	if (err)
		return err;
	pf_engine_set_learning(c->eng, lat_learn_id, NULL);
	err = cfg_add_measured(b, c);
	if (!err)
		err = cfg_load_upto(b, c, 1);
	return err ?: cfg_check(c, 1);
}

/* A check exec in case k: 0 when it ran to exit 0 (allowed) or was stopped (blocked). */
static int lat_check_one(struct bench *b, enum lcase k, const char *bin, bool *blocked)
{
	char cg[PATH_MAX];
	int st = 0, err;

	lat_cgroup(b, k, cg, sizeof(cg));
	err = spawner_check(b, cg, bin, &st);
	*blocked = err == -EPERM || (!err && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	if (err == -EPERM)
		return 0;
	if (!err && !*blocked && (!WIFEXITED(st) || WEXITSTATUS(st)))
		err = -EIO;
	return err;
}

/* What each case does: the allowlist stops the other binary, learning alone stops nothing. */
static int lat_check(struct bench *b, int exec_fd)
{
	int link = prog_attach(exec_fd, b->backend), err = 0;

	if (link < 0)
		return link;
	for (int k = LC_UNBOUND; k < LC__MAX && !err; k++) {
		bool blocked, want = k == LC_ENFORCE || k == LC_BOTH;

		err = lat_check_one(b, k, b->true_bin, &blocked);
		if (!err && blocked) {
			fprintf(stderr, "Error: learn: %s stopped in the %s pod\n", b->true_bin,
				lcase_id[k]);
			err = -EIO;
		}
		if (!err)
			err = lat_check_one(b, k, b->denied_bin, &blocked);
		if (!err && blocked != want) {
			fprintf(stderr, "Error: learn: %s %s in the %s pod\n", b->denied_bin,
				blocked ? "stopped" : "not stopped", lcase_id[k]);
			err = -EIO;
		}
	}
	close(link);
	return err;
}

static int lat_batch(struct bench *b, enum lcase k, int n, double *out)
{
	char cg[PATH_MAX];

	lat_cgroup(b, k, cg, sizeof(cg));
	return spawner_batch(b, cg, n, 2, out);
}

static int lat_cost(struct bench *b, int exec_fd, int *link, int n, double *scratch,
		    struct lat_samples *s)
{
	int stats, err = 0;

	if (*link < 0) {
		*link = prog_attach(exec_fd, b->backend);
		if (*link < 0)
			return *link;
	}
	stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats < 0) {
		err = -errno;
		fprintf(stderr, "Error: BPF_ENABLE_STATS: %s\n", strerror(-err));
		return err;
	}
	for (int k = LC_UNBOUND; k < LC__MAX && !err; k++) {
		struct prog_stats s0, s1;

		err = lat_batch(b, k, 2, scratch); /* warm caches before the window */
		if (!err)
			err = prog_stats_read(exec_fd, &s0);
		if (!err)
			err = lat_batch(b, k, n, scratch);
		if (!err)
			err = prog_stats_read(exec_fd, &s1);
		if (!err && s1.run_cnt > s0.run_cnt)
			s[k].cost[s[k].n_cost++] =
			    (double)(s1.run_ns - s0.run_ns) / (s1.run_cnt - s0.run_cnt);
	}
	close(stats);
	return err;
}

static void shuffle_cases(int *v)
{
	for (int i = LC__MAX - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* One round: every case once, in a new order; attached only while a case needs it. */
static int lat_round(struct bench *b, int exec_fd, int *link, double *buf, struct lat_samples *s)
{
	int order[LC__MAX], batch = b->o.batch, err = 0;
	double med[LC__MAX];

	for (int i = 0; i < LC__MAX; i++)
		order[i] = i;
	shuffle_cases(order);
	for (int i = 0; i < LC__MAX && !err; i++) {
		int k = order[i];

		if (k != LC_NONE && *link < 0) {
			*link = prog_attach(exec_fd, b->backend);
			if (*link < 0)
				return *link;
		} else if (k == LC_NONE && *link >= 0) {
			close(*link);
			*link = -1;
		}
		err = lat_batch(b, k, batch, buf);
		if (err)
			break;
		memcpy(s[k].lat + s[k].n_lat, buf, batch * sizeof(*buf));
		s[k].n_lat += batch;
		med[k] = percentile(buf, batch, 50);
	}
	for (int k = LC_UNBOUND; k < LC__MAX && !err; k++)
		s[k].ratio[s[k].n_ratio++] = med[k] / med[LC_NONE];
	return err;
}

struct learned_count {
	uint32_t ids[2];
	uint64_t entries, execs;
};

static bool count_learned(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	struct learned_count *lc = c;

	if (k->learn_id == lc->ids[0] || k->learn_id == lc->ids[1]) {
		lc->entries++;
		lc->execs += s->execs;
	}
	return false;
}

static struct json_object *lat_case_json(enum lcase k, struct lat_samples *s)
{
	struct json_object *o = json_object_new_object();

	json_add_str(o, "case", lcase_id[k]);
	json_add_int(o, "samples", s->n_lat);
	json_add_double(o, "median_us", percentile(s->lat, s->n_lat, 50));
	json_add_double(o, "p99_us", percentile(s->lat, s->n_lat, 99));
	if (k == LC_NONE)
		return o;
	json_add_int(o, "pairs", s->n_ratio);
	json_add_double(o, "ratio_median", percentile(s->ratio, s->n_ratio, 50));
	json_add_double(o, "ratio_p25", percentile(s->ratio, s->n_ratio, 25));
	json_add_double(o, "ratio_p75", percentile(s->ratio, s->n_ratio, 75));
	json_add_int(o, "bpf_batches", s->n_cost);
	json_add_double(o, "bpf_ns_per_exec", percentile(s->cost, s->n_cost, 50));
	return o;
}

static int learn_latency(struct bench *b, struct json_object *out)
{
	int rounds = b->o.learn_rounds, batch = b->o.batch, stats_n = b->o.learn_stats_batch;
	int n_cost = rounds / 4 + 1, link = -1, err;
	struct lat_samples s[LC__MAX] = {};
	struct learned_count lc = {.ids = {LAT_LEARN_M0, LAT_LEARN_M1}};
	uint64_t st0[PF_STAT__MAX], st1[PF_STAT__MAX];
	struct json_object *cases;
	struct bench_cfg c = {.exec_fd = -1};
	bool fifo = false, alloc_ok;
	double *buf = calloc(batch > stats_n ? batch : stats_n, sizeof(*buf));

	alloc_ok = buf != NULL;
	for (int k = 0; k < LC__MAX; k++) {
		s[k].lat = calloc((size_t)rounds * batch, sizeof(double));
		s[k].ratio = calloc(rounds, sizeof(double));
		s[k].cost = calloc(n_cost, sizeof(double));
		alloc_ok &= s[k].lat && s[k].ratio && s[k].cost;
	}
	err = alloc_ok ? lat_open(b, &c) : -ENOMEM;
	if (!err)
		err = lat_check(b, c.exec_fd);
	if (err)
		goto out;
	pf_kstore_stats(c.ks, st0);
	/* the same priority as the latency phase, for the same reason (latency.c) */
	fifo = !spawner_fifo(b, true);
	for (int r = 0; r < rounds && !err; r++) {
		err = lat_round(b, c.exec_fd, &link, buf, s);
		if (!err && (r % 4 == 3 || r == rounds - 1))
			err = lat_cost(b, c.exec_fd, &link, stats_n, buf, s);
		if (bench_stop)
			err = -EINTR;
	}
	spawner_fifo(b, false);
	if (link >= 0)
		close(link);
	if (err)
		goto out;
	pf_kstore_stats(c.ks, st1);
	pf_kstore_learned_walk(c.ks, count_learned, &lc);
	cases = json_object_new_array();
	for (int k = 0; k < LC__MAX; k++)
		json_object_array_add(cases, lat_case_json(k, &s[k]));
	json_object_object_add(out, "cases", cases);
	json_add_int(out, "rounds", rounds);
	json_add_int(out, "batch", batch);
	json_add_int(out, "stats_batch", stats_n);
	json_add_str(out, "sched", fifo ? "SCHED_FIFO 10" : "SCHED_OTHER");
	json_add_int(out, "learn_execs", st1[PF_STAT_LEARN_EXECS] - st0[PF_STAT_LEARN_EXECS]);
	json_add_int(out, "learn_records", st1[PF_STAT_LEARN_RECORDS] - st0[PF_STAT_LEARN_RECORDS]);
	json_add_int(out, "kernel_entries", lc.entries);
	json_add_int(out, "kernel_execs", lc.execs);
	fprintf(stderr,
		"bench: learn latency: learning %.4f, learning+allowlist %.4f, allowlist %.4f "
		"of no podfence\n",
		percentile(s[LC_LEARN].ratio, s[LC_LEARN].n_ratio, 50),
		percentile(s[LC_BOTH].ratio, s[LC_BOTH].n_ratio, 50),
		percentile(s[LC_ENFORCE].ratio, s[LC_ENFORCE].n_ratio, 50));
out:
	if (c.eng || c.ks)
		cfg_close(&c);
	for (int k = 0; k < LC__MAX; k++) {
		free(s[k].lat);
		free(s[k].ratio);
		free(s[k].cost);
	}
	free(buf);
	return err;
}

/* ---- the agent ---- */

struct lagent {
	char dir[PATH_MAX];
	char sock[PATH_MAX + 16];
	char log[PATH_MAX + 16];
};

static struct json_object *lagent_req(struct lagent *a, const char *cmd)
{
	struct json_object *j, *e;
	char *reply = NULL;
	int err = pf_control_request(a->sock, cmd, &reply);

	if (err) {
		fprintf(stderr, "Error: %s: no answer on %s: %s\n", cmd, a->sock, strerror(-err));
		return NULL;
	}
	j = json_tokener_parse(reply);
	free(reply);
	if (j && json_object_is_type(j, json_type_object) &&
	    json_object_object_get_ex(j, "error", &e)) {
		fprintf(stderr, "Error: %s: %s\n", cmd, json_object_get_string(e));
		json_object_put(j);
		return NULL;
	}
	return j;
}

static bool lagent_ready(struct lagent *a)
{
	struct json_object *st = NULL, *ready = NULL;
	char *reply = NULL;
	bool ok = false;

	if (!pf_control_request(a->sock, "status", &reply))
		st = json_tokener_parse(reply);
	free(reply);
	ok = st && json_object_object_get_ex(st, "ready", &ready) && json_object_get_boolean(ready);
	json_object_put(st);
	return ok;
}

static void lagent_log_tail(struct lagent *a)
{
	char buf[2048];
	FILE *f = fopen(a->log, "re");
	size_t n;

	if (!f)
		return;
	fseek(f, -(long)sizeof(buf) + 1, SEEK_END);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	fprintf(stderr, "%s\n", buf);
}

/* The agent on pods w[1..pods] of the fake node (no policy), learning kept in its state dir. */
static int lagent_start(struct bench *b, struct lagent *a, const char *name, int pods)
{
	char pol[PATH_MAX + 16], pdir[PATH_MAX + 16], file[PATH_MAX + 32], events[PATH_MAX + 16];
	char state[PATH_MAX + 16];
	char *argv[] = {(char *)b->o.podfence,
			"agent",
			"--policies",
			pol,
			"--pods",
			pdir,
			"--socket",
			a->sock,
			"--pin-dir",
			b->agent_pin,
			"--cgroup-root",
			b->node_cg,
			"--events",
			events,
			"--state-dir",
			state,
			"--runtime-state",
			"none",
			NULL};
	posix_spawn_file_actions_t fa;
	struct sbuf doc = {};
	double t0;
	int err;

	snprintf(a->dir, sizeof(a->dir), "%s/learn-%s", b->tmp, name);
	snprintf(a->sock, sizeof(a->sock), "%s/agent.sock", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	snprintf(pol, sizeof(pol), "%s/policies", a->dir);
	snprintf(pdir, sizeof(pdir), "%s/pods", a->dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", a->dir);
	snprintf(state, sizeof(state), "%s/state", a->dir);
	err = node_grow(b, pods);
	if (!err)
		err = mkdir_p(pol);
	if (!err)
		err = mkdir_p(pdir);
	for (int first = 1; first <= pods && !err; first += BENCH_CHUNK) {
		int last = first + BENCH_CHUNK - 1 > pods ? pods : first + BENCH_CHUNK - 1;

		doc.len = 0;
		err = gen_pods(&doc, first, last, false);
		snprintf(file, sizeof(file), "%s/p%06d.yaml", pdir, first);
		if (!err)
			err = write_file(file, doc.s, doc.len);
	}
	sbuf_free(&doc);
	if (err)
		return err;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, a->log, O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	err = -posix_spawn(&b->agent_pid, b->o.podfence, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "Error: start %s: %s\n", b->o.podfence, strerror(-err));
		b->agent_pid = 0;
		return err;
	}
	for (t0 = now_s(); !lagent_ready(a); usleep(20000)) {
		if (waitpid(b->agent_pid, NULL, WNOHANG) == b->agent_pid) {
			b->agent_pid = 0;
			fprintf(stderr, "Error: the agent exited before it was ready; its log:\n");
			lagent_log_tail(a);
			return -EIO;
		}
		if (bench_stop || now_s() - t0 > 300)
			return bench_stop ? -EINTR : -ETIMEDOUT;
	}
	return 0;
}

static int lagent_learn_start(struct lagent *a, const char *scope)
{
	char cmd[256];
	struct json_object *r;

	snprintf(cmd, sizeof(cmd), "learn start %s", scope);
	r = lagent_req(a, cmd);
	json_object_put(r);
	return r ? 0 : -EIO;
}

/* CPU time of a process, all threads: utime + stime (/proc/PID/stat), in ms. */
static double proc_cpu_ms(pid_t pid)
{
	unsigned long ut = 0, st = 0;
	char path[64], line[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* after the name: state, ppid, pgrp, session, tty, tpgid, flags, 4 fault counts */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (ut + st) * 1000.0 / sysconf(_SC_CLK_TCK);
}

/* The same in ns, from the scheduler (schedstat of every task of PID): finer than ticks. */
static double proc_sched_ms(pid_t pid)
{
	char path[PATH_MAX];
	unsigned long long ns, sum = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		f = fopen(path, "re");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum / 1e6;
}

/*
 * A process of ours in cgroup cg, with no descriptor of the benchmark's: it
 * runs pf_spawn_loop SPEC (loop set), else execs bins[0..n_bins) once in
 * each pod w[first..last] (its own posix_spawn + wait, so that each pod
 * records exactly those binaries). Returns its pid, or -errno.
 */
static pid_t child_start(const char *cg, const char *loop, const char *spec, struct bench *b,
			 int first, int last, char **bins, int n_bins)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	close_range(3, ~0U, 0);
	if (loop) {
		char *argv[] = {(char *)loop, (char *)spec, NULL};

		if (cg_enter(cg))
			_exit(126);
		execv(loop, argv);
		_exit(127);
	}
	for (int i = first; i <= last; i++) {
		char pcg[PATH_MAX];

		pod_cgroup(b, i, pcg, sizeof(pcg));
		if (cg_enter(pcg))
			_exit(126);
		for (int k = 0; k < n_bins; k++) {
			char *argv[] = {bins[k], NULL};
			int st;

			if (posix_spawn(&pid, bins[k], NULL, NULL, argv, environ) ||
			    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
				_exit(1);
		}
	}
	_exit(0);
}

static int children_wait(pid_t *pids, int n, const char *what)
{
	int err = 0;

	for (int i = 0; i < n; i++) {
		int st = 0;

		if (pids[i] <= 0)
			continue;
		if (bench_stop) /* interrupted: every child goes, not only the one waited for */
			kill(pids[i], SIGKILL);
		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			if (bench_stop)
				kill(pids[i], SIGKILL);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "Error: learn: %s: a process failed (status %#x)\n", what,
				st);
			err = -EIO;
		}
	}
	return bench_stop ? -EINTR : err;
}

/* Runs `loops` pf_spawn_loop in cg: specs[i] each; seconds it took in *secs. */
static int loops_run(struct bench *b, const char *cg, char **specs, int loops, double *secs)
{
	char loop[PATH_MAX];
	pid_t pids[8] = {};
	double t0 = now_s();
	const char *slash = strrchr(b->o.helper, '/');
	int err = 0;

	snprintf(loop, sizeof(loop), "%.*spf_spawn_loop",
		 slash ? (int)(slash - b->o.helper + 1) : 0, b->o.helper);
	for (int i = 0; i < loops && !err; i++) {
		pids[i] = child_start(cg, loop, specs[i], b, 0, -1, NULL, 0);
		if (pids[i] < 0)
			err = pids[i];
	}
	err = children_wait(pids, loops, "pf_spawn_loop") ?: err;
	*secs = now_s() - t0;
	return err;
}

static struct json_object *map_usage(struct json_object *st, const char *name)
{
	struct json_object *maps = NULL;

	json_object_object_get_ex(st, "maps", &maps);
	for (size_t i = 0; maps && i < json_object_array_length(maps); i++) {
		struct json_object *m = json_object_array_get_idx(maps, i);
		const char *n = json_get_str(m, "name");

		if (n && !strcmp(n, name))
			return m;
	}
	return NULL;
}

static struct json_object *jpath(struct json_object *o, const char *const *keys, int n)
{
	for (int i = 0; i < n && o; i++)
		if (!json_object_object_get_ex(o, keys[i], &o))
			return NULL;
	return o;
}

static long long status_int(struct json_object *st, const char *obj, const char *key)
{
	struct json_object *o = NULL;

	return json_object_object_get_ex(st, obj, &o) ? json_get_int(o, key) : 0;
}

/* Status once learning.records >= want (the agent has every record), or NULL on timeout. */
static struct json_object *lagent_await_records(struct lagent *a, long long want, double timeout)
{
	double t0 = now_s();

	for (;;) {
		struct json_object *st = lagent_req(a, "status");

		if (!st)
			return NULL;
		if (status_int(st, "learning", "records") >= want)
			return st;
		if (bench_stop || now_s() - t0 > timeout) {
			fprintf(stderr,
				"Error: learn: the agent holds %lld records, %lld expected "
				"(kernel: %lld recorded, %lld lost, %lld table full)\n",
				status_int(st, "learning", "records"), want,
				status_int(st, "kernel_stats", "learn_records"),
				status_int(st, "kernel_stats", "learn_records_lost"),
				status_int(st, "kernel_stats", "learn_table_full"));
			json_object_put(st);
			return NULL;
		}
		json_object_put(st);
		usleep(50000);
	}
}

/* `podfence learn show --json [FILTER]`, the CLI as an operator runs it, timed. */
static struct json_object *learn_show(struct bench *b, struct lagent *a, const char *filter,
				      double *secs)
{
	char out[PATH_MAX + 16];
	char *argv[] = {(char *)b->o.podfence, "learn", "show", "--json", "--socket", a->sock,
			(char *)filter,	       NULL};
	posix_spawn_file_actions_t fa;
	struct json_object *j = NULL;
	double t0 = now_s();
	pid_t pid;
	int st = 0;

	snprintf(out, sizeof(out), "%s/show.json", a->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	if (!posix_spawn(&pid, b->o.podfence, &fa, NULL, argv, environ) &&
	    waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st))
		j = json_object_from_file(out);
	posix_spawn_file_actions_destroy(&fa);
	*secs = now_s() - t0;
	if (!j)
		fprintf(stderr, "Error: podfence learn show: status %#x, %s\n", st,
			json_util_get_last_err() ?: "");
	return j;
}

/*
 * The binaries container "main" of workload NS/Pod/NAME ran, from a merged
 * show: its lists "execs" and "temporary" (a path under a temporary
 * directory, as every file of this run, goes to the latter, with a suggested
 * prefix). A new array (NULL: no such proposal); *temporary: how many of them
 * came from the latter.
 */
static struct json_object *proposal_values(struct json_object *show, const char *ns,
					   const char *name, size_t *temporary)
{
	static const char *const meta_ns[] = {"metadata", "namespace"};
	static const char *const ref[] = {"spec", "targetRef", "name"};
	static const char *const cont[] = {"spec", "nodes", "*", "containers", "main"};
	static const char *const lists[] = {"execs", "temporary"};

	for (size_t i = 0; show && i < json_object_array_length(show); i++) {
		struct json_object *p = json_object_array_get_idx(show, i), *c, *all;
		struct json_object *n = jpath(p, meta_ns, 2), *w = jpath(p, ref, 3);

		if (!n || !w || strcmp(json_object_get_string(n), ns) ||
		    strcmp(json_object_get_string(w), name))
			continue;
		c = jpath(p, cont, 5);
		all = json_object_new_array();
		for (int l = 0; l < 2; l++) {
			struct json_object *items = jpath(c, &lists[l], 1);

			for (size_t k = 0; items && k < json_object_array_length(items); k++)
				json_object_array_add(
				    all, json_object_get(json_object_array_get_idx(items, k)));
			if (l == 1 && temporary)
				*temporary = items ? json_object_array_length(items) : 0;
		}
		return all;
	}
	return NULL;
}

/* Bytes the agent holds for workload NS/Pod/NAME (status.learning.workloads[]). */
static struct json_object *status_workload(struct json_object *st, const char *ns, const char *name)
{
	static const char *const wls[] = {"learning", "workloads"};
	struct json_object *arr = jpath(st, wls, 2);

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *w = json_object_array_get_idx(arr, i);
		const char *n = json_get_str(w, "namespace"), *nm = json_get_str(w, "name");

		if (n && nm && !strcmp(n, ns) && !strcmp(nm, name))
			return w;
	}
	return NULL;
}

static int loops_for(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus >= 2 ? 2 : 1;
}

/* ---- 2. fork storm ---- */

static int learn_storm(struct bench *b, struct lagent *a, struct json_object *o)
{
	int n = b->o.learn_storm, loops = loops_for();
	char specs[8][PATH_MAX + 32], *spec_p[8], cg[PATH_MAX];
	double ctl_s = 0, storm_s = 0, show_s = 0, expected, expected_ns;
	char cg_ctl[PATH_MAX], ctl_specs[8][PATH_MAX + 32], *ctl_p[8];
	int n_ctl = n / 4 > 1000 ? n / 4 : 1000;
	double cpu0, cpu1, cpu2, ns0, ns1, ns2;
	struct json_object *st = NULL, *show = NULL, *ex = NULL;
	long long items = 0, execs = 0;
	size_t temporary = 0;
	int err;

	pod_cgroup(b, 1, cg, sizeof(cg));
	pod_cgroup(b, 2, cg_ctl, sizeof(cg_ctl)); /* not learning yet: bound to nothing */
	err = lagent_learn_start(a, BENCH_NS "/Pod/w1");
	for (int i = 0; i < loops; i++) {
		snprintf(specs[i], sizeof(specs[i]), "%d:%s", n / loops + (i < n % loops),
			 b->true_bin);
		spec_p[i] = specs[i];
	}
	for (int i = 0; i < loops; i++) {
		snprintf(ctl_specs[i], sizeof(ctl_specs[i]), "%d:%s",
			 n_ctl / loops + (i < n_ctl % loops), b->true_bin);
		ctl_p[i] = ctl_specs[i];
	}
	if (err)
		return err;
	/*
	 * Side by side: the same agent during the same storm in a pod that does
	 * not learn (what a storm costs it anyway: a loaded machine), then in the
	 * learning pod.
	 */
	cpu0 = proc_cpu_ms(b->agent_pid);
	ns0 = proc_sched_ms(b->agent_pid);
	err = loops_run(b, cg_ctl, ctl_p, loops, &ctl_s);
	if (err)
		return err;
	cpu1 = proc_cpu_ms(b->agent_pid);
	ns1 = proc_sched_ms(b->agent_pid);
	err = loops_run(b, cg, spec_p, loops, &storm_s);
	cpu2 = proc_cpu_ms(b->agent_pid);
	ns2 = proc_sched_ms(b->agent_pid);
	if (!err)
		st = lagent_await_records(a, 2, 30); /* the loop and the storm's binary */
	if (st)
		show = learn_show(b, a, BENCH_NS "/Pod/w1", &show_s);
	if (!st || !show) {
		err = err ?: -EIO;
		goto out;
	}
	ex = proposal_values(show, BENCH_NS, "w1", &temporary);
	for (size_t i = 0; ex && i < json_object_array_length(ex); i++) {
		struct json_object *it = json_object_array_get_idx(ex, i);

		const char *path = json_get_str(it, "path");

		if (path && !strcmp(path, b->true_bin)) {
			items++;
			execs += json_get_int(it, "execs");
		}
	}
	json_add_int(o, "execs", n);
	json_add_int(o, "loops", loops);
	json_add_double(o, "storm_s", storm_s);
	json_add_double(o, "execs_per_s", n / storm_s);
	json_add_int(o, "control_execs", n_ctl);
	json_add_double(o, "control_s", ctl_s);
	json_add_double(o, "agent_cpu_control_ms", cpu1 - cpu0);
	json_add_double(o, "agent_cpu_storm_ms", cpu2 - cpu1);
	json_add_double(o, "agent_sched_control_ms", ns1 - ns0);
	json_add_double(o, "agent_sched_storm_ms", ns2 - ns1);
	/* the control storm's cost per exec over the learning storm's execs */
	expected = (cpu1 - cpu0) * n / n_ctl;
	expected_ns = (ns1 - ns0) * n / n_ctl;
	json_add_double(o, "agent_cpu_expected_ms", expected);
	json_add_double(o, "agent_cpu_added_ms", (cpu2 - cpu1) - expected);
	json_add_double(o, "agent_sched_expected_ms", expected_ns);
	json_add_double(o, "agent_sched_added_ms", (ns2 - ns1) - expected_ns);
	json_add_int(o, "clock_tick_hz", sysconf(_SC_CLK_TCK));
	json_add_int(o, "binary_records", items);
	json_add_int(o, "binary_execs", execs);
	json_add_int(o, "workload_values", ex ? json_object_array_length(ex) : 0);
	json_add_int(o, "workload_values_temporary", temporary);
	json_add_int(o, "workload_records",
		     json_get_int(status_workload(st, BENCH_NS, "w1"), "records"));
	json_add_int(o, "kernel_learn_records", status_int(st, "kernel_stats", "learn_records"));
	json_add_int(o, "kernel_learn_lost", status_int(st, "kernel_stats", "learn_records_lost"));
	json_add_double(o, "show_s", show_s);
	fprintf(
	    stderr,
	    "bench: learn storm: %d execs in %.1f s (%.0f/s), %lld record(s) of the binary "
	    "counting %lld; agent CPU %.0f ms storm, %.0f ms for %d execs in a pod not learning\n",
	    n, storm_s, n / storm_s, items, execs, cpu2 - cpu1, cpu1 - cpu0, n_ctl);
out:
	json_object_put(ex);
	json_object_put(st);
	json_object_put(show);
	return err;
}

/* ---- 3. distinct binaries of one workload ---- */

/* n hard links of bin under dir, listed in `loops` files; their paths in list[i]. */
static int links_make(const char *bin, const char *dir, int n, int loops, char lists[][PATH_MAX])
{
	FILE *f[8] = {};
	char path[PATH_MAX + 32];
	int err = mkdir_p(dir);

	for (int i = 0; i < loops && !err; i++) {
		snprintf(lists[i], PATH_MAX, "%s.list%d", dir, i);
		f[i] = fopen(lists[i], "we");
		if (!f[i])
			err = -errno;
	}
	for (int i = 0; i < n && !err; i++) {
		snprintf(path, sizeof(path), "%s/bin-%05d", dir, i);
		if (link(bin, path))
			err = -errno;
		else
			fprintf(f[i % loops], "%s\n", path);
	}
	for (int i = 0; i < loops; i++)
		if (f[i] && fclose(f[i]))
			err = err ?: -errno;
	if (err)
		fprintf(stderr, "Error: learn: links under %s: %s\n", dir, strerror(-err));
	return err;
}

static int learn_many(struct bench *b, struct lagent *a, struct json_object *o)
{
	int n = b->o.learn_bins, loops = loops_for();
	char dir[PATH_MAX], lists[8][PATH_MAX], specs[8][PATH_MAX + 2], *spec_p[8], cg[PATH_MAX];
	struct json_object *st0 = NULL, *st = NULL, *show = NULL, *ex = NULL, *m0, *m1, *w;
	double run_s = 0, show_s = 0;
	long long listed = 0, records0;
	size_t temporary = 0;
	int err;

	snprintf(dir, sizeof(dir), "%s/learn-many", b->tmp);
	pod_cgroup(b, 2, cg, sizeof(cg));
	err = links_make(b->true_bin, dir, n, loops, lists);
	if (!err)
		err = lagent_learn_start(a, BENCH_NS "/Pod/w2");
	if (!err && !(st0 = lagent_req(a, "status")))
		err = -EIO;
	if (err)
		goto out;
	records0 = status_int(st0, "learning", "records");
	for (int i = 0; i < loops; i++) {
		snprintf(specs[i], sizeof(specs[i]), "@%s", lists[i]);
		spec_p[i] = specs[i];
	}
	err = loops_run(b, cg, spec_p, loops, &run_s);
	if (!err)
		st = lagent_await_records(a, records0 + n + 1, 60); /* and the loop */
	if (st)
		show = learn_show(b, a, BENCH_NS "/Pod/w2", &show_s);
	if (!st || !show) {
		err = err ?: -EIO;
		goto out;
	}
	ex = proposal_values(show, BENCH_NS, "w2", &temporary);
	for (size_t i = 0; ex && i < json_object_array_length(ex); i++) {
		const char *p = json_get_str(json_object_array_get_idx(ex, i), "path");

		listed += p && !strncmp(p, dir, strlen(dir)) && p[strlen(dir)] == '/';
	}
	m0 = map_usage(st0, "learned");
	m1 = map_usage(st, "learned");
	w = status_workload(st, BENCH_NS, "w2");
	json_add_int(o, "binaries", n);
	json_add_int(o, "loops", loops);
	json_add_double(o, "run_s", run_s);
	json_add_int(o, "listed", listed);
	json_add_int(o, "workload_values", ex ? json_object_array_length(ex) : 0);
	json_add_int(o, "workload_values_temporary", temporary);
	json_add_int(o, "workload_records", json_get_int(w, "records"));
	json_add_int(o, "workload_bytes", json_get_int(w, "bytes"));
	json_add_int(o, "learned_max_entries", json_get_int(m1, "max_entries"));
	json_add_int(o, "learned_entries", json_get_int(m1, "entries"));
	json_add_int(o, "learned_memlock", json_get_int(m1, "memlock"));
	json_add_int(o, "learned_entries_added",
		     json_get_int(m1, "entries") - json_get_int(m0, "entries"));
	json_add_int(o, "learned_memlock_added",
		     json_get_int(m1, "memlock") - json_get_int(m0, "memlock"));
	json_add_int(o, "kernel_learn_lost", status_int(st, "kernel_stats", "learn_records_lost"));
	json_add_int(o, "kernel_learn_full", status_int(st, "kernel_stats", "learn_table_full"));
	json_add_double(o, "show_s", show_s);
	fprintf(stderr,
		"bench: learn: %d binaries run in %.1f s, %lld in the proposal; learned map +%lld "
		"entries, +%lld bytes; agent %lld bytes\n",
		n, run_s, listed, json_get_int(m1, "entries") - json_get_int(m0, "entries"),
		json_get_int(m1, "memlock") - json_get_int(m0, "memlock"),
		json_get_int(w, "bytes"));
out:
	json_object_put(ex);
	json_object_put(st0);
	json_object_put(st);
	json_object_put(show);
	return err;
}

/* ---- 4. many workloads ---- */

static int learn_workloads(struct bench *b, struct lagent *a, struct json_object *o)
{
	static const char *const names[] = {"tool-a", "tool-b", "tool-c"};
	int w = b->o.learn_workloads, procs = loops_for(), per = (w + procs - 1) / procs, err;
	char dir[PATH_MAX], bins[3][PATH_MAX + 16], *bin_p[3];
	struct json_object *st0 = NULL, *st = NULL, *show = NULL, *m0, *m1, *wls;
	long long exact = 0, found = 0, user_bytes = 0, user_max = 0, rss0;
	double run_s, show_s = 0, t0;
	pid_t pids[8] = {};

	snprintf(dir, sizeof(dir), "%s/learn-tools", b->tmp);
	err = mkdir_p(dir);
	for (int k = 0; k < 3 && !err; k++) {
		snprintf(bins[k], sizeof(bins[k]), "%s/%s", dir, names[k]);
		bin_p[k] = bins[k];
		if (link(b->true_bin, bins[k]))
			err = -errno;
	}
	if (!err)
		err = lagent_learn_start(a, BENCH_NS);
	if (!err && !(st0 = lagent_req(a, "status")))
		err = -EIO;
	if (err)
		goto out;
	rss0 = proc_status_kib(b->agent_pid, "VmRSS");
	t0 = now_s();
	for (int i = 0; i < procs && !err; i++) {
		int first = 1 + i * per, last = first + per - 1 > w ? w : first + per - 1;

		pids[i] = child_start(NULL, NULL, NULL, b, first, last, bin_p, 3);
		if (pids[i] < 0)
			err = pids[i];
	}
	err = children_wait(pids, procs, "execs in the pods") ?: err;
	run_s = now_s() - t0;
	if (!err)
		st = lagent_await_records(a, 3LL * w, 60);
	if (st)
		show = learn_show(b, a, NULL, &show_s);
	if (!st || !show) {
		err = err ?: -EIO;
		goto out;
	}
	for (int i = 1; i <= w; i++) {
		char name[32];
		struct json_object *ex, *ws;

		snprintf(name, sizeof(name), "w%d", i);
		ex = proposal_values(show, BENCH_NS, name, NULL);
		ws = status_workload(st, BENCH_NS, name);
		found += ex != NULL;
		exact += ex && json_object_array_length(ex) == 3;
		json_object_put(ex);
		user_bytes += json_get_int(ws, "bytes");
		if (json_get_int(ws, "bytes") > user_max)
			user_max = json_get_int(ws, "bytes");
	}
	m0 = map_usage(st0, "learned");
	m1 = map_usage(st, "learned");
	wls = jpath(st, (const char *const[]){"learning", "workloads"}, 2);
	json_add_int(o, "workloads", w);
	json_add_int(o, "binaries_each", 3);
	json_add_double(o, "run_s", run_s);
	json_add_int(o, "proposals", json_object_array_length(show));
	json_add_int(o, "found", found);
	json_add_int(o, "exact", exact);
	json_add_int(o, "status_workloads", wls ? json_object_array_length(wls) : 0);
	json_add_double(o, "user_bytes_per_workload", (double)user_bytes / w);
	json_add_int(o, "user_bytes_max", user_max);
	json_add_int(o, "learned_entries_added",
		     json_get_int(m1, "entries") - json_get_int(m0, "entries"));
	json_add_int(o, "learned_memlock_added",
		     json_get_int(m1, "memlock") - json_get_int(m0, "memlock"));
	json_add_int(o, "learned_memlock", json_get_int(m1, "memlock"));
	json_add_double(o, "kernel_bytes_per_workload",
			(double)(json_get_int(m1, "memlock") - json_get_int(m0, "memlock")) / w);
	json_add_int(o, "agent_rss_kib_before", rss0);
	json_add_int(o, "agent_rss_kib_after", proc_status_kib(b->agent_pid, "VmRSS"));
	json_add_int(o, "kernel_learn_lost", status_int(st, "kernel_stats", "learn_records_lost"));
	json_add_double(o, "show_s", show_s);
	fprintf(stderr,
		"bench: learn: %d workloads, %lld proposals with exactly 3 values; %.0f bytes per "
		"workload in the agent, %.0f in the kernel; learn show %.2f s\n",
		w, exact, (double)user_bytes / w,
		(double)(json_get_int(m1, "memlock") - json_get_int(m0, "memlock")) / w, show_s);
out:
	json_object_put(st0);
	json_object_put(st);
	json_object_put(show);
	return err;
}

/* ---- the phase ---- */

int phase_learn(struct bench *b)
{
	struct json_object *o = json_object_new_object(), *x;
	struct lagent a = {};
	int err;

	char date[64];
	time_t now = time(NULL);

	json_object_object_add(b->res, "learn", o);
	json_add_int(o, "quick", b->o.quick);
	/* the section may be merged into a report of another run: it says when it was measured */
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	json_add_str(o, "measured_at", date);
	snprintf(b->agent_pin, sizeof(b->agent_pin), "/sys/fs/bpf/pf-bench-%d-agent", getpid());
	if (access(b->o.podfence, X_OK)) {
		fprintf(stderr, "Error: %s: not executable (build it, or pass --podfence)\n",
			b->o.podfence);
		return -ENOENT;
	}
	err = node_grow(b, b->o.learn_workloads > 2 ? b->o.learn_workloads : 2);
	x = json_object_new_object();
	json_object_object_add(o, "latency", x);
	if (!err)
		err = learn_latency(b, x);
	/* the storm and the distinct binaries: pods w1 and w2 of one agent */
	if (!err)
		err = lagent_start(b, &a, "storm", 2);
	x = json_object_new_object();
	json_object_object_add(o, "storm", x);
	if (!err)
		err = learn_storm(b, &a, x);
	x = json_object_new_object();
	json_object_object_add(o, "many", x);
	if (!err)
		err = learn_many(b, &a, x);
	agent_stop(b);
	/* many workloads: a fresh agent (its own kernel state) on w1..wN, the namespace in scope */
	if (!err)
		err = lagent_start(b, &a, "workloads", b->o.learn_workloads);
	x = json_object_new_object();
	json_object_object_add(o, "workloads", x);
	if (!err)
		err = learn_workloads(b, &a, x);
	if (err && a.log[0] && b->agent_pid > 0) {
		fprintf(stderr, "bench: the agent's log (end):\n");
		lagent_log_tail(&a);
	}
	agent_stop(b);
	return err;
}
