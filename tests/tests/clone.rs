//! `mlxk clone` against the project's test Hub on 127.0.0.1 (workspaces-reference §2):
//! a fresh clone, a clone of a revision the cache already holds (no request for a file),
//! `@rev` and `--branch`, an interrupted clone resumed by the next run, bytes that do not
//! hash to their names refused, every target check of §2.7, the temporary cache's resume
//! rules, `MLXK_WORKSPACE_HOME`, and nothing written outside the target and its
//! temporary folder.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tests::hub::FakeHub;
use tests::runners::cli_in;
use tests::schema::assert_valid;
use tests::{Run, safetensors};

fn put(store: &Path, repo: &str, branch: &str, path: &str, bytes: &[u8]) {
    let full = store.join("models").join(repo).join(branch).join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, bytes).unwrap();
}

/// A healthy chat model with two branches and a nested file, a GGUF-only repo, a gated one.
fn store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let tiny = "org/tiny";
    put(
        &store,
        tiny,
        "main",
        "config.json",
        br#"{"model_type":"llama","quantization":{"bits":4,"group_size":64}}"#,
    );
    put(
        &store,
        tiny,
        "main",
        "model.safetensors",
        &safetensors(4096),
    );
    put(&store, tiny, "main", "tokenizer.json", br#"{"model":{}}"#);
    put(
        &store,
        tiny,
        "main",
        "tokenizer_config.json",
        br#"{"chat_template":"{{ m }}"}"#,
    );
    put(&store, tiny, "main", "sub/notes.txt", b"nested");
    put(
        &store,
        tiny,
        "v1.0",
        "config.json",
        br#"{"model_type":"llama","v":1}"#,
    );
    put(&store, tiny, "v1.0", "model.safetensors", &safetensors(16));
    put(&store, tiny, "v1.0", "tokenizer.json", br#"{"model":{}}"#);
    put(
        &store,
        "org/gguf",
        "main",
        "tiny.gguf",
        b"GGUF\x03\x00\x00\x00",
    );
    put(
        &store,
        "org/gated",
        "main",
        "config.json",
        br#"{"model_type":"llama"}"#,
    );
    put(
        &store,
        "org/gated",
        "main",
        "model.safetensors",
        &safetensors(8),
    );
    fs::write(store.join("models/org/gated/gated"), "manual").unwrap();
    store
}

/// One test's world: a Hub with a request log, a cache, a folder to clone into.
struct World {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: PathBuf,
    hub: FakeHub,
    log: PathBuf,
    cache: PathBuf,
    work: PathBuf,
}

impl World {
    fn new(flags: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let store = store(&root);
        let log = root.join("requests.jsonl");
        let mut all = vec!["--log", log.to_str().unwrap(), "--token", "secret-token"];
        all.extend_from_slice(flags);
        let hub = FakeHub::start(&store, &all);
        let cache = root.join("hf/hub");
        fs::create_dir_all(&cache).unwrap();
        let work = root.join("work");
        fs::create_dir_all(&work).unwrap();
        Self {
            _tmp: tmp,
            root,
            store,
            hub,
            log,
            cache,
            work,
        }
    }

    /// Restarts the Hub on the same store with other flags (same log).
    fn restart(&mut self, flags: &[&str]) {
        let mut all = vec![
            "--log",
            self.log.to_str().unwrap(),
            "--token",
            "secret-token",
        ];
        all.extend_from_slice(flags);
        self.hub = FakeHub::start(&self.store, &all);
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Run {
        let url = PathBuf::from(&self.hub.url);
        let mut all_env = vec![("HF_ENDPOINT", url.as_path())];
        all_env.extend_from_slice(env);
        cli_in(Some(&self.work), "mlxk", args, Some(&self.cache), &all_env)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// `clone <args> --json`: the envelope, validated against the schema.
    fn clone_json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["clone"];
        all.extend_from_slice(args);
        all.push("--json");
        let run = self.run(&all);
        let v = run.json();
        assert_valid(&v);
        (run.code, v)
    }

    fn requests(&self) -> Vec<Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn file_gets(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r["method"] == "GET" && r["path"].as_str().unwrap_or_default().contains("/resolve/")
            })
            .collect()
    }

    fn clear_log(&self) {
        fs::write(&self.log, "").unwrap();
    }
}

/// Every path under `dir`, relative, sorted (links are listed, not followed).
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn sentinel(ws: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(ws.join(".mlxk_workspace.json")).unwrap()).unwrap()
}

/// The clone of `org/tiny` at `commit`, compared with the Hub's bytes.
fn assert_is_tiny(ws: &Path, store: &Path, branch: &str) {
    let src = store.join("models/org/tiny").join(branch);
    let mut want: BTreeSet<String> = tree(&src);
    want.insert(".mlxk_workspace.json".into());
    assert_eq!(tree(ws), want);
    for f in tree(&src) {
        let p = src.join(&f);
        if p.is_file() {
            assert_eq!(fs::read(ws.join(&f)).unwrap(), fs::read(&p).unwrap(), "{f}");
            let meta = fs::symlink_metadata(ws.join(&f)).unwrap();
            assert!(meta.file_type().is_file(), "{f} is a regular file");
            assert_eq!(
                std::os::unix::fs::MetadataExt::nlink(&meta),
                1,
                "{f}: no hard link"
            );
        }
    }
}

fn commit_of(cache: &Path, reference: &str) -> String {
    fs::read_to_string(cache.join("models--org--tiny/refs").join(reference))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_fresh_clone_is_a_clean_pinned_workspace_and_leaves_nothing_behind() {
    let w = World::new(&[]);
    let (code, v) = w.clone_json(&["org/tiny", "./a"]);
    assert_eq!(code, 0, "{v:#}");
    let ws = w.work.join("a");
    assert_eq!(
        v["data"],
        serde_json::json!({
            "model": "org/tiny",
            "clone_status": "success",
            "message": "Cloned to ./a",
            "target_dir": ws.to_str().unwrap(),
            "health_check": true,
            "health": "healthy",
            "health_reason": "Model is healthy",
        })
    );
    assert_is_tiny(&ws, &w.store, "main");
    // Nothing but the workspace is left in its parent, and the user's cache is untouched.
    assert_eq!(tree(&w.work).iter().filter(|p| !p.contains('/')).count(), 1);
    assert_eq!(tree(&w.cache), BTreeSet::new());

    let s = sentinel(&ws);
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "mlxk_version",
            "created_at",
            "source_repo",
            "source_revision",
            "managed",
            "operation",
            "hash_modified",
            "hash_algorithm",
            "content_hash",
            "exclude_patterns",
            "file_index"
        ]
    );
    assert_eq!(s["source_repo"], "org/tiny");
    assert_eq!(s["operation"], "clone");
    let commit = s["source_revision"].as_str().unwrap();
    assert_eq!(commit.len(), 40, "the commit is recorded: {commit}");
    // `sub/notes.txt` is in the index: subfolders are part of the hash.
    let paths: Vec<&str> = s["file_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"sub/notes.txt"), "{paths:?}");

    // The workspace reads clean, with the pinned hash, through an explicit path.
    let show = w.run(&["show", "./a", "--json"]).json();
    assert_eq!(show["data"]["model"]["clean"], true, "{show:#}");
    assert_eq!(show["data"]["model"]["content_hash"], s["content_hash"]);
    assert_eq!(show["data"]["model"]["origin"], "org/tiny");

    // Human form, and --quiet.
    let run = w.run(&["clone", "org/tiny", "./b"]);
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    assert_eq!(
        run.stdout_text(),
        format!(
            "clone: org/tiny \u{2192} {} (\u{2713} healthy)\n",
            w.work.join("b").display()
        )
    );
    let run = w.run(&["clone", "org/tiny", "./c", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    assert_eq!(
        run.stdout_text(),
        format!("clone: org/tiny \u{2192} {}\n", w.work.join("c").display())
    );
}

#[test]
fn a_revision_already_cached_and_healthy_is_copied_without_a_request() {
    let w = World::new(&[]);
    let run = w.run(&["pull", "org/tiny", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    let before = tree(&w.cache);
    w.clear_log();
    let (code, v) = w.clone_json(&["org/tiny", "./a"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(w.requests(), Vec::<Value>::new(), "not one request");
    let ws = w.work.join("a");
    assert_is_tiny(&ws, &w.store, "main");
    assert_eq!(
        sentinel(&ws)["source_revision"],
        commit_of(&w.cache, "main")
    );
    assert_eq!(tree(&w.cache), before, "the cache is as it was");

    // Editing the workspace cannot change the cache: the files are copies.
    fs::write(ws.join("config.json"), "{}").unwrap();
    let deep = w.run(&["health", "org/tiny", "--deep", "--json"]).json();
    assert_eq!(deep["data"]["deep"]["corrupt"], 0, "{deep:#}");
    // The copies keep the blobs' mtimes (2.0.8's copy2).
    let blob = fs::canonicalize(
        w.cache
            .join("models--org--tiny/snapshots")
            .join(commit_of(&w.cache, "main"))
            .join("model.safetensors"),
    )
    .unwrap();
    assert_eq!(
        fs::metadata(ws.join("model.safetensors"))
            .unwrap()
            .modified()
            .unwrap(),
        fs::metadata(blob).unwrap().modified().unwrap()
    );
}

#[test]
fn rev_and_branch_clone_that_revision_and_record_its_commit() {
    let w = World::new(&[]);
    let (code, v) = w.clone_json(&["org/tiny@v1.0", "./at"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["data"]["model"], "org/tiny@v1.0");
    assert_is_tiny(&w.work.join("at"), &w.store, "v1.0");
    let (code, v) = w.clone_json(&["org/tiny", "./br", "--branch", "v1.0"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["data"]["model"], "org/tiny@v1.0");
    assert_is_tiny(&w.work.join("br"), &w.store, "v1.0");
    let a = sentinel(&w.work.join("at"));
    assert_eq!(
        a["source_revision"],
        sentinel(&w.work.join("br"))["source_revision"]
    );
    // A commit from the cache is honoured too, and differs from main's.
    w.run(&["pull", "org/tiny@v1.0"]);
    w.run(&["pull", "org/tiny"]);
    let v1 = commit_of(&w.cache, "v1.0");
    assert_eq!(a["source_revision"], v1.as_str());
    w.clear_log();
    let spec = format!("org/tiny@{v1}");
    let (code, v) = w.clone_json(&[&spec, "./commit"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(w.requests().len(), 0, "the cached commit is copied");
    assert_is_tiny(&w.work.join("commit"), &w.store, "v1.0");
    // A revision the Hub does not have.
    let (code, v) = w.clone_json(&["org/tiny@nope", "./nope"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "PullFailedError");
    assert_eq!(v["data"]["clone_status"], "pull_failed");
    assert!(!w.work.join("nope").exists());
}

#[test]
fn an_interrupted_clone_resumes_with_range_on_the_next_run() {
    let mut w = World::new(&["--truncate", "*.safetensors"]);
    let retries = PathBuf::from("1");
    let run = w.run_env(
        &["clone", "org/tiny", "./a", "--json"],
        &[("MLXK_PULL_RETRIES", &retries)],
    );
    assert_eq!(run.code, 1, "{}", run.stdout_text());
    let v = run.json();
    assert_eq!(v["error"]["type"], "PullFailedError");
    assert!(
        run.stderr_text().contains("Partial download kept at"),
        "{}",
        run.stderr_text()
    );
    assert!(
        !w.work.join("a").exists(),
        "no target for a failed download"
    );
    let temps: Vec<String> = tree(&w.work)
        .into_iter()
        .filter(|p| !p.contains('/'))
        .collect();
    assert_eq!(temps.len(), 1, "{temps:?}");
    assert!(temps[0].starts_with(".mlxk2_temp_"), "{temps:?}");

    w.restart(&[]);
    w.clear_log();
    let (code, v) = w.clone_json(&["org/tiny", "./a"]);
    assert_eq!(code, 0, "{v:#}");
    let gets: Vec<Value> = w
        .file_gets()
        .into_iter()
        .filter(|g| g["path"].as_str().unwrap().ends_with("model.safetensors"))
        .collect();
    assert_eq!(gets.len(), 1, "{gets:#?}");
    assert!(
        gets[0]["range"]
            .as_str()
            .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-"),
        "resumed where it stopped: {gets:#?}"
    );
    assert_is_tiny(&w.work.join("a"), &w.store, "main");
    assert_eq!(
        tree(&w.work).iter().filter(|p| !p.contains('/')).count(),
        1,
        "temp removed"
    );
}

#[test]
fn bytes_that_do_not_hash_to_their_names_are_never_cloned() {
    // From the Hub: the transfer refuses them.
    let w = World::new(&["--corrupt", "model.safetensors"]);
    let (code, v) = w.clone_json(&["org/tiny", "./a"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "PullFailedError");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Checksum mismatch for model.safetensors"),
        "{v:#}"
    );
    assert!(!w.work.join("a").exists());

    // From the cache: a blob flipped after the pull (health alone cannot see it).
    let w = World::new(&[]);
    assert_eq!(w.run(&["pull", "org/tiny"]).code, 0);
    let snap = w
        .cache
        .join("models--org--tiny/snapshots")
        .join(commit_of(&w.cache, "main"));
    let blob = fs::canonicalize(snap.join("model.safetensors")).unwrap();
    let mut bytes = fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&blob, bytes).unwrap();
    w.clear_log();
    let (code, v) = w.clone_json(&["org/tiny", "./b"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["type"], "checksum_mismatch");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("model.safetensors of org/tiny in the cache is corrupt"),
        "{msg}"
    );
    assert!(!w.work.join("b").exists(), "the empty target is removed");
    assert_eq!(w.requests().len(), 0);
}

#[test]
fn a_cached_revision_that_links_out_of_the_cache_is_downloaded_instead() {
    let w = World::new(&[]);
    assert_eq!(w.run(&["pull", "org/tiny"]).code, 0);
    let secret = w.root.join("secret.txt");
    fs::write(&secret, "TOP-SECRET-BYTES").unwrap();
    let snap = w
        .cache
        .join("models--org--tiny/snapshots")
        .join(commit_of(&w.cache, "main"));
    fs::remove_file(snap.join("tokenizer.json")).unwrap();
    std::os::unix::fs::symlink(&secret, snap.join("tokenizer.json")).unwrap();
    let (code, v) = w.clone_json(&["org/tiny", "./a"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(!w.file_gets().is_empty(), "the Hub's copy was fetched");
    assert_is_tiny(&w.work.join("a"), &w.store, "main");
    for f in tree(&w.work.join("a")) {
        let p = w.work.join("a").join(f);
        if p.is_file() {
            let text = fs::read(&p).unwrap();
            assert!(
                !text.windows(10).any(|x| x == b"TOP-SECRET"),
                "{}",
                p.display()
            );
        }
    }
}

#[test]
fn targets_are_checked_as_2_0_8_checks_them() {
    let w = World::new(&[]);
    fs::create_dir_all(w.work.join("full")).unwrap();
    fs::write(w.work.join("full/x"), "keep").unwrap();
    fs::write(w.work.join("afile"), "keep").unwrap();
    let cases = [
        (
            "./full",
            "Target directory './full' is not empty".to_owned(),
        ),
        (
            "./afile",
            "Target './afile' exists but is not a directory".to_owned(),
        ),
        (
            "./nope/deeper/x",
            format!(
                "Parent directory does not exist: {}",
                w.work.join("nope/deeper").display()
            ),
        ),
        (
            "~/foo",
            format!(
                "Parent directory does not exist: {}",
                w.work.join("~").display()
            ),
        ),
    ];
    for (target, message) in cases {
        let (code, v) = w.clone_json(&["org/tiny", target]);
        assert_eq!(code, 1, "{target}: {v:#}");
        assert_eq!(v["error"]["type"], "InvalidTargetError", "{target}");
        assert_eq!(v["error"]["message"], message.as_str(), "{target}");
        assert_eq!(v["data"]["clone_status"], "error");
    }
    assert_eq!(
        w.requests().len(),
        0,
        "no request before the target is fine"
    );
    assert_eq!(fs::read_to_string(w.work.join("full/x")).unwrap(), "keep");
    assert_eq!(fs::read_to_string(w.work.join("afile")).unwrap(), "keep");

    // Human: `clone: Error: …` on stderr, exit 1.
    let run = w.run(&["clone", "org/tiny", "./full"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr_text(),
        "clone: Error: Target directory './full' is not empty\n"
    );

    // An existing empty folder is fine; so is `.` in an empty working directory.
    fs::create_dir_all(w.work.join("empty")).unwrap();
    assert_eq!(w.clone_json(&["org/tiny", "./empty"]).0, 0);
    assert_is_tiny(&w.work.join("empty"), &w.store, "main");
    let here = w.work.join("here");
    fs::create_dir_all(&here).unwrap();
    let url = PathBuf::from(&w.hub.url);
    let run = cli_in(
        Some(&here),
        "mlxk",
        &["clone", "org/tiny", ".", "--json"],
        Some(&w.cache),
        &[("HF_ENDPOINT", &url)],
    );
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(run.json()["data"]["message"], "Cloned to .");
    assert_is_tiny(&here, &w.store, "main");
}

#[test]
fn names_go_to_the_hub_verbatim_and_bad_ones_never_leave_the_machine() {
    let w = World::new(&[]);
    let long = format!("org/{}", "x".repeat(93));
    for (name, message) in [
        ("", "Pull operation failed: Invalid model name: empty"),
        (
            "org//x",
            "Pull operation failed: Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
        (
            long.as_str(),
            "Pull operation failed: Invalid model name: must be <= 96 chars and not contain leading/trailing or double slashes",
        ),
    ] {
        let (code, v) = w.clone_json(&[name, "./x"]);
        assert_eq!(code, 1, "{name}");
        assert_eq!(v["error"]["type"], "PullFailedError", "{name}");
        assert_eq!(v["error"]["message"], message, "{name}");
        assert_eq!(v["data"]["clone_status"], "pull_failed");
    }
    assert_eq!(w.requests().len(), 0);
    // No mlx-community expansion, no fuzzy match, even with the model cached.
    assert_eq!(w.run(&["pull", "org/tiny"]).code, 0);
    let (code, v) = w.clone_json(&["tiny", "./y"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["error"]["message"],
        "Pull operation failed: Access denied or not found for 'tiny'."
    );
    // Unknown and gated repos: refused, and nothing is left behind.
    let (_, v) = w.clone_json(&["org/does-not-exist", "./z"]);
    assert_eq!(
        v["error"]["message"],
        "Pull operation failed: Access denied or not found for 'org/does-not-exist'."
    );
    let (_, v) = w.clone_json(&["org/gated", "./g"]);
    assert_eq!(v["error"]["type"], "PullFailedError");
    let left: Vec<String> = tree(&w.work)
        .into_iter()
        .filter(|p| !p.contains('/'))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "no target, no temporary cache");
    // With the token, the gated repo clones.
    let token = PathBuf::from("secret-token");
    let run = w.run_env(
        &["clone", "org/gated", "./g", "--json"],
        &[("HF_TOKEN", &token)],
    );
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    // Offline, an uncached model fails at once.
    let one = PathBuf::from("1");
    let run = w.run_env(
        &["clone", "org/gguf", "./o", "--json"],
        &[("HF_HUB_OFFLINE", &one)],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["type"], "PullFailedError");
}

#[test]
fn an_unhealthy_model_is_still_cloned_and_says_so() {
    let w = World::new(&[]);
    let (code, v) = w.clone_json(&["org/gguf", "./gg"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["data"]["health"], "unhealthy");
    assert_eq!(v["data"]["health_reason"], "config.json missing");
    let run = w.run(&["clone", "org/gguf", "./gg2"]);
    assert_eq!(
        run.stdout_text(),
        format!(
            "clone: org/gguf \u{2192} {} (\u{26a0} unhealthy: config.json missing)\n",
            w.work.join("gg2").display()
        )
    );
    // No config.json: no hash, and the folder is not a workspace.
    let s = sentinel(&w.work.join("gg"));
    assert!(s.get("content_hash").is_none(), "{s:#}");
    assert!(
        run.stderr_text().contains("Cannot compute v2 hash for"),
        "{}",
        run.stderr_text()
    );
    let list = w.run(&["list", "./gg", "--json"]).json();
    assert_eq!(list["data"]["count"], 0);
    let (code, v) = w.clone_json(&["org/gguf", "./gg3", "--no-health-check"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["health_check"], false);
    assert!(v["data"].get("health").is_none());
}

#[test]
fn a_temporary_cache_left_by_an_earlier_run_is_reused_or_replaced() {
    let w = World::new(&[]);
    // A complete, healthy temporary cache (as a run that stopped after the download
    // leaves it): the next run copies from it without a request.
    assert_eq!(w.run(&["pull", "org/tiny"]).code, 0);
    let target = w.work.join("a");
    let temp = w.work.join(core_wasm::workspace::clone::temp_name(
        "org/tiny",
        target.to_str().unwrap(),
    ));
    let seed = |temp: &Path| {
        let _ = fs::remove_dir_all(temp);
        fs::create_dir_all(temp).unwrap();
        tests::fixture::copy_tree(&w.cache.join("models--org--tiny"), temp);
        fs::write(
            temp.join(".mlxk2_temp_cache_sentinel"),
            "mlxk2_temp_cache_created_1\n",
        )
        .unwrap();
        fs::write(temp.join(".mlxk2_download_complete"), "completed_1\n").unwrap();
    };
    seed(&temp);
    // Another cache, so the user's cache cannot be the source.
    let empty = w.root.join("empty-cache");
    fs::create_dir_all(&empty).unwrap();
    let url = PathBuf::from(&w.hub.url);
    let clone = |target: &str, extra: &[&str]| {
        let mut args = vec!["clone", "org/tiny", target, "--json"];
        args.extend_from_slice(extra);
        cli_in(
            Some(&w.work),
            "mlxk",
            &args,
            Some(&empty),
            &[("HF_ENDPOINT", &url)],
        )
    };
    w.clear_log();
    let run = clone("./a", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(w.requests().len(), 0);
    assert!(!temp.exists(), "removed after success");
    assert_is_tiny(&target, &w.store, "main");

    // Complete but unhealthy: deleted and downloaded again, or used with --force-resume.
    let target = w.work.join("b");
    let temp = w.work.join(core_wasm::workspace::clone::temp_name(
        "org/tiny",
        target.to_str().unwrap(),
    ));
    seed(&temp);
    let snap = temp
        .join("models--org--tiny/snapshots")
        .join(commit_of(&w.cache, "main"));
    fs::remove_file(snap.join("config.json")).unwrap();
    w.clear_log();
    let run = clone("./b", &["--force-resume"]);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(
        run.stderr_text().lines().next().unwrap(),
        "Force resuming unhealthy download: Complete but unhealthy: config.json missing"
    );
    assert_eq!(w.requests().len(), 0);
    assert!(!target.join("config.json").exists());

    let target = w.work.join("c");
    let temp = w.work.join(core_wasm::workspace::clone::temp_name(
        "org/tiny",
        target.to_str().unwrap(),
    ));
    seed(&temp);
    let snap = temp
        .join("models--org--tiny/snapshots")
        .join(commit_of(&w.cache, "main"));
    fs::remove_file(snap.join("config.json")).unwrap();
    let run = clone("./c", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(
        run.stderr_text().lines().next().unwrap(),
        "Deleting unhealthy temp cache: Complete but unhealthy: config.json missing"
    );
    assert_is_tiny(&target, &w.store, "main");
    assert!(!temp.exists());
}

#[test]
fn the_workspace_home_takes_bare_names() {
    let w = World::new(&[]);
    let home = w.root.join("home");
    fs::create_dir_all(&home).unwrap();
    let env = [("MLXK_WORKSPACE_HOME", home.as_path())];
    // No target, no home: plain text, exit 1.
    let run = w.run(&["clone", "org/tiny"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr_text(),
        "Error: Target directory required.\nHint: Set MLXK_WORKSPACE_HOME or specify target:\n  mlxk clone org/tiny ./my-model\n"
    );
    // No target: `<home>/<name>`; again: already exists.
    let run = w.run_env(&["clone", "org/tiny", "--json"], &env);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    let v = run.json();
    let ws = home.join("tiny");
    assert_eq!(v["data"]["target_dir"], ws.to_str().unwrap());
    assert_eq!(v["data"]["message"], format!("Cloned to {}", ws.display()));
    assert_is_tiny(&ws, &w.store, "main");
    let run = w.run_env(&["clone", "org/tiny", "--json"], &env);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.json()["error"]["message"],
        format!("tiny already exists in {}", home.display())
    );
    // A bare target goes into the home; one with a slash stays relative.
    let run = w.run_env(&["clone", "org/tiny", "bare", "--json"], &env);
    assert_eq!(
        run.json()["data"]["target_dir"],
        home.join("bare").to_str().unwrap()
    );
    fs::create_dir_all(w.work.join("sub")).unwrap();
    let run = w.run_env(&["clone", "org/tiny", "sub/x", "--json"], &env);
    assert_eq!(
        run.json()["data"]["target_dir"],
        w.work.join("sub/x").to_str().unwrap()
    );
    // A home that is not a folder.
    let file = w.root.join("home-file");
    fs::write(&file, "").unwrap();
    let run = w.run_env(&["clone", "org/tiny"], &[("MLXK_WORKSPACE_HOME", &file)]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr_text(),
        format!(
            "Error: MLXK_WORKSPACE_HOME is not a directory: {}\n",
            file.display()
        )
    );
}
