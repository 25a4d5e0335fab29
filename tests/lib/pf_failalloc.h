/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation failure injection for the unit tier. The unit test binary is
 * linked with --wrap for the allocation functions podfence's code calls
 * (malloc, calloc, realloc, strdup, strndup, asprintf, open_memstream), so
 * one chosen allocation can be made to fail, counted from pf_failalloc_arm().
 * Allocations inside other libraries (libyaml, json-c, libc's own) are not
 * counted.
 */
#ifndef PF_FAILALLOC_H
#define PF_FAILALLOC_H

#include <stdbool.h>

/* The n-th allocation from now (1: the next) fails; 0: count only, fail none. */
void pf_failalloc_arm(unsigned long n);
/* Stops counting; returns the allocations counted since arming. */
unsigned long pf_failalloc_disarm(void);
/* Whether the chosen allocation was reached (and failed). */
bool pf_failalloc_fired(void);

#endif /* PF_FAILALLOC_H */
