//! pmd_header_build with fuzzer-chosen names and parameters: PMD_OK
//! exactly when the name and every parameter name are tokens and every
//! value is header-safe (tab, 0x20..0x7e), else PMD_ERR_INVALID_ARGUMENT;
//! the length query, a buffer one byte short and an exact buffer behave
//! as documented; parse(build(x)) == x when every value is a token, and a
//! quoted (non-token) value is refused by the parser as documented.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::header::*;
use pmdeflate::ffi::pmd_result::*;
use pmdeflate::header::{self, is_token, Element, Param};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Map names onto tokens (most inputs) or keep the raw bytes.
    tokenize_names: bool,
    /// Map values onto tokens, or keep the raw bytes.
    tokenize_values: bool,
    name: Vec<u8>,
    params: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn header_safe(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b))
}

fuzz_target!(|input: Input| {
    let fix = |raw: &[u8], on: bool| if on { common::tokenize(raw) } else { raw.to_vec() };
    let name = fix(&input.name, input.tokenize_names);
    let params: Vec<(Vec<u8>, Option<Vec<u8>>)> = input
        .params
        .iter()
        .take(64)
        .map(|(n, v)| {
            (
                fix(n, input.tokenize_names),
                v.as_ref().map(|v| fix(v, input.tokenize_values)),
            )
        })
        .collect();
    let c_params: Vec<pmd_param> = params
        .iter()
        .map(|(n, v)| pmd_param {
            name: n.as_ptr().cast(),
            name_len: n.len(),
            value: v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr().cast()),
            value_len: v.as_ref().map_or(0, Vec::len),
        })
        .collect();
    let valid = is_token(&name)
        && params
            .iter()
            .all(|(n, v)| is_token(n) && v.as_ref().is_none_or(|v| header_safe(v)));

    let mut need = 0usize;
    // SAFETY: every pointer is valid for its length; buf NULL, cap 0.
    let r = unsafe {
        pmd_header_build(
            name.as_ptr().cast(),
            name.len(),
            c_params.as_ptr(),
            c_params.len(),
            std::ptr::null_mut(),
            0,
            &mut need,
        )
    };
    if !valid {
        assert_eq!(r, PMD_ERR_INVALID_ARGUMENT);
        return;
    }
    assert_eq!(r, PMD_ERR_BUFFER_TOO_SMALL);
    let mut buf = vec![0xaau8; need + 1];
    let mut len = 0usize;
    // SAFETY: buf holds need + 1 bytes; cap is need - 1 when need > 0.
    if need > 0 {
        let r = unsafe {
            pmd_header_build(
                name.as_ptr().cast(),
                name.len(),
                c_params.as_ptr(),
                c_params.len(),
                buf.as_mut_ptr().cast(),
                need - 1,
                &mut len,
            )
        };
        assert_eq!(r, PMD_ERR_BUFFER_TOO_SMALL);
        assert_eq!(len, need);
    }
    // SAFETY: buf holds need + 1 bytes.
    let r = unsafe {
        pmd_header_build(
            name.as_ptr().cast(),
            name.len(),
            c_params.as_ptr(),
            c_params.len(),
            buf.as_mut_ptr().cast(),
            need + 1,
            &mut len,
        )
    };
    assert_eq!(r, PMD_OK);
    assert_eq!(len, need);
    assert_eq!(buf[len], 0);
    let built = &buf[..len];

    let parsed = header::parse(built);
    if params.iter().all(|(_, v)| v.as_ref().is_none_or(|v| is_token(v))) {
        let want = Element {
            name: String::from_utf8(name).unwrap(),
            params: params
                .into_iter()
                .map(|(n, v)| Param {
                    name: String::from_utf8(n).unwrap(),
                    value: v.map(|v| String::from_utf8(v).unwrap()),
                })
                .collect(),
        };
        if params_len_ok(&want) {
            assert_eq!(parsed.expect("a built element parses"), vec![want]);
        }
    } else {
        // RFC 6455 9.1: a quoted value must itself be a token.
        let e = parsed.expect_err("a quoted non-token value is refused");
        assert_eq!(e.kind(), pmdeflate::error::ErrorKind::HeaderSyntax);
    }
});

/// Within the parser's limits (at most 1024 parameters, 64 KiB).
fn params_len_ok(e: &Element) -> bool {
    e.params.len() <= header::MAX_PARAMS
}
