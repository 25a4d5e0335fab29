// SPDX-License-Identifier: Apache-2.0
/* cgroup helpers that need the real cgroup2 hierarchy (root). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pf_sandbox.h"
#include "pf_test.h"
#include "podfence/cgroup.h"

/* A cgroup's path from its id: how takeover finds out where a stale binding is. */
PF_TEST(cgroup_path_by_id_finds_a_live_cgroup_only)
{
	struct pf_sandbox_cg cg = {}, child = {};
	char root[PATH_MAX], path[PATH_MAX];
	uint64_t id;

	if (geteuid() != 0)
		PF_SKIP("needs root (open_by_handle_at on cgroupfs)");
	if (!ASSERT_OK(pf_cgroup2_mount(root, sizeof(root)), "cgroup2 mount") ||
	    !ASSERT_OK(pf_sandbox_cg_create(&cg, NULL, "path-by-id"), "cgroup") ||
	    !ASSERT_OK(pf_sandbox_cg_create(&child, &cg, "child"), "child cgroup"))
		goto out;
	if (ASSERT_OK(pf_cgroup_path_by_id(root, child.id, path, sizeof(path)),
		      "path of the child"))
		ASSERT_STREQ(path, child.path, "the child's path");
	id = child.id;
	pf_sandbox_cg_destroy(&child);
	ASSERT_EQ(pf_cgroup_path_by_id(root, id, path, sizeof(path)), -ENOENT, "removed: gone");
	ASSERT_EQ(pf_cgroup_path_by_id(root, cg.id, path, 4), -ENAMETOOLONG, "small buffer");
out:
	pf_sandbox_cg_destroy(&child);
	pf_sandbox_cg_destroy(&cg);
}
