//! Bad input never panics and never loses data: invalid UTF-8 names, a 50 MB config.json,
//! symlink loops, a snapshot that is a file, an unreadable file, a garbage ref. Each gets
//! a clear finding, on every command that touches it.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;
use tests::zoo::{A, B};
use tests::{CacheFixture, cli, cli_json, health_reason, node_batch, safetensors};

const LLAMA: &str = r#"{"model_type":"llama"}"#;

/// Every command on the cache succeeds (exit 0) and prints valid JSON.
fn all_commands_survive(cache: &Path, model: &str) {
    for argv in [
        vec!["list", "--all", "--json"],
        vec!["list", "--all", "--health", "--verbose"],
        vec!["health", "--json"],
        vec!["health"],
        vec!["show", model, "--json"],
        vec!["show", model, "--files", "--json"],
        vec!["show", model, "--config"],
    ] {
        let run = cli(&argv, Some(cache));
        assert_eq!(
            run.code,
            0,
            "{argv:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        if argv.contains(&"--json") {
            run.json();
        }
    }
}

#[test]
fn a_name_that_is_not_utf8_inside_a_snapshot_is_a_finding() {
    let fx = CacheFixture::new();
    let s = fx.model("org/utf").snapshot(A);
    s.file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4));
    std::fs::write(
        s.path()
            .join(std::ffi::OsStr::from_bytes(b"bad\xffname.json")),
        "{}",
    )
    .unwrap();
    basic_model(&fx, "org/fine");
    all_commands_survive(fx.path(), "org/utf");
    assert_eq!(
        health_reason(fx.path(), "org/utf"),
        "Unreadable folder: . (a file name is not valid UTF-8)"
    );
    assert_eq!(health_reason(fx.path(), "org/fine"), "Model is healthy");
}

#[test]
fn a_name_that_is_not_utf8_at_the_root_is_a_clear_error_on_both_runtimes() {
    let fx = CacheFixture::new();
    basic_model(&fx, "org/fine");
    let folder = std::ffi::OsStr::from_bytes(b"models--org--n\xffme");
    std::fs::create_dir_all(fx.path().join(folder).join("snapshots").join(A)).unwrap();
    let cases = [
        vec!["list", "--json"],
        vec!["health", "--json"],
        vec!["show", "org/fine", "--json"],
    ];
    let node = node_batch(
        &cases
            .iter()
            .map(|c| {
                (
                    c.iter().map(|s| (*s).to_owned()).collect(),
                    fx.path().to_path_buf(),
                )
            })
            .collect::<Vec<_>>(),
    );
    for (argv, node) in cases.iter().zip(node) {
        let run = cli(argv, Some(fx.path()));
        assert_eq!(run.code, 1, "{argv:?}");
        let env = run.json();
        assert_eq!(env["error"]["type"], "cache_unreadable", "{argv:?}");
        assert_eq!(
            env["error"]["message"],
            "Cannot list the cache: a file name is not valid UTF-8"
        );
        assert_eq!(
            (node.code, node.stdout),
            (run.code, run.stdout),
            "{argv:?}: Node differs"
        );
    }
    // Nothing was touched.
    assert!(fx.path().join(folder).is_dir());
}

fn basic_model(fx: &CacheFixture, name: &str) {
    fx.model(name)
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4));
}

#[test]
fn a_50_mb_config_is_reported_not_parsed() {
    let fx = CacheFixture::new();
    let mut big = String::from(r#"{"model_type":"llama","pad":""#);
    big.push_str(&"x".repeat(50 << 20));
    big.push_str("\"}");
    let size = big.len();
    fx.model("org/huge")
        .snapshot(A)
        .file("config.json", &big)
        .file("model.safetensors", safetensors(4));
    assert_eq!(
        health_reason(fx.path(), "org/huge"),
        format!("config.json too large to check ({size} bytes, limit 33554432)")
    );
    all_commands_survive(fx.path(), "org/huge");
    let (_, env) = cli_json(&["show", "org/huge", "--config"], fx.path());
    assert_eq!(env["data"]["config"], Value::Null);
}

#[test]
fn symlink_loops_are_findings() {
    let fx = CacheFixture::new();
    fx.model("org/self")
        .snapshot(A)
        .link("config.json", "config.json")
        .file("model.safetensors", safetensors(4));
    fx.model("org/pair")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4))
        .link("a.json", "b.json")
        .link("b.json", "a.json");
    assert_eq!(
        health_reason(fx.path(), "org/self"),
        "Symlink loop: config.json"
    );
    assert_eq!(health_reason(fx.path(), "org/pair"), "Symlink loop: a.json");
    all_commands_survive(fx.path(), "org/pair");
}

#[test]
fn a_snapshot_that_is_a_file_is_not_a_snapshot() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/filesnap");
    std::fs::create_dir_all(repo.path().join("snapshots")).unwrap();
    std::fs::write(repo.path().join("snapshots").join(A), "not a folder").unwrap();
    repo.git_ref("main", A);
    assert_eq!(
        health_reason(fx.path(), "org/filesnap"),
        "No snapshots found"
    );
    all_commands_survive(fx.path(), "org/filesnap");
    // With a real snapshot beside it, the real one is chosen.
    repo.snapshot(B)
        .file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4));
    assert_eq!(health_reason(fx.path(), "org/filesnap"), "Model is healthy");
}

#[test]
fn a_garbage_ref_falls_back_to_the_newest_snapshot() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/garbage-ref");
    repo.snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4));
    std::fs::create_dir_all(repo.path().join("refs")).unwrap();
    std::fs::write(repo.path().join("refs/main"), b"\xff\x00garbage\n").unwrap();
    let (_, env) = cli_json(&["show", "org/garbage-ref"], fx.path());
    assert_eq!(env["data"]["model"]["hash"], A);
    all_commands_survive(fx.path(), "org/garbage-ref");
}

/// Root reads everything, so the unreadable case runs as `nobody` when we are root.
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn open_up(dir: &Path) {
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            open_up(&e.path());
        } else if ft.is_file() {
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644));
        }
    }
}

#[test]
fn an_unreadable_config_is_reported_as_unreadable() {
    let fx = CacheFixture::new();
    fx.model("org/locked")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", safetensors(4));
    open_up(fx.outside());
    let blob = std::fs::read_dir(fx.model("org/locked").path().join("blobs"))
        .unwrap()
        .flatten()
        .find(|e| e.metadata().unwrap().len() == LLAMA.len() as u64)
        .unwrap()
        .path();
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o000)).unwrap();
    let modules = tempfile::tempdir().unwrap();
    std::fs::set_permissions(modules.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = tests::target_dir().join("release/mlxk");
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(&bin)
    };
    let out = cmd
        .args(["health", "org/locked", "--json", "--cache-dir"])
        .arg(fx.path())
        .env("MLXK_MODULE_CACHE", modules.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        env["data"]["unhealthy"][0]["reason"], "config.json unreadable (permission denied)",
        "{env:#}"
    );
    // Nothing was changed: the file is still there, still locked.
    assert_eq!(
        std::fs::metadata(&blob).unwrap().permissions().mode() & 0o777,
        0
    );
}

/// Runs `mlxk <argv> --cache-dir cache` under timeout(1): a command that blocks fails the
/// test instead of hanging it.
fn within_a_minute(argv: &[&str], cache: &Path) -> tests::Run {
    let out = std::process::Command::new("timeout")
        .arg("60")
        .arg(tests::target_dir().join("release/mlxk"))
        .args(argv)
        .arg("--cache-dir")
        .arg(cache)
        .env(
            "MLXK_MODULE_CACHE",
            tests::target_dir().join("test-module-cache"),
        )
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 124, "{argv:?} blocked");
    tests::Run {
        code,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn mknod(path: &Path, args: &[&str]) -> bool {
    std::process::Command::new("mknod")
        .arg(path)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_fifo_or_a_device_where_a_config_should_be_is_never_opened() {
    let fx = CacheFixture::new();
    let fifo = fx.model("org/fifo").snapshot(A);
    fifo.file("model.safetensors", safetensors(4));
    assert!(mknod(&fifo.path().join("config.json"), &["p"]), "mkfifo");
    assert!(mknod(&fifo.path().join("tokenizer_config.json"), &["p"]));
    // A character device (/dev/zero's numbers) needs root, which CI has.
    let dev = fx.model("org/device").snapshot(A);
    dev.file("model.safetensors", safetensors(4));
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let device = mknod(&dev.path().join("config.json"), &["c", "1", "5"]);
    assert_eq!(device, is_root, "mknod of a device works exactly as root");
    // And a link to /dev/zero itself: escaping, never followed.
    let zero = fx.model("org/zero").snapshot(A);
    zero.file("model.safetensors", safetensors(4));
    std::os::unix::fs::symlink("/dev/zero", zero.path().join("config.json")).unwrap();
    basic_model(&fx, "org/fine");

    for argv in [
        &["list", "--all", "--json"][..],
        &["health", "--json"],
        &["health", "--deep", "--json"],
        &["show", "org/fifo", "--config", "--json"],
        &["show", "org/device", "--files", "--json"],
        &["rm", "org/fifo", "--dry-run", "--json"],
    ] {
        let run = within_a_minute(argv, fx.path());
        tests::schema::assert_valid(&run.json());
    }
    let reason = "config.json unreadable (not a regular file: a FIFO, socket or device)";
    assert_eq!(health_reason(fx.path(), "org/fifo"), reason);
    if device {
        assert_eq!(health_reason(fx.path(), "org/device"), reason);
    }
    assert_eq!(
        health_reason(fx.path(), "org/zero"),
        "Link escapes the cache: config.json"
    );
    assert_eq!(health_reason(fx.path(), "org/fine"), "Model is healthy");
    // The npm package answers the same without blocking (node:wasi would block on a FIFO).
    let argv: Vec<String> = ["health", "--deep", "--json"].map(String::from).to_vec();
    let node = &node_batch(&[(argv, fx.path().to_path_buf())])[0];
    assert_eq!(
        node.stdout,
        within_a_minute(&["health", "--deep", "--json"], fx.path()).stdout
    );
}

#[test]
fn a_safetensors_header_length_of_2_pow_63_is_just_bytes() {
    // Nothing here trusts the length prefix: sizes come from the file system, and the deep
    // audit hashes the bytes that are there.
    let fx = CacheFixture::new();
    let mut bytes = (1u64 << 63).to_le_bytes().to_vec();
    bytes.extend_from_slice(br#"{"weight":{}}"#);
    fx.model("org/hdr")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", &bytes)
        .tree();
    for argv in [
        &["list", "--all", "--json"][..],
        &["show", "org/hdr", "--files", "--json"],
        &["health", "--deep", "--json"],
    ] {
        let run = within_a_minute(argv, fx.path());
        assert_eq!(run.code, 0, "{argv:?}: {}", run.stderr_text());
    }
    let (_, env) = cli_json(&["health", "org/hdr", "--deep"], fx.path());
    assert_eq!(
        env["data"]["healthy"][0]["deep"]["files_hashed"], 2,
        "{env:#}"
    );
}
