//! A client reading a server's response, through the C ABI: the whole
//! header (pmd_client_accept, raw bytes or fuzzer-built elements) and the
//! parameter level (pmd_client_process_response_params). Results are in
//! the documented set and match the core; an accepted agreement keeps
//! what the client's config asked for (RFC 7692 section 7.1), and a
//! message sent through the client extension to a mirrored server
//! extension, and back, arrives byte for byte.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{negotiated, send, CfgSpec, ElementSpec, ParamSpec, Params, WindowBits};
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::config::pmd_config_free;
use pmdeflate::ffi::extension::*;
use pmdeflate::ffi::negotiate::*;
use pmdeflate::ffi::pmd_result;
use pmdeflate::ffi::pmd_result::*;

#[derive(Arbitrary, Debug)]
enum Response {
    Raw(Vec<u8>),
    Elements(Vec<ElementSpec>),
    Params {
        params: Vec<ParamSpec>,
        accepted: Vec<Vec<u8>>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    cfg: CfgSpec,
    response: Response,
    msg: Vec<u8>,
    cuts: Vec<u8>,
}

/// The agreement keeps the client's own asks.
fn check_agreement(cfg: &CfgSpec, ext: *const pmd_extension) {
    let n = negotiated(ext);
    if cfg.server_nct {
        assert!(n.remote_no_context_takeover, "asked server_no_context_takeover");
    }
    if cfg.client_nct {
        assert!(n.local_no_context_takeover, "offered client_no_context_takeover");
    }
    if let WindowBits::Bits(_) = cfg.server_bits {
        assert!(i32::from(n.remote_max_window_bits) <= cfg.server_bits.arg());
    }
    match cfg.client_bits {
        WindowBits::Bits(_) => assert!(i32::from(n.local_max_window_bits) <= cfg.client_bits.arg()),
        WindowBits::Unset => assert_eq!(n.local_max_window_bits, 15, "client_max_window_bits not offered"),
        _ if !cfg.client_bits.valid(true) => assert_eq!(n.local_max_window_bits, 15),
        _ => {}
    }
}

/// A server extension mirroring the client's, and a message both ways.
fn round_trip(ext: *mut pmd_extension, msg: &[u8], cuts: &[u8]) {
    let n = negotiated(ext);
    let mut peer = std::ptr::null_mut();
    // SAFETY: plain values, NULL config (defaults), a local out-pointer.
    let r = unsafe {
        pmd_extension_new(
            n.local_no_context_takeover,
            n.remote_no_context_takeover,
            n.local_max_window_bits.into(),
            n.remote_max_window_bits.into(),
            std::ptr::null(),
            &mut peer,
        )
    };
    assert_eq!(r, PMD_OK);
    // SAFETY: ext is live.
    assert_eq!(unsafe { pmd_extension_set_max_message_size(ext, usize::MAX) }, PMD_OK);
    send(ext, peer, 2, msg, cuts);
    send(peer, ext, 1, msg, cuts);
    // SAFETY: peer came from pmd_extension_new.
    unsafe { pmd_extension_free(peer) };
}

/// Text seed: the client's config settings on the first line, then the
/// response header value.
fn seed(text: &[u8]) -> Option<Input> {
    let (settings, header) = common::first_line(text);
    Some(Input {
        cfg: CfgSpec::defaults().with(&settings)?,
        response: Response::Raw(header.to_vec()),
        msg: b"Hello, Hello, Hello".to_vec(),
        cuts: vec![100],
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::input_of(data, seed) else {
        return;
    };
    let cfg = input.cfg.build();
    let msg = &input.msg[..input.msg.len().min(4096)];
    let mut ext = std::ptr::null_mut();
    let r: pmd_result;
    match &input.response {
        Response::Raw(_) | Response::Elements(_) => {
            let header = match &input.response {
                Response::Raw(b) => b.clone(),
                Response::Elements(e) => common::header_of(e),
                Response::Params { .. } => unreachable!(),
            };
            // SAFETY: cfg is live; header is valid for its length.
            r = unsafe { pmd_client_accept(cfg, header.as_ptr().cast(), header.len(), &mut ext) };
            assert!(
                matches!(r, PMD_OK | PMD_ERR_HEADER_SYNTAX | PMD_ERR_NEGOTIATION),
                "pmd_client_accept: undocumented {r:?}"
            );
            let core_cfg = input.cfg.core();
            let core = pmdeflate::negotiate::client_accept(&core_cfg, &header);
            match (&core, r) {
                (Ok(Some(_)), PMD_OK) => assert!(!ext.is_null()),
                (Ok(None), PMD_OK) => assert!(ext.is_null(), "no permessage-deflate, no extension"),
                (Err(e), r) => assert_eq!(pmd_result::from(e.kind()), r),
                (c, r) => panic!("core {c:?}, C {r:?}"),
            }
        }
        Response::Params { params, accepted } => {
            let p = Params::new(params);
            let cp = p.c();
            let names: Vec<std::ffi::CString> = accepted
                .iter()
                .take(4)
                .map(|a| std::ffi::CString::new(common::tokenize(a)).unwrap())
                .collect();
            let ptrs: Vec<*const std::ffi::c_char> = names.iter().map(|c| c.as_ptr()).collect();
            // SAFETY: every pointer is valid for its count.
            r = unsafe {
                pmd_client_process_response_params(cfg, cp.as_ptr(), cp.len(), ptrs.as_ptr(), ptrs.len(), &mut ext)
            };
            assert!(matches!(r, PMD_OK | PMD_ERR_NEGOTIATION), "undocumented {r:?}");
            if names.iter().any(|n| n.as_bytes() == b"permessage-deflate") {
                assert_eq!(r, PMD_ERR_NEGOTIATION, "permessage-deflate accepted twice");
            }
            assert_eq!(r == PMD_OK, !ext.is_null());
        }
    }
    if !ext.is_null() {
        check_agreement(&input.cfg, ext);
        round_trip(ext, msg, &input.cuts);
        // SAFETY: ext came from the library.
        unsafe { pmd_extension_free(ext) };
    }
    // SAFETY: cfg came from pmd_config_new.
    unsafe { pmd_config_free(cfg) };
});
