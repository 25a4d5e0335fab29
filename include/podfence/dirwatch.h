/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Watching an input directory: inotify says "something changed", a rescan
 * says what (files compared by inode, size and mtime). Rescanning instead of
 * trusting event names also handles editors' rename dances and Kubernetes'
 * ConfigMap symlink swaps.
 */
#ifndef PODFENCE_DIRWATCH_H
#define PODFENCE_DIRWATCH_H

struct pf_dirwatch;

struct pf_dirwatch_ops {
	void (*changed)(void *ctx, const char *path); /* new or modified file */
	void (*removed)(void *ctx, const char *path);
	void *ctx;
};

int pf_dirwatch_open(struct pf_dirwatch **out, const char *dir, const struct pf_dirwatch_ops *ops);
void pf_dirwatch_close(struct pf_dirwatch *w);
/* The inotify fd (readable when something changed). */
int pf_dirwatch_fd(const struct pf_dirwatch *w);
/* Reads pending inotify events; returns 1 when a rescan is due. */
int pf_dirwatch_drain(struct pf_dirwatch *w);
/* Compares the directory with what was seen last and reports the differences. */
int pf_dirwatch_rescan(struct pf_dirwatch *w);
/* Whether a file name is an input (.yaml, .yml, .json; not hidden). */
int pf_dirwatch_is_input(const char *name);

#endif /* PODFENCE_DIRWATCH_H */
