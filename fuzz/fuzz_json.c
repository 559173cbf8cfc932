/* fuzz_json.c - cbk_json_validate and the push tokenizer.
 *
 * Input: any bytes, taken as one JSON text.
 * Checks:
 *   - cbk_json_validate agrees with the independent oracle (fuzz_common.h);
 *   - the tokenizer fed whole, byte by byte and split at points drawn from
 *     the input gives the same result, the same token transcript and the
 *     same failure offset, and, when the text is valid, exactly the tokens
 *     the oracle's DOM says (decoded strings, number text, depths);
 *   - a small buffer (guarded) gives the same tokens or
 *     CBK_ERR_BUFFER_TOO_SMALL after a prefix of them, and never writes
 *     past its end; with CBK_JSON_TRUNCATE every text is a prefix of the
 *     full one and flagged when cut;
 *   - CBK_JSON_LINES agrees with the oracle applied line by line;
 *   - after a failure, feed and finish keep returning the same result. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_common.h"

/* ---- recording -------------------------------------------------------- */

typedef struct tok {
    int type;
    unsigned depth;
    int truncated;
    size_t off, len; /* text in the owner's byte store */
} tok;

typedef struct rec {
    fz_buf tr;    /* transcript */
    fz_buf store; /* token texts, for the per-token list */
    tok *toks;
    size_t ntoks, cap;
    int keep_list;
} rec;

static void rec_token(rec *r, const cbk_json_token *t) {
    int has_text = t->type == CBK_JSON_KEY || t->type == CBK_JSON_STRING ||
                   t->type == CBK_JSON_NUMBER || t->type == CBK_JSON_RAW;
    fz_put_i64(&r->tr, 'T', t->type);
    fz_put_i64(&r->tr, 'D', t->depth);
    if (has_text) {
        FZ_ASSERT(t->text != NULL || t->len == 0);
        fz_put_field(&r->tr, 'X', t->text ? t->text : "", t->len);
    }
    if (r->keep_list) {
        tok *k;
        if (r->ntoks == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->toks = (tok *)realloc(r->toks, r->cap * sizeof *r->toks);
            FZ_ASSERT(r->toks != NULL);
        }
        k = &r->toks[r->ntoks++];
        k->type = (int)t->type;
        k->depth = t->depth;
        k->truncated = t->truncated;
        k->off = r->store.n;
        k->len = has_text ? t->len : 0;
        if (has_text) fz_put(&r->store, t->text, t->len);
    }
}

static void rec_free(rec *r) {
    fz_free(&r->tr);
    fz_free(&r->store);
    free(r->toks);
    memset(r, 0, sizeof *r);
}

static int on_tok(void *user, cbk_json *j, const cbk_json_token *t) {
    rec *r = (rec *)user;
    (void)j;
    FZ_ASSERT(t->type >= CBK_JSON_OBJECT_BEGIN && t->type <= CBK_JSON_RAW);
    FZ_ASSERT(t->depth <= CBK_JSON_MAX_DEPTH);
    if (t->type == CBK_JSON_KEY || t->type == CBK_JSON_STRING)
        FZ_ASSERT_MSG(t->truncated || fz_utf8_valid((const unsigned char *)t->text, t->len),
                      "a decoded string is not valid UTF-8");
    rec_token(r, t);
    return 0;
}

/* ---- the oracle's token sequence --------------------------------------- */

static void oracle_tokens(const fz_doc *d, int i, unsigned depth, fz_buf *out) {
    const fz_node *n = &d->nodes[i];
    int c;
    switch (n->type) {
    case FZ_OBJ:
    case FZ_ARR:
        fz_put_i64(out, 'T', n->type == FZ_OBJ ? CBK_JSON_OBJECT_BEGIN : CBK_JSON_ARRAY_BEGIN);
        fz_put_i64(out, 'D', depth);
        for (c = n->child; c >= 0; c = d->nodes[c].next) {
            if (n->type == FZ_OBJ) {
                fz_put_i64(out, 'T', CBK_JSON_KEY);
                fz_put_i64(out, 'D', depth + 1);
                fz_put_field(out, 'X', FZ_KEY(d, c), d->nodes[c].key_len);
            }
            oracle_tokens(d, c, depth + 1, out);
        }
        fz_put_i64(out, 'T', n->type == FZ_OBJ ? CBK_JSON_OBJECT_END : CBK_JSON_ARRAY_END);
        fz_put_i64(out, 'D', depth);
        break;
    case FZ_STR:
        fz_put_i64(out, 'T', CBK_JSON_STRING);
        fz_put_i64(out, 'D', depth);
        fz_put_field(out, 'X', FZ_STR(d, i), n->str_len);
        break;
    case FZ_NUM:
        fz_put_i64(out, 'T', CBK_JSON_NUMBER);
        fz_put_i64(out, 'D', depth);
        fz_put_field(out, 'X', FZ_RAW(d, i), n->raw_len);
        break;
    default:
        fz_put_i64(out, 'T',
                   n->type == FZ_TRUE    ? CBK_JSON_TRUE
                   : n->type == FZ_FALSE ? CBK_JSON_FALSE
                                         : CBK_JSON_NULL);
        fz_put_i64(out, 'D', depth);
        break;
    }
}

/* ---- one tokenizer run ------------------------------------------------- */

typedef struct run {
    cbk_json j;
    rec r;
    cbk_result res;
    uint64_t offset;
} run;

static int sink_json(void *ctx, const char *data, size_t len) {
    run *u = (run *)ctx;
    cbk_result r = cbk_json_feed(&u->j, data, len);
    if (r) FZ_ASSERT(r == CBK_ERR_PARSE || r == CBK_ERR_BUFFER_TOO_SMALL);
    return r != CBK_OK;
}

static void tokenize(run *u, const uint8_t *data, size_t size, char *buf, size_t buf_size,
                     unsigned flags, int mode, uint64_t seed, int keep_list) {
    int stopped;
    memset(u, 0, sizeof *u);
    u->r.keep_list = keep_list;
    cbk_json_init(&u->j, buf, buf_size, flags, on_tok, &u->r);
    stopped = fz_feed(data, size, mode, seed, sink_json, u);
    if (stopped) {
        u->res = (cbk_result)u->j.result;
        FZ_ASSERT(u->res != CBK_OK);
        /* sticky: more input and the end change nothing */
        FZ_ASSERT(cbk_json_feed(&u->j, "{", 1) == u->res);
        FZ_ASSERT(cbk_json_finish(&u->j) == u->res);
    } else {
        u->res = cbk_json_finish(&u->j);
        FZ_ASSERT(cbk_json_finish(&u->j) == u->res);
    }
    u->offset = cbk_json_offset(&u->j);
}

/* ---- JSON Lines by the oracle ------------------------------------------ */

static int is_blank(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

/* 1 when every line is blank or one JSON text; the tokens in out. */
static int oracle_lines(const uint8_t *data, size_t size, fz_buf *out) {
    size_t pos = 0;
    while (pos <= size) {
        const uint8_t *nl = (const uint8_t *)memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        if (!is_blank(data + pos, end - pos)) {
            fz_doc d;
            int ok = fz_parse(&d, data + pos, end - pos, CBK_JSON_MAX_DEPTH);
            if (ok) oracle_tokens(&d, d.root, 0, out);
            fz_doc_free(&d);
            if (!ok) return 0;
        }
        if (!nl) break;
        pos = end + 1;
    }
    return 1;
}

/* ---- the entry point --------------------------------------------------- */

static char big[FZ_WORK_BIG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h;
    fz_doc d;
    int ok;
    cbk_result v;
    fz_buf expect = {0};
    run whole, bytes, split, small, trunc;
    size_t small_size;
    char *sbuf;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);

    /* validate against the oracle */
    ok = fz_parse(&d, data, size, CBK_JSON_MAX_DEPTH);
    v = cbk_json_validate((const char *)data, size);
    FZ_ASSERT(v == CBK_OK || v == CBK_ERR_PARSE);
    FZ_ASSERT_MSG((v == CBK_OK) == ok, "cbk_json_validate says %s, the oracle says %s",
                  cbk_result_str(v), ok ? "valid" : "invalid");
    if (ok) oracle_tokens(&d, d.root, 0, &expect);
    fz_doc_free(&d);

    /* the tokenizer in three chunkings */
    tokenize(&whole, data, size, big, sizeof big, 0, FZ_WHOLE, 0, 0);
    FZ_ASSERT_MSG(whole.res == v, "tokenizer %s, validate %s", cbk_result_str(whole.res),
                  cbk_result_str(v));
    if (ok) FZ_ASSERT_MSG(fz_buf_eq(&whole.r.tr, &expect), "tokens differ from the oracle's");
    tokenize(&bytes, data, size, big, sizeof big, 0, FZ_BYTES, 0, 0);
    FZ_ASSERT_MSG(bytes.res == whole.res, "byte by byte %s, whole %s", cbk_result_str(bytes.res),
                  cbk_result_str(whole.res));
    FZ_ASSERT_MSG(fz_buf_eq(&bytes.r.tr, &whole.r.tr), "byte-by-byte tokens differ");
    FZ_ASSERT_MSG(bytes.offset == whole.offset, "offset %llu byte by byte, %llu whole",
                  (unsigned long long)bytes.offset, (unsigned long long)whole.offset);
    tokenize(&split, data, size, big, sizeof big, 0, FZ_SPLIT, h, 0);
    FZ_ASSERT_MSG(split.res == whole.res, "split %s, whole %s", cbk_result_str(split.res),
                  cbk_result_str(whole.res));
    FZ_ASSERT_MSG(fz_buf_eq(&split.r.tr, &whole.r.tr), "split tokens differ");
    FZ_ASSERT_MSG(split.offset == whole.offset, "offset %llu split, %llu whole",
                  (unsigned long long)split.offset, (unsigned long long)whole.offset);
    rec_free(&bytes.r);
    rec_free(&split.r);

    /* a small guarded buffer: same tokens, or BUFFER_TOO_SMALL after a
       prefix of them */
    small_size = (size_t)(h >> 32) % 48;
    sbuf = fz_guard_alloc(small_size);
    tokenize(&small, data, size, small_size ? sbuf : NULL, small_size, 0,
             (h & 1) ? FZ_SPLIT : FZ_BYTES, h >> 7, 0);
    fz_guard_check(sbuf, small_size);
    if (small.res == CBK_ERR_BUFFER_TOO_SMALL) {
        FZ_ASSERT_MSG(fz_buf_is_prefix(&small.r.tr, &whole.r.tr),
                      "tokens before BUFFER_TOO_SMALL are not a prefix");
    } else {
        FZ_ASSERT_MSG(small.res == whole.res, "small buffer %s, big %s", cbk_result_str(small.res),
                      cbk_result_str(whole.res));
        FZ_ASSERT_MSG(fz_buf_eq(&small.r.tr, &whole.r.tr), "small-buffer tokens differ");
    }
    rec_free(&small.r);

    /* CBK_JSON_TRUNCATE: texts cut to the buffer, flagged; numbers are
       never cut (BUFFER_TOO_SMALL) */
    {
        run full;
        size_t i;
        memset(sbuf, 0x5A, small_size);
        tokenize(&full, data, size, big, sizeof big, 0, FZ_WHOLE, 0, 1);
        /* no buffer at all (NULL, 0) included: bug 1 */
        tokenize(&trunc, data, size, small_size ? sbuf : NULL, small_size, CBK_JSON_TRUNCATE,
                 (h & 2) ? FZ_SPLIT : FZ_BYTES, h >> 9, 1);
        fz_guard_check(sbuf, small_size);
        if (trunc.res != CBK_ERR_BUFFER_TOO_SMALL)
            FZ_ASSERT_MSG(trunc.res == full.res, "truncating %s, full %s",
                          cbk_result_str(trunc.res), cbk_result_str(full.res));
        FZ_ASSERT(trunc.r.ntoks <= full.r.ntoks);
        if (trunc.res == full.res) FZ_ASSERT(trunc.r.ntoks == full.r.ntoks);
        for (i = 0; i < trunc.r.ntoks; i++) {
            const tok *a = &trunc.r.toks[i], *b = &full.r.toks[i];
            FZ_ASSERT(a->type == b->type && a->depth == b->depth);
            FZ_ASSERT_MSG(a->len <= b->len &&
                              (a->len == 0 || memcmp(trunc.r.store.p + a->off,
                                                     full.r.store.p + b->off, a->len) == 0),
                          "a truncated text is not a prefix of the full text");
            FZ_ASSERT_MSG(a->truncated == (a->len < b->len),
                          "truncated flag %d, but %zu of %zu bytes", a->truncated, a->len, b->len);
            if (a->truncated) FZ_ASSERT(a->type == CBK_JSON_KEY || a->type == CBK_JSON_STRING);
        }
        rec_free(&full.r);
        rec_free(&trunc.r);
    }
    fz_guard_free(sbuf);
    rec_free(&whole.r);

    /* JSON Lines */
    {
        fz_buf lexpect = {0};
        int lok = oracle_lines(data, size, &lexpect);
        run lw, lb, ls;
        tokenize(&lw, data, size, big, sizeof big, CBK_JSON_LINES, FZ_WHOLE, 0, 0);
        FZ_ASSERT_MSG((lw.res == CBK_OK) == lok, "JSON Lines: tokenizer %s, oracle %s",
                      cbk_result_str(lw.res), lok ? "valid" : "invalid");
        if (lok) FZ_ASSERT_MSG(fz_buf_eq(&lw.r.tr, &lexpect), "JSON Lines tokens differ");
        tokenize(&lb, data, size, big, sizeof big, CBK_JSON_LINES, FZ_BYTES, 0, 0);
        tokenize(&ls, data, size, big, sizeof big, CBK_JSON_LINES, FZ_SPLIT, h >> 3, 0);
        FZ_ASSERT(lb.res == lw.res && ls.res == lw.res);
        FZ_ASSERT(fz_buf_eq(&lb.r.tr, &lw.r.tr) && fz_buf_eq(&ls.r.tr, &lw.r.tr));
        FZ_ASSERT(lb.offset == lw.offset && ls.offset == lw.offset);
        rec_free(&lw.r);
        rec_free(&lb.r);
        rec_free(&ls.r);
        fz_free(&lexpect);
    }
    fz_free(&expect);
    return 0;
}
