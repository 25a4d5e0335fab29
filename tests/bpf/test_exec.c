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
#include "pf_sandbox.h"
#include "podfence/kstore.h"
#include "podfence/log.h"

static struct pf_kstore *store;

/* One store for the whole run: loading per test would only measure the verifier. */
static struct pf_kstore *get_store(void)
{
	struct pf_kstore_opts opts = { .attach = true };
	const char *backend = getenv("PF_TEST_BACKEND");
	int err;

	if (store)
		return store;
	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	if (backend && pf_backend_parse(backend, &opts.backend))
		PF_SKIP("unknown PF_TEST_BACKEND %s", backend);
	pf_log_route_libbpf();
	if (getenv("PF_TEST_VERBOSE"))
		pf_log_set_level(PF_LOG_DEBUG);
	err = pf_kstore_open(&store, &opts, NULL);
	if (err)
		PF_SKIP("cannot load podfence's BPF object: %s", strerror(-err));
	printf("     (backend: %s)\n", pf_backend_name(pf_kstore_backend(store)));
	return store;
}

/* A workload fixture: a temp dir with binaries, a cgroup, and the ids written for it. */
struct fixture {
	char dir[PATH_MAX];
	char allowed[PATH_MAX + 16];
	char forbidden[PATH_MAX + 16];
	char marker[PATH_MAX + 16];
	struct pf_sandbox_cg cg;
	uint32_t wl_id;
	uint32_t policy_id;
};

static bool fixture_setup(struct fixture *f, const char *name)
{
	char bin[PATH_MAX + 8];

	memset(f, 0, sizeof(*f));
	if (!ASSERT_OK(pf_tmpdir(f->dir, sizeof(f->dir)), "tmpdir"))
		return false;
	snprintf(bin, sizeof(bin), "%s/bin", f->dir);
	mkdir(bin, 0755);
	snprintf(f->allowed, sizeof(f->allowed), "%s/allowed", bin);
	snprintf(f->forbidden, sizeof(f->forbidden), "%s/forbidden", bin);
	snprintf(f->marker, sizeof(f->marker), "%s/ran", f->dir);
	if (!ASSERT_OK(pf_copy_file(pf_helper_path("pf_true"), f->allowed), "copy pf_true") ||
	    !ASSERT_OK(pf_copy_file(pf_helper_path("pf_marker"), f->forbidden), "copy pf_marker"))
		return false;
	if (!ASSERT_OK(pf_sandbox_cg_create(&f->cg, NULL, name), "cgroup"))
		return false;
	return ASSERT_OK(pf_kstore_alloc_wl_id(store, false, &f->wl_id), "wl id") &&
	       ASSERT_OK(pf_kstore_alloc_policy_id(store, &f->policy_id), "policy id") &&
	       ASSERT_OK(pf_kstore_counters_create(store, f->policy_id), "counters");
}

static void fixture_teardown(struct fixture *f)
{
	pf_sandbox_cg_destroy(&f->cg);
	pf_kstore_ruleset_delete(store, f->wl_id);
	pf_kstore_counters_delete(store, f->policy_id);
	if (f->dir[0])
		pf_rm_rf(f->dir);
}

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
		err = pf_kstore_set_write(store, c->set_id, match, &set, &c->tiers, msg, sizeof(msg));
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

/* Whether the exec was stopped by podfence, whichever backend. */
static bool was_blocked(const struct pf_exec_result *r)
{
	return r->exec_errno == EPERM || r->signal == SIGKILL;
}

static bool expect_runs(struct fixture *f, const char *bin, enum pf_exec_how how)
{
	struct pf_exec_result r;
	char what[256];

	unlink(f->marker);
	snprintf(what, sizeof(what), "%s via %s runs", bin, pf_exec_how_name(how));
	if (!ASSERT_OK(pf_sandbox_exec(&f->cg, bin, f->marker, how, &r), "exec"))
		return false;
	return ASSERT_TRUE(r.exited && r.exit_code == 0 && !r.exec_errno, what);
}

static bool expect_blocked(struct fixture *f, const char *bin, enum pf_exec_how how)
{
	struct pf_exec_result r;
	char what[256];

	unlink(f->marker);
	snprintf(what, sizeof(what), "%s via %s blocked (signal %%d errno %%d)", bin,
		 pf_exec_how_name(how));
	if (!ASSERT_OK(pf_sandbox_exec(&f->cg, bin, f->marker, how, &r), "exec"))
		return false;
	if (!was_blocked(&r))
		pf_test_fail(__FILE__, __LINE__, "%s: not blocked: exit %d signal %d errno %d", bin,
			     r.exit_code, r.signal, r.exec_errno);
	return ASSERT_FALSE(pf_file_exists(f->marker), "forbidden binary never ran");
}

PF_TEST(exec_allowlist_blocks_every_way_to_reach_a_forbidden_binary)
{
	struct pf_rule rule;
	struct pf_cond c;
	struct fixture f;
	struct pf_policy_counters cnt;
	char dotted[PATH_MAX * 2];

	if (!get_store() || !fixture_setup(&f, "allowlist"))
		goto out;
	if (!make_cond(PF_MATCH_EXACT, true, (const char *const[]){ f.allowed }, 1, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	if (!ASSERT_OK(pf_kstore_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0), "ruleset") ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, NULL, 0), "bind"))
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
	fixture_teardown(&f);
}

PF_TEST(exec_unbound_cgroup_is_unaffected)
{
	struct pf_cond c;
	struct pf_rule rule;
	struct fixture f, other;

	memset(&other, 0, sizeof(other));
	if (!get_store() || !fixture_setup(&f, "bound") || !fixture_setup(&other, "unbound"))
		goto out;
	if (!make_cond(PF_MATCH_EXACT, true, (const char *const[]){ f.allowed }, 1, &c))
		goto out;
	rule = deny_rule(f.policy_id, 0, &c);
	pf_kstore_ruleset_write(store, f.wl_id, &rule, 1, 1, NULL, 0);
	pf_kstore_cgroup_bind(store, f.cg.id, f.wl_id, NULL, 0);
	expect_blocked(&f, f.forbidden, PF_EXEC_PATH);
	/* Same binary, a cgroup with no binding: runs. */
	expect_runs(&other, f.forbidden, PF_EXEC_PATH);
	ASSERT_TRUE(pf_file_exists(other.marker), "ran in the unbound cgroup");
out:
	fixture_teardown(&f);
	fixture_teardown(&other);
}
