/* What bench.c and bench_simdjson.cpp share. */
#ifndef BENCH_PEERS_H
#define BENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

/* What every decoder computes, so that all can be checked to agree: the
   number of items, and the sum of createdAt plus the first byte of id and
   of name (0 when there is none). */
typedef struct bench_sum {
    uint64_t items;
    uint64_t sum;
} bench_sum;

/* simdjson (bench_simdjson.cpp). jsonl: the input is JSON Lines. extract:
   walk the items and touch id, name and createdAt (0: parse only). */
int sj_dom(const char *p, size_t n, int jsonl, int extract, bench_sum *s);
int sj_dom_fallback(const char *p, size_t n, int jsonl, int extract, bench_sum *s);
int sj_od(const char *p, size_t n, int jsonl, int extract, bench_sum *s);
void sj_reset(void);
size_t sj_padding(void);
const char *sj_active_name(void);

#endif
