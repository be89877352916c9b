//! Sec-WebSocket-Extensions parsing, arbitrary bytes: the core parser and
//! pmd_header_parse agree; every error is PMD_ERR_HEADER_SYNTAX; every
//! parsed element rebuilds with pmd_header_build and parses back equal
//! (parse(build(x)) == x), and the rebuilt list parses to the same list.
#![no_main]

mod common;

use std::ffi::c_char;

use libfuzzer_sys::fuzz_target;
use pmdeflate::error::ErrorKind;
use pmdeflate::ffi::header::*;
use pmdeflate::ffi::pmd_result::*;
use pmdeflate::header::{self, Element, Param};

/// Reads a (ptr, len) string the library handed out.
fn text(p: *const c_char, len: usize) -> String {
    // SAFETY: the library returns strings valid for len bytes while the
    // header lives.
    let b = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    String::from_utf8(b.to_vec()).expect("parsed strings are ASCII tokens")
}

/// The elements of a parsed C header, as core values.
fn c_elements(h: *const pmd_header) -> Vec<Element> {
    // SAFETY: h is a live header; out-pointers are locals.
    let n = unsafe { pmd_header_count(h) };
    (0..n)
        .map(|i| {
            let (mut name, mut name_len) = (std::ptr::null(), 0);
            let (mut params, mut n_params) = (std::ptr::null(), 0);
            // SAFETY: as above.
            let r = unsafe { pmd_header_get(h, i, &mut name, &mut name_len, &mut params, &mut n_params) };
            assert_eq!(r, PMD_OK);
            let ps: &[pmd_param] = if n_params == 0 {
                &[]
            } else {
                // SAFETY: the library returns n_params parameters.
                unsafe { std::slice::from_raw_parts(params, n_params) }
            };
            Element {
                name: text(name, name_len),
                params: ps
                    .iter()
                    .map(|p| Param {
                        name: text(p.name, p.name_len),
                        value: (!p.value.is_null()).then(|| text(p.value, p.value_len)),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Builds one element through the C ABI: asks the length first, checks
/// that one byte less is refused, then builds into an exact buffer.
fn c_build(e: &Element) -> Vec<u8> {
    let params: Vec<pmd_param> = e
        .params
        .iter()
        .map(|p| pmd_param {
            name: p.name.as_ptr().cast(),
            name_len: p.name.len(),
            value: p.value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr().cast()),
            value_len: p.value.as_ref().map_or(0, String::len),
        })
        .collect();
    let mut need = 0usize;
    let name = e.name.as_ptr().cast();
    // SAFETY: every pointer is valid for its length; buf NULL with cap 0.
    let r = unsafe {
        pmd_header_build(
            name,
            e.name.len(),
            params.as_ptr(),
            params.len(),
            std::ptr::null_mut(),
            0,
            &mut need,
        )
    };
    assert_eq!(r, PMD_ERR_BUFFER_TOO_SMALL, "length query");
    let mut buf = vec![0u8; need + 1];
    let mut len = 0usize;
    // SAFETY: buf holds `need` bytes, one short of need + NUL.
    let r = unsafe {
        pmd_header_build(
            name,
            e.name.len(),
            params.as_ptr(),
            params.len(),
            buf.as_mut_ptr().cast(),
            need,
            &mut len,
        )
    };
    assert!(
        r == PMD_OK || r == PMD_ERR_BUFFER_TOO_SMALL,
        "no room for the NUL: {r:?}"
    );
    // SAFETY: buf holds need + 1 bytes.
    let r = unsafe {
        pmd_header_build(
            name,
            e.name.len(),
            params.as_ptr(),
            params.len(),
            buf.as_mut_ptr().cast(),
            need + 1,
            &mut len,
        )
    };
    assert_eq!(r, PMD_OK);
    assert_eq!(len, need);
    assert_eq!(buf[len], 0, "NUL-terminated");
    buf.truncate(len);
    buf
}

fuzz_target!(|data: &[u8]| {
    let core = header::parse(data);
    let mut h = std::ptr::null_mut();
    // SAFETY: data is valid for its length; h is a local.
    let r = unsafe { pmd_header_parse(data.as_ptr().cast(), data.len(), &mut h) };
    let elements = match core {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::HeaderSyntax, "{e}");
            assert_eq!(r, PMD_ERR_HEADER_SYNTAX);
            assert!(h.is_null(), "no header on failure");
            return;
        }
        Ok(elements) => elements,
    };
    assert_eq!(r, PMD_OK);
    assert_eq!(c_elements(h), elements, "C and core parses differ");
    // SAFETY: h came from pmd_header_parse.
    unsafe { pmd_header_free(h) };

    let mut joined = Vec::new();
    for e in &elements {
        let refs = e.param_refs().expect("memory for the parameter views");
        let built = header::build(e.name.as_bytes(), &refs).expect("a parsed element always rebuilds");
        assert_eq!(c_build(e), built.as_bytes(), "C and core builds differ");
        let back = header::parse(built.as_bytes()).expect("a built element parses");
        assert_eq!(back, vec![e.clone()], "parse(build(x)) != x for {built:?}");
        if !joined.is_empty() {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(built.as_bytes());
    }
    if joined.len() <= header::MAX_HEADER_LEN {
        assert_eq!(header::parse(&joined).expect("the rebuilt list parses"), elements);
    }
});
