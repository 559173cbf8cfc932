/* test_http1.c - the HTTP/1.1 engine (adapters/cbk_token_http1.h) over a
 * scripted in-memory io, then the POSIX adapter built on it against real
 * servers on loopback.
 *
 *   build/test_http1            (from the repository root; make http1-test)
 *
 * The scripted io has no sockets: each connection it "opens" plays a list
 * of server turns; turn k becomes readable once the engine has written
 * the k-th request on that connection, and after the last turn the
 * connection ends as the script says (EOF, reset, timeout). Reads are cut
 * where a test says (the first read of a turn at every byte, then one byte
 * at a time), so every framing case is checked split at every byte. A
 * fake clock advances per read for the deadline.
 *
 * The loopback part starts tests/mock_api.py (list over one connection)
 * and tests/hostile_http.py (reads a create on a kept-alive connection and
 * closes) itself, and stops both by PID. Ends with "N passed, M failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#define CBK_TOKEN_POSIX_IMPLEMENTATION
#include "adapters/cbk_token_posix.h"
#define TEST_MAIN
#include "tests/test.h"
#include "tests/loopback.h"

#define SECRET "sk-test-secret-0123456789"

/* ---- the scripted io ---------------------------------------------------- */

enum { END_EOF = 0, END_RESET, END_TIMEOUT };

typedef struct conn_script {
    const char *turn[4];
    size_t turn_len[4];
    int turns;
    int end;         /* after the last turn */
    int idle_closed; /* usable() says 0 once every written turn was read */
    int connect_rc;  /* what connect returns (0: connected) */
    int write_fail;  /* write returns -1 */
} conn_script;

typedef struct fake {
    conn_script conn[4];
    int nconn;
    int cur;      /* the open connection's script, -1: none */
    int released; /* turns of cur made readable by writes */
    int turn;
    size_t pos;
    int last_was_write;
    size_t first, chunk; /* a turn's first read gets at most first bytes, then chunk; 0: all */
    size_t write_max;
    int connects, closes, reads, usable_calls;
    int tls;
    unsigned port;
    char host[256];
    char sent[1 << 17];
    size_t sent_len;
    uint32_t clock, tick;  /* tick ms per read */
    uint32_t connect_tick; /* ms per connect */
} fake;

static int f_connect(void *ctx, const char *host, unsigned port, int tls) {
    fake *f = (fake *)ctx;
    int i = f->connects++;
    f->clock += f->connect_tick;
    if (i >= f->nconn) return CBK_SEND_NOT_SENT | 99;
    if (f->conn[i].connect_rc != 0) return f->conn[i].connect_rc;
    f->cur = i;
    f->released = f->turn = 0;
    f->pos = 0;
    f->last_was_write = 0;
    f->tls = tls;
    f->port = port;
    snprintf(f->host, sizeof f->host, "%s", host);
    return 0;
}

static long f_write(void *ctx, const char *data, size_t len) {
    fake *f = (fake *)ctx;
    if (f->cur < 0) return -1;
    if (f->conn[f->cur].write_fail) return -1;
    if (f->write_max && len > f->write_max) len = f->write_max;
    if (!f->last_was_write) f->released++;
    f->last_was_write = 1;
    if (f->sent_len + len <= sizeof f->sent) {
        memcpy(f->sent + f->sent_len, data, len);
        f->sent_len += len;
    }
    return (long)len;
}

static long f_read(void *ctx, char *buf, size_t len) {
    fake *f = (fake *)ctx;
    conn_script *c;
    size_t lim;
    f->reads++;
    f->clock += f->tick;
    f->last_was_write = 0;
    if (f->cur < 0) return -1;
    c = &f->conn[f->cur];
    while (f->turn < c->turns && f->pos == c->turn_len[f->turn] && f->turn + 1 < f->released) {
        f->turn++;
        f->pos = 0;
    }
    if (f->turn < f->released && f->turn < c->turns && f->pos < c->turn_len[f->turn]) {
        size_t left = c->turn_len[f->turn] - f->pos;
        lim = f->pos == 0 ? f->first : f->chunk;
        if (lim == 0 || lim > left) lim = left;
        if (lim > len) lim = len;
        memcpy(buf, c->turn[f->turn] + f->pos, lim);
        f->pos += lim;
        return (long)lim;
    }
    if (c->end == END_TIMEOUT) return CBK_HTTP1_IO_TIMEOUT;
    return c->end == END_RESET ? -1 : 0;
}

static void f_close(void *ctx) {
    fake *f = (fake *)ctx;
    f->closes++;
    f->cur = -1;
}

static uint32_t f_now(void *ctx) {
    return ((fake *)ctx)->clock;
}

/* 0 once the server closed it while idle: every written turn was read */
static int f_usable(void *ctx) {
    fake *f = (fake *)ctx;
    conn_script *c = &f->conn[f->cur < 0 ? 0 : f->cur];
    f->usable_calls++;
    if (f->cur < 0) return 0;
    if (f->turn < f->released && f->pos < c->turn_len[f->turn]) return 0; /* stray bytes */
    if (!c->idle_closed) return 1;
    return !(f->turn + 1 >= c->turns && f->pos == c->turn_len[f->turn]);
}

static void fake_init(fake *f) {
    memset(f, 0, sizeof *f);
    f->cur = -1;
}

static void add_turn(conn_script *c, const char *bytes) {
    c->turn[c->turns] = bytes;
    c->turn_len[c->turns] = strlen(bytes);
    c->turns++;
}

static char h1buf[4096];

static void engine_init(cbk_http1 *h, fake *f, size_t buf_size, int with_usable) {
    cbk_http1_io io;
    memset(&io, 0, sizeof io);
    io.ctx = f;
    io.connect = f_connect;
    io.write = f_write;
    io.read = f_read;
    io.close = f_close;
    io.now_ms = f_now;
    if (with_usable) io.usable = f_usable;
    cbk_http1_init(h, &io, h1buf, buf_size);
}

/* ---- one request through the library and the engine --------------------- */

typedef struct sink {
    char data[1 << 16];
    size_t len;
    int stop; /* on_body returns nonzero */
} sink;

static sink got;
static char work[1 << 14];

static int on_body(void *user, const char *data, size_t len) {
    sink *s = (sink *)user;
    if (s->len + len <= sizeof s->data) {
        memcpy(s->data + s->len, data, len);
        s->len += len;
    }
    return s->stop;
}

typedef struct result {
    int rc;
    cbk_result r;
    int status;
} result;

enum { REQ_GET, REQ_POST_FETCH, REQ_CREATE, REQ_DELETE, REQ_HEAD };

/* One exchange: the library prepares, cbk_http1_send sends, no retries. */
/* The time left that run_kind's requests carry (cbk_request.timeout_ms,
   as the library sets it from opts.timeout_ms); 0: none. */
static unsigned req_timeout_ms;

static result run_kind(cbk_http1 *h, int kind) {
    static cbk_client c;
    static cbk_token_created out;
    static char id[CBK_ID_MAX];
    cbk_client_options o;
    cbk_fetch_options fo;
    const cbk_request *req = NULL;
    cbk_request copy;
    result x;
    memset(&x, 0, sizeof x);
    got.len = 0;
    cbk_client_options_init(&o);
    o.base_url = "http://api.example.test:8080";
    o.retries = 0;
    cbk_client_init(&c, SECRET, cbk_http1_send, h, work, sizeof work, &o);
    memset(&fo, 0, sizeof fo);
    if (kind == REQ_POST_FETCH) {
        fo.json = "{\"a\":1}";
        fo.json_len = 7;
    }
    if (kind == REQ_CREATE)
        x.r = cbk_token_create_prepare(&c, "u1", NULL, &out, &req);
    else if (kind == REQ_DELETE)
        x.r = cbk_token_delete_prepare(&c, "u1", "t1", id, &req);
    else
        x.r = cbk_fetch_prepare(&c, "/api/v1/x", &fo, on_body, &got, &req);
    if (x.r != CBK_OK) return x;
    copy = *req;
    if (kind == REQ_HEAD) copy.method = "HEAD";
    copy.timeout_ms = req_timeout_ms;
    x.rc = cbk_http1_send(h, &copy, cbk_client_response(&c));
    x.r = x.rc == 0 ? cbk_client_finish(&c) : cbk_client_abort(&c, x.rc);
    x.status = cbk_client_error(&c)->http_status;
    return x;
}

static result run_get(cbk_http1 *h) {
    return run_kind(h, REQ_GET);
}

static size_t count_of(const char *hay, size_t len, const char *needle) {
    size_t n = strlen(needle), i, k = 0;
    for (i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0) k++;
    return k;
}

static int all_zero(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

/* ---- framing, split at every byte ---------------------------------------- */

typedef struct framing {
    const char *response;
    int end;          /* how the connection ends after it */
    int rc;           /* the engine's return, 0: complete */
    const char *body; /* what the library's on_body got (when rc is 0) */
    int kept;         /* the connection stays open (-1: depends on the split) */
} framing;

static const framing framings[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", END_EOF, 0, "hello", 1},
    {"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", END_EOF, 0, "hi", 1},
    {"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", END_EOF, 0, "hi", 1},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
     END_EOF, 0, "hi", 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0006 ; x=\"y\"\r\n "
     "world\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
     END_EOF, 0, "hello world", 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
     "Chunked\r\n\r\n00000000000000000003\r\nabc\r\n0\r\n\r\n",
     END_EOF, 0, "abc", 1},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0;last\r\n\r\n",
     END_EOF, 0, "0123456789", 1},
    {"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  continued\r\nContent-Length: 1\r\n\r\nz", END_EOF, 0, "z",
     1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", END_EOF, 0, "abc", 1},
    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", END_EOF, 0, "", 1},
    {"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", END_EOF, 0, "", 1},
    {"HTTP/1.1 304 Not Modified\r\n\r\n", END_EOF, 0, "", 1},
    {"HTTP/1.1 200 OK\r\n\r\nup to the close", END_EOF, 0, "up to the close", 0},
    {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", END_EOF, 0, "hi", 0},
    {"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nhi", END_EOF, 0,
     "hi", 0},
    {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", END_EOF, 0, "hi", 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: "
     "chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
     END_EOF, 0, "x", 0},
    /* bytes after the end: not kept when they came with it (else usable()
       catches them before the next request: test_usable_stray_bytes) */
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1", END_EOF, 0, "hi", -1},
    /* cut short: never complete */
    {"HTTP/1.1 200 OK\r\n\r\nup to a reset", END_RESET, CBK_HTTP1_ERR_RECV, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", END_EOF, CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", END_EOF, CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", END_EOF,
     CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", END_EOF,
     CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", END_EOF,
     CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", END_EOF, CBK_HTTP1_ERR_TRUNCATED,
     NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n", END_EOF,
     CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab", END_EOF,
     CBK_HTTP1_ERR_TRUNCATED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Len", END_EOF, CBK_HTTP1_ERR_CLOSED, NULL, 0},
    {"HTTP/1.1 100 Continue\r\n\r\n", END_EOF, CBK_HTTP1_ERR_CLOSED, NULL, 0},
    {"", END_EOF, CBK_HTTP1_ERR_CLOSED, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", END_TIMEOUT, CBK_HTTP1_ERR_TIMEOUT, NULL, 0},
    /* not HTTP/1.x framing */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", END_EOF,
     CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE,
     NULL, 0},
    {"HTTP/1.1 20 OK\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 099 Low\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 2000 OK\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL,
     0},
    {"HTTP/2 200 OK\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\nhi", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\nNoColon\r\n\r\nhi", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\nhi", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
    {"HTTP/1.1 100 Continue\r\nBad Name: x\r\n\r\n", END_EOF, CBK_HTTP1_ERR_BAD_RESPONSE, NULL, 0},
};

/* One framing case with the first read of the response cut at split bytes
   (0: whole) and the rest in pieces of chunk bytes (0: whole). */
static void check_framing(const framing *k, size_t first, size_t chunk, int idx) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], k->response);
    f.conn[0].end = k->end;
    f.first = first;
    f.chunk = chunk;
    engine_init(&h, &f, 256, 1);
    x = run_get(&h);
    if (x.rc != k->rc ||
        (k->rc == 0 && (got.len != strlen(k->body) || memcmp(got.data, k->body, got.len) != 0)) ||
        (k->kept >= 0 && h.internal.open != k->kept) ||
        (k->rc != 0 ? x.r != CBK_ERR_TRANSPORT : x.r != CBK_OK && x.status != 304) ||
        CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT)) {
        test_failed_checks++;
        fprintf(stderr,
                "  framing case %d first=%zu chunk=%zu: rc=%d (want %d) r=%s open=%d body=%.*s\n",
                idx, first, chunk, x.rc, k->rc, cbk_result_str(x.r), h.internal.open, (int)got.len,
                got.data);
    }
    CHECK(all_zero(h1buf, sizeof h1buf));
    cbk_http1_close(&h);
}

static void test_framing_every_split(void) {
    size_t i;
    for (i = 0; i < sizeof framings / sizeof framings[0]; i++) {
        const framing *k = &framings[i];
        size_t n = strlen(k->response), s;
        for (s = 0; s <= n; s++) check_framing(k, s, 0, (int)i);
        check_framing(k, 1, 1, (int)i);
        check_framing(k, 3, 7, (int)i);
    }
}

/* HEAD: no body whatever Content-Length says, and the connection is kept */
static void test_head_has_no_body(void) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    engine_init(&h, &f, 256, 1);
    x = run_kind(&h, REQ_HEAD);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(got.len, 0);
    CHECK(h.internal.open);
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK(got.len == 2 && memcmp(got.data, "hi", 2) == 0);
    CHECK_EQ(f.connects, 1);
    CHECK_EQ(count_of(f.sent, f.sent_len, "HEAD /api/v1/x HTTP/1.1\r\n"), 1);
    cbk_http1_close(&h);
}

/* ---- limits on the head ------------------------------------------------- */

static result run_one(const char *response, size_t buf_size, unsigned max_headers,
                      size_t max_head) {
    static fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], response);
    f.chunk = 5;
    engine_init(&h, &f, buf_size, 1);
    if (max_headers) h.max_headers = max_headers;
    if (max_head) h.max_head = max_head;
    x = run_get(&h);
    cbk_http1_close(&h);
    return x;
}

static void test_head_limits(void) {
    static char many[4096], interim[8192], longline[600];
    size_t i, n = 0;
    result x;
    n += (size_t)sprintf(many + n, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 6; i++) n += (size_t)sprintf(many + n, "X-%u: v\r\n", (unsigned)i);
    sprintf(many + n, "Content-Length: 0\r\n\r\n");
    x = run_one(many, 256, 7, 0);
    CHECK_EQ(x.rc, 0); /* 7 header lines allowed: 6 + Content-Length */
    x = run_one(many, 256, 6, 0);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_HEAD_TOO_LARGE);
    CHECK_EQ(x.r, CBK_ERR_TRANSPORT);
    x = run_one(many, 256, 0, 40);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_HEAD_TOO_LARGE);
    /* a server that never stops sending 1xx responses */
    for (n = 0; n + 30 < sizeof interim;)
        n += (size_t)sprintf(interim + n, "HTTP/1.1 100 Go\r\n\r\n");
    x = run_one(interim, 256, 0, 1000);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_HEAD_TOO_LARGE);
    x = run_one(interim, 256, 0, 0);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_CLOSED); /* within the default, then the close */
    /* a header line longer than the buffer */
    n = (size_t)sprintf(longline, "HTTP/1.1 200 OK\r\nX-Long: ");
    memset(longline + n, 'a', 300);
    sprintf(longline + n + 300, "\r\nContent-Length: 0\r\n\r\n");
    x = run_one(longline, 256, 0, 0);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_LINE_TOO_LONG);
    x = run_one(longline, 512, 0, 0);
    CHECK_EQ(x.rc, 0);
    /* trailers have the same limits */
    x = run_one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: "
                "3\r\n\r\n",
                256, 2, 0);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_HEAD_TOO_LARGE);
}

/* ---- what is sent ------------------------------------------------------- */

static void test_request_head(void) {
    fake f;
    cbk_http1 h;
    result x;
    const char *want_get = "GET /api/v1/x HTTP/1.1\r\nHost: api.example.test:8080\r\n";
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    engine_init(&h, &f, 256, 1);
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK(f.sent_len > strlen(want_get) && memcmp(f.sent, want_get, strlen(want_get)) == 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Authorization: Bearer " SECRET "\r\n"), 1);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Accept: */*\r\n"), 1);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Connection"), 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Content-Length"), 0);
    CHECK_STR(f.host, "api.example.test");
    CHECK_EQ(f.port, 8080);
    CHECK_EQ(f.tls, 0);
    f.sent_len = 0;
    x = run_kind(&h, REQ_POST_FETCH);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "POST /api/v1/x HTTP/1.1\r\n"), 1);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Content-Length: 7\r\n\r\n{\"a\":1}"), 1);
    /* keep_alive 0: "Connection: close", and the connection is not kept */
    f.sent_len = 0;
    h.keep_alive = 0;
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "\r\nConnection: close\r\n\r\n"), 1);
    CHECK(!h.internal.open);
    CHECK_EQ(f.connects, 1);
    CHECK_EQ(f.closes, 1);
    cbk_http1_close(&h);
}

/* a request of our own: Accept added when missing, framing headers dropped,
   a body larger than the buffer written from the request, partial writes */
static void test_request_own_headers(void) {
    static char body[3000];
    static cbk_client c;
    fake f;
    cbk_http1 h;
    cbk_request req;
    cbk_header hd[4];
    const cbk_request *unused = NULL;
    int rc;
    memset(body, 'b', sizeof body);
    hd[0].name = "X-One";
    hd[0].value = "1";
    hd[1].name = "content-length";
    hd[1].value = "5";
    hd[2].name = "Connection";
    hd[2].value = "upgrade";
    hd[3].name = "Host";
    hd[3].value = "evil";
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.url = "http://[fe80::1%25eth0]:80/p?q=1#frag";
    req.headers = hd;
    req.header_count = 4;
    req.body = body;
    req.body_len = sizeof body;
    fake_init(&f);
    f.nconn = 1;
    f.write_max = 7;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    engine_init(&h, &f, 256, 1);
    cbk_client_init(&c, SECRET, NULL, NULL, work, sizeof work, NULL);
    cbk_fetch_prepare(&c, "/x", NULL, NULL, NULL, &unused);
    rc = cbk_http1_send(&h, &req, cbk_client_response(&c));
    cbk_client_abort(&c, 1);
    CHECK_EQ(rc, 0);
    CHECK_STR(f.host, "fe80::1%eth0");
    CHECK_EQ(count_of(f.sent, f.sent_len,
                      "POST /p?q=1 HTTP/1.1\r\nHost: [fe80::1]\r\nX-One: 1\r\nAccept: */*\r\n"
                      "Content-Length: 3000\r\n\r\nbbb"),
             1);
    CHECK_EQ(count_of(f.sent, f.sent_len, "evil"), 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "upgrade"), 0);
    CHECK_EQ(count_of(f.sent, f.sent_len, "b"), sizeof body);
    /* a header value with a line break: refused before anything is sent */
    hd[0].value = "1\r\nX-Injected: 1";
    f.sent_len = 0;
    rc = cbk_http1_send(&h, &req, cbk_client_response(&c));
    CHECK_EQ(rc, CBK_HTTP1_ERR_ARGUMENT | CBK_SEND_NOT_SENT | CBK_SEND_FINAL);
    CHECK_EQ(f.sent_len, 0);
    cbk_http1_close(&h);
}

/* ---- URLs and connect failures ------------------------------------------ */

static void test_urls_and_connect(void) {
    static cbk_client c;
    fake f;
    cbk_http1 h;
    cbk_request req;
    const cbk_request *unused = NULL;
    const char *bad[] = {"ftp://h/x",       "http://",      "http://u@h/",  "http://h:0/",
                         "http://h:65536/", "http://h:x/",  "http://[::1/", "http://h/a b",
                         "http:/h/",        "https://:443/"};
    size_t i;
    int rc;
    fake_init(&f);
    engine_init(&h, &f, 256, 1);
    cbk_client_init(&c, SECRET, NULL, NULL, work, sizeof work, NULL);
    memset(&req, 0, sizeof req);
    req.method = "GET";
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cbk_fetch_prepare(&c, "/x", NULL, NULL, NULL, &unused);
        req.url = bad[i];
        rc = cbk_http1_send(&h, &req, cbk_client_response(&c));
        cbk_client_abort(&c, 1);
        if (rc != (CBK_HTTP1_ERR_URL | CBK_SEND_NOT_SENT | CBK_SEND_FINAL)) {
            test_failed_checks++;
            fprintf(stderr, "  url %s: rc=%d\n", bad[i], rc);
        }
    }
    CHECK_EQ(f.connects, 0);
    /* https: tls = 1, port 443 by default, not in Host */
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    req.url = "HTTPS://Example.test/x";
    cbk_fetch_prepare(&c, "/x", NULL, NULL, NULL, &unused);
    rc = cbk_http1_send(&h, &req, cbk_client_response(&c));
    cbk_client_abort(&c, 1);
    CHECK_EQ(rc, 0);
    CHECK_EQ(f.tls, 1);
    CHECK_EQ(f.port, 443);
    CHECK_EQ(count_of(f.sent, f.sent_len, "Host: Example.test\r\n"), 1);
    /* a connect failure is passed on as the io gave it; nothing was written */
    cbk_http1_close(&h);
    fake_init(&f);
    f.nconn = 1;
    f.conn[0].connect_rc = CBK_SEND_NOT_SENT | 77;
    h.requests = 0;
    CHECK_EQ(run_get(&h).rc, CBK_SEND_NOT_SENT | 77);
    CHECK_EQ(h.error, CBK_HTTP1_ERR_CONNECT);
    CHECK_EQ(h.io_code, CBK_SEND_NOT_SENT | 77);
    CHECK_EQ(f.closes, 1);
    CHECK_EQ(h.requests, 0);
    fake_init(&f);
    f.nconn = 1;
    f.conn[0].connect_rc = CBK_SEND_NOT_SENT | CBK_SEND_FINAL | 3;
    CHECK_EQ(run_get(&h).rc, CBK_SEND_NOT_SENT | CBK_SEND_FINAL | 3);
    /* a write failure on a fresh connection: may have left */
    fake_init(&f);
    f.nconn = 1;
    f.conn[0].write_fail = 1;
    CHECK_EQ(run_get(&h).rc, CBK_HTTP1_ERR_SEND);
    CHECK_EQ(f.connects, 1);
    /* no buffer, a small buffer, no callbacks */
    engine_init(&h, &f, CBK_HTTP1_BUF_MIN - 1, 1);
    CHECK_EQ(run_get(&h).rc, CBK_HTTP1_ERR_ARGUMENT | CBK_SEND_NOT_SENT | CBK_SEND_FINAL);
    cbk_http1_init(&h, NULL, h1buf, sizeof h1buf);
    CHECK_EQ(run_get(&h).rc, CBK_HTTP1_ERR_ARGUMENT | CBK_SEND_NOT_SENT | CBK_SEND_FINAL);
    CHECK_EQ(cbk_http1_send(NULL, NULL, NULL),
             CBK_HTTP1_ERR_ARGUMENT | CBK_SEND_NOT_SENT | CBK_SEND_FINAL);
    CHECK(strcmp(cbk_http1_strerror(CBK_HTTP1_ERR_TRUNCATED), "unknown error") != 0);
    CHECK(strcmp(cbk_http1_strerror(999), "unknown error") == 0);
}

/* ---- keep-alive --------------------------------------------------------- */

static const char ok_hi[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
static const char ok_chunked[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nho\r\n0\r\n\r\n";

static void test_keep_alive_reuse(void) {
    fake f;
    cbk_http1 h;
    int i;
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], ok_hi);
    add_turn(&f.conn[0], ok_chunked);
    add_turn(&f.conn[0], ok_hi);
    add_turn(&f.conn[0], ok_chunked);
    f.chunk = 3;
    engine_init(&h, &f, 256, 1);
    for (i = 0; i < 4; i++) {
        result x = run_kind(&h, i == 2 ? REQ_POST_FETCH : REQ_GET);
        CHECK_EQ(x.rc, 0);
        CHECK(got.len == 2 && memcmp(got.data, i % 2 ? "ho" : "hi", 2) == 0);
        CHECK(all_zero(h1buf, sizeof h1buf));
    }
    CHECK_EQ(f.connects, 1);
    CHECK_EQ(h.connects, 1);
    CHECK_EQ(h.requests, 4);
    CHECK_EQ(f.closes, 0);
    /* another origin: the old connection is closed first */
    cbk_http1_close(&h);
    CHECK_EQ(f.closes, 1);
    CHECK(all_zero(h1buf, sizeof h1buf));
}

/* the server closed the idle connection: a GET is re-sent once on a new one */
static void test_reconnect_after_idle_close(void) {
    int variant;
    for (variant = 0; variant < 3; variant++) {
        fake f;
        cbk_http1 h;
        result x;
        fake_init(&f);
        f.nconn = 2;
        add_turn(&f.conn[0], ok_hi);
        f.conn[0].end = variant == 1 ? END_RESET : END_EOF;
        f.conn[0].write_fail = 0;
        add_turn(&f.conn[1], ok_chunked);
        engine_init(&h, &f, 256, 0);
        CHECK_EQ(run_get(&h).rc, 0);
        if (variant == 2) f.conn[0].write_fail = 1; /* the dead connection refuses the write */
        x = run_get(&h);
        CHECK_EQ(x.rc, 0);
        CHECK_EQ(x.r, CBK_OK);
        CHECK(got.len == 2 && memcmp(got.data, "ho", 2) == 0);
        CHECK_EQ(f.connects, 2);
        CHECK_EQ(h.requests, variant == 2 ? 3 : 3);
        CHECK_EQ(count_of(f.sent, f.sent_len, "GET /api/v1/x"), variant == 2 ? 2 : 3);
        CHECK_EQ(h.error, 0);
        cbk_http1_close(&h);
    }
}

/* with usable(): the closed connection is noticed before anything is written,
   so even a create goes out once, on a new connection, and succeeds */
static void test_usable_avoids_stale(void) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    f.conn[0].idle_closed = 1;
    add_turn(&f.conn[1], ok_hi);
    engine_init(&h, &f, 256, 1);
    CHECK_EQ(run_get(&h).rc, 0);
    x = run_kind(&h, REQ_POST_FETCH);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(f.connects, 2);
    CHECK_EQ(h.requests, 2);
    CHECK(f.usable_calls >= 1);
    cbk_http1_close(&h);
}

/* bytes after a response's end, arriving late: usable() sees them before
   the next request, which goes out once on a new connection */
static void test_usable_stray_bytes(void) {
    fake f;
    cbk_http1 h;
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiJUNK");
    f.first = 40;
    add_turn(&f.conn[1], ok_hi);
    engine_init(&h, &f, 256, 1);
    CHECK_EQ(run_get(&h).rc, 0);
    CHECK_EQ(run_kind(&h, REQ_POST_FETCH).rc, 0);
    CHECK(got.len == 2 && memcmp(got.data, "hi", 2) == 0);
    CHECK_EQ(f.connects, 2);
    CHECK_EQ(count_of(f.sent, f.sent_len, "POST "), 1);
    cbk_http1_close(&h);
}

/* a create / fetch POST on a reused connection that the server reads and
   closes: written exactly once, a failure without CBK_SEND_NOT_SENT, and the
   library does not re-send it */
static void test_unsafe_post_never_resent(void) {
    int kind, end;
    for (kind = REQ_POST_FETCH; kind <= REQ_CREATE; kind++) {
        for (end = END_EOF; end <= END_RESET; end++) {
            fake f;
            cbk_http1 h;
            result x;
            fake_init(&f);
            f.nconn = 2;
            add_turn(&f.conn[0], ok_hi);
            f.conn[0].end = end;
            add_turn(&f.conn[1], ok_hi);
            engine_init(&h, &f, 256, 0);
            CHECK_EQ(run_get(&h).rc, 0);
            x = run_kind(&h, kind);
            CHECK_EQ(x.rc, end == END_EOF ? CBK_HTTP1_ERR_CLOSED : CBK_HTTP1_ERR_RECV);
            CHECK(!CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT));
            CHECK_EQ(x.r, CBK_ERR_TRANSPORT);
            CHECK_EQ(count_of(f.sent, f.sent_len, "POST "), 1);
            CHECK_EQ(h.requests, 2);
            CHECK_EQ(f.connects, 1);
            CHECK(!h.internal.open);
            cbk_http1_close(&h);
        }
    }
}

/* a delete is idempotent (the library says so): re-sent like a GET */
static void test_idempotent_post_resent(void) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    add_turn(&f.conn[1], "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"id\":\"t1\"}");
    engine_init(&h, &f, 256, 0);
    CHECK_EQ(run_get(&h).rc, 0);
    x = run_kind(&h, REQ_DELETE);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(x.r, CBK_OK);
    CHECK_EQ(count_of(f.sent, f.sent_len, "POST "), 2);
    CHECK_EQ(f.connects, 2);
    cbk_http1_close(&h);
}

/* the reconnect after a stale GET fails: the GET had been written once, so
   the failure must not promise CBK_SEND_NOT_SENT */
static void test_failed_reconnect_not_not_sent(void) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    f.conn[1].connect_rc = CBK_SEND_NOT_SENT | 77;
    engine_init(&h, &f, 256, 0);
    CHECK_EQ(run_get(&h).rc, 0);
    x = run_get(&h);
    CHECK_EQ(x.rc, 77);
    CHECK(!CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT));
    CHECK_EQ(h.error, CBK_HTTP1_ERR_CONNECT);
    CHECK_EQ(f.connects, 2);
    /* an io that returns a bare CBK_SEND_NOT_SENT: still a failure */
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    f.conn[1].connect_rc = CBK_SEND_NOT_SENT;
    CHECK_EQ(run_get(&h).rc, 0);
    x = run_get(&h);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_CONNECT);
    cbk_http1_close(&h);
}

/* a timeout on a reused connection is not a stale connection: no re-send;
   nor is a response that started and was then cut */
static void test_no_resend_after_timeout_or_bytes(void) {
    fake f;
    cbk_http1 h;
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    f.conn[0].end = END_TIMEOUT;
    engine_init(&h, &f, 256, 0);
    CHECK_EQ(run_get(&h).rc, 0);
    CHECK_EQ(run_get(&h).rc, CBK_HTTP1_ERR_TIMEOUT);
    CHECK_EQ(f.connects, 1);
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-");
    CHECK_EQ(run_get(&h).rc, 0);
    CHECK_EQ(run_get(&h).rc, CBK_HTTP1_ERR_CLOSED);
    CHECK_EQ(f.connects, 1);
    cbk_http1_close(&h);
}

/* the receiver stops: the body is not read to its end, the connection closes */
static void test_receiver_stop(void) {
    fake f;
    cbk_http1 h;
    result x;
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    f.chunk = 4;
    engine_init(&h, &f, 256, 1);
    got.stop = 1;
    x = run_get(&h);
    got.stop = 0;
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_STOPPED);
    CHECK_EQ(x.r, CBK_ERR_CANCELLED);
    CHECK(!h.internal.open);
    cbk_http1_close(&h);
}

/* ---- the deadline ------------------------------------------------------- */

static void test_deadline_dripping_server(void) {
    static char drip[20000];
    fake f;
    cbk_http1 h;
    result x;
    size_t n = 0;
    while (n + 30 < sizeof drip) n += (size_t)sprintf(drip + n, "HTTP/1.1 100 Continue\r\n\r\n");
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], drip);
    f.chunk = 1;
    f.first = 1;
    f.tick = 500;          /* each byte takes 0.5 s: well inside any read timeout */
    f.clock = 0xFFFFF000u; /* the clock wraps during the call */
    engine_init(&h, &f, 256, 1);
    h.deadline_ms = 10000;
    x = run_get(&h);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_DEADLINE);
    CHECK(f.reads >= 19 && f.reads <= 21);
    CHECK(!h.internal.open);
    /* a body that drips: the same */
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    f.conn[0].end = END_TIMEOUT;
    f.tick = 3000;
    x = run_get(&h);
    CHECK(x.rc == CBK_HTTP1_ERR_DEADLINE || x.rc == CBK_HTTP1_ERR_TIMEOUT);
    /* in time: fine; remaining_ms counts down */
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], ok_hi);
    f.tick = 10;
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK(cbk_http1_remaining_ms(&h) > 0 && cbk_http1_remaining_ms(&h) <= 10000);
    h.deadline_ms = 0;
    CHECK_EQ(cbk_http1_remaining_ms(&h), -1);
    /* passed before the first write (a slow connect): nothing left */
    cbk_http1_close(&h);
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], ok_hi);
    f.connect_tick = 200;
    h.deadline_ms = 100;
    h.requests = 0;
    x = run_get(&h);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_DEADLINE | CBK_SEND_NOT_SENT);
    CHECK_EQ(h.requests, 0);
    cbk_http1_close(&h);
}

/* The library's time left (cbk_request.timeout_ms) is the call's deadline
   when deadline_ms is 0 or longer; the shorter of the two wins. */
static void test_request_timeout_cuts_deadline(void) {
    static char drip[20000];
    static const struct {
        uint32_t deadline_ms;
        unsigned timeout_ms;
        int reads_min, reads_max; /* 500 ms a read */
    } cases[] = {{0, 3000, 5, 7}, {10000, 3000, 5, 7}, {2000, 5000, 3, 5}, {0, 1, 0, 1}};
    fake f;
    cbk_http1 h;
    result x;
    size_t n = 0, i;
    while (n + 30 < sizeof drip) n += (size_t)sprintf(drip + n, "HTTP/1.1 100 Continue\r\n\r\n");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_init(&f);
        f.nconn = 1;
        add_turn(&f.conn[0], drip);
        f.chunk = 1;
        f.first = 1;
        f.tick = 500;
        engine_init(&h, &f, 256, 1);
        h.deadline_ms = cases[i].deadline_ms;
        req_timeout_ms = cases[i].timeout_ms;
        x = run_get(&h);
        CHECK_EQ(x.rc, CBK_HTTP1_ERR_DEADLINE);
        CHECK_EQ(x.r, CBK_ERR_TRANSPORT);
        CHECK(f.reads >= cases[i].reads_min && f.reads <= cases[i].reads_max);
        CHECK(!h.internal.open);
    }
    /* a silent server: the io cut its wait short (a timeout) after the
       time left passed: the deadline's failure, not the read timeout's */
    fake_init(&f);
    f.nconn = 2;
    f.conn[0].end = f.conn[1].end = END_TIMEOUT;
    f.tick = 1000;
    engine_init(&h, &f, 256, 1);
    req_timeout_ms = 700;
    x = run_get(&h);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_DEADLINE);
    req_timeout_ms = 0; /* without it the same read is the read timeout */
    x = run_get(&h);
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_TIMEOUT);
    /* remaining_ms follows the request's time left, and a later call
       without one has no deadline again */
    fake_init(&f);
    f.nconn = 2;
    add_turn(&f.conn[0], ok_hi);
    add_turn(&f.conn[1], ok_hi);
    f.tick = 10;
    req_timeout_ms = 3000;
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK(cbk_http1_remaining_ms(&h) > 0 && cbk_http1_remaining_ms(&h) <= 3000);
    req_timeout_ms = 0;
    x = run_get(&h);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(cbk_http1_remaining_ms(&h), -1);
    cbk_http1_close(&h);
}

/* ---- secrets ------------------------------------------------------------ */

static void test_buffer_wiped(void) {
    fake f;
    cbk_http1 h;
    result x;
    static char created[256];
    static const char json[] =
        "{\"id\":\"t9\",\"token\":\"sk-new-secret-987654\",\"createdAt\":1700000000000}";
    snprintf(created, sizeof created, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(json), json);
    fake_init(&f);
    f.nconn = 1;
    add_turn(&f.conn[0], created);
    add_turn(&f.conn[0], "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n{}");
    add_turn(&f.conn[0], "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    engine_init(&h, &f, sizeof h1buf, 1);
    x = run_kind(&h, REQ_CREATE);
    CHECK_EQ(x.rc, 0);
    CHECK_EQ(x.r, CBK_OK);
    CHECK(all_zero(h1buf, sizeof h1buf));
    CHECK(h.internal.open);
    x = run_get(&h);
    CHECK_EQ(x.r, CBK_ERR_HTTP);
    CHECK(all_zero(h1buf, sizeof h1buf));
    x = run_get(&h); /* cut */
    CHECK_EQ(x.rc, CBK_HTTP1_ERR_TRUNCATED);
    CHECK(all_zero(h1buf, sizeof h1buf));
    CHECK_EQ(count_of(f.sent, f.sent_len, SECRET), 3);
    cbk_http1_close(&h);
}

/* ---- the POSIX adapter on loopback --------------------------------------- */

static char base[64];

/* Starts a Python server script (tests/loopback.h) on 127.0.0.1; its URL
   in base. 0, or -1 when it did not come up. */
static int start_server(const char *script) {
    char *argv[] = {(char *)loopback_python(),
                    (char *)script,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--secret",
                    SECRET,
                    "--max-seconds",
                    "120",
                    NULL};
    unsigned port;
    if (loopback_spawn(argv, &port, NULL) == 0) return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    return 0;
}

/* A control request to the mock (its own POSIX context, no keep-alive). */
static int mock_get(const char *method, const char *path, const char *json, char *out,
                    size_t out_size) {
    static cbk_posix ctl;
    static cbk_client c;
    cbk_client_options o;
    cbk_fetch_options fo;
    cbk_result r;
    cbk_posix_init(&ctl);
    ctl.keep_alive = 0;
    cbk_client_options_init(&o);
    o.base_url = base;
    o.retries = 0;
    cbk_client_init(&c, "", cbk_posix_send, &ctl, work, sizeof work, &o);
    memset(&fo, 0, sizeof fo);
    fo.method = method;
    fo.json = json;
    fo.json_len = json ? strlen(json) : 0;
    got.len = 0;
    r = cbk_fetch(&c, path, &fo, on_body, &got);
    cbk_posix_cleanup(&ctl);
    if (out != NULL) {
        size_t n = got.len < out_size - 1 ? got.len : out_size - 1;
        memcpy(out, got.data, n);
        out[n] = '\0';
    }
    return r == CBK_OK ? 0 : -1;
}

/* the number after "key": in a JSON text, -1 when absent */
static long json_number(const char *json, const char *key) {
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(json, pat);
    if (p == NULL) return -1;
    p += strlen(pat);
    while (*p == ' ') p++;
    return strtol(p, NULL, 10);
}

static int count_tokens(void *user, const cbk_token *t) {
    (void)t;
    ++*(int *)user;
    return 0;
}

static void test_posix_list_one_connection(void) {
    static cbk_posix px;
    static cbk_client c;
    char stats[4096];
    cbk_client_options o;
    cbk_token_list_options lo;
    int n = 0;
    cbk_result r;
    REQUIRE(start_server("tests/mock_api.py") == 0);
    CHECK_EQ(mock_get("POST", "/__mock/seed", "{\"user\":\"u1\",\"count\":250}", NULL, 0), 0);
    cbk_posix_init(&px);
    cbk_client_options_init(&o);
    o.base_url = base;
    cbk_client_init(&c, SECRET, cbk_posix_send, &px, work, sizeof work, &o);
    memset(&lo, 0, sizeof lo);
    lo.take = 10;
    r = cbk_token_list_all(&c, "u1", &lo, count_tokens, &n);
    CHECK_EQ(r, CBK_OK);
    CHECK_EQ(n, 250);
    CHECK_EQ(px.http.connects, 1);
    CHECK_EQ(px.http.requests, 26); /* 25 full pages and the empty one */
    CHECK(px.fd >= 0);
    CHECK(all_zero(px.buf, sizeof px.buf));
    cbk_posix_cleanup(&px);
    CHECK(px.fd < 0);
    CHECK(all_zero(px.buf, sizeof px.buf));
    /* the server's own count, where the mock keeps one (GET /__mock/stats) */
    if (mock_get("GET", "/__mock/stats", NULL, stats, sizeof stats) == 0) {
        CHECK_EQ(json_number(stats, "api_connections"), 1);
        CHECK_EQ(json_number(stats, "max_requests_per_connection"), px.http.requests);
    } else {
        printf("note: this tests/mock_api.py has no /__mock/stats; only the client's own "
               "connection count was checked\n");
    }
    loopback_stop_all();
}

/* A server that answers one request on a kept-alive connection, then reads
   the next one (a create) and closes without answering: the create reaches
   it exactly once; the CLI's library does not re-send it. */
static void test_posix_hostile_close_after_create(void) {
    static cbk_posix px;
    static cbk_client c;
    static cbk_token_created out;
    char stats[256];
    cbk_client_options o;
    cbk_result r;
    REQUIRE(start_server("tests/hostile_http.py") == 0);
    cbk_posix_init(&px);
    cbk_client_options_init(&o);
    o.base_url = base;
    o.retries = 3;
    o.retry_delay_ms = 1;
    cbk_client_init(&c, SECRET, cbk_posix_send, &px, work, sizeof work, &o);
    got.len = 0;
    r = cbk_fetch(&c, "/api/v1/warm", NULL, on_body, &got);
    CHECK_EQ(r, CBK_OK);
    r = cbk_token_create(&c, "u1", NULL, &out);
    CHECK_EQ(r, CBK_ERR_TRANSPORT);
    CHECK(!CBK_SEND_HAS(cbk_client_error(&c)->transport_code, CBK_SEND_NOT_SENT));
    CHECK_EQ(px.http.connects, 1);
    cbk_posix_cleanup(&px);
    CHECK_EQ(mock_get("GET", "/__stats", NULL, stats, sizeof stats), 0);
    CHECK_EQ(json_number(stats, "creates"), 1);
    CHECK_EQ(json_number(stats, "requests"), 2);
    loopback_stop_all();
}

/* The server closed the kept connection after answering (no "Connection:
   close"); a moment later a create is due: the adapter notices the close
   before it writes (usable()), so the create goes out once, on a new
   connection, and succeeds. The create waits until the close reached the
   client (its socket reads EOF): the server closes some time after its
   answer (hundreds of ms under load), and a create written before that is
   lost with the connection (there was nothing to notice yet). */
static void test_posix_idle_close_noticed(void) {
    static cbk_posix px;
    static cbk_client c;
    static cbk_token_created out;
    char stats[256];
    cbk_client_options o;
    REQUIRE(start_server("tests/hostile_http.py") == 0);
    cbk_posix_init(&px);
    cbk_client_options_init(&o);
    o.base_url = base;
    o.retries = 0;
    cbk_client_init(&c, SECRET, cbk_posix_send, &px, work, sizeof work, &o);
    CHECK_EQ(cbk_fetch(&c, "/api/v1/warm", NULL, NULL, NULL), CBK_OK);
    CHECK_EQ(cbk_fetch(&c, "/bye", NULL, NULL, NULL), CBK_OK);
    CHECK_EQ(px.http.connects, 1);
    CHECK(px.fd >= 0 && loopback_wait_closed(px.fd, LOOPBACK_UP_MS)); /* kept, then closed */
    CHECK_EQ(cbk_token_create(&c, "u1", NULL, &out), CBK_OK);
    CHECK_STR(out.token, "sk-created-1");
    CHECK_EQ(px.http.connects, 2);
    CHECK_EQ(px.http.requests, 3);
    cbk_posix_cleanup(&px);
    CHECK_EQ(mock_get("GET", "/__stats", NULL, stats, sizeof stats), 0);
    CHECK_EQ(json_number(stats, "creates"), 1);
    CHECK_EQ(json_number(stats, "requests"), 3);
    loopback_stop_all();
}

/* A server that sends a byte of a 1xx line every 50 ms: never silent for
   read_timeout_ms, so only deadline_ms ends the call, on time. */
static void test_posix_deadline_drip(void) {
    static cbk_posix px;
    static cbk_client c;
    cbk_client_options o;
    struct timespec t0, t1;
    long ms;
    REQUIRE(start_server("tests/hostile_http.py") == 0);
    cbk_posix_init(&px);
    px.read_timeout_ms = 2000;
    px.deadline_ms = 600;
    cbk_client_options_init(&o);
    o.base_url = base;
    o.retries = 0;
    cbk_client_init(&c, SECRET, cbk_posix_send, &px, work, sizeof work, &o);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(cbk_fetch(&c, "/drip", NULL, NULL, NULL), CBK_ERR_TRANSPORT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
    CHECK_EQ(cbk_client_error(&c)->transport_code, CBK_POSIX_ERR_DEADLINE);
    CHECK_EQ(px.error, CBK_POSIX_ERR_DEADLINE);
    /* no earlier than the deadline (10 ms for the clocks' rounding); DEADLINE
       (not TIMEOUT) says the deadline ended it, not the read timeout */
    CHECK(ms >= 600 - 10);
    CHECK(px.fd < 0);
    cbk_posix_cleanup(&px);
    loopback_stop_all();
}

int main(void) {
    atexit(loopback_stop_all);
    RUN(test_framing_every_split);
    RUN(test_head_has_no_body);
    RUN(test_head_limits);
    RUN(test_request_head);
    RUN(test_request_own_headers);
    RUN(test_urls_and_connect);
    RUN(test_keep_alive_reuse);
    RUN(test_reconnect_after_idle_close);
    RUN(test_usable_avoids_stale);
    RUN(test_usable_stray_bytes);
    RUN(test_unsafe_post_never_resent);
    RUN(test_idempotent_post_resent);
    RUN(test_failed_reconnect_not_not_sent);
    RUN(test_no_resend_after_timeout_or_bytes);
    RUN(test_receiver_stop);
    RUN(test_deadline_dripping_server);
    RUN(test_request_timeout_cuts_deadline);
    RUN(test_buffer_wiped);
    RUN(test_posix_list_one_connection);
    RUN(test_posix_hostile_close_after_create);
    RUN(test_posix_idle_close_noticed);
    RUN(test_posix_deadline_drip);
    return test_summary();
}
