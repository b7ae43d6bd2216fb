//! Builds `native/hosts.c` into the shared library function processes preload
//! (see `src/hosts.rs`); the gateway carries it and writes it out at start.

use std::path::PathBuf;

fn main() {
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
