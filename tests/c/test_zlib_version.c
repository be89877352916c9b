/* pmd_zlib_version(): the zlib linked into the library.
 *
 *   test_zlib_version            the default build: the system zlib, whose
 *                                version is the ZLIB_VERSION of its zlib.h
 *   test_zlib_version zlib-ng    a build with the cargo feature zlib-ng:
 *                                the version names zlib-ng
 *
 * Either way a message survives a round trip through that zlib.
 */
#include <zlib.h>

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
    } else {
        CHECK_STR(v, ZLIB_VERSION);
        CHECK(strstr(v, "zlib-ng") == NULL);
    }
    round_trip();
    return check_finish("test_zlib_version");
}
