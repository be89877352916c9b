/* xor_echo: a WebSocket endpoint whose extensions are negotiated and run
 * by pmdeflate's framework: [permessage-deflate (built-in), x-xor (C, from
 * tests/c/framework/xor_ext.h)], for the interop test against Python's
 * websockets implementing the same x-xor with its own abstract classes.
 *
 *   xor_echo server PORT           accept one connection, echo every message
 *                                  back (as one frame) until the peer closes
 *   xor_echo client PORT KEY       connect, offer x-xor with KEY, send a fixed
 *                                  set of messages (some fragmented), check
 *                                  each echo byte for byte, close
 *
 * Both print "extensions: <Sec-WebSocket-Extensions response value>" and
 * "chain: <names>" once the handshake is done; the client prints
 * "echoed N messages" and exits 0 only when every echo matched.
 *
 * Base64, Sec-WebSocket-Accept and the HTTP head parser come from examples-c/
 * (ws_base64.c, ws_handshake.c, ws_http.c);
 * the framing is here because it runs frames through a pmd_chain. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pmdeflate.h"
#include "ws_base64.h"
#include "ws_buf.h"
#include "ws_handshake.h"
#include "ws_http.h"
#include "ws_random.h"
#include "ws_socket.h"
#include "xor_ext.h"

#define MAX_MESSAGE (16u << 20)

static void die(const char *what) {
    fprintf(stderr, "xor_echo: %s (%s)\n", what, pmd_last_error());
    exit(1);
}

/* ---- buffered blocking reads --------------------------------------------- */

static ws_buf inbuf;
static int sock = -1;

static int fill(size_t need) {
    while (inbuf.len < need) {
        ssize_t n;
        if (ws_buf_reserve(&inbuf, 65536) != 0) {
            return -1;
        }
        n = read(sock, inbuf.data + inbuf.len, inbuf.cap - inbuf.len);
        if (n <= 0) {
            return -1;
        }
        inbuf.len += (size_t)n;
    }
    return 0;
}

/* ---- frames --------------------------------------------------------------- */

static int is_client;

/* Writes one frame, masked when we are the client. */
static void write_frame(const pmd_frame *f) {
    uint8_t head[14];
    size_t h = 0, i;
    uint8_t key[4] = {0, 0, 0, 0};
    uint8_t *payload;
    head[h++] = (uint8_t)((f->fin ? 0x80 : 0) | (f->rsv1 ? 0x40 : 0) | (f->rsv2 ? 0x20 : 0) | (f->rsv3 ? 0x10 : 0) |
                          f->opcode);
    if (f->len < 126) {
        head[h++] = (uint8_t)((is_client ? 0x80 : 0) | f->len);
    } else if (f->len < 65536) {
        head[h++] = (uint8_t)((is_client ? 0x80 : 0) | 126);
        head[h++] = (uint8_t)(f->len >> 8);
        head[h++] = (uint8_t)f->len;
    } else {
        head[h++] = (uint8_t)((is_client ? 0x80 : 0) | 127);
        for (i = 0; i < 8; i++) {
            head[h++] = (uint8_t)((uint64_t)f->len >> (56 - 8 * i));
        }
    }
    if (is_client) {
        ws_random(key, 4);
        memcpy(head + h, key, 4);
        h += 4;
    }
    payload = (uint8_t *)malloc(f->len + 1);
    if (payload == NULL) {
        die("out of memory");
    }
    for (i = 0; i < f->len; i++) {
        payload[i] = (uint8_t)(f->data[i] ^ key[i % 4]);
    }
    if (ws_write_all(sock, head, h) != 0 || ws_write_all(sock, payload, f->len) != 0) {
        die("write failed");
    }
    free(payload);
}

/* Reads one frame; its payload is copied to *payload (caller frees). */
static int read_frame(pmd_frame *f, uint8_t **payload) {
    uint64_t len;
    size_t h = 2, i;
    int masked;
    uint8_t key[4] = {0, 0, 0, 0};
    if (fill(2) != 0) {
        return -1;
    }
    memset(f, 0, sizeof *f);
    f->fin = (inbuf.data[0] & 0x80) != 0;
    f->rsv1 = (inbuf.data[0] & 0x40) != 0;
    f->rsv2 = (inbuf.data[0] & 0x20) != 0;
    f->rsv3 = (inbuf.data[0] & 0x10) != 0;
    f->opcode = inbuf.data[0] & 0x0f;
    masked = (inbuf.data[1] & 0x80) != 0;
    len = inbuf.data[1] & 0x7f;
    if (len == 126) {
        h = 4;
        if (fill(h) != 0) return -1;
        len = ((uint64_t)inbuf.data[2] << 8) | inbuf.data[3];
    } else if (len == 127) {
        h = 10;
        if (fill(h) != 0) return -1;
        len = 0;
        for (i = 0; i < 8; i++) len = (len << 8) | inbuf.data[2 + i];
    }
    if (len > MAX_MESSAGE || masked == is_client) {
        return -1;
    }
    if (masked) {
        if (fill(h + 4) != 0) return -1;
        memcpy(key, inbuf.data + h, 4);
        h += 4;
    }
    if (fill(h + (size_t)len) != 0) return -1;
    *payload = (uint8_t *)malloc((size_t)len + 1);
    if (*payload == NULL) return -1;
    for (i = 0; i < (size_t)len; i++) (*payload)[i] = (uint8_t)(inbuf.data[h + i] ^ key[i % 4]);
    ws_buf_consume(&inbuf, h + (size_t)len);
    f->data = *payload;
    f->len = (size_t)len;
    return 0;
}

static void send_control(pmd_chain *chain, uint8_t opcode, const uint8_t *data, size_t len) {
    pmd_frame in, out;
    memset(&in, 0, sizeof in);
    in.opcode = opcode;
    in.fin = true;
    in.data = data;
    in.len = len;
    if (pmd_chain_encode(chain, &in, &out) != PMD_OK) die("encode control");
    write_frame(&out);
}

/* Sends a message in `parts` frames through the chain. */
static void send_message(pmd_chain *chain, uint8_t opcode, const uint8_t *data, size_t len, int parts) {
    size_t off = 0;
    int i;
    for (i = 0; i < parts; i++) {
        size_t n = (i == parts - 1) ? len - off : len / (size_t)parts;
        pmd_frame in, out;
        memset(&in, 0, sizeof in);
        in.opcode = i == 0 ? opcode : PMD_OPCODE_CONTINUATION;
        in.fin = i == parts - 1;
        in.data = data + off;
        in.len = n;
        off += n;
        if (pmd_chain_encode(chain, &in, &out) != PMD_OK) die("encode");
        write_frame(&out);
    }
}

/* Receives the next data message (answering pings); 1 on a message, 0 on
   the peer's close (answered), -1 on error. */
static int recv_message(pmd_chain *chain, ws_buf *msg, uint8_t *opcode) {
    msg->len = 0;
    *opcode = 0;
    for (;;) {
        pmd_frame wire, out;
        uint8_t *payload = NULL;
        pmd_result r;
        if (read_frame(&wire, &payload) != 0) return -1;
        r = pmd_chain_decode(chain, &wire, MAX_MESSAGE - msg->len, &out);
        if (r != PMD_OK) {
            fprintf(stderr, "xor_echo: decode failed: %s: %s\n", pmd_result_name(r), pmd_last_error());
            free(payload);
            return -1;
        }
        if (out.opcode == PMD_OPCODE_CLOSE) {
            send_control(chain, PMD_OPCODE_CLOSE, out.data, out.len >= 2 ? 2 : 0);
            free(payload);
            return 0;
        }
        if (out.opcode == PMD_OPCODE_PING) {
            send_control(chain, PMD_OPCODE_PONG, out.data, out.len);
        } else if (out.opcode != PMD_OPCODE_PONG) {
            if (out.opcode != PMD_OPCODE_CONTINUATION) *opcode = out.opcode;
            if (ws_buf_append(msg, out.data, out.len) != 0) die("out of memory");
            if (out.fin) {
                free(payload);
                return 1;
            }
        }
        free(payload);
    }
}

static void print_chain(const char *value, size_t len, pmd_chain *chain) {
    size_t i;
    printf("extensions: %.*s\nchain:", (int)len, value);
    for (i = 0; i < pmd_chain_count(chain); i++) {
        pmd_extension_instance inst;
        if (pmd_chain_get(chain, i, &inst) != PMD_OK) die("chain_get");
        printf(" %s", inst.vtable->name);
    }
    printf("\n");
    fflush(stdout);
}

/* Reads the HTTP head into h; leftover bytes stay in inbuf. */
static void read_head(ws_http *h) {
    size_t n;
    while ((n = ws_http_head_len(inbuf.data, inbuf.len)) == 0) {
        if (fill(inbuf.len + 1) != 0) die("connection closed during the handshake");
    }
    if (ws_http_parse(inbuf.data, n, h) != 0) die("bad HTTP head");
    ws_buf_consume(&inbuf, n);
}

static int run_server(int port) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_server_factory f;
    pmd_chain *chain = NULL;
    struct sockaddr_in a;
    int lfd, one = 1, n, count = 0;
    static ws_http h;
    char request[4096], response[1024], accept_key[29], head[2048];
    size_t response_len = 0;
    const char *key;
    ws_buf msg = {NULL, 0, 0};
    uint8_t opcode;

    if (pmd_config_set_server_max_window_bits(cfg, 12) != PMD_OK) die("config");
    if (pmd_server_factory_permessage_deflate(cfg, &f) != PMD_OK || pmd_negotiator_add_server(neg, &f) != PMD_OK) die("deflate factory");
    f = xor_server_factory();
    if (pmd_negotiator_add_server(neg, &f) != PMD_OK) die("xor factory");

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0) die("bind/listen");
    printf("listening\n");
    fflush(stdout);
    sock = accept(lfd, NULL, NULL);
    close(lfd);
    if (sock < 0) die("accept");

    read_head(&h);
    key = ws_http_get(&h, "Sec-WebSocket-Key");
    if (key == NULL) die("no Sec-WebSocket-Key");
    n = ws_http_join(&h, "Sec-WebSocket-Extensions", request, sizeof request);
    if (n < 0) die("extensions header too long");
    if (pmd_negotiator_server_negotiate(neg, request, n > 0 ? strlen(request) : 0, response, sizeof response,
                                        &response_len, &chain) != PMD_OK) {
        die("negotiation");
    }
    ws_accept_key(key, strlen(key), accept_key);
    snprintf(head, sizeof head,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s%.*s%s\r\n",
             accept_key, response_len ? "Sec-WebSocket-Extensions: " : "", (int)response_len, response,
             response_len ? "\r\n" : "");
    if (ws_write_all(sock, head, strlen(head)) != 0) die("write");
    print_chain(response, response_len, chain);

    while ((n = recv_message(chain, &msg, &opcode)) == 1) {
        send_message(chain, opcode, msg.data, msg.len, 1);
        count++;
    }
    printf("echoed %d messages, %s\n", count, n == 0 ? "closed" : "failed");
    ws_buf_free(&msg);
    ws_buf_free(&inbuf);
    close(sock);
    pmd_chain_free(chain);
    pmd_negotiator_free(neg);
    pmd_config_free(cfg);
    return n == 0 && xor_created == xor_destroyed ? 0 : 1;
}

static int run_client(int port, unsigned xor_key) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_client_factory f;
    pmd_chain *chain = NULL;
    struct sockaddr_in a;
    static ws_http h;
    char offer[1024], head[2048], want[29], nonce_b64[25];
    uint8_t nonce[16];
    size_t offer_len = 0, i;
    const char *got_accept, *ext;
    static const size_t sizes[] = {0, 1, 5, 125, 126, 1000, 65535, 65536, 100000};
    ws_buf msg = {NULL, 0, 0};
    uint8_t opcode, *data;
    int count = 0, ok = 1;

    if (pmd_config_set_client_max_window_bits(cfg, PMD_WINDOW_BITS_NO_VALUE) != PMD_OK) die("config");
    if (pmd_client_factory_permessage_deflate(cfg, &f) != PMD_OK || pmd_negotiator_add_client(neg, &f) != PMD_OK) die("deflate factory");
    f = xor_client_factory(xor_key);
    if (pmd_negotiator_add_client(neg, &f) != PMD_OK) die("xor factory");
    if (pmd_negotiator_client_offer(neg, offer, sizeof offer, &offer_len) != PMD_OK) die("offer");

    sock = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sock, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    ws_random(nonce, sizeof nonce);
    ws_base64(nonce, sizeof nonce, nonce_b64);
    snprintf(head, sizeof head,
             "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %.*s\r\n\r\n",
             port, nonce_b64, (int)offer_len, offer);
    if (ws_write_all(sock, head, strlen(head)) != 0) die("write");
    read_head(&h);
    if (strcmp(h.start[1], "101") != 0) die("not upgraded");
    ws_accept_key(nonce_b64, strlen(nonce_b64), want);
    got_accept = ws_http_get(&h, "Sec-WebSocket-Accept");
    if (got_accept == NULL || strcmp(got_accept, want) != 0) die("bad Sec-WebSocket-Accept");
    ext = ws_http_get(&h, "Sec-WebSocket-Extensions");
    if (pmd_negotiator_client_accept(neg, ext, ext ? strlen(ext) : 0, &chain) != PMD_OK) die("client_accept");
    print_chain(ext ? ext : "", ext ? strlen(ext) : 0, chain);

    data = (uint8_t *)malloc(100000);
    for (i = 0; i < 100000; i++) {
        /* Compressible text with some noise. */
        data[i] = (uint8_t)("lorem ipsum dolor sit amet "[i % 27] ^ ((i * 7919u) % 251 == 0 ? 0x5a : 0));
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int parts;
        for (parts = 1; parts <= 3; parts += 2) {
            uint8_t op = (i % 2) ? PMD_OPCODE_TEXT : PMD_OPCODE_BINARY;
            send_message(chain, op, data, sizes[i], sizes[i] >= 3 ? parts : 1);
            if (recv_message(chain, &msg, &opcode) != 1 || opcode != op || msg.len != sizes[i] ||
                (sizes[i] && memcmp(msg.data, data, sizes[i]) != 0)) {
                fprintf(stderr, "xor_echo: echo of %zu bytes in %d frames differs\n", sizes[i], parts);
                ok = 0;
            }
            count++;
        }
    }
    send_message(chain, PMD_OPCODE_TEXT, (const uint8_t *)"h\xc3\xa9llo", 6, 1);
    if (recv_message(chain, &msg, &opcode) != 1 || opcode != PMD_OPCODE_TEXT || msg.len != 6 ||
        memcmp(msg.data, "h\xc3\xa9llo", 6) != 0) {
        fprintf(stderr, "xor_echo: text echo differs\n");
        ok = 0;
    }
    count++;
    {
        uint8_t code[2] = {0x03, 0xe8};
        pmd_frame wire;
        uint8_t *payload = NULL;
        send_control(chain, PMD_OPCODE_CLOSE, code, 2);
        /* The peer's close reply. */
        while (read_frame(&wire, &payload) == 0) {
            int is_close = wire.opcode == PMD_OPCODE_CLOSE;
            free(payload);
            payload = NULL;
            if (is_close) break;
        }
    }
    printf("echoed %d messages, %s\n", count, ok ? "all identical" : "MISMATCH");
    free(data);
    ws_buf_free(&msg);
    ws_buf_free(&inbuf);
    close(sock);
    pmd_chain_free(chain);
    pmd_negotiator_free(neg);
    pmd_config_free(cfg);
    return ok && xor_created == xor_destroyed ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "server") == 0) {
        return run_server(atoi(argv[2]));
    }
    if (argc >= 4 && strcmp(argv[1], "client") == 0) {
        is_client = 1;
        return run_client(atoi(argv[2]), (unsigned)atoi(argv[3]));
    }
    fprintf(stderr, "usage: xor_echo server PORT | xor_echo client PORT KEY\n");
    return 2;
}
