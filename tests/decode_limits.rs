//! Decoding (docs/frames.md) at its edges, plus the rules of docs/limits.md
//! and docs/memory.md: max_size below, at and above the decoded size; a
//! 1 GiB decompression bomb refused without ever holding more than max_size
//! plus a small bound; sticky errors; corrupt data, preset-dictionary
//! streams and distances beyond the agreed window (CORRUPT_DATA); BFINAL;
//! RSV1 where it does not belong and frames out of order (PROTOCOL on
//! decode, INVALID_ARGUMENT on encode); memory released under
//! no_context_takeover; zlib's memory figures measured and printed.

mod common;

use pmdeflate::limit::NO_LIMIT;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

use common::{agreed, decode_frames, default_ext, encode_message, frame, joined, Owned, Rng};
use pmdeflate::config::CompressSettings;
use pmdeflate::extension::{OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT};
use pmdeflate::{Error, PerMessageDeflate};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
/// What an extension may hold beyond max_size while decoding: one zlib
/// output chunk plus zlib's inflate state and a 32 KiB window.
const SLACK: usize = 64 * KIB;

// ------------------------------------------------ a per-thread allocation meter
//
// zlib's own memory is counted by the library (memory_usage); the output
// buffer the decoder grows is Rust heap, which this allocator meters per
// thread so that the peak *during* one decode call can be checked (tests in
// this file run on several threads at once).

struct Meter;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now)
            }
        });
    });
}

// SAFETY: every method forwards to System with the caller's arguments and
// only adds bookkeeping in thread-locals that never allocate.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// Runs `f` and returns its result with the peak growth of this thread's
/// Rust heap while it ran.
fn metered<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - start).max(0) as usize)
}

// ------------------------------------------------------------- helpers

fn ext(a: pmdeflate::Agreed) -> PerMessageDeflate {
    PerMessageDeflate::new(a, &CompressSettings::default()).unwrap()
}

fn decode_one(e: &mut PerMessageDeflate, payload: &[u8], max_size: usize) -> Result<Vec<u8>, Error> {
    e.decode(&frame(OP_TEXT, true, true, payload), max_size)
        .map(|f| f.data.to_vec())
}

fn expect_err(r: Result<Vec<u8>, Error>, want: fn(&Error) -> bool, ctx: &str) -> Error {
    match r {
        Err(e) if want(&e) => e,
        Ok(data) => panic!("{ctx}: decoded {} bytes instead of failing", data.len()),
        Err(e) => panic!("{ctx}: got {e:?}"),
    }
}

fn is_too_big(e: &Error) -> bool {
    matches!(e, Error::PayloadTooBig(_))
}
fn is_corrupt(e: &Error) -> bool {
    matches!(e, Error::CorruptData(_))
}
fn is_protocol(e: &Error) -> bool {
    matches!(e, Error::Protocol(_))
}

// ------------------------------------------------------------ max_size

#[test]
fn max_size_below_at_and_above_the_decoded_size() {
    let mut rng = Rng::new(1);
    for n in [
        1usize,
        2,
        100,
        16 * KIB - 1,
        16 * KIB,
        16 * KIB + 1,
        100_000,
        MIB,
        3 * MIB + 5,
    ] {
        for msg in [rng.text(n), rng.bytes(n), vec![0u8; n]] {
            let payload = common::compress_once(&msg);
            for (max_size, ok) in [(n - 1, false), (n, true), (n + 1, true), (0, false), (usize::MAX, true)] {
                let mut rx = default_ext();
                let r = decode_one(&mut rx, &payload, max_size);
                if ok {
                    assert!(r.unwrap() == msg, "n {n} max_size {max_size}");
                } else {
                    let e = expect_err(r, is_too_big, &format!("n {n} max_size {max_size}"));
                    assert_eq!(e.close_code(), 1009);
                    assert!(e.to_string().contains(&max_size.to_string()), "{e}");
                    // Nothing held beyond the limit, and the buffer is gone.
                    assert!(rx.memory_usage() <= SLACK, "{}", rx.memory_usage());
                }
            }
        }
    }
}

#[test]
fn max_size_bounds_each_frame_not_the_message() {
    // docs/limits.md: max_size bounds the output of this call; the host
    // passes its remaining budget.
    let mut rng = Rng::new(2);
    let msg = rng.text(4000);
    let mut tx = default_ext();
    let frames = common::encode_fragments(&mut tx, OP_TEXT, &common::cut(&msg, &[1000]));
    let mut rx = default_ext();
    assert_eq!(decode_frames(&mut rx, &frames, 3000).unwrap(), msg);
    let mut rx = default_ext();
    assert_eq!(rx.decode(&frames[0].as_frame(), 2999).unwrap().data.len(), 1000);
    let e = rx.decode(&frames[1].as_frame(), 2999).unwrap_err();
    assert!(is_too_big(&e), "{e:?}");
    // A host that passes the remaining budget of a 3999-byte message limit.
    let mut rx = default_ext();
    let first = rx.decode(&frames[0].as_frame(), 3999).unwrap().data.len();
    let e = rx.decode(&frames[1].as_frame(), 3999 - first).unwrap_err();
    assert!(is_too_big(&e), "{e:?}");
    let mut rx = default_ext();
    let first = rx.decode(&frames[0].as_frame(), 4000).unwrap().data.len();
    assert_eq!(rx.decode(&frames[1].as_frame(), 4000 - first).unwrap().data.len(), 3000);
}

// ---------------------------------------------------- decompression bomb

/// 1 GiB of zeros, compressed by the library's encoder as 1024 frames of
/// 1 MiB each (the encoder never holds the whole message), made once.
fn bomb_frames() -> &'static Vec<Owned> {
    static BOMB: OnceLock<Vec<Owned>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let start = Instant::now();
        let zeros = vec![0u8; MIB];
        let mut tx = default_ext();
        let mut frames = Vec::with_capacity(1024);
        for i in 0..1024 {
            let op = if i == 0 { OP_BINARY } else { OP_CONT };
            let f = tx.encode(&frame(op, i == 1023, false, &zeros)).unwrap();
            frames.push(Owned::of(&f));
        }
        let total: usize = frames.iter().map(|f| f.data.len()).sum();
        println!("1 GiB of zeros compressed to {total} bytes in {:?}", start.elapsed());
        assert!(total < 2 * MIB, "{total}");
        frames
    })
}

#[test]
fn a_1_gib_bomb_in_one_frame_is_refused_within_max_size() {
    let payload = joined(bomb_frames());
    for max_size in [64 * KIB, MIB, 16 * MIB] {
        let mut rx = default_ext();
        let start = Instant::now();
        let (r, peak_heap) = metered(|| decode_one(&mut rx, &payload, max_size));
        let took = start.elapsed();
        let e = expect_err(r, is_too_big, &format!("max_size {max_size}"));
        println!("bomb, max_size {max_size}: refused in {took:?}, peak output buffer {peak_heap} bytes");
        // The output never grew past max_size + 1 (plus a chunk of slack);
        // zlib's state is counted by memory_usage, released on the error.
        assert!(
            peak_heap <= max_size + SLACK,
            "peak {peak_heap} for max_size {max_size}"
        );
        assert!(rx.memory_usage() <= SLACK, "{}", rx.memory_usage());
        // Inflating all of it would take far longer than stopping early.
        assert!(took.as_millis() < 2000, "{took:?}");
        // Sticky.
        assert_eq!(
            decode_one(&mut rx, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], NO_LIMIT).unwrap_err(),
            e
        );
    }
}

#[test]
fn a_1_gib_bomb_in_frames_is_refused_and_memory_stays_bounded() {
    let frames = bomb_frames();
    // A host with a per-frame limit of exactly one frame's output: every
    // frame is accepted (exactly max_size) and memory stays bounded over
    // the whole 1 GiB.
    let mut rx = default_ext();
    let mut max_seen = 0;
    let mut decoded = 0usize;
    for f in frames {
        let (r, peak_heap) = metered(|| rx.decode(&f.as_frame(), MIB).map(|o| o.data.len()));
        decoded += r.unwrap();
        assert!(peak_heap <= MIB + SLACK, "peak {peak_heap}");
        max_seen = max_seen.max(rx.memory_usage());
        assert!(rx.memory_usage() <= MIB + SLACK, "{}", rx.memory_usage());
    }
    assert_eq!(decoded, 1024 * MIB);
    println!("bomb in 1 MiB frames, max_size 1 MiB: memory_usage at most {max_seen} bytes");
    // A host with a 64.5 MiB message budget, passing what remains.
    let budget = 64 * MIB + 512 * KIB;
    let mut rx = default_ext();
    let mut used = 0usize;
    let mut refused_at = None;
    for (i, f) in frames.iter().enumerate() {
        let max_size = budget - used;
        let (r, peak_heap) = metered(|| rx.decode(&f.as_frame(), max_size).map(|o| o.data.len()));
        // What one call allocates stays within its max_size (the buffer
        // may keep what an earlier, larger max_size let it grow to).
        assert!(
            peak_heap <= max_size + SLACK,
            "frame {i}: peak {peak_heap}, max_size {max_size}"
        );
        match r {
            Ok(n) => used += n,
            Err(e) => {
                assert!(is_too_big(&e), "{e:?}");
                refused_at = Some(i);
                break;
            }
        }
    }
    assert_eq!(refused_at, Some(64));
    assert_eq!(used, 64 * MIB);
}

// --------------------------------------------------------- sticky errors

#[test]
fn errors_are_sticky() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let failures: [(&str, Vec<Owned>); 4] = [
        (
            "corrupt",
            vec![Owned::of(&frame(OP_TEXT, true, true, &[0xff, 0xff, 0xff]))],
        ),
        (
            "too big",
            vec![Owned::of(&frame(
                OP_TEXT,
                true,
                true,
                &common::compress_once(&[b'x'; 1000]),
            ))],
        ),
        ("rsv1 on ping", vec![Owned::of(&frame(OP_PING, true, true, b""))]),
        (
            "orphan continuation",
            vec![Owned::of(&frame(OP_CONT, true, false, &hello))],
        ),
    ];
    for (name, bad) in failures {
        let mut rx = default_ext();
        assert_eq!(decode_one(&mut rx, &hello, NO_LIMIT).unwrap(), b"Hello");
        let e = rx.decode(&bad[0].as_frame(), 10).unwrap_err();
        // Everything afterwards fails the same way: data, control,
        // uncompressed frames alike.
        for _ in 0..3 {
            assert_eq!(decode_one(&mut rx, &hello, NO_LIMIT).unwrap_err(), e, "{name}");
            assert_eq!(
                rx.decode(&frame(OP_PING, true, false, b"x"), NO_LIMIT).unwrap_err(),
                e,
                "{name}"
            );
            assert_eq!(
                rx.decode(&frame(OP_TEXT, true, false, b"plain"), NO_LIMIT).unwrap_err(),
                e,
                "{name}"
            );
            assert_eq!(
                rx.decode(&frame(OP_CONT, true, false, b""), NO_LIMIT).unwrap_err(),
                e,
                "{name}"
            );
        }
        // The decode side has let go of its memory.
        assert!(rx.memory_usage() <= 2 * KIB, "{name}: {}", rx.memory_usage());
    }
}

// ------------------------------------------------------------ corruption

/// "Hello" as one sync-flushed frame: f2 48 cd c9 c9 07 00 00 00 ff ff.
fn hello_flushed() -> Vec<u8> {
    let mut tx = default_ext();
    let f = tx.encode(&frame(OP_TEXT, false, false, b"Hello")).unwrap();
    f.data.to_vec()
}

#[test]
fn corrupt_data_names_the_byte_offset() {
    let good = hello_flushed();
    assert_eq!(good.len(), 11);
    // A block of the reserved type 3 right after a valid block, then more
    // bytes that must not be blamed.
    for tail_len in [0usize, 1, 100] {
        let mut payload = good.clone();
        payload.push(0x07); // BFINAL 1, BTYPE 11 (reserved)
        payload.extend(std::iter::repeat_n(0x55, tail_len));
        let mut rx = default_ext();
        let e = expect_err(
            decode_one(&mut rx, &payload, NO_LIMIT),
            is_corrupt,
            "reserved block type",
        );
        assert_eq!(e.close_code(), 1007);
        let msg = e.to_string();
        assert!(msg.contains("input byte 11") || msg.contains("input byte 12"), "{msg}");
    }
    // Bad stored-block lengths at the start of a message.
    let mut rx = default_ext();
    let e = expect_err(
        decode_one(&mut rx, &[0x00, 0x05, 0x00, 0x05, 0x00, b'H'], NO_LIMIT),
        is_corrupt,
        "stored lengths",
    );
    assert!(e.to_string().contains("input byte"), "{e}");
}

#[test]
fn corrupt_data_offset_in_a_later_frame_counts_from_the_message_start() {
    // pmd_last_error names the byte offset, counted from the start of the
    // message's compressed data (docs/frames.md). Frame 1 is 11 bytes, so the
    // reserved block type in frame 2 sits at message byte 11.
    let good = hello_flushed();
    let mut rx = default_ext();
    rx.decode(&frame(OP_TEXT, false, true, &good), NO_LIMIT).unwrap();
    let e = rx
        .decode(&frame(OP_CONT, true, false, &[0x07, 0x55, 0x55]), NO_LIMIT)
        .unwrap_err();
    assert!(is_corrupt(&e), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("input byte 11") || msg.contains("input byte 12"), "{msg}");
}

#[test]
fn truncated_and_garbage_streams_are_corrupt() {
    let mut rng = Rng::new(3);
    let text = rng.text(5000);
    let payload = common::compress_once(&text);
    // A message cut short: with the tail appended, the rest is often still
    // valid DEFLATE ending on a block boundary (the tail's ff ff bits read
    // as the rarest code, typically end-of-block), so not every cut can be
    // caught; every failure is CORRUPT_DATA and none gives the whole text.
    let mut caught = 0;
    for cut in 1..payload.len() {
        let mut rx = default_ext();
        match decode_one(&mut rx, &payload[..cut], NO_LIMIT) {
            // Dropping only the last byte (the header of the empty stored
            // block that ends a flushed message) leaves complete blocks,
            // which decode whole; any longer cut loses data.
            Ok(out) => assert!(
                out != text || cut == payload.len() - 1,
                "cut at {cut} decoded the whole text"
            ),
            Err(e) => {
                assert!(is_corrupt(&e), "cut at {cut}: {e:?}");
                caught += 1;
            }
        }
    }
    println!("truncated messages caught: {caught} of {}", payload.len() - 1);
    assert!(caught > 0);
    // A stored block that promises 10 bytes and holds 2 (plus the tail's 4)
    // ends inside the block.
    let mut rx = default_ext();
    expect_err(
        decode_one(&mut rx, &[0x00, 0x0a, 0x00, 0xf5, 0xff, b'H', b'e'], NO_LIMIT),
        is_corrupt,
        "short stored block",
    );
    // Random garbage never decodes to anything but an error or some bytes;
    // it never panics, and an error is CORRUPT_DATA.
    for _ in 0..500 {
        let n = 1 + rng.below(64);
        let junk = rng.bytes(n);
        let mut rx = default_ext();
        if let Err(e) = decode_one(&mut rx, &junk, MIB) {
            assert!(is_corrupt(&e) || is_too_big(&e), "{e:?}");
        }
    }
}

#[test]
fn a_stream_that_needs_a_preset_dictionary_is_corrupt() {
    // A zlib-wrapped stream that declares a preset dictionary (FDICT):
    // header 78 bb, dictionary id, then data. Not raw DEFLATE.
    let zlib_fdict = [
        0x78, 0xbb, 0x00, 0x00, 0x00, 0x01, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut rx = default_ext();
    expect_err(
        decode_one(&mut rx, &zlib_fdict, NO_LIMIT),
        is_corrupt,
        "zlib FDICT header",
    );
    // A raw stream compressed against a dictionary the receiver does not
    // have: the RFC's second "Hello" refers 5 bytes back, before its start.
    let mut rx = default_ext();
    let e = expect_err(
        decode_one(&mut rx, &[0xf2, 0x00, 0x11, 0x00, 0x00], NO_LIMIT),
        is_corrupt,
        "dictionary reference",
    );
    assert!(e.to_string().contains("input byte"), "{e}");
    // Under no_context_takeover, each message must stand alone too.
    let mut rx = ext(agreed(true, false, 15, 15));
    assert_eq!(
        decode_one(&mut rx, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], NO_LIMIT).unwrap(),
        b"Hello"
    );
    expect_err(
        decode_one(&mut rx, &[0xf2, 0x00, 0x11, 0x00, 0x00], NO_LIMIT),
        is_corrupt,
        "no takeover",
    );
}

// Distances beyond the agreed window within one message, and the strict
// mode that catches them: tests/strict_window.rs.

#[test]
fn a_distance_beyond_the_window_into_the_previous_message_is_corrupt() {
    for (bits, len) in [(8u8, 300usize), (9, 600), (12, 5000)] {
        let half = Rng::new(u64::from(bits)).bytes(len);
        let mut tx = default_ext(); // 15 bits, takeover
        let first = joined(&encode_message(&mut tx, OP_BINARY, &half));
        let second = joined(&encode_message(&mut tx, OP_BINARY, &half));
        assert!(second.len() < len / 4, "the second refers back: {}", second.len());
        let mut rx = ext(agreed(false, false, bits, 15));
        assert_eq!(decode_one(&mut rx, &first, NO_LIMIT).unwrap(), half);
        expect_err(
            decode_one(&mut rx, &second, NO_LIMIT),
            is_corrupt,
            &format!("window {bits}, distance {len}"),
        );
    }
}

// ---------------------------------------------------------------- BFINAL

const HELLO_BFINAL: [u8; 8] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const HELLO_AGAIN: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
/// A final stored block holding "Hello": ends exactly on a byte.
const STORED_FINAL_HELLO: [u8; 10] = [0x01, 0x05, 0x00, 0xfa, 0xff, b'H', b'e', b'l', b'l', b'o'];

#[test]
fn after_a_bfinal_message_the_next_may_continue_or_start_fresh() {
    for first in [&HELLO_BFINAL[..], &STORED_FINAL_HELLO[..]] {
        // Continues with the old window.
        let mut rx = default_ext();
        assert_eq!(decode_one(&mut rx, first, NO_LIMIT).unwrap(), b"Hello");
        assert_eq!(decode_one(&mut rx, &HELLO_AGAIN, NO_LIMIT).unwrap(), b"Hello");
        assert_eq!(decode_one(&mut rx, &HELLO_AGAIN, NO_LIMIT).unwrap(), b"Hello");
        // Starts afresh.
        let mut rx = default_ext();
        assert_eq!(decode_one(&mut rx, first, NO_LIMIT).unwrap(), b"Hello");
        assert_eq!(decode_one(&mut rx, &HELLO, NO_LIMIT).unwrap(), b"Hello");
        // BFINAL twice in a row, then continuing.
        let mut rx = default_ext();
        assert_eq!(decode_one(&mut rx, first, NO_LIMIT).unwrap(), b"Hello");
        assert_eq!(decode_one(&mut rx, first, NO_LIMIT).unwrap(), b"Hello");
        assert_eq!(decode_one(&mut rx, &HELLO_AGAIN, NO_LIMIT).unwrap(), b"Hello");
    }
}

#[test]
fn a_long_bfinal_message_keeps_its_whole_window_for_the_next() {
    let mut rng = Rng::new(6);
    let text = rng.text(20_000);
    let mut tx = default_ext();
    // The sender ends the first message with an empty final fixed block
    // (BFINAL 1, BTYPE 01, end of block: 03 00) after its sync flush.
    let mut first = tx.encode(&frame(OP_TEXT, false, false, &text)).unwrap().data.to_vec();
    tx.encode(&frame(OP_CONT, true, false, b"")).unwrap();
    first.extend_from_slice(&[0x03, 0x00]);
    // Its next message continues with the window ...
    let continued = joined(&encode_message(&mut tx, OP_TEXT, &text));
    assert!(continued.len() < text.len() / 20, "{}", continued.len());
    // ... or, from another sender, starts afresh.
    let fresh = common::compress_once(&text);
    for (name, second) in [("continued", &continued), ("fresh", &fresh)] {
        let mut rx = default_ext();
        assert!(decode_one(&mut rx, &first, NO_LIMIT).unwrap() == text, "{name}: first");
        assert!(decode_one(&mut rx, second, NO_LIMIT).unwrap() == text, "{name}: second");
    }
    // The same with the BFINAL message in two frames.
    let mut rx = default_ext();
    let split = first.len() / 2;
    let a = rx
        .decode(&frame(OP_TEXT, false, true, &first[..split]), NO_LIMIT)
        .unwrap()
        .data
        .to_vec();
    let b = rx
        .decode(&frame(OP_CONT, true, false, &first[split..]), NO_LIMIT)
        .unwrap()
        .data
        .to_vec();
    assert!([a, b].concat() == text);
    assert!(decode_one(&mut rx, &continued, NO_LIMIT).unwrap() == text);
}

#[test]
fn after_bfinal_only_empty_blocks_may_follow() {
    // Allowed: nothing, a lone 00 (RFC 7692 7.2.3.4: with the appended
    // tail it is an empty stored block), empty stored blocks before it.
    for extra in [
        &[][..],
        &[0x00],
        &[0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
        &[0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    ] {
        let payload = [&STORED_FINAL_HELLO[..], extra].concat();
        let mut rx = default_ext();
        let got = decode_one(&mut rx, &payload, NO_LIMIT);
        assert_eq!(got, Ok(b"Hello".to_vec()), "extra {extra:02x?}");
        assert_eq!(decode_one(&mut rx, &HELLO_AGAIN, NO_LIMIT).unwrap(), b"Hello");
    }
    // Not allowed: a block with data after the final one, in the same frame
    // or in a later frame of the message.
    let payload = [&STORED_FINAL_HELLO[..], &HELLO[..]].concat();
    let mut rx = default_ext();
    expect_err(decode_one(&mut rx, &payload, NO_LIMIT), is_corrupt, "data after BFINAL");
    let mut rx = default_ext();
    rx.decode(&frame(OP_TEXT, false, true, &STORED_FINAL_HELLO), NO_LIMIT)
        .unwrap();
    let e = rx.decode(&frame(OP_CONT, true, false, &HELLO), NO_LIMIT).unwrap_err();
    assert!(is_corrupt(&e), "{e:?}");
    let payload = [&HELLO_BFINAL[..], &[0x01, 0x01, 0x00, 0xfe, 0xff, b'!']].concat();
    let mut rx = default_ext();
    expect_err(
        decode_one(&mut rx, &payload, NO_LIMIT),
        is_corrupt,
        "final stored block after BFINAL",
    );
}

#[test]
fn an_unstripped_empty_stored_block_after_bfinal_is_allowed() {
    // docs/frames.md: after a BFINAL block, what follows it in the message
    // may only be empty blocks (such as the tail). Here a complete empty
    // stored block (00 00 00 ff ff, as a sync flush writes it on a byte
    // boundary) follows, and the decoder then appends its tail.
    // HELLO_BFINAL's last byte already starts the empty stored block that
    // the tail completes; without it, the BFINAL block ends on its own.
    for first in [&STORED_FINAL_HELLO[..], &HELLO_BFINAL[..HELLO_BFINAL.len() - 1]] {
        let payload = [first, &[0x00, 0x00, 0x00, 0xff, 0xff][..]].concat();
        let mut rx = default_ext();
        assert_eq!(
            decode_one(&mut rx, &payload, NO_LIMIT),
            Ok(b"Hello".to_vec()),
            "{payload:02x?}"
        );
    }
}

// ------------------------------------------------------------- framing

#[test]
fn rsv1_on_control_frames_is_a_protocol_error() {
    for op in [OP_CLOSE, OP_PING, OP_PONG] {
        for in_message in [false, true] {
            let mut rx = default_ext();
            if in_message {
                rx.decode(&frame(OP_TEXT, false, true, &hello_flushed()), NO_LIMIT)
                    .unwrap();
            }
            let e = rx.decode(&frame(op, true, true, b"\x03\xe8"), NO_LIMIT).unwrap_err();
            assert!(is_protocol(&e), "{e:?}");
            assert_eq!(e.close_code(), 1002);
            // Without RSV1 the same frame passes (on a fresh decoder).
            let mut rx = default_ext();
            let f = frame(op, true, false, b"\x03\xe8");
            assert_eq!(rx.decode(&f, NO_LIMIT).unwrap(), f);
        }
    }
}

#[test]
fn rsv1_on_continuation_frames_is_a_protocol_error() {
    // Inside a compressed message, inside an uncompressed one, and alone.
    let starts: [Option<(bool, &[u8])>; 3] = [Some((true, &HELLO[..])), Some((false, b"plain")), None];
    for start in starts {
        let mut rx = default_ext();
        if let Some((rsv1, data)) = start {
            let first = if rsv1 { hello_flushed() } else { data.to_vec() };
            rx.decode(&frame(OP_TEXT, false, rsv1, &first), NO_LIMIT).unwrap();
        }
        for fin in [false, true] {
            let mut probe = default_ext();
            if let Some((rsv1, data)) = start {
                let first = if rsv1 { hello_flushed() } else { data.to_vec() };
                probe.decode(&frame(OP_TEXT, false, rsv1, &first), NO_LIMIT).unwrap();
            }
            let e = probe.decode(&frame(OP_CONT, fin, true, &[0x00]), NO_LIMIT).unwrap_err();
            assert!(is_protocol(&e), "{start:?} fin {fin}: {e:?}");
        }
    }
}

#[test]
fn frames_out_of_order_are_protocol_errors_on_decode() {
    let flushed = hello_flushed();
    type Setup = fn(&mut PerMessageDeflate, &[u8]);
    let none: Setup = |_, _| {};
    let compressed: Setup = |rx, f| {
        rx.decode(&frame(OP_TEXT, false, true, f), NO_LIMIT).unwrap();
    };
    let plain: Setup = |rx, _| {
        rx.decode(&frame(OP_BINARY, false, false, b"abc"), NO_LIMIT).unwrap();
    };
    let cases: [(&str, Setup, u8, bool); 7] = [
        ("continuation, no message", none, OP_CONT, false),
        ("text in a compressed message", compressed, OP_TEXT, true),
        ("plain text in a compressed message", compressed, OP_TEXT, false),
        ("binary in a compressed message", compressed, OP_BINARY, true),
        ("text in a plain message", plain, OP_TEXT, false),
        ("compressed binary in a plain message", plain, OP_BINARY, true),
        (
            "continuation after the end",
            |rx, _| {
                rx.decode(&frame(OP_TEXT, true, true, &HELLO), NO_LIMIT).unwrap();
            },
            OP_CONT,
            false,
        ),
    ];
    for (name, setup, op, rsv1) in cases {
        let mut rx = default_ext();
        setup(&mut rx, &flushed);
        let data: &[u8] = if rsv1 { &HELLO } else { b"x" };
        let e = rx.decode(&frame(op, true, rsv1, data), NO_LIMIT).unwrap_err();
        assert!(is_protocol(&e), "{name}: {e:?}");
    }
}

#[test]
fn frames_out_of_order_are_invalid_arguments_on_encode() {
    let mut tx = default_ext();
    let e = tx.encode(&frame(OP_CONT, true, false, b"x")).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    // A fresh encoder per case, so that each case starts from a known
    // state rather than from the one an earlier error left.
    for op in [OP_TEXT, OP_BINARY] {
        let mut tx = default_ext();
        tx.encode(&frame(OP_TEXT, false, false, b"x")).unwrap();
        let e = tx.encode(&frame(op, true, false, b"y")).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }
    // RSV1 is the extension's to set.
    let mut tx = default_ext();
    let e = tx.encode(&frame(OP_TEXT, true, true, b"x")).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    let mut tx = default_ext();
    tx.encode(&frame(OP_TEXT, true, false, b"x")).unwrap();
    let e = tx.encode(&frame(OP_CONT, false, false, b"x")).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
}

// ----------------------------------------------------------------- memory

#[test]
fn no_context_takeover_keeps_a_reset_stream_that_compaction_releases() {
    // Small frames keep the output buffers the same size from one call to
    // the next. Under no_context_takeover the stream is reset, not freed,
    // after the final frame (no inflateInit/deflateInit per message);
    // compaction frees it, and under takeover keeps just the history
    // (12 bytes per "Hello, world", far below every window here).
    for bits in [15u8, 12, 8] {
        let window = 1usize << bits;
        // Decode side: remote no_context_takeover.
        for remote_nct in [false, true] {
            let mut tx = ext(agreed(false, remote_nct, 15, bits));
            let mut rx = ext(agreed(remote_nct, false, bits, 15));
            for round in 0..3 {
                let frames = common::encode_fragments(&mut tx, OP_TEXT, &[b"Hello, ", b"world"]);
                let before = rx.memory_usage();
                rx.decode(&frames[0].as_frame(), NO_LIMIT).unwrap();
                let during = rx.memory_usage();
                rx.decode(&frames[1].as_frame(), NO_LIMIT).unwrap();
                let after = rx.memory_usage();
                println!("decode, bits {bits}, remote_no_context_takeover {remote_nct}, message {round}: before {before}, during {during}, after {after}");
                assert!(during >= window, "the inflate window is held mid-message: {during}");
                assert!(
                    after + KIB >= during && after >= window,
                    "kept between messages: {during} -> {after}"
                );
                rx.compact().unwrap();
                let compacted = rx.memory_usage();
                println!("  compacted: {compacted}");
                let history = if remote_nct { 0 } else { 12 * (round + 1) };
                assert_eq!(compacted, history, "only the real history is kept");
            }
        }
        // Encode side: local no_context_takeover.
        let deflate_min = (1usize << (u32::from(bits.max(9)) + 2)) + (1 << (8 + 9));
        for local_nct in [false, true] {
            let mut tx = ext(agreed(false, local_nct, 15, bits));
            for round in 0..3 {
                let before = tx.memory_usage();
                tx.encode(&frame(OP_TEXT, false, false, b"Hello, ")).unwrap();
                let during = tx.memory_usage();
                tx.encode(&frame(OP_CONT, true, false, b"world")).unwrap();
                let after = tx.memory_usage();
                println!("encode, bits {bits}, local_no_context_takeover {local_nct}, message {round}: before {before}, during {during}, after {after}");
                assert!(during >= deflate_min, "{during}");
                assert!(
                    after + KIB >= during && after >= deflate_min,
                    "kept between messages: {during} -> {after}"
                );
                tx.compact().unwrap();
                let compacted = tx.memory_usage();
                println!("  compacted: {compacted}");
                let history = if local_nct { 0 } else { 12 * (round + 1) };
                assert_eq!(compacted, history, "only the real history is kept");
            }
        }
    }
}

/// zlib's own figures (docs/memory.md): deflate 2^(wbits+2) + 2^(memLevel+9),
/// inflate 2^wbits, plus a few KiB of state each. zlib's part is measured
/// through memory_usage mid-message after a compaction, which frees the
/// output buffer and leaves the stream of a message in progress as it is.
#[test]
fn spec_10_memory_figures() {
    for (wbits, mem_level) in [(15u8, 8i32), (12, 5), (9, 1), (8, 9)] {
        let s = CompressSettings {
            level: -1,
            mem_level,
            strategy: 0,
        };
        let (mut tx, mut rx) = common::pair(agreed(true, true, wbits, wbits), &s);
        let first = Owned::of(&tx.encode(&frame(OP_TEXT, false, false, b"Hello, ")).unwrap());
        tx.compact().unwrap();
        let deflate = tx.memory_usage();
        let last = Owned::of(&tx.encode(&frame(OP_CONT, true, false, b"memory")).unwrap());
        rx.decode(&first.as_frame(), NO_LIMIT).unwrap();
        rx.compact().unwrap();
        let inflate = rx.memory_usage();
        assert_eq!(rx.decode(&last.as_frame(), NO_LIMIT).unwrap().data, b"memory");
        // 8 compresses with zlib's 9 (docs/window-bits-8.md).
        let dbits = u32::from(wbits.max(9));
        let deflate_formula = (1usize << (dbits + 2)) + (1usize << (mem_level as u32 + 9));
        let inflate_formula = 1usize << wbits;
        // The whole extension, both directions, takeover, after a message
        // each way.
        let (mut x, mut y) = common::pair(agreed(false, false, wbits, wbits), &s);
        let frames = encode_message(&mut x, OP_TEXT, b"Hello, memory");
        decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
        let frames = encode_message(&mut y, OP_TEXT, b"Hello, memory");
        decode_frames(&mut x, &frames, NO_LIMIT).unwrap();
        let both = x.memory_usage();
        println!(
            "memory: wbits {wbits}, memLevel {mem_level}: deflate {} B ({:.1} KiB; formula {:.1} KiB), \
             inflate {} B ({:.1} KiB; formula {:.1} KiB), extension both ways with takeover {} B ({:.1} KiB)",
            deflate,
            deflate as f64 / 1024.0,
            deflate_formula as f64 / 1024.0,
            inflate,
            inflate as f64 / 1024.0,
            inflate_formula as f64 / 1024.0,
            both,
            both as f64 / 1024.0
        );
        assert!(
            deflate >= deflate_formula && deflate <= deflate_formula + 8 * KIB,
            "deflate {deflate}"
        );
        assert!(
            inflate >= inflate_formula && inflate <= inflate_formula + 8 * KIB,
            "inflate {inflate}"
        );
        // Both streams plus the two output buffers and state.
        assert!(both >= deflate_formula + inflate_formula, "{both}");
        assert!(both <= deflate_formula + inflate_formula + 40 * KIB, "{both}");
    }
}

#[test]
fn idle_memory_with_no_context_takeover_both_ways() {
    let a = agreed(true, true, 15, 15);
    let (mut x, mut y) = common::pair(a, &CompressSettings::default());
    let fresh = x.memory_usage();
    let mut after_small = 0;
    let mut compacted = usize::MAX;
    for round in 0..2 {
        let frames = encode_message(&mut x, OP_TEXT, b"Hello, idle");
        decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
        let frames = encode_message(&mut y, OP_TEXT, b"Hello, idle");
        decode_frames(&mut x, &frames, NO_LIMIT).unwrap();
        after_small = x.memory_usage();
        x.compact().unwrap();
        compacted = x.memory_usage();
        println!("memory: no_context_takeover both ways, idle: new {fresh} B, after small messages (round {round}) {after_small} B, compacted {compacted} B");
    }
    // After a big message, the buffers that grew for it are released once
    // small messages follow.
    let big = Rng::new(9).text(2 * MIB);
    let frames = encode_message(&mut x, OP_TEXT, &big);
    decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
    let frames = encode_message(&mut y, OP_TEXT, &big);
    decode_frames(&mut x, &frames, NO_LIMIT).unwrap();
    let after_big = x.memory_usage();
    for _ in 0..2 {
        let frames = encode_message(&mut x, OP_TEXT, b"small");
        decode_frames(&mut y, &frames, NO_LIMIT).unwrap();
        let frames = encode_message(&mut y, OP_TEXT, b"small");
        decode_frames(&mut x, &frames, NO_LIMIT).unwrap();
    }
    let settled = x.memory_usage();
    println!("memory: no_context_takeover both ways: after a 2 MiB message each way {after_big} B, then after small ones {settled} B");
    // A new extension holds no zlib stream at all.
    assert_eq!(fresh, 0);
    // Between messages both reset streams are kept (no init per message):
    // deflate 2^17 + 2^17 and inflate 2^15 bytes, plus state and buffers.
    assert!((288 * KIB..=320 * KIB).contains(&after_small), "{after_small}");
    // Compacted, nothing but the handle is held.
    assert_eq!(compacted, 0);
    // The buffers that grew for 2 MiB shrink back once small messages follow.
    assert!(settled <= after_small + KIB, "{settled}");
}
