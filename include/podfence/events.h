/* SPDX-License-Identifier: Apache-2.0 */
/* Events from the kernel as JSON lines (one per blocked or reported exec). */
#ifndef PODFENCE_EVENTS_H
#define PODFENCE_EVENTS_H

#include <json-c/json.h>
#include "podfence/abi.h"
#include "podfence/engine.h"

/*
 * Builds the JSON object of an event; names come from the engine (may be NULL).
 * "path" and "comm" are the kernel's bytes; where those are not UTF-8 the
 * string has U+FFFD in their place and "path_base64"/"comm_base64" holds them.
 */
struct json_object *pf_event_json(const struct pf_event *ev, const struct pf_engine *e);
/*
 * The same for an egress decision (a connect, an unconnected send, a raw
 * socket): no "path"; "profile": "egress" and "destination" {address, port,
 * family, protocol, hook} instead. NULL without memory.
 */
struct json_object *pf_net_event_json(const struct pf_net_event *ev, const struct pf_engine *e);

/*
 * Copies s[0..len) to out as well-formed UTF-8: each maximal ill-formed
 * subsequence (stray continuation byte, truncated sequence, overlong form,
 * surrogate, code point above U+10FFFF) becomes U+FFFD, as Unicode
 * recommends (and Python's errors="replace" does). Other bytes, NUL and
 * control characters included, are copied. out (NULL: only count) holds
 * 3 * len + 1 bytes and is NUL-terminated; *out_len (may be NULL) is its
 * length. Returns the number of replacements: 0 when s is UTF-8.
 */
size_t pf_utf8_sanitize(const char *s, size_t len, char *out, size_t *out_len);

#endif /* PODFENCE_EVENTS_H */
