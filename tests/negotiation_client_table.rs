//! docs/negotiation.md, the client: the offer a config makes (parameter
//! order), every cell of the four response truth tables (error cells
//! included), every combination of them checked against an oracle written
//! from those tables, the "received duplicate" check, and the whole-header
//! `client_accept`.

mod common;

use common::{cfg, refs, CMWB, CNCT, SMWB, SNCT};
use pmdeflate::negotiate::{client_accept, client_offer, client_process_response, client_request_params};
use pmdeflate::params::ClientBits;
use pmdeflate::{Agreed, Config, Error};

const NO_VALUE: i32 = -1;

/// A response's parameters.
fn resp(snct: bool, cnct: bool, sbits: Option<u8>, cbits: Option<u8>) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if snct {
        out.push((SNCT.to_string(), None));
    }
    if cnct {
        out.push((CNCT.to_string(), None));
    }
    if let Some(b) = sbits {
        out.push((SMWB.to_string(), Some(b.to_string())));
    }
    if let Some(b) = cbits {
        out.push((CMWB.to_string(), Some(b.to_string())));
    }
    out
}

fn process(c: &Config, params: &[(String, Option<String>)]) -> Result<Agreed, Error> {
    client_process_response(c, &refs(params), &[])
}

fn assert_negotiation(r: Result<Agreed, Error>, ctx: &str) {
    match r {
        Err(Error::Negotiation(_)) => {}
        other => panic!("{ctx}: expected NEGOTIATION, got {other:?}"),
    }
}

// ---------------------------------------------------------------- offers

#[test]
fn default_config_offers_exactly_permessage_deflate() {
    let c = Config::default();
    assert!(client_request_params(&c).is_empty());
    assert_eq!(client_offer(&c).unwrap(), "permessage-deflate");
}

#[test]
fn offer_lists_parameters_in_spec_order() {
    let cases: [(Config, &str); 7] = [
        (cfg(true, false, 0, 0), "permessage-deflate; server_no_context_takeover"),
        (cfg(false, true, 0, 0), "permessage-deflate; client_no_context_takeover"),
        (
            cfg(false, false, 10, 0),
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            cfg(false, false, 0, NO_VALUE),
            "permessage-deflate; client_max_window_bits",
        ),
        (cfg(false, false, 0, 8), "permessage-deflate; client_max_window_bits=8"),
        (
            cfg(true, true, 9, NO_VALUE),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits",
        ),
        (
            cfg(true, true, 15, 12),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=15; client_max_window_bits=12",
        ),
    ];
    for (c, want) in cases {
        assert_eq!(client_offer(&c).unwrap(), want);
    }
}

#[test]
fn every_config_offers_each_set_parameter_once_in_order() {
    for snct in [false, true] {
        for cnct in [false, true] {
            for sbits in [0, 8, 9, 10, 11, 12, 13, 14, 15] {
                for cbits in [0, NO_VALUE, 8, 9, 10, 11, 12, 13, 14, 15] {
                    let c = cfg(snct, cnct, sbits, cbits);
                    let want = {
                        let mut w: Vec<(String, Option<String>)> = Vec::new();
                        if snct {
                            w.push((SNCT.into(), None));
                        }
                        if cnct {
                            w.push((CNCT.into(), None));
                        }
                        if sbits != 0 {
                            w.push((SMWB.into(), Some(sbits.to_string())));
                        }
                        match cbits {
                            0 => {}
                            NO_VALUE => w.push((CMWB.into(), None)),
                            b => w.push((CMWB.into(), Some(b.to_string()))),
                        }
                        w
                    };
                    let got = client_request_params(&c).refs().to_vec();
                    assert_eq!(got, refs(&want), "{snct} {cnct} {sbits} {cbits}");
                    let mut text = String::from("permessage-deflate");
                    for (n, v) in &want {
                        text.push_str("; ");
                        text.push_str(n);
                        if let Some(v) = v {
                            text.push('=');
                            text.push_str(v);
                        }
                    }
                    assert_eq!(client_offer(&c).unwrap(), text);
                }
            }
        }
    }
}

// ------------------------------------------------- the four truth tables

#[test]
fn server_no_context_takeover_table() {
    // (Req, Resp present, expected remote_no_context_takeover or error)
    let rows: [(bool, bool, Option<bool>); 4] = [
        (false, false, Some(false)),
        (true, false, None),
        (false, true, Some(true)),
        (true, true, Some(true)),
    ];
    for (req, present, want) in rows {
        let r = process(&cfg(req, false, 0, 0), &resp(present, false, None, None));
        match want {
            Some(v) => {
                let a = r.unwrap_or_else(|e| panic!("req {req} resp {present}: {e:?}"));
                assert_eq!(a.remote_no_context_takeover, v, "req {req} resp {present}");
                // The other direction is untouched.
                assert!(!a.local_no_context_takeover);
            }
            None => {
                let err = r.unwrap_err();
                assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
                assert!(err.to_string().contains(SNCT), "{err}");
            }
        }
    }
}

#[test]
fn client_no_context_takeover_table() {
    let rows: [(bool, bool, bool); 4] = [
        (false, false, false),
        (true, false, true),
        (false, true, true),
        (true, true, true),
    ];
    for (req, present, want) in rows {
        let a = process(&cfg(false, req, 0, 0), &resp(false, present, None, None))
            .unwrap_or_else(|e| panic!("req {req} resp {present}: {e:?}"));
        assert_eq!(a.local_no_context_takeover, want, "req {req} resp {present}");
        assert!(!a.remote_no_context_takeover);
    }
}

#[test]
fn server_max_window_bits_table() {
    // Req unset, Resp absent -> 15.
    assert_eq!(
        process(&cfg(false, false, 0, 0), &resp(false, false, None, None))
            .unwrap()
            .remote_max_window_bits,
        15
    );
    for n in 8..=14u8 {
        // Req N, Resp absent -> error...
        let r = process(&cfg(false, false, i32::from(n), 0), &resp(false, false, None, None));
        assert_negotiation(r, &format!("req {n}, resp absent"));
    }
    // ... except 15 when N = 15 (what absence means; Boost.Beast answers so).
    let a = process(&cfg(false, false, 15, 0), &resp(false, false, None, None)).unwrap();
    assert_eq!((a.remote_max_window_bits, a.local_max_window_bits), (15, 15));
    for m in 8..=15u8 {
        // Req unset, Resp M -> M.
        let a = process(&cfg(false, false, 0, 0), &resp(false, false, Some(m), None)).unwrap();
        assert_eq!(a.remote_max_window_bits, m);
        for n in 8..=15u8 {
            // Req N, Resp M -> M if M <= N, else error.
            let r = process(&cfg(false, false, i32::from(n), 0), &resp(false, false, Some(m), None));
            if m <= n {
                let a = r.unwrap_or_else(|e| panic!("req {n} resp {m}: {e:?}"));
                assert_eq!(a.remote_max_window_bits, m, "req {n} resp {m}");
                assert_eq!(a.local_max_window_bits, 15);
            } else {
                assert_negotiation(r, &format!("req {n} resp {m}"));
            }
        }
    }
}

#[test]
fn client_max_window_bits_table() {
    // Resp absent: unset -> 15, NO_VALUE -> 15, N -> N.
    assert_eq!(
        process(&cfg(false, false, 0, 0), &resp(false, false, None, None))
            .unwrap()
            .local_max_window_bits,
        15
    );
    assert_eq!(
        process(&cfg(false, false, 0, NO_VALUE), &resp(false, false, None, None))
            .unwrap()
            .local_max_window_bits,
        15
    );
    for n in 8..=15u8 {
        let a = process(&cfg(false, false, 0, i32::from(n)), &resp(false, false, None, None)).unwrap();
        assert_eq!(a.local_max_window_bits, n);
        assert_eq!(a.remote_max_window_bits, 15);
    }
    for m in 8..=15u8 {
        // Resp M: unset -> error, NO_VALUE -> M, N -> M if M <= N else error.
        let r = process(&cfg(false, false, 0, 0), &resp(false, false, None, Some(m)));
        assert_negotiation(r, &format!("req unset resp {m}"));
        let a = process(&cfg(false, false, 0, NO_VALUE), &resp(false, false, None, Some(m))).unwrap();
        assert_eq!(a.local_max_window_bits, m);
        for n in 8..=15u8 {
            let r = process(&cfg(false, false, 0, i32::from(n)), &resp(false, false, None, Some(m)));
            if m <= n {
                assert_eq!(r.unwrap().local_max_window_bits, m, "req {n} resp {m}");
            } else {
                assert_negotiation(r, &format!("req {n} resp {m}"));
            }
        }
    }
}

/// The four client tables of docs/negotiation.md, written out independently
/// of the library: `None` is an error cell.
fn oracle(c: &Config, snct: bool, cnct: bool, sbits: Option<u8>, cbits: Option<u8>) -> Option<Agreed> {
    if c.server_no_context_takeover && !snct {
        return None;
    }
    let remote_bits = match (c.server_max_window_bits, sbits) {
        (None, None) | (Some(15), None) => 15,
        (Some(_), None) => return None,
        (None, Some(m)) => m,
        (Some(n), Some(m)) => {
            if m <= n {
                m
            } else {
                return None;
            }
        }
    };
    let local_bits = match (c.client_max_window_bits, cbits) {
        (None, None) | (Some(ClientBits::NoValue), None) => 15,
        (Some(ClientBits::Bits(n)), None) => n,
        (None, Some(_)) => return None,
        (Some(ClientBits::NoValue), Some(m)) => m,
        (Some(ClientBits::Bits(n)), Some(m)) => {
            if m <= n {
                m
            } else {
                return None;
            }
        }
    };
    Some(Agreed {
        remote_no_context_takeover: snct,
        local_no_context_takeover: c.client_no_context_takeover || cnct,
        remote_max_window_bits: remote_bits,
        local_max_window_bits: local_bits,
    })
}

#[test]
fn every_config_and_response_combination_follows_the_tables() {
    let bits: Vec<Option<u8>> = std::iter::once(None).chain((8..=15).map(Some)).collect();
    let mut cells = 0usize;
    for c_snct in [false, true] {
        for c_cnct in [false, true] {
            for c_sbits in [0, 8, 9, 10, 11, 12, 13, 14, 15] {
                for c_cbits in [0, NO_VALUE, 8, 9, 10, 11, 12, 13, 14, 15] {
                    let c = cfg(c_snct, c_cnct, c_sbits, c_cbits);
                    for r_snct in [false, true] {
                        for r_cnct in [false, true] {
                            for &r_sbits in &bits {
                                for &r_cbits in &bits {
                                    let params = resp(r_snct, r_cnct, r_sbits, r_cbits);
                                    let got = process(&c, &params);
                                    let want = oracle(&c, r_snct, r_cnct, r_sbits, r_cbits);
                                    match (got, want) {
                                        (Ok(a), Some(w)) => assert_eq!(a, w, "{c:?} {params:?}"),
                                        (Err(Error::Negotiation(_)), None) => {}
                                        (got, want) => panic!("{c:?} {params:?}: got {got:?}, want {want:?}"),
                                    }
                                    cells += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cells, 360 * 324);
}

#[test]
fn response_parameter_order_does_not_matter() {
    let c = cfg(true, false, 12, NO_VALUE);
    let ordered = resp(true, true, Some(10), Some(9));
    let want = process(&c, &ordered).unwrap();
    assert_eq!(
        want,
        Agreed {
            remote_no_context_takeover: true,
            local_no_context_takeover: true,
            remote_max_window_bits: 10,
            local_max_window_bits: 9
        }
    );
    // All 24 orders of the four parameters.
    let idx = [0usize, 1, 2, 3];
    for a in idx {
        for b in idx {
            for c2 in idx {
                for d in idx {
                    let perm = [a, b, c2, d];
                    let mut seen = perm.to_vec();
                    seen.sort();
                    seen.dedup();
                    if seen.len() != 4 {
                        continue;
                    }
                    let shuffled: Vec<_> = perm.iter().map(|&i| ordered[i].clone()).collect();
                    assert_eq!(process(&c, &shuffled).unwrap(), want, "{perm:?}");
                }
            }
        }
    }
}

// ------------------------------------------------------ accepted lists

#[test]
fn received_duplicate_when_already_accepted() {
    let c = Config::default();
    let ok: [&[&[u8]]; 4] = [
        &[],
        &[b"foo"],
        &[b"x-webkit-deflate-frame", b"bar"],
        &[b"Permessage-Deflate"],
    ];
    for accepted in ok {
        assert!(client_process_response(&c, &[], accepted).is_ok(), "{accepted:?}");
    }
    let dup: [&[&[u8]]; 3] = [
        &[b"permessage-deflate"],
        &[b"foo", b"permessage-deflate"],
        &[b"permessage-deflate", b"x"],
    ];
    for accepted in dup {
        let err = client_process_response(&c, &[], accepted).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
        assert!(err.to_string().contains("received duplicate"), "{err}");
    }
    // The duplicate check comes first, as in websockets: even a response
    // that is acceptable on its own is refused.
    let params = resp(false, false, Some(10), None);
    let err = client_process_response(&c, &refs(&params), &[b"permessage-deflate"]).unwrap_err();
    assert!(err.to_string().contains("received duplicate"), "{err}");
}

// -------------------------------------------------------- whole header

fn accept(c: &Config, value: &str) -> Result<Option<Agreed>, Error> {
    client_accept(c, value.as_bytes())
}

#[test]
fn accept_without_permessage_deflate_gives_no_extension() {
    let c = cfg(false, false, 0, NO_VALUE);
    for value in [
        "",
        "   ",
        ",",
        " , ,\t",
        "foo",
        "foo; bar=1, baz",
        "x-webkit-deflate-frame; no_context_takeover",
    ] {
        assert_eq!(accept(&c, value).unwrap(), None, "{value:?}");
    }
    // Even a client that requires server_no_context_takeover: an absent
    // extension is not an error here (the caller decides).
    assert_eq!(accept(&cfg(true, false, 10, 0), "").unwrap(), None);
}

#[test]
fn accept_ignores_other_extensions() {
    let c = cfg(false, false, 0, NO_VALUE);
    let want = Agreed {
        remote_no_context_takeover: true,
        local_no_context_takeover: false,
        remote_max_window_bits: 10,
        local_max_window_bits: 11,
    };
    for value in [
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
        "foo, permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
        "permessage-deflate;server_no_context_takeover;server_max_window_bits=\"10\";client_max_window_bits=11, bar; a=b",
        // Another extension's parameters are not ours to validate.
        "foo; bogus; server_max_window_bits=99, permessage-deflate; server_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11",
    ] {
        assert_eq!(accept(&c, value).unwrap(), Some(want), "{value}");
    }
    assert_eq!(
        accept(&Config::default(), "permessage-deflate").unwrap(),
        Some(Agreed {
            remote_no_context_takeover: false,
            local_no_context_takeover: false,
            remote_max_window_bits: 15,
            local_max_window_bits: 15
        })
    );
}

#[test]
fn accept_refuses_two_permessage_deflate_elements() {
    let c = cfg(false, false, 0, NO_VALUE);
    for value in [
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; server_max_window_bits=10, foo, permessage-deflate; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits=9, permessage-deflate",
    ] {
        let err = accept(&c, value).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{value}: {err:?}");
    }
}

#[test]
fn accept_applies_the_tables() {
    // One error cell of each table, through the whole-header path.
    let cases: [(Config, &str); 4] = [
        (cfg(true, false, 0, 0), "permessage-deflate"),
        (cfg(false, false, 10, 0), "permessage-deflate"),
        (
            cfg(false, false, 10, 0),
            "permessage-deflate; server_max_window_bits=11",
        ),
        (cfg(false, false, 0, 0), "permessage-deflate; client_max_window_bits=10"),
    ];
    for (c, value) in cases {
        let err = accept(&c, value).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{value}: {err:?}");
    }
    // A client_max_window_bits without a value is an offer's form only.
    let err = accept(
        &cfg(false, false, 0, NO_VALUE),
        "permessage-deflate; client_max_window_bits",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
}

#[test]
fn accept_syntax_errors_are_header_syntax() {
    let c = Config::default();
    for value in [
        "permessage-deflate;",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate server_no_context_takeover",
        "permessage-deflate; a=\"b c\"",
        "foo bar, permessage-deflate",
        "permessage-deflate, \x01",
    ] {
        let err = accept(&c, value).unwrap_err();
        assert!(matches!(err, Error::HeaderSyntax(_)), "{value:?}: {err:?}");
        assert!(err.to_string().contains("offset"), "{value:?}: {err}");
    }
}
