/* SPDX-License-Identifier: Apache-2.0 */
/* Events from the kernel as JSON lines (one per blocked or reported exec). */
#ifndef PODFENCE_EVENTS_H
#define PODFENCE_EVENTS_H

#include <json-c/json.h>
#include "podfence/abi.h"
#include "podfence/engine.h"

/* Builds the JSON object of an event; names come from the engine (may be NULL). */
struct json_object *pf_event_json(const struct pf_event *ev, const struct pf_engine *e);

#endif /* PODFENCE_EVENTS_H */
