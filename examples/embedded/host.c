/* host.c - examples/embedded's board on a Linux host: lwIP (Debian's
 * liblwip0) in this process with the unix port's tapif netif, the console
 * on stdout, /dev/urandom as the "TRNG"; no sleep of its own (the
 * library's default sleep waits between retries on a hosted build). tests/lwip/run_example.sh runs
 * it inside a network namespace with a TAP device and the mock API.
 *
 *   PRECONFIGURED_TAPIF=tap0 CBK_EMB_IP=198.51.100.2 CBK_EMB_GW=198.51.100.1 \
 *   CBK_EMB_BASE_URL=https://198.51.100.1:8443 CBK_EMB_CA=ca.pem \
 *   CBK_EMB_USER=user-1 CBK_API_SECRET=sk-... build/embedded_host */
#include <stdio.h>
#include <stdlib.h>

#include "lwip/tcpip.h"
#include "lwip/netif.h"
#include "netif/tapif.h"

#include "cbk_embedded.h"

const cbk_http1_io *platform_net(void *net);
void platform_console_write(void *console, const char *text, size_t len);
const char *platform_secret(void);
const char *platform_base_url(void);
const char *platform_user_id(void);
const unsigned char *platform_ca_pem(size_t *len);
int platform_entropy(void *ctx, unsigned char *out, size_t len, size_t *out_len);
int cbk_embedded_task(void *net);

void platform_console_write(void *console, const char *text, size_t len) {
    (void)console;
    fwrite(text, 1, len, stdout);
}

const char *platform_secret(void) {
    return getenv("CBK_API_SECRET");
}
const char *platform_base_url(void) {
    return getenv("CBK_EMB_BASE_URL");
}
const char *platform_user_id(void) {
    return getenv("CBK_EMB_USER");
}

const unsigned char *platform_ca_pem(size_t *len) {
    static unsigned char pem[16384];
    const char *path = getenv("CBK_EMB_CA");
    FILE *f = path ? fopen(path, "rb") : NULL;
    size_t n;
    if (f == NULL) return NULL;
    n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    *len = n + 1; /* mbedtls_x509_crt_parse wants PEM with its NUL */
    return pem;
}

int platform_entropy(void *ctx, unsigned char *out, size_t len, size_t *out_len) {
    FILE *f = fopen("/dev/urandom", "rb");
    (void)ctx;
    *out_len = f ? fread(out, 1, len, f) : 0;
    if (f) fclose(f);
    return *out_len == len ? 0 : -1;
}

static void lwip_ready(void *arg) {
    sys_sem_signal((sys_sem_t *)arg);
}

/* lwIP's thread and the tapif netif (the board's Ethernet). */
static int lwip_start(const char *ip_text, const char *gw_text) {
    static struct netif nif_store[4]; /* room: liblwip0's struct may be larger */
    ip4_addr_t ip, mask, gw;
    sys_sem_t ready;
    if (!ip_text || !gw_text || !ip4addr_aton(ip_text, &ip) || !ip4addr_aton(gw_text, &gw) ||
        sys_sem_new(&ready, 0) != ERR_OK)
        return -1;
    ip4addr_aton("255.255.255.0", &mask);
    tcpip_init(lwip_ready, &ready);
    sys_sem_wait(&ready);
    sys_sem_free(&ready);
    LOCK_TCPIP_CORE();
    netif_add(&nif_store[0], &ip, &mask, &gw, NULL, tapif_init, tcpip_input);
    netif_set_default(&nif_store[0]);
    netif_set_up(&nif_store[0]);
    UNLOCK_TCPIP_CORE();
    return 0;
}

int main(void) {
    int rc;
    if (!getenv("PRECONFIGURED_TAPIF") ||
        lwip_start(getenv("CBK_EMB_IP"), getenv("CBK_EMB_GW")) != 0) {
        fprintf(stderr, "set PRECONFIGURED_TAPIF, CBK_EMB_IP and CBK_EMB_GW\n");
        return 2;
    }
    rc = cbk_embedded_task(NULL);
    fflush(stdout);
    return rc;
}
