/* pmd_extension_memory_usage (docs/memory.md): counted, not estimated.
 * Streams are created at the first message of each direction and persist
 * between messages (under no_context_takeover reset, not freed, so that no
 * message pays zlib's initialisation) until pmd_extension_compact releases
 * them (tests/c/test_compact.c). */
#include "check.h"

#define KIB 1024u

static pmd_extension *new_ext(bool remote_nct, bool local_nct, int remote_bits, int local_bits,
                              const pmd_config *cfg) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(remote_nct, local_nct, remote_bits, local_bits, cfg, &ext));
    return ext;
}

/* Encodes a message as two frames, reporting usage between them. */
static size_t encode_two_frames(pmd_extension *ext, size_t *mid) {
    pmd_frame in, out;
    in = frame_make(PMD_OPCODE_TEXT, false, "Hello, ", 7);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    *mid = pmd_extension_memory_usage(ext);
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "world", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    return pmd_extension_memory_usage(ext);
}

/* Decodes "Hello" as two frames, reporting usage between them. */
static size_t decode_two_frames(pmd_extension *ext, size_t *mid) {
    static const unsigned char frag1[] = {0xf2, 0x48, 0xcd, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char frag2[] = {0xca, 0xc9, 0x07, 0x00};
    pmd_frame in, out;
    in = frame_make(PMD_OPCODE_TEXT, false, frag1, sizeof frag1);
    in.rsv1 = true;
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    *mid = pmd_extension_memory_usage(ext);
    in = frame_make(PMD_OPCODE_CONTINUATION, true, frag2, sizeof frag2);
    CHECK_OK(pmd_extension_decode(ext, &in, SIZE_MAX, &out));
    return pmd_extension_memory_usage(ext);
}

static void test_takeover_grows_and_stays(void) {
    pmd_extension *ext = new_ext(false, false, 15, 15, NULL);
    size_t idle, mid, after_enc, after_dec, again;
    CHECK_EQ(pmd_extension_memory_usage(NULL), 0);
    idle = pmd_extension_memory_usage(ext);
    CHECK(idle > 0);        /* the handle itself */
    CHECK(idle <= 1 * KIB); /* no zlib stream before the first message */

    /* Deflate, wbits 15, memLevel 8: 2^17 + 2^17 bytes plus state. */
    after_enc = encode_two_frames(ext, &mid);
    CHECK(mid >= idle + 256 * KIB);
    CHECK(mid < idle + 320 * KIB);
    CHECK(after_enc >= mid - 1 * KIB);             /* takeover: the stream stays */

    /* Inflate, wbits 15: 2^15 bytes plus state. */
    after_dec = decode_two_frames(ext, &mid);
    CHECK(mid >= after_enc + 32 * KIB);
    CHECK(mid < after_enc + 64 * KIB);
    CHECK(after_dec >= mid - 1 * KIB);
    /* zlib's figures: both, takeover: about 300 KiB. */
    CHECK(after_dec >= 288 * KIB && after_dec <= 360 * KIB);

    /* Steady: another message in each direction holds the same. */
    encode_two_frames(ext, &mid);
    again = decode_two_frames(ext, &mid);
    CHECK(again <= after_dec + 1 * KIB);
    pmd_extension_free(ext);
}

static void test_no_context_takeover_keeps_until_compaction(void) {
    pmd_extension *ext = new_ext(true, true, 15, 15, NULL);
    size_t idle, mid, after, enc_after;
    idle = pmd_extension_memory_usage(ext);

    enc_after = encode_two_frames(ext, &mid);
    CHECK(mid >= idle + 256 * KIB);      /* the stream exists mid-message */
    CHECK(enc_after >= mid - 1 * KIB);   /* and is kept, reset, after it */

    after = decode_two_frames(ext, &mid);
    CHECK(mid >= enc_after + 32 * KIB);
    CHECK(after >= mid - 1 * KIB);

    /* Compaction releases both streams and buffers: the handle is left
     * (docs/memory.md). */
    CHECK_OK(pmd_extension_compact(ext));
    after = pmd_extension_memory_usage(ext);
    CHECK_EQ(after, idle);
    CHECK(after <= 512);

    /* Only the direction without takeover is released entirely. */
    pmd_extension_free(ext);
    ext = new_ext(false, true, 15, 15, NULL); /* local nct only: deflate released */
    encode_two_frames(ext, &mid);
    decode_two_frames(ext, &mid);
    CHECK_OK(pmd_extension_compact(ext));
    CHECK_EQ(pmd_extension_memory_usage(ext), idle + 5); /* "Hello" received */
    pmd_extension_free(ext);
    ext = new_ext(true, false, 15, 15, NULL); /* remote nct only: inflate released */
    encode_two_frames(ext, &mid);
    decode_two_frames(ext, &mid);
    CHECK_OK(pmd_extension_compact(ext));
    CHECK_EQ(pmd_extension_memory_usage(ext), idle + 12); /* "Hello, world" sent */
    pmd_extension_free(ext);
}

static void test_small_windows(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext;
    size_t mid, after;
    CHECK_OK(pmd_config_set_mem_level(cfg, 5));
    ext = new_ext(false, false, 12, 12, cfg);
    encode_two_frames(ext, &mid);
    after = decode_two_frames(ext, &mid);
    /* zlib's figures: wbits 12, memLevel 5: 32 KiB + 4 KiB, about 45 KiB in all. */
    CHECK(after >= 36 * KIB && after <= 56 * KIB);
    pmd_extension_free(ext);
    pmd_config_free(cfg);
}

static void test_buffers_shrink_after_big_message(void) {
    const size_t big = 1u << 20;
    unsigned char *msg = (unsigned char *)malloc(big);
    pmd_extension *enc = new_ext(true, true, 15, 15, NULL);
    pmd_extension *dec = new_ext(true, true, 15, 15, NULL);
    pmd_frame in, wire, out;
    size_t after_big_enc, after_big_dec;
    fill_random(msg, big, 9);
    in = frame_make(PMD_OPCODE_BINARY, true, msg, big);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK_OK(pmd_extension_decode(dec, &wire, SIZE_MAX, &out));
    CHECK_EQ(out.len, big);
    after_big_enc = pmd_extension_memory_usage(enc);
    after_big_dec = pmd_extension_memory_usage(dec);
    /* The output buffers are counted. */
    CHECK(after_big_enc >= big);
    CHECK(after_big_dec >= big);
    /* Small messages next: the big buffers are given back. (The library
     * decides from the previous frame's size, so the shrink shows from the
     * second small message on.) */
    in = frame_make(PMD_OPCODE_BINARY, true, "small", 5);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK_OK(pmd_extension_decode(dec, &wire, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, "small", 5);
    CHECK_OK(pmd_extension_encode(enc, &in, &wire));
    CHECK_OK(pmd_extension_decode(dec, &wire, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, "small", 5);
    /* What is left is the reset zlib stream kept for the next message
     * (deflate about 270 KiB, inflate about 40 KiB) and small buffers. */
    CHECK(pmd_extension_memory_usage(enc) < 300 * KIB);
    CHECK(pmd_extension_memory_usage(dec) < 64 * KIB);
    pmd_extension_free(enc);
    pmd_extension_free(dec);
    free(msg);
}

int main(void) {
    test_takeover_grows_and_stays();
    test_no_context_takeover_keeps_until_compaction();
    test_small_windows();
    test_buffers_shrink_after_big_message();
    return check_finish("test_memory");
}
