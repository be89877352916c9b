/*
 * ws_memory.c - the mmap threshold of ws_memory.h.
 *
 * glibc's malloc serves blocks below its mmap threshold (128 KiB, raised
 * to the size of the largest block freed) from one heap that it can only
 * shrink from the top, and it keeps a few small freed blocks per size in a
 * per-thread cache without merging them. After a burst of connections
 * such a cached block high in the heap keeps everything below it resident.
 * With the threshold fixed low, the blocks a connection holds (buffers,
 * zlib's state and windows, pmdeflate's output) each get their own
 * mapping and go back to the kernel when the connection is freed; the
 * heap holds only small blocks and stays small.
 */
#include "ws_memory.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int ws_memory_set_mmap_threshold(size_t bytes)
{
    if (bytes == 0)
        return 0;
#if defined(__GLIBC__)
    if (bytes > INT_MAX)
        return -1;
    return mallopt(M_MMAP_THRESHOLD, (int)bytes) == 1 ? 0 : -1;
#else
    return 0;
#endif
}

#define TCACHE_TUNABLE "glibc.malloc.tcache_count"

int ws_memory_disable_malloc_cache(char **argv)
{
#if defined(__GLIBC__) && defined(__linux__)
    const char *old = getenv("GLIBC_TUNABLES");
    const char *preload = getenv("LD_PRELOAD");
    if (old && strstr(old, TCACHE_TUNABLE))
        return 0;
    if (preload && strstr(preload, "vgpreload"))
        return 0;
    size_t n = (old ? strlen(old) + 1 : 0) + sizeof TCACHE_TUNABLE "=0";
    char *val = malloc(n);
    if (!val)
        return -1;
    snprintf(val, n, "%s%s" TCACHE_TUNABLE "=0", old ? old : "", old && *old ? ":" : "");
    int rc = setenv("GLIBC_TUNABLES", val, 1);
    free(val);
    if (rc != 0)
        return -1;
    execv("/proc/self/exe", argv);
    /* Still here: the exec failed; leave the variable as it was. */
    if (old)
        setenv("GLIBC_TUNABLES", old, 1);
    else
        unsetenv("GLIBC_TUNABLES");
    return -1;
#else
    (void)argv;
    return 0;
#endif
}
