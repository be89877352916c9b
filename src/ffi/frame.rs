//! Frames across the boundary: `pmd_frame` and the opcodes, reading a
//! frame a C caller passed, writing a result frame back, and the
//! read-run-write body that every encode and decode export shares.

use crate::error::Error;
use crate::extension::{Frame, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT};
use crate::ffi::null;

/// Continuation frame.
pub const PMD_OPCODE_CONTINUATION: u8 = 0;
/// Text frame.
pub const PMD_OPCODE_TEXT: u8 = 1;
/// Binary frame.
pub const PMD_OPCODE_BINARY: u8 = 2;
/// Close frame.
pub const PMD_OPCODE_CLOSE: u8 = 8;
/// Ping frame.
pub const PMD_OPCODE_PING: u8 = 9;
/// Pong frame.
pub const PMD_OPCODE_PONG: u8 = 10;

// The header's opcodes are the core's (cbindgen needs them as literals).
const _: () = assert!(
    PMD_OPCODE_CONTINUATION == OP_CONT
        && PMD_OPCODE_TEXT == OP_TEXT
        && PMD_OPCODE_BINARY == OP_BINARY
        && PMD_OPCODE_CLOSE == OP_CLOSE
        && PMD_OPCODE_PING == OP_PING
        && PMD_OPCODE_PONG == OP_PONG
);

/// A WebSocket frame's header bits and payload. `data` may be NULL when
/// `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pmd_frame {
    pub opcode: u8,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub data: *const u8,
    pub len: usize,
}

/// `pmd_frame` as C may fill it: a C `bool` field can hold any byte (after
/// a memcpy or a union), which a Rust `bool` must never hold, so frames
/// from C are read through this and normalised (non-zero is true).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RawFrame {
    opcode: u8,
    fin: u8,
    rsv1: u8,
    rsv2: u8,
    rsv3: u8,
    data: *const u8,
    len: usize,
}

const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<RawFrame>() == size_of::<pmd_frame>());
    assert!(align_of::<RawFrame>() == align_of::<pmd_frame>());
    assert!(offset_of!(RawFrame, fin) == offset_of!(pmd_frame, fin));
    assert!(offset_of!(RawFrame, rsv3) == offset_of!(pmd_frame, rsv3));
    assert!(offset_of!(RawFrame, data) == offset_of!(pmd_frame, data));
    assert!(offset_of!(RawFrame, len) == offset_of!(pmd_frame, len));
};

impl RawFrame {
    /// An output slot for a callback, marked with an opcode no frame has.
    pub(crate) fn blank(opcode: u8) -> RawFrame {
        RawFrame {
            opcode,
            fin: 0,
            rsv1: 0,
            rsv2: 0,
            rsv3: 0,
            data: std::ptr::null(),
            len: 0,
        }
    }

    /// The slot as the `pmd_frame *` a callback writes through.
    pub(crate) fn as_c(&mut self) -> *mut pmd_frame {
        (self as *mut RawFrame).cast()
    }

    pub(crate) fn normalised(&self) -> pmd_frame {
        pmd_frame {
            opcode: self.opcode,
            fin: self.fin != 0,
            rsv1: self.rsv1 != 0,
            rsv2: self.rsv2 != 0,
            rsv3: self.rsv3 != 0,
            data: self.data,
            len: self.len,
        }
    }
}

/// A C frame's header bits with `data` as its payload (checked by the
/// caller).
pub(crate) fn from_c<'a>(f: &pmd_frame, data: &'a [u8]) -> Frame<'a> {
    Frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        data,
    }
}

/// A C view of a core frame, pointing at its payload.
pub(crate) fn to_c(f: &Frame<'_>) -> pmd_frame {
    pmd_frame {
        opcode: f.opcode,
        fin: f.fin,
        rsv1: f.rsv1,
        rsv2: f.rsv2,
        rsv3: f.rsv3,
        data: f.data.as_ptr(),
        len: f.data.len(),
    }
}

/// Reads a C frame. NULL data is the empty payload when len is 0.
///
/// # Safety
/// `f.data` is NULL or valid for `f.len` bytes for `'a`.
pub(crate) unsafe fn read_frame<'a>(f: &pmd_frame) -> Result<Frame<'a>, Error> {
    let data = match (f.data.is_null(), f.len) {
        (true, 0) => &[][..],
        (true, _) => return Err(null("frame data")),
        // SAFETY: forwarded caller guarantee.
        (false, len) => unsafe { std::slice::from_raw_parts(f.data, len) },
    };
    Ok(from_c(f, data))
}

/// Writes a result frame to C: a passed-through payload keeps the
/// caller's own pointer, an empty one points at a static byte.
pub(crate) fn write_frame(f: &Frame<'_>, input: &pmd_frame, input_slice: &[u8], out: &mut pmd_frame) {
    static EMPTY: u8 = 0;
    let data = if f.data.as_ptr() == input_slice.as_ptr() && f.data.len() == input_slice.len() {
        input.data
    } else if f.data.is_empty() {
        &EMPTY
    } else {
        f.data.as_ptr()
    };
    *out = pmd_frame { data, ..to_c(f) };
}

/// Writes the result of a step as the C frame to hand back.
pub(crate) struct Writer<'a> {
    input: pmd_frame,
    input_slice: &'a [u8],
}

impl Writer<'_> {
    pub(crate) fn write(&self, result: &Frame<'_>) -> pmd_frame {
        let mut written = self.input;
        write_frame(result, &self.input, self.input_slice, &mut written);
        written
    }
}

/// The body of an encode or decode export: copies `*in`, runs `run` on
/// it, which hands its result to the writer while the memory it points at
/// is held, and writes that to `*out`. `in` and `out` may be the same
/// frame (the input is copied first). On failure `*out` is unchanged.
///
/// # Safety
/// `in` is NULL or a valid frame whose `data` is NULL or valid for `len`
/// bytes during the call and for as long as the caller may read `*out`;
/// `out` is NULL or valid for a write.
pub(crate) unsafe fn process_through(
    r#in: *const pmd_frame,
    out: *mut pmd_frame,
    run: impl FnOnce(&Frame<'_>, &Writer<'_>) -> Result<pmd_frame, Error>,
) -> Result<(), Error> {
    if r#in.is_null() {
        return Err(null("in"));
    }
    // SAFETY: in is non-NULL and valid for reads of a frame (caller
    // guarantee); RawFrame has its layout and accepts any byte in a bool.
    let input = unsafe { r#in.cast::<RawFrame>().read() }.normalised();
    if out.is_null() {
        return Err(null("out"));
    }
    // SAFETY: forwarded caller guarantee.
    let frame = unsafe { read_frame(&input) }?;
    let writer = Writer {
        input,
        input_slice: frame.data,
    };
    let written = run(&frame, &writer)?;
    // SAFETY: out is non-NULL and valid for a write (caller guarantee).
    unsafe { out.write(written) };
    Ok(())
}

/// `process_through` for one side of one extension: takes the side with
/// `acquire` (its lock) and runs `step` on it.
///
/// # Safety
/// As for `process_through`.
pub(crate) unsafe fn process<G>(
    r#in: *const pmd_frame,
    out: *mut pmd_frame,
    acquire: impl FnOnce() -> Result<G, Error>,
    step: impl for<'a> FnOnce(&'a mut G, &Frame<'a>) -> Result<Frame<'a>, Error>,
) -> Result<(), Error> {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        process_through(r#in, out, |frame, writer| {
            let mut held = acquire()?;
            Ok(writer.write(&step(&mut held, frame)?))
        })
    }
}
