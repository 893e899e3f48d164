//! The Hub protocol's rules that every host's downloader shares: the URLs of a pull,
//! what the revision endpoint's answer means, the write plan of a commit (every name,
//! link, digest and document a host writes, from the Hub's listing), and the envelope
//! error of each way a download can fail. Hosts move bytes and report what happened in
//! these terms; the wording and the layout are decided here, once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::Algo;
use crate::error::CoreError;
use crate::fetch::{self, RemoteFile};
use crate::layout;
use crate::naming;
use crate::selection::Selection;

/// What went wrong talking to the Hub, in a form every host can report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum HubError {
    /// `X-Error-Code: RepoNotFound` (also what a private repo looks like without a token).
    #[error("repository not found")]
    RepoNotFound,
    /// `X-Error-Code: GatedRepo`.
    #[error("the repository is gated")]
    Gated,
    /// `X-Error-Code: RevisionNotFound`.
    #[error("revision not found")]
    RevisionNotFound,
    /// `X-Error-Code: EntryNotFound`.
    #[error("file not found on the Hub")]
    EntryNotFound,
    /// 401/403 without a code, or a disabled repo.
    #[error("HTTP {0}: access denied")]
    Denied(u16),
    /// Any other status, after retries (the text is `: <X-Error-Message>` or empty).
    #[error("HTTP {0}{1}")]
    Status(u16, String),
    /// The connection failed or dropped, after retries.
    #[error("{0}")]
    Network(String),
    /// The Hub answered something unusable.
    #[error("{0}")]
    Malformed(String),
}

impl HubError {
    /// Whether trying again may help.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network(_) => true,
            Self::Status(code, _) => *code == 408 || *code == 429 || *code >= 500,
            _ => false,
        }
    }

    /// The error for a final (non-redirect) status and the Hub's `X-Error-Code`, as
    /// huggingface_hub reads them.
    pub fn from_status(status: u16, code: Option<&str>, message: Option<&str>) -> Self {
        let message = message.unwrap_or_default();
        match code {
            Some("RepoNotFound") => Self::RepoNotFound,
            Some("GatedRepo") => Self::Gated,
            Some("RevisionNotFound") => Self::RevisionNotFound,
            Some("EntryNotFound") => Self::EntryNotFound,
            _ if message == "Access to this resource is disabled." => Self::Denied(status),
            _ if status == 401 || status == 403 => Self::Denied(status),
            _ if message.is_empty() => Self::Status(status, String::new()),
            _ => Self::Status(status, format!(": {message}")),
        }
    }
}

/// A Hub answer as a host reports it, before it is read as a [`HubError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HubReply {
    /// A final status that is not a success, with the Hub's error headers.
    Http {
        /// The status code.
        status: u16,
        /// `X-Error-Code`.
        code: Option<String>,
        /// `X-Error-Message`.
        message: Option<String>,
    },
    /// The connection failed, after retries.
    Network {
        /// The system's words.
        reason: String,
    },
    /// The answer was unusable.
    Malformed {
        /// What was wrong.
        reason: String,
    },
}

impl From<HubReply> for HubError {
    fn from(reply: HubReply) -> Self {
        match reply {
            HubReply::Http {
                status,
                code,
                message,
            } => Self::from_status(status, code.as_deref(), message.as_deref()),
            HubReply::Network { reason } => Self::Network(reason),
            HubReply::Malformed { reason } => Self::Malformed(reason),
        }
    }
}

/// Percent-encodes `s`, keeping unreserved characters, and `/` when `keep_slash`.
pub fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/api/models/{id}/revision/{rev}`, relative to the endpoint.
pub fn revision_path(repo_id: &str, revision: &str) -> String {
    format!("/api/models/{repo_id}/revision/{}", quote(revision, false))
}

/// `/api/models/{id}/tree/{commit}?recursive=true&expand=false`: the first listing page.
pub fn tree_path(repo_id: &str, commit: &str) -> String {
    format!("/api/models/{repo_id}/tree/{commit}?recursive=true&expand=false")
}

/// `/{id}/resolve/{commit}/{path}`, relative to the endpoint.
pub fn file_path(repo_id: &str, commit: &str, path: &str) -> String {
    format!("/{repo_id}/resolve/{commit}/{}", quote(path, true))
}

/// What the revision endpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionInfo {
    /// The 40-hex commit, lower case.
    pub sha: String,
    /// Whether files need an accepted licence (`gated` is `auto` or `manual`).
    pub gated: bool,
}

/// Reads `GET /api/models/{id}/revision/{rev}`'s document.
pub fn parse_revision(info: &Value) -> Result<RevisionInfo, HubError> {
    let sha = info
        .get("sha")
        .and_then(Value::as_str)
        .filter(|s| naming::is_commit_hash(s))
        .ok_or_else(|| HubError::Malformed("the revision has no 40-hex `sha`".into()))?;
    let gated = !matches!(
        info.get("gated"),
        None | Some(Value::Null | Value::Bool(false))
    );
    Ok(RevisionInfo {
        sha: sha.to_ascii_lowercase(),
        gated,
    })
}

/// Reads every page of a tree listing, in order, into the checked file list.
pub fn parse_listing(pages: &[Value]) -> Result<Vec<RemoteFile>, HubError> {
    let mut files = Vec::new();
    for page in pages {
        fetch::parse_tree_page(page, &mut files).map_err(|e| HubError::Malformed(e.to_string()))?;
    }
    fetch::finish_listing(files).map_err(|e| HubError::Malformed(e.to_string()))
}

/// A small document a host writes whole (atomically) unless it already exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Relative to the cache root.
    pub path: String,
    /// The exact content.
    pub content: String,
}

/// One file of a write plan: where its bytes come from, how they are proven, where they land.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    /// Path in the repo.
    pub path: String,
    /// URL path relative to the endpoint (`/{id}/resolve/{commit}/{path}`).
    pub url: String,
    /// Bytes the content has.
    pub size: u64,
    /// `sha256` or `sha1`.
    pub algo: String,
    /// Bytes hashed before the content (git's `blob <size>\0` header for sha1, else empty).
    pub digest_prefix: String,
    /// The hex digest the bytes must have (the blob's name).
    pub expected: String,
    /// `<repo>/blobs/<etag>`
    pub blob: String,
    /// `<repo>/blobs/<etag>.incomplete`: the resumable partial.
    pub incomplete: String,
    /// `<repo>/snapshots/<commit>/<path>`
    pub pointer: String,
    /// What the pointer links to (relative).
    pub link_target: String,
    /// `.locks/<repo>/<etag>.lock`
    pub lock: String,
}

/// Everything a host writes for one commit, in the order it writes it: the tag and the
/// folders, the tree file, the files (largest first), the ref last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritePlan {
    /// The 40-hex commit.
    pub commit: String,
    /// The smallest file (its repo path), to `HEAD` before anything is written when the
    /// repo is gated (the listing is public; the files may not be).
    pub probe: Option<String>,
    /// `CACHEDIR.TAG`, written when missing.
    pub tag: Document,
    /// Folders to create.
    pub dirs: Vec<String>,
    /// `trees/<commit>.json`, written when missing.
    pub tree: Document,
    /// The files, in download order.
    pub files: Vec<PlannedFile>,
    /// `refs/<revision>`, unless the revision is the commit itself.
    pub ref_file: Option<Document>,
    /// The snapshot folder, relative to the cache root.
    pub snapshot: String,
}

fn rel(p: &std::path::Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// The files of `listing` that `selection` takes; none is an error (a pattern that
/// matches nothing is almost always a typo, and an empty snapshot helps nobody).
pub fn select(
    repo_id: &str,
    revision: &str,
    listing: &[RemoteFile],
    selection: &Selection,
) -> Result<Vec<RemoteFile>, CoreError> {
    let taken: Vec<RemoteFile> = listing
        .iter()
        .filter(|f| selection.takes(&f.path))
        .cloned()
        .collect();
    if taken.is_empty() && !listing.is_empty() {
        let message = no_match(repo_id, revision, selection, listing.len());
        return Err(CoreError::NoMatchingFiles(message));
    }
    Ok(taken)
}

/// The message of patterns that take none of a commit's `listed` files.
pub fn no_match(repo_id: &str, revision: &str, selection: &Selection, listed: usize) -> String {
    format!(
        "No file of {repo_id}@{revision} matches {} ({listed} files listed)",
        selection.describe()
    )
}

/// The write plan for `files` of `repo_id` at `info`'s commit, asked for as `revision`.
/// The tree file records the whole `listing`, so a snapshot that took only some files is
/// known to be partial (the deep audit's `not_downloaded`), as huggingface_hub records it.
pub fn write_plan(
    repo_id: &str,
    revision: &str,
    info: &RevisionInfo,
    listing: &[RemoteFile],
    files: &[RemoteFile],
) -> WritePlan {
    let folder = fetch::model_folder(repo_id);
    let commit = info.sha.as_str();
    let mut order: Vec<&RemoteFile> = files.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let planned = order
        .iter()
        .map(|f| {
            let place = fetch::placement(&folder, commit, f);
            PlannedFile {
                path: f.path.clone(),
                url: file_path(repo_id, commit, &f.path),
                size: f.size,
                algo: match f.algo() {
                    Algo::Sha256 => "sha256".into(),
                    Algo::GitSha1 => "sha1".into(),
                },
                digest_prefix: match f.algo() {
                    Algo::Sha256 => String::new(),
                    Algo::GitSha1 => format!("blob {}\0", f.size),
                },
                expected: f.etag().to_owned(),
                blob: rel(&place.blob),
                incomplete: rel(&place.incomplete),
                pointer: rel(&place.pointer),
                link_target: place.link_target,
                lock: rel(&place.lock),
            }
        })
        .collect();
    let probe = info
        .gated
        .then(|| files.iter().min_by_key(|f| f.size))
        .flatten()
        .map(|f| f.path.clone());
    WritePlan {
        commit: commit.to_owned(),
        probe,
        tag: Document {
            path: layout::CACHEDIR_TAG.to_owned(),
            content: fetch::CACHEDIR_TAG_CONTENT.to_owned(),
        },
        dirs: vec![
            rel(&layout::blobs_dir(&folder)),
            rel(&layout::snapshot_dir(&folder, commit)),
        ],
        tree: Document {
            path: rel(&layout::tree_path(&folder, commit)),
            content: String::from_utf8(fetch::tree_json(listing)).expect("the tree file is JSON"),
        },
        files: planned,
        ref_file: (!revision.eq_ignore_ascii_case(commit)).then(|| Document {
            path: rel(&layout::ref_path(&folder, revision)),
            content: commit.to_owned(),
        }),
        snapshot: rel(&layout::snapshot_dir(&folder, commit)),
    }
}

/// The reference's message for a gated repo whose files we may not take.
pub fn gated(repo: &str) -> CoreError {
    CoreError::AccessDenied(format!(
        "Access denied: gated/private model '{repo}'. Accept terms and set HF_TOKEN."
    ))
}

/// The reference's messages for a refusal (`mlxk-reference.md` §5).
pub fn access_error(repo: &str, e: &HubError) -> Option<CoreError> {
    Some(match e {
        HubError::RepoNotFound => {
            CoreError::AccessDenied(format!("Access denied or not found for '{repo}'."))
        }
        HubError::Gated => gated(repo),
        HubError::Denied(_) => {
            CoreError::AccessDenied(format!("Access denied to model '{repo}'. Set HF_TOKEN."))
        }
        _ => return None,
    })
}

/// The envelope's error for a failed file request.
pub fn file_error(repo: &str, path: &str, e: HubError) -> CoreError {
    access_error(repo, &e).unwrap_or_else(|| CoreError::DownloadFailed(format!("{path}: {e}")))
}

/// The envelope's error for a failed revision request, and the reference's
/// `preflight_warning` when the failure was not a refusal.
pub fn revision_error(repo: &str, revision: &str, e: HubError) -> (CoreError, Option<String>) {
    if let Some(denied) = access_error(repo, &e) {
        return (denied, None);
    }
    if e == HubError::RevisionNotFound {
        let e = CoreError::RemoteRevisionNotFound {
            repo: repo.to_owned(),
            revision: revision.to_owned(),
        };
        return (e, None);
    }
    let warning = match &e {
        HubError::Status(code, _) => {
            format!("Preflight HTTP {code}; continuing to download stage.")
        }
        other => format!("Preflight error: {other}; continuing to download stage."),
    };
    (CoreError::DownloadFailed(e.to_string()), Some(warning))
}

/// The envelope's error for a cache path a host could not write.
pub fn write_error(path: &str, reason: &str) -> CoreError {
    CoreError::PullFailed(format!("Cannot write {path}: {reason}"))
}

/// How one file's transfer failed, as a host reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferFailure {
    /// The Hub refused or failed the request.
    Hub {
        /// What the Hub said.
        reply: HubReply,
    },
    /// Another process held the file's lock for too long.
    LockTimeout {
        /// The lock file, relative.
        lock: String,
        /// How long was waited.
        secs: u64,
    },
    /// The connection kept dropping before the last byte.
    Incomplete {
        /// What the last attempt ended with.
        reason: String,
        /// Bytes in the partial file.
        have: u64,
    },
    /// The server sent more bytes than listed (the partial was deleted).
    TooLong,
    /// The bytes are not what the listing names (the partial was deleted).
    Checksum {
        /// The digest the bytes have.
        actual: String,
    },
    /// The cache could not be written.
    Write {
        /// The cache path, relative.
        path: String,
        /// The system's words.
        reason: String,
    },
}

impl TransferFailure {
    /// The envelope's error for `file` of `repo`.
    pub fn to_error(&self, repo: &str, file: &RemoteFileRef<'_>) -> CoreError {
        match self {
            Self::Hub { reply } => file_error(repo, file.path, reply.clone().into()),
            Self::LockTimeout { lock, secs } => CoreError::LockTimeout {
                lock: lock.clone(),
                secs: *secs,
            },
            Self::Incomplete { reason, have } => CoreError::DownloadFailed(format!(
                "{}: {reason} at byte {have} of {}; run pull again to resume",
                file.path, file.size
            )),
            Self::TooLong => CoreError::DownloadFailed(format!(
                "{}: the server sent more than the {} bytes the listing gives; the partial download was deleted",
                file.path, file.size
            )),
            Self::Checksum { actual } => CoreError::ChecksumMismatch {
                file: file.path.to_owned(),
                algo: file.algo.to_owned(),
                expected: file.expected.to_owned(),
                actual: actual.clone(),
            },
            Self::Write { path, reason } => write_error(path, reason),
        }
    }
}

/// The facts about a file a failure message names.
#[derive(Debug, Clone, Copy)]
pub struct RemoteFileRef<'a> {
    /// Path in the repo.
    pub path: &'a str,
    /// Listed size.
    pub size: u64,
    /// `sha256` or `git-sha1`, as the envelope names it.
    pub algo: &'a str,
    /// The digest the listing gives.
    pub expected: &'a str,
}

impl<'a> From<&'a RemoteFile> for RemoteFileRef<'a> {
    fn from(f: &'a RemoteFile) -> Self {
        Self {
            path: &f.path,
            size: f.size,
            algo: f.algo().as_str(),
            expected: f.etag(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plan_names_every_write_from_the_listing() {
        let info = parse_revision(&json!({"sha": "A".repeat(40), "gated": "auto"})).unwrap();
        assert!(info.gated);
        let files = parse_listing(&[json!([
            {"type": "file", "path": "config.json", "oid": "b".repeat(40), "size": 5},
            {"type": "file", "path": "sub dir/w.safetensors", "oid": "c".repeat(40), "size": 9,
             "lfs": {"oid": "d".repeat(64), "size": 9}},
        ])])
        .unwrap();
        let plan = write_plan("org/m", "main", &info, &files, &files);
        assert_eq!(plan.commit, "a".repeat(40));
        assert_eq!(plan.files[0].path, "sub dir/w.safetensors");
        assert_eq!(
            plan.files[0].url,
            format!("/org/m/resolve/{}/sub%20dir/w.safetensors", "a".repeat(40))
        );
        assert_eq!(plan.files[0].algo, "sha256");
        assert_eq!(plan.files[1].digest_prefix, "blob 5\0");
        assert_eq!(plan.probe.as_deref(), Some("config.json"));
        assert_eq!(
            plan.ref_file.unwrap().path,
            "models--org--m/refs/main".to_owned()
        );
        let by_commit = write_plan("org/m", &"a".repeat(40), &info, &files, &files);
        assert!(by_commit.ref_file.is_none());
    }

    #[test]
    fn failures_read_as_the_reference_words_them() {
        assert_eq!(
            HubError::from_status(401, Some("GatedRepo"), None),
            HubError::Gated
        );
        assert_eq!(
            HubError::from_status(503, None, Some("busy")),
            HubError::Status(503, ": busy".into())
        );
        let (e, warning) = revision_error("o/m", "main", HubError::Status(500, String::new()));
        assert_eq!(e.to_body().kind, "download_failed");
        assert_eq!(
            warning.as_deref(),
            Some("Preflight HTTP 500; continuing to download stage.")
        );
        let round: HubError =
            serde_json::from_value(serde_json::to_value(HubError::Denied(403)).unwrap()).unwrap();
        assert_eq!(round, HubError::Denied(403));
    }
}
