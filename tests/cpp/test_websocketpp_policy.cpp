// pmd::wspp::permessage_deflate driven as websocketpp's hybi13 processor
// drives it, without sockets: negotiation on both sides through
// websocketpp's own header parser, messages cut into every kind of piece
// (including pieces that look like the tail), errors and their close codes,
// and both directions against websocketpp's own permessage-deflate
// (extensions::permessage_deflate::enabled, zlib) in the same process.
#include <sstream>

#include <websocketpp/http/request.hpp>
#include <websocketpp/processors/base.hpp>
// websocketpp's own permessage-deflate needs the http types declared first
#include <websocketpp/extensions/permessage_deflate/enabled.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "check.hpp"
#include "pmdeflate/websocketpp.hpp"

namespace http = websocketpp::http;
namespace perr = websocketpp::processor::error;

static int enabled_server = 0, enabled_client = 0, errors_seen = 0;
static pmd_negotiated last_negotiated;

struct server_settings {
    static pmd::config &config() {
        static pmd::config c;
        return c;
    }
    static void on_enabled(bool is_server, const pmd_negotiated &n) {
        (is_server ? enabled_server : enabled_client)++;
        last_negotiated = n;
    }
    static void on_error(const pmd::failure &f) {
        errors_seen++;
        std::fprintf(stderr, "  (server policy: %s)\n", f.message().c_str());
    }
};
struct client_settings {
    static pmd::config &config() {
        static pmd::config c;
        return c;
    }
    static void on_error(const pmd::failure &f) { std::fprintf(stderr, "  (client policy: %s)\n", f.message().c_str()); }
};
using server_policy = pmd::wspp::permessage_deflate<server_settings>;
using client_policy = pmd::wspp::permessage_deflate<client_settings>;

// What hybi13 does with a header value: websocketpp's parser, one element.
static http::parameter_list parse(const std::string &value) {
    http::parser::request req;
    req.replace_header("Sec-WebSocket-Extensions", value);
    http::parameter_list p;
    bool error = req.get_header_as_plist("Sec-WebSocket-Extensions", p);
    check::that(!error, __FILE__, __LINE__, "websocketpp parses " + value);
    return p;
}

// hybi13's negotiate_extensions_helper, for one side.
template <class Policy>
static std::pair<websocketpp::lib::error_code, std::string> negotiate_like_hybi13(Policy &pol, const std::string &header,
                                                                                 bool is_server) {
    std::pair<websocketpp::lib::error_code, std::string> ret;
    for (auto &el : parse(header)) {
        if (el.first != "permessage-deflate" || pol.is_enabled()) continue;
        auto neg = pol.negotiate(el.second);
        if (neg.first) continue;
        auto ec = pol.init(is_server);
        if (ec) {
            ret.first = ec;
            break;
        }
        ret.second += neg.second;
        break;
    }
    return ret;
}

static std::string text(std::size_t n, unsigned seed) {
    std::string s(n, ' ');
    unsigned x = seed * 2654435761u + 7;
    for (std::size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s[i] = "permessage deflate window bits "[x % 31];
    }
    return s;
}

// hybi13's prepare_data_frame: compress, strip four bytes.
template <class P>
static std::string wire_of(P &sender, const std::string &msg) {
    std::string o;
    auto ec = sender.compress(msg, o);
    check::that(!ec && o.size() >= 4, __FILE__, __LINE__, "compress");
    o.resize(o.size() - 4);
    return o;
}

// hybi13's consume + finalize_message: pieces, then the tail.
template <class P>
static websocketpp::lib::error_code receive(P &receiver, const std::string &wire, const std::vector<std::size_t> &cuts,
                                            std::string &out) {
    std::vector<std::uint8_t> buf(wire.begin(), wire.end());
    std::size_t from = 0;
    for (std::size_t i = 0; i <= cuts.size(); i++) {
        std::size_t to = i < cuts.size() ? cuts[i] : buf.size();
        if (to > buf.size()) return perr::make_error_code(perr::invalid_arguments);  // a test bug
        if (to > from) {
            auto ec = receiver.decompress(buf.data() + from, to - from, out);
            if (ec) return ec;
        }
        from = to;
    }
    std::uint8_t trailer[4] = {0x00, 0x00, 0xff, 0xff};
    return receiver.decompress(trailer, 4, out);
}

static void negotiation_and_data() {
    client_settings::config().set_client_max_window_bits(pmd::window_bits_no_value);
    client_settings::config().set_client_no_context_takeover(true);
    server_settings::config().set_server_max_window_bits(10);
    server_settings::config().set_max_message_size(1 << 20);
    server_policy server;
    client_policy client;
    CHECK(server.is_implemented() && client.is_implemented());
    std::string offer = client.generate_offer();
    CHECK_EQ(offer, "permessage-deflate; client_no_context_takeover; client_max_window_bits");
    auto s = negotiate_like_hybi13(server, offer, true);
    CHECK(!s.first);
    CHECK_EQ(s.second, "permessage-deflate; client_no_context_takeover; server_max_window_bits=10");
    CHECK(server.is_enabled());
    CHECK_EQ(enabled_server, 1);
    CHECK_EQ(last_negotiated.local_max_window_bits, 10);
    CHECK(last_negotiated.remote_no_context_takeover);
    auto c = negotiate_like_hybi13(client, s.second, false);
    CHECK(!c.first);
    CHECK(client.is_enabled());
    CHECK_EQ(client.extension().negotiated()->remote_max_window_bits, 10);

    // messages both ways, whole and in pieces of every kind
    unsigned seed = 1;
    for (std::size_t size : {0u, 1u, 200u, 5000u, 70000u}) {
        std::string msg = text(size, seed++);
        for (int how = 0; how < 4; how++) {
            auto cuts_for = [how](const std::string &w) {
                std::vector<std::size_t> cuts;
                if (how == 1)
                    for (std::size_t k = 1; k < w.size(); k++) cuts.push_back(k);  // one byte at a time
                if (how == 2)
                    for (std::size_t k = 1000; k < w.size(); k += 1000) cuts.push_back(k);
                if (how == 3 && w.size() > 2) cuts = {w.size() / 2};
                return cuts;
            };
            std::string w = wire_of(client, msg);
            std::string got;
            auto ec = receive(server, w, cuts_for(w), got);
            CHECK(!ec);
            CHECK(got == msg);
            std::string back = wire_of(server, msg);
            std::string got2;
            CHECK(!receive(client, back, cuts_for(back), got2));
            CHECK(got2 == msg);
        }
    }
}

// A sender that fragments and keeps each fragment's flush tail, cut so
// that a piece is exactly 00 00 ff ff in the middle of a message, with
// no_context_takeover on the sender's side (the receiver resets per message).
static void tail_lookalike_pieces() {
    server_policy server;
    client_policy client;
    (void)client.generate_offer();
    auto s = negotiate_like_hybi13(server, "permessage-deflate; client_no_context_takeover", true);
    CHECK(!s.first && server.is_enabled());
    pmd::extension sender = pmd::extension::create(false, true, 15, 15);
    for (int round = 0; round < 3; round++) {
        std::string a = text(3000, 100 + round), b = text(3000, 200 + round), whole = a + b;
        pmd::frame f1 = sender.encode(pmd::frame(pmd::opcode::text, a, false));
        std::string w1 = f1.payload.to_string();
        pmd::frame f2 = sender.encode(pmd::frame(pmd::opcode::continuation, b, true));
        std::string w2 = f2.payload.to_string();
        CHECK(w1.size() > 4 && w1.compare(w1.size() - 4, 4, std::string("\0\0\xff\xff", 4)) == 0);
        std::string wire = w1 + w2;
        // pieces: ..., the 4 tail bytes of fragment 1 alone, ...
        std::string got;
        CHECK(!receive(server, wire, {w1.size() - 4, w1.size()}, got));
        CHECK(got == whole);
        // and a message whose only first piece is a lookalike
        std::string got2;
        // (each encode's output is valid until the next encode: copy it)
        std::string e1 = sender.encode(pmd::frame(pmd::opcode::text, "", false)).payload.to_string();
        CHECK_EQ(e1, std::string("\0\0\0\xff\xff", 5));
        std::string ew = e1 + sender.encode(pmd::frame(pmd::opcode::continuation, "xyz", true)).payload.to_string();
        std::vector<std::size_t> cuts = {1, 5};
        CHECK(!receive(server, ew, cuts, got2));
        CHECK_EQ(got2, "xyz");
        // a sender that kept the tail on its final frame, that tail a piece
        std::string kept = sender.encode(pmd::frame(pmd::opcode::binary, whole)).payload.to_string() +
                           std::string("\0\0\xff\xff", 4);
        std::string got3;
        CHECK(!receive(server, kept, {kept.size() - 4}, got3));
        CHECK(got3 == whole);
    }
    // and a message after it ends the last one cleanly
    std::string after = sender.encode(pmd::frame(pmd::opcode::binary, "after")).payload.to_string(), got4;
    CHECK(!receive(server, after, {}, got4));
    CHECK_EQ(got4, "after");
}

// Against websocketpp's own implementation (zlib), both directions.
struct stock_cfg {};
static void against_stock() {
    using stock = websocketpp::extensions::permessage_deflate::enabled<stock_cfg>;
    // stock server, our client
    {
        stock srv;
        client_policy cli;
        std::string offer = cli.generate_offer();
        std::pair<websocketpp::lib::error_code, std::string> neg;
        for (auto &el : parse(offer)) neg = srv.negotiate(el.second);
        CHECK(!neg.first);
        CHECK(!srv.init(true));
        CHECK(!negotiate_like_hybi13(cli, neg.second, false).first);
        CHECK(cli.is_enabled());
        unsigned seed = 50;
        for (std::size_t size : {0u, 3u, 1000u, 100000u}) {
            std::string msg = text(size, seed++), o;
            srv.compress(msg, o);  // the stock one: "02 00 00 00 ff ff" for empty
            o.resize(o.size() - 4);
            std::string got;
            CHECK(!receive(cli, o, {}, got));
            CHECK(got == msg);
            std::string w = wire_of(cli, msg), back;
            w += std::string("\0\0\xff\xff", 4);
            CHECK(!srv.decompress(reinterpret_cast<const std::uint8_t *>(w.data()), w.size(), back));
            CHECK(back == msg);
        }
    }
    // stock client (it offers and then "negotiates" the response), our server
    {
        stock cli;
        server_policy srv;
        auto s = negotiate_like_hybi13(srv, cli.generate_offer(), true);
        CHECK(!s.first && srv.is_enabled());
        for (auto &el : parse(s.second)) CHECK(!cli.negotiate(el.second).first);
        CHECK(!cli.init(false));
        for (std::size_t size : {0u, 10u, 40000u}) {
            std::string msg = text(size, 9), o, got;
            cli.compress(msg, o);
            o.resize(o.size() - 4);
            CHECK(!receive(srv, o, {o.size() / 3}, got));
            CHECK(got == msg);
        }
    }
}

static void errors() {
    // a client rejects a response that breaks its rules: init fails
    {
        client_policy cli;
        (void)cli.generate_offer();
        auto r = negotiate_like_hybi13(cli, "permessage-deflate; server_max_window_bits=7", false);
        CHECK(static_cast<bool>(r.first));
        CHECK_EQ(r.first.category().name(), std::string("pmdeflate.permessage-deflate"));
        CHECK_EQ(r.first.value(), static_cast<int>(PMD_ERR_NEGOTIATION));
        CHECK(!cli.is_enabled());
        auto r2 = negotiate_like_hybi13(cli, "permessage-deflate; client_max_window_bits=10", false);
        CHECK(static_cast<bool>(r2.first));  // not offered by a client config without it
    }
    // a server declines what it cannot accept and takes the next offer
    {
        server_policy srv;
        auto r = negotiate_like_hybi13(srv, "permessage-deflate; x=1, permessage-deflate; server_no_context_takeover",
                                       true);
        CHECK(!r.first);
        CHECK_EQ(r.second, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
        server_policy none;
        auto n = negotiate_like_hybi13(none, "permessage-deflate; x=1", true);
        CHECK(!n.first && n.second.empty() && !none.is_enabled());
        std::string out;
        CHECK(static_cast<bool>(none.compress("x", out)));  // not enabled: refused
        CHECK(out.empty());
    }
    // the role: a server policy asked to init as a client
    {
        server_policy srv;
        auto neg = srv.negotiate(parse("permessage-deflate")[0].second);
        CHECK(!neg.first);
        CHECK(static_cast<bool>(srv.init(false)));
    }
    // decode errors map to processor codes, hence close codes
    {
        server_policy srv;
        CHECK(!negotiate_like_hybi13(srv, "permessage-deflate", true).first);
        const std::uint8_t junk[] = {0xff, 0xff, 0xff};
        std::string out;
        int before = errors_seen;
        auto ec = srv.decompress(junk, 3, out);
        CHECK(ec == perr::make_error_code(perr::invalid_payload));
        CHECK_EQ(perr::to_ws(ec), 1007);
        CHECK(errors_seen == before + 1);
    }
    {
        server_policy srv;
        client_policy cli;
        (void)cli.generate_offer();
        auto s = negotiate_like_hybi13(srv, "permessage-deflate", true);
        CHECK(!negotiate_like_hybi13(cli, s.second, false).first);
        std::string big = text((1 << 20) + 1, 77), got;
        auto ec = receive(srv, wire_of(cli, big), {}, got);
        CHECK(ec == perr::make_error_code(perr::message_too_big));
        CHECK_EQ(perr::to_ws(ec), 1009);
    }
}

int main() {
    negotiation_and_data();
    tail_lookalike_pieces();
    against_stock();
    errors();
    return check::finish("test_websocketpp_policy");
}
