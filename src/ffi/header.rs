//! `pmd_header` and `pmd_param`: the Sec-WebSocket-Extensions grammar in C.

use crate::fallible::{self, detail};
use std::ffi::c_char;

use crate::error::Error;
use crate::ffi::{
    array, bytes, free_handle, guard, guard_value, into_handle, null, pmd_result, req, req_mut, write_str,
};
use crate::header::{self, ParamRef};
use crate::params::StaticParam;

/// One extension parameter. `value` NULL means the parameter has no value.
/// Strings are (pointer, length); they need no NUL terminator.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pmd_param {
    pub name: *const c_char,
    pub name_len: usize,
    pub value: *const c_char,
    pub value_len: usize,
}

/// A serialised parameter for C: its strings are static and NUL-terminated.
pub(crate) fn static_param(p: &StaticParam) -> pmd_param {
    pmd_param {
        name: p.name.as_ptr(),
        name_len: p.name.to_bytes().len(),
        value: p.value.map_or(std::ptr::null(), |v| v.as_ptr()),
        value_len: p.value.map_or(0, |v| v.to_bytes().len()),
    }
}

/// Reads C parameters as borrowed core parameters.
///
/// # Safety
/// `params` is NULL (with n == 0) or valid for n elements whose strings are
/// valid for their lengths, all live for `'a`.
pub(crate) unsafe fn read_params<'a>(params: *const pmd_param, n: usize) -> Result<Vec<ParamRef<'a>>, Error> {
    // SAFETY: forwarded caller guarantee.
    let params = unsafe { array(params, n, "params") }?;
    let mut out = fallible::vec_with_capacity(params.len())?;
    for (i, p) in params.iter().enumerate() {
        // SAFETY: forwarded caller guarantee for each element's strings.
        let name = unsafe { bytes(p.name, p.name_len, &detail!("params[{i}].name"), false) }?;
        let value = if p.value.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { bytes(p.value, p.value_len, "value", false) }?)
        };
        out.push(ParamRef { name, value });
    }
    Ok(out)
}

/// A parsed Sec-WebSocket-Extensions value: owned strings (each followed by
/// a NUL, as a convenience for C) and the pointers into them that
/// pmd_header_get hands out.
pub struct pmd_header {
    /// Every name and value, NUL-terminated; boxed, so they never move.
    _storage: Vec<Box<[u8]>>,
    /// Per element: its name (pointer, length) and its parameters.
    elements: Vec<((*const c_char, usize), Vec<pmd_param>)>,
}

// SAFETY: the raw pointers in `elements` point into `_storage`, which the
// header owns and never mutates, so the header may move between threads
// and be read from several at once.
unsafe impl Send for pmd_header {}
// SAFETY: as above; nothing is mutated after construction.
unsafe impl Sync for pmd_header {}

impl pmd_header {
    fn new(parsed: Vec<header::Element>) -> Result<pmd_header, Error> {
        let mut storage = Vec::new();
        // Copies a string, NUL-terminated, into storage; failing, not
        // aborting, when memory runs out.
        let mut keep = |s: &str| -> Result<(*const c_char, usize), Error> {
            let mut v = fallible::vec_with_capacity(s.len() + 1)?;
            v.extend_from_slice(s.as_bytes());
            v.push(0);
            // Exact capacity: into_boxed_slice does not reallocate.
            let b = v.into_boxed_slice();
            let p = (b.as_ptr().cast::<c_char>(), s.len());
            fallible::push(&mut storage, b)?;
            Ok(p)
        };
        let mut elements = fallible::vec_with_capacity(parsed.len())?;
        for e in &parsed {
            let name = keep(&e.name)?;
            let mut params = fallible::vec_with_capacity(e.params.len())?;
            for p in &e.params {
                let (name, name_len) = keep(&p.name)?;
                let (value, value_len) = match p.value.as_deref() {
                    Some(v) => keep(v)?,
                    None => (std::ptr::null(), 0),
                };
                params.push(pmd_param {
                    name,
                    name_len,
                    value,
                    value_len,
                });
            }
            elements.push((name, params));
        }
        Ok(pmd_header {
            _storage: storage,
            elements,
        })
    }
}

/// Parses a Sec-WebSocket-Extensions value (several header lines joined
/// with ", ") into a header the caller frees with pmd_header_free. Empty
/// list elements and surrounding whitespace are ignored; quoted values come
/// out unquoted. An empty value, or (NULL, 0) for an absent header, gives
/// a header with no elements.
///
/// Results: PMD_OK with *out set; PMD_ERR_NULL_POINTER when out is NULL or
/// value is NULL with len > 0; PMD_ERR_HEADER_SYNTAX when the value does not parse (pmd_last_error
/// names the byte offset) or exceeds 64 KiB, 1024 elements or 1024
/// parameters; PMD_ERR_OUT_OF_MEMORY. Thread-safe.
///
/// # Safety
/// `value` is NULL or valid for `len` bytes; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_header_parse(value: *const c_char, len: usize, out: *mut *mut pmd_header) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees; (NULL, 0) is an absent
        // header, with no elements.
        let value = unsafe { bytes(value, len, "value", true) }?;
        // SAFETY: as above.
        let out = unsafe { req_mut(out, "out") }?;
        let parsed = header::parse(value)?;
        *out = into_handle(pmd_header::new(parsed)?)?;
        Ok(())
    })
}

/// The number of elements (extensions) in a parsed header; 0 for NULL.
///
/// # Safety
/// `h` is NULL or a live header.
#[no_mangle]
pub unsafe extern "C" fn pmd_header_count(h: *const pmd_header) -> usize {
    // SAFETY: forwarded caller guarantee.
    guard_value(0, || unsafe { h.as_ref() }.map_or(0, |h| h.elements.len()))
}

/// The element at `index`: its name and its parameters. The strings and
/// the array are owned by the header, NUL-terminated as a convenience, and
/// valid until pmd_header_free. `params` may be NULL when `n_params` is 0.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when any pointer is NULL;
/// PMD_ERR_INVALID_ARGUMENT when index >= pmd_header_count(h).
///
/// # Safety
/// `h` is NULL or a live header; the out-pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_header_get(
    h: *const pmd_header,
    index: usize,
    name: *mut *const c_char,
    name_len: *mut usize,
    params: *mut *const pmd_param,
    n_params: *mut usize,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantee.
        let h = unsafe { req(h, "h") }?;
        // The out-pointers are written through as raw pointers: a caller
        // may pass one variable for both lengths, and two &mut to it would
        // be undefined behaviour.
        let outs = [
            (name.is_null(), "name"),
            (name_len.is_null(), "name_len"),
            (params.is_null(), "params"),
            (n_params.is_null(), "n_params"),
        ];
        if let Some((_, what)) = outs.iter().find(|(is_null, _)| *is_null) {
            return Err(null(what));
        }
        let ((name_ptr, len), element_params) = h.elements.get(index).ok_or_else(|| {
            Error::invalid(detail!(
                "index {index} out of range: the header has {} elements",
                h.elements.len()
            ))
        })?;
        let first = if element_params.is_empty() {
            std::ptr::null()
        } else {
            element_params.as_ptr()
        };
        // SAFETY: each pointer is non-NULL (checked) and writable (caller
        // guarantee); writes through raw pointers tolerate aliasing.
        unsafe {
            name.write(*name_ptr);
            name_len.write(*len);
            params.write(first);
            n_params.write(element_params.len());
        }
        Ok(())
    })
}

/// Frees a parsed header and every string it handed out. NULL is a no-op.
///
/// # Safety
/// `h` is NULL or a live header, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_header_free(h: *mut pmd_header) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(h) })
}

/// Serialises one extension element: `name`, then "; param" or
/// "; param=value" for each parameter, into `buf` (NUL-terminated when
/// room allows; *out_len excludes the NUL). A value that is not a token is
/// written as a quoted string.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (name, out_len, a parameter name,
/// params with n > 0, or buf with cap > 0); PMD_ERR_INVALID_ARGUMENT when
/// the name or a parameter name is not a token or a value holds a byte no
/// header may carry; PMD_ERR_BUFFER_TOO_SMALL with *out_len the length
/// needed (buf NULL with cap 0 asks for the length); PMD_ERR_OUT_OF_MEMORY.
///
/// # Safety
/// Every pointer is NULL or valid for the stated lengths.
#[no_mangle]
pub unsafe extern "C" fn pmd_header_build(
    name: *const c_char,
    name_len: usize,
    params: *const pmd_param,
    n: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let name = unsafe { bytes(name, name_len, "name", false) }?;
        // SAFETY: as above.
        let params = unsafe { read_params(params, n) }?;
        let value = header::build(name, &params)?;
        // SAFETY: as above.
        unsafe { write_str(value.as_bytes(), buf, cap, out_len) }
    })
}
