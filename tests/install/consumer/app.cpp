// The installed library from C++17: <pmdeflate.h> inside a C++ program,
// handles owned by std::unique_ptr, a message as a std::string. It prints
// the library's version and what happened; tests/install/run.sh checks it.
#include <pmdeflate.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

struct ConfigFree {
    void operator()(pmd_config *c) const { pmd_config_free(c); }
};
struct ExtensionFree {
    void operator()(pmd_extension *e) const { pmd_extension_free(e); }
};
using Config = std::unique_ptr<pmd_config, ConfigFree>;
using Extension = std::unique_ptr<pmd_extension, ExtensionFree>;

int fail(const char *what, pmd_result r) {
    std::fprintf(stderr, "app_cpp: %s: %s %s\n", what, pmd_result_name(r), pmd_last_error());
    return 1;
}

}  // namespace

int main() {
    Config cfg(pmd_config_new());
    if (!cfg) return fail("pmd_config_new", PMD_ERR_OUT_OF_MEMORY);
    pmd_result r = pmd_config_set_server_max_window_bits(cfg.get(), 10);
    if (r != PMD_OK) return fail("server_max_window_bits", r);

    std::string offer(PMD_MAX_RESPONSE_LEN, '\0'), response(PMD_MAX_RESPONSE_LEN, '\0');
    std::size_t len = 0;
    if ((r = pmd_client_offer(cfg.get(), &offer[0], offer.size(), &len)) != PMD_OK) return fail("offer", r);
    offer.resize(len);

    pmd_extension *raw = nullptr;
    r = pmd_server_negotiate(cfg.get(), offer.data(), offer.size(), &response[0], response.size(), &len, &raw);
    Extension server(raw);
    if (r != PMD_OK || !server) return fail("negotiate", r);
    response.resize(len);
    raw = nullptr;
    r = pmd_client_accept(cfg.get(), response.data(), response.size(), &raw);
    Extension client(raw);
    if (r != PMD_OK || !client) return fail("accept", r);

    std::string message;
    for (int i = 0; i < 1000; i++) message += "Hello from C++, message " + std::to_string(i % 7) + ". ";
    pmd_frame in{PMD_OPCODE_BINARY, true, false, false, false,
                 reinterpret_cast<const std::uint8_t *>(message.data()), message.size()};
    pmd_frame wire, plain;
    if ((r = pmd_extension_encode(client.get(), &in, &wire)) != PMD_OK) return fail("encode", r);
    if ((r = pmd_extension_decode(server.get(), &wire, SIZE_MAX, &plain)) != PMD_OK) return fail("decode", r);
    std::string back(reinterpret_cast<const char *>(plain.data), plain.len);
    if (back != message) return fail("round trip differs", PMD_ERR_INTERNAL);

    std::printf("library %s: \"%s\", %zu bytes in %zu on the wire\n", pmd_version(), response.c_str(),
                message.size(), static_cast<std::size_t>(wire.len));
    return 0;
}
