/* dropin - cbk_token.h taken the drop-in way: one header, no build system.
 *
 *   cc -I. examples/dropin/main.c -o dropin && ./dropin
 *
 * (from the repository root; in your own tree, copy cbk_token.h next to your
 * sources and build the same way). Nothing else is needed: no library to
 * link, no generated file, no network.
 *
 * It drives the library by the sans-I/O path, the way an event-driven stack
 * would: prepare a request, hand it to "the network", feed the answer's
 * bytes as they come, finish, and ask the retry policy what to do after a
 * failure. Here the network is a script of canned answers, so the program
 * runs offline: a 503 with Retry-After first, then a page of two tokens,
 * then the last (empty) page. */
#include <stdio.h>
#include <string.h>

#define CBK_TOKEN_IMPLEMENTATION /* in exactly one .c file of a program */
#include "cbk_token.h"

/* ---- the canned network ------------------------------------------------- */

typedef struct canned {
    int status;
    const char *retry_after; /* NULL: no Retry-After header */
    const char *body;
} canned;

static const canned script[] = {
    {503, "1", "{\"message\":\"Service Unavailable\",\"code\":\"UNAVAILABLE\"}"},
    {200, NULL,
     "{\"items\":[{\"id\":\"tok_1\",\"name\":\"kiosk\",\"description\":\"lobby\","
     "\"meta\":{\"site\":\"north\"},\"createdAt\":1764460800000,\"updatedAt\":1764460800000},"
     "{\"id\":\"tok_2\",\"name\":\"caf\\u00e9\",\"createdAt\":1764547200000,"
     "\"updatedAt\":1764550800000}],\"cursor\":\"tok_2\"}"},
    {200, NULL, "{\"items\":[],\"cursor\":\"\"}"},
};
static size_t next_answer;

/* Prints what would go on the wire, with the secret masked. */
static void show_request(const cbk_request *req) {
    size_t i;
    printf("> %s %s\n", req->method, req->url);
    for (i = 0; i < req->header_count; i++) {
        const char *v = req->headers[i].value;
        if (strcmp(req->headers[i].name, "Authorization") == 0) v = "Bearer ***";
        printf(">   %s: %s\n", req->headers[i].name, v);
    }
}

/* The "network": feeds the next canned answer into the receiver, 5 bytes at
   a time, as a socket would. Returns 0 when the exchange completed, as a
   send callback does. */
static int exchange(cbk_response *res) {
    const canned *a;
    size_t pos, n, len;
    if (next_answer >= sizeof script / sizeof script[0]) return CBK_SEND_NOT_SENT;
    a = &script[next_answer++];
    printf("< %d\n", a->status);
    if (cbk_response_status(res, a->status)) return 0;
    if (a->retry_after &&
        cbk_response_header(res, "Retry-After", 11, a->retry_after, strlen(a->retry_after)))
        return 0;
    len = strlen(a->body);
    for (pos = 0; pos < len; pos += n) {
        n = len - pos < 5 ? len - pos : 5;
        if (cbk_response_body(res, a->body + pos, n)) break; /* the library has enough */
    }
    return 0;
}

/* ---- the application ---------------------------------------------------- */

static int print_token(void *user, const cbk_token *t) {
    char site[32];
    const char *s = "-";
    (void)user;
    if (t->meta &&
        cbk_json_get_string(t->meta, strlen(t->meta), "site", site, sizeof site) == CBK_OK)
        s = site;
    printf("  %s name=%s description=%s site=%s created=%lld\n", t->id, t->name ? t->name : "-",
           t->description ? t->description : "-", s, (long long)t->created_at);
    return 0; /* nonzero would stop the list (CBK_ERR_CANCELLED) */
}

int main(void) {
    static char work[CBK_WORK_MIN]; /* all the memory the library uses */
    cbk_client c;
    char cursor[CBK_CURSOR_MAX] = "";
    int page;

    printf("cbk_token %s, drop-in, offline\n", CBK_TOKEN_VERSION);
    /* No send callback: this program does the I/O itself. */
    if (cbk_client_init(&c, "sk-example", NULL, NULL, work, sizeof work, NULL) != CBK_OK) return 1;

    for (page = 1;; page++) {
        cbk_token_list_options o;
        const cbk_request *req;
        cbk_result r;
        unsigned attempt, delay_ms;
        char next[CBK_CURSOR_MAX];

        memset(&o, 0, sizeof o);
        o.cursor = cursor[0] ? cursor : NULL;
        for (attempt = 0;; attempt++) {
            int rc;
            r = cbk_token_list_prepare(&c, "user-42", &o, print_token, NULL, next, sizeof next,
                                       &req);
            if (r != CBK_OK) break; /* bad argument or work buffer: nothing to send */
            show_request(req);
            rc = exchange(cbk_client_response(&c));
            r = rc == 0 ? cbk_client_finish(&c) : cbk_client_abort(&c, rc);
            if (r == CBK_OK || !cbk_client_retry_delay(&c, attempt, &delay_ms)) break;
            /* An event loop would arm a timer here; this demo does not wait. */
            printf("  %s %d %s, retry in %u ms\n", cbk_result_str(r),
                   cbk_client_error(&c)->http_status, cbk_client_error(&c)->code, delay_ms);
        }
        if (r != CBK_OK) {
            fprintf(stderr, "list: %s: %s\n", cbk_result_str(r), cbk_client_error(&c)->message);
            return 1;
        }
        printf("  page %d done, next cursor \"%s\"\n", page, next);
        /* the paging rule of cbk_token_list_all: stop on "" or a repeat */
        if (!next[0] || strcmp(next, cursor) == 0) break;
        memcpy(cursor, next, sizeof cursor);
    }
    return 0;
}
