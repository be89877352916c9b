/* pmd_config: defaults, every setter's range, and "a value out of range
 * returns PMD_ERR_INVALID_ARGUMENT and leaves the config unchanged"
 * (docs/negotiation.md, "The configuration"). The config has no getters, so what it holds is observed
 * through the offer it produces and through the compression it drives. */
#include <limits.h>

#include "check.h"

/* The client offer of cfg, into buf (PMD_MAX_RESPONSE_LEN bytes). */
static const char *offer(const pmd_config *cfg, char *buf) {
    size_t len = 0;
    buf[0] = '\0';
    CHECK_OK(pmd_client_offer(cfg, buf, PMD_MAX_RESPONSE_LEN, &len));
    CHECK_EQ(len, strlen(buf));
    return buf;
}

/* Compressed size of 4000 bytes of 'a' under cfg's compression settings. */
static size_t compressed_size(const pmd_config *cfg) {
    unsigned char data[4000];
    pmd_extension *ext = NULL;
    pmd_frame in, out;
    size_t n = 0;
    memset(data, 'a', sizeof data);
    if (!CHECK_OK(pmd_extension_new(false, false, 15, 15, cfg, &ext))) {
        return 0;
    }
    in = frame_make(PMD_OPCODE_BINARY, true, data, sizeof data);
    if (CHECK_OK(pmd_extension_encode(ext, &in, &out))) {
        n = out.len;
    }
    pmd_extension_free(ext);
    return n;
}

/* Memory held after one message under cfg (context takeover: the deflate
 * stream stays allocated). */
static size_t memory_after_message(const pmd_config *cfg) {
    pmd_extension *ext = NULL;
    pmd_frame in, out;
    size_t n;
    if (!CHECK_OK(pmd_extension_new(false, false, 15, 15, cfg, &ext))) {
        return 0;
    }
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    n = pmd_extension_memory_usage(ext);
    pmd_extension_free(ext);
    return n;
}

static void test_defaults(void) {
    char buf[PMD_MAX_RESPONSE_LEN];
    pmd_config *cfg = pmd_config_new();
    size_t n = 99;
    CHECK(cfg != NULL);
    CHECK_STR(offer(cfg, buf), "permessage-deflate");
    CHECK_OK(pmd_client_request_params(cfg, NULL, 0, &n));
    CHECK_EQ(n, 0);
    pmd_config_free(cfg);
}

static void test_window_bits_setters(void) {
    char buf[PMD_MAX_RESPONSE_LEN], want[PMD_MAX_RESPONSE_LEN];
    static const int bad_server[] = {-1, -2, 1, 7, 16, 255, INT_MIN, INT_MAX};
    static const int bad_client[] = {-2, 1, 7, 16, 255, INT_MIN, INT_MAX};
    pmd_config *cfg = pmd_config_new();
    int bits;
    size_t i;

    for (bits = 8; bits <= 15; bits++) {
        CHECK_OK(pmd_config_set_server_max_window_bits(cfg, bits));
        snprintf(want, sizeof want, "permessage-deflate; server_max_window_bits=%d", bits);
        CHECK_STR(offer(cfg, buf), want);
    }
    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, 0));
    CHECK_STR(offer(cfg, buf), "permessage-deflate");

    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, 11));
    for (i = 0; i < sizeof bad_server / sizeof bad_server[0]; i++) {
        char num[32];
        CHECK_RESULT(pmd_config_set_server_max_window_bits(cfg, bad_server[i]),
                     PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("server_max_window_bits");
        snprintf(num, sizeof num, "%d", bad_server[i]);
        CHECK_LAST_ERROR(num);
        CHECK_STR(offer(cfg, buf), "permessage-deflate; server_max_window_bits=11");
    }
    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, 0));

    for (bits = 8; bits <= 15; bits++) {
        CHECK_OK(pmd_config_set_client_max_window_bits(cfg, bits));
        snprintf(want, sizeof want, "permessage-deflate; client_max_window_bits=%d", bits);
        CHECK_STR(offer(cfg, buf), want);
    }
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, PMD_WINDOW_BITS_NO_VALUE));
    CHECK_STR(offer(cfg, buf), "permessage-deflate; client_max_window_bits");
    for (i = 0; i < sizeof bad_client / sizeof bad_client[0]; i++) {
        CHECK_RESULT(pmd_config_set_client_max_window_bits(cfg, bad_client[i]),
                     PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("client_max_window_bits");
        CHECK_STR(offer(cfg, buf), "permessage-deflate; client_max_window_bits");
    }
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 9));
    CHECK_RESULT(pmd_config_set_client_max_window_bits(cfg, 16), PMD_ERR_INVALID_ARGUMENT);
    CHECK_STR(offer(cfg, buf), "permessage-deflate; client_max_window_bits=9");
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 0));
    CHECK_STR(offer(cfg, buf), "permessage-deflate");
    pmd_config_free(cfg);
}

static void test_flags_and_order(void) {
    char buf[PMD_MAX_RESPONSE_LEN];
    pmd_config *cfg = pmd_config_new();
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, true));
    CHECK_STR(offer(cfg, buf), "permessage-deflate; server_no_context_takeover");
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, false));
    CHECK_OK(pmd_config_set_client_no_context_takeover(cfg, true));
    CHECK_STR(offer(cfg, buf), "permessage-deflate; client_no_context_takeover");
    /* Set in reverse order; the offer keeps its fixed order (docs/negotiation.md). */
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 12));
    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, 10));
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, true));
    CHECK_STR(offer(cfg, buf),
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=10; client_max_window_bits=12");
    /* require and require_client_max_window_bits are server-only: the
     * client's offer does not change. */
    CHECK_OK(pmd_config_set_require(cfg, true));
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, true));
    CHECK_STR(offer(cfg, buf),
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=10; client_max_window_bits=12");
    CHECK_OK(pmd_config_set_client_no_context_takeover(cfg, false));
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, false));
    CHECK_STR(offer(cfg, buf),
              "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12");
    pmd_config_free(cfg);
}

static void test_compress_level(void) {
    pmd_config *cfg = pmd_config_new();
    static const int bad[] = {-2, 10, 100, INT_MIN, INT_MAX};
    int level;
    size_t i, stored, deflated;
    for (level = -1; level <= 9; level++) {
        CHECK_OK(pmd_config_set_compress_level(cfg, level));
    }
    /* Level 0 stores: the output is larger than the input. */
    CHECK_OK(pmd_config_set_compress_level(cfg, 0));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RESULT(pmd_config_set_compress_level(cfg, bad[i]), PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("level");
    }
    stored = compressed_size(cfg);
    CHECK(stored >= 4000);
    CHECK_OK(pmd_config_set_compress_level(cfg, -1));
    deflated = compressed_size(cfg);
    CHECK(deflated > 0 && deflated < 100);
    pmd_config_free(cfg);
}

static void test_strategy(void) {
    pmd_config *cfg = pmd_config_new();
    static const int bad[] = {-1, 5, 100, INT_MIN, INT_MAX};
    static const int good[] = {PMD_STRATEGY_DEFAULT, PMD_STRATEGY_FILTERED,
                               PMD_STRATEGY_HUFFMAN_ONLY, PMD_STRATEGY_RLE, PMD_STRATEGY_FIXED};
    size_t i, huffman, dflt;
    CHECK_EQ(PMD_STRATEGY_DEFAULT, 0);
    CHECK_EQ(PMD_STRATEGY_FILTERED, 1);
    CHECK_EQ(PMD_STRATEGY_HUFFMAN_ONLY, 2);
    CHECK_EQ(PMD_STRATEGY_RLE, 3);
    CHECK_EQ(PMD_STRATEGY_FIXED, 4);
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_OK(pmd_config_set_strategy(cfg, good[i]));
    }
    /* Huffman-only finds no repeats: at least one bit per input byte. */
    CHECK_OK(pmd_config_set_strategy(cfg, PMD_STRATEGY_HUFFMAN_ONLY));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RESULT(pmd_config_set_strategy(cfg, bad[i]), PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("strategy");
    }
    huffman = compressed_size(cfg);
    CHECK(huffman >= 4000 / 8);
    CHECK_OK(pmd_config_set_strategy(cfg, PMD_STRATEGY_DEFAULT));
    dflt = compressed_size(cfg);
    CHECK(dflt > 0 && dflt < 100);
    pmd_config_free(cfg);
}

static void test_mem_level(void) {
    pmd_config *cfg = pmd_config_new();
    static const int bad[] = {0, -1, 10, INT_MIN, INT_MAX};
    int level;
    size_t i, small, dflt;
    for (level = 1; level <= 9; level++) {
        CHECK_OK(pmd_config_set_mem_level(cfg, level));
    }
    CHECK_OK(pmd_config_set_mem_level(cfg, 1));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RESULT(pmd_config_set_mem_level(cfg, bad[i]), PMD_ERR_INVALID_ARGUMENT);
        CHECK_LAST_ERROR("mem_level");
    }
    /* memLevel 1 needs 2^10 bytes of hash and buffers, memLevel 8 needs
     * 2^17: about 127 KiB less. */
    small = memory_after_message(cfg);
    CHECK_OK(pmd_config_set_mem_level(cfg, 8));
    dflt = memory_after_message(cfg);
    CHECK(small > 0);
    CHECK(small + 100 * 1024 < dflt);
    /* The default config behaves like memLevel 8. */
    pmd_config_free(cfg);
    cfg = pmd_config_new();
    CHECK_EQ(memory_after_message(cfg), dflt);
    CHECK_EQ(memory_after_message(NULL), dflt);
    pmd_config_free(cfg);
}

static void test_server_only_settings(void) {
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len = 77;
    pmd_extension *ext = NULL;
    pmd_config *cfg = pmd_config_new();
    const char *none = "x-other";

    CHECK_OK(pmd_config_set_require(cfg, true));
    CHECK_RESULT(pmd_server_negotiate(cfg, none, strlen(none), buf, sizeof buf, &len, &ext),
                 PMD_ERR_NEGOTIATION);
    CHECK_OK(pmd_config_set_require(cfg, false));
    CHECK_OK(pmd_server_negotiate(cfg, none, strlen(none), buf, sizeof buf, &len, &ext));
    CHECK(ext == NULL);
    CHECK_EQ(len, 0);

    /* require_client_max_window_bits without client_max_window_bits. */
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, true));
    CHECK_RESULT(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, &len, &ext),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("require_client_max_window_bits");
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, false));
    CHECK_OK(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, &len, &ext));
    CHECK(ext != NULL);
    pmd_extension_free(ext);
    pmd_config_free(cfg);
}

static void test_null_config(void) {
    /* Every setter refuses NULL and names it. */
    CHECK_RESULT(pmd_config_set_server_no_context_takeover(NULL, true), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_client_no_context_takeover(NULL, true), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_server_max_window_bits(NULL, 10), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_client_max_window_bits(NULL, 10), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_compress_level(NULL, 1), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_mem_level(NULL, 1), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_strategy(NULL, 1), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_require(NULL, true), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_config_set_require_client_max_window_bits(NULL, true), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    /* NULL is checked before the value: an invalid value with NULL is NULL. */
    CHECK_RESULT(pmd_config_set_server_max_window_bits(NULL, 99), PMD_ERR_NULL_POINTER);
    pmd_config_free(NULL);
    CHECK(1); /* reached: pmd_config_free(NULL) is a no-op */
}

static void test_extension_outlives_config(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = NULL;
    pmd_frame in, out;
    static const unsigned char hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    CHECK_OK(pmd_config_set_compress_level(cfg, 6));
    CHECK_OK(pmd_client_accept(cfg, "permessage-deflate", 18, &ext));
    pmd_config_free(cfg);
    CHECK(ext != NULL);
    if (ext == NULL) {
        return;
    }
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(ext, &in, &out));
    CHECK_BYTES(out.data, out.len, hello, sizeof hello);
    pmd_extension_free(ext);
}

int main(void) {
    test_defaults();
    test_window_bits_setters();
    test_flags_and_order();
    test_compress_level();
    test_strategy();
    test_mem_level();
    test_server_only_settings();
    test_null_config();
    test_extension_outlives_config();
    return check_finish("test_config");
}
