//! The per-message limit as a busy server meets it: many connections'
//! worth of messages of mixed sizes, compressed or not, whole, fragmented
//! or reassembled, at several windows, over repeated rounds on the same
//! extensions. A message of exactly the limit passes; one byte more fails
//! with PayloadTooBig whichever frame carries it; and a refused message
//! never costs more memory than the limit.

mod common;

use common::{agreed, cut, encode_fragments, frame, joined, pair, Owned, Rng};
use pmdeflate::config::{CompressSettings, Config};
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_PING, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Error, PerMessageDeflate};

/// Slack for zlib's state and one output chunk above the limit.
const SLACK: usize = 64 * 1024;

/// The frames of one message as a host receives it.
fn frames_of(tx: &mut PerMessageDeflate, compressed: bool, msg: &[u8], at: &[usize]) -> Vec<Owned> {
    let pieces = cut(msg, at);
    if compressed {
        return encode_fragments(tx, OP_BINARY, &pieces);
    }
    let n = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(i, p)| Owned::of(&frame(if i == 0 { OP_BINARY } else { OP_CONT }, i + 1 == n, false, p)))
        .collect()
}

/// Decodes a message with a ping between frames, as a host would.
fn decode(rx: &mut PerMessageDeflate, frames: &[Owned]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(rx.decode(&f.as_frame(), NO_LIMIT)?.data);
        let ping = frame(OP_PING, true, false, b"between fragments, never counted");
        rx.decode(&ping, NO_LIMIT)?;
    }
    Ok(out)
}

#[test]
fn exactly_the_limit_passes_and_one_byte_more_fails_in_every_shape() {
    let mut rng = Rng::new(9);
    let mut checked = 0;
    for bits in [9u8, 12, 15] {
        for round in 0..3 {
            for size in [1usize, 2, 125, 4095, 4097, 70_000, 300_000] {
                for compressed in [true, false] {
                    for parts in [1usize, 2, 7] {
                        let msg = if rng.bool() { rng.text(size) } else { rng.bytes(size) };
                        let at: Vec<usize> = (1..parts).map(|i| size * i / parts).collect();
                        let (mut tx, mut rx) = pair(agreed(false, false, bits, bits), &CompressSettings::default());
                        // Two more receivers of the same stream: one gets the
                        // message reassembled into one frame, one a limit a
                        // byte short.
                        let fresh =
                            || PerMessageDeflate::new(agreed(false, false, bits, bits), &CompressSettings::default());
                        let (mut rx2, mut rx3) = (fresh().unwrap(), fresh().unwrap());
                        // A few messages first, so the limit is met mid-stream.
                        for _ in 0..round {
                            let warm = rng.text(size.min(1000));
                            let fs = frames_of(&mut tx, compressed, &warm, &[]);
                            assert_eq!(decode(&mut rx, &fs).unwrap(), warm);
                            assert_eq!(decode(&mut rx2, &fs).unwrap(), warm);
                            assert_eq!(decode(&mut rx3, &fs).unwrap(), warm);
                        }
                        let frames = frames_of(&mut tx, compressed, &msg, &at);
                        let whole = Owned {
                            fin: true,
                            data: joined(&frames),
                            ..frames[0].clone()
                        };
                        let ctx =
                            format!("bits {bits} round {round} size {size} compressed {compressed} parts {parts}");

                        rx.set_max_message_size(size).unwrap();
                        assert_eq!(decode(&mut rx, &frames).unwrap(), msg, "{ctx}");
                        rx2.set_max_message_size(size).unwrap();
                        assert_eq!(decode(&mut rx2, &[whole]).unwrap(), msg, "{ctx}: reassembled");

                        rx3.set_max_message_size(size - 1).unwrap();
                        let err = decode(&mut rx3, &frames).unwrap_err();
                        assert!(
                            matches!(&err, Error::PayloadTooBig(m) if m.contains(&format!("max message size of {} bytes", size - 1))),
                            "{ctx}: {err:?}"
                        );
                        assert_eq!(err.close_code(), 1009);
                        assert!(rx3.memory_usage() <= size + SLACK, "{ctx}: {}", rx3.memory_usage());
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 3 * 7 * 2 * 3);
}

#[test]
fn a_bomb_stops_at_the_message_limit_across_frames() {
    // 16 MiB of zeros in 16 frames against a 1 MiB message limit and no
    // per-call limit: refused in the second frame, memory near the limit.
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    let zeros = vec![0u8; 16 << 20];
    let at: Vec<usize> = (1..16).map(|i| i << 20).collect();
    let frames = encode_fragments(&mut tx, OP_TEXT, &cut(&zeros, &at));
    rx.set_max_message_size(1 << 20).unwrap();
    rx.decode(&frames[0].as_frame(), NO_LIMIT).unwrap();
    let err = rx.decode(&frames[1].as_frame(), NO_LIMIT).unwrap_err();
    assert!(matches!(err, Error::PayloadTooBig(_)), "{err:?}");
    assert!(rx.memory_usage() < (1 << 20) + SLACK, "{}", rx.memory_usage());
}

#[test]
fn the_smaller_of_max_size_and_the_room_left_wins() {
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    let msg = vec![b'a'; 3000];
    let frames = encode_fragments(&mut tx, OP_TEXT, &cut(&msg, &[1000, 2000]));
    rx.set_max_message_size(2500).unwrap();
    assert_eq!(rx.decode(&frames[0].as_frame(), 1000).unwrap().data.len(), 1000);
    assert_eq!(rx.decode(&frames[1].as_frame(), NO_LIMIT).unwrap().data.len(), 1000);
    // 500 bytes of room left, max_size 600: the message limit speaks.
    let err = rx.decode(&frames[2].as_frame(), 600).unwrap_err();
    assert!(err.to_string().contains("max message size of 2500"), "{err}");

    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    let frames = encode_fragments(&mut tx, OP_TEXT, &cut(&msg, &[1000]));
    rx.set_max_message_size(2500).unwrap();
    rx.decode(&frames[0].as_frame(), NO_LIMIT).unwrap();
    // 1500 bytes of room, max_size 1400 for a frame of 2000: max_size speaks.
    let err = rx.decode(&frames[1].as_frame(), 1400).unwrap_err();
    assert!(err.to_string().contains("max_size of 1400"), "{err}");
}

#[test]
fn a_config_limit_reaches_the_extensions_made_from_it() {
    let mut cfg = Config::default();
    assert_eq!(cfg.max_message_size, NO_LIMIT);
    cfg.max_message_size = 4;
    let mut rx = PerMessageDeflate::for_config(agreed(false, false, 15, 15), &cfg).unwrap();
    rx.decode(&frame(OP_TEXT, true, false, b"1234"), NO_LIMIT).unwrap();
    let err = rx.decode(&frame(OP_TEXT, true, false, b"12345"), NO_LIMIT).unwrap_err();
    assert!(matches!(err, Error::PayloadTooBig(_)), "{err:?}");
}
