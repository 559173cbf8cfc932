/* fuzz_http1.c - the HTTP/1.1 engine (adapters/cbk_token_http1.h) against
 * arbitrary server bytes, in every chunking.
 *
 * Input: one option byte, one byte k (k % 16 chunk sizes follow), k % 16
 * bytes of read sizes (cycled; 0 counts as 1), then the bytes the server
 * sends; after them the connection ends with EOF, or a reset (option bit).
 * Options: bit 0 a HEAD request, bit 1 reset at the end, bit 2 keep_alive
 * 0, bits 3-4 the buffer (128, 200, 512, 4096 bytes), bit 5 small head
 * limits (8 headers, 512 bytes), bit 6 one byte per write.
 *
 * The library's receiver is replaced by a recorder (cbk_response_status,
 * _header, _body are defined here), so what the engine delivers is seen
 * exactly; a header named X-Stop makes it ask for no more bytes.
 * Checks:
 *   - no crash, no sanitizer report, every read and write within bounds;
 *   - the same return value and the same transcript (status, headers,
 *     body) whether the bytes come whole, in the input's read sizes, or one
 *     byte per read;
 *   - a connection is kept only after a complete response;
 *   - never complete for a cut: the bytes the response took (the
 *     byte-by-byte run reads no further than its end), cut at a point the
 *     input's hash picks and ended there, fail unless the body was
 *     delimited by the close (no Content-Length, not chunked), and then
 *     only with a prefix of the body; a close-delimited body ended by a
 *     reset fails;
 *   - status once, before headers and body; headers before the body; 1xx
 *     never delivered, 101 never accepted; no body for HEAD, 204, 304;
 *   - the buffer is all zero after every exchange (the request head held
 *     the Authorization line), and the request was written exactly once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cbk_token.h"
#define CBK_TOKEN_HTTP1_IMPLEMENTATION
#include "../adapters/cbk_token_http1.h"

#define FH_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FH_SECRET "sk-fuzz-SECRET-1234"
#define FH_MAX    (1 << 15)

/* ---- the recorder (the library's receiver, replaced) -------------------- */

typedef struct rec {
    unsigned char t[FH_MAX * 2 + 4096]; /* the transcript */
    size_t n;
    int status; /* 0: none yet */
    size_t body;
    int framed; /* a Content-Length or chunked header came */
    int bad;    /* an ordering rule was broken */
} rec;

static rec *cur;

static void rec_put(rec *r, const void *p, size_t n) {
    if (r->n + n > sizeof r->t) n = sizeof r->t - r->n;
    memcpy(r->t + r->n, p, n);
    r->n += n;
}

static int ieq(const char *s, size_t n, const char *lower) {
    size_t i;
    for (i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (lower[i] == '\0' || c != lower[i]) return 0;
    }
    return lower[n] == '\0';
}

int cbk_response_status(cbk_response *res, int status) {
    (void)res;
    if (cur->status != 0 || status < 200 || status > 999) cur->bad = 1;
    cur->status = status;
    rec_put(cur, "S", 1);
    rec_put(cur, &status, sizeof status);
    return 0;
}

int cbk_response_header(cbk_response *res, const char *name, size_t nl, const char *value,
                        size_t vl) {
    (void)res;
    if (cur->status == 0 || cur->body > 0) cur->bad = 1;
    if (ieq(name, nl, "content-length") || ieq(name, nl, "transfer-encoding")) cur->framed = 1;
    rec_put(cur, "H", 1);
    rec_put(cur, &nl, sizeof nl);
    rec_put(cur, name, nl);
    rec_put(cur, &vl, sizeof vl);
    rec_put(cur, value, vl);
    return ieq(name, nl, "x-stop");
}

int cbk_response_body(cbk_response *res, const char *data, size_t len) {
    (void)res;
    if (cur->status == 0 || data == NULL) cur->bad = 1;
    cur->body += len;
    rec_put(cur, data, len); /* joined: the chunking must not show */
    return 0;
}

/* ---- the scripted io ---------------------------------------------------- */

typedef struct io {
    const unsigned char *data;
    size_t len, pos;
    const unsigned char *sizes; /* read sizes, cycled; NULL: whole */
    size_t nsizes, next;
    int reset;
    int one_byte_writes;
    int open, connects, writes_started;
    size_t written;
} io;

static int io_connect(void *ctx, const char *host, unsigned port, int tls) {
    io *s = (io *)ctx;
    FH_ASSERT(strcmp(host, "fuzz.test") == 0 && port == 80 && tls == 0);
    s->connects++;
    if (s->connects > 1) return CBK_SEND_NOT_SENT | 99; /* one server connection only */
    s->open = 1;
    return 0;
}

static long io_write(void *ctx, const char *data, size_t len) {
    io *s = (io *)ctx;
    FH_ASSERT(s->open && len > 0 && data != NULL);
    if (s->one_byte_writes) len = 1;
    s->written += len;
    return (long)len;
}

static long io_read(void *ctx, char *buf, size_t len) {
    io *s = (io *)ctx;
    size_t n;
    FH_ASSERT(s->open && len > 0 && buf != NULL);
    if (s->pos == s->len) return s->reset ? -1 : 0;
    n = s->len - s->pos;
    if (s->sizes != NULL) {
        size_t want = s->sizes[s->next++ % s->nsizes];
        if (want == 0) want = 1;
        if (want < n) n = want;
    }
    if (n > len) n = len;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (long)n;
}

static void io_close(void *ctx) {
    ((io *)ctx)->open = 0;
}

/* ---- one run ------------------------------------------------------------ */

typedef struct run {
    int rc;
    int kept;
    size_t consumed; /* server bytes read */
} run;

static char hbuf[4096 + 64];
static const size_t buf_sizes[4] = {128, 200, 512, 4096};

static run run_once(unsigned opt, const unsigned char *data, size_t len, const unsigned char *sizes,
                    size_t nsizes, int reset, rec *r) {
    static const cbk_header auth = {"Authorization", "Bearer " FH_SECRET};
    cbk_http1_io cb;
    cbk_http1 h;
    cbk_request req;
    cbk_response res;
    io s;
    run out;
    size_t bs = buf_sizes[(opt >> 3) & 3], i;
    memset(&s, 0, sizeof s);
    s.data = data;
    s.len = len;
    s.sizes = sizes;
    s.nsizes = nsizes;
    s.reset = reset;
    s.one_byte_writes = (opt & 64) != 0;
    memset(&cb, 0, sizeof cb);
    cb.ctx = &s;
    cb.connect = io_connect;
    cb.write = io_write;
    cb.read = io_read;
    cb.close = io_close;
    memset(hbuf, 0, bs);
    memset(hbuf + bs, 0x5A, sizeof hbuf - bs); /* guard bytes after the buffer */
    cbk_http1_init(&h, &cb, hbuf, bs);
    h.keep_alive = (opt & 4) == 0;
    if (opt & 32) {
        h.max_headers = 8;
        h.max_head = 512;
    }
    memset(&req, 0, sizeof req);
    req.method = (opt & 1) ? "HEAD" : "GET";
    req.url = "http://fuzz.test/x?y=1";
    req.headers = &auth;
    req.header_count = 1;
    req.idempotent = 1;
    memset(r, 0, sizeof *r);
    cur = r;
    res.client = NULL;
    out.rc = cbk_http1_send(&h, &req, &res);
    out.kept = h.internal.open;
    out.consumed = s.pos;
    FH_ASSERT(s.connects == 1);
    FH_ASSERT(h.requests == 1);
    FH_ASSERT(s.open == out.kept);
    for (i = 0; i < bs; i++) FH_ASSERT(hbuf[i] == 0);
    for (; i < sizeof hbuf; i++) FH_ASSERT(hbuf[i] == 0x5A);
    FH_ASSERT(!r->bad);
    FH_ASSERT(out.rc >= 0 && out.rc <= 0x7FFF);
    FH_ASSERT(!CBK_SEND_HAS(out.rc, CBK_SEND_NOT_SENT)); /* it was written */
    if (out.rc == 0) {
        FH_ASSERT(r->status >= 200);
        if ((opt & 1) || r->status == 204 || r->status == 304) FH_ASSERT(r->body == 0);
    } else {
        FH_ASSERT(!out.kept);
    }
    cbk_http1_close(&h);
    FH_ASSERT(!s.open);
    return out;
}

static uint64_t hash(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    while (n--) h = (h ^ *p++) * 0x100000001b3ull;
    return h;
}

static rec r_whole, r_split, r_bytes, r_cut;

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    unsigned opt;
    size_t k, len, cut;
    const unsigned char *sizes, *data;
    run whole, split, bytes, c;
    int reset;
    static const unsigned char one = 1;
    if (n < 2 || n > FH_MAX) return 0;
    opt = d[0];
    k = d[1] % 16;
    if (n < 2 + k) return 0;
    sizes = d + 2;
    data = d + 2 + k;
    len = n - 2 - k;
    reset = (opt & 2) != 0;

    whole = run_once(opt, data, len, NULL, 0, reset, &r_whole);
    split = run_once(opt, data, len, k ? sizes : &one, k ? k : 1, reset, &r_split);
    bytes = run_once(opt, data, len, &one, 1, reset, &r_bytes);
    FH_ASSERT(whole.rc == split.rc && whole.rc == bytes.rc);
    FH_ASSERT(r_whole.n == r_split.n && memcmp(r_whole.t, r_split.t, r_whole.n) == 0);
    FH_ASSERT(r_whole.n == r_bytes.n && memcmp(r_whole.t, r_bytes.t, r_whole.n) == 0);

    /* a close-delimited body ended by a reset is not complete */
    if (whole.rc == 0 && reset && !r_whole.framed && !(opt & 1) && r_whole.status != 204 &&
        r_whole.status != 304)
        FH_ASSERT(bytes.consumed < len); /* ...so it must have ended before the reset */

    /* the response cut where the hash says, then EOF: never complete,
       except a close-delimited body, and then with a prefix of it */
    if (whole.rc == 0 && bytes.consumed > 0) {
        int close_delimited = !r_whole.framed && !(opt & 1) && r_whole.status != 204 &&
                              r_whole.status != 304 && bytes.consumed == len;
        cut = (size_t)(hash(d, n) % bytes.consumed);
        c = run_once(opt, data, cut, &one, 1, 0, &r_cut);
        if (!close_delimited) {
            FH_ASSERT(c.rc != 0);
        } else if (c.rc == 0) {
            FH_ASSERT(r_cut.n <= r_whole.n && memcmp(r_cut.t, r_whole.t, r_cut.n) == 0);
        }
    }
    return 0;
}
