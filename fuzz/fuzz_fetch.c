/* fuzz_fetch.c - cbk_fetch: the request from path/query/method/json/file, and
 * the 2xx body (raw chunks, or one JSON line per callback when streaming).
 *
 * Input: two option bytes; NUL-separated strings: path, two query
 * key/value pairs, json, file name, file type, method; then one length byte
 * L and L bytes of file data; the rest is the 2xx response body.
 * Checks on the request:
 *   - cbk_fetch_prepare accepts exactly what the header documents (a path
 *     starting with '/', printable ASCII without '#'; method NULL, GET or
 *     POST and no GET with a body; json a JSON text; not json and file at
 *     once; a file name in UTF-8; no CR/LF in the file type; query text in
 *     UTF-8);
 *   - the URL is the base, the path (without "/api" for api.chatbotkit.com),
 *     the query form-encoded after '?' (or '&' when the path has a query);
 *     printable ASCII only;
 *   - method, headers (no CR/LF), the JSON body byte for byte (valid JSON),
 *     or a multipart body whose boundary (from Content-Type) is not in the
 *     data, with exactly two part headers (the filename cannot break out of
 *     its quotes) and the data intact;
 *   - a small work buffer: the same request or BUFFER_TOO_SMALL.
 * Checks on the response (status 2xx):
 *   - raw: the chunks given to on_body join to exactly the body;
 *   - streaming: exactly the non-blank lines, without their line ends (a
 *     byte order mark may open the body), until one that is not one JSON
 *     value (then CBK_ERR_PARSE), in
 *     every chunking; with a small work buffer the same or
 *     BUFFER_TOO_SMALL after a prefix; cancelling works. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_client.h"

enum { S_PATH, S_QK1, S_QV1, S_QK2, S_QV2, S_JSON, S_FNAME, S_FTYPE, S_METHOD, NSTR };

typedef struct in {
    unsigned a, b;
    const char *s[NSTR];
    const uint8_t *fdata;
    size_t flen;
    const uint8_t *body;
    size_t blen;
} in;

typedef struct fctx {
    const in *x;
    cbk_fetch_options o;
    cbk_kv q[2];
    cbk_file f;
    int args_ok;
    int post;
    /* the response side */
    fz_buf got;
    size_t calls, cancel_at;
} fctx;

static int alnum(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static void enc_form(fz_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char t[4];
        if (alnum(ch) || ch == '*' || ch == '-' || ch == '.' || ch == '_')
            fz_put(b, &ch, 1);
        else if (ch == ' ')
            fz_put(b, "+", 1);
        else {
            snprintf(t, sizeof t, "%%%02X", ch);
            fz_put(b, t, 3);
        }
    }
}

static int utf8_ok(const char *s) {
    return fz_utf8_valid((const unsigned char *)s, strlen(s));
}

static void make(const in *x, fctx *u) {
    size_t nq = (x->a >> 0) & 3, i;
    const char *p;
    memset(u, 0, sizeof *u);
    u->x = x;
    if (nq > 2) nq = 2;
    for (i = 0; i < nq; i++) {
        u->q[i].key = x->s[S_QK1 + 2 * i];
        u->q[i].value = x->s[S_QV1 + 2 * i];
    }
    u->o.query = nq ? u->q : NULL;
    u->o.query_count = nq;
    if ((x->a & 4) && x->s[S_JSON]) {
        u->o.json = x->s[S_JSON];
        u->o.json_len = strlen(x->s[S_JSON]);
    }
    if (x->a & 8) {
        u->f.name = x->s[S_FNAME];
        u->f.type = (x->a & 16) ? x->s[S_FTYPE] : NULL;
        u->f.data = x->flen ? (const void *)x->fdata : NULL; /* empty: NULL (bug 8) */
        u->f.len = x->flen;
        u->o.file = &u->f;
    }
    switch ((x->a >> 5) & 3) {
    case 0: u->o.method = NULL; break;
    case 1: u->o.method = "GET"; break;
    case 2: u->o.method = "POST"; break;
    default: u->o.method = x->s[S_METHOD]; break;
    }
    u->o.stream = (x->a >> 7) & 1;
    /* what the header documents */
    p = x->s[S_PATH];
    u->args_ok = p && p[0] == '/';
    for (; p && *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F || *p == '#') u->args_ok = 0;
    u->post = u->o.json || u->o.file;
    if (u->o.method) {
        if (strcmp(u->o.method, "POST") == 0)
            u->post = 1;
        else if (strcmp(u->o.method, "GET") != 0 || u->post)
            u->args_ok = 0;
    }
    if (u->o.json && u->o.file) u->args_ok = 0;
    if (u->o.json && cbk_json_validate(u->o.json, u->o.json_len) != CBK_OK) u->args_ok = 0;
    if (u->o.file && (!u->f.name || !utf8_ok(u->f.name) ||
                      (u->f.type && (strchr(u->f.type, '\r') || strchr(u->f.type, '\n')))))
        u->args_ok = 0;
    for (i = 0; i < nq; i++)
        if (!u->q[i].key || !utf8_ok(u->q[i].key) || !u->q[i].value || !utf8_ok(u->q[i].value))
            u->args_ok = 0;
}

static int on_body(void *user, const char *data, size_t len) {
    fctx *u = (fctx *)user;
    FZ_ASSERT(data != NULL && len > 0);
    if (u->o.stream) {
        /* one line: no line end inside, not blank */
        size_t i;
        int blank = 1;
        FZ_ASSERT(!memchr(data, '\n', len));
        FZ_ASSERT(data[len - 1] != '\r');
        for (i = 0; i < len; i++)
            if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r') blank = 0;
        FZ_ASSERT(!blank);
        fz_put_field(&u->got, 'L', data, len);
    } else {
        fz_put(&u->got, data, len);
    }
    return ++u->calls == u->cancel_at;
}

static cbk_result prep(cbk_client *c, void *ctx, const cbk_request **req) {
    fctx *u = (fctx *)ctx;
    u->got.n = 0;
    u->calls = 0;
    return cbk_fetch_prepare(c, u->x->s[S_PATH], &u->o, on_body, u, req);
}

/* ---- the request ------------------------------------------------------- */

static const char *header(const cbk_request *r, const char *name) {
    size_t i;
    for (i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static void check_request(const fctx *u, const cbk_request *r, int drop_api, const char *base) {
    fz_buf url = {0};
    const char *path = u->x->s[S_PATH], *ct;
    size_t i;
    int first;
    FZ_ASSERT(strcmp(r->method, u->post ? "POST" : "GET") == 0);
    FZ_ASSERT_MSG(fz_url_ok(r->url), "URL with a byte outside printable ASCII: %s", r->url);
    fz_put(&url, base, strlen(base));
    if (drop_api && strncmp(path, "/api", 4) == 0 && (path[4] == '/' || path[4] == 0)) path += 4;
    fz_put(&url, path, strlen(path));
    first = strchr(u->x->s[S_PATH], '?') == NULL;
    for (i = 0; i < u->o.query_count; i++) {
        fz_put(&url, first ? "?" : "&", 1);
        first = 0;
        enc_form(&url, u->q[i].key);
        fz_put(&url, "=", 1);
        enc_form(&url, u->q[i].value);
    }
    FZ_ASSERT_MSG(strlen(r->url) == url.n && memcmp(r->url, url.p, url.n) == 0,
                  "URL\n  got  %s\n  want %s", r->url, (const char *)url.p);
    fz_free(&url);
    for (i = 0; i < r->header_count; i++) {
        FZ_ASSERT(!strchr(r->headers[i].value, '\r') && !strchr(r->headers[i].value, '\n'));
        FZ_ASSERT(!strchr(r->headers[i].name, '\r') && !strchr(r->headers[i].name, '\n'));
    }
    FZ_ASSERT((header(r, "Accept") != NULL) == (u->o.stream != 0));
    ct = header(r, "Content-Type");
    if (u->o.json) {
        FZ_ASSERT(ct && strcmp(ct, "application/json") == 0);
        FZ_ASSERT(r->body_len == u->o.json_len && memcmp(r->body, u->o.json, r->body_len) == 0);
        FZ_ASSERT(cbk_json_validate(r->body, r->body_len) == CBK_OK);
    } else if (u->o.file) {
        static const char pre[] = "multipart/form-data; boundary=";
        const char *bnd, *p, *end, *hdr_end;
        size_t bl, nl = 0;
        fz_buf want = {0};
        FZ_ASSERT(ct && strncmp(ct, pre, sizeof pre - 1) == 0);
        bnd = ct + sizeof pre - 1;
        bl = strlen(bnd);
        FZ_ASSERT(bl >= 1 && bl <= 70);
        FZ_ASSERT_MSG(!fz_contains(u->f.data ? u->f.data : "", u->f.len, bnd, bl),
                      "the multipart boundary occurs in the file data");
        p = r->body;
        end = r->body + r->body_len;
        /* --B CRLF headers CRLF CRLF data CRLF --B-- CRLF */
        FZ_ASSERT(r->body_len > 2 + bl + 2 && memcmp(p, "--", 2) == 0 &&
                  memcmp(p + 2, bnd, bl) == 0 && memcmp(p + 2 + bl, "\r\n", 2) == 0);
        p += 2 + bl + 2;
        for (hdr_end = p; hdr_end + 4 <= end && memcmp(hdr_end, "\r\n\r\n", 4) != 0; hdr_end++) {
        }
        FZ_ASSERT(hdr_end + 4 <= end);
        /* exactly two header lines: one CR and one LF between them, together */
        {
            const char *q;
            size_t ncr = 0;
            for (q = p; q < hdr_end; q++) {
                if (*q == '\r') ncr++;
                if (*q == '\n') nl++;
            }
            FZ_ASSERT_MSG(ncr == 1 && nl == 1, "the file part's headers hold %zu CR and %zu LF",
                          ncr, nl);
        }
        {
            /* the filename stays inside its quotes */
            static const char cd[] = "Content-Disposition: form-data; name=\"file\"; filename=\"";
            const char *q;
            FZ_ASSERT(strncmp(p, cd, sizeof cd - 1) == 0);
            q = p + sizeof cd - 1;
            while (q < hdr_end && *q != '"') q++;
            FZ_ASSERT(q + 3 <= hdr_end && memcmp(q, "\"\r\n", 3) == 0);
        }
        p = hdr_end + 4;
        fz_put(&want, u->f.data ? u->f.data : "", u->f.len);
        fz_put(&want, "\r\n--", 4);
        fz_put(&want, bnd, bl);
        fz_put(&want, "--\r\n", 4);
        FZ_ASSERT_MSG((size_t)(end - p) == want.n && memcmp(p, want.p, want.n) == 0,
                      "the file data or the closing boundary differs");
        fz_free(&want);
    } else {
        FZ_ASSERT(ct == NULL);
        if (u->post) FZ_ASSERT(r->body_len == 0);
    }
    if (!u->post) FZ_ASSERT(r->body == NULL && r->body_len == 0);
}

/* ---- the response ------------------------------------------------------ */

/* The non-blank lines, until one that is not one JSON value (*bad) or the
   callback stops (*cancelled); a byte order mark may open the body. */
static void expect_lines(const uint8_t *b, size_t n, size_t cancel_at, fz_buf *out, int *cancelled,
                         int *bad) {
    size_t pos = 0, calls = 0;
    *cancelled = 0;
    *bad = 0;
    if (n >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3)) pos = 3;
    while (pos < n) {
        const uint8_t *nl = (const uint8_t *)memchr(b + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - b) : n, e = end, i;
        int blank = 1;
        while (e > pos && b[e - 1] == '\r') e--;
        for (i = pos; i < e; i++)
            if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r') blank = 0;
        if (!blank) {
            fz_doc d;
            int ok = fz_parse(&d, b + pos, e - pos, CBK_JSON_MAX_DEPTH);
            fz_doc_free(&d);
            if (!ok) {
                *bad = 1;
                return;
            }
            fz_put_field(out, 'L', b + pos, e - pos);
            if (++calls == cancel_at) {
                *cancelled = 1;
                return;
            }
        }
        pos = end + 1;
    }
}

/* ---- the entry point --------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in x;
    size_t pos = 2, k;
    char *copy;
    uint64_t h;
    fctx u;
    cbk_client_options opts;
    const char *base;
    if (size < 2 || size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    memset(&x, 0, sizeof x);
    x.a = data[0];
    x.b = data[1];
    copy = (char *)malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = 0;
    for (k = 0; k < NSTR && pos < size; k++) {
        x.s[k] = copy + pos;
        pos += strlen(x.s[k]) + 1;
    }
    x.fdata = data + size; /* no file data: an empty, non-NULL piece */
    if (pos < size) {
        x.flen = data[pos++];
        if (x.flen > size - pos) x.flen = size - pos;
        x.fdata = data + pos;
        pos += x.flen;
    }
    x.body = data + (pos < size ? pos : size);
    x.blen = pos < size ? size - pos : 0;

    cbk_client_options_init(&opts);
    base = (x.b & 1) ? "https://api.chatbotkit.com" : "http://127.0.0.1:8080/base";
    opts.base_url = base;
    make(&x, &u);

    {
        /* the request, in a big and a small work buffer */
        char *work = fz_guard_alloc(FZ_WORK_BIG);
        cbk_client c;
        const cbk_request *req = NULL;
        cbk_result r;
        fz_buf url = {0}, body = {0};
        FZ_ASSERT(cbk_client_init(&c, FZ_SECRET, NULL, NULL, work, FZ_WORK_BIG, &opts) == CBK_OK);
        r = prep(&c, &u, &req);
        fz_check_error(cbk_client_error(&c), FZ_SECRET);
#ifdef FZ_DEBUG
        fprintf(stderr, "fetch: path=%s prepare=%s (%s) stream=%d body=%zu\n",
                x.s[S_PATH] ? x.s[S_PATH] : "(null)", cbk_result_str(r),
                cbk_client_error(&c)->message, u.o.stream, x.blen);
#endif
        FZ_ASSERT_MSG((r == CBK_OK) == u.args_ok, "cbk_fetch_prepare %s, expected %s",
                      cbk_result_str(r), u.args_ok ? "CBK_OK" : "INVALID_ARGUMENT");
        if (r == CBK_OK) {
            check_request(&u, req, (x.b & 1) != 0, base);
            fz_put(&url, req->url, strlen(req->url));
            if (req->body) fz_put(&body, req->body, req->body_len);
            FZ_ASSERT(cbk_client_abort(&c, CBK_SEND_NOT_SENT) == CBK_ERR_TRANSPORT);
        } else {
            FZ_ASSERT(r == CBK_ERR_INVALID_ARGUMENT);
        }
        fz_guard_check(work, FZ_WORK_BIG);
        fz_guard_free(work);
        if (r == CBK_OK) {
            size_t n = (size_t)(h >> 8) % (url.n + body.n + 700);
            work = fz_guard_alloc(n);
            FZ_ASSERT(cbk_client_init(&c, FZ_SECRET, NULL, NULL, work, n, &opts) == CBK_OK);
            r = prep(&c, &u, &req);
            if (r == CBK_OK) {
                FZ_ASSERT(strcmp(req->url, (const char *)url.p) == 0);
                FZ_ASSERT(req->body_len == body.n &&
                          (body.n == 0 || memcmp(req->body, body.p, body.n) == 0));
                cbk_client_abort(&c, CBK_SEND_NOT_SENT);
            } else {
                FZ_ASSERT_MSG(r == CBK_ERR_BUFFER_TOO_SMALL, "%s", cbk_result_str(r));
            }
            fz_guard_check(work, n);
            fz_guard_free(work);
        }
        fz_free(&url);
        fz_free(&body);
        if (r != CBK_OK && !u.args_ok) {
            free(copy);
            return 0;
        }
    }

    {
        /* the 2xx body, in three chunkings and a small buffer */
        fz_exch e;
        fz_outcome ow, ob, os, osm;
        fz_buf want = {0}, w1 = {0}, w2 = {0};
        int cancelled = 0;
        u.cancel_at = (h & 7) == 0 ? 1 + (size_t)(h >> 3) % 4 : 0;
        memset(&e, 0, sizeof e);
        e.status = 200 + (int)((h >> 30) % 7);
        e.body = x.body;
        e.len = x.blen;
        e.work_size = FZ_WORK_BIG;
        e.opts = &opts;
        e.mode = FZ_WHOLE;
        fz_exchange(&e, prep, &u, &ow);
        FZ_ASSERT(ow.prepared);
        fz_put(&w1, u.got.p, u.got.n);
        if (u.o.stream) {
            int bad;
            expect_lines(x.body, x.blen, u.cancel_at, &want, &cancelled, &bad);
            FZ_ASSERT_MSG(ow.r == (cancelled ? CBK_ERR_CANCELLED
                                   : bad     ? CBK_ERR_PARSE
                                             : CBK_OK),
                          "streaming fetch %s", cbk_result_str(ow.r));
            FZ_ASSERT_MSG(fz_buf_eq(&w1, &want), "the lines differ from the body's lines");
        } else {
            FZ_ASSERT(ow.r ==
                      (u.cancel_at && u.cancel_at <= 1 && x.blen ? CBK_ERR_CANCELLED : CBK_OK));
            if (ow.r == CBK_OK)
                FZ_ASSERT_MSG(w1.n == x.blen && (x.blen == 0 || memcmp(w1.p, x.body, x.blen) == 0),
                              "the raw body differs");
        }
        e.mode = FZ_BYTES;
        e.use_abort = 1;
        fz_exchange(&e, prep, &u, &ob);
        if (u.o.stream) {
            FZ_SAME_OUTCOME(&ow, &ob, &w1, &u.got, "byte by byte differs from whole");
        } else {
            FZ_ASSERT(ob.r == (u.cancel_at && u.cancel_at <= x.blen ? CBK_ERR_CANCELLED : CBK_OK));
            if (ob.r == CBK_OK) FZ_ASSERT(fz_buf_eq(&u.got, &w1));
        }
        e.mode = FZ_SPLIT;
        e.seed = h;
        fz_exchange(&e, prep, &u, &os);
        if (u.o.stream) FZ_SAME_OUTCOME(&ow, &os, &w1, &u.got, "split differs from whole");
        if (!u.o.stream && os.r == CBK_OK) FZ_ASSERT(fz_buf_eq(&u.got, &w1));
        if (u.o.stream) {
            e.work_size = 120 + (size_t)(h >> 24) % 1024;
            e.mode = (h >> 23) & 1 ? FZ_SPLIT : FZ_BYTES;
            e.seed = h >> 5;
            fz_exchange(&e, prep, &u, &osm);
            fz_put(&w2, u.got.p, u.got.n);
            if (osm.prepared && osm.r == CBK_ERR_BUFFER_TOO_SMALL)
                FZ_ASSERT_MSG(fz_buf_is_prefix(&w2, &w1),
                              "lines before BUFFER_TOO_SMALL are not a prefix");
            else if (osm.prepared)
                FZ_SAME_OUTCOME(&ow, &osm, &w1, &w2, "a small work buffer differs");
            else
                FZ_ASSERT(osm.r == CBK_ERR_BUFFER_TOO_SMALL);
        }
        fz_free(&want);
        fz_free(&w1);
        fz_free(&w2);
        fz_free(&u.got);
    }
    free(copy);
    return 0;
}
