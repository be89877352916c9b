//! `pmd_result`, its names and close codes.

use std::ffi::{c_char, c_int};

use crate::error::Error;

/// The result of every fallible function. PMD_OK is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pmd_result {
    /// Success.
    PMD_OK = 0,
    /// A required pointer was NULL; nothing was changed.
    PMD_ERR_NULL_POINTER = 1,
    /// A value out of range (window bits, level, ...) or a call that breaks
    /// the API's rules (frames out of order on the encode side).
    PMD_ERR_INVALID_ARGUMENT = 2,
    /// A Sec-WebSocket-Extensions value that does not parse.
    PMD_ERR_HEADER_SYNTAX = 3,
    /// Parameters that cannot be accepted (the reference's NegotiationError).
    PMD_ERR_NEGOTIATION = 4,
    /// A frame that breaks RFC 6455 / RFC 7692 (e.g. RSV1 on a control frame).
    PMD_ERR_PROTOCOL = 5,
    /// Inflating would exceed max_size.
    PMD_ERR_PAYLOAD_TOO_BIG = 6,
    /// The compressed payload is not valid DEFLATE data.
    PMD_ERR_CORRUPT_DATA = 7,
    /// A caller buffer is too small; *out_len holds the size needed.
    PMD_ERR_BUFFER_TOO_SMALL = 8,
    /// An allocation failed.
    PMD_ERR_OUT_OF_MEMORY = 9,
    /// A bug caught at the boundary; the handle must be freed.
    PMD_ERR_INTERNAL = 10,
}

impl From<&Error> for pmd_result {
    fn from(e: &Error) -> Self {
        match e {
            Error::NullPointer(_) => pmd_result::PMD_ERR_NULL_POINTER,
            Error::InvalidArgument(_) => pmd_result::PMD_ERR_INVALID_ARGUMENT,
            Error::HeaderSyntax(_) => pmd_result::PMD_ERR_HEADER_SYNTAX,
            Error::Negotiation(_) => pmd_result::PMD_ERR_NEGOTIATION,
            Error::Protocol(_) => pmd_result::PMD_ERR_PROTOCOL,
            Error::PayloadTooBig(_) => pmd_result::PMD_ERR_PAYLOAD_TOO_BIG,
            Error::CorruptData(_) => pmd_result::PMD_ERR_CORRUPT_DATA,
            Error::BufferTooSmall { .. } => pmd_result::PMD_ERR_BUFFER_TOO_SMALL,
            Error::OutOfMemory(_) => pmd_result::PMD_ERR_OUT_OF_MEMORY,
            Error::Internal(_) => pmd_result::PMD_ERR_INTERNAL,
        }
    }
}

/// Name and close code per result value; the index is the value.
const TABLE: [(&std::ffi::CStr, u16); 11] = [
    (c"PMD_OK", 0),
    (c"PMD_ERR_NULL_POINTER", 0),
    (c"PMD_ERR_INVALID_ARGUMENT", 0),
    (c"PMD_ERR_HEADER_SYNTAX", 0),
    (c"PMD_ERR_NEGOTIATION", 0),
    (c"PMD_ERR_PROTOCOL", 1002),
    (c"PMD_ERR_PAYLOAD_TOO_BIG", 1009),
    (c"PMD_ERR_CORRUPT_DATA", 1007),
    (c"PMD_ERR_BUFFER_TOO_SMALL", 0),
    (c"PMD_ERR_OUT_OF_MEMORY", 1011),
    (c"PMD_ERR_INTERNAL", 1011),
];

fn entry(r: c_int) -> Option<&'static (&'static std::ffi::CStr, u16)> {
    usize::try_from(r).ok().and_then(|i| TABLE.get(i))
}

// These two take the result as a plain int so that any value a C caller
// passes is defined behaviour; the header declares them with pmd_result.

/// The name of a result, e.g. "PMD_ERR_NEGOTIATION"; "PMD_ERR_UNKNOWN" for
/// a value that is not a pmd_result. A static string, never NULL.
#[no_mangle]
pub extern "C" fn pmd_result_name(r: c_int) -> *const c_char {
    entry(r).map_or(c"PMD_ERR_UNKNOWN".as_ptr(), |e| e.0.as_ptr())
}

/// The WebSocket close code to send after a failure with this result:
/// 1002 for PMD_ERR_PROTOCOL, 1007 for PMD_ERR_CORRUPT_DATA, 1009 for
/// PMD_ERR_PAYLOAD_TOO_BIG, 1011 for PMD_ERR_OUT_OF_MEMORY and
/// PMD_ERR_INTERNAL; 0 for every other value (nothing to close for).
#[no_mangle]
pub extern "C" fn pmd_result_close_code(r: c_int) -> u16 {
    entry(r).map_or(0, |e| e.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_enum_and_error_close_codes() {
        let errors = [
            Error::NullPointer(String::new()),
            Error::invalid(""),
            Error::syntax(""),
            Error::negotiation(""),
            Error::protocol(""),
            Error::PayloadTooBig(String::new()),
            Error::corrupt(""),
            Error::BufferTooSmall { needed: 1, cap: 0 },
            Error::OutOfMemory(String::new()),
            Error::Internal(String::new()),
        ];
        for e in &errors {
            let r = pmd_result::from(e) as c_int;
            assert_eq!(pmd_result_close_code(r), e.close_code(), "{e:?}");
            // SAFETY: pmd_result_name returns a static C string.
            let name = unsafe { std::ffi::CStr::from_ptr(pmd_result_name(r)) };
            assert!(name.to_str().unwrap().starts_with("PMD_ERR_"));
        }
        assert_eq!(pmd_result_close_code(-1), 0);
        assert_eq!(pmd_result_close_code(11), 0);
    }
}
