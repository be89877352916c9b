/*
 * ws_conn.h - one WebSocket connection after the handshake, without I/O.
 *
 * The receive side is a small state machine that parses frames from the
 * bytes the program appends to c->in, runs each one through
 * pmd_extension_decode, reassembles messages and reports events; the send
 * side frames (and compresses, when negotiated) into c->out, which the
 * program writes to its socket. All state is in the ws_conn the caller
 * owns, so a program may run any number of connections.
 */
#ifndef WS_CONN_H
#define WS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "pmdeflate.h"
#include "ws_buf.h"
#include "ws_frame.h"

enum ws_event_type {
    WS_EV_NONE = 0,      /* need more input */
    WS_EV_MESSAGE,       /* a whole data message: opcode, data, len */
    WS_EV_PING,          /* a ping (a pong was already queued) */
    WS_EV_PONG,
    WS_EV_CLOSE,         /* the peer's close frame (a reply was queued if we had not sent one) */
    WS_EV_ERROR          /* we failed the connection: code queued in a close frame */
};

typedef struct ws_event {
    enum ws_event_type type;
    uint8_t opcode;
    const uint8_t *data;         /* valid until the next ws_conn_next_event */
    size_t len;
    uint16_t code;               /* CLOSE: peer's code (1005 when none); ERROR: ours */
    size_t frames;               /* MESSAGE: number of frames it came in */
} ws_event;

typedef struct ws_conn {
    int is_client;               /* clients mask what they send and get unmasked frames */
    pmd_extension *ext;          /* NULL: no permessage-deflate */
    size_t max_size;             /* 0: unlimited */
    ws_buf in;                   /* bytes read, not parsed yet */
    ws_buf out;                  /* bytes to write */
    ws_buf msg;                  /* the message being reassembled */
    uint8_t msg_opcode;          /* 0: none in progress */
    size_t msg_frames;
    uint8_t send_opcode;         /* 0: not in the middle of sending a message */
    int close_sent;
    int close_received;
    int failed;                  /* we failed the connection (close queued) */
    int msg_compressed;          /* the message in progress had RSV1 */
    uint64_t skip;               /* bytes of a frame still to skip after we failed */
    int msg_done;                /* msg holds a message already reported */
    uint8_t ctrl[125];           /* payload of the last control frame */
    uint16_t close_code_sent;
    uint16_t close_code_received;
    uint64_t mask_state;         /* masking-key generator (clients), see ws_random_mask_key */
    /* counters for "bytes saved" */
    uint64_t payload_sent, wire_sent, payload_received, wire_received;
    char error[256];             /* why we failed the connection */
} ws_conn;

void ws_conn_init(ws_conn *c, int is_client, pmd_extension *ext, size_t max_size);
void ws_conn_free(ws_conn *c);    /* frees buffers and the extension */

/* Parses what is in c->in and returns the next event. */
ws_event ws_conn_next_event(ws_conn *c);

/* Queues one frame of a data message (opcode TEXT/BINARY for the first
   frame, CONTINUATION after) or a control frame; data frames go through
   pmd_extension_encode. Returns 0, or -1 with c->error set. */
int ws_conn_send_frame(ws_conn *c, uint8_t opcode, int fin, const uint8_t *data, size_t len);
/* Queues a whole message in one frame. */
int ws_conn_send_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len);
/* Queues a close frame (once); code 0 sends an empty close body. */
int ws_conn_send_close(ws_conn *c, uint16_t code, const char *reason);

#endif
