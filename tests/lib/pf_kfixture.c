// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <sched.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "pf_kfixture.h"
#include "podfence/compile.h"
#include "pf_test.h"
#include "podfence/log.h"

uint32_t pf_kfix_node_mntns(void)
{
	struct stat sb;

	return stat("/proc/self/ns/mnt", &sb) ? 0 : (uint32_t)sb.st_ino;
}

struct pf_kstore *pf_kfix_store(struct pf_kstore **slot)
{
	/* The tests run where the agent does: the node's mount namespace is theirs. */
	struct pf_kstore_opts opts = {.attach = true, .node_mntns_inum = pf_kfix_node_mntns()};
	const char *backend = getenv("PF_TEST_BACKEND");
	const char *expect = getenv("PF_TEST_EXPECT_BACKEND");
	enum pf_backend expected;
	int err;

	if (*slot)
		return *slot;
	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	if (backend && pf_backend_parse(backend, &opts.backend))
		PF_SKIP("unknown PF_TEST_BACKEND %s", backend);
	pf_log_route_libbpf();
	(void)pf_kstore_mount_prerequisites(NULL, true);
	if (getenv("PF_TEST_VERBOSE"))
		pf_log_set_level(PF_LOG_DEBUG);
	err = pf_kstore_open(slot, &opts, NULL);
	if (err)
		PF_SKIP("cannot load podfence's BPF object: %s", strerror(-err));
	printf("     (backend: %s)\n", pf_backend_name(pf_kstore_backend(*slot)));
	/* The kernel matrix says which backend automatic selection must pick there. */
	if (expect &&
	    (pf_backend_parse(expect, &expected) || expected != pf_kstore_backend(*slot))) {
		enum pf_backend got = pf_kstore_backend(*slot);

		pf_kstore_close(*slot);
		*slot = NULL;
		PF_ABORT("automatic selection picked backend %s, expected %s", pf_backend_name(got),
			 expect);
	}
	return *slot;
}

int pf_kfix_ruleset_write(struct pf_kstore *ks, uint32_t wl_id, const struct pf_rule *rules,
			  size_t n, uint32_t generation, char *msg, size_t msg_len)
{
	struct pf_ruleset rs;
	int err = pf_ruleset_init(&rs, rules, n, generation);

	return err ? err : pf_kstore_ruleset_write(ks, wl_id, &rs, msg, msg_len);
}

bool pf_kfix_setup(struct pf_kfix *f, struct pf_kstore *ks, const char *name)
{
	char bin[PATH_MAX + 8];

	memset(f, 0, sizeof(*f));
	f->ks = ks;
	if (!ASSERT_OK(pf_tmpdir(f->dir, sizeof(f->dir)), "tmpdir"))
		return false;
	snprintf(bin, sizeof(bin), "%s/bin", f->dir);
	mkdir(bin, 0755);
	snprintf(f->allowed, sizeof(f->allowed), "%s/allowed", bin);
	snprintf(f->forbidden, sizeof(f->forbidden), "%s/forbidden", bin);
	snprintf(f->marker, sizeof(f->marker), "%s/ran", f->dir);
	return ASSERT_OK(pf_copy_file(pf_helper_path("pf_true"), f->allowed), "copy pf_true") &&
	       ASSERT_OK(pf_copy_file(pf_helper_path("pf_marker"), f->forbidden),
			 "copy pf_marker") &&
	       ASSERT_OK(pf_sandbox_cg_create(&f->cg, NULL, name), "cgroup") &&
	       ASSERT_OK(pf_kstore_alloc_wl_id(ks, false, &f->wl_id), "wl id") &&
	       ASSERT_OK(pf_kstore_alloc_policy_id(ks, &f->policy_id), "policy id") &&
	       ASSERT_OK(pf_kstore_counters_create(ks, f->policy_id), "counters");
}

void pf_kfix_teardown(struct pf_kfix *f)
{
	pf_sandbox_cg_destroy(&f->cg);
	if (f->ks && f->wl_id) {
		pf_kstore_ruleset_delete(f->ks, f->wl_id);
		pf_kstore_counters_delete(f->ks, f->policy_id);
	}
	if (f->dir[0])
		pf_rm_rf(f->dir);
}

bool pf_exec_blocked(const struct pf_exec_result *r)
{
	return r->exec_errno == EPERM || r->signal == SIGKILL;
}

/* Whether the backend stops an exec by failing it with EPERM (LSM, fmod_ret). */
static bool backend_fails_exec(enum pf_backend b)
{
	return b == PF_BACKEND_LSM || b == PF_BACKEND_FMODRET;
}

bool pf_exec_blocked_by_backend(const struct pf_kstore *ks, const struct pf_exec_result *r)
{
	/* -EPERM from the hook: execve() returns -1 in the caller, no new image. */
	if (backend_fails_exec(pf_kstore_backend(ks)))
		return r->exec_errno == EPERM && r->exited && r->signal == 0;
	/* Fallback: the exec went through and the new image was killed at once. */
	return r->exec_errno == 0 && r->signal == SIGKILL;
}

int pf_kfix_netns_lo(void)
{
	struct ifreq ifr = {.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING};
	int ctl, err = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(ctl, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(ctl);
	return err;
}
