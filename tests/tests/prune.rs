//! `mlxk prune` on real caches: detached revisions made by moving `main` on the test Hub
//! and re-downloading with huggingface_hub, interrupted downloads, stale locks and orphan
//! blobs. Its counts agree with `hf cache prune --dry-run` where both look; afterwards
//! huggingface_hub scans the cache without a warning and the deep audit finds nothing
//! stale. Running downloads are left alone, a kill half-way is finished by a rerun, and the
//! CLI and the npm package prune identical copies identically.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::fixture::{now_secs, set_tree_mtime};
use tests::hub::{hf_client, python, scan_cache_dir};
use tests::locks::LockHolder;
use tests::pullstore::{Hub, deep_findings, hf_download, noise, put, store, tree_of};
use tests::{CacheFixture, cli, cli_json, node_batch, safetensors, target_dir, zoo};

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
/// An etag of a download that never finished (a sha256, as an LFS file's).
const PARTIAL: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn prune(cache: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["prune"];
    all.extend_from_slice(args);
    let (code, env) = cli_json(&all, cache);
    tests::schema::assert_valid(&env);
    (code, env)
}

/// `hf cache prune --dry-run --json`: its counts, or zeros when it finds nothing.
fn hf_prune_dry_run(cache: &Path) -> (u64, u64) {
    let out = Command::new(python().with_file_name("hf"))
        .args(["cache", "prune", "--dry-run", "--json", "--cache-dir"])
        .arg(cache)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    match stdout.lines().find(|l| l.trim_start().starts_with('{')) {
        Some(line) => {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["dry_run"], true, "{v}");
            (
                v["revisions"].as_u64().unwrap(),
                v["incomplete"].as_u64().unwrap(),
            )
        }
        // With `--json` and nothing to prune it prints nothing.
        None => {
            assert_eq!(stdout.trim(), "", "{stdout}");
            (0, 0)
        }
    }
}

/// The commits `scan_cache_dir` sees no ref naming.
fn detached_in_scan(cache: &Path) -> Vec<String> {
    let scan = scan_cache_dir(cache);
    let mut out: Vec<String> = scan["repos"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["revisions"].as_array().unwrap().clone())
        .filter(|rev| rev["refs"] == json!([]))
        .map(|rev| rev["commit_hash"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn removed_of(env: &Value, kind: &str) -> Vec<Value> {
    env["data"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .cloned()
        .collect()
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    fs::read_dir(dir).map_or(0, |it| {
        it.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .count()
    })
}

/// A cache huggingface_hub wrote: two repos whose `main` moved (a detached revision each),
/// an interrupted download, an orphan blob and the lock folder of a repo deleted by hand;
/// everything an hour old.
fn garbage_cache(tmp: &Path) -> (std::path::PathBuf, Hub) {
    let store = store(tmp);
    let hub = Hub::start(tmp, &store, &[]);
    let cache = tmp.join("cache");
    hf_download(&hub, &cache, &["org/tiny", "org/big"]);
    put(
        &store,
        "org/tiny",
        "main",
        "tokenizer.json",
        br#"{"version":"2.0"}"#,
    );
    put(
        &store,
        "org/big",
        "main",
        "config.json",
        br#"{"model_type":"llama","v":2}"#,
    );
    hf_download(&hub, &cache, &["org/tiny", "org/big"]);

    let tiny = cache.join("models--org--tiny");
    fs::write(
        tiny.join(format!("blobs/{PARTIAL}.incomplete")),
        noise(5000, 3),
    )
    .unwrap();
    fs::write(
        cache.join(format!(".locks/models--org--tiny/{PARTIAL}.lock")),
        "",
    )
    .unwrap();
    let orphan = tests::fixture::etag("x.safetensors", &safetensors(7));
    fs::write(tiny.join("blobs").join(&orphan), safetensors(7)).unwrap();
    fs::create_dir_all(cache.join(".locks/models--org--gone")).unwrap();
    fs::write(cache.join(".locks/models--org--gone/abc.lock"), "").unwrap();
    set_tree_mtime(&cache, now_secs() - 3600);
    (cache, hub)
}

#[test]
fn prune_agrees_with_huggingface_hub_and_leaves_a_cache_it_reads_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (cache, _hub) = garbage_cache(tmp.path());
    let detached = detached_in_scan(&cache);
    assert_eq!(detached.len(), 2, "one per repo whose main moved");
    assert_eq!(hf_prune_dry_run(&cache), (2, 1));

    let locks: usize = ["models--org--tiny", "models--org--big", "models--org--gone"]
        .iter()
        .map(|f| count_files(&cache.join(".locks").join(f), ".lock"))
        .sum();
    let before = tree_of(&cache);
    let (code, dry) = prune(&cache, &["--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(tree_of(&cache), before, "a dry run changes nothing");
    let data = &dry["data"];
    assert_eq!(data["action"], "would_prune");
    assert_eq!(data["kept"], json!([]), "{dry:#}");
    let mut commits: Vec<String> = removed_of(&dry, "revision")
        .iter()
        .map(|i| i["commit_hash"].as_str().unwrap().to_owned())
        .collect();
    commits.sort();
    assert_eq!(
        commits, detached,
        "the revisions huggingface_hub calls detached"
    );
    assert_eq!(
        removed_of(&dry, "incomplete_download")[0]["path"],
        format!("models--org--tiny/blobs/{PARTIAL}.incomplete")
    );
    let summary = &data["summary"];
    assert_eq!(summary["revisions"], 2);
    assert_eq!(summary["incomplete_downloads"], 1);
    assert_eq!(summary["orphan_blobs"], 1);
    // Every lock of the live repos (huggingface_hub never deletes its own), the folder of
    // the gone one.
    assert_eq!(summary["stale_locks"], locks - 1, "{dry:#}");
    assert_eq!(summary["lock_folders"], 1);
    let bytes: u64 = data["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(summary["freed_bytes"], bytes);
    // The big blob is shared by both revisions of org/big: its old revision frees only
    // its config, never 3 MiB.
    let big_rev = removed_of(&dry, "revision")
        .into_iter()
        .find(|i| i["model"] == "org/big")
        .unwrap();
    assert!(big_rev["bytes"].as_u64().unwrap() < 1000, "{big_rev}");

    let (code, done) = prune(&cache, &[]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(done["data"]["action"], "pruned");
    assert_eq!(
        done["data"]["removed"], data["removed"],
        "the dry run said it"
    );
    assert_eq!(done["data"]["summary"], data["summary"]);

    let scan = scan_cache_dir(&cache);
    assert_eq!(scan["warnings"], json!([]), "{scan:#}");
    assert_eq!(scan["incomplete_files"], json!([]));
    assert_eq!(detached_in_scan(&cache), Vec::<String>::new());
    assert_eq!(hf_prune_dry_run(&cache), (0, 0));
    for model in ["org/tiny", "org/big"] {
        let findings = deep_findings(&cache, model);
        let stale: Vec<&Value> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "stale")
            .collect();
        assert!(stale.is_empty(), "{model}: {findings:#}");
        hf_client(&["offline-check", "--cache", cache.to_str().unwrap(), model]);
    }
    assert!(!cache.join(".locks/models--org--gone").exists());

    let (code, again) = prune(&cache, &[]);
    assert_eq!(code, 0);
    assert_eq!(again["data"]["action"], "nothing_to_prune", "{again:#}");
    assert_eq!(again["data"]["removed"], json!([]));
}

#[test]
fn a_running_download_keeps_its_partial_and_its_repo() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/busy");
    repo.snapshot(A).file("config.json", zoo::cfg("llama"));
    repo.snapshot(B)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(50));
    repo.git_ref("main", B);
    repo.raw_blob(&format!("{PARTIAL}.incomplete"), &noise(100, 1))
        .lock(&format!("{PARTIAL}.lock"));
    // A partial written a moment ago by a writer that takes no lock.
    let fresh = "2222222222222222222222222222222222222222222222222222222222222222";
    fx.freeze_mtimes();
    repo.raw_blob(&format!("{fresh}.incomplete"), &noise(100, 2));

    let lock = repo
        .path()
        .parent()
        .unwrap()
        .join(format!(".locks/{}/{PARTIAL}.lock", repo.folder()));
    let holder = LockHolder::hold(&lock);
    let before = tree_of(fx.path());
    let (code, env) = prune(fx.path(), &[]);
    assert_eq!(code, 0, "{env:#}");
    assert_eq!(
        tree_of(fx.path()),
        before,
        "nothing of a running download goes"
    );
    let kept: Vec<(String, String)> = env["data"]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_owned(),
                k["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kept.contains(&("incomplete_download".into(), "held_lock".into())),
        "{env:#}"
    );
    assert!(
        kept.contains(&("incomplete_download".into(), "recently_written".into())),
        "{env:#}"
    );
    assert!(
        kept.contains(&("revision".into(), "held_lock".into())),
        "{env:#}"
    );
    assert_eq!(env["data"]["action"], "nothing_to_prune");

    // The download died: its partial, its lock and the detached revision go; the fresh
    // partial stays until it has been quiet for a while.
    drop(holder);
    let (code, env) = prune(fx.path(), &[]);
    assert_eq!(code, 0, "{env:#}");
    assert_eq!(env["data"]["summary"]["revisions"], 1, "{env:#}");
    assert_eq!(env["data"]["summary"]["incomplete_downloads"], 1);
    assert_eq!(env["data"]["summary"]["stale_locks"], 1);
    assert!(!repo.path().join(format!("snapshots/{A}")).exists());
    assert!(
        repo.path()
            .join(format!("blobs/{fresh}.incomplete"))
            .exists()
    );
    assert_eq!(scan_cache_dir(fx.path())["warnings"], json!([]));
}

/// A download pinned by commit writes no ref: huggingface_hub's prune would delete it
/// (it calls every unnamed revision detached); ours keeps it (README, prune).
#[test]
fn a_repo_pinned_by_commit_is_kept() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/pinned");
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(20));
    fx.freeze_mtimes();
    assert_eq!(
        hf_prune_dry_run(fx.path()),
        (1, 0),
        "the documented difference"
    );
    let before = tree_of(fx.path());
    let (code, env) = prune(fx.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(env["data"]["action"], "nothing_to_prune");
    assert_eq!(
        env["data"]["kept"][0]["reason"], "pinned_by_commit",
        "{env:#}"
    );
    assert_eq!(
        env["data"]["kept"][0]["path"],
        format!("models--org--pinned/snapshots/{A}")
    );
    assert_eq!(tree_of(fx.path()), before);
}

/// [`zoo::many_files`] with only B named.
fn many_files(fx: &CacheFixture) -> tests::Repo {
    let repo = zoo::many_files(fx, "org/many");
    repo.git_ref("main", B);
    repo
}

#[test]
fn a_prune_killed_at_any_moment_is_finished_by_the_next() {
    let bin = target_dir().join("release/mlxk");
    let mut interrupted = 0;
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        let fx = CacheFixture::new();
        let repo = many_files(&fx);
        let journal = fx
            .path()
            .join(format!(".locks/{}/{A}.removing", repo.folder()));
        let mut child = Command::new(&bin)
            .args(["prune", "--json", "--cache-dir"])
            .arg(fx.path())
            .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !journal.exists() && start.elapsed() < Duration::from_secs(20) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if repo.path().join(format!("snapshots/{A}")).exists() || journal.exists() {
            interrupted += 1;
        }

        let scan = scan_cache_dir(fx.path());
        assert_eq!(scan["warnings"], json!([]), "after {delay_ms} ms: {scan:#}");
        let (code, env) = prune(fx.path(), &[]);
        assert_eq!(code, 0, "after {delay_ms} ms: {env:#}");
        assert!(!repo.path().join(format!("snapshots/{A}")).exists());
        assert!(!repo.path().join(format!("trees/{A}.json")).exists());
        assert!(!journal.exists(), "after {delay_ms} ms: {env:#}");
        let (code, health) = cli_json(&["health", "org/many", "--deep"], fx.path());
        assert_eq!(code, 0, "{health:#}");
        let (_, again) = prune(fx.path(), &[]);
        assert_eq!(
            again["data"]["action"], "nothing_to_prune",
            "after {delay_ms} ms: {again:#}"
        );
        assert_eq!(scan_cache_dir(fx.path())["warnings"], json!([]));
    }
    assert!(
        interrupted >= 3,
        "only {interrupted} of 6 prunes were killed half-way"
    );
}

#[test]
fn the_cli_and_the_npm_package_prune_identically() {
    let build = || {
        let fx = CacheFixture::new();
        let repo = fx.model("org/two");
        repo.snapshot(A)
            .file("config.json", zoo::cfg("llama"))
            .file("model.safetensors", safetensors(30))
            .tree();
        repo.snapshot(B)
            .file("config.json", zoo::cfg("llama"))
            .file("model.safetensors", safetensors(40));
        repo.git_ref("main", B)
            .raw_blob(&format!("{PARTIAL}.incomplete"), b"part")
            .lock(&format!("{PARTIAL}.lock"))
            .lock("other.lock");
        fx.model("org/pinned")
            .snapshot(A)
            .file("config.json", zoo::cfg("llama"));
        fx.freeze_mtimes();
        fx
    };
    for case in [
        &["prune", "--json"][..],
        &["prune", "--dry-run", "--json"],
        &["prune"],
        &["prune", "--dry-run"],
    ] {
        let (ours, theirs) = (build(), build());
        let cli_run = cli(case, Some(ours.path()));
        let node_run = &node_batch(&[(
            case.iter().map(|s| (*s).to_owned()).collect(),
            theirs.path().to_path_buf(),
        )])[0];
        assert_eq!(cli_run.code, node_run.code, "{case:?}");
        assert_eq!(cli_run.stdout_text(), node_run.stdout_text(), "{case:?}");
        assert_eq!(tree_of(ours.path()), tree_of(theirs.path()), "{case:?}");
        if case == ["prune", "--json"] {
            let env = cli_run.json();
            assert_eq!(env["data"]["summary"]["revisions"], 1, "{env:#}");
            assert_eq!(env["data"]["summary"]["stale_locks"], 2, "{env:#}");
        }
    }
}

#[test]
fn a_missing_cache_and_misspelt_options_delete_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let (code, env) = prune(&missing, &[]);
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "cache_not_found", "{env:#}");
    assert!(!missing.exists());

    let fx = CacheFixture::new();
    let repo = fx.model("org/x");
    repo.snapshot(A).file("config.json", zoo::cfg("llama"));
    repo.snapshot(B).file("config.json", zoo::cfg("mistral"));
    repo.git_ref("main", B);
    fx.freeze_mtimes();
    let before = tree_of(fx.path());
    for args in [&["--dry-rn"][..], &["org/x"], &["--force"], &["-n"]] {
        let (code, env) = prune(fx.path(), args);
        assert_eq!(code, 2, "{args:?}: {env:#}");
        assert_eq!(env["error"]["type"], "CommandError", "{args:?}");
        assert_eq!(tree_of(fx.path()), before, "{args:?}");
    }
}
