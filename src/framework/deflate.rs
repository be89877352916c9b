//! permessage-deflate's factories among others: websockets'
//! `ClientPerMessageDeflateFactory` and `ServerPerMessageDeflateFactory`
//! behind the framework traits, on top of `negotiate`. The extensions they
//! make are native chain members.

use crate::config::Config;
use crate::error::Result;
use crate::extension::{Agreed, PerMessageDeflate};
use crate::fallible;
use crate::framework::member::Member;
use crate::framework::traits::{ClientFactory, Custom, ServerFactory};
use crate::header::{Param, ParamRef};
use crate::negotiate::{self, NAME};
use crate::params::{Params4, StaticParam};

fn owned(params: &[StaticParam]) -> Result<Vec<Param>> {
    let mut out = fallible::vec_with_capacity(params.len())?;
    for p in params {
        out.push(Param {
            name: fallible::lossy_string(p.name.to_bytes())?,
            value: match p.value {
                Some(v) => Some(fallible::lossy_string(v.to_bytes())?),
                None => None,
            },
        });
    }
    Ok(out)
}

fn names<C: Custom>(accepted: &[Member<C>]) -> Result<Vec<String>> {
    let mut out = fallible::vec_with_capacity(accepted.len())?;
    for m in accepted {
        out.push(m.name()?);
    }
    Ok(out)
}

fn name_refs(names: &[String]) -> Result<Vec<&[u8]>> {
    let mut out = fallible::vec_with_capacity(names.len())?;
    out.extend(names.iter().map(|n| n.as_bytes()));
    Ok(out)
}

/// The client factory: a config's offer and the client rules of RFC 7692 section 7.1.
#[derive(Clone)]
pub struct ClientDeflateFactory {
    config: Config,
}

impl ClientDeflateFactory {
    pub fn new(config: Config) -> ClientDeflateFactory {
        ClientDeflateFactory { config }
    }
}

impl<C: Custom> ClientFactory<C> for ClientDeflateFactory {
    fn name(&self) -> &str {
        NAME
    }

    fn get_request_params(&self) -> Result<Vec<Param>> {
        owned(&negotiate::client_request_params(&self.config))
    }

    fn process_response_params(&self, params: &[ParamRef<'_>], accepted: &[Member<C>]) -> Result<Member<C>> {
        let names = names(accepted)?;
        let agreed = negotiate::client_process_response(&self.config, params, &name_refs(&names)?)?;
        Member::deflate(PerMessageDeflate::for_config(agreed, &self.config)?)
    }
}

/// The server factory: the server rules of RFC 7692 section 7.1. `require` has no
/// effect here (websockets' factories have no such option): a host
/// that needs permessage-deflate looks for it in the chain.
pub struct ServerDeflateFactory {
    config: Config,
}

impl ServerDeflateFactory {
    /// Fails with InvalidArgument for a config a server cannot use, as
    /// websockets' constructor raises ValueError.
    pub fn new(config: Config) -> Result<ServerDeflateFactory> {
        config.validate_for_server()?;
        Ok(ServerDeflateFactory { config })
    }

    /// The response parameters and what was agreed for one offer.
    pub fn negotiate<C: Custom>(&self, params: &[ParamRef<'_>], accepted: &[Member<C>]) -> Result<(Params4, Agreed)> {
        let names = names(accepted)?;
        negotiate::server_process_request(&self.config, params, &name_refs(&names)?)
    }

    /// The extension for what was agreed, with this factory's settings.
    pub fn extension(&self, agreed: Agreed) -> Result<PerMessageDeflate> {
        PerMessageDeflate::for_config(agreed, &self.config)
    }
}

impl<C: Custom> ServerFactory<C> for ServerDeflateFactory {
    fn name(&self) -> &str {
        NAME
    }

    fn process_request_params(
        &self,
        params: &[ParamRef<'_>],
        accepted: &[Member<C>],
    ) -> Result<(Vec<Param>, Member<C>)> {
        let (response, agreed) = self.negotiate(params, accepted)?;
        Ok((owned(&response)?, Member::deflate(self.extension(agreed)?)?))
    }
}
