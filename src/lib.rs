//! pmdeflate: the WebSocket permessage-deflate extension (RFC 7692) for C and
//! C++ WebSocket stacks, on the system zlib.
//!
//! The safe core (`header`, `params`, `config`, `negotiate`, `extension`)
//! takes byte slices and returns `Result<T, Error>`; `zstream` is the only
//! wrapper around zlib; `ffi` is the C boundary and the only place with C
//! types. The behaviour follows the permessage-deflate of Python's
//! `websockets` library; docs/ says where it differs and why.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod config;
pub mod error;
pub mod extension;
pub mod fallible;
pub mod ffi;
pub mod framework;
pub mod header;
pub mod limit;
pub mod lock;
pub mod negotiate;
pub mod params;
pub mod shared_encoder;
pub mod zstream;

pub use config::Config;
pub use error::Error;
pub use extension::{Agreed, Decoder, Encoder, Frame, PerMessageDeflate};
pub use shared_encoder::SharedEncoder;
