//! The extension framework from C: the reference's abstract `Extension`,
//! `ClientExtensionFactory` and `ServerExtensionFactory` as structs of
//! function pointers plus a user pointer, wrapped here into the traits of
//! `crate::framework`; the negotiator (`pmd_negotiator`) and the chain of
//! accepted extensions (`pmd_chain`).
//!
//! Every C struct a user hands in is copied; every output a callback
//! returns is checked before it is used (a bad one is
//! PMD_ERR_INVALID_ARGUMENT, never a crash) and copied before any other
//! callback runs. A callback's own failure is passed through.

use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::Error;
use crate::extension::Frame;
use crate::ffi::config::pmd_config;
use crate::ffi::extension::pmd_frame;
use crate::ffi::header::pmd_param;
use crate::ffi::{bytes, free_handle, guard, guard_value, into_handle, null, pmd_result, req, req_mut, write_str};
use crate::framework::{
    self, Chain, ClientDeflateFactory, ClientFactory, Extension, ServerDeflateFactory, ServerFactory,
};
use crate::header::{is_token, Param, ParamRef, MAX_PARAMS};

// ---------------------------------------------------------------------------
// The C types
// ---------------------------------------------------------------------------

/// The operations of one kind of extension (the reference's abstract
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
/// different threads, so state they share needs a lock), and must not call pmd_chain_* or pmd_negotiator_* functions
/// (those return PMD_ERR_INVALID_ARGUMENT inside a callback). They must not
/// throw (C++) or longjmp out.
#[repr(C)]
pub struct pmd_extension_vtable {
    /// The extension's name, a NUL-terminated token (e.g. "x-xor"), alive as
    /// long as the vtable. NULL or not a token: the instance is refused.
    pub name: *const c_char,
    /// Required. Encodes one outgoing frame (the reference's encode). Write
    /// the whole result frame to `*out`: out->data may point at in->data
    /// (payload unchanged) or into memory the instance owns, which must stay
    /// valid and unchanged until the next encode call on this instance or
    /// its destroy. out->data may be NULL only when out->len is 0. The
    /// opcode must stay 0..15; `*out` comes in filled with an invalid
    /// opcode, so returning PMD_OK without writing it is detected.
    pub encode: Option<unsafe extern "C" fn(state: *mut c_void, in_: *const pmd_frame, out: *mut pmd_frame) -> c_int>,
    /// Required. Decodes one incoming frame (the reference's decode), with
    /// the same rules for `*out` (valid until the next decode call or
    /// destroy). `max_size` (0: no limit) bounds the decoded payload: return
    /// PMD_ERR_PAYLOAD_TOO_BIG beyond it. PMD_ERR_PROTOCOL for a frame that
    /// breaks the extension's rules.
    pub decode: Option<
        unsafe extern "C" fn(state: *mut c_void, in_: *const pmd_frame, max_size: usize, out: *mut pmd_frame) -> c_int,
    >,
    /// Optional (NULL: nothing to free). Frees the instance's state; called
    /// exactly once, when the chain holding it is freed, when a negotiation
    /// that accepted it fails later, or when the library refuses the
    /// instance right after the callback that made it returned (a bad name,
    /// a missing callback, bad response parameters).
    pub destroy: Option<unsafe extern "C" fn(state: *mut c_void)>,
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

/// A client-side factory (the reference's ClientExtensionFactory). Fill
/// one in and pass it to pmd_negotiator_add_client, which copies it.
///
/// Callbacks run on the thread that called the pmd_negotiator_* function,
/// one at a time for one negotiator (it holds a lock), possibly on
/// different threads over time. They must not call pmd_negotiator_* or
/// pmd_chain_* functions, throw or longjmp.
#[repr(C)]
pub struct pmd_client_factory {
    /// The extension's name, a NUL-terminated token, alive as long as the
    /// negotiator. Response elements with this name are given to this
    /// factory.
    pub name: *const c_char,
    /// Passed to every callback; owned by the negotiator once added.
    pub user: *mut c_void,
    /// Required. The offer's parameters (the reference's
    /// get_request_params): set `*params` to an array of `*n` parameters
    /// (both come in as NULL / 0: leaving them means no parameters). The
    /// array and its strings belong to the factory (not the stack: they are
    /// read after the callback returns); the library copies them before it
    /// calls any other callback of this factory.
    /// Names and values must be tokens (value NULL: no value); anything else
    /// fails the offer with PMD_ERR_INVALID_ARGUMENT.
    pub get_request_params:
        Option<unsafe extern "C" fn(user: *mut c_void, params: *mut *const pmd_param, n: *mut usize) -> c_int>,
    /// Required. Processes the parameters of a server response element with
    /// this factory's name (the reference's process_response_params).
    /// `params` (NUL-terminated strings, also usable as (ptr, len)) and
    /// `accepted` (the extensions accepted before, in order) are valid only
    /// during the call; accepted[i].vtable->name gives each one's name. To
    /// accept, write the new instance to `*out` (it comes in as
    /// {NULL, NULL}) and return PMD_OK: the chain then owns it. Return
    /// PMD_ERR_NEGOTIATION to decline (the next factory with this name is
    /// tried); any other error fails the negotiation with that result. On
    /// any error `*out` is ignored: free what you created yourself.
    pub process_response_params: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            params: *const pmd_param,
            n: usize,
            accepted: *const pmd_extension_instance,
            n_accepted: usize,
            out: *mut pmd_extension_instance,
        ) -> c_int,
    >,
    /// Optional (NULL: nothing to free). Frees `user`; called exactly once,
    /// from pmd_negotiator_free, only if pmd_negotiator_add_client returned
    /// PMD_OK.
    pub destroy: Option<unsafe extern "C" fn(user: *mut c_void)>,
}

/// A server-side factory (the reference's ServerExtensionFactory). Fill
/// one in and pass it to pmd_negotiator_add_server, which copies it. The
/// thread rules of pmd_client_factory apply.
#[repr(C)]
pub struct pmd_server_factory {
    /// The extension's name, a NUL-terminated token, alive as long as the
    /// negotiator. Client offers with this name are given to this factory.
    pub name: *const c_char,
    /// Passed to every callback; owned by the negotiator once added.
    pub user: *mut c_void,
    /// Required. Processes the parameters of one client offer with this
    /// factory's name (the reference's process_request_params). `params`
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
    pub process_request_params: Option<
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
    >,
    /// Optional (NULL: nothing to free). Frees `user`; called exactly once,
    /// from pmd_negotiator_free, only if pmd_negotiator_add_server returned
    /// PMD_OK.
    pub destroy: Option<unsafe extern "C" fn(user: *mut c_void)>,
}

/// An ordered list of client and server factories (opaque): what a host
/// offers, accepts and answers. Thread-safe: negotiations on one
/// negotiator from several threads run one at a time.
pub struct pmd_negotiator {
    inner: Mutex<Factories>,
}

#[derive(Default)]
struct Factories {
    clients: Vec<Box<dyn ClientFactory>>,
    servers: Vec<Box<dyn ServerFactory>>,
}

impl Drop for Factories {
    /// Factories go in reverse order of addition.
    fn drop(&mut self) {
        while self.servers.pop().is_some() {}
        while self.clients.pop().is_some() {}
    }
}

/// One connection's negotiated extensions, in order (opaque).
pub struct pmd_chain {
    chain: Mutex<Chain>,
    encoding: AtomicBool,
    decoding: AtomicBool,
}

// ---------------------------------------------------------------------------
// Callback plumbing
// ---------------------------------------------------------------------------

thread_local! {
    /// How many user callbacks the calling thread is inside.
    static CALLBACK_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks the calling thread as inside a callback while it lives.
struct InCallback;

impl InCallback {
    fn enter() -> InCallback {
        CALLBACK_DEPTH.with(|d| d.set(d.get() + 1));
        InCallback
    }
}

impl Drop for InCallback {
    fn drop(&mut self) {
        CALLBACK_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Locks would deadlock on a call from inside a callback: refuse it.
fn refuse_reentry() -> Result<(), Error> {
    if CALLBACK_DEPTH.with(Cell::get) > 0 {
        return Err(Error::invalid(
            "called from inside a pmdeflate callback: pmd_negotiator_* and pmd_chain_* functions must not be",
        ));
    }
    Ok(())
}

/// Runs a callback. The last-error detail it records (the built-in
/// extension's, or a nested pmd_* call's) is returned, and the caller's own
/// detail is put back unchanged (the same string, so pointers to it stay
/// valid).
fn call<R>(f: impl FnOnce() -> R) -> (R, String) {
    let saved = super::LAST_ERROR.with(|e| std::mem::take(&mut *e.borrow_mut()));
    let r = {
        let _inside = InCallback::enter();
        f()
    };
    let inner = super::LAST_ERROR.with(|e| std::mem::replace(&mut *e.borrow_mut(), saved));
    (r, inner.to_string_lossy().into_owned())
}

/// The error for a callback's non-zero result: that result, or
/// INVALID_ARGUMENT for a value that is not a pmd_result.
fn callback_error(rc: c_int, who: &str, inner: &str) -> Error {
    let detail = if inner.is_empty() {
        String::new()
    } else {
        format!(" ({inner})")
    };
    let msg = |name: &str| format!("{who} failed with {name}{detail}");
    match rc {
        1 => Error::NullPointer(msg("PMD_ERR_NULL_POINTER")),
        2 => Error::invalid(msg("PMD_ERR_INVALID_ARGUMENT")),
        3 => Error::syntax(msg("PMD_ERR_HEADER_SYNTAX")),
        4 => Error::negotiation(msg("PMD_ERR_NEGOTIATION")),
        5 => Error::protocol(msg("PMD_ERR_PROTOCOL")),
        6 => Error::PayloadTooBig(msg("PMD_ERR_PAYLOAD_TOO_BIG")),
        7 => Error::corrupt(msg("PMD_ERR_CORRUPT_DATA")),
        8 => Error::BufferTooSmall { needed: 0, cap: 0 },
        9 => Error::OutOfMemory(msg("PMD_ERR_OUT_OF_MEMORY")),
        10 => Error::Internal(msg("PMD_ERR_INTERNAL")),
        other => Error::invalid(format!("{who} returned {other}, which is not a pmd_result")),
    }
}

/// Reads a NUL-terminated name that must be a token.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn token_name(p: *const c_char, who: &str) -> Result<String, Error> {
    if p.is_null() {
        return Err(Error::invalid(format!("{who} has a NULL name")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let b = unsafe { CStr::from_ptr(p) }.to_bytes();
    if !is_token(b) {
        return Err(Error::invalid(format!(
            "{who} has name {:?}, which is not a token",
            String::from_utf8_lossy(b)
        )));
    }
    Ok(String::from_utf8_lossy(b).into_owned())
}

/// Reads parameters a callback returned: at most MAX_PARAMS, names and
/// values tokens. Bad data is INVALID_ARGUMENT.
///
/// # Safety
/// `p` is NULL or valid for `n` elements whose non-NULL strings are valid
/// for their lengths.
unsafe fn callback_params(p: *const pmd_param, n: usize, who: &str) -> Result<Vec<Param>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > MAX_PARAMS {
        return Err(Error::invalid(format!(
            "{who} returned {n} parameters, more than {MAX_PARAMS}"
        )));
    }
    if p.is_null() {
        return Err(Error::invalid(format!(
            "{who} returned a NULL parameter array with {n} parameters"
        )));
    }
    // SAFETY: non-NULL and valid for n elements per the caller.
    let list = unsafe { std::slice::from_raw_parts(p, n) };
    let token = |ptr: *const c_char, len: usize, what: String| -> Result<String, Error> {
        if ptr.is_null() {
            return Err(Error::invalid(format!("{who} returned a NULL {what}")));
        }
        // SAFETY: non-NULL; the caller guarantees len readable bytes.
        let b = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        if !is_token(b) {
            return Err(Error::invalid(format!(
                "{who} returned {what} {:?}, which is not a token",
                String::from_utf8_lossy(b)
            )));
        }
        Ok(String::from_utf8_lossy(b).into_owned())
    };
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let name = token(p.name, p.name_len, format!("parameter #{i} name"))?;
            let value = if p.value.is_null() {
                None
            } else {
                Some(token(p.value, p.value_len, format!("value of parameter {name}"))?)
            };
            Ok(Param { name, value })
        })
        .collect()
}

/// Parameters handed to a callback: NUL-terminated copies, valid while
/// this lives.
struct CParams {
    _storage: Vec<CString>,
    list: Vec<pmd_param>,
}

impl CParams {
    fn new(params: &[ParamRef<'_>]) -> Result<CParams, Error> {
        let mut storage = Vec::new();
        let mut keep = |b: &[u8]| -> Result<(*const c_char, usize), Error> {
            let c = CString::new(b).map_err(|_| Error::Internal("NUL byte in a parsed parameter".into()))?;
            // The CString's buffer does not move when the Vec grows.
            let p = (c.as_ptr(), b.len());
            storage.push(c);
            Ok(p)
        };
        let mut list = Vec::with_capacity(params.len());
        for p in params {
            let (name, name_len) = keep(p.name)?;
            let (value, value_len) = match p.value {
                Some(v) => keep(v)?,
                None => (std::ptr::null(), 0),
            };
            list.push(pmd_param {
                name,
                name_len,
                value,
                value_len,
            });
        }
        Ok(CParams {
            _storage: storage,
            list,
        })
    }

    fn ptr(&self) -> *const pmd_param {
        if self.list.is_empty() {
            std::ptr::null()
        } else {
            self.list.as_ptr()
        }
    }
}

// ---------------------------------------------------------------------------
// C extensions as framework extensions
// ---------------------------------------------------------------------------

type EncodeFn = unsafe extern "C" fn(*mut c_void, *const pmd_frame, *mut pmd_frame) -> c_int;
type DecodeFn = unsafe extern "C" fn(*mut c_void, *const pmd_frame, usize, *mut pmd_frame) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut c_void);

/// A C extension instance. Owned ones are destroyed when dropped; borrowed
/// ones are views of an instance someone else owns.
struct CExtension {
    vtable: *const pmd_extension_vtable,
    state: *mut c_void,
    encode: EncodeFn,
    decode: DecodeFn,
    destroy: Option<DestroyFn>,
    name: String,
    owned: bool,
}

// SAFETY: the header tells implementers that callbacks may run on any
// thread, one at a time; the chain's lock (and the negotiator's) makes the
// calls one at a time.
unsafe impl Send for CExtension {}

impl CExtension {
    /// Checks an instance and takes it (owned) or views it. An owned
    /// instance that is refused is destroyed, when it has a vtable to do so.
    ///
    /// # Safety
    /// `inst.vtable` is NULL or points at a live vtable.
    unsafe fn adopt(inst: pmd_extension_instance, owned: bool, who: &str) -> Result<CExtension, Error> {
        // SAFETY: NULL or live per the caller.
        let Some(vt) = (unsafe { inst.vtable.as_ref() }) else {
            return Err(Error::invalid(format!(
                "{who} gave an extension instance with a NULL vtable"
            )));
        };
        let checked = (|| {
            // SAFETY: a vtable's name is NULL or NUL-terminated (header).
            let name = unsafe { token_name(vt.name, &format!("the extension {who} gave")) }?;
            let encode = vt
                .encode
                .ok_or_else(|| Error::invalid(format!("extension {name} has no encode callback")))?;
            let decode = vt
                .decode
                .ok_or_else(|| Error::invalid(format!("extension {name} has no decode callback")))?;
            Ok((name, encode, decode))
        })();
        match checked {
            Ok((name, encode, decode)) => Ok(CExtension {
                vtable: inst.vtable,
                state: inst.state,
                encode,
                decode,
                destroy: vt.destroy,
                name,
                owned,
            }),
            Err(e) => {
                if let (true, Some(destroy)) = (owned, vt.destroy) {
                    // SAFETY: the instance was handed to us and is refused:
                    // its destroy runs once, here.
                    call(|| unsafe { destroy(inst.state) });
                }
                Err(e)
            }
        }
    }

    fn instance(&self) -> pmd_extension_instance {
        pmd_extension_instance {
            vtable: self.vtable,
            state: self.state,
        }
    }

    /// Checks the frame a callback wrote and borrows its payload.
    ///
    /// # Safety
    /// `out.data` is NULL or valid for `out.len` bytes for `'a`.
    unsafe fn take_frame<'a>(&self, out: &pmd_frame, op: &str) -> Result<Frame<'a>, Error> {
        let who = format!("extension {} {op}", self.name);
        if out.opcode == UNWRITTEN {
            return Err(Error::invalid(format!(
                "{who} returned PMD_OK without writing its output frame"
            )));
        }
        if out.opcode > 15 {
            return Err(Error::invalid(format!(
                "{who} returned opcode {}, which does not fit in 4 bits",
                out.opcode
            )));
        }
        let data = match (out.data.is_null(), out.len) {
            (true, 0) => &[][..],
            (true, len) => return Err(Error::invalid(format!("{who} returned NULL data with len {len}"))),
            // SAFETY: non-NULL; the callback's contract keeps len bytes
            // valid until the next call on this side, which needs &mut self.
            (false, len) => unsafe { std::slice::from_raw_parts(out.data, len) },
        };
        Ok(Frame {
            opcode: out.opcode,
            fin: out.fin,
            rsv1: out.rsv1,
            rsv2: out.rsv2,
            rsv3: out.rsv3,
            data,
        })
    }
}

/// The opcode `*out` carries into a callback: no frame has it.
const UNWRITTEN: u8 = 0xff;

fn c_frame(f: &Frame<'_>) -> pmd_frame {
    pmd_frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        data: f.data.as_ptr(),
        len: f.data.len(),
    }
}

fn blank_frame() -> pmd_frame {
    pmd_frame {
        opcode: UNWRITTEN,
        fin: false,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        data: std::ptr::null(),
        len: 0,
    }
}

impl Extension for CExtension {
    fn name(&self) -> &str {
        &self.name
    }

    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>, Error> {
        let input = c_frame(frame);
        let mut out = blank_frame();
        let encode = self.encode;
        // SAFETY: the vtable's encode with the instance's state, a valid
        // input frame (borrowed from `frame`) and a writable output.
        let (rc, inner) = call(|| unsafe { encode(self.state, &input, &mut out) });
        if rc != 0 {
            return Err(callback_error(rc, &format!("extension {} encode", self.name), &inner));
        }
        // SAFETY: the callback's contract on out.data (see take_frame).
        unsafe { self.take_frame(&out, "encode") }
    }

    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>, Error> {
        let input = c_frame(frame);
        let mut out = blank_frame();
        let decode = self.decode;
        // SAFETY: as in encode.
        let (rc, inner) = call(|| unsafe { decode(self.state, &input, max_size, &mut out) });
        if rc != 0 {
            return Err(callback_error(rc, &format!("extension {} decode", self.name), &inner));
        }
        // SAFETY: the callback's contract on out.data (see take_frame).
        unsafe { self.take_frame(&out, "decode") }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for CExtension {
    fn drop(&mut self) {
        if let (true, Some(destroy)) = (self.owned, self.destroy) {
            // SAFETY: an owned instance is destroyed once, here.
            call(|| unsafe { destroy(self.state) });
        }
    }
}

/// The C view of extensions accepted before, for a factory callback.
fn instances(accepted: &[&dyn Extension]) -> Result<Vec<pmd_extension_instance>, Error> {
    accepted
        .iter()
        .map(|e| {
            e.as_any()
                .downcast_ref::<CExtension>()
                .map(CExtension::instance)
                .ok_or_else(|| Error::Internal(format!("accepted extension {} has no C instance", e.name())))
        })
        .collect()
}

fn slice_ptr<T>(v: &[T]) -> *const T {
    if v.is_empty() {
        std::ptr::null()
    } else {
        v.as_ptr()
    }
}

// ---------------------------------------------------------------------------
// C factories as framework factories
// ---------------------------------------------------------------------------

type GetRequestParamsFn = unsafe extern "C" fn(*mut c_void, *mut *const pmd_param, *mut usize) -> c_int;
type ProcessResponseFn = unsafe extern "C" fn(
    *mut c_void,
    *const pmd_param,
    usize,
    *const pmd_extension_instance,
    usize,
    *mut pmd_extension_instance,
) -> c_int;
type ProcessRequestFn = unsafe extern "C" fn(
    *mut c_void,
    *const pmd_param,
    usize,
    *const pmd_extension_instance,
    usize,
    *mut *const pmd_param,
    *mut usize,
    *mut pmd_extension_instance,
) -> c_int;

struct CClientFactory {
    name: String,
    user: *mut c_void,
    get_request_params: GetRequestParamsFn,
    process_response_params: ProcessResponseFn,
    destroy: Option<DestroyFn>,
}

// SAFETY: callbacks may run on any thread, one at a time (header); the
// negotiator's lock makes them one at a time.
unsafe impl Send for CClientFactory {}

impl Drop for CClientFactory {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            // SAFETY: the negotiator owns `user` and frees it once, here.
            call(|| unsafe { destroy(self.user) });
        }
    }
}

impl ClientFactory for CClientFactory {
    fn name(&self) -> &str {
        &self.name
    }

    fn get_request_params(&self) -> Result<Vec<Param>, Error> {
        let who = format!("client factory {} get_request_params", self.name);
        let (mut params, mut n): (*const pmd_param, usize) = (std::ptr::null(), 0);
        let f = self.get_request_params;
        // SAFETY: the factory's callback with its user pointer and two
        // writable out-pointers.
        let (rc, inner) = call(|| unsafe { f(self.user, &mut params, &mut n) });
        if rc != 0 {
            return Err(callback_error(rc, &who, &inner));
        }
        // SAFETY: the callback's contract: n parameters valid until it
        // returned to us, i.e. now, before any other callback.
        unsafe { callback_params(params, n, &who) }
    }

    fn process_response_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<Box<dyn Extension>, Error> {
        let who = format!("client factory {} process_response_params", self.name);
        let cparams = CParams::new(params)?;
        let views = instances(accepted)?;
        let mut out = pmd_extension_instance {
            vtable: std::ptr::null(),
            state: std::ptr::null_mut(),
        };
        let f = self.process_response_params;
        // SAFETY: arrays valid for their counts during the call; a writable
        // instance.
        let (rc, inner) = call(|| unsafe {
            f(
                self.user,
                cparams.ptr(),
                cparams.list.len(),
                slice_ptr(&views),
                views.len(),
                &mut out,
            )
        });
        if rc != 0 {
            return Err(callback_error(rc, &who, &inner));
        }
        // SAFETY: the vtable of a returned instance is NULL or live (header).
        Ok(Box::new(unsafe { CExtension::adopt(out, true, &who) }?))
    }
}

struct CServerFactory {
    name: String,
    user: *mut c_void,
    process_request_params: ProcessRequestFn,
    destroy: Option<DestroyFn>,
}

// SAFETY: as for CClientFactory.
unsafe impl Send for CServerFactory {}

impl Drop for CServerFactory {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            // SAFETY: the negotiator owns `user` and frees it once, here.
            call(|| unsafe { destroy(self.user) });
        }
    }
}

impl ServerFactory for CServerFactory {
    fn name(&self) -> &str {
        &self.name
    }

    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<(Vec<Param>, Box<dyn Extension>), Error> {
        let who = format!("server factory {} process_request_params", self.name);
        let cparams = CParams::new(params)?;
        let views = instances(accepted)?;
        let mut out = pmd_extension_instance {
            vtable: std::ptr::null(),
            state: std::ptr::null_mut(),
        };
        let (mut response, mut n_response): (*const pmd_param, usize) = (std::ptr::null(), 0);
        let f = self.process_request_params;
        // SAFETY: arrays valid for their counts during the call; writable
        // out-pointers.
        let (rc, inner) = call(|| unsafe {
            f(
                self.user,
                cparams.ptr(),
                cparams.list.len(),
                slice_ptr(&views),
                views.len(),
                &mut response,
                &mut n_response,
                &mut out,
            )
        });
        if rc != 0 {
            return Err(callback_error(rc, &who, &inner));
        }
        // Take the instance first, so that bad parameters destroy it.
        // SAFETY: the vtable of a returned instance is NULL or live (header).
        let ext = unsafe { CExtension::adopt(out, true, &who) }?;
        // SAFETY: the callback's contract: the response is valid until it
        // returned to us, i.e. now, before any other callback.
        let response = unsafe { callback_params(response, n_response, &who) }?;
        Ok((response, Box::new(ext)))
    }
}

// ---------------------------------------------------------------------------
// permessage-deflate through the C interface
// ---------------------------------------------------------------------------

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

/// Reads a C frame. NULL data is the empty payload when len is 0.
///
/// # Safety
/// `f.data` is NULL or valid for `f.len` bytes for `'a`.
unsafe fn read_frame<'a>(f: &pmd_frame) -> Result<Frame<'a>, Error> {
    let data = match (f.data.is_null(), f.len) {
        (true, 0) => &[][..],
        (true, _) => return Err(null("frame data")),
        // SAFETY: forwarded caller guarantee.
        (false, len) => unsafe { std::slice::from_raw_parts(f.data, len) },
    };
    Ok(Frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        data,
    })
}

/// Writes a result frame to C: a passed-through payload keeps the
/// caller's own pointer, an empty one points at a static byte.
fn write_frame(f: &Frame<'_>, input: &pmd_frame, input_slice: &[u8], out: &mut pmd_frame) {
    static EMPTY: u8 = 0;
    let data = if f.data.as_ptr() == input_slice.as_ptr() && f.data.len() == input_slice.len() {
        input.data
    } else if f.data.is_empty() {
        &EMPTY
    } else {
        f.data.as_ptr()
    };
    *out = pmd_frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        data,
        len: f.data.len(),
    };
}

/// # Safety
/// `state` is an `Exported` made by a built-in factory, not in use
/// elsewhere; `in_` and `out` are NULL or valid.
unsafe extern "C" fn exported_encode(state: *mut c_void, in_: *const pmd_frame, out: *mut pmd_frame) -> c_int {
    guard("permessage-deflate encode", || {
        // SAFETY: forwarded caller guarantees.
        let (ex, input, out) = unsafe {
            (
                req_mut(state.cast::<Exported>(), "state")?,
                req(in_, "in")?,
                req_mut(out, "out")?,
            )
        };
        // SAFETY: as above.
        let frame = unsafe { read_frame(input) }?;
        let result = ex.ext.encode(&frame)?;
        write_frame(&result, input, frame.data, out);
        Ok(())
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
        let (ex, input, out) = unsafe {
            (
                req_mut(state.cast::<Exported>(), "state")?,
                req(in_, "in")?,
                req_mut(out, "out")?,
            )
        };
        // SAFETY: as above.
        let frame = unsafe { read_frame(input) }?;
        let result = ex.ext.decode(&frame, max_size)?;
        write_frame(&result, input, frame.data, out);
        Ok(())
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

// ---------------------------------------------------------------------------
// The negotiator
// ---------------------------------------------------------------------------

fn lock<'a, T>(m: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>, Error> {
    m.lock()
        .map_err(|_| Error::Internal(format!("the {what} failed internally earlier: free it")))
}

/// Creates an empty negotiator. Returns NULL only when out of memory. Free
/// it with pmd_negotiator_free. Chains it produced do not refer to it.
#[no_mangle]
pub extern "C" fn pmd_negotiator_new() -> *mut pmd_negotiator {
    guard_value(std::ptr::null_mut(), || {
        into_handle(pmd_negotiator {
            inner: Mutex::new(Factories::default()),
        })
    })
}

/// Frees a negotiator and its factories: each factory's destroy(user) is
/// called once, the last added first, on this thread. NULL is a no-op. No
/// call on the negotiator may be running or follow.
///
/// # Safety
/// `neg` is NULL or a live negotiator, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_free(neg: *mut pmd_negotiator) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(neg) })
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
/// called from inside a callback. Thread-safe.
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
    guard("pmd_negotiator_add_client", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, f) = unsafe { (req(neg, "neg")?, req(factory, "factory")?) };
        let get = f
            .get_request_params
            .ok_or_else(|| null("factory->get_request_params"))?;
        let process = f
            .process_response_params
            .ok_or_else(|| null("factory->process_response_params"))?;
        // SAFETY: the name is NULL or NUL-terminated per the caller.
        let name = unsafe { token_name(f.name, "the client factory") }?;
        let mut inner = lock(&neg.inner, "negotiator")?;
        inner.clients.push(Box::new(CClientFactory {
            name,
            user: f.user,
            get_request_params: get,
            process_response_params: process,
            destroy: f.destroy,
        }));
        Ok(())
    })
}

/// Appends a server factory: for each client offer, factories with its
/// name are tried in the order added. Ownership as for
/// pmd_negotiator_add_client.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when neg, factory or
/// process_request_params is NULL; PMD_ERR_INVALID_ARGUMENT when the name
/// is NULL or not a token, or when called from inside a callback.
/// Thread-safe.
///
/// # Safety
/// As for pmd_negotiator_add_client.
#[no_mangle]
pub unsafe extern "C" fn pmd_negotiator_add_server(
    neg: *mut pmd_negotiator,
    factory: *const pmd_server_factory,
) -> pmd_result {
    guard("pmd_negotiator_add_server", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, f) = unsafe { (req(neg, "neg")?, req(factory, "factory")?) };
        let process = f
            .process_request_params
            .ok_or_else(|| null("factory->process_request_params"))?;
        // SAFETY: the name is NULL or NUL-terminated per the caller.
        let name = unsafe { token_name(f.name, "the server factory") }?;
        let mut inner = lock(&neg.inner, "negotiator")?;
        inner.servers.push(Box::new(CServerFactory {
            name,
            user: f.user,
            process_request_params: process,
            destroy: f.destroy,
        }));
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
/// callback; a callback's own error result. Thread-safe.
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
    guard("pmd_negotiator_client_offer", || {
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

fn new_chain(chain: Chain) -> *mut pmd_chain {
    into_handle(pmd_chain {
        chain: Mutex::new(chain),
        encoding: AtomicBool::new(false),
        decoding: AtomicBool::new(false),
    })
}

/// Client: processes the server's Sec-WebSocket-Extensions response value
/// (NULL or len 0 when the header was absent) as the reference's client
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
/// missing encode or decode) or when called from inside a callback; any
/// other result a callback returned. On every failure, the extensions
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
    guard("pmd_negotiator_client_accept", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (neg, chain) = unsafe { (req(neg, "neg")?, req_mut(chain, "chain")?) };
        // SAFETY: as above; NULL means the header was absent.
        let response = unsafe { bytes(response, len, "response", true) }?;
        let accepted = framework::client_process_response(&lock(&neg.inner, "negotiator")?.clients, response)?;
        *chain = new_chain(accepted);
        Ok(())
    })
}

/// Server: processes the client's Sec-WebSocket-Extensions request value
/// (several header lines joined with ", "; NULL or len 0 when absent) as
/// the reference's server does. Offers are walked in the client's order;
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
/// called from inside a callback; any other result a callback returned. On
/// every failure, the extensions accepted so far are destroyed and *chain
/// is unchanged. Thread-safe.
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
    guard("pmd_negotiator_server_negotiate", || {
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
        *chain = new_chain(accepted);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// The chain
// ---------------------------------------------------------------------------

/// Marks one side of a chain busy while it lives.
struct Busy<'a>(&'a AtomicBool);

impl<'a> Busy<'a> {
    fn enter(flag: &'a AtomicBool, side: &str) -> Result<Busy<'a>, Error> {
        if flag.swap(true, Ordering::Acquire) {
            return Err(Error::invalid(format!(
                "concurrent calls on the {side} side of one chain: the calls on a side must not overlap"
            )));
        }
        Ok(Busy(flag))
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Encodes one outgoing frame through every extension of the chain, first
/// accepted to last (the reference's Frame.serialize). Each extension's
/// output is the next one's input. An empty chain passes the frame through.
///
/// out->data points at in->data (every extension passed the payload
/// through) or into memory owned by an extension of the chain, valid until
/// the next pmd_chain_encode on this chain or pmd_chain_free; never free
/// it.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (chain, in, out, or in->data with
/// len > 0); the result an extension's encode returned (pmd_last_error
/// names the extension and its position); PMD_ERR_INVALID_ARGUMENT when an
/// encode callback returned bad data (PMD_OK without writing the frame,
/// NULL data with len > 0, an opcode above 15) or a value that is not a
/// pmd_result, for a concurrent encode call, or from inside a callback.
///
/// Threads: may be called while another thread runs pmd_chain_decode on
/// the same chain (the two are serialised inside, so the callbacks of one
/// chain never run at the same time), never with another encode.
///
/// # Safety
/// `chain` is NULL or a live chain; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_encode(
    chain: *mut pmd_chain,
    in_: *const pmd_frame,
    out: *mut pmd_frame,
) -> pmd_result {
    guard("pmd_chain_encode", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (chain, input, out) = unsafe { (req(chain, "chain")?, req(in_, "in")?, req_mut(out, "out")?) };
        // SAFETY: as above.
        let frame = unsafe { read_frame(input) }?;
        let _busy = Busy::enter(&chain.encoding, "encode")?;
        let mut inner = lock(&chain.chain, "chain")?;
        let result = inner.encode(&frame)?;
        write_frame(&result, input, frame.data, out);
        Ok(())
    })
}

/// Decodes one incoming frame through every extension of the chain, last
/// accepted to first (the reference's Frame.parse), each given the same
/// `max_size` (0: no limit; pass the message's remaining budget). Then, as
/// the reference's Frame.check, a reserved bit (RSV1-3) still set means no
/// negotiated extension claimed it: PMD_ERR_PROTOCOL.
///
/// out->data points at in->data or into memory owned by an extension of
/// the chain, valid until the next pmd_chain_decode on this chain or
/// pmd_chain_free; never free it.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (nothing changes); the result an
/// extension's decode returned (pmd_result_close_code gives the close code
/// to send); PMD_ERR_PROTOCOL for a reserved bit left set;
/// PMD_ERR_INVALID_ARGUMENT for bad data from a decode callback, a
/// concurrent decode call, or a call from inside a callback. Errors from
/// the extensions and the reserved-bit check are sticky: every later
/// decode returns the same result without calling any extension.
///
/// Threads: as pmd_chain_encode, with the roles swapped.
///
/// # Safety
/// `chain` is NULL or a live chain; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_decode(
    chain: *mut pmd_chain,
    in_: *const pmd_frame,
    max_size: usize,
    out: *mut pmd_frame,
) -> pmd_result {
    guard("pmd_chain_decode", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (chain, input, out) = unsafe { (req(chain, "chain")?, req(in_, "in")?, req_mut(out, "out")?) };
        // SAFETY: as above.
        let frame = unsafe { read_frame(input) }?;
        let _busy = Busy::enter(&chain.decoding, "decode")?;
        let mut inner = lock(&chain.chain, "chain")?;
        let result = inner.decode(&frame, max_size)?;
        write_frame(&result, input, frame.data, out);
        Ok(())
    })
}

/// The number of extensions in the chain; 0 for NULL. Thread-safe (it
/// waits for a running encode or decode).
///
/// # Safety
/// `chain` is NULL or a live chain.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_count(chain: *const pmd_chain) -> usize {
    guard_value(0, || {
        // SAFETY: forwarded caller guarantee.
        unsafe { chain.as_ref() }
            .and_then(|c| c.chain.lock().ok())
            .map_or(0, |c| c.len())
    })
}

/// The extension at `index` (0 = accepted first) as its instance: its
/// vtable (vtable->name is its name) and its state, still owned by the
/// chain: valid until pmd_chain_free, never destroy it. Lets a host reach
/// its own extension's state after negotiation.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (chain or out);
/// PMD_ERR_INVALID_ARGUMENT when index >= pmd_chain_count(chain) or when
/// called from inside a callback. Thread-safe.
///
/// # Safety
/// `chain` is NULL or a live chain; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_get(
    chain: *const pmd_chain,
    index: usize,
    out: *mut pmd_extension_instance,
) -> pmd_result {
    guard("pmd_chain_get", || {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (chain, out) = unsafe { (req(chain, "chain")?, req_mut(out, "out")?) };
        let inner = lock(&chain.chain, "chain")?;
        let ext = inner.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "index {index} out of range: the chain has {} extensions",
                inner.len()
            ))
        })?;
        *out = instances(&[ext])?[0];
        Ok(())
    })
}

/// Frees a chain: each extension's destroy runs once, the last accepted
/// first, on this thread. NULL is a no-op. No call on the chain may be
/// running or follow, and a callback must not free its own chain.
///
/// # Safety
/// `chain` is NULL or a live chain, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_free(chain: *mut pmd_chain) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(chain) })
}
