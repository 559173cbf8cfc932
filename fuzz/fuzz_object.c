/* fuzz_object.c - the create, update and delete decoders.
 *
 * Input: a 200 response body, decoded by each of the three operations.
 * Each runs through *_prepare + the receiver + finish/abort, fed whole, byte
 * by byte and split at points drawn from the input, then with a small
 * guarded work buffer.
 * Checks:
 *   - the three chunkings give the same result, outputs and cbk_error;
 *   - an oracle over the DOM: CBK_OK exactly when the body (after an
 *     optional BOM) is a JSON object with a string "id" (create: also a
 *     string "token" and a numeric "createdAt" that fits int64), the last of
 *     duplicate keys winning; then the same outputs; oversize id/token give
 *     BUFFER_TOO_SMALL, never a cut; a syntax error never gives CBK_OK;
 *   - create: on failure the cbk_token_created is all zero; on success the
 *     new secret is nowhere in the work buffer afterwards;
 *   - update/delete: id_out is "" on failure;
 *   - fuzz_client.h's checks on every exchange. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_client.h"

/* Enough that BUFFER_TOO_SMALL cannot depend on chunking: these decoders
   join one string at a time (at most the input) and keep a few bytes per
   key; smaller than FZ_WORK_BIG because the library wipes the region after
   every failure, and that wipe is most of the run time. */
#define WORK_SIZE 20480

enum { OP_CREATE, OP_UPDATE, OP_DELETE };

typedef struct orun {
    int op;
    cbk_token_created created;
    char id_out[CBK_ID_MAX + 8];
    fz_buf tr; /* the outputs */
} orun;

static cbk_result prep(cbk_client *c, void *ctx, const cbk_request **req) {
    orun *u = (orun *)ctx;
    memset(&u->created, 0x77, sizeof u->created);
    memset(u->id_out, 0x77, sizeof u->id_out);
    switch (u->op) {
    case OP_CREATE: return cbk_token_create_prepare(c, "user-1", NULL, &u->created, req);
    case OP_UPDATE: return cbk_token_update_prepare(c, "user-1", "tok-1", NULL, u->id_out, req);
    default: return cbk_token_delete_prepare(c, "user-1", "tok-1", u->id_out, req);
    }
}

static void post(void *ctx, const cbk_client *c, cbk_result r, const char *work, size_t work_size) {
    orun *u = (orun *)ctx;
    (void)c;
    if (u->op == OP_CREATE) {
        if (r == CBK_OK) {
            size_t n;
            FZ_ASSERT(memchr(u->created.id, 0, sizeof u->created.id) != NULL);
            FZ_ASSERT(memchr(u->created.token, 0, sizeof u->created.token) != NULL);
            n = strlen(u->created.token);
            /* a secret of 8 bytes or more cannot turn up by chance in the
               few request bytes that stay (URL, "{}") */
            if (n >= 8)
                FZ_ASSERT_MSG(!fz_contains(work, work_size, u->created.token, n),
                              "the new token's secret is left in the work buffer");
            fz_put_cstr(&u->tr, 'i', u->created.id);
            fz_put_cstr(&u->tr, 't', u->created.token);
            fz_put_i64(&u->tr, 'c', u->created.created_at);
        } else {
            size_t i;
            const unsigned char *p = (const unsigned char *)&u->created;
            for (i = 0; i < sizeof u->created; i++)
                FZ_ASSERT_MSG(p[i] == 0, "cbk_token_created is not wiped after a failure");
        }
    } else {
        FZ_ASSERT(memchr(u->id_out, 0, CBK_ID_MAX) != NULL);
        if (r == CBK_OK)
            fz_put_cstr(&u->tr, 'i', u->id_out);
        else
            FZ_ASSERT_MSG(u->id_out[0] == 0, "id_out is not \"\" after a failure");
    }
}

/* ---- the oracle -------------------------------------------------------- */

typedef struct oexp {
    int syntax_ok;
    cbk_result r;
    fz_buf tr;
} oexp;

static void oracle_object(const uint8_t *body, size_t len, int op, oexp *e) {
    enum { ID = 1, TOKEN = 2, CREATED = 4 };
    fz_doc d;
    int m;
    unsigned flags = 0;
    int id = -1, token = -1;
    int64_t created = 0;
    memset(e, 0, sizeof *e);
    fz_strip_bom(&body, &len);
    e->syntax_ok = fz_parse(&d, body, len, CBK_JSON_MAX_DEPTH);
    if (!e->syntax_ok || d.nodes[d.root].type != FZ_OBJ) {
        e->r = CBK_ERR_PARSE;
        goto out;
    }
    for (m = d.nodes[d.root].child; m >= 0; m = d.nodes[m].next) {
        const fz_node *v = &d.nodes[m];
        if (fz_key_is(&d, m, "id")) {
            if (v->type != FZ_STR) {
                e->r = CBK_ERR_PARSE;
            } else if (op == OP_CREATE) {
                /* copied out: NUL check, then the size */
                if (fz_str_has_nul(&d, m))
                    e->r = CBK_ERR_PARSE;
                else if (v->str_len >= CBK_ID_MAX)
                    e->r = CBK_ERR_BUFFER_TOO_SMALL;
            } else {
                /* kept: the size, then the NUL check */
                if (v->str_len >= CBK_ID_MAX)
                    e->r = CBK_ERR_BUFFER_TOO_SMALL;
                else if (fz_str_has_nul(&d, m))
                    e->r = CBK_ERR_PARSE;
            }
            if (e->r) goto out;
            id = m;
            flags |= ID;
        } else if (op == OP_CREATE && fz_key_is(&d, m, "token")) {
            if (v->type != FZ_STR || fz_str_has_nul(&d, m))
                e->r = CBK_ERR_PARSE;
            else if (v->str_len >= CBK_SECRET_MAX)
                e->r = CBK_ERR_BUFFER_TOO_SMALL;
            if (e->r) goto out;
            token = m;
            flags |= TOKEN;
        } else if (op == OP_CREATE && fz_key_is(&d, m, "createdAt")) {
            if (v->type != FZ_NUM || !fz_int64(FZ_RAW(&d, m), v->raw_len, &created)) {
                e->r = CBK_ERR_PARSE;
                goto out;
            }
            flags |= CREATED;
        }
    }
    if (flags != (op == OP_CREATE ? (unsigned)(ID | TOKEN | CREATED) : (unsigned)ID)) {
        e->r = CBK_ERR_PARSE;
        goto out;
    }
    fz_put_field(&e->tr, 'i', FZ_STR(&d, id), d.nodes[id].str_len);
    if (op == OP_CREATE) {
        fz_put_field(&e->tr, 't', FZ_STR(&d, token), d.nodes[token].str_len);
        fz_put_i64(&e->tr, 'c', created);
    }
out:
    fz_doc_free(&d);
}

/* ---- the entry point --------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h;
    int op;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    for (op = OP_CREATE; op <= OP_DELETE; op++) {
        fz_exch x;
        fz_outcome ow, ob, os, osm;
        orun uw, ub, us, usm;
        oexp e;
        memset(&x, 0, sizeof x);
        x.status = 200 + (int)((h >> (10 + op)) & 1); /* 200 or 201 */
        x.body = data;
        x.len = size;
        x.work_size = WORK_SIZE;
        x.post = post;
        memset(&uw, 0, sizeof uw);
        uw.op = op;
        ub = us = usm = uw;

        FZ_THREE_WAYS(&x, prep, h + (uint64_t)op, &uw, &ub, &us, &ow, &ob, &os, &uw.tr, &ub.tr,
                      &us.tr);

        oracle_object(data, size, op, &e);
        if (ow.r == CBK_OK)
            FZ_ASSERT_MSG(e.r == CBK_OK, "op %d: CBK_OK for a body the oracle refuses (%s)", op,
                          cbk_result_str(e.r));
        if (e.syntax_ok) {
            if (ow.r != e.r || !fz_buf_eq(&uw.tr, &e.tr)) {
                fz_print_error("library", ow.r, &ow.err);
                FZ_ASSERT_MSG(0, "op %d: library %s, oracle %s; outputs %s", op,
                              cbk_result_str(ow.r), cbk_result_str(e.r),
                              fz_buf_eq(&uw.tr, &e.tr) ? "equal" : "differ");
            }
        } else {
            FZ_ASSERT_MSG(ow.r != CBK_OK, "op %d: CBK_OK for a body that is not valid JSON", op);
        }
        fz_free(&e.tr);

        x.work_size = 160 + (size_t)(h >> (24 + op)) % 1024;
        x.mode = (h >> 23) & 1 ? FZ_SPLIT : FZ_BYTES;
        x.seed = h >> 5;
        fz_exchange(&x, prep, &usm, &osm);
        if (osm.prepared) {
            if (osm.r != CBK_ERR_BUFFER_TOO_SMALL)
                FZ_SAME_OUTCOME(&ow, &osm, &uw.tr, &usm.tr, "a small work buffer differs");
        } else {
            FZ_ASSERT(osm.r == CBK_ERR_BUFFER_TOO_SMALL);
        }
        fz_free(&uw.tr);
        fz_free(&ub.tr);
        fz_free(&us.tr);
        fz_free(&usm.tr);
    }
    return 0;
}
