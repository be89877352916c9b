/*
 * ws_memory.h - how the example server asks its C library's malloc to give
 * memory back after a burst of connections (docs/memory-under-load.md).
 */
#ifndef WS_MEMORY_H
#define WS_MEMORY_H

#include <stddef.h>

/* The default of --mmap-threshold: blocks of this size and more get their
   own mapping, returned to the kernel when freed. */
#define WS_MMAP_THRESHOLD_DEFAULT 4096

/*
 * With glibc, fixes malloc's mmap threshold at `bytes` (which also keeps it
 * from rising after the first large free, and fixes the trim threshold).
 * `bytes` 0 leaves malloc as configured, and so does another C library
 * (its malloc has its own policy). Returns 0, or -1 when glibc refused.
 */
int ws_memory_set_mmap_threshold(size_t bytes);

/*
 * With glibc, turns off its per-thread cache of small freed blocks
 * (tcache), which only an environment variable read at start can do: if
 * GLIBC_TUNABLES does not set glibc.malloc.tcache_count yet, adds
 * glibc.malloc.tcache_count=0 to it and executes the program again, same
 * pid, same arguments (argv must be main's). A freed small block is then
 * merged with its free neighbours at once instead of being cached where it
 * lies, and the heap's free top goes back to the kernel after a burst of
 * connections (docs/memory-under-load.md). Does nothing under valgrind
 * (which replaces malloc and would not follow the exec), when the variable
 * already sets the count (the caller's choice wins) or with another C
 * library. Returns only when it did not re-execute: 0, or -1 when the exec
 * failed (the program goes on with the cache on).
 */
int ws_memory_disable_malloc_cache(char **argv);

#endif
