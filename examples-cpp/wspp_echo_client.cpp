// A websocketpp echo client with permessage-deflate from pmdeflate: the
// client side that websocketpp's own extension lacks. Connects to --url,
// sends text and binary messages of 0 B to 1 MiB, checks every echo byte
// for byte, closes with 1000 and prints one JSON line:
//   {"ok": true, "checked": 14, "response_ext": "...", "negotiated": [l, r, lnct, rnct]}
// or {"ok": false, "error": "..."}.
//   wspp_echo_client --url ws://127.0.0.1:PORT/ [options of wspp_options.hpp]
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include "pmdeflate/websocketpp.hpp"
#include "wspp_options.hpp"

static std::string negotiated = "null";

struct client_settings {
    static pmd::config &config() {
        static pmd::config c;
        return c;
    }
    static void on_enabled(bool, const pmd_negotiated &n) {
        negotiated = "[" + std::to_string(n.local_max_window_bits) + ", " + std::to_string(n.remote_max_window_bits) +
                     ", " + std::to_string(n.local_no_context_takeover) + ", " +
                     std::to_string(n.remote_no_context_takeover) + "]";
    }
    static void on_error(const pmd::failure &f) { std::fprintf(stderr, "pmdeflate: %s\n", f.message().c_str()); }
};

struct deflate_client_config : websocketpp::config::asio_client {
    typedef deflate_client_config type;
    typedef pmd::wspp::permessage_deflate<client_settings> permessage_deflate_type;
};
typedef websocketpp::client<deflate_client_config> client;

// Deterministic messages: text is valid UTF-8 (some multi-byte words),
// binary has runs of repeated and of varying bytes.
static std::string payload(std::size_t size, bool text, std::uint32_t seed) {
    static const char *words[] = {"permessage ", "deflate ", "window ", "bits ", "caf\xc3\xa9 ", "\xe2\x82\xac ",
                                  "\xf0\x9d\x84\x9e ", "context "};
    std::uint32_t x = 2463534242u ^ seed;
    auto step = [&x]() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    std::string s;
    s.reserve(size);
    while (s.size() < size) {
        std::uint32_t v = step();
        if (text) {
            std::string w = words[v % 8];
            if (w.size() > size - s.size()) w.assign(size - s.size(), 'a');
            s += w;
        } else {
            std::size_t run = std::min<std::size_t>(1 + (v >> 8) % 64, size - s.size());
            for (std::size_t k = 0; k < run; k++) s += static_cast<char>((v & 1) ? step() & 0xff : v >> 24);
        }
    }
    return s;
}

static std::string json_escape(const std::string &s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o;
}

int main(int argc, char **argv) {
    wspp_options o = parse_wspp_options(argc, argv, client_settings::config());
    if (o.url.empty()) {
        std::fprintf(stderr, "usage: wspp_echo_client --url ws://HOST:PORT/ [options]\n");
        return 2;
    }
    const std::size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 1048576};
    struct expected {
        std::string data;
        websocketpp::frame::opcode::value op;
    };
    std::vector<expected> plan;
    std::uint32_t seed = 1;
    for (std::size_t size : sizes)
        for (bool text : {true, false})
            plan.push_back({payload(size, text, seed++),
                            text ? websocketpp::frame::opcode::text : websocketpp::frame::opcode::binary});

    client c;
    c.clear_access_channels(websocketpp::log::alevel::all);
    c.clear_error_channels(websocketpp::log::elevel::all);
    c.init_asio();
    c.set_max_message_size(o.max_size);
    std::size_t next = 0, checked = 0;
    std::string error, response_ext;
    bool closed_clean = false;

    auto send_next = [&](websocketpp::connection_hdl h) {
        websocketpp::lib::error_code ec;
        c.send(h, plan[next].data, plan[next].op, ec);
        if (ec) error = "send: " + ec.message();
    };
    c.set_open_handler([&](websocketpp::connection_hdl h) {
        response_ext = c.get_con_from_hdl(h)->get_response_header("Sec-WebSocket-Extensions");
        send_next(h);
    });
    c.set_message_handler([&](websocketpp::connection_hdl h, client::message_ptr msg) {
        const expected &want = plan[next];
        if (msg->get_opcode() != want.op || msg->get_payload() != want.data) {
            error = "echo mismatch: message " + std::to_string(next) + " of " + std::to_string(want.data.size()) +
                    " bytes";
            c.close(h, websocketpp::close::status::normal, "mismatch");
            return;
        }
        checked++;
        if (++next < plan.size()) {
            send_next(h);
        } else {
            websocketpp::lib::error_code ec;
            c.close(h, websocketpp::close::status::normal, "done", ec);
        }
    });
    c.set_close_handler([&](websocketpp::connection_hdl h) {
        auto con = c.get_con_from_hdl(h);
        closed_clean = con->get_remote_close_code() == websocketpp::close::status::normal;
        if (!closed_clean && error.empty())
            error = "closed by the server with " + std::to_string(con->get_remote_close_code()) + " " +
                    con->get_remote_close_reason();
    });
    c.set_fail_handler([&](websocketpp::connection_hdl h) {
        auto con = c.get_con_from_hdl(h);
        error = "connection failed: " + con->get_ec().message();
    });

    websocketpp::lib::error_code ec;
    client::connection_ptr con = c.get_connection(o.url, ec);
    if (ec) {
        std::printf("{\"ok\": false, \"error\": \"%s\"}\n", json_escape(ec.message()).c_str());
        return 1;
    }
    c.connect(con);
    c.run();
    if (error.empty() && (checked != plan.size() || !closed_clean)) error = "incomplete";
    if (!error.empty()) {
        std::printf("{\"ok\": false, \"error\": \"%s\", \"checked\": %zu, \"response_ext\": \"%s\"}\n",
                    json_escape(error).c_str(), checked, json_escape(response_ext).c_str());
        return 1;
    }
    std::printf("{\"ok\": true, \"checked\": %zu, \"response_ext\": \"%s\", \"negotiated\": %s}\n", checked,
                json_escape(response_ext).c_str(), negotiated.c_str());
    return 0;
}
