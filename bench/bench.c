/* bench.c - cbk_token's list decoder against cJSON, json-c, jsmn and simdjson,
   on the same bytes, in one run. A report, not a test.

     bench [--rounds N] [--ms MS] DATADIR        the throughput tables
     bench --heap DATADIR                        peak heap per decoder (run it
                                                 under LD_PRELOAD=heapcount.so)
     bench --once NAME FILE                      one decode, for callgrind
                                                 (--toggle-collect=bench_once)

   Every decoder is given the same buffer (allocated with simdjson's padding
   after it, so that simdjson needs no copy) and computes the same sum: the
   number of items and the sum of createdAt plus the first byte of id and
   of name. The sums are compared; a decoder that disagrees is reported.

   cbk_token is driven through its real receiver without a network: the
   sans-I/O path cbk_token_list_prepare (or _stream_prepare for JSONL),
   cbk_response_status(200), cbk_response_body() per chunk,
   cbk_client_finish(). Its work buffer is BENCH_WORK bytes. */
#define _GNU_SOURCE
#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"

#include "bench_peers.h"

#include <cJSON.h>
#include <dlfcn.h>
#define JSMN_PARENT_LINKS /* linear time on long arrays; without it jsmn is quadratic */
#include <jsmn.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_WORK
#define BENCH_WORK 4096
#endif

/* ------------------------------------------------------------------------ */
/* cbk_token                                                                 */

static char cbk_work[BENCH_WORK];
static cbk_client cbk_cl;

static int cbk_on_token(void *user, const cbk_token *t) {
    bench_sum *s = (bench_sum *)user;
    s->items++;
    s->sum += (uint64_t)t->created_at + (unsigned char)t->id[0] +
              (t->name ? (unsigned char)t->name[0] : 0);
    return 0;
}

static int cbk_list(const char *p, size_t n, int jsonl, size_t chunk, bench_sum *s) {
    const cbk_request *req;
    cbk_response *res;
    cbk_result r;
    size_t off;
    if (!cbk_cl.work && cbk_client_init(&cbk_cl, "", NULL, NULL, cbk_work, sizeof cbk_work, NULL))
        return 1;
    r = jsonl ? cbk_token_list_stream_prepare(&cbk_cl, "user-1", NULL, cbk_on_token, s, &req)
              : cbk_token_list_prepare(&cbk_cl, "user-1", NULL, cbk_on_token, s, NULL, 0, &req);
    if (r) return 1;
    res = cbk_client_response(&cbk_cl);
    cbk_response_status(res, 200);
    for (off = 0; off < n; off += chunk)
        if (cbk_response_body(res, p + off, n - off < chunk ? n - off : chunk)) break;
    return cbk_client_finish(&cbk_cl) != CBK_OK;
}

static int cbk_whole(const char *p, size_t n, int jsonl, int x, bench_sum *s) {
    (void)x;
    return cbk_list(p, n, jsonl, n, s);
}
static int cbk_1460(const char *p, size_t n, int jsonl, int x, bench_sum *s) {
    (void)x;
    return cbk_list(p, n, jsonl, 1460, s);
}
static int cbk_64(const char *p, size_t n, int jsonl, int x, bench_sum *s) {
    (void)x;
    return cbk_list(p, n, jsonl, 64, s);
}

/* Parse only: the bare tokenizer, every token delivered to a callback that
   counts it, strings and numbers that need it joined in the same work
   buffer size. */
static int cbk_count_token(void *user, cbk_json *j, const cbk_json_token *t) {
    (void)j;
    ((bench_sum *)user)->sum += t->type;
    return 0;
}

static int cbk_tokens(const char *p, size_t n, int jsonl, int x, bench_sum *s) {
    cbk_json j;
    (void)x;
    cbk_json_init(&j, cbk_work, sizeof cbk_work, jsonl ? CBK_JSON_LINES : 0, cbk_count_token, s);
    if (cbk_json_feed(&j, p, n) || cbk_json_finish(&j)) return 1;
    s->items++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* cJSON                                                                     */

static int cjson_item(const cJSON *o, bench_sum *s) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(o, "createdAt");
    if (!cJSON_IsString(id) || !cJSON_IsNumber(ca)) return 1;
    s->items++;
    s->sum += (uint64_t)(int64_t)ca->valuedouble + (unsigned char)id->valuestring[0] +
              (cJSON_IsString(name) ? (unsigned char)name->valuestring[0] : 0);
    return 0;
}

static int cjson_one(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    cJSON *root = cJSON_ParseWithLength(p, n), *e;
    int bad = 0;
    if (!root) return 1;
    if (!extract) {
        s->items++;
    } else if (jsonl) {
        bad = cjson_item(cJSON_GetObjectItemCaseSensitive(root, "data"), s);
    } else {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
        if (!cJSON_IsArray(items))
            bad = 1;
        else
            cJSON_ArrayForEach(e, items) if (cjson_item(e, s)) bad = 1;
    }
    cJSON_Delete(root);
    return bad;
}

/* JSON Lines for the peers that take one text at a time: split at '\n'. */
typedef int (*one_fn)(const char *p, size_t n, int jsonl, int extract, bench_sum *s);
static int per_line(one_fn fn, const char *p, size_t n, int extract, bench_sum *s) {
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && fn(p, len, 1, extract, s)) return 1;
        p += len + 1;
    }
    return 0;
}

static int cjson_run(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    return jsonl ? per_line(cjson_one, p, n, extract, s) : cjson_one(p, n, 0, extract, s);
}

/* ------------------------------------------------------------------------ */
/* json-c                                                                    */

static json_tokener *jc_tok;

static void jsonc_reset(void) {
    if (jc_tok) json_tokener_free(jc_tok);
    jc_tok = NULL;
}

static int jsonc_item(json_object *o, bench_sum *s) {
    json_object *id, *name, *ca;
    const char *ids, *ns;
    if (!json_object_object_get_ex(o, "id", &id) || !json_object_object_get_ex(o, "createdAt", &ca))
        return 1;
    ids = json_object_get_string(id);
    ns = json_object_object_get_ex(o, "name", &name) && json_object_is_type(name, json_type_string)
             ? json_object_get_string(name)
             : NULL;
    s->items++;
    s->sum += (uint64_t)json_object_get_int64(ca) + (unsigned char)ids[0] +
              (ns ? (unsigned char)ns[0] : 0);
    return 0;
}

static int jsonc_one(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    json_object *root, *items, *data;
    int bad = 0;
    if (!jc_tok) jc_tok = json_tokener_new();
    json_tokener_reset(jc_tok);
    root = json_tokener_parse_ex(jc_tok, p, (int)n);
    if (!root || json_tokener_get_error(jc_tok) != json_tokener_success) {
        if (root) json_object_put(root);
        return 1;
    }
    if (!extract) {
        s->items++;
    } else if (jsonl) {
        bad = !json_object_object_get_ex(root, "data", &data) || jsonc_item(data, s);
    } else if (!json_object_object_get_ex(root, "items", &items)) {
        bad = 1;
    } else {
        size_t i, k = json_object_array_length(items);
        for (i = 0; i < k && !bad; i++) bad = jsonc_item(json_object_array_get_idx(items, i), s);
    }
    json_object_put(root);
    return bad;
}

static int jsonc_run(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    return jsonl ? per_line(jsonc_one, p, n, extract, s) : jsonc_one(p, n, 0, extract, s);
}

/* ------------------------------------------------------------------------ */
/* jsmn: tokens into a caller array sized beforehand (counted once, untimed) */

static jsmntok_t *jsmn_toks;
static unsigned jsmn_cap;

static int jsmn_skip(const jsmntok_t *t, int i) {
    int left = 1;
    while (left) left += t[i++].size - 1;
    return i;
}

static int jsmn_eq(const char *js, const jsmntok_t *t, const char *lit, size_t n) {
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, lit, n) == 0;
}

/* The item object at t[o]: id, name (raw: jsmn does not unescape) and
   createdAt (strtoll). Returns the index after it, or -1. */
static int jsmn_item(const char *js, const jsmntok_t *t, int o, bench_sum *s) {
    int i = o + 1, k, idt = -1, ca = -1, nm = -1;
    if (t[o].type != JSMN_OBJECT) return -1;
    for (k = 0; k < t[o].size; k++) {
        if (jsmn_eq(js, &t[i], "id", 2))
            idt = i + 1;
        else if (jsmn_eq(js, &t[i], "name", 4))
            nm = i + 1;
        else if (jsmn_eq(js, &t[i], "createdAt", 9))
            ca = i + 1;
        i = jsmn_skip(t, i + 1);
    }
    if (idt < 0 || ca < 0 || t[idt].type != JSMN_STRING || t[ca].type != JSMN_PRIMITIVE) return -1;
    s->items++;
    s->sum += (uint64_t)strtoll(js + t[ca].start, NULL, 10) + (unsigned char)js[t[idt].start] +
              (nm >= 0 && t[nm].type == JSMN_STRING && t[nm].end > t[nm].start
                   ? (unsigned char)js[t[nm].start]
                   : 0);
    return i;
}

static int jsmn_one(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    jsmn_parser jp;
    int nt, i, k;
    jsmn_init(&jp);
    nt = jsmn_parse(&jp, p, n, jsmn_toks, jsmn_cap);
    if (nt < 1 || jsmn_toks[0].type != JSMN_OBJECT) return 1;
    if (!extract) {
        s->items++;
        return 0;
    }
    for (i = 1, k = 0; k < jsmn_toks[0].size; k++) {
        if (jsonl && jsmn_eq(p, &jsmn_toks[i], "data", 4)) {
            if (jsmn_item(p, jsmn_toks, i + 1, s) < 0) return 1;
        } else if (!jsonl && jsmn_eq(p, &jsmn_toks[i], "items", 5)) {
            int a = i + 1, e, j;
            if (jsmn_toks[a].type != JSMN_ARRAY) return 1;
            for (e = 0, j = a + 1; e < jsmn_toks[a].size; e++)
                if ((j = jsmn_item(p, jsmn_toks, j, s)) < 0) return 1;
        }
        i = jsmn_skip(jsmn_toks, i + 1);
    }
    return 0;
}

static int jsmn_run(const char *p, size_t n, int jsonl, int extract, bench_sum *s) {
    return jsonl ? per_line(jsmn_one, p, n, extract, s) : jsmn_one(p, n, 0, extract, s);
}

/* Sizes the token array for this input: the whole text, or its longest
   line. Returns the array's bytes (jsmn's working memory). */
static size_t jsmn_prepare(const char *p, size_t n, int jsonl) {
    unsigned need = 0;
    const char *end = p + n;
    while (p < end) {
        const char *nl = jsonl ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        jsmn_parser jp;
        int c;
        jsmn_init(&jp);
        c = jsmn_parse(&jp, p, len, NULL, 0);
        if (c > 0 && (unsigned)c > need) need = (unsigned)c;
        p += len + 1;
    }
    free(jsmn_toks);
    jsmn_cap = need;
    jsmn_toks = (jsmntok_t *)malloc(need * sizeof *jsmn_toks);
    return need * sizeof *jsmn_toks;
}

/* ------------------------------------------------------------------------ */
/* The decoders                                                              */

typedef int (*run_fn)(const char *p, size_t n, int jsonl, int extract, bench_sum *s);

typedef struct decoder {
    const char *name; /* for --once */
    const char *label;
    run_fn fn;
    int extract;
    int is_cbk;
} decoder;

static const decoder decoders[] = {
    {"cbk", "cbk_token  extract, whole buffer", cbk_whole, 1, 1},
    {"cbk1460", "cbk_token  extract, 1460-B chunks", cbk_1460, 1, 1},
    {"cbk64", "cbk_token  extract, 64-B chunks", cbk_64, 1, 1},
    {"cbktok", "cbk_token  tokens only (cbk_json)", cbk_tokens, 0, 1},
    {"cjson", "cJSON      parse", cjson_run, 0, 0},
    {"cjsonx", "cJSON      parse+extract", cjson_run, 1, 0},
    {"jsonc", "json-c     parse", jsonc_run, 0, 0},
    {"jsoncx", "json-c     parse+extract", jsonc_run, 1, 0},
    {"jsmn", "jsmn       parse", jsmn_run, 0, 0},
    {"jsmnx", "jsmn       parse+extract", jsmn_run, 1, 0},
    {"sjdom", "simdjson   DOM parse", sj_dom, 0, 0},
    {"sjdomx", "simdjson   DOM parse+extract", sj_dom, 1, 0},
    {"sjod", "simdjson   On-Demand extract", sj_od, 1, 0},
    {"sjfbx", "simdjson   DOM+extract, fallback kernel", sj_dom_fallback, 1, 0},
};
#define NDEC (sizeof decoders / sizeof decoders[0])
enum {
    D_CBK = 0,
    D_CBK1460,
    D_CBK64,
    D_CBKTOK,
    D_CJSON,
    D_CJSONX,
    D_JSONC,
    D_JSONCX,
    D_JSMN,
    D_JSMNX,
    D_SJDOM,
    D_SJDOMX,
    D_SJOD,
    D_SJFBX
};

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */

typedef struct input {
    const char *tag; /* 1k, 64k, 1m, 16m */
    int jsonl;
    char *data;
    size_t len;
    size_t jsmn_bytes;
} input;

static const char *const sizes[] = {"1k", "64k", "1m", "16m"};
#define NSIZE 4

static char *load(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    size_t pad = sj_padding();
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = (char *)calloc(1, (size_t)n + pad);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* CPU time of the process (all its threads), not wall time: on a shared
   machine a descheduled benchmark does not count time it did not run, and a
   decoder that uses a helper thread (simdjson's parse_many) pays for it. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------ */
/* --once: one decode, for callgrind                                         */

__attribute__((noinline)) int bench_once(const decoder *d, const input *in, bench_sum *s) {
    return d->fn(in->data, in->len, in->jsonl, d->extract, s);
}

static int run_once(const char *name, const char *path) {
    input in;
    bench_sum s = {0, 0}, w = {0, 0};
    size_t i;
    memset(&in, 0, sizeof in);
    in.data = load(path, &in.len);
    in.jsonl = strstr(path, ".jsonl") != NULL;
    if (!in.data) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    jsmn_prepare(in.data, in.len, in.jsonl);
    for (i = 0; i < NDEC; i++)
        if (!strcmp(decoders[i].name, name)) {
            /* a first, uncounted run: lazy set-up (parser objects) */
            decoders[i].fn(in.data, in.len, in.jsonl, decoders[i].extract, &w);
            if (bench_once(&decoders[i], &in, &s)) return 1;
            printf("%s %s bytes=%zu items=%llu\n", name, path, in.len, (unsigned long long)s.items);
            return 0;
        }
    fprintf(stderr, "no decoder %s\n", name);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* --heap: peak heap of one cold decode (heapcount.so counts)                */

typedef void (*heap_reset_fn)(void);
typedef size_t (*heap_peak_fn)(void);

static int run_heap(const char *dir) {
    heap_reset_fn hreset = (heap_reset_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "heapcount_reset");
    heap_peak_fn hpeak = (heap_peak_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "heapcount_peak");
    int si, jl;
    size_t i;
    if (!hreset || !hpeak) {
        fprintf(stderr, "--heap needs LD_PRELOAD=heapcount.so\n");
        return 1;
    }
    for (jl = 0; jl < 2; jl++)
        for (si = 0; si < NSIZE; si++) {
            char path[4096];
            input in;
            memset(&in, 0, sizeof in);
            snprintf(path, sizeof path, "%s/list-%s.%s", dir, sizes[si], jl ? "jsonl" : "json");
            in.data = load(path, &in.len);
            if (!in.data) return 1;
            in.jsmn_bytes = jsmn_prepare(in.data, in.len, jl); /* caller memory, not heap */
            for (i = 0; i < NDEC; i++) {
                bench_sum s = {0, 0};
                sj_reset();
                jsonc_reset();
                hreset();
                decoders[i].fn(in.data, in.len, jl, decoders[i].extract, &s);
                printf("heap %d %d %s %zu\n", jl, si, decoders[i].name, hpeak());
            }
            printf("jsmnarr %d %d %zu\n", jl, si, in.jsmn_bytes);
            free(in.data);
        }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The tables                                                                */

#define MAXROUNDS 31

static double mbps[2][NSIZE][NDEC];
static int failed[2][NSIZE][NDEC];
static const char *only;          /* --only a,b,c: run just these decoders */
static long heap[2][NSIZE][NDEC]; /* from --heapfile; -1 unknown */
static long jsmn_arr[2][NSIZE];
static double irb[NDEC][2]; /* from --irfile: instructions per byte, 1 MiB */
static int have_heap, have_ir;

static int wanted(size_t i) {
    const char *p = only, *name = decoders[i].name;
    size_t n = strlen(name);
    if (!only) return 1;
    while (p && *p) {
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0)) return 1;
        p = strchr(p, ',');
        if (p) p++;
    }
    return 0;
}

static int find_decoder(const char *name) {
    size_t i;
    for (i = 0; i < NDEC; i++)
        if (!strcmp(decoders[i].name, name)) return (int)i;
    return -1;
}

static void read_heapfile(const char *path) {
    FILE *f = fopen(path, "r");
    char line[256], name[64];
    int jl, si, d;
    long v;
    memset(heap, 0xff, sizeof heap);
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "heap %d %d %63s %ld", &jl, &si, name, &v) == 4 && jl >= 0 && jl < 2 &&
            si >= 0 && si < NSIZE && (d = find_decoder(name)) >= 0) {
            heap[jl][si][d] = v;
            have_heap = 1;
        } else if (sscanf(line, "jsmnarr %d %d %ld", &jl, &si, &v) == 3 && jl >= 0 && jl < 2 &&
                   si >= 0 && si < NSIZE) {
            jsmn_arr[jl][si] = v;
        }
    }
    fclose(f);
}

/* lines "NAME json|jsonl IR BYTES" */
static void read_irfile(const char *path) {
    FILE *f = fopen(path, "r");
    char line[256], name[64], fmt[16];
    double ir, bytes;
    int d;
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%63s %15s %lf %lf", name, fmt, &ir, &bytes) == 4 && bytes > 0 &&
            (d = find_decoder(name)) >= 0) {
            irb[d][strcmp(fmt, "jsonl") == 0] = ir / bytes;
            have_ir = 1;
        }
    fclose(f);
}

static void measure(input *in, int si, int rounds, double batch_s) {
    size_t i;
    int r;
    long iters[NDEC];
    double samples[NDEC][MAXROUNDS];
    bench_sum ref = {0, 0};
    int jl = in->jsonl;
    /* warm up, check, and size the batches */
    for (i = 0; i < NDEC; i++) {
        bench_sum s = {0, 0};
        double t0, t;
        const decoder *d = &decoders[i];
        if (!wanted(i)) {
            failed[jl][si][i] = 2;
            continue;
        }
        if (d->fn(in->data, in->len, jl, d->extract, &s)) {
            failed[jl][si][i] = 1;
            fprintf(stderr, "%s failed on %s.%s\n", d->label, in->tag, jl ? "jsonl" : "json");
            continue;
        }
        if (i == D_CBK) ref = s;
        if (d->extract && ref.items && (s.items != ref.items || s.sum != ref.sum)) {
            fprintf(stderr, "MISMATCH %s on %s.%s: items %llu sum %llu, cbk_token %llu %llu\n",
                    d->label, in->tag, jl ? "jsonl" : "json", (unsigned long long)s.items,
                    (unsigned long long)s.sum, (unsigned long long)ref.items,
                    (unsigned long long)ref.sum);
            failed[jl][si][i] = 1;
        }
        t0 = now();
        d->fn(in->data, in->len, jl, d->extract, &s);
        t = now() - t0;
        iters[i] = t > 0 ? (long)(batch_s / t) : 1000;
        if (iters[i] < 1) iters[i] = 1;
    }
    /* interleaved rounds; the order rotates so no decoder always runs first */
    for (r = 0; r < rounds; r++)
        for (i = 0; i < NDEC; i++) {
            size_t k = (i + (size_t)r) % NDEC;
            const decoder *d = &decoders[k];
            bench_sum s = {0, 0};
            long it;
            double t0;
            if (failed[jl][si][k]) continue;
            t0 = now();
            for (it = 0; it < iters[k]; it++) d->fn(in->data, in->len, jl, d->extract, &s);
            samples[k][r] = (double)in->len * (double)iters[k] / (now() - t0) / 1e6;
        }
    for (i = 0; i < NDEC; i++) {
        qsort(samples[i], (size_t)rounds, sizeof(double), cmp_double);
        mbps[jl][si][i] = failed[jl][si][i] == 2 ? -1
                          : failed[jl][si][i]    ? 0
                                                 : samples[i][rounds / 2];
    }
}

static void cell(double v) {
    if (v < 0)
        printf(" %8s |", "-");
    else if (v == 0)
        printf(" %8s |", "fail");
    else
        printf(" %8.0f |", v);
}

static void ratio_cell(double a, double b) {
    if (a <= 0 || b <= 0)
        printf(" %6s |", "-");
    else
        printf(" %5.2fx |", a / b);
}

static void bytes_cell(long v) {
    if (v < 0)
        printf(" %10s |", "?");
    else if (v < 10 * 1024)
        printf(" %8ld B |", v);
    else if (v < 10 * 1024 * 1024)
        printf(" %6.0f KiB |", v / 1024.0);
    else
        printf(" %6.1f MiB |", v / 1048576.0);
}

static void print_tables(input ins[2][NSIZE]) {
    int jl, si;
    size_t i;
    for (jl = 0; jl < 2; jl++) {
        printf("\n### %s: throughput, MB/s (10^6 bytes/s of CPU time, median)\n\n",
               jl ? "JSONL (list stream)" : "JSON (list page)");
        printf("| decoder                                   |");
        for (si = 0; si < NSIZE; si++) printf(" %8s |", sizes[si]);
        printf("\n|-------------------------------------------|");
        for (si = 0; si < NSIZE; si++) printf("---------:|");
        printf("\n| (bytes)                                   |");
        for (si = 0; si < NSIZE; si++) printf(" %8zu |", ins[jl][si].len);
        printf("\n");
        for (i = 0; i < NDEC; i++) {
            if (!wanted(i)) continue;
            printf("| %-41s |", decoders[i].label);
            for (si = 0; si < NSIZE; si++) cell(mbps[jl][si][i]);
            printf("\n");
        }
        printf("\n%s: cbk_token (whole buffer) / peer; extract rows against cbk_token extract, "
               "parse rows against cbk_token tokens only\n\n",
               jl ? "JSONL" : "JSON");
        printf("| cbk_token vs                              |");
        for (si = 0; si < NSIZE; si++) printf(" %6s |", sizes[si]);
        printf("\n|-------------------------------------------|");
        for (si = 0; si < NSIZE; si++) printf("-------:|");
        printf("\n");
        for (i = D_CJSON; i < NDEC; i++) {
            size_t mine = decoders[i].extract ? D_CBK : D_CBKTOK;
            if (!wanted(i)) continue;
            printf("| %-41s |", decoders[i].label);
            for (si = 0; si < NSIZE; si++) ratio_cell(mbps[jl][si][mine], mbps[jl][si][i]);
            printf("\n");
        }
        printf("\n%s: cbk_token chunked / whole buffer\n\n", jl ? "JSONL" : "JSON");
        printf("| chunks                                    |");
        for (si = 0; si < NSIZE; si++) printf(" %6s |", sizes[si]);
        printf("\n|-------------------------------------------|");
        for (si = 0; si < NSIZE; si++) printf("-------:|");
        printf("\n");
        for (i = D_CBK1460; i <= D_CBK64; i++) {
            printf("| %-41s |", decoders[i].label);
            for (si = 0; si < NSIZE; si++) ratio_cell(mbps[jl][si][i], mbps[jl][si][D_CBK]);
            printf("\n");
        }
    }
    if (have_heap) {
        printf("\n### Memory: peak heap of one cold decode (heapcount.so), and working memory\n\n");
        printf("| decoder                                   |  1m json   |  16m json  |  1m jsonl  "
               "| 16m jsonl  | working memory (1m json / 16m json)\n");
        printf("|-------------------------------------------|-----------:|-----------:|-----------:"
               "|-----------:|---\n");
        for (i = 0; i < NDEC; i++) {
            if (!wanted(i)) continue;
            printf("| %-41s |", decoders[i].label);
            bytes_cell(heap[0][2][i]);
            bytes_cell(heap[0][3][i]);
            bytes_cell(heap[1][2][i]);
            bytes_cell(heap[1][3][i]);
            if (decoders[i].is_cbk)
                printf(" work buffer %d B (+ cbk_client %zu B, caller's)\n", BENCH_WORK,
                       sizeof(cbk_client));
            else if (i == D_JSMN || i == D_JSMNX)
                printf(" token array %.0f KiB / %.1f MiB (caller's; JSONL: %ld B a line)\n",
                       jsmn_arr[0][2] / 1024.0, jsmn_arr[0][3] / 1048576.0, jsmn_arr[1][3]);
            else
                printf(" = peak heap\n");
        }
    }
    if (have_ir) {
        printf("\n### Instructions per byte (callgrind, one decode of the 1 MiB file)\n\n");
        printf("| decoder                                   |  JSON |  JSONL |\n");
        printf("|-------------------------------------------|------:|-------:|\n");
        for (i = 0; i < NDEC; i++)
            if (irb[i][0] > 0 || irb[i][1] > 0)
                printf("| %-41s | %5.1f | %6.1f |\n", decoders[i].label, irb[i][0], irb[i][1]);
    }
}

/* The targets, on the 1 MiB JSON list, parse+extract. */
static void print_targets(void) {
    double cbk = mbps[0][2][D_CBK];
    double dom = mbps[0][2][D_SJDOM], domx = mbps[0][2][D_SJDOMX], cj = mbps[0][2][D_CJSONX];
    double c1460 = mbps[0][2][D_CBK1460], c64 = mbps[0][2][D_CBK64];
    printf("\n### Targets (x86-64, -O2, 1 MiB JSON list, parse+extract, this run)\n\n");
    if (cbk <= 0) return;
    if (dom > 0)
        printf("- cbk_token / simdjson DOM parse:          %.2fx (target >= 0.75x: %s)\n",
               cbk / dom, cbk / dom >= 0.75 ? "met" : "MISSED");
    if (domx > 0) printf("- cbk_token / simdjson DOM parse+extract:  %.2fx\n", cbk / domx);
    if (cj > 0)
        printf("- cbk_token / cJSON parse+extract:         %.2fx (target >= 3x: %s)\n", cbk / cj,
               cbk / cj >= 3 ? "met" : "MISSED");
    if (c1460 > 0)
        printf("- 1460-byte chunks / whole buffer:         %.2fx (target >= 0.85x: %s; "
               "issue 12: >= 0.90x: %s)\n",
               c1460 / cbk, c1460 / cbk >= 0.85 ? "met" : "MISSED",
               c1460 / cbk >= 0.90 ? "met" : "MISSED");
    if (c64 > 0)
        printf("- 64-byte chunks / whole buffer:           %.2fx (target >= 0.60x: %s)\n",
               c64 / cbk, c64 / cbk >= 0.60 ? "met" : "MISSED");
    if (irb[D_CBK][0] > 0)
        printf("- instructions per byte, whole buffer:     %.2f (issue 12: <= 16.0: %s)\n",
               irb[D_CBK][0], irb[D_CBK][0] <= 16.0 ? "met" : "MISSED");
    if (have_heap)
        printf("- cbk_token peak heap:                     %ld B (target 0: %s); working "
               "memory = the %d-byte work buffer\n",
               heap[0][2][D_CBK], heap[0][2][D_CBK] == 0 ? "met" : "MISSED", BENCH_WORK);
}

int main(int argc, char **argv) {
    static input ins[2][NSIZE];
    int rounds = 7, jl, si;
    double batch_ms = 20;
    const char *dir = NULL;
    int a;
    double t0;
    memset(heap, 0xff, sizeof heap);
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--once") && a + 2 < argc) return run_once(argv[a + 1], argv[a + 2]);
        if (!strcmp(argv[a], "--heap") && a + 1 < argc) return run_heap(argv[a + 1]);
        if (!strcmp(argv[a], "--rounds") && a + 1 < argc)
            rounds = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--only") && a + 1 < argc)
            only = argv[++a];
        else if (!strcmp(argv[a], "--ms") && a + 1 < argc)
            batch_ms = atof(argv[++a]);
        else if (!strcmp(argv[a], "--heapfile") && a + 1 < argc)
            read_heapfile(argv[++a]);
        else if (!strcmp(argv[a], "--irfile") && a + 1 < argc)
            read_irfile(argv[++a]);
        else
            dir = argv[a];
    }
    if (!dir) {
        fprintf(stderr, "usage: bench [--rounds N] [--ms MS] [--only a,b] [--heapfile F] "
                        "[--irfile F] DATADIR | --heap DATADIR | --once NAME FILE\n");
        return 2;
    }
    if (rounds < 1) rounds = 1;
    if (rounds > MAXROUNDS) rounds = MAXROUNDS;
    t0 = now();
    for (jl = 0; jl < 2; jl++)
        for (si = 0; si < NSIZE; si++) {
            char path[4096];
            input *in = &ins[jl][si];
            snprintf(path, sizeof path, "%s/list-%s.%s", dir, sizes[si], jl ? "jsonl" : "json");
            in->tag = sizes[si];
            in->jsonl = jl;
            in->data = load(path, &in->len);
            if (!in->data) {
                fprintf(stderr, "cannot read %s (run bench/gen.py first)\n", path);
                return 1;
            }
            jsmn_prepare(in->data, in->len, jl);
            measure(in, si, rounds, batch_ms / 1000);
            free(in->data);
            fprintf(stderr, "  %s.%s measured (%.0f s of CPU)\n", sizes[si], jl ? "jsonl" : "json",
                    now() - t0);
        }
    printf("simdjson kernel (runtime dispatch): %s; cbk_token work buffer: %d bytes; "
           "sizeof(cbk_client): %zu; rounds: %d, each >= %.0f ms\n",
           sj_active_name(), BENCH_WORK, sizeof(cbk_client), rounds, batch_ms);
    print_tables(ins);
    print_targets();
    return 0;
}
