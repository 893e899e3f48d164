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
    Runtime::with_module(wasm)
        .expect("module loads")
        .run(
            &["probe".to_owned()],
            Some(cache),
            &[],
            FsPerms::ReadOnly,
            Limits::default(),
            false,
        )
        .expect("module runs")
        .code
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
