/* cbk_token_lwip.h v0.1.0 - lwIP sockets under the HTTP/1.1 engine - MIT or public domain
 *
 * ABOUT
 *   A cbk_http1_io (adapters/cbk_token_http1.h) over lwIP's socket API
 *   (lwip_socket, lwip_connect, lwip_send, lwip_recv, lwip_close): plain
 *   HTTP on its own, and with adapters/cbk_token_mbedtls.h on top the
 *   socket for TLS (its BIO callbacks on the lwIP socket). For RTOS tasks
 *   that may block; lwIP's raw/altcp API (callbacks in the tcpip thread)
 *   takes the library's sans-I/O path instead (docs/porting.md).
 *
 *   Needs lwIP with LWIP_SOCKET, LWIP_TCP and LWIP_SO_RCVTIMEO (and
 *   LWIP_SO_SNDTIMEO for a write timeout); host names need LWIP_DNS
 *   (lwip_getaddrinfo), else only IPv4/IPv6 addresses are accepted and a
 *   name fails with CBK_SEND_NOT_SENT | CBK_SEND_FINAL | CBK_LWIP_ERR_ADDRESS.
 *   Calls only lwip_* names, so it works with LWIP_COMPAT_SOCKETS 0.
 *
 * USAGE
 *   #include "lwip/sockets.h"                    // your lwipopts.h decides
 *   #include "cbk_token.h"
 *   #include "adapters/cbk_token_http1.h"
 *   #include "adapters/cbk_token_mbedtls.h"      // optional: TLS
 *   #define CBK_TOKEN_LWIP_IMPLEMENTATION        // in exactly one .c file
 *   #include "adapters/cbk_token_lwip.h"
 *
 *   static cbk_lwip net;
 *   cbk_lwip_init(&net);
 *   net.timeout_ms = 10000;                      // read and write timeout
 *   // plain http://
 *   cbk_http1_io io = cbk_lwip_io(&net);
 *   // or https:// (and http://) with mbedTLS over this socket
 *   cbk_mbedtls_socket sock = cbk_lwip_tls_socket(&net);
 *   cbk_mbedtls_init(&tls, &sock, &ca, mbedtls_ctr_drbg_random, &drbg);
 *   cbk_http1_io io = cbk_mbedtls_io(&tls);
 *   cbk_http1_init(&http, &io, buf, sizeof buf);
 *   net.http = &http;                            // waits end by its deadline
 *
 * THE CONTEXT (cbk_lwip, caller-owned, one per connection and thread)
 *   timeout_ms   SO_RCVTIMEO and SO_SNDTIMEO of each read and write: the longest
 *                wait for the next bytes (an idle timeout, not a limit on
 *                the exchange: the engine's deadline_ms is that); default
 *                CBK_LWIP_TIMEOUT_MS (30000); 0: none. lwip_connect itself
 *                waits for TCP's own SYN retries (lwIP's TCP_SYNMAXRTX).
 *   http         optional (NULL): the engine this socket serves. Each read
 *                and write then waits at most what is left of its deadline
 *                (cbk_http1_remaining_ms: deadline_ms, or the library's
 *                opts.timeout_ms), SO_RCVTIMEO and SO_SNDTIMEO set per
 *                call, so a silent server cannot overshoot it by a whole
 *                timeout_ms; a call made after the deadline passed fails
 *                at once as a timeout.
 *   sock         the open socket, or -1.
 *   error        out: CBK_LWIP_ERR_* of the last failure (0: none).
 *   sys_error    out: lwIP's errno of the last failure.
 *   Every socket gets TCP_NODELAY: a request is one or two writes and the
 *   engine waits for the answer, so Nagle would only add a delayed ACK.
 *
 * WHAT connect RETURNS (lands in cbk_error.transport_code)
 *   0                                          connected
 *   NOT_SENT|FINAL|CBK_LWIP_ERR_TLS            tls asked of cbk_lwip_io
 *                                              (no TLS: never in clear)
 *   NOT_SENT|FINAL|CBK_LWIP_ERR_ADDRESS        not an address (no LWIP_DNS)
 *   NOT_SENT|CBK_LWIP_ERR_ADDRESS              the name did not resolve
 *   NOT_SENT|CBK_LWIP_ERR_SOCKET               no socket (lwIP out of sockets
 *                                              or memory)
 *   NOT_SENT|CBK_LWIP_ERR_CONNECT              refused, unreachable, timed out
 *   where NOT_SENT is CBK_SEND_NOT_SENT and FINAL is CBK_SEND_FINAL.
 *
 * CONFIGURATION
 *   CBK_TOKEN_LWIP_IMPLEMENTATION   in one file: the implementation
 *   CBK_LWIP_TIMEOUT_MS             default timeout_ms (30000)
 *   cbk_lwip_tls_socket exists when adapters/cbk_token_mbedtls.h was
 *   included first.
 *
 * NAMES
 *   cbk_lwip_* and CBK_LWIP_* are public; cbk__lw_* are internal.
 */
#ifndef CBK_TOKEN_LWIP_H
#define CBK_TOKEN_LWIP_H

#ifndef CBK_TOKEN_HTTP1_H
#error "include adapters/cbk_token_http1.h before adapters/cbk_token_lwip.h"
#endif

#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/sys.h"

#if !LWIP_SOCKET || !LWIP_TCP
#error "adapters/cbk_token_lwip.h needs LWIP_SOCKET and LWIP_TCP"
#endif

#ifndef CBK_LWIP_TIMEOUT_MS
#define CBK_LWIP_TIMEOUT_MS 30000u
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The io's own codes (1..CBK_SEND_CODE_MAX; clear of the engine's and of
   adapters/cbk_token_mbedtls.h's). */
enum cbk_lwip_error {
    CBK_LWIP_ERR_TLS = 48,     /* https:// asked of the plain io */
    CBK_LWIP_ERR_ADDRESS = 49, /* not an address, or the name did not resolve */
    CBK_LWIP_ERR_SOCKET = 50,  /* lwip_socket failed */
    CBK_LWIP_ERR_CONNECT = 51  /* lwip_connect failed */
};

/* See THE CONTEXT at the top. */
typedef struct cbk_lwip {
    uint32_t timeout_ms;
    const cbk_http1 *http; /* optional: its deadline cuts the waits */
    int sock;              /* -1: none */
    int error;             /* out */
    int sys_error;         /* out */
} cbk_lwip;

/* Fills net with the defaults; no socket is opened. */
CBKDEF void cbk_lwip_init(cbk_lwip *net);

/* The plain io (http:// only) for cbk_http1_init. net must outlive it. */
CBKDEF cbk_http1_io cbk_lwip_io(cbk_lwip *net);

/* Opens a TCP connection to host:port (connect as in WHAT connect RETURNS,
   without the TLS case); the io's connect and the TLS socket's use it. */
CBKDEF int cbk_lwip_open(cbk_lwip *net, const char *host, unsigned port);

/* Closes the socket, if any (idempotent). */
CBKDEF void cbk_lwip_close(cbk_lwip *net);

#ifdef CBK_TOKEN_MBEDTLS_H
/* The socket for adapters/cbk_token_mbedtls.h: connect/close as above and
   mbedTLS BIO callbacks over lwip_send/lwip_recv. */
CBKDEF cbk_mbedtls_socket cbk_lwip_tls_socket(cbk_lwip *net);
#endif

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_LWIP_H */

/* ======================================================================== */

#ifdef CBK_TOKEN_LWIP_IMPLEMENTATION
#ifndef CBK_TOKEN_LWIP_IMPLEMENTED
#define CBK_TOKEN_LWIP_IMPLEMENTED

#include <string.h> /* memset */
#include "lwip/errno.h"
#include "lwip/inet.h"
#include "lwip/ip_addr.h"
#if LWIP_DNS
#include "lwip/netdb.h"
#endif

CBKDEF void cbk_lwip_init(cbk_lwip *net) {
    net->timeout_ms = CBK_LWIP_TIMEOUT_MS;
    net->http = NULL;
    net->sock = -1;
    net->error = 0;
    net->sys_error = 0;
}

static int cbk__lw_fail(cbk_lwip *net, int code, int flags) {
    net->error = code;
    net->sys_error = errno;
    return flags | code;
}

/* The longest the next wait may take: timeout_ms cut to what is left of
   the engine's deadline (0: none); -1: the deadline passed. */
static long cbk__lw_wait_ms(const cbk_lwip *net) {
    long left = net->http ? cbk_http1_remaining_ms(net->http) : -1;
    if (left == 0) return -1;
    if (left > 0 && (net->timeout_ms == 0 || (unsigned long)left < net->timeout_ms)) return left;
    return (long)net->timeout_ms;
}

/* SO_RCVTIMEO and SO_SNDTIMEO for the next call (0: none). */
static void cbk__lw_timeouts(cbk_lwip *net, long ms) {
#if LWIP_SO_SNDRCVTIMEO_NONSTANDARD
    int tv = (int)ms;
#else
    struct timeval tv;
    tv.tv_sec = ms / 1000L;
    tv.tv_usec = (ms % 1000L) * 1000L;
#endif
    (void)tv;
#if LWIP_SO_RCVTIMEO
    (void)lwip_setsockopt(net->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
#endif
#if LWIP_SO_SNDTIMEO
    (void)lwip_setsockopt(net->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
#endif
}

/* Arms the socket for one read or write; 0 when the deadline passed
   (the caller reports a timeout without waiting). */
static int cbk__lw_arm(cbk_lwip *net) {
    long ms = cbk__lw_wait_ms(net);
    if (ms < 0) {
        net->sys_error = EWOULDBLOCK;
        return 0;
    }
    cbk__lw_timeouts(net, ms);
    return 1;
}

/* The socket's options: no Nagle (the timeouts are set per call). */
static void cbk__lw_options(cbk_lwip *net) {
    int one = 1;
    (void)lwip_setsockopt(net->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Socket, options, connect to one address. 0 or a contract code. */
static int cbk__lw_connect_addr(cbk_lwip *net, const ip_addr_t *ip, unsigned port) {
    union {
        struct sockaddr sa;
#if LWIP_IPV4
        struct sockaddr_in in;
#endif
#if LWIP_IPV6
        struct sockaddr_in6 in6;
#endif
    } u;
    socklen_t len = 0;
    int family = AF_INET;
    memset(&u, 0, sizeof u);
#if LWIP_IPV6
    if (IP_IS_V6(ip)) {
        family = AF_INET6;
        u.in6.sin6_family = AF_INET6;
        u.in6.sin6_port = lwip_htons((u16_t)port);
        memcpy(&u.in6.sin6_addr, ip_2_ip6(ip)->addr, 16); /* both in network order */
        len = sizeof u.in6;
    }
#endif
#if LWIP_IPV4
    if (len == 0) {
        u.in.sin_family = AF_INET;
        u.in.sin_port = lwip_htons((u16_t)port);
        inet_addr_from_ip4addr(&u.in.sin_addr, ip_2_ip4(ip));
        len = sizeof u.in;
    }
#endif
    net->sock = lwip_socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (net->sock < 0) return cbk__lw_fail(net, CBK_LWIP_ERR_SOCKET, CBK_SEND_NOT_SENT);
    cbk__lw_options(net);
    if (lwip_connect(net->sock, &u.sa, len) == 0) return 0;
    (void)cbk__lw_fail(net, CBK_LWIP_ERR_CONNECT, 0);
    cbk_lwip_close(net);
    return CBK_SEND_NOT_SENT | CBK_LWIP_ERR_CONNECT;
}

#if LWIP_DNS
/* The address of a resolved sockaddr; 0 for a family this build lacks. */
static int cbk__lw_from_sockaddr(const struct sockaddr *sa, ip_addr_t *ip) {
#if LWIP_IPV4
    if (sa->sa_family == AF_INET) {
        inet_addr_to_ip4addr(ip_2_ip4(ip), &((const struct sockaddr_in *)sa)->sin_addr);
        IP_SET_TYPE(ip, IPADDR_TYPE_V4);
        return 1;
    }
#endif
#if LWIP_IPV6
    if (sa->sa_family == AF_INET6) {
        memcpy(ip_2_ip6(ip)->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        ip6_addr_clear_zone(ip_2_ip6(ip));
        IP_SET_TYPE(ip, IPADDR_TYPE_V6);
        return 1;
    }
#endif
    return 0;
}
#endif

/* host as an address, or through lwIP's resolver when there is one. */
static int cbk__lw_resolve(cbk_lwip *net, const char *host, ip_addr_t *ip) {
#if LWIP_DNS
    struct addrinfo hints, *ai = NULL;
    int ok;
#endif
    if (ipaddr_aton(host, ip)) return 0;
#if LWIP_DNS
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (lwip_getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL)
        return cbk__lw_fail(net, CBK_LWIP_ERR_ADDRESS, CBK_SEND_NOT_SENT);
    ok = cbk__lw_from_sockaddr(ai->ai_addr, ip);
    lwip_freeaddrinfo(ai);
    return ok ? 0 : cbk__lw_fail(net, CBK_LWIP_ERR_ADDRESS, CBK_SEND_NOT_SENT);
#else
    return cbk__lw_fail(net, CBK_LWIP_ERR_ADDRESS, CBK_SEND_NOT_SENT | CBK_SEND_FINAL);
#endif
}

CBKDEF int cbk_lwip_open(cbk_lwip *net, const char *host, unsigned port) {
    ip_addr_t ip;
    int rc;
    net->error = 0;
    net->sys_error = 0;
    cbk_lwip_close(net);
    rc = cbk__lw_resolve(net, host, &ip);
    return rc ? rc : cbk__lw_connect_addr(net, &ip, port);
}

CBKDEF void cbk_lwip_close(cbk_lwip *net) {
    if (net->sock >= 0) (void)lwip_close(net->sock);
    net->sock = -1;
}

/* 1 when no byte waits on the idle socket: EOF, a reset or stray bytes
   mean the next request must go on a new connection. */
static int cbk__lw_usable(void *ctx) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    char c;
    long n;
    if (net->sock < 0) return 0;
    n = (long)lwip_recv(net->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EWOULDBLOCK || errno == EAGAIN);
}

static uint32_t cbk__lw_now_ms(void *ctx) {
    (void)ctx;
    return (uint32_t)sys_now();
}

/* ---- the plain io ---- */

static int cbk__lw_io_connect(void *ctx, const char *host, unsigned port, int tls) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    if (tls) {
        net->error = CBK_LWIP_ERR_TLS;
        return CBK_SEND_NOT_SENT | CBK_SEND_FINAL | CBK_LWIP_ERR_TLS;
    }
    return cbk_lwip_open(net, host, port);
}

static int cbk__lw_timed_out(void) {
    return errno == EWOULDBLOCK || errno == EAGAIN;
}

static long cbk__lw_io_write(void *ctx, const char *data, size_t len) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    long n;
    if (!cbk__lw_arm(net)) return CBK_HTTP1_IO_TIMEOUT;
    n = (long)lwip_send(net->sock, data, len, 0);
    if (n > 0) return n;
    net->sys_error = errno;
    return cbk__lw_timed_out() ? CBK_HTTP1_IO_TIMEOUT : -1;
}

static long cbk__lw_io_read(void *ctx, char *buf, size_t len) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    long n;
    if (!cbk__lw_arm(net)) return CBK_HTTP1_IO_TIMEOUT;
    n = (long)lwip_recv(net->sock, buf, len, 0);
    if (n >= 0) return n;
    net->sys_error = errno;
    return cbk__lw_timed_out() ? CBK_HTTP1_IO_TIMEOUT : -1;
}

static void cbk__lw_io_close(void *ctx) {
    cbk_lwip_close((cbk_lwip *)ctx);
}

CBKDEF cbk_http1_io cbk_lwip_io(cbk_lwip *net) {
    cbk_http1_io io;
    io.ctx = net;
    io.connect = cbk__lw_io_connect;
    io.write = cbk__lw_io_write;
    io.read = cbk__lw_io_read;
    io.close = cbk__lw_io_close;
    io.now_ms = cbk__lw_now_ms;
    io.usable = cbk__lw_usable;
    return io;
}

/* ---- the socket for mbedTLS ---- */

#ifdef CBK_TOKEN_MBEDTLS_H
static int cbk__lw_bio_connect(void *ctx, const char *host, unsigned port) {
    return cbk_lwip_open((cbk_lwip *)ctx, host, port);
}

/* errno after a failed lwip_send/lwip_recv, in mbedTLS's words. */
static int cbk__lw_bio_error(cbk_lwip *net, int failed) {
    net->sys_error = errno;
    if (cbk__lw_timed_out()) return MBEDTLS_ERR_SSL_TIMEOUT;
    if (errno == ECONNRESET || errno == EPIPE) return MBEDTLS_ERR_NET_CONN_RESET;
    return failed;
}

static int cbk__lw_bio_send(void *ctx, const unsigned char *buf, size_t len) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    long n;
    if (!cbk__lw_arm(net)) return MBEDTLS_ERR_SSL_TIMEOUT;
    n = (long)lwip_send(net->sock, buf, len, 0);
    return n > 0 ? (int)n : cbk__lw_bio_error(net, MBEDTLS_ERR_NET_SEND_FAILED);
}

static int cbk__lw_bio_recv(void *ctx, unsigned char *buf, size_t len) {
    cbk_lwip *net = (cbk_lwip *)ctx;
    long n;
    if (!cbk__lw_arm(net)) return MBEDTLS_ERR_SSL_TIMEOUT;
    n = (long)lwip_recv(net->sock, buf, len, 0);
    return n >= 0 ? (int)n : cbk__lw_bio_error(net, MBEDTLS_ERR_NET_RECV_FAILED);
}

CBKDEF cbk_mbedtls_socket cbk_lwip_tls_socket(cbk_lwip *net) {
    cbk_mbedtls_socket s;
    s.ctx = net;
    s.connect = cbk__lw_bio_connect;
    s.close = cbk__lw_io_close;
    s.send = cbk__lw_bio_send;
    s.recv = cbk__lw_bio_recv;
    s.recv_timeout = NULL; /* SO_RCVTIMEO does it, cut to net->http's deadline */
    s.usable = cbk__lw_usable;
    s.now_ms = cbk__lw_now_ms;
    return s;
}
#endif

#endif /* CBK_TOKEN_LWIP_IMPLEMENTED */
#endif /* CBK_TOKEN_LWIP_IMPLEMENTATION */
