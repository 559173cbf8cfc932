/* fuzz_jsonapi.c - the tokenizer's helpers: cbk_json_skip, cbk_json_capture,
 * cbk_json_keep, cbk_json_mark/release, cbk_json_int64, cbk_json_get_string.
 *
 * Input: any bytes, taken as one JSON text.
 * Checks:
 *   - with skip/capture/keep decided per token from the input's hash, the
 *     tokens are the same whole, byte by byte and split, and on a valid text
 *     exactly what an oracle walk of the DOM with the same decisions gives
 *     (a capture is the value's exact source text, NUL-terminated);
 *   - kept texts stay intact until released, NUL-terminated;
 *   - a small guarded buffer gives the same or BUFFER_TOO_SMALL after a
 *     prefix of the tokens, and is never overrun;
 *   - cbk_json_int64 agrees with an exact decimal oracle on every number
 *     token and on the raw input;
 *   - cbk_json_get_string agrees with the DOM for every top-level key
 *     (last duplicate wins, non-string PARSE, missing NOT_FOUND), honours
 *     out_size exactly, leaves "" on BUFFER_TOO_SMALL and never writes past
 *     out_size. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#include "fuzz_common.h"

/* ---- the policy -------------------------------------------------------- */

enum { ACT_NONE, ACT_SKIP, ACT_CAPTURE, ACT_KEEP };

/* What to do at the token with this index. */
static int policy(uint64_t seed, size_t index) {
    uint64_t s = seed ^ (index * 0x9E3779B97F4A7C15ull);
    uint64_t r = fz_rand(&s);
    switch (r % 8) {
    case 0:
    case 1: return ACT_SKIP;
    case 2:
    case 3: return ACT_CAPTURE;
    case 4: return ACT_KEEP;
    default: return ACT_NONE;
    }
}

/* ---- the library side -------------------------------------------------- */

#define MAX_KEPT 4096

typedef struct kept {
    const char *at;
    size_t len;
    size_t copy_off; /* in the run's copies store */
} kept;

typedef struct run {
    cbk_json j;
    fz_buf tr;
    fz_buf copies;
    uint64_t seed;
    size_t index;
    size_t marks[CBK_JSON_MAX_DEPTH + 2];
    size_t nkept_at[CBK_JSON_MAX_DEPTH + 2];
    unsigned nmarks;
    kept kept[MAX_KEPT];
    size_t nkept;
    int big; /* keep must succeed */
    cbk_result res;
} run;

static void check_kept(run *u) {
    size_t i;
    for (i = 0; i < u->nkept; i++) {
        const kept *k = &u->kept[i];
        FZ_ASSERT_MSG(memcmp(k->at, u->copies.p + k->copy_off, k->len) == 0 && k->at[k->len] == 0,
                      "a kept text changed before its release");
    }
}

static void put_tok(fz_buf *b, int type, unsigned depth, const char *text, size_t len) {
    fz_put_i64(b, 'T', type);
    fz_put_i64(b, 'D', depth);
    if (type == CBK_JSON_KEY || type == CBK_JSON_STRING || type == CBK_JSON_NUMBER ||
        type == CBK_JSON_RAW)
        fz_put_field(b, 'X', text, len);
}

static void check_int64(const char *text, size_t len) {
    int64_t a = 0, b = 0;
    cbk_result r = cbk_json_int64(text, len, &a);
    int fits = fz_int64(text, len, &b);
    FZ_ASSERT_MSG((r == CBK_OK) == fits, "cbk_json_int64(%.*s) %s, the oracle says %s",
                  (int)(len > 80 ? 80 : len), text, cbk_result_str(r), fits ? "fits" : "no fit");
    if (fits) FZ_ASSERT_MSG(a == b, "cbk_json_int64 %lld, oracle %lld", (long long)a, (long long)b);
}

static int on_tok(void *user, cbk_json *j, const cbk_json_token *t) {
    run *u = (run *)user;
    size_t index = u->index++;
    int act = policy(u->seed, index);
    put_tok(&u->tr, (int)t->type, t->depth, t->text, t->len);
    check_kept(u);
    if (t->type == CBK_JSON_NUMBER) check_int64(t->text, t->len);
    if (t->type == CBK_JSON_RAW) {
        FZ_ASSERT(t->text[t->len] == 0);
        FZ_ASSERT_MSG(cbk_json_validate(t->text, t->len) == CBK_OK,
                      "a captured value is not valid JSON");
    }
    switch (t->type) {
    case CBK_JSON_OBJECT_BEGIN:
    case CBK_JSON_ARRAY_BEGIN:
        FZ_ASSERT(u->nmarks < CBK_JSON_MAX_DEPTH + 2);
        u->marks[u->nmarks] = cbk_json_mark(j);
        u->nkept_at[u->nmarks] = u->nkept;
        u->nmarks++;
        if (act == ACT_SKIP) cbk_json_skip(j);
        break;
    case CBK_JSON_OBJECT_END:
    case CBK_JSON_ARRAY_END:
        FZ_ASSERT(u->nmarks > 0);
        u->nmarks--;
        cbk_json_release(j, u->marks[u->nmarks]);
        u->nkept = u->nkept_at[u->nmarks];
        break;
    case CBK_JSON_KEY:
        if (act == ACT_SKIP) cbk_json_skip(j);
        if (act == ACT_CAPTURE) cbk_json_capture(j);
        /* fall through: a key may be kept too */
    case CBK_JSON_STRING:
    case CBK_JSON_NUMBER:
    case CBK_JSON_RAW:
        if (act == ACT_KEEP || (t->type == CBK_JSON_RAW && (index & 1))) {
            const char *out = NULL;
            cbk_result r = cbk_json_keep(j, t, &out);
            if (u->big) FZ_ASSERT(r == CBK_OK);
            if (r == CBK_OK) {
                FZ_ASSERT(out != NULL && out[t->len] == 0);
                FZ_ASSERT(t->len == 0 || memcmp(out, t->text, t->len) == 0);
                if (u->nkept < MAX_KEPT) {
                    kept *k = &u->kept[u->nkept++];
                    k->at = out;
                    k->len = t->len;
                    k->copy_off = u->copies.n;
                    fz_put(&u->copies, t->text, t->len);
                }
            } else {
                FZ_ASSERT(r == CBK_ERR_BUFFER_TOO_SMALL && out == NULL);
            }
        }
        break;
    default: break;
    }
    return 0;
}

static int sink(void *ctx, const char *data, size_t len) {
    run *u = (run *)ctx;
    return cbk_json_feed(&u->j, data, len) != CBK_OK;
}

static void tokenize(run *u, const uint8_t *data, size_t size, char *buf, size_t buf_size, int mode,
                     uint64_t split_seed, uint64_t seed, int big) {
    memset(u, 0, sizeof *u);
    u->seed = seed;
    u->big = big;
    cbk_json_init(&u->j, buf, buf_size, 0, on_tok, u);
    if (fz_feed(data, size, mode, split_seed, sink, u))
        u->res = (cbk_result)u->j.result;
    else
        u->res = cbk_json_finish(&u->j);
}

static void run_free(run *u) {
    fz_free(&u->tr);
    fz_free(&u->copies);
}

/* ---- the oracle walk with the same decisions --------------------------- */

typedef struct owalk {
    const fz_doc *d;
    uint64_t seed;
    size_t index;
    fz_buf tr;
} owalk;

static void owalk_value(owalk *w, int i, unsigned depth) {
    const fz_node *n = &w->d->nodes[i];
    int c;
    if (n->type == FZ_OBJ || n->type == FZ_ARR) {
        size_t bi = w->index++;
        put_tok(&w->tr, n->type == FZ_OBJ ? CBK_JSON_OBJECT_BEGIN : CBK_JSON_ARRAY_BEGIN, depth,
                NULL, 0);
        if (policy(w->seed, bi) != ACT_SKIP) {
            for (c = n->child; c >= 0; c = w->d->nodes[c].next) {
                if (n->type == FZ_OBJ) {
                    size_t ki = w->index++;
                    int act = policy(w->seed, ki);
                    put_tok(&w->tr, CBK_JSON_KEY, depth + 1, FZ_KEY(w->d, c),
                            w->d->nodes[c].key_len);
                    if (act == ACT_SKIP) continue;
                    if (act == ACT_CAPTURE) {
                        w->index++;
                        put_tok(&w->tr, CBK_JSON_RAW, depth + 1, FZ_RAW(w->d, c),
                                w->d->nodes[c].raw_len);
                        continue;
                    }
                }
                owalk_value(w, c, depth + 1);
            }
        }
        w->index++;
        put_tok(&w->tr, n->type == FZ_OBJ ? CBK_JSON_OBJECT_END : CBK_JSON_ARRAY_END, depth, NULL,
                0);
        return;
    }
    w->index++;
    switch (n->type) {
    case FZ_STR: put_tok(&w->tr, CBK_JSON_STRING, depth, FZ_STR(w->d, i), n->str_len); break;
    case FZ_NUM: put_tok(&w->tr, CBK_JSON_NUMBER, depth, FZ_RAW(w->d, i), n->raw_len); break;
    case FZ_TRUE: put_tok(&w->tr, CBK_JSON_TRUE, depth, NULL, 0); break;
    case FZ_FALSE: put_tok(&w->tr, CBK_JSON_FALSE, depth, NULL, 0); break;
    default: put_tok(&w->tr, CBK_JSON_NULL, depth, NULL, 0); break;
    }
}

/* ---- cbk_json_get_string ----------------------------------------------- */

static void check_get(const uint8_t *data, size_t size, const fz_doc *d, int valid, const char *key,
                      size_t klen, uint64_t h) {
    int found = -1, c;
    cbk_result expect, r;
    size_t out_size, want = 0;
    char *out;
    if (memchr(key, 0, klen)) return; /* not expressible as a C string */
    if (valid && d->nodes[d->root].type == FZ_OBJ)
        for (c = d->nodes[d->root].child; c >= 0; c = d->nodes[c].next)
            if (d->nodes[c].key_len == klen && memcmp(FZ_KEY(d, c), key, klen) == 0) found = c;
    if (!valid)
        expect = CBK_ERR_PARSE;
    else if (found < 0)
        expect = CBK_ERR_NOT_FOUND;
    else if (d->nodes[found].type != FZ_STR)
        expect = CBK_ERR_PARSE;
    else
        expect = CBK_OK, want = d->nodes[found].str_len;
    /* out_size: exactly enough, one short, or roomy */
    switch (h & 3) {
    case 0: out_size = want + 1; break;
    case 1: out_size = want ? want : 1; break;
    case 2: out_size = 1 + (size_t)(h >> 8) % 8; break;
    default: out_size = want + 1 + (size_t)(h >> 8) % 64; break;
    }
    if (expect == CBK_OK && out_size < want + 1) expect = CBK_ERR_BUFFER_TOO_SMALL;
    out = fz_guard_alloc(out_size);
    {
        char *k = (char *)malloc(klen + 1);
        FZ_ASSERT(k != NULL);
        memcpy(k, key, klen);
        k[klen] = 0;
        r = cbk_json_get_string((const char *)data, size, k, out, out_size);
        free(k);
    }
    fz_guard_check(out, out_size);
    FZ_ASSERT_MSG(r == expect, "cbk_json_get_string(\"%.*s\") %s, expected %s", (int)klen, key,
                  cbk_result_str(r), cbk_result_str(expect));
    if (r == CBK_OK) {
        FZ_ASSERT_MSG(memcmp(out, FZ_STR(d, found), want) == 0 && out[want] == 0,
                      "cbk_json_get_string decoded the value differently");
    } else {
        FZ_ASSERT_MSG(out[0] == 0, "out is not \"\" after a failure");
    }
    fz_guard_free(out);
}

/* ---- the entry point --------------------------------------------------- */

static char big[FZ_WORK_BIG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t h, seed;
    fz_doc d;
    int valid;
    run whole, bytes, split, small;
    owalk w;
    size_t small_size;
    char *sbuf;
    if (size > FZ_MAX_INPUT) return 0;
    h = fz_hash(data, size);
    seed = h * 31 + 7;
    valid = fz_parse(&d, data, size, CBK_JSON_MAX_DEPTH);

    /* cbk_json_int64 on the raw input */
    {
        fz_doc nd;
        int is_num;
        memset(&nd, 0, sizeof nd);
        nd.src = data;
        nd.len = size;
        is_num = size > 0 && fz_number(&nd) && nd.pos == size;
        if (is_num) {
            check_int64((const char *)data, size);
        } else {
            int64_t v = 1;
            FZ_ASSERT_MSG(cbk_json_int64((const char *)data, size, &v) == CBK_ERR_PARSE,
                          "cbk_json_int64 accepted text that is not a JSON number");
        }
    }

    tokenize(&whole, data, size, big, sizeof big, FZ_WHOLE, 0, seed, 1);
    FZ_ASSERT_MSG((whole.res == CBK_OK) == valid, "tokenizer %s, oracle %s",
                  cbk_result_str(whole.res), valid ? "valid" : "invalid");
    if (valid) {
        memset(&w, 0, sizeof w);
        w.d = &d;
        w.seed = seed;
        owalk_value(&w, d.root, 0);
        FZ_ASSERT_MSG(fz_buf_eq(&w.tr, &whole.tr),
                      "tokens with skip/capture/keep differ from the oracle walk");
        fz_free(&w.tr);
    }
    tokenize(&bytes, data, size, big, sizeof big, FZ_BYTES, 0, seed, 1);
    FZ_ASSERT(bytes.res == whole.res);
    FZ_ASSERT_MSG(fz_buf_eq(&bytes.tr, &whole.tr), "byte-by-byte tokens differ");
    run_free(&bytes);
    tokenize(&split, data, size, big, sizeof big, FZ_SPLIT, h, seed, 1);
    FZ_ASSERT(split.res == whole.res);
    FZ_ASSERT_MSG(fz_buf_eq(&split.tr, &whole.tr), "split tokens differ");
    run_free(&split);

    small_size = (size_t)(h >> 40) % 64;
    sbuf = fz_guard_alloc(small_size);
    tokenize(&small, data, size, small_size ? sbuf : NULL, small_size,
             (h & 1) ? FZ_SPLIT : FZ_BYTES, h >> 5, seed, 0);
    fz_guard_check(sbuf, small_size);
    if (small.res == CBK_ERR_BUFFER_TOO_SMALL)
        FZ_ASSERT_MSG(fz_buf_is_prefix(&small.tr, &whole.tr),
                      "tokens before BUFFER_TOO_SMALL are not a prefix");
    else {
        FZ_ASSERT_MSG(small.res == whole.res, "small buffer %s, big %s", cbk_result_str(small.res),
                      cbk_result_str(whole.res));
        FZ_ASSERT_MSG(fz_buf_eq(&small.tr, &whole.tr), "small-buffer tokens differ");
    }
    run_free(&small);
    fz_guard_free(sbuf);
    run_free(&whole);

    /* cbk_json_get_string for each top-level key, and one that is absent */
    if (valid && d.nodes[d.root].type == FZ_OBJ) {
        int c, n = 0;
        for (c = d.nodes[d.root].child; c >= 0 && n < 16; c = d.nodes[c].next, n++) {
            size_t kl = d.nodes[c].key_len;
            const char *k = FZ_KEY(&d, c);
            const char *nul = (const char *)memchr(k, 0, kl);
            check_get(data, size, &d, valid, k, kl, h >> n);
            if (nul) check_get(data, size, &d, valid, k, (size_t)(nul - k), h >> (n + 1));
        }
    }
    check_get(data, size, &d, valid, "\001absent", 7, h >> 3);
    if (!valid || d.nodes[d.root].type != FZ_OBJ) check_get(data, size, &d, valid, "id", 2, h);
    fz_doc_free(&d);
    return 0;
}
