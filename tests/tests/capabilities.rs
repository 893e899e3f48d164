//! The `mlxk_host_v1` imports under a hostile guest: tiny modules that call `hash_file`
//! and `probe_lock` with paths of their choosing, run by the CLI's runtime (wasmtime +
//! cap-std) and by the npm package's imports (Node). Nothing outside the cache can be
//! hashed, probed or even named, and both hosts answer every call the same way.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use mlxk_host::runtime::{FsPerms, Limits, Runtime};
use serde_json::json;
use tests::{CacheFixture, repo_root, zoo};

/// ABI status codes (core_wasm::capability).
const OK: i32 = 0;
const NOT_FOUND: i32 = 1;
const REFUSED: i32 = 2;
const NOT_A_FILE: i32 = 3;
const BAD_ARGS: i32 = 5;

const REV: &str = "1111111111111111111111111111111111111111";

/// What the probe module does.
enum Call<'a> {
    /// `hash_file(path, algo)` into an output buffer at `out`.
    Hash { path: &'a [u8], algo: u32, out: u32 },
    /// `probe_lock(path)`.
    Probe { path: &'a [u8] },
    /// `hash_files` over these paths (sha256); exits with record `pick`'s status.
    Batch { paths: Vec<&'a [u8]>, pick: usize },
    /// `hash_files` with a request whose last record is cut short.
    BatchTruncated,
    /// `hash_file` with a path pointer outside the guest's memory.
    WildPointer(u32),
}

/// A module whose exit code is the status of one capability call.
fn module(call: &Call) -> Vec<u8> {
    let data = |p: &[u8]| p.iter().map(|b| format!("\\{b:02x}")).collect::<String>();
    let (bytes, body) = match call {
        Call::Hash { path, algo, out } => (
            data(path),
            format!(
                "(call $hash (i32.const 1024) (i32.const {}) (i32.const {algo}) (i32.const {out}))",
                path.len()
            ),
        ),
        Call::Probe { path } => (
            data(path),
            format!(
                "(call $probe (i32.const 1024) (i32.const {}) (i32.const 4096))",
                path.len()
            ),
        ),
        Call::Batch { paths, pick } => {
            let mut req = Vec::new();
            for p in paths {
                req.extend_from_slice(&0u32.to_le_bytes());
                req.extend_from_slice(&(p.len() as u32).to_le_bytes());
                req.extend_from_slice(p);
            }
            (
                data(&req),
                format!(
                    "(drop (call $batch (i32.const 1024) (i32.const {}) (i32.const 8192))) (i32.load (i32.const {}))",
                    req.len(),
                    8192 + 44 * pick
                ),
            )
        }
        Call::BatchTruncated => (
            data(&[0, 0, 0, 0, 200, 0, 0, 0, b'a']),
            "(call $batch (i32.const 1024) (i32.const 9) (i32.const 8192))".into(),
        ),
        Call::WildPointer(ptr) => (
            String::new(),
            format!(
                "(call $hash (i32.const {}) (i32.const 10) (i32.const 0) (i32.const 4096))",
                *ptr as i32
            ),
        ),
    };
    let text = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "mlxk_host_v1" "hash_file" (func $hash (param i32 i32 i32 i32) (result i32)))
  (import "mlxk_host_v1" "probe_lock" (func $probe (param i32 i32 i32) (result i32)))
  (import "mlxk_host_v1" "hash_files" (func $batch (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{bytes}")
  (func (export "_start") {body} call $exit))"#
    );
    wat::parse_str(text).expect("valid module")
}

fn run_cli(wasm: &[u8], cache: &Path) -> i32 {
    run_cli_out(wasm, cache).0
}

fn run_node(wasms: &[std::path::PathBuf], cache: &Path) -> Vec<i32> {
    let input: Vec<_> = wasms
        .iter()
        .map(|w| json!({"wasm": w, "cacheDir": cache}))
        .collect();
    let mut child = Command::new("node")
        .arg("--no-warnings")
        .arg(repo_root().join("tests/node/run-module.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!(input).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn hostile_paths_are_refused_the_same_way_by_both_hosts() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/m");
    let snap = repo.snapshot(REV);
    snap.file("config.json", zoo::cfg("llama"));
    repo.lock("abc.lock");
    let secret = fx.outside().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    snap.link("evil", secret.to_str().unwrap());
    snap.link("evil-rel", "../../../../secret.txt");
    std::os::unix::fs::symlink(fx.outside(), fx.path().join("linked")).unwrap();
    let blob = fs::read_dir(repo.path().join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let blob_path = format!("models--org--m/blobs/{blob}");
    let link_inside = format!("models--org--m/snapshots/{REV}/config.json");
    let link_out = format!("models--org--m/snapshots/{REV}/evil");
    let link_out_rel = format!("models--org--m/snapshots/{REV}/evil-rel");
    let lock = ".locks/models--org--m/abc.lock";
    let absolute = fx.path().join(&blob_path).to_str().unwrap().to_owned();
    let hash = |path: &'static str| Call::Hash {
        path: path.as_bytes(),
        algo: 0,
        out: 4096,
    };

    let cases: Vec<(&str, Call, i32)> = vec![
        (
            "a blob",
            Call::Hash {
                path: blob_path.as_bytes(),
                algo: 1,
                out: 4096,
            },
            OK,
        ),
        (
            "a lock",
            Call::Probe {
                path: lock.as_bytes(),
            },
            OK,
        ),
        ("parent of the root", hash("../secret.txt"), REFUSED),
        ("absolute", hash("/etc/passwd"), REFUSED),
        (
            "absolute into the cache",
            Call::Hash {
                path: absolute.as_bytes(),
                algo: 0,
                out: 4096,
            },
            REFUSED,
        ),
        (
            "dot-dot inside",
            hash("models--org--m/../../secret.txt"),
            REFUSED,
        ),
        ("dot component", hash("./CACHEDIR.TAG"), REFUSED),
        ("empty component", hash("models--org--m//blobs"), REFUSED),
        ("backslash", hash("..\\secret.txt"), REFUSED),
        (
            "a link, even inside",
            Call::Hash {
                path: link_inside.as_bytes(),
                algo: 0,
                out: 4096,
            },
            REFUSED,
        ),
        (
            "an absolute link out",
            Call::Hash {
                path: link_out.as_bytes(),
                algo: 0,
                out: 4096,
            },
            REFUSED,
        ),
        (
            "a relative link out",
            Call::Hash {
                path: link_out_rel.as_bytes(),
                algo: 0,
                out: 4096,
            },
            REFUSED,
        ),
        (
            "through a linked folder",
            hash("linked/secret.txt"),
            REFUSED,
        ),
        (
            "probe out",
            Call::Probe {
                path: b"../secret.txt",
            },
            REFUSED,
        ),
        (
            "probe through a linked folder",
            Call::Probe {
                path: b"linked/secret.txt",
            },
            REFUSED,
        ),
        ("a folder", hash("models--org--m/blobs"), NOT_A_FILE),
        (
            "nothing there",
            hash("models--org--m/blobs/none"),
            NOT_FOUND,
        ),
        (
            "not UTF-8",
            Call::Hash {
                path: b"models--org--m/\xff",
                algo: 0,
                out: 4096,
            },
            BAD_ARGS,
        ),
        (
            "unknown algorithm",
            Call::Hash {
                path: blob_path.as_bytes(),
                algo: 7,
                out: 4096,
            },
            BAD_ARGS,
        ),
        (
            "output out of memory",
            Call::Hash {
                path: blob_path.as_bytes(),
                algo: 0,
                out: 65530,
            },
            BAD_ARGS,
        ),
        (
            "batch: a blob",
            Call::Batch {
                paths: vec![blob_path.as_bytes(), b"../secret.txt"],
                pick: 0,
            },
            OK,
        ),
        (
            "batch: out of the cache",
            Call::Batch {
                paths: vec![blob_path.as_bytes(), b"../secret.txt"],
                pick: 1,
            },
            REFUSED,
        ),
        (
            "batch: through a linked folder",
            Call::Batch {
                paths: vec![b"linked/secret.txt"],
                pick: 0,
            },
            REFUSED,
        ),
        (
            "batch: a link out",
            Call::Batch {
                paths: vec![link_out.as_bytes()],
                pick: 0,
            },
            REFUSED,
        ),
        ("batch: cut short", Call::BatchTruncated, BAD_ARGS),
        ("path out of memory", Call::WildPointer(70_000), BAD_ARGS),
        (
            "path past 2 GiB (negative as i32)",
            Call::WildPointer(0x8000_0010),
            BAD_ARGS,
        ),
    ];

    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (label, call, want)) in cases.iter().enumerate() {
        let wasm = module(call);
        assert_eq!(run_cli(&wasm, fx.path()), *want, "CLI: {label}");
        let file = dir.path().join(format!("case{i}.wasm"));
        fs::write(&file, wasm).unwrap();
        files.push(file);
    }
    let node = run_node(&files, fx.path());
    for ((label, _, want), got) in cases.iter().zip(node) {
        assert_eq!(got, *want, "Node: {label}");
    }
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");
}

/// A module that asks `list_dirs` for `request` (core_wasm::fs::listing's format), takes the
/// answer (`take_len` bytes, or the announced length) and writes it to stdout; its exit
/// code is the failing call's status (`take_listing`'s plus 100).
fn lister(request: &[u8], take_len: Option<u32>) -> Vec<u8> {
    let data: String = request.iter().map(|b| format!("\\{b:02x}")).collect();
    let take = take_len.map_or("(local.get $n)".to_owned(), |n| format!("(i32.const {n})"));
    let text = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "mlxk_host_v1" "list_dirs" (func $list (param i32 i32 i32) (result i32)))
  (import "mlxk_host_v1" "take_listing" (func $take (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 1024) "{data}")
  (func (export "_start") (local $st i32) (local $n i32)
    (local.set $st (call $list (i32.const 1024) (i32.const {len}) (i32.const 16)))
    (if (i32.ne (local.get $st) (i32.const 0)) (then (call $exit (local.get $st))))
    (local.set $n (i32.load (i32.const 16)))
    (local.set $st (call $take (i32.const 65536) {take}))
    (if (i32.ne (local.get $st) (i32.const 0))
      (then (call $exit (i32.add (i32.const 100) (local.get $st)))))
    (i32.store (i32.const 32) (i32.const 65536))
    (i32.store (i32.const 36) (local.get $n))
    (drop (call $write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))
    (call $exit (i32.const 0))))"#,
        len = request.len()
    );
    wat::parse_str(text).expect("valid module")
}

fn run_cli_out(wasm: &[u8], cache: &Path) -> (i32, Vec<u8>) {
    let out = Runtime::with_module(wasm)
        .expect("module loads")
        .run(
            &["probe".to_owned()],
            Some(cache),
            &[],
            FsPerms::ReadOnly,
            Limits::default(),
            false,
        )
        .expect("module runs");
    (out.code, out.stdout)
}

#[test]
fn list_dirs_lists_only_real_folders_inside_the_cache_and_never_follows_a_link() {
    use core_wasm::fs::Kind;
    use core_wasm::fs::listing::{decode_answer, encode_request};
    let fx = CacheFixture::new();
    let repo = fx.model("org/m");
    let snap = repo.snapshot(REV);
    snap.file("config.json", zoo::cfg("llama"));
    snap.file("sub/dir/notes.txt", "nested");
    let secret = fx.outside().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    snap.link("evil", secret.to_str().unwrap());
    snap.link("evil-rel", "../../../../secret.txt");
    std::os::unix::fs::symlink(fx.outside(), fx.path().join("linked")).unwrap();
    // A repo whose `snapshots` is a link to another repo's: refused, as the core's own
    // reads refuse it.
    fs::create_dir_all(fx.path().join("models--org--twin")).unwrap();
    std::os::unix::fs::symlink(
        repo.path().join("snapshots"),
        fx.path().join("models--org--twin/snapshots"),
    )
    .unwrap();

    let mut request = Vec::new();
    for (path, recursive) in [
        ("models--org--m/snapshots", true),
        ("models--org--m/blobs", false),
        ("linked", false),
        ("linked/x", true),
        ("models--org--twin/snapshots", true),
        ("../x", false),
        ("/etc", false),
        ("models--org--m//blobs", false),
        ("models--org--m/blobs/none", false),
    ] {
        encode_request(&mut request, path, recursive);
    }
    let (code, answer) = run_cli_out(&lister(&request, None), fx.path());
    assert_eq!(code, OK);
    let listed = decode_answer(&answer).expect("a well-formed answer");
    let mut keys: Vec<&str> = listed.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let snaps = format!("models--org--m/snapshots/{REV}");
    assert_eq!(
        keys,
        [
            "models--org--m/blobs",
            "models--org--m/snapshots",
            snaps.as_str(),
            &format!("{snaps}/sub"),
            &format!("{snaps}/sub/dir"),
        ],
        "only real folders inside the cache are listed"
    );
    let top = &listed[&snaps];
    let config = top.get("config.json").unwrap();
    assert_eq!(config.kind, Kind::Symlink);
    assert!(config.stat.is_none(), "a link's own stat is not taken");
    assert!(config.link.as_deref().unwrap().starts_with("../../blobs/"));
    // Link texts are reported as stored (the core decides they escape), never followed.
    assert_eq!(top.get("evil").unwrap().link.as_deref(), secret.to_str());
    assert_eq!(
        top.get("evil-rel").unwrap().link.as_deref(),
        Some("../../../../secret.txt")
    );
    let blobs = &listed["models--org--m/blobs"];
    assert!(
        blobs
            .entries()
            .iter()
            .all(|e| e.kind == Kind::File && e.stat.is_some_and(|s| s.size > 0))
    );
    // Every requested folder answers with a record, refused ones with their status.
    let statuses = record_statuses(&answer);
    for (path, want) in [
        ("linked", REFUSED),
        ("linked/x", REFUSED),
        ("models--org--twin/snapshots", REFUSED),
        ("../x", REFUSED),
        ("/etc", REFUSED),
        ("models--org--m//blobs", REFUSED),
        ("models--org--m/blobs/none", NOT_FOUND),
        ("models--org--m/blobs", OK),
    ] {
        let got = statuses.iter().find(|(p, _)| p == path).map(|(_, s)| *s);
        assert_eq!(got, Some(want as u32), "status of {path}");
    }

    // A wrong length for the answer is refused, and the host never writes past it.
    let (code, _) = run_cli_out(&lister(&request, Some(3)), fx.path());
    assert_eq!(code, 100 + BAD_ARGS);
    // A request cut short.
    let (code, _) = run_cli_out(&lister(&request[..request.len() - 1], None), fx.path());
    assert_eq!(code, BAD_ARGS);

    // The npm package declines (its folder-by-folder reads through uvwasi are faster).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("list.wasm");
    fs::write(&file, lister(&request, None)).unwrap();
    assert_eq!(run_node(&[file], fx.path()), [6]);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");
}

/// `(path, status)` of every record of a `list_dirs` answer.
fn record_statuses(mut bytes: &[u8]) -> Vec<(String, u32)> {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32_at(bytes, 0) as usize;
        let path = String::from_utf8(bytes[4..4 + len].to_vec()).unwrap();
        let status = u32_at(bytes, 4 + len);
        let count = u32_at(bytes, 8 + len);
        let mut at = 12 + len;
        for _ in 0..count {
            let name = usize::from(u16::from_le_bytes(
                bytes[at + 2..at + 4].try_into().unwrap(),
            ));
            let link = u32_at(bytes, at + 20);
            at += 24 + name + if link == u32::MAX { 0 } else { link as usize };
        }
        out.push((path, status));
        bytes = &bytes[at..];
    }
    out
}
