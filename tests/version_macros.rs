//! The three places the version lives agree: Cargo.toml's `version`, the
//! header's PMD_VERSION_MAJOR/MINOR/PATCH and PMD_VERSION (written by
//! build.rs), and the string pmd_version() returns. The installed-library
//! test (tests/install/run.sh) checks the same from a C program.

use std::ffi::CStr;
use std::fs;
use std::path::PathBuf;

/// The value of `#define NAME value` in the committed header.
fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    let values: Vec<&str> = header.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).collect();
    assert_eq!(
        values.len(),
        1,
        "{name} is defined {} times in include/pmdeflate.h",
        values.len()
    );
    values[0].trim().to_owned()
}

/// Cargo.toml's `version = "..."` of [package], read from the file itself
/// rather than through cargo.
fn manifest_version() -> String {
    let manifest = fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("version = \""))
        .expect("Cargo.toml has a version line");
    line.trim_start_matches("version = \"").trim_end_matches('"').to_owned()
}

#[test]
fn header_macros_library_and_manifest_agree() {
    let header = fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/pmdeflate.h")).unwrap();
    let manifest = manifest_version();
    let parts: Vec<&str> = manifest.split('.').collect();
    assert_eq!(parts.len(), 3, "Cargo.toml version {manifest:?} is MAJOR.MINOR.PATCH");
    assert_eq!(define(&header, "PMD_VERSION_MAJOR"), parts[0]);
    assert_eq!(define(&header, "PMD_VERSION_MINOR"), parts[1]);
    assert_eq!(define(&header, "PMD_VERSION_PATCH"), parts[2]);
    assert_eq!(define(&header, "PMD_VERSION"), format!("\"{manifest}\""));

    let ptr = pmdeflate::ffi::pmd_version();
    assert!(!ptr.is_null());
    // SAFETY: pmd_version returns a static NUL-terminated string.
    let library = unsafe { CStr::from_ptr(ptr) }.to_str().expect("ASCII");
    assert_eq!(library, manifest);
    assert_eq!(pmdeflate::ffi::pmd_version(), ptr, "the same static string each time");
}
