//! The C boundary: the only place with C types. Every export goes through
//! `guard!` (panic catching, error recording, the export's own name in
//! pmd_last_error) and reads its arguments with the helpers here, then
//! calls the safe core.
#![allow(non_camel_case_types)]

use crate::fallible::detail;
use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind};

// The header lists exports in declaration order (each group is kept
// apart so that rustfmt leaves the order): results and configuration,
// negotiation, the header grammar, frames and the extension, then the
// extension framework.
pub mod result;

pub mod config;

pub mod negotiate;

pub mod header;

pub mod frame;

pub mod extension;

pub mod encoder;

pub mod framework;

pub use result::pmd_result;

/// Passing this as a client's `client_max_window_bits` offers the parameter
/// without a value: the server may pick any window size.
pub const PMD_WINDOW_BITS_NO_VALUE: i32 = -1;
const _: () = assert!(PMD_WINDOW_BITS_NO_VALUE == crate::config::WINDOW_BITS_NO_VALUE);

/// Room that is always enough for an offer or a response value built by
/// pmd_client_offer or pmd_server_negotiate (the longest is 132 bytes).
pub const PMD_MAX_RESPONSE_LEN: usize = 256;

/// Cargo.toml's version, NUL-terminated. The header's PMD_VERSION macros
/// are written from the same version by build.rs.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the crate version has no NUL"),
};

/// Room for the last error's detail, NUL included; a longer one is cut.
pub(crate) const LAST_ERROR_CAP: usize = 512;

thread_local! {
    /// The calling thread's last failure, NUL-terminated ("" until one
    /// happens). A fixed buffer, so that recording a failure allocates
    /// nothing and works when memory has run out; no destructor either.
    pub(crate) static LAST_ERROR: RefCell<[u8; LAST_ERROR_CAP]> = const { RefCell::new([0; LAST_ERROR_CAP]) };
}

/// Writes into a fixed buffer, cutting at a character boundary when full
/// and at an interior NUL (C cannot show what follows one).
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
    done: bool,
}

impl std::fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.done {
            return Ok(());
        }
        let s = match s.find('\0') {
            Some(i) => {
                self.done = true;
                &s[..i]
            }
            None => s,
        };
        // One byte stays for the NUL.
        let room = self.buf.len() - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.done = true;
        }
        Ok(())
    }
}

/// Records "func: detail" as the calling thread's last error, without
/// allocating.
fn set_last_error(func: &str, err: &Error) {
    // During thread exit the thread-local may be gone: drop the detail
    // rather than panic across the boundary.
    let _ = LAST_ERROR.try_with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else { return };
        let mut w = Truncating {
            buf: &mut buf[..],
            len: 0,
            done: false,
        };
        let detail = match err.detail() {
            "" if err.kind() == ErrorKind::OutOfMemory => "out of memory",
            "" => "(no detail: out of memory)",
            d => d,
        };
        let _ = std::fmt::Write::write_fmt(&mut w, format_args!("{func}: {detail}"));
        let end = w.len;
        buf[end] = 0;
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// The path of the function it is used in (an export: its name is the
/// last segment). A constant: trimming it waits until an error needs it.
macro_rules! fn_name {
    () => {{
        fn here() {}
        std::any::type_name_of_val(&here)
    }};
}

/// Runs an export's body under `run_guarded`, named after the export.
macro_rules! guard {
    ($body:expr) => {
        $crate::ffi::run_guarded($crate::ffi::fn_name!(), $body)
    };
}
pub(crate) use {fn_name, guard};

/// An export's name from the path `fn_name!` gives inside it
/// ("pmdeflate::ffi::config::pmd_config_new::here"); any other name as is.
fn export_name(path: &str) -> &str {
    let path = path.strip_suffix("::here").unwrap_or(path);
    path.rsplit("::").next().unwrap_or(path)
}

/// Runs an export's body: a panic becomes PMD_ERR_INTERNAL, an `Err`
/// becomes its result code, and both record `pmd_last_error`, prefixed with
/// the export's name (`func` is a `fn_name!` path or a plain name).
pub(crate) fn run_guarded(func: &str, body: impl FnOnce() -> Result<(), Error>) -> pmd_result {
    let err = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return pmd_result::PMD_OK,
        Ok(Err(e)) => e,
        Err(payload) => Error::Internal(detail!("internal error (panic): {}", panic_message(&*payload))),
    };
    set_last_error(export_name(func), &err);
    pmd_result::from(err.kind())
}

/// For exports that return a value rather than a result: a panic gives
/// `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

pub(crate) fn null(what: &str) -> Error {
    Error::new(ErrorKind::NullPointer, detail!("{what} is NULL"))
}

/// The error for a caller buffer of `cap` where `needed` is required.
pub(crate) fn too_small(needed: usize, cap: usize) -> Error {
    Error::new(
        ErrorKind::BufferTooSmall,
        detail!("buffer too small: {needed} bytes needed, {cap} available"),
    )
}

/// A required pointer, as a shared reference.
///
/// # Safety
/// `p` is NULL or valid for reads of a `T` for `'a`.
pub(crate) unsafe fn req<'a, T>(p: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller guarantees p is NULL or valid; as_ref checks NULL.
    unsafe { p.as_ref() }.ok_or_else(|| null(what))
}

/// A required pointer, as an exclusive reference.
///
/// # Safety
/// `p` is NULL or valid for reads and writes of a `T` for `'a`, unaliased.
pub(crate) unsafe fn req_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller guarantees p is NULL or valid and unaliased.
    unsafe { p.as_mut() }.ok_or_else(|| null(what))
}

/// A `(ptr, len)` byte string. NULL is refused unless `null_ok` and `len`
/// is 0, where it means an absent (empty) value.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const c_char, len: usize, what: &str, null_ok: bool) -> Result<&'a [u8], Error> {
    if p.is_null() {
        // NULL stands for an absent value only with length 0.
        return if null_ok && len == 0 { Ok(&[]) } else { Err(null(what)) };
    }
    // SAFETY: p is non-NULL and the caller guarantees len readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// A `(ptr, n)` array; NULL is accepted only when `n` is 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `n` elements for `'a`.
pub(crate) unsafe fn array<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T], Error> {
    if p.is_null() {
        return if n == 0 { Ok(&[]) } else { Err(null(what)) };
    }
    // SAFETY: p is non-NULL and the caller guarantees n readable elements.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A NUL-terminated string.
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string live for `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: p is non-NULL and NUL-terminated per the caller.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Copies `s` to a caller buffer of `cap` bytes, NUL-terminated when room
/// allows; `*out_len` gets `s.len()`, also when the buffer is too small.
/// `buf` may be NULL only when `cap` is 0 (a size query).
///
/// # Safety
/// `buf` is NULL or valid for writes of `cap` bytes; `out_len` is NULL or
/// valid for a write.
pub(crate) unsafe fn write_str(s: &[u8], buf: *mut c_char, cap: usize, out_len: *mut usize) -> Result<(), Error> {
    // SAFETY: forwarded caller guarantee.
    let out_len = unsafe { req_mut(out_len, "out_len") }?;
    if buf.is_null() && cap != 0 {
        return Err(null("buf"));
    }
    if cap < s.len() {
        *out_len = s.len();
        return Err(too_small(s.len(), cap));
    }
    if cap > 0 {
        // SAFETY: cap > 0, so buf is non-NULL (checked above) and valid for
        // cap >= s.len() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), s.len());
            if cap > s.len() {
                *buf.add(s.len()) = 0;
            }
        }
    }
    *out_len = s.len();
    Ok(())
}

/// Creates a C handle from a Rust value; PMD_ERR_OUT_OF_MEMORY when the
/// allocation fails (the value is dropped).
pub(crate) fn into_handle<T>(value: T) -> Result<*mut T, Error> {
    Ok(Box::into_raw(crate::fallible::try_box(value)?))
}

/// For constructors that return a handle: NULL on failure, with
/// `pmd_last_error` recorded (`func` as for `run_guarded`).
pub(crate) fn handle_or_null<T>(func: &str, made: Result<*mut T, Error>) -> *mut T {
    made.unwrap_or_else(|e| {
        set_last_error(export_name(func), &e);
        std::ptr::null_mut()
    })
}

/// Takes back and drops a handle made by `into_handle`; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or came from `into_handle::<T>` and is not used afterwards.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: p came from Box::into_raw and ownership returns here once.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// The detail of the calling thread's last failure: one line naming the
/// function and the offending parameter, value or byte offset, e.g.
/// "pmd_client_accept: duplicate parameter server_max_window_bits".
/// Returns "" when nothing has failed on this thread yet. At most 511
/// bytes: a longer detail is cut (at a UTF-8 character boundary). The
/// string is owned by the library (a per-thread buffer: recording a detail
/// allocates nothing) and stays valid until the next failing call on the
/// same thread. Never NULL. Thread-safe: each thread has its own.
#[no_mangle]
pub extern "C" fn pmd_last_error() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|e| e.as_ptr().cast::<c_char>().cast_const())
            .unwrap_or(c"".as_ptr())
    })
}

/// The library version, "MAJOR.MINOR.PATCH"; a static string, never NULL.
#[no_mangle]
pub extern "C" fn pmd_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The version of the zlib linked into the library, as its zlibVersion()
/// reports it: the system zlib's, e.g. "1.3.1", by default; one containing
/// "zlib-ng", e.g. "1.3.1.zlib-ng", when built with the cargo feature
/// `zlib-ng` (docs/zlib-ng.md). A static string, never NULL.
#[no_mangle]
pub extern "C" fn pmd_zlib_version() -> *const c_char {
    crate::zstream::zlib_version().as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_names_the_export_it_runs_in() {
        fn pmd_some_export() -> pmd_result {
            guard!(|| Err(Error::invalid("bad")))
        }
        assert_eq!(pmd_some_export(), pmd_result::PMD_ERR_INVALID_ARGUMENT);
        // SAFETY: pmd_last_error returns a live NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(pmd_last_error()) }.to_str().unwrap().to_owned();
        assert_eq!(msg, "pmd_some_export: bad");
    }

    #[test]
    fn last_error_is_cut_to_its_buffer_at_a_char_boundary_and_at_a_nul() {
        let last = || {
            // SAFETY: pmd_last_error returns a live NUL-terminated string.
            unsafe { CStr::from_ptr(pmd_last_error()) }.to_str().unwrap().to_owned()
        };
        // "f: " then 'é' (2 bytes) repeated: the cut falls inside one.
        let long = "é".repeat(LAST_ERROR_CAP);
        set_last_error("f", &Error::invalid(long));
        let got = last();
        assert!(
            got.len() < LAST_ERROR_CAP && got.len() >= LAST_ERROR_CAP - 3,
            "{}",
            got.len()
        );
        assert!(got.starts_with("f: éé"));
        set_last_error("g", &Error::invalid("before\0after"));
        assert_eq!(last(), "g: before");
        // An empty detail (it could not be formatted): the kind says it.
        set_last_error("h", &Error::OutOfMemory(String::new()));
        assert_eq!(last(), "h: out of memory");
    }

    #[test]
    fn guard_turns_panics_into_internal() {
        let r = run_guarded("f", || panic!("boom"));
        assert_eq!(r, pmd_result::PMD_ERR_INTERNAL);
        // SAFETY: pmd_last_error returns a live NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(pmd_last_error()) }.to_str().unwrap().to_owned();
        assert!(msg.contains("boom"), "{msg}");
    }
}
