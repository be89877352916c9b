//! `pmd_result`, its names and close codes.

use std::ffi::{c_char, c_int};

use crate::error::ErrorKind;

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
    /// Parameters that cannot be accepted (websockets' NegotiationError).
    PMD_ERR_NEGOTIATION = 4,
    /// A frame that breaks RFC 6455 / RFC 7692 (e.g. RSV1 on a control frame).
    PMD_ERR_PROTOCOL = 5,
    /// Decoding would exceed max_size or the per-message limit (close 1009).
    PMD_ERR_PAYLOAD_TOO_BIG = 6,
    /// The compressed payload is not valid DEFLATE data.
    PMD_ERR_CORRUPT_DATA = 7,
    /// A caller buffer is too small; *out_len holds the size needed.
    PMD_ERR_BUFFER_TOO_SMALL = 8,
    /// An allocation failed; nothing leaked, and the handle can be freed
    /// (and, except after a decode, used again: docs/allocation-failure.md).
    PMD_ERR_OUT_OF_MEMORY = 9,
    /// A bug caught at the boundary; the handle must be freed.
    PMD_ERR_INTERNAL = 10,
}

impl From<ErrorKind> for pmd_result {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NullPointer => pmd_result::PMD_ERR_NULL_POINTER,
            ErrorKind::InvalidArgument => pmd_result::PMD_ERR_INVALID_ARGUMENT,
            ErrorKind::HeaderSyntax => pmd_result::PMD_ERR_HEADER_SYNTAX,
            ErrorKind::Negotiation => pmd_result::PMD_ERR_NEGOTIATION,
            ErrorKind::Protocol => pmd_result::PMD_ERR_PROTOCOL,
            ErrorKind::PayloadTooBig => pmd_result::PMD_ERR_PAYLOAD_TOO_BIG,
            ErrorKind::CorruptData => pmd_result::PMD_ERR_CORRUPT_DATA,
            ErrorKind::BufferTooSmall => pmd_result::PMD_ERR_BUFFER_TOO_SMALL,
            ErrorKind::OutOfMemory => pmd_result::PMD_ERR_OUT_OF_MEMORY,
            ErrorKind::Internal => pmd_result::PMD_ERR_INTERNAL,
        }
    }
}

// The C values are the table's codes.
const _: () = {
    let mut i = 0;
    while i < ErrorKind::ALL.len() {
        let k = ErrorKind::ALL[i];
        assert!(k.code() == i as i32 + 1);
        i += 1;
    }
    assert!(pmd_result::PMD_ERR_INTERNAL as i32 == ErrorKind::Internal.code());
    assert!(pmd_result::PMD_ERR_NULL_POINTER as i32 == ErrorKind::NullPointer.code());
};

// These two take the result as a plain int so that any value a C caller
// passes is defined behaviour; the header declares them with pmd_result.

/// The name of a result, e.g. "PMD_ERR_NEGOTIATION"; "PMD_ERR_UNKNOWN" for
/// a value that is not a pmd_result. A static string, never NULL.
#[no_mangle]
pub extern "C" fn pmd_result_name(r: c_int) -> *const c_char {
    match ErrorKind::from_code(r) {
        Some(kind) => kind.name().as_ptr(),
        None if r == 0 => c"PMD_OK".as_ptr(),
        None => c"PMD_ERR_UNKNOWN".as_ptr(),
    }
}

/// The WebSocket close code to send after a failure with this result:
/// 1002 for PMD_ERR_PROTOCOL, 1007 for PMD_ERR_CORRUPT_DATA, 1009 for
/// PMD_ERR_PAYLOAD_TOO_BIG, 1011 for PMD_ERR_OUT_OF_MEMORY and
/// PMD_ERR_INTERNAL; 0 for every other value (nothing to close for).
#[no_mangle]
pub extern "C" fn pmd_result_close_code(r: c_int) -> u16 {
    ErrorKind::from_code(r).map_or(0, ErrorKind::close_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_close_codes_come_from_the_table() {
        for &kind in ErrorKind::ALL {
            let r = pmd_result::from(kind) as c_int;
            assert_eq!(r, kind.code());
            assert_eq!(pmd_result_close_code(r), kind.close_code(), "{kind:?}");
            // SAFETY: pmd_result_name returns a static C string.
            assert_eq!(unsafe { std::ffi::CStr::from_ptr(pmd_result_name(r)) }, kind.name());
        }
        // SAFETY: as above.
        let name = |r| unsafe { std::ffi::CStr::from_ptr(pmd_result_name(r)) };
        assert_eq!(name(0), c"PMD_OK");
        assert_eq!(name(11), c"PMD_ERR_UNKNOWN");
        assert_eq!(name(-1), c"PMD_ERR_UNKNOWN");
        assert_eq!(pmd_result_close_code(-1), 0);
        assert_eq!(pmd_result_close_code(11), 0);
    }
}
