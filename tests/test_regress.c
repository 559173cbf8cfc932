/* Regression tests: one per bug found by fuzzing (fuzz/, `make fuzz`).
 *
 * Each test is the minimal reproduction of one finding; the comment names
 * the harness and invariant that found it. Under the unit build's
 * ASan+UBSan (-fno-sanitize-recover=all) a regression of bugs 1 and 2
 * aborts the run instead of failing a CHECK. Wired in by test_main.c:
 * suite_regress(). */
#include "../cbk_token.h"
#include "fake_transport.h"
#include "test.h"

#include <stdint.h>

#define RG_SECRET "sk-test-0123456789abcdef"

static char rg_work[8192];
static fake_transport rg_ft;
static cbk_client rg_cl;

static void rg_setup(size_t work_size) {
    cbk_client_options o;
    memset(&rg_ft, 0, sizeof rg_ft);
    memset(rg_work, 0x5A, sizeof rg_work);
    cbk_client_options_init(&o);
    o.base_url = "http://127.0.0.1:8080";
    o.sleep_ms = fake_sleep;
    o.sleep_ctx = &rg_ft;
    o.retries = 0;
    if (cbk_client_init(&rg_cl, RG_SECRET, fake_send, &rg_ft, rg_work, work_size, &o) != CBK_OK)
        fprintf(stderr, "rg_setup: init failed\n");
}

/* What a tokenizer callback saw. */
typedef struct rg_seen {
    int strings, truncated;
    size_t len;
    cbk_result keep;
    int keeps;
} rg_seen;

static int rg_on_json(void *user, cbk_json *j, const cbk_json_token *t) {
    rg_seen *s = (rg_seen *)user;
    (void)j;
    if (t->type == CBK_JSON_STRING) {
        s->strings++;
        s->truncated = t->truncated;
        s->len = t->len;
    }
    return 0;
}

static int rg_keep_keys(void *user, cbk_json *j, const cbk_json_token *t) {
    rg_seen *s = (rg_seen *)user;
    if (t->type == CBK_JSON_KEY) {
        const char *out = (const char *)1;
        s->keep = cbk_json_keep(j, t, &out);
        s->keeps++;
        if (out != NULL) s->keep = (cbk_result)99; /* out must be NULL on failure */
    }
    return 0;
}

/* Bug 1 (fuzz_json, UBSan "applying zero offset to null pointer" at
   cbk__json_join): with no buffer (NULL, 0) and CBK_JSON_TRUNCATE, a string
   that must be joined (an escape) did memcpy(NULL + 0, s, 0). Expected: the
   string arrives cut to nothing, truncated, and no undefined behaviour. */
static void test_regress_truncate_null_buffer(void) {
    static const char text[] = "[\"a\\n\",\"\\u00e9x\"]";
    cbk_json j;
    rg_seen s;
    size_t i;
    memset(&s, 0, sizeof s);
    cbk_json_init(&j, NULL, 0, CBK_JSON_TRUNCATE, rg_on_json, &s);
    CHECK_EQ(cbk_json_feed(&j, text, sizeof text - 1), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(s.strings, 2);
    CHECK_EQ(s.len, 0);
    CHECK_EQ(s.truncated, 1);
    /* the same byte by byte (every string is joined then) */
    memset(&s, 0, sizeof s);
    cbk_json_init(&j, NULL, 0, CBK_JSON_TRUNCATE, rg_on_json, &s);
    for (i = 0; i + 1 < sizeof text; i++) CHECK_EQ(cbk_json_feed(&j, text + i, 1), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(s.strings, 2);
}

/* Bug 2 (fuzz_jsonapi, UBSan "applying zero offset to null pointer" at
   cbk_json_keep): cbk_json_keep computed j->buf + j->kept before checking
   j->buf. Expected: CBK_ERR_BUFFER_TOO_SMALL, *out NULL, no UB. */
static void test_regress_keep_null_buffer(void) {
    cbk_json j;
    rg_seen s;
    memset(&s, 0, sizeof s);
    cbk_json_init(&j, NULL, 0, 0, rg_keep_keys, &s);
    CHECK_EQ(cbk_json_feed(&j, "{\"k\":1}", 7), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(s.keeps, 1);
    CHECK_EQ(s.keep, CBK_ERR_BUFFER_TOO_SMALL);
}

/* Bug 3 (fuzz_json, "truncated flag 1, but 0 of 0 bytes"): with
   CBK_JSON_TRUNCATE and no room left in the buffer (size 0, or full of kept
   bytes), a string split across chunks was flagged truncated even when
   nothing was cut. Expected: truncated == 0 when the text is complete. */
static void test_regress_truncated_flag_no_room(void) {
    char buf[4];
    cbk_json j;
    rg_seen s;
    memset(&s, 0, sizeof s);
    cbk_json_init(&j, buf, 0, CBK_JSON_TRUNCATE, rg_on_json, &s);
    CHECK_EQ(cbk_json_feed(&j, "[\"", 2), CBK_OK);
    CHECK_EQ(cbk_json_feed(&j, "\"]", 2), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(s.strings, 1);
    CHECK_EQ(s.len, 0);
    CHECK_EQ(s.truncated, 0);
}

static int rg_no_token(void *user, const cbk_token *t) {
    (void)t;
    ++*(int *)user;
    return 0;
}

/* Bug 4 (fuzz_stream, "cbk_error is not zeroed after CBK_OK"): a stream
   line whose "data" fails before its "type" says it is not an item holds
   the failure back and drops it, but cbk_error kept it. Expected: CBK_OK
   and cbk_error zeroed, as cbk_client_error() documents. */
static void test_regress_stream_error_zeroed_on_ok(void) {
    int n = 0;
    rg_setup(sizeof rg_work);
    fake_add(&rg_ft, 200,
             "{\"data\":{\"bad\":true},\"type\":\"progress\"}\n"
             "{\"type\":\"item\",\"data\":{\"id\":\"t\",\"createdAt\":1,\"updatedAt\":2}}\n");
    CHECK_EQ(cbk_token_list_stream(&rg_cl, "u", NULL, rg_no_token, &n), CBK_OK);
    CHECK_EQ(n, 1);
    CHECK_STR(cbk_client_error(&rg_cl)->code, "");
    CHECK_STR(cbk_client_error(&rg_cl)->message, "");
}

/* Bug 5 (fuzz_error, "code ... sk-fuzz-SECR"): the secret is masked in an
   error field after the server's text is cut to fit, so an echoed secret
   that straddles the cut (or is longer than the field) survives in part.
   Expected: no part of the secret left by the cut. */
static void test_regress_secret_cut_in_error(void) {
    char body[1024], pad[300];
    const cbk_error *e;
    memset(pad, 'C', sizeof pad);
    /* code: 50 bytes, then the secret across the 63-byte cut */
    snprintf(body, sizeof body, "{\"code\":\"%.50s %s\",\"message\":\"%.240s %s\"}", pad, RG_SECRET,
             pad, RG_SECRET);
    rg_setup(sizeof rg_work);
    fake_add(&rg_ft, 401, body);
    CHECK_EQ(cbk_token_delete(&rg_cl, "u", "t", NULL), CBK_ERR_HTTP);
    e = cbk_client_error(&rg_cl);
    CHECK(strstr(e->code, "sk-test") == NULL);
    CHECK(strstr(e->message, "sk-test") == NULL);
    CHECK(strncmp(e->code, pad, 50) == 0); /* the server's own text stays */
}

/* Bug 5, second form: a secret longer than the field is never masked
   (the full-match scan needs the whole secret inside the field). */
static void test_regress_long_secret_in_error(void) {
    static const char long_secret[] =
        "sk-live-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    char body[512];
    cbk_client_options o;
    const cbk_error *e;
    memset(&rg_ft, 0, sizeof rg_ft);
    cbk_client_options_init(&o);
    o.base_url = "http://127.0.0.1:8080";
    o.retries = 0;
    REQUIRE(cbk_client_init(&rg_cl, long_secret, fake_send, &rg_ft, rg_work, sizeof rg_work, &o) ==
            CBK_OK);
    snprintf(body, sizeof body, "{\"code\":\"%s\",\"message\":\"bad key\"}", long_secret);
    fake_add(&rg_ft, 401, body);
    CHECK_EQ(cbk_token_delete(&rg_cl, "u", "t", NULL), CBK_ERR_HTTP);
    e = cbk_client_error(&rg_cl);
    CHECK(strstr(e->code, "sk-live-0123456789") == NULL);
}

/* Bug 6 (fuzz_stream, "CBK_OK for a stream the oracle refuses"): a body
   that is only the start of a UTF-8 byte order mark ("\xEF", "\xEF\xBB")
   was swallowed by the BOM skipper and never reached the tokenizer; JSON
   Lines accepts empty input, so the stream said CBK_OK. Expected:
   CBK_ERR_PARSE (and the same for the list decoder, which already fails). */
static void test_regress_partial_bom_body(void) {
    /* a mark begun and not finished, alone or before JSON: never JSON, in
       every chunking; an error body so is not read for its message (the
       SDK's JSON.parse refuses it: GENERIC_ERROR) */
    static const char *const bodies[4] = {
        "\xEF", "\xEF\xBB", "\xEF{\"items\":[],\"cursor\":null}",
        "\xEF\xBB{\"type\":\"item\",\"data\":{\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2}}\n"};
    int i, mode, n = 0;
    for (mode = FAKE_WHOLE; mode <= FAKE_RANDOM; mode++)
        for (i = 0; i < 4; i++) {
            rg_setup(sizeof rg_work);
            rg_ft.chunking = mode;
            fake_add(&rg_ft, 200, bodies[i]);
            CHECK_EQ(cbk_token_list_stream(&rg_cl, "u", NULL, rg_no_token, &n), CBK_ERR_PARSE);
            fake_add(&rg_ft, 200, bodies[i]);
            CHECK_EQ(cbk_token_list(&rg_cl, "u", NULL, rg_no_token, &n, NULL, 0), CBK_ERR_PARSE);
            fake_add(&rg_ft, 400, i < 2 ? bodies[i] : "\xEF{\"message\":\"x\",\"code\":\"X\"}");
            CHECK_EQ(cbk_token_delete(&rg_cl, "u", "t", NULL), CBK_ERR_HTTP);
            CHECK_STR(cbk_client_error(&rg_cl)->code, "GENERIC_ERROR");
        }
    CHECK_EQ(n, 0);
}

/* Bug 7 (fuzz_stream, "result ... but cbk_error.code"): a stream line's
   held-back failure is returned when the line turns out to be an item,
   but cbk_error holds whatever failed last in the line. Here the name does
   not fit (held: BUFFER_TOO_SMALL), then id is not a string and the item
   lacks an id (PARSE): the result is BUFFER_TOO_SMALL with code
   "CBK_ERR_PARSE". Expected: code is the result's name. */
static void test_regress_stream_deferred_error_code(void) {
    static char body[1024];
    char name[401];
    int n = 0;
    cbk_result r;
    memset(name, 'n', 400);
    name[400] = 0;
    snprintf(body, sizeof body,
             "{\"data\":{\"name\":\"%s\",\"id\":5,\"createdAt\":1,\"updatedAt\":2},"
             "\"type\":\"item\"}\n",
             name);
    rg_setup(400); /* the name cannot be kept */
    fake_add(&rg_ft, 200, body);
    r = cbk_token_list_stream(&rg_cl, "u", NULL, rg_no_token, &n);
    CHECK(r != CBK_OK);
    CHECK_STR(cbk_client_error(&rg_cl)->code, cbk_result_str(r));
    CHECK_EQ(n, 0);
}

/* Bug 7, second form (fuzz_stream, "a small work buffer differs"): a
   held-back failure fills cbk_error at once, and the tokenizer's own
   failure is only recorded when cbk_error is still empty; so a syntax
   error after a held-back BUFFER_TOO_SMALL gives CBK_ERR_PARSE with code
   "CBK_ERR_BUFFER_TOO_SMALL" and that failure's message. Expected: code
   is the result's name (and the message the syntax error's). */
static void test_regress_stream_deferred_then_syntax(void) {
    static char body[1024];
    char name[401];
    int n = 0;
    cbk_result r;
    memset(name, 'n', 400);
    name[400] = 0;
    snprintf(body, sizeof body,
             "{\"data\":{\"name\":\"%s\",\"id\":\"a\",\"createdAt\":1,\"updatedAt\":2} x\n", name);
    rg_setup(400);
    fake_add(&rg_ft, 200, body);
    r = cbk_token_list_stream(&rg_cl, "u", NULL, rg_no_token, &n);
    CHECK_EQ(r, CBK_ERR_PARSE);
    CHECK_STR(cbk_client_error(&rg_cl)->code, "CBK_ERR_PARSE");
    CHECK(strstr(cbk_client_error(&rg_cl)->message, "not valid JSON") != NULL);
    CHECK_EQ(n, 0);
}

static int rg_no_body(void *user, const char *data, size_t len) {
    (void)user;
    (void)data;
    (void)len;
    return 0;
}

/* Bug 8 (fuzz_fetch, UBSan "null pointer passed as argument 2" at
   cbk__sb_put): cbk_fetch with an empty file ({name, type, NULL, 0}, which
   cbk_fetch_prepare accepts: only len > 0 needs data) did memcpy(dst,
   NULL, 0) while building the multipart body. Expected: a multipart body
   with an empty part, no undefined behaviour. */
static void test_regress_fetch_empty_file(void) {
    cbk_file f;
    cbk_fetch_options o;
    memset(&f, 0, sizeof f);
    memset(&o, 0, sizeof o);
    f.name = "empty.txt";
    o.file = &f;
    rg_setup(sizeof rg_work);
    fake_add(&rg_ft, 200, "{}");
    CHECK_EQ(cbk_fetch(&rg_cl, "/api/v1/file/upload", &o, rg_no_body, NULL), CBK_OK);
    CHECK_STR(rg_ft.requests[0].method, "POST");
    CHECK(strstr(rg_ft.requests[0].headers, "Content-Type: multipart/form-data; boundary=") !=
          NULL);
    CHECK(rg_ft.requests[0].body_len > 0);
    CHECK(strstr(rg_ft.requests[0].body, "filename=\"empty.txt\"") != NULL);
}

/* Reviewer's list (HEADER_FIXES.md, items 4 to 11). */

/* 4: NULL arguments of the JSON API: a result where there is one, a no-op
   otherwise; never a crash. */
static void test_regress_json_null_args(void) {
    cbk_json j;
    cbk_json_token t;
    const char *kept = "x";
    cbk_json_init(NULL, NULL, 0, 0, NULL, NULL);
    cbk_json_init(&j, NULL, 0, 0, NULL, NULL);
    CHECK_EQ(cbk_json_feed(NULL, "[1]", 3), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_json_feed(&j, NULL, 3), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_json_feed(&j, NULL, 0), CBK_OK);
    CHECK_EQ(cbk_json_feed(&j, "[1]", 3), CBK_OK); /* the argument error was not sticky */
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(cbk_json_finish(NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_json_offset(NULL), 0);
    CHECK_EQ(cbk_json_mark(NULL), 0);
    cbk_json_release(NULL, 0);
    cbk_json_skip(NULL);
    cbk_json_capture(NULL);
    CHECK_EQ(cbk_json_keep(&j, NULL, &kept), CBK_ERR_INVALID_ARGUMENT);
    CHECK(kept == NULL);
    memset(&t, 0, sizeof t);
    CHECK_EQ(cbk_json_keep(NULL, &t, &kept), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_json_keep(&j, &t, NULL), CBK_ERR_INVALID_ARGUMENT);
}

/* 5: cbk_json_get_string resets out on argument errors too. */
static void test_regress_get_string_reset(void) {
    char out[8];
    strcpy(out, "stale");
    CHECK_EQ(cbk_json_get_string(NULL, 0, "k", out, sizeof out), CBK_ERR_INVALID_ARGUMENT);
    CHECK_STR(out, "");
    strcpy(out, "stale");
    CHECK_EQ(cbk_json_get_string("{}", 2, NULL, out, sizeof out), CBK_ERR_INVALID_ARGUMENT);
    CHECK_STR(out, "");
}

/* 7: cbk_client_abort(c, 0) is refused (0 says the exchange completed);
   the operation stays prepared. */
static void test_regress_abort_zero(void) {
    const cbk_request *req;
    rg_setup(sizeof rg_work);
    CHECK_EQ(cbk_token_list_prepare(&rg_cl, "u", NULL, NULL, NULL, NULL, 0, &req), CBK_OK);
    CHECK_EQ(cbk_client_abort(&rg_cl, 0), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_client_abort(&rg_cl, -1), CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&rg_cl)->transport_code, -1);
}

/* 8: a second status fails the operation instead of restarting it. */
static void test_regress_second_status(void) {
    const cbk_request *req;
    cbk_response *res;
    rg_setup(sizeof rg_work);
    CHECK_EQ(cbk_token_list_prepare(&rg_cl, "u", NULL, NULL, NULL, NULL, 0, &req), CBK_OK);
    res = cbk_client_response(&rg_cl);
    CHECK_EQ(cbk_response_status(res, 200), 0);
    CHECK(cbk_response_status(res, 500) != 0);
    CHECK_EQ(cbk_client_finish(&rg_cl), CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&rg_cl)->http_status, 200);
}

/* 9: never two header lines of one name; Authorization is the library's. */
static void test_regress_header_merge(void) {
    cbk_header client[3] = {{"X-A", "1"}, {"accept", "text/plain"}, {"x-a", "2"}};
    cbk_header auth[1] = {{"authorization", "Bearer mine"}};
    cbk_header req_hs[2] = {{"X-A", "3"}, {"Content-Type", "text/csv"}};
    cbk_client_options o;
    cbk_fetch_options f;
    memset(&f, 0, sizeof f);
    cbk_client_options_init(&o);
    o.base_url = "http://h";
    o.headers = auth;
    o.header_count = 1;
    CHECK_EQ(cbk_client_init(&rg_cl, RG_SECRET, fake_send, &rg_ft, rg_work, sizeof rg_work, &o),
             CBK_ERR_INVALID_ARGUMENT);
    o.headers = client;
    o.header_count = 3;
    memset(&rg_ft, 0, sizeof rg_ft);
    CHECK_EQ(cbk_client_init(&rg_cl, RG_SECRET, fake_send, &rg_ft, rg_work, sizeof rg_work, &o),
             CBK_OK);
    fake_add(&rg_ft, 200, "");
    CHECK_EQ(cbk_token_list_stream(&rg_cl, "u", NULL, NULL, NULL), CBK_OK);
    /* the library's Accept stays; the client's last X-A wins */
    CHECK_STR(rg_ft.requests[0].headers, "Authorization: Bearer " RG_SECRET "\n"
                                         "Accept: application/jsonl\n"
                                         "x-a: 2\n");
    f.method = "POST";
    f.json = "{}";
    f.json_len = 2;
    f.headers = req_hs;
    f.header_count = 2;
    fake_add(&rg_ft, 200, "{}");
    CHECK_EQ(cbk_fetch(&rg_cl, "/api/v1/x", &f, rg_no_body, NULL), CBK_OK);
    /* a request's headers win over the client's and the library's */
    CHECK_STR(rg_ft.requests[1].headers, "Authorization: Bearer " RG_SECRET "\n"
                                         "Content-Type: text/csv\n"
                                         "X-A: 3\n"
                                         "accept: text/plain\n");
    f.headers = auth;
    f.header_count = 1;
    CHECK_EQ(cbk_fetch(&rg_cl, "/api/v1/x", &f, rg_no_body, NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(rg_ft.calls, 2);
}

/* 10: a length without its body is refused for json as for body. */
static void test_regress_fetch_len_without_body(void) {
    cbk_fetch_options f;
    memset(&f, 0, sizeof f);
    rg_setup(sizeof rg_work);
    f.json_len = 3;
    CHECK_EQ(cbk_fetch(&rg_cl, "/api/v1/x", &f, rg_no_body, NULL), CBK_ERR_INVALID_ARGUMENT);
    f.json_len = 0;
    f.body_len = 5;
    CHECK_EQ(cbk_fetch(&rg_cl, "/api/v1/x", &f, rg_no_body, NULL), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(rg_ft.calls, 0);
}

/* cbk_client_init with this base URL and the rest by default. */
static cbk_result rg_init_base(const char *base_url) {
    cbk_client_options o;
    cbk_client_options_init(&o);
    o.base_url = base_url;
    return cbk_client_init(&rg_cl, "s", fake_send, &rg_ft, rg_work, sizeof rg_work, &o);
}

/* 11: a base URL the transport would refuse fails at init. */
static void test_regress_base_url_checked(void) {
    static const char *const bad[] = {
        "http://:80", "http://h:0",   "http://h:65536", "http://h:99999999999999999999",
        "http://u@h", "http://h:80x", "https://[::1",   "http://h:",
        "http://[]",  "http://h!x",   "https://[::1]x", "http://[g::1]",
    };
    static const char *const good[] = {"http://h:1", "https://[::1]:443/p", "http://a-b.c_d:8080"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(rg_init_base(bad[i]), CBK_ERR_INVALID_ARGUMENT);
    /* a client whose init failed sends nothing, even if the failure is
       ignored (here a CR/LF secret that would split a header) */
    memset(&rg_ft, 0, sizeof rg_ft);
    CHECK_EQ(
        cbk_client_init(&rg_cl, "s\r\nX-Evil: 1", fake_send, &rg_ft, rg_work, sizeof rg_work, NULL),
        CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(cbk_token_list(&rg_cl, "u", NULL, NULL, NULL, NULL, 0), CBK_ERR_INVALID_ARGUMENT);
    CHECK_EQ(rg_ft.calls, 0);
    for (i = 0; i < sizeof good / sizeof good[0]; i++) CHECK_EQ(rg_init_base(good[i]), CBK_OK);
}

/* Bug 9 (fuzz_stream in CI, "a small work buffer differs"): fed in pieces,
   a string that spans two pieces is copied into what is left of the work
   buffer, and cut there when it does not fit. A stream line's "type" cut to
   "ite" counted as "not an item", so the line was skipped silently: the
   token was lost with CBK_OK, or a later line's failure was reported
   instead. The same class, in an error body: a key cut to "message" was
   taken for "message". Expected, for every work size and every place the
   body is cut in two: the whole answer or CBK_ERR_BUFFER_TOO_SMALL, never
   another. */
enum { RG_STREAM, RG_LIST, RG_DELETE };

typedef struct rg_split {
    int op, status;
    const char *body;
    size_t size, at; /* work buffer size; the body is cut before byte at */
    int n;           /* tokens delivered */
    cbk_error err;
} rg_split;

static cbk_result rg_split_run(rg_split *x) {
    const cbk_request *req = NULL;
    cbk_response *res;
    size_t len = strlen(x->body);
    cbk_result r;
    x->n = 0;
    if (cbk_client_init(&rg_cl, RG_SECRET, NULL, NULL, rg_work, x->size, NULL))
        return CBK_ERR_INVALID_ARGUMENT;
    r = x->op == RG_STREAM
            ? cbk_token_list_stream_prepare(&rg_cl, "u", NULL, rg_no_token, &x->n, &req)
        : x->op == RG_LIST
            ? cbk_token_list_prepare(&rg_cl, "u", NULL, rg_no_token, &x->n, NULL, 0, &req)
            : cbk_token_delete_prepare(&rg_cl, "u", "t", NULL, &req);
    if (r) return CBK_ERR_INVALID_ARGUMENT; /* did not prepare: not this test's case */
    res = cbk_client_response(&rg_cl);
    if (!cbk_response_status(res, x->status) && !cbk_response_body(res, x->body, x->at))
        cbk_response_body(res, x->body + x->at, len - x->at);
    r = cbk_client_finish(&rg_cl);
    x->err = *cbk_client_error(&rg_cl);
    return r;
}

static void test_regress_small_buffer_cut_strings(void) {
    static const char item[] =
        "{\"type\":\"item\",\"data\":{\"id\":\"tok_1\",\"createdAt\":1,\"updatedAt\":2}}\n";
    /* a later "type" settles a cut one: never an item */
    static const char retyped[] = "{\"type\":\"item\",\"data\":{\"id\":\"tok_1\",\"createdAt\":1,"
                                  "\"updatedAt\":2},\"type\":\"progress\"}\n";
    static const char list[] =
        "{\"items\":[{\"id\":\"tok_1\",\"createdAt\":1,\"updatedAt\":2}],\"cursor\":null}";
    static const char err[] = "{\"messagezz\":\"wrong\",\"codezz\":\"WRONG\"}";
    rg_split x;
    int oks = 0, smalls = 0;
    memset(&x, 0, sizeof x);
    for (x.size = 150; x.size < 720; x.size++) {
        for (x.at = 0; x.at < sizeof item - 1; x.at++) {
            cbk_result r;
            x.op = RG_STREAM, x.status = 200, x.body = item;
            r = rg_split_run(&x);
            if (r == CBK_ERR_INVALID_ARGUMENT) continue;
            CHECK(r == CBK_OK ? x.n == 1 : r == CBK_ERR_BUFFER_TOO_SMALL && x.n == 0);
            oks += r == CBK_OK;
            smalls += r == CBK_ERR_BUFFER_TOO_SMALL;
            x.body = retyped;
            r = rg_split_run(&x);
            CHECK(r == CBK_OK || r == CBK_ERR_BUFFER_TOO_SMALL);
            CHECK_EQ(x.n, 0);
            x.op = RG_LIST, x.body = list;
            r = rg_split_run(&x);
            CHECK(r == CBK_OK ? x.n == 1 : r == CBK_ERR_BUFFER_TOO_SMALL && x.n == 0);
            if (x.at >= sizeof err - 1) continue;
            x.op = RG_DELETE, x.status = 400, x.body = err;
            if (rg_split_run(&x) == CBK_ERR_HTTP) {
                CHECK(strstr(x.err.message, "wrong") == NULL);
                CHECK(strstr(x.err.code, "WRONG") == NULL);
            }
        }
    }
    CHECK(oks > 0);    /* the sweep reached sizes that hold the item */
    CHECK(smalls > 0); /* and sizes that cannot */
}

void suite_regress(void) {
    RUN(test_regress_truncate_null_buffer);
    RUN(test_regress_keep_null_buffer);
    RUN(test_regress_truncated_flag_no_room);
    RUN(test_regress_stream_error_zeroed_on_ok);
    RUN(test_regress_secret_cut_in_error);
    RUN(test_regress_long_secret_in_error);
    RUN(test_regress_partial_bom_body);
    RUN(test_regress_stream_deferred_error_code);
    RUN(test_regress_stream_deferred_then_syntax);
    RUN(test_regress_fetch_empty_file);
    RUN(test_regress_json_null_args);
    RUN(test_regress_get_string_reset);
    RUN(test_regress_abort_zero);
    RUN(test_regress_second_status);
    RUN(test_regress_header_merge);
    RUN(test_regress_fetch_len_without_body);
    RUN(test_regress_base_url_checked);
    RUN(test_regress_small_buffer_cut_strings);
}
