/*
 * ws_conn.c - the connection of ws_conn.h: the RFC 6455 rules a receiver
 * enforces (section 5), permessage-deflate through pmdeflate on every data
 * frame, message reassembly with a size limit, and the close handshake
 * (section 7).
 */
#include "ws_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ws_random.h"
#include "ws_utf8.h"

void ws_conn_init(ws_conn *c, int is_client, pmd_extension *ext, size_t max_size)
{
    memset(c, 0, sizeof *c);
    c->is_client = is_client;
    c->ext = ext;
    c->max_size = max_size;
}

void ws_conn_free(ws_conn *c)
{
    ws_buf_free(&c->in);
    ws_buf_free(&c->out);
    ws_buf_free(&c->msg);
    pmd_extension_free(c->ext);
    c->ext = NULL;
}

static ws_event fail(ws_conn *c, uint16_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    c->failed = 1;
    ws_conn_send_close(c, code, NULL);
    ws_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EV_ERROR;
    ev.code = code;
    return ev;
}

ws_event ws_conn_next_event(ws_conn *c)
{
    ws_event ev;
    memset(&ev, 0, sizeof ev);
    if (c->msg_done) {
        c->msg.len = 0;
        c->msg_done = 0;
    }
    while (!c->close_received) {
        if (c->skip) {
            size_t n = c->skip < c->in.len ? (size_t)c->skip : c->in.len;
            ws_buf_consume(&c->in, n);
            c->skip -= n;
            if (c->skip)
                return ev;
        }
        size_t avail = c->in.len;
        ws_frame_header fh;
        int got = ws_frame_parse_header(c->in.data, avail, &fh);
        if (got == 0)
            return ev;
        if (got < 0)
            return fail(c, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
        int fin = fh.fin, rsv1 = fh.rsv1, rsv2 = fh.rsv2, rsv3 = fh.rsv3, masked = fh.masked;
        uint8_t opcode = fh.opcode;
        uint64_t plen = fh.len;
        size_t hl = fh.header_len;

        if (c->failed) {
            /* We sent our close: skip data frames unread, and look only for
               the peer's close (RFC 6455 7.1.1: wait for it before TCP close). */
            if (opcode < 8) {
                c->skip = hl + plen;
                continue;
            }
            if (plen > 125 || avail < hl + plen)
                return ev;
            uint8_t *pl = c->in.data + hl;
            if (masked)
                ws_frame_mask(pl, (size_t)plen, c->in.data + hl - 4);
            if (opcode == PMD_OPCODE_CLOSE) {
                c->close_received = 1;
                c->close_code_received = plen >= 2 ? (uint16_t)(pl[0] << 8 | pl[1]) : 1005;
                ev.type = WS_EV_CLOSE;
                ev.code = c->close_code_received;
                ws_buf_consume(&c->in, hl + (size_t)plen);
                return ev;
            }
            ws_buf_consume(&c->in, hl + (size_t)plen);
            continue;
        }

        /* Everything that can be judged from the header, before buffering the payload. */
        if (rsv2 || rsv3)
            return fail(c, WS_CLOSE_PROTOCOL, "RSV2/RSV3 set without an extension defining them");
        if (rsv1 && !c->ext)
            return fail(c, WS_CLOSE_PROTOCOL, "RSV1 set but permessage-deflate was not negotiated");
        if ((opcode > 2 && opcode < 8) || opcode > 10)
            return fail(c, WS_CLOSE_PROTOCOL, "reserved opcode %u", opcode);
        if (opcode >= 8 && (!fin || plen > 125))
            return fail(c, WS_CLOSE_PROTOCOL, "fragmented or oversized control frame");
        if (c->is_client && masked)
            return fail(c, WS_CLOSE_PROTOCOL, "masked frame from the server");
        if (!c->is_client && !masked)
            return fail(c, WS_CLOSE_PROTOCOL, "unmasked frame from the client");
        if (opcode == PMD_OPCODE_CONTINUATION && !c->msg_opcode)
            return fail(c, WS_CLOSE_PROTOCOL, "continuation frame without a message in progress");
        if ((opcode == PMD_OPCODE_TEXT || opcode == PMD_OPCODE_BINARY) && c->msg_opcode)
            return fail(c, WS_CLOSE_PROTOCOL, "new data frame while a message is in progress");
        if (opcode < 8 && c->max_size) {
            size_t remaining = c->max_size - c->msg.len;
            int compressed = opcode == PMD_OPCODE_CONTINUATION ? c->msg_compressed : rsv1;
            /* Uncompressed: the payload is the message. Compressed: leave
               the exact verdict to pmd_extension_decode, but refuse to
               buffer a frame far beyond anything that could fit. */
            uint64_t bound = compressed ? (uint64_t)remaining * 2 + 65536 : remaining;
            if (plen > bound)
                return fail(c, WS_CLOSE_TOO_BIG, "frame of %llu bytes exceeds max size %zu",
                            (unsigned long long)plen, c->max_size);
        }
        if (plen > SIZE_MAX - hl || avail < hl + plen)
            return ev;                                     /* need more input */

        uint8_t *payload = c->in.data + hl;
        if (masked)
            ws_frame_mask(payload, (size_t)plen, c->in.data + hl - 4);
        c->wire_received += plen;

        pmd_frame in = {opcode, fin, rsv1, rsv2, rsv3, payload, (size_t)plen};
        pmd_frame out = in;
        if (c->ext) {
            /* The extension holds the message limit (from the config it was
               negotiated with): no per-frame budget to pass. */
            pmd_result r = pmd_extension_decode(c->ext, &in, SIZE_MAX, &out);
            if (r != PMD_OK) {
                uint16_t code = pmd_result_close_code(r);
                return fail(c, code ? code : WS_CLOSE_INTERNAL, "pmd_extension_decode: %s (%s)",
                            pmd_result_name(r), pmd_last_error());
            }
        }

        if (opcode >= 8) {
            size_t n = out.len;
            memcpy(c->ctrl, out.data, n);
            ws_buf_consume(&c->in, hl + (size_t)plen);
            ev.opcode = opcode;
            ev.data = c->ctrl;
            ev.len = n;
            if (opcode == PMD_OPCODE_PING) {
                if (!c->close_sent && ws_conn_send_frame(c, PMD_OPCODE_PONG, 1, c->ctrl, n) != 0)
                    return fail(c, WS_CLOSE_INTERNAL, "cannot queue pong");
                ev.type = WS_EV_PING;
                return ev;
            }
            if (opcode == PMD_OPCODE_PONG) {
                ev.type = WS_EV_PONG;
                return ev;
            }
            /* close */
            uint16_t code = 1005;
            if (n == 1)
                return fail(c, WS_CLOSE_PROTOCOL, "close frame with a 1-byte body");
            if (n >= 2) {
                code = (uint16_t)(c->ctrl[0] << 8 | c->ctrl[1]);
                if (!ws_close_code_valid(code))
                    return fail(c, WS_CLOSE_PROTOCOL, "invalid close code %u", code);
                if (!ws_utf8_valid(c->ctrl + 2, n - 2))
                    return fail(c, WS_CLOSE_INVALID_DATA, "close reason is not UTF-8");
            }
            c->close_received = 1;
            c->close_code_received = code;
            if (!c->close_sent)
                ws_conn_send_close(c, code == 1005 ? 0 : code, NULL);
            ev.type = WS_EV_CLOSE;
            ev.code = code;
            return ev;
        }

        /* data frame */
        if (opcode != PMD_OPCODE_CONTINUATION) {
            c->msg_opcode = opcode;
            c->msg_compressed = rsv1;
            c->msg_frames = 0;
            c->msg.len = 0;
        }
        if (!c->ext && c->max_size && out.len > c->max_size - c->msg.len)
            return fail(c, WS_CLOSE_TOO_BIG, "message exceeds max size %zu", c->max_size);
        if (ws_buf_append(&c->msg, out.data, out.len) != 0)
            return fail(c, WS_CLOSE_INTERNAL, "out of memory");
        ws_buf_consume(&c->in, hl + (size_t)plen);
        c->msg_frames++;
        if (!fin)
            continue;
        c->payload_received += c->msg.len;
        if (c->msg_opcode == PMD_OPCODE_TEXT && !ws_utf8_valid(c->msg.data, c->msg.len))
            return fail(c, WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
        ev.type = WS_EV_MESSAGE;
        ev.opcode = c->msg_opcode;
        ev.data = c->msg.data;
        ev.len = c->msg.len;
        ev.frames = c->msg_frames;
        c->msg_opcode = 0;
        c->msg_done = 1;
        return ev;
    }
    return ev;
}

int ws_conn_send_frame(ws_conn *c, uint8_t opcode, int fin, const uint8_t *data, size_t len)
{
    pmd_frame in = {opcode, fin != 0, false, false, false, data, len};
    pmd_frame out = in;
    if (c->close_sent) {
        snprintf(c->error, sizeof c->error, "close already sent");
        return -1;
    }
    if (c->ext) {
        pmd_result r = pmd_extension_encode(c->ext, &in, &out);
        if (r != PMD_OK) {
            snprintf(c->error, sizeof c->error, "pmd_extension_encode: %s (%s)", pmd_result_name(r),
                     pmd_last_error());
            return -1;
        }
    }
    uint8_t hdr[WS_FRAME_MAX_HEADER];
    uint8_t key[4] = {0, 0, 0, 0};
    if (c->is_client)
        ws_random_mask_key(&c->mask_state, key);
    size_t hl = ws_frame_write_header(hdr, &out, c->is_client ? key : NULL);
    if (ws_buf_reserve(&c->out, hl + out.len) != 0) {
        snprintf(c->error, sizeof c->error, "out of memory");
        return -1;
    }
    ws_buf_append(&c->out, hdr, hl);
    uint8_t *dst = c->out.data + c->out.len;
    ws_buf_append(&c->out, out.data, out.len);
    if (c->is_client)
        ws_frame_mask(dst, out.len, key);
    if (opcode < 8) {
        c->payload_sent += len;
        c->wire_sent += out.len;
    }
    if (opcode == PMD_OPCODE_CLOSE) {
        c->close_sent = 1;
    }
    return 0;
}

int ws_conn_send_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    return ws_conn_send_frame(c, opcode, 1, data, len);
}

int ws_conn_send_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (c->close_sent)
        return 0;
    uint8_t body[125];
    size_t n = 0;
    if (code) {
        body[0] = (uint8_t)(code >> 8);
        body[1] = (uint8_t)code;
        n = 2;
        if (reason) {
            size_t rl = strlen(reason);
            if (rl > 123)
                rl = 123;
            memcpy(body + 2, reason, rl);
            n += rl;
        }
    }
    c->close_code_sent = code ? code : 1005;
    return ws_conn_send_frame(c, PMD_OPCODE_CLOSE, 1, body, n);
}
