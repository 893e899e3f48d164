//! The error catalogue: one enum, each variant with a stable machine code.
//!
//! Codes are the reference's names (`mlxk-reference.md` §1.12) so existing scripts that
//! match on `error.type` keep working; new variants get new, documented codes.

use std::path::PathBuf;

use crate::protocol::ErrorBody;

/// Every error a command can report in its envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Bad command line (missing argument, unknown flag or command).
    #[error("{0}")]
    Usage(String),
    /// `mlxk --json` with no command.
    #[error("No command specified")]
    NoCommand,
    /// No cached model matches the spec.
    #[error("No model found matching '{0}'")]
    ModelNotFound(String),
    /// The model matched, but no ref of it has that name and none of its snapshots starts
    /// with the revision.
    #[error(
        "No {} found matching '{spec}': {}",
        if *plural { "models" } else { "model" },
        revisions_hint(available, refs)
    )]
    RevisionNotFound {
        /// The spec as given.
        spec: String,
        /// `rm`'s wording ("No models found"), which scripts written for the reference match.
        plural: bool,
        /// Snapshot names that exist.
        available: Vec<String>,
        /// Ref names whose snapshot is cached.
        refs: Vec<String>,
    },
    /// Several snapshots of the model start with the revision.
    #[error("Multiple revisions match '{spec}'")]
    AmbiguousRevision {
        /// The spec as given.
        spec: String,
        /// The matching snapshot names, sorted.
        matches: Vec<String>,
    },
    /// More than one cached model matches the spec.
    #[error("Multiple models match '{spec}'")]
    AmbiguousMatch {
        /// The spec as given.
        spec: String,
        /// Candidate names, sorted.
        matches: Vec<String>,
    },
    /// The cache exists but its folder cannot be listed.
    #[error("Cannot list the cache: {0}")]
    CacheUnreadable(String),
    /// The cache directory is missing (for commands that need one).
    #[error("Model cache directory does not exist")]
    CacheNotFound,
    /// The cache the user named (`--cache-dir`, `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`)
    /// is not there or not a folder.
    #[error(
        "Cache directory '{path}' (set by {origin}) {}",
        if *not_a_directory { "is not a directory" } else { "does not exist" }
    )]
    CacheDirUnusable {
        /// The path as the setting names it.
        path: String,
        /// The setting.
        origin: &'static str,
        /// Something is there, but not a folder.
        not_a_directory: bool,
    },
    /// `rm`: nothing matches (the reference's plural wording).
    #[error("No models found matching '{0}'")]
    NoModelsMatch(String),
    /// `rm`: the path names a workspace, which is its owner's to delete.
    #[error("Cannot delete workspace model. Use: rm -rf {0}")]
    WorkspaceModel(String),
    /// `rm`: a live process holds a lock of the repo.
    #[error("Model has active locks. Use --force to override.")]
    LocksPresent,
    /// `rm`: a file or folder could not be removed for lack of permission.
    #[error("Permission denied: Cannot delete {0}")]
    PermissionDenied(String),
    /// `rm`: another failure while removing.
    #[error("Deletion failed: {0}")]
    DeletionFailed(String),
    /// `pull`: the name cannot be a Hub repo id.
    #[error("{0}")]
    InvalidName(String),
    /// `pull`: the Hub refuses access (gated, private, missing repo, no or bad token).
    #[error("{0}")]
    AccessDenied(String),
    /// `pull`: the Hub has the repo but not the revision.
    #[error("Revision '{revision}' not found for '{repo}'")]
    RemoteRevisionNotFound {
        /// The repo id.
        repo: String,
        /// The revision asked for.
        revision: String,
    },
    /// `pull`: the network, the server or the transfer failed.
    #[error("Download failed: {0}")]
    DownloadFailed(String),
    /// `pull`: bytes received do not hash to what the Hub says they are.
    #[error(
        "Checksum mismatch for {file}: expected {algo} {expected}, got {actual}; the partial download was deleted"
    )]
    ChecksumMismatch {
        /// Path of the file in the repo.
        file: String,
        /// `sha256` or `git-sha1`.
        algo: String,
        /// The id the Hub lists.
        expected: String,
        /// What the received bytes hash to.
        actual: String,
    },
    /// `pull`: HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set and the model is not cached.
    #[error("Offline mode is enabled ({0} is set) and '{1}' is not in the cache")]
    Offline(String, String),
    /// `pull`: a download lock stayed held by another process for too long.
    #[error("Timed out after {secs} s waiting for {lock}, held by another download")]
    LockTimeout {
        /// The lock file, relative to the cache.
        lock: String,
        /// How long we waited.
        secs: u64,
    },
    /// `pull`: writing into the cache failed (permissions, disk full).
    #[error("{0}")]
    PullFailed(String),
    /// `pull --include/--exclude`, `rm --files`: the patterns select no file.
    #[error("{0}")]
    NoMatchingFiles(String),
    /// `clone`/`convert`: the target folder cannot be used.
    #[error("{0}")]
    InvalidTarget(String),
    /// `clone`: the name was refused or the download failed (2.0.8's wrapping).
    #[error("Pull operation failed: {0}")]
    CloneDownload(String),
    /// `clone`: the files could not be copied into the target.
    #[error("{0}")]
    CloneFailed(String),
    /// `clone`: the revision's bytes on disk do not hash to what their names promise.
    #[error("{0}")]
    CorruptSource(String),
    /// `clone`: the temporary cache holds no snapshot.
    #[error("Temp cache snapshot not found for model '{0}'")]
    TempSnapshotMissing(String),
    /// `convert`: a bad source, target or shard (2.0.8 reports Python's `ValueError`).
    #[error("{0}")]
    ConvertValue(String),
    /// `convert`: an empty source or target.
    #[error("{0}")]
    ConvertValidation(String),
    /// `convert`: the written workspace is not healthy (it is kept).
    #[error("Output workspace failed health check: {0}")]
    HealthCheckFailed(String),
    /// `convert`: the options contradict each other.
    #[error("{0}")]
    InvalidArgument(String),
    /// `run`: the model cannot be run (not found, not compatible), or the engine failed.
    #[error("{0}")]
    Execution(String),
    /// No Python with mlx-lm for the engine.
    #[error("{0}")]
    EngineNotFound(String),
    /// `convert --quantize`: a multimodal config outside the verified list.
    #[error("{0}")]
    UnsupportedMultimodal(String),
    /// `convert --quantize`: the config names custom code, which is never run.
    #[error("{0}")]
    UntrustedCode(String),
    /// A mode this build does not provide.
    #[error("{0}")]
    NotImplemented(String),
    /// An I/O failure the command cannot turn into a finding.
    #[error("Failed to read `{path}`: {message}")]
    Io {
        /// Cache-relative path.
        path: PathBuf,
        /// The OS error text.
        message: String,
    },
}

/// First 8 characters of each snapshot name, sorted (the reference's `available_hashes`).
fn short_hashes(available: &[String]) -> Vec<String> {
    let mut short: Vec<String> = available
        .iter()
        .map(|h| h.chars().take(8).collect())
        .collect();
    short.sort();
    short
}

/// What a missing revision could have been instead, for the message.
fn revisions_hint(available: &[String], refs: &[String]) -> String {
    if available.is_empty() {
        return "no revision of it is cached".to_owned();
    }
    let mut names = refs.to_vec();
    names.extend(short_hashes(available));
    format!(
        "no such revision is cached (available: {})",
        names.join(", ")
    )
}

impl CoreError {
    /// The stable `error.type` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Usage(_) | Self::NoCommand => "CommandError",
            Self::ModelNotFound(_) | Self::RevisionNotFound { .. } | Self::NoModelsMatch(_) => {
                "model_not_found"
            }
            Self::LocksPresent => "locks_present",
            Self::WorkspaceModel(_) => "workspace_model",
            Self::PermissionDenied(_) => "permission_denied",
            Self::DeletionFailed(_) => "deletion_failed",
            Self::AmbiguousMatch { .. } | Self::AmbiguousRevision { .. } => "ambiguous_match",
            Self::CacheNotFound | Self::CacheDirUnusable { .. } => "cache_not_found",
            Self::CacheUnreadable(_) => "cache_unreadable",
            Self::Io { .. } => "InternalError",
            Self::InvalidName(_) => "ValidationError",
            Self::AccessDenied(_) => "access_denied",
            Self::RemoteRevisionNotFound { .. } => "model_not_found",
            Self::DownloadFailed(_) => "download_failed",
            Self::ChecksumMismatch { .. } => "checksum_mismatch",
            Self::Offline(..) => "offline_mode",
            Self::LockTimeout { .. } => "lock_timeout",
            Self::PullFailed(_) => "pull_operation_failed",
            Self::NoMatchingFiles(_) => "no_matching_files",
            Self::InvalidTarget(_) => "InvalidTargetError",
            Self::CloneDownload(_) => "PullFailedError",
            Self::CloneFailed(_) => "CloneFailedError",
            Self::CorruptSource(_) => "checksum_mismatch",
            Self::TempSnapshotMissing(_) => "CacheNotFoundError",
            Self::ConvertValue(_) => "ValueError",
            Self::ConvertValidation(_) => "ValidationError",
            Self::HealthCheckFailed(_) => "HealthCheckFailed",
            Self::InvalidArgument(_) => "InvalidArgumentError",
            Self::NotImplemented(_) => "not_implemented",
            Self::Execution(_) => "execution_error",
            Self::UnsupportedMultimodal(_) => "unsupported_multimodal",
            Self::EngineNotFound(_) => "engine_not_found",
            Self::UntrustedCode(_) => "UntrustedModelCodeError",
        }
    }

    /// The exit code the CLI uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The error as it goes on the wire.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            kind: self.code().to_owned(),
            message: self.to_string(),
            matches: match self {
                Self::AmbiguousMatch { matches, .. } | Self::AmbiguousRevision { matches, .. } => {
                    Some(matches.clone())
                }
                _ => None,
            },
            available_hashes: match self {
                Self::RevisionNotFound { available, .. } => Some(short_hashes(available)),
                _ => None,
            },
            available_refs: match self {
                Self::RevisionNotFound { refs, .. } => Some(refs.clone()),
                _ => None,
            },
        }
    }
}
