/* The failing allocator (see failing_alloc.h): the malloc family, defined
 * in the executable so that it takes the place of libc's for every shared
 * library, forwarding to glibc's __libc_* functions. Single-threaded use:
 * the scenarios run on one thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "failing_alloc.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static unsigned long calls;
static unsigned long fail_at; /* 0: not armed */
static int fail_persistent;
static unsigned long failures;
static long live;

void fa_arm(unsigned long n, int persistent) {
    calls = 0;
    failures = 0;
    fail_at = n;
    fail_persistent = persistent;
}

void fa_disarm(void) { fail_at = 0; }

unsigned long fa_calls(void) { return calls; }

void fa_reset_calls(void) { calls = 0; }

unsigned long fa_failures(void) { return failures; }

long fa_live(void) { return live; }

/* Counts one allocation call; true when it must fail. */
static int must_fail(void) {
    calls++;
    if (fail_at != 0 && (calls == fail_at || (fail_persistent && calls > fail_at))) {
        failures++;
        return 1;
    }
    return 0;
}

void *malloc(size_t n) {
    void *p;
    if (must_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __libc_malloc(n);
    if (p != NULL) live++;
    return p;
}

void *calloc(size_t k, size_t n) {
    void *p;
    if (must_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __libc_calloc(k, n);
    if (p != NULL) live++;
    return p;
}

void *realloc(void *old, size_t n) {
    void *p;
    if (old != NULL && n == 0) {
        /* glibc frees the block and returns NULL. */
        live--;
        return __libc_realloc(old, 0);
    }
    if (must_fail()) {
        errno = ENOMEM; /* the old block stays as it was */
        return NULL;
    }
    p = __libc_realloc(old, n);
    if (p != NULL && old == NULL) live++;
    return p;
}

void *reallocarray(void *p, size_t k, size_t n) {
    if (n != 0 && k > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, k * n);
}

void free(void *p) {
    if (p != NULL) live--;
    __libc_free(p);
}

void *memalign(size_t align, size_t n) {
    void *p;
    if (must_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __libc_memalign(align, n);
    if (p != NULL) live++;
    return p;
}

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n) {
    void *p;
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    p = memalign(align, n);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n) { return memalign(4096, n); }

void *pvalloc(size_t n) { return memalign(4096, (n + 4095) & ~(size_t)4095); }
