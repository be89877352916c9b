/*
 * bench_input.c - settings and corpus loading of bench_input.h. None of
 * this is timed; it only has to be the same for every program.
 */
#include "bench_input.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *prog, const char *why) {
    fprintf(stderr, "%s: %s\n", prog, why);
    exit(1);
}

static void load_corpus(const char *prog, const char *path, bench_input *c) {
    FILE *f = fopen(path, "rb");
    if (!f) fail(prog, "cannot open corpus");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 0) fail(prog, "cannot size corpus");
    c->all = malloc(size ? (size_t)size : 1);
    if (!c->all || fread(c->all, 1, (size_t)size, f) != (size_t)size) fail(prog, "short read");
    fclose(f);

    size_t cap = 1024;
    c->n = c->total = c->maxlen = 0;
    c->msg = malloc(cap * sizeof *c->msg);
    c->len = malloc(cap * sizeof *c->len);
    if (!c->msg || !c->len) fail(prog, "out of memory");
    for (long off = 0; off + 4 <= size;) {
        const unsigned char *p = c->all + off;
        uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        off += 4;
        if (l > (uint64_t)(size - off)) fail(prog, "truncated record");
        if (c->n == cap) {
            cap *= 2;
            c->msg = realloc(c->msg, cap * sizeof *c->msg);
            c->len = realloc(c->len, cap * sizeof *c->len);
            if (!c->msg || !c->len) fail(prog, "out of memory");
        }
        c->msg[c->n] = c->all + off;
        c->len[c->n] = l;
        c->total += l;
        if (l > c->maxlen) c->maxlen = l;
        c->n++;
        off += l;
    }
}

void bench_input_load(const char *prog, int argc, char **argv, bench_input *in) {
    if (argc < 2) {
        fprintf(stderr, "%s: usage: %s CORPUS.bin [wbits] [memlevel] [level] [takeover] [secs]\n", prog, prog);
        exit(1);
    }
    in->wbits = argc > 2 ? atoi(argv[2]) : 15;
    in->mem_level = argc > 3 ? atoi(argv[3]) : 8;
    in->level = argc > 4 ? atoi(argv[4]) : 6;
    in->takeover = argc > 5 ? atoi(argv[5]) : 1;
    in->min_seconds = argc > 6 ? atof(argv[6]) : 0.5;
    const char *slash = strrchr(argv[1], '/');
    in->name = slash ? slash + 1 : argv[1];
    load_corpus(prog, argv[1], in);
}

void bench_input_free(bench_input *c) {
    free(c->msg);
    free(c->len);
    free(c->all);
    c->msg = NULL;
    c->len = NULL;
    c->all = NULL;
}
