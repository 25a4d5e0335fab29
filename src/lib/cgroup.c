// SPDX-License-Identifier: Apache-2.0
/*
 * Where the kubelet puts pods in the cgroup2 tree. The layout depends on the
 * cgroup driver (systemd slices vs cgroupfs directories), the QoS class and,
 * in nested setups (kind, kubelet in its own slice), a prefix we cannot know
 * in advance: those "kubepods roots" are discovered by one bounded scan and
 * cached, so a lookup normally costs a handful of stat() calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "podfence/cgroup.h"

#define ROOT_SCAN_DEPTH	   4 /* kind: system.slice/docker-<id>.scope/kubelet.slice/<kubepods> */
#define ROOT_SCAN_MAX_DIRS 4096
#define ROOTS_MAX	   16
#define RESCAN_MIN_NS	   1000000000LL /* a pod not created yet must not rescan on every retry */
#define WALK_MAX_DEPTH	   16

/* ---- mountinfo ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Mount point of a mountinfo line if its filesystem is cgroup2, else NULL (line is modified). */
static char *mountinfo_cgroup2(char *line)
{
	char *save = NULL, *mnt = NULL, *tok;
	int field = 0;
	bool sep = false;

	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 4)
			mnt = tok;
		else if (field > 5 && !sep && strcmp(tok, "-") == 0)
			sep = true; /* optional fields (shared:N ...) end here */
		else if (sep)
			return mnt && strcmp(tok, "cgroup2") == 0 ? mnt : NULL;
	}
	return NULL;
}

int pf_cgroup2_mount_from(const char *mountinfo_path, char *buf, size_t len)
{
	char *line = NULL, *mnt;
	size_t cap = 0;
	int err = -ENOENT;
	FILE *f;

	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		mnt = mountinfo_cgroup2(line);
		if (!mnt)
			continue;
		unescape_octal(mnt);
		err = (size_t)snprintf(buf, len, "%s", mnt) < len ? 0 : -ENAMETOOLONG;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

int pf_cgroup2_mount(char *buf, size_t len)
{
	return pf_cgroup2_mount_from("/proc/self/mountinfo", buf, len);
}

int pf_cgroup_id(const char *dir, uint64_t *id)
{
	struct stat st;

	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = (uint64_t)st.st_ino;
	return 0;
}

/* ---- pod directory names ---- */

static const char *const qos_names[] = {
    [PF_QOS_GUARANTEED] = NULL, /* Guaranteed pods sit directly in the kubepods root */
    [PF_QOS_BURSTABLE] = "burstable",
    [PF_QOS_BESTEFFORT] = "besteffort",
};

/* The uid becomes a path component: never let it climb or descend. */
static const char *pod_cgroup_uid(const struct pf_pod *pod)
{
	const char *uid = pod->cgroup_uid && *pod->cgroup_uid ? pod->cgroup_uid : pod->uid;

	if (!uid || !*uid || strchr(uid, '/') || strcmp(uid, ".") == 0 || strcmp(uid, "..") == 0)
		return NULL;
	return uid;
}

static int fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/*
 * systemd names nested slices after their whole ancestry: under the slice prefix
 * "kubepods" (or "kubelet-kubepods" with cgroupRoot=/kubelet) a burstable pod is
 * "<prefix>-burstable-pod<uid with _>.slice"; cgroupfs just uses "pod<uid>".
 */
static int pod_dirname(const char *slice, const char *uid, enum pf_qos qos, bool systemd, char *buf,
		       size_t len)
{
	const char *q = qos_names[qos];
	size_t n;
	int err;

	if (!systemd)
		return fmt(buf, len, "pod%s", uid);
	err = fmt(buf, len, "%s%s%s-pod%s.slice", slice, q ? "-" : "", q ? q : "", uid);
	if (err)
		return err;
	/* '-' is systemd's hierarchy separator, so the uid's dashes become '_'. */
	n = strlen(buf) - strlen(uid) - strlen(".slice");
	for (char *p = buf + n; *uid; p++, uid++)
		if (*p == '-')
			*p = '_';
	return 0;
}

int pf_cgroup_pod_dirname(const struct pf_pod *pod, int systemd, char *buf, size_t len)
{
	const char *uid = pod ? pod_cgroup_uid(pod) : NULL;

	if (!uid || (unsigned)pod->qos > PF_QOS_BESTEFFORT)
		return -EINVAL;
	return pod_dirname("kubepods", uid, pod->qos, systemd, buf, len);
}

/* ---- kubepods roots ---- */

struct kp_root {
	char path[PATH_MAX];	  /* the kubepods.slice / kubepods directory itself */
	char slice[NAME_MAX + 1]; /* systemd slice prefix ("kubepods"), "" for cgroupfs */
};

struct kp_cache {
	pthread_mutex_t lock;
	char root[PATH_MAX];
	struct kp_root v[ROOTS_MAX];
	size_t n;
	long long scanned_ns; /* 0: never scanned */
};

static struct kp_cache kp_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool is_dir_at(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* "kubepods.slice" -> "kubepods", "kubelet-kubepods.slice" -> "kubelet-kubepods". */
static bool kubepods_slice_name(const char *name, char *slice, size_t len)
{
	size_t n = strlen(name);
	static const char sfx[] = "kubepods.slice";
	const size_t ns = sizeof(sfx) - 1;

	if (n < ns || strcmp(name + n - ns, sfx) != 0 || (n > ns && name[n - ns - 1] != '-'))
		return false;
	return fmt(slice, len, "%.*s", (int)(n - strlen(".slice")), name) == 0;
}

static void roots_add(struct kp_cache *c, const char *path, const char *slice)
{
	struct kp_root *r;

	if (c->n >= ROOTS_MAX)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0)
			return;
	r = &c->v[c->n];
	if (fmt(r->path, sizeof(r->path), "%s", path) ||
	    fmt(r->slice, sizeof(r->slice), "%s", slice))
		return;
	c->n++;
}

/*
 * Depth-first over directories below `path`, recording kubepods roots and not
 * descending into them (their children are the pods, the bulk of the tree).
 */
static void roots_scan(struct kp_cache *c, char *path, size_t plen, int depth, int *budget)
{
	struct dirent *de;
	char slice[NAME_MAX + 1];
	DIR *dir;

	if (depth >= ROOT_SCAN_DEPTH || *budget <= 0)
		return;
	dir = opendir(path);
	if (!dir)
		return; /* cgroups vanish all the time; a missing branch has no pods */
	while ((de = readdir(dir)) && *budget > 0) {
		size_t n = strlen(de->d_name);
		bool systemd;

		if (is_dot(de->d_name) || !is_dir_at(dirfd(dir), de) || plen + 1 + n >= PATH_MAX)
			continue;
		(*budget)--;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		systemd = kubepods_slice_name(de->d_name, slice, sizeof(slice));
		if (systemd || strcmp(de->d_name, "kubepods") == 0)
			roots_add(c, path, systemd ? slice : "");
		else
			roots_scan(c, path, plen + 1 + n, depth + 1, budget);
		path[plen] = '\0';
	}
	closedir(dir);
}

static void roots_refresh(struct kp_cache *c, const char *root)
{
	char path[PATH_MAX];
	int budget = ROOT_SCAN_MAX_DIRS;

	c->n = 0;
	snprintf(c->root, sizeof(c->root), "%s", root);
	/* The standard places come first and are probed even before they exist. */
	snprintf(path, sizeof(path), "%s/kubepods.slice", root);
	roots_add(c, path, "kubepods");
	snprintf(path, sizeof(path), "%s/kubepods", root);
	roots_add(c, path, "");
	snprintf(path, sizeof(path), "%s", root);
	roots_scan(c, path, strlen(path), 0, &budget);
	c->scanned_ns = now_ns();
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Tries every QoS class (reported one first: a stale one must not hide the pod). */
static int probe_root(const struct kp_root *r, const char *uid, enum pf_qos first, char *buf,
		      size_t len)
{
	bool systemd = r->slice[0] != '\0';
	char name[NAME_MAX + 1];

	for (int i = 0; i < 3; i++) {
		enum pf_qos q = i == 0 ? first : (enum pf_qos)(i <= (int)first ? i - 1 : i);
		const char *qn = qos_names[q];
		int err;

		err = pod_dirname(r->slice, uid, q, systemd, name, sizeof(name));
		if (err)
			return err;
		if (!qn)
			err = fmt(buf, len, "%s/%s", r->path, name);
		else if (systemd)
			err = fmt(buf, len, "%s/%s-%s.slice/%s", r->path, r->slice, qn, name);
		else
			err = fmt(buf, len, "%s/%s/%s", r->path, qn, name);
		if (err)
			return err;
		if (is_dir(buf))
			return 0;
	}
	return -ENOENT;
}

/* -ENAMETOOLONG only when nothing was found and some candidate did not fit in buf. */
static int probe_roots(const struct kp_cache *c, const char *uid, enum pf_qos qos, char *buf,
		       size_t len)
{
	int ret = -ENOENT;

	for (size_t i = 0; i < c->n; i++) {
		int err = probe_root(&c->v[i], uid, qos, buf, len);

		if (err == 0)
			return 0;
		if (err != -ENOENT)
			ret = err;
	}
	return ret;
}

int pf_cgroup_find_pod(const char *root, const struct pf_pod *pod, char *buf, size_t len)
{
	struct kp_cache *c = &kp_cache;
	const char *uid = pod ? pod_cgroup_uid(pod) : NULL;
	enum pf_qos qos;
	int err;

	if (!root || !uid)
		return -EINVAL;
	qos = (unsigned)pod->qos <= PF_QOS_BESTEFFORT ? pod->qos : PF_QOS_BURSTABLE;
	pthread_mutex_lock(&c->lock);
	if (!c->scanned_ns || strcmp(c->root, root) != 0)
		roots_refresh(c, root);
	err = probe_roots(c, uid, qos, buf, len);
	/* A miss may mean a kubepods root appeared since the scan (kubelet restart, new node). */
	if (err && now_ns() - c->scanned_ns >= RESCAN_MIN_NS) {
		roots_refresh(c, root);
		err = probe_roots(c, uid, qos, buf, len);
	}
	pthread_mutex_unlock(&c->lock);
	if (err && len)
		buf[0] = '\0';
	return err;
}

int pf_cgroup_find_container(const char *pod_dir, const struct pf_container *c, char *buf,
			     size_t len)
{
	/* Never "crio-conmon-<id>.scope": that is CRI-O's monitor, not the container. */
	static const struct {
		const char *pre, *suf;
	} layouts[] = {
	    {"cri-containerd-", ".scope"}, /* containerd, systemd driver */
	    {"crio-", ".scope"},	   /* CRI-O, systemd driver */
	    {"crio-", ""},		   /* CRI-O, cgroupfs driver */
	    {"docker-", ".scope"},	   /* cri-dockerd, systemd driver */
	    {"", ""},			   /* containerd/docker, cgroupfs driver */
	};

	if (!pod_dir || !c || !c->id || !*c->id)
		return -ENOENT;
	if (strchr(c->id, '/') || is_dot(c->id))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const char *pre = layouts[i].pre, *suf = layouts[i].suf;

		if (fmt(buf, len, "%s/%s%s%s", pod_dir, pre, c->id, suf) == 0 && is_dir(buf))
			return 0;
	}
	if (len)
		buf[0] = '\0';
	return -ENOENT;
}

/* ---- walking ---- */

struct walk {
	char path[PATH_MAX];
	int (*fn)(const char *path, uint64_t id, void *ctx);
	void *ctx;
};

static int walk_dir(struct walk *w, size_t plen, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret;

	/* A cgroup removed between readdir and here is not an error, just gone. */
	if (stat(w->path, &st))
		return depth && errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return depth ? 0 : -ENOTDIR;
	ret = w->fn(w->path, (uint64_t)st.st_ino, w->ctx);
	if (ret || depth >= WALK_MAX_DEPTH)
		return ret;
	dir = opendir(w->path);
	if (!dir)
		return depth && errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (is_dot(de->d_name) || !is_dir_at(dirfd(dir), de))
			continue;
		if (plen + 1 + n >= sizeof(w->path)) {
			ret = -ENAMETOOLONG;
			break;
		}
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, de->d_name, n + 1);
		ret = walk_dir(w, plen + 1 + n, depth + 1);
		w->path[plen] = '\0';
	}
	closedir(dir);
	return ret;
}

int pf_cgroup_walk(const char *dir, int (*fn)(const char *path, uint64_t id, void *ctx), void *ctx)
{
	struct walk *w;
	size_t plen;
	int err;

	if (!dir || !fn)
		return -EINVAL;
	/* PATH_MAX on the heap: the recursion below must not carry it per level. */
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	plen = strlen(dir);
	while (plen > 1 && dir[plen - 1] == '/')
		plen--;
	if (plen >= sizeof(w->path)) {
		err = -ENAMETOOLONG;
		goto cleanup;
	}
	memcpy(w->path, dir, plen);
	w->path[plen] = '\0';
	err = walk_dir(w, plen, 0);
cleanup:
	free(w);
	return err;
}
