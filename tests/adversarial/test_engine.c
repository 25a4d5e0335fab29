// SPDX-License-Identifier: Apache-2.0
/*
 * Windows the engine could leave open: a pod update, cgroups deeper than a
 * walk, an agent restart, a container not identified yet, a pod whose cgroup
 * does not exist yet. None may let a forbidden binary run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "adv.h"
#include "pf_test.h"

static unsigned rounds(unsigned dflt)
{
	const char *s = getenv("PF_ADV_ROUNDS");

	return s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

/* Forbidden execs in a loop from another process; returns how many ran (-1: error). */
static pid_t exec_loop_start(struct adv_node *n, const char *cg, unsigned count, int *result_fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		unsigned ran = 0, blocked = 0;
		struct adv_result r;

		close(p[0]);
		for (unsigned i = 0; i < count; i++) {
			if (adv_attack(n, cg, ADV_PLAIN, n->forbidden, &r))
				_exit(2);
			ran += r.ran;
			blocked += !r.ran && (r.signal == SIGKILL || r.exec_errno == EPERM);
		}
		if (write(p[1], &ran, sizeof(ran)) < 0 ||
		    write(p[1], &blocked, sizeof(blocked)) < 0)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	*result_fd = p[0];
	return pid;
}

/* Rewrites the pod (a label, the way a cluster changes pods constantly) until the loop ends. */
PF_TEST(pod_updates_are_make_before_break)
{
	unsigned count = rounds(300), ran = 0, blocked = 0, updates = 0;
	struct adv_node n;
	char cg[PATH_MAX], label[64], *pol = NULL;
	int fd = -1, status;
	pid_t loop;

	if (!adv_node_setup(&n, "updates", NULL))
		goto out;
	pol = adv_allowlist_yaml(&n, "allow", "victim", NULL, false);
	{
		char *pod = adv_pod_yaml(&n, "victim", "victim", "main", NULL, true);
		bool ok = adv_pods(&n, "pods.yaml", pod) && adv_policy(&n, "policy.yaml", pol);

		free(pod);
		if (!ok)
			goto out;
	}
	adv_container_cgroup(&n, "victim", "main", cg, sizeof(cg));
	adv_expect_runs(&n, "the allowed binary", cg, ADV_PLAIN, n.allowed);
	loop = exec_loop_start(&n, cg, count, &fd);
	if (!ASSERT_TRUE(loop > 0, "exec loop"))
		goto out;
	while (waitpid(loop, &status, WNOHANG) == 0) {
		char *pod;

		snprintf(label, sizeof(label), "revision: \"%u\"", updates++);
		pod = adv_pod_yaml(&n, "victim", "victim", "main", label, false);
		adv_pods(&n, "pods.yaml", pod);
		free(pod);
	}
	if (ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec loop ended well") &&
	    ASSERT_TRUE(read(fd, &ran, sizeof(ran)) == sizeof(ran) &&
			    read(fd, &blocked, sizeof(blocked)) == sizeof(blocked),
			"loop results")) {
		printf("     tried: %u forbidden execs during %u pod updates: %u ran, %u blocked\n",
		       count, updates, ran, blocked);
		ASSERT_EQ(ran, 0, "forbidden execs that ran during pod updates");
		ASSERT_EQ(blocked, count, "forbidden execs blocked");
		ASSERT_GE(updates, 10, "pod updates during the loop");
	}
out:
	if (fd >= 0)
		close(fd);
	free(pol);
	adv_node_teardown(&n);
}

/* An allowlist of app=victim and extra allowlists that push it past a small ruleset. */
static char *policies(const struct adv_node *n, int count)
{
	char *buf = NULL, name[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 0; f && i < count; i++) {
		char *one;

		snprintf(name, sizeof(name), "allow-%d", i);
		one = adv_allowlist_yaml(n, name, "victim", NULL, false);
		fprintf(f, "---\n%s", one ? one : "");
		free(one);
	}
	if (f)
		fclose(f);
	return buf;
}

static void expect_deep(struct adv_node *n, const char *when, const char *d20, const char *d70)
{
	char what[160];

	snprintf(what, sizeof(what), "%s: the forbidden binary 20 cgroups below the container",
		 when);
	adv_expect_blocked(n, what, d20, ADV_PLAIN, n->forbidden);
	snprintf(what, sizeof(what), "%s: the forbidden binary 70 cgroups below the container",
		 when);
	adv_expect_blocked(n, what, d70, ADV_PLAIN, n->forbidden);
	snprintf(what, sizeof(what), "%s: the allowed binary 70 cgroups below", when);
	adv_expect_runs(n, what, d70, ADV_PLAIN, n->allowed);
}

/*
 * Cgroups below the container, created after its binding (the kernel binds
 * them at creation), 20 and 70 levels deep: past any walk's depth bound. A
 * pod update, a workload replaced by a larger one, an agent restart: still
 * enforced.
 */
PF_TEST(cgroups_at_any_depth_stay_enforced)
{
	struct adv_opts o = {.pinned = true};
	struct adv_node n;
	char cg[PATH_MAX], d20[PATH_MAX * 2], d70[PATH_MAX * 2], *pod = NULL, *pol = NULL;
	int fd;

	if (!adv_node_setup(&n, "deep", &o))
		goto out;
	pod = adv_pod_yaml(&n, "victim", "victim", "main", NULL, true);
	pol = policies(&n, 1);
	if (!adv_pods(&n, "pods.yaml", pod) || !adv_policy(&n, "policy.yaml", pol))
		goto out;
	adv_container_cgroup(&n, "victim", "main", cg, sizeof(cg));
	/* 70 levels of "d": under PATH_MAX, so the test can name them. */
	fd = adv_deep_dir(cg, 70, "d");
	if (!ASSERT_TRUE(fd >= 0, "deep cgroups"))
		goto out;
	close(fd);
	snprintf(d20, sizeof(d20), "%s", cg);
	for (int i = 0; i < 20; i++)
		strcat(d20, "/d");
	snprintf(d70, sizeof(d70), "%s", d20);
	for (int i = 20; i < 70; i++)
		strcat(d70, "/d");
	expect_deep(&n, "as created", d20, d70);

	free(pod);
	pod = adv_pod_yaml(&n, "victim", "victim", "main", "revision: \"2\"", false);
	if (!adv_pods(&n, "pods.yaml", pod))
		goto out;
	expect_deep(&n, "after a pod update", d20, d70);

	/* Three policies: more rules than a small ruleset holds, so a new workload id. */
	free(pol);
	pol = policies(&n, 3);
	if (!adv_policy(&n, "policy.yaml", pol))
		goto out;
	expect_deep(&n, "after its workload was replaced", d20, d70);

	if (!adv_node_restart(&n, pod, pol))
		goto out;
	expect_deep(&n, "after an agent restart", d20, d70);
out:
	free(pod);
	free(pol);
	adv_node_teardown(&n);
}

/*
 * A pod whose only rules are a container's: a container not identified yet
 * (restarted: new cgroup, not in the manifest yet) gets the rules of every
 * container of the pod, so it runs nothing any of them forbids.
 */
PF_TEST(unidentified_container_gets_the_strictest_rules)
{
	struct adv_node n;
	char pod_cg[PATH_MAX], restarted[PATH_MAX + 80], side[PATH_MAX], *pod = NULL, *pol = NULL;

	if (!adv_node_setup(&n, "unidentified", NULL))
		goto out;
	pod = adv_pod_yaml(&n, "victim", "victim", "main,side", NULL, true);
	pol = adv_allowlist_yaml(&n, "allow-main", "victim", "main", false);
	if (!adv_pods(&n, "pods.yaml", pod) || !adv_policy(&n, "policy.yaml", pol))
		goto out;
	adv_pod_cgroup(&n, "victim", pod_cg, sizeof(pod_cg));
	adv_container_cgroup(&n, "victim", "side", side, sizeof(side));
	snprintf(restarted, sizeof(restarted), "%s/%064x", pod_cg, 0xbeef);
	if (!ASSERT_OK(mkdir(restarted, 0755) ? -errno : 0, "restarted container's cgroup"))
		goto out;
	adv_expect_blocked(&n, "the forbidden binary in a container not identified yet", restarted,
			   ADV_PLAIN, n.forbidden);
	adv_expect_runs(&n, "the allowed binary there", restarted, ADV_PLAIN, n.allowed);
	/* The container no policy selects stays free. */
	adv_expect_runs(&n, "the forbidden binary in container side (no policy)", side, ADV_PLAIN,
			n.forbidden);
out:
	free(pod);
	free(pol);
	adv_node_teardown(&n);
}

/*
 * A pod known before its cgroup exists: the kernel binds the cgroup when the
 * kubelet creates it, so an exec right after the mkdir is enforced, with no
 * agent in between.
 */
PF_TEST(pod_cgroup_bound_at_its_creation)
{
	unsigned count = rounds(300) / 15 + 1;
	struct adv_node n;
	char *pol = NULL;

	if (!adv_node_setup(&n, "early", NULL))
		goto out;
	pol = adv_allowlist_yaml(&n, "allow", "early", NULL, false);
	if (!adv_policy(&n, "policy.yaml", pol))
		goto out;
	for (unsigned i = 0; i < count; i++) {
		char name[32], file[48], cg[PATH_MAX], pod_cg[PATH_MAX], *pod;
		bool ok;

		snprintf(name, sizeof(name), "early-%u", i);
		snprintf(file, sizeof(file), "pod-%u.yaml", i);
		pod = adv_pod_yaml(&n, name, "early", "main", NULL, false);
		ok = adv_pods(&n, file, pod);
		free(pod);
		if (!ok)
			goto out;
		adv_pod_cgroup(&n, name, pod_cg, sizeof(pod_cg));
		adv_container_cgroup(&n, name, "main", cg, sizeof(cg));
		/* The kubelet, then the runtime, then the container's first exec. */
		if (!ASSERT_OK(mkdir(pod_cg, 0755) ? -errno : 0, "pod cgroup") ||
		    !ASSERT_OK(mkdir(cg, 0755) ? -errno : 0, "container cgroup"))
			goto out;
		if (!adv_expect_blocked(&n, "the forbidden binary right after its cgroup appeared",
					cg, ADV_PLAIN, n.forbidden))
			goto out;
	}
	printf("     %u pods: every first exec enforced before the agent saw the cgroup\n", count);
out:
	free(pol);
	adv_node_teardown(&n);
}
