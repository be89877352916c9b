//! Generates include/pmdeflate.h from the Rust sources with cbindgen.
//! The header is committed; a test checks it is what cbindgen makes now.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/trailer.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let trailer = std::fs::read_to_string(crate_dir.join("include/trailer.h")).expect("include/trailer.h exists");
    let config = cbindgen::Config {
        after_includes: Some(version_macros()),
        trailer: Some(trailer),
        ..config
    };
    let bindings = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => bindings,
        Err(e) => panic!("cbindgen failed: {e}"),
    };
    let mut header = Vec::new();
    bindings.write(&mut header);
    let header = String::from_utf8(header).expect("cbindgen writes UTF-8");
    let header = without_rust_safety_sections(&header);
    let path = crate_dir.join("include/pmdeflate.h");
    // Rewrite only on change, so that the file's time moves only then.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(header.as_str()) {
        std::fs::write(&path, header).expect("include/pmdeflate.h is writable");
    }
}

/// The version macros, from Cargo.toml's version (cargo passes it to build
/// scripts), so that the header cannot disagree with the library:
/// pmd_version() returns the same CARGO_PKG_VERSION.
fn version_macros() -> String {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    format!(
        "\n/**\n \
         * The version of this header, \"MAJOR.MINOR.PATCH\" (see docs/abi-policy.md);\n \
         * pmd_version() gives the version of the library loaded at run time.\n \
         */\n\
         #define PMD_VERSION_MAJOR {}\n\
         #define PMD_VERSION_MINOR {}\n\
         #define PMD_VERSION_PATCH {}\n\
         #define PMD_VERSION \"{}\"",
        var("CARGO_PKG_VERSION_MAJOR"),
        var("CARGO_PKG_VERSION_MINOR"),
        var("CARGO_PKG_VERSION_PATCH"),
        var("CARGO_PKG_VERSION"),
    )
}

/// Drops the rustdoc "# Safety" section of each doc comment: it speaks of
/// Rust references and lifetimes, while the C rules are in the comment
/// above it and the header's preamble.
fn without_rust_safety_sections(header: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut skipping = false;
    for line in header.lines() {
        if line.trim() == "* # Safety" {
            skipping = true;
            // The blank comment line before the heading goes too.
            if out.last().is_some_and(|l| l.trim() == "*") {
                out.pop();
            }
            continue;
        }
        if skipping && line.trim() == "*/" {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}
