//! `run` on the real mlx-lm (workspaces-reference §5.2): a tiny functional Llama the suite
//! builds with mlx-lm's own model classes, run from a workspace and from the cache, streamed
//! and not, and every refusal (not found, ambiguous, unhealthy, not runnable, no engine).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tests::engine::{cache_model, cache_pytorch, python, tiny_llama};
use tests::runners::cli_in;
use tests::schema::assert_valid;
use tests::{CacheFixture, Run, zoo};

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cache: CacheFixture,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let model = tiny_llama(&dir.join("tiny"), true);
        let cache = CacheFixture::new();
        // The same model in the cache, and a second copy (for an ambiguous name).
        for repo in ["org/tiny-llama", "org/tiny-llama-copy"] {
            cache_model(&cache, repo, &model);
        }
        cache_pytorch(&cache, "org/pytorch");
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
        self.run_env(args, &python())
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
    let mut run = Running::start(&w, &["./tiny", "--max-tokens", "3", "--temperature", "0"]);
    use std::io::Write;
    let mut stdin = run.child.stdin.take().unwrap();
    stdin.write_all(b"hello world\n\nthe tiny model\n").unwrap();
    drop(stdin);
    let (code, text, err) = run.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(text.lines().count(), 2, "two answers: {text:?}");
}

#[test]
fn convert_quantize_writes_a_managed_workspace_that_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(tmp.path()).unwrap();
    let fp16 = tiny_llama(&dir.join("fp16"), false);
    let cache = CacheFixture::new();
    let python = python();
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

#[test]
fn version_json_names_the_engine_it_would_run() {
    let python = python();
    let expected = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('mlx-lm'))",
        ])
        .output()
        .unwrap();
    let expected = String::from_utf8(expected.stdout).unwrap();
    let run = tests::runners::cli_with(
        "mlxk",
        &["--version", "--json"],
        None,
        &[("MLXK_PYTHON", python.as_path())],
    );
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    let v = run.json();
    assert_valid(&v);
    assert_eq!(
        v["data"]["engine"],
        serde_json::json!({
            "name": "mlx-lm",
            "version": expected.trim(),
            "python": python.to_str().unwrap(),
        })
    );
    // The human line stays the reference's.
    let run = tests::runners::cli_with(
        "mlxk",
        &["--version"],
        None,
        &[("MLXK_PYTHON", python.as_path())],
    );
    assert_eq!(
        run.stdout_text(),
        format!("mlxk {}\n", v["data"]["cli_version"].as_str().unwrap())
    );
    // No engine: null, as the npm package answers.
    let run = tests::runners::cli_with(
        "mlxk",
        &["--version", "--json"],
        None,
        &[("MLXK_PYTHON", Path::new("/nonexistent/python3"))],
    );
    assert_eq!(run.json()["data"]["engine"], Value::Null);
}

/// The tiny model with a context window of a million tokens, as `./long`.
fn endless(w: &World) -> &'static str {
    tests::engine::endless(&w.dir.join("tiny"), &w.dir.join("long"));
    "./long"
}

/// `mlxk run <args>` in the world, stdin and stdout piped; stdout is collected by a thread
/// that says when the first bytes came.
struct Running {
    child: std::process::Child,
    first: std::sync::mpsc::Receiver<()>,
    out: std::thread::JoinHandle<Vec<u8>>,
}

impl Running {
    fn start(w: &World, args: &[&str]) -> Self {
        let mut child = Command::new(tests::target_dir().join("release/mlxk"))
            .arg("run")
            .args(args)
            .arg("--cache-dir")
            .arg(w.cache.path())
            .current_dir(&w.dir)
            .env("MLXK_PYTHON", python())
            .env(
                "MLXK_MODULE_CACHE",
                tests::target_dir().join("test-module-cache"),
            )
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, first) = std::sync::mpsc::channel();
        let out = std::thread::spawn(move || {
            use std::io::Read;
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                let _ = tx.send(());
            }
            all
        });
        Self { child, first, out }
    }

    /// Waits for output, then sends SIGINT as a terminal's Ctrl-C would reach us.
    /// Sends one SIGINT once the answer streams; returns the children (the worker) as they
    /// were just before: after the signal a single prompt may already have ended them.
    fn interrupt_once_streaming(&self) -> Vec<u32> {
        self.first
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the model started answering");
        while self.first.try_recv().is_ok() {}
        // The worker is our only child; its pid is checked after we are gone.
        let children = self.children();
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        children
    }

    fn children(&self) -> Vec<u32> {
        let pid = self.child.id();
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    fn finish(mut self) -> (i32, String, String) {
        let code = wait_at_most(&mut self.child, 60);
        let mut stderr = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let out = String::from_utf8(self.out.join().unwrap()).unwrap();
        (code, out, stderr)
    }
}

fn wait_at_most(child: &mut std::process::Child, seconds: u64) -> i32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Gone, or a zombie nobody has reaped yet (it no longer runs).
fn gone(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn ctrl_c_stops_the_generation_and_leaves_no_engine() {
    let w = World::new();
    let model = endless(&w);
    // One prompt: the text so far and a newline, exit 130, the worker gone.
    let run = Running::start(
        &w,
        &[
            model,
            "hello world",
            "--max-tokens",
            "1000000",
            "--temperature",
            "0",
        ],
    );
    let workers = run.interrupt_once_streaming();
    assert_eq!(workers.len(), 1, "one worker: {workers:?}");
    let (code, out, err) = run.finish();
    assert_eq!(code, 130, "{err}");
    assert!(out.len() > 1 && out.ends_with('\n'), "{out:?}");
    assert!(
        !err.contains("Traceback") && !err.contains("KeyboardInterrupt"),
        "{err}"
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(gone(workers[0]), "the worker outlived us");

    // JSON: the stable type, exit 130.
    let run = Running::start(
        &w,
        &[
            model,
            "hello world",
            "--max-tokens",
            "1000000",
            "--temperature",
            "0",
            "--json",
        ],
    );
    // Nothing streams in JSON mode: interrupt once the engine has started (while it loads
    // or generates, the answer is the same).
    for _ in 0..600 {
        if run.children().len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    Command::new("kill")
        .args(["-INT", &run.child.id().to_string()])
        .status()
        .unwrap();
    let (code, out, err) = run.finish();
    assert_eq!(code, 130, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?} {err}"));
    assert_valid(&v);
    assert_eq!(v["error"]["type"], "interrupted");

    // A chat: Ctrl-C ends the answer, not the chat; the next line is answered.
    let mut run = Running::start(
        &w,
        &[model, "--max-tokens", "1000000", "--temperature", "0"],
    );
    let mut stdin = run.child.stdin.take().unwrap();
    use std::io::Write;
    stdin.write_all(b"hello world\n").unwrap();
    stdin.flush().unwrap();
    run.interrupt_once_streaming();
    // The answer ends and the chat waits for the next line; what streamed is drained.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    while run.first.try_recv().is_ok() {}
    stdin.write_all(b"the tiny model\n").unwrap();
    stdin.flush().unwrap();
    run.interrupt_once_streaming();
    drop(stdin);
    let (code, out, err) = run.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "two answers: {out:?}");
}
