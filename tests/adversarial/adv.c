// SPDX-License-Identifier: Apache-2.0
/* The adversarial tier's node and attacks (see adv.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "adv.h"
#include "pf_give.h"
#include "pf_test.h"
#include "podfence/policy.h"
#include "podfence/pod.h"

#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#define ADV_OPEN_TREE_CLONE 1
#define ADV_AT_RECURSIVE    0x8000

static struct pf_kstore *shared_store;

/* ---- the node ----------------------------------------------------------- */

static struct pf_kstore *node_store(struct adv_node *n, const char *name, const struct adv_opts *o)
{
	struct pf_kstore_opts opts = {.attach = true, .node_mntns_inum = pf_kfix_node_mntns()};
	int err;

	if (!o || (!o->pinned && !o->cg_map_size)) {
		n->own_store = false;
		return pf_kfix_store(&shared_store); /* PF_SKIP()s when it cannot run */
	}
	pf_kfix_store(&shared_store); /* same checks, and the backend choice, first */
	opts.backend = pf_kstore_backend(shared_store);
	if (o->pinned) {
		snprintf(n->pin_dir, sizeof(n->pin_dir), "/sys/fs/bpf/podfence-adv-%d-%s", getpid(),
			 name);
		opts.pin_dir = n->pin_dir;
	}
	opts.max_entries[PF_KMAP_CGROUPS] = o->cg_map_size;
	err = pf_kstore_open(&n->ks, &opts, NULL);
	if (!ASSERT_OK(err, "a store of the node's own"))
		return NULL;
	n->own_store = true;
	return n->ks;
}

bool adv_node_setup(struct adv_node *n, const char *name, const struct adv_opts *o)
{
	char bin[PATH_MAX + 8], *real;

	memset(n, 0, sizeof(*n));
	n->ks = node_store(n, name, o);
	if (!n->ks || !ASSERT_OK(pf_tmpdir(n->dir, sizeof(n->dir)), "tmpdir"))
		return false;
	/* Policy values name paths as the kernel resolves them. */
	real = realpath(n->dir, NULL);
	if (!ASSERT_NOT_NULL(real, "realpath"))
		return false;
	snprintf(n->root, sizeof(n->root), "%s", real);
	free(real);
	snprintf(bin, sizeof(bin), "%s/bin", n->root);
	snprintf(n->allowed, sizeof(n->allowed), "%s/allowed", bin);
	snprintf(n->forbidden, sizeof(n->forbidden), "%s/forbidden", bin);
	snprintf(n->marker, sizeof(n->marker), "%s/ran", n->root);
	snprintf(n->jail, sizeof(n->jail), "%s/jail", n->root);
	{
		/* The jail mirrors the allowed path, with the forbidden binary there. */
		char fake[PATH_MAX * 3], fake_bin[PATH_MAX * 3], old[PATH_MAX + 40];

		snprintf(fake_bin, sizeof(fake_bin), "%s%s", n->jail, bin);
		snprintf(fake, sizeof(fake), "%s%s", n->jail, n->allowed);
		snprintf(old, sizeof(old), "%s/old", n->jail);
		if (!ASSERT_OK(pf_mkdir_p(bin), "bin") ||
		    !ASSERT_OK(pf_mkdir_p(fake_bin), "jail") ||
		    !ASSERT_OK(pf_mkdir_p(old), "jail/old") ||
		    !ASSERT_OK(pf_copy_file(pf_helper_path("pf_marker"), fake), "jail's binary"))
			return false;
	}
	if (!ASSERT_OK(pf_copy_file(pf_helper_path("pf_true"), n->allowed), "copy pf_true") ||
	    !ASSERT_OK(pf_copy_file(pf_helper_path("pf_marker"), n->forbidden), "copy pf_marker") ||
	    !ASSERT_OK(pf_sandbox_cg_create(&n->cg, NULL, name), "node cgroup"))
		return false;
	/* The kubelet's QoS parent exists before any pod of the class. */
	snprintf(bin, sizeof(bin), "%s/kubepods/burstable", n->cg.path);
	if (!ASSERT_OK(pf_mkdir_p(bin), "kubepods cgroup"))
		return false;
	n->e = pf_engine_new(pf_kstore_store(n->ks), n->cg.path);
	return ASSERT_NOT_NULL(n->e, "engine");
}

void adv_node_teardown(struct adv_node *n)
{
	if (n->e) {
		/* Leaves the kernel as the agent would with no inputs: nothing bound. */
		for (unsigned i = 0; i < n->files; i++) {
			if (n->file[i].pods)
				pf_engine_pod_file_removed(n->e, n->file[i].name);
			else
				pf_engine_policy_file_removed(n->e, n->file[i].name);
		}
		pf_engine_sync(n->e);
		pf_engine_collect(n->e);
		pf_engine_free(n->e);
	}
	pf_sandbox_cg_destroy(&n->cg);
	if (n->own_store)
		pf_kstore_close(n->ks);
	if (n->pin_dir[0])
		pf_kstore_unpin(n->pin_dir);
	if (n->dir[0])
		pf_rm_rf(n->dir);
}

/* Remembers the names of the files given, to remove them all at teardown. */
static void remember(struct adv_node *n, const char *file, bool pods)
{
	for (unsigned i = 0; i < n->files; i++)
		if (strcmp(n->file[i].name, file) == 0)
			return;
	if (n->files < sizeof(n->file) / sizeof(n->file[0])) {
		snprintf(n->file[n->files].name, sizeof(n->file[0].name), "%s", file);
		n->file[n->files++].pods = pods;
	}
}

static bool give(struct adv_node *n, const char *file, const char *yaml, bool pods)
{
	bool ok =
	    ASSERT_NOT_NULL(yaml, file) && ASSERT_OK(pf_give(n->e, file, yaml, pods, NULL), file);

	if (ok)
		remember(n, file, pods);
	adv_sync(n);
	return ok;
}

bool adv_policy(struct adv_node *n, const char *file, const char *yaml)
{
	return give(n, file, yaml, false);
}

bool adv_pods(struct adv_node *n, const char *file, const char *yaml)
{
	return give(n, file, yaml, true);
}

void adv_sync(struct adv_node *n)
{
	pf_engine_sync(n->e);
	pf_engine_collect(n->e);
}

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void pod_uid(const char *pod, char uid[40])
{
	snprintf(uid, 40, "adf00000-0000-4000-8000-%012llx",
		 (unsigned long long)(fnv(pod, 0xcbf29ce484222325ull) & 0xffffffffffffull));
}

static void container_id(const char *pod, const char *c, char id[65])
{
	uint64_t h = fnv(c, fnv(pod, 0xcbf29ce484222325ull));

	snprintf(id, 65, "%016llx%016llx%016llx%016llx", (unsigned long long)h,
		 (unsigned long long)(h * 3), (unsigned long long)(h * 5),
		 (unsigned long long)(h * 7));
}

void adv_pod_cgroup(const struct adv_node *n, const char *pod, char *buf, size_t len)
{
	char uid[40];

	pod_uid(pod, uid);
	snprintf(buf, len, "%s/kubepods/burstable/pod%s", n->cg.path, uid);
}

void adv_container_cgroup(const struct adv_node *n, const char *pod, const char *container,
			  char *buf, size_t len)
{
	char dir[PATH_MAX], id[65];

	adv_pod_cgroup(n, pod, dir, sizeof(dir));
	container_id(pod, container, id);
	snprintf(buf, len, "%s/%s", dir, id);
}

char *adv_pod_yaml(struct adv_node *n, const char *name, const char *app, const char *containers,
		   const char *extra_label, bool mkdirs)
{
	char *buf = NULL, uid[40], id[65], list[256], *save = NULL, dir[PATH_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	pod_uid(name, uid);
	fprintf(f,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\n"
		"  uid: %s\n  labels:\n    app: \"%s\"\n",
		name, uid, app);
	if (extra_label)
		fprintf(f, "    %s\n", extra_label);
	fprintf(f, "spec:\n  containers:\n");
	snprintf(list, sizeof(list), "%s", containers);
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
		fprintf(f, "  - name: %s\n    image: example/%s\n", c, c);
	fprintf(f, "status:\n  qosClass: Burstable\n  containerStatuses:\n");
	snprintf(list, sizeof(list), "%s", containers);
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		container_id(name, c, id);
		fprintf(f, "  - name: %s\n    containerID: containerd://%s\n", c, id);
		if (mkdirs) {
			adv_container_cgroup(n, name, c, dir, sizeof(dir));
			pf_mkdir_p(dir);
		}
	}
	if (mkdirs) {
		adv_pod_cgroup(n, name, dir, sizeof(dir));
		pf_mkdir_p(dir);
	}
	fclose(f);
	return buf;
}

char *adv_allowlist_yaml(const struct adv_node *n, const char *name, const char *app,
			 const char *container, bool any_view)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: %s\n",
		name);
	if (any_view)
		fprintf(f, "  annotations: {podfence.io/path-view: task}\n");
	fprintf(f, "spec:\n  podSelector: {matchLabels: {app: \"%s\"}}\n", app);
	if (container)
		fprintf(f, "  containerSelector: {matchLabels: {name: %s}}\n", container);
	fprintf(f,
		"  kprobes:\n  - call: security_bprm_creds_for_exec\n    syscall: false\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		"    - matchArgs: [{index: 0, operator: NotEqual, values: [\"%s\"]}]\n"
		"      matchActions: [{action: Override, argError: -1}]\n",
		n->allowed);
	fclose(f);
	return buf;
}

bool adv_node_restart(struct adv_node *n, const char *pod_yaml, const char *policy_yaml)
{
	struct pf_kstore_opts opts = {
	    .attach = true, .pin_dir = n->pin_dir, .node_mntns_inum = pf_kfix_node_mntns()};
	bool took_over = false;
	int err;

	if (!ASSERT_TRUE(n->own_store && n->pin_dir[0], "a pinned node"))
		return false;
	opts.backend = pf_kstore_backend(n->ks);
	/* What a SIGKILLed agent leaves: the pinned state, nothing else. */
	pf_engine_free(n->e);
	pf_kstore_close(n->ks);
	n->e = NULL;
	err = pf_kstore_open(&n->ks, &opts, &took_over);
	if (!ASSERT_OK(err, "store taken over") || !ASSERT_TRUE(took_over, "took over"))
		return false;
	n->e = pf_engine_new(pf_kstore_store(n->ks), n->cg.path);
	if (!ASSERT_NOT_NULL(n->e, "engine"))
		return false;
	if (!adv_pods(n, "pods.yaml", pod_yaml) || !adv_policy(n, "policy.yaml", policy_yaml))
		return false;
	return ASSERT_OK(pf_engine_takeover_gc(n->e), "takeover gc");
}

/* ---- attacks -------------------------------------------------------------- */

const char *adv_attack_name(enum adv_attack a)
{
	static const char *const names[ADV__MAX] = {
	    [ADV_PLAIN] = "plain exec",
	    [ADV_CHROOT] = "chroot",
	    [ADV_CHROOT_FD] = "chroot + fexecve",
	    [ADV_USERNS] = "user+mount namespace",
	    [ADV_USERNS_BIND] = "user+mount namespace, bind mount",
	    [ADV_USERNS_TMPFS] = "user+mount namespace, tmpfs",
	    [ADV_USERNS_PIVOT] = "user+mount namespace, pivot_root",
	    [ADV_USERNS_MEMFD] = "user+mount namespace, memfd",
	    [ADV_DETACHED] = "detached mount (open_tree), execveat",
	    [ADV_PROC_ROOT] = "/proc/<pid>/root of another namespace",
	    [ADV_FD_PASS] = "fd passed from another namespace",
	    [ADV_DEEP] = "300-component path",
	    [ADV_LONG] = "5,000-byte path",
	};

	return a < ADV__MAX ? names[a] : "?";
}

struct report {
	int kind; /* 1: setup failed (msg), 2: exec failed (err) */
	int err;
	char msg[160];
};

static void fail_setup(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void fail_setup(int fd, const char *fmt, ...)
{
	struct report r = {.kind = 1, .err = errno};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	snprintf(r.msg + strlen(r.msg), sizeof(r.msg) - strlen(r.msg), ": %s", strerror(r.err));
	if (write(fd, &r, sizeof(r)) < 0)
		_exit(124);
	_exit(125);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, s, strlen(s));
	close(fd);
	return w < 0 ? -1 : 0;
}

/* What containerd and Docker give a container: CAP_SYS_CHROOT yes, CAP_SYS_ADMIN no. */
static int drop_to_container_caps(void)
{
	static const int keep[] = {
	    CAP_CHOWN,	    CAP_DAC_OVERRIDE, CAP_FOWNER,      CAP_FSETID,	     CAP_KILL,
	    CAP_SETGID,	    CAP_SETUID,	      CAP_SETPCAP,     CAP_NET_BIND_SERVICE, CAP_NET_RAW,
	    CAP_SYS_CHROOT, CAP_MKNOD,	      CAP_AUDIT_WRITE, CAP_SETFCAP};
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {};
	uint64_t mask = 0;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		mask |= 1ull << keep[i];
	for (int c = 0; c < 64; c++)
		if (!(mask & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			return -1;
	d[0].effective = d[0].permitted = (uint32_t)mask;
	d[1].effective = d[1].permitted = (uint32_t)(mask >> 32);
	return (int)syscall(SYS_capset, &h, d);
}

/* A user namespace of its own (as any unprivileged process may), with a mount namespace. */
static void userns_enter(int report)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		fail_setup(report, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
	if (write_str("/proc/self/setgroups", "deny") || write_str("/proc/self/uid_map", "0 0 1") ||
	    write_str("/proc/self/gid_map", "0 0 1"))
		fail_setup(report, "uid/gid maps");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		fail_setup(report, "mount --make-rprivate /");
}

static int copy_fd_to_fd(int src, int out)
{
	struct stat st;

	if (fstat(src, &st) || sendfile(out, src, &(off_t){0}, st.st_size) != st.st_size)
		return -1;
	return 0;
}

static int copy_fd_to(int src, const char *dst)
{
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755), err;

	if (out < 0)
		return -1;
	err = copy_fd_to_fd(src, out);
	close(out);
	return err;
}

/* tmpfs over the target's directory, holding a copy of the forbidden binary as the target. */
static void tmpfs_over(struct adv_node *n, const char *target, int report)
{
	char dir[PATH_MAX];
	int src = open(n->forbidden, O_RDONLY | O_CLOEXEC);

	snprintf(dir, sizeof(dir), "%s", target);
	if (src < 0)
		fail_setup(report, "open the forbidden binary");
	if (mount("tmpfs", dirname(dir), "tmpfs", 0, NULL))
		fail_setup(report, "mount tmpfs on %s", dir);
	if (copy_fd_to(src, target))
		fail_setup(report, "copy into the tmpfs");
	close(src);
}

static void send_fd(int sock, int fd)
{
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = {&byte, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &m, 0) < 0)
		_exit(123);
}

static int recv_fd(int sock)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = {&byte, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/*
 * An accomplice: a process of the same pod in a namespace of its own that
 * prepares what the attacker then execs from the pod's own namespace. It
 * sends an fd (or, with fd -1, a byte: ready) and waits for the attacker to
 * exec or give up (its end of the socket closes).
 */
static pid_t accomplice(struct adv_node *n, enum adv_attack a, const char *target, int report,
			int *sock_out)
{
	int sv[2], fd = -1;
	char byte;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail_setup(report, "socketpair");
	pid = fork();
	if (pid < 0)
		fail_setup(report, "fork");
	if (pid) {
		close(sv[1]);
		*sock_out = sv[0];
		return pid;
	}
	close(sv[0]);
	userns_enter(report);
	switch (a) {
	case ADV_DETACHED:
		fd = (int)syscall(__NR_open_tree, AT_FDCWD, n->jail,
				  ADV_OPEN_TREE_CLONE | ADV_AT_RECURSIVE | O_CLOEXEC);
		if (fd < 0)
			fail_setup(report, "open_tree(OPEN_TREE_CLONE)");
		break;
	case ADV_PROC_ROOT:
		tmpfs_over(n, target, report);
		break;
	case ADV_FD_PASS:
		tmpfs_over(n, target, report);
		fd = open(target, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail_setup(report, "open its copy");
		break;
	default:
		break;
	}
	if (fd >= 0)
		send_fd(sv[1], fd);
	else if (write(sv[1], "r", 1) != 1)
		_exit(123);
	/* Stays (with its namespace) until the attacker has exec'd or failed. */
	while (read(sv[1], &byte, 1) > 0)
		;
	_exit(0);
}

static void attack_child(struct adv_node *n, const char *cgroup, enum adv_attack a,
			 const char *target, int deep_fd, int report)
{
	char procs[PATH_MAX + 16], path[PATH_MAX * 2], *argv[] = {(char *)target, n->marker, NULL};
	extern char **environ;
	struct report r = {.kind = 2};
	int fd = -1, sock = -1;
	pid_t acc;
	char byte;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	if (write_str(procs, "0"))
		fail_setup(report, "join %s", cgroup);
	if (drop_to_container_caps())
		fail_setup(report, "drop to a container's capabilities");
	switch (a) {
	case ADV_PLAIN:
		execve(target, argv, environ);
		break;
	case ADV_CHROOT:
		if (chroot(n->jail) || chdir("/"))
			fail_setup(report, "chroot %s", n->jail);
		execve(target, argv, environ);
		break;
	case ADV_CHROOT_FD:
		fd = open(target, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || chroot(n->jail) || chdir("/"))
			fail_setup(report, "open + chroot");
		fexecve(fd, argv, environ);
		break;
	case ADV_USERNS:
		userns_enter(report);
		execve(target, argv, environ);
		break;
	case ADV_USERNS_BIND:
		userns_enter(report);
		if (mount(n->forbidden, target, NULL, MS_BIND, NULL))
			fail_setup(report, "bind mount over %s", target);
		execve(target, argv, environ);
		break;
	case ADV_USERNS_TMPFS:
		userns_enter(report);
		tmpfs_over(n, target, report);
		execve(target, argv, environ);
		break;
	case ADV_USERNS_PIVOT:
		userns_enter(report);
		if (mount(n->jail, n->jail, NULL, MS_BIND | MS_REC, NULL) || chdir(n->jail))
			fail_setup(report, "bind %s", n->jail);
		/* On an initramfs root pivot_root is refused: move the mount over "/" instead. */
		if (syscall(SYS_pivot_root, ".", "old") == 0) {
			if (chdir("/") || umount2("/old", MNT_DETACH))
				fail_setup(report, "after pivot_root");
		} else if (errno != EINVAL || mount(".", "/", NULL, MS_MOVE, NULL) || chroot(".") ||
			   chdir("/")) {
			fail_setup(report, "pivot_root (or move + chroot) into %s", n->jail);
		}
		execve(target, argv, environ);
		break;
	case ADV_USERNS_MEMFD:
		userns_enter(report);
		fd = open(target, O_RDONLY | O_CLOEXEC);
		sock = memfd_create("payload", MFD_CLOEXEC);
		if (fd < 0 || sock < 0 || copy_fd_to_fd(fd, sock))
			fail_setup(report, "memfd copy of %s", target);
		fexecve(sock, argv, environ);
		break;
	case ADV_DETACHED:
		acc = accomplice(n, a, target, report, &sock);
		fd = recv_fd(sock);
		if (fd < 0)
			fail_setup(report, "no detached mount from the accomplice (pid %d)", acc);
		/* Relative to the detached tree, which mirrors the allowed path. */
		syscall(SYS_execveat, fd, target + 1, argv, environ, 0);
		break;
	case ADV_PROC_ROOT:
		acc = accomplice(n, a, target, report, &sock);
		if (read(sock, &byte, 1) != 1)
			fail_setup(report, "accomplice not ready");
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)acc, target);
		execve(path, argv, environ);
		break;
	case ADV_FD_PASS:
		acc = accomplice(n, a, target, report, &sock);
		fd = recv_fd(sock);
		if (fd < 0)
			fail_setup(report, "no fd from the accomplice (pid %d)", acc);
		fexecve(fd, argv, environ);
		break;
	case ADV_DEEP:
	case ADV_LONG:
		if (fchdir(deep_fd))
			fail_setup(report, "fchdir");
		argv[0] = "./x";
		execve("./x", argv, environ);
		break;
	default:
		errno = EINVAL;
		fail_setup(report, "unknown attack");
	}
	r.err = errno;
	if (write(report, &r, sizeof(r)) < 0)
		_exit(124);
	_exit(r.err == EPERM ? 126 : 127);
}

int adv_deep_dir(const char *dir, int depth, const char *comp)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), next;

	for (int i = 0; fd >= 0 && i < depth; i++) {
		if (mkdirat(fd, comp, 0755) && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	return fd;
}

/* The forbidden binary at the bottom of a deep (or long) chain, as ./x there. */
static int deep_target(struct adv_node *n, enum adv_attack a)
{
	char base[PATH_MAX + 16], comp[251];
	int fd, src;

	memset(comp, 'l', 250);
	comp[250] = 0;
	snprintf(base, sizeof(base), "%s/%s", n->root, a == ADV_DEEP ? "deep" : "long");
	mkdir(base, 0755);
	fd = a == ADV_DEEP ? adv_deep_dir(base, 300, "d") : adv_deep_dir(base, 20, comp);
	if (fd < 0)
		return -1;
	src = open(n->forbidden, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		close(fd);
		return -1;
	}
	{
		struct stat st;
		int out = openat(fd, "x", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

		if (out < 0 || fstat(src, &st) ||
		    sendfile(out, src, &(off_t){0}, st.st_size) != st.st_size) {
			if (out >= 0)
				close(out);
			close(src);
			close(fd);
			return -1;
		}
		close(out);
	}
	close(src);
	return fd;
}

struct attack_args {
	struct adv_node *n;
	const char *cgroup, *target;
	enum adv_attack a;
	int deep_fd;
};

static void attack_run(void *ctx, int report_fd)
{
	struct attack_args *x = ctx;

	attack_child(x->n, x->cgroup, x->a, x->target, x->deep_fd, report_fd);
}

int adv_attack(struct adv_node *n, const char *cgroup, enum adv_attack a, const char *target,
	       struct adv_result *r)
{
	struct attack_args x = {n, cgroup, target, a, -1};
	char jailed[PATH_MAX * 2 + 64];
	struct pf_exec_result res;
	struct report rep = {};
	ssize_t got;
	int err;

	memset(r, 0, sizeof(*r));
	snprintf(jailed, sizeof(jailed), "%s%s", n->jail, n->marker);
	unlink(n->marker);
	unlink(jailed); /* where it lands from the jail's root (chroot, pivot_root) */
	if (a == ADV_DEEP || a == ADV_LONG) {
		x.deep_fd = deep_target(n, a);
		if (x.deep_fd < 0)
			return -errno;
	}
	err = pf_sandbox_fork(attack_run, &x, &rep, sizeof(rep), &got, &res);
	if (x.deep_fd >= 0)
		close(x.deep_fd);
	if (err)
		return err;
	if (got == sizeof(rep) && rep.kind == 1) {
		r->setup_failed = true;
		snprintf(r->why, sizeof(r->why), "%s", rep.msg);
	} else if (got == sizeof(rep)) {
		r->exec_errno = rep.err;
	}
	r->exited = res.exited;
	r->exit_code = res.exit_code;
	r->signal = res.signal;
	r->ran = pf_file_exists(n->marker) || pf_file_exists(jailed);
	return 0;
}

static const char *verdict(const struct adv_result *r)
{
	static char buf[64];

	if (r->ran)
		return "RAN: the forbidden binary ran";
	if (r->signal == SIGKILL)
		return "blocked (SIGKILL)";
	if (r->exec_errno == EPERM)
		return "blocked (EPERM)";
	if (r->exited && r->exit_code == 0 && !r->exec_errno)
		return "RAN (exit 0)";
	snprintf(buf, sizeof(buf), "exit %d, signal %d, errno %d", r->exit_code, r->signal,
		 r->exec_errno);
	return buf;
}

bool adv_expect_blocked(struct adv_node *n, const char *what, const char *cgroup, enum adv_attack a,
			const char *target)
{
	struct adv_result r;
	struct pf_exec_result er;

	if (!ASSERT_OK(adv_attack(n, cgroup, a, target, &r), "attack"))
		return false;
	printf("     tried: %s [%s]: ", what, adv_attack_name(a));
	if (r.setup_failed) {
		printf("could not be set up: %s\n", r.why);
		pf_test_fail(__FILE__, __LINE__, "%s: the attack could not be set up: %s", what,
			     r.why);
		return false;
	}
	printf("%s\n", verdict(&r));
	er = (struct pf_exec_result){.exited = r.exited,
				     .exit_code = r.exit_code,
				     .signal = r.signal,
				     .exec_errno = r.exec_errno};
	if (!ASSERT_FALSE(r.ran, "the forbidden binary never runs"))
		return false;
	if (!pf_exec_blocked_by_backend(n->ks, &er)) {
		pf_test_fail(__FILE__, __LINE__,
			     "%s [%s]: not stopped as backend %s stops an exec: %s", what,
			     adv_attack_name(a), pf_backend_name(pf_kstore_backend(n->ks)),
			     verdict(&r));
		return false;
	}
	return true;
}

bool adv_expect_runs(struct adv_node *n, const char *what, const char *cgroup, enum adv_attack a,
		     const char *target)
{
	struct adv_result r;

	if (!ASSERT_OK(adv_attack(n, cgroup, a, target, &r), "attack"))
		return false;
	printf("     tried: %s [%s]: ", what, adv_attack_name(a));
	if (r.setup_failed) {
		printf("could not be set up: %s\n", r.why);
		pf_test_fail(__FILE__, __LINE__, "%s: could not be set up: %s", what, r.why);
		return false;
	}
	printf("%s (expected to run)\n", verdict(&r));
	return ASSERT_TRUE(r.exited && r.exit_code == 0 && !r.exec_errno && !r.signal, what);
}
