//! `health --deep`: every corruption is made on a real cache on disk, and must be found
//! with the right file named, through the CLI (wasmtime + host capabilities).

use std::fs;

use serde_json::Value;
use tests::fixture::{etag, git_blob_sha1};
use tests::locks::LockHolder;
use tests::{CacheFixture, Repo, Snapshot, cli, cli_json, safetensors, zoo};

const REV: &str = "1111111111111111111111111111111111111111";
const OTHER: &str = "2222222222222222222222222222222222222222";
const SHARD1: &str = "model-00001-of-00002.safetensors";
const SHARD2: &str = "model-00002-of-00002.safetensors";

fn index() -> String {
    format!(r#"{{"metadata":{{}},"weight_map":{{"a":"{SHARD1}","b":"{SHARD2}"}}}}"#)
}

/// A healthy sharded model with refs/main and a tree listing, as huggingface_hub 2.x
/// leaves it.
fn model(fx: &CacheFixture, id: &str, tree: bool) -> (Repo, Snapshot) {
    let repo = fx.model(id);
    let snap = repo.snapshot(REV);
    snap.file("config.json", zoo::cfg("llama"))
        .file("tokenizer.json", "{}")
        .file(SHARD1, safetensors(4096))
        .file(SHARD2, safetensors(2048))
        .file("model.safetensors.index.json", index());
    repo.git_ref("main", REV);
    if tree {
        snap.tree();
    }
    (repo, snap)
}

fn blob(repo: &Repo, file: &str, bytes: &[u8]) -> std::path::PathBuf {
    repo.path().join("blobs").join(etag(file, bytes))
}

/// Runs `health <name> --deep --json`: (exit code, the entry, its findings).
fn audit(fx: &CacheFixture, name: &str) -> (i32, Value, Vec<Value>) {
    let (code, env) = cli_json(&["health", name, "--deep"], fx.path());
    tests::schema::assert_valid(&env);
    assert_eq!(env["status"], "success", "{env:#}");
    let d = &env["data"];
    let entry = d["healthy"]
        .get(0)
        .or_else(|| d["unhealthy"].get(0))
        .unwrap_or_else(|| panic!("{env:#}"))
        .clone();
    let findings = entry["deep"]["findings"].as_array().unwrap().clone();
    (code, entry, findings)
}

fn only<'a>(findings: &'a [Value], kind: &str) -> &'a Value {
    let hits: Vec<&Value> = findings.iter().filter(|f| f["kind"] == kind).collect();
    assert_eq!(hits.len(), 1, "one {kind} expected in {findings:#?}");
    hits[0]
}

fn kinds(findings: &[Value]) -> Vec<&str> {
    findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect()
}

#[test]
fn a_clean_model_has_no_findings_and_every_byte_is_hashed() {
    let fx = CacheFixture::new();
    model(&fx, "org/clean", true);
    let (code, entry, findings) = audit(&fx, "org/clean");
    assert_eq!(code, 0);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(entry["status"], "healthy");
    assert_eq!(entry["deep"]["files_hashed"], 5);
    let bytes: u64 = [
        zoo::cfg("llama").len(),
        2,
        safetensors(4096).len(),
        safetensors(2048).len(),
        index().len(),
    ]
    .iter()
    .map(|n| *n as u64)
    .sum();
    assert_eq!(entry["deep"]["bytes_hashed"], bytes);
    assert_eq!(entry["deep"]["revisions"], serde_json::json!([REV]));
}

#[test]
fn a_truncated_blob_is_found_against_the_tree_and_without_one() {
    for tree in [true, false] {
        let fx = CacheFixture::new();
        let (repo, _) = model(&fx, "org/trunc", tree);
        let bytes = safetensors(4096);
        let path = blob(&repo, SHARD1, &bytes);
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let (code, entry, findings) = audit(&fx, "org/trunc");
        assert_eq!(code, 1, "corruption exits 1");
        assert_eq!(entry["status"], "unhealthy");
        let kind = if tree { "truncated" } else { "hash_mismatch" };
        let f = only(&findings, kind);
        assert_eq!(f["severity"], "corrupt");
        assert_eq!(f["file"], SHARD1);
        assert_eq!(f["revision"], REV);
        assert!(f["path"].as_str().unwrap().ends_with(&etag(SHARD1, &bytes)));
        assert!(
            entry["reason"].as_str().unwrap().starts_with(SHARD1),
            "{entry:#}"
        );
        if tree {
            assert_eq!(f["expected"], bytes.len().to_string());
            assert_eq!(f["actual"], (bytes.len() / 2).to_string());
        }
    }
}

#[test]
fn a_flipped_byte_of_the_same_length_is_found() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/flip", true);
    let mut bytes = safetensors(2048);
    let path = blob(&repo, SHARD2, &bytes);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let (code, _, findings) = audit(&fx, "org/flip");
    assert_eq!(code, 1);
    let f = only(&findings, "hash_mismatch");
    assert_eq!(f["file"], SHARD2);
    assert_eq!(f["actual"], etag(SHARD2, &bytes));
    assert_eq!(f["expected"], etag(SHARD2, &safetensors(2048)));
    assert_eq!(findings.len(), 1, "{findings:#?}");
}

#[test]
fn a_flipped_byte_in_a_git_blob_fails_its_sha1() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/gitflip", true);
    let cfg = zoo::cfg("llama");
    let path = blob(&repo, "config.json", cfg.as_bytes());
    fs::write(&path, cfg.replace("llama", "llamb")).unwrap();
    let (_, _, findings) = audit(&fx, "org/gitflip");
    let f = only(&findings, "hash_mismatch");
    assert_eq!(f["file"], "config.json");
    assert_eq!(
        f["actual"],
        git_blob_sha1(cfg.replace("llama", "llamb").as_bytes())
    );
    assert!(f["message"].as_str().unwrap().contains("git-sha1"));
}

#[test]
fn an_lfs_pointer_in_place_of_weights_is_named_as_such() {
    for tree in [true, false] {
        let fx = CacheFixture::new();
        let (repo, _) = model(&fx, "org/pointer", tree);
        let bytes = safetensors(4096);
        let sha = etag(SHARD1, &bytes);
        let pointer = format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {}\n",
            bytes.len()
        );
        fs::write(blob(&repo, SHARD1, &bytes), pointer).unwrap();
        let (code, _, findings) = audit(&fx, "org/pointer");
        assert_eq!(code, 1);
        let f = only(&findings, "lfs_pointer");
        assert_eq!(f["file"], SHARD1, "tree: {tree}");
    }
}

#[test]
fn a_dangling_link_is_found() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/dangle", true);
    fs::remove_file(blob(&repo, SHARD2, &safetensors(2048))).unwrap();
    let (code, _, findings) = audit(&fx, "org/dangle");
    assert_eq!(code, 1);
    let f = only(&findings, "dangling_link");
    assert_eq!(f["file"], SHARD2);
    assert_eq!(
        f["path"],
        format!("{}/snapshots/{REV}/{SHARD2}", repo.folder())
    );
}

#[test]
fn a_missing_shard_is_corrupt_and_its_blob_an_orphan() {
    let fx = CacheFixture::new();
    let (repo, snap) = model(&fx, "org/shard", true);
    fs::remove_file(snap.path().join(SHARD2)).unwrap();
    let (code, entry, findings) = audit(&fx, "org/shard");
    assert_eq!(code, 1);
    assert_eq!(entry["status"], "unhealthy");
    let f = only(&findings, "missing_shard");
    assert_eq!(f["file"], SHARD2);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("model.safetensors.index.json")
    );
    // Listed in the tree too, but reported once, as the corruption it is.
    assert!(
        !kinds(&findings).contains(&"not_downloaded"),
        "{findings:#?}"
    );
    let orphan = only(&findings, "orphan_blob");
    assert_eq!(orphan["severity"], "stale");
    assert_eq!(orphan["size"], safetensors(2048).len());
    let _ = repo;
}

#[test]
fn interrupted_downloads_in_both_namings_are_stale_with_sizes() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/interrupted", true);
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    repo.raw_blob(&format!("{a}.incomplete"), &[0u8; 300])
        .raw_blob(&format!("{b}.0123abcd.incomplete"), &[0u8; 700]);
    let (_, _, findings) = audit(&fx, "org/interrupted");
    let found: Vec<(&str, u64)> = findings
        .iter()
        .filter(|f| f["kind"] == "incomplete_download")
        .map(|f| (f["path"].as_str().unwrap(), f["size"].as_u64().unwrap()))
        .collect();
    let old = format!("{}/blobs/{a}.incomplete", repo.folder());
    let new = format!("{}/blobs/{b}.0123abcd.incomplete", repo.folder());
    assert_eq!(found, [(old.as_str(), 300), (new.as_str(), 700)]);
    assert!(
        findings
            .iter()
            .filter(|f| f["kind"] == "incomplete_download")
            .all(|f| f["severity"] == "stale" && f["modified"].is_string())
    );
}

#[test]
fn a_lock_nobody_holds_is_stale_only_if_its_download_never_finished() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/locks", true);
    let done = etag(SHARD1, &safetensors(4096));
    let killed = "c".repeat(64);
    repo.lock(&format!("{done}.lock"))
        .lock(&format!("{killed}.lock"));
    let (code, _, findings) = audit(&fx, "org/locks");
    assert_eq!(code, 0, "leftovers are not corruption");
    let f = only(&findings, "stale_lock");
    assert_eq!(f["path"], format!(".locks/{}/{killed}.lock", repo.folder()));
    assert_eq!(f["severity"], "stale");
    assert!(f["modified"].is_string());
}

#[test]
fn a_lock_held_by_a_live_process_is_held_in_the_cli_and_in_node() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/held", true);
    let etag_ = "d".repeat(64);
    repo.lock(&format!("{etag_}.lock"))
        .raw_blob(&format!("{etag_}.89abcdef.incomplete"), &[1u8; 64]);
    let lock = fx
        .path()
        .join(".locks")
        .join(repo.folder())
        .join(format!("{etag_}.lock"));
    let argv = ["health", "org/held", "--deep", "--json"];
    {
        let _holder = LockHolder::hold(&lock);
        let (_, _, findings) = audit(&fx, "org/held");
        assert_eq!(only(&findings, "held_lock")["severity"], "notice");
        let running = only(&findings, "incomplete_download");
        assert_eq!(
            running["severity"], "notice",
            "a held lock means a running download"
        );
        assert!(running["message"].as_str().unwrap().starts_with("running"));
        let node = &tests::node_batch(&[(
            argv.iter().map(|s| (*s).to_owned()).collect(),
            fx.path().to_path_buf(),
        )])[0];
        assert_eq!(
            node.stdout_text(),
            cli(&argv, Some(fx.path())).stdout_text()
        );
    }
    // Released (the process is gone): now it is a stale leftover.
    let (_, _, findings) = audit(&fx, "org/held");
    assert_eq!(only(&findings, "stale_lock")["severity"], "stale");
    assert_eq!(only(&findings, "incomplete_download")["severity"], "stale");
}

#[test]
fn refs_to_missing_snapshots_and_with_whitespace_are_corrupt() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/refs", true);
    repo.git_ref("v1", OTHER);
    fs::write(repo.path().join("refs/main"), format!("{REV}\n")).unwrap();
    let (code, entry, findings) = audit(&fx, "org/refs");
    assert_eq!(code, 1);
    assert_eq!(entry["status"], "unhealthy");
    let missing = only(&findings, "ref_missing_snapshot");
    assert_eq!(missing["path"], format!("{}/refs/v1", repo.folder()));
    assert_eq!(missing["expected"], OTHER);
    let ws = only(&findings, "ref_whitespace");
    assert_eq!(ws["path"], format!("{}/refs/main", repo.folder()));
    assert_eq!(ws["actual"], format!("{REV}\n"));
    assert_eq!(ws["expected"], REV);
}

#[test]
fn an_orphan_blob_is_stale_with_its_size() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/orphan", true);
    let leftover = b"weights of a deleted revision";
    let name = etag("x.safetensors", leftover);
    repo.raw_blob(&name, leftover);
    let (code, entry, findings) = audit(&fx, "org/orphan");
    assert_eq!(code, 0);
    assert_eq!(entry["status"], "healthy");
    let f = only(&findings, "orphan_blob");
    assert_eq!(f["path"], format!("{}/blobs/{name}", repo.folder()));
    assert_eq!(f["size"], leftover.len());
    assert_eq!(entry["deep"]["files_hashed"], 6, "orphans are verified too");
}

#[test]
fn files_the_tree_lists_but_the_snapshot_lacks_are_partial() {
    let fx = CacheFixture::new();
    let (_, snap) = model(&fx, "org/partial", false);
    snap.file("README.md", "# hi\n").tree();
    fs::remove_file(snap.path().join("README.md")).unwrap();
    let (code, entry, findings) = audit(&fx, "org/partial");
    assert_eq!(code, 0, "a partial snapshot is not corrupt");
    assert_eq!(entry["status"], "healthy");
    let f = only(&findings, "not_downloaded");
    assert_eq!(f["severity"], "partial");
    assert_eq!(f["file"], "README.md");
    assert_eq!(f["size"], 5);
}

#[test]
fn a_link_to_another_blob_than_the_tree_names_is_corrupt() {
    let fx = CacheFixture::new();
    let (repo, snap) = model(&fx, "org/swap", true);
    // Both blobs are intact; the link points at the wrong one.
    let other = etag(SHARD2, &safetensors(2048));
    snap.link(SHARD1, &format!("../../blobs/{other}"));
    let (code, _, findings) = audit(&fx, "org/swap");
    assert_eq!(code, 1);
    let f = only(&findings, "tree_mismatch");
    assert_eq!(f["file"], SHARD1);
    assert_eq!(f["actual"], other);
    let _ = repo;
}

#[test]
fn no_symlink_files_are_checked_against_the_tree_or_counted_unverified() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/copies");
    let snap = repo.snapshot(REV);
    snap.plain_file("config.json", zoo::cfg("llama"))
        .plain_file("model.safetensors", safetensors(512));
    repo.git_ref("main", REV);
    let (_, entry, findings) = audit(&fx, "org/copies");
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(entry["deep"]["unverified"], 2);
    assert_eq!(entry["deep"]["files_hashed"], 0);

    snap.tree();
    let mut bytes = safetensors(512);
    bytes[100] ^= 0xff;
    fs::write(snap.path().join("model.safetensors"), &bytes).unwrap();
    let (code, entry, findings) = audit(&fx, "org/copies");
    assert_eq!(code, 1);
    assert_eq!(entry["deep"]["unverified"], 0);
    let f = only(&findings, "hash_mismatch");
    assert_eq!(f["file"], "model.safetensors");
    assert_eq!(
        f["path"],
        format!("{}/snapshots/{REV}/model.safetensors", repo.folder())
    );
}

#[test]
fn at_rev_audits_that_snapshot_only() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/tworevs", true);
    let old = repo.snapshot(OTHER);
    old.file("config.json", zoo::cfg("mistral"))
        .file("model.safetensors", safetensors(100))
        .tree();
    let bad = safetensors(100);
    fs::write(blob(&repo, "model.safetensors", &bad), b"garbage").unwrap();

    let (code, _, findings) = audit(&fx, "org/tworevs");
    assert_eq!(code, 1);
    assert_eq!(only(&findings, "truncated")["revision"], OTHER);

    let (code, entry, findings) = audit(&fx, &format!("org/tworevs@{}", &REV[..8]));
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(entry["deep"]["revisions"], serde_json::json!([REV]));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_blob_linked_out_of_the_cache_is_never_hashed() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/escape", true);
    let secret = fx.outside().join("secret.safetensors");
    fs::write(&secret, safetensors(4096)).unwrap();
    let path = blob(&repo, SHARD1, &safetensors(4096));
    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let (code, entry, findings) = audit(&fx, "org/escape");
    assert_eq!(code, 1);
    let f = only(&findings, "escaping_link");
    assert_eq!(f["file"], SHARD1);
    assert_eq!(
        entry["deep"]["files_hashed"], 4,
        "the outside file is not read"
    );
}

#[test]
fn human_output_lists_findings_and_totals() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/human", true);
    repo.raw_blob(&"e".repeat(64), b"orphan");
    let run = cli(&["health", "--deep"], Some(fx.path()));
    assert_eq!(run.code, 1, "the orphan's content does not match its name");
    let text = run.stdout_text();
    assert!(text.contains("unhealthy org/human"), "{text}");
    assert!(text.contains("corrupt  hash_mismatch"), "{text}");
    assert!(text.contains("stale    orphan_blob"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("Deep audit: 6 files"),
        "{text}"
    );
    assert!(
        run.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );
}

#[test]
fn without_deep_the_envelope_is_unchanged() {
    let fx = CacheFixture::new();
    model(&fx, "org/plain", true);
    let (code, env) = cli_json(&["health"], fx.path());
    assert_eq!(code, 0);
    assert!(env["data"].get("deep").is_none());
    assert!(env["data"]["healthy"][0].get("deep").is_none());
}

#[test]
fn blobs_in_the_shared_xet_store_are_verified_through_both_hops() {
    let fx = CacheFixture::new();
    let (repo, _) = model(&fx, "org/xet", true);
    // huggingface_hub 2.x with hf_xet: the payload moves to <cache>/blobs/<xx>/<xet hash>
    // and the repo blob becomes a link to it.
    let weights = safetensors(4096);
    let name = etag(SHARD1, &weights);
    let xet = "7".repeat(64);
    let store = fx.path().join("blobs/77");
    fs::create_dir_all(&store).unwrap();
    fs::write(fx.path().join("blobs/.huggingface-shared-blobs"), "1\n").unwrap();
    fs::write(store.join(&xet), &weights).unwrap();
    let repo_blob = repo.path().join("blobs").join(&name);
    fs::remove_file(&repo_blob).unwrap();
    std::os::unix::fs::symlink(format!("../../blobs/77/{xet}"), &repo_blob).unwrap();
    let (code, entry, findings) = audit(&fx, "org/xet");
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(entry["deep"]["files_hashed"], 5);

    let mut bad = weights.clone();
    bad[10] ^= 1;
    fs::write(store.join(&xet), &bad).unwrap();
    let (code, _, findings) = audit(&fx, "org/xet");
    assert_eq!(code, 1);
    let f = only(&findings, "hash_mismatch");
    assert_eq!(f["path"], format!("{}/blobs/{name}", repo.folder()));
    assert_eq!(f["file"], SHARD1);

    fs::remove_file(store.join(&xet)).unwrap();
    let (_, _, findings) = audit(&fx, "org/xet");
    let f = only(&findings, "dangling_link");
    assert_eq!(f["path"], format!("{}/blobs/{name}", repo.folder()));
    assert_eq!(f["file"], SHARD1, "named once, at the blob: {findings:#?}");
}
