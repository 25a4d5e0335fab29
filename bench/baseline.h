/* SPDX-License-Identifier: Apache-2.0 */
/* Layout shared by the per-policy-program baseline (baseline.bpf.c) and the benchmark. */
#ifndef PF_BENCH_BASELINE_H
#define PF_BENCH_BASELINE_H

/* Cgroup ids in one policy's filter map (its pods' cgroups). */
#define BL_FILTER_MAX 256
/* Policies (copies) the shared filter map can hold. */
#define BL_POLICIES_MAX 1024
/* Allowed paths of one policy. */
#define BL_PATHS_MAX 256
/* Allowlist key: the path, zero-padded (power of two: the verifier bounds the copy by mask). */
#define BL_PATH_LEN 64

struct bl_path_key {
	char path[BL_PATH_LEN];
};

#endif /* PF_BENCH_BASELINE_H */
