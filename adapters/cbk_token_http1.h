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
 *     request fails on the dead connection: a GET is then re-sent, but a
 *     POST fails (see RE-SENDING). Socket ios SHOULD provide it.
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
 *                      request, 1xx, head and body), checked after every
 *                      callback; 0: none. Needs io.now_ms. It bounds what a
 *                      read timeout cannot: a server that drips bytes just
 *                      faster than the timeout. It can be overshot by one
 *                      callback's own timeout (an io may shorten its waits
 *                      with cbk_http1_remaining_ms). Default 0.
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
 *   re-sent once on a new connection, but only when its method is GET or
 *   HEAD. A POST, whatever it does, is never re-sent by the engine once
 *   write was called for it: the transport is not told which POSTs the
 *   library regards as safe (a create is not; an update or delete is),
 *   and guessing from the URL would put a second create at risk. Such a
 *   POST fails with CBK_HTTP1_ERR_CLOSED / _SEND / _RECV without
 *   CBK_SEND_NOT_SENT, and the library decides (it does not re-send a
 *   create). A timeout (CBK_HTTP1_IO_TIMEOUT) is never followed by a
 *   re-send. Once any byte of a request may have left, no failure of the
 *   call carries CBK_SEND_NOT_SENT, a failed reconnect included.
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
