/*
 * ws_buf.h - a growable byte buffer: the examples keep bytes read, bytes to
 * write and messages being reassembled in one of these.
 */
#ifndef WS_BUF_H
#define WS_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialise ({NULL, 0, 0}) before first use. */
typedef struct ws_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ws_buf;

int ws_buf_reserve(ws_buf *b, size_t extra);              /* 0 ok, -1 no memory */
int ws_buf_append(ws_buf *b, const void *data, size_t len);
void ws_buf_consume(ws_buf *b, size_t n);                 /* drop n bytes from the front */
void ws_buf_free(ws_buf *b);

#endif
