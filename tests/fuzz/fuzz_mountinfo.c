// SPDX-License-Identifier: Apache-2.0
/*
 * /proc/self/mountinfo as pf_cgroup2_mount_from() reads it: the input is
 * written to a memfd and read back through its /proc/self/fd path, with the
 * agent's PATH_MAX buffer and with a short one (the -ENAMETOOLONG path).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "fuzz.h"
#include "podfence/cgroup.h"

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("mountinfo", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void check(char *buf, size_t len)
{
	int err = pf_cgroup2_mount_from(memfd_path, buf, len);

	FUZZ_CHECK(err == 0 || err == -ENOENT || err == -ENAMETOOLONG);
	if (err == 0)
		FUZZ_CHECK(strnlen(buf, len) < len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[PATH_MAX], small[16];

	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	check(buf, sizeof(buf));
	check(small, sizeof(small));
	return 0;
}
