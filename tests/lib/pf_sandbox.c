// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "pf_sandbox.h"
#include "podfence/cgroup.h"

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

int pf_sandbox_cg_create(struct pf_sandbox_cg *cg, const struct pf_sandbox_cg *parent,
			 const char *name)
{
	char root[PATH_MAX];
	int err;

	if (parent) {
		snprintf(cg->path, sizeof(cg->path), "%s/%s", parent->path, name);
	} else {
		err = pf_cgroup2_mount(root, sizeof(root));
		if (err)
			return err;
		snprintf(cg->path, sizeof(cg->path), "%s/podfence-test-%d-%s", root, getpid(),
			 name);
	}
	if (mkdir(cg->path, 0755) && errno != EEXIST)
		return -errno;
	return pf_cgroup_id(cg->path, &cg->id);
}

static void cg_remove_tree(const char *path)
{
	char kill_path[PATH_MAX + 16], child[PATH_MAX];
	struct dirent *de;
	DIR *d;

	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
			cg_remove_tree(child);
		}
		closedir(d);
	}
	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", path);
	write_file(kill_path, "1");
	for (int i = 0; i < 100 && rmdir(path) && errno == EBUSY; i++)
		usleep(10000);
}

void pf_sandbox_cg_destroy(struct pf_sandbox_cg *cg)
{
	if (cg->path[0])
		cg_remove_tree(cg->path);
	cg->path[0] = 0;
}

const char *pf_exec_how_name(enum pf_exec_how how)
{
	static const char *const names[] = {"absolute path", "relative path", "symlink", "fexecve",
					    "memfd"};

	return how <= PF_EXEC_MEMFD ? names[how] : "?";
}

static int memfd_copy(const char *binary)
{
	struct stat st;
	int src, mfd;

	src = open(binary, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -1;
	mfd = memfd_create("pf-test", MFD_CLOEXEC);
	if (mfd >= 0 && (fstat(src, &st) || sendfile(mfd, src, NULL, st.st_size) != st.st_size)) {
		close(mfd);
		mfd = -1;
	}
	close(src);
	return mfd;
}

/* In the child: join the cgroup, exec the requested way; reports errno on the pipe. */
static void child_exec(const struct pf_sandbox_cg *cg, const char *binary, const char *link,
		       const char *arg, enum pf_exec_how how, int report_fd)
{
	char procs[PATH_MAX + 16], dir[PATH_MAX], base[PATH_MAX], rel[PATH_MAX + 2];
	char *argv[] = {(char *)binary, (char *)arg, NULL};
	extern char **environ;
	int fd, err;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
	if (write_file(procs, "0"))
		goto fail;
	switch (how) {
	case PF_EXEC_PATH:
		execve(binary, argv, environ);
		break;
	case PF_EXEC_RELATIVE:
		snprintf(dir, sizeof(dir), "%s", binary);
		snprintf(base, sizeof(base), "%s", binary);
		if (chdir(dirname(dir)))
			goto fail;
		snprintf(rel, sizeof(rel), "./%s", basename(base));
		execve(rel, argv, environ);
		break;
	case PF_EXEC_SYMLINK:
		execve(link, argv, environ);
		break;
	case PF_EXEC_FEXECVE:
		fd = open(binary, O_RDONLY);
		if (fd < 0)
			goto fail;
		fexecve(fd, argv, environ);
		break;
	case PF_EXEC_MEMFD:
		fd = memfd_copy(binary);
		if (fd < 0)
			goto fail;
		fexecve(fd, argv, environ);
		break;
	}
fail:
	err = errno ? errno : EINVAL;
	if (write(report_fd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

int pf_sandbox_fork(void (*child)(void *ctx, int report_fd), void *ctx, void *report,
		    size_t report_len, ssize_t *got, struct pf_exec_result *res)
{
	int pipefd[2], status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(pipefd[0]);
		child(ctx, pipefd[1]);
		_exit(127);
	}
	close(pipefd[1]);
	/* The pipe closes on a successful exec (O_CLOEXEC) or carries what went wrong. */
	*got = read(pipefd[0], report, report_len);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	res->exited = WIFEXITED(status);
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return 0;
}

struct exec_args {
	const struct pf_sandbox_cg *cg;
	const char *binary, *link, *arg;
	enum pf_exec_how how;
};

static void exec_child(void *ctx, int report_fd)
{
	struct exec_args *a = ctx;

	child_exec(a->cg, a->binary, a->link, a->arg, a->how, report_fd);
}

int pf_sandbox_exec(const struct pf_sandbox_cg *cg, const char *binary, const char *arg,
		    enum pf_exec_how how, struct pf_exec_result *res)
{
	char tmp[PATH_MAX] = "", link[PATH_MAX + 8] = "";
	struct exec_args a = {cg, binary, link, arg, how};
	int exec_err = 0, err;
	ssize_t got;

	if (how == PF_EXEC_SYMLINK) {
		if (pf_tmpdir(tmp, sizeof(tmp)))
			return -errno;
		snprintf(link, sizeof(link), "%s/link", tmp);
		if (symlink(binary, link))
			return -errno;
	}
	err = pf_sandbox_fork(exec_child, &a, &exec_err, sizeof(exec_err), &got, res);
	if (!err && got == sizeof(exec_err))
		res->exec_errno = exec_err;
	if (tmp[0])
		pf_rm_rf(tmp);
	return err;
}

int pf_mkdir_p(const char *path)
{
	char buf[PATH_MAX * 2];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -errno : 0;
}

const char *pf_helper_path(const char *name)
{
	static char buf[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	/* Test binaries live in build/tests/, helpers in build/tests/helpers/. */
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	snprintf(buf, sizeof(buf), "%s/helpers/%s", dirname(exe), name);
	return buf;
}

int pf_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/podfence-test-XXXXXX");
	return mkdtemp(buf) ? 0 : -errno;
}

void pf_rm_rf(const char *path)
{
	char cmd[PATH_MAX + 16];

	if (!path || strncmp(path, "/tmp/", 5) != 0)
		return; /* only ever remove test temp dirs */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

bool pf_file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int pf_copy_file(const char *src, const char *dst)
{
	struct stat st;
	int in, out, err = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st)) {
		err = -errno;
		goto out_in;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
	if (out < 0) {
		err = -errno;
		goto out_in;
	}
	if (sendfile(out, in, NULL, st.st_size) != st.st_size)
		err = -EIO;
	close(out);
out_in:
	close(in);
	return err;
}
