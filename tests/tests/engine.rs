//! `run` on the real mlx-lm (workspaces-reference §5.2): a tiny functional Llama the suite
//! builds with mlx-lm's own model classes, run from a workspace and from the cache, streamed
//! and not, and every refusal (not found, ambiguous, unhealthy, not runnable, no engine).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tests::runners::{cli_in, repo_root};
use tests::schema::assert_valid;
use tests::{CacheFixture, Run, zoo};

/// A Python with mlx-lm: `MLXK_TEST_ENGINE_PYTHON`, else the reference venv's (mlx-knife
/// 2.0.8 brings mlx-lm and mlx[cpu]).
fn engine_python() -> PathBuf {
    let path = std::env::var_os("MLXK_TEST_ENGINE_PYTHON").map_or_else(
        || repo_root().join(".venv-reference/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask test` creates the venv with mlx-lm",
        path.display()
    );
    path
}

/// The tiny Llama (4-bit, group size 32), built into `dir` by mlx-lm itself.
fn tiny_llama(dir: &Path) -> PathBuf {
    let out = dir.join("tiny");
    let st = Command::new(engine_python())
        .arg(repo_root().join("tests/engine/tiny_llama.py"))
        .arg(&out)
        .arg("--quantize")
        .status()
        .unwrap();
    assert!(st.success(), "tiny_llama.py failed");
    out
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cache: CacheFixture,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let model = tiny_llama(&dir);
        let cache = CacheFixture::new();
        // The same model in the cache, and a second copy (for an ambiguous name).
        for repo in ["org/tiny-llama", "org/tiny-llama-copy"] {
            let snap = cache.model(repo).git_ref("main", zoo::A).snapshot(zoo::A);
            for e in fs::read_dir(&model).unwrap() {
                let e = e.unwrap();
                snap.file(e.file_name().to_str().unwrap(), fs::read(e.path()).unwrap());
            }
        }
        cache
            .model("org/pytorch")
            .git_ref("main", zoo::A)
            .snapshot(zoo::A)
            .file("config.json", zoo::cfg("llama"))
            .file("pytorch_model.bin", vec![1u8; 64])
            .file("tokenizer.json", "{}")
            .file("tokenizer_config.json", "{}");
        cache
            .model("org/broken")
            .git_ref("main", zoo::A)
            .snapshot(zoo::A)
            .file("config.json", zoo::cfg("llama"))
            .file(
                "model.safetensors.index.json",
                r#"{"weight_map":{"a":"model-00001-of-00002.safetensors"}}"#,
            );
        Self {
            _tmp: tmp,
            dir,
            cache,
        }
    }

    fn run_env(&self, args: &[&str], python: &Path) -> Run {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        cli_in(
            Some(&self.dir),
            "mlxk",
            &all,
            Some(self.cache.path()),
            &[("MLXK_PYTHON", python)],
        )
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &engine_python())
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

#[test]
fn a_tiny_llama_runs_from_a_workspace_and_from_the_cache() {
    let w = World::new();
    let greedy = ["--max-tokens", "5", "--temperature", "0"];
    let mut args = vec!["./tiny", "hello world"];
    args.extend_from_slice(&greedy);
    let (code, v) = w.json(&args);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["model"], "./tiny");
    assert_eq!(v["data"]["prompt"], "hello world");
    assert_eq!(v["data"]["finish_reason"], "length");
    let response = v["data"]["response"].as_str().unwrap().to_owned();
    assert!(!response.trim().is_empty(), "{v:#}");
    // The envelope's key order is 2.0.8's: status, command, data, error.
    let text = w.run(&[&args[..], &["--json"]].concat()).stdout_text();
    assert!(text.find("\"data\"").unwrap() < text.find("\"error\": null").unwrap());

    // The same greedy answer from the cache copy, by a unique short name.
    let (code, v) = w.json(&[
        "org/tiny-llama",
        "hello world",
        "--max-tokens",
        "5",
        "--temperature",
        "0",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["data"]["response"], response.as_str());

    // Streamed and not, the same text; the cut is announced on stderr.
    let streamed = w.run(&args);
    assert_eq!(streamed.code, 0, "{}", streamed.stderr_text());
    let plain = w.run(&[&args[..], &["--no-stream"]].concat());
    assert_eq!(streamed.stdout_text(), format!("{response}\n"));
    assert_eq!(plain.stdout_text(), streamed.stdout_text());
    assert!(
        streamed.stderr_text().contains(
            "[Output cut at 5 tokens (--max-tokens). Pass a larger --max-tokens to allow more.]"
        ),
        "{}",
        streamed.stderr_text()
    );
    // `--prompt` and `-` (stdin) are the same prompt.
    let flag = w.run(&[
        "./tiny",
        "--prompt",
        "hello world",
        "--max-tokens",
        "5",
        "--temperature",
        "0",
    ]);
    assert_eq!(flag.stdout_text(), streamed.stdout_text());
}

#[test]
fn what_cannot_run_is_refused_before_the_engine_starts() {
    let w = World::new();
    let (code, v) = w.json(&["nope-model", "hi"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "execution_error");
    assert_eq!(
        v["error"]["message"],
        format!(
            "Model 'nope-model' not found in cache. Expected at: {}/models--nope-model. Try running: mlxk pull nope-model",
            w.cache.path().display()
        )
    );
    assert_eq!(v["data"], Value::Null);
    let (code, v) = w.json(&["tiny", "hi"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["type"], "ambiguous_match", "{v:#}");
    let (code, v) = w.json(&["org/pytorch", "hi"]);
    assert_eq!(code, 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Model 'org/pytorch' is not compatible: "),
        "{msg}"
    );
    let (code, v) = w.json(&["org/broken", "hi"]);
    assert_eq!(code, 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Model 'org/broken' is not compatible: "),
        "{msg}"
    );
    // Human form.
    let run = w.run(&["nope-model", "hi"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr_text()
            .starts_with("Error: Model 'nope-model' not found in cache.")
    );
    // No engine.
    let run = w.run_env(
        &["./tiny", "hi", "--json"],
        Path::new("/nonexistent/python3"),
    );
    assert_eq!(run.code, 1);
    let v = run.json();
    assert_eq!(v["error"]["type"], "engine_not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pip install mlx-lm")
    );
    // JSON needs a prompt.
    let (code, v) = w.json(&["./tiny"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["error"]["message"],
        "Interactive mode not compatible with JSON output"
    );
}

#[test]
fn a_chat_on_stdin_keeps_its_history() {
    let w = World::new();
    let mut child = Command::new(tests::target_dir().join("release/mlxk"))
        .args([
            "run",
            "./tiny",
            "--max-tokens",
            "3",
            "--temperature",
            "0",
            "--cache-dir",
        ])
        .arg(w.cache.path())
        .current_dir(&w.dir)
        .env("MLXK_PYTHON", engine_python())
        .env(
            "MLXK_MODULE_CACHE",
            tests::target_dir().join("test-module-cache"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello world\n\nthe tiny model\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "two answers: {text:?}");
}

#[test]
fn convert_quantize_writes_a_managed_workspace_that_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(tmp.path()).unwrap();
    let fp16 = dir.join("fp16");
    let st = Command::new(engine_python())
        .arg(repo_root().join("tests/engine/tiny_llama.py"))
        .arg(&fp16)
        .status()
        .unwrap();
    assert!(st.success());
    let cache = CacheFixture::new();
    let python = engine_python();
    let env = [("MLXK_PYTHON", python.as_path())];
    let run = cli_in(
        Some(&dir),
        "mlxk",
        &[
            "convert",
            "./fp16",
            "./q4",
            "--quantize",
            "4",
            "--q-group-size",
            "32",
            "--json",
        ],
        Some(cache.path()),
        &env,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout_text(), run.stderr_text());
    let v = run.json();
    assert_valid(&v);
    assert_eq!(v["data"]["message"], "Quantized to 4-bit successfully");
    assert_eq!(
        (v["data"]["bits"].clone(), v["data"]["group_size"].clone()),
        (4.into(), 32.into())
    );
    assert_eq!(v["data"]["health_status"], "healthy");
    let config: Value =
        serde_json::from_slice(&fs::read(dir.join("q4/config.json")).unwrap()).unwrap();
    assert_eq!(config["quantization"]["bits"], 4, "mlx-lm quantized it");
    let sentinel: Value =
        serde_json::from_slice(&fs::read(dir.join("q4/.mlxk_workspace.json")).unwrap()).unwrap();
    assert_eq!(sentinel["mode"], "quantize");
    assert_eq!(
        sentinel["quantization"],
        serde_json::json!({"bits": 4, "group_size": 32})
    );
    assert_eq!(sentinel["content_hash"], v["data"]["content_hash"]);
    let show = cli_in(
        Some(&dir),
        "mlxk",
        &["show", "./q4", "--json"],
        Some(cache.path()),
        &env,
    )
    .json();
    assert_eq!(show["data"]["model"]["clean"], true);

    // It runs.
    let run = cli_in(
        Some(&dir),
        "mlxk",
        &["run", "./q4", "hello world", "--max-tokens", "3", "--json"],
        Some(cache.path()),
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(run.json()["data"]["finish_reason"], "length");

    // The target must not exist; a re-quantize to more bits warns.
    let run = cli_in(
        Some(&dir),
        "mlxk",
        &["convert", "./fp16", "./q4", "--quantize", "4", "--json"],
        Some(cache.path()),
        &env,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Target directory exists: ./q4\nQuantize requires target to NOT exist")
    );
    let run = cli_in(
        Some(&dir),
        "mlxk",
        &[
            "convert",
            "./q4",
            "./q8",
            "--quantize",
            "8",
            "--q-group-size",
            "32",
            "--json",
        ],
        Some(cache.path()),
        &env,
    );
    let v = run.json();
    assert_eq!(
        v["data"]["warning"],
        "Source already 4-bit. Quantizing to 8-bit does not increase precision.",
        "{v:#}"
    );
    // A config naming custom code is never run.
    let evil = dir.join("evil");
    fs::create_dir_all(&evil).unwrap();
    for f in [
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
    ] {
        fs::copy(fp16.join(f), evil.join(f)).unwrap();
    }
    fs::write(
        evil.join("config.json"),
        r#"{"model_type":"llama","model_file":"custom.py"}"#,
    )
    .unwrap();
    let run = cli_in(
        Some(&dir),
        "mlxk",
        &["convert", "./evil", "./e4", "--quantize", "4", "--json"],
        Some(cache.path()),
        &env,
    );
    assert_eq!(run.json()["error"]["type"], "UntrustedModelCodeError");
    assert!(!dir.join("e4").exists());
}
