/*
 * ws_sha1.h - SHA-1 (FIPS 180-4), only what Sec-WebSocket-Accept needs
 * (RFC 6455 section 4.2.2): one digest of a short input, no streaming.
 */
#ifndef WS_SHA1_H
#define WS_SHA1_H

#include <stddef.h>
#include <stdint.h>

void ws_sha1(const void *data, size_t len, uint8_t digest[20]);

#endif
