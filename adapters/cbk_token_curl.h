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
 *   ...                                          // every call: one connection
 *   if (cbk_client_error(&c)->transport_code != 0)
 *       fprintf(stderr, "curl: %s\n", net.errbuf);
 *   cbk_curl_cleanup(&net);                      // closes it, frees the handle
 *
 *   Link with -lcurl (pkg-config --cflags --libs libcurl). Needs libcurl
 *   7.19.4 or newer; newer versions get more (see COMPATIBILITY).
 *
 * THE CONTEXT (cbk_curl, caller-owned, one per thread)
 *   easy              NULL (the default): the adapter's own handle, made on
 *                     the first call and reused by every later one until
 *                     cbk_curl_cleanup(), so one kept-alive connection (and
 *                     its TLS session, the DNS cache and the parsed CA
 *                     bundle) serves a whole session: a list of 101 pages is
 *                     1 connection and 1 TLS handshake, not 101.
 *                     Else a handle you own, reused call after call the same
 *                     way; cbk_curl_cleanup() leaves it alone. The adapter
 *                     does not curl_easy_reset() it: options you set yourself
 *                     (a proxy, CURLOPT_RESOLVE, CURLOPT_NOSIGNAL for
 *                     threaded programs, a CURLSH share, ...) stay in effect,
 *                     except the ones listed under WHAT IS SET, which it sets
 *                     on every call. After the call no option points at
 *                     memory that is gone (HTTPHEADER, POSTFIELDS and the
 *                     callbacks' data are cleared).
 *   ca_file           NULL: curl's default CA bundle. Else a PEM file: the
 *                     only CAs trusted (CURLOPT_CAINFO; CURLOPT_CAPATH is
 *                     cleared, see REUSE).
 *   connect_timeout_ms  connect phase limit, default 10000; 0: curl's default.
 *   timeout_ms        whole-exchange limit, default 0 (none: a streamed list
 *                     may legitimately take long). A request's timeout_ms
 *                     (the time left of the library's opts.timeout_ms)
 *                     cuts it for that call: curl then ends it with
 *                     CURLE_OPERATION_TIMEDOUT (28) by the operation's
 *                     deadline.
 *   low_speed_time_s  abort when fewer than 1 byte/s arrived for this many
 *                     seconds, default 60; 0: off. This is the stall guard.
 *   verbose           1: curl's trace on stderr. It shows the request
 *                     headers, Authorization included: never in production.
 *   errbuf            out: curl's message for the last failed call ("" after
 *                     a success).
 *   connects          out: connections opened so far (CURLINFO_NUM_CONNECTS
 *                     summed over the calls), for tests and reports.
 *   Every other field is private. cbk_curl_init() sets the defaults; call it
 *   once, not on a context that holds a handle (that handle would leak).
 *
 * REUSE, AND REQUESTS THAT MUST NOT BE SENT TWICE
 *   libcurl keeps a connection open after a response and reuses it for the
 *   next request to the same scheme, host and port (HTTP/1.1 keep-alive; an
 *   idle connection is dropped after 118 s, CURLOPT_MAXAGE_CONN). If the
 *   server closed it while it sat idle, curl sees that and connects anew.
 *   If instead it dies after the request went out and before any byte of a
 *   response arrived, libcurl re-sends the request on a fresh connection by
 *   itself ("Connection died, retrying a fresh connect"). That is right for
 *   an idempotent request (req->idempotent 1: lists, updates, deletes), and
 *   it is allowed for them. A create or cbk_fetch POST (idempotent 0) may
 *   already have been acted on, so the adapter stops that re-send before a
 *   byte of it goes out again (CURLOPT_PREREQFUNCTION, libcurl 7.80.0:
 *   called before each attempt; a second one for such a request aborts):
 *   the call fails with CURLE_GOT_NOTHING and the library does not re-send
 *   either (curl has opened the new connection by then; it stays for the
 *   next call). Creates keep the reused connection, so they cost no extra
 *   round trips. A server that sends bytes past the end of a response in a
 *   later packet makes curl read them as the next response on that
 *   connection: that call fails (e.g. CURLE_UNSUPPORTED_PROTOCOL for what
 *   looks like HTTP/0.9, without CBK_SEND_NOT_SENT or CBK_SEND_FINAL, as the
 *   request went out), and the connection is closed. Before 7.80.0 a non-idempotent request gets a
 * fresh connection instead (CURLOPT_FRESH_CONNECT), where curl never re-sends. TLS: the session
 * cache of the handle (on by default) resumes sessions on a new connection; with curl 7.87.0 or
 * newer and OpenSSL the parsed CA store is cached in the handle (CURLOPT_CA_CACHE_TIMEOUT, 24 h)
 * when it comes from one file: so the adapter clears CURLOPT_CAPATH whenever it sets CURLOPT_CAINFO
 * (ca_file, or on its own handle curl's default bundle file when curl has one), else Debian's
 * default CApath would make curl parse the whole bundle again for every connection (~35 ms of CPU).
 *   One handle per context: no CURLSH share is needed; to share DNS and TLS
 *   sessions across threads, give each context its own handle with one
 *   share set (with its lock callbacks).
 *
 * WHAT IS SET ON EVERY CALL
 *   URL; no redirects followed (CURLOPT_FOLLOWLOCATION 0); http and https
 *   only; SSL_VERIFYPEER 1 and SSL_VERIFYHOST 2 (never turned off; there is
 *   no option to); the timeouts above; ACCEPT_ENCODING "" (curl offers the
 *   encodings it can decode and decodes them before the receiver sees the
 *   body); the method and body; the request headers; the header, body and
 *   pre-request callbacks (CURLOPT_PREREQFUNCTION from 7.80.0, else
 *   CURLOPT_FRESH_CONNECT); CAINFO and CAPATH as said under REUSE.
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
 *                          CURLE_COULDNT_CONNECT (7) before the request was
 *                          handed to any connection: it never left
 *   CBK_SEND_NOT_SENT | CBK_SEND_FINAL | code   CURLE_UNSUPPORTED_PROTOCOL
 *                          (1), CURLE_URL_MALFORMAT (3),
 *                          CURLE_PEER_FAILED_VERIFICATION (60),
 *                          CURLE_SSL_CACERT_BADFILE (77) or
 *                          CURLE_BAD_FUNCTION_ARGUMENT (43: a NULL request,
 *                          response, URL, method, headers, or header name
 *                          or value): nothing was sent and a retry cannot
 *                          help, so none is made
 *   the same codes without CBK_SEND_NOT_SENT  when they come from curl's
 *                          reconnect after the request had gone out on a
 *                          reused connection that died (libcurl 7.80.0 or
 *                          newer tells; see REUSE): it may have arrived
 *   CURLE_GOT_NOTHING (52) the server closed without any response, also on
 *                          a reused connection where curl's re-send of a
 *                          non-idempotent request was stopped (REUSE)
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
 * CLEANUP
 *   cbk_curl_cleanup(ctx) closes the kept connection and frees the
 *   adapter's own handle (curl_easy_cleanup); a handle in easy is yours and
 *   is left alone. The context stays valid: the next call makes a new
 *   handle. Call it when the session ends (before curl_global_cleanup());
 *   skipping it leaks one handle and leaves one idle connection open.
 *
 * MEMORY
 *   No allocation of its own. curl allocates: the adapter's own handle
 *   (with its connection and caches), kept until cbk_curl_cleanup(); per
 *   call the header list and each "Name: value" line while it is built,
 *   all freed before cbk_curl_send returns, on every path. cbk_curl_send
 *   with a NULL ctx makes a handle for that one call and frees it.
 *
 * THREADS AND SIGNALS
 *   One cbk_curl (and so one handle and one connection) per thread; never
 *   the same context in two threads at once. Call curl_global_init() once
 *   before starting threads. Threaded programs should set CURLOPT_NOSIGNAL
 *   on a handle of their own and ignore SIGPIPE (see libcurl's docs).
 *
 * COMPATIBILITY
 *   CURL_WRITEFUNC_ERROR needs 7.87.0; older versions abort the transfer by
 *   a short write count instead, with the same effect. CURLOPT_PROTOCOLS_STR
 *   (7.85.0, else CURLOPT_PROTOCOLS), CURLOPT_SUPPRESS_CONNECT_HEADERS
 *   (7.54.0), CURLOPT_ACCEPT_ENCODING (7.21.6), CURLOPT_PREREQFUNCTION
 *   (7.80.0, else FRESH_CONNECT for non-idempotent requests) and the CA
 *   cache (7.87.0; CURLINFO_CAINFO 7.84.0) are used when available.
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
    CURL *easy;                   /* NULL: the adapter's own, reused; else yours, reused */
    const char *ca_file;          /* NULL: curl's default CA bundle; else only these CAs */
    long connect_timeout_ms;      /* default 10000; 0: curl's default */
    long timeout_ms;              /* default 0: no limit on the whole exchange */
    long low_speed_time_s;        /* default 60: abort after this long below 1 byte/s */
    int verbose;                  /* 1: curl's trace on stderr (shows Authorization) */
    long connects;                /* out: connections opened so far */
    CURL *own_easy;               /* private: the adapter's handle, until cbk_curl_cleanup */
    char errbuf[CURL_ERROR_SIZE]; /* out: the last failure in words, else "" */
} cbk_curl;

/* Fills ctx with the defaults above (no handle yet). */
CBKDEF void cbk_curl_init(cbk_curl *ctx);

/* The send callback: pass cbk_curl_send and a cbk_curl * to cbk_client_init.
   One connection is kept and reused across calls (see REUSE). ctx NULL uses
   the defaults with a handle for that call only. See RETURN VALUES. */
CBKDEF int cbk_curl_send(void *ctx, const cbk_request *req, cbk_response *res);

/* Closes the kept connection and frees the adapter's own handle (not yours
   in easy). ctx stays usable; NULL is ignored. See CLEANUP. */
CBKDEF void cbk_curl_cleanup(cbk_curl *ctx);

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

#if LIBCURL_VERSION_NUM >= 0x075000
#define CBK__CURL_HAS_PREREQ 1 /* 7.80.0: a callback before each attempt to send */
#endif

/* One exchange's state, on cbk_curl_send's stack. */
typedef struct cbk__curl_call {
    CURL *easy;
    cbk_response *res;
    int phase;
    int status_sent;
    int stopped;        /* the receiver returned nonzero */
    int idempotent;     /* req->idempotent: curl may re-send it on a fresh connection */
    int attempts;       /* times curl was about to send the request */
    int resend_stopped; /* a re-send of a non-idempotent request was refused */
} cbk__curl_call;

CBKDEF void cbk_curl_init(cbk_curl *ctx) {
    if (ctx == NULL) return;
    memset(ctx, 0, sizeof *ctx);
    ctx->connect_timeout_ms = 10000L;
    ctx->timeout_ms = 0L;
    ctx->low_speed_time_s = 60L;
}

CBKDEF void cbk_curl_cleanup(cbk_curl *ctx) {
    if (ctx == NULL || ctx->own_easy == NULL) return;
    curl_easy_cleanup(ctx->own_easy);
    ctx->own_easy = NULL;
}

#ifdef CBK__CURL_HAS_PREREQ
/* Called by curl right before it sends the request, once per attempt. A second
   attempt is curl re-sending after a reused connection died with no response:
   allowed for an idempotent request, refused for one the server may already
   have acted on (nothing of it goes out again). The char * parameters are
   curl_prereq_callback's. */
/* NOLINTNEXTLINE(readability-non-const-parameter) */
static int cbk__curl_on_prereq(void *user, char *ip, char *local_ip, int port, int local_port) {
    cbk__curl_call *call = (cbk__curl_call *)user;
    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
    call->attempts++;
    if (call->attempts > 1 && !call->idempotent) {
        call->resend_stopped = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}
#endif

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

/* A status line where a response may begin: before any response, or after
   the final one's headers (a later response). Elsewhere "HTTP/" is only the
   start of a header line. */
static int cbk__curl_starts_response(const cbk__curl_call *call, const char *line, size_t end) {
    if (call->phase != CBK__CURL_WAIT && call->phase != CBK__CURL_AFTER) return 0;
    return end >= 5 && memcmp(line, "HTTP/", 5) == 0;
}

/* A status line: a 1xx response is skipped (its headers are not the final
   one's); the first other one is the final response, whose status goes to
   the receiver. */
static void cbk__curl_on_status_line(cbk__curl_call *call, const char *line, size_t end) {
    int status = cbk__curl_status_code(line, end);
    if (status < 0) return; /* curl would not have passed it on; be safe */
    if (status < 200) {
        call->phase = CBK__CURL_INTERIM;
    } else if (call->status_sent) {
        /* a later response (only if redirects were followed against
           our setting): its headers are not the final one's */
        call->phase = CBK__CURL_AFTER;
    } else {
        call->phase = CBK__CURL_FINAL;
        cbk__curl_send_status(call, status);
    }
}

/* The blank line that ends a header block. */
static void cbk__curl_on_blank_line(cbk__curl_call *call) {
    if (call->phase == CBK__CURL_INTERIM)
        call->phase = CBK__CURL_WAIT;
    else if (call->phase == CBK__CURL_FINAL)
        call->phase = CBK__CURL_AFTER;
}

/* "Name: value" of the final response goes to the receiver, the name and
   value trimmed of white space; anything else is passed over. */
static void cbk__curl_on_header_line(cbk__curl_call *call, const char *line, size_t end) {
    size_t name_end, v;
    const char *colon;

    if (call->phase != CBK__CURL_FINAL || line[0] == ' ' || line[0] == '\t')
        return; /* interim headers, trailers, folded continuations */
    colon = (const char *)memchr(line, ':', end);
    if (colon == NULL || colon == line) return;
    name_end = (size_t)(colon - line);
    while (name_end > 0 && cbk__curl_is_space(line[name_end - 1])) name_end--;
    v = (size_t)(colon - line) + 1;
    while (v < end && cbk__curl_is_space(line[v])) v++;
    while (end > v && cbk__curl_is_space(line[end - 1])) end--;
    if (cbk_response_header(call->res, line, name_end, line + v, end - v) != 0) call->stopped = 1;
}

/* curl's header callback: one line at a time, with its CRLF. Returns 0 (curl
   aborts the transfer) once the receiver has stopped. */
static size_t cbk__curl_on_header(char *data, size_t size, size_t count, void *user) {
    cbk__curl_call *call = (cbk__curl_call *)user;
    size_t len = size * count, end = len;

    if (call->stopped) return 0;
    while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n')) end--;
    if (cbk__curl_starts_response(call, data, end))
        cbk__curl_on_status_line(call, data, end);
    else if (end == 0)
        cbk__curl_on_blank_line(call);
    else
        cbk__curl_on_header_line(call, data, end);
    return call->stopped ? 0 : len;
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

/* The CAs: ca_file alone, else (on the adapter's own handle) curl's default
   bundle file. CAPATH is cleared with it, so curl 7.87+ parses the bundle
   once per handle and caches it, instead of once per connection. */
static CURLcode cbk__curl_set_ca(cbk_curl *ctx, CURL *easy) {
    const char *file = ctx->ca_file;
    CURLcode rc;
#if LIBCURL_VERSION_NUM >= 0x075400
    if (file == NULL && easy == ctx->own_easy) {
        char *builtin = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_CAINFO, &builtin) == CURLE_OK) file = builtin;
    }
#endif
    if (file == NULL) return CURLE_OK;
    rc = curl_easy_setopt(easy, CURLOPT_CAINFO, file);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_CAPATH, (char *)NULL);
    return rc;
}

/* This call's whole-exchange limit (CURLOPT_TIMEOUT_MS): timeout_ms, cut
   to the time the library has left of its opts.timeout_ms (left, the
   request's timeout_ms; 0: none). Set on every call, so a deadline never
   outlives its call on a reused handle. */
static long cbk__curl_timeout(long own, unsigned left) {
    long cut;
    if (left == 0) return own;
    cut = (long)(left > 0x7FFFFFFFu ? 0x7FFFFFFFu : left);
    return (own <= 0 || cut < own) ? cut : own;
}

/* The request carries a body: it has one, or it is a POST (an empty body). */
static int cbk__curl_has_body(const cbk_request *req) {
    return req->body != NULL || strcmp(req->method, "POST") == 0;
}

/* The header list: the request's headers, then empty "Expect:" (curl would
   add "Expect: 100-continue" to a large body and wait for the server) and,
   for a body without a Content-Type, empty "Content-Type:" (curl would add
   its form type). An empty "Name:" line is curl's way to send no such
   header. */
static CURLcode cbk__curl_build_headers(const cbk_request *req, int has_body,
                                        struct curl_slist **list) {
    CURLcode rc = CURLE_OK;
    size_t i;
    int has_content_type = 0;

    for (i = 0; i < req->header_count && rc == CURLE_OK; i++) {
        const cbk_header *h = &req->headers[i];
        if (cbk__curl_name_is(h->name, "content-type")) has_content_type = 1;
        rc = cbk__curl_add_header(list, h->name, h->value);
    }
    if (rc == CURLE_OK) rc = cbk__curl_add_line(list, "Expect:");
    if (rc == CURLE_OK && has_body && !has_content_type)
        rc = cbk__curl_add_line(list, "Content-Type:");
    return rc;
}

/* Where the request may go: this URL only, over HTTP or HTTPS only, and no
   redirect followed (the library gets each response as the server sent it). */
static CURLcode cbk__curl_set_url(CURL *easy, const cbk_request *req) {
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    return rc;
}

/* TLS: the peer's certificate and host name are always checked, against
   the CAs of cbk__curl_set_ca. Set on every call, so a caller's handle
   with the checks turned off checks again. */
static CURLcode cbk__curl_set_tls(cbk_curl *ctx, CURL *easy) {
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (rc == CURLE_OK) rc = cbk__curl_set_ca(ctx, easy);
    return rc;
}

/* The time limits: to connect, for the whole exchange (cbk__curl_timeout),
   and a stalled transfer (below 1 byte/s for low_speed_time_s; 0: off). */
static CURLcode cbk__curl_set_timeouts(cbk_curl *ctx, CURL *easy, const cbk_request *req) {
    long stall_s = ctx->low_speed_time_s > 0 ? ctx->low_speed_time_s : 0L;
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, ctx->connect_timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                              cbk__curl_timeout(ctx->timeout_ms, req->timeout_ms));
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, stall_s > 0 ? 1L : 0L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, stall_s);
    return rc;
}

/* How the response reaches the call: decoded (any encoding curl can undo),
   a proxy's CONNECT response left out, headers and body to the callbacks
   above. */
static CURLcode cbk__curl_set_response(CURL *easy, cbk__curl_call *call) {
    CURLcode rc = CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x071506
    rc = curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
#endif
#if LIBCURL_VERSION_NUM >= 0x073600
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
#endif
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, cbk__curl_on_header);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)call);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, cbk__curl_on_body);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)call);
    return rc;
}

/* Connection reuse: curl may re-send a request on a fresh connection when a
   kept one died unanswered; cbk__curl_on_prereq refuses that for a request
   that is not idempotent. Without the callback (curl < 7.80.0) such a
   request gets a fresh connection instead, so there is nothing to re-send. */
static CURLcode cbk__curl_set_reuse(CURL *easy, const cbk_request *req, cbk__curl_call *call) {
#ifdef CBK__CURL_HAS_PREREQ
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, cbk__curl_on_prereq);
    (void)req;
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_PREREQDATA, (void *)call);
    return rc;
#else
    (void)call;
    return curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
#endif
}

/* GET, POST and HEAD: curl's own (from the options here); any other method
   goes by name as CURLOPT_CUSTOMREQUEST. */
static int cbk__curl_is_curl_method(const char *method) {
    return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 || strcmp(method, "HEAD") == 0;
}

/* The method and the body. NOBODY 0 first: it would turn a later POST back
   into GET. Every one is set on every call, so nothing of the previous
   request on a reused handle remains. */
static CURLcode cbk__curl_set_method(CURL *easy, const cbk_request *req, int has_body) {
    const char *custom = cbk__curl_is_curl_method(req->method) ? NULL : req->method;
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
    if (rc != CURLE_OK) return rc;
    if (has_body) { /* a POST without one: an empty body */
        curl_off_t len = (curl_off_t)(req->body != NULL ? req->body_len : 0);
        rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
    } else {
        rc = curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    }
    if (rc == CURLE_OK && strcmp(req->method, "HEAD") == 0)
        rc = curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, custom);
    return rc;
}

/* Sets every option of one exchange, in this order; stops at the first
   failure. */
static CURLcode cbk__curl_setup(cbk_curl *ctx, CURL *easy, const cbk_request *req,
                                struct curl_slist **list, cbk__curl_call *call) {
    int has_body = cbk__curl_has_body(req);
    CURLcode rc = cbk__curl_build_headers(req, has_body, list);

    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, ctx->errbuf);
    if (rc == CURLE_OK) rc = cbk__curl_set_url(easy, req);
    if (rc == CURLE_OK) rc = cbk__curl_set_tls(ctx, easy);
    if (rc == CURLE_OK) rc = cbk__curl_set_timeouts(ctx, easy, req);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_VERBOSE, ctx->verbose ? 1L : 0L);
    if (rc == CURLE_OK) rc = cbk__curl_set_response(easy, call);
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *list);
    if (rc == CURLE_OK) rc = cbk__curl_set_reuse(easy, req, call);
    if (rc == CURLE_OK) rc = cbk__curl_set_method(easy, req, has_body);
    return rc;
}

static void cbk__curl_copy(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A CURLcode as the transport contract spells it: the code with the
   CBK_SEND_NOT_SENT / CBK_SEND_FINAL flags that apply. sent: the request was
   handed to a connection (curl's pre-request callback ran) before it failed. */
static int cbk__curl_code(CURLcode rc, int sent) {
    int not_sent = sent ? 0 : CBK_SEND_NOT_SENT;
    switch (rc) {
    /* before any attempt, the request never left; after one (curl's reconnect
       when a reused connection died) it may have arrived */
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return not_sent | (int)rc;
    /* before any attempt: the URL itself, and the same request would meet the
       same refusal; after one: a response curl could not take (HTTP/0.9) */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return sent ? (int)rc : CBK_SEND_NOT_SENT | CBK_SEND_FINAL | (int)rc;
    /* the server's certificate was refused: only a fix of the trust store or
       the URL helps; no byte of the request goes over a refused TLS session */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE: return not_sent | CBK_SEND_FINAL | (int)rc;
    default: return (int)rc;
    }
}

/* The handle of this call: the caller's, else the adapter's own (made once). */
static CURL *cbk__curl_handle(cbk_curl *ctx) {
    if (ctx->easy != NULL) return ctx->easy;
    if (ctx->own_easy == NULL) ctx->own_easy = curl_easy_init();
    return ctx->own_easy;
}

/* Runs the exchange; the CURLcode (CURLE_PARTIAL_FILE for a cut header block). */
static CURLcode cbk__curl_perform(cbk_curl *ctx, CURL *easy, const cbk_request *req,
                                  struct curl_slist **list, cbk__curl_call *call) {
    long connects = 0;
    CURLcode rc = cbk__curl_setup(ctx, easy, req, list, call);
    if (rc != CURLE_OK) return rc;
    rc = curl_easy_perform(easy);
    if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
        ctx->connects += connects;
    if (rc == CURLE_OK && call->phase == CBK__CURL_FINAL && !call->stopped) {
        /* curl accepts a close inside the header block; that response
           is cut short, whatever came of it */
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf,
                       "the connection closed inside the response headers");
        rc = CURLE_PARTIAL_FILE;
    }
    if (rc == CURLE_OK && !call->status_sent) { /* no body, no status line seen */
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        cbk__curl_send_status(call, (int)code);
    }
    return rc;
}

/* Leaves nothing in a reused handle that points at memory about to go. */
static void cbk__curl_unset(CURL *easy) {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)NULL);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
#ifdef CBK__CURL_HAS_PREREQ
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, (curl_prereq_callback)NULL);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, (void *)NULL);
#endif
}

/* The return value of a finished call (see RETURN VALUES). */
static int cbk__curl_result(cbk_curl *ctx, CURLcode rc, const cbk__curl_call *call) {
    if (call->stopped) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "stopped by the receiver");
        return (int)CURLE_WRITE_ERROR;
    }
    if (rc == CURLE_OK) {
        ctx->errbuf[0] = '\0';
        return 0;
    }
    if (call->resend_stopped) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf,
                       "the reused connection closed before any response; the request may "
                       "have reached the server and is not re-sent");
        return (int)CURLE_GOT_NOTHING;
    }
    if (ctx->errbuf[0] == '\0')
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, curl_easy_strerror(rc));
    return cbk__curl_code(rc, call->attempts > 0);
}

/* A NULL where the request needs a pointer (a header's name or value
   included): nothing can be sent. */
static int cbk__curl_bad_request(const cbk_request *req, const cbk_response *res) {
    size_t i;
    if (req == NULL || res == NULL || req->url == NULL || req->method == NULL ||
        (req->header_count > 0 && req->headers == NULL))
        return 1;
    for (i = 0; i < req->header_count; i++)
        if (req->headers[i].name == NULL || req->headers[i].value == NULL) return 1;
    return 0;
}

CBKDEF int cbk_curl_send(void *vctx, const cbk_request *req, cbk_response *res) {
    cbk_curl defaults;
    cbk_curl *ctx = (cbk_curl *)vctx;
    cbk__curl_call call;
    struct curl_slist *list = NULL;
    CURL *easy;
    CURLcode rc;
    int out;

    if (ctx == NULL) {
        cbk_curl_init(&defaults);
        ctx = &defaults;
    }
    ctx->errbuf[0] = '\0';
    if (cbk__curl_bad_request(req, res)) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "cbk_curl_send: bad argument");
        return CBK_SEND_NOT_SENT | CBK_SEND_FINAL | (int)CURLE_BAD_FUNCTION_ARGUMENT;
    }
    easy = cbk__curl_handle(ctx);
    if (easy == NULL) {
        cbk__curl_copy(ctx->errbuf, sizeof ctx->errbuf, "curl_easy_init failed");
        return (int)CURLE_FAILED_INIT;
    }

    memset(&call, 0, sizeof call);
    call.easy = easy;
    call.res = res;
    call.phase = CBK__CURL_WAIT;
    call.idempotent = req->idempotent;

    rc = cbk__curl_perform(ctx, easy, req, &list, &call);
    cbk__curl_unset(easy);
    curl_slist_free_all(list);
    out = cbk__curl_result(ctx, rc, &call);
    if (ctx == &defaults) cbk_curl_cleanup(&defaults);
    return out;
}

#ifdef __cplusplus
}
#endif

#undef CBK__CURL_WRITE_ERROR
#undef CBK__CURL_HAS_PREREQ
#endif /* CBK_TOKEN_CURL_IMPLEMENTATION */
