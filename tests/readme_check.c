/* readme_check.c - README.md's C fragments in one translation unit, so that
   the README's code keeps compiling (tests/examples.sh extracts each block
   marked <!-- readme-check: NAME --> into $BUILD/examples/readme_NAME.h).
   The complete program ("program") is built and run on its own. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"

/* The stack the "send" block talks to: a stub that never connects. */
typedef struct my_http {
    int unused;
} my_http;
static int my_http_open(my_http *h, const char *method, const char *url, const cbk_header *headers,
                        size_t header_count, const char *body, size_t body_len) {
    (void)h, (void)method, (void)url, (void)headers, (void)header_count, (void)body, (void)body_len;
    return -1;
}
static int my_http_status(my_http *h) {
    (void)h;
    return 0;
}
static long my_http_read(my_http *h, char *buf, size_t size) {
    (void)h, (void)buf, (void)size;
    return 0;
}
static int my_http_close(my_http *h) {
    (void)h;
    return 0;
}

#include "readme_send.h"
#include "readme_fetch.h"
#include "readme_posix.h"

typedef cbk_result (*fetch_fn)(cbk_client *, const char *, char *, size_t);
typedef cbk_result (*posix_fn)(cbk_client *, const cbk_client_options *, const char *, char *,
                               size_t);

static const struct {
    cbk_send_fn send;
    fetch_fn fetch;
    posix_fn posix;
} fragments = {my_send, create_bot, list_over_posix};

int main(void) {
    return fragments.send == NULL || fragments.fetch == NULL || fragments.posix == NULL;
}
