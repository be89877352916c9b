/*
 * ws_options.h - the example programs' command line: one parser for the
 * servers and the client, and the pmd_config the options describe.
 */
#ifndef WS_OPTIONS_H
#define WS_OPTIONS_H

#include <stddef.h>

#include "pmdeflate.h"
#include "ws_memory.h"

enum { WS_ROLE_SERVER = 0, WS_ROLE_CLIENT = 1 };

struct ws_opts {
    int role;
    const char *host;
    const char *path;
    int port;
    int server_max_window_bits;       /* 0 unset */
    int client_max_window_bits;       /* 0 unset, -1 novalue */
    int server_no_context_takeover;
    int client_no_context_takeover;
    int level;                        /* -1 zlib default */
    int mem_level;                    /* 0 unset */
    size_t max_size;                  /* 0 unlimited */
    int require;
    int require_client_max_window_bits;
    int no_deflate;
    long max_connections;             /* 0 unlimited */
    size_t oversize;                  /* client: send one message of this size */
    size_t oversize_echo;             /* client: send one, expect its echo over max_size */
    size_t mmap_threshold;            /* server: malloc's mmap threshold, 0 as configured */
    int malloc_cache;                 /* server: keep glibc's per-thread cache */
    int compact;                      /* server: pmd_extension_compact after each echo */
    int quiet;
};
typedef struct ws_opts ws_opts;

/* Parses argv; prints usage and returns -1 on a bad option, 1 on --help. */
int ws_opts_parse(int argc, char **argv, int role, ws_opts *o);
/* The pmd_config for the options, or NULL (message printed) on error. */
pmd_config *ws_opts_config(const ws_opts *o);

#endif
