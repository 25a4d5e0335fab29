/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Real processes in real cgroups for kernel tests: every test runs its
 * children in a cgroup of its own under the cgroup2 mount, so a deny can never
 * hit the host, and removes it afterwards.
 */
#ifndef PF_SANDBOX_H
#define PF_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>

struct pf_sandbox_cg {
	char path[PATH_MAX];
	uint64_t id;
};

/* Creates <cgroup2>/podfence-test-<pid>-<name> (or a child of parent when given). */
int pf_sandbox_cg_create(struct pf_sandbox_cg *cg, const struct pf_sandbox_cg *parent,
			 const char *name);
/* Kills what is left in it and removes it. */
void pf_sandbox_cg_destroy(struct pf_sandbox_cg *cg);

enum pf_exec_how {
	PF_EXEC_PATH = 0, /* execve(absolute path) */
	PF_EXEC_RELATIVE, /* chdir(dirname) then execve("./name") */
	PF_EXEC_SYMLINK,  /* execve(a symlink to it, made in a temp dir) */
	PF_EXEC_FEXECVE,  /* open() then fexecve(fd) */
	PF_EXEC_MEMFD,	  /* copy into a memfd, then fexecve(memfd) */
};

struct pf_exec_result {
	bool exited;
	int exit_code;
	int signal;	/* terminating signal, 0 if exited */
	int exec_errno; /* errno of a failed exec (EPERM on LSM backends), 0 if it succeeded */
};

/*
 * Forks a child that runs `child` (it execs, or _exits after writing what
 * went wrong to report_fd, which closes on a successful exec) and waits for
 * it: *got is how many bytes of report it wrote, res how it ended.
 */
int pf_sandbox_fork(void (*child)(void *ctx, int report_fd), void *ctx, void *report,
		    size_t report_len, ssize_t *got, struct pf_exec_result *res);

/*
 * Forks a child that moves itself into cg, then execs `binary` the given way
 * with argv {binary, arg} (arg may be NULL). Waits for it.
 */
int pf_sandbox_exec(const struct pf_sandbox_cg *cg, const char *binary, const char *arg,
		    enum pf_exec_how how, struct pf_exec_result *res);
const char *pf_exec_how_name(enum pf_exec_how how);

/* Absolute path of a test helper binary (build/tests/helpers/<name>). */
const char *pf_helper_path(const char *name);
/* A fresh temp directory for the test (removed by the caller with pf_rm_rf). */
int pf_tmpdir(char *buf, size_t len);
void pf_rm_rf(const char *path);
bool pf_file_exists(const char *path);
/* mkdir -p */
int pf_mkdir_p(const char *path);
/* Copies a file (mode kept). */
int pf_copy_file(const char *src, const char *dst);

#endif /* PF_SANDBOX_H */
