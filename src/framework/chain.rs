//! The accepted extensions of one connection, in negotiated order. Frames
//! go out through them in order and come in through them in reverse order,
//! as websockets' `Frame.serialize` and `Frame.parse` do.
//!
//! Each side (encode, decode) has its own lock, and each member locks only
//! the side it runs, so one thread may encode while another decodes. Custom
//! members additionally run one at a time per chain, as their callbacks
//! were promised. The result of a call is handed to a continuation while
//! every member's side is still held: it borrows their buffers.

use crate::fallible::{detail, oom};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::framework::member::Member;
use crate::framework::traits::Custom;
use crate::limit::MessageLimit;
use crate::lock::{lock, lock_side};

/// Prefixes an error's detail, keeping its kind (and so its result code).
pub fn annotate(e: Error, prefix: &str) -> Error {
    e.map_detail(|m| detail!("{prefix}: {m}"))
}

/// The decode side's own state.
#[derive(Default)]
struct DecodeSide {
    /// The first decode error; the decode side stays failed (the
    /// connection is being closed), as a single extension's does.
    failed: Option<Error>,
    /// The per-message limit on what the chain's decode gives out.
    limit: MessageLimit,
}

/// An ordered list of negotiated extensions.
pub struct Chain<C> {
    members: Vec<Member<C>>,
    /// Their names, for error messages.
    names: Vec<String>,
    encoding: Mutex<()>,
    decoding: Mutex<DecodeSide>,
    /// Held while custom members run, when there are any.
    custom: Mutex<()>,
}

impl<C> Default for Chain<C> {
    fn default() -> Self {
        Chain {
            members: Vec::new(),
            names: Vec::new(),
            encoding: Mutex::new(()),
            decoding: Mutex::new(DecodeSide::default()),
            custom: Mutex::new(()),
        }
    }
}

impl<C: Custom> Chain<C> {
    pub fn new() -> Chain<C> {
        Chain::default()
    }

    /// Appends an extension: it encodes after, and decodes before, the
    /// ones already there.
    pub fn push(&mut self, member: Member<C>) -> Result<()> {
        let name = member.name()?;
        // Room in both lists first, so that they stay in step on failure.
        self.names
            .try_reserve(1)
            .map_err(|_| oom("out of memory adding to a chain"))?;
        self.members
            .try_reserve(1)
            .map_err(|_| oom("out of memory adding to a chain"))?;
        self.names.push(name);
        self.members.push(member);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The extensions in order (what factories get as "accepted").
    pub fn members(&self) -> &[Member<C>] {
        &self.members
    }

    /// The names in order (for tests and diagnostics; it allocates, so the
    /// C paths do not use it).
    pub fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// Runs custom members one at a time; native ones need no such lock.
    fn custom_turn(&self) -> Result<Option<std::sync::MutexGuard<'_, ()>>> {
        if self.members.iter().any(Member::is_custom) {
            Ok(Some(lock(&self.custom, "chain")?))
        } else {
            Ok(None)
        }
    }

    /// Encodes an outgoing frame through every extension, first to last,
    /// and hands the result to `k`. An error names the extension that
    /// failed and keeps its kind. Calls on the encode side must not overlap.
    pub fn encode<R>(&self, frame: &Frame<'_>, k: impl FnOnce(&Frame<'_>) -> R) -> Result<R> {
        let _side = lock_side(&self.encoding, "encode", "chain")?;
        let _turn = self.custom_turn()?;
        self.encode_from(0, frame, k)
    }

    fn encode_from<R>(&self, i: usize, frame: &Frame<'_>, k: impl FnOnce(&Frame<'_>) -> R) -> Result<R> {
        let Some(member) = self.members.get(i) else {
            return Ok(k(frame));
        };
        let own = |e| annotate(e, &detail!("extension {} (#{i}) encode", self.names[i]));
        member.encode(frame, own, |out| self.encode_from(i + 1, out, k))
    }

    /// Sets the per-message limit on the chain's decoded output
    /// (`NO_LIMIT`: none; 0: only empty messages).
    pub fn set_max_message_size(&self, bytes: usize) -> Result<()> {
        lock_side(&self.decoding, "decode", "chain")?.limit.set_max(bytes);
        Ok(())
    }

    /// Decodes an incoming frame through every extension, last to first,
    /// each given `max_size` (`NO_LIMIT`: none; 0: only empty output) or
    /// the room left under the per-message limit, whichever is smaller, and
    /// hands the result to `k`. Then, as websockets' `Frame.check`, a
    /// reserved bit still set means no negotiated extension claimed it:
    /// PROTOCOL (RFC 6455 section 5.2). The output counts toward the
    /// per-message limit. Errors are sticky.
    pub fn decode<R>(&self, frame: &Frame<'_>, max_size: usize, k: impl FnOnce(&Frame<'_>) -> R) -> Result<R> {
        let mut side = lock_side(&self.decoding, "decode", "chain")?;
        if let Some(e) = &side.failed {
            return Err(e.duplicate());
        }
        let _turn = self.custom_turn()?;
        let bound = side.limit.bound(frame.opcode, max_size);
        let limit = &mut side.limit;
        let result = self.decode_from(self.members.len(), frame, bound.bytes, |out| {
            check_reserved_bits(out)?;
            limit.record(out.opcode, out.fin, out.data.len())?;
            Ok(k(out))
        });
        result.map_err(|e| {
            // Over the room the message had left: say so.
            let e = match e {
                Error::PayloadTooBig(_) if bound.message => bound.exceeded(side.limit.max()),
                e => e,
            };
            side.failed = Some(e.duplicate());
            e
        })
    }

    /// Decodes through members `end - 1` down to 0.
    fn decode_from<R>(
        &self,
        end: usize,
        frame: &Frame<'_>,
        max_size: usize,
        k: impl FnOnce(&Frame<'_>) -> Result<R>,
    ) -> Result<R> {
        let Some(i) = end.checked_sub(1) else {
            return k(frame);
        };
        let own = |e| annotate(e, &detail!("extension {} (#{i}) decode", self.names[i]));
        self.members[i].decode(frame, max_size, own, |out| self.decode_from(i, out, max_size, k))
    }
}

/// A reserved bit left set after decoding: no negotiated extension uses it.
fn check_reserved_bits(f: &Frame<'_>) -> Result<()> {
    if !(f.rsv1 || f.rsv2 || f.rsv3) {
        return Ok(());
    }
    let bits = match (f.rsv1, f.rsv2, f.rsv3) {
        (true, true, true) => "RSV1, RSV2, RSV3",
        (true, true, false) => "RSV1, RSV2",
        (true, false, true) => "RSV1, RSV3",
        (true, false, false) => "RSV1",
        (false, true, true) => "RSV2, RSV3",
        (false, true, false) => "RSV2",
        _ => "RSV3",
    };
    Err(Error::protocol(detail!(
        "reserved bit {bits} set on an incoming frame (opcode {}) and no negotiated extension uses it",
        f.opcode
    )))
}

impl<C> Drop for Chain<C> {
    /// Extensions go in reverse order of acceptance, so an extension never
    /// outlives one accepted after it.
    fn drop(&mut self) {
        while let Some(m) = self.members.pop() {
            drop(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::framework::deflate::{ClientDeflateFactory, ServerDeflateFactory};
    use crate::framework::member::Member;
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
        chain.push(Tag::member("x-a", b'A', &l)).unwrap();
        chain.push(Tag::member("x-b", b'B', &l)).unwrap();
        let sent = chain.encode(&text(b"hi"), |f| f.data.to_vec()).unwrap();
        assert_eq!(sent, b"hiAB");
        let got = chain.decode(&text(&sent), 77, |f| f.data.to_vec()).unwrap();
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
        let chain = Chain::<Tag>::new();
        let input = text(b"abc");
        let out = chain.encode(&input, |f| f.data.as_ptr()).unwrap();
        assert_eq!(out, input.data.as_ptr());
        assert_eq!(chain.decode(&input, NO_LIMIT, |f| f.data.to_vec()).unwrap(), input.data);
        let rsv2 = Frame { rsv2: true, ..input };
        let err = chain.decode(&rsv2, NO_LIMIT, |_| ()).unwrap_err();
        assert!(matches!(&err, Error::Protocol(m) if m.contains("RSV2")), "{err}");
        // Sticky.
        assert_eq!(chain.decode(&input, NO_LIMIT, |_| ()).unwrap_err(), err);
    }

    #[test]
    fn decode_errors_name_the_extension_and_stick() {
        let l = log();
        let mut chain = Chain::new();
        chain.push(Tag::member("x-a", b'A', &l)).unwrap();
        let err = chain.decode(&text(b"noTag"), NO_LIMIT, |_| ()).unwrap_err();
        assert!(
            matches!(&err, Error::Protocol(m) if m.contains("extension x-a (#0) decode")),
            "{err}"
        );
        assert!(chain.decode(&text(b"okA"), NO_LIMIT, |_| ()).is_err());
        assert_eq!(entries(&l), [format!("x-a:decode({NO_LIMIT})")]);
    }

    #[test]
    fn deflate_and_a_custom_extension_round_trip_between_client_and_server() {
        let l = log();
        struct TagServer(crate::framework::testutil::Log);
        impl ServerFactory<Tag> for TagServer {
            fn name(&self) -> &str {
                "x-tag"
            }
            fn process_request_params(
                &self,
                _: &[crate::header::ParamRef<'_>],
                _: &[Member<Tag>],
            ) -> Result<(Vec<crate::header::Param>, Member<Tag>)> {
                Ok((Vec::new(), Tag::member("x-tag", b'T', &self.0)))
            }
        }
        let servers: Vec<Box<dyn ServerFactory<Tag>>> = vec![
            Box::new(ServerDeflateFactory::new(Config::default()).unwrap()),
            Box::new(TagServer(l.clone())),
        ];
        let (value, server) = server_process_request(&servers, b"permessage-deflate, x-tag").unwrap();
        assert_eq!(value.as_deref(), Some("permessage-deflate, x-tag"));

        struct TagClient(crate::framework::testutil::Log);
        impl ClientFactory<Tag> for TagClient {
            fn name(&self) -> &str {
                "x-tag"
            }
            fn get_request_params(&self) -> Result<Vec<crate::header::Param>> {
                Ok(Vec::new())
            }
            fn process_response_params(
                &self,
                _: &[crate::header::ParamRef<'_>],
                _: &[Member<Tag>],
            ) -> Result<Member<Tag>> {
                Ok(Tag::member("x-tag", b'T', &self.0))
            }
        }
        let clients: Vec<Box<dyn ClientFactory<Tag>>> = vec![
            Box::new(ClientDeflateFactory::new(Config::default())),
            Box::new(TagClient(l.clone())),
        ];
        let client = client_process_response(&clients, value.unwrap().as_bytes()).unwrap();

        let message = b"Hello, Hello, Hello, Hello".repeat(20);
        let (wire, wire_owned) = client
            .encode(&text(&message), |f| (Frame { data: &[], ..*f }, f.data.to_vec()))
            .unwrap();
        // Deflate ran first (RSV1, compressed), then the tag was appended.
        assert!(wire.rsv1 && wire_owned.len() < message.len() && wire_owned.ends_with(b"T"));
        let (got, rsv1) = server
            .decode(
                &Frame {
                    data: &wire_owned,
                    ..wire
                },
                NO_LIMIT,
                |f| (f.data.to_vec(), f.rsv1),
            )
            .unwrap();
        assert_eq!(got, &message[..]);
        assert!(!rsv1);
        // max_size reaches permessage-deflate through the chain.
        let wire_owned = client.encode(&text(&message), |f| f.data.to_vec()).unwrap();
        let err = server
            .decode(
                &Frame {
                    data: &wire_owned,
                    ..wire
                },
                10,
                |_| (),
            )
            .unwrap_err();
        assert!(matches!(err, Error::PayloadTooBig(_)), "{err}");
    }

    #[test]
    fn a_native_chain_encodes_on_one_thread_while_it_decodes_on_another() {
        use std::sync::mpsc;
        use std::sync::Arc;
        let clients: Vec<Box<dyn ClientFactory<Tag>>> = vec![Box::new(ClientDeflateFactory::new(Config::default()))];
        let servers: Vec<Box<dyn ServerFactory<Tag>>> =
            vec![Box::new(ServerDeflateFactory::new(Config::default()).unwrap())];
        let (value, server) = server_process_request(&servers, b"permessage-deflate").unwrap();
        let client = client_process_response(&clients, value.unwrap().as_bytes()).unwrap();
        let (client, server) = (Arc::new(client), Arc::new(server));
        // Each direction on its own thread: one thread encodes on a chain
        // while the other decodes on it, for both chains.
        let run = |from: Arc<Chain<Tag>>, to: Arc<Chain<Tag>>, seed: u8| {
            std::thread::spawn(move || {
                let (tx, rx) = mpsc::sync_channel::<(Frame<'static>, Vec<u8>)>(4);
                let sender = std::thread::spawn(move || {
                    for i in 0..300u32 {
                        let msg: Vec<u8> = (0..(i * 37 % 5000)).map(|j| (j as u8) ^ seed).collect();
                        let wire = from
                            .encode(&text(&msg), |f| (Frame { data: &[], ..*f }, f.data.to_vec()))
                            .unwrap();
                        tx.send(wire).unwrap();
                    }
                });
                for i in 0..300u32 {
                    let (f, data) = rx.recv().unwrap();
                    let got = to
                        .decode(&Frame { data: &data, ..f }, NO_LIMIT, |f| f.data.to_vec())
                        .unwrap();
                    let want: Vec<u8> = (0..(i * 37 % 5000)).map(|j| (j as u8) ^ seed).collect();
                    assert_eq!(got, want, "message {i}");
                }
                sender.join().unwrap();
            })
        };
        let a = run(client.clone(), server.clone(), 1);
        let b = run(server, client, 2);
        a.join().unwrap();
        b.join().unwrap();
    }
}
