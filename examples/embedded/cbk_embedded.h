/* cbk_embedded.h - the firmware side of examples/embedded: a user's tokens,
 * listed through the HTTP/1.1 engine (adapters/cbk_token_http1.h) over any
 * byte stream the board gives as a cbk_http1_io: lwIP + mbedTLS
 * (net_lwip_mbedtls.c), a modem, a test's fake.
 *
 *   static emb_app app;                          // client, engine, buffers
 *   emb_app_init(&app, io, base_url, secret, sleep_ms, rtos);
 *   emb_list_tokens(&app, "user-1", &console);  // "<id> <name>\n" each
 *   emb_app_close(&app);                        // closes, wipes
 *
 * All memory is in emb_app: the client's 512-byte work buffer and the
 * engine's buffer (EMB_HTTP_BUF, 512 by default: the longest response line
 * it can read). Nothing is allocated. Builds freestanding with
 * CBK_TOKEN_NO_LIBC (the engine needs no C library either). The HTTP/1.1
 * parsing is the engine's: this example has no parser of its own. */
#ifndef CBK_EMBEDDED_H
#define CBK_EMBEDDED_H

#include "cbk_token.h" /* -I<the repository root> */
#include "adapters/cbk_token_http1.h"

#ifndef EMB_WORK_SIZE
#define EMB_WORK_SIZE 512
#endif
#ifndef EMB_HTTP_BUF
#define EMB_HTTP_BUF 512
#endif
#ifndef EMB_DEADLINE_MS
#define EMB_DEADLINE_MS 60000u /* one whole exchange; needs io.now_ms */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Where emb_print_token writes: a console, a UART, a log. */
typedef struct emb_console {
    void (*write)(void *ctx, const char *text, size_t len);
    void *ctx;
} emb_console;

/* A cbk_token_fn that prints "<id> <name>\n" (name "-" when absent, "..."
   after a name cut to fit the work buffer) as each token arrives; user is
   an emb_console. Returns 0 (go on). */
int emb_print_token(void *user, const cbk_token *token);

/* The firmware's whole client state; one, static. */
typedef struct emb_app {
    cbk_client client;
    cbk_http1 http;
    char work[EMB_WORK_SIZE];
    char http_buf[EMB_HTTP_BUF];
} emb_app;

/* Sets app up to talk through io (copied; its ctx must outlive app).
   sleep_ms/sleep_ctx wait between retries. NULL: the library's default
   sleep where the build has one (hosted POSIX or Windows); on bare metal
   (CBK_TOKEN_NO_LIBC, freestanding) none, and then no retries (see
   RETRIES in cbk_token.h). CBK_OK or cbk_client_init's failure. */
cbk_result emb_app_init(emb_app *app, const cbk_http1_io *io, const char *base_url,
                        const char *secret, void (*sleep_ms)(void *, unsigned), void *sleep_ctx);

/* Streams user_id's tokens (cbk_token_list_stream) and prints each as it
   arrives; on failure prints "token list failed: <result> <code>". */
cbk_result emb_list_tokens(emb_app *app, const char *user_id, emb_console *console);

/* Closes the kept connection and wipes the engine's buffer. */
void emb_app_close(emb_app *app);

#ifdef __cplusplus
}
#endif

#endif /* CBK_EMBEDDED_H */
