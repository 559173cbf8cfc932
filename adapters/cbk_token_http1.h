/* cbk_token_http1.h v0.1.0 - one HTTP/1.1 exchange engine for cbk_token.h - MIT or public domain
 *
 * ABOUT
 *   The HTTP/1.1 half of a transport for cbk_token.h, over a byte stream
 *   you supply: a TCP socket, a TLS session over one, a modem's data mode.
 *   You give it five callbacks (connect, write, read, close, and optionally
 *   a clock) and one buffer; it gives you a send callback (cbk_send_fn).
 *   It builds the request (head and body), reads the response (status
 *   line, headers, Content-Length, chunked and close-delimited bodies),
 *   streams the body into the library as it arrives, and keeps the
 *   connection open for the next request (keep-alive), reconnecting
 *   cleanly when the server closed an idle one.
 *
 *   It is the only HTTP/1.1 parser in this tree: adapters/cbk_token_posix.h
 *   is this engine over BSD sockets; adapters/cbk_token_mbedtls.h and
 *   adapters/cbk_token_lwip.h are io callbacks for it.
 *
 *   C99, clean as C++, freestanding: no heap, no globals, no libc calls
 *   (not even memcpy), no recursion, no floating point; every loop is
 *   bounded by the bytes it is given. Needs <stddef.h> and <stdint.h>
 *   (which cbk_token.h includes).
 *
 * USAGE
 *   #include "cbk_token.h"
 *   #define CBK_TOKEN_HTTP1_IMPLEMENTATION       // in exactly one .c file
 *   #include "adapters/cbk_token_http1.h"
 *
 *   static char buf[2048];                       // the engine's only memory
 *   cbk_http1_io io = {0};
 *   io.ctx = &my_socket;
 *   io.connect = my_connect;  io.write = my_write;
 *   io.read = my_read;        io.close = my_close;
 *   io.now_ms = my_clock;                        // optional: the deadline
 *   cbk_http1 h;
 *   cbk_http1_init(&h, &io, buf, sizeof buf);
 *   h.deadline_ms = 60000;                       // whole exchange, optional
 *   cbk_client_init(&c, secret, cbk_http1_send, &h, work, sizeof work, &o);
 *   ... operations (each reuses the open connection) ...
 *   cbk_http1_close(&h);                         // closes it, wipes buf
 *
 * THE IO CALLBACKS (cbk_http1_io; the engine's transport interface)
 *   Every callback gets io.ctx first. Each MUST return within its own
 *   timeout: the engine has no timer of its own, it only looks at the
 *   clock between calls. None is ever called re-entrantly, and all calls
 *   for one cbk_http1 come from the thread that called cbk_http1_send.
 *
 *   int connect(ctx, host, port, tls)
 *     Open a connection to host:port. host is NUL-terminated: a name, an
 *     IPv4 address or an IPv6 address without brackets (a zone as
 *     "fe80::1%eth0"); port 1..65535; tls is 1 for an https:// URL (verify
 *     the server's certificate and name: the request carries the secret),
 *     0 for http://. Returns 0 when connected, or a failure in the
 *     transport contract's terms (cbk_token.h, THE TRANSPORT CONTRACT):
 *       CBK_SEND_NOT_SENT | code    nothing left: the name did not resolve,
 *                                   refused, unreachable, no socket
 *       CBK_SEND_NOT_SENT | CBK_SEND_FINAL | code
 *                                   it can never work: tls asked of an io
 *                                   without TLS, a refused certificate
 *       code (no flags)             anything else (a TLS handshake that
 *                                   timed out: the io cannot promise that
 *                                   nothing left)
 *     code is the io's own, 1..CBK_SEND_CODE_MAX; avoid the engine's
 *     numbers below (CBK_HTTP1_ERR_*) so a caller can tell them apart;
 *     3, 4 and 6 are left to io connect codes (the POSIX io uses them).
 *     The engine returns this value from cbk_http1_send as it is, except
 *     that it takes CBK_SEND_NOT_SENT off when the same request was
 *     already written once (a reconnect after a stale connection).
 *     After a failed connect the engine calls close before anything else.
 *
 *   long write(ctx, data, len)
 *     Send up to len (> 0) bytes. Returns how many were taken (1..len; the
 *     engine calls again for the rest), or a negative value on failure or
 *     when nothing could be sent within the io's write timeout; return
 *     CBK_HTTP1_IO_TIMEOUT for a timeout if you can tell. Never 0. Must not
 *     raise SIGPIPE (MSG_NOSIGNAL or SO_NOSIGPIPE).
 *
 *   long read(ctx, buf, len)
 *     Receive up to len (> 0) bytes, blocking until at least one arrived.
 *     Returns how many (1..len), 0 when the peer closed its side cleanly
 *     (EOF, or TLS close_notify), or a negative value on failure (reset,
 *     TLS error) or when no byte arrived within the io's read timeout.
 *     Return CBK_HTTP1_IO_TIMEOUT for a timeout if you can tell: the
 *     engine then never re-sends (a slow server is not a stale
 *     connection). A TLS io returns 0 for a peer that closed without
 *     close_notify only if it accepts truncation attacks on
 *     close-delimited bodies; better return a negative value.
 *
 *   void close(ctx)
 *     Close the connection, idempotent; also called when none is open.
 *
 *   uint32_t now_ms(ctx)      optional (NULL: no deadline)
 *     Milliseconds from any fixed origin, monotonic; wrapping at 2^32 is
 *     fine (only differences are used).
 *
 *   int usable(ctx)           optional (NULL: assume usable)
 *     Called before an open connection is reused: 1 when it can carry
 *     another request, 0 when the peer already closed it or sent bytes
 *     nobody asked for (a socket io: poll for input with no wait; input
 *     there means EOF, a reset or junk). The engine then reconnects
 *     before writing anything, which is always safe, also for a create.
 *     Without it, a server's idle close is only seen when the next
 *     request fails on the dead connection: a GET, update or delete is
 *     then re-sent, but a create fails (see RE-SENDING). Socket ios
 *     SHOULD provide it.
 *
 * THE CONTEXT (cbk_http1, caller-owned, one per connection and thread)
 *   Set by cbk_http1_init; the public fields may be changed between calls.
 *   io, buf, buf_size  the callbacks and the buffer. buf holds the request
 *                      head while it is sent and the response while it is
 *                      read; it bounds the longest response line (status,
 *                      header, chunk size, trailer), so give it at least
 *                      CBK_HTTP1_BUF_MIN bytes; 1024..4096 is plenty for
 *                      the ChatBotKit API. The body is never copied into
 *                      it: a request body is written from the request, a
 *                      response body is handed to the library from where
 *                      it was read.
 *   deadline_ms        the longest a whole cbk_http1_send may take (connect,
 *                      request, 1xx, head and body), checked before every
 *                      write and read; 0: none. Needs io.now_ms. It bounds
 *                      what a read timeout cannot: a server that drips
 *                      bytes just faster than the timeout. It can be
 *                      overshot by one callback's own timeout (an io may
 *                      shorten its waits with cbk_http1_remaining_ms and
 *                      then return CBK_HTTP1_IO_TIMEOUT, which the engine
 *                      reports as CBK_HTTP1_ERR_DEADLINE). Default 0.
 *   keep_alive         1 (default): keep the connection for the next
 *                      request to the same scheme, host and port; 0: send
 *                      "Connection: close" and close after each exchange.
 *   max_headers        the most header lines accepted in one response,
 *                      1xx responses' and trailers' included; default
 *                      CBK_HTTP1_MAX_HEADERS (100).
 *   max_head           the most bytes accepted before the body (stray empty
 *                      lines, every 1xx response, the final status line and
 *                      headers), and again for the trailers; default
 *                      CBK_HTTP1_MAX_HEAD (65536). Together with
 *                      max_headers it bounds a server that never stops
 *                      sending 1xx responses or headers.
 *   connects           out: connections opened so far (reports, tests).
 *   requests           out: requests written so far, counted when their
 *                      first byte is handed to write (tests: "sent once").
 *   error              out: the CBK_HTTP1_ERR_* of the last call, 0 after a
 *                      success. cbk_http1_strerror(error) in words.
 *   io_code            out: when error is CBK_HTTP1_ERR_CONNECT, what
 *                      io.connect returned; else 0.
 *   internal           private.
 *
 * WHAT IS SENT
 *   "<METHOD> <path?query> HTTP/1.1", "Host: <host>[:<port>]" (the port
 *   unless it is the scheme's default), the request's headers as given,
 *   "Accept: * / *" (without the spaces) when the request has none (the
 *   Node SDK's fetch does the same), "Content-Length: <n>" when there is a
 *   body or the method is POST, PUT or PATCH (0 without a body),
 *   "Connection: close" when keep_alive is 0, an empty line, the body.
 *   A body that fits in the buffer after the head goes out with it in one
 *   write. Request headers named Host, Content-Length, Transfer-Encoding
 *   or Connection are dropped: the engine owns the framing. A method or
 *   header name with bytes outside the visible ASCII range, or a value
 *   with CR or LF (the library never gives one) fails before anything is
 *   sent. No Accept-Encoding: bodies arrive unencoded.
 *
 * WHAT IS READ
 *   The status line ("HTTP/1.x nnn[ reason]"; empty lines before it are
 *   skipped); 1xx interim responses are skipped with their headers (101
 *   is refused: nothing asked for an upgrade). cbk_response_status() gets
 *   the final status once, then cbk_response_header() each header line,
 *   value trimmed (obs-fold continuation lines are skipped), then
 *   cbk_response_body() each piece of the body straight from the buffer:
 *     Transfer-Encoding: chunked  sizes in hex (any length of leading
 *                                 zeros, overflow refused), extensions
 *                                 (";...") skipped, trailers read and
 *                                 dropped; wins over a Content-Length
 *                                 (and the connection is then not kept)
 *     Content-Length              digits only; repeated headers must agree
 *     neither                     up to the server's close (then the
 *                                 connection is not kept)
 *   HEAD, 204, 304 have no body. Lines end in CRLF or a bare LF. Any other
 *   Transfer-Encoding fails. A response is complete only when its framing
 *   says so: a Content-Length body, a chunked body (to the empty line
 *   after its trailers) or a head cut by the close fails; only a body
 *   that the server delimits by closing (no length, not chunked) ends
 *   well at EOF, and only at a clean EOF (read 0), never at a reset.
 *
 * KEEP-ALIVE
 *   After a complete response the connection stays open for the next
 *   request to the same scheme, host and port, unless: keep_alive is 0,
 *   the response was HTTP/1.0, it said "Connection: close", its body was
 *   delimited by the close, it had both Content-Length and chunked, or
 *   bytes followed its end. A request to another origin closes it first.
 *   Any failure closes it. cbk_http1_close closes it when you are done.
 *
 * RE-SENDING (what the engine does on a stale connection)
 *   A request written on a reused connection that ends with EOF or a
 *   failure of read or write before ANY byte of the response arrived is
 *   re-sent once on a new connection, but only when req->idempotent is 1
 *   (the library sets it for every GET, an update and a delete: sending
 *   them twice does what sending them once does). A request with
 *   idempotent 0 (a create, a cbk_fetch POST, and any cbk_request of your
 *   own that leaves the field zeroed) is never re-sent by the engine once
 *   write was called for it: it fails with CBK_HTTP1_ERR_CLOSED, _SEND or
 *   _RECV without CBK_SEND_NOT_SENT, and the library does not re-send a
 *   create either. A timeout (CBK_HTTP1_IO_TIMEOUT) is never followed by
 *   a re-send: a slow server is not a stale connection. Once any byte of
 *   a request may have left, no failure of the call carries
 *   CBK_SEND_NOT_SENT, a failed reconnect included.
 *
 * RETURN VALUES OF cbk_http1_send (they land in cbk_error.transport_code)
 *   0                        the exchange completed (any status)
 *   io.connect's failure     as it returned it (see THE IO CALLBACKS);
 *                            error is CBK_HTTP1_ERR_CONNECT
 *   NOT_SENT|FINAL|code      nothing was sent and a retry cannot help:
 *                            CBK_HTTP1_ERR_ARGUMENT, CBK_HTTP1_ERR_URL
 *                            (also an unsupported scheme)
 *   NOT_SENT|code            nothing was sent: CBK_HTTP1_ERR_DEADLINE
 *                            passed before the first write
 *   code                     the server may have received the request: any
 *                            other CBK_HTTP1_ERR_* code
 *   where NOT_SENT is CBK_SEND_NOT_SENT and FINAL is CBK_SEND_FINAL.
 *
 * CONFIGURATION
 *   CBK_TOKEN_HTTP1_IMPLEMENTATION  in one file: compile the implementation
 *   CBK_HTTP1_HOST_MAX    the longest host name + 1 (default 256); it sets
 *                         the size of cbk_http1: the same in every file
 *   CBK_HTTP1_MAX_HEADERS, CBK_HTTP1_MAX_HEAD   defaults of max_headers
 *                         and max_head (100, 65536)
 *   CBKDEF (from cbk_token.h)  linkage, static under CBK_TOKEN_STATIC
 *
 * THREADS
 *   One cbk_http1 per thread (or per connection); no shared state.
 *
 * NAMES
 *   cbk_http1_* and CBK_HTTP1_* are public; cbk__h1_* and CBK__H1_* are
 *   internal and may change.
 */
#ifndef CBK_TOKEN_HTTP1_H
#define CBK_TOKEN_HTTP1_H

#ifndef CBK_TOKEN_H
#error "include cbk_token.h before adapters/cbk_token_http1.h"
#endif

#ifndef CBK_HTTP1_HOST_MAX
#define CBK_HTTP1_HOST_MAX 256
#endif
#ifndef CBK_HTTP1_MAX_HEADERS
#define CBK_HTTP1_MAX_HEADERS 100
#endif
#ifndef CBK_HTTP1_MAX_HEAD
#define CBK_HTTP1_MAX_HEAD 65536
#endif

/* The smallest buffer cbk_http1_send accepts. */
#define CBK_HTTP1_BUF_MIN 128

/* What io.read and io.write may return for "timed out" (any other negative
   value is a failure). */
#define CBK_HTTP1_IO_TIMEOUT (-2)

#ifdef __cplusplus
extern "C" {
#endif

/* The detail codes (cbk_http1.error, and the code of a return value). The
   numbers match the POSIX adapter's CBK_POSIX_ERR_*. Only ever appended. */
enum cbk_http1_error {
    CBK_HTTP1_ERR_ARGUMENT = 1,       /* NULL, bad method or header, small buffer */
    CBK_HTTP1_ERR_URL = 2,            /* not http(s)://host[:port][/path] */
    CBK_HTTP1_ERR_CONNECT = 5,        /* io.connect failed: see io_code */
    CBK_HTTP1_ERR_SEND = 7,           /* io.write failed */
    CBK_HTTP1_ERR_TIMEOUT = 8,        /* io.read/io.write timed out */
    CBK_HTTP1_ERR_RECV = 9,           /* io.read failed (reset, TLS error) */
    CBK_HTTP1_ERR_CLOSED = 10,        /* closed before the head was complete */
    CBK_HTTP1_ERR_BAD_RESPONSE = 11,  /* not HTTP/1.x framing */
    CBK_HTTP1_ERR_LINE_TOO_LONG = 12, /* a response line does not fit in buf */
    CBK_HTTP1_ERR_TRUNCATED = 13,     /* closed inside a framed body */
    CBK_HTTP1_ERR_STOPPED = 14,       /* the library wanted no more bytes */
    CBK_HTTP1_ERR_DEADLINE = 15,      /* deadline_ms passed */
    CBK_HTTP1_ERR_HEAD_TOO_LARGE = 16 /* more than max_headers or max_head */
};

/* The byte stream under the engine. See THE IO CALLBACKS at the top. */
typedef struct cbk_http1_io {
    void *ctx;
    int (*connect)(void *ctx, const char *host, unsigned port, int tls);
    long (*write)(void *ctx, const char *data, size_t len);
    long (*read)(void *ctx, char *buf, size_t len);
    void (*close)(void *ctx);
    uint32_t (*now_ms)(void *ctx); /* optional */
    int (*usable)(void *ctx);      /* optional */
} cbk_http1_io;

/* Private: the open connection. */
typedef struct cbk__h1_conn {
    int open;     /* a connection is open */
    int reusable; /* the last exchange left it fit for another request */
    int tls;
    unsigned port;
    uint32_t start_ms; /* when the current call began */
    size_t used;       /* high-water mark of buf in the current call */
    char host[CBK_HTTP1_HOST_MAX];
} cbk__h1_conn;

/* The engine's state. See THE CONTEXT at the top. */
typedef struct cbk_http1 {
    cbk_http1_io io;
    char *buf;
    size_t buf_size;
    uint32_t deadline_ms; /* whole exchange; 0: none */
    int keep_alive;       /* default 1 */
    unsigned max_headers; /* default CBK_HTTP1_MAX_HEADERS */
    size_t max_head;      /* default CBK_HTTP1_MAX_HEAD */
    unsigned connects;    /* out */
    unsigned requests;    /* out */
    int error;            /* out: CBK_HTTP1_ERR_* of the last call */
    int io_code;          /* out: io.connect's failure */
    cbk__h1_conn internal;
} cbk_http1;

/* Fills h: copies *io, takes buf (buf_size bytes, caller-owned, used until
   cbk_http1_close), sets the defaults above. No connection is opened. */
CBKDEF void cbk_http1_init(cbk_http1 *h, const cbk_http1_io *io, char *buf, size_t buf_size);

/* The send callback: pass cbk_http1_send and a cbk_http1 * to
   cbk_client_init. One exchange, reusing the open connection when it can.
   See RETURN VALUES at the top. The part of buf it used is wiped before
   it returns (it held the Authorization line, and after a create the new
   token's secret). */
CBKDEF int cbk_http1_send(void *h, const cbk_request *req, cbk_response *res);

/* Closes a kept-alive connection (if any) and wipes the whole buffer. h
   stays initialised: the next send opens a new connection. */
CBKDEF void cbk_http1_close(cbk_http1 *h);

/* Milliseconds left before deadline_ms passes in the current call (0 when
   it passed), or -1 when there is no deadline (deadline_ms 0 or no
   now_ms). For an io that wants to cut its own waits short. */
CBKDEF long cbk_http1_remaining_ms(const cbk_http1 *h);

/* A CBK_HTTP1_ERR_* code (flags allowed) or 0 in words; never NULL. */
CBKDEF const char *cbk_http1_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_HTTP1_H */

/* ===========================================================================
 * Implementation
 * ======================================================================== */
#if defined(CBK_TOKEN_HTTP1_IMPLEMENTATION) && !defined(CBK__H1_IMPLEMENTED)
#define CBK__H1_IMPLEMENTED

#ifdef __cplusplus
extern "C" {
#endif

/* nothing was sent, and a retry would meet the same refusal */
#define CBK__H1_NEVER (CBK_SEND_NOT_SENT | CBK_SEND_FINAL)
/* internal: the read saw the clean close that ends a close-delimited body */
#define CBK__H1_EOF_END (-1)

/* Receive states: the response is a line-driven head, then a body. */
enum {
    CBK__H1_STATUS = 0, /* waiting for a status line */
    CBK__H1_INTERIM,    /* header lines of a 1xx response (dropped) */
    CBK__H1_HEADERS,    /* header lines of the final response */
    CBK__H1_LENGTH,     /* body with Content-Length */
    CBK__H1_TO_CLOSE,   /* body up to the close */
    CBK__H1_CHUNK_SIZE, /* a chunk-size line */
    CBK__H1_CHUNK_DATA,
    CBK__H1_CHUNK_END, /* the line end after a chunk's data */
    CBK__H1_TRAILERS,  /* after the 0 chunk, up to an empty line */
    CBK__H1_DONE
};

/* Response flags. */
#define CBK__H1_F_CHUNKED 1u
#define CBK__H1_F_LENGTH  2u
#define CBK__H1_F_CLOSE   4u /* the connection is not kept after this response */
#define CBK__H1_F_NOBODY  8u /* a HEAD request: no body whatever the headers say */

/* The URL, split; host/host_len and path point into the URL. */
typedef struct cbk__h1_url {
    const char *host; /* for the Host header: no brackets, no zone */
    size_t host_len;
    int bracket; /* an IPv6 literal: the Host header gets its brackets back */
    int tls;
    unsigned port;
    int default_port; /* the scheme's port: not in the Host header */
    const char *path; /* path and query, without the fragment */
    size_t path_len;
    char conn_host[CBK_HTTP1_HOST_MAX]; /* for io.connect: zone as "%eth0" */
} cbk__h1_url;

/* Reading one response. Unread bytes are buf[start..len). */
typedef struct cbk__h1_rx {
    size_t start, len;
    int state;
    unsigned flags;
    int status;
    uint64_t remaining; /* of the body or of the chunk */
    size_t head_bytes;  /* before the body (or in the trailers) */
    unsigned headers;   /* header lines so far (or trailer lines) */
    int got_byte;       /* a byte of the response arrived */
} cbk__h1_rx;

/* One call of cbk_http1_send. */
typedef struct cbk__h1_x {
    cbk_http1 *h;
    const cbk_request *req;
    cbk_response *res;
    cbk__h1_url url;
    cbk__h1_rx rx;
    size_t out;        /* bytes of the head waiting in buf */
    int werr;          /* the first failure while writing the request */
    int wrote;         /* write was called in this call: bytes may have left */
    int attempt_wrote; /* ... in this attempt (counts h->requests once) */
} cbk__h1_x;

/* ---- small helpers ------------------------------------------------------ */

static char cbk__h1_lower(char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/* s[0..len) equals the lowercase literal, ignoring case. */
static int cbk__h1_ieq(const char *s, size_t len, const char *lower) {
    size_t i;
    for (i = 0; i < len; i++)
        if (lower[i] == '\0' || cbk__h1_lower(s[i]) != lower[i]) return 0;
    return lower[len] == '\0';
}

static int cbk__h1_ows(char ch) {
    return ch == ' ' || ch == '\t';
}

static size_t cbk__h1_strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') n++;
    return n;
}

/* Also moves bytes to the front of their own buffer (dst < src). */
static void cbk__h1_copy(char *dst, const char *src, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) dst[i] = src[i];
}

static void cbk__h1_wipe(char *p, size_t n) {
    volatile char *v = p;
    size_t i;
    for (i = 0; i < n; i++) v[i] = 0;
}

static int cbk__h1_streq(const char *a, const char *b) {
    size_t i = 0;
    while (a[i] != '\0' && a[i] == b[i]) i++;
    return a[i] == b[i];
}

/* A visible ASCII byte: no space, no control, nothing above 0x7e. */
static int cbk__h1_visible(char ch) {
    return (unsigned char)ch > ' ' && (unsigned char)ch < 0x7f;
}

static int cbk__h1_fail(cbk_http1 *h, int code) {
    h->error = code;
    return code;
}

static void cbk__h1_mark(cbk_http1 *h, size_t used) {
    if (used > h->internal.used) h->internal.used = used;
}

/* ---- the clock ---------------------------------------------------------- */

CBKDEF long cbk_http1_remaining_ms(const cbk_http1 *h) {
    uint32_t spent;
    if (h == NULL || h->deadline_ms == 0 || h->io.now_ms == NULL) return -1;
    spent = (uint32_t)(h->io.now_ms(h->io.ctx) - h->internal.start_ms);
    if (spent >= h->deadline_ms) return 0;
    return (long)(h->deadline_ms - spent);
}

/* The whole-exchange deadline passed. */
static int cbk__h1_late(const cbk_http1 *h) {
    return cbk_http1_remaining_ms(h) == 0;
}

/* What a failed read or write means: an io that cut its wait short for
   the deadline reports a timeout, which is the deadline's. */
static int cbk__h1_io_error(const cbk_http1 *h, long n, int failure) {
    if (n != CBK_HTTP1_IO_TIMEOUT) return failure;
    return cbk__h1_late(h) ? CBK_HTTP1_ERR_DEADLINE : CBK_HTTP1_ERR_TIMEOUT;
}

/* ---- the URL ------------------------------------------------------------ */

/* "http://" or "https://": the authority's offset, 0 for another scheme. */
static size_t cbk__h1_scheme(const char *url, cbk__h1_url *u) {
    size_t n = cbk__h1_strlen(url);
    if (n >= 8 && cbk__h1_ieq(url, 8, "https://")) {
        u->tls = 1;
        u->port = 443;
        return 8;
    }
    if (n >= 7 && cbk__h1_ieq(url, 7, "http://")) {
        u->tls = 0;
        u->port = 80;
        return 7;
    }
    return 0;
}

/* ":port" in p[0..end); empty means the scheme's port. */
static int cbk__h1_port(const char *p, const char *end, cbk__h1_url *u) {
    unsigned long port = 0;
    u->default_port = 1;
    if (p == end) return 0;
    if (*p++ != ':') return CBK_HTTP1_ERR_URL;
    if (p == end) return 0;
    if (end - p > 5) return CBK_HTTP1_ERR_URL;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return CBK_HTTP1_ERR_URL;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port == 0 || port > 65535) return CBK_HTTP1_ERR_URL;
    u->default_port = port == u->port;
    u->port = (unsigned)port;
    return 0;
}

/* Copies the host for io.connect; in an IPv6 literal a zone ("%25eth0",
   or a bare "%eth0") becomes "%eth0" there and is left out of Host. */
static int cbk__h1_host(const char *host, size_t len, cbk__h1_url *u) {
    size_t i, n = 0;
    u->host = host;
    u->host_len = len;
    if (len == 0 || len >= sizeof u->conn_host) return CBK_HTTP1_ERR_URL;
    for (i = 0; i < len; i++) {
        if (!cbk__h1_visible(host[i])) return CBK_HTTP1_ERR_URL;
        if (u->bracket && host[i] == '%' && u->host_len == len) {
            u->host_len = i;
            if (i + 2 < len && host[i + 1] == '2' && host[i + 2] == '5') i += 2;
            u->conn_host[n++] = '%';
            continue;
        }
        u->conn_host[n++] = host[i];
    }
    u->conn_host[n] = '\0';
    return u->host_len == 0 ? CBK_HTTP1_ERR_URL : 0;
}

/* Where the authority ends; NULL when it holds user info (the library
   never sends one). */
static const char *cbk__h1_authority_end(const char *auth) {
    const char *end = auth;
    for (; *end != '\0' && *end != '/' && *end != '?' && *end != '#'; end++)
        if (*end == '@') return NULL;
    return end;
}

static int cbk__h1_parse_url(const char *url, cbk__h1_url *u) {
    const char *auth, *end, *host, *host_end, *p;
    size_t at = cbk__h1_scheme(url, u);
    int r;
    if (at == 0) return CBK_HTTP1_ERR_URL;
    auth = url + at;
    if ((end = cbk__h1_authority_end(auth)) == NULL) return CBK_HTTP1_ERR_URL;
    u->bracket = *auth == '[';
    host = auth + u->bracket;
    for (host_end = host; host_end < end && *host_end != (u->bracket ? ']' : ':'); host_end++) {
    }
    if (u->bracket && host_end == end) return CBK_HTTP1_ERR_URL;
    if ((r = cbk__h1_host(host, (size_t)(host_end - host), u)) != 0) return r;
    if ((r = cbk__h1_port(host_end + u->bracket, end, u)) != 0) return r;
    u->path = end;
    for (p = end; *p != '\0' && *p != '#'; p++)
        if (!cbk__h1_visible(*p)) return CBK_HTTP1_ERR_URL;
    u->path_len = (size_t)(p - end);
    return 0;
}

/* ---- checking the request ----------------------------------------------- */

static int cbk__h1_token_ok(const char *s) {
    if (s == NULL || s[0] == '\0') return 0;
    for (; *s != '\0'; s++)
        if (!cbk__h1_visible(*s) || *s == ':') return 0;
    return 1;
}

static int cbk__h1_value_ok(const char *s) {
    if (s == NULL) return 0;
    for (; *s != '\0'; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

static int cbk__h1_check(const cbk_request *req, const cbk_response *res) {
    size_t i;
    if (req == NULL || res == NULL || req->url == NULL || !cbk__h1_token_ok(req->method) ||
        (req->header_count > 0 && req->headers == NULL) || (req->body == NULL && req->body_len > 0))
        return CBK_HTTP1_ERR_ARGUMENT;
    for (i = 0; i < req->header_count; i++)
        if (!cbk__h1_token_ok(req->headers[i].name) || !cbk__h1_value_ok(req->headers[i].value))
            return CBK_HTTP1_ERR_ARGUMENT;
    return 0;
}

/* ---- the connection ----------------------------------------------------- */

static void cbk__h1_drop(cbk_http1 *h) {
    if (h->internal.open) h->io.close(h->io.ctx);
    h->internal.open = 0;
    h->internal.reusable = 0;
}

/* Keeps the open connection when it leads to the same origin and is still
   fit; 1 when it is reused, 0 when a new one is needed. */
static int cbk__h1_take(cbk__h1_x *x) {
    cbk_http1 *h = x->h;
    cbk__h1_conn *c = &h->internal;
    int same = c->open && c->reusable && c->tls == x->url.tls && c->port == x->url.port &&
               cbk__h1_streq(c->host, x->url.conn_host);
    if (same && h->io.usable != NULL && !h->io.usable(h->io.ctx)) same = 0;
    if (!same) cbk__h1_drop(h);
    c->reusable = 0; /* until this exchange ends well */
    return same;
}

static int cbk__h1_connect(cbk__h1_x *x) {
    cbk_http1 *h = x->h;
    cbk__h1_conn *c = &h->internal;
    int r = h->io.connect(h->io.ctx, x->url.conn_host, x->url.port, x->url.tls);
    if (r != 0) {
        h->io.close(h->io.ctx);
        h->error = CBK_HTTP1_ERR_CONNECT;
        h->io_code = r;
        /* the request was written once already: no promise can be made */
        if (x->wrote && r > 0) r &= ~CBK_SEND_NOT_SENT;
        return r == 0 ? CBK_HTTP1_ERR_CONNECT : r;
    }
    h->connects++;
    c->open = 1;
    c->tls = x->url.tls;
    c->port = x->url.port;
    cbk__h1_copy(c->host, x->url.conn_host, cbk__h1_strlen(x->url.conn_host) + 1);
    return 0;
}

/* ---- sending ------------------------------------------------------------ */

/* A failure before the first write promises that nothing left. */
static int cbk__h1_unsent(cbk__h1_x *x, int code) {
    cbk__h1_fail(x->h, code);
    return x->wrote ? code : (code | CBK_SEND_NOT_SENT);
}

static int cbk__h1_write(cbk__h1_x *x, const char *data, size_t len) {
    cbk_http1 *h = x->h;
    while (len > 0) {
        long n;
        if (cbk__h1_late(h)) return cbk__h1_unsent(x, CBK_HTTP1_ERR_DEADLINE);
        if (!x->attempt_wrote) h->requests++;
        x->wrote = x->attempt_wrote = 1;
        n = h->io.write(h->io.ctx, data, len);
        if (n <= 0 || (size_t)n > len)
            return cbk__h1_fail(h, cbk__h1_io_error(h, n, CBK_HTTP1_ERR_SEND));
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends the head gathered in buf. The head is built with a sticky error
   (x->werr): once a write failed, the puts below do nothing. */
static void cbk__h1_flush(cbk__h1_x *x) {
    size_t n = x->out;
    x->out = 0;
    if (n > 0 && x->werr == 0) x->werr = cbk__h1_write(x, x->h->buf, n);
}

/* Appends to the head in buf, sending whenever it fills. */
static void cbk__h1_put(cbk__h1_x *x, const char *data, size_t len) {
    cbk_http1 *h = x->h;
    while (len > 0 && x->werr == 0) {
        size_t room = h->buf_size - x->out, k = len < room ? len : room;
        cbk__h1_copy(h->buf + x->out, data, k);
        x->out += k;
        cbk__h1_mark(h, x->out);
        data += k;
        len -= k;
        if (x->out == h->buf_size) cbk__h1_flush(x);
    }
}

static void cbk__h1_puts(cbk__h1_x *x, const char *s) {
    cbk__h1_put(x, s, cbk__h1_strlen(s));
}

static void cbk__h1_put_uint(cbk__h1_x *x, uint64_t v) {
    char text[20];
    size_t k = sizeof text;
    do {
        text[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    cbk__h1_put(x, text + k, sizeof text - k);
}

/* "<METHOD> <target> HTTP/1.1" and Host. */
static void cbk__h1_put_start(cbk__h1_x *x) {
    const cbk__h1_url *u = &x->url;
    cbk__h1_puts(x, x->req->method);
    cbk__h1_put(x, " /", u->path_len > 0 && u->path[0] == '/' ? 1 : 2);
    cbk__h1_put(x, u->path, u->path_len);
    cbk__h1_puts(x, " HTTP/1.1\r\nHost: ");
    if (u->bracket) cbk__h1_put(x, "[", 1);
    cbk__h1_put(x, u->host, u->host_len);
    if (u->bracket) cbk__h1_put(x, "]", 1);
    if (!u->default_port) {
        cbk__h1_put(x, ":", 1);
        cbk__h1_put_uint(x, u->port);
    }
    cbk__h1_put(x, "\r\n", 2);
}

/* Headers the engine writes itself. */
static int cbk__h1_framing(const char *name) {
    size_t n = cbk__h1_strlen(name);
    return cbk__h1_ieq(name, n, "host") || cbk__h1_ieq(name, n, "content-length") ||
           cbk__h1_ieq(name, n, "transfer-encoding") || cbk__h1_ieq(name, n, "connection");
}

/* The request's own headers, then Accept when none of them was one. */
static void cbk__h1_put_headers(cbk__h1_x *x) {
    size_t i;
    int accept = 0;
    for (i = 0; i < x->req->header_count; i++) {
        const cbk_header *hd = &x->req->headers[i];
        if (cbk__h1_framing(hd->name)) continue;
        if (cbk__h1_ieq(hd->name, cbk__h1_strlen(hd->name), "accept")) accept = 1;
        cbk__h1_puts(x, hd->name);
        cbk__h1_put(x, ": ", 2);
        cbk__h1_puts(x, hd->value);
        cbk__h1_put(x, "\r\n", 2);
    }
    if (!accept) cbk__h1_puts(x, "Accept: */*\r\n");
}

/* A body, or a method that expects one (POST, PUT, PATCH): Content-Length,
   0 without a body. */
static int cbk__h1_with_length(const cbk_request *req) {
    const char *m = req->method;
    return req->body != NULL || cbk__h1_streq(m, "POST") || cbk__h1_streq(m, "PUT") ||
           cbk__h1_streq(m, "PATCH");
}

static int cbk__h1_send_request(cbk__h1_x *x) {
    const cbk_request *req = x->req;
    size_t body = req->body != NULL ? req->body_len : 0;
    x->out = 0;
    x->werr = 0;
    cbk__h1_put_start(x);
    cbk__h1_put_headers(x);
    if (cbk__h1_with_length(req)) {
        cbk__h1_puts(x, "Content-Length: ");
        cbk__h1_put_uint(x, body);
        cbk__h1_put(x, "\r\n", 2);
    }
    if (!x->h->keep_alive) cbk__h1_puts(x, "Connection: close\r\n");
    cbk__h1_put(x, "\r\n", 2);
    /* a small body rides with the head in one write; a large one goes out
       from the request itself */
    if (body > 0 && body <= x->h->buf_size - x->out) {
        cbk__h1_put(x, req->body, body);
        body = 0;
    }
    cbk__h1_flush(x);
    if (body > 0 && x->werr == 0) x->werr = cbk__h1_write(x, req->body, body);
    return x->werr;
}

/* ---- reading the head --------------------------------------------------- */

/* Counts a head (or trailer) line of n bytes plus its end against the
   limits; header says it is a header line, not a status or empty one. */
static int cbk__h1_count(cbk__h1_x *x, size_t n, int header) {
    cbk__h1_rx *rx = &x->rx;
    rx->head_bytes += n + 1;
    if (header) rx->headers++;
    if (rx->head_bytes > x->h->max_head || rx->headers > x->h->max_headers)
        return CBK_HTTP1_ERR_HEAD_TOO_LARGE;
    return 0;
}

/* The next complete line in the buffer (without its CRLF or LF); 0 when
   none is there yet. */
static int cbk__h1_line(cbk__h1_x *x, const char **line, size_t *len) {
    cbk__h1_rx *rx = &x->rx;
    const char *base = x->h->buf + rx->start;
    size_t n = 0, avail = rx->len - rx->start;
    while (n < avail && base[n] != '\n') n++;
    if (n == avail) return 0;
    rx->start += n + 1;
    if (n > 0 && base[n - 1] == '\r') n--;
    *line = base;
    *len = n;
    return 1;
}

static int cbk__h1_digit(char ch) {
    return ch >= '0' && ch <= '9';
}

/* "HTTP/1.x SP 3DIGIT [SP reason]": the status, or -1. */
static int cbk__h1_status_code(const char *s, size_t n) {
    if (n < 12 || !cbk__h1_ieq(s, 7, "http/1.") || !cbk__h1_digit(s[7]) || s[8] != ' ' ||
        !cbk__h1_digit(s[9]) || !cbk__h1_digit(s[10]) || !cbk__h1_digit(s[11]) ||
        (n > 12 && s[12] != ' '))
        return -1;
    return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

static int cbk__h1_status_line(cbk__h1_x *x, const char *s, size_t n) {
    cbk__h1_rx *rx = &x->rx;
    int code = cbk__h1_status_code(s, n);
    if (code < 100 || code == 101) return CBK_HTTP1_ERR_BAD_RESPONSE;
    if (code < 200) {
        rx->state = CBK__H1_INTERIM;
        return 0;
    }
    rx->status = code;
    rx->state = CBK__H1_HEADERS;
    if (s[7] == '0') rx->flags |= CBK__H1_F_CLOSE; /* HTTP/1.0: no keep-alive */
    if (cbk_response_status(x->res, code) != 0) return CBK_HTTP1_ERR_STOPPED;
    return 0;
}

static int cbk__h1_content_length(cbk__h1_rx *rx, const char *v, size_t n) {
    uint64_t value = 0;
    size_t k;
    if (n == 0) return CBK_HTTP1_ERR_BAD_RESPONSE;
    for (k = 0; k < n; k++) {
        if (v[k] < '0' || v[k] > '9' || value > (UINT64_MAX - 9) / 10)
            return CBK_HTTP1_ERR_BAD_RESPONSE;
        value = value * 10 + (uint64_t)(v[k] - '0');
    }
    if ((rx->flags & CBK__H1_F_LENGTH) && rx->remaining != value) return CBK_HTTP1_ERR_BAD_RESPONSE;
    rx->flags |= CBK__H1_F_LENGTH;
    rx->remaining = value;
    return 0;
}

/* "Connection: a, close, b": any "close" token. */
static void cbk__h1_connection(cbk__h1_rx *rx, const char *v, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t b, e;
        while (i < n && (cbk__h1_ows(v[i]) || v[i] == ',')) i++;
        b = i;
        while (i < n && v[i] != ',') i++;
        e = i;
        while (e > b && cbk__h1_ows(v[e - 1])) e--;
        if (cbk__h1_ieq(v + b, e - b, "close")) rx->flags |= CBK__H1_F_CLOSE;
    }
}

/* The headers that frame the body. */
static int cbk__h1_frame_header(cbk__h1_rx *rx, const char *s, size_t name_len, const char *v,
                                size_t n) {
    if (cbk__h1_ieq(s, name_len, "content-length")) return cbk__h1_content_length(rx, v, n);
    if (cbk__h1_ieq(s, name_len, "transfer-encoding")) {
        /* only chunked was offered (no TE header), and only once */
        if (!cbk__h1_ieq(v, n, "chunked") || (rx->flags & CBK__H1_F_CHUNKED))
            return CBK_HTTP1_ERR_BAD_RESPONSE;
        rx->flags |= CBK__H1_F_CHUNKED;
    } else if (cbk__h1_ieq(s, name_len, "connection")) {
        cbk__h1_connection(rx, v, n);
    }
    return 0;
}

static int cbk__h1_header_line(cbk__h1_x *x, const char *s, size_t n) {
    size_t name_len = 0, v, end = n;
    int r;
    if (cbk__h1_ows(s[0])) return 0; /* obs-fold continuation: skipped */
    while (name_len < n && s[name_len] != ':') {
        /* no whitespace in or after a name */
        if (!cbk__h1_visible(s[name_len])) return CBK_HTTP1_ERR_BAD_RESPONSE;
        name_len++;
    }
    if (name_len == 0 || name_len == n) return CBK_HTTP1_ERR_BAD_RESPONSE;
    if (x->rx.state == CBK__H1_INTERIM) return 0;
    v = name_len + 1;
    while (v < end && cbk__h1_ows(s[v])) v++;
    while (end > v && cbk__h1_ows(s[end - 1])) end--;
    if ((r = cbk__h1_frame_header(&x->rx, s, name_len, s + v, end - v)) != 0) return r;
    if (cbk_response_header(x->res, s, name_len, s + v, end - v) != 0) return CBK_HTTP1_ERR_STOPPED;
    return 0;
}

/* The empty line after the headers: where the body starts, and how it ends. */
static void cbk__h1_end_of_head(cbk__h1_rx *rx) {
    unsigned f = rx->flags;
    if (rx->state == CBK__H1_INTERIM) {
        rx->state = CBK__H1_STATUS;
    } else if ((f & CBK__H1_F_NOBODY) || rx->status == 204 || rx->status == 304) {
        rx->state = CBK__H1_DONE;
    } else if (f & CBK__H1_F_CHUNKED) {
        /* with a Content-Length too, someone in the path framed it twice */
        if (f & CBK__H1_F_LENGTH) rx->flags |= CBK__H1_F_CLOSE;
        rx->state = CBK__H1_CHUNK_SIZE;
    } else if (f & CBK__H1_F_LENGTH) {
        rx->state = rx->remaining == 0 ? CBK__H1_DONE : CBK__H1_LENGTH;
    } else {
        rx->flags |= CBK__H1_F_CLOSE;
        rx->state = CBK__H1_TO_CLOSE;
    }
}

/* ---- reading the body --------------------------------------------------- */

/* "1a2b[ ;ext...]": hex, overflow refused, extensions skipped. */
static int cbk__h1_chunk_size(cbk__h1_rx *rx, const char *s, size_t n) {
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char ch = cbk__h1_lower(s[i]);
        int d = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (d < 0) break;
        if (size > (UINT64_MAX >> 4)) return CBK_HTTP1_ERR_BAD_RESPONSE;
        size = (size << 4) | (uint64_t)d;
    }
    if (i == 0) return CBK_HTTP1_ERR_BAD_RESPONSE;
    while (i < n && cbk__h1_ows(s[i])) i++;
    if (i < n && s[i] != ';') return CBK_HTTP1_ERR_BAD_RESPONSE;
    rx->remaining = size;
    if (size > 0) {
        rx->state = CBK__H1_CHUNK_DATA;
        return 0;
    }
    rx->state = CBK__H1_TRAILERS; /* the trailers have limits of their own */
    rx->head_bytes = 0;
    rx->headers = 0;
    return 0;
}

/* Hands the buffered body bytes (up to the framed end) to the library. */
static int cbk__h1_body(cbk__h1_x *x) {
    cbk__h1_rx *rx = &x->rx;
    size_t avail = rx->len - rx->start;
    int bounded = rx->state != CBK__H1_TO_CLOSE;
    const char *data = x->h->buf + rx->start;
    if (bounded && (uint64_t)avail > rx->remaining) avail = (size_t)rx->remaining;
    if (avail == 0) return 0;
    rx->start += avail;
    if (bounded) rx->remaining -= avail;
    if (cbk_response_body(x->res, data, avail) != 0) return CBK_HTTP1_ERR_STOPPED;
    if (bounded && rx->remaining == 0)
        rx->state = rx->state == CBK__H1_LENGTH ? CBK__H1_DONE : CBK__H1_CHUNK_END;
    return 0;
}

/* One line in a line state: the heart of the state machine (see the enum).
   STATUS -> INTERIM -> STATUS ... -> HEADERS -> (body or DONE);
   CHUNK_SIZE -> CHUNK_DATA -> CHUNK_END -> CHUNK_SIZE ... -> TRAILERS -> DONE. */
static int cbk__h1_on_line(cbk__h1_x *x, const char *s, size_t n) {
    cbk__h1_rx *rx = &x->rx;
    int r;
    switch (rx->state) {
    case CBK__H1_STATUS:
        if ((r = cbk__h1_count(x, n, 0)) != 0) return r;
        return n == 0 ? 0 : cbk__h1_status_line(x, s, n); /* stray empty lines are skipped */
    case CBK__H1_INTERIM:
    case CBK__H1_HEADERS:
        if ((r = cbk__h1_count(x, n, n > 0)) != 0) return r;
        if (n > 0) return cbk__h1_header_line(x, s, n);
        cbk__h1_end_of_head(rx);
        return 0;
    case CBK__H1_CHUNK_SIZE: return cbk__h1_chunk_size(rx, s, n);
    case CBK__H1_CHUNK_END:
        if (n != 0) return CBK_HTTP1_ERR_BAD_RESPONSE;
        rx->state = CBK__H1_CHUNK_SIZE;
        return 0;
    default: /* CBK__H1_TRAILERS: read and dropped */
        if ((r = cbk__h1_count(x, n, n > 0)) != 0) return r;
        if (n == 0) rx->state = CBK__H1_DONE;
        return 0;
    }
}

/* Works through the buffered bytes: 0 when it needs more input or is done
   (see rx.state), else an error code. */
static int cbk__h1_step(cbk__h1_x *x) {
    cbk__h1_rx *rx = &x->rx;
    for (;;) {
        const char *s;
        size_t n;
        int r;
        if (rx->state == CBK__H1_DONE) return 0;
        if (rx->state == CBK__H1_LENGTH || rx->state == CBK__H1_CHUNK_DATA ||
            rx->state == CBK__H1_TO_CLOSE) {
            if ((r = cbk__h1_body(x)) != 0) return r;
            if (rx->start == rx->len) return 0;
            continue;
        }
        if (!cbk__h1_line(x, &s, &n)) return 0;
        if ((r = cbk__h1_on_line(x, s, n)) != 0) return r;
    }
}

/* What the close means in each state. */
static int cbk__h1_eof(cbk__h1_x *x) {
    switch (x->rx.state) {
    case CBK__H1_TO_CLOSE: return CBK__H1_EOF_END;
    case CBK__H1_STATUS:
    case CBK__H1_INTERIM:
    case CBK__H1_HEADERS: return cbk__h1_fail(x->h, CBK_HTTP1_ERR_CLOSED);
    default: return cbk__h1_fail(x->h, CBK_HTTP1_ERR_TRUNCATED);
    }
}

/* Makes room and reads more: 0 when bytes came, CBK__H1_EOF_END at the
   close that ends the body, else an error code. */
static int cbk__h1_fill(cbk__h1_x *x) {
    cbk_http1 *h = x->h;
    cbk__h1_rx *rx = &x->rx;
    long n;
    /* what is left (part of a line) moves to the front */
    if (rx->start > 0) {
        cbk__h1_copy(h->buf, h->buf + rx->start, rx->len - rx->start);
        rx->len -= rx->start;
        rx->start = 0;
    }
    if (rx->len == h->buf_size) return cbk__h1_fail(h, CBK_HTTP1_ERR_LINE_TOO_LONG);
    if (cbk__h1_late(h)) return cbk__h1_fail(h, CBK_HTTP1_ERR_DEADLINE);
    n = h->io.read(h->io.ctx, h->buf + rx->len, h->buf_size - rx->len);
    if (n == 0) return cbk__h1_eof(x);
    if (n < 0 || (size_t)n > h->buf_size - rx->len)
        return cbk__h1_fail(h, cbk__h1_io_error(h, n, CBK_HTTP1_ERR_RECV));
    rx->len += (size_t)n;
    rx->got_byte = 1;
    cbk__h1_mark(h, rx->len);
    return 0;
}

/* Reads one response. 0 when it is complete. */
static int cbk__h1_receive(cbk__h1_x *x) {
    cbk__h1_rx *rx = &x->rx;
    for (;;) {
        int r = cbk__h1_step(x);
        if (r != 0) return cbk__h1_fail(x->h, r);
        if (rx->state == CBK__H1_DONE) break;
        r = cbk__h1_fill(x);
        if (r == CBK__H1_EOF_END) return 0; /* F_CLOSE is set: not kept */
        if (r != 0) return r;
    }
    /* bytes after the end would be read as the next response */
    if (rx->start != rx->len) rx->flags |= CBK__H1_F_CLOSE;
    return 0;
}

/* ---- one exchange ------------------------------------------------------- */

static void cbk__h1_zero(void *p, size_t n) {
    char *c = (char *)p;
    size_t i;
    for (i = 0; i < n; i++) c[i] = 0;
}

/* Writes the request and reads the response on the open connection. */
static int cbk__h1_attempt(cbk__h1_x *x) {
    int r;
    x->attempt_wrote = 0;
    cbk__h1_zero(&x->rx, sizeof x->rx);
    x->rx.state = CBK__H1_STATUS;
    if (cbk__h1_streq(x->req->method, "HEAD")) x->rx.flags = CBK__H1_F_NOBODY;
    r = cbk__h1_send_request(x);
    if (r != CBK_HTTP1_ERR_SEND) return r != 0 ? r : cbk__h1_receive(x);
    /* The server may have answered early (say 413) and closed: read what
       it said, if it said anything. */
    r = cbk__h1_receive(x);
    if (r == 0 || x->rx.status != 0) return r;
    return cbk__h1_fail(x->h, CBK_HTTP1_ERR_SEND);
}

/* The attempt failed the way a connection the server had already closed
   fails: EOF, reset or a failed write, before any byte of a response. */
static int cbk__h1_stale(const cbk__h1_x *x) {
    int e = x->h->error;
    return !x->rx.got_byte &&
           (e == CBK_HTTP1_ERR_CLOSED || e == CBK_HTTP1_ERR_RECV || e == CBK_HTTP1_ERR_SEND);
}

/* Reuses or opens the connection, sends, and re-sends once on a new
   connection where RE-SENDING (top of the file) allows it. */
static int cbk__h1_exchange(cbk__h1_x *x) {
    int reused = cbk__h1_take(x), r;
    if (!reused && (r = cbk__h1_connect(x)) != 0) return r;
    r = cbk__h1_attempt(x);
    if (r == 0 || !reused || !cbk__h1_stale(x) || !x->req->idempotent) return r;
    cbk__h1_drop(x->h);
    x->h->error = 0;
    if ((r = cbk__h1_connect(x)) != 0) return r;
    return cbk__h1_attempt(x);
}

/* ---- the public functions ----------------------------------------------- */

CBKDEF void cbk_http1_init(cbk_http1 *h, const cbk_http1_io *io, char *buf, size_t buf_size) {
    if (h == NULL) return;
    cbk__h1_zero(h, sizeof *h);
    if (io != NULL) h->io = *io;
    h->buf = buf;
    h->buf_size = buf != NULL ? buf_size : 0;
    h->keep_alive = 1;
    h->max_headers = CBK_HTTP1_MAX_HEADERS;
    h->max_head = CBK_HTTP1_MAX_HEAD;
}

/* The callbacks and the buffer are there. */
static int cbk__h1_ready(const cbk_http1 *h) {
    const cbk_http1_io *io = &h->io;
    return h->buf != NULL && h->buf_size >= CBK_HTTP1_BUF_MIN && io->connect != NULL &&
           io->write != NULL && io->read != NULL && io->close != NULL;
}

CBKDEF int cbk_http1_send(void *vh, const cbk_request *req, cbk_response *res) {
    cbk_http1 *h = (cbk_http1 *)vh;
    cbk__h1_x x;
    int r;
    if (h == NULL) return CBK_HTTP1_ERR_ARGUMENT | CBK__H1_NEVER;
    h->error = 0;
    h->io_code = 0;
    h->internal.used = 0;
    h->internal.start_ms = h->io.now_ms != NULL ? h->io.now_ms(h->io.ctx) : 0;
    if (!cbk__h1_ready(h) || cbk__h1_check(req, res) != 0)
        return cbk__h1_fail(h, CBK_HTTP1_ERR_ARGUMENT) | CBK__H1_NEVER;
    cbk__h1_zero(&x, sizeof x);
    x.h = h;
    x.req = req;
    x.res = res;
    if ((r = cbk__h1_parse_url(req->url, &x.url)) != 0) return cbk__h1_fail(h, r) | CBK__H1_NEVER;
    r = cbk__h1_exchange(&x);
    h->internal.reusable = r == 0 && h->keep_alive && !(x.rx.flags & CBK__H1_F_CLOSE);
    if (!h->internal.reusable) cbk__h1_drop(h);
    if (r == 0) h->error = 0; /* a stale first attempt's detail is history */
    /* the buffer held the Authorization line and, after a create, the new
       token's secret: neither outlives the exchange */
    cbk__h1_wipe(h->buf, h->internal.used);
    h->internal.used = 0;
    return r;
}

CBKDEF void cbk_http1_close(cbk_http1 *h) {
    if (h == NULL) return;
    if (h->io.close != NULL) cbk__h1_drop(h);
    h->internal.open = 0;
    h->internal.reusable = 0;
    if (h->buf != NULL) cbk__h1_wipe(h->buf, h->buf_size);
}

CBKDEF const char *cbk_http1_strerror(int code) {
    switch (CBK_SEND_CODE(code)) {
    case 0: return code == 0 ? "no error" : "the request was not sent";
    case CBK_HTTP1_ERR_ARGUMENT: return "bad argument (NULL, method, header, buffer or callbacks)";
    case CBK_HTTP1_ERR_URL: return "the URL is not http(s)://host[:port][/path]";
    case CBK_HTTP1_ERR_CONNECT: return "could not connect";
    case CBK_HTTP1_ERR_SEND: return "sending the request failed";
    case CBK_HTTP1_ERR_TIMEOUT: return "timed out waiting for the server";
    case CBK_HTTP1_ERR_RECV: return "receiving the response failed";
    case CBK_HTTP1_ERR_CLOSED: return "the server closed the connection without a response";
    case CBK_HTTP1_ERR_BAD_RESPONSE: return "malformed HTTP response";
    case CBK_HTTP1_ERR_LINE_TOO_LONG: return "a response line is longer than the buffer";
    case CBK_HTTP1_ERR_TRUNCATED: return "the response body was cut short";
    case CBK_HTTP1_ERR_STOPPED: return "stopped by the receiver";
    case CBK_HTTP1_ERR_DEADLINE: return "the exchange took longer than deadline_ms";
    case CBK_HTTP1_ERR_HEAD_TOO_LARGE: return "the response head has too many or too long headers";
    default: return "unknown error";
    }
}

#ifdef __cplusplus
}
#endif

#undef CBK__H1_NEVER
#undef CBK__H1_EOF_END
#undef CBK__H1_F_CHUNKED
#undef CBK__H1_F_LENGTH
#undef CBK__H1_F_CLOSE
#undef CBK__H1_F_NOBODY
#endif /* CBK_TOKEN_HTTP1_IMPLEMENTATION */
