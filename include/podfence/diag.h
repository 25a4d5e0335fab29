/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics about input files: every problem carries file:line:col and is
 * printed as "file:line:col: error: message". A file with any error is
 * rejected as a whole; warnings do not reject.
 */
#ifndef PODFENCE_DIAG_H
#define PODFENCE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum pf_severity {
	PF_SEV_ERROR = 0,
	PF_SEV_WARNING = 1,
};

struct pf_diag {
	enum pf_severity sev;
	char *file;
	int line; /* 1-based; 0 when the problem has no position (e.g. unreadable file) */
	int col;  /* 1-based */
	char *msg;
};

struct pf_diags {
	struct pf_diag *v;
	size_t n, cap;
	size_t n_errors;
};

void pf_diags_add(struct pf_diags *d, enum pf_severity sev, const char *file, int line, int col,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define pf_diags_error(d, file, line, col, ...)                                                    \
	pf_diags_add(d, PF_SEV_ERROR, file, line, col, __VA_ARGS__)
#define pf_diags_warn(d, file, line, col, ...)                                                     \
	pf_diags_add(d, PF_SEV_WARNING, file, line, col, __VA_ARGS__)
/* Moves every diagnostic of src to the end of dst (src is left empty). */
void pf_diags_move(struct pf_diags *dst, struct pf_diags *src);
/* "file:line:col: error: message" (or "file: error: message" without position). */
void pf_diag_format(const struct pf_diag *dg, char *buf, size_t len);
void pf_diags_print(const struct pf_diags *d, FILE *out);
void pf_diags_clear(struct pf_diags *d);
void pf_diags_free(struct pf_diags *d);

#endif /* PODFENCE_DIAG_H */
