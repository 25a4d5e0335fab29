// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: choosing the exec backend. Which backend enforces is covered
 * by running the whole tier once per backend (make vmtest); this checks the
 * one choice a successful load cannot prove right.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "pf_test.h"
#include "podfence/kstore.h"
#include "podfence/log.h"

static bool bpf_in_lsm_list(void)
{
	char buf[512] = "";
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		PF_SKIP("cannot read /sys/kernel/security/lsm: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (strcmp(tok, "bpf") == 0)
			return true;
	return false;
}

/*
 * The kernel loads and attaches an LSM program even when "bpf" is not an
 * active LSM, and then never runs it: forcing that backend there must fail
 * instead of leaving every exec unenforced.
 */
PF_TEST(backend_lsm_forced_only_where_bpf_lsm_is_active)
{
	struct pf_kstore_opts opts = { .backend = PF_BACKEND_LSM };
	struct pf_kstore *ks = NULL;
	bool active;
	int err;

	if (geteuid() != 0)
		PF_SKIP("kernel tier needs root");
	active = bpf_in_lsm_list();
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
	printf("     (bpf %s the active LSMs: forced lsm %s)\n", active ? "is among" : "is not among",
	       err ? strerror(-err) : "loads");
	if (ks)
		pf_kstore_close(ks);
}
