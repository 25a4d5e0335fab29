// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: the real BPF object in the real kernel, real processes in
 * real cgroups. Rules are written with the kernel store directly; the agent's
 * compiler is covered by the integration tier.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "pf_test.h"
#include "pf_kfixture.h"
#include "podfence/kstore.h"

static struct pf_kstore *store;

#define PF_REPEAT_A                                                                                \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"a"                                                                                        \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"a"                                                                                        \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"a"

/* Writes a set of values and returns a condition on it. */
static bool make_cond(enum pf_match match, bool negate, const char *const *values, size_t n,
		      struct pf_cond *c)
{
	struct pf_strset set = {};
	char msg[128] = "";
	int err;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		pf_strset_add(&set, values[i]);
	c->subject = PF_SUBJ_EXEC_PATH;
	c->match = match;
	c->negate = negate;
	err = pf_kstore_alloc_set_id(store, &c->set_id);
	if (!err)
		err =
		    pf_kstore_set_write(store, c->set_id, match, &set, &c->tiers, msg, sizeof(msg));
	pf_strset_free(&set);
	return ASSERT_OK(err, msg[0] ? msg : "set write");
}

static struct pf_rule deny_rule(uint32_t policy_id, uint8_t group, const struct pf_cond *c)
{
	struct pf_rule r = {
	    .policy_id = policy_id,
	    .actions = PF_ACT_DENY | PF_ACT_POST,
	    .group = group,
	    .n_conds = 1,
	    .err = EPERM,
	};

	r.conds[0] = *c;
	return r;
}

static bool expect_runs(struct pf_kfix *f, const char *bin, enum pf_exec_how how)
{
	struct pf_exec_result r;
	char what[256];

	unlink(f->marker);
	snprintf(what, sizeof(what), "%s via %s runs", bin, pf_exec_how_name(how));
	if (!ASSERT_OK(pf_sandbox_exec(&f->cg, bin, f->marker, how, &r), "exec"))
		return false;
	return ASSERT_TRUE(r.exited && r.exit_code == 0 && !r.exec_errno, what);
}

static bool expect_blocked(struct pf_kfix *f, const char *bin, enum pf_exec_how how)
{
	struct pf_exec_result r;

	unlink(f->marker);
	if (!ASSERT_OK(pf_sandbox_exec(&f->cg, bin, f->marker, how, &r), "exec"))
		return false;
	/* EPERM in the caller on LSM/fmod_ret, SIGKILL of the new image on the fallback. */
	if (!pf_exec_blocked_by_backend(store, &r))
		pf_test_fail(
		    __FILE__, __LINE__,
		    "%s via %s: not blocked as backend %s blocks: exit %d signal %d errno %d", bin,
		    pf_exec_how_name(how), pf_backend_name(pf_kstore_backend(store)), r.exit_code,
		    r.signal, r.exec_errno);
	return ASSERT_FALSE(pf_file_exists(f->marker), "forbidden binary never ran");
}

PF_TEST(exec_allowlist_blocks_every_way_to_reach_a_forbidden_binary)
{
	struct pf_rule rule;
	struct pf_cond c;
	struct pf_kfix f;
	struct pf_policy_counters cnt;
	char dotted[PATH_MAX * 2];

	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "allowlist"))
		goto out;
	if (!make_cond(PF_MATCH_EXACT, true, (const char *const[]){f.allowed}, 1, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	if (!ASSERT_OK(pf_kfix_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, 0, 0, NULL, 0), "bind"))
		goto out;

	expect_runs(&f, f.allowed, PF_EXEC_PATH);
	expect_runs(&f, f.allowed, PF_EXEC_RELATIVE);
	expect_runs(&f, f.allowed, PF_EXEC_SYMLINK);
	expect_runs(&f, f.allowed, PF_EXEC_FEXECVE);
	for (enum pf_exec_how how = PF_EXEC_PATH; how <= PF_EXEC_MEMFD; how++)
		expect_blocked(&f, f.forbidden, how);
	/* A memfd copy of an allowed binary is not the allowed file. */
	expect_blocked(&f, f.allowed, PF_EXEC_MEMFD);
	snprintf(dotted, sizeof(dotted), "%s/bin/../bin/forbidden", f.dir);
	expect_blocked(&f, dotted, PF_EXEC_PATH);

	if (ASSERT_OK(pf_kstore_counters_read(store, f.policy_id, &cnt), "counters"))
		ASSERT_EQ(cnt.blocked, 7, "blocked count");
out:
	pf_kfix_teardown(&f);
}

/*
 * Exact values past PF_EXACT_M bytes (tier L; in the compat build, chains
 * of PF_EXACT_CHUNK-byte chunks, abi.h): two allowed values sharing their
 * first chunk both run, and a path made of one value's first chunk and
 * another's second, or the other way round, is no value at all.
 */
PF_TEST(exec_long_values_match_whole_only)
{
	char top_a[PATH_MAX], top_b[PATH_MAX], mid[160], path[4][PATH_MAX + 256];
	const char *allowed[3];
	struct pf_rule rule;
	struct pf_cond c;
	struct pf_kfix f;
	size_t pad;

	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "long"))
		goto out;
	/* <dir>/a...a/a...a (399 bytes) / m...m (crosses byte 500) / t1...: 601 bytes each */
	pad = 400 - strlen(f.dir) - 2;
	if (!ASSERT_TRUE(strlen(f.dir) < 200, "short enough test dir"))
		goto out;
	snprintf(top_a, sizeof(top_a), "%s/%.*s/%.*s", f.dir, (int)(pad / 2), PF_REPEAT_A,
		 (int)(pad - pad / 2 - 1), PF_REPEAT_A);
	snprintf(top_b, sizeof(top_b), "%s", top_a);
	top_b[strlen(top_b) - 1] = 'b'; /* same length, another first chunk */
	memset(mid, 'm', 150);
	mid[150] = 0;
	/* 0: A = top_a/mid/t1, 1: B = top_a/mid/t2, 2: C = top_b/mid/t3 (allowed);
	 * 3: X = top_a/mid/t3 (A's first chunk, C's second), then Y = top_b/mid/t1 */
	snprintf(path[0], sizeof(path[0]), "%s/%s/t1%048d", top_a, mid, 0);
	snprintf(path[1], sizeof(path[1]), "%s/%s/t2%048d", top_a, mid, 0);
	snprintf(path[2], sizeof(path[2]), "%s/%s/t3%048d", top_b, mid, 0);
	/* the first chunk ends inside mid: the tops differ in it, the tails after it */
	ASSERT_TRUE(strlen(top_a) < PF_EXACT_CHUNK && strlen(top_a) + 151 > PF_EXACT_CHUNK &&
			strlen(path[0]) > PF_EXACT_M,
		    "values of tier L in two chunks");
	for (int i = 0; i < 3; i++) {
		char dir[PATH_MAX + 256];

		snprintf(dir, sizeof(dir), "%s", path[i]);
		*strrchr(dir, '/') = 0;
		if (!ASSERT_OK(pf_mkdir_p(dir), "long dir") ||
		    !ASSERT_OK(pf_copy_file(pf_helper_path("pf_true"), path[i]), "copy"))
			goto out;
		allowed[i] = path[i];
	}
	if (!make_cond(PF_MATCH_EXACT, true, allowed, 3, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	if (!ASSERT_OK(pf_kfix_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, 0, 0, NULL, 0), "bind"))
		goto out;
	for (int i = 0; i < 3; i++)
		expect_runs(&f, path[i], PF_EXEC_PATH);
	for (int mix = 0; mix < 2; mix++) {
		snprintf(path[3], sizeof(path[3]), "%s/%s/t%d%048d", mix ? top_b : top_a, mid,
			 mix ? 1 : 3, 0);
		if (!ASSERT_OK(pf_copy_file(pf_helper_path("pf_marker"), path[3]), "copy marker"))
			goto out;
		expect_blocked(&f, path[3], PF_EXEC_PATH);
	}
out:
	pf_kfix_teardown(&f);
}

PF_TEST(exec_unbound_cgroup_is_unaffected)
{
	struct pf_cond c;
	struct pf_rule rule;
	struct pf_kfix f, other;

	memset(&other, 0, sizeof(other));
	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "bound") ||
	    !pf_kfix_setup(&other, store, "unbound"))
		goto out;
	if (!make_cond(PF_MATCH_EXACT, true, (const char *const[]){f.allowed}, 1, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	pf_kfix_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0);
	pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, 0, 0, NULL, 0);
	expect_blocked(&f, f.forbidden, PF_EXEC_PATH);
	/* Same binary, a cgroup with no binding: runs. */
	expect_runs(&other, f.forbidden, PF_EXEC_PATH);
	ASSERT_TRUE(pf_file_exists(other.marker), "ran in the unbound cgroup");
out:
	pf_kfix_teardown(&f);
	pf_kfix_teardown(&other);
}

struct monitor_seen {
	uint64_t cgroup_id;
	int events;	    /* events of that cgroup */
	int monitor_events; /* of those, flagged "a monitor-mode policy would have blocked it" */
};

static int on_monitor_event(void *ctx, const struct pf_event *ev, size_t size)
{
	struct monitor_seen *seen = ctx;

	if (size < sizeof(*ev) - sizeof(ev->path) || ev->cgroup_id != seen->cgroup_id)
		return 0;
	seen->events++;
	if (ev->flags & PF_EV_MONITOR)
		seen->monitor_events++;
	return 0;
}

PF_TEST(exec_monitor_mode_blocks_nothing_and_reports)
{
	struct monitor_seen seen = {};
	struct pf_policy_counters cnt;
	struct pf_rule rule;
	struct pf_cond c;
	struct pf_kfix f;

	if (!pf_kfix_store(&store) || !pf_kfix_setup(&f, store, "monitor"))
		goto out;
	if (!make_cond(PF_MATCH_EXACT, true, (const char *const[]){f.allowed}, 1, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	rule.flags = PF_RULE_MONITOR;
	seen.cgroup_id = f.cg.id;
	if (!ASSERT_OK(pf_kfix_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, 0, 0, NULL, 0), "bind") ||
	    !ASSERT_TRUE(pf_kstore_events_open(store, on_monitor_event, &seen) >= 0, "events"))
		goto out;

	/* Every way that enforce mode blocks runs to completion here. */
	for (enum pf_exec_how how = PF_EXEC_PATH; how <= PF_EXEC_MEMFD; how++) {
		expect_runs(&f, f.forbidden, how);
		ASSERT_TRUE(pf_file_exists(f.marker), "the binary really ran");
	}
	expect_runs(&f, f.allowed, PF_EXEC_PATH);

	if (ASSERT_OK(pf_kstore_counters_read(store, f.policy_id, &cnt), "counters")) {
		ASSERT_EQ(cnt.blocked, 0, "blocked count");
		ASSERT_EQ(cnt.reported, 5, "reported count");
	}
	for (int i = 0; i < 50 && seen.monitor_events < 5; i++)
		pf_kstore_events_poll(store, 100);
	ASSERT_EQ(seen.monitor_events, 5, "monitor events (one per would-be-blocked exec)");
	ASSERT_EQ(seen.events, 5, "no event for the allowed exec");
out:
	pf_kfix_teardown(&f);
}
