/* fuzz_list.c - the list decoder ({"items":[...],"cursor":"..."}).
 *
 * Input: a 200 response body.
 * Runs cbk_token_list_prepare + the receiver + cbk_client_finish with a
 * 64 KiB work buffer fed whole, byte by byte and split at points drawn from
 * the input (stopping with finish or abort), then with a small guarded work
 * buffer, then cbk_token_list_all through a send callback.
 * Checks:
 *   - the three chunkings give the same result, tokens, cursor and cbk_error;
 *   - an oracle over the DOM (fuzz_common.h) decides the outcome: CBK_OK
 *     exactly when the body (after an optional BOM) is valid JSON of the
 *     documented shape; then the same tokens and cursor; on a shape error
 *     the same result after the same tokens; on a syntax error never CBK_OK;
 *   - every token: id not NULL, strings valid UTF-8, meta a valid JSON object;
 *   - a small work buffer: the same (or, where a field was cut to fit and
 *     flagged in cbk_token.truncated, the same result), or BUFFER_TOO_SMALL
 *     after a prefix of
 *     the tokens, never a write past its end;
 *   - cbk_token_list_all stops (an identical page repeats the cursor), and
 *     its second request carries the cursor form-encoded in a clean URL;
 *   - fuzz_client.h's checks on every exchange (error fields, the secret,
 *     the Bearer wipe, guards). */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_client.h"

#define CURSOR_SIZE 96

typedef struct lrun {
    fz_buf tr;
    size_t ntok, cancel_at;
    char cursor[CURSOR_SIZE + 8];
    unsigned cut; /* cbk_token.truncated bits seen */
} lrun;

static void put_token(fz_buf *b, const char *id, const char *name, const char *desc,
                      const char *meta, int64_t created, int64_t updated) {
    fz_put_cstr(b, 'i', id);
    fz_put_cstr(b, 'n', name);
    fz_put_cstr(b, 'd', desc);
    fz_put_cstr(b, 'm', meta);
    fz_put_i64(b, 'c', created);
    fz_put_i64(b, 'u', updated);
}

static void check_cstr(const char *s) {
    if (s) FZ_ASSERT_MSG(fz_utf8_valid((const unsigned char *)s, strlen(s)), "not UTF-8");
}

static int on_token(void *user, const cbk_token *t) {
    lrun *u = (lrun *)user;
    FZ_ASSERT(t != NULL && t->id != NULL);
    FZ_ASSERT(t->id_len >= strlen(t->id) && (!t->name || t->name_len >= strlen(t->name)));
    FZ_ASSERT(!(t->truncated & CBK_FIELD_ID));
    if (t->truncated & CBK_FIELD_META) FZ_ASSERT(t->meta == NULL);
    u->cut |= t->truncated;
    check_cstr(t->id);
    check_cstr(t->name);
    check_cstr(t->description);
    if (t->meta) {
        FZ_ASSERT_MSG(t->meta[0] == '{' && cbk_json_validate(t->meta, strlen(t->meta)) == CBK_OK,
                      "meta is not a JSON object: %s", t->meta);
    }
    put_token(&u->tr, t->id, t->name, t->description, t->meta, t->created_at, t->updated_at);
    return ++u->ntok == u->cancel_at;
}

static cbk_result prep_list(cbk_client *c, void *ctx, const cbk_request **req) {
    lrun *u = (lrun *)ctx;
    memset(u->cursor, 0x77, sizeof u->cursor);
    return cbk_token_list_prepare(c, "user-1", NULL, on_token, u, u->cursor, CURSOR_SIZE, req);
}

/* ---- the oracle -------------------------------------------------------- */

typedef struct lexp {
    int syntax_ok;
    cbk_result r;
    fz_buf tr;
    size_t nitems;
    const char *cursor; /* in the doc's arena, or NULL */
    size_t cursor_len;
} lexp;

/* The item object at i: 1 and the token in tr when it is well formed. */
static cbk_result oracle_item(const fz_doc *d, int i, fz_buf *tr) {
    enum { ID = 1, CR = 2, UP = 4 };
    const char *id = NULL, *name = NULL, *desc = NULL;
    char *meta = NULL;
    int64_t created = 0, updated = 0;
    unsigned seen = 0;
    int f;
    char *copy[4] = {NULL, NULL, NULL, NULL}; /* NUL-terminated copies */
    cbk_result r = CBK_OK;
    if (d->nodes[i].type != FZ_OBJ) return CBK_ERR_PARSE;
    for (f = d->nodes[i].child; f >= 0 && !r; f = d->nodes[f].next) {
        const fz_node *v = &d->nodes[f];
        int slot = -1;
        if (fz_key_is(d, f, "id")) {
            if (v->type != FZ_STR) r = CBK_ERR_PARSE; /* U+0000 is delivered (nul) */
            slot = 0;
            seen |= ID;
        } else if (fz_key_is(d, f, "name") || fz_key_is(d, f, "description")) {
            slot = fz_key_is(d, f, "name") ? 1 : 2;
            if (v->type == FZ_NULL) {
                free(copy[slot]);
                copy[slot] = NULL;
                continue;
            }
            if (v->type != FZ_STR) r = CBK_ERR_PARSE;
        } else if (fz_key_is(d, f, "meta")) {
            free(copy[3]);
            copy[3] = NULL;
            if (v->type == FZ_NULL) continue;
            if (v->type != FZ_OBJ) {
                r = CBK_ERR_PARSE;
                continue;
            }
            copy[3] = (char *)malloc(v->raw_len + 1);
            memcpy(copy[3], FZ_RAW(d, f), v->raw_len);
            copy[3][v->raw_len] = 0;
        } else if (fz_key_is(d, f, "createdAt") || fz_key_is(d, f, "updatedAt")) {
            int64_t *dst = fz_key_is(d, f, "createdAt") ? &created : &updated;
            if (v->type != FZ_NUM || !fz_int64(FZ_RAW(d, f), v->raw_len, dst))
                r = CBK_ERR_PARSE;
            else
                seen |= fz_key_is(d, f, "createdAt") ? CR : UP;
        }
        if (slot >= 0 && !r) {
            free(copy[slot]);
            copy[slot] = (char *)malloc(v->str_len + 1);
            memcpy(copy[slot], FZ_STR(d, f), v->str_len);
            copy[slot][v->str_len] = 0;
        }
    }
    if (!r && (seen & (ID | CR | UP)) != (ID | CR | UP)) r = CBK_ERR_PARSE;
    if (!r) {
        id = copy[0];
        name = copy[1];
        desc = copy[2];
        meta = copy[3];
        put_token(tr, id, name, desc, meta, created, updated);
    }
    for (f = 0; f < 4; f++) free(copy[f]);
    return r;
}

static void oracle_list(const uint8_t *body, size_t len, size_t cursor_size, size_t cancel_at,
                        fz_doc *d, lexp *e) {
    int m, have_items = 0;
    memset(e, 0, sizeof *e);
    fz_strip_bom(&body, &len);
    e->syntax_ok = fz_parse(d, body, len, CBK_JSON_MAX_DEPTH);
    if (!e->syntax_ok || d->nodes[d->root].type != FZ_OBJ) {
        e->r = CBK_ERR_PARSE;
        return;
    }
    for (m = d->nodes[d->root].child; m >= 0; m = d->nodes[m].next) {
        const fz_node *v = &d->nodes[m];
        if (fz_key_is(d, m, "items")) {
            int el;
            if (v->type != FZ_ARR) {
                e->r = CBK_ERR_PARSE;
                return;
            }
            have_items = 1;
            for (el = v->child; el >= 0; el = d->nodes[el].next) {
                e->r = oracle_item(d, el, &e->tr);
                if (e->r) return;
                if (++e->nitems == cancel_at) {
                    e->r = CBK_ERR_CANCELLED;
                    return;
                }
            }
        } else if (fz_key_is(d, m, "cursor")) {
            if (v->type == FZ_NULL) {
                e->cursor = NULL;
                continue;
            }
            if (v->type != FZ_STR) {
                e->r = CBK_ERR_PARSE;
                return;
            }
            if (v->str_len >= cursor_size) {
                e->r = CBK_ERR_BUFFER_TOO_SMALL;
                return;
            }
            if (fz_str_has_nul(d, m)) {
                e->r = CBK_ERR_PARSE;
                return;
            }
            e->cursor = FZ_STR(d, m);
            e->cursor_len = v->str_len;
        }
    }
    if (!have_items) e->r = CBK_ERR_PARSE;
}

/* ---- cbk_token_list_all through a send callback ------------------------ */

typedef struct sendctx {
    const uint8_t *body;
    size_t len;
    uint64_t seed;
    int calls;
    char url[2][4096];
} sendctx;

static int send_page(void *ctx, const cbk_request *req, cbk_response *res) {
    sendctx *s = (sendctx *)ctx;
    size_t i;
    FZ_ASSERT_MSG(s->calls < 2, "cbk_token_list_all asked for a third identical page");
    FZ_ASSERT(strcmp(req->method, "GET") == 0 && req->body == NULL);
    FZ_ASSERT_MSG(fz_url_ok(req->url), "URL with a byte outside printable ASCII: %s", req->url);
    for (i = 0; i < req->header_count; i++)
        FZ_ASSERT(!strchr(req->headers[i].value, '\r') && !strchr(req->headers[i].value, '\n'));
    snprintf(s->url[s->calls], sizeof s->url[0], "%s", req->url);
    s->calls++;
    if (cbk_response_status(res, 200)) return 99;
    return fz_feed(s->body, s->len, FZ_SPLIT, s->seed + (uint64_t)s->calls, fz_sink_body, res) ? 99
                                                                                               : 0;
}

/* the cursor as URLSearchParams writes it */
static void form_encode(const char *s, size_t n, fz_buf *out) {
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char t[4];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '*' || ch == '-' || ch == '.' || ch == '_')
            fz_put(out, &ch, 1);
        else if (ch == ' ')
            fz_put(out, "+", 1);
        else {
            snprintf(t, sizeof t, "%%%02X", ch);
            fz_put(out, t, 3);
        }
    }
}

static void check_list_all(const uint8_t *body, size_t len, uint64_t h) {
    static char work[FZ_WORK_BIG];
    cbk_client c;
    sendctx s;
    lrun u;
    lexp e;
    fz_doc d;
    cbk_result r;
    memset(&s, 0, sizeof s);
    memset(&u, 0, sizeof u);
    s.body = body;
    s.len = len;
    s.seed = h;
    FZ_ASSERT(cbk_client_init(&c, FZ_SECRET, send_page, &s, work, sizeof work, NULL) == CBK_OK);
    r = cbk_token_list_all(&c, "user-1", NULL, on_token, &u);
    fz_check_error(cbk_client_error(&c), FZ_SECRET);
    oracle_list(body, len, CBK_CURSOR_MAX, 0, &d, &e);
    if (e.r == CBK_OK) {
        int more = e.nitems > 0 && e.cursor && e.cursor_len > 0;
        FZ_ASSERT_MSG(r == CBK_OK, "list_all %s on a good page", cbk_result_str(r));
        FZ_ASSERT_MSG(s.calls == (more ? 2 : 1), "list_all made %d requests", s.calls);
        if (more) {
            fz_buf q = {0}, twice = {0};
            fz_put(&q, "?cursor=", 8);
            form_encode(e.cursor, e.cursor_len, &q);
            FZ_ASSERT_MSG(strstr(s.url[1], (const char *)q.p) != NULL,
                          "the second page's URL lacks the cursor: %s", s.url[1]);
            fz_put(&twice, e.tr.p, e.tr.n);
            fz_put(&twice, e.tr.p, e.tr.n);
            FZ_ASSERT(fz_buf_eq(&u.tr, &twice));
            fz_free(&q);
            fz_free(&twice);
        } else {
            FZ_ASSERT(fz_buf_eq(&u.tr, &e.tr));
        }
    } else if (e.syntax_ok) {
        FZ_ASSERT_MSG(r == e.r, "list_all %s, expected %s", cbk_result_str(r), cbk_result_str(e.r));
        FZ_ASSERT(s.calls == 1 && fz_buf_eq(&u.tr, &e.tr));
    } else {
        FZ_ASSERT(r != CBK_OK && s.calls == 1);
    }
    fz_free(&u.tr);
    fz_free(&e.tr);
    fz_doc_free(&d);
}

/* After a transport failure: a GET may be retried unless a token reached
   the callback. */
static void post_cut(void *ctx, const cbk_client *c, cbk_result r, const char *work,
                     size_t work_size) {
    lrun *u = (lrun *)ctx;
    unsigned ms = 0;
    (void)work;
    (void)work_size;
    if (r == CBK_ERR_TRANSPORT)
        FZ_ASSERT_MSG(cbk_client_retry_delay(c, 0, &ms) == (u->ntok == 0),
                      "retry after a transport failure with %zu tokens delivered", u->ntok);
    if (u->ntok) FZ_ASSERT(cbk_client_retry_delay(c, 0, &ms) == 0);
    FZ_ASSERT(u->cursor[0] == 0); /* no partial output */
}

/* ---- the entry point --------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h;
    fz_exch x;
    fz_outcome ow, ob, os, osm;
    lrun uw, ub, us, usm;
    lexp e;
    fz_doc d;
    size_t cancel_at;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    cancel_at = (h & 7) == 0 ? 1 + (size_t)(h >> 3) % 3 : 0;

    memset(&x, 0, sizeof x);
    x.status = 200 + (int)((h >> 12) % 4) * (int)((h >> 14) & 1); /* 200..203 */
    x.body = data;
    x.len = size;
    x.work_size = FZ_WORK_BIG;

    memset(&uw, 0, sizeof uw);
    uw.cancel_at = cancel_at;
    ub = us = usm = uw;

    FZ_THREE_WAYS(&x, prep_list, h, &uw, &ub, &us, &ow, &ob, &os, &uw.tr, &ub.tr, &us.tr);
    if (ow.r == CBK_OK) {
        FZ_ASSERT(memchr(uw.cursor, 0, CURSOR_SIZE) != NULL);
        FZ_ASSERT(strcmp(uw.cursor, ub.cursor) == 0 && strcmp(uw.cursor, us.cursor) == 0);
    }

    /* the oracle */
    oracle_list(data, size, CURSOR_SIZE, cancel_at, &d, &e);
    if (ow.r == CBK_OK)
        FZ_ASSERT_MSG(e.r == CBK_OK, "CBK_OK for a body the oracle refuses (%s, syntax %s)",
                      cbk_result_str(e.r), e.syntax_ok ? "ok" : "bad");
    if (e.syntax_ok) {
        if (ow.r != e.r || !fz_buf_eq(&uw.tr, &e.tr)) {
            fz_print_error("library", ow.r, &ow.err);
            FZ_ASSERT_MSG(0, "library %s, oracle %s; tokens %s", cbk_result_str(ow.r),
                          cbk_result_str(e.r), fz_buf_eq(&uw.tr, &e.tr) ? "equal" : "differ");
        }
        if (e.r == CBK_OK) {
            FZ_ASSERT_MSG(strlen(uw.cursor) == e.cursor_len &&
                              memcmp(uw.cursor, e.cursor ? e.cursor : "", e.cursor_len) == 0,
                          "cursor \"%s\" differs from the oracle's", uw.cursor);
            const uint8_t *b = data;
            size_t n = size;
            fz_strip_bom(&b, &n);
            FZ_ASSERT_MSG(cbk_json_validate((const char *)b, n) == CBK_OK,
                          "CBK_OK but the body is not valid JSON");
        }
    } else {
        FZ_ASSERT_MSG(ow.r != CBK_OK, "CBK_OK for a body that is not valid JSON");
    }
    fz_free(&e.tr);
    fz_doc_free(&d);

    /* a small guarded work buffer */
    x.work_size = 160 + (size_t)(h >> 24) % 1536;
    x.mode = (h >> 23) & 1 ? FZ_SPLIT : FZ_BYTES;
    x.seed = h >> 5;
    fz_exchange(&x, prep_list, &usm, &osm);
    if (osm.prepared) {
        if (osm.r == CBK_ERR_BUFFER_TOO_SMALL && !usm.cut)
            FZ_ASSERT_MSG(fz_buf_is_prefix(&usm.tr, &uw.tr),
                          "tokens before BUFFER_TOO_SMALL are not a prefix");
        else if (usm.cut) /* a field cut to fit: the outcome stands */
            FZ_ASSERT_MSG(osm.r == ow.r || osm.r == CBK_ERR_BUFFER_TOO_SMALL,
                          "a small work buffer that cut a field: %s, whole %s",
                          cbk_result_str(osm.r), cbk_result_str(ow.r));
        else
            FZ_SAME_OUTCOME(&ow, &osm, &uw.tr, &usm.tr, "a small work buffer differs");
    } else {
        FZ_ASSERT(osm.r == CBK_ERR_BUFFER_TOO_SMALL);
    }

    /* the transport fails part way through the body */
    {
        lrun uc;
        fz_outcome oc;
        memset(&uc, 0, sizeof uc);
        uc.cancel_at = cancel_at; /* as in the run it is compared with */
        x.work_size = FZ_WORK_BIG;
        x.mode = FZ_SPLIT;
        x.seed = h >> 9;
        x.cut_set = 1;
        x.cut = size ? (size_t)(h >> 13) % size : 0;
        x.cut_code = (h >> 17) & 1 ? CBK_SEND_NOT_SENT : 56;
        x.post = post_cut;
        fz_exchange(&x, prep_list, &uc, &oc);
        FZ_ASSERT_MSG(fz_buf_is_prefix(&uc.tr, &uw.tr),
                      "tokens before a transport failure are not a prefix");
        x.cut_set = 0;
        x.post = NULL;
        fz_free(&uc.tr);
    }

    if (!cancel_at) check_list_all(data, size, h);
    fz_free(&uw.tr);
    fz_free(&ub.tr);
    fz_free(&us.tr);
    fz_free(&usm.tr);
    return 0;
}
