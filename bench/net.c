// SPDX-License-Identifier: Apache-2.0
/*
 * Egress (bpf/net.bpf.h): what the egress programs cost a connect and an
 * unconnected UDP send, at N bindings, next to no podfence and next to one
 * program per policy on the same hook, and what a binding costs in kernel
 * memory.
 *
 *  1. latency, interleaved in one run: a small process in a real cgroup of
 *     the node, bound to a workload with an egress allowlist (10 CIDRs,
 *     127.0.0.0/8 among them, and a port set with the port used), times
 *     connect(2) to a loopback port with no listener (ECONNREFUSED: no
 *     accept queue) and sendto(2) on an unconnected UDP socket to
 *     127.0.0.1. N - 1 other (fake) cgroup ids are bound to workloads of
 *     their own, each with its own 10 CIDRs and ports. Every round measures
 *     one batch with nothing attached and one with podfence's egress
 *     programs attached at the cgroup2 root, in a random order: the ratio
 *     of the two batch medians is one paired sample; the figure is the
 *     median over the rounds.
 *  2. the same against K copies of a one-program-per-policy model
 *     (baseline_net.bpf.c), multi-attached at the cgroup2 root.
 *  3. BPF time per connect and per send: run_time_ns / run_cnt of
 *     net_connect4 and net_sendmsg4 (kernel's accounting, on only then).
 *  4. kernel memory per binding: memlock (fdinfo) of the maps a binding
 *     writes, before and after the N bindings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "baseline_net.skel.h"
#include "podfence/cgroup.h"
#include "podfence/netaddr.h"
#include "podfence/strset.h"

#define NET_CIDRS     10 /* per workload: kept inline in its ruleset (up to 16) */
#define NET_CIDRS_SET 20 /* a configuration whose CIDRs are a net_values set */
#define NET_FAKE_CG   0x7ff0000000000000ull /* cgroup ids of the other bindings: none exists */
#define NET_WARMUP    20
#define NET_DENIED    "192.0.2.1" /* TEST-NET-1: outside every allowlist */

/* ---- the measuring process: a child in the bound cgroup, driven by a pipe ---- */

enum nop { NOP_CONNECT = 1, NOP_SEND, NOP_CHECK, NOP_QUIT };

struct nreq {
	int op, n;
};

struct nchild {
	pid_t pid;
	int req, resp;
};

static void sin_make(struct sockaddr_in *sin, const char *addr, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

/* One connect to a port with no listener: 0 when refused by the peer (ECONNREFUSED). */
static int one_connect(const struct sockaddr_in *to, uint64_t *ns)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc, err;
	uint64_t t0, t1;

	if (fd < 0)
		return -errno;
	t0 = now_ns();
	rc = connect(fd, (const struct sockaddr *)to, sizeof(*to));
	t1 = now_ns();
	err = rc ? errno : EISCONN;
	close(fd);
	*ns = t1 - t0;
	return err == ECONNREFUSED ? 0 : -err;
}

static void child_serve(int req, int resp, uint16_t port)
{
	struct sockaddr_in lo, denied;
	double *v = NULL;
	int cap = 0, udp;
	struct nreq r;

	sin_make(&lo, "127.0.0.1", port);
	sin_make(&denied, NET_DENIED, port);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp < 0)
		_exit(4);
	while (!read_all(req, &r, sizeof(r))) {
		int status = 0;
		uint64_t ns;

		if (r.op == NOP_QUIT)
			break;
		if (r.op == NOP_CHECK) {
			int got[3],
			    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			got[0] =
			    connect(fd, (struct sockaddr *)&denied, sizeof(denied)) ? errno : 0;
			close(fd);
			got[1] = one_connect(&lo, &ns);
			got[1] = got[1] ? -got[1] : ECONNREFUSED;
			got[2] = sendto(udp, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&denied,
					sizeof(denied)) < 0
				     ? errno
				     : 0;
			if (write_all(resp, got, sizeof(got)))
				_exit(5);
			continue;
		}
		if (r.n > cap) {
			free(v);
			cap = r.n;
			v = calloc(cap, sizeof(*v));
			if (!v)
				_exit(6);
		}
		for (int i = -NET_WARMUP; i < r.n && !status; i++) {
			if (r.op == NOP_CONNECT) {
				status = one_connect(&lo, &ns);
			} else {
				uint64_t t0 = now_ns();
				ssize_t n = sendto(udp, "x", 1, MSG_DONTWAIT,
						   (struct sockaddr *)&lo, sizeof(lo));

				ns = now_ns() - t0;
				/* a full receive queue drops silently; anything else is an error */
				status = n == 1 || errno == EAGAIN ? 0 : -errno;
			}
			if (i >= 0)
				v[i] = ns;
		}
		if (write_all(resp, &status, sizeof(status)) ||
		    (!status && write_all(resp, v, r.n * sizeof(*v))))
			_exit(5);
	}
	_exit(0);
}

static void nchild_stop(struct nchild *c)
{
	struct nreq q = {NOP_QUIT, 0};

	if (c->pid > 0) {
		if (write_all(c->req, &q, sizeof(q)))
			kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->req >= 0)
		close(c->req);
	if (c->resp >= 0)
		close(c->resp);
	c->pid = -1;
	c->req = c->resp = -1;
}

static int nchild_start(struct nchild *c, const char *cg, uint16_t port)
{
	int req[2], resp[2], ok = 0;

	c->pid = -1;
	c->req = c->resp = -1;
	if (pipe2(req, O_CLOEXEC))
		return -errno;
	if (pipe2(resp, O_CLOEXEC)) {
		close(req[0]);
		close(req[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		int err = -errno;

		close(req[0]);
		close(req[1]);
		close(resp[0]);
		close(resp[1]);
		return err;
	}
	if (c->pid == 0) {
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		close(req[1]);
		close(resp[0]);
		ok = cg_enter(cg) ? -1 : 0;
		if (write_all(resp[1], &ok, sizeof(ok)) || ok)
			_exit(3);
		child_serve(req[0], resp[1], port);
	}
	close(req[0]);
	close(resp[1]);
	c->req = req[1];
	c->resp = resp[0];
	if (read_all(c->resp, &ok, sizeof(ok)) || ok) {
		fprintf(stderr, "Error: net: the measuring process could not join %s\n", cg);
		nchild_stop(c);
		return -EIO;
	}
	return 0;
}

/* n timed calls (ns in out), after NET_WARMUP unrecorded ones. */
static int nchild_batch(struct nchild *c, int op, int n, double *out)
{
	struct nreq q = {op, n};
	int status, err;

	err = write_all(c->req, &q, sizeof(q));
	if (!err)
		err = read_all(c->resp, &status, sizeof(status));
	if (err)
		return err;
	if (status) {
		fprintf(stderr, "Error: net: %s from the bound cgroup: %s\n",
			op == NOP_CONNECT ? "connect to 127.0.0.1" : "UDP send to 127.0.0.1",
			strerror(-status));
		return status;
	}
	return read_all(c->resp, out, n * sizeof(*out));
}

/* errno of: a connect outside the allowlist, a connect inside, a UDP send outside. */
static int nchild_check(struct nchild *c, int got[3])
{
	struct nreq q = {NOP_CHECK, 0};
	int err = write_all(c->req, &q, sizeof(q));

	return err ?: read_all(c->resp, got, 3 * sizeof(int));
}

/* ---- what can be attached: podfence's egress programs, or K baseline copies ---- */

static const struct {
	const char *name;
	enum bpf_attach_type type;
} pf_net_progs[] = {
    {"net_connect4", BPF_CGROUP_INET4_CONNECT},	      {"net_connect6", BPF_CGROUP_INET6_CONNECT},
    {"net_sendmsg4", BPF_CGROUP_UDP4_SENDMSG},	      {"net_sendmsg6", BPF_CGROUP_UDP6_SENDMSG},
    {"net_sock_create", BPF_CGROUP_INET_SOCK_CREATE},
};
#define PF_NET_PROGS (int)(sizeof(pf_net_progs) / sizeof(*pf_net_progs))

struct bln_set {
	int k;
	bool empty; /* the empty programs of copy 1 only: the hooks' floor */
	struct baseline_net_bpf **copies;
	int *inner;
};

struct attached {
	int *links;
	int n;
};

struct net_cfg {
	const char *impl; /* "podfence", "baseline" or "empty" */
	int n;		  /* bindings (podfence) or programs (baseline) */
	int cidrs;	  /* per workload (podfence) */
	struct pf_kstore *ks;
	struct bln_set *bl;
	int prog_fd[PF_NET_PROGS]; /* podfence */
	int cg_root;
	struct attached at;
};

/* Copy i's program of one call (op 0: connect, 1: send). */
static int bln_prog_fd(const struct bln_set *s, int i, int op)
{
	struct baseline_net_bpf *skel = s->copies[i];

	if (s->empty)
		return bpf_program__fd(op ? skel->progs.bln_empty_sendmsg4
					  : skel->progs.bln_empty_connect4);
	return bpf_program__fd(op ? skel->progs.bln_sendmsg4 : skel->progs.bln_connect4);
}

static void detach_all(struct net_cfg *c)
{
	for (int i = 0; i < c->at.n; i++)
		if (c->at.links[i] >= 0)
			close(c->at.links[i]);
	c->at.n = 0;
}

static int link_add(struct net_cfg *c, int prog_fd, enum bpf_attach_type type)
{
	int fd = bpf_link_create(prog_fd, c->cg_root, type, NULL);

	if (fd < 0)
		return -errno;
	c->at.links[c->at.n++] = fd;
	return 0;
}

static int attach_all(struct net_cfg *c)
{
	int err = 0;

	if (c->ks) {
		for (int i = 0; i < PF_NET_PROGS && !err; i++)
			err = link_add(c, c->prog_fd[i], pf_net_progs[i].type);
	} else {
		for (int i = 0; i < c->bl->k && !err; i++) {
			err = link_add(c, bln_prog_fd(c->bl, i, 0), BPF_CGROUP_INET4_CONNECT);
			if (!err)
				err =
				    link_add(c, bln_prog_fd(c->bl, i, 1), BPF_CGROUP_UDP4_SENDMSG);
		}
	}
	if (err) {
		fprintf(stderr, "Error: net: attach %s at the cgroup2 root: %s%s\n", c->impl,
			strerror(-err),
			err == -E2BIG ? " (the kernel takes at most 64 programs per hook on one "
					"cgroup: BPF_CGROUP_MAX_PROGS)"
				      : "");
		detach_all(c);
	}
	return err;
}

/* ---- the workloads: each its own 10 CIDRs and port set ---- */

static void cidr_of(int wl, int k, int cidrs, char *buf, size_t len)
{
	uint32_t a;

	if (wl == 0 && k == 0) {
		snprintf(buf, len, "127.0.0.0/8");
		return;
	}
	/* 10.0.0.0/8 cut in /28s: workload wl, CIDR k (wl * 10 + k < 2^20) */
	a = 0x0a000000u | ((uint32_t)(wl * cidrs + k) & 0xfffffu) << 4;
	snprintf(buf, len, "%u.%u.%u.%u/28", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int set_write(struct pf_kstore *ks, enum pf_match match, struct pf_strset *set, uint32_t *id)
{
	char msg[256] = "";
	uint8_t tiers;
	int err = pf_kstore_alloc_set_id(ks, id);

	if (!err)
		err = pf_kstore_set_write(ks, *id, match, set, &tiers, msg, sizeof(msg));
	if (err < 0) {
		fprintf(stderr, "Error: net: set %u: %s\n", *id, msg[0] ? msg : strerror(-err));
		return err;
	}
	return 0;
}

/* Workload wl (0: the measured one, on cgroup cgid) with its egress allowlist, bound. */
static int workload_add(struct pf_kstore *ks, int wl, int n_cidrs, uint64_t cgid, uint16_t port,
			const uint32_t pol[2])
{
	struct pf_ruleset rs = {.generation = 1, .flags = PF_RS_NET};
	struct pf_net_ruleset nrs = {};
	struct pf_strset cidrs = {}, ports = {};
	struct pf_net_shared shared = {};
	uint32_t wl_id = 0, addr_set = 0, port_set = 0;
	char v[64], msg[256] = "";
	int err = 0;

	for (int k = 0; k < n_cidrs && err >= 0; k++) {
		cidr_of(wl, k, n_cidrs, v, sizeof(v));
		err = pf_strset_add(&cidrs, v);
	}
	snprintf(v, sizeof(v), "%u", wl == 0 ? port : 10000 + wl % 50000);
	if (err >= 0)
		err = pf_strset_add(&ports, "53");
	if (err >= 0)
		err = pf_strset_add(&ports, "443");
	if (err >= 0)
		err = pf_strset_add(&ports, "8000-8007");
	if (err >= 0)
		err = pf_strset_add(&ports, v);
	err = err < 0 ? err : 0;
	/* as the engine writes them: values inline when they fit, else a set */
	if (!err && pf_net_addrs_inline_add(&shared, &cidrs, &addr_set)) {
		err = set_write(ks, PF_MATCH_CIDR, &cidrs, &addr_set);
		if (!err)
			err = pf_net_lens_add(&shared, PF_MATCH_CIDR, &cidrs);
	}
	if (!err && pf_net_ports_inline_add(&shared, &ports, &port_set)) {
		err = set_write(ks, PF_MATCH_PORT, &ports, &port_set);
		if (!err)
			err = pf_net_lens_add(&shared, PF_MATCH_PORT, &ports);
	}
	pf_strset_free(&cidrs);
	pf_strset_free(&ports);
	if (err)
		return err;
	/* an allowlist of destinations (NotDAddr -> deny) and of ports (NotDPort -> deny) */
	nrs.rules[0] = (struct pf_net_rule){.policy_id = pol[0],
					    .addr_set = addr_set,
					    .negate = PF_NET_NOT_ADDR,
					    .actions = PF_ACT_DENY,
					    .group = 0};
	nrs.rules[1] = (struct pf_net_rule){.policy_id = pol[1],
					    .port_set = port_set,
					    .negate = PF_NET_NOT_PORT,
					    .actions = PF_ACT_DENY,
					    .group = 1};
	nrs.n_rules = 2;
	nrs.flags = PF_NRS_NO_RAW;
	pf_net_shared_apply(&shared, &nrs);
	err = pf_kstore_alloc_wl_id(ks, false, &wl_id);
	if (!err)
		err = pf_kstore_net_ruleset_write(ks, wl_id, &nrs, msg, sizeof(msg));
	if (!err)
		err = pf_kstore_ruleset_write(ks, wl_id, &rs, msg, sizeof(msg));
	if (!err)
		err = pf_kstore_cgroup_bind(ks, cgid, wl_id, 0, 0, msg, sizeof(msg));
	if (err)
		fprintf(stderr, "Error: net: workload %d: %s\n", wl, msg[0] ? msg : strerror(-err));
	return err;
}

/* The maps a binding writes (exec ruleset, egress rules, sets, cgroup). */
static const char *const mem_maps[] = {"cg_workload", "wl_rules_s", "wl_net", "net_values"};
#define MEM_MAPS (int)(sizeof(mem_maps) / sizeof(*mem_maps))

static void mem_read(struct pf_kstore *ks, uint64_t mem[MEM_MAPS], uint64_t ent[MEM_MAPS])
{
	struct pf_kmap_usage u[PF_KMAP__MAX + 16];
	int n = pf_kstore_usage(ks, u, PF_KMAP__MAX + 16);

	for (int j = 0; j < MEM_MAPS; j++) {
		mem[j] = ent[j] = 0;
		for (int i = 0; i < n; i++)
			if (u[i].name && !strcmp(u[i].name, mem_maps[j])) {
				mem[j] = u[i].memlock;
				ent[j] = u[i].entries;
			}
	}
}

/* Bytes of every slab cache's active objects (/proc/slabinfo): what allocations really take. */
static long long slab_bytes(void)
{
	FILE *f = fopen("/proc/slabinfo", "re");
	long long total = 0, active, objs, size;
	char line[512], name[128];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld %lld %lld", name, &active, &objs, &size) == 4)
			total += active * size;
	fclose(f);
	return total;
}

static uint32_t size_at_least(int m, uint64_t need)
{
	uint32_t d = bench_default_size(m);

	need += need / 8 + 1024;
	return need > d ? (uint32_t)need : 0;
}

static int pf_open_n(struct bench *b, struct net_cfg *c, int n, uint64_t cgid, uint16_t port,
		     struct json_object *o)
{
	struct pf_kstore_opts opts = {.backend = b->backend, .attach = false};
	uint64_t mem0[MEM_MAPS], ent0[MEM_MAPS], mem1[MEM_MAPS], ent1[MEM_MAPS], t0 = 0, t1 = 0;
	struct json_object *maps = json_object_new_object();
	uint32_t pol[2];
	long long slab0, slab1;
	bool took_over;
	double t;
	int err;

	json_object_object_add(o, "maps", maps);
	opts.max_entries[PF_KMAP_CGROUPS] = size_at_least(PF_KMAP_CGROUPS, n);
	opts.max_entries[PF_KMAP_WORKLOADS] = size_at_least(PF_KMAP_WORKLOADS, n);
	opts.max_entries[PF_KMAP_NET_RULES] = size_at_least(PF_KMAP_NET_RULES, n);
	opts.max_entries[PF_KMAP_NET_VALUES] =
	    size_at_least(PF_KMAP_NET_VALUES, (uint64_t)n * c->cidrs);
	err = pf_kstore_open(&c->ks, &opts, &took_over);
	if (err) {
		fprintf(stderr, "Error: net: podfence's BPF object does not load: %s\n",
			strerror(-err));
		return err;
	}
	for (int i = 0; i < PF_NET_PROGS; i++) {
		c->prog_fd[i] = pf_kstore_prog_fd(c->ks, pf_net_progs[i].name);
		if (c->prog_fd[i] < 0) {
			fprintf(stderr, "Error: net: program %s not loaded\n",
				pf_net_progs[i].name);
			return -ENOENT;
		}
	}
	err = pf_kstore_alloc_policy_id(c->ks, &pol[0]);
	if (!err)
		err = pf_kstore_alloc_policy_id(c->ks, &pol[1]);
	if (!err)
		err = pf_kstore_counters_create(c->ks, pol[0]);
	if (!err)
		err = pf_kstore_counters_create(c->ks, pol[1]);
	if (err)
		return err;
	mem_read(c->ks, mem0, ent0);
	slab0 = slab_bytes();
	t = now_s();
	for (int i = 0; i < n && !err; i++) {
		err = workload_add(c->ks, i, c->cidrs, i ? NET_FAKE_CG + i : cgid, port, pol);
		if (!err && bench_stop)
			err = -EINTR;
	}
	json_add_double(o, "load_s", now_s() - t);
	if (err)
		return err;
	mem_read(c->ks, mem1, ent1);
	slab1 = slab_bytes();
	if (slab0 >= 0 && slab1 >= 0) {
		/* all the machine's allocations meanwhile: noisy at small N */
		json_add_int(o, "slab_delta", slab1 - slab0);
		json_add_double(o, "slab_bytes_per_binding", (double)(slab1 - slab0) / n);
	}
	for (int j = 0; j < MEM_MAPS; j++) {
		struct json_object *m = json_object_new_object();

		json_add_int(m, "memlock_empty", mem0[j]);
		json_add_int(m, "memlock", mem1[j]);
		json_add_int(m, "entries", ent1[j]);
		json_object_object_add(maps, mem_maps[j], m);
		t0 += mem0[j];
		t1 += mem1[j];
	}
	json_add_int(o, "memlock_empty", t0);
	json_add_int(o, "memlock", t1);
	json_add_double(o, "bytes_per_binding", (double)(t1 - t0) / n);
	return 0;
}

static void bln_close(struct bln_set *s)
{
	if (!s)
		return;
	for (int i = 0; s->copies && i < s->k; i++) {
		baseline_net_bpf__destroy(s->copies[i]);
		if (s->inner && s->inner[i] >= 0)
			close(s->inner[i]);
	}
	free(s->copies);
	free(s->inner);
	free(s);
}

static int bln_copy(struct bln_set *s, int i, uint64_t cgid)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
	struct baseline_net_bpf *skel = baseline_net_bpf__open();
	uint64_t id = i ? NET_FAKE_CG + i : cgid;
	uint32_t policy = i + 1;
	const uint8_t one = 1;
	int err;

	if (!skel)
		return -errno;
	s->copies[i] = skel;
	skel->rodata->policy_id = policy;
	if (i > 0) {
		err = bpf_map__reuse_fd(skel->maps.bln_filters,
					bpf_map__fd(s->copies[0]->maps.bln_filters));
		if (err)
			return err;
	}
	err = baseline_net_bpf__load(skel);
	if (err)
		return err;
	s->inner[i] = bpf_map_create(BPF_MAP_TYPE_HASH, "bln_filter", sizeof(__u64), sizeof(__u8),
				     256, &mopts);
	if (s->inner[i] < 0)
		return -errno;
	if (bpf_map_update_elem(s->inner[i], &id, &one, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bln_filters), &policy, &s->inner[i],
				BPF_ANY))
		return -errno;
	for (int k = 0; k < NET_CIDRS; k++) {
		struct {
			uint32_t prefixlen;
			struct in_addr a;
		} key;
		char v[64], *slash;

		cidr_of(i, k, NET_CIDRS, v, sizeof(v));
		slash = strchr(v, '/');
		*slash = 0;
		key.prefixlen = atoi(slash + 1);
		inet_pton(AF_INET, v, &key.a);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bln_allow), &key, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int bln_open(struct net_cfg *c, int k, uint64_t cgid)
{
	struct bln_set *s = calloc(1, sizeof(*s));
	int err = 0;

	if (!s)
		return -ENOMEM;
	c->bl = s;
	s->copies = calloc(k, sizeof(*s->copies));
	s->inner = calloc(k, sizeof(*s->inner));
	if (!s->copies || !s->inner)
		return -ENOMEM;
	for (int i = 0; i < k; i++)
		s->inner[i] = -1;
	s->k = k;
	for (int i = 0; i < k && !err; i++) {
		err = bln_copy(s, i, cgid);
		if (err)
			fprintf(stderr, "Error: net: baseline copy %d of %d: %s\n", i + 1, k,
				strerror(-err));
		else if (bench_stop)
			err = -EINTR;
	}
	return err;
}

static void cfg_release(struct net_cfg *c)
{
	detach_all(c);
	if (c->ks)
		pf_kstore_close(c->ks);
	bln_close(c->bl);
	c->ks = NULL;
	c->bl = NULL;
}

/* ---- measuring ---- */

struct series {
	double *all; /* ns, every call */
	double *ratio;
	size_t n_all, n_ratio;
};

static double batch_median(double *v, int n, double *scratch)
{
	memcpy(scratch, v, n * sizeof(*v));
	return percentile(scratch, n, 50);
}

static struct json_object *series_json(struct series *x, struct series *none)
{
	struct json_object *o = json_object_new_object();

	json_add_double(o, "median_ns", percentile(x->all, x->n_all, 50));
	json_add_double(o, "p99_ns", percentile(x->all, x->n_all, 99));
	json_add_double(o, "none_median_ns", percentile(none->all, none->n_all, 50));
	json_add_double(o, "none_p99_ns", percentile(none->all, none->n_all, 99));
	json_add_double(o, "ratio_median", percentile(x->ratio, x->n_ratio, 50));
	json_add_double(o, "ratio_p25", percentile(x->ratio, x->n_ratio, 25));
	json_add_double(o, "ratio_p75", percentile(x->ratio, x->n_ratio, 75));
	return o;
}

/* run_time_ns and run_cnt of the attached programs of one call (summed over copies) */
static int cost_read(struct net_cfg *c, int op, struct prog_stats *sum)
{
	int progs = c->ks ? 1 : c->bl->k, err = 0;

	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < progs && !err; i++) {
		struct prog_stats st;
		int fd = c->ks ? c->prog_fd[op ? 2 : 0] : bln_prog_fd(c->bl, i, op);

		err = prog_stats_read(fd, &st);
		if (i == 0)
			sum->run_cnt = st.run_cnt;
		sum->run_ns += st.run_ns;
	}
	return err;
}

/*
 * BPF ns per call of the attached programs, stats on meanwhile: the median
 * of NET_COST_SLICES slices' means (a slice whose calls were preempted or
 * interrupted inside the program counts once, as one slice), the mean of
 * them all beside it.
 */
#define NET_COST_SLICES 10
static int bpf_cost(struct bench *b, struct net_cfg *c, struct nchild *ch, double *buf,
		    struct json_object *o)
{
	static const char *const key[2][2] = {{"bpf_ns_per_connect", "bpf_ns_per_connect_mean"},
					      {"bpf_ns_per_send", "bpf_ns_per_send_mean"}};
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME), err = 0;
	int slice = b->o.net_stats_batch / NET_COST_SLICES;

	if (stats < 0) {
		fprintf(stderr, "bench: net: no BPF run-time stats: %s\n", strerror(errno));
		return 0;
	}
	err = attach_all(c);
	for (int op = 0; op < 2 && !err; op++) {
		double per[NET_COST_SLICES], scratch[NET_COST_SLICES];
		uint64_t cnt = 0, ns = 0;
		int got = 0;

		for (int k = 0; k < NET_COST_SLICES && !err; k++) {
			struct prog_stats s0, s1;

			err = cost_read(c, op, &s0);
			if (!err)
				err = nchild_batch(ch, op ? NOP_SEND : NOP_CONNECT, slice, buf);
			if (!err)
				err = cost_read(c, op, &s1);
			if (!err && s1.run_cnt > s0.run_cnt) {
				per[got++] =
				    (double)(s1.run_ns - s0.run_ns) / (s1.run_cnt - s0.run_cnt);
				cnt += s1.run_cnt - s0.run_cnt;
				ns += s1.run_ns - s0.run_ns;
			}
		}
		if (!err && got) {
			json_add_double(o, key[op][0], batch_median(per, got, scratch));
			json_add_double(o, key[op][1], (double)ns / cnt);
		}
	}
	detach_all(c);
	close(stats);
	return err;
}

/*
 * Rounds of {nothing attached, c attached} in a random order, one batch of
 * connects and one of sends each; paired ratios per round.
 */
static int measure(struct bench *b, struct net_cfg *c, struct nchild *ch, struct json_object *o)
{
	int rounds = b->o.net_rounds, n = b->o.net_batch, got[3], err = 0;
	struct series s[2][2] = {}; /* [attached][op] */
	double *buf = calloc(n > b->o.net_stats_batch ? n : b->o.net_stats_batch, sizeof(double));
	double *scratch = calloc(n, sizeof(double));
	double med[2][2];

	for (int a = 0; a < 2; a++)
		for (int op = 0; op < 2; op++) {
			s[a][op].all = calloc((size_t)rounds * n, sizeof(double));
			s[a][op].ratio = calloc(rounds, sizeof(double));
			if (!s[a][op].all || !s[a][op].ratio)
				err = -ENOMEM;
		}
	if (!buf || !scratch)
		err = -ENOMEM;
	/* enforcing: outside the allowlist refused, inside let through, nothing attached: none */
	if (!err)
		err = attach_all(c);
	if (err == -E2BIG && c->bl) {
		/* the hook's program limit on the root cgroup (other programs count too) */
		json_add_str(o, "attach_error", strerror(E2BIG));
		fprintf(stderr, "bench: net: baseline %d does not fit on the hook: skipped\n",
			c->n);
		err = 1;
	}
	if (!err) {
		err = nchild_check(ch, got);
		detach_all(c);
		json_add_int(o, "enforces",
			     !err && got[0] == EPERM && got[1] == ECONNREFUSED && got[2] == EPERM);
		if (!err && !json_get_int(o, "enforces") && !(c->bl && c->bl->empty))
			fprintf(stderr,
				"bench: net: %s %d NOT enforcing: connect %s: %s, connect "
				"127.0.0.1: %s, send %s: %s\n",
				c->impl, c->n, NET_DENIED, strerror(got[0]), strerror(got[1]),
				NET_DENIED, strerror(got[2]));
	}
	for (int r = 0; r < rounds && !err; r++) {
		int first = rand() & 1;

		for (int j = 0; j < 2 && !err; j++) {
			int a = j ^ first;

			if (a)
				err = attach_all(c);
			for (int op = 0; op < 2 && !err; op++) {
				struct series *x = &s[a][op];

				err = nchild_batch(ch, op ? NOP_SEND : NOP_CONNECT, n, buf);
				if (err)
					break;
				memcpy(x->all + x->n_all, buf, n * sizeof(*buf));
				x->n_all += n;
				med[a][op] = batch_median(buf, n, scratch);
			}
			if (a)
				detach_all(c);
		}
		for (int op = 0; op < 2 && !err; op++)
			s[1][op].ratio[s[1][op].n_ratio++] = med[1][op] / med[0][op];
		if (!err && bench_stop)
			err = -EINTR;
	}
	if (!err)
		err = bpf_cost(b, c, ch, buf, o);
	if (!err) {
		json_object_object_add(o, "connect", series_json(&s[1][0], &s[0][0]));
		json_object_object_add(o, "send", series_json(&s[1][1], &s[0][1]));
	}
	for (int a = 0; a < 2; a++)
		for (int op = 0; op < 2; op++) {
			free(s[a][op].all);
			free(s[a][op].ratio);
		}
	free(buf);
	free(scratch);
	return err == 1 ? 0 : err;
}

static void progress(struct net_cfg *c, struct json_object *o)
{
	struct json_object *cn = NULL, *sd = NULL;

	if (!json_object_object_get_ex(o, "connect", &cn) ||
	    !json_object_object_get_ex(o, "send", &sd))
		return;
	fprintf(stderr,
		"bench: net: %s %d: connect %.0f ns (ratio %.4f), send %.0f ns (ratio %.4f), BPF "
		"%.0f / %.0f ns\n",
		c->impl, c->n, json_get_double(cn, "median_ns"),
		json_get_double(cn, "ratio_median"), json_get_double(sd, "median_ns"),
		json_get_double(sd, "ratio_median"), json_get_double(o, "bpf_ns_per_connect"),
		json_get_double(o, "bpf_ns_per_send"));
}

/* One podfence configuration: n bindings of cidrs CIDRs each, loaded, measured, released. */
static int podfence_run(struct bench *b, struct net_cfg *c, struct nchild *ch, int n, int cidrs,
			uint64_t cgid, uint16_t port, struct json_object *o)
{
	int err;

	c->impl = cidrs > PF_NET_INLINE_V4 ? "podfence (CIDRs a set)" : "podfence";
	c->n = n;
	c->cidrs = cidrs;
	json_add_int(o, "n", n);
	fprintf(stderr, "bench: net: podfence, %d bindings, %d CIDRs each: loading\n", n, cidrs);
	err = pf_open_n(b, c, n, cgid, port, o);
	if (!err)
		err = measure(b, c, ch, o);
	if (!err)
		progress(c, o);
	cfg_release(c);
	return err;
}

int phase_net(struct bench *b)
{
	struct json_object *out = json_object_new_object(), *pfa = json_object_new_array(),
			   *bla = json_object_new_array();
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct net_cfg c = {.cg_root = -1};
	struct nchild ch = {.pid = -1, .req = -1, .resp = -1};
	socklen_t len = sizeof(sin);
	char cg[PATH_MAX] = "";
	int tcp = -1, udp = -1, links_cap, err;
	uint64_t cgid = 0;
	uint16_t port = 0;
	time_t now = time(NULL);
	char date[64];

	json_object_object_add(b->res, "net", out);
	/* the section may be merged into a report of another run: it says when it was measured */
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	json_add_str(out, "measured_at", date);
	json_object_object_add(out, "podfence", pfa);
	json_object_object_add(out, "baseline", bla);
	json_add_int(out, "quick", b->o.quick);
	json_add_int(out, "rounds", b->o.net_rounds);
	json_add_int(out, "batch", b->o.net_batch);
	json_add_int(out, "stats_batch", b->o.net_stats_batch);
	json_add_int(out, "cidrs", NET_CIDRS);
	json_add_int(out, "cidrs_set", NET_CIDRS_SET);
	links_cap = PF_NET_PROGS;
	for (int i = 0; i < b->o.n_net_bl; i++)
		links_cap = 2 * b->o.net_bl[i] > links_cap ? 2 * b->o.net_bl[i] : links_cap;
	c.at.links = calloc(links_cap, sizeof(int));
	if (!c.at.links)
		return -ENOMEM;

	/* The port: bound, never listening (a connect is refused: RST), for TCP and UDP. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp < 0 || bind(tcp, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(tcp, (struct sockaddr *)&sin, &len)) {
		err = -errno;
		goto out;
	}
	port = ntohs(sin.sin_port);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp < 0 || bind(udp, (struct sockaddr *)&sin, sizeof(sin))) {
		err = -errno;
		fprintf(stderr, "Error: net: UDP port %u: %s\n", port, strerror(-err));
		goto out;
	}
	json_add_int(out, "port", port);
	c.cg_root = open(b->cg2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.cg_root < 0) {
		err = -errno;
		goto out;
	}
	/* programs of others on the same hooks run in both cases: said, not removed */
	for (int i = 0; i < 2; i++) {
		__u32 ids[128], cnt = 128, flags = 0;
		enum bpf_attach_type t = i ? BPF_CGROUP_UDP4_SENDMSG : BPF_CGROUP_INET4_CONNECT;

		if (!bpf_prog_query(c.cg_root, t, BPF_F_QUERY_EFFECTIVE, &flags, ids, &cnt)) {
			json_add_int(out, i ? "other_progs_sendmsg4" : "other_progs_connect4", cnt);
			if (cnt)
				fprintf(stderr,
					"bench: net: %u program(s) of others on %s at the cgroup2 "
					"root: they run in every case, \"no podfence\" included\n",
					cnt, i ? "sendmsg4" : "connect4");
		}
	}
	snprintf(cg, sizeof(cg), "%s/net-measured", b->node_cg);
	err = mkdir_p(cg);
	if (!err)
		err = pf_cgroup_id(cg, &cgid);
	if (!err)
		err = nchild_start(&ch, cg, port);
	if (err)
		goto out;

	for (int i = 0; i < b->o.n_net_n && !err; i++) {
		struct json_object *o = json_object_new_object();

		json_object_array_add(pfa, o);
		err = podfence_run(b, &c, &ch, b->o.net_n[i], NET_CIDRS, cgid, port, o);
	}
	if (!err && b->o.n_net_n) {
		/* the largest N again, each workload's CIDRs too many to keep inline: a set */
		struct json_object *o = json_object_new_object();

		json_object_object_add(out, "podfence_set", o);
		err = podfence_run(b, &c, &ch, b->o.net_n[b->o.n_net_n - 1], NET_CIDRS_SET, cgid,
				   port, o);
	}
	for (int i = 0; i < b->o.n_net_bl && !err; i++) {
		struct json_object *o = json_object_new_object();
		struct kmem m = {};
		double t = now_s();

		json_object_array_add(bla, o);
		c.impl = "baseline";
		c.n = b->o.net_bl[i];
		json_add_int(o, "k", c.n);
		fprintf(stderr, "bench: net: baseline, %d programs: loading\n", c.n);
		err = bln_open(&c, c.n, cgid);
		json_add_double(o, "load_s", now_s() - t);
		for (int j = 0; !err && j < c.bl->k; j++) {
			struct baseline_net_bpf *s = c.bl->copies[j];

			m.progs +=
			    pf_fdinfo_u64(bpf_program__fd(s->progs.bln_connect4), "memlock") +
			    pf_fdinfo_u64(bpf_program__fd(s->progs.bln_sendmsg4), "memlock");
			m.maps += pf_fdinfo_u64(bpf_map__fd(s->maps.bln_allow), "memlock") +
				  pf_fdinfo_u64(bpf_map__fd(s->maps.rodata), "memlock") +
				  pf_fdinfo_u64(c.bl->inner[j], "memlock");
		}
		json_add_int(o, "kmem_progs", m.progs);
		json_add_int(o, "kmem_maps", m.maps);
		if (!err)
			err = measure(b, &c, &ch, o);
		if (!err)
			progress(&c, o);
		cfg_release(&c);
	}
	if (!err) {
		/* the hooks' floor: one empty program, measured the same way */
		struct json_object *o = json_object_new_object();

		json_object_object_add(out, "floor", o);
		c.impl = "empty";
		c.n = 1;
		fprintf(stderr, "bench: net: one empty program: loading\n");
		err = bln_open(&c, 1, cgid);
		if (!err) {
			c.bl->empty = true;
			err = measure(b, &c, &ch, o);
		}
		if (!err)
			progress(&c, o);
		cfg_release(&c);
	}
	json_add_str(out, "kernel_stats", "bpf_enable_stats(BPF_STATS_RUN_TIME)");
out:
	cfg_release(&c);
	nchild_stop(&ch);
	if (c.cg_root >= 0)
		close(c.cg_root);
	if (tcp >= 0)
		close(tcp);
	if (udp >= 0)
		close(udp);
	free(c.at.links);
	/* the measured cgroup is under the node's, removed with it (node_cleanup) */
	if (cg[0] && cgid)
		rmdir(cg);
	return err;
}
