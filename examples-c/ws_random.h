/*
 * ws_random.h - random bytes for Sec-WebSocket-Key nonces and for seeding
 * the masking keys a client puts on every frame (RFC 6455 section 5.3).
 */
#ifndef WS_RANDOM_H
#define WS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n bytes from /dev/urandom (falls back to a PRNG). */
void ws_random(void *buf, size_t n);

#endif
