//! decode(encode(m)) == m through the C ABI in every configuration: any
//! agreement (window bits 8..15 each way, context takeover or not), any
//! compression settings and threshold on the sender, strict window or not
//! on the receiver, arbitrary messages cut into arbitrary fragments,
//! control frames between fragments, the compressed payload of a message
//! re-split at arbitrary points, compaction between messages, and both
//! directions of one connection interleaved.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{blank, frame, payload, split, CfgSpec};
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::config::pmd_config_free;
use pmdeflate::ffi::extension::*;
use pmdeflate::ffi::frame::pmd_frame;
use pmdeflate::ffi::pmd_result::*;

#[derive(Arbitrary, Debug)]
struct Input {
    client_nct: bool,
    server_nct: bool,
    client_bits: u8,
    server_bits: u8,
    client_cfg: CfgSpec,
    server_cfg: CfgSpec,
    messages: Vec<Message>,
}

#[derive(Arbitrary, Debug)]
struct Message {
    from_server: bool,
    binary: bool,
    body: Body,
    /// Fragment boundaries of the message.
    cuts: Vec<u8>,
    /// Re-split the compressed payload at these points instead.
    resplit: Option<Vec<u8>>,
    /// A ping after this fragment.
    ping_after: Option<u8>,
    compact_before: bool,
}

#[derive(Arbitrary, Debug)]
enum Body {
    Bytes(Vec<u8>),
    /// A repeated pattern: long, compressible messages with far matches.
    Repeat {
        pattern: Vec<u8>,
        times: u16,
    },
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Bytes(b) => b.clone(),
            Body::Repeat { pattern, times } => {
                let mut v = Vec::new();
                for _ in 0..(usize::from(*times) % 2048) {
                    v.extend_from_slice(&pattern[..pattern.len().min(64)]);
                }
                v
            }
        }
    }
}

struct Owned {
    opcode: u8,
    fin: bool,
    rsv1: bool,
    data: Vec<u8>,
}

fn decode(rx: *mut pmd_extension, f: &Owned) -> Vec<u8> {
    let inf = pmd_frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: false,
        rsv3: false,
        data: f.data.as_ptr(),
        len: f.data.len(),
    };
    let mut out = blank();
    // SAFETY: rx is live; inf's data is valid.
    let r = unsafe { pmd_extension_decode(rx, &inf, usize::MAX, &mut out) };
    assert_eq!(r, PMD_OK, "decode: {}", common::last_error());
    assert!(!out.rsv1 && out.opcode == f.opcode && out.fin == f.fin);
    payload(&out)
}

/// Text seed: "client_bits server_bits client_nct server_nct" on the
/// first line, then the message, sent both ways, whole and cut in three.
fn seed(text: &[u8]) -> Option<Input> {
    let (line, msg) = common::first_line(text);
    let v: Vec<u8> = line.split_whitespace().map(|n| n.parse().ok()).collect::<Option<_>>()?;
    if v.len() != 4 || v[0] < 8 || v[1] < 8 {
        return None;
    }
    let message = |from_server, cuts: Vec<u8>, resplit| Message {
        from_server,
        binary: from_server,
        body: Body::Bytes(msg.to_vec()),
        cuts,
        resplit,
        ping_after: Some(0),
        compact_before: from_server,
    };
    Some(Input {
        client_bits: v[0] - 8,
        server_bits: v[1] - 8,
        client_nct: v[2] != 0,
        server_nct: v[3] != 0,
        client_cfg: CfgSpec::defaults(),
        server_cfg: CfgSpec::defaults(),
        messages: vec![
            message(false, vec![], None),
            message(true, vec![85, 170], None),
            message(false, vec![1], Some(vec![3, 9, 200])),
        ],
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::input_of(data, seed) else {
        return;
    };
    let cb = 8 + i32::from(input.client_bits % 8);
    let sb = 8 + i32::from(input.server_bits % 8);
    let (ccfg, scfg) = (input.client_cfg.build(), input.server_cfg.build());
    let (mut client, mut server) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: plain values, live configs, local out-pointers.
    unsafe {
        assert_eq!(
            pmd_extension_new(input.server_nct, input.client_nct, sb, cb, ccfg, &mut client),
            PMD_OK
        );
        assert_eq!(
            pmd_extension_new(input.client_nct, input.server_nct, cb, sb, scfg, &mut server),
            PMD_OK
        );
        assert_eq!(pmd_extension_set_max_message_size(client, usize::MAX), PMD_OK);
        assert_eq!(pmd_extension_set_max_message_size(server, usize::MAX), PMD_OK);
    }
    let mut total = 0usize;
    for m in input.messages.iter().take(16) {
        let msg = m.body.bytes();
        total += msg.len();
        if total > 1 << 20 {
            break;
        }
        let (tx, rx) = if m.from_server {
            (server, client)
        } else {
            (client, server)
        };
        if m.compact_before {
            // SAFETY: both are live and idle.
            unsafe {
                assert_eq!(pmd_extension_compact(tx), PMD_OK);
                assert_eq!(pmd_extension_compact(rx), PMD_OK);
            }
        }
        let opcode = if m.binary { 2 } else { 1 };
        let pieces = split(&msg, &m.cuts[..m.cuts.len().min(32)]);
        let mut wire: Vec<Owned> = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let op = if i == 0 { opcode } else { 0 };
            let fin = i + 1 == pieces.len();
            let f = frame(op, fin, false, piece);
            let mut out = blank();
            // SAFETY: tx is live; f's data is valid.
            let r = unsafe { pmd_extension_encode(tx, &f, &mut out) };
            assert_eq!(r, PMD_OK, "encode: {}", common::last_error());
            assert_eq!((out.opcode, out.fin), (op, fin));
            assert_eq!(out.rsv1, i == 0 && out.rsv1, "RSV1 only on the first frame");
            wire.push(Owned {
                opcode: op,
                fin,
                rsv1: out.rsv1,
                data: payload(&out),
            });
        }
        let compressed = wire[0].rsv1;
        if let (Some(cuts), true) = (&m.resplit, compressed) {
            let joined: Vec<u8> = wire.iter().flat_map(|f| f.data.iter().copied()).collect();
            let parts = split(&joined, &cuts[..cuts.len().min(32)]);
            let n = parts.len();
            wire = parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| Owned {
                    opcode: if i == 0 { opcode } else { 0 },
                    fin: i + 1 == n,
                    rsv1: i == 0,
                    data: p.to_vec(),
                })
                .collect();
        }
        let mut got = Vec::new();
        for (i, f) in wire.iter().enumerate() {
            got.extend_from_slice(&decode(rx, f));
            if m.ping_after.is_some_and(|p| usize::from(p) == i) && !f.fin {
                let ping = Owned {
                    opcode: 9,
                    fin: true,
                    rsv1: false,
                    data: b"x".to_vec(),
                };
                assert_eq!(decode(rx, &ping), b"x");
            }
        }
        assert!(
            got == msg,
            "a message of {} bytes came back as {} different bytes",
            msg.len(),
            got.len()
        );
    }
    // SAFETY: all came from the library.
    unsafe {
        pmd_extension_free(client);
        pmd_extension_free(server);
        pmd_config_free(ccfg);
        pmd_config_free(scfg);
    }
});
