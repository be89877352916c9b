//! The one error type of the crate. Each variant maps to exactly one
//! `pmd_result` (see `ffi::result`) and carries the one-line detail that
//! `pmd_last_error()` reports.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A required pointer was NULL (only the C boundary produces this).
    #[error("{0}")]
    NullPointer(String),
    /// A value out of range, or a call that breaks the API's rules.
    #[error("{0}")]
    InvalidArgument(String),
    /// A Sec-WebSocket-Extensions value that does not parse.
    #[error("{0}")]
    HeaderSyntax(String),
    /// Parameters that cannot be accepted (the reference's NegotiationError).
    #[error("{0}")]
    Negotiation(String),
    /// A frame that breaks RFC 6455 / RFC 7692.
    #[error("{0}")]
    Protocol(String),
    /// Inflating would exceed max_size.
    #[error("{0}")]
    PayloadTooBig(String),
    /// The compressed payload is not valid DEFLATE data.
    #[error("{0}")]
    CorruptData(String),
    /// A caller buffer is too small; `needed` bytes are required.
    #[error("buffer too small: {needed} bytes needed, {cap} available")]
    BufferTooSmall { needed: usize, cap: usize },
    /// An allocation failed.
    #[error("{0}")]
    OutOfMemory(String),
    /// A bug caught at the boundary.
    #[error("{0}")]
    Internal(String),
}

/// Shorthand constructors keep call sites to one line.
impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
    pub fn syntax(msg: impl Into<String>) -> Self {
        Error::HeaderSyntax(msg.into())
    }
    pub fn negotiation(msg: impl Into<String>) -> Self {
        Error::Negotiation(msg.into())
    }
    pub fn protocol(msg: impl Into<String>) -> Self {
        Error::Protocol(msg.into())
    }
    pub fn corrupt(msg: impl Into<String>) -> Self {
        Error::CorruptData(msg.into())
    }

    /// The WebSocket close code an endpoint sends for this error (RFC 6455
    /// section 7.4.1), or 0 when the error does not close a connection.
    pub fn close_code(&self) -> u16 {
        match self {
            Error::Protocol(_) => 1002,
            Error::CorruptData(_) => 1007,
            Error::PayloadTooBig(_) => 1009,
            Error::OutOfMemory(_) | Error::Internal(_) => 1011,
            _ => 0,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_follow_rfc6455() {
        assert_eq!(Error::protocol("x").close_code(), 1002);
        assert_eq!(Error::corrupt("x").close_code(), 1007);
        assert_eq!(Error::PayloadTooBig("x".into()).close_code(), 1009);
        assert_eq!(Error::OutOfMemory("x".into()).close_code(), 1011);
        assert_eq!(Error::Internal("x".into()).close_code(), 1011);
        assert_eq!(Error::negotiation("x").close_code(), 0);
        assert_eq!(Error::syntax("x").close_code(), 0);
    }
}
