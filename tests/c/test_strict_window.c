/* pmd_config_set_strict_window: the window-distance check on decode.
 *
 * A 15-bit sender's message repeats 5000 random bytes, so its second half
 * refers 5000 bytes back; a receiver that agreed on 9 bits (512 bytes)
 * must not accept that distance. With the strict check (inherited through
 * negotiation) it is PMD_ERR_CORRUPT_DATA within one message; by default
 * decoding runs in calls as large as the output, so the result is either
 * the exact message or PMD_ERR_CORRUPT_DATA, never other bytes. Across two
 * messages, a distance beyond the kept history is refused in both modes,
 * and in both modes every window round-trips.
 */
#include "check.h"

static unsigned char msg[10000];

/* A server-side extension negotiated with cfg, which imposes a 9-bit
 * client window: the server decodes what a client compressed. */
static pmd_extension *negotiated_server(bool strict) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = NULL;
    char response[PMD_MAX_RESPONSE_LEN];
    size_t len = 0;
    static const char offer[] = "permessage-deflate; client_max_window_bits";
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 9));
    CHECK_OK(pmd_config_set_strict_window(cfg, strict));
    CHECK_OK(pmd_server_negotiate(cfg, offer, sizeof offer - 1, response, sizeof response, &len, &ext));
    CHECK_CONTAINS(response, "client_max_window_bits=9");
    CHECK(ext != NULL);
    pmd_config_free(cfg); /* the extension keeps what it inherited */
    return ext;
}

static void within_one_message(void) {
    pmd_extension *tx = NULL, *strict = negotiated_server(true), *loose = negotiated_server(false);
    pmd_frame in = frame_make(PMD_OPCODE_BINARY, true, msg, sizeof msg), wire, out;
    pmd_result r;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_encode(tx, &in, &wire));
    CHECK(wire.len < 6000); /* the repeat was found */
    if (CHECK_RESULT(pmd_extension_decode(strict, &wire, SIZE_MAX, &out), PMD_ERR_CORRUPT_DATA)) {
        CHECK_LAST_ERROR("too far back");
    }
    r = pmd_extension_decode(loose, &wire, SIZE_MAX, &out);
    if (r == PMD_OK) {
        CHECK_BYTES(out.data, out.len, msg, sizeof msg);
    } else {
        CHECK_RESULT(r, PMD_ERR_CORRUPT_DATA);
        CHECK_LAST_ERROR("too far back");
    }
    pmd_extension_free(tx);
    pmd_extension_free(strict);
    pmd_extension_free(loose);
}

static void across_messages(bool strict_on) {
    pmd_extension *tx = NULL, *rx = negotiated_server(strict_on);
    pmd_frame in = frame_make(PMD_OPCODE_BINARY, true, msg, 5000), wire, out;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_encode(tx, &in, &wire));
    CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, msg, 5000);
    CHECK_OK(pmd_extension_encode(tx, &in, &wire));
    CHECK(wire.len < 100);
    if (CHECK_RESULT(pmd_extension_decode(rx, &wire, SIZE_MAX, &out), PMD_ERR_CORRUPT_DATA)) {
        CHECK_LAST_ERROR("too far back");
    }
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

static void round_trips(bool strict_on) {
    int bits, k;
    pmd_config *cfg = pmd_config_new();
    CHECK_OK(pmd_config_set_strict_window(cfg, strict_on));
    for (bits = 8; bits <= 15; bits++) {
        pmd_extension *tx = NULL, *rx = NULL;
        CHECK_OK(pmd_extension_new(false, false, bits, bits, cfg, &tx));
        CHECK_OK(pmd_extension_new(false, false, bits, bits, cfg, &rx));
        for (k = 0; k < 4; k++) {
            /* Halves at distance 100, 1000, 5000 and 9000 bytes. */
            static const size_t halves[] = {100, 1000, 5000, 9000};
            size_t half = halves[k] < sizeof msg / 2 ? halves[k] : sizeof msg / 2;
            unsigned char m[10000];
            pmd_frame in, wire, out;
            memcpy(m, msg, half);
            memcpy(m + half, msg, half);
            in = frame_make(PMD_OPCODE_BINARY, true, m, 2 * half);
            CHECK_OK(pmd_extension_encode(tx, &in, &wire));
            if (!CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &out)) ||
                !CHECK_BYTES(out.data, out.len, m, 2 * half)) {
                fprintf(stderr, "    strict %d, window %d, half %lu\n", strict_on, bits, (unsigned long)half);
            }
        }
        pmd_extension_free(tx);
        pmd_extension_free(rx);
    }
    pmd_config_free(cfg);
}

int main(void) {
    fill_random(msg, 5000, 3);
    memcpy(msg + 5000, msg, 5000);
    CHECK_RESULT(pmd_config_set_strict_window(NULL, true), PMD_ERR_NULL_POINTER);
    within_one_message();
    across_messages(true);
    across_messages(false);
    round_trips(true);
    round_trips(false);
    return check_finish("test_strict_window");
}
