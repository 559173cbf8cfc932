/* test_embedded.c - examples/embedded's logic against a fake socket.
 *
 * The example's HTTP/1.1 transport (emb_send) and token printer run with
 * the same static client and 512-byte work buffer as the RTOS task, over a
 * socket that records every byte written and answers from a script, read
 * in many chunkings. Nothing here touches a network. Built on the host
 * (ASan+UBSan), -m32, big-endian under qemu-user and on the emulated
 * Cortex-M3, where CBK_EMB_MEASURE_STACK also measures the stack a whole
 * cbk_token_list_stream takes through this transport. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "../examples/embedded/cbk_embedded.c"
#define TEST_MAIN
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * The fake socket
 * ------------------------------------------------------------------------- */

#define SOCK_MAX_CONN 4

typedef struct fake_sock {
    /* script: one response per connection */
    const char *responses[SOCK_MAX_CONN];
    size_t response_lens[SOCK_MAX_CONN]; /* 0: strlen */
    int nresponses;
    size_t read_chunk;  /* bytes per read (0: as many as asked) */
    int read_error_at;  /* nonzero: read returns -1 once this many bytes were read */
    size_t write_chunk; /* bytes accepted per write (0: all) */
    long write_fail_at; /* >= 0: write fails once this many bytes were written */
    int connect_fails;  /* connect returns -1 */
    /* what happened */
    int connects, closes, open;
    char host[EMB_HOST_MAX];
    unsigned port;
    int tls;
    char written[SOCK_MAX_CONN][4096];
    size_t written_len[SOCK_MAX_CONN];
    size_t pos; /* read position in the current response */
    int conn;   /* current connection index */
    int misuse; /* a call on a closed socket, or a second connect while open */
} fake_sock;

static int sock_connect(void *ctx, const char *host, unsigned port, int tls) {
    fake_sock *s = (fake_sock *)ctx;
    if (s->open) s->misuse++;
    if (s->connect_fails) return -1;
    s->conn = s->connects++;
    s->open = 1;
    s->pos = 0;
    s->host[0] = '\0'; /* no snprintf: keep the stack measurement about the library */
    strncat(s->host, host, sizeof s->host - 1);
    s->port = port;
    s->tls = tls;
    return 0;
}

static int sock_write(void *ctx, const unsigned char *buf, size_t len) {
    fake_sock *s = (fake_sock *)ctx;
    size_t *n, k = len;
    if (!s->open || s->conn >= SOCK_MAX_CONN) {
        s->misuse++;
        return -1;
    }
    n = &s->written_len[s->conn];
    if (s->write_chunk && k > s->write_chunk) k = s->write_chunk;
    if (s->write_fail_at >= 0 && *n + k > (size_t)s->write_fail_at) {
        k = (size_t)s->write_fail_at - *n; /* a short write, then the failure */
        if (!k) return -1;
    }
    if (*n + k > sizeof s->written[0]) return -1;
    memcpy(s->written[s->conn] + *n, buf, k);
    *n += k;
    return (int)k;
}

static int sock_read(void *ctx, unsigned char *buf, size_t len) {
    fake_sock *s = (fake_sock *)ctx;
    const char *r;
    size_t total, k;
    if (!s->open) {
        s->misuse++;
        return -1;
    }
    if (s->conn >= s->nresponses) return 0;
    r = s->responses[s->conn];
    total = s->response_lens[s->conn] ? s->response_lens[s->conn] : strlen(r);
    if (s->read_error_at && s->pos >= (size_t)s->read_error_at) return -1;
    k = total - s->pos;
    if (k > len) k = len;
    if (s->read_chunk && k > s->read_chunk) k = s->read_chunk;
    if (s->read_error_at && s->pos + k > (size_t)s->read_error_at)
        k = (size_t)s->read_error_at - s->pos;
    memcpy(buf, r + s->pos, k);
    s->pos += k;
    return (int)k;
}

static void sock_close(void *ctx) {
    fake_sock *s = (fake_sock *)ctx;
    if (!s->open) s->misuse++;
    s->open = 0;
    s->closes++;
}

/* ---------------------------------------------------------------------------
 * The example's setup: a static client, a 512-byte work buffer
 * ------------------------------------------------------------------------- */

static cbk_client client;
static char work[512];
static emb_http http;
static fake_sock fs;
static emb_socket sock;
static char printed[2048];
static size_t printed_len;
static unsigned slept[8];
static int nslept;

static void console_write(void *ctx, const char *text, size_t len) {
    (void)ctx;
    if (printed_len + len < sizeof printed) {
        memcpy(printed + printed_len, text, len);
        printed_len += len;
        printed[printed_len] = '\0';
    }
}

static emb_console console = {console_write, NULL};

static void sleep_ms(void *ctx, unsigned ms) {
    (void)ctx;
    if (nslept < 8) slept[nslept++] = ms;
}

static void setup_url(const char *base_url, unsigned retries) {
    cbk_client_options o;
    memset(&fs, 0, sizeof fs);
    fs.write_fail_at = -1;
    sock.ctx = &fs;
    sock.connect = sock_connect;
    sock.write = sock_write;
    sock.read = sock_read;
    sock.close = sock_close;
    printed_len = 0;
    printed[0] = '\0';
    nslept = 0;
    cbk_client_options_init(&o);
    o.base_url = base_url;
    o.retries = retries;
    o.retry_delay_ms = 10;
    o.sleep_ms = sleep_ms;
    emb_http_init(&http, &sock);
    if (cbk_client_init(&client, "sk-emb", emb_send, &http, work, sizeof work, &o) != CBK_OK)
        fprintf(stderr, "setup: cbk_client_init failed\n");
}

static void setup(void) {
    setup_url("http://127.0.0.1:8080", 0);
}

static void respond(const char *r) {
    fs.responses[fs.nresponses] = r;
    fs.response_lens[fs.nresponses] = 0;
    fs.nresponses++;
}

static const char *written(int conn) {
    fs.written[conn][fs.written_len[conn] < sizeof fs.written[0] ? fs.written_len[conn]
                                                                 : sizeof fs.written[0] - 1] = 0;
    return fs.written[conn];
}

/* ---------------------------------------------------------------------------
 * The stream, chunked, in every read size
 * ------------------------------------------------------------------------- */

#define ITEM(id, name)                                                                             \
    "{\"type\":\"item\",\"data\":{\"id\":\"" id "\",\"name\":\"" name                              \
    "\",\"createdAt\":1700000000000,\"updatedAt\":1700000000001}}\n"

static const char stream_chunked[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/jsonl\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "1e\r\n" /* the chunk boundaries fall inside lines */
    "{\"type\":\"item\",\"data\":{\"id\":\"t\r\n"
    "64;ext=1\r\n"
    "ok-1\",\"name\":\"first\",\"createdAt\":1700000000000,\"updatedAt\":1700000000001}}\n"
    "{\"type\":\"log\",\"data\":{}}\n\r\n"
    "6a\r\n" ITEM("tok-2", "second") "\r\n"
                                     "0\r\n"
                                     "X-Trailer: 1\r\n"
                                     "\r\n";

static void test_stream_request(void) {
    setup();
    respond(stream_chunked);
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
    CHECK_STR(written(0), "GET /api/v1/partner/user/user-1/token/list HTTP/1.1\r\n"
                          "Host: 127.0.0.1:8080\r\n"
                          "Authorization: Bearer sk-emb\r\n"
                          "Accept: application/jsonl\r\n"
                          "Connection: close\r\n"
                          "\r\n");
    CHECK_STR(fs.host, "127.0.0.1");
    CHECK_EQ(fs.port, 8080);
    CHECK_EQ(fs.tls, 0);
    CHECK_EQ(fs.connects, 1);
    CHECK_EQ(fs.closes, 1);
    CHECK_EQ(fs.misuse, 0);
}

static void test_stream_every_read_size(void) {
    static const size_t sizes[] = {1, 2, 3, 5, 7, 13, 31, 64, 100, 255, 256, 0};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        setup();
        respond(stream_chunked);
        fs.read_chunk = sizes[i];
        CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
        if (strcmp(printed, "tok-1 first\ntok-2 second\n") != 0) {
            fprintf(stderr, "  read size %u: printed \"%s\"\n", (unsigned)sizes[i], printed);
            test_failed_checks++;
        }
        CHECK_EQ(fs.closes, 1);
    }
}

static void test_partial_writes(void) {
    static const size_t sizes[] = {1, 3, 17};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        setup();
        respond(stream_chunked);
        fs.write_chunk = sizes[i];
        CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
        CHECK(strstr(written(0), "GET /api/v1/partner/user/user-1/token/list HTTP/1.1\r\n") ==
              written(0));
        CHECK(strstr(written(0), "Connection: close\r\n\r\n") != NULL);
    }
}

/* ---------------------------------------------------------------------------
 * Other framings: Content-Length, read to EOF, interim responses
 * ------------------------------------------------------------------------- */

static void test_list_content_length(void) {
    static const char body[] = "{\"items\":[{\"id\":\"a1\",\"name\":\"A\",\"createdAt\":1,"
                               "\"updatedAt\":2},{\"id\":\"b2\",\"createdAt\":3,\"updatedAt\":4}],"
                               "\"cursor\":\"next-1\"}";
    static char resp[512];
    char cursor[32];
    setup();
    snprintf(resp, sizeof resp,
             "HTTP/1.1 200 OK\r\ncontent-length: %u\r\nConnection: close\r\n\r\n%s"
             "GARBAGE AFTER THE BODY",
             (unsigned)strlen(body), body);
    respond(resp);
    fs.read_chunk = 7;
    CHECK_EQ(
        cbk_token_list(&client, "user-1", NULL, emb_print_token, &console, cursor, sizeof cursor),
        CBK_OK);
    CHECK_STR(printed, "a1 A\nb2 -\n");
    CHECK_STR(cursor, "next-1");
}

static void test_body_to_eof(void) {
    setup();
    respond("HTTP/1.0 200 OK\r\n\r\n" ITEM("e1", "eof"));
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(printed, "e1 eof\n");
}

static void test_interim_response(void) {
    setup();
    respond("HTTP/1.1 100 Continue\r\nX-A: b\r\n\r\n"
            "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n" ITEM("c1", "cont"));
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(printed, "c1 cont\n");
}

static void test_long_header_skipped(void) {
    static char resp[1024];
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    setup();
    snprintf(resp, sizeof resp,
             "HTTP/1.1 200 OK\r\nX-Long: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
             "66\r\n" ITEM("l1", "long-") "\r\n0\r\n\r\n",
             big);
    respond(resp);
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(printed, "l1 long-\n");
}

/* ---------------------------------------------------------------------------
 * POST: Content-Length and the body
 * ------------------------------------------------------------------------- */

static void test_create_post(void) {
    cbk_token_created out;
    cbk_token_fields f;
    const char *w;
    setup();
    respond("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 57\r\n\r\n"
            "{\"id\":\"tok-9\",\"token\":\"sk-new\",\"createdAt\":1700000000123}");
    memset(&f, 0, sizeof f);
    f.name = "sensor";
    CHECK_EQ(cbk_token_create(&client, "user-1", &f, &out), CBK_OK);
    CHECK_STR(out.id, "tok-9");
    CHECK_STR(out.token, "sk-new");
    w = written(0);
    CHECK(strstr(w, "POST /api/v1/partner/user/user-1/token/create HTTP/1.1\r\n") == w);
    CHECK(strstr(w, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(w, "\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"name\":\"sensor\"}") !=
          NULL);
    CHECK_EQ(strlen(w), fs.written_len[0]);
}

/* ---------------------------------------------------------------------------
 * Errors and retries
 * ------------------------------------------------------------------------- */

static void test_http_error(void) {
    setup();
    respond("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 45\r\n"
            "\r\n{\"message\":\"No such user\",\"code\":\"NOT_FOUND\"}");
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_HTTP);
    CHECK_EQ(cbk_client_error(&client)->http_status, 404);
    CHECK_STR(cbk_client_error(&client)->code, "NOT_FOUND");
    CHECK_STR(cbk_client_error(&client)->message, "No such user");
    CHECK_STR(printed, "");
}

static void test_retry_after(void) {
    setup_url("http://127.0.0.1:8080", 2);
    respond("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n");
    respond(stream_chunked);
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_EQ(fs.connects, 2);
    CHECK_EQ(fs.closes, 2);
    CHECK_EQ(nslept, 1);
    CHECK_EQ(slept[0], 2000);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
}

static void test_connect_fails(void) {
    setup();
    fs.connect_fails = 1;
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_TRANSPORT);
    CHECK(CBK_SEND_HAS(cbk_client_error(&client)->transport_code, CBK_SEND_NOT_SENT));
    CHECK_EQ(fs.closes, 0);
}

static void test_truncated(void) {
    static char cut[sizeof stream_chunked];
    size_t n = sizeof stream_chunked - 1, at;
    /* every cut before the last chunk's end fails; the socket is closed */
    for (at = 1; at < n - 5; at += 9) {
        setup();
        memcpy(cut, stream_chunked, at);
        cut[at] = 0;
        respond(cut);
        CHECK(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console) != CBK_OK);
        CHECK_EQ(fs.closes, 1);
        CHECK_EQ(fs.misuse, 0);
    }
    setup();
    respond("HTTP/1.1 200 OK\r\nContent-Length: 150\r\n\r\n" ITEM("t1", "cut"));
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&client)->transport_code, EMB_ERR_TRUNCATED);
    CHECK_STR(printed, "t1 cut\n"); /* delivered before the cut */
}

static void test_read_and_write_errors(void) {
    setup();
    respond(stream_chunked);
    fs.read_error_at = 40;
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&client)->transport_code, EMB_ERR_READ);
    CHECK_EQ(fs.closes, 1);

    setup();
    respond(stream_chunked);
    fs.write_fail_at = 10;
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_TRANSPORT);
    CHECK_EQ(cbk_client_error(&client)->transport_code, EMB_ERR_WRITE);
    CHECK_EQ(fs.written_len[0], 10);
    CHECK_EQ(fs.closes, 1);
}

static void test_protocol_errors(void) {
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\nXX\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup();
        respond(bad[i]);
        CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
                 CBK_ERR_TRANSPORT);
        if (cbk_client_error(&client)->transport_code != EMB_ERR_PROTOCOL)
            fprintf(stderr, "  bad[%u]: transport_code %d\n", (unsigned)i,
                    cbk_client_error(&client)->transport_code);
        CHECK_EQ(cbk_client_error(&client)->transport_code, EMB_ERR_PROTOCOL);
        CHECK_EQ(fs.closes, 1);
    }
}

static int stop_after_first(void *user, const cbk_token *t) {
    emb_print_token(user, t);
    return 1;
}

static void test_callback_stops(void) {
    setup();
    respond(stream_chunked);
    fs.read_chunk = 5;
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, stop_after_first, &console),
             CBK_ERR_CANCELLED);
    CHECK_STR(printed, "tok-1 first\n");
    CHECK_EQ(fs.closes, 1);
    CHECK(fs.pos < strlen(stream_chunked)); /* it stopped reading */
}

/* ---------------------------------------------------------------------------
 * URLs, and what 512 bytes of work buffer hold
 * ------------------------------------------------------------------------- */

static void test_urls(void) {
    setup_url("https://api.chatbotkit.com", 0);
    respond(stream_chunked);
    CHECK_EQ(cbk_token_list_stream(&client, "u 1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(fs.host, "api.chatbotkit.com");
    CHECK_EQ(fs.port, 443);
    CHECK_EQ(fs.tls, 1);
    CHECK(strstr(written(0), "GET /v1/partner/user/u%201/token/list HTTP/1.1\r\n"
                             "Host: api.chatbotkit.com\r\n") == written(0));

    setup_url("http://user:pw@[::1]:9000/prefix", 0);
    respond(stream_chunked);
    CHECK_EQ(cbk_token_list_stream(&client, "u1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_STR(fs.host, "::1");
    CHECK_EQ(fs.port, 9000);
    CHECK(strstr(written(0), "GET /prefix/api/v1/partner/user/u1/token/list HTTP/1.1\r\n"
                             "Host: [::1]:9000\r\n") == written(0));
    CHECK(strstr(written(0), "pw") == NULL);
}

static void test_work_512_limits(void) {
    static char resp[2048], item[1200];
    char name[700];
    size_t len;
    /* a name that fits, then one that does not: never a truncated token */
    memset(name, 'n', 300);
    name[300] = 0;
    setup();
    snprintf(item, sizeof item,
             "{\"type\":\"item\",\"data\":{\"id\":\"big\",\"name\":\"%s\",\"createdAt\":1,"
             "\"updatedAt\":2}}\n",
             name);
    len = strlen(item);
    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s", (unsigned)len,
             item);
    respond(resp);
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console), CBK_OK);
    CHECK_EQ(printed_len, 4 + 300 + 1);

    memset(name, 'n', 600);
    name[600] = 0;
    setup();
    snprintf(item, sizeof item,
             "{\"type\":\"item\",\"data\":{\"id\":\"big\",\"name\":\"%s\",\"createdAt\":1,"
             "\"updatedAt\":2}}\n",
             name);
    len = strlen(item);
    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s", (unsigned)len,
             item);
    respond(resp);
    CHECK_EQ(cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console),
             CBK_ERR_BUFFER_TOO_SMALL);
    CHECK_STR(printed, "");
}

/* ---------------------------------------------------------------------------
 * The stack a whole list_stream takes (Cortex-M3 build only)
 * ------------------------------------------------------------------------- */

#ifdef CBK_EMB_MEASURE_STACK
#define PAINT_BYTES 8192u
#define PAINT       0xA5u

/* Paints PAINT_BYTES below the caller's stack pointer, runs a list_stream
   through the example transport (read size 7: every parser path), and
   finds how deep the stack was written. The figure includes this
   transport, the fake socket and the print callback. */
__attribute__((noinline)) static size_t measure_list_stream(int *ok) {
    uintptr_t sp;
    volatile unsigned char *p;
    size_t i;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    p = (volatile unsigned char *)(sp - PAINT_BYTES);
    for (i = 0; i < PAINT_BYTES - 64; i++) p[i] = PAINT;
    *ok = cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console) == CBK_OK;
    for (i = 0; i < PAINT_BYTES - 64 && p[i] == PAINT; i++) {
    }
    return PAINT_BYTES - i;
}

static void test_stack_measured(void) {
    int ok = 0;
    size_t used;
    setup();
    respond(stream_chunked);
    fs.read_chunk = 7;
    used = measure_list_stream(&ok);
    CHECK(ok);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
    printf("measured stack: cbk_token_list_stream through emb_send, %u bytes "
           "(transport, fake socket and print callback included)\n",
           (unsigned)used);
    CHECK(used < PAINT_BYTES - 64);
}
#endif

int main(void) {
    RUN(test_stream_request);
    RUN(test_stream_every_read_size);
    RUN(test_partial_writes);
    RUN(test_list_content_length);
    RUN(test_body_to_eof);
    RUN(test_interim_response);
    RUN(test_long_header_skipped);
    RUN(test_create_post);
    RUN(test_http_error);
    RUN(test_retry_after);
    RUN(test_connect_fails);
    RUN(test_truncated);
    RUN(test_read_and_write_errors);
    RUN(test_protocol_errors);
    RUN(test_callback_stops);
    RUN(test_urls);
    RUN(test_work_512_limits);
#ifdef CBK_EMB_MEASURE_STACK
    RUN(test_stack_measured);
#endif
    return test_summary();
}
