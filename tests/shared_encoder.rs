//! The shared encoder (compress once, send to many) and
//! `can_send_shared`: one encode decodes on every connection it allows,
//! whatever its window, whole and fragmented, between the connection's own
//! messages; the truth table of `can_send_shared`; bad arguments; and why a
//! context-takeover sender is excluded.

mod common;

use common::{agreed, decode_frames, encode_fragments, encode_message, frame, mirror, Owned, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_PING, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::{Agreed, Config, Error, PerMessageDeflate, SharedEncoder};

/// Encodes one message with the shared encoder as the given fragments,
/// checking the frame rules of pmd_extension_encode on the way.
fn shared_fragments(enc: &mut SharedEncoder, opcode: u8, fragments: &[&[u8]]) -> Vec<Owned> {
    let mut out = Vec::new();
    for (i, piece) in fragments.iter().enumerate() {
        let first = i == 0;
        let fin = i + 1 == fragments.len();
        let op = if first { opcode } else { OP_CONT };
        let f = enc.encode(&frame(op, fin, false, piece)).unwrap();
        assert_eq!((f.opcode, f.fin, f.rsv1), (op, fin, first));
        out.push(Owned::of(&f));
    }
    out
}

fn shared_message(enc: &mut SharedEncoder, opcode: u8, data: &[u8]) -> Vec<Owned> {
    shared_fragments(enc, opcode, &[data])
}

fn messages() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(11);
    vec![
        Vec::new(),
        b"a".to_vec(),
        rng.text(100),
        rng.text(5_000),
        rng.text(70_000),
        rng.bytes(70_000),
        [rng.text(600), rng.text(600)].concat().repeat(20),
    ]
}

fn ext(a: Agreed) -> PerMessageDeflate {
    PerMessageDeflate::new(a, &CompressSettings::default()).unwrap()
}

/// One shared encode, then every connection whose sending side agreed
/// no_context_takeover with a window at least the encoder's sends it
/// between two messages of its own; the peer decodes all three, with a
/// decoder that resets between messages and with one that keeps its window
/// (a peer may keep it: under no_context_takeover nothing refers back).
#[test]
fn one_encode_decodes_on_every_allowed_connection() {
    let msgs = messages();
    for enc_bits in 8..=15u8 {
        let mut enc = SharedEncoder::new(&Config::default(), enc_bits.into()).unwrap();
        assert_eq!(enc.window_bits(), enc_bits);
        let encoded: Vec<Vec<Owned>> = msgs.iter().map(|m| shared_message(&mut enc, OP_BINARY, m)).collect();
        for conn_bits in enc_bits..=15 {
            for peer_keeps_window in [false, true] {
                let a = agreed(false, true, 15, conn_bits);
                let mut tx = ext(a);
                let mut peer_agreed = mirror(&a);
                peer_agreed.remote_no_context_takeover = !peer_keeps_window;
                let mut rx = ext(peer_agreed);
                for (k, (m, shared)) in msgs.iter().zip(&encoded).enumerate() {
                    let own = msgs[(k + 3) % msgs.len()].clone();
                    for f in encode_message(&mut tx, OP_TEXT, &own) {
                        assert_eq!(decode_frames(&mut rx, &[f], NO_LIMIT).unwrap(), own);
                    }
                    assert!(tx.can_send_shared(enc_bits), "enc {enc_bits} on conn {conn_bits}");
                    let got = decode_frames(&mut rx, shared, NO_LIMIT)
                        .unwrap_or_else(|e| panic!("enc {enc_bits} conn {conn_bits} msg {k}: {e:?}"));
                    assert!(got == *m, "enc {enc_bits} conn {conn_bits} msg {k}: wrong bytes");
                    // The connection's own encoder is as it was.
                    let after = encode_message(&mut tx, OP_TEXT, &own);
                    assert_eq!(decode_frames(&mut rx, &after, NO_LIMIT).unwrap(), own);
                }
            }
        }
    }
}

/// The shared encoder compresses every message from an empty window: the
/// same message twice gives the same bytes (a takeover encoder would
/// refer back to the first copy).
#[test]
fn every_message_starts_from_an_empty_window() {
    let mut rng = Rng::new(5);
    let m = rng.text(3_000);
    let mut enc = SharedEncoder::new(&Config::default(), 15).unwrap();
    let first = shared_message(&mut enc, OP_TEXT, &m);
    let second = shared_message(&mut enc, OP_TEXT, &m);
    assert_eq!(first, second);
    let mut takeover = ext(agreed(false, false, 15, 15));
    let t1 = encode_message(&mut takeover, OP_TEXT, &m);
    let t2 = encode_message(&mut takeover, OP_TEXT, &m);
    assert_eq!(t1[0].data, first[0].data, "the first message is the extension's bytes");
    assert!(
        t2[0].data.len() < first[0].data.len() / 4,
        "takeover refers back; shared does not"
    );
}

/// A fragmented shared message, with a ping between its frames, decodes on
/// several receivers; fragments continue only the message in progress.
#[test]
fn fragmented_shared_messages_decode_everywhere() {
    let mut rng = Rng::new(7);
    let m = rng.text(40_000);
    let mut enc = SharedEncoder::new(&Config::default(), 12).unwrap();
    let mut frames = shared_fragments(&mut enc, OP_TEXT, &[&m[..10], &m[10..20_000], &[], &m[20_000..]]);
    let ping = enc.encode(&frame(OP_PING, true, false, b"hi")).unwrap();
    assert_eq!((ping.opcode, ping.rsv1, ping.data), (OP_PING, false, &b"hi"[..]));
    let ping = Owned::of(&ping);
    frames.insert(2, ping);
    for bits in 12..=15 {
        let mut rx = ext(agreed(true, true, bits, 15));
        let mut got = Vec::new();
        for f in &frames {
            got.extend_from_slice(rx.decode(&f.as_frame(), NO_LIMIT).unwrap().data);
        }
        let mut want = b"hi".to_vec();
        want.splice(0..0, m[..20_000].iter().copied());
        want.extend_from_slice(&m[20_000..]);
        assert!(got == want, "window {bits}");
    }
}

#[test]
fn can_send_shared_truth_table() {
    for local_nct in [false, true] {
        for conn_bits in 8..=15u8 {
            for enc_bits in 8..=15u8 {
                let tx = ext(agreed(false, local_nct, 15, conn_bits));
                let want = local_nct && conn_bits >= enc_bits;
                assert_eq!(
                    tx.can_send_shared(enc_bits),
                    want,
                    "nct {local_nct} conn {conn_bits} enc {enc_bits}"
                );
            }
        }
    }
    // The receiving direction's takeover does not matter: only this side
    // sends the shared message.
    assert!(ext(agreed(false, true, 15, 15)).can_send_shared(15));
    assert!(ext(agreed(true, true, 9, 15)).can_send_shared(15));
    // Mid-message: after a first frame without FIN, until the final frame.
    let mut tx = ext(agreed(false, true, 15, 15));
    tx.encode(&frame(OP_TEXT, false, false, b"part")).unwrap();
    assert!(!tx.can_send_shared(15));
    tx.encode(&frame(OP_CONT, false, false, b"more")).unwrap();
    assert!(!tx.can_send_shared(15));
    tx.encode(&frame(OP_PING, true, false, b"")).unwrap();
    assert!(!tx.can_send_shared(15), "a control frame does not end the message");
    tx.encode(&frame(OP_CONT, true, false, b"end")).unwrap();
    assert!(tx.can_send_shared(15));
    // After a failed encode the next data frame starts a message: idle.
    tx.encode(&frame(OP_TEXT, false, false, b"part")).unwrap();
    assert!(tx.encode(&frame(OP_TEXT, true, false, b"x")).is_err());
    assert!(tx.can_send_shared(15));
    // While an encode holds the encode side (another thread), not known.
    let tx = ext(agreed(false, true, 15, 15));
    let held = tx.encoder().unwrap();
    assert!(!tx.can_send_shared(15));
    drop(held);
    assert!(tx.can_send_shared(15));
}

#[test]
fn bad_arguments_are_refused() {
    for bits in [-1i64, 0, 7, 16, 255, 1 << 40] {
        let e = SharedEncoder::new(&Config::default(), bits).err().expect("refused");
        assert!(matches!(e, Error::InvalidArgument(_)), "{bits}: {e:?}");
        assert!(e.to_string().contains("window_bits must be 8..15"), "{e}");
    }
    let mut enc = SharedEncoder::new(&Config::default(), 15).unwrap();
    let refused = |r: Result<pmdeflate::Frame<'_>, Error>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(refused(enc.encode(&frame(OP_TEXT, true, true, b"x"))), "RSV1 set");
    assert!(refused(enc.encode(&frame(OP_CONT, true, false, b"x"))), "no message");
    assert!(refused(enc.encode(&frame(3, true, false, b"x"))), "reserved opcode");
    assert!(refused(enc.encode(&frame(16, true, false, b"x"))), "opcode > 15");
    enc.encode(&frame(OP_TEXT, false, false, b"x")).unwrap();
    assert!(refused(enc.encode(&frame(OP_BINARY, true, false, b"y"))), "interleaved");
    // After an error, a new message works.
    let f = Owned::of(&enc.encode(&frame(OP_TEXT, true, false, b"ok")).unwrap());
    let mut rx = ext(agreed(true, true, 15, 15));
    assert_eq!(decode_frames(&mut rx, &[f], NO_LIMIT).unwrap(), b"ok");
}

/// The zlib settings of the config apply: level 0 stores the message.
#[test]
fn config_settings_apply() {
    let mut cfg = Config::default();
    cfg.compress.level = 0;
    let m = Rng::new(3).text(2_000);
    let mut enc = SharedEncoder::new(&cfg, 15).unwrap();
    let stored = shared_message(&mut enc, OP_TEXT, &m);
    assert!(stored[0].data.len() > m.len(), "level 0 stores");
    let mut rx = ext(agreed(true, true, 15, 15));
    assert_eq!(decode_frames(&mut rx, &stored, NO_LIMIT).unwrap(), m);
    assert!(enc.memory_usage() > 0, "the output buffer is counted");
}

/// Why a sender with context takeover may not send a shared message: its
/// peer's window then holds bytes its own deflate stream never saw, and
/// its next message, which refers back into its own history, decodes
/// wrongly (or fails) at the peer.
#[test]
fn a_takeover_sender_would_corrupt_its_next_message() {
    let mut rng = Rng::new(9);
    let m1 = rng.text(2_000);
    let foreign = rng.text(2_000);
    let a = agreed(false, false, 15, 15);
    assert!(!ext(a).can_send_shared(15));
    let (mut tx, mut rx) = (ext(a), ext(mirror(&a)));
    let f1 = encode_message(&mut tx, OP_TEXT, &m1);
    assert_eq!(decode_frames(&mut rx, &f1, NO_LIMIT).unwrap(), m1);
    let mut enc = SharedEncoder::new(&Config::default(), 15).unwrap();
    let shared = shared_message(&mut enc, OP_TEXT, &foreign);
    assert_eq!(decode_frames(&mut rx, &shared, NO_LIMIT).unwrap(), foreign);
    let f2 = encode_fragments(&mut tx, OP_TEXT, &[&m1]);
    match decode_frames(&mut rx, &f2, NO_LIMIT) {
        Ok(got) => assert!(got != m1, "the peer decoded the right bytes by chance"),
        Err(e) => assert!(matches!(e, Error::CorruptData(_)), "{e:?}"),
    }
}
