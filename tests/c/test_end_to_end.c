/* A client and a server in one process: offer, negotiate, accept, then
 * messages both ways (whole, fragmented, empty, 1 MiB, with control frames
 * in between). Also compiled as C++ and linked against the static library. */
#include "check.h"

typedef struct endpoint {
    pmd_config *cfg;
    pmd_extension *ext;
} endpoint;

/* Runs the handshake; returns 1 when both ends have an extension. */
static int handshake(endpoint *client, endpoint *server, const char *want_response) {
    char offer[PMD_MAX_RESPONSE_LEN], response[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, response_len = 0;
    pmd_negotiated c, s;
    client->ext = NULL;
    server->ext = NULL;
    if (!CHECK_OK(pmd_client_offer(client->cfg, offer, sizeof offer, &offer_len))) {
        return 0;
    }
    if (!CHECK_OK(pmd_server_negotiate(server->cfg, offer, offer_len, response, sizeof response,
                                       &response_len, &server->ext))) {
        return 0;
    }
    if (!CHECK(server->ext != NULL)) {
        return 0;
    }
    CHECK_STR(response, want_response);
    if (!CHECK_OK(pmd_client_accept(client->cfg, response, response_len, &client->ext))) {
        pmd_extension_free(server->ext);
        server->ext = NULL;
        return 0;
    }
    if (!CHECK(client->ext != NULL)) {
        pmd_extension_free(server->ext);
        server->ext = NULL;
        return 0;
    }
    /* What one end sends is what the other receives. */
    CHECK_OK(pmd_extension_negotiated(client->ext, &c));
    CHECK_OK(pmd_extension_negotiated(server->ext, &s));
    CHECK_EQ(c.local_no_context_takeover, s.remote_no_context_takeover);
    CHECK_EQ(c.remote_no_context_takeover, s.local_no_context_takeover);
    CHECK_EQ(c.local_max_window_bits, s.remote_max_window_bits);
    CHECK_EQ(c.remote_max_window_bits, s.local_max_window_bits);
    return 1;
}

/* Sends msg from `from` to `to` in frames of `chunk` bytes (0: one frame),
 * with a ping after the first frame; checks what arrives. */
static void send_message(pmd_extension *from, pmd_extension *to, const unsigned char *msg,
                         size_t len, size_t chunk, uint8_t opcode) {
    bytes_buf got = {NULL, 0, 0};
    size_t off = 0, wire_total = 0;
    int frames = 0;
    if (chunk == 0) {
        chunk = len ? len : 1;
    }
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        bool fin = off + n == len;
        pmd_frame in = frame_make(frames == 0 ? opcode : PMD_OPCODE_CONTINUATION, fin, msg + off, n);
        pmd_frame wire, out;
        if (!CHECK_OK(pmd_extension_encode(from, &in, &wire))) {
            break;
        }
        CHECK_EQ(wire.rsv1, frames == 0);
        CHECK_EQ(wire.fin, fin);
        CHECK_EQ(wire.opcode, in.opcode);
        wire_total += wire.len;
        /* The receiver's limit is the message's remaining budget. */
        if (!CHECK_OK(pmd_extension_decode(to, &wire, len - got.len, &out))) {
            break;
        }
        CHECK(!out.rsv1);
        CHECK_EQ(out.fin, fin);
        CHECK_EQ(out.opcode, in.opcode);
        bytes_append(&got, out.data, out.len);
        if (frames == 0) {
            /* A control frame between fragments passes both ways. */
            pmd_frame ping = frame_make(PMD_OPCODE_PING, true, "hb", 2), pw, po;
            CHECK_OK(pmd_extension_encode(from, &ping, &pw));
            CHECK_OK(pmd_extension_decode(to, &pw, SIZE_MAX, &po));
            CHECK(po.data == ping.data && po.len == 2 && !po.rsv1);
        }
        off += n;
        frames++;
    } while (off < len);
    CHECK_BYTES(got.p, got.len, msg, len);
    bytes_free(&got);
}

static void exchange(endpoint *client, endpoint *server) {
    const size_t big = 1u << 20;
    unsigned char *text = (unsigned char *)malloc(big);
    unsigned char *noise = (unsigned char *)malloc(big);
    int round;
    fill_text(text, big, 42);
    fill_random(noise, big, 43);
    for (round = 0; round < 2; round++) {
        /* Client to server, then server to client, each kind. */
        send_message(client->ext, server->ext, (const unsigned char *)"Hello", 5, 0,
                     PMD_OPCODE_TEXT);
        send_message(server->ext, client->ext, (const unsigned char *)"Hello", 5, 0,
                     PMD_OPCODE_TEXT);
        send_message(client->ext, server->ext, text, 0, 0, PMD_OPCODE_TEXT);
        send_message(server->ext, client->ext, text, 0, 0, PMD_OPCODE_BINARY);
        send_message(client->ext, server->ext, text, 70000, 1000, PMD_OPCODE_TEXT);
        send_message(server->ext, client->ext, noise, 70000, 16384, PMD_OPCODE_BINARY);
        if (round == 0) { /* 1 MiB messages, once per scenario (valgrind is slow) */
            send_message(client->ext, server->ext, text, big, 0, PMD_OPCODE_TEXT);
            send_message(server->ext, client->ext, noise, big, 300000, PMD_OPCODE_BINARY);
            send_message(client->ext, server->ext, text, big, 65536, PMD_OPCODE_TEXT);
        }
        /* A fragmented message whose last frame is empty. */
        {
            pmd_frame a = frame_make(PMD_OPCODE_TEXT, false, "abc", 3);
            pmd_frame b = frame_make(PMD_OPCODE_CONTINUATION, true, NULL, 0);
            pmd_frame wa, wb, oa, ob;
            CHECK_OK(pmd_extension_encode(server->ext, &a, &wa));
            CHECK_OK(pmd_extension_decode(client->ext, &wa, SIZE_MAX, &oa));
            CHECK_BYTES(oa.data, oa.len, "abc", 3);
            CHECK_OK(pmd_extension_encode(server->ext, &b, &wb));
            CHECK_OK(pmd_extension_decode(client->ext, &wb, SIZE_MAX, &ob));
            CHECK_EQ(ob.len, 0);
            CHECK(ob.fin);
        }
    }
    free(text);
    free(noise);
}

typedef struct scenario {
    /* client config */
    bool c_snct, c_cnct;
    int c_sbits, c_cbits;
    /* server config */
    bool s_snct, s_cnct;
    int s_sbits, s_cbits;
    const char *response;
} scenario;

static const scenario scenarios[] = {
    {false, false, 0, 0, false, false, 0, 0, "permessage-deflate"},
    {false, false, 0, PMD_WINDOW_BITS_NO_VALUE, false, false, 0, 0, "permessage-deflate"},
    {true, true, 0, 0, false, false, 0, 0,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
    {false, false, 0, 0, true, true, 0, 0,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
    {false, false, 10, PMD_WINDOW_BITS_NO_VALUE, false, false, 12, 9,
     "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"},
    {false, false, 8, 8, false, false, 0, 0,
     "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"},
    {false, true, 0, PMD_WINDOW_BITS_NO_VALUE, true, false, 8, 8,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=8; client_max_window_bits=8"},
};

static endpoint make(bool snct, bool cnct, int sbits, int cbits) {
    endpoint e;
    e.cfg = pmd_config_new();
    e.ext = NULL;
    CHECK_OK(pmd_config_set_server_no_context_takeover(e.cfg, snct));
    CHECK_OK(pmd_config_set_client_no_context_takeover(e.cfg, cnct));
    CHECK_OK(pmd_config_set_server_max_window_bits(e.cfg, sbits));
    CHECK_OK(pmd_config_set_client_max_window_bits(e.cfg, cbits));
    return e;
}

static void test_scenarios(void) {
    size_t i;
    for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const scenario *s = &scenarios[i];
        endpoint client = make(s->c_snct, s->c_cnct, s->c_sbits, s->c_cbits);
        endpoint server = make(s->s_snct, s->s_cnct, s->s_sbits, s->s_cbits);
        if (handshake(&client, &server, s->response)) {
            /* Configs are not needed after negotiation. */
            pmd_config_free(client.cfg);
            pmd_config_free(server.cfg);
            client.cfg = server.cfg = NULL;
            exchange(&client, &server);
        } else {
            fprintf(stderr, "    scenario %lu\n", (unsigned long)i);
        }
        pmd_extension_free(client.ext);
        pmd_extension_free(server.ext);
        pmd_config_free(client.cfg);
        pmd_config_free(server.cfg);
    }
}

/* A server that declines: the client sees no extension and sends frames
 * uncompressed, which the peer would not run through pmdeflate at all. */
static void test_declined(void) {
    endpoint client = make(false, false, 0, 0);
    endpoint server = make(false, false, 0, 0);
    char response[PMD_MAX_RESPONSE_LEN];
    size_t len = 99;
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_server_negotiate(server.cfg, "x-foo", 5, response, sizeof response, &len, &ext));
    CHECK(ext == NULL);
    CHECK_EQ(len, 0);
    CHECK_OK(pmd_client_accept(client.cfg, response, len, &client.ext));
    CHECK(client.ext == NULL);
    pmd_config_free(client.cfg);
    pmd_config_free(server.cfg);
}

int main(void) {
    test_scenarios();
    test_declined();
    return check_finish("test_end_to_end");
}
