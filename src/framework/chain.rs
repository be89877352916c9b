//! The accepted extensions of one connection, in negotiated order. Frames
//! go out through them in order and come in through them in reverse order,
//! as the reference's `Frame.serialize` and `Frame.parse` do.

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::framework::traits::Extension;

/// Prefixes an error's detail, keeping its kind (and so its result code).
pub fn annotate(e: Error, prefix: &str) -> Error {
    let p = |m: String| format!("{prefix}: {m}");
    match e {
        Error::NullPointer(m) => Error::NullPointer(p(m)),
        Error::InvalidArgument(m) => Error::InvalidArgument(p(m)),
        Error::HeaderSyntax(m) => Error::HeaderSyntax(p(m)),
        Error::Negotiation(m) => Error::Negotiation(p(m)),
        Error::Protocol(m) => Error::Protocol(p(m)),
        Error::PayloadTooBig(m) => Error::PayloadTooBig(p(m)),
        Error::CorruptData(m) => Error::CorruptData(p(m)),
        Error::OutOfMemory(m) => Error::OutOfMemory(p(m)),
        Error::Internal(m) => Error::Internal(p(m)),
        e @ Error::BufferTooSmall { .. } => e,
    }
}

/// An ordered list of negotiated extensions.
#[derive(Default)]
pub struct Chain {
    extensions: Vec<Box<dyn Extension>>,
    /// The first decode error; the decode side stays failed (the
    /// connection is being closed), as a single extension's does.
    failed: Option<Error>,
}

impl Chain {
    pub fn new() -> Chain {
        Chain::default()
    }

    /// Appends an extension: it encodes after, and decodes before, the
    /// ones already there.
    pub fn push(&mut self, ext: Box<dyn Extension>) {
        self.extensions.push(ext);
    }

    pub fn len(&self) -> usize {
        self.extensions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.extensions.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&dyn Extension> {
        self.extensions.get(index).map(|e| &**e)
    }

    /// The extensions, borrowed, in order (what factories get as
    /// "accepted extensions").
    pub fn as_refs(&self) -> Vec<&dyn Extension> {
        self.extensions.iter().map(|e| &**e).collect()
    }

    pub fn names(&self) -> Vec<&str> {
        self.extensions.iter().map(|e| e.name()).collect()
    }

    /// Encodes an outgoing frame through every extension, first to last.
    /// An error names the extension that failed and keeps its kind.
    pub fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        let mut f = *frame;
        for (i, e) in self.extensions.iter_mut().enumerate() {
            let prefix = format!("extension {} (#{i}) encode", e.name());
            f = e.encode(&f).map_err(|err| annotate(err, &prefix))?;
        }
        Ok(f)
    }

    /// Decodes an incoming frame through every extension, last to first,
    /// each with the same `max_size` (0: no limit). Then, as the
    /// reference's `Frame.check`, a reserved bit still set means no
    /// negotiated extension claimed it: PROTOCOL (RFC 6455 section 5.2).
    /// Errors are sticky.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut f = *frame;
        for (i, e) in self.extensions.iter_mut().enumerate().rev() {
            let prefix = format!("extension {} (#{i}) decode", e.name());
            match e.decode(&f, max_size) {
                Ok(out) => f = out,
                Err(err) => {
                    let err = annotate(err, &prefix);
                    self.failed = Some(err.clone());
                    return Err(err);
                }
            }
        }
        if f.rsv1 || f.rsv2 || f.rsv3 {
            let bits: Vec<&str> = [(f.rsv1, "RSV1"), (f.rsv2, "RSV2"), (f.rsv3, "RSV3")]
                .iter()
                .filter(|b| b.0)
                .map(|b| b.1)
                .collect();
            let err = Error::protocol(format!(
                "reserved bit {} set on an incoming frame (opcode {}) and no negotiated extension uses it",
                bits.join(", "),
                f.opcode
            ));
            self.failed = Some(err.clone());
            return Err(err);
        }
        Ok(f)
    }
}

impl Drop for Chain {
    /// Extensions go in reverse order of acceptance, so an extension never
    /// outlives one accepted after it.
    fn drop(&mut self) {
        while let Some(e) = self.extensions.pop() {
            drop(e);
        }
    }
}
