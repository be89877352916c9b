//! One connection's permessage-deflate: the encode and decode state
//! machines of RFC 7692 section 7.2 (websockets' `PerMessageDeflate`).
//! The two sides share nothing but a memory counter, so a writer thread and
//! a reader thread may each own one.

use std::sync::{Mutex, MutexGuard};

use crate::config::{CompressSettings, Config};
use crate::error::{Error, ErrorKind, Result};
use crate::fallible::detail;
use crate::limit::{Bound, MessageLimit};
use crate::lock::lock_side;
use crate::params::check_window_bits;
use crate::zstream::{Deflater, History, InflateStatus, Inflater, MemoryCounter};

pub const OP_CONT: u8 = 0;
pub const OP_TEXT: u8 = 1;
pub const OP_BINARY: u8 = 2;
pub const OP_CLOSE: u8 = 8;
pub const OP_PING: u8 = 9;
pub const OP_PONG: u8 = 10;

/// The empty stored block that ends every flushed message (RFC 7692 7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Buffers above this size are shrunk when a much smaller frame follows.
const SHRINK_ABOVE: usize = 64 * 1024;

/// What was agreed, seen from the endpoint that owns the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    pub remote_no_context_takeover: bool,
    pub local_no_context_takeover: bool,
    pub remote_max_window_bits: u8,
    pub local_max_window_bits: u8,
}

/// A WebSocket frame as the host's framing layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub opcode: u8,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    fn with_data<'b>(&self, data: &'b [u8], rsv1: bool) -> Frame<'b> {
        Frame {
            opcode: self.opcode,
            fin: self.fin,
            rsv1,
            rsv2: self.rsv2,
            rsv3: self.rsv3,
            data,
        }
    }
}

fn is_control(opcode: u8) -> bool {
    opcode >= 8
}

fn is_reserved(opcode: u8) -> bool {
    matches!(opcode, 3..=7 | 11..=15)
}

/// Drops an oversized output buffer before a frame much smaller than the
/// message that grew it, and keeps the memory counter in step.
fn prepare(buf: &mut Vec<u8>, held: &mut usize, counter: &MemoryCounter, last_len: usize) {
    buf.clear();
    if buf.capacity() > SHRINK_ABOVE && buf.capacity() / 4 > last_len {
        // Not shrink_to: a failed reallocation would abort. A new buffer,
        // as large as shrink_to would leave, or empty (it grows fallibly
        // when used) if even that cannot be had.
        *buf = Vec::new();
        let _ = buf.try_reserve_exact(last_len.saturating_mul(2));
    }
    counter.track(held, buf.capacity());
}

/// The compressing side.
pub struct Encoder {
    window_bits: u8,
    no_context_takeover: bool,
    settings: CompressSettings,
    /// A whole single-frame message shorter than this is sent as it is,
    /// without RSV1 (`pmd_config_set_compress_threshold`); 0: none.
    compress_threshold: usize,
    counter: MemoryCounter,
    deflater: Option<Deflater>,
    /// The window of a stream that compaction released (takeover only).
    history: Option<History>,
    in_message: bool,
    buf: Vec<u8>,
    buf_held: usize,
    last_len: usize,
}

impl Encoder {
    /// Compresses one outgoing frame. Control frames pass through; the
    /// first frame of a message gets RSV1. The result borrows either the
    /// input or this encoder's buffer, until the next call.
    pub fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        match self.encode_frame(frame) {
            Ok(true) => {
                self.last_len = self.buf.len();
                Ok(frame.with_data(&self.buf, frame.opcode != OP_CONT))
            }
            Ok(false) => Ok(*frame),
            Err(e) => {
                // Whatever the error, the next data frame starts a new
                // message; a message cut short leaves the stream's state
                // unknown, so that one starts afresh.
                if std::mem::take(&mut self.in_message) {
                    self.deflater = None;
                }
                Err(e)
            }
        }
    }

    /// Ok(false): pass the frame through; Ok(true): the output is in buf.
    fn encode_frame(&mut self, frame: &Frame<'_>) -> Result<bool> {
        if frame.opcode > 15 || is_reserved(frame.opcode) {
            return Err(Error::invalid(detail!(
                "cannot encode a frame with opcode {}",
                frame.opcode
            )));
        }
        if is_control(frame.opcode) {
            return Ok(false);
        }
        if frame.rsv1 {
            return Err(Error::invalid(
                "outgoing frame already has RSV1 set: RSV1 belongs to permessage-deflate",
            ));
        }
        match (frame.opcode != OP_CONT, self.in_message) {
            (false, false) => return Err(Error::invalid("continuation frame without a message in progress")),
            (true, true) => {
                return Err(Error::invalid(detail!(
                    "data frame (opcode {}) while a message is in progress: finish it with a FIN frame",
                    frame.opcode
                )))
            }
            _ => {}
        }
        if frame.opcode != OP_CONT && frame.fin && frame.data.len() < self.compress_threshold {
            // RSV1 is per message (RFC 7692 section 6): this one goes out
            // uncompressed, and a kept deflate stream simply never sees it.
            return Ok(false);
        }
        self.in_message = true;
        prepare(&mut self.buf, &mut self.buf_held, &self.counter, self.last_len);
        let result = self.compress(frame.data, frame.fin);
        self.counter.track(&mut self.buf_held, self.buf.capacity());
        result?;
        self.in_message = !frame.fin;
        Ok(true)
    }

    /// Whether a message is in progress (a first frame without FIN was
    /// encoded and its final frame not yet).
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    fn compress(&mut self, data: &[u8], fin: bool) -> Result<()> {
        let deflater = match &mut self.deflater {
            Some(d) => d,
            None => {
                let d = match &self.history {
                    Some(h) => Deflater::restore(self.window_bits, &self.settings, &self.counter, h)?,
                    None => Deflater::new(self.window_bits, &self.settings, &self.counter)?,
                };
                self.history = None;
                self.deflater.insert(d)
            }
        };
        // Expect about what the last frame gave; grow by doubling if not.
        let hint = data
            .len()
            .saturating_add(64)
            .min(self.last_len.saturating_mul(2).max(4096));
        deflater.compress_sync(data, &mut self.buf, hint, self.settings.level)?;
        if fin {
            if self.buf.ends_with(&TAIL) {
                self.buf.truncate(self.buf.len() - TAIL.len());
            } else {
                return Err(Error::Fixed(
                    ErrorKind::Internal,
                    "deflate output does not end with 00 00 ff ff",
                ));
            }
            if self.no_context_takeover {
                // Each message starts from an empty window: the stream is
                // reset and kept for the next one (no deflateInit per
                // message); compaction releases it.
                deflater.reset()?;
            }
        }
        Ok(())
    }

    /// Releases what this side does not need between messages: the output
    /// buffer always; the zlib stream when no message is in progress,
    /// keeping under context takeover only a copy of its window.
    pub fn compact(&mut self) -> Result<()> {
        self.buf = Vec::new();
        self.counter.track(&mut self.buf_held, 0);
        self.last_len = 0;
        if self.in_message {
            return Ok(());
        }
        if let Some(d) = &mut self.deflater {
            if !self.no_context_takeover {
                self.history = d.history()?;
            }
            self.deflater = None;
        }
        Ok(())
    }
}

/// What goes into the inflater after a frame's data: the tail of the
/// empty block that ends every message (RFC 7692 section 7.2.2), which the
/// sender stripped, goes back on after the final frame, unless the data
/// already completes the message: a sender that kept the tail, or closed
/// the stream with a BFINAL block at the very end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: not the message's final frame.
    None,
    /// The tail, unless the stream already stands between two blocks: for
    /// a final frame that is empty or ends with ff, as a sender that kept
    /// the tail sends it (zlib's stripped flush never ends with ff: its
    /// last byte holds the empty block's header and zero padding).
    IfOpen,
    /// The tail, unless a BFINAL block closed the stream at the end of the
    /// data.
    Always,
    /// As `Always`, with the tail already in the input, as its last 4
    /// bytes (a small final frame, inflated in one call with its tail).
    Joined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeState {
    Idle,
    /// A message sent without RSV1: its frames pass through.
    Uncompressed,
    /// A compressed message; `ended` once a BFINAL block closed the stream;
    /// `consumed` counts the message's compressed bytes before this frame.
    Compressed {
        ended: bool,
        consumed: usize,
    },
    /// Failed with this kind, whose boxed error memory could not hold
    /// (see `Decoder::failed`); sticky.
    Failed(ErrorKind),
}

/// The decompressing side.
pub struct Decoder {
    window_bits: u8,
    no_context_takeover: bool,
    /// Inflate in calls of a quarter window below 15 bits
    /// (`pmd_config_set_strict_window`).
    strict_window: bool,
    counter: MemoryCounter,
    /// Boxed, like `failed`, to keep the handle of an idle connection small.
    inflater: Option<Box<Inflater>>,
    /// The window of a stream that compaction released (takeover only).
    history: Option<History>,
    state: DecodeState,
    /// The sticky error, boxed to keep the handle small (when memory ran
    /// out boxing it, `state` keeps its kind).
    failed: Option<Box<Error>>,
    limit: MessageLimit,
    buf: Vec<u8>,
    buf_held: usize,
    last_len: usize,
}

impl Decoder {
    /// Decompresses one incoming frame. `max_size` bounds this frame's
    /// output (`NO_LIMIT`: none; 0: only empty output), and the per-message
    /// limit bounds the message's, uncompressed frames included. Errors are
    /// sticky: once one is returned, every later call returns it again.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        if let Some(e) = &self.failed {
            return Err(e.duplicate());
        }
        if let DecodeState::Failed(kind) = self.state {
            return Err(Error::Fixed(
                kind,
                "this side failed earlier (detail lost: out of memory)",
            ));
        }
        let bound = self.limit.bound(frame.opcode, max_size);
        let result = self.decode_frame(frame, bound).and_then(|inflated| {
            let len = if inflated { self.buf.len() } else { frame.data.len() };
            self.limit.record(frame.opcode, frame.fin, len)?;
            Ok(inflated)
        });
        match result {
            Ok(true) => {
                self.last_len = self.buf.len();
                Ok(frame.with_data(&self.buf, false))
            }
            Ok(false) => Ok(*frame),
            Err(e) => {
                match crate::fallible::try_box(e.duplicate()) {
                    Ok(boxed) => self.failed = Some(boxed),
                    Err(_) => self.state = DecodeState::Failed(e.kind()),
                }
                self.inflater = None;
                self.history = None;
                self.buf = Vec::new();
                self.counter.track(&mut self.buf_held, 0);
                Err(e)
            }
        }
    }

    /// Sets the per-message limit (`NO_LIMIT`: none; 0: only empty
    /// messages). It applies to the message in progress too.
    pub fn set_max_message_size(&mut self, bytes: usize) {
        self.limit.set_max(bytes);
    }

    /// Ok(false): pass the frame through; Ok(true): the output is in buf.
    fn decode_frame(&mut self, frame: &Frame<'_>, bound: Bound) -> Result<bool> {
        let op = frame.opcode;
        if op > 15 {
            return Err(Error::invalid(detail!("opcode {op} does not fit in 4 bits")));
        }
        if is_reserved(op) {
            return Err(Error::protocol(detail!("reserved opcode {op}")));
        }
        if is_control(op) {
            if frame.rsv1 {
                return Err(Error::protocol(detail!("RSV1 set on a control frame (opcode {op})")));
            }
            return Ok(false);
        }
        if op == OP_CONT {
            if frame.rsv1 {
                return Err(Error::protocol("RSV1 set on a continuation frame"));
            }
            match self.state {
                DecodeState::Idle => return Err(Error::protocol("continuation frame without a message in progress")),
                DecodeState::Uncompressed => {
                    if frame.fin {
                        self.state = DecodeState::Idle;
                    }
                    return Ok(false);
                }
                DecodeState::Compressed { .. } => {}
                // decode() returns the sticky error before getting here.
                DecodeState::Failed(kind) => return Err(Error::Fixed(kind, "this side failed earlier")),
            }
        } else {
            if self.state != DecodeState::Idle {
                return Err(Error::protocol(detail!(
                    "data frame (opcode {op}) while a fragmented message is in progress"
                )));
            }
            if !frame.rsv1 {
                if !frame.fin {
                    self.state = DecodeState::Uncompressed;
                }
                return Ok(false);
            }
            self.state = DecodeState::Compressed {
                ended: false,
                consumed: 0,
            };
        }

        prepare(&mut self.buf, &mut self.buf_held, &self.counter, self.last_len);
        let result = self.inflate_frame(frame, bound);
        self.counter.track(&mut self.buf_held, self.buf.capacity());
        result?;
        if frame.fin {
            self.state = DecodeState::Idle;
            if self.no_context_takeover {
                // Reset and kept for the next message (no inflateInit per
                // message); compaction releases it.
                if let Some(i) = &mut self.inflater {
                    i.reset()?;
                }
            }
        }
        Ok(true)
    }

    /// Releases what this side does not need between messages: the output
    /// buffer always; the zlib stream when no message is in progress,
    /// keeping under context takeover only a copy of its window.
    pub fn compact(&mut self) -> Result<()> {
        self.buf = Vec::new();
        self.counter.track(&mut self.buf_held, 0);
        self.last_len = 0;
        if self.state != DecodeState::Idle {
            return Ok(());
        }
        if let Some(i) = &mut self.inflater {
            if !self.no_context_takeover {
                self.history = i.history()?;
            }
            self.inflater = None;
        }
        Ok(())
    }

    fn inflate_frame(&mut self, frame: &Frame<'_>, bound: Bound) -> Result<()> {
        let DecodeState::Compressed { consumed, .. } = self.state else {
            return Err(Error::Fixed(
                ErrorKind::Internal,
                "inflating outside a compressed message",
            ));
        };
        let data = frame.data;
        let end = consumed.saturating_add(data.len());
        let tail = match data.last() {
            _ if !frame.fin => Tail::None,
            None | Some(0xff) => Tail::IfOpen,
            Some(_) => Tail::Always,
        };
        // A small final frame goes in with the tail after it, copied into
        // one input: one inflate call instead of two.
        match (tail, data.len()) {
            (Tail::Always, 1..=124) => self.feed_joined::<128>(data, consumed, bound)?,
            (Tail::Always, 125..=508) => self.feed_joined::<512>(data, consumed, bound)?,
            (Tail::Always, 509..=1020) => self.feed_joined::<1024>(data, consumed, bound)?,
            _ => self.feed(data, consumed, bound, tail)?,
        }
        if let DecodeState::Compressed { consumed, .. } = &mut self.state {
            *consumed = end;
        }
        if frame.fin && !self.inflater.as_deref().is_some_and(Inflater::at_block_boundary) {
            return Err(Error::corrupt(detail!(
                "invalid DEFLATE data at input byte {end}: the message ends inside a DEFLATE block"
            )));
        }
        Ok(())
    }

    /// `feed` of a final frame of at most N - 4 bytes followed by the tail,
    /// as one input.
    fn feed_joined<const N: usize>(&mut self, data: &[u8], offset: usize, bound: Bound) -> Result<()> {
        let mut joined = [0u8; N];
        let len = data.len() + TAIL.len();
        joined[..data.len()].copy_from_slice(data);
        joined[data.len()..len].copy_from_slice(&TAIL);
        self.feed(&joined[..len], offset, bound, Tail::Joined)
    }

    /// Inflates `input`, which starts at byte `offset` of the message's
    /// compressed data, into buf, then the tail as `tail` says.
    fn feed(&mut self, mut input: &[u8], mut offset: usize, bound: Bound, mut tail: Tail) -> Result<()> {
        // Room for one byte past the bound tells "exactly the bound" (fine)
        // from "more" (too big) without inflating further; NO_LIMIT stays.
        let limit = bound.bytes.saturating_add(1);
        let inflater = match &mut self.inflater {
            Some(i) => i,
            None => {
                let i = match &self.history {
                    Some(h) => Inflater::restore(self.window_bits, self.strict_window, &self.counter, h)?,
                    None => Inflater::new(self.window_bits, self.strict_window, &self.counter)?,
                };
                self.history = None;
                self.inflater.insert(crate::fallible::try_box(i)?)
            }
        };
        loop {
            if input.is_empty() {
                match tail {
                    Tail::None => return Ok(()),
                    Tail::IfOpen if inflater.at_block_boundary() => return Ok(()),
                    Tail::IfOpen | Tail::Always => {
                        input = &TAIL;
                        tail = Tail::None;
                    }
                    Tail::Joined => return Ok(()),
                }
            }
            let DecodeState::Compressed { ended, .. } = self.state else {
                return Err(Error::Fixed(
                    ErrorKind::Internal,
                    "inflating outside a compressed message",
                ));
            };
            // After BFINAL only empty blocks may follow: allow no output.
            let (call_limit, before) = if ended {
                (self.buf.len() + 1, self.buf.len())
            } else {
                (limit, 0)
            };
            // A first guess from the input: enough for incompressible data
            // (stored blocks inflate to a little less), and the buffer at
            // least doubles from there for compressible data. A guess from
            // the last message would grow it for a small one; a multiple of
            // the input would hold that multiple of every random message.
            let hint = input.len().saturating_add(256);
            let (used, status) = inflater.inflate(input, &mut self.buf, call_limit, offset, hint)?;
            if ended && self.buf.len() > before {
                return Err(Error::corrupt(detail!(
                    "invalid DEFLATE data at input byte {}: data after a final (BFINAL) block",
                    offset + used
                )));
            }
            match status {
                InflateStatus::LimitReached => return Err(bound.exceeded(self.limit.max())),
                InflateStatus::NeedInput => {}
                InflateStatus::StreamEnd => {
                    // The sender may start its next stream with or without
                    // the window: keeping it as a dictionary decodes both.
                    // Without takeover the next message starts empty anyway.
                    if self.no_context_takeover {
                        inflater.reset()?;
                    } else {
                        inflater.restart_keeping_window()?;
                    }
                    if let DecodeState::Compressed { ended, .. } = &mut self.state {
                        *ended = true;
                    }
                    // Closed exactly at the end of the final frame's data:
                    // the message is complete without the tail.
                    let rest = input.len() - used;
                    if (tail == Tail::Always && rest == 0) || (tail == Tail::Joined && rest == TAIL.len()) {
                        return Ok(());
                    }
                }
            }
            input = &input[used..];
            offset += used;
        }
    }
}

/// One connection's negotiated permessage-deflate (websockets'
/// `PerMessageDeflate`): the handle C holds as `pmd_extension` and the
/// member a chain holds. Each side has its own lock, so a writer thread and
/// a reader thread can use it at once; a second call on a side already in
/// use is refused instead of racing.
pub struct PerMessageDeflate {
    agreed: Agreed,
    counter: MemoryCounter,
    encoder: Mutex<Encoder>,
    decoder: Mutex<Decoder>,
}

impl PerMessageDeflate {
    /// Builds an extension from agreed parameters. zlib streams are created
    /// when the first message needs them, so an idle connection holds none.
    pub fn new(agreed: Agreed, settings: &CompressSettings) -> Result<PerMessageDeflate> {
        check_window_bits("remote_max_window_bits", agreed.remote_max_window_bits.into())?;
        check_window_bits("local_max_window_bits", agreed.local_max_window_bits.into())?;
        let counter = MemoryCounter::try_new()?;
        Ok(PerMessageDeflate {
            agreed,
            encoder: Mutex::new(Encoder {
                window_bits: agreed.local_max_window_bits,
                no_context_takeover: agreed.local_no_context_takeover,
                settings: *settings,
                compress_threshold: 0,
                counter: counter.clone(),
                deflater: None,
                history: None,
                in_message: false,
                buf: Vec::new(),
                buf_held: 0,
                last_len: 0,
            }),
            decoder: Mutex::new(Decoder {
                window_bits: agreed.remote_max_window_bits,
                no_context_takeover: agreed.remote_no_context_takeover,
                strict_window: false,
                counter: counter.clone(),
                inflater: None,
                history: None,
                state: DecodeState::Idle,
                failed: None,
                limit: MessageLimit::default(),
                buf: Vec::new(),
                buf_held: 0,
                last_len: 0,
            }),
            counter,
        })
    }

    /// Builds an extension from agreed parameters with a config's zlib
    /// settings, per-message limit, strict window and compress threshold.
    pub fn for_config(agreed: Agreed, cfg: &Config) -> Result<PerMessageDeflate> {
        let ext = PerMessageDeflate::new(agreed, &cfg.compress)?;
        ext.set_max_message_size(cfg.max_message_size)?;
        ext.decoder()?.strict_window = cfg.strict_window;
        ext.encoder()?.compress_threshold = cfg.compress_threshold;
        Ok(ext)
    }

    /// What was agreed, seen from this endpoint.
    pub fn agreed(&self) -> Agreed {
        self.agreed
    }

    /// The encode side, for one call; an overlapping call is refused.
    pub fn encoder(&self) -> Result<MutexGuard<'_, Encoder>> {
        lock_side(&self.encoder, "encode", "extension")
    }

    /// The decode side, for one call; an overlapping call is refused.
    pub fn decoder(&self) -> Result<MutexGuard<'_, Decoder>> {
        lock_side(&self.decoder, "decode", "extension")
    }

    /// Encodes with exclusive access (no lock taken).
    pub fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        side(&mut self.encoder)?.encode(frame)
    }

    /// Decodes with exclusive access (no lock taken).
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        side(&mut self.decoder)?.decode(frame, max_size)
    }

    /// Sets the decode side's per-message limit (`NO_LIMIT`: none).
    pub fn set_max_message_size(&self, bytes: usize) -> Result<()> {
        self.decoder()?.set_max_message_size(bytes);
        Ok(())
    }

    /// Releases what an idle connection does not need (see
    /// `Encoder::compact`, `Decoder::compact`): the output buffers, and each
    /// zlib stream that is between messages, replaced under context
    /// takeover by a copy of its window. Refused while either side is in a
    /// call on another thread.
    pub fn compact(&self) -> Result<()> {
        let mut encoder = self.encoder()?;
        let mut decoder = self.decoder()?;
        encoder.compact()?;
        decoder.compact()
    }

    /// Bytes held by zlib and the output buffers now (not the handle).
    pub fn memory_usage(&self) -> usize {
        self.counter.get()
    }

    /// Whether this connection may send, in place of a message of its own,
    /// a message that a `SharedEncoder` of `window_bits` compressed: only
    /// when its sending side agreed no_context_takeover (its peer then
    /// expects no message to refer back to an earlier one, so a message
    /// its own deflate stream never saw breaks nothing), its agreed sending
    /// window is at least `window_bits` (the peer's inflater keeps no more
    /// history than that), and it is between messages. Under context
    /// takeover the peer's window would hold the shared message while this
    /// side's deflate stream does not, and its next message could point
    /// back at bytes the peer does not have there. False also while an
    /// encode runs on another thread (the state is not known).
    pub fn can_send_shared(&self, window_bits: u8) -> bool {
        self.agreed.local_no_context_takeover
            && self.agreed.local_max_window_bits >= window_bits
            && self.encoder.try_lock().is_ok_and(|e| !e.in_message())
    }
}

/// A side reached through `&mut`: no lock, but a side poisoned by a panic
/// stays unusable.
fn side<T>(m: &mut Mutex<T>) -> Result<&mut T> {
    m.get_mut().map_err(|_| {
        Error::Fixed(
            ErrorKind::Internal,
            "a side of this extension failed internally earlier",
        )
    })
}
