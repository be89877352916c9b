//! The three abstractions of the reference (websockets'
//! `extensions/base.py`): an extension that encodes and decodes frames, and
//! the client and server factories that negotiate it.

use std::any::Any;

use crate::error::{Error, Result};
use crate::extension::Frame;
use crate::header::{is_token, Param, ParamRef};

/// One negotiated extension of one connection (the reference's
/// `Extension`). The chain calls `encode` for outgoing frames and `decode`
/// for incoming ones, one call at a time.
pub trait Extension: Send {
    /// The extension's registered name, e.g. "permessage-deflate".
    fn name(&self) -> &str;

    /// Encodes one outgoing frame. The result borrows the input or this
    /// extension's own buffers, until the next call.
    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>>;

    /// Decodes one incoming frame; `max_size` bounds the decoded payload
    /// (`Error::PayloadTooBig` beyond it; `limit::NO_LIMIT`: none; 0: only
    /// empty output).
    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>>;

    /// The concrete type, so that a factory can recognise extensions
    /// accepted before it (the reference passes instances, not names).
    fn as_any(&self) -> &dyn Any;
}

/// A client-side factory (the reference's `ClientExtensionFactory`).
pub trait ClientFactory: Send {
    /// The name of the extension it negotiates; must be a token.
    fn name(&self) -> &str;

    /// The parameters of the offer.
    fn get_request_params(&self) -> Result<Vec<Param>>;

    /// Processes the parameters of a server's response element with this
    /// factory's name. `accepted` lists the extensions accepted before, in
    /// order. `Error::Negotiation` declines (the negotiator then tries the
    /// next factory with that name); any other error fails the handshake.
    fn process_response_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<Box<dyn Extension>>;
}

/// A server-side factory (the reference's `ServerExtensionFactory`).
pub trait ServerFactory: Send {
    /// The name of the extension it negotiates; must be a token.
    fn name(&self) -> &str;

    /// Processes the parameters of one client offer with this factory's
    /// name. To accept, returns the response parameters and the extension;
    /// `Error::Negotiation` declines the offer; any other error fails the
    /// handshake.
    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<(Vec<Param>, Box<dyn Extension>)>;
}

/// Checks parameters a factory produced: names and values must be tokens
/// (RFC 6455 section 9.1 allows nothing else, quoted or not).
pub fn check_params(who: &str, params: &[Param]) -> Result<()> {
    for p in params {
        if !is_token(p.name.as_bytes()) {
            return Err(Error::invalid(format!(
                "{who} returned parameter name {:?}, which is not a token",
                p.name
            )));
        }
        if let Some(v) = &p.value {
            if !is_token(v.as_bytes()) {
                return Err(Error::invalid(format!(
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
        return Err(Error::invalid(format!("{who} has name {name:?}, which is not a token")));
    }
    Ok(())
}
