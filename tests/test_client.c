/* The client: the exact wire request of every operation, the decoding of
   every response shape under every chunking, errors and retries. All
   through fake_transport.h, in process. */
#include "../cbk_token.h"
#include "fake_transport.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#define SECRET "sk-test-0123456789abcdef"

static char work[8192];
static fake_transport ft;
static cbk_client cl;

/* A fresh client over a fresh fake transport. */
static void setup_opts(const cbk_client_options *o) {
    cbk_client_options d;
    memset(&ft, 0, sizeof ft);
    memset(work, 0x5A, sizeof work);
    if (!o) {
        cbk_client_options_init(&d);
        d.base_url = "http://127.0.0.1:8080";
        d.sleep_ms = fake_sleep;
        d.sleep_ctx = &ft;
        o = &d;
    }
    if (cbk_client_init(&cl, SECRET, fake_send, &ft, work, sizeof work, o) != CBK_OK)
        fprintf(stderr, "setup: init failed\n");
}

static void setup(void) {
    setup_opts(NULL);
}

/* What the token callback saw, one line per token. */
static char seen[16384];

static int record_token(void *user, const cbk_token *t) {
    size_t n = strlen(seen);
    (void)user;
    snprintf(seen + n, sizeof seen - n, "%s|%s|%s|%s|%lld|%lld\n", t->id, t->name ? t->name : "-",
             t->description ? t->description : "-", t->meta ? t->meta : "-",
             (long long)t->created_at, (long long)t->updated_at);
    return 0;
}

static int stop_after_one(void *user, const cbk_token *t) {
    (void)t;
    return ++*(int *)user >= 1;
}

/* ------------------------------------------------------------------------ */
/* The wire                                                                 */

static void test_wire_list_plain(void) {
    setup();
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list(&cl, "user-1", NULL, record_token, NULL, NULL, 0), CBK_OK);
    CHECK_STR(ft.requests[0].method, "GET");
    CHECK_STR(ft.requests[0].url, "http://127.0.0.1:8080/api/v1/partner/user/user-1/token/list");
    CHECK_STR(ft.requests[0].headers, "Authorization: Bearer " SECRET "\n");
    CHECK_EQ(ft.requests[0].body_len, 0);
}

static void test_wire_list_query(void) {
    cbk_kv meta[2] = {{"team name", "a&b=c"}, {"k/?#%", "\xC3\xA9 ~*-._+"}};
    cbk_token_list_options o = {0};
    setup();
    o.cursor = "cm 1/2?x#y";
    o.order = "asc";
    o.take = 25;
    o.meta = meta;
    o.meta_count = 2;
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list(&cl, "u/../x", &o, record_token, NULL, NULL, 0), CBK_OK);
    CHECK_STR(ft.requests[0].url, "http://127.0.0.1:8080/api/v1/partner/user/u%2F..%2Fx/token/list"
                                  "?cursor=cm+1%2F2%3Fx%23y&order=asc&take=25"
                                  "&meta.team+name=a%26b%3Dc&meta.k%2F%3F%23%25=%C3%A9+%7E*-._%2B");
}

static void test_wire_stream(void) {
    cbk_token_list_options o = {0};
    setup();
    o.order = "desc";
    fake_add(&ft, 200, "");
    CHECK_EQ(cbk_token_list_stream(&cl, "u1", &o, record_token, NULL), CBK_OK);
    CHECK_STR(ft.requests[0].method, "GET");
    CHECK_STR(ft.requests[0].url,
              "http://127.0.0.1:8080/api/v1/partner/user/u1/token/list?order=desc");
    CHECK_STR(ft.requests[0].headers,
              "Authorization: Bearer " SECRET "\nAccept: application/jsonl\n");
}

static void test_wire_create(void) {
    cbk_kv meta[2] = {{"plan", "pro"}, {"q\"uote", "line\nbreak\ttab\x01\x1f\\ \xE2\x82\xAC"}};
    cbk_token_fields f = {0};
    cbk_token_created out;
    setup();
    f.name = "Kitchen \"display\"";
    f.description = "caf\xC3\xA9 / \xF0\x9F\x98\x80";
    f.meta = meta;
    f.meta_count = 2;
    f.config_json = " {\"a\": [1, 2]} ";
    fake_add(&ft, 200, "{\"id\":\"cm1\",\"token\":\"tok-1\",\"createdAt\":5}");
    CHECK_EQ(cbk_token_create(&cl, "user 1", &f, &out), CBK_OK);
    CHECK_STR(ft.requests[0].method, "POST");
    CHECK_STR(ft.requests[0].url,
              "http://127.0.0.1:8080/api/v1/partner/user/user%201/token/create");
    CHECK_STR(ft.requests[0].headers,
              "Authorization: Bearer " SECRET "\nContent-Type: application/json\n");
    CHECK_STR(
        ft.requests[0].body,
        "{\"name\":\"Kitchen \\\"display\\\"\",\"description\":\"caf\xC3\xA9 / \xF0\x9F\x98\x80\","
        "\"meta\":{\"plan\":\"pro\",\"q\\\"uote\":\"line\\nbreak\\ttab\\u0001\\u001f\\\\ "
        "\xE2\x82\xAC\"},\"config\": {\"a\": [1, 2]} }");
    CHECK_EQ(ft.requests[0].body_len, strlen(ft.requests[0].body));
}

static void test_wire_create_empty(void) {
    cbk_token_created out;
    setup();
    fake_add(&ft, 200, "{\"id\":\"cm1\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u1", NULL, &out), CBK_OK);
    CHECK_STR(ft.requests[0].body, "{}");
    CHECK_EQ(ft.requests[0].body_len, 2);
}

static void test_wire_update_delete(void) {
    cbk_token_fields f = {0};
    char id[CBK_ID_MAX];
    setup();
    f.name = "n";
    fake_add(&ft, 200, "{\"id\":\"cm~1\"}");
    fake_add(&ft, 200, "{\"id\":\"cm~1\"}");
    CHECK_EQ(cbk_token_update(&cl, "u1", "cm~1%2F", &f, id), CBK_OK);
    CHECK_STR(id, "cm~1");
    CHECK_STR(ft.requests[0].url,
              "http://127.0.0.1:8080/api/v1/partner/user/u1/token/cm~1%252F/update");
    CHECK_STR(ft.requests[0].body, "{\"name\":\"n\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u1", "a.b", NULL), CBK_OK);
    CHECK_STR(ft.requests[1].method, "POST");
    CHECK_STR(ft.requests[1].url, "http://127.0.0.1:8080/api/v1/partner/user/u1/token/a.b/delete");
    CHECK_STR(ft.requests[1].body, "{}");
    CHECK_STR(ft.requests[1].headers,
              "Authorization: Bearer " SECRET "\nContent-Type: application/json\n");
}

static void test_wire_base_urls(void) {
    static const struct {
        const char *base, *url;
    } cases[] = {
        {NULL, "https://api.chatbotkit.com/v1/partner/user/u/token/list"},
        {"https://api.chatbotkit.com/", "https://api.chatbotkit.com/v1/partner/user/u/token/list"},
        {"https://API.ChatBotKit.com:8443",
         "https://API.ChatBotKit.com:8443/v1/partner/user/u/token/list"},
        {"https://api.chatbotkit.com.evil.example",
         "https://api.chatbotkit.com.evil.example/api/v1/partner/user/u/token/list"},
        {"http://127.0.0.1:9", "http://127.0.0.1:9/api/v1/partner/user/u/token/list"},
        {"http://[::1]:9/base/path//", "http://[::1]:9/base/path/api/v1/partner/user/u/token/list"},
        {"http://h:65535", "http://h:65535/api/v1/partner/user/u/token/list"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cbk_client_options o;
        cbk_client_options_init(&o);
        o.base_url = cases[i].base;
        setup_opts(&o);
        fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
        CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
        CHECK_STR(ft.requests[0].url, cases[i].url);
    }
}

static void test_wire_headers(void) {
    cbk_header extra[2] = {{"X-Trace", "abc"}, {"X-Empty", ""}};
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.run_as_user_id = "child-7";
    o.timezone = "Europe/London";
    o.headers = extra;
    o.header_count = 2;
    setup_opts(&o);
    fake_add(&ft, 200, "{\"id\":\"x\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", NULL), CBK_OK);
    CHECK_STR(ft.requests[0].headers, "Authorization: Bearer " SECRET "\n"
                                      "Content-Type: application/json\n"
                                      "X-RunAs-User-Id: child-7\n"
                                      "X-Timezone: Europe/London\n"
                                      "X-Trace: abc\n"
                                      "X-Empty: \n");
    /* no secret: no Authorization header */
    CHECK_EQ(cbk_client_init(&cl, "", fake_send, &ft, work, sizeof work, NULL), CBK_OK);
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_STR(ft.requests[1].headers, "");
}

/* X-RunAs-Child-User-Email as the SDK's runAsChildUserEmail; the option
   headers are left out when NULL or "" (the SDK sends only truthy ones). */
static void test_wire_option_headers(void) {
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.run_as_user_id = "child-7";
    o.run_as_child_user_email = "kid@example.com";
    o.timezone = "UTC";
    setup_opts(&o);
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_STR(ft.requests[0].headers, "Authorization: Bearer " SECRET "\n"
                                      "X-RunAs-User-Id: child-7\n"
                                      "X-RunAs-Child-User-Email: kid@example.com\n"
                                      "X-Timezone: UTC\n");
    o.run_as_user_id = "";
    o.run_as_child_user_email = "";
    o.timezone = "";
    setup_opts(&o);
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_STR(ft.requests[0].headers, "Authorization: Bearer " SECRET "\n");
    o.run_as_child_user_email = "a@b\r\nX-Evil: 1";
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
}

/* cbk_client_http_status: the last status received, kept on success, 0
   when none arrived in the current or last operation. */
static void test_client_http_status(void) {
    cbk_token_created out;
    setup();
    CHECK_EQ(cbk_client_http_status(&cl), 0);
    CHECK_EQ(cbk_client_http_status(NULL), 0);
    fake_add(&ft, 201, "{\"id\":\"i\",\"token\":\"s\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_OK);
    CHECK_EQ(cbk_client_http_status(&cl), 201);
    CHECK_EQ(cbk_client_error(&cl)->http_status, 0);
    /* 503, then a transport failure: the last status received stands */
    fake_add(&ft, 503, "{}");
    fake_add(&ft, 0, NULL);
    ft.replies[2].rc = 7;
    fake_add(&ft, 0, NULL);
    ft.replies[3].rc = 7;
    fake_add(&ft, 0, NULL);
    ft.replies[4].rc = 7;
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_http_status(&cl), 503);
    /* an argument error: no response in this operation */
    CHECK_EQ(cbk_token_list(&cl, "", NULL, NULL, NULL, NULL, 0), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_client_http_status(&cl), 0);
    /* a 404 */
    fake_add(&ft, 404, "{\"message\":\"m\",\"code\":\"NOT_FOUND\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", NULL), CBK_ERR_HTTP);
    CHECK_EQ(cbk_client_http_status(&cl), 404);
}

/* ------------------------------------------------------------------------ */
/* Refused before anything is sent                                          */

static void expect_invalid(cbk_result r) {
    CHECK_EQ(r, CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(ft.calls, 0);
    CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_INVALID_ARGUMENT");
    CHECK(cbk_client_error(&cl)->message[0] != 0);
    CHECK(strstr(cbk_client_error(&cl)->message, SECRET) == NULL);
}

static void test_invalid_arguments(void) {
    static const char *bad_ids[] = {NULL, "", ".", "..", "\xC3", "a\xFF"};
    cbk_token_fields f = {0};
    cbk_token_list_options lo = {0};
    cbk_kv kv = {"k", NULL};
    cbk_token_created out;
    size_t i;
    for (i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        setup();
        expect_invalid(cbk_token_list(&cl, bad_ids[i], NULL, NULL, NULL, NULL, 0));
        expect_invalid(cbk_token_list_stream(&cl, bad_ids[i], NULL, NULL, NULL));
        expect_invalid(cbk_token_list_all(&cl, bad_ids[i], NULL, NULL, NULL));
        expect_invalid(cbk_token_create(&cl, bad_ids[i], NULL, &out));
        expect_invalid(cbk_token_update(&cl, "u", bad_ids[i], NULL, NULL));
        expect_invalid(cbk_token_delete(&cl, bad_ids[i], "t", NULL));
        expect_invalid(cbk_token_delete(&cl, "u", bad_ids[i], NULL));
    }
    setup();
    f.name = "bad \xC0\xAF utf8";
    expect_invalid(cbk_token_create(&cl, "u", &f, &out));
    f.name = NULL;
    f.description = "\xED\xA0\x80"; /* an encoded surrogate */
    expect_invalid(cbk_token_update(&cl, "u", "t", &f, NULL));
    f.description = NULL;
    f.config_json = "[1]";
    expect_invalid(cbk_token_create(&cl, "u", &f, &out));
    f.config_json = "{\"a\":}";
    expect_invalid(cbk_token_create(&cl, "u", &f, &out));
    f.config_json = NULL;
    f.meta = &kv;
    f.meta_count = 1;
    expect_invalid(cbk_token_create(&cl, "u", &f, &out));
    expect_invalid(cbk_token_create(&cl, "u", NULL, NULL));
    lo.order = "up";
    expect_invalid(cbk_token_list(&cl, "u", &lo, NULL, NULL, NULL, 0));
    lo.order = NULL;
    lo.take = -1;
    expect_invalid(cbk_token_list(&cl, "u", &lo, NULL, NULL, NULL, 0));
}

static void test_invalid_init(void) {
    static const char *bad_bases[] = {"ftp://x",           "http://",     "http:/x",
                                      "http://a b",        "http://x/?q", "http://x/#f",
                                      "api.chatbotkit.com"};
    cbk_header bad_header = {"X-A", "v\r\nInjected: 1"};
    cbk_header bad_name = {"X A", "v"};
    cbk_client_options o;
    size_t i;
    for (i = 0; i < sizeof bad_bases / sizeof bad_bases[0]; i++) {
        cbk_client_options_init(&o);
        o.base_url = bad_bases[i];
        CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
                 CBK_ERR_INVALID_ARGUMENT);
        CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_INVALID_ARGUMENT");
    }
    CHECK_EQ(cbk_client_init(&cl, "zq9\r\nxk7", fake_send, &ft, work, sizeof work, NULL),
             CBK_ERR_INVALID_ARGUMENT);
    CHECK(strstr(cbk_client_error(&cl)->message, "zq9") == NULL);
    cbk_client_options_init(&o);
    o.headers = &bad_header;
    o.header_count = 1;
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    o.headers = &bad_name;
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    cbk_client_options_init(&o);
    o.run_as_user_id = "a\nb";
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    cbk_client_options_init(&o);
    o.timezone = "UTC\r";
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, work, sizeof work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_client_init(&cl, "s", fake_send, &ft, NULL, 0, NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_client_init(NULL, "s", fake_send, &ft, work, 1, NULL), CBK_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------ */
/* Decoding, under every chunking                                           */

/* Runs one list call over body with the given chunking; returns the result
   and fills seen / cursor. */
static cbk_result run_list(const char *body, size_t len, int chunking, unsigned seed, char *cursor,
                           size_t cursor_size) {
    setup();
    ft.chunking = chunking;
    ft.seed = seed;
    fake_add(&ft, 200, body);
    ft.replies[0].body_len = len;
    seen[0] = 0;
    return cbk_token_list(&cl, "u", NULL, record_token, NULL, cursor, cursor_size);
}

/* Whole, 1 byte at a time, and 50 seeded random splits give one answer. */
static void check_list_all_chunkings(const char *body, cbk_result want, const char *want_seen,
                                     const char *want_cursor) {
    static const int modes[2] = {FAKE_WHOLE, FAKE_BYTES};
    size_t len = strlen(body);
    char cursor[64];
    int m;
    unsigned seed;
    for (m = 0; m < 2; m++) {
        CHECK_EQ(run_list(body, len, modes[m], 0, cursor, sizeof cursor), want);
        CHECK_STR(seen, want_seen);
        if (want_cursor) CHECK_STR(cursor, want_cursor);
    }
    for (seed = 1; seed <= 50; seed++) {
        CHECK_EQ(run_list(body, len, FAKE_RANDOM, seed, cursor, sizeof cursor), want);
        CHECK_STR(seen, want_seen);
    }
}

static void test_decode_list_fields(void) {
    const char *body =
        "{\"items\":[{\"id\":\"cm1\",\"name\":\"N\\u00e9 "
        "\\ud83d\\ude00\",\"description\":\"d\\\"q\","
        "\"meta\":{\"k\": \"v\", \"n\":[1,{\"x\":null}]},\"createdAt\":1700000000000,"
        "\"updatedAt\":1.7000000000015e12},"
        " {\"updatedAt\":2,\"createdAt\":1,\"id\":\"cm2\"},"
        "{\"id\":\"cm3\",\"name\":null,\"description\":null,\"meta\":null,\"createdAt\":3,"
        "\"updatedAt\":4,\"unknown\":{\"deep\":[[[{\"id\":\"no\"}]]],\"s\":\"\\\\\"},\"z\":true}],"
        "\"extra\":{\"items\":5},\"cursor\":\"cm3\"}";
    check_list_all_chunkings(
        body, CBK_OK,
        "cm1|N\xC3\xA9 \xF0\x9F\x98\x80|d\"q|{\"k\": \"v\", \"n\":[1,{\"x\":null}]}"
        "|1700000000000|1700000000001\n"
        "cm2|-|-|-|1|2\n"
        "cm3|-|-|-|3|4\n",
        "cm3");
}

static void test_decode_list_shapes(void) {
    check_list_all_chunkings("{\"cursor\":\"\",\"items\":[]}", CBK_OK, "", "");
    check_list_all_chunkings(" \r\n{\"items\":[]}\n ", CBK_OK, "", "");
    check_list_all_chunkings("{\"items\":[],\"cursor\":null}", CBK_OK, "", "");
    check_list_all_chunkings("\xEF\xBB\xBF{\"items\":[]}", CBK_OK, "", "");
    check_list_all_chunkings("{\"cursor\":\"c\"}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":{}}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":null}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("[]", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("null", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[1]}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[],\"cursor\":5}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[{\"createdAt\":1,\"updatedAt\":2}]}", CBK_ERR_PARSE, "",
                             NULL);
    check_list_all_chunkings("{\"items\":[{\"id\":\"a\",\"updatedAt\":2}]}", CBK_ERR_PARSE, "",
                             NULL);
    check_list_all_chunkings("{\"items\":[{\"id\":\"a\",\"createdAt\":2}]}", CBK_ERR_PARSE, "",
                             NULL);
    check_list_all_chunkings("{\"items\":[{\"id\":5,\"createdAt\":1,\"updatedAt\":2}]}",
                             CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings(
        "{\"items\":[{\"id\":\"a\",\"name\":1,\"createdAt\":1,\"updatedAt\":2}]}", CBK_ERR_PARSE,
        "", NULL);
    check_list_all_chunkings(
        "{\"items\":[{\"id\":\"a\",\"meta\":\"x\",\"createdAt\":1,\"updatedAt\":2}]}",
        CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[{\"id\":\"a\",\"createdAt\":\"1\",\"updatedAt\":2}]}",
                             CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings(
        "{\"items\":[{\"id\":\"a\",\"createdAt\":9223372036854775808,\"updatedAt\":2}]}",
        CBK_ERR_PARSE, "", NULL);
    /* U+0000 in a field no longer fails the list: see test_decode_nul */
    /* the first token is delivered before the second turns out bad */
    check_list_all_chunkings(
        "{\"items\":[{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2},{\"id\":1}]}", CBK_ERR_PARSE,
        "a|-|-|-|1|2\n", NULL);
    check_list_all_chunkings("{\"items\":[]}x", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[],}", CBK_ERR_PARSE, "", NULL);
    check_list_all_chunkings("{\"items\":[{\"id\":\"\xC3\x28\",\"createdAt\":1,\"updatedAt\":2}]}",
                             CBK_ERR_PARSE, "", NULL);
}

/* Every proper prefix of a good body fails; only the whole is CBK_OK. */
static void test_decode_truncated(void) {
    const char *body = "{\"items\":[{\"id\":\"cm1\",\"name\":\"n\",\"meta\":{\"a\":[1]},"
                       "\"createdAt\":10,\"updatedAt\":20}],\"cursor\":\"cm1\"} ";
    size_t len = strlen(body), cut;
    char cursor[16];
    for (cut = 0; cut < len - 1; cut++) {
        cbk_result r;
        setup();
        fake_add(&ft, 200, body);
        ft.replies[0].cut = cut ? cut : 1;
        if (!cut) ft.replies[0].body = NULL; /* no body at all */
        r = cbk_token_list(&cl, "u", NULL, record_token, NULL, cursor, sizeof cursor);
        CHECK(r == CBK_ERR_PARSE);
        CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_PARSE");
        CHECK_EQ(cbk_client_error(&cl)->http_status, 200);
    }
    CHECK_EQ(run_list(body, len, FAKE_BYTES, 0, cursor, sizeof cursor), CBK_OK);
}

/* What the token callback saw of cbk_token.truncated, or'ed. */
static unsigned seen_truncated;

static int record_truncated(void *user, const cbk_token *t) {
    seen_truncated |= t->truncated;
    return record_token(user, t);
}

/* The smallest work buffer that runs a list with the token whole: below it
   the answer is CBK_ERR_BUFFER_TOO_SMALL with no token half-delivered, or
   the token with its name cut and flagged (never its id), at it the tokens
   arrive whole, and no byte past the buffer is ever touched. Fed one byte
   at a time, keys and numbers are joined too, so a few more bytes are
   needed. */
static size_t smallest_work(const char *body, int chunking, char *big, size_t big_size) {
    size_t size;
    for (size = 100; size + 2 < big_size; size++) {
        cbk_client_options o;
        cbk_result r;
        memset(big, 0x77, big_size);
        memset(&ft, 0, sizeof ft);
        ft.chunking = chunking;
        cbk_client_options_init(&o);
        o.base_url = "http://127.0.0.1:8080";
        cbk_client_init(&cl, SECRET, fake_send, &ft, big, size, &o);
        fake_add(&ft, 200, body);
        seen[0] = 0;
        seen_truncated = 0;
        r = cbk_token_list(&cl, "u", NULL, record_truncated, NULL, NULL, 0);
        CHECK(big[size] == 0x77 && big[size + 1] == 0x77);
        if (r == CBK_OK && !seen_truncated) return size;
        if (r == CBK_OK) {
            CHECK_EQ(seen_truncated, CBK_FIELD_NAME);
            CHECK(strncmp(seen, "cm-abcdefghij|a name", 14) == 0);
            continue;
        }
        CHECK_EQ(r, CBK_ERR_BUFFER_TOO_SMALL);
        CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_BUFFER_TOO_SMALL");
        CHECK_STR(seen, "");
    }
    return 0;
}

static void test_decode_work_exact(void) {
    static char big[4096];
    const char *body = "{\"items\":[{\"id\":\"cm-abcdefghij\",\"name\":\"a name of some length\","
                       "\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"\"}";
    size_t whole = smallest_work(body, FAKE_WHOLE, big, sizeof big);
    size_t bytes = smallest_work(body, FAKE_BYTES, big, sizeof big);
    REQUIRE(whole != 0 && bytes != 0);
    CHECK_STR(seen, "cm-abcdefghij|a name of some length|-|-|1|2\n");
    CHECK(whole <= bytes && bytes - whole <= 16);
    CHECK(bytes <= CBK_WORK_MIN);
}

/* What the last token looked like, for the tests below. */
static struct {
    char id[64], name[64];
    size_t id_len, name_len, desc_len, meta_len;
    unsigned nul, truncated;
    int desc_ok, meta_ok; /* a prefix of what was sent, valid UTF-8 */
    int count;
} last;
static const char *sent_desc, *sent_meta;

static int utf8_ok(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!k || i + k > n) return 0;
        i += k;
    }
    return 1;
}

static int record_last(void *user, const cbk_token *t) {
    (void)user;
    last.count++;
    last.id_len = t->id_len;
    memcpy(last.id, t->id, t->id_len < 63 ? t->id_len + 1 : 63);
    last.name_len = t->name_len;
    if (t->name) memcpy(last.name, t->name, t->name_len < 63 ? t->name_len + 1 : 63);
    last.desc_len = t->description_len;
    last.meta_len = t->meta_len;
    last.nul = t->nul;
    last.truncated = t->truncated;
    last.desc_ok = t->description && strlen(t->description) == t->description_len &&
                   strncmp(t->description, sent_desc, t->description_len) == 0 &&
                   utf8_ok(t->description, t->description_len);
    last.meta_ok = t->meta ? strlen(t->meta) == t->meta_len && strcmp(t->meta, sent_meta) == 0
                           : t->meta_len == 0;
    return 0;
}

/* U+0000 in a token's string field: delivered with its length, the field
   marked in `nul` (the C string ends at the U+0000). */
static void test_decode_nul(void) {
    const char *body = "{\"items\":[{\"id\":\"a\\u0000b\",\"name\":\"x\\u0000\",\"description\":"
                       "\"plain\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"\"}";
    int mode;
    sent_desc = "plain";
    sent_meta = "";
    for (mode = 0; mode < 3; mode++) {
        unsigned seed;
        for (seed = 1; seed <= (mode == FAKE_RANDOM ? 20u : 1u); seed++) {
            setup();
            ft.chunking = mode;
            ft.seed = seed;
            fake_add(&ft, 200, body);
            memset(&last, 0, sizeof last);
            CHECK_EQ(cbk_token_list(&cl, "u", NULL, record_last, NULL, NULL, 0), CBK_OK);
            CHECK_EQ(last.count, 1);
            CHECK_EQ(last.id_len, 3);
            CHECK(memcmp(last.id, "a\0b", 4) == 0);
            CHECK_EQ(last.name_len, 2);
            CHECK(memcmp(last.name, "x\0", 3) == 0);
            CHECK_EQ(last.nul, CBK_FIELD_ID | CBK_FIELD_NAME);
            CHECK_EQ(last.truncated, 0);
            CHECK(last.desc_ok);
        }
    }
}

/* Data that another client wrote: a long description (800 bytes, 100 KB,
   two-byte characters so the cut must respect UTF-8) on a CBK_WORK_MIN
   work buffer is cut and flagged; the fields after it arrive whole; a meta
   that does not fit is left out and flagged. Lists and streams, whole,
   byte by byte and in random splits. */
static char *long_body(size_t desc_bytes, size_t meta_bytes, int stream, char **desc, char **meta) {
    size_t i, n = desc_bytes + meta_bytes + 512;
    char *b = (char *)malloc(n), *d = (char *)malloc(desc_bytes + 1),
         *m = (char *)malloc(meta_bytes + 16);
    size_t len;
    for (i = 0; i + 2 <= desc_bytes; i += 2) memcpy(d + i, "\xC3\xA9", 2);
    d[i] = 0;
    strcpy(m, "{\"k\":\"");
    for (i = strlen(m); i < meta_bytes; i++) m[i] = 'm';
    strcpy(m + i, "\"}");
    len = (size_t)sprintf(b, stream ? "{\"type\":\"item\",\"data\":" : "{\"items\":[");
    len += (size_t)sprintf(b + len,
                           "{\"description\":\"%s\",\"meta\":%s,\"name\":\"after\","
                           "\"id\":\"tok-after-description\",\"createdAt\":1,\"updatedAt\":2}",
                           d, m);
    sprintf(b + len, stream ? "}\n" : "],\"cursor\":\"c\"}");
    *desc = d;
    *meta = m;
    return b;
}

static void check_long_fields(size_t desc_bytes, size_t meta_bytes, int stream, unsigned want_cut) {
    char *desc, *meta, *body = long_body(desc_bytes, meta_bytes, stream, &desc, &meta);
    int mode;
    sent_desc = desc;
    sent_meta = meta;
    for (mode = 0; mode < 3; mode++) {
        unsigned seed;
        for (seed = 1; seed <= (mode == FAKE_RANDOM ? 6u : 1u); seed++) {
            cbk_client_options o;
            cbk_result r;
            memset(&ft, 0, sizeof ft);
            memset(work, 0x5A, sizeof work);
            cbk_client_options_init(&o);
            o.base_url = "http://127.0.0.1:8080";
            cbk_client_init(&cl, SECRET, fake_send, &ft, work, CBK_WORK_MIN, &o);
            ft.chunking = mode;
            ft.seed = seed;
            fake_add(&ft, 200, body);
            memset(&last, 0, sizeof last);
            r = stream ? cbk_token_list_stream(&cl, "user-1", NULL, record_last, NULL)
                       : cbk_token_list(&cl, "user-1", NULL, record_last, NULL, NULL, 0);
            CHECK_EQ(r, CBK_OK);
            CHECK_EQ(last.count, 1);
            CHECK_STR(last.id, "tok-after-description");
            CHECK_STR(last.name, "after");
            CHECK_EQ(last.truncated, want_cut);
            CHECK(last.desc_ok);
            CHECK(last.meta_ok);
            if (want_cut & CBK_FIELD_DESCRIPTION) CHECK(last.desc_len < desc_bytes);
            if (!(want_cut & CBK_FIELD_DESCRIPTION)) CHECK_EQ(last.desc_len, strlen(desc));
            CHECK((unsigned char)work[CBK_WORK_MIN] == 0x5A);
        }
    }
    free(body);
    free(desc);
    free(meta);
}

static void test_decode_long_fields(void) {
    check_long_fields(800, 10, 0, CBK_FIELD_DESCRIPTION);
    check_long_fields(800, 10, 1, CBK_FIELD_DESCRIPTION);
    check_long_fields(100 * 1024, 10, 0, CBK_FIELD_DESCRIPTION);
    check_long_fields(100 * 1024, 10, 1, CBK_FIELD_DESCRIPTION);
    check_long_fields(800, 2000, 0, CBK_FIELD_DESCRIPTION | CBK_FIELD_META);
    check_long_fields(100, 2000, 1, CBK_FIELD_META);
    check_long_fields(100, 10, 0, 0);
}

static void test_decode_cursor_buffer(void) {
    char cursor[5];
    memset(cursor, 0x66, sizeof cursor);
    CHECK_EQ(run_list("{\"items\":[],\"cursor\":\"abcd\"}", 28, FAKE_WHOLE, 0, cursor, 5), CBK_OK);
    CHECK_STR(cursor, "abcd");
    CHECK_EQ(run_list("{\"items\":[],\"cursor\":\"abcde\"}", 29, FAKE_WHOLE, 0, cursor, 5),
             CBK_ERR_BUFFER_TOO_SMALL);
    CHECK(strstr(cbk_client_error(&cl)->message, "6") != NULL); /* bytes needed */
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                  */

static cbk_result run_stream(const char *body, int chunking, unsigned seed) {
    setup();
    ft.chunking = chunking;
    ft.seed = seed;
    fake_add(&ft, 200, body);
    seen[0] = 0;
    return cbk_token_list_stream(&cl, "u", NULL, record_token, NULL);
}

static void check_stream(const char *body, cbk_result want, const char *want_seen) {
    unsigned seed;
    CHECK_EQ(run_stream(body, FAKE_WHOLE, 0), want);
    CHECK_STR(seen, want_seen);
    CHECK_EQ(run_stream(body, FAKE_BYTES, 0), want);
    CHECK_STR(seen, want_seen);
    for (seed = 1; seed <= 30; seed++) {
        CHECK_EQ(run_stream(body, FAKE_RANDOM, seed), want);
        CHECK_STR(seen, want_seen);
    }
}

static void test_stream_lines(void) {
    check_stream("{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n"
                 "\n"
                 "{\"type\":\"progress\",\"data\":{\"whatever\":[1,2]}}\r\n"
                 "   \r\n"
                 "{\"data\":{\"id\":\"b\",\"name\":\"B\",\"meta\":{\"x\":1},\"createdAt\":3,"
                 "\"updatedAt\":4},\"type\":\"item\"}\r\n"
                 "{\"data\":{\"no\":\"id\"},\"type\":\"other\"}\n"
                 "{\"type\":\"item\",\"data\":{\"id\":\"c\",\"createdAt\":5,\"updatedAt\":6}}",
                 CBK_OK, "a|-|-|-|1|2\nb|B|-|{\"x\":1}|3|4\nc|-|-|-|5|6\n");
    check_stream("\xEF\xBB\xBF{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,"
                 "\"updatedAt\":2}}\n",
                 CBK_OK, "a|-|-|-|1|2\n");
    check_stream("", CBK_OK, "");
    check_stream("\n\n", CBK_OK, "");
}

static void test_stream_errors(void) {
    check_stream("{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n"
                 "{\"type\":\"item\",\"data\":{\"id\":\"b\",\"createdAt\":1",
                 CBK_ERR_PARSE, "a|-|-|-|1|2\n");
    check_stream("{\"type\":\"item\",\"data\":{\"id\":\"a\"}}\n", CBK_ERR_PARSE, "");
    check_stream("{\"data\":{\"id\":\"a\"},\"type\":\"item\"}\n", CBK_ERR_PARSE, "");
    check_stream("{\"type\":\"item\"}\n", CBK_ERR_PARSE, "");
    check_stream("{\"type\":\"item\",\n\"data\":{}}\n", CBK_ERR_PARSE, "");
    check_stream("{} {}\n", CBK_ERR_PARSE, "");
    check_stream("{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n"
                 "not json\n",
                 CBK_ERR_PARSE, "a|-|-|-|1|2\n");
}

#define ITEM_A "{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}"
#define ITEM_B "{\"type\":\"item\",\"data\":{\"id\":\"b\",\"createdAt\":3,\"updatedAt\":4}}"

/* Lines without a string "type" of "item" are skipped, as the SDK's
   users skip them: no type, a type that is not a string, a line that is
   not an object, a later "type" that wins. */
static void test_stream_skips(void) {
    check_stream("{\"data\":{}}\n" ITEM_A "\n", CBK_OK, "a|-|-|-|1|2\n");
    check_stream(
        "{\"type\":7,\"data\":{}}\n{\"type\":{\"a\":\"item\"},\"data\":{\"id\":\"x\","
        "\"createdAt\":1,\"updatedAt\":2}}\n{\"type\":[\"item\"]}\n{\"type\":null}\n" ITEM_A,
        CBK_OK, "a|-|-|-|1|2\n");
    check_stream("[1,{\"type\":\"item\"}]\n\"item\"\nnull\n5\ntrue\n" ITEM_A "\n", CBK_OK,
                 "a|-|-|-|1|2\n");
    check_stream(
        "{\"type\":\"item\",\"data\":{\"id\":\"x\",\"createdAt\":1,\"updatedAt\":2},"
        "\"type\":\"other\"}\n{\"data\":{\"bad\":[]},\"type\":\"item\",\"type\":\"x\"}\n" ITEM_A,
        CBK_OK, "a|-|-|-|1|2\n");
}

/* A line that is not one JSON value as a whole hands nothing over from
   that line and fails the stream, as the SDK's JSON.parse of the line
   throws before it yields; the lines before it stand. */
static void test_stream_bad_line(void) {
    check_stream(ITEM_A " x\n" ITEM_B "\n", CBK_ERR_PARSE, "");
    check_stream(ITEM_A ITEM_B "\n", CBK_ERR_PARSE, "");
    check_stream(ITEM_A "\r" ITEM_B "\n", CBK_ERR_PARSE, "");
    check_stream(ITEM_B "\n" ITEM_A " {}", CBK_ERR_PARSE, "b|-|-|-|3|4\n");
    check_stream(ITEM_B "\n" ITEM_A ",\n", CBK_ERR_PARSE, "b|-|-|-|3|4\n");
    check_stream(ITEM_A " \t\r\n", CBK_OK, "a|-|-|-|1|2\n");
}

/* An item reaches the callback as soon as its newline arrives: before
   the rest of the body, and also when the transport fails after it. */
static void test_stream_item_at_newline(void) {
    setup();
    fake_add(&ft, 200, ITEM_A "\n{\"type\":\"item\",\"da");
    ft.replies[0].rc = 56; /* the connection broke there */
    seen[0] = 0;
    CHECK_EQ(cbk_token_list_stream(&cl, "u", NULL, record_token, NULL), CBK_ERR_TRANSPORT);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
    CHECK_EQ(ft.calls, 1); /* a token was delivered: not retried */
    setup();
    fake_add(&ft, 200, ITEM_A);
    ft.replies[0].rc = 56; /* no newline: the line may go on */
    seen[0] = 0;
    CHECK_EQ(cbk_token_list_stream(&cl, "u", NULL, record_token, NULL), CBK_ERR_TRANSPORT);
    CHECK_STR(seen, "");
}

/* ------------------------------------------------------------------------ */
/* create, update, delete                                                   */

static int contains(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle), i;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

static void test_create_decode(void) {
    static const char *secret = "tok-\\u0041BCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char body[256];
    cbk_token_created out;
    int mode;
    snprintf(body, sizeof body,
             "{\"extra\":[{}],\"id\":\"cm9\",\"token\":\"%s\",\"createdAt\":1.5e3}", secret);
    for (mode = 0; mode < 3; mode++) {
        setup();
        ft.chunking = mode;
        ft.seed = 7;
        fake_add(&ft, 200, body);
        CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_OK);
        CHECK_STR(out.id, "cm9");
        CHECK_STR(out.token, "tok-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        CHECK_EQ(out.created_at, 1500);
        /* the only copy of the secret is out: the work buffer and the
           client hold none of it, nor the Bearer header */
        CHECK(!contains(work, sizeof work, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
        CHECK(!contains((const char *)&cl, sizeof cl, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
        CHECK(!contains(work, sizeof work, SECRET));
    }
}

static void test_create_errors(void) {
    static const char *bodies[] = {
        "{\"id\":\"cm9\",\"createdAt\":1}",
        "{\"token\":\"t\",\"createdAt\":1}",
        "{\"id\":\"cm9\",\"token\":\"t\"}",
        "{\"id\":\"cm9\",\"token\":5,\"createdAt\":1}",
        "{\"id\":\"cm9\",\"token\":\"t\",\"createdAt\":\"1\"}",
        "[]",
        "{\"id\":\"cm9\",\"token\":\"t\",\"createdAt\":1",
    };
    char big[CBK_SECRET_MAX + 64];
    cbk_token_created out;
    size_t i;
    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        setup();
        fake_add(&ft, 200, bodies[i]);
        CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_PARSE);
        CHECK_STR(out.token, ""); /* nothing half-made is left */
        CHECK_EQ(ft.calls, 1);
    }
    /* a secret one byte too long for CBK_SECRET_MAX */
    setup();
    memset(big, 0, sizeof big);
    memcpy(big, "{\"id\":\"a\",\"createdAt\":1,\"token\":\"", 33);
    memset(big + 33, 'x', CBK_SECRET_MAX);
    memcpy(big + 33 + CBK_SECRET_MAX, "\"}", 2);
    fake_add(&ft, 200, big);
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_BUFFER_TOO_SMALL);
    big[33 + CBK_SECRET_MAX - 1] = '"';
    big[33 + CBK_SECRET_MAX] = '}';
    big[33 + CBK_SECRET_MAX + 1] = 0;
    setup();
    fake_add(&ft, 200, big);
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_OK);
    CHECK_EQ(strlen(out.token), CBK_SECRET_MAX - 1);
}

static void test_update_delete_decode(void) {
    char id[CBK_ID_MAX], longid[CBK_ID_MAX + 16];
    setup();
    fake_add(&ft, 200, "{\"ok\":true,\"id\":\"c\\u00e9\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", id), CBK_OK);
    CHECK_STR(id, "c\xC3\xA9");
    setup();
    fake_add(&ft, 200, "{\"ok\":true}");
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", id), CBK_ERR_PARSE);
    setup();
    snprintf(longid, sizeof longid, "{\"id\":\"%0*d\"}", CBK_ID_MAX, 0);
    fake_add(&ft, 200, longid);
    CHECK_EQ(cbk_token_update(&cl, "u", "t", NULL, id), CBK_ERR_BUFFER_TOO_SMALL);
}

/* ------------------------------------------------------------------------ */
/* Error bodies, by the SDK's rules                                         */

static void check_http_error(int status, const char *body, const char *code, const char *message) {
    int mode;
    for (mode = 0; mode < 3; mode++) {
        setup();
        cl.opts.retries = 0;
        ft.chunking = mode;
        ft.seed = 3;
        fake_add(&ft, status, body);
        seen[0] = 0;
        CHECK_EQ(cbk_token_list(&cl, "u", NULL, record_token, NULL, NULL, 0), CBK_ERR_HTTP);
        CHECK_EQ(cbk_client_error(&cl)->http_status, status);
        CHECK_STR(cbk_client_error(&cl)->code, code);
        CHECK_STR(cbk_client_error(&cl)->message, message);
        CHECK_STR(seen, "");
    }
}

/* Non-string message and code as JavaScript's String() shows them (the
   expectations are node's output for the same bodies). */
static void test_http_error_values(void) {
    /* arrays: joined with ',', nested ones flattened, null as "", [] as ""
       (truthy, so no fallback) */
    check_http_error(400, "{\"message\":[[1,2],[3]],\"code\":[null,true,false,{\"a\":[1]}]}",
                     ",true,false,[object Object]", "1,2,3");
    check_http_error(400, "{\"message\":[],\"code\":[]}", "", "");
    check_http_error(400, "{\"message\":[[],1],\"code\":[1,[]]}", "1,", ",1");
    check_http_error(400, "{\"message\":[\"x\",[[\"y\"]],0.0],\"code\":[[]]}", "", "x,y,0");
    /* numbers in JavaScript's shortest form */
    check_http_error(400, "{\"message\":1e3,\"code\":1.50}", "1.5", "1000");
    check_http_error(400, "{\"message\":1e21,\"code\":1e-7}", "1e-7", "1e+21");
    check_http_error(400, "{\"message\":0.000001,\"code\":-1.5e-10}", "-1.5e-10", "0.000001");
    check_http_error(400, "{\"message\":1E+400,\"code\":-1e400}", "-Infinity", "Infinity");
    check_http_error(400, "{\"message\":987654321987654,\"code\":0.1}", "0.1", "987654321987654");
    check_http_error(400, "{\"message\":100e-2,\"code\":[0.0,-0]}", "0,0", "1");
    check_http_error(400, "{\"message\":-0.00123e+3,\"code\":12.5e1}", "125", "-1.23");
    /* zero as a double is falsy: the fallbacks */
    check_http_error(400, "{\"message\":1e-400,\"code\":-0}", "ERROR_400",
                     "HTTP Error: Bad Request");
    /* D12: more than 15 significant digits: the digits as written, in
       JavaScript's layout (node: 9.876543210987654e+23 and
       98765432109876540000) */
    check_http_error(400, "{\"message\":987654321098765432109876,\"code\":98765432109876543210}",
                     "98765432109876543210", "9.87654321098765432109876e+23");
    /* U+0000 as U+2400; the text goes on */
    check_http_error(400, "{\"message\":\"a\\u0000b\",\"code\":\"\\u0000\"}", "\xE2\x90\x80",
                     "a\xE2\x90\x80"
                     "b");
}

/* An error body the strict tokenizer refuses still gives the server's
   message where JSON.parse(new TextDecoder().decode(body)) would (the
   expectations are node's output): invalid UTF-8 as U+FFFD per maximal
   ill-formed subpart, lone surrogate escapes as U+FFFD, nesting deeper
   than CBK_JSON_MAX_DEPTH read past. */
static void test_http_error_lenient(void) {
    static char deep[400];
    size_t n = 0;
    int i;
    check_http_error(400,
                     "{\"message\":\"a\xFF"
                     "b\xE2\x82"
                     "c\xC0\xAF\xED\xA0\x80\xF0\x9F\x98\","
                     "\"code\":\"C\"}",
                     "C",
                     "a\xEF\xBF\xBD"
                     "b\xEF\xBF\xBD"
                     "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF"
                     "\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    check_http_error(
        400, "{\"message\":\"x\\ud800y\\udc00z\\ud800\\ud800\\udc00\",\"code\":\"\\ud83d\"}",
        "\xEF\xBF\xBD", "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD\xF0\x90\x80\x80");
    check_http_error(400, "{\"message\":\"x\\ud800\\n\",\"code\":\"\\ud800\\u0041\"}",
                     "\xEF\xBF\xBD"
                     "A",
                     "x\xEF\xBF\xBD\n");
    n += (size_t)sprintf(deep + n, "{\"deep\":");
    for (i = 0; i < CBK_JSON_MAX_DEPTH + 8; i++) deep[n++] = i % 2 ? '[' : '[';
    n += (size_t)sprintf(deep + n, "{\"message\":\"inner\",\"a\":[1,{\"b\":\"c\"}]}");
    for (i = 0; i < CBK_JSON_MAX_DEPTH + 8; i++) deep[n++] = ']';
    sprintf(deep + n, ",\"message\":\"after deep\",\"code\":\"D\"}");
    check_http_error(400, deep, "D", "after deep");
    /* still refused: raw control bytes, bad syntax, unbalanced nesting */
    check_http_error(400, "{\"message\":\"a\x01\"}", "GENERIC_ERROR", "There was a generic error");
    deep[n - 1] = ' ';
    check_http_error(400, deep, "GENERIC_ERROR", "There was a generic error");
    check_http_error(400, "{\"message\":\"x\\uZZZZ\"}", "GENERIC_ERROR",
                     "There was a generic error");
}

static void test_http_errors(void) {
    check_http_error(404, "{\"message\":\"Token not found\",\"code\":\"NOT_FOUND\"}", "NOT_FOUND",
                     "Token not found");
    check_http_error(400, "{}", "ERROR_400", "HTTP Error: Bad Request");
    check_http_error(429, "{\"code\":\"SLOW\"}", "SLOW", "HTTP Error: Too Many Requests");
    check_http_error(418, "{\"message\":\"m\"}", "ERROR_418", "m");
    check_http_error(599, "{\"message\":\"\",\"code\":\"\"}", "ERROR_599", "HTTP Error: 599");
    check_http_error(422, "\"just a string\"", "ERROR_422", "HTTP Error: Unprocessable Content");
    check_http_error(500, "[1,2]", "ERROR_500", "HTTP Error: Internal Server Error");
    /* truthy non-strings as JavaScript prints them; falsy ones fall back */
    check_http_error(401, "{\"message\":5,\"code\":{\"a\":1}}", "[object Object]", "5");
    check_http_error(401, "{\"message\":0.0,\"code\":false}", "ERROR_401",
                     "HTTP Error: Unauthorized");
    check_http_error(401, "{\"message\":true,\"code\":-12}", "-12", "true");
    check_http_error(401, "{\"message\":[\"a\"],\"code\":null}", "ERROR_401", "a");
    check_http_error(403, "{\"message\":\"a\",\"message\":\"b\",\"code\":\"X\"}", "X", "b");
    check_http_error(400, "\xEF\xBB\xBF{\"message\":\"bom\",\"code\":\"B\"}", "B", "bom");
    check_http_error(500, "null", "GENERIC_ERROR", "There was a generic error");
    check_http_error(502, "<html>Bad gateway</html>", "GENERIC_ERROR", "There was a generic error");
    check_http_error(503, "", "GENERIC_ERROR", "There was a generic error");
    check_http_error(400, "{\"message\":\"cut", "GENERIC_ERROR", "There was a generic error");
    check_http_error(413, "<html>too big</html>", "CONTENT_TOO_LARGE",
                     "Client request is too large to be processed by the web server.");
    check_http_error(413, "{}", "ERROR_413", "HTTP Error: Content Too Large");
    check_http_error(401, "{\"message\":\"bad key " SECRET "\",\"code\":\"UNAUTHORIZED\"}",
                     "UNAUTHORIZED", "bad key ************************");
}

/* A secret echoed across the cut of an error field leaves no piece. */
static void test_http_error_secret_at_cut(void) {
    char body[1024], pad[300];
    memset(pad, 'x', 243);
    pad[243] = 0;
    snprintf(body, sizeof body, "{\"message\":\"%s" SECRET "\",\"code\":\"%.50s" SECRET "\"}", pad,
             pad);
    setup();
    cl.opts.retries = 0;
    fake_add(&ft, 401, body);
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK(strstr(cbk_client_error(&cl)->message, "sk-test") == NULL);
    CHECK(strstr(cbk_client_error(&cl)->code, "sk-test") == NULL);
    CHECK_EQ(strlen(cbk_client_error(&cl)->message), 255);
    CHECK(strcmp(cbk_client_error(&cl)->message + 243, "************") == 0);
    CHECK(strcmp(cbk_client_error(&cl)->code + 50, "*************") == 0);
}

/* The secret split by the boundary between message and code (either
   order, pieces of any length), a long piece at a field's edge, a piece
   cut off by U+0000: masked in every field. SECRET is
   "sk-test-0123456789abcdef". */
static void test_http_error_secret_split(void) {
    check_http_error(401, "{\"message\":\"x sk-\",\"code\":\"test-0123456789abcdef!\"}",
                     "*********************!", "x ***");
    check_http_error(401, "{\"message\":\"ends sk-test-0123456789abcde\",\"code\":\"f\"}", "*",
                     "ends ***********************");
    check_http_error(401, "{\"code\":\"sk-test-01\",\"message\":\"23456789abcdef tail\"}",
                     "**********", "************** tail");
    /* a piece of CBK__MASK_MIN (8) bytes or more at an edge, alone */
    check_http_error(401, "{\"message\":\"pre sk-test-01\",\"code\":\"X\"}", "X", "pre **********");
    check_http_error(401, "{\"message\":\"89abcdef post\",\"code\":\"X\"}", "X", "******** post");
    check_http_error(401, "{\"message\":\"mid 0123456789a mid\",\"code\":\"X\"}", "X",
                     "mid *********** mid");
    check_http_error(401, "{\"message\":\"9abcdef post\",\"code\":\"X\"}", "X", "9abcdef post");
    /* shorter, alone: text like any other (documented) */
    check_http_error(401, "{\"message\":\"sk-te\",\"code\":\"X\"}", "X", "sk-te");
    /* U+0000 inside the secret: what is shown no longer holds it whole,
       and the pieces at the NUL are masked where they qualify */
    check_http_error(401, "{\"message\":\"sk-test-01\\u000023456789abcdef\",\"code\":\"X\"}", "X",
                     "**********\xE2\x90\x80**************");
    /* the secret inside an array element */
    check_http_error(
        401, "{\"message\":[\"a\",\"" SECRET "\"],\"code\":[\"sk-test\",\"-0123456789abcdef\"]}",
        "sk-test,*****************", "a,************************");
}

static void test_http_error_stream_bom(void) {
    setup();
    cl.opts.retries = 0;
    ft.chunking = FAKE_BYTES;
    fake_add(&ft, 400, "\xEF\xBB\xBF{\"message\":\"bom\",\"code\":\"BOM\"}");
    CHECK_EQ(cbk_token_list_stream(&cl, "u", NULL, record_token, NULL), CBK_ERR_HTTP);
    CHECK_STR(cbk_client_error(&cl)->code, "BOM");
    CHECK_STR(cbk_client_error(&cl)->message, "bom");
}

static void test_http_error_long_message(void) {
    /* 300 bytes of 3-byte characters: cut at a character boundary */
    char body[1200], msg[1000];
    size_t i;
    for (i = 0; i < 100; i++) memcpy(msg + 3 * i, "\xE2\x82\xAC", 3);
    msg[300] = 0;
    snprintf(body, sizeof body, "{\"message\":\"%s\",\"code\":\"%s\"}", msg,
             "CODE_THAT_IS_LONGER_THAN_SIXTY_FOUR_BYTES_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    setup();
    ft.chunking = FAKE_BYTES;
    fake_add(&ft, 400, body);
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK_EQ(strlen(cbk_client_error(&cl)->message), 255);
    CHECK(memcmp(cbk_client_error(&cl)->message, msg, 255) == 0);
    CHECK_EQ(strlen(cbk_client_error(&cl)->code), 63);
}

/* An error message longer than what is left of a small work buffer is
   cut by the tokenizer, still at a character boundary. */
static void test_http_error_small_work(void) {
    static char small[300];
    char body[1200];
    size_t i, n;
    cbk_client_options o;
    n = (size_t)snprintf(body, sizeof body, "{\"code\":\"C\",\"message\":\"");
    for (i = 0; i < 200; i++) n += (size_t)snprintf(body + n, sizeof body - n, "\xE2\x82\xAC");
    snprintf(body + n, sizeof body - n, "\"}");
    memset(&ft, 0, sizeof ft);
    ft.chunking = FAKE_BYTES;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    CHECK_EQ(cbk_client_init(&cl, SECRET, fake_send, &ft, small, sizeof small, &o), CBK_OK);
    fake_add(&ft, 400, body);
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", NULL), CBK_ERR_HTTP);
    CHECK_STR(cbk_client_error(&cl)->code, "C");
    n = strlen(cbk_client_error(&cl)->message);
    CHECK(n > 30 && n < 200 * 3);
    CHECK_EQ(n % 3, 0);
    for (i = 0; i + 3 <= n; i += 3)
        CHECK(memcmp(cbk_client_error(&cl)->message + i, "\xE2\x82\xAC", 3) == 0);
}

static void test_transport_errors(void) {
    setup();
    cl.opts.retries = 0;
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = 7;
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&cl)->transport_code, 7);
    CHECK_EQ(cbk_client_error(&cl)->http_status, 0);
    CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_TRANSPORT");
    /* reset mid-body: status known, still a transport failure, not OK */
    setup();
    cl.opts.retries = 0;
    fake_add(&ft, 200, "{\"items\":[{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}],\"cur");
    ft.replies[0].rc = 56;
    seen[0] = 0;
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, record_token, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&cl)->transport_code, 56);
    CHECK_EQ(cbk_client_error(&cl)->http_status, 200);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
    /* a transport that gives a body before any status */
    setup();
    fake_add(&ft, 0, NULL);
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
}

static void test_cancel(void) {
    int count = 0;
    setup();
    fake_add(&ft, 200,
             "{\"items\":[{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2},"
             "{\"id\":\"b\",\"createdAt\":1,\"updatedAt\":2}]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, stop_after_one, &count, NULL, 0), CBK_ERR_CANCELLED);
    CHECK_EQ(count, 1);
    CHECK(ft.stopped);
    CHECK_EQ(ft.calls, 1);
    CHECK_STR(cbk_client_error(&cl)->code, "CBK_ERR_CANCELLED");
}

/* ------------------------------------------------------------------------ */
/* Retries                                                                  */

static void add_status(int status, const char *retry_after) {
    fake_add(&ft, status, "{\"message\":\"busy\",\"code\":\"BUSY\"}");
    if (retry_after) {
        ft.replies[ft.nreplies - 1].headers[0][0] = "Retry-After";
        ft.replies[ft.nreplies - 1].headers[0][1] = retry_after;
    }
}

static void test_retry_statuses(void) {
    static const int retried[] = {429, 500, 502, 503, 504};
    static const int final_[] = {400, 401, 403, 404, 409, 422, 501};
    size_t i;
    for (i = 0; i < 5; i++) {
        setup();
        add_status(retried[i], NULL);
        fake_add(&ft, 200, "{\"items\":[]}");
        CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
        CHECK_EQ(ft.calls, 2);
        CHECK_EQ(ft.nsleeps, 1);
        CHECK_EQ(ft.sleeps[0], 250);
    }
    for (i = 0; i < 7; i++) {
        setup();
        add_status(final_[i], NULL);
        fake_add(&ft, 200, "{\"items\":[]}");
        CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
        CHECK_EQ(ft.calls, 1);
    }
}

static void test_retry_doubling(void) {
    setup();
    add_status(500, NULL);
    add_status(502, NULL);
    add_status(503, NULL);
    add_status(504, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK_EQ(ft.calls, 4); /* 1 + 3 retries */
    CHECK_EQ(ft.nsleeps, 3);
    CHECK_EQ(ft.sleeps[0], 250);
    CHECK_EQ(ft.sleeps[1], 500);
    CHECK_EQ(ft.sleeps[2], 1000);
    CHECK_EQ(cbk_client_error(&cl)->http_status, 504);
    CHECK_STR(cbk_client_error(&cl)->code, "BUSY");
    /* the requests were identical */
    CHECK_STR(ft.requests[3].url, ft.requests[0].url);
    CHECK_STR(ft.requests[3].headers, ft.requests[0].headers);
}

static void test_retry_after(void) {
    setup();
    add_status(429, "2");
    add_status(503, " 0 ");
    add_status(503, "Wed, 21 Oct 2015 07:28:00 GMT"); /* a date: the doubling applies */
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_EQ(ft.nsleeps, 3);
    CHECK_EQ(ft.sleeps[0], 2000);
    CHECK_EQ(ft.sleeps[1], 0);
    CHECK_EQ(ft.sleeps[2], 1000);
    setup();
    add_status(429, "999999999");
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_EQ(ft.sleeps[0], CBK_RETRY_AFTER_MAX_MS);
}

static void test_retry_create_safety(void) {
    static const int never[] = {500, 502, 504};
    cbk_token_created out;
    size_t i;
    for (i = 0; i < 3; i++) {
        setup();
        add_status(never[i], NULL);
        fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
        CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_HTTP);
        CHECK_EQ(ft.calls, 1);
    }
    /* the server cannot have acted: retried */
    setup();
    add_status(429, NULL);
    add_status(503, NULL);
    fake_add(&ft, 0, NULL);
    ft.replies[2].rc = CBK_SEND_NOT_SENT;
    fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_OK);
    CHECK_EQ(ft.calls, 4);
    CHECK_STR(out.id, "a");
    /* a transport failure after sending: never */
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = 28; /* a timeout */
    fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_TRANSPORT);
    CHECK_EQ(ft.calls, 1);
    /* a reset in the middle of the 200 body: never */
    setup();
    fake_add(&ft, 200, "{\"id\":\"a\",\"tok");
    ft.replies[0].rc = 56;
    fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_TRANSPORT);
    CHECK_EQ(ft.calls, 1);
}

static void test_retry_update_delete_transport(void) {
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = 56;
    fake_add(&ft, 500, "{}");
    fake_add(&ft, 200, "{\"id\":\"t\"}");
    CHECK_EQ(cbk_token_update(&cl, "u", "t", NULL, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 3);
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = 56;
    fake_add(&ft, 200, "{\"id\":\"t\"}");
    CHECK_EQ(cbk_token_delete(&cl, "u", "t", NULL), CBK_OK);
    CHECK_EQ(ft.calls, 2);
}

/* cbk_request.idempotent tells a transport what it may re-send on a fresh
   connection: every GET, an update and a delete; never a create or a
   cbk_fetch POST */
static void test_request_idempotent(void) {
    const cbk_request *req = NULL;
    cbk_token_created out;
    cbk_fetch_options fo;
    setup();
    CHECK_EQ(cbk_token_list_prepare(&cl, "u", NULL, record_token, NULL, NULL, 0, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 1);
    cbk_client_abort(&cl, 1);
    CHECK_EQ(cbk_token_create_prepare(&cl, "u", NULL, &out, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 0);
    cbk_client_abort(&cl, 1);
    CHECK_EQ(cbk_token_update_prepare(&cl, "u", "t", NULL, NULL, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 1);
    cbk_client_abort(&cl, 1);
    CHECK_EQ(cbk_token_delete_prepare(&cl, "u", "t", NULL, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 1);
    cbk_client_abort(&cl, 1);
    memset(&fo, 0, sizeof fo);
    fo.json = "{}";
    fo.json_len = 2;
    CHECK_EQ(cbk_fetch_prepare(&cl, "/api/v1/x", &fo, NULL, NULL, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 0);
    cbk_client_abort(&cl, 1);
    CHECK_EQ(cbk_fetch_prepare(&cl, "/api/v1/x", NULL, NULL, NULL, &req), CBK_OK);
    CHECK_EQ(req->idempotent, 1);
    cbk_client_abort(&cl, 1);
}

/* CBK_SEND_FINAL: retrying cannot help, so no operation retries it; the
   code under the flags is kept for the caller */
static void test_retry_final_transport(void) {
    cbk_token_created out;
    const int final_codes[] = {CBK_SEND_FINAL | 60, CBK_SEND_NOT_SENT | CBK_SEND_FINAL | 1};
    size_t i;
    for (i = 0; i < 2; i++) {
        setup();
        fake_add(&ft, 0, NULL);
        ft.replies[0].rc = final_codes[i];
        fake_add(&ft, 200, "{\"items\":[]}");
        CHECK_EQ(cbk_token_list(&cl, "u", NULL, record_token, NULL, NULL, 0), CBK_ERR_TRANSPORT);
        CHECK_EQ(ft.calls, 1);
        CHECK_EQ(cbk_client_error(&cl)->transport_code, final_codes[i]);
        CHECK_EQ(CBK_SEND_CODE(cbk_client_error(&cl)->transport_code), final_codes[i] & 0xFF);
        setup();
        fake_add(&ft, 0, NULL);
        ft.replies[0].rc = final_codes[i];
        fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
        CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_TRANSPORT);
        CHECK_EQ(ft.calls, 1);
    }
    /* a not-sent code with the cause or'ed in still allows a create's retry,
       and a negative code is a plain failure (the server may have acted) */
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = CBK_SEND_NOT_SENT | 7;
    fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_OK);
    CHECK_EQ(ft.calls, 2);
    setup();
    fake_add(&ft, 0, NULL);
    ft.replies[0].rc = -1;
    fake_add(&ft, 200, "{\"id\":\"a\",\"token\":\"t\",\"createdAt\":1}");
    CHECK_EQ(cbk_token_create(&cl, "u", NULL, &out), CBK_ERR_TRANSPORT);
    CHECK_EQ(ft.calls, 1);
    CHECK_EQ(CBK_SEND_CODE(-1), -1);
}

static void test_retry_never_after_delivery(void) {
    setup();
    fake_add(&ft, 200,
             "{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n{\"ty");
    ft.replies[0].rc = 56;
    fake_add(&ft, 200, "");
    seen[0] = 0;
    CHECK_EQ(cbk_token_list_stream(&cl, "u", NULL, record_token, NULL), CBK_ERR_TRANSPORT);
    CHECK_EQ(ft.calls, 1);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
    /* before any item: retried */
    setup();
    fake_add(&ft, 200, "{\"type\":\"it");
    ft.replies[0].rc = 56;
    fake_add(&ft, 200,
             "{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n");
    seen[0] = 0;
    CHECK_EQ(cbk_token_list_stream(&cl, "u", NULL, record_token, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 2);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
}

/* Without sleep_ms a hosted build waits with its default sleep (poll()
   here) and clock, so the README's example retries as the SDK does. */
static void test_retry_default_sleep(void) {
    cbk_client_options o;
    uint64_t t0;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.retry_delay_ms = 20;
    setup_opts(&o);
#if !(defined(__unix__) || defined(__APPLE__) || defined(_WIN32)) || defined(CBK_TOKEN_NO_LIBC)
    /* a bare-metal build has no default: it must not pretend to have one */
    CHECK(cl.opts.sleep_ms == NULL);
    return;
#endif
    CHECK(cl.opts.sleep_ms != NULL && cl.opts.now_ms != NULL);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    t0 = cl.opts.now_ms(NULL);
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_EQ(ft.calls, 2);
    CHECK(cl.opts.now_ms(NULL) - t0 >= 19); /* it waited */
    /* NULL options: the same defaults */
    CHECK_EQ(cbk_client_init(&cl, SECRET, fake_send, &ft, work, sizeof work, NULL), CBK_OK);
    CHECK(cl.opts.sleep_ms != NULL && cl.opts.retries == 3 && cl.opts.retry_delay_ms == 250);
}

static void test_retry_off(void) {
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.sleep_ms = fake_sleep;
    o.sleep_ctx = &ft;
    o.retries = 0;
    setup_opts(&o);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK_EQ(ft.calls, 1);
    o.retries = 1;
    o.retry_delay_ms = 10;
    setup_opts(&o);
    add_status(503, NULL);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK_EQ(ft.calls, 2);
    CHECK_EQ(ft.sleeps[0], 10);
}

/* ------------------------------------------------------------------------ */
/* list_all                                                                 */

#define ITEM(id) "{\"id\":\"" id "\",\"createdAt\":1,\"updatedAt\":2}"

static void test_list_all_pages(void) {
    cbk_token_list_options o = {0};
    setup();
    fake_add(&ft, 200, "{\"items\":[" ITEM("a") "," ITEM("b") "],\"cursor\":\"b\"}");
    fake_add(&ft, 200, "{\"items\":[" ITEM("c") "],\"cursor\":\"c/+\"}");
    fake_add(&ft, 200, "{\"items\":[],\"cursor\":\"\"}");
    seen[0] = 0;
    o.take = 2;
    CHECK_EQ(cbk_token_list_all(&cl, "u", &o, record_token, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 3);
    CHECK_STR(seen, "a|-|-|-|1|2\nb|-|-|-|1|2\nc|-|-|-|1|2\n");
    CHECK_STR(ft.requests[0].url, "http://127.0.0.1:8080/api/v1/partner/user/u/token/list?take=2");
    CHECK_STR(ft.requests[1].url,
              "http://127.0.0.1:8080/api/v1/partner/user/u/token/list?cursor=b&take=2");
    CHECK_STR(ft.requests[2].url,
              "http://127.0.0.1:8080/api/v1/partner/user/u/token/list?cursor=c%2F%2B&take=2");
}

static void test_list_all_stops(void) {
    cbk_token_list_options o = {0};
    /* an empty cursor ends it */
    setup();
    fake_add(&ft, 200, "{\"items\":[" ITEM("a") "],\"cursor\":\"\"}");
    fake_add(&ft, 200, "{\"items\":[" ITEM("x") "],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, NULL, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 1);
    /* no cursor at all ends it */
    setup();
    fake_add(&ft, 200, "{\"items\":[" ITEM("a") "]}");
    fake_add(&ft, 200, "{\"items\":[" ITEM("x") "],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, NULL, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 1);
    /* the cursor it was given, again */
    setup();
    o.cursor = "k";
    fake_add(&ft, 200, "{\"items\":[" ITEM("a") "],\"cursor\":\"k\"}");
    fake_add(&ft, 200, "{\"items\":[" ITEM("x") "],\"cursor\":\"\"}");
    CHECK_EQ(cbk_token_list_all(&cl, "u", &o, NULL, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 1);
    CHECK_STR(ft.requests[0].url,
              "http://127.0.0.1:8080/api/v1/partner/user/u/token/list?cursor=k");
    /* an error on page two is the answer */
    setup();
    fake_add(&ft, 200, "{\"items\":[" ITEM("a") "],\"cursor\":\"a\"}");
    fake_add(&ft, 404, "{\"message\":\"gone\",\"code\":\"NOT_FOUND\"}");
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, NULL, NULL), CBK_ERR_HTTP);
    CHECK_STR(cbk_client_error(&cl)->code, "NOT_FOUND");
}

/* ------------------------------------------------------------------------ */
/* cbk_fetch                                                                */

static char got[4096];

static int collect(void *user, const char *data, size_t len) {
    size_t n = strlen(got);
    (void)user;
    if (n + len + 2 < sizeof got) {
        memcpy(got + n, data, len);
        got[n + len] = '|';
        got[n + len + 1] = 0;
    }
    return 0;
}

static void test_fetch(void) {
    cbk_kv q[2] = {{"a b", "c&d"}, {"x", ""}};
    cbk_fetch_options o = {0};
    setup();
    fake_add(&ft, 200, "raw body");
    got[0] = 0;
    o.query = q;
    o.query_count = 2;
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/bot/list?x=1", &o, collect, NULL), CBK_OK);
    CHECK_STR(ft.requests[0].method, "GET");
    CHECK_STR(ft.requests[0].url, "http://127.0.0.1:8080/api/v1/bot/list?x=1&a+b=c%26d&x=");
    CHECK_STR(got, "raw body|");
    /* POST JSON */
    setup();
    memset(&o, 0, sizeof o);
    o.json = "{\"q\":1}";
    o.json_len = 7;
    fake_add(&ft, 200, "{}");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &o, NULL, NULL), CBK_OK);
    CHECK_STR(ft.requests[0].method, "POST");
    CHECK_STR(ft.requests[0].body, "{\"q\":1}");
    CHECK(strstr(ft.requests[0].headers, "Content-Type: application/json\n") != NULL);
    o.json = "{\"q\":";
    o.json_len = 5;
    ft.calls = 0;
    expect_invalid(cbk_fetch(&cl, "/api/v1/x", &o, NULL, NULL));
    /* an error status never reaches on_body */
    setup();
    got[0] = 0;
    fake_add(&ft, 404, "{\"message\":\"no\",\"code\":\"NOT_FOUND\"}");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", NULL, collect, NULL), CBK_ERR_HTTP);
    CHECK_STR(got, "");
    CHECK_STR(cbk_client_error(&cl)->code, "NOT_FOUND");
    /* the default host drops /api */
    {
        cbk_client_options co;
        cbk_client_options_init(&co);
        setup_opts(&co);
        fake_add(&ft, 200, "");
        CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", NULL, NULL, NULL), CBK_OK);
        CHECK_STR(ft.requests[0].url, "https://api.chatbotkit.com/v1/x");
    }
    setup();
    expect_invalid(cbk_fetch(&cl, "api/v1/x", NULL, NULL, NULL));
    expect_invalid(cbk_fetch(&cl, "/api/v1/x y", NULL, NULL, NULL));
    expect_invalid(cbk_fetch(&cl, "/api/v1/x\r\nHost: evil", NULL, NULL, NULL));
}

/* The SDK's clientFetch buffer: a raw body as application/octet-stream;
   per-request headers after the client's, replacing one of the same name
   in any case. */
static void test_fetch_body_headers(void) {
    static const char raw[5] = {'a', 0, '\xFF', '\n', 'z'};
    cbk_header client_h[1] = {{"X-Team", "t1"}};
    cbk_header req_h[3] = {
        {"x-team", "t2"}, {"content-type", "application/x-thing"}, {"X-New", "n"}};
    cbk_header bad_h[1] = {{"Bad Name", "v"}};
    cbk_fetch_options f;
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.headers = client_h;
    o.header_count = 1;
    o.sleep_ms = fake_sleep;
    o.sleep_ctx = &ft;
    setup_opts(&o);
    memset(&f, 0, sizeof f);
    f.body = raw;
    f.body_len = sizeof raw;
    fake_add(&ft, 200, "ok");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/file/x/upload", &f, NULL, NULL), CBK_OK);
    CHECK_STR(ft.requests[0].method, "POST");
    CHECK_EQ(ft.requests[0].body_len, sizeof raw);
    CHECK(memcmp(ft.requests[0].body, raw, sizeof raw) == 0);
    CHECK_STR(ft.requests[0].headers, "Authorization: Bearer " SECRET "\n"
                                      "Content-Type: application/octet-stream\n"
                                      "X-Team: t1\n");
    f.headers = req_h;
    f.header_count = 3;
    fake_add(&ft, 200, "ok");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/file/x/upload", &f, NULL, NULL), CBK_OK);
    CHECK_STR(ft.requests[1].headers, "Authorization: Bearer " SECRET "\n"
                                      "content-type: application/x-thing\n"
                                      "x-team: t2\n"
                                      "X-New: n\n");
    /* an empty body is a body: POST, nothing sent */
    f.headers = NULL;
    f.header_count = 0;
    f.body_len = 0;
    fake_add(&ft, 200, "ok");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_OK);
    CHECK_STR(ft.requests[2].method, "POST");
    CHECK_EQ(ft.requests[2].body_len, 0);
    /* refused: two bodies, a GET with a body, body_len without body, a bad header */
    f.json = "{}";
    f.json_len = 2;
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    f.json = NULL;
    f.json_len = 0;
    f.method = "GET";
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    f.method = NULL;
    f.body = NULL;
    f.body_len = 3;
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    f.body_len = 0;
    f.headers = bad_h;
    f.header_count = 1;
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    f.headers = NULL;
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &f, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(ft.calls, 3);
}

/* ------------------------------------------------------------------------ */
/* Promises kept on every path                                              */

/* Outputs are "" / zeroed on every failure, argument errors included,
   whatever they held before (here bytes without any NUL). */
static char fill_cursor[16], fill_id[CBK_ID_MAX];
static cbk_token_created fill_created;
static const cbk_request *fill_req;

static void prefill(void) {
    memset(fill_cursor, 'A', sizeof fill_cursor);
    memset(fill_id, 'B', sizeof fill_id);
    memset(&fill_created, 'C', sizeof fill_created);
    fill_req = (const cbk_request *)(const void *)&fill_created;
}

typedef struct bad_args {
    const char *user, *token;
    const cbk_token_fields *fields;
    const cbk_token_list_options *lo;
} bad_args;

/* Every operation, blocking and prepared, with one set of bad arguments. */
static void check_outputs_reset(cbk_client *c, const bad_args *a) {
    int op;
    for (op = 0; op < 10; op++) {
        cbk_result r = CBK_OK;
        prefill();
        switch (op) {
        case 0:
            r = cbk_token_list(c, a->user, a->lo, NULL, NULL, fill_cursor, sizeof fill_cursor);
            break;
        case 1:
            r = cbk_token_list_prepare(c, a->user, a->lo, NULL, NULL, fill_cursor,
                                       sizeof fill_cursor, &fill_req);
            break;
        case 2: r = cbk_token_create(c, a->user, a->fields, &fill_created); break;
        case 3:
            r = cbk_token_create_prepare(c, a->user, a->fields, &fill_created, &fill_req);
            break;
        case 4: r = cbk_token_update(c, a->user, a->token, a->fields, fill_id); break;
        case 5:
            r = cbk_token_update_prepare(c, a->user, a->token, a->fields, fill_id, &fill_req);
            break;
        case 6: r = cbk_token_delete(c, a->user, a->token, fill_id); break;
        case 7: r = cbk_token_delete_prepare(c, a->user, a->token, fill_id, &fill_req); break;
        case 8: r = cbk_token_list_stream_prepare(c, a->user, a->lo, NULL, NULL, &fill_req); break;
        default: r = cbk_token_list_stream(c, a->user, a->lo, NULL, NULL); break;
        }
        /* an operation the bad argument does not concern goes on (and
           fails at the empty fake transport, or is prepared) */
        if (r == CBK_OK) cbk_client_abort(c, 1);
        if (r == CBK_OK || r == CBK_ERR_TRANSPORT) continue;
        CHECK_EQ(r, CBK_ERR_INVALID_ARGUMENT);
        if (op == 0 || op == 1) CHECK_EQ(fill_cursor[0], 0);
        if (op == 2 || op == 3)
            CHECK(fill_created.id[0] == 0 && fill_created.token[0] == 0 &&
                  fill_created.created_at == 0);
        if (op >= 4 && op <= 7) CHECK_EQ(fill_id[0], 0);
        if (op == 1 || op == 3 || op == 5 || op == 7 || op == 8) CHECK(fill_req == NULL);
        if (c) CHECK(cbk_client_error(c)->message[0] != 0);
    }
}

static void test_outputs_reset_on_argument_errors(void) {
    static const cbk_kv bad_kv[1] = {{"k", "\xC3"}};
    cbk_token_fields bad_name = {0}, bad_config = {0}, bad_meta = {0};
    cbk_token_list_options bad_order = {0}, bad_take = {0}, bad_cursor = {0};
    cbk_client uninit;
    bad_args cases[14];
    size_t i;
    bad_name.name = "\xFF";
    bad_config.config_json = "[1]";
    bad_meta.meta_count = 2; /* no array */
    bad_order.order = "sideways";
    bad_take.take = -1;
    bad_cursor.cursor = "\xE2\x82";
    bad_cursor.meta = bad_kv;
    bad_cursor.meta_count = 1;
    memset(cases, 0, sizeof cases);
    cases[0].user = NULL;
    cases[1].user = "";
    cases[2].user = ".";
    cases[3].user = "..";
    cases[4].user = "\xC3\x28";
    for (i = 5; i < 14; i++) cases[i].user = "u";
    cases[5].token = NULL;
    cases[6].token = "";
    cases[7].token = "..";
    cases[8].token = "t\xFF";
    for (i = 9; i < 14; i++) cases[i].token = "t";
    cases[9].fields = &bad_name;
    cases[10].fields = &bad_config;
    cases[11].fields = &bad_meta;
    cases[12].lo = &bad_order;
    cases[13].lo = &bad_take;
    for (i = 0; i < 14; i++) {
        setup();
        check_outputs_reset(&cl, &cases[i]);
    }
    setup();
    cases[13].lo = &bad_cursor;
    check_outputs_reset(&cl, &cases[13]);
    /* a NULL client, and one never initialised (no work buffer) */
    check_outputs_reset(NULL, &cases[9]);
    memset(&uninit, 0, sizeof uninit);
    check_outputs_reset(&uninit, &cases[9]);
    /* create without out; list with next_cursor_size 0 */
    setup();
    prefill();
    CHECK_EQ(cbk_token_create_prepare(&cl, "u", NULL, NULL, &fill_req), CBK_ERR_INVALID_ARGUMENT);
    CHECK(fill_req == NULL);
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, fill_cursor, 0), CBK_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(ft.calls, 0);
}

static int work_holds_secret(void) {
    size_t i, k = strlen(SECRET);
    for (i = 0; i + 8 <= sizeof work; i++)
        if (memcmp(work + i, SECRET + k - 8, 8) == 0 || memcmp(work + i, SECRET, 8) == 0) return 1;
    return 0;
}

/* A blocking call on a client without a send callback builds the request
   (the prepare half) and then fails: the Bearer value is wiped, as it is
   when a prepared request is dropped for another. */
static void test_no_send_wipes_secret(void) {
    cbk_token_created out;
    char id[CBK_ID_MAX];
    const cbk_request *req;
    int op;
    for (op = 0; op < 6; op++) {
        cbk_result r;
        memset(work, 0, sizeof work);
        REQUIRE(cbk_client_init(&cl, SECRET, NULL, NULL, work, sizeof work, NULL) == CBK_OK);
        switch (op) {
        case 0: r = cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0); break;
        case 1: r = cbk_token_list_stream(&cl, "u", NULL, NULL, NULL); break;
        case 2: r = cbk_token_create(&cl, "u", NULL, &out); break;
        case 3: r = cbk_token_update(&cl, "u", "t", NULL, id); break;
        case 4: r = cbk_token_delete(&cl, "u", "t", id); break;
        default: r = cbk_token_list_all(&cl, "u", NULL, NULL, NULL); break;
        }
        CHECK_EQ(r, CBK_ERR_INVALID_ARGUMENT);
        CHECK(!work_holds_secret());
        CHECK(strstr(cbk_client_error(&cl)->message, "send") != NULL);
    }
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", NULL, NULL, NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK(!work_holds_secret());
    /* a prepared request dropped for another operation */
    CHECK_EQ(cbk_token_delete_prepare(&cl, "u", "a-longer-token-id", NULL, &req), CBK_OK);
    CHECK(work_holds_secret());
    CHECK_EQ(cbk_token_delete_prepare(&cl, "", "t", NULL, &req), CBK_ERR_INVALID_ARGUMENT);
    CHECK(!work_holds_secret());
}

/* list_all ends on cursor cycles and at max_pages, with CBK_ERR_PARSE
   and the tokens of the pages read. */
static char page_body[FAKE_MAX_REPLIES][128];

static void add_page(int i, const char *cursor) {
    snprintf(page_body[i], sizeof page_body[i],
             "{\"items\":[{\"id\":\"t%d\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"%s\"}", i,
             cursor);
    fake_add(&ft, 200, page_body[i]);
}

static int endless_pages;
static int endless_send(void *ctx, const cbk_request *req, cbk_response *res) {
    char body[128];
    (void)ctx;
    (void)req;
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"t\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"c%d\"}",
             ++endless_pages);
    if (cbk_response_status(res, 200)) return 1;
    cbk_response_body(res, body, strlen(body));
    return 0;
}

static void test_list_all_bounded(void) {
    static const char *cycles[3][7] = {{"A", "B", "A", "B", "A", NULL},
                                       {"A", "B", "C", "A", "B", "C", "A"},
                                       {"A", "B", "C", "D", "B", "C", "D"}};
    static const int calls[3] = {3, 6, 6};
    cbk_token_list_options o = {0};
    int k, i;
    for (k = 0; k < 3; k++) {
        setup();
        for (i = 0; i < 7 && cycles[k][i]; i++) add_page(i, cycles[k][i]);
        add_page(i, "");
        seen[0] = 0;
        CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, record_token, NULL), CBK_ERR_PARSE);
        CHECK(strstr(cbk_client_error(&cl)->message, "cycle") != NULL);
        CHECK_EQ(ft.calls, calls[k]);
        CHECK(strncmp(seen, "t0|", 3) == 0);
    }
    /* distinct cursors: max_pages */
    setup();
    for (i = 0; i < 8; i++) {
        char c[16];
        snprintf(c, sizeof c, "c%d", i);
        add_page(i, c);
    }
    o.max_pages = 5;
    CHECK_EQ(cbk_token_list_all(&cl, "u", &o, NULL, NULL), CBK_ERR_PARSE);
    CHECK_EQ(ft.calls, 5);
    CHECK(strstr(cbk_client_error(&cl)->message, "max_pages") != NULL);
    /* the default limit */
    REQUIRE(cbk_client_init(&cl, SECRET, endless_send, NULL, work, sizeof work, NULL) == CBK_OK);
    endless_pages = 0;
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, NULL, NULL), CBK_ERR_PARSE);
    CHECK_EQ(endless_pages, (int)CBK_LIST_MAX_PAGES);
    /* a page that offers the cursor it was given, or none: CBK_OK */
    setup();
    add_page(0, "A");
    add_page(1, "A");
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, NULL, NULL), CBK_OK);
    CHECK_EQ(ft.calls, 2);
}

/* A fake clock: sleeps and slow sends move it. */
typedef struct fake_time {
    uint64_t now;
    unsigned per_send; /* ms each exchange takes, before its response */
    unsigned timeouts[8];
    int nsends;
    unsigned sleeps[8];
    int nsleeps;
} fake_time;
static fake_time ftm;

static void time_sleep(void *ctx, unsigned ms) {
    fake_time *t = (fake_time *)ctx;
    t->now += ms;
    if (t->nsleeps < 8) t->sleeps[t->nsleeps++] = ms;
}

static uint64_t time_now(void *ctx) {
    return ((fake_time *)ctx)->now;
}

static int slow_send(void *ctx, const cbk_request *req, cbk_response *res) {
    if (ftm.nsends < 8) ftm.timeouts[ftm.nsends] = req->timeout_ms;
    ftm.nsends++;
    ftm.now += ftm.per_send;
    return fake_send(ctx, req, res);
}

static void setup_time(unsigned timeout_ms, unsigned per_send) {
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.sleep_ms = time_sleep;
    o.now_ms = time_now;
    o.sleep_ctx = &ftm;
    o.timeout_ms = timeout_ms;
    memset(&ft, 0, sizeof ft);
    memset(&ftm, 0, sizeof ftm);
    ftm.now = 5000;
    ftm.per_send = per_send;
    cbk_client_init(&cl, SECRET, slow_send, &ft, work, sizeof work, &o);
}

/* opts.timeout_ms: one deadline for the attempts and waits together. */
static void test_deadline(void) {
    /* 503s at 0, 250, 750 ms; the next wait (1000) would end past it */
    setup_time(1000, 0);
    add_status(503, NULL);
    add_status(503, NULL);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_HTTP);
    CHECK_EQ(ft.calls, 3);
    CHECK_EQ(ftm.nsleeps, 2);
    CHECK_EQ(ftm.timeouts[0], 1000);
    CHECK_EQ(ftm.timeouts[1], 750);
    CHECK_EQ(ftm.timeouts[2], 250);
    CHECK_EQ(cbk_client_error(&cl)->http_status, 503);
    /* without a deadline the same script succeeds on the 4th attempt */
    setup_time(0, 0);
    add_status(503, NULL);
    add_status(503, NULL);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_OK);
    CHECK_EQ(ftm.timeouts[0], 0);
    /* slow exchanges: 400 ms each; the wait of 250 fits once, and the
       second answer comes after the deadline */
    setup_time(1000, 400);
    add_status(503, NULL);
    add_status(503, NULL);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    CHECK_EQ(ft.calls, 2);
    CHECK_EQ(ftm.timeouts[1], 350);
    /* a response still arriving after the deadline is cut off */
    setup_time(100, 200);
    fake_add(&ft, 200, "{\"items\":[]}");
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_TRANSPORT);
    CHECK(strstr(cbk_client_error(&cl)->message, "deadline") != NULL);
    CHECK_EQ(ft.calls, 1);
    /* list_all: one deadline for all its pages */
    setup_time(100, 60);
    fake_add(&ft, 200,
             "{\"items\":[{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"c1\"}");
    fake_add(&ft, 200,
             "{\"items\":[{\"id\":\"b\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"\"}");
    seen[0] = 0;
    CHECK_EQ(cbk_token_list_all(&cl, "u", NULL, record_token, NULL), CBK_ERR_TRANSPORT);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
    CHECK_EQ(ftm.timeouts[1], 40);
    /* the sans-I/O halves run no deadline */
    setup_time(1, 0);
    {
        const cbk_request *req;
        CHECK_EQ(cbk_token_delete_prepare(&cl, "u", "t", NULL, &req), CBK_OK);
        CHECK_EQ(req->timeout_ms, 0);
        ftm.now += 10000;
        CHECK_EQ(cbk_response_status(cbk_client_response(&cl), 200), 0);
        CHECK_EQ(cbk_response_body(cbk_client_response(&cl), "{\"id\":\"t\"}", 10), 0);
        CHECK_EQ(cbk_client_finish(&cl), CBK_OK);
    }
}

static void test_fetch_multipart(void) {
    static const char data[] = "line1\r\n--not-a-boundary\r\n\0bin";
    cbk_file f;
    cbk_fetch_options o = {0};
    const char *ct, *b;
    char boundary[64], expect[512];
    setup();
    f.name = "re\"port.txt";
    f.type = "text/plain";
    f.data = data;
    f.len = sizeof data - 1;
    o.file = &f;
    fake_add(&ft, 200, "{}");
    CHECK_EQ(cbk_fetch(&cl, "/api/v1/file/upload", &o, NULL, NULL), CBK_OK);
    CHECK_STR(ft.requests[0].method, "POST");
    ct = strstr(ft.requests[0].headers, "Content-Type: multipart/form-data; boundary=");
    REQUIRE(ct != NULL);
    b = ct + strlen("Content-Type: multipart/form-data; boundary=");
    REQUIRE(strchr(b, '\n') != NULL);
    snprintf(boundary, sizeof boundary, "%.*s", (int)(strchr(b, '\n') - b), b);
    CHECK(strlen(boundary) >= 20);
    snprintf(
        expect, sizeof expect,
        "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"re%%22port.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n",
        boundary);
    REQUIRE(ft.requests[0].body_len > strlen(expect));
    CHECK(memcmp(ft.requests[0].body, expect, strlen(expect)) == 0);
    CHECK(memcmp(ft.requests[0].body + strlen(expect), data, sizeof data - 1) == 0);
    snprintf(expect, sizeof expect, "\r\n--%s--\r\n", boundary);
    CHECK_EQ(ft.requests[0].body_len,
             strlen(expect) + (sizeof data - 1) + strlen("--") + strlen(boundary) +
                 strlen("\r\nContent-Disposition: form-data; name=\"file\"; "
                        "filename=\"re%22port.txt\"\r\nContent-Type: "
                        "text/plain\r\n\r\n"));
    CHECK(memcmp(ft.requests[0].body + ft.requests[0].body_len - strlen(expect), expect,
                 strlen(expect)) == 0);
}

static void test_fetch_stream(void) {
    cbk_fetch_options o = {0};
    int mode;
    o.stream = 1;
    for (mode = 0; mode < 3; mode++) {
        setup();
        ft.chunking = mode;
        ft.seed = 11;
        got[0] = 0;
        fake_add(&ft, 200, "{\"a\":1}\n\r\n{\"b\":2}\r\n\n  \n{\"c\":3}");
        CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &o, collect, NULL), CBK_OK);
        CHECK_STR(got, "{\"a\":1}|{\"b\":2}|{\"c\":3}|");
        CHECK(strstr(ft.requests[0].headers, "Accept: application/jsonl\n") != NULL);
        /* a byte order mark may open the body; a line that is not one
           JSON value is not handed over and fails the stream */
        setup();
        ft.chunking = mode;
        ft.seed = 12;
        got[0] = 0;
        fake_add(&ft, 200, "\xEF\xBB\xBF{\"a\":1}\n{\"b\":2} x\n{\"c\":3}\n");
        CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &o, collect, NULL), CBK_ERR_PARSE);
        CHECK_STR(got, "{\"a\":1}|");
        setup();
        ft.chunking = mode;
        got[0] = 0;
        fake_add(&ft, 200, "[1]\n{}{}\n");
        CHECK_EQ(cbk_fetch(&cl, "/api/v1/x", &o, collect, NULL), CBK_ERR_PARSE);
        CHECK_STR(got, "[1]|");
    }
}

/* ------------------------------------------------------------------------ */
/* Sans-I/O                                                                 */

static void test_sans_io(void) {
    const char *body = "{\"items\":[" ITEM("a") "],\"cursor\":\"a\"}";
    const cbk_request *req;
    cbk_response *res;
    char cursor[16];
    size_t i;
    CHECK_EQ(cbk_client_init(&cl, SECRET, NULL, NULL, work, sizeof work, NULL), CBK_OK);
    seen[0] = 0;
    REQUIRE(cbk_token_list_prepare(&cl, "u", NULL, record_token, NULL, cursor, sizeof cursor,
                                   &req) == CBK_OK);
    CHECK_STR(req->url, "https://api.chatbotkit.com/v1/partner/user/u/token/list");
    CHECK_STR(req->method, "GET");
    res = cbk_client_response(&cl);
    CHECK_EQ(cbk_response_status(res, 200), 0);
    CHECK_EQ(cbk_response_header(res, "Content-Type", 12, "application/json", 16), 0);
    for (i = 0; body[i]; i++) CHECK_EQ(cbk_response_body(res, body + i, 1), 0);
    CHECK_EQ(cbk_client_finish(&cl), CBK_OK);
    CHECK_STR(seen, "a|-|-|-|1|2\n");
    CHECK_STR(cursor, "a");
    /* abort and the retry policy */
    REQUIRE(cbk_token_delete_prepare(&cl, "u", "t", NULL, &req) == CBK_OK);
    CHECK_EQ(cbk_client_abort(&cl, CBK_SEND_NOT_SENT), CBK_ERR_TRANSPORT);
    {
        unsigned ms = 0;
        CHECK_EQ(cbk_client_retry_delay(&cl, 0, &ms), 1);
        CHECK_EQ(ms, 250);
        CHECK_EQ(cbk_client_retry_delay(&cl, 2, &ms), 1);
        CHECK_EQ(ms, 1000);
        CHECK_EQ(cbk_client_retry_delay(&cl, 3, &ms), 0);
    }
    /* finishing twice is refused */
    CHECK_EQ(cbk_client_finish(&cl), CBK_ERR_INVALID_ARGUMENT);
    /* the blocking call without a send callback */
    CHECK_EQ(cbk_token_list(&cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_INVALID_ARGUMENT);
}

static void test_result_str(void) {
    CHECK_STR(cbk_result_str(CBK_OK), "CBK_OK");
    CHECK_STR(cbk_result_str(CBK_ERR_INVALID_ARGUMENT), "CBK_ERR_INVALID_ARGUMENT");
    CHECK_STR(cbk_result_str(CBK_ERR_BUFFER_TOO_SMALL), "CBK_ERR_BUFFER_TOO_SMALL");
    CHECK_STR(cbk_result_str(CBK_ERR_TRANSPORT), "CBK_ERR_TRANSPORT");
    CHECK_STR(cbk_result_str(CBK_ERR_HTTP), "CBK_ERR_HTTP");
    CHECK_STR(cbk_result_str(CBK_ERR_PARSE), "CBK_ERR_PARSE");
    CHECK_STR(cbk_result_str(CBK_ERR_CANCELLED), "CBK_ERR_CANCELLED");
    CHECK_STR(cbk_result_str(CBK_ERR_NOT_FOUND), "CBK_ERR_NOT_FOUND");
    CHECK_STR(cbk_result_str((cbk_result)99), "CBK_ERR_UNKNOWN");
    CHECK_EQ(CBK_OK, 0);
    CHECK_EQ(CBK_ERR_NOT_FOUND, 7);
}

/* Timestamps of every length from 1 to 19 digits, negative too, whole and
   in every chunking: the integer fast path (digits eight at a time where
   the word is 64-bit) gives exactly what cbk_json_int64 gives; 19 digits
   and fractions take cbk_json_int64 itself. */
static void test_decode_timestamp_digits(void) {
    static char body[512];
    static const char digits[] = "9223372036854775807";
    char expect[128], num[32];
    int len, mode, neg;
    for (mode = FAKE_WHOLE; mode <= FAKE_RANDOM; mode++)
        for (neg = 0; neg < 2; neg++)
            for (len = 1; len <= 19; len++) {
                int64_t v = 0;
                int i;
                snprintf(num, sizeof num, "%s%.*s", neg ? "-" : "", len, digits);
                for (i = 0; i < len; i++) v = v * 10 + (digits[i] - '0');
                snprintf(body, sizeof body,
                         "{\"items\":[{\"id\":\"a\",\"createdAt\":%s,\"updatedAt\":%s.75},"
                         "{\"id\":\"b\",\"createdAt\":%se0,\"updatedAt\":%s}],\"cursor\":null}",
                         num, num, num, num);
                snprintf(expect, sizeof expect, "a|-|-|-|%lld|%lld\nb|-|-|-|%lld|%lld\n",
                         (long long)(neg ? -v : v), (long long)(neg ? -v : v),
                         (long long)(neg ? -v : v), (long long)(neg ? -v : v));
                setup();
                ft.chunking = mode;
                ft.seed = (unsigned)(len * 31 + neg);
                seen[0] = 0;
                fake_add(&ft, 200, body);
                CHECK_EQ(cbk_token_list(&cl, "u", NULL, record_token, NULL, NULL, 0), CBK_OK);
                CHECK_STR(seen, expect);
            }
}

void suite_client(void) {
    RUN(test_result_str);
    RUN(test_wire_list_plain);
    RUN(test_decode_timestamp_digits);
    RUN(test_wire_option_headers);
    RUN(test_client_http_status);
    RUN(test_wire_list_query);
    RUN(test_wire_stream);
    RUN(test_wire_create);
    RUN(test_wire_create_empty);
    RUN(test_wire_update_delete);
    RUN(test_wire_base_urls);
    RUN(test_wire_headers);
    RUN(test_invalid_arguments);
    RUN(test_invalid_init);
    RUN(test_decode_list_fields);
    RUN(test_decode_list_shapes);
    RUN(test_decode_truncated);
    RUN(test_decode_work_exact);
    RUN(test_decode_nul);
    RUN(test_decode_long_fields);
    RUN(test_decode_cursor_buffer);
    RUN(test_stream_lines);
    RUN(test_stream_errors);
    RUN(test_stream_skips);
    RUN(test_stream_bad_line);
    RUN(test_stream_item_at_newline);
    RUN(test_create_decode);
    RUN(test_create_errors);
    RUN(test_update_delete_decode);
    RUN(test_http_errors);
    RUN(test_http_error_values);
    RUN(test_http_error_lenient);
    RUN(test_http_error_secret_split);
    RUN(test_http_error_long_message);
    RUN(test_http_error_stream_bom);
    RUN(test_http_error_secret_at_cut);
    RUN(test_http_error_small_work);
    RUN(test_transport_errors);
    RUN(test_cancel);
    RUN(test_retry_statuses);
    RUN(test_retry_doubling);
    RUN(test_retry_after);
    RUN(test_retry_create_safety);
    RUN(test_retry_final_transport);
    RUN(test_request_idempotent);
    RUN(test_retry_update_delete_transport);
    RUN(test_retry_never_after_delivery);
    RUN(test_retry_off);
    RUN(test_retry_default_sleep);
    RUN(test_deadline);
    RUN(test_outputs_reset_on_argument_errors);
    RUN(test_no_send_wipes_secret);
    RUN(test_list_all_bounded);
    RUN(test_fetch_body_headers);
    RUN(test_list_all_pages);
    RUN(test_list_all_stops);
    RUN(test_fetch);
    RUN(test_fetch_multipart);
    RUN(test_fetch_stream);
    RUN(test_sans_io);
}
