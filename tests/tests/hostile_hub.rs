//! `pull` against a Hub that lies: tree listings that climb out of the repo, redirects to
//! `file://` and other schemes, bodies that never end, servers that go silent, sizes that
//! lie, and a disk that fills up. Every case ends in a clear error, writes nothing
//! outside the cache, and leaves nothing that looks like a finished file.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use tests::fixture::git_blob_sha1;
use tests::hub::{FakeHub, scan_cache_dir};
use tests::rawhub::{RawHub, Reply};
use tests::runners::cli_with;
use tests::schema::assert_valid;
use tests::{Run, safetensors, target_dir};

const COMMIT: &str = "c0ffee0000000000000000000000000000000001";
const CONFIG: &[u8] = br#"{"model_type":"llama"}"#;

/// A Hub for `org/evil` at [`COMMIT`] listing `tree`, answering file requests with
/// `file(path)`.
fn evil_hub(tree: Value, file: impl Fn(&str) -> Reply + Send + Sync + 'static) -> RawHub {
    let tree = Arc::new(tree);
    RawHub::start(move |_method, path| {
        if path.starts_with("/api/models/org/evil/revision/") {
            Reply::json(&json!({ "id": "org/evil", "sha": COMMIT }))
        } else if path.starts_with(&format!("/api/models/org/evil/tree/{COMMIT}")) {
            Reply::json(&tree)
        } else if let Some(rest) = path.strip_prefix(&format!("/org/evil/resolve/{COMMIT}/")) {
            file(rest)
        } else {
            Reply::not_found("RepoNotFound")
        }
    })
}

/// A temporary folder holding an empty cache, `cache/`.
fn fresh_cache() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    fs::create_dir(&cache).unwrap();
    (dir, cache)
}

fn item(path: &str, bytes: &[u8]) -> Value {
    json!({ "type": "file", "path": path, "oid": git_blob_sha1(bytes), "size": bytes.len() })
}

fn pull(hub: &str, cache: &Path, env: &[(&str, &str)]) -> (Run, Value) {
    let mut vars: Vec<(&str, &Path)> = vec![("HF_ENDPOINT", Path::new(hub))];
    vars.extend(env.iter().map(|(k, v)| (*k, Path::new(*v))));
    let run = cli_with("mlxk", &["pull", "org/evil", "--json"], Some(cache), &vars);
    let v = run.json();
    assert_valid(&v);
    (run, v)
}

/// Every path under `dir` (links not followed).
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn tree_paths_that_climb_out_or_are_absolute_are_refused_before_anything_is_written() {
    for bad in [
        "../../outside.txt",
        "/etc/cron.d/evil",
        "a/../../outside.txt",
        "sub/../../../outside.txt",
        "..",
        "a//b",
        "C:\\evil",
        "ok/\u{0}nul",
    ] {
        let (dir, cache) = fresh_cache();
        let hub = evil_hub(
            json!([item("config.json", CONFIG), item(bad, b"pwned")]),
            |_| Reply::bytes(b"pwned"),
        );
        let (run, v) = pull(&hub.url, &cache, &[]);
        assert_eq!(run.code, 1, "{bad}: {v:#}");
        assert_eq!(v["error"]["type"], "download_failed", "{bad}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("tree listing"), "{bad}: {message}");
        assert!(
            files_under(&cache).is_empty(),
            "{bad}: {:?}",
            files_under(&cache)
        );
        assert_eq!(files_under(dir.path()), ["cache"], "{bad}: wrote outside");
        assert!(
            !hub.requests().iter().any(|r| r.contains("/resolve/")),
            "{bad}: a file was fetched"
        );
    }
}

#[test]
fn redirects_to_file_urls_and_other_schemes_are_refused_once() {
    for target in [
        "file:///etc/passwd",
        "file:/etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://x",
    ] {
        let (_dir, cache) = fresh_cache();
        let target_owned = target.to_owned();
        let hub = evil_hub(json!([item("config.json", CONFIG)]), move |_| {
            Reply::redirect(&target_owned)
        });
        let (run, v) = pull(&hub.url, &cache, &[]);
        assert_eq!(run.code, 1, "{target}: {v:#}");
        assert_eq!(v["error"]["type"], "download_failed");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("refused a redirect to '{target}'"))
                && message.contains("only http and https"),
            "{message}"
        );
        let fetches = hub
            .requests()
            .iter()
            .filter(|r| r.contains("/resolve/"))
            .count();
        assert_eq!(fetches, 1, "{target}: a refusal is not retried");
        let blobs = files_under(&cache.join("models--org--evil/blobs"));
        assert!(blobs.is_empty(), "{blobs:?}");
    }
}

#[test]
fn a_body_that_never_ends_is_cut_at_the_listed_size_and_deleted() {
    let (_dir, cache) = fresh_cache();
    let hub = evil_hub(json!([item("config.json", CONFIG)]), |_| Reply::Endless);
    let (run, v) = pull(&hub.url, &cache, &[]);
    assert_eq!(run.code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "download_failed");
    assert_eq!(
        v["error"]["message"],
        format!(
            "Download failed: config.json: the server sent more than the {} bytes the listing gives; the partial download was deleted",
            CONFIG.len()
        )
    );
    assert!(files_under(&cache.join("models--org--evil/blobs")).is_empty());
    assert!(!cache.join("models--org--evil/refs/main").exists());
}

#[test]
fn a_silent_server_times_out_and_says_so() {
    let (dir, cache) = fresh_cache();
    let weights = safetensors(4000);
    let prefix = weights[..1000].to_vec();
    let len = weights.len() as u64;
    // Headers and the first 1000 bytes, then nothing.
    let hub = evil_hub(
        json!([
            item("config.json", CONFIG),
            item("model.safetensors", &weights)
        ]),
        move |path| {
            if path == "config.json" {
                Reply::bytes(CONFIG)
            } else {
                Reply::Stall {
                    length: len,
                    prefix: prefix.clone(),
                }
            }
        },
    );
    let env = [("MLXK_PULL_TIMEOUT_SECS", "1"), ("MLXK_PULL_RETRIES", "2")];
    let (run, v) = pull(&hub.url, &cache, &env);
    assert_eq!(run.code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "download_failed");
    assert_eq!(
        v["error"]["message"],
        format!(
            "Download failed: model.safetensors: the server sent nothing for 1 s (MLXK_PULL_TIMEOUT_SECS) at byte 1000 of {len}; run pull again to resume"
        )
    );
    // The bytes that came are kept for the next run, never as a finished blob.
    let blobs = files_under(&cache.join("models--org--evil/blobs"));
    assert!(
        blobs.iter().any(|b| b.ends_with(".incomplete")),
        "{blobs:?}"
    );
    assert!(!cache.join("models--org--evil/refs/main").exists());

    // A server that never answers the first request at all.
    let fresh = dir.path().join("fresh");
    fs::create_dir(&fresh).unwrap();
    let silent = RawHub::start(|_, _| Reply::Silent);
    let (run, v) = pull(&silent.url, &fresh, &env);
    assert_eq!(run.code, 1);
    assert_eq!(
        v["error"]["message"],
        "Download failed: the server sent nothing for 1 s (MLXK_PULL_TIMEOUT_SECS)"
    );
}

#[test]
fn sizes_that_lie_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let weights = safetensors(4000);
    let half = weights[..weights.len() / 2].to_vec();
    let len = weights.len();

    // Claims the listed length, sends half, hangs up, and answers every `Range` retry with
    // the same half from byte 0: resumable, never a blob, and (a bug this caught) the
    // retries end, since resending bytes already had is not progress.
    let cache = dir.path().join("short");
    fs::create_dir(&cache).unwrap();
    let sent = half.clone();
    let hub = evil_hub(json!([item("model.safetensors", &weights)]), move |_| {
        Reply::Send {
            status: 200,
            headers: Vec::new(),
            body: sent.clone(),
            length: Some(len as u64),
        }
    });
    let (run, v) = pull(&hub.url, &cache, &[("MLXK_PULL_RETRIES", "2")]);
    assert_eq!(run.code, 1, "{v:#}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with(&format!(
            "at byte {} of {len}; run pull again to resume",
            half.len()
        )),
        "{message}"
    );
    assert!(!cache.join("models--org--evil/refs/main").exists());

    // Lists fewer bytes than it sends (with an honest Content-Length): cut off, deleted.
    let cache = dir.path().join("long");
    fs::create_dir(&cache).unwrap();
    let mut listed = item("model.safetensors", &weights);
    listed["size"] = json!(100);
    let body = weights.clone();
    let hub = evil_hub(json!([listed]), move |_| Reply::bytes(&body));
    let (run, v) = pull(&hub.url, &cache, &[]);
    assert_eq!(run.code, 1);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sent more than the 100 bytes the listing gives"),
        "{v:#}"
    );
    assert!(files_under(&cache.join("models--org--evil/blobs")).is_empty());

    // Lists an absurd size (2^63): the transfer stops where the bytes do; nothing is
    // allocated up front and nothing becomes a blob.
    let cache = dir.path().join("huge");
    fs::create_dir(&cache).unwrap();
    let mut listed = item("model.safetensors", &weights);
    listed["size"] = json!(1u64 << 63);
    let body = weights.clone();
    let hub = evil_hub(json!([listed]), move |_| Reply::bytes(&body));
    let (run, v) = pull(&hub.url, &cache, &[("MLXK_PULL_RETRIES", "1")]);
    assert_eq!(run.code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "download_failed");
    assert!(!cache.join("models--org--evil/refs/main").exists());

    // And the same checks of a listed size that is not a number at all.
    let cache = dir.path().join("nan");
    fs::create_dir(&cache).unwrap();
    let mut listed = item("config.json", CONFIG);
    listed["size"] = json!("12");
    let hub = evil_hub(json!([listed]), |_| Reply::bytes(CONFIG));
    let (run, v) = pull(&hub.url, &cache, &[]);
    assert_eq!(run.code, 1);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("size of config.json"),
        "{v:#}"
    );
}

/// Runs `script` as root in a private mount namespace (so its tmpfs vanishes with it).
fn in_mount_namespace(script: &str) -> std::process::Output {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut cmd = Command::new("unshare");
    if !root {
        cmd.arg("--map-root-user");
    }
    cmd.args(["--mount", "sh", "-ec", script])
        .output()
        .expect("unshare runs")
}

#[test]
fn a_full_disk_fails_the_pull_clearly_and_a_rerun_with_space_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store/models/org/big/main");
    fs::create_dir_all(&store).unwrap();
    fs::write(store.join("config.json"), CONFIG).unwrap();
    // 3 MiB of weights (f32 values) for a 1 MiB disk.
    let weights = safetensors(3 << 18);
    let total = weights.len() as u64;
    fs::write(store.join("model.safetensors"), &weights).unwrap();
    let hub = FakeHub::start(&dir.path().join("store"), &[]);
    let mnt = dir.path().join("mnt");
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&mnt).unwrap();
    fs::create_dir_all(&out_dir).unwrap();
    let mlxk = target_dir().join("release/mlxk");
    let script = format!(
        r#"
mount -t tmpfs -o size=1m tmpfs {mnt}
mkdir {mnt}/hub
export HF_ENDPOINT={hub} MLXK_MODULE_CACHE={modules} HF_TOKEN_PATH=/nonexistent
{mlxk} pull org/big --json --cache-dir {mnt}/hub > {out}/first.json || true
cp -a {mnt}/hub {out}/after-full
mount -o remount,size=16m {mnt}
{mlxk} pull org/big --force-resume --json --cache-dir {mnt}/hub > {out}/second.json || true
cp -a {mnt}/hub {out}/after-rerun
"#,
        mnt = mnt.display(),
        hub = hub.url,
        modules = target_dir().join("test-module-cache").display(),
        mlxk = mlxk.display(),
        out = out_dir.display(),
    );
    // The first pull hits the full disk; the rerun (`--force-resume`, as a cached but
    // unhealthy model asks for) continues once there is room.
    let ran = in_mount_namespace(&script);
    assert!(
        ran.status.success(),
        "the mount namespace could not be set up: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let first: Value =
        serde_json::from_slice(&fs::read(out_dir.join("first.json")).unwrap()).unwrap();
    assert_valid(&first);
    assert_eq!(first["status"], "error", "{first:#}");
    assert_eq!(first["error"]["type"], "pull_operation_failed", "{first:#}");
    let message = first["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("No space left writing models--org--big/blobs/"),
        "{message}"
    );
    let after = out_dir.join("after-full/models--org--big");
    assert!(
        !after.join("refs/main").exists(),
        "a ref to an incomplete snapshot"
    );
    let snapshot = files_under(&after.join("snapshots"));
    assert!(
        !snapshot.iter().any(|f| f.ends_with("model.safetensors")),
        "the weights were linked: {snapshot:?}"
    );

    let second: Value =
        serde_json::from_slice(&fs::read(out_dir.join("second.json")).unwrap()).unwrap();
    assert_eq!(second["status"], "success", "{second:#}");
    assert_eq!(second["data"]["health"], "healthy", "{second:#}");
    // It resumed from the bytes the full disk had taken.
    let fetched = second["data"]["bytes_downloaded"].as_u64().unwrap();
    assert!(
        fetched < total,
        "downloaded {fetched} of {total} bytes again"
    );
    let scan = scan_cache_dir(&out_dir.join("after-rerun"));
    assert_eq!(scan["warnings"], json!([]), "{scan:#}");
}
