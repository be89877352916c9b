// pmd::encoder and pmd::nothrow::encoder (pmd_encoder_*), and
// extension::can_send_shared: one encode decoded by several connections,
// the truth table, errors thrown and returned, moves.
#include <cstdint>
#include <string>
#include <vector>

#include "check.hpp"

// A connection whose server sends with window `bits` (nct when asked).
static std::pair<pmd::extension, pmd::extension> connect_pair(int bits, bool nct) {
    pmd::config cc, sc;
    cc.set_server_max_window_bits(bits);
    cc.set_server_no_context_takeover(nct);
    pmd::server_agreement a = sc.server_negotiate(cc.client_offer());
    return {std::move(a.extension), cc.client_accept(a.response)};
}

static void broadcast() {
    std::string msg;
    for (int i = 0; i < 2000; i++) msg += "broadcast " + std::to_string(i % 37) + " ";
    pmd::encoder enc = pmd::encoder::create(11);
    pmd::frame wire = enc.encode_message(pmd::opcode::text, msg);
    CHECK(wire.rsv1 && wire.fin && wire.payload.size() < msg.size() / 4);
    std::vector<std::uint8_t> copy = wire.payload.to_vector();
    for (int bits = 8; bits <= 15; bits++) {
        auto [server, client] = connect_pair(bits, true);
        CHECK_EQ(server.can_send_shared(enc), bits >= 11);
        if (bits < 11) continue;
        pmd::frame got = client.decode(pmd::frame(pmd::opcode::text, copy, true, true));
        CHECK(got.payload == pmd::bytes_view(msg));
        // the connection's own messages still arrive
        pmd::frame own = server.encode_message(pmd::opcode::text, "own");
        std::vector<std::uint8_t> w = own.payload.to_vector();
        CHECK(client.decode(pmd::frame(pmd::opcode::text, w, true, true)).payload == pmd::bytes_view("own"));
    }
    auto [takeover, peer] = connect_pair(15, false);
    CHECK(!takeover.can_send_shared(enc));
    CHECK(!takeover.can_send_shared(pmd::encoder()));
    CHECK(!pmd::extension().can_send_shared(enc));
}

static void errors_and_moves() {
    CHECK_THROWS(pmd::encoder::create(7), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(pmd::encoder::create(16), PMD_ERR_INVALID_ARGUMENT);
    CHECK_CODE(pmd::nothrow::encoder::create(0), PMD_ERR_INVALID_ARGUMENT);
    pmd::config cfg;
    cfg.set_compress_level(9);
    pmd::result<pmd::nothrow::encoder> r = pmd::nothrow::encoder::create(8, cfg);
    CHECK(r.ok());
    pmd::nothrow::encoder e = std::move(r).value();
    pmd::frame bad(pmd::opcode::text, "x", true, true);
    CHECK_CODE(e.encode(bad), PMD_ERR_INVALID_ARGUMENT);
    CHECK(e.encode_message(pmd::opcode::binary, "ok").ok());
    pmd::encoder thrower(std::move(e));
    CHECK(!e && thrower);
    CHECK_THROWS(thrower.encode(bad), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(pmd::encoder().encode_message(pmd::opcode::text, "x"), PMD_ERR_NULL_POINTER);
    pmd_encoder *raw = thrower.release();
    CHECK(!thrower);
    thrower.reset(raw);
    CHECK(thrower.native() == raw);
}

int main() {
    broadcast();
    errors_and_moves();
    return check::finish("test_shared_encoder");
}
