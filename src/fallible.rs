//! Allocation that reports failure instead of aborting. Rust's infallible
//! allocations (`Box::new`, `Vec::push`, `format!`, ...) end the process
//! when memory runs out (`handle_alloc_error`); a library linked into a
//! server must instead return PMD_ERR_OUT_OF_MEMORY and leave its handles
//! usable or freeable. Every allocation on the C-visible paths goes through
//! these helpers (or `try_reserve` directly). See docs/allocation-failure.md.
//!
//! `try_box` is the one function here that needs `unsafe` (stable Rust has
//! no fallible `Box` constructor); it is kept in this small module, next to
//! the safe helpers, so that the rest of the core stays safe.

use std::alloc::{alloc, Layout};
use std::fmt::{self, Write};

use crate::error::{Error, Result};

/// The error of a failed allocation. Its detail is static: building it
/// allocates nothing.
pub fn oom(what: &'static str) -> Error {
    Error::OutOfMemory(String::new()).with_static(what)
}

/// `Box::new`, except that a failed allocation is an `Err`.
pub fn try_box<T>(value: T) -> Result<Box<T>> {
    try_box_with(|| value)
}

/// A box of what `make` returns; `make` runs only once the memory is
/// there, so that nothing it takes over (a C caller's pointer with a
/// destructor, say) is dropped when the allocation fails.
pub fn try_box_with<T>(make: impl FnOnce() -> T) -> Result<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // A zero-sized box allocates nothing.
        return Ok(Box::new(make()));
    }
    // SAFETY: the layout has a non-zero size (checked above).
    let p = unsafe { alloc(layout) }.cast::<T>();
    if p.is_null() {
        return Err(oom("out of memory allocating a handle"));
    }
    // SAFETY: p is a fresh, non-NULL allocation of the global allocator
    // with T's layout: writing a T there and owning it as a Box is what
    // Box::new does (Box's documented memory layout).
    unsafe {
        p.write(make());
        Ok(Box::from_raw(p))
    }
}

/// `v.push(x)` that fails instead of aborting.
pub fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    v.try_reserve(1).map_err(|_| oom("out of memory growing a list"))?;
    v.push(x);
    Ok(())
}

/// An empty vector with room for exactly `n` elements.
pub fn vec_with_capacity<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| oom("out of memory allocating a list"))?;
    Ok(v)
}

/// `out.push_str(s)` that fails instead of aborting.
pub fn push_str(out: &mut String, s: &str) -> Result<()> {
    out.try_reserve(s.len())
        .map_err(|_| oom("out of memory building a string"))?;
    out.push_str(s);
    Ok(())
}

/// A copy of `s`.
pub fn string(s: &str) -> Result<String> {
    let mut out = String::new();
    out.try_reserve_exact(s.len())
        .map_err(|_| oom("out of memory copying a string"))?;
    out.push_str(s);
    Ok(out)
}

/// `String::from_utf8_lossy(b).into_owned()`, fallibly.
pub fn lossy_string(b: &[u8]) -> Result<String> {
    let mut out = String::new();
    for chunk in b.utf8_chunks() {
        push_str(&mut out, chunk.valid())?;
        if !chunk.invalid().is_empty() {
            push_str(&mut out, "\u{FFFD}")?;
        }
    }
    Ok(out)
}

/// Bytes shown as `String::from_utf8_lossy` shows them, without a copy.
pub struct Lossy<'a>(pub &'a [u8]);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_char('\u{FFFD}')?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Lossy<'_> {
    /// As the `Debug` of the lossy `String`: quoted and escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for chunk in self.0.utf8_chunks() {
            write!(f, "{}", chunk.valid().escape_debug())?;
            if !chunk.invalid().is_empty() {
                f.write_char('\u{FFFD}')?;
            }
        }
        f.write_char('"')
    }
}

/// Counts the bytes a formatting would write.
struct Count(usize);

impl Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `format!`, except that when memory runs out the result is empty instead
/// of the process aborting. For error details: an error must be reportable
/// even then (the C boundary then reports the result's name alone).
#[cold]
pub fn format(args: fmt::Arguments<'_>) -> String {
    if let Some(s) = args.as_str() {
        return string(s).unwrap_or_default();
    }
    let mut count = Count(0);
    if count.write_fmt(args).is_err() {
        return String::new();
    }
    let mut out = String::new();
    if out.try_reserve_exact(count.0).is_err() {
        return String::new();
    }
    // The reservation holds the whole output, so writing allocates nothing.
    let _ = out.write_fmt(args);
    out
}

/// `format!` for error details: see `fallible::format`.
macro_rules! detail {
    ($($arg:tt)*) => {
        $crate::fallible::format(format_args!($($arg)*))
    };
}
pub(crate) use detail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_do_what_their_infallible_versions_do() {
        assert_eq!(*try_box(7u32).unwrap(), 7);
        assert_eq!(*try_box(()).unwrap(), ());
        let mut v = vec_with_capacity(1).unwrap();
        push(&mut v, 1).unwrap();
        push(&mut v, 2).unwrap();
        assert_eq!(v, [1, 2]);
        let mut s = string("a").unwrap();
        push_str(&mut s, "bc").unwrap();
        assert_eq!(s, "abc");
        assert_eq!(lossy_string(b"x\xffy").unwrap(), String::from_utf8_lossy(b"x\xffy"));
        assert_eq!(detail!("n={} s={}", 5, "x"), "n=5 s=x");
        assert_eq!(detail!("plain"), "plain");
        assert_eq!(oom("what").to_string(), "what");
    }
}
