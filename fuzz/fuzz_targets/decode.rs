//! The decoder through the C ABI (pmd_extension_new, pmd_extension_decode,
//! pmd_extension_set_max_message_size, pmd_extension_compact), fed
//! arbitrary frame sequences in every negotiated configuration: opcodes,
//! FIN and RSV bits, payloads, splits, max_size, per-message limits, and
//! real compressed messages from a mirrored peer, intact or corrupted.
//! Properties: every result is one pmd_extension_decode documents; an
//! error is sticky (every later decode returns it); control frames pass
//! through unchanged; output never has RSV1 and never exceeds max_size;
//! an intact compressed message decodes to the bytes that were sent.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{blank, frame, payload, split, CfgSpec};
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::config::pmd_config_free;
use pmdeflate::ffi::extension::*;
use pmdeflate::ffi::frame::pmd_frame;
use pmdeflate::ffi::pmd_result;
use pmdeflate::ffi::pmd_result::*;

#[derive(Arbitrary, Debug)]
struct Input {
    remote_nct: bool,
    local_nct: bool,
    remote_bits: u8,
    local_bits: u8,
    cfg: CfgSpec,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Opcode {
    Cont,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
    Any(u8),
}

impl Opcode {
    fn value(&self) -> u8 {
        match self {
            Opcode::Cont => 0,
            Opcode::Text => 1,
            Opcode::Binary => 2,
            Opcode::Close => 8,
            Opcode::Ping => 9,
            Opcode::Pong => 10,
            Opcode::Any(v) => *v,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum MaxSize {
    Unlimited,
    Small(u16),
}

impl MaxSize {
    fn value(&self) -> usize {
        match self {
            MaxSize::Unlimited => usize::MAX,
            MaxSize::Small(n) => usize::from(*n),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// One raw frame.
    Frame {
        opcode: Opcode,
        fin: bool,
        rsv1: bool,
        rsv2: bool,
        rsv3: bool,
        data: Vec<u8>,
        max: MaxSize,
    },
    /// A message the mirrored peer compressed (text or binary), its
    /// compressed payload re-split at `cuts`, maybe with one byte changed,
    /// maybe with a control frame in the middle.
    Compressed {
        binary: bool,
        msg: Vec<u8>,
        cuts: Vec<u8>,
        corrupt: Option<(u16, u8)>,
        ping_at: Option<u8>,
    },
    SetMaxMessage(Option<u16>),
    Compact,
}

struct State {
    ext: *mut pmd_extension,
    sticky: Option<pmd_result>,
}

impl State {
    /// Decodes one frame and checks the result against the documented set,
    /// the sticky error and the frame rules. Returns the output payload.
    fn decode(&mut self, f: &pmd_frame, max: usize) -> Result<Vec<u8>, pmd_result> {
        let mut out = blank();
        // SAFETY: ext is live; f's data is valid for its length.
        let r = unsafe { pmd_extension_decode(self.ext, f, max, &mut out) };
        if let Some(s) = self.sticky {
            assert_eq!(r, s, "a decode error is sticky");
            return Err(r);
        }
        assert!(common::is_decode_result(r), "undocumented {r:?}");
        if f.opcode > 15 {
            assert_eq!(r, PMD_ERR_INVALID_ARGUMENT, "opcode {} > 15", f.opcode);
        }
        if r != PMD_OK {
            if f.opcode <= 15 {
                assert_ne!(r, PMD_ERR_INVALID_ARGUMENT, "only opcodes above 15 are invalid here");
            }
            self.sticky = Some(r);
            return Err(r);
        }
        assert_eq!(
            (out.opcode, out.fin, out.rsv2, out.rsv3),
            (f.opcode, f.fin, f.rsv2, f.rsv3)
        );
        assert!(!out.rsv1, "RSV1 is cleared");
        if f.opcode >= 8 {
            assert!(!f.rsv1, "RSV1 on a control frame is a protocol error");
            assert_eq!(out.data, f.data, "control frames pass through");
            assert_eq!(out.len, f.len);
        }
        let p = payload(&out);
        if f.rsv1 || out.data != f.data {
            assert!(p.len() <= max, "{} bytes out with max_size {max}", p.len());
        }
        Ok(p)
    }
}

/// Text seed: "remote_nct local_nct remote_bits local_bits [settings]",
/// then one step a line:
///   frame OP FIN RSV MAX HEX   a raw frame (RSV: 4 = RSV1, 2 = RSV2,
///                              1 = RSV3; MAX: bytes or "inf")
///   msg TEXT                   a message the peer compressed
///   msgcut C,C,.. TEXT         the same, its payload re-split
///   corrupt AT XOR TEXT        the same, one byte XORed
///   limit N|none               the per-message limit
///   compact
fn seed(text: &[u8]) -> Option<Input> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next()?.split_whitespace().collect();
    let num = |s: &str| -> Option<u32> { s.parse().ok() };
    let mut steps = Vec::new();
    for line in lines {
        let w: Vec<&str> = line.splitn(6, ' ').collect();
        if w.len() < 2 && !matches!(w[0], "compact" | "msg") {
            return None;
        }
        let compressed = |msg: &str, cuts: Vec<u8>, corrupt| Step::Compressed {
            binary: false,
            msg: msg.as_bytes().to_vec(),
            cuts,
            corrupt,
            ping_at: None,
        };
        steps.push(match w[0] {
            "frame" => {
                if w.len() < 5 {
                    return None;
                }
                let rsv = num(w[3])?;
                Step::Frame {
                    opcode: Opcode::Any(num(w[1])? as u8),
                    fin: num(w[2])? != 0,
                    rsv1: rsv & 4 != 0,
                    rsv2: rsv & 2 != 0,
                    rsv3: rsv & 1 != 0,
                    data: common::unhex(w.get(5).copied().unwrap_or("")),
                    max: if w[4] == "inf" {
                        MaxSize::Unlimited
                    } else {
                        MaxSize::Small(num(w[4])? as u16)
                    },
                }
            }
            "msg" => compressed(line.splitn(2, ' ').nth(1).unwrap_or(""), vec![], None),
            "msgcut" => {
                let w: Vec<&str> = line.splitn(3, ' ').collect();
                let cuts = w[1]
                    .split(',')
                    .map(|c| num(c).map(|c| c as u8))
                    .collect::<Option<_>>()?;
                compressed(w.get(2).copied().unwrap_or(""), cuts, None)
            }
            "corrupt" => {
                let w: Vec<&str> = line.splitn(4, ' ').collect();
                if w.len() < 3 {
                    return None;
                }
                compressed(
                    w.get(3).copied().unwrap_or(""),
                    vec![],
                    Some((num(w[1])? as u16, num(w[2])? as u8)),
                )
            }
            "limit" => Step::SetMaxMessage(if w[1] == "none" { None } else { Some(num(w[1])? as u16) }),
            "compact" => Step::Compact,
            _ => return None,
        });
    }
    if head.len() < 4 {
        return None;
    }
    Some(Input {
        remote_nct: num(head[0])? != 0,
        local_nct: num(head[1])? != 0,
        remote_bits: (num(head[2])? as u8).wrapping_sub(8),
        local_bits: (num(head[3])? as u8).wrapping_sub(8),
        cfg: CfgSpec::defaults().with(&head[4..].join(" "))?,
        steps,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::input_of(data, seed) else {
        return;
    };
    let rb = 8 + i32::from(input.remote_bits % 8);
    let lb = 8 + i32::from(input.local_bits % 8);
    let cfg = input.cfg.build();
    let mut ext = std::ptr::null_mut();
    let mut peer = std::ptr::null_mut();
    // SAFETY: plain values, a live config, local out-pointers.
    unsafe {
        assert_eq!(
            pmd_extension_new(input.remote_nct, input.local_nct, rb, lb, cfg, &mut ext),
            PMD_OK
        );
        assert_eq!(
            pmd_extension_new(input.local_nct, input.remote_nct, lb, rb, cfg, &mut peer),
            PMD_OK
        );
    }
    let mut st = State { ext, sticky: None };
    let mut limit = input.cfg.max_message.map_or(usize::MAX, |m| m as usize);
    // Whether the peer's stream and ours are still in step (no raw data
    // frame reached the decoder since the peer's last message).
    let mut in_step = true;
    for step in input.steps.iter().take(64) {
        match step {
            Step::Frame {
                opcode,
                fin,
                rsv1,
                rsv2,
                rsv3,
                data,
                max,
            } => {
                let f = pmd_frame {
                    opcode: opcode.value(),
                    fin: *fin,
                    rsv1: *rsv1,
                    rsv2: *rsv2,
                    rsv3: *rsv3,
                    data: data.as_ptr(),
                    len: data.len(),
                };
                if opcode.value() < 8 {
                    in_step = false;
                }
                let _ = st.decode(&f, max.value());
            }
            Step::Compressed {
                binary,
                msg,
                cuts,
                corrupt,
                ping_at,
            } => {
                let msg = &msg[..msg.len().min(8192)];
                let clean_before = in_step && st.sticky.is_none();
                // The peer compresses the whole message as one frame.
                let mut enc = blank();
                let whole = frame(if *binary { 2 } else { 1 }, true, false, msg);
                // SAFETY: peer is live; whole's data is valid.
                let r = unsafe { pmd_extension_encode(peer, &whole, &mut enc) };
                assert_eq!(r, PMD_OK);
                let mut wire = payload(&enc);
                let compressed = enc.rsv1;
                if let Some((at, x)) = corrupt {
                    if !wire.is_empty() && *x != 0 {
                        let i = usize::from(*at) % wire.len();
                        wire[i] ^= x;
                        in_step = false;
                    }
                }
                let pieces = split(&wire, cuts);
                let mut got = Vec::new();
                let mut ok = true;
                for (i, piece) in pieces.iter().enumerate() {
                    if ping_at.is_some_and(|p| usize::from(p) % pieces.len() == i) && i > 0 {
                        let ping = frame(9, true, false, b"ping");
                        ok &= st.decode(&ping, usize::MAX).is_ok();
                    }
                    let op = if i == 0 { enc.opcode } else { 0 };
                    let f = frame(op, i + 1 == pieces.len(), compressed && i == 0, piece);
                    match st.decode(&f, usize::MAX) {
                        Ok(p) => got.extend_from_slice(&p),
                        Err(_) => ok = false,
                    }
                }
                if clean_before && in_step {
                    // An intact message: it decodes to what was sent
                    // exactly when it fits the per-message limit.
                    if msg.len() <= limit {
                        assert!(ok, "an intact message failed: {:?} {}", st.sticky, common::last_error());
                        assert!(
                            got == msg,
                            "an intact message of {} bytes decoded to {} other bytes",
                            msg.len(),
                            got.len()
                        );
                    } else {
                        assert_eq!(
                            st.sticky,
                            Some(PMD_ERR_PAYLOAD_TOO_BIG),
                            "{} bytes over a limit of {limit}",
                            msg.len()
                        );
                    }
                }
            }
            Step::SetMaxMessage(m) => {
                limit = m.map_or(usize::MAX, usize::from);
                // SAFETY: ext is live.
                assert_eq!(unsafe { pmd_extension_set_max_message_size(ext, limit) }, PMD_OK);
            }
            Step::Compact => {
                // SAFETY: ext is live and not in use elsewhere.
                let r = unsafe { pmd_extension_compact(ext) };
                assert!(matches!(r, PMD_OK | PMD_ERR_OUT_OF_MEMORY), "compact: {r:?}");
            }
        }
        // SAFETY: ext is live.
        let mem = unsafe { pmd_extension_memory_usage(ext) };
        assert!(mem < 64 << 20, "memory usage {mem}");
    }
    // SAFETY: all three came from the library.
    unsafe {
        pmd_extension_free(ext);
        pmd_extension_free(peer);
        pmd_config_free(cfg);
    }
});
