//! Points `include_bytes!` at the guest module. The guest is built beforehand by
//! `cargo xtask build` (a nested cargo on the same target dir would deadlock on its lock).

use std::path::PathBuf;

use sha2::Digest;

fn main() {
    println!("cargo:rerun-if-env-changed=MLXK_CORE_WASM");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let wasm = match std::env::var_os("MLXK_CORE_WASM") {
        Some(p) => PathBuf::from(p),
        None => {
            let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| manifest.join("..").join("target"), PathBuf::from);
            target.join("wasm32-wasip1/release/core-wasm.wasm")
        }
    };
    if !wasm.is_file() {
        panic!(
            "the guest module {} is missing: build it first with `cargo xtask build` \
             (or `cargo build --release -p core-wasm --target wasm32-wasip1`)",
            wasm.display()
        );
    }
    println!("cargo:rerun-if-changed={}", wasm.display());
    println!("cargo:rustc-env=CORE_WASM_PATH={}", wasm.display());
    // The module's hash keys the compiled-module cache; computing it here spares every
    // run from hashing the embedded bytes.
    let bytes = std::fs::read(&wasm).expect("read the guest module");
    let digest = sha2::Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=CORE_WASM_SHA256={hex}");
}
