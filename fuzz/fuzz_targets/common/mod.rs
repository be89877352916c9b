//! Shared by the fuzz targets: a fuzzer-chosen configuration built through
//! the C ABI, frame helpers, and the documented result sets to check
//! results against. Not every target uses every item.
#![allow(dead_code)]

use arbitrary::Arbitrary;
use pmdeflate::ffi::config::*;
use pmdeflate::ffi::frame::pmd_frame;
use pmdeflate::ffi::pmd_result;
use pmdeflate::ffi::pmd_result::*;

/// Every configuration setter, each with a fuzzer-chosen value (in range
/// most of the time, out of range sometimes: a setter refusing a value
/// must return PMD_ERR_INVALID_ARGUMENT and leave the config usable).
#[derive(Arbitrary, Debug, Clone)]
pub struct CfgSpec {
    pub server_nct: bool,
    pub client_nct: bool,
    pub server_bits: WindowBits,
    pub client_bits: WindowBits,
    pub level: i8,
    pub mem_level: i8,
    pub strategy: i8,
    pub require: bool,
    pub require_client_bits: bool,
    pub max_message: Option<u32>,
    pub strict_window: bool,
    pub threshold: u8,
}

/// A window-bits setter argument: 0 (unset), -1 (no value), 8..15, or a
/// raw value that may be out of range.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum WindowBits {
    Unset,
    NoValue,
    Bits(u8),
    Raw(i32),
}

impl WindowBits {
    pub fn arg(self) -> i32 {
        match self {
            WindowBits::Unset => 0,
            WindowBits::NoValue => -1,
            WindowBits::Bits(b) => 8 + i32::from(b % 8),
            WindowBits::Raw(r) => r,
        }
    }
    pub fn valid(self, allow_no_value: bool) -> bool {
        let a = self.arg();
        a == 0 || (8..=15).contains(&a) || (a == -1 && allow_no_value)
    }
}

/// Checks a setter's result: PMD_OK when the value is valid, otherwise
/// PMD_ERR_INVALID_ARGUMENT.
fn setter(r: pmd_result, valid: bool, what: &str) {
    let want = if valid { PMD_OK } else { PMD_ERR_INVALID_ARGUMENT };
    assert_eq!(r, want, "{what}");
}

impl CfgSpec {
    /// Builds the configuration through the C setters, checking each one's
    /// result. Free it with `pmd_config_free`.
    pub fn build(&self) -> *mut pmd_config {
        let cfg = pmd_config_new();
        assert!(!cfg.is_null());
        // SAFETY: cfg is a live config; every argument is a plain value.
        unsafe {
            setter(
                pmd_config_set_server_no_context_takeover(cfg, self.server_nct),
                true,
                "server nct",
            );
            setter(
                pmd_config_set_client_no_context_takeover(cfg, self.client_nct),
                true,
                "client nct",
            );
            setter(
                pmd_config_set_server_max_window_bits(cfg, self.server_bits.arg()),
                self.server_bits.valid(false),
                "server bits",
            );
            setter(
                pmd_config_set_client_max_window_bits(cfg, self.client_bits.arg()),
                self.client_bits.valid(true),
                "client bits",
            );
            let level = i32::from(self.level % 12);
            setter(
                pmd_config_set_compress_level(cfg, level),
                (-1..=9).contains(&level),
                "level",
            );
            let mem = i32::from(self.mem_level % 11);
            setter(pmd_config_set_mem_level(cfg, mem), (1..=9).contains(&mem), "mem level");
            let strategy = i32::from(self.strategy % 6);
            setter(
                pmd_config_set_strategy(cfg, strategy),
                (0..=4).contains(&strategy),
                "strategy",
            );
            setter(pmd_config_set_require(cfg, self.require), true, "require");
            setter(
                pmd_config_set_require_client_max_window_bits(cfg, self.require_client_bits),
                true,
                "require client bits",
            );
            if let Some(m) = self.max_message {
                setter(pmd_config_set_max_message_size(cfg, m as usize), true, "max message");
            }
            setter(
                pmd_config_set_strict_window(cfg, self.strict_window),
                true,
                "strict window",
            );
            setter(
                pmd_config_set_compress_threshold(cfg, usize::from(self.threshold)),
                true,
                "threshold",
            );
        }
        cfg
    }

    /// The same configuration built with the core's own setters (a setter
    /// that refuses a value leaves the field as it was, as in C).
    pub fn core(&self) -> pmdeflate::Config {
        let mut c = pmdeflate::Config {
            server_no_context_takeover: self.server_nct,
            client_no_context_takeover: self.client_nct,
            require: self.require,
            require_client_max_window_bits: self.require_client_bits,
            strict_window: self.strict_window,
            compress_threshold: usize::from(self.threshold),
            ..Default::default()
        };
        let _ = c.set_server_max_window_bits(self.server_bits.arg());
        let _ = c.set_client_max_window_bits(self.client_bits.arg());
        let _ = c.set_compress_level(i32::from(self.level % 12));
        let _ = c.set_mem_level(i32::from(self.mem_level % 11));
        let _ = c.set_strategy(i32::from(self.strategy % 6));
        if let Some(m) = self.max_message {
            c.max_message_size = m as usize;
        }
        c
    }
}

/// An empty frame to be filled by the library.
pub fn blank() -> pmd_frame {
    pmd_frame {
        opcode: 0xff,
        fin: false,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        data: std::ptr::null(),
        len: 0,
    }
}

pub fn frame(opcode: u8, fin: bool, rsv1: bool, data: &[u8]) -> pmd_frame {
    pmd_frame {
        opcode,
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        data: data.as_ptr(),
        len: data.len(),
    }
}

/// The payload of a frame the library returned, copied out.
pub fn payload(f: &pmd_frame) -> Vec<u8> {
    if f.len == 0 {
        return Vec::new();
    }
    assert!(!f.data.is_null(), "a frame with len {} and NULL data", f.len);
    // SAFETY: the library guarantees data points at len readable bytes
    // until the next call on the same side.
    unsafe { std::slice::from_raw_parts(f.data, f.len) }.to_vec()
}

/// Splits `msg` into pieces at the given cut fractions (each cut is a
/// byte of the fuzzer's choice, scaled to the message length).
pub fn split<'a>(msg: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|&c| usize::from(c) * msg.len() / 255).collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for a in at {
        out.push(&msg[start..a]);
        start = a;
    }
    out.push(&msg[start..]);
    out
}

/// A result the documentation lists for pmd_extension_decode, given
/// whether the host passed a NULL pointer (it never does here).
pub fn is_decode_result(r: pmd_result) -> bool {
    matches!(
        r,
        PMD_OK
            | PMD_ERR_PROTOCOL
            | PMD_ERR_PAYLOAD_TOO_BIG
            | PMD_ERR_CORRUPT_DATA
            | PMD_ERR_OUT_OF_MEMORY
            | PMD_ERR_INVALID_ARGUMENT
    )
}

/// A token of the fuzzer's bytes: non-token bytes are mapped onto tchars,
/// and an empty one becomes "x".
pub fn tokenize(raw: &[u8]) -> Vec<u8> {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut t: Vec<u8> = raw
        .iter()
        .map(|&b| {
            if pmdeflate::header::is_tchar(b) {
                b
            } else {
                TCHAR[usize::from(b) % TCHAR.len()]
            }
        })
        .collect();
    if t.is_empty() {
        t.push(b'x');
    }
    t
}

/// A parameter drawn mostly from permessage-deflate's vocabulary, so that
/// the fuzzer reaches the negotiation rules rather than only the grammar.
#[derive(Arbitrary, Debug, Clone)]
pub struct ParamSpec {
    pub name: ParamName,
    pub value: ParamValue,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum ParamName {
    ServerNct,
    ClientNct,
    ServerBits,
    ClientBits,
    Other(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum ParamValue {
    None,
    Bits(u8),
    Other(Vec<u8>),
}

impl ParamSpec {
    pub fn name(&self) -> Vec<u8> {
        match &self.name {
            ParamName::ServerNct => b"server_no_context_takeover".to_vec(),
            ParamName::ClientNct => b"client_no_context_takeover".to_vec(),
            ParamName::ServerBits => b"server_max_window_bits".to_vec(),
            ParamName::ClientBits => b"client_max_window_bits".to_vec(),
            ParamName::Other(raw) => tokenize(raw),
        }
    }
    pub fn value(&self) -> Option<Vec<u8>> {
        match &self.value {
            ParamValue::None => None,
            // Mostly 8..15, sometimes just outside.
            ParamValue::Bits(b) => Some((6 + u32::from(b % 12)).to_string().into_bytes()),
            ParamValue::Other(raw) => Some(tokenize(raw)),
        }
    }
}

/// Owned (name, value) pairs and their C view.
pub struct Params {
    owned: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Params {
    pub fn new(specs: &[ParamSpec]) -> Params {
        Params {
            owned: specs.iter().take(32).map(|p| (p.name(), p.value())).collect(),
        }
    }
    pub fn c(&self) -> Vec<pmdeflate::ffi::header::pmd_param> {
        self.owned
            .iter()
            .map(|(n, v)| pmdeflate::ffi::header::pmd_param {
                name: n.as_ptr().cast(),
                name_len: n.len(),
                value: v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr().cast()),
                value_len: v.as_ref().map_or(0, Vec::len),
            })
            .collect()
    }
    /// "name; p; p=v" as a header element.
    pub fn element(&self, name: &[u8]) -> Vec<u8> {
        let mut out = name.to_vec();
        for (n, v) in &self.owned {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(n);
            if let Some(v) = v {
                out.push(b'=');
                out.extend_from_slice(v);
            }
        }
        out
    }
}

/// One element of a fuzzer-built header: permessage-deflate (most of the
/// time) or another extension's name, with parameters.
#[derive(Arbitrary, Debug, Clone)]
pub struct ElementSpec {
    pub other_name: Option<Vec<u8>>,
    pub params: Vec<ParamSpec>,
}

pub fn header_of(elements: &[ElementSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, e) in elements.iter().take(16).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        let name = e
            .other_name
            .as_ref()
            .map_or(b"permessage-deflate".to_vec(), |n| tokenize(n));
        out.extend_from_slice(&Params::new(&e.params).element(&name));
    }
    out
}

/// What an extension agreed, read through pmd_extension_negotiated.
pub fn negotiated(ext: *const pmdeflate::ffi::extension::pmd_extension) -> pmdeflate::ffi::extension::pmd_negotiated {
    let mut n = pmdeflate::ffi::extension::pmd_negotiated {
        remote_no_context_takeover: false,
        local_no_context_takeover: false,
        remote_max_window_bits: 0,
        local_max_window_bits: 0,
    };
    // SAFETY: ext is a live extension; n is a local.
    assert_eq!(
        unsafe { pmdeflate::ffi::extension::pmd_extension_negotiated(ext, &mut n) },
        PMD_OK
    );
    assert!((8..=15).contains(&n.remote_max_window_bits) && (8..=15).contains(&n.local_max_window_bits));
    n
}

/// Sends `msg` from `tx` to `rx` as one compressed message cut at `cuts`,
/// through the C ABI, and checks it arrives byte for byte.
pub fn send(
    tx: *mut pmdeflate::ffi::extension::pmd_extension,
    rx: *mut pmdeflate::ffi::extension::pmd_extension,
    opcode: u8,
    msg: &[u8],
    cuts: &[u8],
) {
    use pmdeflate::ffi::extension::{pmd_extension_decode, pmd_extension_encode};
    let pieces = split(msg, cuts);
    let mut got = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let op = if i == 0 { opcode } else { 0 };
        let fin = i + 1 == pieces.len();
        let inf = frame(op, fin, false, piece);
        let mut enc = blank();
        // SAFETY: tx is live; the frames are locals with valid data.
        assert_eq!(unsafe { pmd_extension_encode(tx, &inf, &mut enc) }, PMD_OK, "encode");
        assert_eq!((enc.opcode, enc.fin), (op, fin));
        let wire = payload(&enc);
        let mut dec = blank();
        let inf = pmd_frame {
            data: wire.as_ptr(),
            len: wire.len(),
            ..enc
        };
        // SAFETY: as above.
        let r = unsafe { pmd_extension_decode(rx, &inf, usize::MAX, &mut dec) };
        assert_eq!(r, PMD_OK, "decode: {}", last_error());
        assert!(!dec.rsv1, "RSV1 cleared on output");
        got.extend_from_slice(&payload(&dec));
    }
    assert!(
        got == msg,
        "a message of {} bytes came back as {} different bytes",
        msg.len(),
        got.len()
    );
}

pub fn last_error() -> String {
    // SAFETY: pmd_last_error never returns NULL and the string lives until
    // the next failing call on this thread.
    unsafe { std::ffi::CStr::from_ptr(pmdeflate::ffi::pmd_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// The hand-readable seed format (tests/fuzz/make-seeds.py writes it): a
/// file starting with this line holds a target-specific text after it,
/// which the target turns into its input; any other file is read with
/// `arbitrary`. It lets the committed corpus hold exact hostile cases
/// (RFC 7692 examples, bombs, bad headers) that a byte layout chosen by
/// `arbitrary` could not express by hand.
pub const SEED_MAGIC: &[u8] = b"#pmd-seed\n";

pub fn seed_text(data: &[u8]) -> Option<&[u8]> {
    data.strip_prefix(SEED_MAGIC)
}

/// The input a target runs: a text seed if `data` is one, else whatever
/// `arbitrary` makes of the bytes.
pub fn input_of<'a, T: Arbitrary<'a>>(data: &'a [u8], seed: impl FnOnce(&'a [u8]) -> Option<T>) -> Option<T> {
    match seed_text(data) {
        // A seed the fuzzer mutated into nonsense is skipped.
        Some(text) => seed(text),
        None => T::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok(),
    }
}

/// Decodes hex digits, ignoring anything else.
pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter_map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0))
        .collect()
}

impl CfgSpec {
    /// websockets' defaults: no parameter set, default compression.
    pub fn defaults() -> CfgSpec {
        CfgSpec {
            server_nct: false,
            client_nct: false,
            server_bits: WindowBits::Unset,
            client_bits: WindowBits::Unset,
            level: -1,
            mem_level: 8,
            strategy: 0,
            require: false,
            require_client_bits: false,
            max_message: None,
            strict_window: false,
            threshold: 0,
        }
    }

    /// Applies "name=value" settings, space separated, e.g.
    /// "server_nct client_bits=-1 server_bits=10 max=1000 strict".
    pub fn with(mut self, settings: &str) -> Option<CfgSpec> {
        for s in settings.split_whitespace() {
            let (k, v) = s.split_once('=').unwrap_or((s, "1"));
            let n: i32 = v.parse().ok()?;
            let bits = |n: i32| match n {
                0 => WindowBits::Unset,
                -1 => WindowBits::NoValue,
                8..=15 => WindowBits::Bits((n - 8) as u8),
                _ => WindowBits::Raw(n),
            };
            match k {
                "server_nct" => self.server_nct = n != 0,
                "client_nct" => self.client_nct = n != 0,
                "server_bits" => self.server_bits = bits(n),
                "client_bits" => self.client_bits = bits(n),
                "level" => self.level = n as i8,
                "mem_level" => self.mem_level = n as i8,
                "strategy" => self.strategy = n as i8,
                "require" => self.require = n != 0,
                "require_client_bits" => self.require_client_bits = n != 0,
                "max" => self.max_message = Some(n as u32),
                "strict" => self.strict_window = n != 0,
                "threshold" => self.threshold = n as u8,
                _ => return None,
            }
        }
        Some(self)
    }
}

/// Splits a seed text into its first line and the rest.
pub fn first_line(text: &[u8]) -> (String, &[u8]) {
    let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let rest = text.get(end + 1..).unwrap_or(&[]);
    (String::from_utf8_lossy(&text[..end]).into_owned(), rest)
}
