//! The chain (`pmd_chain`): one connection's negotiated extensions, run
//! in order on each frame. It is the framework's chain itself: native
//! permessage-deflate members and C extensions side by side.

use crate::error::Error;
use crate::fallible::detail;
use crate::ffi::frame::{self, pmd_frame};
use crate::ffi::{free_handle, guard, guard_value, into_handle, pmd_result, req, req_mut};
use crate::framework::Chain;

use super::callbacks::refuse_reentry;
use super::foreign::{view, ForeignExtension};
use super::pmd_extension_instance;

/// One connection's negotiated extensions, in order (opaque).
pub struct pmd_chain(Chain<ForeignExtension>);

/// Creates a chain handle for negotiated extensions.
pub(super) fn new_chain(chain: Chain<ForeignExtension>) -> Result<*mut pmd_chain, Error> {
    into_handle(pmd_chain(chain))
}

/// Encodes one outgoing frame through every extension of the chain, first
/// accepted to last (websockets' Frame.serialize). Each extension's
/// output is the next one's input. An empty chain passes the frame through.
///
/// out->data points at in->data (every extension passed the payload
/// through) or into memory owned by an extension of the chain, valid until
/// the next pmd_chain_encode on this chain or pmd_chain_free; never free
/// it.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (chain, in, out, or in->data with
/// len > 0); the result an extension's encode returned (pmd_last_error
/// names the extension and its position), PMD_ERR_OUT_OF_MEMORY among
/// them; PMD_ERR_INVALID_ARGUMENT when an
/// encode callback returned bad data (PMD_OK without writing the frame,
/// NULL data with len > 0, an opcode above 15) or a value that is not a
/// pmd_result, for a concurrent encode call, or from inside a callback.
///
/// Threads: may be called while another thread runs pmd_chain_decode on
/// the same chain, never with another encode. permessage-deflate encodes
/// and decodes at the same time; the callbacks of C extensions of one
/// chain never run at the same time.
///
/// # Safety
/// `chain` is NULL or a live chain; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_encode(
    chain: *mut pmd_chain,
    r#in: *const pmd_frame,
    out: *mut pmd_frame,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let chain = unsafe { req(chain, "chain") }?;
        // SAFETY: as above.
        unsafe { frame::process_through(r#in, out, |f, w| chain.0.encode(f, |r| w.write(r))) }
    })
}

/// Decodes one incoming frame through every extension of the chain, last
/// accepted to first (websockets' Frame.parse). Each is given
/// `max_size` (SIZE_MAX: no limit; 0: only empty output) or the room left
/// under the chain's per-message limit (pmd_chain_set_max_message_size),
/// whichever is smaller. Then, as websockets' Frame.check, a reserved
/// bit (RSV1-3) still set means no negotiated extension claimed it:
/// PMD_ERR_PROTOCOL. The chain's output counts toward its per-message
/// limit, uncompressed frames included: PMD_ERR_PAYLOAD_TOO_BIG beyond it.
///
/// out->data points at in->data or into memory owned by an extension of
/// the chain, valid until the next pmd_chain_decode on this chain or
/// pmd_chain_free; never free it.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (nothing changes); the result an
/// extension's decode returned, PMD_ERR_OUT_OF_MEMORY among them
/// (pmd_result_close_code gives the close code to send); PMD_ERR_PROTOCOL for a reserved bit left set;
/// PMD_ERR_INVALID_ARGUMENT for bad data from a decode callback, a
/// concurrent decode call, or a call from inside a callback. Errors from
/// the extensions and the reserved-bit check are sticky: every later
/// decode returns the same result without calling any extension.
///
/// Threads: as pmd_chain_encode, with the roles swapped.
///
/// # Safety
/// `chain` is NULL or a live chain; `in` and `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_decode(
    chain: *mut pmd_chain,
    r#in: *const pmd_frame,
    max_size: usize,
    out: *mut pmd_frame,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let chain = unsafe { req(chain, "chain") }?;
        // SAFETY: as above.
        unsafe { frame::process_through(r#in, out, |f, w| chain.0.decode(f, max_size, |r| w.write(r))) }
    })
}

/// Sets the chain's per-message limit: the most bytes one incoming message
/// may decode to through the chain, counting every data frame of it,
/// compressed or not. SIZE_MAX (the default) means no limit; 0 allows only
/// empty messages. It applies from the next pmd_chain_decode on, to the
/// message in progress too.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER; PMD_ERR_INVALID_ARGUMENT when a
/// decode runs at the same time or when called from inside a callback.
///
/// Threads: part of the decode side: never at the same time as
/// pmd_chain_decode on the same chain.
///
/// # Safety
/// `chain` is NULL or a live chain.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_set_max_message_size(chain: *mut pmd_chain, bytes: usize) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantee.
        unsafe { req(chain, "chain") }?.0.set_max_message_size(bytes)
    })
}

/// The number of extensions in the chain; 0 for NULL. Thread-safe.
///
/// # Safety
/// `chain` is NULL or a live chain.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_count(chain: *const pmd_chain) -> usize {
    guard_value(0, || {
        // Inside a callback: 0, as the other chain functions refuse.
        if refuse_reentry().is_err() {
            return 0;
        }
        // SAFETY: forwarded caller guarantee.
        unsafe { chain.as_ref() }.map_or(0, |c| c.0.len())
    })
}

/// The extension at `index` (0 = accepted first) as its instance: its
/// vtable (vtable->name is its name) and its state, still owned by the
/// chain: valid until pmd_chain_free, never destroy it. Lets a host reach
/// its own extension's state after negotiation.
///
/// Results: PMD_OK; PMD_ERR_NULL_POINTER (chain or out);
/// PMD_ERR_INVALID_ARGUMENT when index >= pmd_chain_count(chain) or when
/// called from inside a callback. Thread-safe.
///
/// # Safety
/// `chain` is NULL or a live chain; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_get(
    chain: *const pmd_chain,
    index: usize,
    out: *mut pmd_extension_instance,
) -> pmd_result {
    guard!(|| {
        refuse_reentry()?;
        // SAFETY: forwarded caller guarantees.
        let (chain, out) = unsafe { (req(chain, "chain")?, req_mut(out, "out")?) };
        let members = chain.0.members();
        let member = members.get(index).ok_or_else(|| {
            Error::invalid(detail!(
                "index {index} out of range: the chain has {} extensions",
                members.len()
            ))
        })?;
        *out = view(member)?;
        Ok(())
    })
}

/// Frees a chain: each extension's destroy runs once, the last accepted
/// first, on this thread. NULL is a no-op. No call on the chain may be
/// running or follow. Called from inside a callback it does nothing (the
/// chain may be the one running: freeing it would pull memory from under
/// the call) and pmd_last_error says so; free it after the call returns.
///
/// # Safety
/// `chain` is NULL or a live chain, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pmd_chain_free(chain: *mut pmd_chain) {
    let refused = guard!(refuse_reentry);
    if refused == pmd_result::PMD_OK {
        // SAFETY: forwarded caller guarantee.
        guard_value((), || unsafe { free_handle(chain) })
    }
}
