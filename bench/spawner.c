// SPDX-License-Identifier: Apache-2.0
/*
 * The process that runs the measured execs. It is forked before anything
 * is loaded and keeps only its two pipes: an exec copies the caller's file
 * table and closes its close-on-exec descriptors, so execs spawned by the
 * benchmark itself, which holds thousands of BPF descriptors (500 baseline
 * copies), would measure that table instead of podfence (175 -> 325 us here).
 * A container runtime or a shell spawning in a pod is a small process too.
 *
 * Requests come on one pipe, results go back on the other; the spawner moves
 * itself into the requested cgroup (its children start there) and exits when
 * the benchmark closes the pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bench.h"

extern char **environ;

enum { SP_BATCH = 1, SP_CHECK = 2 };

struct sp_req {
	int op;
	int n, warmup;
	char cg[PATH_MAX];
	char bin[PATH_MAX];
};

struct sp_resp {
	int err;    /* 0 or a positive errno */
	int status; /* wait status of the failing (SP_BATCH) or only (SP_CHECK) exec */
};

/* One exec; *us its latency. Returns 0 or a positive errno of posix_spawn/waitpid. */
static int spawn_wait(const char *bin, int *status, double *us)
{
	char *argv[] = {(char *)bin, NULL};
	uint64_t t0 = now_ns();
	pid_t pid;
	int err;

	err = posix_spawn(&pid, bin, NULL, NULL, argv, environ);
	if (err)
		return err;
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return errno;
	*us = (now_ns() - t0) / 1000.0;
	return 0;
}

static void serve(int in, int out)
{
	struct sp_req rq;
	double *lat = NULL;
	size_t cap = 0;

	while (!read_all(in, &rq, sizeof(rq))) {
		struct sp_resp rs = {};
		double us;
		int k = 0;

		if (rq.n < 0 || rq.warmup < 0)
			break;
		if ((size_t)rq.n > cap) {
			free(lat);
			cap = rq.n;
			lat = malloc(cap * sizeof(*lat));
			if (!lat)
				break;
		}
		rs.err = -cg_enter(rq.cg);
		if (rq.op == SP_CHECK && !rs.err)
			rs.err = spawn_wait(rq.bin, &rs.status, &us);
		for (int i = 0; rq.op == SP_BATCH && !rs.err && i < rq.warmup + rq.n; i++) {
			rs.err = spawn_wait(rq.bin, &rs.status, &us);
			if (!rs.err && (!WIFEXITED(rs.status) || WEXITSTATUS(rs.status)))
				rs.err = EIO; /* the exec did not run to its end */
			if (!rs.err && i >= rq.warmup)
				lat[k++] = us;
		}
		if (write_all(out, &rs, sizeof(rs)) ||
		    (rq.op == SP_BATCH && !rs.err && write_all(out, lat, k * sizeof(*lat))))
			break;
	}
	free(lat);
}

int spawner_start(struct bench *b)
{
	int req[2], resp[2];
	pid_t pid;

	if (pipe2(req, O_CLOEXEC) || pipe2(resp, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* only the pipes stay open; signals are for the benchmark, which stops us */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if (dup2(req[0], 3) < 0 || dup2(resp[1], 4) < 0)
			_exit(1);
		close_range(5, ~0U, 0);
		serve(3, 4);
		_exit(0);
	}
	close(req[0]);
	close(resp[1]);
	b->sp_pid = pid;
	b->sp_req = req[1];
	b->sp_resp = resp[0];
	return 0;
}

void spawner_stop(struct bench *b)
{
	if (b->sp_pid <= 0)
		return;
	close(b->sp_req);
	close(b->sp_resp);
	kill(b->sp_pid, SIGKILL);
	waitpid(b->sp_pid, NULL, 0);
	b->sp_pid = 0;
}

static int request(struct bench *b, int op, const char *cg, const char *bin, int n, int warmup,
		   struct sp_resp *rs)
{
	struct sp_req rq = {.op = op, .n = n, .warmup = warmup};
	int err;

	snprintf(rq.cg, sizeof(rq.cg), "%s", cg);
	snprintf(rq.bin, sizeof(rq.bin), "%s", bin);
	err = write_all(b->sp_req, &rq, sizeof(rq));
	if (!err)
		err = read_all(b->sp_resp, rs, sizeof(*rs));
	return err;
}

int spawner_batch(struct bench *b, const char *cg, int n, int warmup, double *out)
{
	struct sp_resp rs;
	int err = request(b, SP_BATCH, cg, b->true_bin, n, warmup, &rs);

	if (err)
		return err;
	if (rs.err) {
		if (rs.err == EIO)
			fprintf(stderr,
				"Error: %s in %s: %s %d (a configuration blocks the measured "
				"binary)\n",
				b->true_bin, cg,
				WIFSIGNALED(rs.status) ? "killed by signal" : "exit status",
				WIFSIGNALED(rs.status) ? WTERMSIG(rs.status)
						       : WEXITSTATUS(rs.status));
		else
			fprintf(stderr, "Error: exec in %s: %s\n", cg, strerror(rs.err));
		return -rs.err;
	}
	return read_all(b->sp_resp, out, n * sizeof(*out));
}

int spawner_check(struct bench *b, const char *cg, const char *bin, int *status)
{
	struct sp_resp rs;
	int err = request(b, SP_CHECK, cg, bin, 0, 0, &rs);

	if (err)
		return err;
	*status = rs.status;
	return -rs.err;
}

int spawner_fifo(struct bench *b, bool on)
{
	struct sched_param sp = {.sched_priority = on ? 10 : 0};

	return sched_setscheduler(b->sp_pid, on ? SCHED_FIFO : SCHED_OTHER, &sp) ? -errno : 0;
}
