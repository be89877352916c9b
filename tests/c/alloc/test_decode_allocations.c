/* Bytes allocated per decoded message (issue #8).
 *
 * With the strict window check (pmd_config_set_strict_window) the decoder
 * inflates in calls of a quarter window below 15 bits; by default in calls
 * as large as the output allows. Either way its output buffer must grow
 * geometrically, so that decoding a message allocates a small multiple of
 * the message whatever the call size. For every window 8..15 (below 15 in
 * both modes), compressible and incompressible data, whole and fragmented
 * messages, with and without context takeover, ten 300 000-byte
 * messages are decoded and each one's allocations are counted: calls and
 * bytes requested, a realloc counting its whole new size (what an allocator
 * without mremap copies).
 *
 * The counting allocator is this file's malloc family: the executable's
 * definitions take the place of libc's for libpmdeflate.so too, so Rust's
 * Vec growth and zlib's zalloc are both seen (pmd_extension_memory_usage
 * sees what is held, not what was copied). They forward to glibc's
 * __libc_* functions. Valgrind replaces malloc itself, so
 * tests/c/alloc/run.sh runs this natively.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

/* ---- the counting allocator -------------------------------------------- */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static unsigned long long alloc_calls;
static unsigned long long alloc_bytes;

static void count(size_t n) {
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&alloc_bytes, (unsigned long long)n, __ATOMIC_RELAXED);
}

void *malloc(size_t n) {
    count(n);
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n) {
    count(k * n);
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n) {
    count(n);
    return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t k, size_t n) {
    if (n != 0 && k > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, k * n);
}

void free(void *p) {
    __libc_free(p);
}

void *memalign(size_t align, size_t n) {
    count(n);
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n) {
    void *p;
    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return EINVAL;
    }
    p = memalign(align, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *valloc(size_t n) {
    return memalign(4096, n);
}

void *pvalloc(size_t n) {
    return memalign(4096, (n + 4095) & ~(size_t)4095);
}

typedef struct tally {
    unsigned long long calls, bytes;
} tally;

static tally tally_now(void) {
    tally t;
    t.calls = __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);
    t.bytes = __atomic_load_n(&alloc_bytes, __ATOMIC_RELAXED);
    return t;
}

/* ---- the workload --------------------------------------------------------- */

#define MESSAGES 10
#define MESSAGE_SIZE 300000u
#define MAX_FRAMES 1024
/* What "a small multiple" means here: every message's decode allocates at
   most this many times its size, in at most MAX_CALLS allocations. */
#define MAX_RATIO 8u
#define MAX_CALLS 40u
/* The budget passed to pmd_extension_decode, as the echo server does. */
#define MAX_SIZE ((size_t)16 << 20)

typedef struct owned_frame {
    pmd_frame f;
    unsigned char *data;
} owned_frame;

typedef struct run_result {
    unsigned long long calls, bytes, worst_calls;
    double worst_ratio;
} run_result;

static uint32_t next_rand(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Encodes msg as one frame, or as frames of 1-64 KiB, into frames[]. */
static size_t encode_message(pmd_extension *tx, const unsigned char *msg, size_t len, int fragmented,
                             uint32_t *seed, owned_frame *frames) {
    size_t n = 0, at = 0;
    do {
        size_t piece = fragmented ? 1024u + next_rand(seed) % (64u * 1024u) : len;
        pmd_frame in, out;
        if (piece > len - at) {
            piece = len - at;
        }
        in = frame_make(at == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION, at + piece == len,
                        msg + at, piece);
        if (!CHECK_OK(pmd_extension_encode(tx, &in, &out)) || !CHECK(n < MAX_FRAMES)) {
            exit(1);
        }
        frames[n].f = out;
        frames[n].data = (unsigned char *)malloc(out.len ? out.len : 1);
        if (frames[n].data == NULL) {
            exit(2);
        }
        memcpy(frames[n].data, out.data, out.len);
        frames[n].f.data = frames[n].data;
        n++;
        at += piece;
    } while (at < len);
    return n;
}

/* Ten messages through a fresh pair of extensions at window bits w; returns
   the allocations made while decoding them. */
static run_result run(int w, int incompressible, int fragmented, int takeover, int strict) {
    static unsigned char msg[MESSAGE_SIZE];
    static owned_frame frames[MAX_FRAMES];
    pmd_extension *tx = NULL, *rx = NULL;
    pmd_config *cfg = pmd_config_new();
    run_result r;
    uint32_t seed = (uint32_t)(w * 8 + incompressible * 4 + fragmented * 2 + takeover + 1);
    int m;
    memset(&r, 0, sizeof r);
    CHECK_OK(pmd_extension_new(false, !takeover, 15, w, NULL, &tx));
    CHECK_OK(pmd_config_set_strict_window(cfg, strict != 0));
    CHECK_OK(pmd_extension_new(!takeover, false, w, 15, cfg, &rx));
    pmd_config_free(cfg);
    if (tx == NULL || rx == NULL) {
        exit(1);
    }
    for (m = 0; m < MESSAGES; m++) {
        size_t n, i, at = 0, largest = 0;
        tally before, after;
        unsigned long long calls, bytes;
        double ratio;
        if (incompressible) {
            fill_random(msg, MESSAGE_SIZE, next_rand(&seed));
        } else {
            fill_text(msg, MESSAGE_SIZE, next_rand(&seed));
        }
        n = encode_message(tx, msg, MESSAGE_SIZE, fragmented, &seed, frames);

        before = tally_now();
        for (i = 0; i < n; i++) {
            pmd_frame out;
            if (!CHECK_OK(pmd_extension_decode(rx, &frames[i].f, MAX_SIZE, &out))) {
                exit(1);
            }
            if (!CHECK(at + out.len <= MESSAGE_SIZE) || !CHECK(memcmp(out.data, msg + at, out.len) == 0)) {
                exit(1);
            }
            at += out.len;
            if (out.len > largest) {
                largest = out.len;
            }
        }
        after = tally_now();
        CHECK_EQ(at, MESSAGE_SIZE);
        for (i = 0; i < n; i++) {
            free(frames[i].data);
        }

        calls = after.calls - before.calls;
        bytes = after.bytes - before.bytes;
        ratio = (double)bytes / MESSAGE_SIZE;
        if (m == 0) {
            /* The counter sees the library: the first message needs an
               output buffer for its largest frame (and zlib's window). */
            CHECK(calls > 0);
            CHECK(bytes >= largest);
        }
        if (!CHECK(bytes <= (unsigned long long)MAX_RATIO * MESSAGE_SIZE) || !CHECK(calls <= MAX_CALLS)) {
            fprintf(stderr, "    w=%d%s %s %s %s message %d: %llu allocations, %llu bytes\n", w,
                    strict ? " strict" : "", incompressible ? "random" : "text",
                    fragmented ? "fragmented" : "whole", takeover ? "takeover" : "no_context_takeover", m,
                    calls, bytes);
        }
        r.calls += calls;
        r.bytes += bytes;
        if (calls > r.worst_calls) {
            r.worst_calls = calls;
        }
        if (ratio > r.worst_ratio) {
            r.worst_ratio = ratio;
        }
    }
    pmd_extension_free(tx);
    pmd_extension_free(rx);
    return r;
}

int main(void) {
    int w, incompressible, fragmented, takeover, strict;
    /* The interposition works: this file's malloc counts. */
    tally t0 = tally_now();
    void *p = malloc(1000);
    CHECK(tally_now().bytes == t0.bytes + 1000);
    free(p);

    printf("decoding %d messages of %u bytes; allocations while decoding (all ten; worst message)\n",
           MESSAGES, MESSAGE_SIZE);
    printf("%-4s %-6s %-7s %-11s %-9s %8s %14s %7s %11s\n", "w", "strict", "data", "frames", "takeover",
           "allocs", "bytes", "x msgs", "worst msg");
    for (w = 8; w <= 15; w++) {
        for (strict = 0; strict <= (w < 15); strict++) {
            for (incompressible = 1; incompressible >= 0; incompressible--) {
                for (fragmented = 0; fragmented <= 1; fragmented++) {
                    for (takeover = 1; takeover >= 0; takeover--) {
                        run_result r = run(w, incompressible, fragmented, takeover, strict);
                        printf("%-4d %-6s %-7s %-11s %-9s %8llu %14llu %7.2f %5llu %5.2fx\n", w,
                               strict ? "yes" : "no", incompressible ? "random" : "text",
                               fragmented ? "fragmented" : "whole", takeover ? "yes" : "no", r.calls, r.bytes,
                               (double)r.bytes / ((double)MESSAGES * MESSAGE_SIZE), r.worst_calls,
                               r.worst_ratio);
                        fflush(stdout);
                    }
                }
            }
        }
    }
    return check_finish("test_decode_allocations");
}
