/* test.h - the unit-test harness: each test file defines TEST()s and
 * ends with TEST_MAIN(); every test runs with libre initialised. Leaks
 * are caught by LeakSanitizer when the binary exits (the ASan build), as
 * Debian's libre has no memory statistics. Output: one "PASS name" / "FAIL name"
 * line per test, then the exit status says whether all passed.
 * `binary --list` prints the test names; `binary NAME` runs one. */
#ifndef PARLEY_TEST_H
#define PARLEY_TEST_H

#include <re.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test {
	const char *name;
	void (*fn)(int *failed);
};

#define TEST(name)                                                     \
	static void test_##name(int *failed_);                         \
	static const struct test tdesc_##name                          \
		__attribute__((used, section("parley_tests"))) =       \
			{#name, test_##name};                          \
	static void test_##name(int *failed_)

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",   \
				__FILE__, __LINE__, #cond);            \
			*failed_ = 1;                                  \
			return;                                        \
		}                                                      \
	} while (0)

#define CHECK_EQ_INT(a, b)                                             \
	do {                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);    \
		if (a_ != b_) {                                        \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);       \
			*failed_ = 1;                                  \
			return;                                        \
		}                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                \
	do {                                                           \
		const char *a_ = (a), *b_ = (b);                       \
		if (!a_ || !b_ || strcmp(a_, b_)) {                    \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)", \
				b_ ? b_ : "(null)");                   \
			*failed_ = 1;                                  \
			return;                                        \
		}                                                      \
	} while (0)

extern const struct test __start_parley_tests[];
extern const struct test __stop_parley_tests[];

#define TEST_MAIN()                                                    \
	int main(int argc, char **argv)                                \
	{                                                              \
		int nfail = 0;                                         \
		const struct test *t;                                  \
		setvbuf(stdout, NULL, _IOLBF, 0);                      \
		if (argc > 1 && !strcmp(argv[1], "--list")) {          \
			for (t = __start_parley_tests;                 \
			     t < __stop_parley_tests; ++t)             \
				printf("%s\n", t->name);              \
			return 0;                                      \
		}                                                      \
		for (t = __start_parley_tests; t < __stop_parley_tests; ++t) { \
			int failed = 0;                                \
			if (argc > 1 && strcmp(argv[1], t->name))      \
				continue;                              \
			if (libre_init())                              \
				return 2;                              \
			t->fn(&failed);                                \
			libre_close();                                 \
			printf("%s %s\n", failed ? "FAIL" : "PASS", t->name); \
			nfail += failed;                               \
		}                                                      \
		return nfail ? 1 : 0;                                  \
	}

#endif
