//! The C header and the shared library, as a C user gets them:
//! include/pmdeflate.h is what cbindgen makes from the current sources
//! (and is committed), it compiles as strict C99 and C++11, it declares
//! every name the C API promises (the committed list in
//! tests/contract/api-names.txt; on a developer machine where the team's
//! contract sits beside the repository in ../shared, also compared with its
//! API.md and check-api.sh), and libpmdeflate.so links the system zlib
//! (libz.so.1).
//!
//! These tests run external tools (cargo, git, gcc, g++, ldd, nm, bash);
//! a missing tool is a failure, never a skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>: this test binary lives in target/<profile>/deps.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// The cdylib this test run was built against. `cargo test` writes it to
/// target/<profile>/deps/ and only `cargo build` copies it up to
/// target/<profile>/ (where it may be older than the sources), so the deps
/// copy is the one that matches this run.
fn shared_library() -> PathBuf {
    let so = profile_dir().join("deps").join("libpmdeflate.so");
    assert!(so.exists(), "no {}: the cdylib was not built", so.display());
    so
}

fn run(cmd: &mut Command) -> (bool, String) {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Where the first difference is, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: committed {x:?}, generated {y:?}", i + 1);
        }
    }
    format!("lengths differ: {} vs {} lines", a.lines().count(), b.lines().count())
}

/// Why not simply look at include/pmdeflate.h after the build: build.rs
/// rewrites it only when src/ or cbindgen.toml changed since the last build,
/// so on a cached build a hand-edited or stale header (or a changed
/// include/trailer.h) would go unnoticed. Instead this test copies the
/// crate's inputs (manifest, lock file, build.rs, cbindgen.toml, src/,
/// include/ without the header) to a scratch directory under target/ and
/// runs `cargo check` there: the fresh copy always runs build.rs, which
/// writes the header cbindgen makes now (the pinned cbindgen of
/// Cargo.toml, nothing added to it). That header must equal
/// - the committed one: git's index version of include/pmdeflate.h (on a
///   clean clone, as in CI, that is HEAD; locally it is what is about to
///   be committed), and
/// - the working-tree file the normal build produced.
///
/// The scratch crate shares this target directory, so cbindgen and its
/// dependencies are already built and the check takes a second or two.
#[test]
fn committed_header_is_what_cbindgen_generates_now() {
    let root = root();
    let target = profile_dir().parent().unwrap().to_path_buf();
    let scratch = target.join("header-fresh").join("pmdeflate");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(scratch.join("include")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml"] {
        fs::copy(root.join(file), scratch.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    copy_dir(&root.join("src"), &scratch.join("src"));
    for entry in fs::read_dir(root.join("include")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "pmdeflate.h" && entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), scratch.join("include").join(entry.file_name())).unwrap();
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let release = profile_dir().file_name().is_some_and(|n| n == "release");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&scratch)
        .args(["check", "--lib", "--offline", "--locked", "--quiet", "--target-dir"])
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR");
    if release {
        cmd.arg("--release");
    }
    let (ok, text) = run(&mut cmd);
    assert!(ok, "cargo check of the scratch copy failed:\n{text}");
    let generated = fs::read_to_string(scratch.join("include/pmdeflate.h")).expect("build.rs wrote the header");

    let (ok, committed) = run(Command::new("git")
        .current_dir(&root)
        .args(["show", ":include/pmdeflate.h"]));
    assert!(ok, "include/pmdeflate.h is not committed: {committed}");
    assert!(
        committed == generated,
        "include/pmdeflate.h in git is stale: regenerate it with `cargo build` and commit it ({})",
        first_difference(&committed, &generated)
    );
    let working = fs::read_to_string(root.join("include/pmdeflate.h")).unwrap();
    assert!(
        working == generated,
        "include/pmdeflate.h in the working tree differs from what cbindgen generates ({})",
        first_difference(&working, &generated)
    );
}

const USES_THE_API: &str = r#"
#include "pmdeflate.h"
#include <stdio.h>
#include <string.h>

int main(void) {
    pmd_config *cfg = pmd_config_new();
    char offer[PMD_MAX_RESPONSE_LEN];
    size_t len = 0;
    pmd_extension *ext = NULL;
    pmd_frame in, out;
    pmd_negotiated agreed;
    pmd_result r;
    if (cfg == NULL) return 1;
    if (pmd_config_set_client_max_window_bits(cfg, PMD_WINDOW_BITS_NO_VALUE) != PMD_OK) return 2;
    if (pmd_config_set_strategy(cfg, PMD_STRATEGY_FILTERED) != PMD_OK) return 3;
    if (pmd_client_offer(cfg, offer, sizeof offer, &len) != PMD_OK) return 4;
    if (strcmp(offer, "permessage-deflate; client_max_window_bits") != 0) return 5;
    r = pmd_client_accept(cfg, "permessage-deflate; client_max_window_bits=10",
                          strlen("permessage-deflate; client_max_window_bits=10"), &ext);
    if (r != PMD_OK || ext == NULL) return 6;
    if (pmd_extension_negotiated(ext, &agreed) != PMD_OK || agreed.local_max_window_bits != 10) return 7;
    memset(&in, 0, sizeof in);
    in.opcode = PMD_OPCODE_TEXT;
    in.fin = true;
    in.data = (const uint8_t *)"Hello";
    in.len = 5;
    if (pmd_extension_encode(ext, &in, &out) != PMD_OK || !out.rsv1) return 8;
    if (pmd_config_set_mem_level(cfg, 0) != PMD_ERR_INVALID_ARGUMENT) return 9;
    if (strlen(pmd_last_error()) == 0) return 10;
    if (pmd_result_close_code(PMD_ERR_CORRUPT_DATA) != 1007) return 11;
    printf("%s %s %s %zu\n", pmd_version(), pmd_result_name(PMD_ERR_NEGOTIATION),
           pmd_extension_name(ext), pmd_extension_memory_usage(ext));
    pmd_extension_free(ext);
    pmd_config_free(cfg);
    pmd_extension_free(NULL);
    pmd_config_free(NULL);
    return 0;
}
"#;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn header_compiles_as_strict_c99_and_links() {
    let dir = scratch_dir("header-c99");
    let src = dir.join("uses_api.c");
    fs::write(&src, USES_THE_API).unwrap();
    let exe = dir.join("uses_api");
    let so = shared_library();
    let lib_dir = so.parent().unwrap().to_path_buf();
    let (ok, text) = run(Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lpmdeflate"));
    assert!(ok, "gcc -std=c99 -pedantic failed:\n{text}");
    let (ok, text) = run(Command::new(&exe).env("LD_LIBRARY_PATH", &lib_dir));
    assert!(ok, "the C program failed: {text}");
    assert!(
        text.starts_with(&format!(
            "{} PMD_ERR_NEGOTIATION permessage-deflate ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
}

#[test]
fn header_compiles_as_cpp11() {
    let dir = scratch_dir("header-cpp11");
    let src = dir.join("uses_api.cpp");
    fs::write(&src, USES_THE_API).unwrap();
    let (ok, text) = run(Command::new("g++")
        .args(["-std=c++11", "-Wall", "-Wextra", "-Werror", "-c", "-I"])
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(dir.join("uses_api.o")));
    assert!(ok, "g++ -std=c++11 failed:\n{text}");
}

/// The names the C API promises, as committed in
/// tests/contract/api-names.txt: the check needs nothing outside the
/// repository.
fn api_names() -> Vec<String> {
    let text = fs::read_to_string(root().join("tests/contract/api-names.txt")).unwrap();
    text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The pmd_/PMD_ words of a text, sorted and unique (check-api.sh's rule).
fn pmd_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.len() > 4 && (w.starts_with("pmd_") || w.starts_with("PMD_")))
        .map(str::to_owned)
        .collect();
    words.sort();
    words.dedup();
    words
}

#[test]
fn header_declares_every_name_the_api_promises() {
    let header = fs::read_to_string(root().join("include/pmdeflate.h")).unwrap();
    let declared = pmd_words(&header);
    let names = api_names();
    assert!(names.len() >= 60, "the snapshot lost names: {}", names.len());
    let missing: Vec<_> = names.iter().filter(|n| !declared.contains(n)).collect();
    assert!(missing.is_empty(), "missing from include/pmdeflate.h: {missing:?}");

    // Only where the team's contract sits next to the repository (../shared,
    // on a developer's machine): the snapshot must be its API.md's list, and
    // its own check-api.sh must pass too. Users' checkouts skip this part.
    let shared = root().join("../shared");
    if shared.join("API.md").exists() {
        let api = fs::read_to_string(shared.join("API.md")).unwrap();
        assert_eq!(
            pmd_words(&api),
            names,
            "tests/contract/api-names.txt is not ../shared/API.md's list: update the snapshot"
        );
        let (ok, text) = run(Command::new("bash")
            .arg(shared.join("tools/check-api.sh"))
            .current_dir(root()));
        assert!(ok, "check-api.sh failed:\n{text}");
        assert!(text.contains("check-api:"), "{text}");
    }
}

#[test]
fn shared_library_links_the_system_zlib() {
    let so = shared_library();
    let (ok, text) = run(Command::new("ldd").arg(&so));
    assert!(ok, "ldd failed: {text}");
    let libz = text
        .lines()
        .find(|l| l.trim_start().starts_with("libz.so.1"))
        .unwrap_or_else(|| panic!("no libz.so.1:\n{text}"));
    assert!(libz.contains("=>") && !libz.contains("not found"), "{libz}");
    // And zlib is not bundled: the library does not define zlib's functions.
    let (ok, text) = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    assert!(ok, "nm failed: {text}");
    for zlib_fn in ["inflate", "deflate", "inflateInit2_", "deflateInit2_"] {
        assert!(
            !text.lines().any(|l| l.split_whitespace().last() == Some(zlib_fn)),
            "{zlib_fn} is defined in {}",
            so.display()
        );
    }
    assert!(
        text.lines().any(|l| l.ends_with(" pmd_extension_decode")),
        "pmd_ symbols exported"
    );
}
