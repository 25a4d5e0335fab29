// SPDX-License-Identifier: Apache-2.0
/*
 * podfence-bench: runs every phase in one process, then writes the results
 * (JSON), a table on stdout, docs/benchmarks.md and the exec latency plot.
 * `--report FILE` regenerates the outputs from a previous JSON only.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "bench.h"
#include "podfence/cgroup.h"
#include "podfence/log.h"

volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
	bench_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: podfence-bench [OPTIONS]\n"
	    "\n"
	    "Measures podfence at N policies next to a one-program-per-policy baseline\n"
	    "(exec latency, BPF cost, kernel memory, control plane, ceiling). Needs root.\n"
	    "\n"
	    "  --quick              small N and few rounds: checks the harness (CI smoke)\n"
	    "  --json FILE          machine-readable results\n"
	    "  --plot FILE          exec latency vs N (PNG, gnuplot)\n"
	    "  --gnuplot-script F   plot script (default bench/exec-latency.gp)\n"
	    "  --podfence PATH      podfence binary for the agent runs (default build/podfence)\n"
	    "  --helper PATH        static no-op binary to exec (default "
	    "build/tests/helpers/pf_true)\n"
	    "  --rounds N           latency rounds\n"
	    "  --batch N            execs per batch\n"
	    "  --phases LIST        comma-separated subset of "
	    "memory,latency,control,agent,api,ceiling,learn,net\n"
	    "  --n LIST             podfence N values of the latency phase (e.g. 1,1000)\n"
	    "  --baseline-n LIST    programs of the baseline sets (e.g. 1,100)\n"
	    "  --learn-storm N      execs of the learning phase's fork storm\n"
	    "  --net-n LIST         bindings loaded in the egress phase (e.g. 1,100000)\n"
	    "  --net-baseline-n LIST  programs of the egress baseline sets (e.g. 1,100)\n"
	    "  --report FILE        only regenerate the outputs from a results JSON\n"
	    "                       (with --json OUT: those results, targets evaluated again)\n"
	    "  --cleanup-stale      remove what killed runs left, then exit\n");
}

static void set_list(int *dst, int *n, const int *src, int count)
{
	memcpy(dst, src, count * sizeof(*src));
	*n = count;
}

static void defaults(struct bench_opts *o)
{
	static const int n_full[] = {1, 100, 1000, 10000, 100000}, n_quick[] = {1, 100, 1000};
	static const int bl_full[] = {1, 10, 100, 500}, bl_quick[] = {1, 10};
	static const int files_full[] = {1000, 10000}, files_quick[] = {100, 1000};
	static const int agent_full[] = {1, 100, 1000, 10000, 100000}, agent_quick[] = {1, 1000};
	static const int net_full[] = {1, 100, 1000, 10000, 100000}, net_quick[] = {1, 100, 1000};
	static const int net_bl_full[] = {1, 10, 50}, net_bl_quick[] = {1, 10};

	o->paths = 10;
	if (o->quick) {
		set_list(o->n, &o->n_n, n_quick, 3);
		set_list(o->bl, &o->n_bl, bl_quick, 2);
		set_list(o->files_n, &o->n_files_n, files_quick, 2);
		set_list(o->agent_n, &o->n_agent_n, agent_quick, 2);
		o->rounds = o->rounds ?: 4;
		o->batch = o->batch ?: 16;
		o->stats_batch = 50;
		o->files_reps = 1;
		o->changes = 10;
		o->pods_arriving = 50;
		o->mem_n1 = 100;
		o->mem_n2 = 1000;
		o->ceiling_max = 4096;
		/* sizes / 64: the search reaches the limit and checks the error path */
		o->ceiling_scale = 64;
		o->learn_rounds = 4;
		o->learn_stats_batch = 50;
		o->learn_storm = o->learn_storm ?: 10000;
		o->learn_bins = 1000;
		o->learn_workloads = 100;
		if (!o->n_net_n)
			set_list(o->net_n, &o->n_net_n, net_quick, 3);
		if (!o->n_net_bl)
			set_list(o->net_bl, &o->n_net_bl, net_bl_quick, 2);
		o->net_rounds = 6;
		o->net_batch = 200;
		o->net_stats_batch = 500;
	} else {
		set_list(o->n, &o->n_n, n_full, 5);
		set_list(o->bl, &o->n_bl, bl_full, 4);
		set_list(o->files_n, &o->n_files_n, files_full, 2);
		set_list(o->agent_n, &o->n_agent_n, agent_full, 5);
		o->rounds = o->rounds ?: 60;
		o->batch = o->batch ?: 40;
		o->stats_batch = 200;
		o->files_reps = 3;
		o->changes = 50;
		o->pods_arriving = 1000;
		o->mem_n1 = 1000;
		o->mem_n2 = 10000;
		o->ceiling_max = 150000;
		o->ceiling_scale = 1;
		o->learn_rounds = 30;
		o->learn_stats_batch = 100;
		o->learn_storm = o->learn_storm ?: 100000;
		o->learn_bins = 10000;
		o->learn_workloads = 1000;
		if (!o->n_net_n)
			set_list(o->net_n, &o->n_net_n, net_full, 5);
		if (!o->n_net_bl)
			set_list(o->net_bl, &o->n_net_bl, net_bl_full, 3);
		o->net_rounds = 40;
		o->net_batch = 1000;
		o->net_stats_batch = 5000;
	}
}

static int parse_list(const char *s, int *v, int *n, int max)
{
	char *end;

	*n = 0;
	while (*s) {
		long x = strtol(s, &end, 10);

		if (end == s || x <= 0 || x > 1000000 || *n >= max || (*end && *end != ','))
			return -EINVAL;
		v[(*n)++] = (int)x;
		s = *end ? end + 1 : end;
	}
	return *n ? 0 : -EINVAL;
}

static bool pid_alive(const char *name, size_t prefix_len)
{
	int pid = atoi(name + prefix_len);

	return pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH;
}

/* Removes pin dirs, cgroup subtrees and temp dirs of runs that are gone. */
static void cleanup_stale(const char *cg2)
{
	const char *dirs[] = {"/sys/fs/bpf", cg2, "/tmp"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		struct dirent *de;
		DIR *d;

		if (!dirs[i] || !(d = opendir(dirs[i])))
			continue;
		while ((de = readdir(d))) {
			if (strncmp(de->d_name, "pf-bench-", 9) || pid_alive(de->d_name, 9))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			fprintf(stderr, "bench: removing %s (left by a killed run)\n", path);
			if (i == 0)
				pf_kstore_unpin(path);
			else if (i == 1)
				cg_remove_tree(path);
			else
				rm_rf(path);
		}
		closedir(d);
	}
}

static int copy_binary(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rbe"), *out = NULL;
	char buf[65536];
	size_t n;
	int err = 0;

	if (!in)
		return -errno;
	out = fopen(dst, "wbe");
	if (!out) {
		err = -errno;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			err = -EIO;
out:
	if (out && fclose(out))
		err = err ?: -errno;
	fclose(in);
	return err ?: (chmod(dst, 0755) ? -errno : 0);
}

static int setup(struct bench *b)
{
	char tmpl[64], bin[PATH_MAX + 16];
	int err;

	if (geteuid()) {
		fprintf(stderr, "Error: podfence-bench loads BPF programs and creates cgroups: run "
				"it as root\n");
		return -EPERM;
	}
	err = pf_cgroup2_mount(b->cg2, sizeof(b->cg2));
	if (err) {
		fprintf(stderr, "Error: no cgroup2 mount in /proc/self/mountinfo\n");
		return err;
	}
	cleanup_stale(b->cg2);
	snprintf(tmpl, sizeof(tmpl), "/tmp/pf-bench-%d-XXXXXX", getpid());
	if (!mkdtemp(tmpl))
		return -errno;
	snprintf(b->tmp, sizeof(b->tmp), "%s", tmpl);
	err = node_init(b);
	if (err)
		return err;
	/* a short path of our own: the baseline's allowlist key is 64 bytes */
	snprintf(bin, sizeof(bin), "%s/true", b->tmp);
	err = copy_binary(b->o.helper, bin);
	if (err) {
		fprintf(stderr, "Error: copy %s: %s (build it: make %s)\n", b->o.helper,
			strerror(-err), b->o.helper);
		return err;
	}
	if (!realpath(bin, b->true_bin))
		return -errno;
	snprintf(bin, sizeof(bin), "%s/denied", b->tmp);
	err = copy_binary(b->o.helper, bin);
	if (err)
		return err;
	if (!realpath(bin, b->denied_bin))
		return -errno;
	/* now, while our file table is small: what it holds, every exec it spawns copies */
	return spawner_start(b);
}

static void teardown(struct bench *b)
{
	agent_stop(b);
	spawner_stop(b);
	node_cleanup(b);
	rm_rf(b->tmp);
}

/*
 * How busy the machine was besides us: the benchmark keeps at most one CPU
 * busy, so CPU time above that (and steal time, in a VM) was someone else's.
 */
static void record_load(struct bench *b)
{
	struct json_object *m = NULL;
	struct cpu_times end;
	char la[64];

	if (!json_object_object_get_ex(b->res, "machine", &m) || cpu_times_read(&end))
		return;
	loadavg_str(la, sizeof(la));
	json_add_str(m, "loadavg_start", b->loadavg_start);
	json_add_str(m, "loadavg_end", la);
	if (end.total > b->cpu_start.total) {
		double all = end.total - b->cpu_start.total;

		json_add_double(m, "busy_fraction", 1 - (end.idle - b->cpu_start.idle) / all);
		json_add_double(m, "steal_fraction", (end.steal - b->cpu_start.steal) / all);
	}
}

static bool phase_on(const char *phases, const char *name)
{
	const char *p = phases;
	size_t n = strlen(name);

	if (!phases)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == phases || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static int write_outputs(struct bench *b, struct json_object *res)
{
	int err = 0;

	report_targets(res);
	if (b->o.json_out &&
	    json_object_to_file_ext(b->o.json_out, res, JSON_C_TO_STRING_PRETTY) < 0) {
		fprintf(stderr, "Error: write %s: %s\n", b->o.json_out, json_util_get_last_err());
		err = -EIO;
	}
	report_text(res, stdout);
	if (!err && b->o.png_out)
		err = report_plot(res, b->o.gnuplot_script, b->o.png_out);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"json", required_argument, NULL, 'j'},
	    {"plot", required_argument, NULL, 'p'},
	    {"gnuplot-script", required_argument, NULL, 'g'},
	    {"podfence", required_argument, NULL, 'P'},
	    {"helper", required_argument, NULL, 'H'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"batch", required_argument, NULL, 'b'},
	    {"phases", required_argument, NULL, 'f'},
	    {"n", required_argument, NULL, 'n'},
	    {"baseline-n", required_argument, NULL, 'B'},
	    {"report", required_argument, NULL, 'R'},
	    {"learn-storm", required_argument, NULL, 'L'},
	    {"net-n", required_argument, NULL, 'N'},
	    {"net-baseline-n", required_argument, NULL, 'K'},
	    {"cleanup-stale", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct bench b = {.o = {.podfence = "build/podfence",
				.helper = "build/tests/helpers/pf_true",
				.gnuplot_script = "bench/exec-latency.gp"}};
	const char *phases = NULL, *n_list = NULL, *bl_list = NULL, *net_list = NULL,
		   *net_bl_list = NULL;
	struct sigaction sa = {.sa_handler = on_signal};
	bool stale_only = false;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			b.o.quick = true;
			break;
		case 'j':
			b.o.json_out = optarg;
			break;
		case 'p':
			b.o.png_out = optarg;
			break;
		case 'g':
			b.o.gnuplot_script = optarg;
			break;
		case 'P':
			b.o.podfence = optarg;
			break;
		case 'H':
			b.o.helper = optarg;
			break;
		case 'r':
			b.o.rounds = atoi(optarg);
			break;
		case 'b':
			b.o.batch = atoi(optarg);
			break;
		case 'f':
			phases = optarg;
			break;
		case 'n':
			n_list = optarg;
			break;
		case 'B':
			bl_list = optarg;
			break;
		case 'R':
			b.o.report_in = optarg;
			break;
		case 'L':
			b.o.learn_storm = atoi(optarg);
			if (b.o.learn_storm <= 0) {
				fprintf(stderr, "Error: --learn-storm wants a positive number\n");
				return 1;
			}
			break;
		case 'N':
			net_list = optarg;
			break;
		case 'K':
			net_bl_list = optarg;
			break;
		case 'c':
			stale_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if ((net_list && parse_list(net_list, b.o.net_n, &b.o.n_net_n, BENCH_MAX_NS)) ||
	    (net_bl_list && parse_list(net_bl_list, b.o.net_bl, &b.o.n_net_bl, BENCH_MAX_BL))) {
		fprintf(stderr, "Error: --net-n and --net-baseline-n want positive numbers "
				"separated by commas\n");
		return 1;
	}
	defaults(&b.o);
	if ((n_list && parse_list(n_list, b.o.n, &b.o.n_n, BENCH_MAX_NS)) ||
	    (bl_list && parse_list(bl_list, b.o.bl, &b.o.n_bl, BENCH_MAX_BL))) {
		fprintf(stderr,
			"Error: --n and --baseline-n want positive numbers separated by commas\n");
		return 1;
	}
	if (b.o.report_in) {
		struct json_object *res = json_object_from_file(b.o.report_in);

		if (!res) {
			fprintf(stderr, "Error: %s: %s\n", b.o.report_in, json_util_get_last_err());
			return 1;
		}
		err = write_outputs(&b, res);
		json_object_put(res);
		return err ? 1 : 0;
	}
	if (stale_only) {
		char cg2[PATH_MAX];

		cleanup_stale(pf_cgroup2_mount(cg2, sizeof(cg2)) ? NULL : cg2);
		return 0;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pf_log_route_libbpf();
	pf_log_set_level(PF_LOG_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	b.t_start = now_s();
	cpu_times_read(&b.cpu_start);
	loadavg_str(b.loadavg_start, sizeof(b.loadavg_start));
	b.res = json_object_new_object();
	err = setup(&b);
	if (!err)
		err = phase_fixed(&b); /* also learns the backend and the default sizes */
	if (!err) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(b.res, "machine", machine_json(&b));
		json_add_int(p, "quick", b.o.quick);
		json_add_int(p, "rounds", b.o.rounds);
		json_add_int(p, "batch", b.o.batch);
		json_add_int(p, "stats_batch", b.o.stats_batch);
		json_add_int(p, "paths", b.o.paths);
		json_add_int(p, "files_reps", b.o.files_reps);
		json_add_str(p, "exec_binary", b.true_bin);
		json_object_object_add(b.res, "params", p);
	}
	if (!err && phase_on(phases, "latency")) {
		int max_n = 0;

		for (int i = 0; i < b.o.n_n; i++)
			max_n = b.o.n[i] > max_n ? b.o.n[i] : max_n;
		for (int i = 0; i < b.o.n_bl; i++)
			max_n = b.o.bl[i] > max_n ? b.o.bl[i] : max_n;
		err = node_grow(&b, max_n);
		if (!err)
			err = phase_latency(&b);
	}
	if (!err && phase_on(phases, "memory"))
		err = phase_memory(&b);
	if (!err && phase_on(phases, "control"))
		err = phase_control(&b);
	if (!err && phase_on(phases, "agent"))
		err = phase_agent(&b);
	if (!err && phase_on(phases, "api"))
		err = phase_api(&b);
	if (!err && phase_on(phases, "ceiling"))
		err = phase_ceiling(&b);
	if (!err && phase_on(phases, "learn"))
		err = phase_learn(&b);
	if (!err && phase_on(phases, "net"))
		err = phase_net(&b);
	teardown(&b);
	json_add_double(b.res, "duration_s", now_s() - b.t_start);
	record_load(&b);
	if (err) {
		fprintf(stderr, "Error: benchmark %s: %s\n", bench_stop ? "interrupted" : "failed",
			strerror(-err));
		json_object_put(b.res);
		return 1;
	}
	err = write_outputs(&b, b.res);
	json_object_put(b.res);
	fprintf(stderr, "bench: done in %.0f s\n", now_s() - b.t_start);
	return err ? 1 : 0;
}
