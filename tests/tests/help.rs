//! What a person reads before running anything: `mlxk help [command]`, each command's
//! examples (run here against a fixture cache: none may be a usage error), the completion
//! scripts (loaded by a real bash), and the man pages the build writes.

use std::process::Command;

use tests::zoo::{self, A};
use tests::{CacheFixture, cli, safetensors, target_dir};

const COMMANDS: [&str; 12] = [
    "list",
    "health",
    "show",
    "pull",
    "rm",
    "prune",
    "clone",
    "convert",
    "run",
    "serve",
    "completions",
    "help",
];

#[test]
fn help_subcommand_prints_what_dash_dash_help_prints() {
    let top = cli(&["--help"], None);
    assert_eq!(top.code, 0);
    assert_eq!(cli(&["help"], None).stdout_text(), top.stdout_text());
    for cmd in &COMMANDS[..11] {
        let by_flag = cli(&[cmd, "--help"], None);
        let by_help = cli(&["help", cmd], None);
        assert_eq!(by_flag.code, 0, "{cmd}");
        assert_eq!(by_help.code, 0, "{cmd}");
        assert_eq!(by_help.stdout_text(), by_flag.stdout_text(), "{cmd}");
        let text = by_flag.stdout_text();
        assert!(text.contains("Examples:\n"), "{cmd} --help has no examples");
        let examples = examples(&text);
        assert!((2..=4).contains(&examples.len()), "{cmd}: {examples:?}");
        if *cmd != "completions" && *cmd != "convert" {
            assert!(
                text.contains("Environment: "),
                "{cmd} --help names no variables"
            );
        }
    }
    let run = cli(&["help", "bogus"], None);
    assert_eq!(run.code, 2, "{}", run.stderr_text());
}

/// The example lines of a help text (those after `Examples:` that start with two spaces).
fn examples(help: &str) -> Vec<String> {
    help.split("Examples:\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// An example as arguments: the `mlxk ...` part before a pipe or a comment of spaces,
/// unquoted; `None` for lines that are not an `mlxk` call (`source <(...)`, `curl`).
fn example_args(line: &str) -> Option<Vec<String>> {
    let line = line.split(" | ").next()?.split("   ").next()?.trim();
    let line = line.split(" > ").next()?.trim();
    let rest = line.strip_prefix("mlxk ")?;
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    for c in rest.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if !cur.is_empty() {
                    args.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        args.push(cur);
    }
    Some(args)
}

/// A cache with one small model, `org/name`.
fn one_model() -> CacheFixture {
    let fx = CacheFixture::new();
    let repo = fx.model("org/name");
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(16));
    repo.git_ref("main", A);
    fx
}

#[test]
fn every_help_example_runs_without_a_usage_error() {
    let fx = one_model();
    let work = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for cmd in [
        None,
        Some("list"),
        Some("health"),
        Some("show"),
        Some("pull"),
        Some("rm"),
        Some("prune"),
        Some("clone"),
        Some("convert"),
        Some("run"),
        Some("completions"),
    ] {
        let help = match cmd {
            Some(c) => cli(&[c, "--help"], None),
            None => cli(&["--help"], None),
        };
        for line in examples(&help.stdout_text()) {
            let Some(args) = example_args(&line) else {
                continue;
            };
            // A server would keep running; its options are parsed by the serve tests.
            if args.first().is_some_and(|a| a == "serve") {
                continue;
            }
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            // `help` takes no options; every other command is pointed at the fixture.
            if args.first() != Some(&"help") {
                args.extend(["--cache-dir", fx.path().to_str().unwrap()]);
            }
            let out = Command::new(target_dir().join("release/mlxk"))
                .args(&args)
                .current_dir(work.path())
                .env("HF_HUB_OFFLINE", "1")
                .env("MLXK_PYTHON", "/nonexistent/mlxk-test-python")
                .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let code = out.status.code().unwrap_or(-1);
            assert_ne!(code, 2, "{line}: {}", String::from_utf8_lossy(&out.stderr));
            ran += 1;
        }
    }
    assert!(ran >= 25, "only {ran} examples ran");
}

#[test]
fn completion_scripts_load_and_complete() {
    let bin = target_dir().join("release");
    let script = "source <(mlxk completions bash) && complete -p mlxk >/dev/null && \
         COMP_WORDS=(mlxk pr) COMP_CWORD=1 && _mlxk mlxk pr mlxk && echo \"${COMPREPLY[@]}\" && \
         COMP_WORDS=(mlxk pull org/x --inc) COMP_CWORD=3 && _mlxk mlxk --inc org/x && echo \"${COMPREPLY[@]}\"";
    let out = Command::new("bash")
        .args(["-c", script])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prune"), "{text}");
    assert_eq!(lines.next(), Some("--include"), "{text}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = cli(&["completions", shell], None);
        assert_eq!(run.code, 0, "{shell}");
        assert!(run.stdout_text().contains("prune"), "{shell}");
    }
    let run = cli(&["completions", "tcsh"], None);
    assert_eq!(run.code, 2);
}

#[test]
fn the_build_wrote_a_man_page_per_command() {
    let dir = target_dir().join("release/man/man1");
    for page in
        std::iter::once("mlxk".to_owned()).chain(COMMANDS[..11].iter().map(|c| format!("mlxk-{c}")))
    {
        let path = dir.join(format!("{page}.1"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (cargo xtask build writes it)", path.display()));
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page}: not roff");
        assert!(text.contains(".SH NAME"), "{page}");
    }
}

#[test]
fn mlxk_json_does_not_offer_the_json_flag_it_always_has() {
    for args in [&["--help"][..], &["list", "--help"], &["help", "rm"]] {
        let run = tests::runners::cli_with("mlxk-json", args, None, &[]);
        assert_eq!(run.code, 0, "{args:?}");
        let text = run.stdout_text();
        assert!(!text.contains("      --json "), "{args:?}: {text}");
        assert!(
            cli(args, None).stdout_text().contains("      --json "),
            "{args:?}"
        );
    }
    // Still accepted, for scripts written for mlxk.
    let fx = CacheFixture::new();
    let run = tests::runners::cli_with("mlxk-json", &["list", "--json"], Some(fx.path()), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["command"], "list");
}

/// Runs `line` (a shell command) under a pseudo-terminal; returns everything it printed.
fn on_a_terminal(line: &str, env: &[(&str, &str)]) -> Vec<u8> {
    let out = Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .env(
            "PATH",
            format!(
                "{}:{}",
                target_dir().join("release").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .env("MLXK_MODULE_CACHE", target_dir().join("test-module-cache"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    out.stdout
}

fn has_escape(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}

/// A colour sequence (`ESC [ digits/; m`), which NO_COLOR rules out (a progress bar's cursor
/// movement it does not).
fn has_color(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b[" && {
            let rest = &bytes[i + 2..];
            let n = rest
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b';')
                .count();
            rest.get(n) == Some(&b'm')
        }
    })
}

#[test]
fn color_never_and_pipes_carry_no_escape_byte() {
    let fx = one_model();
    let cache = fx.path().to_str().unwrap();
    let lines: Vec<Vec<&str>> = vec![
        vec!["list", "--all", "--health"],
        vec!["health", "--deep"],
        vec!["show", "org/name", "--files"],
        vec!["rm", "org/name", "--dry-run"],
        vec!["prune", "--dry-run"],
        vec!["lst"],
        vec!["show", "nothing"],
        vec!["help", "pull"],
    ];
    for args in &lines {
        // Piped: plain text whatever the colour setting says for terminals.
        let run = cli(args, Some(fx.path()));
        assert!(
            !has_escape(&run.stdout) && !has_escape(&run.stderr),
            "{args:?}"
        );
        // On a terminal with --color never, or NO_COLOR: none either.
        let line = format!("mlxk --color never {} --cache-dir {cache}", args.join(" "));
        assert!(!has_escape(&on_a_terminal(&line, &[])), "{line}");
        let line = format!("mlxk {} --cache-dir {cache}", args.join(" "));
        assert!(
            !has_color(&on_a_terminal(&line, &[("NO_COLOR", "1")])),
            "{line}"
        );
    }
    // The checks can fail: a usage error is coloured on a terminal, and when asked.
    assert!(has_color(&on_a_terminal("mlxk lst", &[])));
    assert!(has_escape(&cli(&["--color", "always", "lst"], None).stderr));
    let run = cli(&["--color", "sometimes", "list"], None);
    assert_eq!(run.code, 2);
    // The npm bin takes the option too (and never colours).
    let runs = tests::node_batch(&[(
        vec![
            "--color".into(),
            "never".into(),
            "list".into(),
            "--json".into(),
        ],
        fx.path().to_path_buf(),
    )]);
    assert_eq!(runs[0].code, 0, "{}", runs[0].stderr_text());
    assert_eq!(runs[0].json()["command"], "list");
}

/// A runnable MLX model (so plain `list` shows it) under `name`.
fn mlx_model(fx: &CacheFixture, name: &str) {
    fx.model(name)
        .git_ref("main", A)
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"phi3","quantization":{"bits":4,"group_size":64},"max_position_embeddings":4096}"#,
        )
        .file("model.safetensors", safetensors(16))
        .file("tokenizer.json", "{}")
        .file("tokenizer_config.json", r#"{"chat_template":"{{ messages }}"}"#)
        .file("README.md", "---\nlibrary_name: mlx\n---\n");
}

#[test]
fn list_tables_fit_the_terminal_and_cut_names_with_an_ellipsis() {
    let fx = CacheFixture::new();
    let long = "org-with-a-long-name/a-really-long-model-name-made-for-narrow-terminals-4bit";
    mlx_model(&fx, long);
    mlx_model(&fx, "org/short");
    let cache = fx.path().to_str().unwrap();
    let table = |cols: usize, extra: &str| {
        let bytes = on_a_terminal(
            &format!("stty cols {cols}; mlxk list {extra} --cache-dir {cache}"),
            &[],
        );
        String::from_utf8(bytes).unwrap().replace('\r', "")
    };
    for cols in [60usize, 100] {
        let text = table(cols, "");
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4, "{text}");
        for l in &lines {
            assert!(l.chars().count() <= cols, "{cols}: {l:?} is wider");
        }
        assert!(text.contains('\u{2026}'), "{cols}: {text}");
        assert!(!text.contains(long), "{cols}: {text}");
        assert!(text.contains("org/short"), "{text}");
    }
    let wide = table(200, "");
    assert!(wide.contains(long), "{wide}");
    assert!(!wide.contains('\u{2026}'), "{wide}");
    // --no-truncate keeps the names; a pipe gets the whole table too.
    assert!(table(60, "--no-truncate").contains(long));
    let piped = cli(&["list"], Some(fx.path())).stdout_text();
    assert!(piped.contains(long), "{piped}");
    // COLUMNS, as a shell exports it, wins over the terminal's size.
    let bytes = on_a_terminal(
        &format!("stty cols 200; mlxk list --cache-dir {cache}"),
        &[("COLUMNS", "60")],
    );
    assert!(String::from_utf8(bytes).unwrap().contains('\u{2026}'));
}

#[test]
fn quiet_keeps_answers_and_errors_only() {
    let fx = CacheFixture::new();
    mlx_model(&fx, "org/runnable");
    let broken = fx.model("org/broken");
    broken.snapshot(A).file("config.json", zoo::cfg("llama"));
    broken.git_ref("main", A);
    // A listing is the answer: it stays; the hint about hidden models goes.
    let loud = cli(&["list"], Some(fx.path()));
    assert!(
        loud.stderr_text().contains("mlxk list --all"),
        "{}",
        loud.stderr_text()
    );
    for args in [&["-q", "list"][..], &["list", "--quiet"]] {
        let run = cli(args, Some(fx.path()));
        assert_eq!(run.code, 0);
        assert_eq!(run.stdout_text(), loud.stdout_text(), "{args:?}");
        assert_eq!(run.stderr_text(), "", "{args:?}");
    }
    // Narration goes; the exit code says it.
    for args in [
        &["-q", "rm", "org/broken", "--dry-run"][..],
        &["prune", "-q", "--dry-run"],
        &["rm", "org/broken", "--quiet"],
    ] {
        let run = cli(args, Some(fx.path()));
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr_text());
        assert_eq!(run.stdout_text(), "", "{args:?}");
        assert_eq!(run.stderr_text(), "", "{args:?}");
    }
    assert!(!fx.path().join("models--org--broken").exists());
    // Errors are still said, and JSON is unchanged.
    let run = cli(&["-q", "show", "org/nothing"], Some(fx.path()));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr_text().starts_with("show: Error: "),
        "{}",
        run.stderr_text()
    );
    let quiet = cli(&["-q", "list", "--json"], Some(fx.path()));
    let plain = cli(&["list", "--json"], Some(fx.path()));
    assert_eq!(quiet.stdout_text(), plain.stdout_text());
    // The npm bin reads it the same way.
    let runs = tests::node_batch(&[(vec!["-q".into(), "list".into()], fx.path().to_path_buf())]);
    assert_eq!(runs[0].stdout_text(), loud.stdout_text());
    assert_eq!(runs[0].stderr_text(), "");
}
