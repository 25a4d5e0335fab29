/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal test_progs-style harness: tests register themselves with PF_TEST(),
 * ASSERT_* macros print expected vs actual and mark the test failed (they
 * return false so a test can bail out), PF_SKIP() ends a test as skipped with
 * its reason. The runner prints one closing line "N passed, N failed, N skipped".
 */
#ifndef PF_TEST_H
#define PF_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

struct pf_test {
	const char *name;
	void (*fn)(void);
	struct pf_test *next;
};

void pf_test_register(struct pf_test *t);
void pf_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pf_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Fails the current test and leaves it at once (before it has set anything up). */
void pf_test_abort(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Suite name printed in the closing line ("unit", "bpf"). */
extern const char *pf_test_suite;

#define PF_TEST(tname)                                                                             \
	static void tname(void);                                                                   \
	static struct pf_test pf_test_desc_##tname = {#tname, tname, NULL};                        \
	__attribute__((constructor)) static void pf_test_reg_##tname(void)                         \
	{                                                                                          \
		pf_test_register(&pf_test_desc_##tname);                                           \
	}                                                                                          \
	static void tname(void)

#define PF_SKIP(...)  pf_test_skip(__VA_ARGS__)
#define PF_ABORT(...) pf_test_abort(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT_TRUE(cond, what)                                                                    \
	({                                                                                         \
		bool ___ok = (cond);                                                               \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: expected true: %s", what, #cond);    \
		___ok;                                                                             \
	})

#define ASSERT_FALSE(cond, what) ASSERT_TRUE(!(cond), what)

#define ASSERT_EQ(actual, expected, what)                                                          \
	({                                                                                         \
		long long ___a = (long long)(actual), ___e = (long long)(expected);                \
		bool ___ok = ___a == ___e;                                                         \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: actual %lld != expected %lld", what, \
				     ___a, ___e);                                                  \
		___ok;                                                                             \
	})

#define ASSERT_NEQ(actual, unexpected, what)                                                       \
	({                                                                                         \
		long long ___a = (long long)(actual), ___e = (long long)(unexpected);              \
		bool ___ok = ___a != ___e;                                                         \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: unexpected %lld", what, ___a);       \
		___ok;                                                                             \
	})

#define ASSERT_GE(actual, bound, what)                                                             \
	({                                                                                         \
		long long ___a = (long long)(actual), ___b = (long long)(bound);                   \
		bool ___ok = ___a >= ___b;                                                         \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: actual %lld < %lld", what, ___a,     \
				     ___b);                                                        \
		___ok;                                                                             \
	})

#define ASSERT_OK(err, what)                                                                       \
	({                                                                                         \
		long long ___e = (long long)(err);                                                 \
		bool ___ok = ___e == 0;                                                            \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: error %lld (%s)", what, ___e,        \
				     ___e < 0 ? strerror((int)-___e) : "");                        \
		___ok;                                                                             \
	})

#define ASSERT_STREQ(actual, expected, what)                                                       \
	({                                                                                         \
		const char *___a = (actual), *___e = (expected);                                   \
		bool ___ok = ___a && ___e && strcmp(___a, ___e) == 0;                              \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: actual \"%s\" != expected \"%s\"",   \
				     what, ___a ? ___a : "(null)", ___e ? ___e : "(null)");        \
		___ok;                                                                             \
	})

#define ASSERT_STRSTR(haystack, needle, what)                                                      \
	({                                                                                         \
		const char *___h = (haystack), *___n = (needle);                                   \
		bool ___ok = ___h && ___n && strstr(___h, ___n) != NULL;                           \
		if (!___ok)                                                                        \
			pf_test_fail(__FILE__, __LINE__, "%s: \"%s\" does not contain \"%s\"",     \
				     what, ___h ? ___h : "(null)", ___n ? ___n : "(null)");        \
		___ok;                                                                             \
	})

#define ASSERT_NOT_NULL(ptr, what) ASSERT_TRUE((ptr) != NULL, what)

#endif /* PF_TEST_H */
