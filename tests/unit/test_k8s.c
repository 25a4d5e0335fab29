// SPDX-License-Identifier: Apache-2.0
/*
 * The Kubernetes wire format: the real API server captures of
 * ../shared/fixtures/k8s/ decode to the same objects whole and fed one byte
 * at a time (a watch cut anywhere), and garbage is an error, not an object.
 * Tests that read ../shared skip when it is absent (users' checkouts).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf_sandbox.h"
#include "pf_test.h"
#include "podfence/diag.h"
#include "podfence/k8s.h"
#include "podfence/pod.h"

/* A capture of ../shared/fixtures/k8s/ (PF_SHARED_DIR elsewhere), or a skip. */
static char *fixture(const char *name, size_t *len)
{
	const char *dir = getenv("PF_SHARED_DIR") ? getenv("PF_SHARED_DIR") : "../shared";
	char path[PATH_MAX];
	char *buf = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/fixtures/k8s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(n + 1)) && fread(buf, 1, n, f) == (size_t)n) {
		buf[n] = 0;
		*len = n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The body of a raw chunked HTTP response (what libcurl hands over). */
static size_t dechunk(const char *raw, size_t len, char *out)
{
	const char *p = strstr(raw, "\r\n\r\n"), *end = raw + len;
	size_t n = 0;

	for (p = p ? p + 4 : end; p < end;) {
		char *after;
		unsigned long size = strtoul(p, &after, 16);

		if (after == p || !size)
			break;
		p = strstr(after, "\r\n");
		if (!p || p + 2 + size > end)
			break;
		memcpy(out + n, p + 2, size);
		n += size;
		p += 2 + size + 2;
	}
	return n;
}

struct collected {
	char *text[8]; /* each value re-serialised: compares whole and piecewise */
	int n;
};

static int collect(void *ctx, struct json_object *v)
{
	struct collected *c = ctx;

	if (c->n < 8)
		c->text[c->n++] = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return 0;
}

static void collected_free(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->text[i]);
	c->n = 0;
}

/* Feeds buf whole, then byte by byte: both must give the same values. */
static bool decode_both_ways(const char *what, const char *buf, size_t len, struct collected *whole)
{
	struct collected bytes = {};
	struct pf_k8s_stream *s = pf_k8s_stream_new(collect, whole);
	char err[256] = "";
	bool ok = true;

	memset(whole, 0, sizeof(*whole));
	ok &= ASSERT_OK(pf_k8s_stream_feed(s, buf, len, err, sizeof(err)), err);
	ok &= ASSERT_FALSE(pf_k8s_stream_partial(s), what);
	pf_k8s_stream_free(s);
	s = pf_k8s_stream_new(collect, &bytes);
	for (size_t i = 0; i < len && ok; i++)
		ok &= ASSERT_OK(pf_k8s_stream_feed(s, buf + i, 1, err, sizeof(err)), err);
	pf_k8s_stream_free(s);
	ok &= ASSERT_EQ(bytes.n, whole->n, what);
	for (int i = 0; i < whole->n && ok; i++)
		ok &= ASSERT_STREQ(bytes.text[i], whole->text[i], what);
	collected_free(&bytes);
	return ok;
}

static struct json_object *parse(const char *text)
{
	return json_tokener_parse(text);
}

PF_TEST(k8s_watch_capture_decodes_the_same_whole_and_in_1_byte_pieces)
{
	struct collected c;
	struct pf_k8s_event ev;
	struct json_object *v;
	char err[256] = "", *raw, *body;
	size_t len = 0, n;

	raw = fixture("client-go-golden-watch-events.http", &len);
	if (!raw)
		PF_SKIP("../shared/fixtures/k8s not here");
	body = malloc(len);
	n = body ? dechunk(raw, len, body) : 0;
	if (ASSERT_GE(n, 200, "the chunked body") && decode_both_ways("watch", body, n, &c) &&
	    ASSERT_EQ(c.n, 2, "two events")) {
		v = parse(c.text[0]);
		if (ASSERT_OK(pf_k8s_event_parse(v, &ev, err, sizeof(err)), err)) {
			ASSERT_EQ(ev.type, PF_K8S_ADDED, "first: ADDED");
			ASSERT_STREQ(ev.resource_version, "217", "its resourceVersion");
			ASSERT_STREQ(pf_k8s_str(ev.object, "metadata.name"), "foobar", "its name");
		}
		json_object_put(v);
		v = parse(c.text[1]);
		if (ASSERT_OK(pf_k8s_event_parse(v, &ev, err, sizeof(err)), err)) {
			ASSERT_EQ(ev.type, PF_K8S_BOOKMARK, "then: BOOKMARK");
			ASSERT_STREQ(ev.resource_version, "964", "the bookmark's resourceVersion");
			ASSERT_TRUE(
			    json_object_object_get_ex(
				json_object_object_get(
				    json_object_object_get(ev.object, "metadata"), "annotations"),
				"k8s.io/initial-events-end", NULL),
			    "the end of the initial events");
		}
		json_object_put(v);
	}
	collected_free(&c);
	free(body);
	free(raw);
}

PF_TEST(k8s_watch_error_410_decodes_as_expired)
{
	struct collected c;
	struct pf_k8s_event ev;
	struct json_object *v;
	char err[256] = "", *raw;
	size_t len = 0;

	raw = fixture("watch-error-410.ndjson", &len);
	if (!raw)
		PF_SKIP("../shared/fixtures/k8s not here");
	if (decode_both_ways("410", raw, len, &c) && ASSERT_EQ(c.n, 1, "one event")) {
		v = parse(c.text[0]);
		if (ASSERT_OK(pf_k8s_event_parse(v, &ev, err, sizeof(err)), err)) {
			ASSERT_EQ(ev.type, PF_K8S_ERROR, "ERROR");
			ASSERT_EQ(ev.code, 410, "code 410");
			ASSERT_STREQ(ev.reason, "Expired", "reason");
		}
		json_object_put(v);
	}
	collected_free(&c);
	free(raw);
}

/* A pod object as the API serves it: the same pod as `kubectl get pod -o json` in a file. */
PF_TEST(k8s_pod_capture_decodes_to_the_same_pod_whole_and_in_1_byte_pieces)
{
	struct pf_pod_list from_file = {}, from_stream = {};
	struct pf_diags d1 = {}, d2 = {};
	struct collected c;
	char *raw;
	size_t len = 0;

	raw = fixture("pod-rabbit-k3s-containerd.json", &len);
	if (!raw)
		PF_SKIP("../shared/fixtures/k8s not here");
	if (decode_both_ways("pod", raw, len, &c) && ASSERT_EQ(c.n, 1, "one object") &&
	    ASSERT_OK(pf_pod_parse_buf("pod.json", raw, len, &from_file, &d1), "file") &&
	    ASSERT_OK(
		pf_pod_parse_buf("api:pods/x", c.text[0], strlen(c.text[0]), &from_stream, &d2),
		"stream") &&
	    ASSERT_EQ(from_stream.n, 1, "one pod")) {
		const struct pf_pod *a = &from_file.v[0], *b = &from_stream.v[0];

		ASSERT_STREQ(b->name, a->name, "name");
		ASSERT_STREQ(b->uid, a->uid, "uid");
		ASSERT_EQ(b->qos, a->qos, "QoS class");
		if (ASSERT_EQ(b->n_containers, a->n_containers, "containers"))
			for (size_t i = 0; i < a->n_containers; i++)
				ASSERT_STREQ(b->containers[i].id, a->containers[i].id,
					     "container id");
	}
	collected_free(&c);
	pf_pod_list_free(&from_file);
	pf_pod_list_free(&from_stream);
	pf_diags_free(&d1);
	pf_diags_free(&d2);
	free(raw);
}

PF_TEST(k8s_stream_garbage_is_an_error_and_a_cut_object_is_partial)
{
	struct collected c = {};
	struct pf_k8s_stream *s = pf_k8s_stream_new(collect, &c);
	char err[256] = "";

	ASSERT_OK(pf_k8s_stream_feed(s, "{\"type\":\"ADDED\",\"obj", 20, err, sizeof(err)), err);
	ASSERT_TRUE(pf_k8s_stream_partial(s), "cut in the middle of an object");
	ASSERT_EQ(c.n, 0, "nothing handed over yet");
	pf_k8s_stream_free(s);
	s = pf_k8s_stream_new(collect, &c);
	ASSERT_EQ(pf_k8s_stream_feed(s, "{\"a\":1}\n{\"a\":]", 15, err, sizeof(err)), -EBADMSG,
		  "malformed JSON");
	ASSERT_EQ(c.n, 1, "the value before it was handed over");
	ASSERT_STRSTR(err, "byte", "the error says where");
	ASSERT_EQ(pf_k8s_stream_feed(s, "{}", 2, err, sizeof(err)), -EBADMSG, "broken for good");
	pf_k8s_stream_free(s);
	/* Strict JSON objects only: json-c's leniencies and bare scalars are garbage. */
	static const char *const garbage[] = {"''", "12 ", "[{}]", "{\"a\":1,}", "{\"a\":01}"};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		s = pf_k8s_stream_new(collect, &c);
		ASSERT_EQ(pf_k8s_stream_feed(s, garbage[i], strlen(garbage[i]), err, sizeof(err)),
			  -EBADMSG, garbage[i]);
		pf_k8s_stream_free(s);
	}
	collected_free(&c);
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

PF_TEST(k8s_kubeconfig_current_context_and_errors)
{
	struct pf_k8s_config c;
	char dir[PATH_MAX], path[PATH_MAX + 16], err[512] = "";

	if (!ASSERT_OK(pf_tmpdir(dir, sizeof(dir)), "tmpdir"))
		return;
	snprintf(path, sizeof(path), "%s/config", dir);
	/* two contexts; the current one's cluster (CA as data) and user (token) */
	write_text(path, "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
			 "contexts:\n- {name: a, context: {cluster: one, user: x}}\n"
			 "- {name: b, context: {cluster: two, user: y}}\n"
			 "clusters:\n- {name: one, cluster: {server: 'https://one:6443'}}\n"
			 "- {name: two, cluster: {server: 'https://[fd00::1]:6443', "
			 "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==}}\n"
			 "users:\n- {name: x, user: {token: nope}}\n"
			 "- {name: y, user: {token: abc, client-key: /k.pem}}\n");
	if (ASSERT_OK(pf_k8s_config_kubeconfig(path, &c, err, sizeof(err)), err)) {
		ASSERT_STREQ(c.server, "https://[fd00::1]:6443", "the current context's server");
		ASSERT_STREQ(c.ca_pem, "-----BEGIN CERTIFICATE-----\n", "CA data decoded");
		ASSERT_STREQ(c.token, "abc", "its user's token");
		ASSERT_STREQ(c.key_file, "/k.pem", "client key file");
		pf_k8s_config_free(&c);
	}
	write_text(path, "apiVersion: v1\ncurrent-context: gone\ncontexts: []\n");
	ASSERT_EQ(pf_k8s_config_kubeconfig(path, &c, err, sizeof(err)), -EINVAL, "no such context");
	ASSERT_STRSTR(err, "current-context (gone)", "the error names it");
	write_text(path, "apiVersion: v1\ncurrent-context: [\n");
	ASSERT_EQ(pf_k8s_config_kubeconfig(path, &c, err, sizeof(err)), -EINVAL, "not YAML");
	ASSERT_STRSTR(err, "config:", "file:line:col");
	pf_rm_rf(dir);
}
