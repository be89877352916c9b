//! `pmd_extension`: one connection's permessage-deflate from C, the same
//! `PerMessageDeflate` a chain holds as a member. Each side has its own
//! lock, so a writer thread and a reader thread can use one extension at
//! once; a second call on a side already in use is refused instead of
//! racing.

use std::ffi::{c_char, c_int};

use crate::config::Config;
use crate::error::Error;
use crate::extension::{Agreed, PerMessageDeflate};
use crate::ffi::config::pmd_config;
use crate::ffi::frame::{self, pmd_frame};
use crate::ffi::{free_handle, guard, guard_value, into_handle, pmd_result, req, req_mut};
use crate::params::check_window_bits;

/// What was agreed, seen from this endpoint.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pmd_negotiated {
    pub remote_no_context_takeover: bool,
    pub local_no_context_takeover: bool,
    /// 8..15
    pub remote_max_window_bits: u8,
    /// 8..15
    pub local_max_window_bits: u8,
}

/// One connection's negotiated permessage-deflate (opaque).
pub struct pmd_extension(pub(crate) PerMessageDeflate);

/// Builds a handle for an agreed extension.
pub(crate) fn new_extension(agreed: Agreed, cfg: &Config) -> Result<*mut pmd_extension, Error> {
    into_handle(pmd_extension(PerMessageDeflate::for_config(agreed, cfg)?))
}

/// Builds an extension directly from agreed parameters (websockets'
/// PerMessageDeflate constructor), for a host that negotiated by itself.
/// Window bits must be 8..15. Compression settings, the per-message
/// limit, the strict window check and the compress threshold come from
/// `cfg`, which may be NULL for the defaults and is not referenced
/// afterwards. Free the result with pmd_extension_free.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when ext is NULL;
/// PMD_ERR_INVALID_ARGUMENT for window bits outside 8..15;
/// PMD_ERR_OUT_OF_MEMORY.
///
/// # Safety
/// `cfg` is NULL or a live config; `ext` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_new(
    remote_no_context_takeover: bool,
    local_no_context_takeover: bool,
    remote_max_window_bits: c_int,
    local_max_window_bits: c_int,
    cfg: *const pmd_config,
    ext: *mut *mut pmd_extension,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let ext = unsafe { req_mut(ext, "ext") }?;
        // SAFETY: as above; NULL means defaults.
        let cfg = unsafe { cfg.as_ref() }.map(|c| c.inner.clone()).unwrap_or_default();
        let agreed = Agreed {
            remote_no_context_takeover,
            local_no_context_takeover,
            remote_max_window_bits: check_window_bits("remote_max_window_bits", remote_max_window_bits.into())?,
            local_max_window_bits: check_window_bits("local_max_window_bits", local_max_window_bits.into())?,
        };
        *ext = new_extension(agreed, &cfg)?;
        Ok(())
    })
}

/// Encodes one outgoing frame (websockets' encode). Control frames
/// pass through unchanged (out->data == in->data). The first frame of a
/// message is compressed and gets RSV1; its continuation frames are
/// compressed without RSV1; the final frame drops the 00 00 ff ff tail.
/// Opcode, FIN, RSV2 and RSV3 are carried over. A whole single-frame
/// message shorter than the config's compress threshold passes through
/// unchanged too, RSV1 clear (pmd_config_set_compress_threshold).
///
/// out->data points at in->data or into a buffer owned by `ext`, valid
/// until the next pmd_extension_encode on this extension or until it is
/// freed; never free it. `in` and `out` may point at the same frame.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (ext, in, out, or in->data with
/// len > 0); PMD_ERR_INVALID_ARGUMENT for a reserved or invalid opcode,
/// RSV1 already set on a data frame, a continuation frame with no message
/// in progress, a new data frame while one is in progress, or a concurrent
/// call on the encode side; PMD_ERR_OUT_OF_MEMORY; PMD_ERR_INTERNAL.
/// After an error the next data frame starts a new message.
///
/// Threads: may run at the same time as pmd_extension_decode on the same
/// extension (from another thread), never with another encode.
///
/// # Safety
/// `ext` is NULL or a live extension; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_encode(
    ext: *mut pmd_extension,
    r#in: *const pmd_frame,
    out: *mut pmd_frame,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let ext = unsafe { req(ext, "ext") }?;
        // SAFETY: as above.
        unsafe { frame::process(r#in, out, || ext.0.encoder(), |encoder, frame| encoder.encode(frame)) }
    })
}

/// Decodes one incoming frame (websockets' decode). Control frames
/// pass through; a data frame without RSV1 starts an uncompressed message
/// whose frames pass through; a compressed message's frames are inflated
/// and come out with RSV1 cleared.
///
/// Two limits apply, and the smaller wins:
/// - `max_size` bounds this frame's inflated size: SIZE_MAX means no
///   limit, 0 allows only empty output (so a host that passes its
///   message's remaining budget is refused once the budget is spent).
///   Frames that pass through uncompressed are not measured against it.
/// - the per-message limit (pmd_extension_set_max_message_size, or the
///   config's) bounds the sum of every data frame of a message, compressed
///   or not. A host that sets it may pass SIZE_MAX as max_size.
///
/// A host that reassembles a message itself may decode it as one frame:
/// the data frame's opcode, RSV1 and FIN set, and all the payloads joined.
///
/// out->data points at in->data or into a buffer owned by `ext`, valid
/// until the next pmd_extension_decode on this extension or until it is
/// freed; never free it. `in` and `out` may point at the same frame.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (nothing changes);
/// PMD_ERR_PROTOCOL (close 1002) for RSV1 on a control or continuation
/// frame, a reserved opcode, or frames out of order;
/// PMD_ERR_PAYLOAD_TOO_BIG (close 1009) as soon as the output would exceed
/// either limit, without inflating the rest; PMD_ERR_CORRUPT_DATA (close
/// 1007) for invalid DEFLATE data, a preset dictionary, a distance beyond
/// the window, or data after a BFINAL block; PMD_ERR_OUT_OF_MEMORY (1011);
/// PMD_ERR_INVALID_ARGUMENT for an opcode above 15 or a concurrent call on
/// the decode side. Any error except PMD_ERR_NULL_POINTER and a concurrent
/// call is sticky: every later decode returns it again.
///
/// Threads: may run at the same time as pmd_extension_encode on the same
/// extension (from another thread), never with another decode.
///
/// # Safety
/// `ext` is NULL or a live extension; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_decode(
    ext: *mut pmd_extension,
    r#in: *const pmd_frame,
    max_size: usize,
    out: *mut pmd_frame,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let ext = unsafe { req(ext, "ext") }?;
        // SAFETY: as above.
        unsafe {
            frame::process(
                r#in,
                out,
                || ext.0.decoder(),
                |decoder, frame| decoder.decode(frame, max_size),
            )
        }
    })
}

/// Sets the per-message limit of the decode side: the most bytes one
/// incoming message may decode to, counting every data frame of it,
/// compressed or not. SIZE_MAX means no limit (the default, unless the
/// config set one); 0 allows only empty messages. It applies from the next
/// decode on, to the message in progress too. A message over it fails
/// pmd_extension_decode with PMD_ERR_PAYLOAD_TOO_BIG (close 1009).
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_INVALID_ARGUMENT when a
/// decode runs at the same time on another thread.
///
/// Threads: part of the decode side: never at the same time as
/// pmd_extension_decode on the same extension.
///
/// # Safety
/// `ext` is NULL or a live extension.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_set_max_message_size(ext: *mut pmd_extension, bytes: usize) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantee.
        unsafe { req(ext, "ext") }?.0.set_max_message_size(bytes)
    })
}

/// The extension's name, "permessage-deflate": a static string, also for a
/// NULL extension.
///
/// # Safety
/// `ext` is NULL or a live extension (it is not read).
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_name(ext: *const pmd_extension) -> *const c_char {
    let _ = ext;
    c"permessage-deflate".as_ptr()
}

/// What was agreed, seen from this endpoint (remote = the peer's
/// compressor). Results: PMD_OK; PMD_ERR_NULL_POINTER. Thread-safe.
///
/// # Safety
/// `ext` is NULL or a live extension; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_negotiated(ext: *const pmd_extension, out: *mut pmd_negotiated) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let (ext, out) = unsafe { (req(ext, "ext")?, req_mut(out, "out")?) };
        let a = ext.0.agreed();
        *out = pmd_negotiated {
            remote_no_context_takeover: a.remote_no_context_takeover,
            local_no_context_takeover: a.local_no_context_takeover,
            remote_max_window_bits: a.remote_max_window_bits,
            local_max_window_bits: a.local_max_window_bits,
        };
        Ok(())
    })
}

/// Bytes the extension holds now: the handle, zlib's state (counted through
/// zlib's zalloc/zfree), the output buffers and the history a compacted
/// side keeps. zlib streams are created at the first message of each
/// direction and kept (under no_context_takeover, reset after each
/// message) until pmd_extension_compact releases them. 0 for NULL.
/// Thread-safe, also while the extension encodes or decodes on other
/// threads.
///
/// # Safety
/// `ext` is NULL or a live extension.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_memory_usage(ext: *const pmd_extension) -> usize {
    guard_value(0, || {
        // SAFETY: forwarded caller guarantee.
        unsafe { ext.as_ref() }.map_or(0, |e| std::mem::size_of::<pmd_extension>() + e.0.memory_usage())
    })
}

/// Releases what an idle connection does not need, for a host that holds
/// many connections (docs/memory.md):
/// - both output buffers: the frames last returned by pmd_extension_encode
///   and pmd_extension_decode become invalid;
/// - each side's zlib stream, when that side is between messages: under
///   no_context_takeover it is freed; under context takeover it is replaced
///   by a copy of its real history (at most 2^window_bits bytes, often far
///   less), which becomes the window of a new stream when the next message
///   on that side starts. A side in the middle of a message keeps its
///   stream.
///
/// Messages before and after a compaction, any number of times, encode and
/// decode as without it: the peer notices nothing. The next message on a
/// compacted side pays zlib's stream initialisation again (about 270 KB
/// allocated to compress at window 15, memLevel 8).
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_INVALID_ARGUMENT when an
/// encode or decode runs at the same time on another thread (nothing is
/// released); PMD_ERR_OUT_OF_MEMORY when the history cannot be copied (the
/// stream is then kept). A failed compaction changes no message.
///
/// Threads: never at the same time as pmd_extension_encode or
/// pmd_extension_decode on the same extension.
///
/// # Safety
/// `ext` is NULL or a live extension.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_compact(ext: *mut pmd_extension) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantee.
        unsafe { req(ext, "ext") }?.0.compact()
    })
}

/// Frees an extension, its zlib streams and its buffers. NULL is a no-op.
/// No call on the extension may be running or follow.
///
/// # Safety
/// `ext` is NULL or a live extension, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_free(ext: *mut pmd_extension) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(ext) })
}
