/*
 * ws_http.h - the HTTP/1.1 head of the opening handshake (RFC 6455
 * section 4): find where it ends, split it into a start line and headers,
 * look headers up, and write an error response.
 *
 * The parser keeps no state of its own: everything it finds goes into a
 * ws_http the caller owns (it is large, about 18 KiB; a stack variable is
 * fine), so any number of heads may be parsed at once.
 */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ws_buf.h"

#define WS_HTTP_MAX_HEADERS 64
#define WS_HTTP_MAX_HEAD 16384

typedef struct ws_http {
    /* Start line split in three: "GET", "/path", "HTTP/1.1" for a request,
       "HTTP/1.1", "101", "Switching Protocols" for a response. */
    char start[3][256];
    size_t n_headers;
    struct { char *name; char *value; } headers[WS_HTTP_MAX_HEADERS];
    char storage[WS_HTTP_MAX_HEAD];   /* the head, cut into the strings above */
} ws_http;

/* Looks for the end of an HTTP head (CRLF CRLF) in buf; returns its length
   including the blank line, 0 if not complete yet. */
size_t ws_http_head_len(const uint8_t *buf, size_t len);
/* Parses a complete head into *h; 0 ok, -1 malformed. */
int ws_http_parse(const uint8_t *head, size_t len, ws_http *h);
/* The value of the first header of that name (case-insensitive), or NULL. */
const char *ws_http_get(const ws_http *h, const char *name);
/* All headers of that name joined with ", " into out; returns the number of
   header lines found, -1 if out is too small. */
int ws_http_join(const ws_http *h, const char *name, char *out, size_t cap);
/* 1 if the comma-separated header value contains token (case-insensitive). */
int ws_http_has_token(const char *value, const char *token);

/* Writes an HTTP error response (status like "400 Bad Request") to out. */
void ws_http_refuse(ws_buf *out, const char *status, const char *extra_headers, const char *why);

#endif
