// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include "pf_test.h"
#include "podfence/yaml.h"

static int load(struct pf_yfile *yf, const char *text, struct pf_diags *d)
{
	return pf_yfile_load_buf(yf, "t.yaml", text, strlen(text), d);
}

PF_TEST(yaml_multi_document_positions)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};
	yaml_node_t *a, *c;

	if (!ASSERT_OK(load(&yf, "a: 1\n---\nb:\n  c: two\n", &d), "load"))
		goto out;
	ASSERT_EQ(yf.n_docs, 2, "documents");
	ASSERT_STREQ(yf.docs[1].file, "t.yaml", "file kept for diagnostics");
	a = pf_y_get(&yf.docs[0], pf_y_root(&yf.docs[0]), "a");
	ASSERT_STREQ(pf_y_str(a), "1", "scalar");
	c = pf_y_get(&yf.docs[1], pf_y_get(&yf.docs[1], pf_y_root(&yf.docs[1]), "b"), "c");
	ASSERT_STREQ(pf_y_str(c), "two", "nested");
	ASSERT_EQ(pf_y_line(c), 4, "line 1-based");
	ASSERT_EQ(pf_y_col(c), 6, "col 1-based");
	ASSERT_TRUE(pf_y_get(&yf.docs[0], pf_y_root(&yf.docs[0]), "zz") == NULL, "missing key");
out:
	pf_yfile_free(&yf);
	pf_diags_free(&d);
}

PF_TEST(yaml_empty_documents_skipped)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	ASSERT_OK(load(&yf, "---\n---\na: 1\n...\n---\n", &d), "load");
	ASSERT_EQ(yf.n_docs, 1, "only the non-empty document");
	pf_yfile_free(&yf);
	ASSERT_OK(load(&yf, "# nothing but a comment\n", &d), "comment only");
	ASSERT_EQ(yf.n_docs, 0, "no document");
	pf_yfile_free(&yf);
	ASSERT_OK(load(&yf, "", &d), "empty buffer");
	ASSERT_EQ(yf.n_docs, 0, "no document");
	pf_yfile_free(&yf);
	ASSERT_EQ(d.n, 0, "no diagnostics");
	pf_diags_free(&d);
}

PF_TEST(yaml_syntax_error_line_col)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	ASSERT_EQ(load(&yf, "a: 1\nb: [1, 2\nc: 3\n---\nd: 1\n", &d), -EINVAL, "syntax error");
	ASSERT_EQ(yf.n_docs, 0, "nothing kept");
	if (ASSERT_EQ(d.n_errors, 1, "one error")) {
		ASSERT_STREQ(d.v[0].file, "t.yaml", "file");
		ASSERT_EQ(d.v[0].line, 3, "line of the problem");
		ASSERT_EQ(d.v[0].col, 2, "col of the problem");
		ASSERT_STRSTR(d.v[0].msg, "did not find expected ',' or ']'",
			      "libyaml problem text");
	}
	pf_diags_clear(&d);
	ASSERT_EQ(load(&yf, "a: 1\n b: 2\n", &d), -EINVAL, "bad indentation");
	if (ASSERT_EQ(d.n_errors, 1, "one error")) {
		ASSERT_EQ(d.v[0].line, 2, "line");
		ASSERT_EQ(d.v[0].col, 3, "col");
		ASSERT_STRSTR(d.v[0].msg, "mapping values are not allowed", "problem");
	}
	pf_diags_free(&d);
}

PF_TEST(yaml_invalid_utf8_has_position)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	ASSERT_EQ(load(&yf, "a: 1\nb: \xff\n", &d), -EINVAL, "reader error");
	if (ASSERT_EQ(d.n_errors, 1, "one error")) {
		ASSERT_EQ(d.v[0].line, 2, "line from the byte offset");
		ASSERT_EQ(d.v[0].col, 4, "col from the byte offset");
		ASSERT_STRSTR(d.v[0].msg, "UTF-8", "problem");
	}
	pf_diags_free(&d);
}

PF_TEST(yaml_json_input)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};
	const char *json = "{\"kind\": \"Pod\",\n \"items\": [1, \"two\", {\"k\": null}]}";
	yaml_node_t *root, *items, *two;

	if (!ASSERT_OK(load(&yf, json, &d), "load json"))
		goto out;
	ASSERT_EQ(yf.n_docs, 1, "one document");
	root = pf_y_root(&yf.docs[0]);
	ASSERT_TRUE(pf_y_is_map(root), "object is a mapping");
	ASSERT_STREQ(pf_y_str(pf_y_get(&yf.docs[0], root, "kind")), "Pod", "string");
	items = pf_y_get(&yf.docs[0], root, "items");
	ASSERT_TRUE(pf_y_is_seq(items), "array is a sequence");
	ASSERT_EQ(pf_y_seq_len(items), 3, "length");
	two = pf_y_seq_at(&yf.docs[0], items, 1);
	ASSERT_STREQ(pf_y_str(two), "two", "element");
	ASSERT_EQ(pf_y_line(two), 2, "line");
	ASSERT_EQ(pf_y_col(two), 15, "col");
	ASSERT_TRUE(pf_y_is_map(pf_y_seq_at(&yf.docs[0], items, 2)), "nested object");
	ASSERT_TRUE(pf_y_seq_at(&yf.docs[0], items, 3) == NULL, "out of range");
out:
	pf_yfile_free(&yf);
	pf_diags_free(&d);
}

PF_TEST(yaml_check_keys_unknown_and_duplicate)
{
	static const char *const known[] = {"name", "value", NULL};
	struct pf_yfile yf;
	struct pf_diags d = {0};
	yaml_node_t *root;

	if (!ASSERT_OK(load(&yf, "name: a\nvalu: 1\nname: b\n", &d), "load"))
		goto out;
	root = pf_y_root(&yf.docs[0]);
	ASSERT_EQ(pf_y_check_keys(&d, &yf.docs[0], root, "spec.options[0]", known), 2,
		  "keys reported");
	if (ASSERT_EQ(d.n_errors, 2, "errors")) {
		ASSERT_STREQ(d.v[0].msg, "spec.options[0].valu: unknown field \"valu\"", "unknown");
		ASSERT_EQ(d.v[0].line, 2, "at the key line");
		ASSERT_EQ(d.v[0].col, 1, "at the key col");
		ASSERT_STREQ(d.v[1].msg, "spec.options[0].name: duplicate field \"name\"",
			     "duplicate");
		ASSERT_EQ(d.v[1].line, 3, "second occurrence");
	}
	pf_diags_clear(&d);
	ASSERT_EQ(pf_y_check_keys(&d, &yf.docs[0], root, "", known), 2, "top level");
	if (d.n)
		ASSERT_STREQ(d.v[0].msg, "valu: unknown field \"valu\"", "no leading dot");
out:
	pf_yfile_free(&yf);
	pf_diags_free(&d);
}

PF_TEST(yaml_aliases_rejected)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	/* a shared node would let a few bytes of aliases expand into a huge walk */
	ASSERT_EQ(load(&yf, "a: &x [1, 2]\nb: *x\n", &d), -EINVAL, "alias");
	if (ASSERT_EQ(d.n_errors, 1, "one error")) {
		ASSERT_STRSTR(d.v[0].msg, "aliases are not supported", "message");
		ASSERT_EQ(d.v[0].line, 1, "at the anchored node");
	}
	pf_diags_clear(&d);
	ASSERT_EQ(load(&yf, "a: &x [*x]\n", &d), -EINVAL, "cycle");
	ASSERT_EQ(yf.n_docs, 0, "nothing kept");
	pf_diags_free(&d);
}

/* n copies of the line made by fmt(i) after head: an input of a few hundred KB. */
static char *repeat(const char *head, const char *fmt, size_t n, const char *tail)
{
	size_t cap = strlen(head) + n * 32 + strlen(tail) + 1, len;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, "%s", head);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, fmt, i);
	snprintf(s + len, cap - len, "%s", tail);
	return s;
}

/*
 * libyaml takes quadratic time on deep flow nesting, many anchors and many
 * %TAG directives: each input below held the reader for minutes (found by
 * measuring past the fuzzers' input size); now refused at the first excess.
 */
PF_TEST(yaml_quadratic_inputs_refused)
{
	static const struct {
		const char *head, *fmt, *tail, *msg;
		int line, col;
	} cases[] = {
	    {"", "[", "", "more than 64 levels of [ ] and { } nesting", 1, 65},
	    {"a: ", "{a: ", "", "more than 64 levels of [ ] and { } nesting", 1, 260},
	    {"a:\n", "- &a%zu x\n", "", "more than 64 anchors", 66, 3},
	    {"", "%%TAG !t%zu! tag:x\n", "--- a\n", "more than 64 %TAG directives", 65, 1},
	};
	char nested[2 * 64 + 2] = "";
	struct pf_yfile yf;
	struct pf_diags d = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = repeat(cases[i].head, cases[i].fmt, 100000, cases[i].tail);

		if (!ASSERT_NOT_NULL(text, "input"))
			break;
		ASSERT_EQ(load(&yf, text, &d), -EINVAL, cases[i].msg);
		if (ASSERT_EQ(d.n_errors, 1, "one error")) {
			ASSERT_STRSTR(d.v[0].msg, cases[i].msg, "message");
			ASSERT_EQ(d.v[0].line, cases[i].line, "line");
			ASSERT_EQ(d.v[0].col, cases[i].col, "col");
		}
		pf_diags_clear(&d);
		free(text);
	}
	/* 64 levels are fine */
	memset(nested, '[', 64);
	memset(nested + 64, ']', 64);
	ASSERT_OK(load(&yf, nested, &d), "64 levels");
	ASSERT_EQ(yf.n_docs, 1, "loaded");
	pf_yfile_free(&yf);
	pf_diags_free(&d);
}

PF_TEST(yaml_embedded_nul_rejected)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	ASSERT_EQ(load(&yf, "a: \"/usr/bin/sleep\\0x\"\n", &d), -EINVAL, "NUL in a string");
	if (ASSERT_EQ(d.n_errors, 1, "one error"))
		ASSERT_STRSTR(d.v[0].msg, "NUL", "message");
	pf_diags_free(&d);
}

PF_TEST(yaml_load_missing_file)
{
	struct pf_yfile yf;
	struct pf_diags d = {0};

	ASSERT_EQ(pf_yfile_load(&yf, "/nonexistent/podfence.yaml", &d), -ENOENT, "errno");
	if (ASSERT_EQ(d.n_errors, 1, "reported"))
		ASSERT_EQ(d.v[0].line, 0, "no position");
	ASSERT_EQ(yf.n_docs, 0, "empty");
	pf_yfile_free(&yf);
	pf_diags_free(&d);
}

PF_TEST(yaml_helpers_accept_null)
{
	ASSERT_TRUE(pf_y_root(NULL) == NULL, "root");
	ASSERT_TRUE(pf_y_get(NULL, NULL, "a") == NULL, "get");
	ASSERT_TRUE(pf_y_str(NULL) == NULL, "str");
	ASSERT_FALSE(pf_y_is_map(NULL) || pf_y_is_seq(NULL) || pf_y_is_scalar(NULL), "types");
	ASSERT_EQ(pf_y_seq_len(NULL), 0, "len");
	ASSERT_EQ(pf_y_line(NULL), 0, "line");
	pf_yfile_free(NULL);
}
