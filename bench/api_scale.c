// SPDX-License-Identifier: Apache-2.0
/*
 * The agent fed by the Kubernetes API at scale (issue 13's acceptance):
 * the fake API server of the tests (tests/lib/fake-apiserver.py) holds 250
 * pods of this node (kubelet-layout cgroups of the run's node), one
 * PolicyTemplate and 10,000 PolicyBindings (40 per pod, each with values of
 * its own); the real agent starts on it (--kubeconfig).
 *
 *  - ready after the list: from the moment the server wrote the last page of
 *    the last of the agent's first lists (its own clock, GET /_test/stats) to
 *    /readyz answering 200 (every resource's first list applied to the
 *    kernel), polled every 2 ms. Repeated on a fresh agent (state unpinned).
 *  - one binding change: a binding of pod w<i> rewritten to also allow the
 *    denied binary (then rewritten back); from the moment the server wrote
 *    its watch event (GET /_test/sent/<rv>) to the first exec in the pod's
 *    cgroup that the kernel lets run (then kills again): the kernel's own
 *    answer, observed by execs back to back (about 3 ms each).
 *
 * Times on both sides are CLOCK_REALTIME of this machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>
#include "bench.h"
#include "podfence/control.h"

extern char **environ;

#define API_NODE       "n1"
#define FAKE_APISERVER "tests/lib/fake-apiserver.py"

struct api_shape {
	int pods, per_pod, reps, changes;
};

struct api_run {
	struct bench *b;
	struct api_shape sh;
	char dir[PATH_MAX];
	char url[64];
	char metrics[64];
	pid_t server;
	int lists_before; /* complete lists the server served before this start */
};

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	return sbuf_printf(ctx, "%.*s", (int)(size * n), p) ? 0 : size * n;
}

/* GET (body NULL) or POST; the HTTP status, or -errno. reply may be NULL. */
static long http(const char *url, const struct sbuf *body, struct sbuf *reply)
{
	struct sbuf sink = {};
	CURL *c = curl_easy_init();
	long code = -EIO;

	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply ? reply : &sink);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->s);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	sbuf_free(&sink);
	return code;
}

/* GET a JSON document of the fake server's test controls. */
static struct json_object *api_get(struct api_run *r, const char *path)
{
	struct sbuf reply = {};
	struct json_object *o = NULL;
	char url[256];

	snprintf(url, sizeof(url), "%s%s", r->url, path);
	if (http(url, NULL, &reply) == 200 && reply.s)
		o = json_tokener_parse(reply.s);
	sbuf_free(&reply);
	return o;
}

/* POST /_test/put/<resource> of one object or an array; the server's rv after it, or -errno. */
static long long api_put(struct api_run *r, const char *res, const struct sbuf *body)
{
	struct sbuf reply = {};
	struct json_object *o = NULL;
	long long rv = -EIO;
	char url[256];

	snprintf(url, sizeof(url), "%s/_test/put/%s", r->url, res);
	if (http(url, body, &reply) == 200 && reply.s && (o = json_tokener_parse(reply.s)))
		rv = json_get_int(o, "rv");
	json_object_put(o);
	sbuf_free(&reply);
	if (rv < 0)
		fprintf(stderr, "Error: fake API server: put %s failed\n", res);
	return rv;
}

/* The same ids as node.c's pods w<i> (kubelet cgroupfs layout, containerd ids). */
static int gen_pod_json(struct sbuf *out, int i)
{
	return sbuf_printf(
	    out,
	    "{\"metadata\":{\"name\":\"w%d\",\"namespace\":\"" BENCH_NS "\","
	    "\"uid\":\"%08x-0000-4000-8000-%012x\",\"labels\":{\"app\":\"w%d\"}},"
	    "\"spec\":{\"nodeName\":\"" API_NODE "\",\"containers\":[{\"name\":\"main\","
	    "\"image\":\"example/main\"}]},\"status\":{\"qosClass\":\"Burstable\","
	    "\"containerStatuses\":[{\"name\":\"main\",\"containerID\":\"containerd://%064x\"}]}}",
	    i, i, i, i, i);
}

/* Binding j of pod w<i>: the measured binary, 9 paths of its own, and the denied one when open. */
static int gen_binding_json(struct sbuf *out, const struct bench *b, int i, int j, bool open)
{
	int err = sbuf_printf(
	    out,
	    "{\"apiVersion\":\"podfence.io/v1alpha1\",\"kind\":\"PolicyBinding\","
	    "\"metadata\":{\"name\":\"w%d-%d\",\"namespace\":\"" BENCH_NS "\"},"
	    "\"spec\":{\"templateRef\":\"exec-allowlist\",\"podSelector\":{\"matchLabels\":"
	    "{\"app\":\"w%d\"}},\"values\":{\"allowedExecs\":[\"%s\"",
	    i, j, i, b->true_bin);

	for (int k = 1; k < 10 && !err; k++)
		err = sbuf_printf(out, ",\"/opt/w%d/b%d/tool-%d\"", i, j, k);
	if (!err && open)
		err = sbuf_printf(out, ",\"%s\"", b->denied_bin);
	return err ?: sbuf_printf(out, "]}}}");
}

static int load_objects(struct api_run *r)
{
	struct sbuf doc = {};
	int err;

	err = sbuf_printf(
	    &doc, "{\"apiVersion\":\"podfence.io/v1alpha1\",\"kind\":\"PolicyTemplate\","
		  "\"metadata\":{\"name\":\"exec-allowlist\"},\"spec\":{\"parameters\":[{\"name\":"
		  "\"allowedExecs\"}],\"lsmhooks\":[{\"hook\":\"bprm_check_security\",\"args\":"
		  "[{\"index\":0,\"type\":\"linux_binprm\"}],\"selectors\":[{\"matchArgs\":"
		  "[{\"index\":0,\"operator\":\"NotEqual\",\"valuesFrom\":\"allowedExecs\"}],"
		  "\"matchActions\":[{\"action\":\"Override\",\"argError\":-1}]}]}]}}");
	if (!err && api_put(r, "policytemplates", &doc) < 0)
		err = -EIO;
	doc.len = 0;
	if (!err)
		err = sbuf_printf(&doc, "[");
	for (int i = 1; i <= r->sh.pods && !err; i++)
		err = (i > 1 ? sbuf_printf(&doc, ",") : 0) ?: gen_pod_json(&doc, i);
	if (!err)
		err = sbuf_printf(&doc, "]");
	if (!err && api_put(r, "pods", &doc) < 0)
		err = -EIO;
	doc.len = 0;
	if (!err)
		err = sbuf_printf(&doc, "[");
	for (int i = 1; i <= r->sh.pods && !err; i++)
		for (int j = 1; j <= r->sh.per_pod && !err; j++)
			err = (i + j > 2 ? sbuf_printf(&doc, ",") : 0)
				  ?: gen_binding_json(&doc, r->b, i, j, false);
	if (!err)
		err = sbuf_printf(&doc, "]");
	if (!err && api_put(r, "policybindings", &doc) < 0)
		err = -EIO;
	sbuf_free(&doc);
	return err;
}

static int server_start(struct api_run *r)
{
	char port_file[PATH_MAX + 16], log[PATH_MAX + 16], buf[32] = "";
	char *argv[] = {"/usr/bin/python3", FAKE_APISERVER, port_file, NULL};
	posix_spawn_file_actions_t fa;
	int err;

	if (access(FAKE_APISERVER, R_OK)) {
		fprintf(stderr, "Error: %s not found (run the benchmark from the repository)\n",
			FAKE_APISERVER);
		return -ENOENT;
	}
	snprintf(port_file, sizeof(port_file), "%s/api.port", r->dir);
	snprintf(log, sizeof(log), "%s/api.log", r->dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	err = -posix_spawn(&r->server, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		r->server = 0;
		fprintf(stderr, "Error: start %s: %s\n", argv[0], strerror(-err));
		return err;
	}
	for (int i = 0; i < 100 && !buf[0]; i++) {
		FILE *f = fopen(port_file, "re");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		if (!buf[0])
			usleep(50000);
	}
	if (!buf[0]) {
		fprintf(stderr, "Error: the fake API server did not start (log: %s)\n", log);
		return -EIO;
	}
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", atoi(buf));
	return 0;
}

static void server_stop(struct api_run *r)
{
	if (r->server > 0) {
		kill(r->server, SIGTERM);
		waitpid(r->server, NULL, 0);
		r->server = 0;
	}
}

/* The agent's /metrics port, from its log line "metrics: ... (port N)". */
static int metrics_port(const char *log)
{
	char line[1024];
	int port = 0;
	FILE *f = fopen(log, "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "(port ");

		if (strstr(line, "metrics:") && p)
			port = atoi(p + 6);
	}
	if (f)
		fclose(f);
	return port;
}

static int agent_spawn(struct api_run *r, const char *log)
{
	char kc[PATH_MAX + 16], sock[PATH_MAX + 16], events[PATH_MAX + 16], state[PATH_MAX + 16];
	char *argv[] = {(char *)r->b->o.podfence,
			"agent",
			"--kubeconfig",
			kc,
			"--node-name",
			API_NODE,
			"--socket",
			sock,
			"--pin-dir",
			r->b->agent_pin,
			"--cgroup-root",
			r->b->node_cg,
			"--events",
			events,
			"--runtime-state",
			"none",
			"--state-dir",
			state,
			"--metrics-addr",
			"127.0.0.1:0",
			NULL};
	posix_spawn_file_actions_t fa;
	FILE *f;
	int err;

	snprintf(kc, sizeof(kc), "%s/kubeconfig", r->dir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", r->dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", r->dir);
	snprintf(state, sizeof(state), "%s/state", r->dir);
	f = fopen(kc, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
		"contexts: [{name: bench, context: {cluster: fake, user: agent}}]\n"
		"clusters: [{name: fake, cluster: {server: \"%s\"}}]\n"
		"users: [{name: agent, user: {token: not-checked}}]\n",
		r->url);
	fclose(f);
	unlink(log);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	err = -posix_spawn(&r->b->agent_pid, r->b->o.podfence, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		r->b->agent_pid = 0;
		fprintf(stderr, "Error: start %s: %s\n", r->b->o.podfence, strerror(-err));
	}
	return err;
}

/* The latest end of a complete list among the server's resources (its clock). */
static double last_list_end(struct api_run *r, int *lists)
{
	struct json_object *st = api_get(r, "/_test/stats"), *ends = NULL, *cnt = NULL;
	double t = 0;

	*lists = 0;
	if (st && json_object_object_get_ex(st, "list_end", &ends)) {
		json_object_object_foreach(ends, k, v)
		{
			(void)k;
			if (json_object_get_double(v) > t)
				t = json_object_get_double(v);
		}
	}
	if (st && json_object_object_get_ex(st, "lists", &cnt)) {
		json_object_object_foreach(cnt, k2, v2)
		{
			(void)k2;
			*lists += json_object_get_int(v2);
		}
	}
	json_object_put(st);
	return t;
}

/* Starts a fresh agent and times it: into o (one repetition). */
static int start_once(struct api_run *r, struct json_object *o)
{
	char log[PATH_MAX + 16], url[128], sock[PATH_MAX + 16];
	double t0 = real_s(), t_ready = 0, t_list;
	struct json_object *st = NULL, *counts = NULL, *errs = NULL;
	char *reply = NULL;
	int lists, err, polls = 0;

	snprintf(log, sizeof(log), "%s/agent.log", r->dir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", r->dir);
	err = agent_spawn(r, log);
	if (err)
		return err;
	for (;;) {
		int port = r->metrics[0] ? 1 : metrics_port(log);

		if (port && !r->metrics[0])
			snprintf(r->metrics, sizeof(r->metrics), "http://127.0.0.1:%d", port);
		if (r->metrics[0]) {
			snprintf(url, sizeof(url), "%s/readyz", r->metrics);
			polls++;
			if (http(url, NULL, NULL) == 200) {
				t_ready = real_s();
				break;
			}
		}
		if (waitpid(r->b->agent_pid, NULL, WNOHANG) == r->b->agent_pid) {
			r->b->agent_pid = 0;
			fprintf(stderr, "Error: the agent exited before it was ready (log: %s)\n",
				log);
			return -EIO;
		}
		if (bench_stop || real_s() - t0 > 120)
			return bench_stop ? -EINTR : -ETIMEDOUT;
		usleep(2000);
	}
	t_list = last_list_end(r, &lists);
	if (!pf_control_request(sock, "status", &reply))
		st = json_tokener_parse(reply);
	free(reply);
	json_object_object_get_ex(st, "counts", &counts);
	json_object_object_get_ex(st, "errors", &errs);
	if (json_get_int(counts, "bindings") != (long long)r->sh.pods * r->sh.per_pod ||
	    json_get_int(counts, "pods") != r->sh.pods || json_object_array_length(errs)) {
		fprintf(stderr,
			"Error: API agent ready with %lld bindings, %lld pods, %zu errors %s\n",
			json_get_int(counts, "bindings"), json_get_int(counts, "pods"),
			errs ? json_object_array_length(errs) : 0,
			errs && json_object_array_length(errs)
			    ? json_object_get_string(json_object_array_get_idx(errs, 0))
			    : "");
		json_object_put(st);
		return -EIO;
	}
	json_add_double(o, "start_to_ready_s", t_ready - t0);
	json_add_double(o, "list_end_to_ready_s", t_ready - t_list);
	json_add_double(o, "start_to_list_end_s", t_list - t0);
	json_add_int(o, "lists", lists - r->lists_before); /* 5: no resource listed twice */
	r->lists_before = lists;
	json_add_int(o, "readyz_polls", polls);
	json_add_int(o, "rss_kib", proc_status_kib(r->b->agent_pid, "VmRSS"));
	json_add_int(o, "workloads", json_get_int(counts, "workloads"));
	json_add_int(o, "values", json_get_int(counts, "values"));
	json_add_int(o, "kernel_memory_bytes", json_get_int(st, "kernel_memory_bytes"));
	json_object_put(st);
	fprintf(stderr,
		"bench: API agent, %d bindings on %d pods: lists done %.3f s after start, ready "
		"%.3f s after the lists\n",
		r->sh.pods * r->sh.per_pod, r->sh.pods, t_list - t0, t_ready - t_list);
	return 0;
}

/* Whether an exec of the denied binary runs in pod w<i> (1), is stopped (0), or -errno. */
static int denied_runs(struct api_run *r, int i)
{
	char cg[PATH_MAX];
	int status = 0, err;

	pod_cgroup(r->b, i, cg, sizeof(cg));
	err = spawner_check(r->b, cg, r->b->denied_bin, &status);
	if (err == -EPERM)
		return 0;
	if (err)
		return err;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* One change of binding w<i>-1 (open: allows the denied binary); its latency in ms into lat. */
static int change_once(struct api_run *r, int i, bool open, double *lat, double *step)
{
	struct sbuf doc = {};
	struct json_object *s;
	char path[64];
	long long rv;
	double t_seen = 0, t_sent = 0, t0, prev;
	int err, now, checks = 0;

	err = gen_binding_json(&doc, r->b, i, 1, open);
	rv = err ? err : api_put(r, "policybindings", &doc);
	sbuf_free(&doc);
	if (rv < 0)
		return (int)rv;
	t0 = prev = real_s();
	for (;;) {
		now = denied_runs(r, i);
		if (now < 0)
			return now;
		checks++;
		if (now == open) {
			t_seen = real_s();
			break;
		}
		prev = real_s();
		if (prev - t0 > 5 || bench_stop) {
			fprintf(stderr,
				"Error: binding change of w%d not in the kernel after 5 s\n", i);
			return bench_stop ? -EINTR : -ETIMEDOUT;
		}
	}
	snprintf(path, sizeof(path), "/_test/sent/%lld", rv);
	for (int k = 0; k < 100 && !t_sent; k++) {
		s = api_get(r, path);
		t_sent = json_get_double(s, "sent");
		json_object_put(s);
		if (!t_sent)
			usleep(10000);
	}
	if (!t_sent) {
		fprintf(stderr, "Error: the fake API server never sent the event of rv %lld\n", rv);
		return -EIO;
	}
	*lat = (t_seen - t_sent) * 1000;
	*step = (t_seen - prev) * 1000; /* the resolution: one exec */
	(void)checks;
	return 0;
}

static int api_scale_run(struct api_run *r, struct json_object *res)
{
	struct json_object *reps = json_object_new_array(), *ch = json_object_new_array();
	double lat[64], step_max = 0, sorted[64];
	int err, n = 0;

	json_add_int(res, "pods", r->sh.pods);
	json_add_int(res, "bindings_per_pod", r->sh.per_pod);
	json_add_int(res, "bindings", r->sh.pods * r->sh.per_pod);
	json_add_int(res, "values_per_binding", 10);
	json_object_object_add(res, "starts", reps);
	json_object_object_add(res, "changes_ms", ch);
	err = node_grow(r->b, r->sh.pods);
	if (!err)
		err = server_start(r);
	if (!err)
		err = load_objects(r);
	for (int k = 0; k < r->sh.reps && !err; k++) {
		struct json_object *o = json_object_new_object();

		json_object_array_add(reps, o);
		err = start_once(r, o);
		if (err)
			break;
		/* enforcing: the bound pods allow their binary, stop the other */
		if (denied_runs(r, 1) != 0 || denied_runs(r, r->sh.pods) != 0) {
			fprintf(stderr, "Error: API agent: a pod runs the denied binary\n");
			err = -EIO;
			break;
		}
		if (k + 1 < r->sh.reps) {
			agent_stop(r->b); /* and unpinned: the next one starts afresh */
			r->metrics[0] = 0;
		}
	}
	for (int k = 0; k < r->sh.changes && !err; k++) {
		int pod = 1 + (k / 2 * 37) % r->sh.pods;
		double step = 0;

		err = change_once(r, pod, k % 2 == 0, &lat[n], &step);
		if (err)
			break;
		json_object_array_add(ch, json_object_new_double(lat[n]));
		step_max = step > step_max ? step : step_max;
		n++;
	}
	if (!err && n) {
		memcpy(sorted, lat, n * sizeof(*lat));
		json_add_double(res, "change_median_ms", percentile(sorted, n, 50));
		json_add_double(res, "change_max_ms", percentile(sorted, n, 100));
		json_add_double(res, "change_min_ms", percentile(sorted, n, 0));
		json_add_double(res, "observe_step_max_ms", step_max);
		fprintf(stderr,
			"bench: API agent, one binding change: median %.1f ms, max %.1f ms (%d "
			"changes)\n",
			json_get_double(res, "change_median_ms"),
			json_get_double(res, "change_max_ms"), n);
	}
	if (!err) {
		double v[16];
		int m = 0;

		for (size_t k = 0; k < json_object_array_length(reps) && m < 16; k++)
			v[m++] = json_get_double(json_object_array_get_idx(reps, k),
						 "list_end_to_ready_s");
		json_add_double(res, "ready_max_s", percentile(v, m, 100));
		json_add_double(res, "ready_min_s", percentile(v, m, 0));
		json_add_double(res, "ready_median_s", percentile(v, m, 50));
	}
	return err;
}

int phase_api(struct bench *b)
{
	struct api_run r = {.b = b};
	struct json_object *res = json_object_new_object();
	int err;

	r.sh = b->o.quick
		   ? (struct api_shape){.pods = 50, .per_pod = 20, .reps = 1, .changes = 4}
		   : (struct api_shape){.pods = 250, .per_pod = 40, .reps = 3, .changes = 20};
	json_object_object_add(b->res, "api_scale", res);
	json_add_int(res, "quick", b->o.quick);
	{
		char date[64];
		time_t t = time(NULL);

		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
		json_add_str(res, "measured_at", date);
	}
	snprintf(b->agent_pin, sizeof(b->agent_pin), "/sys/fs/bpf/pf-bench-%d-agent", getpid());
	snprintf(r.dir, sizeof(r.dir), "%s/api", b->tmp);
	err = mkdir_p(r.dir);
	if (!err)
		err = api_scale_run(&r, res);
	agent_stop(b);
	server_stop(&r);
	if (err) {
		char log[PATH_MAX + 16];

		snprintf(log, sizeof(log), "%s/agent.log", r.dir);
		fprintf(stderr, "bench: API phase failed; agent log %s kept until the run ends\n",
			log);
	}
	return err;
}

void report_api_text(struct json_object *res, FILE *out)
{
	struct json_object *a = NULL, *starts = NULL;

	if (!json_object_object_get_ex(res, "api_scale", &a) ||
	    !json_object_object_get_ex(a, "starts", &starts))
		return;
	fprintf(out, "\nAgent on the Kubernetes API (fake server): %lld bindings on %lld pods\n\n",
		json_get_int(a, "bindings"), json_get_int(a, "pods"));
	fprintf(out, "%-6s %14s %16s %14s %10s\n", "start", "list done s", "ready after s",
		"total s", "RSS KiB");
	for (size_t i = 0; i < json_object_array_length(starts); i++) {
		struct json_object *o = json_object_array_get_idx(starts, i);

		fprintf(out, "%-6zu %14.3f %16.3f %14.3f %10lld\n", i + 1,
			json_get_double(o, "start_to_list_end_s"),
			json_get_double(o, "list_end_to_ready_s"),
			json_get_double(o, "start_to_ready_s"), json_get_int(o, "rss_kib"));
	}
	fprintf(out,
		"one binding change, watch event -> kernel: median %.1f ms, min %.1f, max %.1f\n",
		json_get_double(a, "change_median_ms"), json_get_double(a, "change_min_ms"),
		json_get_double(a, "change_max_ms"));
}
