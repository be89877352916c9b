//! The only wrapper around zlib: raw deflate and inflate streams whose
//! allocations go through a counting allocator, so that an extension can
//! report what it holds (`pmd_extension_memory_usage`), not an estimate.

use crate::error::ErrorKind;
use crate::fallible::detail;
use std::ffi::{c_int, c_uint, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use libz_sys as z;

use crate::config::CompressSettings;
use crate::error::{Error, Result};

// Added in zlib 1.2.7.1 and 1.2.9; libz-sys does not declare them.
extern "C" {
    fn inflateGetDictionary(strm: z::z_streamp, dictionary: *mut u8, dict_length: *mut c_uint) -> c_int;
    fn deflateGetDictionary(strm: z::z_streamp, dictionary: *mut u8, dict_length: *mut c_uint) -> c_int;
}

/// The history a compacted stream keeps: the bytes of its window that
/// zlib holds (at most 2^window_bits), counted while they are kept. The
/// next message's stream starts with them as its preset dictionary.
pub struct History(Box<HistoryInner>);

/// Boxed, so that an idle connection's handle holds one pointer per side.
struct HistoryInner {
    bytes: Box<[u8]>,
    counter: MemoryCounter,
}

impl History {
    /// Copies a stream's window out through `get` (zlib's
    /// deflateGetDictionary or inflateGetDictionary, called first for the
    /// length, then for the bytes). None when the window is empty.
    fn take(
        s: &mut Stream,
        what: &str,
        get: unsafe extern "C" fn(z::z_streamp, *mut u8, *mut c_uint) -> c_int,
    ) -> Result<Option<History>> {
        let mut len: c_uint = 0;
        // SAFETY: the stream is initialised; with a NULL dictionary zlib
        // only writes the length.
        let ret = unsafe { get(&mut *s.strm, std::ptr::null_mut(), &mut len) };
        if ret != z::Z_OK {
            return Err(Error::Internal(detail!("{what}GetDictionary failed (code {ret})")));
        }
        if len == 0 {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(len as usize)
            .map_err(|_| crate::fallible::oom("out of memory keeping a stream's history"))?;
        bytes.resize(len as usize, 0);
        let mut got: c_uint = 0;
        // SAFETY: bytes holds len bytes, the length zlib just reported for
        // this same, unchanged stream.
        let ret = unsafe { get(&mut *s.strm, bytes.as_mut_ptr(), &mut got) };
        if ret != z::Z_OK || got != len {
            return Err(Error::Internal(detail!("{what}GetDictionary failed (code {ret})")));
        }
        let bytes = bytes.into_boxed_slice();
        s.counter.add(bytes.len());
        let inner = HistoryInner {
            bytes,
            counter: s.counter.clone(),
        };
        Ok(Some(History(crate::fallible::try_box(inner)?)))
    }

    pub fn len(&self) -> usize {
        self.0.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.bytes.is_empty()
    }

    fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl Drop for HistoryInner {
    fn drop(&mut self) {
        self.counter.sub(self.bytes.len());
    }
}

/// The linked zlib's version string (zlibVersion()): "zlib-ng" appears in
/// it when the library is built with the `zlib-ng` feature.
pub fn zlib_version() -> &'static std::ffi::CStr {
    // SAFETY: zlibVersion takes nothing and returns a pointer to a static
    // NUL-terminated string (ZLIB_VERSION) that lives as long as the library.
    unsafe { std::ffi::CStr::from_ptr(z::zlibVersion()) }
}

/// Bytes currently allocated, shared by every stream and buffer of one
/// extension. Cloning shares the count. An `Arc` would do, but creating
/// one aborts when memory runs out and stable Rust has no `Arc::try_new`:
/// this is the same reference count, allocated fallibly.
#[derive(Debug)]
pub struct MemoryCounter(NonNull<CounterInner>);

#[derive(Debug)]
struct CounterInner {
    bytes: AtomicUsize,
    refs: AtomicUsize,
}

// SAFETY: the shared state is two atomics; the pointer is freed only by
// the last owner (see Drop), as with Arc<AtomicUsize>.
unsafe impl Send for MemoryCounter {}
// SAFETY: as above: &MemoryCounter only reaches atomics.
unsafe impl Sync for MemoryCounter {}

impl MemoryCounter {
    /// A new count at 0; PMD_ERR_OUT_OF_MEMORY if it cannot be allocated.
    pub fn try_new() -> Result<MemoryCounter> {
        let inner = crate::fallible::try_box(CounterInner {
            bytes: AtomicUsize::new(0),
            refs: AtomicUsize::new(1),
        })?;
        // Box::into_raw is never NULL.
        Ok(MemoryCounter(NonNull::from(Box::leak(inner))))
    }

    fn inner(&self) -> &CounterInner {
        // SAFETY: the allocation lives while any owner does (refs > 0),
        // and self is one.
        unsafe { self.0.as_ref() }
    }

    /// The counted bytes, for zlib's allocator (the `opaque` pointer).
    fn atomic(&self) -> &AtomicUsize {
        &self.inner().bytes
    }

    pub fn get(&self) -> usize {
        self.atomic().load(Ordering::Relaxed)
    }
    pub fn add(&self, n: usize) {
        self.atomic().fetch_add(n, Ordering::Relaxed);
    }
    pub fn sub(&self, n: usize) {
        self.atomic().fetch_sub(n, Ordering::Relaxed);
    }
    /// Moves the count from `*held` to `now` (a buffer grew or shrank).
    pub fn track(&self, held: &mut usize, now: usize) {
        if now == *held {
            // The common case on the hot path: no atomic write.
            return;
        }
        if now > *held {
            self.add(now - *held);
        } else {
            self.sub(*held - now);
        }
        *held = now;
    }
}

impl Clone for MemoryCounter {
    fn clone(&self) -> Self {
        // Relaxed, as Arc::clone: a new owner is made from an existing one.
        self.inner().refs.fetch_add(1, Ordering::Relaxed);
        MemoryCounter(self.0)
    }
}

impl Drop for MemoryCounter {
    fn drop(&mut self) {
        // Release/Acquire, as Arc's drop: the last owner sees every use.
        if self.inner().refs.fetch_sub(1, Ordering::Release) == 1 {
            std::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: this was the last owner; the pointer came from
            // Box::leak in try_new and is freed once, here.
            drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}

/// Every zlib block carries its size in front of it, so `zfree` can count.
/// A whole cache line, not just the 16 bytes the size needs: zlib's blocks
/// then keep the alignment malloc gives large blocks (a page plus 16
/// bytes), instead of sitting 16 bytes off the output buffers. 16 bytes
/// off, the copy of each message's output into zlib's window hit 4K
/// aliasing (loads stalled behind stores 16 bytes apart modulo 4 KiB):
/// 64 KiB incompressible messages decoded at 0.86 of the zlib floor's speed,
/// and at 0.52 with every large block mapped on its own.
const PREFIX: usize = 64;

unsafe extern "C" fn zalloc(opaque: *mut c_void, items: c_uint, size: c_uint) -> *mut c_void {
    let Some(total) = (items as usize)
        .checked_mul(size as usize)
        .and_then(|n| n.checked_add(PREFIX))
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: malloc with a non-zero size; the result is checked for NULL.
    let base = unsafe { libc::malloc(total) } as *mut u8;
    if base.is_null() {
        return base.cast();
    }
    // SAFETY: base is a fresh allocation of at least PREFIX (64) bytes,
    // suitably aligned for a usize by malloc; opaque is the AtomicUsize
    // inside the stream's MemoryCounter, which the stream keeps alive.
    unsafe {
        (base as *mut usize).write(total);
        (*(opaque as *const AtomicUsize)).fetch_add(total, Ordering::Relaxed);
        base.add(PREFIX).cast()
    }
}

unsafe extern "C" fn zfree(opaque: *mut c_void, ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: ptr came from zalloc above, so PREFIX bytes before it hold
    // the allocation's size and are the start of a malloc block; opaque is
    // the live counter (see zalloc).
    unsafe {
        let base = (ptr as *mut u8).sub(PREFIX);
        let total = (base as *const usize).read();
        (*(opaque as *const AtomicUsize)).fetch_sub(total, Ordering::Relaxed);
        libc::free(base.cast());
    }
}

/// A z_stream at a fixed address (zlib keeps a pointer back to it), wired
/// to the counting allocator.
struct Stream {
    strm: Box<z::z_stream>,
    counter: MemoryCounter,
}

impl Stream {
    fn new(counter: &MemoryCounter) -> Result<Stream> {
        let strm = crate::fallible::try_box(z::z_stream {
            next_in: std::ptr::null_mut(),
            avail_in: 0,
            total_in: 0,
            next_out: std::ptr::null_mut(),
            avail_out: 0,
            total_out: 0,
            msg: std::ptr::null_mut(),
            state: std::ptr::null_mut(),
            zalloc,
            zfree,
            opaque: (counter.atomic() as *const AtomicUsize).cast_mut().cast::<c_void>(),
            data_type: 0,
            adler: 0,
            reserved: 0,
        })?;
        Ok(Stream {
            strm,
            counter: counter.clone(),
        })
    }

    /// The error for an inflate call that returned `ret`, at input byte
    /// `at` of the frame.
    #[cold]
    fn inflate_error(&self, ret: c_int, at: usize) -> Error {
        match ret {
            z::Z_DATA_ERROR => Error::corrupt(detail!("invalid DEFLATE data at input byte {at}: {}", self.msg())),
            z::Z_NEED_DICT => Error::corrupt(detail!(
                "invalid DEFLATE data at input byte {at}: stream needs a preset dictionary"
            )),
            z::Z_MEM_ERROR => Error::Fixed(ErrorKind::OutOfMemory, "out of memory while inflating"),
            _ => Error::Internal(detail!("inflate failed (code {ret}): {}", self.msg())),
        }
    }

    /// zlib's message for the last error, if any.
    fn msg(&self) -> &str {
        if self.strm.msg.is_null() {
            return "unknown error";
        }
        // SAFETY: zlib sets msg to a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(self.strm.msg) }
            .to_str()
            .unwrap_or("(message not UTF-8)")
    }
}

fn init_error(what: &str, ret: c_int) -> Error {
    match ret {
        z::Z_MEM_ERROR => crate::fallible::oom(match what {
            "deflate" => "out of memory initialising the deflate stream",
            _ => "out of memory initialising the inflate stream",
        }),
        z::Z_VERSION_ERROR => Error::Internal(detail!("incompatible zlib version for the {what} stream")),
        _ => Error::Internal(detail!("zlib refused the {what} stream settings (code {ret})")),
    }
}

/// inflateSetDictionary allocates the window: Z_MEM_ERROR is out of memory.
fn set_dictionary_error(ret: c_int) -> Error {
    match ret {
        z::Z_MEM_ERROR => crate::fallible::oom("out of memory setting an inflate window"),
        _ => Error::Internal(detail!("inflateSetDictionary failed (code {ret})")),
    }
}

/// Least spare room worth a zlib call. More than 6 bytes, so that a
/// `Z_SYNC_FLUSH` with nothing left to write but the empty stored block
/// completes with output space to spare (zlib's manual).
const MIN_SPARE: usize = 64;

/// Makes room in `out` for the next zlib call, never letting its capacity
/// pass `limit`, and returns the usable spare length. It grows only when
/// fewer than `MIN_SPARE` bytes are free, and then at least doubles, and to
/// at least `want` bytes free: however little each call writes, n bytes of
/// output cost O(n) bytes allocated and copied, in O(log n) allocations.
fn spare(out: &mut Vec<u8>, want: usize, limit: usize) -> Result<usize> {
    let len = out.len();
    let room = limit.saturating_sub(len);
    if out.capacity() - len < MIN_SPARE.min(room) {
        let target = out
            .capacity()
            .saturating_mul(2)
            .max(len.saturating_add(want.max(MIN_SPARE)))
            .min(len.saturating_add(room));
        let grow = target - len;
        out.try_reserve_exact(grow)
            .map_err(|_| crate::fallible::oom("out of memory growing an output buffer"))?;
    }
    Ok((out.capacity() - len).min(room).min(c_uint::MAX as usize))
}

/// A raw deflate stream.
pub struct Deflater {
    s: Stream,
}

/// Inputs up to this size get room for their worst case up front and are
/// compressed in one call; larger ones reuse room already there, or take
/// the three-call path (their buffer grows from the caller's hint instead
/// of to their worst case).
const ONE_CALL_RESERVE_MAX: usize = 4096;

/// Room that certainly holds `len` input bytes deflated and sync-flushed
/// in one call, at any level from 1 and any memLevel: a block of stored
/// data costs at most 5 bytes more than its input, every block holds at
/// least 128 input bytes (memLevel 1's symbol buffer), the empty stored
/// block of the flush at most 6 more, and zlib's manual asks for more than
/// 6 bytes to spare so that the flush completes.
fn one_call_room(len: usize) -> usize {
    len.saturating_add(len >> 3).saturating_add(64)
}

// SAFETY: the stream owns its zlib state exclusively; zlib streams may move
// between threads as long as one thread uses them at a time, which &mut
// guarantees.
unsafe impl Send for Deflater {}

impl Deflater {
    /// `window_bits` is the agreed 8..15; 8 compresses with zlib's 9, whose
    /// output never reaches back more than 250 bytes (see `params` and RFC 7692 section 7.1.2).
    pub fn new(window_bits: u8, settings: &CompressSettings, counter: &MemoryCounter) -> Result<Deflater> {
        let mut s = Stream::new(counter)?;
        let wbits = c_int::from(window_bits.clamp(9, 15));
        // SAFETY: strm is a valid, boxed z_stream with our allocator set;
        // the version and size describe the zlib we link.
        let ret = unsafe {
            z::deflateInit2_(
                &mut *s.strm,
                settings.level,
                z::Z_DEFLATED,
                -wbits,
                settings.mem_level,
                settings.strategy,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if ret != z::Z_OK {
            return Err(init_error("deflate", ret));
        }
        Ok(Deflater { s })
    }

    /// A new stream whose window is `history` (a compacted stream's), so
    /// that it may refer back into it as the old stream could.
    pub fn restore(
        window_bits: u8,
        settings: &CompressSettings,
        counter: &MemoryCounter,
        history: &History,
    ) -> Result<Deflater> {
        let mut d = Deflater::new(window_bits, settings, counter)?;
        // SAFETY: a raw deflate stream just initialised, before any deflate
        // call, accepts a dictionary; history's bytes are live for the call
        // (zlib copies it, keeping at most its window's size).
        let ret = unsafe { z::deflateSetDictionary(&mut *d.s.strm, history.bytes().as_ptr(), history.len() as c_uint) };
        if ret != z::Z_OK {
            return Err(Error::Internal(detail!("deflateSetDictionary failed (code {ret})")));
        }
        Ok(d)
    }

    /// Starts a new stream with an empty window, keeping the allocations
    /// (no_context_takeover: no deflateInit per message).
    pub fn reset(&mut self) -> Result<()> {
        // SAFETY: the stream was initialised by deflateInit2_.
        match unsafe { z::deflateReset(&mut *self.s.strm) } {
            z::Z_OK => Ok(()),
            ret => Err(Error::Internal(detail!("deflateReset failed (code {ret})"))),
        }
    }

    /// A copy of the window, between messages (after a sync flush nothing
    /// is pending, so the window is all the stream knows). None if empty.
    pub fn history(&mut self) -> Result<Option<History>> {
        History::take(&mut self.s, "deflate", deflateGetDictionary)
    }

    /// Compresses all of `input` and flushes with `Z_SYNC_FLUSH`, appending
    /// to `out`; the output ends on a byte boundary with `00 00 ff ff`.
    /// The bytes are websockets' (Python's `compress()` then `flush()`):
    /// with room for the worst case, one `Z_SYNC_FLUSH` call gives them,
    /// since from level 1 zlib compresses a frame the same whether it
    /// arrives with or without the flush; otherwise, and for level 0
    /// (whose stored blocks depend on the flush) and empty frames (a flush
    /// right after a flush writes nothing), the input goes in with
    /// `Z_NO_FLUSH` first. `hint` is the output size expected; the buffer
    /// grows from there. `level` is the stream's compression level (only
    /// whether it is 0 matters; not kept here, to keep handles small).
    pub fn compress_sync(&mut self, input: &[u8], out: &mut Vec<u8>, hint: usize, level: i32) -> Result<()> {
        if level != 0 && !input.is_empty() && input.len() <= c_uint::MAX as usize / 2 {
            let room = one_call_room(input.len());
            if out.capacity() - out.len() >= room || input.len() <= ONE_CALL_RESERVE_MAX {
                out.try_reserve(room)
                    .map_err(|_| crate::fallible::oom("out of memory growing an output buffer"))?;
                return self.run(input, z::Z_SYNC_FLUSH, out, room);
            }
        }
        self.compress_in_steps(input, out, hint)
    }

    /// `compress_sync` for any input and room: `Z_NO_FLUSH`, `Z_BLOCK`,
    /// then `Z_SYNC_FLUSH`.
    fn compress_in_steps(&mut self, input: &[u8], out: &mut Vec<u8>, hint: usize) -> Result<()> {
        let mut rest = input;
        loop {
            let take = rest.len().min(c_uint::MAX as usize);
            let (chunk, after) = rest.split_at(take);
            self.run(chunk, z::Z_NO_FLUSH, out, hint)?;
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        // A flush that fills the output space exactly must be called again,
        // and zlib then writes the empty stored block a second time. So the
        // block is completed with Z_BLOCK, which writes what Z_SYNC_FLUSH
        // would except that empty block, and may be called again harmlessly;
        // then Z_SYNC_FLUSH, with nothing left to write but that block (at
        // most 6 bytes, with the up to 7 bits Z_BLOCK leaves pending), gets
        // MIN_SPARE bytes and completes in one call: the reference's bytes,
        // whatever the buffer's size.
        self.run(&[], z::Z_BLOCK, out, hint)?;
        self.run(&[], z::Z_SYNC_FLUSH, out, hint)
    }

    /// Calls deflate with `flush` until `chunk` is consumed and, for a
    /// flush, until the flush is complete (zlib leaves output space unused).
    fn run(&mut self, chunk: &[u8], flush: c_int, out: &mut Vec<u8>, hint: usize) -> Result<()> {
        let strm = &mut *self.s.strm;
        strm.next_in = chunk.as_ptr() as *mut u8;
        strm.avail_in = chunk.len() as c_uint;
        let result = loop {
            let avail = match spare(out, hint, usize::MAX) {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            // SAFETY: out has `avail` bytes of spare capacity after len.
            strm.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
            strm.avail_out = avail as c_uint;
            // SAFETY: the stream was initialised by deflateInit2_; next_in
            // points at avail_in readable bytes and next_out at avail_out
            // writable bytes, both live for this call.
            let ret = unsafe { z::deflate(strm, flush) };
            let written = avail - strm.avail_out as usize;
            // SAFETY: zlib initialised exactly `written` bytes after len.
            unsafe { out.set_len(out.len() + written) };
            match ret {
                // Z_BUF_ERROR: no progress was possible, i.e. nothing to do.
                z::Z_OK | z::Z_BUF_ERROR if strm.avail_in == 0 && strm.avail_out != 0 => break Ok(()),
                z::Z_OK => {}
                _ => {
                    break Err(Error::Internal(detail!(
                        "deflate failed (code {ret}): {}",
                        self.s.msg()
                    )))
                }
            }
        };
        self.clear_pointers();
        result
    }

    fn clear_pointers(&mut self) {
        let strm = &mut *self.s.strm;
        strm.next_in = std::ptr::null_mut();
        strm.next_out = std::ptr::null_mut();
        strm.avail_in = 0;
        strm.avail_out = 0;
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised and is ended exactly once.
        unsafe { z::deflateEnd(&mut *self.s.strm) };
    }
}

/// How an inflate call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateStatus {
    /// All input consumed, all output written.
    NeedInput,
    /// The output reached the limit; more may be pending.
    LimitReached,
    /// A block with BFINAL ended the stream; input after it is unconsumed.
    StreamEnd,
}

/// A raw inflate stream.
pub struct Inflater {
    s: Stream,
    window_bits: u8,
    /// Whether the stream stands between two DEFLATE blocks: true after
    /// a (re)start, then as zlib reported it after the last call that
    /// consumed or wrote anything (a call without progress, made to drain
    /// a full output buffer, does not report it).
    between_blocks: bool,
    /// Output space given to one inflate call: unbounded by default, a
    /// quarter window below 15 bits in strict mode, so that a distance
    /// beyond the agreed window is caught (zlib measures it against the
    /// window plus this call's output).
    max_out_per_call: usize,
    /// Where the window waits across a BFINAL restart; made at the first
    /// one, kept (and counted) for the next.
    window: Vec<u8>,
}

// SAFETY: as for Deflater.
unsafe impl Send for Inflater {}

impl Inflater {
    /// `strict`: inflate in calls of a quarter window below 15 bits, so
    /// that a distance more than a quarter window beyond the agreed window
    /// is refused even within one message (`pmd_config_set_strict_window`).
    /// Otherwise calls are as large as the output allows, and zlib refuses
    /// only distances beyond its kept window plus the call's own output.
    pub fn new(window_bits: u8, strict: bool, counter: &MemoryCounter) -> Result<Inflater> {
        let mut s = Stream::new(counter)?;
        let wbits = c_int::from(window_bits.clamp(8, 15));
        // SAFETY: strm is a valid, boxed z_stream with our allocator set.
        let ret = unsafe {
            z::inflateInit2_(
                &mut *s.strm,
                -wbits,
                z::zlibVersion(),
                std::mem::size_of::<z::z_stream>() as c_int,
            )
        };
        if ret != z::Z_OK {
            return Err(init_error("inflate", ret));
        }
        Ok(Inflater {
            s,
            window_bits: wbits as u8,
            between_blocks: true,
            window: Vec::new(),
            // DEFLATE distances never exceed 32 KiB: a 15-bit window needs
            // no help, and big calls keep decoding at zlib's speed.
            max_out_per_call: if strict && wbits < 15 {
                1usize << (wbits - 2)
            } else {
                usize::MAX
            },
        })
    }

    /// Inflates `input`, appending to `out` without ever letting it grow
    /// past `limit` bytes. Returns the input bytes consumed and why it
    /// stopped. `offset` is where `input` starts in the frame, for errors;
    /// `hint` is the output size expected (the buffer grows from there).
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        offset: usize,
        hint: usize,
    ) -> Result<(usize, InflateStatus)> {
        let strm = &mut *self.s.strm;
        // Input beyond what one call takes (c_uint) goes in as zlib
        // consumes the rest; `given` counts what it was handed.
        let mut given = input.len().min(c_uint::MAX as usize);
        strm.next_in = input.as_ptr() as *mut u8;
        strm.avail_in = given as c_uint;
        let status = loop {
            if out.len() >= limit {
                break InflateStatus::LimitReached;
            }
            // zlib checks a distance against the window plus what this call
            // has written; in strict mode small calls keep that close to the
            // agreed window.
            let avail = spare(out, hint, limit)?.min(self.max_out_per_call);
            // SAFETY: out has `avail` bytes of spare capacity after len.
            strm.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
            strm.avail_out = avail as c_uint;
            let in_before = strm.avail_in;
            // SAFETY: the stream was initialised by inflateInit2_; next_in
            // and next_out describe live buffers of avail_in / avail_out.
            let ret = unsafe { z::inflate(strm, z::Z_SYNC_FLUSH) };
            let written = avail - strm.avail_out as usize;
            if written > 0 || strm.avail_in != in_before {
                self.between_blocks = strm.data_type & 128 != 0;
            }
            // SAFETY: zlib initialised exactly `written` bytes after len.
            unsafe { out.set_len(out.len() + written) };
            match ret {
                z::Z_STREAM_END => break InflateStatus::StreamEnd,
                z::Z_OK | z::Z_BUF_ERROR if strm.avail_in == 0 && strm.avail_out != 0 => {
                    if given == input.len() {
                        break InflateStatus::NeedInput;
                    }
                    let more = (input.len() - given).min(c_uint::MAX as usize);
                    strm.next_in = input[given..].as_ptr() as *mut u8;
                    strm.avail_in = more as c_uint;
                    given += more;
                }
                z::Z_OK => {}
                z::Z_BUF_ERROR if strm.avail_out == 0 => {}
                _ => {
                    let at = offset + given - strm.avail_in as usize;
                    return Err(self.s.inflate_error(ret, at));
                }
            }
        };
        // zlib reads next_in and next_out only inside inflate calls.
        Ok((given - strm.avail_in as usize, status))
    }

    /// True when the last inflate call stopped between two DEFLATE blocks
    /// (zlib reports this in data_type, bit 128), as every flushed message
    /// must end.
    pub fn at_block_boundary(&self) -> bool {
        self.between_blocks
    }

    /// A new stream whose window is `history` (a compacted stream's).
    pub fn restore(window_bits: u8, strict: bool, counter: &MemoryCounter, history: &History) -> Result<Inflater> {
        let mut i = Inflater::new(window_bits, strict, counter)?;
        // SAFETY: a raw inflate stream accepts a dictionary at any time;
        // history's bytes are live for the call (zlib copies it, keeping at
        // most its window's size).
        let ret = unsafe { z::inflateSetDictionary(&mut *i.s.strm, history.bytes().as_ptr(), history.len() as c_uint) };
        if ret != z::Z_OK {
            return Err(set_dictionary_error(ret));
        }
        Ok(i)
    }

    /// A copy of the window (the output zlib keeps for back references),
    /// between messages. None if empty.
    pub fn history(&mut self) -> Result<Option<History>> {
        History::take(&mut self.s, "inflate", inflateGetDictionary)
    }

    /// Starts a new stream with an empty window, keeping the allocations.
    pub fn reset(&mut self) -> Result<()> {
        self.between_blocks = true;
        // SAFETY: the stream was initialised by inflateInit2_.
        match unsafe { z::inflateReset(&mut *self.s.strm) } {
            z::Z_OK => Ok(()),
            ret => Err(Error::Internal(detail!("inflateReset failed (code {ret})"))),
        }
    }

    /// Starts a new stream whose window is the old stream's (after a BFINAL
    /// block, a sender that keeps its context continues from it).
    pub fn restart_keeping_window(&mut self) -> Result<()> {
        if self.window.is_empty() {
            let size = 1usize << self.window_bits;
            let mut window = Vec::new();
            window
                .try_reserve_exact(size)
                .map_err(|_| crate::fallible::oom("out of memory keeping an inflate window"))?;
            window.resize(size, 0);
            self.window = window;
            self.s.counter.add(size);
        }
        let mut len: c_uint = 0;
        // SAFETY: window has room for 2^window_bits bytes, the most zlib
        // copies for this stream.
        let ret = unsafe { inflateGetDictionary(&mut *self.s.strm, self.window.as_mut_ptr(), &mut len) };
        if ret != z::Z_OK {
            return Err(Error::Internal(detail!("inflateGetDictionary failed (code {ret})")));
        }
        self.reset()?;
        if len == 0 {
            return Ok(());
        }
        // SAFETY: a raw inflate stream just reset accepts a dictionary of
        // len bytes, which window holds.
        match unsafe { z::inflateSetDictionary(&mut *self.s.strm, self.window.as_ptr(), len) } {
            z::Z_OK => Ok(()),
            ret => Err(set_dictionary_error(ret)),
        }
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        self.s.counter.sub(self.window.len());
        // SAFETY: the stream was initialised and is ended exactly once.
        unsafe { z::inflateEnd(&mut *self.s.strm) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_and_releases_them() {
        let counter = MemoryCounter::try_new().unwrap();
        let d = Deflater::new(15, &CompressSettings::default(), &counter).unwrap();
        let with_deflate = counter.get();
        // 2^(15+2) + 2^(8+9) = 256 KiB plus state.
        assert!(with_deflate > 256 * 1024, "{with_deflate}");
        let mut i = Inflater::new(15, false, &counter).unwrap();
        let mut out = Vec::new();
        i.inflate(
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff],
            &mut out,
            usize::MAX,
            0,
            64,
        )
        .unwrap();
        assert_eq!(out, b"Hello");
        assert!(counter.get() > with_deflate + 32 * 1024);
        drop(d);
        drop(i);
        assert_eq!(counter.get(), 0);
    }

    #[test]
    fn the_window_kept_across_bfinal_is_counted_and_released() {
        let counter = MemoryCounter::try_new().unwrap();
        let mut i = Inflater::new(15, false, &counter).unwrap();
        let mut out = Vec::new();
        let bfinal_hello = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let (_, status) = i.inflate(&bfinal_hello, &mut out, usize::MAX, 0, 64).unwrap();
        assert_eq!(status, InflateStatus::StreamEnd);
        let before = counter.get();
        i.restart_keeping_window().unwrap();
        assert_eq!(counter.get(), before + 32 * 1024);
        // The next stream may refer back into "Hello" (distance 5).
        i.restart_keeping_window().unwrap();
        assert_eq!(counter.get(), before + 32 * 1024, "the buffer is reused");
        drop(i);
        assert_eq!(counter.get(), 0);
    }

    #[test]
    fn sync_flush_ends_with_tail_and_matches_rfc() {
        let counter = MemoryCounter::try_new().unwrap();
        let mut d = Deflater::new(15, &CompressSettings::default(), &counter).unwrap();
        let mut out = Vec::new();
        d.compress_sync(b"Hello", &mut out, 64, -1).unwrap();
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff]);
        // An empty frame after a flushed one is an empty stored block, as
        // websockets (compress then flush) sends it.
        out.clear();
        d.compress_sync(b"", &mut out, 64, -1).unwrap();
        assert_eq!(out, [0x00, 0x00, 0x00, 0xff, 0xff]);
    }

    /// Issue #8: below window bits 15 each inflate call writes at most a
    /// quarter window, and before each one the buffer was regrown to hold
    /// `hint` more bytes whenever fewer were free: a reallocation of the
    /// whole buffer per call.
    #[test]
    fn buffers_grow_geometrically_whatever_each_call_writes() {
        const OUTPUT: usize = 300_000;
        for (want, per_call) in [(256, 64), (256, 128), (OUTPUT + 256, 128), (1000, 8192), (64, 1)] {
            let mut out: Vec<u8> = Vec::new();
            let (mut allocations, mut allocated, mut capacity) = (0, 0, 0);
            while out.len() < OUTPUT {
                let avail = spare(&mut out, want, usize::MAX).unwrap();
                assert!(avail >= MIN_SPARE, "{avail}");
                if out.capacity() != capacity {
                    capacity = out.capacity();
                    allocations += 1;
                    allocated += capacity;
                }
                let n = avail.min(per_call).min(OUTPUT - out.len());
                out.resize(out.len() + n, 0);
            }
            // From `want` (at least MIN_SPARE), doubling: at most
            // log2(OUTPUT / want) + 2 allocations, in all less than four
            // times the output plus the first guess.
            let doublings = (OUTPUT / want.max(MIN_SPARE)).max(1).ilog2() as usize + 2;
            assert!(allocations <= doublings, "want {want}: {allocations} allocations");
            assert!(
                allocated <= 4 * OUTPUT + want,
                "want {want}: {allocated} bytes allocated"
            );
        }
    }

    #[test]
    fn buffers_never_grow_past_the_limit() {
        let mut out: Vec<u8> = Vec::new();
        for limit in [1, 63, 64, 65, 1000, 4096, 100_000] {
            out.clear();
            out.shrink_to_fit();
            while out.len() < limit {
                let avail = spare(&mut out, 256, limit).unwrap();
                assert!(
                    avail > 0 && out.capacity() <= limit,
                    "limit {limit}: capacity {}",
                    out.capacity()
                );
                out.resize(out.len() + avail.min(100), 0);
            }
            assert_eq!(spare(&mut out, 256, limit).unwrap(), 0);
        }
    }

    #[test]
    fn inflate_respects_the_limit() {
        let counter = MemoryCounter::try_new().unwrap();
        let mut d = Deflater::new(15, &CompressSettings::default(), &counter).unwrap();
        let mut compressed = Vec::new();
        d.compress_sync(&vec![b'a'; 100_000], &mut compressed, 64, -1).unwrap();
        let mut i = Inflater::new(15, false, &counter).unwrap();
        let mut out = Vec::new();
        let (_, status) = i.inflate(&compressed, &mut out, 1000, 0, 64).unwrap();
        assert_eq!(status, InflateStatus::LimitReached);
        assert_eq!(out.len(), 1000);
        assert!(out.capacity() <= 1000);
    }

    #[test]
    fn corrupt_data_names_the_offset() {
        let counter = MemoryCounter::try_new().unwrap();
        let mut i = Inflater::new(15, false, &counter).unwrap();
        let err = i
            .inflate(&[0xff, 0xff, 0xff], &mut Vec::new(), usize::MAX, 0, 64)
            .unwrap_err();
        assert!(matches!(err, Error::CorruptData(_)), "{err:?}");
        assert!(err.to_string().contains("input byte"), "{err}");
    }
}

#[cfg(test)]
mod boundary_tests {
    use super::*;

    /// A message whose output fills the buffer exactly as its last input
    /// byte is consumed makes one more inflate call, with no input, to
    /// drain zlib; that call reports no block boundary (zlib moves its
    /// mode on at entry), and must not hide the one the previous call saw.
    #[test]
    fn a_buffer_filled_exactly_keeps_the_block_boundary() {
        let counter = MemoryCounter::try_new().unwrap();
        for size in [MIN_SPARE, 100, 1000, 5000] {
            let message: Vec<u8> = (0..size).map(|k| (k * 7 % 251) as u8).collect();
            let mut d = Deflater::new(15, &CompressSettings::default(), &counter).unwrap();
            let mut compressed = Vec::new();
            // compress_sync ends with the whole empty stored block.
            d.compress_sync(&message, &mut compressed, 64, -1).unwrap();
            let mut i = Inflater::new(15, false, &counter).unwrap();
            let mut out = Vec::with_capacity(size);
            assert_eq!(out.capacity(), size);
            let (used, status) = i.inflate(&compressed, &mut out, usize::MAX, 0, 1).unwrap();
            assert_eq!((used, status), (compressed.len(), InflateStatus::NeedInput));
            assert_eq!(out, message);
            assert!(i.at_block_boundary(), "size {size}");
        }
    }
}

#[cfg(test)]
mod one_call_tests {
    use super::*;

    /// Text-like or random bytes, from a fixed seed.
    fn sample(len: usize, seed: u64, text: bool) -> Vec<u8> {
        let words: [&[u8]; 6] = [
            b"{\"price\":",
            b"\"symbol\":\"ABC\",",
            b" the ",
            b"12.5",
            b"window",
            b"},",
        ];
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if text {
                out.extend_from_slice(words[(x % 6) as usize]);
            } else {
                out.push(x as u8);
            }
        }
        out.truncate(len);
        out
    }

    /// The one-call path writes exactly the bytes of Z_NO_FLUSH, Z_BLOCK,
    /// Z_SYNC_FLUSH (websockets' compress-then-flush) at every level from 1,
    /// memLevel, strategy and window, frame after frame of one kept stream,
    /// around zlib's lookahead (262 bytes) and the 4 KiB reserve limit.
    #[test]
    fn one_call_writes_the_bytes_of_compress_then_flush() {
        let counter = MemoryCounter::try_new().unwrap();
        let sizes = [
            1, 2, 5, 100, 261, 262, 263, 300, 1000, 4095, 4096, 4097, 9000, 0, 3, 70_000, 17,
        ];
        for level in [-1, 1, 2, 3, 4, 5, 6, 7, 8, 9] {
            for mem_level in [1, 2, 5, 8, 9] {
                for strategy in 0..=crate::config::STRATEGY_MAX {
                    for window_bits in [9, 12, 15] {
                        let settings = CompressSettings {
                            level,
                            mem_level,
                            strategy,
                        };
                        let mut fast = Deflater::new(window_bits, &settings, &counter).unwrap();
                        let mut steps = Deflater::new(window_bits, &settings, &counter).unwrap();
                        let (mut a, mut b) = (Vec::new(), Vec::new());
                        for (k, &size) in sizes.iter().enumerate() {
                            let input = sample(size, k as u64 + 1, k % 3 != 2);
                            a.clear();
                            b.clear();
                            fast.compress_sync(&input, &mut a, 64, level).unwrap();
                            steps.compress_in_steps(&input, &mut b, 64).unwrap();
                            assert!(
                                a == b,
                                "level {level} memLevel {mem_level} strategy {strategy} window {window_bits} frame {k} ({size} B)"
                            );
                            assert!(a.ends_with(&[0, 0, 0xff, 0xff]));
                        }
                    }
                }
            }
        }
    }
}
