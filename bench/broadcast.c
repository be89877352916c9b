/*
 * broadcast.c - one message to N receivers: the cost of compressing it once
 * per connection (pmd_extension_encode on each of N extensions that agreed
 * no_context_takeover) against compressing it once with a shared encoder
 * (pmd_encoder_encode) and checking each connection with
 * pmd_extension_can_send_shared.
 *
 * Usage: broadcast [receivers=10000] [window_bits=15] [reps=5]
 *
 * Two messages (deterministic text): "chat", a 300-byte JSON-like message,
 * and "doc", a 16 KiB document. For each, REPS rounds; each round times
 * the N per-connection encodes and then the shared encode (repeated until
 * it has run for at least 20 ms, to time one call precisely), and prints
 * the medians over the rounds: seconds for N per-connection encodes,
 * microseconds for one shared encode and for N can_send_shared checks,
 * and ratio = per-connection total / one shared encode. It also checks
 * that the two give the same bytes (both compress from an empty window
 * with the same settings) and that a receiver decodes them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmdeflate.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "broadcast: %s (%s)\n", what, pmd_last_error());
    exit(1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* JSON-like text: words from a small vocabulary and varying numbers. */
static void make_text(unsigned char *p, size_t n, unsigned seed) {
    static const char *words[] = {"{\"type\":", "\"message\",", "\"user\":", "\"id\":",
                                  "\"text\":", "\"hello", "world\",", "the", "broadcast",
                                  "price", "update", "\"ts\":", "},", "and", "of", "a"};
    size_t i = 0;
    unsigned x = seed * 2654435761u + 1;
    while (i < n) {
        const char *w;
        char num[16];
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (x % 5 == 0) {
            snprintf(num, sizeof num, "%u ", x % 100000);
            w = num;
        } else {
            w = words[x % 16];
        }
        while (*w && i < n) p[i++] = (unsigned char)*w++;
        if (i < n) p[i++] = ' ';
    }
}

static void run(const char *name, size_t len, int receivers, int wbits, int reps) {
    unsigned char *msg = malloc(len);
    pmd_extension **conns = calloc((size_t)receivers, sizeof *conns);
    pmd_extension *rx = NULL;
    pmd_encoder *enc = NULL;
    double *per_conn = calloc((size_t)reps, sizeof(double));
    double *shared = calloc((size_t)reps, sizeof(double));
    double *checks = calloc((size_t)reps, sizeof(double));
    size_t wire = 0, shared_wire = 0;
    int r, i;
    if (!msg || !conns || !per_conn || !shared || !checks) die("out of memory");
    make_text(msg, len, (unsigned)len);
    for (i = 0; i < receivers; i++) {
        /* the sending side agreed no_context_takeover and wbits */
        if (pmd_extension_new(true, true, wbits, wbits, NULL, &conns[i]) != PMD_OK)
            die("pmd_extension_new");
    }
    if (pmd_extension_new(true, true, wbits, wbits, NULL, &rx) != PMD_OK) die("receiver");
    if (pmd_encoder_new(NULL, wbits, &enc) != PMD_OK) die("pmd_encoder_new");

    pmd_frame in = {PMD_OPCODE_TEXT, true, false, false, false, msg, len}, out, plain;
    for (r = 0; r < reps; r++) {
        double t0 = now();
        for (i = 0; i < receivers; i++) {
            if (pmd_extension_encode(conns[i], &in, &out) != PMD_OK) die("pmd_extension_encode");
            wire = out.len; /* each would now be framed and sent */
        }
        per_conn[r] = now() - t0;

        int calls = 0;
        t0 = now();
        do {
            if (pmd_encoder_encode(enc, &in, &out) != PMD_OK) die("pmd_encoder_encode");
            calls++;
        } while (now() - t0 < 0.02);
        shared[r] = (now() - t0) / calls;
        shared_wire = out.len;

        int allowed = 0;
        t0 = now();
        for (i = 0; i < receivers; i++) allowed += pmd_extension_can_send_shared(conns[i], enc);
        checks[r] = now() - t0;
        if (allowed != receivers) die("can_send_shared refused a no_context_takeover connection");
    }
    /* The shared frame is what each connection would have sent. */
    if (pmd_encoder_encode(enc, &in, &out) != PMD_OK) die("pmd_encoder_encode");
    pmd_frame sent = out;
    if (pmd_extension_encode(conns[0], &in, &out) != PMD_OK) die("pmd_extension_encode");
    if (out.len != sent.len || memcmp(out.data, sent.data, out.len) != 0)
        die("shared and per-connection bytes differ");
    if (pmd_extension_decode(rx, &sent, SIZE_MAX, &plain) != PMD_OK) die("decode");
    if (plain.len != len || memcmp(plain.data, msg, len) != 0) die("round trip");
    (void)wire;

    double pc = median(per_conn, reps), sh = median(shared, reps), ck = median(checks, reps);
    printf("%-5s %6zu B -> %5zu B  receivers=%d wbits=%d  per_connection_s=%.3f  "
           "shared_encode_us=%.1f  can_send_shared_all_us=%.1f  ratio=%.0f  "
           "ratio_with_checks=%.0f\n",
           name, len, shared_wire, receivers, wbits, pc, sh * 1e6, ck * 1e6, pc / sh,
           pc / (sh + ck));
    for (i = 0; i < receivers; i++) pmd_extension_free(conns[i]);
    pmd_extension_free(rx);
    pmd_encoder_free(enc);
    free(conns);
    free(msg);
    free(per_conn);
    free(shared);
    free(checks);
}

int main(int argc, char **argv) {
    int receivers = argc > 1 ? atoi(argv[1]) : 10000;
    int wbits = argc > 2 ? atoi(argv[2]) : 15;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (receivers < 1 || wbits < 8 || wbits > 15 || reps < 1) {
        fprintf(stderr, "usage: broadcast [receivers=10000] [window_bits=15] [reps=5]\n");
        return 1;
    }
    printf("%s; medians of %d rounds\n", pmd_version(), reps);
    run("chat", 300, receivers, wbits, reps);
    run("doc", 16384, receivers, wbits, reps);
    return 0;
}
