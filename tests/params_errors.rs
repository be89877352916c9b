//! docs/negotiation.md, "The four parameters": every negotiation error of
//! one element's parameters, with its exact message fragment, on every path
//! that reads parameters: `params::extract` in both roles, the client's
//! response processing, the server's offer processing, the whole-header
//! helpers, and the C boundary (result code and `pmd_last_error`).

mod common;

use std::ffi::CStr;

use common::refs;
use pmdeflate::ffi::config::{pmd_config_free, pmd_config_new, pmd_config_set_client_max_window_bits};
use pmdeflate::ffi::header::pmd_param;
use pmdeflate::ffi::negotiate::{pmd_client_process_response_params, pmd_server_process_request_params};
use pmdeflate::ffi::{pmd_last_error, pmd_result};
use pmdeflate::negotiate::{client_accept, client_process_response, server_negotiate, server_process_request};
use pmdeflate::params::extract;
use pmdeflate::{Config, Error};

const NAMES: [&str; 4] = [
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
];

/// One bad element: its parameters, the roles in which it is an error
/// (client reading a response / server reading an offer), and the message
/// fragments the error must contain.
struct Case {
    params: Vec<(String, Option<String>)>,
    in_response: bool,
    in_offer: bool,
    fragments: Vec<String>,
}

fn p(name: &str, value: Option<&str>) -> (String, Option<String>) {
    (name.to_string(), value.map(str::to_string))
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    // An unknown name, including near misses and other spellings: names are
    // compared exactly.
    for name in [
        "foo",
        "Server_No_Context_Takeover",
        "SERVER_MAX_WINDOW_BITS",
        "server_max_window_bit",
        "client_max_window_bitss",
        "no_context_takeover",
        "max_window_bits",
    ] {
        out.push(Case {
            params: vec![p(name, None)],
            in_response: true,
            in_offer: true,
            fragments: vec![format!("invalid parameter name {name}")],
        });
        // After valid parameters too.
        out.push(Case {
            params: vec![p("server_no_context_takeover", None), p(name, Some("10"))],
            in_response: true,
            in_offer: true,
            fragments: vec![format!("invalid parameter name {name}")],
        });
    }
    // A name twice, with equal or different values.
    for (first, second) in [
        (p(NAMES[0], None), p(NAMES[0], None)),
        (p(NAMES[1], None), p(NAMES[1], None)),
        (p(NAMES[2], Some("10")), p(NAMES[2], Some("10"))),
        (p(NAMES[2], Some("9")), p(NAMES[2], Some("12"))),
        (p(NAMES[3], Some("10")), p(NAMES[3], Some("10"))),
    ] {
        let name = first.0.clone();
        out.push(Case {
            params: vec![
                first.clone(),
                p(NAMES[if name == NAMES[0] { 1 } else { 0 }], None),
                second,
            ],
            in_response: true,
            in_offer: true,
            fragments: vec![format!("duplicate parameter {name}")],
        });
    }
    // client_max_window_bits twice in an offer, once without a value.
    out.push(Case {
        params: vec![p(NAMES[3], None), p(NAMES[3], Some("9"))],
        in_response: true,
        in_offer: true,
        fragments: vec![], // response: the no-value form fails first; offer: duplicate
    });
    // *_no_context_takeover with a value.
    for name in [NAMES[0], NAMES[1]] {
        for value in ["1", "true", "x", "15"] {
            out.push(Case {
                params: vec![p(name, Some(value))],
                in_response: true,
                in_offer: true,
                fragments: vec!["invalid value".into(), name.to_string(), value.to_string()],
            });
        }
    }
    // *_max_window_bits with anything but the exact strings "8".."15".
    for name in [NAMES[2], NAMES[3]] {
        for value in [
            "0",
            "1",
            "7",
            "16",
            "255",
            "256",
            "264",
            "08",
            "015",
            "+9",
            "-9",
            "9.0",
            "1e1",
            "0x9",
            "ten",
            "",
            " 9",
            "9 ",
            "\t9",
            "99999999999999999999999",
            "8\0",
            "１２",
        ] {
            out.push(Case {
                params: vec![p(name, Some(value))],
                in_response: true,
                in_offer: true,
                fragments: vec!["invalid value".into(), name.to_string()],
            });
        }
    }
    // server_max_window_bits always needs a value.
    out.push(Case {
        params: vec![p(NAMES[2], None)],
        in_response: true,
        in_offer: true,
        fragments: vec!["invalid value".into(), NAMES[2].to_string()],
    });
    // client_max_window_bits without a value: only an offer may say that.
    out.push(Case {
        params: vec![p(NAMES[3], None)],
        in_response: true,
        in_offer: false,
        fragments: vec!["invalid value".into(), NAMES[3].to_string()],
    });
    out
}

fn check(err: Error, fragments: &[String], ctx: &str) {
    assert!(matches!(err, Error::Negotiation(_)), "{ctx}: {err:?}");
    let msg = err.to_string();
    for f in fragments {
        assert!(msg.contains(f.as_str()), "{ctx}: {msg:?} lacks {f:?}");
    }
    assert!(!msg.contains('\n'), "{ctx}: one line: {msg:?}");
}

/// A client config that accepts any server response that is well formed,
/// so that only section 3 can fail.
fn lenient_client() -> Config {
    let mut c = Config::default();
    c.set_client_max_window_bits(-1).unwrap();
    c
}

#[test]
fn extract_refuses_each_bad_element_in_the_right_role() {
    for case in cases() {
        let params = refs(&case.params);
        let ctx = format!("{:?}", case.params);
        match extract(&params, false) {
            Err(e) => {
                assert!(case.in_response, "{ctx}: refused in a response");
                check(e, &case.fragments, &format!("response {ctx}"));
            }
            Ok(got) => assert!(!case.in_response, "{ctx}: accepted in a response as {got:?}"),
        }
        match extract(&params, true) {
            Err(e) => {
                assert!(case.in_offer, "{ctx}: refused in an offer");
                check(e, &case.fragments, &format!("offer {ctx}"));
            }
            Ok(got) => assert!(!case.in_offer, "{ctx}: accepted in an offer as {got:?}"),
        }
    }
}

#[test]
fn duplicate_client_max_window_bits_in_an_offer() {
    let params = [p(NAMES[3], None), p(NAMES[3], Some("9"))];
    check(
        extract(&refs(&params), true).unwrap_err(),
        &["duplicate parameter client_max_window_bits".into()],
        "offer",
    );
    let params = [p(NAMES[3], Some("9")), p(NAMES[3], None)];
    check(
        extract(&refs(&params), true).unwrap_err(),
        &["duplicate parameter client_max_window_bits".into()],
        "offer",
    );
}

#[test]
fn client_response_processing_refuses_each_bad_element() {
    let c = lenient_client();
    for case in cases().into_iter().filter(|c| c.in_response) {
        let err = client_process_response(&c, &refs(&case.params), &[]).unwrap_err();
        check(err, &case.fragments, &format!("{:?}", case.params));
    }
}

#[test]
fn server_offer_processing_refuses_each_bad_element() {
    let c = Config::default();
    for case in cases() {
        let r = server_process_request(&c, &refs(&case.params), &[]);
        if case.in_offer {
            check(r.unwrap_err(), &case.fragments, &format!("{:?}", case.params));
        } else {
            assert!(r.is_ok(), "{:?}: {r:?}", case.params);
        }
    }
}

/// Serialises an element for the whole-header paths, when the value can
/// travel in a header at all (RFC 6455 values are tokens).
fn header_value(params: &[(String, Option<String>)]) -> Option<String> {
    let mut s = String::from("permessage-deflate");
    for (n, v) in params {
        s.push_str("; ");
        s.push_str(n);
        if let Some(v) = v {
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                return None;
            }
            s.push('=');
            s.push_str(v);
        }
    }
    Some(s)
}

#[test]
fn whole_header_paths_report_the_same_errors() {
    let client = lenient_client();
    let server = Config {
        require: true,
        ..Config::default()
    };
    let mut tried = 0;
    for case in cases() {
        let Some(value) = header_value(&case.params) else {
            continue;
        };
        tried += 1;
        if case.in_response {
            check(
                client_accept(&client, value.as_bytes()).unwrap_err(),
                &case.fragments,
                &value,
            );
        }
        // A server declines the offer; with require set, the refusal says why.
        let r = server_negotiate(&server, value.as_bytes());
        if case.in_offer {
            check(r.unwrap_err(), &case.fragments, &value);
            assert_eq!(
                server_negotiate(&Config::default(), value.as_bytes()).unwrap(),
                None,
                "{value}"
            );
        } else {
            assert!(r.unwrap().is_some(), "{value}");
        }
    }
    assert!(tried > 40, "{tried}");
}

#[test]
fn quoted_values_are_validated_after_unquoting() {
    // "10" quoted is 10; "010" quoted is still not an exact spelling.
    let client = lenient_client();
    let a = client_accept(&client, b"permessage-deflate; server_max_window_bits=\"10\"")
        .unwrap()
        .unwrap();
    assert_eq!(a.remote_max_window_bits, 10);
    let err = client_accept(&client, b"permessage-deflate; server_max_window_bits=\"010\"").unwrap_err();
    check(
        err,
        &["invalid value".into(), "server_max_window_bits".into()],
        "quoted 010",
    );
    let err = client_accept(&client, b"permessage-deflate; client_no_context_takeover=\"x\"").unwrap_err();
    check(
        err,
        &["invalid value".into(), "client_no_context_takeover".into()],
        "quoted nct",
    );
}

// ------------------------------------------------------ the C boundary

fn last_error() -> String {
    // SAFETY: pmd_last_error returns a live NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(pmd_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn c_params(params: &[(String, Option<String>)]) -> Vec<pmd_param> {
    params
        .iter()
        .map(|(n, v)| pmd_param {
            name: n.as_ptr().cast(),
            name_len: n.len(),
            value: v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr().cast()),
            value_len: v.as_ref().map_or(0, String::len),
        })
        .collect()
}

#[test]
fn c_boundary_returns_negotiation_and_names_the_problem() {
    let cfg = pmd_config_new();
    assert!(!cfg.is_null());
    // SAFETY: cfg is a live config.
    assert_eq!(
        unsafe { pmd_config_set_client_max_window_bits(cfg, -1) },
        pmd_result::PMD_OK
    );
    let server_cfg = pmd_config_new();
    for case in cases() {
        let cp = c_params(&case.params);
        let mut ext = std::ptr::null_mut();
        if case.in_response {
            // SAFETY: cp's strings live in case.params for this call; ext is writable.
            let r = unsafe {
                pmd_client_process_response_params(cfg, cp.as_ptr(), cp.len(), std::ptr::null(), 0, &mut ext)
            };
            assert_eq!(r, pmd_result::PMD_ERR_NEGOTIATION, "{:?}", case.params);
            assert!(ext.is_null(), "out-pointer untouched on failure");
            let msg = last_error();
            assert!(msg.starts_with("pmd_client_process_response_params"), "{msg}");
            for f in &case.fragments {
                assert!(msg.contains(f.as_str()), "{msg:?} lacks {f:?}");
            }
        }
        let mut resp = [pmd_param {
            name: std::ptr::null(),
            name_len: 0,
            value: std::ptr::null(),
            value_len: 0,
        }; 4];
        let mut n_resp = 0usize;
        // SAFETY: as above; resp has room for 4 parameters.
        let r = unsafe {
            pmd_server_process_request_params(
                server_cfg,
                cp.as_ptr(),
                cp.len(),
                std::ptr::null(),
                0,
                resp.as_mut_ptr(),
                resp.len(),
                &mut n_resp,
                &mut ext,
            )
        };
        if case.in_offer {
            assert_eq!(r, pmd_result::PMD_ERR_NEGOTIATION, "{:?}", case.params);
            assert!(ext.is_null());
            let msg = last_error();
            for f in &case.fragments {
                assert!(msg.contains(f.as_str()), "{msg:?} lacks {f:?}");
            }
        } else {
            assert_eq!(r, pmd_result::PMD_OK, "{:?}", case.params);
            assert!(!ext.is_null());
            // SAFETY: ext is a live extension from the call above.
            unsafe { pmdeflate::ffi::extension::pmd_extension_free(ext) };
        }
    }
    // SAFETY: both configs are live and not used afterwards.
    unsafe {
        pmd_config_free(cfg);
        pmd_config_free(server_cfg);
    }
}
