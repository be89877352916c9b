/*
 * ws_base64.h - base64 encoding (RFC 4648, with padding), for
 * Sec-WebSocket-Key and Sec-WebSocket-Accept.
 */
#ifndef WS_BASE64_H
#define WS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Writes base64 of in into out (4*ceil(len/3) bytes plus NUL). */
void ws_base64(const uint8_t *in, size_t len, char *out);

#endif
