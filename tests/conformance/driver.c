/* driver.c - the C side of the conformance test (tests/conformance/).
 *
 *   build/conformance/driver BASE_URL < case
 *
 * Runs one partner user token operation through cbk_token.h and the libcurl
 * adapter against BASE_URL, with the library's default retry policy
 * (retries 3, 250 ms doubling) and a real sleep, and prints one JSON object
 * describing what the library decoded. conformance.mjs compares it with
 * what @chatbotkit/sdk decoded from the same scripted server.
 *
 * The case comes on standard input, one setting per line, every string
 * hex-encoded so that any byte (quotes, control characters, UTF-8) passes
 * through untouched and the driver needs no JSON parser of its own (it must
 * not lean on the tokenizer under test to read its own input). A HEX word
 * is "x" followed by the bytes in hex ("x" alone is the empty string):
 *
 *   op list|stream|create|update|delete
 *   secret HEX          user HEX          token HEX
 *   cursor HEX          order HEX         take N        meta HEXKEY HEXVALUE   (list)
 *   name HEX            description HEX   config HEX    fmeta HEXKEY HEXVALUE  (create/update)
 *   nofields            (create/update with fields = NULL)
 *   runas HEX           timezone HEX      retries N     delay N
 *   childemail HEX      (X-RunAs-Child-User-Email)
 *   work N              the work buffer's size (default 65536)
 *   defaultsleep        accepted: the driver always leaves opts.sleep_ms NULL
 *                       (retries wait with the library's default sleep,
 *                       which the driver wraps to record each wait)
 *   timeout N           opts.timeout_ms (the whole operation's deadline)
 *   op fetch: path HEX, fbody HEX (application/octet-stream), fheader HEXNAME HEXVALUE
 *
 * Output (stdout, one line):
 *   {"result":"CBK_OK", "tokens":[{"id","name","description","meta","truncated","createdAt",
 *    "updatedAt"}...],
 *    "cursor":"...", "created":{"id","token","createdAt"}, "id":"...",
 *    "error":{"result","http_status","transport_code","code","message"},
 *    "sleeps":[ms...]}
 * where meta is the raw JSON text the library handed over (a string) or
 * null, sleeps the waits the library asked its sleep for, in order (-1 last
 * when more than MAX_SLEEPS came), and only the members the operation
 * produces are present (sleeps always is).
 * Exit status: 0 when the driver ran (whatever the operation's result),
 * 2 on a bad case.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
/* The transport: libcurl, or with CBK_DRIVER_POSIX the POSIX adapter (for a
   machine without libcurl's development files; run.sh picks). */
#ifdef CBK_DRIVER_POSIX
#define CBK_TOKEN_POSIX_IMPLEMENTATION
#include "adapters/cbk_token_posix.h"
typedef cbk_posix driver_net;
#define driver_net_init(n) (cbk_posix_init(n), 0)
#define driver_net_done()  ((void)0)
#define driver_send        cbk_posix_send
#else
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "adapters/cbk_token_curl.h"
typedef cbk_curl driver_net;
#define driver_net_init(n)                                                                         \
    (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ? -1 : (cbk_curl_init(n), 0))
#define driver_net_done() curl_global_cleanup()
#define driver_send       cbk_curl_send
#endif

#define MAX_KV 32

/* ---- a growing output buffer ------------------------------------------- */

typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static void out_put(out_buf *o, const char *s, size_t n) {
    if (o->cap - o->len < n + 1) {
        size_t cap = o->cap ? o->cap : 4096;
        char *p;
        while (cap - o->len < n + 1) cap *= 2;
        p = (char *)realloc(o->p, cap);
        if (!p) {
            fputs("driver: out of memory\n", stderr);
            exit(2);
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void out_str(out_buf *o, const char *s) {
    out_put(o, s, strlen(s));
}

/* A JSON string: bytes >= 0x20 other than '"' and '\\' pass as they are
   (the library hands over valid UTF-8 only). */
static void out_json_n(out_buf *o, const char *s, size_t n) {
    size_t i;
    out_put(o, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            out_put(o, esc, 2);
        } else if (ch < 0x20) {
            sprintf(esc, "\\u%04x", ch);
            out_put(o, esc, 6);
        } else {
            out_put(o, s + i, 1);
        }
    }
    out_put(o, "\"", 1);
}

static void out_json(out_buf *o, const char *s) {
    if (s)
        out_json_n(o, s, strlen(s));
    else
        out_str(o, "null");
}

static void out_i64(out_buf *o, int64_t v) {
    char t[32];
    sprintf(t, "%lld", (long long)v);
    out_str(o, t);
}

/* ---- the case ----------------------------------------------------------- */

typedef struct the_case {
    char *op, *secret, *user, *token, *cursor, *order, *name, *description, *config;
    char *runas, *timezone, *childemail, *path, *fbody;
    int defaultsleep;
    cbk_header fheaders[MAX_KV];
    size_t fheader_count;
    int take, has_take, nofields;
    long retries, delay, work, timeout;
    cbk_kv meta[MAX_KV];
    size_t meta_count;
    cbk_kv fmeta[MAX_KV];
    size_t fmeta_count;
} the_case;

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decodes one "x"-prefixed hex word at *p (advancing past it and one
   following space) into a new NUL-terminated string; NULL when the word is
   missing or not hex. */
static char *hex_word(char **p) {
    char *s = *p, *e, *r;
    size_t n, i;
    if (*s != 'x') return NULL;
    s++;
    e = s;
    while (*e && *e != ' ') e++;
    n = (size_t)(e - s);
    if (n % 2) return NULL;
    r = (char *)malloc(n / 2 + 1);
    if (!r) return NULL;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(r);
            return NULL;
        }
        r[i] = (char)(hi * 16 + lo);
    }
    r[n / 2] = 0;
    *p = *e == ' ' ? e + 1 : e;
    return r;
}

static int bad_case(const char *line) {
    fprintf(stderr, "driver: bad case line: %s\n", line);
    return 2;
}

static int read_case(the_case *k) {
    static char line[1 << 16];
    memset(k, 0, sizeof *k);
    k->retries = -1;
    k->delay = -1;
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *key;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        key = p;
        while (*p && *p != ' ') p++;
        if (*p) *p++ = 0;
        if (!strcmp(key, "op")) {
            k->op = strdup(p);
        } else if (!strcmp(key, "take")) {
            k->take = atoi(p);
            k->has_take = 1;
        } else if (!strcmp(key, "retries")) {
            k->retries = atol(p);
        } else if (!strcmp(key, "delay")) {
            k->delay = atol(p);
        } else if (!strcmp(key, "work")) {
            k->work = atol(p);
        } else if (!strcmp(key, "timeout")) {
            k->timeout = atol(p);
        } else if (!strcmp(key, "nofields")) {
            k->nofields = 1;
        } else if (!strcmp(key, "defaultsleep")) {
            k->defaultsleep = 1;
        } else if (!strcmp(key, "fheader")) {
            cbk_header *h = &k->fheaders[k->fheader_count];
            if (k->fheader_count >= MAX_KV) return bad_case(key);
            h->name = hex_word(&p);
            h->value = hex_word(&p);
            if (!h->name || !h->value) return bad_case(key);
            k->fheader_count++;
        } else if (!strcmp(key, "meta") || !strcmp(key, "fmeta")) {
            int f = key[0] == 'f';
            cbk_kv *kv = f ? &k->fmeta[k->fmeta_count] : &k->meta[k->meta_count];
            if ((f ? k->fmeta_count : k->meta_count) >= MAX_KV) return bad_case(key);
            kv->key = hex_word(&p);
            kv->value = hex_word(&p);
            if (!kv->key || !kv->value) return bad_case(key);
            if (f)
                k->fmeta_count++;
            else
                k->meta_count++;
        } else {
            char **dst = !strcmp(key, "secret")        ? &k->secret
                         : !strcmp(key, "user")        ? &k->user
                         : !strcmp(key, "token")       ? &k->token
                         : !strcmp(key, "cursor")      ? &k->cursor
                         : !strcmp(key, "order")       ? &k->order
                         : !strcmp(key, "name")        ? &k->name
                         : !strcmp(key, "description") ? &k->description
                         : !strcmp(key, "config")      ? &k->config
                         : !strcmp(key, "runas")       ? &k->runas
                         : !strcmp(key, "timezone")    ? &k->timezone
                         : !strcmp(key, "childemail")  ? &k->childemail
                         : !strcmp(key, "path")        ? &k->path
                         : !strcmp(key, "fbody")       ? &k->fbody
                                                       : NULL;
            if (!dst) return bad_case(key);
            *dst = hex_word(&p);
            if (!*dst) return bad_case(key);
        }
    }
    if (!k->op) return bad_case("(no op)");
    return 0;
}

/* ---- callbacks ---------------------------------------------------------- */

typedef struct tokens_out {
    out_buf buf;
    size_t count;
} tokens_out;

/* A token's string with its length (it may hold U+0000). */
static void out_field(out_buf *o, const char *s, size_t n) {
    if (s)
        out_json_n(o, s, n);
    else
        out_str(o, "null");
}

static int on_token(void *user, const cbk_token *t) {
    tokens_out *o = (tokens_out *)user;
    char num[32];
    out_str(&o->buf, o->count++ ? ",{\"id\":" : "{\"id\":");
    out_field(&o->buf, t->id, t->id_len);
    out_str(&o->buf, ",\"name\":");
    out_field(&o->buf, t->name, t->name_len);
    out_str(&o->buf, ",\"description\":");
    out_field(&o->buf, t->description, t->description_len);
    out_str(&o->buf, ",\"meta\":");
    out_field(&o->buf, t->meta, t->meta_len);
    sprintf(num, ",\"truncated\":%u", t->truncated);
    out_str(&o->buf, num);
    out_str(&o->buf, ",\"createdAt\":");
    out_i64(&o->buf, t->created_at);
    out_str(&o->buf, ",\"updatedAt\":");
    out_i64(&o->buf, t->updated_at);
    out_str(&o->buf, "}");
    return 0;
}

/* ---- the waits ------------------------------------------------------------ */

#define MAX_SLEEPS 16

/* The waits the library asked for, in order. conformance.mjs holds them to
   the nominal schedule exactly: the gaps the server sees between requests
   also hold the machine's load, these do not. */
typedef struct sleep_log {
    void (*sleep_ms)(void *ctx, unsigned ms); /* the library's default sleep */
    void *ctx;
    unsigned ms[MAX_SLEEPS];
    size_t count;
} sleep_log;

static void logged_sleep(void *ctx, unsigned ms) {
    sleep_log *l = (sleep_log *)ctx;
    if (l->count < MAX_SLEEPS) l->ms[l->count] = ms;
    l->count++;
    l->sleep_ms(l->ctx, ms); /* the wait itself stays the library's */
}

/* Puts logged_sleep around the sleep cbk_client_init gave the client (its
   default: opts.sleep_ms is NULL). The client's copy of the options is
   private; a test may look, and only the sleep is swapped. sleep_ctx is
   also the clock's context: the default clock takes none. */
static void log_sleeps(cbk_client *c, sleep_log *l) {
    if (!c->opts.sleep_ms) return; /* no default sleep here: no retries */
    l->sleep_ms = c->opts.sleep_ms;
    l->ctx = c->opts.sleep_ctx;
    c->opts.sleep_ms = logged_sleep;
    c->opts.sleep_ctx = l;
}

static void out_sleeps(out_buf *o, const sleep_log *l) {
    size_t i;
    char num[32];
    out_str(o, ",\"sleeps\":[");
    for (i = 0; i < l->count && i < MAX_SLEEPS; i++) {
        sprintf(num, "%s%u", i ? "," : "", l->ms[i]);
        out_str(o, num);
    }
    if (l->count > MAX_SLEEPS) out_str(o, ",-1");
    out_str(o, "]");
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
    static char work[1 << 16];
    the_case k;
    cbk_client c;
    cbk_client_options opts;
    driver_net net;
    cbk_token_list_options lo;
    cbk_token_fields fields;
    cbk_token_created created;
    tokens_out toks;
    sleep_log slog;
    out_buf o;
    char cursor[1024], id[CBK_ID_MAX];
    cbk_result r;
    int list_like;

    if (argc != 2) {
        fputs("usage: driver BASE_URL < case\n", stderr);
        return 2;
    }
    if (read_case(&k)) return 2;
    if (driver_net_init(&net) != 0) {
        fputs("driver: curl_global_init failed\n", stderr);
        return 2;
    }
    cbk_client_options_init(&opts); /* retries 3, 250 ms doubling: the defaults */
    opts.base_url = argv[1];
    /* opts.sleep_ms stays NULL: retries wait with the library's default sleep */
    if (k.timeout > 0) opts.timeout_ms = (unsigned)k.timeout;
    opts.run_as_user_id = k.runas;
    opts.timezone = k.timezone;
    opts.run_as_child_user_email = k.childemail;
    if (k.retries >= 0) opts.retries = (unsigned)k.retries;
    if (k.delay >= 0) opts.retry_delay_ms = (unsigned)k.delay;

    memset(&lo, 0, sizeof lo);
    lo.cursor = k.cursor;
    lo.order = k.order;
    lo.take = k.has_take ? k.take : 0;
    lo.meta = k.meta;
    lo.meta_count = k.meta_count;
    memset(&fields, 0, sizeof fields);
    fields.name = k.name;
    fields.description = k.description;
    fields.meta = k.fmeta;
    fields.meta_count = k.fmeta_count;
    fields.config_json = k.config;
    memset(&toks, 0, sizeof toks);
    memset(&o, 0, sizeof o);
    memset(&created, 0, sizeof created);
    cursor[0] = 0;
    id[0] = 0;

    r = cbk_client_init(&c, k.secret ? k.secret : "", driver_send, &net, work,
                        k.work > 0 && (size_t)k.work < sizeof work ? (size_t)k.work : sizeof work,
                        &opts);
    memset(&slog, 0, sizeof slog);
    if (r == CBK_OK) log_sleeps(&c, &slog);
    list_like = !strcmp(k.op, "list") || !strcmp(k.op, "stream");
    out_str(&toks.buf, "");
    if (r == CBK_OK) {
        if (!strcmp(k.op, "list"))
            r = cbk_token_list(&c, k.user, &lo, on_token, &toks, cursor, sizeof cursor);
        else if (!strcmp(k.op, "stream"))
            r = cbk_token_list_stream(&c, k.user, &lo, on_token, &toks);
        else if (!strcmp(k.op, "create"))
            r = cbk_token_create(&c, k.user, k.nofields ? NULL : &fields, &created);
        else if (!strcmp(k.op, "update"))
            r = cbk_token_update(&c, k.user, k.token, k.nofields ? NULL : &fields, id);
        else if (!strcmp(k.op, "delete"))
            r = cbk_token_delete(&c, k.user, k.token, id);
        else if (!strcmp(k.op, "fetch")) {
            cbk_fetch_options fo;
            memset(&fo, 0, sizeof fo);
            fo.body = k.fbody;
            fo.body_len = k.fbody ? strlen(k.fbody) : 0;
            fo.headers = k.fheaders;
            fo.header_count = k.fheader_count;
            r = cbk_fetch(&c, k.path ? k.path : "/", &fo, NULL, NULL);
        } else
            return bad_case(k.op);
    }

    out_str(&o, "{\"result\":");
    out_json(&o, cbk_result_str(r));
    if (list_like) {
        out_str(&o, ",\"tokens\":[");
        out_str(&o, toks.buf.p);
        out_str(&o, "]");
    }
    if (r == CBK_OK) {
        if (!strcmp(k.op, "list")) {
            out_str(&o, ",\"cursor\":");
            out_json(&o, cursor);
        } else if (!strcmp(k.op, "create")) {
            out_str(&o, ",\"created\":{\"id\":");
            out_json(&o, created.id);
            out_str(&o, ",\"token\":");
            out_json(&o, created.token);
            out_str(&o, ",\"createdAt\":");
            out_i64(&o, created.created_at);
            out_str(&o, "}");
        } else if (!list_like && strcmp(k.op, "fetch")) {
            out_str(&o, ",\"id\":");
            out_json(&o, id);
        }
    } else {
        const cbk_error *e = cbk_client_error(&c);
        char num[32];
        out_str(&o, ",\"error\":{\"result\":");
        out_json(&o, cbk_result_str(r));
        sprintf(num, ",\"http_status\":%d", e->http_status);
        out_str(&o, num);
        sprintf(num, ",\"transport_code\":%d", e->transport_code);
        out_str(&o, num);
        out_str(&o, ",\"code\":");
        out_json(&o, e->code);
        out_str(&o, ",\"message\":");
        out_json(&o, e->message);
        out_str(&o, "}");
    }
    out_sleeps(&o, &slog);
    out_str(&o, "}\n");
    fwrite(o.p, 1, o.len, stdout);
    fflush(stdout);
    driver_net_done();
    return 0;
}
