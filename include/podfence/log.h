/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr: "podfence: <level>: message". libbpf's output goes one level down. */
#ifndef PODFENCE_LOG_H
#define PODFENCE_LOG_H

enum pf_log_level {
	PF_LOG_ERROR = 0,
	PF_LOG_WARN,
	PF_LOG_INFO,
	PF_LOG_DEBUG,
};

void pf_log_set_level(enum pf_log_level lvl);
/* Routes libbpf's messages through pf_log (warnings as debug unless verbose). */
void pf_log_route_libbpf(void);
void pf_log(enum pf_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pf_err(...)   pf_log(PF_LOG_ERROR, __VA_ARGS__)
#define pf_warn(...)  pf_log(PF_LOG_WARN, __VA_ARGS__)
#define pf_info(...)  pf_log(PF_LOG_INFO, __VA_ARGS__)
#define pf_debug(...) pf_log(PF_LOG_DEBUG, __VA_ARGS__)

#endif /* PODFENCE_LOG_H */
