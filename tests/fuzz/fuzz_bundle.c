// SPDX-License-Identifier: Apache-2.0
/*
 * A container runtime's bundle (config.json): written by the runtime from
 * what a pod's creator asked for, its annotations included. Whatever it
 * holds, the reader returns a container (id, pod uid, a name unless a sandbox), -ENODATA
 * (not a Kubernetes container) or an error with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "fuzz.h"
#include "podfence/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_runtime_container c = {0};
	char path[64], err[256] = "";
	int fd = memfd_create("config.json", MFD_CLOEXEC), ret;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = pf_runtime_bundle_read(path, "0123abcd", &c, err, sizeof(err));
	if (ret == 0) {
		FUZZ_CHECK(c.id[0] && c.pod_uid && (c.sandbox || c.name));
		pf_runtime_container_free(&c);
	} else if (ret != -ENODATA) {
		FUZZ_CHECK(err[0]);
	}
	close(fd);
	return 0;
}
