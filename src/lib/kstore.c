// SPDX-License-Identifier: Apache-2.0
/*
 * Loading podfence's one BPF object, probing the exec backend, pinning and
 * taking over pinned state, and the typed map writes everything else uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "podfence/cgroup.h"
#include "podfence/kstore.h"
#include "podfence/log.h"
#include "podfence/netaddr.h"
#include "podfence/policy.h"
#include "podfence.skel.h"
#include "podfence_compat.skel.h"

/*
 * The compat build is opened through the default build's skeleton (same
 * programs, maps and globals by name): its read-only globals must sit where
 * the default build's do.
 */
#define SAME_GLOBAL(f)                                                                             \
	_Static_assert(offsetof(struct podfence_bpf__rodata, f) ==                                 \
			   offsetof(struct podfence_compat_bpf__rodata, f),                        \
		       "compat build moved " #f)
SAME_GLOBAL(pf_caller_from_mm);
SAME_GLOBAL(pf_node_mntns_inum);

/* Ids are reserved from the pinned meta map this many at a time. */
#define ID_BLOCK 4096

struct id_range {
	uint32_t next, end;
};

struct pf_kstore {
	struct podfence_bpf *skel;
	enum pf_backend backend;
	bool compat; /* the compat build of the programs (bpf/compat.bpf.h) */
	char pin_dir[256];
	bool pinned;
	struct bpf_link *links[8];
	int n_links;
	struct ring_buffer *rb;
	struct id_range set_ids, wl_ids, wl_large_ids, policy_ids;
	unsigned long counters_full; /* policies refused by a full pol_counters */
	struct pf_store store;	     /* the engine's view of it (pf_kstore_store()) */
};

static const struct pf_store_ops kstore_ops;

static const char *const kmap_names[PF_KMAP__MAX] = {
    [PF_KMAP_CGROUPS] = "cg_workload",
    [PF_KMAP_WORKLOADS] = "wl_rules_s",
    [PF_KMAP_WORKLOADS_LARGE] = "wl_rules_l",
    [PF_KMAP_EXACT_S] = "exact_s",
    [PF_KMAP_EXACT_M] = "exact_m",
    [PF_KMAP_EXACT_L] = "exact_l",
    [PF_KMAP_PREFIX] = "prefix_trie",
    [PF_KMAP_SUFFIX] = "suffix_trie",
    [PF_KMAP_POLICIES] = "pol_counters",
    [PF_KMAP_CG_EXPECT] = "cg_expect",
    [PF_KMAP_LEARNED] = "learned",
    [PF_KMAP_NET_RULES] = "wl_net",
    [PF_KMAP_NET_VALUES] = "net_values",
};

/*
 * State that must outlive an agent. Scratch and barrier maps are private to
 * each load; cg_anchor is the compat build's only (bpf/decide.bpf.h).
 */
static const char *const pinned_maps[] = {
    "cg_workload",   "wl_rules_s",  "wl_rules_l",  "exact_s",	   "exact_m",
    "exact_l",	     "prefix_trie", "suffix_trie", "pol_counters", "stats",
    "events",	     "meta",	    "cg_expect",   "cg_overflow",  "learned",
    "session_procs", "wl_net",	    "net_values",  "cg_anchor",
};

static const char *const backend_names[] = {
    [PF_BACKEND_NONE] = "auto",
    [PF_BACKEND_LSM] = "lsm",
    [PF_BACKEND_FMODRET] = "fmod_ret",
    [PF_BACKEND_TP] = "tracepoint",
    [PF_BACKEND_TP_LATE] = "tracepoint-late",
};

static const char *const stat_names[PF_STAT__MAX] = {
    [PF_STAT_EXECS] = "execs",
    [PF_STAT_BOUND] = "execs_bound",
    [PF_STAT_BLOCKED] = "blocked",
    [PF_STAT_REPORTED] = "reported",
    [PF_STAT_NO_RULESET] = "no_ruleset",
    [PF_STAT_PATH_LONG] = "path_long",
    [PF_STAT_PATH_FAILED] = "path_failed",
    [PF_STAT_SCRATCH_BUSY] = "scratch_busy",
    [PF_STAT_EVENTS_LOST] = "events_lost",
    [PF_STAT_CG_INHERITED] = "cgroups_inherited",
    [PF_STAT_CG_FULL] = "cgroups_inherit_failed",
    [PF_STAT_FOREIGN_VIEW] = "foreign_view",
    [PF_STAT_CG_ANCESTOR] = "cgroups_via_ancestor",
    [PF_STAT_CG_EXPECTED] = "cgroups_bound_at_creation",
    [PF_STAT_RUNTIME_EXEC] = "runtime_execs_before_start",
    [PF_STAT_SANDBOX_START] = "sandbox_starts",
    [PF_STAT_LEARN_EXECS] = "learn_execs",
    [PF_STAT_LEARN_RECORDS] = "learn_records",
    [PF_STAT_LEARN_FULL] = "learn_table_full",
    [PF_STAT_LEARN_LOST] = "learn_records_lost",
    [PF_STAT_NET_BLOCKED] = "net_blocked",
    [PF_STAT_NET_REPORTED] = "net_reported",
    [PF_STAT_NET_NO_RULES] = "net_no_rules",
};

const char *pf_backend_name(enum pf_backend b)
{
	return b < PF_BACKEND__MAX ? backend_names[b] : "unknown";
}

int pf_backend_parse(const char *s, enum pf_backend *out)
{
	for (int b = PF_BACKEND_NONE; b < PF_BACKEND__MAX; b++) {
		if (strcmp(s, backend_names[b]) == 0) {
			*out = b;
			return 0;
		}
	}
	if (strcmp(s, "tp") == 0 || strcmp(s, "fallback") == 0) {
		*out = PF_BACKEND_TP;
		return 0;
	}
	return -EINVAL;
}

const char *pf_kmap_name(enum pf_kmap m)
{
	return m < PF_KMAP__MAX ? kmap_names[m] : "?";
}

int pf_kmap_parse(const char *name, enum pf_kmap *out)
{
	for (int m = 0; m < PF_KMAP__MAX; m++) {
		if (strcmp(name, kmap_names[m]) == 0) {
			*out = m;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pf_stat_name(enum pf_stat s)
{
	return s < PF_STAT__MAX ? stat_names[s] : "?";
}

static struct bpf_map *kmap(const struct pf_kstore *ks, enum pf_kmap m)
{
	return bpf_object__find_map_by_name(ks->skel->obj, kmap_names[m]);
}

static int kmap_fd(const struct pf_kstore *ks, enum pf_kmap m)
{
	return bpf_map__fd(kmap(ks, m));
}

uint32_t pf_kstore_capacity(const struct pf_kstore *ks, enum pf_kmap m)
{
	return bpf_map__max_entries(kmap(ks, m));
}

enum pf_backend pf_kstore_backend(const struct pf_kstore *ks)
{
	return ks->backend;
}

bool pf_kstore_compat(const struct pf_kstore *ks)
{
	return ks->compat;
}

bool pf_kstore_sees_caller(const struct pf_kstore *ks)
{
	return ks->backend != PF_BACKEND_TP_LATE;
}

int pf_kstore_attached_programs(const struct pf_kstore *ks)
{
	return ks->n_links;
}

int pf_kstore_prog_fd(struct pf_kstore *ks, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(ks->skel->obj, name);
	int fd = prog ? bpf_program__fd(prog) : -ENOENT;

	return fd < 0 ? -ENOENT : fd;
}

int pf_kstore_mount_prerequisites(const char *pin_dir, bool may_mount_bpffs)
{
	struct statfs sfs;
	int err = 0;

	if (pin_dir && strncmp(pin_dir, "/sys/fs/bpf", 11) == 0 &&
	    (statfs("/sys/fs/bpf", &sfs) || sfs.f_type != BPF_FS_MAGIC)) {
		if (!may_mount_bpffs) {
			pf_err("pin dir %s: /sys/fs/bpf is not a BPF filesystem: mount the host's "
			       "/sys/fs/bpf into the agent's container (a bpffs of its own would "
			       "die with it, and enforcement with it)",
			       pin_dir);
			err = -ENOENT;
		} else if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
			err = -errno;
			pf_err("mount bpffs on /sys/fs/bpf (pin dir %s): %s", pin_dir,
			       strerror(errno));
		}
	}
	if (statfs("/sys/kernel/security", &sfs) == 0 && sfs.f_type != SECURITYFS_MAGIC &&
	    mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL))
		pf_warn("mount securityfs on /sys/kernel/security: %s", strerror(errno));
	return err;
}

/* BPF LSM runs only when "bpf" is in the active LSM list; a successful attach proves nothing. */
bool pf_bpf_lsm_active(void)
{
	char buf[512] = "";
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n"))
		if (strcmp(tok, "bpf") == 0)
			return true;
	return false;
}

static struct bpf_program *exec_prog(struct podfence_bpf *skel, enum pf_backend b)
{
	switch (b) {
	case PF_BACKEND_LSM:
		return skel->progs.lsm_bprm_check;
	case PF_BACKEND_FMODRET:
		return skel->progs.fmodret_bprm_check;
	case PF_BACKEND_TP:
		return skel->progs.tp_prepare_exec;
	case PF_BACKEND_TP_LATE:
		return skel->progs.tp_sched_exec;
	default:
		return NULL;
	}
}

static int pin_path(const struct pf_kstore *ks, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", ks->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Reuses a previous agent's pinned map. A pinned map sized differently wins
 * (its data must be kept); one with another layout is from an incompatible
 * version and is refused rather than silently replaced.
 */
static int reuse_pinned_map(struct pf_kstore *ks, struct bpf_map *map, bool *reused)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	char path[320];
	int fd, err;

	err = pin_path(ks, bpf_map__name(map), path, sizeof(path));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (err) {
		err = -errno;
		goto out;
	}
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map)) {
		pf_err("pinned map %s has another layout (key %u value %u, expected %u %u): "
		       "state of an incompatible podfence; remove it with `podfence unpin`",
		       path, info.key_size, info.value_size, bpf_map__key_size(map),
		       bpf_map__value_size(map));
		err = -EEXIST;
		goto out;
	}
	if (info.max_entries != bpf_map__max_entries(map)) {
		pf_warn(
		    "map %s: keeping the pinned size %u (requested %u); `podfence unpin` to resize",
		    bpf_map__name(map), info.max_entries, bpf_map__max_entries(map));
		bpf_map__set_max_entries(map, info.max_entries);
	}
	err = bpf_map__reuse_fd(map, fd);
	if (!err)
		*reused = true;
out:
	close(fd);
	return err;
}

/*
 * The egress programs, attached at the cgroup2 root whatever the exec
 * backend (net.bpf.h), with the names of their pinned links.
 */
static const char *const net_progs[][2] = {
    {"net_connect4", "link_net_connect4"},	 {"net_connect6", "link_net_connect6"},
    {"net_sendmsg4", "link_net_sendmsg4"},	 {"net_sendmsg6", "link_net_sendmsg6"},
    {"net_sock_create", "link_net_sock_create"},
};

static struct bpf_program *net_prog(struct podfence_bpf *skel, size_t i)
{
	return bpf_object__find_program_by_name(skel->obj, net_progs[i][0]);
}

static int configure(struct pf_kstore *ks, const struct pf_kstore_opts *opts, enum pf_backend b,
		     bool *took_over)
{
	struct podfence_bpf *skel = ks->skel;
	struct bpf_program *prog;
	int err;

	bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(exec_prog(skel, b), true);
	bpf_program__set_autoload(skel->progs.tp_cgroup_mkdir, true);
	bpf_program__set_autoload(skel->progs.tp_cgroup_rmdir, true);
	bpf_program__set_autoload(skel->progs.cg_rebind,
				  true); /* run by user space, not attached */
	for (size_t i = 0; i < sizeof(net_progs) / sizeof(*net_progs); i++)
		bpf_program__set_autoload(net_prog(skel, i), true);
	skel->rodata->pf_caller_from_mm = b != PF_BACKEND_TP_LATE;
	skel->rodata->pf_node_mntns_inum = opts->node_mntns_inum;

	for (int m = 0; m < PF_KMAP__MAX; m++) {
		if (!opts->max_entries[m])
			continue;
		err = bpf_map__set_max_entries(kmap(ks, m), opts->max_entries[m]);
		if (err)
			return err;
	}
	if (ks->compat) {
		/* the compat build's anchors (bpf/decide.bpf.h): one per bound cgroup at most */
		err = bpf_map__set_max_entries(bpf_object__find_map_by_name(skel->obj, "cg_anchor"),
					       bpf_map__max_entries(kmap(ks, PF_KMAP_CGROUPS)));
		if (err)
			return err;
	}
	if (!opts->pin_dir)
		return 0;
	for (size_t i = 0; i < sizeof(pinned_maps) / sizeof(*pinned_maps); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, pinned_maps[i]);

		if (!map)
			continue; /* a map of the other build */
		err = reuse_pinned_map(ks, map, took_over);
		if (err)
			return err;
	}
	return 0;
}

/* The compat build's object, opened as the default build's skeleton. */
static struct podfence_bpf *open_compat(void)
{
	struct podfence_bpf *skel = calloc(1, sizeof(*skel));
	int err;

	if (!skel)
		return NULL;
	err = podfence_bpf__create_skeleton(skel);
	if (!err) {
		skel->skeleton->data =
		    (void *)podfence_compat_bpf__elf_bytes(&skel->skeleton->data_sz);
		err = bpf_object__open_skeleton(skel->skeleton, NULL);
	}
	if (err) {
		podfence_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* Opens and loads the object with one exec backend; -errno when the kernel refuses it. */
static int load_backend(struct pf_kstore *ks, const struct pf_kstore_opts *opts, enum pf_backend b,
			bool *took_over)
{
	int err;

	*took_over = false;
	ks->skel = ks->compat ? open_compat() : podfence_bpf__open();
	if (!ks->skel)
		return -errno;
	err = configure(ks, opts, b, took_over);
	if (!err)
		err = podfence_bpf__load(ks->skel);
	if (err) {
		podfence_bpf__destroy(ks->skel);
		ks->skel = NULL;
		return err;
	}
	ks->backend = b;
	return 0;
}

/*
 * Which build of the programs the kernel gets, probed (never inferred from
 * the version number): the default one needs bpf_loop() and
 * bpf_set_retval(); without them, the compat build (bpf/compat.bpf.h), which
 * needs the ring buffer and BPF trampolines (5.10). PODFENCE_PROGRAMS=compat
 * forces the compat build (tests run it on new kernels too).
 */
int pf_kstore_kernel_check(bool *compat, char *msg, size_t msg_len)
{
	static const struct {
		enum bpf_func_id helper;
		const char *what;
	} helpers[] = {
	    {BPF_FUNC_loop, "bpf_loop() (Linux 5.17)"},
	    {BPF_FUNC_set_retval, "bpf_set_retval() (Linux 5.18)"},
	};
	const char *forced = getenv("PODFENCE_PROGRAMS"), *missing = NULL;
	struct utsname u = {};

	uname(&u);
	*compat = false;
	msg[0] = 0;
	/*
	 * 0 is "not there"; a probe that could not run (-EPERM without the
	 * capabilities) proves nothing: the load itself then says what failed.
	 */
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		snprintf(
		    msg, msg_len,
		    "kernel %s lacks the BPF ring buffer (Linux 5.8), which podfence's programs "
		    "need: podfence needs Linux 5.10 or later (docs/kernels.md, \"Minimum "
		    "kernel\")",
		    u.release);
		return -EOPNOTSUPP;
	}
	/* cgroup programs have both helpers where the kernel has them at all */
	for (size_t i = 0; i < sizeof(helpers) / sizeof(*helpers) && !missing; i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, helpers[i].helper,
					    NULL) == 0)
			missing = helpers[i].what;
	if (forced && *forced && strcmp(forced, "compat") && strcmp(forced, "default")) {
		snprintf(msg, msg_len, "PODFENCE_PROGRAMS=%s: expected compat or default", forced);
		return -EINVAL;
	}
	if (missing && forced && !strcmp(forced, "default")) {
		snprintf(msg, msg_len, "PODFENCE_PROGRAMS=default, but kernel %s lacks %s",
			 u.release, missing);
		return -EOPNOTSUPP;
	}
	if (missing)
		snprintf(msg, msg_len,
			 "kernel %s lacks %s: loading the compat build of the programs "
			 "(docs/kernels.md, \"Two builds of the programs\")",
			 u.release, missing);
	else if (forced && !strcmp(forced, "compat"))
		snprintf(msg, msg_len, "PODFENCE_PROGRAMS=compat: loading the compat build");
	*compat = missing || (forced && !strcmp(forced, "compat"));
	return 0;
}

static int probe_and_load(struct pf_kstore *ks, const struct pf_kstore_opts *opts, bool *took_over)
{
	static const enum pf_backend order[] = {PF_BACKEND_LSM, PF_BACKEND_FMODRET, PF_BACKEND_TP,
						PF_BACKEND_TP_LATE};
	char msg[256];
	int err = pf_kstore_kernel_check(&ks->compat, msg, sizeof(msg));

	if (err) {
		pf_err("%s", msg);
		return err;
	}
	if (ks->compat)
		pf_warn("%s", msg);
	err = -ENOTSUP;

	if (opts->backend != PF_BACKEND_NONE) {
		/*
		 * The kernel loads and attaches an LSM program even when "bpf" is
		 * not an active LSM, and then never runs it: refuse rather than
		 * leave every exec unenforced.
		 */
		if (opts->backend == PF_BACKEND_LSM && !pf_bpf_lsm_active()) {
			pf_err(
			    "backend lsm: \"bpf\" is not in the active LSM list "
			    "(/sys/kernel/security/lsm), so the hook would never run; add bpf to "
			    "lsm= on the kernel command line or use --backend fmod_ret");
			return -EOPNOTSUPP;
		}
		err = load_backend(ks, opts, opts->backend, took_over);
		if (err)
			pf_err("backend %s: the kernel refused it: %s",
			       pf_backend_name(opts->backend), strerror(-err));
		return err;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		if (order[i] == PF_BACKEND_LSM && !pf_bpf_lsm_active()) {
			pf_debug("backend lsm: \"bpf\" not in /sys/kernel/security/lsm");
			continue;
		}
		err = load_backend(ks, opts, order[i], took_over);
		if (!err)
			return 0;
		pf_debug("backend %s: not available: %s", pf_backend_name(order[i]),
			 strerror(-err));
	}
	return err;
}

static const char *const link_names[] = {"link_exec", "link_cg_mkdir", "link_cg_rmdir"};

/*
 * Pins the new link where the previous agent's was, then drops the old one:
 * both are attached in between, so there is no moment without enforcement.
 */
static int pin_link_replacing(struct pf_kstore *ks, struct bpf_link *link, const char *name)
{
	struct bpf_link *old;
	char path[320];
	int err;

	err = pin_path(ks, name, path, sizeof(path));
	if (err)
		return err;
	old = bpf_link__open(path);
	if (old)
		bpf_link__unpin(old);
	err = bpf_link__pin(link, path);
	bpf_link__destroy(old); /* NULL-safe; detaches the previous program */
	return err;
}

/*
 * One link per egress hook at the cgroup2 root: every socket of the node runs
 * it, and no descendant cgroup can detach it (links attach with
 * BPF_F_ALLOW_MULTI: a descendant's own programs run before it, never instead).
 */
static int attach_net(struct pf_kstore *ks, const struct pf_kstore_opts *opts)
{
	const char *root = opts->cgroup_root;
	char mount[PATH_MAX];
	int fd, err = 0;

	if (!root) {
		err = pf_cgroup2_mount(mount, sizeof(mount));
		if (err) {
			pf_err(
			    "egress hooks: no cgroup2 hierarchy mounted (in a container: mount the "
			    "host's /sys/fs/cgroup): %s",
			    strerror(-err));
			return err;
		}
		root = mount;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pf_err("egress hooks: open the cgroup2 root %s: %s", root, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < sizeof(net_progs) / sizeof(*net_progs) && !err; i++) {
		struct bpf_link *link = bpf_program__attach_cgroup(net_prog(ks->skel, i), fd);

		if (!link) {
			err = -errno;
			pf_err("attach %s to %s: %s", net_progs[i][0], root, strerror(-err));
			break;
		}
		ks->links[ks->n_links++] = link;
		if (opts->pin_dir) {
			err = pin_link_replacing(ks, link, net_progs[i][1]);
			if (err)
				pf_err("pin %s/%s: %s", ks->pin_dir, net_progs[i][1],
				       strerror(-err));
		}
	}
	close(fd);
	return err;
}

static int attach_all(struct pf_kstore *ks, const struct pf_kstore_opts *opts)
{
	struct bpf_program *progs[] = {
	    exec_prog(ks->skel, ks->backend),
	    ks->skel->progs.tp_cgroup_mkdir,
	    ks->skel->progs.tp_cgroup_rmdir,
	};
	int err;

	for (int i = 0; i < 3; i++) {
		struct bpf_link *link = bpf_program__attach(progs[i]);

		if (!link) {
			err = -errno;
			pf_err("attach %s: %s", bpf_program__name(progs[i]), strerror(-err));
			return err;
		}
		ks->links[ks->n_links++] = link;
		if (opts->pin_dir) {
			err = pin_link_replacing(ks, link, link_names[i]);
			if (err) {
				pf_err("pin %s/%s: %s", ks->pin_dir, link_names[i], strerror(-err));
				return err;
			}
		}
	}
	return attach_net(ks, opts);
}

static int pin_maps(struct pf_kstore *ks)
{
	char path[320];
	int err;

	for (size_t i = 0; i < sizeof(pinned_maps) / sizeof(*pinned_maps); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(ks->skel->obj, pinned_maps[i]);

		if (!map || bpf_map__is_pinned(map))
			continue; /* a map of the other build, or reused */
		err = pin_path(ks, pinned_maps[i], path, sizeof(path));
		if (!err && access(path, F_OK) == 0)
			continue; /* reused: already pinned there */
		if (!err)
			err = bpf_map__pin(map, path);
		if (err) {
			pf_err("pin %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int meta_read(struct pf_kstore *ks, struct pf_meta *m)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(ks->skel->maps.meta), &zero, m))
		return -errno;
	return 0;
}

static int meta_write(struct pf_kstore *ks, const struct pf_meta *m)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(ks->skel->maps.meta), &zero, m, BPF_ANY))
		return -errno;
	return 0;
}

int pf_kstore_open(struct pf_kstore **out, const struct pf_kstore_opts *opts, bool *took_over)
{
	struct pf_kstore *ks;
	struct pf_meta meta;
	bool reused = false;
	int err;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return -ENOMEM;
	if (opts->pin_dir) {
		if (snprintf(ks->pin_dir, sizeof(ks->pin_dir), "%s", opts->pin_dir) >=
		    (int)sizeof(ks->pin_dir)) {
			err = -ENAMETOOLONG;
			goto err_out;
		}
		if (mkdir(ks->pin_dir, 0700) && errno != EEXIST) {
			err = -errno;
			pf_err("create %s: %s (is bpffs mounted at its parent?)", ks->pin_dir,
			       strerror(-err));
			goto err_out;
		}
		ks->pinned = true;
	}
	err = probe_and_load(ks, opts, &reused);
	if (err)
		goto err_out;
	ks->store.ops = &kstore_ops;
	ks->store.sees_caller = pf_kstore_sees_caller(ks);

	err = meta_read(ks, &meta);
	if (err)
		goto err_out;
	if (!meta.next_set_id) { /* fresh state: ids start at 1 (0 means none) */
		meta.next_set_id = 1;
		meta.next_wl_id = 1;
		meta.next_policy_id = 1;
	}
	meta.backend = ks->backend;
	meta.generation++;
	err = meta_write(ks, &meta);
	if (err)
		goto err_out;

	if (ks->pinned) {
		err = pin_maps(ks);
		if (err)
			goto err_out;
	}
	if (opts->attach) {
		err = attach_all(ks, opts);
		if (err)
			goto err_out;
	}
	pf_info("backend %s loaded%s%s (generation %llu)", pf_backend_name(ks->backend),
		ks->compat ? " (compat programs)" : "", reused ? ", pinned state taken over" : "",
		(unsigned long long)meta.generation);
	if (took_over)
		*took_over = reused;
	*out = ks;
	return 0;

err_out:
	pf_kstore_close(ks);
	return err;
}

void pf_kstore_close(struct pf_kstore *ks)
{
	if (!ks)
		return;
	ring_buffer__free(ks->rb);
	for (int i = 0; i < ks->n_links; i++)
		bpf_link__destroy(ks->links[i]); /* pinned links stay attached */
	podfence_bpf__destroy(ks->skel);
	free(ks);
}

int pf_kstore_unpin(const char *pin_dir)
{
	char path[320];
	int err = 0;

	for (size_t i = 0; i < sizeof(link_names) / sizeof(*link_names); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, link_names[i]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	for (size_t i = 0; i < sizeof(net_progs) / sizeof(*net_progs); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, net_progs[i][1]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	for (size_t i = 0; i < sizeof(pinned_maps) / sizeof(*pinned_maps); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned_maps[i]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		err = err ? err : -errno;
	return err;
}

/* Reserves ids in blocks: the pinned high-water mark is written before any id is used. */
static int alloc_id(struct pf_kstore *ks, struct id_range *r, size_t field, uint32_t *id)
{
	struct pf_meta meta;
	uint32_t *next;
	int err;

	if (r->next == r->end) {
		err = meta_read(ks, &meta);
		if (err)
			return err;
		next = (uint32_t *)((char *)&meta + field);
		if (*next > UINT32_MAX / 2 - ID_BLOCK) /* bit 31 marks large workloads */
			return -ENOSPC;
		r->next = *next;
		r->end = *next + ID_BLOCK;
		*next = r->end;
		err = meta_write(ks, &meta);
		if (err)
			return err;
	}
	*id = r->next++;
	return 0;
}

int pf_kstore_alloc_set_id(struct pf_kstore *ks, uint32_t *id)
{
	return alloc_id(ks, &ks->set_ids, offsetof(struct pf_meta, next_set_id), id);
}

int pf_kstore_alloc_wl_id(struct pf_kstore *ks, bool large, uint32_t *id)
{
	/* Both classes draw from one counter; the class is bit 31 of the id. */
	int err = alloc_id(ks, &ks->wl_ids, offsetof(struct pf_meta, next_wl_id), id);

	if (!err && large)
		*id |= PF_WL_LARGE;
	return err;
}

int pf_kstore_alloc_policy_id(struct pf_kstore *ks, uint32_t *id)
{
	return alloc_id(ks, &ks->policy_ids, offsetof(struct pf_meta, next_policy_id), id);
}

static void full_msg(const struct pf_kstore *ks, enum pf_kmap m, char *buf, size_t len)
{
	if (buf)
		snprintf(buf, len, "map %s full (%u entries)", kmap_names[m],
			 pf_kstore_capacity(ks, m));
}

/*
 * A failed update of map m, as the caller reports it: a full map (a hash map
 * says E2BIG, an LPM trie ENOSPC, an allocation ENOMEM) is -E2BIG with the
 * map's name and size; anything else keeps its errno, named.
 */
static int map_write_err(const struct pf_kstore *ks, enum pf_kmap m, int err, char *err_msg,
			 size_t err_len)
{
	if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM) {
		full_msg(ks, m, err_msg, err_len);
		return -E2BIG;
	}
	if (err_msg)
		snprintf(err_msg, err_len, "map %s: %s", kmap_names[m], strerror(-err));
	return err;
}

/* Key of one value in its map; returns the map or -1. */
static int value_key(const struct pf_kstore *ks, enum pf_match match, uint32_t set_id,
		     const char *v, void *key, enum pf_kmap *m, uint8_t *tier)
{
	size_t len = strlen(v);
	struct pf_exact_key_l *ek = key;
	struct pf_affix_key *ak = key;

	memset(key, 0, sizeof(struct pf_exact_key_l));
	switch (match) {
	case PF_MATCH_EXACT:
		*tier = pf_exact_tier(len);
		if (!*tier)
			return -EINVAL;
		ek->set_id = set_id;
		ek->len = len;
		memcpy(ek->path, v, len);
		*m = *tier == PF_TIER_S	  ? PF_KMAP_EXACT_S
		     : *tier == PF_TIER_M ? PF_KMAP_EXACT_M
					  : PF_KMAP_EXACT_L;
		return 0;
	case PF_MATCH_PREFIX:
	case PF_MATCH_SUFFIX:
		if (len == 0 || len > PF_AFFIX_MAX)
			return -EINVAL;
		ak->prefixlen = 32 + 8 * len;
		ak->set_id_be = htonl(set_id);
		for (size_t i = 0; i < len; i++)
			ak->path[i] = match == PF_MATCH_PREFIX ? v[i] : v[len - 1 - i];
		*m = match == PF_MATCH_PREFIX ? PF_KMAP_PREFIX : PF_KMAP_SUFFIX;
		*tier = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

static void net_set_delete(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			   const struct pf_strset *values)
{
	struct pf_net_key keys[32];

	for (size_t i = 0; i < values->n; i++) {
		int n = pf_net_value_keys(match, set_id, values->v[i], keys);

		for (int k = 0; k < n; k++)
			bpf_map_delete_elem(kmap_fd(ks, PF_KMAP_NET_VALUES), &keys[k]);
	}
}

static int net_set_write(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			 const struct pf_strset *values, char *err_msg, size_t err_len)
{
	const uint8_t present = 1;
	struct pf_net_key keys[32];
	enum pf_kmap m = PF_KMAP_NET_VALUES;
	size_t i;
	int err;

	for (i = 0; i < values->n; i++) {
		int n = pf_net_value_keys(match, set_id, values->v[i], keys);

		if (n < 0) {
			if (err_msg)
				snprintf(err_msg, err_len, "value \"%.64s\" is not a %s",
					 values->v[i],
					 match == PF_MATCH_CIDR ? "CIDR" : "port range");
			err = -EINVAL;
			goto rollback;
		}
		for (int k = 0; k < n; k++) {
			if (!bpf_map_update_elem(kmap_fd(ks, m), &keys[k], &present, BPF_ANY))
				continue;
			err = map_write_err(ks, m, -errno, err_msg, err_len);
			goto rollback;
		}
	}
	return 0;

rollback : {
	/* the failed value's keys too: some may be written */
	struct pf_strset written = {.v = values->v, .n = i + 1};

	net_set_delete(ks, set_id, match, &written);
	return err;
}
}

/*
 * The compat build's long exact values (abi.h, struct pf_exact_key_chunk):
 * chunk i of value v, after the link its predecessor's entry holds.
 */
static void chunk_key(struct pf_exact_key_chunk *k, uint32_t set_id, const char *v, size_t len,
		      size_t i, uint32_t link)
{
	size_t off = i * PF_EXACT_CHUNK,
	       n = len - off < PF_EXACT_CHUNK ? len - off : PF_EXACT_CHUNK;

	memset(k, 0, sizeof(*k));
	k->set_id = set_id;
	k->len = len;
	k->link = link;
	memcpy(k->part, v + off, n);
}

static size_t chunk_count(size_t len)
{
	return (len + PF_EXACT_CHUNK - 1) / PF_EXACT_CHUNK;
}

/*
 * Writes v's chain, sharing the chunks it has in common with values of the
 * set written before (same length, same start). *links: the last link the
 * set's write handed out (sets are written whole, once). The last chunk's
 * entry is 1, which no chunk follows (the length says which is last).
 */
static int chunks_write(struct pf_kstore *ks, uint32_t set_id, const char *v, uint32_t *links)
{
	int fd = kmap_fd(ks, PF_KMAP_EXACT_L);
	size_t len = strlen(v), n = chunk_count(len);
	struct pf_exact_key_chunk k;
	uint32_t link = 0, next;

	for (size_t i = 0; i < n; i++) {
		chunk_key(&k, set_id, v, len, i, link);
		if (bpf_map_lookup_elem(fd, &k, &next)) {
			next = i + 1 == n ? 1 : ++*links;
			if (bpf_map_update_elem(fd, &k, &next, BPF_NOEXIST))
				return -errno; /* the caller deletes the set's chains */
		}
		link = next;
	}
	return 0;
}

/* Deletes the chains of the values (all of them read before any is deleted: they share chunks). */
static void chunks_delete(struct pf_kstore *ks, uint32_t set_id, const struct pf_strset *values)
{
	int fd = kmap_fd(ks, PF_KMAP_EXACT_L);
	struct pf_exact_key_chunk *keys;
	size_t n_keys = 0;

	keys = calloc(values->n * PF_EXACT_CHUNKS + 1, sizeof(*keys));
	if (!keys)
		return; /* left to pf_kstore_gc_sets, which drops every entry of a dead set */
	for (size_t v = 0; v < values->n; v++) {
		size_t len = strlen(values->v[v]);
		uint32_t link = 0;

		if (pf_exact_tier(len) != PF_TIER_L)
			continue;
		for (size_t i = 0; i < chunk_count(len); i++) {
			chunk_key(&keys[n_keys], set_id, values->v[v], len, i, link);
			if (bpf_map_lookup_elem(fd, &keys[n_keys], &link))
				break;
			n_keys++;
		}
	}
	for (size_t i = 0; i < n_keys; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	free(keys);
}

/* Appends to out the values of set_id whose chains start at `link` with prefix[0..off). */
static int chunks_read(int fd, uint32_t set_id, uint32_t len, uint32_t link, char *prefix,
		       size_t off, struct pf_strset *out)
{
	struct pf_exact_key_chunk key, next;
	void *prev = NULL;
	uint32_t value;
	int err = 0;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		size_t n;

		key = next;
		prev = &key;
		if (key.set_id != set_id || key.len != len || key.link != link ||
		    bpf_map_lookup_elem(fd, &key, &value))
			continue;
		n = len - off < PF_EXACT_CHUNK ? len - off : PF_EXACT_CHUNK;
		memcpy(prefix + off, key.part, n);
		if (off + n >= len) {
			prefix[len] = 0;
			err = pf_strset_add(out, prefix) < 0 ? -ENOMEM : 0;
		} else {
			err = chunks_read(fd, set_id, len, value, prefix, off + n, out);
		}
	}
	return err;
}

/* The long values of set_id: every chain from its first chunks. */
static int chunks_values(struct pf_kstore *ks, uint32_t set_id, struct pf_strset *out)
{
	int fd = kmap_fd(ks, PF_KMAP_EXACT_L), err = 0;
	struct pf_exact_key_chunk key, next;
	char path[PF_EXACT_CHUNKS * PF_EXACT_CHUNK + 1];
	bool done[PF_EXACT_MAX + 1] = {}; /* lengths read: each read finds all of its chains */
	void *prev = NULL;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.set_id != set_id || key.link != 0 || key.len > PF_EXACT_MAX ||
		    done[key.len])
			continue;
		done[key.len] = true;
		err = chunks_read(fd, set_id, key.len, 0, path, 0, out);
	}
	return err;
}

void pf_kstore_set_delete(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			  const struct pf_strset *values)
{
	if (match == PF_MATCH_CIDR || match == PF_MATCH_PORT) {
		net_set_delete(ks, set_id, match, values);
		return;
	}
	struct pf_exact_key_l key;
	enum pf_kmap m;
	uint8_t tier;

	if (ks->compat && match == PF_MATCH_EXACT)
		chunks_delete(ks, set_id, values);
	for (size_t i = 0; i < values->n; i++)
		if (!value_key(ks, match, set_id, values->v[i], &key, &m, &tier) &&
		    !(ks->compat && m == PF_KMAP_EXACT_L))
			bpf_map_delete_elem(kmap_fd(ks, m), &key);
}

int pf_kstore_set_write(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			const struct pf_strset *values, uint8_t *tiers, char *err_msg,
			size_t err_len)
{
	struct pf_exact_key_l key;
	const uint8_t present = 1;
	enum pf_kmap m;
	uint32_t links = 0;
	uint8_t tier;
	size_t i;
	int err;

	*tiers = 0;
	if (match == PF_MATCH_CIDR || match == PF_MATCH_PORT)
		return net_set_write(ks, set_id, match, values, err_msg, err_len);
	for (i = 0; i < values->n; i++) {
		err = value_key(ks, match, set_id, values->v[i], &key, &m, &tier);
		if (err) {
			if (err_msg)
				snprintf(err_msg, err_len, "value \"%.64s\" has an invalid length",
					 values->v[i]);
			goto rollback;
		}
		if (ks->compat && m == PF_KMAP_EXACT_L) {
			err = chunks_write(ks, set_id, values->v[i], &links);
			if (err) {
				i++; /* its chunks written so far go with the others */
				err = map_write_err(ks, m, err, err_msg, err_len);
				goto rollback;
			}
		} else if (bpf_map_update_elem(kmap_fd(ks, m), &key, &present, BPF_ANY)) {
			err = map_write_err(ks, m, -errno, err_msg, err_len);
			goto rollback;
		}
		*tiers |= tier;
	}
	return 0;

rollback : {
	struct pf_strset written = {.v = values->v, .n = i};

	pf_kstore_set_delete(ks, set_id, match, &written);
	return err;
}
}

int pf_kstore_ruleset_write(struct pf_kstore *ks, uint32_t wl_id, const struct pf_ruleset *rs,
			    char *err_msg, size_t err_len)
{
	bool large = wl_id & PF_WL_LARGE;
	size_t cap = large ? PF_MAX_RULES : PF_SMALL_RULES;
	enum pf_kmap m = large ? PF_KMAP_WORKLOADS_LARGE : PF_KMAP_WORKLOADS;

	if (rs->n_rules > cap) {
		if (err_msg)
			snprintf(err_msg, err_len, "%u rules apply to one workload (at most %zu)",
				 rs->n_rules, cap);
		return -E2BIG;
	}
	/* One element update: an exec sees the old ruleset or the new one. */
	if (bpf_map_update_elem(kmap_fd(ks, m), &wl_id, rs, BPF_ANY))
		return map_write_err(ks, m, -errno, err_msg, err_len);
	return 0;
}

int pf_kstore_net_ruleset_write(struct pf_kstore *ks, uint32_t wl_id,
				const struct pf_net_ruleset *rs, char *err_msg, size_t err_len)
{
	if (rs->n_rules > PF_NET_MAX_RULES) {
		if (err_msg)
			snprintf(err_msg, err_len,
				 "%u egress rules apply to one workload (at most %d)", rs->n_rules,
				 PF_NET_MAX_RULES);
		return -E2BIG;
	}
	/* One element update: a connect sees the old rules or the new ones. */
	if (bpf_map_update_elem(kmap_fd(ks, PF_KMAP_NET_RULES), &wl_id, rs, BPF_ANY))
		return map_write_err(ks, PF_KMAP_NET_RULES, -errno, err_msg, err_len);
	return 0;
}

void pf_kstore_net_ruleset_delete(struct pf_kstore *ks, uint32_t wl_id)
{
	bpf_map_delete_elem(kmap_fd(ks, PF_KMAP_NET_RULES), &wl_id);
}

int pf_kstore_net_ruleset_read(struct pf_kstore *ks, uint32_t wl_id, struct pf_net_ruleset *out)
{
	if (bpf_map_lookup_elem(kmap_fd(ks, PF_KMAP_NET_RULES), &wl_id, out))
		return -errno;
	return 0;
}

void pf_kstore_ruleset_delete(struct pf_kstore *ks, uint32_t wl_id)
{
	enum pf_kmap m = wl_id & PF_WL_LARGE ? PF_KMAP_WORKLOADS_LARGE : PF_KMAP_WORKLOADS;

	bpf_map_delete_elem(kmap_fd(ks, m), &wl_id);
}

/* Moves a bound cgroup to another workload in place (program cg_rebind); -ENOENT if unbound. */
static int cgroup_rebind(struct pf_kstore *ks, uint64_t cgroup_id, uint32_t wl_id, uint32_t flags)
{
	__u64 args[3] = {cgroup_id, wl_id, flags};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	if (bpf_prog_test_run_opts(bpf_program__fd(ks->skel->progs.cg_rebind), &opts))
		return -errno;
	return opts.retval ? -ENOENT : 0;
}

int pf_kstore_cgroup_lookup(struct pf_kstore *ks, uint64_t cgroup_id, struct pf_cg_binding *out)
{
	if (bpf_map_lookup_elem(kmap_fd(ks, PF_KMAP_CGROUPS), &cgroup_id, out))
		return -errno;
	return 0;
}

int pf_kstore_ruleset_read(struct pf_kstore *ks, uint32_t wl_id, struct pf_ruleset *out)
{
	enum pf_kmap m = wl_id & PF_WL_LARGE ? PF_KMAP_WORKLOADS_LARGE : PF_KMAP_WORKLOADS;

	/* The small class's layout is the large one's head: the rest stays zero. */
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(kmap_fd(ks, m), &wl_id, out))
		return -errno;
	return 0;
}

/* Adds to out the values of set_id found in one value map. */
static int set_values_in(struct pf_kstore *ks, enum pf_kmap m, uint32_t set_id,
			 struct pf_strset *out)
{
	union {
		struct pf_exact_key_l exact;
		struct pf_affix_key affix;
	} key, next;
	int fd = kmap_fd(ks, m), err = 0;
	void *prev = NULL;
	char path[PF_EXACT_MAX + 1];

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		size_t len = 0;

		key = next;
		prev = &key;
		if (m == PF_KMAP_PREFIX || m == PF_KMAP_SUFFIX) {
			if (ntohl(key.affix.set_id_be) != set_id || key.affix.prefixlen < 32)
				continue;
			len = (key.affix.prefixlen - 32) / 8;
			for (size_t i = 0; i < len && i < PF_AFFIX_MAX; i++)
				path[i] = m == PF_KMAP_PREFIX ? key.affix.path[i]
							      : key.affix.path[len - 1 - i];
		} else {
			if (key.exact.set_id != set_id || key.exact.len > PF_EXACT_MAX)
				continue;
			len = key.exact.len;
			memcpy(path, key.exact.path, len);
		}
		path[len] = 0;
		err = pf_strset_add(out, path) < 0 ? -ENOMEM : 0;
	}
	return err;
}

int pf_kstore_set_values(struct pf_kstore *ks, uint32_t set_id, enum pf_match match,
			 struct pf_strset *out)
{
	int err = 0;

	switch (match) {
	case PF_MATCH_EXACT:
		err = set_values_in(ks, PF_KMAP_EXACT_S, set_id, out);
		if (!err)
			err = set_values_in(ks, PF_KMAP_EXACT_M, set_id, out);
		if (!err)
			err = ks->compat ? chunks_values(ks, set_id, out)
					 : set_values_in(ks, PF_KMAP_EXACT_L, set_id, out);
		return err;
	case PF_MATCH_PREFIX:
		return set_values_in(ks, PF_KMAP_PREFIX, set_id, out);
	case PF_MATCH_SUFFIX:
		return set_values_in(ks, PF_KMAP_SUFFIX, set_id, out);
	default:
		return -EINVAL;
	}
}

int pf_kstore_cgroup_bind(struct pf_kstore *ks, uint64_t cgroup_id, uint32_t wl_id, uint32_t flags,
			  uint32_t mntns_hint, char *err_msg, size_t err_len)
{
	struct pf_cg_binding b = {.wl_id = wl_id, .mntns_inum = mntns_hint, .flags = flags};
	int err;

	if (!bpf_map_update_elem(kmap_fd(ks, PF_KMAP_CGROUPS), &cgroup_id, &b, BPF_NOEXIST))
		return 0;
	err = -errno;
	/* Already bound (by us, or by the kernel at its creation): keep its anchor. */
	if (err == -EEXIST)
		err = cgroup_rebind(ks, cgroup_id, wl_id, flags);
	return err ? map_write_err(ks, PF_KMAP_CGROUPS, err, err_msg, err_len) : 0;
}

void pf_kstore_cgroup_unbind(struct pf_kstore *ks, uint64_t cgroup_id)
{
	bpf_map_delete_elem(kmap_fd(ks, PF_KMAP_CGROUPS), &cgroup_id);
}

static int cg_name_key(const char *name, struct pf_cg_name *key)
{
	size_t n = strlen(name);

	if (!n || n >= sizeof(key->name))
		return -ENAMETOOLONG;
	memset(key, 0, sizeof(*key));
	memcpy(key->name, name, n);
	return 0;
}

int pf_kstore_cgroup_expect(struct pf_kstore *ks, const char *name, uint32_t wl_id, uint32_t flags,
			    char *err_msg, size_t err_len)
{
	struct pf_cg_expect v = {.wl_id = wl_id, .flags = flags};
	struct pf_cg_name key;
	int err = cg_name_key(name, &key);

	if (err) {
		if (err_msg)
			snprintf(err_msg, err_len, "cgroup name \"%.64s\" longer than %d bytes",
				 name, PF_CG_NAME_MAX - 1);
		return err;
	}
	if (!bpf_map_update_elem(kmap_fd(ks, PF_KMAP_CG_EXPECT), &key, &v, BPF_ANY))
		return 0;
	err = -errno;
	if (err == -E2BIG || err == -ENOMEM) {
		full_msg(ks, PF_KMAP_CG_EXPECT, err_msg, err_len);
		return -E2BIG;
	}
	if (err_msg)
		snprintf(err_msg, err_len, "map cg_expect: %s", strerror(-err));
	return err;
}

void pf_kstore_cgroup_unexpect(struct pf_kstore *ks, const char *name)
{
	struct pf_cg_name key;

	if (!cg_name_key(name, &key))
		bpf_map_delete_elem(kmap_fd(ks, PF_KMAP_CG_EXPECT), &key);
}

int pf_kstore_cg_overflow(struct pf_kstore *ks, uint64_t *events, uint64_t *acked)
{
	int fd = bpf_map__fd(ks->skel->maps.cg_overflow);
	__u32 k0 = PF_CG_OVERFLOW_EVENTS, k1 = PF_CG_OVERFLOW_ACKED;

	if (bpf_map_lookup_elem(fd, &k0, events) || bpf_map_lookup_elem(fd, &k1, acked))
		return -errno;
	return 0;
}

int pf_kstore_cg_overflow_ack(struct pf_kstore *ks, uint64_t acked)
{
	__u32 k = PF_CG_OVERFLOW_ACKED;

	/* Only user space writes this slot: the kernel's count is never overwritten. */
	if (bpf_map_update_elem(bpf_map__fd(ks->skel->maps.cg_overflow), &k, &acked, BPF_ANY))
		return -errno;
	return 0;
}

int pf_kstore_counters_create(struct pf_kstore *ks, uint32_t policy_id)
{
	struct pf_policy_counters zero = {};
	char msg[96];
	int err;

	if (!bpf_map_update_elem(kmap_fd(ks, PF_KMAP_POLICIES), &policy_id, &zero, BPF_NOEXIST) ||
	    errno == EEXIST)
		return 0;
	err = -errno;
	if (err != -E2BIG && err != -ENOMEM)
		return err;
	/*
	 * The policy is enforced without its counters (the program skips a
	 * missing entry): never silently. Logged at powers of two to bound the log.
	 */
	ks->counters_full++;
	if (!(ks->counters_full & (ks->counters_full - 1))) {
		full_msg(ks, PF_KMAP_POLICIES, msg, sizeof(msg));
		pf_err("%s: policy %u is enforced without counters (%lu so far)", msg, policy_id,
		       ks->counters_full);
	}
	return -E2BIG;
}

void pf_kstore_counters_delete(struct pf_kstore *ks, uint32_t policy_id)
{
	bpf_map_delete_elem(kmap_fd(ks, PF_KMAP_POLICIES), &policy_id);
}

int pf_kstore_counters_read(struct pf_kstore *ks, uint32_t policy_id,
			    struct pf_policy_counters *out)
{
	if (bpf_map_lookup_elem(kmap_fd(ks, PF_KMAP_POLICIES), &policy_id, out))
		return -errno;
	return 0;
}

int pf_kstore_stats(struct pf_kstore *ks, uint64_t out[PF_STAT__MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < PF_STAT__MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(ks->skel->maps.stats), &i, vals)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return err;
}

int pf_kstore_barrier(struct pf_kstore *ks)
{
	int inner = bpf_map__fd(ks->skel->maps.barrier_inner);
	__u32 zero = 0;

	/* The kernel runs synchronize_rcu() after a map-in-map update. */
	if (bpf_map_update_elem(bpf_map__fd(ks->skel->maps.barrier), &zero, &inner, BPF_ANY))
		return -errno;
	return 0;
}

uint64_t pf_fdinfo_u64(int fd, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtoull(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static uint64_t count_keys(int fd, size_t key_size)
{
	char key[sizeof(struct pf_exact_key_l)], next[sizeof(struct pf_exact_key_l)];
	uint64_t n = 0;
	void *prev = NULL;

	if (key_size > sizeof(key))
		return 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

int pf_kstore_usage(struct pf_kstore *ks, struct pf_kmap_usage *out, int n)
{
	struct bpf_map *map;
	int i = 0;

	bpf_object__for_each_map(map, ks->skel->obj)
	{
		enum bpf_map_type t = bpf_map__type(map);
		int fd = bpf_map__fd(map);

		if (i >= n)
			break;
		out[i].name = bpf_map__name(map);
		out[i].max_entries = bpf_map__max_entries(map);
		out[i].memlock = pf_fdinfo_u64(fd, "memlock");
		if (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LPM_TRIE)
			out[i].entries = count_keys(fd, bpf_map__key_size(map));
		else if (t == BPF_MAP_TYPE_RINGBUF)
			out[i].entries = 0;
		else
			out[i].entries = out[i].max_entries;
		i++;
	}
	return i;
}

/* Collects the keys `drop` selects, then deletes them (deleting while iterating restarts it). */
static int gc_map(int fd, size_t key_size, size_t value_size,
		  bool (*drop)(const void *key, const void *value, void *ctx), void *ctx)
{
	char *keys = NULL, cur[sizeof(struct pf_exact_key_l)], next[sizeof(struct pf_exact_key_l)];
	char value[sizeof(struct pf_ruleset)];
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(cur, next, key_size);
		prev = cur;
		if (value_size && bpf_map_lookup_elem(fd, cur, value))
			continue;
		if (!drop(cur, value, ctx))
			continue;
		if (n == cap) {
			char *k = realloc(keys, (cap = cap ? cap * 2 : 256) * key_size);

			if (!k) {
				err = -ENOMEM;
				goto out;
			}
			keys = k;
		}
		memcpy(keys + n++ * key_size, cur, key_size);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
out:
	free(keys);
	return err;
}

struct gc_ctx {
	void *fn;
	void *ctx;
	bool affix; /* LPM key: set id is the second, big-endian word */
};

static bool gc_cg(const void *key, const void *value, void *c)
{
	struct gc_ctx *g = c;
	bool (*fn)(uint64_t, uint32_t, void *) = g->fn;

	return fn(*(const uint64_t *)key, ((const struct pf_cg_binding *)value)->wl_id, g->ctx);
}

static bool gc_u32(const void *key, const void *value, void *c)
{
	struct gc_ctx *g = c;
	bool (*fn)(uint32_t, void *) = g->fn;

	return fn(*(const uint32_t *)key, g->ctx);
}

static bool gc_set(const void *key, const void *value, void *c)
{
	struct gc_ctx *g = c;
	bool (*fn)(uint32_t, void *) = g->fn;
	const uint32_t *w = key;

	return fn(g->affix ? ntohl(w[1]) : w[0], g->ctx);
}

int pf_kstore_gc_cgroups(struct pf_kstore *ks, bool (*drop)(uint64_t cgid, uint32_t wl, void *ctx),
			 void *ctx)
{
	struct gc_ctx g = {(void *)drop, ctx, false};

	return gc_map(kmap_fd(ks, PF_KMAP_CGROUPS), 8, sizeof(struct pf_cg_binding), gc_cg, &g);
}

static bool gc_name(const void *key, const void *value, void *c)
{
	struct gc_ctx *g = c;
	bool (*fn)(const char *, void *) = g->fn;
	char name[PF_CG_NAME_MAX + 1];

	memcpy(name, ((const struct pf_cg_name *)key)->name, PF_CG_NAME_MAX);
	name[PF_CG_NAME_MAX] = 0;
	return fn(name, g->ctx);
}

int pf_kstore_gc_expected(struct pf_kstore *ks, bool (*drop)(const char *name, void *ctx),
			  void *ctx)
{
	struct gc_ctx g = {(void *)drop, ctx, false};

	return gc_map(kmap_fd(ks, PF_KMAP_CG_EXPECT), sizeof(struct pf_cg_name), 0, gc_name, &g);
}

int pf_kstore_gc_workloads(struct pf_kstore *ks, bool (*drop)(uint32_t wl, void *ctx), void *ctx)
{
	struct gc_ctx g = {(void *)drop, ctx, false};
	int err;

	err = gc_map(kmap_fd(ks, PF_KMAP_WORKLOADS), 4, 0, gc_u32, &g);
	if (!err)
		err = gc_map(kmap_fd(ks, PF_KMAP_WORKLOADS_LARGE), 4, 0, gc_u32, &g);
	if (!err)
		err = gc_map(kmap_fd(ks, PF_KMAP_NET_RULES), 4, 0, gc_u32, &g);
	return err;
}

int pf_kstore_gc_sets(struct pf_kstore *ks, bool (*drop)(uint32_t set_id, void *ctx), void *ctx)
{
	static const enum pf_kmap maps[] = {PF_KMAP_EXACT_S, PF_KMAP_EXACT_M, PF_KMAP_EXACT_L,
					    PF_KMAP_PREFIX,  PF_KMAP_SUFFIX,  PF_KMAP_NET_VALUES};
	int err = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(*maps) && !err; i++) {
		struct bpf_map *map = kmap(ks, maps[i]);
		/* LPM keys: the set id is the second, big-endian word */
		bool lpm = bpf_map__type(map) == BPF_MAP_TYPE_LPM_TRIE;
		struct gc_ctx g = {(void *)drop, ctx, lpm};

		err = gc_map(bpf_map__fd(map), bpf_map__key_size(map), 0, gc_set, &g);
	}
	return err;
}

int pf_kstore_gc_counters(struct pf_kstore *ks, bool (*drop)(uint32_t policy_id, void *ctx),
			  void *ctx)
{
	struct gc_ctx g = {(void *)drop, ctx, false};

	return gc_map(kmap_fd(ks, PF_KMAP_POLICIES), 4, 0, gc_u32, &g);
}

int pf_kstore_learned_read(struct pf_kstore *ks, const struct pf_learn_key *k,
			   struct pf_learn_seen *out)
{
	if (bpf_map_lookup_elem(kmap_fd(ks, PF_KMAP_LEARNED), k, out))
		return -errno;
	return 0;
}

struct learned_walk {
	pf_learned_fn fn;
	void *ctx;
};

static bool learned_step(const void *key, const void *value, void *c)
{
	struct learned_walk *w = c;

	return w->fn(key, value, w->ctx);
}

int pf_kstore_learned_walk(struct pf_kstore *ks, pf_learned_fn fn, void *ctx)
{
	struct learned_walk w = {fn, ctx};

	return gc_map(kmap_fd(ks, PF_KMAP_LEARNED), sizeof(struct pf_learn_key),
		      sizeof(struct pf_learn_seen), learned_step, &w);
}

struct session_walk {
	bool (*gone)(uint32_t tgid, void *ctx);
	void *ctx;
};

static bool session_step(const void *key, const void *value, void *c)
{
	struct session_walk *w = c;

	return w->gone(*(const uint32_t *)key, w->ctx);
}

int pf_kstore_sessions_gc(struct pf_kstore *ks, bool (*gone)(uint32_t tgid, void *ctx), void *ctx)
{
	struct session_walk w = {gone, ctx};

	return gc_map(bpf_map__fd(ks->skel->maps.session_procs), sizeof(uint32_t), sizeof(uint64_t),
		      session_step, &w);
}

int pf_kstore_events_open(struct pf_kstore *ks, pf_event_fn fn, void *ctx)
{
	ks->rb = ring_buffer__new(bpf_map__fd(ks->skel->maps.events), (ring_buffer_sample_fn)fn,
				  ctx, NULL);
	if (!ks->rb)
		return -errno;
	return ring_buffer__epoll_fd(ks->rb);
}

int pf_kstore_events_poll(struct pf_kstore *ks, int timeout_ms)
{
	return ks->rb ? ring_buffer__poll(ks->rb, timeout_ms) : -EBADF;
}

/* ---- the engine's store (include/podfence/store.h) ---- */

static struct pf_kstore *ks_of(struct pf_store *st)
{
	return (struct pf_kstore *)((char *)st - offsetof(struct pf_kstore, store));
}

static int ks_alloc_id(struct pf_store *st, enum pf_id_kind kind, uint32_t *id)
{
	switch (kind) {
	case PF_ID_SET:
		return pf_kstore_alloc_set_id(ks_of(st), id);
	case PF_ID_WORKLOAD:
	case PF_ID_WORKLOAD_LARGE:
		return pf_kstore_alloc_wl_id(ks_of(st), kind == PF_ID_WORKLOAD_LARGE, id);
	case PF_ID_POLICY:
		return pf_kstore_alloc_policy_id(ks_of(st), id);
	}
	return -EINVAL;
}

static int ks_set_write(struct pf_store *st, uint32_t set_id, enum pf_match match,
			const struct pf_strset *values, char *err, size_t err_len)
{
	uint8_t tiers;

	return pf_kstore_set_write(ks_of(st), set_id, match, values, &tiers, err, err_len);
}

static void ks_set_delete(struct pf_store *st, uint32_t set_id, enum pf_match match,
			  const struct pf_strset *values)
{
	pf_kstore_set_delete(ks_of(st), set_id, match, values);
}

static int ks_ruleset_write(struct pf_store *st, uint32_t wl_id, const struct pf_ruleset *rs,
			    char *err, size_t err_len)
{
	return pf_kstore_ruleset_write(ks_of(st), wl_id, rs, err, err_len);
}

static void ks_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	pf_kstore_ruleset_delete(ks_of(st), wl_id);
}

static int ks_cgroup_bind(struct pf_store *st, uint64_t cgid, uint32_t wl_id, uint32_t flags,
			  uint32_t hint, char *err, size_t err_len)
{
	return pf_kstore_cgroup_bind(ks_of(st), cgid, wl_id, flags, hint, err, err_len);
}

static void ks_cgroup_unbind(struct pf_store *st, uint64_t cgid)
{
	pf_kstore_cgroup_unbind(ks_of(st), cgid);
}

static int ks_cgroup_lookup(struct pf_store *st, uint64_t cgid, struct pf_cg_binding *out)
{
	return pf_kstore_cgroup_lookup(ks_of(st), cgid, out);
}

static int ks_cgroup_expect(struct pf_store *st, const char *name, uint32_t wl_id, uint32_t flags,
			    char *err, size_t err_len)
{
	return pf_kstore_cgroup_expect(ks_of(st), name, wl_id, flags, err, err_len);
}

static void ks_cgroup_unexpect(struct pf_store *st, const char *name)
{
	pf_kstore_cgroup_unexpect(ks_of(st), name);
}

static int ks_cg_overflow(struct pf_store *st, uint64_t *events, uint64_t *acked)
{
	return pf_kstore_cg_overflow(ks_of(st), events, acked);
}

static int ks_cg_overflow_ack(struct pf_store *st, uint64_t acked)
{
	return pf_kstore_cg_overflow_ack(ks_of(st), acked);
}

static int ks_counters_create(struct pf_store *st, uint32_t policy_id)
{
	return pf_kstore_counters_create(ks_of(st), policy_id);
}

static void ks_counters_delete(struct pf_store *st, uint32_t policy_id)
{
	pf_kstore_counters_delete(ks_of(st), policy_id);
}

static int ks_counters_read(struct pf_store *st, uint32_t policy_id, struct pf_policy_counters *out)
{
	return pf_kstore_counters_read(ks_of(st), policy_id, out);
}

static int ks_barrier(struct pf_store *st)
{
	return pf_kstore_barrier(ks_of(st));
}

static int ks_gc_cgroups(struct pf_store *st, pf_store_drop_cgroup_fn drop, void *ctx)
{
	return pf_kstore_gc_cgroups(ks_of(st), drop, ctx);
}

static int ks_gc_expected(struct pf_store *st, pf_store_drop_name_fn drop, void *ctx)
{
	return pf_kstore_gc_expected(ks_of(st), drop, ctx);
}

static int ks_gc_workloads(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	return pf_kstore_gc_workloads(ks_of(st), drop, ctx);
}

static int ks_gc_sets(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	return pf_kstore_gc_sets(ks_of(st), drop, ctx);
}

static int ks_gc_counters(struct pf_store *st, pf_store_drop_id_fn drop, void *ctx)
{
	return pf_kstore_gc_counters(ks_of(st), drop, ctx);
}

static uint32_t ks_capacity(struct pf_store *st, enum pf_kmap m)
{
	return pf_kstore_capacity(ks_of(st), m);
}

static int ks_net_ruleset_write(struct pf_store *st, uint32_t wl_id,
				const struct pf_net_ruleset *rs, char *err, size_t err_len)
{
	return pf_kstore_net_ruleset_write(ks_of(st), wl_id, rs, err, err_len);
}

static void ks_net_ruleset_delete(struct pf_store *st, uint32_t wl_id)
{
	pf_kstore_net_ruleset_delete(ks_of(st), wl_id);
}

static const struct pf_store_ops kstore_ops = {
    .alloc_id = ks_alloc_id,
    .set_write = ks_set_write,
    .set_delete = ks_set_delete,
    .ruleset_write = ks_ruleset_write,
    .ruleset_delete = ks_ruleset_delete,
    .net_ruleset_write = ks_net_ruleset_write,
    .net_ruleset_delete = ks_net_ruleset_delete,
    .cgroup_bind = ks_cgroup_bind,
    .cgroup_unbind = ks_cgroup_unbind,
    .cgroup_lookup = ks_cgroup_lookup,
    .cgroup_expect = ks_cgroup_expect,
    .cgroup_unexpect = ks_cgroup_unexpect,
    .cg_overflow = ks_cg_overflow,
    .cg_overflow_ack = ks_cg_overflow_ack,
    .counters_create = ks_counters_create,
    .counters_delete = ks_counters_delete,
    .counters_read = ks_counters_read,
    .barrier = ks_barrier,
    .gc_cgroups = ks_gc_cgroups,
    .gc_workloads = ks_gc_workloads,
    .gc_sets = ks_gc_sets,
    .gc_counters = ks_gc_counters,
    .gc_expected = ks_gc_expected,
    .capacity = ks_capacity,
};

struct pf_store *pf_kstore_store(struct pf_kstore *ks)
{
	return &ks->store;
}
