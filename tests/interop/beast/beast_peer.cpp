// beast_peer - a Boost.Beast WebSocket echo peer for the pmdeflate interop
// tests (tests/interop/interop.py builds and runs it; loopback only).
//
//   beast_peer server --port 0 [pmd options] [--max-size N]
//       prints "listening on PORT", echoes every message (text stays text),
//       and logs each handshake to stderr as
//       "beast server: offer: <Sec-WebSocket-Extensions or (none)>" and
//       "beast server: answer: <status> <Sec-WebSocket-Extensions or (none)>".
//   beast_peer client --url ws://127.0.0.1:PORT/ [pmd options] [--max-size N]
//                     [--oversize N] [--extension-header VALUE]
//       sends text and binary messages of 0..1048576 bytes, whole and in
//       three fragments with a ping between fragments, checks every echo
//       and pong, closes with 1000, then (--oversize) sends one N-byte
//       message on a new connection and reports the close code it gets.
//       Prints one JSON line, as the other peers of the suite do.
//   pmd options: --no-deflate --server-max-window-bits N
//       --client-max-window-bits N --server-no-context-takeover
//       --client-no-context-takeover (boost::beast::websocket::permessage_deflate)
//   beast_peer version
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/version.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using wstream = websocket::stream<tcp::socket>;

struct Opts {
    bool deflate = true, snct = false, cnct = false;
    int smwb = 15, cmwb = 15, port = 0;
    std::size_t max_size = 4u << 20, oversize = 0;
    std::string url, ext_header;
};

static std::string json_str(beast::string_view s)
{
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += char(c);
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
        else o += char(c);
    }
    return o + "\"";
}

static void print_line(std::string const& s) { std::printf("%s\n", s.c_str()); std::fflush(stdout); }

// Deterministic payload of exactly `size` bytes: words (valid UTF-8) for text,
// runs of repeated bytes alternating with runs of pseudo-random bytes for binary.
static std::string payload(std::size_t size, bool text, std::uint32_t seed)
{
    static const char* words[] = {"permessage", "deflate", "window", "bits", "context", "takeover",
                                  "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xce\xbb"};
    std::uint32_t x = 2463534242u ^ seed;
    auto step = [&x] { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x; };
    std::string out;
    out.reserve(size);
    while (out.size() < size) {
        if (text) {
            std::string w = std::string(words[step() % 10]) + " ";
            out += w.size() > size - out.size() ? std::string(size - out.size(), 'a') : w;
        } else {
            std::uint32_t v = step();
            std::size_t run = std::min<std::size_t>(1 + (v >> 8) % 64, size - out.size());
            for (std::size_t k = 0; k < run; k++) out += char((v & 1) ? step() & 0xff : v >> 24);
        }
    }
    return out;
}

static void configure(wstream& ws, Opts const& o, bool server)
{
    websocket::permessage_deflate pmd;   // throws std::invalid_argument below 9 bits
    pmd.server_enable = server && o.deflate;
    pmd.client_enable = !server && o.deflate;
    pmd.server_max_window_bits = o.smwb;
    pmd.client_max_window_bits = o.cmwb;
    pmd.server_no_context_takeover = o.snct;
    pmd.client_no_context_takeover = o.cnct;
    ws.set_option(pmd);
    ws.read_message_max(o.max_size);
}

// ---------------------------------------------------------------------------

static void session(tcp::socket sock, Opts o)
{
    beast::error_code ec;
    wstream ws(std::move(sock));
    configure(ws, o, true);
    ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        auto it = res.find(http::field::sec_websocket_extensions);
        std::fprintf(stderr, "beast server: answer: %u %s\n", res.result_int(),
                     it == res.end() ? "(none)" : std::string(it->value()).c_str());
    }));
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(ws.next_layer(), buf, req, ec);
    if (ec) return;
    auto it = req.find(http::field::sec_websocket_extensions);
    std::fprintf(stderr, "beast server: offer: %s\n", it == req.end() ? "(none)" : std::string(it->value()).c_str());
    ws.accept(req, ec);
    if (ec) { std::fprintf(stderr, "beast server: accept: %s\n", ec.message().c_str()); return; }
    for (;;) {
        buf.clear();
        ws.read(buf, ec);
        if (ec) break;
        ws.text(ws.got_text());
        ws.write(buf.data(), ec);
        if (ec) break;
    }
    std::fprintf(stderr, "beast server: connection ended: %s (close code %u)\n", ec.message().c_str(),
                 unsigned(ws.reason().code));
}

static int run_server(Opts const& o)
{
    {   // let Beast validate the settings up front, as the Python peers do
        net::io_context probe;
        wstream ws(probe);
        try { configure(ws, o, true); } catch (std::exception const& e) {
            print_line(std::string("refused: invalid_argument: ") + e.what());
            return 3;
        }
    }
    net::io_context ioc;
    tcp::acceptor acc(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), (unsigned short)o.port));
    print_line("listening on " + std::to_string(acc.local_endpoint().port()));
    for (;;) {
        tcp::socket s(ioc);
        acc.accept(s);
        std::thread(session, std::move(s), o).detach();
    }
}

// ---------------------------------------------------------------------------

struct Client {
    net::io_context ioc;
    wstream ws{ioc};
    std::vector<std::string> pongs;
};

// Connects and shakes hands; returns "" or a JSON result describing the failure.
static std::string open(Client& c, Opts const& o, std::string& response_ext)
{
    std::string rest = o.url.substr(o.url.find("//") + 2);
    std::string hostport = rest.substr(0, rest.find('/'));
    std::string path = rest.find('/') == std::string::npos ? "/" : rest.substr(rest.find('/'));
    std::string host = hostport.substr(0, hostport.rfind(':')), port = hostport.substr(hostport.rfind(':') + 1);
    try {
        configure(c.ws, o, false);
    } catch (std::exception const& e) {
        return "{\"handshake\": \"refused-by-peer\", \"error\": " + json_str(std::string("invalid_argument: ") + e.what()) + "}";
    }
    std::string extra = o.ext_header;
    c.ws.set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
        if (!extra.empty()) req.set(http::field::sec_websocket_extensions, extra);
    }));
    c.ws.control_callback([&c](websocket::frame_type kind, beast::string_view data) {
        if (kind == websocket::frame_type::pong) c.pongs.emplace_back(data);
    });
    beast::error_code ec;
    tcp::resolver res(c.ioc);
    net::connect(c.ws.next_layer(), res.resolve(host, port, ec), ec);
    if (ec) return "{\"ok\": false, \"error\": " + json_str("connect: " + ec.message()) + "}";
    // The asynchronous handshake, because Boost 1.74's synchronous one hands
    // back no response (no status) when the server declines the upgrade.
    websocket::response_type resp;
    c.ws.async_handshake(resp, hostport, path, [&ec](beast::error_code e) { ec = e; });
    c.ioc.run();
    c.ioc.restart();
    if (ec)
        return "{\"handshake\": \"failed\", \"error\": " + json_str(ec.message()) + ", \"status\": " +
               std::to_string(resp.result_int()) + "}";
    auto it = resp.find(http::field::sec_websocket_extensions);
    response_ext = it == resp.end() ? "" : std::string(it->value());
    return "";
}

static int run_client(Opts const& o)
{
    static const std::size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 1048576};
    Client c;
    std::string ext, err = open(c, o, ext);
    if (!err.empty()) { print_line(err); return 0; }
    auto fail = [](std::string const& why) { print_line("{\"ok\": false, \"error\": " + json_str(why) + "}"); return 1; };
    beast::error_code ec;
    int checked = 0;
    std::uint32_t seed = 1;
    for (std::size_t size : sizes)
        for (bool text : {true, false})
            for (bool frag : {false, true}) {
                std::string data = payload(size, text, seed);
                std::vector<std::string> want;
                c.ws.text(text);
                if (!frag) {
                    c.ws.write(net::buffer(data), ec);
                } else {
                    std::size_t cut[] = {0, size / 3, 2 * size / 3, size};
                    for (int f = 0; f < 3 && !ec; f++) {
                        c.ws.write_some(f == 2, net::buffer(data.data() + cut[f], cut[f + 1] - cut[f]), ec);
                        if (f < 2 && !ec) {
                            want.push_back("ping " + std::to_string(seed) + "." + std::to_string(f));
                            c.ws.ping(websocket::ping_data(want.back().c_str()), ec);
                        }
                    }
                }
                if (ec) return fail("send: " + ec.message());
                beast::flat_buffer buf;
                c.ws.read(buf, ec);
                if (ec) return fail("waiting for echo of " + std::to_string(size) + " bytes: " + ec.message());
                if (c.ws.got_text() != text || beast::buffers_to_string(buf.data()) != data)
                    return fail("echo mismatch size=" + std::to_string(size) + " text=" + std::to_string(text) +
                                " frag=" + std::to_string(frag));
                if (c.pongs != want) return fail("pongs do not match the pings of message " + std::to_string(seed));
                c.pongs.clear();
                checked++;
                seed++;
            }
    c.ws.close(websocket::close_code::normal, ec);
    if (ec || c.ws.reason().code != websocket::close_code::normal)
        return fail("close: " + ec.message() + ", code " + std::to_string(unsigned(c.ws.reason().code)));
    std::string over = "null";
    if (o.oversize) {
        Client c2;
        std::string ext2;
        err = open(c2, o, ext2);
        if (!err.empty()) return fail("oversize connection: " + err);
        c2.ws.text(true);
        c2.ws.write(net::buffer(payload(o.oversize, true, 99)), ec);   // the peer may close meanwhile
        beast::flat_buffer buf;
        while (!ec) c2.ws.read(buf, ec);
        over = std::to_string(unsigned(c2.ws.reason().code));
    }
    print_line("{\"ok\": true, \"checked\": " + std::to_string(checked) + ", \"response_ext\": " + json_str(ext) +
               ", \"oversize_close\": " + over + "}");
    return 0;
}

// ---------------------------------------------------------------------------

int main(int argc, char** argv)
{
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "version") {
        print_line(BOOST_BEAST_VERSION_STRING " (Boost " + std::string(BOOST_LIB_VERSION) + ")");
        return 0;
    }
    Opts o;
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--port") o.port = std::stoi(val());
        else if (a == "--url") o.url = val();
        else if (a == "--no-deflate") o.deflate = false;
        else if (a == "--server-max-window-bits") o.smwb = std::stoi(val());
        else if (a == "--client-max-window-bits") o.cmwb = std::stoi(val());
        else if (a == "--server-no-context-takeover") o.snct = true;
        else if (a == "--client-no-context-takeover") o.cnct = true;
        else if (a == "--max-size") o.max_size = std::stoul(val());
        else if (a == "--oversize") o.oversize = std::stoul(val());
        else if (a == "--extension-header") o.ext_header = val();
        else { std::fprintf(stderr, "beast_peer: unknown option %s\n", a.c_str()); return 2; }
    }
    try {
        if (mode == "server") return run_server(o);
        if (mode == "client") return run_client(o);
    } catch (std::exception const& e) {
        print_line("{\"ok\": false, \"error\": " + json_str(std::string("exception: ") + e.what()) + "}");
        return 1;
    }
    std::fprintf(stderr, "usage: beast_peer server|client|version [options] (see the source)\n");
    return 2;
}
