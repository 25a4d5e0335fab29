// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: choosing the exec backend. Which backend enforces is covered
 * by running the whole tier once per backend (make vmtest); this checks the
 * one choice a successful load cannot prove right.
 */
#include <errno.h>
#include <stdlib.h>
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
 * The build of the programs is chosen by probing: a kernel without
 * bpf_loop() (before 5.17) or bpf_set_retval() (before 5.18) gets the compat
 * build, with the missing feature named in the log, and loads it; a newer
 * kernel gets the default build unless PODFENCE_PROGRAMS=compat forces the
 * other (the whole tier runs so on this host). Both branches run: the 5.10
 * lanes take the compat one.
 */
PF_TEST(kernel_lacking_bpf_loop_gets_the_compat_programs)
{
	struct pf_kstore_opts opts = {.backend = PF_BACKEND_NONE};
	const char *forced = getenv("PODFENCE_PROGRAMS");
	struct pf_kstore *ks = NULL;
	char msg[256] = "";
	bool compat;
	int err;

	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	err = pf_kstore_kernel_check(&compat, msg, sizeof(msg));
	ASSERT_OK(err, "a kernel from 5.10 has what one build needs");
	pf_log_route_libbpf(); /* backends this kernel refuses are expected: keep their log out */
	err = pf_kstore_open(&ks, &opts, NULL);
	ASSERT_OK(err, "the store loads");
	ASSERT_EQ(pf_kstore_compat(ks), compat, "the build the probe chose");
	if (compat && !(forced && !strcmp(forced, "compat")))
		ASSERT_TRUE(strstr(msg, "lacks bpf_") && strstr(msg, "(Linux 5.1"),
			    "the log names the missing feature and its kernel");
	printf("     (%s build loaded: %s)\n", compat ? "compat" : "default",
	       msg[0] ? msg : "every feature the default build needs is there");
	if (ks)
		pf_kstore_close(ks);
}
