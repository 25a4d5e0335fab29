// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's side of learning (learn.h, docs/learning.md): the store fed
 * by the kernel's records, the engine told which containers learn, the
 * control requests of `podfence learn`, and upkeep of the kernel's tables:
 * last-seen refreshed, session marks of processes that are gone dropped,
 * and the `learned` filter kept below its capacity (an entry evicted only
 * makes its next exec recorded again, which the store merges). In a
 * cluster, this node's findings go to the PolicyProposal objects.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "podfence/cgroup.h"
#include "podfence/learn.h"
#include "podfence/log.h"
#include "podfence/strset.h"
#include "agent.h"

/* How often last-seen is refreshed and proposals are written to the API. */
#define LEARN_TICK_MS 10000

/* The node's name in proposals: the API's node name, $NODE_NAME, else the host name. */
static const char *node_of(struct agent *a)
{
	static char host[256];

	if (a->node_name)
		return a->node_name;
	if (getenv("NODE_NAME"))
		return getenv("NODE_NAME");
	if (!host[0] && gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "local");
	return host;
}

static uint32_t learn_id_of(void *ctx, const struct pf_pod *pod, const char *container)
{
	struct agent *a = ctx;

	return pf_learn_id_for(a->learn, pod, container);
}

static bool unknown_id(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *l)
{
	return !pf_learn_knows(l, k->learn_id);
}

int agent_learn_setup(struct agent *a)
{
	char dir[PATH_MAX], err[512] = "";
	int rc;

	/*
	 * Enforcement does not depend on it: without a state directory the
	 * agent enforces as ever, and learning is refused with the reason.
	 */
	if (mkdir(a->state_dir, 0700) && errno != EEXIST) {
		snprintf(a->learn_error, sizeof(a->learn_error),
			 "learning unavailable: state directory %s: %s (--state-dir)", a->state_dir,
			 strerror(errno));
		pf_warn("%s", a->learn_error);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/learn", a->state_dir);
	rc = pf_learn_open(&a->learn, dir, err, sizeof(err));
	if (rc) {
		snprintf(a->learn_error, sizeof(a->learn_error), "learning unavailable: %s", err);
		pf_warn("%s", a->learn_error);
		return 0;
	}
	/*
	 * Kernel entries of ids this store never gave (its directory was
	 * emptied while the pinned maps stayed) would hide their binaries
	 * from a new identity with the same id: dropped.
	 */
	pf_kstore_learned_walk(a->ks, unknown_id, a->learn);
	pf_engine_set_learning(a->engine, learn_id_of, a);
	return 0;
}

void agent_learn_teardown(struct agent *a)
{
	pf_learn_close(a->learn);
	a->learn = NULL;
}

void agent_learn_record(struct agent *a, const void *ev, size_t size)
{
	int rc;

	if (!a->learn)
		return; /* records of a previous agent's learning: nowhere to keep them */
	rc = pf_learn_record(a->learn, ev, size);
	if (rc && rc != -ENOENT)
		pf_warn("learning: a record was not kept: %s", strerror(-rc));
}

static int seen_in_kernel(void *ctx, const struct pf_learn_key *k, struct pf_learn_seen *out)
{
	return pf_kstore_learned_read(ctx, k, out);
}

/* ---- seeding from /proc ---- */

/* The cgroup2 directory of a process ("0::/path" of /proc/<pid>/cgroup). */
static int proc_cgroup(const char *pid, char *buf, size_t len)
{
	char path[64], line[PATH_MAX + 8];
	FILE *f;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "%s", line + 3);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/*
 * Seeds every learning container with the executables its processes run
 * now: their /proc/<pid>/exe, which the kernel names as the process's own
 * mount namespace sees it (the container's view). Returns how many
 * processes were seeded.
 */
static int seed_from_proc(struct agent *a)
{
	char root[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int seeded = 0;

	/* /proc/<pid>/cgroup names the cgroup from the mount's root (not --cgroup-root's) */
	if (pf_cgroup2_mount(root, sizeof(root)))
		return -ENOENT;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char cg[PATH_MAX], dir[2 * PATH_MAX], link[64], exe[PATH_MAX];
		struct pf_cg_binding b;
		struct pf_ruleset rs;
		uint64_t cgid;
		ssize_t n;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    proc_cgroup(de->d_name, cg, sizeof(cg)))
			continue;
		snprintf(dir, sizeof(dir), "%s%s", root, cg);
		if (pf_cgroup_id(dir, &cgid) || pf_kstore_cgroup_lookup(a->ks, cgid, &b) ||
		    pf_kstore_ruleset_read(a->ks, b.wl_id, &rs) || !rs.learn_id)
			continue;
		snprintf(link, sizeof(link), "/proc/%s/exe", de->d_name);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue; /* a kernel thread, or gone */
		exe[n] = 0;
		if (!pf_learn_seed(a->learn, rs.learn_id, exe))
			seeded++;
	}
	closedir(d);
	return seeded;
}

/* ---- upkeep ---- */

struct evict_ctx {
	uint64_t cutoff; /* ktime: entries last seen before it go */
	uint64_t *lasts;
	size_t n, cap;
};

static bool collect_last(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	struct evict_ctx *e = c;

	if (e->n < e->cap)
		e->lasts[e->n++] = s->last_ns;
	return false;
}

static bool evict_old(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	return s->last_ns < ((struct evict_ctx *)c)->cutoff;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Keeps `learned` below 7/8 of its capacity: the least recently seen half
 * goes (every record is in the store already; an evicted one that runs
 * again is recorded again and merged).
 */
static void learned_keep_room(struct agent *a)
{
	uint32_t cap = pf_kstore_capacity(a->ks, PF_KMAP_LEARNED);
	struct pf_kmap_usage usage[32];
	struct evict_ctx e = {0};
	int n = pf_kstore_usage(a->ks, usage, 32);
	uint64_t entries = 0;

	for (int i = 0; i < n; i++)
		if (strcmp(usage[i].name, "learned") == 0)
			entries = usage[i].entries;
	if (!cap || entries < (uint64_t)cap / 8 * 7)
		return;
	e.cap = entries + 64;
	e.lasts = calloc(e.cap, sizeof(*e.lasts));
	if (!e.lasts)
		return;
	pf_kstore_learned_walk(a->ks, collect_last, &e);
	qsort(e.lasts, e.n, sizeof(*e.lasts), cmp_u64);
	e.cutoff = e.n ? e.lasts[e.n / 2] : 0;
	pf_kstore_learned_walk(a->ks, evict_old, &e);
	a->learn_evicted += e.n / 2;
	pf_info("learning: %zu of %u entries of map learned evicted (least recently seen; "
		"their records are kept)",
		e.n / 2, cap);
	free(e.lasts);
}

/* Learn ids some ruleset in the kernel still carries (its pod is there). */
struct live_ids {
	struct pf_kstore *ks;
	uint32_t *v;
	size_t n, cap;
};

static bool note_live(uint32_t wl, void *c)
{
	struct live_ids *l = c;
	struct pf_ruleset rs;

	if (pf_kstore_ruleset_read(l->ks, wl, &rs) || !rs.learn_id)
		return false;
	if (l->n == l->cap) {
		uint32_t *v = realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof(*v));

		if (!v)
			return false;
		l->v = v;
	}
	l->v[l->n++] = rs.learn_id;
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool pod_gone(const struct pf_learn_key *k, const struct pf_learn_seen *s, void *c)
{
	struct live_ids *l = c;

	return !bsearch(&k->learn_id, l->v, l->n, sizeof(*l->v), cmp_u32);
}

/*
 * Drops the kernel entries of pods that are gone (no ruleset carries their
 * learn id any more): their records are in the store, and nothing in the
 * kernel will add to them.
 */
static void learned_drop_gone(struct agent *a)
{
	struct live_ids l = {.ks = a->ks};

	if (pf_kstore_gc_workloads(a->ks, note_live, &l)) {
		free(l.v);
		return; /* a partial list would drop live entries */
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_u32);
	pf_kstore_learned_walk(a->ks, pod_gone, &l);
	free(l.v);
}

static bool session_gone(uint32_t tgid, void *ctx)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", tgid);
	return access(path, F_OK) != 0;
}

/* ---- the API: this node's contribution to each PolicyProposal ---- */

/* One workload's proposal, as this node sees it, to its PolicyProposal object. */
static void push_proposal(struct agent *a, struct json_object *p)
{
	struct json_object *meta, *spec, *patch, *pspec;
	const char *ns, *name;
	char path[600];

	json_object_object_get_ex(p, "metadata", &meta);
	json_object_object_get_ex(p, "spec", &spec);
	ns = json_object_get_string(json_object_object_get(meta, "namespace"));
	name = json_object_get_string(json_object_object_get(meta, "name"));
	/* The patch names only this node's key: other nodes' findings stay. */
	patch = json_object_new_object();
	pspec = json_object_new_object();
	json_object_object_add(pspec, "targetRef",
			       json_object_get(json_object_object_get(spec, "targetRef")));
	json_object_object_add(pspec, "nodes",
			       json_object_get(json_object_object_get(spec, "nodes")));
	json_object_object_add(patch, "spec", pspec);
	snprintf(path, sizeof(path), "/apis/podfence.io/v1alpha1/namespaces/%s/policyproposals",
		 ns);
	pf_k8s_writer_put(a->proposal_writer, path, name,
			  json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
			  json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
	json_object_put(patch);
}

/* The workloads whose findings moved since the last push: one write each. */
static void push_proposals(struct agent *a)
{
	struct pf_strset dirty;

	pf_learn_take_dirty(a->learn, &dirty);
	for (size_t i = 0; a->proposal_writer && i < dirty.n; i++) {
		struct json_object *arr = pf_learn_proposals(a->learn, node_of(a), dirty.v[i]);

		for (size_t k = 0; k < json_object_array_length(arr); k++)
			push_proposal(a, json_object_array_get_idx(arr, k));
		json_object_put(arr);
	}
	pf_strset_free(&dirty);
}

void agent_learn_tick(struct agent *a, long long now_ms)
{
	if (!a->learn || now_ms < a->learn_due_ms)
		return;
	a->learn_due_ms = now_ms + LEARN_TICK_MS;
	pf_kstore_sessions_gc(a->ks, session_gone, NULL);
	if (++a->learn_ticks % 6 == 0) /* every minute */
		learned_drop_gone(a);
	learned_keep_room(a);
	/* last-seen and counts move in the kernel alone: read, then written where they moved */
	pf_learn_refresh(a->learn, seen_in_kernel, a->ks);
	push_proposals(a);
}

/* ---- control requests: "learn start SCOPE [seed]", "learn stop SCOPE", "learn show [F]" ---- */

static struct json_object *reply_error(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

struct json_object *agent_learn_request(struct agent *a, const char *args)
{
	char verb[16] = "", arg[420] = "", opt[16] = "", err[512];
	struct json_object *o;
	int rc;

	if (!a->learn)
		return reply_error(a->learn_error);
	sscanf(args, "%15s %419s %15s", verb, arg, opt);
	if (strcmp(verb, "start") == 0 && arg[0]) {
		rc = pf_learn_scope_add(a->learn, arg, err, sizeof(err));
		if (rc)
			return reply_error(err);
		pf_engine_learning_changed(a->engine);
		pf_engine_sync(a->engine);
		o = json_object_new_object();
		json_object_object_add(o, "learning", json_object_new_string(arg));
		if (strcmp(opt, "seed") == 0) {
			rc = seed_from_proc(a);
			json_object_object_add(o, "seeded_processes", json_object_new_int(rc));
		}
		pf_info("learning started: %s", arg);
		return o;
	}
	if (strcmp(verb, "stop") == 0 && arg[0]) {
		if (pf_learn_scope_remove(a->learn, arg)) {
			snprintf(err, sizeof(err), "not learning: %s", arg);
			return reply_error(err);
		}
		pf_engine_learning_changed(a->engine);
		pf_engine_sync(a->engine);
		pf_info("learning stopped: %s (what was learned is kept)", arg);
		o = json_object_new_object();
		json_object_object_add(o, "stopped", json_object_new_string(arg));
		return o;
	}
	if (strcmp(verb, "show") == 0) {
		pf_learn_refresh(a->learn, seen_in_kernel, a->ks);
		return pf_learn_proposals(a->learn, node_of(a), arg[0] ? arg : NULL);
	}
	return reply_error("learn: want start SCOPE [seed], stop SCOPE or show [FILTER]");
}

/* status.learning, with what does not fit said as errors with numbers. */
void agent_learn_status(struct agent *a, struct json_object *root, const uint64_t *st)
{
	struct json_object *l, *errors;
	uint32_t cap = pf_kstore_capacity(a->ks, PF_KMAP_LEARNED);
	char msg[300];

	if (!a->learn) {
		l = json_object_new_object();
		json_object_object_add(l, "error", json_object_new_string(a->learn_error));
		json_object_object_add(root, "learning", l);
		return;
	}
	l = pf_learn_status_json(a->learn);
	json_object_object_add(l, "kernel_entries_evicted",
			       json_object_new_int64(a->learn_evicted));
	if (a->proposal_writer) {
		struct pf_k8s_writer_state ws;
		struct json_object *w = json_object_new_object();

		pf_k8s_writer_state(a->proposal_writer, &ws);
		json_object_object_add(w, "written", json_object_new_int64(ws.written));
		json_object_object_add(w, "errors", json_object_new_int64(ws.errors));
		json_object_object_add(w, "pending", json_object_new_int64(ws.pending));
		json_object_object_add(w, "last_error", json_object_new_string(ws.last_error));
		json_object_object_add(l, "proposals_api", w);
	}
	json_object_object_add(root, "learning", l);
	if (!json_object_object_get_ex(root, "errors", &errors))
		return;
	if (st && st[PF_STAT_LEARN_FULL]) {
		snprintf(msg, sizeof(msg),
			 "learning: %llu new records found map learned full (%u entries): not "
			 "recorded yet, recorded on their next exec once room is made",
			 (unsigned long long)st[PF_STAT_LEARN_FULL], cap);
		json_object_array_add(errors, json_object_new_string(msg));
	}
	if (st && st[PF_STAT_LEARN_LOST]) {
		snprintf(msg, sizeof(msg),
			 "learning: %llu new records found the ring buffer full: recorded on "
			 "their next exec",
			 (unsigned long long)st[PF_STAT_LEARN_LOST]);
		json_object_array_add(errors, json_object_new_string(msg));
	}
}
