/* Decode failures: RSV1 on control and continuation frames and frames out
 * of order (PROTOCOL, 1002), invalid DEFLATE data (CORRUPT_DATA, 1007),
 * max_size (PAYLOAD_TOO_BIG, 1009; exactly max_size is fine), and that
 * every one of them is sticky (docs/frames.md, docs/errors.md). */
#include "check.h"

static pmd_extension *new_ext(int remote_bits) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(false, false, remote_bits, 15, NULL, &ext));
    CHECK(ext != NULL);
    return ext;
}

static const unsigned char HELLO[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

static pmd_result decode(pmd_extension *ext, uint8_t op, bool fin, bool rsv1, const void *p,
                         size_t n, size_t max_size, pmd_frame *out) {
    pmd_frame in = frame_make(op, fin, p, n);
    in.rsv1 = rsv1;
    return pmd_extension_decode(ext, &in, max_size, out);
}

/* After a failure with `want`, the decode side stays failed: a good
 * compressed frame, a control frame and an uncompressed frame all return
 * `want` again, and *out is never written. */
static void check_sticky(pmd_extension *ext, pmd_result want) {
    pmd_frame out, untouched;
    memset(&out, 0x3c, sizeof out);
    memcpy(&untouched, &out, sizeof out);
    CHECK_RESULT(decode(ext, PMD_OPCODE_TEXT, true, true, HELLO, sizeof HELLO, SIZE_MAX, &out), want);
    CHECK_RESULT(decode(ext, PMD_OPCODE_PING, true, false, "p", 1, SIZE_MAX, &out), want);
    CHECK_RESULT(decode(ext, PMD_OPCODE_BINARY, true, false, "raw", 3, SIZE_MAX, &out), want);
    CHECK_RESULT(decode(ext, PMD_OPCODE_CONTINUATION, true, false, "x", 1, SIZE_MAX, &out), want);
    CHECK(memcmp(&out, &untouched, sizeof out) == 0);
    CHECK_EQ(pmd_result_close_code(want), want == PMD_ERR_PROTOCOL         ? 1002
                                          : want == PMD_ERR_CORRUPT_DATA    ? 1007
                                          : want == PMD_ERR_PAYLOAD_TOO_BIG ? 1009
                                                                            : 0);
}

/* A fresh extension, some frames that succeed, then one that fails. */
typedef struct step {
    uint8_t op;
    bool fin, rsv1;
    const char *data; /* hex pairs, or NULL for no payload */
} step;

static size_t unhex(const char *hex, unsigned char *out) {
    size_t n = 0;
    while (hex != NULL && hex[0] && hex[1]) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1) {
            break;
        }
        out[n++] = (unsigned char)v;
        hex += 2;
        while (*hex == ' ') {
            hex++;
        }
    }
    return n;
}

typedef struct error_case {
    const char *what;
    step ok[3];
    size_t n_ok;
    step bad;
    pmd_result want;
    const char *detail;
} error_case;

#define TEXT PMD_OPCODE_TEXT
#define BIN PMD_OPCODE_BINARY
#define CONT PMD_OPCODE_CONTINUATION
#define S(op, fin, rsv1, data) {op, fin, rsv1, data}
#define NONE S(0, 0, 0, NULL)

static const error_case cases[] = {
    /* RFC 7692 section 6.1 and RFC 6455 section 5. */
    {"RSV1 on a close frame", {NONE, NONE, NONE}, 0, S(PMD_OPCODE_CLOSE, true, true, "03e8"),
     PMD_ERR_PROTOCOL, "RSV1 set on a control frame"},
    {"RSV1 on a ping", {NONE, NONE, NONE}, 0, S(PMD_OPCODE_PING, true, true, NULL),
     PMD_ERR_PROTOCOL, "RSV1 set on a control frame"},
    {"RSV1 on a pong mid-message", {S(TEXT, false, true, "f2 48 05 00 00 00 ff ff"), NONE, NONE},
     1, S(PMD_OPCODE_PONG, true, true, NULL), PMD_ERR_PROTOCOL, "control frame"},
    {"RSV1 on a continuation of a compressed message",
     {S(TEXT, false, true, "f2 48 05 00 00 00 ff ff"), NONE, NONE}, 1,
     S(CONT, true, true, "ca c9 c9 07 00"), PMD_ERR_PROTOCOL, "RSV1 set on a continuation frame"},
    {"RSV1 on a continuation of an uncompressed message",
     {S(TEXT, false, false, "48 65"), NONE, NONE}, 1, S(CONT, true, true, "6c 6c 6f"),
     PMD_ERR_PROTOCOL, "RSV1 set on a continuation frame"},
    {"RSV1 on a continuation with no message", {NONE, NONE, NONE}, 0, S(CONT, true, true, "00"),
     PMD_ERR_PROTOCOL, "RSV1 set on a continuation frame"},
    {"continuation with no message", {NONE, NONE, NONE}, 0, S(CONT, true, false, "00"),
     PMD_ERR_PROTOCOL, "continuation frame without a message"},
    {"continuation after a finished message",
     {S(TEXT, true, true, "f2 48 cd c9 c9 07 00"), NONE, NONE}, 1, S(CONT, true, false, "00"),
     PMD_ERR_PROTOCOL, "continuation frame without a message"},
    {"data frame inside a compressed message",
     {S(TEXT, false, true, "f2 48 05 00 00 00 ff ff"), NONE, NONE}, 1,
     S(TEXT, true, true, "f2 48 cd c9 c9 07 00"), PMD_ERR_PROTOCOL, "in progress"},
    {"uncompressed data frame inside a compressed message",
     {S(BIN, false, true, "f2 48 05 00 00 00 ff ff"), NONE, NONE}, 1,
     S(BIN, true, false, "41"), PMD_ERR_PROTOCOL, "in progress"},
    {"data frame inside an uncompressed message", {S(TEXT, false, false, "41"), NONE, NONE}, 1,
     S(TEXT, true, true, "f2 48 cd c9 c9 07 00"), PMD_ERR_PROTOCOL, "in progress"},
    {"reserved data opcode", {NONE, NONE, NONE}, 0, S(3, true, false, "41"), PMD_ERR_PROTOCOL,
     "reserved opcode 3"},
    {"reserved control opcode", {NONE, NONE, NONE}, 0, S(11, true, false, NULL), PMD_ERR_PROTOCOL,
     "reserved opcode 11"},
    {"opcode above 15", {NONE, NONE, NONE}, 0, S(16, true, false, NULL), PMD_ERR_INVALID_ARGUMENT,
     "opcode 16"},
    /* Invalid DEFLATE data. */
    {"reserved block type", {NONE, NONE, NONE}, 0, S(TEXT, true, true, "ff ff ff"),
     PMD_ERR_CORRUPT_DATA, "invalid DEFLATE data at input byte"},
    {"stored block with a bad length check", {NONE, NONE, NONE}, 0,
     S(TEXT, true, true, "00 05 00 00 00 48 65 6c 6c 6f"), PMD_ERR_CORRUPT_DATA,
     "invalid DEFLATE data"},
    {"corrupt continuation", {S(TEXT, false, true, "f2 48 05 00 00 00 ff ff"), NONE, NONE}, 1,
     S(CONT, true, false, "07 ff ff ff"), PMD_ERR_CORRUPT_DATA, "invalid DEFLATE data"},
    {"message ending inside a block", {NONE, NONE, NONE}, 0, S(TEXT, true, true, "f2 48"),
     PMD_ERR_CORRUPT_DATA, "invalid DEFLATE data"},
    {"data after a BFINAL block", {NONE, NONE, NONE}, 0,
     S(TEXT, true, true, "f3 48 cd c9 c9 07 00 f2 48 cd c9 c9 07 00"), PMD_ERR_CORRUPT_DATA,
     "BFINAL"},
    {"data after a BFINAL block, in the next frame",
     {S(TEXT, false, true, "f3 48 cd c9 c9 07 00"), NONE, NONE}, 1,
     S(CONT, true, false, "f2 48 cd c9 c9 07 00"), PMD_ERR_CORRUPT_DATA, "BFINAL"},
    /* A fixed-Huffman block: literal 'a', then a match at distance 2. */
    {"distance before the start of the stream", {NONE, NONE, NONE}, 0,
     S(TEXT, true, true, "4b 04 42 00"), PMD_ERR_CORRUPT_DATA, "too far back"},
    {"stored block that is cut short", {NONE, NONE, NONE}, 0,
     S(TEXT, true, true, "00 05 00 fa ff 48 65"), PMD_ERR_CORRUPT_DATA, "invalid DEFLATE data"},
};

static void test_error_table(void) {
    size_t i, k;
    unsigned char buf[64];
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const error_case *c = &cases[i];
        pmd_extension *ext = new_ext(8);
        pmd_frame out, untouched;
        size_t n;
        for (k = 0; k < c->n_ok; k++) {
            n = unhex(c->ok[k].data, buf);
            if (!CHECK_OK(decode(ext, c->ok[k].op, c->ok[k].fin, c->ok[k].rsv1, buf, n, SIZE_MAX, &out))) {
                fprintf(stderr, "    case \"%s\", setup frame %lu\n", c->what, (unsigned long)k);
            }
        }
        n = unhex(c->bad.data, buf);
        memset(&out, 0x3c, sizeof out);
        memcpy(&untouched, &out, sizeof out);
        if (!CHECK_RESULT(decode(ext, c->bad.op, c->bad.fin, c->bad.rsv1, buf, n, SIZE_MAX, &out),
                          c->want)) {
            fprintf(stderr, "    case \"%s\"\n", c->what);
        }
        CHECK(memcmp(&out, &untouched, sizeof out) == 0);
        CHECK_LAST_ERROR("pmd_extension_decode");
        if (!CHECK_LAST_ERROR(c->detail)) {
            fprintf(stderr, "    case \"%s\"\n", c->what);
        }
        check_sticky(ext, c->want);
        pmd_extension_free(ext);
    }
}

/* A real distance beyond an agreed window: a 15-bit sender's message with a
 * match 5000 bytes back, read by a receiver that agreed on 9 bits, with the
 * strict window check (within one message only that catches it for sure;
 * test_strict_window.c has both modes). */
static void test_distance_beyond_agreed_window(void) {
    unsigned char msg[10000];
    pmd_config *strict = pmd_config_new();
    pmd_extension *enc = NULL, *dec = NULL;
    pmd_frame in, wire, out;
    CHECK_OK(pmd_config_set_strict_window(strict, true));
    CHECK_OK(pmd_extension_new(false, false, 9, 15, strict, &dec));
    pmd_config_free(strict);
    fill_random(msg, 5000, 3);
    memcpy(msg + 5000, msg, 5000);
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &enc));
    in = frame_make(PMD_OPCODE_BINARY, true, msg, sizeof msg);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK(wire.len < 6000); /* the repeat was found */
    if (CHECK_RESULT(pmd_extension_decode(dec, &wire, SIZE_MAX, &out), PMD_ERR_CORRUPT_DATA)) {
        CHECK_LAST_ERROR("invalid DEFLATE data");
        check_sticky(dec, PMD_ERR_CORRUPT_DATA);
    } else {
        fprintf(stderr, "    decoded %lu bytes (sent %lu) through a 9-bit window\n",
                (unsigned long)out.len, (unsigned long)sizeof msg);
    }
    pmd_extension_free(enc);
    pmd_extension_free(dec);

    /* The same across two messages (context takeover): the second message
     * refers 5000 bytes back into the first. */
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &enc));
    dec = new_ext(9);
    in = frame_make(PMD_OPCODE_BINARY, true, msg, 5000);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK_OK(pmd_extension_decode(dec, &wire, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, msg, 5000);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK(wire.len < 100);
    CHECK_RESULT(pmd_extension_decode(dec, &wire, SIZE_MAX, &out), PMD_ERR_CORRUPT_DATA);
    CHECK_LAST_ERROR("invalid DEFLATE data");
    check_sticky(dec, PMD_ERR_CORRUPT_DATA);
    pmd_extension_free(enc);
    pmd_extension_free(dec);
}

/* One compressed frame that inflates to `n` bytes of text. */
static void compress(const unsigned char *msg, size_t n, bool fin, bytes_buf *wire) {
    pmd_extension *enc = NULL;
    pmd_frame in, out;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &enc));
    in = frame_make(PMD_OPCODE_TEXT, fin, msg, n);
    if (CHECK_OK(pmd_extension_encode(enc, &in, &out))) {
        bytes_append(wire, out.data, out.len);
    }
    pmd_extension_free(enc);
}

static void test_max_size(void) {
    const size_t n = 100000;
    unsigned char *msg = (unsigned char *)malloc(n);
    bytes_buf wire = {NULL, 0, 0};
    pmd_extension *ext;
    pmd_frame out;
    fill_text(msg, n, 5);
    compress(msg, n, true, &wire);

    /* Exactly max_size is accepted. */
    ext = new_ext(15);
    CHECK_OK(decode(ext, TEXT, true, true, wire.p, wire.len, n, &out));
    CHECK_BYTES(out.data, out.len, msg, n);
    /* SIZE_MAX means no limit. */
    CHECK_OK(decode(ext, TEXT, true, true, wire.p, wire.len, SIZE_MAX, &out));
    CHECK_EQ(out.len, n);
    pmd_extension_free(ext);

    /* max_size 0 allows only empty output: a spent budget is refused. */
    ext = new_ext(15);
    CHECK_RESULT(decode(ext, TEXT, true, true, wire.p, wire.len, 0, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max_size of 0 bytes");
    pmd_extension_free(ext);
    ext = new_ext(15);
    CHECK_OK(decode(ext, TEXT, true, true, "\0", 1, 0, &out)); /* the empty message */
    CHECK_EQ(out.len, 0);
    pmd_extension_free(ext);

    /* One byte less is too big, and sticky. */
    ext = new_ext(15);
    CHECK_RESULT(decode(ext, TEXT, true, true, wire.p, wire.len, n - 1, &out),
                 PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max_size");
    check_sticky(ext, PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(ext);

    /* max_size 1. */
    ext = new_ext(15);
    CHECK_RESULT(decode(ext, TEXT, true, true, wire.p, wire.len, 1, &out),
                 PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(ext);

    /* The limit is per frame: fragments each within it pass. */
    ext = new_ext(15);
    {
        static const unsigned char frag1[] = {0xf2, 0x48, 0xcd, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff};
        static const unsigned char frag2[] = {0xca, 0xc9, 0x07, 0x00};
        CHECK_OK(decode(ext, TEXT, false, true, frag1, sizeof frag1, 3, &out));
        CHECK_EQ(out.len, 3);
        CHECK_RESULT(decode(ext, CONT, true, false, frag2, sizeof frag2, 1, &out),
                     PMD_ERR_PAYLOAD_TOO_BIG);
    }
    pmd_extension_free(ext);

    /* A compressed empty message fits max_size 1 (and any). */
    ext = new_ext(15);
    CHECK_OK(decode(ext, TEXT, true, true, "\0", 1, 1, &out));
    CHECK_EQ(out.len, 0);
    pmd_extension_free(ext);
    bytes_free(&wire);
    free(msg);
}

/* A bomb: 16 MiB of zeros in about 16 KiB. Decoding stops as soon as the
 * output passes max_size, without inflating the rest and without holding
 * much more than max_size. */
static void test_bomb_stops_early(void) {
    const size_t n = 16u << 20;
    unsigned char *zeros = (unsigned char *)calloc(n, 1);
    bytes_buf wire = {NULL, 0, 0};
    pmd_extension *ext;
    pmd_frame out;
    size_t before;
    if (!CHECK(zeros != NULL)) {
        return;
    }
    compress(zeros, n, true, &wire);
    free(zeros);
    CHECK(wire.len < n / 500);
    ext = new_ext(15);
    before = pmd_extension_memory_usage(ext);
    CHECK_RESULT(decode(ext, BIN, true, true, wire.p, wire.len, 1000, &out),
                 PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("1000");
    /* After the error the decode side holds no buffers or streams. */
    CHECK(pmd_extension_memory_usage(ext) <= before);
    check_sticky(ext, PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(ext);
    bytes_free(&wire);
}

static void test_null_pointers_are_not_sticky(void) {
    pmd_extension *ext = new_ext(15);
    pmd_frame in = frame_make(TEXT, true, HELLO, sizeof HELLO), out, untouched;
    in.rsv1 = true;
    memset(&out, 0x3c, sizeof out);
    memcpy(&untouched, &out, sizeof out);
    CHECK_RESULT(pmd_extension_decode(NULL, &in, SIZE_MAX, &out), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_extension_decode(ext, NULL, SIZE_MAX, &out), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_extension_decode(ext, &in, SIZE_MAX, NULL), PMD_ERR_NULL_POINTER);
    in.data = NULL;
    CHECK_RESULT(pmd_extension_decode(ext, &in, SIZE_MAX, &out), PMD_ERR_NULL_POINTER);
    CHECK(memcmp(&out, &untouched, sizeof out) == 0);
    /* Nothing changed: the same extension still decodes. */
    in.data = HELLO;
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, "Hello", 5);
    pmd_extension_free(ext);
}

/* The encode side is independent of a failed decode side. */
static void test_encode_survives_decode_error(void) {
    pmd_extension *ext = new_ext(15);
    pmd_frame in, out;
    CHECK_RESULT(decode(ext, TEXT, true, true, "\xff\xff\xff", 3, SIZE_MAX, &out), PMD_ERR_CORRUPT_DATA);
    in = frame_make(TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, HELLO, sizeof HELLO);
    pmd_extension_free(ext);
}

int main(void) {
    test_error_table();
    test_distance_beyond_agreed_window();
    test_max_size();
    test_bomb_stops_early();
    test_null_pointers_are_not_sticky();
    test_encode_survives_decode_error();
    return check_finish("test_decode_errors");
}
