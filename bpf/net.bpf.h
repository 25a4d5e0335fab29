/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The egress decision (docs/policy.md, "Egress"): which workload the calling
 * task's cgroup belongs to (the same bindings as exec), then that workload's
 * egress rules: the values its ruleset keeps inline compared at once, or a
 * lookup per prefix length its larger address and port sets use
 * (net_values).
 * Work per connect depends only on the current workload's rules; an
 * unbound cgroup leaves after one hash lookup.
 *
 * The programs are attached once, at the cgroup2 root: cgroup/connect4 and
 * connect6 (TCP, connected UDP, TCP Fast Open's sendto), cgroup/sendmsg4 and
 * sendmsg6 (unconnected UDP, DNS included; an IPv4-mapped destination on an
 * IPv6 socket reaches sendmsg4), and cgroup/sock_create, which refuses the
 * inet sockets those hooks cannot judge (raw, ping, SCTP) in workloads with
 * enforcing egress rules. Returning 0 makes the system call fail with EPERM
 * on every kernel from 5.x: no BPF LSM needed.
 */
#ifndef PF_NET_BPF_H
#define PF_NET_BPF_H

#include "decide.bpf.h"

#define PF_AF_INET	   2
#define PF_AF_INET6	   10
#define PF_SOCK_STREAM	   1
#define PF_SOCK_DGRAM	   2
#define PF_IPPROTO_TCP	   6
#define PF_IPPROTO_UDP	   17
#define PF_IPPROTO_UDPLITE 136
#define PF_IPPROTO_MPTCP   262

/*
 * Egress rules of each workload that has any (others have no entry). A hash
 * map pays 16 bytes per bucket even when empty: the defaults here and of
 * net_values keep the fixed cost within its budget (docs/benchmarks.md);
 * nodes with more workloads under egress policies size them at start
 * (--map-size wl_net=N,net_values=N).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pf_net_ruleset);
	__uint(max_entries, 2048);
} wl_net SEC(".maps");

/* Destination CIDRs and port prefixes of every egress value set (abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pf_net_key);
	__type(value, __u8);
	__uint(max_entries, 8192);
} net_values SEC(".maps");

/* One connect, send or socket(2) being judged. */
struct pf_net_call {
	__u8 family;   /* enum pf_net_family of the address as judged */
	__u8 protocol; /* enum pf_net_proto bit, 0: another protocol */
	__u8 hook;     /* enum pf_net_hook */
	__u8 raw;      /* socket(2) of an inet socket the hooks cannot judge */
	__u16 port_be;
	__u16 ip_proto; /* as the socket says (event) */
	__u32 addr[4];	/* network byte order; IPv4 in addr[0] */
};

/* Index of the lowest bit set in b (b != 0): a de Bruijn sequence, no loop. */
static const __u8 pf_debruijn64[64] = {
    0,	1,  48, 2,  57, 49, 28, 3,  61, 58, 50, 42, 38, 29, 17, 4,  62, 55, 59, 36, 53, 51,
    43, 22, 45, 39, 33, 30, 24, 18, 12, 5,  63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21,
    44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,  13, 8,  7,	6};

static __always_inline __u32 pf_lowest_bit(__u64 b)
{
	return pf_debruijn64[((b & -b) * 0x03f79d71b4ca8b09ULL) >> 58];
}

/*
 * The network-order masks of the first len bits of a 128-bit value, one row
 * per len (0..128), a word per column: constants, so that masking a value is
 * four ANDs with no branch (branches on the length multiply the paths the
 * verifier walks).
 */
#define PF_MASK_W(len, w)                                                                          \
	((len)-32 * (w) >= 32  ? 0xffffffffu                                                       \
	 : (len)-32 * (w) <= 0 ? 0u                                                                \
			       : __bpf_constant_htonl(~0u << ((32 - ((len)-32 * (w))) & 31)))
#define PF_MASK(len)                                                                               \
	{                                                                                          \
		PF_MASK_W(len, 0), PF_MASK_W(len, 1), PF_MASK_W(len, 2), PF_MASK_W(len, 3)         \
	}
#define PF_MASK4(b)  PF_MASK(b), PF_MASK(b + 1), PF_MASK(b + 2), PF_MASK(b + 3)
#define PF_MASK16(b) PF_MASK4(b), PF_MASK4(b + 4), PF_MASK4(b + 8), PF_MASK4(b + 12)
static const __u32 pf_net_masks[129][4] = {PF_MASK16(0),  PF_MASK16(16),  PF_MASK16(32),
					   PF_MASK16(48), PF_MASK16(64),  PF_MASK16(80),
					   PF_MASK16(96), PF_MASK16(112), PF_MASK(128)};

/* Whether k (kind, set, value) is in its set at prefix length len. */
static __always_inline bool pf_net_value_at(struct pf_net_key *k, const __u32 *value, __u32 len)
{
	__u32 *d = (__u32 *)k->data;
	const __u32 *mask;

	/* the compiler knows every length is at most 128; the verifier must see the check */
	barrier_var(len);
	if (len > 128)
		return false;
	mask = pf_net_masks[len];
	k->prefixlen = len;
	/* an IPv4 address or a port has zeros past its first word */
	d[0] = value[0] & mask[0];
	d[1] = value[1] & mask[1];
	d[2] = value[2] & mask[2];
	d[3] = value[3] & mask[3];
	return bpf_map_lookup_elem(&net_values, k) != NULL;
}

/* One membership test: the key being tried, the value, the lengths left. */
struct pf_net_member {
	struct pf_net_key k;
	__u32 value[4];
	__u64 lens;
	bool found;
};

/*
 * Tries the lowest length left (a bpf_loop callback: verified once, however
 * many lengths the data has). An IPv6 bit stands for two lengths (three at
 * bit 63: 126..128).
 */
static long pf_net_member_step(__u32 i, void *ctx)
{
	struct pf_net_member *m = ctx;
	__u32 len;

	if (!m->lens)
		return 1;
	len = pf_lowest_bit(m->lens);
	m->lens &= m->lens - 1;
	if (m->k.kind != PF_NET_KEY_V6) {
		m->found = pf_net_value_at(&m->k, m->value, len);
		return m->found;
	}
	m->found = pf_net_value_at(&m->k, m->value, 2 * len) ||
		   pf_net_value_at(&m->k, m->value, 2 * len + 1) ||
		   (len == 63 && pf_net_value_at(&m->k, m->value, 128));
	return m->found;
}

/*
 * Whether the destination address (port) is in set set_id: one lookup per
 * prefix length the workload's sets use (at most 33 for IPv4, 129 for IPv6,
 * 17 for ports; a handful in practice), whatever the node holds.
 */
#ifdef PF_COMPAT
/*
 * The compat build's membership test: a global function (compat.bpf.h),
 * verified once on its own, taking the test as scalars.
 */
__noinline int pf_net_member_global(__u64 set_kind, __u64 lens, __u64 value01, __u64 value23)
{
	struct pf_net_member m = {};

	m.k.set_id = (__u32)set_kind;
	m.k.kind = set_kind >> 32;
	m.lens = lens;
	__builtin_memcpy(&m.value[0], &value01, sizeof(value01));
	__builtin_memcpy(&m.value[2], &value23, sizeof(value23));
	pf_loop(64, pf_net_member_step, &m);
	return m.found;
}
#endif

static __always_inline bool pf_net_member_of(struct pf_net_member *m, __u32 set_id, __u8 kind,
					     __u64 lens)
{
#ifdef PF_COMPAT
	__u64 value01, value23;

	__builtin_memcpy(&value01, &m->value[0], sizeof(value01));
	__builtin_memcpy(&value23, &m->value[2], sizeof(value23));
	return pf_net_member_global(set_id | (__u64)kind << 32, lens, value01, value23);
#endif
	m->k.set_id = set_id;
	m->k.kind = kind;
	m->lens = lens;
	m->found = false;
	/*
	 * The first length by a direct call: most tests end there (one length,
	 * or a hit on the first), and a bpf_loop iteration is an indirect call.
	 */
	if (pf_net_member_step(0, m) || !m->lens)
		return m->found;
	pf_loop(64, pf_net_member_step, m);
	return m->found;
}

/*
 * The inline values are tested all at once, without a branch (a branch per
 * value would multiply the paths the verifier walks): bit i of the result
 * is whether value i holds the destination, and the rule's reference says
 * which bits are its own. 1 when x is 0, else 0:
 */
static __always_inline __u32 pf_is_zero(__u32 x)
{
	return ((x | -x) >> 31) ^ 1;
}

static __always_inline bool pf_net_addr_in(const struct pf_net_call *c,
					   const struct pf_net_ruleset *nrs, __u32 set_id)
{
	if (set_id & PF_NET_INLINE) {
		/* IPv4 CIDRs only: no IPv6 address is in them */
		__u32 hits = 0;

		if (c->family != PF_NET_INET)
			return false;
		for (__u32 i = 0; i < PF_NET_INLINE_V4; i++)
			hits |= pf_is_zero((c->addr[0] & nrs->v4[i].mask) ^ nrs->v4[i].addr) << i;
		return hits & set_id;
	}

	/* only a set's test needs the member (zero-filled: the key is hashed whole) */
	struct pf_net_member m = {};

	__builtin_memcpy(m.value, c->addr, sizeof(m.value));
	if (c->family == PF_NET_INET)
		return pf_net_member_of(&m, set_id, PF_NET_KEY_V4, nrs->v4_lens);
	return pf_net_member_of(&m, set_id, PF_NET_KEY_V6, nrs->v6_lens);
}

static __always_inline bool pf_net_port_in(const struct pf_net_call *c,
					   const struct pf_net_ruleset *nrs, __u32 set_id)
{
	if (set_id & PF_NET_INLINE) {
		__s32 port = bpf_ntohs(c->port_be);
		__u32 hits = 0;

		/* lo <= port <= hi: neither difference negative */
		for (__u32 i = 0; i < PF_NET_INLINE_PORTS; i++)
			hits |= (((__u32)((port - nrs->ports[i].lo) | (nrs->ports[i].hi - port)) >>
				  31) ^
				 1)
				<< i;
		return hits & set_id;
	}

	struct pf_net_member m = {};

	/* the port's 16 bits are the first of the word, as in the key */
	m.value[0] = c->port_be;
	return pf_net_member_of(&m, set_id, PF_NET_KEY_PORT, nrs->port_lens);
}

static __always_inline bool pf_net_rule_holds(const struct pf_net_rule *r,
					      const struct pf_net_ruleset *nrs,
					      const struct pf_net_call *c)
{
	if (r->families && !(r->families & c->family))
		return false;
	if (r->protocols && !(r->protocols & c->protocol))
		return false;
	/* a condition holds when the value is in its set, or is not for Not* operators */
	if (r->addr_set && pf_net_addr_in(c, nrs, r->addr_set) == !!(r->negate & PF_NET_NOT_ADDR))
		return false;
	if (r->port_set && pf_net_port_in(c, nrs, r->port_set) == !!(r->negate & PF_NET_NOT_PORT))
		return false;
	return true;
}

static __always_inline void pf_net_emit(const struct pf_net_call *c, const struct pf_verdict *v,
					__u64 cgid, __u32 wl_id)
{
	struct pf_net_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev) {
		pf_stat_inc(PF_STAT_EVENTS_LOST);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ktime_ns = bpf_ktime_get_ns();
	ev->cgroup_id = cgid;
	ev->pid = (__u32)id;
	ev->tgid = id >> 32;
	ev->workload_id = wl_id;
	ev->flags = PF_EV_NET | v->ev_flags;
	ev->n_policies = v->n_policies;
	ev->family = c->family == PF_NET_INET ? PF_AF_INET : PF_AF_INET6;
	ev->port = bpf_ntohs(c->port_be);
	ev->protocol = (__u8)c->ip_proto;
	ev->hook = c->hook;
	__builtin_memcpy(ev->addr, c->addr, 16);
	__builtin_memcpy(ev->policies, v->policies, sizeof(ev->policies));
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
}

/*
 * The rules of the workload bound to the current cgroup, or NULL when it
 * has none (allowed). A bound workload whose egress rules should be there
 * (its exec ruleset says so) but are not, or which lost every rule, takes
 * its nearest bound ancestor's, else *deny: fail closed.
 */
static __always_inline struct pf_net_ruleset *pf_net_rules(__u64 cgid, __u32 *wl_out, bool *deny,
							   __u32 *learn_id)
{
	struct pf_cg_binding *b = bpf_map_lookup_elem(&cg_workload, &cgid);
	struct pf_net_ruleset *nrs;
	struct pf_ruleset_s *rs;
	__u32 wl_id;

	*deny = false;
	if (!b) {
		if (!pf_cg_overflowed())
			return NULL;
		b = pf_cg_nearest_bound(cgid, NULL);
		if (!b)
			return NULL;
	}
	wl_id = b->wl_id;
	*wl_out = wl_id;
	nrs = bpf_map_lookup_elem(&wl_net, &wl_id);
	if (nrs) {
		*learn_id = nrs->learn_id;
		return nrs;
	}
	/* Both classes share the header: flags and learn_id are all this reads. */
	rs = pf_ruleset_lookup(wl_id);
	if (rs) {
		*deny = rs->flags & PF_RS_NET;
		*learn_id = rs->learn_id;
		return NULL;
	}
	b = pf_cg_nearest_bound(cgid, NULL);
	if (b) {
		wl_id = b->wl_id;
		*wl_out = wl_id;
		nrs = bpf_map_lookup_elem(&wl_net, &wl_id);
		if (nrs) {
			*learn_id = nrs->learn_id;
			return nrs;
		}
		rs = pf_ruleset_lookup(wl_id);
		if (rs && !(rs->flags & PF_RS_NET)) {
			*learn_id = rs->learn_id;
			return NULL;
		}
	}
	*deny = true;
	return NULL;
}

/* One egress decision, handed to the per-rule callback (verified once). */
struct pf_net_eval {
	struct pf_net_call c;
	struct pf_net_ruleset *nrs;
	int matched_group;
	struct pf_verdict v;
};

/* Evaluates rule i: first match per group, groups independent. Returns 1 to stop. */
static __always_inline long pf_net_rule_eval(__u32 i, const struct pf_net_ruleset *nrs,
					     const struct pf_net_call *c, int *matched_group,
					     struct pf_verdict *v)
{
	const struct pf_net_rule *r;

	if (i >= nrs->n_rules || i >= PF_NET_MAX_RULES)
		return 1;
	r = &nrs->rules[i];
	if (r->group == *matched_group || !pf_net_rule_holds(r, nrs, c))
		return 0;
	*matched_group = r->group;
	pf_verdict_apply(v, r->policy_id, r->actions, r->flags, r->err);
	return 0;
}

/* A bpf_loop callback. */
static long pf_net_rule_step(__u32 i, void *ctx)
{
	struct pf_net_eval *e = ctx;

	return pf_net_rule_eval(i, e->nrs, &e->c, &e->matched_group, &e->v);
}

#ifdef PF_COMPAT
/*
 * The compat build's rule loop: a global step (compat.bpf.h) reaches only
 * map values it looks up itself, so the call, a copy of the ruleset (never
 * a mix of two versions of it) and the verdict live in a per-CPU frame.
 */
struct pf_net_frame {
	struct pf_net_call c;
	int matched_group;
	struct pf_net_ruleset nrs;
	struct pf_verdict v;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_net_frame);
	__uint(max_entries, PF_SCRATCH_SLOTS);
} net_frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct pf_scratch_busy);
	__uint(max_entries, 1);
} net_frames_busy SEC(".maps");

__noinline int pf_net_rule_step_global(__u32 i, __u32 slot)
{
	struct pf_net_frame *f = bpf_map_lookup_elem(&net_frames, &slot);

	return f ? pf_net_rule_eval(i, &f->nrs, &f->c, &f->matched_group, &f->v) : 1;
}

static __always_inline void pf_net_rules_run(struct pf_net_eval *e)
{
	struct pf_scratch_busy *busy = NULL;
	struct pf_net_frame *f;
	int slot = pf_slot_claim(&net_frames_busy, &busy);
	__u32 key = slot;

	f = slot < 0 ? NULL : bpf_map_lookup_elem(&net_frames, &key);
	if (!f) {
		/* nested too deep on this CPU to evaluate: fail closed */
		pf_stat_inc(PF_STAT_SCRATCH_BUSY);
		e->v.deny = true;
		e->v.err = 1; /* EPERM */
		if (slot >= 0)
			pf_scratch_release(busy, slot);
		return;
	}
	f->c = e->c;
	f->matched_group = -1;
	__builtin_memset(&f->v, 0, sizeof(f->v));
	bpf_probe_read_kernel(&f->nrs, sizeof(f->nrs), e->nrs);
	pf_loop_global(PF_NET_MAX_RULES, pf_net_rule_step, e, key);
	e->v = f->v;
	pf_scratch_release(busy, slot);
}
#else
static __always_inline void pf_net_rules_run(struct pf_net_eval *e)
{
	/* as many iterations as rules: each is an indirect call */
	bpf_loop(e->nrs->n_rules, pf_net_rule_step, e, 0);
}
#endif

/*
 * Learning (learn.bpf.h): each distinct destination (address, port,
 * protocol) of a learning pod's container recorded once, in the table the
 * exec records share; a repeated one is only counted.
 */
static __always_inline void pf_net_learn(const struct pf_net_call *c, __u32 learn_id, __u64 cgid)
{
	struct pf_learn_key k = {.learn_id = learn_id};
	struct pf_net_event *ev;

	k.flags = pf_learn_net_flags(c->family, c->protocol, bpf_ntohs(c->port_be));
	__builtin_memcpy(&k.path_hash, &c->addr[0], 8);
	__builtin_memcpy(&k.caller_hash, &c->addr[2], 8);
	pf_stat_inc(PF_STAT_LEARN_EXECS);
	if (!pf_learn_first_use(&k))
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		pf_learn_forget(&k);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ktime_ns = bpf_ktime_get_ns();
	ev->cgroup_id = cgid;
	ev->pid = (__u32)bpf_get_current_pid_tgid();
	ev->tgid = bpf_get_current_pid_tgid() >> 32;
	ev->flags = PF_EV_NET | PF_EV_LEARN;
	ev->learn_id = learn_id;
	ev->family = c->family == PF_NET_INET ? PF_AF_INET : PF_AF_INET6;
	ev->port = bpf_ntohs(c->port_be);
	ev->protocol = (__u8)c->ip_proto;
	ev->hook = c->hook;
	__builtin_memcpy(ev->addr, c->addr, 16);
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
	pf_stat_inc(PF_STAT_LEARN_RECORDS);
}

/* Returns 1 (go on) or 0 (refused: the call fails with EPERM or the rule's errno). */
static __always_inline int pf_decide_net(struct pf_net_eval *e)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 wl_id = 0, learn_id = 0;
	bool deny;

	e->matched_group = -1;
	/*
	 * No counter of the calls let through: a per-CPU counter is a page of
	 * its own to reach on every connect (about a hash lookup's time, measured
	 * in docs/benchmarks.md section 8); refusals and reports are counted.
	 */
	e->nrs = pf_net_rules(cgid, &wl_id, &deny, &learn_id);
	if (!e->nrs) {
		if (!deny) {
			if (learn_id && !e->c.raw)
				pf_net_learn(&e->c, learn_id, cgid);
			return 1;
		}
		pf_stat_inc(PF_STAT_NET_NO_RULES);
		e->v.deny = true;
		e->v.ev_flags |= PF_EV_NO_RULES;
	} else if (e->c.raw) {
		if (!(e->nrs->flags & PF_NRS_NO_RAW))
			return 1;
		e->v.deny = true;
	} else {
		pf_net_rules_run(e);
	}
	if (e->v.deny) {
		/* Sigkill: the agent kills the caller when it reads the event */
		e->v.ev_flags |= PF_EV_BLOCKED | (e->v.kill ? PF_EV_KILLED : 0);
		pf_stat_inc(PF_STAT_NET_BLOCKED);
	} else if (e->v.n_policies) {
		pf_stat_inc(PF_STAT_NET_REPORTED);
	}
	if (e->v.deny || e->v.n_policies)
		pf_net_emit(&e->c, &e->v, cgid, wl_id);
	if (!e->v.deny) {
		if (learn_id && !e->c.raw)
			pf_net_learn(&e->c, learn_id, cgid);
		return 1;
	}
	/* Override's argError (cgroup programs may choose the errno since 5.18). */
	if (e->v.err && e->v.err != 1)
		pf_set_retval(-(int)e->v.err);
	return 0;
}

static __always_inline __u8 pf_net_proto_bit(__u32 protocol)
{
	if (protocol == PF_IPPROTO_TCP || protocol == PF_IPPROTO_MPTCP)
		return PF_NET_TCP;
	if (protocol == PF_IPPROTO_UDP || protocol == PF_IPPROTO_UDPLITE)
		return PF_NET_UDP;
	return 0;
}

static __always_inline int pf_net_inet4(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct pf_net_eval e = {.c = {.family = PF_NET_INET, .hook = hook}};

	e.c.ip_proto = ctx->protocol;
	e.c.protocol = pf_net_proto_bit(ctx->protocol);
	e.c.port_be = (__u16)ctx->user_port;
	e.c.addr[0] = ctx->user_ip4;
	return pf_decide_net(&e);
}

static __always_inline int pf_net_inet6(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct pf_net_eval e = {.c = {.family = PF_NET_INET6, .hook = hook}};
	struct pf_net_call *c = &e.c;

	c->ip_proto = ctx->protocol;
	c->protocol = pf_net_proto_bit(ctx->protocol);
	c->port_be = (__u16)ctx->user_port;
	c->addr[0] = ctx->user_ip6[0];
	c->addr[1] = ctx->user_ip6[1];
	c->addr[2] = ctx->user_ip6[2];
	c->addr[3] = ctx->user_ip6[3];
	/* ::ffff:a.b.c.d reaches IPv4 a.b.c.d: judged as that address. */
	if (c->addr[0] == 0 && c->addr[1] == 0 && c->addr[2] == bpf_htonl(0xffff)) {
		c->family = PF_NET_INET;
		c->addr[0] = c->addr[3];
		c->addr[2] = 0;
		c->addr[3] = 0;
	}
	return pf_decide_net(&e);
}

SEC("cgroup/connect4")
int net_connect4(struct bpf_sock_addr *ctx)
{
	return pf_net_inet4(ctx, PF_NET_HOOK_CONNECT);
}

SEC("cgroup/connect6")
int net_connect6(struct bpf_sock_addr *ctx)
{
	return pf_net_inet6(ctx, PF_NET_HOOK_CONNECT);
}

SEC("cgroup/sendmsg4")
int net_sendmsg4(struct bpf_sock_addr *ctx)
{
	return pf_net_inet4(ctx, PF_NET_HOOK_SENDMSG);
}

SEC("cgroup/sendmsg6")
int net_sendmsg6(struct bpf_sock_addr *ctx)
{
	return pf_net_inet6(ctx, PF_NET_HOOK_SENDMSG);
}

/*
 * TCP and UDP sockets are judged at connect and send; any other inet socket
 * (raw, ICMP ping, SCTP) can reach destinations no hook above sees, so a
 * workload with enforcing egress rules may not create one.
 */
SEC("cgroup/sock_create")
int net_sock_create(struct bpf_sock *sk)
{
	struct pf_net_eval e = {.c = {.hook = PF_NET_HOOK_SOCKET, .raw = 1}};
	__u32 type = sk->type, protocol = sk->protocol;

	if (sk->family != PF_AF_INET && sk->family != PF_AF_INET6)
		return 1;
	if ((type == PF_SOCK_STREAM && pf_net_proto_bit(protocol) == PF_NET_TCP) ||
	    (type == PF_SOCK_DGRAM && pf_net_proto_bit(protocol) == PF_NET_UDP))
		return 1;
	e.c.family = sk->family == PF_AF_INET ? PF_NET_INET : PF_NET_INET6;
	e.c.ip_proto = protocol;
	return pf_decide_net(&e);
}

#endif /* PF_NET_BPF_H */
