/* pmd_extension: construction, what it reports, and encode/decode of
 * well-formed frames (docs/frames.md, docs/window-bits-8.md). Error paths of decode are
 * in test_decode_errors.c. Also compiled as C++. */
#include "check.h"

static int sentinel_object;
#define SENTINEL_EXT ((pmd_extension *)(void *)&sentinel_object)

static pmd_extension *new_ext(bool remote_nct, bool local_nct, int remote_bits, int local_bits) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(remote_nct, local_nct, remote_bits, local_bits, NULL, &ext));
    CHECK(ext != NULL);
    return ext;
}

static const unsigned char HELLO_1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
static const unsigned char HELLO_2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};

static void test_new(void) {
    pmd_extension *ext = SENTINEL_EXT;
    pmd_negotiated n;
    int bits;
    static const int bad[] = {0, 7, 16, -1, 255, 256};
    size_t i;

    for (bits = 8; bits <= 15; bits++) {
        ext = NULL;
        CHECK_OK(pmd_extension_new(bits % 2 == 0, bits % 3 == 0, bits, 23 - bits, NULL, &ext));
        if (CHECK(ext != NULL)) {
            CHECK_OK(pmd_extension_negotiated(ext, &n));
            CHECK_EQ(n.remote_no_context_takeover, bits % 2 == 0);
            CHECK_EQ(n.local_no_context_takeover, bits % 3 == 0);
            CHECK_EQ(n.remote_max_window_bits, bits);
            CHECK_EQ(n.local_max_window_bits, 23 - bits);
            pmd_extension_free(ext);
        }
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ext = SENTINEL_EXT;
        CHECK_RESULT(pmd_extension_new(false, false, bad[i], 15, NULL, &ext),
                     PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("remote_max_window_bits");
        CHECK_RESULT(pmd_extension_new(false, false, 15, bad[i], NULL, &ext),
                     PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("local_max_window_bits");
        CHECK(ext == SENTINEL_EXT);
    }
    CHECK_RESULT(pmd_extension_new(false, false, 15, 15, NULL, NULL), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("ext");
}

static void test_name_and_negotiated(void) {
    pmd_extension *ext = new_ext(true, false, 9, 12);
    pmd_negotiated n, untouched;
    CHECK_STR(pmd_extension_name(ext), "permessage-deflate");
    CHECK_STR(pmd_extension_name(NULL), "permessage-deflate");
    memset(&n, 0x5a, sizeof n);
    memcpy(&untouched, &n, sizeof n);
    CHECK_RESULT(pmd_extension_negotiated(NULL, &n), PMD_ERR_NULL_POINTER);
    CHECK(memcmp(&n, &untouched, sizeof n) == 0);
    CHECK_RESULT(pmd_extension_negotiated(ext, NULL), PMD_ERR_NULL_POINTER);
    CHECK_OK(pmd_extension_negotiated(ext, &n));
    CHECK_EQ(n.remote_no_context_takeover, true);
    CHECK_EQ(n.local_no_context_takeover, false);
    CHECK_EQ(n.remote_max_window_bits, 9);
    CHECK_EQ(n.local_max_window_bits, 12);
    pmd_extension_free(ext);
    pmd_extension_free(NULL);
    CHECK(1); /* reached: pmd_extension_free(NULL) is a no-op */
}

static void test_encode_rfc_vectors(void) {
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame in, out;
    /* 7.2.3.1 and, with takeover, 7.2.3.2. */
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, HELLO_1, sizeof HELLO_1);
    CHECK(out.rsv1);
    CHECK(out.fin);
    CHECK_EQ(out.opcode, PMD_OPCODE_TEXT);
    CHECK(!out.rsv2 && !out.rsv3);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, HELLO_2, sizeof HELLO_2);
    CHECK(out.rsv1);
    pmd_extension_free(ext);

    /* Without takeover every message starts afresh. */
    ext = new_ext(false, true, 15, 15);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, HELLO_1, sizeof HELLO_1);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, HELLO_1, sizeof HELLO_1);
    pmd_extension_free(ext);
}

static void test_encode_frames(void) {
    static const unsigned char empty_msg[] = {0x00};
    static const unsigned char tail[] = {0x00, 0x00, 0xff, 0xff};
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame in, out;

    /* An empty message is the single byte 00; NULL data with len 0. */
    in = frame_make(PMD_OPCODE_BINARY, true, NULL, 0);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, empty_msg, 1);
    CHECK(out.rsv1);
    CHECK_EQ(out.opcode, PMD_OPCODE_BINARY);

    /* Control frames pass through unchanged, also mid-message. */
    in = frame_make(PMD_OPCODE_PING, true, "ping", 4);
    memset(&out, 0, sizeof out);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK(out.data == in.data);
    CHECK_EQ(out.len, 4);
    CHECK(!out.rsv1);
    CHECK_EQ(out.opcode, PMD_OPCODE_PING);

    /* A fragmented message: RSV1 only on the first frame; frames that are
     * not final keep the 00 00 ff ff of the sync flush. */
    in = frame_make(PMD_OPCODE_TEXT, false, "Hel", 3);
    in.rsv2 = true;
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK(out.rsv1 && out.rsv2 && !out.rsv3 && !out.fin);
    CHECK_EQ(out.opcode, PMD_OPCODE_TEXT);
    CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, tail, 4) == 0);

    in = frame_make(PMD_OPCODE_PONG, true, NULL, 0);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_EQ(out.len, 0);
    CHECK_EQ(out.opcode, PMD_OPCODE_PONG);

    in = frame_make(PMD_OPCODE_CONTINUATION, false, "l", 1);
    in.rsv3 = true;
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK(!out.rsv1 && !out.rsv2 && out.rsv3 && !out.fin);
    CHECK_EQ(out.opcode, PMD_OPCODE_CONTINUATION);
    CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, tail, 4) == 0);

    in = frame_make(PMD_OPCODE_CONTINUATION, true, "o", 1);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK(!out.rsv1 && out.fin);
    CHECK(out.len > 0 && (out.len < 4 || memcmp(out.data + out.len - 4, tail, 4) != 0));

    /* An empty final frame after a flushed one: the single byte 00. */
    in = frame_make(PMD_OPCODE_TEXT, false, "x", 1);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    in = frame_make(PMD_OPCODE_CONTINUATION, true, NULL, 0);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, empty_msg, 1);
    pmd_extension_free(ext);
}

static void test_encode_errors(void) {
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame in, out, untouched;
    static const uint8_t bad_ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 255};
    size_t i;

    memset(&out, 0x77, sizeof out);
    memcpy(&untouched, &out, sizeof out);
    for (i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++) {
        in = frame_make(bad_ops[i], true, "x", 1);
        CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("opcode");
    }
    /* RSV1 is permessage-deflate's own bit. */
    in = frame_make(PMD_OPCODE_TEXT, true, "x", 1);
    in.rsv1 = true;
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("RSV1");
    /* Continuation with no message in progress. */
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "x", 1);
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("continuation");
    /* NULL pointers. */
    in = frame_make(PMD_OPCODE_TEXT, true, "x", 1);
    CHECK_RESULT(pmd_extension_encode(NULL, &in, &out), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_extension_encode(ext, NULL, &out), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_extension_encode(ext, &in, NULL), PMD_ERR_NULL_POINTER);
    in = frame_make(PMD_OPCODE_TEXT, true, NULL, 5);
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_NULL_POINTER);
    CHECK(memcmp(&out, &untouched, sizeof out) == 0); /* never written on failure */

    /* The NULL-pointer failures changed nothing: no message is in progress. */
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "x", 1);
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    pmd_extension_free(ext);
}

/* Header: "After an error the next data frame starts a new message." */
static void test_encode_recovers_after_error(void) {
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame in, out, untouched;
    memset(&untouched, 0x77, sizeof untouched);

    /* A new data frame while a message is in progress. */
    in = frame_make(PMD_OPCODE_TEXT, false, "abc", 3);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    in = frame_make(PMD_OPCODE_BINARY, true, "abc", 3);
    memcpy(&out, &untouched, sizeof out);
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("in progress");
    CHECK(memcmp(&out, &untouched, sizeof out) == 0);
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK(out.rsv1);
    pmd_extension_free(ext);

    /* RSV1 set on a continuation frame mid-message. */
    ext = new_ext(false, false, 15, 15);
    in = frame_make(PMD_OPCODE_TEXT, false, "abc", 3);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "def", 3);
    in.rsv1 = true;
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    pmd_extension_free(ext);

    /* A reserved opcode mid-message. */
    ext = new_ext(false, false, 15, 15);
    in = frame_make(PMD_OPCODE_TEXT, false, "abc", 3);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    in = frame_make(3, true, "def", 3);
    CHECK_RESULT(pmd_extension_encode(ext, &in, &out), PMD_ERR_INVALID_ARGUMENT);
    in = frame_make(PMD_OPCODE_BINARY, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    pmd_extension_free(ext);
}

/* Decodes one frame, expecting PMD_OK, and returns the output. */
static pmd_frame decode_ok(pmd_extension *ext, uint8_t op, bool fin, bool rsv1, const void *p,
                           size_t n) {
    pmd_frame in = frame_make(op, fin, p, n), out;
    in.rsv1 = rsv1;
    memset(&out, 0, sizeof out);
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    return out;
}

static void test_decode_rfc_vectors(void) {
    static const unsigned char stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                           0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const unsigned char bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const unsigned char two_blocks[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                               0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    static const unsigned char frag1[] = {0xf2, 0x48, 0xcd, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char frag2[] = {0xca, 0xc9, 0x07, 0x00};
    static const unsigned char empty[] = {0x00};
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame out;

    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, HELLO_1, sizeof HELLO_1);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    CHECK(!out.rsv1 && out.fin);
    CHECK_EQ(out.opcode, PMD_OPCODE_TEXT);
    /* Takeover: the second message refers to the first. */
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, HELLO_2, sizeof HELLO_2);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    out = decode_ok(ext, PMD_OPCODE_BINARY, true, true, stored, sizeof stored);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    CHECK_EQ(out.opcode, PMD_OPCODE_BINARY);
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, bfinal, sizeof bfinal);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    /* After a BFINAL message the window is kept: 7.2.3.2 still decodes. */
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, HELLO_2, sizeof HELLO_2);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, two_blocks, sizeof two_blocks);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, empty, sizeof empty);
    CHECK_EQ(out.len, 0);
    CHECK(out.data != NULL);
    {
        /* "Hello" in two frames: each frame's output as it arrives. */
        bytes_buf got = {NULL, 0, 0};
        out = decode_ok(ext, PMD_OPCODE_TEXT, false, true, frag1, sizeof frag1);
        CHECK(out.len > 0); /* the sync flush makes the first part decodable */
        bytes_append(&got, out.data, out.len);
        CHECK(!out.rsv1 && !out.fin);
        out = decode_ok(ext, PMD_OPCODE_CONTINUATION, true, false, frag2, sizeof frag2);
        bytes_append(&got, out.data, out.len);
        CHECK(!out.rsv1 && out.fin);
        CHECK_EQ(out.opcode, PMD_OPCODE_CONTINUATION);
        CHECK_BYTES(got.p, got.len, "Hello", 5);
        bytes_free(&got);
    }
    pmd_extension_free(ext);
}

static void test_decode_pass_through(void) {
    pmd_extension *ext = new_ext(false, false, 15, 15);
    pmd_frame in, out;
    const char *part1 = "plain ", *part2 = "text";

    /* Control frames, with the caller's own pointer. */
    in = frame_make(PMD_OPCODE_CLOSE, true, "\x03\xe8", 2);
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    CHECK(out.data == in.data && out.len == 2 && out.opcode == PMD_OPCODE_CLOSE);
    /* An uncompressed message and its continuation frames. */
    in = frame_make(PMD_OPCODE_TEXT, false, part1, 6);
    in.rsv2 = true;
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    CHECK(out.data == in.data && out.len == 6 && !out.rsv1 && out.rsv2 && !out.fin);
    in = frame_make(PMD_OPCODE_PING, true, "p", 1);
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    CHECK(out.data == in.data);
    in = frame_make(PMD_OPCODE_CONTINUATION, true, part2, 4);
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    CHECK(out.data == in.data && out.len == 4 && out.fin);
    /* max_size does not apply to frames that are not inflated. */
    in = frame_make(PMD_OPCODE_BINARY, true, part1, 6);
    CHECK_OK(pmd_extension_decode(ext, &in, 1, &out));
    CHECK(out.data == in.data);
    /* Then a compressed message decodes as usual. */
    out = decode_ok(ext, PMD_OPCODE_TEXT, true, true, HELLO_1, sizeof HELLO_1);
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    pmd_extension_free(ext);
}

/* Encodes msg as frames of `chunk` bytes on enc, decodes them on dec one
 * byte-split at a time or whole, and checks the result. */
static void round_trip(pmd_extension *enc, pmd_extension *dec, const unsigned char *msg,
                       size_t len, size_t chunk, bool split_bytes) {
    bytes_buf got = {NULL, 0, 0};
    size_t off = 0;
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        bool fin = off + n == len;
        pmd_frame in = frame_make(off == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION, fin,
                                  msg + off, n);
        pmd_frame wire, out;
        if (!CHECK_OK(pmd_extension_encode(enc, &in, &wire))) {
            break;
        }
        CHECK_EQ(wire.rsv1, off == 0);
        if (split_bytes && !fin && wire.len > 1) {
            /* The receiver may get the stream cut anywhere; here, one frame
             * per compressed byte (each frame's output in order). */
            size_t k;
            unsigned char *copy = (unsigned char *)malloc(wire.len);
            memcpy(copy, wire.data, wire.len);
            for (k = 0; k < wire.len; k++) {
                pmd_frame piece = frame_make(off == 0 && k == 0 ? PMD_OPCODE_BINARY
                                                                : PMD_OPCODE_CONTINUATION,
                                             false, copy + k, 1);
                piece.rsv1 = off == 0 && k == 0;
                if (!CHECK_OK(pmd_extension_decode(dec, &piece, SIZE_MAX, &out))) {
                    break;
                }
                bytes_append(&got, out.data, out.len);
            }
            free(copy);
        } else if (!CHECK_OK(pmd_extension_decode(dec, &wire, SIZE_MAX, &out))) {
            break;
        } else {
            CHECK(!out.rsv1);
            CHECK_EQ(out.fin, fin);
            bytes_append(&got, out.data, out.len);
        }
        off += n;
    } while (off < len);
    CHECK_BYTES(got.p, got.len, msg, len);
    bytes_free(&got);
}

static void test_round_trips_all_window_bits(void) {
    size_t len = 200 * 1000;
    unsigned char *text = (unsigned char *)malloc(len);
    unsigned char *noise = (unsigned char *)malloc(len);
    int bits;
    fill_text(text, len, 7);
    fill_random(noise, len, 11);
    for (bits = 8; bits <= 15; bits++) {
        /* enc: local bits; dec: the same as remote bits. */
        pmd_extension *enc = new_ext(false, false, 15, bits);
        pmd_extension *dec = new_ext(false, false, bits, 15);
        round_trip(enc, dec, text, len, len, false);
        round_trip(enc, dec, noise, 5000, 5000, false);
        round_trip(enc, dec, text + 1000, 30000, 4096, false);
        round_trip(enc, dec, text + 7, 3000, 1000, true);
        round_trip(enc, dec, text, 0, 1, false);
        pmd_extension_free(enc);
        pmd_extension_free(dec);
    }
    /* Without takeover on both ends. */
    {
        pmd_extension *enc = new_ext(true, true, 10, 10);
        pmd_extension *dec = new_ext(true, true, 10, 10);
        int i;
        for (i = 0; i < 3; i++) {
            round_trip(enc, dec, text, 20000, 20000, false);
            round_trip(enc, dec, text, 20000, 3000, i == 1);
        }
        pmd_extension_free(enc);
        pmd_extension_free(dec);
    }
    free(text);
    free(noise);
}

/* The same pmd_frame as input and output: the input is read before the
 * output is written, so encoding and decoding in place works. */
static void test_in_place(void) {
    pmd_extension *tx = NULL, *rx = NULL;
    static const unsigned char rfc_hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &rx));
    pmd_frame f = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(tx, &f, &f));
    CHECK(f.rsv1);
    CHECK_BYTES(f.data, f.len, rfc_hello, sizeof rfc_hello);
    CHECK_OK(pmd_extension_decode(rx, &f, SIZE_MAX, &f));
    CHECK(!f.rsv1);
    CHECK_SPAN((const char *)f.data, f.len, "Hello");
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

int main(void) {
    test_new();
    test_in_place();
    test_name_and_negotiated();
    test_encode_rfc_vectors();
    test_encode_frames();
    test_encode_errors();
    test_encode_recovers_after_error();
    test_decode_rfc_vectors();
    test_decode_pass_through();
    test_round_trips_all_window_bits();
    return check_finish("test_extension");
}
