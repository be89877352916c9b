/*
 * ws_utf8.h - UTF-8 validation for text messages and close reasons, which
 * RFC 6455 (sections 5.6 and 8.1) requires to be valid UTF-8.
 */
#ifndef WS_UTF8_H
#define WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

int ws_utf8_valid(const uint8_t *s, size_t len);          /* 1 valid, 0 not */

#endif
