/* fuzz_client.h - drives one operation through the sans-I/O path:
 *
 *   cbk_client_init (guarded work buffer) -> the operation's *_prepare ->
 *   cbk_response_status / header / body (in a chunking) ->
 *   cbk_client_finish, or cbk_client_abort(99) when the receiver asked to
 *   stop (what a transport does).
 *
 * and checks what must hold after every exchange, whatever the body:
 *   - the work buffer's guard bytes are intact;
 *   - cbk_error: NUL-terminated, valid UTF-8, no secret; zeroed on CBK_OK;
 *   - the "Bearer <secret>" value is wiped from the work buffer;
 *   - the receiver refuses bytes after it asked to stop;
 *   - a second cbk_client_finish is refused. */
#ifndef CBK_FUZZ_CLIENT_H
#define CBK_FUZZ_CLIENT_H

#include "fuzz_common.h"

typedef cbk_result (*fz_prepare_fn)(cbk_client *c, void *ctx, const cbk_request **req);

typedef struct fz_exch {
    int status;
    const uint8_t *body;
    size_t len;
    int mode;      /* FZ_WHOLE, FZ_BYTES, FZ_SPLIT */
    uint64_t seed; /* split points */
    int use_abort; /* on a stop: cbk_client_abort (else cbk_client_finish) */
    size_t work_size;
    const cbk_client_options *opts;
    /* optional: the transport fails after cut body bytes (cbk_client_abort
       with cut_code, e.g. a reset or CBK_SEND_NOT_SENT) */
    int cut_set;
    size_t cut;
    int cut_code;
    /* optional: one more response header, sent after Content-Type */
    const char *hname;
    const char *hvalue;
    size_t hvalue_len;
    /* optional: more checks after the operation, before the buffer is freed */
    void (*post)(void *ctx, const cbk_client *c, cbk_result r, const char *work, size_t work_size);
} fz_exch;

typedef struct fz_outcome {
    cbk_result r;
    cbk_error err;
    int prepared; /* 0: *_prepare failed with r */
    int stopped;  /* the receiver asked the transport to stop */
} fz_outcome;

FZ_FN int fz_sink_body(void *ctx, const char *data, size_t len) {
    return cbk_response_body((cbk_response *)ctx, data, len) != 0;
}

static const char fz_bearer[] = "Bearer " FZ_SECRET;

FZ_FN void fz_exchange(const fz_exch *x, fz_prepare_fn prep, void *ctx, fz_outcome *o) {
    char *work = fz_guard_alloc(x->work_size);
    cbk_client c;
    const cbk_request *req = NULL;
    cbk_response *res;
    size_t bearers_in_body = fz_count(x->body, x->len, fz_bearer, sizeof fz_bearer - 1);
    memset(o, 0, sizeof *o);
    FZ_ASSERT(cbk_client_init(&c, FZ_SECRET, NULL, NULL, work, x->work_size, x->opts) == CBK_OK);
    o->r = prep(&c, ctx, &req);
    if (o->r != CBK_OK) {
        FZ_ASSERT(req == NULL);
        o->err = *cbk_client_error(&c);
        fz_check_error(&o->err, FZ_SECRET);
        fz_guard_check(work, x->work_size);
        fz_guard_free(work);
        return;
    }
    o->prepared = 1;
    FZ_ASSERT(req != NULL && req->url != NULL);
    FZ_ASSERT(fz_count(work, x->work_size, fz_bearer, sizeof fz_bearer - 1) >= 1);
    res = cbk_client_response(&c);
    if (cbk_response_status(res, x->status))
        o->stopped = 1;
    else if (cbk_response_header(res, "Content-Type", 12, "application/json", 16))
        o->stopped = 1;
    else if (x->hname &&
             cbk_response_header(res, x->hname, strlen(x->hname), x->hvalue, x->hvalue_len))
        o->stopped = 1;
    else
        o->stopped = fz_feed(x->body, x->cut_set && x->cut < x->len ? x->cut : x->len, x->mode,
                             x->seed, fz_sink_body, res);
    if (o->stopped) {
        /* once it asked to stop, it takes nothing more */
        FZ_ASSERT(cbk_response_body(res, "{", 1) != 0);
    }
    if (x->cut_set) {
        /* the exchange broke: whatever was read, never CBK_OK */
        o->r = cbk_client_abort(&c, x->cut_code);
        FZ_ASSERT_MSG(o->r != CBK_OK, "CBK_OK after the transport failed");
        if (!o->stopped) {
            FZ_ASSERT_MSG(o->r == CBK_ERR_TRANSPORT || o->r == CBK_ERR_HTTP,
                          "%s after a transport failure", cbk_result_str(o->r));
            FZ_ASSERT(cbk_client_error(&c)->transport_code == x->cut_code);
        }
    } else {
        o->r = o->stopped && x->use_abort ? cbk_client_abort(&c, 99) : cbk_client_finish(&c);
    }
    o->err = *cbk_client_error(&c);
    fz_check_error(&o->err, FZ_SECRET);
    if (o->r == CBK_OK) {
        FZ_ASSERT_MSG(o->err.code[0] == 0 && o->err.message[0] == 0 && o->err.transport_code == 0,
                      "cbk_error is not zeroed after CBK_OK: code=\"%s\" message=\"%s\"",
                      o->err.code, o->err.message);
    } else if (o->r == CBK_ERR_HTTP) {
        /* code or message may be "": an empty array's String() */
        FZ_ASSERT(o->err.http_status == x->status);
    } else {
        /* any other failure: code is the result's name */
        FZ_ASSERT_MSG(strcmp(o->err.code, cbk_result_str(o->r)) == 0,
                      "result %s but cbk_error.code \"%s\" (message \"%s\")", cbk_result_str(o->r),
                      o->err.code, o->err.message);
        FZ_ASSERT(o->err.message[0] != 0);
    }
    /* the Authorization value is gone from the work buffer (the body may
       have put its own copies there) */
    FZ_ASSERT_MSG(fz_count(work, x->work_size, fz_bearer, sizeof fz_bearer - 1) <= bearers_in_body,
                  "the Bearer value is still in the work buffer after the operation");
    FZ_ASSERT(cbk_client_finish(&c) == CBK_ERR_INVALID_ARGUMENT);
    if (x->post) x->post(ctx, &c, o->r, work, x->work_size);
    fz_guard_check(work, x->work_size);
    fz_guard_free(work);
}

/* Results, transcripts and errors of two runs that must agree. */
#define FZ_SAME_OUTCOME(a, b, tra, trb, what)                                                      \
    do {                                                                                           \
        if ((a)->r != (b)->r || !fz_error_eq(&(a)->err, &(b)->err) || !fz_buf_eq((tra), (trb))) {  \
            fz_print_error("first", (a)->r, &(a)->err);                                            \
            fz_print_error("second", (b)->r, &(b)->err);                                           \
            fprintf(stderr, "  transcripts %s (%zu and %zu bytes)\n",                              \
                    fz_buf_eq((tra), (trb)) ? "equal" : "differ", (tra)->n, (trb)->n);             \
            FZ_ASSERT_MSG(0, "%s", what);                                                          \
        }                                                                                          \
    } while (0)

/* The same exchange whole, byte by byte (ending in cbk_client_abort) and
   split at points drawn from split_seed: the three must agree. wctx/bctx/sctx are
   the runs' contexts, trw/trb/trs their transcripts. */
#define FZ_THREE_WAYS(x, prep, split_seed, wctx, bctx, sctx, ow, ob, os, trw, trb, trs)            \
    do {                                                                                           \
        (x)->mode = FZ_WHOLE;                                                                      \
        fz_exchange((x), (prep), (wctx), (ow));                                                    \
        FZ_ASSERT((ow)->prepared);                                                                 \
        (x)->mode = FZ_BYTES;                                                                      \
        (x)->use_abort = 1;                                                                        \
        fz_exchange((x), (prep), (bctx), (ob));                                                    \
        FZ_SAME_OUTCOME((ow), (ob), (trw), (trb), "byte by byte differs from whole");              \
        (x)->mode = FZ_SPLIT;                                                                      \
        (x)->seed = (split_seed);                                                                  \
        (x)->use_abort = (int)((split_seed) >> 20) & 1;                                            \
        fz_exchange((x), (prep), (sctx), (os));                                                    \
        FZ_SAME_OUTCOME((ow), (os), (trw), (trs), "split differs from whole");                     \
    } while (0)

/* A body without the UTF-8 byte order mark the library skips. */
FZ_FN void fz_strip_bom(const uint8_t **p, size_t *n) {
    if (*n >= 3 && (*p)[0] == 0xEF && (*p)[1] == 0xBB && (*p)[2] == 0xBF) {
        *p += 3;
        *n -= 3;
    }
}

/* printable ASCII, no space */
FZ_FN int fz_url_ok(const char *u) {
    for (; *u; u++)
        if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7F) return 0;
    return 1;
}

#endif
