//! The guest's command line: `mlxk <command> [args] [--json]`, parsed by hand (the core
//! carries no clap). The native CLI validates with clap first and forwards the same argv;
//! this parser is what makes the module usable on its own (`wasmtime run`, Node).

use crate::error::CoreError;

/// Commands the core can run, in the order help lists them.
pub const COMMANDS: &[&str] = &["list", "health", "show", "pull", "rm", "prune"];

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `argv[0]`'s base name, for `--version`'s human form.
    pub program: String,
    /// Whether `--json` was given.
    pub json: bool,
    /// Where the host found the cache (its options before the command), if it said.
    pub cache: Option<crate::location::Location>,
    /// The folder the host mounted for a workspace command, if any.
    pub workspace: Option<crate::workspace::mount::Mount>,
    /// The folder `clone`/`convert` write, as the host mounted it, if any.
    pub target: Option<crate::workspace::target::TargetMount>,
    /// `MLXK_WORKSPACE_HOME`, as the host mounted it, if any.
    pub home: Option<String>,
    /// The host's inference engine, if it said (for `--version`).
    pub engine: Option<crate::engine::EngineInfo>,
    /// `-q`/`--quiet`: answers and errors only (no hints, no success narration).
    pub quiet: bool,
    /// `-v`/`--verbose`, on any command: say which cache is read (and `list`'s detail
    /// columns).
    pub verbose: bool,
    /// What to run.
    pub command: Command,
}

/// A command and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `list`
    List(ListArgs),
    /// `health [model[@rev]]`
    Health(HealthArgs),
    /// `show model[@rev] [--files] [--config]`
    Show(ShowArgs),
    /// `rm model[@rev] [-f] [--dry-run]`
    Rm(RmArgs),
    /// `prune [--dry-run]`
    Prune(PruneArgs),
    /// `pull model[@rev] [--force-resume]`: the local half (the network is the host's).
    Pull(PullArgs),
    /// `clone --plan|--finish …`: the local halves (the network is the host's).
    Clone(CloneArgs),
    /// `convert SOURCE TARGET --repair-index|--quantize N [--skip-health]`.
    Convert(ConvertArgs),
    /// `run --plan -- model`: which folder the host runs the engine on.
    Run(RunArgs),
    /// `--version`
    Version,
}

/// Arguments of `run` (host-driven: the engine is the host's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// The model, `name[@rev]` or a workspace path.
    pub model: String,
    /// `--plan`: answer with a [`crate::commands::run::RunPlan`].
    pub plan: bool,
}

/// Arguments of `convert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertArgs {
    /// The request, or the argument error 2.0.8 reports with `data: null`.
    pub request: Result<crate::workspace::convert::ConvertRequest, String>,
    /// `--plan`: only check, for the host.
    pub plan: bool,
}

/// Which half of `clone` the host asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClonePhase {
    /// Check the target and decide where the files come from.
    Plan,
    /// Copy the files of `commit` from the mounted cache into the target.
    Finish {
        /// Which cache is mounted.
        from: crate::protocol::CloneSource,
        /// The commit.
        commit: String,
        /// Downloaded by this run.
        fresh: bool,
    },
}

/// Arguments of `clone` (host-driven).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneArgs {
    /// The shared request.
    pub request: crate::workspace::clone::CloneRequest,
    /// Which half.
    pub phase: ClonePhase,
    /// `--quiet`: no health suffix in the human line.
    pub quiet: bool,
}

/// Arguments of `pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullArgs {
    /// The model, `name[@rev]`.
    pub model: String,
    /// `--force-resume`: download again even when the cached copy is healthy or
    /// unhealthy, instead of asking.
    pub force_resume: bool,
    /// `--plan`: print the decision as a [`crate::protocol::PullPlan`] for the host.
    pub plan: bool,
    /// A later step of a host's download (`--write-plan` or `--finish`); `model` then
    /// holds the step's JSON state (see `commands::pull`).
    pub step: Option<PullStep>,
    /// `--include GLOB... --exclude GLOB...`: the files to take.
    pub selection: crate::selection::Selection,
}

/// The steps of a download a host drives after `--plan` said to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStep {
    /// `--write-plan STATE`: the Hub's answers in, the [`crate::hub::WritePlan`] out.
    WritePlan,
    /// `--finish STATE`: what the host did in, the command's envelope out.
    Finish,
}

/// Arguments of `rm`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RmArgs {
    /// The targets, `name[@rev]` each (one keeps the reference's envelope; several give a
    /// list, see `commands::rm`).
    pub models: Vec<String>,
    /// `--files GLOB...`: only these files of the snapshot.
    pub files: crate::selection::Selection,
    /// `-f`/`--force`: no confirmation for fuzzy matches, and held locks do not block.
    pub force: bool,
    /// `--dry-run`: report what would be removed, remove nothing.
    pub dry_run: bool,
}

/// Arguments of `prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneArgs {
    /// `--dry-run`: report what would be removed, remove nothing.
    pub dry_run: bool,
}

/// Arguments of `health`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthArgs {
    /// One model (`name[@rev]`), or every model when absent.
    pub model: Option<String>,
    /// Audit every byte offline (`--deep`).
    pub deep: bool,
    /// Exit 1 when any model is unhealthy (`--strict`; `--deep` implies it).
    pub strict: bool,
}

/// Arguments of `show`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowArgs {
    /// The model, `name[@rev]`.
    pub model: String,
    /// List the snapshot's files (wins over `config`).
    pub files: bool,
    /// Include config.json.
    pub config: bool,
    /// `--recalc-hash`: re-pin a managed workspace's content hash.
    pub recalc_hash: bool,
}

/// Arguments of `list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListArgs {
    /// Case-insensitive substring of the full name; empty means all.
    pub pattern: String,
    /// Show every model, not only healthy and runnable ones.
    pub all: bool,
    /// Add health columns.
    pub health: bool,
    /// Full names and detail columns.
    pub verbose: bool,
    /// `--no-truncate`: keep whole names even when the table is wider than the terminal.
    pub no_truncate: bool,
    /// The terminal's width, when the host prints to one (`--term-width=N`, host-given).
    pub width: Option<usize>,
}

/// Whether `--json` appears anywhere (decides how even a usage error is reported).
pub fn wants_json(argv: &[String]) -> bool {
    argv.iter().skip(1).any(|a| a == "--json")
}

/// The program's base name from `argv[0]`.
pub fn program_name(argv: &[String]) -> String {
    argv.first()
        .and_then(|a| a.rsplit(['/', '\\']).next())
        .filter(|s| !s.is_empty())
        .unwrap_or("mlxk")
        .to_owned()
}

/// Takes out `--color WHEN` / `--color=WHEN` (before `--`): the core prints no colour, so
/// the choice only has to be a valid one, as the CLI's is.
fn drop_color(args: &mut Vec<String>) -> Result<(), CoreError> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let mut i = 0;
    let mut end = end;
    while i < end {
        let (value, width) = match args[i].strip_prefix("--color") {
            Some("") => (args.get(i + 1).cloned(), 2),
            Some(v) if v.starts_with('=') => (Some(v[1..].to_owned()), 1),
            _ => {
                i += 1;
                continue;
            }
        };
        match value.as_deref() {
            Some("auto" | "always" | "never") => {}
            Some(v) => {
                return Err(CoreError::Usage(format!(
                    "argument --color: invalid choice: '{v}' (choose from 'auto', 'always', 'never')"
                )));
            }
            None => {
                return Err(CoreError::Usage(
                    "argument --color: expected one argument".into(),
                ));
            }
        }
        args.drain(i..(i + width).min(args.len()));
        end -= width.min(end - i);
    }
    Ok(())
}

/// Parses `argv` (including `argv[0]`).
pub fn parse(argv: &[String]) -> Result<Request, CoreError> {
    let program = program_name(argv);
    let json = wants_json(argv);
    let mut args: Vec<String> = argv.iter().skip(1).cloned().collect();
    let cache = crate::location::extract(&mut args)?;
    let workspace = crate::workspace::mount::extract(&mut args)?;
    let target = crate::workspace::target::extract(&mut args)?;
    let home = crate::workspace::home::extract(&mut args);
    let engine = crate::engine::extract(&mut args);
    drop_color(&mut args)?;
    let quiet = drop_quiet(&mut args);
    let verbose = drop_verbose(&mut args);
    let mut rest = args.iter().map(String::as_str).filter(|a| *a != "--json");
    let Some(first) = rest.next() else {
        return Err(if json {
            CoreError::NoCommand
        } else {
            CoreError::Usage("the following arguments are required: command".into())
        });
    };
    let command = match first {
        "--version" | "-V" => Command::Version,
        "list" => Command::List(ListArgs {
            verbose,
            ..parse_list(rest)?
        }),
        "health" => {
            let (flags, positionals) = split_args(rest, &["--deep", "--strict"])?;
            Command::Health(HealthArgs {
                model: one_optional(positionals)?,
                deep: flags.contains(&"--deep"),
                strict: flags.contains(&"--strict"),
            })
        }
        "show" => {
            let (flags, positionals) = split_args(rest, &["--files", "--config", "--recalc-hash"])?;
            let model = one_optional(positionals)?.ok_or_else(|| {
                CoreError::Usage("the following arguments are required: model".into())
            })?;
            Command::Show(ShowArgs {
                model,
                files: flags.contains(&"--files"),
                config: flags.contains(&"--config"),
                recalc_hash: flags.contains(&"--recalc-hash"),
            })
        }
        "rm" => {
            let (files, rest) = take_patterns(rest, &["--files"])?;
            let (flags, positionals) =
                split_args(rest.into_iter(), &["-f", "--force", "--dry-run"])?;
            if positionals.is_empty() {
                return Err(CoreError::Usage(
                    "the following arguments are required: model".into(),
                ));
            }
            Command::Rm(RmArgs {
                models: positionals.iter().map(|m| (*m).to_owned()).collect(),
                files: crate::selection::Selection {
                    include: files[0].clone(),
                    exclude: Vec::new(),
                },
                force: flags.iter().any(|f| *f == "-f" || *f == "--force"),
                dry_run: flags.contains(&"--dry-run"),
            })
        }
        "prune" => {
            let (flags, positionals) = split_args(rest, &["--dry-run"])?;
            if let Some(extra) = positionals.first() {
                return Err(CoreError::Usage(format!("unrecognized arguments: {extra}")));
            }
            Command::Prune(PruneArgs {
                dry_run: flags.contains(&"--dry-run"),
            })
        }
        "pull" => {
            let (selection, rest) = take_patterns(rest, &["--include", "--exclude"])?;
            let (flags, positionals) = split_args(
                rest.into_iter(),
                &["--force-resume", "--plan", "--write-plan", "--finish"],
            )?;
            let model = one_optional(positionals)?.ok_or_else(|| {
                CoreError::Usage("the following arguments are required: model".into())
            })?;
            let step = if flags.contains(&"--write-plan") {
                Some(PullStep::WritePlan)
            } else if flags.contains(&"--finish") {
                Some(PullStep::Finish)
            } else {
                None
            };
            Command::Pull(PullArgs {
                model,
                force_resume: flags.contains(&"--force-resume"),
                plan: flags.contains(&"--plan"),
                step,
                selection: crate::selection::Selection {
                    include: selection[0].clone(),
                    exclude: selection[1].clone(),
                },
            })
        }
        "clone" => Command::Clone(parse_clone(rest)?),
        "convert" => Command::Convert(parse_convert(rest)?),
        "run" => {
            let (flags, positionals) = split_args(rest, &["--plan"])?;
            // Only the CLI's own planning step reaches the guest; anything else is a host
            // without an engine (the npm package).
            if !flags.contains(&"--plan") {
                return Err(CoreError::Usage(
                    "run needs the inference engine, which the mlxk CLI drives: use `mlxk run`"
                        .into(),
                ));
            }
            let model = positionals
                .first()
                .map(|s| (*s).to_owned())
                .ok_or_else(|| {
                    CoreError::Usage("the following arguments are required: model".into())
                })?;
            Command::Run(RunArgs {
                model,
                plan: flags.contains(&"--plan"),
            })
        }
        "serve" | "server" => {
            return Err(CoreError::Usage(
                "serve needs the inference engine, which the mlxk CLI drives: use `mlxk serve`"
                    .into(),
            ));
        }
        other if other.starts_with('-') => {
            return Err(CoreError::Usage(format!("unrecognized arguments: {other}")));
        }
        other => {
            let choices = COMMANDS
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(CoreError::Usage(format!(
                "argument command: invalid choice: '{other}' (choose from {choices})"
            )));
        }
    };
    Ok(Request {
        program,
        json,
        cache,
        workspace,
        target,
        home,
        engine,
        quiet,
        verbose,
        command,
    })
}

/// Takes out `-v` / `--verbose` (before `--`): every command accepts it.
fn drop_verbose(args: &mut Vec<String>) -> bool {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let before = args.len();
    let mut i = 0;
    let mut end = end;
    while i < end {
        if args[i] == "-v" || args[i] == "--verbose" {
            args.remove(i);
            end -= 1;
        } else {
            i += 1;
        }
    }
    args.len() != before
}

/// Takes out `-q` / `--quiet` (before `--`); after `clone` it stays, for clone's own
/// parser, which reads it.
fn drop_quiet(args: &mut Vec<String>) -> bool {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let command = args[..end].iter().position(|a| !a.starts_with('-'));
    let mut keep_after = command.filter(|&c| args[c] == "clone");
    let before = args.len();
    let mut i = 0;
    let mut end = end;
    while i < end {
        let flag = args[i] == "-q" || args[i] == "--quiet";
        if flag && keep_after.is_none_or(|c| i < c) {
            args.remove(i);
            end -= 1;
            keep_after = keep_after.map(|c| c - 1);
        } else {
            i += 1;
        }
    }
    args.len() != before
}

/// Separates known flags from positionals (`--` ends flags); unknown flags are errors.
fn split_args<'a>(
    args: impl Iterator<Item = &'a str>,
    known: &[&'static str],
) -> Result<(Vec<&'static str>, Vec<&'a str>), CoreError> {
    let (mut flags, mut positionals, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    let mut positional_only = false;
    for a in args {
        if positional_only || !a.starts_with('-') || a.len() == 1 {
            positionals.push(a);
        } else if a == "--" {
            positional_only = true;
        } else if let Some(k) = known.iter().find(|k| **k == a) {
            flags.push(*k);
        } else {
            unknown.push(a);
        }
    }
    if unknown.is_empty() {
        Ok((flags, positionals))
    } else {
        Err(CoreError::Usage(format!(
            "unrecognized arguments: {}",
            unknown.join(" ")
        )))
    }
}

/// Pulls out options that take one or more values (argparse's `nargs="+"`, repeatable:
/// `--include a b --include c`, `--include=a`), in the order of `names`; the other
/// arguments come back as they were.
fn take_patterns<'a>(
    args: impl Iterator<Item = &'a str>,
    names: &[&str],
) -> Result<(Vec<Vec<String>>, Vec<&'a str>), CoreError> {
    let mut values = vec![Vec::new(); names.len()];
    let mut rest = Vec::new();
    let mut current: Option<(usize, usize)> = None; // (option, values taken so far)
    let mut positional_only = false;
    let expected = |i: usize| {
        CoreError::Usage(format!(
            "argument {}: expected at least one argument",
            names[i]
        ))
    };
    for a in args {
        if positional_only {
            rest.push(a);
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n, Some(v)),
            _ => (a, None),
        };
        if let Some(i) = names.iter().position(|n| *n == name) {
            if let Some((j, 0)) = current {
                return Err(expected(j));
            }
            match inline {
                Some("") => return Err(expected(i)),
                Some(v) => {
                    values[i].push(v.to_owned());
                    current = None;
                }
                None => current = Some((i, 0)),
            }
            continue;
        }
        match current {
            Some((i, _)) if a.is_empty() => return Err(expected(i)),
            Some((i, n)) if !a.starts_with('-') || a.len() == 1 => {
                values[i].push(a.to_owned());
                current = Some((i, n + 1));
            }
            Some((j, 0)) => return Err(expected(j)),
            _ => {
                current = None;
                if a == "--" {
                    positional_only = true;
                }
                rest.push(a);
            }
        }
    }
    if let Some((j, 0)) = current {
        return Err(expected(j));
    }
    Ok((values, rest))
}

/// At most one positional.
fn one_optional(positionals: Vec<&str>) -> Result<Option<String>, CoreError> {
    match positionals.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).to_owned())),
        [_, rest @ ..] => Err(CoreError::Usage(format!(
            "unrecognized arguments: {}",
            rest.join(" ")
        ))),
    }
}

fn parse_convert<'a>(mut args: impl Iterator<Item = &'a str>) -> Result<ConvertArgs, CoreError> {
    use crate::workspace::convert::{ConvertRequest, Mode};
    let (mut repair, mut quantize, mut group, mut skip, mut plan) =
        (false, None, 64u32, false, false);
    let mut state = None;
    let mut quantized = false;
    let mut positionals = Vec::new();
    let mut positional_only = false;
    let int = |flag: &str, v: Option<&str>| -> Result<i64, CoreError> {
        let v =
            v.ok_or_else(|| CoreError::Usage(format!("argument {flag}: expected one argument")))?;
        v.trim()
            .parse()
            .map_err(|_| CoreError::Usage(format!("argument {flag}: invalid int value: '{v}'")))
    };
    while let Some(a) = args.next() {
        if positional_only || !a.starts_with('-') || a.len() == 1 {
            positionals.push(a.to_owned());
            continue;
        }
        match a {
            "--" => positional_only = true,
            "--repair-index" => repair = true,
            "--skip-health" => skip = true,
            "--plan" => plan = true,
            "--quantized" => quantized = true,
            "--quantize" => quantize = Some(int("--quantize", args.next())?),
            "--q-group-size" => {
                group = u32::try_from(int("--q-group-size", args.next())?).unwrap_or(0);
            }
            _ if a.starts_with("--source-state=") => {
                state = a.strip_prefix("--source-state=").map(str::to_owned);
            }
            other => return Err(CoreError::Usage(format!("unrecognized arguments: {other}"))),
        }
    }
    let [source, target]: [String; 2] = positionals.try_into().map_err(|p: Vec<String>| {
        CoreError::Usage(if p.len() < 2 {
            "the following arguments are required: source, target".into()
        } else {
            format!("unrecognized arguments: {}", p[2..].join(" "))
        })
    })?;
    // 2.0.8's checks, in its order (`--quantize 0` is "not given").
    let quantize = quantize.filter(|q| *q != 0);
    let mode = match (repair, quantize) {
        (true, Some(_)) => Err("--repair-index and --quantize are mutually exclusive".to_owned()),
        (true, None) => Ok(Mode::RepairIndex),
        (false, None) => {
            Err("Must specify conversion mode (--repair-index or --quantize N)".to_owned())
        }
        (false, Some(q)) if ![2, 3, 4, 6, 8].contains(&q) => {
            Err(format!("--quantize must be 2, 3, 4, 6, or 8 (got {q})"))
        }
        (false, Some(q)) => Ok(Mode::Quantize {
            bits: q as u32,
            group_size: group,
        }),
    };
    Ok(ConvertArgs {
        request: mode.map(|mode| ConvertRequest {
            source,
            target,
            mode,
            skip_health: skip,
            source_state: state,
            quantized,
        }),
        plan,
    })
}

fn parse_clone<'a>(args: impl Iterator<Item = &'a str>) -> Result<CloneArgs, CoreError> {
    use crate::protocol::CloneSource;
    let (flags, positionals) = split_args(
        args,
        &[
            "--plan",
            "--finish",
            "--from-cache",
            "--from-temp",
            "--fresh",
            "--force-resume",
            "--no-health-check",
            "--from-home",
            "--quiet",
        ],
    )?;
    let has = |f: &str| flags.contains(&f);
    let (spec, typed, commit) = match positionals.as_slice() {
        [spec, typed] => (*spec, *typed, None),
        [spec, typed, commit] => (*spec, *typed, Some(*commit)),
        _ => {
            return Err(CoreError::Usage(
                "clone takes the model and the target (the mlxk CLI runs it)".into(),
            ));
        }
    };
    let phase = match (has("--plan"), has("--finish"), commit) {
        (true, false, None) => ClonePhase::Plan,
        (false, true, Some(commit)) => ClonePhase::Finish {
            from: if has("--from-cache") {
                CloneSource::Cache
            } else {
                CloneSource::Temp
            },
            commit: commit.to_owned(),
            fresh: has("--fresh"),
        },
        _ => {
            return Err(CoreError::Usage(
                "clone downloads, so the mlxk CLI runs it: use `mlxk clone`".into(),
            ));
        }
    };
    Ok(CloneArgs {
        request: crate::workspace::clone::CloneRequest {
            spec: spec.to_owned(),
            typed: typed.to_owned(),
            from_home: has("--from-home"),
            force_resume: has("--force-resume"),
            no_health_check: has("--no-health-check"),
        },
        phase,
        quiet: has("--quiet"),
    })
}

fn parse_list<'a>(args: impl Iterator<Item = &'a str>) -> Result<ListArgs, CoreError> {
    let mut out = ListArgs::default();
    let mut pattern = None;
    let mut extra = Vec::new();
    let mut positional_only = false;
    for a in args {
        match a {
            "--" if !positional_only => positional_only = true,
            "--all" if !positional_only => out.all = true,
            "--health" if !positional_only => out.health = true,
            "--verbose" | "-v" if !positional_only => out.verbose = true,
            "--no-truncate" if !positional_only => out.no_truncate = true,
            _ if !positional_only && a.starts_with("--term-width=") => {
                out.width = a["--term-width=".len()..].parse().ok().filter(|w| *w > 0);
            }
            _ if a.starts_with('-') && a.len() > 1 && !positional_only => extra.push(a),
            _ if pattern.is_none() => pattern = Some(a.to_owned()),
            _ => extra.push(a),
        }
    }
    if !extra.is_empty() {
        return Err(CoreError::Usage(format!(
            "unrecognized arguments: {}",
            extra.join(" ")
        )));
    }
    out.pattern = pattern.unwrap_or_default();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_list_flags_anywhere() {
        let r = parse(&argv("mlxk list --json Phi --all --health --verbose")).unwrap();
        assert!(r.json);
        assert_eq!(
            r.command,
            Command::List(ListArgs {
                pattern: "Phi".into(),
                all: true,
                health: true,
                verbose: true,
                ..ListArgs::default()
            })
        );
    }

    #[test]
    fn pull_patterns_take_one_or_more_values_as_argparse_does() {
        let pulled = |line: &str| match parse(&argv(line)).map(|r| r.command) {
            Ok(Command::Pull(p)) => Ok((p.model, p.selection.include, p.selection.exclude)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        };
        let v = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            pulled("mlxk pull org/x --include a b --exclude c --include=d"),
            Ok(("org/x".into(), v(&["a", "b", "d"]), v(&["c"])))
        );
        assert_eq!(
            pulled("mlxk pull --exclude=x -- org/x"),
            Ok(("org/x".into(), v(&[]), v(&["x"])))
        );
        // Greedy, as nargs="+": the model after the patterns is a pattern.
        assert_eq!(
            pulled("mlxk pull --include a org/x"),
            Err("the following arguments are required: model".into())
        );
        for bad in [
            "mlxk pull org/x --include",
            "mlxk pull org/x --include --json",
            "mlxk pull org/x --include=",
            "mlxk pull org/x --exclude --include a",
        ] {
            assert!(
                pulled(bad)
                    .unwrap_err()
                    .contains("expected at least one argument"),
                "{bad}"
            );
        }
    }

    #[test]
    fn usage_errors_carry_argparse_messages() {
        assert_eq!(
            parse(&argv("mlxk bogus --json")).unwrap_err().to_string(),
            "argument command: invalid choice: 'bogus' (choose from 'list', 'health', 'show', 'pull', 'rm', 'prune')"
        );
        assert_eq!(
            parse(&argv("mlxk --json")).unwrap_err(),
            CoreError::NoCommand
        );
        assert_eq!(
            parse(&argv("mlxk list a b")).unwrap_err().to_string(),
            "unrecognized arguments: b"
        );
        assert_eq!(
            parse(&argv("/usr/bin/mlxk-json --version"))
                .unwrap()
                .program,
            "mlxk-json"
        );
    }
}
