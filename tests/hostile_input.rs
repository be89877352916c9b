//! What a hostile peer can send never panics, hangs or grows memory past
//! the limits: random frame sequences (any opcode, RSV bits, FIN, payload,
//! including valid compressed data cut and flipped) into the decoder, and
//! mutated header values into both negotiation roles. Every outcome is
//! either Ok or one of the documented errors.

mod common;

use common::Rng;
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_TEXT};
use pmdeflate::{negotiate, Agreed, Config, Error, Frame, PerMessageDeflate};

fn ext(bits: u8, nct: bool) -> PerMessageDeflate {
    let agreed = Agreed {
        remote_no_context_takeover: nct,
        local_no_context_takeover: nct,
        remote_max_window_bits: bits,
        local_max_window_bits: bits,
    };
    PerMessageDeflate::new(agreed, &CompressSettings::default()).unwrap()
}

#[test]
fn random_frame_sequences_fail_cleanly() {
    let mut rng = Rng::new(0x5eed);
    // Valid compressed material to cut, flip and splice.
    let mut tx = ext(15, false);
    let sample = rng.text(4000);
    let valid = tx.encode(&frame(OP_TEXT, true, false, &sample)).unwrap().data.to_vec();
    // How often each outcome came up: the test must reach them all.
    let mut seen = [0usize; 4];
    for round in 0..3000 {
        let bits = 8 + (round % 8) as u8;
        let max_size = if round % 2 == 0 { 64 * 1024 } else { 1000 };
        let mut rx = ext(bits, round % 3 == 0);
        let mut failed: Option<Error> = None;
        for _ in 0..(1 + rng.below(8)) {
            let opcode = [OP_CONT, OP_TEXT, OP_BINARY, 3, 8, 9, 10, 11][rng.below(8)];
            let (fin, rsv1, rsv2, rsv3) = (
                rng.below(3) != 0,
                rng.below(2) == 0,
                rng.below(8) == 0,
                rng.below(8) == 0,
            );
            let mut data = match rng.below(3) {
                0 => {
                    let n = rng.below(300);
                    rng.bytes(n)
                }
                1 => {
                    let n = rng.below(valid.len() + 1);
                    valid[..n].to_vec()
                }
                _ => valid.clone(),
            };
            if !data.is_empty() && rng.below(2) == 0 {
                let i = rng.below(data.len());
                let bit = rng.below(8);
                data[i] ^= 1 << bit;
            }
            let f = Frame {
                opcode,
                fin,
                rsv1,
                rsv2,
                rsv3,
                data: &data,
            };
            match rx.decode(&f, max_size) {
                Ok(out) => {
                    assert!(failed.is_none(), "a decode succeeded after {failed:?}");
                    // Inflated output respects max_size; frames passed
                    // through are the host's to measure (docs/limits.md).
                    let inflated = out.data.as_ptr() != data.as_ptr();
                    assert!(!inflated || out.data.len() <= max_size);
                    seen[0] += usize::from(out.data.len() > 100);
                }
                Err(e) => {
                    assert!(
                        matches!(e, Error::Protocol(_) | Error::CorruptData(_) | Error::PayloadTooBig(_)),
                        "round {round}: unexpected {e:?}"
                    );
                    if let Some(first) = &failed {
                        assert_eq!(&e, first, "errors are sticky");
                    } else {
                        let kind = match e {
                            Error::Protocol(_) => 1,
                            Error::CorruptData(_) => 2,
                            _ => 3,
                        };
                        seen[kind] += 1;
                    }
                    failed = Some(e);
                }
            }
            // Output buffers stay near max_size, zlib state near its figures.
            assert!(rx.memory_usage() < 2 * 64 * 1024 + 400 * 1024, "{}", rx.memory_usage());
        }
    }
    println!("decoded > 100 bytes, protocol, corrupt, too big: {seen:?}");
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

fn frame(opcode: u8, fin: bool, rsv1: bool, data: &[u8]) -> Frame<'_> {
    Frame {
        opcode,
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        data,
    }
}

#[test]
fn mutated_headers_fail_cleanly_in_both_roles() {
    let mut rng = Rng::new(0xbad);
    let seeds: [&[u8]; 4] = [
        b"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
        b"permessage-deflate; server_no_context_takeover, x-foo; a=\"b\", permessage-deflate",
        b"permessage-deflate; client_max_window_bits=9; client_no_context_takeover",
        b"",
    ];
    let alphabet = b" \t,;=\"\\abcdefgilmnoprstuvwx_-0123456789\x00\x7f\xff";
    let mut server = Config::default();
    server.set_client_max_window_bits(12).unwrap();
    let mut client = Config::default();
    client.set_client_max_window_bits(-1).unwrap();
    let (mut ok, mut syntax, mut refused) = (0, 0, 0);
    for _ in 0..50_000 {
        let mut value = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..(1 + rng.below(4)) {
            let i = rng.below(value.len() + 1);
            let byte = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 => value.insert(i, byte),
                1 if i < value.len() => {
                    value.remove(i);
                }
                _ if i < value.len() => value[i] = byte,
                _ => {}
            }
        }
        for result in [
            negotiate::server_negotiate(&server, &value).map(|_| ()),
            negotiate::client_accept(&client, &value).map(|_| ()),
        ] {
            match result {
                Ok(()) => ok += 1,
                Err(Error::HeaderSyntax(_)) => syntax += 1,
                Err(Error::Negotiation(_)) => refused += 1,
                Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(&value)),
            }
        }
    }
    println!("accepted {ok}, syntax errors {syntax}, negotiation errors {refused}");
    assert!(ok > 0 && syntax > 0 && refused > 0);
}
