//! The command line, as clap sees it. Usage errors are reported argparse-style (the
//! reference's wording), as a JSON `CommandError` whenever `--json` is on the line.

use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand};

/// mlx-knife: a JSON-first manager for the Hugging Face model cache.
#[derive(Debug, Parser)]
#[command(name = "mlxk", disable_version_flag = true, after_help = TOP_AFTER_HELP)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// The hub cache to use (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Print the version.
    #[arg(long, short = 'V')]
    pub version: bool,

    /// Print only answers and errors: no progress bars, hints or success narration.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Say more: which cache is read, and why (stderr); list's detail columns.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    /// When to colour output: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = clap::ColorChoice::Auto)]
    pub color: clap::ColorChoice,

    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Parses the command line. `mlxk-json` (`json_default`) prints JSON whatever is given, so
/// its help does not offer `--json` (still accepted, for scripts written for `mlxk`).
pub fn parse(argv: &[String], json_default: bool) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    // Known before parsing, so a usage error is coloured (or not) as asked.
    let color = color_of(argv);
    crate::printer::set_color(color);
    let mut cmd = Cli::command().color(if crate::printer::stderr_wants_color() {
        clap::ColorChoice::Always
    } else {
        clap::ColorChoice::Never
    });
    if json_default {
        cmd = cmd
            .mut_arg("json", |a| a.hide(true))
            .before_help("Prints one JSON document on stdout for every command.");
    }
    let matches = cmd.try_get_matches_from(argv)?;
    Cli::from_arg_matches(&matches)
}

/// The last `--color WHEN` / `--color=WHEN` before `--` (auto when absent or unreadable).
fn color_of(argv: &[String]) -> clap::ColorChoice {
    use clap::ValueEnum;
    let mut choice = clap::ColorChoice::Auto;
    let mut it = argv.iter().skip(1).take_while(|a| *a != "--");
    while let Some(a) = it.next() {
        let value = match a.strip_prefix("--color") {
            Some("") => it.next().map(String::as_str),
            Some(v) => v.strip_prefix('='),
            None => None,
        };
        if let Some(c) = value.and_then(|v| clap::ColorChoice::from_str(v, true).ok()) {
            choice = c;
        }
    }
    choice
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List cached models.
    #[command(after_help = LIST_AFTER_HELP)]
    List(ListArgs),
    /// Check the integrity of every cached model, or of one.
    #[command(after_help = HEALTH_AFTER_HELP)]
    Health(HealthArgs),
    /// Show one model in detail.
    #[command(after_help = SHOW_AFTER_HELP)]
    Show(ShowArgs),
    /// Download a model into the cache, verified and resumable.
    #[command(after_help = PULL_AFTER_HELP)]
    Pull(PullArgs),
    /// Delete models, one revision of a model, or some files of a snapshot.
    #[command(after_help = RM_AFTER_HELP)]
    Rm(RmArgs),
    /// Remove what no ref reaches and no process uses: detached revisions, orphan blobs,
    /// interrupted downloads, stale locks.
    #[command(after_help = PRUNE_AFTER_HELP)]
    Prune(PruneArgs),
    /// Copy a model into a folder of its own (a workspace), verified and pinned.
    #[command(after_help = CLONE_AFTER_HELP)]
    Clone(CloneArgs),
    /// Make a repaired copy of a workspace (`--repair-index`).
    #[command(after_help = CONVERT_AFTER_HELP)]
    Convert(ConvertArgs),
    /// Run a model on a prompt, or chat with it (mlx-lm).
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// An OpenAI-compatible server over the cache and the workspace home (mlx-lm).
    #[command(alias = "server", after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETIONS_AFTER_HELP)]
    Completions(CompletionsArgs),
    /// Write the man pages (mlxk.1 and one per command) into a folder.
    #[command(hide = true)]
    Manpages(ManpagesArgs),
}

/// `completions` options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `manpages` options.
#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// The folder to write into (created if missing).
    pub dir: PathBuf,
}

/// The cache variables every cache command reads.
macro_rules! cache_env {
    () => {
        "Environment: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME (where the\n\
cache is, after --cache-dir), MLXK_WORKSPACE_HOME (bare names resolve there first)."
    };
}

/// What `mlxk --help` ends with.
const TOP_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk list                         cached models that run on MLX (--all: every model)
  mlxk health --deep org/name       hash every byte of one model, offline
  mlxk pull org/name --include '*Q4_K_M*'
  mlxk help rm                      one command's options and examples

Exit codes: 0 success, 1 failure (or, with health --deep / --strict, a finding), 2 usage error,
130 interrupted. --json prints one JSON document on stdout for every command.

",
    cache_env!()
);

const LIST_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk list                       models that run on MLX here, healthy
  mlxk list --all --health        every model, with its health
  mlxk list llama --json | jq -r '.data.models[].name'

",
    cache_env!()
);

const HEALTH_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk health                     every model (exit 0 even when one is broken, as 2.0.8)
  mlxk health --strict            exit 1 when any model is unhealthy (for CI)
  mlxk health org/name --deep     hash every byte against its name and trees/<commit>.json

",
    cache_env!()
);

const SHOW_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk show org/name
  mlxk show org/name@abc1234 --files
  mlxk show org/name --config --json | jq '.data.config'

",
    cache_env!()
);

const PULL_AFTER_HELP: &str = "\
Examples:
  mlxk pull org/name
  mlxk pull org/name@v1.0
  mlxk pull org/name-GGUF --include '*Q4_K_M*' --include config.json
  mlxk pull org/name --exclude '*.bin' --json

Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN, HUGGING_FACE_HUB_TOKEN,
HF_TOKEN_PATH (the token file, default $HF_HOME/token), HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE,
MLXK_PULL_JOBS (files at once, 8), MLXK_PULL_RETRIES (5), MLXK_PULL_TIMEOUT_SECS (60),
MLXK_LOCK_TIMEOUT_SECS (600), and the cache variables of `mlxk --help`.";

const RM_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk rm org/name --dry-run                  what would go, and how much is freed
  mlxk rm org/name@v1.0                       that revision only
  mlxk rm org/old org/older -f                several at once
  mlxk rm org/name-GGUF --files '*Q2_K*'      one quantisation of the snapshot

",
    cache_env!()
);

const CLONE_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk clone org/name ./models/name
  mlxk clone org/name@v1.0 ./models/name-v1 --json

Environment: the pull variables (HF_ENDPOINT, HF_TOKEN, ...) for a model not cached, and ",
    cache_env!()
);

const CONVERT_AFTER_HELP: &str = "\
Examples:
  mlxk convert ./models/name ./models/name-fixed --repair-index
  mlxk convert ./models/name ./models/name-4bit --quantize 4

Environment: MLXK_PYTHON (the Python with mlx-lm, for --quantize).";

const RUN_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk run org/name \"Why is the sky blue?\"
  echo \"Summarise: ...\" | mlxk run org/name - --max-tokens 200
  mlxk run org/name                   a chat (Ctrl-C stops an answer, Ctrl-D ends)

Environment: MLXK_PYTHON (the Python with mlx-lm), and ",
    cache_env!()
);

const SERVE_AFTER_HELP: &str = concat!(
    "Examples:
  mlxk serve --model org/name
  mlxk serve --port 0 --json          a free port, said on stderr
  curl -s localhost:8000/v1/models

Environment: MLXK_PYTHON (the Python with mlx-lm), and ",
    cache_env!()
);

const COMPLETIONS_AFTER_HELP: &str = "\
Examples:
  source <(mlxk completions bash)
  mlxk completions zsh > \"${fpath[1]}/_mlxk\"
  mlxk completions fish > ~/.config/fish/completions/mlxk.fish";

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A model to load at start (requests may name any other).
    #[arg(long)]
    pub model: Option<String>,
    /// The address to bind: loopback unless you name another.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one, printed on stderr).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The server's cap on generated tokens per request.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
}

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model: a cached `name[@rev]` (resolved as `show` resolves it) or a workspace path.
    pub model: String,
    /// The prompt (words are joined by spaces; `-` reads it from stdin). None: a chat.
    pub prompt: Vec<String>,
    /// The prompt, as one argument.
    #[arg(long = "prompt", value_name = "P")]
    pub prompt_flag: Option<String>,
    /// Most tokens to generate (also capped by the model's context window).
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Sampling temperature (0 is greedy).
    #[arg(long, default_value_t = 0.7, value_name = "T")]
    pub temperature: f64,
    /// Nucleus sampling.
    #[arg(long, default_value_t = 0.9, value_name = "P")]
    pub top_p: f64,
    /// Repetition penalty (1.0 is off).
    #[arg(long, default_value_t = 1.1, value_name = "R")]
    pub repetition_penalty: f64,
    /// Print the answer at the end instead of as it comes.
    #[arg(long)]
    pub no_stream: bool,
    /// Send the prompt as it is, without the model's chat template.
    #[arg(long)]
    pub no_chat_template: bool,
}

/// `convert` options.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The workspace to read (never changed).
    pub source: String,
    /// The new workspace: a folder that does not exist yet, or an empty one.
    pub target: String,
    /// Rebuild `model.safetensors.index.json` from the shards' headers.
    #[arg(long)]
    pub repair_index: bool,
    /// Quantize to BITS (2, 3, 4, 6 or 8) with mlx-lm (not built yet: use `mlx_lm.convert -q`).
    #[arg(long, value_name = "BITS", allow_hyphen_values = true)]
    pub quantize: Option<String>,
    /// Group size for `--quantize` (default 64).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub q_group_size: Option<String>,
    /// Skip the health check of the result.
    #[arg(long)]
    pub skip_health: bool,
}

/// `clone` options.
#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The Hub model, `org/name[@rev]` (a branch, tag or commit; default main). Never
    /// expanded or matched: it names the Hub repo exactly.
    pub model: String,
    /// The folder to create (or an empty one); default `$MLXK_WORKSPACE_HOME/<name>`. A
    /// bare name goes into `MLXK_WORKSPACE_HOME` when that is set.
    pub target_dir: Option<String>,
    /// The revision to clone (the same as `model@REV`).
    #[arg(long, value_name = "REV")]
    pub branch: Option<String>,
    /// Skip the health check of the revision (it is informational: an unhealthy model is
    /// still cloned).
    #[arg(long)]
    pub no_health_check: bool,
    /// Use a complete but unhealthy download left by an earlier run as it is.
    #[arg(long)]
    pub force_resume: bool,
}

/// `pull` options.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The model, `org/name[@rev]` (a branch, tag or commit; default main).
    pub model: String,
    /// Download even when the cached copy is unhealthy (resuming what is there), or
    /// healthy (fetching whatever is missing), without asking.
    #[arg(long)]
    pub force_resume: bool,
    /// Take only the files matching one of these globs (huggingface_hub's allow_patterns:
    /// `*` also matches `/`, `dir/` means everything under it). Repeatable.
    #[arg(long, value_name = "GLOB", num_args = 1.., action = clap::ArgAction::Append,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub include: Vec<String>,
    /// Leave out the files matching one of these globs (ignore_patterns). Repeatable.
    #[arg(long, value_name = "GLOB", num_args = 1.., action = clap::ArgAction::Append,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub exclude: Vec<String>,
}

/// `rm` options.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The model, `name[@rev]`: `@rev` removes that revision only (the last one takes the
    /// repo). Several are removed one after the other.
    #[arg(required = true, num_args = 1.., value_name = "MODEL")]
    pub models: Vec<String>,
    /// Remove only the snapshot's files matching these globs (huggingface_hub's pattern
    /// rules), with the blobs nothing else uses; refs and the rest stay.
    #[arg(long, value_name = "GLOB", num_args = 1.., action = clap::ArgAction::Append,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub files: Vec<String>,
    /// Delete a fuzzy match without confirmation, even if a live process holds a lock.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Report what would be removed and the bytes freed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `prune` options.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Report what would be removed and the bytes freed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What `prune --help` ends with.
const PRUNE_AFTER_HELP: &str = concat!(
    "Kept, and listed with the reason: a repo whose download is running (a held lock), partials
and locks written in the last 5 minutes, and the snapshots of a repo no ref names (a download
pinned by commit). Model repos only.

Examples:
  mlxk prune --dry-run
  mlxk prune --json | jq '.data.summary'

",
    cache_env!()
);

/// `health` options.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// One model, `name[@rev]` (default: every model).
    pub model: Option<String>,
    /// Audit every byte offline: hashes against blob names and trees/<commit>.json,
    /// orphan blobs, interrupted downloads, stale and held locks, broken refs.
    #[arg(long)]
    pub deep: bool,
    /// Exit 1 when any model is unhealthy (plain `health` exits 0, as the original does;
    /// `--deep` exits 1 on any finding already).
    #[arg(long)]
    pub strict: bool,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The model, `name[@rev]`.
    pub model: String,
    /// List the snapshot's files.
    #[arg(long)]
    pub files: bool,
    /// Include config.json.
    #[arg(long)]
    pub config: bool,
    /// Workspaces: hash the folder again and pin the result in its sentinel (managed only).
    #[arg(long)]
    pub recalc_hash: bool,
}

/// `list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only models whose name contains this (case-insensitive).
    pub pattern: Option<String>,
    /// Show every model, not only healthy and runnable ones.
    #[arg(long)]
    pub all: bool,
    /// Add a health column.
    #[arg(long)]
    pub health: bool,
    /// Keep whole names when the table is wider than the terminal (default: cut with `…`).
    #[arg(long)]
    pub no_truncate: bool,
}

/// The subcommand names, for `invalid choice` messages.
pub const COMMAND_NAMES: &[&str] = core_wasm::request::COMMANDS;

/// Turns a clap error into the reference's argparse wording.
pub fn usage_message(err: &clap::Error) -> String {
    let ctx = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    match err.kind() {
        ErrorKind::InvalidSubcommand => {
            let choices: Vec<String> = COMMAND_NAMES.iter().map(|c| format!("'{c}'")).collect();
            format!(
                "argument command: invalid choice: '{}' (choose from {})",
                ctx(ContextKind::InvalidSubcommand).unwrap_or_default(),
                choices.join(", ")
            )
        }
        ErrorKind::UnknownArgument => format!(
            "unrecognized arguments: {}",
            ctx(ContextKind::InvalidArg).unwrap_or_default()
        ),
        ErrorKind::MissingRequiredArgument => {
            let names = ctx(ContextKind::InvalidArg).unwrap_or_default();
            format!(
                "the following arguments are required: {}",
                // argparse names a list argument as it names one value.
                names
                    .replace(['<', '>'], "")
                    .replace("...", "")
                    .to_lowercase()
            )
        }
        _ => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            first.strip_prefix("error: ").unwrap_or(first).to_owned()
        }
    }
}
