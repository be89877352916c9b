/*
 * ws_handshake.h - the WebSocket opening handshake (RFC 6455 section 4)
 * with permessage-deflate negotiated by pmdeflate (RFC 7692 section 5):
 * Sec-WebSocket-Accept, the server's answer to a request, and a one-line
 * report of what was negotiated.
 */
#ifndef WS_HANDSHAKE_H
#define WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pmdeflate.h"
#include "ws_buf.h"
#include "ws_http.h"

struct ws_opts;

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 28 characters plus NUL. */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

/* Server side of the opening handshake for the request head[0..len):
   parses it into *req (the caller's, left holding the request; no state is
   kept between calls), validates it, negotiates permessage-deflate with
   pmd_server_negotiate (Sec-WebSocket-Extensions lines joined with ", ")
   and appends the HTTP response to out. Returns 1 when upgraded (*ext set,
   NULL when not negotiated), 0 when refused (400 on a header syntax error,
   or on a negotiation error under --require). log gets a one-line summary. */
int ws_server_handshake(const pmd_config *cfg, const struct ws_opts *o, ws_http *req, const uint8_t *head,
                        size_t len, ws_buf *out, pmd_extension **ext, char *log, size_t logcap);

/* Prints "negotiated: ..." for an extension (or "none"). */
void ws_print_negotiated(FILE *f, const char *who, const pmd_extension *ext);

#endif
