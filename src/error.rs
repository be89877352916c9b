//! The one table of errors: every result the library reports, with its
//! code, its name and the WebSocket close code that goes with it. The C
//! result type, its names and close codes, chain annotations and the checks
//! of what user callbacks return are all derived from it.
//!
//! `Error` is what the core returns: one variant per kind it produces,
//! carrying the one-line detail that `pmd_last_error()` reports. The two
//! kinds that only the C boundary produces (a NULL pointer, a caller buffer
//! too small) are not variants: the boundary builds them, and a result a
//! user callback returned is carried as `Error::Returned`.

use std::ffi::CStr;

use thiserror::Error;

macro_rules! kinds {
    ($( $(#[$doc:meta])* $kind:ident = $code:literal, $name:literal, $close:literal; )*) => {
        /// Every failure a pmdeflate function can report (`pmd_result`
        /// without PMD_OK).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $( $(#[$doc])* $kind = $code, )*
        }

        impl ErrorKind {
            /// Every kind, in code order.
            pub const ALL: &'static [ErrorKind] = &[$( ErrorKind::$kind, )*];

            /// The result code, as C sees it.
            pub const fn code(self) -> i32 {
                self as i32
            }

            /// The result's name, e.g. "PMD_ERR_NEGOTIATION".
            pub const fn name(self) -> &'static CStr {
                match self { $( ErrorKind::$kind => $name, )* }
            }

            /// The WebSocket close code an endpoint sends after this
            /// failure (RFC 6455 section 7.4.1), or 0 when it does not
            /// close a connection.
            pub const fn close_code(self) -> u16 {
                match self { $( ErrorKind::$kind => $close, )* }
            }
        }
    };
}

kinds! {
    /// A required pointer was NULL (the C boundary only).
    NullPointer = 1, c"PMD_ERR_NULL_POINTER", 0;
    /// A value out of range, or a call that breaks the API's rules.
    InvalidArgument = 2, c"PMD_ERR_INVALID_ARGUMENT", 0;
    /// A Sec-WebSocket-Extensions value that does not parse.
    HeaderSyntax = 3, c"PMD_ERR_HEADER_SYNTAX", 0;
    /// Parameters that cannot be accepted (websockets' NegotiationError).
    Negotiation = 4, c"PMD_ERR_NEGOTIATION", 0;
    /// A frame that breaks RFC 6455 / RFC 7692.
    Protocol = 5, c"PMD_ERR_PROTOCOL", 1002;
    /// Decoding would exceed a size limit.
    PayloadTooBig = 6, c"PMD_ERR_PAYLOAD_TOO_BIG", 1009;
    /// The compressed payload is not valid DEFLATE data.
    CorruptData = 7, c"PMD_ERR_CORRUPT_DATA", 1007;
    /// A caller buffer is too small (the C boundary only).
    BufferTooSmall = 8, c"PMD_ERR_BUFFER_TOO_SMALL", 0;
    /// An allocation failed.
    OutOfMemory = 9, c"PMD_ERR_OUT_OF_MEMORY", 1011;
    /// A bug caught at the boundary.
    Internal = 10, c"PMD_ERR_INTERNAL", 1011;
}

impl ErrorKind {
    /// The kind with this result code, if any (0 is success, not a kind).
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    HeaderSyntax(String),
    #[error("{0}")]
    Negotiation(String),
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    PayloadTooBig(String),
    #[error("{0}")]
    CorruptData(String),
    #[error("{0}")]
    OutOfMemory(String),
    #[error("{0}")]
    Internal(String),
    /// A failure of another kind, as the C boundary or a user callback
    /// reported it.
    #[error("{1}")]
    Returned(ErrorKind, String),
    /// A failure of any kind with a static detail: building it allocates
    /// nothing, so it can be reported when memory has run out.
    #[error("{1}")]
    Fixed(ErrorKind, &'static str),
}

/// What an error's detail can be built from. A `&str` is copied without
/// aborting when memory runs out (the detail is then empty).
pub trait IntoDetail {
    fn into_detail(self) -> String;
}

impl IntoDetail for String {
    fn into_detail(self) -> String {
        self
    }
}

impl IntoDetail for &str {
    fn into_detail(self) -> String {
        crate::fallible::string(self).unwrap_or_default()
    }
}

impl Error {
    /// An error of any kind with its detail.
    pub fn new(kind: ErrorKind, detail: impl IntoDetail) -> Self {
        let d = detail.into_detail();
        match kind {
            ErrorKind::InvalidArgument => Error::InvalidArgument(d),
            ErrorKind::HeaderSyntax => Error::HeaderSyntax(d),
            ErrorKind::Negotiation => Error::Negotiation(d),
            ErrorKind::Protocol => Error::Protocol(d),
            ErrorKind::PayloadTooBig => Error::PayloadTooBig(d),
            ErrorKind::CorruptData => Error::CorruptData(d),
            ErrorKind::OutOfMemory => Error::OutOfMemory(d),
            ErrorKind::Internal => Error::Internal(d),
            ErrorKind::NullPointer | ErrorKind::BufferTooSmall => Error::Returned(kind, d),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::HeaderSyntax(_) => ErrorKind::HeaderSyntax,
            Error::Negotiation(_) => ErrorKind::Negotiation,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::PayloadTooBig(_) => ErrorKind::PayloadTooBig,
            Error::CorruptData(_) => ErrorKind::CorruptData,
            Error::OutOfMemory(_) => ErrorKind::OutOfMemory,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Returned(kind, _) | Error::Fixed(kind, _) => *kind,
        }
    }

    /// The one-line detail (what `Display` shows), without allocating.
    pub fn detail(&self) -> &str {
        match self {
            Error::InvalidArgument(d)
            | Error::HeaderSyntax(d)
            | Error::Negotiation(d)
            | Error::Protocol(d)
            | Error::PayloadTooBig(d)
            | Error::CorruptData(d)
            | Error::OutOfMemory(d)
            | Error::Internal(d)
            | Error::Returned(_, d) => d,
            Error::Fixed(_, d) => d,
        }
    }

    /// A copy of this error that never aborts: when memory runs out, the
    /// copy keeps the kind with a static detail. (`clone` would abort.)
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Fixed(kind, d) => Error::Fixed(*kind, d),
            other => match crate::fallible::string(other.detail()) {
                Ok(d) => Error::new(other.kind(), d),
                Err(_) => Error::Fixed(other.kind(), "(detail lost: out of memory)"),
            },
        }
    }

    /// This kind with a static detail instead.
    pub fn with_static(self, detail: &'static str) -> Error {
        Error::Fixed(self.kind(), detail)
    }

    /// The same kind with the detail rewritten (to prefix where it
    /// happened).
    pub fn map_detail(self, f: impl FnOnce(&str) -> String) -> Self {
        let detail = f(self.detail());
        if detail.is_empty() {
            // The new detail could not be built (out of memory): keep the old.
            return self;
        }
        Error::new(self.kind(), detail)
    }

    #[cold]
    pub fn invalid(msg: impl IntoDetail) -> Self {
        Error::InvalidArgument(msg.into_detail())
    }
    #[cold]
    pub fn syntax(msg: impl IntoDetail) -> Self {
        Error::HeaderSyntax(msg.into_detail())
    }
    #[cold]
    pub fn negotiation(msg: impl IntoDetail) -> Self {
        Error::Negotiation(msg.into_detail())
    }
    #[cold]
    pub fn protocol(msg: impl IntoDetail) -> Self {
        Error::Protocol(msg.into_detail())
    }
    #[cold]
    pub fn corrupt(msg: impl IntoDetail) -> Self {
        Error::CorruptData(msg.into_detail())
    }

    /// The WebSocket close code an endpoint sends for this error, or 0.
    pub fn close_code(&self) -> u16 {
        self.kind().close_code()
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

    #[test]
    fn duplicate_keeps_kind_and_detail_and_fixed_errors_allocate_nothing() {
        for &kind in ErrorKind::ALL {
            let e = Error::new(kind, "detail");
            assert_eq!(e.duplicate(), e);
            let f = Error::Fixed(kind, "static");
            assert_eq!((f.kind(), f.detail()), (kind, "static"));
            assert_eq!(f.duplicate(), f);
        }
        // A prefix that could not be built leaves the detail as it was.
        let e = Error::protocol("x").map_detail(|_| String::new());
        assert_eq!(e.to_string(), "x");
    }

    #[test]
    fn every_kind_round_trips_through_its_code_and_keeps_its_detail() {
        for (i, &kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code(), i as i32 + 1);
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            let e = Error::new(kind, "detail");
            assert_eq!((e.kind(), e.to_string()), (kind, "detail".to_string()));
            let e = e.map_detail(|d| format!("where: {d}"));
            assert_eq!((e.kind(), e.to_string()), (kind, "where: detail".to_string()));
            assert!(kind.name().to_str().unwrap().starts_with("PMD_ERR_"));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(11), None);
    }
}
