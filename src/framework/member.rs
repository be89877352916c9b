//! One accepted extension of a chain: pmdeflate's own permessage-deflate,
//! held natively, or a custom one. Each stage of a chain's encode or decode
//! takes the lock of its own side only, so a chain of native members
//! encodes on one thread while it decodes on another.

use crate::error::ErrorKind;
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::extension::{Frame, PerMessageDeflate};
use crate::framework::traits::Custom;
use crate::lock::lock;
use crate::negotiate::NAME;

pub enum Member<C> {
    /// Boxed: C views of it point at a fixed address.
    Deflate(Box<PerMessageDeflate>),
    /// Locked per call; the chain also runs custom callbacks one at a time.
    Custom(Mutex<C>),
}

impl<C: Custom> Member<C> {
    pub fn deflate(ext: PerMessageDeflate) -> Result<Member<C>> {
        Ok(Member::Deflate(crate::fallible::try_box(ext)?))
    }

    pub fn custom(ext: C) -> Member<C> {
        Member::Custom(Mutex::new(ext))
    }

    /// The extension's name (a custom one is asked under its lock).
    pub fn name(&self) -> Result<String> {
        Ok(match self {
            Member::Deflate(_) => crate::fallible::string(NAME)?,
            Member::Custom(c) => crate::fallible::string(lock(c, "extension")?.name())?,
        })
    }

    pub fn is_custom(&self) -> bool {
        matches!(self, Member::Custom(_))
    }

    /// Encodes `frame` and hands the result to `k` while the side is held.
    /// Errors of this member go through `own`; those of `k` pass as they are.
    pub fn encode<R>(
        &self,
        frame: &Frame<'_>,
        own: impl Fn(Error) -> Error,
        k: impl FnOnce(&Frame<'_>) -> Result<R>,
    ) -> Result<R> {
        match self {
            Member::Deflate(d) => then(d.encoder().map_err(&own)?.encode(frame), own, k),
            Member::Custom(c) => then(custom(c).map_err(&own)?.encode(frame), own, k),
        }
    }

    /// Decodes `frame` as `encode` encodes.
    pub fn decode<R>(
        &self,
        frame: &Frame<'_>,
        max_size: usize,
        own: impl Fn(Error) -> Error,
        k: impl FnOnce(&Frame<'_>) -> Result<R>,
    ) -> Result<R> {
        match self {
            Member::Deflate(d) => then(d.decoder().map_err(&own)?.decode(frame, max_size), own, k),
            Member::Custom(c) => then(custom(c).map_err(&own)?.decode(frame, max_size), own, k),
        }
    }
}

/// A member's output to the next step, or its own error, annotated.
fn then<R>(out: Result<Frame<'_>>, own: impl Fn(Error) -> Error, k: impl FnOnce(&Frame<'_>) -> Result<R>) -> Result<R> {
    match out {
        Ok(frame) => k(&frame),
        Err(e) => Err(own(e)),
    }
}

fn custom<C>(c: &Mutex<C>) -> Result<MutexGuard<'_, C>> {
    lock(c, "extension").map_err(|_| Error::Fixed(ErrorKind::Internal, "a custom extension failed internally earlier"))
}
