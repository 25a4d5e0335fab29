/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port ranges as the kernel stores them: the prefixes of the 16-bit port
 * that cover a range (the port trie matches a port against them). The
 * values themselves are parsed by pf_cidr_parse() and pf_port_range_parse()
 * (policy.h).
 */
#ifndef PODFENCE_NETADDR_H
#define PODFENCE_NETADDR_H

#include <stddef.h>
#include <stdint.h>

/* One prefix of the port space: the ports whose top `bits` bits equal port's. */
struct pf_port_prefix {
	uint16_t port;
	uint8_t bits;
};
/* The fewest prefixes covering [lo, hi] exactly (at most 30); returns how many. */
size_t pf_port_range_prefixes(uint16_t lo, uint16_t hi, struct pf_port_prefix out[32]);

#endif /* PODFENCE_NETADDR_H */
