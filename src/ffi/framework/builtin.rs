//! pmdeflate's own permessage-deflate in the framework's C interface: the
//! built-in client and server factories, and the vtable of the C views of
//! its extensions.
//!
//! A negotiator given a built-in factory unwraps it and runs the Rust
//! factory natively: its extensions are native chain members, and frames
//! never cross back into C on their way through a chain. The callbacks
//! below only run when C code calls them itself (a factory of its own that
//! delegates to the built-in one, or a vtable call on a view).

use crate::error::ErrorKind;
use std::ffi::{c_int, c_void};
use std::sync::{Mutex, OnceLock};

use crate::error::Error;
use crate::extension::PerMessageDeflate;
use crate::ffi::config::pmd_config;
use crate::ffi::frame::{self, pmd_frame};
use crate::ffi::header::{pmd_param, read_params, static_param};
use crate::ffi::{array, free_handle, guard, guard_value, into_handle, pmd_result, req, req_mut, run_guarded};
use crate::framework::{ClientDeflateFactory, ClientFactory, Member, ServerDeflateFactory, ServerFactory};
use crate::negotiate;
use crate::params::StaticParam;

use super::callbacks::slice_ptr;
use super::foreign::{adopt, ForeignExtension};
use super::{
    pmd_client_factory, pmd_extension_instance, pmd_extension_vtable, pmd_get_request_params_callback,
    pmd_process_request_params_callback, pmd_process_response_params_callback, pmd_server_factory, FnOf,
};

struct SyncVtable(pmd_extension_vtable);
// SAFETY: the table is immutable and its only pointer is to a static
// string.
unsafe impl Sync for SyncVtable {}

/// The vtable of every C view of a built-in extension; its state is a
/// `PerMessageDeflate`.
static DEFLATE_VTABLE: SyncVtable = SyncVtable(pmd_extension_vtable {
    size: std::mem::size_of::<pmd_extension_vtable>(),
    name: c"permessage-deflate".as_ptr(),
    encode: Some(deflate_encode),
    decode: Some(deflate_decode),
    destroy: Some(deflate_destroy),
});

/// True for the built-in vtable.
pub(super) fn is_deflate(vtable: *const pmd_extension_vtable) -> bool {
    std::ptr::eq(vtable, &DEFLATE_VTABLE.0)
}

/// Takes back an extension the built-in factories gave to C.
///
/// # Safety
/// `state` is the state of an instance with the built-in vtable, owned by
/// the caller and not used afterwards.
pub(super) unsafe fn take(state: *mut c_void) -> Box<PerMessageDeflate> {
    // SAFETY: made by Box::into_raw in `export`, per the caller.
    unsafe { Box::from_raw(state.cast()) }
}

/// The C view of a native extension (owned by its chain).
pub(super) fn view(ext: &PerMessageDeflate) -> pmd_extension_instance {
    pmd_extension_instance {
        vtable: &DEFLATE_VTABLE.0,
        state: (ext as *const PerMessageDeflate).cast_mut().cast(),
    }
}

fn export(member: Member<ForeignExtension>) -> Result<pmd_extension_instance, Error> {
    match member {
        Member::Deflate(ext) => Ok(pmd_extension_instance {
            vtable: &DEFLATE_VTABLE.0,
            state: Box::into_raw(ext).cast(),
        }),
        Member::Custom(_) => Err(Error::Fixed(
            ErrorKind::Internal,
            "a built-in factory made a custom extension",
        )),
    }
}

/// # Safety
/// `state` is a live `PerMessageDeflate` of the built-in vtable; `frame`
/// and `out` are NULL or valid.
unsafe extern "C" fn deflate_encode(state: *mut c_void, frame: *const pmd_frame, out: *mut pmd_frame) -> c_int {
    run_guarded("permessage-deflate encode", || {
        // SAFETY: forwarded caller guarantees.
        let ext = unsafe { req(state.cast::<PerMessageDeflate>(), "state") }?;
        // SAFETY: as above.
        unsafe { frame::process(frame, out, || ext.encoder(), |side, f| side.encode(f)) }
    }) as c_int
}

/// # Safety
/// As for `deflate_encode`.
unsafe extern "C" fn deflate_decode(
    state: *mut c_void,
    frame: *const pmd_frame,
    max_size: usize,
    out: *mut pmd_frame,
) -> c_int {
    run_guarded("permessage-deflate decode", || {
        // SAFETY: forwarded caller guarantees.
        let ext = unsafe { req(state.cast::<PerMessageDeflate>(), "state") }?;
        // SAFETY: as above.
        unsafe { frame::process(frame, out, || ext.decoder(), |side, f| side.decode(f, max_size)) }
    }) as c_int
}

/// # Safety
/// `state` is NULL or a `PerMessageDeflate` a built-in factory gave to C,
/// not used afterwards.
unsafe extern "C" fn deflate_destroy(state: *mut c_void) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(state.cast::<PerMessageDeflate>()) })
}

/// Views of the accepted instances a C caller passed to a built-in
/// factory callback.
///
/// # Safety
/// `accepted` is NULL or valid for `n` instances whose vtables are live.
unsafe fn accepted_views(
    accepted: *const pmd_extension_instance,
    n: usize,
) -> Result<Vec<Member<ForeignExtension>>, Error> {
    // SAFETY: forwarded caller guarantee.
    let list = unsafe { array(accepted, n, "accepted") }?;
    // SAFETY: as above; views are never destroyed.
    let mut out = crate::fallible::vec_with_capacity(list.len())?;
    for &i in list {
        // SAFETY: as above.
        out.push(unsafe { adopt(i, false, "accepted") }?);
    }
    Ok(out)
}

/// A response handed to C: interned, so that it lives as long as the
/// program (there are at most 324 different ones).
fn static_response(list: &[StaticParam]) -> Result<(*const pmd_param, usize), Error> {
    struct Interned(Vec<(Vec<StaticParam>, Box<[pmd_param]>)>);
    // SAFETY: the pointers inside point at static strings only.
    unsafe impl Send for Interned {}
    static RESPONSES: OnceLock<Mutex<Interned>> = OnceLock::new();
    let table = RESPONSES.get_or_init(|| Mutex::new(Interned(Vec::new())));
    let mut table = table.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let i = match table.0.iter().position(|(k, _)| k == list) {
        Some(i) => i,
        None => {
            let mut key = crate::fallible::vec_with_capacity(list.len())?;
            key.extend_from_slice(list);
            let mut params = crate::fallible::vec_with_capacity(list.len())?;
            params.extend(list.iter().map(static_param));
            // Exact capacity: into_boxed_slice does not reallocate.
            crate::fallible::push(&mut table.0, (key, params.into_boxed_slice()))?;
            table.0.len() - 1
        }
    };
    // The boxed slice never moves or goes away.
    Ok((slice_ptr(&table.0[i].1), list.len()))
}

type GetRequestParamsFn = FnOf<pmd_get_request_params_callback>;
type ProcessResponseFn = FnOf<pmd_process_response_params_callback>;
type ProcessRequestFn = FnOf<pmd_process_request_params_callback>;

/// Which user pointers the built-in factory functions gave out and nobody
/// has destroyed or taken yet, and whether each is a client's: how a
/// negotiator recognises a built-in factory (function addresses are not
/// reliable for that).
/// (A list, not a map: a map's insertion cannot report a failed
/// allocation.)
static BUILTINS: Mutex<Vec<(usize, bool)>> = Mutex::new(Vec::new());

fn builtins() -> std::sync::MutexGuard<'static, Vec<(usize, bool)>> {
    BUILTINS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records user data a built-in factory function gives out; out of
/// memory, the caller still owns it.
fn give_out<T>(user: *mut T, client: bool) -> Result<*mut c_void, Error> {
    crate::fallible::push(&mut builtins(), (user as usize, client))?;
    Ok(user.cast())
}

/// Whether `user` is user data given out by a built-in factory function,
/// of the right role, and not yet taken back.
fn is_given_out(user: *mut c_void, client: bool) -> bool {
    builtins().contains(&(user as usize, client))
}

/// Takes back user data given out by a built-in factory function, if
/// `user` is that, of the right role.
fn take_back(user: *mut c_void, client: bool) -> bool {
    let mut list = builtins();
    match list.iter().position(|&e| e == (user as usize, client)) {
        Some(i) => {
            list.swap_remove(i);
            true
        }
        None => false,
    }
}

/// The user data of a built-in client factory: the Rust factory and its
/// offer (static strings).
struct BuiltinClient {
    factory: ClientDeflateFactory,
    request: Vec<pmd_param>,
}

unsafe extern "C" fn builtin_client_get_request_params(
    user: *mut c_void,
    params: *mut *const pmd_param,
    n: *mut usize,
) -> c_int {
    run_guarded("permessage-deflate get_request_params", || {
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
    run_guarded("permessage-deflate process_response_params", || {
        // SAFETY: `user` is the BuiltinClient this factory was made with;
        // the arrays are valid for their counts (header).
        let (b, out, params, accepted) = unsafe {
            (
                req(user.cast::<BuiltinClient>(), "user")?,
                req_mut(out, "out")?,
                read_params(params, n)?,
                accepted_views(accepted, n_accepted)?,
            )
        };
        *out = export(b.factory.process_response_params(&params, &accepted)?)?;
        Ok(())
    }) as c_int
}

unsafe extern "C" fn builtin_client_destroy(user: *mut c_void) {
    take_back(user, true);
    // SAFETY: `user` is NULL or the BuiltinClient, freed once.
    guard_value((), || unsafe { free_handle(user.cast::<BuiltinClient>()) })
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
    run_guarded("permessage-deflate process_request_params", || {
        // SAFETY: `user` is the ServerDeflateFactory this factory was made
        // with; the arrays are valid for their counts (header).
        let (factory, response, n_response, out, params, accepted) = unsafe {
            (
                req(user.cast::<ServerDeflateFactory>(), "user")?,
                req_mut(response, "response")?,
                req_mut(n_response, "n_response")?,
                req_mut(out, "out")?,
                read_params(params, n)?,
                accepted_views(accepted, n_accepted)?,
            )
        };
        let (list, agreed) = factory.negotiate(&params, &accepted)?;
        let ext = export(Member::deflate(factory.extension(agreed)?)?)?;
        (*response, *n_response) = static_response(&list)?;
        *out = ext;
        Ok(())
    }) as c_int
}

unsafe extern "C" fn builtin_server_destroy(user: *mut c_void) {
    take_back(user, false);
    // SAFETY: `user` is NULL or the ServerDeflateFactory, freed once.
    guard_value((), || unsafe { free_handle(user.cast::<ServerDeflateFactory>()) })
}

/// The native factory behind a built-in client factory, taking over its
/// user data; None for any other factory.
///
/// # Safety
/// `f` is handed over (its user data is the negotiator's from now on).
pub(super) unsafe fn native_client(
    f: &pmd_client_factory,
) -> Result<Option<Box<dyn ClientFactory<ForeignExtension>>>, Error> {
    // A factory of the caller's own that delegates to the built-in one
    // keeps its callbacks. (A function address may differ between codegen
    // units: then the factory runs through C, which is slower, not wrong.)
    let ours = f
        .process_response_params
        .is_some_and(|p| std::ptr::fn_addr_eq(p, builtin_client_process_response_params as ProcessResponseFn))
        && f.get_request_params
            .is_some_and(|p| std::ptr::fn_addr_eq(p, builtin_client_get_request_params as GetRequestParamsFn));
    if !ours || !is_given_out(f.user, true) {
        return Ok(None);
    }
    // SAFETY: given out as a BuiltinClient by
    // pmd_client_factory_permessage_deflate and not yet taken back.
    let b = unsafe { &*f.user.cast::<BuiltinClient>() };
    // The new box first: out of memory, the caller still owns `user`.
    let native = crate::fallible::try_box(b.factory.clone())?;
    take_back(f.user, true);
    // SAFETY: as above; taken back once, here.
    unsafe { free_handle(f.user.cast::<BuiltinClient>()) };
    Ok(Some(native))
}

/// As `native_client`, for server factories.
///
/// # Safety
/// As for `native_client`.
pub(super) unsafe fn native_server(f: &pmd_server_factory) -> Option<Box<dyn ServerFactory<ForeignExtension>>> {
    let ours = f
        .process_request_params
        .is_some_and(|p| std::ptr::fn_addr_eq(p, builtin_server_process_request_params as ProcessRequestFn));
    if !ours || !take_back(f.user, false) {
        return None;
    }
    // SAFETY: given out as a ServerDeflateFactory by
    // pmd_server_factory_permessage_deflate, and taken back once.
    Some(unsafe { Box::from_raw(f.user.cast::<ServerDeflateFactory>()) })
}

/// Fills `*out` with pmdeflate's own permessage-deflate client factory for
/// a copy of `cfg` (its offer and the client rules of RFC 7692 section
/// 7.1, as docs/negotiation.md tables them): one pmd_client_factory among
/// others, to add to a negotiator with pmd_negotiator_add_client, which
/// then runs it natively. Its extensions encode and decode like a
/// pmd_extension; their vtable's name is "permessage-deflate". Its
/// callbacks are thread-safe.
///
/// Ownership: `out->user` holds the copy. Adding the factory to a
/// negotiator hands it over; a factory never added must be released with
/// `out->destroy(out->user)`. `cfg` is not referenced afterwards.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when cfg or out is NULL (nothing
/// is written); PMD_ERR_OUT_OF_MEMORY (nothing is written).
///
/// # Safety
/// `cfg` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_client_factory_permessage_deflate(
    cfg: *const pmd_config,
    out: *mut pmd_client_factory,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, out) = unsafe { (req(cfg, "cfg")?, req_mut(out, "out")?) };
        let params = negotiate::client_request_params(&cfg.inner);
        let mut request = crate::fallible::vec_with_capacity(params.len())?;
        request.extend(params.iter().map(static_param));
        let user = into_handle(BuiltinClient {
            factory: ClientDeflateFactory::new(cfg.inner.clone()),
            request,
        })?;
        let user = give_out(user, true).inspect_err(|_| {
            // SAFETY: just made, given to no one.
            unsafe { free_handle(user) }
        })?;
        *out = pmd_client_factory {
            size: std::mem::size_of::<pmd_client_factory>(),
            name: c"permessage-deflate".as_ptr(),
            user,
            get_request_params: Some(builtin_client_get_request_params),
            process_response_params: Some(builtin_client_process_response_params),
            destroy: Some(builtin_client_destroy),
        };
        Ok(())
    })
}

/// Fills `*out` with pmdeflate's own permessage-deflate server factory for
/// a copy of `cfg` (the server rules of RFC 7692 section 7.1), to add with
/// pmd_negotiator_add_server. `require` has no effect here, as the
/// websockets library's factory has no such option: a host that needs
/// permessage-deflate checks the chain. The response parameters it returns
/// are static. Ownership as for pmd_client_factory_permessage_deflate.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_INVALID_ARGUMENT for a
/// config a server cannot use (client_max_window_bits =
/// PMD_WINDOW_BITS_NO_VALUE, or require_client_max_window_bits without
/// client_max_window_bits); PMD_ERR_OUT_OF_MEMORY (nothing is written).
///
/// # Safety
/// `cfg` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_server_factory_permessage_deflate(
    cfg: *const pmd_config,
    out: *mut pmd_server_factory,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (cfg, out) = unsafe { (req(cfg, "cfg")?, req_mut(out, "out")?) };
        let user = into_handle(ServerDeflateFactory::new(cfg.inner.clone())?)?;
        let user = give_out(user, false).inspect_err(|_| {
            // SAFETY: just made, given to no one.
            unsafe { free_handle(user) }
        })?;
        *out = pmd_server_factory {
            size: std::mem::size_of::<pmd_server_factory>(),
            name: c"permessage-deflate".as_ptr(),
            user,
            process_request_params: Some(builtin_server_process_request_params),
            destroy: Some(builtin_server_destroy),
        };
        Ok(())
    })
}

/// The vtable of the extensions made by the built-in permessage-deflate
/// factories, to recognise them in an accepted list or with pmd_chain_get
/// (compare vtable pointers). Static, never NULL. Only the built-in
/// factories make instances with it.
#[no_mangle]
pub extern "C" fn pmd_permessage_deflate_vtable() -> *const pmd_extension_vtable {
    &DEFLATE_VTABLE.0
}
