//! The test Hub's store of the pull suites (a sharded chat model on two branches, a
//! 3 MiB model, a gated and a private repo), the Hub with its request log, and the
//! cache comparisons the CLI's and the npm package's pull tests share.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::hub::{FakeHub, hf_client};
use crate::runners::cli_with;
use crate::safetensors;

/// 40 hex digits.
pub fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn put(store: &Path, repo: &str, branch: &str, path: &str, bytes: &[u8]) {
    let full = store.join("models").join(repo).join(branch).join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, bytes).unwrap();
}

/// Bytes that differ everywhere (so a flipped or missing range is always noticed).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A store with a small chat model (sharded, nested folders, two branches), a 3 MiB
/// single-file model, a gated and a private repo.
pub fn store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let tiny = "org/tiny";
    put(
        &store,
        tiny,
        "main",
        "config.json",
        br#"{"model_type":"llama","quantization":{"bits":4,"group_size":64}}"#,
    );
    put(&store, tiny, "main", "model.safetensors.index.json", br#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#);
    put(
        &store,
        tiny,
        "main",
        "model-00001-of-00002.safetensors",
        &safetensors(300),
    );
    put(
        &store,
        tiny,
        "main",
        "model-00002-of-00002.safetensors",
        &safetensors(200),
    );
    put(
        &store,
        tiny,
        "main",
        "tokenizer.json",
        br#"{"version":"1.0"}"#,
    );
    put(
        &store,
        tiny,
        "main",
        "tokenizer_config.json",
        br#"{"chat_template":"{{ m }}"}"#,
    );
    put(&store, tiny, "main", "sub/dir/notes.txt", b"nested");
    put(
        &store,
        tiny,
        "v1.0",
        "config.json",
        br#"{"model_type":"llama"}"#,
    );
    put(&store, tiny, "v1.0", "model.safetensors", &safetensors(100));

    let mut big = safetensors(16);
    big.extend(noise(3 << 20, 7));
    put(
        &store,
        "org/big",
        "main",
        "config.json",
        br#"{"model_type":"llama"}"#,
    );
    put(&store, "org/big", "main", "model.safetensors", &big);

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
        &safetensors(10),
    );
    fs::write(store.join("models/org/gated/gated"), "manual").unwrap();
    put(
        &store,
        "org/private",
        "main",
        "config.json",
        br#"{"model_type":"llama"}"#,
    );
    put(
        &store,
        "org/private",
        "main",
        "model.safetensors",
        &safetensors(10),
    );
    fs::write(store.join("models/org/private/private"), "").unwrap();
    store
}

/// The test Hub with its request log.
pub struct Hub {
    hub: FakeHub,
    log: PathBuf,
}

impl Hub {
    pub fn start(dir: &Path, store: &Path, flags: &[&str]) -> Self {
        let log = dir.join(format!(
            "requests-{}.jsonl",
            flags.join("_").replace(['/', '*'], "")
        ));
        let _ = fs::remove_file(&log);
        let mut all = vec!["--log", log.to_str().unwrap(), "--token", "secret-token"];
        all.extend_from_slice(flags);
        Self {
            hub: FakeHub::start(store, &all),
            log,
        }
    }

    pub fn url(&self) -> &str {
        &self.hub.url
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// GETs of file bytes (resolve or CDN) whose path contains `needle`.
    pub fn file_gets(&self, needle: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let p = r["path"].as_str().unwrap_or_default();
                r["method"] == "GET"
                    && (p.contains("/resolve/") || p.starts_with("/cdn/"))
                    && p.contains(needle)
            })
            .collect()
    }

    pub fn clear_log(&self) {
        let _ = fs::write(&self.log, "");
    }
}

/// huggingface_hub's `snapshot_download` of `repos` from `hub` into `cache`.
pub fn hf_download(hub: &Hub, cache: &Path, repos: &[&str]) {
    let mut args = vec![
        "download",
        "--endpoint",
        hub.url(),
        "--cache",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(repos);
    hf_client(&args);
}

/// Every file under `root` with its bytes or link target, for before/after comparisons.
pub fn tree_of(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_symlink() {
                out.push((rel, format!("-> {}", fs::read_link(&p).unwrap().display())));
            } else if meta.is_dir() {
                out.push((rel.clone(), "/".into()));
                stack.push(p);
            } else {
                out.push((rel, format!("{} bytes", meta.len())));
            }
        }
    }
    out.sort();
    out
}

pub fn deep_findings(cache: &Path, model: &str) -> Value {
    let run = cli_with(
        "mlxk",
        &["health", model, "--deep", "--json"],
        Some(cache),
        &[],
    );
    let v = run.json();
    let entries: Vec<&Value> = v["data"]["healthy"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["data"]["unhealthy"].as_array().unwrap())
        .collect();
    assert_eq!(entries.len(), 1, "{v:#}");
    entries[0]["deep"]["findings"].clone()
}
