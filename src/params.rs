//! The four permessage-deflate parameters (RFC 7692 section 7.1): extract
//! and validate them from one element, and serialise agreed values. This is
//! websockets' `_extract_parameters` and `_build_parameters`.

use crate::fallible::detail;
use std::ffi::CStr;

use crate::error::{Error, Result};
use crate::header::ParamRef;

/// Each name once, as text and as the NUL-terminated string handed to C.
macro_rules! names {
    ($( $name:ident, $c_name:ident = $text:literal; )*) => {$(
        pub const $name: &str = $text;
        pub const $c_name: &CStr = match CStr::from_bytes_with_nul(concat!($text, "\0").as_bytes()) {
            Ok(c) => c,
            Err(_) => panic!("a parameter name holds a NUL"),
        };
    )*};
}

names! {
    SERVER_NO_CONTEXT_TAKEOVER, C_SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover";
    CLIENT_NO_CONTEXT_TAKEOVER, C_CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover";
    SERVER_MAX_WINDOW_BITS, C_SERVER_MAX_WINDOW_BITS = "server_max_window_bits";
    CLIENT_MAX_WINDOW_BITS, C_CLIENT_MAX_WINDOW_BITS = "client_max_window_bits";
}

/// The window sizes RFC 7692 section 7.1.2 allows.
pub const MIN_WINDOW_BITS: u8 = 8;
pub const MAX_WINDOW_BITS: u8 = 15;

/// Checks agreed window bits.
pub fn check_window_bits(name: &str, bits: i64) -> Result<u8> {
    u8::try_from(bits)
        .ok()
        .filter(|b| (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(b))
        .ok_or_else(|| Error::invalid(detail!("{name} must be 8..15, got {bits}")))
}

/// A serialised parameter: static, NUL-terminated strings, so that it can
/// be handed to C callers without an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticParam {
    pub name: &'static CStr,
    pub value: Option<&'static CStr>,
}

impl StaticParam {
    pub fn as_ref(&self) -> ParamRef<'static> {
        ParamRef {
            name: self.name.to_bytes(),
            value: self.value.map(CStr::to_bytes),
        }
    }
}

/// `client_max_window_bits` in an offer: advertised without a value (the
/// client can honour any value the server picks) or with a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBits {
    NoValue,
    Bits(u8),
}

/// The parameters of one element, validated. `None` means absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<ClientBits>,
}

/// The exact spellings "8".."15" (no sign, no leading zero, no spaces).
const BITS_STR: [&CStr; 8] = [c"8", c"9", c"10", c"11", c"12", c"13", c"14", c"15"];

fn bits_str(bits: u8) -> &'static CStr {
    BITS_STR[usize::from(bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS) - MIN_WINDOW_BITS)]
}

fn lossy(b: &[u8]) -> crate::fallible::Lossy<'_> {
    crate::fallible::Lossy(b)
}

fn parse_bits(name: &str, value: Option<&[u8]>) -> Result<u8> {
    // Only the exact spellings: no sign, no leading zero, no whitespace.
    value
        .and_then(|v| BITS_STR.iter().position(|s| s.to_bytes() == v))
        .map(|i| i as u8 + 8)
        .ok_or_else(|| invalid_value(name, value))
}

fn invalid_value(name: &str, value: Option<&[u8]>) -> Error {
    match value {
        Some(v) => Error::negotiation(detail!("invalid value for parameter {name}: {}", lossy(v))),
        None => Error::negotiation(detail!("invalid value for parameter {name}: (none)")),
    }
}

fn duplicate(name: &str) -> Error {
    Error::negotiation(detail!("duplicate parameter {name}"))
}

/// Validates one element's parameters. `is_server` is true when a server
/// reads a client's offer: only there may `client_max_window_bits` come
/// without a value.
pub fn extract(params: &[ParamRef<'_>], is_server: bool) -> Result<Params> {
    let mut out = Params::default();
    let mut seen = [false; 4];
    for p in params {
        let (index, name) = match p.name {
            n if n == SERVER_NO_CONTEXT_TAKEOVER.as_bytes() => (0, SERVER_NO_CONTEXT_TAKEOVER),
            n if n == CLIENT_NO_CONTEXT_TAKEOVER.as_bytes() => (1, CLIENT_NO_CONTEXT_TAKEOVER),
            n if n == SERVER_MAX_WINDOW_BITS.as_bytes() => (2, SERVER_MAX_WINDOW_BITS),
            n if n == CLIENT_MAX_WINDOW_BITS.as_bytes() => (3, CLIENT_MAX_WINDOW_BITS),
            other => return Err(Error::negotiation(detail!("invalid parameter name {}", lossy(other)))),
        };
        if std::mem::replace(&mut seen[index], true) {
            return Err(duplicate(name));
        }
        match index {
            0 | 1 => {
                if p.value.is_some() {
                    return Err(invalid_value(name, p.value));
                }
                if index == 0 {
                    out.server_no_context_takeover = true;
                } else {
                    out.client_no_context_takeover = true;
                }
            }
            2 => out.server_max_window_bits = Some(parse_bits(name, p.value)?),
            _ => {
                out.client_max_window_bits = Some(if is_server && p.value.is_none() {
                    ClientBits::NoValue
                } else {
                    ClientBits::Bits(parse_bits(name, p.value)?)
                })
            }
        }
    }
    Ok(out)
}

/// Up to the four parameters, serialised: a fixed array, so that building
/// them allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params4 {
    list: [StaticParam; 4],
    len: usize,
}

impl Params4 {
    fn push(&mut self, p: StaticParam) {
        self.list[self.len] = p;
        self.len += 1;
    }

    /// Parameters as parsed-header references.
    pub fn refs(&self) -> Refs4 {
        Refs4 {
            list: self.list.map(|p| p.as_ref()),
            len: self.len,
        }
    }
}

/// `Params4::refs`: the same parameters as `ParamRef`s.
pub struct Refs4 {
    list: [ParamRef<'static>; 4],
    len: usize,
}

impl std::ops::Deref for Refs4 {
    type Target = [ParamRef<'static>];
    fn deref(&self) -> &[ParamRef<'static>] {
        &self.list[..self.len]
    }
}

impl std::ops::Deref for Params4 {
    type Target = [StaticParam];
    fn deref(&self) -> &[StaticParam] {
        &self.list[..self.len]
    }
}

/// Serialises parameters in the order websockets uses; each only when set.
pub fn build(p: &Params) -> Params4 {
    let flag = |name| StaticParam { name, value: None };
    let bits = |name, b| StaticParam {
        name,
        value: Some(bits_str(b)),
    };
    let mut out = Params4 {
        list: [flag(C_SERVER_NO_CONTEXT_TAKEOVER); 4],
        len: 0,
    };
    if p.server_no_context_takeover {
        out.push(flag(C_SERVER_NO_CONTEXT_TAKEOVER));
    }
    if p.client_no_context_takeover {
        out.push(flag(C_CLIENT_NO_CONTEXT_TAKEOVER));
    }
    if let Some(b) = p.server_max_window_bits {
        out.push(bits(C_SERVER_MAX_WINDOW_BITS, b));
    }
    match p.client_max_window_bits {
        Some(ClientBits::NoValue) => out.push(flag(C_CLIENT_MAX_WINDOW_BITS)),
        Some(ClientBits::Bits(b)) => out.push(bits(C_CLIENT_MAX_WINDOW_BITS, b)),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr<'a>(name: &'a str, value: Option<&'a str>) -> ParamRef<'a> {
        ParamRef {
            name: name.as_bytes(),
            value: value.map(str::as_bytes),
        }
    }

    #[test]
    fn extracts_every_parameter() {
        let got = extract(
            &[
                pr("server_no_context_takeover", None),
                pr("client_no_context_takeover", None),
                pr("server_max_window_bits", Some("10")),
                pr("client_max_window_bits", None),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            got,
            Params {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(ClientBits::NoValue),
            }
        );
        assert_eq!(
            build(&got).refs().to_vec(),
            vec![
                pr("server_no_context_takeover", None),
                pr("client_no_context_takeover", None),
                pr("server_max_window_bits", Some("10")),
                pr("client_max_window_bits", None),
            ]
        );
    }

    #[test]
    fn rejects_bad_parameters() {
        let cases: Vec<(Vec<ParamRef>, bool, &str)> = vec![
            (vec![pr("foo", None)], true, "invalid parameter name foo"),
            (
                vec![
                    pr("server_no_context_takeover", None),
                    pr("server_no_context_takeover", None),
                ],
                true,
                "duplicate parameter server_no_context_takeover",
            ),
            (
                vec![
                    pr("client_max_window_bits", Some("9")),
                    pr("client_max_window_bits", None),
                ],
                true,
                "duplicate parameter client_max_window_bits",
            ),
            (vec![pr("server_no_context_takeover", Some("1"))], true, "invalid value"),
            (
                vec![pr("client_no_context_takeover", Some("x"))],
                false,
                "invalid value",
            ),
            (vec![pr("client_max_window_bits", None)], false, "invalid value"),
            (vec![pr("server_max_window_bits", None)], true, "invalid value"),
        ];
        for (params, is_server, want) in cases {
            let err = extract(&params, is_server).unwrap_err();
            assert!(matches!(err, Error::Negotiation(_)));
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
        for bad in ["7", "16", "08", "+9", " 9", "9 ", "", "0x9", "15.0", "ten"] {
            for name in [SERVER_MAX_WINDOW_BITS, CLIENT_MAX_WINDOW_BITS] {
                assert!(extract(&[pr(name, Some(bad))], true).is_err(), "{name}={bad:?}");
            }
        }
        for bits in 8..=15u8 {
            let s = bits.to_string();
            let got = extract(&[pr(SERVER_MAX_WINDOW_BITS, Some(&s))], false).unwrap();
            assert_eq!(got.server_max_window_bits, Some(bits));
        }
    }
}
