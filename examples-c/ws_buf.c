/*
 * ws_buf.c - the growable byte buffer of ws_buf.h: capacity doubles from
 * 4 KiB, so appending costs no allocation once a buffer has grown.
 */
#include "ws_buf.h"

#include <stdlib.h>
#include <string.h>

int ws_buf_reserve(ws_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int ws_buf_append(ws_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (ws_buf_reserve(b, len) != 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void ws_buf_consume(ws_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void ws_buf_free(ws_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
