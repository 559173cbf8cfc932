/* fuzz_stream.c - the stream decoder (JSON Lines of {"type":"item","data":{...}}).
 *
 * Input: a 200 response body sent as application/jsonl.
 * Runs cbk_token_list_stream_prepare + the receiver + finish/abort, fed
 * whole, byte by byte and split at points drawn from the input, then with a
 * small guarded work buffer.
 * Checks:
 *   - the three chunkings give the same result, tokens and cbk_error;
 *   - a line oracle over the DOM (after an optional byte order mark): each
 *     '\n'-separated line blank or one JSON value; a line that is not an
 *     object, or whose last "type" is not the string "item", is skipped;
 *     an "item" line needs a well-formed "data" object (the last one wins;
 *     failures inside data count only when the line turns out to be an
 *     item). CBK_OK exactly when every line passes, with the same tokens;
 *     a line that fails the shape gives the same result after the same
 *     tokens; a line that is not one JSON value gives CBK_ERR_PARSE after
 *     exactly the tokens of the lines before it (nothing from that line);
 *   - a small work buffer: the same, or BUFFER_TOO_SMALL after a prefix,
 *     or, where a field was cut to fit (cbk_token.truncated), the same
 *     result;
 *   - fuzz_client.h's checks on every exchange. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_client.h"

typedef struct srun {
    fz_buf tr;
    size_t ntok, cancel_at;
    unsigned cut; /* cbk_token.truncated bits seen */
} srun;

static void put_token(fz_buf *b, const char *id, const char *name, const char *desc,
                      const char *meta, int64_t created, int64_t updated) {
    fz_put_cstr(b, 'i', id);
    fz_put_cstr(b, 'n', name);
    fz_put_cstr(b, 'd', desc);
    fz_put_cstr(b, 'm', meta);
    fz_put_i64(b, 'c', created);
    fz_put_i64(b, 'u', updated);
}

static int on_token(void *user, const cbk_token *t) {
    srun *u = (srun *)user;
    FZ_ASSERT(t != NULL && t->id != NULL);
    FZ_ASSERT(fz_utf8_valid((const unsigned char *)t->id, strlen(t->id)));
    if (t->name) FZ_ASSERT(fz_utf8_valid((const unsigned char *)t->name, strlen(t->name)));
    if (t->description)
        FZ_ASSERT(fz_utf8_valid((const unsigned char *)t->description, strlen(t->description)));
    if (t->meta)
        FZ_ASSERT_MSG(t->meta[0] == '{' && cbk_json_validate(t->meta, strlen(t->meta)) == CBK_OK,
                      "meta is not a JSON object: %s", t->meta);
    FZ_ASSERT(t->id_len >= strlen(t->id) && (!t->name || t->name_len >= strlen(t->name)));
    u->cut |= t->truncated;
    put_token(&u->tr, t->id, t->name, t->description, t->meta, t->created_at, t->updated_at);
    return ++u->ntok == u->cancel_at;
}

static cbk_result prep_stream(cbk_client *c, void *ctx, const cbk_request **req) {
    cbk_result r = cbk_token_list_stream_prepare(c, "user-1", NULL, on_token, ctx, req);
    if (r == CBK_OK) {
        size_t i;
        int accept = 0;
        for (i = 0; i < (*req)->header_count; i++)
            if (strcmp((*req)->headers[i].name, "Accept") == 0 &&
                strcmp((*req)->headers[i].value, "application/jsonl") == 0)
                accept = 1;
        FZ_ASSERT(accept);
    }
    return r;
}

/* ---- the oracle -------------------------------------------------------- */

/* The data object at i: CBK_OK and the token in tr, or the first failure. */
static cbk_result oracle_item(const fz_doc *d, int i, fz_buf *tr) {
    enum { ID = 1, CR = 2, UP = 4 };
    int64_t created = 0, updated = 0;
    unsigned seen = 0;
    int f, k;
    char *copy[4] = {NULL, NULL, NULL, NULL}; /* id, name, description, meta */
    cbk_result r = CBK_OK;
    for (f = d->nodes[i].child; f >= 0 && !r; f = d->nodes[f].next) {
        const fz_node *v = &d->nodes[f];
        int slot = -1;
        if (fz_key_is(d, f, "id")) {
            if (v->type != FZ_STR)
                r = CBK_ERR_PARSE;
            else
                slot = 0, seen |= ID;
        } else if (fz_key_is(d, f, "name") || fz_key_is(d, f, "description")) {
            int s = fz_key_is(d, f, "name") ? 1 : 2;
            if (v->type == FZ_NULL) {
                free(copy[s]);
                copy[s] = NULL;
            } else if (v->type != FZ_STR) {
                r = CBK_ERR_PARSE;
            } else {
                slot = s;
            }
        } else if (fz_key_is(d, f, "meta")) {
            if (v->type == FZ_NULL) {
                free(copy[3]);
                copy[3] = NULL;
            } else if (v->type != FZ_OBJ) {
                r = CBK_ERR_PARSE;
            } else {
                free(copy[3]);
                copy[3] = (char *)malloc(v->raw_len + 1);
                memcpy(copy[3], FZ_RAW(d, f), v->raw_len);
                copy[3][v->raw_len] = 0;
            }
        } else if (fz_key_is(d, f, "createdAt") || fz_key_is(d, f, "updatedAt")) {
            int cr = fz_key_is(d, f, "createdAt");
            if (v->type != FZ_NUM || !fz_int64(FZ_RAW(d, f), v->raw_len, cr ? &created : &updated))
                r = CBK_ERR_PARSE;
            else
                seen |= cr ? CR : UP;
        }
        if (slot >= 0) {
            free(copy[slot]);
            copy[slot] = (char *)malloc(v->str_len + 1);
            memcpy(copy[slot], FZ_STR(d, f), v->str_len);
            copy[slot][v->str_len] = 0;
        }
    }
    if (!r && seen != (ID | CR | UP)) r = CBK_ERR_PARSE;
    if (!r) put_token(tr, copy[0], copy[1], copy[2], copy[3], created, updated);
    for (k = 0; k < 4; k++) free(copy[k]);
    return r;
}

/* One line's object. CBK_OK (delivered or skipped) or the failure. */
static cbk_result oracle_line(const fz_doc *d, fz_buf *tr, size_t *nitems, size_t cancel_at) {
    int m, has_type = 0, has_data = 0, type_state = 0;
    cbk_result deferred = CBK_OK;
    fz_buf item = {0};
    cbk_result r = CBK_OK;
    if (d->nodes[d->root].type != FZ_OBJ) return CBK_OK; /* no type: skipped */
    for (m = d->nodes[d->root].child; m >= 0; m = d->nodes[m].next) {
        const fz_node *v = &d->nodes[m];
        if (fz_key_is(d, m, "type")) {
            has_type = 1;
            type_state = v->type == FZ_STR && fz_str_is(d, m, "item") ? 1 : 2;
        } else if (fz_key_is(d, m, "data")) {
            if (type_state == 2) continue; /* skipped */
            if (v->type == FZ_OBJ) {
                item.n = 0;
                deferred = oracle_item(d, m, &item);
                has_data = 1;
            } else if (!deferred) {
                deferred = CBK_ERR_PARSE;
            }
        }
    }
    if (!has_type)
        r = CBK_OK; /* skipped */
    else if (type_state == 1 && !has_data)
        r = CBK_ERR_PARSE;
    else if (type_state == 1 && deferred)
        r = deferred;
    else if (type_state == 1) {
        fz_put(tr, item.p, item.n);
        if (++*nitems == cancel_at) r = CBK_ERR_CANCELLED;
    }
    fz_free(&item);
    return r;
}

typedef struct sexp {
    int syntax_ok; /* every line up to the outcome parsed */
    cbk_result r;
    fz_buf tr;
    size_t nitems;
} sexp;

static int blank(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

static void oracle_stream(const uint8_t *body, size_t len, size_t cancel_at, sexp *e) {
    size_t pos = 0;
    memset(e, 0, sizeof *e);
    e->syntax_ok = 1;
    fz_strip_bom(&body, &len); /* a byte order mark may open any body */
    while (pos <= len) {
        const uint8_t *nl = (const uint8_t *)memchr(body + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - body) : len;
        if (!blank(body + pos, end - pos)) {
            fz_doc d;
            if (!fz_parse(&d, body + pos, end - pos, CBK_JSON_MAX_DEPTH)) {
                e->syntax_ok = 0;
                e->r = CBK_ERR_PARSE;
                fz_doc_free(&d);
                return;
            }
            e->r = oracle_line(&d, &e->tr, &e->nitems, cancel_at);
            fz_doc_free(&d);
            if (e->r) return;
        }
        if (!nl) break;
        pos = end + 1;
    }
}

/* ---- the entry point --------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h;
    fz_exch x;
    fz_outcome ow, ob, os, osm;
    srun uw, ub, us, usm;
    sexp e;
    size_t cancel_at;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    cancel_at = (h & 7) == 0 ? 1 + (size_t)(h >> 3) % 3 : 0;
    memset(&x, 0, sizeof x);
    x.status = 200;
    x.body = data;
    x.len = size;
    x.work_size = FZ_WORK_BIG;
    memset(&uw, 0, sizeof uw);
    uw.cancel_at = cancel_at;
    ub = us = usm = uw;

    FZ_THREE_WAYS(&x, prep_stream, h, &uw, &ub, &us, &ow, &ob, &os, &uw.tr, &ub.tr, &us.tr);

    oracle_stream(data, size, cancel_at, &e);
    if (ow.r == CBK_OK)
        FZ_ASSERT_MSG(e.r == CBK_OK, "CBK_OK for a stream the oracle refuses (%s)",
                      cbk_result_str(e.r));
    if (e.syntax_ok) {
        if (ow.r != e.r || !fz_buf_eq(&uw.tr, &e.tr)) {
            fz_print_error("library", ow.r, &ow.err);
            FZ_ASSERT_MSG(0, "library %s, oracle %s; tokens %s (%zu items by the oracle)",
                          cbk_result_str(ow.r), cbk_result_str(e.r),
                          fz_buf_eq(&uw.tr, &e.tr) ? "equal" : "differ", e.nitems);
        }
    } else {
        FZ_ASSERT_MSG(ow.r == CBK_ERR_PARSE || ow.r == CBK_ERR_CANCELLED,
                      "%s for a stream with a syntax error", cbk_result_str(ow.r));
        FZ_ASSERT_MSG(fz_buf_eq(&e.tr, &uw.tr),
                      "not exactly the tokens of the lines before a syntax error");
    }
    fz_free(&e.tr);

    x.work_size = 160 + (size_t)(h >> 24) % 1536;
    x.mode = (h >> 23) & 1 ? FZ_SPLIT : FZ_BYTES;
    x.seed = h >> 5;
    fz_exchange(&x, prep_stream, &usm, &osm);
    if (osm.prepared) {
        if (osm.r == CBK_ERR_BUFFER_TOO_SMALL && !usm.cut)
            FZ_ASSERT_MSG(fz_buf_is_prefix(&usm.tr, &uw.tr),
                          "tokens before BUFFER_TOO_SMALL are not a prefix");
        else if (usm.cut)
            FZ_ASSERT_MSG(osm.r == ow.r || osm.r == CBK_ERR_BUFFER_TOO_SMALL,
                          "a small work buffer that cut a field: %s, whole %s",
                          cbk_result_str(osm.r), cbk_result_str(ow.r));
        else
            FZ_SAME_OUTCOME(&ow, &osm, &uw.tr, &usm.tr, "a small work buffer differs");
    } else {
        FZ_ASSERT(osm.r == CBK_ERR_BUFFER_TOO_SMALL);
    }
    fz_free(&uw.tr);
    fz_free(&ub.tr);
    fz_free(&us.tr);
    fz_free(&usm.tr);
    return 0;
}
