/* cbk_token_curl.h v0.1.0 - libcurl transport for cbk_token.h - MIT or public domain
 *
 * ABOUT
 *   A send callback (cbk_send_fn) for cbk_token.h built on the libcurl easy
 *   interface. The response body is streamed into the library's receiver as
 *   curl hands it over (nothing is buffered whole), headers go to
 *   cbk_response_header(), and TLS peer and host verification are always on.
 *
 * USAGE
 *   #include "cbk_token.h"                       // first
 *   #define CBK_TOKEN_CURL_IMPLEMENTATION        // in exactly one .c file
 *   #include "adapters/cbk_token_curl.h"
 *
 *   curl_global_init(CURL_GLOBAL_DEFAULT);       // once, before any thread
 *   cbk_curl net;
 *   cbk_curl_init(&net);                         // defaults, see below
 *   net.ca_file = "/etc/ssl/my-ca.pem";          // optional
 *   cbk_client_init(&c, secret, cbk_curl_send, &net, work, sizeof work, NULL);
 *   ...
 *   if (cbk_client_error(&c)->transport_code != 0)
 *       fprintf(stderr, "curl: %s\n", net.errbuf);
 *
 *   Link with -lcurl (pkg-config --cflags --libs libcurl). Needs libcurl
 *   7.19.4 or newer; newer versions get more (see COMPATIBILITY).
 *
 * THE CONTEXT (cbk_curl, caller-owned, one per thread)
 *   easy              NULL: each call creates a handle and cleans it up.
 *                     Else a handle you own, reused call after call so its
 *                     connections, DNS cache and TLS sessions are reused.
 *                     The adapter does not curl_easy_reset() it: options you
 *                     set yourself (a proxy, CURLOPT_RESOLVE, CURLOPT_NOSIGNAL
 *                     for threaded programs, ...) stay in effect, except the
 *                     ones listed under WHAT IS SET, which it sets on every
 *                     call. After the call no option points at memory that
 *                     is gone (HTTPHEADER and POSTFIELDS are cleared).
 *   ca_file           NULL: curl's default CA bundle. Else a PEM file
 *                     (CURLOPT_CAINFO).
 *   connect_timeout_ms  connect phase limit, default 10000; 0: curl's default.
 *   timeout_ms        whole-exchange limit, default 0 (none: a streamed list
 *                     may legitimately take long).
 *   low_speed_time_s  abort when fewer than 1 byte/s arrived for this many
 *                     seconds, default 60; 0: off. This is the stall guard.
 *   verbose           1: curl's trace on stderr. It shows the request
 *                     headers, Authorization included: never in production.
 *   errbuf            out: curl's message for the last failed call ("" after
 *                     a success).
 *
 * WHAT IS SET ON EVERY CALL
 *   URL; no redirects followed (CURLOPT_FOLLOWLOCATION 0); http and https
 *   only; SSL_VERIFYPEER 1 and SSL_VERIFYHOST 2 (never turned off; there is
 *   no option to); the timeouts above; ACCEPT_ENCODING "" (curl offers the
 *   encodings it can decode and decodes them before the receiver sees the
 *   body); the method and body; the request headers.
 *
 * REQUEST HEADERS
 *   The request's headers are sent exactly as given (an empty value is sent
 *   as an empty header, not dropped). In addition "Expect:" is always
 *   suppressed (no 100-continue round trip), and for a request with a body
 *   and no Content-Type, curl's form Content-Type is suppressed. curl adds
 *   Host, Content-Length, and "Accept: * / *" (without the spaces) when the
 *   request has no Accept header: the same default as the Node SDK's fetch.
 *
 * THE RESPONSE
 *   cbk_response_status() is called once, with the final status, before any
 *   header or body; interim 1xx responses (and the headers of a proxy's
 *   CONNECT answer) are skipped. Each header line "Name: value" of the final
 *   response goes to cbk_response_header() with the value trimmed; folded
 *   continuation lines and chunked trailers are not passed on. Each piece
 *   of the body goes to cbk_response_body() as curl delivers it. When the
 *   receiver returns nonzero the transfer is aborted at once.
 *
 * RETURN VALUES OF cbk_curl_send (they land in cbk_error.transport_code)
 *   0                      the exchange completed, whatever the HTTP status
 *   CBK_SEND_NOT_SENT | code   CURLE_COULDNT_RESOLVE_HOST (6),
 *                          CURLE_COULDNT_RESOLVE_PROXY (5) or
 *                          CURLE_COULDNT_CONNECT (7): the request never left
 *   CBK_SEND_NOT_SENT | CBK_SEND_FINAL | code   CURLE_UNSUPPORTED_PROTOCOL
 *                          (1), CURLE_URL_MALFORMAT (3),
 *                          CURLE_PEER_FAILED_VERIFICATION (60) or
 *                          CURLE_SSL_CACERT_BADFILE (77): nothing was sent
 *                          and a retry cannot help, so none is made
 *   CURLE_WRITE_ERROR (23) the receiver asked to stop (the library knows why)
 *   any other CURLcode     that curl error, e.g. 28 CURLE_OPERATION_TIMEDOUT,
 *                          35 CURLE_SSL_CONNECT_ERROR, 56 CURLE_RECV_ERROR,
 *                          18
 *                          CURLE_PARTIAL_FILE (body shorter than announced),
 *                          27 CURLE_OUT_OF_MEMORY, 2 CURLE_FAILED_INIT (no
 *                          handle). errbuf has the words.
 *   CBK_SEND_CODE(rc) is the CURLcode again: every CURLcode is below
 *   CBK_SEND_CODE_MAX.
 *
 * MEMORY
 *   No allocation of its own. curl allocates (the handle when easy is NULL,
 *   the header list, each "Name: value" line while it is built); all of it
 *   is freed before cbk_curl_send returns, on every path.
 *
 * THREADS AND SIGNALS
 *   One cbk_curl (and one handle) per thread. Call curl_global_init() once
 *   before starting threads. Threaded programs should set CURLOPT_NOSIGNAL
 *   on their own handle and ignore SIGPIPE (see libcurl's docs).
 *
 * COMPATIBILITY
 *   CURL_WRITEFUNC_ERROR needs 7.87.0; older versions abort the transfer by
 *   a short write count instead, with the same effect. CURLOPT_PROTOCOLS_STR
 *   (7.85.0, else CURLOPT_PROTOCOLS), CURLOPT_SUPPRESS_CONNECT_HEADERS
 *   (7.54.0) and CURLOPT_ACCEPT_ENCODING (7.21.6) are used when available.
 *
 * CONFIGURATION
 *   CBK_TOKEN_CURL_IMPLEMENTATION  in one file: compile the implementation.
 *   CBKDEF (from cbk_token.h)      linkage, static under CBK_TOKEN_STATIC.
 */
#ifndef CBK_TOKEN_CURL_H
#define CBK_TOKEN_CURL_H

#ifndef CBK_TOKEN_H
#error "include cbk_token.h before adapters/cbk_token_curl.h"
#endif

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cbk_curl {
    CURL *easy;                   /* NULL: a handle per call; else reused, yours */
    const char *ca_file;          /* NULL: curl's default CA bundle */
    long connect_timeout_ms;      /* default 10000; 0: curl's default */
    long timeout_ms;              /* default 0: no limit on the whole exchange */
    long low_speed_time_s;        /* default 60: abort after this long below 1 byte/s */
    int verbose;                  /* 1: curl's trace on stderr (shows Authorization) */
    char errbuf[CURL_ERROR_SIZE]; /* out: the last failure in words, else "" */
} cbk_curl;

/* Fills ctx with the defaults above. */
CBKDEF void cbk_curl_init(cbk_curl *ctx);

/* The send callback: pass cbk_curl_send and a cbk_curl * to cbk_client_init.
   ctx NULL uses the defaults with a handle per call. See RETURN VALUES. */
CBKDEF int cbk_curl_send(void *ctx, const cbk_request *req, cbk_response *res);

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_CURL_H */

/* ===========================================================================
 * Implementation
 * ======================================================================== */
#if defined(CBK_TOKEN_CURL_IMPLEMENTATION) && !defined(CBK__CURL_IMPLEMENTED)
#define CBK__CURL_IMPLEMENTED

#include <curl/mprintf.h>
#include <string.h>

#ifdef CURL_WRITEFUNC_ERROR
#define CBK__CURL_WRITE_ERROR CURL_WRITEFUNC_ERROR
#else
#define CBK__CURL_WRITE_ERROR 0 /* a short count: curl aborts with CURLE_WRITE_ERROR */
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CBK__CURL_WAIT = 0, /* no status line of a response under way */
    CBK__CURL_INTERIM,  /* in the headers of a 1xx response */
    CBK__CURL_FINAL,    /* in the headers of the final response */
    CBK__CURL_AFTER     /* after the final response's headers (trailers) */
};

/* One exchange's state, on cbk_curl_send's stack. */
typedef struct cbk__curl_call {
    CURL *easy;
    cbk_response *res;
    int phase;
    int status_sent;
    int stopped; /* the receiver returned nonzero */
} cbk__curl_call;

CBKDEF void cbk_curl_init(cbk_curl *ctx) {
    if (ctx == NULL) return;
    memset(ctx, 0, sizeof *ctx);
    ctx->connect_timeout_ms = 10000L;
    ctx->timeout_ms = 0L;
    ctx->low_speed_time_s = 60L;
}

static int cbk__curl_is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int cbk__curl_send_status(cbk__curl_call *call, int status) {
    call->status_sent = 1;
    if (cbk_response_status(call->res, status) != 0) {
        call->stopped = 1;
        return 1;
    }
    return 0;
}

/* "HTTP/1.1 200 OK", "HTTP/2 404": the status code, or -1. */
static int cbk__curl_status_code(const char *line, size_t len) {
    size_t i = 5; /* after "HTTP/" */
    int code = 0, digits = 0;
    while (i < len && line[i] != ' ') i++;
    while (i < len && line[i] == ' ') i++;
    while (i < len && digits < 3 && line[i] >= '0' && line[i] <= '9') {
        code = code * 10 + (line[i] - '0');
        digits++;
        i++;
    }
    if (digits != 3 || (i < len && line[i] != ' ')) return -1;
    return code;
}

static size_t cbk__curl_on_header(char *data, size_t size, size_t count, void *user) {
    cbk__curl_call *call = (cbk__curl_call *)user;
    size_t len = size * count, end = len, name_end, v;
    const char *colon;

    if (call->stopped) return 0;
    while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n')) end--;

    if (end >= 5 && memcmp(data, "HTTP/", 5) == 0 &&
        (call->phase == CBK__CURL_WAIT || call->phase == CBK__CURL_AFTER)) {
        int status = cbk__curl_status_code(data, end);
        if (status < 0) return len; /* curl would not have passed it on; be safe */
        if (status < 200) {
            call->phase = CBK__CURL_INTERIM;
        } else if (call->status_sent) {
            /* a later response (only if redirects were followed against
               our setting): its headers are not the final one's */
            call->phase = CBK__CURL_AFTER;
        } else {
            call->phase = CBK__CURL_FINAL;
            if (cbk__curl_send_status(call, status) != 0) return 0;
        }
        return len;
    }
    if (end == 0) { /* the blank line that ends a header block */
        if (call->phase == CBK__CURL_INTERIM)
            call->phase = CBK__CURL_WAIT;
        else if (call->phase == CBK__CURL_FINAL)
            call->phase = CBK__CURL_AFTER;
        return len;
    }
    if (call->phase != CBK__CURL_FINAL || data[0] == ' ' || data[0] == '\t')
        return len; /* interim headers, trailers, folded continuations */

    colon = (const char *)memchr(data, ':', end);
    if (colon == NULL || colon == data) return len;
    name_end = (size_t)(colon - data);
    while (name_end > 0 && cbk__curl_is_space(data[name_end - 1])) name_end--;
    v = (size_t)(colon - data) + 1;
    while (v < end && cbk__curl_is_space(data[v])) v++;
    while (end > v && cbk__curl_is_space(data[end - 1])) end--;
    if (cbk_response_header(call->res, data, name_end, data + v, end - v) != 0) {
        call->stopped = 1;
        return 0;
    }
    return len;
}

static size_t cbk__curl_on_body(char *data, size_t size, size_t count, void *user) {
    cbk__curl_call *call = (cbk__curl_call *)user;
    size_t len = size * count;

    if (call->stopped) return CBK__CURL_WRITE_ERROR;
    if (!call->status_sent) { /* no status line seen: ask curl */
        long code = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &code);
        if (cbk__curl_send_status(call, (int)code) != 0) return CBK__CURL_WRITE_ERROR;
    }
    if (len == 0) return 0;
    if (cbk_response_body(call->res, data, len) != 0) {
        call->stopped = 1;
        return CBK__CURL_WRITE_ERROR;
    }
    return len;
}

/* Case-insensitive equality of a header name with a lowercase literal. */
static int cbk__curl_name_is(const char *name, const char *lower) {
    for (; *lower != '\0'; name++, lower++) {
        char ch = *name;
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch != *lower) return 0;
    }
    return *name == '\0';
}

/* Appends "name: value" (or "name;" for an empty value, which is curl's way
   to send an empty header) to *list. 0, or a CURLcode. */
static CURLcode cbk__curl_add_header(struct curl_slist **list, const char *name,
                                     const char *value) {
    struct curl_slist *next;
    char *line;

    if (value[0] == '\0')
        line = curl_maprintf("%s;", name);
    else
        line = curl_maprintf("%s: %s", name, value);
    if (line == NULL) return CURLE_OUT_OF_MEMORY;
    next = curl_slist_append(*list, line);
    curl_free(line);
    if (next == NULL) return CURLE_OUT_OF_MEMORY;
    *list = next;
    return CURLE_OK;
}

static CURLcode cbk__curl_add_line(struct curl_slist **list, const char *line) {
    struct curl_slist *next = curl_slist_append(*list, line);
    if (next == NULL) return CURLE_OUT_OF_MEMORY;
    *list = next;
    return CURLE_OK;
}

/* Sets every option of one exchange. */
static CURLcode cbk__curl_setup(cbk_curl *ctx, CURL *easy, const cbk_request *req,
                                struct curl_slist **list, cbk__curl_call *call) {
    CURLcode rc = CURLE_OK;
    size_t i;
    int has_content_type = 0, has_body, is_get, is_post, is_head;

#define CBK__CURL_SET(opt, val)                                                                    \
    do {                                                                                           \
        rc = curl_easy_setopt(easy, opt, val);                                                     \
        if (rc != CURLE_OK) return rc;                                                             \
    } while (0)

    for (i = 0; i < req->header_count; i++) {
        const cbk_header *h = &req->headers[i];
        if (h->name == NULL || h->value == NULL) return CURLE_BAD_FUNCTION_ARGUMENT;
        if (cbk__curl_name_is(h->name, "content-type")) has_content_type = 1;
        rc = cbk__curl_add_header(list, h->name, h->value);
        if (rc != CURLE_OK) return rc;
    }
    rc = cbk__curl_add_line(list, "Expect:");
    if (rc != CURLE_OK) return rc;

    is_get = strcmp(req->method, "GET") == 0;
    is_post = strcmp(req->method, "POST") == 0;
    is_head = strcmp(req->method, "HEAD") == 0;
    has_body = req->body != NULL || is_post;
    if (has_body && !has_content_type) {
        rc = cbk__curl_add_line(list, "Content-Type:");
        if (rc != CURLE_OK) return rc;
    }

    CBK__CURL_SET(CURLOPT_ERRORBUFFER, ctx->errbuf);
    CBK__CURL_SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    CBK__CURL_SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    CBK__CURL_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    CBK__CURL_SET(CURLOPT_FOLLOWLOCATION, 0L);
    CBK__CURL_SET(CURLOPT_SSL_VERIFYPEER, 1L);
    CBK__CURL_SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (ctx->ca_file != NULL) CBK__CURL_SET(CURLOPT_CAINFO, ctx->ca_file);
    CBK__CURL_SET(CURLOPT_CONNECTTIMEOUT_MS, ctx->connect_timeout_ms);
    CBK__CURL_SET(CURLOPT_TIMEOUT_MS, ctx->timeout_ms);
    CBK__CURL_SET(CURLOPT_LOW_SPEED_LIMIT, ctx->low_speed_time_s > 0 ? 1L : 0L);
    CBK__CURL_SET(CURLOPT_LOW_SPEED_TIME, ctx->low_speed_time_s > 0 ? ctx->low_speed_time_s : 0L);
    CBK__CURL_SET(CURLOPT_VERBOSE, ctx->verbose ? 1L : 0L);
#if LIBCURL_VERSION_NUM >= 0x071506
    CBK__CURL_SET(CURLOPT_ACCEPT_ENCODING, "");
#endif
#if LIBCURL_VERSION_NUM >= 0x073600
    CBK__CURL_SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
#endif
    CBK__CURL_SET(CURLOPT_HEADERFUNCTION, cbk__curl_on_header);
    CBK__CURL_SET(CURLOPT_HEADERDATA, (void *)call);
    CBK__CURL_SET(CURLOPT_WRITEFUNCTION, cbk__curl_on_body);
    CBK__CURL_SET(CURLOPT_WRITEDATA, (void *)call);
    CBK__CURL_SET(CURLOPT_HTTPHEADER, *list);

    /* The method. NOBODY 0 first: it would turn a later POST back into GET. */
    CBK__CURL_SET(CURLOPT_NOBODY, 0L);
    if (has_body) {
        CBK__CURL_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        CBK__CURL_SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    } else {
        CBK__CURL_SET(CURLOPT_HTTPGET, 1L);
    }
    if (is_head) CBK__CURL_SET(CURLOPT_NOBODY, 1L);
    CBK__CURL_SET(CURLOPT_CUSTOMREQUEST,
                  (is_get || is_post || is_head) ? (char *)NULL : req->method);
#undef CBK__CURL_SET
    return CURLE_OK;
}

static void cbk__curl_copy(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A CURLcode as the transport contract spells it: the code with the
   CBK_SEND_NOT_SENT / CBK_SEND_FINAL flags that apply. */
static int cbk__curl_code(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return CBK_SEND_NOT_SENT | (int)rc;
    /* nothing was sent, and the same request would meet the same refusal:
       a URL curl cannot use, or a server certificate it refused (only a fix
       of the trust store or the URL helps; no byte of the request left) */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE: return CBK_SEND_NOT_SENT | CBK_SEND_FINAL | (int)rc;
    default: return (int)rc;
    }
}

CBKDEF int cbk_curl_send(void *vctx, const cbk_request *req, cbk_response *res) {
    cbk_curl defaults;
    cbk_curl *ctx = (cbk_curl *)vctx;
    cbk__curl_call call;
    struct curl_slist *list = NULL;
    CURL *easy;
    CURLcode rc;

    if (ctx == NULL) {
        cbk_curl_init(&defaults);
        ctx = &defaults;
    }
    ctx->errbuf[0] = '\0';
    if (req == NULL || res == NULL || req->url == NULL || req->method == NULL ||
        (req->header_count > 0 && req->headers == NULL)) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "cbk_curl_send: bad argument");
        return (int)CURLE_BAD_FUNCTION_ARGUMENT;
    }
    easy = ctx->easy != NULL ? ctx->easy : curl_easy_init();
    if (easy == NULL) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "curl_easy_init failed");
        return (int)CURLE_FAILED_INIT;
    }

    memset(&call, 0, sizeof call);
    call.easy = easy;
    call.res = res;
    call.phase = CBK__CURL_WAIT;

    rc = cbk__curl_setup(ctx, easy, req, &list, &call);
    if (rc == CURLE_OK) {
        rc = curl_easy_perform(easy);
        if (rc == CURLE_OK && call.phase == CBK__CURL_FINAL && !call.stopped) {
            /* curl accepts a close inside the header block; that response
               is cut short, whatever came of it */
            cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf,
                           "the connection closed inside the response headers");
            rc = CURLE_PARTIAL_FILE;
        }
        if (rc == CURLE_OK && !call.status_sent) { /* no body, no status line seen */
            long code = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
            cbk__curl_send_status(&call, (int)code);
        }
    }

    /* Leave nothing in a reused handle that points at memory about to go. */
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (ctx->easy == NULL) curl_easy_cleanup(easy);
    curl_slist_free_all(list);

    if (call.stopped) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "stopped by the receiver");
        return (int)CURLE_WRITE_ERROR;
    }
    if (rc == CURLE_OK) {
        ctx->errbuf[0] = '\0';
        return 0;
    }
    if (ctx->errbuf[0] == '\0')
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, curl_easy_strerror(rc));
    return cbk__curl_code(rc);
}

#ifdef __cplusplus
}
#endif

#undef CBK__CURL_WRITE_ERROR
#endif /* CBK_TOKEN_CURL_IMPLEMENTATION */
