// SPDX-License-Identifier: Apache-2.0
/*
 * The path is the file's path as the container sees it: a process cannot
 * choose the root or the mount namespace its exec is judged in.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include "adv.h"
#include "pf_test.h"

static bool victim(struct adv_node *n, const char *name, bool any_view, char *cg, size_t len)
{
	char *pod, *pol;
	bool ok;

	if (!adv_node_setup(n, name, NULL))
		return false;
	pod = adv_pod_yaml(n, "victim", "victim", "main", NULL, true);
	pol = adv_allowlist_yaml(n, "allow", "victim", NULL, any_view);
	ok = adv_pods(n, "pods.yaml", pod) && adv_policy(n, "policy.yaml", pol);
	free(pod);
	free(pol);
	adv_container_cgroup(n, "victim", "main", cg, len);
	return ok;
}

PF_TEST(view_a_process_cannot_choose_its_root_or_mount_namespace)
{
	struct adv_node n;
	char cg[PATH_MAX];

	if (!victim(&n, "view", false, cg, sizeof(cg)))
		goto out;
	/* The first exec anchors the container's view: its mount namespace. */
	adv_expect_runs(&n, "the allowed binary", cg, ADV_PLAIN, n.allowed);
	adv_expect_blocked(&n, "the forbidden binary", cg, ADV_PLAIN, n.forbidden);
	adv_expect_blocked(&n, "its own binary at the allowed path in a chroot", cg, ADV_CHROOT,
			   n.allowed);
	adv_expect_blocked(&n,
			   "the allowed binary from a chroot (its loader would be the chroot's)",
			   cg, ADV_CHROOT_FD, n.allowed);
	adv_expect_blocked(&n, "its own binary bind-mounted over the allowed path", cg,
			   ADV_USERNS_BIND, n.allowed);
	adv_expect_blocked(&n, "its own binary on a tmpfs over the allowed directory", cg,
			   ADV_USERNS_TMPFS, n.allowed);
	adv_expect_blocked(&n, "its own binary at the allowed path after pivot_root", cg,
			   ADV_USERNS_PIVOT, n.allowed);
	adv_expect_blocked(&n, "its own binary through a detached mount, relative exec", cg,
			   ADV_DETACHED, n.allowed);
	adv_expect_blocked(&n, "another namespace's file at the allowed path via /proc/<pid>/root",
			   cg, ADV_PROC_ROOT, n.allowed);
	adv_expect_blocked(&n, "an fd of another namespace's file at the allowed path", cg,
			   ADV_FD_PASS, n.allowed);
	adv_expect_blocked(&n,
			   "the allowed binary itself from a namespace of its own (fail closed)",
			   cg, ADV_USERNS, n.allowed);
	/* The container's own view still works after all that. */
	adv_expect_runs(&n, "the allowed binary, again", cg, ADV_PLAIN, n.allowed);
out:
	adv_node_teardown(&n);
}

/* podfence.io/path-view: task: paths in the task's own view, for nested containers. */
PF_TEST(view_opt_out_matches_paths_in_the_tasks_own_view)
{
	struct adv_node n;
	char cg[PATH_MAX];

	if (!victim(&n, "view-opt-out", true, cg, sizeof(cg)))
		goto out;
	adv_expect_runs(&n, "the allowed binary", cg, ADV_PLAIN, n.allowed);
	adv_expect_runs(&n, "the allowed binary from a namespace of its own (opted out)", cg,
			ADV_USERNS, n.allowed);
	adv_expect_blocked(&n, "the forbidden binary from a namespace of its own (by its name)", cg,
			   ADV_USERNS_TMPFS, n.forbidden);
	adv_expect_blocked(&n, "the forbidden binary from a chroot (by its name there)", cg,
			   ADV_CHROOT_FD, n.forbidden);
out:
	adv_node_teardown(&n);
}

/*
 * A pod bound while it runs: its view is anchored to the mount namespace of
 * its oldest process, so a process that left for a namespace of its own
 * before the policy came cannot be the one whose exec anchors it.
 */
PF_TEST(view_anchored_to_the_running_container_not_to_the_first_exec)
{
	struct adv_node n;
	char cg[PATH_MAX], procs[PATH_MAX + 16];
	char *pod = NULL, *pol = NULL;
	pid_t sleeper = -1;
	int ready[2];

	if (!adv_node_setup(&n, "view-running", NULL))
		goto out;
	pod = adv_pod_yaml(&n, "victim", "victim", "main", NULL, true);
	if (!adv_pods(&n, "pods.yaml", pod))
		goto out;
	adv_container_cgroup(&n, "victim", "main", cg, sizeof(cg));
	/* The container's first process, in the container's (here: the node's) namespace. */
	if (!ASSERT_OK(pipe(ready), "pipe"))
		goto out;
	sleeper = fork();
	if (sleeper == 0) {
		FILE *f;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		f = fopen(procs, "w");
		if (!f || fprintf(f, "0") < 0 || fclose(f))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (!ASSERT_TRUE(read(ready[0], procs, 1) == 1, "the container runs"))
		goto out;
	close(ready[0]);
	pol = adv_allowlist_yaml(&n, "allow", "victim", NULL, false);
	if (!adv_policy(&n, "policy.yaml", pol))
		goto out;
	adv_expect_blocked(&n, "first exec after the binding, from a namespace of its own", cg,
			   ADV_USERNS_BIND, n.allowed);
	adv_expect_runs(&n, "the allowed binary in the container's namespace", cg, ADV_PLAIN,
			n.allowed);
	adv_expect_blocked(&n, "then its own binary over the allowed path", cg, ADV_USERNS_TMPFS,
			   n.allowed);
out:
	if (sleeper > 0) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
	}
	free(pod);
	free(pol);
	adv_node_teardown(&n);
}

/*
 * A memfd names nothing in any view: its exec neither anchors the view (a
 * runtime's helper may exec one in the container's cgroup before the
 * container's first exec) nor escapes the policy.
 */
PF_TEST(view_memfd_exec_does_not_anchor)
{
	struct adv_node n;
	char cg[PATH_MAX];

	if (!victim(&n, "view-memfd", false, cg, sizeof(cg)))
		goto out;
	adv_expect_blocked(&n, "first exec in the cgroup: a memfd from a namespace of its own", cg,
			   ADV_USERNS_MEMFD, n.allowed);
	adv_expect_runs(&n, "then the allowed binary in the container's namespace (anchors it)", cg,
			ADV_PLAIN, n.allowed);
	adv_expect_blocked(&n, "then its own binary over the allowed path", cg, ADV_USERNS_BIND,
			   n.allowed);
out:
	adv_node_teardown(&n);
}

/*
 * The runtime's re-exec of itself before a container's first exec (a memfd
 * or a detached mount, from the node's mount namespace) is let through: no
 * process of a pod can pass for it, from a namespace of its own or a chroot,
 * before or after the container's first exec.
 */
PF_TEST(view_runtime_exemption_is_not_for_a_pods_processes)
{
	struct adv_node n;
	char cg[PATH_MAX];

	if (!victim(&n, "view-runtime", false, cg, sizeof(cg)))
		goto out;
	adv_expect_blocked(&n, "first exec: its own binary at the allowed path, detached mount", cg,
			   ADV_DETACHED, n.allowed);
	adv_expect_blocked(&n, "first exec: a memfd copy from a namespace of its own", cg,
			   ADV_USERNS_MEMFD, n.forbidden);
	adv_expect_blocked(&n, "first exec: the forbidden binary from a chroot", cg, ADV_CHROOT_FD,
			   n.forbidden);
	adv_expect_runs(&n, "the allowed binary (anchors the container's view)", cg, ADV_PLAIN,
			n.allowed);
	adv_expect_blocked(&n, "then its own binary at the allowed path, detached mount", cg,
			   ADV_DETACHED, n.allowed);
out:
	adv_node_teardown(&n);
}
