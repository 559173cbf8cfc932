/* fuzz_error.c - the error decoder (non-2xx bodies into cbk_error).
 *
 * Input: the body of a non-2xx response; the status (common ones and any
 * 100..999 outside 2xx) and the operation (list, stream, create, update,
 * delete, cbk_fetch, cbk_fetch streaming) come from the input's hash.
 * Checks:
 *   - always CBK_ERR_HTTP with http_status the status, whatever the body
 *     (a byte order mark may open it);
 *     cbk_fetch's on_body is never called;
 *   - whole, byte by byte and split give the same cbk_error;
 *   - the SDK's rules, by an oracle over the DOM: a body that is not JSON
 *     (after an optional BOM, except for the stream operation), or is JSON
 *     null, gives GENERIC_ERROR / "There was a generic error" (413:
 *     CONTENT_TOO_LARGE / "Client request is too large to be processed by
 *     the web server."); otherwise a truthy "message"/"code" of a top-level
 *     object (the last of duplicates; a non-empty string, a nonzero number
 *     as written, true, an object as "[object Object]") is taken, cut at a
 *     UTF-8 boundary to the field, else "HTTP Error: <reason>" /
 *     "ERROR_<status>";
 *   - the secret: no occurrence, and no part of one left by a cut: the
 *     field must equal the server text with the secret masked *then* cut;
 *   - the retry policy: cbk_client_retry_delay allows exactly 429 and 503,
 *     and 500/502/504 unless the operation is a create, up to 3 times,
 *     waiting 250 ms doubled, or the Retry-After delta-seconds (a header
 *     whose value is a few bytes of the input), capped;
 *   - a small guarded work buffer: still CBK_ERR_HTTP with well-formed,
 *     secret-free fields, never a write past its end;
 *   - fuzz_client.h's checks on every exchange. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_client.h"

/* Enough that BUFFER_TOO_SMALL cannot depend on chunking: these decoders
   join one string at a time (at most the input) and keep a few bytes per
   key; smaller than FZ_WORK_BIG because the library wipes the region after
   every failure, and that wipe is most of the run time. */
#define WORK_SIZE 20480

enum { OP_LIST, OP_STREAM, OP_CREATE, OP_UPDATE, OP_DELETE, OP_FETCH, OP_FETCH_STREAM, OP_N };

typedef struct erun {
    int op;
    int status;
    long retry_after_ms; /* what the Retry-After header says, or -1 */
    int body_calls;
    cbk_token_created created;
    char cursor[64];
    cbk_fetch_options fo;
} erun;

static int on_token(void *user, const cbk_token *t) {
    (void)user;
    (void)t;
    FZ_ASSERT_MSG(0, "a token reached the callback from an error response");
    return 0;
}

static int on_body(void *user, const char *data, size_t len) {
    (void)data;
    (void)len;
    ((erun *)user)->body_calls++;
    return 0;
}

static cbk_result prep(cbk_client *c, void *ctx, const cbk_request **req) {
    erun *u = (erun *)ctx;
    switch (u->op) {
    case OP_LIST:
        return cbk_token_list_prepare(c, "u", NULL, on_token, u, u->cursor, sizeof u->cursor, req);
    case OP_STREAM: return cbk_token_list_stream_prepare(c, "u", NULL, on_token, u, req);
    case OP_CREATE: return cbk_token_create_prepare(c, "u", NULL, &u->created, req);
    case OP_UPDATE: return cbk_token_update_prepare(c, "u", "t", NULL, NULL, req);
    case OP_DELETE: return cbk_token_delete_prepare(c, "u", "t", NULL, req);
    default:
        memset(&u->fo, 0, sizeof u->fo);
        u->fo.stream = u->op == OP_FETCH_STREAM;
        return cbk_fetch_prepare(c, "/api/v1/x", &u->fo, on_body, u, req);
    }
}

/* Retry-After: delta-seconds only, blanks around them allowed; capped. */
static long parse_retry_after(const char *v, size_t n) {
    size_t i = 0, d = 0;
    unsigned long long secs = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    while (i < n && v[i] >= '0' && v[i] <= '9') {
        if (secs < 100000000ull) secs = secs * 10 + (unsigned)(v[i] - '0');
        i++;
        d++;
    }
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    if (!d || i != n) return -1;
    return secs * 1000 > CBK_RETRY_AFTER_MAX_MS ? (long)CBK_RETRY_AFTER_MAX_MS
                                                : (long)(secs * 1000);
}

/* The retry policy after an HTTP error, by API.md. */
static void post(void *ctx, const cbk_client *c, cbk_result r, const char *work, size_t work_size) {
    erun *u = (erun *)ctx;
    unsigned ms = 12345, attempt;
    int s = u->status, retry;
    int unsafe = u->op == OP_CREATE; /* cbk_fetch here is a GET */
    (void)work;
    (void)work_size;
    if (r != CBK_ERR_HTTP) return;
    retry = s == 429 || s == 503 || (!unsafe && (s == 500 || s == 502 || s == 504));
    for (attempt = 0; attempt < 5; attempt++) {
        int got = cbk_client_retry_delay(c, attempt, &ms);
        int want = retry && attempt < 3; /* the default: 3 retries */
        FZ_ASSERT_MSG(got == want, "status %d attempt %u: retry %d, expected %d", s, attempt, got,
                      want);
        if (got) {
            unsigned expect =
                u->retry_after_ms >= 0 ? (unsigned)u->retry_after_ms : 250u << attempt;
            FZ_ASSERT_MSG(ms == expect, "status %d attempt %u: wait %u ms, expected %u", s, attempt,
                          ms, expect);
        }
    }
}

/* ---- the oracle -------------------------------------------------------- */

static const char *reason(int s) {
    switch (s) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return NULL; /* not checked: the library's table is the reference */
    }
}

/* dst (size bytes) = s[0..n) with every secret masked, cut at a UTF-8
   boundary, up to its first NUL. */
static void ideal_field(char *dst, size_t size, const char *s, size_t n) {
    char *t = (char *)malloc(n + 1);
    size_t k = strlen(FZ_SECRET), i, cut = n;
    memcpy(t, s, n);
    for (i = 0; i + k <= n; i++)
        if (memcmp(t + i, FZ_SECRET, k) == 0) memset(t + i, '*', k);
    if (cut >= size) {
        cut = size - 1;
        while (cut && ((unsigned char)t[cut] & 0xC0) == 0x80) cut--;
    }
    memcpy(dst, t, cut);
    dst[cut] = 0;
    free(t);
}

/* a JSON number whose value is 0 (falsy): no nonzero digit before any exponent */
static int num_is_zero(const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++)
        if (s[i] >= '1' && s[i] <= '9') return 0;
    return 1;
}

typedef struct eexp {
    int json;
    int status_known;
    char code[64];
    char message[256];
    int message_fallback, code_fallback;
} eexp;

static void oracle_error(const uint8_t *body, size_t len, int op, int status, eexp *e) {
    fz_doc d;
    memset(e, 0, sizeof *e);
    (void)op;
    fz_strip_bom(&body, &len);
    e->json = fz_parse(&d, body, len, CBK_JSON_MAX_DEPTH) && d.nodes[d.root].type != FZ_NULL;
    if (!e->json) {
        snprintf(e->code, sizeof e->code, "%s",
                 status == 413 ? "CONTENT_TOO_LARGE" : "GENERIC_ERROR");
        snprintf(e->message, sizeof e->message, "%s",
                 status == 413 ? "Client request is too large to be processed by the web server."
                               : "There was a generic error");
        fz_doc_free(&d);
        return;
    }
    if (d.nodes[d.root].type == FZ_OBJ) {
        int m;
        for (m = d.nodes[d.root].child; m >= 0; m = d.nodes[m].next) {
            int is_msg = fz_key_is(&d, m, "message"), is_code = fz_key_is(&d, m, "code");
            char *dst = is_msg ? e->message : e->code;
            size_t size = is_msg ? sizeof e->message : sizeof e->code;
            if (!is_msg && !is_code) continue;
            /* `data.message || fallback`, made a string: truthy values
               count (numbers as written, arrays fall back) */
            if (d.nodes[m].type == FZ_STR && d.nodes[m].str_len)
                ideal_field(dst, size, FZ_STR(&d, m), d.nodes[m].str_len);
            else if (d.nodes[m].type == FZ_NUM && !num_is_zero(FZ_RAW(&d, m), d.nodes[m].raw_len))
                ideal_field(dst, size, FZ_RAW(&d, m), d.nodes[m].raw_len);
            else if (d.nodes[m].type == FZ_TRUE)
                ideal_field(dst, size, "true", 4);
            else if (d.nodes[m].type == FZ_OBJ)
                ideal_field(dst, size, "[object Object]", 15);
            else
                dst[0] = 0;
        }
    }
    if (!e->message[0]) {
        const char *r = reason(status);
        e->message_fallback = 1;
        e->status_known = r != NULL;
        if (r) snprintf(e->message, sizeof e->message, "HTTP Error: %s", r);
    }
    if (!e->code[0]) {
        e->code_fallback = 1;
        snprintf(e->code, sizeof e->code, "ERROR_%d", status);
    }
    fz_doc_free(&d);
}

/* ---- the entry point --------------------------------------------------- */

static const int common[] = {400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h;
    fz_exch x;
    fz_outcome ow, ob, os, osm;
    erun u;
    eexp e;
    fz_buf none = {0};
    int status, op;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    op = (int)(h % OP_N);
    if ((h >> 8) & 3) {
        status = common[(h >> 10) % (sizeof common / sizeof common[0])];
    } else {
        status = 100 + (int)((h >> 10) % 900);
        if (status >= 200 && status <= 299) status += 100;
    }
    memset(&x, 0, sizeof x);
    x.status = status;
    x.body = data;
    x.len = size;
    x.work_size = WORK_SIZE;
    memset(&u, 0, sizeof u);
    u.op = op;
    u.status = status;
    u.retry_after_ms = -1;
    x.post = post;
    if ((h >> 40) & 1) {
        /* a Retry-After header: a few bytes of the body as its value */
        static const char *const names[3] = {"Retry-After", "retry-after", "RETRY-AFTER"};
        x.hname = names[(h >> 41) % 3];
        x.hvalue = (const char *)data;
        x.hvalue_len = size < 12 ? size : (size_t)(h >> 44) % 12;
        u.retry_after_ms = parse_retry_after(x.hvalue, x.hvalue_len);
    }

    FZ_THREE_WAYS(&x, prep, h, &u, &u, &u, &ow, &ob, &os, &none, &none, &none);
    FZ_ASSERT_MSG(ow.r == CBK_ERR_HTTP, "%s for status %d", cbk_result_str(ow.r), status);
    FZ_ASSERT(ow.err.http_status == status);
    FZ_ASSERT_MSG(u.body_calls == 0, "cbk_fetch's on_body got an error body");

    oracle_error(data, size, op, status, &e);
    FZ_ASSERT_MSG(strcmp(ow.err.code, e.code) == 0, "code \"%s\", expected \"%s\" (status %d)",
                  ow.err.code, e.code, status);
    if (!e.message_fallback || e.status_known || !e.json)
        FZ_ASSERT_MSG(strcmp(ow.err.message, e.message) == 0,
                      "message \"%s\", expected \"%s\" (status %d, op %d)", ow.err.message,
                      e.message, status, op);
    else
        FZ_ASSERT(strncmp(ow.err.message, "HTTP Error: ", 12) == 0 && ow.err.message[12]);

    x.work_size = 120 + (size_t)(h >> 24) % 1024;
    x.mode = (h >> 23) & 1 ? FZ_SPLIT : FZ_BYTES;
    x.seed = h >> 5;
    fz_exchange(&x, prep, &u, &osm);
    if (osm.prepared) {
        FZ_ASSERT_MSG(osm.r == CBK_ERR_HTTP && osm.err.http_status == status,
                      "a small work buffer: %s", cbk_result_str(osm.r));
    } else {
        FZ_ASSERT(osm.r == CBK_ERR_BUFFER_TOO_SMALL);
    }
    FZ_ASSERT(u.body_calls == 0);
    return 0;
}
