// SPDX-License-Identifier: Apache-2.0
#include "podfence/netaddr.h"

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
