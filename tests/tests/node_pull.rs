//! The npm package's `pull()` against the test Hub on 127.0.0.1, side by side with the
//! CLI: the same envelopes, the same cache byte for byte (files, links, refs, tree file,
//! locks), which huggingface_hub then reads as its own; flipped bytes refused, gated
//! repos refused without the token, an aborted or killed pull resumed with `Range`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::hub::scan_cache_dir;
use tests::pullstore::{Hub, deep_findings, hf_download, store, tree_of};
use tests::runners::cli_with;
use tests::schema::assert_valid;
use tests::{Run, repo_root};

/// An environment variable a case sets.
type Var = (&'static str, &'static str);

/// A `node tests/node/pull.mjs` command with the machine's Hub settings removed.
fn node_command(request: &Value, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("tests/node/pull.mjs"))
        .arg(request.to_string());
    for var in [
        "HF_ENDPOINT",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HF_TOKEN_PATH", "/nonexistent/mlxk-test-token");
    cmd.envs(env.iter().copied());
    cmd
}

/// `pull(request)` in Node: `{envelope}` or `{error}`, with `events` and `last`.
fn node_pull(request: Value, env: &[(&str, &str)]) -> Value {
    let out = node_command(&request, env)
        .stdin(Stdio::null())
        .output()
        .expect("node must be installed (Node >= 20)");
    assert!(
        out.status.success(),
        "node pull failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    if let Some(envelope) = v.get("envelope") {
        assert_valid(envelope);
    }
    // Once the call answered, nothing (no connection) keeps the script from exiting.
    assert_eq!(v["alive"], json!([]), "{v:#}");
    v
}

/// `mlxk pull <args> --json` against `hub` into `cache`.
fn cli_pull(hub: &str, cache: &Path, args: &[&str], env: &[(&str, &str)]) -> (Run, Value) {
    let mut all = vec!["pull"];
    all.extend_from_slice(args);
    all.push("--json");
    let mut vars: Vec<(&str, &Path)> = vec![("HF_ENDPOINT", Path::new(hub))];
    vars.extend(env.iter().map(|(k, v)| (*k, Path::new(*v))));
    let run = cli_with("mlxk", &all, Some(cache), &vars);
    let v = run.json();
    assert_valid(&v);
    (run, v)
}

/// An envelope with its cache path replaced, to compare pulls into two caches.
fn relative(envelope: &Value, cache: &Path) -> Value {
    let text = envelope
        .to_string()
        .replace(cache.to_str().unwrap(), "<cache>");
    serde_json::from_str(&text).unwrap()
}

/// The `.incomplete` partials of a repo's blobs, with their sizes.
fn partials(cache: &Path, folder: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = fs::read_dir(cache.join(folder).join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
        .map(|e| {
            let len = e.metadata().map_or(0, |m| m.len());
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    out.sort();
    out
}

/// The first byte of the first `Range` GET of `needle`.
fn resumed_from(hub: &Hub, needle: &str) -> u64 {
    let gets = hub.file_gets(needle);
    let ranged = gets
        .iter()
        .find(|g| g["range"].is_string())
        .unwrap_or_else(|| panic!("no Range request: {gets:#?}"));
    ranged["range"]
        .as_str()
        .unwrap()
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap()
}

#[test]
fn node_and_cli_write_the_same_cache_and_huggingface_hub_reads_it_as_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    // Three tree entries a page (the listing spans pages) and LFS files behind a redirect
    // to another origin (the token must not follow).
    let hub = Hub::start(tmp.path(), &store, &["--redirect", "--page-size", "3"]);
    let node_cache = tmp.path().join("node");
    let cli_cache = tmp.path().join("cli");

    let v = node_pull(
        json!({"model": "org/tiny", "cacheDir": node_cache, "endpoint": hub.url(), "token": "secret-token"}),
        &[],
    );
    let node = &v["envelope"];
    assert_eq!(node["status"], "success", "{v:#}");
    assert_eq!(node["data"]["health"], "healthy");
    assert_eq!(node["data"]["files_downloaded"], 7);
    assert_eq!(
        v["last"]["bytes"], node["data"]["bytes_downloaded"],
        "progress reaches the total: {v:#}"
    );
    assert_eq!(v["last"]["files"], 7);
    let (cdn, own): (Vec<Value>, Vec<Value>) = hub
        .requests()
        .into_iter()
        .partition(|r| r["path"].as_str().unwrap().starts_with("/cdn/"));
    assert_eq!(cdn.len(), 2, "the LFS files came through the redirect");
    assert!(cdn.iter().all(|r| r["auth"] == false), "{cdn:#?}");
    assert!(own.iter().all(|r| r["auth"] == true), "{own:#?}");

    let (run, cli) = cli_pull(
        hub.url(),
        &cli_cache,
        &["org/tiny"],
        &[("HF_TOKEN", "secret-token")],
    );
    assert_eq!(run.code, 0, "{cli:#}");
    assert_eq!(relative(node, &node_cache), relative(&cli, &cli_cache));
    // The same tree: every folder, file size, link target, ref, tree file and lock.
    assert_eq!(tree_of(&node_cache), tree_of(&cli_cache));
    let commit = node["data"]["commit_hash"].as_str().unwrap();
    for file in [
        format!("models--org--tiny/trees/{commit}.json"),
        "models--org--tiny/refs/main".to_owned(),
        "CACHEDIR.TAG".to_owned(),
    ] {
        assert_eq!(
            fs::read(node_cache.join(&file)).unwrap(),
            fs::read(cli_cache.join(&file)).unwrap(),
            "{file}"
        );
    }

    // huggingface_hub: no warning, and snapshot_download fetches no byte again.
    assert_eq!(
        scan_cache_dir(&node_cache)["warnings"],
        Value::Array(vec![])
    );
    hub.clear_log();
    hf_download(&hub, &node_cache, &["org/tiny"]);
    assert_eq!(hub.file_gets("").len(), 0, "{:#?}", hub.requests());
    assert_eq!(deep_findings(&node_cache, "org/tiny"), Value::Array(vec![]));

    // Cached: answered without a request, as the CLI answers.
    hub.clear_log();
    let again = node_pull(
        json!({"model": "org/tiny", "cacheDir": node_cache, "endpoint": hub.url()}),
        &[],
    );
    assert_eq!(
        again["envelope"]["data"]["download_status"], "already_exists",
        "{again:#}"
    );
    assert!(hub.requests().is_empty(), "{:#?}", hub.requests());
    let (_, cli_again) = cli_pull(hub.url(), &cli_cache, &["org/tiny"], &[]);
    assert_eq!(
        relative(&again["envelope"], &node_cache),
        relative(&cli_again, &cli_cache)
    );

    // A branch, then a commit: the ref of the branch only.
    let v1 = node_pull(
        json!({"model": "org/tiny@v1.0", "cacheDir": node_cache, "endpoint": hub.url()}),
        &[],
    );
    assert_eq!(v1["envelope"]["data"]["download_status"], "success");
    let (_, cli_v1) = cli_pull(hub.url(), &cli_cache, &["org/tiny@v1.0"], &[]);
    assert_eq!(
        relative(&v1["envelope"], &node_cache),
        relative(&cli_v1, &cli_cache)
    );
    assert_eq!(tree_of(&node_cache), tree_of(&cli_cache));
}

#[test]
fn flipped_bytes_refusals_and_offline_mode_give_the_clis_envelopes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--corrupt", "model.safetensors"]);
    let cases: &[(&str, &[Var], &str)] = &[
        ("org/big", &[], "checksum_mismatch"),
        ("org/gated", &[], "access_denied"),
        ("org/private", &[], "access_denied"),
        ("org/nothing-here", &[], "access_denied"),
        ("org/tiny@no-such-branch", &[], "model_not_found"),
        ("org/tiny", &[("HF_HUB_OFFLINE", "1")], "offline_mode"),
        ("../../etc", &[], "ValidationError"),
    ];
    for (i, (model, env, kind)) in cases.iter().enumerate() {
        let node_cache = tmp.path().join(format!("node-{i}"));
        let cli_cache = tmp.path().join(format!("cli-{i}"));
        let v = node_pull(
            json!({"model": model, "cacheDir": node_cache, "endpoint": hub.url()}),
            env,
        );
        let node = &v["envelope"];
        assert_eq!(node["error"]["type"], *kind, "{model}: {v:#}");
        let (run, cli) = cli_pull(hub.url(), &cli_cache, &[model], env);
        assert_eq!(run.code, 1);
        assert_eq!(
            relative(node, &node_cache),
            relative(&cli, &cli_cache),
            "{model}"
        );
        assert_eq!(tree_of(&node_cache), tree_of(&cli_cache), "{model}");
    }
    // The corrupt file: nothing unverified is linked, no partial kept, no ref written.
    let repo = tmp.path().join("node-0/models--org--big");
    assert!(partials(&tmp.path().join("node-0"), "models--org--big").is_empty());
    assert!(!repo.join("refs/main").exists());
    // The refused repos got no folder at all.
    assert!(!tmp.path().join("node-1/models--org--gated").exists());
    assert!(!tmp.path().join("node-2/models--org--private").exists());

    // With the token, the gated repo comes down.
    let hub = Hub::start(tmp.path(), &store, &[]);
    let gated = tmp.path().join("gated");
    let v = node_pull(
        json!({"model": "org/gated", "cacheDir": gated, "endpoint": hub.url()}),
        &[("HF_TOKEN", "secret-token")],
    );
    assert_eq!(v["envelope"]["data"]["download_status"], "success", "{v:#}");
    assert_eq!(v["envelope"]["data"]["health"], "healthy");
}

#[test]
fn an_aborted_node_pull_resumes_with_range() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--slow", "model.safetensors"]);
    let cache = tmp.path().join("hub");
    let request = |extra: Value| {
        let mut r = json!({"model": "org/big", "cacheDir": cache, "endpoint": hub.url()});
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        r
    };
    let v = node_pull(request(json!({"abortAfterBytes": 512 << 10})), &[]);
    assert_eq!(v["error"]["name"], "AbortError", "{v:#}");
    assert_eq!(v["error"]["code"], "ABORT_ERR");
    // The partial was given back under its resumable name.
    let kept = partials(&cache, "models--org--big");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].0.ends_with(".incomplete") && kept[0].0.matches('.').count() == 1);
    assert!(kept[0].1 >= 512 << 10, "{kept:?}");

    // Unhealthy now: pull asks first (the CLI's answer), then resumes when told to.
    let asked = node_pull(request(json!({})), &[]);
    assert_eq!(
        asked["envelope"]["data"]["download_status"],
        "requires_confirmation"
    );
    hub.clear_log();
    let v = node_pull(request(json!({"forceResume": true})), &[]);
    assert_eq!(v["envelope"]["data"]["download_status"], "success", "{v:#}");
    assert!(resumed_from(&hub, "model.safetensors") >= kept[0].1);
    assert_eq!(deep_findings(&cache, "org/big"), Value::Array(vec![]));
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
}

#[test]
fn a_killed_node_pull_resumes_from_its_own_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &["--slow", "model.safetensors"]);
    let cache = tmp.path().join("hub");
    let request = json!({"model": "org/big", "cacheDir": cache, "endpoint": hub.url()});
    let mut child = node_command(&request, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let size = || {
        partials(&cache, "models--org--big")
            .iter()
            .map(|p| p.1)
            .sum::<u64>()
    };
    let start = Instant::now();
    while size() < 512 << 10 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: nothing is given back
    child.wait().unwrap();
    let left = partials(&cache, "models--org--big");
    assert_eq!(left.len(), 1, "{left:?}");
    // huggingface_hub 2.x's shape, `<etag>.<8 hex>.incomplete`: every scanner sees it.
    assert_eq!(left[0].0.matches('.').count(), 2, "{left:?}");
    let health = cli_with("mlxk", &["health", "org/big", "--json"], Some(&cache), &[]).json();
    assert_eq!(
        health["data"]["unhealthy"][0]["name"], "org/big",
        "{health:#}"
    );

    hub.clear_log();
    let mut resume = request.clone();
    resume["forceResume"] = json!(true);
    let v = node_pull(resume, &[]);
    assert_eq!(v["envelope"]["data"]["download_status"], "success", "{v:#}");
    assert!(resumed_from(&hub, "model.safetensors") >= left[0].1);
    assert!(partials(&cache, "models--org--big").is_empty());
    assert_eq!(deep_findings(&cache, "org/big"), Value::Array(vec![]));
    assert_eq!(scan_cache_dir(&cache)["warnings"], Value::Array(vec![]));
}

#[test]
fn the_bin_pulls_with_the_clis_bytes_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let bin = |args: &[&str], cache: &Path| {
        let out = Command::new("node")
            .arg(repo_root().join("npm/bin/mlx-knife.mjs"))
            .arg("--cache-dir")
            .arg(cache)
            .args(args)
            .env("HF_ENDPOINT", hub.url())
            .env_remove("HF_TOKEN")
            .env("HF_TOKEN_PATH", "/nonexistent/mlxk-test-token")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), out.stdout, out.stderr)
    };
    let node_cache = tmp.path().join("node");
    let cli_cache = tmp.path().join("cli");
    for args in [
        &["pull", "org/big", "--json"][..],
        &["pull", "org/big"],
        &["pull", "--json", "--", "org/tiny@v1.0"],
        &["pull", "org/gated"],
        &["pull", "org/gated", "--json"],
        &["pull", "org//x", "--json"],
    ] {
        let (code, stdout, stderr) = bin(args, &node_cache);
        let mut cli_args = vec!["--cache-dir", cli_cache.to_str().unwrap()];
        cli_args.extend_from_slice(args);
        let cli = cli_with(
            "mlxk",
            &cli_args,
            None,
            &[("HF_ENDPOINT", Path::new(hub.url()))],
        );
        let same = |b: &[u8], cache: &Path| {
            String::from_utf8_lossy(b).replace(cache.to_str().unwrap(), "<cache>")
        };
        assert_eq!(code, Some(cli.code), "{args:?}");
        assert_eq!(
            same(&stdout, &node_cache),
            same(&cli.stdout, &cli_cache),
            "{args:?}"
        );
        assert_eq!(
            same(&stderr, &node_cache),
            same(&cli.stderr, &cli_cache),
            "{args:?}"
        );
    }
    assert_eq!(tree_of(&node_cache), tree_of(&cli_cache));
}
