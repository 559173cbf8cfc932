/* platform_stub.c - the platform functions examples/embedded/main.c calls,
 * as do-nothing stubs, so that the example links for Cortex-M4 with
 * -nostdlib (proof that it needs nothing else) and tools/size_report.py can
 * measure the linked image. Not a network stack. */
#include <stddef.h>

int platform_net_connect(void *net, const char *host, unsigned port, int tls);
int platform_net_write(void *net, const unsigned char *buf, size_t len);
int platform_net_read(void *net, unsigned char *buf, size_t len);
void platform_net_close(void *net);
void platform_console_write(void *console, const char *text, size_t len);
void platform_sleep_ms(void *rtos, unsigned ms);
const char *platform_secret(void);

int platform_net_connect(void *net, const char *host, unsigned port, int tls) {
    (void)net, (void)host, (void)port, (void)tls;
    return -1;
}

int platform_net_write(void *net, const unsigned char *buf, size_t len) {
    (void)net, (void)buf;
    return (int)len;
}

int platform_net_read(void *net, unsigned char *buf, size_t len) {
    (void)net;
    if (len) buf[0] = 0;
    return 0; /* the peer closed */
}

void platform_net_close(void *net) {
    (void)net;
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
