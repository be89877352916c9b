//! The locks of the two sides of an extension or a chain, and the errors a
//! held or poisoned one gives. A poisoned lock means a panic inside it,
//! already reported as an internal error: the object is unusable.

use crate::fallible::detail;
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::error::Error;

/// Waits for `m`, so that calls on the handle (named by `what`) run one at
/// a time.
pub fn lock<'a, T>(m: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>, Error> {
    m.lock()
        .map_err(|_| Error::Internal(detail!("the {what} failed internally earlier: free it")))
}

/// Takes `m`, the lock of one side of a handle whose calls on a side must
/// not overlap, without waiting: a held lock is an overlapping call.
pub fn lock_side<'a, T>(m: &'a Mutex<T>, side: &str, handle: &str) -> Result<MutexGuard<'a, T>, Error> {
    m.try_lock().map_err(|e| match e {
        TryLockError::WouldBlock => overlap(side, handle),
        TryLockError::Poisoned(_) => {
            Error::Internal(detail!("the {side} side failed internally earlier: free the {handle}"))
        }
    })
}

/// The error for a call on a side of a handle while another call on that
/// side runs.
pub fn overlap(side: &str, handle: &str) -> Error {
    Error::invalid(detail!(
        "concurrent calls on the {side} side of one {handle}: the calls on a side must not overlap"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlapping_call_on_a_side_is_refused_not_raced() {
        let m = Mutex::new(0u8);
        let held = lock_side(&m, "encode", "extension").unwrap();
        let err = lock_side(&m, "encode", "extension").unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        assert!(err.to_string().contains("concurrent calls on the encode side"), "{err}");
        drop(held);
        assert!(lock_side(&m, "encode", "extension").is_ok());
    }

    #[test]
    fn a_poisoned_side_is_internal() {
        let m = Mutex::new(0u8);
        let _ = std::panic::catch_unwind(|| {
            let _g = m.lock().unwrap();
            panic!("poison");
        });
        let err = lock_side(&m, "decode", "extension").unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
        assert!(matches!(lock(&m, "chain"), Err(Error::Internal(_))));
    }
}
