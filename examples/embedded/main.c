/* main.c - the RTOS side of examples/embedded: one task that lists a
 * partner user's tokens as a stream and prints each as it arrives.
 *
 * Everything is static: the client, its 512-byte work buffer and the HTTP
 * transport's state. The platform supplies the functions declared below:
 * a blocking socket (lwIP's socket API, or an mbedTLS session over it for
 * https), a console, and a sleep for the retry delays. Built for Cortex-M4
 * with -ffreestanding and CBK_TOKEN_NO_LIBC by `make cross`. */
#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_embedded.h"

#ifndef CBK_EMBEDDED_BASE_URL
#define CBK_EMBEDDED_BASE_URL "https://api.chatbotkit.com"
#endif
#ifndef CBK_EMBEDDED_USER_ID
#define CBK_EMBEDDED_USER_ID "user-1"
#endif

/* The platform (board support, network stack, RTOS). */
int platform_net_connect(void *net, const char *host, unsigned port, int tls);
int platform_net_write(void *net, const unsigned char *buf, size_t len);
int platform_net_read(void *net, unsigned char *buf, size_t len);
void platform_net_close(void *net);
void platform_console_write(void *console, const char *text, size_t len);
void platform_sleep_ms(void *rtos, unsigned ms);
const char *platform_secret(void); /* from secure storage */
void cbk_embedded_task(void *net);

static cbk_client client;
static char work[512];
static emb_http http;

static void print(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    platform_console_write(NULL, s, n);
}

void cbk_embedded_task(void *net) {
    emb_socket sock;
    emb_console console;
    cbk_client_options opts;
    cbk_result r;

    sock.ctx = net;
    sock.connect = platform_net_connect;
    sock.write = platform_net_write;
    sock.read = platform_net_read;
    sock.close = platform_net_close;
    console.write = platform_console_write;
    console.ctx = NULL;

    cbk_client_options_init(&opts);
    opts.base_url = CBK_EMBEDDED_BASE_URL;
    opts.sleep_ms = platform_sleep_ms;

    emb_http_init(&http, &sock);
    r = cbk_client_init(&client, platform_secret(), emb_send, &http, work, sizeof work, &opts);
    if (r == CBK_OK)
        r = cbk_token_list_stream(&client, CBK_EMBEDDED_USER_ID, NULL, emb_print_token, &console);
    if (r != CBK_OK) {
        print("token list failed: ");
        print(cbk_result_str(r));
        print(" ");
        print(cbk_client_error(&client)->code);
        print("\n");
    }
}
