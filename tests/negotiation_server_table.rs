//! docs/negotiation.md, the server: every cell of the four truth tables
//! (error cells included), every config x offer combination checked against
//! an oracle written from those tables, the response's parameter order,
//! `require` and `require_client_max_window_bits`, server config errors
//! (INVALID_ARGUMENT), "skipped duplicate", and the whole-header
//! `server_negotiate` over several offers.

mod common;

use common::{agreed, refs, Params, CMWB, CNCT, SMWB, SNCT};
use pmdeflate::header::{self, ParamRef};
use pmdeflate::negotiate::{server_negotiate, server_process_request};
use pmdeflate::params::ClientBits;
use pmdeflate::{Agreed, Config, Error};

/// An offer's client_max_window_bits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cb {
    Absent,
    NoValue,
    Bits(u8),
}

fn cfg(snct: bool, cnct: bool, sbits: i32, cbits: i32, require_cmwb: bool) -> Config {
    Config {
        require_client_max_window_bits: require_cmwb,
        ..common::cfg(snct, cnct, sbits, cbits)
    }
}

fn offer(snct: bool, cnct: bool, sbits: Option<u8>, cbits: Cb) -> Params {
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
    match cbits {
        Cb::Absent => {}
        Cb::NoValue => out.push((CMWB.to_string(), None)),
        Cb::Bits(b) => out.push((CMWB.to_string(), Some(b.to_string()))),
    }
    out
}

fn owned(params: &[ParamRef<'_>]) -> Params {
    params
        .iter()
        .map(|p| {
            (
                String::from_utf8(p.name.to_vec()).unwrap(),
                p.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
            )
        })
        .collect()
}

fn process(c: &Config, params: &Params) -> Result<(Params, Agreed), Error> {
    server_process_request(c, &refs(params), &[]).map(|(r, a)| (owned(&r.refs()), a))
}

/// The agreed values as the server sees them, and the response that must
/// carry exactly them.
fn expect(server_nct: bool, client_nct: bool, sbits: Option<u8>, cbits: Option<u8>) -> (Params, Agreed) {
    let cb = match cbits {
        Some(b) => Cb::Bits(b),
        None => Cb::Absent,
    };
    (
        offer(server_nct, client_nct, sbits, cb),
        Agreed {
            remote_no_context_takeover: client_nct,
            local_no_context_takeover: server_nct,
            remote_max_window_bits: cbits.unwrap_or(15),
            local_max_window_bits: sbits.unwrap_or(15),
        },
    )
}

// ------------------------------------------------- the four truth tables

#[test]
fn no_context_takeover_tables() {
    // (Config, Req present, agreed): the same table for both parameters.
    let rows = [
        (false, false, false),
        (true, false, true),
        (false, true, true),
        (true, true, true),
    ];
    for (conf, present, want) in rows {
        let (resp, a) = process(&cfg(conf, false, 0, 0, false), &offer(present, false, None, Cb::Absent)).unwrap();
        assert_eq!(
            (resp, a),
            expect(want, false, None, None),
            "server: config {conf} req {present}"
        );
        let (resp, a) = process(&cfg(false, conf, 0, 0, false), &offer(false, present, None, Cb::Absent)).unwrap();
        assert_eq!(
            (resp, a),
            expect(false, want, None, None),
            "client: config {conf} req {present}"
        );
    }
}

#[test]
fn server_max_window_bits_table() {
    // Config unset, Req absent -> absent (15).
    assert_eq!(
        process(&cfg(false, false, 0, 0, false), &offer(false, false, None, Cb::Absent)).unwrap(),
        expect(false, false, None, None)
    );
    for n in 8..=15u8 {
        // Config N, Req absent -> N.
        let got = process(
            &cfg(false, false, i32::from(n), 0, false),
            &offer(false, false, None, Cb::Absent),
        )
        .unwrap();
        assert_eq!(got, expect(false, false, Some(n), None), "config {n}");
    }
    for m in 8..=15u8 {
        // Config unset, Req M -> M.
        let got = process(
            &cfg(false, false, 0, 0, false),
            &offer(false, false, Some(m), Cb::Absent),
        )
        .unwrap();
        assert_eq!(got, expect(false, false, Some(m), None), "req {m}");
        for n in 8..=15u8 {
            // Config N, Req M -> min(M, N).
            let got = process(
                &cfg(false, false, i32::from(n), 0, false),
                &offer(false, false, Some(m), Cb::Absent),
            )
            .unwrap();
            assert_eq!(got, expect(false, false, Some(m.min(n)), None), "config {n} req {m}");
        }
    }
}

#[test]
fn client_max_window_bits_table() {
    // Config unset: Req absent -> absent, NO_VALUE -> absent, M -> M.
    let c = cfg(false, false, 0, 0, false);
    assert_eq!(
        process(&c, &offer(false, false, None, Cb::Absent)).unwrap(),
        expect(false, false, None, None)
    );
    assert_eq!(
        process(&c, &offer(false, false, None, Cb::NoValue)).unwrap(),
        expect(false, false, None, None)
    );
    for m in 8..=15u8 {
        assert_eq!(
            process(&c, &offer(false, false, None, Cb::Bits(m))).unwrap(),
            expect(false, false, None, Some(m))
        );
    }
    for n in 8..=15u8 {
        let c = cfg(false, false, 0, i32::from(n), false);
        let strict = cfg(false, false, 0, i32::from(n), true);
        // Config N, Req absent -> absent (15); error if require_client_max_window_bits.
        assert_eq!(
            process(&c, &offer(false, false, None, Cb::Absent)).unwrap(),
            expect(false, false, None, None)
        );
        let err = process(&strict, &offer(false, false, None, Cb::Absent)).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
        // Config N, Req NO_VALUE -> N (with or without require).
        for conf in [&c, &strict] {
            assert_eq!(
                process(conf, &offer(false, false, None, Cb::NoValue)).unwrap(),
                expect(false, false, None, Some(n))
            );
            for m in 8..=15u8 {
                // Config N, Req M -> min(M, N).
                assert_eq!(
                    process(conf, &offer(false, false, None, Cb::Bits(m))).unwrap(),
                    expect(false, false, None, Some(m.min(n))),
                    "config {n} req {m}"
                );
            }
        }
    }
}

/// The server tables of docs/negotiation.md, written out independently of
/// the library.
/// Err(true): INVALID_ARGUMENT (config), Err(false): NEGOTIATION.
fn oracle(c: &Config, snct: bool, cnct: bool, sbits: Option<u8>, cbits: Cb) -> Result<(Params, Agreed), bool> {
    let conf_cbits = match c.client_max_window_bits {
        Some(ClientBits::NoValue) => return Err(true),
        Some(ClientBits::Bits(n)) => Some(n),
        None if c.require_client_max_window_bits => return Err(true),
        None => None,
    };
    let server_nct = c.server_no_context_takeover || snct;
    let client_nct = c.client_no_context_takeover || cnct;
    let s = match (c.server_max_window_bits, sbits) {
        (None, m) => m,
        (Some(n), None) => Some(n),
        (Some(n), Some(m)) => Some(n.min(m)),
    };
    let cb = match (conf_cbits, cbits) {
        (None, Cb::Absent) | (None, Cb::NoValue) => None,
        (None, Cb::Bits(m)) => Some(m),
        (Some(_), Cb::Absent) if c.require_client_max_window_bits => return Err(false),
        (Some(_), Cb::Absent) => None,
        (Some(n), Cb::NoValue) => Some(n),
        (Some(n), Cb::Bits(m)) => Some(n.min(m)),
    };
    Ok(expect(server_nct, client_nct, s, cb))
}

#[test]
fn every_config_and_offer_combination_follows_the_tables() {
    let bits: Vec<Option<u8>> = std::iter::once(None).chain((8..=15).map(Some)).collect();
    let cbs: Vec<Cb> = [Cb::Absent, Cb::NoValue]
        .into_iter()
        .chain((8..=15).map(Cb::Bits))
        .collect();
    let mut cells = 0usize;
    for c_snct in [false, true] {
        for c_cnct in [false, true] {
            for c_sbits in [0, 8, 9, 10, 11, 12, 13, 14, 15] {
                // -1 (no value) is a client-only setting: INVALID_ARGUMENT.
                for c_cbits in [0, -1, 8, 9, 10, 11, 12, 13, 14, 15] {
                    for require in [false, true] {
                        let c = cfg(c_snct, c_cnct, c_sbits, c_cbits, require);
                        for r_snct in [false, true] {
                            for r_cnct in [false, true] {
                                for &r_sbits in &bits {
                                    for &r_cbits in &cbs {
                                        let req = offer(r_snct, r_cnct, r_sbits, r_cbits);
                                        let got = process(&c, &req);
                                        match (got, oracle(&c, r_snct, r_cnct, r_sbits, r_cbits)) {
                                            (Ok(g), Ok(w)) => assert_eq!(g, w, "{c:?} {req:?}"),
                                            (Err(Error::InvalidArgument(_)), Err(true)) => {}
                                            (Err(Error::Negotiation(_)), Err(false)) => {}
                                            (g, w) => panic!("{c:?} {req:?}: got {g:?}, want {w:?}"),
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
    }
    assert_eq!(cells, 2 * 2 * 9 * 10 * 2 * 2 * 2 * 9 * 10);
}

#[test]
fn response_is_in_spec_order_whatever_the_offer_order() {
    let c = cfg(true, false, 12, 11, false);
    let ordered = offer(false, true, Some(10), Cb::NoValue);
    let want = vec![
        (SNCT.to_string(), None),
        (CNCT.to_string(), None),
        (SMWB.to_string(), Some("10".to_string())),
        (CMWB.to_string(), Some("11".to_string())),
    ];
    for perm in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
        let shuffled: Params = perm.iter().map(|&i| ordered[i].clone()).collect();
        let (resp, _) = process(&c, &shuffled).unwrap();
        assert_eq!(resp, want, "{perm:?}");
    }
    // Never client_max_window_bits without a value.
    let (resp, _) = process(&cfg(false, false, 0, 0, false), &offer(false, false, None, Cb::NoValue)).unwrap();
    assert!(resp.is_empty(), "{resp:?}");
}

// ------------------------------------------------------- config errors

#[test]
fn server_config_errors_are_invalid_argument() {
    let bad = [
        cfg(false, false, 0, -1, false),
        cfg(false, false, 0, -1, true),
        cfg(true, true, 10, 0, true),
    ];
    for c in &bad {
        for req in [
            offer(false, false, None, Cb::Absent),
            offer(false, false, None, Cb::NoValue),
            offer(false, false, None, Cb::Bits(9)),
        ] {
            let err = process(c, &req).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{c:?} {req:?}: {err:?}");
        }
        // The whole-header path too, whatever the request (even none: the
        // config is what is wrong).
        for request in [
            "",
            "permessage-deflate",
            "foo",
            "permessage-deflate; client_max_window_bits",
        ] {
            let err = server_negotiate(c, request.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{c:?} {request:?}: {err:?}");
        }
        let mut required = c.clone();
        required.require = true;
        assert!(matches!(
            server_negotiate(&required, b"permessage-deflate"),
            Err(Error::InvalidArgument(_))
        ));
    }
    // And the same settings are fine for the setters (they cannot know the
    // role), and -1 is fine for a client.
    let mut c = Config::default();
    assert!(c.set_client_max_window_bits(-1).is_ok());
    c.require_client_max_window_bits = true;
    assert!(c.set_client_max_window_bits(10).is_ok());
    assert!(process(&c, &offer(false, false, None, Cb::NoValue)).is_ok());
}

// ------------------------------------------------------ accepted lists

#[test]
fn skipped_duplicate_when_already_accepted() {
    let c = Config::default();
    let ok: [&[&[u8]]; 3] = [&[], &[b"foo"], &[b"x-webkit-deflate-frame", b"PERMESSAGE-DEFLATE"]];
    for accepted in ok {
        assert!(server_process_request(&c, &[], accepted).is_ok(), "{accepted:?}");
    }
    let dup: [&[&[u8]]; 2] = [&[b"permessage-deflate"], &[b"foo", b"permessage-deflate"]];
    for accepted in dup {
        let err = server_process_request(&c, &[], accepted).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
        assert!(err.to_string().contains("skipped duplicate"), "{err}");
    }
    let params = offer(true, false, Some(10), Cb::NoValue);
    let err = server_process_request(&c, &refs(&params), &[b"permessage-deflate"]).unwrap_err();
    assert!(err.to_string().contains("skipped duplicate"), "{err}");
}

// -------------------------------------------------------- whole header

fn negotiate(c: &Config, request: &str) -> Result<Option<(String, Agreed)>, Error> {
    server_negotiate(c, request.as_bytes())
}

#[test]
fn first_acceptable_offer_wins() {
    let c = Config::default();
    let cases: [(&str, &str, Agreed); 6] = [
        ("permessage-deflate", "permessage-deflate", agreed(false, false, 15, 15)),
        (
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
            agreed(false, false, 15, 15),
        ),
        (
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            "permessage-deflate; server_max_window_bits=10",
            agreed(false, false, 15, 10),
        ),
        // Later offers are ignored, even invalid ones.
        (
            "permessage-deflate; client_no_context_takeover, permessage-deflate; bogus",
            "permessage-deflate; client_no_context_takeover",
            agreed(true, false, 15, 15),
        ),
        // Declined offers are skipped: unknown name, duplicate, bad value,
        // no-value client_max_window_bits is fine, so that one wins.
        (
            "permessage-deflate; foo, permessage-deflate; server_max_window_bits=9; server_max_window_bits=9, \
             permessage-deflate; server_max_window_bits=16, permessage-deflate; server_no_context_takeover=1, \
             permessage-deflate; client_max_window_bits=08, permessage-deflate; client_max_window_bits; server_max_window_bits=12",
            "permessage-deflate; server_max_window_bits=12",
            agreed(false, false, 15, 12),
        ),
        // Other extensions are skipped, whatever their parameters.
        (
            "x-webkit-deflate-frame; no_context_takeover, foo; server_max_window_bits=99, \
             permessage-deflate; client_max_window_bits=9, bar",
            "permessage-deflate; client_max_window_bits=9",
            agreed(false, false, 9, 15),
        ),
    ];
    for (request, response, want) in cases {
        let (value, a) = negotiate(&c, request)
            .unwrap()
            .unwrap_or_else(|| panic!("{request}: no extension"));
        assert_eq!(value, response, "{request}");
        assert_eq!(a, want, "{request}");
        // The response parses back to one permessage-deflate element.
        let parsed = header::parse(value.as_bytes()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].name, "permessage-deflate");
    }
}

#[test]
fn no_acceptable_offer_gives_no_extension_unless_required() {
    let c = Config::default();
    let required = Config {
        require: true,
        ..Config::default()
    };
    for request in [
        "",
        "  ,, ",
        "foo",
        "x-webkit-deflate-frame, deflate-frame",
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_no_context_takeover=x",
        "Permessage-Deflate",
    ] {
        assert_eq!(negotiate(&c, request).unwrap(), None, "{request:?}");
        let err = negotiate(&required, request).unwrap_err();
        assert!(matches!(err, Error::Negotiation(_)), "{request:?}: {err:?}");
    }
    // require with an acceptable offer is simply accepted.
    assert!(negotiate(&required, "foo, permessage-deflate").unwrap().is_some());
}

#[test]
fn require_client_max_window_bits_declines_offers_without_it() {
    let c = cfg(false, false, 0, 10, true);
    assert_eq!(negotiate(&c, "permessage-deflate").unwrap(), None);
    assert_eq!(
        negotiate(&c, "permessage-deflate; server_max_window_bits=10").unwrap(),
        None
    );
    let (value, a) = negotiate(&c, "permessage-deflate, permessage-deflate; client_max_window_bits")
        .unwrap()
        .unwrap();
    assert_eq!(value, "permessage-deflate; client_max_window_bits=10");
    assert_eq!(a, agreed(false, false, 10, 15));
    let (value, a) = negotiate(&c, "permessage-deflate; client_max_window_bits=9")
        .unwrap()
        .unwrap();
    assert_eq!(value, "permessage-deflate; client_max_window_bits=9");
    assert_eq!(a.remote_max_window_bits, 9);
    let mut required = c.clone();
    required.require = true;
    let err = negotiate(&required, "permessage-deflate").unwrap_err();
    assert!(matches!(err, Error::Negotiation(_)), "{err:?}");
}

#[test]
fn syntax_errors_are_header_syntax_even_after_a_good_offer() {
    let c = Config::default();
    for request in [
        "permessage-deflate, ;",
        "permessage-deflate; client_max_window_bits=",
        "permessage-deflate, foo bar",
        "permessage-deflate; x=\"unterminated",
        "permessage-deflate\r\n",
    ] {
        let err = negotiate(&c, request).unwrap_err();
        assert!(matches!(err, Error::HeaderSyntax(_)), "{request:?}: {err:?}");
    }
}

#[test]
fn full_response_through_the_whole_header() {
    let c = cfg(true, true, 11, 12, false);
    let (value, a) = negotiate(
        &c,
        "permessage-deflate; client_max_window_bits; server_max_window_bits=13",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        value,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11; client_max_window_bits=12"
    );
    assert_eq!(a, agreed(true, true, 12, 11));
}
