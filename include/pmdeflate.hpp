/* pmdeflate.hpp: the C++17 interface of pmdeflate, header-only, over the C
 * API of pmdeflate.h. Hand-written (pmdeflate.h is generated).
 *
 * - RAII owners, move-only: config, extension, header, negotiator, chain,
 *   client_factory, server_factory. Each frees its C handle once.
 * - Views instead of copies: std::string_view for header values and
 *   parameters, pmd::bytes_view (pointer, size) for payloads.
 * - Errors, by choice:
 *     pmd::config, pmd::extension, ...           throw pmd::error
 *     pmd::nothrow::config, nothrow::extension, ... return pmd::result<T>
 *   Both are the same templates (pmd::basic_config<Policy>, ...) with the
 *   policy pmd::throw_errors or pmd::return_errors. pmd::error derives from
 *   std::runtime_error and carries the pmd_result and the close code;
 *   pmd::result<T> holds a T or a pmd::failure (the same information).
 *   Both capture pmd_last_error() at the moment of the failure.
 *
 * The C rules hold unchanged (docs/conventions.md): frames returned by
 * encode and decode point into memory the extension or chain owns, valid
 * until the next call on the same side; a config may be shared by threads
 * once set up; an extension or chain may encode on one thread while it
 * decodes on another. docs/cpp.md describes this header. */

#ifndef PMDEFLATE_HPP
#define PMDEFLATE_HPP

#include "pmdeflate.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pmd {

// --- constants -----------------------------------------------------------------

/// A decode max_size or per-message limit meaning "no limit".
inline constexpr std::size_t no_limit = SIZE_MAX;
/// A client's client_max_window_bits offered without a value.
inline constexpr int window_bits_no_value = PMD_WINDOW_BITS_NO_VALUE;
/// Room always enough for an offer or a response built by pmdeflate.
inline constexpr std::size_t max_response_len = PMD_MAX_RESPONSE_LEN;

/// Frame opcodes (RFC 6455).
namespace opcode {
inline constexpr std::uint8_t continuation = PMD_OPCODE_CONTINUATION;
inline constexpr std::uint8_t text = PMD_OPCODE_TEXT;
inline constexpr std::uint8_t binary = PMD_OPCODE_BINARY;
inline constexpr std::uint8_t close = PMD_OPCODE_CLOSE;
inline constexpr std::uint8_t ping = PMD_OPCODE_PING;
inline constexpr std::uint8_t pong = PMD_OPCODE_PONG;
}  // namespace opcode

/// zlib strategies for config::set_strategy.
namespace strategy {
inline constexpr int default_strategy = PMD_STRATEGY_DEFAULT;
inline constexpr int filtered = PMD_STRATEGY_FILTERED;
inline constexpr int huffman_only = PMD_STRATEGY_HUFFMAN_ONLY;
inline constexpr int rle = PMD_STRATEGY_RLE;
inline constexpr int fixed = PMD_STRATEGY_FIXED;
}  // namespace strategy

// --- free functions ------------------------------------------------------------

/// "PMD_ERR_NEGOTIATION" and so on; "PMD_ERR_UNKNOWN" for other values.
inline std::string_view result_name(pmd_result r) noexcept { return pmd_result_name(r); }
/// The close code to send after a failure: 1002, 1007, 1009, 1011, or 0.
inline std::uint16_t close_code(pmd_result r) noexcept { return pmd_result_close_code(r); }
/// The calling thread's last failure detail ("" when none); valid until the
/// next failing call on this thread.
inline std::string_view last_error() noexcept { return pmd_last_error(); }
/// The library's version, "MAJOR.MINOR.PATCH".
inline std::string_view version() noexcept { return pmd_version(); }
/// The linked zlib's version ("zlib-ng" in it for a zlib-ng build); not
/// named zlib_version, which zlib.h defines as a macro.
inline std::string_view linked_zlib_version() noexcept { return pmd_zlib_version(); }
/// The vtable of the built-in permessage-deflate in chains.
inline const pmd_extension_vtable *permessage_deflate_vtable() noexcept {
    return pmd_permessage_deflate_vtable();
}

// --- views -----------------------------------------------------------------------

/// A read-only (pointer, size) view of bytes: C++17 has no std::span.
class bytes_view {
public:
    constexpr bytes_view() noexcept = default;
    constexpr bytes_view(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
    bytes_view(const void *data, std::size_t size) noexcept
        : data_(static_cast<const std::uint8_t *>(data)), size_(size) {}
    bytes_view(std::string_view s) noexcept
        : data_(reinterpret_cast<const std::uint8_t *>(s.data())), size_(s.size()) {}
    bytes_view(const std::string &s) noexcept : bytes_view(std::string_view(s)) {}
    bytes_view(const char *s) noexcept : bytes_view(std::string_view(s)) {}
    bytes_view(const std::vector<std::uint8_t> &v) noexcept : data_(v.data()), size_(v.size()) {}

    constexpr const std::uint8_t *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const std::uint8_t *begin() const noexcept { return data_; }
    constexpr const std::uint8_t *end() const noexcept { return data_ + size_; }
    constexpr std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }
    /// The same bytes as characters.
    std::string_view as_string_view() const noexcept {
        return std::string_view(reinterpret_cast<const char *>(data_), size_);
    }
    std::string to_string() const { return std::string(as_string_view()); }
    std::vector<std::uint8_t> to_vector() const { return std::vector<std::uint8_t>(begin(), end()); }

private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
};

inline bool operator==(bytes_view a, bytes_view b) noexcept {
    return a.as_string_view() == b.as_string_view();
}
inline bool operator!=(bytes_view a, bytes_view b) noexcept { return !(a == b); }

/// A frame's header bits and payload (pmd_frame with a bytes_view).
struct frame {
    std::uint8_t opcode = opcode::binary;
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    bytes_view payload;

    frame() = default;
    frame(std::uint8_t op, bytes_view data, bool fin_ = true, bool rsv1_ = false)
        : opcode(op), fin(fin_), rsv1(rsv1_), payload(data) {}

    pmd_frame to_c() const noexcept {
        pmd_frame f;
        f.opcode = opcode;
        f.fin = fin;
        f.rsv1 = rsv1;
        f.rsv2 = rsv2;
        f.rsv3 = rsv3;
        f.data = payload.data();
        f.len = payload.size();
        return f;
    }
    static frame from_c(const pmd_frame &c) noexcept {
        frame f;
        f.opcode = c.opcode;
        f.fin = c.fin;
        f.rsv1 = c.rsv1;
        f.rsv2 = c.rsv2;
        f.rsv3 = c.rsv3;
        f.payload = bytes_view(c.data, c.len);
        return f;
    }
};

/// One extension parameter; no value (std::nullopt) is "name" alone.
struct param {
    std::string_view name;
    std::optional<std::string_view> value;
};

inline bool operator==(const param &a, const param &b) noexcept {
    return a.name == b.name && a.value == b.value;
}
inline bool operator!=(const param &a, const param &b) noexcept { return !(a == b); }

// --- errors ------------------------------------------------------------------------

/// A failed call: its result, the close code it implies and the detail of
/// pmd_last_error() captured when it failed.
class failure {
public:
    failure(pmd_result code, std::string detail) : code_(code), detail_(std::move(detail)) {}
    pmd_result code() const noexcept { return code_; }
    std::string_view name() const noexcept { return result_name(code_); }
    std::uint16_t close_code() const noexcept { return pmd::close_code(code_); }
    const std::string &detail() const noexcept { return detail_; }
    /// "PMD_ERR_NEGOTIATION: pmd_client_accept: ..."
    std::string message() const { return std::string(name()) + ": " + detail_; }

private:
    pmd_result code_;
    std::string detail_;
};

/// The exception of the throwing interface.
class error : public std::runtime_error {
public:
    explicit error(const failure &f) : std::runtime_error(f.message()), failure_(f) {}
    pmd_result code() const noexcept { return failure_.code(); }
    std::uint16_t close_code() const noexcept { return failure_.close_code(); }
    const std::string &detail() const noexcept { return failure_.detail(); }
    const failure &as_failure() const noexcept { return failure_; }

private:
    failure failure_;
};

namespace detail {
inline failure capture(pmd_result r) { return failure(r, std::string(pmd_last_error())); }
}  // namespace detail

/// A value or a failure (an expected-like type). value() throws pmd::error
/// when it holds a failure.
template <class T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    result(failure f) : v_(std::in_place_index<1>, std::move(f)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    /// PMD_OK, or the failure's result.
    pmd_result code() const noexcept { return ok() ? PMD_OK : std::get<1>(v_).code(); }

    T &value() & {
        check();
        return std::get<0>(v_);
    }
    const T &value() const & {
        check();
        return std::get<0>(v_);
    }
    T &&value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    T &operator*() & { return value(); }
    T *operator->() { return &value(); }
    /// The failure; throws std::logic_error when the result is a value.
    const failure &error() const {
        if (ok()) throw std::logic_error("pmd::result::error() on a value");
        return std::get<1>(v_);
    }

private:
    void check() const {
        if (!ok()) throw pmd::error(std::get<1>(v_));
    }
    std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(failure f) : f_(std::move(f)) {}

    bool ok() const noexcept { return !f_; }
    explicit operator bool() const noexcept { return ok(); }
    pmd_result code() const noexcept { return f_ ? f_->code() : PMD_OK; }
    void value() const {
        if (f_) throw pmd::error(*f_);
    }
    const failure &error() const {
        if (!f_) throw std::logic_error("pmd::result::error() on a value");
        return *f_;
    }

private:
    std::optional<failure> f_;
};

/// Policy: every fallible call throws pmd::error and returns a plain value.
struct throw_errors {
    template <class T>
    using ret = T;
    template <class T>
    static T deliver(result<T> &&r) {
        return std::move(r).value();
    }
    static void deliver(result<void> &&r) { r.value(); }
    static void allocation_failed(const char *what) {
        throw pmd::error(failure(PMD_ERR_OUT_OF_MEMORY, std::string(what) + " returned NULL"));
    }
};

/// Policy: every fallible call returns pmd::result<T>; nothing throws
/// except std::bad_alloc from the C++ containers.
struct return_errors {
    template <class T>
    using ret = result<T>;
    template <class T>
    static result<T> deliver(result<T> &&r) {
        return std::move(r);
    }
    static void allocation_failed(const char *) {}
};

namespace detail {

inline result<void> status(pmd_result r) {
    if (r == PMD_OK) return result<void>();
    return capture(r);
}

inline result<void> status_of(pmd_result r, const char *what) {
    return failure(r, std::string("pmd::negotiator::") + what);
}

/// (pmd_param array) from params: views stay valid while `in` lives.
inline std::vector<pmd_param> to_c(const std::vector<param> &in) {
    std::vector<pmd_param> out;
    out.reserve(in.size());
    for (const param &p : in) {
        pmd_param c;
        c.name = p.name.data() ? p.name.data() : "";
        c.name_len = p.name.size();
        if (p.value) {
            c.value = p.value->data() ? p.value->data() : "";
            c.value_len = p.value->size();
        } else {
            c.value = nullptr;
            c.value_len = 0;
        }
        out.push_back(c);
    }
    return out;
}

inline param from_c(const pmd_param &c) {
    param p;
    p.name = std::string_view(c.name, c.name_len);
    if (c.value) p.value = std::string_view(c.value, c.value_len);
    return p;
}

inline std::vector<const char *> c_strings(const std::vector<std::string> &names) {
    std::vector<const char *> out;
    out.reserve(names.size());
    for (const std::string &s : names) out.push_back(s.c_str());
    return out;
}

/// (pointer, length) for a header value: an empty view with no data is an
/// absent header, as the C API reads (NULL, 0).
inline const char *value_ptr(std::string_view v) noexcept { return v.empty() ? nullptr : v.data(); }

}  // namespace detail

template <class P>
class basic_config;
template <class P>
class basic_extension;
template <class P>
class basic_chain;
template <class P>
class basic_encoder;

// --- extension ---------------------------------------------------------------------

/// One connection's negotiated permessage-deflate (owns a pmd_extension).
/// An empty extension (operator bool false) means "no compression".
template <class P>
class basic_extension {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    basic_extension() noexcept = default;
    /// Takes ownership of a handle from the C API.
    explicit basic_extension(pmd_extension *owned) noexcept : h_(owned) {}
    basic_extension(basic_extension &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    template <class Q>
    basic_extension(basic_extension<Q> &&o) noexcept : h_(o.release()) {}
    basic_extension &operator=(basic_extension &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_extension(const basic_extension &) = delete;
    basic_extension &operator=(const basic_extension &) = delete;
    ~basic_extension() { pmd_extension_free(h_); }

    /// pmd_extension_new: an extension from parameters agreed elsewhere;
    /// settings and the per-message limit from `cfg` (nullptr: defaults).
    static ret<basic_extension> create(bool remote_no_context_takeover, bool local_no_context_takeover,
                                       int remote_max_window_bits, int local_max_window_bits,
                                       const pmd_config *cfg = nullptr) {
        pmd_extension *e = nullptr;
        pmd_result r = pmd_extension_new(remote_no_context_takeover, local_no_context_takeover,
                                         remote_max_window_bits, local_max_window_bits, cfg, &e);
        if (r != PMD_OK) return P::deliver(result<basic_extension>(detail::capture(r)));
        return P::deliver(result<basic_extension>(basic_extension(e)));
    }
    template <class Q>
    static ret<basic_extension> create(bool remote_no_context_takeover, bool local_no_context_takeover,
                                       int remote_max_window_bits, int local_max_window_bits,
                                       const basic_config<Q> &cfg) {
        return create(remote_no_context_takeover, local_no_context_takeover, remote_max_window_bits,
                      local_max_window_bits, cfg.native());
    }

    /// pmd_extension_encode. The result's payload is `in`'s or owned by
    /// the extension until the next encode.
    ret<frame> encode(const frame &in) {
        pmd_frame c = in.to_c(), out;
        pmd_result r = pmd_extension_encode(h_, &c, &out);
        if (r != PMD_OK) return P::deliver(result<frame>(detail::capture(r)));
        return P::deliver(result<frame>(frame::from_c(out)));
    }
    /// Encodes a whole message as one frame (first and final).
    ret<frame> encode_message(std::uint8_t op, bytes_view data) { return encode(frame(op, data)); }

    /// pmd_extension_decode. The result's payload is `in`'s or owned by the
    /// extension until the next decode. On failure, failure::close_code()
    /// is the close code to send.
    ret<frame> decode(const frame &in, std::size_t max_size = no_limit) {
        pmd_frame c = in.to_c(), out;
        pmd_result r = pmd_extension_decode(h_, &c, max_size, &out);
        if (r != PMD_OK) return P::deliver(result<frame>(detail::capture(r)));
        return P::deliver(result<frame>(frame::from_c(out)));
    }

    /// pmd_extension_set_max_message_size (part of the decode side).
    ret<void> set_max_message_size(std::size_t bytes) {
        return P::deliver(detail::status(pmd_extension_set_max_message_size(h_, bytes)));
    }
    /// pmd_extension_negotiated: what was agreed (remote = peer's compressor).
    ret<pmd_negotiated> negotiated() const {
        pmd_negotiated n;
        pmd_result r = pmd_extension_negotiated(h_, &n);
        if (r != PMD_OK) return P::deliver(result<pmd_negotiated>(detail::capture(r)));
        return P::deliver(result<pmd_negotiated>(n));
    }
    /// "permessage-deflate".
    std::string_view name() const noexcept { return pmd_extension_name(h_); }
    /// pmd_extension_memory_usage: bytes held now (0 when empty).
    std::size_t memory_usage() const noexcept { return pmd_extension_memory_usage(h_); }
    /// pmd_extension_can_send_shared: whether this connection may send the
    /// next message `enc` encodes (its sending side agreed
    /// no_context_takeover and a window >= the encoder's, and it is
    /// between messages). False when either is empty.
    template <class Q>
    bool can_send_shared(const basic_encoder<Q> &enc) const noexcept {
        return pmd_extension_can_send_shared(h_, enc.native());
    }
    /// pmd_extension_compact: releases the output buffers (frames returned
    /// before become invalid) and each zlib stream between messages,
    /// keeping under context takeover only a copy of its history.
    ret<void> compact() { return P::deliver(detail::status(pmd_extension_compact(h_))); }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_extension *native() const noexcept { return h_; }
    /// Gives up ownership: the caller frees the handle.
    pmd_extension *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_extension *owned = nullptr) noexcept {
        pmd_extension_free(std::exchange(h_, owned));
    }

private:
    pmd_extension *h_ = nullptr;
};

// --- shared encoder ----------------------------------------------------------------

/// Compress once, send to many (owns a pmd_encoder): every message starts
/// from an empty window, and its frames may be sent on every extension
/// whose can_send_shared(encoder) is true. One call at a time per encoder;
/// its output may be sent to many connections until the next encode.
template <class P>
class basic_encoder {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    basic_encoder() noexcept = default;
    /// Takes ownership of a handle from the C API.
    explicit basic_encoder(pmd_encoder *owned) noexcept : h_(owned) {}
    basic_encoder(basic_encoder &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    template <class Q>
    basic_encoder(basic_encoder<Q> &&o) noexcept : h_(o.release()) {}
    basic_encoder &operator=(basic_encoder &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_encoder(const basic_encoder &) = delete;
    basic_encoder &operator=(const basic_encoder &) = delete;
    ~basic_encoder() { pmd_encoder_free(h_); }

    /// pmd_encoder_new: window_bits 8..15; zlib settings from `cfg`
    /// (nullptr: defaults).
    static ret<basic_encoder> create(int window_bits = 15, const pmd_config *cfg = nullptr) {
        pmd_encoder *e = nullptr;
        pmd_result r = pmd_encoder_new(cfg, window_bits, &e);
        if (r != PMD_OK) return P::deliver(result<basic_encoder>(detail::capture(r)));
        return P::deliver(result<basic_encoder>(basic_encoder(e)));
    }
    template <class Q>
    static ret<basic_encoder> create(int window_bits, const basic_config<Q> &cfg) {
        return create(window_bits, cfg.native());
    }

    /// pmd_encoder_encode. The result's payload is `in`'s or owned by the
    /// encoder until the next encode.
    ret<frame> encode(const frame &in) {
        pmd_frame c = in.to_c(), out;
        pmd_result r = pmd_encoder_encode(h_, &c, &out);
        if (r != PMD_OK) return P::deliver(result<frame>(detail::capture(r)));
        return P::deliver(result<frame>(frame::from_c(out)));
    }
    /// Encodes a whole message as one frame (first and final).
    ret<frame> encode_message(std::uint8_t op, bytes_view data) { return encode(frame(op, data)); }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_encoder *native() const noexcept { return h_; }
    /// Gives up ownership: the caller frees the handle.
    pmd_encoder *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_encoder *owned = nullptr) noexcept { pmd_encoder_free(std::exchange(h_, owned)); }

private:
    pmd_encoder *h_ = nullptr;
};

/// What a server answers: the response value (empty: send no header) and
/// the extension (empty when no offer was acceptable).
template <class P>
struct basic_server_agreement {
    std::string response;
    basic_extension<P> extension;
};

/// What pmd_server_process_request_params answers: the response
/// parameters (static strings) and the extension.
template <class P>
struct basic_server_params_agreement {
    std::vector<param> response;
    basic_extension<P> extension;
};

// --- config --------------------------------------------------------------------------

/// A set of permessage-deflate parameters and zlib settings (owns a
/// pmd_config). Share a const one between threads once set up.
template <class P>
class basic_config {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    /// A config with the defaults (pmd_config_new). Out of memory: the
    /// throwing policy throws; the other leaves the object empty, which
    /// every call then reports as PMD_ERR_NULL_POINTER (use create()).
    basic_config() : h_(pmd_config_new()) {
        if (!h_) P::allocation_failed("pmd_config_new");
    }
    /// Takes ownership of a handle from the C API.
    explicit basic_config(pmd_config *owned) noexcept : h_(owned) {}
    static ret<basic_config> create() {
        pmd_config *c = pmd_config_new();
        if (!c) return P::deliver(result<basic_config>(failure(PMD_ERR_OUT_OF_MEMORY, "pmd_config_new returned NULL")));
        return P::deliver(result<basic_config>(basic_config(c)));
    }
    basic_config(basic_config &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    template <class Q>
    basic_config(basic_config<Q> &&o) noexcept : h_(o.release()) {}
    basic_config &operator=(basic_config &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_config(const basic_config &) = delete;
    basic_config &operator=(const basic_config &) = delete;
    ~basic_config() { pmd_config_free(h_); }

    ret<void> set_server_no_context_takeover(bool on) {
        return P::deliver(detail::status(pmd_config_set_server_no_context_takeover(h_, on)));
    }
    ret<void> set_client_no_context_takeover(bool on) {
        return P::deliver(detail::status(pmd_config_set_client_no_context_takeover(h_, on)));
    }
    /// 0 (not set) or 8..15.
    ret<void> set_server_max_window_bits(int bits) {
        return P::deliver(detail::status(pmd_config_set_server_max_window_bits(h_, bits)));
    }
    /// 0 (not set), 8..15, or window_bits_no_value (client offers only).
    ret<void> set_client_max_window_bits(int bits) {
        return P::deliver(detail::status(pmd_config_set_client_max_window_bits(h_, bits)));
    }
    /// -1 (zlib's default) or 0..9.
    ret<void> set_compress_level(int level) {
        return P::deliver(detail::status(pmd_config_set_compress_level(h_, level)));
    }
    /// 1..9.
    ret<void> set_mem_level(int mem_level) {
        return P::deliver(detail::status(pmd_config_set_mem_level(h_, mem_level)));
    }
    /// A pmd::strategy value.
    ret<void> set_strategy(int s) { return P::deliver(detail::status(pmd_config_set_strategy(h_, s))); }
    ret<void> set_require(bool on) { return P::deliver(detail::status(pmd_config_set_require(h_, on))); }
    ret<void> set_require_client_max_window_bits(bool on) {
        return P::deliver(detail::status(pmd_config_set_require_client_max_window_bits(h_, on)));
    }
    /// The per-message limit every extension made from this config starts with.
    ret<void> set_max_message_size(std::size_t bytes) {
        return P::deliver(detail::status(pmd_config_set_max_message_size(h_, bytes)));
    }
    /// Decode below 15 window bits in quarter-window calls (off by default).
    ret<void> set_strict_window(bool on) {
        return P::deliver(detail::status(pmd_config_set_strict_window(h_, on)));
    }
    /// Whole single-frame messages shorter than this go out uncompressed.
    ret<void> set_compress_threshold(std::size_t bytes) {
        return P::deliver(detail::status(pmd_config_set_compress_threshold(h_, bytes)));
    }

    /// Client: the Sec-WebSocket-Extensions value to send (pmd_client_offer).
    ret<std::string> client_offer() const {
        char buf[PMD_MAX_RESPONSE_LEN];
        std::size_t len = 0;
        pmd_result r = pmd_client_offer(h_, buf, sizeof buf, &len);
        if (r != PMD_OK) return P::deliver(result<std::string>(detail::capture(r)));
        return P::deliver(result<std::string>(std::string(buf, len)));
    }

    /// Client: the server's response value (an empty view: no header). An
    /// empty extension: the server declined, no compression.
    ret<basic_extension<P>> client_accept(std::string_view response) const {
        pmd_extension *e = nullptr;
        pmd_result r = pmd_client_accept(h_, detail::value_ptr(response), response.size(), &e);
        if (r != PMD_OK) return P::deliver(result<basic_extension<P>>(detail::capture(r)));
        return P::deliver(result<basic_extension<P>>(basic_extension<P>(e)));
    }

    /// Server: the client's request value (several lines joined by ", ";
    /// an empty view: no header).
    ret<basic_server_agreement<P>> server_negotiate(std::string_view request) const {
        char buf[PMD_MAX_RESPONSE_LEN];
        std::size_t len = 0;
        pmd_extension *e = nullptr;
        pmd_result r = pmd_server_negotiate(h_, detail::value_ptr(request), request.size(), buf, sizeof buf,
                                            &len, &e);
        if (r != PMD_OK) return P::deliver(result<basic_server_agreement<P>>(detail::capture(r)));
        basic_server_agreement<P> a{std::string(buf, len), basic_extension<P>(e)};
        return P::deliver(result<basic_server_agreement<P>>(std::move(a)));
    }

    /// Client: the offer's parameters (pmd_client_request_params; static strings).
    ret<std::vector<param>> client_request_params() const {
        pmd_param buf[8];
        std::size_t n = 0;
        pmd_result r = pmd_client_request_params(h_, buf, 8, &n);
        if (r != PMD_OK) return P::deliver(result<std::vector<param>>(detail::capture(r)));
        std::vector<param> out;
        for (std::size_t i = 0; i < n; i++) out.push_back(detail::from_c(buf[i]));
        return P::deliver(result<std::vector<param>>(std::move(out)));
    }

    /// Client: one response element's parameters
    /// (pmd_client_process_response_params); `accepted` names the
    /// extensions accepted before it.
    ret<basic_extension<P>> client_process_response_params(const std::vector<param> &params,
                                                           const std::vector<std::string> &accepted = {}) const {
        std::vector<pmd_param> c = detail::to_c(params);
        std::vector<const char *> names = detail::c_strings(accepted);
        pmd_extension *e = nullptr;
        pmd_result r = pmd_client_process_response_params(h_, c.data(), c.size(), names.data(), names.size(), &e);
        if (r != PMD_OK) return P::deliver(result<basic_extension<P>>(detail::capture(r)));
        return P::deliver(result<basic_extension<P>>(basic_extension<P>(e)));
    }

    /// Server: one offer's parameters (pmd_server_process_request_params).
    ret<basic_server_params_agreement<P>> server_process_request_params(
        const std::vector<param> &params, const std::vector<std::string> &accepted = {}) const {
        std::vector<pmd_param> c = detail::to_c(params);
        std::vector<const char *> names = detail::c_strings(accepted);
        pmd_param resp[8];
        std::size_t n = 0;
        pmd_extension *e = nullptr;
        pmd_result r = pmd_server_process_request_params(h_, c.data(), c.size(), names.data(), names.size(), resp,
                                                         8, &n, &e);
        if (r != PMD_OK) return P::deliver(result<basic_server_params_agreement<P>>(detail::capture(r)));
        basic_server_params_agreement<P> a{{}, basic_extension<P>(e)};
        for (std::size_t i = 0; i < n; i++) a.response.push_back(detail::from_c(resp[i]));
        return P::deliver(result<basic_server_params_agreement<P>>(std::move(a)));
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_config *native() const noexcept { return h_; }
    pmd_config *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_config *owned = nullptr) noexcept { pmd_config_free(std::exchange(h_, owned)); }

private:
    pmd_config *h_ = nullptr;
};

// --- header --------------------------------------------------------------------------

/// One element of a parsed header: views into the header that made it.
struct header_element {
    std::string_view name;
    std::vector<param> params;
};

/// A parsed Sec-WebSocket-Extensions value (owns a pmd_header).
template <class P>
class basic_header {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    basic_header() noexcept = default;
    explicit basic_header(pmd_header *owned) noexcept : h_(owned) {}
    basic_header(basic_header &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    basic_header &operator=(basic_header &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_header(const basic_header &) = delete;
    basic_header &operator=(const basic_header &) = delete;
    ~basic_header() { pmd_header_free(h_); }

    /// pmd_header_parse (an empty view: an absent header, no elements).
    static ret<basic_header> parse(std::string_view value) {
        pmd_header *h = nullptr;
        pmd_result r = pmd_header_parse(detail::value_ptr(value), value.size(), &h);
        if (r != PMD_OK) return P::deliver(result<basic_header>(detail::capture(r)));
        return P::deliver(result<basic_header>(basic_header(h)));
    }

    /// pmd_header_build: "name; param; param=value" (quoting when needed).
    static ret<std::string> build(std::string_view name, const std::vector<param> &params = {}) {
        std::vector<pmd_param> c = detail::to_c(params);
        const char *n = name.data() ? name.data() : "";
        std::size_t len = 0;
        pmd_result r = pmd_header_build(n, name.size(), c.data(), c.size(), nullptr, 0, &len);
        if (r != PMD_OK && r != PMD_ERR_BUFFER_TOO_SMALL) return P::deliver(result<std::string>(detail::capture(r)));
        std::string out(len + 1, '\0');
        r = pmd_header_build(n, name.size(), c.data(), c.size(), &out[0], out.size(), &len);
        if (r != PMD_OK) return P::deliver(result<std::string>(detail::capture(r)));
        out.resize(len);
        return P::deliver(result<std::string>(std::move(out)));
    }

    /// The number of elements (pmd_header_count).
    std::size_t size() const noexcept { return pmd_header_count(h_); }
    bool empty() const noexcept { return size() == 0; }

    /// The element at `index` (pmd_header_get); views valid while this lives.
    ret<header_element> at(std::size_t index) const {
        const char *name = nullptr;
        std::size_t name_len = 0;
        const pmd_param *params = nullptr;
        std::size_t n = 0;
        pmd_result r = pmd_header_get(h_, index, &name, &name_len, &params, &n);
        if (r != PMD_OK) return P::deliver(result<header_element>(detail::capture(r)));
        header_element e{std::string_view(name, name_len), {}};
        for (std::size_t i = 0; i < n; i++) e.params.push_back(detail::from_c(params[i]));
        return P::deliver(result<header_element>(std::move(e)));
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_header *native() const noexcept { return h_; }
    pmd_header *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_header *owned = nullptr) noexcept { pmd_header_free(std::exchange(h_, owned)); }

private:
    pmd_header *h_ = nullptr;
};

// --- framework: factories, negotiator, chain ---------------------------------------

namespace detail {
/// Owns a filled factory struct until a negotiator takes it.
template <class F>
class factory_owner {
public:
    factory_owner() noexcept : f_() {}
    /// Takes a factory struct you filled (or the C API filled): its user
    /// data is freed with its destroy unless a negotiator takes it.
    explicit factory_owner(const F &f) noexcept : f_(f), owned_(true) {}
    factory_owner(factory_owner &&o) noexcept : f_(o.f_), owned_(std::exchange(o.owned_, false)) {}
    factory_owner &operator=(factory_owner &&o) noexcept {
        if (this != &o) {
            drop();
            f_ = o.f_;
            owned_ = std::exchange(o.owned_, false);
        }
        return *this;
    }
    factory_owner(const factory_owner &) = delete;
    factory_owner &operator=(const factory_owner &) = delete;
    ~factory_owner() { drop(); }

    explicit operator bool() const noexcept { return owned_; }
    const F &native() const noexcept { return f_; }
    std::string_view name() const noexcept { return f_.name ? f_.name : ""; }
    /// Gives up ownership of the user data (a negotiator took it).
    F release() noexcept {
        owned_ = false;
        return f_;
    }

private:
    void drop() noexcept {
        if (owned_ && f_.destroy) f_.destroy(f_.user);
        owned_ = false;
    }
    F f_;
    bool owned_ = false;
};
}  // namespace detail

/// A client factory waiting to be added to a negotiator.
template <class P>
class basic_client_factory : public detail::factory_owner<pmd_client_factory> {
public:
    template <class T>
    using ret = typename P::template ret<T>;
    using detail::factory_owner<pmd_client_factory>::factory_owner;

    /// pmd_client_factory_permessage_deflate: the built-in one, for a copy of cfg.
    static ret<basic_client_factory> permessage_deflate(const pmd_config *cfg) {
        pmd_client_factory f;
        pmd_result r = pmd_client_factory_permessage_deflate(cfg, &f);
        if (r != PMD_OK) return P::deliver(result<basic_client_factory>(detail::capture(r)));
        return P::deliver(result<basic_client_factory>(basic_client_factory(f)));
    }
    template <class Q>
    static ret<basic_client_factory> permessage_deflate(const basic_config<Q> &cfg) {
        return permessage_deflate(cfg.native());
    }
};

/// A server factory waiting to be added to a negotiator.
template <class P>
class basic_server_factory : public detail::factory_owner<pmd_server_factory> {
public:
    template <class T>
    using ret = typename P::template ret<T>;
    using detail::factory_owner<pmd_server_factory>::factory_owner;

    /// pmd_server_factory_permessage_deflate: the built-in one, for a copy of cfg.
    static ret<basic_server_factory> permessage_deflate(const pmd_config *cfg) {
        pmd_server_factory f;
        pmd_result r = pmd_server_factory_permessage_deflate(cfg, &f);
        if (r != PMD_OK) return P::deliver(result<basic_server_factory>(detail::capture(r)));
        return P::deliver(result<basic_server_factory>(basic_server_factory(f)));
    }
    template <class Q>
    static ret<basic_server_factory> permessage_deflate(const basic_config<Q> &cfg) {
        return permessage_deflate(cfg.native());
    }
};

/// One connection's negotiated extensions, in order (owns a pmd_chain).
template <class P>
class basic_chain {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    basic_chain() noexcept = default;
    explicit basic_chain(pmd_chain *owned) noexcept : h_(owned) {}
    basic_chain(basic_chain &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    template <class Q>
    basic_chain(basic_chain<Q> &&o) noexcept : h_(o.release()) {}
    basic_chain &operator=(basic_chain &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_chain(const basic_chain &) = delete;
    basic_chain &operator=(const basic_chain &) = delete;
    ~basic_chain() { pmd_chain_free(h_); }

    /// pmd_chain_encode: through every extension, first to last.
    ret<frame> encode(const frame &in) {
        pmd_frame c = in.to_c(), out;
        pmd_result r = pmd_chain_encode(h_, &c, &out);
        if (r != PMD_OK) return P::deliver(result<frame>(detail::capture(r)));
        return P::deliver(result<frame>(frame::from_c(out)));
    }
    /// pmd_chain_decode: last to first, then the reserved-bit check.
    ret<frame> decode(const frame &in, std::size_t max_size = no_limit) {
        pmd_frame c = in.to_c(), out;
        pmd_result r = pmd_chain_decode(h_, &c, max_size, &out);
        if (r != PMD_OK) return P::deliver(result<frame>(detail::capture(r)));
        return P::deliver(result<frame>(frame::from_c(out)));
    }
    ret<void> set_max_message_size(std::size_t bytes) {
        return P::deliver(detail::status(pmd_chain_set_max_message_size(h_, bytes)));
    }
    /// pmd_chain_count.
    std::size_t size() const noexcept { return pmd_chain_count(h_); }
    bool empty() const noexcept { return size() == 0; }
    /// pmd_chain_get: the instance, still owned by the chain.
    ret<pmd_extension_instance> get(std::size_t index) const {
        pmd_extension_instance i;
        pmd_result r = pmd_chain_get(h_, index, &i);
        if (r != PMD_OK) return P::deliver(result<pmd_extension_instance>(detail::capture(r)));
        return P::deliver(result<pmd_extension_instance>(i));
    }
    /// The names of the extensions, in order.
    std::vector<std::string_view> names() const {
        std::vector<std::string_view> out;
        for (std::size_t i = 0; i < size(); i++) {
            pmd_extension_instance inst;
            if (pmd_chain_get(h_, i, &inst) == PMD_OK && inst.vtable && inst.vtable->name)
                out.emplace_back(inst.vtable->name);
        }
        return out;
    }
    /// Whether permessage-deflate (the built-in one) is in the chain.
    bool has_permessage_deflate() const noexcept {
        for (std::size_t i = 0; i < size(); i++) {
            pmd_extension_instance inst;
            if (pmd_chain_get(h_, i, &inst) == PMD_OK && inst.vtable == pmd_permessage_deflate_vtable())
                return true;
        }
        return false;
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_chain *native() const noexcept { return h_; }
    pmd_chain *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_chain *owned = nullptr) noexcept { pmd_chain_free(std::exchange(h_, owned)); }

private:
    pmd_chain *h_ = nullptr;
};

/// What a negotiator's server answers: the response value and the chain.
template <class P>
struct basic_chain_agreement {
    std::string response;
    basic_chain<P> chain;
};

/// An ordered list of client and server factories (owns a pmd_negotiator).
template <class P>
class basic_negotiator {
public:
    template <class T>
    using ret = typename P::template ret<T>;

    basic_negotiator() : h_(pmd_negotiator_new()) {
        if (!h_) P::allocation_failed("pmd_negotiator_new");
    }
    explicit basic_negotiator(pmd_negotiator *owned) noexcept : h_(owned) {}
    static ret<basic_negotiator> create() {
        pmd_negotiator *n = pmd_negotiator_new();
        if (!n)
            return P::deliver(
                result<basic_negotiator>(failure(PMD_ERR_OUT_OF_MEMORY, "pmd_negotiator_new returned NULL")));
        return P::deliver(result<basic_negotiator>(basic_negotiator(n)));
    }
    basic_negotiator(basic_negotiator &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    basic_negotiator &operator=(basic_negotiator &&o) noexcept {
        if (this != &o) reset(std::exchange(o.h_, nullptr));
        return *this;
    }
    basic_negotiator(const basic_negotiator &) = delete;
    basic_negotiator &operator=(const basic_negotiator &) = delete;
    ~basic_negotiator() { pmd_negotiator_free(h_); }

    /// pmd_negotiator_add_client. On success the negotiator owns the
    /// factory's user data; on failure `f` still does.
    template <class Q>
    ret<void> add_client(basic_client_factory<Q> &&f) {
        if (!f) return P::deliver(detail::status_of(PMD_ERR_NULL_POINTER, "add_client: the factory is empty (moved from or added)"));
        pmd_result r = pmd_negotiator_add_client(h_, &f.native());
        if (r == PMD_OK) f.release();
        return P::deliver(detail::status(r));
    }
    /// pmd_negotiator_add_server, with the ownership rule of add_client.
    template <class Q>
    ret<void> add_server(basic_server_factory<Q> &&f) {
        if (!f) return P::deliver(detail::status_of(PMD_ERR_NULL_POINTER, "add_server: the factory is empty (moved from or added)"));
        pmd_result r = pmd_negotiator_add_server(h_, &f.native());
        if (r == PMD_OK) f.release();
        return P::deliver(detail::status(r));
    }

    /// pmd_negotiator_client_offer: the whole request value ("" means
    /// send no header).
    ret<std::string> client_offer() const {
        std::size_t len = 0;
        pmd_result r = pmd_negotiator_client_offer(h_, nullptr, 0, &len);
        if (r != PMD_OK && r != PMD_ERR_BUFFER_TOO_SMALL) return P::deliver(result<std::string>(detail::capture(r)));
        std::string out(len + 1, '\0');
        r = pmd_negotiator_client_offer(h_, &out[0], out.size(), &len);
        if (r != PMD_OK) return P::deliver(result<std::string>(detail::capture(r)));
        out.resize(len);
        return P::deliver(result<std::string>(std::move(out)));
    }
    /// pmd_negotiator_client_accept: the response value (empty: no header).
    ret<basic_chain<P>> client_accept(std::string_view response) const {
        pmd_chain *c = nullptr;
        pmd_result r = pmd_negotiator_client_accept(h_, detail::value_ptr(response), response.size(), &c);
        if (r != PMD_OK) return P::deliver(result<basic_chain<P>>(detail::capture(r)));
        return P::deliver(result<basic_chain<P>>(basic_chain<P>(c)));
    }
    /// pmd_negotiator_server_negotiate: the response value and the chain.
    ret<basic_chain_agreement<P>> server_negotiate(std::string_view request) const {
        std::string buf(PMD_MAX_RESPONSE_LEN, '\0');
        for (int attempt = 0; attempt < 2; attempt++) {
            std::size_t len = 0;
            pmd_chain *c = nullptr;
            pmd_result r = pmd_negotiator_server_negotiate(h_, detail::value_ptr(request), request.size(), &buf[0],
                                                           buf.size(), &len, &c);
            if (r == PMD_ERR_BUFFER_TOO_SMALL && attempt == 0) {
                buf.assign(len + 1, '\0');  // the extensions were destroyed: negotiate again
                continue;
            }
            if (r != PMD_OK) return P::deliver(result<basic_chain_agreement<P>>(detail::capture(r)));
            buf.resize(len);
            basic_chain_agreement<P> a{std::move(buf), basic_chain<P>(c)};
            return P::deliver(result<basic_chain_agreement<P>>(std::move(a)));
        }
        return P::deliver(result<basic_chain_agreement<P>>(
            failure(PMD_ERR_BUFFER_TOO_SMALL, "pmd_negotiator_server_negotiate: the response grew between calls")));
    }

    explicit operator bool() const noexcept { return h_ != nullptr; }
    pmd_negotiator *native() const noexcept { return h_; }
    pmd_negotiator *release() noexcept { return std::exchange(h_, nullptr); }
    void reset(pmd_negotiator *owned = nullptr) noexcept { pmd_negotiator_free(std::exchange(h_, owned)); }

private:
    pmd_negotiator *h_ = nullptr;
};

// --- the two flavours ------------------------------------------------------------------

/// Throwing flavour (pmd::error).
using config = basic_config<throw_errors>;
using extension = basic_extension<throw_errors>;
using encoder = basic_encoder<throw_errors>;
using server_agreement = basic_server_agreement<throw_errors>;
using server_params_agreement = basic_server_params_agreement<throw_errors>;
using header = basic_header<throw_errors>;
using client_factory = basic_client_factory<throw_errors>;
using server_factory = basic_server_factory<throw_errors>;
using negotiator = basic_negotiator<throw_errors>;
using chain = basic_chain<throw_errors>;
using chain_agreement = basic_chain_agreement<throw_errors>;

/// Result flavour (pmd::result<T>).
namespace nothrow {
using config = basic_config<return_errors>;
using extension = basic_extension<return_errors>;
using encoder = basic_encoder<return_errors>;
using server_agreement = basic_server_agreement<return_errors>;
using server_params_agreement = basic_server_params_agreement<return_errors>;
using header = basic_header<return_errors>;
using client_factory = basic_client_factory<return_errors>;
using server_factory = basic_server_factory<return_errors>;
using negotiator = basic_negotiator<return_errors>;
using chain = basic_chain<return_errors>;
using chain_agreement = basic_chain_agreement<return_errors>;
}  // namespace nothrow

}  // namespace pmd

#endif  // PMDEFLATE_HPP
