//! The compression threshold (pmd_config_set_compress_threshold): a whole
//! single-frame message shorter than it goes out as it is, RSV1 clear;
//! everything else is compressed as before; the default 0 compresses
//! everything. Under context takeover the skipped messages never reach the
//! deflate stream, and the receiver decodes every message either way.

mod common;

use common::{agreed, decode_frames, encode_fragments, frame, mirror, Owned, Rng};
use pmdeflate::config::Config;
use pmdeflate::extension::{Agreed, OP_BINARY, OP_CONT, OP_PING, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::PerMessageDeflate;

fn sender(a: Agreed, threshold: usize) -> PerMessageDeflate {
    let cfg = Config {
        compress_threshold: threshold,
        ..Config::default()
    };
    PerMessageDeflate::for_config(a, &cfg).unwrap()
}

fn encode_whole(tx: &mut PerMessageDeflate, data: &[u8]) -> Owned {
    Owned::of(&tx.encode(&frame(OP_TEXT, true, false, data)).unwrap())
}

#[test]
fn below_the_threshold_a_whole_message_is_sent_as_it_is() {
    for nct in [false, true] {
        let a = agreed(nct, nct, 15, 15);
        for threshold in [1usize, 2, 64, 100, 1000] {
            for len in [threshold - 1, threshold, threshold + 1] {
                let mut tx = sender(mirror(&a), threshold);
                let data = Rng::new(len as u64).text(len);
                let out = encode_whole(&mut tx, &data);
                if len < threshold {
                    assert!(!out.rsv1, "threshold {threshold}, {len} bytes: RSV1 clear");
                    assert_eq!(out.data, data, "threshold {threshold}, {len} bytes: as it is");
                    assert_eq!(tx.memory_usage(), 0, "no deflate stream was made");
                } else {
                    assert!(out.rsv1, "threshold {threshold}, {len} bytes: compressed");
                    assert_ne!(out.data, data);
                }
                assert_eq!((out.opcode, out.fin, out.rsv2, out.rsv3), (OP_TEXT, true, false, false));
            }
        }
    }
}

#[test]
fn the_default_threshold_compresses_everything() {
    assert_eq!(Config::default().compress_threshold, 0);
    let mut tx = sender(agreed(false, false, 15, 15), 0);
    for data in [&b""[..], b"a", b"Hello"] {
        let out = encode_whole(&mut tx, data);
        assert!(out.rsv1, "{data:?}");
    }
    // Threshold 0 gives the bytes of a plain extension (RFC 7692's Hello).
    let mut tx = sender(agreed(false, false, 15, 15), 0);
    assert_eq!(
        encode_whole(&mut tx, b"Hello").data,
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
}

#[test]
fn fragmented_messages_are_always_compressed() {
    let mut tx = sender(agreed(false, false, 15, 15), 1000);
    // Tiny fragments, each and all far below the threshold.
    let frames = encode_fragments(&mut tx, OP_BINARY, &[b"ab", b"c", b""]);
    assert!(frames[0].rsv1);
    // A first frame without FIN, then the message goes on compressed.
    let first = Owned::of(&tx.encode(&frame(OP_TEXT, false, false, b"x")).unwrap());
    assert!(first.rsv1);
    let last = Owned::of(&tx.encode(&frame(OP_CONT, true, false, b"y")).unwrap());
    assert!(!last.rsv1 && last.data.ends_with(&[0x00]) && last.data != b"y");
}

#[test]
fn control_frames_pass_through_and_the_state_checks_still_apply() {
    let mut tx = sender(agreed(false, false, 15, 15), 1000);
    let ping = Owned::of(&tx.encode(&frame(OP_PING, true, false, b"p")).unwrap());
    assert!(!ping.rsv1 && ping.data == b"p");
    // A message under the threshold is still refused in the middle of a
    // fragmented one, and RSV1 set by the caller is still refused.
    tx.encode(&frame(OP_TEXT, false, false, b"x")).unwrap();
    assert!(tx.encode(&frame(OP_TEXT, true, false, b"y")).is_err());
    let mut tx = sender(agreed(false, false, 15, 15), 1000);
    assert!(tx.encode(&frame(OP_TEXT, true, true, b"y")).is_err());
    assert!(tx.encode(&frame(OP_CONT, true, false, b"y")).is_err());
}

#[test]
fn a_receiver_decodes_mixed_messages_with_and_without_takeover() {
    let mut rng = Rng::new(6);
    for nct in [false, true] {
        for bits in [9u8, 12, 15] {
            let a = agreed(nct, nct, bits, bits);
            let mut tx = sender(mirror(&a), 200);
            let mut rx = PerMessageDeflate::for_config(a, &Config::default()).unwrap();
            let (mut plain, mut compressed) = (0, 0);
            for k in 0..200 {
                let len = rng.below(400);
                // Repeated text, so later compressed messages refer back
                // into earlier ones under takeover.
                let msg = Rng::new((k % 7) as u64).text(len);
                let frames = if k % 10 == 9 && len > 2 {
                    encode_fragments(&mut tx, OP_TEXT, &[&msg[..1], &msg[1..]])
                } else {
                    vec![encode_whole(&mut tx, &msg)]
                };
                if frames[0].rsv1 {
                    compressed += 1;
                } else {
                    plain += 1;
                    assert!(len < 200 && frames.len() == 1);
                }
                let got = decode_frames(&mut rx, &frames, NO_LIMIT).unwrap();
                assert!(got == msg, "window {bits}, no takeover {nct}, message {k}");
            }
            assert!(plain > 50 && compressed > 50, "{plain} plain, {compressed} compressed");
        }
    }
}
