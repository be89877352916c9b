// pmd::header, the framework owners (client_factory, server_factory,
// negotiator, chain) in both flavours, a C extension adopted through a
// factory struct, and the ownership of factories that are never added.
#include <cstdint>
#include <string>
#include <vector>

#include "check.hpp"

static void header() {
    pmd::header h = pmd::header::parse("permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", x-a");
    CHECK_EQ(h.size(), 2u);
    CHECK(!h.empty());
    pmd::header_element e = h.at(0);
    CHECK_EQ(e.name, "permessage-deflate");
    std::vector<pmd::param> want = {{"client_max_window_bits", std::nullopt},
                                    {"server_max_window_bits", std::string_view("10")}};
    CHECK(e.params == want);
    CHECK_EQ(h.at(1).name, "x-a");
    CHECK(h.at(1).params.empty());
    CHECK_THROWS(h.at(2), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(pmd::header::parse("a;;"), PMD_ERR_HEADER_SYNTAX);
    CHECK(pmd::header::parse({}).empty());
    CHECK_EQ(pmd::header::build("x-a"), "x-a");
    CHECK_EQ(pmd::header::build("x-a", {{"k", std::nullopt}, {"q", std::string_view("two words")}}),
             "x-a; k; q=\"two words\"");
    CHECK_THROWS(pmd::header::build("bad name"), PMD_ERR_INVALID_ARGUMENT);

    auto nh = pmd::nothrow::header::parse("a, b; c=1");
    CHECK_CODE(nh, PMD_OK);
    CHECK_EQ(nh->size(), 2u);
    auto el = nh->at(1);
    CHECK_CODE(el, PMD_OK);
    CHECK(el->params == (std::vector<pmd::param>{{"c", std::string_view("1")}}));
    CHECK_CODE(nh->at(5), PMD_ERR_INVALID_ARGUMENT);
    auto bad = pmd::nothrow::header::parse("a; b=\"unterminated");
    CHECK_CODE(bad, PMD_ERR_HEADER_SYNTAX);
    CHECK_CODE(pmd::nothrow::header::build("", {}), PMD_ERR_INVALID_ARGUMENT);
    auto built = pmd::nothrow::header::build("b", {{"c", std::string_view("1")}});
    CHECK_EQ(*built, "b; c=1");
    // moves and adoption
    pmd::header m(std::move(h));
    CHECK(!h && m.size() == 2);
    pmd::header adopted(m.release());
    CHECK(!m && adopted.size() == 2);
    adopted.reset();
    CHECK(!adopted && adopted.size() == 0);
    pmd::nothrow::header empty;
    CHECK_CODE(empty.at(0), PMD_ERR_NULL_POINTER);
}

// A C extension "x-flip" (RSV2 marks flipped payloads), stateless, as a
// C user would write it, to check that C factories pass through the
// C++ owners unchanged.
static int flip_encode(void *, const pmd_frame *in, pmd_frame *out);
static int flip_decode(void *, const pmd_frame *in, size_t max_size, pmd_frame *out);
static thread_local std::vector<std::uint8_t> flip_buf_enc, flip_buf_dec;
static const pmd_extension_vtable flip_vtable = {sizeof(pmd_extension_vtable), "x-flip", flip_encode, flip_decode,
                                                 nullptr};

static int flip_encode(void *, const pmd_frame *in, pmd_frame *out) {
    *out = *in;
    if (in->opcode >= 8) return PMD_OK;
    flip_buf_enc.assign(in->data, in->data + in->len);
    for (auto &b : flip_buf_enc) b ^= 0xff;
    out->data = flip_buf_enc.data();
    out->rsv2 = true;
    return PMD_OK;
}
static int flip_decode(void *, const pmd_frame *in, size_t max_size, pmd_frame *out) {
    *out = *in;
    if (!in->rsv2) return PMD_OK;
    if (in->len > max_size) return PMD_ERR_PAYLOAD_TOO_BIG;
    flip_buf_dec.assign(in->data, in->data + in->len);
    for (auto &b : flip_buf_dec) b ^= 0xff;
    out->data = flip_buf_dec.data();
    out->rsv2 = false;
    return PMD_OK;
}

static int destroyed = 0;
static void count_destroy(void *user) {
    destroyed++;
    delete static_cast<int *>(user);
}
static int flip_request(void *, const pmd_param **, size_t *) { return PMD_OK; }
static int flip_response(void *, const pmd_param *, size_t n, const pmd_extension_instance *, size_t,
                         pmd_extension_instance *out) {
    if (n) return PMD_ERR_NEGOTIATION;
    out->vtable = &flip_vtable;
    return PMD_OK;
}
static int flip_serve(void *, const pmd_param *, size_t n, const pmd_extension_instance *, size_t,
                      const pmd_param **, size_t *, pmd_extension_instance *out) {
    if (n) return PMD_ERR_NEGOTIATION;
    out->vtable = &flip_vtable;
    return PMD_OK;
}

static pmd::client_factory flip_client() {
    pmd_client_factory f = {sizeof f, "x-flip", new int(1), flip_request, flip_response, count_destroy};
    return pmd::client_factory(f);
}
static pmd::server_factory flip_server() {
    pmd_server_factory f = {sizeof f, "x-flip", new int(2), flip_serve, count_destroy};
    return pmd::server_factory(f);
}

static void framework_throwing() {
    pmd::config cfg;
    cfg.set_client_max_window_bits(pmd::window_bits_no_value);
    pmd::config scfg;
    scfg.set_server_max_window_bits(11);
    destroyed = 0;
    {
        pmd::negotiator client, server;
        pmd::client_factory cf = pmd::client_factory::permessage_deflate(cfg);
        CHECK(static_cast<bool>(cf));
        CHECK_EQ(cf.name(), "permessage-deflate");
        client.add_client(std::move(cf));
        CHECK(!cf);  // the negotiator owns it now
        CHECK_THROWS(client.add_client(std::move(cf)), PMD_ERR_NULL_POINTER);  // not twice
        client.add_client(flip_client());
        server.add_server(pmd::server_factory::permessage_deflate(scfg));
        server.add_server(flip_server());
        std::string offer = client.client_offer();
        CHECK_EQ(offer, "permessage-deflate; client_max_window_bits, x-flip");
        pmd::chain_agreement a = server.server_negotiate(offer);
        CHECK_EQ(a.response, "permessage-deflate; server_max_window_bits=11, x-flip");
        CHECK_EQ(a.chain.size(), 2u);
        CHECK(a.chain.has_permessage_deflate());
        CHECK(a.chain.names() == (std::vector<std::string_view>{"permessage-deflate", "x-flip"}));
        pmd::chain cc = client.client_accept(a.response);
        CHECK_EQ(cc.size(), 2u);
        pmd_extension_instance i0 = cc.get(0);
        CHECK(i0.vtable == pmd::permessage_deflate_vtable());
        CHECK(cc.get(1).vtable == &flip_vtable);
        CHECK_THROWS(cc.get(2), PMD_ERR_INVALID_ARGUMENT);
        // data both ways, whole messages
        for (std::size_t size : {0u, 5u, 70000u}) {
            std::string msg(size, 'q');
            for (std::size_t i = 0; i < size; i++) msg[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
            pmd::frame w = cc.encode(pmd::frame(pmd::opcode::text, msg));
            CHECK(w.rsv1 && w.rsv2);
            std::string wire = w.payload.to_string();
            pmd::frame in(pmd::opcode::text, wire, true, true);
            in.rsv2 = true;
            pmd::frame p = a.chain.decode(in);
            CHECK(!p.rsv1 && !p.rsv2);
            CHECK_EQ(p.payload.as_string_view(), msg);
        }
        // the chain's per-message limit, and the reserved-bit check
        a.chain.set_max_message_size(4);
        std::string wire = cc.encode(pmd::frame(pmd::opcode::binary, "12345")).payload.to_string();
        pmd::frame in(pmd::opcode::binary, wire, true, true);
        in.rsv2 = true;
        CHECK_THROWS(a.chain.decode(in), PMD_ERR_PAYLOAD_TOO_BIG);
        pmd::chain empty = client.client_accept({});
        CHECK(empty.empty());
        pmd::frame r3(pmd::opcode::text, "x");
        r3.rsv3 = true;
        CHECK_THROWS(empty.decode(r3), PMD_ERR_PROTOCOL);
        CHECK_EQ(empty.encode(pmd::frame(pmd::opcode::text, "x")).payload.as_string_view(), "x");
        // client errors
        CHECK_THROWS(client.client_accept("x-unknown"), PMD_ERR_NEGOTIATION);
        CHECK_THROWS(client.client_accept("permessage-deflate;"), PMD_ERR_HEADER_SYNTAX);
        CHECK_THROWS(server.server_negotiate("x-flip;;"), PMD_ERR_HEADER_SYNTAX);
        // a server config the built-in factory refuses
        CHECK_THROWS(pmd::server_factory::permessage_deflate(cfg), PMD_ERR_INVALID_ARGUMENT);
        // a factory with a bad name is refused and stays owned (then destroyed here)
        pmd_client_factory badf = {sizeof badf, "bad name", new int(3), flip_request, flip_response, count_destroy};
        pmd::client_factory bad(badf);
        CHECK_THROWS(client.add_client(std::move(bad)), PMD_ERR_INVALID_ARGUMENT);
        CHECK(static_cast<bool>(bad));
        CHECK_EQ(destroyed, 0);
    }
    CHECK_EQ(destroyed, 3);  // two added (freed by the negotiators) and the refused one
    // a factory never added frees its user data; the built-in one too (valgrind)
    destroyed = 0;
    { pmd::client_factory unused = flip_client(); }
    { pmd::server_factory unused = pmd::server_factory::permessage_deflate(scfg); }
    CHECK_EQ(destroyed, 1);
    // moved factories keep one owner
    destroyed = 0;
    {
        pmd::server_factory a = flip_server();
        pmd::server_factory b(std::move(a));
        CHECK(!a && static_cast<bool>(b));
        pmd::server_factory c = flip_server();
        c = std::move(b);  // c's first factory destroyed now
        CHECK_EQ(destroyed, 1);
    }
    CHECK_EQ(destroyed, 2);
}

static void framework_nothrow() {
    pmd::nothrow::config cfg;
    auto made = pmd::nothrow::negotiator::create();
    CHECK_CODE(made, PMD_OK);
    pmd::nothrow::negotiator client = std::move(made).value();
    pmd::nothrow::negotiator server;
    auto cf = pmd::nothrow::client_factory::permessage_deflate(cfg);
    CHECK_CODE(cf, PMD_OK);
    CHECK_CODE(client.add_client(std::move(cf).value()), PMD_OK);
    auto sf = pmd::nothrow::server_factory::permessage_deflate(cfg);
    CHECK_CODE(server.add_server(std::move(sf).value()), PMD_OK);
    auto offer = client.client_offer();
    CHECK_EQ(*offer, "permessage-deflate");
    auto a = server.server_negotiate(*offer);
    CHECK_CODE(a, PMD_OK);
    CHECK_EQ(a->response, "permessage-deflate");
    auto cc = client.client_accept(a->response);
    CHECK_CODE(cc, PMD_OK);
    auto w = cc->encode(pmd::frame(pmd::opcode::text, "hello hello"));
    CHECK_CODE(w, PMD_OK);
    std::string wire = w->payload.to_string();
    auto p = a->chain.decode(pmd::frame(pmd::opcode::text, wire, true, true));
    CHECK_CODE(p, PMD_OK);
    CHECK_EQ(p->payload.as_string_view(), "hello hello");
    auto bad = a->chain.decode(pmd::frame(pmd::opcode::ping, "", true, true));
    CHECK_CODE(bad, PMD_ERR_PROTOCOL);
    CHECK_EQ(bad.error().close_code(), 1002);
    CHECK_CODE(a->chain.decode(pmd::frame(pmd::opcode::text, "x")), PMD_ERR_PROTOCOL);  // sticky
    CHECK_CODE(a->chain.set_max_message_size(10), PMD_OK);
    CHECK_CODE(cc->get(0), PMD_OK);
    CHECK_CODE(cc->get(1), PMD_ERR_INVALID_ARGUMENT);
    CHECK_CODE(client.client_accept("x-nope"), PMD_ERR_NEGOTIATION);
    // an empty negotiator: NULL_POINTER, and the factory stays owned
    pmd::nothrow::negotiator gone(std::move(server));
    CHECK(!server && static_cast<bool>(gone));
    destroyed = 0;
    pmd_server_factory raw = {sizeof raw, "x-flip", new int(4), flip_serve, count_destroy};
    pmd::nothrow::server_factory keep(raw);
    CHECK_CODE(server.add_server(std::move(keep)), PMD_ERR_NULL_POINTER);
    CHECK(static_cast<bool>(keep));
    CHECK_CODE(server.client_offer(), PMD_ERR_NULL_POINTER);
    CHECK_CODE(server.server_negotiate("x"), PMD_ERR_NULL_POINTER);
    // to the throwing flavour: the same chain
    pmd::chain thrown(std::move(cc).value());
    CHECK_EQ(thrown.size(), 1u);
    pmd_chain *rc = thrown.release();
    pmd::nothrow::chain adopted(rc);
    CHECK_EQ(adopted.size(), 1u);
    adopted.reset();
    CHECK(!adopted);
    pmd_negotiator *rn = gone.release();
    pmd::negotiator back(rn);
    back.reset();
}

int main() {
    header();
    framework_throwing();
    framework_nothrow();
    CHECK_EQ(destroyed, 1);  // `keep` freed its user data at the end of framework_nothrow
    return check::finish("test_framework");
}
