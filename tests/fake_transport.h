/* fake_transport.h - an in-process send callback for the unit tests.
 *
 * It records every request byte for byte and answers from a script of
 * replies, feeding each body whole, one byte at a time, or split at seeded
 * random points. Nothing here touches a network. */
#ifndef CBK_FAKE_TRANSPORT_H
#define CBK_FAKE_TRANSPORT_H

#include "../cbk_token.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_REPLIES  16
#define FAKE_MAX_REQUESTS 16

typedef struct fake_reply {
    int status; /* 0: feed nothing at all */
    const char *headers[4][2];
    const char *body; /* NULL: no body */
    size_t body_len;  /* 0: strlen(body) */
    size_t cut;       /* nonzero: feed only this many body bytes */
    int rc;           /* what send returns after feeding */
} fake_reply;

typedef struct fake_request {
    char method[8];
    char url[4096];
    char headers[4096]; /* "Name: value\n" per header, in order */
    char body[16384];
    size_t body_len;
} fake_request;

enum { FAKE_WHOLE = 0, FAKE_BYTES = 1, FAKE_RANDOM = 2 };

typedef struct fake_transport {
    fake_reply replies[FAKE_MAX_REPLIES];
    int nreplies;
    int calls;
    int chunking;
    unsigned seed;
    fake_request requests[FAKE_MAX_REQUESTS];
    int stopped; /* the receiver asked to stop on the last call */
    unsigned sleeps[FAKE_MAX_REPLIES];
    int nsleeps;
} fake_transport;

static unsigned fake_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7FFF;
}

static void fake_add(fake_transport *f, int status, const char *body) {
    fake_reply *r = &f->replies[f->nreplies++];
    memset(r, 0, sizeof *r);
    r->status = status;
    r->body = body;
}

static int fake_send(void *ctx, const cbk_request *req, cbk_response *res) {
    fake_transport *f = (fake_transport *)ctx;
    const fake_reply *rep;
    fake_request *rec;
    size_t i, len, pos;
    int idx = f->calls++;
    if (idx < FAKE_MAX_REQUESTS) {
        rec = &f->requests[idx];
        memset(rec, 0, sizeof *rec);
        snprintf(rec->method, sizeof rec->method, "%s", req->method);
        snprintf(rec->url, sizeof rec->url, "%s", req->url);
        for (i = 0; i < req->header_count; i++) {
            size_t n = strlen(rec->headers);
            snprintf(rec->headers + n, sizeof rec->headers - n, "%s: %s\n", req->headers[i].name,
                     req->headers[i].value);
        }
        if (req->body) {
            rec->body_len = req->body_len < sizeof rec->body ? req->body_len : sizeof rec->body;
            memcpy(rec->body, req->body, rec->body_len);
        }
        if (!req->body && req->body_len) rec->body_len = (size_t)-1; /* a bug: flagged */
    }
    f->stopped = 0;
    if (idx >= f->nreplies) return CBK_SEND_NOT_SENT; /* script ran out */
    rep = &f->replies[idx];
    if (!rep->status) return rep->rc;
    if (cbk_response_status(res, rep->status)) {
        f->stopped = 1;
        return rep->rc ? rep->rc : 99;
    }
    for (i = 0; i < 4 && rep->headers[i][0]; i++)
        if (cbk_response_header(res, rep->headers[i][0], strlen(rep->headers[i][0]),
                                rep->headers[i][1], strlen(rep->headers[i][1]))) {
            f->stopped = 1;
            return 99;
        }
    if (rep->body) {
        len = rep->body_len ? rep->body_len : strlen(rep->body);
        if (rep->cut && rep->cut < len) len = rep->cut;
        for (pos = 0; pos < len;) {
            size_t n = len - pos;
            if (f->chunking == FAKE_BYTES)
                n = 1;
            else if (f->chunking == FAKE_RANDOM) {
                size_t k = 1 + fake_rand(&f->seed) % 97;
                if (k < n) n = k;
            }
            if (cbk_response_body(res, rep->body + pos, n)) {
                f->stopped = 1;
                return rep->rc ? rep->rc : 99; /* like curl's write error */
            }
            pos += n;
        }
    }
    return rep->rc;
}

static void fake_sleep(void *ctx, unsigned ms) {
    fake_transport *f = (fake_transport *)ctx;
    if (f->nsleeps < FAKE_MAX_REPLIES) f->sleeps[f->nsleeps++] = ms;
}

#endif
