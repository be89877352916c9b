/* A tiny assertion helper shared by the C tests of pmdeflate.
 *
 * Every CHECK_* macro counts one assertion. A failed assertion prints where
 * it failed and what it saw (for results also pmd_last_error()), and the
 * test keeps going so that one run shows every failure. check_finish()
 * prints the line tests/c/run.sh counts:
 *     CHECK-SUMMARY <test> passed=<n> failed=<m>
 * and returns the exit status for main().
 *
 * The counters are not thread-safe: worker threads record what they saw and
 * the main thread asserts on it after pthread_join.
 *
 * The file is valid C99 and C++11, so any test may also be built as C++. */
#ifndef PMD_TEST_CHECK_H
#define PMD_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmdeflate.h"

static unsigned long check_passed;
static unsigned long check_failed;

static inline void check_fail_where(const char *file, int line, const char *what) {
    check_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
}

static inline int check_true(int ok, const char *file, int line, const char *what) {
    if (ok) {
        check_passed++;
    } else {
        check_fail_where(file, line, what);
    }
    return ok;
}

static inline int check_result(pmd_result got, pmd_result want, const char *file, int line,
                               const char *expr) {
    if (got == want) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, expr);
    fprintf(stderr, "    got %s (%d), want %s (%d)", pmd_result_name(got), (int)got,
            pmd_result_name(want), (int)want);
    if (got != PMD_OK) {
        fprintf(stderr, "; pmd_last_error: \"%s\"", pmd_last_error());
    }
    fprintf(stderr, "\n");
    return 0;
}

static inline int check_uint_eq(unsigned long long a, unsigned long long b, const char *file,
                                int line, const char *ea, const char *eb) {
    if (a == b) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, ea);
    fprintf(stderr, "    %s == %llu, want %s == %llu\n", ea, a, eb, b);
    return 0;
}

static inline int check_str_eq(const char *a, const char *b, const char *file, int line,
                               const char *ea) {
    if (a != NULL && b != NULL && strcmp(a, b) == 0) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, ea);
    fprintf(stderr, "    got \"%s\", want \"%s\"\n", a ? a : "(NULL)", b ? b : "(NULL)");
    return 0;
}

/* (p, n) equals the NUL-terminated string s. */
static inline int check_span_eq(const char *p, size_t n, const char *s, const char *file, int line,
                                const char *ep) {
    size_t m = strlen(s);
    if (p != NULL && n == m && memcmp(p, s, n) == 0) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, ep);
    if (p == NULL) {
        fprintf(stderr, "    got (NULL, %lu), want \"%s\"\n", (unsigned long)n, s);
    } else {
        fprintf(stderr, "    got \"%.*s\" (%lu bytes), want \"%s\" (%lu bytes)\n", (int)n, p,
                (unsigned long)n, s, (unsigned long)m);
    }
    return 0;
}

static inline int check_contains(const char *hay, const char *needle, const char *file, int line,
                                 const char *ehay) {
    if (hay != NULL && strstr(hay, needle) != NULL) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, ehay);
    fprintf(stderr, "    \"%s\" does not contain \"%s\"\n", hay ? hay : "(NULL)", needle);
    return 0;
}

static inline void check_hex(const unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i < n && i < 64; i++) {
        fprintf(stderr, " %02x", p[i]);
    }
    if (n > 64) {
        fprintf(stderr, " ...");
    }
    fprintf(stderr, "\n");
}

static inline int check_bytes_eq(const unsigned char *p, size_t n, const unsigned char *q, size_t m,
                                 const char *file, int line, const char *ep) {
    if (n == m && (n == 0 || (p != NULL && q != NULL && memcmp(p, q, n) == 0))) {
        check_passed++;
        return 1;
    }
    check_fail_where(file, line, ep);
    fprintf(stderr, "    got %lu bytes:", (unsigned long)n);
    check_hex(p, p ? n : 0);
    fprintf(stderr, "    want %lu bytes:", (unsigned long)m);
    check_hex(q, q ? m : 0);
    return 0;
}

#define CHECK(cond) check_true(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_RESULT(expr, want) check_result((expr), (want), __FILE__, __LINE__, #expr)
#define CHECK_OK(expr) CHECK_RESULT((expr), PMD_OK)
#define CHECK_EQ(a, b) \
    check_uint_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) check_str_eq((a), (b), __FILE__, __LINE__, #a)
#define CHECK_SPAN(p, n, s) check_span_eq((p), (n), (s), __FILE__, __LINE__, #p)
#define CHECK_CONTAINS(hay, needle) check_contains((hay), (needle), __FILE__, __LINE__, #hay)
#define CHECK_LAST_ERROR(needle) check_contains(pmd_last_error(), (needle), __FILE__, __LINE__, \
                                                "pmd_last_error()")
#define CHECK_BYTES(p, n, q, m)                                                         \
    check_bytes_eq((const unsigned char *)(p), (n), (const unsigned char *)(q), (m), \
                   __FILE__, __LINE__, #p)

static inline int check_finish(const char *name) {
    printf("CHECK-SUMMARY %s passed=%lu failed=%lu\n", name, check_passed, check_failed);
    fflush(stdout);
    return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

/* ---- Frame helpers shared by the extension tests ------------------------ */

static inline pmd_frame frame_make(uint8_t opcode, bool fin, const void *data, size_t len) {
    pmd_frame f;
    memset(&f, 0, sizeof f);
    f.opcode = opcode;
    f.fin = fin;
    f.data = (const uint8_t *)data;
    f.len = len;
    return f;
}

/* A growable byte buffer, for collecting a message from its frames. */
typedef struct bytes_buf {
    unsigned char *p;
    size_t len, cap;
} bytes_buf;

static inline void bytes_append(bytes_buf *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = (unsigned char *)realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "out of memory in the test helper\n");
            exit(2);
        }
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
}

static inline void bytes_free(bytes_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Deterministic pseudo-random bytes (xorshift), incompressible. */
static inline void fill_random(unsigned char *p, size_t n, uint32_t seed) {
    uint32_t x = seed ? seed : 1u;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* Compressible text: words from a small list, chosen pseudo-randomly. */
static inline void fill_text(unsigned char *p, size_t n, uint32_t seed) {
    static const char *const words[] = {"permessage", "deflate ", "window ", "bits ", "the ",
                                        "frame ", "of ", "a ", "message\n", "zlib "};
    uint32_t x = seed ? seed : 1u;
    size_t i = 0;
    while (i < n) {
        const char *w;
        size_t k;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w = words[x % 10u];
        for (k = 0; w[k] != '\0' && i < n; k++) {
            p[i++] = (unsigned char)w[k];
        }
    }
}

/* ---- Negotiation helpers shared by the header and negotiation tests ----- */

/* A pmd_param for the NUL-terminated name and value (either may be NULL). */
static inline pmd_param param_make(const char *name, const char *value) {
    pmd_param p;
    p.name = name;
    p.name_len = name ? strlen(name) : 0;
    p.value = value;
    p.value_len = value ? strlen(value) : 0;
    return p;
}

/* A new config with the four RFC 7692 parameters set (each set is checked).
 * sbits, cbits: 0 unset, PMD_WINDOW_BITS_NO_VALUE, or 8..15. */
static inline pmd_config *negotiation_config(bool snct, bool cnct, int sbits, int cbits) {
    pmd_config *cfg = pmd_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, snct));
    CHECK_OK(pmd_config_set_client_no_context_takeover(cfg, cnct));
    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, sbits));
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, cbits));
    return cfg;
}

/* Checks the parameters an extension agreed on. */
static inline void negotiated_is(const pmd_extension *ext, bool remote_nct, bool local_nct,
                                 int remote_bits, int local_bits) {
    pmd_negotiated n;
    memset(&n, 0xee, sizeof n);
    if (!CHECK_OK(pmd_extension_negotiated(ext, &n))) {
        return;
    }
    CHECK_EQ(n.remote_no_context_takeover, remote_nct);
    CHECK_EQ(n.local_no_context_takeover, local_nct);
    CHECK_EQ(n.remote_max_window_bits, remote_bits);
    CHECK_EQ(n.local_max_window_bits, local_bits);
}

#endif /* PMD_TEST_CHECK_H */
