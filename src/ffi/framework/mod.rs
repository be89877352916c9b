//! The extension framework from C: websockets' abstract `Extension`,
//! `ClientExtensionFactory` and `ServerExtensionFactory` as structs of
//! function pointers plus a user pointer, wrapped here into the traits of
//! `crate::framework`; the negotiator (`pmd_negotiator`) and the chain of
//! accepted extensions (`pmd_chain`).
//!
//! Every C struct a user hands in is copied; every output a callback
//! returns is checked before it is used (a bad one is
//! PMD_ERR_INVALID_ARGUMENT, never a crash) and copied before any other
//! callback runs. A callback's own failure is passed through.
//!
//! Files: this one holds the C structs a user fills in; `callbacks` calls
//! user callbacks and checks what they return; `foreign` holds a C
//! extension instance as a chain member; `factories` holds C factories as
//! the traits of `crate::framework`; `builtin` is pmdeflate's own
//! permessage-deflate for C (its factories, which a negotiator runs
//! natively, and the vtable of its C views); `negotiator` and `chain` are
//! the two handles.

use crate::fallible::detail;
use std::ffi::{c_char, c_int, c_void};

use crate::error::Error;
use crate::ffi::frame::pmd_frame;
use crate::ffi::header::pmd_param;

mod builtin;
mod callbacks;
mod factories;
mod foreign;
mod negotiator;

// After negotiator: cbindgen lists exports in declaration order, and the
// header has the chain's functions last.
mod chain;

pub use builtin::{
    pmd_client_factory_permessage_deflate, pmd_permessage_deflate_vtable, pmd_server_factory_permessage_deflate,
};
pub use chain::{
    pmd_chain, pmd_chain_count, pmd_chain_decode, pmd_chain_encode, pmd_chain_free, pmd_chain_get,
    pmd_chain_set_max_message_size,
};
pub use negotiator::{
    pmd_negotiator, pmd_negotiator_add_client, pmd_negotiator_add_server, pmd_negotiator_client_accept,
    pmd_negotiator_client_offer, pmd_negotiator_free, pmd_negotiator_new, pmd_negotiator_server_negotiate,
};

/// An extension's encode callback: see pmd_extension_vtable.
pub type pmd_encode_callback =
    Option<unsafe extern "C" fn(state: *mut c_void, r#in: *const pmd_frame, out: *mut pmd_frame) -> c_int>;

/// An extension's decode callback: see pmd_extension_vtable.
pub type pmd_decode_callback = Option<
    unsafe extern "C" fn(state: *mut c_void, r#in: *const pmd_frame, max_size: usize, out: *mut pmd_frame) -> c_int,
>;

/// Frees an extension's state or a factory's user data.
pub type pmd_destroy_callback = Option<unsafe extern "C" fn(ptr: *mut c_void)>;

/// A client factory's get_request_params: see pmd_client_factory.
pub type pmd_get_request_params_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, params: *mut *const pmd_param, n: *mut usize) -> c_int>;

/// A client factory's process_response_params: see pmd_client_factory.
pub type pmd_process_response_params_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        params: *const pmd_param,
        n: usize,
        accepted: *const pmd_extension_instance,
        n_accepted: usize,
        out: *mut pmd_extension_instance,
    ) -> c_int,
>;

/// A server factory's process_request_params: see pmd_server_factory.
pub type pmd_process_request_params_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        params: *const pmd_param,
        n: usize,
        accepted: *const pmd_extension_instance,
        n_accepted: usize,
        response: *mut *const pmd_param,
        n_response: *mut usize,
        out: *mut pmd_extension_instance,
    ) -> c_int,
>;

/// The operations of one kind of extension (websockets' abstract
/// Extension class), usually a static const table shared by every instance
/// of that kind. The library copies the function pointers when an instance
/// is accepted, and keeps the table's address only to show it back in
/// accepted lists and pmd_chain_get (so that a factory can recognise its own
/// kind by comparing vtable pointers). Keep it alive while instances live.
///
/// Every callback gets the instance's `state` as its first argument and
/// returns a pmd_result value as an int (PMD_OK, or the error to report;
/// any other value is treated as PMD_ERR_INVALID_ARGUMENT). Callbacks run on
/// the thread that called pmd_chain_encode, pmd_chain_decode or a _free
/// function, never two at once for one chain (the chain holds a lock while
/// they run; instances of different chains may run at the same time on
/// different threads, so state they share needs a lock), and must not call
/// pmd_chain_* or pmd_negotiator_* functions: inside a callback those
/// return PMD_ERR_INVALID_ARGUMENT, pmd_chain_count returns 0 and the _free
/// functions do nothing. They must not throw (C++) or longjmp out.
#[repr(C)]
pub struct pmd_extension_vtable {
    /// sizeof(pmd_extension_vtable) as the caller was compiled: the library
    /// reads no member beyond it, so that members added later (at the end)
    /// do not break compiled callers. Smaller than this version's struct is
    /// PMD_ERR_INVALID_ARGUMENT.
    pub size: usize,
    /// The extension's name, a NUL-terminated token (e.g. "x-xor"), alive as
    /// long as the vtable. NULL or not a token: the instance is refused.
    pub name: *const c_char,
    /// Required. Encodes one outgoing frame (websockets' encode). Write
    /// the whole result frame to `*out`: out->data may point at in->data
    /// (payload unchanged) or into memory the instance owns, which must stay
    /// valid and unchanged until the next encode call on this instance or
    /// its destroy. out->data may be NULL only when out->len is 0. The
    /// opcode must stay 0..15; `*out` comes in filled with an invalid
    /// opcode, so returning PMD_OK without writing it is detected.
    pub encode: pmd_encode_callback,
    /// Required. Decodes one incoming frame (websockets' decode), with
    /// the same rules for `*out` (valid until the next decode call or
    /// destroy). `max_size` bounds the decoded payload (SIZE_MAX: no limit;
    /// 0: only empty output): return PMD_ERR_PAYLOAD_TOO_BIG beyond it. PMD_ERR_PROTOCOL for a frame that
    /// breaks the extension's rules.
    pub decode: pmd_decode_callback,
    /// Optional (NULL: nothing to free). Frees the instance's state; called
    /// exactly once, when the chain holding it is freed, when a negotiation
    /// that accepted it fails later, or when the library refuses the
    /// instance right after the callback that made it returned (a bad name,
    /// a missing callback, bad response parameters).
    pub destroy: pmd_destroy_callback,
}

/// One extension instance: its vtable and its state (the object a
/// factory created). A factory callback that returns PMD_OK must set
/// `vtable`; `state` may be NULL for a stateless extension. A NULL vtable
/// is PMD_ERR_INVALID_ARGUMENT, and the library cannot free that state.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pmd_extension_instance {
    pub vtable: *const pmd_extension_vtable,
    pub state: *mut c_void,
}

/// A client-side factory (websockets' ClientExtensionFactory). Fill
/// one in and pass it to pmd_negotiator_add_client, which copies it.
///
/// Callbacks run on the thread that called the pmd_negotiator_* function,
/// one at a time for one negotiator (it holds a lock), possibly on
/// different threads over time. They must not call pmd_negotiator_* or
/// pmd_chain_* functions, throw or longjmp.
#[repr(C)]
pub struct pmd_client_factory {
    /// sizeof(pmd_client_factory), as for pmd_extension_vtable.
    pub size: usize,
    /// The extension's name, a NUL-terminated token, alive as long as the
    /// negotiator. Response elements with this name are given to this
    /// factory.
    pub name: *const c_char,
    /// Passed to every callback; owned by the negotiator once added.
    pub user: *mut c_void,
    /// Required. The offer's parameters (websockets'
    /// get_request_params): set `*params` to an array of `*n` parameters
    /// (both come in as NULL / 0: leaving them means no parameters). The
    /// array and its strings belong to the factory (not the stack: they are
    /// read after the callback returns); the library copies them before it
    /// calls any other callback of this factory.
    /// Names and values must be tokens (value NULL: no value); anything else
    /// fails the offer with PMD_ERR_INVALID_ARGUMENT.
    pub get_request_params: pmd_get_request_params_callback,
    /// Required. Processes the parameters of a server response element with
    /// this factory's name (websockets' process_response_params).
    /// `params` (NUL-terminated strings, also usable as (ptr, len)) and
    /// `accepted` (the extensions accepted before, in order) are valid only
    /// during the call; accepted[i].vtable->name gives each one's name. To
    /// accept, write the new instance to `*out` (it comes in as
    /// {NULL, NULL}) and return PMD_OK: the chain then owns it. Return
    /// PMD_ERR_NEGOTIATION to decline (the next factory with this name is
    /// tried); any other error fails the negotiation with that result. On
    /// any error `*out` is ignored: free what you created yourself.
    pub process_response_params: pmd_process_response_params_callback,
    /// Optional (NULL: nothing to free). Frees `user`; called exactly once,
    /// from pmd_negotiator_free, only if pmd_negotiator_add_client returned
    /// PMD_OK.
    pub destroy: pmd_destroy_callback,
}

/// A server-side factory (websockets' ServerExtensionFactory). Fill
/// one in and pass it to pmd_negotiator_add_server, which copies it. The
/// thread rules of pmd_client_factory apply.
#[repr(C)]
pub struct pmd_server_factory {
    /// sizeof(pmd_server_factory), as for pmd_extension_vtable.
    pub size: usize,
    /// The extension's name, a NUL-terminated token, alive as long as the
    /// negotiator. Client offers with this name are given to this factory.
    pub name: *const c_char,
    /// Passed to every callback; owned by the negotiator once added.
    pub user: *mut c_void,
    /// Required. Processes the parameters of one client offer with this
    /// factory's name (websockets' process_request_params). `params`
    /// and `accepted` are as for process_response_params. To accept, set
    /// `*response` / `*n_response` to the response parameters (they come in
    /// as NULL / 0; names and values must be tokens) and `*out` to the new
    /// instance, and return PMD_OK. The response array and its strings may
    /// live in the factory or in the new instance's state (not the stack:
    /// they are read after the callback returns); the library copies them
    /// before it calls any other callback. Bad response parameters or a bad instance are
    /// PMD_ERR_INVALID_ARGUMENT (the instance is destroyed). Return
    /// PMD_ERR_NEGOTIATION to decline the offer (the next factory with this
    /// name, then the next offer, is tried); any other error fails the
    /// negotiation with that result. On any error the outputs are ignored.
    pub process_request_params: pmd_process_request_params_callback,
    /// Optional (NULL: nothing to free). Frees `user`; called exactly once,
    /// from pmd_negotiator_free, only if pmd_negotiator_add_server returned
    /// PMD_OK.
    pub destroy: pmd_destroy_callback,
}

/// The function type inside a callback typedef, so that each signature is
/// written once (in its typedef).
pub(super) trait Callback {
    type Fn;
}
impl<F> Callback for Option<F> {
    type Fn = F;
}
pub(super) type FnOf<T> = <T as Callback>::Fn;

/// Checks the `size` a caller set in one of the structs above: at least
/// this version's struct (every member it reads is there).
fn check_size<T>(size: usize, what: &str) -> Result<(), Error> {
    let want = std::mem::size_of::<T>();
    if size < want {
        return Err(Error::invalid(detail!(
            "{what}.size is {size}; set it to sizeof({what}) ({want} in this version)"
        )));
    }
    Ok(())
}
