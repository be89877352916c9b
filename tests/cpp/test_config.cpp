// pmd::config and pmd::nothrow::config: every setter, both negotiation
// sides (whole headers and parameter lists), the results and exceptions of
// both flavours, pmd::result itself, and the free functions.
#include <string>
#include <type_traits>
#include <vector>

#include "check.hpp"

static void free_functions() {
    CHECK_EQ(pmd::result_name(PMD_ERR_NEGOTIATION), "PMD_ERR_NEGOTIATION");
    CHECK_EQ(pmd::result_name(static_cast<pmd_result>(99)), "PMD_ERR_UNKNOWN");
    CHECK_EQ(pmd::close_code(PMD_ERR_PROTOCOL), 1002);
    CHECK_EQ(pmd::close_code(PMD_ERR_CORRUPT_DATA), 1007);
    CHECK_EQ(pmd::close_code(PMD_ERR_PAYLOAD_TOO_BIG), 1009);
    CHECK_EQ(pmd::close_code(PMD_ERR_OUT_OF_MEMORY), 1011);
    CHECK_EQ(pmd::close_code(PMD_ERR_NEGOTIATION), 0);
    std::string v = std::to_string(PMD_VERSION_MAJOR) + "." + std::to_string(PMD_VERSION_MINOR) + "." +
                    std::to_string(PMD_VERSION_PATCH);
    CHECK_EQ(pmd::version(), v);
    CHECK(pmd::permessage_deflate_vtable() != nullptr);
    CHECK_EQ(std::string(pmd::permessage_deflate_vtable()->name), "permessage-deflate");
    CHECK_EQ(pmd::max_response_len, static_cast<std::size_t>(PMD_MAX_RESPONSE_LEN));
}

static void setters_throwing() {
    pmd::config c;
    CHECK(static_cast<bool>(c));
    CHECK_NOTHROW(c.set_server_no_context_takeover(true));
    CHECK_NOTHROW(c.set_client_no_context_takeover(true));
    CHECK_NOTHROW(c.set_server_max_window_bits(10));
    CHECK_NOTHROW(c.set_client_max_window_bits(pmd::window_bits_no_value));
    CHECK_NOTHROW(c.set_compress_level(9));
    CHECK_NOTHROW(c.set_mem_level(5));
    CHECK_NOTHROW(c.set_strategy(pmd::strategy::filtered));
    CHECK_NOTHROW(c.set_require(false));
    CHECK_NOTHROW(c.set_require_client_max_window_bits(false));
    CHECK_NOTHROW(c.set_max_message_size(1 << 20));
    CHECK_NOTHROW(c.set_strict_window(true));
    CHECK_NOTHROW(c.set_compress_threshold(64));
    CHECK(pmd::linked_zlib_version() == pmd_zlib_version() && !pmd::linked_zlib_version().empty());
    CHECK_EQ(c.client_offer(),
             "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
             "server_max_window_bits=10; client_max_window_bits");
    CHECK_THROWS(c.set_server_max_window_bits(16), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(c.set_server_max_window_bits(7), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(c.set_client_max_window_bits(-2), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(c.set_compress_level(10), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(c.set_mem_level(0), PMD_ERR_INVALID_ARGUMENT);
    CHECK_THROWS(c.set_strategy(5), PMD_ERR_INVALID_ARGUMENT);
    // unchanged by the refused calls
    CHECK_EQ(c.client_offer(),
             "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
             "server_max_window_bits=10; client_max_window_bits");
    // the error's detail names the function, and std::runtime_error works
    try {
        c.set_mem_level(42);
        CHECK(false);
    } catch (const std::runtime_error &e) {
        std::string what = e.what();
        CHECK(what.find("PMD_ERR_INVALID_ARGUMENT: pmd_config_set_mem_level") == 0);
    }
}

static void setters_nothrow() {
    auto made = pmd::nothrow::config::create();
    CHECK(made.ok());
    pmd::nothrow::config c = std::move(made).value();
    CHECK_CODE(c.set_server_no_context_takeover(false), PMD_OK);
    CHECK_CODE(c.set_client_no_context_takeover(false), PMD_OK);
    CHECK_CODE(c.set_server_max_window_bits(0), PMD_OK);
    CHECK_CODE(c.set_client_max_window_bits(12), PMD_OK);
    CHECK_CODE(c.set_compress_level(-1), PMD_OK);
    CHECK_CODE(c.set_mem_level(9), PMD_OK);
    CHECK_CODE(c.set_strategy(pmd::strategy::fixed), PMD_OK);
    CHECK_CODE(c.set_require(true), PMD_OK);
    CHECK_CODE(c.set_require_client_max_window_bits(true), PMD_OK);
    CHECK_CODE(c.set_max_message_size(pmd::no_limit), PMD_OK);
    auto bad = c.set_client_max_window_bits(99);
    CHECK_CODE(bad, PMD_ERR_INVALID_ARGUMENT);
    CHECK(!bad);
    CHECK(bad.error().detail().find("pmd_config_set_client_max_window_bits") == 0);
    CHECK_EQ(bad.error().close_code(), 0);
    CHECK_EQ(bad.error().name(), "PMD_ERR_INVALID_ARGUMENT");
    // value() on a failed result throws pmd::error with the same code
    CHECK_THROWS(bad.value(), PMD_ERR_INVALID_ARGUMENT);
    // error() on a success is a logic error
    auto good = c.set_mem_level(8);
    bool logic = false;
    try {
        (void)good.error();
    } catch (const std::logic_error &) {
        logic = true;
    }
    CHECK(logic);
    auto offer = c.client_offer();
    CHECK(offer.ok());
    CHECK_EQ(*offer, "permessage-deflate; client_max_window_bits=12");
    // an empty (moved-from) config reports NULL_POINTER, never crashes
    pmd::nothrow::config moved = std::move(c);
    CHECK(!c);
    CHECK(static_cast<bool>(moved));
    CHECK_CODE(c.set_mem_level(5), PMD_ERR_NULL_POINTER);
    CHECK_CODE(c.client_offer(), PMD_ERR_NULL_POINTER);
}

// Whole-header negotiation, both sides, both flavours.
static void negotiation() {
    pmd::config client;
    client.set_client_max_window_bits(pmd::window_bits_no_value);
    client.set_server_no_context_takeover(true);
    pmd::config server;
    server.set_client_max_window_bits(10);
    std::string offer = client.client_offer();
    CHECK_EQ(offer, "permessage-deflate; server_no_context_takeover; client_max_window_bits");
    pmd::server_agreement a = server.server_negotiate(offer);
    CHECK(static_cast<bool>(a.extension));
    CHECK_EQ(a.response, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
    pmd::extension ce = client.client_accept(a.response);
    CHECK(static_cast<bool>(ce));
    pmd_negotiated n = ce.negotiated();
    CHECK(n.remote_no_context_takeover && !n.local_no_context_takeover);
    CHECK_EQ(n.local_max_window_bits, 10);
    CHECK_EQ(n.remote_max_window_bits, 15);
    pmd_negotiated s = a.extension.negotiated();
    CHECK(s.local_no_context_takeover && !s.remote_no_context_takeover);
    CHECK_EQ(s.remote_max_window_bits, 10);

    // no header, or no permessage-deflate in it: no extension, no response
    pmd::server_agreement none = server.server_negotiate({});
    CHECK(!none.extension);
    CHECK(none.response.empty());
    CHECK(!server.server_negotiate("x-other; a=1").extension);
    // the server declined: the client goes on without compression
    CHECK(!client.client_accept({}));
    CHECK(!client.client_accept(""));

    // errors, throwing
    CHECK_THROWS(server.server_negotiate("permessage-deflate; ;"), PMD_ERR_HEADER_SYNTAX);
    CHECK_THROWS(client.client_accept("permessage-deflate; server_max_window_bits=7"), PMD_ERR_NEGOTIATION);
    CHECK_THROWS(client.client_accept("permessage-deflate, permessage-deflate"), PMD_ERR_NEGOTIATION);
    pmd::config req;
    req.set_require(true);
    CHECK_THROWS(req.server_negotiate("x-other"), PMD_ERR_NEGOTIATION);
    pmd::config novalue;
    novalue.set_client_max_window_bits(pmd::window_bits_no_value);
    CHECK_THROWS(novalue.server_negotiate("permessage-deflate"), PMD_ERR_INVALID_ARGUMENT);

    // errors, results
    pmd::nothrow::config nc(std::move(client));
    CHECK(!client);
    auto r = nc.client_accept("permessage-deflate; client_max_window_bits=8; client_max_window_bits=9");
    CHECK_CODE(r, PMD_ERR_NEGOTIATION);
    CHECK(r.error().detail().find("pmd_client_accept") == 0);
    auto ok = nc.client_accept("permessage-deflate; server_no_context_takeover");
    CHECK_CODE(ok, PMD_OK);
    CHECK(static_cast<bool>(*ok));
    CHECK_EQ(ok->name(), "permessage-deflate");
    pmd::nothrow::config ns(std::move(server));
    auto sa = ns.server_negotiate("permessage-deflate; bad-param");
    CHECK_CODE(sa, PMD_OK);  // an unacceptable offer is declined, not an error
    CHECK(!sa->extension);
    CHECK_CODE(ns.server_negotiate("permessage-deflate;"), PMD_ERR_HEADER_SYNTAX);
}

// Parameter-level negotiation (websockets' factory methods).
static void parameter_level() {
    pmd::config client;
    client.set_server_max_window_bits(12);
    client.set_client_no_context_takeover(true);
    std::vector<pmd::param> ps = client.client_request_params();
    CHECK_EQ(ps.size(), 2u);
    CHECK(ps.size() == 2 && ps[0] == (pmd::param{"client_no_context_takeover", std::nullopt}));
    CHECK(ps.size() == 2 && ps[1] == (pmd::param{"server_max_window_bits", std::string_view("12")}));

    pmd::config server;
    pmd::server_params_agreement a = server.server_process_request_params(ps);
    CHECK(static_cast<bool>(a.extension));
    std::vector<pmd::param> want = {{"client_no_context_takeover", std::nullopt},
                                    {"server_max_window_bits", std::string_view("12")}};
    CHECK(a.response == want);
    pmd::extension e = client.client_process_response_params(a.response);
    CHECK_EQ(e.negotiated().remote_max_window_bits, 12);
    CHECK(e.negotiated().local_no_context_takeover);

    // a duplicate (permessage-deflate already accepted) is refused both ways
    CHECK_THROWS(client.client_process_response_params(a.response, {"permessage-deflate"}), PMD_ERR_NEGOTIATION);
    CHECK_THROWS(server.server_process_request_params(ps, {"x-a", "permessage-deflate"}), PMD_ERR_NEGOTIATION);
    // a parameter the offer did not allow
    CHECK_THROWS(client.client_process_response_params({{"client_max_window_bits", std::string_view("10")}}),
                 PMD_ERR_NEGOTIATION);
    // an empty value is a value: "server_max_window_bits=" is invalid
    CHECK_THROWS(server.server_process_request_params({{"server_max_window_bits", std::string_view("")}}),
                 PMD_ERR_NEGOTIATION);

    pmd::nothrow::config nc(std::move(client));
    auto r = nc.client_process_response_params({{"nonsense", std::nullopt}});
    CHECK_CODE(r, PMD_ERR_NEGOTIATION);
    auto p = nc.client_request_params();
    CHECK_CODE(p, PMD_OK);
    CHECK_EQ(p->size(), 2u);
    pmd::nothrow::config ns(std::move(server));
    auto sr = ns.server_process_request_params({});
    CHECK_CODE(sr, PMD_OK);
    CHECK(sr->response.empty());
    CHECK(static_cast<bool>(sr->extension));
    CHECK_CODE(ns.server_process_request_params({{"client_max_window_bits", std::string_view("x")}}),
               PMD_ERR_NEGOTIATION);
}

// Ownership: release, reset, adoption, self-move (valgrind checks leaks).
static void ownership() {
    pmd::config a;
    pmd_config *raw = a.release();
    CHECK(!a);
    CHECK(raw != nullptr);
    pmd::config b(raw);
    CHECK_EQ(b.native(), raw);
    b.reset(pmd_config_new());
    CHECK(b.native() != nullptr && b.native() != raw);
    pmd::config c;
    c = std::move(b);  // c's old config freed
    CHECK(!b);
    pmd::config &alias = c;
    c = std::move(alias);  // self-move keeps it
    CHECK(static_cast<bool>(c));
    static_assert(!std::is_copy_constructible_v<pmd::config>, "move-only");
    static_assert(!std::is_copy_assignable_v<pmd::nothrow::extension>, "move-only");
    static_assert(std::is_nothrow_move_constructible_v<pmd::extension>, "noexcept moves");
    static_assert(std::is_same_v<decltype(c.client_offer()), std::string>, "throwing flavour returns values");
    static_assert(std::is_same_v<decltype(std::declval<pmd::nothrow::config &>().client_offer()),
                                 pmd::result<std::string>>,
                  "nothrow flavour returns results");
}

int main() {
    free_functions();
    setters_throwing();
    setters_nothrow();
    negotiation();
    parameter_level();
    ownership();
    return check::finish("test_config");
}
