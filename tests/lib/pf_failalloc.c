// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pf_failalloc.h"

static bool armed, fired;
static unsigned long counted, fail_at;

void pf_failalloc_arm(unsigned long n)
{
	counted = 0;
	fail_at = n;
	fired = false;
	armed = true;
}

unsigned long pf_failalloc_disarm(void)
{
	armed = false;
	return counted;
}

bool pf_failalloc_fired(void)
{
	return fired;
}

/* Whether this allocation is the one to fail. */
static bool fail_now(void)
{
	if (!armed)
		return false;
	if (++counted != fail_at)
		return false;
	fired = true;
	return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
FILE *__real_open_memstream(char **buf, size_t *len);

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail_now() ? NULL : __real_strndup(s, n);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (fail_now())
		return -1;
	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}

FILE *__wrap_open_memstream(char **buf, size_t *len)
{
	return fail_now() ? NULL : __real_open_memstream(buf, len);
}
