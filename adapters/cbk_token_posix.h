/* cbk_token_posix.h v0.1.0 - plain-HTTP socket transport for cbk_token.h - MIT or public domain
 *
 * ABOUT
 *   A send callback (cbk_send_fn) for cbk_token.h speaking HTTP/1.1 over
 *   POSIX sockets, for http:// URLs only: development, test rigs, and stacks
 *   behind a TLS-terminating proxy. https:// is refused with
 *   CBK_POSIX_ERR_HTTPS_UNSUPPORTED: this adapter has no TLS, and it never
 *   falls back to sending a secret in clear over a URL that asked for TLS.
 *   Use adapters/cbk_token_curl.h (or your own TLS stack) for https.
 *
 *   getaddrinfo (IPv4 and IPv6, each address tried in turn), a connect
 *   timeout and a read timeout, Content-Length, chunked transfer decoding,
 *   read-to-close bodies; the body is streamed into the library's receiver
 *   as it arrives. No heap: one fixed buffer inside the context (getaddrinfo
 *   allocates internally; its list is always freed). One connection per
 *   request ("Connection: close").
 *
 * USAGE
 *   #define _POSIX_C_SOURCE 200809L              // before ANY #include, in the
 *                                                // file with the implementation
 *   #include "cbk_token.h"
 *   #define CBK_TOKEN_POSIX_IMPLEMENTATION       // in exactly one .c file
 *   #include "adapters/cbk_token_posix.h"
 *
 *   cbk_posix net;                               // about CBK_POSIX_BUF bytes
 *   cbk_posix_init(&net);
 *   net.read_timeout_ms = 5000;
 *   cbk_client_options o;
 *   cbk_client_options_init(&o);
 *   o.base_url = "http://127.0.0.1:8080";
 *   cbk_client_init(&c, secret, cbk_posix_send, &net, work, sizeof work, &o);
 *
 *   The implementation needs POSIX.1-2008 declarations (getaddrinfo, poll,
 *   clock_gettime) that strict C modes (-std=c99) hide: the file that
 *   defines CBK_TOKEN_POSIX_IMPLEMENTATION must define _POSIX_C_SOURCE to
 *   200809L (or _GNU_SOURCE, ...) before its first #include, or pass
 *   -D_POSIX_C_SOURCE=200809L. On glibc and musl a missing definition stops
 *   the build with an #error that says so. Files that only call the adapter
 *   need nothing.
 *
 * THE CONTEXT (cbk_posix, caller-owned, one per thread)
 *   connect_timeout_ms  longest wait for the TCP connection, across all the
 *                       addresses of the host; default 10000; <= 0: the
 *                       system's own limit.
 *   read_timeout_ms     longest wait for the next bytes of the response (and
 *                       for the socket to take more of the request); an idle
 *                       timeout, not a limit on the whole exchange, so a long
 *                       stream that keeps moving is never cut; default 30000;
 *                       <= 0: none.
 *   error, sys_error    out: the CBK_POSIX_ERR_* detail of the last call (0
 *                       after a success, also set when the call returned
 *                       CBK_SEND_NOT_SENT) and the errno, or for
 *                       CBK_POSIX_ERR_RESOLVE the getaddrinfo EAI_* code
 *                       (gai_strerror). cbk_posix_strerror(error) in words.
 *   buf                 private: CBK_POSIX_BUF bytes for the request head
 *                       and the response as it is read.
 *
 * WHAT IS SENT
 *   "<METHOD> <path?query> HTTP/1.1", "Host: <host>[:<port>]", the
 *   request's headers as given, "Accept: * / *" (without the spaces) when
 *   the request has none (the Node SDK's fetch does the same),
 *   "Content-Length: <n>" when there is a body or the method is POST, PUT or
 *   PATCH (0 without a body), "Connection: close", then the body. Request
 *   headers named Host, Content-Length, Transfer-Encoding or Connection are
 *   not sent: the adapter owns the framing. A header name or value with CR
 *   or LF (the library never gives one) fails with CBK_POSIX_ERR_ARGUMENT.
 *   No Accept-Encoding is sent, so bodies arrive unencoded.
 *
 * WHAT IS READ
 *   The status line ("HTTP/1.x nnn ..."); interim 1xx responses are skipped
 *   (101 is refused: nothing asked for an upgrade). cbk_response_status()
 *   gets the final status once, then cbk_response_header() each header line
 *   with the value trimmed (folded continuation lines are skipped), then
 *   cbk_response_body() each piece of the body straight from the buffer:
 *   chunked (sizes, extensions, trailers, split across reads at any byte;
 *   trailers are read and dropped), else Content-Length, else up to the
 *   close. HEAD, 204 and 304 have no body. A status, header, chunk-size or
 *   trailer line longer than CBK_POSIX_BUF - 1 bytes fails. Lines may end
 *   in CRLF or a bare LF.
 *
 * RETURN VALUES OF cbk_posix_send (they land in cbk_error.transport_code)
 *   0                                 the exchange completed (any status)
 *   CBK_SEND_NOT_SENT                 the request never left: the name did not
 *                                     resolve, or every address refused or
 *                                     was unreachable, or no socket could be
 *                                     made (error says which)
 *   CBK_POSIX_ERR_ARGUMENT      (1)   NULL argument, a bad method, CR/LF in
 *                                     a header; nothing was sent
 *   CBK_POSIX_ERR_URL           (2)   not http://host[:port][/path]: other
 *                                     scheme, user info, bad port, bad
 *                                     bytes; nothing was sent
 *   CBK_POSIX_ERR_HTTPS_UNSUPPORTED (3) an https:// URL; nothing was sent.
 *                                     Distinct from CBK_SEND_NOT_SENT on
 *                                     purpose: that one invites a retry, and
 *                                     a retry cannot help here.
 *   CBK_POSIX_ERR_RESOLVE       (4)   (only in ctx->error) name resolution
 *   CBK_POSIX_ERR_CONNECT       (5)   (only in ctx->error) refused, unreachable
 *                                     or no socket
 *   CBK_POSIX_ERR_CONNECT_TIMEOUT (6) no connection within connect_timeout_ms
 *                                     (or the system's limit). Nothing was
 *                                     sent, but like curl's timeout this is
 *                                     not CBK_SEND_NOT_SENT.
 *   CBK_POSIX_ERR_SEND          (7)   sending failed (reset, broken pipe):
 *                                     the server may have acted
 *   CBK_POSIX_ERR_TIMEOUT       (8)   no progress for read_timeout_ms while
 *                                     sending or receiving
 *   CBK_POSIX_ERR_RECV          (9)   receiving failed (connection reset)
 *   CBK_POSIX_ERR_CLOSED        (10)  closed before the response's headers
 *                                     were complete (no response)
 *   CBK_POSIX_ERR_BAD_RESPONSE  (11)  not HTTP/1.x: bad status line, header
 *                                     line, Content-Length, Transfer-Encoding
 *                                     other than chunked, chunk framing
 *   CBK_POSIX_ERR_LINE_TOO_LONG (12)  a status/header/chunk line does not fit
 *                                     in CBK_POSIX_BUF
 *   CBK_POSIX_ERR_TRUNCATED     (13)  the connection closed before
 *                                     Content-Length bytes, or before the
 *                                     last (0) chunk
 *   CBK_POSIX_ERR_STOPPED       (14)  the receiver asked to stop (the library
 *                                     knows why)
 *   Codes are only ever appended.
 *
 * SIGNALS AND THREADS
 *   Sends use MSG_NOSIGNAL (or SO_NOSIGPIPE where that exists), so a peer
 *   that goes away gives CBK_POSIX_ERR_SEND, not SIGPIPE; on a system with
 *   neither, ignore SIGPIPE yourself. EINTR is retried. Sockets are
 *   close-on-exec and closed on every path. One cbk_posix per thread.
 *
 * CONFIGURATION
 *   CBK_TOKEN_POSIX_IMPLEMENTATION  in one file: compile the implementation.
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
    CBK_POSIX_ERR_ARGUMENT = 1,
    CBK_POSIX_ERR_URL,
    CBK_POSIX_ERR_HTTPS_UNSUPPORTED,
    CBK_POSIX_ERR_RESOLVE,
    CBK_POSIX_ERR_CONNECT,
    CBK_POSIX_ERR_CONNECT_TIMEOUT,
    CBK_POSIX_ERR_SEND,
    CBK_POSIX_ERR_TIMEOUT,
    CBK_POSIX_ERR_RECV,
    CBK_POSIX_ERR_CLOSED,
    CBK_POSIX_ERR_BAD_RESPONSE,
    CBK_POSIX_ERR_LINE_TOO_LONG,
    CBK_POSIX_ERR_TRUNCATED,
    CBK_POSIX_ERR_STOPPED
};

typedef struct cbk_posix {
    int connect_timeout_ms;  /* default 10000; <= 0: the system's limit */
    int read_timeout_ms;     /* default 30000: idle limit; <= 0: none */
    int error;               /* out: CBK_POSIX_ERR_* of the last call, 0: none */
    int sys_error;           /* out: errno, or the EAI_* code for RESOLVE */
    char buf[CBK_POSIX_BUF]; /* private */
} cbk_posix;

/* Fills ctx with the defaults above. */
CBKDEF void cbk_posix_init(cbk_posix *ctx);

/* The send callback: pass cbk_posix_send and a cbk_posix * to
   cbk_client_init. See RETURN VALUES. */
CBKDEF int cbk_posix_send(void *ctx, const cbk_request *req, cbk_response *res);

/* A CBK_POSIX_ERR_* code, CBK_SEND_NOT_SENT or 0 in words; never NULL. */
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
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

/* Receive states. */
enum {
    CBK__RX_STATUS = 0, /* waiting for a status line */
    CBK__RX_HEADERS,    /* header lines of the final response */
    CBK__RX_INTERIM,    /* header lines of a 1xx response */
    CBK__RX_LENGTH,     /* body with Content-Length */
    CBK__RX_TO_CLOSE,   /* body up to the close */
    CBK__RX_CHUNK_SIZE, /* a chunk-size line */
    CBK__RX_CHUNK_DATA,
    CBK__RX_CHUNK_END, /* the CRLF after a chunk's data */
    CBK__RX_TRAILERS,  /* after the 0 chunk */
    CBK__RX_DONE
};

/* One exchange, on cbk_posix_send's stack. */
typedef struct cbk__posix_conn {
    cbk_posix *ctx;
    cbk_response *res;
    int fd;
    size_t start, len; /* unread bytes are buf[start..len) */
    int state;
    int head; /* HEAD request: no body */
    int status;
    int chunked;
    int has_length;
    uint64_t remaining; /* of the body or the chunk */
} cbk__posix_conn;

/* The URL, split. */
typedef struct cbk__posix_url {
    char host[256]; /* for getaddrinfo: no brackets, "%25" zone as "%" */
    char port[6];
    char host_header[270]; /* "[v6]" or name, then ":port" unless 80; no zone */
    size_t host_header_len;
    const char *path; /* path and query, without the fragment */
    size_t path_len;
} cbk__posix_url;

CBKDEF void cbk_posix_init(cbk_posix *ctx) {
    if (ctx == NULL) return;
    ctx->connect_timeout_ms = 10000;
    ctx->read_timeout_ms = 30000;
    ctx->error = 0;
    ctx->sys_error = 0;
    ctx->buf[0] = '\0';
}

CBKDEF const char *cbk_posix_strerror(int code) {
    switch (code == CBK_SEND_NOT_SENT ? code : CBK_SEND_CODE(code)) {
    case 0: return "no error";
    case CBK_SEND_NOT_SENT: return "the request was not sent";
    case CBK_POSIX_ERR_ARGUMENT: return "bad argument (method, header or NULL)";
    case CBK_POSIX_ERR_URL: return "the URL is not http://host[:port][/path]";
    case CBK_POSIX_ERR_HTTPS_UNSUPPORTED:
        return "https:// is not supported by the POSIX adapter (use the curl adapter or a TLS "
               "proxy)";
    case CBK_POSIX_ERR_RESOLVE: return "the host name did not resolve";
    case CBK_POSIX_ERR_CONNECT: return "could not connect (refused or unreachable)";
    case CBK_POSIX_ERR_CONNECT_TIMEOUT: return "connect timed out";
    case CBK_POSIX_ERR_SEND: return "sending the request failed";
    case CBK_POSIX_ERR_TIMEOUT: return "timed out waiting for the server";
    case CBK_POSIX_ERR_RECV: return "receiving the response failed";
    case CBK_POSIX_ERR_CLOSED: return "the server closed the connection without a response";
    case CBK_POSIX_ERR_BAD_RESPONSE: return "malformed HTTP response";
    case CBK_POSIX_ERR_LINE_TOO_LONG: return "a response header line is longer than CBK_POSIX_BUF";
    case CBK_POSIX_ERR_TRUNCATED: return "the response body was cut short";
    case CBK_POSIX_ERR_STOPPED: return "stopped by the receiver";
    default: return "unknown error";
    }
}

/* ---- small helpers ------------------------------------------------------ */

static char cbk__posix_lower(char ch) {
    if (ch >= 'A' && ch <= 'Z') return (char)(ch - 'A' + 'a');
    return ch;
}

/* name[0..len) equals the lowercase literal, ignoring case. */
static int cbk__posix_is(const char *name, size_t len, const char *lower) {
    size_t i;
    for (i = 0; i < len; i++)
        if (lower[i] == '\0' || cbk__posix_lower(name[i]) != lower[i]) return 0;
    return lower[len] == '\0';
}

static int cbk__posix_ows(char ch) {
    return ch == ' ' || ch == '\t';
}

static int64_t cbk__posix_now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000L);
}

/* Waits until fd is ready for events or the deadline (0: none) passes.
   1 ready, 0 timed out, -1 poll failed (errno). EINTR is retried. */
static int cbk__posix_poll(int fd, short events, int64_t deadline) {
    for (;;) {
        struct pollfd p;
        int wait = -1, r;
        if (deadline != 0) {
            int64_t left = deadline - cbk__posix_now_ms();
            if (left <= 0) return 0;
            wait = left > INT_MAX ? INT_MAX : (int)left;
        }
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, wait);
        if (r > 0) return 1;
        if (r == 0) {
            if (deadline != 0) return 0;
            continue;
        }
        if (errno != EINTR) return -1;
    }
}

static int64_t cbk__posix_deadline(int timeout_ms) {
    int64_t now;
    if (timeout_ms <= 0) return 0;
    now = cbk__posix_now_ms();
    return (now <= 0 ? 1 : now) + timeout_ms;
}

static int cbk__posix_fail(cbk_posix *ctx, int code, int sys) {
    ctx->error = code;
    ctx->sys_error = sys;
    return code;
}

/* ---- the URL ------------------------------------------------------------ */

static void cbk__posix_append(char *dst, size_t *len, const char *src, size_t n) {
    memcpy(dst + *len, src, n);
    *len += n;
}

static int cbk__posix_parse_url(const char *url, cbk__posix_url *u) {
    const char *auth, *end, *host, *host_end, *p;
    size_t i, n = 0, h = 0, host_len, port_len = 0;
    unsigned long port = 80;
    int bracket;

    if (cbk__posix_is(url, 8, "https://")) return CBK_POSIX_ERR_HTTPS_UNSUPPORTED;
    if (!cbk__posix_is(url, 7, "http://")) return CBK_POSIX_ERR_URL;
    auth = url + 7;
    for (end = auth; *end != '\0' && *end != '/' && *end != '?' && *end != '#'; end++)
        if (*end == '@') return CBK_POSIX_ERR_URL; /* user info: the library never sends one */
    bracket = *auth == '[';
    host = auth + bracket;
    if (bracket) {
        host_end = (const char *)memchr(host, ']', (size_t)(end - host));
        if (host_end == NULL) return CBK_POSIX_ERR_URL;
        p = host_end + 1;
    } else {
        for (host_end = host; host_end < end && *host_end != ':'; host_end++) {
        }
        p = host_end;
    }
    host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len >= sizeof u->host) return CBK_POSIX_ERR_URL;
    if (p < end) { /* ":port"; an empty one means 80 */
        if (*p++ != ':') return CBK_POSIX_ERR_URL;
        port_len = (size_t)(end - p);
        if (port_len > 5) return CBK_POSIX_ERR_URL;
        if (port_len > 0) {
            port = 0;
            for (; p < end; p++) {
                if (*p < '0' || *p > '9') return CBK_POSIX_ERR_URL;
                port = port * 10 + (unsigned long)(*p - '0');
            }
            if (port == 0 || port > 65535) return CBK_POSIX_ERR_URL;
        }
    }
    if (bracket) cbk__posix_append(u->host_header, &h, "[", 1);
    for (i = 0; i < host_len; i++) {
        char ch = host[i];
        if ((unsigned char)ch <= ' ' || (unsigned char)ch >= 0x7f) return CBK_POSIX_ERR_URL;
        if (bracket && ch == '%') { /* zone: "%25eth0" */
            if (i + 2 < host_len && host[i + 1] == '2' && host[i + 2] == '5') i += 2;
            cbk__posix_append(u->host, &n, "%", 1);
            cbk__posix_append(u->host, &n, host + i + 1, host_len - i - 1);
            break;
        }
        u->host[n++] = ch;
        u->host_header[h++] = ch;
    }
    u->host[n] = '\0';
    if (bracket) cbk__posix_append(u->host_header, &h, "]", 1);
    {
        char digits[6];
        size_t k = 0;
        do {
            digits[k++] = (char)('0' + port % 10);
            port /= 10;
        } while (port != 0);
        for (i = 0; i < k; i++) u->port[i] = digits[k - 1 - i];
        u->port[k] = '\0';
        if (!(k == 2 && u->port[0] == '8' && u->port[1] == '0')) {
            cbk__posix_append(u->host_header, &h, ":", 1);
            cbk__posix_append(u->host_header, &h, u->port, k);
        }
    }
    u->host_header_len = h;
    u->path = end;
    for (p = end; *p != '\0' && *p != '#'; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) return CBK_POSIX_ERR_URL;
    u->path_len = (size_t)(p - end);
    return 0;
}

/* ---- connecting --------------------------------------------------------- */

static int cbk__posix_connect(cbk__posix_conn *c, const cbk__posix_url *u) {
    cbk_posix *ctx = c->ctx;
    struct addrinfo hints, *list = NULL, *ai;
    int64_t deadline = cbk__posix_deadline(ctx->connect_timeout_ms);
    int gai, timed_out = 0, sys = 0;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    do {
        gai = getaddrinfo(u->host, u->port, &hints, &list);
    } while (gai == EAI_SYSTEM && errno == EINTR);
    if (gai != 0) {
        cbk__posix_fail(ctx, CBK_POSIX_ERR_RESOLVE, gai == EAI_SYSTEM ? errno : gai);
        return CBK_SEND_NOT_SENT;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        int flags, r, err = 0;
        if (fd < 0) {
            sys = errno;
            continue;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            sys = errno;
            close(fd);
            continue;
        }
#ifdef SO_NOSIGPIPE
        {
            int one = 1;
            (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
        }
#endif
        r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && (errno == EINPROGRESS || errno == EINTR)) {
            /* EINTR: the connection goes on asynchronously (POSIX) */
            socklen_t len = sizeof err;
            r = cbk__posix_poll(fd, POLLOUT, deadline);
            if (r == 0) {
                timed_out = 1;
                close(fd);
                break; /* the deadline covers every address */
            }
            if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            r = err == 0 ? 0 : -1;
        } else if (r != 0) {
            err = errno;
        }
        if (r == 0) {
            freeaddrinfo(list);
            c->fd = fd;
            return 0;
        }
        sys = err;
        if (err == ETIMEDOUT) timed_out = 1;
        close(fd);
    }
    freeaddrinfo(list);
    if (timed_out) return cbk__posix_fail(ctx, CBK_POSIX_ERR_CONNECT_TIMEOUT, ETIMEDOUT);
    cbk__posix_fail(ctx, CBK_POSIX_ERR_CONNECT, sys);
    return CBK_SEND_NOT_SENT;
}

/* ---- sending ------------------------------------------------------------ */

static int cbk__posix_write(cbk__posix_conn *c, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, CBK__POSIX_SEND_FLAGS);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = cbk__posix_poll(c->fd, POLLOUT, cbk__posix_deadline(c->ctx->read_timeout_ms));
            if (r == 0) return cbk__posix_fail(c->ctx, CBK_POSIX_ERR_TIMEOUT, ETIMEDOUT);
            if (r < 0) return cbk__posix_fail(c->ctx, CBK_POSIX_ERR_SEND, errno);
        } else {
            return cbk__posix_fail(c->ctx, CBK_POSIX_ERR_SEND, n < 0 ? errno : 0);
        }
    }
    return 0;
}

/* Appends to the head in buf[0..len), sending whenever it fills. */
static int cbk__posix_put(cbk__posix_conn *c, const char *data, size_t len) {
    while (len > 0) {
        size_t room = sizeof c->ctx->buf - c->len, k = len < room ? len : room;
        memcpy(c->ctx->buf + c->len, data, k);
        c->len += k;
        data += k;
        len -= k;
        if (c->len == sizeof c->ctx->buf) {
            int r = cbk__posix_write(c, c->ctx->buf, c->len);
            c->len = 0;
            if (r != 0) return r;
        }
    }
    return 0;
}

static int cbk__posix_puts(cbk__posix_conn *c, const char *s) {
    return cbk__posix_put(c, s, strlen(s));
}

static int cbk__posix_has_crlf(const char *s) {
    for (; *s != '\0'; s++)
        if (*s == '\r' || *s == '\n') return 1;
    return 0;
}

/* Checks the request before anything is sent. */
static int cbk__posix_check(const cbk_request *req, int *has_accept) {
    const char *m;
    size_t i;
    if (req->method == NULL || req->method[0] == '\0' || req->url == NULL ||
        (req->header_count > 0 && req->headers == NULL))
        return CBK_POSIX_ERR_ARGUMENT;
    for (m = req->method; *m != '\0'; m++)
        if ((unsigned char)*m <= ' ' || (unsigned char)*m >= 0x7f) return CBK_POSIX_ERR_ARGUMENT;
    *has_accept = 0;
    for (i = 0; i < req->header_count; i++) {
        const cbk_header *h = &req->headers[i];
        const char *n;
        if (h->name == NULL || h->value == NULL || h->name[0] == '\0' ||
            cbk__posix_has_crlf(h->value))
            return CBK_POSIX_ERR_ARGUMENT;
        for (n = h->name; *n != '\0'; n++)
            if ((unsigned char)*n <= ' ' || *n == ':' || (unsigned char)*n >= 0x7f)
                return CBK_POSIX_ERR_ARGUMENT;
        if (cbk__posix_is(h->name, strlen(h->name), "accept")) *has_accept = 1;
    }
    return 0;
}

static int cbk__posix_send_request(cbk__posix_conn *c, const cbk_request *req,
                                   const cbk__posix_url *u, int has_accept) {
    size_t i;
    int r, with_length;
    const char *m = req->method;

    with_length = req->body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
                  strcmp(m, "PATCH") == 0;
    c->len = 0;
#define CBK__PUT(expr)                                                                             \
    do {                                                                                           \
        if ((r = (expr)) != 0) return r;                                                           \
    } while (0)
    CBK__PUT(cbk__posix_puts(c, m));
    CBK__PUT(cbk__posix_put(c, " ", 1));
    if (u->path_len == 0 || u->path[0] != '/') CBK__PUT(cbk__posix_put(c, "/", 1));
    CBK__PUT(cbk__posix_put(c, u->path, u->path_len));
    CBK__PUT(cbk__posix_puts(c, " HTTP/1.1\r\nHost: "));
    CBK__PUT(cbk__posix_put(c, u->host_header, u->host_header_len));
    CBK__PUT(cbk__posix_put(c, "\r\n", 2));
    for (i = 0; i < req->header_count; i++) {
        const cbk_header *h = &req->headers[i];
        size_t n = strlen(h->name);
        if (cbk__posix_is(h->name, n, "host") || cbk__posix_is(h->name, n, "content-length") ||
            cbk__posix_is(h->name, n, "transfer-encoding") ||
            cbk__posix_is(h->name, n, "connection"))
            continue;
        CBK__PUT(cbk__posix_put(c, h->name, n));
        CBK__PUT(cbk__posix_put(c, ": ", 2));
        CBK__PUT(cbk__posix_puts(c, h->value));
        CBK__PUT(cbk__posix_put(c, "\r\n", 2));
    }
    if (!has_accept) CBK__PUT(cbk__posix_puts(c, "Accept: */*\r\n"));
    if (with_length) {
        char digits[24], text[24];
        size_t len = req->body != NULL ? req->body_len : 0, k = 0, j;
        do {
            digits[k++] = (char)('0' + len % 10);
            len /= 10;
        } while (len != 0);
        for (j = 0; j < k; j++) text[j] = digits[k - 1 - j];
        CBK__PUT(cbk__posix_puts(c, "Content-Length: "));
        CBK__PUT(cbk__posix_put(c, text, k));
        CBK__PUT(cbk__posix_put(c, "\r\n", 2));
    }
    CBK__PUT(cbk__posix_puts(c, "Connection: close\r\n\r\n"));
    /* a small body rides with the head; a large one goes out directly */
    if (req->body != NULL && req->body_len > 0 && req->body_len <= sizeof c->ctx->buf - c->len)
        CBK__PUT(cbk__posix_put(c, req->body, req->body_len));
    else if (req->body != NULL && req->body_len > 0) {
        CBK__PUT(cbk__posix_write(c, c->ctx->buf, c->len));
        c->len = 0;
        CBK__PUT(cbk__posix_write(c, req->body, req->body_len));
    }
    if (c->len > 0) CBK__PUT(cbk__posix_write(c, c->ctx->buf, c->len));
#undef CBK__PUT
    c->len = 0;
    return 0;
}

/* ---- receiving ---------------------------------------------------------- */

/* The next complete line in the buffer (without its CRLF or LF), or 0 when
   none is there yet. */
static int cbk__posix_line(cbk__posix_conn *c, const char **line, size_t *len) {
    const char *base = c->ctx->buf + c->start;
    const char *nl = (const char *)memchr(base, '\n', c->len - c->start);
    size_t n;
    if (nl == NULL) return 0;
    n = (size_t)(nl - base);
    c->start += n + 1;
    if (n > 0 && base[n - 1] == '\r') n--;
    *line = base;
    *len = n;
    return 1;
}

static int cbk__posix_status_line(cbk__posix_conn *c, const char *s, size_t n) {
    size_t i;
    int code = 0;
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (n < 12 || !cbk__posix_is(s, 7, "http/1.") || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return CBK_POSIX_ERR_BAD_RESPONSE;
    for (i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') return CBK_POSIX_ERR_BAD_RESPONSE;
        code = code * 10 + (s[i] - '0');
    }
    if ((n > 12 && s[12] != ' ') || code < 100 || code == 101) return CBK_POSIX_ERR_BAD_RESPONSE;
    c->status = code;
    if (code < 200) {
        c->state = CBK__RX_INTERIM;
        return 0;
    }
    c->state = CBK__RX_HEADERS;
    if (cbk_response_status(c->res, code) != 0) return CBK_POSIX_ERR_STOPPED;
    return 0;
}

static int cbk__posix_header_line(cbk__posix_conn *c, const char *s, size_t n) {
    const char *colon;
    size_t v, end = n, i;

    if (cbk__posix_ows(s[0])) return 0; /* obs-fold continuation: skipped */
    colon = (const char *)memchr(s, ':', n);
    if (colon == NULL || colon == s) return CBK_POSIX_ERR_BAD_RESPONSE;
    for (i = 0; s + i < colon; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return CBK_POSIX_ERR_BAD_RESPONSE; /* no whitespace in or after a name */
    if (c->state == CBK__RX_INTERIM) return 0;
    v = (size_t)(colon - s) + 1;
    while (v < end && cbk__posix_ows(s[v])) v++;
    while (end > v && cbk__posix_ows(s[end - 1])) end--;
    if (cbk__posix_is(s, i, "content-length")) {
        uint64_t value = 0;
        size_t k;
        if (v == end) return CBK_POSIX_ERR_BAD_RESPONSE;
        for (k = v; k < end; k++) {
            if (s[k] < '0' || s[k] > '9' || value > (UINT64_MAX - 9) / 10)
                return CBK_POSIX_ERR_BAD_RESPONSE;
            value = value * 10 + (uint64_t)(s[k] - '0');
        }
        if (c->has_length && c->remaining != value) return CBK_POSIX_ERR_BAD_RESPONSE;
        c->has_length = 1;
        c->remaining = value;
    } else if (cbk__posix_is(s, i, "transfer-encoding")) {
        if (!cbk__posix_is(s + v, end - v, "chunked"))
            return CBK_POSIX_ERR_BAD_RESPONSE; /* no coding but chunked was offered */
        c->chunked = 1;
    }
    if (cbk_response_header(c->res, s, i, s + v, end - v) != 0) return CBK_POSIX_ERR_STOPPED;
    return 0;
}

static int cbk__posix_chunk_size(cbk__posix_conn *c, const char *s, size_t n) {
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char ch = cbk__posix_lower(s[i]);
        int d = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (d < 0) break;
        if (size > (UINT64_MAX >> 4)) return CBK_POSIX_ERR_BAD_RESPONSE;
        size = (size << 4) | (uint64_t)d;
    }
    if (i == 0) return CBK_POSIX_ERR_BAD_RESPONSE;
    while (i < n && cbk__posix_ows(s[i])) i++;
    if (i < n && s[i] != ';') return CBK_POSIX_ERR_BAD_RESPONSE; /* ";ext" is skipped */
    c->remaining = size;
    c->state = size == 0 ? CBK__RX_TRAILERS : CBK__RX_CHUNK_DATA;
    return 0;
}

/* Hands body bytes from the buffer to the receiver. */
static int cbk__posix_body(cbk__posix_conn *c, int bounded) {
    size_t avail = c->len - c->start;
    if (bounded && (uint64_t)avail > c->remaining) avail = (size_t)c->remaining;
    if (avail > 0) {
        const char *data = c->ctx->buf + c->start;
        c->start += avail;
        if (bounded) c->remaining -= avail;
        if (cbk_response_body(c->res, data, avail) != 0) return CBK_POSIX_ERR_STOPPED;
    }
    return 0;
}

/* Works through the buffered bytes. 0: needs more input (or done, see
   c->state); else an error code. */
static int cbk__posix_step(cbk__posix_conn *c) {
    const char *s;
    size_t n;
    int r;
    for (;;) {
        switch (c->state) {
        case CBK__RX_STATUS:
            if (!cbk__posix_line(c, &s, &n)) return 0;
            if (n == 0) continue; /* stray empty line before the status line */
            if ((r = cbk__posix_status_line(c, s, n)) != 0) return r;
            break;
        case CBK__RX_HEADERS:
        case CBK__RX_INTERIM:
            if (!cbk__posix_line(c, &s, &n)) return 0;
            if (n > 0) {
                if ((r = cbk__posix_header_line(c, s, n)) != 0) return r;
            } else if (c->state == CBK__RX_INTERIM) {
                c->state = CBK__RX_STATUS;
            } else if (c->head || c->status == 204 || c->status == 304) {
                c->state = CBK__RX_DONE;
            } else if (c->chunked) {
                c->state = CBK__RX_CHUNK_SIZE;
            } else if (c->has_length) {
                c->state = c->remaining == 0 ? CBK__RX_DONE : CBK__RX_LENGTH;
            } else {
                c->state = CBK__RX_TO_CLOSE;
            }
            break;
        case CBK__RX_LENGTH:
        case CBK__RX_CHUNK_DATA:
            if ((r = cbk__posix_body(c, 1)) != 0) return r;
            if (c->remaining > 0) return 0;
            c->state = c->state == CBK__RX_LENGTH ? CBK__RX_DONE : CBK__RX_CHUNK_END;
            break;
        case CBK__RX_TO_CLOSE: return cbk__posix_body(c, 0);
        case CBK__RX_CHUNK_SIZE:
            if (!cbk__posix_line(c, &s, &n)) return 0;
            if ((r = cbk__posix_chunk_size(c, s, n)) != 0) return r;
            break;
        case CBK__RX_CHUNK_END:
            if (!cbk__posix_line(c, &s, &n)) return 0;
            if (n != 0) return CBK_POSIX_ERR_BAD_RESPONSE;
            c->state = CBK__RX_CHUNK_SIZE;
            break;
        case CBK__RX_TRAILERS:
            if (!cbk__posix_line(c, &s, &n)) return 0;
            if (n == 0) c->state = CBK__RX_DONE;
            break;
        default: /* CBK__RX_DONE */ return 0;
        }
    }
}

static int cbk__posix_receive(cbk__posix_conn *c) {
    cbk_posix *ctx = c->ctx;
    c->start = c->len = 0;
    for (;;) {
        ssize_t n;
        int r = cbk__posix_step(c);
        if (r != 0) return cbk__posix_fail(ctx, r, 0);
        if (c->state == CBK__RX_DONE) return 0;
        /* make room: move what is left to the front */
        if (c->start == c->len) {
            c->start = c->len = 0;
        } else if (c->start > 0) {
            memmove(ctx->buf, ctx->buf + c->start, c->len - c->start);
            c->len -= c->start;
            c->start = 0;
        }
        if (c->len == sizeof ctx->buf) return cbk__posix_fail(ctx, CBK_POSIX_ERR_LINE_TOO_LONG, 0);
        n = recv(c->fd, ctx->buf + c->len, sizeof ctx->buf - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0) { /* the server closed its side */
            switch (c->state) {
            case CBK__RX_TO_CLOSE:
            case CBK__RX_TRAILERS: /* the 0 chunk came; the trailers' end did not */ return 0;
            case CBK__RX_STATUS:
            case CBK__RX_HEADERS:
            case CBK__RX_INTERIM: return cbk__posix_fail(ctx, CBK_POSIX_ERR_CLOSED, 0);
            default: return cbk__posix_fail(ctx, CBK_POSIX_ERR_TRUNCATED, 0);
            }
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r = cbk__posix_poll(c->fd, POLLIN, cbk__posix_deadline(ctx->read_timeout_ms));
            if (r == 0) return cbk__posix_fail(ctx, CBK_POSIX_ERR_TIMEOUT, ETIMEDOUT);
            if (r < 0) return cbk__posix_fail(ctx, CBK_POSIX_ERR_RECV, errno);
            continue;
        }
        return cbk__posix_fail(ctx, CBK_POSIX_ERR_RECV, errno);
    }
}

#define CBK__POSIX_NEVER (CBK_SEND_NOT_SENT | CBK_SEND_FINAL)

CBKDEF int cbk_posix_send(void *vctx, const cbk_request *req, cbk_response *res) {
    cbk_posix *ctx = (cbk_posix *)vctx;
    cbk__posix_conn c;
    cbk__posix_url u;
    int r, has_accept = 0;

    if (ctx == NULL) return CBK_POSIX_ERR_ARGUMENT;
    ctx->error = 0;
    ctx->sys_error = 0;
    /* nothing was sent, and a retry would meet the same refusal */
    if (req == NULL || res == NULL)
        return cbk__posix_fail(ctx, CBK_POSIX_ERR_ARGUMENT, 0) | CBK__POSIX_NEVER;
    if ((r = cbk__posix_check(req, &has_accept)) != 0)
        return cbk__posix_fail(ctx, r, 0) | CBK__POSIX_NEVER;
    memset(&u, 0, sizeof u);
    if ((r = cbk__posix_parse_url(req->url, &u)) != 0)
        return cbk__posix_fail(ctx, r, 0) | CBK__POSIX_NEVER;

    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.res = res;
    c.fd = -1;
    c.state = CBK__RX_STATUS;
    c.head = strcmp(req->method, "HEAD") == 0;
    if ((r = cbk__posix_connect(&c, &u)) != 0) return r;

    r = cbk__posix_send_request(&c, req, &u, has_accept);
    if (r == CBK_POSIX_ERR_SEND) {
        /* The server may have answered early (say 413) and closed: read
           what it said if it said anything. */
        int saved = ctx->sys_error, rx;
        ctx->error = 0;
        rx = cbk__posix_receive(&c);
        if (rx == 0 || c.status != 0)
            r = rx;
        else
            cbk__posix_fail(ctx, CBK_POSIX_ERR_SEND, saved);
    } else if (r == 0) {
        r = cbk__posix_receive(&c);
    }
    close(c.fd);
    /* the buffer held the Authorization line and, after a create, the new
       token's secret: neither outlives the exchange */
    {
        volatile char *v = ctx->buf;
        size_t i;
        for (i = 0; i < sizeof ctx->buf; i++) v[i] = 0;
    }
    return r;
}

#ifdef __cplusplus
}
#endif

#undef CBK__POSIX_SEND_FLAGS
#undef CBK__POSIX_NEVER
#endif /* CBK_TOKEN_POSIX_IMPLEMENTATION */
