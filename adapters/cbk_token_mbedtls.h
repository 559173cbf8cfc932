/* cbk_token_mbedtls.h v0.1.0 - TLS for the HTTP/1.1 engine over mbedTLS - MIT or public domain
 *
 * ABOUT
 *   A cbk_http1_io (adapters/cbk_token_http1.h) that speaks TLS through
 *   mbedTLS on a socket you provide: lwIP sockets (adapters/cbk_token_lwip.h),
 *   BSD sockets, mbedTLS's own net_sockets (ready below), a modem's socket
 *   API. The socket reaches mbedTLS through its BIO callbacks
 *   (mbedtls_ssl_send_t, mbedtls_ssl_recv_t / mbedtls_ssl_recv_timeout_t),
 *   plus a connect and a close. The same io serves http:// URLs in clear
 *   over the same socket, so one io covers both schemes.
 *
 *   - Verification is always on: authmode REQUIRED is set on every
 *     connect; a certificate that does not verify fails the connect with
 *     CBK_SEND_NOT_SENT | CBK_SEND_FINAL | CBK_MBEDTLS_ERR_CERT.
 *   - DNS names are verified by mbedTLS (mbedtls_ssl_set_hostname: the
 *     certificate's dNSName SANs, else its CN) and sent as SNI.
 *   - IP-address hosts ("192.0.2.7", "2001:db8::1") are verified against
 *     the certificate's iPAddress SANs by this adapter (mbedTLS 2.28 does not
 *     match an IP through mbedtls_ssl_set_hostname: it would compare the
 *     text with the CN and dNSNames). An IP host never passes through a CN
 *     or dNSName, and gets no SNI (RFC 6066 forbids addresses there).
 *   - One TLS session per connection, kept across requests while the engine
 *     keeps the connection alive; after a reconnect to the same host and
 *     port the last session is offered again (mbedtls_ssl_get_session /
 *     mbedtls_ssl_set_session; a ticket or a session id): a resumed
 *     handshake skips the certificate exchange and the key exchange.
 *
 * USAGE
 *   #include "cbk_token.h"
 *   #include "adapters/cbk_token_http1.h"
 *   #define CBK_TOKEN_MBEDTLS_IMPLEMENTATION     // in exactly one .c file
 *   #include "adapters/cbk_token_mbedtls.h"
 *
 *   static cbk_mbedtls tls;                      // see RAM below
 *   cbk_mbedtls_socket sock = my_socket();       // e.g. cbk_lwip_tls_socket(&net)
 *   if (cbk_mbedtls_init(&tls, &sock, &ca_chain, mbedtls_ctr_drbg_random, &drbg) != 0)
 *       ...                                      // an mbedTLS error code
 *   cbk_http1_io io = cbk_mbedtls_io(&tls);
 *   cbk_http1_init(&http, &io, buf, sizeof buf);
 *   cbk_client_init(&c, secret, cbk_http1_send, &http, work, sizeof work, &o);
 *   ...
 *   cbk_http1_close(&http);
 *   cbk_mbedtls_free(&tls);                      // wipes the session and buffers
 *
 *   tls.conf may be adjusted between cbk_mbedtls_init and the first
 *   connect (ciphersuites, a client certificate, max fragment length);
 *   authmode, the verify callback and the CA chain are set again by every
 *   connect and cannot be turned off.
 *
 * THE SOCKET (cbk_mbedtls_socket; what you provide)
 *   ctx            passed to every callback (and to the BIO callbacks).
 *   connect(ctx, host, port)   open TCP to host:port; 0, or a failure in
 *                  the transport contract's terms (CBK_SEND_NOT_SENT | code
 *                  when nothing left, | CBK_SEND_FINAL when it never can).
 *   close(ctx)     close it; idempotent.
 *   send           mbedTLS BIO: bytes sent (> 0), or MBEDTLS_ERR_SSL_TIMEOUT,
 *                  MBEDTLS_ERR_NET_CONN_RESET, MBEDTLS_ERR_NET_SEND_FAILED.
 *                  Must not raise SIGPIPE.
 *   recv           mbedTLS BIO: bytes (> 0), 0 at EOF, MBEDTLS_ERR_SSL_TIMEOUT
 *                  when the socket's own read timeout passed, or another
 *                  negative MBEDTLS_ERR_NET_* code. Give recv or recv_timeout.
 *   recv_timeout   mbedTLS BIO with a timeout (ms, 0: none); it gets the
 *                  adapter's read_timeout_ms. Used instead of recv when set.
 *   usable(ctx)    optional: as cbk_http1_io.usable (1: an idle connection
 *                  may carry another request; 0: the peer closed it or sent
 *                  bytes). A kept TLS connection is also unusable when
 *                  mbedTLS holds unread bytes.
 *   now_ms(ctx)    optional: the engine's clock (see cbk_http1_io.now_ms).
 *   Blocking sockets are expected: a BIO that answers MBEDTLS_ERR_SSL_WANT_*
 *   is called again, at most CBK_MBEDTLS_SPINS times in a row.
 *
 * WHAT connect RETURNS (the io's connect; lands in cbk_error.transport_code)
 *   0                                     connected (TLS: handshake done)
 *   the socket's connect failure          as it returned it
 *   NOT_SENT|FINAL|CBK_MBEDTLS_ERR_CERT   the certificate or its name did
 *                                         not verify (last_flags: why)
 *   NOT_SENT|FINAL|CBK_MBEDTLS_ERR_SETUP  mbedTLS refused the host name or
 *                                         the context (last_error: why)
 *   NOT_SENT|CBK_MBEDTLS_ERR_HANDSHAKE    any other handshake failure: the
 *                                         request was not written yet
 *   where NOT_SENT is CBK_SEND_NOT_SENT and FINAL is CBK_SEND_FINAL.
 *
 * THE CONTEXT (cbk_mbedtls, caller-owned, one per connection and thread)
 *   sock             a copy of the socket given to init.
 *   conf, ssl        mbedTLS's configuration and context (yours to tune
 *                    before the first connect, see USAGE).
 *   read_timeout_ms  given to recv_timeout (and to conf's read timeout);
 *                    default CBK_MBEDTLS_READ_TIMEOUT_MS (30000).
 *   http             optional (NULL): the engine this adapter serves. Each
 *                    recv_timeout call (handshake and reads) then waits at
 *                    most what is left of its deadline (cbk_http1_remaining_ms:
 *                    deadline_ms, or the library's opts.timeout_ms), and
 *                    one made after it passed fails at once with
 *                    MBEDTLS_ERR_SSL_TIMEOUT. A socket with only recv cuts
 *                    its own waits (cbk_lwip: its own http field).
 *   handshakes       out: TLS handshakes completed (full and resumed).
 *   resumed          out: of those, resumed ones (no certificate sent).
 *   verified         out: certificates verified (depth 0, full handshakes).
 *   last_error       out: mbedTLS's code of the last failure (0: none).
 *   last_flags       out: the verification flags of the last full
 *                    handshake (MBEDTLS_X509_BADCERT_*; 0: verified).
 *   internal         private.
 *
 * RAM AND RECORD BUFFERS
 *   sizeof(cbk_mbedtls) is the structures only: 1280 bytes on Cortex-M4
 *   with 2.28's default configuration (256 of them the saved session's host
 *   name, CBK_HTTP1_HOST_MAX; make embedded-cross prints it). mbedTLS
 *   allocates the rest with mbedtls_calloc (libc's heap, or a fixed arena with
 *   MBEDTLS_MEMORY_BUFFER_ALLOC_C and mbedtls_memory_buffer_alloc_init):
 *   - the record buffers, by mbedtls_ssl_setup in cbk_mbedtls_init, held
 *     until cbk_mbedtls_free: MBEDTLS_SSL_IN_CONTENT_LEN and
 *     MBEDTLS_SSL_OUT_CONTENT_LEN plus about 330 bytes of record overhead
 *     each (2.28's defaults: 16384 each, about 33 KiB together);
 *   - during a full handshake: the handshake state, the server's chain
 *     parsed (about 1-2 KiB per certificate) and the key exchange, a few
 *     KiB to about 20 KiB at the peak depending on the ciphersuite;
 *   - the saved session (for resumption), kept until cbk_mbedtls_free: a
 *     few hundred bytes, a session ticket (often 150-250 bytes), and with
 *     MBEDTLS_SSL_KEEP_PEER_CERTIFICATE (2.28's default) a copy of the
 *     server's certificate.
 *   OUT can be small (2048 holds any request this library sends; mbedTLS
 *   splits longer writes). IN must stay 16384 unless the server honours
 *   the max_fragment_length extension: a TLS 1.2 server may send records
 *   of 16 KiB, and mbedTLS 2.28 cannot reassemble a handshake message (the
 *   server's certificate chain) that is larger than one record. When
 *   MBEDTLS_SSL_IN_CONTENT_LEN is below 16384 this adapter asks for the
 *   largest fragment length that fits (512, 1024, 2048 or 4096).
 *
 * WIPING
 *   The request (with the Authorization header) passes through mbedTLS's
 *   out buffer, where it is encrypted in place; the response (and after a
 *   create the new token's secret) is decrypted in its in buffer. Every
 *   close ends with mbedtls_ssl_session_reset, which zeroes both buffers;
 *   cbk_mbedtls_free runs mbedtls_ssl_free, mbedtls_ssl_session_free and
 *   mbedtls_ssl_config_free, which zeroize (mbedtls_platform_zeroize) what
 *   they free, the session's master secret included. The engine's buffer
 *   is the engine's (cbk_http1_send wipes it).
 *
 * PITFALLS (firmware)
 *   Entropy: f_rng is usually mbedtls_ctr_drbg_random over an
 *   mbedtls_entropy_context; on a board without /dev/urandom add the true
 *   RNG as a strong source (mbedtls_entropy_add_source, or
 *   MBEDTLS_ENTROPY_HARDWARE_ALT with mbedtls_hardware_poll) and define
 *   MBEDTLS_NO_PLATFORM_ENTROPY. A DRBG seeded from a constant or a timer
 *   gives predictable keys.
 *   Time: with MBEDTLS_HAVE_TIME_DATE, certificate validity is checked
 *   against mbedtls_time(): set the clock (RTC, SNTP) before the first
 *   handshake, or every certificate looks "not yet valid" (flag
 *   MBEDTLS_X509_BADCERT_FUTURE). Without MBEDTLS_HAVE_TIME_DATE validity
 *   dates are not checked at all: an expired certificate passes.
 *   IP hosts: handled here (above); do not call mbedtls_ssl_set_hostname
 *   with an address yourself.
 *
 * MBEDTLS VERSIONS
 *   Written against 2.28 (Debian 12's 2.28.3); also compiles against 3.6's
 *   headers (C99 and C++11; not run with 3.x here). For 3.x: the include paths
 *   and every call used here are the same; the iPAddress check here is
 *   kept (3.x matches addresses itself only from 3.5 on); an IP host gets
 *   mbedtls_ssl_set_hostname(ssl, NULL), which 3.6.3+ requires to verify
 *   without a name; TLS 1.3 (3.x) needs psa_crypto_init() first, and its
 *   tickets arrive after the handshake:
 *   MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET from mbedtls_ssl_read is
 *   taken as "read again" and refreshes the saved session.
 *
 * CONFIGURATION
 *   CBK_TOKEN_MBEDTLS_IMPLEMENTATION   in one file: the implementation
 *   CBK_MBEDTLS_READ_TIMEOUT_MS        default read_timeout_ms (30000)
 *   CBK_MBEDTLS_SPINS                  WANT_READ/WANT_WRITE retries (64)
 *   MBEDTLS_CONFIG_FILE                as for mbedTLS itself: the same in
 *                                      every file (it sets struct sizes)
 *
 * NAMES
 *   cbk_mbedtls_* and CBK_MBEDTLS_* are public; cbk__mt_* are internal.
 */
#ifndef CBK_TOKEN_MBEDTLS_H
#define CBK_TOKEN_MBEDTLS_H

#ifndef CBK_TOKEN_HTTP1_H
#error "include adapters/cbk_token_http1.h before adapters/cbk_token_mbedtls.h"
#endif

#include "mbedtls/version.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/net_sockets.h" /* the MBEDTLS_ERR_NET_* codes; mbedtls_net_* with MBEDTLS_NET_C */

#ifndef CBK_MBEDTLS_READ_TIMEOUT_MS
#define CBK_MBEDTLS_READ_TIMEOUT_MS 30000u
#endif
#ifndef CBK_MBEDTLS_SPINS
#define CBK_MBEDTLS_SPINS 64
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The io's own connect codes (1..CBK_SEND_CODE_MAX; clear of the engine's). */
enum cbk_mbedtls_error {
    CBK_MBEDTLS_ERR_SETUP = 32,     /* mbedTLS refused the host name or the context */
    CBK_MBEDTLS_ERR_HANDSHAKE = 33, /* the handshake failed (not the certificate) */
    CBK_MBEDTLS_ERR_CERT = 34       /* the certificate or its name did not verify */
};

/* The socket under TLS. See THE SOCKET at the top. */
typedef struct cbk_mbedtls_socket {
    void *ctx;
    int (*connect)(void *ctx, const char *host, unsigned port);
    void (*close)(void *ctx);
    mbedtls_ssl_send_t *send;
    mbedtls_ssl_recv_t *recv;
    mbedtls_ssl_recv_timeout_t *recv_timeout; /* optional, wins over recv */
    int (*usable)(void *ctx);                 /* optional */
    uint32_t (*now_ms)(void *ctx);            /* optional */
} cbk_mbedtls_socket;

/* Private: the connection and the saved session. */
typedef struct cbk__mt_state {
    int open;    /* 1: plain connection open, 2: TLS connection open */
    int ip_host; /* the host of the current connect is an address */
    unsigned char ip[16];
    size_t ip_len;    /* 4 or 16 */
    int saw_cert;     /* the current handshake verified a certificate */
    int have_session; /* saved holds a session for saved_host:saved_port */
    unsigned saved_port;
    char saved_host[CBK_HTTP1_HOST_MAX];
    mbedtls_ssl_session saved;
    const mbedtls_x509_crt *ca;
} cbk__mt_state;

/* The adapter's state. See THE CONTEXT at the top. */
typedef struct cbk_mbedtls {
    cbk_mbedtls_socket sock;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    uint32_t read_timeout_ms;
    const cbk_http1 *http; /* optional: its deadline cuts recv_timeout's waits */
    unsigned handshakes;   /* out */
    unsigned resumed;      /* out */
    unsigned verified;     /* out */
    int last_error;        /* out */
    uint32_t last_flags;   /* out */
    cbk__mt_state internal;
} cbk_mbedtls;

/* Sets up t over *sock (copied): a client configuration with
   mbedtls_ssl_config_defaults, authmode REQUIRED, ca as the trusted chain
   (kept by pointer; NULL or an empty chain: every certificate is refused),
   f_rng/p_rng as the random generator, then mbedtls_ssl_setup (which
   allocates the record buffers). Returns 0 or mbedTLS's negative error;
   on failure t is freed again (cbk_mbedtls_free is harmless). */
CBKDEF int cbk_mbedtls_init(cbk_mbedtls *t, const cbk_mbedtls_socket *sock,
                            const mbedtls_x509_crt *ca,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng);

/* The io for cbk_http1_init: TLS for https://, clear for http://, over the
   socket. t must outlive every use of the io. */
CBKDEF cbk_http1_io cbk_mbedtls_io(cbk_mbedtls *t);

/* Closes the connection (close_notify first), forgets the saved session
   and frees and wipes everything mbedTLS holds. t may be initialised again. */
CBKDEF void cbk_mbedtls_free(cbk_mbedtls *t);

/* Forgets the saved session (the next handshake is a full one). */
CBKDEF void cbk_mbedtls_forget_session(cbk_mbedtls *t);

/* 1 when host is an IPv4 address in dotted-quad form or an IPv6 address
   (RFC 4291 text, an optional "%zone" ignored); the address goes to out
   (4 or 16 bytes, *out_len). 0 for anything else (a DNS name). */
CBKDEF int cbk_mbedtls_parse_ip(const char *host, unsigned char out[16], size_t *out_len);

#if defined(MBEDTLS_NET_C)
/* The ready socket for mbedTLS's own net_sockets (mbedtls_net_connect,
   mbedtls_net_send, mbedtls_net_recv_timeout, mbedtls_net_poll): give it a
   cbk_mbedtls_net, which must outlive the adapter. mbedtls_net_send uses
   write(): ignore SIGPIPE in the process (signal(SIGPIPE, SIG_IGN)). */
typedef struct cbk_mbedtls_net {
    mbedtls_net_context net; /* first: the BIO callbacks get this pointer */
    int last_error;          /* out: mbedtls_net_connect's error */
} cbk_mbedtls_net;

CBKDEF cbk_mbedtls_socket cbk_mbedtls_net_socket(cbk_mbedtls_net *n);
#endif

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_MBEDTLS_H */

/* ======================================================================== */

#ifdef CBK_TOKEN_MBEDTLS_IMPLEMENTATION
#ifndef CBK_TOKEN_MBEDTLS_IMPLEMENTED
#define CBK_TOKEN_MBEDTLS_IMPLEMENTED

/* ---- IP literals ---- */

/* Parses 1..3 decimal digits (no leading zero unless alone) into 0..255. */
static int cbk__mt_octet(const char **s, unsigned char *out) {
    const char *p = *s;
    unsigned v = 0, n = 0;
    while (n < 4 && *p >= '0' && *p <= '9') v = v * 10u + (unsigned)(*p++ - '0'), n++;
    if (n == 0 || n > 3 || v > 255u || (n > 1 && **s == '0')) return 0;
    *out = (unsigned char)v;
    *s = p;
    return 1;
}

/* Dotted quad ending at end (or the string's end when end is NULL). */
static int cbk__mt_ipv4(const char *s, const char *end, unsigned char out[4]) {
    int i;
    for (i = 0; i < 4; i++) {
        if (i > 0 && *s++ != '.') return 0;
        if (!cbk__mt_octet(&s, &out[i])) return 0;
    }
    return end ? s == end : *s == '\0';
}

static int cbk__mt_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One group of 1..4 hex digits. */
static int cbk__mt_group(const char **s, unsigned *out) {
    unsigned v = 0, n = 0;
    int d;
    while (n < 5 && (d = cbk__mt_hex(**s)) >= 0) v = (v << 4) | (unsigned)d, (*s)++, n++;
    *out = v;
    return n >= 1 && n <= 4;
}

/* Where the address text ends: the string's end or a "%zone". */
static const char *cbk__mt_v6_end(const char *s) {
    while (*s && *s != '%') s++;
    return s;
}

/* The first "::" in [s, end), or NULL. */
static const char *cbk__mt_v6_gap(const char *s, const char *end) {
    for (; s + 1 < end; s++)
        if (s[0] == ':' && s[1] == ':') return s;
    return NULL;
}

/* "g:g:...:g" filling [s, e) exactly, with a dotted quad as its last part
   when v4: the bytes written to w (at most room), or -1. */
static int cbk__mt_v6_list(const char *s, const char *e, unsigned char *w, int room, int v4) {
    int n = 0;
    while (s < e) {
        unsigned g;
        if (n > 0 && (*s++ != ':' || s == e)) return -1;
        if (v4 && n + 4 <= room && cbk__mt_ipv4(s, e, w + n)) return n + 4;
        if (n + 2 > room || !cbk__mt_group(&s, &g) || s > e) return -1;
        w[n++] = (unsigned char)(g >> 8);
        w[n++] = (unsigned char)g;
    }
    return n;
}

/* IPv6 text (RFC 4291 2.2: groups, one "::", a trailing dotted quad). */
static int cbk__mt_ipv6(const char *s, unsigned char out[16]) {
    const char *end = cbk__mt_v6_end(s), *gap = cbk__mt_v6_gap(s, end);
    unsigned char w[16];
    int left, right, i;
    for (i = 0; i < 16; i++) out[i] = 0;
    if (gap == NULL) return cbk__mt_v6_list(s, end, out, 16, 1) == 16;
    left = cbk__mt_v6_list(s, gap, w, 14, 0);
    right = left < 0 ? -1 : cbk__mt_v6_list(gap + 2, end, w + left, 14 - left, 1);
    if (right < 0) return 0;
    for (i = 0; i < left; i++) out[i] = w[i];
    for (i = 0; i < right; i++) out[16 - right + i] = w[left + i];
    return 1;
}

CBKDEF int cbk_mbedtls_parse_ip(const char *host, unsigned char out[16], size_t *out_len) {
    *out_len = 0;
    if (cbk__mt_ipv4(host, NULL, out)) {
        *out_len = 4;
        return 1;
    }
    if (cbk__mt_ipv6(host, out)) {
        *out_len = 16;
        return 1;
    }
    return 0;
}

/* ---- verification ---- */

/* 1 when crt has an iPAddress subjectAltName equal to ip (ip_len bytes). */
static int cbk__mt_san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t ip_len) {
    const mbedtls_x509_sequence *san;
    for (san = &crt->subject_alt_names; san != NULL; san = san->next) {
        size_t i = 0;
        if (san->buf.p == NULL || san->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) ||
            san->buf.len != ip_len)
            continue;
        while (i < ip_len && san->buf.p[i] == ip[i]) i++;
        if (i == ip_len) return 1;
    }
    return 0;
}

/* mbedTLS calls this for each certificate of the chain, depth 0 (the
   server's) last, after its own checks set *flags. For an IP host it adds
   the name check mbedTLS cannot do; a failure here is a flag, never a
   pass. */
static int cbk__mt_verify(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
    cbk_mbedtls *t = (cbk_mbedtls *)p;
    if (depth != 0) return 0;
    t->internal.saw_cert = 1;
    t->verified++;
    if (t->internal.ip_host && !cbk__mt_san_has_ip(crt, t->internal.ip, t->internal.ip_len))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    t->last_flags = *flags;
    return 0;
}

/* ---- setup ---- */

static int cbk__mt_streq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static void cbk__mt_strcpy(char *dst, size_t size, const char *src) {
    size_t i = 0;
    while (i + 1 < size && src[i]) dst[i] = src[i], i++;
    dst[i] = '\0';
}

/* The max fragment length to ask for when the in buffer is below 16 KiB. */
static void cbk__mt_conf_mfl(mbedtls_ssl_config *conf) {
#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH) && MBEDTLS_SSL_IN_CONTENT_LEN < 16384
    unsigned char code = MBEDTLS_SSL_MAX_FRAG_LEN_512;
    if (MBEDTLS_SSL_IN_CONTENT_LEN >= 4096)
        code = MBEDTLS_SSL_MAX_FRAG_LEN_4096;
    else if (MBEDTLS_SSL_IN_CONTENT_LEN >= 2048)
        code = MBEDTLS_SSL_MAX_FRAG_LEN_2048;
    else if (MBEDTLS_SSL_IN_CONTENT_LEN >= 1024)
        code = MBEDTLS_SSL_MAX_FRAG_LEN_1024;
    (void)mbedtls_ssl_conf_max_frag_len(conf, code);
#else
    (void)conf;
#endif
}

CBKDEF int cbk_mbedtls_init(cbk_mbedtls *t, const cbk_mbedtls_socket *sock,
                            const mbedtls_x509_crt *ca,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng) {
    int ret;
    unsigned char *z = (unsigned char *)t;
    size_t i;
    for (i = 0; i < sizeof *t; i++) z[i] = 0;
    t->sock = *sock;
    t->read_timeout_ms = CBK_MBEDTLS_READ_TIMEOUT_MS;
    t->internal.ca = ca;
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_session_init(&t->internal.saved);
    ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret == 0) {
        mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&t->conf, (mbedtls_x509_crt *)ca, NULL);
        mbedtls_ssl_conf_rng(&t->conf, f_rng, p_rng);
        mbedtls_ssl_conf_read_timeout(&t->conf, t->read_timeout_ms);
        cbk__mt_conf_mfl(&t->conf);
        ret = mbedtls_ssl_setup(&t->ssl, &t->conf);
    }
    if (ret != 0) {
        t->last_error = ret;
        cbk_mbedtls_free(t);
    }
    return ret;
}

CBKDEF void cbk_mbedtls_forget_session(cbk_mbedtls *t) {
    mbedtls_ssl_session_free(&t->internal.saved); /* zeroizes the master secret */
    mbedtls_ssl_session_init(&t->internal.saved);
    t->internal.have_session = 0;
}

/* ---- connect ---- */

/* ---- the BIO under mbedTLS: the socket's, waits cut to the deadline ---- */

/* read_timeout_ms cut to what is left of the engine's deadline (0: none);
   -1: the deadline passed. */
static long cbk__mt_wait_ms(const cbk_mbedtls *t) {
    long left = t->http ? cbk_http1_remaining_ms(t->http) : -1;
    if (left == 0) return -1;
    if (left > 0 && (t->read_timeout_ms == 0 || (unsigned long)left < t->read_timeout_ms))
        return left;
    return (long)t->read_timeout_ms;
}

static int cbk__mt_bio_send(void *ctx, const unsigned char *buf, size_t len) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    return t->sock.send(t->sock.ctx, buf, len);
}

static int cbk__mt_bio_recv(void *ctx, unsigned char *buf, size_t len) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    return t->sock.recv(t->sock.ctx, buf, len);
}

/* The socket's recv_timeout with mbedTLS's timeout (the conf's, which is
   read_timeout_ms) cut to the deadline. */
static int cbk__mt_bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t ms) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    long wait = cbk__mt_wait_ms(t);
    (void)ms;
    if (wait < 0) return MBEDTLS_ERR_SSL_TIMEOUT;
    return t->sock.recv_timeout(t->sock.ctx, buf, len, (uint32_t)wait);
}

/* Runs the handshake; 0 or mbedTLS's error. */
static int cbk__mt_handshake(cbk_mbedtls *t) {
    int ret, spins = 0;
    do {
        ret = mbedtls_ssl_handshake(&t->ssl);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
             ++spins < CBK_MBEDTLS_SPINS);
    return ret;
}

/* Keeps the session just negotiated for the next connect to host:port. */
static void cbk__mt_save_session(cbk_mbedtls *t, const char *host, unsigned port) {
    cbk_mbedtls_forget_session(t);
    if (mbedtls_ssl_get_session(&t->ssl, &t->internal.saved) != 0) {
        cbk_mbedtls_forget_session(t);
        return;
    }
    t->internal.have_session = 1;
    t->internal.saved_port = port;
    cbk__mt_strcpy(t->internal.saved_host, sizeof t->internal.saved_host, host);
}

/* Names the server for SNI and verification, and offers the saved
   session when it is this server's. 0 or mbedTLS's error. */
static int cbk__mt_prepare(cbk_mbedtls *t, const char *host, unsigned port) {
    cbk__mt_state *s = &t->internal;
    int ret;
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED); /* always */
    mbedtls_ssl_conf_ca_chain(&t->conf, (mbedtls_x509_crt *)s->ca, NULL);
    mbedtls_ssl_conf_read_timeout(&t->conf, t->read_timeout_ms);
    mbedtls_ssl_set_verify(&t->ssl, cbk__mt_verify, t);
    mbedtls_ssl_set_bio(&t->ssl, t, cbk__mt_bio_send,
                        t->sock.recv_timeout ? NULL : cbk__mt_bio_recv,
                        t->sock.recv_timeout ? cbk__mt_bio_recv_timeout : NULL);
    s->ip_host = cbk_mbedtls_parse_ip(host, s->ip, &s->ip_len);
    s->saw_cert = 0;
    /* an address is never a name to match (nor SNI); NULL clears one */
    ret = mbedtls_ssl_set_hostname(&t->ssl, s->ip_host ? NULL : host);
    if (ret == 0 && s->have_session && s->saved_port == port && cbk__mt_streq(s->saved_host, host))
        (void)mbedtls_ssl_set_session(&t->ssl, &s->saved); /* a full handshake if refused */
    return ret;
}

/* The handshake failed over the certificate (or a missing CA chain). */
static int cbk__mt_refused(int ret) {
#ifdef MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED
    if (ret == MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED) return 1;
#endif
    return ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED;
}

static int cbk__mt_connect(void *ctx, const char *host, unsigned port, int tls) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    int rc, ret;
    t->last_error = 0;
    rc = t->sock.connect(t->sock.ctx, host, port);
    if (rc != 0) return rc;
    t->internal.open = 1;
    if (!tls) return 0;
    ret = cbk__mt_prepare(t, host, port);
    if (ret != 0) {
        t->last_error = ret;
        return CBK_SEND_NOT_SENT | CBK_SEND_FINAL | CBK_MBEDTLS_ERR_SETUP;
    }
    t->last_flags = 0;
    ret = cbk__mt_handshake(t);
    if (ret != 0) {
        t->last_error = ret;
        if (cbk__mt_refused(ret)) {
            cbk_mbedtls_forget_session(t);
            return CBK_SEND_NOT_SENT | CBK_SEND_FINAL | CBK_MBEDTLS_ERR_CERT;
        }
        return CBK_SEND_NOT_SENT | CBK_MBEDTLS_ERR_HANDSHAKE;
    }
    t->internal.open = 2;
    t->handshakes++;
    if (!t->internal.saw_cert) t->resumed++;
    cbk__mt_save_session(t, host, port);
    return 0;
}

/* ---- write, read ---- */

/* An mbedTLS or BIO result as the engine wants it. */
static long cbk__mt_result(int ret) {
    if (ret > 0) return ret;
    if (ret == MBEDTLS_ERR_SSL_TIMEOUT) return CBK_HTTP1_IO_TIMEOUT;
    return -1;
}

static long cbk__mt_write(void *ctx, const char *data, size_t len) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    const unsigned char *p = (const unsigned char *)data;
    int ret, spins = 0;
    if (len > 0x4000) len = 0x4000; /* the return value must fit an int */
    do {
        ret = t->internal.open == 2 ? mbedtls_ssl_write(&t->ssl, p, len)
                                    : t->sock.send(t->sock.ctx, p, len);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) &&
             ++spins < CBK_MBEDTLS_SPINS);
    if (ret <= 0) t->last_error = ret;
    return ret == 0 ? -1 : cbk__mt_result(ret);
}

static int cbk__mt_plain_recv(cbk_mbedtls *t, unsigned char *p, size_t len) {
    if (t->sock.recv_timeout) return cbk__mt_bio_recv_timeout(t, p, len, t->read_timeout_ms);
    return t->sock.recv(t->sock.ctx, p, len);
}

/* One mbedtls_ssl_read: a new session ticket (TLS 1.3) is kept and the
   read repeated by the caller. */
static int cbk__mt_tls_recv(cbk_mbedtls *t, unsigned char *p, size_t len) {
    int ret = mbedtls_ssl_read(&t->ssl, p, len);
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        if (t->internal.have_session) {
            char host[CBK_HTTP1_HOST_MAX];
            cbk__mt_strcpy(host, sizeof host, t->internal.saved_host);
            cbk__mt_save_session(t, host, t->internal.saved_port);
        }
        ret = MBEDTLS_ERR_SSL_WANT_READ;
    }
#endif
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        ret = 0; /* a clean end */
    else if (ret == 0)
        ret = MBEDTLS_ERR_SSL_CONN_EOF; /* EOF without close_notify */
    return ret;
}

static long cbk__mt_read(void *ctx, char *buf, size_t len) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    unsigned char *p = (unsigned char *)buf;
    int ret, spins = 0;
    if (len > 0x4000) len = 0x4000;
    do {
        ret = t->internal.open == 2 ? cbk__mt_tls_recv(t, p, len) : cbk__mt_plain_recv(t, p, len);
    } while ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
             ++spins < CBK_MBEDTLS_SPINS);
    if (ret < 0) t->last_error = ret;
    return ret == 0 ? 0 : cbk__mt_result(ret);
}

/* ---- close, usable, clock ---- */

static void cbk__mt_close(void *ctx) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    if (t->internal.open == 2) (void)mbedtls_ssl_close_notify(&t->ssl); /* best effort */
    t->sock.close(t->sock.ctx);
    if (t->internal.open) (void)mbedtls_ssl_session_reset(&t->ssl); /* zeroes the records */
    t->internal.open = 0;
}

static int cbk__mt_usable(void *ctx) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    if (t->internal.open == 2 && mbedtls_ssl_get_bytes_avail(&t->ssl) > 0) return 0;
    return t->sock.usable ? t->sock.usable(t->sock.ctx) : 1;
}

static uint32_t cbk__mt_now_ms(void *ctx) {
    cbk_mbedtls *t = (cbk_mbedtls *)ctx;
    return t->sock.now_ms(t->sock.ctx);
}

CBKDEF cbk_http1_io cbk_mbedtls_io(cbk_mbedtls *t) {
    cbk_http1_io io;
    io.ctx = t;
    io.connect = cbk__mt_connect;
    io.write = cbk__mt_write;
    io.read = cbk__mt_read;
    io.close = cbk__mt_close;
    io.now_ms = t->sock.now_ms ? cbk__mt_now_ms : NULL;
    io.usable = cbk__mt_usable;
    return io;
}

CBKDEF void cbk_mbedtls_free(cbk_mbedtls *t) {
    if (t->internal.open) cbk__mt_close(t);
    cbk_mbedtls_forget_session(t);
    mbedtls_ssl_free(&t->ssl);         /* zeroizes and frees the record buffers */
    mbedtls_ssl_config_free(&t->conf); /* zeroizes */
}

/* ---- mbedTLS's net_sockets ---- */

#if defined(MBEDTLS_NET_C)
static int cbk__mt_net_connect(void *ctx, const char *host, unsigned port) {
    cbk_mbedtls_net *n = (cbk_mbedtls_net *)ctx;
    char ps[8];
    int i = 7, ret;
    ps[i] = '\0';
    do ps[--i] = (char)('0' + port % 10u), port /= 10u;
    while (port && i > 0);
    mbedtls_net_init(&n->net);
    ret = mbedtls_net_connect(&n->net, host, ps + i, MBEDTLS_NET_PROTO_TCP);
    n->last_error = ret;
    if (ret == 0) return 0;
    mbedtls_net_free(&n->net);
    return CBK_SEND_NOT_SENT | CBK_MBEDTLS_ERR_HANDSHAKE;
}

static void cbk__mt_net_close(void *ctx) {
    mbedtls_net_free(&((cbk_mbedtls_net *)ctx)->net);
}

static int cbk__mt_net_usable(void *ctx) {
    cbk_mbedtls_net *n = (cbk_mbedtls_net *)ctx;
    return mbedtls_net_poll(&n->net, MBEDTLS_NET_POLL_READ, 0) == 0; /* input: EOF or junk */
}

CBKDEF cbk_mbedtls_socket cbk_mbedtls_net_socket(cbk_mbedtls_net *n) {
    cbk_mbedtls_socket s;
    mbedtls_net_init(&n->net);
    n->last_error = 0;
    s.ctx = n;
    s.connect = cbk__mt_net_connect;
    s.close = cbk__mt_net_close;
    s.send = mbedtls_net_send;
    s.recv = mbedtls_net_recv;
    s.recv_timeout = mbedtls_net_recv_timeout;
    s.usable = cbk__mt_net_usable;
    s.now_ms = NULL;
    return s;
}
#endif

#endif /* CBK_TOKEN_MBEDTLS_IMPLEMENTED */
#endif /* CBK_TOKEN_MBEDTLS_IMPLEMENTATION */
