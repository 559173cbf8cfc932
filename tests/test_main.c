/* The unit test runner: every suite, one closing line "N passed, M failed". */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#define TEST_MAIN
#include "test.h"

void suite_json(void);
void suite_client(void);
void suite_regress(void);

int main(void) {
    suite_json();
    suite_client();
    suite_regress();
    return test_summary();
}
