/* The shared encoder (pmd_encoder_*) and pmd_extension_can_send_shared:
 * one encode, decoded by clients of servers negotiated with every window;
 * the can_send_shared truth table (takeover or not, window smaller or
 * larger, mid-message); fragments; bad arguments. */
#include "check.h"

typedef struct conn {
    pmd_extension *server; /* sends (its local side is the server's compressor) */
    pmd_extension *client; /* receives */
} conn;

/* A negotiated connection whose server sends with window `bits` and,
   when `nct`, server_no_context_takeover. */
static conn connect_pair(int bits, bool nct) {
    pmd_config *cc = pmd_config_new(), *sc = pmd_config_new();
    char offer[PMD_MAX_RESPONSE_LEN], response[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, response_len = 0;
    conn c = {NULL, NULL};
    CHECK_OK(pmd_config_set_server_max_window_bits(cc, bits));
    CHECK_OK(pmd_config_set_server_no_context_takeover(cc, nct));
    CHECK_OK(pmd_client_offer(cc, offer, sizeof offer, &offer_len));
    CHECK_OK(pmd_server_negotiate(sc, offer, offer_len, response, sizeof response, &response_len,
                                  &c.server));
    CHECK_OK(pmd_client_accept(cc, response, response_len, &c.client));
    CHECK(c.server != NULL && c.client != NULL);
    pmd_config_free(cc);
    pmd_config_free(sc);
    return c;
}

static void disconnect(conn *c) {
    pmd_extension_free(c->server);
    pmd_extension_free(c->client);
}

/* Decodes `in` on `rx` and appends the output to `b`. */
static int receive(pmd_extension *rx, const pmd_frame *in, bytes_buf *b) {
    pmd_frame out;
    if (!CHECK_OK(pmd_extension_decode(rx, in, SIZE_MAX, &out))) return 0;
    CHECK(!out.rsv1);
    bytes_append(b, out.data, out.len);
    return 1;
}

static void test_one_encode_many_windows(void) {
    enum { N = 70000 };
    unsigned char *msg = (unsigned char *)malloc(N);
    int enc_bits, conn_bits;
    fill_text(msg, N, 1);
    fill_random(msg + N / 2, 5000, 3); /* some incompressible bytes too */
    for (enc_bits = 8; enc_bits <= 15; enc_bits++) {
        pmd_encoder *enc = NULL;
        pmd_frame in = frame_make(PMD_OPCODE_BINARY, true, msg, N), out;
        unsigned char *wire;
        size_t wire_len;
        CHECK_OK(pmd_encoder_new(NULL, enc_bits, &enc));
        CHECK_OK(pmd_encoder_encode(enc, &in, &out));
        CHECK(out.rsv1 && out.fin && out.opcode == PMD_OPCODE_BINARY);
        CHECK(out.len < N / 2);
        wire_len = out.len;
        wire = (unsigned char *)malloc(wire_len);
        memcpy(wire, out.data, wire_len);
        for (conn_bits = 8; conn_bits <= 15; conn_bits++) {
            conn c = connect_pair(conn_bits, true);
            bool allowed = pmd_extension_can_send_shared(c.server, enc);
            CHECK_EQ(allowed, conn_bits >= enc_bits);
            if (allowed) {
                /* own message, shared message, own message: all arrive */
                const char *own = "own message, own message";
                pmd_frame o = frame_make(PMD_OPCODE_TEXT, true, own, strlen(own)), ow;
                pmd_frame s = frame_make(PMD_OPCODE_BINARY, true, wire, wire_len);
                bytes_buf b = {NULL, 0, 0};
                int round;
                s.rsv1 = true;
                for (round = 0; round < 2; round++) {
                    CHECK_OK(pmd_extension_encode(c.server, &o, &ow));
                    b.len = 0;
                    receive(c.client, &ow, &b);
                    CHECK_BYTES(b.p, b.len, own, strlen(own));
                    if (round == 0) {
                        b.len = 0;
                        receive(c.client, &s, &b);
                        CHECK_BYTES(b.p, b.len, msg, N);
                        CHECK(pmd_extension_can_send_shared(c.server, enc));
                    }
                }
                bytes_free(&b);
            }
            disconnect(&c);
        }
        free(wire);
        pmd_encoder_free(enc);
    }
    free(msg);
}

static void test_truth_table(void) {
    pmd_encoder *enc12 = NULL;
    pmd_frame in, out;
    conn takeover = connect_pair(15, false), nct = connect_pair(15, true), small = connect_pair(11, true);
    CHECK_OK(pmd_encoder_new(NULL, 12, &enc12));
    CHECK(!pmd_extension_can_send_shared(takeover.server, enc12)); /* takeover */
    CHECK(pmd_extension_can_send_shared(nct.server, enc12));       /* nct, 15 >= 12 */
    CHECK(!pmd_extension_can_send_shared(small.server, enc12));    /* nct, 11 < 12 */
    /* The client's sending side agreed takeover in all three. */
    CHECK(!pmd_extension_can_send_shared(nct.client, enc12));
    /* Mid-message on the connection's own encoder. */
    in = frame_make(PMD_OPCODE_TEXT, false, "part", 4);
    CHECK_OK(pmd_extension_encode(nct.server, &in, &out));
    CHECK(!pmd_extension_can_send_shared(nct.server, enc12));
    in = frame_make(PMD_OPCODE_PING, true, "", 0);
    CHECK_OK(pmd_extension_encode(nct.server, &in, &out));
    CHECK(!pmd_extension_can_send_shared(nct.server, enc12));
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "end", 3);
    CHECK_OK(pmd_extension_encode(nct.server, &in, &out));
    CHECK(pmd_extension_can_send_shared(nct.server, enc12));
    /* The encoder's own message in progress does not matter to a connection. */
    in = frame_make(PMD_OPCODE_TEXT, false, "shared", 6);
    CHECK_OK(pmd_encoder_encode(enc12, &in, &out));
    CHECK(pmd_extension_can_send_shared(nct.server, enc12));
    /* NULL */
    CHECK(!pmd_extension_can_send_shared(NULL, enc12));
    CHECK(!pmd_extension_can_send_shared(nct.server, NULL));
    CHECK(!pmd_extension_can_send_shared(NULL, NULL));
    pmd_encoder_free(enc12);
    disconnect(&takeover);
    disconnect(&nct);
    disconnect(&small);
}

static void test_fragments_and_control_frames(void) {
    static const char text[] = "Hello, shared world! Hello, shared world!";
    pmd_encoder *enc = NULL;
    conn a = connect_pair(10, true), b = connect_pair(15, true);
    pmd_frame in, out, wire[4];
    unsigned char *copies[4];
    bytes_buf ga = {NULL, 0, 0}, gb = {NULL, 0, 0};
    size_t cuts[] = {0, 5, 5, 20, sizeof text - 1};
    int i;
    CHECK_OK(pmd_encoder_new(NULL, 10, &enc));
    for (i = 0; i < 4; i++) {
        in = frame_make(i == 0 ? PMD_OPCODE_TEXT : PMD_OPCODE_CONTINUATION, i == 3,
                        text + cuts[i], cuts[i + 1] - cuts[i]);
        if (i == 2) {
            pmd_frame ping = frame_make(PMD_OPCODE_PING, true, "p", 1);
            CHECK_OK(pmd_encoder_encode(enc, &ping, &ping)); /* in == out */
            CHECK(ping.data[0] == 'p' && ping.len == 1 && !ping.rsv1);
        }
        CHECK_OK(pmd_encoder_encode(enc, &in, &out));
        CHECK_EQ(out.rsv1, i == 0);
        CHECK_EQ(out.fin, i == 3);
        copies[i] = (unsigned char *)malloc(out.len + 1);
        memcpy(copies[i], out.data, out.len);
        wire[i] = out;
        wire[i].data = copies[i];
    }
    CHECK(pmd_extension_can_send_shared(a.server, enc));
    CHECK(pmd_extension_can_send_shared(b.server, enc));
    for (i = 0; i < 4; i++) {
        receive(a.client, &wire[i], &ga);
        receive(b.client, &wire[i], &gb);
    }
    CHECK_BYTES(ga.p, ga.len, text, sizeof text - 1);
    CHECK_BYTES(gb.p, gb.len, text, sizeof text - 1);
    for (i = 0; i < 4; i++) free(copies[i]);
    bytes_free(&ga);
    bytes_free(&gb);
    pmd_encoder_free(enc);
    disconnect(&a);
    disconnect(&b);
}

static void test_bad_arguments(void) {
    pmd_encoder *enc = (pmd_encoder *)NULL;
    pmd_config *cfg = pmd_config_new();
    pmd_frame in = frame_make(PMD_OPCODE_TEXT, true, "x", 1), out;
    int bad[] = {-1, 0, 7, 16, 100};
    size_t i;
    CHECK_RESULT(pmd_encoder_new(NULL, 15, NULL), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("pmd_encoder_new: out is NULL");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RESULT(pmd_encoder_new(NULL, bad[i], &enc), PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("window_bits must be 8..15");
        CHECK(enc == NULL);
    }
    /* 8 is accepted (compressed with zlib's 9, decodable with 256 bytes),
       with the config's zlib settings */
    CHECK_OK(pmd_config_set_compress_level(cfg, 0));
    CHECK_OK(pmd_encoder_new(cfg, 8, &enc));
    pmd_config_free(cfg);
    CHECK_OK(pmd_encoder_encode(enc, &in, &out));
    CHECK(out.len > 1); /* level 0: a stored block */
    CHECK_RESULT(pmd_encoder_encode(NULL, &in, &out), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("pmd_encoder_encode: enc is NULL");
    CHECK_RESULT(pmd_encoder_encode(enc, NULL, &out), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_encoder_encode(enc, &in, NULL), PMD_ERR_NULL_POINTER);
    in.data = NULL;
    CHECK_RESULT(pmd_encoder_encode(enc, &in, &out), PMD_ERR_NULL_POINTER);
    in = frame_make(PMD_OPCODE_TEXT, true, "x", 1);
    in.rsv1 = true;
    CHECK_RESULT(pmd_encoder_encode(enc, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("RSV1");
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "x", 1);
    CHECK_RESULT(pmd_encoder_encode(enc, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    in = frame_make(3, true, "x", 1);
    CHECK_RESULT(pmd_encoder_encode(enc, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    /* still usable */
    in = frame_make(PMD_OPCODE_TEXT, true, "x", 1);
    CHECK_OK(pmd_encoder_encode(enc, &in, &out));
    pmd_encoder_free(enc);
    pmd_encoder_free(NULL);
}

int main(void) {
    test_one_encode_many_windows();
    test_truth_table();
    test_fragments_and_control_frames();
    test_bad_arguments();
    return check_finish("test_shared_encoder");
}
