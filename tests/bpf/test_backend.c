// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: choosing the exec backend. Which backend enforces is covered
 * by running the whole tier once per backend (make vmtest); this checks the
 * one choice a successful load cannot prove right.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "pf_test.h"
#include "podfence/kstore.h"
#include "podfence/log.h"

/*
 * The kernel loads and attaches an LSM program even when "bpf" is not an
 * active LSM, and then never runs it: forcing that backend there must fail
 * instead of leaving every exec unenforced.
 */
PF_TEST(backend_lsm_forced_only_where_bpf_lsm_is_active)
{
	struct pf_kstore_opts opts = {.backend = PF_BACKEND_LSM};
	struct pf_kstore *ks = NULL;
	bool active;
	int err;

	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	(void)pf_kstore_mount_prerequisites(NULL,
					    true); /* a bare host may not have securityfs mounted */
	if (access("/sys/kernel/security/lsm", R_OK))
		PF_SKIP("cannot read /sys/kernel/security/lsm: %s", strerror(errno));
	active = pf_bpf_lsm_active();
	pf_log_route_libbpf(); /* the refused load is expected: keep libbpf's log out */
	err = pf_kstore_open(&ks, &opts, NULL);
	if (!active) {
		ASSERT_EQ(err, -EOPNOTSUPP, "lsm refused: bpf is not an active LSM");
	} else {
		/* Active, yet a kernel without BPF trampolines refuses the program (EPERM). */
		ASSERT_NEQ(err, -EOPNOTSUPP, "lsm not refused for want of bpf in the LSM list");
		if (!err)
			ASSERT_EQ(pf_kstore_backend(ks), PF_BACKEND_LSM, "backend");
	}
	printf("     (bpf %s the active LSMs: forced lsm %s)\n",
	       active ? "is among" : "is not among", err ? strerror(-err) : "loads");
	if (ks)
		pf_kstore_close(ks);
}

/*
 * A kernel without a feature every program needs (bpf_loop() before 5.17,
 * bpf_set_retval() before 5.18) is refused at once, with the feature named,
 * rather than with a verifier log per backend; a kernel with them loads.
 * Both branches run: this host and the 6.x lanes load, the 5.10 lane refuses.
 */
PF_TEST(kernel_lacking_a_needed_feature_is_refused_naming_it)
{
	struct pf_kstore_opts opts = {.backend = PF_BACKEND_NONE};
	struct pf_kstore *ks = NULL;
	char msg[256] = "";
	int missing, err;

	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	missing = pf_kstore_kernel_check(msg, sizeof(msg));
	pf_log_route_libbpf(); /* backends this kernel refuses are expected: keep their log out */
	err = pf_kstore_open(&ks, &opts, NULL);
	if (missing) {
		ASSERT_EQ(missing, -EOPNOTSUPP, "a missing feature is EOPNOTSUPP");
		ASSERT_TRUE(strstr(msg, "lacks ") && strstr(msg, "(Linux "),
			    "the message names the feature and its kernel");
		ASSERT_EQ(err, -EOPNOTSUPP, "the store refuses the kernel");
		ASSERT_TRUE(ks == NULL, "nothing loaded");
		printf("     (refused: %s)\n", msg);
	} else {
		ASSERT_OK(err, "every feature there: the store loads");
		printf("     (every feature the programs need is there: loaded)\n");
	}
	if (ks)
		pf_kstore_close(ks);
}
