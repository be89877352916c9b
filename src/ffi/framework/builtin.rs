//! pmdeflate's own permessage-deflate through the C interface: the
//! built-in client and server factories and the vtable of the extensions
//! they make, so that C code can put them in a negotiator beside its own.

use std::ffi::{c_int, c_void, CString};

use crate::error::Error;
use crate::ffi::config::pmd_config;
use crate::ffi::extension::pmd_frame;
use crate::ffi::frame;
use crate::ffi::header::pmd_param;
use crate::ffi::{free_handle, guard, guard_value, into_handle, pmd_result, req, req_mut};
use crate::framework::{ClientDeflateFactory, ClientFactory, Extension, ServerDeflateFactory, ServerFactory};
use crate::header::{Param, ParamRef};

use super::callbacks::slice_ptr;
use super::callbacks::CParams;
use super::wrappers::CExtension;
use super::{pmd_client_factory, pmd_extension_instance, pmd_extension_vtable, pmd_server_factory};

/// A Rust extension handed to C as an instance: its state.
struct Exported {
    ext: Box<dyn Extension>,
    /// The response parameters the server factory returned with it; they
    /// live here so that the pointers given to C stay valid.
    response: Vec<pmd_param>,
}

struct SyncVtable(pmd_extension_vtable);
// SAFETY: the table is immutable and its only pointer is to a static
// string.
unsafe impl Sync for SyncVtable {}

static DEFLATE_VTABLE: SyncVtable = SyncVtable(pmd_extension_vtable {
    name: c"permessage-deflate".as_ptr(),
    encode: Some(exported_encode),
    decode: Some(exported_decode),
    destroy: Some(exported_destroy),
});

/// # Safety
/// `state` is an `Exported` made by a built-in factory, not in use
/// elsewhere; `in_` and `out` are NULL or valid.
unsafe extern "C" fn exported_encode(state: *mut c_void, in_: *const pmd_frame, out: *mut pmd_frame) -> c_int {
    guard("permessage-deflate encode", || {
        // SAFETY: forwarded caller guarantees.
        let ex = unsafe { req_mut(state.cast::<Exported>(), "state") }?;
        // SAFETY: as above.
        unsafe { frame::process(in_, out, || Ok(ex), |ex, frame| ex.ext.encode(frame)) }
    }) as c_int
}

/// # Safety
/// As for `exported_encode`.
unsafe extern "C" fn exported_decode(
    state: *mut c_void,
    in_: *const pmd_frame,
    max_size: usize,
    out: *mut pmd_frame,
) -> c_int {
    guard("permessage-deflate decode", || {
        // SAFETY: forwarded caller guarantees.
        let ex = unsafe { req_mut(state.cast::<Exported>(), "state") }?;
        // SAFETY: as above.
        unsafe { frame::process(in_, out, || Ok(ex), |ex, frame| ex.ext.decode(frame, max_size)) }
    }) as c_int
}

/// # Safety
/// `state` is NULL or an `Exported`, not used afterwards.
unsafe extern "C" fn exported_destroy(state: *mut c_void) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(state.cast::<Exported>()) })
}

fn export(ext: Box<dyn Extension>, response: Vec<pmd_param>) -> pmd_extension_instance {
    pmd_extension_instance {
        vtable: &DEFLATE_VTABLE.0,
        state: into_handle(Exported { ext, response }).cast(),
    }
}

/// Views of the accepted instances a C caller passed to a built-in
/// factory callback.
///
/// # Safety
/// `accepted` is NULL or valid for `n` instances whose vtables are live.
unsafe fn views(accepted: *const pmd_extension_instance, n: usize) -> Result<Vec<CExtension>, Error> {
    // SAFETY: forwarded caller guarantee.
    let list = unsafe { crate::ffi::array(accepted, n, "accepted") }?;
    // SAFETY: as above; views are never destroyed.
    list.iter()
        .map(|&i| unsafe { CExtension::adopt(i, false, "accepted") })
        .collect()
}

fn as_dyn(views: &[CExtension]) -> Vec<&dyn Extension> {
    views.iter().map(|v| v as &dyn Extension).collect()
}

/// The user data of a built-in client factory: the Rust factory and its
/// offer, computed once so that the pointers given out stay valid.
struct BuiltinClient {
    factory: ClientDeflateFactory,
    _storage: Vec<CString>,
    request: Vec<pmd_param>,
}

unsafe extern "C" fn builtin_client_get_request_params(
    user: *mut c_void,
    params: *mut *const pmd_param,
    n: *mut usize,
) -> c_int {
    guard("permessage-deflate get_request_params", || {
        // SAFETY: `user` is the BuiltinClient this factory was made with.
        let (b, params, n) = unsafe {
            (
                req(user.cast::<BuiltinClient>(), "user")?,
                req_mut(params, "params")?,
                req_mut(n, "n")?,
            )
        };
        *params = slice_ptr(&b.request);
        *n = b.request.len();
        Ok(())
    }) as c_int
}

unsafe extern "C" fn builtin_client_process_response_params(
    user: *mut c_void,
    params: *const pmd_param,
    n: usize,
    accepted: *const pmd_extension_instance,
    n_accepted: usize,
    out: *mut pmd_extension_instance,
) -> c_int {
    guard("permessage-deflate process_response_params", || {
        // SAFETY: `user` is the BuiltinClient this factory was made with;
        // the arrays are valid for their counts (header).
        let (b, out, params, accepted) = unsafe {
            (
                req(user.cast::<BuiltinClient>(), "user")?,
                req_mut(out, "out")?,
                crate::ffi::header::read_params(params, n)?,
                views(accepted, n_accepted)?,
            )
        };
        let ext = b.factory.process_response_params(&params, &as_dyn(&accepted))?;
        *out = export(ext, Vec::new());
        Ok(())
    }) as c_int
}

unsafe extern "C" fn builtin_client_destroy(user: *mut c_void) {
    // SAFETY: `user` is NULL or the BuiltinClient, freed once.
    guard_value((), || unsafe { free_handle(user.cast::<BuiltinClient>()) })
}

/// The user data of a built-in server factory.
struct BuiltinServer {
    factory: ServerDeflateFactory,
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn builtin_server_process_request_params(
    user: *mut c_void,
    params: *const pmd_param,
    n: usize,
    accepted: *const pmd_extension_instance,
    n_accepted: usize,
    response: *mut *const pmd_param,
    n_response: *mut usize,
    out: *mut pmd_extension_instance,
) -> c_int {
    guard("permessage-deflate process_request_params", || {
        // SAFETY: `user` is the BuiltinServer this factory was made with;
        // the arrays are valid for their counts (header).
        let (b, response, n_response, out, params, accepted) = unsafe {
            (
                req(user.cast::<BuiltinServer>(), "user")?,
                req_mut(response, "response")?,
                req_mut(n_response, "n_response")?,
                req_mut(out, "out")?,
                crate::ffi::header::read_params(params, n)?,
                views(accepted, n_accepted)?,
            )
        };
        let (resp, ext) = b.factory.process_request_params(&params, &as_dyn(&accepted))?;
        // Every parameter the deflate factory answers with is a static
        // string of the negotiate module: point at those.
        let list = resp
            .iter()
            .map(|p| {
                let name = static_str(&p.name)?;
                let value = p.value.as_deref().map(static_str).transpose()?;
                Ok(pmd_param {
                    name: name.as_ptr().cast(),
                    name_len: name.len(),
                    value: value.map_or(std::ptr::null(), |v| v.as_ptr().cast()),
                    value_len: value.map_or(0, str::len),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let inst = export(ext, list);
        // SAFETY: `inst.state` is the Exported just made; its response
        // vector lives as long as the instance.
        let ex = unsafe { &*inst.state.cast::<Exported>() };
        *response = slice_ptr(&ex.response);
        *n_response = ex.response.len();
        *out = inst;
        Ok(())
    }) as c_int
}

/// The static spelling of a permessage-deflate parameter name or value.
fn static_str(s: &str) -> Result<&'static str, Error> {
    use crate::params::*;
    const BITS: [&str; 8] = ["8", "9", "10", "11", "12", "13", "14", "15"];
    [
        SERVER_NO_CONTEXT_TAKEOVER,
        CLIENT_NO_CONTEXT_TAKEOVER,
        SERVER_MAX_WINDOW_BITS,
        CLIENT_MAX_WINDOW_BITS,
    ]
    .into_iter()
    .chain(BITS)
    .find(|c| *c == s)
    .ok_or_else(|| Error::Internal(format!("no static string for {s:?}")))
}

unsafe extern "C" fn builtin_server_destroy(user: *mut c_void) {
    // SAFETY: `user` is NULL or the BuiltinServer, freed once.
    guard_value((), || unsafe { free_handle(user.cast::<BuiltinServer>()) })
}

/// Fills `*out` with pmdeflate's own permessage-deflate client factory for
/// a copy of `cfg` (its offer and the response rules of SPEC section 4):
/// one pmd_client_factory among others, to add to a negotiator with
/// pmd_negotiator_add_client. Its extensions encode and decode like a
/// pmd_extension; their vtable's name is "permessage-deflate". Its
/// callbacks are thread-safe.
///
/// Ownership: `out->user` holds the copy. Adding the factory to a
/// negotiator hands it over; a factory never added must be released with
/// `out->destroy(out->user)`. `cfg` is not referenced afterwards.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when cfg or out is NULL (nothing
/// is written).
///
/// # Safety
/// `cfg` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_factory_permessage_deflate(
    cfg: *const pmd_config,
    out: *mut pmd_client_factory,
) -> pmd_result {
    guard("pmd_client_factory_permessage_deflate", || {
        // SAFETY: forwarded caller guarantees.
        let (cfg, out) = unsafe { (req(cfg, "cfg")?, req_mut(out, "out")?) };
        let factory = ClientDeflateFactory::new(cfg.inner.clone());
        let params = factory.get_request_params()?;
        let refs: Vec<ParamRef<'_>> = params.iter().map(Param::as_ref).collect();
        let c = CParams::new(&refs)?;
        let user = into_handle(BuiltinClient {
            factory,
            _storage: c._storage,
            request: c.list,
        });
        *out = pmd_client_factory {
            name: c"permessage-deflate".as_ptr(),
            user: user.cast(),
            get_request_params: Some(builtin_client_get_request_params),
            process_response_params: Some(builtin_client_process_response_params),
            destroy: Some(builtin_client_destroy),
        };
        Ok(())
    })
}

/// Fills `*out` with pmdeflate's own permessage-deflate server factory for
/// a copy of `cfg` (the rules of SPEC section 5), to add with
/// pmd_negotiator_add_server. `require` has no effect here, as the
/// reference's factory has no such option: a host that needs
/// permessage-deflate checks the chain. The response parameters it returns
/// live in the extension's state. Ownership as for
/// pmd_client_factory_permessage_deflate.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_INVALID_ARGUMENT for a
/// config a server cannot use (client_max_window_bits =
/// PMD_WINDOW_BITS_NO_VALUE, or require_client_max_window_bits without
/// client_max_window_bits), as the reference's constructor refuses it.
///
/// # Safety
/// `cfg` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_server_factory_permessage_deflate(
    cfg: *const pmd_config,
    out: *mut pmd_server_factory,
) -> pmd_result {
    guard("pmd_server_factory_permessage_deflate", || {
        // SAFETY: forwarded caller guarantees.
        let (cfg, out) = unsafe { (req(cfg, "cfg")?, req_mut(out, "out")?) };
        let factory = ServerDeflateFactory::new(cfg.inner.clone())?;
        let user = into_handle(BuiltinServer { factory });
        *out = pmd_server_factory {
            name: c"permessage-deflate".as_ptr(),
            user: user.cast(),
            process_request_params: Some(builtin_server_process_request_params),
            destroy: Some(builtin_server_destroy),
        };
        Ok(())
    })
}

/// The vtable of the extensions made by the built-in permessage-deflate
/// factories, to recognise them in an accepted list or with pmd_chain_get
/// (compare vtable pointers). Static, never NULL.
#[no_mangle]
pub extern "C" fn pmd_permessage_deflate_vtable() -> *const pmd_extension_vtable {
    &DEFLATE_VTABLE.0
}
