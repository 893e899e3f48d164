//! `mlxk pull` against the project's test Hub on 127.0.0.1: the cache it writes is one
//! huggingface_hub uses as its own (and the reverse), every byte is verified, faults
//! from the server are survived or reported, interrupted downloads resume with `Range`,
//! and nothing is ever written outside the cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::hub::{hf_client, scan_cache_dir};
use tests::pullstore::{Hub, deep_findings, hf_download, is_commit, store, tree_of};
use tests::runners::cli_with;
use tests::schema::assert_valid;
use tests::{Run, target_dir};

/// `mlxk pull <args> --json` against `hub` into `cache`, with `env` on top.
fn pull(hub: &str, cache: &Path, args: &[&str], env: &[(&str, &str)]) -> (Run, Value) {
    let run = pull_run(hub, cache, args, env, true);
    let json = run.json();
    assert_valid(&json);
    (run, json)
}

fn pull_run(hub: &str, cache: &Path, args: &[&str], env: &[(&str, &str)], json: bool) -> Run {
    let mut all = vec!["pull"];
    all.extend_from_slice(args);
    if json {
        all.push("--json");
    }
    let mut vars: Vec<(&str, &Path)> = vec![("HF_ENDPOINT", Path::new(hub))];
    vars.extend(env.iter().map(|(k, v)| (*k, Path::new(*v))));
    cli_with("mlxk", &all, Some(cache), &vars)
}

#[test]
fn a_pulled_cache_is_huggingface_hubs_own() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    // Three tree entries a page: the listing has to be followed across pages.
    let hub = Hub::start(tmp.path(), &store, &["--redirect", "--page-size", "3"]);
    let cache = tmp.path().join("hub");

    let (run, v) = pull(
        hub.url(),
        &cache,
        &["org/tiny"],
        &[("HF_TOKEN", "secret-token")],
    );
    assert_eq!(run.code, 0, "{v:#}");
    let d = &v["data"];
    assert_eq!(v["status"], "success");
    assert_eq!(d["download_status"], "success");
    assert_eq!(d["model"], "org/tiny");
    assert_eq!(d["expanded_name"], Value::Null);
    assert_eq!(d["health"], "healthy");
    assert_eq!(d["files_total"], 7);
    assert_eq!(d["files_downloaded"], 7);
    let commit = d["commit_hash"].as_str().unwrap();
    assert!(is_commit(commit));
    let snapshot = cache.join("models--org--tiny/snapshots").join(commit);
    assert_eq!(
        d["message"],
        format!("Downloaded to {}", snapshot.display())
    );
    // The layout huggingface_hub writes: relative links, a ref without newline, a tree
    // file, CACHEDIR.TAG, a lock folder.
    assert_eq!(
        fs::read_link(snapshot.join("sub/dir/notes.txt"))
            .unwrap()
            .to_str()
            .unwrap(),
        format!(
            "../../../../blobs/{}",
            tests::fixture::git_blob_sha1(b"nested")
        )
    );
    assert_eq!(
        fs::read_to_string(cache.join("models--org--tiny/refs/main")).unwrap(),
        commit
    );
    assert!(
        cache
            .join(format!("models--org--tiny/trees/{commit}.json"))
            .is_file()
    );
    assert!(
        fs::read_to_string(cache.join("CACHEDIR.TAG"))
            .unwrap()
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55\n")
    );
    assert!(cache.join(".locks/models--org--tiny").is_dir());
    // The token went to the Hub's own origin only, never to the CDN.
    let requests = hub.requests();
    let (cdn, own): (Vec<&Value>, Vec<&Value>) = requests
        .iter()
        .partition(|r| r["path"].as_str().unwrap().starts_with("/cdn/"));
    assert_eq!(
        cdn.len(),
        2,
        "the LFS files come through the redirect: {requests:#?}"
    );
    assert!(cdn.iter().all(|r| r["auth"] == false), "{cdn:#?}");
    assert!(own.iter().all(|r| r["auth"] == true), "{own:#?}");

    // huggingface_hub finds everything: no warning, the same sizes, no byte downloaded.
    let scan = scan_cache_dir(&cache);
    assert_eq!(scan["warnings"], Value::Array(vec![]), "{scan:#}");
    let repo = &scan["repos"][0];
    assert_eq!(repo["repo_id"], "org/tiny");
    assert_eq!(repo["revisions"][0]["commit_hash"], commit);
    assert_eq!(repo["revisions"][0]["nb_files"], 7);
    let expected: u64 = [
        "config.json",
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "sub/dir/notes.txt",
    ]
    .iter()
    .map(|p| {
        fs::metadata(store.join("models/org/tiny/main").join(p))
            .unwrap()
            .len()
    })
    .sum();
    assert_eq!(repo["size_on_disk"], expected);
    assert_eq!(d["bytes_downloaded"], expected);
    // The same files, links, refs and tree file, byte for byte, as huggingface_hub writes.
    let theirs = tmp.path().join("theirs");
    hf_download(&hub, &theirs, &["org/tiny"]);
    let repo_layout = |c: &Path| tree_of(&c.join("models--org--tiny"));
    assert_eq!(repo_layout(&cache), repo_layout(&theirs));
    let tree_file = format!("models--org--tiny/trees/{commit}.json");
    assert_eq!(
        fs::read(cache.join(&tree_file)).unwrap(),
        fs::read(theirs.join(&tree_file)).unwrap()
    );
    assert_eq!(
        fs::read(cache.join("CACHEDIR.TAG")).unwrap(),
        fs::read(theirs.join("CACHEDIR.TAG")).unwrap()
    );
    hub.clear_log();
    hf_download(&hub, &cache, &["org/tiny"]);
    assert_eq!(
        hub.file_gets("").len(),
        0,
        "snapshot_download fetched bytes again: {:#?}",
        hub.requests()
    );
    hf_client(&[
        "offline-check",
        "--cache",
        cache.to_str().unwrap(),
        "org/tiny",
    ]);
    assert_eq!(deep_findings(&cache, "org/tiny"), Value::Array(vec![]));

    // A second pull is answered from the cache, without the network.
    hub.clear_log();
    let (run, v) = pull(hub.url(), &cache, &["org/tiny"], &[]);
    assert_eq!(run.code, 0);
    assert_eq!(v["data"]["download_status"], "already_exists");
    assert_eq!(
        v["data"]["message"],
        "Model org/tiny already exists in cache"
    );
    assert!(hub.requests().is_empty(), "{:#?}", hub.requests());
}

#[test]
fn a_cache_huggingface_hub_wrote_already_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    hf_download(&hub, &cache, &["org/tiny", "org/tiny@v1.0"]);
    hub.clear_log();
    for spec in ["org/tiny", "tiny"] {
        let (run, v) = pull(hub.url(), &cache, &[spec], &[]);
        assert_eq!(run.code, 0);
        assert_eq!(v["data"]["download_status"], "already_exists", "{spec}");
    }
    // A branch huggingface_hub recorded in refs/ is cached under that name, even offline.
    let v1 = fs::read_to_string(cache.join("models--org--tiny/refs/v1.0")).unwrap();
    let (run, v) = pull(
        hub.url(),
        &cache,
        &["org/tiny@v1.0"],
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(v["data"]["download_status"], "already_exists");
    assert_eq!(v["data"]["commit_hash"], v1.as_str());
    // The fuzzy name resolved to the cached repo (reference §5 step 3).
    let (_, v) = pull(hub.url(), &cache, &["tiny"], &[]);
    assert_eq!(v["data"]["expanded_name"], "org/tiny");
    assert!(hub.requests().is_empty());

    // --force-resume asks the Hub again and finds nothing missing.
    let (run, v) = pull(hub.url(), &cache, &["org/tiny", "--force-resume"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(v["data"]["download_status"], "success");
    assert_eq!(v["data"]["files_downloaded"], 0);
    assert_eq!(hub.file_gets("").len(), 0);
}

#[test]
fn revisions_branches_and_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    let (run, v) = pull(hub.url(), &cache, &["org/tiny@v1.0"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    let v1 = v["data"]["commit_hash"].as_str().unwrap().to_owned();
    assert_eq!(
        fs::read_to_string(cache.join("models--org--tiny/refs/v1.0")).unwrap(),
        v1
    );
    assert!(!cache.join("models--org--tiny/refs/main").exists());

    // The repo is cached, main is not: fetched, sharing nothing it need not.
    let (run, v) = pull(hub.url(), &cache, &["org/tiny@main"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    let main = v["data"]["commit_hash"].as_str().unwrap().to_owned();
    assert_ne!(main, v1);

    // A commit is pulled as itself, and no ref is written for it.
    let other = tmp.path().join("other");
    let (run, v) = pull(hub.url(), &other, &[&format!("org/tiny@{v1}")], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(v["data"]["commit_hash"], v1.as_str());
    assert!(!other.join("models--org--tiny/refs").exists());

    // Unknown revision: the Hub's RevisionNotFound, nothing created.
    let fresh = tmp.path().join("fresh");
    let (run, v) = pull(hub.url(), &fresh, &["org/tiny@nope"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(v["error"]["type"], "model_not_found");
    assert_eq!(
        v["error"]["message"],
        "Revision 'nope' not found for 'org/tiny'"
    );
    assert!(!fresh.exists());
    let scan = scan_cache_dir(&cache);
    assert_eq!(scan["warnings"], Value::Array(vec![]));
    assert_eq!(scan["repos"][0]["revisions"].as_array().unwrap().len(), 2);
}

#[test]
fn refusals_leave_the_cache_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    for (spec, token, message) in [
        (
            "org/gated",
            None,
            "Access denied: gated/private model 'org/gated'. Accept terms and set HF_TOKEN.",
        ),
        (
            "org/gated",
            Some("wrong"),
            "Access denied: gated/private model 'org/gated'. Accept terms and set HF_TOKEN.",
        ),
        (
            "org/private",
            None,
            "Access denied or not found for 'org/private'.",
        ),
        (
            "org/missing",
            None,
            "Access denied or not found for 'org/missing'.",
        ),
    ] {
        let env: Vec<(&str, &str)> = token.map(|t| ("HF_TOKEN", t)).into_iter().collect();
        let (run, v) = pull(hub.url(), &cache, &[spec], &env);
        assert_eq!(run.code, 1, "{spec}");
        assert_eq!(v["error"]["type"], "access_denied", "{spec}: {v:#}");
        assert_eq!(v["error"]["message"], message);
        assert_eq!(v["data"]["download_status"], "access_denied");
        assert!(!cache.exists(), "{spec}: the cache was created");
    }
    // With the token, the same repos come down.
    for spec in ["org/gated", "org/private"] {
        let (run, v) = pull(hub.url(), &cache, &[spec], &[("HF_TOKEN", "secret-token")]);
        assert_eq!(run.code, 0, "{spec}: {v:#}");
    }
    // The token file is read too.
    let home = tmp.path().join("hf-home");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join("token"), "secret-token\n").unwrap();
    let (run, v) = pull(
        hub.url(),
        &tmp.path().join("c2"),
        &["org/private"],
        &[("HF_TOKEN_PATH", home.join("token").to_str().unwrap())],
    );
    assert_eq!(run.code, 0, "{v:#}");
}

#[test]
fn reference_cases_54_to_60() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    // 54, 55: validation, before any lookup or request.
    for (spec, msg) in [
        ("", "Invalid model name: empty"),
        (
            "org//x",
            "Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
        (
            "/org/x",
            "Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
        (
            "org/x/",
            "Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
        (
            &"a".repeat(97),
            "Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
    ] {
        let (run, v) = pull(hub.url(), &cache, &[spec], &[]);
        assert_eq!(run.code, 1);
        assert_eq!(v["error"]["type"], "ValidationError");
        assert_eq!(v["error"]["message"], msg);
        assert_eq!(v["data"]["download_status"], "error");
    }
    assert!(hub.requests().is_empty());

    // 56: cached and healthy; 58: ambiguous locally.
    pull(hub.url(), &cache, &["org/tiny"], &[]);
    pull(hub.url(), &cache, &["org/big"], &[]);
    let (run, v) = pull(hub.url(), &cache, &["org/tiny"], &[]);
    assert_eq!(
        (run.code, &v["data"]["download_status"]),
        (0, &Value::from("already_exists"))
    );
    let (run, v) = pull(hub.url(), &cache, &["org"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(v["error"]["type"], "ambiguous_match");
    assert_eq!(v["data"]["download_status"], "unknown");
    assert_eq!(
        v["error"]["matches"],
        serde_json::json!(["org/big", "org/tiny"])
    );

    // 57: cached but unhealthy: JSON asks to confirm (exit 0), human mode off a terminal
    // is an error; --force-resume repairs it.
    let snap = cache.join("models--org--tiny/snapshots");
    let commit = fs::read_dir(&snap).unwrap().next().unwrap().unwrap().path();
    fs::remove_file(commit.join("model-00002-of-00002.safetensors")).unwrap();
    let (run, v) = pull(hub.url(), &cache, &["org/tiny"], &[]);
    assert_eq!(run.code, 0);
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["download_status"], "requires_confirmation");
    assert!(
        v["data"]["message"]
            .as_str()
            .unwrap()
            .ends_with("Use --force-resume to attempt resume or 'mlxk rm' to delete.")
    );
    let human = pull_run(hub.url(), &cache, &["org/tiny"], &[], false);
    assert_eq!(human.code, 1);
    assert!(
        human.stderr_text().starts_with("pull: Error: "),
        "{}",
        human.stderr_text()
    );
    assert!(human.stdout.is_empty());
    hub.clear_log();
    let (run, v) = pull(hub.url(), &cache, &["org/tiny", "--force-resume"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(
        v["data"]["files_downloaded"], 0,
        "the blob was still there: only the link was missing"
    );
    assert_eq!(v["data"]["health"], "healthy");
    assert!(hub.file_gets("").is_empty());

    // 59: denied repos create nothing (refusals_leave_the_cache_untouched has more).
    let (_, v) = pull(hub.url(), &cache, &["org/gated"], &[]);
    assert_eq!(v["error"]["type"], "access_denied");
    assert!(!cache.join("models--org--gated").exists());

    // 60: the network is down.
    let (run, v) = pull(
        "http://127.0.0.1:9",
        &tmp.path().join("down"),
        &["org/tiny"],
        &[("MLXK_PULL_RETRIES", "2")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(v["error"]["type"], "download_failed");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Download failed: ")
    );
    assert!(
        v["data"]["preflight_warning"]
            .as_str()
            .unwrap()
            .starts_with("Preflight error: ")
    );
    assert!(!tmp.path().join("down").exists());

    // Offline mode fails at once for what is not cached, answers for what is.
    let (run, v) = pull(
        hub.url(),
        &tmp.path().join("off"),
        &["org/tiny"],
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(v["error"]["type"], "offline_mode");
    let (run, v) = pull(hub.url(), &cache, &["org/big"], &[("HF_HUB_OFFLINE", "1")]);
    assert_eq!(
        (run.code, &v["data"]["download_status"]),
        (0, &Value::from("already_exists"))
    );
}

#[test]
fn truncated_bodies_resume_with_range() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--truncate", "*.safetensors"]);
    let cache = tmp.path().join("hub");
    let (run, v) = pull(hub.url(), &cache, &["org/big"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(v["data"]["health"], "healthy");
    let gets = hub.file_gets("model.safetensors");
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert_eq!(gets[0]["range"], Value::Null);
    assert!(gets[1]["range"].as_str().unwrap().starts_with("bytes="));
    assert_eq!(deep_findings(&cache, "org/big"), Value::Array(vec![]));
}

#[test]
fn flipped_bytes_are_refused_and_nothing_is_linked() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--corrupt", "model.safetensors"]);
    let cache = tmp.path().join("hub");
    let (run, v) = pull(hub.url(), &cache, &["org/big"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(v["error"]["type"], "checksum_mismatch");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Checksum mismatch for model.safetensors: expected sha256 "),
        "{msg}"
    );
    let repo = cache.join("models--org--big");
    let blobs: Vec<String> = fs::read_dir(repo.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        blobs.len(),
        1,
        "only config.json's verified blob: {blobs:?}"
    );
    assert!(!blobs[0].contains("incomplete"));
    let commit = v["data"]["commit_hash"].as_str().unwrap();
    let snap = repo.join("snapshots").join(commit);
    assert!(
        fs::symlink_metadata(snap.join("model.safetensors")).is_err(),
        "nothing unverified is linked"
    );
    assert!(
        !repo.join("refs/main").exists(),
        "no ref names an incomplete snapshot"
    );
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
}

#[test]
fn server_errors_are_retried_and_ignored_ranges_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for status in ["503", "429"] {
        let hub = Hub::start(
            tmp.path(),
            &store,
            &["--fail-first", "1", "--fail-status", status],
        );
        let cache = tmp.path().join(format!("hub-{status}"));
        let (run, v) = pull(hub.url(), &cache, &["org/tiny"], &[]);
        assert_eq!(run.code, 0, "{status}: {v:#}");
        let gets = hub.file_gets("/config.json");
        // One failure, then the retry (the log is written as requests end, in any order).
        let mut statuses: Vec<u64> = gets.iter().map(|g| g["status"].as_u64().unwrap()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, status.parse::<u64>().unwrap()]);
    }

    // A partial download from an earlier run, and a server that ignores Range: the
    // bytes are fetched again from the start and verified.
    let hub = Hub::start(tmp.path(), &store, &["--ignore-range", "*.safetensors"]);
    let cache = tmp.path().join("hub-range");
    let big = fs::read(store.join("models/org/big/main/model.safetensors")).unwrap();
    let sha = tests::fixture::etag("model.safetensors", &big);
    let blobs = cache.join("models--org--big/blobs");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(
        blobs.join(format!("{sha}.incomplete")),
        &big[..big.len() / 3],
    )
    .unwrap();
    let (run, v) = pull(hub.url(), &cache, &["org/big", "--force-resume"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    let gets = hub.file_gets("model.safetensors");
    assert_eq!(gets.len(), 1);
    assert!(
        gets[0]["range"]
            .as_str()
            .unwrap()
            .starts_with(&format!("bytes={}-", big.len() / 3))
    );
    assert_eq!(gets[0]["status"], 200);
    assert_eq!(fs::read(blobs.join(&sha)).unwrap(), big);
    assert!(!blobs.join(format!("{sha}.incomplete")).exists());
}

#[test]
fn a_killed_pull_resumes_where_it_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--slow", "model.safetensors"]);
    let cache = tmp.path().join("hub");
    let bin = target_dir().join("release/mlxk");
    let mut child = Command::new(&bin)
        .args(["pull", "org/big", "--json", "--cache-dir"])
        .arg(&cache)
        .env("HF_ENDPOINT", hub.url())
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .env_remove("HF_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let blobs = cache.join("models--org--big/blobs");
    let partial = || -> u64 {
        fs::read_dir(&blobs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    let start = Instant::now();
    while partial() < 512 << 10 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = partial();
    assert!(kept >= 512 << 10);

    // The half-downloaded model is unhealthy: pull asks before resuming (reference §5).
    let (run, v) = pull(hub.url(), &cache, &["org/big"], &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        v["data"]["download_status"], "requires_confirmation",
        "{v:#}"
    );
    let (run, v) = pull(hub.url(), &cache, &["org/big", "--force-resume"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    // The log is written as each request ends; the killed one may come last.
    let gets = hub.file_gets("model.safetensors");
    let resumed = gets
        .iter()
        .find(|g| g["range"].is_string())
        .unwrap_or_else(|| panic!("no Range request: {gets:#?}"));
    let from: u64 = resumed["range"]
        .as_str()
        .unwrap()
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from >= 512 << 10, "resumed from {from}");
    let size = |p: &str| {
        fs::metadata(store.join("models/org/big/main").join(p))
            .unwrap()
            .len()
    };
    let received = v["data"]["bytes_downloaded"].as_u64().unwrap();
    assert!(
        received <= size("model.safetensors") - from + size("config.json"),
        "{received}"
    );
    assert_eq!(deep_findings(&cache, "org/big"), Value::Array(vec![]));
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
}

#[test]
fn concurrent_pulls_with_huggingface_hub_download_each_blob_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--slow", "*.safetensors"]);
    let cache = tmp.path().join("hub");
    let python = tests::hub::python();
    let theirs = Command::new(&python)
        .arg(tests::repo_root().join("tests/hub/hf_client.py"))
        .args([
            "download",
            "--endpoint",
            hub.url(),
            "--cache",
            cache.to_str().unwrap(),
            "org/big",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ours starts while theirs streams the large file (its temp file exists).
    let blobs = cache.join("models--org--big/blobs");
    let start = Instant::now();
    while !fs::read_dir(&blobs)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "huggingface_hub never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (run, v) = pull(hub.url(), &cache, &["org/big"], &[]);
    let out = theirs.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "huggingface_hub failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run.code, 0, "{v:#}");
    let gets: Vec<Value> = hub
        .file_gets("")
        .into_iter()
        .filter(|g| g["status"] == 200 || g["status"] == 206)
        .collect();
    for name in ["config.json", "model.safetensors"] {
        let n = gets
            .iter()
            .filter(|g| g["path"].as_str().unwrap().ends_with(name))
            .count();
        assert_eq!(n, 1, "{name} was downloaded {n} times: {gets:#?}");
    }
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
    assert_eq!(deep_findings(&cache, "org/big"), Value::Array(vec![]));
}

#[test]
fn nothing_is_written_outside_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep.txt"), b"precious").unwrap();
    // The repo's blobs/ and .locks are links out of the cache (relative and absolute).
    fs::create_dir_all(cache.join("models--org--tiny")).unwrap();
    std::os::unix::fs::symlink("../../outside", cache.join("models--org--tiny/blobs")).unwrap();
    fs::create_dir_all(cache.join(".locks")).unwrap();
    std::os::unix::fs::symlink(&outside, cache.join(".locks/models--org--tiny")).unwrap();
    let before = tree_of(&outside);
    let (run, v) = pull(hub.url(), &cache, &["org/tiny", "--force-resume"], &[]);
    assert_eq!(run.code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "pull_operation_failed");
    assert_eq!(tree_of(&outside), before, "a byte landed outside the cache");
    assert_eq!(fs::read(outside.join("keep.txt")).unwrap(), b"precious");
    // Names that would climb out never reach the network.
    for spec in [
        "../outside",
        "org/../../outside",
        "org/tiny@../../../outside",
    ] {
        let (run, v) = pull(hub.url(), &cache, &[spec], &[]);
        assert_eq!(run.code, 1);
        assert_eq!(v["error"]["type"], "ValidationError", "{spec}");
    }
    assert_eq!(tree_of(&outside), before);
}

#[test]
fn cached_answers_are_identical_on_every_runtime() {
    let fx = tests::zoo::zoo();
    let cases: Vec<Vec<&str>> = vec![
        vec!["pull", "org/sharded", "--json"],
        vec!["pull", "org/sharded"],
        vec!["pull", "Phi-3-mini-4k-instruct-4bit", "--json"],
        vec!["pull", "org/twosnaps@bbb", "--json"],
        vec!["pull", "org/sharded-missing", "--json"],
        vec!["pull", "sharded", "--json"],
        vec!["pull", "sharded"],
    ];
    let input: Vec<(Vec<String>, PathBuf)> = cases
        .iter()
        .map(|c| {
            (
                c.iter().map(|s| (*s).to_owned()).collect(),
                fx.path().to_path_buf(),
            )
        })
        .collect();
    let node = tests::node_batch(&input);
    for (case, node) in cases.iter().zip(node) {
        let cli = tests::cli(case, Some(fx.path()));
        assert_eq!(
            (cli.code, cli.stdout_text()),
            (node.code, node.stdout_text()),
            "{case:?}"
        );
        let lib = tests::native(case, fx.path());
        assert_eq!(
            (lib.code, lib.stdout_text()),
            (cli.code, cli.stdout_text()),
            "{case:?}"
        );
        if case.contains(&"--json") {
            assert_valid(&cli.json());
        }
    }
    let (_, v) = tests::cli_json(&["pull", "Phi-3-mini-4k-instruct-4bit"], fx.path());
    assert_eq!(
        v["data"]["expanded_name"],
        "mlx-community/Phi-3-mini-4k-instruct-4bit"
    );
    let (_, v) = tests::cli_json(&["pull", "org/sharded-missing"], fx.path());
    assert_eq!(v["data"]["download_status"], "requires_confirmation");
}

#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--slow", "model.safetensors"]);
    let cache = tmp.path().join("hub");
    let mlxk = target_dir().join("release/mlxk");
    let command = format!(
        "HF_ENDPOINT={} MLXK_MODULE_CACHE={} {} pull org/big --cache-dir {}",
        hub.url(),
        target_dir().join("test-module-cache").display(),
        mlxk.display(),
        cache.display()
    );
    // `script` gives the command a pseudo-terminal and records everything it draws.
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("HF_TOKEN")
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("org/big (2 files)"), "no overall bar: {text}");
    assert!(
        text.contains("model.safetensors"),
        "no bar for the large file: {text}"
    );
    assert!(
        text.contains("pull: org/big \u{2014} Downloaded to "),
        "{text}"
    );

    // Off a terminal: the result line only, nothing on stderr.
    let other = tmp.path().join("other");
    let run = pull_run(hub.url(), &other, &["org/big"], &[], false);
    assert_eq!(run.code, 0);
    assert!(run.stderr.is_empty(), "{}", run.stderr_text());
    assert!(
        run.stdout_text()
            .starts_with("pull: org/big \u{2014} Downloaded to ")
    );
}

#[test]
fn blobs_in_the_shared_xet_store_are_used_not_fetched_again() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("hub");
    hf_download(&hub, &cache, &["org/big"]);
    // What hf_xet leaves: the payload in the cache-wide store, the repo blob a link to it.
    let big = fs::read(store.join("models/org/big/main/model.safetensors")).unwrap();
    let sha = tests::fixture::etag("model.safetensors", &big);
    let xet = "ab".repeat(32);
    let shared = cache.join("blobs/ab");
    fs::create_dir_all(&shared).unwrap();
    fs::write(cache.join("blobs/.huggingface-shared-blobs"), "1\n").unwrap();
    let repo_blob = cache.join("models--org--big/blobs").join(&sha);
    fs::rename(&repo_blob, shared.join(&xet)).unwrap();
    fs::write(
        shared.join(format!("{xet}.refs")),
        format!("models--org--big/blobs/{sha}\n"),
    )
    .unwrap();
    std::os::unix::fs::symlink(format!("../../blobs/ab/{xet}"), &repo_blob).unwrap();
    hub.clear_log();

    let (run, v) = pull(hub.url(), &cache, &["org/big", "--force-resume"], &[]);
    assert_eq!(run.code, 0, "{v:#}");
    assert_eq!(v["data"]["files_downloaded"], 0);
    assert!(hub.file_gets("").is_empty());
    assert!(
        fs::symlink_metadata(&repo_blob).unwrap().is_symlink(),
        "the link into the shared store stays"
    );
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
}
