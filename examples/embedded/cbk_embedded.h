/* cbk_embedded.h - cbk_token.h on an RTOS: a send callback over a socket.
 *
 * The shape an lwIP socket or an mbedTLS session offers: connect, then
 * blocking write/read calls that return a byte count or a negative error,
 * then close. emb_send() speaks HTTP/1.1 over it (one request per
 * connection, "Connection: close"): it writes the request through a small
 * staging buffer, parses the status line and headers, undoes chunked
 * transfer coding, and feeds everything into the library's receiver as it
 * arrives. Nothing is allocated and nothing is kept between requests; all
 * state is the caller's emb_http (about 450 bytes with the defaults).
 *
 *   static cbk_client client;
 *   static char work[512];
 *   static emb_http http;
 *
 *   emb_http_init(&http, &my_socket);              // your emb_socket
 *   cbk_client_init(&client, secret, emb_send, &http, work, sizeof work, &opts);
 *   cbk_token_list_stream(&client, "user-1", NULL, emb_print_token, &console);
 *
 * Needs no C library: it builds with -ffreestanding and CBK_TOKEN_NO_LIBC.
 * Limits: a header line longer than EMB_LINE_MAX - 1 bytes is not passed
 * on (nothing the library needs is that long); a host name longer than
 * EMB_HOST_MAX - 1 bytes is refused before connecting. Responses without
 * Content-Length or chunked coding end when the peer closes.
 *
 * The logic is all in cbk_embedded.c (tests/test_embedded.c runs it on the
 * host against a fake socket); main.c is the RTOS task around it. */
#ifndef CBK_EMBEDDED_H
#define CBK_EMBEDDED_H

#include "../../cbk_token.h"

#ifndef EMB_IO_SIZE
#define EMB_IO_SIZE 256 /* staging for writes and reads */
#endif
#ifndef EMB_LINE_MAX
#define EMB_LINE_MAX 128 /* a status, header or chunk-size line */
#endif
#ifndef EMB_HOST_MAX
#define EMB_HOST_MAX 64
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking byte stream: a TCP socket, or a TLS session over one. */
typedef struct emb_socket {
    void *ctx;
    /* Opens a connection to host:port, TLS when tls is 1. 0 on success,
       negative when no connection was made. */
    int (*connect)(void *ctx, const char *host, unsigned port, int tls);
    /* Writes up to len bytes: the number written (> 0) or negative. */
    int (*write)(void *ctx, const unsigned char *buf, size_t len);
    /* Reads up to len bytes: the number read (> 0), 0 when the peer closed
       (mbedTLS: MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY), or negative. */
    int (*read)(void *ctx, unsigned char *buf, size_t len);
    void (*close)(void *ctx);
} emb_socket;

/* What emb_send returns when the exchange failed after the request may
   have left (it returns CBK_SEND_NOT_SENT when it certainly did not). The
   value lands in cbk_error.transport_code. */
enum emb_error {
    EMB_ERR_WRITE = 1,     /* write failed */
    EMB_ERR_READ = 2,      /* read failed */
    EMB_ERR_TRUNCATED = 3, /* the peer closed before the response was complete */
    EMB_ERR_PROTOCOL = 4   /* not an HTTP/1.x response we can read */
};

/* The transport's state; one per client. All fields are private. */
typedef struct emb_http {
    const emb_socket *sock;
    unsigned char io[EMB_IO_SIZE];
    size_t io_len;
    char line[EMB_LINE_MAX];
    size_t line_len;
    int line_long;   /* the current line did not fit */
    int state;       /* where the response parser is */
    int status;      /* the final status code */
    int chunked;     /* Transfer-Encoding: chunked */
    int has_length;  /* Content-Length was given */
    int no_body;     /* a HEAD request, or 204/304 */
    uint64_t remain; /* body or chunk bytes still to come */
} emb_http;

/* Prepares http to talk through sock (which must outlive it). */
void emb_http_init(emb_http *http, const emb_socket *sock);

/* The send callback: pass it to cbk_client_init with the emb_http as its
   context. */
int emb_send(void *ctx, const cbk_request *req, cbk_response *res);

/* Where emb_print_token writes: a console, a UART, a log. */
typedef struct emb_console {
    void (*write)(void *ctx, const char *text, size_t len);
    void *ctx;
} emb_console;

/* A cbk_token_fn that prints "<id> <name>\n" (name "-" when absent) as
   each token arrives; user is an emb_console. Returns 0 (go on). */
int emb_print_token(void *user, const cbk_token *token);

#ifdef __cplusplus
}
#endif

#endif /* CBK_EMBEDDED_H */
