/* test_nomsg.c - the library built with CBK_TOKEN_NO_MESSAGES.
 *
 * Every failure gives the same result and code as the default build; the
 * library's own texts are gone, so cbk_error.message is "" unless the
 * server's error body gave one. Built and run by `make test-nomsg`
 * (mk/size.mk), under ASan+UBSan. */
#define CBK_TOKEN_NO_MESSAGES
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#define TEST_MAIN
#include "fake_transport.h"
#include "test.h"

static char work[4096];
static fake_transport ft;
static cbk_client cl;

static void setup(void) {
    cbk_client_options o;
    memset(&ft, 0, sizeof ft);
    cbk_client_options_init(&o);
    o.base_url = "http://127.0.0.1:8080";
    o.sleep_ms = fake_sleep;
    o.sleep_ctx = &ft;
    o.retries = 0;
    if (cbk_client_init(&cl, "sk-nomsg", fake_send, &ft, work, sizeof work, &o) != CBK_OK)
        fprintf(stderr, "setup: init failed\n");
}

static void check_error(const char *code, const char *message, int status) {
    const cbk_error *e = cbk_client_error(&cl);
    CHECK_STR(e->code, code);
    CHECK_STR(e->message, message);
    CHECK_EQ(e->http_status, status);
}

static void test_argument_failures(void) {
    cbk_token_created out;
    cbk_client_options o;
    setup();
    CHECK_EQ(cbk_token_list(&cl, "..", NULL, NULL, NULL, NULL, 0), CBK_ERR_INVALID_ARGUMENT);
    check_error("CBK_ERR_INVALID_ARGUMENT", "", 0);
    CHECK_EQ(cbk_token_create(&cl, "u\xFF", NULL, &out), CBK_ERR_INVALID_ARGUMENT);
    check_error("CBK_ERR_INVALID_ARGUMENT", "", 0);
    CHECK_EQ(ft.calls, 0);
    cbk_client_options_init(&o);
    o.base_url = "ftp://example.com";
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    check_error("CBK_ERR_INVALID_ARGUMENT", "", 0);
}

static void test_http_errors(void) {
    char id[CBK_ID_MAX];
    setup();
    fake_add(&ft, 404, "{}");
    CHECK_EQ(cbk_token_delete(&cl, "u1", "t1", id), CBK_ERR_HTTP);
    check_error("ERROR_404", "", 404); /* no "HTTP Error: Not Found": no reason table */
    setup();
    fake_add(&ft, 500, "<html>");
    CHECK_EQ(cbk_token_delete(&cl, "u1", "t1", id), CBK_ERR_HTTP);
    check_error("GENERIC_ERROR", "", 500);
    setup();
    fake_add(&ft, 413, "too large");
    CHECK_EQ(cbk_token_delete(&cl, "u1", "t1", id), CBK_ERR_HTTP);
    check_error("CONTENT_TOO_LARGE", "", 413);
    setup();
    fake_add(&ft, 409, "{\"message\":\"token exists\",\"code\":\"CONFLICT\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u1", "t1", id), CBK_ERR_HTTP);
    check_error("CONFLICT", "token exists", 409); /* the server's text stays */
    CHECK_STR(id, "");
}

static void test_decode_and_transport_failures(void) {
    cbk_token_created out;
    char cursor[4];
    setup();
    fake_add(&ft, 200, "{\"items\":[{\"id\":1}]}");
    CHECK_EQ(cbk_token_list(&cl, "u1", NULL, NULL, NULL, NULL, 0), CBK_ERR_PARSE);
    check_error("CBK_ERR_PARSE", "", 200);
    setup();
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"longer than four\"}");
    CHECK_EQ(cbk_token_list(&cl, "u1", NULL, NULL, NULL, cursor, sizeof cursor),
             CBK_ERR_BUFFER_TOO_SMALL);
    check_error("CBK_ERR_BUFFER_TOO_SMALL", "", 200); /* no "bytes needed: N" */
    CHECK_STR(cursor, "");
    setup();
    fake_add(&ft, 200, "{\"id\":\"cm1\",\"token\":\"t\"");
    CHECK_EQ(cbk_token_create(&cl, "u1", NULL, &out), CBK_ERR_PARSE);
    check_error("CBK_ERR_PARSE", "", 200);
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = 7 | CBK_SEND_NOT_SENT;
    CHECK_EQ(cbk_token_list(&cl, "u1", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    check_error("CBK_ERR_TRANSPORT", "", 0);
    CHECK_EQ(cbk_client_error(&cl)->transport_code, 7 | CBK_SEND_NOT_SENT);
}

static int count_tokens(void *user, const cbk_token *t) {
    (void)t;
    ++*(int *)user;
    return 0;
}

static void test_success_unchanged(void) {
    int n = 0;
    setup();
    fake_add(&ft, 200,
             "{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n"
             "{\"type\":\"item\",\"data\":{\"id\":\"b\",\"createdAt\":1,\"updatedAt\":2}}\n");
    CHECK_EQ(cbk_token_list_stream(&cl, "u1", NULL, count_tokens, &n), CBK_OK);
    CHECK_EQ(n, 2);
    check_error("", "", 0);
    CHECK_STR(cbk_result_str(CBK_ERR_PARSE), "CBK_ERR_PARSE"); /* names stay */
}

int main(void) {
    RUN(test_argument_failures);
    RUN(test_http_errors);
    RUN(test_decode_and_transport_failures);
    RUN(test_success_unchanged);
    return test_summary();
}
