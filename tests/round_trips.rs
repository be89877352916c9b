//! docs/frames.md end to end: whatever one `Extension` encodes, the
//! peer `Extension` (with the mirrored agreement) decodes back to the same
//! message: every window size on each side with and without context
//! takeover, every zlib level, memory level and strategy, message sizes
//! around the WebSocket length boundaries up to 4 MiB, fragmented at every
//! split point, with control frames in between, uncompressed messages mixed
//! in, and compressed payloads re-split at every byte.
//!
//! The full cross product would take minutes, so it is sampled: all window
//! bits x takeover combinations on a moderate message set; all levels x
//! memory levels x strategies on a smaller one; the big sizes on a few
//! representative settings.

mod common;

use common::{agreed, cut, decode_frames, encode_fragments, encode_message, frame, joined, pair, resplit, Owned, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Error, Frame, PerMessageDeflate};

fn settings(level: i32, mem_level: i32, strategy: i32) -> CompressSettings {
    CompressSettings {
        level,
        mem_level,
        strategy,
    }
}

/// Sends `msg` from `tx` to `rx` as the given fragments and checks it
/// arrives intact. Returns the encoded frames.
fn send(tx: &mut PerMessageDeflate, rx: &mut PerMessageDeflate, opcode: u8, msg: &[u8], at: &[usize]) -> Vec<Owned> {
    let frames = encode_fragments(tx, opcode, &cut(msg, at));
    let got = decode_frames(rx, &frames, NO_LIMIT)
        .unwrap_or_else(|e| panic!("decode of {} bytes cut at {at:?}: {e:?}", msg.len()));
    assert!(
        got == msg,
        "message of {} bytes cut at {at:?} came back different ({} bytes)",
        msg.len(),
        got.len()
    );
    frames
}

fn send_whole(tx: &mut PerMessageDeflate, rx: &mut PerMessageDeflate, opcode: u8, msg: &[u8]) -> Vec<u8> {
    send(tx, rx, opcode, msg, &[]).remove(0).data
}

fn moderate_messages(rng: &mut Rng) -> Vec<(u8, Vec<u8>)> {
    vec![
        (OP_TEXT, Vec::new()),
        (OP_BINARY, rng.bytes(1)),
        (OP_TEXT, rng.text(125)),
        (OP_BINARY, rng.bytes(126)),
        (OP_TEXT, rng.text(3000)),
        (OP_BINARY, rng.bytes(5000)),
        (OP_TEXT, rng.text(20_000)),
        (OP_BINARY, vec![0x5a; 10_000]),
    ]
}

#[test]
fn every_window_size_and_takeover_combination_both_ways() {
    let mut rng = Rng::new(1);
    let msgs = moderate_messages(&mut rng);
    let repeated = rng.text(3000);
    let plain = CompressSettings::default();
    for client_bits in 8..=15u8 {
        for server_bits in 8..=15u8 {
            for client_nct in [false, true] {
                for server_nct in [false, true] {
                    // The client's view; the server's is mirrored.
                    let a = agreed(server_nct, client_nct, server_bits, client_bits);
                    let (mut client, mut server) = pair(a, &plain);
                    let ctx = format!(
                        "client bits {client_bits} nct {client_nct}, server bits {server_bits} nct {server_nct}"
                    );
                    for round in 0..2 {
                        for (i, (op, m)) in msgs.iter().enumerate() {
                            // Alternate directions and fragment some messages.
                            let at: Vec<usize> = if (i + round) % 3 == 0 && m.len() > 2 {
                                vec![m.len() / 3, m.len() / 2]
                            } else {
                                vec![]
                            };
                            send(&mut client, &mut server, *op, m, &at);
                            send(&mut server, &mut client, *op, m, &at);
                        }
                    }
                    // Context takeover is real: the same text twice in a
                    // row compresses to the same bytes without takeover and
                    // to far fewer with it (the whole text is in the window
                    // for 12 bits and more; with 8..11 bits part of it is).
                    for dir in 0..2 {
                        let (tx, rx, nct, bits) = if dir == 0 {
                            (&mut client, &mut server, client_nct, client_bits)
                        } else {
                            (&mut server, &mut client, server_nct, server_bits)
                        };
                        let first = send_whole(tx, rx, OP_TEXT, &repeated);
                        let second = send_whole(tx, rx, OP_TEXT, &repeated);
                        if nct {
                            assert_eq!(first, second, "{ctx}: no takeover starts each message afresh");
                        } else if bits >= 12 {
                            assert!(
                                second.len() * 10 < first.len(),
                                "{ctx}: {} then {}",
                                first.len(),
                                second.len()
                            );
                        } else {
                            assert!(
                                second.len() < first.len(),
                                "{ctx}: {} then {}",
                                first.len(),
                                second.len()
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn takeover_messages_need_the_previous_window() {
    // A message compressed with takeover refers back to the previous one:
    // a decoder that missed the first message cannot decode the second.
    let mut rng = Rng::new(11);
    let text = rng.text(4000);
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    send_whole(&mut tx, &mut rx, OP_TEXT, &text);
    let second = encode_message(&mut tx, OP_TEXT, &text);
    let mut fresh = common::default_ext();
    let err = decode_frames(&mut fresh, &second, NO_LIMIT).unwrap_err();
    assert!(matches!(err, Error::CorruptData(_)), "{err:?}");
    assert_eq!(decode_frames(&mut rx, &second, NO_LIMIT).unwrap(), text);
    // Without takeover on the sending side, any fresh decoder will do.
    let (mut tx, _) = pair(agreed(false, true, 15, 15), &CompressSettings::default());
    encode_message(&mut tx, OP_TEXT, &text);
    let second = encode_message(&mut tx, OP_TEXT, &text);
    let mut fresh = PerMessageDeflate::new(agreed(true, false, 15, 15), &CompressSettings::default()).unwrap();
    assert_eq!(decode_frames(&mut fresh, &second, NO_LIMIT).unwrap(), text);
}

#[test]
fn every_level_memory_level_and_strategy() {
    let mut rng = Rng::new(2);
    let text = rng.text(2500);
    let random = rng.bytes(700);
    let runs: Vec<u8> = (0..6000).map(|i| (i / 300) as u8).collect();
    let mut combos = 0;
    for level in -1..=9 {
        for mem_level in 1..=9 {
            for strategy in 0..=4 {
                let s = settings(level, mem_level, strategy);
                // Rotate window sizes and takeover through the combinations.
                let bits = 8 + (combos % 8) as u8;
                let nct = combos % 3 == 0;
                let (mut tx, mut rx) = pair(agreed(false, nct, 15, bits), &s);
                for m in [&text[..], &random[..], &runs[..], &[][..], &text[..]] {
                    let c = send_whole(&mut tx, &mut rx, OP_BINARY, m);
                    if level == 0 && !m.is_empty() {
                        // Level 0 stores: no smaller than the input.
                        assert!(c.len() >= m.len(), "level 0 stored {} as {}", m.len(), c.len());
                    }
                }
                send(&mut tx, &mut rx, OP_TEXT, &text, &[1, 1000, 1000, 2400]);
                combos += 1;
            }
        }
    }
    assert_eq!(combos, 11 * 9 * 5);
}

#[test]
fn levels_change_the_output() {
    let text = Rng::new(3).text(50_000);
    let size = |level| {
        let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &settings(level, 8, 0));
        send_whole(&mut tx, &mut rx, OP_TEXT, &text).len()
    };
    let (l0, l1, l6, l9, default) = (size(0), size(1), size(6), size(9), size(-1));
    assert!(l0 > text.len(), "stored: {l0}");
    assert!(l1 < text.len() / 2 && l9 <= l6 && l6 < l1, "{l1} {l6} {l9}");
    assert_eq!(default, l6, "-1 is zlib's default, 6");
}

/// The WebSocket payload length boundaries (7-bit, 16-bit, 64-bit) and a
/// big message, text-like and random, on a few representative settings.
#[test]
fn standard_sizes_whole_and_at_a_few_split_points() {
    let mut rng = Rng::new(4);
    let sizes = [0usize, 1, 125, 126, 65535, 65536, 4 << 20];
    let messages: Vec<Vec<u8>> = sizes.iter().flat_map(|&n| [rng.text(n), rng.bytes(n)]).collect();
    let configs = [
        (agreed(false, false, 15, 15), CompressSettings::default()),
        (agreed(true, true, 8, 8), CompressSettings::default()),
        (agreed(false, true, 15, 10), settings(1, 9, 0)),
        (agreed(true, false, 12, 15), settings(9, 4, 1)),
    ];
    for (a, s) in configs {
        let (mut tx, mut rx) = pair(a, &s);
        for m in &messages {
            let n = m.len();
            send(&mut tx, &mut rx, OP_BINARY, m, &[]);
            if n > 1 << 20 {
                // A big message cut once off-centre, and in 64 KiB
                // fragments as a streaming sender would send it (fewer
                // cuts than for the others: 4 MiB is slow at level 9).
                send(&mut tx, &mut rx, OP_TEXT, m, &[n / 2 + 7]);
                let at: Vec<usize> = (1..n / 65536).map(|i| i * 65536).collect();
                send(&mut tx, &mut rx, OP_BINARY, m, &at);
            } else if n >= 2 {
                send(&mut tx, &mut rx, OP_BINARY, m, &[1]);
                send(&mut tx, &mut rx, OP_TEXT, m, &[n / 2]);
                send(&mut tx, &mut rx, OP_TEXT, m, &[n - 1]);
                send(&mut tx, &mut rx, OP_BINARY, m, &[0, n / 3, n / 3, n]);
            }
        }
    }
}

#[test]
fn short_messages_split_at_every_point() {
    let mut rng = Rng::new(5);
    let mut messages = vec![
        rng.text(1),
        rng.bytes(2),
        rng.text(125),
        rng.bytes(126),
        rng.text(300),
        rng.bytes(300),
    ];
    messages.push(vec![b'a'; 300]);
    for a in [
        agreed(false, false, 15, 15),
        agreed(true, true, 9, 9),
        agreed(false, false, 8, 8),
    ] {
        let (mut tx, mut rx) = pair(a, &CompressSettings::default());
        for m in &messages {
            for k in 0..=m.len() {
                send(&mut tx, &mut rx, OP_TEXT, m, &[k]);
            }
            // One byte per frame.
            let every: Vec<usize> = (1..m.len()).collect();
            send(&mut tx, &mut rx, OP_BINARY, m, &every);
        }
        // Three fragments at every pair of points for a short message.
        let m = rng.text(40);
        for i in 0..=m.len() {
            for j in i..=m.len() {
                send(&mut tx, &mut rx, OP_TEXT, &m, &[i, j]);
            }
        }
    }
}

#[test]
fn an_empty_final_fragment_is_the_single_byte_00() {
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    let frames = send(&mut tx, &mut rx, OP_TEXT, b"Hello, world", &[12]);
    assert_eq!(frames[1].data, [0x00]);
    let frames = send(&mut tx, &mut rx, OP_TEXT, b"", &[0, 0]);
    // Empty non-final frames carry at most an empty stored block.
    for f in &frames[..2] {
        assert!(
            f.data.is_empty() || f.data == [0x00, 0x00, 0x00, 0xff, 0xff],
            "{:?}",
            f.data
        );
    }
    assert_eq!(frames[2].data, [0x00]);
}

#[test]
fn many_consecutive_messages_both_ways() {
    let mut rng = Rng::new(6);
    for a in [
        agreed(false, false, 15, 15),
        agreed(false, false, 9, 11),
        agreed(true, false, 13, 8),
        agreed(false, true, 10, 14),
    ] {
        let (mut client, mut server) = pair(a, &CompressSettings::default());
        for i in 0..200 {
            let n = match rng.below(4) {
                0 => rng.below(130),
                1 => rng.below(2000),
                2 => rng.below(20_000),
                _ => rng.below(70_000),
            };
            let m = if rng.below(3) == 0 { rng.bytes(n) } else { rng.text(n) };
            let pieces = rng.below(4);
            let mut at: Vec<usize> = (0..pieces).map(|_| rng.below(n + 1)).collect();
            at.sort();
            if i % 2 == 0 {
                send(&mut client, &mut server, OP_TEXT, &m, &at);
            } else {
                send(&mut server, &mut client, OP_BINARY, &m, &at);
            }
        }
    }
}

#[test]
fn control_frames_pass_through_inside_fragmented_messages() {
    let mut rng = Rng::new(7);
    let msg = rng.text(10_000);
    let pieces = cut(&msg, &[1000, 5000, 9999]);
    let ping_data = b"ping payload".to_vec();
    let pong_data = b"".to_vec();
    for a in [agreed(false, false, 15, 15), agreed(true, true, 8, 8)] {
        let (mut tx, mut rx) = pair(a, &CompressSettings::default());
        for _ in 0..3 {
            let mut wire: Vec<Owned> = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                let op = if i == 0 { OP_TEXT } else { OP_CONT };
                let fin = i + 1 == pieces.len();
                let f = tx.encode(&frame(op, fin, false, piece)).unwrap();
                assert_eq!(f.rsv1, i == 0);
                wire.push(Owned::of(&f));
                // Control frames between data frames, unchanged and
                // not copied.
                for (cop, data) in [(OP_PING, &ping_data), (OP_PONG, &pong_data)] {
                    let input = Frame {
                        opcode: cop,
                        fin: true,
                        rsv1: false,
                        rsv2: false,
                        rsv3: false,
                        data,
                    };
                    let out = tx.encode(&input).unwrap();
                    assert_eq!(out, input);
                    assert_eq!(out.data.as_ptr(), data.as_ptr(), "control frames pass through");
                    wire.push(Owned::of(&out));
                }
            }
            let mut got = Vec::new();
            let mut controls = 0;
            for f in &wire {
                let input = f.as_frame();
                let out = rx.decode(&input, NO_LIMIT).unwrap();
                if f.opcode >= 8 {
                    assert_eq!(out, input);
                    assert_eq!(out.data.as_ptr(), f.data.as_ptr());
                    controls += 1;
                } else {
                    assert!(!out.rsv1);
                    got.extend_from_slice(out.data);
                }
            }
            assert_eq!(controls, 2 * pieces.len());
            assert_eq!(got, msg);
        }
    }
}

#[test]
fn rsv2_rsv3_and_opcode_are_carried_over() {
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    for (rsv2, rsv3) in [(true, false), (false, true), (true, true)] {
        for op in [OP_TEXT, OP_BINARY] {
            let first = Frame {
                opcode: op,
                fin: false,
                rsv1: false,
                rsv2,
                rsv3,
                data: b"abc",
            };
            let out = Owned::of(&tx.encode(&first).unwrap());
            assert_eq!(
                (out.opcode, out.fin, out.rsv1, out.rsv2, out.rsv3),
                (op, false, true, rsv2, rsv3)
            );
            let last = Frame {
                opcode: OP_CONT,
                fin: true,
                rsv1: false,
                rsv2,
                rsv3,
                data: b"def",
            };
            let out2 = Owned::of(&tx.encode(&last).unwrap());
            assert_eq!(
                (out2.opcode, out2.fin, out2.rsv1, out2.rsv2, out2.rsv3),
                (OP_CONT, true, false, rsv2, rsv3)
            );
            let d1 = Owned::of(&rx.decode(&out.as_frame(), NO_LIMIT).unwrap());
            assert_eq!(
                (d1.opcode, d1.fin, d1.rsv1, d1.rsv2, d1.rsv3),
                (op, false, false, rsv2, rsv3)
            );
            let d2 = Owned::of(&rx.decode(&out2.as_frame(), NO_LIMIT).unwrap());
            assert_eq!(
                (d2.opcode, d2.fin, d2.rsv1, d2.rsv2, d2.rsv3),
                (OP_CONT, true, false, rsv2, rsv3)
            );
            assert_eq!([d1.data, d2.data].concat(), b"abcdef");
        }
    }
}

#[test]
fn uncompressed_messages_pass_through() {
    let mut rng = Rng::new(8);
    let text = rng.text(5000);
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    send_whole(&mut tx, &mut rx, OP_TEXT, &text);
    let plain = rng.bytes(3000);
    for round in 0..3 {
        // A whole uncompressed message (no RSV1).
        let input = Frame {
            opcode: OP_BINARY,
            fin: true,
            rsv1: false,
            rsv2: round == 1,
            rsv3: false,
            data: &plain,
        };
        let out = rx.decode(&input, NO_LIMIT).unwrap();
        assert_eq!(out, input);
        assert_eq!(out.data.as_ptr(), plain.as_ptr(), "passed through, not copied");
        // A fragmented one, with a control frame inside; max_size does not
        // apply to what is not inflated.
        let pieces = cut(&plain, &[100, 2000]);
        for (i, piece) in pieces.iter().enumerate() {
            let input = frame(if i == 0 { OP_TEXT } else { OP_CONT }, i == 2, false, piece);
            let out = rx.decode(&input, 10).unwrap();
            assert_eq!(out, input);
            assert_eq!(out.data.as_ptr(), piece.as_ptr());
            if i == 0 {
                let ping = frame(OP_PING, true, false, b"p");
                assert_eq!(rx.decode(&ping, NO_LIMIT).unwrap(), ping);
            }
        }
        // Compressed messages around them still decode, with the window
        // the uncompressed ones did not touch.
        let c = send_whole(&mut tx, &mut rx, OP_TEXT, &text);
        assert!(c.len() < 100, "takeover still used: {}", c.len());
    }
    // An uncompressed empty message too.
    let empty = frame(OP_TEXT, true, false, b"");
    assert_eq!(rx.decode(&empty, NO_LIMIT).unwrap(), empty);
}

#[test]
fn deflate_stream_split_at_every_byte() {
    let mut rng = Rng::new(9);
    let messages = [
        rng.text(300),
        rng.bytes(200),
        rng.text(5000),
        vec![7u8; 3000],
        Vec::new(),
    ];
    for a in [
        agreed(false, false, 15, 15),
        agreed(true, true, 8, 8),
        agreed(false, false, 10, 10),
    ] {
        let mut tx = PerMessageDeflate::new(common::mirror(&a), &CompressSettings::default()).unwrap();
        let mut rx = PerMessageDeflate::new(a, &CompressSettings::default()).unwrap();
        for m in &messages {
            let payload = joined(&encode_message(&mut tx, OP_TEXT, m));
            // Two frames, cut at every byte of the compressed stream. Each
            // cut needs a decoder in the receiver's state: a fresh one
            // without takeover, one that has seen the earlier messages
            // with it.
            for k in 0..=payload.len() {
                let frames = resplit(&payload, &[k], OP_TEXT);
                let mut probe = if a.remote_no_context_takeover {
                    PerMessageDeflate::new(a, &CompressSettings::default()).unwrap()
                } else {
                    replay_decoder(a, &messages, m)
                };
                let got = decode_frames(&mut probe, &frames, NO_LIMIT)
                    .unwrap_or_else(|e| panic!("cut at {k}/{}: {e:?}", payload.len()));
                assert!(got == *m, "cut at {k}");
            }
            // The real decoder: one byte per frame.
            let every: Vec<usize> = (1..payload.len()).collect();
            assert!(decode_frames(&mut rx, &resplit(&payload, &every, OP_TEXT), NO_LIMIT).unwrap() == *m);
        }
    }
}

/// A decoder in the state the receiver is in just before `upto` arrives,
/// having received the messages before it in `messages` (whole frames from
/// an encoder with the same settings).
fn replay_decoder(a: pmdeflate::Agreed, messages: &[Vec<u8>], upto: &Vec<u8>) -> PerMessageDeflate {
    let mut tx = PerMessageDeflate::new(common::mirror(&a), &CompressSettings::default()).unwrap();
    let mut rx = PerMessageDeflate::new(a, &CompressSettings::default()).unwrap();
    for m in messages {
        if std::ptr::eq(m, upto) {
            break;
        }
        let frames = encode_message(&mut tx, OP_TEXT, m);
        assert!(decode_frames(&mut rx, &frames, NO_LIMIT).unwrap() == *m);
    }
    rx
}

#[test]
fn encoder_fragments_rejoined_and_resplit_arbitrarily() {
    // The sender fragments one way; an intermediary (or a coalescing
    // framing layer) re-fragments the compressed stream another way,
    // including empty frames, over many messages that share a window.
    let mut rng = Rng::new(10);
    for a in [
        agreed(false, false, 15, 15),
        agreed(false, false, 8, 8),
        agreed(true, true, 11, 11),
    ] {
        let mut tx = PerMessageDeflate::new(common::mirror(&a), &CompressSettings::default()).unwrap();
        let mut rx = PerMessageDeflate::new(a, &CompressSettings::default()).unwrap();
        for _ in 0..150 {
            let max = if rng.bool() { 600 } else { 40_000 };
            let n = rng.below(max);
            let m = if rng.bool() { rng.text(n) } else { rng.bytes(n) };
            let mut at: Vec<usize> = (0..rng.below(5)).map(|_| rng.below(n + 1)).collect();
            at.sort();
            let payload = joined(&encode_fragments(&mut tx, OP_BINARY, &cut(&m, &at)));
            let mut re: Vec<usize> = (0..rng.below(12)).map(|_| rng.below(payload.len() + 1)).collect();
            re.sort();
            let got = decode_frames(&mut rx, &resplit(&payload, &re, OP_BINARY), NO_LIMIT).unwrap();
            assert!(got == m, "{} bytes, sender cuts {at:?}, wire cuts {re:?}", m.len());
        }
    }
}
