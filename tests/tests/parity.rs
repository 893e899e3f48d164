//! One table of cases, run through the `mlxk` binary (wasmtime), the npm package (Node)
//! and the native library: stdout and exit codes must be byte-identical.

use std::path::{Path, PathBuf};

use core_wasm::request::{self, Command};
use tests::{CacheFixture, Run, cli, native, node_batch, zoo};

/// Cases for each command. The `match` is exhaustive on purpose: a new command does not
/// compile until it has parity cases here.
fn cases_for(command: &Command) -> &'static [&'static [&'static str]] {
    match command {
        Command::List(_) => &[
            &["list", "--json"],
            &["list", "--json", "--all"],
            &["list", "--json", "PHI"],
            &["list", "--json", "mlx-community/"],
            &["list", "--json", " "],
            &["list", "--json", "Phi@aaa"],
            &["list", "--json", "\u{f6}del"],
            &["list"],
            &["list", "--all"],
            &["list", "--all", "--health"],
            &["list", "--all", "--health", "--verbose"],
            &["list", "--verbose"],
            &["list", "--health"],
        ],
        Command::Health(_) => &[
            &["health", "--json"],
            &["health"],
            &["health", "org/sharded", "--json"],
            &["health", "org/sharded"],
            &["health", "sharded", "--json"],
            &["health", "sharded"],
            &["health", "nonexistent", "--json"],
            &["health", "nonexistent"],
            &["health", "twosnaps@bbb", "--json"],
            &["health", "org/twosnaps@zzz", "--json"],
            &["health", "evil/escape", "--json"],
            &["health", "--deep", "--json"],
            &["health", "--deep"],
            &["health", "org/sharded", "--deep", "--json"],
            &["health", "twosnaps@bbb", "--deep", "--json"],
            &["health", "evil/escape", "--deep", "--json"],
            &["health", "nonexistent", "--deep", "--json"],
            &["health", "--strict", "--json"],
            &["health", "--strict"],
            &["health", "org/sharded", "--strict", "--json"],
        ],
        Command::Show(_) => &[
            &["show", "Phi-3", "--json"],
            &["show", "Phi-3"],
            &["show", "Phi-3", "--files", "--json"],
            &["show", "Phi-3", "--files"],
            &["show", "Phi-3", "--config", "--json"],
            &["show", "Phi-3", "--config"],
            &["show", "Phi-3", "--files", "--config", "--json"],
            &["show", "org/twosnaps@bbb", "--json"],
            &["show", "org/twosnaps@zzz", "--json"],
            &["show", "sharded", "--json"],
            &["show", "sharded"],
            &["show", "nonexistent", "--json"],
            &["show", "", "--json"],
            &["show", "@aaa", "--json"],
            &["show", "evil/escape", "--files", "--json"],
            &["show", "evil/config-escape", "--config", "--json"],
            &["show", "org/m\u{f6}del", "--json"],
            &["show", "win/copies", "--files"],
            &["show", "TheBloke/Llama-2-7B-Chat-GGUF"],
        ],
        // Only what leaves the cache as it was; removals run on fresh copies in rm.rs.
        Command::Rm(_) => &[
            &["rm", "org/twosnaps@aaa", "--dry-run", "--json"],
            &["rm", "org/twosnaps", "--dry-run"],
            &["rm", "org/sharded", "--dry-run", "--json"],
            &["rm", "sharded", "--json"],
            &["rm", "sharded"],
            &["rm", "nonexistent", "--json"],
            &["rm", "nonexistent"],
            &["rm", "org/twosnaps@zzz", "--json"],
            &["rm", "org/", "--json"],
            &["rm", "../outside_secret.txt", "--json"],
            &["rm", "evil/escape", "--dry-run", "--json"],
        ],
        // Dry runs only (the cache stays as it was); removals are compared in prune.rs.
        Command::Prune(_) => &[&["prune", "--dry-run", "--json"], &["prune", "--dry-run"]],
        // Names refused before any lookup, in every cache; answers from a cached model
        // are compared in pull.rs (here an empty cache would send them to the network).
        Command::Pull(_) => &[
            &["pull", "", "--json"],
            &["pull", " "],
            &["pull", "a--b/c", "--json"],
            &["pull", "org//x", "--json"],
            &["pull", "../../etc/passwd", "--json"],
            &["pull", "org/x@../../refs", "--json"],
        ],
        // The CLI's alone: it downloads, and writes a folder the user names (clone.rs).
        Command::Clone(_) => &[],
        // The CLI's alone: the engine is a child process of the host (engine.rs).
        Command::Run(_) => &[],
        // Argument checks only: the work needs the CLI's mounts (convert.rs).
        Command::Convert(_) => &[
            &["convert", "./a", "./b", "--json"],
            &["convert", "./a", "./b", "--quantize", "5", "--json"],
            &["convert", "./a", "./b", "--repair-index", "--quantize", "4"],
        ],
        Command::Version => &[&["--version", "--json"], &["--version"]],
    }
}

/// JSON usage errors: produced by clap in the CLI and by the guest's own parser in Node,
/// and still identical.
const USAGE_CASES: &[&[&str]] = &[
    &["bogus", "--json"],
    &["show", "--json"],
    &["show", "a", "b", "--json"],
    &["health", "--files", "--json"],
    &["health", "--deep", "a", "b", "--json"],
    &["rm", "--json"],
    &["pull", "--json"],
    &["pull", "a", "--bogus", "--json"],
    &["rm", "a", "--bogus", "--json"],
    &["list", "a", "b", "--json"],
    &["list", "--bogus", "--json"],
    &["prune", "org/x", "--json"],
    &["prune", "--force", "--json"],
    &["--json"],
];

fn all_cases() -> Vec<Vec<&'static str>> {
    let samples = [
        vec!["mlxk", "list"],
        vec!["mlxk", "health"],
        vec!["mlxk", "show", "x"],
        vec!["mlxk", "rm", "x"],
        vec!["mlxk", "prune"],
        vec!["mlxk", "pull", "x"],
        vec!["mlxk", "clone", "--plan", "--", "x", "y"],
        vec!["mlxk", "convert", "a", "b"],
        vec!["mlxk", "run", "--plan", "--", "x"],
        vec!["mlxk", "--version"],
    ];
    let mut out = Vec::new();
    for sample in samples {
        let argv: Vec<String> = sample.iter().map(|s| (*s).to_owned()).collect();
        let command = request::parse(&argv).expect("sample parses").command;
        out.extend(cases_for(&command).iter().map(|c| c.to_vec()));
    }
    out.extend(USAGE_CASES.iter().map(|c| c.to_vec()));
    out
}

fn check_parity(cache: &Path, label: &str) -> Vec<(Vec<&'static str>, Run)> {
    let cases = all_cases();
    let node_input: Vec<(Vec<String>, PathBuf)> = cases
        .iter()
        .map(|c| {
            (
                c.iter().map(|s| (*s).to_owned()).collect(),
                cache.to_path_buf(),
            )
        })
        .collect();
    let node_runs = node_batch(&node_input);
    let mut out = Vec::new();
    for (case, node) in cases.into_iter().zip(node_runs) {
        let wasmtime = cli(&case, Some(cache));
        assert_eq!(
            wasmtime.code,
            node.code,
            "[{label}] exit code differs for {case:?}\ncli stderr: {}\nnode stderr: {}",
            String::from_utf8_lossy(&wasmtime.stderr),
            String::from_utf8_lossy(&node.stderr)
        );
        assert_eq!(
            wasmtime.stdout_text(),
            node.stdout_text(),
            "[{label}] stdout differs between mlxk and the npm package for {case:?}"
        );
        if !USAGE_CASES.contains(&case.as_slice()) {
            let lib = native(&case, cache);
            assert_eq!(
                (lib.code, lib.stdout_text()),
                (wasmtime.code, wasmtime.stdout_text()),
                "[{label}] the native library differs from the wasm guest for {case:?}"
            );
        }
        assert!(
            !wasmtime.stdout.is_empty() || !wasmtime.stderr.is_empty(),
            "[{label}] {case:?} printed nothing"
        );
        if case.contains(&"--json") {
            tests::schema::assert_valid(&wasmtime.json());
        }
        // `npx mlx-knife`: the same bytes and exit code. Human usage errors are the one
        // exception (clap's text in the CLI, argparse's in the guest); the JSON ones agree.
        let bin = tests::runners::npm_bin(&case, cache);
        assert_eq!(
            (bin.code, bin.stdout_text()),
            (wasmtime.code, wasmtime.stdout_text()),
            "[{label}] the npm bin differs from mlxk for {case:?}\nbin stderr: {}",
            String::from_utf8_lossy(&bin.stderr)
        );
        if wasmtime.code != 2 || case.contains(&"--json") {
            assert_eq!(
                bin.stderr_text(),
                wasmtime.stderr_text(),
                "[{label}] stderr of the npm bin differs for {case:?}"
            );
        }
        out.push((case, wasmtime));
    }
    out
}

#[test]
fn every_case_is_identical_on_the_zoo() {
    let fx = zoo::zoo();
    let runs = check_parity(fx.path(), "zoo");
    let list_all = &runs
        .iter()
        .find(|(c, _)| *c == ["list", "--json", "--all"])
        .unwrap()
        .1;
    assert_eq!(list_all.json()["data"]["count"], 19);
    let secret_free = runs.iter().all(|(_, r)| {
        !r.stdout_text().contains(zoo::SECRET)
            && !String::from_utf8_lossy(&r.stderr).contains(zoo::SECRET)
    });
    assert!(
        secret_free,
        "a byte of the file outside the cache leaked into an output"
    );
}

#[test]
fn every_case_is_identical_on_an_empty_cache() {
    let fx = CacheFixture::new();
    check_parity(fx.path(), "empty");
}

#[test]
fn every_case_is_identical_when_the_cache_is_missing() {
    let fx = CacheFixture::new();
    let missing = fx.outside().join("does-not-exist");
    let runs = check_parity(&missing, "missing");
    // `--cache-dir` names it, so it must exist (safety.rs has every command).
    let (_, run) = runs.iter().find(|(c, _)| *c == ["list", "--json"]).unwrap();
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["type"], "cache_not_found");
    assert!(!missing.exists(), "listing must not create the cache");
}

#[test]
fn the_npm_bin_prints_the_clis_help_and_refuses_what_needs_the_cli() {
    let fx = CacheFixture::new();
    for case in [
        &["--help"][..],
        &["-h"],
        &["list", "--help"],
        &["health", "-h"],
        &["show", "--help"],
        &["rm", "--help"],
        &["pull", "--help"],
        &["run", "--help"],
        &["list", "--help", "--json"],
    ] {
        let bin = tests::runners::npm_bin(case, fx.path());
        let native = cli(case, Some(fx.path()));
        assert_eq!(native.code, 0, "{case:?}");
        assert_eq!(
            (bin.code, bin.stdout_text()),
            (native.code, native.stdout_text()),
            "{case:?}"
        );
    }
    // The engine's commands: a usage error that names the CLI (exit 2).
    for (case, says) in [
        (&["run", "org/m", "hi", "--json"][..], "use `mlxk run`"),
        (&["serve", "--json"], "use `mlxk serve`"),
        (&["clone", "org/m", "./x", "--json"], "use `mlxk clone`"),
    ] {
        let bin = tests::runners::npm_bin(case, fx.path());
        assert_eq!(bin.code, 2, "{case:?}");
        let v = bin.json();
        assert_eq!(v["error"]["type"], "CommandError");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }
    // `--cache-dir` without its value: the CLI's words, in both forms.
    let mut cmd = std::process::Command::new("node");
    let out = cmd
        .arg(tests::runners::repo_root().join("npm/bin/mlx-knife.mjs"))
        .args(["list", "--json", "--cache-dir"])
        .output()
        .unwrap();
    let native = cli(&["list", "--json", "--cache-dir"], None);
    assert_eq!(out.status.code(), Some(native.code));
    assert_eq!(String::from_utf8_lossy(&out.stdout), native.stdout_text());
}
