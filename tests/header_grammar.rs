//! docs/header.md: the Sec-WebSocket-Extensions grammar beyond the unit
//! tests in src/header.rs: quoted strings and their escapes, optional
//! whitespace in every place the grammar allows it, every rejected form
//! (with the offset named), the work limits (rejected, and quickly), and
//! build/parse round trips.

mod common;

use std::time::{Duration, Instant};

use common::Rng;
use pmdeflate::header::{build, parse, Element, Param, ParamRef, MAX_ELEMENTS, MAX_HEADER_LEN, MAX_PARAMS};
use pmdeflate::Error;

fn el(name: &str, params: &[(&str, Option<&str>)]) -> Element {
    Element {
        name: name.into(),
        params: params
            .iter()
            .map(|(n, v)| Param {
                name: (*n).into(),
                value: v.map(Into::into),
            })
            .collect(),
    }
}

fn syntax_error(input: &[u8]) -> String {
    match parse(input) {
        Err(Error::HeaderSyntax(msg)) => msg,
        other => panic!(
            "{:?}: expected HEADER_SYNTAX, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

const TCHARS: &[u8] = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

// ------------------------------------------------------- quoted strings

#[test]
fn quoted_values_are_unquoted() {
    let cases: [(&str, &str); 8] = [
        (r#"a; b="c""#, "c"),
        (r#"a; b="10""#, "10"),
        (r#"a; b="\1\0""#, "10"),
        (r#"a; b="\a\b\c""#, "abc"),
        (r#"a; b="x\-y""#, "x-y"),
        (r#"a; b="!#$%&'*+-.^_`|~""#, "!#$%&'*+-.^_`|~"),
        (r#"a; b = "tok""#, "tok"),
        ("a;b=\"\\~\"", "~"),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse(input.as_bytes()).unwrap(),
            vec![el("a", &[("b", Some(want))])],
            "{input}"
        );
    }
    // A quoted token and the bare token are the same value.
    assert_eq!(
        parse(br#"x; p="v", y; q=v"#).unwrap(),
        vec![el("x", &[("p", Some("v"))]), el("y", &[("q", Some("v"))])]
    );
}

#[test]
fn every_token_character_survives_quoting_and_escaping() {
    for &c in TCHARS {
        let ch = c as char;
        for input in [
            format!("a; b={ch}"),
            format!("a; b=\"{ch}\""),
            format!("a; b=\"\\{ch}\""),
        ] {
            let got = parse(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, vec![el("a", &[("b", Some(&ch.to_string()))])], "{input}");
        }
    }
}

#[test]
fn quoted_values_that_are_not_tokens_are_refused() {
    for input in [
        &br#"a; b="""#[..], // empty
        br#"a; b=" ""#,     // space
        br#"a; b="x y""#,   // inner space
        b"a; b=\"x\ty\"",   // inner tab
        br#"a; b="\"""#,    // an escaped quote unquotes to "
        br#"a; b="\\""#,    // an escaped backslash unquotes to \
        br#"a; b="a,b""#,   // separators
        br#"a; b="a;b""#,
        br#"a; b="a=b""#,
        br#"a; b="(x)""#,
        br#"a; b="x/y""#,
        br#"a; b="\ ""#,  // escaped space
        b"a; b=\"\x80\"", // obs-text is allowed in quotes, but no token
        b"a; b=\"\xff\"",
        b"a; b=\"x\\\x80\"",
    ] {
        let msg = syntax_error(input);
        assert!(msg.contains("offset"), "{msg}");
    }
}

#[test]
fn malformed_quoted_strings_are_refused() {
    for input in [
        &br#"a; b=""#[..],
        br#"a; b="x"#,
        br#"a; b="x\"#,
        br#"a; b="x\""#,
        b"a; b=\"x\x01\"",
        b"a; b=\"x\x7f\"",
        b"a; b=\"x\\\x01\"",
        b"a; b=\"x\r\n\"",
        b"a; b=\"x\0\"",
        br#"a; b="x"y"#,
        br#"a; b="x""y""#,
        br#"a; b=x"y""#,
        br#""a"; b=c"#,
        br#"a; "b"=c"#,
        br#"a; b"c"=d"#,
    ] {
        let msg = syntax_error(input);
        assert!(msg.contains("offset"), "{:?}: {msg}", String::from_utf8_lossy(input));
    }
}

#[test]
fn unterminated_quote_names_where_it_opened() {
    let msg = syntax_error(br#"ext; p="abc"#);
    assert!(msg.contains("unterminated"), "{msg}");
    assert!(msg.contains("offset 7"), "{msg}");
}

// --------------------------------------------------------------- OWS

/// The places where OWS may appear in `a ; b = c ; d , e ; f = "g"` plus
/// leading and trailing whitespace of the whole value.
const SLOTS: usize = 14;

fn with_ows(fill: &dyn Fn(usize) -> &'static str) -> String {
    let parts = [
        "", "a", "", ";", "", "b", "", "=", "", "c", "", ";", "", "d", "", ",", "", "e", "", ";", "", "f", "", "=", "",
        "\"g\"", "",
    ];
    // Each empty part is a slot, numbered in order.
    let mut out = String::new();
    let mut slot = 0;
    for p in parts {
        if p.is_empty() {
            out.push_str(fill(slot));
            slot += 1;
        } else {
            out.push_str(p);
        }
    }
    assert_eq!(slot, SLOTS);
    out
}

#[test]
fn ows_is_allowed_everywhere_the_grammar_allows_it() {
    let want = vec![el("a", &[("b", Some("c")), ("d", None)]), el("e", &[("f", Some("g"))])];
    assert_eq!(parse(with_ows(&|_| "").as_bytes()).unwrap(), want);
    for ws in [" ", "\t", "  ", " \t ", "\t\t\t"] {
        for slot in 0..SLOTS {
            let input = with_ows(&|i| if i == slot { ws } else { "" });
            assert_eq!(parse(input.as_bytes()).unwrap(), want, "{input:?}");
        }
        let input = with_ows(&|_| ws);
        assert_eq!(parse(input.as_bytes()).unwrap(), want, "{input:?}");
    }
}

#[test]
fn empty_list_elements_and_commas_are_ignored() {
    let want = vec![el("a", &[]), el("b", &[("c", None)])];
    for input in [
        "a, b; c",
        ",a,b;c",
        "a,,b;c,",
        " , , a , , b ; c , , ",
        "\t,\ta\t,\t,\tb\t;\tc\t,\t",
        ",,,,a,,,,b;c,,,,",
    ] {
        assert_eq!(parse(input.as_bytes()).unwrap(), want, "{input:?}");
    }
    for input in ["", " ", "\t", ",", ",,,", " , \t , "] {
        assert_eq!(parse(input.as_bytes()).unwrap(), vec![], "{input:?}");
    }
}

#[test]
fn names_are_case_sensitive_and_kept_as_sent() {
    assert_eq!(
        parse(b"Permessage-Deflate; Client_Max_Window_Bits=10").unwrap(),
        vec![el("Permessage-Deflate", &[("Client_Max_Window_Bits", Some("10"))])]
    );
}

// -------------------------------------------------------- rejected forms

#[test]
fn every_rejected_form_is_header_syntax_naming_the_offset() {
    // (input, offset the message must name)
    let cases: [(&[u8], usize); 27] = [
        (b";", 0),
        (b"a;", 2),
        (b"a; ", 3),
        (b"a;;b", 2),
        (b"a; ;b", 3),
        (b"a; =1", 3),
        (b"a; b=", 5),
        (b"a; b= ", 6),
        (b"a; b=;c", 5),
        (b"a; b==c", 5),
        (b"a; b=c=d", 6),
        (b"a b", 2),
        (b"a; b c", 5),
        (b"a; b=c d", 7),
        (b"a=1", 1),
        (b"=a", 0),
        (b"a,;b", 2),
        (b"a, ;b", 3),
        (b"a; b, ;", 6),
        (b"(a)", 0),
        (b"a/b", 1),
        (b"a; b/c", 4),
        (b"a; b=c/d", 6),
        (b"a; b=@", 5),
        (b"a,\r\n b", 2),
        (b"a\x00", 1),
        (b"a; b=\x7f", 5),
    ];
    for (input, offset) in cases {
        let msg = syntax_error(input);
        assert!(
            msg.contains(&format!("offset {offset}")),
            "{:?}: {msg}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn every_separator_and_control_byte_is_refused_in_names_and_values() {
    let mut bad: Vec<u8> = (0u8..0x20).filter(|&b| b != b'\t').collect();
    bad.push(0x7f);
    bad.extend_from_slice(b"()<>@:\\/[]?{}\"");
    bad.extend(0x80..=0xffu8);
    for &b in &bad {
        // Inside an extension name, a parameter name and a bare value.
        for (template, at) in [("ex?t; p=v", 2), ("ext; p?q=v", 6), ("ext; p=v?w", 8)] {
            let mut input = template.as_bytes().to_vec();
            input[at] = b;
            let msg = syntax_error(&input);
            assert!(
                msg.contains(&format!("offset {at}")),
                "byte {b:#04x} in {template}: {msg}"
            );
        }
    }
}

#[test]
fn separators_where_a_name_belongs_are_refused() {
    for input in [
        &b"a; b, c=d"[..], // ok up to ", c=d": an element cannot have a value
        b"a; b; c=",
        b"a,,;",
        b"a;,b",
    ] {
        syntax_error(input);
    }
}

// ------------------------------------------------------------ work limits

fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    // Linear parsing of at most 64 KiB takes microseconds; this bound is
    // generous for a loaded CI machine and still catches anything slow.
    assert!(took < Duration::from_millis(50), "{what} took {took:?}");
    out
}

#[test]
fn limits_are_the_spec_values() {
    assert_eq!(MAX_HEADER_LEN, 64 * 1024);
    assert_eq!(MAX_ELEMENTS, 1024);
    assert_eq!(MAX_PARAMS, 1024);
}

#[test]
fn a_value_over_64_kib_is_refused_quickly() {
    // Exactly 64 KiB is parsed; one byte more is refused, whatever it holds.
    let mut at_limit = vec![b' '; MAX_HEADER_LEN];
    at_limit[..3].copy_from_slice(b"abc");
    assert_eq!(quick("64 KiB", || parse(&at_limit)).unwrap(), vec![el("abc", &[])]);
    for filler in [b'a', b' ', b',', b';'] {
        let mut long = vec![filler; MAX_HEADER_LEN + 1];
        long[0] = b'a';
        let msg = match quick("64 KiB + 1", || parse(&long)) {
            Err(Error::HeaderSyntax(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(msg.contains("too long"), "{msg}");
    }
    let huge = vec![b'a'; 16 * 1024 * 1024];
    assert!(quick("16 MiB", || parse(&huge))
        .unwrap_err()
        .to_string()
        .contains("too long"));
}

#[test]
fn more_than_1024_elements_is_refused_quickly() {
    let ok = vec!["e"; MAX_ELEMENTS].join(", ");
    assert_eq!(
        quick("1024 elements", || parse(ok.as_bytes())).unwrap().len(),
        MAX_ELEMENTS
    );
    let over = vec!["e"; MAX_ELEMENTS + 1].join(",");
    let err = quick("1025 elements", || parse(over.as_bytes())).unwrap_err();
    assert!(
        matches!(err, Error::HeaderSyntax(_)) && err.to_string().contains("too long"),
        "{err}"
    );
    // Many elements, all just under the byte limit.
    let dense = vec!["e"; 32 * 1024 - 1].join(",");
    assert!(dense.len() <= MAX_HEADER_LEN);
    assert!(quick("32k elements", || parse(dense.as_bytes()))
        .unwrap_err()
        .to_string()
        .contains("too long"));
}

#[test]
fn more_than_1024_parameters_is_refused_quickly() {
    let ok = format!("a{}", "; p".repeat(MAX_PARAMS));
    let got = quick("1024 params", || parse(ok.as_bytes())).unwrap();
    assert_eq!(got[0].params.len(), MAX_PARAMS);
    let over = format!("a{}", ";p".repeat(MAX_PARAMS + 1));
    let err = quick("1025 params", || parse(over.as_bytes())).unwrap_err();
    assert!(
        matches!(err, Error::HeaderSyntax(_)) && err.to_string().contains("too long"),
        "{err}"
    );
    // The limit counts parameters across elements.
    let spread = format!("a{}, b{}", ";p=1".repeat(512), ";q".repeat(513));
    let err = quick("spread params", || parse(spread.as_bytes())).unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
    let spread_ok = format!("a{}, b{}", ";p=1".repeat(512), ";q".repeat(512));
    assert_eq!(quick("spread ok", || parse(spread_ok.as_bytes())).unwrap().len(), 2);
}

#[test]
fn adversarial_inputs_at_the_limit_are_quick() {
    let n = MAX_HEADER_LEN;
    let inputs: Vec<Vec<u8>> = vec![
        [b"a; b=\"".to_vec(), vec![b'\\'; n - 6]].concat(), // escapes, unterminated
        [b"a; b=\"".to_vec(), b"\\x".repeat((n - 7) / 2), b"\"".to_vec()].concat(), // long quoted token
        [b"a; b=\"".to_vec(), vec![b'x'; n - 6]].concat(),  // unterminated
        vec![b'\t'; n],                                     // all OWS
        [vec![b','; n - 1], b";".to_vec()].concat(),        // commas then junk
        [b"a".to_vec(), b" ;".repeat((n - 1) / 2)].concat(), // lone semicolons
        [b"a; b=".to_vec(), vec![b'x'; n - 5]].concat(),    // one huge value
        vec![b'a'; n],                                      // one huge name
    ];
    for input in &inputs {
        let _ = quick("adversarial", || parse(input));
    }
    // The long quoted token is fine and unquotes to n/2 'x'.
    let got = parse(&inputs[1]).unwrap();
    assert_eq!(got[0].params[0].value.as_deref().map(str::len), Some((n - 7) / 2));
}

// ----------------------------------------------------------- round trips

fn token(rng: &mut Rng, max: usize) -> String {
    let len = 1 + rng.below(max);
    (0..len).map(|_| TCHARS[rng.below(TCHARS.len())] as char).collect()
}

fn random_element(rng: &mut Rng) -> Element {
    let n = rng.below(6);
    Element {
        name: token(rng, 20),
        params: (0..n)
            .map(|_| Param {
                name: token(rng, 24),
                value: if rng.bool() { Some(token(rng, 12)) } else { None },
            })
            .collect(),
    }
}

#[test]
fn build_then_parse_gives_back_the_elements() {
    let mut rng = Rng::new(2);
    for _ in 0..2000 {
        let e = random_element(&mut rng);
        let built = build(e.name.as_bytes(), &e.param_refs().unwrap()).unwrap();
        assert_eq!(parse(built.as_bytes()).unwrap(), vec![e.clone()], "{built}");
        // The exact form of docs/header.md: name, then "; p" or "; p=v".
        let mut want = e.name.clone();
        for p in &e.params {
            want.push_str("; ");
            want.push_str(&p.name);
            if let Some(v) = &p.value {
                want.push('=');
                want.push_str(v);
            }
        }
        assert_eq!(built, want);
    }
}

#[test]
fn built_elements_joined_with_commas_parse_back_as_a_list() {
    let mut rng = Rng::new(3);
    for _ in 0..300 {
        let list: Vec<Element> = (0..1 + rng.below(8)).map(|_| random_element(&mut rng)).collect();
        let joined = list
            .iter()
            .map(|e| build(e.name.as_bytes(), &e.param_refs().unwrap()).unwrap())
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(parse(joined.as_bytes()).unwrap(), list, "{joined}");
    }
}

#[test]
fn parse_then_build_normalises_spacing_and_quotes() {
    let parsed = parse(b" permessage-deflate ;client_max_window_bits ;\tserver_max_window_bits = \"10\" ").unwrap();
    assert_eq!(parsed.len(), 1);
    let built = build(parsed[0].name.as_bytes(), &parsed[0].param_refs().unwrap()).unwrap();
    assert_eq!(
        built,
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
    );
}

#[test]
fn build_quotes_values_that_are_not_tokens() {
    let cases: [(&[u8], &str); 5] = [
        (b"a b", "\"a b\""),
        (b"", "\"\""),
        (b"x\"y", "\"x\\\"y\""),
        (b"x\\y", "\"x\\\\y\""),
        (b"a,b;c=d", "\"a,b;c=d\""),
    ];
    for (value, quoted) in cases {
        let built = build(
            b"ext",
            &[ParamRef {
                name: b"p",
                value: Some(value),
            }],
        )
        .unwrap();
        assert_eq!(built, format!("ext; p={quoted}"));
        // RFC 6455 section 9.1: a quoted value must unquote to a token, so
        // such a value cannot come back through parse.
        assert!(
            matches!(parse(built.as_bytes()), Err(Error::HeaderSyntax(_))),
            "{built}"
        );
    }
    // Bytes that cannot appear in a header at all are an argument error.
    for value in [&b"\r"[..], b"\n", b"\x00", b"\x7f", b"\xc3\xa9"] {
        assert!(matches!(
            build(
                b"ext",
                &[ParamRef {
                    name: b"p",
                    value: Some(value)
                }]
            ),
            Err(Error::InvalidArgument(_))
        ));
    }
    for name in [&b""[..], b"a b", b"a;b", b"\"a\""] {
        assert!(matches!(build(name, &[]), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            build(b"ext", &[ParamRef { name, value: None }]),
            Err(Error::InvalidArgument(_))
        ));
    }
}
