//! C factories as the factory traits of `crate::framework`: the function
//! pointers and user data a C caller handed in, called through `callbacks`
//! and checked before anything they return is used.

use crate::fallible::detail;
use std::ffi::c_void;

use crate::error::Error;
use crate::ffi::header::pmd_param;
use crate::framework::{ClientFactory, Member, ServerFactory};
use crate::header::{Param, ParamRef};

use super::callbacks::{call, callback_error, callback_params, slice_ptr, CParams};
use super::foreign::{adopt, view, ForeignExtension};
use super::{
    pmd_destroy_callback, pmd_extension_instance, pmd_get_request_params_callback, pmd_process_request_params_callback,
    pmd_process_response_params_callback, FnOf,
};

type GetRequestParamsFn = FnOf<pmd_get_request_params_callback>;
type ProcessResponseFn = FnOf<pmd_process_response_params_callback>;
type ProcessRequestFn = FnOf<pmd_process_request_params_callback>;

/// A factory's `user` pointer, owned by the negotiator: its destroy runs
/// once, when the factory is dropped.
pub(super) struct User {
    pub(super) ptr: *mut c_void,
    pub(super) destroy: pmd_destroy_callback,
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

/// The C views of the extensions accepted before.
fn views(accepted: &[Member<ForeignExtension>]) -> Result<Vec<pmd_extension_instance>, Error> {
    let mut out = crate::fallible::vec_with_capacity(accepted.len())?;
    for m in accepted {
        out.push(view(m)?);
    }
    Ok(out)
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

impl ClientFactory<ForeignExtension> for CClientFactory {
    fn name(&self) -> &str {
        &self.name
    }

    fn get_request_params(&self) -> Result<Vec<Param>, Error> {
        let who = detail!("client factory {} get_request_params", self.name);
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
        accepted: &[Member<ForeignExtension>],
    ) -> Result<Member<ForeignExtension>, Error> {
        let who = detail!("client factory {} process_response_params", self.name);
        let cparams = CParams::new(params)?;
        let views = views(accepted)?;
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
        unsafe { adopt(out, true, &who) }
    }
}

pub(super) struct CServerFactory {
    pub(super) name: String,
    pub(super) user: User,
    pub(super) process_request_params: ProcessRequestFn,
}

impl ServerFactory<ForeignExtension> for CServerFactory {
    fn name(&self) -> &str {
        &self.name
    }

    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[Member<ForeignExtension>],
    ) -> Result<(Vec<Param>, Member<ForeignExtension>), Error> {
        let who = detail!("server factory {} process_request_params", self.name);
        let cparams = CParams::new(params)?;
        let views = views(accepted)?;
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
        let ext = unsafe { adopt(out, true, &who) }?;
        // SAFETY: the callback's contract: the response is valid until it
        // returned to us, i.e. now, before any other callback.
        let response = unsafe { callback_params(response, n_response, &who) }?;
        Ok((response, ext))
    }
}
