// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "podfence/netaddr.h"
#include "podfence/policy.h"

size_t pf_port_range_prefixes(uint16_t lo, uint16_t hi, struct pf_port_prefix out[32])
{
	uint32_t cur = lo, last = hi;
	size_t n = 0;

	while (cur <= last) {
		/* the largest aligned block starting at cur that stays within the range */
		uint8_t size_log = 0;

		while (size_log < 16) {
			uint32_t size = 1u << (size_log + 1);

			if (cur & (size - 1) || cur + size - 1 > last)
				break;
			size_log++;
		}
		out[n].port = (uint16_t)cur;
		out[n].bits = (uint8_t)(16 - size_log);
		n++;
		cur += 1u << size_log;
	}
	return n;
}

/* Zeroes the bits of data past the first len. */
static void mask_bits(uint8_t *data, size_t bytes, unsigned len)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned keep = len > 8 * i ? len - 8 * i : 0;

		if (keep < 8)
			data[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int pf_net_value_keys(enum pf_match match, uint32_t set_id, const char *value,
		      struct pf_net_key keys[32])
{
	struct pf_port_prefix pp[32];
	uint16_t lo, hi;
	uint8_t family;
	unsigned len;
	size_t n;

	memset(keys, 0, 32 * sizeof(*keys));
	if (match == PF_MATCH_CIDR) {
		if (pf_cidr_parse(value, &family, keys[0].data, &len))
			return -EINVAL;
		keys[0].set_id = set_id;
		keys[0].kind = family == PF_NET_INET ? PF_NET_KEY_V4 : PF_NET_KEY_V6;
		keys[0].prefixlen = (uint8_t)len;
		mask_bits(keys[0].data, sizeof(keys[0].data), len);
		return 1;
	}
	if (match != PF_MATCH_PORT || pf_port_range_parse(value, &lo, &hi))
		return -EINVAL;
	n = pf_port_range_prefixes(lo, hi, pp);
	for (size_t i = 0; i < n; i++) {
		uint16_t port_be = htons(pp[i].port);

		keys[i].set_id = set_id;
		keys[i].kind = PF_NET_KEY_PORT;
		keys[i].prefixlen = pp[i].bits;
		memcpy(keys[i].data, &port_be, sizeof(port_be));
	}
	return (int)n;
}

int pf_net_lens_add(struct pf_net_shared *l, enum pf_match match, const struct pf_strset *values)
{
	struct pf_net_key keys[32];

	for (size_t i = 0; i < values->n; i++) {
		int n = pf_net_value_keys(match, 0, values->v[i], keys);

		if (n < 0)
			return n;
		for (int k = 0; k < n; k++) {
			if (keys[k].kind == PF_NET_KEY_V4)
				l->v4_lens |= 1ull << keys[k].prefixlen;
			else if (keys[k].kind == PF_NET_KEY_V6)
				l->v6_lens |= 1ull << pf_net_v6_len_bit(keys[k].prefixlen);
			else
				l->port_lens |= 1u << keys[k].prefixlen;
		}
	}
	return 0;
}

int pf_net_ports_inline_add(struct pf_net_shared *l, const struct pf_strset *values,
			    uint32_t *port_set)
{
	size_t first = l->n_ports;

	if (first + values->n > PF_NET_INLINE_PORTS)
		return -ENOSPC;
	for (size_t i = 0; i < values->n; i++) {
		struct pf_net_port_range *r = &l->ports[first + i];

		if (pf_port_range_parse(values->v[i], &r->lo, &r->hi))
			return -EINVAL; /* l->n_ports unchanged: nothing taken */
	}
	l->n_ports = (uint8_t)(first + values->n);
	*port_set = pf_net_inline_ref((uint32_t)first, (uint32_t)values->n);
	return 0;
}

int pf_net_addrs_inline_add(struct pf_net_shared *l, const struct pf_strset *values,
			    uint32_t *addr_set)
{
	size_t first = l->n_v4;
	struct pf_net_key key[32];

	if (first + values->n > PF_NET_INLINE_V4)
		return -ENOSPC;
	for (size_t i = 0; i < values->n; i++) {
		struct pf_net_cidr4 *c = &l->v4[first + i];
		int n = pf_net_value_keys(PF_MATCH_CIDR, 0, values->v[i], key);

		if (n < 0)
			return n; /* l->n_v4 unchanged: nothing taken */
		if (key[0].kind != PF_NET_KEY_V4)
			return -ENOSPC;
		/* the key's address is already masked to its length */
		memcpy(&c->addr, key[0].data, sizeof(c->addr));
		c->mask = key[0].prefixlen ? htonl(~0u << (32 - key[0].prefixlen)) : 0;
	}
	l->n_v4 = (uint8_t)(first + values->n);
	*addr_set = pf_net_inline_ref((uint32_t)first, (uint32_t)values->n);
	return 0;
}

void pf_net_shared_apply(const struct pf_net_shared *l, struct pf_net_ruleset *rs)
{
	rs->v4_lens = l->v4_lens;
	rs->v6_lens = l->v6_lens;
	rs->port_lens = l->port_lens;
	memcpy(rs->ports, l->ports, sizeof(rs->ports));
	memcpy(rs->v4, l->v4, sizeof(rs->v4));
}
