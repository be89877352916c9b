//! Helpers shared by the integration tests: a small deterministic PRNG
//! (no rand crate), message generators, thin wrappers that copy the
//! frames an `PerMessageDeflate` returns so that tests can keep them, and the
//! parameter helpers of the negotiation tests.
#![allow(dead_code)]

use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_CONT, OP_TEXT};
use pmdeflate::header::ParamRef;
use pmdeflate::{Agreed, Config, Error, Frame, PerMessageDeflate};

/// xorshift64*: deterministic, fast, good enough to make test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Never zero, or xorshift stays at zero forever.
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Text that compresses like chat or JSON: words from a small
    /// vocabulary, punctuation, numbers and line breaks.
    pub fn text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: [&str; 24] = [
            "the",
            "message",
            "deflate",
            "window",
            "context",
            "takeover",
            "frame",
            "\"id\":",
            "{\"type\":",
            "\"text\"}",
            "server",
            "client",
            "socket",
            "payload",
            "and",
            "of",
            "a",
            "to",
            "zlib",
            "bits",
            "permessage",
            "continuation",
            "RSV1",
            "hello",
        ];
        let mut out = Vec::with_capacity(len + 32);
        while out.len() < len {
            match self.below(10) {
                0 => out.extend_from_slice(self.below(100_000).to_string().as_bytes()),
                1 => out.push(b'\n'),
                2 => out.extend_from_slice(b", "),
                _ => out.extend_from_slice(WORDS[self.below(WORDS.len())].as_bytes()),
            }
            out.push(b' ');
        }
        out.truncate(len);
        out
    }
}

pub fn frame(opcode: u8, fin: bool, rsv1: bool, data: &[u8]) -> Frame<'_> {
    Frame {
        opcode,
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        data,
    }
}

pub fn agreed(remote_nct: bool, local_nct: bool, remote_bits: u8, local_bits: u8) -> Agreed {
    Agreed {
        remote_no_context_takeover: remote_nct,
        local_no_context_takeover: local_nct,
        remote_max_window_bits: remote_bits,
        local_max_window_bits: local_bits,
    }
}

/// What the peer sees: remote and local swapped.
pub fn mirror(a: &Agreed) -> Agreed {
    agreed(
        a.local_no_context_takeover,
        a.remote_no_context_takeover,
        a.local_max_window_bits,
        a.remote_max_window_bits,
    )
}

/// A connected pair: the first extension's agreement as given, the second's
/// mirrored, both compressing with `settings`.
pub fn pair(a: Agreed, settings: &CompressSettings) -> (PerMessageDeflate, PerMessageDeflate) {
    (
        PerMessageDeflate::new(a, settings).unwrap(),
        PerMessageDeflate::new(mirror(&a), settings).unwrap(),
    )
}

pub fn default_ext() -> PerMessageDeflate {
    PerMessageDeflate::new(agreed(false, false, 15, 15), &CompressSettings::default()).unwrap()
}

/// An owned copy of a frame, for keeping encoder output between calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub opcode: u8,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub data: Vec<u8>,
}

impl Owned {
    pub fn of(f: &Frame<'_>) -> Owned {
        Owned {
            opcode: f.opcode,
            fin: f.fin,
            rsv1: f.rsv1,
            rsv2: f.rsv2,
            rsv3: f.rsv3,
            data: f.data.to_vec(),
        }
    }

    pub fn as_frame(&self) -> Frame<'_> {
        Frame {
            opcode: self.opcode,
            fin: self.fin,
            rsv1: self.rsv1,
            rsv2: self.rsv2,
            rsv3: self.rsv3,
            data: &self.data,
        }
    }
}

/// Cuts `data` at the given sorted positions into consecutive pieces
/// (empty pieces allowed).
pub fn cut<'a>(data: &'a [u8], at: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for &p in at {
        assert!(p >= start && p <= data.len(), "bad cut {p}");
        pieces.push(&data[start..p]);
        start = p;
    }
    pieces.push(&data[start..]);
    pieces
}

/// Encodes one message sent as the given fragments (at least one) and
/// checks the per-frame encoding rules of docs/frames.md on the way.
pub fn encode_fragments(ext: &mut PerMessageDeflate, opcode: u8, fragments: &[&[u8]]) -> Vec<Owned> {
    assert!(!fragments.is_empty());
    let mut out = Vec::with_capacity(fragments.len());
    for (i, piece) in fragments.iter().enumerate() {
        let first = i == 0;
        let fin = i + 1 == fragments.len();
        let op = if first { opcode } else { OP_CONT };
        let f = ext
            .encode(&frame(op, fin, false, piece))
            .unwrap_or_else(|e| panic!("encode frame {i}: {e:?}"));
        assert_eq!(f.opcode, op, "opcode carried over");
        assert_eq!(f.fin, fin, "FIN carried over");
        assert_eq!(f.rsv1, first, "RSV1 only on the first frame");
        assert!(!f.rsv2 && !f.rsv3);
        if !fin {
            // Sync-flushed, so decodable on arrival (an empty fragment may
            // have nothing to flush).
            assert!(
                f.data.is_empty() || f.data.ends_with(&[0, 0, 0xff, 0xff]),
                "frame {i} not sync-flushed"
            );
        }
        out.push(Owned::of(&f));
    }
    out
}

pub fn encode_message(ext: &mut PerMessageDeflate, opcode: u8, data: &[u8]) -> Vec<Owned> {
    encode_fragments(ext, opcode, &[data])
}

/// Decodes every frame of a message, returning the concatenated payload.
pub fn decode_frames(ext: &mut PerMessageDeflate, frames: &[Owned], max_size: usize) -> Result<Vec<u8>, Error> {
    let mut msg = Vec::new();
    for f in frames {
        let out = ext.decode(&f.as_frame(), max_size)?;
        assert!(!out.rsv1, "decoded frames have RSV1 cleared");
        assert_eq!((out.opcode, out.fin), (f.opcode, f.fin));
        msg.extend_from_slice(out.data);
    }
    Ok(msg)
}

/// The whole compressed message as one payload (what a sender that does
/// not fragment would have produced).
pub fn joined(frames: &[Owned]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.data.iter().copied()).collect()
}

/// Re-splits one compressed message payload into frames at `at`.
pub fn resplit(payload: &[u8], at: &[usize], opcode: u8) -> Vec<Owned> {
    let pieces = cut(payload, at);
    let n = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| Owned {
            opcode: if i == 0 { opcode } else { OP_CONT },
            fin: i + 1 == n,
            rsv1: i == 0,
            rsv2: false,
            rsv3: false,
            data: p.to_vec(),
        })
        .collect()
}

/// Compresses a text message with a fresh default extension and returns
/// the single frame's payload.
pub fn compress_once(data: &[u8]) -> Vec<u8> {
    let mut ext = default_ext();
    encode_message(&mut ext, OP_TEXT, data).remove(0).data
}

// ------------------------------------------------------ negotiation helpers

pub const SNCT: &str = "server_no_context_takeover";
pub const CNCT: &str = "client_no_context_takeover";
pub const SMWB: &str = "server_max_window_bits";
pub const CMWB: &str = "client_max_window_bits";

/// One element's parameters as owned strings (so that tests can build them
/// in loops); `refs` gives their borrowed view.
pub type Params = Vec<(String, Option<String>)>;

pub fn refs(params: &[(String, Option<String>)]) -> Vec<ParamRef<'_>> {
    params
        .iter()
        .map(|(n, v)| ParamRef {
            name: n.as_bytes(),
            value: v.as_deref().map(str::as_bytes),
        })
        .collect()
}

/// A config from the C setter arguments (window bits: 0 = unset, -1 = no
/// value, 8..15).
pub fn cfg(snct: bool, cnct: bool, sbits: i32, cbits: i32) -> Config {
    let mut c = Config {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        ..Config::default()
    };
    c.set_server_max_window_bits(sbits).unwrap();
    c.set_client_max_window_bits(cbits).unwrap();
    c
}
