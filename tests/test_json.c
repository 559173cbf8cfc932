/* test_json.c - the JSON tokenizer: validate, the push tokenizer, skip,
 * capture, keep, JSON Lines, int64 conversion and the meta getter.
 *
 * Every document that goes through the push tokenizer is fed in many
 * chunkings (whole, 1 byte at a time, every two-chunk split, seeded random
 * splits); each chunk is copied to a heap block of exactly its size, which
 * is scribbled over and freed after the feed, so reads past a chunk or
 * pointers kept into an old chunk show up (ASan, or a changed transcript).
 * The tokenizer's buffer is followed by guard bytes checked after each run. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cbk_token.h"
#include "test.h"

/* ---------------------------------------------------------------------------
 * Helpers: a seeded PRNG, chunkings, and a token recorder
 * ------------------------------------------------------------------------- */

static uint32_t rng_state = 1;

static void rng_seed(uint32_t s) {
    rng_state = s ? s : 0x9E3779B9u;
}

static uint32_t rng(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* A string literal with its length (it may hold NUL bytes). */
typedef struct tdoc {
    const char *s;
    size_t len;
} tdoc;
#define D(lit)                                                                                     \
    { lit, sizeof(lit) - 1 }

enum { CH_WHOLE, CH_BYTES, CH_SPLIT, CH_RANDOM };

typedef struct chunking {
    int kind;
    size_t at;     /* CH_SPLIT: the cut */
    uint32_t seed; /* CH_RANDOM */
} chunking;

static chunking ch_whole(void) {
    chunking c = {CH_WHOLE, 0, 0};
    return c;
}
static chunking ch_bytes(void) {
    chunking c = {CH_BYTES, 0, 0};
    return c;
}
static chunking ch_split(size_t at) {
    chunking c = {CH_SPLIT, 0, 0};
    c.at = at;
    return c;
}
static chunking ch_random(uint32_t seed) {
    chunking c = {CH_RANDOM, 0, 0};
    c.seed = seed;
    return c;
}

static void ch_describe(chunking c, char *out, size_t n) {
    switch (c.kind) {
    case CH_WHOLE: snprintf(out, n, "whole"); break;
    case CH_BYTES: snprintf(out, n, "1-byte chunks"); break;
    case CH_SPLIT: snprintf(out, n, "split at %lu", (unsigned long)c.at); break;
    default: snprintf(out, n, "random seed %lu", (unsigned long)c.seed); break;
    }
}

/* The length of the next chunk at pos (len - pos > 0). */
static size_t ch_next(const chunking *c, size_t pos, size_t len) {
    size_t left = len - pos, n;
    switch (c->kind) {
    case CH_BYTES: return 1;
    case CH_SPLIT: return pos < c->at && c->at < len ? c->at - pos : left;
    case CH_RANDOM: n = 1 + rng() % (1 + rng() % 16); return n < left ? n : left;
    default: return left;
    }
}

#define GUARD      32
#define GUARD_BYTE 0x5A

/* Records every token as text: a tag and the depth, then "text" for KEY,
   STRING, NUMBER and RAW (bytes outside printable ASCII as \xHH), "!" when
   truncated. "{0 K1"a" N1"1" }0 =CBK_OK". It can also act on tokens. */
typedef struct rec {
    char *s;
    size_t len, cap;
    /* actions */
    const char *skip_key;    /* cbk_json_skip() on this KEY */
    const char *capture_key; /* cbk_json_capture() on this KEY */
    int keep_key;            /* cbk_json_keep() the capture key first */
    int skip_begin_depth;    /* cbk_json_skip() on a BEGIN at this depth; -1: never */
    int stop_at;             /* return stop_code at this token (1-based); 0: never */
    int stop_code;
    /* observations */
    const char *chunk; /* the chunk being fed */
    size_t chunk_len;
    char *buf; /* the tokenizer's buffer */
    size_t buf_size;
    int tokens;
    int in_place;       /* tokens whose text pointed into the chunk */
    const char *kept;   /* the kept capture key */
    int kept_intact;    /* the kept key was still intact at RAW */
    int raw_after_kept; /* the RAW text came right after the kept key */
    int text_outside;   /* a text pointer neither in the chunk nor in buf */
} rec;

static void rec_init(rec *r) {
    memset(r, 0, sizeof *r);
    r->skip_begin_depth = -1;
}

static void rec_free(rec *r) {
    free(r->s);
    r->s = NULL;
    r->len = r->cap = 0;
}

static void rec_put(rec *r, const char *s, size_t n) {
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        char *p;
        while (r->len + n + 1 > cap) cap *= 2;
        p = (char *)realloc(r->s, cap);
        if (!p) abort();
        r->s = p;
        r->cap = cap;
    }
    memcpy(r->s + r->len, s, n);
    r->len += n;
    r->s[r->len] = 0;
}

static void rec_puts(rec *r, const char *s) {
    rec_put(r, s, strlen(s));
}

/* Appends text escaped as in the transcript. */
static void rec_text(rec *r, const char *t, size_t n) {
    size_t i, run;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        char tmp[8];
        for (run = 0; i + run < n; run++) {
            unsigned char b = (unsigned char)t[i + run];
            if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') break;
        }
        if (run) {
            rec_put(r, t + i, run);
            i += run - 1;
        } else if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            rec_put(r, tmp, 2);
        } else if (c >= 0x20 && c < 0x7F) {
            rec_put(r, (const char *)&c, 1);
        } else {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            rec_puts(r, tmp);
        }
    }
}

static const char *tag(cbk_json_type t) {
    switch (t) {
    case CBK_JSON_OBJECT_BEGIN: return "{";
    case CBK_JSON_OBJECT_END: return "}";
    case CBK_JSON_ARRAY_BEGIN: return "[";
    case CBK_JSON_ARRAY_END: return "]";
    case CBK_JSON_KEY: return "K";
    case CBK_JSON_STRING: return "S";
    case CBK_JSON_NUMBER: return "N";
    case CBK_JSON_TRUE: return "T";
    case CBK_JSON_FALSE: return "F";
    case CBK_JSON_NULL: return "Z";
    case CBK_JSON_RAW: return "R";
    }
    return "?";
}

static int has_text(cbk_json_type t) {
    return t == CBK_JSON_KEY || t == CBK_JSON_STRING || t == CBK_JSON_NUMBER || t == CBK_JSON_RAW;
}

static int text_is(const cbk_json_token *t, const char *s) {
    return t->len == strlen(s) && memcmp(t->text, s, t->len) == 0;
}

static int rec_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    rec *r = (rec *)user;
    char tmp[32];
    r->tokens++;
    snprintf(tmp, sizeof tmp, "%s%u", tag(t->type), t->depth);
    rec_puts(r, tmp);
    if (has_text(t->type)) {
        rec_puts(r, "\"");
        rec_text(r, t->text, t->len);
        rec_puts(r, "\"");
        if (t->truncated) rec_puts(r, "!");
        if (!t->text)
            r->text_outside++;
        else if (r->chunk && t->text >= r->chunk && t->text + t->len <= r->chunk + r->chunk_len)
            r->in_place++;
        else if (!r->buf || t->text < r->buf || t->text + t->len > r->buf + r->buf_size)
            r->text_outside++;
    }
    rec_puts(r, " ");
    if (t->type == CBK_JSON_KEY && r->skip_key && text_is(t, r->skip_key)) cbk_json_skip(j);
    if (t->type == CBK_JSON_KEY && r->capture_key && text_is(t, r->capture_key)) {
        if (r->keep_key) {
            if (cbk_json_keep(j, t, &r->kept)) rec_puts(r, "KEEP-FAILED ");
        }
        cbk_json_capture(j);
    }
    if (t->type == CBK_JSON_RAW && r->kept) {
        r->kept_intact = strcmp(r->kept, r->capture_key) == 0;
        r->raw_after_kept = t->text == r->kept + strlen(r->kept) + 1;
    }
    if ((t->type == CBK_JSON_OBJECT_BEGIN || t->type == CBK_JSON_ARRAY_BEGIN) &&
        r->skip_begin_depth >= 0 && t->depth == (unsigned)r->skip_begin_depth)
        cbk_json_skip(j);
    if (r->stop_at && r->tokens == r->stop_at) return r->stop_code;
    return 0;
}

/* Runs doc through a fresh tokenizer (buffer of buf_size bytes followed by
   guard bytes) in the given chunking; the transcript ends with "=RESULT".
   Returns the first failed feed's result, else finish's. */
static cbk_result run_doc(rec *r, const char *doc, size_t len, chunking ch, unsigned flags,
                          size_t buf_size) {
    cbk_json j;
    cbk_result res = CBK_OK;
    size_t pos = 0, i;
    char *area = (char *)malloc(buf_size + GUARD);
    if (!area) abort();
    memset(area, GUARD_BYTE, buf_size + GUARD);
    rng_seed(ch.seed);
    r->len = 0;
    rec_puts(r, "");
    r->tokens = r->in_place = r->text_outside = 0;
    r->kept = NULL;
    r->kept_intact = r->raw_after_kept = 0;
    r->buf = buf_size ? area : NULL;
    r->buf_size = buf_size;
    cbk_json_init(&j, r->buf, buf_size, flags, rec_cb, r);
    while (pos < len) {
        size_t n = ch_next(&ch, pos, len);
        char *chunk = (char *)malloc(n);
        if (!chunk) abort();
        memcpy(chunk, doc + pos, n);
        if (ch.kind == CH_RANDOM && rng() % 8 == 0) {
            r->chunk = chunk;
            r->chunk_len = 0;
            res = cbk_json_feed(&j, chunk, 0); /* an empty chunk changes nothing */
        }
        r->chunk = chunk;
        r->chunk_len = n;
        if (!res) res = cbk_json_feed(&j, chunk, n);
        memset(chunk, 0xA5, n);
        free(chunk);
        r->chunk = NULL;
        r->chunk_len = 0;
        pos += n;
        if (res) break;
    }
    if (!res) res = cbk_json_finish(&j);
    rec_puts(r, "=");
    rec_puts(r, cbk_result_str(res));
    for (i = buf_size; i < buf_size + GUARD; i++)
        if ((unsigned char)area[i] != GUARD_BYTE) {
            rec_puts(r, " GUARD-OVERWRITTEN");
            break;
        }
    free(area);
    return res;
}

/* Runs doc whole (checked against expect unless NULL), then 1 byte at a
   time, at every two-chunk split (unless no_splits) and at nrandom seeded
   random splittings: every transcript must equal the whole one. Returns 1
   when all agreed. */
static int check_chunkings_ex(rec *r, const char *doc, size_t len, unsigned flags, size_t buf_size,
                              const char *expect, int nrandom, int no_splits) {
    char *whole;
    size_t k, nsplits = no_splits || !len ? 0 : len - 1, total = 2 + nsplits + (size_t)nrandom;
    int ok = 1;
    run_doc(r, doc, len, ch_whole(), flags, buf_size);
    if (expect && strcmp(r->s, expect) != 0) {
        test_failed_checks++;
        fprintf(stderr, "  %s: transcript of %.60s\n    got      %s\n    expected %s\n",
                test_current, doc, r->s, expect);
        ok = 0;
    }
    whole = (char *)malloc(r->len + 1);
    if (!whole) abort();
    memcpy(whole, r->s, r->len + 1);
    for (k = 1; k < total && ok; k++) {
        chunking ch;
        if (k == 1)
            ch = ch_bytes();
        else if (k < 2 + nsplits)
            ch = ch_split(k - 1);
        else
            ch = ch_random((uint32_t)(k * 2654435761u + 7));
        run_doc(r, doc, len, ch, flags, buf_size);
        if (strcmp(r->s, whole) != 0) {
            char how[64];
            ch_describe(ch, how, sizeof how);
            test_failed_checks++;
            fprintf(stderr, "  %s: transcript of %.60s differs (%s)\n    got   %s\n    whole %s\n",
                    test_current, doc, how, r->s, whole);
            ok = 0;
        }
    }
    free(whole);
    return ok;
}

static int check_chunkings(rec *r, const char *doc, size_t len, unsigned flags, size_t buf_size,
                           const char *expect, int nrandom) {
    return check_chunkings_ex(r, doc, len, flags, buf_size, expect, nrandom, 0);
}

/* ---------------------------------------------------------------------------
 * 1. JSONTestSuite
 * ------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *p;
            cap = cap ? cap * 2 : 4096;
            p = (char *)realloc(data, cap);
            if (!p) abort();
            data = p;
        }
        got = fread(data + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    /* exactly n bytes, so that a read past the text is an ASan report */
    {
        char *exact = (char *)malloc(n ? n : 1);
        if (!exact) abort();
        memcpy(exact, data, n);
        free(data);
        *len = n;
        return exact;
    }
}

static void test_jsontestsuite(void) {
    const char *dir_path = "data/JSONTestSuite/test_parsing";
    DIR *dir = opendir(dir_path);
    struct dirent *e;
    char **names = NULL;
    size_t nnames = 0, cap = 0, i;
    int y_total = 0, y_ok = 0, n_total = 0, n_ok = 0, i_total = 0, i_acc = 0, i_ref = 0;
    rec r;
    if (!dir && getenv("CBK_JSONTESTSUITE")) {
        dir_path = getenv("CBK_JSONTESTSUITE");
        dir = opendir(dir_path);
    }
    if (!dir) fprintf(stderr, "  JSONTestSuite not found at %s\n", dir_path);
    REQUIRE(dir != NULL);
    while ((e = readdir(dir)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 7 || strcmp(e->d_name + nl - 5, ".json") != 0) continue;
        if (e->d_name[1] != '_' || !strchr("yni", e->d_name[0])) continue;
        if (nnames == cap) {
            char **p;
            cap = cap ? cap * 2 : 512;
            p = (char **)realloc(names, cap * sizeof *names);
            if (!p) abort();
            names = p;
        }
        names[nnames] = (char *)malloc(nl + 1);
        if (!names[nnames]) abort();
        memcpy(names[nnames++], e->d_name, nl + 1);
    }
    closedir(dir);
    qsort(names, nnames, sizeof *names, cmp_names);
    rec_init(&r);
    for (i = 0; i < nnames; i++) {
        char path[1024], *data, *whole;
        size_t len;
        cbk_result v, p;
        int s;
        char kind = names[i][0];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        data = read_file(path, &len);
        CHECK(data != NULL);
        if (!data) continue;
        v = cbk_json_validate(data, len);
        if (kind == 'y') {
            y_total++;
            if (v == CBK_OK) y_ok++;
            if (v != CBK_OK) fprintf(stderr, "  %s: validate refused\n", names[i]);
            CHECK_EQ(v, CBK_OK);
        } else if (kind == 'n') {
            n_total++;
            if (v == CBK_ERR_PARSE) n_ok++;
            if (v != CBK_ERR_PARSE) fprintf(stderr, "  %s: validate gave %d\n", names[i], v);
            CHECK_EQ(v, CBK_ERR_PARSE);
        } else {
            i_total++;
            if (v == CBK_OK) i_acc++;
            if (v == CBK_ERR_PARSE) i_ref++;
            CHECK(v == CBK_OK || v == CBK_ERR_PARSE);
        }
        /* the push tokenizer, with a callback and a buffer big enough: same
           verdict and same tokens in every chunking */
        p = run_doc(&r, data, len, ch_whole(), 0, len + 1);
        if (p != v) fprintf(stderr, "  %s: tokenizer gave %d, validate %d\n", names[i], p, v);
        CHECK_EQ(p, v);
        CHECK_EQ(r.text_outside, 0);
        whole = (char *)malloc(r.len + 1);
        if (!whole) abort();
        memcpy(whole, r.s, r.len + 1);
        for (s = 0; s < 5; s++) {
            chunking ch = s == 0 ? ch_bytes() : ch_random((uint32_t)(i * 31 + (size_t)s));
            p = run_doc(&r, data, len, ch, 0, len + 1);
            if (p != v || strcmp(r.s, whole) != 0) {
                char how[64];
                ch_describe(ch, how, sizeof how);
                fprintf(stderr, "  %s (%s): tokenizer gave %d, validate %d\n    %.300s\n", names[i],
                        how, p, v, r.s);
                test_failed_checks++;
            }
            CHECK_EQ(r.text_outside, 0);
        }
        free(whole);
        free(data);
        free(names[i]);
    }
    free(names);
    rec_free(&r);
    printf("JSONTestSuite: y %d/%d accepted, n %d/%d refused, i %d answered (%d accepted, %d "
           "refused)\n",
           y_ok, y_total, n_ok, n_total, i_total, i_acc, i_ref);
    /* the whole corpus is there */
    CHECK(y_total >= 95);
    CHECK(n_total >= 188);
    CHECK(i_total >= 35);
    CHECK_EQ(i_acc + i_ref, i_total);
}

/* ---------------------------------------------------------------------------
 * 2. Token streams
 * ------------------------------------------------------------------------- */

static void test_transcripts_exact(void) {
    static const struct {
        const char *doc, *expect;
    } cases[] = {
        {"{\"a\":1}", "{0 K1\"a\" N1\"1\" }0 =CBK_OK"},
        {"[]", "[0 ]0 =CBK_OK"},
        {"{}", "{0 }0 =CBK_OK"},
        {"[[]]", "[0 [1 ]1 ]0 =CBK_OK"},
        {"[{}]", "[0 {1 }1 ]0 =CBK_OK"},
        {"{\"a\":[]}", "{0 K1\"a\" [1 ]1 }0 =CBK_OK"},
        {"\"\"", "S0\"\" =CBK_OK"},
        {"\"x\"", "S0\"x\" =CBK_OK"},
        {"0", "N0\"0\" =CBK_OK"},
        {"-12.5e+3", "N0\"-12.5e+3\" =CBK_OK"},
        {"true", "T0 =CBK_OK"},
        {"false", "F0 =CBK_OK"},
        {"null", "Z0 =CBK_OK"},
        {" \t\r\n[ 1 , \"s\" ]\n ", "[0 N1\"1\" S1\"s\" ]0 =CBK_OK"},
        {"[1,-2.5E-3,0.0,true,false,null,\"s\",\"\"]",
         "[0 N1\"1\" N1\"-2.5E-3\" N1\"0.0\" T1 F1 Z1 S1\"s\" S1\"\" ]0 =CBK_OK"},
        {"{\"a\":{\"b\":{\"c\":[1,[2,{\"d\":null}]]}},\"e\":\"f\",\"\":0}",
         "{0 K1\"a\" {1 K2\"b\" {2 K3\"c\" [3 N4\"1\" [4 N5\"2\" {5 K6\"d\" Z6 }5 ]4 ]3 }2 }1 "
         "K1\"e\" S1\"f\" K1\"\" N1\"0\" }0 =CBK_OK"},
        {"[[[[]]],{},[{}],{\"k\":{}}]",
         "[0 [1 [2 [3 ]3 ]2 ]1 {1 }1 [1 {2 }2 ]1 {1 K2\"k\" {2 }2 }1 ]0 =CBK_OK"},
        {"{\"k\\\"ey\":\"v\\n\\t\\\\\\/\\b\\f\\r\\u0041\"}",
         "{0 K1\"k\\\"ey\" S1\"v\\x0a\\x09\\\\/\\x08\\x0c\\x0dA\" }0 =CBK_OK"},
        {"[\"\\u00e9\",\"\\u20AC\",\"\\ud83d\\ude00\",\"\\uD834\\uDD1E\",\"\\u0000\"]",
         "[0 S1\"\\xc3\\xa9\" S1\"\\xe2\\x82\\xac\" S1\"\\xf0\\x9f\\x98\\x80\" "
         "S1\"\\xf0\\x9d\\x84\\x9e\" S1\"\\x00\" ]0 =CBK_OK"},
        {"[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"]",
         "[0 S1\"\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80\\x7f\" ]0 =CBK_OK"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rec r;
        rec_init(&r);
        check_chunkings(&r, cases[i].doc, strlen(cases[i].doc), 0, 256, cases[i].expect, 20);
        rec_free(&r);
    }
}

/* Builds a long string document from random pieces (escapes, surrogate
   pairs, raw multi-byte UTF-8, plain runs) and the expected decoded text. */
static void build_long_string(uint32_t seed, size_t target, char *json, size_t *jlen, char *dec,
                              size_t *dlen) {
    static const struct {
        const char *json, *dec;
    } pieces[] = {
        {"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"},
        {"0123456789 ", "0123456789 "},
        {"\\n", "\n"},
        {"\\t", "\t"},
        {"\\\"", "\""},
        {"\\\\", "\\"},
        {"\\/", "/"},
        {"\\b\\f\\r", "\b\f\r"},
        {"\\u0041", "A"},
        {"\\u00e9", "\xc3\xa9"},
        {"\\u07FF", "\xdf\xbf"},
        {"\\u20ac", "\xe2\x82\xac"},
        {"\\uFFFF", "\xef\xbf\xbf"},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"},
        {"\\uDBFF\\uDFFF", "\xf4\x8f\xbf\xbf"},
        {"\\uD800\\uDC00", "\xf0\x90\x80\x80"},
        {"\xc3\xa9", "\xc3\xa9"},
        {"\xe2\x82\xac", "\xe2\x82\xac"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
        {"\x7f", "\x7f"},
    };
    size_t j = 0, d = 0;
    rng_seed(seed);
    json[j++] = '"';
    while (j < target) {
        size_t k = rng() % (sizeof pieces / sizeof pieces[0]);
        size_t a = strlen(pieces[k].json), b = strlen(pieces[k].dec);
        memcpy(json + j, pieces[k].json, a);
        memcpy(dec + d, pieces[k].dec, b);
        j += a;
        d += b;
    }
    json[j++] = '"';
    *jlen = j;
    *dlen = d;
}

static void test_transcripts_chunkings(void) {
    static char json[2200], dec[2200];
    size_t jlen, dlen, i;
    rec r, x;
    static const char *docs[] = {
        "{\"a\":[1,-2.5e+10,true,false,null,\"s\"],\"b\":{},\"c\":[],\"d\":{\"e\":{\"f\":[[]]}}}",
        "\"\\ud834\\udd1e\"",
        "{\"k\\u00e9y\\n\\ud83d\\ude00\" : \"\xe2\x82\xac\\u20ac\"}",
        "[\"\xc3\xa9\",\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"a\xc3\xa9"
        "b\xe2\x82\xac"
        "c\xf0\x9f\x98\x80"
        "d\"]",
        "\"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf\xe0\xa0\x80\xed\x9f\xbf\xc2\x80\"",
        "[123456789012345678901234567890.123456789012345678901234567890e-123456,-0.0,0,1E+2,"
        "-0,0e0,1e-0,99999999999999999999999999999999999999]",
        "-1234567890123456789012345678901234567890.0987654321e+0987654321",
        "12345678901234567890",
        "0",
        "[true,false,null,[true],{\"t\":true,\"f\":false,\"n\":null}]",
        "true",
        "false",
        "null",
        " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n\t ",
        "[\"\",\"\",{\"\":\"\"}]",
    };
    rec_init(&r);
    for (i = 0; i < sizeof docs / sizeof docs[0]; i++)
        check_chunkings(&r, docs[i], strlen(docs[i]), 0, 512, NULL, 200);
    /* long strings with escapes: the decoded text is what was built */
    for (i = 0; i < 3; i++) {
        build_long_string((uint32_t)(1000 + i), 300 + 400 * i, json, &jlen, dec, &dlen);
        rec_init(&x);
        rec_puts(&x, "S0\"");
        rec_text(&x, dec, dlen);
        rec_puts(&x, "\" =CBK_OK");
        check_chunkings(&r, json, jlen, 0, dlen + 1, x.s, 200);
        rec_free(&x);
        /* the same string as a key and as an array member */
        {
            static char doc[4000];
            size_t n = 0;
            doc[n++] = '{';
            memcpy(doc + n, json, jlen);
            n += jlen;
            doc[n++] = ':';
            memcpy(doc + n, json, jlen);
            n += jlen;
            doc[n++] = '}';
            check_chunkings_ex(&r, doc, n, 0, dlen + 1, NULL, 50, 1);
        }
    }
    rec_free(&r);
}

/* Raw multi-byte UTF-8 and escapes: every split point gives the same token,
   and it is the right one. */
static void test_utf8_every_split(void) {
    rec r;
    const char *doc = "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u00e9\\ud83d\\ude00\"]";
    rec_init(&r);
    check_chunkings(&r, doc, strlen(doc), 0, 64,
                    "[0 S1\"\\xc3\\xa9\\xe2\\x82\\xac\\xf0\\x9f\\x98\\x80\\xc3\\xa9\\xf0\\x9f\\x98"
                    "\\x80\" ]0 =CBK_OK",
                    200);
    rec_free(&r);
}

/* ---------------------------------------------------------------------------
 * 3. Strictness
 * ------------------------------------------------------------------------- */

/* doc is refused by validate and by the tokenizer in every two-chunk split
   (and 1 byte at a time). */
static void expect_verdict(const char *s, size_t len, cbk_result want) {
    rec r;
    size_t k;
    cbk_result v;
    char *copy = (char *)malloc(len ? len : 1);
    if (!copy) abort();
    memcpy(copy, s, len);
    v = cbk_json_validate(copy, len); /* an exact-size copy: no reads past it */
    free(copy);
    if (v != want) {
        test_failed_checks++;
        fprintf(stderr, "  %s: validate(\"%.40s\", %lu) = %s, expected %s\n", test_current, s,
                (unsigned long)len, cbk_result_str(v), cbk_result_str(want));
    }
    rec_init(&r);
    for (k = 0; k <= len + 1; k++) {
        chunking ch = k == len + 1 ? ch_bytes() : k == 0 ? ch_whole() : ch_split(k);
        cbk_result p = run_doc(&r, s, len, ch, 0, len + 1);
        if (p != want) {
            char how[64];
            ch_describe(ch, how, sizeof how);
            test_failed_checks++;
            fprintf(stderr, "  %s: tokenizer(\"%.40s\", %lu, %s) = %s, expected %s\n", test_current,
                    s, (unsigned long)len, how, cbk_result_str(p), cbk_result_str(want));
            break;
        }
    }
    rec_free(&r);
}

static void expect_refused(const tdoc *docs, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) expect_verdict(docs[i].s, docs[i].len, CBK_ERR_PARSE);
}

static void expect_accepted(const tdoc *docs, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) expect_verdict(docs[i].s, docs[i].len, CBK_OK);
}

static void test_strict_surrogates(void) {
    static const tdoc bad[] = {
        D("\"\\uD800\""),
        D("\"\\uDBFF\""),
        D("\"\\uDC00\""),
        D("\"\\uDFFF\""),
        D("\"\\uD800\\u0041\""),
        D("\"\\uD800\\uD800\""),
        D("\"\\uD800\\n\""),
        D("\"\\uD800x\""),
        D("\"\\uD800\\\\\""),
        D("\"\\uD800\\uE000\""),
        D("\"\\uDC00\\uD800\""),
        D("\"\\ud83d\\u0000\""),
        D("[\"\\uD800\"]"),
        D("{\"\\uDC00\":1}"),
        D("\"\\uD800\\u\""),
        D("\"\\uD800"),
        D("\"\\uD800\\uDC0\""),
        D("\"\\uD800\\uDC0G\""),
        D("\"\\u12\""),
        D("\"\\u12G4\""),
        D("\"\\U0041\""),
        D("\"\\x41\""),
        D("\"\\'\""),
        D("\"\\a\""),
        D("\"\\0\""),
        D("\"\\\""),
        D("\"\\u\""),
    };
    static const tdoc good[] = {
        D("\"\\uD800\\uDC00\""), D("\"\\uDBFF\\uDFFF\""), D("\"\\ud83d\\ude00\""), D("\"\\u0000\""),
        D("\"\\uFFFF\""),        D("\"\\uE000\""),        D("\"\\uD7FF\""),        D("\"\\uaBcD\""),
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
    expect_accepted(good, sizeof good / sizeof good[0]);
}

static void test_strict_utf8(void) {
    static const tdoc bad[] = {
        D("\"\xc0\x80\""),
        D("\"\xc1\xbf\""),
        D("\"\xe0\x80\x80\""),
        D("\"\xe0\x9f\xbf\""),
        D("\"\xf0\x80\x80\x80\""),
        D("\"\xf0\x8f\xbf\xbf\""),
        D("\"\xed\xa0\x80\""),
        D("\"\xed\xbf\xbf\""),
        D("\"\xf4\x90\x80\x80\""),
        D("\"\xf5\x80\x80\x80\""),
        D("\"\xf8\x88\x80\x80\x80\""),
        D("\"\xfe\""),
        D("\"\xff\""),
        D("\"\x80\""),
        D("\"\xbf\""),
        D("\"a\xbf"
          "b\""),
        D("\"\xc3\""),
        D("\"\xe2\x82\""),
        D("\"\xf0\x9f\x98\""),
        D("\"\xc3\xc3\xa9\""),
        D("\"\xe2\x28\xa1\""),
        D("\"\xf0\x9f\x98\x80\x80\""),
        D("[\"\xc3\"]"),
        D("{\"\xff\":1}"),
        D("\xc3\xa9"),
        D("\xef\xbb\xbf{}"), /* a BOM is not JSON */
    };
    static const tdoc good[] = {
        D("\"\xc2\x80\""),
        D("\"\xdf\xbf\""),
        D("\"\xe0\xa0\x80\""),
        D("\"\xed\x9f\xbf\""),
        D("\"\xee\x80\x80\""),
        D("\"\xef\xbf\xbf\""),
        D("\"\xf0\x90\x80\x80\""),
        D("\"\xf4\x8f\xbf\xbf\""),
        D("\"\x7f\""),
        D("{\"\xc3\xa9\":\"\xe2\x82\xac\"}"),
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
    expect_accepted(good, sizeof good / sizeof good[0]);
}

static void test_strict_control_chars(void) {
    static const tdoc bad[] = {
        D("\"a\x01"
          "b\""),
        D("\"\x1f\""),
        D("\"\t\""),
        D("\"a\nb\""),
        D("\"\r\""),
        D("\"\0\""),
        D("{\"\x02\":1}"),
        D("[\"x\x1f\"]"),
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
}

/* cbk_json_init ignores every bit of flags but CBK_JSON_TRUNCATE and
   CBK_JSON_LINES: the library's private modes (a lenient one for error
   bodies, a key compare for cbk_json_get_string) are out of reach. */
static void test_init_ignores_other_flags(void) {
    static const char
        bad_utf8[] = "{\"k\":\"\xff\"}",
        keyed[] = "{\"\\u0061\":1}",
        deep[] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]";
    rec r, plain;
    rec_init(&r);
    rec_init(&plain);
    CHECK_EQ(run_doc(&r, bad_utf8, sizeof bad_utf8 - 1, ch_whole(), ~0u, 64), CBK_ERR_PARSE);
    CHECK_EQ(run_doc(&r, deep, sizeof deep - 1, ch_whole(), ~0u, 64), CBK_ERR_PARSE);
    CHECK_EQ(run_doc(&r, keyed, sizeof keyed - 1, ch_whole(), ~0u, 64), CBK_OK);
    CHECK_EQ(run_doc(&plain, keyed, sizeof keyed - 1, ch_whole(),
                     CBK_JSON_TRUNCATE | CBK_JSON_LINES, 64),
             CBK_OK);
    CHECK_STR(r.s, plain.s); /* the key "a" delivered with its text */
    rec_free(&r);
    rec_free(&plain);
}

/* The string scanner reads a native word at a time (8 bytes, or 4 on
   32-bit targets: make portable runs this as -m32 and on big-endian
   s390x): put the byte that matters at every position of a long string. */
static void test_strict_every_position(void) {
    static const struct {
        const char *bytes; /* put at position i of a 40-byte run of 'a' */
        cbk_result want;
        const char *decoded; /* for accepted ones */
    } cases[] = {
        {"\x01", CBK_ERR_PARSE, NULL},
        {"\x1f", CBK_ERR_PARSE, NULL},
        {"\n", CBK_ERR_PARSE, NULL},
        {"\x7f", CBK_OK, "\x7f"},
        {"\x80", CBK_ERR_PARSE, NULL},
        {"\xff", CBK_ERR_PARSE, NULL},
        {"\xc3\xa9", CBK_OK, "\xc3\xa9"},
        {"\xed\xa0\x80", CBK_ERR_PARSE, NULL},
        {"\\\"", CBK_OK, "\""},
        {"\\\\", CBK_OK, "\\"},
        {"\\u00e9", CBK_OK, "\xc3\xa9"},
        {"\\x", CBK_ERR_PARSE, NULL},
        {" ", CBK_OK, " "},
        {"~", CBK_OK, "~"},
    };
    size_t c, i;
    rec r;
    rec_init(&r);
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (i = 0; i < 40; i++) {
            char doc[64], dec[64];
            rec x;
            size_t n = 0, b = strlen(cases[c].bytes);
            doc[n++] = '"';
            memset(doc + n, 'a', i);
            n += i;
            memcpy(doc + n, cases[c].bytes, b);
            n += b;
            memset(doc + n, 'z', 40 - i);
            n += 40 - i;
            doc[n++] = '"';
            CHECK_EQ(cbk_json_validate(doc, n), cases[c].want);
            CHECK_EQ(run_doc(&r, doc, n, ch_whole(), 0, 64), cases[c].want);
            if (cases[c].want != CBK_OK) continue;
            memset(dec, 'a', i);
            b = strlen(cases[c].decoded);
            memcpy(dec + i, cases[c].decoded, b);
            memset(dec + i + b, 'z', 40 - i);
            rec_init(&x);
            rec_puts(&x, "S0\"");
            rec_text(&x, dec, i + b + 40 - i);
            rec_puts(&x, "\" =CBK_OK");
            CHECK_STR(r.s, x.s);
            rec_free(&x);
        }
    }
    rec_free(&r);
}

static void test_strict_numbers(void) {
    static const tdoc bad[] = {
        D("01"),    D("-01"),    D("00"),    D("-"),      D("1."),       D("1e"),
        D("1e+"),   D("1E-"),    D(".5"),    D("+1"),     D("-.5"),      D("1.e5"),
        D("0x1"),   D("1.5.2"),  D("--1"),   D("- 1"),    D("Infinity"), D("-Infinity"),
        D("NaN"),   D("[01]"),   D("[-]"),   D("[1.]"),   D("[.5]"),     D("{\"a\":01}"),
        D("1e5.0"), D("[1e]"),   D("[-0x]"), D("1ee5"),   D("1e+-5"),    D("[2.]"),
        D("0.e1"),  D("[1.0e]"), D("1 .5"),  D("[1,+2]"), D("\xd9\xa1"),
    };
    static const tdoc good[] = {
        D("0"),  D("-0"),    D("0.0"), D("-0.0e-0"), D("1E+2"),       D("1e2"), D("123"),
        D("-9"), D("[0,1]"), D("0e5"), D("0E-5"),    D("[-1.5e300]"), D(" 7 "), D("{\"n\":-0}"),
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
    expect_accepted(good, sizeof good / sizeof good[0]);
}

static void test_strict_structure(void) {
    static const tdoc bad[] = {
        D("[1,]"),
        D("[1,,2]"),
        D("[,1]"),
        D("[,]"),
        D("{\"a\":1,}"),
        D("{,}"),
        D("{\"a\" 1}"),
        D("{\"a\"}"),
        D("{\"a\":}"),
        D("{1:2}"),
        D("{\"a\":1 \"b\":2}"),
        D("[1 2]"),
        D("1 2"),
        D("{}{}"),
        D("[][]"),
        D("\"a\"\"b\""),
        D("1 x"),
        D("{} x"),
        D("truex"),
        D("nulll"),
        D("tru"),
        D("fals"),
        D("nul"),
        D("["),
        D("]"),
        D("}"),
        D("{"),
        D("[}"),
        D("{]"),
        D("[1}"),
        D("\"abc"),
        D("[1,2"),
        D("{\"a\":1"),
        D("{\"a\""),
        D("{\"a\":"),
        D(""),
        D("   "),
        D("\n"),
        D("[\"a\":1]"),
        D(":"),
        D(","),
        D("TRUE"),
        D("True"),
        D("[true false]"),
        D("{\"a\"::1}"),
        D("{\"a\":1:2}"),
        D("{'a':1}"),
        D("[1]]"),
        D("[[1]"),
        D("{\"a\":1}}"),
        D("\"a\" ,"),
        D("[\x00]"),
        D("{\"a\":1,\"b\"}"),
        D("/* */1"),
        D("1\x0b"),
        D("\x0c"
          "1"),
    };
    static const tdoc good[] = {
        D(" \t\r\n1 \t\r\n"),
        D("{\"a\":1,\"a\":2}"),
        D("[[],{},\"\",0]"),
        D("{\"\":{}}"),
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
    expect_accepted(good, sizeof good / sizeof good[0]);
}

/* Unfinished values are refused by finish, not by feed. */
static void test_strict_unfinished_at_finish(void) {
    static const char *docs[] = {"\"abc",  "[1,2", "{\"a\":1", "{\"a\"",  "[",
                                 "tru",    "  ",   "",         "\"\\u00", "\"\\uD800",
                                 "\"\xc3", "-",    "1.",       "[1",      "{\"a\":\"b"};
    size_t i;
    for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cbk_json j;
        char buf[64];
        cbk_json_init(&j, buf, sizeof buf, 0, NULL, NULL);
        CHECK_EQ(cbk_json_feed(&j, docs[i], strlen(docs[i])), CBK_OK);
        CHECK_EQ(cbk_json_finish(&j), CBK_ERR_PARSE);
        CHECK_EQ(cbk_json_finish(&j), CBK_ERR_PARSE); /* sticky */
        CHECK_EQ(cbk_json_feed(&j, "1", 1), CBK_ERR_PARSE);
    }
    /* nothing fed at all */
    {
        cbk_json j;
        cbk_json_init(&j, NULL, 0, 0, NULL, NULL);
        CHECK_EQ(cbk_json_finish(&j), CBK_ERR_PARSE);
    }
    CHECK_EQ(cbk_json_validate(NULL, 0), CBK_ERR_PARSE);
    CHECK_EQ(cbk_json_validate("", 0), CBK_ERR_PARSE);
    CHECK_EQ(cbk_json_validate(NULL, 3), CBK_ERR_INVALID_ARGUMENT);
    /* len counts: the bytes after len are not read */
    CHECK_EQ(cbk_json_validate("[1]x", 3), CBK_OK);
    CHECK_EQ(cbk_json_validate("[1]", 2), CBK_ERR_PARSE);
}

static void test_strict_depth(void) {
    char doc[8 * (CBK_JSON_MAX_DEPTH + 2)];
    size_t n, d, k;
    rec r;
    char expect[64];
    /* exactly CBK_JSON_MAX_DEPTH levels accepted, one more refused */
    for (d = CBK_JSON_MAX_DEPTH; d <= CBK_JSON_MAX_DEPTH + 1; d++) {
        cbk_result want = d <= CBK_JSON_MAX_DEPTH ? CBK_OK : CBK_ERR_PARSE;
        /* arrays */
        memset(doc, '[', d);
        memset(doc + d, ']', d);
        expect_verdict(doc, 2 * d, want);
        /* objects */
        n = 0;
        for (k = 0; k < d; k++) memcpy(doc + n, "{\"a\":", 5), n += 5;
        doc[n++] = '1';
        for (k = 0; k < d; k++) doc[n++] = '}';
        expect_verdict(doc, n, want);
        /* both, alternating */
        n = 0;
        for (k = 0; k < d; k++) {
            if (k % 2)
                doc[n++] = '[';
            else
                memcpy(doc + n, "{\"a\":", 5), n += 5;
        }
        doc[n++] = '1';
        for (k = d; k-- > 0;) doc[n++] = k % 2 ? ']' : '}';
        expect_verdict(doc, n, want);
    }
    /* the innermost BEGIN of the deepest accepted text has depth MAX-1 */
    memset(doc, '[', CBK_JSON_MAX_DEPTH);
    memset(doc + CBK_JSON_MAX_DEPTH, ']', CBK_JSON_MAX_DEPTH);
    rec_init(&r);
    run_doc(&r, doc, 2 * CBK_JSON_MAX_DEPTH, ch_whole(), 0, 16);
    snprintf(expect, sizeof expect, "[%d ]%d ", CBK_JSON_MAX_DEPTH - 1, CBK_JSON_MAX_DEPTH - 1);
    CHECK(strstr(r.s, expect) != NULL);
    CHECK(strstr(r.s, "=CBK_OK") != NULL);
    /* over the limit: refused at the opening bracket that goes too deep,
       before the text is complete */
    {
        cbk_json j;
        memset(doc, '[', CBK_JSON_MAX_DEPTH + 1);
        cbk_json_init(&j, NULL, 0, 0, NULL, NULL);
        CHECK_EQ(cbk_json_feed(&j, doc, CBK_JSON_MAX_DEPTH), CBK_OK);
        CHECK_EQ(cbk_json_feed(&j, doc, 1), CBK_ERR_PARSE);
        CHECK_EQ(cbk_json_offset(&j), CBK_JSON_MAX_DEPTH);
    }
    rec_free(&r);
}

/* ---------------------------------------------------------------------------
 * 4. The joining buffer
 * ------------------------------------------------------------------------- */

/* Feeds doc split at cut into a tokenizer whose buffer of buf_size bytes
   sits in a larger guarded area; returns the result, *guard_ok whether no
   byte past buf_size was written. */
static cbk_result feed_guarded(const char *doc, size_t cut, size_t buf_size, unsigned flags, rec *r,
                               int *guard_ok) {
    char area[256];
    cbk_json j;
    cbk_result res;
    size_t i, len = strlen(doc);
    if (cut > len) cut = len;
    memset(area, GUARD_BYTE, sizeof area);
    r->len = 0;
    rec_puts(r, "");
    r->buf = area;
    r->buf_size = buf_size;
    r->chunk = doc;
    r->chunk_len = len;
    cbk_json_init(&j, area, buf_size, flags, rec_cb, r);
    res = cbk_json_feed(&j, doc, cut);
    if (!res) res = cbk_json_feed(&j, doc + cut, len - cut);
    if (!res) res = cbk_json_finish(&j);
    rec_puts(r, "=");
    rec_puts(r, cbk_result_str(res));
    *guard_ok = 1;
    for (i = buf_size; i < sizeof area; i++)
        if ((unsigned char)area[i] != GUARD_BYTE) *guard_ok = 0;
    return res;
}

static void test_buffer_exact_fit(void) {
    static const struct {
        const char *doc;
        size_t cut, need; /* need: bytes of the joined text, NUL excluded */
        const char *expect;
    } cases[] = {
        /* a plain string spanning two chunks */
        {"[\"abcdefghij\"]", 6, 10, "[0 S1\"abcdefghij\" ]0 =CBK_OK"},
        /* a key spanning two chunks */
        {"{\"keykeykey\":1}", 5, 9, "{0 K1\"keykeykey\" N1\"1\" }0 =CBK_OK"},
        /* escapes in one chunk: joined too */
        {"[\"ab\\ncd\"]", 10, 5, "[0 S1\"ab\\x0acd\" ]0 =CBK_OK"},
        {"[\"\\ud83d\\ude00\\u00e9\"]", 22, 6,
         "[0 S1\"\\xf0\\x9f\\x98\\x80\\xc3\\xa9\" ]0 =CBK_OK"},
        /* a number spanning two chunks */
        {"[1234567]", 4, 7, "[0 N1\"1234567\" ]0 =CBK_OK"},
        /* a top-level number ends only at finish */
        {"-98765", 6, 6, "N0\"-98765\" =CBK_OK"},
    };
    size_t i;
    rec r;
    rec_init(&r);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int guard_ok;
        cbk_result res;
        res = feed_guarded(cases[i].doc, cases[i].cut, cases[i].need + 1, 0, &r, &guard_ok);
        CHECK_EQ(res, CBK_OK);
        CHECK_STR(r.s, cases[i].expect);
        CHECK(guard_ok);
        res = feed_guarded(cases[i].doc, cases[i].cut, cases[i].need, 0, &r, &guard_ok);
        CHECK_EQ(res, CBK_ERR_BUFFER_TOO_SMALL);
        CHECK(guard_ok);
        res = feed_guarded(cases[i].doc, cases[i].cut, 0, 0, &r, &guard_ok);
        CHECK_EQ(res, CBK_ERR_BUFFER_TOO_SMALL);
        CHECK(guard_ok);
    }
    /* the same, in every chunking */
    {
        const char *doc = "[\"abcdefghij\",\"x\\u00e9\"]";
        check_chunkings(&r, doc, strlen(doc), 0, 11, NULL, 50);
    }
    CHECK(strstr(r.s, "=CBK_OK") != NULL);
    rec_free(&r);
}

static void test_buffer_truncate(void) {
    rec r;
    int guard_ok;
    cbk_result res;
    rec_init(&r);
    /* a string spanning chunks longer than the buffer is cut, flagged, and
       the parse goes on; the next token is whole */
    res = feed_guarded("[\"abcdefghijklmnop\",\"xy\",3]", 5, 8, CBK_JSON_TRUNCATE, &r, &guard_ok);
    CHECK_EQ(res, CBK_OK);
    CHECK_STR(r.s, "[0 S1\"abcdefg\"! S1\"xy\" N1\"3\" ]0 =CBK_OK");
    CHECK(guard_ok);
    /* with escapes, all in one chunk */
    res = feed_guarded("[\"\\u0041BCDEFGHIJ\",\"\\n\"]", 25, 5, CBK_JSON_TRUNCATE, &r, &guard_ok);
    CHECK_EQ(res, CBK_OK);
    CHECK_STR(r.s, "[0 S1\"ABCD\"! S1\"\\x0a\" ]0 =CBK_OK");
    CHECK(guard_ok);
    /* exactly fitting is not truncated */
    res = feed_guarded("[\"abcdefg\"]", 4, 8, CBK_JSON_TRUNCATE, &r, &guard_ok);
    CHECK_STR(r.s, "[0 S1\"abcdefg\" ]0 =CBK_OK");
    CHECK(guard_ok);
    /* in every chunking, the flag and text are the same whenever joined */
    {
        const char *doc = "{\"k\":\"\\u00e90123456789\",\"n\":[\"\\t\"]}";
        check_chunkings(&r, doc, strlen(doc), CBK_JSON_TRUNCATE, 6, NULL, 50);
        CHECK_STR(r.s, "{0 K1\"k\" S1\"\\xc3\\xa9012\"! K1\"n\" [1 S2\"\\x09\" ]1 }0 =CBK_OK");
    }
    /* numbers are never cut */
    res = feed_guarded("[123456789]", 3, 5, CBK_JSON_TRUNCATE, &r, &guard_ok);
    CHECK_EQ(res, CBK_ERR_BUFFER_TOO_SMALL);
    CHECK(guard_ok);
    rec_free(&r);
}

/* With TRUNCATE, a buffer filled to its last byte by cbk_json_keep leaves
   no room at all: a string that must then be joined is cut to nothing, and
   nothing may be written past the buffer (not even its NUL). */
static int keep_all_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    rec *r = (rec *)user;
    const char *out;
    rec_cb(user, j, t);
    if (t->type == CBK_JSON_STRING && r->tokens == 2 && cbk_json_keep(j, t, &out))
        rec_puts(r, "KEEP-FAILED ");
    return 0;
}

static void test_buffer_truncate_full(void) {
    char area[64];
    cbk_json j;
    rec r;
    size_t i;
    int guard_ok = 1;
    const char *doc = "[\"abcdefg\",\"x\\ny\"]";
    rec_init(&r);
    rec_puts(&r, "");
    memset(area, GUARD_BYTE, sizeof area);
    r.chunk = doc;
    r.chunk_len = strlen(doc);
    r.buf = area;
    r.buf_size = 8;
    cbk_json_init(&j, area, 8, CBK_JSON_TRUNCATE, keep_all_cb, &r);
    CHECK_EQ(cbk_json_feed(&j, doc, strlen(doc)), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_EQ(cbk_json_mark(&j), 8); /* "abcdefg" and its NUL */
    CHECK_STR(r.s, "[0 S1\"abcdefg\" S1\"\"! ]0 ");
    for (i = 8; i < sizeof area; i++)
        if ((unsigned char)area[i] != GUARD_BYTE) guard_ok = 0;
    CHECK(guard_ok);
    CHECK(memcmp(area, "abcdefg", 8) == 0);
    /* without TRUNCATE the same is a clean BUFFER_TOO_SMALL */
    memset(area, GUARD_BYTE, sizeof area);
    r.len = 0;
    r.tokens = 0;
    rec_puts(&r, "");
    cbk_json_init(&j, area, 8, 0, keep_all_cb, &r);
    CHECK_EQ(cbk_json_feed(&j, doc, strlen(doc)), CBK_ERR_BUFFER_TOO_SMALL);
    guard_ok = 1;
    for (i = 8; i < sizeof area; i++)
        if ((unsigned char)area[i] != GUARD_BYTE) guard_ok = 0;
    CHECK(guard_ok);
    /* the same with a buffer of 0 bytes (a pointer, but no room) */
    memset(area, GUARD_BYTE, sizeof area);
    r.len = 0;
    r.tokens = 0;
    rec_puts(&r, "");
    cbk_json_init(&j, area, 0, CBK_JSON_TRUNCATE, rec_cb, &r);
    CHECK_EQ(cbk_json_feed(&j, "[\"a\\nb\"]", 8), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_STR(r.s, "[0 S1\"\"! ]0 ");
    guard_ok = 1;
    for (i = 0; i < sizeof area; i++)
        if ((unsigned char)area[i] != GUARD_BYTE) guard_ok = 0;
    CHECK(guard_ok);
    rec_free(&r);
}

static void test_buffer_in_place(void) {
    rec r;
    const char *doc = "{\"key\":\"value\",\"n\":[12.5,\"\xc3\xa9\"]}";
    rec_init(&r);
    /* whole, without a buffer: nothing needs joining */
    CHECK_EQ(run_doc(&r, doc, strlen(doc), ch_whole(), 0, 0), CBK_OK);
    CHECK_STR(r.s, "{0 K1\"key\" S1\"value\" K1\"n\" [1 N2\"12.5\" S2\"\\xc3\\xa9\" ]1 }0 =CBK_OK");
    CHECK_EQ(r.in_place, 5);
    CHECK_EQ(r.text_outside, 0);
    /* with a small buffer and TRUNCATE, a string whole in a chunk is still
       handed over whole, in place */
    CHECK_EQ(run_doc(&r, doc, strlen(doc), ch_whole(), CBK_JSON_TRUNCATE, 2), CBK_OK);
    CHECK_EQ(r.in_place, 5);
    CHECK(strstr(r.s, "S1\"value\" ") != NULL);
    /* 1 byte at a time: every text comes from buf */
    CHECK_EQ(run_doc(&r, doc, strlen(doc), ch_bytes(), 0, 16), CBK_OK);
    CHECK_EQ(r.in_place, 0);
    CHECK_EQ(r.text_outside, 0);
    /* an escaped string is never in place */
    CHECK_EQ(run_doc(&r, "[\"a\\nb\"]", 8, ch_whole(), 0, 8), CBK_OK);
    CHECK_EQ(r.in_place, 0);
    CHECK_EQ(run_doc(&r, "[\"a\\nb\"]", 8, ch_whole(), 0, 0), CBK_ERR_BUFFER_TOO_SMALL);
    rec_free(&r);
}

/* ---------------------------------------------------------------------------
 * 5. skip, capture, keep, mark/release
 * ------------------------------------------------------------------------- */

static void test_skip_from_key(void) {
    rec r;
    const char *doc =
        "{\"a\":1,\"skip\":{\"x\":[1,{\"y\":2}],\"z\":\"s\"},\"b\":2,\"skip\":[1,2],\"c\":\"x\","
        "\"skip\":\"str\\u00e9\",\"d\":null,\"skip\":3,\"e\":true,\"skip\":{},\"f\":[],\"skip\":"
        "false,\"skip\":-1.5e3}";
    rec_init(&r);
    r.skip_key = "skip";
    check_chunkings(&r, doc, strlen(doc), 0, 16,
                    "{0 K1\"a\" N1\"1\" K1\"skip\" K1\"b\" N1\"2\" K1\"skip\" K1\"c\" S1\"x\" "
                    "K1\"skip\" K1\"d\" Z1 K1\"skip\" K1\"e\" T1 K1\"skip\" K1\"f\" [1 ]1 "
                    "K1\"skip\" K1\"skip\" }0 =CBK_OK",
                    200);
    /* nested: skipping inside an inner object */
    doc = "[{\"skip\":[[[\"deep\"]]],\"k\":{\"skip\":{\"a\":1},\"m\":0}},5]";
    check_chunkings(
        &r, doc, strlen(doc), 0, 16,
        "[0 {1 K2\"skip\" K2\"k\" {2 K3\"skip\" K3\"m\" N3\"0\" }2 }1 N1\"5\" ]0 =CBK_OK", 100);
    /* a skipped value is not copied: a long string longer than the buffer
       passes in any chunking */
    {
        static char big[600];
        size_t n = 0, k;
        memcpy(big, "{\"skip\":\"", 9);
        n = 9;
        for (k = 0; k < 500; k++) big[n++] = (char)('a' + k % 26);
        memcpy(big + n, "\\n\",\"skip\":12345678901234567890,\"z\":0}", 38);
        n += 38;
        check_chunkings(&r, big, n, 0, 8, "{0 K1\"skip\" K1\"skip\" K1\"z\" N1\"0\" }0 =CBK_OK",
                        50);
    }
    /* everything skipped is still checked */
    {
        static const tdoc bad[] = {
            D("{\"skip\":\"\\uD800\"}"),  D("{\"skip\":[01]}"), D("{\"skip\":[1,]}"),
            D("{\"skip\":\"\xc0\xaf\"}"), D("{\"skip\":tru}"),  D("{\"skip\":{\"a\"}}"),
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK_EQ(run_doc(&r, bad[i].s, bad[i].len, ch_whole(), 0, 16), CBK_ERR_PARSE);
            CHECK_EQ(run_doc(&r, bad[i].s, bad[i].len, ch_bytes(), 0, 16), CBK_ERR_PARSE);
        }
    }
    rec_free(&r);
}

static void test_skip_from_begin(void) {
    rec r;
    const char *doc = "[[1,[2,3],{\"a\":4}],5,{\"k\":[6]},{},[]]";
    rec_init(&r);
    r.skip_begin_depth = 1;
    check_chunkings(&r, doc, strlen(doc), 0, 16, "[0 [1 ]1 N1\"5\" {1 }1 {1 }1 [1 ]1 ]0 =CBK_OK",
                    200);
    r.skip_begin_depth = 0;
    check_chunkings(&r, doc, strlen(doc), 0, 16, "[0 ]0 =CBK_OK", 100);
    doc = "{\"a\":{\"b\":1,\"c\":[2,{\"x\":\"y\"}]},\"d\":3,\"e\":[{\"f\":1}]}";
    r.skip_begin_depth = 1;
    check_chunkings(&r, doc, strlen(doc), 0, 16,
                    "{0 K1\"a\" {1 }1 K1\"d\" N1\"3\" K1\"e\" [1 ]1 }0 =CBK_OK", 200);
    r.skip_begin_depth = 2;
    check_chunkings(&r, doc, strlen(doc), 0, 16,
                    "{0 K1\"a\" {1 K2\"b\" N2\"1\" K2\"c\" [2 ]2 }1 K1\"d\" N1\"3\" K1\"e\" [1 {2 "
                    "}2 ]1 }0 =CBK_OK",
                    100);
    /* still checked */
    r.skip_begin_depth = 0;
    CHECK_EQ(run_doc(&r, "[[1,]]", 6, ch_whole(), 0, 16), CBK_ERR_PARSE);
    CHECK_EQ(run_doc(&r, "{\"a\":[\"\\x\"]}", 12, ch_whole(), 0, 16), CBK_ERR_PARSE);
    rec_free(&r);
}

static int skip_on_scalar_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    rec_cb(user, j, t);
    if (t->type == CBK_JSON_NUMBER || t->type == CBK_JSON_STRING) {
        cbk_json_skip(j);
        cbk_json_capture(j);
    }
    return 0;
}

static void test_skip_capture_elsewhere_ignored(void) {
    rec r;
    cbk_json j;
    const char *doc = "[1,\"a\",[2],{\"k\":3}]";
    char buf[32];
    rec_init(&r);
    rec_puts(&r, "");
    cbk_json_init(&j, buf, sizeof buf, 0, skip_on_scalar_cb, &r);
    CHECK_EQ(cbk_json_feed(&j, doc, strlen(doc)), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK_STR(r.s, "[0 N1\"1\" S1\"a\" [1 N2\"2\" ]1 {1 K2\"k\" N2\"3\" }1 ]0 ");
    rec_free(&r);
}

static void test_capture(void) {
    static const char *values[] = {
        "{ \"x\" : [1, 2 ,{\"y\":\"\\u00e9\\n\"}], \"z\":null }",
        "[ 1 ,\n\t[ ], { } ,\"\\\"]\" ]",
        "\"a\\\"b\\\\\\u0041\\ud83d\\ude00\xc3\xa9}\"",
        "-12.5e+3",
        "0",
        "12345678901234567890",
        "true",
        "false",
        "null",
        "{}",
        "[]",
        "\"\"",
    };
    static const char *frames[][2] = {
        {"{\"k\":0,\"cap\":", ",\"after\":[1]}"},
        {"{\"cap\":", "}"},
        {"[{\"x\":1, \"cap\" :\t ", " \n}]"},
    };
    size_t v, f;
    rec r;
    rec_init(&r);
    r.capture_key = "cap";
    for (v = 0; v < sizeof values / sizeof values[0]; v++) {
        for (f = 0; f < sizeof frames / sizeof frames[0]; f++) {
            char doc[256], expect[512];
            rec x;
            size_t vlen = strlen(values[v]);
            snprintf(doc, sizeof doc, "%s%s%s", frames[f][0], values[v], frames[f][1]);
            rec_init(&x);
            if (f == 0)
                rec_puts(&x, "{0 K1\"k\" N1\"0\" K1\"cap\" R1\"");
            else if (f == 1)
                rec_puts(&x, "{0 K1\"cap\" R1\"");
            else
                rec_puts(&x, "[0 {1 K2\"x\" N2\"1\" K2\"cap\" R2\"");
            rec_text(&x, values[v], vlen);
            if (f == 0)
                rec_puts(&x, "\" K1\"after\" [1 N2\"1\" ]1 }0 =CBK_OK");
            else if (f == 1)
                rec_puts(&x, "\" }0 =CBK_OK");
            else
                rec_puts(&x, "\" }1 ]0 =CBK_OK");
            snprintf(expect, sizeof expect, "%s", x.s);
            rec_free(&x);
            /* exactly fits: the raw text and its NUL (the key "after" needs 6) */
            check_chunkings(&r, doc, strlen(doc), 0, vlen + 1 > 6 ? vlen + 1 : 6, expect, 60);
        }
        /* one byte short: BUFFER_TOO_SMALL in every chunking */
        {
            char doc[256];
            size_t vlen = strlen(values[v]), k;
            snprintf(doc, sizeof doc, "{\"cap\":%s}", values[v]);
            for (k = 0; k <= strlen(doc); k++) {
                chunking ch = k == 0 ? ch_bytes() : ch_split(k);
                cbk_result res = run_doc(&r, doc, strlen(doc), ch, 0, vlen);
                CHECK_EQ(res, CBK_ERR_BUFFER_TOO_SMALL);
                CHECK(strstr(r.s, "GUARD") == NULL);
                if (res != CBK_ERR_BUFFER_TOO_SMALL) break;
            }
        }
    }
    /* TRUNCATE does not cut a capture: one that does not fit comes as its
       first byte, marked truncated, and the document goes on */
    CHECK_EQ(run_doc(&r, "{\"cap\":\"abcdefgh\",\"b\":1}", 24, ch_whole(), CBK_JSON_TRUNCATE, 8),
             CBK_OK);
    CHECK(strstr(r.s, "R1\"\\\"\"!") != NULL);
    CHECK(strstr(r.s, "N1\"1\"") != NULL);
    CHECK_EQ(
        run_doc(&r, "{\"cap\":[\"abcdefgh\",{}],\"b\":1}", 29, ch_bytes(), CBK_JSON_TRUNCATE, 8),
        CBK_OK);
    CHECK(strstr(r.s, "R1\"[\"!") != NULL);
    /* without any buffer a capture cannot be delivered */
    CHECK_EQ(run_doc(&r, "{\"cap\":1}", 9, ch_whole(), 0, 0), CBK_ERR_BUFFER_TOO_SMALL);
    /* captured values are still checked */
    CHECK_EQ(run_doc(&r, "{\"cap\":[1,]}", 12, ch_whole(), 0, 64), CBK_ERR_PARSE);
    CHECK_EQ(run_doc(&r, "{\"cap\":\"\\uDC00\"}", 16, ch_bytes(), 0, 64), CBK_ERR_PARSE);
    /* the RAW text is NUL-terminated, after the kept bytes: keep the key,
       then capture; the key survives and RAW follows it */
    r.keep_key = 1;
    {
        const char *doc = "{\"cap\":{\"a\":[1,2]},\"z\":0}";
        size_t k;
        for (k = 0; k <= strlen(doc); k++) {
            chunking ch = k == 0 ? ch_bytes() : ch_split(k);
            CHECK_EQ(run_doc(&r, doc, strlen(doc), ch, 0, 4 + 12), CBK_OK);
            CHECK_STR(r.s, "{0 K1\"cap\" R1\"{\\\"a\\\":[1,2]}\" K1\"z\" N1\"0\" }0 =CBK_OK");
            CHECK(r.kept_intact);
            CHECK(r.raw_after_kept);
            /* one byte less: the kept key takes its room */
            CHECK_EQ(run_doc(&r, doc, strlen(doc), ch, 0, 4 + 11), CBK_ERR_BUFFER_TOO_SMALL);
        }
    }
    rec_free(&r);
}

/* Records RAW texts' NUL termination. */
static int raw_nul_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    int *ok = (int *)user;
    if (t->type == CBK_JSON_KEY) cbk_json_capture(j);
    if (t->type == CBK_JSON_RAW && t->text[t->len] != 0) *ok = 0;
    return 0;
}

static void test_capture_nul_terminated(void) {
    cbk_json j;
    char buf[64];
    int ok = 1;
    const char *doc = "{\"a\":[1, 2],\"b\":\"x\",\"c\":3}";
    memset(buf, 'X', sizeof buf);
    cbk_json_init(&j, buf, sizeof buf, 0, raw_nul_cb, &ok);
    CHECK_EQ(cbk_json_feed(&j, doc, 9), CBK_OK);
    CHECK_EQ(cbk_json_feed(&j, doc + 9, strlen(doc) - 9), CBK_OK);
    CHECK_EQ(cbk_json_finish(&j), CBK_OK);
    CHECK(ok);
}

/* keep: every text kept stays valid to the end; mark/release reuse room. */
typedef struct keeper {
    const char *kept[16];
    int n, failed;
    size_t mark;
    int use_mark;
    const char *first_in_group[4];
    int groups;
} keeper;

static int keeper_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    keeper *k = (keeper *)user;
    if (k->use_mark && t->type == CBK_JSON_ARRAY_BEGIN && t->depth == 1) {
        k->mark = cbk_json_mark(j);
        k->first_in_group[k->groups] = NULL;
    }
    if (has_text(t->type)) {
        const char *out = (const char *)1;
        if (cbk_json_keep(j, t, &out)) {
            k->failed++;
            if (out != NULL) k->failed += 100; /* *out is NULL on failure */
        } else if (k->n < 16) {
            k->kept[k->n++] = out;
            if (k->use_mark && !k->first_in_group[k->groups]) k->first_in_group[k->groups] = out;
        }
    }
    if (k->use_mark && t->type == CBK_JSON_ARRAY_END && t->depth == 1) {
        cbk_json_release(j, k->mark);
        k->groups++;
    }
    return 0;
}

static cbk_result keep_run(const char *doc, chunking ch, char *buf, size_t size, keeper *k) {
    cbk_json j;
    size_t pos = 0, len = strlen(doc);
    cbk_result res = CBK_OK;
    rng_seed(ch.seed);
    cbk_json_init(&j, buf, size, 0, keeper_cb, k);
    while (pos < len && !res) {
        size_t n = ch_next(&ch, pos, len);
        char *c = (char *)malloc(n);
        if (!c) abort();
        memcpy(c, doc + pos, n);
        res = cbk_json_feed(&j, c, n);
        memset(c, 0xA5, n);
        free(c);
        pos += n;
    }
    return res ? res : cbk_json_finish(&j);
}

static void test_keep(void) {
    const char *doc = "[\"one\",\"two\\n\",{\"k\":\"three\"},4,\"last\"]";
    /* kept: one\0 two\n\0 k\0 three\0 4\0 last\0 = 4+5+2+6+2+5 */
    enum { need = 24 };
    size_t s;
    for (s = 0; s < 60; s++) {
        char area[need + GUARD];
        keeper k;
        size_t i;
        cbk_result res;
        chunking ch = s == 0 ? ch_whole() : s == 1 ? ch_bytes() : ch_random((uint32_t)s);
        memset(area, GUARD_BYTE, sizeof area);
        memset(&k, 0, sizeof k);
        CHECK_EQ(keep_run(doc, ch, area, need, &k), CBK_OK);
        CHECK_EQ(k.failed, 0);
        REQUIRE(k.n == 6);
        CHECK_STR(k.kept[0], "one");
        CHECK_STR(k.kept[1], "two\n");
        CHECK_STR(k.kept[2], "k");
        CHECK_STR(k.kept[3], "three");
        CHECK_STR(k.kept[4], "4");
        CHECK_STR(k.kept[5], "last");
        CHECK(k.kept[0] == area);
        CHECK(k.kept[5] == area + need - 5);
        for (i = need; i < sizeof area; i++) CHECK((unsigned char)area[i] == GUARD_BYTE);
        /* one byte short: the last keep fails (or, when "last" must be
           joined, the feed does), cleanly; what was kept stays */
        memset(area, GUARD_BYTE, sizeof area);
        memset(&k, 0, sizeof k);
        res = keep_run(doc, ch, area, need - 1, &k);
        CHECK(res == CBK_ERR_BUFFER_TOO_SMALL || (res == CBK_OK && k.failed == 1));
        CHECK(k.failed < 100);
        CHECK_EQ(k.n, 5);
        CHECK_STR(k.kept[4], "4");
        for (i = need - 1; i < sizeof area; i++) CHECK((unsigned char)area[i] == GUARD_BYTE);
    }
    /* no buffer: keep fails with BUFFER_TOO_SMALL and *out = NULL */
    {
        keeper k;
        memset(&k, 0, sizeof k);
        CHECK_EQ(keep_run("[\"a\"]", ch_whole(), NULL, 0, &k), CBK_OK);
        CHECK_EQ(k.failed, 1);
    }
}

static void test_mark_release(void) {
    const char *doc = "[[\"a\",\"bb\"],[\"c\",\"dd\"],[\"eee\"]]";
    size_t s;
    for (s = 0; s < 40; s++) {
        char buf[16];
        keeper k;
        chunking ch = s == 0 ? ch_whole() : s == 1 ? ch_bytes() : ch_random((uint32_t)(s + 99));
        memset(&k, 0, sizeof k);
        k.use_mark = 1;
        /* each group needs at most 5 bytes ("a\0bb\0"); released after it */
        CHECK_EQ(keep_run(doc, ch, buf, 6, &k), CBK_OK);
        CHECK_EQ(k.failed, 0);
        CHECK_EQ(k.groups, 3);
        CHECK(k.first_in_group[0] == buf);
        CHECK(k.first_in_group[1] == buf);
        CHECK(k.first_in_group[2] == buf);
        CHECK_STR(buf, "eee");
    }
    /* release to a mark above the kept bytes changes nothing */
    {
        cbk_json j;
        char buf[8];
        cbk_json_init(&j, buf, sizeof buf, 0, NULL, NULL);
        CHECK_EQ(cbk_json_mark(&j), 0);
        cbk_json_release(&j, 5);
        CHECK_EQ(cbk_json_mark(&j), 0);
    }
}

/* Captures every key's value and keeps each RAW text. */
static int keep_raw_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    keeper *k = (keeper *)user;
    const char *out;
    if (t->type == CBK_JSON_KEY) cbk_json_capture(j);
    if (t->type == CBK_JSON_RAW) {
        if (cbk_json_keep(j, t, &out))
            k->failed++;
        else if (k->n < 16)
            k->kept[k->n++] = out;
    }
    return 0;
}

static void test_capture_keep(void) {
    const char *doc = "{\"a\":[1, 2],\"b\":\"x\",\"c\":{\"d\":null},\"e\":-7}";
    size_t s, len = strlen(doc);
    for (s = 0; s < 40; s++) {
        /* [1, 2]\0 "x"\0 {"d":null}\0 -7\0 = 7 + 4 + 11 + 3, and room for
           a joined key */
        char buf[25 + 2];
        cbk_json j;
        keeper k;
        size_t pos = 0;
        cbk_result res = CBK_OK;
        chunking ch = s == 0 ? ch_whole() : s == 1 ? ch_bytes() : ch_random((uint32_t)(s + 7));
        memset(&k, 0, sizeof k);
        rng_seed(ch.seed);
        cbk_json_init(&j, buf, sizeof buf, 0, keep_raw_cb, &k);
        while (pos < len && !res) {
            size_t n = ch_next(&ch, pos, len);
            res = cbk_json_feed(&j, doc + pos, n);
            pos += n;
        }
        if (!res) res = cbk_json_finish(&j);
        CHECK_EQ(res, CBK_OK);
        CHECK_EQ(k.failed, 0);
        REQUIRE(k.n == 4);
        CHECK_STR(k.kept[0], "[1, 2]");
        CHECK_STR(k.kept[1], "\"x\"");
        CHECK_STR(k.kept[2], "{\"d\":null}");
        CHECK_STR(k.kept[3], "-7");
        CHECK(k.kept[0] == buf);
    }
}

/* ---------------------------------------------------------------------------
 * 6. JSON Lines
 * ------------------------------------------------------------------------- */

static void test_lines(void) {
    rec r;
    const char *doc = "{\"a\":1}\n[2]\n\n\"x\"\r\n3\n  \n\r\ntrue\n-4.5\nnull";
    rec_init(&r);
    check_chunkings(&r, doc, strlen(doc), CBK_JSON_LINES, 16,
                    "{0 K1\"a\" N1\"1\" }0 [0 N1\"2\" ]0 S0\"x\" N0\"3\" T0 N0\"-4.5\" Z0 =CBK_OK",
                    200);
    /* the last line may end with a number, with or without a newline */
    check_chunkings(&r, "1\n22\n333", 8, CBK_JSON_LINES, 8, "N0\"1\" N0\"22\" N0\"333\" =CBK_OK",
                    50);
    check_chunkings(&r, "1\r\n22\r\n", 7, CBK_JSON_LINES, 8, "N0\"1\" N0\"22\" =CBK_OK", 50);
    /* empty input and only blank lines: no line was left unfinished */
    CHECK_EQ(run_doc(&r, "", 0, ch_whole(), CBK_JSON_LINES, 8), CBK_OK);
    CHECK_EQ(run_doc(&r, "\n\r\n \n", 5, ch_whole(), CBK_JSON_LINES, 8), CBK_OK);
    /* refusals, in every chunking */
    {
        static const struct {
            const char *doc;
            int at_finish; /* refused by finish, not by feed */
        } bad[] = {
            {"[1,\n2]\n", 0}, /* a value spanning lines */
            {"{\"a\":\n1}\n", 0}, {"{\"a\"\n:1}\n", 0},   {"[\n]\n", 0},
            {"1 2\n", 0}, /* two values on one line */
            {"{}{}\n", 0},        {"1\n\"a\"\"b\"\n", 0}, {"1\r2\n", 0},
            {"1\n[2", 1}, /* an unfinished last line */
            {"1\n\"ab", 1},       {"1\n{\"a\":", 1},      {"1\ntru", 1},
            {"1\n-", 1},          {"[1,]\n2\n", 0},
        };
        size_t i, k;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            size_t len = strlen(bad[i].doc);
            for (k = 0; k <= len; k++) {
                chunking ch = k == 0 ? ch_bytes() : ch_split(k);
                cbk_result res = run_doc(&r, bad[i].doc, len, ch, CBK_JSON_LINES, 16);
                if (res != CBK_ERR_PARSE) {
                    fprintf(stderr, "  lines: \"%s\" split %lu gave %s\n", bad[i].doc,
                            (unsigned long)k, cbk_result_str(res));
                    test_failed_checks++;
                    break;
                }
            }
            if (bad[i].at_finish) {
                cbk_json j;
                char buf[16];
                cbk_json_init(&j, buf, sizeof buf, CBK_JSON_LINES, NULL, NULL);
                CHECK_EQ(cbk_json_feed(&j, bad[i].doc, len), CBK_OK);
                CHECK_EQ(cbk_json_finish(&j), CBK_ERR_PARSE);
            }
        }
    }
    /* without the flag, lines are just whitespace: one value only */
    CHECK_EQ(run_doc(&r, "1\n2\n", 4, ch_whole(), 0, 8), CBK_ERR_PARSE);
    CHECK_EQ(run_doc(&r, "[1,\n2]\n", 7, ch_whole(), 0, 8), CBK_OK);
    rec_free(&r);
}

/* ---------------------------------------------------------------------------
 * 7. Stopping from the callback
 * ------------------------------------------------------------------------- */

static void test_callback_stop(void) {
    static const struct {
        int code;
        cbk_result want;
    } cases[] = {
        {CBK_ERR_INVALID_ARGUMENT, CBK_ERR_INVALID_ARGUMENT},
        {CBK_ERR_BUFFER_TOO_SMALL, CBK_ERR_BUFFER_TOO_SMALL},
        {CBK_ERR_TRANSPORT, CBK_ERR_TRANSPORT},
        {CBK_ERR_HTTP, CBK_ERR_HTTP},
        {CBK_ERR_PARSE, CBK_ERR_PARSE},
        {CBK_ERR_CANCELLED, CBK_ERR_CANCELLED},
        {CBK_ERR_NOT_FOUND, CBK_ERR_NOT_FOUND},
        {CBK_ERR_NOT_FOUND + 1, CBK_ERR_CANCELLED},
        {1000, CBK_ERR_CANCELLED},
        {-1, CBK_ERR_CANCELLED},
        {INT32_MIN, CBK_ERR_CANCELLED},
    };
    const char *doc = "[1,\"two\",{\"k\":3},4]";
    size_t i, len = strlen(doc);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int stop_at;
        for (stop_at = 1; stop_at <= 8; stop_at++) {
            int s;
            for (s = 0; s < 2; s++) {
                rec r;
                cbk_json j;
                char buf[16];
                size_t pos = 0;
                cbk_result res = CBK_OK;
                rec_init(&r);
                rec_puts(&r, "");
                r.stop_at = stop_at;
                r.stop_code = cases[i].code;
                cbk_json_init(&j, buf, sizeof buf, 0, rec_cb, &r);
                while (pos < len && !res) {
                    size_t n = s == 0 ? len : 1;
                    res = cbk_json_feed(&j, doc + pos, n);
                    pos += n;
                }
                CHECK_EQ(res, cases[i].want);
                CHECK_EQ(r.tokens, stop_at); /* nothing after the stop */
                /* sticky: more feeds and finish return the same */
                CHECK_EQ(cbk_json_feed(&j, "]", 1), cases[i].want);
                CHECK_EQ(cbk_json_feed(&j, doc, len), cases[i].want);
                CHECK_EQ(cbk_json_finish(&j), cases[i].want);
                CHECK_EQ(r.tokens, stop_at);
                rec_free(&r);
            }
        }
    }
    /* stopping at the last token of a complete text still fails it */
    {
        rec r;
        rec_init(&r);
        r.stop_at = 1;
        r.stop_code = 1000;
        CHECK_EQ(run_doc(&r, "7", 1, ch_whole(), 0, 8), CBK_ERR_CANCELLED);
        CHECK_EQ(r.tokens, 1);
        rec_free(&r);
    }
}

/* ---------------------------------------------------------------------------
 * 8. cbk_json_int64
 * ------------------------------------------------------------------------- */

static void test_int64(void) {
    static const struct {
        const char *text;
        int64_t want;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"-7", -7},
        {"1234567890123", 1234567890123LL},
        {"-1234567890123", -1234567890123LL},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"9223372036854775807.999", INT64_MAX},
        {"-9223372036854775808.999", INT64_MIN},
        {"-2.9", -2},
        {"1.999", 1},
        {"0.5", 0},
        {"-0.5", 0},
        {"1.7e3", 1700},
        {"1.7E+3", 1700},
        {"17E-1", 1},
        {"-17e-1", -1},
        {"1e18", 1000000000000000000LL},
        {"-1e18", -1000000000000000000LL},
        {"0e999999999", 0},
        {"0.0e99999999999999999999", 0},
        {"1e-999999", 0},
        {"1e-99999999999999999999", 0},
        {"123456789012345678901234567890e-12", 123456789012345678LL},
        {"1700000000000.5", 1700000000000LL},
        {"1.7e12", 1700000000000LL},
        {"0.000001e6", 1},
        {"9.223372036854775807e18", INT64_MAX},
        {"-9.223372036854775808e18", INT64_MIN},
        {"92233720368547758070e-1", INT64_MAX},
        {"1e0", 1},
        {"1E-0", 1},
        {"10e-1", 1},
        {"99e-2", 0},
    };
    static const char *bad[] = {
        "9223372036854775808",
        "-9223372036854775809",
        "9223372036854775808.0",
        "1e19",
        "-1e19",
        "9.223372036854775808e18",
        "123456789012345678901234567890e-10",
        "1e999999999999",
        "",
        "-",
        "01",
        "-01",
        "1.",
        ".1",
        "1e",
        "1e+",
        "1E-",
        "+1",
        " 1",
        "1 ",
        "0x10",
        "NaN",
        "Infinity",
        "1.5.2",
        "1e5e5",
        "--1",
        "1..2",
        "\"1\"",
    };
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 42;
        cbk_result r = cbk_json_int64(ok[i].text, strlen(ok[i].text), &v);
        if (r != CBK_OK || v != ok[i].want)
            fprintf(stderr, "  int64(\"%s\") = %s %lld\n", ok[i].text, cbk_result_str(r),
                    (long long)v);
        CHECK_EQ(r, CBK_OK);
        CHECK(v == ok[i].want);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        cbk_result r = cbk_json_int64(bad[i], strlen(bad[i]), &v);
        if (r != CBK_ERR_PARSE)
            fprintf(stderr, "  int64(\"%s\") = %s %lld\n", bad[i], cbk_result_str(r), (long long)v);
        CHECK_EQ(r, CBK_ERR_PARSE);
    }
    /* len counts, not a NUL */
    {
        int64_t v = 0;
        CHECK_EQ(cbk_json_int64("12345", 3, &v), CBK_OK);
        CHECK_EQ(v, 123);
        CHECK_EQ(cbk_json_int64("1\0"
                                "2",
                                3, &v),
                 CBK_ERR_PARSE);
    }
    /* a text exactly sized on the heap: no read past len */
    {
        int64_t v = 0;
        char *p = (char *)malloc(4);
        if (!p) abort();
        memcpy(p, "-1e2", 4);
        CHECK_EQ(cbk_json_int64(p, 4, &v), CBK_OK);
        CHECK_EQ(v, -100);
        memcpy(p, "12.5", 4);
        CHECK_EQ(cbk_json_int64(p, 4, &v), CBK_OK);
        CHECK_EQ(v, 12);
        CHECK_EQ(cbk_json_int64(p, 3, &v), CBK_ERR_PARSE); /* "12." */
        free(p);
    }
    CHECK_EQ(cbk_json_int64("1", 1, NULL), CBK_ERR_INVALID_ARGUMENT);
    {
        int64_t v;
        CHECK_EQ(cbk_json_int64(NULL, 0, &v), CBK_ERR_INVALID_ARGUMENT);
    }
}

/* Every NUMBER the tokenizer delivers is a text cbk_json_int64 reads. */
static int int64_cb(void *user, cbk_json *j, const cbk_json_token *t) {
    int64_t *sum = (int64_t *)user, v;
    (void)j;
    if (t->type == CBK_JSON_NUMBER) {
        if (cbk_json_int64(t->text, t->len, &v)) return CBK_ERR_PARSE;
        *sum += v;
    }
    return 0;
}

static void test_int64_from_tokens(void) {
    const char *doc = "[1700000000000,-2.9,1.7e3,17E-1,0,-0.0,1e-5]";
    size_t k, len = strlen(doc);
    for (k = 0; k <= len; k++) {
        cbk_json j;
        char buf[32];
        int64_t sum = 0;
        cbk_json_init(&j, buf, sizeof buf, 0, int64_cb, &sum);
        CHECK_EQ(cbk_json_feed(&j, doc, k), CBK_OK);
        CHECK_EQ(cbk_json_feed(&j, doc + k, len - k), CBK_OK);
        CHECK_EQ(cbk_json_finish(&j), CBK_OK);
        CHECK(sum == 1700000000000LL - 2 + 1700 + 1);
    }
}

/* ---------------------------------------------------------------------------
 * 9. cbk_json_get_string
 * ------------------------------------------------------------------------- */

static void test_get_string(void) {
    static const struct {
        const char *json, *key;
        cbk_result want;
        const char *value;
    } cases[] = {
        {"{\"a\":\"x\",\"b\":\"hello\"}", "b", CBK_OK, "hello"},
        {"{\"a\":\"x\",\"b\":\"hello\"}", "a", CBK_OK, "x"},
        {" \n{ \"k\" : \"v\" }\t", "k", CBK_OK, "v"},
        {"{\"a\":\"x\"}", "b", CBK_ERR_NOT_FOUND, ""},
        {"{}", "a", CBK_ERR_NOT_FOUND, ""},
        {"{\"a\":\"x\"}", "", CBK_ERR_NOT_FOUND, ""},
        {"{\"\":\"empty\"}", "", CBK_OK, "empty"},
        {"{\"a\":\"x\"}", "A", CBK_ERR_NOT_FOUND, ""},
        {"{\"ab\":\"x\"}", "a", CBK_ERR_NOT_FOUND, ""},
        {"{\"a\":\"x\"}", "ab", CBK_ERR_NOT_FOUND, ""},
        {"{\"ke\":\"1\",\"key2\":\"2\",\"key\":\"3\"}", "key", CBK_OK, "3"},
        /* duplicates: the last wins */
        {"{\"k\":\"first\",\"k\":\"second\"}", "k", CBK_OK, "second"},
        {"{\"k\":\"first\",\"x\":1,\"k\":\"second\",\"y\":[]}", "k", CBK_OK, "second"},
        {"{\"k\":1,\"k\":\"s\"}", "k", CBK_OK, "s"},
        {"{\"k\":\"s\",\"k\":1}", "k", CBK_ERR_PARSE, ""},
        /* nested keys are not top-level keys */
        {"{\"o\":{\"k\":\"inner\"},\"a\":[\"k\",\"v\"]}", "k", CBK_ERR_NOT_FOUND, ""},
        {"{\"o\":{\"k\":\"inner\"},\"k\":\"outer\"}", "k", CBK_OK, "outer"},
        {"{\"o\":[{\"k\":\"a\"},[\"k\"]],\"k\":\"outer\",\"p\":{\"k\":\"b\"}}", "k", CBK_OK,
         "outer"},
        /* values that look like keys or brackets are skipped over */
        {"{\"x\":\"\\\"k\\\":\\\"no\\\"\",\"k\":\"yes\"}", "k", CBK_OK, "yes"},
        {"{\"x\":\"\\\\\",\"k\":\"yes\"}", "k", CBK_OK, "yes"},
        {"{\"x\":[\"]}\",{\"a\":\"}\"}],\"k\":\"yes\"}", "k", CBK_OK, "yes"},
        {"{\"x\":-1.5e3 ,\"y\":true,\"z\":null,\"w\":false,\"k\":\"yes\"}", "k", CBK_OK, "yes"},
        /* escaped keys match after decoding */
        {"{\"\\u006b\\u0065y\":\"v\"}", "key", CBK_OK, "v"},
        {"{\"t\\\"q\":\"w\"}", "t\"q", CBK_OK, "w"},
        {"{\"a\\/b\":\"w\"}", "a/b", CBK_OK, "w"},
        {"{\"\\ud83d\\ude00\":\"smile\"}", "\xf0\x9f\x98\x80", CBK_OK, "smile"},
        {"{\"\xc3\xa9\":\"raw\"}", "\\u00e9", CBK_ERR_NOT_FOUND, ""},
        {"{\"\\u00e9\":\"esc\"}", "\xc3\xa9", CBK_OK, "esc"},
        {"{\"k\\u0000x\":\"a\",\"k\":\"b\"}", "k", CBK_OK, "b"},
        {"{\"k\\n\":\"nl\"}", "k\n", CBK_OK, "nl"},
        /* each escaped key is compared from the key's start */
        {"{\"\\u0061\":\"x\",\"\\u0062\":\"y\"}", "ab", CBK_ERR_NOT_FOUND, ""},
        {"{\"\\u0061b\":\"x\",\"\\u0061bc\":\"y\"}", "abc", CBK_OK, "y"},
        {"{\"\\u0061x\":\"x\",\"\\u0061b\":\"y\"}", "ab", CBK_OK, "y"},
        /* values are decoded */
        {"{\"k\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u20AC\"}", "k", CBK_OK,
         "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac"},
        {"{\"k\":\"\xe2\x82\xac raw\"}", "k", CBK_OK, "\xe2\x82\xac raw"},
        {"{\"k\":\"\"}", "k", CBK_OK, ""},
        /* not a string */
        {"{\"k\":1}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":null}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":true}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":{}}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":[\"x\"]}", "k", CBK_ERR_PARSE, ""},
        /* not an object */
        {"[\"k\",\"v\"]", "k", CBK_ERR_NOT_FOUND, ""},
        {"\"k\"", "k", CBK_ERR_NOT_FOUND, ""},
        {"1", "k", CBK_ERR_NOT_FOUND, ""},
        {" null ", "k", CBK_ERR_NOT_FOUND, ""},
        /* invalid JSON */
        {"{\"k\":\"v\"", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":\"v\",}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":\"v\"}x", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":\"\\uD800\"}", "k", CBK_ERR_PARSE, ""},
        {"{\"k\":\"v\"}{}", "k", CBK_ERR_PARSE, ""},
        {"", "k", CBK_ERR_PARSE, ""},
        {"{k:\"v\"}", "k", CBK_ERR_PARSE, ""},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        size_t len = strlen(cases[i].json);
        char *copy = (char *)malloc(len ? len : 1); /* exact size: no reads past len */
        cbk_result r;
        if (!copy) abort();
        memcpy(copy, cases[i].json, len);
        memset(out, 'X', sizeof out);
        r = cbk_json_get_string(copy, len, cases[i].key, out, sizeof out);
        free(copy);
        if (r != cases[i].want || strcmp(out, cases[i].value) != 0)
            fprintf(stderr, "  get_string(%s, \"%s\") = %s \"%s\"\n", cases[i].json, cases[i].key,
                    cbk_result_str(r), out);
        CHECK_EQ(r, cases[i].want);
        CHECK_STR(out, cases[i].value);
    }
    /* a decoded NUL is written as is */
    {
        char out[8];
        memset(out, 'X', sizeof out);
        CHECK_EQ(cbk_json_get_string("{\"k\":\"a\\u0000b\"}", 16, "k", out, sizeof out), CBK_OK);
        CHECK(memcmp(out, "a\0b", 4) == 0);
    }
    /* len counts */
    {
        char out[8];
        CHECK_EQ(cbk_json_get_string("{\"k\":\"v\"}garbage", 9, "k", out, sizeof out), CBK_OK);
        CHECK_STR(out, "v");
    }
    /* bad arguments */
    {
        char out[8];
        CHECK_EQ(cbk_json_get_string(NULL, 0, "k", out, sizeof out), CBK_ERR_INVALID_ARGUMENT);
        CHECK_EQ(cbk_json_get_string("{}", 2, NULL, out, sizeof out), CBK_ERR_INVALID_ARGUMENT);
        CHECK_EQ(cbk_json_get_string("{}", 2, "k", NULL, 8), CBK_ERR_INVALID_ARGUMENT);
        CHECK_EQ(cbk_json_get_string("{}", 2, "k", out, 0), CBK_ERR_INVALID_ARGUMENT);
    }
}

static void test_get_string_out_size(void) {
    static const struct {
        const char *json;
        size_t need; /* decoded bytes, NUL excluded */
        const char *value;
    } cases[] = {
        {"{\"k\":\"hello\"}", 5, "hello"},
        {"{\"k\":\"\\u00e9\\ud83d\\ude00\"}", 6, "\xc3\xa9\xf0\x9f\x98\x80"},
        {"{\"k\":\"a\\nb\\\\\"}", 4, "a\nb\\"},
        {"{\"k\":\"\"}", 0, ""},
        {"{\"k\":\"x\",\"k\":\"longer value\"}", 12, "longer value"},
    };
    size_t i, g;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char area[64];
        size_t n = cases[i].need;
        int guard_ok = 1;
        /* exactly fitting */
        memset(area, GUARD_BYTE, sizeof area);
        CHECK_EQ(cbk_json_get_string(cases[i].json, strlen(cases[i].json), "k", area, n + 1),
                 CBK_OK);
        CHECK_STR(area, cases[i].value);
        for (g = n + 1; g < sizeof area; g++)
            if ((unsigned char)area[g] != GUARD_BYTE) guard_ok = 0;
        CHECK(guard_ok);
        /* one byte short: BUFFER_TOO_SMALL, out is "" and nothing partial */
        if (n == 0) continue;
        memset(area, GUARD_BYTE, sizeof area);
        CHECK_EQ(cbk_json_get_string(cases[i].json, strlen(cases[i].json), "k", area, n),
                 CBK_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(area[0], 0);
        for (g = 1; g < n; g++) CHECK(area[g] == 0 || (unsigned char)area[g] == GUARD_BYTE);
        for (g = n; g < sizeof area; g++)
            if ((unsigned char)area[g] != GUARD_BYTE) guard_ok = 0;
        CHECK(guard_ok);
        /* out_size 1 */
        memset(area, GUARD_BYTE, sizeof area);
        CHECK_EQ(cbk_json_get_string(cases[i].json, strlen(cases[i].json), "k", area, 1),
                 CBK_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(area[0], 0);
        CHECK_EQ((unsigned char)area[1], GUARD_BYTE);
    }
}

/* Keys are compared as the tokenizer reads them, not kept: an escaped key
   of any length is found (or told apart) whatever out's size, and the
   last duplicate decides even when an earlier one's value did not fit. */
static void test_get_string_long_keys(void) {
    static const char want[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const struct {
        const char *json;
        size_t out_size;
        cbk_result want;
        const char *value;
    } cases[] = {
        /* the wanted key written with escapes, out far shorter than it */
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY\\u005a\":\"v\"}",
         2, CBK_OK, "v"},
        {"{\"x\":1,\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"in "
         "place\"}",
         9, CBK_OK, "in place"},
        /* one byte off, at the end, past it, short of it */
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY\\u005b\":\"v\"}",
         2, CBK_ERR_NOT_FOUND, ""},
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\\n\":\"v\"}", 2,
         CBK_ERR_NOT_FOUND, ""},
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY\":\"v\"}", 2,
         CBK_ERR_NOT_FOUND, ""},
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY\\u0000\":\"v\"}",
         2, CBK_ERR_NOT_FOUND, ""},
        /* a nested key of the same text is not the top level's */
        {"{\"o\":{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"v\"}}",
         2, CBK_ERR_NOT_FOUND, ""},
        /* the last duplicate decides */
        {"{\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"too long\","
         "\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"ok\"}",
         3, CBK_OK, "ok"},
        {"{\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"ok\","
         "\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"too\\nlong\"}",
         3, CBK_ERR_BUFFER_TOO_SMALL, ""},
        {"{\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\":\"ok\","
         "\"\\u0061bcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY\":\"other\"}",
         3, CBK_OK, "ok"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16];
        cbk_result r;
        memset(out, 'X', sizeof out);
        r = cbk_json_get_string(cases[i].json, strlen(cases[i].json), want, out, cases[i].out_size);
        if (r != cases[i].want) fprintf(stderr, "  case %u: %s\n", (unsigned)i, cbk_result_str(r));
        CHECK_EQ(r, cases[i].want);
        CHECK_STR(out, cases[i].value);
        CHECK_EQ(out[cases[i].out_size], 'X'); /* nothing past out_size */
    }
}

/* ---------------------------------------------------------------------------
 * 10. cbk_json_offset
 * ------------------------------------------------------------------------- */

static void expect_offset(const char *doc, size_t len, size_t cut, uint64_t want) {
    cbk_json j;
    char buf[64];
    cbk_result r;
    cbk_json_init(&j, buf, sizeof buf, 0, NULL, NULL);
    r = cbk_json_feed(&j, doc, cut);
    if (!r) r = cbk_json_feed(&j, doc + cut, len - cut);
    CHECK_EQ(r, CBK_ERR_PARSE);
    if (cbk_json_offset(&j) != want) {
        fprintf(stderr, "  offset of \"%s\" (cut %lu) = %llu, expected %llu\n", doc,
                (unsigned long)cut, (unsigned long long)cbk_json_offset(&j),
                (unsigned long long)want);
        test_failed_checks++;
    }
}

static void test_offset_structural(void) {
    size_t k;
    /* the offending byte, in every two-chunk split */
    for (k = 0; k <= 4; k++) expect_offset("[1,]", 4, k, 3);
    for (k = 0; k <= 7; k++) expect_offset("{\"a\" 1}", 7, k, 5);
    for (k = 0; k <= 9; k++) expect_offset("{\"a\":1 x}", 9, k, 7);
    for (k = 0; k <= 6; k++) expect_offset("[1] [2]", 7, k, 4);
    for (k = 0; k <= 3; k++) expect_offset("[}", 2, k > 2 ? 2 : k, 1);
    /* success: the offset is all that was fed */
    {
        cbk_json j;
        cbk_json_init(&j, NULL, 0, 0, NULL, NULL);
        CHECK_EQ(cbk_json_feed(&j, "[1, ", 4), CBK_OK);
        CHECK_EQ(cbk_json_offset(&j), 4);
        CHECK_EQ(cbk_json_feed(&j, "2]", 2), CBK_OK);
        CHECK_EQ(cbk_json_offset(&j), 6);
    }
}

/* Inside a string, number or literal the offending byte is not the
   token's first byte. */
static void test_offset_inside_tokens(void) {
    size_t k;
    for (k = 0; k <= 5; k++) expect_offset("\"ab\x01\"", 5, k, 3);
    for (k = 0; k <= 4; k++) expect_offset("[01]", 4, k, 2);
    for (k = 0; k <= 5; k++) expect_offset("[tru]", 5, k, 4);
    for (k = 0; k <= 9; k++) expect_offset("[\"\\uD800x\"]", 10, k, 8);
    for (k = 0; k <= 6; k++) expect_offset("[\"\\q\"]", 6, k, 3);
    for (k = 0; k <= 6; k++) expect_offset("[\"\xc0\x80\"]", 6, k, 2);
}

/* ---------------------------------------------------------------------------
 * The suite
 * ------------------------------------------------------------------------- */

void suite_json(void) {
    RUN(test_jsontestsuite);
    RUN(test_transcripts_exact);
    RUN(test_transcripts_chunkings);
    RUN(test_utf8_every_split);
    RUN(test_strict_surrogates);
    RUN(test_strict_utf8);
    RUN(test_strict_control_chars);
    RUN(test_strict_every_position);
    RUN(test_init_ignores_other_flags);
    RUN(test_strict_numbers);
    RUN(test_strict_structure);
    RUN(test_strict_unfinished_at_finish);
    RUN(test_strict_depth);
    RUN(test_buffer_exact_fit);
    RUN(test_buffer_truncate);
    RUN(test_buffer_truncate_full);
    RUN(test_buffer_in_place);
    RUN(test_skip_from_key);
    RUN(test_skip_from_begin);
    RUN(test_skip_capture_elsewhere_ignored);
    RUN(test_capture);
    RUN(test_capture_keep);
    RUN(test_capture_nul_terminated);
    RUN(test_keep);
    RUN(test_mark_release);
    RUN(test_lines);
    RUN(test_callback_stop);
    RUN(test_int64);
    RUN(test_int64_from_tokens);
    RUN(test_get_string);
    RUN(test_get_string_out_size);
    RUN(test_get_string_long_keys);
    RUN(test_offset_structural);
    RUN(test_offset_inside_tokens);
}
