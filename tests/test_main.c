/* The unit test runner: every suite, one closing line "N passed, M failed". */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "test.h"

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

void suite_json(void);
void suite_client(void);
void suite_regress(void);

int main(void) {
    suite_json();
    suite_client();
    suite_regress();
    return test_summary();
}
