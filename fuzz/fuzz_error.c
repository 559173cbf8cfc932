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
 *     object (the last of duplicates; as JavaScript's String() makes it:
 *     numbers in their shortest form by the host's doubles, arrays joined
 *     with ',', an object as "[object Object]"; U+0000 as U+2400) is taken,
 *     cut at a UTF-8 boundary to the field, else "HTTP Error: <reason>" /
 *     "ERROR_<status>"; a body only the lenient reading accepts, or a
 *     number past 15 digits (D12), is checked for well-formedness only;
 *   - the secret: masked by the header's rules, written again here (runs
 *     of 8+ bytes, a start at a cut end, a split between the fields);
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

#include <stdlib.h>

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

/* ---- the oracle's text: String() of a value, as JavaScript makes it ---- */

typedef struct otext {
    char *p;
    size_t n, cap;
    int inexact; /* a number the library shows in its own digits (D12) */
} otext;

static void ot_put(otext *t, const char *s, size_t n) {
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2 + 64;
        t->p = (char *)realloc(t->p, t->cap);
        FZ_ASSERT(t->p != NULL);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
}

/* Number::toString by the host's doubles: the shortest %.*e that reads
   back as the same double, laid out as ECMA-262 says. */
static void ot_number(otext *t, const char *raw, size_t n) {
    char txt[400], buf[64], digits[32];
    double v;
    int p, e, k = 0, i;
    size_t sig = 0, j;
    int seen = 0, lastnz = 0;
    memcpy(txt, raw, n < 399 ? n : 399);
    txt[n < 399 ? n : 399] = 0;
    /* significant digits as written (leading/trailing zeros aside) */
    for (j = 0; j < n && raw[j] != 'e' && raw[j] != 'E'; j++) {
        if (raw[j] < '0' || raw[j] > '9') continue;
        if (raw[j] != '0') seen = 1;
        if (seen) {
            sig++;
            if (raw[j] != '0') lastnz = (int)sig;
        }
    }
    v = strtod(txt, NULL);
    if (v == 0) {
        ot_put(t, "0", 1);
        return;
    }
    if (v != v || v - v != 0) {
        ot_put(t, v < 0 ? "-Infinity" : "Infinity", v < 0 ? 9 : 8);
        return;
    }
    if (lastnz > 15 || (v < 0 ? -v : v) < 1e-306 || (v < 0 ? -v : v) >= 1e307) t->inexact = 1;
    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (v < 0) ot_put(t, "-", 1);
    for (i = v < 0 ? 1 : 0; buf[i] && buf[i] != 'e'; i++)
        if (buf[i] >= '0' && buf[i] <= '9') digits[k++] = buf[i];
    while (k > 1 && digits[k - 1] == '0') k--;
    e = atoi(strchr(buf, 'e') + 1) + 1; /* value = 0.D x 10^e */
    if (k <= e && e <= 21) {
        ot_put(t, digits, (size_t)k);
        for (i = k; i < e; i++) ot_put(t, "0", 1);
    } else if (e > 0 && e <= 21) {
        ot_put(t, digits, (size_t)e);
        ot_put(t, ".", 1);
        ot_put(t, digits + e, (size_t)(k - e));
    } else if (e > -6 && e <= 0) {
        ot_put(t, "0.", 2);
        for (i = e; i < 0; i++) ot_put(t, "0", 1);
        ot_put(t, digits, (size_t)k);
    } else {
        ot_put(t, digits, 1);
        if (k > 1) {
            ot_put(t, ".", 1);
            ot_put(t, digits + 1, (size_t)(k - 1));
        }
        snprintf(buf, sizeof buf, "e%c%d", e - 1 >= 0 ? '+' : '-', e - 1 >= 0 ? e - 1 : 1 - e);
        ot_put(t, buf, strlen(buf));
    }
}

/* String(value); arrays by Array.prototype.join (recursion: the oracle's
   own, independent of the library's one-bit bookkeeping). */
static void ot_value(otext *t, const fz_doc *d, int i) {
    const fz_node *nd = FZ_NODE(d, i);
    int m;
    switch (nd->type) {
    case FZ_STR: ot_put(t, FZ_STR(d, i), nd->str_len); break;
    case FZ_NUM: ot_number(t, FZ_RAW(d, i), nd->raw_len); break;
    case FZ_TRUE: ot_put(t, "true", 4); break;
    case FZ_FALSE: ot_put(t, "false", 5); break;
    case FZ_OBJ: ot_put(t, "[object Object]", 15); break;
    case FZ_ARR:
        for (m = nd->child; m >= 0; m = FZ_NODE(d, m)->next) {
            if (m != nd->child) ot_put(t, ",", 1);
            ot_value(t, d, m);
        }
        break;
    default: break;
    }
}

static int ot_truthy(const fz_doc *d, int i) {
    const fz_node *nd = FZ_NODE(d, i);
    if (nd->type == FZ_STR) return nd->str_len != 0;
    if (nd->type == FZ_NUM) {
        char txt[400];
        size_t n = nd->raw_len < 399 ? nd->raw_len : 399;
        memcpy(txt, FZ_RAW(d, i), n);
        txt[n] = 0;
        return strtod(txt, NULL) != 0;
    }
    return nd->type == FZ_TRUE || nd->type == FZ_OBJ || nd->type == FZ_ARR;
}

/* The field as the library must write it: U+0000 as U+2400, cut at a
   character boundary to size - 1 bytes (cut noted). */
static void ideal_field(char *dst, size_t size, const char *s, size_t n, int *cut) {
    size_t i = 0, len = 0;
    *cut = 0;
    while (i < n) {
        const char *out = s + i;
        size_t k = 1, m;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xF0)
            k = 4;
        else if (c >= 0xE0)
            k = 3;
        else if (c >= 0xC0)
            k = 2;
        m = k;
        if (!c) out = "\xE2\x90\x80", m = 3;
        if (len + m >= size) {
            *cut = 1;
            break;
        }
        memcpy(dst + len, out, m);
        len += m;
        i += k;
    }
    dst[len] = 0;
}

/* The masking rules (DIFFERENCES), written again from the header's words:
   runs of >= 8 bytes of the secret, the whole secret, a start of it at a
   cut end, a secret split between the end of one field and the start of
   the other. */
static void ideal_mask(char *f[2], const int cut[2]) {
    const char *sec = FZ_SECRET;
    size_t k = strlen(sec), len[2], w, i, at, l, p;
    unsigned char hide[2][256];
    memset(hide, 0, sizeof hide);
    len[0] = strlen(f[0]);
    len[1] = strlen(f[1]);
    for (w = 0; w < 2; w++)
        for (i = 0; i < len[w]; i++)
            for (at = 0; at < k; at++) {
                for (l = 0; i + l < len[w] && at + l < k && f[w][i + l] == sec[at + l]; l++) {
                }
                if (l && (l >= 8 || l == k || (cut[w] && !at && i + l == len[w])))
                    memset(hide[w] + i, 1, l);
            }
    for (w = 0; w < 2; w++)
        for (p = 1; p < k; p++)
            if (p <= len[w] && k - p <= len[!w] && !memcmp(f[w] + len[w] - p, sec, p) &&
                !memcmp(f[!w], sec + p, k - p)) {
                memset(hide[w] + len[w] - p, 1, p);
                memset(hide[!w], 1, k - p);
            }
    for (w = 0; w < 2; w++)
        for (i = 0; i < len[w]; i++)
            if (hide[w][i]) f[w][i] = '*';
}

typedef struct eexp {
    int json;
    int unknown; /* refused strictly; the lenient reading is not modelled */
    int status_known;
    char code[64];
    char message[256];
    int message_fallback, code_fallback;
} eexp;

static void oracle_error(const uint8_t *body, size_t len, int op, int status, eexp *e) {
    fz_doc d;
    int set[2] = {0, 0}, cut[2] = {0, 0}, w;
    char *f[2];
    memset(e, 0, sizeof *e);
    f[0] = e->message;
    f[1] = e->code;
    (void)op;
    fz_strip_bom(&body, &len);
    e->json = fz_parse(&d, body, len, CBK_JSON_MAX_DEPTH) && d.nodes[d.root].type != FZ_NULL;
    if (!e->json) {
        /* invalid UTF-8, lone surrogates or deep nesting: the library reads
           them leniently (tests/test_client.c checks those exactly) */
        e->unknown = 1;
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
            otext t = {0};
            w = fz_key_is(&d, m, "code");
            if (!w && !fz_key_is(&d, m, "message")) continue;
            /* `data.message || fallback`, made a string; the last wins */
            set[w] = ot_truthy(&d, m);
            f[w][0] = 0;
            cut[w] = 0;
            if (!set[w]) continue;
            ot_put(&t, "", 0);
            ot_value(&t, &d, m);
            if (t.inexact) e->unknown = 1;
            ideal_field(f[w], w ? sizeof e->code : sizeof e->message, t.p, t.n, &cut[w]);
            free(t.p);
        }
    }
    ideal_mask(f, cut);
    if (!set[0]) {
        const char *r = reason(status);
        e->message_fallback = 1;
        e->status_known = r != NULL;
        if (r) snprintf(e->message, sizeof e->message, "HTTP Error: %s", r);
    }
    if (!set[1]) {
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
    if (!e.unknown)
        FZ_ASSERT_MSG(strcmp(ow.err.code, e.code) == 0, "code \"%s\", expected \"%s\" (status %d)",
                      ow.err.code, e.code, status);
    if (e.unknown)
        ; /* well formed and secret-free: fz_check_error saw to that */
    else if (!e.message_fallback || e.status_known || !e.json)
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
