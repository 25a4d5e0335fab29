// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/diag.h"

void pf_diags_add(struct pf_diags *d, enum pf_severity sev, const char *file, int line, int col,
		  const char *fmt, ...)
{
	struct pf_diag *dg;
	va_list ap;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct pf_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return; /* out of memory: the diagnostic is lost, the caller's error stands
				 */
		d->v = v;
		d->cap = cap;
	}
	dg = &d->v[d->n];
	dg->sev = sev;
	dg->file = strdup(file ? file : "<input>");
	dg->line = line;
	dg->col = col;
	va_start(ap, fmt);
	if (vasprintf(&dg->msg, fmt, ap) < 0)
		dg->msg = NULL;
	va_end(ap);
	d->n++;
	if (sev == PF_SEV_ERROR)
		d->n_errors++;
}

void pf_diags_move(struct pf_diags *dst, struct pf_diags *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct pf_diag *s = &src->v[i];

		pf_diags_add(dst, s->sev, s->file, s->line, s->col, "%s", s->msg ? s->msg : "");
	}
	pf_diags_clear(src);
}

void pf_diag_format(const struct pf_diag *dg, char *buf, size_t len)
{
	const char *sev = dg->sev == PF_SEV_ERROR ? "error" : "warning";
	const char *msg = dg->msg ? dg->msg : "(out of memory)";

	if (dg->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s: %s", dg->file, dg->line, dg->col, sev, msg);
	else
		snprintf(buf, len, "%s: %s: %s", dg->file, sev, msg);
}

void pf_diags_print(const struct pf_diags *d, FILE *out)
{
	char buf[4096];

	for (size_t i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
}

void pf_diags_clear(struct pf_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	d->n = 0;
	d->n_errors = 0;
}

void pf_diags_free(struct pf_diags *d)
{
	pf_diags_clear(d);
	free(d->v);
	memset(d, 0, sizeof(*d));
}
