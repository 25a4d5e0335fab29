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
 * and the port ranges kept inline.
 */
struct pf_net_shared {
	uint64_t v4, v6;
	uint32_t port;
	struct pf_net_port_range ports[PF_NET_INLINE_PORTS];
	uint8_t n_ports;
};

/* Adds the prefix lengths of a set's values to l (-EINVAL: a bad value). */
int pf_net_lens_add(struct pf_net_shared *l, enum pf_match match, const struct pf_strset *values);

/*
 * Keeps a port condition's values inline when its ranges fit in l's room:
 * *port_set is then the rule's inline reference. -ENOSPC when they do not
 * fit (the values are a set), -EINVAL for a value that is no port range.
 */
int pf_net_ports_inline_add(struct pf_net_shared *l, const struct pf_strset *values,
			    uint32_t *port_set);

/* l's part of a ruleset: its masks and inline ranges. */
void pf_net_shared_apply(const struct pf_net_shared *l, struct pf_net_ruleset *rs);

#endif /* PODFENCE_NETADDR_H */
