/* pmd_config_set_compress_threshold: a whole single-frame message shorter
 * than the threshold goes out as it is, RSV1 clear and out.data ==
 * in.data; at and above it, and for every fragmented message, it is
 * compressed. The threshold is inherited through negotiation (client side
 * here), and the peer decodes the mixed stream under context takeover.
 */
#include "check.h"

/* A client extension negotiated with a threshold of 100 bytes. */
static pmd_extension *negotiated_client(size_t threshold) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = NULL;
    static const char response[] = "permessage-deflate";
    CHECK_OK(pmd_config_set_compress_threshold(cfg, threshold));
    CHECK_OK(pmd_client_accept(cfg, response, sizeof response - 1, &ext));
    CHECK(ext != NULL);
    pmd_config_free(cfg);
    return ext;
}

static void boundary(void) {
    static char text[200];
    size_t lens[] = {0, 1, 99, 100, 101, 150};
    size_t i;
    pmd_extension *tx = negotiated_client(100), *rx = NULL;
    memset(text, 'a', sizeof text);
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &rx));
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        pmd_frame in = frame_make(PMD_OPCODE_TEXT, true, text, lens[i]), wire, out;
        CHECK_OK(pmd_extension_encode(tx, &in, &wire));
        if (lens[i] < 100) {
            CHECK(!wire.rsv1 && wire.data == in.data && wire.len == lens[i]);
        } else {
            CHECK(wire.rsv1 && wire.len < lens[i]);
        }
        CHECK(wire.opcode == PMD_OPCODE_TEXT && wire.fin);
        CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &out));
        CHECK_BYTES(out.data, out.len, text, lens[i]);
    }
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

static void fragmented_and_default(void) {
    pmd_extension *tx = negotiated_client(100), *plain = negotiated_client(0);
    pmd_frame first = frame_make(PMD_OPCODE_TEXT, false, "ab", 2), last = frame_make(PMD_OPCODE_CONTINUATION, true, "c", 1), wire;
    CHECK_OK(pmd_extension_encode(tx, &first, &wire));
    CHECK(wire.rsv1);
    CHECK_OK(pmd_extension_encode(tx, &last, &wire));
    CHECK(!wire.rsv1 && wire.data != last.data);
    first = frame_make(PMD_OPCODE_TEXT, true, "", 0);
    CHECK_OK(pmd_extension_encode(plain, &first, &wire));
    CHECK(wire.rsv1); /* threshold 0: even the empty message is compressed */
    pmd_extension_free(tx);
    pmd_extension_free(plain);
}

int main(void) {
    CHECK_RESULT(pmd_config_set_compress_threshold(NULL, 1), PMD_ERR_NULL_POINTER);
    boundary();
    fragmented_and_default();
    return check_finish("test_compress_threshold");
}
