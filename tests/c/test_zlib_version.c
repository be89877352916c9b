/* pmd_zlib_version(): the zlib linked into the library.
 *
 *   test_zlib_version            the default build: the system zlib, whose
 *                                version is the ZLIB_VERSION of its zlib.h
 *   test_zlib_version zlib-ng    a build with the cargo feature zlib-ng:
 *                                the version names zlib-ng
 *   test_zlib_version bundled    the Windows DLL, zlib compiled in: a zlib
 *                                version, not zlib-ng (built with
 *                                PMD_TEST_NO_ZLIB_H: there is no zlib.h)
 *
 * Either way a message survives a round trip through that zlib.
 */
#ifndef PMD_TEST_NO_ZLIB_H
#include <zlib.h>
#endif

#include "check.h"

static void round_trip(void) {
    static const char text[] = "the zlib linked into pmdeflate, the zlib linked into pmdeflate";
    pmd_extension *tx = NULL, *rx = NULL;
    pmd_frame in = frame_make(PMD_OPCODE_TEXT, true, text, sizeof text - 1), wire, out;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &tx));
    CHECK_OK(pmd_extension_new(false, false, 15, 15, NULL, &rx));
    CHECK_OK(pmd_extension_encode(tx, &in, &wire));
    CHECK(wire.rsv1 && wire.len < sizeof text - 1);
    CHECK_OK(pmd_extension_decode(rx, &wire, SIZE_MAX, &out));
    CHECK_BYTES(out.data, out.len, text, sizeof text - 1);
    pmd_extension_free(tx);
    pmd_extension_free(rx);
}

int main(int argc, char **argv) {
    const char *v = pmd_zlib_version();
    CHECK(v != NULL && v == pmd_zlib_version());
    printf("pmd_zlib_version() = \"%s\"\n", v ? v : "(null)");
    if (argc > 1 && strcmp(argv[1], "zlib-ng") == 0) {
        CHECK_CONTAINS(v, "zlib-ng");
    } else if (argc > 1 && strcmp(argv[1], "bundled") == 0) {
        CHECK(v != NULL && v[0] >= '1' && v[0] <= '9' && strchr(v, '.') != NULL);
        CHECK(v != NULL && strstr(v, "zlib-ng") == NULL);
    } else {
#ifdef PMD_TEST_NO_ZLIB_H
        CHECK(!"without zlib.h the expected version must be named: bundled or zlib-ng");
#else
        CHECK_STR(v, ZLIB_VERSION);
        CHECK(strstr(v, "zlib-ng") == NULL);
#endif
    }
    round_trip();
    return check_finish("test_zlib_version");
}
