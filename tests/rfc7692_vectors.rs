//! The RFC 7692 section 7.2.3 vectors (docs/frames.md, "Examples"): every one
//! decodes to "Hello", and encoding "Hello" gives the RFC's exact bytes.

mod common;

use common::{default_ext, frame};
use pmdeflate::extension::{OP_CONT, OP_TEXT};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::PerMessageDeflate;

fn decode_whole(ext: &mut PerMessageDeflate, payload: &[u8]) -> Vec<u8> {
    let out = ext.decode(&frame(OP_TEXT, true, true, payload), NO_LIMIT).unwrap();
    assert!(!out.rsv1);
    out.data.to_vec()
}

#[test]
fn single_vectors_decode_to_hello() {
    let cases: [(&str, &[u8]); 4] = [
        ("7.2.3.1 default", &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        (
            "7.2.3.3 stored block",
            &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00],
        ),
        (
            "7.2.3.4 BFINAL block",
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        ),
        (
            "7.2.3.5 two blocks",
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
        ),
    ];
    for (name, payload) in cases {
        let mut ext = default_ext();
        assert_eq!(decode_whole(&mut ext, payload), b"Hello", "{name}");
        // The decoder is ready for a second message afterwards.
        assert_eq!(
            decode_whole(&mut ext, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            b"Hello",
            "{name} then"
        );
    }
}

#[test]
fn second_hello_uses_the_window() {
    let mut ext = default_ext();
    assert_eq!(
        decode_whole(&mut ext, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        b"Hello"
    );
    assert_eq!(decode_whole(&mut ext, &[0xf2, 0x00, 0x11, 0x00, 0x00]), b"Hello");
}

#[test]
fn empty_message_and_two_frames() {
    let mut ext = default_ext();
    assert_eq!(decode_whole(&mut ext, &[0x00]), b"");
    let first = ext
        .decode(
            &frame(
                OP_TEXT,
                false,
                true,
                &[0xf2, 0x48, 0xcd, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff],
            ),
            NO_LIMIT,
        )
        .unwrap()
        .data
        .to_vec();
    let second = ext
        .decode(&frame(OP_CONT, true, false, &[0xca, 0xc9, 0x07, 0x00]), NO_LIMIT)
        .unwrap()
        .data
        .to_vec();
    assert_eq!([first, second].concat(), b"Hello");
}

#[test]
fn encoding_hello_gives_the_rfc_bytes() {
    let mut ext = default_ext();
    let out = ext.encode(&frame(OP_TEXT, true, false, b"Hello")).unwrap();
    assert!(out.rsv1);
    assert_eq!(out.data, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    let out = ext.encode(&frame(OP_TEXT, true, false, b"Hello")).unwrap();
    assert_eq!(out.data, [0xf2, 0x00, 0x11, 0x00, 0x00], "second Hello with takeover");
    let out = ext.encode(&frame(OP_TEXT, true, false, b"")).unwrap();
    assert_eq!(out.data, [0x00], "empty message");
}
