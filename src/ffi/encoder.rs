//! `pmd_encoder`: compress once, send to many. A shared encoder belongs to
//! no connection; its frames may be sent on every connection that
//! pmd_extension_can_send_shared allows.

use std::ffi::c_int;
use std::sync::Mutex;

use crate::ffi::config::pmd_config;
use crate::ffi::extension::pmd_extension;
use crate::ffi::frame::{self, pmd_frame};
use crate::ffi::{free_handle, guard, guard_value, into_handle, pmd_result, req, req_mut};
use crate::lock::lock_side;
use crate::shared_encoder::SharedEncoder;

/// An encoder tied to no connection, for messages sent to many (opaque).
pub struct pmd_encoder {
    /// The encoder's window, readable while an encode holds the lock.
    window_bits: u8,
    inner: Mutex<SharedEncoder>,
}

/// Creates a shared encoder: compress a message once, then send the same
/// frames to many connections (a broadcast). Every message it encodes
/// starts from an empty window, as under no_context_takeover, and its
/// back-references reach no further than 2^window_bits bytes, so any
/// connection that pmd_extension_can_send_shared allows can send its
/// frames. `window_bits` is 8..15; 8 compresses with zlib's 9-bit window,
/// whose output never reaches back more than 250 bytes (see
/// docs/window-bits-8.md). The zlib settings (level, mem_level, strategy)
/// come from `cfg`, which may be NULL for the defaults and is not
/// referenced afterwards; its negotiation parameters do not apply. Free
/// the result with pmd_encoder_free.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER when out is NULL;
/// PMD_ERR_INVALID_ARGUMENT for window_bits outside 8..15;
/// PMD_ERR_OUT_OF_MEMORY.
///
/// # Safety
/// `cfg` is NULL or a live config; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_encoder_new(
    cfg: *const pmd_config,
    window_bits: c_int,
    out: *mut *mut pmd_encoder,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let out = unsafe { req_mut(out, "out") }?;
        // SAFETY: as above; NULL means defaults.
        let cfg = unsafe { cfg.as_ref() }.map(|c| c.inner.clone()).unwrap_or_default();
        let enc = SharedEncoder::new(&cfg, window_bits.into())?;
        *out = into_handle(pmd_encoder {
            window_bits: enc.window_bits(),
            inner: Mutex::new(enc),
        })?;
        Ok(())
    })
}

/// Encodes one outgoing frame with a shared encoder, by the rules of
/// pmd_extension_encode: control frames pass through unchanged
/// (out->data == in->data); the first frame of a message is compressed and
/// gets RSV1; its continuation frames are compressed without RSV1; the
/// final frame drops the 00 00 ff ff tail; opcode, FIN, RSV2 and RSV3 are
/// carried over. Each message is compressed from an empty window.
///
/// A message may be whole (one frame, FIN set) or fragmented: encode its
/// frames in order, and send every one of them, in the same order, on each
/// connection, with no other data frame in between (control frames may
/// go between, as always). Check pmd_extension_can_send_shared before the
/// first frame of the message on each connection.
///
/// out->data points at in->data or into a buffer owned by `enc`, valid
/// until the next pmd_encoder_encode on this encoder or until it is freed;
/// never free it. Copy it, or finish sending it to every connection, before
/// the next call. `in` and `out` may point at the same frame.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (enc, in, out, or in->data with
/// len > 0); PMD_ERR_INVALID_ARGUMENT for a reserved or invalid opcode,
/// RSV1 already set on a data frame, a continuation frame with no message
/// in progress, a new data frame while one is in progress, or a concurrent
/// call on the same encoder; PMD_ERR_OUT_OF_MEMORY; PMD_ERR_INTERNAL.
/// After an error the next data frame starts a new message.
///
/// Threads: one call at a time on an encoder (an overlapping call is
/// refused, not raced); different encoders are independent. Its output may
/// be sent on many connections, from any thread, until the next call.
///
/// # Safety
/// `enc` is NULL or a live encoder; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_encoder_encode(
    enc: *mut pmd_encoder,
    r#in: *const pmd_frame,
    out: *mut pmd_frame,
) -> pmd_result {
    guard!(|| {
        // SAFETY: forwarded caller guarantees.
        let enc = unsafe { req(enc, "enc") }?;
        // SAFETY: as above.
        unsafe {
            frame::process(
                r#in,
                out,
                || lock_side(&enc.inner, "encode", "encoder"),
                |encoder, frame| encoder.encode(frame),
            )
        }
    })
}

/// Frees a shared encoder and its buffer (the frame it last returned
/// becomes invalid). NULL is a no-op. No call on the encoder may be
/// running or follow.
///
/// # Safety
/// `enc` is NULL or a live encoder, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_encoder_free(enc: *mut pmd_encoder) {
    // SAFETY: forwarded caller guarantee.
    guard_value((), || unsafe { free_handle(enc) })
}

/// Whether this connection may send the frames of a message that `enc`
/// encodes next, in place of a message of its own: true only when
/// - its sending side agreed no_context_takeover: a peer that decodes with
///   context takeover keeps every message it received in its window, and
///   this side's next message may refer back into it; a shared message the
///   connection's own deflate stream never saw would put there bytes that
///   stream does not know, and the peer would decode the next message
///   wrongly. Under no_context_takeover no message refers back to an
///   earlier one, so a shared message breaks nothing;
/// - its agreed sending window is at least the encoder's window_bits (the
///   peer keeps no more history than it agreed to);
/// - it is between messages (not inside a fragmented message of its own),
///   and no pmd_extension_encode runs on it on another thread.
///
/// Sending a shared message leaves the connection's own encoder as it
/// was: under no_context_takeover its next message starts from an empty
/// window anyway. False when either argument is NULL.
///
/// Threads: may run while the encoder or the extension's decode side is
/// used on other threads; it reads the encode side's state at one moment,
/// so a host that encodes on this connection from another thread must
/// order the two itself.
///
/// # Safety
/// `ext` is NULL or a live extension; `enc` NULL or a live encoder.
#[no_mangle]
pub unsafe extern "C" fn pmd_extension_can_send_shared(ext: *const pmd_extension, enc: *const pmd_encoder) -> bool {
    guard_value(false, || {
        // SAFETY: forwarded caller guarantees.
        let (Some(ext), Some(enc)) = (unsafe { ext.as_ref() }, unsafe { enc.as_ref() }) else {
            return false;
        };
        ext.0.can_send_shared(enc.window_bits)
    })
}
