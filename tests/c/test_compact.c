/* pmd_extension_compact (docs/memory.md): releases the output buffers and
 * each zlib stream between messages, keeping under context takeover only a
 * copy of the real history; messages round-trip byte-exact across any
 * number of compactions on either end; a side in the middle of a message
 * keeps its stream; memory after compaction is the handle plus the
 * history. Under valgrind, a frame used after compaction would show. */
#include "check.h"

#define KIB 1024u

static pmd_extension *new_ext(bool remote_nct, bool local_nct, int remote_bits, int local_bits,
                              const pmd_config *cfg) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(remote_nct, local_nct, remote_bits, local_bits, cfg, &ext));
    return ext;
}

static uint32_t rnd_state = 7;
static uint32_t rnd(uint32_t n) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state % n;
}

/* Sends msg from tx to rx as `parts` frames, compacting the sender after
 * each frame when compact_mid is set (the output is copied first: compaction
 * frees it); returns the compressed bytes sent, or 0 on a failed check. */
static size_t send(pmd_extension *tx, pmd_extension *rx, const unsigned char *msg, size_t len,
                   size_t parts, bool compact_mid) {
    bytes_buf got = {NULL, 0, 0};
    size_t wire_total = 0, k, at = 0;
    for (k = 0; k < parts; k++) {
        size_t end = k + 1 == parts ? len : len * (k + 1) / parts;
        pmd_frame in = frame_make(k == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION,
                                  k + 1 == parts, msg + at, end - at);
        pmd_frame wire, plain;
        unsigned char *copy;
        if (!CHECK_OK(pmd_extension_encode(tx, &in, &wire))) {
            bytes_free(&got);
            return 0;
        }
        copy = (unsigned char *)malloc(wire.len + 1);
        memcpy(copy, wire.data, wire.len);
        wire.data = copy;
        wire_total += wire.len;
        if (compact_mid) {
            CHECK_OK(pmd_extension_compact(tx));
            CHECK_OK(pmd_extension_compact(rx));
        }
        if (CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &plain))) {
            bytes_append(&got, plain.data, plain.len);
        }
        free(copy);
        at = end;
    }
    if (!CHECK_BYTES(got.p, got.len, msg, len)) {
        wire_total = 0;
    }
    bytes_free(&got);
    return wire_total;
}

static void test_null(void) {
    CHECK_RESULT(pmd_extension_compact(NULL), PMD_ERR_NULL_POINTER);
}

/* Window bits 8..15 x takeover on each side x fragmentation, compactions on
 * either end between messages and between fragments. */
static void test_round_trips(void) {
    static unsigned char text[4096];
    int bits, combo, i;
    fill_text(text, sizeof text, 3);
    for (bits = 8; bits <= 15; bits++) {
        for (combo = 0; combo < 4; combo++) {
            bool a_nct = (combo & 1) != 0, b_nct = (combo & 2) != 0;
            /* a sends with a_nct, b with b_nct. */
            pmd_extension *a = new_ext(b_nct, a_nct, bits, bits, NULL);
            pmd_extension *b = new_ext(a_nct, b_nct, bits, bits, NULL);
            for (i = 0; i < 12; i++) {
                size_t len = rnd(5) == 0 ? 0 : 1 + rnd(sizeof text - 1);
                size_t start = rnd((uint32_t)(sizeof text - len + 1));
                size_t parts = 1 + rnd(3);
                bool mid = rnd(3) == 0;
                if (rnd(2)) CHECK_OK(pmd_extension_compact(a));
                if (rnd(2)) CHECK_OK(pmd_extension_compact(b));
                if (i % 2 == 0) {
                    send(a, b, text + start, len, parts, mid);
                } else {
                    send(b, a, text + start, len, parts, mid);
                }
            }
            pmd_extension_free(a);
            pmd_extension_free(b);
        }
    }
}

/* The history survives: a repeat after compaction of both ends is a few
 * bytes of back references (the peer decodes them from its own history). */
static void test_history_is_used(void) {
    unsigned char msg[200];
    pmd_extension *a = new_ext(false, false, 15, 15, NULL);
    pmd_extension *b = new_ext(false, false, 15, 15, NULL);
    size_t first, second, fresh = pmd_extension_memory_usage(a);
    fill_random(msg, sizeof msg, 5);
    first = send(a, b, msg, sizeof msg, 1, false);
    CHECK_OK(pmd_extension_compact(a));
    CHECK_OK(pmd_extension_compact(b));
    CHECK_EQ(pmd_extension_memory_usage(a), fresh + sizeof msg);
    CHECK_EQ(pmd_extension_memory_usage(b), fresh + sizeof msg);
    second = send(a, b, msg, sizeof msg, 1, false);
    CHECK(first >= sizeof msg);
    CHECK(second > 0 && second <= 8);
    pmd_extension_free(a);
    pmd_extension_free(b);
}

/* One small message each way, then compaction: the figures of
 * docs/memory.md. */
static void one_setting(const char *name, bool nct, int bits, int mem_level) {
    static const char small[] = "{\"type\":\"chat\",\"text\":\"a small message\"}";
    pmd_config *cfg = pmd_config_new();
    pmd_extension *x, *y;
    size_t fresh, before, after, history = nct ? 0 : 2 * (sizeof small - 1);
    CHECK_OK(pmd_config_set_mem_level(cfg, mem_level));
    x = new_ext(nct, nct, bits, bits, cfg);
    y = new_ext(nct, nct, bits, bits, cfg);
    fresh = pmd_extension_memory_usage(x);
    send(x, y, (const unsigned char *)small, sizeof small - 1, 1, false);
    send(y, x, (const unsigned char *)small, sizeof small - 1, 1, false);
    before = pmd_extension_memory_usage(x);
    CHECK_OK(pmd_extension_compact(x));
    after = pmd_extension_memory_usage(x);
    printf("compact: %s: new %lu B, after one message each way %lu B, compacted %lu B\n", name,
           (unsigned long)fresh, (unsigned long)before, (unsigned long)after);
    CHECK(before > 32 * KIB); /* both streams kept between messages */
    CHECK_EQ(after, fresh + history);
    CHECK(after <= fresh + history);
    /* Again: nothing more to release. */
    CHECK_OK(pmd_extension_compact(x));
    CHECK_EQ(pmd_extension_memory_usage(x), after);
    pmd_extension_free(x);
    pmd_extension_free(y);
    pmd_config_free(cfg);
}

static void test_memory_figures(void) {
    one_setting("no_context_takeover both ways, 15 bits, memLevel 8", true, 15, 8);
    one_setting("takeover, 15 bits, memLevel 8", false, 15, 8);
    one_setting("takeover, 12 bits, memLevel 5", false, 12, 5);
}

/* Mid-message, the stream stays and the message completes. */
static void test_mid_message(void) {
    pmd_extension *tx = new_ext(true, true, 15, 15, NULL);
    pmd_frame in = frame_make(PMD_OPCODE_TEXT, false, "Hello, ", 7), out;
    CHECK_OK(pmd_extension_encode(tx, &in, &out));
    CHECK_OK(pmd_extension_compact(tx));
    CHECK(pmd_extension_memory_usage(tx) >= 256 * KIB);
    in = frame_make(PMD_OPCODE_CONTINUATION, true, "world", 5);
    CHECK_OK(pmd_extension_encode(tx, &in, &out));
    CHECK_OK(pmd_extension_compact(tx));
    CHECK(pmd_extension_memory_usage(tx) < 1 * KIB);
    pmd_extension_free(tx);
}

int main(void) {
    test_null();
    test_round_trips();
    test_history_is_used();
    test_memory_figures();
    test_mid_message();
    return check_finish("test_compact");
}
