//! Part of a model: `pull --include/--exclude` takes the files huggingface_hub's
//! `allow_patterns` / `ignore_patterns` take (compared with the real `snapshot_download`
//! on the test Hub), records the whole listing so the deep audit knows the rest is not
//! downloaded, and a later plain pull fills it in; the npm package and the CLI select
//! alike.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tests::hub::{hf_client, scan_cache_dir};
use tests::pullstore::{Hub, deep_findings, noise, put};
use tests::runners::{cli_with, node_batch_with};
use tests::schema::assert_valid;
use tests::{Run, repo_root};

const QUANTS: [&str; 10] = [
    "Q2_K", "Q3_K_S", "Q3_K_M", "Q4_0", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0",
];

/// A GGUF repo of ten quantisations, a config, a README and an `onnx/` folder.
fn quant_store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let repo = "org/quants";
    put(
        &store,
        repo,
        "main",
        "config.json",
        br#"{"model_type":"llama"}"#,
    );
    put(&store, repo, "main", "README.md", b"# quants\n");
    for (i, q) in QUANTS.iter().enumerate() {
        put(
            &store,
            repo,
            "main",
            &format!("model-{q}.gguf"),
            &noise(20_000 + i * 1000, i as u64),
        );
    }
    put(&store, repo, "main", "onnx/model.onnx", &noise(3000, 40));
    put(&store, repo, "main", "onnx/extra.onnx", &noise(3000, 41));
    store
}

fn pull(hub: &Hub, cache: &Path, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["pull", "org/quants"];
    all.extend_from_slice(args);
    all.push("--json");
    let run = cli_with(
        "mlxk",
        &all,
        Some(cache),
        &[("HF_ENDPOINT", Path::new(hub.url()))],
    );
    let v = run.json();
    assert_valid(&v);
    (run, v)
}

/// `snapshot_download` with the same patterns.
fn hf_pull(hub: &Hub, cache: &Path, allow: &[&str], ignore: &[&str]) {
    let mut args = vec![
        "download",
        "--endpoint",
        hub.url(),
        "--cache",
        cache.to_str().unwrap(),
    ];
    for a in allow {
        args.extend(["--allow", a]);
    }
    for i in ignore {
        args.extend(["--ignore", i]);
    }
    args.push("org/quants");
    hf_client(&args);
}

/// The paths in the repo's only snapshot, sorted.
fn snapshot_files(cache: &Path) -> Vec<String> {
    let snaps = cache.join("models--org--quants/snapshots");
    let only = fs::read_dir(&snaps)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut out = Vec::new();
    let mut stack = vec![only.clone()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(&only).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn tree_file(cache: &Path) -> Value {
    let trees = cache.join("models--org--quants/trees");
    let only = fs::read_dir(&trees)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_json::from_slice(&fs::read(only).unwrap()).unwrap()
}

fn not_downloaded(cache: &Path) -> usize {
    deep_findings(cache, "org/quants")
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "not_downloaded")
        .count()
}

fn flags(include: &[&str], exclude: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for i in include {
        out.extend(["--include".to_owned(), (*i).to_owned()]);
    }
    for e in exclude {
        out.extend(["--exclude".to_owned(), (*e).to_owned()]);
    }
    out
}

#[test]
fn patterns_take_what_huggingface_hub_takes_and_a_plain_pull_fills_in_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let store = quant_store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let all_files = 14;
    let cases: [(&[&str], &[&str]); 4] = [
        (&["*Q4_K_M*", "config.json"], &[]),
        (&[], &["*.gguf", "onnx/"]),
        (&["onnx/"], &["*extra*"]),
        (&["*.gguf"], &["*Q[2-5]_*"]),
    ];
    for (n, (include, exclude)) in cases.iter().enumerate() {
        let ours = tmp.path().join(format!("ours-{n}"));
        let theirs = tmp.path().join(format!("theirs-{n}"));
        let args = flags(include, exclude);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (run, env) = pull(&hub, &ours, &args);
        assert_eq!(run.code, 0, "{include:?} {exclude:?}: {env:#}");
        hf_pull(&hub, &theirs, include, exclude);
        let taken = snapshot_files(&theirs);
        assert_eq!(snapshot_files(&ours), taken, "{include:?} {exclude:?}");
        assert_eq!(env["data"]["files_total"], taken.len(), "{env:#}");
        assert_eq!(
            tree_file(&ours),
            tree_file(&theirs),
            "the whole listing, as huggingface_hub records it"
        );
        assert_eq!(scan_cache_dir(&ours)["warnings"], json!([]));
        assert_eq!(
            not_downloaded(&ours),
            all_files - taken.len(),
            "{include:?}"
        );

        // huggingface_hub reads the partial snapshot as its own: nothing fetched again.
        hub.clear_log();
        hf_pull(&hub, &ours, include, exclude);
        assert_eq!(hub.file_gets("/").len(), 0, "{:#?}", hub.file_gets("/"));
        // The same patterns again: answered from the cache, no request.
        hub.clear_log();
        let (run, again) = pull(&hub, &ours, &args);
        assert_eq!(run.code, 0);
        assert_eq!(
            again["data"]["download_status"], "already_exists",
            "{again:#}"
        );
        assert_eq!(hub.requests().len(), 0, "{:#?}", hub.requests());
    }

    // A plain pull of a partial snapshot fetches exactly what is missing.
    let ours = tmp.path().join("ours-0");
    hub.clear_log();
    let (run, env) = pull(&hub, &ours, &[]);
    assert_eq!(run.code, 0, "{env:#}");
    assert_eq!(env["data"]["download_status"], "success");
    assert_eq!(env["data"]["files_downloaded"], all_files - 2, "{env:#}");
    assert_eq!(hub.file_gets("/").len(), all_files - 2);
    assert_eq!(snapshot_files(&ours).len(), all_files);
    assert_eq!(not_downloaded(&ours), 0);
    let (_, again) = pull(&hub, &ours, &[]);
    assert_eq!(again["data"]["download_status"], "already_exists");
}

#[test]
fn patterns_that_take_nothing_write_nothing_and_bad_flags_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = quant_store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("cache");
    let (run, env) = pull(&hub, &cache, &["--include", "*.bin", "--include", "*.GGUF"]);
    assert_eq!(run.code, 1);
    assert_eq!(env["error"]["type"], "no_matching_files", "{env:#}");
    assert_eq!(
        env["error"]["message"],
        "No file of org/quants@main matches --include '*.bin' --include '*.GGUF' (14 files listed)"
    );
    assert!(!cache.join("models--org--quants").exists());

    for args in [
        &["--include"][..],
        &["--include", "--json"],
        &["--exclude="],
    ] {
        let mut all = vec!["pull", "org/quants"];
        all.extend_from_slice(args);
        let run = cli_with(
            "mlxk",
            &all,
            Some(&cache),
            &[("HF_ENDPOINT", Path::new(hub.url()))],
        );
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr_text());
    }
    assert!(!cache.join("models--org--quants").exists());
}

#[test]
fn node_selects_as_the_cli_does() {
    let tmp = tempfile::tempdir().unwrap();
    let store = quant_store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let (cli_cache, node_cache, bin_cache) = (
        tmp.path().join("cli"),
        tmp.path().join("node"),
        tmp.path().join("bin"),
    );
    let (run, cli) = pull(
        &hub,
        &cli_cache,
        &["--include", "*Q8_0*", "--exclude", "README.md"],
    );
    assert_eq!(run.code, 0, "{cli:#}");

    let request = json!({
        "model": "org/quants", "cacheDir": node_cache, "endpoint": hub.url(),
        "include": ["*Q8_0*"], "exclude": ["README.md"],
    });
    let out = Command::new("node")
        .arg(repo_root().join("tests/node/pull.mjs"))
        .arg(request.to_string())
        .env_remove("HF_ENDPOINT")
        .env("HF_TOKEN_PATH", "/nonexistent/mlxk-test-token")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let node = &v["envelope"];
    let rel = |env: &Value, cache: &Path| env.to_string().replace(cache.to_str().unwrap(), "<c>");
    assert_eq!(rel(node, &node_cache), rel(&cli, &cli_cache), "{v:#}");
    assert_eq!(snapshot_files(&node_cache), snapshot_files(&cli_cache));
    assert_eq!(tree_file(&node_cache), tree_file(&cli_cache));

    // run(['pull', ...]) (what `npx mlx-knife pull` runs) parses the flags in the core.
    let argv: Vec<String> = [
        "pull",
        "org/quants",
        "--include",
        "*Q8_0*",
        "--exclude",
        "README.md",
        "--json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let runs = node_batch_with(&[(argv, bin_cache.clone())], &[("HF_ENDPOINT", hub.url())]);
    assert_eq!(runs[0].code, 0, "{}", runs[0].stderr_text());
    assert_eq!(
        runs[0]
            .stdout_text()
            .replace(bin_cache.to_str().unwrap(), "<c>"),
        run.stdout_text()
            .replace(cli_cache.to_str().unwrap(), "<c>")
    );
    let none: Vec<String> = ["pull", "org/quants", "--include", "nothing*", "--json"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let runs = node_batch_with(&[(none, bin_cache.clone())], &[("HF_ENDPOINT", hub.url())]);
    assert_eq!(runs[0].code, 1);
    assert_eq!(runs[0].json()["error"]["type"], "no_matching_files");
}

fn rm(cache: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["rm"];
    all.extend_from_slice(args);
    let (code, env) = tests::cli_json(&all, cache);
    assert_valid(&env);
    (code, env)
}

fn blob_count(cache: &Path) -> usize {
    fs::read_dir(cache.join("models--org--quants/blobs"))
        .unwrap()
        .count()
}

#[test]
fn rm_files_takes_those_files_and_only_blobs_nothing_else_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let store = quant_store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("cache");
    hf_pull(&hub, &cache, &[], &[]);
    let all = snapshot_files(&cache);
    assert_eq!(all.len(), 14);

    let before = tests::pullstore::tree_of(&cache);
    let (code, dry) = rm(
        &cache,
        &["org/quants", "--files", "*Q2_K*", "onnx/", "--dry-run"],
    );
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(
        tests::pullstore::tree_of(&cache),
        before,
        "a dry run removes nothing"
    );
    let data = &dry["data"];
    assert_eq!(data["action"], "would_delete");
    assert_eq!(data["removed"], "files");
    assert_eq!(
        data["files"],
        json!(["model-Q2_K.gguf", "onnx/extra.onnx", "onnx/model.onnx"])
    );
    assert_eq!(data["freed_bytes"], 20_000 + 3000 + 3000);

    let (code, done) = rm(&cache, &["org/quants", "--files", "*Q2_K*", "onnx/"]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(done["data"]["files"], data["files"]);
    assert_eq!(done["data"]["freed_bytes"], data["freed_bytes"]);
    assert_eq!(snapshot_files(&cache).len(), 11);
    assert_eq!(blob_count(&cache), 11, "their blobs went with them");
    let snap = cache.join("models--org--quants/snapshots");
    let only = fs::read_dir(&snap).unwrap().next().unwrap().unwrap().path();
    assert!(
        !only.join("onnx").exists(),
        "the folder they left empty went too"
    );
    let scan = scan_cache_dir(&cache);
    assert_eq!(scan["warnings"], json!([]), "{scan:#}");
    assert_eq!(scan["repos"][0]["revisions"][0]["refs"], json!(["main"]));
    assert_eq!(scan["repos"][0]["revisions"][0]["nb_files"], 11);
    let findings = deep_findings(&cache, "org/quants");
    let kinds: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["not_downloaded"; 3], "{findings:#}");
    // huggingface_hub sees exactly those three missing and fetches only them.
    hub.clear_log();
    hf_pull(&hub, &cache, &[], &[]);
    assert_eq!(hub.file_gets("/").len(), 3, "{:#?}", hub.file_gets("/"));

    // Patterns that take nothing change nothing.
    let before = tests::pullstore::tree_of(&cache);
    let (code, env) = rm(&cache, &["org/quants", "--files", "*.bin"]);
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "no_matching_files", "{env:#}");
    assert_eq!(tests::pullstore::tree_of(&cache), before);
}

#[test]
fn rm_files_keeps_blobs_another_revision_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let store = quant_store(tmp.path());
    let hub = Hub::start(tmp.path(), &store, &[]);
    let cache = tmp.path().join("cache");
    hf_pull(&hub, &cache, &[], &[]);
    let first = fs::read_to_string(cache.join("models--org--quants/refs/main")).unwrap();
    put(&store, "org/quants", "main", "README.md", b"# quants, v2\n");
    hf_pull(&hub, &cache, &[], &[]);
    let blobs = blob_count(&cache);

    let old = format!("org/quants@{}", &first[..8]);
    let (code, env) = rm(&cache, &[old.as_str(), "--files", "*Q4_0*"]);
    assert_eq!(code, 0, "{env:#}");
    assert_eq!(env["data"]["files"], json!(["model-Q4_0.gguf"]));
    assert_eq!(env["data"]["freed_bytes"], 0, "main still links that blob");
    assert_eq!(blob_count(&cache), blobs);
    let (code, health) = tests::cli_json(&["health", "org/quants@main", "--deep"], &cache);
    assert_eq!(code, 0, "{health:#}");
    assert_eq!(scan_cache_dir(&cache)["warnings"], json!([]));
}
