// SPDX-License-Identifier: Apache-2.0
/* Small helpers of the benchmark: time, statistics, files, cgroups, /proc, JSON. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include "bench.h"

/* Reads or writes all of buf, through EINTR: 0, -errno, or -EPIPE at end of file. */
int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		p += r;
		len -= r;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		p += r;
		len -= r;
	}
	return 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

double now_s(void)
{
	return now_ns() / 1e9;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double percentile(double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* nearest rank: the smallest value with at least p% of the samples at or below it */
	k = (size_t)(p / 100.0 * n + 0.999999);
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

int write_file(const char *path, const char *s, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		n = write(fd, s, len);
		if (n < 0) {
			err = -errno;
			break;
		}
		s += n;
		len -= n;
	}
	close(fd);
	return err;
}

int write_str(const char *path, const char *s)
{
	return write_file(path, s, strlen(s));
}

int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

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
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void rm_rf_at(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (!unlinkat(dfd, name, 0) || errno != EISDIR)
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rm_rf_at(dirfd(d), de->d_name);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void rm_rf(const char *path)
{
	/* Only what this program creates: a slip here must not wipe anything else. */
	if (!path || strncmp(path, "/tmp/pf-bench-", 14) != 0)
		return;
	rm_rf_at(AT_FDCWD, path);
}

int cg_enter(const char *dir)
{
	char path[PATH_MAX + 16], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_str(path, pid);
}

/*
 * Depth-first removal; a cgroup that still holds processes (a child of a
 * killed run) is emptied through cgroup.kill first.
 */
static long cg_remove_at(const char *dir)
{
	char child[PATH_MAX], kill_path[PATH_MAX + 16];
	struct dirent *de;
	long left = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : 1;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", dir, de->d_name) >= (int)sizeof(child))
			continue;
		left += cg_remove_at(child);
	}
	closedir(d);
	if (!rmdir(dir) || errno == ENOENT)
		return left;
	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", dir);
	write_str(kill_path, "1");
	for (int i = 0; i < 100; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return left;
		usleep(10000);
	}
	return left + 1;
}

long cg_remove_tree(const char *dir)
{
	return cg_remove_at(dir);
}

long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

int sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (b->s && (size_t)n < room) {
			b->len += n;
			return 0;
		}
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *s;

		while (cap < b->len + n + 1)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = cap;
	}
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void json_add_double(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

void json_add_int(struct json_object *o, const char *k, long long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

void json_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

double json_get_double(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

long long json_get_int(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

const char *json_get_str(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* First line of a /proc-style file starting with `key`, value after the colon, trimmed. */
static void file_field(const char *path, const char *key, char *buf, size_t len)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen(path, "re");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) != 0)
			continue;
		v = strchr(line + klen, ':');
		if (!v)
			v = strchr(line + klen, '=');
		if (!v)
			continue;
		for (v++; *v == ' ' || *v == '\t' || *v == '"'; v++)
			;
		v[strcspn(v, "\"\n")] = 0;
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

struct json_object *machine_json(const struct bench *b)
{
	struct json_object *m = json_object_new_object();
	char buf[512], date[64];
	struct utsname u;
	time_t t = time(NULL);
	long mem_kib = 0;

	file_field("/proc/cpuinfo", "model name", buf, sizeof(buf));
	json_add_str(m, "cpu_model", buf);
	json_add_int(m, "cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
	json_add_int(m, "cpus_possible", libbpf_num_possible_cpus());
	file_field("/proc/meminfo", "MemTotal", buf, sizeof(buf));
	mem_kib = strtol(buf, NULL, 10);
	json_add_int(m, "mem_total_kib", mem_kib);
	if (!uname(&u)) {
		json_add_str(m, "kernel", u.release);
		json_add_str(m, "kernel_version", u.version);
		json_add_str(m, "arch", u.machine);
	}
	file_field("/etc/os-release", "PRETTY_NAME", buf, sizeof(buf));
	json_add_str(m, "os", buf);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	json_add_str(m, "date", date);
	json_add_str(m, "backend", pf_backend_name(b->backend));
	return m;
}

void loadavg_str(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double a = 0, b = 0, c = 0;

	if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
		a = b = c = -1;
	if (f)
		fclose(f);
	snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
}

int cpu_times_read(struct cpu_times *t)
{
	unsigned long long v[10] = {};
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 8; i++) /* guest time is already in user */
		t->total += v[i];
	t->idle = v[3] + v[4];
	t->steal = v[7];
	return 0;
}
