/*
 * ws_echo_server - a WebSocket echo server (RFC 6455) that negotiates
 * permessage-deflate (RFC 7692) with pmdeflate. One thread, poll(), any
 * number of connections at once.
 *
 *   ws_echo_server --port 0 --server-max-window-bits 12 --max-connections 5
 *
 * Prints "listening on PORT" on stdout first; logs connections on stderr.
 * On SIGUSR1 it prints "stats: connections N accepted M" on stdout: the connections it holds
 * and has accepted so far (tests/soak reads it).
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
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_buf.h"
#include "ws_conn.h"
#include "ws_handshake.h"
#include "ws_http.h"
#include "ws_options.h"
#include "ws_socket.h"

#define LINGER_MS 2000   /* how long we wait for the peer's EOF after our close */

enum conn_state {
    ST_HANDSHAKE,        /* reading the HTTP request */
    ST_OPEN,             /* frames flow */
    ST_CLOSING           /* our close (or HTTP error) queued: flush, shut down, drain */
};

typedef struct conn {
    int fd;
    unsigned long id;
    enum conn_state state;
    ws_buf head;         /* the HTTP request while in ST_HANDSHAKE */
    ws_conn ws;
    int shut_wr;
    long long deadline_ms;
    unsigned long messages;
    unsigned long compactions;   /* --compact: pmd_extension_compact calls */
} conn;

static const ws_opts *g_opts;
static const pmd_config *g_cfg;
static volatile sig_atomic_t g_stats;   /* SIGUSR1 received */

static void on_sigusr1(int sig)
{
    (void)sig;
    g_stats = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logc(const conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void logc(const conn *c, const char *fmt, ...)
{
    if (g_opts->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "server: conn %lu: ", c->id);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Answers the opening handshake in c->head[0..len). */
static void handshake(conn *c, size_t len)
{
    char log[1024];
    ws_http req;
    pmd_extension *ext = NULL;
    int ok = ws_server_handshake(g_cfg, g_opts, &req, c->head.data, len, &c->ws.out, &ext, log, sizeof log);
    logc(c, "%s", log);
    if (!ok) {
        c->state = ST_CLOSING;
        return;
    }
    c->ws.ext = ext;
    c->state = ST_OPEN;
    if (!g_opts->quiet) {
        char who[64];
        snprintf(who, sizeof who, "server: conn %lu: ", c->id);
        ws_print_negotiated(stderr, who, ext);
    }
    /* Bytes after the head are the first frames. */
    ws_buf_append(&c->ws.in, c->head.data + len, c->head.len - len);
    ws_buf_free(&c->head);
}

static void process_frames(conn *c)
{
    for (;;) {
        ws_event ev = ws_conn_next_event(&c->ws);
        switch (ev.type) {
        case WS_EV_NONE:
            return;
        case WS_EV_MESSAGE:
            c->messages++;
            if (!c->ws.close_sent && ws_conn_send_message(&c->ws, ev.opcode, ev.data, ev.len) != 0) {
                logc(c, "echo failed: %s", c->ws.error);
                ws_conn_send_close(&c->ws, WS_CLOSE_INTERNAL, NULL);
                c->state = ST_CLOSING;
                return;
            }
            /* Both sides are between messages (the echo is already copied
               into the output buffer): keep only the history. */
            if (g_opts->compact && c->ws.ext) {
                if (pmd_extension_compact(c->ws.ext) != PMD_OK) {
                    logc(c, "compaction failed: %s", pmd_last_error());
                    ws_conn_send_close(&c->ws, WS_CLOSE_INTERNAL, NULL);
                    c->state = ST_CLOSING;
                    return;
                }
                c->compactions++;
            }
            break;
        case WS_EV_PING:
        case WS_EV_PONG:
            break;
        case WS_EV_CLOSE:
            logc(c, "peer closed with %u after %lu messages (%lu compactions)", ev.code, c->messages,
                 c->compactions);
            c->state = ST_CLOSING;
            return;
        case WS_EV_ERROR:
            logc(c, "failing connection with %u: %s", ev.code, c->ws.error);
            c->state = ST_CLOSING;
            return;
        }
    }
}

static int on_readable(conn *c)
{
    uint8_t buf[65536];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (c->state != ST_CLOSING)
                logc(c, "recv: %s", strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (c->state == ST_OPEN)
                logc(c, "peer closed TCP without a close frame");
            return -1;
        }
        if (c->state == ST_CLOSING)
            continue;                     /* draining after our close */
        if (c->state == ST_HANDSHAKE) {
            ws_buf_append(&c->head, buf, (size_t)r);
            size_t hl = ws_http_head_len(c->head.data, c->head.len);
            if (hl == 0) {
                if (c->head.len > WS_HTTP_MAX_HEAD - 1) {
                    ws_http_refuse(&c->ws.out, "431 Request Header Fields Too Large", NULL, "request head too large");
                    logc(c, "request head too large");
                    c->state = ST_CLOSING;
                }
                continue;
            }
            handshake(c, hl);
        } else if (ws_buf_append(&c->ws.in, buf, (size_t)r) != 0) {
            logc(c, "out of memory");
            return -1;
        }
        if (c->state == ST_OPEN)
            process_frames(c);
    }
    return 0;
}

static int on_writable(conn *c)
{
    while (c->ws.out.len) {
        ssize_t w = send(c->fd, c->ws.out.data, c->ws.out.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            logc(c, "send: %s", strerror(errno));
            return -1;
        }
        ws_buf_consume(&c->ws.out, (size_t)w);
    }
    return 0;
}

static void conn_free(conn *c)
{
    close(c->fd);
    ws_buf_free(&c->head);
    ws_conn_free(&c->ws);
    free(c);
}

int main(int argc, char **argv)
{
    ws_opts opts;
    int pr = ws_opts_parse(argc, argv, WS_ROLE_SERVER, &opts);
    if (pr != 0)
        return pr > 0 ? 0 : 2;
    g_opts = &opts;
    if (!opts.malloc_cache && ws_memory_disable_malloc_cache(argv) != 0)
        fprintf(stderr, "%s: could not turn glibc's malloc cache off (re-exec failed)\n", argv[0]);
    if (ws_memory_set_mmap_threshold(opts.mmap_threshold) != 0)
        fprintf(stderr, "%s: malloc refused --mmap-threshold %zu\n", argv[0], opts.mmap_threshold);
    pmd_config *cfg = ws_opts_config(&opts);
    if (!cfg)
        return 2;
    g_cfg = cfg;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    int lfd = ws_listen_loopback(opts.port), one = 1;
    if (lfd < 0)
        return 1;

    conn **conns = NULL;
    size_t n_conns = 0, cap_conns = 0;
    unsigned long accepted = 0;
    struct pollfd *pfds = NULL;
    size_t cap_pfds = 0;

    for (;;) {
        int accepting = !opts.max_connections || accepted < (unsigned long)opts.max_connections;
        if (!accepting && n_conns == 0)
            break;
        if (n_conns + 1 > cap_pfds) {
            /* Grown with the connection table, not resized every turn:
               a block that moves every turn leaves freed blocks all over
               malloc's heap. */
            cap_pfds = cap_conns + 1;
            pfds = realloc(pfds, cap_pfds * sizeof *pfds);
            if (!pfds) {
                perror("realloc");
                return 1;
            }
        }
        long long now = now_ms();
        int timeout = -1;
        for (size_t i = 0; i < n_conns; i++) {
            conn *c = conns[i];
            pfds[i].fd = c->fd;
            pfds[i].events = POLLIN | (c->ws.out.len ? POLLOUT : 0);
            pfds[i].revents = 0;
            if (c->shut_wr) {
                long long left = c->deadline_ms - now;
                int t = left > 0 ? (int)left : 0;
                if (timeout < 0 || t < timeout)
                    timeout = t;
            }
        }
        pfds[n_conns].fd = accepting ? lfd : -1;
        pfds[n_conns].events = POLLIN;
        pfds[n_conns].revents = 0;
        int polled_n = poll(pfds, n_conns + 1, timeout);
        if (g_stats) {
            g_stats = 0;
            printf("stats: connections %zu accepted %lu\n", n_conns, accepted);
            fflush(stdout);
        }
        if (polled_n < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        now = now_ms();
        size_t polled = n_conns;
        for (size_t i = 0; i < polled; i++) {
            conn *c = conns[i];
            int dead = 0;
            if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
                dead = on_readable(c) != 0;
            if (!dead && c->ws.out.len)
                dead = on_writable(c) != 0;
            if (!dead && c->state == ST_CLOSING && !c->ws.out.len && !c->shut_wr) {
                /* Everything we had to say is sent: half-close and wait for
                   the peer's EOF so that our close frame is not lost to a
                   reset caused by unread data. */
                shutdown(c->fd, SHUT_WR);
                c->shut_wr = 1;
                c->deadline_ms = now + LINGER_MS;
            }
            if (!dead && c->shut_wr && now >= c->deadline_ms)
                dead = 1;
            if (dead) {
                logc(c, "closed (%lu messages echoed, %lu compactions)", c->messages, c->compactions);
                conn_free(c);
                conns[i] = NULL;
            }
        }
        size_t k = 0;
        for (size_t i = 0; i < n_conns; i++)
            if (conns[i])
                conns[k++] = conns[i];
        n_conns = k;

        if (accepting && (pfds[polled].revents & POLLIN)) {
            for (;;) {
                if (opts.max_connections && accepted >= (unsigned long)opts.max_connections)
                    break;
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                    break;
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conn *c = calloc(1, sizeof *c);
                if (!c) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                c->id = ++accepted;
                c->state = ST_HANDSHAKE;
                ws_conn_init(&c->ws, 0, NULL, opts.max_size);
                if (n_conns == cap_conns) {
                    cap_conns = cap_conns ? cap_conns * 2 : 16;
                    conns = realloc(conns, cap_conns * sizeof *conns);
                    if (!conns) {
                        perror("realloc");
                        return 1;
                    }
                }
                conns[n_conns++] = c;
            }
        }
    }
    if (!opts.quiet)
        fprintf(stderr, "server: served %lu connections, exiting\n", accepted);
    free(conns);
    free(pfds);
    close(lfd);
    pmd_config_free(cfg);
    return 0;
}
