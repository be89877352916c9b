//! The Sec-WebSocket-Extensions grammar (RFC 6455 section 9.1, RFC 7230
//! tokens and quoted strings): parse a header value into elements, and build
//! one element back. RFC 6455 section 9.1.

use crate::error::{Error, Result};
use crate::fallible::{self, detail};

/// A header value longer than this is refused, never parsed slowly.
pub const MAX_HEADER_LEN: usize = 64 * 1024;
/// At most this many extension elements in one header value.
pub const MAX_ELEMENTS: usize = 1024;
/// At most this many parameters in one header value, all elements together.
pub const MAX_PARAMS: usize = 1024;

/// One extension parameter: a name and an optional value (unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// A parameter borrowed from wherever it lives (a parsed header, C memory).
/// Negotiation works on these so that C callers' bytes need no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamRef<'a> {
    pub name: &'a [u8],
    pub value: Option<&'a [u8]>,
}

impl Param {
    pub fn as_ref(&self) -> ParamRef<'_> {
        ParamRef {
            name: self.name.as_bytes(),
            value: self.value.as_deref().map(str::as_bytes),
        }
    }
}

/// One element of the list: an extension name and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub params: Vec<Param>,
}

impl Element {
    pub fn param_refs(&self) -> Result<Vec<ParamRef<'_>>> {
        let mut out = fallible::vec_with_capacity(self.params.len())?;
        out.extend(self.params.iter().map(Param::as_ref));
        Ok(out)
    }
}

/// RFC 7230 tchar.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of tchar.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Describes the byte at `pos` for error messages: "'x' at offset 3" or "end".
fn describe(input: &[u8], pos: usize) -> String {
    match input.get(pos) {
        None => detail!("end of value at offset {pos}"),
        Some(&b) if b.is_ascii_graphic() => detail!("'{}' at offset {pos}", b as char),
        Some(&b) => detail!("byte 0x{b:02x} at offset {pos}"),
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    n_params: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T> {
        Err(Error::syntax(detail!(
            "invalid Sec-WebSocket-Extensions value: expected {what}, found {}",
            describe(self.input, self.pos)
        )))
    }

    fn token(&mut self, what: &str) -> Result<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return self.fail(what);
        }
        // tchar is ASCII: the bytes are valid UTF-8.
        fallible::lossy_string(&self.input[start..self.pos])
    }

    /// A quoted-string (the opening quote is at `pos`), unescaped; the result
    /// must itself be a token (RFC 6455 section 9.1).
    fn quoted(&mut self) -> Result<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(Error::syntax(detail!(
                        "invalid Sec-WebSocket-Extensions value: unterminated quoted string at offset {open}"
                    )))
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80 => {
                            fallible::push(&mut out, b)?;
                            self.pos += 1;
                        }
                        _ => return self.fail("an escaped character"),
                    }
                }
                Some(b) if b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80 => {
                    fallible::push(&mut out, b)?;
                    self.pos += 1;
                }
                Some(_) => return self.fail("a quoted-string character"),
            }
        }
        if !is_token(&out) {
            return Err(Error::syntax(detail!(
                "invalid Sec-WebSocket-Extensions value: quoted value at offset {open} is not a token"
            )));
        }
        fallible::lossy_string(&out)
    }

    fn param(&mut self) -> Result<Param> {
        self.n_params += 1;
        if self.n_params > MAX_PARAMS {
            return Err(Error::syntax(detail!(
                "Sec-WebSocket-Extensions value too long: more than {MAX_PARAMS} parameters"
            )));
        }
        let name = self.token("a parameter name")?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Ok(Param { name, value: None });
        }
        self.pos += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.token("a parameter value")?
        };
        Ok(Param {
            name,
            value: Some(value),
        })
    }

    fn element(&mut self) -> Result<Element> {
        let name = self.token("an extension name")?;
        let mut params = Vec::new();
        loop {
            self.skip_ows();
            if self.peek() != Some(b';') {
                return Ok(Element { name, params });
            }
            self.pos += 1;
            self.skip_ows();
            let param = self.param()?;
            fallible::push(&mut params, param)?;
        }
    }
}

/// Parses a Sec-WebSocket-Extensions value. Empty list elements and the
/// whole value's surrounding whitespace are ignored; an empty value has no
/// elements. Linear in the input; bounded by the MAX_* limits.
pub fn parse(input: &[u8]) -> Result<Vec<Element>> {
    if input.len() > MAX_HEADER_LEN {
        return Err(Error::syntax(detail!(
            "Sec-WebSocket-Extensions value too long: {} bytes, at most {MAX_HEADER_LEN}",
            input.len()
        )));
    }
    let mut p = Parser {
        input,
        pos: 0,
        n_params: 0,
    };
    let mut elements = Vec::new();
    loop {
        // Separators: any mix of commas and whitespace; at least one comma
        // between two elements.
        let mut saw_comma = false;
        while let Some(b) = p.peek() {
            if b == b',' {
                saw_comma = true;
            } else if !is_ows(b) {
                break;
            }
            p.pos += 1;
        }
        if p.peek().is_none() {
            return Ok(elements);
        }
        if !elements.is_empty() && !saw_comma {
            return p.fail("',' or ';'");
        }
        if elements.len() == MAX_ELEMENTS {
            return Err(Error::syntax(detail!(
                "Sec-WebSocket-Extensions value too long: more than {MAX_ELEMENTS} elements"
            )));
        }
        let element = p.element()?;
        fallible::push(&mut elements, element)?;
    }
}

/// Appends `value` to `out` as a quoted-string, escaping '"' and '\'.
fn push_quoted(out: &mut String, value: &[u8]) -> Result<()> {
    push_char(out, '"')?;
    for &b in value {
        match b {
            b'"' | b'\\' => {
                push_char(out, '\\')?;
                push_char(out, b as char)?;
            }
            b'\t' | 0x20..=0x7e => push_char(out, b as char)?,
            _ => {
                return Err(Error::invalid(detail!(
                    "parameter value byte 0x{b:02x} cannot be sent in a header"
                )))
            }
        }
    }
    push_char(out, '"')
}

fn push_char(out: &mut String, c: char) -> Result<()> {
    fallible::push_str(out, c.encode_utf8(&mut [0; 4]))
}

/// Appends a token (ASCII, checked by the caller).
fn push_token(out: &mut String, token: &[u8]) -> Result<()> {
    fallible::push_str(out, std::str::from_utf8(token).unwrap_or("\u{FFFD}"))
}

/// Serialises one extension element: the name, then "; param" or
/// "; param=value" for each parameter. A value that is not a token is written
/// as a quoted string. Names must be tokens.
pub fn build(name: &[u8], params: &[ParamRef<'_>]) -> Result<String> {
    if !is_token(name) {
        return Err(Error::invalid(detail!(
            "extension name {:?} is not a token",
            fallible::Lossy(name)
        )));
    }
    let mut out = String::new();
    out.try_reserve(name.len().saturating_add(params.len().saturating_mul(28)))
        .map_err(|_| fallible::oom("out of memory building a header value"))?;
    push_token(&mut out, name)?;
    for p in params {
        if !is_token(p.name) {
            return Err(Error::invalid(detail!(
                "parameter name {:?} is not a token",
                fallible::Lossy(p.name)
            )));
        }
        fallible::push_str(&mut out, "; ")?;
        push_token(&mut out, p.name)?;
        if let Some(v) = p.value {
            push_char(&mut out, '=')?;
            if is_token(v) {
                push_token(&mut out, v)?;
            } else {
                push_quoted(&mut out, v)?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Option<&str>) -> Param {
        Param {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    fn el(name: &str, params: Vec<Param>) -> Element {
        Element {
            name: name.into(),
            params,
        }
    }

    #[test]
    fn parses_valid_values() {
        let cases: Vec<(&str, Vec<Element>)> = vec![
            ("", vec![]),
            (" , ,, ", vec![]),
            ("foo", vec![el("foo", vec![])]),
            ("foo, bar", vec![el("foo", vec![]), el("bar", vec![])]),
            (",foo,,bar,", vec![el("foo", vec![]), el("bar", vec![])]),
            (
                "foo; name; token=token; quoted-string=\"quoted-string\"",
                vec![el(
                    "foo",
                    vec![
                        p("name", None),
                        p("token", Some("token")),
                        p("quoted-string", Some("quoted-string")),
                    ],
                )],
            ),
            (
                "permessage-deflate ;\tclient_max_window_bits = 10 , x",
                vec![
                    el("permessage-deflate", vec![p("client_max_window_bits", Some("10"))]),
                    el("x", vec![]),
                ],
            ),
            ("a; b=\"1\\0\"", vec![el("a", vec![p("b", Some("10"))])]),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input.as_bytes()).unwrap(), want, "input {input:?}");
        }
    }

    #[test]
    fn rejects_invalid_values() {
        for input in [
            ";",
            "foo;",
            "foo; =1",
            "foo; a=",
            "foo; a=\"\"",
            "foo; a=\"x y\"",
            "foo bar",
            "foo; a=\"unterminated",
            "foo\x01",
            "fo\"o",
            "foo;;a",
            "foo; a b",
            "foo; a=1 2",
            "é",
        ] {
            let err = parse(input.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::HeaderSyntax(_)), "input {input:?}: {err:?}");
        }
    }

    #[test]
    fn error_names_the_offset() {
        let err = parse(b"foo; =1").unwrap_err();
        assert!(err.to_string().contains("offset 5"), "{err}");
    }

    #[test]
    fn enforces_work_limits() {
        let long = "a".repeat(MAX_HEADER_LEN + 1);
        assert!(parse(long.as_bytes()).unwrap_err().to_string().contains("too long"));
        let many = vec!["a"; MAX_ELEMENTS + 1].join(",");
        assert!(parse(many.as_bytes()).unwrap_err().to_string().contains("too long"));
        let ok = vec!["a"; MAX_ELEMENTS].join(",");
        assert_eq!(parse(ok.as_bytes()).unwrap().len(), MAX_ELEMENTS);
        let params = format!("a{}", "; p".repeat(MAX_PARAMS + 1));
        assert!(parse(params.as_bytes()).unwrap_err().to_string().contains("too long"));
    }

    #[test]
    fn builds_and_round_trips() {
        let params = [
            ParamRef {
                name: b"server_no_context_takeover",
                value: None,
            },
            ParamRef {
                name: b"client_max_window_bits",
                value: Some(b"10"),
            },
        ];
        let s = build(b"permessage-deflate", &params).unwrap();
        assert_eq!(
            s,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
        );
        let parsed = parse(s.as_bytes()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].param_refs().unwrap(), params.to_vec());
    }

    #[test]
    fn build_quotes_non_tokens_and_rejects_bad_names() {
        let q = build(
            b"x",
            &[ParamRef {
                name: b"a",
                value: Some(b"b c\""),
            }],
        )
        .unwrap();
        assert_eq!(q, "x; a=\"b c\\\"\"");
        assert!(matches!(build(b"x y", &[]), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            build(b"x", &[ParamRef { name: b"", value: None }]),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            build(
                b"x",
                &[ParamRef {
                    name: b"a",
                    value: Some(b"\n")
                }]
            ),
            Err(Error::InvalidArgument(_))
        ));
    }
}
