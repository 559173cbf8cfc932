/* main.c - the RTOS side of examples/embedded: one task that lists a
 * partner user's tokens as a stream and prints each as it arrives.
 *
 * Everything is static: the client, its 512-byte work buffer and the
 * engine's buffer (emb_app). The board supplies the functions declared
 * below: its network as a cbk_http1_io (net_lwip_mbedtls.c: lwIP sockets
 * with mbedTLS on top, a fixed TLS buffer), a console, a sleep for the
 * retry delays (bare metal only: a hosted build has the library's default)
 * and the secret. Built for Cortex-M4 with -ffreestanding
 * and CBK_TOKEN_NO_LIBC by `make cross`; run on the host over lwIP on a
 * TAP device by `make embedded-example` (host.c is that board). */
#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_embedded.h"

#ifndef CBK_EMBEDDED_BASE_URL
#define CBK_EMBEDDED_BASE_URL "https://api.chatbotkit.com"
#endif
#ifndef CBK_EMBEDDED_USER_ID
#define CBK_EMBEDDED_USER_ID "user-1"
#endif

/* The board (network stack, RTOS, secure storage). */
const cbk_http1_io *platform_net(void *net);     /* NULL: no network */
void platform_net_serves(const cbk_http1 *http); /* its waits end by http's deadline */
void platform_console_write(void *console, const char *text, size_t len);
#ifdef CBK_SLEEP_MS
/* a hosted build (the host board): the library's default sleep waits */
#define EMB_SLEEP_MS NULL
#else
/* bare metal has no default sleep: without the board's, no retries */
void platform_sleep_ms(void *rtos, unsigned ms);
#define EMB_SLEEP_MS platform_sleep_ms
#endif
const char *platform_secret(void);
const char *platform_base_url(void); /* NULL: CBK_EMBEDDED_BASE_URL */
const char *platform_user_id(void);  /* NULL: CBK_EMBEDDED_USER_ID */
int cbk_embedded_task(void *net);

static emb_app app;

int cbk_embedded_task(void *net) {
    const cbk_http1_io *io = platform_net(net);
    const char *url = platform_base_url(), *user = platform_user_id();
    emb_console console;
    cbk_result r;
    console.write = platform_console_write;
    console.ctx = NULL;
    if (io == NULL) {
        platform_console_write(NULL, "no network\n", 11);
        return 1;
    }
    r = emb_app_init(&app, io, url ? url : CBK_EMBEDDED_BASE_URL, platform_secret(), EMB_SLEEP_MS,
                     NULL);
    platform_net_serves(&app.http);
    if (r == CBK_OK) r = emb_list_tokens(&app, user ? user : CBK_EMBEDDED_USER_ID, &console);
    emb_app_close(&app);
    return r == CBK_OK ? 0 : 1;
}
