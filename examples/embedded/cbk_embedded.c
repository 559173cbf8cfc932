/* cbk_embedded.c - see cbk_embedded.h. Also compiles the HTTP/1.1 engine
 * (the example's one transport core); the library's implementation is in
 * main.c. Uses no C library function. */
#define CBK_TOKEN_HTTP1_IMPLEMENTATION
#include "cbk_embedded.h"

static size_t emb__len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void emb__print(const emb_console *con, const char *s) {
    con->write(con->ctx, s, emb__len(s));
}

/* "0x" and n in hex (no printf on the board). */
static void emb__print_hex(const emb_console *con, unsigned n) {
    char text[11];
    int i = 10;
    text[i] = '\0';
    do text[--i] = "0123456789abcdef"[n & 15u], n >>= 4;
    while (n && i > 2);
    text[--i] = 'x';
    text[--i] = '0';
    emb__print(con, text + i);
}

int emb_print_token(void *user, const cbk_token *token) {
    const emb_console *con = (const emb_console *)user;
    con->write(con->ctx, token->id, token->id_len);
    emb__print(con, " ");
    if (token->name)
        con->write(con->ctx, token->name, token->name_len); /* may hold U+0000 */
    else
        emb__print(con, "-");
    /* a name too long for the 512-byte work buffer arrives cut */
    if (token->truncated & CBK_FIELD_NAME) emb__print(con, "...");
    emb__print(con, "\n");
    return 0;
}

cbk_result emb_app_init(emb_app *app, const cbk_http1_io *io, const char *base_url,
                        const char *secret, void (*sleep_ms)(void *, unsigned), void *sleep_ctx) {
    cbk_client_options opts;
    cbk_http1_init(&app->http, io, app->http_buf, sizeof app->http_buf);
    if (io->now_ms) app->http.deadline_ms = EMB_DEADLINE_MS;
    cbk_client_options_init(&opts);
    opts.base_url = base_url;
    opts.sleep_ms = sleep_ms;
    opts.sleep_ctx = sleep_ctx;
    return cbk_client_init(&app->client, secret, cbk_http1_send, &app->http, app->work,
                           sizeof app->work, &opts);
}

cbk_result emb_list_tokens(emb_app *app, const char *user_id, emb_console *console) {
    cbk_result r = cbk_token_list_stream(&app->client, user_id, NULL, emb_print_token, console);
    if (r != CBK_OK) {
        emb__print(console, "token list failed: ");
        emb__print(console, cbk_result_str(r));
        emb__print(console, " ");
        emb__print(console, cbk_client_error(&app->client)->code);
        emb__print(console, " transport_code ");
        emb__print_hex(console, (unsigned)cbk_client_error(&app->client)->transport_code);
        emb__print(console, "\n");
    }
    return r;
}

void emb_app_close(emb_app *app) {
    cbk_http1_close(&app->http);
}
