/* SPDX-License-Identifier: Apache-2.0 */
/* Handing YAML text to an engine the way the agent's file source does (every test tier). */
#ifndef PF_GIVE_H
#define PF_GIVE_H

#include <stdbool.h>
#include "podfence/engine.h"

/*
 * Parses yaml as the file `file` of policies (pods: of Pod manifests) and
 * gives the result to the engine with its diagnostics, as the agent does (a
 * file with errors then changes nothing). Returns the parse error, printing
 * the diagnostics; the engine's own return goes to *engine_err when given.
 */
int pf_give(struct pf_engine *e, const char *file, const char *yaml, bool pods, int *engine_err);

#endif /* PF_GIVE_H */
