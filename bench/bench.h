/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podfence-bench: exec latency, BPF cost, kernel memory, control plane and
 * ceiling of podfence at N policies, next to a one-program-per-policy
 * baseline, measured in one process tree on one machine (issue 5).
 *
 * Everything the run creates lives under names carrying its pid (temp dir,
 * cgroup subtree, pin dirs) and is removed on exit, interrupt included; a
 * later run removes what a killed one left.
 */
#ifndef PF_BENCH_H
#define PF_BENCH_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <json-c/json.h>
#include "podfence/abi.h"
#include "podfence/engine.h"
#include "podfence/kstore.h"

#define BENCH_MAX_NS   8       /* podfence N values */
#define BENCH_MAX_BL   8       /* baseline N values */
#define BENCH_MAX_OBJS 64      /* BPF objects (maps + programs) of one loaded object */
#define BENCH_CHUNK    1000    /* documents per in-memory "file" */
#define BENCH_NS       "bench" /* namespace of every pod and binding */

extern volatile sig_atomic_t bench_stop;

struct bench_opts {
	bool quick;
	const char *json_out;
	const char *png_out;
	const char *report_in; /* regenerate outputs from this JSON only */
	const char *podfence;  /* binary for the agent runs */
	const char *helper;    /* static no-op binary to exec */
	const char *gnuplot_script;
	int rounds;	     /* latency rounds */
	int batch;	     /* execs per batch */
	int stats_batch;     /* execs per BPF-cost batch */
	int paths;	     /* allowed paths per policy */
	int n[BENCH_MAX_NS]; /* podfence N */
	int n_n;
	int bl[BENCH_MAX_BL]; /* baseline N */
	int n_bl;
	int files_n[4]; /* control plane: N loaded from files */
	int n_files_n;
	int files_reps;
	int changes;		   /* binding changes timed */
	int pods_arriving;	   /* pods bound one by one */
	int agent_n[BENCH_MAX_NS]; /* agent RSS at these N */
	int n_agent_n;
	int mem_n1, mem_n2; /* bytes per binding: (mem(N2) - mem(N1)) / (N2 - N1) */
	int ceiling_max;    /* stop the ceiling search here */
	int ceiling_scale;  /* divide default sizes (quick: exercise the failure path) */
	/* learning (learn.c) */
	int learn_rounds;      /* latency rounds (batch: `batch` execs) */
	int learn_stats_batch; /* execs per BPF-cost batch */
	int learn_storm;       /* execs of the fork storm */
	int learn_bins;	       /* distinct binaries of one workload */
	int learn_workloads;   /* workloads learning at once, 3 binaries each */
	/* egress (net.c) */
	int net_n[BENCH_MAX_NS]; /* bindings loaded */
	int n_net_n;
	int net_bl[BENCH_MAX_BL]; /* programs of the one-program-per-policy baseline */
	int n_net_bl;
	int net_rounds;	     /* paired rounds per configuration */
	int net_batch;	     /* connects (and sends) per batch */
	int net_stats_batch; /* calls per BPF-cost batch */
};

/* Aggregate CPU time of the machine (/proc/stat, in ticks): how busy it was during the run. */
struct cpu_times {
	unsigned long long total, idle, steal;
};

/* One run: options, the fake node (node.c), helper processes, results so far. */
struct bench {
	struct bench_opts o;
	char tmp[PATH_MAX];	   /* /tmp/pf-bench-<pid>-XXXXXX */
	char cg2[PATH_MAX];	   /* cgroup2 mount */
	char node_cg[PATH_MAX];	   /* <cg2>/pf-bench-<pid>: the node's cgroup root */
	char true_bin[PATH_MAX];   /* the exec'd binary, as the kernel resolves it */
	char denied_bin[PATH_MAX]; /* the same program under a path no policy allows */
	int pods_created;	   /* w1..wN have cgroups */
	enum pf_backend backend;   /* probed once, forced afterwards */
	pid_t agent_pid;
	pid_t sp_pid; /* the spawner (spawner.c) and its request/response pipes */
	int sp_req, sp_resp;
	char agent_pin[PATH_MAX];
	struct json_object *res;
	double t_start;
	struct cpu_times cpu_start;
	char loadavg_start[64];
};

/* ---- util.c ---- */
int read_all(int fd, void *buf, size_t len);
int write_all(int fd, const void *buf, size_t len);
double now_s(void);
uint64_t now_ns(void);
int cmp_double(const void *a, const void *b);
/* Nearest-rank percentile of v[0..n) (sorted in place). */
double percentile(double *v, size_t n, double p);
int write_file(const char *path, const char *s, size_t len);
int write_str(const char *path, const char *s);
int mkdir_p(const char *path);
void rm_rf(const char *path);
/* Moves the calling process into a cgroup directory (the spawner, never the benchmark). */
int cg_enter(const char *dir);
/* Removes a cgroup subtree bottom-up; returns the number of directories left. */
long cg_remove_tree(const char *dir);
/* VmRSS / VmHWM of a process, in KiB. */
long proc_status_kib(pid_t pid, const char *field);
/* Growable buffer for generated documents. */
struct sbuf {
	char *s;
	size_t len, cap;
};
int sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_free(struct sbuf *b);
struct json_object *machine_json(const struct bench *b);
void loadavg_str(char *buf, size_t len);
int cpu_times_read(struct cpu_times *t);
void json_add_double(struct json_object *o, const char *k, double v);
void json_add_int(struct json_object *o, const char *k, long long v);
void json_add_str(struct json_object *o, const char *k, const char *v);
double json_get_double(struct json_object *o, const char *k);
long long json_get_int(struct json_object *o, const char *k);
const char *json_get_str(struct json_object *o, const char *k);

/* ---- bpfobj.c: the BPF maps and programs a load created, from our fd table ---- */
struct bpf_objs {
	int n;
	struct {
		int fd;
		bool prog;
		uint32_t id;
		uint32_t type; /* enum bpf_map_type or bpf_prog_type */
		char name[16];
	} v[BENCH_MAX_OBJS];
};
/* Records the open fds; bpf_objs_since() then lists the BPF objects opened after. */
struct fd_snapshot {
	unsigned char *open;
	int max;
};
int fd_snapshot_take(struct fd_snapshot *s);
void fd_snapshot_free(struct fd_snapshot *s);
int bpf_objs_since(const struct fd_snapshot *s, struct bpf_objs *out);
struct kmem {
	uint64_t total, maps, progs, percpu;
};
void bpf_objs_memlock(const struct bpf_objs *o, struct kmem *m);
/* Per-object memlock as a JSON object name -> bytes (summed by name). */
struct json_object *bpf_objs_json(const struct bpf_objs *o);
/* The exec program among them (by name), or -1. */
int bpf_objs_exec_prog(const struct bpf_objs *o);
struct prog_stats {
	uint64_t run_ns, run_cnt;
};
int prog_stats_read(int prog_fd, struct prog_stats *st);
/* Attaches an already loaded exec program by fd; returns the link fd. */
int prog_attach(int prog_fd, enum pf_backend backend);

/* ---- node.c: pods, policies, loaded configurations ---- */
enum cfg_shape { SHAPE_PLAIN = 0, SHAPE_TEMPLATE };
enum cfg_place { PLACE_LOCAL = 0, PLACE_REMOTE };
/* The measured pods: bound to 1 policy, to 8, to none. */
enum mpod { MPOD_1 = 0, MPOD_8, MPOD_0, MPOD__MAX };

const char *shape_name(enum cfg_shape s);
const char *place_name(enum cfg_place p);
int node_init(struct bench *b);
/* Creates cgroups of pods w1..wN (kept for the whole run). */
int node_grow(struct bench *b, int n);
void node_cleanup(struct bench *b);
/* The container cgroup of pod w<i> (i > 0) or of a measured pod (i = -1 - mpod). */
void pod_cgroup(const struct bench *b, int i, char *buf, size_t len);
int mpod_index(enum mpod m);
/* Documents: pods w[first..last] as one manifest list; measured pods too when with_measured. */
int gen_pods(struct sbuf *out, int first, int last, bool with_measured);
int gen_template(struct sbuf *out);
/*
 * Policy (plain) or binding (template) number i: selects pod w<i>, plus the
 * measured pod bound to 1 when i == 1 and the one bound to 8 when i <= 8.
 * paths allowed: the measured binary and paths-1 of its own (or of everyone
 * when shared).
 */
int gen_policy(struct sbuf *out, const struct bench *b, enum cfg_shape shape, int i, int paths,
	       bool shared, int variant);

/* One podfence instance (object + engine) holding one configuration. */
struct bench_cfg {
	char name[64];
	enum cfg_shape shape;
	enum cfg_place place;
	int n;
	int paths;
	bool shared_values;
	uint32_t sizes[PF_KMAP__MAX]; /* 0: default */
	struct pf_kstore *ks;
	struct pf_engine *eng;
	struct bpf_objs objs;
	int exec_fd; /* the exec program (owned by the kstore) */
	struct kmem mem_empty, mem;
	double load_s;
	int pods_loaded, pols_loaded; /* how far the incremental loads went */
	bool enforces;		      /* checked: allowed binary runs, another one is stopped */
};
/* Map sizes that hold n policies of this shape (never below the defaults). */
void cfg_size_for(struct bench_cfg *c, int n, int paths, int pods);
int cfg_open(struct bench *b, struct bench_cfg *c);
/* Adds pods (local: w[pods_loaded+1 .. upto]) and policies up to `upto`, then syncs. */
int cfg_load_upto(struct bench *b, struct bench_cfg *c, int upto);
int cfg_add_measured(struct bench *b, struct bench_cfg *c);
/* 0, or -EIO after printing the engine's first error (pods, files, missing cgroups). */
int cfg_check(struct bench_cfg *c, int n);
const char *cfg_first_error(struct bench_cfg *c);
void cfg_measure(struct bench_cfg *c);
void cfg_close(struct bench_cfg *c);
struct json_object *cfg_usage_json(struct bench_cfg *c);
/* Feeds a buffer of documents to the engine as one file. */
int feed_policies(struct pf_engine *e, const char *file, const struct sbuf *docs);
int feed_pods(struct pf_engine *e, const char *file, const struct sbuf *docs);

/* Default map sizes of this build (read from a default load), for cfg_size_for. */
extern uint32_t bench_defaults[PF_KMAP__MAX];
uint32_t bench_default_size(int m);

/* ---- spawner.c: the small process that runs the measured execs ---- */
int spawner_start(struct bench *b);
void spawner_stop(struct bench *b);
/* n execs of true_bin in cgroup cg after `warmup` unrecorded ones; latencies (us) in out. */
int spawner_batch(struct bench *b, const char *cg, int n, int warmup, double *out);
/* One exec of bin in cg: its wait status, or -errno when it could not start (EPERM: blocked). */
int spawner_check(struct bench *b, const char *cg, const char *bin, int *status);
int spawner_fifo(struct bench *b, bool on);

/* ---- baseline.c ---- */
struct bl_set;
int bl_open(struct bench *b, int n, struct bl_set **out);
int bl_attach(struct bl_set *s);
void bl_detach(struct bl_set *s);
int bl_stats(struct bl_set *s, struct prog_stats *sum, struct prog_stats *first);
void bl_memlock(struct bl_set *s, struct kmem *m);
void bl_close(struct bl_set *s);
int bl_n(const struct bl_set *s);

/* ---- phases ---- */
int phase_fixed(struct bench *b);
int phase_latency(struct bench *b);
int phase_memory(struct bench *b);
int phase_control(struct bench *b);
int phase_agent(struct bench *b);
/* Stops the agent a phase started (also on interrupt) and unpins its state. */
void agent_stop(struct bench *b);
int phase_ceiling(struct bench *b);
/* The agent fed by the fake API server: 10,000 bindings, 250 pods (api_scale.c). */
int phase_api(struct bench *b);
void report_api_text(struct json_object *res, FILE *out);
/* Learning next to enforcement, and its records at scale with the real agent (learn.c). */
int phase_learn(struct bench *b);
/* Egress: connect and UDP send latency at N bindings, next to one program per policy (net.c). */
int phase_net(struct bench *b);

/* ---- report.c: everything below reads only the results JSON ---- */
/* Evaluates the targets into res["targets"] (replaced). */
void report_targets(struct json_object *res);
void report_text(struct json_object *res, FILE *out);
int report_plot(struct json_object *res, const char *script, const char *png_path);

#endif /* PF_BENCH_H */
