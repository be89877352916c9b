// A websocketpp echo server with permessage-deflate from pmdeflate
// (include/pmdeflate/websocketpp.hpp). Echoes every message with its
// opcode; closes with 1009 a message that decompresses beyond --max-size.
//   wspp_echo_server [--port N] [options of wspp_options.hpp]
// Prints "listening on PORT", then for each connection what was
// negotiated: "negotiated: local_bits remote_bits local_nct remote_nct" and
// "response: <Sec-WebSocket-Extensions sent>".
#include <cstdio>
#include <string>

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include "pmdeflate/websocketpp.hpp"
#include "wspp_options.hpp"

struct server_settings {
    static pmd::config &config() {
        static pmd::config c;
        return c;
    }
    static void on_enabled(bool, const pmd_negotiated &n) {
        std::printf("negotiated: %d %d %d %d\n", n.local_max_window_bits, n.remote_max_window_bits,
                    n.local_no_context_takeover, n.remote_no_context_takeover);
        std::fflush(stdout);
    }
    static void on_error(const pmd::failure &f) { std::fprintf(stderr, "pmdeflate: %s\n", f.message().c_str()); }
};

struct deflate_config : websocketpp::config::asio {
    typedef deflate_config type;
    typedef pmd::wspp::permessage_deflate<server_settings> permessage_deflate_type;
};
// Without compression: websocketpp's default, the disabled extension.
typedef websocketpp::config::asio plain_config;

template <class Config>
static int serve(const wspp_options &o) {
    typedef websocketpp::server<Config> server;
    server s;
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.set_error_channels(websocketpp::log::elevel::warn | websocketpp::log::elevel::rerror |
                         websocketpp::log::elevel::fatal);
    s.init_asio();
    s.set_reuse_addr(true);
    s.set_max_message_size(o.max_size);
    s.set_open_handler([&s](websocketpp::connection_hdl h) {
        auto con = s.get_con_from_hdl(h);
        std::printf("response: %s\n", con->get_response_header("Sec-WebSocket-Extensions").c_str());
        std::fflush(stdout);
    });
    s.set_message_handler([&s](websocketpp::connection_hdl h, typename server::message_ptr msg) {
        websocketpp::lib::error_code ec;
        s.send(h, msg->get_payload(), msg->get_opcode(), ec);
        if (ec) std::fprintf(stderr, "send: %s\n", ec.message().c_str());
    });
    s.listen("127.0.0.1", std::to_string(o.port));
    s.start_accept();
    websocketpp::lib::asio::error_code ec;
    auto local = s.get_local_endpoint(ec);
    if (ec) {
        std::fprintf(stderr, "listen: %s\n", ec.message().c_str());
        return 1;
    }
    std::printf("listening on %u\n", static_cast<unsigned>(local.port()));
    std::fflush(stdout);
    s.run();
    return 0;
}

int main(int argc, char **argv) {
    wspp_options o = parse_wspp_options(argc, argv, server_settings::config());
    return o.compression ? serve<deflate_config>(o) : serve<plain_config>(o);
}
