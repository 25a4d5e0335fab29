// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "podfence/events.h"
#include "podfence/log.h"

/*
 * Length of the well-formed UTF-8 sequence at s[0..len) (RFC 3629, Unicode
 * table 3-7), or 0 with *bad set to the length of its maximal ill-formed
 * prefix: the lead byte plus the continuation bytes that were still possible.
 */
static size_t utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	*bad = 1;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5..0xff */
	/* The second byte's range excludes overlongs, surrogates and > U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < n; i++) {
		if (i >= len || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

size_t pf_utf8_sanitize(const char *s, size_t len, char *out, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, replaced = 0, n, bad;

	while (i < len) {
		n = utf8_seq(u + i, len - i, &bad);
		if (n) {
			if (out)
				memcpy(out + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		if (out)
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
		o += 3;
		i += bad;
		replaced++;
	}
	if (out)
		out[o] = 0;
	if (out_len)
		*out_len = o;
	return replaced;
}

/* RFC 4648 base64 with padding (what `base64 -d` reads); out holds 4 * ((len + 2) / 3) + 1. */
static void base64_encode(const unsigned char *s, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = tab[s[i] >> 2];
		out[o++] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		out[o++] = tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		out[o++] = tab[s[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = tab[s[i] >> 2];
		if (i + 1 < len) {
			out[o++] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			out[o++] = tab[(s[i + 1] & 15) << 2];
		} else {
			out[o++] = tab[(s[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = 0;
}

/* s[0..len) as a JSON string, bytes that are not UTF-8 replaced; *replaced says if any were. */
static struct json_object *json_utf8(const char *s, size_t len, bool *replaced)
{
	struct json_object *v;
	char *buf;
	size_t n;

	*replaced = pf_utf8_sanitize(s, len, NULL, NULL) > 0;
	if (!*replaced)
		return json_object_new_string_len(s, (int)len);
	buf = malloc(3 * len + 1);
	if (!buf) {
		pf_err("event: out of memory for a %zu-byte string", 3 * len + 1);
		return NULL;
	}
	pf_utf8_sanitize(s, len, buf, &n);
	v = json_object_new_string_len(buf, (int)n);
	free(buf);
	return v;
}

/*
 * Adds key: the bytes s[0..len) as a JSON string, and raw_key: the same
 * bytes in base64 when they are not UTF-8. JSON text must be UTF-8 and
 * json-c copies bytes >= 0x80 as they are, so such bytes become U+FFFD in
 * key, and raw_key (present only then) keeps them exact. Control
 * characters are UTF-8: json-c escapes them and key stays exact.
 */
static void add_bytes(struct json_object *o, const char *key, const char *raw_key, const char *s,
		      size_t len)
{
	bool replaced;
	char *raw;

	json_object_object_add(o, key, json_utf8(s, len, &replaced));
	if (!replaced)
		return;
	raw = malloc(4 * ((len + 2) / 3) + 1);
	if (!raw) {
		pf_err("event: out of memory for the base64 of a %zu-byte %s", len, key);
		return;
	}
	base64_encode((const unsigned char *)s, len, raw);
	json_object_object_add(o, raw_key, json_object_new_string(raw));
	free(raw);
}

/* A name from a policy or pod file: UTF-8 already (libyaml refuses other input). */
static struct json_object *json_name(const char *s)
{
	bool replaced;

	return json_utf8(s, strlen(s), &replaced);
}

/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: shift it to wall-clock time. */
static void event_time(uint64_t ktime_ns, char *buf, size_t len)
{
	struct timespec mono, real;
	int64_t wall_ns;
	time_t secs;
	struct tm tm;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	wall_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
		  ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec - (int64_t)ktime_ns);
	secs = wall_ns / 1000000000;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long long)(wall_ns % 1000000000));
}

static const char *event_action(const struct pf_event *ev)
{
	if (ev->flags & PF_EV_BLOCKED)
		return "blocked";
	if (ev->flags & PF_EV_MONITOR)
		return "would-block";
	return "reported";
}

struct json_object *pf_event_json(const struct pf_event *ev, const struct pf_engine *e)
{
	struct json_object *o = json_object_new_object(), *pols = json_object_new_array();
	struct json_object *binds = NULL;
	bool overlap = false;
	char ts[64];
	struct pf_owner owner = {};
	uint32_t len = ev->path_len < sizeof(ev->path) ? ev->path_len : sizeof(ev->path) - 1;

	event_time(ev->ktime_ns, ts, sizeof(ts));
	if (e)
		pf_engine_owner(e, ev->cgroup_id, ev->workload_id, &owner);
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "pid", json_object_new_int64(ev->tgid));
	json_object_object_add(o, "tid", json_object_new_int64(ev->pid));
	add_bytes(o, "comm", "comm_base64", ev->comm, strnlen(ev->comm, sizeof(ev->comm)));
	add_bytes(o, "path", "path_base64", ev->path, len);
	json_object_object_add(o, "namespace",
			       owner.pod_namespace ? json_name(owner.pod_namespace) : NULL);
	json_object_object_add(o, "pod", owner.pod_name ? json_name(owner.pod_name) : NULL);
	json_object_object_add(o, "container", owner.container ? json_name(owner.container) : NULL);
	if (owner.sandbox)
		json_object_object_add(o, "sandbox", json_object_new_boolean(1));
	if (owner.workload && owner.workload->kind) {
		struct json_object *w = json_object_new_object();

		json_object_object_add(w, "kind", json_name(owner.workload->kind));
		json_object_object_add(w, "name", json_name(owner.workload->name));
		json_object_object_add(o, "workload", w);
	}
	json_object_object_add(o, "cgroup_id", json_object_new_int64((int64_t)ev->cgroup_id));
	for (uint32_t i = 0; i < ev->n_policies && i < PF_EVENT_POLICIES; i++) {
		const char *name = e ? pf_engine_policy_name(e, ev->policies[i].policy_id) : NULL;
		char fallback[32];
		struct json_object *jname;
		const char *key;

		const char *const *bnames;
		size_t nb =
		    e ? pf_engine_policy_bindings(e, ev->policies[i].policy_id, &bnames) : 0;

		snprintf(fallback, sizeof(fallback), "#%u", ev->policies[i].policy_id);
		jname = json_name(name ? name : fallback);
		json_object_array_add(pols, jname);
		/* A template instance: which bindings made it (several: their values united). */
		if (nb) {
			struct json_object *arr = json_object_new_array();

			for (size_t b = 0; b < nb; b++)
				json_object_array_add(arr, json_name(bnames[b]));
			if (!binds)
				binds = json_object_new_object();
			/* the key as the name was printed (json-c copies keys as they are) */
			key = jname ? json_object_get_string(jname) : fallback;
			json_object_object_add(binds, key, arr);
			overlap |= nb > 1;
		}
	}
	json_object_object_add(o, "policy",
			       json_object_array_length(pols)
				   ? json_object_get(json_object_array_get_idx(pols, 0))
				   : NULL);
	json_object_object_add(o, "policies", pols);
	if (binds) {
		json_object_object_add(o, "bindings", binds);
		json_object_object_add(o, "overlap", json_object_new_boolean(overlap));
	}
	json_object_object_add(o, "action", json_object_new_string(event_action(ev)));
	json_object_object_add(o, "blocked", json_object_new_boolean(ev->flags & PF_EV_BLOCKED));
	if (ev->flags & PF_EV_BLOCKED)
		json_object_object_add(
		    o, "enforcement",
		    json_object_new_string(ev->flags & PF_EV_KILLED ? "sigkill" : "eperm"));
	if (ev->flags & PF_EV_PATH_LONG)
		json_object_object_add(o, "path_too_long", json_object_new_boolean(1));
	if (ev->flags & PF_EV_PATH_FAILED)
		json_object_object_add(o, "path_unresolved", json_object_new_boolean(1));
	if (ev->flags & PF_EV_FOREIGN_VIEW)
		json_object_object_add(o, "foreign_view", json_object_new_boolean(1));
	if (ev->flags & PF_EV_NO_RULES)
		json_object_object_add(o, "no_rules", json_object_new_boolean(1));
	return o;
}

static const char *net_hook_name(uint8_t hook)
{
	switch (hook) {
	case PF_NET_HOOK_CONNECT:
		return "connect";
	case PF_NET_HOOK_SENDMSG:
		return "sendmsg";
	case PF_NET_HOOK_SOCKET:
		return "socket";
	}
	return "unknown";
}

static const char *net_protocol_name(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_RAW:
		return "RAW";
	}
	return NULL;
}

struct json_object *pf_net_event_json(const struct pf_net_event *nev, const struct pf_engine *e)
{
	/* the fields both kinds share, through the exec event's own writer */
	struct pf_event *ev = calloc(1, sizeof(*ev));
	struct json_object *o, *d;
	const char *proto = net_protocol_name(nev->protocol);
	char addr[INET6_ADDRSTRLEN] = "";

	if (!ev)
		return NULL;
	ev->ktime_ns = nev->ktime_ns;
	ev->cgroup_id = nev->cgroup_id;
	ev->pid = nev->pid;
	ev->tgid = nev->tgid;
	ev->workload_id = nev->workload_id;
	ev->flags = nev->flags & ~PF_EV_NET;
	ev->n_policies = nev->n_policies;
	memcpy(ev->policies, nev->policies, sizeof(ev->policies));
	memcpy(ev->comm, nev->comm, sizeof(ev->comm));
	o = pf_event_json(ev, e);
	free(ev);
	json_object_object_del(o, "path");
	json_object_object_add(o, "profile", json_object_new_string("egress"));
	d = json_object_new_object();
	if (nev->hook != PF_NET_HOOK_SOCKET) {
		inet_ntop(nev->family == AF_INET ? AF_INET : AF_INET6, nev->addr, addr,
			  sizeof(addr));
		json_object_object_add(d, "address", json_object_new_string(addr));
		json_object_object_add(d, "port", json_object_new_int(nev->port));
	}
	json_object_object_add(
	    d, "family", json_object_new_string(nev->family == AF_INET ? "AF_INET" : "AF_INET6"));
	json_object_object_add(d, "protocol",
			       proto ? json_object_new_string(proto)
				     : json_object_new_int(nev->protocol));
	json_object_object_add(d, "hook", json_object_new_string(net_hook_name(nev->hook)));
	json_object_object_add(o, "destination", d);
	return o;
}
