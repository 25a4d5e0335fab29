// SPDX-License-Identifier: Apache-2.0
/* cgroup discovery against fake kubelet trees built with mkdir under a temp dir. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pf_test.h"
#include "podfence/cgroup.h"

#define UID  "8f2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define UID_ "8f2b1c3d_4e5f_4a6b_8c7d_9e0f1a2b3c4d"
#define CID  "6b7e45e136716ed030ebdb79bcc5674204b1abd6cee0add02ea4c2e891e65183"

/* This host's /proc/self/mountinfo: hybrid mode, cgroup2 at /sys/fs/cgroup/unified. */
static const char mountinfo_hybrid[] =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* A unified node: optional fields before "-", a cgroup2 mount with an escaped space first. */
static const char mountinfo_unified[] =
    "24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "25 24 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw\n"
    "35 24 0:30 / /run/my\\040cg rw,nosuid,nodev shared:9 master:3 - cgroup2 none rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

/* cgroup v1 only; a v1 hierarchy whose source is named "cgroup2" is still v1. */
static const char mountinfo_v1[] =
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/pids rw,relatime shared:5 - cgroup cgroup2 rw,pids\n";

static char tmp_root[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static bool tree_new(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/pf-cgroup-XXXXXX");
	return mkdtemp(tmp_root) != NULL;
}

static void tree_free(void)
{
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p tmp_root/rel */
static bool mk(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
	for (char *p = path + strlen(tmp_root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static struct pf_pod pod_of(const char *uid, const char *cgroup_uid, enum pf_qos qos)
{
	struct pf_pod p = {0};

	p.uid = (char *)uid;
	p.cgroup_uid = (char *)cgroup_uid;
	p.qos = qos;
	return p;
}

/* Expect the pod found at tmp_root/rel. */
static bool find_pod_at(const struct pf_pod *pod, const char *rel, const char *what)
{
	char buf[PATH_MAX], want[PATH_MAX];

	snprintf(want, sizeof(want), "%s/%s", tmp_root, rel);
	return ASSERT_OK(pf_cgroup_find_pod(tmp_root, pod, buf, sizeof(buf)), what) &&
	       ASSERT_STREQ(buf, want, what);
}

static bool find_container_at(const char *pod_rel, const char *id, const char *rel,
			      const char *what)
{
	struct pf_container c = {.name = "c", .id = (char *)id};
	char pod_dir[PATH_MAX], buf[PATH_MAX], want[PATH_MAX];

	snprintf(pod_dir, sizeof(pod_dir), "%s/%s", tmp_root, pod_rel);
	snprintf(want, sizeof(want), "%s/%s/%s", tmp_root, pod_rel, rel);
	return ASSERT_OK(pf_cgroup_find_container(pod_dir, &c, buf, sizeof(buf)), what) &&
	       ASSERT_STREQ(buf, want, what);
}

PF_TEST(cgroup_mountinfo_parsing)
{
	char path[PATH_MAX], buf[PATH_MAX], small[8];

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/mountinfo", tmp_root);
	ASSERT_TRUE(write_file(path, mountinfo_hybrid), "write");
	ASSERT_OK(pf_cgroup2_mount_from(path, buf, sizeof(buf)), "hybrid");
	ASSERT_STREQ(buf, "/sys/fs/cgroup/unified", "hybrid mount");
	ASSERT_EQ(pf_cgroup2_mount_from(path, small, sizeof(small)), -ENAMETOOLONG, "small buf");

	ASSERT_TRUE(write_file(path, mountinfo_unified), "write");
	ASSERT_OK(pf_cgroup2_mount_from(path, buf, sizeof(buf)), "unified");
	ASSERT_STREQ(buf, "/run/my cg", "first cgroup2, unescaped");

	ASSERT_TRUE(write_file(path, mountinfo_v1), "write");
	ASSERT_EQ(pf_cgroup2_mount_from(path, buf, sizeof(buf)), -ENOENT, "no cgroup2");
	ASSERT_TRUE(write_file(path, ""), "write");
	ASSERT_EQ(pf_cgroup2_mount_from(path, buf, sizeof(buf)), -ENOENT, "empty");
	snprintf(path, sizeof(path), "%s/missing", tmp_root);
	ASSERT_EQ(pf_cgroup2_mount_from(path, buf, sizeof(buf)), -ENOENT, "missing file");
	tree_free();

	/* The real one: only checks the call works where cgroup2 is mounted at all. */
	if (pf_cgroup2_mount(buf, sizeof(buf)) == 0)
		ASSERT_TRUE(buf[0] == '/', "host cgroup2 mount is absolute");
}

PF_TEST(cgroup_pod_dirnames)
{
	struct pf_pod g = pod_of(UID, NULL, PF_QOS_GUARANTEED);
	struct pf_pod b = pod_of(UID, UID, PF_QOS_BURSTABLE);
	struct pf_pod be = pod_of(UID, NULL, PF_QOS_BESTEFFORT);
	struct pf_pod st = pod_of(UID, "9f1c2a3b4c5d6e7f", PF_QOS_BURSTABLE);
	struct pf_pod bad = pod_of("../../etc", NULL, PF_QOS_BURSTABLE);
	char buf[256];

	ASSERT_OK(pf_cgroup_pod_dirname(&g, 1, buf, sizeof(buf)), "guaranteed");
	ASSERT_STREQ(buf, "kubepods-pod" UID_ ".slice", "guaranteed systemd");
	ASSERT_OK(pf_cgroup_pod_dirname(&b, 1, buf, sizeof(buf)), "burstable");
	ASSERT_STREQ(buf, "kubepods-burstable-pod" UID_ ".slice", "burstable systemd");
	ASSERT_OK(pf_cgroup_pod_dirname(&be, 1, buf, sizeof(buf)), "besteffort");
	ASSERT_STREQ(buf, "kubepods-besteffort-pod" UID_ ".slice", "besteffort systemd");
	ASSERT_OK(pf_cgroup_pod_dirname(&be, 0, buf, sizeof(buf)), "cgroupfs");
	ASSERT_STREQ(buf, "pod" UID, "cgroupfs keeps dashes");
	ASSERT_OK(pf_cgroup_pod_dirname(&st, 0, buf, sizeof(buf)), "static");
	ASSERT_STREQ(buf, "pod9f1c2a3b4c5d6e7f", "static pod uses config hash");
	ASSERT_EQ(pf_cgroup_pod_dirname(&b, 1, buf, 20), -ENAMETOOLONG, "small buf");
	ASSERT_EQ(pf_cgroup_pod_dirname(&bad, 0, buf, sizeof(buf)), -EINVAL, "uid with /");
	ASSERT_EQ(pf_cgroup_pod_dirname(NULL, 0, buf, sizeof(buf)), -EINVAL, "NULL pod");
}

PF_TEST(cgroup_find_systemd_containerd)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	const char *pod =
	    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice";

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("system.slice/containerd.service");
	mk("kubepods.slice/kubepods-besteffort.slice");
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	   "cri-containerd-" CID ".scope");
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	   "cri-containerd-0000000000000000000000000000000000000000000000000000000000000001.scope");
	find_pod_at(&p, pod, "systemd burstable pod");
	find_container_at(pod, CID, "cri-containerd-" CID ".scope", "containerd scope");
	/* Reported QoS stale (pod was resized/recreated): still found. */
	p.qos = PF_QOS_BESTEFFORT;
	find_pod_at(&p, pod, "stale qos");
	tree_free();
}

PF_TEST(cgroup_find_cgroupfs_containerd)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BESTEFFORT);
	const char *pod = "kubepods/besteffort/pod" UID;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("kubepods/burstable");
	mk("kubepods/besteffort/pod" UID "/" CID);
	find_pod_at(&p, pod, "cgroupfs besteffort pod");
	find_container_at(pod, CID, CID, "bare id");
	tree_free();
}

PF_TEST(cgroup_find_guaranteed_under_kubepods_directly)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_GUARANTEED);
	struct pf_pod q = pod_of("11111111-2222-3333-4444-555555555555", NULL, PF_QOS_GUARANTEED);

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope");
	mk("kubepods/pod11111111-2222-3333-4444-555555555555");
	find_pod_at(&p, "kubepods.slice/kubepods-pod" UID_ ".slice", "systemd guaranteed");
	find_pod_at(&q, "kubepods/pod11111111-2222-3333-4444-555555555555", "cgroupfs guaranteed");
	tree_free();
}

PF_TEST(cgroup_find_crio_skips_conmon)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	const char *pod =
	    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice";
	const char *cfs = "kubepods/burstable/pod" UID;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	/* conmon's scope sorts first and contains the id: it must never be chosen. */
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	   "crio-conmon-" CID ".scope");
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	   "crio-" CID ".scope/container");
	mk("kubepods/burstable/pod" UID "/crio-" CID);
	find_pod_at(&p, pod, "crio pod");
	find_container_at(pod, CID, "crio-" CID ".scope", "crio systemd scope");
	find_container_at(cfs, CID, "crio-" CID, "crio cgroupfs");
	tree_free();
}

PF_TEST(cgroup_find_docker)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	const char *pod =
	    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice";

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/"
	   "docker-" CID ".scope");
	find_pod_at(&p, pod, "docker pod");
	find_container_at(pod, CID, "docker-" CID ".scope", "docker scope");
	tree_free();
}

PF_TEST(cgroup_find_nested_prefixes)
{
	struct pf_pod kind = pod_of(UID, NULL, PF_QOS_BESTEFFORT);
	struct pf_pod deep = pod_of("aaaaaaaa-0000-0000-0000-000000000001", NULL, PF_QOS_BURSTABLE);
	struct pf_pod cfs = pod_of("aaaaaaaa-0000-0000-0000-000000000002", NULL, PF_QOS_GUARANTEED);
	const char *kind_pod =
	    "kubelet.slice/kubelet-kubepods.slice/"
	    "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_ ".slice";
	const char *deep_pod = "system.slice/docker-abc.scope/kubelet.slice/kubelet-kubepods.slice/"
			       "kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod"
			       "aaaaaaaa_0000_0000_0000_000000000001.slice";
	const char *cfs_pod = "kubelet/kubepods/podaaaaaaaa-0000-0000-0000-000000000002";

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk(kind_pod);
	mk(deep_pod);
	mk(cfs_pod);
	mk("user.slice/user-1000.slice/session-1.scope");
	find_pod_at(&kind, kind_pod, "kind layout (kubelet.slice prefix)");
	find_pod_at(&deep, deep_pod, "kind node inside a docker scope (depth 4)");
	find_pod_at(&cfs, cfs_pod, "cgroupfs under /kubelet");
	tree_free();
}

PF_TEST(cgroup_find_static_pod_by_config_hash)
{
	struct pf_pod p = pod_of(UID, "9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7", PF_QOS_BURSTABLE);
	struct pf_pod by_uid = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	char buf[PATH_MAX];

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("kubepods.slice/kubepods-burstable.slice/"
	   "kubepods-burstable-pod9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7.slice");
	find_pod_at(&p,
		    "kubepods.slice/kubepods-burstable.slice/"
		    "kubepods-burstable-pod9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7.slice",
		    "static pod");
	ASSERT_EQ(pf_cgroup_find_pod(tmp_root, &by_uid, buf, sizeof(buf)), -ENOENT,
		  "mirror uid is not the cgroup name");
	ASSERT_STREQ(buf, "", "buf cleared on miss");
	tree_free();
}

PF_TEST(cgroup_find_misses)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	struct pf_container c = {.name = "c", .id = CID};
	struct pf_container evil = {.name = "c", .id = "../../x"};
	char buf[PATH_MAX], small[16];

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	ASSERT_EQ(pf_cgroup_find_pod(tmp_root, &p, buf, sizeof(buf)), -ENOENT, "empty tree");
	mk("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice");
	ASSERT_EQ(pf_cgroup_find_pod(tmp_root, &p, small, sizeof(small)), -ENAMETOOLONG,
		  "small buf");
	ASSERT_EQ(pf_cgroup_find_container(tmp_root, &c, buf, sizeof(buf)), -ENOENT, "no scope");
	ASSERT_EQ(pf_cgroup_find_container(tmp_root, &evil, buf, sizeof(buf)), -EINVAL, "id /");
	c.id = NULL;
	ASSERT_EQ(pf_cgroup_find_container(tmp_root, &c, buf, sizeof(buf)), -ENOENT, "NULL id");
	ASSERT_EQ(pf_cgroup_find_pod(NULL, &p, buf, sizeof(buf)), -EINVAL, "NULL root");
	tree_free();
}

struct walk_ctx {
	int n, stop_at;
	char first[PATH_MAX], last[PATH_MAX * 2];
	bool ids_ok;
};

static int walk_cb(const char *path, int dirfd, uint64_t id, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct stat st;

	if (fstat(dirfd, &st) || st.st_ino != id)
		w->ids_ok = false;
	if (!w->n)
		snprintf(w->first, sizeof(w->first), "%s", path);
	snprintf(w->last, sizeof(w->last), "%s", path);
	return ++w->n == w->stop_at ? 42 : 0;
}

PF_TEST(cgroup_walk_and_id)
{
	struct walk_ctx w = {.ids_ok = true};
	char path[PATH_MAX], deep[70 * 2 + 1] = "";
	struct stat st;
	uint64_t id;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("a/b/c");
	mk("a/d");
	mk("e");
	snprintf(path, sizeof(path), "%s/a/cgroup.procs", tmp_root);
	write_file(path, "");
	snprintf(path, sizeof(path), "%s/e/link", tmp_root);
	ASSERT_OK(symlink("../a", path), "symlink");
	for (int i = 0; i < 70; i++)
		strcat(deep, "x/");
	mk(deep);

	/* Deeper than it visits: said after the walk, so the kernel covers the rest. */
	ASSERT_EQ(pf_cgroup_walk(tmp_root, walk_cb, &w), -ELOOP, "walk of a too deep tree");
	/* root, a, a/b, a/b/c, a/d, e, x... up to PF_MAX_CG_LEVELS below root */
	ASSERT_EQ(w.n, 1 + 4 + 1 + PF_MAX_CG_LEVELS,
		  "directories only, symlinks not followed, depth bound");
	ASSERT_STREQ(w.first, tmp_root, "pre-order starts at dir");
	ASSERT_TRUE(w.ids_ok, "ids are inode numbers");

	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	ASSERT_EQ(pf_cgroup_walk(tmp_root, walk_cb, &w), 42, "callback value stops the walk");
	ASSERT_EQ(w.n, 3, "stopped");

	ASSERT_OK(pf_cgroup_id(tmp_root, &id), "id");
	ASSERT_OK(stat(tmp_root, &st), "stat");
	ASSERT_EQ(id, st.st_ino, "inode");
	snprintf(path, sizeof(path), "%s/a/cgroup.procs", tmp_root);
	ASSERT_EQ(pf_cgroup_id(path, &id), -ENOTDIR, "file");
	ASSERT_EQ(pf_cgroup_walk(path, walk_cb, &w), -ENOTDIR, "walk a file");
	snprintf(path, sizeof(path), "%s/nope", tmp_root);
	ASSERT_EQ(pf_cgroup_id(path, &id), -ENOENT, "missing");
	ASSERT_EQ(pf_cgroup_walk(path, walk_cb, &w), -ENOENT, "walk missing");
	tree_free();
}

/* A tree whose paths are longer than PATH_MAX is walked all the same (dirfds, heap path). */
PF_TEST(cgroup_walk_past_path_max)
{
	struct walk_ctx w = {.ids_ok = true};
	char name[201];
	int fd, next;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	memset(name, 'n', 200);
	name[200] = 0;
	fd = open(tmp_root, O_RDONLY | O_DIRECTORY);
	for (int i = 0; fd >= 0 && i < 30; i++) { /* 30 x 201 bytes: past PATH_MAX */
		if (mkdirat(fd, name, 0755))
			break;
		next = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	if (fd >= 0)
		close(fd);
	ASSERT_OK(pf_cgroup_walk(tmp_root, walk_cb, &w), "walk");
	ASSERT_EQ(w.n, 31, "every level visited");
	ASSERT_TRUE(w.ids_ok, "ids are inode numbers");
	ASSERT_GE(strlen(w.last), 30 * 201, "the path of the deepest is spelled whole");
	/* rm -rf cannot remove it either: unwind with the same dirfds. */
	{
		int fds[31];

		fds[0] = open(tmp_root, O_RDONLY | O_DIRECTORY);
		for (int i = 1; i < 31; i++)
			fds[i] = openat(fds[i - 1], name, O_RDONLY | O_DIRECTORY);
		for (int i = 30; i >= 1; i--) {
			close(fds[i]);
			unlinkat(fds[i - 1], name, AT_REMOVEDIR);
		}
		close(fds[0]);
	}
	tree_free();
}

/* The names the kernel binds a pod's cgroup by, before the kubelet creates it. */
PF_TEST(cgroup_pod_expected_names)
{
	struct pf_pod p = pod_of(UID, NULL, PF_QOS_BURSTABLE);
	char names[16][PF_CG_NAME_MAX];
	int n;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	mk("kubelet.slice/kubelet-kubepods.slice");
	n = pf_cgroup_pod_expected_names(&p, tmp_root, names, 16);
	ASSERT_EQ(n, 3, "cgroupfs, then the pod's QoS class under each systemd slice prefix");
	ASSERT_STREQ(names[0], "pod" UID, "cgroupfs");
	ASSERT_STREQ(names[1], "kubepods-burstable-pod" UID_ ".slice", "systemd, burstable");
	ASSERT_STREQ(names[2], "kubelet-kubepods-burstable-pod" UID_ ".slice", "nested prefix");
	p.qos = PF_QOS_GUARANTEED;
	ASSERT_EQ(pf_cgroup_pod_expected_names(&p, tmp_root, names, 2), 2, "bounded by max");
	ASSERT_STREQ(names[1], "kubepods-pod" UID_ ".slice", "systemd, guaranteed: no class");
	tree_free();
}

/* The anchor hint: the mount namespace of a cgroup's oldest process (here: this one). */
PF_TEST(cgroup_mntns_hint_is_the_oldest_process_namespace)
{
	char path[PATH_MAX], pids[64];
	struct stat st;
	int fd;

	if (!ASSERT_TRUE(tree_new(), "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", tmp_root);
	write_file(path, "");
	fd = open(tmp_root, O_RDONLY | O_DIRECTORY);
	ASSERT_EQ(pf_cgroup_mntns_hint(fd), 0, "no process: no hint (the first exec anchors)");
	/* pid 1 is older than this process, and a pid that does not exist is skipped */
	snprintf(pids, sizeof(pids), "%d\n999999999\n", (int)getpid());
	write_file(path, pids);
	if (ASSERT_OK(stat("/proc/self/ns/mnt", &st), "own namespace"))
		ASSERT_EQ(pf_cgroup_mntns_hint(fd), (uint32_t)st.st_ino, "own mount namespace");
	close(fd);
	tree_free();
}
