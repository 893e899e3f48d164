//! The `pure-hash` build of the core runs in a stock WASI runtime (bare node:wasi, no
//! `mlxk_host_v1` imports) and audits exactly like the CLI, except that it cannot probe
//! locks. And the CLI shows progress for an audit on a terminal, never off one.

use std::fs;
use std::process::Command;

use tests::fixture::etag;
use tests::runners::stock;
use tests::{CacheFixture, Run, cli, safetensors, target_dir, zoo};

const REV: &str = "1111111111111111111111111111111111111111";

fn corrupted_cache() -> CacheFixture {
    let fx = CacheFixture::new();
    let repo = fx.model("org/m");
    let snap = repo.snapshot(REV);
    let weights = safetensors(50_000);
    snap.file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", &weights)
        .tree();
    repo.git_ref("main", REV);
    let mut flipped = weights.clone();
    flipped[1000] ^= 1;
    fs::write(
        repo.path()
            .join("blobs")
            .join(etag("model.safetensors", &weights)),
        flipped,
    )
    .unwrap();
    repo.raw_blob(&format!("{}.incomplete", "a".repeat(64)), b"part");
    fx
}

#[test]
fn the_pure_build_audits_like_the_cli_in_a_stock_runtime() {
    let fx = corrupted_cache();
    for args in [
        &["health", "--deep", "--json"][..],
        &["health", "--deep"],
        &["list", "--json"],
    ] {
        let ours = cli(args, Some(fx.path()));
        let theirs = stock(fx.path(), args);
        assert_eq!(theirs.code, ours.code, "{args:?}: {}", theirs.stderr_text());
        assert_eq!(theirs.stdout_text(), ours.stdout_text(), "{args:?}");
    }
    let env = cli(&["health", "--deep", "--json"], Some(fx.path())).json();
    assert_eq!(env["data"]["deep"]["corrupt"], 1, "{env:#}");
}

#[test]
fn without_the_host_a_lock_state_is_unknown_not_guessed() {
    let fx = corrupted_cache();
    let repo = fx.model("org/m");
    repo.lock(&format!("{}.lock", "a".repeat(64)));
    let kinds = |run: &Run| -> Vec<String> {
        run.json()["data"]["unhealthy"][0]["deep"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(".lock"))
            .map(|f| f["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let args = ["health", "--deep", "--json"];
    assert_eq!(kinds(&cli(&args, Some(fx.path()))), ["stale_lock"]);
    assert_eq!(kinds(&stock(fx.path(), &args)), ["lock_unknown"]);
}

#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/big");
    let snap = repo.snapshot(REV);
    // Big enough that hashing outlasts the bar's first refresh.
    let weights = vec![7u8; 256 << 20];
    snap.file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", &weights);
    repo.git_ref("main", REV);
    let mlxk = target_dir().join("release/mlxk");
    let command = format!(
        "{} health --deep --cache-dir {}",
        mlxk.display(),
        fx.path().display()
    );
    // `script` gives the command a pseudo-terminal and records everything it draws.
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("hashing 2 files"),
        "no progress drawn: {text}"
    );
    assert!(text.contains("ETA"), "{text}");
    assert!(
        text.contains("Deep audit: 2 files, 268.4MB hashed"),
        "{text}"
    );

    // Off a terminal, and in JSON mode, nothing but the result.
    let run = cli(&["health", "--deep"], Some(fx.path()));
    assert!(run.stderr.is_empty(), "{}", run.stderr_text());
    let json = Command::new("script")
        .args(["-q", "-e", "-c", &format!("{command} --json"), "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&json.stdout).contains("hashing"));
}
