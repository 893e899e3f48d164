//! `mlxk serve` on the real mlx-lm, talked to with the official `openai` Python client:
//! the model list, chat and text completions streamed and not, two models alternately,
//! a killed worker replaced, 50 concurrent requests, and nothing left behind by SIGTERM.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::engine::{cache_model, cache_pytorch, tiny_llama};
use tests::hub::python;
use tests::runners::repo_root;
use tests::{CacheFixture, target_dir};

/// One server at a time: each runs an mlx-lm worker, and on 2 cores three at once starve
/// each other's requests.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A server with the tiny Llama in the cache (twice) and in the workspace home.
struct Served {
    _tmp: tempfile::TempDir,
    _cache: CacheFixture,
    child: Child,
    url: String,
}

impl Served {
    fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let model = tiny_llama(&dir.join("tiny-build"), true);
        let cache = CacheFixture::new();
        for repo in ["org/tiny-llama", "org/other-llama"] {
            cache_model(&cache, repo, &model);
        }
        cache_pytorch(&cache, "org/pytorch");
        let home = dir.join("home");
        fs::create_dir_all(&home).unwrap();
        tests::engine::endless(&model, &home.join("long-ws"));
        fs::rename(&model, home.join("tiny-ws")).unwrap();
        let mut child = Command::new(target_dir().join("release/mlxk"))
            .args(["serve", "--port", "0", "--cache-dir"])
            .arg(cache.path())
            .env("MLXK_PYTHON", tests::engine::python())
            .env("MLXK_WORKSPACE_HOME", &home)
            .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("serve: listening on ")
            .unwrap_or_else(|| panic!("no listening line: {line:?}"))
            .to_owned();
        // Keep draining stderr so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = stderr.read_to_string(&mut sink);
        });
        Self {
            _tmp: tmp,
            _cache: cache,
            child,
            url,
        }
    }

    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// A raw HTTP request; returns (status, headers, body).
    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, rest) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), rest.to_owned())
    }

    fn client(&self, model: &str, mode: &[&str]) -> Value {
        let out = Command::new(python())
            .arg(repo_root().join("tests/engine/openai_client.py"))
            .arg(&self.url)
            .arg(model)
            .args(mode)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openai client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The worker processes (children of the server, whichever of its threads started them).
    fn workers(&self) -> Vec<u32> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut pids: Vec<u32> = fs::read_dir(tasks)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|task| {
                fs::read_to_string(task.path().join("children"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_openai_client_gets_answers_streamed_and_not() {
    let _serial = serial();
    let s = Served::start();
    let (status, head, body) = s.http("GET", "/health", "");
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("x-request-id: "), "{head}");
    assert_eq!(body, r#"{"status":"ok","service":"mlx-knife-server-2.0"}"#);

    // Exactly the healthy, runnable models: the cache's two and the home's one.
    let (_, _, body) = s.http("GET", "/v1/models", "");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut ids: Vec<(String, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["owned_by"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            ("long-ws".to_owned(), "workspace".to_owned()),
            ("org/other-llama".to_owned(), "mlx-knife-2.0".to_owned()),
            ("org/tiny-llama".to_owned(), "mlx-knife-2.0".to_owned()),
            ("tiny-ws".to_owned(), "workspace".to_owned()),
        ]
    );
    let context = |id: &str| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["context_length"]
            .clone()
    };
    assert_eq!(context("org/tiny-llama"), 256);
    assert_eq!(context("long-ws"), 1_000_000);

    let chat = s.client("org/tiny-llama", &["chat"]);
    assert_eq!(chat["finish_reason"], "length");
    assert!(!chat["text"].as_str().unwrap().is_empty(), "{chat}");
    let stream = s.client("org/tiny-llama", &["stream"]);
    assert_eq!(stream["text"], chat["text"], "streamed and whole agree");
    assert_eq!(stream["finish_reason"], "length");
    let text = s.client("tiny-ws", &["complete"]);
    assert_eq!(text["finish_reason"], "length");

    // Errors: the reference's shape, the reason, and a 4xx.
    let (status, _, body) = s.http(
        "POST",
        "/v1/chat/completions",
        r#"{"model":"org/pytorch","messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Model 'org/pytorch' is not compatible"),
        "{v}"
    );
    assert!(v["request_id"].is_string());
    let (status, _, _) = s.http(
        "POST",
        "/v1/chat/completions",
        r#"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(status, 404);
    let (status, _, _) = s.http("POST", "/v1/chat/completions", r#"{"messages":[]}"#);
    assert_eq!(status, 400);
    let (status, _, body) = s.http("GET", "/elsewhere", "");
    assert_eq!(status, 404);
    assert!(body.contains(r#""type":"not_found""#));
}

#[test]
fn models_switch_a_dead_worker_is_replaced_and_requests_queue() {
    let _serial = serial();
    let s = Served::start();
    let a = s.client("org/tiny-llama", &["chat"]);
    let b = s.client("tiny-ws", &["chat"]);
    let c = s.client("org/other-llama", &["chat"]);
    assert_eq!(
        a["text"], b["text"],
        "the same weights give the same greedy answer"
    );
    assert_eq!(b["text"], c["text"]);
    let (_, _, body) = s.http("GET", "/v1/models", "");
    let v: Value = serde_json::from_str(&body).unwrap();
    let loaded: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["loaded"] == true)
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(loaded, ["org/other-llama"]);

    // Kill the worker: the next request gets a new one.
    let workers = s.workers();
    assert_eq!(workers.len(), 1, "one worker: {workers:?}");
    Command::new("kill")
        .arg("-9")
        .arg(workers[0].to_string())
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let again = s.client("org/tiny-llama", &["chat"]);
    assert_eq!(again["text"], a["text"]);
    let now = s.workers();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], workers[0], "a new worker");

    // 50 at once: all complete (one generation at a time, the rest queue).
    let many = s.client("org/tiny-llama", &["many", "50"]);
    let results = many["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|r| r == "length"), "{many}");
}

#[test]
fn sigterm_leaves_no_worker_and_frees_the_port() {
    let _serial = serial();
    let mut s = Served::start();
    s.client("org/tiny-llama", &["chat"]);
    let workers = s.workers();
    assert_eq!(workers.len(), 1);
    let addr = s.addr();
    Command::new("kill")
        .arg("-TERM")
        .arg(s.child.id().to_string())
        .status()
        .unwrap();
    let _ = s.child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{}", workers[0])).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let stat = fs::read_to_string(format!("/proc/{}/stat", workers[0])).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the worker outlived the server: {stat}"
    );
    std::net::TcpListener::bind(&addr).expect("the port is free again");
}

#[test]
fn a_client_that_goes_away_stops_its_generation() {
    let _serial = serial();
    let s = Served::start();
    // A streamed request that would run for a million tokens: read a few events, hang up.
    let mut stream = TcpStream::connect(s.addr()).unwrap();
    let body = r#"{"model": "long-ws", "stream": true, "max_tokens": 1000000, "temperature": 0, "messages": [{"role": "user", "content": "hello world"}]}"#;
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "no head");
        // Header names are case-insensitive (HTTP/1.1).
        if line.to_ascii_lowercase().starts_with("transfer-encoding") {
            assert_eq!(
                line.trim().to_ascii_lowercase(),
                "transfer-encoding: chunked"
            );
        }
    }
    // Each event is its own HTTP chunk, sent as it is made (not collected into a buffer).
    for _ in 0..5 {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        let event = String::from_utf8(chunk).unwrap();
        assert!(
            event.starts_with("data: {")
                && event.ends_with("\n\n\r\n")
                && event.matches("data: ").count() == 1,
            "one event per chunk: {event:?}"
        );
    }
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop((reader, stream));
    // The engine is free again long before a million tokens (minutes at this model's pace).
    let started = Instant::now();
    let next = s.client("org/tiny-llama", &["chat"]);
    assert_eq!(next["finish_reason"], "length", "{next}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the abandoned generation kept the engine for {:?}",
        started.elapsed()
    );
}

#[test]
fn a_reused_prompt_cache_answers_as_a_fresh_one() {
    let _serial = serial();
    let s = Served::start();
    let ask = |model: &str, messages: &Value| -> String {
        let body = serde_json::json!({
            "model": model, "messages": messages, "max_tokens": 12, "temperature": 0,
        });
        let (status, _, text) = s.http("POST", "/v1/chat/completions", &body.to_string());
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = serde_json::json!([{"role": "user", "content": "hello world"}]);
    let answer = ask("org/tiny-llama", &first);
    // The next turn starts with the tokens the worker holds: only the new ones are prefilled.
    let next = serde_json::json!([
        {"role": "user", "content": "hello world"},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "the tiny model"},
    ]);
    let continued = ask("org/tiny-llama", &next);
    // The same weights under another name: a new load, so a fresh cache.
    let fresh = ask("org/other-llama", &next);
    assert_eq!(continued, fresh);
    // And back: the same prompt twice in a row (a full prefix hit) still answers the same.
    assert_eq!(ask("org/other-llama", &next), fresh);
}

#[test]
fn a_worker_killed_mid_request_fails_that_request_with_a_5xx_and_is_replaced() {
    let _serial = serial();
    let s = Served::start();
    let addr = s.addr();
    // A request that would generate for minutes, in a thread of its own.
    let pending = std::thread::spawn(move || {
        let body = r#"{"model": "long-ws", "max_tokens": 1000000, "temperature": 0, "messages": [{"role": "user", "content": "hello world"}]}"#;
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    });
    // Once the worker runs (loaded and generating), kill it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let worker = loop {
        if let [pid] = s.workers()[..] {
            break pid;
        }
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(3));
    Command::new("kill")
        .args(["-9", &worker.to_string()])
        .status()
        .unwrap();
    let answer = pending.join().unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!((500..600).contains(&status), "{answer}");
    assert!(head.to_lowercase().contains("x-request-id: "), "{head}");
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"]["retryable"], true);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("engine"),
        "{v}"
    );
    // The next request gets a new worker.
    let again = s.client("org/tiny-llama", &["chat"]);
    assert_eq!(again["finish_reason"], "length");
    let now = s.workers();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], worker);
}
