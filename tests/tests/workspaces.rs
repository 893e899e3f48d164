//! Workspaces (local model folders named by an explicit path) through `list`, `show`,
//! `health` and `rm`, on real folders: the model object, the sentinel, the clean state
//! (workspaces-reference §1.5–§1.8, §1.11), the sandbox (only the named folder is
//! mounted; links out are findings), and the CLI and the npm package answering alike.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tests::schema::assert_valid;
use tests::{Run, cli, node_batch, safetensors, zoo};

/// A folder of workspaces, and an empty cache beside it.
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("hub")).unwrap();
        fs::create_dir(dir.path().join("ws")).unwrap();
        Self { dir }
    }

    fn ws(&self) -> PathBuf {
        fs::canonicalize(self.dir.path().join("ws")).unwrap()
    }

    fn hub(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    /// A healthy MLX workspace `name` (config, weights, tokenizer).
    fn model(&self, name: &str) -> PathBuf {
        let d = self.ws().join(name);
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("config.json"),
            r#"{"model_type":"llama","quantization":{"bits":4,"group_size":64},"max_position_embeddings":128}"#,
        )
        .unwrap();
        fs::write(d.join("model.safetensors"), safetensors(16)).unwrap();
        fs::write(d.join("tokenizer.json"), "{}").unwrap();
        fs::write(d.join("tokenizer_config.json"), "{}").unwrap();
        d
    }

    fn run(&self, args: &[&str]) -> Run {
        cli(args, Some(&self.hub()))
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.run(&all);
        let v = run.json();
        assert_valid(&v);
        (run.code, v)
    }
}

/// Pins the workspace as `clone` would: the content hash computed by the core, and a
/// sentinel with 2.0.8's clone keys.
fn pin(dir: &Path, source: &str) {
    use core_wasm::workspace::{content_hash, exclude::Excludes, sentinel::Sentinel};
    let fs = core_wasm::fs::CacheFs::new(dir);
    let h = content_hash::compute(&fs, Path::new(""), &Excludes::default_list()).unwrap();
    let mut s = Sentinel::default();
    for (k, v) in [
        ("mlxk_version", json!("2.0.8")),
        ("created_at", json!("2026-12-01T21:36:48.975164Z")),
        ("source_repo", json!(source)),
        ("source_revision", Value::Null),
        ("managed", json!(true)),
        ("operation", json!("clone")),
        ("hash_modified", json!("2026-12-01T21:36:48.975114Z")),
        ("hash_algorithm", json!("v2")),
        ("content_hash", json!(h.content_hash)),
        (
            "exclude_patterns",
            json!(core_wasm::workspace::exclude::DEFAULT_PATTERNS),
        ),
    ] {
        s.set(k, v);
    }
    let index: Vec<Value> = h
        .file_index
        .iter()
        .map(core_wasm::workspace::content_hash::IndexEntry::to_json)
        .collect();
    s.set("file_index", index.into());
    s.write(&fs, Path::new("")).unwrap();
}

#[test]
fn a_workspace_is_a_model_with_its_sentinel() {
    let f = Folder::new();
    let tiny = f.model("tiny");
    pin(&tiny, "mlx-community/Tiny-Llama-4bit-mlx");
    let path = tiny.to_str().unwrap();

    let (code, v) = f.json(&["show", path]);
    assert_eq!(code, 0, "{v:#}");
    let m = &v["data"]["model"];
    assert_eq!(m["name"], path);
    assert_eq!(m["cached"], false);
    assert_eq!(m["hash"], Value::Null);
    assert_eq!(m["framework"], "MLX");
    assert_eq!(m["health"], "healthy");
    assert_eq!(m["origin"], "mlx-community/Tiny-Llama-4bit-mlx");
    assert_eq!(m["clean"], true);
    assert!(m["content_hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(m["hash_modified"], "2026-12-01T21:36:48.975114Z");
    assert_eq!(m["quantization"], json!({"bits": 4, "group_size": 64}));
    let keys: Vec<&str> = v["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["model", "workspace_metadata", "metadata"]);
    assert_eq!(v["data"]["workspace_metadata"]["operation"], "clone");
    // The sentinel counts in the size and in --files.
    let sentinel_size = fs::metadata(tiny.join(".mlxk_workspace.json"))
        .unwrap()
        .len();
    let files: u64 = [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    .iter()
    .map(|n| fs::metadata(tiny.join(n)).unwrap().len())
    .sum();
    assert_eq!(m["size_bytes"], files + sentinel_size);
    let (_, v) = f.json(&["show", path, "--files"]);
    assert!(
        v["data"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == ".mlxk_workspace.json"),
        "{v:#}"
    );

    // Human show ends with the Workspace block.
    let human = f.run(&["show", path]).stdout_text();
    assert!(human.starts_with(&format!("Model: {path}\n")), "{human}");
    assert!(
        human.contains("\nWorkspace:\n  Source: mlx-community/Tiny-Llama-4bit-mlx\n  Operation: clone\n  Created: 2026-12-01T21:36:48.975164Z\n  Clean: \u{2713}\n  Content Hash: sha256:"),
        "{human}"
    );

    // health: the entry carries `managed`.
    let (code, v) = f.json(&["health", path]);
    assert_eq!(code, 0);
    assert_eq!(
        v["data"]["healthy"][0],
        json!({"name": path, "status": "healthy", "reason": "Model is healthy", "managed": true})
    );
}

#[test]
fn clean_follows_the_content_not_the_clock_and_nothing_is_written() {
    let f = Folder::new();
    let tiny = f.model("tiny");
    pin(&tiny, "org/tiny");
    let path = tiny.to_str().unwrap().to_owned();
    let clean = |f: &Folder| f.json(&["list", &path]).1["data"]["models"][0]["clean"].clone();
    let sentinel = || fs::read(tiny.join(".mlxk_workspace.json")).unwrap();
    let before = sentinel();
    assert_eq!(clean(&f), true);
    // W1: a touched file is clean, and (unlike 2.0.8) the sentinel is not rewritten.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(tiny.join("config.json"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(clean(&f), true);
    assert_eq!(sentinel(), before, "a read-only command wrote the sentinel");
    // W4: excluded files do not count.
    fs::create_dir_all(tiny.join(".git")).unwrap();
    fs::write(tiny.join(".git/HEAD"), "x").unwrap();
    fs::write(tiny.join("run.log"), "x").unwrap();
    fs::write(tiny.join(".DS_Store"), "x").unwrap();
    assert_eq!(clean(&f), true);
    // W6: tensor bytes are not hashed.
    let mut w = fs::read(tiny.join("model.safetensors")).unwrap();
    let last = w.len() - 1;
    w[last] ^= 0xff;
    fs::write(tiny.join("model.safetensors"), &w).unwrap();
    assert_eq!(clean(&f), true);
    // W2/W3/W5/W8: same-size edit, new file, removed file, new file in a subfolder.
    fs::write(tiny.join("tokenizer.json"), "[]").unwrap();
    assert_eq!(clean(&f), false);
    fs::write(tiny.join("tokenizer.json"), "{}").unwrap();
    assert_eq!(clean(&f), true);
    fs::create_dir(tiny.join("sub")).unwrap();
    fs::write(tiny.join("sub/a.txt"), "a").unwrap();
    assert_eq!(clean(&f), false);
    fs::remove_dir_all(tiny.join("sub")).unwrap();
    fs::remove_file(tiny.join("tokenizer_config.json")).unwrap();
    assert_eq!(clean(&f), false);
    assert_eq!(sentinel(), before);
}

#[test]
fn sentinels_that_are_broken_or_hostile_mean_unknown() {
    let f = Folder::new();
    for (name, sentinel) in [
        ("w9", "{not json".to_owned()),
        ("w21", "[1,2]".to_owned()),
        ("v1", r#"{"managed": true, "content_hash": "abc123def4567890", "source_repo": "org/m"}"#.to_owned()),
        (
            "w10",
            r#"{"managed": true, "hash_algorithm": "v2", "file_index": [{"path": "../etc/passwd", "size": 1, "mtime_ns": 1, "sha": "x"}]}"#.to_owned(),
        ),
        ("w11", r#"{"managed": false}"#.to_owned()),
    ] {
        let d = f.model(name);
        fs::write(d.join(".mlxk_workspace.json"), sentinel).unwrap();
    }
    let (code, v) = f.json(&["list", f.ws().to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    let by = |n: &str| {
        v["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["display_name"] == f.ws().join(n).to_str().unwrap())
            .unwrap_or_else(|| panic!("{n}: {v:#}"))
            .clone()
    };
    for n in ["w9", "w21", "w10", "w11"] {
        assert_eq!(by(n)["clean"], Value::Null, "{n}");
        assert_eq!(by(n)["health"], "healthy", "{n}");
    }
    assert_eq!(by("v1")["content_hash"], "abc123def4567890");
    assert_eq!(by("v1")["origin"], "org/m");
    assert_eq!(by("v1")["clean"], Value::Null);
    let (_, v) = f.json(&["show", f.ws().join("w21").to_str().unwrap()]);
    assert_eq!(
        v["data"]["workspace_metadata"],
        json!({}),
        "a sentinel that is not an object"
    );
    let (_, v) = f.json(&["health", f.ws().join("w11").to_str().unwrap()]);
    assert_eq!(v["data"]["healthy"][0]["managed"], false);
    // W10 says why on stderr, as 2.0.8 does.
    let w10 = f.ws().join("w10");
    let run = f.run(&["show", w10.to_str().unwrap(), "--json"]);
    assert_eq!(
        run.stderr_text(),
        format!(
            "Corrupt sentinel in {}: '..' component in path: '../etc/passwd'\n",
            w10.display()
        )
    );
}

#[test]
fn list_matches_the_folder_its_children_or_a_prefix() {
    let f = Folder::new();
    for n in ["c1", "c2", "tiny"] {
        f.model(n);
    }
    fs::create_dir(f.ws().join("not-a-model")).unwrap();
    fs::write(f.ws().join("not-a-model/.mlxk_workspace.json"), "{}").unwrap();
    let names = |pattern: &str| -> Vec<String> {
        let (code, v) = f.json(&["list", pattern]);
        assert_eq!(code, 0, "{pattern}: {v:#}");
        v["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["display_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let ws = f.ws();
    let abs = |n: &str| ws.join(n).to_str().unwrap().to_owned();
    assert_eq!(names(&abs("tiny")), [abs("tiny")]);
    assert_eq!(
        names(ws.to_str().unwrap()),
        [abs("c1"), abs("c2"), abs("tiny")]
    );
    assert_eq!(names(&abs("c")), [abs("c1"), abs("c2")]);
    assert!(names(&abs("nothing")).is_empty());
    assert!(
        names(&abs("not-a-model")).is_empty(),
        "a sentinel without config.json is no workspace"
    );
    // Relative patterns show relative names (run from the folder).
    let rel = |pattern: &str| -> Vec<String> {
        let out = std::process::Command::new(tests::target_dir().join("release/mlxk"))
            .args(["list", pattern, "--json", "--cache-dir"])
            .arg(f.hub())
            .env(
                "MLXK_MODULE_CACHE",
                tests::target_dir().join("test-module-cache"),
            )
            .current_dir(&ws)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["display_name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(rel("./tiny"), ["tiny"]);
    assert_eq!(rel("."), ["c1", "c2", "tiny"]);
    assert_eq!(rel("./c"), ["c1", "c2"]);
    // Human list: Src is ws? without a sentinel.
    let table = f
        .run(&["list", ws.to_str().unwrap(), "--all"])
        .stdout_text();
    assert!(table.lines().any(|l| l.contains(" ws? ")), "{table}");
}

#[test]
fn a_path_is_never_looked_up_in_the_cache_and_rm_never_deletes_a_workspace() {
    let f = Folder::new();
    let tiny = f.model("tiny");
    let path = tiny.to_str().unwrap();
    let (code, v) = f.json(&["rm", path, "-f"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "workspace_model");
    assert_eq!(
        v["error"]["message"],
        format!("Cannot delete workspace model. Use: rm -rf {path}")
    );
    assert!(tiny.join("config.json").exists());
    let missing = f.ws().join("missing");
    let (code, v) = f.json(&["show", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "model_not_found");
    let (code, v) = f.json(&["health", missing.to_str().unwrap()]);
    assert_eq!((code, v["data"]["summary"]["total"].clone()), (0, json!(0)));
}

#[test]
fn links_out_of_a_workspace_are_findings_and_leak_nothing() {
    let f = Folder::new();
    let evil = f.model("evil");
    let secret = f.dir.path().join("secret.json");
    fs::write(
        &secret,
        format!(
            r#"{{"model_type":"llama","max_position_embeddings":31337,"note":"{}"}}"#,
            zoo::SECRET
        ),
    )
    .unwrap();
    fs::remove_file(evil.join("config.json")).unwrap();
    std::os::unix::fs::symlink(&secret, evil.join("config.json")).unwrap();
    std::os::unix::fs::symlink("../../secret.json", evil.join("README.md")).unwrap();
    let path = evil.to_str().unwrap();
    let argvs: Vec<Vec<String>> = [
        &["show", path, "--json"][..],
        &["show", path, "--config", "--json"],
        &["show", path],
        &["list", path, "--json"],
        &["health", path, "--json"],
    ]
    .iter()
    .map(|a| a.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    let node = node_batch(
        &argvs
            .iter()
            .map(|a| (a.clone(), f.hub()))
            .collect::<Vec<_>>(),
    );
    for (argv, theirs) in argvs.iter().zip(&node) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let ours = f.run(&args);
        for run in [&ours, theirs] {
            let text = format!("{}{}", run.stdout_text(), run.stderr_text());
            assert!(
                !text.contains(zoo::SECRET) && !text.contains("31337"),
                "{argv:?}: {text}"
            );
        }
        assert_eq!(ours.stdout, theirs.stdout, "{argv:?}");
    }
    let (_, v) = f.json(&["show", path]);
    assert_eq!(v["data"]["model"]["health"], "unhealthy");
    assert_eq!(
        v["data"]["model"]["reason"],
        "Link escapes the cache: README.md"
    );
}

#[test]
fn the_cli_and_the_npm_package_answer_alike() {
    let f = Folder::new();
    pin(&f.model("tiny"), "org/tiny");
    f.model("bare");
    let ws = f.ws();
    let p = |n: &str| ws.join(n).to_str().unwrap().to_owned();
    let cases: Vec<Vec<String>> = [
        vec!["list".to_owned(), p("")],
        vec!["list".to_owned(), p("t")],
        vec![
            "list".to_owned(),
            p(""),
            "--all".to_owned(),
            "--health".to_owned(),
            "--verbose".to_owned(),
        ],
        vec!["show".to_owned(), p("tiny")],
        vec!["show".to_owned(), p("tiny"), "--files".to_owned()],
        vec!["show".to_owned(), p("bare"), "--config".to_owned()],
        vec!["health".to_owned(), p("tiny")],
        vec!["health".to_owned(), p("missing")],
        vec!["rm".to_owned(), p("tiny")],
    ]
    .into_iter()
    .flat_map(|argv| {
        let mut json = argv.clone();
        json.push("--json".into());
        [argv, json]
    })
    .collect();
    let node = node_batch(
        &cases
            .iter()
            .map(|a| (a.clone(), f.hub()))
            .collect::<Vec<_>>(),
    );
    for (argv, theirs) in cases.iter().zip(&node) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let ours = f.run(&args);
        assert_eq!(ours, *theirs, "{argv:?}");
        if argv.last().is_some_and(|a| a == "--json") {
            assert_valid(&ours.json());
        }
    }
}

#[test]
fn recalc_hash_pins_a_managed_workspace_and_refuses_the_rest() {
    let f = Folder::new();
    let tiny = f.model("tiny");
    pin(&tiny, "org/tiny");
    let path = tiny.to_str().unwrap();
    fs::write(tiny.join("notes.txt"), "new").unwrap();
    let (_, v) = f.json(&["show", path]);
    assert_eq!(v["data"]["model"]["clean"], false);
    let old = v["data"]["model"]["content_hash"].clone();

    let run = f.run(&["show", path, "--recalc-hash", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    let v = run.json();
    assert_valid(&v);
    let keys: Vec<&str> = v["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["model", "workspace_metadata", "hash_updated", "metadata"]
    );
    assert_eq!(v["data"]["model"]["clean"], true);
    assert_ne!(v["data"]["model"]["content_hash"], old);
    let sentinel: Value =
        serde_json::from_slice(&fs::read(tiny.join(".mlxk_workspace.json")).unwrap()).unwrap();
    assert_eq!(sentinel["content_hash"], v["data"]["model"]["content_hash"]);
    assert_eq!(sentinel["operation"], "clone", "other keys are kept");
    assert!(
        sentinel["file_index"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "notes.txt")
    );
    let keys: Vec<&str> = sentinel
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys[..6],
        [
            "mlxk_version",
            "created_at",
            "source_repo",
            "source_revision",
            "managed",
            "operation"
        ]
    );
    let human = f.run(&["show", path, "--recalc-hash"]).stdout_text();
    assert!(
        human.ends_with("\nHash recalculated and stored (workspace now marked as clean)\n"),
        "{human}"
    );

    // Unmanaged: nothing written, a warning, no hash_updated; the envelope is still a success.
    let bare = f.model("bare");
    let run = f.run(&["show", bare.to_str().unwrap(), "--recalc-hash", "--json"]);
    assert_eq!(run.code, 0);
    assert!(run.json()["data"].get("hash_updated").is_none());
    assert_eq!(
        run.stderr_text(),
        format!(
            "Cannot update hash: not a managed workspace: {}\n",
            bare.display()
        )
    );
    assert!(!bare.join(".mlxk_workspace.json").exists());

    // A link out of the workspace: the hash cannot be computed, the sentinel stays.
    std::os::unix::fs::symlink("/etc/hostname", tiny.join("outside")).unwrap();
    let before = fs::read(tiny.join(".mlxk_workspace.json")).unwrap();
    let run = f.run(&["show", path, "--recalc-hash", "--json"]);
    assert!(run.json()["data"].get("hash_updated").is_none());
    // The sandbox will not even read an absolute link's text, so it is not quoted.
    assert_eq!(
        run.stderr_text(),
        format!(
            "Symlink outside workspace root refused: outside -> <outside the workspace>\nCannot compute v2 hash for {path}\n"
        )
    );
    assert_eq!(fs::read(tiny.join(".mlxk_workspace.json")).unwrap(), before);
    // Without the flag the folder is mounted read-only: a plain show writes nothing.
    fs::remove_file(tiny.join("outside")).unwrap();
    let (_, v) = f.json(&["show", path]);
    assert_eq!(v["data"]["model"]["clean"], true);

    // The npm package does the same.
    let nodes = node_batch(&[(
        vec![
            "show".into(),
            path.into(),
            "--recalc-hash".into(),
            "--json".into(),
        ],
        f.hub(),
    )]);
    assert_eq!(nodes[0].json()["data"]["hash_updated"], true);
}

#[test]
fn the_workspace_home_answers_alike_in_both_runtimes() {
    let f = Folder::new();
    pin(&f.model("tiny-ws"), "org/tiny");
    f.model("zeta");
    fs::create_dir_all(f.ws().join("not-a-workspace")).unwrap();
    // A cached model the home shadows in `health` (same short name), and one it does not.
    let cache = tests::CacheFixture::new();
    for repo in ["org/zeta", "org/other"] {
        cache
            .model(repo)
            .git_ref("main", zoo::A)
            .snapshot(zoo::A)
            .file("config.json", zoo::cfg("llama"))
            .file("model.safetensors", safetensors(16))
            .file("tokenizer.json", "{}")
            .file("tokenizer_config.json", "{}");
    }
    cache.freeze_mtimes();
    let hub = cache.path().to_path_buf();
    let home = f.ws();
    let cases: Vec<Vec<&str>> = vec![
        vec!["list", "--json"],
        vec!["list", "--all"],
        vec!["list", "ti", "--json"],
        vec!["health", "--json"],
        vec!["health"],
        vec!["health", "zet", "--json"],
        vec!["show", "tiny", "--json"],
        vec!["show", "org/other", "--json"],
        vec!["rm", "zeta", "--json"],
    ];
    let node = tests::runners::node_batch_with(
        &cases
            .iter()
            .map(|a| (a.iter().map(|s| (*s).to_owned()).collect(), hub.clone()))
            .collect::<Vec<_>>(),
        &[("MLXK_WORKSPACE_HOME", home.to_str().unwrap())],
    );
    for (argv, theirs) in cases.iter().zip(&node) {
        let ours = tests::runners::cli_with(
            "mlxk",
            argv,
            Some(&hub),
            &[("MLXK_WORKSPACE_HOME", home.as_path())],
        );
        assert_eq!(ours, *theirs, "{argv:?}");
        if argv.last() == Some(&"--json") {
            assert_valid(&ours.json());
        }
    }
    let v = serde_json::from_slice::<Value>(&node[3].stdout).unwrap();
    let names: Vec<&str> = v["data"]["healthy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["tiny-ws", "zeta", "org/other"],
        "home first; org/zeta shadowed"
    );
    let rm = serde_json::from_slice::<Value>(&node[8].stdout).unwrap();
    assert_eq!(rm["error"]["type"], "workspace_model");
    assert!(home.join("zeta").is_dir());
}

/// workspaces-reference §1.11 W12, W13, W16–W20, on both runtimes.
#[test]
fn the_remaining_edge_cases_of_2_0_8() {
    let f = Folder::new();
    let ws = f.ws();
    // W12: a v1 sentinel (no algorithm), migrated by --recalc-hash.
    let w12 = f.model("w12");
    pin(&w12, "org/tiny");
    let mut s: Value =
        serde_json::from_slice(&fs::read(w12.join(".mlxk_workspace.json")).unwrap()).unwrap();
    for k in ["hash_algorithm", "file_index", "exclude_patterns"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s["content_hash"] = json!("abc123def4567890");
    fs::write(w12.join(".mlxk_workspace.json"), s.to_string()).unwrap();
    // W13: a plain copy of a cache snapshot (no sentinel, PyTorch weights).
    let w13 = ws.join("w13");
    fs::create_dir_all(&w13).unwrap();
    fs::write(w13.join("config.json"), r#"{"model_type":"llama"}"#).unwrap();
    fs::write(w13.join("pytorch_model.bin"), vec![1u8; 64]).unwrap();
    // W16: a header length of 10^9: health does not read headers; the hash cannot be made.
    let w16 = f.model("w16");
    pin(&w16, "org/tiny");
    let mut st = fs::read(w16.join("model.safetensors")).unwrap();
    st[..8].copy_from_slice(&1_000_000_000u64.to_le_bytes());
    fs::write(w16.join("model.safetensors"), st).unwrap();
    // W17: a file name that is not UTF-8.
    let w17 = f.model("w17");
    fs::write(
        w17.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"\xff.bin")),
        "x",
    )
    .unwrap();
    // W18: a leftover sentinel temp file.
    let w18 = f.model("w18");
    fs::write(w18.join(".mlxk_workspace.json.tmp"), "{}").unwrap();
    // W19: a workspace named through a link is named by its target.
    std::os::unix::fs::symlink(&w13, ws.join("link19")).unwrap();
    // W20: a sentinel but no config.json is not a workspace.
    let w20 = ws.join("w20");
    fs::create_dir_all(&w20).unwrap();
    fs::write(w20.join(".mlxk_workspace.json"), r#"{"managed": true}"#).unwrap();

    let p = |n: &str| ws.join(n).to_str().unwrap().to_owned();
    let cases: Vec<Vec<String>> = vec![
        vec!["list".into(), p(""), "--json".into()],
        vec!["show".into(), p("w13"), "--json".into()],
        vec!["show".into(), p("w17"), "--json".into()],
        vec!["health".into(), p("w18"), "--json".into()],
        vec!["show".into(), p("link19"), "--json".into()],
        vec!["list".into(), p("w20"), "--json".into()],
        vec!["health".into(), p("w20"), "--json".into()],
        vec!["show".into(), p("w16"), "--json".into()],
    ];
    let node = node_batch(
        &cases
            .iter()
            .map(|a| (a.clone(), f.hub()))
            .collect::<Vec<_>>(),
    );
    let mut out = Vec::new();
    for (argv, theirs) in cases.iter().zip(&node) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let ours = f.run(&args);
        assert_eq!(ours, *theirs, "{argv:?}");
        let v = ours.json();
        assert_valid(&v);
        out.push(v);
    }
    let by = |n: &str| {
        out[0]["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == p(n).as_str())
            .unwrap_or_else(|| panic!("{n}: {:#}", out[0]))
            .clone()
    };
    assert_eq!(by("w12")["clean"], Value::Null, "a v1 hash is unknown");
    assert_eq!(by("w12")["content_hash"], "abc123def4567890");
    assert_eq!(by("w13")["clean"], Value::Null);
    assert_eq!(by("w13")["framework"], "PyTorch");
    assert_eq!(
        (by("w16")["health"].clone(), by("w16")["clean"].clone()),
        (json!("healthy"), json!(false))
    );
    assert_eq!(by("w17")["health"], "unhealthy");
    assert_eq!(
        by("w17")["reason"],
        "Unreadable folder: . (a file name is not valid UTF-8)",
        "a clear reason, not a crash"
    );
    assert_eq!(by("w18")["health"], "unhealthy");
    assert_eq!(out[1]["data"]["workspace_metadata"], json!({}));
    assert_eq!(
        out[3]["data"]["unhealthy"][0]["reason"],
        "Partial download marker detected"
    );
    assert_eq!(out[4]["data"]["model"]["name"], p("w13").as_str(), "W19");
    assert_eq!(out[5]["data"]["count"], 0, "W20");
    assert_eq!(out[6]["data"]["summary"]["total"], 0, "W20");
    assert!(
        !out[0]["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == p("w20").as_str()),
        "W20 is not listed"
    );

    // W12 migrates; W16 cannot be pinned and says why, leaving the sentinel as it was.
    let (code, v) = f.json(&["show", &p("w12"), "--recalc-hash"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["hash_updated"], true);
    assert_eq!(v["data"]["model"]["clean"], true);
    let before = fs::read(w16.join(".mlxk_workspace.json")).unwrap();
    let run = f.run(&["show", &p("w16"), "--recalc-hash", "--json"]);
    assert_eq!(run.code, 0);
    assert!(run.json()["data"].get("hash_updated").is_none());
    assert!(
        run.stderr_text().contains("Cannot compute v2 hash for"),
        "{}",
        run.stderr_text()
    );
    assert_eq!(fs::read(w16.join(".mlxk_workspace.json")).unwrap(), before);
}
