// SPDX-License-Identifier: GPL-2.0
/*
 * The per-policy-program baseline of the egress hooks: Tetragon's
 * architecture (one program per policy on the hook), reduced to its
 * per-connect skeleton. The benchmark (net.c) loads one copy of this object
 * per policy and attaches every copy at the cgroup2 root (multi-attach), so
 * every connect and unconnected UDP send runs all of them:
 *
 *   1. policy filter: the outer map (shared by all copies, keyed by policy
 *      id) gives this policy's own map of cgroup ids; a cgroup it does not
 *      hold lets the call through (what most copies do on most calls);
 *   2. one lookup of the destination in this copy's own CIDR trie; a miss
 *      refuses the call (EPERM).
 *
 * Tetragon's generic kprobe programs do much more per copy (argument
 * copying, selector interpretation, tail calls), so this is a lower bound of
 * that architecture's cost.
 *
 * bln_empty_*: the floor of any program on these hooks (entry, accounting,
 * return), measured as a configuration of its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define BLN_FILTER_MAX	 256
#define BLN_POLICIES_MAX 4096
#define BLN_CIDRS_MAX	 64

/* Set by user space before load: the policy this copy enforces. */
const volatile __u32 policy_id = 0;

struct bln_filter_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
	__uint(max_entries, BLN_FILTER_MAX);
};

/* One map for all copies (user space reuses the first copy's fd). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, BLN_POLICIES_MAX);
	__array(values, struct bln_filter_inner);
} bln_filters SEC(".maps");

struct bln_key4 {
	__u32 prefixlen;
	__u32 addr;
};

/* This policy's destinations. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bln_key4);
	__type(value, __u8);
	__uint(max_entries, BLN_CIDRS_MAX);
} bln_allow SEC(".maps");

static __always_inline int bln_decide(struct bpf_sock_addr *ctx)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 id = policy_id;
	struct bln_key4 k = {.prefixlen = 32};
	void *filter;

	filter = bpf_map_lookup_elem(&bln_filters, &id);
	if (!filter || !bpf_map_lookup_elem(filter, &cgid))
		return 1;
	k.addr = ctx->user_ip4;
	return bpf_map_lookup_elem(&bln_allow, &k) ? 1 : 0;
}

SEC("cgroup/connect4")
int bln_connect4(struct bpf_sock_addr *ctx)
{
	return bln_decide(ctx);
}

SEC("cgroup/sendmsg4")
int bln_sendmsg4(struct bpf_sock_addr *ctx)
{
	return bln_decide(ctx);
}

SEC("cgroup/connect4")
int bln_empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int bln_empty_sendmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}
