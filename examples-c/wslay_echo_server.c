/*
 * wslay_echo_server - the echo server of ws_echo_server.c, with wslay
 * doing RFC 6455 framing and pmdeflate plugged in through wslay's RSV-bit
 * hooks:
 *
 *   - wslay_event_config_set_allowed_rsv_bits(ctx, WSLAY_RSV1_BIT) lets
 *     compressed frames through once permessage-deflate is negotiated;
 *   - on_frame_recv_start/chunk/end collect each frame and run it through
 *     pmd_extension_decode (frame by frame: continuation frames of a
 *     compressed message carry no RSV1, so the message-level rsv that
 *     on_msg_recv gets is not enough);
 *   - on_msg_recv hands the reassembled, decompressed message to the echo;
 *   - wslay_event_queue_msg_ex(ctx, &msg, WSLAY_RSV1_BIT) sends the echo
 *     compressed by pmd_extension_encode.
 *
 * Same options as ws_echo_server; prints "listening on PORT" first.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wslay/wslay.h>

#include "ws_buf.h"
#include "ws_frame.h"
#include "ws_handshake.h"
#include "ws_http.h"
#include "ws_options.h"
#include "ws_socket.h"
#include "ws_utf8.h"

typedef struct wconn {
    int fd;
    unsigned long id;
    int upgraded;
    int refused;              /* HTTP error queued: close once written */
    ws_buf head;              /* request head, then bytes read past it */
    ws_buf hs_out;            /* the HTTP response still to write */
    wslay_event_context_ptr ctx;
    pmd_extension *ext;
    /* frame being received */
    uint8_t f_opcode, f_fin, f_rsv;
    ws_buf frame;
    /* message being reassembled (decompressed) */
    ws_buf msg;
    int failed;
    unsigned long messages;
    long long drain_until;    /* >0: half-closed, discarding input until EOF */
} wconn;

#include <time.h>
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Half-close and keep reading until the peer's EOF (at most 2 s), so that
   unread input does not turn our last frame into a reset. */
static int start_drain(wconn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->drain_until = now_ms() + 2000;
    return 0;
}

static ws_opts opts;
static pmd_config *cfg;

static void logc(const wconn *c, const char *what, const char *detail)
{
    if (!opts.quiet)
        fprintf(stderr, "wslay-server: conn %lu: %s%s%s\n", c->id, what, detail ? ": " : "", detail ? detail : "");
}

static void fail(wconn *c, uint16_t code, const char *why)
{
    if (c->failed)
        return;
    c->failed = 1;
    char buf[300];
    snprintf(buf, sizeof buf, "failing with %u", code);
    logc(c, buf, why);
    wslay_event_queue_close(c->ctx, code, NULL, 0);
    wslay_event_shutdown_read(c->ctx);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    wconn *c = ud;
    (void)flags;
    if (c->head.len) {        /* frames that arrived with the handshake */
        size_t n = len < c->head.len ? len : c->head.len;
        memcpy(buf, c->head.data, n);
        ws_buf_consume(&c->head, n);
        return (ssize_t)n;
    }
    ssize_t r;
    do
        r = recv(c->fd, buf, len, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                          : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (r == 0) {             /* EOF */
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud)
{
    wconn *c = ud;
    (void)flags;
    ssize_t r;
    do
        r = send(c->fd, data, len, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                          : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static void on_frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *arg,
                           void *ud)
{
    wconn *c = ud;
    (void)ctx;
    c->f_opcode = arg->opcode;
    c->f_fin = arg->fin;
    c->f_rsv = arg->rsv;
    c->frame.len = 0;
    if (!wslay_is_ctrl_frame(arg->opcode) && arg->opcode != WSLAY_CONTINUATION_FRAME)
        c->msg.len = 0;
}

static void on_frame_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *arg,
                           void *ud)
{
    wconn *c = ud;
    (void)ctx;
    if (ws_buf_append(&c->frame, arg->data, arg->data_length) != 0)
        fail(c, WS_CLOSE_INTERNAL, "out of memory");
}

static void on_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    wconn *c = ud;
    (void)ctx;
    if (c->failed)
        return;
    pmd_frame in = {c->f_opcode, c->f_fin != 0, wslay_get_rsv1(c->f_rsv) != 0, wslay_get_rsv2(c->f_rsv) != 0,
                    wslay_get_rsv3(c->f_rsv) != 0, c->frame.data, c->frame.len};
    pmd_frame out = in;
    if (c->ext) {
        /* The extension counts the message against --max-size itself. */
        pmd_result r = pmd_extension_decode(c->ext, &in, SIZE_MAX, &out);
        if (r != PMD_OK) {
            uint16_t code = pmd_result_close_code(r);
            fail(c, code ? code : WS_CLOSE_INTERNAL, pmd_last_error());
            return;
        }
    }
    if (wslay_is_ctrl_frame(c->f_opcode))
        return;               /* wslay answers pings and closes itself */
    if (!c->ext && opts.max_size && out.len > opts.max_size - c->msg.len) {
        fail(c, WS_CLOSE_TOO_BIG, "message over --max-size");
        return;
    }
    if (ws_buf_append(&c->msg, out.data, out.len) != 0)
        fail(c, WS_CLOSE_INTERNAL, "out of memory");
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
    wconn *c = ud;
    if (c->failed || wslay_is_ctrl_frame(arg->opcode))
        return;
    /* arg->msg is the concatenated wire payload; the decompressed message
       was reassembled frame by frame in c->msg. */
    if (arg->opcode == WSLAY_TEXT_FRAME && !ws_utf8_valid(c->msg.data, c->msg.len)) {
        fail(c, WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
        return;
    }
    c->messages++;
    pmd_frame in = {arg->opcode, true, false, false, false, c->msg.data, c->msg.len};
    pmd_frame out = in;
    if (c->ext) {
        pmd_result r = pmd_extension_encode(c->ext, &in, &out);
        if (r != PMD_OK) {
            fail(c, WS_CLOSE_INTERNAL, pmd_last_error());
            return;
        }
    }
    struct wslay_event_msg m = {arg->opcode, out.data, out.len};
    if (wslay_event_queue_msg_ex(ctx, &m, out.rsv1 ? WSLAY_RSV1_BIT : WSLAY_RSV_NONE) != 0)
        fail(c, WS_CLOSE_INTERNAL, "wslay_event_queue_msg_ex failed");
}

static int upgrade(wconn *c, size_t head_len)
{
    char log[1024];
    ws_http req;
    pmd_extension *ext = NULL;
    int ok = ws_server_handshake(cfg, &opts, &req, c->head.data, head_len, &c->hs_out, &ext, log, sizeof log);
    logc(c, log, NULL);
    ws_buf_consume(&c->head, head_len);     /* what is left are frames */
    if (!ok) {
        c->refused = 1;
        return 0;
    }
    if (!opts.quiet) {
        char who[64];
        snprintf(who, sizeof who, "wslay-server: conn %lu: ", c->id);
        ws_print_negotiated(stderr, who, ext);
    }
    struct wslay_event_callbacks cbs = {recv_cb, send_cb, NULL, on_frame_start, on_frame_chunk, on_frame_end, on_msg};
    if (wslay_event_context_server_init(&c->ctx, &cbs, c) != 0) {
        pmd_extension_free(ext);
        return -1;
    }
    c->ext = ext;
    if (ext)
        wslay_event_config_set_allowed_rsv_bits(c->ctx, WSLAY_RSV1_BIT);
    /* wslay's own limit counts wire bytes; the exact decompressed limit is
       enforced above, so leave room for compressed frames. */
    if (opts.max_size)
        wslay_event_config_set_max_recv_msg_length(c->ctx, (uint64_t)opts.max_size * 2 + 65536);
    c->upgraded = 1;
    return 0;
}

static void wconn_free(wconn *c)
{
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    pmd_extension_free(c->ext);
    ws_buf_free(&c->head);
    ws_buf_free(&c->hs_out);
    ws_buf_free(&c->frame);
    ws_buf_free(&c->msg);
    close(c->fd);
    free(c);
}

/* One poll round for a connection; returns -1 when it is finished. */
static int service(wconn *c, short revents)
{
    if (c->drain_until) {
        uint8_t sink[65536];
        ssize_t r = recv(c->fd, sink, sizeof sink, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) || now_ms() >= c->drain_until)
            return -1;
        return 0;
    }
    if (c->hs_out.len) {
        ssize_t w = send(c->fd, c->hs_out.data, c->hs_out.len, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (w > 0)
            ws_buf_consume(&c->hs_out, (size_t)w);
        if (c->hs_out.len)
            return 0;
        if (c->refused)
            return start_drain(c);
    }
    if (!c->upgraded) {
        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
            return 0;
        uint8_t buf[16384];
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r <= 0)
            return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        ws_buf_append(&c->head, buf, (size_t)r);
        size_t hl = ws_http_head_len(c->head.data, c->head.len);
        if (!hl) {
            if (c->head.len >= WS_HTTP_MAX_HEAD) {
                ws_http_refuse(&c->hs_out, "431 Request Header Fields Too Large", NULL, "request head too large");
                c->refused = 1;
            }
            return 0;
        }
        if (upgrade(c, hl) != 0)
            return -1;
        return service(c, 0);
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) || c->head.len) {
        if (wslay_event_recv(c->ctx) != 0)
            return -1;
    }
    if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0)
        return -1;
    if (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)) {
        logc(c, wslay_event_get_close_received(c->ctx) ? "closed" : "closed without close handshake", NULL);
        return start_drain(c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int pr = ws_opts_parse(argc, argv, WS_ROLE_SERVER, &opts);
    if (pr != 0)
        return pr > 0 ? 0 : 2;
    if (!opts.malloc_cache && ws_memory_disable_malloc_cache(argv) != 0)
        fprintf(stderr, "%s: could not turn glibc's malloc cache off (re-exec failed)\n", argv[0]);
    if (ws_memory_set_mmap_threshold(opts.mmap_threshold) != 0)
        fprintf(stderr, "%s: malloc refused --mmap-threshold %zu\n", argv[0], opts.mmap_threshold);
    cfg = ws_opts_config(&opts);
    if (!cfg)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    int lfd = ws_listen_loopback(opts.port), one = 1;
    if (lfd < 0)
        return 1;

    wconn *conns[1024];
    size_t n = 0;
    unsigned long accepted = 0;
    for (;;) {
        int accepting = (!opts.max_connections || accepted < (unsigned long)opts.max_connections) && n < 1024;
        if (!accepting && n == 0)
            break;
        struct pollfd pfds[1025];
        for (size_t i = 0; i < n; i++) {
            wconn *c = conns[i];
            pfds[i].fd = c->fd;
            pfds[i].events = 0;
            if (c->drain_until)
                pfds[i].events = POLLIN;
            else if (c->hs_out.len || (c->upgraded && wslay_event_want_write(c->ctx)))
                pfds[i].events |= POLLOUT;
            if (!c->drain_until && (!c->upgraded ? !c->refused : wslay_event_want_read(c->ctx)))
                pfds[i].events |= POLLIN;
            pfds[i].revents = 0;
        }
        pfds[n].fd = accepting ? lfd : -1;
        pfds[n].events = POLLIN;
        pfds[n].revents = 0;
        if (poll(pfds, n + 1, 250) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        size_t k = 0, polled = n;
        for (size_t i = 0; i < polled; i++) {
            int due = conns[i]->drain_until && now_ms() >= conns[i]->drain_until;
            if ((pfds[i].revents || due) && service(conns[i], pfds[i].revents) != 0)
                wconn_free(conns[i]);
            else
                conns[k++] = conns[i];
        }
        n = k;
        if (accepting && (pfds[polled].revents & POLLIN)) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                wconn *c = calloc(1, sizeof *c);
                if (!c) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                c->id = ++accepted;
                conns[n++] = c;
            }
        }
    }
    if (!opts.quiet)
        fprintf(stderr, "wslay-server: served %lu connections, exiting\n", accepted);
    close(lfd);
    pmd_config_free(cfg);
    return 0;
}
