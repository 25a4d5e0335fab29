/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Egress values as the kernel stores them (abi.h, net_values): a CIDR is one
 * key, a port range the prefixes of the 16-bit port that cover it; and the
 * prefix lengths a ruleset's sets use, which say what the program looks up.
 * The values themselves are parsed by pf_cidr_parse() and
 * pf_port_range_parse() (policy.h).
 */
#ifndef PODFENCE_NETADDR_H
#define PODFENCE_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include "podfence/abi.h"
#include "podfence/strset.h"

/* One prefix of the port space: the ports whose top `bits` bits equal port's. */
struct pf_port_prefix {
	uint16_t port;
	uint8_t bits;
};
/* The fewest prefixes covering [lo, hi] exactly (at most 30); returns how many. */
size_t pf_port_range_prefixes(uint16_t lo, uint16_t hi, struct pf_port_prefix out[32]);

/*
 * The net_values keys of one value of set set_id (match: PF_MATCH_CIDR or
 * PF_MATCH_PORT), its bits past each prefix zeroed. Returns how many (a
 * CIDR: 1, a port range: up to 30), or -EINVAL when it is no such value.
 */
int pf_net_value_keys(enum pf_match match, uint32_t set_id, const char *value,
		      struct pf_net_key keys[32]);

/*
 * What the rules of one egress ruleset share besides their sets: the prefix
 * lengths those sets use (v4, v6, port: as struct pf_net_ruleset has them)
 * and the values kept inline (port ranges, IPv4 CIDRs).
 */
struct pf_net_shared {
	uint64_t v4_lens, v6_lens;
	uint32_t port_lens;
	struct pf_net_port_range ports[PF_NET_INLINE_PORTS];
	struct pf_net_cidr4 v4[PF_NET_INLINE_V4];
	uint8_t n_ports, n_v4;
};

/* Adds the prefix lengths of a set's values to l (-EINVAL: a bad value). */
int pf_net_lens_add(struct pf_net_shared *l, enum pf_match match, const struct pf_strset *values);

/*
 * Keeps a condition's values inline when they fit in l's room: *ref is
 * then the rule's inline reference (pf_net_inline_ref). -ENOSPC when they
 * do not fit, or for addresses when one is not IPv4 (the values are then a
 * set), -EINVAL for a value that is no port range (CIDR). l is unchanged
 * unless they are taken.
 */
int pf_net_ports_inline_add(struct pf_net_shared *l, const struct pf_strset *values,
			    uint32_t *port_set);
int pf_net_addrs_inline_add(struct pf_net_shared *l, const struct pf_strset *values,
			    uint32_t *addr_set);

/* l's part of a ruleset: its masks and inline ranges. */
void pf_net_shared_apply(const struct pf_net_shared *l, struct pf_net_ruleset *rs);

#endif /* PODFENCE_NETADDR_H */
