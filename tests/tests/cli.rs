//! The `mlxk` and `mlxk-json` binaries as black boxes: exit codes, where output goes,
//! usage errors, version, cache-dir resolution and the compiled-module cache.

use std::path::Path;

use serde_json::Value;
use tests::runners::cli_with;
use tests::zoo::{self, A};
use tests::{CacheFixture, cli, safetensors, target_dir};

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn usage_errors_are_json_command_errors_with_exit_2() {
    // mlxk-reference §1.2, §1.11, §9 item 73.
    for (args, message) in [
        (
            vec!["bogus", "--json"],
            "argument command: invalid choice: 'bogus' (choose from 'list', 'health', 'show', 'pull', 'rm', 'prune')",
        ),
        (
            vec!["list", "a", "b", "--json"],
            "unrecognized arguments: b",
        ),
        (
            vec!["list", "--nope", "--json"],
            "unrecognized arguments: --nope",
        ),
    ] {
        let run = cli(&args, None);
        assert_eq!(run.code, 2, "{args:?}");
        let env = run.json();
        assert_eq!(env["status"], "error");
        assert_eq!(env["command"], Value::Null);
        assert_eq!(env["data"], Value::Null);
        assert_eq!(env["error"]["type"], "CommandError");
        assert_eq!(env["error"]["message"], message, "{args:?}");
    }
    let run = cli(&["bogus"], None);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty(), "human usage errors go to stderr");
    assert!(!run.stderr.is_empty());
}

#[test]
fn no_command_prints_help_or_a_json_error() {
    let bare = cli(&[], None);
    assert_eq!(bare.code, 2);
    assert!(String::from_utf8_lossy(&bare.stderr).contains("Usage"));
    let json = cli(&["--json"], None);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["error"]["message"], "No command specified");
}

#[test]
fn version_in_both_forms() {
    // mlxk-reference §1.9, §9 item 74.
    let human = cli(&["--version"], None);
    assert_eq!(
        (human.code, human.stdout_text()),
        (0, format!("mlxk {}\n", version()))
    );
    let run = cli(&["--version", "--json"], None);
    assert_eq!(run.code, 0);
    let env = run.json();
    assert_eq!(env["command"], "version");
    assert_eq!(env["data"]["cli_version"], version());
    assert_eq!(env["data"]["json_api_spec_version"], "0.2.4");
    assert_eq!(env["data"]["system"], Value::Null);
    let json_bin = cli_with("mlxk-json", &["--version"], None, &[]);
    assert_eq!(json_bin.json()["data"]["cli_version"], version());
}

#[test]
fn mlxk_json_prints_json_by_default() {
    let fx = zoo::zoo();
    let run = cli_with("mlxk-json", &["list"], Some(fx.path()), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["data"]["count"], 19);
}

fn one_model_cache(root: &Path, name: &str) {
    let dir = root.join(format!("models--org--{name}/snapshots/{A}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), zoo::cfg("llama")).unwrap();
    std::fs::write(dir.join("model.safetensors"), safetensors(4)).unwrap();
}

#[test]
fn cache_location_follows_huggingface_hub_precedence() {
    // PRODUCT.md difference 7.
    let tmp = tempfile::tempdir().unwrap();
    let (hub_cache, hf_home, xdg) = (
        tmp.path().join("a"),
        tmp.path().join("home"),
        tmp.path().join("xdg"),
    );
    one_model_cache(&hub_cache, "from-hf-hub-cache");
    one_model_cache(&hf_home.join("hub"), "from-hf-home");
    one_model_cache(&xdg.join("huggingface/hub"), "from-xdg");
    let names = |env: &[(&str, &Path)]| -> Vec<String> {
        let run = cli_with("mlxk", &["list", "--all", "--json"], None, env);
        run.json()["data"]["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&[
            ("HF_HUB_CACHE", &hub_cache),
            ("HF_HOME", &hf_home),
            ("XDG_CACHE_HOME", &xdg)
        ]),
        ["org/from-hf-hub-cache"]
    );
    assert_eq!(
        names(&[("HUGGINGFACE_HUB_CACHE", &hub_cache), ("HF_HOME", &hf_home)]),
        ["org/from-hf-hub-cache"]
    );
    assert_eq!(
        names(&[("HF_HOME", &hf_home), ("XDG_CACHE_HOME", &xdg)]),
        ["org/from-hf-home"]
    );
    assert_eq!(names(&[("XDG_CACHE_HOME", &xdg)]), ["org/from-xdg"]);
    // --cache-dir beats everything.
    let run = cli_with(
        "mlxk",
        &["list", "--all", "--json", "--cache-dir"],
        None,
        &[],
    );
    assert_eq!(run.code, 2, "--cache-dir needs a value");
    let run = cli_with(
        "mlxk",
        &[
            "list",
            "--all",
            "--json",
            "--cache-dir",
            xdg.join("huggingface/hub").to_str().unwrap(),
        ],
        None,
        &[("HF_HUB_CACHE", &hub_cache)],
    );
    assert_eq!(run.json()["data"]["models"][0]["name"], "org/from-xdg");
}

#[test]
fn a_missing_cache_is_an_empty_success_and_is_not_created() {
    // mlxk-reference §9 items 16, 69; issue #21. HF_HOME derives the cache (`hub/`), so a
    // missing one is the reference's empty cache; a named one must exist (safety.rs).
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("nope");
    let run = tests::runners::cli_with("mlxk", &["list", "--json"], None, &[("HF_HOME", &home)]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["data"]["count"], 0);
    assert!(!home.exists());
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let fx = zoo::zoo();
    let mut child = std::process::Command::new(target_dir().join("release/mlxk"))
        .args(["list", "--all", "--json", "--cache-dir"])
        .arg(fx.path())
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_corrupt_or_foreign_compiled_module_is_recompiled_not_trusted() {
    let fx = zoo::zoo();
    let modules = tempfile::tempdir().unwrap();
    let env = [("MLXK_MODULE_CACHE", modules.path())];
    let stale = modules
        .path()
        .join("core-00000000000000000000000000000000.cwasm");
    std::fs::write(&stale, b"an artifact of an older build").unwrap();
    let first = cli_with("mlxk", &["list", "--json"], Some(fx.path()), &env);
    assert_eq!(first.code, 0);
    assert!(!stale.exists(), "artifacts of older builds are removed");
    let entries: Vec<_> = std::fs::read_dir(modules.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "one compiled module is cached");
    let artifact = &entries[0];
    let good = std::fs::read(artifact).unwrap();

    // Flip a byte in the payload: the hash check rejects it and the module is rebuilt.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(artifact, &bad).unwrap();
    let run = cli_with("mlxk", &["list", "--json"], Some(fx.path()), &env);
    assert_eq!((run.code, &run.stdout), (0, &first.stdout));
    assert_eq!(
        std::fs::read(artifact).unwrap(),
        good,
        "the bad entry was replaced"
    );

    // Group- or world-writable: someone else could have written it, so it is not read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(artifact, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = cli_with("mlxk", &["list", "--json"], Some(fx.path()), &env);
    assert_eq!((run.code, &run.stdout), (0, &first.stdout));
    let mode = std::fs::metadata(artifact).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the replacement is private again ({mode:o})"
    );

    // A file that is not ours at all.
    std::fs::write(artifact, b"not a module").unwrap();
    let run = cli_with("mlxk", &["list", "--json"], Some(fx.path()), &env);
    assert_eq!((run.code, &run.stdout), (0, &first.stdout));
}

#[test]
fn the_module_cache_is_never_written_inside_the_hf_cache() {
    let fx = CacheFixture::new();
    let inside = fx.path().join("mlx-knife");
    let run = cli_with(
        "mlxk",
        &["list", "--json"],
        Some(fx.path()),
        &[("MLXK_MODULE_CACHE", &inside)],
    );
    assert_eq!(run.code, 0);
    assert!(!inside.exists());
}

#[test]
fn health_strict_exits_1_when_a_model_is_unhealthy_and_changes_nothing_else() {
    let fx = tests::zoo::zoo();
    let plain = cli(&["health", "--json"], Some(fx.path()));
    let strict = cli(&["health", "--strict", "--json"], Some(fx.path()));
    assert!(
        plain.json()["data"]["summary"]["unhealthy_count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        plain.code, 0,
        "plain health keeps the reference's exit code"
    );
    assert_eq!(strict.code, 1);
    assert_eq!(strict.stdout, plain.stdout);
    // Healthy (or no) models: 0 either way.
    let empty = tests::CacheFixture::new();
    assert_eq!(cli(&["health", "--strict"], Some(empty.path())).code, 0);
    // One healthy model of the zoo, checked alone: 0; one unhealthy: 1.
    let v = plain.json();
    let healthy = v["data"]["healthy"][0]["name"].as_str().unwrap();
    let run = cli(&["health", healthy, "--strict", "--json"], Some(fx.path()));
    assert_eq!(run.code, 0, "{}", run.stdout_text());
    let unhealthy = v["data"]["unhealthy"][0]["name"].as_str().unwrap();
    let run = cli(&["health", unhealthy, "--strict"], Some(fx.path()));
    assert_eq!(run.code, 1, "{}", run.stdout_text());
}

#[test]
fn show_files_prints_paths_in_the_snapshot_and_json_keeps_the_name() {
    let fx = CacheFixture::new();
    let repo = fx.model("org/embed");
    repo.snapshot(A)
        .file("config.json", zoo::cfg("bert"))
        .file("1_Pooling/config.json", "{}")
        .file("model.safetensors", safetensors(8));
    repo.git_ref("main", A);
    let run = cli(&["show", "org/embed", "--files"], Some(fx.path()));
    assert_eq!(run.code, 0, "{}", run.stderr_text());
    let text = run.stdout_text();
    assert!(
        text.contains("  - 1_Pooling/config.json (config, 2B)\n"),
        "{text}"
    );
    assert!(text.contains("  - config.json (config, "), "{text}");
    let (_, env) = tests::cli_json(&["show", "org/embed", "--files"], fx.path());
    let names: Vec<&str> = env["data"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().filter(|n| **n == "config.json").count() == 2,
        "{env:#}"
    );
    assert!(
        env["data"]["files"][0].get("path").is_none(),
        "the reference's keys only"
    );
}

#[test]
fn verbose_is_one_flag_on_every_command_and_names_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("hub");
    one_model_cache(&cache, "tiny");
    let shown = std::path::absolute(&cache).unwrap();
    let line = format!("cache: {} (from --cache-dir)\n", shown.display());
    for args in [
        &["list", "-v"][..],
        &["-v", "list"],
        &["health", "--verbose"],
        &["show", "org/tiny", "-v"],
        &["rm", "org/tiny", "--dry-run", "-v"],
        &["prune", "--dry-run", "-v"],
    ] {
        let plain: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| *a != "-v" && *a != "--verbose")
            .collect();
        let quiet_run = cli(&plain, Some(&cache));
        let run = cli(args, Some(&cache));
        assert_eq!(run.code, quiet_run.code, "{args:?}: {}", run.stderr_text());
        // The cache first on stderr, then what the command says anyway.
        assert_eq!(
            run.stderr_text(),
            format!("{line}{}", quiet_run.stderr_text()),
            "{args:?}"
        );
        // The npm bin says the same.
        let bin = tests::runners::npm_bin(args, &cache);
        assert_eq!(bin.stderr, run.stderr, "npm bin, {args:?}");
        assert_eq!(bin.stdout, run.stdout, "npm bin, {args:?}");
        // JSON and -q are untouched by it.
        let json: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        let plain_json: Vec<&str> = plain.iter().copied().chain(["--json"]).collect();
        assert_eq!(
            cli(&json, Some(&cache)).stdout,
            cli(&plain_json, Some(&cache)).stdout,
            "{args:?} --json"
        );
        let quiet: Vec<&str> = args.iter().copied().chain(["-q"]).collect();
        assert!(
            !cli(&quiet, Some(&cache)).stderr_text().contains("cache: "),
            "{args:?} -q"
        );
    }
    // list keeps its detail columns under -v.
    let wide = cli(&["list", "-v"], Some(&cache)).stdout_text();
    let narrow = cli(&["list"], Some(&cache)).stdout_text();
    assert_ne!(wide, narrow);
    // The model is still there: nothing was removed by a dry run.
    assert!(cache.join("models--org--tiny").is_dir());
}
