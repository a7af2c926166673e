/* A minimal unit-test runner: a table of tests, each a function; a failed check prints both operands and
 * ends the test. main.c runs the table and prints `N passed, M failed` last. */
#ifndef AP_UNIT_H
#define AP_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_failed; /* set by a failed check in the running test */

#define FAIL_AT(...)                                                                                               \
	do {                                                                                                       \
		printf("    %s:%d: ", __FILE__, __LINE__);                                                     \
		printf(__VA_ARGS__);                                                                               \
		printf("\n");                                                                                      \
		unit_failed = 1;                                                                                   \
		return;                                                                                            \
	} while (0)

#define CHECK(cond)                                                                                                \
	do {                                                                                                       \
		if (!(cond))                                                                                       \
			FAIL_AT("check failed: %s", #cond);                                                        \
	} while (0)

#define CHECK_INT(a, b)                                                                                            \
	do {                                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                                \
		if (a_ != b_)                                                                                      \
			FAIL_AT("%s == %s: %lld != %lld", #a, #b, a_, b_);                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                                            \
	do {                                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                             \
			FAIL_AT("%s == %s:\n      got      \"%s\"\n      expected \"%s\"", #a, #b,                  \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                           \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                                \
	do {                                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                                            \
		if (!h_ || !strstr(h_, n_))                                                                        \
			FAIL_AT("%s contains \"%s\": got \"%s\"", #hay, n_, h_ ? h_ : "(null)");                    \
	} while (0)

#define TEST(name)          \
	void name(void);    \
	void name(void)

#endif
