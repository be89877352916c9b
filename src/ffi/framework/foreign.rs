//! A C extension instance (a vtable and a state) as a chain member, and
//! the C view of any member: what C factories see in their accepted lists
//! and what pmd_chain_get returns.

use crate::fallible::detail;
use std::ffi::c_void;

use crate::error::Error;
use crate::extension::Frame;
use crate::ffi::frame::{self, pmd_frame, RawFrame};
use crate::framework::{Custom, Member};

use super::builtin;
use super::callbacks::{call, callback_error, token_name};
use super::{
    check_size, pmd_decode_callback, pmd_destroy_callback, pmd_encode_callback, pmd_extension_instance,
    pmd_extension_vtable, FnOf,
};

type EncodeFn = FnOf<pmd_encode_callback>;
type DecodeFn = FnOf<pmd_decode_callback>;

/// A C extension instance. Owned ones are destroyed when dropped; views
/// are of an instance someone else owns.
pub(super) struct ForeignExtension {
    vtable: *const pmd_extension_vtable,
    state: *mut c_void,
    encode: EncodeFn,
    decode: DecodeFn,
    destroy: pmd_destroy_callback,
    name: String,
    owned: bool,
}

// SAFETY: the header tells implementers that callbacks may run on any
// thread, one at a time per chain; a chain runs its custom members one at
// a time, and the negotiator holds its lock while callbacks run.
unsafe impl Send for ForeignExtension {}

/// Takes an instance a callback returned (owned) or a caller passed in (a
/// view) as a member. The built-in permessage-deflate's own instances come
/// back as native members when owned. A refused owned instance is
/// destroyed, when it has a vtable to do so.
///
/// # Safety
/// `inst.vtable` is NULL or points at a live vtable; an instance with the
/// built-in vtable has the state the built-in factories made.
pub(super) unsafe fn adopt(
    inst: pmd_extension_instance,
    owned: bool,
    who: &str,
) -> Result<Member<ForeignExtension>, Error> {
    if owned && builtin::is_deflate(inst.vtable) {
        // SAFETY: forwarded caller guarantee: the built-in state.
        return Ok(Member::Deflate(unsafe { builtin::take(inst.state) }));
    }
    // SAFETY: NULL or live per the caller.
    let Some(vt) = (unsafe { inst.vtable.as_ref() }) else {
        return Err(Error::invalid(detail!(
            "{who} gave an extension instance with a NULL vtable"
        )));
    };
    let checked = (|| {
        check_size::<pmd_extension_vtable>(vt.size, "pmd_extension_vtable")?;
        // SAFETY: a vtable's name is NULL or NUL-terminated (header).
        let name = unsafe { token_name(vt.name, &detail!("the extension {who} gave")) }?;
        let encode = vt
            .encode
            .ok_or_else(|| Error::invalid(detail!("extension {name} has no encode callback")))?;
        let decode = vt
            .decode
            .ok_or_else(|| Error::invalid(detail!("extension {name} has no decode callback")))?;
        Ok((name, encode, decode))
    })();
    match checked {
        Ok((name, encode, decode)) => Ok(Member::custom(ForeignExtension {
            vtable: inst.vtable,
            state: inst.state,
            encode,
            decode,
            destroy: vt.destroy,
            name,
            owned,
        })),
        Err(e) => {
            if let (true, Some(destroy)) = (owned, vt.destroy) {
                // SAFETY: the instance was handed to us and is refused: its
                // destroy runs once, here.
                call(|| unsafe { destroy(inst.state) });
            }
            Err(e)
        }
    }
}

/// The C view of a member: the built-in vtable and the native extension,
/// or a C instance as it was given.
pub(super) fn view(member: &Member<ForeignExtension>) -> Result<pmd_extension_instance, Error> {
    Ok(match member {
        Member::Deflate(d) => builtin::view(d),
        Member::Custom(c) => {
            let c = crate::lock::lock(c, "extension")?;
            pmd_extension_instance {
                vtable: c.vtable,
                state: c.state,
            }
        }
    })
}

/// The opcode `*out` carries into a callback: no frame has it.
const UNWRITTEN: u8 = 0xff;

impl ForeignExtension {
    /// Runs a callback that writes a frame, then checks that frame and
    /// borrows its payload.
    fn run<'a>(&self, op: &str, f: impl FnOnce(*mut pmd_frame) -> std::ffi::c_int) -> Result<Frame<'a>, Error> {
        let mut slot = RawFrame::blank(UNWRITTEN);
        let (rc, inner) = call(|| f(slot.as_c()));
        let out = slot.normalised();
        // Built only on an error: this runs for every frame.
        let who = || detail!("extension {} {op}", self.name);
        if rc != 0 {
            return Err(callback_error(rc, &who(), &inner));
        }
        if out.opcode == UNWRITTEN {
            return Err(Error::invalid(detail!(
                "{} returned PMD_OK without writing its output frame",
                who()
            )));
        }
        if out.opcode > 15 {
            return Err(Error::invalid(detail!(
                "{} returned opcode {}, which does not fit in 4 bits",
                who(),
                out.opcode
            )));
        }
        let data = match (out.data.is_null(), out.len) {
            (true, 0) => &[][..],
            (true, len) => return Err(Error::invalid(detail!("{} returned NULL data with len {len}", who()))),
            // SAFETY: non-NULL; the callback's contract keeps len bytes
            // valid until the next call on this side, which needs &mut self.
            (false, len) => unsafe { std::slice::from_raw_parts(out.data, len) },
        };
        Ok(frame::from_c(&out, data))
    }
}

impl Custom for ForeignExtension {
    fn name(&self) -> &str {
        &self.name
    }

    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>, Error> {
        let input = frame::to_c(frame);
        let (encode, state) = (self.encode, self.state);
        // SAFETY: the vtable's encode with the instance's state, a valid
        // input frame (borrowed from `frame`) and a writable output.
        self.run("encode", |out| unsafe { encode(state, &input, out) })
    }

    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>, Error> {
        let input = frame::to_c(frame);
        let (decode, state) = (self.decode, self.state);
        // SAFETY: as in encode.
        self.run("decode", |out| unsafe { decode(state, &input, max_size, out) })
    }
}

impl Drop for ForeignExtension {
    fn drop(&mut self) {
        if let (true, Some(destroy)) = (self.owned, self.destroy) {
            // SAFETY: an owned instance is destroyed once, here.
            call(|| unsafe { destroy(self.state) });
        }
    }
}
