//! Negotiating several extensions at once, with the rules of the
//! reference's `ClientProtocol.process_extensions` and
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
use crate::framework::chain::{annotate, Chain};
use crate::framework::traits::{check_name, check_params, ClientFactory, ServerFactory};
use crate::header::{self, Element, Param};

fn build_element(name: &str, params: &[Param]) -> Result<String> {
    let refs: Vec<_> = params.iter().map(Param::as_ref).collect();
    header::build(name.as_bytes(), &refs)
}

fn describe(element: &Element) -> String {
    let params: Vec<String> = element
        .params
        .iter()
        .map(|p| match &p.value {
            Some(v) => format!("{}={v}", p.name),
            None => p.name.clone(),
        })
        .collect();
    format!("name = {}, params = [{}]", element.name, params.join(", "))
}

/// Client: the whole Sec-WebSocket-Extensions request value, one element
/// per factory in order (name and `get_request_params`), joined with ", ".
/// Empty when there is no factory: send no header then.
pub fn client_request_header(factories: &[Box<dyn ClientFactory>]) -> Result<String> {
    let mut elements = Vec::with_capacity(factories.len());
    for (i, f) in factories.iter().enumerate() {
        let who = format!("client factory {} (#{i})", f.name());
        check_name(&who, f.name())?;
        let params = f.get_request_params().map_err(|e| annotate(e, &format!("{who} get_request_params")))?;
        check_params(&format!("{who} get_request_params"), &params)?;
        elements.push(build_element(f.name(), &params)?);
    }
    Ok(elements.join(", "))
}

/// Client: processes the server's whole response value (empty when the
/// header was absent) into the chain of accepted extensions. Every
/// element must be accepted by one of the factories with its name.
pub fn client_process_response(factories: &[Box<dyn ClientFactory>], response: &[u8]) -> Result<Chain> {
    let elements = header::parse(response)?;
    let mut chain = Chain::new();
    for element in &elements {
        let params = element.param_refs();
        let mut declined = Vec::new();
        let mut accepted = false;
        for (i, f) in factories.iter().enumerate().filter(|(_, f)| f.name() == element.name) {
            let who = format!("client factory {} (#{i})", f.name());
            match f.process_response_params(&params, &chain.as_refs()) {
                Ok(ext) => {
                    check_name(&format!("the extension {who} returned"), ext.name())?;
                    chain.push(ext);
                    accepted = true;
                    break;
                }
                Err(Error::Negotiation(reason)) => declined.push(reason),
                Err(e) => return Err(annotate(e, &format!("{who} process_response_params"))),
            }
        }
        if !accepted {
            let why = if declined.is_empty() { String::new() } else { format!(" ({})", declined.join("; ")) };
            return Err(Error::negotiation(format!("unsupported extension: {}{why}", describe(element))));
        }
    }
    Ok(chain)
}

/// Server: processes the client's whole request value. Returns the
/// response value (None: send no header) and the chain. Offers are taken
/// in the client's order; the server can only select, never reorder.
pub fn server_process_request(factories: &[Box<dyn ServerFactory>], request: &[u8]) -> Result<(Option<String>, Chain)> {
    let mut chain = Chain::new();
    // As the reference: without factories the header is not even parsed.
    if factories.is_empty() {
        return Ok((None, chain));
    }
    let elements = header::parse(request)?;
    let mut response = Vec::new();
    for element in &elements {
        let params = element.param_refs();
        for (i, f) in factories.iter().enumerate().filter(|(_, f)| f.name() == element.name) {
            let who = format!("server factory {} (#{i})", f.name());
            match f.process_request_params(&params, &chain.as_refs()) {
                Ok((response_params, ext)) => {
                    check_name(&format!("the extension {who} returned"), ext.name())?;
                    check_params(&format!("{who} process_request_params"), &response_params)?;
                    response.push(build_element(&element.name, &response_params)?);
                    chain.push(ext);
                    break;
                }
                // Declined: the next factory, then the next offer.
                Err(Error::Negotiation(_)) => {}
                Err(e) => return Err(annotate(e, &format!("{who} process_request_params"))),
            }
        }
    }
    let value = if response.is_empty() { None } else { Some(response.join(", ")) };
    Ok((value, chain))
}
