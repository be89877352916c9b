//! How a compressed message ends (docs/frames.md): the `00 00 ff ff` tail
//! goes back on after the final frame, in the same inflate call as the
//! frame's data when that frame is small (up to 1020 bytes) and in a call
//! of its own otherwise. Both ways must agree on every ending a peer sends:
//! a stripped flush, a kept tail (whole or split across frames), a stream
//! closed by BFINAL at the very end or followed by empty blocks, and data
//! cut short; under takeover and without, around every size where the way
//! changes (124/125, 508/509, 1020/1021 bytes of final frame).

mod common;

use common::{agreed, decode_frames, encode_message, joined, resplit, Owned, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::OP_BINARY;
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Error, PerMessageDeflate};

/// Final-frame sizes on both sides of every change of way.
const EDGES: [usize; 10] = [1, 5, 124, 125, 508, 509, 1020, 1021, 1500, 5000];

fn receiver(nct: bool) -> PerMessageDeflate {
    PerMessageDeflate::new(agreed(nct, nct, 15, 15), &CompressSettings::default()).unwrap()
}

fn sender(nct: bool) -> PerMessageDeflate {
    receiver(nct)
}

/// A stored block (BFINAL as given) holding `data`: 5 bytes of header,
/// then the bytes, so it ends exactly on a byte.
fn stored(data: &[u8], last: bool) -> Vec<u8> {
    let len = data.len() as u16;
    let mut out = vec![u8::from(last)];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// One message as frames: the payload cut so that the final frame holds
/// `last` bytes (all of it when shorter).
fn with_final_frame(payload: &[u8], last: usize) -> Vec<Owned> {
    let at = payload.len().saturating_sub(last);
    if at == 0 {
        resplit(payload, &[], OP_BINARY)
    } else {
        resplit(payload, &[at], OP_BINARY)
    }
}

fn corrupt(r: Result<Vec<u8>, Error>, ctx: &str) {
    match r {
        Err(Error::CorruptData(_)) => {}
        other => panic!("{ctx}: {other:?}"),
    }
}

/// A sender's own messages (stripped flush), in sequence on one stream,
/// with final frames of every edge size: each arrives whole.
#[test]
fn stripped_flushes_of_every_size_decode_in_sequence() {
    for nct in [false, true] {
        let mut rng = Rng::new(11);
        let (mut tx, mut rx) = (sender(nct), receiver(nct));
        for round in 0..3 {
            for &size in &EDGES {
                // Random bytes compress to about their size; text to less.
                let message = if round == 1 {
                    rng.text(size * 3)
                } else {
                    rng.bytes(size)
                };
                let payload = joined(&encode_message(&mut tx, OP_BINARY, &message));
                let last = [payload.len(), size, 1][round];
                let frames = with_final_frame(&payload, last);
                let got = decode_frames(&mut rx, &frames, NO_LIMIT);
                assert!(
                    got.as_deref() == Ok(&message[..]),
                    "nct {nct} size {size} round {round}"
                );
            }
        }
    }
}

/// A sender that keeps the tail of its flush: the final frame ends with
/// `00 00 ff ff` (whole, or split over the last two frames, or alone in an
/// empty-after frame); the message is complete as it is, and the stream
/// goes on.
#[test]
fn a_kept_tail_completes_the_message_whatever_the_split() {
    for nct in [false, true] {
        for &size in &EDGES {
            let mut rng = Rng::new(size as u64);
            let (mut tx, mut rx) = (sender(nct), receiver(nct));
            for k in 0..4 {
                let message = rng.bytes(size);
                let mut payload = joined(&encode_message(&mut tx, OP_BINARY, &message));
                payload.extend_from_slice(&[0, 0, 0xff, 0xff]);
                let n = payload.len();
                let at: Vec<usize> = match k {
                    0 => vec![],
                    1 => vec![n - 2],
                    2 => vec![n - 4],
                    _ => vec![n - 1, n],
                };
                let frames = resplit(&payload, &at, OP_BINARY);
                let got = decode_frames(&mut rx, &frames, NO_LIMIT);
                assert!(got.as_deref() == Ok(&message[..]), "nct {nct} size {size} split {k}");
            }
        }
    }
}

/// A stream closed by a BFINAL block exactly at the end of the data (no
/// empty block after it) needs no tail; one followed by the stripped empty
/// block (RFC 7692 section 7.2.3.4) gets it. The next message may start
/// afresh either way.
#[test]
fn a_stream_closed_by_bfinal_at_the_end_needs_no_tail() {
    for nct in [false, true] {
        for &size in &EDGES {
            let body = Rng::new(size as u64 + 7).bytes(size.saturating_sub(5).max(1));
            for trailer in [&[][..], &[0x00]] {
                let payload = [stored(&body, true), trailer.to_vec()].concat();
                for last in [payload.len(), size.min(payload.len()), 1] {
                    let mut rx = receiver(nct);
                    for _ in 0..2 {
                        let frames = with_final_frame(&payload, last);
                        let got = decode_frames(&mut rx, &frames, NO_LIMIT);
                        assert!(
                            got.as_deref() == Ok(&body[..]),
                            "nct {nct} size {size} trailer {trailer:?} last {last}: {:?}",
                            got.as_ref().map(Vec::len)
                        );
                    }
                }
            }
        }
    }
}

/// Data cut inside a block is refused with CorruptData at every size, in
/// one frame or with a small final frame.
#[test]
fn data_cut_inside_a_block_is_corrupt_at_every_size() {
    for nct in [false, true] {
        for &size in &EDGES {
            // A stored block that promises more than it holds.
            let mut payload = stored(&Rng::new(3).bytes(size + 40), false);
            payload.truncate(payload.len() - 30);
            for last in [payload.len(), size.min(payload.len()), 1] {
                let mut rx = receiver(nct);
                let frames = with_final_frame(&payload, last);
                corrupt(
                    decode_frames(&mut rx, &frames, NO_LIMIT),
                    &format!("nct {nct} size {size} last {last}"),
                );
            }
        }
    }
}
