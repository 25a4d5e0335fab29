// SPDX-License-Identifier: Apache-2.0
/*
 * The Kubernetes watch stream: whatever bytes an API server (or whatever
 * answers in its place) sends, in whatever pieces, the decoder hands over
 * the same values. Input: one byte of piece size, then the stream. The
 * stream is decoded whole and in pieces of that size; checked: a valid
 * stream gives the same values (compared as JSON text) both ways, and every
 * value reads as a watch event or is refused with a reason.
 */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>
#include "fuzz.h"
#include "podfence/k8s.h"

#define VALUES_MAX 64

struct seen {
	char *text[VALUES_MAX];
	size_t n;
};

static int on_value(void *ctx, struct json_object *value)
{
	struct seen *s = ctx;
	struct pf_k8s_event ev;
	char err[256] = "";

	if (pf_k8s_event_parse(value, &ev, err, sizeof(err)) == 0) {
		FUZZ_CHECK(ev.type <= PF_K8S_ERROR);
		FUZZ_CHECK(pf_k8s_event_type_name(ev.type) != NULL);
		(void)pf_k8s_str(ev.object, "metadata.name");
	} else {
		FUZZ_CHECK(err[0]); /* refused with a reason */
	}
	if (s->n < VALUES_MAX)
		s->text[s->n++] =
		    strdup(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
	return 0;
}

static int decode(const char *buf, size_t len, size_t piece, struct seen *s)
{
	struct pf_k8s_stream *st = pf_k8s_stream_new(on_value, s);
	char err[256];
	int ret = 0;

	if (!st)
		return -ENOMEM;
	for (size_t off = 0; off < len && !ret; off += piece)
		ret = pf_k8s_stream_feed(st, buf + off, len - off < piece ? len - off : piece, err,
					 sizeof(err));
	pf_k8s_stream_free(st);
	return ret;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->text[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole = {0}, pieces = {0};
	size_t piece;
	int a, b;

	if (size < 1)
		return 0;
	piece = data[0] % 32 + 1;
	a = decode((const char *)data + 1, size - 1, size, &whole);
	b = decode((const char *)data + 1, size - 1, piece, &pieces);
	/*
	 * A value is handed over only when complete: a valid stream gives the
	 * same values whatever the cut. (An invalid one may be refused at a
	 * different byte: json-c judges some malformed numbers, e.g. "6-", by
	 * what the piece holds; every value handed over is still checked above.)
	 */
	if (a == 0) {
		FUZZ_CHECK(b == 0);
		FUZZ_CHECK(whole.n == pieces.n);
		for (size_t i = 0; i < whole.n && i < pieces.n; i++)
			FUZZ_CHECK(strcmp(whole.text[i], pieces.text[i]) == 0);
	}
	seen_free(&whole);
	seen_free(&pieces);
	return 0;
}
