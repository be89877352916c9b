/* pmdeflate/websocketpp.hpp: permessage-deflate for websocketpp (0.8),
 * server and client, on pmdeflate. Header-only.
 *
 * websocketpp selects its permessage-deflate through a config policy,
 * config::permessage_deflate_type; its own implementation
 * (websocketpp::extensions::permessage_deflate::enabled) has no client
 * side. pmd::wspp::permessage_deflate<Settings> has the same interface and
 * negotiates both sides with pmdeflate's rules (docs/negotiation.md):
 *
 *     struct my_settings {                 // one per endpoint kind
 *         static const pmd::config &config();   // the pmdeflate config to use
 *         // optional:
 *         static void on_enabled(bool is_server, const pmd_negotiated &);
 *         static void on_error(const pmd::failure &);
 *     };
 *     struct my_config : websocketpp::config::asio {
 *         typedef my_config type;
 *         typedef pmd::wspp::permessage_deflate<my_settings> permessage_deflate_type;
 *     };
 *     websocketpp::server<my_config> server;   // or websocketpp::client<>
 *
 * What websocketpp's processor (processors/hybi13.hpp) does with the
 * policy, and how this class fits it (docs/websocketpp.md has the details):
 *
 * - Role. hybi13 never tells negotiate() which side it runs on; it calls
 *   generate_offer() only on a client, before the response arrives. The
 *   policy records that call: with it, negotiate() reads a response
 *   element with the client rules, without it an offer with the server
 *   rules. init(is_server) then checks the role.
 * - Client failures. hybi13 silently skips an element whose negotiate()
 *   fails, so a client would go on without compression while the server
 *   compresses. The policy therefore accepts the element in negotiate()
 *   and reports the failure from init(), which hybi13 turns into a failed
 *   connection (error::extension_neg_failed).
 * - Parameters arrive as websocketpp parses them: a std::map, so a repeated
 *   parameter keeps its last value and an empty value reads as no value.
 *   hybi13 stops at the first permessage-deflate element it accepts.
 * - compress() gets a whole message and must append the sync-flush tail,
 *   which hybi13 strips; pmdeflate's encode drops it, so it is put back.
 * - decompress() gets the compressed bytes in whatever pieces the socket
 *   delivered, then the four tail bytes 00 00 ff ff when the message ends.
 *   Both are fed to pmdeflate as frames of one compressed message; a call
 *   of exactly those four bytes may be a piece or the tail, so the
 *   message is ended in pmdeflate at the next call that shows a new
 *   message (its payload string is empty again).
 * - Errors of decompress() are websocketpp processor codes, so that
 *   websocketpp closes with the right code: 1009 for a message over the
 *   config's max_message_size, 1007 for invalid data, 1002 for a protocol
 *   error, 1011 otherwise. Settings::on_error gets pmdeflate's detail. */

#ifndef PMDEFLATE_WEBSOCKETPP_HPP
#define PMDEFLATE_WEBSOCKETPP_HPP

#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <websocketpp/common/system_error.hpp>
#include <websocketpp/error.hpp>
#include <websocketpp/http/constants.hpp>
#include <websocketpp/processors/base.hpp>

#include "../pmdeflate.hpp"

namespace pmd {
namespace wspp {

/// Settings with one process-wide config: set it up before any endpoint
/// runs (default_settings::config().set_...), then leave it.
struct default_settings {
    static pmd::config &config() {
        static pmd::config c;
        return c;
    }
};

/// The category of negotiation failures reported by init(): the value is
/// the pmd_result.
class negotiation_category : public websocketpp::lib::error_category {
public:
    const char *name() const noexcept override { return "pmdeflate.permessage-deflate"; }
    std::string message(int value) const override {
        return std::string("permessage-deflate negotiation failed: ") +
               pmd_result_name(static_cast<pmd_result>(value));
    }
};

inline const websocketpp::lib::error_category &get_negotiation_category() {
    static negotiation_category instance;
    return instance;
}

namespace detail {
template <class S, class = void>
struct has_on_enabled : std::false_type {};
template <class S>
struct has_on_enabled<S, std::void_t<decltype(S::on_enabled(true, std::declval<const pmd_negotiated &>()))>>
    : std::true_type {};
template <class S, class = void>
struct has_on_error : std::false_type {};
template <class S>
struct has_on_error<S, std::void_t<decltype(S::on_error(std::declval<const pmd::failure &>()))>> : std::true_type {};

/// The processor error whose close code matches a pmdeflate decode failure.
inline websocketpp::lib::error_code processor_code(pmd_result r) {
    namespace pe = websocketpp::processor::error;
    switch (r) {
    case PMD_ERR_PAYLOAD_TOO_BIG:
        return pe::make_error_code(pe::message_too_big);  // 1009
    case PMD_ERR_CORRUPT_DATA:
        return pe::make_error_code(pe::invalid_payload);  // 1007
    case PMD_ERR_PROTOCOL:
        return pe::make_error_code(pe::protocol_violation);  // 1002
    default:
        return pe::make_error_code(pe::general);  // 1011
    }
}
}  // namespace detail

/// A drop-in for websocketpp's config::permessage_deflate_type.
template <class Settings = default_settings>
class permessage_deflate {
public:
    typedef std::pair<websocketpp::lib::error_code, std::string> err_str_pair;

    permessage_deflate() = default;
    permessage_deflate(const permessage_deflate &) = delete;
    permessage_deflate &operator=(const permessage_deflate &) = delete;

    /// This policy implements permessage-deflate.
    bool is_implemented() const { return true; }
    /// Whether permessage-deflate was negotiated for this connection.
    bool is_enabled() const { return m_enabled; }

    /// Client: the Sec-WebSocket-Extensions offer (from the config).
    /// hybi13 calls it only on a client; the policy remembers that.
    std::string generate_offer() const {
        m_client = true;
        char buf[PMD_MAX_RESPONSE_LEN];
        std::size_t len = 0;
        pmd_result r = pmd_client_offer(native_config(), buf, sizeof buf, &len);
        if (r != PMD_OK) {
            report(pmd::failure(r, pmd_last_error()));
            return std::string();  // no header: no compression
        }
        return std::string(buf, len);
    }

    /// The stock policy's hook for a client's check of the response, which
    /// hybi13 never calls: the check runs in negotiate() and init().
    websocketpp::lib::error_code validate_offer(const websocketpp::http::attribute_list &) {
        return websocketpp::lib::error_code();
    }

    /// One permessage-deflate element: an offer (server) or the response
    /// (client, after generate_offer). Server: an error declines the
    /// offer (hybi13 tries the next one); on success the second member is
    /// the response element. Client: always success; a response that
    /// breaks the client rules fails init().
    err_str_pair negotiate(const websocketpp::http::attribute_list &attributes) {
        err_str_pair ret;
        std::vector<pmd_param> params;
        params.reserve(attributes.size());
        for (const auto &kv : attributes) {
            pmd_param p;
            p.name = kv.first.c_str();
            p.name_len = kv.first.size();
            p.value = kv.second.empty() ? nullptr : kv.second.c_str();
            p.value_len = kv.second.size();
            params.push_back(p);
        }
        const pmd_config *cfg = native_config();
        pmd_extension *ext = nullptr;
        if (m_client) {
            pmd_result r = pmd_client_process_response_params(cfg, params.data(), params.size(), nullptr, 0, &ext);
            m_extension.reset(ext);
            if (r != PMD_OK) m_deferred = pmd::failure(r, pmd_last_error());
            return ret;
        }
        pmd_param response[8];
        std::size_t n = 0;
        pmd_result r = pmd_server_process_request_params(cfg, params.data(), params.size(), nullptr, 0, response, 8,
                                                         &n, &ext);
        if (r != PMD_OK) {
            if (r != PMD_ERR_NEGOTIATION) report(pmd::failure(r, pmd_last_error()));
            ret.first = websocketpp::lib::error_code(r, get_negotiation_category());
            return ret;
        }
        m_extension.reset(ext);
        std::vector<pmd::param> resp;
        for (std::size_t i = 0; i < n; i++) {
            pmd::param p{std::string_view(response[i].name, response[i].name_len), std::nullopt};
            if (response[i].value) p.value = std::string_view(response[i].value, response[i].value_len);
            resp.push_back(p);
        }
        auto built = pmd::nothrow::header::build("permessage-deflate", resp);
        if (!built) {
            report(built.error());
            m_extension.reset();
            ret.first = websocketpp::lib::error_code(built.code(), get_negotiation_category());
            return ret;
        }
        ret.second = std::move(*built);
        return ret;
    }

    /// After a successful negotiate(): enables the extension, or reports
    /// why a client must fail the connection.
    websocketpp::lib::error_code init(bool is_server) {
        if (m_deferred) {
            report(*m_deferred);
            return websocketpp::lib::error_code(m_deferred->code(), get_negotiation_category());
        }
        if (is_server == m_client || !m_extension) {
            report(pmd::failure(PMD_ERR_INVALID_ARGUMENT,
                                "pmd::wspp::permessage_deflate::init: no negotiation for this role"));
            return websocketpp::lib::error_code(PMD_ERR_INVALID_ARGUMENT, get_negotiation_category());
        }
        m_enabled = true;
        if constexpr (detail::has_on_enabled<Settings>::value) {
            auto n = m_extension.negotiated();
            if (n) Settings::on_enabled(is_server, *n);
        }
        return websocketpp::lib::error_code();
    }

    /// Compresses a whole outgoing message into `out`, tail included
    /// (hybi13 strips it). On failure `out` is left as it was, which
    /// hybi13 refuses to send.
    websocketpp::lib::error_code compress(const std::string &in, std::string &out) {
        if (!m_enabled) return websocketpp::extensions::error::make_error_code(websocketpp::extensions::error::disabled);
        auto f = m_extension.encode(pmd::frame(pmd::opcode::binary, in));
        if (!f) {
            report(f.error());
            return detail::processor_code(f.code());
        }
        static const char tail[4] = {0, 0, '\xff', '\xff'};
        out.append(f->payload.as_string_view().data(), f->payload.size());
        out.append(tail, 4);
        return websocketpp::lib::error_code();
    }

    /// Decompresses the next piece of an incoming compressed message and
    /// appends it to `out`, the message's payload so far.
    ///
    /// A piece of exactly 00 00 ff ff is either the tail hybi13 appends at
    /// the end of the message or compressed data that happens to be those
    /// bytes: it is held back until the next call tells. If that call
    /// continues the same payload string, the held bytes are data; if it
    /// starts a new (empty) payload, they were the tail, and the previous
    /// message is ended in pmdeflate, which appends the same four bytes
    /// itself. Either way zlib sees the same bytes in the same order.
    websocketpp::lib::error_code decompress(const std::uint8_t *buf, std::size_t len, std::string &out) {
        if (!m_enabled) return websocketpp::extensions::error::make_error_code(websocketpp::extensions::error::disabled);
        static const std::uint8_t tail[4] = {0, 0, 0xff, 0xff};
        bool continuing;
        if (m_rx == rx::idle) {
            continuing = false;
        } else if (!out.empty()) {
            // a new message's payload starts empty: this one goes on
            if (&out != m_rx_out || out.size() != m_rx_size) {
                return fail(pmd::failure(PMD_ERR_INTERNAL, "pmd::wspp::permessage_deflate::decompress: the message "
                                                           "payload changed between calls"));
            }
            continuing = true;
        } else {
            // empty: after a held tail, a new message; otherwise the
            // message in progress has had no output yet
            continuing = m_rx == rx::in_message;
        }
        if (!continuing && m_rx == rx::held_tail) {
            auto end = m_extension.decode(pmd::frame(pmd::opcode::continuation, pmd::bytes_view(), true, false));
            if (!end) return fail(end.error());
            if (!end->payload.empty()) {
                return fail(pmd::failure(PMD_ERR_CORRUPT_DATA, "pmd::wspp::permessage_deflate::decompress: output "
                                                               "after the end of a message"));
            }
        } else if (!continuing && m_rx == rx::in_message) {
            return fail(pmd::failure(PMD_ERR_INTERNAL, "pmd::wspp::permessage_deflate::decompress: a new message "
                                                       "before the previous one ended"));
        }
        if (continuing && m_rx == rx::held_tail) {
            auto held = m_extension.decode(pmd::frame(pmd::opcode::continuation, pmd::bytes_view(tail, 4), false));
            if (!held) return fail(held.error());
            out.append(held->payload.as_string_view().data(), held->payload.size());
        }
        m_rx_out = &out;
        if (len == 4 && std::memcmp(buf, tail, 4) == 0 && continuing) {
            m_rx = rx::held_tail;
            m_rx_size = out.size();
            return websocketpp::lib::error_code();
        }
        pmd::frame in(continuing ? pmd::opcode::continuation : pmd::opcode::binary, pmd::bytes_view(buf, len), false,
                      !continuing);
        auto plain = m_extension.decode(in);
        if (!plain) return fail(plain.error());
        out.append(plain->payload.as_string_view().data(), plain->payload.size());
        m_rx = rx::in_message;
        m_rx_size = out.size();
        return websocketpp::lib::error_code();
    }

    /// The negotiated extension (empty before init or when not enabled).
    const pmd::nothrow::extension &extension() const { return m_extension; }

private:
    static const pmd_config *native_config() { return Settings::config().native(); }

    static void report(const pmd::failure &f) {
        if constexpr (detail::has_on_error<Settings>::value) Settings::on_error(f);
    }
    websocketpp::lib::error_code fail(const pmd::failure &f) {
        report(f);
        return detail::processor_code(f.code());
    }

    enum class rx { idle, in_message, held_tail };

    mutable bool m_client = false;
    bool m_enabled = false;
    pmd::nothrow::extension m_extension;
    std::optional<pmd::failure> m_deferred;
    rx m_rx = rx::idle;
    const std::string *m_rx_out = nullptr;
    std::size_t m_rx_size = 0;
};

}  // namespace wspp
}  // namespace pmd

#endif  // PMDEFLATE_WEBSOCKETPP_HPP
