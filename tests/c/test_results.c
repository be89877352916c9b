/* Result codes, their names and close codes, pmd_version and the
 * thread-local pmd_last_error (docs/errors.md). */
#include <stdio.h>

#include "check.h"

static void test_enum_values(void) {
    CHECK_EQ(PMD_OK, 0);
    CHECK_EQ(PMD_ERR_NULL_POINTER, 1);
    CHECK_EQ(PMD_ERR_INVALID_ARGUMENT, 2);
    CHECK_EQ(PMD_ERR_HEADER_SYNTAX, 3);
    CHECK_EQ(PMD_ERR_NEGOTIATION, 4);
    CHECK_EQ(PMD_ERR_PROTOCOL, 5);
    CHECK_EQ(PMD_ERR_PAYLOAD_TOO_BIG, 6);
    CHECK_EQ(PMD_ERR_CORRUPT_DATA, 7);
    CHECK_EQ(PMD_ERR_BUFFER_TOO_SMALL, 8);
    CHECK_EQ(PMD_ERR_OUT_OF_MEMORY, 9);
    CHECK_EQ(PMD_ERR_INTERNAL, 10);
    CHECK(PMD_MAX_RESPONSE_LEN >= 160);
    CHECK_EQ(PMD_WINDOW_BITS_NO_VALUE, -1);
}

static void test_names_and_close_codes(void) {
    static const struct {
        pmd_result r;
        const char *name;
        unsigned close_code;
    } table[] = {
        {PMD_OK, "PMD_OK", 0},
        {PMD_ERR_NULL_POINTER, "PMD_ERR_NULL_POINTER", 0},
        {PMD_ERR_INVALID_ARGUMENT, "PMD_ERR_INVALID_ARGUMENT", 0},
        {PMD_ERR_HEADER_SYNTAX, "PMD_ERR_HEADER_SYNTAX", 0},
        {PMD_ERR_NEGOTIATION, "PMD_ERR_NEGOTIATION", 0},
        {PMD_ERR_PROTOCOL, "PMD_ERR_PROTOCOL", 1002},
        {PMD_ERR_PAYLOAD_TOO_BIG, "PMD_ERR_PAYLOAD_TOO_BIG", 1009},
        {PMD_ERR_CORRUPT_DATA, "PMD_ERR_CORRUPT_DATA", 1007},
        {PMD_ERR_BUFFER_TOO_SMALL, "PMD_ERR_BUFFER_TOO_SMALL", 0},
        {PMD_ERR_OUT_OF_MEMORY, "PMD_ERR_OUT_OF_MEMORY", 1011},
        {PMD_ERR_INTERNAL, "PMD_ERR_INTERNAL", 1011},
    };
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        CHECK_STR(pmd_result_name(table[i].r), table[i].name);
        CHECK_EQ(pmd_result_close_code(table[i].r), table[i].close_code);
        /* Static strings: the same pointer every time. */
        CHECK(pmd_result_name(table[i].r) == pmd_result_name(table[i].r));
    }
}

static void test_unknown_values(void) {
    /* The Rust side takes a plain int, so any value is defined behaviour. */
    static const int unknown[] = {11, 12, 99, 1000, -1, -99, 0x7fffffff};
    size_t i;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(pmd_result_name((pmd_result)unknown[i]), "PMD_ERR_UNKNOWN");
        CHECK_EQ(pmd_result_close_code((pmd_result)unknown[i]), 0);
    }
}

static void test_version(void) {
    const char *v = pmd_version();
    int major = -1, minor = -1, patch = -1, consumed = 0;
    char expected[64];
    CHECK(v != NULL);
    if (v == NULL) {
        return;
    }
    CHECK_EQ(sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &consumed), 3);
    CHECK_EQ(consumed, strlen(v)); /* nothing after PATCH */
    CHECK_EQ(major, PMD_VERSION_MAJOR);
    CHECK_EQ(minor, PMD_VERSION_MINOR);
    CHECK_EQ(patch, PMD_VERSION_PATCH);
    snprintf(expected, sizeof expected, "%d.%d.%d", PMD_VERSION_MAJOR, PMD_VERSION_MINOR,
             PMD_VERSION_PATCH);
    CHECK_STR(v, expected);
    CHECK_STR(v, PMD_VERSION);
    CHECK(pmd_version() == v);
}

static void test_last_error(void) {
    pmd_config *cfg;
    /* Nothing has failed on this thread yet. */
    CHECK(pmd_last_error() != NULL);
    CHECK_STR(pmd_last_error(), "");

    cfg = pmd_config_new();
    CHECK(cfg != NULL);
    CHECK_RESULT(pmd_config_set_mem_level(cfg, 10), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("pmd_config_set_mem_level");
    CHECK_LAST_ERROR("10");
    /* One line. */
    CHECK(strchr(pmd_last_error(), '\n') == NULL);

    /* A later failure replaces the detail. */
    CHECK_RESULT(pmd_config_set_compress_level(NULL, 1), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("pmd_config_set_compress_level");
    CHECK_LAST_ERROR("cfg");
    pmd_config_free(cfg);
}

int main(void) {
    test_last_error(); /* first: it checks the empty detail of a fresh thread */
    test_enum_values();
    test_names_and_close_codes();
    test_unknown_values();
    test_version();
    return check_finish("test_results");
}
