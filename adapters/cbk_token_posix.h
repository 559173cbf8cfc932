/* cbk_token_posix.h v0.2.0 - plain-HTTP socket transport for cbk_token.h - MIT or public domain
 *
 * ABOUT
 *   A send callback (cbk_send_fn) for cbk_token.h speaking HTTP/1.1 over
 *   POSIX sockets, for http:// URLs only: development, test rigs, and stacks
 *   behind a TLS-terminating proxy. https:// is refused with
 *   CBK_POSIX_ERR_HTTPS_UNSUPPORTED: this adapter has no TLS, and it never
 *   falls back to sending a secret in clear over a URL that asked for TLS.
 *   Use adapters/cbk_token_curl.h (or your own TLS stack) for https.
 *
 *   It is adapters/cbk_token_http1.h (the HTTP/1.1 engine: request, status,
 *   headers, Content-Length, chunked and close-delimited bodies, keep-alive)
 *   over BSD sockets: getaddrinfo (IPv4 and IPv6, each address tried in
 *   turn), a connect timeout, a read timeout via poll, TCP_NODELAY, sends
 *   that never raise SIGPIPE. The connection is kept open between requests
 *   to the same host and port (a whole list_all is one connection) until
 *   cbk_posix_cleanup; a connection the server closed while idle is noticed
 *   before the next request is written and replaced. No heap: one fixed
 *   buffer inside the context (getaddrinfo allocates internally; its list
 *   is always freed).
 *
 * USAGE
 *   #define _POSIX_C_SOURCE 200809L              // before ANY #include, in the
 *                                                // file with the implementation
 *   #include "cbk_token.h"
 *   #define CBK_TOKEN_POSIX_IMPLEMENTATION       // in exactly one .c file
 *   #include "adapters/cbk_token_posix.h"        // includes cbk_token_http1.h
 *
 *   cbk_posix net;                               // about CBK_POSIX_BUF + 400 bytes
 *   cbk_posix_init(&net);
 *   net.read_timeout_ms = 5000;
 *   cbk_client_options o;
 *   cbk_client_options_init(&o);
 *   o.base_url = "http://127.0.0.1:8080";
 *   cbk_client_init(&c, secret, cbk_posix_send, &net, work, sizeof work, &o);
 *   ... operations ...
 *   cbk_posix_cleanup(&net);                     // closes the kept connection
 *
 *   The implementation needs POSIX.1-2008 declarations (getaddrinfo, poll,
 *   clock_gettime) that strict C modes (-std=c99) hide: the file that
 *   defines CBK_TOKEN_POSIX_IMPLEMENTATION must define _POSIX_C_SOURCE to
 *   200809L (or _GNU_SOURCE, ...) before its first #include, or pass
 *   -D_POSIX_C_SOURCE=200809L. On glibc and musl a missing definition stops
 *   the build with an #error that says so. Files that only call the adapter
 *   need nothing. The implementation also compiles the engine's
 *   (CBK_TOKEN_HTTP1_IMPLEMENTATION): do not define that in another file of
 *   the same program.
 *
 * THE CONTEXT (cbk_posix, caller-owned, one per thread)
 *   connect_timeout_ms  longest wait for the TCP connection, across all the
 *                       addresses of the host; default 10000; <= 0: the
 *                       system's own limit.
 *   read_timeout_ms     longest wait for the next bytes of the response (and
 *                       for the socket to take more of the request); an idle
 *                       timeout; default 30000; <= 0: none.
 *   deadline_ms         longest a whole exchange may take (connect, request,
 *                       1xx, head, body), so a server that drips bytes just
 *                       faster than read_timeout_ms cannot hold a call for
 *                       hours; default 300000 (5 minutes: raise it for big
 *                       cbk_fetch downloads); <= 0: none. Every wait is cut
 *                       to what is left of it.
 *   keep_alive          1 (default): keep the connection for the next
 *                       request; 0: "Connection: close", one connection per
 *                       request (the 0.1 behaviour).
 *   error, sys_error    out: the CBK_POSIX_ERR_* detail of the last call (0
 *                       after a success) and the errno, or for
 *                       CBK_POSIX_ERR_RESOLVE the getaddrinfo EAI_* code
 *                       (gai_strerror). cbk_posix_strerror(error) in words.
 *   http                the engine; read http.connects (connections opened)
 *                       and http.requests (requests written) for reports.
 *   fd, buf             private: the kept socket (-1: none) and CBK_POSIX_BUF
 *                       bytes for the request head and the response as it
 *                       is read. The part of buf an exchange used is wiped
 *                       when it ends (it held the Authorization line and,
 *                       after a create, the new token's secret);
 *                       cbk_posix_cleanup wipes all of it.
 *   A cbk_posix may be copied before its first send, not while a
 *   connection is kept.
 *
 * WHAT IS SENT, WHAT IS READ, KEEP-ALIVE, RE-SENDING
 *   As the engine does: see adapters/cbk_token_http1.h. In short: Host,
 *   the request's headers, "Accept: * / *" (without the spaces) when there
 *   is none, Content-Length for a body or a POST; 1xx skipped (101
 *   refused), chunked / Content-Length / read-to-close bodies, HEAD, 204
 *   and 304 without one; a body cut short never completes. A GET, update
 *   or delete (req->idempotent) that meets a connection the server had
 *   closed is re-sent once on a new one; a create or a cbk_fetch POST never
 *   is once any byte of it may have left.
 *
 * RETURN VALUES OF cbk_posix_send (they land in cbk_error.transport_code)
 *   0                                 the exchange completed (any status)
 *   CBK_SEND_NOT_SENT | code          the request never left: the name did
 *                                     not resolve (RESOLVE), every address
 *                                     refused or was unreachable or no
 *                                     socket could be made (CONNECT), no
 *                                     connection within connect_timeout_ms
 *                                     (CONNECT_TIMEOUT), deadline_ms passed
 *                                     before the first byte was written
 *                                     (DEADLINE)
 *   CBK_SEND_NOT_SENT | CBK_SEND_FINAL | code
 *                                     nothing was sent and a retry cannot
 *                                     help: ARGUMENT, URL, HTTPS_UNSUPPORTED
 *   code                              the server may have received the
 *                                     request: any other code below
 *   The codes (CBK_SEND_CODE(rc)):
 *   CBK_POSIX_ERR_ARGUMENT      (1)   NULL argument, a bad method, CR/LF in
 *                                     a header
 *   CBK_POSIX_ERR_URL           (2)   not http://host[:port][/path]: other
 *                                     scheme, user info, bad port, bad bytes
 *   CBK_POSIX_ERR_HTTPS_UNSUPPORTED (3) an https:// URL
 *   CBK_POSIX_ERR_RESOLVE       (4)   name resolution failed
 *   CBK_POSIX_ERR_CONNECT       (5)   refused, unreachable or no socket
 *   CBK_POSIX_ERR_CONNECT_TIMEOUT (6) no connection within connect_timeout_ms
 *                                     (or the system's limit)
 *   CBK_POSIX_ERR_SEND          (7)   sending failed (reset, broken pipe)
 *   CBK_POSIX_ERR_TIMEOUT       (8)   no progress for read_timeout_ms
 *   CBK_POSIX_ERR_RECV          (9)   receiving failed (connection reset)
 *   CBK_POSIX_ERR_CLOSED        (10)  closed before the response's head
 *                                     was complete (no response)
 *   CBK_POSIX_ERR_BAD_RESPONSE  (11)  not HTTP/1.x framing
 *   CBK_POSIX_ERR_LINE_TOO_LONG (12)  a response line does not fit in
 *                                     CBK_POSIX_BUF
 *   CBK_POSIX_ERR_TRUNCATED     (13)  closed inside a Content-Length or
 *                                     chunked body
 *   CBK_POSIX_ERR_STOPPED       (14)  the receiver asked to stop (the library
 *                                     knows why)
 *   CBK_POSIX_ERR_DEADLINE      (15)  deadline_ms passed
 *   CBK_POSIX_ERR_HEAD_TOO_LARGE (16) more than 100 header lines or 64 KiB
 *                                     before the body
 *   Codes 1, 2 and 5..16 are the engine's CBK_HTTP1_ERR_* numbers. Codes
 *   are only ever appended.
 *
 * SIGNALS AND THREADS
 *   Sends use MSG_NOSIGNAL (or SO_NOSIGPIPE where that exists), so a peer
 *   that goes away gives CBK_POSIX_ERR_SEND, not SIGPIPE; on a system with
 *   neither, ignore SIGPIPE yourself. EINTR is retried. Sockets are
 *   close-on-exec and closed on every failure and by cbk_posix_cleanup.
 *   One cbk_posix per thread.
 *
 * CONFIGURATION
 *   CBK_TOKEN_POSIX_IMPLEMENTATION  in one file: compile the implementation
 *                    (and the engine's).
 *   CBK_POSIX_BUF    the context's buffer (default 2048, at least 256); it
 *                    bounds the longest response header line. It changes
 *                    the size of cbk_posix: set it the same in every file.
 *   CBKDEF (from cbk_token.h)       linkage, static under CBK_TOKEN_STATIC.
 */
#ifndef CBK_TOKEN_POSIX_H
#define CBK_TOKEN_POSIX_H

#ifndef CBK_TOKEN_H
#error "include cbk_token.h before adapters/cbk_token_posix.h"
#endif

#include "cbk_token_http1.h"

#ifndef CBK_POSIX_BUF
#define CBK_POSIX_BUF 2048
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* CBK_POSIX_BUF must leave room for a status line and a header or two. */
typedef char cbk__posix_buf_check[(CBK_POSIX_BUF) >= 256 ? 1 : -1];

/* The detail codes; see RETURN VALUES at the top. */
enum cbk_posix_error {
    CBK_POSIX_ERR_ARGUMENT = CBK_HTTP1_ERR_ARGUMENT,
    CBK_POSIX_ERR_URL = CBK_HTTP1_ERR_URL,
    CBK_POSIX_ERR_HTTPS_UNSUPPORTED = 3,
    CBK_POSIX_ERR_RESOLVE = 4,
    CBK_POSIX_ERR_CONNECT = CBK_HTTP1_ERR_CONNECT,
    CBK_POSIX_ERR_CONNECT_TIMEOUT = 6,
    CBK_POSIX_ERR_SEND = CBK_HTTP1_ERR_SEND,
    CBK_POSIX_ERR_TIMEOUT = CBK_HTTP1_ERR_TIMEOUT,
    CBK_POSIX_ERR_RECV = CBK_HTTP1_ERR_RECV,
    CBK_POSIX_ERR_CLOSED = CBK_HTTP1_ERR_CLOSED,
    CBK_POSIX_ERR_BAD_RESPONSE = CBK_HTTP1_ERR_BAD_RESPONSE,
    CBK_POSIX_ERR_LINE_TOO_LONG = CBK_HTTP1_ERR_LINE_TOO_LONG,
    CBK_POSIX_ERR_TRUNCATED = CBK_HTTP1_ERR_TRUNCATED,
    CBK_POSIX_ERR_STOPPED = CBK_HTTP1_ERR_STOPPED,
    CBK_POSIX_ERR_DEADLINE = CBK_HTTP1_ERR_DEADLINE,
    CBK_POSIX_ERR_HEAD_TOO_LARGE = CBK_HTTP1_ERR_HEAD_TOO_LARGE
};

typedef struct cbk_posix {
    int connect_timeout_ms;  /* default 10000; <= 0: the system's limit */
    int read_timeout_ms;     /* default 30000: idle limit; <= 0: none */
    int deadline_ms;         /* default 300000: whole exchange; <= 0: none */
    int keep_alive;          /* default 1 */
    int error;               /* out: CBK_POSIX_ERR_* of the last call, 0: none */
    int sys_error;           /* out: errno, or the EAI_* code for RESOLVE */
    cbk_http1 http;          /* the engine (http.connects, http.requests) */
    int fd;                  /* private: the kept socket, -1: none */
    char buf[CBK_POSIX_BUF]; /* private */
} cbk_posix;

/* Fills ctx with the defaults above; no connection is opened. */
CBKDEF void cbk_posix_init(cbk_posix *ctx);

/* The send callback: pass cbk_posix_send and a cbk_posix * to
   cbk_client_init. See RETURN VALUES. */
CBKDEF int cbk_posix_send(void *ctx, const cbk_request *req, cbk_response *res);

/* Closes the kept connection (if any) and wipes the buffer; ctx stays
   usable (the next send connects again). Call it when you are done. */
CBKDEF void cbk_posix_cleanup(cbk_posix *ctx);

/* A CBK_POSIX_ERR_* code (flags allowed), CBK_SEND_NOT_SENT or 0 in words;
   never NULL. */
CBKDEF const char *cbk_posix_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_POSIX_H */

/* ===========================================================================
 * Implementation
 * ======================================================================== */
#if defined(CBK_TOKEN_POSIX_IMPLEMENTATION) && !defined(CBK__POSIX_IMPLEMENTED)
#define CBK__POSIX_IMPLEMENTED

#if (defined(__GLIBC__) || defined(__linux__)) && !defined(_POSIX_C_SOURCE) &&                     \
    !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) &&               \
    !defined(_BSD_SOURCE)
#error "cbk_token_posix.h: define _POSIX_C_SOURCE 200809L before the first #include"
#endif

#ifndef CBK_TOKEN_HTTP1_IMPLEMENTATION
#define CBK_TOKEN_HTTP1_IMPLEMENTATION
#endif
#include "cbk_token_http1.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef MSG_NOSIGNAL
#define CBK__POSIX_SEND_FLAGS MSG_NOSIGNAL
#else
#define CBK__POSIX_SEND_FLAGS 0
#endif

static int64_t cbk__posix_now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000L);
}

/* The engine's clock. */
static uint32_t cbk__posix_clock(void *vctx) {
    (void)vctx;
    return (uint32_t)cbk__posix_now_ms();
}

/* The longest a wait may take: timeout_ms (<= 0: none) cut to what is left
   of the deadline; -1: no limit. */
static int cbk__posix_wait_ms(const cbk_posix *ctx, int timeout_ms) {
    long left = cbk_http1_remaining_ms(&ctx->http);
    if (timeout_ms <= 0) return left < 0 ? -1 : left > INT_MAX ? INT_MAX : (int)left;
    if (left >= 0 && left < timeout_ms) return (int)left;
    return timeout_ms;
}

/* Waits until fd is ready for events, at most wait_ms (-1: no limit).
   1 ready, 0 timed out, -1 poll failed (errno). EINTR is retried. */
static int cbk__posix_poll(int fd, short events, int wait_ms) {
    int64_t deadline = wait_ms < 0 ? 0 : cbk__posix_now_ms() + wait_ms;
    for (;;) {
        struct pollfd p;
        int wait = -1, r;
        if (wait_ms >= 0) {
            int64_t left = deadline - cbk__posix_now_ms();
            wait = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, wait);
        if (r > 0) return 1;
        if (r == 0 && wait_ms >= 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static int cbk__posix_fail(cbk_posix *ctx, int code, int sys) {
    ctx->error = code;
    ctx->sys_error = sys;
    return code;
}

/* ---- the io under the engine -------------------------------------------- */

/* A non-blocking, close-on-exec socket with TCP_NODELAY (each request head
   and each small body goes out whole: no Nagle wait for the server's
   delayed ACK on a kept connection) and, where it exists, SO_NOSIGPIPE. */
static int cbk__posix_socket(const struct addrinfo *ai) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), flags, one = 1;
    if (fd < 0) return -1;
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return fd;
}

/* Connects fd to one address within wait_ms: 0, or the errno (ETIMEDOUT
   when the wait ran out). */
static int cbk__posix_connect_one(int fd, const struct addrinfo *ai, int wait_ms) {
    int err = 0;
    socklen_t len = sizeof err;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return 0;
    /* EINTR: the connection goes on asynchronously (POSIX) */
    if (errno != EINPROGRESS && errno != EINTR) return errno;
    switch (cbk__posix_poll(fd, POLLOUT, wait_ms)) {
    case 0: return ETIMEDOUT;
    case 1:
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
        return err;
    default: return errno;
    }
}

/* Tries every address of the name in turn, within connect_timeout_ms in
   all. */
static int cbk__posix_connect_any(cbk_posix *ctx, struct addrinfo *list) {
    int64_t deadline =
        ctx->connect_timeout_ms > 0 ? cbk__posix_now_ms() + ctx->connect_timeout_ms : 0;
    struct addrinfo *ai;
    int sys = 0;
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        int64_t left = deadline != 0 ? deadline - cbk__posix_now_ms() : -1;
        int fd, err;
        if (deadline != 0 && left <= 0)
            return cbk__posix_fail(ctx, CBK_POSIX_ERR_CONNECT_TIMEOUT, ETIMEDOUT);
        if ((fd = cbk__posix_socket(ai)) < 0) {
            sys = errno;
            continue;
        }
        err = cbk__posix_connect_one(fd, ai, cbk__posix_wait_ms(ctx, (int)(left < 0 ? 0 : left)));
        if (err == 0) {
            ctx->fd = fd;
            return 0;
        }
        close(fd);
        sys = err;
        if (err == ETIMEDOUT) return cbk__posix_fail(ctx, CBK_POSIX_ERR_CONNECT_TIMEOUT, err);
    }
    return cbk__posix_fail(ctx, CBK_POSIX_ERR_CONNECT, sys);
}

/* The port as getaddrinfo's decimal service name. */
static void cbk__posix_service(char out[8], unsigned port) {
    char digits[8];
    size_t k = 0, i;
    do {
        digits[k++] = (char)('0' + port % 10);
        port /= 10;
    } while (port != 0 && k < 7);
    for (i = 0; i < k; i++) out[i] = digits[k - 1 - i];
    out[k] = '\0';
}

static int cbk__posix_io_connect(void *vctx, const char *host, unsigned port, int tls) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    struct addrinfo hints, *list = NULL;
    char service[8];
    int gai, r;
    if (tls)
        return cbk__posix_fail(ctx, CBK_POSIX_ERR_HTTPS_UNSUPPORTED, 0) | CBK_SEND_NOT_SENT |
               CBK_SEND_FINAL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    cbk__posix_service(service, port);
    do {
        gai = getaddrinfo(host, service, &hints, &list);
    } while (gai == EAI_SYSTEM && errno == EINTR);
    if (gai != 0) {
        cbk__posix_fail(ctx, CBK_POSIX_ERR_RESOLVE, gai == EAI_SYSTEM ? errno : gai);
        return CBK_POSIX_ERR_RESOLVE | CBK_SEND_NOT_SENT;
    }
    r = cbk__posix_connect_any(ctx, list);
    freeaddrinfo(list);
    /* nothing was written: a connect that failed or timed out sent no byte */
    return r == 0 ? 0 : r | CBK_SEND_NOT_SENT;
}

static long cbk__posix_io_write(void *vctx, const char *data, size_t len) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    for (;;) {
        ssize_t n = send(ctx->fd, data, len, CBK__POSIX_SEND_FLAGS);
        int r;
        if (n > 0) return (long)n;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            ctx->sys_error = n < 0 ? errno : 0;
            return -1;
        }
        r = cbk__posix_poll(ctx->fd, POLLOUT, cbk__posix_wait_ms(ctx, ctx->read_timeout_ms));
        if (r == 0) return CBK_HTTP1_IO_TIMEOUT;
        if (r < 0) {
            ctx->sys_error = errno;
            return -1;
        }
    }
}

static long cbk__posix_io_read(void *vctx, char *buf, size_t len) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    for (;;) {
        ssize_t n = recv(ctx->fd, buf, len, 0);
        int r;
        if (n >= 0) return (long)n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ctx->sys_error = errno;
            return -1;
        }
        r = cbk__posix_poll(ctx->fd, POLLIN, cbk__posix_wait_ms(ctx, ctx->read_timeout_ms));
        if (r == 0) return CBK_HTTP1_IO_TIMEOUT;
        if (r < 0) {
            ctx->sys_error = errno;
            return -1;
        }
    }
}

static void cbk__posix_io_close(void *vctx) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    if (ctx->fd >= 0) close(ctx->fd);
    ctx->fd = -1;
}

/* A kept socket is fit for the next request while nothing is readable on
   it: readable while idle means EOF, a reset or bytes nobody asked for. */
static int cbk__posix_io_usable(void *vctx) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    struct pollfd p;
    int r;
    if (ctx->fd < 0) return 0;
    p.fd = ctx->fd;
    p.events = POLLIN;
    p.revents = 0;
    do {
        r = poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    return r == 0;
}

/* (Re)binds the engine to this context: a cbk_posix copied before its
   first send still works. */
static void cbk__posix_bind(cbk_posix *ctx) {
    cbk_http1_io io;
    memset(&io, 0, sizeof io);
    io.ctx = ctx;
    io.connect = cbk__posix_io_connect;
    io.write = cbk__posix_io_write;
    io.read = cbk__posix_io_read;
    io.close = cbk__posix_io_close;
    io.now_ms = cbk__posix_clock;
    io.usable = cbk__posix_io_usable;
    ctx->http.io = io;
    ctx->http.buf = ctx->buf;
    ctx->http.buf_size = sizeof ctx->buf;
}

/* ---- the public functions ----------------------------------------------- */

CBKDEF void cbk_posix_init(cbk_posix *ctx) {
    if (ctx == NULL) return;
    memset(ctx, 0, sizeof *ctx);
    ctx->connect_timeout_ms = 10000;
    ctx->read_timeout_ms = 30000;
    ctx->deadline_ms = 300000;
    ctx->keep_alive = 1;
    ctx->fd = -1;
    cbk_http1_init(&ctx->http, NULL, ctx->buf, sizeof ctx->buf);
    cbk__posix_bind(ctx);
}

CBKDEF int cbk_posix_send(void *vctx, const cbk_request *req, cbk_response *res) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    int r;
    if (ctx == NULL) return CBK_POSIX_ERR_ARGUMENT | CBK_SEND_NOT_SENT | CBK_SEND_FINAL;
    ctx->error = 0;
    ctx->sys_error = 0;
    cbk__posix_bind(ctx);
    ctx->http.deadline_ms = ctx->deadline_ms > 0 ? (uint32_t)ctx->deadline_ms : 0;
    ctx->http.keep_alive = ctx->keep_alive;
    r = cbk_http1_send(&ctx->http, req, res);
    if (r == 0) {
        ctx->sys_error = 0; /* a stale first attempt's errno is history */
    } else if (ctx->http.error != CBK_HTTP1_ERR_CONNECT) {
        /* the connect detail (RESOLVE, CONNECT_TIMEOUT, ...) stays as the
           io set it; the rest is the engine's */
        ctx->error = ctx->http.error;
        if (ctx->error != CBK_POSIX_ERR_SEND && ctx->error != CBK_POSIX_ERR_RECV)
            ctx->sys_error = 0;
    }
    return r;
}

CBKDEF void cbk_posix_cleanup(cbk_posix *ctx) {
    if (ctx == NULL) return;
    cbk__posix_bind(ctx);
    cbk_http1_close(&ctx->http);
    cbk__posix_io_close(ctx);
}

CBKDEF const char *cbk_posix_strerror(int code) {
    switch (CBK_SEND_CODE(code)) {
    case CBK_POSIX_ERR_HTTPS_UNSUPPORTED:
        return "https:// is not supported by the POSIX adapter (use the curl adapter or a TLS "
               "proxy)";
    case CBK_POSIX_ERR_RESOLVE: return "the host name did not resolve";
    case CBK_POSIX_ERR_CONNECT: return "could not connect (refused or unreachable)";
    case CBK_POSIX_ERR_CONNECT_TIMEOUT: return "connect timed out";
    case CBK_POSIX_ERR_URL: return "the URL is not http://host[:port][/path]";
    case CBK_POSIX_ERR_LINE_TOO_LONG: return "a response header line is longer than CBK_POSIX_BUF";
    default: return cbk_http1_strerror(code);
    }
}

#ifdef __cplusplus
}
#endif

#undef CBK__POSIX_SEND_FLAGS
#endif /* CBK_TOKEN_POSIX_IMPLEMENTATION */
