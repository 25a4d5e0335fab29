/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the results JSON (report.c). docs/benchmarks.md is rendered from
 * it by bench/render_report.py.
 */
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

#endif /* PF_BENCH_REPORT_H */
