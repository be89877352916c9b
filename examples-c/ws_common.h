/*
 * ws_common.h - the WebSocket pieces shared by the pmdeflate example
 * programs: RFC 6455 framing and the opening handshake, SHA-1 and base64
 * for Sec-WebSocket-Accept, UTF-8 validation, and command-line options
 * that become a pmd_config.
 *
 * The receive side is a small state machine (ws_conn) that parses frames,
 * runs each one through pmd_extension_decode, reassembles messages and
 * reports events; the send side frames (and compresses, when negotiated)
 * into an output buffer that the program writes to its socket.
 */
#ifndef WS_COMMON_H
#define WS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pmdeflate.h"

/* ---- byte buffer ------------------------------------------------------- */

typedef struct ws_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ws_buf;

int ws_buf_reserve(ws_buf *b, size_t extra);              /* 0 ok, -1 no memory */
int ws_buf_append(ws_buf *b, const void *data, size_t len);
void ws_buf_consume(ws_buf *b, size_t n);                 /* drop n bytes from the front */
void ws_buf_free(ws_buf *b);

/* ---- SHA-1, base64, handshake keys ------------------------------------- */

void ws_sha1(const void *data, size_t len, uint8_t digest[20]);
/* Writes base64 of in into out (4*ceil(len/3) bytes plus NUL). */
void ws_base64(const uint8_t *in, size_t len, char *out);
/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 28 characters plus NUL. */
void ws_accept_key(const char *key, size_t key_len, char out[29]);
/* Fills buf with n bytes from /dev/urandom (falls back to a PRNG). */
void ws_random(void *buf, size_t n);

/* ---- UTF-8 ---------------------------------------------------------------- */

int ws_utf8_valid(const uint8_t *s, size_t len);          /* 1 valid, 0 not */

/* ---- HTTP head of the opening handshake ---------------------------------- */

#define WS_HTTP_MAX_HEADERS 64
#define WS_HTTP_MAX_HEAD 16384

typedef struct ws_http {
    /* Start line split in three: "GET", "/path", "HTTP/1.1" for a request,
       "HTTP/1.1", "101", "Switching Protocols" for a response. */
    char start[3][256];
    size_t n_headers;
    struct { char *name; char *value; } headers[WS_HTTP_MAX_HEADERS];
    char storage[WS_HTTP_MAX_HEAD];
} ws_http;

/* Looks for the end of an HTTP head (CRLF CRLF) in buf; returns its length
   including the blank line, 0 if not complete yet. */
size_t ws_http_head_len(const uint8_t *buf, size_t len);
/* Parses a complete head; 0 ok, -1 malformed. */
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

struct ws_opts;
/* Server side of the opening handshake for the request head[0..len):
   validates it, negotiates permessage-deflate with pmd_server_negotiate
   (Sec-WebSocket-Extensions lines joined with ", ") and appends the HTTP
   response to out. Returns 1 when upgraded (*ext set, NULL when not
   negotiated), 0 when refused (400 on a header syntax error, or on a
   negotiation error under --require). log gets a one-line summary. */
int ws_server_handshake(const pmd_config *cfg, const struct ws_opts *o, const uint8_t *head, size_t len,
                        ws_buf *out, pmd_extension **ext, char *log, size_t logcap);

/* ---- options ---------------------------------------------------------------- */

enum { WS_ROLE_SERVER = 0, WS_ROLE_CLIENT = 1 };

struct ws_opts {
    int role;
    const char *host;
    const char *path;
    int port;
    int server_max_window_bits;       /* 0 unset */
    int client_max_window_bits;       /* 0 unset, -1 novalue */
    int server_no_context_takeover;
    int client_no_context_takeover;
    int level;                        /* -1 zlib default */
    int mem_level;                    /* 0 unset */
    size_t max_size;                  /* 0 unlimited */
    int require;
    int require_client_max_window_bits;
    int no_deflate;
    long max_connections;             /* 0 unlimited */
    size_t oversize;                  /* client: send one message of this size */
    size_t oversize_echo;             /* client: send one, expect its echo over max_size */
    int quiet;
};
typedef struct ws_opts ws_opts;

/* Parses argv; prints usage and returns -1 on a bad option, 1 on --help. */
int ws_opts_parse(int argc, char **argv, int role, ws_opts *o);
/* The pmd_config for the options, or NULL (message printed) on error. */
pmd_config *ws_opts_config(const ws_opts *o);

/* ---- framing ---------------------------------------------------------------- */

/* Close codes we send. */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011
};

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

/* Writes the whole buffer to a blocking socket; 0 ok, -1 error. */
int ws_write_all(int fd, const void *data, size_t len);
/* Opens a non-blocking TCP socket listening on 127.0.0.1:port (0: any free
   port) and prints "listening on <port>" to stdout. Returns the socket, or
   -1 (message printed) on error. */
int ws_listen_loopback(int port);

/* Prints "negotiated: ..." for an extension (or "none"). */
void ws_print_negotiated(FILE *f, const char *who, const pmd_extension *ext);

#endif
