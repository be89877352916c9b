/*
 * ws_frame.c - frame headers and masking of ws_frame.h, byte by byte as
 * RFC 6455 section 5.2 draws them.
 */
#include "ws_frame.h"

#include <string.h>

int ws_close_code_valid(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

int ws_frame_parse_header(const uint8_t *p, size_t avail, ws_frame_header *h)
{
    if (avail < 2)
        return 0;
    h->fin = (p[0] & 0x80) != 0;
    h->rsv1 = (p[0] & 0x40) != 0;
    h->rsv2 = (p[0] & 0x20) != 0;
    h->rsv3 = (p[0] & 0x10) != 0;
    h->opcode = p[0] & 0x0f;
    h->masked = (p[1] & 0x80) != 0;
    uint64_t plen = p[1] & 0x7f;
    size_t hl = 2;
    if (plen == 126) {
        if (avail < 4)
            return 0;
        plen = (uint64_t)p[2] << 8 | p[3];
        hl = 4;
    } else if (plen == 127) {
        if (avail < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        hl = 10;
        if (plen >> 63)
            return -1;
    }
    if (h->masked)
        hl += 4;
    h->len = plen;
    h->header_len = hl;
    return 1;
}

size_t ws_frame_write_header(uint8_t hdr[WS_FRAME_MAX_HEADER], const pmd_frame *f, const uint8_t *key)
{
    size_t hl = 2;
    hdr[0] = (uint8_t)((f->fin ? 0x80 : 0) | (f->rsv1 ? 0x40 : 0) | (f->rsv2 ? 0x20 : 0) |
                       (f->rsv3 ? 0x10 : 0) | (f->opcode & 0x0f));
    if (f->len < 126) {
        hdr[1] = (uint8_t)f->len;
    } else if (f->len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(f->len >> 8);
        hdr[3] = (uint8_t)f->len;
        hl = 4;
    } else {
        hdr[1] = 127;
        for (int i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)((uint64_t)f->len >> (56 - 8 * i));
        hl = 10;
    }
    if (key) {
        hdr[1] |= 0x80;
        memcpy(hdr + hl, key, 4);
        hl += 4;
    }
    return hl;
}

void ws_frame_mask(uint8_t *data, size_t len, const uint8_t key[4])
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= key[i & 3];
}
