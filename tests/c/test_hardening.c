/*
 * test_hardening.c - inputs a careless or unusual C caller can produce:
 * bool fields holding bytes other than 0 and 1, NULL with a length, one
 * variable passed for two out-pointers, calls from a thread-exit
 * destructor (after the library's thread-locals are gone), and buffer
 * sizes when a small message follows a big one.
 */
#include <pthread.h>

#include "check.h"

/* A pmd_frame whose bool fields hold `byte` (as after a memcpy from a
 * wire struct or a union). */
static pmd_frame frame_with_bool_bytes(uint8_t opcode, unsigned char byte, const void *data, size_t len) {
    pmd_frame f = frame_make(opcode, true, data, len);
    memcpy(&f.fin, &byte, 1);
    return f;
}

static void test_bool_bytes_other_than_one_count_as_true(void) {
    pmd_extension *tx = NULL, *rx = NULL;
    static const unsigned char rfc_hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &rx));
    for (int round = 0; round < 3; round++) {
        /* fin holds 2: a final frame, so the message ends and the next
           text frame starts a new one. */
        pmd_frame in = frame_with_bool_bytes(PMD_OPCODE_TEXT, 2, "Hello", 5), out;
        CHECK_OK(pmd_extension_encode(tx, &in, &out));
        unsigned char fin_byte;
        memcpy(&fin_byte, &out.fin, 1);
        CHECK_EQ(fin_byte, 1);
        CHECK(out.rsv1);
        if (round == 0) CHECK_BYTES(out.data, out.len, rfc_hello, sizeof rfc_hello);
        /* The receiver gets rsv1 as the byte 0x80 and fin as 0xff. */
        pmd_frame wire = out, plain;
        unsigned char rsv = 0x80, fin = 0xff;
        memcpy(&wire.rsv1, &rsv, 1);
        memcpy(&wire.fin, &fin, 1);
        CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &plain));
        CHECK_SPAN((const char *)plain.data, plain.len, "Hello");
    }
    /* A control frame whose rsv1 byte is 4 is RSV1 set: PROTOCOL. */
    pmd_frame ping = frame_make(PMD_OPCODE_PING, true, "p", 1), out;
    unsigned char four = 4;
    memcpy(&ping.rsv1, &four, 1);
    CHECK_RESULT(pmd_extension_decode(rx, &ping, SIZE_MAX, &out), PMD_ERR_PROTOCOL);
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

static void test_null_with_a_length_is_not_an_absent_header(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = (pmd_extension *)&ext; /* must stay untouched */
    CHECK_RESULT(pmd_client_accept(cfg, NULL, 5, &ext), PMD_ERR_NULL_POINTER);
    CHECK(ext == (pmd_extension *)&ext);
    CHECK_LAST_ERROR("response");
    CHECK_OK(pmd_client_accept(cfg, NULL, 0, &ext));
    CHECK(ext == NULL);
    pmd_config_free(cfg);
}

static void test_one_variable_for_both_lengths(void) {
    pmd_header *h = NULL;
    const char *value = "permessage-deflate; client_max_window_bits";
    CHECK_OK(pmd_header_parse(value, strlen(value), &h));
    const char *name = NULL;
    const pmd_param *params = NULL;
    size_t shared = 0;
    CHECK_OK(pmd_header_get(h, 0, &name, &shared, &params, &shared));
    CHECK_EQ(shared, 1); /* n_params is written last */
    CHECK(strcmp(name, "permessage-deflate") == 0);
    CHECK_SPAN(params[0].name, params[0].name_len, "client_max_window_bits");
    pmd_header_free(h);
}

/* Runs after the thread's Rust thread-locals may be gone. */
static pthread_key_t key;
static int destructor_ran;
static pmd_result destructor_result;

static void at_thread_exit(void *arg) {
    pmd_config *cfg = (pmd_config *)arg;
    /* A failing call records its detail in a thread-local. */
    destructor_result = pmd_config_set_compress_level(cfg, 99);
    (void)pmd_last_error();
    pmd_extension *ext = NULL;
    if (pmd_extension_new(false, false, 15, 15, cfg, &ext) == PMD_OK) {
        pmd_frame in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5), out;
        (void)pmd_extension_encode(ext, &in, &out);
        pmd_extension_free(ext);
    }
    pmd_config_free(cfg);
    destructor_ran = 1;
}

static void *thread_main(void *arg) {
    pthread_setspecific(key, arg);
    /* Touch the library's thread-locals on this thread first. */
    (void)pmd_config_set_mem_level((pmd_config *)arg, 0);
    return NULL;
}

static void test_calls_from_a_thread_exit_destructor(void) {
    CHECK_EQ(pthread_key_create(&key, at_thread_exit), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, thread_main, pmd_config_new()), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(destructor_ran);
    CHECK_EQ(destructor_result, PMD_ERR_INVALID_ARGUMENT);
    pthread_key_delete(key);
}

static void test_a_small_message_after_a_big_one_does_not_grow_memory(void) {
    pmd_extension *tx = NULL, *rx = NULL;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &rx));
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)"abcdefgh"[(i * 7 + i / 13) % 8];
    pmd_frame in = frame_make(PMD_OPCODE_BINARY, true, big, sizeof big), out, plain;
    CHECK_OK(pmd_extension_encode(tx, &in, &out));
    CHECK_OK(pmd_extension_decode(rx, &out, SIZE_MAX, &plain));
    CHECK_EQ(plain.len, sizeof big);
    size_t after_big = pmd_extension_memory_usage(rx);
    in = frame_make(PMD_OPCODE_TEXT, true, "Hello", 5);
    CHECK_OK(pmd_extension_encode(tx, &in, &out));
    CHECK_OK(pmd_extension_decode(rx, &out, SIZE_MAX, &plain));
    CHECK_SPAN((const char *)plain.data, plain.len, "Hello");
    CHECK(pmd_extension_memory_usage(rx) <= after_big);
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

int main(void) {
    test_bool_bytes_other_than_one_count_as_true();
    test_null_with_a_length_is_not_an_absent_header();
    test_one_variable_for_both_lengths();
    test_calls_from_a_thread_exit_destructor();
    test_a_small_message_after_a_big_one_does_not_grow_memory();
    return check_finish("test_hardening");
}
