/*
 * ws_options.c - command-line parsing for the example programs, and the
 * translation of the options into pmd_config setters.
 */
#include "ws_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const char *prog, int role)
{
    fprintf(stderr,
            "usage: %s [options]\n"
            "  --port N                      %s\n"
            "  --server-max-window-bits N    8..15\n"
            "  --client-max-window-bits N    8..15%s\n"
            "  --server-no-context-takeover\n"
            "  --client-no-context-takeover\n"
            "  --level N                     zlib level -1..9\n"
            "  --mem-level N                 zlib memLevel 1..9\n"
            "  --max-size N                  max message size in bytes (0: unlimited; default 16 MiB)\n"
            "  --no-deflate                  do not negotiate permessage-deflate\n",
            prog, role == WS_ROLE_SERVER ? "port to listen on (0: ephemeral, printed)" : "server port",
            role == WS_ROLE_CLIENT ? ", or novalue" : "");
    if (role == WS_ROLE_SERVER)
        fprintf(stderr,
                "  --require                     refuse (HTTP 400) clients without an acceptable offer\n"
                "  --require-client-max-window-bits  decline offers without client_max_window_bits\n"
                "  --max-connections N           exit after serving N connections\n"
                "  --mmap-threshold N            malloc gives blocks of N bytes and more their own mapping,\n"
                "                                returned when freed (glibc; 0: as configured; default %d)\n"
                "  --compact                     compact each connection after each echo\n"
                "                                (pmd_extension_compact: an idle connection keeps only its history)\n"
                "  --malloc-cache                keep glibc's per-thread cache of small freed blocks\n"
                "                                (by default the server turns it off: GLIBC_TUNABLES, re-exec)\n",
                WS_MMAP_THRESHOLD_DEFAULT);
    else
        fprintf(stderr,
                "  --host H                      server address (default 127.0.0.1)\n"
                "  --path P                      request path (default /)\n"
                "  --oversize N                  send one N-byte message, expect close 1009 from the server\n"
                "  --oversize-echo N             send one N-byte message, expect its echo to exceed\n"
                "                                --max-size and close with 1009 ourselves\n");
    fprintf(stderr, "  --quiet                       print only the summary\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int ws_opts_parse(int argc, char **argv, int role, ws_opts *o)
{
    memset(o, 0, sizeof *o);
    o->role = role;
    o->host = "127.0.0.1";
    o->path = "/";
    o->port = role == WS_ROLE_SERVER ? 0 : 9001;
    o->level = -1;
    o->max_size = 16u << 20;
    o->mmap_threshold = WS_MMAP_THRESHOLD_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define NEED_VALUE()                                                    \
    do {                                                                \
        if (!v) {                                                       \
            fprintf(stderr, "%s: %s needs a value\n", argv[0], a);      \
            return -1;                                                  \
        }                                                               \
        i++;                                                            \
    } while (0)
#define NUM(lo, hi)                                                     \
    do {                                                                \
        NEED_VALUE();                                                   \
        if (parse_long(v, (lo), (hi), &n) != 0) {                       \
            fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], a, v); \
            return -1;                                                  \
        }                                                               \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(argv[0], role);
            return 1;
        } else if (strcmp(a, "--port") == 0) {
            NUM(0, 65535);
            o->port = (int)n;
        } else if (strcmp(a, "--server-max-window-bits") == 0) {
            NUM(8, 15);
            o->server_max_window_bits = (int)n;
        } else if (strcmp(a, "--client-max-window-bits") == 0) {
            if (role == WS_ROLE_CLIENT && v && strcmp(v, "novalue") == 0) {
                i++;
                o->client_max_window_bits = PMD_WINDOW_BITS_NO_VALUE;
            } else {
                NUM(8, 15);
                o->client_max_window_bits = (int)n;
            }
        } else if (strcmp(a, "--server-no-context-takeover") == 0) {
            o->server_no_context_takeover = 1;
        } else if (strcmp(a, "--client-no-context-takeover") == 0) {
            o->client_no_context_takeover = 1;
        } else if (strcmp(a, "--level") == 0) {
            NUM(-1, 9);
            o->level = (int)n;
        } else if (strcmp(a, "--mem-level") == 0) {
            NUM(1, 9);
            o->mem_level = (int)n;
        } else if (strcmp(a, "--max-size") == 0) {
            NUM(0, 1L << 30);
            o->max_size = (size_t)n;
        } else if (strcmp(a, "--no-deflate") == 0) {
            o->no_deflate = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--require") == 0) {
            o->require = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--require-client-max-window-bits") == 0) {
            o->require_client_max_window_bits = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--max-connections") == 0) {
            NUM(0, 1L << 30);
            o->max_connections = n;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--mmap-threshold") == 0) {
            NUM(0, 1L << 30);
            o->mmap_threshold = (size_t)n;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--compact") == 0) {
            o->compact = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--malloc-cache") == 0) {
            o->malloc_cache = 1;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--host") == 0) {
            NEED_VALUE();
            o->host = v;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--path") == 0) {
            NEED_VALUE();
            o->path = v;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--oversize") == 0) {
            NUM(1, 1L << 30);
            o->oversize = (size_t)n;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--oversize-echo") == 0) {
            NUM(1, 1L << 30);
            o->oversize_echo = (size_t)n;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
            usage(argv[0], role);
            return -1;
        }
#undef NUM
#undef NEED_VALUE
    }
    return 0;
}

#define CHECK_PMD(call)                                                           \
    do {                                                                          \
        pmd_result r_ = (call);                                                   \
        if (r_ != PMD_OK) {                                                       \
            fprintf(stderr, "%s: %s (%s)\n", #call, pmd_result_name(r_), pmd_last_error()); \
            pmd_config_free(cfg);                                                 \
            return NULL;                                                          \
        }                                                                         \
    } while (0)

pmd_config *ws_opts_config(const ws_opts *o)
{
    pmd_config *cfg = pmd_config_new();
    if (!cfg) {
        fprintf(stderr, "pmd_config_new: out of memory\n");
        return NULL;
    }
    if (o->server_no_context_takeover)
        CHECK_PMD(pmd_config_set_server_no_context_takeover(cfg, true));
    if (o->client_no_context_takeover)
        CHECK_PMD(pmd_config_set_client_no_context_takeover(cfg, true));
    if (o->server_max_window_bits)
        CHECK_PMD(pmd_config_set_server_max_window_bits(cfg, o->server_max_window_bits));
    if (o->client_max_window_bits)
        CHECK_PMD(pmd_config_set_client_max_window_bits(cfg, o->client_max_window_bits));
    CHECK_PMD(pmd_config_set_compress_level(cfg, o->level));
    if (o->mem_level)
        CHECK_PMD(pmd_config_set_mem_level(cfg, o->mem_level));
    if (o->require)
        CHECK_PMD(pmd_config_set_require(cfg, true));
    if (o->require_client_max_window_bits)
        CHECK_PMD(pmd_config_set_require_client_max_window_bits(cfg, true));
    /* Every extension negotiated with cfg counts each message's data
       frames, compressed or not, against --max-size. */
    CHECK_PMD(pmd_config_set_max_message_size(cfg, o->max_size ? o->max_size : SIZE_MAX));
    return cfg;
}
