//! Safety and correctness on every runtime: revisions by ref name or commit prefix (and
//! an unknown one always an error), a cache the user named that is not there, `rm` where
//! locks cannot be probed, and usage errors without escape codes in pipes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tests::fixture::copy_tree;
use tests::hub::{FakeHub, hf_client};
use tests::locks::{LockHolder, first_name};
use tests::runners::{cli_with, node_batch_with, stock};
use tests::schema::assert_valid;
use tests::{CacheFixture, Repo, Run, cli, node_batch, safetensors, zoo};

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Two revisions: the branch `main` names B, the tag `v1.0` names A; a ref whose snapshot
/// is gone (`stale`) is not a revision one can ask for.
fn tagged(fx: &CacheFixture) -> Repo {
    let repo = fx.model("org/tagged");
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(100))
        .tree();
    repo.snapshot(B)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(200))
        .tree();
    repo.git_ref("main", B)
        .git_ref("v1.0", A)
        .git_ref("stale", "cccccccccccccccccccccccccccccccccccccccc");
    repo
}

fn json_of(fx: &CacheFixture, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let run = cli_with(
        "mlxk",
        &all,
        Some(fx.path()),
        &[("HF_HUB_OFFLINE", Path::new("1"))],
    );
    let env = run.json();
    assert_valid(&env);
    (run.code, env)
}

#[test]
fn branches_tags_and_prefixes_select_the_same_snapshot_in_every_command() {
    let fx = CacheFixture::new();
    tagged(&fx);
    for (rev, commit) in [("v1.0", A), ("main", B), ("aaaa", A), (B, B)] {
        let spec = format!("org/tagged@{rev}");
        let (code, env) = json_of(&fx, &["show", &spec]);
        assert_eq!(code, 0, "{env:#}");
        assert_eq!(env["data"]["model"]["hash"], commit, "show {spec}");

        let (code, env) = json_of(&fx, &["health", &spec]);
        assert_eq!(code, 0, "{env:#}");
        assert_eq!(env["data"]["summary"]["total"], 1, "health {spec}");

        let (code, env) = json_of(&fx, &["rm", &spec, "--dry-run"]);
        assert_eq!(code, 0, "{env:#}");
        assert_eq!(env["data"]["commit_hash"], commit, "rm {spec}");
        assert_eq!(env["data"]["action"], "would_delete");

        // Offline, so an answer can only come from the cache.
        let (code, env) = json_of(&fx, &["pull", &spec]);
        assert_eq!(code, 0, "{env:#}");
        assert_eq!(
            env["data"]["download_status"], "already_exists",
            "pull {spec}"
        );
        assert_eq!(env["data"]["commit_hash"], commit, "pull {spec}");
    }
    // The dry runs deleted nothing.
    assert!(
        fx.path()
            .join("models--org--tagged/snapshots")
            .join(A)
            .is_dir()
    );
    assert!(
        fx.path()
            .join("models--org--tagged/snapshots")
            .join(B)
            .is_dir()
    );
}

#[test]
fn an_unknown_revision_is_an_error_everywhere_with_what_exists() {
    let fx = CacheFixture::new();
    tagged(&fx);
    let hint = "no such revision is cached (available: main, v1.0, aaaaaaaa, bbbbbbbb)";
    for (args, message) in [
        (
            vec!["show", "org/tagged@v9"],
            format!("No model found matching 'org/tagged@v9': {hint}"),
        ),
        (
            vec!["health", "org/tagged@v9"],
            format!("No model found matching 'org/tagged@v9': {hint}"),
        ),
        (
            vec!["health", "org/tagged@stale", "--deep"],
            format!("No model found matching 'org/tagged@stale': {hint}"),
        ),
        (
            vec!["rm", "org/tagged@v9"],
            format!("No models found matching 'org/tagged@v9': {hint}"),
        ),
    ] {
        let (code, env) = json_of(&fx, &args);
        assert_eq!(code, 1, "{args:?}: {env:#}");
        assert_eq!(env["status"], "error");
        assert_eq!(env["error"]["type"], "model_not_found", "{args:?}");
        assert_eq!(env["error"]["message"], message.as_str(), "{args:?}");
        assert_eq!(
            env["error"]["available_hashes"],
            json!(["aaaaaaaa", "bbbbbbbb"])
        );
        assert_eq!(env["error"]["available_refs"], json!(["main", "v1.0"]));

        // Human mode: the same message on stderr, nothing on stdout, exit 1.
        let run = cli_with("mlxk", &args, Some(fx.path()), &[]);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout_text());
        assert_eq!(
            run.stderr_text(),
            format!("{}: Error: {message}\n", args[0])
        );
    }
    // pull asks the Hub for a revision the cache lacks; offline, that is an error too.
    let (code, env) = json_of(&fx, &["pull", "org/tagged@v9"]);
    assert_eq!(code, 1, "{env:#}");
    assert_eq!(env["error"]["type"], "offline_mode");
    assert!(
        fx.path()
            .join("models--org--tagged/snapshots")
            .join(A)
            .is_dir()
    );
}

#[test]
fn revisions_answer_byte_identically_through_the_npm_package() {
    let fx = CacheFixture::new();
    tagged(&fx);
    let mut cases = Vec::new();
    for spec in [
        "org/tagged@v1.0",
        "org/tagged@main",
        "org/tagged@bbb",
        "org/tagged@v9",
    ] {
        for cmd in [
            &["show", spec][..],
            &["health", spec],
            &["rm", spec, "--dry-run"],
        ] {
            cases.push(cmd.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
            let mut json = cases.last().unwrap().clone();
            json.push("--json".into());
            cases.push(json);
        }
    }
    let node = node_batch(
        &cases
            .iter()
            .map(|argv| (argv.clone(), fx.path().to_path_buf()))
            .collect::<Vec<_>>(),
    );
    for (argv, theirs) in cases.iter().zip(&node) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let ours = cli(&args, Some(fx.path()));
        assert_eq!(ours, *theirs, "{argv:?}");
    }
    // pull of a cached revision is answered from the cache alone, by both.
    let pulls: Vec<(Vec<String>, PathBuf)> =
        ["org/tagged@v1.0", "org/tagged@main", "org/tagged@aaaa"]
            .iter()
            .map(|spec| {
                let argv = vec!["pull".to_owned(), (*spec).to_owned(), "--json".to_owned()];
                (argv, fx.path().to_path_buf())
            })
            .collect();
    for ((argv, _), theirs) in pulls.iter().zip(&node_batch(&pulls)) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (_, ours) = json_of(&fx, &args[..2]);
        assert_eq!(ours, theirs.json(), "{argv:?}");
        assert_eq!(ours["data"]["download_status"], "already_exists");
    }
}

/// Every command, as the CLI is given it.
const COMMANDS: &[&[&str]] = &[
    &["list"],
    &["list", "--all"],
    &["health"],
    &["health", "--deep"],
    &["show", "org/x"],
    &["rm", "org/x"],
    &["pull", "org/x"],
];

fn run_env(args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut all = args.to_vec();
    all.push("--json");
    cli_with("mlxk", &all, None, env)
}

fn assert_not_found(run: &Run, args: &[&str], path: &Path, setting: &str, what: &str) {
    let env = run.json();
    assert_valid(&env);
    assert_eq!(run.code, 1, "{args:?} {setting}: {env:#}");
    assert_eq!(env["status"], "error");
    assert_eq!(env["command"], args[0]);
    assert_eq!(
        env["error"]["type"], "cache_not_found",
        "{args:?} {setting}"
    );
    assert_eq!(
        env["error"]["message"],
        format!(
            "Cache directory '{}' (set by {setting}) {what}",
            path.display()
        ),
        "{args:?} {setting}"
    );
}

/// `args` with the cache named by `how` (`--cache-dir` or a variable) as `path`.
fn named(args: &[&str], how: &str, path: &Path) -> Run {
    let nowhere = ("HF_ENDPOINT", Path::new("http://127.0.0.1:9"));
    if how == "--cache-dir" {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--cache-dir", path.to_str().unwrap()]);
        run_env(&all, &[nowhere])
    } else {
        run_env(args, &[(how, path), nowhere])
    }
}

#[test]
fn a_named_cache_that_is_not_there_is_an_error_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("no-such/cache");
    let file = dir.path().join("a-file");
    fs::write(&file, "not a cache").unwrap();
    for args in COMMANDS {
        for how in ["--cache-dir", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"] {
            assert_not_found(&named(args, how, &deep), args, &deep, how, "does not exist");
            let run = named(args, how, &file);
            assert_not_found(&run, args, &file, how, "is not a directory");
        }
    }
    assert!(
        !dir.path().join("no-such").exists(),
        "pull created the missing cache"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a cache");

    // Human mode says the same on stderr.
    let run = cli_with("mlxk", &["list"], Some(&deep), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr_text(),
        format!(
            "list: Error: Cache directory '{}' (set by --cache-dir) does not exist\n",
            deep.display()
        )
    );

    // The npm package's `cacheDir` is the same setting, and answers byte for byte alike.
    let cases: Vec<(Vec<String>, PathBuf)> = COMMANDS
        .iter()
        .flat_map(|a| {
            let argv: Vec<String> = a.iter().map(|s| (*s).to_owned()).collect();
            let mut json = argv.clone();
            json.push("--json".into());
            [(argv, deep.clone()), (json, file.clone())]
        })
        .collect();
    let node = node_batch(&cases);
    for ((argv, cache), theirs) in cases.iter().zip(&node) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(
            cli(&args, Some(cache)),
            *theirs,
            "{argv:?} {}",
            cache.display()
        );
    }
}

#[test]
fn pull_may_create_a_named_cache_whose_parent_exists() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("new-cache");
    // Reading commands: a folder that is not there is not an empty cache.
    for args in COMMANDS.iter().filter(|a| a[0] != "pull") {
        assert_not_found(
            &named(args, "HF_HUB_CACHE", &fresh),
            args,
            &fresh,
            "HF_HUB_CACHE",
            "does not exist",
        );
    }
    // pull goes ahead (and, as the Hub is unreachable here, fails on the network, having
    // written nothing).
    let run = named(&["pull", "org/x"], "HF_HUB_CACHE", &fresh);
    let env = run.json();
    assert_valid(&env);
    assert_eq!(env["error"]["type"], "download_failed", "{env:#}");
    assert!(!fresh.exists());
}

#[test]
fn a_missing_default_cache_is_still_empty() {
    // Nothing set: huggingface_hub's default location on a machine that never downloaded.
    let home = tempfile::tempdir().unwrap();
    let env = [("HOME", home.path())];
    let run = run_env(&["list"], &env);
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    assert_eq!(run.json()["data"]["count"], 0);
    let run = run_env(&["health"], &env);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["data"]["summary"]["total"], 0);
    let run = run_env(&["show", "org/x"], &env);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["type"], "model_not_found");
    // The reference's own answer for rm without a cache (§9 item 69).
    let run = run_env(&["rm", "org/x"], &env);
    assert_eq!(run.json()["error"]["type"], "cache_not_found");
    assert_eq!(
        run.json()["error"]["message"],
        "Model cache directory does not exist"
    );
    // HF_HOME without hub/ is derived too, not named.
    let run = run_env(&["list"], &[("HF_HOME", home.path())]);
    assert_eq!(run.code, 0);
    assert!(!home.path().join(".cache").exists() && !home.path().join("hub").exists());
}

#[test]
fn usage_errors_carry_no_escape_codes_off_a_terminal() {
    let has_escape = |bytes: &[u8]| bytes.contains(&0x1b);
    // A pipe: plain, whatever the variables say.
    for env in [
        vec![],
        vec![("NO_COLOR", Path::new("1"))],
        vec![("TERM", Path::new("dumb"))],
    ] {
        let run = cli_with("mlxk", &["lst"], None, &env);
        assert_eq!(run.code, 2);
        assert!(run.stderr_text().contains("lst"), "{}", run.stderr_text());
        assert!(!has_escape(&run.stderr), "{env:?}: {:?}", run.stderr_text());
    }
    // A terminal: colour, unless NO_COLOR or TERM=dumb says no.
    let mlxk = tests::target_dir().join("release/mlxk");
    let on_tty = |env: &[(&str, &str)]| -> Vec<u8> {
        let out = Command::new("script")
            .args(["-qec", &format!("{} lst", mlxk.display()), "/dev/null"])
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("script(1) runs");
        out.stdout
    };
    assert!(has_escape(&on_tty(&[])), "a terminal gets colour");
    assert!(!has_escape(&on_tty(&[("NO_COLOR", "1")])));
    assert!(!has_escape(&on_tty(&[("TERM", "dumb")])));
}

/// A cache the real huggingface_hub wrote: finished downloads, and its lock files left behind.
fn hf_cache(dir: &Path) -> PathBuf {
    let store = dir.join("store/models/org/tiny/main");
    fs::create_dir_all(&store).unwrap();
    fs::write(store.join("config.json"), zoo::cfg("llama")).unwrap();
    fs::write(store.join("model.safetensors"), safetensors(500)).unwrap();
    let hub = FakeHub::start(&dir.join("store"), &[]);
    let cache = dir.join("cache");
    hf_client(&[
        "download",
        "--endpoint",
        &hub.url,
        "--cache",
        cache.to_str().unwrap(),
        "org/tiny",
    ]);
    let locks: Vec<_> = fs::read_dir(cache.join(".locks/models--org--tiny"))
        .unwrap()
        .collect();
    assert!(!locks.is_empty(), "huggingface_hub leaves its locks");
    cache
}

/// `rm org/tiny --json` on each runtime: the CLI (flock probe), Node with its lock table
/// hidden (no probe, as outside Linux), and the pure module in a stock runtime (no probe).
fn rm_everywhere(base: &Path) -> Vec<(&'static str, Value, bool)> {
    let argv = ["rm", "org/tiny", "--json"];
    let mut out = Vec::new();
    let cli_cache = base.join("cli");
    let run = cli(&argv, Some(&cli_cache));
    out.push((
        "cli",
        run.json(),
        cli_cache.join("models--org--tiny").exists(),
    ));
    let node_cache = base.join("node");
    let run = &node_batch_with(
        &[(
            argv.iter().map(|s| (*s).to_owned()).collect(),
            node_cache.clone(),
        )],
        &[("MLXK_NODE_PROC_LOCKS", "/nonexistent/locks")],
    )[0];
    out.push((
        "node",
        run.json(),
        node_cache.join("models--org--tiny").exists(),
    ));
    let stock_cache = base.join("stock");
    let run = stock(&stock_cache, &argv);
    out.push((
        "stock",
        run.json(),
        stock_cache.join("models--org--tiny").exists(),
    ));
    out
}

#[test]
fn rm_without_a_lock_probe_blocks_only_while_a_download_is_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let cache = hf_cache(dir.path());
    let lock_dir = ".locks/models--org--tiny";
    let lock_name = first_name(&cache.join(lock_dir));
    let etag = lock_name.strip_suffix(".lock").unwrap().to_owned();

    // 1. Finished downloads only: removable everywhere, probe or not.
    let finished = dir.path().join("finished");
    fs::create_dir(&finished).unwrap();
    for name in ["cli", "node", "stock"] {
        copy_tree(&cache, &finished.join(name));
    }
    for (runtime, env, left) in rm_everywhere(&finished) {
        assert_eq!(env["status"], "success", "{runtime}: {env:#}");
        assert_eq!(env["data"]["action"], "deleted", "{runtime}");
        assert!(!left, "{runtime} left the repo");
    }

    // 2. A running download: an .incomplete and its lock held by a live process. Nobody
    //    removes it; the CLI knows the lock is held, the others see the partial file.
    let running = dir.path().join("running");
    fs::create_dir(&running).unwrap();
    let mut holders = Vec::new();
    for name in ["cli", "node", "stock"] {
        let copy = running.join(name);
        copy_tree(&cache, &copy);
        fs::write(
            copy.join(format!(
                "models--org--tiny/blobs/{etag}.a1b2c3d4.incomplete"
            )),
            b"partial",
        )
        .unwrap();
        holders.push(LockHolder::hold(&copy.join(lock_dir).join(&lock_name)));
    }
    for (runtime, env, left) in rm_everywhere(&running) {
        assert_eq!(env["error"]["type"], "locks_present", "{runtime}: {env:#}");
        assert_eq!(env["data"]["locks_detected"], true, "{runtime}");
        assert!(
            env["data"]["lock_files"]
                .as_array()
                .unwrap()
                .contains(&json!(format!("{lock_dir}/{lock_name}"))),
            "{runtime}: {env:#}"
        );
        assert!(left, "{runtime} deleted a model being downloaded");
    }
    drop(holders);

    // 3. A held lock with no partial file: only the probe can see it.
    let held = dir.path().join("held");
    fs::create_dir(&held).unwrap();
    let mut holders = Vec::new();
    for name in ["cli", "node", "stock"] {
        let copy = held.join(name);
        copy_tree(&cache, &copy);
        holders.push(LockHolder::hold(&copy.join(lock_dir).join(&lock_name)));
    }
    let results = rm_everywhere(&held);
    assert_eq!(
        results[0].1["error"]["type"], "locks_present",
        "the CLI probes"
    );
    assert!(results[0].2);
    for (runtime, env, left) in &results[1..] {
        assert_eq!(env["data"]["action"], "deleted", "{runtime}: {env:#}");
        assert!(!left);
    }
    drop(holders);

    // 4. An interrupted download nobody holds: the probe says stale, so the CLI removes it;
    //    without a probe it cannot be told from a running one and blocks until -f.
    let stale = dir.path().join("stale");
    fs::create_dir(&stale).unwrap();
    for name in ["cli", "node", "stock"] {
        let copy = stale.join(name);
        copy_tree(&cache, &copy);
        fs::write(
            copy.join(format!("models--org--tiny/blobs/{etag}.incomplete")),
            b"partial",
        )
        .unwrap();
    }
    let results = rm_everywhere(&stale);
    assert_eq!(
        results[0].1["data"]["action"], "deleted",
        "{:#}",
        results[0].1
    );
    for (runtime, env, left) in &results[1..] {
        assert_eq!(env["error"]["type"], "locks_present", "{runtime}: {env:#}");
        assert!(left);
    }
    let forced = stock(&stale.join("stock"), &["rm", "org/tiny", "-f", "--json"]);
    assert_eq!(forced.json()["data"]["action"], "deleted");
}

#[test]
fn the_node_lock_probe_sees_a_held_lock_on_linux() {
    // The same held lock as above, through the npm package with its lock table visible.
    let dir = tempfile::tempdir().unwrap();
    let cache = hf_cache(dir.path());
    let lock_dir = cache.join(".locks/models--org--tiny");
    let lock = lock_dir.join(first_name(&lock_dir));
    let _holder = LockHolder::hold(&lock);
    let run = &node_batch(&[(
        vec!["rm".into(), "org/tiny".into(), "--json".into()],
        cache.clone(),
    )])[0];
    assert_eq!(run.json()["error"]["type"], "locks_present");
    assert!(cache.join("models--org--tiny").exists());
}
