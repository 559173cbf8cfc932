/* net_lwip_mbedtls.c - the board's network for examples/embedded: lwIP
 * sockets (adapters/cbk_token_lwip.h) with mbedTLS on top
 * (adapters/cbk_token_mbedtls.h), one io for https:// and http://.
 *
 * The board supplies the CA certificates (PEM) and its true random number
 * generator; lwIP must be running (tcpip_init, a netif up) before
 * platform_net is called. With MBEDTLS_MEMORY_BUFFER_ALLOC_C (firmware
 * builds) every mbedTLS allocation comes from tls_heap, a fixed
 * EMB_TLS_HEAP-byte buffer; Debian's libmbedtls is built without it, so
 * on the host mbedTLS uses libc's heap instead. */
#include "lwip/sockets.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/x509_crt.h"
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
#include "mbedtls/memory_buffer_alloc.h"
#endif

#include "cbk_embedded.h"
#define CBK_TOKEN_MBEDTLS_IMPLEMENTATION
#include "adapters/cbk_token_mbedtls.h"
#define CBK_TOKEN_LWIP_IMPLEMENTATION
#include "adapters/cbk_token_lwip.h"

/* Two record buffers of MBEDTLS_SSL_IN/OUT_CONTENT_LEN plus about 330
   bytes each, the handshake's peak, the saved session, the CA chain. */
#ifndef EMB_TLS_HEAP
#define EMB_TLS_HEAP (MBEDTLS_SSL_IN_CONTENT_LEN + MBEDTLS_SSL_OUT_CONTENT_LEN + 24 * 1024)
#endif
#ifndef EMB_NET_TIMEOUT_MS
#define EMB_NET_TIMEOUT_MS 15000u
#endif

/* The board. */
const unsigned char *platform_ca_pem(size_t *len); /* PEM text; len counts its final NUL */
int platform_entropy(void *ctx, unsigned char *out, size_t len, size_t *out_len); /* the TRNG */
const cbk_http1_io *platform_net(void *net);
void platform_net_serves(const cbk_http1 *http);

#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
static unsigned char tls_heap[EMB_TLS_HEAP];
#endif
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_x509_crt ca;
static cbk_lwip net;
static cbk_mbedtls tls;
static cbk_http1_io io;

/* Random numbers from the board's TRNG (a strong source), then the CA. */
static int emb_tls_material(void) {
    static const unsigned char personal[] = "cbk-embedded";
    const unsigned char *pem;
    size_t pem_len = 0;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    if (mbedtls_entropy_add_source(&entropy, platform_entropy, NULL, 32,
                                   MBEDTLS_ENTROPY_SOURCE_STRONG) != 0 ||
        mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, personal,
                              sizeof personal - 1) != 0)
        return -1;
    pem = platform_ca_pem(&pem_len);
    return pem && mbedtls_x509_crt_parse(&ca, pem, pem_len) == 0 ? 0 : -1;
}

const cbk_http1_io *platform_net(void *unused) {
    cbk_mbedtls_socket sock;
    (void)unused;
#if defined(MBEDTLS_MEMORY_BUFFER_ALLOC_C)
    mbedtls_memory_buffer_alloc_init(tls_heap, sizeof tls_heap);
#endif
    if (emb_tls_material() != 0) return NULL;
    cbk_lwip_init(&net);
    net.timeout_ms = EMB_NET_TIMEOUT_MS;
    sock = cbk_lwip_tls_socket(&net);
    if (cbk_mbedtls_init(&tls, &sock, &ca, mbedtls_ctr_drbg_random, &drbg) != 0) return NULL;
    io = cbk_mbedtls_io(&tls);
    return &io;
}

/* Each socket read and write then waits at most what is left of the
   engine's deadline (SO_RCVTIMEO cut by cbk_http1_remaining_ms). */
void platform_net_serves(const cbk_http1 *http) {
    net.http = http;
}
