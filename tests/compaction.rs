//! `PerMessageDeflate::compact` (pmd_extension_compact, docs/memory.md):
//! messages round-trip byte-exact across any number of compactions, on
//! either end, in every configuration (window bits 8..15 x context takeover
//! on each side x fragmentation); a compacted decoder decodes a peer whose
//! stream never stopped; a restored encoder refers back into its history;
//! a side in the middle of a message keeps its stream; and what a
//! compacted connection holds is the real history, nothing more.

mod common;

use common::{agreed, cut, decode_frames, encode_fragments, encode_message, frame, pair, Owned, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Error, PerMessageDeflate};

const KIB: usize = 1024;

/// Sends `msg` cut at `at` from `tx` to `rx`; checks it arrives intact and
/// returns the compressed bytes sent.
fn send(tx: &mut PerMessageDeflate, rx: &mut PerMessageDeflate, opcode: u8, msg: &[u8], at: &[usize]) -> usize {
    let frames = encode_fragments(tx, opcode, &cut(msg, at));
    let got = decode_frames(rx, &frames, NO_LIMIT)
        .unwrap_or_else(|e| panic!("decode of {} bytes cut at {at:?}: {e:?}", msg.len()));
    assert!(
        got == msg,
        "message of {} bytes cut at {at:?} came back different",
        msg.len()
    );
    frames.iter().map(|f| f.data.len()).sum()
}

fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    let n = rng.below(4);
    let mut at: Vec<usize> = (0..n).map(|_| rng.below(len + 1)).collect();
    at.sort_unstable();
    at
}

#[test]
fn round_trips_across_compactions_in_every_configuration() {
    let mut rng = Rng::new(11);
    // Messages that repeat, so that later ones refer back into the history.
    let base = rng.text(3000);
    for bits in 8u8..=15 {
        for (a_nct, b_nct) in [(false, false), (false, true), (true, false), (true, true)] {
            for mem_level in [8, 1] {
                let s = CompressSettings {
                    mem_level,
                    ..CompressSettings::default()
                };
                // a sends with a_nct, b with b_nct; both windows `bits`.
                let (mut a, mut b) = pair(agreed(b_nct, a_nct, bits, bits), &s);
                for i in 0..40 {
                    let len = [0, 1, 100, 600, 3000][rng.below(5)];
                    let start = rng.below(base.len() - len + 1);
                    let msg = &base[start..start + len];
                    let opcode = if rng.bool() { OP_TEXT } else { OP_BINARY };
                    let at = random_cuts(&mut rng, len);
                    // Compaction on the sender, the receiver, both or neither,
                    // before the message, in both directions.
                    let (ca, cb) = (rng.bool(), rng.bool());
                    if ca {
                        a.compact().unwrap();
                    }
                    if cb {
                        b.compact().unwrap();
                    }
                    if i % 2 == 0 {
                        send(&mut a, &mut b, opcode, msg, &at);
                    } else {
                        send(&mut b, &mut a, opcode, msg, &at);
                    }
                }
            }
        }
    }
}

#[test]
fn compaction_between_fragments_leaves_the_message_in_progress_intact() {
    let mut rng = Rng::new(12);
    for bits in [8u8, 9, 12, 15] {
        for nct in [false, true] {
            let (mut tx, mut rx) = pair(agreed(nct, nct, bits, bits), &CompressSettings::default());
            for _ in 0..10 {
                let msg = rng.text(2000);
                let parts = cut(&msg, &[500, 1200]);
                let mut got = Vec::new();
                for (k, part) in parts.iter().enumerate() {
                    let opcode = if k == 0 { OP_TEXT } else { OP_CONT };
                    let fin = k + 1 == parts.len();
                    let wire = Owned::of(&tx.encode(&frame(opcode, fin, false, part)).unwrap());
                    // Both ends compact in the middle of the message: the
                    // streams stay, only the buffers go.
                    tx.compact().unwrap();
                    let plain = rx.decode(&wire.as_frame(), NO_LIMIT).unwrap();
                    got.extend_from_slice(plain.data);
                    rx.compact().unwrap();
                    if !fin {
                        assert!(tx.memory_usage() >= 1 << (bits.max(9) + 2), "the deflate stream stays");
                        assert!(rx.memory_usage() >= 1 << bits, "the inflate stream stays");
                    }
                }
                assert_eq!(got, msg);
            }
        }
    }
}

/// The peer never compacts and its deflate stream refers back as far as
/// its window: the compacted decoder must still hold all of it.
#[test]
fn a_compacted_decoder_decodes_a_peer_whose_stream_goes_on() {
    let mut rng = Rng::new(13);
    for bits in 8u8..=15 {
        let window = 1usize << bits;
        let (mut tx, mut rx) = pair(agreed(false, false, bits, bits), &CompressSettings::default());
        // Random bytes the size of the window, then the same bytes again:
        // the second copy compresses to back references of the full window
        // (up to the 250 bytes of zlib's smallest window at 8 and 9).
        let block = rng.bytes(if bits <= 9 { 250 } else { window - 262 });
        let first = send(&mut tx, &mut rx, OP_BINARY, &block, &[]);
        rx.compact().unwrap();
        let second = send(&mut tx, &mut rx, OP_BINARY, &block, &[]);
        assert!(
            second * 8 < first,
            "bits {bits}: the repeat refers back into the history ({first} then {second} bytes)"
        );
        // Many more, compacting the receiver before each.
        for _ in 0..20 {
            rx.compact().unwrap();
            let len = rng.below(block.len() + 1);
            let start = rng.below(block.len() - len + 1);
            let msg = &block[start..start + len];
            send(&mut tx, &mut rx, OP_BINARY, msg, &[]);
        }
    }
}

/// A restored encoder compresses a repeat into back references to what it
/// sent before the compaction, and the peer (never compacted) decodes it.
#[test]
fn a_restored_encoder_refers_back_into_its_history() {
    let mut rng = Rng::new(14);
    for bits in 9u8..=15 {
        let (mut tx, mut rx) = pair(agreed(false, false, bits, bits), &CompressSettings::default());
        let msg = rng.bytes(200);
        let first = send(&mut tx, &mut rx, OP_BINARY, &msg, &[]);
        tx.compact().unwrap();
        let kept = tx.memory_usage();
        assert_eq!(kept, 200, "bits {bits}: the history is the 200 bytes sent");
        let second = send(&mut tx, &mut rx, OP_BINARY, &msg, &[]);
        assert!(first >= 200, "{first}");
        assert!(second <= 8, "bits {bits}: {second} bytes for a repeat after compaction");
    }
    // Without takeover the repeat costs as much as the first.
    let (mut tx, mut rx) = pair(agreed(true, true, 15, 15), &CompressSettings::default());
    let msg = rng.bytes(200);
    let first = send(&mut tx, &mut rx, OP_BINARY, &msg, &[]);
    tx.compact().unwrap();
    assert_eq!(tx.memory_usage(), 0);
    assert_eq!(send(&mut tx, &mut rx, OP_BINARY, &msg, &[]), first);
}

/// What a compacted connection holds (docs/memory.md): no_context_takeover
/// both ways, nothing; with takeover, the real history (each side's window
/// holds the bytes that went through it, up to 2^bits).
#[test]
fn compacted_memory_is_the_real_history() {
    for (bits, mem_level) in [(15u8, 8), (12, 5), (9, 1), (8, 8)] {
        let s = CompressSettings {
            mem_level,
            ..CompressSettings::default()
        };
        for nct in [true, false] {
            let (mut x, mut y) = pair(agreed(nct, nct, bits, bits), &s);
            let small = b"{\"type\":\"chat\",\"text\":\"a small message of the kind chat servers carry\"}";
            let frames = encode_message(&mut x, OP_TEXT, small);
            decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
            let frames = encode_message(&mut y, OP_TEXT, small);
            decode_frames(&mut x, &frames, NO_LIMIT).unwrap();
            let before = x.memory_usage();
            x.compact().unwrap();
            let after = x.memory_usage();
            println!(
                "compaction: bits {bits}, memLevel {mem_level}, no_context_takeover {nct}: \
                 {before} B before, {after} B after (+ the handle)"
            );
            let history = if nct { 0 } else { 2 * small.len() };
            assert_eq!(after, history);
            // Compacting twice changes nothing.
            x.compact().unwrap();
            assert_eq!(x.memory_usage(), after);
        }
        // Large traffic: the history is capped at the window.
        let (mut x, mut y) = pair(agreed(false, false, bits, bits), &s);
        let big = Rng::new(15).text(100 * KIB);
        let frames = encode_message(&mut x, OP_TEXT, &big);
        decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
        x.compact().unwrap();
        y.compact().unwrap();
        let deflate_window = 1usize << bits.max(9);
        assert_eq!(x.memory_usage(), deflate_window, "the encoder keeps one window");
        assert_eq!(y.memory_usage(), 1usize << bits, "the decoder keeps one window");
    }
}

#[test]
fn compaction_is_refused_while_a_side_is_in_use() {
    let ext = common::default_ext();
    {
        let _busy = ext.encoder().unwrap();
        let e = ext.compact().unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }
    {
        let _busy = ext.decoder().unwrap();
        let e = ext.compact().unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }
    ext.compact().unwrap();
}

#[test]
fn a_failed_decoder_stays_failed_after_compaction() {
    let (mut tx, mut rx) = pair(agreed(false, false, 15, 15), &CompressSettings::default());
    send(&mut tx, &mut rx, OP_TEXT, b"before", &[]);
    let e = rx
        .decode(&frame(OP_TEXT, true, true, &[0xff, 0xff, 0xff]), NO_LIMIT)
        .unwrap_err();
    assert!(matches!(e, Error::CorruptData(_)), "{e:?}");
    rx.compact().unwrap();
    assert_eq!(rx.memory_usage(), 0);
    let frames = encode_message(&mut tx, OP_TEXT, b"after");
    let e = decode_frames(&mut rx, &frames, NO_LIMIT).unwrap_err();
    assert!(matches!(e, Error::CorruptData(_)), "{e:?}");
}

/// A compacted no_context_takeover connection holds its handle and nothing
/// else: 240 bytes, under issue #11's 256 (`pmd_extension_memory_usage` adds
/// the handle's size to what is counted here). A field added to the handle
/// or to a stream wrapper kept inline in it shows here first.
#[test]
fn a_compacted_no_context_takeover_connection_holds_only_its_handle() {
    assert!(
        std::mem::size_of::<PerMessageDeflate>() <= 240,
        "handle of {} bytes",
        std::mem::size_of::<PerMessageDeflate>()
    );
    let (mut tx, mut rx) = pair(agreed(true, true, 15, 15), &CompressSettings::default());
    for _ in 0..3 {
        send(&mut tx, &mut rx, OP_TEXT, b"{\"price\": 12.5}", &[]);
        send(&mut rx, &mut tx, OP_BINARY, &[7u8; 300], &[100]);
        tx.compact().unwrap();
        rx.compact().unwrap();
        assert_eq!((tx.memory_usage(), rx.memory_usage()), (0, 0));
    }
}
