/*
 * ws_echo_client - a WebSocket client (RFC 6455) that negotiates
 * permessage-deflate (RFC 7692) with pmdeflate and checks an echo server.
 *
 * By default it sends text and binary messages of 0, 1, 125, 126, 65535,
 * 65536 and 1048576 bytes, each whole and fragmented (with a ping between
 * fragments), compares every echo byte for byte, and closes with 1000.
 * Exit status 0 only if every echo matched and the close handshake ended
 * cleanly.
 *
 *   ws_echo_client --port 9001 --client-max-window-bits novalue
 *   ws_echo_client --port 9001 --oversize 2000000     (expects close 1009)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ws_base64.h"
#include "ws_buf.h"
#include "ws_conn.h"
#include "ws_handshake.h"
#include "ws_http.h"
#include "ws_options.h"
#include "ws_random.h"
#include "ws_socket.h"

#define IO_TIMEOUT_MS 20000

static ws_opts opts;
static int sock = -1;
static ws_conn conn;
static int peer_eof;

#define say(...)                                                       \
    do {                                                               \
        if (!opts.quiet)                                               \
            printf(__VA_ARGS__);                                       \
    } while (0)

static int read_some(void)
{
    uint8_t buf[65536];
    ssize_t r;
    do
        r = recv(sock, buf, sizeof buf, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        fprintf(stderr, "client: recv: %s\n", strerror(errno));
        return -1;
    }
    if (r == 0) {
        peer_eof = 1;
        return 0;
    }
    if (ws_buf_append(&conn.in, buf, (size_t)r) != 0)
        return -1;
    return 1;
}

/* Writes conn.out while also reading (so neither side can block the other).
   Returns 0 once written, -1 if the peer went away or stalled. */
static int flush_out(void)
{
    while (conn.out.len) {
        struct pollfd p = {sock, POLLIN | POLLOUT, 0};
        if (peer_eof)
            p.events = POLLOUT;
        int n = poll(&p, 1, IO_TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "client: timed out writing\n");
            return -1;
        }
        if (p.revents & POLLIN) {
            if (read_some() < 0)
                return -1;
        }
        if (p.revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t w = send(sock, conn.out.data, conn.out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    continue;
                fprintf(stderr, "client: send: %s\n", strerror(errno));
                conn.out.len = 0;
                return -1;
            }
            ws_buf_consume(&conn.out, (size_t)w);
        }
    }
    return 0;
}

/* The next event, reading as needed; WS_EV_NONE means EOF or error. */
static ws_event next_event(void)
{
    for (;;) {
        ws_event ev = ws_conn_next_event(&conn);
        if (conn.out.len)
            flush_out();               /* pongs and close replies */
        if (ev.type != WS_EV_NONE)
            return ev;
        if (peer_eof || conn.close_received)
            return ev;
        struct pollfd p = {sock, POLLIN, 0};
        int n = poll(&p, 1, IO_TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "client: timed out reading\n");
            return ev;
        }
        if (read_some() <= 0)
            return ev;
    }
}

static int connect_to(const char *host, int port)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, ps, &hints, &res);
    if (e != 0) {
        fprintf(stderr, "client: %s: %s\n", host, gai_strerror(e));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "client: cannot connect to %s:%d: %s\n", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* The opening handshake; on success conn is ready with its extension. */
static int handshake(const pmd_config *cfg)
{
    uint8_t nonce[16];
    char key[25];
    ws_random(nonce, sizeof nonce);
    ws_base64(nonce, sizeof nonce, key);

    char offer[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0;
    if (!opts.no_deflate) {
        pmd_result r = pmd_client_offer(cfg, offer, sizeof offer, &offer_len);
        if (r != PMD_OK) {
            fprintf(stderr, "client: pmd_client_offer: %s (%s)\n", pmd_result_name(r), pmd_last_error());
            return -1;
        }
    }
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n",
                     opts.path, opts.host, opts.port, key);
    if (!opts.no_deflate)
        n += snprintf(req + n, sizeof req - (size_t)n, "Sec-WebSocket-Extensions: %.*s\r\n",
                      (int)offer_len, offer);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    if (ws_write_all(sock, req, (size_t)n) != 0) {
        perror("client: send");
        return -1;
    }
    say("offered: %s\n", opts.no_deflate ? "(nothing)" : offer);

    size_t hl;
    while ((hl = ws_http_head_len(conn.in.data, conn.in.len)) == 0) {
        if (conn.in.len > WS_HTTP_MAX_HEAD || read_some() <= 0) {
            fprintf(stderr, "client: no complete handshake response\n");
            return -1;
        }
    }
    ws_http h;
    if (ws_http_parse(conn.in.data, hl, &h) != 0) {
        fprintf(stderr, "client: malformed handshake response\n");
        return -1;
    }
    if (strcmp(h.start[1], "101") != 0) {
        fprintf(stderr, "client: server answered %s %s\n", h.start[1], h.start[2]);
        return -1;
    }
    const char *upgrade = ws_http_get(&h, "Upgrade");
    const char *connection = ws_http_get(&h, "Connection");
    const char *accept = ws_http_get(&h, "Sec-WebSocket-Accept");
    char want[29];
    ws_accept_key(key, strlen(key), want);
    if (!upgrade || !ws_http_has_token(upgrade, "websocket") || !connection ||
        !ws_http_has_token(connection, "upgrade") || !accept || strcmp(accept, want) != 0) {
        fprintf(stderr, "client: bad Upgrade/Connection/Sec-WebSocket-Accept in response\n");
        return -1;
    }
    char exts[4096];
    int lines = ws_http_join(&h, "Sec-WebSocket-Extensions", exts, sizeof exts);
    if (lines < 0) {
        fprintf(stderr, "client: Sec-WebSocket-Extensions too long\n");
        return -1;
    }
    pmd_extension *ext = NULL;
    if (opts.no_deflate) {
        if (lines > 0) {
            fprintf(stderr, "client: server accepted an extension we did not offer: %s\n", exts);
            return -1;
        }
    } else {
        pmd_result r = pmd_client_accept(cfg, exts, strlen(exts), &ext);
        if (r != PMD_OK) {
            fprintf(stderr, "client: pmd_client_accept(\"%s\"): %s (%s): failing the connection\n", exts,
                    pmd_result_name(r), pmd_last_error());
            return -1;
        }
    }
    say("server answered: %s\n", lines ? exts : "(no Sec-WebSocket-Extensions)");
    ws_print_negotiated(stdout, "client: ", ext);
    ws_buf_consume(&conn.in, hl);
    conn.ext = ext;
    return 0;
}

/* Deterministic test data. Text is valid UTF-8 (ASCII words with 2-, 3-
   and 4-byte characters mixed in) of exactly len bytes; binary is a mix of
   repetitive and pseudo-random runs, so it compresses somewhat. */
static void make_payload(uint8_t *p, size_t len, int text, unsigned seed)
{
    uint32_t x = 2463534242u ^ seed;
    static const char *words[] = {"permessage", "deflate", "window", "bits", "context", "takeover",
                                  "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xce\xbb"};
    size_t i = 0;
    while (i < len) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (text) {
            const char *w = words[x % 10];
            size_t wl = strlen(w);
            if (wl + 1 > len - i) {
                p[i++] = 'a' + (uint8_t)(x % 26);   /* fill the tail with ASCII */
                continue;
            }
            memcpy(p + i, w, wl);
            p[i + wl] = ' ';
            i += wl + 1;
        } else {
            size_t run = 1 + (x >> 8) % 64;
            if (run > len - i)
                run = len - i;
            if (x & 1) {
                for (size_t k = 0; k < run; k++) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    p[i + k] = (uint8_t)x;
                }
            } else {
                memset(p + i, (int)(x >> 24), run);
            }
            i += run;
        }
    }
}

/* Sends one message (whole or in 3 fragments with a ping between each)
   and checks the echo and the pongs. Returns 0 when all matched. */
static int echo_one(size_t len, int text, int fragmented, unsigned seed)
{
    uint8_t opcode = text ? PMD_OPCODE_TEXT : PMD_OPCODE_BINARY;
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        return -1;
    make_payload(data, len, text, seed);
    int pings = 0;
    char ping[2][32];
    if (!fragmented) {
        if (ws_conn_send_message(&conn, opcode, data, len) != 0)
            goto send_failed;
    } else {
        size_t cut[4] = {0, len / 3, 2 * len / 3, len};
        for (int f = 0; f < 3; f++) {
            if (ws_conn_send_frame(&conn, f == 0 ? opcode : PMD_OPCODE_CONTINUATION, f == 2,
                                   data + cut[f], cut[f + 1] - cut[f]) != 0)
                goto send_failed;
            if (f < 2) {
                snprintf(ping[pings], sizeof ping[pings], "ping %u.%d", seed, f);
                if (ws_conn_send_frame(&conn, PMD_OPCODE_PING, 1, (const uint8_t *)ping[pings],
                                       strlen(ping[pings])) != 0)
                    goto send_failed;
                pings++;
            }
        }
    }
    if (flush_out() != 0) {
        free(data);
        return -1;
    }
    int pongs = 0, echoed = 0, ok = 1;
    while (!echoed || pongs < pings) {
        ws_event ev = next_event();
        if (ev.type == WS_EV_PONG) {
            if (pongs >= pings || ev.len != strlen(ping[pongs]) || memcmp(ev.data, ping[pongs], ev.len) != 0) {
                fprintf(stderr, "client: unexpected pong \"%.*s\"\n", (int)ev.len, (const char *)ev.data);
                ok = 0;
            }
            pongs++;
        } else if (ev.type == WS_EV_PING) {
            continue;
        } else if (ev.type == WS_EV_MESSAGE) {
            if (echoed) {
                fprintf(stderr, "client: unexpected second message\n");
                ok = 0;
                break;
            }
            echoed = 1;
            if (ev.opcode != opcode || ev.len != len || (len && memcmp(ev.data, data, len) != 0)) {
                size_t at = 0;
                while (at < len && at < ev.len && ev.data[at] == data[at])
                    at++;
                fprintf(stderr, "client: echo mismatch: opcode %u len %zu, sent opcode %u len %zu, first difference at %zu\n",
                        ev.opcode, ev.len, opcode, len, at);
                ok = 0;
            }
        } else {
            fprintf(stderr, "client: %s while waiting for echo of %zu bytes%s%s\n",
                    ev.type == WS_EV_CLOSE ? "close from server" :
                    ev.type == WS_EV_ERROR ? "protocol error" : "connection lost",
                    len, conn.error[0] ? ": " : "", conn.error);
            if (ev.type == WS_EV_CLOSE)
                fprintf(stderr, "client: close code %u\n", ev.code);
            ok = 0;
            break;
        }
    }
    say("  %-6s %-10s %8zu bytes: %s\n", text ? "text" : "binary", fragmented ? "fragmented" : "whole", len,
        ok ? "echo ok" : "FAILED");
    free(data);
    return ok ? 0 : -1;
send_failed:
    fprintf(stderr, "client: %s\n", conn.error);
    free(data);
    return -1;
}

/* Our close 1000, the server's close, then its EOF. */
static int close_handshake(void)
{
    if (ws_conn_send_close(&conn, WS_CLOSE_NORMAL, "done") != 0 || flush_out() != 0)
        return -1;
    for (;;) {
        ws_event ev = next_event();
        if (ev.type == WS_EV_CLOSE) {
            if (ev.code != WS_CLOSE_NORMAL) {
                fprintf(stderr, "client: server closed with %u, expected 1000\n", ev.code);
                return -1;
            }
            break;
        }
        if (ev.type == WS_EV_NONE || ev.type == WS_EV_ERROR) {
            fprintf(stderr, "client: no close frame from the server%s%s\n", conn.error[0] ? ": " : "",
                    conn.error);
            return -1;
        }
    }
    /* The server closes TCP first (RFC 6455 7.1.1). */
    while (!peer_eof) {
        struct pollfd p = {sock, POLLIN, 0};
        if (poll(&p, 1, IO_TIMEOUT_MS) <= 0 || read_some() < 0) {
            fprintf(stderr, "client: server did not close the TCP connection\n");
            return -1;
        }
    }
    say("close handshake complete (1000)\n");
    return 0;
}

/* Sends one message of n bytes; expects the server to close with 1009
   (--oversize) or its echo to exceed our max size so that we close with
   1009 (--oversize-echo). */
static int oversize(size_t n, int ours)
{
    uint8_t *data = malloc(n);
    if (!data)
        return -1;
    make_payload(data, n, 1, 7);
    int rc = ws_conn_send_message(&conn, PMD_OPCODE_TEXT, data, n);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "client: %s\n", conn.error);
        return -1;
    }
    flush_out();                /* the server may stop reading: that is fine */
    for (;;) {
        ws_event ev = next_event();
        if (ev.type == WS_EV_PING || ev.type == WS_EV_PONG)
            continue;
        if (ours) {
            if (ev.type == WS_EV_ERROR && ev.code == WS_CLOSE_TOO_BIG) {
                say("echo of %zu bytes over max size %zu: we closed with 1009 (%s)\n", n, opts.max_size,
                    conn.error);
                /* Wait for the server's answering close. */
                for (;;) {
                    ws_event e2 = next_event();
                    if (e2.type == WS_EV_CLOSE) {
                        say("server answered close with %u\n", e2.code);
                        return 0;
                    }
                    if (e2.type == WS_EV_NONE || e2.type == WS_EV_ERROR) {
                        fprintf(stderr, "client: server did not answer our close 1009\n");
                        return -1;
                    }
                }
            }
        } else if (ev.type == WS_EV_CLOSE) {
            if (ev.code == WS_CLOSE_TOO_BIG) {
                say("server closed with 1009 after a %zu-byte message\n", n);
                return 0;
            }
            fprintf(stderr, "client: server closed with %u, expected 1009\n", ev.code);
            return -1;
        }
        fprintf(stderr, "client: expected close 1009, got event %d (code %u)%s%s\n", (int)ev.type, ev.code,
                conn.error[0] ? ": " : "", conn.error);
        return -1;
    }
}

int main(int argc, char **argv)
{
    int pr = ws_opts_parse(argc, argv, WS_ROLE_CLIENT, &opts);
    if (pr != 0)
        return pr > 0 ? 0 : 2;
    pmd_config *cfg = ws_opts_config(&opts);
    if (!cfg)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    ws_conn_init(&conn, 1, NULL, opts.max_size);
    sock = connect_to(opts.host, opts.port);
    if (sock < 0 || handshake(cfg) != 0) {
        printf("RESULT: FAIL (handshake)\n");
        return 1;
    }

    int failures = 0, total = 0;
    if (opts.oversize || opts.oversize_echo) {
        total = 1;
        failures = oversize(opts.oversize ? opts.oversize : opts.oversize_echo, opts.oversize_echo != 0) != 0;
    } else {
        static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 1048576};
        unsigned seed = 1;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] && !failures; s++)
            for (int text = 1; text >= 0 && !failures; text--)
                for (int frag = 0; frag <= 1 && !failures; frag++) {
                    total++;
                    if (echo_one(sizes[s], text, frag, seed++) != 0)
                        failures++;
                }
        if (!failures && close_handshake() != 0)
            failures++;
    }

    double saved_out = conn.payload_sent ? 100.0 * (1.0 - (double)conn.wire_sent / (double)conn.payload_sent) : 0;
    double saved_in = conn.payload_received ? 100.0 * (1.0 - (double)conn.wire_received / (double)conn.payload_received) : 0;
    printf("bytes saved: sent %llu payload bytes as %llu wire bytes (%.1f%% saved); "
           "received %llu payload bytes as %llu wire bytes (%.1f%% saved)\n",
           (unsigned long long)conn.payload_sent, (unsigned long long)conn.wire_sent, saved_out,
           (unsigned long long)conn.payload_received, (unsigned long long)conn.wire_received, saved_in);
    printf("RESULT: %s (%d checks, %d failed)\n", failures ? "FAIL" : "PASS", total, failures);
    close(sock);
    ws_conn_free(&conn);
    pmd_config_free(cfg);
    return failures ? 1 : 0;
}
