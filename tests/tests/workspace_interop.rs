//! Workspaces against the real MLX-Knife 2.0.8, both ways: a folder the original cloned
//! from the test Hub reads `clean: true` here with the same `content_hash`, and our
//! `list`, `show` and `health` of it print the original's bytes; a folder pinned here
//! (our hash, our sentinel writer) is `clean: true` there, and an edit is seen by both.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tests::fixture::copy_tree;
use tests::hub::{FakeHub, reference_mlxk};
use tests::{safetensors, target_dir};

/// The original, with a home of its own and UTC (it prints local time with a `Z`).
fn reference(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (i32, Vec<u8>) {
    let out = Command::new(reference_mlxk())
        .args(args)
        .current_dir(dir)
        .env("HF_HOME", dir.join("hf-home"))
        .env("TZ", "UTC")
        .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        .env_remove("MLXK_WORKSPACE_HOME")
        .envs(env.iter().copied())
        .output()
        .expect("mlx-knife 2.0.8 runs");
    (out.status.code().unwrap_or(-1), out.stdout)
}

/// A small model on the test Hub: config, weights, tokenizer, README and .gitattributes.
fn store(dir: &Path) -> PathBuf {
    let branch = dir.join("store/models/org/tiny/main");
    fs::create_dir_all(&branch).unwrap();
    fs::write(
        branch.join("config.json"),
        r#"{"model_type":"llama","quantization":{"bits":4,"group_size":64},"max_position_embeddings":128}"#,
    )
    .unwrap();
    fs::write(branch.join("model.safetensors"), safetensors(64)).unwrap();
    fs::write(branch.join("tokenizer.json"), r#"{"model":{}}"#).unwrap();
    fs::write(
        branch.join("tokenizer_config.json"),
        r#"{"bos_token":"<s>"}"#,
    )
    .unwrap();
    fs::write(
        branch.join("README.md"),
        "---\nlibrary_name: mlx\n---\n# tiny\n",
    )
    .unwrap();
    fs::write(branch.join(".gitattributes"), "*.safetensors filter=lfs\n").unwrap();
    dir.join("store")
}

fn ours(args: &[&str], dir: &Path) -> (i32, Vec<u8>) {
    let cache = dir.join("empty-cache");
    fs::create_dir_all(&cache).unwrap();
    let out = Command::new(target_dir().join("release/mlxk"))
        .args(args)
        .arg("--cache-dir")
        .arg(&cache)
        .current_dir(dir)
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn a_folder_the_original_cloned_is_clean_here_and_reads_byte_for_byte_alike() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    let hub = FakeHub::start(&store(&dir), &[]);
    let (code, out) = reference(
        &["clone", "org/tiny", "./tiny", "--json"],
        &dir,
        &[("HF_ENDPOINT", hub.url.as_str())],
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    let ws = dir.join("tiny");
    let sentinel: Value =
        serde_json::from_slice(&fs::read(ws.join(".mlxk_workspace.json")).unwrap()).unwrap();
    let pinned = sentinel["content_hash"].as_str().unwrap().to_owned();

    // The same hash, computed here.
    let fs_ws = core_wasm::fs::CacheFs::new(&ws);
    let excludes = core_wasm::workspace::exclude::Excludes::default_list();
    let ours_hash =
        core_wasm::workspace::content_hash::compute(&fs_ws, Path::new(""), &excludes).unwrap();
    assert_eq!(ours_hash.content_hash, pinned);
    assert_eq!(
        serde_json::to_value(
            ours_hash
                .file_index
                .iter()
                .map(core_wasm::workspace::content_hash::IndexEntry::to_json)
                .collect::<Vec<_>>()
        )
        .unwrap(),
        sentinel["file_index"]
    );

    // Every read-only command prints the original's bytes (JSON and the human table).
    for args in [
        &["list", "./tiny", "--json"][..],
        &["list", ".", "--json"],
        &["list", "./ti", "--json"],
        &["show", "./tiny", "--json"],
        &["show", "./tiny", "--files", "--json"],
        &["show", "./tiny", "--config", "--json"],
        &["health", "./tiny", "--json"],
        &["list", "./tiny"],
        &["health", "./tiny"],
    ] {
        let theirs = reference(args, &dir, &[]);
        let mine = ours(args, &dir);
        assert_eq!(
            String::from_utf8_lossy(&mine.1),
            String::from_utf8_lossy(&theirs.1),
            "{args:?}"
        );
        assert_eq!(mine.0, theirs.0, "{args:?}");
    }
    let (_, v) = ours(&["show", "./tiny", "--json"], &dir);
    let v: Value = serde_json::from_slice(&v).unwrap();
    assert_eq!(v["data"]["model"]["clean"], true);
    assert_eq!(v["data"]["model"]["content_hash"], pinned.as_str());
    // And both see an edit.
    fs::write(
        ws.join("README.md"),
        "---\nlibrary_name: mlx\n---\n# TINY\n",
    )
    .unwrap();
    let copy = dir.join("tiny-copy");
    copy_tree(&ws, &copy);
    for run in [
        reference(&["list", "./tiny", "--json"], &dir, &[]),
        ours(&["list", "./tiny", "--json"], &dir),
    ] {
        let v: Value = serde_json::from_slice(&run.1).unwrap();
        assert_eq!(v["data"]["models"][0]["clean"], false);
    }
    let (_, theirs) = reference(&["show", "./tiny", "--recalc-hash", "--json"], &dir, &[]);
    let (_, mine) = ours(&["show", "./tiny-copy", "--recalc-hash", "--json"], &dir);
    let (theirs, mine): (Value, Value) = (
        serde_json::from_slice(&theirs).unwrap(),
        serde_json::from_slice(&mine).unwrap(),
    );
    assert_eq!(mine["data"]["hash_updated"], true, "{mine:#}");
    assert_eq!(theirs["data"]["hash_updated"], true);
    assert_eq!(
        mine["data"]["model"]["content_hash"],
        theirs["data"]["model"]["content_hash"]
    );
    assert_eq!(
        mine["data"]["workspace_metadata"]["file_index"],
        theirs["data"]["workspace_metadata"]["file_index"]
    );
}

#[test]
fn a_folder_pinned_here_is_clean_in_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    let src = store(&dir).join("models/org/tiny/main");
    let ws = dir.join("mine");
    fs::create_dir_all(ws.join("sub")).unwrap();
    for e in fs::read_dir(&src).unwrap().flatten() {
        fs::copy(e.path(), ws.join(e.file_name())).unwrap();
    }
    fs::write(ws.join("sub/notes.txt"), "nested").unwrap();
    fs::write(ws.join("caf\u{65}\u{301}.txt"), "nfd name").unwrap();
    std::os::unix::fs::symlink("config.json", ws.join("cfglink.json")).unwrap();
    fs::write(ws.join("run.log"), "excluded").unwrap();

    use core_wasm::workspace::{content_hash, exclude, sentinel::Sentinel};
    let fs_ws = core_wasm::fs::CacheFs::new(&ws);
    let h =
        content_hash::compute(&fs_ws, Path::new(""), &exclude::Excludes::default_list()).unwrap();
    let mut s = Sentinel::default();
    for (k, v) in [
        ("mlxk_version", json!("2.0.8")),
        ("created_at", json!("2026-12-02T00:00:00.000000Z")),
        ("source_repo", json!("org/tiny")),
        ("source_revision", Value::Null),
        ("managed", json!(true)),
        ("operation", json!("clone")),
        ("hash_modified", json!("2026-12-02T00:00:00.000000Z")),
        ("hash_algorithm", json!("v2")),
        ("content_hash", json!(h.content_hash)),
        ("exclude_patterns", json!(exclude::DEFAULT_PATTERNS)),
    ] {
        s.set(k, v);
    }
    let index: Vec<Value> = h
        .file_index
        .iter()
        .map(core_wasm::workspace::content_hash::IndexEntry::to_json)
        .collect();
    s.set("file_index", index.into());
    s.write(&fs_ws, Path::new("")).unwrap();
    let written = fs::read(ws.join(".mlxk_workspace.json")).unwrap();

    let (code, out) = reference(&["list", "./mine", "--json"], &dir, &[]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["data"]["models"][0]["clean"], true, "{v:#}");
    assert_eq!(
        v["data"]["models"][0]["content_hash"],
        h.content_hash.as_str()
    );
    // The original recomputes and finds the same hash when asked to.
    let (code, out) = reference(&["show", "./mine", "--recalc-hash", "--json"], &dir, &[]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["data"]["model"]["content_hash"], h.content_hash.as_str());
    let rewritten: Value =
        serde_json::from_slice(&fs::read(ws.join(".mlxk_workspace.json")).unwrap()).unwrap();
    let ours_written: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(rewritten["file_index"], ours_written["file_index"]);
    // Our view agrees, and an edit is dirty for both.
    let (_, out) = ours(&["list", "./mine", "--json"], &dir);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["data"]["models"][0]["clean"], true);
    fs::write(ws.join("sub/notes.txt"), "NESTED").unwrap();
    for run in [
        reference(&["list", "./mine", "--json"], &dir, &[]),
        ours(&["list", "./mine", "--json"], &dir),
    ] {
        let v: Value = serde_json::from_slice(&run.1).unwrap();
        assert_eq!(v["data"]["models"][0]["clean"], false);
    }
}

#[test]
fn our_clone_and_the_originals_clone_are_the_same_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    let hub = FakeHub::start(&store(&dir), &[]);
    let endpoint = [("HF_ENDPOINT", hub.url.as_str())];
    let (code, theirs) = reference(
        &["clone", "org/tiny", "./theirs", "--json"],
        &dir,
        &endpoint,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&theirs));
    let cache = dir.join("empty-cache");
    fs::create_dir_all(&cache).unwrap();
    let out = Command::new(target_dir().join("release/mlxk"))
        .args(["clone", "org/tiny", "./mine", "--json", "--cache-dir"])
        .arg(&cache)
        .current_dir(&dir)
        .env("HF_ENDPOINT", &hub.url)
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (mut theirs, mut mine): (Value, Value) = (
        serde_json::from_slice(&theirs).unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    );
    // The same envelope but for where it went.
    for (v, name) in [(&mut theirs, "theirs"), (&mut mine, "mine")] {
        assert_eq!(v["data"]["target_dir"], dir.join(name).to_str().unwrap());
        assert_eq!(v["data"]["message"], format!("Cloned to ./{name}"));
        v["data"]["target_dir"] = Value::Null;
        v["data"]["message"] = Value::Null;
    }
    assert_eq!(mine, theirs);

    // The same files, byte for byte, and the same content hash.
    let names = |d: &Path| {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&dir.join("mine")), names(&dir.join("theirs")));
    for n in names(&dir.join("mine")) {
        if n != ".mlxk_workspace.json" {
            assert_eq!(
                fs::read(dir.join("mine").join(&n)).unwrap(),
                fs::read(dir.join("theirs").join(&n)).unwrap(),
                "{n}"
            );
        }
    }
    let sentinel = |name: &str| -> Value {
        serde_json::from_slice(&fs::read(dir.join(name).join(".mlxk_workspace.json")).unwrap())
            .unwrap()
    };
    let (s_mine, s_theirs) = (sentinel("mine"), sentinel("theirs"));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&s_mine), keys(&s_theirs));
    assert_eq!(s_mine["content_hash"], s_theirs["content_hash"]);
    assert_eq!(s_mine["exclude_patterns"], s_theirs["exclude_patterns"]);
    // Ours records the commit the original leaves out.
    assert_eq!(s_theirs["source_revision"], Value::Null);
    assert_eq!(s_mine["source_revision"].as_str().map(str::len), Some(40));

    // Ours is clean in the original, and the original's read-only commands agree with ours.
    let (code, out) = reference(&["list", "./mine", "--json"], &dir, &[]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["data"]["models"][0]["clean"], true, "{v:#}");
    for args in [
        &["show", "./mine", "--json"][..],
        &["health", "./mine", "--json"],
        &["list", "./mine", "--json"],
    ] {
        assert_eq!(
            String::from_utf8_lossy(&ours(args, &dir).1),
            String::from_utf8_lossy(&reference(args, &dir, &[]).1),
            "{args:?}"
        );
    }
}

#[test]
fn the_workspace_home_reads_as_in_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let dir = fs::canonicalize(dir.path()).unwrap();
    let hub = FakeHub::start(&store(&dir), &[]);
    let home = dir.join("home");
    fs::create_dir_all(&home).unwrap();
    let (code, out) = reference(
        &["clone", "org/tiny", "./home/tiny-ws", "--json"],
        &dir,
        &[("HF_ENDPOINT", hub.url.as_str())],
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    copy_tree(&home.join("tiny-ws"), &home.join("zeta"));
    fs::create_dir_all(home.join("not-a-workspace")).unwrap();
    let cache = dir.join("hf-home/hub");
    fs::create_dir_all(&cache).unwrap();
    let home_str = home.to_str().unwrap();
    for args in [
        &["list", "--json"][..],
        &["list", "ti", "--json"],
        &["list", "ZET", "--json"],
        &["list"],
        &["health", "--json"],
        &["health"],
        &["health", "zeta", "--json"],
        &["show", "tiny", "--json"],
        &["show", "tiny-ws", "--json"],
        &["rm", "zeta", "--json"],
    ] {
        let theirs = reference(args, &dir, &[("MLXK_WORKSPACE_HOME", home_str)]);
        let mine = Command::new(target_dir().join("release/mlxk"))
            .args(args)
            .arg("--cache-dir")
            .arg(&cache)
            .current_dir(&dir)
            .env("MLXK_WORKSPACE_HOME", &home)
            .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&mine.stdout),
            String::from_utf8_lossy(&theirs.1),
            "{args:?}"
        );
        assert_eq!(mine.status.code(), Some(theirs.0), "{args:?}");
    }
    assert!(home.join("zeta").is_dir(), "a workspace is never removed");
}
