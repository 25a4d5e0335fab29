// SPDX-License-Identifier: Apache-2.0
/*
 * The learning store: scopes, the identities behind learn ids, and the
 * records the kernel sent, kept in memory and in an append-only journal.
 *
 * Journal (dir/journal.jsonl): one JSON object per line, replayed in order
 * at open and then rewritten compacted (written aside, then renamed over):
 *   {"scope": "+<scope>"} / {"scope": "-<scope>"}
 *   {"id": N, "ns": .., "pod": .., "uid": .., "kind": .., "name": .., "container": ..}
 *   {"rec": {"id", "f", "ph", "ch", "path", "caller", "first", "last", "execs", "seeded"}}
 * A record line written again later (refreshed) only moves last-seen and the
 * count forward. A line cut by a crash is skipped and counted.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "podfence/learn.h"
#include "podfence/log.h"
#include "podfence/strset.h"

#define HASH_NONFATAL_OOM	 1
#define uthash_nonfatal_oom(obj) (learn_oom = true)
static bool learn_oom;
#include <uthash.h>

/* Seeded records (from /proc, not the kernel) carry this bit in their key's flags. */
#define LEARN_SEEDED (1u << 31)

struct ident {
	uint32_t id;
	char *ns, *pod, *uid, *kind, *name;
	char *container; /* "": the pod's own cgroups (container not identified) */
	char *ukey;	 /* "<uid>/<container>" */
	UT_hash_handle hh;
	UT_hash_handle hh_ukey;
};

struct rec {
	struct pf_learn_key key;
	uint32_t flags; /* enum pf_learn_flags, all of them */
	char *path, *caller;
	int64_t first, last; /* wall-clock ns */
	uint64_t execs;
	struct ident *who; /* NULL: unknown learn id */
	UT_hash_handle hh;
};

struct pf_learn {
	char *dir;
	FILE *journal;
	struct ident *ids, *by_ukey;
	struct rec *recs;
	uint32_t next_id;
	char **scopes;
	size_t n_scopes;
	struct pf_strset dirty; /* "<ns>/<Kind>/<name>" of workloads whose findings moved */
	size_t unknown, journal_errors;
	char last_error[256];
};

static void set_error(struct pf_learn *l, const char *fmt, const char *what, int err)
{
	snprintf(l->last_error, sizeof(l->last_error), fmt, what, strerror(err));
	pf_err("learning: %s", l->last_error);
}

int64_t pf_learn_wall_ns(uint64_t ktime_ns)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	return (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec -
	       ((int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec - (int64_t)ktime_ns);
}

/* ---- journal ---- */

static void journal_line(struct pf_learn *l, struct json_object *o)
{
	const char *s;

	if (l->journal) {
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
		/* Written through at once: a killed agent loses nothing it journaled. */
		if (fprintf(l->journal, "%s\n", s) < 0 || fflush(l->journal)) {
			l->journal_errors++;
			set_error(l, "journal %s: %s", l->dir, errno);
		}
	}
	json_object_put(o);
}

static struct json_object *scope_json(const char *scope, bool add)
{
	struct json_object *o = json_object_new_object();
	char buf[512];

	snprintf(buf, sizeof(buf), "%c%s", add ? '+' : '-', scope);
	json_object_object_add(o, "scope", json_object_new_string(buf));
	return o;
}

static struct json_object *ident_json(const struct ident *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(d->id));
	json_object_object_add(o, "ns", json_object_new_string(d->ns));
	json_object_object_add(o, "pod", json_object_new_string(d->pod));
	json_object_object_add(o, "uid", json_object_new_string(d->uid));
	json_object_object_add(o, "kind", json_object_new_string(d->kind));
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "container", json_object_new_string(d->container));
	return o;
}

static struct json_object *rec_json(const struct rec *r)
{
	struct json_object *o = json_object_new_object(), *w = json_object_new_object();
	char h[2][24];

	snprintf(h[0], sizeof(h[0]), "%016llx", (unsigned long long)r->key.path_hash);
	snprintf(h[1], sizeof(h[1]), "%016llx", (unsigned long long)r->key.caller_hash);
	json_object_object_add(o, "id", json_object_new_int64(r->key.learn_id));
	json_object_object_add(o, "f", json_object_new_int64(r->flags));
	json_object_object_add(o, "ph", json_object_new_string(h[0]));
	json_object_object_add(o, "ch", json_object_new_string(h[1]));
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "caller", json_object_new_string(r->caller));
	json_object_object_add(o, "first", json_object_new_int64(r->first));
	json_object_object_add(o, "last", json_object_new_int64(r->last));
	json_object_object_add(o, "execs", json_object_new_int64((int64_t)r->execs));
	json_object_object_add(w, "rec", o);
	return w;
}

/* ---- scopes ---- */

static const char *const workload_kinds[] = {"Deployment", "StatefulSet", "DaemonSet", "Job",
					     "CronJob",	   "ReplicaSet",  "Pod",       NULL};

static int scope_check(const char *scope, char *err, size_t err_len)
{
	const char *a = strchr(scope, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	bool kind_ok = false;

	if (!scope[0] || strlen(scope) > 400 || strpbrk(scope, " \t\n")) {
		snprintf(err, err_len, "scope \"%s\": want *, NAMESPACE or NAMESPACE/KIND/NAME",
			 scope);
		return -EINVAL;
	}
	if (strcmp(scope, "*") == 0 || !a)
		return 0;
	if (!b || a == scope || b == a + 1 || !b[1] || strchr(b + 1, '/')) {
		snprintf(err, err_len, "scope \"%s\": want *, NAMESPACE or NAMESPACE/KIND/NAME",
			 scope);
		return -EINVAL;
	}
	for (size_t i = 0; workload_kinds[i]; i++)
		kind_ok |= (size_t)(b - a - 1) == strlen(workload_kinds[i]) &&
			   strncmp(a + 1, workload_kinds[i], b - a - 1) == 0;
	if (!kind_ok) {
		snprintf(err, err_len,
			 "scope \"%s\": kind \"%.*s\" is none of Deployment, StatefulSet, "
			 "DaemonSet, Job, CronJob, ReplicaSet, Pod",
			 scope, (int)(b - a - 1), a + 1);
		return -EINVAL;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scope_apply(struct pf_learn *l, const char *scope, bool add)
{
	for (size_t i = 0; i < l->n_scopes; i++) {
		if (strcmp(l->scopes[i], scope))
			continue;
		if (add)
			return 0;
		free(l->scopes[i]);
		l->scopes[i] = l->scopes[--l->n_scopes];
		qsort(l->scopes, l->n_scopes, sizeof(char *), cmp_str);
		return 0;
	}
	if (!add)
		return -ENOENT;
	char **v = realloc(l->scopes, (l->n_scopes + 1) * sizeof(char *));

	if (!v)
		return -ENOMEM;
	l->scopes = v;
	if (!(v[l->n_scopes] = strdup(scope)))
		return -ENOMEM;
	l->n_scopes++;
	qsort(l->scopes, l->n_scopes, sizeof(char *), cmp_str);
	return 0;
}

int pf_learn_scope_add(struct pf_learn *l, const char *scope, char *err, size_t err_len)
{
	int rc = scope_check(scope, err, err_len);

	if (rc)
		return rc;
	rc = scope_apply(l, scope, true);
	if (rc) {
		snprintf(err, err_len, "%s", strerror(-rc));
		return rc;
	}
	journal_line(l, scope_json(scope, true));
	return 0;
}

int pf_learn_scope_remove(struct pf_learn *l, const char *scope)
{
	int rc = scope_apply(l, scope, false);

	if (!rc)
		journal_line(l, scope_json(scope, false));
	return rc;
}

bool pf_learn_in_scope(const struct pf_learn *l, const struct pf_pod *pod)
{
	char wl[512];

	if (!l || !pod->namespace)
		return false;
	snprintf(wl, sizeof(wl), "%s/%s/%s", pod->namespace,
		 pod->workload.kind ? pod->workload.kind : "Pod",
		 pod->workload.name ? pod->workload.name : pod->name);
	for (size_t i = 0; i < l->n_scopes; i++) {
		const char *s = l->scopes[i];

		if (strcmp(s, "*") == 0 || strcmp(s, pod->namespace) == 0 || strcmp(s, wl) == 0)
			return true;
	}
	return false;
}

size_t pf_learn_scopes(const struct pf_learn *l, const char *const **out)
{
	*out = (const char *const *)l->scopes;
	return l->n_scopes;
}

/* ---- identities ---- */

static void ident_free(struct ident *d)
{
	free(d->ns);
	free(d->pod);
	free(d->uid);
	free(d->kind);
	free(d->name);
	free(d->container);
	free(d->ukey);
	free(d);
}

static struct ident *ident_add(struct pf_learn *l, uint32_t id, const char *ns, const char *pod,
			       const char *uid, const char *kind, const char *name,
			       const char *container)
{
	struct ident *d = calloc(1, sizeof(*d)), *old = NULL;

	if (!d)
		return NULL;
	d->id = id;
	d->ns = strdup(ns);
	d->pod = strdup(pod);
	d->uid = strdup(uid);
	d->kind = strdup(kind);
	d->name = strdup(name);
	d->container = strdup(container);
	if (!d->ns || !d->pod || !d->uid || !d->kind || !d->name || !d->container ||
	    asprintf(&d->ukey, "%s/%s", uid, container) < 0) {
		d->ukey = NULL;
		ident_free(d);
		return NULL;
	}
	HASH_FIND(hh, l->ids, &id, sizeof(id), old);
	if (old) { /* cannot happen with a sound journal: the first one stays */
		ident_free(d);
		return old;
	}
	HASH_ADD(hh, l->ids, id, sizeof(d->id), d);
	if (learn_oom) {
		learn_oom = false;
		ident_free(d);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh_ukey, l->by_ukey, d->ukey, strlen(d->ukey), d);
	if (learn_oom) {
		learn_oom = false;
		HASH_DELETE(hh, l->ids, d);
		ident_free(d);
		return NULL;
	}
	if (id >= l->next_id)
		l->next_id = id + 1;
	return d;
}

uint32_t pf_learn_id_for(struct pf_learn *l, const struct pf_pod *pod, const char *container)
{
	char ukey[512];
	struct ident *d;

	if (!l || !pf_learn_in_scope(l, pod) || !pod->uid)
		return 0;
	snprintf(ukey, sizeof(ukey), "%s/%s", pod->uid, container ? container : "");
	HASH_FIND(hh_ukey, l->by_ukey, ukey, strlen(ukey), d);
	if (d)
		return d->id;
	d = ident_add(l, l->next_id ? l->next_id : 1, pod->namespace, pod->name, pod->uid,
		      pod->workload.kind ? pod->workload.kind : "Pod",
		      pod->workload.name ? pod->workload.name : pod->name,
		      container ? container : "");
	if (!d) {
		set_error(l, "%s: %s", pod->name, ENOMEM);
		return 0;
	}
	journal_line(l, ident_json(d));
	return d->id;
}

/* ---- records ---- */

static void mark_dirty(struct pf_learn *l, const struct ident *d)
{
	char wl[512];

	if (!d)
		return;
	snprintf(wl, sizeof(wl), "%s/%s/%s", d->ns, d->kind, d->name);
	pf_strset_add(&l->dirty, wl); /* out of memory: written at the next change */
}

void pf_learn_take_dirty(struct pf_learn *l, struct pf_strset *out)
{
	*out = l->dirty;
	memset(&l->dirty, 0, sizeof(l->dirty));
}

static void rec_free(struct rec *r)
{
	free(r->path);
	free(r->caller);
	free(r);
}

/* Adds a record, or moves an existing one's last-seen and count forward. */
static struct rec *rec_merge(struct pf_learn *l, const struct pf_learn_key *k, uint32_t flags,
			     const char *path, const char *caller, int64_t first, int64_t last,
			     uint64_t execs, bool *added)
{
	struct rec *r;

	*added = false;
	HASH_FIND(hh, l->recs, k, sizeof(*k), r);
	if (r) {
		if (first < r->first)
			r->first = first;
		if (last > r->last)
			r->last = last;
		if (execs > r->execs)
			r->execs = execs;
		return r;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path)) || !(r->caller = strdup(caller))) {
		if (r)
			rec_free(r);
		return NULL;
	}
	r->key = *k;
	r->flags = flags;
	r->first = first;
	r->last = last;
	r->execs = execs;
	HASH_FIND(hh, l->ids, &k->learn_id, sizeof(k->learn_id), r->who);
	HASH_ADD(hh, l->recs, key, sizeof(r->key), r);
	if (learn_oom) {
		learn_oom = false;
		rec_free(r);
		return NULL;
	}
	if (!r->who)
		l->unknown++;
	*added = true;
	return r;
}

/*
 * A destination as it is listed: "tcp://10.0.0.1:443", "udp://[fd00::1]:53"
 * (what `podfence check --simulate` takes).
 */
static void net_destination(const struct pf_net_event *ev, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	bool v4 = ev->family == AF_INET;
	const char *proto = ev->protocol == IPPROTO_TCP	  ? "tcp"
			    : ev->protocol == IPPROTO_UDP ? "udp"
							  : "ip";

	inet_ntop(v4 ? AF_INET : AF_INET6, ev->addr, addr, sizeof(addr));
	snprintf(out, len, v4 ? "%s://%s:%u" : "%s://[%s]:%u", proto, addr, ev->port);
}

/* A learned destination (a struct pf_net_event with PF_EV_LEARN). */
static int record_net(struct pf_learn *l, const struct pf_net_event *ev)
{
	struct pf_learn_key k = {.learn_id = ev->learn_id};
	char dest[128];
	int64_t when = pf_learn_wall_ns(ev->ktime_ns);
	uint8_t proto = ev->protocol == IPPROTO_TCP   ? PF_NET_TCP
			: ev->protocol == IPPROTO_UDP ? PF_NET_UDP
						      : 0;
	bool added;
	struct rec *r;

	/* the kernel's key, rebuilt: refreshes read the kernel's count under it */
	k.flags =
	    pf_learn_net_flags(ev->family == AF_INET ? PF_NET_INET : PF_NET_INET6, proto, ev->port);
	memcpy(&k.path_hash, ev->addr, 8);
	memcpy(&k.caller_hash, ev->addr + 8, 8);
	net_destination(ev, dest, sizeof(dest));
	r = rec_merge(l, &k, k.flags, dest, "", when, when, 1, &added);
	if (!r) {
		set_error(l, "record %s: %s", dest, ENOMEM);
		return -ENOMEM;
	}
	if (added) {
		journal_line(l, rec_json(r));
		mark_dirty(l, r->who);
	}
	return r->who ? 0 : -ENOENT;
}

int pf_learn_record(struct pf_learn *l, const void *data, size_t size)
{
	const struct pf_learn_event *ev = data;
	char path[PF_EXACT_MAX + 1], caller[PF_EXACT_MAX + 1];
	int64_t when;
	bool added;
	struct rec *r;

	if (size >= sizeof(struct pf_net_event) && (ev->flags & PF_EV_LEARN) &&
	    (ev->flags & PF_EV_NET))
		return record_net(l, data);
	if (size < sizeof(*ev) || !(ev->flags & PF_EV_LEARN))
		return -EBADMSG;
	snprintf(path, sizeof(path), "%.*s", (int)strnlen(ev->path, sizeof(ev->path)), ev->path);
	snprintf(caller, sizeof(caller), "%.*s", (int)strnlen(ev->caller, sizeof(ev->caller)),
		 ev->caller);
	when = pf_learn_wall_ns(ev->ktime_ns);
	r = rec_merge(l, &ev->key, ev->flags & ~PF_EV_LEARN, path, caller, when, when, 1, &added);
	if (!r) {
		set_error(l, "record %s: %s", path, ENOMEM);
		return -ENOMEM;
	}
	if (added) {
		journal_line(l, rec_json(r));
		mark_dirty(l, r->who);
	}
	return r->who ? 0 : -ENOENT;
}

int pf_learn_seed(struct pf_learn *l, uint32_t learn_id, const char *path)
{
	struct pf_learn_key k = {.learn_id = learn_id, .flags = LEARN_SEEDED};
	unsigned long long h = 0xcbf29ce484222325ULL;
	struct timespec now;
	int64_t when;
	bool added;
	struct rec *r;

	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	k.path_hash = h;
	clock_gettime(CLOCK_REALTIME, &now);
	when = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	r = rec_merge(l, &k, LEARN_SEEDED, path, "", when, when, 0, &added);
	if (!r)
		return -ENOMEM;
	if (added) {
		journal_line(l, rec_json(r));
		mark_dirty(l, r->who);
	}
	return 0;
}

int pf_learn_refresh(struct pf_learn *l, pf_learn_seen_fn fn, void *ctx)
{
	struct rec *r, *tmp;

	HASH_ITER (hh, l->recs, r, tmp) {
		struct pf_learn_seen seen;
		int64_t last;

		if ((r->key.flags & LEARN_SEEDED) || fn(ctx, &r->key, &seen))
			continue; /* not in the kernel (any more): what we have stands */
		last = pf_learn_wall_ns(seen.last_ns);
		if (seen.execs <= r->execs && last <= r->last)
			continue;
		if (last > r->last)
			r->last = last;
		if (seen.execs > r->execs)
			r->execs = seen.execs;
		journal_line(l, rec_json(r));
		mark_dirty(l, r->who);
	}
	return 0;
}

/* ---- open, replay, compact ---- */

static int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

static int replay_line(struct pf_learn *l, struct json_object *o)
{
	struct json_object *rec;
	const char *s;

	if ((s = jstr(o, "scope")) && (s[0] == '+' || s[0] == '-')) {
		int rc = scope_apply(l, s + 1, s[0] == '+');

		return rc == -ENOENT ? 0 : rc;
	}
	if (json_object_object_get_ex(o, "rec", &rec)) {
		struct pf_learn_key k = {.learn_id = (uint32_t)jint(rec, "id")};
		const char *ph = jstr(rec, "ph"), *ch = jstr(rec, "ch"), *path = jstr(rec, "path"),
			   *caller = jstr(rec, "caller");
		uint32_t flags = (uint32_t)jint(rec, "f");
		bool added;

		if (!ph || !ch || !path || !caller)
			return -EBADMSG;
		/* a destination's flags are its key's (port, protocol, family) */
		k.flags =
		    flags & PF_LEARN_NET ? flags : flags & (PF_LEARN_KEY_FLAGS | LEARN_SEEDED);
		k.path_hash = strtoull(ph, NULL, 16);
		k.caller_hash = strtoull(ch, NULL, 16);
		return rec_merge(l, &k, flags, path, caller, jint(rec, "first"), jint(rec, "last"),
				 (uint64_t)jint(rec, "execs"), &added)
			   ? 0
			   : -ENOMEM;
	}
	if (jstr(o, "uid")) {
		const char *f[6] = {jstr(o, "ns"),   jstr(o, "pod"),  jstr(o, "uid"),
				    jstr(o, "kind"), jstr(o, "name"), jstr(o, "container")};

		for (int i = 0; i < 6; i++)
			if (!f[i])
				return -EBADMSG;
		return ident_add(l, (uint32_t)jint(o, "id"), f[0], f[1], f[2], f[3], f[4], f[5])
			   ? 0
			   : -ENOMEM;
	}
	return -EBADMSG;
}

static int replay(struct pf_learn *l, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json_object *o = json_tokener_parse(line);

		if (!o || replay_line(l, o))
			l->journal_errors++; /* a line cut by a crash, or worse: skipped */
		json_object_put(o);
	}
	free(line);
	fclose(f);
	return 0;
}

/* Records replayed before their identity line (cannot happen in order): attached now. */
static void attach_records(struct pf_learn *l)
{
	struct rec *r, *tmp;

	l->unknown = 0;
	HASH_ITER (hh, l->recs, r, tmp) {
		if (!r->who)
			HASH_FIND(hh, l->ids, &r->key.learn_id, sizeof(r->key.learn_id), r->who);
		if (!r->who)
			l->unknown++;
	}
}

/* Rewrites the journal with one line per scope, identity and record. */
static int compact(struct pf_learn *l, const char *path)
{
	char tmp[4096];
	struct ident *d, *dt;
	struct rec *r, *rt;
	FILE *f;
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	l->journal = f;
	for (size_t i = 0; i < l->n_scopes; i++)
		journal_line(l, scope_json(l->scopes[i], true));
	HASH_ITER (hh, l->ids, d, dt)
		journal_line(l, ident_json(d));
	HASH_ITER (hh, l->recs, r, rt)
		journal_line(l, rec_json(r));
	l->journal = NULL;
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int pf_learn_open(struct pf_learn **out, const char *dir, char *err, size_t err_len)
{
	struct pf_learn *l = calloc(1, sizeof(*l));
	char path[4096];
	int rc = 0;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->next_id = 1;
	if (!dir) {
		*out = l;
		return 0;
	}
	if (!(l->dir = strdup(dir))) {
		rc = -ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", dir, strerror(-rc));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	rc = replay(l, path);
	if (!rc)
		rc = compact(l, path);
	if (rc) {
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		goto fail;
	}
	attach_records(l);
	l->journal = fopen(path, "ae");
	if (!l->journal) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	pf_learn_close(l);
	return rc;
}

void pf_learn_close(struct pf_learn *l)
{
	struct ident *d, *dt;
	struct rec *r, *rt;

	if (!l)
		return;
	if (l->journal)
		fclose(l->journal);
	HASH_ITER (hh, l->recs, r, rt) {
		HASH_DEL(l->recs, r);
		rec_free(r);
	}
	HASH_CLEAR(hh_ukey, l->by_ukey);
	HASH_ITER (hh, l->ids, d, dt) {
		HASH_DEL(l->ids, d);
		ident_free(d);
	}
	for (size_t i = 0; i < l->n_scopes; i++)
		free(l->scopes[i]);
	free(l->scopes);
	pf_strset_free(&l->dirty);
	free(l->dir);
	free(l);
}

/* ---- proposals ---- */

enum learn_list { LIST_EXECS, LIST_SESSIONS, LIST_TEMPORARY, LIST_OUTSIDE, LIST_EGRESS, LIST__MAX };
static const char *const list_names[LIST__MAX] = {"execs", "sessions", "temporary", "outsideView",
						  "egress"};

/*
 * A path longer than PF_EXACT_MAX reached user space cut: no exact value
 * could match it, so it is no value; it goes with the temporary paths,
 * whose suggestion is a Prefix.
 */
static bool rec_cut(const struct rec *r)
{
	return r->flags & PF_LEARN_PATH_LONG;
}

static enum learn_list rec_list(const struct rec *r)
{
	char prefix[8];

	if (r->key.flags & PF_LEARN_NET)
		return LIST_EGRESS; /* the other bits of a destination's flags mean other things */
	if (r->key.flags & PF_LEARN_FOREIGN)
		return LIST_OUTSIDE;
	if (r->key.flags & PF_LEARN_SESSION)
		return LIST_SESSIONS;
	if (rec_cut(r) || pf_proposal_temporary(r->path, prefix, 0))
		return LIST_TEMPORARY;
	return LIST_EXECS;
}

/* One record placed: sorted by workload, container, list, path. */
struct placed {
	const struct rec *r;
	enum learn_list list;
};

static int placed_cmp(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;
	const struct ident *p = x->r->who, *q = y->r->who;
	int c;

	if ((c = strcmp(p->ns, q->ns)) || (c = strcmp(p->kind, q->kind)) ||
	    (c = strcmp(p->name, q->name)) || (c = strcmp(p->container, q->container)))
		return c;
	if (x->list != y->list)
		return x->list < y->list ? -1 : 1;
	if ((c = strcmp(x->r->path, y->r->path)))
		return c;
	return strcmp(x->r->who->uid, y->r->who->uid);
}

static bool same_workload(const struct ident *p, const struct ident *q)
{
	return !strcmp(p->ns, q->ns) && !strcmp(p->kind, q->kind) && !strcmp(p->name, q->name);
}

static bool filter_match(const struct ident *d, const char *filter)
{
	char wl[512];

	if (!filter || !filter[0] || strcmp(filter, "*") == 0)
		return true;
	if (!strchr(filter, '/'))
		return strcmp(filter, d->ns) == 0;
	snprintf(wl, sizeof(wl), "%s/%s/%s", d->ns, d->kind, d->name);
	return strcmp(filter, wl) == 0;
}

static void rfc3339(int64_t ns, char *out, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *json_time(int64_t ns)
{
	char buf[40];

	rfc3339(ns, buf, sizeof(buf));
	return json_object_new_string(buf);
}

/* The values of one list: records v[0..n) of one workload, container and list, by path. */
static struct json_object *list_json(const struct placed *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n;) {
		const struct rec *r = v[i].r;
		struct json_object *item = json_object_new_object(), *callers;
		int64_t first = r->first, last = r->last;
		uint64_t execs = 0;
		size_t j, pods = 0;
		bool entrypoint = false, seeded = false, kernel = false;
		struct pf_strset cs = {};
		char prefix[PF_EXACT_MAX + 1];

		for (j = i; j < n && strcmp(v[j].r->path, r->path) == 0; j++) {
			const struct rec *q = v[j].r;

			if (q->first < first)
				first = q->first;
			if (q->last > last)
				last = q->last;
			execs += q->execs;
			/* records are sorted by pod uid within a path: count each pod once */
			if (j == i || strcmp(q->who->uid, v[j - 1].r->who->uid))
				pods++;
			if (q->caller[0])
				pf_strset_add(&cs, q->caller);
			/* (a destination's key flags hold its port: none of these) */
			entrypoint |= !(q->key.flags & PF_LEARN_NET) &&
				      (q->key.flags & PF_LEARN_RUNTIME_CALLER) &&
				      !(q->key.flags & PF_LEARN_SESSION);
			seeded |= !!(q->key.flags & LEARN_SEEDED);
			kernel |= !(q->key.flags & LEARN_SEEDED);
		}
		json_object_object_add(item, "path", json_object_new_string(r->path));
		json_object_object_add(item, "firstSeen", json_time(first));
		json_object_object_add(item, "lastSeen", json_time(last));
		json_object_object_add(item, "pods", json_object_new_int64((int64_t)pods));
		json_object_object_add(item, "execs", json_object_new_int64((int64_t)execs));
		callers = json_object_new_array();
		for (size_t c = 0; c < cs.n; c++)
			json_object_array_add(callers, json_object_new_string(cs.v[c]));
		json_object_object_add(item, "callers", callers);
		if (entrypoint)
			json_object_object_add(item, "entrypoint", json_object_new_boolean(true));
		if (seeded && !kernel)
			json_object_object_add(item, "seeded", json_object_new_boolean(true));
		if (v[i].list == LIST_TEMPORARY &&
		    pf_proposal_temporary(r->path, prefix, sizeof(prefix)))
			json_object_object_add(item, "suggestedPrefix",
					       json_object_new_string(prefix));
		pf_strset_free(&cs);
		json_object_array_add(arr, item);
		i = j;
	}
	return arr;
}

static struct json_object *proposal_json(const struct placed *v, size_t n, const char *node)
{
	const struct ident *d = v[0].r->who;
	struct json_object *o = json_object_new_object(), *meta = json_object_new_object(),
			   *spec = json_object_new_object(), *target = json_object_new_object(),
			   *nodes = json_object_new_object(), *mine = json_object_new_object(),
			   *conts = json_object_new_object();
	char name[320];
	struct timespec now;

	pf_proposal_name(d->kind, d->name, name, sizeof(name));
	json_object_object_add(o, "apiVersion", json_object_new_string("podfence.io/v1alpha1"));
	json_object_object_add(o, "kind", json_object_new_string("PolicyProposal"));
	json_object_object_add(meta, "name", json_object_new_string(name));
	json_object_object_add(meta, "namespace", json_object_new_string(d->ns));
	json_object_object_add(o, "metadata", meta);
	json_object_object_add(target, "kind", json_object_new_string(d->kind));
	json_object_object_add(target, "name", json_object_new_string(d->name));
	json_object_object_add(spec, "targetRef", target);
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(mine, "updated",
			       json_time((int64_t)now.tv_sec * 1000000000 + now.tv_nsec));
	for (size_t i = 0; i < n;) {
		const char *c = v[i].r->who->container;
		struct json_object *cj = json_object_new_object();
		size_t j = i;

		while (j < n && strcmp(v[j].r->who->container, c) == 0) {
			size_t k = j;

			while (k < n && strcmp(v[k].r->who->container, c) == 0 &&
			       v[k].list == v[j].list)
				k++;
			json_object_object_add(cj, list_names[v[j].list], list_json(v + j, k - j));
			j = k;
		}
		/* the pod's own cgroups: containers not identified when they ran */
		json_object_object_add(conts, c[0] ? c : "(unidentified)", cj);
		i = j;
	}
	json_object_object_add(mine, "containers", conts);
	json_object_object_add(nodes, node, mine);
	json_object_object_add(spec, "nodes", nodes);
	json_object_object_add(o, "spec", spec);
	return o;
}

static size_t place_records(const struct pf_learn *l, const char *filter, struct placed **out)
{
	size_t n = 0, cap = HASH_COUNT(l->recs);
	struct placed *v = calloc(cap ? cap : 1, sizeof(*v));
	struct rec *r, *tmp;

	*out = v;
	if (!v)
		return 0;
	HASH_ITER (hh, l->recs, r, tmp) {
		if (r->who && filter_match(r->who, filter)) {
			v[n].r = r;
			v[n].list = rec_list(r);
			n++;
		}
	}
	qsort(v, n, sizeof(*v), placed_cmp);
	return n;
}

struct json_object *pf_learn_proposals(struct pf_learn *l, const char *node, const char *filter)
{
	struct json_object *arr = json_object_new_array();
	struct placed *v;
	size_t n = place_records(l, filter, &v);

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && same_workload(v[j].r->who, v[i].r->who))
			j++;
		json_object_array_add(arr, proposal_json(v + i, j - i, node ? node : "local"));
		i = j;
	}
	free(v);
	return arr;
}

bool pf_learn_knows(const struct pf_learn *l, uint32_t learn_id)
{
	struct ident *d;

	HASH_FIND(hh, l->ids, &learn_id, sizeof(learn_id), d);
	return d != NULL;
}

void pf_learn_counts(const struct pf_learn *l, struct pf_learn_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->scopes = l->n_scopes;
	out->identities = HASH_CNT(hh, l->ids);
	out->records = HASH_COUNT(l->recs);
	out->unknown = l->unknown;
	out->journal_errors = l->journal_errors;
	snprintf(out->last_error, sizeof(out->last_error), "%s", l->last_error);
}

struct json_object *pf_learn_status_json(struct pf_learn *l)
{
	struct json_object *o = json_object_new_object(), *sc = json_object_new_array(),
			   *wls = json_object_new_array();
	struct pf_learn_counts c;
	struct placed *v;
	size_t n;

	pf_learn_counts(l, &c);
	for (size_t i = 0; i < l->n_scopes; i++)
		json_object_array_add(sc, json_object_new_string(l->scopes[i]));
	json_object_object_add(o, "scopes", sc);
	json_object_object_add(o, "pod_containers", json_object_new_int64((int64_t)c.identities));
	json_object_object_add(o, "records", json_object_new_int64((int64_t)c.records));
	json_object_object_add(o, "records_unknown", json_object_new_int64((int64_t)c.unknown));
	json_object_object_add(o, "journal_errors",
			       json_object_new_int64((int64_t)c.journal_errors));
	if (c.last_error[0])
		json_object_object_add(o, "last_error", json_object_new_string(c.last_error));
	/* Memory per workload: records held and their bytes in this process. */
	n = place_records(l, NULL, &v);
	for (size_t i = 0; i < n;) {
		const struct ident *d = v[i].r->who;
		struct json_object *w = json_object_new_object();
		size_t j = i, bytes = 0;

		for (; j < n && same_workload(v[j].r->who, d); j++)
			bytes +=
			    sizeof(struct rec) + strlen(v[j].r->path) + strlen(v[j].r->caller) + 2;
		json_object_object_add(w, "namespace", json_object_new_string(d->ns));
		json_object_object_add(w, "kind", json_object_new_string(d->kind));
		json_object_object_add(w, "name", json_object_new_string(d->name));
		json_object_object_add(w, "records", json_object_new_int64((int64_t)(j - i)));
		json_object_object_add(w, "bytes", json_object_new_int64((int64_t)bytes));
		json_object_array_add(wls, w);
		i = j;
	}
	free(v);
	json_object_object_add(o, "workloads", wls);
	return o;
}
