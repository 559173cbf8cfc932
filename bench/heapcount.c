/* heapcount.c - an LD_PRELOAD shim that counts live heap bytes (glibc).

   Every malloc, calloc, realloc, free, memalign, posix_memalign,
   aligned_alloc (and so C++ new/delete, which call them) is forwarded to
   glibc's own __libc_* entry points and counted with malloc_usable_size():
   the bytes actually handed out, so allocator rounding is included.
   heapcount_reset() zeroes the peak to the bytes live now; heapcount_peak()
   returns the highest count above that since. bench --heap finds both
   with dlsym. Single-threaded use (the benchmark's); counters are plain. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static size_t live, base, peak;

static void *got(void *p) {
    if (p) {
        live += malloc_usable_size(p);
        if (live - base > peak && live > base) peak = live - base;
    }
    return p;
}

void heapcount_reset(void) {
    base = live;
    peak = 0;
}

size_t heapcount_peak(void) {
    return peak;
}

void *malloc(size_t n) {
    return got(__libc_malloc(n));
}

void *calloc(size_t a, size_t b) {
    return got(__libc_calloc(a, b));
}

void free(void *p) {
    if (p) live -= malloc_usable_size(p);
    __libc_free(p);
}

void *realloc(void *p, size_t n) {
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = __libc_realloc(p, n);
    if (q || !n) live -= old;
    return got(q);
}

void *memalign(size_t al, size_t n) {
    return got(__libc_memalign(al, n));
}

void *aligned_alloc(size_t al, size_t n) {
    return got(__libc_memalign(al, n));
}

int posix_memalign(void **out, size_t al, size_t n) {
    void *p;
    if (al < sizeof(void *) || (al & (al - 1))) return EINVAL;
    p = got(__libc_memalign(al, n));
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
