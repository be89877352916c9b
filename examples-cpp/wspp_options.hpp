// Command-line options shared by the websocketpp examples: the
// permessage-deflate parameters, applied to a pmd::config.
//   --server-max-window-bits N   --client-max-window-bits N (-1: no value)
//   --server-no-context-takeover --client-no-context-takeover
//   --max-size BYTES (the per-message limit, decompressed)
//   --no-compression             (offer / accept nothing)
#ifndef PMD_EXAMPLES_WSPP_OPTIONS_HPP
#define PMD_EXAMPLES_WSPP_OPTIONS_HPP

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pmdeflate.hpp"

struct wspp_options {
    std::string url;
    unsigned short port = 0;
    std::size_t max_size = 4u << 20;
    bool compression = true;
};

// Applies the options to `cfg`; exits with a message on a bad one.
inline wspp_options parse_wspp_options(int argc, char **argv, pmd::config &cfg) {
    wspp_options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        try {
            if (a == "--url") o.url = value();
            else if (a == "--port") o.port = static_cast<unsigned short>(std::atoi(value()));
            else if (a == "--max-size") o.max_size = std::strtoull(value(), nullptr, 10);
            else if (a == "--server-max-window-bits") cfg.set_server_max_window_bits(std::atoi(value()));
            else if (a == "--client-max-window-bits") cfg.set_client_max_window_bits(std::atoi(value()));
            else if (a == "--server-no-context-takeover") cfg.set_server_no_context_takeover(true);
            else if (a == "--client-no-context-takeover") cfg.set_client_no_context_takeover(true);
            else if (a == "--no-compression") o.compression = false;
            else {
                std::fprintf(stderr, "unknown option %s\n", a.c_str());
                std::exit(2);
            }
        } catch (const pmd::error &e) {
            std::fprintf(stderr, "%s: %s\n", a.c_str(), e.what());
            std::exit(2);
        }
    }
    cfg.set_max_message_size(o.max_size);
    return o;
}

#endif
