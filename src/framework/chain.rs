//! The accepted extensions of one connection, in negotiated order. Frames
//! go out through them in order and come in through them in reverse order,
//! as the reference's `Frame.serialize` and `Frame.parse` do.

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::framework::traits::Extension;
use crate::limit::MessageLimit;

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
    /// Their names, for error messages built only when an error happens
    /// (the extensions themselves are borrowed by the frame then).
    names: Vec<String>,
    /// The first decode error; the decode side stays failed (the
    /// connection is being closed), as a single extension's does.
    failed: Option<Error>,
    /// The per-message limit on what the chain's decode gives out.
    limit: MessageLimit,
}

impl Chain {
    pub fn new() -> Chain {
        Chain::default()
    }

    /// Appends an extension: it encodes after, and decodes before, the
    /// ones already there.
    pub fn push(&mut self, ext: Box<dyn Extension>) {
        self.names.push(ext.name().to_owned());
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
        let names = &self.names;
        for (i, e) in self.extensions.iter_mut().enumerate() {
            f = e
                .encode(&f)
                .map_err(|err| annotate(err, &format!("extension {} (#{i}) encode", names[i])))?;
        }
        Ok(f)
    }

    /// Sets the per-message limit on the chain's decoded output
    /// (`NO_LIMIT`: none; 0: only empty messages).
    pub fn set_max_message_size(&mut self, bytes: usize) {
        self.limit.set_max(bytes);
    }

    /// Decodes an incoming frame through every extension, last to first,
    /// each given `max_size` (`NO_LIMIT`: none; 0: only empty output) or
    /// the room left under the per-message limit, whichever is smaller.
    /// Then, as the reference's `Frame.check`, a reserved bit still set
    /// means no negotiated extension claimed it: PROTOCOL (RFC 6455 section
    /// 5.2). The output counts toward the per-message limit. Errors are
    /// sticky.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let bound = self.limit.bound(frame.opcode, max_size);
        let mut f = *frame;
        for (i, e) in self.extensions.iter_mut().enumerate().rev() {
            match e.decode(&f, bound.bytes) {
                Ok(out) => f = out,
                Err(err) => {
                    // Over the room the message had left: say so.
                    let err = match err {
                        Error::PayloadTooBig(_) if bound.message => bound.exceeded(self.limit.max()),
                        err => err,
                    };
                    let err = annotate(err, &format!("extension {} (#{i}) decode", self.names[i]));
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
        if let Err(err) = self.limit.record(f.opcode, f.fin, f.data.len()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::framework::deflate::{ClientDeflateFactory, ServerDeflateFactory};
    use crate::framework::negotiator::{client_process_response, server_process_request};
    use crate::framework::testutil::{entries, log, Tag};
    use crate::framework::{ClientFactory, ServerFactory};
    use crate::limit::NO_LIMIT;

    fn text(data: &[u8]) -> Frame<'_> {
        Frame {
            opcode: 1,
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            data,
        }
    }

    #[test]
    fn encodes_in_order_and_decodes_in_reverse_with_max_size() {
        let l = log();
        let mut chain = Chain::new();
        chain.push(Tag::boxed("x-a", b'A', &l));
        chain.push(Tag::boxed("x-b", b'B', &l));
        let sent = chain.encode(&text(b"hi")).unwrap().data.to_vec();
        assert_eq!(sent, b"hiAB");
        let got = chain.decode(&text(&sent), 77).unwrap().data.to_vec();
        assert_eq!(got, b"hi");
        assert_eq!(
            entries(&l),
            ["x-a:encode", "x-b:encode", "x-b:decode(77)", "x-a:decode(77)"]
        );
        drop(chain);
        assert_eq!(&entries(&l)[4..], ["x-b:drop", "x-a:drop"]);
    }

    #[test]
    fn empty_chain_passes_frames_through_and_checks_reserved_bits() {
        let mut chain = Chain::new();
        let input = text(b"abc");
        let out = chain.encode(&input).unwrap();
        assert_eq!(out.data.as_ptr(), input.data.as_ptr());
        assert_eq!(chain.decode(&input, NO_LIMIT).unwrap(), input);
        let rsv2 = Frame { rsv2: true, ..input };
        let err = chain.decode(&rsv2, NO_LIMIT).unwrap_err();
        assert!(matches!(&err, Error::Protocol(m) if m.contains("RSV2")), "{err}");
        // Sticky.
        assert_eq!(chain.decode(&input, NO_LIMIT).unwrap_err(), err);
    }

    #[test]
    fn decode_errors_name_the_extension_and_stick() {
        let l = log();
        let mut chain = Chain::new();
        chain.push(Tag::boxed("x-a", b'A', &l));
        let err = chain.decode(&text(b"noTag"), NO_LIMIT).unwrap_err();
        assert!(
            matches!(&err, Error::Protocol(m) if m.contains("extension x-a (#0) decode")),
            "{err}"
        );
        assert!(chain.decode(&text(b"okA"), NO_LIMIT).is_err());
        assert_eq!(entries(&l), [format!("x-a:decode({NO_LIMIT})")]);
    }

    #[test]
    fn deflate_and_a_custom_extension_round_trip_between_client_and_server() {
        let l = log();
        struct TagServer(crate::framework::testutil::Log);
        impl ServerFactory for TagServer {
            fn name(&self) -> &str {
                "x-tag"
            }
            fn process_request_params(
                &self,
                _: &[crate::header::ParamRef<'_>],
                _: &[&dyn crate::framework::Extension],
            ) -> Result<(Vec<crate::header::Param>, Box<dyn crate::framework::Extension>)> {
                Ok((Vec::new(), Tag::boxed("x-tag", b'T', &self.0)))
            }
        }
        let servers: Vec<Box<dyn ServerFactory>> = vec![
            Box::new(ServerDeflateFactory::new(Config::default()).unwrap()),
            Box::new(TagServer(l.clone())),
        ];
        let (value, mut server) = server_process_request(&servers, b"permessage-deflate, x-tag").unwrap();
        assert_eq!(value.as_deref(), Some("permessage-deflate, x-tag"));

        struct TagClient(crate::framework::testutil::Log);
        impl ClientFactory for TagClient {
            fn name(&self) -> &str {
                "x-tag"
            }
            fn get_request_params(&self) -> Result<Vec<crate::header::Param>> {
                Ok(Vec::new())
            }
            fn process_response_params(
                &self,
                _: &[crate::header::ParamRef<'_>],
                _: &[&dyn crate::framework::Extension],
            ) -> Result<Box<dyn crate::framework::Extension>> {
                Ok(Tag::boxed("x-tag", b'T', &self.0))
            }
        }
        let clients: Vec<Box<dyn ClientFactory>> = vec![
            Box::new(ClientDeflateFactory::new(Config::default())),
            Box::new(TagClient(l.clone())),
        ];
        let mut client = client_process_response(&clients, value.unwrap().as_bytes()).unwrap();

        let message = b"Hello, Hello, Hello, Hello".repeat(20);
        let wire = client.encode(&text(&message)).unwrap();
        // Deflate ran first (RSV1, compressed), then the tag was appended.
        assert!(wire.rsv1 && wire.data.len() < message.len() && wire.data.ends_with(b"T"));
        let wire_owned = wire.data.to_vec();
        let got = server
            .decode(
                &Frame {
                    data: &wire_owned,
                    ..wire
                },
                NO_LIMIT,
            )
            .unwrap();
        assert_eq!(got.data, &message[..]);
        assert!(!got.rsv1);
        // max_size reaches permessage-deflate through the chain.
        let wire = client.encode(&text(&message)).unwrap();
        let wire_owned = wire.data.to_vec();
        let err = server
            .decode(
                &Frame {
                    data: &wire_owned,
                    ..wire
                },
                10,
            )
            .unwrap_err();
        assert!(matches!(err, Error::PayloadTooBig(_)), "{err}");
    }
}
