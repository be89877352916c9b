//! The three abstractions of websockets' `extensions/base.py` as Rust
//! traits: an extension that encodes and
//! decodes frames, and the client and server factories that negotiate it.
//! `C` is the kind of custom extension a negotiator and its chains hold
//! (the C layer's foreign extensions, or a test's); permessage-deflate
//! itself is always native (`Member::Deflate`).

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::fallible::detail;
use crate::framework::member::Member;
use crate::header::{is_token, Param, ParamRef};

/// A custom extension of one connection (websockets' `Extension`).
/// The chain calls `encode` for outgoing frames and `decode` for incoming
/// ones, one call at a time per chain.
pub trait Custom: Send {
    /// The extension's registered name, e.g. "x-xor".
    fn name(&self) -> &str;

    /// Encodes one outgoing frame. The result borrows the input or this
    /// extension's own buffers, until the next call.
    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>>;

    /// Decodes one incoming frame; `max_size` bounds the decoded payload
    /// (`Error::PayloadTooBig` beyond it; `limit::NO_LIMIT`: none; 0: only
    /// empty output).
    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>>;
}

/// A client-side factory (websockets' `ClientExtensionFactory`).
pub trait ClientFactory<C>: Send {
    /// The name of the extension it negotiates; must be a token.
    fn name(&self) -> &str;

    /// The parameters of the offer.
    fn get_request_params(&self) -> Result<Vec<Param>>;

    /// Processes the parameters of a server's response element with this
    /// factory's name. `accepted` lists the extensions accepted before, in
    /// order. `Error::Negotiation` declines (the negotiator then tries the
    /// next factory with that name); any other error fails the handshake.
    fn process_response_params(&self, params: &[ParamRef<'_>], accepted: &[Member<C>]) -> Result<Member<C>>;
}

/// A server-side factory (websockets' `ServerExtensionFactory`).
pub trait ServerFactory<C>: Send {
    /// The name of the extension it negotiates; must be a token.
    fn name(&self) -> &str;

    /// Processes the parameters of one client offer with this factory's
    /// name. To accept, returns the response parameters and the extension;
    /// `Error::Negotiation` declines the offer; any other error fails the
    /// handshake.
    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[Member<C>],
    ) -> Result<(Vec<Param>, Member<C>)>;
}

/// Checks parameters a factory produced: names and values must be tokens
/// (RFC 6455 section 9.1 allows nothing else, quoted or not).
pub fn check_params(who: &str, params: &[Param]) -> Result<()> {
    for p in params {
        if !is_token(p.name.as_bytes()) {
            return Err(Error::invalid(detail!(
                "{who} returned parameter name {:?}, which is not a token",
                p.name
            )));
        }
        if let Some(v) = &p.value {
            if !is_token(v.as_bytes()) {
                return Err(Error::invalid(detail!(
                    "{who} returned value {v:?} for parameter {}, which is not a token",
                    p.name
                )));
            }
        }
    }
    Ok(())
}

/// Checks a name a factory or an extension reports.
pub fn check_name(who: &str, name: &str) -> Result<()> {
    if !is_token(name.as_bytes()) {
        return Err(Error::invalid(detail!("{who} has name {name:?}, which is not a token")));
    }
    Ok(())
}
