/*
 * ws_random.c - the random sources of ws_random.h: the kernel's
 * /dev/urandom, and a cheap per-connection stream for masking keys.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "ws_random.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Process-wide, and used only when /dev/urandom cannot be read. */
static uint64_t prng_state;

void ws_random(void *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        ssize_t r = read(fd, buf, n);
        close(fd);
        if (r == (ssize_t)n)
            return;
    }
    /* Fallback: xorshift seeded from the address space and pid. */
    if (!prng_state)
        prng_state = (uint64_t)(uintptr_t)&n ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        prng_state ^= prng_state << 13;
        prng_state ^= prng_state >> 7;
        prng_state ^= prng_state << 17;
        p[i] = (uint8_t)prng_state;
    }
}

void ws_random_mask_key(uint64_t *state, uint8_t key[4])
{
    /* Masking keys must be unpredictable (RFC 6455 5.3): seed from the
       kernel once, then a xorshift64* stream. */
    if (!*state) {
        ws_random(state, sizeof *state);
        *state |= 1;
    }
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    uint32_t v = (uint32_t)((*state * 2685821657736338717ULL) >> 32);
    memcpy(key, &v, 4);
}
