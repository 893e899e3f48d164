//! Interoperability with the real huggingface_hub client: a cache it downloads (from our
//! test Hub on 127.0.0.1) is listed by `mlxk` with the same repos, revisions and sizes
//! that huggingface_hub's own `scan_cache_dir` reports.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;
use tests::hub::{FakeHub, hf_client, scan_cache_dir};
use tests::{cli_json, safetensors};

fn put(store: &Path, repo: &str, branch: &str, path: &str, bytes: &[u8]) {
    let full = store.join(repo).join(branch).join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, bytes).unwrap();
}

fn build_store(store: &Path) {
    let chat = "models/mlx-community/tiny-chat-4bit";
    put(store, chat, "main", "config.json", br#"{"model_type":"llama","quantization":{"bits":4,"group_size":64},"max_position_embeddings":8192}"#);
    put(store, chat, "main", "model.safetensors", &safetensors(300));
    put(
        store,
        chat,
        "main",
        "tokenizer.json",
        br#"{"version":"1.0"}"#,
    );
    put(
        store,
        chat,
        "main",
        "tokenizer_config.json",
        br#"{"chat_template":"{{ m }}"}"#,
    );
    put(
        store,
        chat,
        "main",
        "README.md",
        b"---\nlibrary_name: mlx\ntags:\n- mlx\n---\n# tiny\n",
    );

    let sharded = "models/fake-org/tiny-sharded";
    put(
        store,
        sharded,
        "main",
        "config.json",
        br#"{"model_type":"qwen2"}"#,
    );
    put(
        store,
        sharded,
        "main",
        "model.safetensors.index.json",
        br#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
    );
    put(
        store,
        sharded,
        "main",
        "model-00001-of-00002.safetensors",
        &safetensors(100),
    );
    put(
        store,
        sharded,
        "main",
        "model-00002-of-00002.safetensors",
        &safetensors(120),
    );
    put(
        store,
        sharded,
        "main",
        "1_Pooling/config.json",
        br#"{"pooling":"mean"}"#,
    );
    put(
        store,
        sharded,
        "main",
        "deep/er/notes.txt",
        b"nested two levels",
    );

    let two = "models/fake-org/tiny-two-revs";
    put(
        store,
        two,
        "main",
        "config.json",
        br#"{"model_type":"phi3"}"#,
    );
    put(store, two, "main", "model.safetensors", &safetensors(64));
    put(
        store,
        two,
        "v1.0",
        "config.json",
        br#"{"model_type":"phi3","v":1}"#,
    );
    put(store, two, "v1.0", "model.safetensors", &safetensors(32));

    put(
        store,
        "datasets/fake-org/tiny-data",
        "main",
        "data.csv",
        b"a,b\n1,2\n",
    );
}

/// `snapshot_download` of every model repo of the store (two revisions of one).
fn download_models(hub: &FakeHub, cache: &str) {
    hf_client(&[
        "download",
        "--endpoint",
        &hub.url,
        "--cache",
        cache,
        "mlx-community/tiny-chat-4bit",
        "fake-org/tiny-sharded",
        "fake-org/tiny-two-revs@v1.0",
        "fake-org/tiny-two-revs",
    ]);
}

#[test]
fn a_cache_written_by_huggingface_hub_lists_like_scan_cache_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let cache = tmp.path().join("hub");
    build_store(&store);
    let hub = FakeHub::start(&store, &["--redirect"]);
    let cache_arg = cache.to_str().unwrap();
    download_models(&hub, cache_arg);
    hf_client(&[
        "download",
        "--endpoint",
        &hub.url,
        "--cache",
        cache_arg,
        "--repo-type",
        "dataset",
        "fake-org/tiny-data",
    ]);

    let scan = scan_cache_dir(&cache);
    assert_eq!(
        scan["warnings"],
        Value::Array(vec![]),
        "huggingface_hub itself must be happy"
    );
    let (code, ours) = cli_json(&["list", "--all"], &cache);
    assert_eq!(code, 0);

    let theirs: BTreeMap<&str, &Value> = scan["repos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["repo_type"] == "model")
        .map(|r| (r["repo_id"].as_str().unwrap(), r))
        .collect();
    let models = ours["data"]["models"].as_array().unwrap();
    let listed: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        listed,
        theirs.keys().copied().collect::<Vec<_>>(),
        "same model repos, datasets excluded"
    );
    assert!(
        scan["repos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["repo_type"] == "dataset")
    );

    for m in models {
        let repo = theirs[m["name"].as_str().unwrap()];
        // The snapshot we describe is the one refs/main names.
        let main = repo["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["refs"].as_array().unwrap().iter().any(|x| x == "main"))
            .expect("a revision carries refs/main");
        assert_eq!(m["hash"], main["commit_hash"], "{}", m["name"]);
        // Every file of these snapshots has distinct bytes, so the revision's unique-blob
        // size equals the sum over its files.
        assert_eq!(m["size_bytes"], main["size_on_disk"], "{}", m["name"]);
        assert_eq!(m["health"], "healthy", "{}: {}", m["name"], m["reason"]);
    }
    let two = theirs["fake-org/tiny-two-revs"];
    assert_eq!(two["revisions"].as_array().unwrap().len(), 2);
    let chat = models
        .iter()
        .find(|m| m["name"] == "mlx-community/tiny-chat-4bit")
        .unwrap();
    assert_eq!(chat["framework"], "MLX");
    assert_eq!(chat["model_type"], "chat");
    assert_eq!(chat["context_length"], 8192);
    assert_eq!(chat["runtime_compatible"], true);
    let sharded = models
        .iter()
        .find(|m| m["name"] == "fake-org/tiny-sharded")
        .unwrap();
    assert_eq!(sharded["reason"], "Incompatible framework: PyTorch");
}

/// Findings of `mlxk health --deep --json` for one model entry.
fn deep_entry<'a>(env: &'a Value, name: &str) -> &'a Value {
    let d = &env["data"];
    d["healthy"]
        .as_array()
        .unwrap()
        .iter()
        .chain(d["unhealthy"].as_array().unwrap())
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {env:#}"))
}

#[test]
fn a_cache_written_by_huggingface_hub_passes_the_deep_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let cache = tmp.path().join("hub");
    build_store(&store);
    let hub = FakeHub::start(&store, &["--redirect"]);
    let cache_arg = cache.to_str().unwrap();
    download_models(&hub, cache_arg);
    assert!(
        cache.join(".locks").is_dir(),
        "the client leaves its lock files behind; the audit must not count them"
    );
    assert!(
        cache.join("models--fake-org--tiny-sharded/trees").is_dir(),
        "huggingface_hub 2.x writes trees/<commit>.json"
    );

    let (code, env) = cli_json(&["health", "--deep"], &cache);
    assert_eq!(code, 0, "{env:#}");
    tests::schema::assert_valid(&env);
    let deep = &env["data"]["deep"];
    assert_eq!(deep["corrupt"], 0, "{env:#}");
    assert_eq!(deep["stale"], 0, "{env:#}");
    assert_eq!(deep["partial"], 0, "{env:#}");
    assert_eq!(deep["notice"], 0, "{env:#}");
    let blobs: usize = [
        "mlx-community--tiny-chat-4bit",
        "fake-org--tiny-sharded",
        "fake-org--tiny-two-revs",
    ]
    .iter()
    .map(|r| {
        fs::read_dir(cache.join(format!("models--{r}/blobs")))
            .unwrap()
            .count()
    })
    .sum();
    assert_eq!(deep["files_hashed"], blobs, "every blob is hashed once");
    let two = deep_entry(&env, "fake-org/tiny-two-revs");
    assert_eq!(two["deep"]["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(two["deep"]["unverified"], 0);

    // A partial download (allow_patterns) is partial, not corrupt.
    let partial = tmp.path().join("partial");
    hf_client(&[
        "download",
        "--endpoint",
        &hub.url,
        "--cache",
        partial.to_str().unwrap(),
        "--allow",
        "*.json",
        "fake-org/tiny-two-revs",
    ]);
    let (code, env) = cli_json(&["health", "--deep"], &partial);
    let entry = deep_entry(&env, "fake-org/tiny-two-revs");
    let findings = entry["deep"]["findings"].as_array().unwrap();
    let kinds: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["file"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("not_downloaded", "partial", "model.safetensors")],
        "{env:#}"
    );
    assert_eq!(env["data"]["deep"]["corrupt"], 0);
    // The snapshot lacks its weights, which the reference's rules already call unhealthy;
    // the audit itself adds no corruption.
    assert_eq!(code, i32::from(entry["status"] == "unhealthy"));
}
