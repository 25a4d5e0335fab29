// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier, learning (bpf/learn.bpf.h): a workload whose ruleset carries
 * a learn id has each distinct (file, caller) recorded once, in the kernel's
 * table and as one ring buffer record; repeated execs only count.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "pf_test.h"
#include "pf_kfixture.h"
#include "podfence/kstore.h"

static struct pf_kstore *store;

/* PF_LEARN_DIVISOR: fewer execs where they are slow (emulated kernels). */
static int scaled(int n)
{
	const char *d = getenv("PF_LEARN_DIVISOR");

	return d && atoi(d) > 1 ? n / atoi(d) : n;
}

/* Records the ring buffer delivered for one learn id. */
struct learn_sink {
	uint32_t learn_id;
	size_t records;
	size_t storm_records; /* of those, for the storm's binary */
	const char *storm_path;
	char **paths; /* every record's path */
	size_t cap;
};

static int on_record(void *ctx, const struct pf_event *ev, size_t size)
{
	struct learn_sink *s = ctx;
	const struct pf_learn_event *le = (const void *)ev;

	if (!(ev->flags & PF_EV_LEARN) || size < sizeof(*le) || le->learn_id != s->learn_id)
		return 0;
	if (s->storm_path && strcmp(le->path, s->storm_path) == 0)
		s->storm_records++;
	if (s->records < s->cap)
		s->paths[s->records] = strdup(le->path);
	s->records++;
	return 0;
}

struct loop_job {
	struct pf_kfix *f;
	const char *spec;
	struct pf_exec_result r;
	int err;
	volatile int done;
};

static void *loop_thread(void *arg)
{
	struct loop_job *j = arg;

	j->err = pf_sandbox_exec(&j->f->cg, pf_helper_path("pf_spawn_loop"), j->spec, PF_EXEC_PATH,
				 &j->r);
	j->done = 1;
	return NULL;
}

/* Runs pf_spawn_loop SPEC in the fixture's cgroup while the ring buffer is drained. */
static bool run_loop(struct pf_kfix *f, const char *spec)
{
	struct loop_job j = {.f = f, .spec = spec};
	pthread_t t;

	if (!ASSERT_OK(pthread_create(&t, NULL, loop_thread, &j), "thread"))
		return false;
	while (!j.done)
		pf_kstore_events_poll(store, 50);
	pthread_join(t, NULL);
	pf_kstore_events_poll(store, 0);
	return ASSERT_OK(j.err, "spawn loop") &&
	       ASSERT_TRUE(j.r.exited && j.r.exit_code == 0, "every exec of the loop succeeded");
}

struct key_count {
	uint32_t learn_id;
	size_t entries;
	uint64_t execs_max;
};

static bool count_entries(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	struct key_count *kc = c;

	if (k->learn_id == kc->learn_id) {
		kc->entries++;
		if (s->execs > kc->execs_max)
			kc->execs_max = s->execs;
	}
	return false;
}

/* Drops the learn id's entries (the kernel table is shared by the tests of this binary). */
static bool drop_learn_id(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	return k->learn_id == *(uint32_t *)c;
}

static bool learning_workload(struct pf_kfix *f, uint32_t learn_id)
{
	struct pf_ruleset rs = {.learn_id = learn_id};

	return ASSERT_OK(pf_kstore_ruleset_write(store, f->wl_id, &rs, NULL, 0), "ruleset") &&
	       ASSERT_OK(pf_kstore_cgroup_bind(store, f->cg.id, f->wl_id, 0, 0, NULL, 0), "bind");
}

/* Ring buffer records go to s from now on (a new consumer; the kernel keeps its position). */
static bool sink_open(struct learn_sink *s)
{
	return ASSERT_TRUE(pf_kstore_events_open(store, on_record, s) >= 0, "ring buffer opened");
}

PF_TEST(learn_fork_storm_of_one_binary_is_one_record)
{
	struct learn_sink sink = {.learn_id = 0x4000000u + (uint32_t)getpid()};
	struct key_count kc = {.learn_id = sink.learn_id};
	uint64_t before[PF_STAT__MAX], after[PF_STAT__MAX];
	struct pf_kfix f;
	char spec[PATH_MAX + 16];
	const int storm = scaled(5000);

	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "learn-storm"))
		goto out;
	if (!learning_workload(&f, sink.learn_id) || !sink_open(&sink))
		goto out;
	sink.storm_path = f.allowed;
	snprintf(spec, sizeof(spec), "%d:%s", storm, f.allowed);
	pf_kstore_stats(store, before);
	if (!run_loop(&f, spec))
		goto out;
	pf_kstore_stats(store, after);
	ASSERT_EQ(sink.storm_records, 1, "the storm's binary: one record");
	/* the loop itself and its binary: two records in all */
	ASSERT_EQ(sink.records, 2, "records of the learning workload");
	pf_kstore_learned_walk(store, count_entries, &kc);
	ASSERT_EQ(kc.entries, 2, "kernel entries of the learning workload");
	ASSERT_EQ(kc.execs_max, storm, "the storm's execs counted in the kernel");
	ASSERT_TRUE(after[PF_STAT_LEARN_EXECS] - before[PF_STAT_LEARN_EXECS] >= (uint64_t)storm,
		    "every exec seen by learning");
	ASSERT_EQ(after[PF_STAT_LEARN_LOST] - before[PF_STAT_LEARN_LOST], 0, "no record lost");
out:
	pf_kstore_learned_walk(store, drop_learn_id, &sink.learn_id);
	pf_kfix_teardown(&f);
}

PF_TEST(learn_ten_thousand_distinct_binaries_each_recorded_once) /* (a tenth in emulation) */
{
	struct learn_sink sink = {.learn_id = 0x5000000u + (uint32_t)getpid()};
	struct key_count kc = {.learn_id = sink.learn_id};
	struct pf_kfix f;
	char list[PATH_MAX + 16], spec[PATH_MAX + 16], bin[PATH_MAX + 32];
	const int n = scaled(10000);
	size_t distinct = 0;
	FILE *lf;

	sink.cap = n + 16;
	sink.paths = calloc(sink.cap, sizeof(char *));
	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "learn-many"))
		goto out;
	if (!learning_workload(&f, sink.learn_id) || !sink_open(&sink))
		goto out;
	/* 10,000 names of one file (hard links): 10,000 distinct paths */
	snprintf(list, sizeof(list), "%s/list", f.dir);
	lf = fopen(list, "w");
	if (!ASSERT_TRUE(lf != NULL, "list file"))
		goto out;
	snprintf(bin, sizeof(bin), "%s/many", f.dir);
	mkdir(bin, 0755);
	for (int i = 0; i < n; i++) {
		snprintf(bin, sizeof(bin), "%s/many/bin-%05d", f.dir, i);
		if (link(f.allowed, bin)) {
			fclose(lf);
			ASSERT_OK(-errno, "link");
			goto out;
		}
		fprintf(lf, "%s\n", bin);
	}
	fclose(lf);
	snprintf(spec, sizeof(spec), "@%s", list);
	if (!run_loop(&f, spec))
		goto out;
	for (size_t i = 0; i < sink.records && i < sink.cap; i++)
		distinct += sink.paths[i] && strstr(sink.paths[i], "/many/bin-") != NULL;
	ASSERT_EQ(distinct, n, "one record per binary");
	pf_kstore_learned_walk(store, count_entries, &kc);
	ASSERT_EQ(kc.entries, n + 1, "kernel entries: the binaries and the loop");
out:
	pf_kstore_learned_walk(store, drop_learn_id, &sink.learn_id);
	for (size_t i = 0; i < sink.cap && sink.paths; i++)
		free(sink.paths[i]);
	free(sink.paths);
	pf_kfix_teardown(&f);
}

PF_TEST(learn_nothing_outside_learning_workloads)
{
	uint64_t before[PF_STAT__MAX], after[PF_STAT__MAX];
	struct pf_exec_result r;
	struct pf_kfix f;

	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "learn-off"))
		goto out;
	if (!learning_workload(&f, 0))
		goto out;
	pf_kstore_stats(store, before);
	ASSERT_OK(pf_sandbox_exec(&f.cg, f.allowed, f.marker, PF_EXEC_PATH, &r), "exec");
	pf_kstore_stats(store, after);
	ASSERT_TRUE(after[PF_STAT_EXECS] > before[PF_STAT_EXECS], "the exec was seen");
	ASSERT_EQ(after[PF_STAT_LEARN_EXECS] - before[PF_STAT_LEARN_EXECS], 0,
		  "a workload without a learn id learns nothing");
out:
	pf_kfix_teardown(&f);
}
