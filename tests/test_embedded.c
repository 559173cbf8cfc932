/* test_embedded.c - examples/embedded's firmware code against a fake io.
 *
 * The example's task logic (emb_app: a static client, a 512-byte work
 * buffer, the HTTP/1.1 engine with its own 512-byte buffer) and its token
 * printer, over a cbk_http1_io that records every byte written and answers
 * from a script, read in many chunkings. Nothing here touches a network
 * (tests/lwip/run_example.sh runs the same code over lwIP + mbedTLS).
 * Built on the host (ASan+UBSan), -m32, big-endian under qemu-user and on
 * the emulated Cortex-M3, where CBK_EMB_MEASURE_STACK also measures the
 * stack a whole cbk_token_list_stream takes through the engine. */
#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#include "../examples/embedded/cbk_embedded.c"
#define TEST_MAIN
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * The fake io: one scripted response per connection
 * ------------------------------------------------------------------------- */

#define IO_MAX_CONN 4

typedef struct fake_io {
    const char *responses[IO_MAX_CONN];
    int nresponses;
    size_t read_chunk; /* bytes per read (0: as many as asked) */
    int connect_rc;    /* what connect returns */
    int connects, closes, open, misuse;
    char host[64];
    unsigned port;
    int tls;
    char written[IO_MAX_CONN][2048];
    size_t written_len[IO_MAX_CONN];
    size_t pos; /* read position in the current response */
    int conn;   /* current connection */
} fake_io;

static int io_connect(void *ctx, const char *host, unsigned port, int tls) {
    fake_io *f = (fake_io *)ctx;
    if (f->open) f->misuse++;
    if (f->connect_rc) return f->connect_rc;
    f->conn = f->connects++;
    f->open = 1;
    f->pos = 0;
    f->host[0] = '\0';
    strncat(f->host, host, sizeof f->host - 1);
    f->port = port;
    f->tls = tls;
    return 0;
}

static long io_write(void *ctx, const char *data, size_t len) {
    fake_io *f = (fake_io *)ctx;
    size_t *n;
    if (!f->open || f->conn >= IO_MAX_CONN) return -1;
    n = &f->written_len[f->conn];
    if (*n + len > sizeof f->written[0]) return -1;
    memcpy(f->written[f->conn] + *n, data, len);
    *n += len;
    return (long)len;
}

static long io_read(void *ctx, char *buf, size_t len) {
    fake_io *f = (fake_io *)ctx;
    const char *r;
    size_t k;
    if (!f->open) {
        f->misuse++;
        return -1;
    }
    if (f->conn >= f->nresponses) return 0;
    r = f->responses[f->conn];
    k = strlen(r) - f->pos;
    if (k > len) k = len;
    if (f->read_chunk && k > f->read_chunk) k = f->read_chunk;
    memcpy(buf, r + f->pos, k);
    f->pos += k;
    return (long)k;
}

static void io_close(void *ctx) {
    fake_io *f = (fake_io *)ctx;
    if (f->open) f->closes++;
    f->open = 0;
}

/* ---------------------------------------------------------------------------
 * The example's setup
 * ------------------------------------------------------------------------- */

static emb_app app;
static fake_io fio;
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

static void setup_url(const char *base_url) {
    cbk_http1_io io;
    memset(&fio, 0, sizeof fio);
    memset(&io, 0, sizeof io);
    io.ctx = &fio;
    io.connect = io_connect;
    io.write = io_write;
    io.read = io_read;
    io.close = io_close;
    printed_len = 0;
    printed[0] = '\0';
    nslept = 0;
    if (emb_app_init(&app, &io, base_url, "sk-emb", sleep_ms, NULL) != CBK_OK)
        fprintf(stderr, "setup: emb_app_init failed\n");
}

static void setup(void) {
    setup_url("http://127.0.0.1:8080");
}

static void respond(const char *r) {
    fio.responses[fio.nresponses++] = r;
}

static const char *written(int conn) {
    fio.written[conn][fio.written_len[conn] < sizeof fio.written[0] ? fio.written_len[conn]
                                                                    : sizeof fio.written[0] - 1] =
        0;
    return fio.written[conn];
}

#define ITEM(id, name)                                                                             \
    "{\"type\":\"item\",\"data\":{\"id\":\"" id "\",\"name\":\"" name                              \
    "\",\"createdAt\":1700000000000,\"updatedAt\":1700000000001}}\n"

static const char stream_chunked[] = "HTTP/1.1 200 OK\r\n"
                                     "Content-Type: application/jsonl\r\n"
                                     "Transfer-Encoding: chunked\r\n"
                                     "\r\n"
                                     "1e\r\n" /* the chunk boundaries fall inside lines */
                                     "{\"type\":\"item\",\"data\":{\"id\":\"t\r\n"
                                     "64;ext=1\r\n"
                                     "ok-1\",\"name\":\"first\",\"createdAt\":1700000000000,"
                                     "\"updatedAt\":1700000000001}}\n"
                                     "{\"type\":\"log\",\"data\":{}}\n\r\n"
                                     "6a\r\n" ITEM("tok-2", "second") "\r\n"
                                                                      "0\r\n"
                                                                      "\r\n";

/* ---------------------------------------------------------------------------
 * The task's listing
 * ------------------------------------------------------------------------- */

static void test_stream_request(void) {
    setup();
    respond(stream_chunked);
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
    CHECK(strstr(written(0), "GET /api/v1/partner/user/user-1/token/list HTTP/1.1\r\n"
                             "Host: 127.0.0.1:8080\r\n") == written(0));
    CHECK(strstr(written(0), "\r\nAuthorization: Bearer sk-emb\r\n") != NULL);
    CHECK(strstr(written(0), "\r\nAccept: application/jsonl\r\n") != NULL);
    CHECK_STR(fio.host, "127.0.0.1");
    CHECK_EQ(fio.port, 8080);
    CHECK_EQ(fio.tls, 0);
    CHECK_EQ(fio.connects, 1);
    emb_app_close(&app);
    CHECK_EQ(fio.closes, 1);
    CHECK_EQ(fio.misuse, 0);
}

static void test_stream_every_read_size(void) {
    static const size_t sizes[] = {1, 2, 3, 5, 7, 13, 31, 64, 100, 255, 256, 0};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        setup();
        respond(stream_chunked);
        fio.read_chunk = sizes[i];
        CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
        if (strcmp(printed, "tok-1 first\ntok-2 second\n") != 0) {
            fprintf(stderr, "  read size %u: printed \"%s\"\n", (unsigned)sizes[i], printed);
            test_failed_checks++;
        }
        emb_app_close(&app);
    }
}

static void test_retry_after(void) {
    setup();
    respond("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n{}");
    respond(stream_chunked);
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
    CHECK_EQ(nslept, 1);
    CHECK_EQ(slept[0], 2000);
    CHECK_EQ(fio.connects, 2);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
    emb_app_close(&app);
}

static void test_connect_fails(void) {
    setup();
    fio.connect_rc = CBK_SEND_NOT_SENT | 51;
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_ERR_TRANSPORT);
    CHECK(strncmp(printed, "token list failed: ", 19) == 0);
    CHECK(strstr(printed, " transport_code 0x4033\n") != NULL);
    CHECK_EQ(cbk_client_error(&app.client)->transport_code, CBK_SEND_NOT_SENT | 51);
    emb_app_close(&app);
}

static int stop_after_first(void *user, const cbk_token *t) {
    emb_print_token(user, t);
    return 1;
}

static void test_callback_stops(void) {
    setup();
    respond(stream_chunked);
    fio.read_chunk = 5;
    CHECK_EQ(cbk_token_list_stream(&app.client, "user-1", NULL, stop_after_first, &console),
             CBK_ERR_CANCELLED);
    CHECK_STR(printed, "tok-1 first\n");
    CHECK(fio.pos < strlen(stream_chunked)); /* it stopped reading */
    emb_app_close(&app);
}

static void test_https_url(void) {
    setup_url("https://api.chatbotkit.com");
    respond(stream_chunked);
    CHECK_EQ(emb_list_tokens(&app, "u 1", &console), CBK_OK);
    CHECK_STR(fio.host, "api.chatbotkit.com");
    CHECK_EQ(fio.port, 443);
    CHECK_EQ(fio.tls, 1);
    CHECK(strstr(written(0), "GET /v1/partner/user/u%201/token/list HTTP/1.1\r\n"
                             "Host: api.chatbotkit.com\r\n") == written(0));
    emb_app_close(&app);
}

static int holds(const char *hay, size_t n, const char *needle) {
    size_t i, m = strlen(needle);
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

static void test_buffers_wiped(void) {
    setup();
    respond(stream_chunked);
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
    emb_app_close(&app);
    CHECK(!holds(app.http_buf, sizeof app.http_buf, "sk-emb"));
    CHECK(!holds(app.work, sizeof app.work, "sk-emb"));
}

/* A list in 512 bytes: a short name arrives whole, a long one cut at a
   UTF-8 boundary and flagged (printed with "..."), never an overflow. */
static void list_one_named(const char *name) {
    static char resp[2048], item[1200];
    snprintf(item, sizeof item,
             "{\"type\":\"item\",\"data\":{\"id\":\"big\",\"name\":\"%s\",\"createdAt\":1,"
             "\"updatedAt\":2}}\n",
             name);
    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(item), item);
    setup();
    respond(resp);
}

static void test_work_512_limits(void) {
    char name[700];
    memset(name, 'n', 100);
    name[100] = 0;
    list_one_named(name);
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
    CHECK_EQ(printed_len, 4 + 100 + 1);
    CHECK(strstr(printed, "...") == NULL);
    emb_app_close(&app);

    memset(name, 'n', 600);
    name[600] = 0;
    list_one_named(name);
    CHECK_EQ(emb_list_tokens(&app, "user-1", &console), CBK_OK);
    CHECK(strncmp(printed, "big nnn", 7) == 0);
    CHECK(printed_len > 8 && printed_len < 4 + 600 + 1);
    CHECK(strcmp(printed + printed_len - 4, "...\n") == 0);
    emb_app_close(&app);
}

/* ---------------------------------------------------------------------------
 * The stack a whole list_stream takes (Cortex-M3 build only)
 * ------------------------------------------------------------------------- */

#ifdef CBK_EMB_MEASURE_STACK
#define PAINT_BYTES 8192u
#define PAINT       0xA5u

/* Paints PAINT_BYTES below the caller's stack pointer, runs a list_stream
   through the engine (read size 7), and finds how deep the stack was
   written. The figure includes the engine, the fake io and the printer. */
__attribute__((noinline)) static size_t measure_list_stream(int *ok) {
    uintptr_t sp;
    volatile unsigned char *p;
    size_t i;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    p = (volatile unsigned char *)(sp - PAINT_BYTES);
    for (i = 0; i < PAINT_BYTES - 64; i++) p[i] = PAINT;
    *ok = emb_list_tokens(&app, "user-1", &console) == CBK_OK;
    for (i = 0; i < PAINT_BYTES - 64 && p[i] == PAINT; i++) {
    }
    return PAINT_BYTES - i;
}

static void test_stack_measured(void) {
    int ok = 0;
    size_t used;
    setup();
    respond(stream_chunked);
    fio.read_chunk = 7;
    used = measure_list_stream(&ok);
    CHECK(ok);
    CHECK_STR(printed, "tok-1 first\ntok-2 second\n");
    printf("measured stack: cbk_token_list_stream through the HTTP/1.1 engine, %u bytes "
           "(engine, fake io and print callback included)\n",
           (unsigned)used);
    CHECK(used < PAINT_BYTES - 64);
    emb_app_close(&app);
}
#endif

int main(void) {
    RUN(test_stream_request);
    RUN(test_stream_every_read_size);
    RUN(test_retry_after);
    RUN(test_connect_fails);
    RUN(test_callback_stops);
    RUN(test_https_url);
    RUN(test_buffers_wiped);
    RUN(test_work_512_limits);
#ifdef CBK_EMB_MEASURE_STACK
    RUN(test_stack_measured);
#endif
    return test_summary();
}
