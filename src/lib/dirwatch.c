// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <uthash.h>
#include "podfence/dirwatch.h"

struct seen_file {
	char *name;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned stamp;
	UT_hash_handle hh;
};

struct pf_dirwatch {
	char dir[PATH_MAX];
	int fd;
	struct pf_dirwatch_ops ops;
	struct seen_file *files;
	unsigned stamp;
};

int pf_dirwatch_is_input(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return 0;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

int pf_dirwatch_open(struct pf_dirwatch **out, const char *dir, const struct pf_dirwatch_ops *ops)
{
	struct pf_dirwatch *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->ops = *ops;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		err = -errno;
		free(w);
		return err;
	}
	if (inotify_add_watch(w->fd, dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
				  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		err = -errno;
		close(w->fd);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

void pf_dirwatch_close(struct pf_dirwatch *w)
{
	struct seen_file *f, *tmp;

	if (!w)
		return;
	HASH_ITER (hh, w->files, f, tmp) {
		HASH_DEL(w->files, f);
		free(f->name);
		free(f);
	}
	close(w->fd);
	free(w);
}

int pf_dirwatch_fd(const struct pf_dirwatch *w)
{
	return w->fd;
}

int pf_dirwatch_drain(struct pf_dirwatch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	int due = 0;

	while (read(w->fd, buf, sizeof(buf)) > 0)
		due = 1;
	return due;
}

static void report(struct pf_dirwatch *w, const char *name, bool removed)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	if (removed)
		w->ops.removed(w->ops.ctx, path);
	else
		w->ops.changed(w->ops.ctx, path);
}

int pf_dirwatch_rescan(struct pf_dirwatch *w)
{
	struct seen_file *f, *tmp;
	struct dirent *de;
	struct stat st;
	DIR *d;

	d = opendir(w->dir);
	if (!d)
		return -errno;
	w->stamp++;
	while ((de = readdir(d))) {
		if (!pf_dirwatch_is_input(de->d_name))
			continue;
		/* stat follows symlinks: a ConfigMap's ..data swap changes the target. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		HASH_FIND_STR(w->files, de->d_name, f);
		if (!f) {
			f = calloc(1, sizeof(*f));
			if (!f || !(f->name = strdup(de->d_name))) {
				free(f);
				continue;
			}
			HASH_ADD_KEYPTR(hh, w->files, f->name, strlen(f->name), f);
		} else if (f->ino == st.st_ino && f->size == st.st_size &&
			   f->mtime.tv_sec == st.st_mtim.tv_sec &&
			   f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			f->stamp = w->stamp;
			continue;
		}
		f->ino = st.st_ino;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
		f->stamp = w->stamp;
		report(w, f->name, false);
	}
	closedir(d);
	HASH_ITER (hh, w->files, f, tmp) {
		if (f->stamp == w->stamp)
			continue;
		report(w, f->name, true);
		HASH_DEL(w->files, f);
		free(f->name);
		free(f);
	}
	return 0;
}
