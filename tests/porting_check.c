/* Checks the io of docs/porting.md section 3 (sock_io over a BSD-style
   socket API, wired to the HTTP/1.1 engine): tests/examples.sh extracts
   the blocks marked <!-- porting-check --> into porting_blocks.h, and this
   program gives them a fake socket API (my_sock_*) that answers canned
   responses in pieces of every size, then lists through them. Closes
   with "porting: N passed, M failed". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#define CBK_TOKEN_HTTP1_IMPLEMENTATION
#include "adapters/cbk_token_http1.h"

/* ---- the fake socket API the page's io calls ---- */

#define MY_SOCK_TIMEOUT (-11)

static const char *wire; /* the response of each connection */
static size_t wire_pos, step;
static int socks_open, connects, refuse, sent_bytes;
static char last_host[64];
static uint32_t clock_ms;

static int my_sock_connect(const char *host, unsigned port, unsigned timeout_ms) {
    (void)port, (void)timeout_ms;
    if (refuse) return -1;
    snprintf(last_host, sizeof last_host, "%s", host);
    connects++;
    socks_open++;
    wire_pos = 0;
    return 3;
}

static long my_sock_send(int fd, const char *data, size_t len) {
    (void)fd, (void)data;
    sent_bytes += (int)len;
    return (long)len;
}

static long my_sock_recv(int fd, char *buf, size_t len) {
    size_t n = strlen(wire) - wire_pos;
    (void)fd;
    if (n > len) n = len;
    if (n > step) n = step;
    memcpy(buf, wire + wire_pos, n);
    wire_pos += n;
    return (long)n;
}

static void my_sock_close(int fd) {
    (void)fd;
    socks_open--;
}

static int my_sock_has_input(int fd) {
    (void)fd;
    return 0;
}

static uint32_t my_clock_ms(void) {
    return clock_ms++;
}

#include "porting_blocks.h"

/* ---- the checks ---- */

static int passed, failed;
static int ntok;

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

static int count_token(void *user, const cbk_token *t) {
    (void)user, (void)t;
    ntok++;
    return 0;
}

static int stop_at_first(void *user, const cbk_token *t) {
    (void)user, (void)t;
    ntok++;
    return 1;
}

static cbk_client client;
static cbk_http1 http;
static sock_io sio;
static char hbuf[512], work[CBK_WORK_MIN];

/* Lists through the page's io, reading wire in pieces of `by` bytes. */
static cbk_result run(const char *base, const char *response, size_t by, cbk_token_fn fn) {
    cbk_client_options o;
    cbk_result r;
    cbk_client_options_init(&o);
    o.base_url = base;
    wire = response;
    step = by;
    ntok = 0;
    if (sock_client_init(&client, &http, &sio, hbuf, sizeof hbuf, work, sizeof work, "sk-port",
                         &o) != CBK_OK)
        return CBK_ERR_INVALID_ARGUMENT;
    r = cbk_token_list(&client, "u1", NULL, fn, NULL, NULL, 0);
    cbk_http1_close(&http);
    return r;
}

#define ITEM(id) "{\"id\":\"" id "\",\"createdAt\":1,\"updatedAt\":2}"

int main(void) {
    static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "a\r\n{\"items\":[\r\n" /* a complete response, cut JSON */
                                  "0\r\n\r\n";
    static char body[256], sized[512];
    size_t by;
    int all = 1;
    snprintf(body, sizeof body, "{\"items\":[%s,%s],\"cursor\":\"\"}", ITEM("a"), ITEM("b"));
    snprintf(sized, sizeof sized, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(body), body);

    for (by = 1; by <= strlen(sized); by++)
        if (run("http://10.0.0.1:8080", sized, by, count_token) != CBK_OK || ntok != 2) all = 0;
    check(all, "Content-Length body in pieces of every size: 2 tokens");
    check(socks_open == 0 && strcmp(last_host, "10.0.0.1") == 0, "socket closed, host given");

    check(run("http://10.0.0.1", chunked, 7, count_token) == CBK_ERR_PARSE, "a cut list is bad");
    check(run("http://10.0.0.1", sized, 5, stop_at_first) == CBK_ERR_CANCELLED && ntok == 1,
          "a callback that stops: CBK_ERR_CANCELLED after one token");

    connects = 0;
    sent_bytes = 0;
    check(run("https://10.0.0.1", sized, 64, count_token) == CBK_ERR_TRANSPORT && connects == 0 &&
              sent_bytes == 0,
          "https:// on the plain io: refused, nothing sent");
    check(CBK_SEND_HAS(cbk_client_error(&client)->transport_code, CBK_SEND_FINAL),
          "https:// on the plain io: a final failure");

    refuse = 1;
    check(run("http://10.0.0.1", sized, 64, count_token) == CBK_ERR_TRANSPORT &&
              CBK_SEND_HAS(cbk_client_error(&client)->transport_code, CBK_SEND_NOT_SENT),
          "refused connect: CBK_SEND_NOT_SENT");
    refuse = 0;

    printf("porting: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
