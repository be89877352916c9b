//! The window-distance check on decode (docs/frames.md, "Distances beyond
//! the agreed window"): by default pmdeflate inflates in calls as large as
//! the output allows, and zlib refuses a distance beyond the history it
//! keeps for the agreed window plus the call's own output; with
//! `strict_window` (pmd_config_set_strict_window) a decoder below 15 bits
//! inflates in calls of a quarter window, so a distance beyond the agreed
//! window is refused within one message too. Both modes round-trip every
//! window, with and without context takeover, whole and fragmented.

mod common;

use common::{agreed, decode_frames, default_ext, encode_fragments, encode_message, joined, mirror, resplit, Rng};
use pmdeflate::config::Config;
use pmdeflate::extension::{Agreed, OP_BINARY, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Error, PerMessageDeflate};

fn with_strict(a: Agreed, strict: bool) -> PerMessageDeflate {
    let cfg = Config {
        strict_window: strict,
        ..Config::default()
    };
    PerMessageDeflate::for_config(a, &cfg).unwrap()
}

fn decode_one(rx: &mut PerMessageDeflate, payload: &[u8]) -> Result<Vec<u8>, Error> {
    decode_frames(rx, &resplit(payload, &[], OP_BINARY), NO_LIMIT)
}

fn assert_corrupt(r: Result<Vec<u8>, Error>, what: &str) {
    match r {
        Err(Error::CorruptData(m)) => assert!(m.contains("too far back"), "{what}: {m}"),
        other => panic!("{what}: expected CorruptData, got {other:?}"),
    }
}

/// `len` random bytes sent twice in one message by a 15-bit encoder: the
/// repeat is coded as matches `len` bytes back.
fn repeat_far_back(len: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let half = Rng::new(seed).bytes(len);
    let msg = [half.clone(), half].concat();
    let payload = common::compress_once(&msg);
    assert!(payload.len() < len + len / 4, "{} for {}", payload.len(), msg.len());
    (msg, payload)
}

const FAR: [(u8, usize); 4] = [(8, 300), (9, 600), (12, 5000), (14, 20000)];

#[test]
fn strict_mode_refuses_a_distance_beyond_the_window_within_one_message() {
    for (bits, len) in FAR {
        let (msg, payload) = repeat_far_back(len, u64::from(bits));
        // A 15-bit receiver decodes it: the distance is legal there.
        assert_eq!(decode_one(&mut default_ext(), &payload).unwrap(), msg);
        let mut rx = with_strict(agreed(false, false, bits, 15), true);
        assert_corrupt(
            decode_one(&mut rx, &payload),
            &format!("strict, window {bits}, distance {len}"),
        );
        // The error is sticky.
        assert!(matches!(decode_one(&mut rx, &[0x02, 0x00]), Err(Error::CorruptData(_))));
    }
}

#[test]
fn default_mode_decodes_exactly_or_refuses_a_distance_beyond_the_window_within_one_message() {
    // The documented cost of full-speed decoding: within one inflate call
    // zlib also reaches back into what that call wrote, so whether a sender
    // that exceeds the agreed window inside a message is caught depends on
    // where the output buffer cut the calls. Either way nothing wrong comes
    // out: the exact message, or CORRUPT_DATA.
    for (bits, len) in FAR {
        let (msg, payload) = repeat_far_back(len, u64::from(bits));
        let mut rx = with_strict(agreed(false, false, bits, 15), false);
        match decode_one(&mut rx, &payload) {
            Ok(got) => assert!(got == msg, "window {bits}: wrong bytes"),
            r => assert_corrupt(r, &format!("default, window {bits}")),
        }
    }
}

#[test]
fn both_modes_refuse_a_distance_beyond_the_kept_history() {
    for strict in [false, true] {
        // Before the start of the stream: a literal 'a', then a match at
        // distance 2 (fixed Huffman).
        let mut rx = with_strict(agreed(false, false, 12, 15), strict);
        assert_corrupt(decode_one(&mut rx, &[0x4b, 0x04, 0x42, 0x00]), "before the start");
        // Into the previous message, beyond the 2^bits bytes zlib keeps.
        for (bits, len) in FAR {
            let half = Rng::new(u64::from(bits) + 7).bytes(len);
            let mut tx = default_ext();
            let first = joined(&encode_message(&mut tx, OP_BINARY, &half));
            let second = joined(&encode_message(&mut tx, OP_BINARY, &half));
            assert!(second.len() < len / 4, "the second refers back: {}", second.len());
            let mut rx = with_strict(agreed(false, false, bits, 15), strict);
            assert_eq!(decode_one(&mut rx, &first).unwrap(), half);
            assert_corrupt(
                decode_one(&mut rx, &second),
                &format!("strict {strict}, window {bits}, distance {len} into the last message"),
            );
        }
    }
}

#[test]
fn a_distance_just_inside_the_window_decodes_in_both_modes() {
    for strict in [false, true] {
        for bits in 9u8..=15 {
            // Repeats exactly one window back, across two messages: the
            // receiver's kept history is exactly 2^bits bytes.
            let len = 1usize << bits;
            let half = Rng::new(u64::from(bits)).bytes(len);
            let mut tx = default_ext();
            let first = joined(&encode_message(&mut tx, OP_BINARY, &half));
            let second = joined(&encode_message(&mut tx, OP_BINARY, &half));
            let mut rx = with_strict(agreed(false, false, bits, 15), strict);
            assert_eq!(decode_one(&mut rx, &first).unwrap(), half);
            assert_eq!(
                decode_one(&mut rx, &second).unwrap(),
                half,
                "strict {strict}, window {bits}"
            );
        }
    }
}

#[test]
fn both_modes_round_trip_every_window_takeover_and_fragmentation() {
    let mut rng = Rng::new(11);
    for strict in [false, true] {
        for bits in 8u8..=15 {
            for nct in [false, true] {
                let a = agreed(nct, nct, bits, bits);
                let cfg = Config {
                    strict_window: strict,
                    ..Config::default()
                };
                let mut tx = PerMessageDeflate::for_config(mirror(&a), &cfg).unwrap();
                let mut rx = PerMessageDeflate::for_config(a, &cfg).unwrap();
                for k in 0..12 {
                    let len = [0, 1, 100, 4096, 70_000, 300_000][k % 6];
                    let msg = if k % 2 == 0 { rng.text(len) } else { rng.bytes(len) };
                    let frames = if k % 3 == 0 && len > 10 {
                        let at = [len / 3, len / 2, len - 1];
                        let pieces = common::cut(&msg, &at);
                        encode_fragments(&mut tx, OP_TEXT, &pieces)
                    } else {
                        encode_message(&mut tx, OP_TEXT, &msg)
                    };
                    let got = decode_frames(&mut rx, &frames, NO_LIMIT).unwrap();
                    assert!(
                        got == msg,
                        "strict {strict}, window {bits}, no takeover {nct}, message {k} ({len} bytes)"
                    );
                }
            }
        }
    }
}
