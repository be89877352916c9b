//! C extensions and factories as the traits of `crate::framework`: the
//! function pointers and user data a C caller handed in, called through
//! `callbacks` and checked before anything they return is used.

use std::any::Any;
use std::ffi::{c_int, c_void};

use crate::error::Error;
use crate::extension::Frame;
use crate::ffi::extension::pmd_frame;
use crate::ffi::frame::{self, RawFrame};
use crate::ffi::header::pmd_param;
use crate::framework::{ClientFactory, Extension, ServerFactory};
use crate::header::{Param, ParamRef};

use super::callbacks::{call, callback_error, callback_params, slice_ptr, token_name, CParams};
use super::{pmd_extension_instance, pmd_extension_vtable};

type EncodeFn = unsafe extern "C" fn(*mut c_void, *const pmd_frame, *mut pmd_frame) -> c_int;
type DecodeFn = unsafe extern "C" fn(*mut c_void, *const pmd_frame, usize, *mut pmd_frame) -> c_int;
pub(super) type DestroyFn = unsafe extern "C" fn(*mut c_void);

/// A C extension instance. Owned ones are destroyed when dropped; borrowed
/// ones are views of an instance someone else owns.
pub(super) struct CExtension {
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
    pub(super) unsafe fn adopt(inst: pmd_extension_instance, owned: bool, who: &str) -> Result<CExtension, Error> {
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
        // Built only on an error: this runs for every frame.
        let who = || format!("extension {} {op}", self.name);
        if out.opcode == UNWRITTEN {
            return Err(Error::invalid(format!(
                "{} returned PMD_OK without writing its output frame",
                who()
            )));
        }
        if out.opcode > 15 {
            return Err(Error::invalid(format!(
                "{} returned opcode {}, which does not fit in 4 bits",
                who(),
                out.opcode
            )));
        }
        let data = match (out.data.is_null(), out.len) {
            (true, 0) => &[][..],
            (true, len) => return Err(Error::invalid(format!("{} returned NULL data with len {len}", who()))),
            // SAFETY: non-NULL; the callback's contract keeps len bytes
            // valid until the next call on this side, which needs &mut self.
            (false, len) => unsafe { std::slice::from_raw_parts(out.data, len) },
        };
        Ok(frame::from_c(out, data))
    }
}

/// The opcode `*out` carries into a callback: no frame has it.
const UNWRITTEN: u8 = 0xff;

impl Extension for CExtension {
    fn name(&self) -> &str {
        &self.name
    }

    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>, Error> {
        let input = frame::to_c(frame);
        let mut slot = RawFrame::blank(UNWRITTEN);
        let encode = self.encode;
        // SAFETY: the vtable's encode with the instance's state, a valid
        // input frame (borrowed from `frame`) and a writable output.
        let (rc, inner) = call(|| unsafe { encode(self.state, &input, slot.as_c()) });
        let out = slot.normalised();
        if rc != 0 {
            return Err(callback_error(rc, &format!("extension {} encode", self.name), &inner));
        }
        // SAFETY: the callback's contract on out.data (see take_frame).
        unsafe { self.take_frame(&out, "encode") }
    }

    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>, Error> {
        let input = frame::to_c(frame);
        let mut slot = RawFrame::blank(UNWRITTEN);
        let decode = self.decode;
        // SAFETY: as in encode.
        let (rc, inner) = call(|| unsafe { decode(self.state, &input, max_size, slot.as_c()) });
        let out = slot.normalised();
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
pub(super) fn instances(accepted: &[&dyn Extension]) -> Result<Vec<pmd_extension_instance>, Error> {
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

/// A factory's `user` pointer, owned by the negotiator: its destroy runs
/// once, when the factory is dropped.
pub(super) struct User {
    pub(super) ptr: *mut c_void,
    pub(super) destroy: Option<DestroyFn>,
}

// SAFETY: callbacks may run on any thread, one at a time (header); the
// negotiator's lock makes them one at a time.
unsafe impl Send for User {}

impl Drop for User {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            // SAFETY: the negotiator owns `user` and frees it once, here.
            call(|| unsafe { destroy(self.ptr) });
        }
    }
}

/// The instance a factory callback's `*out` starts as: none.
fn no_instance() -> pmd_extension_instance {
    pmd_extension_instance {
        vtable: std::ptr::null(),
        state: std::ptr::null_mut(),
    }
}

pub(super) struct CClientFactory {
    pub(super) name: String,
    pub(super) user: User,
    pub(super) get_request_params: GetRequestParamsFn,
    pub(super) process_response_params: ProcessResponseFn,
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
        let (rc, inner) = call(|| unsafe { f(self.user.ptr, &mut params, &mut n) });
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
        let mut out = no_instance();
        let f = self.process_response_params;
        // SAFETY: arrays valid for their counts during the call; a writable
        // instance.
        let (rc, inner) = call(|| unsafe {
            f(
                self.user.ptr,
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

pub(super) struct CServerFactory {
    pub(super) name: String,
    pub(super) user: User,
    pub(super) process_request_params: ProcessRequestFn,
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
        let mut out = no_instance();
        let (mut response, mut n_response): (*const pmd_param, usize) = (std::ptr::null(), 0);
        let f = self.process_request_params;
        // SAFETY: arrays valid for their counts during the call; writable
        // out-pointers.
        let (rc, inner) = call(|| unsafe {
            f(
                self.user.ptr,
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
