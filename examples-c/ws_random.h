/*
 * ws_random.h - random bytes for Sec-WebSocket-Key nonces and for the
 * masking keys a client puts on every frame (RFC 6455 section 5.3).
 */
#ifndef WS_RANDOM_H
#define WS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n bytes from /dev/urandom (falls back to a PRNG). */
void ws_random(void *buf, size_t n);

/* The next masking key from a generator whose state the caller owns (one
   per connection, 0 before the first key): seeded from ws_random once,
   then a xorshift64* stream, so a key costs no system call. */
void ws_random_mask_key(uint64_t *state, uint8_t key[4]);

#endif
