// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: rule updates racing execs. A writer thread rewrites a
 * workload's ruleset in a tight loop while the main thread execs an allowed
 * and a forbidden binary in the workload's cgroup, alternately: no forbidden
 * exec may get through and no allowed one may be blocked, whichever ruleset
 * (or set) an exec happens to see.
 *
 * This file opens its own store (no pin dir): it is independent of the one
 * in test_exec.c, whose maps never hold this file's cgroups.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "pf_test.h"
#include "pf_kfixture.h"
#include "podfence/kstore.h"

/*
 * Execs of each binary per test, always all of them (an emulated kernel takes
 * longer, never fewer); more while the GC writer has done fewer than
 * GC_MIN_ROUNDS rounds (each waits for an RCU grace period), up to a cap that
 * only a stalled writer reaches.
 */
#define EXECS_EACH    400
#define GC_MIN_ROUNDS 300
#define STALL_CAP_S   120

static struct pf_kstore *ustore;

/* The allowlist {allowed} as a fresh set: "exec path NotEqual allowed -> deny". */
static int allow_set_write(struct pf_kfix *f, uint32_t *set_id, uint8_t *tiers, char *msg,
			   size_t len)
{
	struct pf_strset set = {};
	int err;

	err = pf_strset_add(&set, f->allowed);
	if (err >= 0)
		err = pf_kstore_alloc_set_id(ustore, set_id);
	if (!err)
		err = pf_kstore_set_write(ustore, *set_id, PF_MATCH_EXACT, &set, tiers, msg, len);
	pf_strset_free(&set);
	return err < 0 ? err : 0;
}

static void allow_set_delete(struct pf_kfix *f, uint32_t set_id)
{
	struct pf_strset set = {};

	if (pf_strset_add(&set, f->allowed) >= 0)
		pf_kstore_set_delete(ustore, set_id, PF_MATCH_EXACT, &set);
	pf_strset_free(&set);
}

static struct pf_rule allow_rule(const struct pf_kfix *f, uint32_t set_id, uint8_t tiers)
{
	struct pf_rule r = {
	    .policy_id = f->policy_id,
	    .actions = PF_ACT_DENY | PF_ACT_POST,
	    .n_conds = 1,
	    .err = EPERM,
	};

	r.conds[0] = (struct pf_cond){
	    .set_id = set_id,
	    .subject = PF_SUBJ_EXEC_PATH,
	    .match = PF_MATCH_EXACT,
	    .negate = 1,
	    .tiers = tiers,
	};
	return r;
}

/* ---- the writer thread --------------------------------------------------- */

enum writer_mode {
	/* Two sets (different ids, same value) written once; rulesets alternate. */
	WRITER_ALTERNATE,
	/* Every round: a new set, the ruleset pointing at it, barrier, old set deleted. */
	WRITER_GC,
};

struct writer {
	struct pf_kfix *f;
	enum writer_mode mode;
	uint32_t sets[2]; /* ALTERNATE: the two sets; GC: sets[0] = the set in force */
	uint8_t tiers[2];
	atomic_bool stop;
	atomic_ulong writes; /* ruleset updates */
	unsigned long sets_freed;
	unsigned long min_writes; /* the exec loop goes on until there were this many */
	int err;		  /* first error (the thread never calls ASSERT_*) */
	char msg[160];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct pf_rule rule;
	uint32_t gen = 2, next;
	uint8_t tiers;
	int err = 0;

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		if (w->mode == WRITER_ALTERNATE) {
			int i = w->writes & 1;

			rule = allow_rule(w->f, w->sets[i], w->tiers[i]);
			err = pf_kfix_ruleset_write(ustore, w->f->wl_id, &rule, 1, gen++, w->msg,
						    sizeof(w->msg));
			if (err)
				break;
			w->writes++;
			continue;
		}
		/* The engine's order: new data, then the pointer, then free after a barrier. */
		err = allow_set_write(w->f, &next, &tiers, w->msg, sizeof(w->msg));
		if (err)
			break;
		rule = allow_rule(w->f, next, tiers);
		err = pf_kfix_ruleset_write(ustore, w->f->wl_id, &rule, 1, gen++, w->msg,
					    sizeof(w->msg));
		if (err)
			break;
		w->writes++;
		err = pf_kstore_barrier(ustore);
		if (err) {
			snprintf(w->msg, sizeof(w->msg), "barrier");
			break;
		}
		allow_set_delete(w->f, w->sets[0]);
		w->sets[0] = next;
		w->sets_freed++;
	}
	w->err = err;
	return NULL;
}

/* ---- the exec loop -------------------------------------------------------- */

struct loop_result {
	int allowed_runs, forbidden_runs;
	int allowed_bad, forbidden_bad, marker_seen;
	char first_bad[256];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool exec_loop(struct pf_kfix *f, struct writer *w, struct loop_result *lr)
{
	double deadline = now_s() + STALL_CAP_S;
	struct pf_exec_result r;

	memset(lr, 0, sizeof(*lr));
	for (int i = 0;
	     i < EXECS_EACH || (atomic_load(&w->writes) < w->min_writes && now_s() < deadline);
	     i++) {
		if (!ASSERT_OK(pf_sandbox_exec(&f->cg, f->allowed, NULL, PF_EXEC_PATH, &r), "exec"))
			return false;
		lr->allowed_runs++;
		if (!(r.exited && r.exit_code == 0 && !r.exec_errno)) {
			if (!lr->allowed_bad++)
				snprintf(lr->first_bad, sizeof(lr->first_bad),
					 "allowed exec #%d: exit %d signal %d errno %d", i,
					 r.exit_code, r.signal, r.exec_errno);
		}
		if (!ASSERT_OK(pf_sandbox_exec(&f->cg, f->forbidden, f->marker, PF_EXEC_PATH, &r),
			       "exec"))
			return false;
		lr->forbidden_runs++;
		if (!pf_exec_blocked(&r)) {
			if (!lr->forbidden_bad++ && !lr->first_bad[0])
				snprintf(
				    lr->first_bad, sizeof(lr->first_bad),
				    "forbidden exec #%d not blocked: exit %d signal %d errno %d", i,
				    r.exit_code, r.signal, r.exec_errno);
		}
		if (pf_file_exists(f->marker)) {
			lr->marker_seen++;
			unlink(f->marker);
		}
	}
	return true;
}

/* Runs the exec loop against a writer; checks the results and the kernel's counters. */
static void race(struct pf_kfix *f, struct writer *w)
{
	uint64_t st0[PF_STAT__MAX], st1[PF_STAT__MAX];
	struct pf_policy_counters cnt;
	struct loop_result lr;
	pthread_t th;
	double t0 = now_s();
	bool ran;

	if (!ASSERT_OK(pf_kstore_stats(ustore, st0), "stats"))
		return;
	if (!ASSERT_OK(-pthread_create(&th, NULL, writer_main, w), "writer thread"))
		return;
	ran = exec_loop(f, w, &lr);
	atomic_store(&w->stop, true);
	pthread_join(th, NULL);
	if (!ran)
		return;
	printf("     %d+%d execs against %lu ruleset writes (%lu sets freed) in %.1f s\n",
	       lr.allowed_runs, lr.forbidden_runs, atomic_load(&w->writes), w->sets_freed,
	       now_s() - t0);

	ASSERT_OK(w->err, w->msg[0] ? w->msg : "writer");
	ASSERT_GE(lr.forbidden_runs, EXECS_EACH, "forbidden execs tried");
	if (w->mode == WRITER_ALTERNATE)
		ASSERT_GE(atomic_load(&w->writes), lr.forbidden_runs + lr.allowed_runs,
			  "ruleset writes (at least one per exec)");
	else
		ASSERT_GE(atomic_load(&w->writes), GC_MIN_ROUNDS, "GC rounds");
	if (lr.allowed_bad || lr.forbidden_bad)
		pf_test_fail(__FILE__, __LINE__, "first bad exec: %s", lr.first_bad);
	ASSERT_EQ(lr.allowed_bad, 0, "allowed execs blocked");
	ASSERT_EQ(lr.forbidden_bad, 0, "forbidden execs not blocked");
	ASSERT_EQ(lr.marker_seen, 0, "forbidden binary ran (marker file)");
	if (ASSERT_OK(pf_kstore_counters_read(ustore, f->policy_id, &cnt), "counters"))
		ASSERT_EQ(cnt.blocked, lr.forbidden_runs, "policy counter: blocked");
	if (ASSERT_OK(pf_kstore_stats(ustore, st1), "stats")) {
		ASSERT_EQ(st1[PF_STAT_NO_RULESET] - st0[PF_STAT_NO_RULESET], 0,
			  "execs with no ruleset");
		ASSERT_EQ(st1[PF_STAT_PATH_FAILED] - st0[PF_STAT_PATH_FAILED], 0,
			  "paths unresolved");
		ASSERT_EQ(st1[PF_STAT_SCRATCH_BUSY] - st0[PF_STAT_SCRATCH_BUSY], 0, "scratch busy");
	}
}

PF_TEST(update_ruleset_swapping_set_ids_during_exec_loop)
{
	struct writer w = {.mode = WRITER_ALTERNATE};
	struct pf_rule rule;
	struct pf_kfix f;
	char msg[160] = "";

	memset(&f, 0, sizeof(f));
	if (!pf_kfix_store(&ustore) || !pf_kfix_setup(&f, ustore, "update-swap"))
		goto out;
	w.f = &f;
	for (int i = 0; i < 2; i++)
		if (!ASSERT_OK(allow_set_write(&f, &w.sets[i], &w.tiers[i], msg, sizeof(msg)),
			       msg[0] ? msg : "set write"))
			goto out;
	ASSERT_NEQ(w.sets[0], w.sets[1], "two distinct set ids");
	rule = allow_rule(&f, w.sets[0], w.tiers[0]);
	if (!ASSERT_OK(pf_kfix_ruleset_write(ustore, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(ustore, f.cg.id, f.wl_id, 0, 0, NULL, 0), "bind"))
		goto out;
	race(&f, &w);
out:
	if (f.cg.id)
		pf_kstore_cgroup_unbind(ustore, f.cg.id);
	for (int i = 0; i < 2; i++)
		if (w.sets[i])
			allow_set_delete(&f, w.sets[i]);
	pf_kfix_teardown(&f);
}

PF_TEST(update_new_set_freed_after_barrier_during_exec_loop)
{
	struct writer w = {.mode = WRITER_GC, .min_writes = GC_MIN_ROUNDS};
	struct pf_rule rule;
	struct pf_kfix f;
	char msg[160] = "";

	memset(&f, 0, sizeof(f));
	if (!pf_kfix_store(&ustore) || !pf_kfix_setup(&f, ustore, "update-gc"))
		goto out;
	w.f = &f;
	if (!ASSERT_OK(allow_set_write(&f, &w.sets[0], &w.tiers[0], msg, sizeof(msg)),
		       msg[0] ? msg : "set write"))
		goto out;
	rule = allow_rule(&f, w.sets[0], w.tiers[0]);
	if (!ASSERT_OK(pf_kfix_ruleset_write(ustore, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(ustore, f.cg.id, f.wl_id, 0, 0, NULL, 0), "bind"))
		goto out;
	race(&f, &w);
	/* Exactly one set left in force: every replaced one was freed. */
	ASSERT_EQ(w.sets_freed, w.writes, "sets freed after their barrier");
out:
	if (f.cg.id)
		pf_kstore_cgroup_unbind(ustore, f.cg.id);
	if (w.sets[0])
		allow_set_delete(&f, w.sets[0]);
	pf_kfix_teardown(&f);
}
