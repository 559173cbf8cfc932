/* A throwaway consumer of an installed (or add_subdirectory'd) cbk_token:
   impl.c compiles the library, this file only includes the header. It lists
   one page through a fake send callback that answers with canned bytes, and
   exits 0 only when the tokens, the cursor and the request came out right.
   No network. */
#include <stdio.h>
#include <string.h>

#include "cbk_token.h"

#if CBK_TOKEN_VERSION_MAJOR != 0 || CBK_TOKEN_VERSION_MINOR < 1
#error "this consumer was written for cbk_token 0.1 or a later 0.x"
#endif

#define STR2(x) #x
#define STR(x)  STR2(x)
#define VERSION_FROM_PARTS                                                                         \
    STR(CBK_TOKEN_VERSION_MAJOR) "." STR(CBK_TOKEN_VERSION_MINOR) "." STR(CBK_TOKEN_VERSION_PATCH)

static const char canned[] = "{\"items\":["
                             "{\"id\":\"tok_1\",\"name\":\"first\",\"createdAt\":1700000000000,"
                             "\"updatedAt\":1700000000001},"
                             "{\"id\":\"tok_2\",\"meta\":{\"k\":\"v\"},\"createdAt\":1700000000002,"
                             "\"updatedAt\":1700000000003}"
                             "],\"cursor\":\"tok_2\"}";

typedef struct fake {
    char url[256];
    int calls;
} fake;

/* Feeds the canned answer in 7-byte pieces, as a network would. */
static int fake_send(void *ctx, const cbk_request *req, cbk_response *res) {
    fake *f = (fake *)ctx;
    size_t pos, n, len = sizeof canned - 1;
    f->calls++;
    snprintf(f->url, sizeof f->url, "%s", req->url);
    if (cbk_response_status(res, 200)) return 1;
    if (cbk_response_header(res, "Content-Type", 12, "application/json", 16)) return 1;
    for (pos = 0; pos < len; pos += n) {
        n = len - pos < 7 ? len - pos : 7;
        if (cbk_response_body(res, canned + pos, n)) return 1;
    }
    return 0;
}

static int print_token(void *user, const cbk_token *t) {
    int *count = (int *)user;
    printf("%s\t%s\t%lld\n", t->id, t->name ? t->name : "-", (long long)t->created_at);
    ++*count;
    return 0;
}

int main(void) {
    static char work[CBK_WORK_MIN];
    char cursor[64];
    cbk_client c;
    fake f;
    int count = 0;
    cbk_result r;

    memset(&f, 0, sizeof f);
    printf("cbk_token %s\n", CBK_TOKEN_VERSION);
    if (strcmp(CBK_TOKEN_VERSION, VERSION_FROM_PARTS) != 0) {
        fprintf(stderr, "CBK_TOKEN_VERSION %s != %s\n", CBK_TOKEN_VERSION, VERSION_FROM_PARTS);
        return 1;
    }
    r = cbk_client_init(&c, "sk-test", fake_send, &f, work, sizeof work, NULL);
    if (r == CBK_OK)
        r = cbk_token_list(&c, "user-1", NULL, print_token, &count, cursor, sizeof cursor);
    if (r != CBK_OK) {
        fprintf(stderr, "list: %s: %s\n", cbk_result_str(r), cbk_client_error(&c)->message);
        return 1;
    }
    printf("next cursor: %s\n", cursor);
    if (count != 2 || strcmp(cursor, "tok_2") != 0 || f.calls != 1 ||
        strcmp(f.url, "https://api.chatbotkit.com/v1/partner/user/user-1/token/list") != 0) {
        fprintf(stderr, "unexpected: %d tokens, cursor %s, %d calls, url %s\n", count, cursor,
                f.calls, f.url);
        return 1;
    }
    printf("consumer: OK\n");
    return 0;
}
