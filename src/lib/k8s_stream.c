// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes watch streams: complete JSON values out of bytes cut anywhere,
 * and watch events out of values (see k8s.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/k8s.h"

struct pf_k8s_stream {
	struct json_tokener *tok;
	pf_k8s_value_fn fn;
	void *ctx;
	size_t values;
	size_t offset; /* bytes fed so far, for errors */
	int partial;   /* the tokener holds part of a value */
	int broken;
};

struct pf_k8s_stream *pf_k8s_stream_new(pf_k8s_value_fn fn, void *ctx)
{
	struct pf_k8s_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	/* Kubernetes objects nest far less than this; deeper is garbage. */
	s->tok = json_tokener_new_ex(64);
	if (!s->tok) {
		free(s);
		return NULL;
	}
	/*
	 * Strict JSON: json-c's leniencies are not what a server sends. The next
	 * value follows this one in the same bytes. (Bad UTF-8 in a string is
	 * refused later, by the reader of the object: libyaml.)
	 */
	json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	s->fn = fn;
	s->ctx = ctx;
	return s;
}

void pf_k8s_stream_free(struct pf_k8s_stream *s)
{
	if (!s)
		return;
	json_tokener_free(s->tok);
	free(s);
}

static int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int pf_k8s_stream_feed(struct pf_k8s_stream *s, const char *buf, size_t len, char *err,
		       size_t err_len)
{
	size_t off = 0;

	if (s->broken) {
		snprintf(err, err_len, "stream already broken");
		return -EBADMSG;
	}
	while (off < len) {
		struct json_object *v;
		enum json_tokener_error jerr;
		size_t used;
		int rc;

		/* Between values: newlines and spaces (the tokener would wait on them). */
		if (!s->partial && is_space(buf[off])) {
			off++;
			continue;
		}
		/*
		 * A value the stream carries is an object (an event, a list, a
		 * Status): a bare scalar is garbage, and where a number ends would
		 * depend on where the bytes were cut.
		 */
		if (!s->partial && buf[off] != '{') {
			snprintf(err, err_len, "byte %zu: not a JSON object", s->offset + off);
			s->broken = 1;
			return -EBADMSG;
		}
		if (len - off > (size_t)INT32_MAX)
			return -E2BIG;
		v = json_tokener_parse_ex(s->tok, buf + off, (int)(len - off));
		jerr = json_tokener_get_error(s->tok);
		if (jerr == json_tokener_continue) {
			s->partial = 1; /* everything consumed, the value goes on */
			s->offset += len - off;
			return 0;
		}
		if (jerr != json_tokener_success) {
			snprintf(err, err_len, "byte %zu: %s",
				 s->offset + off + json_tokener_get_parse_end(s->tok),
				 json_tokener_error_desc(jerr));
			s->broken = 1;
			return -EBADMSG;
		}
		used = json_tokener_get_parse_end(s->tok);
		off += used;
		s->offset += used;
		s->partial = 0;
		json_tokener_reset(s->tok);
		s->values++;
		rc = s->fn(s->ctx, v);
		json_object_put(v);
		if (rc)
			return rc;
	}
	return 0;
}

int pf_k8s_stream_partial(const struct pf_k8s_stream *s)
{
	return s->partial;
}

size_t pf_k8s_stream_values(const struct pf_k8s_stream *s)
{
	return s->values;
}

const char *pf_k8s_str(struct json_object *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static const char *const type_names[] = {
    [PF_K8S_ADDED] = "ADDED",	    [PF_K8S_MODIFIED] = "MODIFIED", [PF_K8S_DELETED] = "DELETED",
    [PF_K8S_BOOKMARK] = "BOOKMARK", [PF_K8S_ERROR] = "ERROR",
};

const char *pf_k8s_event_type_name(enum pf_k8s_event_type t)
{
	return (unsigned)t <= PF_K8S_ERROR ? type_names[t] : "?";
}

int pf_k8s_event_parse(struct json_object *value, struct pf_k8s_event *ev, char *err,
		       size_t err_len)
{
	const char *type = pf_k8s_str(value, "type");
	struct json_object *code;
	size_t t;

	memset(ev, 0, sizeof(*ev));
	for (t = 0; type && t <= PF_K8S_ERROR; t++)
		if (strcmp(type, type_names[t]) == 0)
			break;
	if (!type || t > PF_K8S_ERROR) {
		snprintf(err, err_len, "not a watch event (type %s)", type ? type : "missing");
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(value, "object", &ev->object) ||
	    !json_object_is_type(ev->object, json_type_object)) {
		snprintf(err, err_len, "%s event without an object", type);
		return -EBADMSG;
	}
	ev->type = (enum pf_k8s_event_type)t;
	ev->resource_version = pf_k8s_str(ev->object, "metadata.resourceVersion");
	if (ev->type == PF_K8S_ERROR) {
		if (json_object_object_get_ex(ev->object, "code", &code))
			ev->code = json_object_get_int(code);
		ev->reason = pf_k8s_str(ev->object, "reason");
	}
	return 0;
}
