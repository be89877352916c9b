//! The encoder's bytes are zlib's fed as the reference feeds it: a frame's
//! whole payload with `Z_NO_FLUSH` (Python's `compress()`), then
//! `Z_SYNC_FLUSH` (`flush()`), with output space that never runs out, so
//! that zlib completes the flush in one call. Issue #8: when a flush filled
//! the encoder's buffer exactly, zlib wrote the empty stored block again on
//! the next call.
//!
//! Checked for every frame payload size within 16 bytes of 4096 x 2^k up to
//! 1 MiB, fin and not fin, window bits 9..15, random and compressible data,
//! each frame from a fresh extension with the default settings. A fin
//! frame's payload is the flushed output less its `00 00 ff ff` tail, so the
//! sweep makes flushed outputs of every size from 16 below to 20 above each
//! boundary.
//!
//! Finding an input for each size means trying many input lengths. To keep
//! that quick, zlib answers from a copy of a stream that has already taken
//! the common part of the input (at levels 1-9 deflate's output does not
//! depend on how its input is split between `Z_NO_FLUSH` calls); every
//! frame checked is compared with that answer, and for every window, kind
//! and boundary the answer is also compared once with a fresh stream fed
//! the whole input, as the reference feeds it.

mod common;

use std::collections::BTreeSet;
use std::ffi::{c_int, c_uint, c_void};

use common::{agreed, frame, Rng};
use libz_sys as z;
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::OP_BINARY;
use pmdeflate::PerMessageDeflate;

const AROUND: usize = 16;
const TAIL: usize = 4;
const BOUNDARIES: [usize; 9] = [
    4096,
    4096 << 1,
    4096 << 2,
    4096 << 3,
    4096 << 4,
    4096 << 5,
    4096 << 6,
    4096 << 7,
    4096 << 8,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Random,
    /// Random 64-byte chunks, every fourth a copy of the one before it
    /// (distance 64, within even a 9-bit window's reach; about 1.3 to 1),
    /// then random bytes, so that near the boundary each byte of input
    /// adds about one of output.
    Compressible,
}

/// Bytes of one kind for a sweep around `boundary`, after `zeros` zero
/// bytes: a run that costs a few bytes of output and moves where zlib's
/// blocks end relative to the output size, to reach sizes the plain data
/// skips.
fn stream(kind: Kind, seed: u64, zeros: usize, boundary: usize) -> Vec<u8> {
    let len = zeros + boundary * 3 / 2 + 8192;
    let mut rng = Rng::new(seed);
    let mut out = vec![0u8; zeros];
    if kind == Kind::Compressible {
        // Its output ends well before the boundary.
        let body = (boundary - boundary / 32 - 1024) * 5 / 4;
        let mut i = 0;
        while out.len() < zeros + body {
            if i % 4 == 3 {
                out.extend_from_within(out.len() - 64..);
            } else {
                out.extend_from_slice(&rng.bytes(64));
            }
            i += 1;
        }
        out.truncate(zeros + body);
    }
    let rest = len - out.len();
    out.extend_from_slice(&rng.bytes(rest));
    out
}

// ------------------------------------------------------------ zlib itself

unsafe extern "C" fn zlib_alloc(_: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    // SAFETY: calloc with zlib's arguments; NULL is passed back to zlib.
    unsafe { libc::calloc(items as usize, size as usize) }
}

unsafe extern "C" fn zlib_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: p came from zlib_alloc.
    unsafe { libc::free(p) }
}

fn blank_stream() -> Box<z::z_stream> {
    Box::new(z::z_stream {
        next_in: std::ptr::null_mut(),
        avail_in: 0,
        total_in: 0,
        next_out: std::ptr::null_mut(),
        avail_out: 0,
        total_out: 0,
        msg: std::ptr::null_mut(),
        state: std::ptr::null_mut(),
        zalloc: zlib_alloc,
        zfree: zlib_free,
        opaque: std::ptr::null_mut(),
        data_type: 0,
        adler: 0,
        reserved: 0,
    })
}

/// A raw deflate stream with the extension's default settings.
struct Deflate {
    strm: Box<z::z_stream>,
}

impl Deflate {
    fn new(window_bits: u8) -> Deflate {
        let s = CompressSettings::default();
        let mut strm = blank_stream();
        // SAFETY: a boxed z_stream with allocators set; version and size
        // describe the linked zlib.
        let ret = unsafe {
            z::deflateInit2_(
                &mut *strm,
                s.level,
                z::Z_DEFLATED,
                -c_int::from(window_bits),
                s.mem_level,
                s.strategy,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        assert_eq!(ret, z::Z_OK);
        Deflate { strm }
    }

    fn copy(&self) -> Deflate {
        let mut strm = blank_stream();
        let source = &*self.strm as *const z::z_stream as z::z_streamp;
        // SAFETY: source is an initialised stream, not in use by any call;
        // deflateCopy only reads it and fills the new boxed stream.
        assert_eq!(unsafe { z::deflateCopy(&mut *strm, source) }, z::Z_OK);
        Deflate { strm }
    }

    /// One deflate call with `flush`, appending to `out` and given far
    /// more room than it can use, so that it never stops for lack of it.
    fn feed(&mut self, data: &[u8], flush: c_int, out: &mut Vec<u8>) {
        let strm = &mut *self.strm;
        // What the stream can still write for all its input, and then some.
        let total = strm.total_in as usize + data.len();
        // SAFETY: deflateBound only reads the stream's settings.
        let bound = unsafe { z::deflateBound(strm, total as z::uLong) } as usize;
        let room = bound - strm.total_out as usize + 1024;
        out.reserve(room);
        strm.next_in = data.as_ptr() as *mut u8;
        strm.avail_in = data.len() as c_uint;
        // SAFETY: out has `room` bytes of spare capacity after its length.
        strm.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
        strm.avail_out = room as c_uint;
        // SAFETY: next_in and next_out describe live buffers of avail_in
        // and avail_out bytes.
        let ret = unsafe { z::deflate(strm, flush) };
        assert!(ret == z::Z_OK || ret == z::Z_BUF_ERROR, "deflate returned {ret}");
        assert_eq!(strm.avail_in, 0);
        assert!(strm.avail_out > 64, "zlib's output space ran short");
        let written = room - strm.avail_out as usize;
        // SAFETY: zlib initialised `written` bytes after the length.
        unsafe { out.set_len(out.len() + written) };
        strm.next_in = std::ptr::null_mut();
        strm.next_out = std::ptr::null_mut();
    }
}

impl Drop for Deflate {
    fn drop(&mut self) {
        // SAFETY: initialised by deflateInit2_ or deflateCopy, ended once.
        unsafe { z::deflateEnd(&mut *self.strm) };
    }
}

/// zlib fed as the reference feeds it: a fresh stream, all of `data` with
/// Z_NO_FLUSH, then Z_SYNC_FLUSH.
fn reference(window_bits: u8, data: &[u8]) -> Vec<u8> {
    let mut d = Deflate::new(window_bits);
    let mut out = Vec::new();
    d.feed(data, z::Z_NO_FLUSH, &mut out);
    d.feed(&[], z::Z_SYNC_FLUSH, &mut out);
    out
}

/// A stream that has taken `data[..at]` with Z_NO_FLUSH, and what it wrote.
struct Prefix {
    deflate: Deflate,
    out: Vec<u8>,
    at: usize,
}

impl Prefix {
    fn new(window_bits: u8, data: &[u8], at: usize) -> Prefix {
        let mut deflate = Deflate::new(window_bits);
        let mut out = Vec::new();
        deflate.feed(&data[..at], z::Z_NO_FLUSH, &mut out);
        Prefix { deflate, out, at }
    }

    /// `reference(data[..n])`, from a copy of the stream.
    fn flushed(&self, data: &[u8], n: usize) -> Vec<u8> {
        let mut d = self.deflate.copy();
        let mut out = self.out.clone();
        d.feed(&data[self.at..n], z::Z_NO_FLUSH, &mut out);
        d.feed(&[], z::Z_SYNC_FLUSH, &mut out);
        out
    }
}

// ------------------------------------------------------------- the sweep

/// One frame's payload from a fresh extension compressing with
/// `window_bits`.
fn encode(window_bits: u8, data: &[u8], fin: bool) -> Vec<u8> {
    let mut ext = PerMessageDeflate::new(agreed(false, false, 15, window_bits), &CompressSettings::default()).unwrap();
    ext.encode(&frame(OP_BINARY, fin, false, data)).unwrap().data.to_vec()
}

fn describe(got: &[u8], want: &[u8]) -> String {
    let tail = |b: &[u8]| -> String {
        b[b.len().saturating_sub(12)..]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "got {} bytes ending {}, zlib gives {} ending {}",
        got.len(),
        tail(got),
        want.len(),
        tail(want)
    )
}

/// One window and kind around one boundary.
struct Sweep<'a> {
    window_bits: u8,
    kind: Kind,
    boundary: usize,
    /// Flushed sizes not reached yet.
    missing: BTreeSet<usize>,
    prefix: Option<Prefix>,
    /// The shortcut was compared with `reference`.
    validated: bool,
    frames: usize,
    failures: &'a mut Vec<String>,
}

impl Sweep<'_> {
    /// zlib's flushed output for `data[..n]`; the first time it has a size
    /// in the range, the encoder's frames for that input are compared with
    /// it. Returns the size.
    fn probe(&mut self, data: &[u8], n: usize) -> usize {
        let w = self.window_bits;
        let prefix = match self.prefix.take() {
            Some(p) if p.at <= n && n - p.at <= 64 * 1024 => p,
            _ => Prefix::new(w, data, n.saturating_sub(n / 64 + 1024)),
        };
        let want = prefix.flushed(data, n);
        self.prefix = Some(prefix);
        if !self.missing.remove(&want.len()) {
            return want.len();
        }
        let input = &data[..n];
        let kind = self.kind;
        if !self.validated && want.len() == self.boundary {
            assert!(
                reference(w, input) == want,
                "w{w} {kind:?} input {n}: a copied stream and a fresh one differ"
            );
            self.validated = true;
        }
        assert!(want.ends_with(&[0, 0, 0xff, 0xff]));
        // Payloads of not-fin frames are the whole output; of fin frames,
        // four bytes less: each within AROUND of the boundary.
        if want.len() <= self.boundary + AROUND {
            self.frames += 1;
            let got = encode(w, input, false);
            if got != want {
                self.failures
                    .push(format!("w{w} {kind:?} input {n}, not fin: {}", describe(&got, &want)));
            }
        }
        if want.len() >= self.boundary - AROUND + TAIL {
            self.frames += 1;
            let got = encode(w, input, true);
            let want = &want[..want.len() - TAIL];
            if got != want {
                self.failures
                    .push(format!("w{w} {kind:?} input {n}, fin: {}", describe(&got, want)));
            }
        }
        want.len()
    }

    /// Looks for a length of `data` whose flushed size is `target`, moving
    /// by the difference (near the end each input byte adds about one);
    /// returns the last length and size probed.
    fn reach(&mut self, data: &[u8], mut n: usize, target: usize, tries: usize) -> (usize, usize) {
        let mut size = self.probe(data, n);
        for _ in 1..tries {
            if size == target {
                break;
            }
            n = n.checked_add_signed(target as isize - size as isize).unwrap();
            size = self.probe(data, n);
        }
        (n, size)
    }
}

/// Sweeps input lengths until zlib's flushed output has taken every size
/// from `boundary - AROUND` to `boundary + AROUND + TAIL`, checking the
/// encoder's frames at each. Returns the frames checked.
fn sweep(window_bits: u8, kind: Kind, boundary: usize, failures: &mut Vec<String>) -> usize {
    let (lo, hi) = (boundary - AROUND, boundary + AROUND + TAIL);
    let mut s = Sweep {
        window_bits,
        kind,
        boundary,
        missing: (lo..=hi).collect(),
        prefix: None,
        validated: false,
        frames: 0,
        failures,
    };
    let seed =
        |variant: u64| (u64::from(window_bits) << 48) ^ ((boundary as u64) << 8) ^ ((kind as u64) << 60) ^ variant;
    // Plain data: close in below the range, then walk through it a byte at
    // a time.
    let data = stream(kind, seed(0), 0, boundary);
    let guess = if kind == Kind::Random { lo } else { lo + lo / 4 };
    let (mut n, mut size) = s.reach(&data, guess, lo - 6, 12);
    assert!(size < lo, "w{window_bits} {kind:?}: no input gave less than {lo} bytes");
    while size <= hi {
        n += 1;
        size = s.probe(&data, n);
    }
    // Sizes skipped (the output grew by two bytes, or by a block header):
    // aim at each with zero runs of other lengths in front.
    let start = n - (size - lo);
    for variant in 1u64..=64 {
        let Some(&target) = s.missing.first() else { break };
        let zeros = 3 * variant as usize;
        let data = stream(kind, seed(variant), zeros, boundary);
        s.prefix = None;
        s.reach(&data, start + zeros + (target - lo), target, 6);
    }
    assert!(
        s.missing.is_empty(),
        "w{window_bits} {kind:?}: no input gave flushed sizes {:?}",
        s.missing
    );
    assert!(s.validated);
    s.frames
}

fn check_window(window_bits: u8) {
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut frames = 0;
    for kind in [Kind::Random, Kind::Compressible] {
        for boundary in BOUNDARIES {
            frames += sweep(window_bits, kind, boundary, &mut failures);
        }
    }
    println!(
        "window bits {window_bits}: {frames} frames (payloads within {AROUND} bytes of 4 KiB..1 MiB, fin and not fin, \
         random and compressible) in {:.1?}",
        started.elapsed()
    );
    // Per kind and boundary, 2 x AROUND + 1 payload sizes, fin and not fin.
    assert_eq!(frames, 2 * BOUNDARIES.len() * 2 * (2 * AROUND + 1));
    assert!(
        failures.is_empty(),
        "{} frames differ from zlib's:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn window_bits_9() {
    check_window(9);
}

#[test]
fn window_bits_10() {
    check_window(10);
}

#[test]
fn window_bits_11() {
    check_window(11);
}

#[test]
fn window_bits_12() {
    check_window(12);
}

#[test]
fn window_bits_13() {
    check_window(13);
}

#[test]
fn window_bits_14() {
    check_window(14);
}

#[test]
fn window_bits_15() {
    check_window(15);
}
