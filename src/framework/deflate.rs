//! permessage-deflate as one framework extension among others: the
//! reference's `ClientPerMessageDeflateFactory`,
//! `ServerPerMessageDeflateFactory` and `PerMessageDeflate` behind the
//! framework traits, on top of `negotiate` and `extension`.

use std::any::Any;

use crate::config::Config;
use crate::error::Result;
use crate::extension::{Extension as PerMessageDeflate, Frame};
use crate::framework::traits::{ClientFactory, Extension, ServerFactory};
use crate::header::{Param, ParamRef};
use crate::negotiate::{self, NAME};

fn owned(params: &[ParamRef<'static>]) -> Vec<Param> {
    params
        .iter()
        .map(|p| Param {
            name: String::from_utf8_lossy(p.name).into_owned(),
            value: p.value.map(|v| String::from_utf8_lossy(v).into_owned()),
        })
        .collect()
}

fn names<'a>(accepted: &'a [&dyn Extension]) -> Vec<&'a [u8]> {
    accepted.iter().map(|e| e.name().as_bytes()).collect()
}

impl Extension for PerMessageDeflate {
    fn name(&self) -> &str {
        NAME
    }

    fn encode<'a>(&'a mut self, frame: &Frame<'a>) -> Result<Frame<'a>> {
        self.encoder.encode(frame)
    }

    fn decode<'a>(&'a mut self, frame: &Frame<'a>, max_size: usize) -> Result<Frame<'a>> {
        self.decoder.decode(frame, max_size)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The client factory: a config's offer and the rules of SPEC section 4.
pub struct ClientDeflateFactory {
    config: Config,
}

impl ClientDeflateFactory {
    pub fn new(config: Config) -> ClientDeflateFactory {
        ClientDeflateFactory { config }
    }
}

impl ClientFactory for ClientDeflateFactory {
    fn name(&self) -> &str {
        NAME
    }

    fn get_request_params(&self) -> Result<Vec<Param>> {
        Ok(owned(&negotiate::client_request_params(&self.config)))
    }

    fn process_response_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<Box<dyn Extension>> {
        let agreed = negotiate::client_process_response(&self.config, params, &names(accepted))?;
        Ok(Box::new(PerMessageDeflate::for_config(agreed, &self.config)?))
    }
}

/// The server factory: the rules of SPEC section 5. `require` has no
/// effect here (the reference's factories have no such option): a host
/// that needs permessage-deflate looks for it in the chain.
pub struct ServerDeflateFactory {
    config: Config,
}

impl ServerDeflateFactory {
    /// Fails with InvalidArgument for a config a server cannot use, as the
    /// reference's constructor raises ValueError.
    pub fn new(config: Config) -> Result<ServerDeflateFactory> {
        config.validate_for_server()?;
        Ok(ServerDeflateFactory { config })
    }
}

impl ServerFactory for ServerDeflateFactory {
    fn name(&self) -> &str {
        NAME
    }

    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[&dyn Extension],
    ) -> Result<(Vec<Param>, Box<dyn Extension>)> {
        let (response, agreed) = negotiate::server_process_request(&self.config, params, &names(accepted))?;
        let ext: Box<dyn Extension> = Box::new(PerMessageDeflate::for_config(agreed, &self.config)?);
        Ok((owned(&response), ext))
    }
}
