/*
 * demo.c - a client and a server negotiate permessage-deflate in one
 * process, then round-trip a few messages in both directions, printing the
 * sizes before and after compression. No sockets: the bytes a host stack
 * would put on the wire are handed straight across.
 *
 * Build: cc -std=c99 -I include examples-c/demo.c -L target/release -lpmdeflate
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmdeflate.h"

static void check(pmd_result r, const char *what) {
    if (r != PMD_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, pmd_result_name(r), pmd_last_error());
        exit(1);
    }
}

/* Sends one message from `tx` to `rx` as `n_frames` fragments; returns 0
 * when the receiver got the same bytes back. */
static int send_message(pmd_extension *tx, pmd_extension *rx, const char *label,
                        const unsigned char *msg, size_t len, size_t n_frames) {
    unsigned char *received = malloc(len + 1);
    size_t got = 0, wire = 0, step = (len + n_frames - 1) / n_frames;
    if (received == NULL) return 1;
    for (size_t i = 0; i < n_frames; i++) {
        size_t off = i * step < len ? i * step : len;
        size_t n = off + step <= len ? step : len - off;
        pmd_frame in = {i == 0 ? PMD_OPCODE_TEXT : PMD_OPCODE_CONTINUATION,
                        i + 1 == n_frames, false, false, false, msg + off, n};
        pmd_frame encoded, decoded;
        check(pmd_extension_encode(tx, &in, &encoded), "encode");
        wire += encoded.len;
        /* The receiver's budget for the rest of this message: once it is
           spent (0), only empty output is accepted. */
        check(pmd_extension_decode(rx, &encoded, len - got, &decoded), "decode");
        memcpy(received + got, decoded.data, decoded.len);
        got += decoded.len;
    }
    int ok = got == len && memcmp(received, msg, len) == 0;
    printf("  %-28s %7zu bytes -> %6zu on the wire (%5.1f%%) in %zu frame%s %s\n", label, len, wire,
           len ? 100.0 * (double)wire / (double)len : 0.0, n_frames, n_frames > 1 ? "s" : " ",
           ok ? "ok" : "MISMATCH");
    free(received);
    return !ok;
}

int main(void) {
    printf("pmdeflate %s\n", pmd_version());

    pmd_config *client_cfg = pmd_config_new(), *server_cfg = pmd_config_new();
    if (client_cfg == NULL || server_cfg == NULL) return 1;
    check(pmd_config_set_client_max_window_bits(client_cfg, PMD_WINDOW_BITS_NO_VALUE), "client cfg");
    check(pmd_config_set_client_max_window_bits(server_cfg, 12), "server cfg");
    check(pmd_config_set_server_max_window_bits(server_cfg, 13), "server cfg");

    /* Opening handshake: client offer -> server response -> client accept. */
    char offer[PMD_MAX_RESPONSE_LEN], response[PMD_MAX_RESPONSE_LEN];
    size_t offer_len, response_len;
    pmd_extension *client = NULL, *server = NULL;
    check(pmd_client_offer(client_cfg, offer, sizeof offer, &offer_len), "offer");
    check(pmd_server_negotiate(server_cfg, offer, offer_len, response, sizeof response, &response_len, &server),
          "server negotiate");
    check(pmd_client_accept(client_cfg, response, response_len, &client), "client accept");
    if (client == NULL || server == NULL) {
        fprintf(stderr, "permessage-deflate was not enabled\n");
        return 1;
    }
    printf("offer:    Sec-WebSocket-Extensions: %s\n", offer);
    printf("response: Sec-WebSocket-Extensions: %s\n", response);
    pmd_negotiated n;
    check(pmd_extension_negotiated(client, &n), "negotiated");
    printf("client sends with window bits %d, server with %d\n", n.local_max_window_bits, n.remote_max_window_bits);

    const char *chat = "{\"type\":\"message\",\"room\":\"general\",\"user\":\"user0042\",\"text\":\"hello, world\"}";
    static unsigned char big[256 * 1024];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)"the quick brown fox jumps "[(i * 7 + i / 26) % 26];

    int failures = 0;
    printf("client -> server\n");
    failures += send_message(client, server, "chat message", (const unsigned char *)chat, strlen(chat), 1);
    failures += send_message(client, server, "same message again", (const unsigned char *)chat, strlen(chat), 1);
    failures += send_message(client, server, "empty message", (const unsigned char *)"", 0, 1);
    failures += send_message(client, server, "256 KiB text, fragmented", big, sizeof big, 4);
    printf("server -> client\n");
    failures += send_message(server, client, "chat message", (const unsigned char *)chat, strlen(chat), 1);
    failures += send_message(server, client, "256 KiB text", big, sizeof big, 1);

    printf("memory held: client %zu bytes, server %zu bytes\n", pmd_extension_memory_usage(client),
           pmd_extension_memory_usage(server));

    pmd_extension_free(client);
    pmd_extension_free(server);
    pmd_config_free(client_cfg);
    pmd_config_free(server_cfg);
    printf(failures ? "demo: FAILED\n" : "demo: all messages round-tripped\n");
    return failures != 0;
}
