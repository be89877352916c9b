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
        trailer: Some(trailer),
        ..config
    };
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(crate_dir.join("include/pmdeflate.h"));
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
