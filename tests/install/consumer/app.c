/* A program that uses pmdeflate as an installed library: it includes
 * <pmdeflate.h> from the include directory that pkg-config or CMake gives,
 * and nothing from the source tree. It negotiates both sides, sends a
 * message split into three frames, checks that the receiving side gets it
 * back byte for byte, and prints the versions of the header and of the
 * library it runs with, which tests/install/run.sh compares with Cargo.toml. */
#include <pmdeflate.h>
#include <stdio.h>
#include <string.h>

#define FAIL(...) do { fprintf(stderr, "app: " __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

int main(void) {
    char offer[PMD_MAX_RESPONSE_LEN], response[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, response_len = 0, sent = 0, received = 0, i;
    pmd_config *cfg = pmd_config_new();
    pmd_extension *client = NULL, *server = NULL;
    pmd_result r;
    static char message[3 * 4096], got[sizeof message];

    if (cfg == NULL) FAIL("pmd_config_new");
    for (i = 0; i < sizeof message; i++) message[i] = "permessage-deflate "[i % 19];
    if (pmd_client_offer(cfg, offer, sizeof offer, &offer_len) != PMD_OK) FAIL("offer");
    r = pmd_server_negotiate(cfg, offer, offer_len, response, sizeof response, &response_len, &server);
    if (r != PMD_OK || server == NULL) FAIL("negotiate: %s %s", pmd_result_name(r), pmd_last_error());
    r = pmd_client_accept(cfg, response, response_len, &client);
    if (r != PMD_OK || client == NULL) FAIL("accept: %s %s", pmd_result_name(r), pmd_last_error());

    for (i = 0; i < 3; i++) {
        pmd_frame in, wire, plain;
        memset(&in, 0, sizeof in);
        in.opcode = i == 0 ? PMD_OPCODE_TEXT : PMD_OPCODE_CONTINUATION;
        in.fin = i == 2;
        in.data = (const uint8_t *)message + i * 4096;
        in.len = 4096;
        if (pmd_extension_encode(client, &in, &wire) != PMD_OK) FAIL("encode: %s", pmd_last_error());
        if (wire.rsv1 != (i == 0)) FAIL("frame %u: rsv1 %d", (unsigned)i, (int)wire.rsv1);
        sent += wire.len;
        r = pmd_extension_decode(server, &wire, sizeof got - received, &plain);
        if (r != PMD_OK) FAIL("decode: %s %s", pmd_result_name(r), pmd_last_error());
        memcpy(got + received, plain.data, plain.len);
        received += plain.len;
    }
    if (received != sizeof message || memcmp(got, message, sizeof message) != 0)
        FAIL("received %zu bytes, not the %zu sent", received, sizeof message);

    printf("header %s (%d.%d.%d) library %s: \"%s\" -> \"%.*s\", %zu bytes in %zu on the wire\n",
           PMD_VERSION, PMD_VERSION_MAJOR, PMD_VERSION_MINOR, PMD_VERSION_PATCH, pmd_version(),
           offer, (int)response_len, response, received, sent);
    pmd_extension_free(client);
    pmd_extension_free(server);
    pmd_config_free(cfg);
    return 0;
}
