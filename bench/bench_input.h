/*
 * bench_input.h - what the C benchmark programs (zlib_baseline.c,
 * pmd_bench.c) take in, read the same way by both: the settings from the
 * command line and the corpus file that corpus.py writes.
 *
 *   PROG CORPUS.bin [window_bits=15] [mem_level=8] [level=6]
 *        [context_takeover=1] [min_seconds=0.5]
 *
 * A corpus file is a sequence of records: a 4-byte little-endian length,
 * then that many payload bytes, one record per WebSocket message.
 */
#ifndef BENCH_INPUT_H
#define BENCH_INPUT_H

#include <stddef.h>

typedef struct bench_input {
    /* settings */
    int wbits, mem_level, level, takeover;
    double min_seconds;          /* repeat the pass until encode + decode take this long */
    const char *name;            /* the corpus file name without its directory */
    /* corpus */
    unsigned char *all;          /* the whole file; msg[k] points into it */
    unsigned char **msg;         /* the n messages */
    size_t *len;                 /* their lengths */
    size_t n;
    size_t total;                /* sum of the lengths */
    size_t maxlen;               /* the longest message */
} bench_input;

/* Reads the settings and the corpus; on failure prints "prog: why" (the
   usage when the corpus is missing) and exits with 1. */
void bench_input_load(const char *prog, int argc, char **argv, bench_input *in);
void bench_input_free(bench_input *in);

#endif
