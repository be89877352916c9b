//! The negotiator (`pmd_negotiator`): an ordered list of client and
//! server factories, and the three negotiations it runs for C.

use crate::fallible::try_box_with;
use std::ffi::c_char;
use std::sync::Mutex;

use crate::ffi::{bytes, free_handle, guard, guard_value, into_handle, null, pmd_result, req, req_mut, write_str};
use crate::framework::{self, ClientFactory, ServerFactory};
use crate::lock::lock;

use super::builtin::{native_client, native_server};
use super::callbacks::{refuse_reentry, token_name};
use super::chain::{new_chain, pmd_chain};
use super::factories::{CClientFactory, CServerFactory, User};
use super::foreign::ForeignExtension;
use super::{check_size, pmd_client_factory, pmd_server_factory};

/// An ordered list of client and server factories (opaque): what a host
/// offers, accepts and answers. Thread-safe: negotiations on one
/// negotiator from several threads run one at a time.
pub struct pmd_negotiator {
    inner: Mutex<Factories>,
}

#[derive(Default)]
struct Factories {
    clients: Vec<Box<dyn ClientFactory<ForeignExtension>>>,
    servers: Vec<Box<dyn ServerFactory<ForeignExtension>>>,
    /// For each factory added, whether it was a client one: the order of
    /// addition across both lists.
    added_client: Vec<bool>,
}

impl Factories {
    /// Room for one more factory in every list, so that adding one cannot
    /// fail half-way.
    fn reserve_one(&mut self) -> Result<(), crate::error::Error> {
        let oom = |_| crate::fallible::oom("out of memory adding a factory");
        self.clients.try_reserve(1).map_err(oom)?;
        self.servers.try_reserve(1).map_err(oom)?;
        self.added_client.try_reserve(1).map_err(oom)
    }
}

impl Drop for Factories {
    /// Factories go in reverse order of addition, clients and servers
    /// interleaved as they were added.
    fn drop(&mut self) {
        while let Some(client) = self.added_client.pop() {
            if client {
                self.clients.pop();
            } else {
                self.servers.pop();
            }
        }
    }
}

/// Creates an empty negotiator. Returns NULL only when out of memory
/// (pmd_last_error then says so). Free it with pmd_negotiator_free.
/// Chains it produced do not refer to it.
#[no_mangle]
pub extern "C" fn pmd_negotiator_new() -> *mut pmd_negotiator {
    let func = crate::ffi::fn_name!();
    guard_value(std::ptr::null_mut(), || {
        let made = into_handle(pmd_negotiator {
            inner: Mutex::new(Factories::default()),
        });
        crate::ffi::handle_or_null(func, made)
    })
}

/// Frees a negotiator and its factories: each factory's destroy(user) is
/// called once, on this thread, in reverse order of addition, client and
/// server factories alike (added client 1, server 2, client 3: destroyed
/// 3, 2, 1), as C++ destroys members: a factory added later may use the
/// user data of one added before it. NULL is a no-op. No call on the
/// negotiator may be running or follow. Called from inside a callback it
/// does nothing (the negotiator may be the one running) and
/// pmd_last_error says so.
///
/// # Safety
/// `neg` is NULL or a live negotiator, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_free(neg: *mut pmd_negotiator) {
    let refused = guard!(refuse_reentry);
    if refused == pmd_result::PMD_OK {
        // SAFETY: forwarded caller guarantee.
        guard_value((), || unsafe { free_handle(neg) })
    }
}

/// Appends a client factory: offers list factories in the order added,
/// and response elements are tried against them in that order. The struct
/// is copied; on PMD_OK the negotiator owns `factory->user` (destroy runs
/// from pmd_negotiator_free), on failure the caller still does. Several
/// factories may share a name (they are tried in turn).
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when neg, factory,
/// get_request_params or process_response_params is NULL;
/// PMD_ERR_INVALID_ARGUMENT when the name is NULL or not a token, or when
/// called from inside a callback; PMD_ERR_OUT_OF_MEMORY (nothing is added
/// and the caller still owns `factory->user`). Thread-safe.
///
/// # Safety
/// `neg` is NULL or a live negotiator; `factory` is NULL or valid, with a
/// name that is NULL or NUL-terminated and callbacks that follow the rules
/// of pmd_client_factory.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_add_client(
    neg: *mut pmd_negotiator,
    factory: *const pmd_client_factory,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, f) = unsafe { (req(neg, "neg")?, req(factory, "factory")?) };
        check_size::<pmd_client_factory>(f.size, "pmd_client_factory")?;
        let get = f
            .get_request_params
            .ok_or_else(|| null("factory->get_request_params"))?;
        let process = f
            .process_response_params
            .ok_or_else(|| null("factory->process_response_params"))?;
        // SAFETY: the name is NULL or NUL-terminated per the caller.
        let name = unsafe { token_name(f.name, "the client factory") }?;
        let mut inner = lock(&neg.inner, "negotiator")?;
        inner.reserve_one()?;
        // SAFETY: a factory with the built-in callbacks was filled by
        // pmd_client_factory_permessage_deflate and is handed over here.
        let factory: Box<dyn ClientFactory<ForeignExtension>> = match unsafe { native_client(f) }? {
            Some(native) => native,
            // The user pointer is taken over only once the box exists.
            None => try_box_with(|| CClientFactory {
                name,
                user: User {
                    ptr: f.user,
                    destroy: f.destroy,
                },
                get_request_params: get,
                process_response_params: process,
            })?,
        };
        inner.clients.push(factory);
        inner.added_client.push(true);
        Ok(())
    })
}

/// Appends a server factory: for each client offer, factories with its
/// name are tried in the order added. Ownership as for
/// pmd_negotiator_add_client.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when neg, factory or
/// process_request_params is NULL; PMD_ERR_INVALID_ARGUMENT when the name
/// is NULL or not a token, or when called from inside a callback;
/// PMD_ERR_OUT_OF_MEMORY (nothing is added and the caller still owns
/// `factory->user`). Thread-safe.
///
/// # Safety
/// As for pmd_negotiator_add_client.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_add_server(
    neg: *mut pmd_negotiator,
    factory: *const pmd_server_factory,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, f) = unsafe { (req(neg, "neg")?, req(factory, "factory")?) };
        check_size::<pmd_server_factory>(f.size, "pmd_server_factory")?;
        let process = f
            .process_request_params
            .ok_or_else(|| null("factory->process_request_params"))?;
        // SAFETY: the name is NULL or NUL-terminated per the caller.
        let name = unsafe { token_name(f.name, "the server factory") }?;
        let mut inner = lock(&neg.inner, "negotiator")?;
        inner.reserve_one()?;
        // SAFETY: as in pmd_negotiator_add_client.
        let factory: Box<dyn ServerFactory<ForeignExtension>> = match unsafe { native_server(f) } {
            Some(native) => native,
            // The user pointer is taken over only once the box exists.
            None => try_box_with(|| CServerFactory {
                name,
                user: User {
                    ptr: f.user,
                    destroy: f.destroy,
                },
                process_request_params: process,
            })?,
        };
        inner.servers.push(factory);
        inner.added_client.push(false);
        Ok(())
    })
}

/// Client: writes the whole Sec-WebSocket-Extensions request value into
/// `buf`: for each client factory in order, its name and the parameters
/// its get_request_params returns, elements joined with ", " (e.g.
/// "permessage-deflate; client_max_window_bits, x-xor; key=7"). NUL-
/// terminated when room allows; *out_len excludes the NUL. *out_len 0 (no
/// client factory): send no header. Calls every get_request_params.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (neg, out_len, or buf with
/// cap > 0); PMD_ERR_BUFFER_TOO_SMALL with *out_len the length needed
/// (buf NULL with cap 0 asks for it); PMD_ERR_INVALID_ARGUMENT when a
/// callback returned bad parameters (NULL array with n > 0, more than 1024,
/// a name or value that is not a token) or when called from inside a
/// callback; PMD_ERR_OUT_OF_MEMORY; a callback's own error result.
/// Thread-safe.
///
/// # Safety
/// `neg` is NULL or live; `buf` is NULL or has `cap` writable bytes;
/// `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_client_offer(
    neg: *const pmd_negotiator,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantee.
        let neg = unsafe { req(neg, "neg") }?;
        if out_len.is_null() {
            return Err(null("out_len"));
        }
        let value = framework::client_request_header(&lock(&neg.inner, "negotiator")?.clients)?;
        // SAFETY: forwarded caller guarantees.
        unsafe { write_str(value.as_bytes(), buf, cap, out_len) }
    })
}

/// Client: processes the server's Sec-WebSocket-Extensions response value
/// (NULL or len 0 when the header was absent) as websockets' client
/// does. For each element in order, the client factories with its name are
/// tried in the order added, each given the extensions accepted so far; the
/// first whose process_response_params returns PMD_OK wins, and one
/// returning PMD_ERR_NEGOTIATION passes to the next. On PMD_OK, *chain is a
/// new chain of the accepted extensions in response order (empty when the
/// response is), to free with pmd_chain_free.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (neg or chain);
/// PMD_ERR_HEADER_SYNTAX when the value does not parse;
/// PMD_ERR_NEGOTIATION when an element has no factory that accepts it
/// (unknown extension, or every factory declined): the client must fail
/// the WebSocket connection; PMD_ERR_INVALID_ARGUMENT when a callback
/// returned a bad instance (NULL vtable, a name that is not a token, a
/// missing encode or decode) or when called from inside a callback;
/// PMD_ERR_OUT_OF_MEMORY; any other result a callback returned. On every
/// failure, the extensions
/// accepted so far are destroyed (last first) and *chain is unchanged.
/// Thread-safe.
///
/// # Safety
/// `response` is NULL or valid for `len` bytes; other pointers NULL or
/// valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_client_accept(
    neg: *const pmd_negotiator,
    response: *const c_char,
    len: usize,
    chain: *mut *mut pmd_chain,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, chain) = unsafe { (req(neg, "neg")?, req_mut(chain, "chain")?) };
        // SAFETY: as above; NULL means the header was absent.
        let response = unsafe { bytes(response, len, "response", true) }?;
        let accepted = framework::client_process_response(&lock(&neg.inner, "negotiator")?.clients, response)?;
        *chain = new_chain(accepted)?;
        Ok(())
    })
}

/// Server: processes the client's Sec-WebSocket-Extensions request value
/// (several header lines joined with ", "; NULL or len 0 when absent) as
/// websockets' server does. Offers are walked in the client's order;
/// for each, the server factories with its name are tried in the order
/// added, each given the extensions accepted so far; PMD_OK accepts the
/// offer, PMD_ERR_NEGOTIATION passes to the next factory, then to the next
/// offer. Offers nobody accepts are declined silently. On PMD_OK, buf holds
/// the response value (the accepted elements with their response
/// parameters, in the client's order, joined with ", "; *out_len 0 means
/// send no header) and *chain is a new chain of the accepted extensions (it
/// may be empty), to free with pmd_chain_free. Without any server factory
/// the request is not even parsed.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (neg, out_len, chain, or buf with
/// cap > 0); PMD_ERR_HEADER_SYNTAX when the value does not parse (answer
/// HTTP 400); PMD_ERR_BUFFER_TOO_SMALL with *out_len the length needed:
/// the accepted extensions are destroyed and calling again renegotiates;
/// PMD_ERR_INVALID_ARGUMENT when a callback returned bad data or when
/// called from inside a callback; PMD_ERR_OUT_OF_MEMORY; any other result
/// a callback returned. On every failure, the extensions accepted so far
/// are destroyed (last first) and *chain is unchanged. Thread-safe.
///
/// # Safety
/// Pointers are NULL or valid for the stated lengths.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_server_negotiate(
    neg: *const pmd_negotiator,
    request: *const c_char,
    len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    chain: *mut *mut pmd_chain,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, chain) = unsafe { (req(neg, "neg")?, req_mut(chain, "chain")?) };
        if out_len.is_null() {
            return Err(null("out_len"));
        }
        if buf.is_null() && cap != 0 {
            return Err(null("buf"));
        }
        // SAFETY: as above; NULL means the header was absent.
        let request = unsafe { bytes(request, len, "request", true) }?;
        let (value, accepted) = framework::server_process_request(&lock(&neg.inner, "negotiator")?.servers, request)?;
        // On a too-small buffer, `accepted` is dropped here: destroyed.
        // SAFETY: forwarded caller guarantees.
        unsafe { write_str(value.unwrap_or_default().as_bytes(), buf, cap, out_len) }?;
        *chain = new_chain(accepted)?;
        Ok(())
    })
}
