/* test.h - the unit tests' tiny harness.
 *
 * CHECK(cond) records a failure with its line and goes on; REQUIRE(cond)
 * also returns from the test. Each test is a void function run by RUN();
 * test_summary() prints "N passed, M failed" and gives the exit status. */
#ifndef CBK_TEST_H
#define CBK_TEST_H

#include <stdio.h>
#include <string.h>

extern int test_failed_checks; /* failed checks in the current test */
extern int test_passed, test_failed;
extern const char *test_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, test_current,   \
                    #cond);                                                                        \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  %s:%d: %s: REQUIRE(%s) failed\n", __FILE__, __LINE__, test_current, \
                    #cond);                                                                        \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Compares two C strings and shows both when they differ. */
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  %s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, test_current,   \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  %s:%d: %s: %s == %lld, expected %lld\n", __FILE__, __LINE__,        \
                    test_current, #a, a_, b_);                                                     \
        }                                                                                          \
    } while (0)

#define RUN(fn) test_run(#fn, fn)

void test_run(const char *name, void (*fn)(void));
int test_summary(void);

/* The one file with main() defines TEST_MAIN before including this. */
#ifdef TEST_MAIN
int test_failed_checks, test_passed, test_failed;
const char *test_current = "";

void test_run(const char *name, void (*fn)(void)) {
    test_current = name;
    test_failed_checks = 0;
    fn();
    if (test_failed_checks) {
        test_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        test_passed++;
    }
}

int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}
#endif

#endif
