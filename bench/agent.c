// SPDX-License-Identifier: Apache-2.0
/*
 * The real agent at N: started on a policy directory and a pod directory of
 * the fake node, timed until its status says ready, then its memory read
 * from /proc. It attaches podfence for real (pinned under a pin dir of this
 * run), so it is unpinned as soon as it is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "bench.h"
#include "podfence/control.h"

extern char **environ;

/* The end of the agent's log, before it is removed with the run's files. */
static void print_tail(const char *log)
{
	char buf[4096];
	FILE *f = fopen(log, "re");
	long size;
	size_t n;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	fprintf(stderr, "%s\n", buf);
}

static int write_inputs(struct bench *b, const char *dir, enum cfg_shape shape, int n)
{
	char path[PATH_MAX + 64];
	struct sbuf doc = {};
	int err;

	snprintf(path, sizeof(path), "%s/policies", dir);
	err = mkdir_p(path);
	snprintf(path, sizeof(path), "%s/pods", dir);
	if (!err)
		err = mkdir_p(path);
	if (!err && shape == SHAPE_TEMPLATE) {
		err = gen_template(&doc);
		snprintf(path, sizeof(path), "%s/policies/template.yaml", dir);
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	/* 1,000 objects per file: the file count is not what is measured here */
	for (int first = 1; first <= n && !err; first += BENCH_CHUNK) {
		int last = first + BENCH_CHUNK - 1 > n ? n : first + BENCH_CHUNK - 1;

		if (bench_stop)
			err = -EINTR;
		doc.len = 0;
		for (int i = first; i <= last && !err; i++)
			err = gen_policy(&doc, b, shape, i, b->o.paths, false, 0);
		snprintf(path, sizeof(path), "%s/policies/p%06d.yaml", dir, first);
		if (!err)
			err = write_file(path, doc.s, doc.len);
		doc.len = 0;
		if (!err)
			err = gen_pods(&doc, first, last, false);
		snprintf(path, sizeof(path), "%s/pods/p%06d.yaml", dir, first);
		if (!err)
			err = write_file(path, doc.s, doc.len);
	}
	sbuf_free(&doc);
	return err;
}

/* The agent's status document, or NULL while it does not answer. */
static struct json_object *agent_status(const char *sock)
{
	struct json_object *st;
	char *reply = NULL;

	if (pf_control_request(sock, "status", &reply))
		return NULL;
	st = json_tokener_parse(reply);
	free(reply);
	return st;
}

/* Our own fd of the program behind one of the agent's pinned links, or -errno. */
static int pinned_link_prog(const struct bench *b, const char *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", b->agent_pin, link);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	fd = bpf_prog_get_fd_by_id(info.prog_id);
	return fd < 0 ? -errno : fd;
}

/*
 * The cgroup tracker programs, the podfence programs that do not run on
 * exec: cost per cgroup created under a bound pod (inherits the workload)
 * and per cgroup removed, from the kernel's accounting.
 */
static int tracker_cost(struct bench *b, struct json_object *o)
{
	static const char *const links[] = {"link_cg_mkdir", "link_cg_rmdir"};
	static const char *const keys[] = {"cgroup_mkdir_ns", "cgroup_rmdir_ns"};
	struct prog_stats s0[2], s1[2];
	int fds[2] = {-1, -1}, stats = -1, err = 0, k = 200;
	char dir[PATH_MAX], child[PATH_MAX + 32];

	for (int i = 0; i < 2 && !err; i++) {
		fds[i] = pinned_link_prog(b, links[i]);
		if (fds[i] < 0)
			err = fds[i];
	}
	if (!err) {
		stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats < 0)
			err = -errno;
	}
	for (int i = 0; i < 2 && !err; i++)
		err = prog_stats_read(fds[i], &s0[i]);
	pod_cgroup(b, 1, dir, sizeof(dir));
	for (int i = 0; i < k && !err; i++) {
		snprintf(child, sizeof(child), "%s/bench-%d", dir, i);
		if (mkdir(child, 0755))
			err = -errno;
	}
	for (int i = 0; i < k; i++) {
		snprintf(child, sizeof(child), "%s/bench-%d", dir, i);
		rmdir(child);
	}
	for (int i = 0; i < 2 && !err; i++)
		err = prog_stats_read(fds[i], &s1[i]);
	for (int i = 0; i < 2 && !err; i++)
		json_add_double(o, keys[i],
				s1[i].run_cnt > s0[i].run_cnt
				    ? (double)(s1[i].run_ns - s0[i].run_ns) /
					  (s1[i].run_cnt - s0[i].run_cnt)
				    : 0);
	if (stats >= 0)
		close(stats);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

void agent_stop(struct bench *b)
{
	if (b->agent_pid > 0) {
		kill(b->agent_pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(b->agent_pid, NULL, WNOHANG) == b->agent_pid) {
				b->agent_pid = 0;
				break;
			}
			usleep(10000);
		}
		if (b->agent_pid > 0) {
			kill(b->agent_pid, SIGKILL);
			waitpid(b->agent_pid, NULL, 0);
		}
		b->agent_pid = 0;
	}
	/* a stopped agent leaves its programs enforcing: this run's state goes with it */
	if (b->agent_pin[0])
		pf_kstore_unpin(b->agent_pin);
}

static int agent_one(struct bench *b, enum cfg_shape shape, int n, struct json_object *arr)
{
	char dir[PATH_MAX], pol[PATH_MAX + 16], pods[PATH_MAX + 16], sock[PATH_MAX + 16];
	char events[PATH_MAX + 16], log[PATH_MAX + 16], state[PATH_MAX + 16];
	char sizes[PF_KMAP__MAX][64];
	char *argv[32 + PF_KMAP__MAX * 2];
	struct json_object *o = json_object_new_object(), *st = NULL;
	posix_spawn_file_actions_t fa;
	struct bench_cfg sized = {.shape = shape, .place = PLACE_LOCAL};
	double t0, ready_s = 0;
	int argc = 0, err;

	snprintf(dir, sizeof(dir), "%s/agent-%s-%d", b->tmp, shape_name(shape), n);
	snprintf(pol, sizeof(pol), "%s/policies", dir);
	snprintf(pods, sizeof(pods), "%s/pods", dir);
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(events, sizeof(events), "%s/events.jsonl", dir);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	err = node_grow(b, n);
	if (!err)
		err = write_inputs(b, dir, shape, n);
	if (err)
		goto out;
	argv[argc++] = (char *)b->o.podfence;
	argv[argc++] = "agent";
	argv[argc++] = "--policies";
	argv[argc++] = pol;
	argv[argc++] = "--pods";
	argv[argc++] = pods;
	argv[argc++] = "--socket";
	argv[argc++] = sock;
	argv[argc++] = "--pin-dir";
	argv[argc++] = b->agent_pin;
	argv[argc++] = "--cgroup-root";
	argv[argc++] = b->node_cg;
	argv[argc++] = "--events";
	argv[argc++] = events;
	argv[argc++] = "--state-dir";
	argv[argc++] = state;
	/* what an operator would pass for a node of this size */
	cfg_size_for(&sized, n, b->o.paths, n);
	for (int m = 0; m < PF_KMAP__MAX; m++) {
		if (!sized.sizes[m])
			continue;
		snprintf(sizes[m], sizeof(sizes[m]), "%s=%u", pf_kmap_name(m), sized.sizes[m]);
		argv[argc++] = "--map-size";
		argv[argc++] = sizes[m];
	}
	argv[argc] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	t0 = now_s();
	err = -posix_spawn(&b->agent_pid, b->o.podfence, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "Error: start %s: %s\n", b->o.podfence, strerror(-err));
		b->agent_pid = 0;
		goto out;
	}
	for (;;) {
		struct json_object *ready = NULL;

		st = agent_status(sock);
		if (st && json_object_object_get_ex(st, "ready", &ready) &&
		    json_object_get_boolean(ready))
			break;
		json_object_put(st);
		st = NULL;
		if (waitpid(b->agent_pid, NULL, WNOHANG) == b->agent_pid) {
			b->agent_pid = 0;
			fprintf(stderr, "Error: the agent exited before it was ready; its log:\n");
			print_tail(log);
			err = -EIO;
			goto out;
		}
		if (bench_stop || now_s() - t0 > 600) {
			err = bench_stop ? -EINTR : -ETIMEDOUT;
			goto out; /* agent_stop() kills it */
		}
		usleep(20000);
	}
	ready_s = now_s() - t0;
	{
		struct json_object *counts = NULL, *errs = NULL;
		long long pols;

		json_object_object_get_ex(st, "counts", &counts);
		json_object_object_get_ex(st, "errors", &errs);
		pols = json_get_int(counts, "policies");
		if (pols < n || (errs && json_object_array_length(errs))) {
			fprintf(stderr,
				"Error: agent at N=%d: %lld policies in force, %zu error(s): %s\n",
				n, pols, errs ? json_object_array_length(errs) : 0,
				errs && json_object_array_length(errs)
				    ? json_object_get_string(json_object_array_get_idx(errs, 0))
				    : "");
			err = -EIO;
			goto out;
		}
		json_add_str(o, "shape", shape_name(shape));
		json_add_int(o, "n", n);
		json_add_double(o, "ready_s", ready_s);
		json_add_int(o, "rss_kib", proc_status_kib(b->agent_pid, "VmRSS"));
		json_add_int(o, "hwm_kib", proc_status_kib(b->agent_pid, "VmHWM"));
		json_add_int(o, "kernel_memory_bytes", json_get_int(st, "kernel_memory_bytes"));
		json_add_int(o, "workloads", json_get_int(counts, "workloads"));
		json_add_int(o, "bound_cgroups", json_get_int(counts, "bound_cgroups"));
		json_add_int(o, "programs_attached", json_get_int(st, "programs_attached"));
	}
	err = tracker_cost(b, o);
	if (err) {
		fprintf(stderr, "Error: cgroup tracker cost: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "bench: agent with %d %s policies: ready in %.2f s, RSS %lld KiB\n", n,
		shape_name(shape), ready_s, json_get_int(o, "rss_kib"));
out:
	json_object_put(st);
	agent_stop(b);
	rm_rf(dir);
	json_object_array_add(arr, o);
	return err;
}

int phase_agent(struct bench *b)
{
	struct json_object *arr = json_object_new_array();
	int err = 0;

	json_object_object_add(b->res, "agent", arr);
	snprintf(b->agent_pin, sizeof(b->agent_pin), "/sys/fs/bpf/pf-bench-%d-agent", getpid());
	if (access(b->o.podfence, X_OK)) {
		fprintf(stderr, "Error: %s: not executable (build it, or pass --podfence)\n",
			b->o.podfence);
		return -ENOENT;
	}
	for (int k = 0; k < b->o.n_agent_n && !err; k++) {
		err = agent_one(b, SHAPE_TEMPLATE, b->o.agent_n[k], arr);
		if (!err)
			err = agent_one(b, SHAPE_PLAIN, b->o.agent_n[k], arr);
	}
	return err;
}
