// SPDX-License-Identifier: Apache-2.0
/*
 * Events as JSON lines: the UTF-8 sanitiser, and kernel bytes that are not
 * UTF-8 (a file name with \xff, a comm cut inside a character) printed as
 * valid JSON whose raw bytes come back exactly from the *_base64 fields.
 */
#include <stdlib.h>
#include "pf_test.h"
#include "podfence/events.h"

/* Sanitises s[0..len); checks the replacement count and the output. */
static void sanitize_case(const char *what, const char *s, size_t len, size_t replaced,
			  const char *want, size_t want_len)
{
	char out[64];
	size_t n = 0;

	ASSERT_EQ(pf_utf8_sanitize(s, len, out, &n), replaced, what);
	ASSERT_EQ(pf_utf8_sanitize(s, len, NULL, NULL), replaced, what);
	if (ASSERT_EQ(n, want_len, what))
		ASSERT_TRUE(memcmp(out, want, n) == 0 && out[n] == 0, what);
}

#define CASE(what, in, replaced, want)                                                             \
	sanitize_case(what, in, sizeof(in) - 1, replaced, want, sizeof(want) - 1)
#define FFFD "\xef\xbf\xbd"

PF_TEST(utf8_sanitize_valid_input_is_copied)
{
	CASE("ascii", "/usr/bin/true", 0, "/usr/bin/true");
	CASE("2, 3 and 4 bytes", "/opt/\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88", 0,
	     "/opt/\xc3\xa9\xe2\x82\xac\xf0\x90\x8d\x88");
	CASE("boundaries: U+D7FF, U+E000, U+FFFF, U+10FFFF",
	     "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf", 0,
	     "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf");
	CASE("NUL and control characters are UTF-8", "a\0b\n\x01\x7f", 0, "a\0b\n\x01\x7f");
	CASE("empty", "", 0, "");
}

PF_TEST(utf8_sanitize_replaces_ill_formed_sequences)
{
	CASE("\\xff", "/tmp/\xff", 1, "/tmp/" FFFD);
	CASE("\\xff\\xfe: one each",
	     "a\xff\xfe"
	     "b",
	     2, "a" FFFD FFFD "b");
	CASE("stray continuation byte",
	     "a\x80"
	     "b",
	     1, "a" FFFD "b");
	/* a truncated sequence is one maximal subpart: one U+FFFD */
	CASE("truncated 3-byte at the end", "a\xe2\x82", 1, "a" FFFD);
	CASE("truncated 3-byte before ASCII",
	     "\xe2\x82"
	     "A",
	     1, FFFD "A");
	CASE("truncated 4-byte",
	     "\xf0\x9f\x98"
	     "x",
	     1, FFFD "x");
	CASE("lead byte then a new lead", "\xc3\xc3\xa9", 1, FFFD "\xc3\xa9");
	/* overlongs: no lead byte can start them, so every byte is replaced */
	CASE("overlong '/' (2 bytes)", "\xc0\xaf", 2, FFFD FFFD);
	CASE("overlong '/' (3 bytes)", "\xe0\x80\xaf", 3, FFFD FFFD FFFD);
	CASE("overlong (4 bytes)", "\xf0\x80\x80\xaf", 4, FFFD FFFD FFFD FFFD);
	CASE("surrogate U+D800", "\xed\xa0\x80", 3, FFFD FFFD FFFD);
	CASE("surrogate U+DFFF", "\xed\xbf\xbf", 3, FFFD FFFD FFFD);
	CASE("above U+10FFFF", "\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
	CASE("0xf5 lead", "\xf5\x80", 2, FFFD FFFD);
}

/* RFC 4648 base64 -> bytes; returns the length, or -1 on a malformed input. */
static int b64_decode(const char *s, unsigned char *out, size_t cap)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), o = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0, pad = 0;

		for (size_t k = 0; k < 4; k++) {
			const char *p = s[i + k] == '=' ? NULL : strchr(tab, s[i + k]);

			if (s[i + k] == '=' && i + 4 == len && k >= 2)
				pad++;
			else if (!p || !s[i + k] || pad)
				return -1;
			v = v << 6 | (p ? (unsigned)(p - tab) : 0);
		}
		for (size_t k = 0; k < 3 - pad; k++) {
			if (o == cap)
				return -1;
			out[o++] = v >> (16 - 8 * k) & 0xff;
		}
	}
	return (int)o;
}

/* The event as the agent prints it, parsed back by a strict, UTF-8-validating reader. */
static struct json_object *print_and_parse(const struct pf_event *ev, char **line)
{
	struct json_object *o = pf_event_json(ev, NULL), *back = NULL;
	struct json_tokener *tok = json_tokener_new();
	const char *s;

	*line = NULL;
	if (!ASSERT_NOT_NULL(o, "event json") || !ASSERT_NOT_NULL(tok, "tokener"))
		goto out;
	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*line = strdup(s);
	ASSERT_EQ(pf_utf8_sanitize(s, strlen(s), NULL, NULL), 0, "printed line is UTF-8");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	back = json_tokener_parse_ex(tok, s, (int)strlen(s));
	if (!back)
		pf_test_fail(__FILE__, __LINE__, "parse back: %s: %s",
			     json_tokener_error_desc(json_tokener_get_error(tok)), s);
out:
	json_tokener_free(tok);
	json_object_put(o);
	return back;
}

/* Checks that key's base64 decodes to raw[0..len). */
static void check_raw(struct json_object *o, const char *key, const char *raw, size_t len)
{
	struct json_object *v = NULL;
	unsigned char buf[256];
	int n;

	if (!ASSERT_TRUE(json_object_object_get_ex(o, key, &v), key))
		return;
	n = b64_decode(json_object_get_string(v), buf, sizeof(buf));
	if (ASSERT_EQ(n, (long long)len, key))
		ASSERT_TRUE(memcmp(buf, raw, len) == 0, key);
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int str_len(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string_len(v) : -1;
}

PF_TEST(event_json_non_utf8_path_round_trips_through_base64)
{
	static const char path[] = "/tmp/x\xff"
				   "y/\xc3\xa9\x01(deleted)";
	static const char comm[] = "abcdefghijklm\xc3"; /* cut inside a character */
	struct pf_event *ev = calloc(1, sizeof(*ev));
	struct json_object *o = NULL;
	char *line = NULL;

	if (!ASSERT_NOT_NULL(ev, "calloc"))
		return;
	memcpy(ev->path, path, sizeof(path) - 1);
	ev->path_len = sizeof(path) - 1;
	memcpy(ev->comm, comm, sizeof(comm) - 1);
	ev->flags = PF_EV_BLOCKED;
	o = print_and_parse(ev, &line);
	if (!o)
		goto out;
	ASSERT_STREQ(str(o, "path"), "/tmp/x" FFFD "y/\xc3\xa9\x01(deleted)", "path");
	check_raw(o, "path_base64", path, sizeof(path) - 1);
	ASSERT_STREQ(str(o, "comm"), "abcdefghijklm" FFFD, "comm");
	check_raw(o, "comm_base64", comm, sizeof(comm) - 1);
	ASSERT_STRSTR(line, "\\u0001", "control character escaped");
	ASSERT_STREQ(str(o, "action"), "blocked", "action");
out:
	json_object_put(o);
	free(line);
	free(ev);
}

PF_TEST(event_json_utf8_fields_are_exact_without_base64)
{
	static const char path[] = "/opt/caf\xc3\xa9/a\nb\x1f\"\\";
	struct pf_event *ev = calloc(1, sizeof(*ev));
	struct json_object *o = NULL;
	char *line = NULL;

	if (!ASSERT_NOT_NULL(ev, "calloc"))
		return;
	/* the kernel never reports a NUL in a path; bytes after path_len are ignored */
	memcpy(ev->path, path, sizeof(path));
	ev->path_len = sizeof(path) - 1;
	memcpy(ev->comm, "sh", 2);
	o = print_and_parse(ev, &line);
	if (!o)
		goto out;
	ASSERT_EQ(str_len(o, "path"), sizeof(path) - 1, "path length");
	ASSERT_STREQ(str(o, "path"), path, "path exact");
	ASSERT_FALSE(json_object_object_get_ex(o, "path_base64", NULL), "no path_base64");
	ASSERT_STREQ(str(o, "comm"), "sh", "comm");
	ASSERT_FALSE(json_object_object_get_ex(o, "comm_base64", NULL), "no comm_base64");
out:
	json_object_put(o);
	free(line);
	free(ev);
}

/* Every base64 padding case: raw lengths 1 to 7, each with a byte that is not UTF-8. */
PF_TEST(event_json_base64_every_length)
{
	struct pf_event *ev = calloc(1, sizeof(*ev));
	static const char raw[] = "\xff"
				  "abcdef";

	if (!ASSERT_NOT_NULL(ev, "calloc"))
		return;
	for (size_t len = 1; len < sizeof(raw); len++) {
		struct json_object *o;
		char *line = NULL;

		memset(ev->path, 0, sizeof(ev->path));
		memcpy(ev->path, raw, len);
		ev->path_len = len;
		o = print_and_parse(ev, &line);
		if (o)
			check_raw(o, "path_base64", raw, len);
		json_object_put(o);
		free(line);
	}
	free(ev);
}
