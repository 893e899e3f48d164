//! `mlxk convert --repair-index` on real folders (workspaces-reference §3, edge cases
//! V1–V15), and against the real MLX-Knife 2.0.8: the same rebuilt index.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tests::hub::reference_mlxk;
use tests::runners::cli_in;
use tests::schema::assert_valid;
use tests::{Run, target_dir};

/// A safetensors file holding `names` (one F32 each, `n` values).
fn shard(names: &[&str], n: usize) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        header.insert(
            (*name).to_owned(),
            json!({"dtype": "F32", "shape": [n], "data_offsets": [i * n * 4, (i + 1) * n * 4]}),
        );
    }
    header.insert("__metadata__".into(), json!({"format": "mlx"}));
    let mut h = serde_json::to_vec(&Value::Object(header)).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend(std::iter::repeat_n(0u8, names.len() * n * 4));
    out
}

const FIRST: &[&str] = &[
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.0.self_attn.k_proj.weight",
];
const SECOND: &[&str] = &[
    "model.norm.weight",
    "lm_head.weight",
    "model.layers.0.self_attn.v_proj.weight",
    "model.layers.0.self_attn.o_proj.weight",
];

/// The #624 case: two shards, an index naming a shard that is not there (with a wrong
/// total), as mlx-vlm's conversion bug left them.
fn broken(dir: &Path) -> PathBuf {
    let ws = dir.join("src1");
    fs::create_dir_all(ws.join("subdir")).unwrap();
    fs::write(
        ws.join("config.json"),
        r#"{"model_type":"llama","quantization":{"bits":4,"group_size":64}}"#,
    )
    .unwrap();
    fs::write(ws.join("tokenizer.json"), r#"{"model":{}}"#).unwrap();
    fs::write(ws.join("tokenizer_config.json"), r#"{"bos_token":"<s>"}"#).unwrap();
    fs::write(ws.join("model-00001-of-00002.safetensors"), shard(FIRST, 8)).unwrap();
    fs::write(
        ws.join("model-00002-of-00002.safetensors"),
        shard(SECOND, 4),
    )
    .unwrap();
    let all: serde_json::Map<String, Value> = FIRST
        .iter()
        .chain(SECOND)
        .map(|n| ((*n).to_owned(), json!("model-00001-of-00003.safetensors")))
        .collect();
    fs::write(
        ws.join("model.safetensors.index.json"),
        serde_json::to_vec(&json!({"metadata": {"total_size": 999_999}, "weight_map": all}))
            .unwrap(),
    )
    .unwrap();
    fs::write(ws.join("subdir/x.txt"), "kept here").unwrap();
    ws
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cache: PathBuf,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let cache = dir.join("hf/hub");
        fs::create_dir_all(&cache).unwrap();
        Self {
            _tmp: tmp,
            dir,
            cache,
        }
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &Path)]) -> Run {
        cli_in(Some(&self.dir), "mlxk", args, Some(&self.cache), env)
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    fn convert(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["convert"];
        all.extend_from_slice(args);
        all.push("--json");
        let run = self.run(&all);
        let v = run.json();
        assert_valid(&v);
        (run.code, v)
    }
}

fn index(ws: &Path) -> Value {
    serde_json::from_slice(&fs::read(ws.join("model.safetensors.index.json")).unwrap()).unwrap()
}

#[test]
fn v1_a_broken_index_is_rebuilt_into_a_clean_managed_workspace() {
    let w = World::new();
    let src = broken(&w.dir);
    let health = w.run(&["health", "./src1", "--json"]).json();
    let reason = health["data"]["unhealthy"][0]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("{health:#}"));
    assert!(
        reason.starts_with("Index/shard mismatch (mlx-vlm #624)"),
        "{reason}"
    );

    let (code, v) = w.convert(&["./src1", "./out1", "--repair-index"]);
    assert_eq!(code, 0, "{v:#}");
    let out = w.dir.join("out1");
    let sentinel: Value =
        serde_json::from_slice(&fs::read(out.join(".mlxk_workspace.json")).unwrap()).unwrap();
    assert_eq!(
        v["data"],
        json!({
            "source": "./src1",
            "target": "./out1",
            "mode": "repair-index",
            "health_check": true,
            "message": "Index rebuilt successfully",
            "health_status": "healthy",
            "health_reason": "Multi-file model complete",
            "content_hash": sentinel["content_hash"],
        })
    );
    let sizes: u64 = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]
    .iter()
    .map(|s| fs::metadata(src.join(s)).unwrap().len())
    .sum();
    let idx = index(&out);
    assert_eq!(idx["metadata"], json!({"total_size": sizes}));
    let mut first: Vec<&str> = FIRST.to_vec();
    first.sort_unstable();
    let mut second: Vec<&str> = SECOND.to_vec();
    second.sort_unstable();
    let order: Vec<&str> = idx["weight_map"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        order,
        [first, second].concat(),
        "shard by shard, each in name order"
    );
    assert_eq!(
        idx["weight_map"]["lm_head.weight"],
        "model-00002-of-00002.safetensors"
    );
    // Written as 2.0.8 writes it: indent 2, a final newline.
    let text = fs::read_to_string(out.join("model.safetensors.index.json")).unwrap();
    assert!(
        text.starts_with("{\n  \"metadata\": {\n    \"total_size\": "),
        "{text}"
    );
    assert!(text.ends_with("}\n"));

    // The sentinel: convert's key order; the source was unmanaged, so its path.
    let keys: Vec<&str> = sentinel
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "mlxk_version",
            "created_at",
            "source_repo",
            "source_revision",
            "managed",
            "operation",
            "mode",
            "hash_algorithm",
            "content_hash",
            "hash_modified",
            "exclude_patterns",
            "file_index"
        ]
    );
    assert_eq!(sentinel["source_repo"], src.to_str().unwrap());
    assert_eq!(sentinel["source_revision"], Value::Null);
    // Unlike 2.0.8, subfolders come along; mtimes are kept; the source is untouched.
    assert_eq!(
        fs::read_to_string(out.join("subdir/x.txt")).unwrap(),
        "kept here"
    );
    assert_eq!(
        fs::metadata(out.join("config.json"))
            .unwrap()
            .modified()
            .unwrap(),
        fs::metadata(src.join("config.json"))
            .unwrap()
            .modified()
            .unwrap()
    );
    assert_eq!(index(&src)["metadata"]["total_size"], 999_999);
    let show = w.run(&["show", "./out1", "--json"]).json();
    assert_eq!(show["data"]["model"]["clean"], true);
    assert_eq!(show["data"]["model"]["health"], "healthy");

    // Human form.
    let run = w.run(&["convert", "./src1", "./out2", "--repair-index"]);
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    assert_eq!(
        run.stdout_text(),
        "convert: ./src1 \u{2192} ./out2\n  Mode: repair-index\n  Index rebuilt successfully\n  \u{2713} Health check: passed\n"
    );

    // V2: the same target again.
    let (code, v) = w.convert(&["./src1", "./out1", "--repair-index"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "ValueError");
    assert_eq!(
        v["error"]["message"],
        "Target directory not empty: ./out1\nConvert requires empty target workspace. Use different path or delete contents."
    );

    // V10-like: a managed source passes its origin on.
    let (code, _) = w.convert(&["./out1", "./out3", "--repair-index"]);
    assert_eq!(code, 0);
    let s3: Value =
        serde_json::from_slice(&fs::read(w.dir.join("out3/.mlxk_workspace.json")).unwrap())
            .unwrap();
    assert_eq!(s3["source_repo"], src.to_str().unwrap());
}

#[test]
fn v3_to_v7_bad_sources_and_targets_are_refused_before_anything_is_written() {
    let w = World::new();
    broken(&w.dir);
    let hf_home = w.cache.parent().unwrap().to_path_buf();
    fs::create_dir_all(w.cache.join("models--org--m/snapshots/abc")).unwrap();
    fs::write(
        w.cache.join("models--org--m/snapshots/abc/config.json"),
        "{}",
    )
    .unwrap();
    let snapshot = w.cache.join("models--org--m/snapshots/abc");
    let in_home = hf_home.join("out");
    let cases: Vec<(Vec<&str>, &str, String)> = vec![
        (
            vec!["./nope", "./o"],
            "ValueError",
            "Source path does not exist: ./nope".into(),
        ),
        (
            vec!["./src1/config.json", "./o"],
            "ValueError",
            "Source must be a directory: ./src1/config.json".into(),
        ),
        (
            vec![snapshot.to_str().unwrap(), "./o"],
            "ValueError",
            format!(
                "Source path is in HF cache (read-only): {}\nConvert operates on workspaces only. Use 'mlxk clone' first to create a workspace:\n  mlxk clone <model> ./workspace\n  mlxk convert ./workspace ./workspace-fixed --repair-index",
                snapshot.display()
            ),
        ),
        (
            vec!["./src1", in_home.to_str().unwrap()],
            "ValueError",
            format!(
                "Target path is in HF cache (read-only): {}\nConvert cannot write to cache. Choose workspace location outside cache:\n  mlxk convert ./src1 ./fixed-workspace --repair-index",
                in_home.display()
            ),
        ),
        (
            vec!["", "./o"],
            "ValidationError",
            "Invalid source path: empty".into(),
        ),
        (
            vec!["./src1", " "],
            "ValidationError",
            "Invalid target path: empty".into(),
        ),
    ];
    for (paths, kind, message) in cases {
        let mut args = paths.clone();
        args.push("--repair-index");
        let (code, v) = w.convert(&args);
        assert_eq!(code, 1, "{paths:?}: {v:#}");
        assert_eq!(v["error"]["type"], kind, "{paths:?}");
        assert_eq!(v["error"]["message"], message.as_str(), "{paths:?}");
        assert_eq!(
            v["data"]["mode"], "repair-index",
            "the four base keys are kept: {v:#}"
        );
    }
    assert!(!w.dir.join("o").exists());
    assert!(!in_home.exists(), "nothing is written under HF_HOME");
}

#[test]
fn v8_v9_a_source_without_config_fails_health_unless_skipped() {
    let w = World::new();
    let src = broken(&w.dir);
    fs::remove_file(src.join("config.json")).unwrap();
    let (code, v) = w.convert(&["./src1", "./o8", "--repair-index"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "HealthCheckFailed");
    assert_eq!(
        v["error"]["message"],
        "Output workspace failed health check: No config.json found in workspace"
    );
    assert_eq!(v["data"]["health_status"], "unhealthy");
    assert!(
        w.dir.join("o8/model.safetensors.index.json").is_file(),
        "target kept"
    );

    let run = w.run(&[
        "convert",
        "./src1",
        "./o9",
        "--repair-index",
        "--skip-health",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    let v = run.json();
    assert_eq!(v["data"]["health_check"], false);
    assert!(v["data"].get("content_hash").is_none(), "{v:#}");
    assert!(
        run.stderr_text().contains(&format!(
            "Cannot compute v2 hash for {}",
            w.dir.join("o9").display()
        )),
        "{}",
        run.stderr_text()
    );
    let s: Value =
        serde_json::from_slice(&fs::read(w.dir.join("o9/.mlxk_workspace.json")).unwrap()).unwrap();
    assert!(s.get("content_hash").is_none());
}

#[test]
fn v11_to_v13_single_files_duplicates_and_garbage() {
    let w = World::new();
    let single = w.dir.join("single");
    fs::create_dir_all(&single).unwrap();
    fs::write(single.join("config.json"), r#"{"model_type":"llama"}"#).unwrap();
    fs::write(single.join("model.safetensors"), shard(FIRST, 2)).unwrap();
    fs::write(
        single.join("model.safetensors.index.json"),
        r#"{"weight_map":{"model.embed_tokens.weight":"model.safetensors"}}"#,
    )
    .unwrap();
    fs::write(single.join("tokenizer.json"), "{}").unwrap();
    let (code, v) = w.convert(&["./single", "./s-out", "--repair-index"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["data"]["message"],
        "No index to rebuild (single-file model or no safetensors found)"
    );
    assert!(!w.dir.join("s-out/model.safetensors.index.json").exists());

    let dup = broken(&w.dir.join("dup"));
    fs::write(
        dup.join("model-00002-of-00002.safetensors"),
        shard(&["model.embed_tokens.weight", "lm_head.weight"], 2),
    )
    .unwrap();
    let (code, v) = w.convert(&["./dup/src1", "./d-out", "--repair-index"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "ValueError");
    assert_eq!(
        v["error"]["message"],
        "Failed to read shard model-00002-of-00002.safetensors: Duplicate tensor key 'model.embed_tokens.weight' found in multiple shards: model-00001-of-00002.safetensors and model-00002-of-00002.safetensors"
    );

    let garbage = broken(&w.dir.join("garbage"));
    fs::write(garbage.join("model-00002-of-00002.safetensors"), "garbage").unwrap();
    let (code, v) = w.convert(&["./garbage/src1", "./g-out", "--repair-index"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["error"]["message"],
        "Failed to read shard model-00002-of-00002.safetensors: Error while deserializing header: header too small"
    );
    // A failed repair keeps what it wrote, as 2.0.8 does.
    assert!(w.dir.join("g-out/.mlxk_workspace.json").is_file());
}

#[test]
fn v14_argument_checks_answer_with_data_null() {
    let w = World::new();
    broken(&w.dir);
    for (extra, message) in [
        (
            &["--repair-index", "--quantize", "4"][..],
            "--repair-index and --quantize are mutually exclusive",
        ),
        (
            &[],
            "Must specify conversion mode (--repair-index or --quantize N)",
        ),
        (
            &["--quantize", "0"],
            "Must specify conversion mode (--repair-index or --quantize N)",
        ),
        (
            &["--quantize", "5"],
            "--quantize must be 2, 3, 4, 6, or 8 (got 5)",
        ),
    ] {
        let mut args = vec!["convert", "./src1", "./o"];
        args.extend_from_slice(extra);
        args.push("--json");
        let run = w.run(&args);
        assert_eq!(run.code, 1, "{extra:?}");
        let text = run.stdout_text();
        let v = run.json();
        assert_valid(&v);
        assert_eq!(v["error"]["type"], "InvalidArgumentError");
        assert_eq!(v["error"]["message"], message);
        assert!(
            text.find("\"data\":").unwrap() < text.find("\"error\":").unwrap(),
            "{text}"
        );
        let human = w.run(&args[..args.len() - 1]);
        assert_eq!(human.stderr_text(), format!("convert: Error: {message}\n"));
    }
    let run = w.run(&["convert", "./src1", "./o", "--quantize", "abc", "--json"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.json()["error"]["message"],
        "argument --quantize: invalid int value: 'abc'"
    );
    // A valid --quantize with no engine says how to get one, and writes nothing.
    let run = w.run_env(
        &["convert", "./src1", "./o", "--quantize", "4", "--json"],
        &[("MLXK_PYTHON", Path::new("/nonexistent/python3"))],
    );
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(v["error"]["type"], "engine_not_found", "{v:#}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pip install mlx-lm"),
        "{v:#}"
    );
    assert!(!w.dir.join("o").exists());
}

#[test]
fn v15_bare_names_go_into_the_workspace_home() {
    let w = World::new();
    let home = w.dir.join("home");
    fs::create_dir_all(&home).unwrap();
    broken(&home);
    let env = [("MLXK_WORKSPACE_HOME", home.as_path())];
    let run = w.run_env(
        &["convert", "src1", "fixed", "--repair-index", "--json"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    let v = run.json();
    assert_eq!(v["data"]["source"], home.join("src1").to_str().unwrap());
    assert_eq!(v["data"]["target"], home.join("fixed").to_str().unwrap());
    assert!(home.join("fixed/model.safetensors.index.json").is_file());
    let run = w.run_env(
        &["convert", "nosuch", "x", "--repair-index", "--json"],
        &env,
    );
    assert_eq!(
        run.json()["error"]["message"],
        "Source path does not exist: nosuch"
    );
}

#[test]
fn links_out_of_the_source_are_refused_and_leak_nothing() {
    let w = World::new();
    let src = broken(&w.dir);
    let secret = w.dir.join("secret.txt");
    fs::write(&secret, "TOP-SECRET-BYTES").unwrap();
    std::os::unix::fs::symlink(&secret, src.join("notes.txt")).unwrap();
    let run = w.run(&["convert", "./src1", "./o", "--repair-index", "--json"]);
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(
        v["error"]["message"],
        "Symlink outside the source refused: notes.txt"
    );
    for f in fs::read_dir(w.dir.join("o")).unwrap() {
        let bytes = fs::read(f.unwrap().path()).unwrap_or_default();
        assert!(!bytes.windows(10).any(|x| x == b"TOP-SECRET"));
    }
    assert!(!run.stdout_text().contains("TOP-SECRET") && !run.stderr_text().contains("TOP-SECRET"));
    // A link inside the source is copied as the file it names.
    fs::remove_file(src.join("notes.txt")).unwrap();
    std::os::unix::fs::symlink("tokenizer.json", src.join("tok-link.json")).unwrap();
    let (code, v) = w.convert(&["./src1", "./o2", "--repair-index"]);
    assert_eq!(code, 0, "{v:#}");
    let meta = fs::symlink_metadata(w.dir.join("o2/tok-link.json")).unwrap();
    assert!(meta.file_type().is_file());
}

#[test]
fn the_originals_repair_gives_the_same_index() {
    let w = World::new();
    broken(&w.dir);
    let out = Command::new(reference_mlxk())
        .args(["convert", "./src1", "./theirs", "--repair-index", "--json"])
        .current_dir(&w.dir)
        .env("HF_HOME", w.dir.join("ref-home"))
        .env_remove("MLXK_WORKSPACE_HOME")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (code, mine) = w.convert(&["./src1", "./mine", "--repair-index"]);
    assert_eq!(code, 0);
    assert_eq!(
        fs::read(w.dir.join("mine/model.safetensors.index.json")).unwrap(),
        fs::read(w.dir.join("theirs/model.safetensors.index.json")).unwrap(),
        "byte-identical index"
    );
    // The same envelope but for the target's name; the content hash differs only by the
    // subfolder 2.0.8 leaves behind.
    let strip = |mut v: Value| {
        v["data"]["target"] = Value::Null;
        v["data"]["content_hash"] = Value::Null;
        v
    };
    assert_eq!(strip(mine), strip(theirs));
    fs::remove_dir_all(w.dir.join("mine/subdir")).unwrap();
    let ours = Command::new(target_dir().join("release/mlxk"))
        .args(["show", "./mine", "--recalc-hash", "--json", "--cache-dir"])
        .arg(&w.cache)
        .current_dir(&w.dir)
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .output()
        .unwrap();
    let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let sentinel: Value =
        serde_json::from_slice(&fs::read(w.dir.join("theirs/.mlxk_workspace.json")).unwrap())
            .unwrap();
    assert_eq!(
        ours["data"]["model"]["content_hash"],
        sentinel["content_hash"]
    );
}
