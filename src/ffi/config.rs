//! `pmd_config`: the factory parameters, set from C.

use std::ffi::c_int;

use crate::config::Config;
use crate::error::Error;
use crate::ffi::{free_handle, guard, guard_value, into_handle, pmd_result, req_mut};

/// An opaque set of permessage-deflate parameters for either role (
/// websockets' client and server factory arguments) plus zlib settings.
pub struct pmd_config {
    pub(crate) inner: Config,
}

/// zlib's default strategy.
pub const PMD_STRATEGY_DEFAULT: i32 = 0;
/// zlib's Z_FILTERED.
pub const PMD_STRATEGY_FILTERED: i32 = 1;
/// zlib's Z_HUFFMAN_ONLY.
pub const PMD_STRATEGY_HUFFMAN_ONLY: i32 = 2;
/// zlib's Z_RLE.
pub const PMD_STRATEGY_RLE: i32 = 3;
/// zlib's Z_FIXED.
pub const PMD_STRATEGY_FIXED: i32 = 4;

/// Creates a configuration with websockets' defaults: no parameter
/// set, zlib's default level, memLevel 8, default strategy, require and
/// require_client_max_window_bits off. Returns NULL only when out of
/// memory (pmd_last_error then says so). Free it with pmd_config_free. A config is read-only during
/// negotiation and may be shared by any number of threads once set up;
/// setters must not run concurrently with any other use of it.
#[no_mangle]
pub extern "C" fn pmd_config_new() -> *mut pmd_config {
    let func = crate::ffi::fn_name!();
    guard_value(std::ptr::null_mut(), || {
        let made = into_handle(pmd_config {
            inner: Config::default(),
        });
        crate::ffi::handle_or_null(func, made)
    })
}

/// Frees a configuration. NULL is a no-op. Extensions negotiated with it
/// do not refer to it and stay valid.
///
/// # Safety
/// `cfg` is NULL or a live config from pmd_config_new, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_free(cfg: *mut pmd_config) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(cfg) })
}

/// Runs a setter on a config. On error the config is unchanged.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
unsafe fn set(cfg: *mut pmd_config, f: impl FnOnce(&mut Config) -> Result<(), Error>) -> Result<(), Error> {
    // SAFETY: forwarded caller guarantee.
    let cfg = unsafe { req_mut(cfg, "cfg") }?;
    f(&mut cfg.inner)
}

/// Offer (client) or impose (server) server_no_context_takeover.
/// PMD_OK, or PMD_ERR_NULL_POINTER when cfg is NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_server_no_context_takeover(cfg: *mut pmd_config, on: bool) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.server_no_context_takeover = on;
            Ok(())
        })
    })
}

/// Offer (client) or impose (server) client_no_context_takeover.
/// PMD_OK, or PMD_ERR_NULL_POINTER when cfg is NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_client_no_context_takeover(cfg: *mut pmd_config, on: bool) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.client_no_context_takeover = on;
            Ok(())
        })
    })
}

/// server_max_window_bits: 0 (not set) or 8..15. PMD_ERR_INVALID_ARGUMENT
/// for any other value (config unchanged), PMD_ERR_NULL_POINTER for NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_server_max_window_bits(cfg: *mut pmd_config, bits: c_int) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe { set(cfg, |c| { c.set_server_max_window_bits(bits) }) })
}

/// client_max_window_bits: 0 (not set), 8..15, or PMD_WINDOW_BITS_NO_VALUE
/// (-1: a client offers the parameter without a value; a server config
/// with it fails negotiation with PMD_ERR_INVALID_ARGUMENT).
/// PMD_ERR_INVALID_ARGUMENT for any other value (config unchanged).
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_client_max_window_bits(cfg: *mut pmd_config, bits: c_int) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe { set(cfg, |c| { c.set_client_max_window_bits(bits) }) })
}

/// zlib compression level: -1 (zlib's default, 6) or 0..9.
/// PMD_ERR_INVALID_ARGUMENT otherwise (config unchanged).
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_compress_level(cfg: *mut pmd_config, level: c_int) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe { set(cfg, |c| c.set_compress_level(level)) })
}

/// zlib memLevel, 1..9 (default 8): deflate memory is 2^(memLevel+9) bytes
/// plus the window. PMD_ERR_INVALID_ARGUMENT otherwise (config unchanged).
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_mem_level(cfg: *mut pmd_config, mem_level: c_int) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe { set(cfg, |c| c.set_mem_level(mem_level)) })
}

/// zlib strategy, a PMD_STRATEGY_* value. PMD_ERR_INVALID_ARGUMENT
/// otherwise (config unchanged).
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_strategy(cfg: *mut pmd_config, strategy: c_int) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe { set(cfg, |c| c.set_strategy(strategy)) })
}

/// Server: when on, a request with no acceptable permessage-deflate offer
/// makes pmd_server_negotiate fail with PMD_ERR_NEGOTIATION.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_require(cfg: *mut pmd_config, on: bool) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.require = on;
            Ok(())
        })
    })
}

/// Server: when on, decline offers that do not advertise
/// client_max_window_bits (websockets' require_client_max_window_bits).
/// Negotiating with it on but client_max_window_bits unset is
/// PMD_ERR_INVALID_ARGUMENT.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_require_client_max_window_bits(cfg: *mut pmd_config, on: bool) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.require_client_max_window_bits = on;
            Ok(())
        })
    })
}

/// The per-message limit that every extension negotiated with this config
/// starts with (pmd_client_accept, pmd_server_negotiate, the parameter-level
/// functions, pmd_extension_new and the built-in framework factories): the
/// most bytes one incoming message may decode to, counting every data frame
/// of it, compressed or not. SIZE_MAX (the default) means no limit; 0 allows
/// only empty messages. pmd_extension_set_max_message_size changes it for
/// one extension. Always PMD_OK, or PMD_ERR_NULL_POINTER when cfg is NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_max_message_size(cfg: *mut pmd_config, bytes: usize) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.max_message_size = bytes;
            Ok(())
        })
    })
}

/// Strict window check on decode (off by default). zlib checks a match
/// distance against the window it keeps plus what the current inflate call
/// has written, not against the agreed window. By default pmdeflate inflates
/// in calls as large as the output allows, at zlib's full speed: a distance
/// beyond zlib's kept window (2^window_bits bytes of history) plus the
/// call's own output is PMD_ERR_CORRUPT_DATA, and memory stays bounded by
/// the agreed window, but a sender that exceeds an agreed window below 15
/// bits within one message is not reliably caught: such a message decodes
/// to the sender's bytes or is refused, depending on where the calls were
/// cut. On, a decoder below 15 bits
/// inflates in calls of a quarter window, so a distance more than a quarter
/// window beyond the agreed one is PMD_ERR_CORRUPT_DATA even within a
/// message; this costs decode speed on larger messages (docs/frames.md).
/// Every extension negotiated with this config inherits it. Always PMD_OK,
/// or PMD_ERR_NULL_POINTER when cfg is NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_strict_window(cfg: *mut pmd_config, on: bool) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.strict_window = on;
            Ok(())
        })
    })
}

/// Compression threshold (0 by default: every message is compressed). A
/// whole message in one frame (the first frame, with FIN set) whose payload
/// is shorter than `bytes` is returned by pmd_extension_encode as it is,
/// with RSV1 clear: the frame's own data, not a copy. Fragmented messages
/// are always compressed. Under context takeover the deflate stream never
/// sees the skipped message, which RFC 7692 allows (RSV1 is per message).
/// Every extension negotiated with this config inherits it. Always PMD_OK,
/// or PMD_ERR_NULL_POINTER when cfg is NULL.
///
/// # Safety
/// `cfg` is NULL or a live config not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn pmd_config_set_compress_threshold(cfg: *mut pmd_config, bytes: usize) -> pmd_result {
    // SAFETY: forwarded caller guarantee.
    guard!(|| unsafe {
        set(cfg, |c| {
            c.compress_threshold = bytes;
            Ok(())
        })
    })
}
