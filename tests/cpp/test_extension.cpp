// pmd::extension and pmd::nothrow::extension: round trips of every size
// class, text and binary, whole and fragmented, control frames, every
// decode error with its close code (thrown and returned), sticky errors,
// limits, negotiated(), memory_usage(), create(), moves between flavours.
#include <cstdint>
#include <string>
#include <vector>

#include "check.hpp"

static std::vector<std::uint8_t> data_of(std::size_t n, std::uint32_t seed, bool text) {
    std::vector<std::uint8_t> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = text ? static_cast<std::uint8_t>('a' + (x % 7)) : static_cast<std::uint8_t>(x >> (i % 3 ? 24 : 8));
    }
    return v;
}

static std::pair<pmd::extension, pmd::extension> pair_of(const char *offer_cfg_bits = nullptr) {
    pmd::config cc, sc;
    if (offer_cfg_bits) cc.set_client_max_window_bits(std::stoi(offer_cfg_bits));
    pmd::server_agreement a = sc.server_negotiate(cc.client_offer());
    return {cc.client_accept(a.response), std::move(a.extension)};
}

static void round_trips() {
    auto [client, server] = pair_of();
    std::uint32_t seed = 1;
    for (std::size_t size : {0u, 1u, 125u, 126u, 4096u, 65535u, 65536u, 300000u}) {
        for (bool text : {true, false}) {
            std::vector<std::uint8_t> msg = data_of(size, seed++, text);
            std::uint8_t op = text ? pmd::opcode::text : pmd::opcode::binary;
            // whole, client to server
            pmd::frame wire = client.encode_message(op, msg);
            CHECK(wire.rsv1 && wire.fin && wire.opcode == op);
            std::vector<std::uint8_t> copy = wire.payload.to_vector();
            pmd::frame plain = server.decode(pmd::frame(op, copy, true, true));
            CHECK(!plain.rsv1 && plain.fin && plain.opcode == op);
            CHECK(plain.payload == pmd::bytes_view(msg));
            // fragmented in three, server to client
            std::size_t cut1 = size / 3, cut2 = 2 * size / 3;
            std::vector<std::uint8_t> got;
            for (int f = 0; f < 3; f++) {
                std::size_t from = f == 0 ? 0 : f == 1 ? cut1 : cut2, to = f == 0 ? cut1 : f == 1 ? cut2 : size;
                pmd::frame in(f == 0 ? op : pmd::opcode::continuation, pmd::bytes_view(msg.data() + from, to - from),
                              f == 2);
                pmd::frame out = server.encode(in);
                CHECK_EQ(out.rsv1, f == 0);
                std::vector<std::uint8_t> w = out.payload.to_vector();
                pmd::frame back = client.decode(pmd::frame(out.opcode, w, out.fin, out.rsv1));
                got.insert(got.end(), back.payload.begin(), back.payload.end());
                // a ping between fragments passes through, same bytes
                pmd::frame ping(pmd::opcode::ping, "ping");
                pmd::frame pe = server.encode(ping);
                CHECK(pe.payload.data() == ping.payload.data() && !pe.rsv1);
                CHECK(client.decode(pe).payload == pmd::bytes_view("ping"));
            }
            CHECK(got == msg);
        }
    }
    // an uncompressed message passes through the decoder untouched
    pmd::frame raw(pmd::opcode::text, "plain");
    pmd::frame out = server.decode(raw);
    CHECK(out.payload.data() == raw.payload.data());
    CHECK_EQ(out.payload.as_string_view(), "plain");
    CHECK_EQ(out.payload.to_string(), "plain");
    CHECK(client.memory_usage() > 0);
    CHECK_EQ(client.name(), "permessage-deflate");
    // compaction: the streams go, the history (takeover) stays, and the
    // next messages still round-trip.
    std::size_t held = client.memory_usage();
    client.compact();
    server.compact();
    CHECK(client.memory_usage() < held);
    CHECK(client.memory_usage() > 0);
    for (int i = 0; i < 3; i++) {
        pmd::frame w = client.encode_message(pmd::opcode::text, "after compaction");
        CHECK_EQ(server.decode(w).payload.as_string_view(), "after compaction");
        server.compact();
    }
}

// The RFC 7692 example: "Hello" compresses to f2 48 cd c9 c9 07 00.
static void rfc_vector() {
    pmd::extension e = pmd::extension::create(false, false, 15, 15);
    pmd::frame w = e.encode_message(pmd::opcode::text, "Hello");
    const std::uint8_t want[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    CHECK(w.payload == pmd::bytes_view(want, sizeof want));
    pmd::extension d = pmd::extension::create(false, false, 15, 15);
    CHECK_EQ(d.decode(pmd::frame(pmd::opcode::text, pmd::bytes_view(want, sizeof want), true, true))
                 .payload.as_string_view(),
             "Hello");
}

static const std::uint8_t corrupt[] = {0xff, 0xff, 0xff, 0xff};

static void decode_errors_throwing() {
    pmd::config cfg;
    cfg.set_max_message_size(1000);
    // create() with a config and with invalid bits
    CHECK_THROWS(pmd::extension::create(false, false, 7, 15), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(pmd::extension::create(false, false, 15, 16, cfg), PMD_ERR_INVALID_ARGUMENT);
    pmd::extension e = pmd::extension::create(false, false, 15, 15, cfg);
    pmd::extension enc = pmd::extension::create(false, false, 15, 15);
    std::vector<std::uint8_t> big = data_of(1001, 3, true);
    std::vector<std::uint8_t> w = enc.encode_message(pmd::opcode::text, big).payload.to_vector();
    // over the config's per-message limit: 1009
    CHECK_THROWS(e.decode(pmd::frame(pmd::opcode::text, w, true, true)), PMD_ERR_PAYLOAD_TOO_BIG);
    // sticky
    CHECK_THROWS(e.decode(pmd::frame(pmd::opcode::text, "x")), PMD_ERR_PAYLOAD_TOO_BIG);

    pmd::extension p = pmd::extension::create(false, false, 15, 15);
    // RSV1 on a control frame: 1002
    CHECK_THROWS(p.decode(pmd::frame(pmd::opcode::ping, "", true, true)), PMD_ERR_PROTOCOL);
    pmd::extension c = pmd::extension::create(false, false, 15, 15);
    // invalid DEFLATE: 1007
    CHECK_THROWS(c.decode(pmd::frame(pmd::opcode::binary, pmd::bytes_view(corrupt, 4), true, true)),
                 PMD_ERR_CORRUPT_DATA);
    // max_size of one call
    pmd::extension m = pmd::extension::create(false, false, 15, 15);
    std::vector<std::uint8_t> w2 = enc.encode_message(pmd::opcode::binary, data_of(100, 4, false)).payload.to_vector();
    CHECK_THROWS(m.decode(pmd::frame(pmd::opcode::binary, w2, true, true), 99), PMD_ERR_PAYLOAD_TOO_BIG);
    // encode side: a continuation with no message in progress
    CHECK_THROWS(enc.encode(pmd::frame(pmd::opcode::continuation, "x")), PMD_ERR_INVALID_ARGUMENT);
    // per-extension limit, and its effect
    pmd::extension l = pmd::extension::create(false, false, 15, 15);
    l.set_max_message_size(100);
    pmd::extension enc2 = pmd::extension::create(false, false, 15, 15);
    std::vector<std::uint8_t> w3 = enc2.encode_message(pmd::opcode::binary, data_of(100, 5, false)).payload.to_vector();
    CHECK_EQ(l.decode(pmd::frame(pmd::opcode::binary, w3, true, true)).payload.size(), 100u);
    std::vector<std::uint8_t> w4 = enc2.encode_message(pmd::opcode::binary, data_of(101, 6, false)).payload.to_vector();
    CHECK_THROWS(l.decode(pmd::frame(pmd::opcode::binary, w4, true, true)), PMD_ERR_PAYLOAD_TOO_BIG);
    // an empty extension: NULL_POINTER
    pmd::extension empty;
    CHECK_THROWS(empty.encode_message(pmd::opcode::text, "x"), PMD_ERR_NULL_POINTER);
    CHECK_THROWS(empty.negotiated(), PMD_ERR_NULL_POINTER);
    CHECK_THROWS(empty.set_max_message_size(1), PMD_ERR_NULL_POINTER);
    CHECK_EQ(empty.memory_usage(), 0u);
}

static void decode_errors_nothrow() {
    auto made = pmd::nothrow::extension::create(true, true, 9, 8);
    CHECK_CODE(made, PMD_OK);
    pmd::nothrow::extension e = std::move(made).value();
    auto n = e.negotiated();
    CHECK_CODE(n, PMD_OK);
    CHECK(n->remote_no_context_takeover && n->local_no_context_takeover);
    CHECK_EQ(n->remote_max_window_bits, 9);
    CHECK_EQ(n->local_max_window_bits, 8);
    auto r = e.decode(pmd::frame(pmd::opcode::binary, pmd::bytes_view(corrupt, 4), true, true));
    CHECK_CODE(r, PMD_ERR_CORRUPT_DATA);
    CHECK_EQ(r.error().close_code(), 1007);
    CHECK(r.error().detail().find("pmd_extension_decode") == 0);
    CHECK(r.error().message().find("PMD_ERR_CORRUPT_DATA: pmd_extension_decode") == 0);
    CHECK_CODE(e.decode(pmd::frame(pmd::opcode::text, "x")), PMD_ERR_CORRUPT_DATA);  // sticky
    // the encode side still works, with window bits 8
    auto w = e.encode_message(pmd::opcode::text, "hello hello hello");
    CHECK_CODE(w, PMD_OK);
    CHECK(w->rsv1);
    CHECK_CODE(pmd::nothrow::extension::create(false, false, 15, 3), PMD_ERR_INVALID_ARGUMENT);
    auto p = pmd::nothrow::extension::create(false, false, 15, 15);
    CHECK_CODE(p->decode(pmd::frame(pmd::opcode::continuation, "x", true, true)), PMD_ERR_PROTOCOL);
    CHECK_EQ(pmd::close_code(PMD_ERR_PROTOCOL), 1002);
    CHECK_CODE(p->set_max_message_size(5), PMD_OK);
    pmd::nothrow::extension empty;
    CHECK_CODE(empty.decode(pmd::frame()), PMD_ERR_NULL_POINTER);
    CHECK_CODE(empty.encode(pmd::frame()), PMD_ERR_NULL_POINTER);
}

static void moves() {
    auto [a, b] = pair_of("12");
    pmd_extension *raw = a.native();
    pmd::extension moved(std::move(a));
    CHECK(!a && moved.native() == raw);
    pmd::extension other = pmd::extension::create(false, false, 15, 15);
    other = std::move(moved);  // frees other's old extension
    CHECK(!moved && other.native() == raw);
    // the extension works after the moves
    pmd::frame w = other.encode_message(pmd::opcode::text, "after the move");
    std::vector<std::uint8_t> copy = w.payload.to_vector();
    CHECK_EQ(b.decode(pmd::frame(pmd::opcode::text, copy, true, true)).payload.as_string_view(), "after the move");
    // to the other flavour and back
    pmd::nothrow::extension n(std::move(other));
    CHECK(!other && n.native() == raw);
    CHECK_EQ(n.negotiated()->local_max_window_bits, 12);
    pmd::extension back(std::move(n));
    CHECK(back.native() == raw);
    // release and re-adopt, reset
    pmd_extension *r = back.release();
    CHECK(!back);
    pmd::extension adopted(r);
    adopted.reset();
    CHECK(!adopted);
    adopted.reset(pmd::extension::create(false, false, 15, 15).release());
    CHECK(static_cast<bool>(adopted));
    pmd::extension &alias = adopted;
    adopted = std::move(alias);
    CHECK(static_cast<bool>(adopted));
}

static void views() {
    std::string s = "abc";
    pmd::bytes_view v(s);
    CHECK_EQ(v.size(), 3u);
    CHECK_EQ(v[1], 'b');
    CHECK(!v.empty());
    CHECK(pmd::bytes_view().empty());
    CHECK(pmd::bytes_view() == pmd::bytes_view(""));
    CHECK(pmd::bytes_view("abd") != v);
    std::vector<std::uint8_t> bytes = {1, 2, 3};
    CHECK_EQ(pmd::bytes_view(bytes).to_vector(), bytes);
    pmd::frame f(pmd::opcode::binary, bytes, false, true);
    pmd_frame c = f.to_c();
    CHECK(c.data == bytes.data() && c.len == 3 && !c.fin && c.rsv1 && c.opcode == PMD_OPCODE_BINARY);
    pmd::frame g = pmd::frame::from_c(c);
    CHECK(g.payload == f.payload && g.fin == f.fin && g.rsv1 == f.rsv1);
}

int main() {
    round_trips();
    rfc_vector();
    decode_errors_throwing();
    decode_errors_nothrow();
    moves();
    views();
    return check::finish("test_extension");
}
