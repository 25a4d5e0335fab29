// SPDX-License-Identifier: Apache-2.0
/*
 * Containers as their runtime announces them: OCI bundles' annotations,
 * read the moment the runtime writes them (see runtime.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <uthash.h>
#include "podfence/log.h"
#include "podfence/runtime.h"

void pf_runtime_container_free(struct pf_runtime_container *c)
{
	free(c->pod_uid);
	free(c->pod_namespace);
	free(c->pod_name);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

/* The annotations each runtime writes, by the Kubernetes field they carry. */
struct annotation_keys {
	const char *type, *sandbox_value, *pod_uid, *pod_namespace, *pod_name, *name;
};

static const struct annotation_keys runtimes[] = {
    {/* containerd's CRI plugin */
     "io.kubernetes.cri.container-type", "sandbox", "io.kubernetes.cri.sandbox-uid",
     "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-name",
     "io.kubernetes.cri.container-name"},
    {/* CRI-O */
     "io.kubernetes.cri-o.ContainerType", "sandbox", "io.kubernetes.pod.uid",
     "io.kubernetes.pod.namespace", "io.kubernetes.pod.name", "io.kubernetes.container.name"},
};

static const char *annotation(struct json_object *ann, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(ann, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int dup_field(char **dst, const char *v)
{
	*dst = v && *v ? strdup(v) : NULL;
	return v && *v && !*dst ? -ENOMEM : 0;
}

int pf_runtime_bundle_read(const char *config_json, const char *id,
			   struct pf_runtime_container *out, char *err, size_t err_len)
{
	struct json_object *root, *ann;
	const struct annotation_keys *k = NULL;
	const char *type;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(id) >= sizeof(out->id)) {
		snprintf(err, err_len, "%s: container id longer than %zu bytes", config_json,
			 sizeof(out->id) - 1);
		return -ENAMETOOLONG;
	}
	root = json_object_from_file(config_json);
	if (!root) {
		snprintf(err, err_len, "%s: %s", config_json, json_util_get_last_err());
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "annotations", &ann)) {
		json_object_put(root);
		return -ENODATA;
	}
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]) && !k; i++)
		if (annotation(ann, runtimes[i].type))
			k = &runtimes[i];
	if (!k || !annotation(ann, k->pod_uid) || !*annotation(ann, k->pod_uid)) {
		json_object_put(root);
		return -ENODATA;
	}
	type = annotation(ann, k->type);
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->sandbox = strcmp(type, k->sandbox_value) == 0;
	if ((ret = dup_field(&out->pod_uid, annotation(ann, k->pod_uid))) ||
	    (ret = dup_field(&out->pod_namespace, annotation(ann, k->pod_namespace))) ||
	    (ret = dup_field(&out->pod_name, annotation(ann, k->pod_name))) ||
	    (ret = dup_field(&out->name, out->sandbox ? NULL : annotation(ann, k->name))))
		snprintf(err, err_len, "%s: out of memory", config_json);
	else if (!out->sandbox && !out->name) {
		snprintf(err, err_len, "%s: container of pod %s without %s", config_json,
			 out->pod_uid, k->name);
		ret = -EINVAL;
	}
	if (ret)
		pf_runtime_container_free(out);
	json_object_put(root);
	return ret;
}

/* ---- watching the state directories ---- */

enum watch_level { W_STATE, W_BUNDLE, W_USERDATA };

struct watch {
	int wd;
	enum watch_level level;
	size_t dir;		    /* index of its state directory */
	char id[PF_RUNTIME_ID_MAX]; /* W_BUNDLE, W_USERDATA: the container's */
	UT_hash_handle hh;
};

struct known {
	char id[PF_RUNTIME_ID_MAX];
	size_t dir;
	UT_hash_handle hh;
};

struct pf_runtime_watch {
	int fd;
	char **dirs;
	int *state_wd; /* per directory; -1 until it exists */
	size_t n_dirs;
	struct watch *watches; /* by wd */
	struct known *known;   /* containers reported, by id */
	struct pf_runtime_watch_ops ops;
};

/* Returns the watch descriptor, or -1 (no such directory, no memory). */
static int watch_add(struct pf_runtime_watch *w, const char *path, uint32_t mask,
		     enum watch_level level, size_t dir, const char *id)
{
	struct watch *wa;
	int wd = inotify_add_watch(w->fd, path, mask);

	if (wd < 0)
		return -1;
	HASH_FIND_INT(w->watches, &wd, wa);
	if (!wa) {
		wa = calloc(1, sizeof(*wa));
		if (!wa) {
			inotify_rm_watch(w->fd, wd);
			return -1;
		}
		wa->wd = wd;
		HASH_ADD_INT(w->watches, wd, wa);
	}
	wa->level = level;
	wa->dir = dir;
	snprintf(wa->id, sizeof(wa->id), "%s", id ? id : "");
	return wd;
}

/* Reads a bundle's config.json if it is there and complete; reports it. */
static void bundle_try(struct pf_runtime_watch *w, size_t dir, const char *id)
{
	struct pf_runtime_container c;
	char path[PATH_MAX], err[PATH_MAX + 128] = "";
	struct known *k;
	int ret;

	snprintf(path, sizeof(path), "%s/%s/config.json", w->dirs[dir], id);
	if (access(path, R_OK))
		snprintf(path, sizeof(path), "%s/%s/userdata/config.json", w->dirs[dir], id);
	ret = pf_runtime_bundle_read(path, id, &c, err, sizeof(err));
	if (ret == -ENODATA || (ret && access(path, R_OK)))
		return; /* not a Kubernetes container, or not written yet */
	if (ret) {
		/* Being written: the close that ends the write reports it. */
		pf_debug("runtime bundle: %s", err);
		return;
	}
	HASH_FIND_STR(w->known, id, k);
	if (!k && (k = calloc(1, sizeof(*k)))) {
		snprintf(k->id, sizeof(k->id), "%s", id);
		k->dir = dir;
		HASH_ADD_STR(w->known, id, k);
	}
	w->ops.container(w->ops.ctx, &c);
	pf_runtime_container_free(&c);
}

static void bundle_watch(struct pf_runtime_watch *w, size_t dir, const char *name)
{
	char path[PATH_MAX], id[PF_RUNTIME_ID_MAX];

	/* A copy: name may be the id of the very watch entry rewritten below. */
	if (strlen(name) >= sizeof(id) || name[0] == '.')
		return;
	snprintf(id, sizeof(id), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", w->dirs[dir], id);
	watch_add(w, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR, W_BUNDLE, dir,
		  id);
	snprintf(path, sizeof(path), "%s/%s/userdata", w->dirs[dir], id);
	watch_add(w, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR, W_USERDATA, dir, id);
	bundle_try(w, dir, id); /* written before the watch was in place */
}

static void bundle_gone(struct pf_runtime_watch *w, const char *id)
{
	struct known *k;

	HASH_FIND_STR(w->known, id, k);
	if (!k)
		return;
	HASH_DEL(w->known, k);
	free(k);
	w->ops.gone(w->ops.ctx, id);
}

/* Watches a state directory and reports every container already in it. */
static void state_watch(struct pf_runtime_watch *w, size_t dir)
{
	struct dirent *de;
	DIR *d;

	w->state_wd[dir] = watch_add(w, w->dirs[dir],
				     IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
					 IN_DELETE_SELF | IN_ONLYDIR,
				     W_STATE, dir, NULL);
	if (w->state_wd[dir] < 0)
		return;
	pf_info("watching container bundles in %s", w->dirs[dir]);
	d = opendir(w->dirs[dir]);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			bundle_watch(w, dir, de->d_name);
	closedir(d);
}

int pf_runtime_watch_open(struct pf_runtime_watch **out, const char *const *dirs, size_t n_dirs,
			  const struct pf_runtime_watch_ops *ops)
{
	struct pf_runtime_watch *w = calloc(1, sizeof(*w));
	int err = -ENOMEM;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->ops = *ops;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	w->dirs = calloc(n_dirs ? n_dirs : 1, sizeof(*w->dirs));
	w->state_wd = calloc(n_dirs ? n_dirs : 1, sizeof(*w->state_wd));
	if (!w->dirs || !w->state_wd)
		goto fail;
	for (size_t i = 0; i < n_dirs; i++) {
		w->dirs[i] = strdup(dirs[i]);
		if (!w->dirs[i])
			goto fail;
		w->state_wd[i] = -1;
		w->n_dirs++;
	}
	pf_runtime_watch_retry(w);
	*out = w;
	return 0;
fail:
	pf_runtime_watch_close(w);
	return err;
}

void pf_runtime_watch_close(struct pf_runtime_watch *w)
{
	struct watch *wa, *wt;
	struct known *k, *kt;

	if (!w)
		return;
	HASH_ITER (hh, w->watches, wa, wt) {
		HASH_DEL(w->watches, wa);
		free(wa);
	}
	HASH_ITER (hh, w->known, k, kt) {
		HASH_DEL(w->known, k);
		free(k);
	}
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i]);
	free(w->dirs);
	free(w->state_wd);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int pf_runtime_watch_fd(const struct pf_runtime_watch *w)
{
	return w->fd;
}

void pf_runtime_watch_retry(struct pf_runtime_watch *w)
{
	for (size_t i = 0; i < w->n_dirs; i++)
		if (w->state_wd[i] < 0)
			state_watch(w, i);
}

/* The kernel dropped events: what is there now is the truth. */
static void rescan_all(struct pf_runtime_watch *w)
{
	struct known *k, *kt;
	char path[PATH_MAX];
	struct stat sb;

	HASH_ITER (hh, w->known, k, kt) {
		snprintf(path, sizeof(path), "%s/%s", w->dirs[k->dir], k->id);
		if (stat(path, &sb))
			bundle_gone(w, k->id);
	}
	for (size_t i = 0; i < w->n_dirs; i++) {
		w->state_wd[i] = -1;
		state_watch(w, i);
	}
}

static void handle_event(struct pf_runtime_watch *w, const struct inotify_event *ev)
{
	struct watch *wa;

	HASH_FIND_INT(w->watches, &ev->wd, wa);
	if (!wa)
		return;
	if (ev->mask & IN_IGNORED) { /* the directory is gone */
		if (wa->level == W_STATE)
			w->state_wd[wa->dir] = -1;
		HASH_DEL(w->watches, wa);
		free(wa);
		return;
	}
	if (!ev->len)
		return;
	switch (wa->level) {
	case W_STATE:
		if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
			bundle_gone(w, ev->name);
		else if (ev->mask & IN_ISDIR)
			bundle_watch(w, wa->dir, ev->name);
		break;
	case W_BUNDLE:
		if ((ev->mask & IN_ISDIR) && strcmp(ev->name, "userdata") == 0)
			bundle_watch(w, wa->dir, wa->id);
		else if (!(ev->mask & IN_ISDIR) && strcmp(ev->name, "config.json") == 0 &&
			 (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
			bundle_try(w, wa->dir, wa->id);
		break;
	case W_USERDATA:
		if (strcmp(ev->name, "config.json") == 0)
			bundle_try(w, wa->dir, wa->id);
		break;
	}
}

void pf_runtime_watch_drain(struct pf_runtime_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				rescan_all(w);
			else
				handle_event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}
