//! Negotiating several extensions at once, with the rules of
//! websockets' `ClientProtocol.process_extensions` and
//! `ServerProtocol.process_extensions` (websockets 17.4):
//!
//! | side   | element / offer                      | outcome                                   |
//! |--------|--------------------------------------|-------------------------------------------|
//! | client | a factory with its name accepts      | appended to the chain; next element       |
//! | client | a factory declines (NEGOTIATION)     | the next factory with that name is tried  |
//! | client | no factory accepts (or none has it)  | NEGOTIATION: the handshake fails          |
//! | server | a factory with its name accepts      | appended, with its response parameters    |
//! | server | a factory declines (NEGOTIATION)     | the next factory, then the next offer     |
//! | server | no factory accepts (or none has it)  | the offer is declined, nothing is sent    |
//! | both   | a factory fails with any other error | the error; everything accepted is dropped |
//!
//! Each factory gets the extensions accepted so far, in order, and checks
//! its own rules against them (duplicates, ordering).

use crate::error::{Error, Result};
use crate::fallible::{self, detail};
use crate::framework::chain::{annotate, Chain};
use crate::framework::traits::{check_name, check_params, ClientFactory, Custom, ServerFactory};
use crate::header::{self, Element, Param};

fn build_element(name: &str, params: &[Param]) -> Result<String> {
    let mut refs = fallible::vec_with_capacity(params.len())?;
    refs.extend(params.iter().map(Param::as_ref));
    header::build(name.as_bytes(), &refs)
}

/// Appends `part` to a list joined with `sep`.
fn join_push(out: &mut String, sep: &str, part: &str) -> Result<()> {
    if !out.is_empty() {
        fallible::push_str(out, sep)?;
    }
    fallible::push_str(out, part)
}

/// An element for an error message, without allocating.
struct Describe<'a>(&'a Element);

impl std::fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "name = {}, params = [", self.0.name)?;
        for (i, p) in self.0.params.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            match &p.value {
                Some(v) => write!(f, "{sep}{}={v}", p.name)?,
                None => write!(f, "{sep}{}", p.name)?,
            }
        }
        f.write_str("]")
    }
}

/// Client: the whole Sec-WebSocket-Extensions request value, one element
/// per factory in order (name and `get_request_params`), joined with ", ".
/// Empty when there is no factory: send no header then.
pub fn client_request_header<C>(factories: &[Box<dyn ClientFactory<C>>]) -> Result<String> {
    let mut value = String::new();
    for (i, f) in factories.iter().enumerate() {
        let who = detail!("client factory {} (#{i})", f.name());
        check_name(&who, f.name())?;
        let params = f
            .get_request_params()
            .map_err(|e| annotate(e, &detail!("{who} get_request_params")))?;
        check_params(&detail!("{who} get_request_params"), &params)?;
        join_push(&mut value, ", ", &build_element(f.name(), &params)?)?;
    }
    Ok(value)
}

/// Client: processes the server's whole response value (empty when the
/// header was absent) into the chain of accepted extensions. Every
/// element must be accepted by one of the factories with its name.
pub fn client_process_response<C: Custom>(
    factories: &[Box<dyn ClientFactory<C>>],
    response: &[u8],
) -> Result<Chain<C>> {
    let elements = header::parse(response)?;
    let mut chain = Chain::new();
    for element in &elements {
        let params = element.param_refs()?;
        // Why each factory declined, for the error message (best effort:
        // what does not fit in memory is left out).
        let mut declined = String::new();
        let mut accepted = false;
        for (i, f) in factories.iter().enumerate().filter(|(_, f)| f.name() == element.name) {
            let who = detail!("client factory {} (#{i})", f.name());
            match f.process_response_params(&params, chain.members()) {
                Ok(ext) => {
                    check_name(&detail!("the extension {who} returned"), &ext.name()?)?;
                    chain.push(ext)?;
                    accepted = true;
                    break;
                }
                Err(Error::Negotiation(reason)) => {
                    let _ = join_push(&mut declined, "; ", &reason);
                }
                Err(e) => return Err(annotate(e, &detail!("{who} process_response_params"))),
            }
        }
        if !accepted {
            let why = if declined.is_empty() {
                String::new()
            } else {
                detail!(" ({declined})")
            };
            return Err(Error::negotiation(detail!(
                "unsupported extension: {}{why}",
                Describe(element)
            )));
        }
    }
    Ok(chain)
}

/// Server: processes the client's whole request value. Returns the
/// response value (None: send no header) and the chain. Offers are taken
/// in the client's order; the server can only select, never reorder.
pub fn server_process_request<C: Custom>(
    factories: &[Box<dyn ServerFactory<C>>],
    request: &[u8],
) -> Result<(Option<String>, Chain<C>)> {
    let mut chain = Chain::new();
    // As websockets does: without factories the header is not even parsed.
    if factories.is_empty() {
        return Ok((None, chain));
    }
    let elements = header::parse(request)?;
    let mut response = String::new();
    for element in &elements {
        let params = element.param_refs()?;
        for (i, f) in factories.iter().enumerate().filter(|(_, f)| f.name() == element.name) {
            let who = detail!("server factory {} (#{i})", f.name());
            match f.process_request_params(&params, chain.members()) {
                Ok((response_params, ext)) => {
                    check_name(&detail!("the extension {who} returned"), &ext.name()?)?;
                    check_params(&detail!("{who} process_request_params"), &response_params)?;
                    join_push(&mut response, ", ", &build_element(&element.name, &response_params)?)?;
                    chain.push(ext)?;
                    break;
                }
                // Declined: the next factory, then the next offer.
                Err(Error::Negotiation(_)) => {}
                Err(e) => return Err(annotate(e, &detail!("{who} process_request_params"))),
            }
        }
    }
    let value = if response.is_empty() { None } else { Some(response) };
    Ok((value, chain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::framework::deflate::{ClientDeflateFactory, ServerDeflateFactory};
    use crate::framework::testutil::{entries, log, p, Answer, Scripted, Tag};

    fn client(f: Scripted) -> Box<dyn ClientFactory<Tag>> {
        Box::new(f)
    }

    fn server(f: Scripted) -> Box<dyn ServerFactory<Tag>> {
        Box::new(f)
    }

    fn deflate_client(cfg: Config) -> Box<dyn ClientFactory<Tag>> {
        Box::new(ClientDeflateFactory::new(cfg))
    }

    fn deflate_server(cfg: Config) -> Box<dyn ServerFactory<Tag>> {
        Box::new(ServerDeflateFactory::new(cfg).unwrap())
    }

    fn accept(tag: u8) -> Answer {
        Answer::Accept(Vec::new(), tag)
    }

    #[test]
    fn client_header_lists_every_factory_in_order() {
        let l = log();
        let mut xor = Scripted::new("x-xor", "a", accept(1), &l);
        xor.request = vec![p("key", Some("7")), p("flag", None)];
        let mut cfg = Config::default();
        cfg.set_client_max_window_bits(-1).unwrap();
        let factories = vec![deflate_client(cfg), client(xor)];
        assert_eq!(
            client_request_header(&factories).unwrap(),
            "permessage-deflate; client_max_window_bits, x-xor; key=7; flag"
        );
        assert_eq!(client_request_header::<Tag>(&[]).unwrap(), "");
    }

    #[test]
    fn client_header_refuses_bad_factory_output() {
        let l = log();
        let mut bad = Scripted::new("x-a", "a", accept(1), &l);
        bad.request = vec![p("key", Some("two words"))];
        assert!(matches!(
            client_request_header(&[client(bad)]),
            Err(Error::InvalidArgument(_))
        ));
        let mut bad = Scripted::new("x-a", "a", accept(1), &l);
        bad.request = vec![p("k=v", None)];
        assert!(matches!(
            client_request_header(&[client(bad)]),
            Err(Error::InvalidArgument(_))
        ));
        let bad = Scripted::new("not a token", "a", accept(1), &l);
        assert!(matches!(
            client_request_header(&[client(bad)]),
            Err(Error::InvalidArgument(_))
        ));
        let failing = Scripted::new("x-a", "a", Answer::Fail(Error::OutOfMemory("no".into())), &l);
        let err = client_request_header(&[client(failing)]).unwrap_err();
        assert!(matches!(err, Error::OutOfMemory(_)), "{err}");
    }

    #[test]
    fn client_declined_factory_passes_to_the_next_with_that_name() {
        let l = log();
        let factories = vec![
            client(Scripted::new("x-a", "a1", Answer::Decline, &l)),
            client(Scripted::new("x-b", "b1", accept(2), &l)),
            client(Scripted::new("x-a", "a2", accept(1), &l)),
        ];
        let chain = client_process_response(&factories, b"x-b; k=1, x-a").unwrap();
        assert_eq!(chain.names(), ["x-b", "x-a"]);
        // Each factory sees the extensions accepted before, in order.
        assert_eq!(
            entries(&l),
            ["b1[x-b](k=1)[]", "a1[x-a]()[\"x-b\"]", "a2[x-a]()[\"x-b\"]"]
        );
    }

    #[test]
    fn client_fails_on_an_element_no_factory_accepts_and_drops_what_it_accepted() {
        let l = log();
        let factories = vec![
            client(Scripted::new("x-a", "a", accept(1), &l)),
            client(Scripted::new("x-b", "b", Answer::Decline, &l)),
        ];
        // Unknown extension.
        let err = client_process_response(&factories, b"x-a, x-unknown; p=1")
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::Negotiation(m) if m.contains("name = x-unknown, params = [p=1]")),
            "{err}"
        );
        assert_eq!(entries(&l), ["a[x-a]()[]", "x-a:drop"]);
        // Every factory with the name declines.
        l.lock().unwrap().clear();
        let err = client_process_response(&factories, b"x-a, x-b").err().unwrap();
        assert!(
            matches!(&err, Error::Negotiation(m) if m.contains("b declines")),
            "{err}"
        );
        assert_eq!(entries(&l), ["a[x-a]()[]", "b[x-b]()[\"x-a\"]", "x-a:drop"]);
        // No factory at all and a non-empty response.
        assert!(matches!(
            client_process_response::<Tag>(&[], b"x-a"),
            Err(Error::Negotiation(_))
        ));
    }

    #[test]
    fn client_empty_response_and_syntax_errors() {
        let l = log();
        let factories = vec![client(Scripted::new("x-a", "a", accept(1), &l))];
        assert!(client_process_response(&factories, b"").unwrap().is_empty());
        assert!(client_process_response::<Tag>(&[], b"").unwrap().is_empty());
        assert!(client_process_response(&factories, b" , ").unwrap().is_empty());
        assert!(matches!(
            client_process_response(&factories, b"x-a;"),
            Err(Error::HeaderSyntax(_))
        ));
        assert!(entries(&l).is_empty());
    }

    #[test]
    fn client_duplicate_permessage_deflate_fails() {
        let factories = vec![deflate_client(Config::default())];
        let err = client_process_response(&factories, b"permessage-deflate, permessage-deflate")
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::Negotiation(m) if m.contains("received duplicate permessage-deflate")),
            "{err}"
        );
        let chain = client_process_response(&factories, b"permessage-deflate; server_max_window_bits=10").unwrap();
        assert_eq!(chain.names(), ["permessage-deflate"]);
    }

    #[test]
    fn client_other_errors_abort_and_drop_the_accepted() {
        let l = log();
        let factories = vec![
            client(Scripted::new("x-a", "a", accept(1), &l)),
            client(Scripted::new("x-b", "b", Answer::Fail(Error::protocol("boom")), &l)),
            client(Scripted::new("x-b", "b2", accept(2), &l)),
        ];
        let err = client_process_response(&factories, b"x-a, x-b").err().unwrap();
        assert!(matches!(&err, Error::Protocol(m) if m.contains("boom")), "{err}");
        // b2 is never asked: only NegotiationError passes to the next factory.
        assert_eq!(entries(&l), ["a[x-a]()[]", "b[x-b]()[\"x-a\"]", "x-a:drop"]);
    }

    #[test]
    fn client_refuses_an_extension_with_a_bad_name() {
        let l = log();
        let factories = vec![client(Scripted::new(
            "x-a",
            "a",
            Answer::BadName("bad name".into()),
            &l,
        ))];
        assert!(matches!(
            client_process_response(&factories, b"x-a"),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(entries(&l), ["a[x-a]()[]", "bad name:drop"]);
    }

    #[test]
    fn server_walks_offers_in_order_and_selects() {
        let l = log();
        let factories = vec![
            server(Scripted::new("x-a", "a1", Answer::Decline, &l)),
            server(Scripted::new(
                "x-a",
                "a2",
                Answer::Accept(vec![p("key", Some("3"))], 1),
                &l,
            )),
            server(Scripted::new("x-b", "b", Answer::Accept(vec![p("on", None)], 2), &l)),
            deflate_server(Config::default()),
        ];
        let (value, chain) = server_process_request(
            &factories,
            b"x-unknown, x-b; q, permessage-deflate; client_max_window_bits, x-a; k=\"1\"",
        )
        .unwrap();
        assert_eq!(value.as_deref(), Some("x-b; on, permessage-deflate, x-a; key=3"));
        assert_eq!(chain.names(), ["x-b", "permessage-deflate", "x-a"]);
        assert_eq!(
            entries(&l),
            [
                "b[x-b](q)[]",
                "a1[x-a](k=1)[\"x-b\", \"permessage-deflate\"]",
                "a2[x-a](k=1)[\"x-b\", \"permessage-deflate\"]"
            ]
        );
    }

    #[test]
    fn server_declined_offer_tries_the_next_offer() {
        let mut cfg = Config::default();
        cfg.set_server_max_window_bits(10).unwrap();
        let factories = vec![deflate_server(cfg)];
        // The first offer is invalid (unknown parameter), the second is
        // accepted, the third is a duplicate and skipped.
        let (value, chain) = server_process_request(
            &factories,
            b"permessage-deflate; foo, permessage-deflate; server_no_context_takeover, permessage-deflate",
        )
        .unwrap();
        assert_eq!(
            value.as_deref(),
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
        );
        assert_eq!(chain.len(), 1);
    }

    #[test]
    fn server_without_acceptable_offers_sends_nothing() {
        let l = log();
        let factories = vec![server(Scripted::new("x-a", "a", Answer::Decline, &l))];
        let (value, chain) = server_process_request(&factories, b"x-a, x-b").unwrap();
        assert_eq!(value, None);
        assert!(chain.is_empty());
        let (value, _) = server_process_request(&factories, b"").unwrap();
        assert_eq!(value, None);
        assert!(matches!(
            server_process_request(&factories, b"x-a;;"),
            Err(Error::HeaderSyntax(_))
        ));
        // Without factories the header is not parsed, as websockets does.
        let (value, chain) = server_process_request::<Tag>(&[], b"x-a;;").unwrap();
        assert!(value.is_none() && chain.is_empty());
    }

    #[test]
    fn server_other_errors_and_bad_output_abort_and_drop() {
        let l = log();
        let factories = vec![
            server(Scripted::new("x-a", "a", accept(1), &l)),
            server(Scripted::new(
                "x-b",
                "b",
                Answer::Fail(Error::OutOfMemory("oom".into())),
                &l,
            )),
        ];
        let err = server_process_request(&factories, b"x-a, x-b").err().unwrap();
        assert!(matches!(err, Error::OutOfMemory(_)), "{err}");
        assert_eq!(entries(&l), ["a[x-a]()[]", "b[x-b]()[\"x-a\"]", "x-a:drop"]);

        l.lock().unwrap().clear();
        let factories = vec![
            server(Scripted::new("x-a", "a", accept(1), &l)),
            server(Scripted::new(
                "x-b",
                "b",
                Answer::Accept(vec![p("bad name", None)], 2),
                &l,
            )),
        ];
        let err = server_process_request(&factories, b"x-a, x-b").err().unwrap();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert_eq!(entries(&l), ["a[x-a]()[]", "b[x-b]()[\"x-a\"]", "x-b:drop", "x-a:drop"]);
    }

    #[test]
    fn server_factory_refuses_a_client_only_config() {
        let mut cfg = Config::default();
        cfg.set_client_max_window_bits(-1).unwrap();
        assert!(matches!(ServerDeflateFactory::new(cfg), Err(Error::InvalidArgument(_))));
    }
}
