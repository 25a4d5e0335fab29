// SPDX-License-Identifier: Apache-2.0
/*
 * Exec events: the path and comm bytes the kernel reports are whatever a
 * workload named its files and threads, and pf_event_json() must turn any
 * of them into valid UTF-8 JSON that still says exactly which bytes they
 * were. Input: comm (16 bytes), flags, number of policies, owner flags, then
 * the path. The engine's lookups are stubs naming things after the path.
 * Checked: the agent's serialisation parses as UTF-8 JSON, and "path"/"comm"
 * (or their _base64 forms where bytes were replaced) give the bytes back.
 */
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "fuzz.h"
#include "podfence/events.h"

static char name[64];

/* Never dereferenced by events.c: only passed back to the stubs below. */
static const struct pf_engine *const fake_engine = (const struct pf_engine *)&name;

bool pf_engine_owner(const struct pf_engine *e, uint64_t cgroup_id, uint32_t wl_id,
		     struct pf_owner *out)
{
	out->pod_namespace = "default";
	out->pod_name = name;
	out->container = wl_id & 1 ? name : NULL;
	return true;
}

const char *pf_engine_policy_name(const struct pf_engine *e, uint32_t policy_id)
{
	return policy_id & 1 ? name : NULL;
}

size_t pf_engine_policy_bindings(const struct pf_engine *e, uint32_t policy_id,
				 const char *const **names)
{
	static const char *bindings[] = {"ns/b1", name, "ns/b2"};

	*names = bindings;
	return policy_id % 4;
}

static int b64_val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* RFC 4648 with padding; returns the decoded length, or -1. */
static long b64_decode(const char *s, unsigned char *out)
{
	size_t n = strlen(s), o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' && i + 4 == n && k >= 2 ? 0 : b64_val(s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	return (long)o;
}

/* The bytes are in key exactly, or (replaced there) in raw_key. */
static void check_bytes(struct json_object *o, const char *key, const char *raw_key,
			const char *bytes, size_t len)
{
	static unsigned char dec[PF_PATH_BUF];
	struct json_object *v = NULL, *raw = NULL;

	FUZZ_CHECK(json_object_object_get_ex(o, key, &v) &&
		   json_object_is_type(v, json_type_string));
	if (!json_object_object_get_ex(o, raw_key, &raw)) {
		FUZZ_CHECK((size_t)json_object_get_string_len(v) == len);
		FUZZ_CHECK(memcmp(json_object_get_string(v), bytes, len) == 0);
		return;
	}
	FUZZ_CHECK(b64_decode(json_object_get_string(raw), dec) == (long)len);
	FUZZ_CHECK(memcmp(dec, bytes, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pf_event ev;
	struct json_tokener *tok;
	struct json_object *o, *back;
	struct timespec now;
	const char *s;
	size_t plen;

	if (size < sizeof(ev.comm) + 3)
		return 0;
	memset(&ev, 0, sizeof(ev));
	/* kernel-made fields are plausible; the workload's bytes are the input */
	clock_gettime(CLOCK_MONOTONIC, &now);
	ev.ktime_ns = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
	memcpy(ev.comm, data, sizeof(ev.comm));
	ev.flags = data[16];
	ev.n_policies = data[17] % (PF_EVENT_POLICIES + 2);
	ev.workload_id = data[18];
	for (uint32_t i = 0; i < PF_EVENT_POLICIES; i++)
		ev.policies[i].policy_id = data[18] >> (2 * i);
	data += sizeof(ev.comm) + 3;
	size -= sizeof(ev.comm) + 3;
	plen = size < sizeof(ev.path) ? size : sizeof(ev.path);
	memcpy(ev.path, data, plen);
	ev.path_len = (uint32_t)plen;
	plen = plen < sizeof(ev.path) ? plen : sizeof(ev.path) - 1; /* what the reader keeps */
	memcpy(name, data, size < sizeof(name) - 1 ? size : sizeof(name) - 1);
	name[size < sizeof(name) - 1 ? size : sizeof(name) - 1] = '\0';

	o = pf_event_json(&ev, ev.flags & 1 ? fake_engine : NULL);
	FUZZ_CHECK(o);
	/* as the agent writes it */
	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	back = json_tokener_parse_ex(tok, s, (int)strlen(s) + 1);
	FUZZ_CHECK(back && json_tokener_get_error(tok) == json_tokener_success);
	check_bytes(back, "path", "path_base64", ev.path, plen);
	check_bytes(back, "comm", "comm_base64", ev.comm, strnlen(ev.comm, sizeof(ev.comm)));
	json_object_put(back);
	json_tokener_free(tok);
	json_object_put(o);
	return 0;
}
