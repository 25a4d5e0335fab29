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

int pf_cgroup_path_by_id(const char *root, uint64_t id, char *buf, size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh = {.handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* FILEID_KERNFS */},
	       .id = id};
	char link[64];
	int mfd, fd, err = 0;
	ssize_t n;

	mfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	/* cgroupfs (kernfs) hands out a cgroup by its id: what its inode number is. */
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ESTALE ? -ENOENT : -errno;
		goto out;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n >= len)
		err = -ENAMETOOLONG;
	else
		buf[n] = 0;
	close(fd);
out:
	close(mfd);
	return err;
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

/*
 * How runtimes name a container's cgroup under its pod's. Never
 * "crio-conmon-<id>.scope": that is CRI-O's monitor, not the container.
 */
static const struct {
	const char *pre, *suf;
	bool systemd;
} container_layouts[] = {
    {"cri-containerd-", ".scope", true}, /* containerd, systemd driver */
    {"crio-", ".scope", true},		 /* CRI-O, systemd driver */
    {"crio-", "", false},		 /* CRI-O, cgroupfs driver */
    {"docker-", ".scope", true},	 /* cri-dockerd, systemd driver */
    {"", "", false},			 /* containerd/docker, cgroupfs driver */
};
#define N_CONTAINER_LAYOUTS (sizeof(container_layouts) / sizeof(container_layouts[0]))

int pf_cgroup_find_container(const char *pod_dir, const struct pf_container *c, char *buf,
			     size_t len)
{
	if (!pod_dir || !c || !c->id || !*c->id)
		return -ENOENT;
	if (strchr(c->id, '/') || is_dot(c->id))
		return -EINVAL;
	for (size_t i = 0; i < N_CONTAINER_LAYOUTS; i++) {
		const char *pre = container_layouts[i].pre, *suf = container_layouts[i].suf;

		if (fmt(buf, len, "%s/%s%s%s", pod_dir, pre, c->id, suf) == 0 && is_dir(buf))
			return 0;
	}
	if (len)
		buf[0] = '\0';
	return -ENOENT;
}

int pf_cgroup_container_names(const char *id, int systemd, char names[][PF_CG_NAME_MAX], size_t max)
{
	size_t n = 0;

	if (!id || !*id || strchr(id, '/') || is_dot(id))
		return -EINVAL;
	for (size_t i = 0; i < N_CONTAINER_LAYOUTS && n < max; i++) {
		if (systemd >= 0 && container_layouts[i].systemd != (systemd > 0))
			continue;
		if (fmt(names[n], PF_CG_NAME_MAX, "%s%s%s", container_layouts[i].pre, id,
			container_layouts[i].suf) == 0)
			n++;
	}
	return (int)n;
}

int pf_cgroup_container_id(const char *name, size_t name_len, char *id, size_t id_len)
{
	if (name_len >= 12 && strncmp(name, "crio-conmon-", 12) == 0)
		return -ENOENT;
	for (size_t i = 0; i < N_CONTAINER_LAYOUTS; i++) {
		size_t pre = strlen(container_layouts[i].pre),
		       suf = strlen(container_layouts[i].suf);

		if (name_len <= pre + suf || strncmp(name, container_layouts[i].pre, pre) ||
		    strncmp(name + name_len - suf, container_layouts[i].suf, suf))
			continue;
		if (name_len - pre - suf >= id_len)
			return -ENAMETOOLONG;
		memcpy(id, name + pre, name_len - pre - suf);
		id[name_len - pre - suf] = 0;
		return 0;
	}
	return -ENOENT;
}

/* ---- expected names ---- */

int pf_cgroup_pod_expected_names(const struct pf_pod *pod, const char *root,
				 char names[][PF_CG_NAME_MAX], size_t max)
{
	struct kp_cache *c = &kp_cache;
	const char *uid = pod ? pod_cgroup_uid(pod) : NULL;
	char slices[ROOTS_MAX + 1][NAME_MAX + 1];
	size_t n = 0, n_slices = 0;

	if (!uid)
		return -EINVAL;
	/* cgroupfs driver: the same name under every kubepods root and QoS class. */
	if (n < max &&
	    pod_dirname("", uid, PF_QOS_GUARANTEED, false, names[n], PF_CG_NAME_MAX) == 0)
		n++;
	/* systemd driver: the name spells its slice prefix and QoS class. */
	snprintf(slices[n_slices++], sizeof(slices[0]), "kubepods");
	pthread_mutex_lock(&c->lock);
	if (root && (!c->scanned_ns || strcmp(c->root, root) != 0))
		roots_refresh(c, root);
	for (size_t i = 0; i < c->n; i++) {
		bool seen = !c->v[i].slice[0];

		for (size_t j = 0; j < n_slices && !seen; j++)
			seen = strcmp(slices[j], c->v[i].slice) == 0;
		if (!seen)
			snprintf(slices[n_slices++], sizeof(slices[0]), "%s", c->v[i].slice);
	}
	pthread_mutex_unlock(&c->lock);
	/* The kubelet computes the QoS class from the same spec: its name only. */
	for (size_t i = 0; i < n_slices && n < max; i++)
		if (pod_dirname(slices[i], uid, pod->qos, true, names[n], PF_CG_NAME_MAX) == 0)
			n++;
	return (int)n;
}

/* ---- the mount namespace of a cgroup's processes ---- */

bool pf_cgroup_populated(const char *dir)
{
	char path[PATH_MAX + 16], line[64];
	bool populated = true; /* unknown: as if it were */
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "populated ", 10) == 0)
			populated = line[10] != '0';
	fclose(f);
	return populated;
}

/* Start time of a process in clock ticks (field 22 of /proc/<pid>/stat); 0 if gone. */
static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	return start;
}

uint32_t pf_cgroup_mntns_hint(int cgroup_dirfd)
{
	unsigned long long best_start = 0;
	pid_t best = 0, pid;
	char path[64];
	struct stat st;
	FILE *f;
	int fd;

	fd = openat(cgroup_dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return 0;
	}
	/* The oldest process: the container's first, before anything it started could move. */
	while (fscanf(f, "%d", &pid) == 1) {
		unsigned long long start = proc_start_time(pid);

		if (start && (!best || start < best_start)) {
			best = pid;
			best_start = start;
		}
	}
	fclose(f);
	if (!best)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)best);
	return stat(path, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* ---- walking ---- */

/*
 * Depth-first with one open directory per level and a path that grows on
 * the heap: a cgroup tree may be deeper than PATH_MAX allows to spell.
 */
struct walk {
	char *path;
	size_t cap;
	int (*fn)(const char *path, int dirfd, uint64_t id, void *ctx);
	void *ctx;
	bool too_deep;
};

static int path_set(struct walk *w, size_t plen, const char *name)
{
	size_t n = strlen(name);

	if (plen + 1 + n + 1 > w->cap) {
		size_t cap = (plen + n + 2) * 2;
		char *p = realloc(w->path, cap);

		if (!p)
			return -ENOMEM;
		w->path = p;
		w->cap = cap;
	}
	w->path[plen] = '/';
	memcpy(w->path + plen + 1, name, n + 1);
	return 0;
}

/* Visits the cgroup open as dfd (closed here), then its children. */
static int walk_dir(struct walk *w, int dfd, size_t plen, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int ret;

	if (fstat(dfd, &st)) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	ret = w->fn(w->path, dfd, (uint64_t)st.st_ino, w->ctx);
	if (ret) {
		close(dfd);
		return ret;
	}
	if (depth >= PF_MAX_CG_LEVELS) {
		w->too_deep = true;
		close(dfd);
		return 0;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	while (!ret && (de = readdir(dir))) {
		int cfd;

		if (is_dot(de->d_name) || !is_dir_at(dirfd(dir), de))
			continue;
		/* A cgroup removed between readdir and here is not an error, just gone. */
		cfd =
		    openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (cfd < 0) {
			if (errno != ENOENT)
				ret = -errno;
			continue;
		}
		ret = path_set(w, plen, de->d_name);
		if (ret) {
			close(cfd);
			break;
		}
		ret = walk_dir(w, cfd, plen + 1 + strlen(de->d_name), depth + 1);
		w->path[plen] = '\0';
	}
	closedir(dir);
	return ret;
}

int pf_cgroup_walk(const char *dir, int (*fn)(const char *path, int dirfd, uint64_t id, void *ctx),
		   void *ctx)
{
	struct walk w = {.fn = fn, .ctx = ctx};
	size_t plen;
	int dfd, err;

	if (!dir || !fn)
		return -EINVAL;
	plen = strlen(dir);
	while (plen > 1 && dir[plen - 1] == '/')
		plen--;
	w.cap = plen + 256;
	w.path = malloc(w.cap);
	if (!w.path)
		return -ENOMEM;
	memcpy(w.path, dir, plen);
	w.path[plen] = '\0';
	dfd = open(w.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		err = errno == ENOTDIR ? -ENOTDIR : -errno;
		goto cleanup;
	}
	err = walk_dir(&w, dfd, plen, 0);
	if (!err && w.too_deep)
		err = -ELOOP;
cleanup:
	free(w.path);
	return err;
}
