//! Negotiation from C: whole header values and the parameter-level factory
//! methods.

use std::ffi::c_char;

use crate::error::Error;
use crate::extension::Agreed;
use crate::ffi::config::pmd_config;
use crate::ffi::extension::{new_extension, pmd_extension};
use crate::ffi::header::{pmd_param, read_params, static_param};
use crate::ffi::{array, bytes, cstr, free_handle, guard, null, pmd_result, req, req_mut, too_small, write_str};
use crate::negotiate;
use crate::params::StaticParam;

/// Writes parameters into a caller array of `cap`; `*n` gets the count,
/// also when the array is too small.
///
/// # Safety
/// `out` is NULL or valid for `cap` writes; `n` is NULL or writable.
unsafe fn write_params(list: &[StaticParam], out: *mut pmd_param, cap: usize, n: *mut usize) -> Result<(), Error> {
    // SAFETY: forwarded caller guarantee.
    let n = unsafe { req_mut(n, "n") }?;
    if out.is_null() && cap != 0 {
        return Err(crate::ffi::null("out"));
    }
    *n = list.len();
    if cap < list.len() {
        return Err(too_small(list.len(), cap));
    }
    for (i, p) in list.iter().enumerate() {
        // SAFETY: i < list.len() <= cap, so out.add(i) is writable.
        unsafe { out.add(i).write(static_param(p)) };
    }
    Ok(())
}

/// Reads the names of extensions accepted before.
///
/// # Safety
/// `accepted` is NULL (with n == 0) or n valid NUL-terminated strings.
unsafe fn read_accepted<'a>(accepted: *const *const c_char, n: usize) -> Result<Vec<&'a [u8]>, Error> {
    // SAFETY: forwarded caller guarantee.
    let list = unsafe { array(accepted, n, "accepted") }?;
    let mut out = crate::fallible::vec_with_capacity(list.len())?;
    for &p in list {
        // SAFETY: each entry is NULL or a NUL-terminated string.
        out.push(unsafe { cstr(p, "an accepted extension name") }?);
    }
    Ok(out)
}

/// Creates the extension for `agreed` and stores it in `*ext`.
fn deliver(cfg: &pmd_config, agreed: Agreed, ext: &mut *mut pmd_extension) -> Result<(), Error> {
    deliver_with(cfg, agreed, ext, || Ok(()))
}

/// As `deliver`, with other outputs written by `write` once the extension
/// exists, so that nothing is written when a step fails (a failed write
/// frees the new extension).
fn deliver_with(
    cfg: &pmd_config,
    agreed: Agreed,
    ext: &mut *mut pmd_extension,
    write: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    let handle = new_extension(agreed, &cfg.inner)?;
    if let Err(e) = write() {
        // SAFETY: handle was just made by new_extension and given to no one.
        unsafe { free_handle(handle) };
        return Err(e);
    }
    *ext = handle;
    Ok(())
}

/// Client: writes the Sec-WebSocket-Extensions request value, e.g.
/// "permessage-deflate; client_max_window_bits", into `buf` (NUL-terminated
/// when room allows; *out_len excludes the NUL). PMD_MAX_RESPONSE_LEN bytes
/// are always enough.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (cfg, out_len, or buf with
/// cap > 0); PMD_ERR_BUFFER_TOO_SMALL with *out_len the length needed;
/// PMD_ERR_OUT_OF_MEMORY. Thread-safe on a shared config.
///
/// # Safety
/// Pointers are NULL or valid; `buf` has `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_offer(
    cfg: *const pmd_config,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let cfg = unsafe { req(cfg, "cfg") }?;
        let offer = negotiate::client_offer(&cfg.inner);
        // SAFETY: as above.
        unsafe { write_str(offer?.as_bytes(), buf, cap, out_len) }
    })
}

/// Client: reads the server's Sec-WebSocket-Extensions response value
/// (NULL or len 0 when the header was absent). On PMD_OK, *ext is the
/// negotiated extension (free it with pmd_extension_free), or NULL when
/// the server did not enable permessage-deflate. Elements of other
/// extensions are ignored: they are the caller's business.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (cfg or ext);
/// PMD_ERR_HEADER_SYNTAX when the value does not parse;
/// PMD_ERR_NEGOTIATION when the response breaks the client's rules or holds
/// permessage-deflate twice. Either error means the client must fail the
/// WebSocket connection. PMD_ERR_OUT_OF_MEMORY. Thread-safe on a shared
/// config.
///
/// # Safety
/// `response` is NULL or valid for `len` bytes; other pointers NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_accept(
    cfg: *const pmd_config,
    response: *const c_char,
    len: usize,
    ext: *mut *mut pmd_extension,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, ext) = unsafe { (req(cfg, "cfg")?, req_mut(ext, "ext")?) };
        // SAFETY: as above; NULL means the header was absent.
        let response = unsafe { bytes(response, len, "response", true) }?;
        match negotiate::client_accept(&cfg.inner, response)? {
            Some(agreed) => deliver(cfg, agreed, ext),
            None => {
                *ext = std::ptr::null_mut();
                Ok(())
            }
        }
    })
}

/// Server: reads the client's Sec-WebSocket-Extensions request value
/// (several header lines joined with ", "; NULL or len 0 when the header
/// was absent) and tries its
/// permessage-deflate offers in order. On PMD_OK with *ext set, buf holds
/// the response value to send (NUL-terminated when room allows); with *ext
/// NULL no offer was acceptable, *out_len is 0 and no permessage-deflate
/// response is sent. PMD_MAX_RESPONSE_LEN bytes are always enough.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (cfg, out_len, ext, request with
/// len > 0, or buf with cap > 0); PMD_ERR_HEADER_SYNTAX when the value does not parse
/// (answer HTTP 400); PMD_ERR_NEGOTIATION when `require` is set and no
/// offer was acceptable; PMD_ERR_INVALID_ARGUMENT when the config cannot be
/// used by a server (client_max_window_bits = PMD_WINDOW_BITS_NO_VALUE, or
/// require_client_max_window_bits without client_max_window_bits);
/// PMD_ERR_BUFFER_TOO_SMALL with *out_len the length needed (no extension is
/// created); PMD_ERR_OUT_OF_MEMORY. Thread-safe on a shared config.
///
/// # Safety
/// Pointers are NULL or valid for the stated lengths.
#[no_mangle]
pub unsafe extern "C" fn pmd_server_negotiate(
    cfg: *const pmd_config,
    request: *const c_char,
    len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    ext: *mut *mut pmd_extension,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, ext) = unsafe { (req(cfg, "cfg")?, req_mut(ext, "ext")?) };
        if out_len.is_null() {
            return Err(null("out_len"));
        }
        // SAFETY: as above; (NULL, 0) means the header was absent.
        let request = unsafe { bytes(request, len, "request", true) }?;
        match negotiate::server_negotiate(&cfg.inner, request)? {
            Some((value, agreed)) => {
                // SAFETY: as above.
                deliver_with(cfg, agreed, ext, || unsafe {
                    write_str(value.as_bytes(), buf, cap, out_len)
                })
            }
            None => {
                // SAFETY: as above.
                unsafe { write_str(b"", buf, cap, out_len) }?;
                *ext = std::ptr::null_mut();
                Ok(())
            }
        }
    })
}

/// Client: the parameters of the offer (websockets'
/// get_request_params), in the order server_no_context_takeover,
/// client_no_context_takeover, server_max_window_bits,
/// client_max_window_bits, each only when set. Strings are static. At most
/// 4 parameters.
///
/// Results: PMD_OK with *n the count; PMD_ERR_NULL_POINTER (cfg, n, or out
/// with cap > 0); PMD_ERR_BUFFER_TOO_SMALL with *n the count needed.
///
/// # Safety
/// `out` is NULL or valid for `cap` writes; other pointers NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_request_params(
    cfg: *const pmd_config,
    out: *mut pmd_param,
    cap: usize,
    n: *mut usize,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let cfg = unsafe { req(cfg, "cfg") }?;
        // SAFETY: as above.
        unsafe { write_params(&negotiate::client_request_params(&cfg.inner), out, cap, n) }
    })
}

/// Client: processes the parameters of the server's permessage-deflate
/// response element (websockets' process_response_params). `accepted`
/// holds the names (NUL-terminated) of extensions accepted before this one;
/// permessage-deflate among them is PMD_ERR_NEGOTIATION ("received
/// duplicate"). On PMD_OK *ext is a new extension (remote = server side).
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_NEGOTIATION for every
/// client rule of RFC 7692 section 7.1 (unknown, duplicate or invalid parameters,
/// parameters the offer does not allow); PMD_ERR_OUT_OF_MEMORY.
///
/// # Safety
/// Arrays are NULL (with a zero count) or valid for their counts.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_process_response_params(
    cfg: *const pmd_config,
    params: *const pmd_param,
    n: usize,
    accepted: *const *const c_char,
    n_accepted: usize,
    ext: *mut *mut pmd_extension,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, ext) = unsafe { (req(cfg, "cfg")?, req_mut(ext, "ext")?) };
        // SAFETY: as above.
        let (params, accepted) = unsafe { (read_params(params, n)?, read_accepted(accepted, n_accepted)?) };
        let agreed = negotiate::client_process_response(&cfg.inner, &params, &accepted)?;
        deliver(cfg, agreed, ext)
    })
}

/// Server: processes the parameters of one client offer (websockets'
/// process_request_params). On PMD_OK, `response` holds *n_response
/// parameters to send back (static strings, at most 4) and *ext is a new
/// extension (remote = client side).
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_NEGOTIATION for every
/// server rule of RFC 7692 section 7.1 and when permessage-deflate is in `accepted`
/// ("skipped duplicate"); PMD_ERR_INVALID_ARGUMENT for a config a server
/// cannot use; PMD_ERR_BUFFER_TOO_SMALL with *n_response the count needed
/// (no extension is created); PMD_ERR_OUT_OF_MEMORY.
///
/// # Safety
/// Arrays are NULL (with a zero count) or valid for their counts.
#[no_mangle]
pub unsafe extern "C" fn pmd_server_process_request_params(
    cfg: *const pmd_config,
    params: *const pmd_param,
    n: usize,
    accepted: *const *const c_char,
    n_accepted: usize,
    response: *mut pmd_param,
    cap: usize,
    n_response: *mut usize,
    ext: *mut *mut pmd_extension,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, ext) = unsafe { (req(cfg, "cfg")?, req_mut(ext, "ext")?) };
        // SAFETY: as above.
        let (params, accepted) = unsafe { (read_params(params, n)?, read_accepted(accepted, n_accepted)?) };
        let (response_params, agreed) = negotiate::server_process_request(&cfg.inner, &params, &accepted)?;
        // SAFETY: as above.
        deliver_with(cfg, agreed, ext, || unsafe {
            write_params(&response_params, response, cap, n_response)
        })
    })
}
