//! Calling user callbacks: the guard against calls back into the library
//! from inside one, the last-error bookkeeping around each call, and the
//! checks and copies of what a callback returns (its result code, names,
//! parameters), and of the parameters handed to it.

use crate::fallible::detail;
use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr, CString};

use crate::error::{Error, ErrorKind};
use crate::ffi::header::pmd_param;
use crate::ffi::LAST_ERROR;
use crate::header::{is_token, Param, ParamRef, MAX_PARAMS};

thread_local! {
    /// How many user callbacks the calling thread is inside.
    static CALLBACK_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Marks the calling thread as inside a callback while it lives.
struct InCallback;

impl InCallback {
    fn enter() -> InCallback {
        let _ = CALLBACK_DEPTH.try_with(|d| d.set(d.get() + 1));
        InCallback
    }
}

impl Drop for InCallback {
    fn drop(&mut self) {
        let _ = CALLBACK_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Locks would deadlock on a call from inside a callback: refuse it.
pub(super) fn refuse_reentry() -> Result<(), Error> {
    if CALLBACK_DEPTH.try_with(Cell::get).unwrap_or(0) > 0 {
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
pub(super) fn call<R>(f: impl FnOnce() -> R) -> (R, String) {
    // try_with: during thread exit (a handle freed from a thread-exit
    // destructor) the thread-locals may be gone; nothing to save then.
    // The buffer is fixed: its bytes are saved and put back, so pointers
    // to it stay valid and nothing is allocated for the caller's detail.
    let saved = LAST_ERROR
        .try_with(|e| std::mem::replace(&mut *e.borrow_mut(), [0; super::super::LAST_ERROR_CAP]))
        .ok();
    let r = {
        let _inside = InCallback::enter();
        f()
    };
    let inner = LAST_ERROR
        .try_with(|e| match saved {
            Some(saved) => std::mem::replace(&mut *e.borrow_mut(), saved),
            None => *e.borrow(),
        })
        .ok();
    let inner = inner.map_or(String::new(), |b| {
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        crate::fallible::lossy_string(&b[..end]).unwrap_or_default()
    });
    (r, inner)
}

/// The error for a callback's non-zero result: that result, or
/// INVALID_ARGUMENT for a value that is not a pmd_result.
pub(super) fn callback_error(rc: c_int, who: &str, inner: &str) -> Error {
    let detail = if inner.is_empty() {
        String::new()
    } else {
        detail!(" ({inner})")
    };
    match ErrorKind::from_code(rc) {
        Some(kind) => Error::new(
            kind,
            detail!("{who} failed with {}{detail}", kind.name().to_string_lossy()),
        ),
        None => Error::invalid(detail!("{who} returned {rc}, which is not a pmd_result")),
    }
}

/// Reads a NUL-terminated name that must be a token.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
pub(super) unsafe fn token_name(p: *const c_char, who: &str) -> Result<String, Error> {
    if p.is_null() {
        return Err(Error::invalid(detail!("{who} has a NULL name")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let b = unsafe { CStr::from_ptr(p) }.to_bytes();
    token(b, &detail!("{who} has name"))
}

/// `b` as a string when it is a token; otherwise INVALID_ARGUMENT, the
/// message starting with `what`.
fn token(b: &[u8], what: &str) -> Result<String, Error> {
    if !is_token(b) {
        return Err(Error::invalid(detail!(
            "{what} {:?}, which is not a token",
            crate::fallible::Lossy(b)
        )));
    }
    crate::fallible::lossy_string(b)
}

/// Reads parameters a callback returned: at most MAX_PARAMS, names and
/// values tokens. Bad data is INVALID_ARGUMENT.
///
/// # Safety
/// `p` is NULL or valid for `n` elements whose non-NULL strings are valid
/// for their lengths.
pub(super) unsafe fn callback_params(p: *const pmd_param, n: usize, who: &str) -> Result<Vec<Param>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > MAX_PARAMS {
        return Err(Error::invalid(detail!(
            "{who} returned {n} parameters, more than {MAX_PARAMS}"
        )));
    }
    if p.is_null() {
        return Err(Error::invalid(detail!(
            "{who} returned a NULL parameter array with {n} parameters"
        )));
    }
    // SAFETY: non-NULL and valid for n elements per the caller.
    let list = unsafe { std::slice::from_raw_parts(p, n) };
    let read = |ptr: *const c_char, len: usize, what: String| -> Result<String, Error> {
        if ptr.is_null() {
            return Err(Error::invalid(detail!("{who} returned a NULL {what}")));
        }
        // SAFETY: non-NULL; the caller guarantees len readable bytes.
        let b = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
        token(b, &detail!("{who} returned {what}"))
    };
    let mut out = crate::fallible::vec_with_capacity(list.len())?;
    for (i, p) in list.iter().enumerate() {
        let name = read(p.name, p.name_len, detail!("parameter #{i} name"))?;
        let value = if p.value.is_null() {
            None
        } else {
            Some(read(p.value, p.value_len, detail!("value of parameter {name}"))?)
        };
        out.push(Param { name, value });
    }
    Ok(out)
}

/// Parameters handed to a callback: NUL-terminated copies, valid while
/// this lives.
pub(super) struct CParams {
    pub(super) _storage: Vec<CString>,
    pub(super) list: Vec<pmd_param>,
}

impl CParams {
    pub(super) fn new(params: &[ParamRef<'_>]) -> Result<CParams, Error> {
        let mut storage = Vec::new();
        let mut keep = |b: &[u8]| -> Result<(*const c_char, usize), Error> {
            // A copy with its NUL, allocated fallibly; exact, so that
            // CString takes it as it is.
            let mut v = crate::fallible::vec_with_capacity(b.len() + 1)?;
            v.extend_from_slice(b);
            v.push(0);
            let c = CString::from_vec_with_nul(v)
                .map_err(|_| Error::Fixed(ErrorKind::Internal, "NUL byte in a parsed parameter"))?;
            // The CString's buffer does not move when the Vec grows.
            let p = (c.as_ptr(), b.len());
            crate::fallible::push(&mut storage, c)?;
            Ok(p)
        };
        let mut list = crate::fallible::vec_with_capacity(params.len())?;
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

    pub(super) fn ptr(&self) -> *const pmd_param {
        slice_ptr(&self.list)
    }
}

/// An array handed to C: NULL when empty.
pub(super) fn slice_ptr<T>(v: &[T]) -> *const T {
    if v.is_empty() {
        std::ptr::null()
    } else {
        v.as_ptr()
    }
}
