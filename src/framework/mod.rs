//! The extension framework: websockets' abstract `Extension`,
//! `ClientExtensionFactory` and `ServerExtensionFactory` as Rust traits, a
//! negotiator that runs any number of factories with websockets'
//! `process_extensions` rules, and a chain that runs the accepted
//! extensions over each frame. permessage-deflate is one implementation
//! among others (`deflate`); C extensions come in through `ffi::framework`.
//!
//! Safe code only: the C side wraps its callbacks into these traits.
#![forbid(unsafe_code)]

pub mod chain;
pub mod deflate;
pub mod member;
pub mod negotiator;
pub mod traits;

pub use chain::Chain;
pub use deflate::{ClientDeflateFactory, ServerDeflateFactory};
pub use member::Member;
pub use negotiator::{client_process_response, client_request_header, server_process_request};
pub use traits::{ClientFactory, Custom, ServerFactory};

#[cfg(test)]
pub(crate) mod testutil;
