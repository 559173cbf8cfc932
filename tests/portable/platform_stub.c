/* platform_stub.c - the platform functions examples/embedded/main.c calls,
 * as do-nothing stubs, so that the example links for Cortex-M4 with
 * -nostdlib (proof that it needs nothing else) and tools/size_report.py can
 * measure the linked image. Not a network stack. */

#include "../../cbk_token.h"
#include "../../adapters/cbk_token_http1.h"

const cbk_http1_io *platform_net(void *net);
void platform_net_serves(const cbk_http1 *http);
void platform_console_write(void *console, const char *text, size_t len);
void platform_sleep_ms(void *rtos, unsigned ms);
const char *platform_secret(void);
const char *platform_base_url(void);
const char *platform_user_id(void);

const cbk_http1_io *platform_net(void *net) {
    (void)net;
    return NULL; /* no network: the task prints so and returns */
}

void platform_net_serves(const cbk_http1 *http) {
    (void)http;
}

const char *platform_base_url(void) {
    return NULL;
}

const char *platform_user_id(void) {
    return NULL;
}

void platform_console_write(void *console, const char *text, size_t len) {
    (void)console, (void)text, (void)len;
}

void platform_sleep_ms(void *rtos, unsigned ms) {
    (void)rtos, (void)ms;
}

const char *platform_secret(void) {
    return "sk-stub";
}
