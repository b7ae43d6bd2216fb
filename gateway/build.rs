//! Builds `native/hosts.c` into the shared library function processes preload
//! (see `src/hosts.rs`); the gateway carries it and writes it out at start.
//! Also records the commit for `wsgate --version`.

use std::path::PathBuf;

fn main() {
    commit();
    let source = "native/hosts.c";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let library = out.join("libwsgate_hosts.so");
    let compiler = cc::Build::new().get_compiler();
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&library)
        .arg(source)
        .arg("-ldl")
        .status()
        .expect("a C compiler (the gateway preloads a small library into functions)");
    assert!(status.success(), "cannot build {source}");
}

/// The commit `wsgate --version` names: from git where the source is a checkout
/// (`cargo install --git` builds one), else `unknown`.
fn commit() {
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WSGATE_COMMIT={commit}");
}
