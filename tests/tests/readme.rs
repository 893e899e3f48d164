//! The handbooks' examples, extracted and run: every fenced `bash`, `sh` and `console`
//! block of README.md and npm/README.md as a script (`set -euo pipefail`; in a `console`
//! block, the `$ ` lines), every `js` block as an ES module, each in a world of its own:
//! a home whose cache was pulled from the test Hub, that Hub at the address the examples
//! name (`http://127.0.0.1:8080`, also `HF_ENDPOINT`), the workspaces they use, the npm
//! package installed from its packed tarball, and mlx-lm as the engine of `run`/`serve`.
//!
//! A comment line right before a fence steers it:
//! - `<!-- example: file NAME -->`: the block is not run; it is written to NAME in the
//!   world of the next block that runs (an app the next block bundles, say).
//! - `<!-- example: not run: WHY -->`: the block is not run, for the reason given; the
//!   test lists such blocks, and a new one must be added to [`NOT_RUN`] on purpose.
//!
//! Remote hosts do not exist here: `ssh HOST CMD` is a stand-in that runs CMD locally.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::fixture::copy_tree;
use tests::hub::FakeHub;
use tests::pullstore::{noise, put};
use tests::runners::repo_root;
use tests::{safetensors, target_dir};

/// The blocks that are deliberately not run, by file and first line of code.
const NOT_RUN: &[(&str, &str)] = &[("README.md", "cargo xtask run -- list --all")];

/// The commit the examples name (`org/model@abc1234`): the test Hub pins main to it.
const ABC: &str = "abc1234def5678abc1234def5678abc1234def56";

/// The longest an example may take.
const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Block {
    file: &'static str,
    line: usize,
    lang: String,
    directive: Option<String>,
    code: String,
}

/// The fenced blocks of a Markdown file, with the directive comment before each.
fn blocks(file: &'static str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let directive = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("<!-- example:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|d| d.trim().to_owned());
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].starts_with("```") {
            end += 1;
        }
        out.push(Block {
            file,
            line: start + 1,
            lang: lang.trim().to_owned(),
            directive,
            code: lines[start..end].join("\n") + "\n",
        });
        i = end + 1;
    }
    out
}

/// What a block is run as.
enum Kind {
    Shell(String),
    Node(String),
}

fn kind(block: &Block) -> Option<Kind> {
    match block.lang.as_str() {
        "bash" | "sh" => Some(Kind::Shell(block.code.clone())),
        "console" => Some(Kind::Shell(
            block
                .code
                .lines()
                .filter_map(|l| l.strip_prefix("$ "))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n",
        )),
        "js" | "mjs" => Some(Kind::Node(block.code.clone())),
        _ => None,
    }
}

fn put_dir(store: &Path, repo: &str, branch: &str, dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        put(
            store,
            repo,
            branch,
            e.file_name().to_str().unwrap(),
            &fs::read(e.path()).unwrap(),
        );
    }
}

/// The tiny Llama as mlx-lm saves it, in `shards` files.
fn tiny(out: &Path, shards: u32) -> PathBuf {
    let st = Command::new(tests::engine::python())
        .arg(repo_root().join("tests/engine/tiny_llama.py"))
        .arg(out)
        .args(["--quantize", "--shards", &shards.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "tiny_llama.py failed");
    out.to_path_buf()
}

/// The models the examples name, on the test Hub.
fn store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let one = tiny(&dir.join("tiny"), 1);
    let two = tiny(&dir.join("tiny-sharded"), 2);
    put_dir(
        &store,
        "mlx-community/Phi-3-mini-4k-instruct-4bit",
        "main",
        &one,
    );
    put_dir(&store, "org/model", "main", &two);
    put(&store, "org/model", "main", "README.md", b"# model\n");
    put_dir(&store, "org/model", "v1.0", &two);
    put(&store, "org/model", "v1.0", "README.md", b"# model v1.0\n");
    put_dir(&store, "org/corrupted-model", "main", &one);
    for repo in ["org/model", "org/corrupted-model"] {
        let pins = store.join("models").join(repo).join(".commits");
        fs::write(pins, format!(r#"{{"main": "{ABC}"}}"#)).unwrap();
    }
    for (i, quant) in ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0"]
        .iter()
        .enumerate()
    {
        let name = format!("model-{quant}.gguf");
        put(
            &store,
            "org/model-GGUF",
            "main",
            &name,
            &noise(40_000, i as u64),
        );
    }
    put(&store, "org/model-GGUF", "main", "README.md", b"# quants\n");
    put(
        &store,
        "org/model-GGUF",
        "main",
        "config.json",
        br#"{"model_type": "llama"}"#,
    );
    let config = br#"{"model_type": "llama"}"#;
    for (repo, branch) in [
        ("org/a", "main"),
        ("org/b", "main"),
        ("org/old-model", "main"),
        ("org/other", "main"),
        ("org/other", "v1.0"),
        ("org/llama-3-8b", "main"),
        ("org/llama-3-70b", "main"),
    ] {
        put(&store, repo, branch, "config.json", config);
        let weights = [safetensors(8), branch.as_bytes().to_vec()].concat();
        put(&store, repo, branch, "model.safetensors", &weights);
    }
    store
}

/// A world every example starts from (copied for each): `home/` (HOME, with the cache
/// in its default place) and `home/project` (the working directory).
struct World {
    dir: tempfile::TempDir,
    _hub: FakeHub,
    bin: PathBuf,
}

const ENDPOINT: &str = "http://127.0.0.1:8080";

impl World {
    fn build() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        let store = store(&root);
        let hub = FakeHub::start(&store, &["--port", "8080"]);
        assert_eq!(
            hub.url, ENDPOINT,
            "the test Hub must answer where the examples say"
        );
        let golden = root.join("golden");
        let project = golden.join("home/project");
        fs::create_dir_all(project.join("models")).unwrap();
        let bin = root.join("bin");
        fs::create_dir_all(&bin).unwrap();
        // Remote hosts are this one.
        let ssh = bin.join("ssh");
        fs::write(&ssh, "#!/usr/bin/env bash\nshift\nexec bash -c \"$*\"\n").unwrap();
        Command::new("chmod").arg("+x").arg(&ssh).status().unwrap();
        let world = Self {
            dir,
            _hub: hub,
            bin,
        };
        for args in [
            &["pull", "mlx-community/Phi-3-mini-4k-instruct-4bit"][..],
            &["pull", "org/model"],
            &["pull", "org/model@v1.0"],
            &["pull", "org/corrupted-model"],
            &["pull", "org/model-GGUF"],
            &["pull", "org/a"],
            &["pull", "org/b"],
            &["pull", "org/old-model"],
            &["pull", "org/other"],
            &["pull", "org/other@v1.0"],
            &["pull", "org/llama-3-8b"],
            &["pull", "org/llama-3-70b"],
            &["clone", "org/model", "./models/tiny"],
            &["clone", "org/model", "./broken"],
        ] {
            world.setup(&golden, &format!("mlxk {}", args.join(" ")));
        }
        // ./broken: its index names one shard of the two (what --repair-index fixes).
        let index = project.join("broken/model.safetensors.index.json");
        let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
        for shard in v["weight_map"].as_object_mut().unwrap().values_mut() {
            *shard = "model-00001-of-00002.safetensors".into();
        }
        fs::write(&index, v.to_string()).unwrap();
        // The npm package, packed and installed as a user installs it; esbuild for the
        // bundling recipes.
        let npm = repo_root().join("npm");
        let st = Command::new("npm")
            .args(["pack", "--silent", "--pack-destination"])
            .arg(&project)
            .current_dir(&npm)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "npm pack");
        world.setup(
            &golden,
            "npm install --offline --no-audit --no-fund --loglevel=error ./mlx-knife-*.tgz",
        );
        let modules = project.join("node_modules");
        std::os::unix::fs::symlink(npm.join("node_modules/esbuild"), modules.join("esbuild"))
            .unwrap();
        std::os::unix::fs::symlink(
            npm.join("node_modules/esbuild/bin/esbuild"),
            modules.join(".bin/esbuild"),
        )
        .unwrap();
        world
    }

    fn golden(&self) -> PathBuf {
        fs::canonicalize(self.dir.path()).unwrap().join("golden")
    }

    /// A command of the world's set-up; it must succeed.
    fn setup(&self, world: &Path, script: &str) {
        let out = self.run(world, &format!("{script}\n"), "sh");
        assert!(out.0 == Some(0), "set-up step `{script}` failed: {}", out.1);
    }

    /// Runs `script` (a bash script, or with `ext` "mjs" an ES module) in `world`;
    /// returns its exit code (None on a timeout) and what it printed.
    fn run(&self, world: &Path, script: &str, ext: &str) -> (Option<i32>, String) {
        let home = world.join("home");
        let project = home.join("project");
        let file = project.join(format!("example.{ext}"));
        let mut cmd = if ext == "mjs" {
            fs::write(&file, script).unwrap();
            let mut c = Command::new("node");
            c.arg(&file);
            c
        } else {
            fs::write(&file, format!("set -euo pipefail\n{script}")).unwrap();
            let mut c = Command::new("bash");
            c.arg(&file);
            c
        };
        let path = format!(
            "{}:{}:{}",
            target_dir().join("release").display(),
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        for var in [
            "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE",
            "HF_HOME",
            "XDG_CACHE_HOME",
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_HUB_OFFLINE",
            "MLXK_WORKSPACE_HOME",
            "NO_COLOR",
            "COLUMNS",
        ] {
            cmd.env_remove(var);
        }
        let log = world.join("output.log");
        let log_file = fs::File::create(&log).unwrap();
        let mut child = cmd
            .current_dir(&project)
            .env("HOME", &home)
            .env("PATH", path)
            .env("HF_ENDPOINT", ENDPOINT)
            .env("HF_TOKEN_PATH", home.join("no-token"))
            .env("MLXK_PYTHON", tests::engine::python())
            .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
            .env("npm_config_cache", home.join(".npm"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + TIMEOUT;
        let code = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st.code();
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Whatever the example left running in the background (a server) goes with it.
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        (code, fs::read_to_string(&log).unwrap_or_default())
    }
}

#[test]
fn every_example_in_the_handbooks_runs() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let npm = fs::read_to_string(repo_root().join("npm/README.md")).unwrap();
    let all: Vec<Block> = blocks("README.md", &readme)
        .into_iter()
        .chain(blocks("npm/README.md", &npm))
        .collect();
    let world = World::build();
    let golden = world.golden();
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut not_run = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut ran = 0;
    for (n, block) in all.iter().enumerate() {
        // The first line, without its comment, names the block.
        let first = block.code.lines().next().unwrap_or_default();
        let first = first
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        match block.directive.as_deref() {
            Some(d) if d.starts_with("file ") => {
                files.push((d["file ".len()..].trim().to_owned(), block.code.clone()));
                continue;
            }
            Some(d) if d.starts_with("not run:") => {
                not_run.push((block.file, first));
                continue;
            }
            Some(d) => panic!("{}:{}: unknown directive {d:?}", block.file, block.line),
            None => {}
        }
        let Some(kind) = kind(block) else { continue };
        let world_dir = scratch.path().join(format!("w{n}"));
        copy_tree(&golden, &world_dir);
        for (name, code) in files.drain(..) {
            fs::write(world_dir.join("home/project").join(name), code).unwrap();
        }
        let (code, output) = match kind {
            Kind::Shell(s) => world.run(&world_dir, &s, "sh"),
            Kind::Node(s) => world.run(&world_dir, &s, "mjs"),
        };
        ran += 1;
        if code != Some(0) {
            failures.push(format!(
                "{}:{} ({}) exited {code:?}:\n{}\n--- output ---\n{}",
                block.file,
                block.line,
                block.lang,
                block.code,
                tail(&output, 6000)
            ));
        }
        // MLXK_README_KEEP=1 keeps every world (and its output.log) for a look.
        if std::env::var_os("MLXK_README_KEEP").is_none() {
            let _ = fs::remove_dir_all(&world_dir);
        }
    }
    if std::env::var_os("MLXK_README_KEEP").is_some() {
        eprintln!("worlds kept in {}", scratch.keep().display());
    }
    assert!(files.is_empty(), "a `file` block with no block after it");
    let expected: Vec<(&str, String)> =
        NOT_RUN.iter().map(|(f, l)| (*f, (*l).to_owned())).collect();
    assert_eq!(not_run, expected, "the blocks marked `not run`");
    assert!(ran >= 20, "only {ran} examples found");
    assert!(
        failures.is_empty(),
        "{} of {ran} examples failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
