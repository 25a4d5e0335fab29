// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "pf_memstore.h"
#include "podfence/strset.h"

struct ms_set {
	uint32_t id;
	enum pf_match match;
	struct pf_strset values;
	UT_hash_handle hh;
};

struct ms_ruleset {
	uint32_t wl_id;
	struct pf_ruleset rs;
	UT_hash_handle hh;
};

struct ms_net_ruleset {
	uint32_t wl_id;
	struct pf_net_ruleset rs;
	UT_hash_handle hh;
};

struct ms_cgroup {
	uint64_t cgid;
	struct pf_cg_binding b;
	UT_hash_handle hh;
};

struct ms_name {
	char *name;
	uint32_t wl_id;
	uint32_t flags;
	UT_hash_handle hh;
};

struct ms_counters {
	uint32_t policy_id;
	struct pf_policy_counters c;
	UT_hash_handle hh;
};

struct pf_memstore {
	struct pf_store store; /* first: the engine's handle */
	uint32_t capacity[PF_KMAP__MAX];
	size_t used[PF_KMAP__MAX];
	uint32_t next_id[PF_ID_POLICY + 1];
	struct ms_set *sets;
	struct ms_ruleset *rulesets;
	struct ms_net_ruleset *net_rulesets;
	struct ms_cgroup *cgroups;
	struct ms_name *expected;
	struct ms_counters *counters;
	uint64_t overflow_events, overflow_acked;
	unsigned long writes, fail_at, barriers;
	int fail_err;
};

static const uint32_t default_capacity[PF_KMAP__MAX] = {
    [PF_KMAP_CGROUPS] = 131072,	 [PF_KMAP_WORKLOADS] = 65536, [PF_KMAP_WORKLOADS_LARGE] = 4096,
    [PF_KMAP_EXACT_S] = 131072,	 [PF_KMAP_EXACT_M] = 16384,   [PF_KMAP_EXACT_L] = 1024,
    [PF_KMAP_PREFIX] = 16384,	 [PF_KMAP_SUFFIX] = 16384,    [PF_KMAP_POLICIES] = 32768,
    [PF_KMAP_CG_EXPECT] = 512,	 [PF_KMAP_LEARNED] = 16384,   [PF_KMAP_NET_RULES] = 2048,
    [PF_KMAP_NET_VALUES] = 8192,
};

static struct pf_memstore *ms_of(struct pf_store *st)
{
	return (struct pf_memstore *)st;
}

/* Counts a write; true when it is the one made to fail. */
static bool injected(struct pf_memstore *ms, const char *op, int *err, char *msg, size_t len)
{
	if (++ms->writes != ms->fail_at)
		return false;
	*err = ms->fail_err;
	if (msg)
		snprintf(msg, len, "injected failure of write %lu (%s): %s", ms->writes, op,
			 strerror(-ms->fail_err));
	if (getenv("PF_MEMSTORE_VERBOSE"))
		fprintf(stderr, "    memstore: write %lu (%s) fails: %s\n", ms->writes, op,
			strerror(-ms->fail_err));
	return true;
}

static int full(struct pf_memstore *ms, enum pf_kmap m, char *msg, size_t len)
{
	if (msg)
		snprintf(msg, len, "map %s full (%u entries)", pf_kmap_name(m), ms->capacity[m]);
	return -E2BIG;
}

static int ms_alloc_id(struct pf_store *st, enum pf_id_kind kind, uint32_t *id)
{
	struct pf_memstore *ms = ms_of(st);
	int err;

	if (injected(ms, "alloc_id", &err, NULL, 0))
		return err;
	*id = ++ms->next_id[kind];
	if (kind == PF_ID_WORKLOAD_LARGE)
		*id |= PF_WL_LARGE;
	return 0;
}

static enum pf_kmap value_map(enum pf_match match, const char *v)
{
	/* one entry per value (a port range may take more in the kernel) */
	if (match == PF_MATCH_CIDR || match == PF_MATCH_PORT)
		return PF_KMAP_NET_VALUES;
	if (match == PF_MATCH_PREFIX)
		return PF_KMAP_PREFIX;
	if (match == PF_MATCH_SUFFIX)
		return PF_KMAP_SUFFIX;
	switch (pf_exact_tier(strlen(v))) {
	case PF_TIER_S:
		return PF_KMAP_EXACT_S;
	case PF_TIER_M:
		return PF_KMAP_EXACT_M;
	default:
		return PF_KMAP_EXACT_L;
	}
}

static int ms_set_write(struct pf_store *st, uint32_t set_id, enum pf_match match,
			const struct pf_strset *values, char *msg, size_t len)
{
	struct pf_memstore *ms = ms_of(st);
	size_t need[PF_KMAP__MAX] = {};
	struct ms_set *s;
	int err;

	if (injected(ms, "set_write", &err, msg, len))
		return err;
	for (size_t i = 0; i < values->n; i++)
		need[value_map(match, values->v[i])]++;
	for (int m = 0; m < PF_KMAP__MAX; m++)
		if (ms->used[m] + need[m] > ms->capacity[m])
			return full(ms, m, msg, len);
	s = calloc(1, sizeof(*s));
	if (!s || pf_strset_copy(&s->values, values)) {
		free(s);
		return -ENOMEM;
	}
	s->id = set_id;
	s->match = match;
	for (int m = 0; m < PF_KMAP__MAX; m++)
		ms->used[m] += need[m];
	HASH_ADD(hh, ms->sets, id, sizeof(s->id), s);
	return 0;
}

static void ms_set_delete(struct pf_store *st, uint32_t set_id, enum pf_match match,
			  const struct pf_strset *values)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_set *s;

	HASH_FIND(hh, ms->sets, &set_id, sizeof(set_id), s);
	if (!s)
		return;
	for (size_t i = 0; i < s->values.n; i++)
		ms->used[value_map(s->match, s->values.v[i])]--;
	HASH_DEL(ms->sets, s);
	pf_strset_free(&s->values);
	free(s);
}

static enum pf_kmap ruleset_map(uint32_t wl_id)
{
	return wl_id & PF_WL_LARGE ? PF_KMAP_WORKLOADS_LARGE : PF_KMAP_WORKLOADS;
}

static int ms_ruleset_write(struct pf_store *st, uint32_t wl_id, const struct pf_ruleset *rs,
			    char *msg, size_t len)
{
	struct pf_memstore *ms = ms_of(st);
	size_t cap = wl_id & PF_WL_LARGE ? PF_MAX_RULES : PF_SMALL_RULES;
	struct ms_ruleset *r;
	int err;

	if (injected(ms, "ruleset_write", &err, msg, len))
		return err;
	if (rs->n_rules > cap) {
		snprintf(msg, len, "%u rules apply to one workload (at most %zu)", rs->n_rules,
			 cap);
		return -E2BIG;
	}
	HASH_FIND(hh, ms->rulesets, &wl_id, sizeof(wl_id), r);
	if (!r) {
		if (ms->used[ruleset_map(wl_id)] >= ms->capacity[ruleset_map(wl_id)])
			return full(ms, ruleset_map(wl_id), msg, len);
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->wl_id = wl_id;
		HASH_ADD(hh, ms->rulesets, wl_id, sizeof(r->wl_id), r);
		ms->used[ruleset_map(wl_id)]++;
	}
	r->rs = *rs;
	return 0;
}

static void ms_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_ruleset *r;

	HASH_FIND(hh, ms->rulesets, &wl_id, sizeof(wl_id), r);
	if (!r)
		return;
	HASH_DEL(ms->rulesets, r);
	ms->used[ruleset_map(wl_id)]--;
	free(r);
}

static int ms_net_ruleset_write(struct pf_store *st, uint32_t wl_id,
				const struct pf_net_ruleset *rs, char *msg, size_t len)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_net_ruleset *r;
	int err;

	if (injected(ms, "net_ruleset_write", &err, msg, len))
		return err;
	if (rs->n_rules > PF_NET_MAX_RULES) {
		snprintf(msg, len, "%u egress rules apply to one workload (at most %d)",
			 rs->n_rules, PF_NET_MAX_RULES);
		return -E2BIG;
	}
	HASH_FIND(hh, ms->net_rulesets, &wl_id, sizeof(wl_id), r);
	if (!r) {
		if (ms->used[PF_KMAP_NET_RULES] >= ms->capacity[PF_KMAP_NET_RULES])
			return full(ms, PF_KMAP_NET_RULES, msg, len);
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->wl_id = wl_id;
		HASH_ADD(hh, ms->net_rulesets, wl_id, sizeof(r->wl_id), r);
		ms->used[PF_KMAP_NET_RULES]++;
	}
	r->rs = *rs;
	return 0;
}

static void ms_net_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_net_ruleset *r;

	HASH_FIND(hh, ms->net_rulesets, &wl_id, sizeof(wl_id), r);
	if (!r)
		return;
	HASH_DEL(ms->net_rulesets, r);
	ms->used[PF_KMAP_NET_RULES]--;
	free(r);
}

static int ms_cgroup_bind(struct pf_store *st, uint64_t cgid, uint32_t wl_id, uint32_t flags,
			  uint32_t hint, char *msg, size_t len)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_cgroup *c;
	int err;

	if (injected(ms, "cgroup_bind", &err, msg, len))
		return err;
	HASH_FIND(hh, ms->cgroups, &cgid, sizeof(cgid), c);
	if (c) { /* moved in place: the anchor stays */
		c->b.wl_id = wl_id;
		c->b.flags = flags;
		return 0;
	}
	if (ms->used[PF_KMAP_CGROUPS] >= ms->capacity[PF_KMAP_CGROUPS])
		return full(ms, PF_KMAP_CGROUPS, msg, len);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cgid = cgid;
	c->b.wl_id = wl_id;
	c->b.flags = flags;
	c->b.mntns_inum = hint;
	HASH_ADD(hh, ms->cgroups, cgid, sizeof(c->cgid), c);
	ms->used[PF_KMAP_CGROUPS]++;
	return 0;
}

static void ms_cgroup_unbind(struct pf_store *st, uint64_t cgid)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_cgroup *c;

	HASH_FIND(hh, ms->cgroups, &cgid, sizeof(cgid), c);
	if (!c)
		return;
	HASH_DEL(ms->cgroups, c);
	ms->used[PF_KMAP_CGROUPS]--;
	free(c);
}

static int ms_cgroup_lookup(struct pf_store *st, uint64_t cgid, struct pf_cg_binding *out)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_cgroup *c;

	HASH_FIND(hh, ms->cgroups, &cgid, sizeof(cgid), c);
	if (!c)
		return -ENOENT;
	*out = c->b;
	return 0;
}

static int ms_cgroup_expect(struct pf_store *st, const char *name, uint32_t wl_id, uint32_t flags,
			    char *msg, size_t len)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_name *n;
	int err;

	if (injected(ms, "cgroup_expect", &err, msg, len))
		return err;
	HASH_FIND_STR(ms->expected, name, n);
	if (!n) {
		if (ms->used[PF_KMAP_CG_EXPECT] >= ms->capacity[PF_KMAP_CG_EXPECT])
			return full(ms, PF_KMAP_CG_EXPECT, msg, len);
		n = calloc(1, sizeof(*n));
		if (!n || !(n->name = strdup(name))) {
			free(n);
			return -ENOMEM;
		}
		HASH_ADD_KEYPTR(hh, ms->expected, n->name, strlen(n->name), n);
		ms->used[PF_KMAP_CG_EXPECT]++;
	}
	n->wl_id = wl_id;
	n->flags = flags;
	return 0;
}

static void ms_cgroup_unexpect(struct pf_store *st, const char *name)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_name *n;

	HASH_FIND_STR(ms->expected, name, n);
	if (!n)
		return;
	HASH_DEL(ms->expected, n);
	ms->used[PF_KMAP_CG_EXPECT]--;
	free(n->name);
	free(n);
}

static int ms_cg_overflow(struct pf_store *st, uint64_t *events, uint64_t *acked)
{
	*events = ms_of(st)->overflow_events;
	*acked = ms_of(st)->overflow_acked;
	return 0;
}

static int ms_cg_overflow_ack(struct pf_store *st, uint64_t acked)
{
	ms_of(st)->overflow_acked = acked;
	return 0;
}

static int ms_counters_create(struct pf_store *st, uint32_t policy_id)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_counters *c;
	int err;

	if (injected(ms, "counters_create", &err, NULL, 0))
		return err;
	HASH_FIND(hh, ms->counters, &policy_id, sizeof(policy_id), c);
	if (c)
		return 0;
	if (ms->used[PF_KMAP_POLICIES] >= ms->capacity[PF_KMAP_POLICIES])
		return -E2BIG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->policy_id = policy_id;
	HASH_ADD(hh, ms->counters, policy_id, sizeof(c->policy_id), c);
	ms->used[PF_KMAP_POLICIES]++;
	return 0;
}

static void ms_counters_delete(struct pf_store *st, uint32_t policy_id)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_counters *c;

	HASH_FIND(hh, ms->counters, &policy_id, sizeof(policy_id), c);
	if (!c)
		return;
	HASH_DEL(ms->counters, c);
	ms->used[PF_KMAP_POLICIES]--;
	free(c);
}

static int ms_counters_read(struct pf_store *st, uint32_t policy_id, struct pf_policy_counters *out)
{
	struct ms_counters *c;

	HASH_FIND(hh, ms_of(st)->counters, &policy_id, sizeof(policy_id), c);
	if (!c)
		return -ENOENT;
	*out = c->c;
	return 0;
}

static int ms_barrier(struct pf_store *st)
{
	ms_of(st)->barriers++;
	return 0;
}

static int ms_gc_cgroups(struct pf_store *st, pf_store_drop_cgroup_fn drop, void *ctx)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_cgroup *c, *tmp;

	HASH_ITER (hh, ms->cgroups, c, tmp)
		if (drop(c->cgid, c->b.wl_id, ctx))
			ms_cgroup_unbind(st, c->cgid);
	return 0;
}

static int ms_gc_workloads(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_ruleset *r, *tmp;
	struct ms_net_ruleset *nr, *ntmp;

	HASH_ITER (hh, ms->rulesets, r, tmp)
		if (drop(r->wl_id, ctx))
			ms_ruleset_delete(st, r->wl_id);
	HASH_ITER (hh, ms->net_rulesets, nr, ntmp)
		if (drop(nr->wl_id, ctx))
			ms_net_ruleset_delete(st, nr->wl_id);
	return 0;
}

static int ms_gc_expected(struct pf_store *st, pf_store_drop_name_fn drop, void *ctx)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_name *n, *tmp;

	HASH_ITER (hh, ms->expected, n, tmp)
		if (drop(n->name, ctx))
			ms_cgroup_unexpect(st, n->name);
	return 0;
}

static int ms_gc_sets(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_set *s, *tmp;

	HASH_ITER (hh, ms->sets, s, tmp)
		if (drop(s->id, ctx))
			ms_set_delete(st, s->id, s->match, &s->values);
	return 0;
}

static int ms_gc_counters(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	struct pf_memstore *ms = ms_of(st);
	struct ms_counters *c, *tmp;

	HASH_ITER (hh, ms->counters, c, tmp)
		if (drop(c->policy_id, ctx))
			ms_counters_delete(st, c->policy_id);
	return 0;
}

static uint32_t ms_capacity(struct pf_store *st, enum pf_kmap m)
{
	return ms_of(st)->capacity[m];
}

static const struct pf_store_ops memstore_ops = {
    .alloc_id = ms_alloc_id,
    .set_write = ms_set_write,
    .set_delete = ms_set_delete,
    .ruleset_write = ms_ruleset_write,
    .ruleset_delete = ms_ruleset_delete,
    .net_ruleset_write = ms_net_ruleset_write,
    .net_ruleset_delete = ms_net_ruleset_delete,
    .cgroup_bind = ms_cgroup_bind,
    .cgroup_unbind = ms_cgroup_unbind,
    .cgroup_lookup = ms_cgroup_lookup,
    .cgroup_expect = ms_cgroup_expect,
    .cgroup_unexpect = ms_cgroup_unexpect,
    .cg_overflow = ms_cg_overflow,
    .cg_overflow_ack = ms_cg_overflow_ack,
    .counters_create = ms_counters_create,
    .counters_delete = ms_counters_delete,
    .counters_read = ms_counters_read,
    .barrier = ms_barrier,
    .gc_cgroups = ms_gc_cgroups,
    .gc_workloads = ms_gc_workloads,
    .gc_sets = ms_gc_sets,
    .gc_counters = ms_gc_counters,
    .gc_expected = ms_gc_expected,
    .capacity = ms_capacity,
};

struct pf_memstore *pf_memstore_new(void)
{
	struct pf_memstore *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->store.ops = &memstore_ops;
	ms->store.sees_caller = true;
	memcpy(ms->capacity, default_capacity, sizeof(ms->capacity));
	return ms;
}

void pf_memstore_free(struct pf_memstore *ms)
{
	struct ms_set *s, *stmp;
	struct ms_ruleset *r, *rtmp;
	struct ms_cgroup *c, *ctmp;
	struct ms_name *n, *ntmp;
	struct ms_counters *k, *ktmp;

	if (!ms)
		return;
	HASH_ITER (hh, ms->sets, s, stmp) {
		HASH_DEL(ms->sets, s);
		pf_strset_free(&s->values);
		free(s);
	}
	HASH_ITER (hh, ms->rulesets, r, rtmp) {
		HASH_DEL(ms->rulesets, r);
		free(r);
	}
	while (ms->net_rulesets)
		ms_net_ruleset_delete(&ms->store, ms->net_rulesets->wl_id);
	HASH_ITER (hh, ms->cgroups, c, ctmp) {
		HASH_DEL(ms->cgroups, c);
		free(c);
	}
	HASH_ITER (hh, ms->expected, n, ntmp) {
		HASH_DEL(ms->expected, n);
		free(n->name);
		free(n);
	}
	HASH_ITER (hh, ms->counters, k, ktmp) {
		HASH_DEL(ms->counters, k);
		free(k);
	}
	free(ms);
}

struct pf_store *pf_memstore_store(struct pf_memstore *ms)
{
	return &ms->store;
}

void pf_memstore_set_capacity(struct pf_memstore *ms, enum pf_kmap m, uint32_t entries)
{
	ms->capacity[m] = entries;
}

size_t pf_memstore_entries(const struct pf_memstore *ms, enum pf_kmap m)
{
	return ms->used[m];
}

void pf_memstore_fail_write(struct pf_memstore *ms, unsigned long n, int err)
{
	ms->fail_at = n ? ms->writes + n : 0;
	ms->fail_err = err;
}

unsigned long pf_memstore_writes(const struct pf_memstore *ms)
{
	return ms->writes;
}

unsigned long pf_memstore_barriers(const struct pf_memstore *ms)
{
	return ms->barriers;
}

int pf_memstore_binding(struct pf_memstore *ms, uint64_t cgid, uint32_t *wl_id)
{
	struct pf_cg_binding b;
	int err = ms_cgroup_lookup(&ms->store, cgid, &b);

	if (!err)
		*wl_id = b.wl_id;
	return err;
}

int pf_memstore_expected(struct pf_memstore *ms, const char *name, uint32_t *wl_id, uint32_t *flags)
{
	struct ms_name *n;

	HASH_FIND_STR(ms->expected, name, n);
	if (!n)
		return -ENOENT;
	*wl_id = n->wl_id;
	*flags = n->flags;
	return 0;
}

uint32_t pf_memstore_learn_id(const struct pf_memstore *ms, uint32_t wl_id)
{
	struct ms_ruleset *r;

	HASH_FIND(hh, ms->rulesets, &wl_id, sizeof(wl_id), r);
	return r ? r->rs.learn_id : 0;
}

bool pf_memstore_has_ruleset(const struct pf_memstore *ms, uint32_t wl_id)
{
	struct ms_ruleset *r;

	HASH_FIND(hh, ms->rulesets, &wl_id, sizeof(wl_id), r);
	return r != NULL;
}

/* ---- judging an exec as the program does (bpf/decide.bpf.h) ---- */

static bool in_set(struct pf_memstore *ms, const struct pf_cond *c, const char *path)
{
	size_t len = strlen(path);
	struct ms_set *s;

	HASH_FIND(hh, ms->sets, &c->set_id, sizeof(c->set_id), s);
	if (!s)
		return false; /* the program finds no entry of a missing set */
	for (size_t i = 0; i < s->values.n; i++) {
		const char *v = s->values.v[i];
		size_t vl = strlen(v);

		switch (c->match) {
		case PF_MATCH_EXACT:
			/* Only the tiers the rule says hold values are looked in. */
			if ((c->tiers & pf_exact_tier(len)) && strcmp(v, path) == 0)
				return true;
			break;
		case PF_MATCH_PREFIX:
			if (vl <= len && strncmp(v, path, vl) == 0)
				return true;
			break;
		case PF_MATCH_SUFFIX:
			if (vl <= len && strcmp(path + len - vl, v) == 0)
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

static bool rule_matches(struct pf_memstore *ms, const struct pf_rule *r, const char *path,
			 const char *caller)
{
	for (unsigned c = 0; c < r->n_conds && c < PF_MAX_CONDS; c++) {
		const char *subject = r->conds[c].subject == PF_SUBJ_CALLER ? caller : path;
		bool in = subject && in_set(ms, &r->conds[c], subject);

		if (in == !!r->conds[c].negate)
			return false;
	}
	return true;
}

enum pf_mem_verdict pf_memstore_exec(struct pf_memstore *ms, uint64_t cgid, const char *path,
				     const char *caller)
{
	struct pf_cg_binding b;
	struct ms_ruleset *r;
	uint32_t skip = 0, matched_groups[PF_MAX_RULES];
	size_t n_matched = 0;
	bool denied = false;

	if (ms_cgroup_lookup(&ms->store, cgid, &b))
		return PF_MEM_UNBOUND;
	HASH_FIND(hh, ms->rulesets, &b.wl_id, sizeof(b.wl_id), r);
	if (!r)
		return PF_MEM_NO_RULES;
	for (unsigned i = 0; i < r->rs.n_rules && i < PF_MAX_RULES; i++) {
		const struct pf_rule *rule = &r->rs.rules[i];
		bool group_done = false;

		if (skip & (1u << i))
			continue;
		if (rule->flags & PF_RULE_SKIP_IF_IN) {
			if (in_set(ms, &rule->conds[0], path))
				skip = rule->skip_mask;
			continue;
		}
		for (size_t g = 0; g < n_matched; g++)
			group_done |= matched_groups[g] == rule->group;
		if (group_done || !rule_matches(ms, rule, path, caller))
			continue;
		matched_groups[n_matched++] = rule->group;
		if ((rule->actions & (PF_ACT_DENY | PF_ACT_KILL)) &&
		    !(rule->flags & PF_RULE_MONITOR))
			denied = true;
	}
	return denied ? PF_MEM_DENIED : PF_MEM_ALLOWED;
}

/* ---- dump ---- */

static void dump_set(FILE *f, struct pf_memstore *ms, const struct pf_cond *c)
{
	static const char *const match[] = {"none", "eq", "prefix", "suffix"};
	struct ms_set *s;

	HASH_FIND(hh, ms->sets, &c->set_id, sizeof(c->set_id), s);
	fprintf(f, "%s%s%s{", c->subject == PF_SUBJ_CALLER ? "caller " : "",
		c->negate ? "not-" : "", match[c->match & 3]);
	for (size_t i = 0; s && i < s->values.n; i++)
		fprintf(f, "%s%s", i ? "," : "", s->values.v[i]);
	fprintf(f, "%s}", s ? "" : "MISSING");
}

typedef const char *(*policy_name_fn)(void *ctx, uint32_t policy_id);

static void dump_ruleset(FILE *f, struct pf_memstore *ms, uint32_t wl_id, policy_name_fn name,
			 void *ctx)
{
	struct ms_ruleset *r;

	HASH_FIND(hh, ms->rulesets, &wl_id, sizeof(wl_id), r);
	if (!r) {
		fprintf(f, " NO-RULESET");
		return;
	}
	for (unsigned i = 0; i < r->rs.n_rules; i++) {
		const struct pf_rule *rule = &r->rs.rules[i];

		const char *pol = rule->flags & PF_RULE_SKIP_IF_IN ? "skip"
				  : name			   ? name(ctx, rule->policy_id)
								   : NULL;

		fprintf(f, " [%s g%u a%u f%u m%x", pol ? pol : "?", rule->group, rule->actions,
			rule->flags, rule->skip_mask);
		for (unsigned c = 0; c < rule->n_conds && c < PF_MAX_CONDS; c++) {
			fputc(' ', f);
			dump_set(f, ms, &rule->conds[c]);
		}
		fputc(']', f);
	}
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *pf_memstore_dump(struct pf_memstore *ms, const char *(*name)(void *ctx, uint32_t policy_id),
		       const char *(*cgroup_name)(void *ctx, uint64_t cgid), void *ctx)
{
	size_t n = HASH_CNT(hh, ms->cgroups), i = 0, len = 0;
	char **lines = calloc(n + 1, sizeof(*lines)), *out = NULL;
	struct ms_cgroup *c, *tmp;
	FILE *f;

	if (!lines)
		return NULL;
	HASH_ITER (hh, ms->cgroups, c, tmp) {
		size_t l = 0;
		FILE *lf = open_memstream(&lines[i], &l);
		const char *cg;

		if (!lf)
			break;
		cg = cgroup_name ? cgroup_name(ctx, c->cgid) : NULL;

		if (cg)
			fprintf(lf, "cgroup %s:", cg);
		else
			fprintf(lf, "cgroup %llu:", (unsigned long long)c->cgid);
		dump_ruleset(lf, ms, c->b.wl_id, name, ctx);
		fclose(lf);
		i++;
	}
	qsort(lines, i, sizeof(*lines), cmp_line);
	f = open_memstream(&out, &len);
	for (size_t k = 0; k < i; k++) {
		if (f)
			fprintf(f, "%s\n", lines[k]);
		free(lines[k]);
	}
	free(lines);
	if (f) {
		fprintf(f, "rulesets %zu+%zu sets %u values %zu+%zu+%zu+%zu+%zu counters %zu\n",
			ms->used[PF_KMAP_WORKLOADS], ms->used[PF_KMAP_WORKLOADS_LARGE],
			HASH_CNT(hh, ms->sets), ms->used[PF_KMAP_EXACT_S],
			ms->used[PF_KMAP_EXACT_M], ms->used[PF_KMAP_EXACT_L],
			ms->used[PF_KMAP_PREFIX], ms->used[PF_KMAP_SUFFIX],
			ms->used[PF_KMAP_POLICIES]);
		fclose(f);
	}
	return out;
}
