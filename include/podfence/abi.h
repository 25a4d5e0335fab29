/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one ABI shared by the BPF programs and user space: map keys and values,
 * the event record, limits. Fixed-width fields, explicit padding, sizes
 * checked at compile time on both sides.
 *
 * Data model (every map is sparse and sized at start):
 *
 *   cg_workload   cgroup id        -> pf_cg_binding     (workload id + the mount namespace
 *                                                        the container's view is anchored to)
 *   cg_expect     cgroup dir name  -> workload id      (pods known before their cgroup exists:
 *                                                        bound by the kernel when it is created)
 *   cg_overflow   [0] kernel, [1] user space            (bindings that could not be written:
 *                                                        execs then look for a bound ancestor)
 *   wl_rules_s/l  workload id      -> pf_ruleset_s/l    (rules of one workload, inline:
 *                                                        replaced in one update = atomic;
 *                                                        bit 31 of the id picks the class)
 *   exact_s/m/l   {set id, path}   -> present           (exact path values, 3 length tiers)
 *   prefix_trie   {len, set, path} -> present           (LPM trie)
 *   suffix_trie   {len, set, rev}  -> present           (LPM trie of reversed paths)
 *   pol_counters  policy id        -> pf_policy_counters
 *   learned       pf_learn_key     -> pf_learn_seen     (learning: each distinct (pod container,
 *                                                        file, caller) once, then only counted)
 *   session_procs tgid             -> start time        (exec sessions: kubectl exec and below)
 *
 * Egress (docs/policy.md, "Egress"), judged by the cgroup/connect4/6 and
 * cgroup/sendmsg4/6 programs attached once at the cgroup2 root:
 *
 *   wl_net        workload id      -> pf_net_ruleset    (egress rules of one workload, inline)
 *   net_values    {set, kind, len, masked value} -> present
 *                                                       (destination CIDRs and port prefixes)
 *
 * Value sets are immutable and content-addressed by user space: changing the
 * values of a rule means a new set id, a new ruleset pointing at it, and the
 * old set freed only after every program that might still read it has ended.
 */
#ifndef PODFENCE_ABI_H
#define PODFENCE_ABI_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types on the BPF side. */
#else
#include <linux/types.h>
#endif

/* Resolved path of the executed file: built backwards in a scratch buffer. */
#define PF_PATH_BUF 4096
/* Longest path matched exactly; longer paths match no exact value (fail closed). */
#define PF_EXACT_MAX 1024
/* Exact-value tiers: key sizes keep short paths cheap to hash and to store. */
#define PF_EXACT_S 48
#define PF_EXACT_M 256
#define PF_EXACT_L PF_EXACT_MAX
/* LPM trie data is at most 256 bytes, 4 of which hold the set id. */
#define PF_AFFIX_MAX 252
/* Path components walked before giving up (fail closed, flagged). */
#define PF_MAX_DEPTH 256
/* cgroup levels searched for a bound ancestor (deeper levels: fail closed). */
#define PF_MAX_CG_LEVELS 64
/* Longest cgroup directory name the kernel binds at creation (cg_expect keys). */
#define PF_CG_NAME_MAX 96
/* Rules (selectors of all policies) applying to one workload: most workloads
 * have one or two, so rulesets come in two classes to keep bytes per binding low. */
#define PF_MAX_RULES   16
#define PF_SMALL_RULES 2
#define PF_WL_LARGE    (1u << 31)
/* Conditions ANDed in one rule (Tetragon: matchArgs + matchBinaries). */
#define PF_MAX_CONDS 3
/* Policies named in one event. */
#define PF_EVENT_POLICIES 4
/* Scratch slots per CPU: LSM programs are preemptible, so two tasks can be
 * inside the program on one CPU; each claims its own slot. */
#define PF_SCRATCH_SLOTS 4

/* Tiers of the exact maps, as bits in pf_cond.tiers. */
enum pf_tier {
	PF_TIER_S = 1 << 0,
	PF_TIER_M = 1 << 1,
	PF_TIER_L = 1 << 2,
};

/*
 * The one rule for where an exact value (or a path looked up exactly) of
 * this length lives: the smallest tier whose key holds it; 0 when no tier
 * does (empty, or longer than PF_EXACT_MAX: such a path equals no value).
 * Used by the program, the store and the memory estimates alike.
 */
static inline __attribute__((always_inline)) __u8 pf_exact_tier(__u32 len)
{
	if (len == 0 || len > PF_EXACT_MAX)
		return 0;
	if (len <= PF_EXACT_S)
		return PF_TIER_S;
	return len <= PF_EXACT_M ? PF_TIER_M : PF_TIER_L;
}

enum pf_subject {
	PF_SUBJ_EXEC_PATH = 0, /* the file being executed (resolved by the kernel) */
	PF_SUBJ_CALLER = 1,    /* the binary of the process calling exec */
	/* Egress (user space's model; the kernel reads them as struct pf_net_rule) */
	PF_SUBJ_DADDR = 2,    /* destination address: values are CIDRs */
	PF_SUBJ_DPORT = 3,    /* destination port: values are ports and ranges */
	PF_SUBJ_PROTOCOL = 4, /* "6" (TCP), "17" (UDP) */
	PF_SUBJ_FAMILY = 5,   /* "2" (AF_INET), "10" (AF_INET6) */
};

enum pf_match {
	PF_MATCH_NONE = 0,
	PF_MATCH_EXACT = 1,
	PF_MATCH_PREFIX = 2,
	PF_MATCH_SUFFIX = 3,
	PF_MATCH_CIDR = 4, /* a set of CIDRs: "10.0.0.0/8", "fd00::/8" (net_values) */
	PF_MATCH_PORT = 5, /* a set of ports: "53", "8000-8080" (net_values) */
};

/* One condition: "subject is (not) in value set set_id". */
struct pf_cond {
	__u32 set_id;
	__u8 subject; /* enum pf_subject */
	__u8 match;   /* enum pf_match */
	__u8 negate;  /* NotEqual, NotPrefix, ...: true when the subject is NOT in the set */
	__u8 tiers;   /* enum pf_tier bits: exact tiers holding values of this set */
};

enum pf_action {
	PF_ACT_DENY = 1 << 0, /* Override: exec fails (LSM/fmod_ret) or is killed (fallback) */
	PF_ACT_KILL = 1 << 1, /* Sigkill: the calling process is killed */
	PF_ACT_POST = 1 << 2, /* report an event */
};

enum pf_rule_flags {
	PF_RULE_MONITOR = 1 << 0, /* policy in monitor mode: report what would be blocked */
	/*
	 * Not a policy's rule: when the executed file is in conds[0]'s set, the
	 * rules whose bits are set in skip_mask (rule indices) cannot match and
	 * are skipped. Written first, by the compiler (pf_compiled_add_skip()).
	 */
	PF_RULE_SKIP_IF_IN = 1 << 1,
	/*
	 * The policy opted out of the container's view (nested containers):
	 * paths are matched as the calling task sees them, even from another
	 * mount namespace, a chroot or a detached mount (docs/security.md).
	 */
	PF_RULE_ANY_VIEW = 1 << 2,
};

/*
 * One selector of one policy, compiled for one workload. Rules of one policy
 * are consecutive and share `group`; within a group the first matching rule
 * acts (Tetragon: selectors are ORed, the first match wins). Groups are
 * independent: an exec is blocked if any enforcing group blocks it.
 */
struct pf_rule {
	__u32 policy_id;
	__u8 actions; /* enum pf_action bits */
	__u8 flags;   /* enum pf_rule_flags bits */
	__u8 group;
	__u8 n_conds;
	__u8 err; /* errno returned by Override on LSM/fmod_ret backends (positive) */
	__u8 pad;
	__u16 skip_mask; /* PF_RULE_SKIP_IF_IN only: bit i = rule i of the ruleset */
	struct pf_cond conds[PF_MAX_CONDS];
};

enum pf_ruleset_flags {
	/* a rule has a PF_SUBJ_CALLER condition: resolve the calling binary first */
	PF_RS_CALLER = 1 << 0,
	/*
	 * The workload has egress rules (wl_net): without them there, its
	 * connects are refused rather than let through (fail closed).
	 */
	PF_RS_NET = 1 << 1,
};

/*
 * A bound cgroup. The container's view of paths is anchored to one mount
 * namespace: the one of the first exec in the cgroup (or of the processes it
 * held when user space bound it), never the one a process chooses later.
 * The kernel alone writes mntns_id; user space rebinding a cgroup changes
 * wl_id in place (program cg_rebind), so an anchor survives every update.
 */
struct pf_cg_binding {
	__u32 wl_id;
	__u32 mntns_inum; /* hint from user space (nsfs inode of the cgroup's oldest
			   * process), checked before the first exec anchors; 0: none */
	__u64 mntns_id;	  /* unique id of the anchored mount namespace; 0: not yet */
	__u32 flags;	  /* enum pf_cg_flags, written with wl_id */
	__u32 pad;
};

enum pf_cg_flags {
	/*
	 * A pod's sandbox (its runtime said so): the exec that anchors the
	 * cgroup is the sandbox's own start (pause), allowed whatever the pod's
	 * rules; every later exec there is judged by them. Not inherited.
	 */
	PF_CG_SANDBOX = 1 << 0,
};

/* Key of cg_expect: a cgroup directory's name, zero-padded. */
struct pf_cg_name {
	char name[PF_CG_NAME_MAX];
};

/* Value of cg_expect: what the cgroup of that name is bound to at creation. */
struct pf_cg_expect {
	__u32 wl_id;
	__u32 flags; /* enum pf_cg_flags */
};

/* cg_overflow slots: execs look for a bound ancestor while they differ. */
enum pf_cg_overflow {
	PF_CG_OVERFLOW_EVENTS = 0, /* bumped by the kernel: a cgroup could not inherit */
	PF_CG_OVERFLOW_ACKED = 1,  /* written by user space after a repair; ~0: its own failures */
	PF_CG_OVERFLOW__MAX,
};

/* The two classes share their layout; the program reads n_rules entries. */
struct pf_ruleset_s {
	__u32 generation; /* bumped on every change, for debugging */
	__u16 n_rules;
	__u16 flags; /* enum pf_ruleset_flags, derived from the rules */
	/*
	 * Learning (docs/learning.md): 0, or the id user space gave this pod's
	 * container; execs it lets run are recorded under it in `learned`.
	 */
	__u32 learn_id;
	struct pf_rule rules[PF_SMALL_RULES];
};

struct pf_ruleset {
	__u32 generation;
	__u16 n_rules;
	__u16 flags;
	__u32 learn_id;
	struct pf_rule rules[PF_MAX_RULES];
};

/* Exact value key: the path starts at offset 8 in every key type (see below). */
struct pf_exact_key_s {
	__u32 set_id;
	__u32 len;
	char path[PF_EXACT_S];
};
struct pf_exact_key_m {
	__u32 set_id;
	__u32 len;
	char path[PF_EXACT_M];
};
struct pf_exact_key_l {
	__u32 set_id;
	__u32 len;
	char path[PF_EXACT_L];
};

/*
 * Kernels before 5.15 refuse hash keys over 512 bytes: in the compat build
 * (bpf/compat.bpf.h) exact_l holds each value as a chain of chunks instead.
 * A chunk's key carries the value's length and the link its predecessor's
 * entry holds (0 for the first), so chunks of different values never
 * combine; the last chunk's entry says the value is there.
 */
#define PF_EXACT_CHUNK	500
#define PF_EXACT_CHUNKS ((PF_EXACT_L + PF_EXACT_CHUNK - 1) / PF_EXACT_CHUNK)
struct pf_exact_key_chunk {
	__u32 set_id;
	__u32 len;  /* of the whole value */
	__u32 link; /* 0: the first chunk; else the previous chunk's entry */
	char part[PF_EXACT_CHUNK];
};

/* LPM trie key: prefixlen in bits covers the big-endian set id then the path. */
struct pf_affix_key {
	__u32 prefixlen;
	__u32 set_id_be;
	char path[PF_AFFIX_MAX];
};

struct pf_policy_counters {
	__u64 matched;	/* execs where a rule of the policy matched */
	__u64 blocked;	/* of those, blocked (enforce mode, deny action) */
	__u64 reported; /* of those, reported only (monitor mode or Post) */
};

/* Global counters (per-CPU array, index = enum pf_stat). */
enum pf_stat {
	PF_STAT_EXECS = 0, /* execs seen by the hook */
	PF_STAT_BOUND,	   /* of those, in a bound cgroup */
	PF_STAT_BLOCKED,
	PF_STAT_REPORTED,
	PF_STAT_NO_RULESET,    /* bound cgroup whose workload has no ruleset (should stay 0) */
	PF_STAT_PATH_LONG,     /* path longer than PF_EXACT_MAX */
	PF_STAT_PATH_FAILED,   /* path could not be resolved: failed closed */
	PF_STAT_SCRATCH_BUSY,  /* no scratch slot free: failed closed */
	PF_STAT_EVENTS_LOST,   /* ring buffer full */
	PF_STAT_CG_INHERITED,  /* cgroups bound at creation from their parent */
	PF_STAT_CG_FULL,       /* inheritance failed: cg_workload full */
	PF_STAT_FOREIGN_VIEW,  /* path not in the container's view (other mount ns, chroot,
				* detached mount): failed closed unless a policy opted out */
	PF_STAT_CG_ANCESTOR,   /* enforced through the nearest bound ancestor cgroup */
	PF_STAT_CG_EXPECTED,   /* cgroups bound at creation from a name user space expected */
	PF_STAT_RUNTIME_EXEC,  /* the runtime re-executing itself before a container's first exec */
	PF_STAT_SANDBOX_START, /* sandboxes started (their anchoring exec, allowed) */
	PF_STAT_LEARN_EXECS,   /* execs allowed in learning workloads */
	PF_STAT_LEARN_RECORDS, /* of those, a new (pod container, file, caller): one record */
	PF_STAT_LEARN_FULL,    /* a new one found `learned` full: not recorded, tried again */
	PF_STAT_LEARN_LOST,    /* a new one found the ring buffer full: tried again next exec */
	PF_STAT_NET_BLOCKED,   /* refused (EPERM), raw sockets included */
	PF_STAT_NET_REPORTED,  /* reported only (monitor mode or Post) */
	PF_STAT_NET_NO_RULES,  /* egress rules expected but missing: refused (fail closed) */
	PF_STAT__MAX,
};

enum pf_event_flags {
	PF_EV_BLOCKED = 1 << 0,	     /* the exec was stopped */
	PF_EV_MONITOR = 1 << 1,	     /* a monitor-mode policy would have blocked it */
	PF_EV_PATH_LONG = 1 << 2,    /* path longer than PF_EXACT_MAX (no exact allow entry) */
	PF_EV_PATH_FAILED = 1 << 3,  /* path not resolvable (too deep): failed closed */
	PF_EV_KILLED = 1 << 4,	     /* delivered as SIGKILL (fallback backend or Sigkill) */
	PF_EV_FOREIGN_VIEW = 1 << 5, /* not the container's view of the file: failed closed */
	PF_EV_NO_RULES = 1 << 6,     /* bound cgroup whose workload has no rules: failed closed */
	PF_EV_LEARN = 1 << 7,	     /* not an exec decision: a struct pf_learn_event */
	PF_EV_NET = 1 << 16,	     /* not an exec decision: a struct pf_net_event */
};

struct pf_event_policy {
	__u32 policy_id;
	__u8 actions;
	__u8 flags;
	__u16 pad;
};

struct pf_event {
	__u64 ktime_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tgid;
	__u32 workload_id;
	__u32 flags; /* enum pf_event_flags */
	__u32 n_policies;
	__u32 path_len;
	struct pf_event_policy policies[PF_EVENT_POLICIES];
	char comm[16];
	char path[PF_PATH_BUF];
};

/*
 * Learning. A record is keyed by the pod container's learn id, the
 * kinds below that change what the record means, and 64-bit hashes of the
 * two paths (FNV-1a over 8-byte words of the zero-padded path, then the
 * length): two paths of one learn id with equal hashes make one record, so
 * a collision can only leave a binary out of a proposal (it is then denied
 * once enforced, never wrongly allowed).
 */
enum pf_learn_flags {
	PF_LEARN_SESSION = 1 << 8,	  /* in an exec session (kubectl exec) or its descendants */
	PF_LEARN_RUNTIME_CALLER = 1 << 9, /* exec'd by the runtime: the entrypoint, or a
					   * session's command */
	PF_LEARN_FOREIGN = 1 << 10,	  /* not the container's view of the file */
	PF_LEARN_NO_CALLER = 1 << 11,	  /* the backend cannot see the calling binary */
	PF_LEARN_PATH_LONG = 1 << 12, /* a path longer than PF_EXACT_MAX: cut, hash of a prefix */
	PF_LEARN_CALLER_LONG = 1 << 13,
	/*
	 * A destination (egress), not an exec: path_hash and caller_hash hold
	 * the address's 16 bytes (IPv4: the first 4), the low bits of flags
	 * the rest (pf_learn_net_flags()).
	 */
	PF_LEARN_NET = 1u << 30, /* (bit 31: user space's own, seeded records) */
};

/* The key flags of a learned destination: family and protocol bits, the port. */
static inline __attribute__((always_inline)) __u32 pf_learn_net_flags(__u8 family, __u8 protocol,
								      __u16 port)
{
	return PF_LEARN_NET | ((__u32)(family & 3) << 26) | ((__u32)(protocol & 3) << 24) | port;
}
#define PF_LEARN_KEY_FLAGS (PF_LEARN_SESSION | PF_LEARN_RUNTIME_CALLER | PF_LEARN_FOREIGN)

struct pf_learn_key {
	__u32 learn_id;
	__u32 flags; /* PF_LEARN_KEY_FLAGS bits of enum pf_learn_flags */
	__u64 path_hash;
	__u64 caller_hash;
};

struct pf_learn_seen {
	__u64 first_ns; /* ktime (CLOCK_MONOTONIC) of the first exec */
	__u64 last_ns;	/* ... of the latest */
	__u64 execs;	/* execs counted (racy across CPUs: at least this many) */
};

/* Shares pf_event's first 32 bytes: flags (PF_EV_LEARN set) tells them apart. */
struct pf_learn_event {
	__u64 ktime_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tgid;
	__u32 learn_id;
	__u32 flags; /* PF_EV_LEARN | enum pf_learn_flags */
	__u32 path_len;
	__u32 caller_len;
	struct pf_learn_key key;
	char comm[16];
	char path[PF_EXACT_MAX];
	char caller[PF_EXACT_MAX];
};

/*
 * Egress. A Tetragon selector on a connect hook is a conjunction (address,
 * port, protocol, family): whether the destination's address is in a set of
 * CIDRs, its port in a set of port ranges (a range is a few prefixes of the
 * 16-bit port). Small lists are kept in the ruleset (below); larger ones
 * are sets in one hash map, net_values, keyed by (set, kind, prefix length,
 * value masked to that length): a CIDR or a port prefix is one entry, and
 * "is x in set s" is one lookup per prefix length the workload's sets use
 * (the ruleset's *_lens masks), whatever the number of sets and entries on
 * the node. (An LPM trie holding every workload's sets
 * gets deeper with all of them: measured, docs/benchmarks.md section 8.)
 * Sets are content-addressed and shared like exec's value sets.
 */
#define PF_NET_MAX_RULES 7
/*
 * Values kept in the ruleset itself, shared by its rules: a condition whose
 * values fit is compared in the program, with no lookup and no net_values
 * entry; a larger one is a set. Port ranges: 5. IPv4 CIDRs: 16, for an
 * address condition whose values are all IPv4 (an allowlist of a few
 * services' addresses, the common case); a set with an IPv6 value is in
 * net_values whole. 7 rules, 5 ranges and 16 CIDRs keep the ruleset at 320
 * bytes.
 */
#define PF_NET_INLINE_PORTS 5
#define PF_NET_INLINE_V4    16
/*
 * A rule's addr_set or port_set with this bit: not a set, but those of the
 * ruleset's own values (v4 or ports) whose bits are set in the low 16.
 */
#define PF_NET_INLINE (1u << 31)

static inline __attribute__((always_inline)) __u32 pf_net_inline_ref(__u32 first, __u32 count)
{
	return PF_NET_INLINE | (((1u << count) - 1) << first);
}

enum pf_net_family {
	PF_NET_INET = 1 << 0,  /* IPv4, and IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	PF_NET_INET6 = 1 << 1, /* every other IPv6 address */
};

enum pf_net_proto {
	PF_NET_TCP = 1 << 0,
	PF_NET_UDP = 1 << 1,
};

enum pf_net_negate {
	PF_NET_NOT_ADDR = 1 << 0, /* NotDAddr: the rule holds when the address is NOT in addr_set */
	PF_NET_NOT_PORT = 1 << 1, /* NotDPort */
};

struct pf_net_rule {
	__u32 policy_id;
	__u32 addr_set; /* 0: any address; PF_NET_INLINE: CIDRs of the ruleset */
	__u32 port_set; /* 0: any port; PF_NET_INLINE: ranges of the ruleset */
	__u8 actions;	/* enum pf_action bits (Sigkill: denied; the agent kills the caller) */
	__u8 flags;	/* enum pf_rule_flags bits (PF_RULE_MONITOR) */
	__u8 group;	/* first match wins per group, groups independent (as exec) */
	__u8 err;	/* errno returned by Override (positive) */
	__u8 families;	/* enum pf_net_family bits the rule holds for */
	__u8 protocols; /* enum pf_net_proto bits the rule holds for */
	__u8 negate;	/* enum pf_net_negate bits */
	__u8 pad;
};

/* Ports lo..hi, both included (host order). */
struct pf_net_port_range {
	__u16 lo, hi;
};

/* An IPv4 CIDR: an address is in it when (address & mask) == addr (network order). */
struct pf_net_cidr4 {
	__u32 addr, mask;
};

enum pf_net_ruleset_flags {
	/* raw IP sockets are refused (they would send to any destination unseen) */
	PF_NRS_NO_RAW = 1 << 0,
};

/*
 * The prefix lengths the sets of one ruleset use, as bits: the lookups a
 * membership test makes. IPv6 lengths share bits in pairs (bit len / 2;
 * 126, 127 and 128 all bit 63), each bit tried at both (three) lengths.
 */
static inline __attribute__((always_inline)) __u32 pf_net_v6_len_bit(__u32 len)
{
	return len >= 126 ? 63 : len / 2;
}

struct pf_net_ruleset {
	__u32 generation;
	__u16 n_rules;
	__u16 flags;	 /* enum pf_net_ruleset_flags */
	__u32 learn_id;	 /* learning: destinations recorded under it (0: none) */
	__u32 port_lens; /* bit L (0..16): a port prefix of L bits */
	__u64 v4_lens;	 /* bit L (0..32): an IPv4 CIDR /L */
	__u64 v6_lens;	 /* bit pf_net_v6_len_bit(L): an IPv6 CIDR /L */
	struct pf_net_port_range ports[PF_NET_INLINE_PORTS];
	struct pf_net_rule rules[PF_NET_MAX_RULES];
	struct pf_net_cidr4 v4[PF_NET_INLINE_V4];
};

enum pf_net_kind {
	PF_NET_KEY_V4 = 1,
	PF_NET_KEY_V6 = 2,
	PF_NET_KEY_PORT = 3,
};

/* One CIDR or port prefix of a set: the value's bits past prefixlen are zero. */
struct pf_net_key {
	__u32 set_id;
	__u8 kind;	/* enum pf_net_kind */
	__u8 prefixlen; /* bits of data that count */
	__u16 pad;
	__u8 data[16]; /* address, network order; a port: data[0..1], network order */
};

/* Shares pf_event's first 32 bytes: flags has PF_EV_NET. */
struct pf_net_event {
	__u64 ktime_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tgid;
	__u32 workload_id;
	__u32 flags; /* PF_EV_NET | PF_EV_BLOCKED, PF_EV_MONITOR, PF_EV_NO_RULES, PF_EV_NET_* */
	__u32 n_policies;
	__u16 family;  /* AF_INET or AF_INET6 as the address is judged (mapped: AF_INET) */
	__u16 port;    /* host byte order */
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP, 0 for a raw socket refused */
	__u8 hook;     /* enum pf_net_hook */
	__u16 pad;
	__u32 learn_id; /* with PF_EV_LEARN: a destination learned under this id */
	__u8 addr[16];	/* IPv4: the first 4 bytes */
	struct pf_event_policy policies[PF_EVENT_POLICIES];
	char comm[16];
};

enum pf_net_hook {
	PF_NET_HOOK_CONNECT = 0,
	PF_NET_HOOK_SENDMSG = 1, /* unconnected UDP (DNS included) */
	PF_NET_HOOK_SOCKET = 2,	 /* socket(2) of a raw IP socket */
};

/* Backend that enforces exec; chosen at start, recorded in the pinned config. */
enum pf_backend {
	PF_BACKEND_NONE = 0,
	PF_BACKEND_LSM = 1,	/* lsm/bprm_check_security: -EPERM */
	PF_BACKEND_FMODRET = 2, /* fmod_ret/security_bprm_check: -EPERM */
	PF_BACKEND_TP = 3,	/* tp_btf/sched_prepare_exec + SIGKILL (kernel >= 6.10) */
	PF_BACKEND_TP_LATE = 4, /* tp_btf/sched_process_exec + SIGKILL: no calling binary */
	PF_BACKEND__MAX,
};

/* Pinned allocation state (map "meta"): ids are reserved in blocks before use,
 * so a restarted agent never reuses an id that kernel data may still carry. */
struct pf_meta {
	__u32 backend; /* enum pf_backend of the attached exec program */
	__u32 next_set_id;
	__u32 next_wl_id;
	__u32 next_policy_id;
	__u64 generation; /* bumped by every agent that takes the state over */
};

#define PF_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " ABI size")
PF_ASSERT_SIZE(struct pf_cond, 8);
PF_ASSERT_SIZE(struct pf_cg_binding, 24);
PF_ASSERT_SIZE(struct pf_cg_expect, 8);
PF_ASSERT_SIZE(struct pf_cg_name, PF_CG_NAME_MAX);
PF_ASSERT_SIZE(struct pf_rule, 36);
PF_ASSERT_SIZE(struct pf_ruleset_s, 12 + 36 * PF_SMALL_RULES);
PF_ASSERT_SIZE(struct pf_ruleset, 12 + 36 * PF_MAX_RULES);
PF_ASSERT_SIZE(struct pf_learn_key, 24);
PF_ASSERT_SIZE(struct pf_learn_seen, 24);
PF_ASSERT_SIZE(struct pf_learn_event, 40 + 24 + 16 + 2 * PF_EXACT_MAX);
PF_ASSERT_SIZE(struct pf_exact_key_s, 8 + PF_EXACT_S);
PF_ASSERT_SIZE(struct pf_exact_key_chunk, 512);
PF_ASSERT_SIZE(struct pf_affix_key, 8 + PF_AFFIX_MAX);
PF_ASSERT_SIZE(struct pf_event_policy, 8);
PF_ASSERT_SIZE(struct pf_meta, 24);
PF_ASSERT_SIZE(struct pf_net_rule, 20);
PF_ASSERT_SIZE(struct pf_net_ruleset,
	       32 + 4 * PF_NET_INLINE_PORTS + 20 * PF_NET_MAX_RULES + 8 * PF_NET_INLINE_V4);
PF_ASSERT_SIZE(struct pf_net_ruleset, 320);
PF_ASSERT_SIZE(struct pf_net_key, 24);
PF_ASSERT_SIZE(struct pf_net_event, 40 + 8 + 16 + 8 * PF_EVENT_POLICIES + 16);
PF_ASSERT_SIZE(struct pf_event, 40 + 8 * PF_EVENT_POLICIES + 16 + PF_PATH_BUF);

#endif /* PODFENCE_ABI_H */
