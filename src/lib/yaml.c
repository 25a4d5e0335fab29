// SPDX-License-Identifier: Apache-2.0
/*
 * YAML/JSON loading with libyaml's document API. Every node keeps its start
 * mark, so any later check can point at file:line:col.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/yaml.h"

/* Policy and pod files are small; refuse anything absurd before reading it all. */
#define PF_YFILE_MAX (16u << 20)

/* libyaml reader errors carry a byte offset but no mark: derive line:col. */
static void offset_to_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void report_syntax(struct pf_diags *diags, const char *file, const yaml_parser_t *p,
			  const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;

	if (p->error == YAML_READER_ERROR)
		offset_to_pos(buf, len, p->problem_offset, &line, &col);
	if (p->context)
		pf_diags_error(diags, file, line, col, "%s (%s)", problem, p->context);
	else
		pf_diags_error(diags, file, line, col, "%s", problem);
}

/*
 * libyaml is quadratic in three things no file we read needs: the nesting of
 * flow collections ("[[[[...": every token revisits each level's possible
 * simple key), the anchors of a document and its %TAG directives (each one is
 * compared with all earlier ones). A 100 KB file could hold the agent for
 * seconds, a 16 MB one for hours. One pass over the file's tokens (counted per
 * file: stricter), stopping at the first excess, bounds all three before
 * anything is loaded; a syntax error is left to the loader, which reports it.
 * Kubernetes objects nest about 15 deep (managedFields), and anchors are
 * refused once aliased anyway (check_doc).
 */
#define PF_YAML_MAX_DEPTH   64
#define PF_YAML_MAX_ANCHORS 64
#define PF_YAML_MAX_TAGS    64

static int excess(struct pf_diags *diags, const char *file, const yaml_token_t *tok, int max,
		  const char *what)
{
	pf_diags_error(diags, file, (int)tok->start_mark.line + 1, (int)tok->start_mark.column + 1,
		       "more than %d %s: not supported", max, what);
	return -EINVAL;
}

static int check_cost(struct pf_diags *diags, const char *file, const char *buf, size_t len)
{
	int depth = 0, anchors = 0, tags = 0, err = 0;
	yaml_parser_t parser;
	yaml_token_t tok;
	bool end = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!err && !end && yaml_parser_scan(&parser, &tok)) {
		switch (tok.type) {
		case YAML_FLOW_SEQUENCE_START_TOKEN:
		case YAML_FLOW_MAPPING_START_TOKEN:
			if (++depth > PF_YAML_MAX_DEPTH)
				err = excess(diags, file, &tok, PF_YAML_MAX_DEPTH,
					     "levels of [ ] and { } nesting");
			break;
		case YAML_FLOW_SEQUENCE_END_TOKEN:
		case YAML_FLOW_MAPPING_END_TOKEN:
			depth -= depth > 0;
			break;
		case YAML_ANCHOR_TOKEN:
			if (++anchors > PF_YAML_MAX_ANCHORS)
				err = excess(diags, file, &tok, PF_YAML_MAX_ANCHORS, "anchors");
			break;
		case YAML_TAG_DIRECTIVE_TOKEN:
			if (++tags > PF_YAML_MAX_TAGS)
				err =
				    excess(diags, file, &tok, PF_YAML_MAX_TAGS, "%TAG directives");
			break;
		default:
			end = tok.type == YAML_STREAM_END_TOKEN;
			break;
		}
		yaml_token_delete(&tok);
	}
	yaml_parser_delete(&parser);
	return err;
}

/* "---" followed by nothing loads as a plain empty scalar: not a document. */
static bool doc_is_empty(yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	return root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
	       root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static void count_refs(yaml_document_t *doc, yaml_node_t *n, unsigned *refs)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			refs[*it - 1]++;
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++) {
			refs[pr->key - 1]++;
			refs[pr->value - 1]++;
		}
	}
}

/*
 * The document API resolves aliases into shared nodes: a few aliases make a
 * tree that is exponential to walk ("billion laughs"), and a self-reference
 * makes a cycle. Nothing we read needs them, so a node reached twice is an
 * error. Scalars with an embedded NUL ("\0") would be silently truncated by
 * every C string use: also an error.
 */
static int check_doc(struct pf_diags *diags, struct pf_ydoc *d)
{
	size_t n = (size_t)(d->doc.nodes.top - d->doc.nodes.start);
	unsigned *refs = calloc(n ? n : 1, sizeof(*refs));
	int bad = 0;

	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		count_refs(&d->doc, &d->doc.nodes.start[i], refs);
	refs[0]++; /* the root (node 1) is reached from the document itself */
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *node = &d->doc.nodes.start[i];

		if (refs[i] > 1) {
			pf_y_error(diags, d, node, "anchors and aliases are not supported");
			bad++;
		} else if (node->type == YAML_SCALAR_NODE &&
			   strlen((const char *)node->data.scalar.value) !=
			       node->data.scalar.length) {
			pf_y_error(diags, d, node, "string contains a NUL character");
			bad++;
		}
	}
	free(refs);
	return bad ? -EINVAL : 0;
}

static int push_doc(struct pf_yfile *yf, yaml_document_t *doc)
{
	struct pf_ydoc *v = realloc(yf->docs, (yf->n_docs + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	yf->docs = v;
	v[yf->n_docs].doc = *doc; /* the document owns heap stacks only: safe to move */
	v[yf->n_docs].file = yf->file;
	yf->n_docs++;
	return 0;
}

int pf_yfile_load_buf(struct pf_yfile *yf, const char *file, const char *buf, size_t len,
		      struct pf_diags *diags)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int err = 0;

	memset(yf, 0, sizeof(*yf));
	yf->file = strdup(file ? file : "<input>");
	if (!yf->file)
		return -ENOMEM;
	err = check_cost(diags, yf->file, buf, len);
	if (err) {
		pf_yfile_free(yf);
		return err;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(yf->file);
		yf->file = NULL;
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_load(&parser, &doc)) {
			err = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
			report_syntax(diags, yf->file, &parser, buf, len);
			goto cleanup;
		}
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc); /* end of stream */
			break;
		}
		if (doc_is_empty(&doc)) {
			yaml_document_delete(&doc);
			continue;
		}
		err = push_doc(yf, &doc);
		if (err) {
			yaml_document_delete(&doc);
			goto cleanup;
		}
		err = check_doc(diags, &yf->docs[yf->n_docs - 1]);
		if (err)
			goto cleanup;
	}
cleanup:
	yaml_parser_delete(&parser);
	if (err)
		pf_yfile_free(yf);
	return err;
}

static int read_all(FILE *f, char **out, size_t *out_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		size_t n;

		if (len == cap) {
			char *nb;

			if (cap >= PF_YFILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int pf_yfile_load(struct pf_yfile *yf, const char *file, struct pf_diags *diags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	memset(yf, 0, sizeof(*yf));
	f = fopen(file, "rb");
	if (!f) {
		err = -errno;
		pf_diags_error(diags, file, 0, 0, "cannot open: %s", strerror(-err));
		return err;
	}
	err = read_all(f, &buf, &len);
	fclose(f);
	if (err) {
		pf_diags_error(diags, file, 0, 0, "cannot read: %s", strerror(-err));
		return err;
	}
	err = pf_yfile_load_buf(yf, file, buf, len, diags);
	free(buf);
	return err;
}

void pf_yfile_free(struct pf_yfile *yf)
{
	if (!yf)
		return;
	for (size_t i = 0; i < yf->n_docs; i++)
		yaml_document_delete(&yf->docs[i].doc);
	free(yf->docs);
	free(yf->file);
	memset(yf, 0, sizeof(*yf));
}

yaml_node_t *pf_y_root(struct pf_ydoc *d)
{
	return d ? yaml_document_get_root_node(&d->doc) : NULL;
}

yaml_node_t *pf_y_get(struct pf_ydoc *d, yaml_node_t *map, const char *key)
{
	if (!d || !pf_y_is_map(map))
		return NULL;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		const char *k = pf_y_str(yaml_document_get_node(&d->doc, pr->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(&d->doc, pr->value);
	}
	return NULL;
}

const char *pf_y_str(yaml_node_t *n)
{
	return pf_y_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

bool pf_y_is_map(yaml_node_t *n)
{
	return n && n->type == YAML_MAPPING_NODE;
}

bool pf_y_is_seq(yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE;
}

bool pf_y_is_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

size_t pf_y_seq_len(yaml_node_t *seq)
{
	if (!pf_y_is_seq(seq))
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *pf_y_seq_at(struct pf_ydoc *d, yaml_node_t *seq, size_t i)
{
	if (!d || i >= pf_y_seq_len(seq))
		return NULL;
	return yaml_document_get_node(&d->doc, seq->data.sequence.items.start[i]);
}

int pf_y_line(yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

int pf_y_col(yaml_node_t *n)
{
	return n ? (int)n->start_mark.column + 1 : 0;
}

static void y_report(struct pf_diags *diags, enum pf_severity sev, struct pf_ydoc *d,
		     yaml_node_t *n, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	pf_diags_add(diags, sev, d ? d->file : NULL, pf_y_line(n), pf_y_col(n), "%s",
		     msg ? msg : "(out of memory)");
	free(msg);
}

void pf_y_error(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	y_report(diags, PF_SEV_ERROR, d, n, fmt, ap);
	va_end(ap);
}

void pf_y_warn(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	y_report(diags, PF_SEV_WARNING, d, n, fmt, ap);
	va_end(ap);
}

/* Index of s in the NULL-terminated list, or -1. */
static long list_index(const char *s, const char *const *list)
{
	for (long i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return i;
	return -1;
}

/*
 * Unknown and duplicate keys are both reported (libyaml accepts duplicates,
 * Kubernetes' strict decoding does not, and pf_y_get would silently use the
 * first one); the return value counts every key reported.
 */
int pf_y_check_keys(struct pf_diags *diags, struct pf_ydoc *d, yaml_node_t *map, const char *path,
		    const char *const *known)
{
	const char *dot = path && *path ? "." : "";
	size_t n_known = 0;
	bool *seen;
	int bad = 0;

	if (!d || !pf_y_is_map(map))
		return 0;
	path = path ? path : "";
	while (known && known[n_known])
		n_known++;
	/* one flag per known key: duplicates cost O(keys), even in a hostile mapping */
	seen = calloc(n_known + 1, sizeof(*seen));
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = yaml_document_get_node(&d->doc, pr->key);
		const char *k = pf_y_str(kn);
		long i = k ? list_index(k, known) : -1;

		if (!k) {
			pf_y_error(diags, d, kn, "%s: keys must be strings",
				   *path ? path : "(root)");
			bad++;
		} else if (i < 0) {
			pf_y_error(diags, d, kn, "%s%s%s: unknown field \"%s\"", path, dot, k, k);
			bad++;
		} else if (seen && seen[i]) {
			pf_y_error(diags, d, kn, "%s%s%s: duplicate field \"%s\"", path, dot, k, k);
			bad++;
		} else if (seen) {
			seen[i] = true;
		}
	}
	free(seen);
	return bad;
}
