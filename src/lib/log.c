// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "podfence/log.h"

static enum pf_log_level log_level = PF_LOG_INFO;

static const char *const level_names[] = {
    [PF_LOG_ERROR] = "error",
    [PF_LOG_WARN] = "warning",
    [PF_LOG_INFO] = "info",
    [PF_LOG_DEBUG] = "debug",
};

void pf_log_set_level(enum pf_log_level lvl)
{
	log_level = lvl;
}

static void log_v(enum pf_log_level lvl, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t n;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	fprintf(stderr, "podfence: %s: %s\n", level_names[lvl], msg);
}

void pf_log(enum pf_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/*
	 * libbpf is chatty about probes that are expected to fail (backend
	 * probing): its warnings are our debug messages. Printed unbuffered,
	 * as verifier logs can be megabytes.
	 */
	if (level != LIBBPF_WARN || log_level < PF_LOG_DEBUG)
		return 0;
	fputs("podfence: debug: libbpf: ", stderr);
	vfprintf(stderr, fmt, ap);
	return 0;
}

void pf_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
