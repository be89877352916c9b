/* Work limits through the C API (docs/work-limits.md): a 1 MiB header
 * value, 10,000 offers, 10,000 parameters end in PMD_ERR_HEADER_SYNTAX from
 * every function that reads a header; a 1 MiB value builds; a message in
 * one-byte frames, both ways, and a bomb spread over 10,000 continuation
 * frames end with the documented result in bounded memory. Sizes are kept
 * so that the test stays quick under valgrind; tests/work_limits.rs runs
 * the full 1 MiB messages. */
#include "check.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static char *repeat(const char *head, const char *unit, size_t n, size_t *len) {
    size_t hl = strlen(head), ul = strlen(unit), i;
    char *s = (char *)malloc(hl + n * ul + 1);
    if (s == NULL) {
        exit(2);
    }
    memcpy(s, head, hl);
    for (i = 0; i < n; i++) {
        memcpy(s + hl + i * ul, unit, ul);
    }
    *len = hl + n * ul;
    s[*len] = '\0';
    return s;
}

/* Every function that reads a Sec-WebSocket-Extensions value refuses `v`
 * with PMD_ERR_HEADER_SYNTAX and a message containing `why`, and hands out
 * nothing. */
static void refused_everywhere(const char *v, size_t len, const char *why) {
    pmd_config *cfg = pmd_config_new();
    pmd_header *h = NULL;
    pmd_extension *ext = NULL;
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_server_factory sf;
    pmd_client_factory cf;
    pmd_chain *chain = NULL;
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t out_len = 0;

    CHECK_RESULT(pmd_header_parse(v, len, &h), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR(why);
    CHECK(h == NULL);
    CHECK_RESULT(pmd_server_negotiate(cfg, v, len, buf, sizeof buf, &out_len, &ext), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR(why);
    CHECK(ext == NULL);
    CHECK_RESULT(pmd_client_accept(cfg, v, len, &ext), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR(why);
    CHECK(ext == NULL);

    CHECK_OK(pmd_server_factory_permessage_deflate(cfg, &sf));
    CHECK_OK(pmd_negotiator_add_server(neg, &sf));
    CHECK_OK(pmd_client_factory_permessage_deflate(cfg, &cf));
    CHECK_OK(pmd_negotiator_add_client(neg, &cf));
    CHECK_RESULT(pmd_negotiator_server_negotiate(neg, v, len, buf, sizeof buf, &out_len, &chain),
                 PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR(why);
    CHECK(chain == NULL);
    CHECK_RESULT(pmd_negotiator_client_accept(neg, v, len, &chain), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR(why);
    CHECK(chain == NULL);
    pmd_negotiator_free(neg);
    pmd_config_free(cfg);
}

static void test_pathological_headers(void) {
    size_t len;
    char *v;
    pmd_param p;
    size_t out_len = 0;
    char *buf;

    /* 1 MiB: refused from its length. */
    v = repeat("permessage-deflate; client_max_window_bits=", "9", MIB - 43, &len);
    CHECK_EQ(len, MIB);
    refused_everywhere(v, len, "1048576 bytes, at most 65536");

    /* The same 1 MiB as the value of a parameter to build: the length is
     * asked for, then the value is written. */
    p.name = "x";
    p.name_len = 1;
    p.value = v + 43;
    p.value_len = MIB - 43;
    CHECK_RESULT(pmd_header_build("x-ext", 5, &p, 1, NULL, 0, &out_len), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(out_len, strlen("x-ext; x=") + MIB - 43);
    buf = (char *)malloc(out_len + 1);
    CHECK_OK(pmd_header_build("x-ext", 5, &p, 1, buf, out_len + 1, &out_len));
    CHECK(memcmp(buf, "x-ext; x=999", 12) == 0 && buf[out_len] == '\0');
    free(buf);
    free(v);

    /* 10,000 offers (short names keep them under 64 KiB). */
    v = repeat("x", ",x", 9999, &len);
    refused_everywhere(v, len, "more than 1024 elements");
    free(v);

    /* 10,000 parameters in one offer. */
    v = repeat("permessage-deflate", "; a", 10000, &len);
    refused_everywhere(v, len, "more than 1024 parameters");
    free(v);
}

static pmd_extension *ext_new(const pmd_config *cfg, int bits, bool nct) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(nct, nct, bits, bits, cfg, &ext));
    return ext;
}

/* A 32 KiB message, one byte a frame: encoded (every frame sync-flushed)
 * and decoded by the peer frame by frame, then the whole compressed
 * message re-split into one-byte frames and decoded again. */
static void test_one_byte_frames(void) {
    const size_t n = 32 * KIB;
    pmd_config *cfg = pmd_config_new();
    unsigned char *msg = (unsigned char *)malloc(n), *got = (unsigned char *)malloc(n);
    unsigned char *wire = (unsigned char *)malloc(8 * n);
    size_t i, got_len = 0, wire_len = 0, most = 0;
    unsigned seed = 12345;
    pmd_extension *tx = ext_new(cfg, 15, false), *rx = ext_new(cfg, 15, false), *rx2 = ext_new(cfg, 15, false);
    bool ok = true;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        msg[i] = (unsigned char)("abcdefgh {}\"\n"[(seed >> 16) % 13]);
    }
    for (i = 0; i < n && ok; i++) {
        pmd_frame in = {i == 0 ? PMD_OPCODE_TEXT : PMD_OPCODE_CONTINUATION, i + 1 == n, false, false, false,
                        msg + i, 1};
        pmd_frame enc, dec;
        ok = pmd_extension_encode(tx, &in, &enc) == PMD_OK && pmd_extension_decode(rx, &enc, 1, &dec) == PMD_OK;
        if (ok) {
            memcpy(wire + wire_len, enc.data, enc.len);
            wire_len += enc.len;
            memcpy(got + got_len, dec.data, dec.len);
            got_len += dec.len;
        }
        if (i % 1024 == 0) {
            size_t m = pmd_extension_memory_usage(tx) + pmd_extension_memory_usage(rx);
            most = m > most ? m : most;
        }
    }
    CHECK(ok);
    CHECK_BYTES(got, got_len, msg, n);
    CHECK(most <= 512 * KIB);

    /* The compressed payload, one byte a frame, with a per-message limit
     * of exactly the message. */
    CHECK_OK(pmd_extension_set_max_message_size(rx2, n));
    got_len = 0;
    most = 0;
    for (i = 0; i < wire_len && ok; i++) {
        pmd_frame in = {i == 0 ? PMD_OPCODE_TEXT : PMD_OPCODE_CONTINUATION, i + 1 == wire_len, i == 0, false, false,
                        wire + i, 1};
        pmd_frame dec;
        ok = pmd_extension_decode(rx2, &in, SIZE_MAX, &dec) == PMD_OK;
        if (ok) {
            memcpy(got + got_len, dec.data, dec.len);
            got_len += dec.len;
        }
        if (i % 1024 == 0) {
            size_t m = pmd_extension_memory_usage(rx2);
            most = m > most ? m : most;
        }
    }
    CHECK(ok);
    CHECK_BYTES(got, got_len, msg, n);
    CHECK(most <= 64 * KIB);

    pmd_extension_free(tx);
    pmd_extension_free(rx);
    pmd_extension_free(rx2);
    pmd_config_free(cfg);
    free(msg);
    free(got);
    free(wire);
}

/* 12 MiB of zeros, compressed by the library, spread over 10,000
 * continuation frames; a 1 MiB message limit set on the config refuses it
 * on the frame that passes the limit (1009), and every later frame gets the
 * same result without inflating; memory stays under the limit. */
static void test_bomb_over_continuations(void) {
    const size_t total = 12 * MIB, frames = 10000;
    pmd_config *cfg = pmd_config_new();
    unsigned char *zeros = (unsigned char *)calloc(total, 1);
    unsigned char *payload;
    size_t payload_len, i, decoded = 0, failed_at = frames, most = 0;
    size_t decoded_after_error = 0, other_results = 0;
    pmd_extension *tx = ext_new(cfg, 15, false), *rx;
    pmd_frame in = {PMD_OPCODE_BINARY, true, false, false, false, zeros, total}, enc;

    CHECK_OK(pmd_extension_encode(tx, &in, &enc));
    payload_len = enc.len;
    CHECK(payload_len >= frames && payload_len < total / 500);
    payload = (unsigned char *)malloc(payload_len);
    memcpy(payload, enc.data, payload_len);
    pmd_extension_free(tx);
    free(zeros);

    CHECK_OK(pmd_config_set_max_message_size(cfg, MIB));
    rx = ext_new(cfg, 15, false);
    for (i = 0; i < frames; i++) {
        size_t from = i * payload_len / frames, to = (i + 1) * payload_len / frames;
        pmd_frame f = {i == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION, i + 1 == frames, i == 0, false, false,
                       payload + from, to - from};
        pmd_frame out;
        pmd_result r = pmd_extension_decode(rx, &f, SIZE_MAX, &out);
        size_t m = pmd_extension_memory_usage(rx);
        most = m > most ? m : most;
        if (r == PMD_OK) {
            decoded_after_error += failed_at != frames;
            decoded += out.len;
        } else {
            other_results += r != PMD_ERR_PAYLOAD_TOO_BIG;
            if (failed_at == frames) {
                failed_at = i;
                CHECK_LAST_ERROR("message exceeds the max message size of 1048576 bytes");
                CHECK_EQ(pmd_result_close_code(r), 1009);
            }
        }
    }
    printf("bomb: %lu compressed bytes in %lu frames, refused at frame %lu after %lu bytes, at most %lu held\n",
           (unsigned long)payload_len, (unsigned long)frames, (unsigned long)failed_at, (unsigned long)decoded,
           (unsigned long)most);
    CHECK(failed_at < frames / 10);
    CHECK_EQ(decoded_after_error, 0);
    CHECK_EQ(other_results, 0);
    CHECK(decoded <= MIB);
    CHECK(most <= MIB + 64 * KIB);
    pmd_extension_free(rx);
    pmd_config_free(cfg);
    free(payload);
}

int main(void) {
    test_pathological_headers();
    test_one_byte_frames();
    test_bomb_over_continuations();
    return check_finish("test_work_limits");
}
