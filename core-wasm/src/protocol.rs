//! The wire format: the JSON envelope and every command's payload, as typed structs.
//!
//! Field order is part of the contract (MLX-Knife 2.0.8, JSON API spec 0.2.4): structs
//! serialize in declaration order, and the envelope puts `error` before `data` for
//! `health`, `pull` and `rm`, after it for every other command. The bytes themselves
//! come from [`crate::json`].

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JSON API version this crate speaks (`json_api_spec_version`).
pub const JSON_API_SPEC_VERSION: &str = "0.2.4";

/// The version of this tool (`cli_version`).
pub const CLI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `status` of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The operation succeeded; exit code 0.
    Success,
    /// The operation failed; exit code 1 (2 for usage errors).
    Error,
}

/// The command an envelope answers; `None` for CLI-level errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    /// `list`
    List,
    /// `health`
    Health,
    /// `show`
    Show,
    /// `pull`
    Pull,
    /// `rm`
    Rm,
    /// `prune`
    Prune,
    /// `clone`
    Clone,
    /// `convert`
    Convert,
    /// `run`
    Run,
    /// `--version`
    Version,
}

impl CommandName {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Health => "health",
            Self::Show => "show",
            Self::Pull => "pull",
            Self::Rm => "rm",
            Self::Prune => "prune",
            Self::Clone => "clone",
            Self::Convert => "convert",
            Self::Run => "run",
            Self::Version => "version",
        }
    }

    /// Whether this command's envelope writes `error` before `data` (as the reference does).
    fn error_first(self) -> bool {
        matches!(
            self,
            Self::Health | Self::Pull | Self::Rm | Self::Clone | Self::Convert
        )
    }
}

/// `error` of an envelope: a stable machine `type`, a human `message`, and optional extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code (`model_not_found`, `ambiguous_match`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// Candidate names of an ambiguous match, sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
    /// Short hashes of the revisions that exist, when a revision was not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_hashes: Option<Vec<String>>,
    /// Ref names (branches, tags) whose snapshot is cached, when a revision was not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_refs: Option<Vec<String>>,
}

/// The envelope every command prints: `{status, command, data, error}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `success` or `error`.
    pub status: Status,
    /// The command, or `None` for a CLI-level error.
    pub command: Option<CommandName>,
    /// The payload (already a JSON value, in its final key order).
    pub data: Value,
    /// The error, when `status` is `error`.
    pub error: Option<ErrorBody>,
}

impl Envelope {
    /// A success envelope with `data`.
    pub fn success(command: CommandName, data: impl Serialize) -> Self {
        Self {
            status: Status::Success,
            command: Some(command),
            data: to_value(data),
            error: None,
        }
    }

    /// An error envelope with `data` (use `Value::Null` for none).
    pub fn failure(command: Option<CommandName>, error: ErrorBody, data: Value) -> Self {
        Self {
            status: Status::Error,
            command,
            data,
            error: Some(error),
        }
    }

    /// The process exit code this envelope maps to (usage errors are decided by the caller).
    pub fn exit_code(&self) -> i32 {
        match self.status {
            Status::Success => 0,
            Status::Error => 1,
        }
    }
}

/// Converts a payload to a `Value`; our payload types always convert.
pub fn to_value(data: impl Serialize) -> Value {
    serde_json::to_value(data).expect("payload types always convert to JSON values")
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Envelope", 4)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("command", &self.command.map(CommandName::as_str))?;
        // 2.0.8's `convert` argument checks print `data: null` before `error`.
        let argument_error = self.command == Some(CommandName::Convert) && self.data.is_null();
        if self.command.is_some_and(CommandName::error_first) && !argument_error {
            st.serialize_field("error", &self.error)?;
            st.serialize_field("data", &self.data)?;
        } else {
            st.serialize_field("data", &self.data)?;
            st.serialize_field("error", &self.error)?;
        }
        st.end()
    }
}

/// `system` of `list` and `--version`: host facts. Always `null` here, as the reference
/// prints off macOS; the guest has no way to ask the host for its memory size.
pub type System = Option<SystemInfo>;

/// Host facts the reference reports on macOS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemInfo {
    /// Total physical memory.
    pub memory_total_bytes: u64,
}

/// The common model object of `list` items and `show.data.model` (reference §1.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelObject {
    /// Hub id `org/name`.
    pub name: String,
    /// The selected snapshot's name when it is 40-hex, else `null`.
    pub hash: Option<String>,
    /// Bytes of every regular file in the selected snapshot, following its links.
    pub size_bytes: u64,
    /// mtime of the selected snapshot directory, true UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub last_modified: String,
    /// `MLX`, `GGUF`, `PyTorch` or `Unknown`.
    pub framework: &'static str,
    /// `chat`, `base`, `embedding` or `audio`.
    pub model_type: &'static str,
    /// Capabilities in canonical order.
    pub capabilities: Vec<&'static str>,
    /// Context window from config.json, if any.
    pub context_length: Option<u64>,
    /// `healthy` or `unhealthy`.
    pub health: &'static str,
    /// Whether mlx-lm could run it (static support table).
    pub runtime_compatible: bool,
    /// The first problem: integrity reason, else runtime reason, else `null`.
    pub reason: Option<String>,
    /// Always `true` for cache models.
    pub cached: bool,
    /// Workspace provenance; `null` for cache models.
    pub origin: Option<String>,
    /// Workspace provenance; `null` for cache models.
    pub content_hash: Option<String>,
    /// Workspace provenance; `null` for cache models.
    pub hash_modified: Option<String>,
    /// Workspace provenance; `null` for cache models.
    pub clean: Option<bool>,
    /// MLX `quantization` dict from config.json (`show` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantization: Option<Value>,
    /// Workspaces in `list` only: the name as the pattern would show it (last key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `data` of `list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListData {
    /// Models, sorted by name.
    pub models: Vec<ModelObject>,
    /// Number of models.
    pub count: usize,
    /// Host facts (`null`).
    pub system: System,
}

/// `data` of `--version`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionData {
    /// This tool's version.
    pub cli_version: &'static str,
    /// The JSON API version spoken.
    pub json_api_spec_version: &'static str,
    /// Host facts (`null`).
    pub system: System,
    /// The host's inference engine (`null` without one). Not in the reference.
    pub engine: Option<crate::engine::EngineInfo>,
}

/// One model's line in `health` (reference §1.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthEntry {
    /// Hub id.
    pub name: String,
    /// `healthy` or `unhealthy`.
    pub status: &'static str,
    /// `Model is healthy`, `Multi-file model complete`, or the failure.
    pub reason: String,
    /// Workspaces only: whether the sentinel says `managed: true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// `--deep` only: what the audit checked and found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<DeepEntry>,
}

/// `--deep`: one model's audit (additive to the reference's entry).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeepEntry {
    /// The snapshots audited (every one, or the `@rev` one), sorted.
    pub revisions: Vec<String>,
    /// Files whose content was hashed.
    pub files_hashed: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Plain files (no-symlink layout) with no tree listing to check them against.
    pub unverified: u64,
    /// Everything found, most severe first, then by path.
    pub findings: Vec<Finding>,
}

/// One problem or leftover found by `--deep`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable code: `hash_mismatch`, `truncated`, `orphan_blob`, `stale_lock`, ...
    pub kind: &'static str,
    /// `corrupt` (exit 1), `partial`, `stale` (safe to clean) or `notice`.
    pub severity: &'static str,
    /// The thing on disk, relative to the cache root.
    pub path: String,
    /// The snapshot file it concerns, relative to its snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The snapshot `file` belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Size on disk in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// What it should be (a hash, a size, a commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Last modification, UTC (locks, interrupted downloads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// One sentence for people.
    pub message: String,
}

/// `--deep`: totals over every audited model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeepSummary {
    /// Files whose content was hashed.
    pub files_hashed: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Findings by severity.
    pub corrupt: usize,
    /// Tree-listed files not downloaded.
    pub partial: usize,
    /// Leftovers safe to remove.
    pub stale: usize,
    /// Worth knowing, nothing wrong.
    pub notice: usize,
}

/// Totals of `health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HealthSummary {
    /// Models checked.
    pub total: usize,
    /// Of which healthy.
    pub healthy_count: usize,
    /// Of which unhealthy.
    pub unhealthy_count: usize,
}

/// `data` of `health` (also the empty structure kept on errors).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HealthData {
    /// Healthy entries, in cache-folder order.
    pub healthy: Vec<HealthEntry>,
    /// Unhealthy entries, in cache-folder order.
    pub unhealthy: Vec<HealthEntry>,
    /// Totals.
    pub summary: HealthSummary,
    /// `--deep` only: audit totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<DeepSummary>,
}

/// One file of `show --files` (reference §4.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileEntry {
    /// Base name (nested files lose their folder, as in the reference).
    pub name: String,
    /// The path in the snapshot (`1_Pooling/config.json`): what people are shown; the JSON
    /// keeps the reference's `name` only.
    #[serde(skip)]
    pub path: String,
    /// Decimal size text: `20B`, `5.0KB`, `1.2GB`.
    pub size: String,
    /// `config`, `weights`, `tokenizer`, `readme` or `other`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `data` of `show` (reference §1.6): the model, then files, config or metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowData {
    /// The model object, with `quantization` when config.json has an MLX one.
    pub model: ModelObject,
    /// `null` for cache models; a workspace's whole sentinel (`{}` without one).
    pub workspace_metadata: Option<Value>,
    /// `show --recalc-hash` of a workspace whose hash was re-pinned: `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_updated: Option<bool>,
    /// `--files`: the snapshot's files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileEntry>>,
    /// `--config`: config.json as parsed (`null` when missing or invalid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Default view: selected config keys; `null` with `--files`/`--config`.
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// `data` of `rm` (reference §1.8): the base fields always, then what the path added.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RmData {
    /// The resolved model (`null` before resolution).
    pub model: Option<String>,
    /// `unknown`, `ambiguous`, `requires_confirmation`, `deleted` or `would_delete`.
    pub action: &'static str,
    /// What happened, for people.
    pub message: String,
    /// A fuzzy match waits for `-f`.
    pub requires_confirmation: bool,
    /// Candidates of an ambiguous match.
    pub matches: Vec<String>,
    /// Lock files removed (nobody held them).
    pub lock_files_cleaned: usize,
    /// Locks a live process holds (with `lock_files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locks_detected: Option<bool>,
    /// Those locks, relative to the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_files: Option<Vec<String>>,
    /// The revision removed (`name@rev`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_hash: Option<String>,
    /// Additive: `repository` (the whole repo went) or `revision` (only that one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<&'static str>,
    /// Additive: bytes of regular files removed (or that would be, with `--dry-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freed_bytes: Option<u64>,
    /// Additive: `true` with `--dry-run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Additive, `--files`: the snapshot paths removed (or that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

/// `data` of `prune` (no reference counterpart): what went (or, with `--dry-run`, would go),
/// what stayed although it looked like garbage, and the totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PruneData {
    /// `pruned`, `would_prune` or `nothing_to_prune`.
    pub action: String,
    /// What happened, for people.
    pub message: String,
    /// Whether this was a dry run (nothing removed).
    pub dry_run: bool,
    /// Removed (or removable), in the order of removal.
    pub removed: Vec<PruneItem>,
    /// Kept although it looked like garbage, with the reason.
    pub kept: Vec<PruneKept>,
    /// Counts by kind, and the bytes freed.
    pub summary: PruneSummary,
}

/// One entry of `prune`'s `removed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PruneItem {
    /// `revision`, `orphan_blob`, `incomplete_download`, `stale_lock` or `lock_folder`.
    pub kind: String,
    /// The repo (`org/name`).
    pub model: String,
    /// Cache-relative path.
    pub path: String,
    /// The commit of a `revision`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_hash: Option<String>,
    /// Bytes of regular files freed.
    pub bytes: u64,
}

/// One entry of `prune`'s `kept`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PruneKept {
    /// What it would have been (as in `removed`).
    pub kind: String,
    /// The repo.
    pub model: String,
    /// Cache-relative path.
    pub path: String,
    /// `held_lock`, `lock_unknown`, `recently_written`, `pinned_by_commit` or
    /// `unexpected_files`.
    pub reason: String,
}

/// `prune`'s totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PruneSummary {
    /// Detached revisions.
    pub revisions: usize,
    /// Orphan blobs.
    pub orphan_blobs: usize,
    /// Interrupted downloads.
    pub incomplete_downloads: usize,
    /// Stale lock files.
    pub stale_locks: usize,
    /// Lock folders of repos that are gone, and trash of interrupted removals.
    pub lock_folders: usize,
    /// Bytes of regular files freed (or that would be).
    pub freed_bytes: u64,
}

/// `data` of `pull` (reference §1.7): the reference's fields in its order, then additive
/// ones that say what the download did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PullData {
    /// The repo pulled (`null` when the name was invalid).
    pub model: Option<String>,
    /// `success`, `already_exists`, `requires_confirmation`, `failed`, `access_denied`,
    /// `error` (validation) or `unknown` (ambiguous).
    pub download_status: String,
    /// What happened, for people (`Downloaded to <snapshot>` on success).
    pub message: String,
    /// The cached name the spec resolved to, when it differs from what was typed.
    pub expanded_name: Option<String>,
    /// The commit pulled or found (the full 40-hex hash once it is known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_hash: Option<String>,
    /// Why the metadata request failed, when the download could not go on without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_warning: Option<String>,
    /// Additive: the files the commit has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_total: Option<u64>,
    /// Additive: files fetched over the network by this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_downloaded: Option<u64>,
    /// Additive: bytes received by this run (resumed files count only what was new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_downloaded: Option<u64>,
    /// Additive: the health of the pulled revision, checked after the download:
    /// `healthy`, or `unhealthy: <reason>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
}

/// What the guest decides before anything touches the network (`pull --plan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum PullPlan {
    /// The answer is known locally: an invalid name, an ambiguous one, a model already
    /// cached (healthy, or unhealthy and waiting for `--force-resume`).
    Reply {
        /// The payload (boxed: it dwarfs the other variant).
        data: Box<PullData>,
        /// The error, if the reply is one.
        error: Option<ErrorBody>,
    },
    /// The repo must be fetched from the Hub.
    Fetch {
        /// The Hub repo id.
        repo_id: String,
        /// The revision to resolve (`main` when none was given).
        revision: String,
        /// The cached name the spec resolved to, when it differs from what was typed.
        expanded_name: Option<String>,
        /// The revision endpoint's URL path (a host that does not link this crate asks it).
        #[serde(default)]
        revision_url: String,
        /// The files to take (`--include` / `--exclude`), passed on to the write plan.
        #[serde(default)]
        selection: crate::selection::Selection,
    },
}

/// `data` of `clone` (workspaces-reference §2.5), in 2.0.8's key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloneData {
    /// The spec as given (with `@rev`, or `@<branch>` for `--branch`).
    pub model: String,
    /// `success`, `error`, `pull_failed`, `cache_not_found` or `filesystem_error`.
    pub clone_status: String,
    /// `Cloned to <target as typed>` on success, empty otherwise.
    pub message: String,
    /// The absolute target.
    pub target_dir: String,
    /// `false` with `--no-health-check`.
    pub health_check: bool,
    /// `healthy` or `unhealthy`, when the check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The health reason, when the check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_reason: Option<String>,
}

/// Where `clone` takes the files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloneSource {
    /// The user's cache holds the revision, healthy: its blobs are verified and copied.
    Cache,
    /// The temporary cache beside the target (downloaded now, or by an earlier run).
    Temp,
}

/// What the guest decides before `clone` touches the network (`clone --plan`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ClonePlan {
    /// The answer is known: the target or the name is refused.
    Reply {
        /// The payload.
        data: CloneData,
        /// The error.
        error: ErrorBody,
    },
    /// Copy a revision that is already on disk.
    Copy {
        /// Which cache holds it.
        from: CloneSource,
        /// Its commit.
        commit: String,
        /// The repo id.
        repo_id: String,
        /// The absolute target.
        target_dir: String,
        /// The temporary cache's name in the target's parent.
        temp_name: String,
        /// A line for stderr (2.0.8's resume notices), if any.
        notice: Option<String>,
    },
    /// Download into the temporary cache first.
    Download {
        /// The repo id.
        repo_id: String,
        /// The revision to resolve.
        revision: String,
        /// The absolute target.
        target_dir: String,
        /// The temporary cache's name in the target's parent.
        temp_name: String,
        /// Delete the temporary cache first (complete but unhealthy).
        wipe_temp: bool,
        /// The marker a new temporary cache gets (2.0.8's `.mlxk2_temp_cache_sentinel`).
        temp_marker: String,
        /// A line for stderr, if any.
        notice: Option<String>,
    },
}

/// `data` of `run --json` (workspaces-reference §5.2), in 2.0.8's key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// The model as typed.
    pub model: String,
    /// The prompt.
    pub prompt: String,
    /// The whole answer.
    pub response: String,
    /// `stop` or `length`.
    pub finish_reason: Option<String>,
}
