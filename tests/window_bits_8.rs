//! docs/window-bits-8.md: an agreed window of 8 bits works on both sides. The
//! compressing side (zlib's 9 underneath) never reaches further back than a
//! 256-byte window allows, so everything it sends inflates with a raw -8
//! window: checked on 200 random and text messages up to 200 KB, with and
//! without context takeover, at several levels, whole and fragmented, and
//! through a real negotiation that agrees 8 both ways. Each message is also
//! inflated by a strict raw -8 inflater written here on zlib directly.

mod common;

use pmdeflate::limit::NO_LIMIT;
use std::ffi::{c_int, c_uint, c_void};

use common::{agreed, cut, decode_frames, encode_fragments, pair, Rng};
use libz_sys as z;
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_TEXT};
use pmdeflate::negotiate::{client_accept, server_negotiate};
use pmdeflate::{Config, PerMessageDeflate};

const MAX: usize = 200_000;

/// 200 messages, half text-like and half random, sizes spread up to
/// 200 KB with a few at the top.
fn messages(seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..200)
        .map(|i| {
            let n = match i % 5 {
                0 => MAX - rng.below(1000),
                1 => rng.below(300),
                2 => rng.below(5000),
                _ => rng.below(MAX + 1),
            };
            if i % 2 == 0 {
                rng.text(n)
            } else {
                // Random bytes with some repeats, so that matches at every
                // distance are possible.
                let mut m = rng.bytes(n);
                for _ in 0..n / 500 {
                    let len = 3 + rng.below(300);
                    let from = rng.below(n.max(1));
                    let to = rng.below(n.max(1));
                    for k in 0..len {
                        if from + k < n && to + k < n {
                            m[to + k] = m[from + k];
                        }
                    }
                }
                m
            }
        })
        .collect()
}

/// An independent, strict raw inflater with a -8 window, straight on zlib.
/// zlib checks a distance against the window plus what the *current* call
/// has written, so the library's own decoder (large output chunks) cannot
/// prove that no distance exceeds 256. Here every call may write one byte:
/// a match's distance is then checked against the 256-byte window alone
/// and anything further back is "invalid distance too far back".
struct StrictInflate8 {
    strm: Box<z::z_stream>,
}

unsafe extern "C" fn strict_alloc(_: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    // SAFETY: calloc with zlib's arguments; NULL is passed back to zlib.
    unsafe { libc::calloc(items as usize, size as usize) }
}

unsafe extern "C" fn strict_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: p came from strict_alloc.
    unsafe { libc::free(p) }
}

impl StrictInflate8 {
    fn new() -> StrictInflate8 {
        let mut strm = Box::new(z::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc: strict_alloc,
            zfree: strict_free,
            opaque: std::ptr::null_mut(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        });
        // SAFETY: a boxed z_stream with allocators set; version and size
        // describe the linked zlib.
        let ret = unsafe {
            z::inflateInit2_(
                &mut *strm,
                -8,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        assert_eq!(ret, z::Z_OK);
        StrictInflate8 { strm }
    }

    /// Inflates one message's payload plus the 00 00 ff ff tail.
    fn message(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let input = [payload, &[0x00, 0x00, 0xff, 0xff][..]].concat();
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        let strm = &mut *self.strm;
        strm.next_in = input.as_ptr() as *mut u8;
        strm.avail_in = input.len() as c_uint;
        loop {
            strm.next_out = byte.as_mut_ptr();
            strm.avail_out = 1;
            // SAFETY: next_in/next_out describe live buffers of the given sizes.
            let ret = unsafe { z::inflate(strm, z::Z_SYNC_FLUSH) };
            if strm.avail_out == 0 {
                out.push(byte[0]);
            }
            match ret {
                z::Z_OK if strm.avail_in == 0 && strm.avail_out == 1 => break,
                z::Z_OK => {}
                z::Z_BUF_ERROR if strm.avail_in == 0 => break,
                _ => {
                    let msg = if strm.msg.is_null() {
                        format!("code {ret}")
                    } else {
                        // SAFETY: zlib's messages are static C strings.
                        unsafe { std::ffi::CStr::from_ptr(strm.msg) }
                            .to_string_lossy()
                            .into_owned()
                    };
                    return Err(msg);
                }
            }
        }
        strm.next_in = std::ptr::null_mut();
        strm.next_out = std::ptr::null_mut();
        Ok(out)
    }
}

impl Drop for StrictInflate8 {
    fn drop(&mut self) {
        // SAFETY: initialised in new, ended once.
        unsafe { z::inflateEnd(&mut *self.strm) };
    }
}

#[test]
fn the_strict_inflater_catches_a_distance_of_257() {
    // 257 random bytes, then the first 200 again: a match 257 back.
    let mut rng = Rng::new(7);
    let head = rng.bytes(257);
    let msg = [head.clone(), head[..200].to_vec()].concat();
    let mut tx = PerMessageDeflate::new(agreed(false, false, 15, 15), &CompressSettings::default()).unwrap();
    let payload = encode_fragments(&mut tx, OP_BINARY, &[&msg]).remove(0).data;
    assert!(payload.len() < 300, "the repeat is a match: {}", payload.len());
    let err = StrictInflate8::new().message(&payload).unwrap_err();
    assert!(err.contains("too far back"), "{err}");
}

/// Sends every message from an 8-bit compressor to an 8-bit decompressor.
fn check(a_sender_local_nct: bool, settings: CompressSettings, msgs: &[Vec<u8>], fragment: bool, strict: bool) {
    // Under takeover one strict stream follows the whole conversation.
    let mut strict = strict.then(StrictInflate8::new);
    // The sender's view: local 8 bits; the receiver's mirrored: remote 8.
    let sender = agreed(false, a_sender_local_nct, 15, 8);
    let (mut tx, mut rx) = pair(sender, &settings);
    assert_eq!(rx.agreed().remote_max_window_bits, 8);
    let mut rng = Rng::new(99);
    let mut total_in = 0usize;
    let mut total_out = 0usize;
    for (i, m) in msgs.iter().enumerate() {
        let at: Vec<usize> = if fragment && !m.is_empty() {
            let mut at: Vec<usize> = (0..1 + rng.below(4)).map(|_| rng.below(m.len() + 1)).collect();
            at.sort();
            at
        } else {
            vec![]
        };
        let frames = encode_fragments(&mut tx, if i % 2 == 0 { OP_TEXT } else { OP_BINARY }, &cut(m, &at));
        total_in += m.len();
        total_out += frames.iter().map(|f| f.data.len()).sum::<usize>();
        let got = decode_frames(&mut rx, &frames, NO_LIMIT).unwrap_or_else(|e| {
            panic!(
                "message {i} ({} bytes, {settings:?}, nct {a_sender_local_nct}): {e:?}",
                m.len()
            )
        });
        assert!(got == *m, "message {i} differs");
        if let Some(strict) = strict.as_mut() {
            let payload = common::joined(&frames);
            let got = strict
                .message(&payload)
                .unwrap_or_else(|e| panic!("message {i} ({} bytes): strict -8 inflate: {e}", m.len()));
            assert!(got == *m, "message {i} differs through the strict inflater");
        }
        if a_sender_local_nct {
            // Each message also stands alone for a fresh 8-bit decoder.
            let mut fresh = PerMessageDeflate::new(agreed(true, false, 8, 15), &settings).unwrap();
            assert!(
                decode_frames(&mut fresh, &frames, NO_LIMIT).unwrap() == *m,
                "message {i} alone"
            );
            if strict.is_some() {
                strict = Some(StrictInflate8::new());
            }
        }
    }
    println!(
        "window 8, {settings:?}, no_context_takeover {a_sender_local_nct}, fragmented {fragment}: {} messages, {total_in} -> {total_out} bytes",
        msgs.len()
    );
}

#[test]
fn two_hundred_messages_with_takeover_inflate_with_an_8_bit_window() {
    check(false, CompressSettings::default(), &messages(1), false, true);
}

#[test]
fn two_hundred_messages_without_takeover_inflate_with_an_8_bit_window() {
    check(true, CompressSettings::default(), &messages(2), false, true);
}

#[test]
fn fragmented_messages_inflate_with_an_8_bit_window() {
    check(false, CompressSettings::default(), &messages(3), true, true);
}

#[test]
fn every_level_and_strategy_stays_within_an_8_bit_window() {
    let msgs = messages(4);
    let mut k = 0;
    for level in [-1, 0, 1, 4, 9] {
        for strategy in 0..=4 {
            for mem_level in [1, 9] {
                // A slice of the messages each, so every setting sees text,
                // random data and big messages.
                let slice: Vec<Vec<u8>> = msgs.iter().skip(k % 5).step_by(25).cloned().collect();
                check(
                    k % 2 == 0,
                    CompressSettings {
                        level,
                        mem_level,
                        strategy,
                    },
                    &slice,
                    k % 3 == 0,
                    true,
                );
                k += 1;
            }
        }
    }
}

#[test]
fn a_negotiated_8_works_both_ways() {
    let mut server_cfg = Config::default();
    server_cfg.set_server_max_window_bits(8).unwrap();
    server_cfg.set_client_max_window_bits(8).unwrap();
    let mut client_cfg = Config::default();
    client_cfg.set_client_max_window_bits(-1).unwrap();
    client_cfg.set_server_max_window_bits(8).unwrap();
    let offer = pmdeflate::negotiate::client_offer(&client_cfg).unwrap();
    let (response, server_agreed) = server_negotiate(&server_cfg, offer.as_bytes()).unwrap().unwrap();
    assert_eq!(
        response,
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"
    );
    let client_agreed = client_accept(&client_cfg, response.as_bytes()).unwrap().unwrap();
    assert_eq!(client_agreed, common::mirror(&server_agreed));
    assert_eq!(
        (
            client_agreed.local_max_window_bits,
            client_agreed.remote_max_window_bits
        ),
        (8, 8),
        "an 8 offered is an 8 agreed, not 9"
    );
    let mut client = PerMessageDeflate::new(client_agreed, &client_cfg.compress).unwrap();
    let mut server = PerMessageDeflate::new(server_agreed, &server_cfg.compress).unwrap();
    for (i, m) in messages(5).iter().take(60).enumerate() {
        if i % 2 == 0 {
            let frames = encode_fragments(&mut client, OP_TEXT, &[m]);
            assert!(decode_frames(&mut server, &frames, NO_LIMIT).unwrap() == *m);
        } else {
            let frames = encode_fragments(&mut server, OP_BINARY, &[m]);
            assert!(decode_frames(&mut client, &frames, NO_LIMIT).unwrap() == *m);
        }
    }
}
