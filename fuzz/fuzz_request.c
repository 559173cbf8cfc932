/* fuzz_request.c - request building for list, stream, create, update, delete.
 *
 * Input: three option bytes, then NUL-separated strings: user id, token id,
 * cursor, order, name, description, config_json, base URL, run-as user id,
 * timezone, secret, an extra header's name and value, then meta key/value
 * pairs. Option bits say which strings are used and which are NULL.
 * Each operation is prepared (sans-I/O) into a big and a small guarded work
 * buffer, then aborted with CBK_SEND_NOT_SENT.
 * Checks:
 *   - cbk_client_init and *_prepare accept exactly what API.md allows
 *     (ids: not NULL/empty/"."/"..", valid UTF-8; order NULL/"asc"/"desc";
 *     take >= 0; text valid UTF-8; config_json a JSON object; no CR/LF in a
 *     header value; http(s) base URL without space, control, non-ASCII,
 *     '?' or '#');
 *   - the URL is exactly the one built here independently: base URL (its
 *     path kept, trailing '/' dropped), "/api" unless the host is
 *     api.chatbotkit.com, ids percent-encoded as one segment (RFC 3986
 *     unreserved kept), the query form-encoded like URLSearchParams in the
 *     order cursor, order, take, meta.KEY=VALUE; printable ASCII only; each
 *     id segment has no '/', '?' or '#' and decodes back to the id;
 *   - the headers are exactly Authorization, Content-Type, Accept,
 *     X-RunAs-User-Id, X-Timezone (each only when not "") and the extras, as API.md lists, without
 *     CR or LF;
 *   - the body is exactly what JSON.stringify would write for the fields
 *     ("{}" for delete and empty fields), and valid JSON;
 *   - a small work buffer gives the same request or BUFFER_TOO_SMALL, never
 *     a cut request or a write past its end;
 *   - after the abort, the Bearer value is gone from the work buffer. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"

#include <ctype.h>
#include "fuzz_client.h"

#define NSTR 21

typedef struct in {
    const char *s[NSTR];
    unsigned a, b;
    int take;
} in;

enum {
    S_USER,
    S_TOKEN,
    S_CURSOR,
    S_ORDER,
    S_NAME,
    S_DESC,
    S_CONFIG,
    S_BASE,
    S_RUNAS,
    S_TZ,
    S_SECRET,
    S_HNAME,
    S_HVALUE,
    S_META
};

/* ---- independent encoders ---------------------------------------------- */

static void put_pct(fz_buf *b, unsigned char ch) {
    char t[4];
    snprintf(t, sizeof t, "%%%02X", ch);
    fz_put(b, t, 3);
}

static int alnum(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static void enc_segment(fz_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            fz_put(b, &ch, 1);
        else
            put_pct(b, ch);
    }
}

static void enc_form(fz_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (alnum(ch) || ch == '*' || ch == '-' || ch == '.' || ch == '_')
            fz_put(b, &ch, 1);
        else if (ch == ' ')
            fz_put(b, "+", 1);
        else
            put_pct(b, ch);
    }
}

static void stringify(fz_buf *b, const char *s) {
    fz_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char t[8];
        switch (ch) {
        case '"': fz_put(b, "\\\"", 2); break;
        case '\\': fz_put(b, "\\\\", 2); break;
        case '\b': fz_put(b, "\\b", 2); break;
        case '\f': fz_put(b, "\\f", 2); break;
        case '\n': fz_put(b, "\\n", 2); break;
        case '\r': fz_put(b, "\\r", 2); break;
        case '\t': fz_put(b, "\\t", 2); break;
        default:
            if (ch < 0x20) {
                snprintf(t, sizeof t, "\\u%04x", ch);
                fz_put(b, t, 6);
            } else {
                fz_put(b, &ch, 1);
            }
        }
    }
    fz_put(b, "\"", 1);
}

static int utf8_ok(const char *s) {
    return fz_utf8_valid((const unsigned char *)s, strlen(s));
}

static int id_ok(const char *s) {
    return s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && utf8_ok(s);
}

static int crlf_free(const char *s) {
    return !strchr(s, '\r') && !strchr(s, '\n');
}

static int ieq(const char *a, size_t n, const char *lit) {
    size_t i;
    if (strlen(lit) != n) return 0;
    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 0;
    }
    return 1;
}

/* ---- the client's configuration --------------------------------------- */

typedef struct cfg {
    cbk_client_options o;
    cbk_header extra;
    const char *secret;
    int init_ok;  /* what API.md says cbk_client_init does */
    fz_buf start; /* scheme://authority + path prefix, and "/api" */
    fz_buf secret_buf;
} cfg;

/* API.md: the authority is host[:port], no user info; host a name
   (letters, digits, '-', '.', '_'), an IPv4 address, or [IPv6] (hex digits,
   ':' and '.'); a port is 1 to 5 digits, 1..65535. */
static int authority_ok(const char *a, const char *end) {
    const char *p = a;
    unsigned long port = 0;
    int digits = 0;
    if (p < end && *p == '[') {
        for (p++; p < end && (isxdigit((unsigned char)*p) || *p == ':' || *p == '.'); p++) {
        }
        if (p >= end || *p != ']' || p == a + 1) return 0;
        p++;
    } else {
        for (; p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_');
             p++) {
        }
        if (p == a) return 0;
    }
    if (p == end) return 1;
    if (*p++ != ':') return 0;
    for (; p < end; p++, digits++) {
        if (!isdigit((unsigned char)*p) || digits == 5) return 0;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    return digits && port >= 1 && port <= 65535;
}

static void make_cfg(const in *x, cfg *c) {
    const char *base;
    size_t n, i, pl;
    const char *auth, *path, *host, *host_end, *p;
    memset(c, 0, sizeof *c);
    cbk_client_options_init(&c->o);
    /* a secret from the input gets a prefix no library message holds (a
       short one would turn up by chance in the library's own words); an
       empty one means no Authorization header */
    c->secret = FZ_SECRET;
    if ((x->a & 1) && x->s[S_SECRET]) {
        fz_put(&c->secret_buf, "", 0);
        if (*x->s[S_SECRET]) {
            fz_put(&c->secret_buf, "sk-Z9", 5);
            fz_put(&c->secret_buf, x->s[S_SECRET], strlen(x->s[S_SECRET]));
        }
        c->secret = (const char *)c->secret_buf.p;
    }
    if (x->a & 2) c->o.base_url = x->s[S_BASE];
    if (x->a & 4) c->o.run_as_user_id = x->s[S_RUNAS];
    if (x->a & 8) c->o.timezone = x->s[S_TZ];
    if ((x->a & 16) && x->s[S_HNAME] && x->s[S_HVALUE]) {
        c->extra.name = x->s[S_HNAME];
        c->extra.value = x->s[S_HVALUE];
        c->o.headers = &c->extra;
        c->o.header_count = 1;
    }
    c->init_ok = crlf_free(c->secret) && (!c->o.run_as_user_id || crlf_free(c->o.run_as_user_id)) &&
                 (!c->o.timezone || crlf_free(c->o.timezone));
    if (c->o.header_count) {
        const char *nm = c->extra.name;
        if (!*nm) c->init_ok = 0;
        for (p = nm; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F || *p == ':') c->init_ok = 0;
        if (!crlf_free(c->extra.value)) c->init_ok = 0;
        if (ieq(nm, strlen(nm), "authorization")) c->init_ok = 0; /* the library's own */
    }
    base = c->o.base_url ? c->o.base_url : "https://api.chatbotkit.com";
    n = strlen(base);
    if (n > 7 && ieq(base, 7, "http://"))
        auth = base + 7;
    else if (n > 8 && ieq(base, 8, "https://"))
        auth = base + 8;
    else {
        c->init_ok = 0;
        return;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)base[i];
        if (ch <= 0x20 || ch >= 0x7F || ch == '?' || ch == '#') c->init_ok = 0;
    }
    path = strchr(auth, '/');
    if (!path) path = base + n;
    if (!authority_ok(auth, path)) c->init_ok = 0;
    host = auth;
    host_end = host;
    if (*host == '[')
        while (host_end < path && *host_end != ']') host_end++;
    else
        while (host_end < path && *host_end != ':') host_end++;
    pl = strlen(path);
    while (pl && path[pl - 1] == '/') pl--;
    fz_put(&c->start, base, (size_t)(path - base) + pl);
    if (!ieq(host, (size_t)(host_end - host), "api.chatbotkit.com")) fz_put(&c->start, "/api", 4);
}

/* ---- the operations ---------------------------------------------------- */

enum { OP_LIST, OP_STREAM, OP_CREATE, OP_UPDATE, OP_DELETE, OP_N };
static const char *const op_tail[OP_N] = {"list", "list", "create", "update", "delete"};

typedef struct opctx {
    const in *x;
    int op;
    cbk_token_list_options lo;
    cbk_token_fields f;
    cbk_kv meta[4];
    cbk_token_created created;
    char id_out[CBK_ID_MAX];
    int args_ok; /* what API.md says *_prepare accepts */
} opctx;

static int no_tok(void *u, const cbk_token *t) {
    (void)u;
    (void)t;
    return 0;
}

static int kvs_ok(const cbk_kv *kv, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!kv[i].key || !utf8_ok(kv[i].key) || !kv[i].value || !utf8_ok(kv[i].value)) return 0;
    return 1;
}

static void make_op(const in *x, int op, opctx *o) {
    size_t nm = (x->b >> 4) & 3, i;
    const char *orders[4] = {NULL, "asc", "desc", NULL};
    memset(o, 0, sizeof *o);
    o->x = x;
    o->op = op;
    for (i = 0; i < nm; i++) {
        o->meta[i].key = x->s[S_META + 2 * i];
        o->meta[i].value = x->s[S_META + 2 * i + 1];
    }
    o->lo.cursor = (x->b & 1) ? x->s[S_CURSOR] : NULL;
    o->lo.order = (x->b & 2) ? x->s[S_ORDER] : orders[(x->b >> 2) & 3];
    o->lo.take = x->take;
    o->lo.meta = nm ? o->meta : NULL;
    o->lo.meta_count = nm;
    o->f.name = (x->a & 32) ? x->s[S_NAME] : NULL;
    o->f.description = (x->a & 64) ? x->s[S_DESC] : NULL;
    o->f.meta = nm ? o->meta : NULL;
    o->f.meta_count = nm;
    o->f.config_json = (x->a & 128) ? x->s[S_CONFIG] : NULL;
    o->args_ok = id_ok(x->s[S_USER]);
    if (op == OP_UPDATE || op == OP_DELETE) o->args_ok &= id_ok(x->s[S_TOKEN]);
    if (op == OP_LIST || op == OP_STREAM) {
        if (o->lo.order && strcmp(o->lo.order, "asc") != 0 && strcmp(o->lo.order, "desc") != 0)
            o->args_ok = 0;
        if (o->lo.take < 0) o->args_ok = 0;
        if (o->lo.cursor && !utf8_ok(o->lo.cursor)) o->args_ok = 0;
        if (!kvs_ok(o->meta, nm)) o->args_ok = 0;
    } else if (op != OP_DELETE && !(x->b & 64)) { /* 64: fields NULL */
        if (o->f.name && !utf8_ok(o->f.name)) o->args_ok = 0;
        if (o->f.description && !utf8_ok(o->f.description)) o->args_ok = 0;
        if (!kvs_ok(o->meta, nm)) o->args_ok = 0;
        if (o->f.config_json) {
            const char *p = o->f.config_json;
            while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
            if (*p != '{' ||
                cbk_json_validate(o->f.config_json, strlen(o->f.config_json)) != CBK_OK)
                o->args_ok = 0;
            else {
                /* the oracle agrees it is one JSON text */
                fz_doc d;
                FZ_ASSERT(fz_parse(&d, (const uint8_t *)o->f.config_json, strlen(o->f.config_json),
                                   CBK_JSON_MAX_DEPTH));
                fz_doc_free(&d);
            }
        }
    }
}

static cbk_result prep(cbk_client *c, void *ctx, const cbk_request **req) {
    opctx *o = (opctx *)ctx;
    const in *x = o->x;
    switch (o->op) {
    case OP_LIST:
        return cbk_token_list_prepare(c, x->s[S_USER], &o->lo, no_tok, NULL, NULL, 0, req);
    case OP_STREAM:
        return cbk_token_list_stream_prepare(c, x->s[S_USER], &o->lo, no_tok, NULL, req);
    case OP_CREATE:
        return cbk_token_create_prepare(c, x->s[S_USER], (x->b & 64) ? NULL : &o->f, &o->created,
                                        req);
    case OP_UPDATE:
        return cbk_token_update_prepare(c, x->s[S_USER], x->s[S_TOKEN], (x->b & 64) ? NULL : &o->f,
                                        o->id_out, req);
    default: return cbk_token_delete_prepare(c, x->s[S_USER], x->s[S_TOKEN], o->id_out, req);
    }
}

/* The expected request, built independently. */
static void expect_url(const cfg *g, const opctx *o, fz_buf *u) {
    const in *x = o->x;
    int first = 1;
    size_t i;
    fz_put(u, g->start.p, g->start.n);
    fz_put(u, "/v1/partner/user/", 17);
    enc_segment(u, x->s[S_USER]);
    fz_put(u, "/token/", 7);
    if (o->op == OP_UPDATE || o->op == OP_DELETE) {
        enc_segment(u, x->s[S_TOKEN]);
        fz_put(u, "/", 1);
    }
    fz_put(u, op_tail[o->op], strlen(op_tail[o->op]));
    if (o->op != OP_LIST && o->op != OP_STREAM) return;
#define SEP() (fz_put(u, first ? "?" : "&", 1), first = 0)
    if (o->lo.cursor && *o->lo.cursor) {
        SEP();
        fz_put(u, "cursor=", 7);
        enc_form(u, o->lo.cursor);
    }
    if (o->lo.order) {
        SEP();
        fz_put(u, "order=", 6);
        enc_form(u, o->lo.order);
    }
    if (o->lo.take) {
        char t[24];
        SEP();
        snprintf(t, sizeof t, "take=%d", o->lo.take);
        fz_put(u, t, strlen(t));
    }
    for (i = 0; i < o->lo.meta_count; i++) {
        SEP();
        fz_put(u, "meta.", 5);
        enc_form(u, o->meta[i].key);
        fz_put(u, "=", 1);
        enc_form(u, o->meta[i].value);
    }
#undef SEP
}

static void expect_body(const opctx *o, fz_buf *b) {
    const cbk_token_fields *f = (o->x->b & 64) ? NULL : &o->f;
    int n = 0;
    size_t i;
    if (o->op == OP_DELETE || !f) {
        fz_put(b, "{}", 2);
        return;
    }
    fz_put(b, "{", 1);
    if (f->name) {
        fz_put(b, "\"name\":", 7);
        stringify(b, f->name);
        n++;
    }
    if (f->description) {
        if (n++) fz_put(b, ",", 1);
        fz_put(b, "\"description\":", 14);
        stringify(b, f->description);
    }
    if (f->meta_count) {
        if (n++) fz_put(b, ",", 1);
        fz_put(b, "\"meta\":{", 8);
        for (i = 0; i < f->meta_count; i++) {
            if (i) fz_put(b, ",", 1);
            stringify(b, f->meta[i].key);
            fz_put(b, ":", 1);
            stringify(b, f->meta[i].value);
        }
        fz_put(b, "}", 1);
    }
    if (f->config_json) {
        if (n++) fz_put(b, ",", 1);
        fz_put(b, "\"config\":", 9);
        fz_put(b, f->config_json, strlen(f->config_json));
    }
    fz_put(b, "}", 1);
}

/* An extra header named as one the library sends (in any case) is left
   out: never two lines of one name. */
static int same_as_library(const cfg *g, const opctx *o, const char *nm) {
    size_t n = strlen(nm);
    return (o->op >= OP_CREATE && ieq(nm, n, "content-type")) ||
           (o->op == OP_STREAM && ieq(nm, n, "accept")) ||
           (g->o.run_as_user_id && *g->o.run_as_user_id && ieq(nm, n, "x-runas-user-id")) ||
           (g->o.timezone && *g->o.timezone && ieq(nm, n, "x-timezone"));
}

static void expect_headers(const cfg *g, const opctx *o, fz_buf *h) {
    if (*g->secret) {
        fz_buf v = {0};
        fz_put(&v, "Bearer ", 7);
        fz_put(&v, g->secret, strlen(g->secret));
        fz_put_cstr(h, 'N', "Authorization");
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', (const char *)v.p);
        fz_free(&v);
    }
    if (o->op >= OP_CREATE) {
        fz_put_cstr(h, 'N', "Content-Type");
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', "application/json");
    }
    if (o->op == OP_STREAM) {
        fz_put_cstr(h, 'N', "Accept");
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', "application/jsonl");
    }
    /* option headers: sent only when not "" (the SDK sends truthy ones) */
    if (g->o.run_as_user_id && *g->o.run_as_user_id) {
        fz_put_cstr(h, 'N', "X-RunAs-User-Id");
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', g->o.run_as_user_id);
    }
    if (g->o.timezone && *g->o.timezone) {
        fz_put_cstr(h, 'N', "X-Timezone");
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', g->o.timezone);
    }
    if (g->o.header_count && !same_as_library(g, o, g->extra.name)) {
        fz_put_cstr(h, 'N', g->extra.name);
        fz_put(h, "V", 1);
        fz_put_cstr(h, 'v', g->extra.value);
    }
}

static int hexv(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The segment after `after` up to `before` has no '/', '?', '#' and
   percent-decodes to id. */
static void check_segment(const char *url, const char *after, const char *before, const char *id) {
    const char *s = strstr(url, after), *e;
    fz_buf dec = {0};
    FZ_ASSERT(s != NULL);
    s += strlen(after);
    e = strstr(s, before);
    FZ_ASSERT(e != NULL);
    for (; s < e; s++) {
        FZ_ASSERT_MSG(*s != '/' && *s != '?' && *s != '#', "an id is not one path segment: %s",
                      url);
        if (*s == '%') {
            int h1, h2;
            unsigned char ch;
            FZ_ASSERT(e - s >= 3);
            h1 = hexv(s[1]);
            h2 = hexv(s[2]);
            FZ_ASSERT(h1 >= 0 && h2 >= 0);
            ch = (unsigned char)(h1 * 16 + h2);
            fz_put(&dec, &ch, 1);
            s += 2;
        } else {
            fz_put(&dec, s, 1);
        }
    }
    FZ_ASSERT_MSG(dec.n == strlen(id) && memcmp(dec.p ? (const char *)dec.p : "", id, dec.n) == 0,
                  "an id segment does not decode back to the id");
    fz_free(&dec);
}

/* Prepares op in a work buffer of size n; returns the result and, when
   CBK_OK, the request's URL, headers and body in the three buffers. */
static cbk_result build(const cfg *g, opctx *o, size_t n, fz_buf *url, fz_buf *hdr, fz_buf *body) {
    char *work = fz_guard_alloc(n);
    cbk_client c;
    const cbk_request *req = NULL;
    cbk_result r, ir;
    size_t i, bearers = 0;
    fz_buf bearer = {0};
    fz_put(&bearer, "Bearer ", 7);
    fz_put(&bearer, g->secret, strlen(g->secret));
    ir = cbk_client_init(&c, g->secret, NULL, NULL, work, n, &g->o);
    FZ_ASSERT_MSG((ir == CBK_OK) == g->init_ok, "cbk_client_init %s, expected %s",
                  cbk_result_str(ir), g->init_ok ? "CBK_OK" : "INVALID_ARGUMENT");
    if (ir) {
        FZ_ASSERT(ir == CBK_ERR_INVALID_ARGUMENT);
        fz_check_error(cbk_client_error(&c), g->secret);
        fz_guard_check(work, n);
        fz_guard_free(work);
        fz_free(&bearer);
        return ir;
    }
    r = prep(&c, o, &req);
    fz_check_error(cbk_client_error(&c), g->secret);
    if (r == CBK_OK) {
        FZ_ASSERT(o->args_ok);
        FZ_ASSERT(req != NULL);
        FZ_ASSERT(strcmp(req->method, o->op >= OP_CREATE ? "POST" : "GET") == 0);
        FZ_ASSERT_MSG(fz_url_ok(req->url), "URL with a byte outside printable ASCII: %s", req->url);
        fz_put(url, req->url, strlen(req->url));
        for (i = 0; i < req->header_count; i++) {
            const cbk_header *hd = &req->headers[i];
            const char *p;
            FZ_ASSERT(hd->name && hd->value && *hd->name);
            for (p = hd->name; *p; p++)
                FZ_ASSERT((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7F && *p != ':');
            FZ_ASSERT_MSG(crlf_free(hd->value), "CR or LF in the %s header", hd->name);
            fz_put_cstr(hdr, 'N', hd->name);
            fz_put(hdr, "V", 1);
            fz_put_cstr(hdr, 'v', hd->value);
        }
        if (o->op >= OP_CREATE) {
            FZ_ASSERT(req->body != NULL);
            FZ_ASSERT_MSG(cbk_json_validate(req->body, req->body_len) == CBK_OK,
                          "the body is not valid JSON");
            fz_put(body, req->body, req->body_len);
        } else {
            FZ_ASSERT(req->body == NULL && req->body_len == 0);
        }
        /* after the base URL, which may hold anything */
        FZ_ASSERT(strlen(req->url) >= g->start.n && memcmp(req->url, g->start.p, g->start.n) == 0);
        check_segment(req->url + g->start.n, "/v1/partner/user/", "/token/", o->x->s[S_USER]);
        if (o->op == OP_UPDATE || o->op == OP_DELETE) {
            char tail[16];
            const char *t = strstr(req->url + g->start.n, "/v1/partner/user/");
            FZ_ASSERT(t != NULL);
            t = strstr(t + 17, "/token/"); /* the first after the user segment */
            FZ_ASSERT(t != NULL);
            snprintf(tail, sizeof tail, "/%s", op_tail[o->op]);
            check_segment(t, "/token/", tail, o->x->s[S_TOKEN]);
        }
        bearers = fz_count(work, n, bearer.p, bearer.n);
        if (*g->secret) FZ_ASSERT(bearers >= 1);
        FZ_ASSERT(cbk_client_abort(&c, CBK_SEND_NOT_SENT) == CBK_ERR_TRANSPORT);
        fz_check_error(cbk_client_error(&c), g->secret);
        /* the secret may sit in other inputs (a name, a header): only the
           Authorization value's copy must be gone */
        if (*g->secret && bearers)
            FZ_ASSERT_MSG(fz_count(work, n, bearer.p, bearer.n) == bearers - 1,
                          "the Bearer value is still in the work buffer after the abort");
    } else {
        FZ_ASSERT(req == NULL);
        if (!o->args_ok)
            FZ_ASSERT_MSG(r == CBK_ERR_INVALID_ARGUMENT, "invalid arguments gave %s",
                          cbk_result_str(r));
        else
            FZ_ASSERT_MSG(r == CBK_ERR_BUFFER_TOO_SMALL, "valid arguments gave %s (%s)",
                          cbk_result_str(r), cbk_client_error(&c)->message);
        FZ_ASSERT(strcmp(cbk_client_error(&c)->code, cbk_result_str(r)) == 0);
    }
    fz_guard_check(work, n);
    fz_guard_free(work);
    fz_free(&bearer);
    return r;
}

/* ---- the entry point --------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    in x;
    cfg g;
    size_t pos = 3, k;
    char *copy;
    int op;
    uint64_t h;
    if (size < 3 || size > 4096) return 0;
    h = fz_hash(data, size);
    memset(&x, 0, sizeof x);
    x.a = data[0];
    x.b = data[1];
    x.take = (int)(signed char)data[2];
    if (x.take > 100) x.take = x.take * 1000003;
    /* one NUL-terminated copy, split at the NULs */
    copy = (char *)malloc(size - 3 + 1);
    memcpy(copy, data + 3, size - 3);
    copy[size - 3] = 0;
    for (k = 0; k < NSTR && pos <= size; k++) {
        x.s[k] = copy + (pos - 3);
        pos += strlen(x.s[k]) + 1;
    }
    make_cfg(&x, &g);
    for (op = 0; op < OP_N; op++) {
        opctx o;
        fz_buf url = {0}, hdr = {0}, body = {0}, su = {0}, sh = {0}, sb = {0};
        fz_buf eu = {0}, eh = {0}, eb = {0};
        cbk_result r, rs;
        size_t small;
        make_op(&x, op, &o);
        r = build(&g, &o, FZ_WORK_BIG, &url, &hdr, &body);
        if (!g.init_ok) {
            fz_free(&g.start);
            fz_free(&g.secret_buf);
            free(copy);
            return 0;
        }
        FZ_ASSERT_MSG((r == CBK_OK) == o.args_ok, "op %d: %s, expected %s", op, cbk_result_str(r),
                      o.args_ok ? "CBK_OK" : "INVALID_ARGUMENT");
        if (r == CBK_OK) {
            expect_url(&g, &o, &eu);
            expect_headers(&g, &o, &eh);
            FZ_ASSERT_MSG(fz_buf_eq(&url, &eu), "op %d: URL\n  got  %s\n  want %s", op,
                          (const char *)url.p, (const char *)eu.p);
            FZ_ASSERT_MSG(fz_buf_eq(&hdr, &eh), "op %d: headers differ", op);
            if (op >= OP_CREATE) {
                expect_body(&o, &eb);
                FZ_ASSERT_MSG(fz_buf_eq(&body, &eb), "op %d: body\n  got  %.*s\n  want %.*s", op,
                              (int)body.n, (const char *)body.p, (int)eb.n, (const char *)eb.p);
            }
        }
        /* a small work buffer: the same request, or BUFFER_TOO_SMALL */
        small = (size_t)(h >> (op * 9)) % (url.n + body.n + 600);
        make_op(&x, op, &o);
        rs = build(&g, &o, small, &su, &sh, &sb);
        if (rs == CBK_OK) {
            FZ_ASSERT(r == CBK_OK);
            FZ_ASSERT_MSG(fz_buf_eq(&su, &url) && fz_buf_eq(&sh, &hdr) && fz_buf_eq(&sb, &body),
                          "op %d: a small work buffer built a different request", op);
        } else if (r == CBK_OK) {
            FZ_ASSERT(rs == CBK_ERR_BUFFER_TOO_SMALL);
        } else {
            FZ_ASSERT(rs == r);
        }
        fz_free(&url);
        fz_free(&hdr);
        fz_free(&body);
        fz_free(&su);
        fz_free(&sh);
        fz_free(&sb);
        fz_free(&eu);
        fz_free(&eh);
        fz_free(&eb);
    }
    fz_free(&g.start);
    fz_free(&g.secret_buf);
    free(copy);
    return 0;
}
