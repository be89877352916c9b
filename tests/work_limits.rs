//! Work limits (docs/work-limits.md): pathological input ends in bounded
//! time and memory with the documented result.
//!
//! - a 1 MiB header value, 10,000 offers in one header, 10,000 parameters
//!   in one offer: PMD_ERR_HEADER_SYNTAX ("too long"), through the parser,
//!   both negotiation roles and the framework's negotiator; the largest
//!   values still accepted negotiate in work linear in their size;
//! - a whole 1 MiB message in one-byte frames, decoded and encoded, in
//!   several configurations: byte-exact, without per-frame allocations;
//! - a bomb spread over 10,000 continuation frames: PMD_ERR_PAYLOAD_TOO_BIG
//!   within the limit, sticky afterwards, in bounded memory; without a
//!   limit, every frame decoded in memory bounded by one frame's output.
//!
//! Time is not asserted (a loaded machine would make that flaky): the work
//! is, as allocations counted per thread by this binary's allocator and
//! zlib's memory as memory_usage reports it. Each test prints its wall
//! time (`cargo test --release --test work_limits -- --nocapture`).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use common::{agreed, cfg, encode_fragments, joined, mirror, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CONT, OP_TEXT};
use pmdeflate::framework::{self, Custom, Member, ServerDeflateFactory, ServerFactory};
use pmdeflate::header::{self, ParamRef};
use pmdeflate::limit::NO_LIMIT;
use pmdeflate::negotiate::{client_accept, server_negotiate};
use pmdeflate::{Agreed, Config, Error, Frame, PerMessageDeflate};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

// ------------------------------------------- a per-thread allocation counter
//
// Tests run on several threads at once: each thread counts its own
// allocation calls and live Rust heap, with its peak.

struct Counting;

thread_local! {
    static CALLS: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize, call: bool) {
    let _ = CALLS.try_with(|c| c.set(c.get() + usize::from(call)));
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every method forwards to System with the caller's arguments and
// only adds bookkeeping in const-initialised thread-locals that never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize, true);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize, true);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize), false);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize, true);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// What `f` cost this thread: allocation calls (realloc included) and the
/// peak growth of its live Rust heap.
#[derive(Debug, Clone, Copy)]
struct Cost {
    calls: usize,
    peak: usize,
}

fn cost<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let calls = CALLS.with(Cell::get);
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let cost = Cost {
        calls: CALLS.with(Cell::get) - calls,
        peak: (PEAK.with(Cell::get) - start).max(0) as usize,
    };
    (out, cost)
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!("work_limits: {what}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    out
}

fn is_too_long(r: &Result<impl std::fmt::Debug, Error>, what: &str) -> bool {
    match r {
        Err(Error::HeaderSyntax(m)) => m.contains(what),
        _ => false,
    }
}

fn server_factories() -> Vec<Box<dyn ServerFactory<NoCustom>>> {
    vec![Box::new(ServerDeflateFactory::new(Config::default()).unwrap())]
}

/// The framework with the built-in factory only: a custom extension type
/// that is never made.
struct NoCustom;

impl Custom for NoCustom {
    fn name(&self) -> &str {
        unreachable!("never made")
    }
    fn encode<'a>(&'a mut self, _: &Frame<'a>) -> pmdeflate::error::Result<Frame<'a>> {
        unreachable!("never made")
    }
    fn decode<'a>(&'a mut self, _: &Frame<'a>, _: usize) -> pmdeflate::error::Result<Frame<'a>> {
        unreachable!("never made")
    }
}

// ------------------------------------------------------------------ headers

/// A 1 MiB value is refused from its length, before a byte is read: no
/// allocation but the error message, whatever reads it.
#[test]
fn a_one_mebibyte_header_value_is_refused_unread() {
    let mut value = b"permessage-deflate; client_max_window_bits=".to_vec();
    value.resize(MIB, b'9');
    let (r, c) = cost(|| header::parse(&value));
    assert!(is_too_long(&r, "1048576 bytes, at most 65536"), "{r:?}");
    assert!(c.calls <= 2 && c.peak < KIB, "{c:?}");

    let server = cfg(false, false, 0, 0);
    let (r, c) = cost(|| server_negotiate(&server, &value));
    assert!(is_too_long(&r, "at most 65536"), "{r:?}");
    assert!(c.calls <= 2 && c.peak < KIB, "{c:?}");
    let (r, c) = cost(|| client_accept(&Config::default(), &value));
    assert!(is_too_long(&r, "at most 65536"), "{r:?}");
    assert!(c.calls <= 2 && c.peak < KIB, "{c:?}");
    let factories = server_factories();
    let (r, c) = cost(|| framework::server_process_request(&factories, &value).map(|(v, _)| v));
    assert!(is_too_long(&r, "at most 65536"), "{r:?}");
    assert!(c.calls <= 2 && c.peak < KIB, "{c:?}");

    // One byte over the limit is refused, the limit itself is read.
    let mut at_limit = b"x-ext; p=".to_vec();
    at_limit.resize(64 * KIB, b'a');
    let (r, c) = cost(|| header::parse(&at_limit));
    let elements = r.unwrap();
    assert_eq!(elements[0].params[0].value.as_ref().unwrap().len(), 64 * KIB - 9);
    // The value's copy plus the element and parameter: no more.
    assert!(c.calls <= 8 && c.peak <= 64 * KIB + KIB, "{c:?}");
    at_limit.push(b'a');
    assert!(is_too_long(&header::parse(&at_limit), "65537 bytes"));
}

/// Building a header with a 1 MiB value (the host's own parameters) is
/// linear: the output doubles as it grows.
#[test]
fn a_one_mebibyte_value_builds_in_linear_work() {
    for (byte, quoted) in [(b'7', false), (b'"', true)] {
        let value = vec![byte; MIB];
        let params = [ParamRef {
            name: b"x",
            value: Some(&value),
        }];
        let (built, c) = timed("build a 1 MiB value", || cost(|| header::build(b"x-ext", &params)));
        let built = built.unwrap();
        let want = if quoted {
            "x-ext; x=".len() + 2 * MIB + 2
        } else {
            "x-ext; x=".len() + MIB
        };
        assert_eq!(built.len(), want);
        // About log2 of the output's size: doubling, never byte by byte.
        assert!(c.calls <= 40, "{c:?}");
        assert!(c.peak <= 2 * want + KIB, "{c:?}");
        // What it built is a header too long to read back.
        assert!(is_too_long(&header::parse(built.as_bytes()), "at most 65536"));
    }
}

/// `n` permessage-deflate offers that the default server declines (a
/// window of 7 bits does not exist), joined with ", ".
fn declined_offers(n: usize) -> Vec<u8> {
    vec!["permessage-deflate; server_max_window_bits=7"; n]
        .join(", ")
        .into_bytes()
}

#[test]
fn ten_thousand_offers_are_refused_after_the_1024th() {
    let server = cfg(false, false, 0, 0);
    let factories = server_factories();
    // Short names keep 10,000 elements under the length limit: the
    // element count refuses them.
    let many = vec!["x"; 10_000].join(",").into_bytes();
    assert!(many.len() < 64 * KIB);
    let (r, c) = cost(|| header::parse(&many));
    assert!(is_too_long(&r, "more than 1024 elements"), "{r:?}");
    // The first 1024 elements were read: their names and the list.
    assert!(c.calls < 3 * 1024 + 64, "{c:?}");
    assert!(is_too_long(
        &server_negotiate(&server, &many),
        "more than 1024 elements"
    ));
    assert!(is_too_long(
        &client_accept(&Config::default(), &many),
        "more than 1024 elements"
    ));
    assert!(is_too_long(
        &framework::server_process_request(&factories, &many).map(|(v, _)| v),
        "more than 1024 elements"
    ));
    // 10,000 real offers are over the length limit already.
    assert!(is_too_long(
        &server_negotiate(&server, &declined_offers(10_000)),
        "at most 65536"
    ));

    // 1024 offers, each tried and declined: no extension, in work linear
    // in the number of offers.
    let (r, big) = timed("negotiate 1024 declined offers", || {
        cost(|| server_negotiate(&server, &declined_offers(1024)))
    });
    assert_eq!(r.unwrap(), None);
    let (r, small) = cost(|| server_negotiate(&server, &declined_offers(64)));
    assert_eq!(r.unwrap(), None);
    assert!(
        big.calls <= 16 * small.calls + 64,
        "1024 offers {big:?}, 64 offers {small:?}"
    );
    let (r, fw_big) = cost(|| framework::server_process_request(&factories, &declined_offers(1024)).map(|(v, _)| v));
    assert_eq!(r.unwrap(), None);
    let (_, fw_small) = cost(|| framework::server_process_request(&factories, &declined_offers(64)).map(|(v, _)| v));
    assert!(fw_big.calls <= 16 * fw_small.calls + 64, "{fw_big:?} vs {fw_small:?}");
    // With the extension required, the same offers fail the handshake.
    let mut required = cfg(false, false, 0, 0);
    required.require = true;
    assert!(matches!(
        server_negotiate(&required, &declined_offers(1024)),
        Err(Error::Negotiation(_))
    ));
    // And the last of 1024 offers is still found when acceptable.
    let mut last_ok = declined_offers(1023);
    last_ok.extend_from_slice(b", permessage-deflate");
    let (response, _) = server_negotiate(&server, &last_ok).unwrap().unwrap();
    assert_eq!(response, "permessage-deflate");
}

/// One offer of `n` parameters `name`, each "; name".
fn offer_with_params(n: usize, name: &str) -> Vec<u8> {
    let mut v = b"permessage-deflate".to_vec();
    for _ in 0..n {
        v.extend_from_slice(b"; ");
        v.extend_from_slice(name.as_bytes());
    }
    v
}

#[test]
fn ten_thousand_parameters_are_refused_after_the_1024th() {
    let server = cfg(false, false, 0, 0);
    let factories = server_factories();
    let many = offer_with_params(10_000, "a");
    assert!(many.len() < 64 * KIB);
    let (r, c) = cost(|| header::parse(&many));
    assert!(is_too_long(&r, "more than 1024 parameters"), "{r:?}");
    assert!(c.calls < 3 * 1024 + 64, "{c:?}");
    assert!(is_too_long(
        &server_negotiate(&server, &many),
        "more than 1024 parameters"
    ));
    assert!(is_too_long(
        &client_accept(&Config::default(), &many),
        "more than 1024 parameters"
    ));
    assert!(is_too_long(
        &framework::server_process_request(&factories, &many).map(|(v, _)| v),
        "more than 1024 parameters"
    ));
    // Counted across elements too: 10 offers of 103 parameters.
    let spread = vec![String::from_utf8(offer_with_params(103, "a")).unwrap(); 10].join(", ");
    assert!(is_too_long(
        &header::parse(spread.as_bytes()),
        "more than 1024 parameters"
    ));

    // 1024 parameters are read, and refused by the negotiation rules:
    // a repeated parameter declines the offer (server), fails the
    // handshake (client); so does an unknown one.
    for name in ["client_max_window_bits", "x_unknown"] {
        let offer = offer_with_params(1024, name);
        let (r, big) = timed("negotiate one offer of 1024 parameters", || {
            cost(|| server_negotiate(&server, &offer))
        });
        assert_eq!(r.unwrap(), None, "{name}");
        let (r, small) = cost(|| server_negotiate(&server, &offer_with_params(64, name)));
        assert_eq!(r.unwrap(), None, "{name}");
        assert!(big.calls <= 16 * small.calls + 64, "{name}: {big:?} vs {small:?}");
        assert!(matches!(
            client_accept(&Config::default(), &offer),
            Err(Error::Negotiation(_))
        ));
        let (v, _) = framework::server_process_request(&factories, &offer).unwrap();
        assert_eq!(v, None);
    }
}

// ------------------------------------------------------ one-byte frames

/// The configurations the message tests run in: window bits and context
/// takeover for the sender, mirrored for the receiver.
fn configs() -> Vec<Agreed> {
    vec![
        agreed(false, false, 15, 15),
        agreed(true, true, 9, 9),
        agreed(false, false, 8, 8),
        agreed(true, false, 12, 10),
    ]
}

fn ext(a: Agreed) -> PerMessageDeflate {
    PerMessageDeflate::new(a, &CompressSettings::default()).unwrap()
}

/// A frame of `data` that is the `i`th of `n` of one message.
fn nth(i: usize, n: usize, opcode: u8, rsv1: bool, data: &[u8]) -> Frame<'_> {
    Frame {
        opcode: if i == 0 { opcode } else { OP_CONT },
        fin: i + 1 == n,
        rsv1: rsv1 && i == 0,
        rsv2: false,
        rsv3: false,
        data,
    }
}

/// The receiver of a 1 MiB message whose compressed payload arrives one
/// byte a frame: byte for byte the message, with a handful of allocations
/// for the whole message and zlib's memory that of one stream.
#[test]
fn one_mebibyte_in_one_byte_frames_decodes() {
    let mut rng = Rng::new(0x1b17e);
    for (k, a) in configs().into_iter().enumerate() {
        let msg = if k % 2 == 0 { rng.text(MIB) } else { rng.bytes(MIB) };
        let mut tx = ext(a);
        let payload = joined(&encode_fragments(&mut tx, OP_BINARY, &[&msg]));
        let mut rx = ext(mirror(&a));
        let n = payload.len();
        let mut got = Vec::with_capacity(msg.len());
        let mut most_memory = 0;
        let t = Instant::now();
        let ((), c) = cost(|| {
            for i in 0..n {
                let out = rx
                    .decode(&nth(i, n, OP_BINARY, true, &payload[i..=i]), NO_LIMIT)
                    .unwrap();
                got.extend_from_slice(out.data);
                if i % 4096 == 0 {
                    most_memory = most_memory.max(rx.memory_usage());
                }
            }
        });
        println!(
            "work_limits: decode 1 MiB in {n} one-byte frames ({a:?}): {:.1} ms, {} allocations, \
             at most {most_memory} bytes held",
            t.elapsed().as_secs_f64() * 1e3,
            c.calls
        );
        assert!(got == msg, "{a:?}: the message differs");
        // The stream and an output buffer: no allocation per frame.
        assert!(c.calls <= 64, "{a:?}: {c:?} for {n} frames");
        assert!(most_memory <= 64 * KIB, "{a:?}: {most_memory} bytes held");
    }
}

/// The sender of a 1 MiB message given one byte a frame: every frame is
/// sync-flushed (decodable on arrival), the peer gets the message byte for
/// byte, and neither side allocates per frame.
#[test]
fn one_mebibyte_in_one_byte_frames_encodes() {
    let mut rng = Rng::new(0xe1c0de);
    // Two of the configurations: a million sync flushes each take a while.
    for (k, a) in configs().into_iter().enumerate().take(2) {
        let msg = if k % 2 == 0 { rng.text(MIB) } else { rng.bytes(MIB) };
        let (mut tx, mut rx) = (ext(a), ext(mirror(&a)));
        let mut got = Vec::with_capacity(msg.len());
        let (mut wire, mut most_memory) = (0usize, 0usize);
        let t = Instant::now();
        let ((), c) = cost(|| {
            for i in 0..msg.len() {
                let f = tx.encode(&nth(i, msg.len(), OP_TEXT, false, &msg[i..=i])).unwrap();
                assert!(f.data.ends_with(&[0, 0, 0xff, 0xff]) || f.fin);
                wire += f.data.len();
                let out = rx.decode(&f, NO_LIMIT).unwrap();
                got.extend_from_slice(out.data);
                if i % 4096 == 0 {
                    most_memory = most_memory.max(tx.memory_usage()).max(rx.memory_usage());
                }
            }
        });
        println!(
            "work_limits: encode 1 MiB in one-byte frames ({a:?}): {:.1} ms, {wire} bytes on the wire, \
             {} allocations, at most {most_memory} bytes held",
            t.elapsed().as_secs_f64() * 1e3,
            c.calls
        );
        assert!(got == msg, "{a:?}: the message differs");
        // The two streams and their buffers: no allocation per frame.
        assert!(c.calls <= 64, "{a:?}: {c:?} for {} frames", msg.len());
        // A default deflate stream (about 256 KiB at 15 bits) and buffers.
        assert!(most_memory <= 512 * KIB, "{a:?}: {most_memory} bytes held");
    }
}

// ---------------------------------------------------------------- bombs

/// A compressed message of `total` zero bytes, cut into `n` frames of
/// about equal size.
fn bomb(total: usize, n: usize) -> (Vec<u8>, Vec<usize>) {
    let zeros = vec![0u8; 4 * MIB];
    let pieces: Vec<&[u8]> = (0..total / zeros.len()).map(|_| &zeros[..]).collect();
    let payload = joined(&encode_fragments(
        &mut ext(agreed(false, false, 15, 15)),
        OP_BINARY,
        &pieces,
    ));
    let cuts = (0..=n).map(|i| i * payload.len() / n).collect();
    (payload, cuts)
}

/// 256 MiB of zeros in 10,000 continuation frames: with a 1 MiB message
/// limit, PMD_ERR_PAYLOAD_TOO_BIG on the frame that passes it, the same
/// error for every later frame without inflating anything, and never more
/// than the limit held; without a limit, every frame decodes and only one
/// frame's output is held at a time.
#[test]
fn a_bomb_over_ten_thousand_continuation_frames() {
    const FRAMES: usize = 10_000;
    let (payload, cuts) = bomb(256 * MIB, FRAMES);
    let frame_of = |i: usize| nth(i, FRAMES, OP_BINARY, true, &payload[cuts[i]..cuts[i + 1]]);
    println!(
        "work_limits: bomb of 256 MiB is {} bytes in {FRAMES} frames",
        payload.len()
    );

    // The per-message limit.
    let mut rx = ext(agreed(false, false, 15, 15));
    rx.set_max_message_size(MIB).unwrap();
    let (mut decoded, mut failed_at, mut most_memory) = (0usize, None, 0usize);
    let t = Instant::now();
    let ((), c) = cost(|| {
        for i in 0..FRAMES {
            match rx.decode(&frame_of(i), NO_LIMIT) {
                Ok(out) => {
                    assert!(failed_at.is_none(), "frame {i} decoded after the error");
                    decoded += out.data.len();
                }
                Err(Error::PayloadTooBig(m)) => {
                    assert_eq!(m, "message exceeds the max message size of 1048576 bytes");
                    failed_at.get_or_insert(i);
                }
                Err(e) => panic!("frame {i}: {e:?}"),
            }
            most_memory = most_memory.max(rx.memory_usage());
        }
    });
    let failed_at = failed_at.expect("the bomb was refused");
    println!(
        "work_limits: bomb with a 1 MiB message limit: refused at frame {failed_at} after {decoded} bytes, \
         {FRAMES} frames in {:.1} ms, {} allocations, peak heap {} bytes, at most {most_memory} bytes held",
        t.elapsed().as_secs_f64() * 1e3,
        c.calls,
        c.peak
    );
    assert!(decoded <= MIB && decoded + 256 * MIB / FRAMES + 1 > MIB, "{decoded}");
    assert!(most_memory <= MIB + 64 * KIB, "{most_memory}");
    assert!(c.peak <= MIB + 128 * KIB, "{c:?}");
    // After the error: the sticky copy of the message, nothing inflated.
    assert!(c.calls <= 2 * (FRAMES - failed_at) + 256, "{c:?}");

    // The per-call max_size, as a host that counts its messages passes it.
    let mut rx = ext(agreed(false, false, 15, 15));
    let mut room = MIB;
    let mut refused = false;
    for i in 0..FRAMES {
        match rx.decode(&frame_of(i), room) {
            Ok(out) => room -= out.data.len(),
            Err(Error::PayloadTooBig(m)) => {
                assert_eq!(m, format!("decoded frame exceeds max_size of {room} bytes"));
                refused = true;
                break;
            }
            Err(e) => panic!("frame {i}: {e:?}"),
        }
    }
    assert!(refused);

    // No limit: the whole bomb decodes frame by frame; the decoder holds
    // one frame's output, the host decides what to keep.
    let mut rx = ext(agreed(false, false, 15, 15));
    let (mut total, mut most_memory, mut largest) = (0usize, 0usize, 0usize);
    let t = Instant::now();
    let ((), c) = cost(|| {
        for i in 0..FRAMES {
            let out = rx.decode(&frame_of(i), NO_LIMIT).unwrap();
            assert!(out.data.iter().all(|&b| b == 0));
            total += out.data.len();
            largest = largest.max(out.data.len());
            most_memory = most_memory.max(rx.memory_usage());
        }
    });
    println!(
        "work_limits: bomb without a limit: {total} bytes in {FRAMES} frames in {:.1} ms, largest frame {largest}, \
         {} allocations, at most {most_memory} bytes held",
        t.elapsed().as_secs_f64() * 1e3,
        c.calls
    );
    assert_eq!(total, 256 * MIB);
    assert!(
        most_memory <= 2 * largest + 64 * KIB,
        "{most_memory} for frames of at most {largest}"
    );
    assert!(c.calls <= 256, "{c:?}");
}

/// The chain (the framework) runs the same decoder: its per-message limit
/// refuses the bomb the same way.
#[test]
fn a_bomb_over_ten_thousand_frames_through_a_chain() {
    const FRAMES: usize = 10_000;
    let (payload, cuts) = bomb(64 * MIB, FRAMES);
    let mut chain = framework::Chain::<NoCustom>::new();
    chain
        .push(Member::deflate(ext(agreed(false, false, 15, 15))).unwrap())
        .unwrap();
    chain.set_max_message_size(MIB).unwrap();
    let mut failed_at = None;
    for i in 0..FRAMES {
        let f = nth(i, FRAMES, OP_BINARY, true, &payload[cuts[i]..cuts[i + 1]]);
        match chain.decode(&f, NO_LIMIT, |_| ()) {
            Ok(_) => assert!(failed_at.is_none()),
            Err(Error::PayloadTooBig(_)) => {
                failed_at.get_or_insert(i);
            }
            Err(e) => panic!("frame {i}: {e:?}"),
        }
    }
    let failed_at = failed_at.expect("refused");
    assert!(failed_at < FRAMES / 10, "{failed_at}");
}
