/* lib_driver.c - the library side of `make bench-e2e`: one job through cbk_token.h and the
 * curl adapter with its defaults, as the README's quick start sets them up.
 *
 *   build/bench-e2e/lib_driver --base URL --user U --job list|stream|churn
 *                              [--take 100] [--count 100] [--ca-file PEM]
 *
 * The secret comes from CBK_SECRET. Output on stdout (stdio's buffering), one line each:
 *   list, stream   the id of every token, in the order received
 *   churn          "created <id>" x count, then "deleted <id>" x count
 * Exit status 0 on success; an error goes to stderr with status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "cbk_token.h"
#include "adapters/cbk_token_curl.h"

#define MAX_CHURN 1000

static char work[16384];
static char ids[MAX_CHURN][CBK_ID_MAX];

static int print_id(void *user, const cbk_token *t) {
    (void)user;
    return puts(t->id) < 0;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
    int i;
    for (i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return dflt;
}

static cbk_result churn(cbk_client *c, const char *user, int count) {
    static cbk_token_created made;
    char gone[CBK_ID_MAX];
    cbk_result r = CBK_OK;
    int i;
    for (i = 0; i < count && r == CBK_OK; i++) {
        r = cbk_token_create(c, user, NULL, &made);
        if (r == CBK_OK) {
            memcpy(ids[i], made.id, sizeof made.id);
            printf("created %s\n", made.id);
        }
    }
    for (i = 0; i < count && r == CBK_OK; i++) {
        r = cbk_token_delete(c, user, ids[i], gone);
        if (r == CBK_OK) printf("deleted %s\n", gone);
    }
    return r;
}

int main(int argc, char **argv) {
    const char *base = arg(argc, argv, "--base", NULL), *user = arg(argc, argv, "--user", "u");
    const char *job = arg(argc, argv, "--job", "list");
    int take = atoi(arg(argc, argv, "--take", "100")),
        count = atoi(arg(argc, argv, "--count", "100"));
    cbk_client_options o;
    cbk_token_list_options lo;
    cbk_client c;
    cbk_curl http;
    cbk_result r;

    if (count < 0 || count > MAX_CHURN) count = MAX_CHURN;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cbk_curl_init(&http);
    http.ca_file = arg(argc, argv, "--ca-file", NULL);
    cbk_client_options_init(&o);
    o.base_url = base;
    r = cbk_client_init(&c, getenv("CBK_SECRET"), cbk_curl_send, &http, work, sizeof work, &o);
    memset(&lo, 0, sizeof lo);
    lo.take = take;
    if (r == CBK_OK && strcmp(job, "list") == 0)
        r = cbk_token_list_all(&c, user, &lo, print_id, NULL);
    else if (r == CBK_OK && strcmp(job, "stream") == 0)
        r = cbk_token_list_stream(&c, user, NULL, print_id, NULL);
    else if (r == CBK_OK && strcmp(job, "churn") == 0)
        r = churn(&c, user, count);
    else if (r == CBK_OK)
        r = CBK_ERR_INVALID_ARGUMENT;
    if (r != CBK_OK)
        fprintf(stderr, "lib_driver: %s: %s (%s)\n", cbk_client_error(&c)->code,
                cbk_client_error(&c)->message, http.errbuf);
    fflush(stdout);
    cbk_curl_cleanup(&http);
    curl_global_cleanup();
    return r == CBK_OK ? 0 : 1;
}
