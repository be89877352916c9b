//! A server reading a client's offers, through the C ABI: the whole
//! header (pmd_server_negotiate: raw bytes, fuzzer-built elements, or a
//! real client offer among other extensions' elements) and the parameter
//! level (pmd_server_process_request_params). Results are in the
//! documented set and match the core; a response always parses as one
//! permessage-deflate element; a real client offer that the server
//! accepts is accepted back by that client (pmd_client_accept) with the
//! mirrored agreement, and a message goes both ways byte for byte.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{negotiated, send, CfgSpec, ElementSpec, ParamSpec, Params};
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::config::pmd_config_free;
use pmdeflate::ffi::extension::*;
use pmdeflate::ffi::header::pmd_param;
use pmdeflate::ffi::negotiate::*;
use pmdeflate::ffi::pmd_result;
use pmdeflate::ffi::pmd_result::*;
use pmdeflate::ffi::PMD_MAX_RESPONSE_LEN;

#[derive(Arbitrary, Debug)]
enum Request {
    Raw(Vec<u8>),
    Elements(Vec<ElementSpec>),
    /// A client's own offer with other extensions' elements around it.
    Offer {
        client: CfgSpec,
        before: Vec<Vec<u8>>,
        after: Vec<ElementSpec>,
    },
    Params {
        params: Vec<ParamSpec>,
        accepted: Vec<Vec<u8>>,
        cap: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    cfg: CfgSpec,
    request: Request,
    /// Room for the response: None is PMD_MAX_RESPONSE_LEN.
    cap: Option<u8>,
    msg: Vec<u8>,
    cuts: Vec<u8>,
}

fn client_offer(client: *const pmdeflate::ffi::config::pmd_config) -> Vec<u8> {
    let mut buf = [0u8; PMD_MAX_RESPONSE_LEN];
    let mut len = 0;
    // SAFETY: client is live; buf holds PMD_MAX_RESPONSE_LEN bytes.
    let r = unsafe { pmd_client_offer(client, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    assert_eq!(r, PMD_OK, "an offer always fits PMD_MAX_RESPONSE_LEN");
    buf[..len].to_vec()
}

fn whole_header(input: &Input, header: &[u8], client: Option<*mut pmdeflate::ffi::config::pmd_config>) {
    let cfg = input.cfg.build();
    let cap = input.cap.map_or(PMD_MAX_RESPONSE_LEN, usize::from);
    let mut buf = vec![0u8; cap];
    let mut len = 0usize;
    let mut ext = std::ptr::null_mut();
    // SAFETY: cfg is live; header and buf are valid for their lengths.
    let r = unsafe {
        pmd_server_negotiate(
            cfg,
            header.as_ptr().cast(),
            header.len(),
            buf.as_mut_ptr().cast(),
            cap,
            &mut len,
            &mut ext,
        )
    };
    assert!(
        matches!(
            r,
            PMD_OK | PMD_ERR_HEADER_SYNTAX | PMD_ERR_NEGOTIATION | PMD_ERR_INVALID_ARGUMENT | PMD_ERR_BUFFER_TOO_SMALL
        ),
        "pmd_server_negotiate: undocumented {r:?}"
    );
    let core = pmdeflate::negotiate::server_negotiate(&input.cfg.core(), header);
    match (&core, r) {
        (Err(e), r) => assert_eq!(pmd_result::from(e.kind()), r, "core {e}"),
        (Ok(None), PMD_OK) => assert!(ext.is_null() && len == 0),
        (Ok(Some((value, _))), PMD_OK) => {
            assert!(!ext.is_null());
            assert_eq!(&buf[..len], value.as_bytes());
        }
        (Ok(Some((value, _))), PMD_ERR_BUFFER_TOO_SMALL) => {
            assert!(ext.is_null(), "no extension without the response");
            assert!(len > cap || len + 1 > cap);
            assert_eq!(len, value.len());
        }
        (c, r) => panic!("core {c:?}, C {r:?}"),
    }
    if r == PMD_OK && !ext.is_null() {
        let response = &buf[..len];
        let parsed = pmdeflate::header::parse(response).expect("a response parses");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "permessage-deflate");
        if let Some(client) = client {
            let mut cext = std::ptr::null_mut();
            // SAFETY: client is live; response is valid for its length.
            let r = unsafe { pmd_client_accept(client, response.as_ptr().cast(), response.len(), &mut cext) };
            assert_eq!(
                r,
                PMD_OK,
                "the client refuses the response {:?}: {}",
                String::from_utf8_lossy(response),
                common::last_error()
            );
            assert!(!cext.is_null());
            let (s, c) = (negotiated(ext), negotiated(cext));
            assert_eq!(s.local_no_context_takeover, c.remote_no_context_takeover);
            assert_eq!(s.remote_no_context_takeover, c.local_no_context_takeover);
            assert_eq!(s.local_max_window_bits, c.remote_max_window_bits);
            assert_eq!(s.remote_max_window_bits, c.local_max_window_bits);
            let msg = &input.msg[..input.msg.len().min(4096)];
            // SAFETY: both extensions are live.
            unsafe {
                assert_eq!(pmd_extension_set_max_message_size(ext, usize::MAX), PMD_OK);
                assert_eq!(pmd_extension_set_max_message_size(cext, usize::MAX), PMD_OK);
            }
            send(ext, cext, 1, msg, &input.cuts);
            send(cext, ext, 2, msg, &input.cuts);
            // SAFETY: cext came from pmd_client_accept.
            unsafe { pmd_extension_free(cext) };
        }
    }
    // SAFETY: both came from the library (NULL is a no-op).
    unsafe {
        pmd_extension_free(ext);
        pmd_config_free(cfg);
    }
}

fn params_level(cfg_spec: &CfgSpec, params: &[ParamSpec], accepted: &[Vec<u8>], cap: u8) {
    let cfg = cfg_spec.build();
    let p = Params::new(params);
    let cp = p.c();
    let names: Vec<std::ffi::CString> = accepted
        .iter()
        .take(4)
        .map(|a| std::ffi::CString::new(common::tokenize(a)).unwrap())
        .collect();
    let ptrs: Vec<*const std::ffi::c_char> = names.iter().map(|c| c.as_ptr()).collect();
    let cap = usize::from(cap % 6);
    let mut response = vec![
        pmd_param {
            name: std::ptr::null(),
            name_len: 0,
            value: std::ptr::null(),
            value_len: 0
        };
        cap
    ];
    let mut n = 0usize;
    let mut ext = std::ptr::null_mut();
    // SAFETY: every pointer is valid for its count.
    let r = unsafe {
        pmd_server_process_request_params(
            cfg,
            cp.as_ptr(),
            cp.len(),
            ptrs.as_ptr(),
            ptrs.len(),
            response.as_mut_ptr(),
            cap,
            &mut n,
            &mut ext,
        )
    };
    assert!(
        matches!(
            r,
            PMD_OK | PMD_ERR_NEGOTIATION | PMD_ERR_INVALID_ARGUMENT | PMD_ERR_BUFFER_TOO_SMALL
        ),
        "undocumented {r:?}"
    );
    assert_eq!(r == PMD_OK, !ext.is_null());
    if r == PMD_ERR_BUFFER_TOO_SMALL {
        assert!(n > cap && n <= 4);
    }
    if r == PMD_OK {
        assert!(n <= cap && n <= 4);
        // The response parameters are what a client can read back.
        let mut built = b"permessage-deflate".to_vec();
        for q in &response[..n] {
            // SAFETY: the library's strings are static and valid for their lengths.
            let name = unsafe { std::slice::from_raw_parts(q.name.cast::<u8>(), q.name_len) };
            built.extend_from_slice(b"; ");
            built.extend_from_slice(name);
            if !q.value.is_null() {
                // SAFETY: as above.
                let v = unsafe { std::slice::from_raw_parts(q.value.cast::<u8>(), q.value_len) };
                built.push(b'=');
                built.extend_from_slice(v);
            }
        }
        let parsed = pmdeflate::header::parse(&built).expect("response params parse");
        let refs = parsed[0].param_refs().expect("memory for the parameter views");
        pmdeflate::params::extract(&refs, false).expect("response params are valid for a client");
        negotiated(ext);
    }
    // SAFETY: both came from the library (NULL is a no-op).
    unsafe {
        pmd_extension_free(ext);
        pmd_config_free(cfg);
    }
}

/// Text seed: the server's config settings on the first line, then the
/// request header value; or "offer <client settings>" on a second line
/// for a real client offer.
fn seed(text: &[u8]) -> Option<Input> {
    let (settings, rest) = common::first_line(text);
    let request = match rest.strip_prefix(b"offer ") {
        Some(client) => Request::Offer {
            client: CfgSpec::defaults().with(&String::from_utf8_lossy(client))?,
            before: vec![b"x-webkit-deflate-frame".to_vec()],
            after: Vec::new(),
        },
        None => Request::Raw(rest.to_vec()),
    };
    Some(Input {
        cfg: CfgSpec::defaults().with(&settings)?,
        request,
        cap: None,
        msg: b"Hello, Hello, Hello".to_vec(),
        cuts: vec![100],
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::input_of(data, seed) else {
        return;
    };
    match &input.request {
        Request::Raw(b) => whole_header(&input, b, None),
        Request::Elements(e) => whole_header(&input, &common::header_of(e), None),
        Request::Offer { client, before, after } => {
            let ccfg = client.build();
            let mut header = Vec::new();
            for b in before.iter().take(4) {
                header.extend_from_slice(&common::tokenize(b));
                header.extend_from_slice(b", ");
            }
            header.extend_from_slice(&client_offer(ccfg));
            // Other extensions only after: a later permessage-deflate offer
            // is never reached once the server accepted the client's.
            let others: Vec<ElementSpec> = after
                .iter()
                .take(4)
                .cloned()
                .map(|mut e| {
                    e.other_name = Some(e.other_name.unwrap_or_default());
                    e
                })
                .collect();
            if !others.is_empty() {
                header.extend_from_slice(b", ");
                header.extend_from_slice(&common::header_of(&others));
            }
            whole_header(&input, &header, Some(ccfg));
            // SAFETY: ccfg came from pmd_config_new.
            unsafe { pmd_config_free(ccfg) };
        }
        Request::Params { params, accepted, cap } => params_level(&input.cfg, params, accepted, *cap),
    }
});
