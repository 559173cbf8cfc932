/* test_adapters.c - the curl and POSIX adapters against tests/mock_api.py.
 *
 *   build/test_adapters [PORT [PORT6]]      (from the repository root)
 *
 * Built with -DCBK_TEST_NO_CURL (mk/adapters.mk does so on a machine
 * without libcurl's development files) it leaves the curl adapter out: the
 * POSIX half runs alone and the curl half is counted as one skip, with the
 * reason, in the closing line ("N passed, M failed, 1 skipped").
 *
 * Without arguments it starts tests/mock_api.py itself on 127.0.0.1 and on
 * [::1] ($PYTHON, default python3; the IPv6 part is skipped when ::1 is not
 * available) and stops them at the end. PORT: use a running mock on
 * 127.0.0.1 instead (default secret); PORT6: one on [::1]. Each adapter is driven directly through
 * the sans-I/O halves (cbk_fetch_prepare, the adapter's send, cbk_client_finish/abort), so no retry
 * hides what the adapter returned. Faults are queued through the mock's /__mock/ endpoints with the
 * POSIX adapter. Framing corner cases (interim responses, chunk extensions and trailers, bare LF,
 * bytes split one per write, malformed answers) come from a canned-response server the test forks
 * itself. Ends with "N passed, M failed"; exit 0 when all pass.
 */
#define _POSIX_C_SOURCE 200809L

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#include "tests/cases.h"
#include "tests/loopback.h"
#ifndef CBK_TEST_NO_CURL
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "adapters/cbk_token_curl.h"
#endif
#define CBK_TOKEN_POSIX_IMPLEMENTATION
#include "adapters/cbk_token_posix.h"

typedef struct sink {
    char data[1 << 20];
    size_t len;
    size_t calls;
    size_t stop_at; /* stop at this call (1-based), 0: never */
} sink;

static sink got, baseline;
static char work[1 << 16];
static char big[3 << 20];
static char base[128];

static int on_body(void *user, const char *data, size_t len) {
    sink *s = (sink *)user;
    s->calls++;
    if (s->len + len <= sizeof s->data) {
        memcpy(s->data + s->len, data, len);
        s->len += len;
    }
    return s->stop_at != 0 && s->calls >= s->stop_at;
}

typedef struct exchange {
    int rc;            /* what the adapter returned */
    cbk_result result; /* what the library made of it */
    int status;
    unsigned retry_ms;
    int may_retry;
} exchange;

/* One request through send/ctx, no retries. */
static exchange run(cbk_send_fn send, void *ctx, const char *base_url, const char *method,
                    const char *path, const char *json, size_t json_len, int stream) {
    static cbk_client c;
    cbk_client_options o;
    cbk_fetch_options f;
    const cbk_request *req = NULL;
    exchange x;
    memset(&x, 0, sizeof x);
    got.len = 0;
    got.calls = 0; /* got.stop_at stays as the test set it */
    cbk_client_options_init(&o);
    o.base_url = base_url;
    o.retries = 3; /* only consulted by cbk_client_retry_delay here */
    if (cbk_client_init(&c, "sk-test-secret", send, ctx, work, sizeof work, &o) != CBK_OK) {
        x.result = CBK_ERR_INVALID_ARGUMENT;
        return x;
    }
    memset(&f, 0, sizeof f);
    f.method = method;
    f.json = json;
    f.json_len = json_len;
    f.stream = stream;
    x.result = cbk_fetch_prepare(&c, path, &f, on_body, &got, &req);
    if (x.result != CBK_OK) return x;
    x.rc = send(ctx, req, cbk_client_response(&c));
    x.result = x.rc == 0 ? cbk_client_finish(&c) : cbk_client_abort(&c, x.rc);
    x.status = cbk_client_error(&c)->http_status;
    x.may_retry = cbk_client_retry_delay(&c, 0, &x.retry_ms);
    return x;
}

/* A request of our own (the library copies bodies into its work buffer,
   so a body far larger than that goes around it), fed to the receiver of a
   prepared GET. */
static exchange run_raw(cbk_send_fn send, void *ctx, const cbk_request *raw) {
    static cbk_client c;
    cbk_fetch_options f;
    const cbk_request *req = NULL;
    exchange x;
    memset(&x, 0, sizeof x);
    memset(&f, 0, sizeof f);
    got.len = 0;
    got.calls = 0;
    cbk_client_init(&c, "sk-test-secret", send, ctx, work, sizeof work, NULL);
    x.result = cbk_fetch_prepare(&c, "/unused", &f, on_body, &got, &req);
    if (x.result != CBK_OK) return x;
    x.rc = send(ctx, raw, cbk_client_response(&c));
    x.result = x.rc == 0 ? cbk_client_finish(&c) : cbk_client_abort(&c, x.rc);
    x.status = cbk_client_error(&c)->http_status;
    return x;
}

/* Control requests to the mock, over the POSIX adapter. */
static void mock(const char *path, const char *json) {
    static cbk_posix ctl;
    exchange x;
    cbk_posix_init(&ctl);
    x = run(cbk_posix_send, &ctl, base, "POST", path, json, strlen(json), 0);
    if (x.result != CBK_OK) {
        printf("mock control %s failed: %s rc=%d\n", path, cbk_result_str(x.result), x.rc);
        exit(2);
    }
}

#define LIST "/api/v1/partner/user/ta/token/list?take=100"

/* What an adapter returns where the two differ: the shared tests compare
   with these, so only the adapter's own setup names its codes (and the
   curl half can be left out, -DCBK_TEST_NO_CURL). */
typedef struct adapter_codes {
    int truncated; /* a Content-Length body cut short */
    int closed;    /* closed without an answer */
    int stopped;   /* the receiver asked to stop */
    int timeout;   /* the adapter's own time limit (see short_timeout) */
    int deadline;  /* the request's timeout_ms (opts.timeout_ms) ran out */
    int argument;  /* a NULL where a pointer is needed */
} adapter_codes;

typedef struct adapter {
    const char *name;
    cbk_send_fn send;
    void *ctx;
    int is_curl;
    adapter_codes codes;
    /* sets the adapter's own time limit to 300 ms (on) or back to its
       default (off) */
    void (*short_timeout)(void *ctx, int on);
} adapter;

static void posix_short_timeout(void *ctx, int on) {
    ((cbk_posix *)ctx)->read_timeout_ms = on ? 300 : 30000;
}

static adapter posix_adapter(cbk_posix *px) {
    adapter a;
    memset(&a, 0, sizeof a);
    a.name = "posix";
    a.send = cbk_posix_send;
    a.ctx = px;
    a.codes.truncated = CBK_POSIX_ERR_TRUNCATED;
    a.codes.closed = CBK_POSIX_ERR_CLOSED;
    a.codes.stopped = CBK_POSIX_ERR_STOPPED;
    a.codes.timeout = CBK_POSIX_ERR_TIMEOUT;
    a.codes.deadline = CBK_POSIX_ERR_DEADLINE;
    a.codes.argument = CBK_POSIX_ERR_ARGUMENT;
    a.short_timeout = posix_short_timeout;
    return a;
}

/* The POSIX adapter's detail of its last failure (cbk_posix.error); for
   checks that the curl adapter skips (is_curl || ...). */
static int posix_error(const adapter *a) {
    return ((const cbk_posix *)a->ctx)->error;
}

static void test_adapter(const adapter *a, const char *port6) {
    exchange x;
    char url[256];
    int is_curl = a->is_curl;
    printf("-- %s\n", a->name);
    case_title = a->name;

    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_OK, "rc=%d %s", x.rc, cbk_result_str(x.result));
    CHECK(got.len > 1000 && memcmp(got.data, "{\"items\":[", 10) == 0, "len=%zu", got.len);
    memcpy(&baseline, &got, sizeof got);

    /* chunked, one byte per chunk; then every byte in its own write */
    mock("/__mock/faults", "{\"chunk_bytes\":1}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_OK, "rc=%d", x.rc);
    CHECK(got.len == baseline.len && memcmp(got.data, baseline.data, got.len) == 0,
          "chunked body differs (%zu vs %zu)", got.len, baseline.len);
    mock("/__mock/faults", "{\"chunk_bytes\":7,\"drip_bytes\":1,\"drip_ms\":0}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && got.len == baseline.len && memcmp(got.data, baseline.data, got.len) == 0,
          "dripped body differs rc=%d", x.rc);
    CHECK(got.calls > 1, "body came in %zu pieces", got.calls);

    /* JSON Lines stream */
    x = run(a->send, a->ctx, base, "GET", "/api/v1/partner/user/ta/token/list", NULL, 0, 1);
    CHECK(x.rc == 0 && x.result == CBK_OK && got.calls == 30, "rc=%d lines=%zu", x.rc, got.calls);

    /* cut short: Content-Length, then chunked */
    mock("/__mock/faults", "{\"truncate\":40}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.result == CBK_ERR_TRANSPORT && x.rc != 0 && !CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT),
          "rc=%d", x.rc);
    CHECK(x.rc == a->codes.truncated, "rc=%d", x.rc);
    mock("/__mock/faults", "{\"truncate\":40,\"chunk_bytes\":10}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.result == CBK_ERR_TRANSPORT && x.rc != 0 && !CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT),
          "rc=%d", x.rc);
    CHECK(is_curl || x.rc == CBK_POSIX_ERR_TRUNCATED, "rc=%d", x.rc);
    CHECK(got.len == 40, "delivered %zu bytes before the cut", got.len);

    /* reset mid-body, closed without an answer */
    mock("/__mock/faults", "{\"drop_after\":30}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.result == CBK_ERR_TRANSPORT && x.rc != 0 && !CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT),
          "rc=%d", x.rc);
    mock("/__mock/faults", "{\"close\":true}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.result == CBK_ERR_TRANSPORT && x.rc == a->codes.closed, "rc=%d", x.rc);

    /* the receiver stops at the first piece */
    mock("/__mock/faults", "{\"chunk_bytes\":100}");
    got.stop_at = 1;
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    got.stop_at = 0;
    CHECK(x.rc == a->codes.stopped, "rc=%d", x.rc);
    CHECK(x.result == CBK_ERR_CANCELLED && got.calls == 1, "%s calls=%zu", cbk_result_str(x.result),
          got.calls);

    /* a header line longer than the POSIX buffer; Retry-After reaches the library */
    {
        static char fault[4096];
        size_t n = (size_t)sprintf(fault, "{\"headers\":{\"X-Big\":\"");
        memset(fault + n, 'a', 3000);
        strcpy(fault + n + 3000, "\"}}");
        mock("/__mock/faults", fault);
        x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
        CHECK(is_curl ? x.rc == 0 : x.rc == CBK_POSIX_ERR_LINE_TOO_LONG, "rc=%d", x.rc);
    }
    mock("/__mock/faults", "{\"status\":429,\"headers\":{\"Retry-After\":\"7\"},"
                           "\"body\":{\"message\":\"slow down\",\"code\":\"TOO_MANY\"}}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_ERR_HTTP && x.status == 429, "rc=%d status=%d", x.rc,
          x.status);
    CHECK(x.may_retry == 1 && x.retry_ms == 7000, "may_retry=%d retry_ms=%u", x.may_retry,
          x.retry_ms);

    /* a large POST body: far bigger than any buffer, then over the mock's limit */
    {
        cbk_request raw;
        cbk_header h[2];
        size_t n = (size_t)sprintf(big, "{\"name\":\"");
        snprintf(url, sizeof url, "%s/api/v1/partner/user/tb/token/create", base);
        h[0].name = "Authorization";
        h[0].value = "Bearer sk-test-secret";
        h[1].name = "Content-Type";
        h[1].value = "application/json";
        memset(&raw, 0, sizeof raw);
        raw.method = "POST";
        raw.url = url;
        raw.headers = h;
        raw.header_count = 2;
        raw.body = big;
        memset(big + n, 'n', 200000);
        n += 200000;
        n += (size_t)sprintf(big + n, "\"}");
        raw.body_len = n;
        x = run_raw(a->send, a->ctx, &raw);
        CHECK(x.rc == 0 && x.result == CBK_OK && memcmp(got.data, "{\"id\":", 6) == 0,
              "rc=%d %s status=%d", x.rc, cbk_result_str(x.result), x.status);
        n = (size_t)sprintf(big, "{\"name\":\"");
        memset(big + n, 'n', 2u << 20);
        n += 2u << 20;
        n += (size_t)sprintf(big + n, "\"}");
        raw.body_len = n;
        x = run_raw(a->send, a->ctx, &raw);
        CHECK(x.rc == 0 && x.result == CBK_ERR_HTTP && x.status == 413, "rc=%d %s status=%d", x.rc,
              cbk_result_str(x.result), x.status);
    }

    /* timeouts */
    a->short_timeout(a->ctx, 1);
    mock("/__mock/faults", "{\"delay_ms\":1200}");
    x = run(a->send, a->ctx, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == a->codes.timeout, "rc=%d", x.rc);
    a->short_timeout(a->ctx, 0);
    sleep(1); /* let the delayed answer drain */

    /* never sent: refused, unresolvable */
    {
        dead_port_url(url, sizeof url);
        x = run(a->send, a->ctx, url, "GET", LIST, NULL, 0, 0);
        CHECK(CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT) && x.result == CBK_ERR_TRANSPORT, "rc=%d",
              x.rc);
        CHECK(is_curl || posix_error(a) == CBK_POSIX_ERR_CONNECT, "detail=%d", posix_error(a));
    }
    x = run(a->send, a->ctx, "http://cbk-no-such-host.invalid", "GET", LIST, NULL, 0, 0);
    CHECK(CBK_SEND_HAS(x.rc, CBK_SEND_NOT_SENT), "rc=%d", x.rc);
    CHECK(is_curl || posix_error(a) == CBK_POSIX_ERR_RESOLVE, "detail=%d", posix_error(a));

    /* "localhost" may resolve to ::1 first, where nothing listens: next address */
    snprintf(url, sizeof url, "http://localhost:%s", strrchr(base, ':') + 1);
    x = run(a->send, a->ctx, url, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_OK, "localhost rc=%d", x.rc);
    if (port6 != NULL) {
        snprintf(url, sizeof url, "http://[::1]:%s", port6);
        x = run(a->send, a->ctx, url, "GET", "/api/v1/partner/user/ta/token/list", NULL, 0, 0);
        CHECK(x.rc == 0 && x.result == CBK_OK, "ipv6 rc=%d %s", x.rc, cbk_result_str(x.result));
    }
}

/* ---- canned responses ---------------------------------------------------- */

typedef struct canned {
    const char *wire; /* what the server writes, then it closes */
    const char *body; /* the body the receiver must get; NULL: must fail */
    int posix_rc;     /* the POSIX adapter's return when body is NULL */
    int curl_fails;   /* curl is stricter (1) or laxer (-1) than the POSIX adapter */
} canned;

static const canned cans[] = {
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;ext=1;q=\"a b\"\r\nhello\r\n6 ; x\r\n world\r\nA\r\n, 10 bytes\r\n0\r\nX-Trailer: "
     "1\r\n\r\n",
     "hello world, 10 bytes", 0, 0},
    {"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", "hello", 0, 0},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     "ok", 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"to\":\"eof\"}",
     "{\"to\":\"eof\"}", 0, 0},
    {"HTTP/1.0 200 OK\r\n\r\n[1,2]", "[1,2]", 0, 0},
    {"HTTP/1.1 204 No Content\r\n\r\n", "", 0, 0},
    {"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 3\r\n\r\nabcEXTRA", "abc", 0, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", "hi", 0, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n",
     "abc", 0, 0},
    /* the 0 chunk came, the empty line after the trailers did not: cut, for
       both (the POSIX adapter accepted it before it was the HTTP/1.1 engine) */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", NULL,
     CBK_POSIX_ERR_TRUNCATED, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL, CBK_POSIX_ERR_TRUNCATED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", NULL,
     CBK_POSIX_ERR_TRUNCATED, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", NULL, CBK_POSIX_ERR_TRUNCATED,
     0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", NULL,
     CBK_POSIX_ERR_BAD_RESPONSE, 0},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", NULL,
     CBK_POSIX_ERR_BAD_RESPONSE, 0},
    {"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", NULL, CBK_POSIX_ERR_BAD_RESPONSE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi", NULL,
     CBK_POSIX_ERR_BAD_RESPONSE, 0},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi", NULL, CBK_POSIX_ERR_BAD_RESPONSE, 0},
    /* whitespace in a field name: refused here (RFC 9112 5.1), curl lets it by */
    {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\nhi", NULL, CBK_POSIX_ERR_BAD_RESPONSE, -1},
    {"HTTP/1.1 200 OK\r\nContent-Len", NULL, CBK_POSIX_ERR_CLOSED, 0},
    {"", NULL, CBK_POSIX_ERR_CLOSED, 0},
};

#define CANS ((int)(sizeof cans / sizeof cans[0]))

/* "/drip": "HTTP/1.1 100 Continue" lines, a byte every 50 ms, never silent
   for a read timeout; until the client hangs up (at most 2 minutes). */
static void raw_drip(int c) {
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct timespec ts = {0, 50000000L};
    int i;
    for (i = 0; i < 2400; i++) {
        if (send(c, line + i % (int)(sizeof line - 1), 1, 0) != 1) return;
        nanosleep(&ts, NULL);
    }
}

/* Writes w to c, one byte per write when split. */
static void raw_write(int c, const char *w, int split) {
    struct timespec ts = {0, 300000};
    if (!split) {
        send(c, w, strlen(w), 0);
        return;
    }
    for (; *w != '\0'; w++) {
        send(c, w, 1, 0);
        nanosleep(&ts, NULL);
    }
}

/* Reads from c until the end of a request head (or EOF, or size - 1 bytes);
   req holds what came, NUL-terminated. */
static void raw_read_head(int c, char *req, size_t size) {
    size_t n = 0;
    while (n < size - 1) {
        ssize_t k = recv(c, req + n, size - 1 - n, 0);
        if (k <= 0) break;
        n += (size_t)k;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL) break;
    }
    req[n] = '\0';
}

/* "/stale": a whole response, then bytes that are none, written only once
   the next request came on the kept connection, as if they had been left
   over from the first: however the processes are scheduled, the client
   reuses the connection (nothing was there when it looked) and its request
   went out before they arrived. A client that does not reuse it gets 10 s
   of wait and nothing, then its own connection is served. */
static void raw_stale(int c) {
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    struct timeval wait = {10, 0};
    char next[8192];
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    send(c, ok, sizeof ok - 1, 0);
    raw_read_head(c, next, sizeof next);
    if (next[0] != '\0') send(c, "EXTRA", 5, 0);
}

/* Answers one request head: "/raw/<case>/<split>" with cans[case] (see
   raw_write), "/drip" with raw_drip, "/stale" with raw_stale, anything else
   with nothing. */
static void raw_answer(int c, const char *req) {
    const char *p = strstr(req, "/raw/");
    int which = 0, split = 0;
    if (strncmp(req, "GET /drip ", 10) == 0)
        raw_drip(c);
    else if (strncmp(req, "GET /stale ", 11) == 0)
        raw_stale(c);
    else if (p != NULL && sscanf(p, "/raw/%d/%d", &which, &split) == 2 && which >= 0 &&
             which < CANS)
        raw_write(c, cans[which].wire, split);
}

/* The forked server: for each connection reads the request head, answers it
   (raw_answer), then closes its side and drains. */
static void raw_server(int lfd) {
    for (;;) {
        char req[8192];
        int c = accept(lfd, NULL, NULL);
        if (c < 0) continue;
        raw_read_head(c, req, sizeof req);
        raw_answer(c, req);
        shutdown(c, SHUT_WR);
        while (recv(c, req, sizeof req, 0) > 0) {
        }
        close(c);
    }
}

static pid_t raw_start(unsigned *port) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
        perror("raw server");
        exit(2);
    }
    *port = ntohs(sa.sin_port);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        raw_server(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

static void test_canned(const adapter *a, unsigned port) {
    char url[64], path[32];
    int i, split;
    printf("-- %s: canned responses\n", a->name);
    case_title = a->name;
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    for (i = 0; i < CANS; i++) {
        for (split = 0; split < 2; split++) {
            const canned *k = &cans[i];
            exchange x;
            snprintf(path, sizeof path, "/raw/%d/%d", i, split);
            x = run(a->send, a->ctx, url, "GET", path, NULL, 0, 0);
            /* this server answers once per connection and closes without a
               "Connection: close" (some cases send bytes after the end): a
               kept connection is dropped so each case starts on a new one */
            if (!a->is_curl) cbk_posix_cleanup((cbk_posix *)a->ctx);
            if (a->is_curl && k->curl_fails == 1) {
                CHECK(x.rc != 0 && x.result == CBK_ERR_TRANSPORT, "case %d split %d: rc=%d", i,
                      split, x.rc);
            } else if (a->is_curl && k->curl_fails == -1) {
                CHECK(x.rc == 0, "case %d split %d: rc=%d", i, split, x.rc);
            } else if (k->body != NULL) {
                CHECK(x.rc == 0 && x.result == CBK_OK, "case %d split %d: rc=%d %s", i, split, x.rc,
                      cbk_result_str(x.result));
                CHECK(got.len == strlen(k->body) && memcmp(got.data, k->body, got.len) == 0,
                      "case %d split %d: body %.*s", i, split, (int)got.len, got.data);
            } else if (a->is_curl) {
                CHECK(x.rc != 0 && x.result == CBK_ERR_TRANSPORT, "case %d split %d: rc=%d", i,
                      split, x.rc);
            } else {
                CHECK(x.rc == k->posix_rc && x.result == CBK_ERR_TRANSPORT,
                      "case %d split %d: rc=%d want %d", i, split, x.rc, k->posix_rc);
            }
        }
    }
}

/* ---- the mocks ------------------------------------------------------------ */

/* ---- bad arguments --------------------------------------------------------- */

/* A NULL where a pointer is needed: refused before anything is sent, and
   flagged so (CBK_SEND_NOT_SENT | CBK_SEND_FINAL), the same for both
   adapters (and the engine). */
static void test_bad_arguments(const adapter *a) {
    static cbk_client c;
    static const cbk_header ok_header = {"X-A", "1"};
    cbk_header bad_headers[2][1] = {{{NULL, "1"}}, {{"X-A", NULL}}};
    const cbk_request *prepared = NULL;
    cbk_request req[6];
    cbk_fetch_options f;
    cbk_response *res;
    int want = CBK_SEND_NOT_SENT | CBK_SEND_FINAL | a->codes.argument, i, rc;
    printf("-- %s: bad arguments\n", a->name);
    case_title = a->name;
    memset(&f, 0, sizeof f);
    cbk_client_init(&c, "sk-test-secret", a->send, a->ctx, work, sizeof work, NULL);
    if (cbk_fetch_prepare(&c, "/unused", &f, NULL, NULL, &prepared) != CBK_OK) {
        CHECK(0, "prepare failed");
        return;
    }
    res = cbk_client_response(&c);
    for (i = 0; i < 6; i++) {
        req[i] = *prepared;
        req[i].headers = &ok_header;
        req[i].header_count = 1;
    }
    req[0].url = NULL;
    req[1].method = NULL;
    req[2].headers = NULL;
    req[3].headers = bad_headers[0];
    req[4].headers = bad_headers[1];
    rc = a->send(a->ctx, NULL, res);
    CHECK(rc == want, "NULL request: rc=%d want %d", rc, want);
    rc = a->send(a->ctx, &req[5], NULL);
    CHECK(rc == want, "NULL response: rc=%d want %d", rc, want);
    for (i = 0; i < 5; i++) {
        rc = a->send(a->ctx, &req[i], res);
        CHECK(rc == want, "bad request %d: rc=%d want %d", i, rc, want);
    }
    cbk_client_abort(&c, want);
}

/* ---- the operation's deadline (opts.timeout_ms) -------------------------- */

static long elapsed_ms(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* opts.timeout_ms reaches the adapter as cbk_request.timeout_ms and ends
   the call by then, whatever the adapter's own (longer) limits: a server
   that accepts and says nothing, and one that drips 1xx bytes faster than
   any read timeout. The lower bound is strict (10 ms for the clocks'
   rounding): the call lasts the whole time left. The upper bound is
   generous (a loaded machine): it only has to be far below the adapters'
   own 30 s and 60 s limits. */
static void test_deadline(const adapter *a, const char *silent_url, const char *drip_url) {
    static cbk_client c;
    static const char *const paths[2] = {"/silent", "/drip"};
    const char *urls[2];
    cbk_client_options o;
    int i;
    urls[0] = silent_url;
    urls[1] = drip_url;
    printf("-- %s: opts.timeout_ms\n", a->name);
    case_title = a->name;
    for (i = 0; i < 2; i++) {
        struct timespec t0;
        cbk_result r;
        long ms;
        int rc;
        cbk_client_options_init(&o);
        o.base_url = urls[i];
        o.retries = 0;
        o.timeout_ms = 1500;
        cbk_client_init(&c, "sk-test-secret", a->send, a->ctx, work, sizeof work, &o);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = cbk_fetch(&c, paths[i], NULL, NULL, NULL);
        ms = elapsed_ms(&t0);
        rc = cbk_client_error(&c)->transport_code;
        CHECK(r == CBK_ERR_TRANSPORT, "%s: %s", paths[i], cbk_result_str(r));
        CHECK(ms >= 1500 - 10 && ms < 1500 + 8000, "%s: ended after %ld ms", paths[i], ms);
        CHECK(!CBK_SEND_HAS(rc, CBK_SEND_FINAL), "%s: rc=%d", paths[i], rc);
        CHECK(CBK_SEND_CODE(rc) == a->codes.deadline, "%s: rc=%d", paths[i], rc);
        if (!a->is_curl) cbk_posix_cleanup((cbk_posix *)a->ctx);
    }
}

/* Starts tests/mock_api.py on host; its port in port (a string), or "" when
   it did not come up. */
static pid_t start_mock(const char *host, char *port, size_t size) {
    char *argv[] = {(char *)loopback_python(),
                    "tests/mock_api.py",
                    "--host",
                    (char *)host,
                    "--port",
                    "0",
                    "--max-seconds", /* a last resort: it is stopped by PID */
                    "1800",
                    NULL};
    unsigned n;
    pid_t pid = loopback_spawn(argv, &n, NULL);
    snprintf(port, size, "%s", "");
    if (pid > 0) snprintf(port, size, "%u", n);
    return pid;
}

/* The local servers both halves run against (main starts them). */
typedef struct servers {
    unsigned raw_port; /* the canned-response server (raw_start) */
    char silent_url[64], drip_url[64];
    const char *port6; /* the mock on [::1]; NULL: none */
} servers;

static void test_posix(const servers *sv) {
    static cbk_posix px;
    adapter a;
    exchange x;
    cbk_posix_init(&px);
    a = posix_adapter(&px);
    test_adapter(&a, sv->port6);
    test_canned(&a, sv->raw_port);
    test_deadline(&a, sv->silent_url, sv->drip_url);
    test_bad_arguments(&a);

    /* POSIX-only refusals */
    x = run(cbk_posix_send, &px, "https://127.0.0.1:1", "GET", LIST, NULL, 0, 0);
    CHECK(CBK_SEND_CODE(x.rc) == CBK_POSIX_ERR_HTTPS_UNSUPPORTED &&
              CBK_SEND_HAS(x.rc, CBK_SEND_FINAL) && x.result == CBK_ERR_TRANSPORT,
          "rc=%d", x.rc);
}

#ifndef CBK_TEST_NO_CURL
static void curl_short_timeout(void *ctx, int on) {
    ((cbk_curl *)ctx)->timeout_ms = on ? 300 : 0;
}

static adapter curl_adapter(const char *name, cbk_curl *cu) {
    adapter a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.send = cbk_curl_send;
    a.ctx = cu;
    a.is_curl = 1;
    a.codes.truncated = (int)CURLE_PARTIAL_FILE;
    a.codes.closed = (int)CURLE_GOT_NOTHING;
    a.codes.stopped = (int)CURLE_WRITE_ERROR;
    a.codes.timeout = (int)CURLE_OPERATION_TIMEDOUT;
    a.codes.deadline = (int)CURLE_OPERATION_TIMEDOUT;
    a.codes.argument = (int)CURLE_BAD_FUNCTION_ARGUMENT;
    a.short_timeout = curl_short_timeout;
    return a;
}

/* Bytes past a response that arrive later (after curl reused the connection:
   raw_stale) are read by curl as the next response on the kept connection: that
   call fails, without CBK_SEND_NOT_SENT or CBK_SEND_FINAL (the request went out).
   (Canned case 6 byte by byte raced: a client slowed down by load read its extra
   bytes with the response, and curl dropped the connection.) */
static void test_curl_stale(cbk_curl *cu, unsigned raw_port) {
    char raw_url[64];
    exchange x;
    snprintf(raw_url, sizeof raw_url, "http://127.0.0.1:%u", raw_port);
    x = run(cbk_curl_send, cu, raw_url, "GET", "/stale", NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_OK && got.len == 3, "rc=%d", x.rc);
    x = run(cbk_curl_send, cu, raw_url, "GET", "/stale", NULL, 0, 0);
    CHECK(x.rc == (int)CURLE_UNSUPPORTED_PROTOCOL && x.result == CBK_ERR_TRANSPORT,
          "stale bytes on a kept connection: rc=%d", x.rc);
    cbk_curl_cleanup(cu);
}

/* The curl half; returns the skips (none: it ran). */
static int test_curl(const servers *sv) {
    static cbk_curl cu, cu_reuse;
    adapter a;
    exchange x;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cbk_curl_init(&cu);
    a = curl_adapter("curl, the adapter's own handle, reused", &cu);
    test_adapter(&a, sv->port6);
    test_deadline(&a, sv->silent_url, sv->drip_url);
    test_bad_arguments(&a);
    /* the deadline was for those calls only: a later one without it waits */
    mock("/__mock/faults", "{\"delay_ms\":2500}");
    x = run(cbk_curl_send, &cu, base, "GET", LIST, NULL, 0, 0);
    CHECK(x.rc == 0 && x.result == CBK_OK, "after a deadline: rc=%d", x.rc);
    cbk_curl_cleanup(&cu);
    /* the canned server writes some bytes past a response: a fresh handle each */
    a = curl_adapter("curl, a handle per call (NULL context)", NULL);
    test_canned(&a, sv->raw_port);
    test_curl_stale(&cu, sv->raw_port);

    cbk_curl_init(&cu_reuse);
    cu_reuse.easy = curl_easy_init();
    a = curl_adapter("curl, one reused handle", &cu_reuse);
    test_adapter(&a, sv->port6);
    curl_easy_cleanup(cu_reuse.easy);
    curl_global_cleanup();
    return 0;
}
#else
static int test_curl(const servers *sv) {
    (void)sv;
    printf("SKIP curl adapter: libcurl development files not found (apt-get install "
           "libcurl4-openssl-dev); this build has -DCBK_TEST_NO_CURL\n");
    return 1;
}
#endif

int main(int argc, char **argv) {
    static char port4[16], port6[16];
    static servers sv;
    int silent_fd, skipped;
    sv.port6 = argc > 2 ? argv[2] : NULL;
    atexit(loopback_stop_all);
    if (argc < 2) {
        if (start_mock("127.0.0.1", port4, sizeof port4) == 0) {
            printf("cannot start tests/mock_api.py (run from the repository root)\n");
            return 2;
        }
        if (start_mock("::1", port6, sizeof port6) == 0)
            printf("note: no mock on [::1]; the IPv6 check is skipped\n");
        sv.port6 = port6[0] ? port6 : NULL;
    } else {
        snprintf(port4, sizeof port4, "%s", argv[1]);
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%s", port4);
    loopback_track(raw_start(&sv.raw_port));
    snprintf(sv.drip_url, sizeof sv.drip_url, "http://127.0.0.1:%u", sv.raw_port);
    silent_fd = silent_listener(sv.silent_url, sizeof sv.silent_url);
    CHECK(silent_fd >= 0, "no loopback listener");
    mock("/__mock/reset", "{}");
    mock("/__mock/seed", "{\"user\":\"ta\",\"count\":30,\"name_prefix\":\"token name \"}");

    test_posix(&sv);
    skipped = test_curl(&sv);

    loopback_stop_all();
    if (silent_fd >= 0) close(silent_fd);

    if (skipped > 0)
        printf("%d passed, %d failed, %d skipped\n", checks - failures, failures, skipped);
    else
        printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
