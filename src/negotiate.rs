//! Client and server negotiation rules (RFC 7692 section 7.1),
//! websockets' `ClientPerMessageDeflateFactory` and
//! `ServerPerMessageDeflateFactory`, and the whole-header helpers built on
//! them. The result of a successful negotiation is an `Agreed`; building
//! zlib streams from it is `Extension::new`'s job.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::extension::Agreed;
use crate::fallible::detail;
use crate::header::{self, ParamRef};
use crate::params::{self, ClientBits, Params, Params4};

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

fn check_not_accepted(accepted: &[&[u8]], verb: &str) -> Result<()> {
    if accepted.iter().any(|a| *a == NAME.as_bytes()) {
        return Err(Error::negotiation(detail!("{verb} duplicate {NAME}")));
    }
    Ok(())
}

/// A client's offer: the configured parameters, each only when set.
pub fn client_request_params(cfg: &Config) -> Params4 {
    params::build(&Params {
        server_no_context_takeover: cfg.server_no_context_takeover,
        client_no_context_takeover: cfg.client_no_context_takeover,
        server_max_window_bits: cfg.server_max_window_bits,
        client_max_window_bits: cfg.client_max_window_bits,
    })
}

/// The Sec-WebSocket-Extensions value a client sends. NAME and the
/// parameters are tokens: only an allocation can fail.
pub fn client_offer(cfg: &Config) -> Result<String> {
    header::build(NAME.as_bytes(), &client_request_params(cfg).refs())
}

/// A client reads the server's response parameters for permessage-deflate.
pub fn client_process_response(cfg: &Config, response: &[ParamRef<'_>], accepted: &[&[u8]]) -> Result<Agreed> {
    check_not_accepted(accepted, "received")?;
    let resp = params::extract(response, false)?;

    // server_no_context_takeover | Req False | Req True
    // Resp absent                | False     | error
    // Resp present               | True      | True
    if cfg.server_no_context_takeover && !resp.server_no_context_takeover {
        return Err(Error::negotiation("expected server_no_context_takeover"));
    }

    // client_no_context_takeover | Req False | Req True
    // Resp absent                | False     | True
    // Resp present               | True      | True
    let client_nct = cfg.client_no_context_takeover || resp.client_no_context_takeover;

    // server_max_window_bits | Req unset | Req N
    // Resp absent            | 15        | error, except 15 when N = 15
    // Resp M                 | M         | M if M <= N, else error
    // (RFC 7692 7.1.2.1 asks the server to answer the parameter, but a
    // window of 15 is what was asked for and what absence means: Boost.Beast
    // leaves out values equal to the default.)
    let server_bits = match (cfg.server_max_window_bits, resp.server_max_window_bits) {
        (None, m) => m.unwrap_or(15),
        (Some(15), None) => 15,
        (Some(_), None) => return Err(Error::negotiation("expected server_max_window_bits")),
        (Some(n), Some(m)) if m > n => {
            return Err(Error::negotiation(detail!(
                "unsupported server_max_window_bits {m} (offered {n})"
            )))
        }
        (Some(_), Some(m)) => m,
    };

    // client_max_window_bits | Req unset | Req no value | Req N
    // Resp absent            | 15        | 15           | N
    // Resp M                 | error     | M            | M if M <= N, else error
    let resp_client = match resp.client_max_window_bits {
        Some(ClientBits::Bits(m)) => Some(m),
        // extract() with is_server == false never yields NoValue.
        Some(ClientBits::NoValue) | None => None,
    };
    let client_bits = match (cfg.client_max_window_bits, resp_client) {
        (None, None) => 15,
        (None, Some(m)) => return Err(Error::negotiation(detail!("unexpected client_max_window_bits {m}"))),
        (Some(ClientBits::NoValue), m) => m.unwrap_or(15),
        (Some(ClientBits::Bits(n)), None) => n,
        (Some(ClientBits::Bits(n)), Some(m)) if m > n => {
            return Err(Error::negotiation(detail!(
                "unsupported client_max_window_bits {m} (offered {n})"
            )))
        }
        (Some(ClientBits::Bits(_)), Some(m)) => m,
    };

    Ok(Agreed {
        remote_no_context_takeover: resp.server_no_context_takeover,
        local_no_context_takeover: client_nct,
        remote_max_window_bits: server_bits,
        local_max_window_bits: client_bits,
    })
}

/// A server reads one client offer; on success, the response parameters and
/// what was agreed.
pub fn server_process_request(cfg: &Config, request: &[ParamRef<'_>], accepted: &[&[u8]]) -> Result<(Params4, Agreed)> {
    let cfg_client_bits = cfg.validate_for_server()?;
    check_not_accepted(accepted, "skipped")?;
    let req = params::extract(request, true)?;

    // server_no_context_takeover | Config False | Config True
    // Req absent                 | False        | True
    // Req present                | True         | True
    // (client_no_context_takeover: the same table)
    let server_nct = cfg.server_no_context_takeover || req.server_no_context_takeover;
    let client_nct = cfg.client_no_context_takeover || req.client_no_context_takeover;

    // server_max_window_bits | Config unset | Config N
    // Req absent             | absent (15)  | N
    // Req M                  | M            | min(M, N)
    let server_bits = match (cfg.server_max_window_bits, req.server_max_window_bits) {
        (None, m) => m,
        (Some(n), None) => Some(n),
        (Some(n), Some(m)) => Some(m.min(n)),
    };

    // client_max_window_bits | Config unset | Config N
    // Req absent             | absent (15)  | absent (15); error if require_client_max_window_bits
    // Req no value           | absent (15)  | N
    // Req M                  | M            | min(M, N)
    let client_bits = match (cfg_client_bits, req.client_max_window_bits) {
        (None, Some(ClientBits::NoValue)) | (None, None) => None,
        (None, Some(ClientBits::Bits(m))) => Some(m),
        (Some(_), None) if cfg.require_client_max_window_bits => {
            return Err(Error::negotiation("required client_max_window_bits"))
        }
        (Some(_), None) => None,
        (Some(n), Some(ClientBits::NoValue)) => Some(n),
        (Some(n), Some(ClientBits::Bits(m))) => Some(m.min(n)),
    };

    let response = params::build(&Params {
        server_no_context_takeover: server_nct,
        client_no_context_takeover: client_nct,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits.map(ClientBits::Bits),
    });
    Ok((
        response,
        Agreed {
            remote_no_context_takeover: client_nct,
            local_no_context_takeover: server_nct,
            remote_max_window_bits: client_bits.unwrap_or(15),
            local_max_window_bits: server_bits.unwrap_or(15),
        },
    ))
}

/// A client reads the server's whole Sec-WebSocket-Extensions response
/// value. `Ok(None)`: the server did not enable permessage-deflate. Elements
/// of other extensions are the caller's business and are ignored.
pub fn client_accept(cfg: &Config, response: &[u8]) -> Result<Option<Agreed>> {
    let elements = header::parse(response)?;
    let mut agreed = None;
    for element in elements.iter().filter(|e| e.name == NAME) {
        let accepted: &[&[u8]] = if agreed.is_some() { &[NAME.as_bytes()] } else { &[] };
        agreed = Some(client_process_response(cfg, &element.param_refs()?, accepted)?);
    }
    Ok(agreed)
}

/// A server reads the client's whole Sec-WebSocket-Extensions request value
/// and tries each permessage-deflate offer in order. `Ok(None)`: no
/// acceptable offer (an error instead when `require` is set).
pub fn server_negotiate(cfg: &Config, request: &[u8]) -> Result<Option<(String, Agreed)>> {
    cfg.validate_for_server()?;
    let elements = header::parse(request)?;
    let mut last_reason = None;
    for element in elements.iter().filter(|e| e.name == NAME) {
        match server_process_request(cfg, &element.param_refs()?, &[]) {
            Ok((params, agreed)) => {
                let value = header::build(NAME.as_bytes(), &params.refs())?;
                return Ok(Some((value, agreed)));
            }
            // A declined offer: try the next one.
            Err(Error::Negotiation(reason)) => last_reason = Some(reason),
            Err(other) => return Err(other),
        }
    }
    if cfg.require {
        return Err(Error::negotiation(match last_reason {
            Some(reason) => detail!("no acceptable {NAME} offer (last one declined: {reason})"),
            None => detail!("{NAME} is required but was not offered"),
        }));
    }
    Ok(None)
}
