/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, run by `make fuzz`).
 * Sanitizers catch memory errors, leaks and undefined behaviour; FUZZ_CHECK
 * adds the readers' documented contracts, so an input that breaks one is a
 * crash with its own artifact too.
 */
#ifndef PF_FUZZ_H
#define PF_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* PF_FUZZ_H */
