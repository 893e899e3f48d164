//! `rm` on real caches: the reference's cases (§9 items 61–71) or their documented
//! differences, revisions sharing blobs checked by huggingface_hub's own scanner, locks
//! held by live processes, links out of the cache, permissions, interrupted removals,
//! and the CLI and the npm package removing identical copies identically.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tests::fixture::etag;
use tests::hub::scan_cache_dir;
use tests::locks::LockHolder;
use tests::{CacheFixture, Repo, cli, cli_json, node_batch, safetensors, target_dir, zoo};

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A one-revision model.
fn single(fx: &CacheFixture, id: &str) -> Repo {
    let repo = fx.model(id);
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(64));
    repo.git_ref("main", A);
    repo
}

/// Two revisions sharing config.json; `main` names B, `v1` names A.
fn two_revs(fx: &CacheFixture, id: &str) -> Repo {
    let repo = fx.model(id);
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(100))
        .tree();
    repo.snapshot(B)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(200))
        .tree();
    repo.git_ref("main", B).git_ref("v1", A);
    repo
}

/// Every path under `dir`, relative, sorted (links not followed).
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn rm(fx: &CacheFixture, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["rm"];
    all.extend_from_slice(args);
    let (code, env) = cli_json(&all, fx.path());
    tests::schema::assert_valid(&env);
    (code, env)
}

#[test]
fn an_exact_name_is_deleted_whole() {
    // §9 item 61.
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/single");
    let (code, env) = rm(&fx, &["org/single"]);
    assert_eq!(code, 0, "{env:#}");
    let d = &env["data"];
    assert_eq!(d["action"], "deleted");
    assert_eq!(d["message"], "Deleted entire model org/single");
    assert_eq!(d["removed"], "repository");
    // Every regular file: the two blobs and refs/main.
    let files = zoo::cfg("llama").len() + safetensors(64).len() + A.len();
    assert_eq!(d["freed_bytes"], files as u64);
    assert!(!repo.path().exists());
}

#[test]
fn fuzzy_and_expanded_names_wait_for_force() {
    // §9 items 62 and 63.
    let fx = CacheFixture::new();
    let short = single(&fx, "org/noconfig");
    let expanded = single(&fx, "mlx-community/Phi-3-mini-4k-instruct-4bit");
    for (spec, repo, name) in [
        ("noconfig", &short, "org/noconfig"),
        (
            "Phi-3-mini-4k-instruct-4bit",
            &expanded,
            "mlx-community/Phi-3-mini-4k-instruct-4bit",
        ),
    ] {
        let (code, env) = rm(&fx, &[spec]);
        assert_eq!(code, 0);
        assert_eq!(env["data"]["action"], "requires_confirmation");
        assert_eq!(env["data"]["requires_confirmation"], true);
        assert_eq!(
            env["data"]["message"],
            format!("Would delete '{name}' (matched from '{spec}')")
        );
        assert!(repo.path().exists(), "nothing is deleted without -f");
        let (code, env) = rm(&fx, &[spec, "-f"]);
        assert_eq!((code, &env["data"]["action"]), (0, &Value::from("deleted")));
        assert!(!repo.path().exists());
    }
    let human = cli(&["rm", "single"], Some(fx.path()));
    assert_eq!(human.code, 1, "nothing matches any more");
}

#[test]
fn a_held_lock_blocks_and_a_stale_one_is_cleaned() {
    // §9 item 64, with difference 6: only a lock a live process holds blocks.
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/sharded");
    repo.lock("abc.lock").lock("def.lock");
    let held = fx.path().join(".locks/models--org--sharded/abc.lock");
    {
        let _holder = LockHolder::hold(&held);
        let (code, env) = rm(&fx, &["org/sharded"]);
        assert_eq!(code, 1);
        assert_eq!(env["error"]["type"], "locks_present");
        assert_eq!(
            env["error"]["message"],
            "Model has active locks. Use --force to override."
        );
        assert_eq!(env["data"]["locks_detected"], true);
        assert_eq!(
            env["data"]["lock_files"],
            serde_json::json!([".locks/models--org--sharded/abc.lock"]),
            "only the held one"
        );
        assert!(repo.path().exists());
        // The npm package probes the same way.
        let node = &node_batch(&[(
            vec!["rm".into(), "org/sharded".into(), "--json".into()],
            fx.path().to_path_buf(),
        )])[0];
        assert_eq!(node.json()["data"]["lock_files"], env["data"]["lock_files"]);
        // People get the same facts: which lock, and the way out.
        let run = cli(&["rm", "org/sharded"], Some(fx.path()));
        assert_eq!(run.code, 1);
        assert_eq!(
            run.stderr_text(),
            "rm: Error: Model has active locks. Use --force to override.\n\
             Held by a running process (a download); -f removes anyway:\n  \
             .locks/models--org--sharded/abc.lock\n"
        );
    }
    let (code, env) = rm(&fx, &["org/sharded"]);
    assert_eq!(code, 0, "released locks do not block: {env:#}");
    assert_eq!(env["data"]["lock_files_cleaned"], 2);
    assert!(!fx.path().join(".locks/models--org--sharded").exists());
    assert!(!repo.path().exists());
}

#[test]
fn force_overrides_a_held_lock() {
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/busy");
    repo.lock("abc.lock");
    let _holder = LockHolder::hold(&fx.path().join(".locks/models--org--busy/abc.lock"));
    let (code, env) = rm(&fx, &["org/busy", "--force"]);
    assert_eq!(code, 0, "{env:#}");
    assert!(!repo.path().exists());
}

#[test]
fn locks_of_a_repo_with_a_longer_name_do_not_block() {
    // §9 item 65 is a reference bug (substring match); difference 6 fixes it.
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/lfs");
    let other = single(&fx, "org/lfs-x");
    other.lock("q.lock");
    let _holder = LockHolder::hold(&fx.path().join(".locks/models--org--lfs-x/q.lock"));
    let (code, env) = rm(&fx, &["org/lfs"]);
    assert_eq!(code, 0, "{env:#}");
    assert!(!repo.path().exists());
    assert!(other.path().exists());
    assert!(fx.path().join(".locks/models--org--lfs-x/q.lock").exists());
}

#[test]
fn removing_one_revision_keeps_what_the_other_uses_and_huggingface_hub_agrees() {
    // §9 item 66, with difference 5: `@rev` removes that revision only.
    let fx = CacheFixture::new();
    let repo = two_revs(&fx, "org/twosnaps");
    let shared = etag("config.json", zoo::cfg("llama").as_bytes());
    let only_a = etag("model.safetensors", &safetensors(100));
    let only_b = etag("model.safetensors", &safetensors(200));
    fs::create_dir_all(repo.path().join(format!(".no_exist/{A}"))).unwrap();
    fs::write(repo.path().join(format!(".no_exist/{A}/README.md")), "").unwrap();

    let tree_a = fs::metadata(repo.path().join(format!("trees/{A}.json")))
        .unwrap()
        .len();
    let (code, env) = rm(&fx, &["org/twosnaps@aaaa", "--dry-run"]);
    assert_eq!(code, 0);
    let before = listing(fx.path());
    let (code, dry) = (code, env);
    assert_eq!(dry["data"]["action"], "would_delete");
    assert_eq!(listing(fx.path()), before, "a dry run changes nothing");

    let (code2, env) = rm(&fx, &["org/twosnaps@aaaa"]);
    assert_eq!((code, code2), (0, 0), "{env:#}");
    let d = &env["data"];
    assert_eq!(d["action"], "deleted");
    assert_eq!(d["message"], format!("Deleted org/twosnaps@{A}"));
    assert_eq!(d["commit_hash"], A);
    assert_eq!(d["removed"], "revision");
    assert_eq!(d["freed_bytes"], safetensors(100).len() as u64 + tree_a);
    assert_eq!(dry["data"]["freed_bytes"], d["freed_bytes"]);

    let blobs = repo.path().join("blobs");
    assert!(blobs.join(&shared).exists(), "B still uses it");
    assert!(blobs.join(&only_b).exists());
    assert!(!blobs.join(&only_a).exists());
    assert!(!repo.path().join(format!("snapshots/{A}")).exists());
    assert!(
        !repo.path().join("refs/v1").exists(),
        "the ref naming A went"
    );
    assert!(repo.path().join("refs/main").exists());
    assert!(!repo.path().join(format!("trees/{A}.json")).exists());
    assert!(!repo.path().join(format!(".no_exist/{A}")).exists());

    let scan = scan_cache_dir(fx.path());
    assert_eq!(scan["warnings"], serde_json::json!([]), "{scan:#}");
    let theirs = &scan["repos"][0];
    assert_eq!(theirs["revisions"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["revisions"][0]["commit_hash"], B);
    assert_eq!(
        theirs["size_on_disk"],
        (zoo::cfg("llama").len() + safetensors(200).len()) as u64
    );

    // The last revision takes the whole repo.
    let (code, env) = rm(&fx, &["org/twosnaps@bbbb"]);
    assert_eq!(code, 0);
    assert_eq!(env["data"]["removed"], "repository");
    assert_eq!(env["data"]["message"], format!("Deleted org/twosnaps@{B}"));
    assert!(!repo.path().exists());
}

#[test]
fn an_interrupted_revision_removal_is_finished_by_a_rerun() {
    let fx = CacheFixture::new();
    let repo = two_revs(&fx, "org/killed");
    // What a kill after the snapshot went leaves: no ref, no snapshot, the blob only A
    // used, and the tree file (removed last).
    fs::remove_file(repo.path().join("refs/v1")).unwrap();
    fs::remove_dir_all(repo.path().join(format!("snapshots/{A}"))).unwrap();
    let only_a = etag("model.safetensors", &safetensors(100));
    let (code, env) = rm(&fx, &["org/killed@aaaa"]);
    assert_eq!(code, 0, "{env:#}");
    assert_eq!(env["data"]["commit_hash"], A);
    assert!(!repo.path().join("blobs").join(only_a).exists());
    assert!(!repo.path().join(format!("trees/{A}.json")).exists());
    let (code, env) = rm(&fx, &["org/killed@aaaa"]);
    assert_eq!(code, 1, "done: nothing left to match");
    assert_eq!(env["error"]["type"], "model_not_found");
}

#[test]
fn unknown_revisions_ambiguity_and_a_missing_cache_are_errors() {
    // §9 items 67, 68, 69.
    let fx = CacheFixture::new();
    single(&fx, "org/partial");
    single(&fx, "org/pattern-a");
    single(&fx, "org/pattern-b");
    let (code, env) = rm(&fx, &["org/partial@zzzz"]);
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "model_not_found");
    assert_eq!(
        env["error"]["message"],
        "No models found matching 'org/partial@zzzz': no such revision is cached (available: main, aaaaaaaa)"
    );
    let (code, env) = rm(&fx, &["org/pattern"]);
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "ambiguous_match");
    assert!(env["error"].get("matches").is_none());
    assert_eq!(env["data"]["action"], "ambiguous");
    assert_eq!(
        env["data"]["matches"],
        serde_json::json!(["org/pattern-a", "org/pattern-b"])
    );

    // §9 item 69: HF_HOME without hub/ (a derived location, so the reference's words).
    let home = fx.outside().join("nothing-here");
    let run = tests::runners::cli_with(
        "mlxk",
        &["rm", "foo", "--json"],
        None,
        &[("HF_HOME", &home)],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["type"], "cache_not_found");
    assert_eq!(
        run.json()["error"]["message"],
        "Model cache directory does not exist"
    );
    assert!(!home.exists(), "rm never creates the cache");
}

#[test]
fn paths_and_names_with_dot_dot_delete_nothing_outside() {
    // §9 item 70: a workspace is its owner's (`workspace_model`); nothing is deleted.
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/victim");
    let outside = fx.outside().join("workspace");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("config.json"), "{}").unwrap();
    let secret = fx.outside().join("secret.bin");
    fs::write(&secret, b"keep me").unwrap();
    // Links out of the cache, relative and absolute, a folder link out, and a repo blobs/
    // that is itself a link out.
    let snap = repo.snapshot(A);
    snap.link("rel-out", "../../../../secret.bin");
    snap.link("abs-out", secret.to_str().unwrap());
    snap.link("dir-out", outside.to_str().unwrap());
    let evil = fx.model("org/evil");
    fs::create_dir_all(evil.path().join("snapshots")).unwrap();
    symlink(&outside, evil.path().join("blobs")).unwrap();

    let (code, env) = rm(&fx, &[outside.to_str().unwrap(), "-f"]);
    assert_eq!(code, 1, "{env:#}");
    assert_eq!(env["error"]["type"], "workspace_model");
    assert!(outside.join("config.json").exists());
    for spec in ["../workspace", "./hub", "org/../..", "../../.."] {
        let (code, env) = rm(&fx, &[spec, "-f"]);
        assert_eq!(code, 1, "{spec}: {env:#}");
        assert_eq!(env["error"]["type"], "model_not_found", "{spec}");
    }
    let (code, _) = rm(&fx, &["org/victim", "-f"]);
    assert_eq!(code, 0);
    let (code, env) = rm(&fx, &["org/evil", "-f"]);
    assert_eq!(code, 0, "{env:#}");
    assert!(!repo.path().exists() && !evil.path().exists());
    assert_eq!(fs::read(&secret).unwrap(), b"keep me");
    assert_eq!(fs::read(outside.join("config.json")).unwrap(), b"{}");
}

#[test]
fn every_layout_the_scanner_reads_can_be_removed() {
    // Reference #9 (empty or missing snapshots/), copies without links, the Xet store.
    let fx = CacheFixture::new();
    let empty = fx.model("org/empty");
    fs::create_dir_all(empty.path().join("snapshots")).unwrap();
    let bare = fx.model("org/bare");
    fs::create_dir_all(bare.path().join("blobs")).unwrap();
    fs::write(bare.path().join("blobs/x"), "x").unwrap();
    let copies = fx.model("org/copies");
    copies
        .snapshot(A)
        .plain_file("config.json", zoo::cfg("llama"))
        .plain_file("model.safetensors", safetensors(8));
    for name in ["org/empty", "org/bare", "org/copies"] {
        let (code, env) = rm(&fx, &[name]);
        assert_eq!(code, 0, "{name}: {env:#}");
    }
    assert!(!empty.path().exists() && !bare.path().exists() && !copies.path().exists());

    // Two repos share one Xet payload: removing one drops only its manifest line.
    let weights = safetensors(32);
    let sha = etag("model.safetensors", &weights);
    let xet = "7".repeat(64);
    let store = fx.path().join("blobs/77");
    fs::create_dir_all(&store).unwrap();
    fs::write(fx.path().join("blobs/.huggingface-shared-blobs"), "1\n").unwrap();
    fs::write(store.join(&xet), &weights).unwrap();
    let mut lines = String::new();
    for id in ["org/xa", "org/xb"] {
        let repo = fx.model(id);
        repo.snapshot(A)
            .file("config.json", zoo::cfg("llama"))
            .link("model.safetensors", &format!("../../blobs/{sha}"));
        fs::create_dir_all(repo.path().join("blobs")).unwrap();
        symlink(
            format!("../../blobs/77/{xet}"),
            repo.path().join("blobs").join(&sha),
        )
        .unwrap();
        lines.push_str(&format!("{}/blobs/{sha}\n", repo.folder()));
    }
    fs::write(store.join(format!("{xet}.refs")), &lines).unwrap();
    let (code, env) = rm(&fx, &["org/xa"]);
    assert_eq!(code, 0, "{env:#}");
    assert_eq!(
        fs::read_to_string(store.join(format!("{xet}.refs"))).unwrap(),
        format!("models--org--xb/blobs/{sha}\n")
    );
    assert_eq!(
        fs::read(store.join(&xet)).unwrap(),
        weights,
        "the payload stays"
    );
    let (code, env) = cli_json(&["health", "org/xb", "--deep"], fx.path());
    assert_eq!(code, 0, "the other repo is intact: {env:#}");
}

#[test]
fn force_never_reads_stdin() {
    // §9 item 71: stdin stays open and silent; rm must not wait for it.
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/quiet");
    let mut child = Command::new(target_dir().join("release/mlxk"))
        .args(["rm", "quiet", "-f", "--cache-dir"])
        .arg(fx.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "rm -f waited for input"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!repo.path().exists());
}

fn chown_tree(dir: &Path, uid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid)).unwrap();
    if dir.is_dir() && !dir.is_symlink() {
        for e in fs::read_dir(dir).unwrap().flatten() {
            chown_tree(&e.path(), uid);
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn permission_denied_names_the_file_and_a_rerun_finishes() {
    let fx = CacheFixture::new();
    let repo = single(&fx, "org/perm");
    let snap = repo.path().join(format!("snapshots/{A}"));
    let root = is_root();
    if root {
        // Root may delete anything: run as nobody, who owns all but the snapshot folder.
        fs::set_permissions(fx.outside(), fs::Permissions::from_mode(0o755)).unwrap();
        chown_tree(fx.path(), 65534);
        std::os::unix::fs::lchown(&snap, Some(0), Some(0)).unwrap();
    }
    fs::set_permissions(&snap, fs::Permissions::from_mode(0o555)).unwrap();
    let modules = tempfile::tempdir().unwrap();
    fs::set_permissions(modules.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let bin: PathBuf = target_dir().join("release/mlxk");
    let run = || {
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        let out = cmd
            .args(["rm", "org/perm", "--json", "--cache-dir"])
            .arg(fx.path())
            .env("MLXK_MODULE_CACHE", modules.path())
            .output()
            .unwrap();
        let env: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), env)
    };
    let (code, env) = run();
    assert_eq!(code, Some(1), "{env:#}");
    assert_eq!(env["error"]["type"], "permission_denied");
    let message = env["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "Permission denied: Cannot delete models--org--perm/snapshots/{A}/"
        )),
        "{message}"
    );
    // Half-way, huggingface_hub still sees a consistent cache (refs went first).
    let scan = scan_cache_dir(fx.path());
    assert_eq!(scan["warnings"], serde_json::json!([]), "{scan:#}");
    assert!(
        repo.path().join("blobs").exists(),
        "blobs go after snapshots"
    );

    fs::set_permissions(&snap, fs::Permissions::from_mode(0o755)).unwrap();
    if root {
        std::os::unix::fs::lchown(&snap, Some(65534), Some(65534)).unwrap();
    }
    let (code, env) = run();
    assert_eq!(code, Some(0), "the rerun finishes: {env:#}");
    assert!(!repo.path().exists());
}

/// Builds the same cache twice and runs one removal through the CLI on one copy and
/// the npm package on the other: same bytes out, same files left.
#[test]
fn the_cli_and_the_npm_package_remove_identically() {
    let cases: &[&[&str]] = &[
        &["rm", "org/twosnaps@aaaa", "--json"],
        &["rm", "org/twosnaps", "--json"],
        &["rm", "twosnaps", "-f"],
        &["rm", "org/twosnaps@bbbb", "--dry-run", "--json"],
        &["rm", "org/single", "--json"],
    ];
    let build = || {
        let fx = CacheFixture::new();
        two_revs(&fx, "org/twosnaps");
        single(&fx, "org/single").lock("x.lock");
        fx.freeze_mtimes();
        fx
    };
    for case in cases {
        let (ours, theirs) = (build(), build());
        let cli_run = cli(case, Some(ours.path()));
        let node_run = &node_batch(&[(
            case.iter().map(|s| (*s).to_owned()).collect(),
            theirs.path().to_path_buf(),
        )])[0];
        assert_eq!(cli_run.code, node_run.code, "{case:?}");
        assert_eq!(cli_run.stdout_text(), node_run.stdout_text(), "{case:?}");
        assert_eq!(listing(ours.path()), listing(theirs.path()), "{case:?}");
    }
}

/// Two revisions of 800 files each (half shared), for removals slow enough to kill.
fn many_files(fx: &CacheFixture, id: &str) -> Repo {
    let repo = zoo::many_files(fx, id);
    repo.git_ref("main", B).git_ref("v1", A);
    repo
}

#[test]
fn a_rm_killed_at_any_moment_leaves_a_cache_huggingface_hub_reads_and_a_rerun_finishes() {
    let bin = target_dir().join("release/mlxk");
    // Each kill lands a little later after the removal has begun (its first step, the
    // refs, is gone); the invariants must hold wherever it lands.
    let mut interrupted = 0;
    for delay_ms in [0u64, 1, 2, 4, 8, 16] {
        for spec in ["org/many@v1", "org/many"] {
            let fx = CacheFixture::new();
            let repo = many_files(&fx, "org/many");
            let mut child = Command::new(&bin)
                .args(["rm", spec, "--json", "--cache-dir"])
                .arg(fx.path())
                .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let first_step = if spec.ends_with("@v1") {
                repo.path().join("refs/v1")
            } else {
                repo.path().join("refs/main")
            };
            let start = std::time::Instant::now();
            while first_step.exists() && start.elapsed() < std::time::Duration::from_secs(20) {
                std::hint::spin_loop();
            }
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            // Killed half-way: the snapshot (or the repo) still there, its ref gone.
            let target_left = if spec.ends_with("@v1") {
                repo.path().join(format!("snapshots/{A}")).exists()
            } else {
                repo.path().exists()
            };
            if target_left && !first_step.exists() {
                interrupted += 1;
            }

            let scan = scan_cache_dir(fx.path());
            assert_eq!(
                scan["warnings"],
                serde_json::json!([]),
                "{spec} after {delay_ms} ms: {scan:#}"
            );
            let (code, env) = rm(&fx, &[spec]);
            let finished = code == 0 && env["data"]["action"] == "deleted";
            let was_done = code == 1 && env["error"]["type"] == "model_not_found";
            assert!(finished || was_done, "{spec} after {delay_ms} ms: {env:#}");
            if spec.ends_with("@v1") {
                assert!(!repo.path().join(format!("snapshots/{A}")).exists());
                // The other revision is whole.
                let (code, env) = cli_json(&["health", "org/many@main"], fx.path());
                assert_eq!(code, 0);
                assert_eq!(env["data"]["summary"]["healthy_count"], 1, "{env:#}");
                assert!(!repo.path().join(format!("trees/{A}.json")).exists());
            } else {
                assert!(!repo.path().exists(), "{spec} after {delay_ms} ms");
            }
            assert_eq!(scan_cache_dir(fx.path())["warnings"], serde_json::json!([]));
        }
    }
    assert!(
        interrupted >= 4,
        "only {interrupted} of 12 removals were killed half-way"
    );
}

#[test]
fn several_targets_are_each_resolved_and_reported() {
    let fx = CacheFixture::new();
    single(&fx, "org/one");
    single(&fx, "org/two");
    two_revs(&fx, "org/revs");
    let (code, env) = rm(&fx, &["org/one", "org/revs@aaaa", "--dry-run"]);
    assert_eq!(code, 0, "{env:#}");
    let targets = env["data"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["data"]["action"], "would_delete");
    assert_eq!(targets[1]["data"]["removed"], "revision");
    let sum = targets[0]["data"]["freed_bytes"].as_u64().unwrap()
        + targets[1]["data"]["freed_bytes"].as_u64().unwrap();
    assert_eq!(env["data"]["freed_bytes"], sum);
    assert!(fx.path().join("models--org--one").exists());

    // One target that fails does not stop the others; the envelope is the failure's.
    let (code, env) = rm(&fx, &["org/one", "org/nothing", "org/two"]);
    assert_eq!(code, 1, "{env:#}");
    assert_eq!(env["status"], "error");
    assert_eq!(env["error"]["type"], "model_not_found", "{env:#}");
    assert!(
        env["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("1 of 3 targets failed: org/nothing: "),
        "{env:#}"
    );
    assert_eq!(env["data"]["targets"][1]["status"], "error");
    assert!(!fx.path().join("models--org--one").exists());
    assert!(!fx.path().join("models--org--two").exists());

    // Human mode says what went on stdout and what failed on stderr.
    single(&fx, "org/three");
    let run = cli(&["rm", "org/three", "org/nothing"], Some(fx.path()));
    assert_eq!(run.code, 1);
    let err = run.stderr_text();
    assert_eq!(run.stdout_text(), "");
    assert!(err.contains("rm: org/three \u{2014} deleted: "), "{err}");
    assert!(err.contains("freed)"), "{err}");
    assert!(
        err.contains("rm: Error: 1 of 2 targets failed: org/nothing"),
        "{err}"
    );
}

#[test]
fn a_human_ambiguity_error_lists_the_candidates() {
    let fx = CacheFixture::new();
    single(&fx, "org/alpha-one");
    single(&fx, "org/alpha-two");
    for cmd in ["rm", "show", "health"] {
        let run = cli(&[cmd, "alpha"], Some(fx.path()));
        assert_eq!(run.code, 1, "{cmd}");
        assert_eq!(
            run.stderr_text(),
            format!(
                "{cmd}: Error: Multiple models match 'alpha'\n\
                 Candidates (name one exactly, or as org/name@rev):\n  org/alpha-one\n  org/alpha-two\n"
            ),
            "{cmd}"
        );
    }
    assert!(fx.path().join("models--org--alpha-one").exists());
}
