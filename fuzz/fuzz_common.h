/* fuzz_common.h - what the libFuzzer harnesses share.
 *
 *   - FZ_ASSERT: aborts with a message (libFuzzer then saves the input).
 *   - An independent JSON oracle: a small recursive-descent parser written
 *     from RFC 8259, not from cbk_token.h, that builds a DOM. The harnesses
 *     check the library's tokenizer and decoders against it.
 *   - An int64 oracle for JSON numbers (exact decimal, no floating point).
 *   - Chunked feeding: every chunk is copied into its own heap block that is
 *     freed as soon as the library returns, so a pointer the library keeps
 *     into an old chunk is a use-after-free under ASan.
 *   - Guarded buffers: bytes before and after a buffer that must survive.
 *   - Transcripts: what callbacks saw, length-prefixed, to compare runs.
 *
 * Each harness defines CBK_TOKEN_IMPLEMENTATION and includes cbk_token.h
 * before this file. Inputs are capped at FZ_MAX_INPUT (16 KiB, libFuzzer's
 * -max_len in `make fuzz`) and the big work buffers are FZ_WORK_BIG (40 KiB):
 * everything a decoder joins or keeps comes from the input (plus a NUL per
 * string), so CBK_ERR_BUFFER_TOO_SMALL can never depend on chunking there.
 * (Not 64 KiB: the library wipes the whole decoding region after every
 * failed operation, and that wipe dominates the run time.) */
#ifndef CBK_FUZZ_COMMON_H
#define CBK_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* helpers a harness may not use */
#define FZ_FN static __attribute__((unused))

#define FZ_MAX_INPUT 16384
#define FZ_WORK_BIG  40960
#define FZ_GUARD     32
#define FZ_SECRET    "sk-fuzz-SECRET-1234"

#define FZ_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FZ_ASSERT_MSG(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Hashing and pseudo-random numbers                                        */

FZ_FN uint64_t fz_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    while (n--) h = (h ^ *p++) * 0x100000001b3ull;
    return h;
}

FZ_FN uint64_t fz_rand(uint64_t *s) {
    /* xorshift64* */
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ------------------------------------------------------------------------ */
/* Growable byte buffers and transcripts                                    */

typedef struct fz_buf {
    unsigned char *p;
    size_t n, cap;
} fz_buf;

FZ_FN void fz_put(fz_buf *b, const void *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = (unsigned char *)realloc(b->p, cap);
        FZ_ASSERT(b->p != NULL);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* One field: a tag, then the length (or ~0 for NULL), then the bytes. */
FZ_FN void fz_put_field(fz_buf *b, char tag, const void *s, size_t n) {
    uint64_t len = s ? (uint64_t)n : ~(uint64_t)0;
    fz_put(b, &tag, 1);
    fz_put(b, &len, sizeof len);
    if (s) fz_put(b, s, n);
}

FZ_FN void fz_put_cstr(fz_buf *b, char tag, const char *s) {
    fz_put_field(b, tag, s, s ? strlen(s) : 0);
}

FZ_FN void fz_put_i64(fz_buf *b, char tag, int64_t v) {
    fz_put(b, &tag, 1);
    fz_put(b, &v, sizeof v);
}

FZ_FN void fz_free(fz_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

FZ_FN int fz_buf_eq(const fz_buf *a, const fz_buf *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

FZ_FN int fz_buf_is_prefix(const fz_buf *pre, const fz_buf *all) {
    return pre->n <= all->n && (pre->n == 0 || memcmp(pre->p, all->p, pre->n) == 0);
}

/* Occurrences of needle in hay (memchr for the first byte: the harnesses
   scan 64 KiB work buffers after every exchange). */
FZ_FN size_t fz_count(const void *hay, size_t n, const void *needle, size_t m) {
    const unsigned char *h = (const unsigned char *)hay, *nd = (const unsigned char *)needle;
    const unsigned char *p = h, *end = h + n;
    size_t k = 0;
    if (!m) return 1;
    while ((size_t)(end - p) >= m) {
        size_t i;
        p = (const unsigned char *)memchr(p, nd[0], (size_t)(end - p) - m + 1);
        if (!p) break;
        for (i = 1; i < m && p[i] == nd[i]; i++) {
        }
        if (i == m) k++;
        p++;
    }
    return k;
}

FZ_FN int fz_contains(const void *hay, size_t n, const void *needle, size_t m) {
    return fz_count(hay, n, needle, m) != 0;
}

/* ------------------------------------------------------------------------ */
/* UTF-8 (written from RFC 3629, independently of the library)              */

FZ_FN int fz_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0)
            need = 2, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC)
            need = 2;
        else if (c == 0xED)
            need = 2, hi = 0x9F;
        else if (c == 0xEE || c == 0xEF)
            need = 2;
        else if (c == 0xF0)
            need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4)
            need = 3, hi = 0x8F;
        else
            return 0;
        if (n - i < need + 1) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        {
            size_t k;
            for (k = 2; k <= need; k++)
                if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        }
        i += need + 1;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Guarded buffers                                                          */

/* Big buffers come from one reused static arena (fresh 64 KiB heap blocks
   cost a page fault per page on every exchange); small ones from the heap,
   where ASan's redzones add to the guard bytes. One big buffer at a time. */
#define FZ_ARENA_MIN 4096
static unsigned char fz_arena[FZ_WORK_BIG + 2 * FZ_GUARD];
static int fz_arena_used;

FZ_FN char *fz_guard_alloc(size_t size) {
    unsigned char *p;
    if (size >= FZ_ARENA_MIN && size <= FZ_WORK_BIG) {
        FZ_ASSERT(!fz_arena_used);
        fz_arena_used = 1;
        p = fz_arena + (FZ_WORK_BIG - size); /* the end guard is the arena's end */
    } else {
        p = (unsigned char *)malloc(size + 2 * FZ_GUARD);
        FZ_ASSERT(p != NULL);
    }
    memset(p, 0xA5, FZ_GUARD);
    memset(p + FZ_GUARD, 0x5A, size);
    memset(p + FZ_GUARD + size, 0xA5, FZ_GUARD);
    return (char *)(p + FZ_GUARD);
}

FZ_FN void fz_guard_check(const char *buf, size_t size) {
    const unsigned char *p = (const unsigned char *)buf - FZ_GUARD;
    size_t i;
    for (i = 0; i < FZ_GUARD; i++) {
        FZ_ASSERT_MSG(p[i] == 0xA5, "a byte before the buffer was written (offset -%zu)",
                      FZ_GUARD - i);
        FZ_ASSERT_MSG(p[FZ_GUARD + size + i] == 0xA5,
                      "a byte past the end of a %zu-byte buffer was written (offset +%zu)", size,
                      i);
    }
}

FZ_FN void fz_guard_free(char *buf) {
    unsigned char *p;
    if (!buf) return;
    p = (unsigned char *)buf - FZ_GUARD;
    if (p >= fz_arena && p < fz_arena + sizeof fz_arena)
        fz_arena_used = 0;
    else
        free(p);
}

/* ------------------------------------------------------------------------ */
/* Chunked feeding                                                          */

enum { FZ_WHOLE, FZ_BYTES, FZ_SPLIT };

typedef int (*fz_sink)(void *ctx, const char *data, size_t len); /* nonzero: stop */

/* Feeds data to sink in the given chunking; each chunk lives in its own
   heap block, freed right after the call. Returns 1 if the sink asked to
   stop. Split points come from seed (drawn from the input's hash). */
FZ_FN int fz_feed(const uint8_t *data, size_t len, int mode, uint64_t seed, fz_sink sink,
                  void *ctx) {
    size_t pos = 0;
    uint64_t s = seed;
    while (pos < len) {
        size_t n = len - pos;
        char *chunk;
        int rc;
        if (mode == FZ_BYTES) {
            n = 1;
        } else if (mode == FZ_SPLIT) {
            uint64_t r = fz_rand(&s);
            size_t k;
            switch (r & 3) {
            case 0: k = 1 + (size_t)((r >> 8) % 3); break;     /* tiny */
            case 1: k = 1 + (size_t)((r >> 8) % 17); break;    /* small */
            case 2: k = 1 + (size_t)((r >> 8) % 257); break;   /* medium */
            default: k = 1 + (size_t)((r >> 8) % 4096); break; /* large */
            }
            if (((r >> 40) & 15) == 0) {
                /* an empty chunk now and then: must be harmless */
                char empty = 0;
                if (sink(ctx, &empty, 0)) return 1;
            }
            if (k < n) n = k;
        }
        chunk = (char *)malloc(n);
        FZ_ASSERT(chunk != NULL);
        memcpy(chunk, data + pos, n);
        rc = sink(ctx, chunk, n);
        free(chunk);
        if (rc) return 1;
        pos += n;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The JSON oracle: a DOM from a strict RFC 8259 recursive-descent parser   */

enum { FZ_OBJ = 1, FZ_ARR, FZ_STR, FZ_NUM, FZ_TRUE, FZ_FALSE, FZ_NULL };

typedef struct fz_node {
    int type;
    size_t raw_off, raw_len; /* the value's exact source text */
    size_t str_off, str_len; /* FZ_STR: the decoded value in the arena */
    size_t key_off, key_len; /* a member of an object: its decoded key */
    int child, next;         /* first child; next sibling; -1 for none */
} fz_node;

typedef struct fz_doc {
    const unsigned char *src;
    size_t len, pos;
    fz_node *nodes;
    size_t nn, ncap;
    char *arena;
    size_t an;
    int root;
    int max_depth;
} fz_doc;

#define FZ_NODE(d, i) (&(d)->nodes[(i)])
#define FZ_STR(d, i)  ((d)->arena + FZ_NODE(d, i)->str_off)
#define FZ_KEY(d, i)  ((d)->arena + FZ_NODE(d, i)->key_off)
#define FZ_RAW(d, i)  ((const char *)(d)->src + FZ_NODE(d, i)->raw_off)

FZ_FN void fz_ws(fz_doc *d) {
    while (d->pos < d->len && (d->src[d->pos] == ' ' || d->src[d->pos] == '\t' ||
                               d->src[d->pos] == '\n' || d->src[d->pos] == '\r'))
        d->pos++;
}

FZ_FN int fz_hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

FZ_FN int fz_hex4(fz_doc *d, uint32_t *out) {
    uint32_t v = 0;
    int i;
    if (d->len - d->pos < 4) return 0;
    for (i = 0; i < 4; i++) {
        int h = fz_hexval(d->src[d->pos + (size_t)i]);
        if (h < 0) return 0;
        v = v << 4 | (uint32_t)h;
    }
    d->pos += 4;
    *out = v;
    return 1;
}

FZ_FN void fz_arena_cp(fz_doc *d, uint32_t cp) {
    char *o = d->arena + d->an;
    if (cp < 0x80) {
        o[0] = (char)cp;
        d->an += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        d->an += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        d->an += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        d->an += 4;
    }
}

/* At the opening quote. Decodes into the arena. */
FZ_FN int fz_string(fz_doc *d, size_t *off, size_t *len) {
    d->pos++;
    *off = d->an;
    for (;;) {
        unsigned char c;
        if (d->pos >= d->len) return 0;
        c = d->src[d->pos];
        if (c == '"') {
            d->pos++;
            *len = d->an - *off;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c == '\\') {
            uint32_t cp, lo;
            if (d->len - d->pos < 2) return 0;
            c = d->src[d->pos + 1];
            d->pos += 2;
            switch (c) {
            case '"': d->arena[d->an++] = '"'; break;
            case '\\': d->arena[d->an++] = '\\'; break;
            case '/': d->arena[d->an++] = '/'; break;
            case 'b': d->arena[d->an++] = '\b'; break;
            case 'f': d->arena[d->an++] = '\f'; break;
            case 'n': d->arena[d->an++] = '\n'; break;
            case 'r': d->arena[d->an++] = '\r'; break;
            case 't': d->arena[d->an++] = '\t'; break;
            case 'u':
                if (!fz_hex4(d, &cp)) return 0;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return 0;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (d->len - d->pos < 2 || d->src[d->pos] != '\\' || d->src[d->pos + 1] != 'u')
                        return 0;
                    d->pos += 2;
                    if (!fz_hex4(d, &lo)) return 0;
                    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                fz_arena_cp(d, cp);
                break;
            default: return 0;
            }
            continue;
        }
        if (c < 0x80) {
            d->arena[d->an++] = (char)c;
            d->pos++;
            continue;
        }
        {
            /* one UTF-8 sequence: find its length, then check it */
            size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (d->len - d->pos < k) k = d->len - d->pos;
            if (!fz_utf8_valid(d->src + d->pos, k) || k < 2) return 0;
            /* fz_utf8_valid accepted k bytes: they are exactly one sequence
               only if the lead says k; recheck the lead's length */
            if ((c >= 0xC2 && c <= 0xDF && k != 2) || (c >= 0xE0 && c <= 0xEF && k != 3) ||
                (c >= 0xF0 && c <= 0xF4 && k != 4))
                return 0;
            memcpy(d->arena + d->an, d->src + d->pos, k);
            d->an += k;
            d->pos += k;
        }
    }
}

FZ_FN int fz_number(fz_doc *d) {
    size_t p = d->pos;
    const unsigned char *s = d->src;
    if (p < d->len && s[p] == '-') p++;
    if (p >= d->len) return 0;
    if (s[p] == '0')
        p++;
    else if (s[p] >= '1' && s[p] <= '9')
        while (p < d->len && s[p] >= '0' && s[p] <= '9') p++;
    else
        return 0;
    if (p < d->len && s[p] == '.') {
        size_t q = ++p;
        while (p < d->len && s[p] >= '0' && s[p] <= '9') p++;
        if (p == q) return 0;
    }
    if (p < d->len && (s[p] == 'e' || s[p] == 'E')) {
        size_t q;
        p++;
        if (p < d->len && (s[p] == '+' || s[p] == '-')) p++;
        q = p;
        while (p < d->len && s[p] >= '0' && s[p] <= '9') p++;
        if (p == q) return 0;
    }
    d->pos = p;
    return 1;
}

FZ_FN int fz_value(fz_doc *d, int depth);

FZ_FN int fz_new_node(fz_doc *d, int type) {
    fz_node *n;
    FZ_ASSERT(d->nn < d->ncap);
    n = &d->nodes[d->nn];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->child = n->next = -1;
    n->raw_off = d->pos;
    return (int)d->nn++;
}

/* depth: containers open around this value. Returns the node index or -1. */
FZ_FN int fz_value(fz_doc *d, int depth) {
    int idx;
    unsigned char c;
    fz_ws(d);
    if (d->pos >= d->len) return -1;
    c = d->src[d->pos];
    if (c == '{' || c == '[') {
        int last = -1;
        if (depth >= d->max_depth) return -1;
        idx = fz_new_node(d, c == '{' ? FZ_OBJ : FZ_ARR);
        d->pos++;
        fz_ws(d);
        if (d->pos < d->len && d->src[d->pos] == (c == '{' ? '}' : ']')) {
            d->pos++;
        } else {
            for (;;) {
                int ch;
                size_t koff = 0, klen = 0;
                if (c == '{') {
                    fz_ws(d);
                    if (d->pos >= d->len || d->src[d->pos] != '"') return -1;
                    if (!fz_string(d, &koff, &klen)) return -1;
                    fz_ws(d);
                    if (d->pos >= d->len || d->src[d->pos] != ':') return -1;
                    d->pos++;
                }
                ch = fz_value(d, depth + 1);
                if (ch < 0) return -1;
                FZ_NODE(d, ch)->key_off = koff;
                FZ_NODE(d, ch)->key_len = klen;
                if (last < 0)
                    FZ_NODE(d, idx)->child = ch;
                else
                    FZ_NODE(d, last)->next = ch;
                last = ch;
                fz_ws(d);
                if (d->pos >= d->len) return -1;
                if (d->src[d->pos] == ',') {
                    d->pos++;
                    continue;
                }
                if (d->src[d->pos] == (c == '{' ? '}' : ']')) {
                    d->pos++;
                    break;
                }
                return -1;
            }
        }
    } else if (c == '"') {
        size_t off, len;
        idx = fz_new_node(d, FZ_STR);
        if (!fz_string(d, &off, &len)) return -1;
        FZ_NODE(d, idx)->str_off = off;
        FZ_NODE(d, idx)->str_len = len;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        idx = fz_new_node(d, FZ_NUM);
        if (!fz_number(d)) return -1;
    } else {
        static const char *const words[3] = {"true", "false", "null"};
        static const int types[3] = {FZ_TRUE, FZ_FALSE, FZ_NULL};
        int w = c == 't' ? 0 : c == 'f' ? 1 : c == 'n' ? 2 : -1;
        size_t wl;
        if (w < 0) return -1;
        wl = strlen(words[w]);
        if (d->len - d->pos < wl || memcmp(d->src + d->pos, words[w], wl) != 0) return -1;
        idx = fz_new_node(d, types[w]);
        d->pos += wl;
    }
    FZ_NODE(d, idx)->raw_len = d->pos - FZ_NODE(d, idx)->raw_off;
    return idx;
}

/* Parses src[0..len) as exactly one JSON text. Returns 1 if valid. The doc
   must be freed with fz_doc_free either way. */
FZ_FN int fz_parse(fz_doc *d, const uint8_t *src, size_t len, int max_depth) {
    memset(d, 0, sizeof *d);
    d->src = src;
    d->len = len;
    d->ncap = len + 2;
    d->nodes = (fz_node *)malloc(d->ncap * sizeof *d->nodes);
    d->arena = (char *)malloc(len + 8);
    FZ_ASSERT(d->nodes && d->arena);
    d->max_depth = max_depth;
    d->root = fz_value(d, 0);
    if (d->root < 0) return 0;
    fz_ws(d);
    return d->pos == d->len;
}

FZ_FN void fz_doc_free(fz_doc *d) {
    free(d->nodes);
    free(d->arena);
    d->nodes = NULL;
    d->arena = NULL;
}

FZ_FN int fz_str_has_nul(const fz_doc *d, int i) {
    return memchr(d->arena + d->nodes[i].str_off, 0, d->nodes[i].str_len) != NULL;
}

FZ_FN int fz_key_is(const fz_doc *d, int i, const char *k) {
    size_t n = strlen(k);
    return d->nodes[i].key_len == n && memcmp(d->arena + d->nodes[i].key_off, k, n) == 0;
}

FZ_FN int fz_str_is(const fz_doc *d, int i, const char *k) {
    size_t n = strlen(k);
    return d->nodes[i].type == FZ_STR && d->nodes[i].str_len == n &&
           memcmp(d->arena + d->nodes[i].str_off, k, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* The int64 oracle: exact decimal. 1: fits (value in *out); 0: does not.   */
/* text must be a JSON number (the grammar is checked by the caller).       */

FZ_FN int fz_int64(const char *s, size_t n, int64_t *out) {
    size_t i = 0, ndig = 0, intlen = 0, k;
    int neg = 0, eneg = 0;
    long long exp = 0, point;
    char digits[FZ_MAX_INPUT + 64];
    char ipart[64];
    size_t il = 0;
    static const char maxpos[] = "9223372036854775807", maxneg[] = "9223372036854775808";
    if (i < n && s[i] == '-') neg = 1, i++;
    while (i < n && s[i] >= '0' && s[i] <= '9' && ndig < sizeof digits) digits[ndig++] = s[i++];
    intlen = ndig;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9' && ndig < sizeof digits) digits[ndig++] = s[i++];
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (exp < 100000000LL) exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (eneg) exp = -exp;
    }
    point = (long long)intlen + exp; /* digits before the point */
    /* integer part: digits[0..point), zero-padded, leading zeros dropped */
    for (k = 0; (long long)k < point; k++) {
        char dch = k < ndig ? digits[k] : '0';
        if (il == 0 && dch == '0') {
            /* past the digits, only zeros follow: the value stays what it is */
            if (k >= ndig) break;
            continue;
        }
        if (il >= 20) {
            if (k >= ndig && il == 0) break;
            return 0; /* more than 20 significant digits */
        }
        ipart[il++] = dch;
    }
    if (il > 19) return 0;
    if (il == 19) {
        const char *lim = neg ? maxneg : maxpos;
        if (memcmp(ipart, lim, 19) > 0) return 0;
    }
    {
        uint64_t v = 0;
        for (k = 0; k < il; k++) v = v * 10 + (uint64_t)(ipart[k] - '0');
        if (neg)
            *out = v ? (int64_t)(-(int64_t)(v - 1)) - 1 : 0;
        else
            *out = (int64_t)v;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* cbk_error checks                                                         */

FZ_FN int fz_field_ok(const char *f, size_t size) {
    const char *nul = (const char *)memchr(f, 0, size);
    return nul && fz_utf8_valid((const unsigned char *)f, (size_t)(nul - f));
}

/* Every error, always: NUL-terminated, valid UTF-8, no secret. */
FZ_FN void fz_check_error(const cbk_error *e, const char *secret) {
    FZ_ASSERT_MSG(fz_field_ok(e->code, sizeof e->code), "code not NUL-terminated or not UTF-8");
    FZ_ASSERT_MSG(fz_field_ok(e->message, sizeof e->message),
                  "message not NUL-terminated or not UTF-8");
    if (secret && *secret) {
        FZ_ASSERT_MSG(!strstr(e->code, secret), "the secret is in cbk_error.code: %s", e->code);
        FZ_ASSERT_MSG(!strstr(e->message, secret), "the secret is in cbk_error.message: %s",
                      e->message);
    }
}

/* The parts of two errors that must not depend on chunking. */
FZ_FN int fz_error_eq(const cbk_error *a, const cbk_error *b) {
    return a->http_status == b->http_status && strcmp(a->code, b->code) == 0 &&
           strcmp(a->message, b->message) == 0;
}

FZ_FN void fz_print_error(const char *what, cbk_result r, const cbk_error *e) {
    fprintf(stderr, "  %s: %s http=%d transport=%d code=\"%s\" message=\"%s\"\n", what,
            cbk_result_str(r), e->http_status, e->transport_code, e->code, e->message);
}

#endif
