/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the results JSON (report.c, report_md.c). */
#ifndef PF_BENCH_REPORT_H
#define PF_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

struct json_object *jget(struct json_object *o, const char *k);
size_t jlen(struct json_object *arr);
struct json_object *jidx(struct json_object *arr, size_t i);
bool jstr_is(struct json_object *o, const char *k, const char *v);
/* A latency case; NULL/-1 arguments match anything. */
struct json_object *lat_find(struct json_object *res, const char *impl, const char *shape,
			     const char *place, long long n, long long bound);
/* An entry of a results section ("control", "configs") by shape, placement and N. */
struct json_object *result_find(struct json_object *res, const char *section, const char *shape,
				const char *place, long long n);

/* "1,234,567" */
const char *num(long long v);
/* "met", "not met" or "not measured" */
const char *status_of(struct json_object *res, const char *id);
/* The last sections of the markdown (report_notes.c). */
void md_notes(FILE *f, struct json_object *res);

#endif /* PF_BENCH_REPORT_H */
