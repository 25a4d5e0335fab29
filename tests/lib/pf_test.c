// SPDX-License-Identifier: Apache-2.0
/* Test runner: runs every registered test (or those whose name contains argv[1]). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include "pf_test.h"

#ifndef PF_TEST_SUITE
#define PF_TEST_SUITE "tests"
#endif
const char *pf_test_suite = PF_TEST_SUITE;

static struct pf_test *tests_head, **tests_tail = &tests_head;
static bool current_failed;
static jmp_buf skip_jmp;
static char skip_reason[512];

void pf_test_register(struct pf_test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

static void report_failure(const char *file, int line, const char *fmt, va_list ap)
{
	current_failed = true;
	fprintf(stderr, "    %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pf_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_failure(file, line, fmt, ap);
	va_end(ap);
}

void pf_test_abort(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_failure(file, line, fmt, ap);
	va_end(ap);
	longjmp(skip_jmp, 2);
}

/* Seconds since start: each result line carries its test's time, which is
 * where the kernel matrix's minutes go. */
static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

void pf_test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
	longjmp(skip_jmp, 1);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	/* volatile: they live across the longjmp of a skipped test */
	volatile int passed = 0, failed = 0, skipped = 0;
	struct pf_test *volatile t;
	struct timespec start;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = tests_head; t; t = t->next) {
		if (filter && !strstr(t->name, filter))
			continue;
		current_failed = false;
		clock_gettime(CLOCK_MONOTONIC, &start);
		switch (setjmp(skip_jmp)) {
		case 0:
			break;
		case 1:
			printf("SKIP %s: %s\n", t->name, skip_reason);
			skipped++;
			continue;
		default: /* aborted: a failure that leaves nothing to clean up */
			printf("FAIL %s (%.1f s)\n", t->name, seconds_since(&start));
			failed++;
			continue;
		}
		t->fn();
		fflush(stderr);
		if (current_failed) {
			printf("FAIL %s (%.1f s)\n", t->name, seconds_since(&start));
			failed++;
		} else {
			printf("ok   %s (%.1f s)\n", t->name, seconds_since(&start));
			passed++;
		}
	}
	printf("%s: %d passed, %d failed, %d skipped\n", pf_test_suite, passed, failed, skipped);
	return failed ? 1 : 0;
}
