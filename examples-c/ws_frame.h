/*
 * ws_frame.h - the RFC 6455 frame on the wire (section 5.2): read a frame
 * header, write one, apply a masking key, and the close codes (section
 * 7.4). No state and no buffering here; ws_conn.h builds a connection on
 * top of these.
 */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "pmdeflate.h"

/* Close codes we send. */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011
};

/* 1 if a peer may send this code in a close frame (RFC 6455 7.4), 0 not. */
int ws_close_code_valid(unsigned code);

/* The longest header: 2 bytes, an 8-byte length, a 4-byte masking key. */
#define WS_FRAME_MAX_HEADER 14

typedef struct ws_frame_header {
    int fin, rsv1, rsv2, rsv3;
    uint8_t opcode;
    int masked;                  /* the masking key is the header's last 4 bytes */
    uint64_t len;                /* payload length */
    size_t header_len;           /* bytes before the payload, masking key included */
} ws_frame_header;

/* Reads the header at p[0..avail): 1 with *h filled, 0 if more bytes are
   needed to know its length, -1 for a 64-bit length with the top bit set.
   The masking key itself may still be missing when it returns 1. */
int ws_frame_parse_header(const uint8_t *p, size_t avail, ws_frame_header *h);

/* Writes the header of frame f (its len is the payload length) into hdr,
   masked with key when key is not NULL; returns the header's length. */
size_t ws_frame_write_header(uint8_t hdr[WS_FRAME_MAX_HEADER], const pmd_frame *f, const uint8_t *key);

/* XORs data with the 4-byte masking key: masks and unmasks alike. */
void ws_frame_mask(uint8_t *data, size_t len, const uint8_t key[4]);

#endif
