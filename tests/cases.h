/* cases.h - the harness of the end-to-end tests (test_adapters.c,
 * test_faults.c, tests/lwip/test_lwip.c), which count checks and cases,
 * not test functions (tests/test.h does that for the unit tests).
 *
 * CHECK(cond, fmt, ...) counts a check (checks, failures); a failing one
 * prints "FAIL file:line: <case title>: cond: <message>" and goes on.
 * case_begin(lead, title) starts a case; case_close(fmt, ...) ends it with
 * one line "case <lead> | <title> | <outcome> | ok" (or FAIL: a check of
 * the case failed), the title and outcome padded to case_title_width and
 * case_outcome_width; cases_run and cases_failed count the cases. */
#ifndef CBK_TEST_CASES_H
#define CBK_TEST_CASES_H

#include <stdarg.h>
#include <stdio.h>

static int checks, failures;
static const char *case_title = "setup";
static char case_lead[32]; /* the columns before the title */
static int case_title_width = 58, case_outcome_width = 44;
static int case_failures0, cases_run, cases_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: %s: %s: ", __FILE__, __LINE__, case_title, #cond);                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* Starts a case: lead is the columns before its title, already laid out. */
static __attribute__((unused)) void case_begin(const char *lead, const char *title) {
    snprintf(case_lead, sizeof case_lead, "%s", lead);
    case_title = title;
    case_failures0 = failures;
}

/* Ends the case with its line; the outcome is printf-style. */
static __attribute__((unused)) void case_close(const char *fmt, ...) {
    char outcome[256];
    va_list ap;
    int ok = failures == case_failures0;
    va_start(ap, fmt);
    vsnprintf(outcome, sizeof outcome, fmt, ap);
    va_end(ap);
    cases_run++;
    if (!ok) cases_failed++;
    printf("case %s | %-*s | %-*s | %s\n", case_lead, case_title_width, case_title,
           case_outcome_width, outcome, ok ? "ok" : "FAIL");
    fflush(stdout);
}

#endif
