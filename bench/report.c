// SPDX-License-Identifier: Apache-2.0
/*
 * Outputs, from the results JSON only (so `--report FILE` regenerates them):
 * the targets of issue 5 evaluated, the table on stdout, the gnuplot data and
 * plot. docs/benchmarks.md is rendered from the JSON by bench/render_report.py.
 */
#include <errno.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench.h"
#include "report.h"

extern char **environ;

struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

size_t jlen(struct json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

struct json_object *jidx(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

bool jstr_is(struct json_object *o, const char *k, const char *v)
{
	const char *s = json_get_str(o, k);

	return s && v && strcmp(s, v) == 0;
}

struct json_object *lat_find(struct json_object *res, const char *impl, const char *shape,
			     const char *place, long long n, long long bound)
{
	struct json_object *lat = jget(res, "latency");

	for (size_t i = 0; i < jlen(lat); i++) {
		struct json_object *c = jidx(lat, i);

		if (!jstr_is(c, "impl", impl))
			continue;
		if (shape && !jstr_is(c, "shape", shape))
			continue;
		if (place && !jstr_is(c, "placement", place))
			continue;
		if (n >= 0 && json_get_int(c, "n") != n)
			continue;
		if (bound >= 0 && json_get_int(c, "bound") != bound)
			continue;
		return c;
	}
	return NULL;
}

struct json_object *result_find(struct json_object *res, const char *section, const char *shape,
				const char *place, long long n)
{
	struct json_object *arr = jget(res, section);

	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *c = jidx(arr, i);

		if (jstr_is(c, "shape", shape) && jstr_is(c, "placement", place) &&
		    json_get_int(c, "n") == n)
			return c;
	}
	return NULL;
}

/* "1,234,567" (static rotating buffers: several per printf). */
const char *num(long long v)
{
	static char bufs[8][32];
	static int k;
	char tmp[32], *out = bufs[k++ & 7];
	int n, j = 0;

	n = snprintf(tmp, sizeof(tmp), "%lld", v < 0 ? -v : v);
	if (v < 0)
		out[j++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = tmp[i];
	}
	out[j] = 0;
	return out;
}

/* ---- targets ---- */

#define NOT_RUN "not part of this run"
#define TXT_LATENCY                                                                                \
	"Exec latency with 10,000 and with 100,000 bindings loaded within 2% of no podfence "      \
	"(median of paired runs)"
#define TXT_BPF "BPF run time per exec under 1 microsecond at any N"
#define TXT_MEM_BINDING                                                                            \
	"At most 2 KB (2,048 bytes) of kernel memory per additional binding with 10 allowed paths"
#define TXT_MEM_PERCPU "Nothing that grows per policy with the number of CPUs"
#define TXT_LOAD       "10,000 policies loaded from files in under 1 s"
#define TXT_CHANGE     "One binding change applied in under 1 ms (median) with 10,000 loaded"

static void target_add(struct json_object *arr, const char *id, const char *text, int met,
		       double use, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* use: the measured value as a fraction of the limit (0 when not a quantity) */
static void target_add(struct json_object *arr, const char *id, const char *text, int met,
		       double use, const char *fmt, ...)
{
	struct json_object *t = json_object_new_object();
	char value[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	json_add_str(t, "id", id);
	json_add_str(t, "text", text);
	/* -1: not measured in this run (a phase left out) */
	json_add_str(t, "status", met < 0 ? "not measured" : met ? "met" : "not met");
	json_add_str(t, "value", value);
	json_add_double(t, "use", use);
	json_object_array_add(arr, t);
}

static void report_api_targets(struct json_object *res, struct json_object *arr);
static void report_learn_targets(struct json_object *res, struct json_object *arr);
static void report_net_targets(struct json_object *res, struct json_object *arr);

/* Worst paired ratio among podfence template cases at N (any placement, any measured pod). */
static struct json_object *worst_ratio(struct json_object *res, long long n)
{
	struct json_object *lat = jget(res, "latency"), *worst = NULL;

	for (size_t i = 0; i < jlen(lat); i++) {
		struct json_object *c = jidx(lat, i);

		if (!jstr_is(c, "impl", "podfence") || !jstr_is(c, "shape", "template") ||
		    json_get_int(c, "n") != n)
			continue;
		if (!worst ||
		    json_get_double(c, "ratio_median") > json_get_double(worst, "ratio_median"))
			worst = c;
	}
	return worst;
}

void report_targets(struct json_object *res)
{
	struct json_object *arr = json_object_new_array(), *lat = jget(res, "latency");
	struct json_object *mem = jget(res, "memory"), *w10k, *w100k;
	double max_bpf = -1, max_bpf1 = -1;
	const char *max_bpf_case = "";

	/* 1. exec latency with 10,000 and 100,000 bindings */
	w10k = worst_ratio(res, 10000);
	w100k = worst_ratio(res, 100000);
	if (w10k && w100k)
		target_add(
		    arr, "latency", TXT_LATENCY,
		    json_get_double(w10k, "ratio_median") <= 1.02 &&
			json_get_double(w100k, "ratio_median") <= 1.02,
		    (json_get_double(w10k, "ratio_median") > json_get_double(w100k, "ratio_median")
			 ? json_get_double(w10k, "ratio_median") - 1
			 : json_get_double(w100k, "ratio_median") - 1) /
			0.02,
		    "worst paired median ratio: %.4f at 10,000 (%s), %.4f at 100,000 (%s)",
		    json_get_double(w10k, "ratio_median"), json_get_str(w10k, "name"),
		    json_get_double(w100k, "ratio_median"), json_get_str(w100k, "name"));
	else
		target_add(arr, "latency", TXT_LATENCY, -1, 0, "%s", NOT_RUN);

	/* 2. BPF run time per exec: every case counts, whatever the pod */
	for (size_t i = 0; i < jlen(lat); i++) {
		struct json_object *c = jidx(lat, i);
		double ns = json_get_double(c, "bpf_ns_per_exec");

		if (!jstr_is(c, "impl", "podfence"))
			continue;
		if (ns > max_bpf) {
			max_bpf = ns;
			max_bpf_case = json_get_str(c, "name");
		}
		if (json_get_int(c, "bound") == 1 && ns > max_bpf1)
			max_bpf1 = ns;
	}
	if (max_bpf >= 0)
		target_add(
		    arr, "bpf", TXT_BPF, max_bpf < 1000, max_bpf / 1000,
		    "highest: %.0f ns (%s); pod selected by one policy or binding, any N: at "
		    "most %.0f ns",
		    max_bpf, max_bpf_case, max_bpf1);
	else
		target_add(arr, "bpf", TXT_BPF, -1, 0, "%s", NOT_RUN);

	/* 3. memory per binding, per CPU, fixed */
	{
		struct json_object *pb = jget(mem, "per_binding"), *b10 = NULL;
		bool percpu_flat = jlen(pb) > 0;
		long long fixed = json_get_int(jget(mem, "fixed"), "total");

		for (size_t i = 0; i < jlen(pb); i++) {
			struct json_object *x = jidx(pb, i);

			if (jstr_is(x, "shape", "template") && json_get_int(x, "paths") == 10)
				b10 = x;
			percpu_flat &= json_get_double(x, "percpu_bytes_per_binding") == 0;
		}
		if (b10)
			target_add(
			    arr, "mem_binding", TXT_MEM_BINDING,
			    json_get_double(b10, "bytes_per_binding") <= 2048,
			    json_get_double(b10, "bytes_per_binding") / 2048,
			    "%s bytes per binding",
			    num((long long)(json_get_double(b10, "bytes_per_binding") + 0.5)));
		else
			target_add(arr, "mem_binding", TXT_MEM_BINDING, -1, 0, "%s", NOT_RUN);
		if (b10)
			target_add(
			    arr, "mem_percpu", TXT_MEM_PERCPU, percpu_flat, 0,
			    "per-CPU maps: %s bytes whatever N (%.0f bytes per added binding)",
			    num(json_get_int(jget(mem, "fixed"), "percpu")),
			    json_get_double(b10, "percpu_bytes_per_binding"));
		else
			target_add(arr, "mem_percpu", TXT_MEM_PERCPU, -1, 0, "%s", NOT_RUN);
		target_add(arr, "mem_fixed",
			   "Fixed overhead under 8 MB (8,000,000 bytes) with the default sizes",
			   fixed ? fixed < 8000000 : -1, fixed / 8e6,
			   "%s bytes (%.2f MB, %.2f MiB)", num(fixed), fixed / 1e6,
			   fixed / 1048576.0);
	}

	/* 4. control plane */
	{
		const char *shapes[] = {"template", "plain"}, *places[] = {"local", "remote"};
		double worst = -1, ch = -1;
		char what[96] = "-", chwhat[96] = "-";

		for (int s = 0; s < 2; s++)
			for (int p = 0; p < 2; p++) {
				struct json_object *c =
				    result_find(res, "control", shapes[s], places[p], 10000);

				if (c && json_get_double(c, "load_median_s") > worst) {
					worst = json_get_double(c, "load_median_s");
					snprintf(what, sizeof(what), "%s, pods %s", shapes[s],
						 places[p]);
				}
				if (c && s == 0 && json_get_double(c, "change_median_ms") > ch) {
					ch = json_get_double(c, "change_median_ms");
					snprintf(chwhat, sizeof(chwhat), "pods %s", places[p]);
				}
			}
		if (worst >= 0)
			target_add(arr, "load", TXT_LOAD, worst < 1.0, worst,
				   "slowest: %.3f s (%s)", worst, what);
		else
			target_add(arr, "load", TXT_LOAD, -1, 0, "%s", NOT_RUN);
		if (ch >= 0)
			target_add(arr, "change", TXT_CHANGE, ch < 1.0, ch,
				   "slowest median: %.3f ms (%s)", ch, chwhat);
		else
			target_add(arr, "change", TXT_CHANGE, -1, 0, "%s", NOT_RUN);
	}

	/* 5. 100,000 bindings load and enforce */
	{
		struct json_object *c = result_find(res, "configs", "template", "local", 100000);

		if (c) {
			char sizes[256] = "";

			json_object_object_foreach(jget(c, "sizes"), k, v) snprintf(
			    sizes + strlen(sizes), sizeof(sizes) - strlen(sizes), "%s%s=%s",
			    sizes[0] ? ", " : "", k, num(json_object_get_int64(v)));
			target_add(
			    arr, "scale", "100,000 bindings load and enforce on this machine",
			    json_get_int(c, "enforces") == 1, 0,
			    "%s bindings on %s pods of this node loaded in %.1f s, %s; maps "
			    "sized with --map-size %s: %.1f MB of kernel memory (%.1f MB of it "
			    "fixed)",
			    num(json_get_int(c, "n")), num(json_get_int(c, "n")),
			    json_get_double(c, "load_s"),
			    json_get_int(c, "enforces") == 1
				? "enforcing (an exec outside the allowlist is killed)"
				: "NOT enforcing",
			    sizes[0] ? sizes : "(none)", json_get_int(c, "kmem_total") / 1e6,
			    json_get_int(c, "kmem_empty") / 1e6);
		} else
			target_add(arr, "scale",
				   "100,000 bindings load and enforce on this machine", -1, 0, "%s",
				   NOT_RUN);
	}
	report_api_targets(res, arr);
	report_learn_targets(res, arr);
	report_net_targets(res, arr);
	json_object_object_add(res, "targets", arr);
}

/* 6. the agent on the Kubernetes API at scale (api_scale.c): issue 13's acceptance */
#define TXT_API_READY                                                                              \
	"10,000 PolicyBindings and 250 local pods listed at start: ready (bindings in the "        \
	"kernel) "                                                                                 \
	"within 2 s of the list completing"
#define TXT_API_CHANGE "One binding change applied within 100 ms of its watch event, 10,000 loaded"

static void report_api_targets(struct json_object *res, struct json_object *arr)
{
	struct json_object *a = jget(res, "api_scale");
	/* only the shape is judged; a quick run's smaller one is shown, not judged */
	int judged = a && !json_get_int(a, "quick") && json_get_int(a, "bindings") >= 10000 &&
			     json_get_int(a, "pods") >= 250
			 ? 1
			 : -1;
	double ready = json_get_double(a, "ready_max_s"), ch = json_get_double(a, "change_max_ms");

	if (!a || !jget(a, "ready_max_s")) {
		target_add(arr, "api_ready", TXT_API_READY, -1, 0, "%s", NOT_RUN);
		target_add(arr, "api_change", TXT_API_CHANGE, -1, 0, "%s", NOT_RUN);
		return;
	}
	target_add(arr, "api_ready", TXT_API_READY, judged < 0 ? -1 : ready < 2.0, ready / 2.0,
		   "%sslowest of %zu starts: %.3f s after the list (fastest %.3f s); %s bindings "
		   "on %s pods",
		   judged < 0 ? "quick run, not the issue's shape: " : "", jlen(jget(a, "starts")),
		   ready, json_get_double(a, "ready_min_s"), num(json_get_int(a, "bindings")),
		   num(json_get_int(a, "pods")));
	target_add(arr, "api_change", TXT_API_CHANGE, judged < 0 ? -1 : ch < 100.0, ch / 100.0,
		   "%sslowest of %zu changes: %.1f ms (median %.1f ms), the kernel observed by "
		   "execs in the pod (one every %.1f ms at most)",
		   judged < 0 ? "quick run, not the issue's shape: " : "",
		   jlen(jget(a, "changes_ms")), ch, json_get_double(a, "change_median_ms"),
		   json_get_double(a, "observe_step_max_ms"));
}

/* 7. learning (learn.c): its cost next to enforcement, its records at scale */
#define TXT_LEARN_LAT                                                                              \
	"Exec latency in a learning pod within 2% of no podfence (median of paired runs), "        \
	"alone and under an allowlist"
#define TXT_LEARN_STORM                                                                            \
	"Fork storm of 100,000 execs of one binary in a learning pod: one record counting every "  \
	"exec, the agent's CPU flat: the same as during the same storm in a pod not learning "     \
	"(under 50 ms, or a quarter of that, added)"
#define TXT_LEARN_MANY "10,000 distinct binaries of one workload: every one in its proposal"
#define TXT_LEARN_WLS                                                                              \
	"1,000 workloads learning at once, 3 binaries each: every proposal with exactly its 3"
#define QUICK_SIZE "smaller than the target's size (not judged): "

static struct json_object *learn_case(struct json_object *lat, const char *id)
{
	struct json_object *cases = jget(lat, "cases");

	for (size_t i = 0; i < jlen(cases); i++)
		if (jstr_is(jidx(cases, i), "case", id))
			return jidx(cases, i);
	return NULL;
}

static void learn_target_latency(struct json_object *l, struct json_object *arr)
{
	struct json_object *lat = jget(l, "latency"), *learn = learn_case(lat, "learning");
	struct json_object *both = learn_case(lat, "learning+allowlist");
	struct json_object *allow = learn_case(lat, "allowlist");
	double rl = json_get_double(learn, "ratio_median"),
	       rb = json_get_double(both, "ratio_median");
	double worst = rl > rb ? rl : rb;

	if (!learn || !both || !allow) {
		target_add(arr, "learn_latency", TXT_LEARN_LAT, -1, 0, "%s", NOT_RUN);
		return;
	}
	target_add(arr, "learn_latency", TXT_LEARN_LAT, worst <= 1.02, (worst - 1) / 0.02,
		   "paired median ratios: learning %.4f, learning + allowlist %.4f, allowlist "
		   "alone %.4f; BPF per exec: %.0f / %.0f / %.0f ns",
		   rl, rb, json_get_double(allow, "ratio_median"),
		   json_get_double(learn, "bpf_ns_per_exec"),
		   json_get_double(both, "bpf_ns_per_exec"),
		   json_get_double(allow, "bpf_ns_per_exec"));
}

static void learn_target_storm(struct json_object *l, struct json_object *arr)
{
	struct json_object *s = jget(l, "storm");
	long long n = json_get_int(s, "execs");
	double added = json_get_double(s, "agent_cpu_added_ms");
	double expected = json_get_double(s, "agent_cpu_expected_ms");
	/* the scheduler's figure (ns) is exact; ticks (10 ms) are coarse */
	double added_ns = json_get_double(s, "agent_sched_added_ms");
	double budget = expected / 4 > 50 ? expected / 4 : 50;
	int judged = json_get_int(l, "quick") || n < 100000 ? -1 : 1;
	bool one = json_get_int(s, "binary_records") == 1 && json_get_int(s, "binary_execs") == n;

	if (!jget(s, "storm_s")) {
		target_add(arr, "learn_storm", TXT_LEARN_STORM, -1, 0, "%s", NOT_RUN);
		return;
	}
	target_add(arr, "learn_storm", TXT_LEARN_STORM,
		   judged < 0				 ? -1
		   : one && added_ns<budget, added_ns> 0 ? added_ns / budget
							 : 0,
		   "%s%lld record(s) of the binary counting %s execs of %s; agent CPU %.0f ms "
		   "during the %.1f s storm against %.0f ms expected from the same storm in a pod "
		   "not learning: %+.0f ms added (scheduler: %+.1f ms; budget %.0f ms); "
		   "%.0f execs/s",
		   judged < 0 ? QUICK_SIZE : "", json_get_int(s, "binary_records"),
		   num(json_get_int(s, "binary_execs")), num(n),
		   json_get_double(s, "agent_cpu_storm_ms"), json_get_double(s, "storm_s"),
		   expected, added, added_ns, budget, json_get_double(s, "execs_per_s"));
}

static void learn_target_many(struct json_object *l, struct json_object *arr)
{
	struct json_object *m = jget(l, "many");
	long long n = json_get_int(m, "binaries"), added = json_get_int(m, "learned_entries_added");
	int judged = json_get_int(l, "quick") || n < 10000 ? -1 : 1;

	if (!jget(m, "listed")) {
		target_add(arr, "learn_many", TXT_LEARN_MANY, -1, 0, "%s", NOT_RUN);
		return;
	}
	target_add(arr, "learn_many", TXT_LEARN_MANY,
		   judged < 0 ? -1 : json_get_int(m, "listed") == n, 0,
		   "%s%s of %s listed; map `learned` %s entries, %s bytes (%.0f bytes per record); "
		   "the agent %s bytes for the workload (%.0f per record)",
		   judged < 0 ? QUICK_SIZE : "", num(json_get_int(m, "listed")), num(n),
		   num(json_get_int(m, "learned_entries")), num(json_get_int(m, "learned_memlock")),
		   added ? (double)json_get_int(m, "learned_memlock_added") / added : 0,
		   num(json_get_int(m, "workload_bytes")),
		   json_get_int(m, "workload_records") ? (double)json_get_int(m, "workload_bytes") /
							     json_get_int(m, "workload_records")
						       : 0);
}

static void learn_target_workloads(struct json_object *l, struct json_object *arr)
{
	struct json_object *w = jget(l, "workloads");
	long long n = json_get_int(w, "workloads");
	int judged = json_get_int(l, "quick") || n < 1000 ? -1 : 1;

	if (!jget(w, "exact")) {
		target_add(arr, "learn_workloads", TXT_LEARN_WLS, -1, 0, "%s", NOT_RUN);
		return;
	}
	target_add(arr, "learn_workloads", TXT_LEARN_WLS,
		   judged < 0 ? -1 : json_get_int(w, "exact") == n, 0,
		   "%s%s of %s exact; per workload %.0f bytes in the agent, %.0f bytes in the "
		   "kernel; `podfence learn show` (all %s) in %.2f s",
		   judged < 0 ? QUICK_SIZE : "", num(json_get_int(w, "exact")), num(n),
		   json_get_double(w, "user_bytes_per_workload"),
		   json_get_double(w, "kernel_bytes_per_workload"),
		   num(json_get_int(w, "proposals")), json_get_double(w, "show_s"));
}

static void report_learn_targets(struct json_object *res, struct json_object *arr)
{
	struct json_object *l = jget(res, "learn");

	learn_target_latency(l, arr);
	learn_target_storm(l, arr);
	learn_target_many(l, arr);
	learn_target_workloads(l, arr);
}

/* ---- stdout ---- */

static void text_latency(struct json_object *res, FILE *out)
{
	struct json_object *lat = jget(res, "latency");

	fprintf(out, "\nExec latency: posix_spawn + wait of a static no-op in a pod cgroup (us)\n");
	fprintf(
	    out,
	    "ratio: median over pairs of (batch median / adjacent no-podfence batch median)\n\n");
	fprintf(out, "%-44s %7s %6s %9s %9s %8s %8s %10s\n", "configuration", "N", "bound",
		"median", "p99", "ratio", "p99 rat", "BPF ns");
	for (size_t i = 0; i < jlen(lat); i++) {
		struct json_object *c = jidx(lat, i);
		bool none = jstr_is(c, "impl", "none");

		fprintf(out, "%-44s %7lld %6s %9.1f %9.1f", json_get_str(c, "name"),
			json_get_int(c, "n"),
			none				? "-"
			: json_get_int(c, "bound") == 0 ? "none"
			: json_get_int(c, "bound") == 1 ? "1"
							: "8",
			json_get_double(c, "median_us"), json_get_double(c, "p99_us"));
		if (none)
			fprintf(out, "\n");
		else
			fprintf(out, " %8.4f %8.3f %10.0f\n", json_get_double(c, "ratio_median"),
				json_get_double(c, "ratio_p99"),
				json_get_double(c, "bpf_ns_per_exec"));
	}
}

static void text_memory(struct json_object *res, FILE *out)
{
	struct json_object *mem = jget(res, "memory"), *pb = jget(mem, "per_binding");
	struct json_object *cfgs = jget(res, "configs"), *bls = jget(res, "baseline_sets");

	fprintf(out, "\nKernel memory (memlock of every map and program)\n\n");
	fprintf(
	    out, "fixed overhead, default sizes: %lld bytes (per-CPU part %lld bytes, %lld CPUs)\n",
	    json_get_int(jget(mem, "fixed"), "total"), json_get_int(jget(mem, "fixed"), "percpu"),
	    json_get_int(jget(mem, "fixed"), "cpus_possible"));
	for (size_t i = 0; i < jlen(pb); i++) {
		struct json_object *x = jidx(pb, i);

		fprintf(out, "%s, %lld paths: %.0f bytes per added binding (per-CPU: %.0f)\n",
			json_get_str(x, "shape"), json_get_int(x, "paths"),
			json_get_double(x, "bytes_per_binding"),
			json_get_double(x, "percpu_bytes_per_binding"));
	}
	if (jlen(cfgs))
		fprintf(out, "\n%-36s %8s %12s %12s %10s %8s\n", "configuration", "N", "total",
			"data", "per-CPU", "load s");
	for (size_t i = 0; i < jlen(cfgs); i++) {
		struct json_object *c = jidx(cfgs, i);

		fprintf(out, "%-36s %8lld %12lld %12lld %10lld %8.1f\n", json_get_str(c, "name"),
			json_get_int(c, "n"), json_get_int(c, "kmem_total"),
			json_get_int(c, "kmem_total") - json_get_int(c, "kmem_empty"),
			json_get_int(c, "kmem_percpu"), json_get_double(c, "load_s"));
	}
	for (size_t i = 0; i < jlen(bls); i++) {
		struct json_object *c = jidx(bls, i);

		fprintf(out, "baseline, %4lld programs %17s %12lld %12s %10lld\n",
			json_get_int(c, "n"), "", json_get_int(c, "kmem_total"), "-",
			json_get_int(c, "kmem_percpu"));
	}
}

static void text_control(struct json_object *res, FILE *out)
{
	struct json_object *ctl = jget(res, "control"), *ag = jget(res, "agent");
	struct json_object *ceil = jget(res, "ceiling");

	if (jlen(ctl))
		fprintf(out,
			"\nControl plane (from files: parse + validate, engine, kernel sync)\n\n"
			"%-9s %-7s %7s %9s %8s %8s %8s %10s %10s %9s\n",
			"shape", "pods", "N", "load s", "parse", "engine", "sync", "change ms",
			"p99 ms", "pods/s");
	for (size_t i = 0; i < jlen(ctl); i++) {
		struct json_object *c = jidx(ctl, i);

		fprintf(out, "%-9s %-7s %7lld %9.3f %8.3f %8.3f %8.3f %10.3f %10.3f",
			json_get_str(c, "shape"), json_get_str(c, "placement"),
			json_get_int(c, "n"), json_get_double(c, "load_median_s"),
			json_get_double(c, "parse_s"), json_get_double(c, "engine_s"),
			json_get_double(c, "sync_s"), json_get_double(c, "change_median_ms"),
			json_get_double(c, "change_p99_ms"));
		if (jget(c, "pods_per_s"))
			fprintf(out, " %9.0f\n", json_get_double(c, "pods_per_s"));
		else
			fprintf(out, " %9s\n", "-");
	}
	if (jlen(ag))
		fprintf(out,
			"\nAgent (real process, pods on this node)\n\n%-9s %7s %9s %10s %10s %12s "
			"%9s %9s\n",
			"shape", "N", "ready s", "RSS KiB", "peak KiB", "kernel B", "mkdir ns",
			"rmdir ns");
	for (size_t i = 0; i < jlen(ag); i++) {
		struct json_object *c = jidx(ag, i);

		fprintf(out, "%-9s %7lld %9.2f %10lld %10lld %12lld %9.0f %9.0f\n",
			json_get_str(c, "shape"), json_get_int(c, "n"),
			json_get_double(c, "ready_s"), json_get_int(c, "rss_kib"),
			json_get_int(c, "hwm_kib"), json_get_int(c, "kernel_memory_bytes"),
			json_get_double(c, "cgroup_mkdir_ns"),
			json_get_double(c, "cgroup_rmdir_ns"));
	}
	for (size_t i = 0; i < jlen(ceil); i++) {
		struct json_object *c = jidx(ceil, i);

		fprintf(out,
			"\nCeiling (%s values, default sizes%s): %lld bindings loaded of %lld "
			"tried\n  %s\n",
			json_get_str(c, "values"), json_get_int(c, "scale") > 1 ? " / scale" : "",
			json_get_int(c, "loaded"), json_get_int(c, "tried"),
			json_get_str(c, "first_error") && *json_get_str(c, "first_error")
			    ? json_get_str(c, "first_error")
			    : "(no error up to the limit of the search)");
	}
}

static void text_learn(struct json_object *res, FILE *out)
{
	struct json_object *l = jget(res, "learn"), *cases = jget(jget(l, "latency"), "cases");
	struct json_object *s = jget(l, "storm"), *m = jget(l, "many"), *w = jget(l, "workloads");

	if (!l)
		return;
	fprintf(out,
		"\nLearning: exec latency (us), paired ratio to no podfence\n\n%-20s %9s %9s "
		"%8s %10s\n",
		"case", "median", "p99", "ratio", "BPF ns");
	for (size_t i = 0; i < jlen(cases); i++) {
		struct json_object *c = jidx(cases, i);

		fprintf(out, "%-20s %9.1f %9.1f", json_get_str(c, "case"),
			json_get_double(c, "median_us"), json_get_double(c, "p99_us"));
		if (jget(c, "ratio_median"))
			fprintf(out, " %8.4f %10.0f\n", json_get_double(c, "ratio_median"),
				json_get_double(c, "bpf_ns_per_exec"));
		else
			fprintf(out, "\n");
	}
	if (jget(s, "storm_s"))
		fprintf(
		    out,
		    "\nLearning: storm of %lld execs in %.1f s (%.0f/s, %lld loops): %lld "
		    "record(s) of the binary, %lld execs counted; agent CPU %.0f ms (storm) vs "
		    "%.0f ms expected (same storm, pod not learning), added %.0f ms (scheduler: "
		    "%.1f ms)\n",
		    json_get_int(s, "execs"), json_get_double(s, "storm_s"),
		    json_get_double(s, "execs_per_s"), json_get_int(s, "loops"),
		    json_get_int(s, "binary_records"), json_get_int(s, "binary_execs"),
		    json_get_double(s, "agent_cpu_storm_ms"),
		    json_get_double(s, "agent_cpu_expected_ms"),
		    json_get_double(s, "agent_cpu_added_ms"),
		    json_get_double(s, "agent_sched_added_ms"));
	if (jget(m, "listed"))
		fprintf(out,
			"Learning: %lld distinct binaries, %lld in the proposal; learned map +%lld "
			"entries +%lld bytes; agent %lld bytes for %lld records\n",
			json_get_int(m, "binaries"), json_get_int(m, "listed"),
			json_get_int(m, "learned_entries_added"),
			json_get_int(m, "learned_memlock_added"), json_get_int(m, "workload_bytes"),
			json_get_int(m, "workload_records"));
	if (jget(w, "exact"))
		fprintf(out,
			"Learning: %lld workloads, %lld exact proposals; per workload %.0f bytes "
			"(agent), %.0f bytes (kernel); learn show %.2f s\n",
			json_get_int(w, "workloads"), json_get_int(w, "exact"),
			json_get_double(w, "user_bytes_per_workload"),
			json_get_double(w, "kernel_bytes_per_workload"),
			json_get_double(w, "show_s"));
}

/* 8. egress (net.c): connect and UDP send cost at N bindings, memory per binding */
#define TXT_NET_LAT                                                                                \
	"Connect and UDP send latency with 100,000 egress bindings loaded within 2% of no "        \
	"podfence (median of paired runs)"
#define TXT_NET_BPF "BPF run time per connect under 500 ns (net_connect4), at any N"
#define TXT_NET_MEM                                                                                \
	"At most 2 KB (2,048 bytes) of kernel memory per egress binding with 10 CIDRs and a port " \
	"set"

static struct json_object *net_pf_at(struct json_object *net, long long n)
{
	struct json_object *arr = jget(net, "podfence"), *best = NULL;

	for (size_t i = 0; i < jlen(arr); i++) {
		struct json_object *c = jidx(arr, i);

		if (!jget(c, "connect"))
			continue;
		if (n >= 0 ? json_get_int(c, "n") == n
			   : !best || json_get_int(c, "n") > json_get_int(best, "n"))
			best = c;
	}
	return best;
}

static void report_net_targets(struct json_object *res, struct json_object *arr)
{
	struct json_object *net = jget(res, "net"), *pf = jget(net, "podfence");
	struct json_object *top = net_pf_at(net, 100000), *big = net_pf_at(net, -1), *mem;
	bool quick = json_get_int(net, "quick");
	double worst_bpf = -1, rc, rs, worst, ml, sl, hi;
	long long worst_n = 0;

	if (!big) {
		target_add(arr, "net_latency", TXT_NET_LAT, -1, 0, "%s", NOT_RUN);
		target_add(arr, "net_bpf", TXT_NET_BPF, -1, 0, "%s", NOT_RUN);
		target_add(arr, "net_mem", TXT_NET_MEM, -1, 0, "%s", NOT_RUN);
		return;
	}
	/* judged at 100,000 only; a smaller run shows its largest N, not judged */
	if (!top)
		top = big;
	rc = json_get_double(jget(top, "connect"), "ratio_median");
	rs = json_get_double(jget(top, "send"), "ratio_median");
	worst = rc > rs ? rc : rs;
	target_add(arr, "net_latency", TXT_NET_LAT,
		   json_get_int(top, "n") == 100000 ? worst <= 1.02 : -1, (worst - 1) / 0.02,
		   "%s%s bindings: connect %.4f (%.0f ns vs %.0f ns), UDP send %.4f (%.0f ns vs "
		   "%.0f ns)",
		   json_get_int(top, "n") == 100000 ? "" : "not the target's size: ",
		   num(json_get_int(top, "n")), rc,
		   json_get_double(jget(top, "connect"), "median_ns"),
		   json_get_double(jget(top, "connect"), "none_median_ns"), rs,
		   json_get_double(jget(top, "send"), "median_ns"),
		   json_get_double(jget(top, "send"), "none_median_ns"));
	for (size_t i = 0; i < jlen(pf); i++) {
		struct json_object *c = jidx(pf, i);

		if (jget(c, "bpf_ns_per_connect") &&
		    json_get_double(c, "bpf_ns_per_connect") > worst_bpf) {
			worst_bpf = json_get_double(c, "bpf_ns_per_connect");
			worst_n = json_get_int(c, "n");
		}
	}
	if (worst_bpf < 0)
		target_add(arr, "net_bpf", TXT_NET_BPF, -1, 0, "%s", "no BPF run-time stats");
	else
		target_add(arr, "net_bpf", TXT_NET_BPF, quick ? -1 : worst_bpf < 500,
			   worst_bpf / 500, "%shighest %.0f ns per connect (at %s bindings)",
			   quick ? "quick run, not judged: " : "", worst_bpf, num(worst_n));
	mem = net_pf_at(net, 10000);
	if (!mem)
		mem = big;
	/*
	 * Judged on the larger of the maps' own accounting (memlock, as section 3) and the
	 * slab caches' growth over the same writes (allocator rounding).
	 */
	ml = json_get_double(mem, "bytes_per_binding");
	sl = jget(mem, "slab_bytes_per_binding") ? json_get_double(mem, "slab_bytes_per_binding")
						 : 0;
	hi = ml > sl ? ml : sl;
	target_add(arr, "net_mem", TXT_NET_MEM,
		   quick || json_get_int(mem, "n") < 10000 ? -1 : hi <= 2048, hi / 2048,
		   "%s%.0f bytes per binding by the maps' memlock (cg_workload, wl_rules_s, "
		   "wl_net, net_values), %.0f bytes by the slab caches' growth, over "
		   "%s bindings; judged on the larger",
		   quick ? "quick run, not judged: " : "", ml, sl, num(json_get_int(mem, "n")));
}

static void text_net_row(FILE *out, const char *impl, struct json_object *c, long long n)
{
	struct json_object *cn = jget(c, "connect"), *sd = jget(c, "send");

	if (!cn || !sd)
		return;
	fprintf(out, "%-10s %8lld %9.0f %9.0f %8.4f %9.0f %9.0f %8.4f %8.0f %8.0f\n", impl, n,
		json_get_double(cn, "none_median_ns"), json_get_double(cn, "median_ns"),
		json_get_double(cn, "ratio_median"), json_get_double(sd, "none_median_ns"),
		json_get_double(sd, "median_ns"), json_get_double(sd, "ratio_median"),
		json_get_double(c, "bpf_ns_per_connect"), json_get_double(c, "bpf_ns_per_send"));
}

static void text_net(struct json_object *res, FILE *out)
{
	struct json_object *net = jget(res, "net"), *pf = jget(net, "podfence"),
			   *bl = jget(net, "baseline");

	if (!net)
		return;
	fprintf(out,
		"\nEgress: connect (ECONNREFUSED, loopback) and UDP sendto latency (ns), paired "
		"ratio to no podfence\n\n%-10s %8s %9s %9s %8s %9s %9s %8s %8s %8s\n",
		"impl", "N", "conn none", "conn", "ratio", "send none", "send", "ratio", "BPF conn",
		"BPF send");
	for (size_t i = 0; i < jlen(pf); i++)
		text_net_row(out, "podfence", jidx(pf, i), json_get_int(jidx(pf, i), "n"));
	if (jget(net, "podfence_set"))
		text_net_row(out, "pf-set", jget(net, "podfence_set"),
			     json_get_int(jget(net, "podfence_set"), "n"));
	for (size_t i = 0; i < jlen(bl); i++)
		text_net_row(out, "baseline", jidx(bl, i), json_get_int(jidx(bl, i), "k"));
	if (jget(net, "floor"))
		text_net_row(out, "empty", jget(net, "floor"), 1);
	for (size_t i = 0; i < jlen(pf); i++)
		if (jget(jidx(pf, i), "bytes_per_binding"))
			fprintf(out,
				"Egress: %s bindings: %.0f bytes of kernel memory per binding "
				"(memlock), slab growth %.0f bytes per binding\n",
				num(json_get_int(jidx(pf, i), "n")),
				json_get_double(jidx(pf, i), "bytes_per_binding"),
				json_get_double(jidx(pf, i), "slab_bytes_per_binding"));
}

void report_text(struct json_object *res, FILE *out)
{
	struct json_object *t = jget(res, "targets");

	text_latency(res, out);
	text_memory(res, out);
	text_control(res, out);
	report_api_text(res, out);
	text_learn(res, out);
	text_net(res, out);
	fprintf(out, "\nTargets\n\n");
	for (size_t i = 0; i < jlen(t); i++)
		fprintf(out, "[%-12s] %s: %s\n", json_get_str(jidx(t, i), "status"),
			json_get_str(jidx(t, i), "text"), json_get_str(jidx(t, i), "value"));
	fprintf(out, "\nduration: %.0f s\n", json_get_double(res, "duration_s"));
}

/* ---- plot ---- */

/* One data block per series: "title" line, then N median p99. */
static void plot_series(FILE *f, struct json_object *res, const char *title, const char *impl,
			const char *shape, const char *place)
{
	struct json_object *lat = jget(res, "latency");

	fprintf(f, "\"%s\" \"median\" \"p99\" \"overhead\"\n", title);
	for (size_t i = 0; i < jlen(lat); i++) {
		struct json_object *c = jidx(lat, i);

		if (!jstr_is(c, "impl", impl) || json_get_int(c, "bound") != 1 ||
		    (shape && !jstr_is(c, "shape", shape)) ||
		    (place && !jstr_is(c, "placement", place)))
			continue;
		fprintf(f, "%lld %.2f %.2f %.3f\n", json_get_int(c, "n"),
			json_get_double(c, "median_us"), json_get_double(c, "p99_us"),
			100 * (json_get_double(c, "ratio_median") - 1));
	}
	fprintf(f, "\n\n");
}

int report_plot(struct json_object *res, const char *script, const char *png)
{
	struct json_object *none = lat_find(res, "none", NULL, NULL, -1, -1);
	char data[PATH_MAX], datavar[PATH_MAX + 32], outvar[PATH_MAX + 32], nonevar[64];
	char *argv[] = {"gnuplot", "-e",    datavar,	    "-e", outvar,
			"-e",	   nonevar, (char *)script, NULL};
	int st, err;
	pid_t pid;
	FILE *f;

	if (!none)
		return 0; /* latency not measured: nothing to plot */
	snprintf(data, sizeof(data), "%s.dat", png);
	f = fopen(data, "we");
	if (!f)
		return -errno;
	plot_series(f, res, "podfence, N bindings, pods on this node", "podfence", "template",
		    "local");
	plot_series(f, res, "podfence, N policies, pods on this node", "podfence", "plain",
		    "local");
	plot_series(f, res, "podfence, N bindings, pods on other nodes", "podfence", "template",
		    "remote");
	plot_series(f, res, "podfence, N policies, pods on other nodes", "podfence", "plain",
		    "remote");
	plot_series(f, res, "one program per policy (baseline)", "baseline", NULL, NULL);
	fclose(f);
	snprintf(datavar, sizeof(datavar), "datafile='%s'", data);
	snprintf(outvar, sizeof(outvar), "outfile='%s'", png);
	snprintf(nonevar, sizeof(nonevar), "none=%.2f", json_get_double(none, "median_us"));
	err = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (err) {
		fprintf(stderr, "Error: gnuplot: %s (Debian package gnuplot-nox)\n", strerror(err));
		return -err;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "Error: gnuplot %s failed\n", script);
		return -EIO;
	}
	unlink(data);
	return 0;
}
