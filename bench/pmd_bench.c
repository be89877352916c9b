/*
 * pmd_bench.c - the same work as zlib_baseline.c (the raw zlib floor),
 * through pmdeflate's C API: every message of a corpus encoded as one frame
 * by one extension, then decoded by another, with the same settings, so
 * that the two programs' lines compare directly. The gap between them is
 * what pmdeflate costs on top of zlib.
 *
 * Usage: pmd_bench CORPUS.bin [window_bits=15] [mem_level=8] [level=6]
 *                  [context_takeover=1] [min_seconds=0.5]
 * PMD_BENCH_STRICT=1 in the environment turns the strict window check on
 * (pmd_config_set_strict_window), to measure what it costs.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_input.h"
#include "pmdeflate.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "pmd_bench: %s (%s)\n", what, pmd_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    bench_input b;
    bench_input_load("pmd_bench", argc, argv, &b);
    const int wbits = b.wbits, mem = b.mem_level, level = b.level, takeover = b.takeover;
    const size_t n = b.n, total = b.total;
    unsigned char **msg = b.msg;
    size_t *len = b.len;

    pmd_config *cfg = pmd_config_new();
    if (pmd_config_set_mem_level(cfg, mem) || pmd_config_set_compress_level(cfg, level)) die("config");
    const char *strict = getenv("PMD_BENCH_STRICT");
    if (pmd_config_set_strict_window(cfg, strict != NULL && strcmp(strict, "1") == 0)) die("config");
    unsigned char **wire = calloc(n, sizeof *wire);
    size_t *wlen = malloc(n * sizeof *wlen);
    size_t wire_total = 0, peak_mem = 0;
    double enc_s = 0, dec_s = 0;
    long rounds = 0;
    do {
        pmd_extension *tx, *rx;
        if (pmd_extension_new(!takeover, !takeover, wbits, wbits, cfg, &tx)) die("extension");
        if (pmd_extension_new(!takeover, !takeover, wbits, wbits, cfg, &rx)) die("extension");
        double t0 = now();
        wire_total = 0;
        for (size_t k = 0; k < n; k++) {
            pmd_frame in = {PMD_OPCODE_BINARY, true, false, false, false, msg[k], len[k]}, out;
            if (pmd_extension_encode(tx, &in, &out)) die("encode");
            /* The copy keeps the wire bytes for the decode pass, as the
               baseline's output buffers do; it is not timed apart. */
            if (rounds == 0) wire[k] = malloc(out.len ? out.len : 1);
            memcpy(wire[k], out.data, out.len);
            wlen[k] = out.len;
            wire_total += out.len;
        }
        double t1 = now();
        for (size_t k = 0; k < n; k++) {
            pmd_frame in = {PMD_OPCODE_BINARY, true, true, false, false, wire[k], wlen[k]}, out;
            if (pmd_extension_decode(rx, &in, SIZE_MAX, &out)) die("decode");
            if (out.len != len[k] || memcmp(out.data, msg[k], len[k])) die("round trip mismatch");
        }
        double t2 = now();
        size_t m = pmd_extension_memory_usage(tx) + pmd_extension_memory_usage(rx);
        if (m > peak_mem) peak_mem = m;
        enc_s += t1 - t0;
        dec_s += t2 - t1;
        pmd_extension_free(tx);
        pmd_extension_free(rx);
        rounds++;
    } while (enc_s + dec_s < b.min_seconds);

    printf("workload=%s msgs=%zu bytes=%zu wire=%zu ratio=%.3f encode_MBps=%.1f decode_MBps=%.1f "
           "wbits=%d memlevel=%d level=%d takeover=%d rounds=%ld memory_end=%zu\n",
           b.name, n, total, wire_total, (double)wire_total / (double)total,
           (double)total * (double)rounds / enc_s / 1e6, (double)total * (double)rounds / dec_s / 1e6, wbits, mem,
           level, takeover, rounds, peak_mem);
    for (size_t k = 0; k < n; k++) free(wire[k]);
    free(wire);
    free(wlen);
    bench_input_free(&b);
    pmd_config_free(cfg);
    return 0;
}
