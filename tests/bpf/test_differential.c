// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier, differential: every case runs through the reference evaluator
 * (pf_evaluate: the model, in user space) and through the real kernel program
 * (the engine compiles the same policy files, a real process execs), and the
 * two verdicts, blocked or not, must be identical.
 *
 * The node is simulated as tests/lib/fake-node.sh does: the kubelet's cgroupfs
 * layout under a sandbox cgroup given to the engine as its cgroup root, and
 * Pod manifests with containerd ids. Executed files are copies of pf_true at
 * chosen paths under a temp dir; calling binaries (what matchBinaries selects)
 * are copies of pf_exec, which the test starts from its own, unbound, cgroup:
 * the copy joins the pod's cgroup and execs the target, so only that exec is
 * subject to policy, with the copy as its caller.
 *
 * Scenarios are hand-written edge cases, which also state the verdict they
 * must have (agreeing with each other is not enough when both are wrong), and
 * generated ones from a deterministic PRNG (PF_DIFF_SEED=<n> runs another
 * seed). Half the generated scenarios are then changed while in force, a file
 * rewritten or removed, and checked again: the engine updates bound workloads
 * in place. matchBinaries is left out on backends that cannot see the calling
 * binary (the engine refuses it there), which also changes what a seed makes.
 * On a mismatch the scenario's policy files, the pod, container, paths and
 * both verdicts are printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "pf_test.h"
#include "pf_kfixture.h"
#include "podfence/engine.h"
#include "podfence/evaluate.h"
#include "podfence/pod.h"
#include "podfence/policy.h"

#define DEFAULT_SEED	   20251121ull
#define GEN_SCENARIOS	   250 /* PF_DIFF_SCENARIOS overrides (emulated kernels use fewer) */
#define EXECS_PER_SCENARIO 8
#define EXECS_AFTER_CHANGE 4
/* Detailed reports printed; every mismatch is counted. */
#define MAX_REPORTS 8
#define MAX_FILES   8

static struct pf_kstore *store;

/* ---- the simulated node ------------------------------------------------- */

#define MAX_CONTAINERS 2
/*
 * Besides its containers, each pod has its own cgroup and a sandbox ("pause")
 * cgroup whose id no container reports: both belong to no known container.
 */
enum { SLOT_POD = -1, SLOT_PAUSE = -2 };
#define N_SLOTS (MAX_CONTAINERS + 2)

/* clang-format off */
static const struct fleet_pod {
	const char *ns, *name;
	const char *labels[3][2];
	const char *containers[MAX_CONTAINERS];
} fleet[] = {
	{ "shop", "web-1", { { "app", "web" }, { "tier", "frontend" }, { "env", "prod" } },
	  { "nginx", "sidecar" } },
	{ "shop", "api-1", { { "app", "api" }, { "tier", "backend" } }, { "api", "sidecar" } },
	{ "ops", "worker-1", { { "app", "worker" }, { "tier", "backend" }, { "env", "dev" } },
	  { "worker" } },
	{ "ops", "web-2", { { "app", "web" }, { "env", "dev" } }, { "nginx", "debug" } },
	{ "default", "tool-1", { { NULL } }, { "tool" } }, /* no labels at all */
};
#define N_PODS (sizeof(fleet) / sizeof(fleet[0]))

/* Executed files: pairs that differ by one byte at the places that matter. */
enum target {
	T_LS, T_ALS, T_CAT, T_BINX_LS, T_NGINX, T_SERVER, T_SERVER_DEBUG, T_SH,
	/* lengths at the exact-value tiers' boundaries (PF_EXACT_S/M/MAX) */
	T_LEN48, T_LEN49, T_LEN256, T_LEN257, T_LEN1024, T_LEN1025,
	/* past PF_AFFIX_MAX (252): long-x differs after byte 252, long-c before */
	T_LONG, T_LONG_X, T_LONG_C,
	T_HUGE, /* past PF_EXACT_MAX */
	N_TARGETS
};
static const char *const target_names[N_TARGETS] = {
	"ls", "als", "cat", "binx-ls", "nginx", "server", "server-debug", "sh",
	"len48", "len49", "len256", "len257", "len1024", "len1025",
	"long", "long-x", "long-c", "huge",
};

/* Calling binaries: the kernel resolves and looks them up apart from targets. */
enum caller {
	C_BASH, C_PYTHON3, C_PYTHON311, C_RUNNER, C_LONG_RUNNER,
	C_LEN48, C_LEN49, C_LEN256, C_LEN257, C_LEN1024, C_LEN1025, C_HUGE_RUNNER,
	N_CALLERS
};
static const char *const caller_names[N_CALLERS] = {
	"bash", "python3", "python3.11", "runner", "long-runner",
	"c48", "c49", "c256", "c257", "c1024", "c1025", "huge-runner",
};
/* clang-format on */

struct world {
	char tmp[PATH_MAX];  /* temp dir as created (what pf_rm_rf removes) */
	char root[PATH_MAX]; /* its real path: what the kernel resolves */
	struct pf_sandbox_cg cg;
	struct pf_engine *e;
	bool pods_loaded;
	struct pf_pod_list pods; /* the evaluator's copy, in fleet order */
	char *targets[N_TARGETS];
	char *callers[N_CALLERS];
	char procs[N_PODS][N_SLOTS][PATH_MAX + 16]; /* cgroup.procs of each place */
	uint64_t rng;
	/* tallies */
	unsigned execs, blocked, mismatches, errors, reports, gen_templates, changes;
	unsigned net_calls, net_blocked; /* egress cases */
	unsigned failed_closed; /* pods failed closed (a refused binding was the only one) */
};

struct query {
	int pod, slot, target, caller;
};

static int slot_index(int slot)
{
	return slot >= 0 ? slot : slot == SLOT_POD ? MAX_CONTAINERS : MAX_CONTAINERS + 1;
}

static const char *slot_container(int pod, int slot)
{
	return slot >= 0 ? fleet[pod].containers[slot] : NULL;
}

static int n_containers(int pod)
{
	int n = 0;

	while (n < MAX_CONTAINERS && fleet[pod].containers[n])
		n++;
	return n;
}

/* 64 hex digits, distinct per (pod, slot): no id is a substring of another. */
static void container_id(int pod, int slot, char id[65])
{
	snprintf(id, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
		 (uint64_t)0xd1ff000000000000ull | (uint64_t)pod << 8 | (uint64_t)(slot + 8),
		 (uint64_t)0x1111111111111111ull * (pod + 1), (uint64_t)0xabcdefull + slot + 8,
		 (uint64_t)0xfeedull);
}

static void pod_uid(int pod, char uid[64])
{
	snprintf(uid, 64, "d1ff0000-0000-4000-8000-%012d", pod + 1);
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memset(s, c, n);
		s[n] = 0;
	}
	return s;
}

/* dir + "/" + a name that makes the path exactly len bytes long. */
static char *path_of_len(const char *dir, size_t len, char fill)
{
	size_t dl = strlen(dir);
	char *name, *p;

	if (len < dl + 2 || len - dl - 1 > 255)
		return NULL;
	name = repeat(fill, len - dl - 1);
	p = name ? fmt_alloc("%s/%s", dir, name) : NULL;
	free(name);
	return p;
}

/* Copies src to path, creating its directories. */
static int place_copy(const char *src, const char *path)
{
	char dir[PATH_MAX * 2];
	char *slash;
	int err;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = 0;
	err = pf_mkdir_p(dir);
	return err ? err : pf_copy_file(src, path);
}

static bool make_files(struct world *w)
{
	char *a200 = repeat('a', 200), *b30 = repeat('b', 30), *c30 = repeat('c', 30);
	char *d200 = repeat('d', 200), *m200 = repeat('m', 200);
	char *tdir = NULL, *mdir = NULL, *hdir = NULL;
	const char *r = w->root;
	char *true_bin = NULL, *exec_bin = NULL;
	bool ok = false;

	if (!a200 || !b30 || !c30 || !d200 || !m200)
		goto out;
	tdir = fmt_alloc("%s/t", r);
	mdir = fmt_alloc("%s/t/%s", r, m200);
	hdir = fmt_alloc("%s/huge/%s/%s/%s/%s", r, d200, d200, d200, d200);
	w->targets[T_LS] = fmt_alloc("%s/usr/bin/ls", r);
	w->targets[T_ALS] = fmt_alloc("%s/usr/bin/als", r);
	w->targets[T_CAT] = fmt_alloc("%s/usr/bin/cat", r);
	w->targets[T_BINX_LS] = fmt_alloc("%s/usr/binx/ls", r);
	w->targets[T_NGINX] = fmt_alloc("%s/usr/sbin/nginx", r);
	w->targets[T_SERVER] = fmt_alloc("%s/opt/app/bin/server", r);
	w->targets[T_SERVER_DEBUG] = fmt_alloc("%s/opt/app/bin/server-debug", r);
	w->targets[T_SH] = fmt_alloc("%s/bin/sh", r);
	w->targets[T_LEN48] = path_of_len(tdir, 48, 'n');
	w->targets[T_LEN49] = path_of_len(tdir, 49, 'n');
	w->targets[T_LEN256] = path_of_len(mdir, 256, 'n');
	w->targets[T_LEN257] = path_of_len(mdir, 257, 'n');
	w->targets[T_LEN1024] = path_of_len(hdir, 1024, 'n');
	w->targets[T_LEN1025] = path_of_len(hdir, 1025, 'n');
	w->targets[T_LONG] = fmt_alloc("%s/long/%s/%s/tool", r, a200, b30);
	w->targets[T_LONG_X] = fmt_alloc("%s/long/%s/%s/loot", r, a200, b30);
	w->targets[T_LONG_C] = fmt_alloc("%s/long/%s/%s/tool", r, a200, c30);
	w->targets[T_HUGE] = fmt_alloc("%s/%s/tool", hdir, d200);
	w->callers[C_BASH] = fmt_alloc("%s/bin/bash", r);
	w->callers[C_PYTHON3] = fmt_alloc("%s/usr/bin/python3", r);
	w->callers[C_PYTHON311] = fmt_alloc("%s/usr/bin/python3.11", r);
	w->callers[C_RUNNER] = fmt_alloc("%s/opt/tools/runner", r);
	w->callers[C_LONG_RUNNER] = fmt_alloc("%s/long/%s/%s/runner", r, a200, b30);
	w->callers[C_LEN48] = path_of_len(tdir, 48, 'r');
	w->callers[C_LEN49] = path_of_len(tdir, 49, 'r');
	w->callers[C_LEN256] = path_of_len(mdir, 256, 'r');
	w->callers[C_LEN257] = path_of_len(mdir, 257, 'r');
	w->callers[C_LEN1024] = path_of_len(hdir, 1024, 'r');
	w->callers[C_LEN1025] = path_of_len(hdir, 1025, 'r');
	w->callers[C_HUGE_RUNNER] = fmt_alloc("%s/%s/runner", hdir, d200);

	/* The helpers' paths live in a static buffer: keep copies. */
	true_bin = pf_helper_path("pf_true") ? strdup(pf_helper_path("pf_true")) : NULL;
	exec_bin = pf_helper_path("pf_exec") ? strdup(pf_helper_path("pf_exec")) : NULL;
	if (!ASSERT_NOT_NULL(true_bin, "pf_true") || !ASSERT_NOT_NULL(exec_bin, "pf_exec"))
		goto out;
	for (int i = 0; i < N_TARGETS; i++) {
		if (!ASSERT_NOT_NULL(w->targets[i], target_names[i]) ||
		    !ASSERT_OK(place_copy(true_bin, w->targets[i]), true_bin))
			goto out;
	}
	for (int i = 0; i < N_CALLERS; i++) {
		if (!ASSERT_NOT_NULL(w->callers[i], caller_names[i]) ||
		    !ASSERT_OK(place_copy(exec_bin, w->callers[i]), exec_bin))
			goto out;
	}
	/* What the long targets are for (the temp root's length could break it). */
	ok = ASSERT_TRUE(strlen(w->targets[T_LONG]) > PF_AFFIX_MAX &&
			     strlen(w->callers[C_LONG_RUNNER]) > PF_AFFIX_MAX &&
			     strlen(w->targets[T_HUGE]) > PF_EXACT_MAX &&
			     strlen(w->callers[C_HUGE_RUNNER]) > PF_EXACT_MAX &&
			     !strncmp(w->targets[T_LONG], w->targets[T_LONG_X], PF_AFFIX_MAX) &&
			     strncmp(w->targets[T_LONG], w->targets[T_LONG_C], PF_AFFIX_MAX),
			 "long paths differ where they should");
out:
	free(a200), free(b30), free(c30), free(d200), free(m200);
	free(tdir), free(mdir), free(hdir);
	free(true_bin), free(exec_bin);
	return ok;
}

/* Pod manifests as `kubectl get pod -o yaml` prints them (the fields the engine reads). */
static char *fleet_yaml(void)
{
	char *buf = NULL, uid[64], id[65];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t p = 0; p < N_PODS; p++) {
		const struct fleet_pod *fp = &fleet[p];

		pod_uid(p, uid);
		fprintf(f,
			"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n"
			"  uid: %s\n",
			fp->name, fp->ns, uid);
		if (fp->labels[0][0])
			fprintf(f, "  labels:\n");
		for (int l = 0; l < 3 && fp->labels[l][0]; l++)
			fprintf(f, "    %s: \"%s\"\n", fp->labels[l][0], fp->labels[l][1]);
		fprintf(f, "spec:\n  containers:\n");
		for (int c = 0; c < n_containers(p); c++)
			fprintf(f, "  - name: %s\n    image: example/%s\n", fp->containers[c],
				fp->containers[c]);
		fprintf(f, "status:\n  qosClass: Burstable\n  containerStatuses:\n");
		for (int c = 0; c < n_containers(p); c++) {
			container_id(p, c, id);
			fprintf(f, "  - name: %s\n    containerID: containerd://%s\n",
				fp->containers[c], id);
		}
	}
	fclose(f);
	return buf;
}

/* Creates every cgroup of the fleet: kubepods/burstable/pod<uid>/<container id>. */
static bool make_cgroups(struct world *w)
{
	char uid[64], id[65], dir[PATH_MAX + 8];

	if (!ASSERT_OK(pf_sandbox_cg_create(&w->cg, NULL, "differential"), "sandbox cgroup"))
		return false;
	for (size_t p = 0; p < N_PODS; p++) {
		pod_uid(p, uid);
		snprintf(dir, sizeof(dir), "%s/kubepods/burstable/pod%s", w->cg.path, uid);
		if (!ASSERT_OK(pf_mkdir_p(dir), "pod cgroup"))
			return false;
		for (int s = SLOT_PAUSE; s < n_containers(p); s++) {
			char cdir[PATH_MAX * 2];

			if (s == SLOT_POD) {
				snprintf(w->procs[p][slot_index(s)], sizeof(w->procs[p][0]),
					 "%s/cgroup.procs", dir);
				continue;
			}
			container_id(p, s, id);
			snprintf(cdir, sizeof(cdir), "%s/%s", dir, id);
			if (!ASSERT_OK(pf_mkdir_p(cdir), "container cgroup"))
				return false;
			snprintf(w->procs[p][slot_index(s)], sizeof(w->procs[p][0]),
				 "%s/cgroup.procs", cdir);
		}
	}
	return true;
}

static bool load_pods(struct world *w)
{
	struct pf_pod_list theirs = {};
	struct pf_diags d1 = {}, d2 = {};
	char *yaml = fleet_yaml();
	bool ok = false;

	if (!ASSERT_NOT_NULL(yaml, "pod manifests"))
		return false;
	/* The engine takes ownership of what it is given: the evaluator reads its own copy. */
	if (!ASSERT_OK(pf_pod_parse_buf("fleet.yaml", yaml, strlen(yaml), &theirs, &d1), "pods") ||
	    !ASSERT_OK(pf_pod_parse_buf("fleet.yaml", yaml, strlen(yaml), &w->pods, &d2), "pods") ||
	    !ASSERT_EQ(w->pods.n, N_PODS, "pods parsed")) {
		pf_diags_print(&d1, stderr);
		goto out;
	}
	pf_engine_pod_file(w->e, "fleet.yaml", &theirs, &d1);
	w->pods_loaded = true;
	ok = true;
out:
	pf_pod_list_free(&theirs);
	pf_diags_free(&d1);
	pf_diags_free(&d2);
	free(yaml);
	return ok;
}

static bool world_setup(struct world *w)
{
	char *real;

	if (!ASSERT_OK(pf_tmpdir(w->tmp, sizeof(w->tmp)), "tmpdir"))
		return false;
	/* Policy values must name paths as the kernel resolves them. */
	real = realpath(w->tmp, NULL);
	if (!ASSERT_NOT_NULL(real, "realpath"))
		return false;
	snprintf(w->root, sizeof(w->root), "%s", real);
	free(real);
	if (!make_files(w) || !make_cgroups(w))
		return false;
	w->e = pf_engine_new(pf_kstore_store(store), w->cg.path);
	return ASSERT_NOT_NULL(w->e, "engine") && load_pods(w);
}

static void world_teardown(struct world *w)
{
	if (w->e) {
		/* pf_engine_free leaves the kernel state in force: remove the inputs first. */
		if (w->pods_loaded)
			pf_engine_pod_file_removed(w->e, "fleet.yaml");
		pf_engine_sync(w->e);
		pf_engine_collect(w->e);
		pf_engine_free(w->e);
	}
	pf_pod_list_free(&w->pods);
	pf_sandbox_cg_destroy(&w->cg);
	for (int i = 0; i < N_TARGETS; i++)
		free(w->targets[i]);
	for (int i = 0; i < N_CALLERS; i++)
		free(w->callers[i]);
	if (w->tmp[0])
		pf_rm_rf(w->tmp);
}

/* ---- scenarios: policy files in the engine and in the evaluator -------- */

struct scenario {
	char name[48];		  /* stem of its policy file names */
	char *yaml[MAX_FILES];	  /* NULL: removed */
	unsigned used[MAX_FILES]; /* selectors of each file (a template's once) */
	size_t n_files;
	size_t n_loaded;	    /* files handed to the engine */
	struct pf_policy_list pols; /* the evaluator's copy of every file */
	const struct pf_policy **refs;
	bool sync_each; /* sync after each file, not only once all are in */
	int changed;	/* file rewritten or removed while in force, -1: none */
	char *before;	/* its text before */
	bool shown;	/* printed along with a mismatch already */
};

static void file_name(const struct scenario *sc, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%zu.yaml", sc->name, i);
}

static void scenario_show(struct scenario *sc)
{
	char file[96];

	if (sc->shown)
		return;
	sc->shown = true;
	for (size_t i = 0; i < sc->n_files; i++) {
		file_name(sc, i, file, sizeof(file));
		if ((int)i == sc->changed)
			fprintf(stderr, "    ---- %s, before it was %s:\n%s", file,
				sc->yaml[i] ? "rewritten" : "removed", sc->before);
		if (sc->yaml[i])
			fprintf(stderr, "    ---- %s\n%s", file, sc->yaml[i]);
	}
	fprintf(stderr, "    ----\n");
}

static void show_engine_errors(struct world *w)
{
	struct json_object *st = pf_engine_status_json(w->e);

	fprintf(stderr, "    engine status: %s\n",
		json_object_to_json_string_ext(json_object_object_get(st, "errors"),
					       JSON_C_TO_STRING_PLAIN));
	json_object_put(st);
}

/*
 * Hands file i to the engine, which takes ownership of what it is given (the
 * evaluator parses its own copy). A file the parser refuses is a generator
 * bug or a parser bug: either way the test fails, showing the diagnostics.
 */
static bool engine_file(struct world *w, struct scenario *sc, size_t i)
{
	struct pf_policy_list pols = {};
	struct pf_diags d = {};
	char file[96];
	bool ok;

	file_name(sc, i, file, sizeof(file));
	ok =
	    ASSERT_OK(pf_policy_parse_buf(file, sc->yaml[i], strlen(sc->yaml[i]), &pols, &d), file);
	if (ok) {
		pf_engine_policy_file(w->e, file, &pols, &d);
		if (sc->n_loaded < i + 1)
			sc->n_loaded = i + 1;
	} else {
		pf_diags_print(&d, stderr);
		scenario_show(sc);
	}
	pf_policy_list_free(&pols);
	pf_diags_free(&d);
	return ok;
}

/* The evaluator's copy of every file in force. */
static bool eval_copy(struct scenario *sc)
{
	char file[96];

	pf_policy_list_free(&sc->pols);
	free(sc->refs);
	sc->refs = NULL;
	for (size_t i = 0; i < sc->n_files; i++) {
		struct pf_policy_list pols = {};
		struct pf_diags d = {};
		bool ok;

		if (!sc->yaml[i])
			continue;
		file_name(sc, i, file, sizeof(file));
		ok = ASSERT_OK(
		    pf_policy_parse_buf(file, sc->yaml[i], strlen(sc->yaml[i]), &pols, &d), file);
		for (size_t p = 0; ok && p < pols.n; p++)
			ok = ASSERT_OK(pf_policy_list_push(&sc->pols, &pols.v[p]), "push");
		pf_policy_list_free(&pols);
		pf_diags_free(&d);
		if (!ok)
			return false;
	}
	sc->refs = calloc(sc->pols.n + 1, sizeof(*sc->refs));
	if (!ASSERT_NOT_NULL(sc->refs, "refs"))
		return false;
	for (size_t i = 0; i < sc->pols.n; i++)
		sc->refs[i] = &sc->pols.v[i];
	return true;
}

static bool scenario_load(struct world *w, struct scenario *sc)
{
	for (size_t i = 0; i < sc->n_files; i++) {
		if (!engine_file(w, sc, i))
			return false;
		/* Intermediate states (a binding before its template, ...) must not linger. */
		if (sc->sync_each)
			pf_engine_sync(w->e);
	}
	pf_engine_sync(w->e);
	return eval_copy(sc);
}

/* The reference evaluator's query for an exec in one slot of pod p. */
static struct pf_eval_query slot_query(const struct world *w, size_t p, int s, const char *path,
				       const char *caller)
{
	const struct pf_pod *pod = &w->pods.v[p];

	return (struct pf_eval_query){
	    .pod_namespace = pod->namespace,
	    .pod_labels = &pod->labels,
	    .pod_workload = &pod->workload,
	    .container = slot_container(p, s),
	    .path = path,
	    .caller = caller,
	    .pod_containers = fleet[p].containers,
	    .n_pod_containers = n_containers(p),
	};
}

/*
 * Pods the reference says fail closed (a container's only binding of a
 * template is refused): the engine reports each of them, once.
 */
static size_t pods_failed_closed(struct world *w, struct scenario *sc)
{
	size_t n = 0;

	for (size_t p = 0; p < N_PODS; p++) {
		bool closed = false;

		for (int s = SLOT_PAUSE; s < n_containers(p) && !closed; s++) {
			struct pf_eval_query eq = slot_query(w, p, s, w->targets[0], w->callers[0]);
			struct pf_eval_result res;

			if (pf_evaluate(sc->refs, sc->pols.n, &eq, &res) == 0) {
				closed = res.fail_closed;
				pf_eval_result_free(&res);
			}
		}
		n += closed;
	}
	return n;
}

/* Engine errors the scenario does not expect: its verdicts would be meaningless. */
static bool scenario_engine_ok(struct world *w, struct scenario *sc)
{
	size_t closed = pods_failed_closed(w, sc);
	struct pf_engine_counts c;

	w->failed_closed += closed;
	pf_engine_counts(w->e, &c);
	if (ASSERT_EQ(c.files_rejected, 0, sc->name) &&
	    ASSERT_EQ(c.workload_errors, closed, sc->name) &&
	    ASSERT_EQ(c.pods_pending, 0, sc->name))
		return true;
	show_engine_errors(w);
	scenario_show(sc);
	return false;
}

/* Removes the scenario's files; the engine must then hold nothing in the kernel. */
static void scenario_unload(struct world *w, struct scenario *sc)
{
	struct pf_engine_counts c;
	char file[96];

	for (size_t i = 0; i < sc->n_loaded; i++) {
		file_name(sc, i, file, sizeof(file));
		pf_engine_policy_file_removed(w->e, file);
	}
	pf_engine_sync(w->e);
	ASSERT_OK(pf_engine_collect(w->e), "collect");
	pf_engine_counts(w->e, &c);
	ASSERT_EQ(c.workloads, 0, "workloads left after the scenario");
	ASSERT_EQ(c.bound_cgroups, 0, "cgroups left bound after the scenario");
	ASSERT_EQ(c.value_sets, 0, "value sets left after the scenario");
	for (size_t i = 0; i < sc->n_files; i++)
		free(sc->yaml[i]);
	free(sc->before);
	pf_policy_list_free(&sc->pols);
	free(sc->refs);
	memset(sc, 0, sizeof(*sc));
}

/* ---- one case, both ways ---------------------------------------------- */

/*
 * Runs the caller copy from this process's cgroup; it joins the pod's cgroup
 * and execs the target. Blocked: killed by SIGKILL (tracepoint backend,
 * Sigkill action) or exit 126 (EPERM on LSM backends); allowed: exit 0.
 */
static int kernel_exec(const char *procs, const char *caller, const char *target, bool *blocked,
		       char *how, size_t how_len)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execl(caller, caller, procs, target, (char *)NULL);
		_exit(124);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFSIGNALED(status)) {
		snprintf(how, how_len, "signal %d", WTERMSIG(status));
		*blocked = true;
		return WTERMSIG(status) == SIGKILL ? 0 : -EPROTO;
	}
	snprintf(how, how_len, "exit %d", WEXITSTATUS(status));
	*blocked = WEXITSTATUS(status) == 126;
	return WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 126 ? 0 : -EPROTO;
}

static void print_labels(const struct pf_labels *l)
{
	fprintf(stderr, "{");
	for (size_t i = 0; i < l->n; i++)
		fprintf(stderr, "%s%s=%s", i ? "," : "", l->v[i].key, l->v[i].value);
	fprintf(stderr, "}");
}

static void report(struct world *w, struct scenario *sc, const struct query *q,
		   const struct pf_eval_result *res, const char *problem)
{
	const struct pf_pod *pod = &w->pods.v[q->pod];

	if (w->reports++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "    %s in scenario %s:\n", problem, sc->name);
	scenario_show(sc);
	fprintf(stderr, "      pod       %s/%s ", pod->namespace, pod->name);
	print_labels(&pod->labels);
	fprintf(stderr, "\n      container %s\n",
		q->slot >= 0	      ? fleet[q->pod].containers[q->slot]
		: q->slot == SLOT_POD ? "(none: the pod's own cgroup)"
				      : "(none: a cgroup of no known container)");
	fprintf(stderr, "      exec      %s (%s, %zu bytes)\n", w->targets[q->target],
		target_names[q->target], strlen(w->targets[q->target]));
	fprintf(stderr, "      caller    %s (%s)\n", w->callers[q->caller],
		caller_names[q->caller]);
	fprintf(stderr, "      reference: %s; applying:", res->blocked ? "blocked" : "allowed");
	for (size_t i = 0; i < res->n; i++)
		fprintf(stderr, " %s%s%s", res->v[i].policy->name,
			res->v[i].blocks ? "(blocks)" : "",
			res->v[i].would_block ? "(would block)" : "");
	for (size_t i = 0; i < res->n_ignored; i++)
		fprintf(stderr, " [binding %s ignored: %s]", res->ignored[i].binding->name,
			res->ignored[i].why);
	if (res->fail_closed)
		fprintf(stderr, " [fail closed: %s]", res->fail_why);
	fprintf(stderr, "\n");
}

/*
 * One case through the evaluator and the kernel. expect < 0: none, else the
 * verdict a hand-written case must have.
 */
static void check_case(struct world *w, struct scenario *sc, const struct query *q, int expect)
{
	struct pf_eval_query eq =
	    slot_query(w, q->pod, q->slot, w->targets[q->target], w->callers[q->caller]);
	struct pf_eval_result res;
	bool kblocked = false;
	char how[32], msg[128];
	int err;

	if (!ASSERT_OK(pf_evaluate(sc->refs, sc->pols.n, &eq, &res), "evaluate"))
		return;
	err = kernel_exec(w->procs[q->pod][slot_index(q->slot)], w->callers[q->caller],
			  w->targets[q->target], &kblocked, how, sizeof(how));
	w->execs++;
	w->blocked += !err && kblocked;
	if (err) {
		w->errors++;
		snprintf(msg, sizeof(msg), "TEST ERROR (kernel side: %s)", how);
		report(w, sc, q, &res, msg);
		pf_test_fail(__FILE__, __LINE__, "%s: exec neither allowed nor blocked: %s",
			     sc->name, how);
	} else if (kblocked != res.blocked) {
		w->mismatches++;
		snprintf(msg, sizeof(msg), "MISMATCH (kernel: %s, %s)",
			 kblocked ? "blocked" : "allowed", how);
		report(w, sc, q, &res, msg);
	} else if (expect >= 0 && res.blocked != !!expect) {
		snprintf(msg, sizeof(msg),
			 "WRONG VERDICT, kernel and reference agree (expected %s)",
			 expect ? "blocked" : "allowed");
		report(w, sc, q, &res, msg);
		pf_test_fail(__FILE__, __LINE__, "%s: both say %s, the case says %s", sc->name,
			     res.blocked ? "blocked" : "allowed", expect ? "blocked" : "allowed");
	}
	pf_eval_result_free(&res);
}

/* ---- hand-written cases ------------------------------------------------- */

/*
 * Policy text: ${name} is the path of a target or caller (or ${T}, the temp
 * root), ${name<N} its first N bytes, ${name>N} its last N bytes.
 */
static const char *lookup_path(const struct world *w, const char *name)
{
	if (strcmp(name, "T") == 0)
		return w->root;
	for (int i = 0; i < N_TARGETS; i++)
		if (strcmp(name, target_names[i]) == 0)
			return w->targets[i];
	for (int i = 0; i < N_CALLERS; i++)
		if (strcmp(name, caller_names[i]) == 0)
			return w->callers[i];
	return NULL;
}

static char *expand(const struct world *w, const char *in)
{
	char *out = NULL, name[64], *mod, how;
	size_t len = 0, vl, cut;
	FILE *f = open_memstream(&out, &len);
	const char *end, *v;
	bool ok = true;

	if (!f)
		return NULL;
	while (*in && ok) {
		if (in[0] != '$' || in[1] != '{') {
			fputc(*in++, f);
			continue;
		}
		end = strchr(in, '}');
		ok = end && (size_t)(end - in - 2) < sizeof(name);
		if (!ok)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(end - in - 2), in + 2);
		mod = strpbrk(name, "<>");
		how = mod ? *mod : 0;
		cut = mod ? strtoul(mod + 1, NULL, 10) : 0;
		if (mod)
			*mod = 0;
		v = lookup_path(w, name);
		ok = v != NULL;
		if (!ok)
			break;
		vl = strlen(v);
		if (how == '<' && cut < vl)
			fwrite(v, 1, cut, f);
		else if (how == '>' && cut < vl)
			fputs(v + vl - cut, f);
		else
			fputs(v, f);
		in = end + 1;
	}
	fclose(f);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

struct hand_exec {
	const char *pod, *slot; /* slot: a container name, "pod" or "pause" */
	const char *target, *caller;
	bool blocked;
};

struct hand_case {
	const char *id; /* stem of its file names */
	const char *files[3];
	struct hand_exec execs[12];
	bool bins;	 /* uses matchBinaries */
	bool over_limit; /* more selectors on one container than the kernel takes */
};

/* clang-format off */
#define BLOCKS(pod, slot, target, caller) { pod, slot, target, caller, true }
#define ALLOWS(pod, slot, target, caller) { pod, slot, target, caller, false }

#define TP_BEGIN(name) \
	"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: " name "}\nspec:\n"
#define PODS(sel) "  podSelector: " sel "\n"
#define HOOK(call)                                                                         \
	"  - call: " call "\n    syscall: false\n    args: [{index: 0, type: linux_binprm}]\n" \
	"    selectors:\n"
#define KPROBES	 "  kprobes:\n" HOOK("security_bprm_creds_for_exec")
#define ARGS(op, vals) "    - matchArgs: [{index: 0, operator: " op ", values: [" vals "]}]\n"
#define BINS(op, vals) "    - matchBinaries: [{operator: " op ", values: [" vals "]}]\n"
#define OVERRIDE "      matchActions: [{action: Override, argError: -1}]\n"
#define KILL	 "      matchActions: [{action: Sigkill}]\n"
#define POST	 "      matchActions: [{action: Post}]\n"
/* A policy with one selector on the exec path that denies. */
#define DENY_PATH(name, sel, op, vals) TP_BEGIN(name) PODS(sel) KPROBES ARGS(op, vals) OVERRIDE
#define WEB "{matchLabels: {app: web}}"
#define API "{matchLabels: {app: api}}"
#define NO_APP "{matchExpressions: [{key: app, operator: DoesNotExist}]}"
#define TPL_BEGIN(name, params)                                                              \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: " name "}\n" \
	"spec:\n  parameters: [" params "]\n"
/* The allowlist template of docs/policy.md. */
#define ALLOWLIST_TPL                                                                      \
	TPL_BEGIN("exec-allowlist", "{name: allowedExecs}") KPROBES                          \
	"    - matchArgs: [{index: 0, operator: NotEqual, valuesFrom: allowedExecs}]\n" OVERRIDE
#define BINDING(name, ns, tpl, rest)                                                        \
	"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata: {name: " name       \
	", namespace: " ns "}\nspec:\n  templateRef: " tpl "\n" rest
#define FIVE_SELECTORS                                                                      \
	ARGS("Equal", "${ls}") OVERRIDE ARGS("Equal", "${cat}") OVERRIDE                     \
	ARGS("Equal", "${sh}") OVERRIDE ARGS("Equal", "${als}") OVERRIDE                     \
	ARGS("Equal", "${nginx}") OVERRIDE

static const struct hand_case hand_cases[] = {
	{ "h-prefix-is-a-string-prefix",
	  { DENY_PATH("p", WEB, "Prefix", "${T}/usr/bin") },
	  { BLOCKS("web-1", "nginx", "binx-ls", "bash"), BLOCKS("web-1", "nginx", "ls", "bash"),
	    ALLOWS("web-1", "nginx", "server", "bash"), ALLOWS("api-1", "api", "ls", "bash") } },
	{ "h-prefix-with-a-slash",
	  { DENY_PATH("p", WEB, "Prefix", "${T}/usr/bin/") },
	  { ALLOWS("web-1", "nginx", "binx-ls", "bash"), BLOCKS("web-1", "nginx", "ls", "bash"),
	    BLOCKS("web-1", "nginx", "als", "bash") } },
	{ "h-prefix-whole-path-and-one-byte-more",
	  { DENY_PATH("p", WEB, "Prefix", "${ls}, ${cat}x") "---\n"
	    DENY_PATH("q", API, "Prefix", "${len48}") },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "nginx", "als", "bash"), BLOCKS("api-1", "api", "len48", "bash"),
	    BLOCKS("api-1", "api", "len49", "bash"), ALLOWS("api-1", "api", "len256", "bash") } },
	{ "h-prefix-root",
	  { DENY_PATH("p", WEB, "Prefix", "/") },
	  { BLOCKS("web-1", "nginx", "server", "bash"), BLOCKS("web-1", "nginx", "huge", "bash"),
	    BLOCKS("web-2", "debug", "long", "bash") } },
	{ "h-postfix-is-a-string-suffix",
	  { DENY_PATH("p", WEB, "Postfix", "ls") },
	  { BLOCKS("web-1", "nginx", "als", "bash"), BLOCKS("web-1", "nginx", "ls", "bash"),
	    BLOCKS("web-1", "nginx", "binx-ls", "bash"), ALLOWS("web-1", "nginx", "cat", "bash") } },
	{ "h-postfix-with-a-slash",
	  { DENY_PATH("p", WEB, "Postfix", "/ls") },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "nginx", "als", "bash"),
	    BLOCKS("web-1", "nginx", "binx-ls", "bash") } },
	{ "h-postfix-whole-path-and-one-byte-more",
	  { DENY_PATH("p", WEB, "Postfix", "${server}, x${sh}") },
	  { BLOCKS("web-1", "nginx", "server", "bash"), ALLOWS("web-1", "nginx", "sh", "bash"),
	    ALLOWS("web-1", "nginx", "server-debug", "bash") } },
	/* The per-workload allowlist of Tetragon's CFP-4191. */
	{ "h-allowlist",
	  { DENY_PATH("p", WEB, "NotEqual", "${ls}, ${cat}, ${server}") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "sidecar", "cat", "bash"),
	    BLOCKS("web-1", "nginx", "als", "bash"), BLOCKS("web-1", "nginx", "binx-ls", "bash"),
	    ALLOWS("web-2", "nginx", "server", "bash"),
	    BLOCKS("web-2", "nginx", "server-debug", "bash"),
	    ALLOWS("worker-1", "worker", "als", "bash") } },
	/*
	 * Three allowlists and a deny list on one workload: the engine puts a
	 * rule in front that looks the file up once in the allowlists'
	 * intersection ({ls, cat, len256}) and skips them; the deny list still acts.
	 */
	{ "h-allowlists-skipped-together",
	  { DENY_PATH("p", WEB, "NotEqual", "${ls}, ${cat}, ${server}, ${len256}, ${len48}") "---\n"
	    DENY_PATH("q", WEB, "NotEqual", "${ls}, ${cat}, ${sh}, ${len256}, ${len48}") "---\n"
	    DENY_PATH("r", WEB, "NotEqual", "${ls}, ${server}, ${sh}, ${cat}, ${len256}"),
	    DENY_PATH("s", WEB, "Equal", "${cat}") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), BLOCKS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "nginx", "len256", "bash"), BLOCKS("web-1", "nginx", "len48", "bash"),
	    BLOCKS("web-1", "nginx", "server", "bash"), BLOCKS("web-1", "nginx", "sh", "bash"),
	    BLOCKS("web-2", "debug", "als", "bash"), ALLOWS("api-1", "api", "ls", "bash") } },
	/* Exact values live in three maps by length: both sides of every boundary. */
	{ "h-exact-tiers",
	  { DENY_PATH("p", WEB, "NotEqual", "${len48}, ${len256}, ${len1024}") "---\n"
	    DENY_PATH("q", API, "Equal", "${len49}, ${len257}") },
	  { ALLOWS("web-1", "nginx", "len48", "bash"), BLOCKS("web-1", "nginx", "len49", "bash"),
	    ALLOWS("web-1", "nginx", "len256", "bash"), BLOCKS("web-1", "nginx", "len257", "bash"),
	    ALLOWS("web-1", "nginx", "len1024", "bash"), BLOCKS("web-1", "nginx", "len1025", "bash"),
	    BLOCKS("api-1", "api", "len49", "bash"), ALLOWS("api-1", "api", "len48", "bash"),
	    BLOCKS("api-1", "api", "len257", "bash"), ALLOWS("api-1", "api", "len256", "bash") } },
	/* Prefix and postfix values hold at most 252 bytes; paths may be longer. */
	{ "h-affixes-of-long-paths",
	  { DENY_PATH("p", WEB, "Prefix", "${long<252}") "---\n"
	    DENY_PATH("q", API, "Postfix", "${long>252}") },
	  { BLOCKS("web-1", "nginx", "long", "bash"), BLOCKS("web-1", "nginx", "long-x", "bash"),
	    ALLOWS("web-1", "nginx", "long-c", "bash"), BLOCKS("api-1", "api", "long", "bash"),
	    ALLOWS("api-1", "api", "long-x", "bash"), ALLOWS("api-1", "api", "long-c", "bash") } },
	/* A path longer than PF_EXACT_MAX equals no value: an allowlist blocks it. */
	{ "h-exact-long-paths",
	  { DENY_PATH("p", "{matchLabels: {app: worker}}", "Equal", "${long}") "---\n"
	    DENY_PATH("q", NO_APP, "NotEqual", "${ls}") },
	  { BLOCKS("worker-1", "worker", "long", "bash"),
	    ALLOWS("worker-1", "worker", "long-x", "bash"),
	    ALLOWS("worker-1", "worker", "long-c", "bash"), BLOCKS("tool-1", "tool", "huge", "bash"),
	    ALLOWS("tool-1", "tool", "ls", "bash"), BLOCKS("tool-1", "tool", "len1025", "bash") } },
	/* Within a hook the first matching selector acts, even when it only posts. */
	{ "h-first-matching-selector-acts",
	  { TP_BEGIN("p") PODS(WEB) KPROBES ARGS("Prefix", "${T}/usr/bin") POST
		ARGS("Equal", "${ls}") OVERRIDE ARGS("Equal", "${server}") OVERRIDE },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "nginx", "cat", "bash"),
	    BLOCKS("web-1", "nginx", "server", "bash") } },
	/* Hook entries of one policy are independent. */
	{ "h-hook-entries-are-independent",
	  { TP_BEGIN("p") PODS(WEB) KPROBES ARGS("Prefix", "${T}/usr/bin") POST
		HOOK("security_bprm_check") ARGS("Equal", "${ls}") OVERRIDE
		"  lsmhooks:\n  - hook: bprm_check_security\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n"
		ARGS("Equal", "${cat}") OVERRIDE },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), BLOCKS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "nginx", "als", "bash") } },
	{ "h-monitor-mode-blocks-nothing",
	  { TP_BEGIN("p") PODS(WEB) "  options: [{name: policy-mode, value: monitor}]\n" KPROBES
		ARGS("Prefix", "/") OVERRIDE },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), ALLOWS("web-2", "nginx", "server", "bash") } },
	{ "h-sigkill",
	  { TP_BEGIN("p") PODS(WEB) KPROBES ARGS("Postfix", "cat") KILL },
	  { BLOCKS("web-1", "nginx", "cat", "bash"), ALLOWS("web-1", "nginx", "ls", "bash") } },
	/* Policies applying to one container each decide: any of them blocks. */
	{ "h-two-policies-on-one-pod",
	  { DENY_PATH("p", WEB, "Equal", "${ls}") "---\n"
	    DENY_PATH("q", "{matchLabels: {tier: frontend}}", "Equal", "${cat}") },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), BLOCKS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "nginx", "als", "bash"), BLOCKS("web-2", "nginx", "ls", "bash"),
	    ALLOWS("web-2", "nginx", "cat", "bash") } },
	{ "h-conditions-are-anded",
	  { TP_BEGIN("p") PODS(WEB) KPROBES
		"    - matchArgs:\n"
		"      - {index: 0, operator: Prefix, values: [${T}/usr/bin]}\n"
		"      - {index: 0, operator: NotPostfix, values: [ls]}\n" OVERRIDE },
	  { BLOCKS("web-1", "nginx", "cat", "bash"), ALLOWS("web-1", "nginx", "ls", "bash"),
	    ALLOWS("web-1", "nginx", "als", "bash"), ALLOWS("web-1", "nginx", "server", "bash") } },
	{ "h-container-selector",
	  { TP_BEGIN("p") PODS(WEB)
		"  containerSelector:\n"
		"    matchExpressions: [{key: name, operator: In, values: [nginx]}]\n"
		KPROBES ARGS("Prefix", "/") OVERRIDE "---\n"
	    TP_BEGIN("q") PODS(API) "  containerSelector: {matchLabels: {name: sidecar}}\n"
		KPROBES ARGS("Prefix", "/") OVERRIDE },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "sidecar", "ls", "bash"),
	    BLOCKS("web-2", "nginx", "ls", "bash"), ALLOWS("web-2", "debug", "ls", "bash"),
	    /* a cgroup of no known container may be nginx: held to nginx's policy too */
	    BLOCKS("web-1", "pod", "ls", "bash"), BLOCKS("web-1", "pause", "ls", "bash"),
	    BLOCKS("api-1", "sidecar", "ls", "bash"), ALLOWS("api-1", "api", "ls", "bash") } },
	/* Cgroups of the pod that belong to no known container get its pod-wide policies. */
	{ "h-pod-level-cgroups",
	  { DENY_PATH("p", API, "Prefix", "/") },
	  { BLOCKS("api-1", "pod", "ls", "bash"), BLOCKS("api-1", "pause", "ls", "bash"),
	    BLOCKS("api-1", "api", "ls", "bash"), ALLOWS("web-1", "pod", "ls", "bash") } },
	{ "h-namespaced",
	  { "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n"
	    "metadata: {name: p, namespace: shop}\nspec:\n" PODS(WEB) KPROBES ARGS("Prefix", "/")
		OVERRIDE },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), ALLOWS("web-2", "nginx", "ls", "bash"),
	    ALLOWS("worker-1", "worker", "ls", "bash") } },
	{ "h-match-expressions",
	  { DENY_PATH("p", "{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}",
		      "Equal", "${ls}") "---\n"
	    DENY_PATH("q", "{matchExpressions: [{key: tier, operator: Exists}, "
			   "{key: env, operator: DoesNotExist}]}", "Equal", "${cat}") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), BLOCKS("api-1", "api", "ls", "bash"),
	    BLOCKS("worker-1", "worker", "ls", "bash"), BLOCKS("tool-1", "tool", "ls", "bash"),
	    BLOCKS("api-1", "api", "cat", "bash"), ALLOWS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("tool-1", "tool", "cat", "bash"), ALLOWS("worker-1", "worker", "cat", "bash") } },
	/* An empty podSelector selects every pod, and so does none (as in Tetragon). */
	{ "h-every-pod",
	  { DENY_PATH("p", "{}", "Equal", "${ls}") "---\n"
	    TP_BEGIN("q") KPROBES ARGS("Equal", "${cat}") OVERRIDE },
	  { BLOCKS("tool-1", "tool", "ls", "bash"), BLOCKS("worker-1", "worker", "ls", "bash"),
	    BLOCKS("tool-1", "tool", "cat", "bash"), BLOCKS("api-1", "pod", "cat", "bash"),
	    ALLOWS("web-2", "debug", "als", "bash") } },
	{ "h-match-binaries-in",
	  { TP_BEGIN("p") PODS(WEB) KPROBES BINS("In", "${bash}") OVERRIDE "---\n"
	    TP_BEGIN("q") PODS(API) KPROBES BINS("NotIn", "${python3}, ${runner}") OVERRIDE },
	  { BLOCKS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "nginx", "ls", "python3"),
	    ALLOWS("web-1", "nginx", "ls", "runner"), BLOCKS("api-1", "api", "ls", "bash"),
	    ALLOWS("api-1", "api", "ls", "python3"), ALLOWS("api-1", "api", "ls", "runner"),
	    BLOCKS("api-1", "api", "ls", "python3.11") },
	  .bins = true },
	{ "h-match-binaries-affixes",
	  { TP_BEGIN("p") PODS("{matchLabels: {app: worker}}") KPROBES
		BINS("Prefix", "${T}/usr/bin/python3") OVERRIDE "---\n"
	    TP_BEGIN("q") PODS("{matchLabels: {tier: frontend}}") KPROBES
		BINS("Postfix", "/python3") OVERRIDE "---\n"
	    TP_BEGIN("r") PODS(NO_APP) KPROBES BINS("Prefix", "${long-runner<252}") OVERRIDE "---\n"
	    TP_BEGIN("s") PODS(API) KPROBES BINS("Postfix", "${long-runner>252}") OVERRIDE },
	  { BLOCKS("worker-1", "worker", "ls", "python3"),
	    BLOCKS("worker-1", "worker", "ls", "python3.11"),
	    ALLOWS("worker-1", "worker", "ls", "bash"), BLOCKS("web-1", "nginx", "ls", "python3"),
	    ALLOWS("web-1", "nginx", "ls", "python3.11"),
	    BLOCKS("tool-1", "tool", "ls", "long-runner"), ALLOWS("tool-1", "tool", "ls", "bash"),
	    BLOCKS("api-1", "api", "ls", "long-runner"), ALLOWS("api-1", "api", "ls", "runner") },
	  .bins = true },
	/* The calling binary's path is looked up in the same exact tiers: both sides of each. */
	{ "h-match-binaries-exact-tiers",
	  { TP_BEGIN("p") PODS(WEB) KPROBES BINS("In", "${c48}, ${c256}, ${c1024}") OVERRIDE "---\n"
	    TP_BEGIN("q") PODS(API) KPROBES BINS("NotIn", "${bash}, ${c1024}") OVERRIDE },
	  { BLOCKS("web-1", "nginx", "ls", "c48"), ALLOWS("web-1", "nginx", "ls", "c49"),
	    BLOCKS("web-1", "nginx", "ls", "c256"), ALLOWS("web-1", "nginx", "ls", "c257"),
	    BLOCKS("web-1", "nginx", "ls", "c1024"), ALLOWS("web-1", "nginx", "ls", "c1025"),
	    ALLOWS("api-1", "api", "ls", "bash"), ALLOWS("api-1", "api", "ls", "c1024"),
	    BLOCKS("api-1", "api", "ls", "c1025"), BLOCKS("api-1", "api", "ls", "huge-runner") },
	  .bins = true },
	{ "h-match-binaries-and-args",
	  { TP_BEGIN("p") PODS(WEB) KPROBES ARGS("Equal", "${cat}")
		"      matchBinaries: [{operator: In, values: [${python3}]}]\n" OVERRIDE },
	  { BLOCKS("web-1", "nginx", "cat", "python3"), ALLOWS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "nginx", "ls", "python3") },
	  .bins = true },
	/* Bindings of one template selecting one container: their values are united. */
	{ "h-tpl-bindings-unite",
	  { ALLOWLIST_TPL,
	    BINDING("b1", "shop", "exec-allowlist", PODS(WEB) "  values: {allowedExecs: [${ls}]}\n")
	    "---\n"
	    BINDING("b2", "shop", "exec-allowlist", PODS("{matchLabels: {tier: frontend}}")
		    "  values: {allowedExecs: [${cat}]}\n") "---\n"
	    BINDING("b3", "ops", "exec-allowlist", PODS(WEB)
		    "  values: {allowedExecs: [${server}]}\n") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), ALLOWS("web-1", "sidecar", "cat", "bash"),
	    BLOCKS("web-1", "nginx", "als", "bash"), ALLOWS("web-2", "nginx", "server", "bash"),
	    BLOCKS("web-2", "debug", "ls", "bash"), ALLOWS("api-1", "api", "als", "bash") } },
	{ "h-tpl-bindings-per-container",
	  { ALLOWLIST_TPL "---\n"
	    BINDING("b1", "shop", "exec-allowlist", PODS(WEB)
		    "  containers: [nginx]\n  values: {allowedExecs: [${ls}]}\n") "---\n"
	    BINDING("b2", "shop", "exec-allowlist", PODS(WEB)
		    "  containers: [sidecar]\n  values: {allowedExecs: [${cat}]}\n") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), BLOCKS("web-1", "nginx", "cat", "bash"),
	    ALLOWS("web-1", "sidecar", "cat", "bash"), BLOCKS("web-1", "sidecar", "ls", "bash"),
	    /* not identified yet: both instances apply, each forbids what the other allows */
	    BLOCKS("web-1", "pod", "als", "bash"), BLOCKS("web-1", "pause", "ls", "bash"),
	    BLOCKS("web-1", "pod", "cat", "bash") } },
	/* A binding without its template, and a template without bindings: nothing. */
	{ "h-tpl-missing-template",
	  { BINDING("b1", "shop", "nope", PODS(WEB) "  values: {allowedExecs: [${ls}]}\n"),
	    ALLOWLIST_TPL },
	  { ALLOWS("web-1", "nginx", "als", "bash"), ALLOWS("web-1", "nginx", "ls", "bash") } },
	/*
	 * A binding its template refuses takes no part; the others keep
	 * enforcing. d1 was the only no-dirs binding of api-1's containers: they
	 * are known to need the template and fail closed (every exec denied).
	 */
	{ "h-tpl-refused-bindings",
	  { ALLOWLIST_TPL "---\n" TPL_BEGIN("no-dirs", "{name: dirs}") KPROBES
		"    - matchArgs: [{index: 0, operator: Prefix, valuesFrom: dirs}]\n" OVERRIDE,
	    BINDING("b1", "shop", "exec-allowlist", PODS(WEB)
		    "  values: {allowedExecs: [${ls}], bogus: [${ls}]}\n") "---\n"
	    BINDING("b2", "shop", "exec-allowlist", PODS(WEB)
		    "  values: {allowedExecs: [${cat}]}\n") "---\n"
	    BINDING("d1", "shop", "no-dirs", PODS(API) "  values: {dirs: [${long}]}\n") "---\n"
	    BINDING("d2", "ops", "no-dirs", PODS("{matchLabels: {app: worker}}")
		    "  values: {dirs: [${T}/opt/]}\n") },
	  { ALLOWS("web-1", "nginx", "cat", "bash"), BLOCKS("web-1", "nginx", "ls", "bash"),
	    BLOCKS("web-1", "nginx", "als", "bash"), BLOCKS("api-1", "api", "long", "bash"),
	    BLOCKS("api-1", "api", "server", "bash"), BLOCKS("worker-1", "worker", "server", "bash"),
	    ALLOWS("worker-1", "worker", "ls", "bash") } },
	/* No values for an allowlist: NotEqual holds for every exec. */
	{ "h-tpl-empty-values",
	  { ALLOWLIST_TPL "---\n"
	    BINDING("b1", "shop", "exec-allowlist", PODS(API) "  values: {allowedExecs: []}\n")
	    "---\n"
	    BINDING("b2", "ops", "exec-allowlist", PODS("{matchLabels: {app: worker}}")
		    "  values: {}\n") },
	  { BLOCKS("api-1", "api", "ls", "bash"), BLOCKS("api-1", "sidecar", "cat", "bash"),
	    BLOCKS("worker-1", "worker", "ls", "bash"), ALLOWS("web-1", "nginx", "ls", "bash") } },
	{ "h-tpl-monitor-and-fixed-values",
	  { TPL_BEGIN("watch", "{name: execs}") "  mode: monitor\n" KPROBES
		"    - matchArgs: [{index: 0, operator: NotEqual, valuesFrom: execs}]\n" OVERRIDE
		"---\n"
	    TPL_BEGIN("fixed", "{name: execs}") KPROBES
		"    - matchArgs: [{index: 0, operator: NotEqual, valuesFrom: execs, "
		"values: [${ls}]}]\n" OVERRIDE,
	    BINDING("w", "shop", "watch", PODS(WEB) "  values: {execs: []}\n") "---\n"
	    BINDING("f", "ops", "fixed", PODS("{matchLabels: {app: worker}}")
		    "  values: {execs: [${cat}]}\n") },
	  { ALLOWS("web-1", "nginx", "als", "bash"), ALLOWS("worker-1", "worker", "ls", "bash"),
	    ALLOWS("worker-1", "worker", "cat", "bash"), BLOCKS("worker-1", "worker", "als", "bash") } },
	/* A template instance and a tracing policy on one container: either blocks. */
	{ "h-tpl-next-to-a-tracing-policy",
	  { ALLOWLIST_TPL "---\n"
	    BINDING("b1", "shop", "exec-allowlist", PODS(WEB)
		    "  values: {allowedExecs: [${ls}, ${cat}]}\n") "---\n"
	    DENY_PATH("p", "{matchLabels: {tier: frontend}}", "Equal", "${cat}") },
	  { ALLOWS("web-1", "nginx", "ls", "bash"), BLOCKS("web-1", "nginx", "cat", "bash"),
	    BLOCKS("web-1", "nginx", "als", "bash") } },
	/*
	 * 20 selectors on one pod: more than PF_MAX_RULES. The engine must say so,
	 * and the pod, which had no rules it could keep, fails closed: every exec
	 * of its containers is denied (the execs say what the kernel does).
	 */
	{ "h-over-the-rule-limit",
	  { TP_BEGIN("p") PODS(NO_APP) KPROBES FIVE_SELECTORS HOOK("security_bprm_check")
		FIVE_SELECTORS "  lsmhooks:\n  - hook: bprm_check_security\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n" FIVE_SELECTORS
		"  - hook: bprm_creds_for_exec\n"
		"    args: [{index: 0, type: linux_binprm}]\n    selectors:\n" FIVE_SELECTORS },
	  { BLOCKS("tool-1", "tool", "ls", "bash"), BLOCKS("tool-1", "pod", "ls", "bash") },
	  .over_limit = true },
};
/* clang-format on */

static int find_name(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static bool hand_query(const struct hand_exec *h, struct query *q)
{
	q->pod = -1;
	for (size_t p = 0; p < N_PODS; p++)
		if (strcmp(fleet[p].name, h->pod) == 0)
			q->pod = p;
	if (!ASSERT_GE(q->pod, 0, h->pod))
		return false;
	q->slot = find_name(fleet[q->pod].containers, n_containers(q->pod), h->slot);
	if (strcmp(h->slot, "pod") == 0)
		q->slot = SLOT_POD;
	else if (strcmp(h->slot, "pause") == 0)
		q->slot = SLOT_PAUSE;
	else if (!ASSERT_GE(q->slot, 0, h->slot))
		return false;
	q->target = find_name(target_names, N_TARGETS, h->target);
	q->caller = find_name(caller_names, N_CALLERS, h->caller);
	return ASSERT_GE(q->target, 0, h->target) && ASSERT_GE(q->caller, 0, h->caller);
}

static void run_hand_case(struct world *w, const struct hand_case *hc)
{
	struct scenario sc = {};
	struct pf_engine_counts c;
	struct query q;

	snprintf(sc.name, sizeof(sc.name), "%s", hc->id);
	sc.changed = -1;
	for (size_t i = 0; i < 3 && hc->files[i]; i++) {
		sc.yaml[i] = expand(w, hc->files[i]);
		if (!ASSERT_NOT_NULL(sc.yaml[i], hc->id))
			goto out;
		sc.n_files++;
	}
	if (!scenario_load(w, &sc))
		goto out;
	if (hc->over_limit) {
		/*
		 * Its rules are not in the kernel, so there is nothing to compare:
		 * the pod is reported and, with no rules to keep, denies every exec.
		 */
		printf("     (%s: the engine error above is expected)\n", hc->id);
		pf_engine_counts(w->e, &c);
		ASSERT_EQ(c.workload_errors, 1, "pod with more selectors than PF_MAX_RULES");
		for (size_t i = 0; i < sizeof(hc->execs) / sizeof(hc->execs[0]) && hc->execs[i].pod;
		     i++) {
			bool blocked = true;
			char how[32];

			if (hand_query(&hc->execs[i], &q) &&
			    ASSERT_OK(kernel_exec(w->procs[q.pod][slot_index(q.slot)],
						  w->callers[q.caller], w->targets[q.target],
						  &blocked, how, sizeof(how)),
				      how))
				ASSERT_EQ(blocked, hc->execs[i].blocked, hc->execs[i].target);
		}
		goto out;
	}
	if (!scenario_engine_ok(w, &sc))
		goto out;
	for (size_t i = 0; i < sizeof(hc->execs) / sizeof(hc->execs[0]) && hc->execs[i].pod; i++)
		if (hand_query(&hc->execs[i], &q))
			check_case(w, &sc, &q, hc->execs[i].blocked);
out:
	scenario_unload(w, &sc);
}

/* ---- generated cases ------------------------------------------------------ */

/* splitmix64: tiny, and the same sequence everywhere for a seed. */
static uint64_t rnd(struct world *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned below(struct world *w, unsigned n)
{
	return rnd(w) % n;
}

static bool chance(struct world *w, unsigned percent)
{
	return below(w, 100) < percent;
}

static const struct {
	const char *key;
	const char *values[3];
} vocab[] = {
    {"app", {"web", "api", "worker"}},
    {"tier", {"frontend", "backend"}},
    {"env", {"prod", "dev"}},
    {"team", {"red"}}, /* on no pod */
};
#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))

static const char *vocab_value(struct world *w, unsigned k)
{
	unsigned n = 0;

	while (n < 3 && vocab[k].values[n])
		n++;
	return vocab[k].values[below(w, n)];
}

/* Index of a random '/' of s[1..cap), 0 if none. */
static size_t some_slash(struct world *w, const char *s, size_t cap)
{
	size_t pos[PF_AFFIX_MAX], n = 0;

	for (size_t i = 1; i < cap; i++)
		if (s[i] == '/')
			pos[n++] = i;
	return n ? pos[below(w, n)] : 0;
}

/*
 * A value for an operator: derived from the paths the cases exec (or call
 * from), cut where matching is decided: whole, one byte short or long,
 * at a directory boundary (with and without its slash), at the 252-byte
 * affix limit, anywhere.
 */
static void gen_value(struct world *w, bool caller, enum pf_match m, char *out, size_t len)
{
	const char *s, *base;
	size_t n, cap, at;

	do
		s = caller ? w->callers[below(w, N_CALLERS)] : w->targets[below(w, N_TARGETS)];
	while (m == PF_MATCH_EXACT && strlen(s) > PF_EXACT_MAX);
	n = strlen(s);
	cap = n < PF_AFFIX_MAX ? n : PF_AFFIX_MAX;
	base = strrchr(s, '/') + 1;
	switch (m) {
	case PF_MATCH_EXACT:
		switch (below(w, 10)) {
		case 0:
			snprintf(out, len, "%.*s", (int)n - 1, s);
			break;
		case 1:
			snprintf(out, len, n < PF_EXACT_MAX ? "%sx" : "%s", s);
			break;
		case 2:
			snprintf(out, len, "%.*s", (int)(base - 1 - s), s);
			break;
		default:
			snprintf(out, len, "%s", s);
		}
		break;
	case PF_MATCH_PREFIX:
		switch (below(w, 10)) {
		case 0:
			snprintf(out, len, "/");
			break;
		case 1:
			snprintf(out, len, "%s", w->root);
			break;
		case 2:
			/* one byte more than the whole path, when that fits */
			if (n < PF_AFFIX_MAX) {
				snprintf(out, len, "%sx", s);
				break;
			}
			/* fall through */
		case 3:
			snprintf(out, len, "%.*s", (int)cap, s);
			break;
		case 4:
		case 5:
			at = some_slash(w, s, cap);
			snprintf(out, len, "%.*s", (int)(at ? at + below(w, 2) : 1), s);
			break;
		default:
			snprintf(out, len, "%.*s", 1 + (int)below(w, cap), s);
		}
		break;
	default:
		switch (below(w, 10)) {
		case 0:
			snprintf(out, len, "%s", base);
			break;
		case 1:
			snprintf(out, len, "/%s", base);
			break;
		case 2:
			/* one byte more than the whole path, when that fits */
			snprintf(out, len, n < PF_AFFIX_MAX ? "x%s" : "%s", s + n - cap);
			break;
		case 3:
			snprintf(out, len, "%s", s + n - cap);
			break;
		case 4:
			at = some_slash(w, s + n - cap, cap);
			snprintf(out, len, "%s", s + n - cap + at);
			break;
		default:
			snprintf(out, len, "%s", s + n - 1 - below(w, cap));
		}
	}
}

static const char *const arg_ops[] = {"Equal",	   "NotEqual", "Prefix",
				      "NotPrefix", "Postfix",  "NotPostfix"};
static const char *const bin_ops[] = {"In",	   "NotIn",   "Prefix",
				      "NotPrefix", "Postfix", "NotPostfix"};
/* Operator i matches with op_match[i]; odd operators are the negated ones. */
static const enum pf_match op_match[] = {PF_MATCH_EXACT,  PF_MATCH_EXACT,  PF_MATCH_PREFIX,
					 PF_MATCH_PREFIX, PF_MATCH_SUFFIX, PF_MATCH_SUFFIX};

/*
 * A template's parameters, each used with one subject and one kind of
 * match, so that its bindings can be given values that may match.
 */
struct tpl_gen {
	unsigned n_params;
	bool caller[2];
	enum pf_match match[2];
};
static const char *const param_names[] = {"execs", "more"};

static void gen_values(FILE *f, struct world *w, bool caller, enum pf_match m, unsigned n)
{
	char v[PF_EXACT_MAX + 8];

	for (unsigned i = 0; i < n; i++) {
		gen_value(w, caller, m, v, sizeof(v));
		fprintf(f, "%s\"%s\"", i ? ", " : "", v);
	}
}

/* One condition; param >= 0: its values come from that parameter of template t (too). */
static void gen_cond(FILE *f, struct world *w, bool caller, const struct tpl_gen *t, int param)
{
	unsigned op =
	    param >= 0 ? 2 * (t->match[param] - PF_MATCH_EXACT) + below(w, 2) : below(w, 6);

	fprintf(f, "      - {%soperator: %s", caller ? "" : "index: 0, ",
		(caller ? bin_ops : arg_ops)[op]);
	if (param >= 0)
		fprintf(f, ", valuesFrom: %s", param_names[param]);
	/* A template's fixed values apply to every instance, next to the parameter's. */
	if (param < 0 || chance(w, 30)) {
		fprintf(f, ", values: [");
		gen_values(f, w, caller, op_match[op], 1 + below(w, param < 0 ? 3 : 2));
		fprintf(f, "]");
	}
	fprintf(f, "}\n");
}

/* 0-3 conditions on the exec path and the caller, then actions. */
static void gen_selector(FILE *f, struct world *w, bool bins, const struct tpl_gen *t)
{
	unsigned n = chance(w, 5) ? 0 : 1 + below(w, 3), n_bins = 0, a = below(w, 100);
	const char *lead = "    - ";
	struct {
		bool caller;
		int param;
	} c[3];

	for (unsigned i = 0; i < n; i++) {
		c[i].param = t && chance(w, 60) ? (int)below(w, t->n_params) : -1;
		c[i].caller = c[i].param >= 0 ? t->caller[c[i].param] : bins && chance(w, 35);
		n_bins += c[i].caller;
	}
	if (n > n_bins) {
		fprintf(f, "%smatchArgs:\n", lead);
		lead = "      ";
		for (unsigned i = 0; i < n; i++)
			if (!c[i].caller)
				gen_cond(f, w, false, t, c[i].param);
	}
	if (n_bins) {
		fprintf(f, "%smatchBinaries:\n", lead);
		lead = "      ";
		for (unsigned i = 0; i < n; i++)
			if (c[i].caller)
				gen_cond(f, w, true, t, c[i].param);
	}
	fprintf(f, "%smatchActions: %s\n", lead,
		a < 45	 ? "[{action: Override, argError: -1}]"
		: a < 60 ? "[{action: Sigkill}]"
		: a < 85 ? "[{action: Post}]"
			 : "[{action: Override, argError: -1}, {action: Post}]");
}

static void gen_pod_selector(FILE *f, struct world *w)
{
	static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
	unsigned k = below(w, 100), a, b, n, op;
	bool labels, exprs;

	if (k < 20)
		return; /* no podSelector: every pod (of the namespace, for a binding) */
	if (k < 25) {
		fprintf(f, "  podSelector: {}\n");
		return;
	}
	labels = chance(w, 60);
	exprs = !labels || chance(w, 40);
	fprintf(f, "  podSelector:\n");
	if (labels) {
		a = below(w, N_VOCAB);
		fprintf(f, "    matchLabels: {%s: %s", vocab[a].key, vocab_value(w, a));
		b = below(w, N_VOCAB);
		if (b != a && chance(w, 40))
			fprintf(f, ", %s: %s", vocab[b].key, vocab_value(w, b));
		fprintf(f, "}\n");
	}
	if (!exprs)
		return;
	fprintf(f, "    matchExpressions:\n");
	n = 1 + below(w, 2);
	for (unsigned i = 0; i < n; i++) {
		a = below(w, N_VOCAB);
		op = below(w, 4);
		fprintf(f, "    - {key: %s, operator: %s", vocab[a].key, ops[op]);
		if (op < 2) {
			fprintf(f, ", values: [%s", vocab_value(w, a));
			if (chance(w, 40))
				fprintf(f, ", %s", vocab_value(w, a));
			fprintf(f, "]");
		}
		fprintf(f, "}\n");
	}
}

static const char *const container_names[] = {"nginx", "sidecar", "api",  "worker",
					      "debug", "tool",	  "ghost"};
#define N_CONTAINER_NAMES (sizeof(container_names) / sizeof(container_names[0]))

static void gen_container_selector(FILE *f, struct world *w)
{
	if (chance(w, 40)) {
		fprintf(f, "  containerSelector: {matchLabels: {name: %s}}\n",
			container_names[below(w, N_CONTAINER_NAMES)]);
		return;
	}
	fprintf(f,
		"  containerSelector:\n    matchExpressions:\n"
		"    - {key: name, operator: In, values: [%s",
		container_names[below(w, N_CONTAINER_NAMES)]);
	if (chance(w, 50))
		fprintf(f, ", %s", container_names[below(w, N_CONTAINER_NAMES)]);
	fprintf(f, "]}\n");
}

/* 1-2 exec hook entries of 1-3 selectors, using at most *budget selectors (at least one). */
static void gen_hooks(FILE *f, struct world *w, unsigned *budget, bool bins,
		      const struct tpl_gen *t)
{
	static const char *const kprobes[] = {"security_bprm_creds_for_exec",
					      "security_bprm_check"};
	static const char *const lsmhooks[] = {"bprm_check_security", "bprm_creds_for_exec"};
	unsigned n_hooks = *budget >= 2 && chance(w, 25) ? 2 : 1, sels[2];
	bool lsm[2];

	for (unsigned h = 0; h < n_hooks; h++) {
		unsigned left = *budget - (n_hooks - 1 - h); /* one for each later hook */

		sels[h] = 1 + below(w, 3);
		if (sels[h] > left)
			sels[h] = left;
		*budget -= sels[h];
		lsm[h] = chance(w, 50);
	}
	/* Both kinds of hook entries may be used by one policy. */
	for (int kind = 0; kind < 2; kind++) {
		bool header = false;

		for (unsigned h = 0; h < n_hooks; h++) {
			if (lsm[h] != kind)
				continue;
			if (!header)
				fprintf(f, kind ? "  lsmhooks:\n" : "  kprobes:\n");
			header = true;
			if (kind)
				fprintf(f, "  - hook: %s\n", lsmhooks[below(w, 2)]);
			else
				fprintf(f, "  - call: %s\n    syscall: false\n",
					kprobes[below(w, 2)]);
			fprintf(
			    f, "    args:\n    - {index: 0, type: linux_binprm}\n    selectors:\n");
			for (unsigned s = 0; s < sels[h]; s++)
				gen_selector(f, w, bins, t);
		}
	}
}

static void gen_tracing_policy(FILE *f, struct world *w, const char *name, unsigned *budget,
			       bool bins)
{
	static const char *const namespaces[] = {"shop", "ops", "default", "elsewhere"};

	if (chance(w, 30))
		fprintf(f,
			"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n"
			"metadata:\n  name: %s\n  namespace: %s\nspec:\n",
			name, namespaces[below(w, 4)]);
	else
		fprintf(f,
			"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
			"metadata:\n  name: %s\nspec:\n",
			name);
	gen_pod_selector(f, w);
	if (chance(w, 25))
		gen_container_selector(f, w);
	if (chance(w, 20))
		fprintf(f, "  options:\n  - {name: policy-mode, value: %s}\n",
			chance(w, 75) ? "monitor" : "enforce");
	gen_hooks(f, w, budget, bins, NULL);
}

static void gen_template(FILE *f, struct world *w, const char *name, unsigned *budget, bool bins,
			 struct tpl_gen *t)
{
	t->n_params = 1 + below(w, 2);
	for (unsigned i = 0; i < t->n_params; i++) {
		unsigned m = below(w, 10);

		t->caller[i] = bins && chance(w, 30);
		t->match[i] = m < 5 ? PF_MATCH_EXACT : m < 8 ? PF_MATCH_PREFIX : PF_MATCH_SUFFIX;
	}
	fprintf(f,
		"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata:\n"
		"  name: %s\nspec:\n",
		name);
	if (chance(w, 15))
		fprintf(f, "  mode: monitor\n");
	fprintf(f, "  parameters:\n");
	for (unsigned i = 0; i < t->n_params; i++)
		fprintf(f, "  - {name: %s}\n", param_names[i]);
	gen_hooks(f, w, budget, bins, t);
}

/*
 * A binding of template `tpl` (described by t). Sometimes one its template
 * refuses, which must then take no part: a parameter the template lacks, or a
 * value longer than PF_AFFIX_MAX for a Prefix/Postfix parameter.
 */
static void gen_binding(FILE *f, struct world *w, const char *name, const char *tpl,
			const struct tpl_gen *t)
{
	static const char *const namespaces[] = {"shop", "ops", "default"};
	bool give[2], any = false, bogus = chance(w, 8);
	int too_long = -1;

	fprintf(f,
		"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata:\n"
		"  name: %s\n  namespace: %s\nspec:\n  templateRef: %s\n",
		name, namespaces[below(w, 3)], tpl);
	gen_pod_selector(f, w);
	if (chance(w, 30)) {
		fprintf(f, "  containers: [%s", container_names[below(w, N_CONTAINER_NAMES)]);
		if (chance(w, 40))
			fprintf(f, ", %s", container_names[below(w, N_CONTAINER_NAMES)]);
		fprintf(f, "]\n");
	}
	for (unsigned i = 0; i < t->n_params; i++) {
		give[i] = chance(w, 85);
		any |= give[i];
		if (give[i] && t->match[i] != PF_MATCH_EXACT && too_long < 0 && chance(w, 8))
			too_long = i;
	}
	if (!any && !bogus) {
		fprintf(f, "  values: {}\n");
		return;
	}
	fprintf(f, "  values:\n");
	for (unsigned i = 0; i < t->n_params; i++) {
		unsigned n = below(w, 4); /* none too: an empty list */

		if (!give[i])
			continue;
		fprintf(f, "    %s: [", param_names[i]);
		gen_values(f, w, t->caller[i], t->match[i], n);
		if (too_long == (int)i)
			fprintf(f, "%s\"%s\"", n ? ", " : "",
				t->caller[i] ? w->callers[C_LONG_RUNNER] : w->targets[T_LONG]);
		fprintf(f, "]\n");
	}
	if (bogus)
		fprintf(f, "    bogus: [\"%s\"]\n", w->targets[T_LS]);
}

/*
 * Adds a document using `used` selectors: to file `into`, or (into < 0) to a
 * new file or, sometimes, the last one.
 */
static bool add_doc(struct world *w, struct scenario *sc, char *doc, unsigned used, int into)
{
	size_t i;
	char *joined;

	if (!ASSERT_NOT_NULL(doc, "document"))
		return false;
	if (into < 0 && (sc->n_files == 0 || (sc->n_files < MAX_FILES && !chance(w, 30))))
		into = sc->n_files++;
	i = into < 0 ? sc->n_files - 1 : (size_t)into;
	sc->used[i] += used;
	if (!sc->yaml[i]) {
		sc->yaml[i] = doc;
		return true;
	}
	joined = fmt_alloc("%s---\n%s", sc->yaml[i], doc);
	free(doc);
	if (!ASSERT_NOT_NULL(joined, "document"))
		return false;
	free(sc->yaml[i]);
	sc->yaml[i] = joined;
	return true;
}

/*
 * 1-4 tracing policies or templates (with 1-3 bindings each, and sometimes a
 * binding whose template does not exist), named after tag, using at most
 * *budget selectors in all.
 */
static bool gen_objects(struct world *w, struct scenario *sc, const char *tag, unsigned *budget,
			bool bins, int into)
{
	/* What a binding of a missing template would fill: exact paths. */
	static const struct tpl_gen missing = {1, {false}, {PF_MATCH_EXACT}};
	unsigned n = 1 + below(w, 4), before;
	char name[64], tname[48], *doc;
	size_t len;
	FILE *f;

	for (unsigned i = 0; i < n && *budget != 0; i++) {
		struct tpl_gen t;
		unsigned n_bindings;

		f = open_memstream(&doc, &len);
		if (!ASSERT_NOT_NULL(f, "memstream"))
			return false;
		before = *budget;
		if (chance(w, 60)) {
			snprintf(name, sizeof(name), "%s-p%u", tag, i);
			gen_tracing_policy(f, w, name, budget, bins);
			fclose(f);
			if (!add_doc(w, sc, doc, before - *budget, into))
				return false;
			continue;
		}
		w->gen_templates++;
		snprintf(tname, sizeof(tname), "%s-t%u", tag, i);
		gen_template(f, w, tname, budget, bins, &t);
		fclose(f);
		if (!add_doc(w, sc, doc, before - *budget, into))
			return false;
		n_bindings = 1 + below(w, 3);
		for (unsigned b = 0; b < n_bindings; b++) {
			f = open_memstream(&doc, &len);
			if (!ASSERT_NOT_NULL(f, "memstream"))
				return false;
			snprintf(name, sizeof(name), "%s-b%u", tname, b);
			gen_binding(f, w, name, tname, &t);
			fclose(f);
			if (!add_doc(w, sc, doc, 0, into))
				return false;
		}
	}
	if (chance(w, 10)) {
		f = open_memstream(&doc, &len);
		if (!ASSERT_NOT_NULL(f, "memstream"))
			return false;
		snprintf(name, sizeof(name), "%s-orphan", tag);
		snprintf(tname, sizeof(tname), "%s-missing", tag);
		gen_binding(f, w, name, tname, &missing);
		fclose(f);
		return add_doc(w, sc, doc, 0, into);
	}
	return true;
}

/*
 * A scenario: at most PF_MAX_RULES selectors in all, so that no container is
 * given more than the kernel takes (a template instance counts once,
 * whatever its bindings).
 */
static bool gen_scenario(struct world *w, struct scenario *sc, unsigned k, bool bins)
{
	unsigned budget = PF_MAX_RULES;

	snprintf(sc->name, sizeof(sc->name), "g%03u", k);
	sc->sync_each = chance(w, 30);
	sc->changed = -1;
	return gen_objects(w, sc, sc->name, &budget, bins, -1);
}

/*
 * Changes a scenario in force, as an operator would: one file rewritten with
 * other objects, or removed. The engine then updates bound workloads in place
 * (rulesets rewritten, ruleset classes changed, value sets shared and
 * released): the verdicts must follow.
 */
static bool scenario_change(struct world *w, struct scenario *sc, bool bins)
{
	size_t i = below(w, sc->n_files);
	unsigned budget = PF_MAX_RULES;
	char file[96], tag[64];

	sc->changed = i;
	sc->before = sc->yaml[i];
	sc->yaml[i] = NULL;
	sc->used[i] = 0;
	for (size_t j = 0; j < sc->n_files; j++)
		budget -= sc->used[j];
	file_name(sc, i, file, sizeof(file));
	snprintf(tag, sizeof(tag), "%s-c", sc->name);
	if (budget == 0 || chance(w, 25))
		pf_engine_policy_file_removed(w->e, file);
	else if (!gen_objects(w, sc, tag, &budget, bins, i) || !engine_file(w, sc, i))
		return false;
	pf_engine_sync(w->e);
	return ASSERT_OK(pf_engine_collect(w->e), "collect") && eval_copy(sc);
}

/*
 * Cases for a scenario: mostly in places some policy applies to (else most
 * execs would only show that unbound cgroups are free), any target, any caller.
 */
static void gen_queries(struct world *w, struct scenario *sc, struct query *out, size_t n)
{
	struct query all[N_PODS * N_SLOTS], rel[N_PODS * N_SLOTS];
	size_t n_all = 0, n_rel = 0;

	for (size_t p = 0; p < N_PODS; p++) {
		for (int s = SLOT_PAUSE; s < n_containers(p); s++) {
			struct pf_eval_query eq = slot_query(w, p, s, w->targets[0], w->callers[0]);
			struct pf_eval_result res;

			all[n_all++] = (struct query){.pod = p, .slot = s};
			if (pf_evaluate(sc->refs, sc->pols.n, &eq, &res) == 0) {
				if (res.n)
					rel[n_rel++] = all[n_all - 1];
				pf_eval_result_free(&res);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = n_rel && chance(w, 85) ? rel[below(w, n_rel)] : all[below(w, n_all)];
		out[i].target = below(w, N_TARGETS);
		out[i].caller = below(w, N_CALLERS);
	}
}

static void run_generated(struct world *w, unsigned k, bool bins)
{
	struct query q[EXECS_PER_SCENARIO];
	struct scenario sc = {};

	if (!gen_scenario(w, &sc, k, bins) || !scenario_load(w, &sc) || !scenario_engine_ok(w, &sc))
		goto out;
	gen_queries(w, &sc, q, EXECS_PER_SCENARIO);
	for (size_t i = 0; i < EXECS_PER_SCENARIO; i++)
		check_case(w, &sc, &q[i], -1);
	if (!chance(w, 50))
		goto out;
	w->changes++;
	if (!scenario_change(w, &sc, bins) || !scenario_engine_ok(w, &sc))
		goto out;
	gen_queries(w, &sc, q, EXECS_AFTER_CHANGE);
	for (size_t i = 0; i < EXECS_AFTER_CHANGE; i++)
		check_case(w, &sc, &q[i], -1);
out:
	scenario_unload(w, &sc);
}

/* ---- egress: generated connect-hook policies, real sockets ---------------- */

/*
 * Values and destinations chosen to sit on both sides of each other's
 * boundaries: nested CIDRs, a /32 and its neighbour, IPv4-mapped, the port
 * ranges' ends.
 */
static const char *const net_cidrs[] = {
    "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "192.0.2.0/24", "127.0.0.0/8",   "0.0.0.0/0",
    "fd00::/8",	  "fd00:1::/32", "::1",	     "::/0",	     "2001:db8::/32", "::ffff:10.1.0.0/112",
};
static const char *const net_ports[] = {"53", "80", "443", "1000-2000", "8000:8080", "0-1023"};
static const char *const net_dests[] = {
    "tcp://10.1.2.3:80",
    "tcp://10.1.2.4:443",
    "udp://10.1.9.9:53",
    "tcp://10.200.0.1:1500",
    "udp://192.0.2.5:2000",
    "tcp://127.0.0.1:8080",
    "udp://198.51.100.1:53",
    "tcp://[fd00:1::5]:443",
    "udp://[fd00:2::5]:1023",
    "tcp://[::1]:80",
    "tcp://[2001:db8::1]:1024",
    "tcp://[::ffff:10.1.2.3]:443",
    "udp://[::ffff:192.0.2.5]:9",
    "tcp://[fe80::1]:999",
    "raw://",
};
#define N_NET_DESTS	  (sizeof(net_dests) / sizeof(net_dests[0]))
#define NET_PER_SCENARIO  10
#define NET_GEN_SCENARIOS 80 /* PF_DIFF_NET_SCENARIOS overrides */

static void gen_net_values(FILE *f, struct world *w, bool addr, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "",
			addr ? net_cidrs[below(w, sizeof(net_cidrs) / sizeof(*net_cidrs))]
			     : net_ports[below(w, sizeof(net_ports) / sizeof(*net_ports))]);
}

/*
 * One selector of a connect hook: an address and/or a port condition (fixed
 * values, or a template's parameter: 0 addresses, 1 ports), sometimes a
 * family or a protocol. sock: tcp_connect's operators on index 0; else the
 * sockaddr's on index 1.
 */
static void gen_net_selector(FILE *f, struct world *w, bool sock, bool tpl)
{
	unsigned a = below(w, 100);
	bool addr = chance(w, 70), port = chance(w, 50);

	fprintf(f, "    - matchArgs:\n");
	if (!addr && !port && chance(w, 80))
		addr = true;
	for (int k = 0; k < 2; k++) {
		bool is_addr = k == 0, neg = chance(w, 50);

		if (is_addr ? !addr : !port)
			continue;
		fprintf(f, "      - {index: %d, operator: %s%s", sock ? 0 : 1, neg ? "Not" : "",
			sock ? (is_addr ? "DAddr" : "DPort") : (is_addr ? "SAddr" : "SPort"));
		if (tpl && chance(w, 60)) {
			fprintf(f, ", valuesFrom: %s", is_addr ? "cidrs" : "ports");
			if (chance(w, 50)) {
				fprintf(f, ", values: [");
				gen_net_values(f, w, is_addr, 1);
				fprintf(f, "]");
			}
		} else {
			fprintf(f, ", values: [");
			gen_net_values(f, w, is_addr, 1 + below(w, 3));
			fprintf(f, "]");
		}
		fprintf(f, "}\n");
	}
	if (chance(w, 15))
		fprintf(f, "      - {index: %d, operator: Family, values: [%s]}\n", sock ? 0 : 1,
			chance(w, 50) ? "AF_INET" : "AF_INET6");
	if (!sock && chance(w, 15))
		fprintf(f, "      - {index: 0, operator: Protocol, values: [%s]}\n",
			chance(w, 50) ? "IPPROTO_TCP" : "IPPROTO_UDP");
	fprintf(f, "      matchActions: %s\n",
		a < 50	 ? "[{action: Override, argError: -1}]"
		: a < 60 ? "[{action: Override, argError: -13}]"
		: a < 70 ? "[{action: Sigkill}]"
			 : "[{action: Post}]");
}

/* 1-2 connect hook entries of 1-3 selectors, within *budget selectors. */
static void gen_net_hooks(FILE *f, struct world *w, unsigned *budget, bool tpl)
{
	unsigned n_hooks = *budget >= 2 && chance(w, 30) ? 2 : 1, sels[2];
	bool lsm_header = false, kp_header = false;
	int kinds[2];

	/* selectors of each entry first: one left for each later entry */
	for (unsigned h = 0; h < n_hooks; h++) {
		unsigned left = *budget - (n_hooks - 1 - h);

		kinds[h] = below(w, 3); /* 0 tcp_connect, 1 security_socket_connect, 2 lsm */
		sels[h] = 1 + below(w, 3);
		if (sels[h] > left)
			sels[h] = left;
		*budget -= sels[h];
	}
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned h = 0; h < n_hooks; h++) {
			if ((kinds[h] == 2) != pass)
				continue;
			if (pass && !lsm_header)
				fprintf(f, "  lsmhooks:\n");
			if (!pass && !kp_header)
				fprintf(f, "  kprobes:\n");
			lsm_header |= pass;
			kp_header |= !pass;
			if (kinds[h] == 0)
				fprintf(f, "  - call: tcp_connect\n    syscall: false\n"
					   "    args: [{index: 0, type: sock}]\n");
			else
				fprintf(f,
					"  - %s\n    args: [{index: 0, type: socket}, "
					"{index: 1, type: sockaddr}]\n",
					kinds[h] == 1
					    ? "call: security_socket_connect\n    syscall: false"
					    : "hook: socket_connect");
			fprintf(f, "    selectors:\n");
			for (unsigned s = 0; s < sels[h]; s++)
				gen_net_selector(f, w, kinds[h] == 0, tpl);
		}
	}
}

/* 1-3 egress policies or templates (1-3 bindings each), PF_NET_MAX_RULES selectors in all. */
static bool gen_net_objects(struct world *w, struct scenario *sc, const char *tag)
{
	static const char *const namespaces[] = {"shop", "ops", "default"};
	unsigned n = 1 + below(w, 3), budget = PF_NET_MAX_RULES, before;
	char name[64], *doc;
	size_t len;
	FILE *f;

	for (unsigned i = 0; i < n && budget; i++) {
		bool tpl = chance(w, 40);

		f = open_memstream(&doc, &len);
		if (!ASSERT_NOT_NULL(f, "memstream"))
			return false;
		before = budget;
		snprintf(name, sizeof(name), "%s-%s%u", tag, tpl ? "t" : "p", i);
		if (tpl) {
			fprintf(f,
				"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\n"
				"metadata:\n  name: %s\nspec:\n%s  parameters: [{name: cidrs}, "
				"{name: ports}]\n",
				name, chance(w, 15) ? "  mode: monitor\n" : "");
		} else {
			fprintf(f,
				"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n"
				"metadata:\n  name: %s\nspec:\n",
				name);
			gen_pod_selector(f, w);
			if (chance(w, 25))
				gen_container_selector(f, w);
			if (chance(w, 15))
				fprintf(f, "  options:\n  - {name: policy-mode, value: monitor}\n");
		}
		gen_net_hooks(f, w, &budget, tpl);
		fclose(f);
		if (!add_doc(w, sc, doc, before - budget, -1))
			return false;
		if (!tpl)
			continue;
		w->gen_templates++;
		for (unsigned b = 0, nb = 1 + below(w, 3); b < nb; b++) {
			f = open_memstream(&doc, &len);
			if (!ASSERT_NOT_NULL(f, "memstream"))
				return false;
			fprintf(f,
				"apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata:\n"
				"  name: %s-b%u\n  namespace: %s\nspec:\n  templateRef: %s\n",
				name, b, namespaces[below(w, 3)], name);
			gen_pod_selector(f, w);
			fprintf(f, "  values:\n    cidrs: [");
			gen_net_values(f, w, true, below(w, 3));
			fprintf(f, "]\n    ports: [");
			gen_net_values(f, w, false, below(w, 3));
			fprintf(f, "]\n");
			fclose(f);
			if (!add_doc(w, sc, doc, 0, -1))
				return false;
		}
	}
	return true;
}

/*
 * The kernel's verdict on one connection from the place's cgroup: a child
 * joins it, takes a network namespace of its own and makes the call.
 * Exit 0: went through (whatever the network answered), 1: refused by
 * podfence (EPERM, EACCES), 2: test error.
 */
static int kernel_connect(const char *procs, const struct pf_eval_connect *c, bool *blocked,
			  char *how, size_t how_len)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct sockaddr_storage ss = {};
		struct timeval tv = {.tv_sec = 2};
		socklen_t len;
		int fd, cg, rc;

		cg = open(procs, O_WRONLY | O_CLOEXEC);
		if (cg < 0 || write(cg, "0", 1) != 1 || pf_kfix_netns_lo())
			_exit(2);
		close(cg);
		if (c->raw) {
			fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
			_exit(fd < 0 ? (errno == EPERM || errno == EACCES ? 1 : 2) : 0);
		}
		if (c->family == PF_NET_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(c->port);
			memcpy(&s4->sin_addr, c->addr, 4);
			len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(c->port);
			memcpy(&s6->sin6_addr, c->addr, 16);
			len = sizeof(*s6);
		}
		fd = socket(ss.ss_family, c->protocol == PF_NET_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0)
			_exit(2);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		rc = c->protocol == PF_NET_TCP
			 ? connect(fd, (struct sockaddr *)&ss, len)
			 : (int)sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len);
		_exit(rc < 0 && (errno == EPERM || errno == EACCES) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	snprintf(how, how_len, "exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	*blocked = WIFEXITED(status) && WEXITSTATUS(status) == 1;
	return WIFEXITED(status) && WEXITSTATUS(status) < 2 ? 0 : -EPROTO;
}

static void check_net_case(struct world *w, struct scenario *sc, int pod, int slot, size_t dest)
{
	struct pf_eval_query eq = slot_query(w, pod, slot, NULL, NULL);
	struct pf_eval_connect conn;
	struct pf_eval_result res;
	bool kblocked = false;
	char how[32];

	if (!ASSERT_OK(pf_eval_connect_parse(net_dests[dest], &conn), net_dests[dest]))
		return;
	eq.connect = &conn;
	if (!ASSERT_OK(pf_evaluate(sc->refs, sc->pols.n, &eq, &res), "evaluate"))
		return;
	w->net_calls++;
	if (kernel_connect(w->procs[pod][slot_index(slot)], &conn, &kblocked, how, sizeof(how))) {
		w->errors++;
		pf_test_fail(__FILE__, __LINE__, "%s: %s neither went through nor was refused: %s",
			     sc->name, net_dests[dest], how);
	} else if (kblocked != res.blocked) {
		const struct pf_pod *p = &w->pods.v[pod];

		w->mismatches++;
		if (w->reports++ < MAX_REPORTS) {
			fprintf(stderr,
				"    MISMATCH in scenario %s: %s from %s/%s slot %d: kernel %s, "
				"reference %s\n",
				sc->name, net_dests[dest], p->namespace, p->name, slot,
				kblocked ? "refused" : "went through",
				res.blocked ? "refuses" : "lets it through");
			scenario_show(sc);
		}
	}
	w->net_blocked += kblocked;
	pf_eval_result_free(&res);
}

static void run_generated_net(struct world *w, unsigned k)
{
	struct scenario sc = {};

	snprintf(sc.name, sizeof(sc.name), "n%03u", k);
	sc.changed = -1;
	sc.sync_each = chance(w, 30);
	if (!gen_net_objects(w, &sc, sc.name) || !scenario_load(w, &sc) ||
	    !scenario_engine_ok(w, &sc))
		goto out;
	for (size_t i = 0; i < NET_PER_SCENARIO; i++) {
		int pod = below(w, N_PODS);
		int slot = (int)below(w, n_containers(pod) + 2) - 2; /* SLOT_PAUSE.. */

		check_net_case(w, &sc, pod, slot, below(w, N_NET_DESTS));
	}
out:
	scenario_unload(w, &sc);
}

/* ---- the test ------------------------------------------------------------- */

PF_TEST(differential_kernel_agrees_with_reference_evaluator)
{
	const char *env = getenv("PF_DIFF_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
	const char *n_env = getenv("PF_DIFF_SCENARIOS"), *net_env = getenv("PF_DIFF_NET_SCENARIOS");
	unsigned n_gen = n_env ? (unsigned)strtoul(n_env, NULL, 0) : GEN_SCENARIOS;
	unsigned n_net = net_env ? (unsigned)strtoul(net_env, NULL, 0) : NET_GEN_SCENARIOS;
	const size_t n_hand = sizeof(hand_cases) / sizeof(hand_cases[0]);
	struct timespec t0, t1;
	unsigned hand_execs, hand_run = 0;
	struct world *w;
	bool bins;

	pf_kfix_store(&store);
	w = calloc(1, sizeof(*w));
	if (!ASSERT_NOT_NULL(w, "world"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w->rng = seed;
	/*
	 * The late tracepoint backend runs when the calling binary is gone: the
	 * engine refuses matchBinaries there, so those cases can only run elsewhere.
	 */
	bins = pf_kstore_sees_caller(store);
	if (!bins)
		printf("     (backend %s cannot see the calling binary: no matchBinaries cases)\n",
		       pf_backend_name(pf_kstore_backend(store)));
	if (!world_setup(w))
		goto out;
	for (size_t i = 0; i < n_hand; i++) {
		if (hand_cases[i].bins && !bins)
			continue;
		run_hand_case(w, &hand_cases[i]);
		hand_run++;
	}
	hand_execs = w->execs;
	for (unsigned k = 0; k < n_gen; k++)
		run_generated(w, k, bins);
	for (unsigned k = 0; k < n_net; k++)
		run_generated_net(w, k);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("     (seed %" PRIu64 ": %u hand-written scenarios, %u execs; %u generated "
	       "(%u templates, %u changed in force), %u execs; %u blocked, %u allowed; "
	       "%u egress scenarios, %u connections (%u refused); "
	       "%u mismatches; %u pod states failed closed; %.1f s)\n",
	       seed, hand_run, hand_execs, n_gen, w->gen_templates, w->changes,
	       w->execs - hand_execs, w->blocked, w->execs - w->blocked - w->errors, n_net,
	       w->net_calls, w->net_blocked, w->mismatches, w->failed_closed,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	ASSERT_EQ(w->mismatches, 0, "kernel verdicts differing from the reference evaluator");
out:
	world_teardown(w);
	free(w);
}
