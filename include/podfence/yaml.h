/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading YAML (and JSON, which libyaml parses as YAML) into libyaml's node
 * tree, keeping line:col of every node for diagnostics. A file may hold
 * several documents separated by "---".
 */
#ifndef PODFENCE_YAML_H
#define PODFENCE_YAML_H

#include <stdbool.h>
#include <yaml.h>
#include "podfence/diag.h"

struct pf_ydoc {
	yaml_document_t doc;
	const char *file; /* borrowed from the caller, for diagnostics */
};

struct pf_yfile {
	char *file;
	struct pf_ydoc *docs;
	size_t n_docs;
};

/*
 * Parses every document of a buffer/file. Syntax errors are reported to diags
 * with their position and return -EINVAL; empty documents are skipped.
 */
int pf_yfile_load_buf(struct pf_yfile *yf, const char *file, const char *buf, size_t len,
		      struct pf_diags *diags);
int pf_yfile_load(struct pf_yfile *yf, const char *file, struct pf_diags *diags);
void pf_yfile_free(struct pf_yfile *yf);

/* Node helpers; all accept NULL nodes and return NULL/false then. */
yaml_node_t *pf_y_root(struct pf_ydoc *d);
/* Value of key in a mapping node, or NULL. */
yaml_node_t *pf_y_get(struct pf_ydoc *d, yaml_node_t *map, const char *key);
/* Scalar value as a NUL-terminated string (libyaml keeps it NUL-terminated), or NULL. */
const char *pf_y_str(yaml_node_t *n);
bool pf_y_is_map(yaml_node_t *n);
bool pf_y_is_seq(yaml_node_t *n);
bool pf_y_is_scalar(yaml_node_t *n);
size_t pf_y_seq_len(yaml_node_t *seq);
yaml_node_t *pf_y_seq_at(struct pf_ydoc *d, yaml_node_t *seq, size_t i);
/* 1-based position of a node. */
int pf_y_line(yaml_node_t *n);
int pf_y_col(yaml_node_t *n);
/* Reports an error/warning at node n of document d. */
void pf_y_error(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pf_y_warn(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Strict decoding of a mapping: checks that every key of `map` is in `known`
 * (NULL-terminated list); each unknown key is reported as an error at the key,
 * prefixed with `path` (e.g. "spec.kprobes[0]"). Returns the number of unknown keys.
 */
int pf_y_check_keys(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *map, const char *path,
		    const char *const *known);

#endif /* PODFENCE_YAML_H */
