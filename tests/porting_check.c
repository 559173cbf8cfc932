/* Checks the generic code of docs/porting.md section 3 (url_split,
   http1_head, http1_rx): tests/examples.sh extracts the blocks marked
   <!-- porting-check --> into porting_blocks.h, and this program runs them
   against canned responses fed in pieces of every size, through the
   sans-I/O path. Closes with "porting: N passed, M failed". */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"

#include "porting_blocks.h"

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
    (void)user;
    (void)t;
    ntok++;
    return 0;
}

static int stop_at_first(void *user, const cbk_token *t) {
    (void)user;
    (void)t;
    ntok++;
    return 1;
}

/* Lists through http1_rx, feeding wire in pieces of `step` bytes; `closed`:
   the connection closes after the last byte. */
static cbk_result run(const char *wire, size_t step, int closed, cbk_token_fn fn) {
    static char work[CBK_WORK_MIN];
    cbk_client c;
    const cbk_request *req;
    http1_rx rx;
    char cursor[64];
    size_t pos, len = strlen(wire);
    int rc = 0;
    cbk_client_init(&c, "sk-test", NULL, NULL, work, sizeof work, NULL);
    if (cbk_token_list_prepare(&c, "u1", NULL, fn, NULL, cursor, sizeof cursor, &req) != CBK_OK)
        return CBK_ERR_INVALID_ARGUMENT;
    http1_rx_init(&rx, cbk_client_response(&c));
    ntok = 0;
    for (pos = 0; pos < len && rc == 0; pos += step)
        rc = http1_rx_feed(&rx, wire + pos, len - pos < step ? len - pos : step);
    if (rc < 0) return cbk_client_abort(&c, 1);
    if (rc == 0 && (!closed || http1_rx_closed(&rx))) return cbk_client_abort(&c, 2);
    return cbk_client_finish(&c);
}

int main(void) {
    static const char chunked[] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "a;ext=1\r\n{\"items\":[\r\n"
        "5F\r\n{\"id\":\"t1\",\"createdAt\":1,\"updatedAt\":2},"
        "{\"id\":\"t2\",\"createdAt\":3,\"updatedAt\":4}],\"cursor\":\"t2\"}\r\n"
        "0\r\nX-Trailer: 1\r\n\r\n";
    static const char length[] =
        "HTTP/1.0 200 OK\nContent-Length: 32\n\n{\"items\":[],\"cursor\":\"\"}        ";
    static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"items\":[";
    static const char to_close[] =
        "HTTP/1.1 404 Not Found\r\n\r\n{\"message\":\"no\",\"code\":\"NOT_FOUND\"}";
    static const char bad[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    static const cbk_header hs[2] = {{"Authorization", "Bearer sk"},
                                     {"Content-Type", "application/json"}};
    char head[512];
    cbk_request rq;
    url_parts u;
    size_t step;

    for (step = 1; step <= 400; step = step * 2 + 1) {
        check(run(chunked, step, 0, count_token) == CBK_OK && ntok == 2, "chunked list");
        check(run(chunked, step, 0, stop_at_first) == CBK_ERR_CANCELLED && ntok == 1,
              "a callback stops the list");
        check(run(length, step, 0, count_token) == CBK_OK && ntok == 0, "Content-Length");
        check(run(cut, step, 1, count_token) == CBK_ERR_TRANSPORT,
              "a cut body is a transport error");
        check(run(to_close, step, 1, count_token) == CBK_ERR_HTTP, "a body framed by the close");
        check(run(bad, step, 0, count_token) == CBK_ERR_TRANSPORT, "bad chunk framing");
    }

    check(url_split("https://api.chatbotkit.com/v1/x?y=1", &u) == 0 &&
              strcmp(u.host, "api.chatbotkit.com") == 0 && strcmp(u.port, "443") == 0 &&
              strcmp(u.target, "/v1/x?y=1") == 0 && u.tls,
          "url_split https");
    check(url_split("http://[::1]:8080/api/v1", &u) == 0 && strcmp(u.host, "::1") == 0 &&
              strcmp(u.port, "8080") == 0 && strcmp(u.authority, "[::1]:8080") == 0 && !u.tls,
          "url_split IPv6");
    check(url_split("http://h", &u) == 0 && strcmp(u.target, "/") == 0 && strcmp(u.port, "80") == 0,
          "url_split without a path");
    check(url_split("ftp://h/", &u) != 0 && url_split("http://:80/", &u) != 0 &&
              url_split("http://h:/", &u) != 0,
          "url_split refuses");

    rq.method = "POST";
    rq.url = "https://h:8443/p";
    rq.headers = hs;
    rq.header_count = 2;
    rq.body = "{}";
    rq.body_len = 2;
    check(url_split(rq.url, &u) == 0, "url_split with a port");
    head[http1_head(&rq, &u, head, sizeof head)] = '\0';
    check(strcmp(head, "POST /p HTTP/1.1\r\nHost: h:8443\r\nAuthorization: Bearer sk\r\n"
                       "Content-Type: application/json\r\nContent-Length: 2\r\n"
                       "Connection: close\r\n\r\n") == 0,
          "http1_head");
    check(http1_head(&rq, &u, head, 40) == 0, "http1_head refuses a small buffer");

    printf("porting: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
