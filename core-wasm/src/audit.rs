//! `health --deep`: proves every byte of a repo offline, against what the cache itself
//! records: blob names (sha256 or git blob sha1 of the content), `trees/<commit>.json`
//! (expected files, sizes and ids), the shard index, refs and lock files.
//!
//! An audit is planned for every repo first (cheap: listings, links, small JSON files),
//! so the host can show progress over the total, then the planned files are hashed
//! through [`crate::capability`], each blob once however many snapshots use it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::capability::{self, LockState};
use crate::digest::Algo;
use crate::fs::{self, CacheFs, Kind, Resolved};
use crate::health::LFS_HEADER;
use crate::layout;
use crate::manifest;
use crate::naming::is_commit_hash;
use crate::protocol::{DeepEntry, DeepSummary, Finding};
use crate::render::humanize_size;
use crate::snapshot::{self, Entry, Manifest};
use crate::time;
use crate::trees::{self, Tree};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The bytes or the structure are wrong: the model cannot be trusted (exit 1).
    Corrupt,
    /// Files the commit has that were never downloaded (allow-patterns, single files).
    Partial,
    /// Leftovers that are safe to remove: orphan blobs, interrupted downloads, free locks.
    Stale,
    /// Worth knowing, nothing wrong: a download in progress, an unusable tree file.
    Notice,
}

impl Severity {
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Corrupt => "corrupt",
            Self::Partial => "partial",
            Self::Stale => "stale",
            Self::Notice => "notice",
        }
    }

    fn rank(name: &str) -> u8 {
        match name {
            "corrupt" => 0,
            "partial" => 1,
            "stale" => 2,
            _ => 3,
        }
    }
}

/// Blob names shorter than this are shown whole in messages.
const SHORT_ID: usize = 12;
/// Files at most this large are checked for being a Git LFS pointer when their hash fails.
const LFS_POINTER_MAX: u64 = 1024;

fn short(id: &str) -> &str {
    id.get(..SHORT_ID).unwrap_or(id)
}

fn rel_str(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// A finding under construction.
fn finding(kind: &'static str, severity: Severity, path: String, message: String) -> Finding {
    Finding {
        kind,
        severity: severity.as_str(),
        path,
        file: None,
        revision: None,
        size: None,
        expected: None,
        actual: None,
        modified: None,
        message,
    }
}

/// Where a snapshot file is used: for naming it in findings.
#[derive(Debug, Clone)]
struct Use {
    revision: String,
    file: String,
}

/// One file to hash.
#[derive(Debug, Clone)]
struct Job {
    /// The link-free location of the bytes.
    real: PathBuf,
    /// Where the finding points (the blob name, or the snapshot file).
    path: String,
    algo: Algo,
    expected: String,
    /// Size on disk, from the walk.
    size: u64,
    /// Size the tree says the content has.
    expected_size: Option<u64>,
    /// The snapshot file it serves, if any.
    used_by: Option<Use>,
    /// How many snapshot files use the blob.
    uses: usize,
}

/// One repo's audit: planned, then executed.
#[derive(Debug, Default)]
pub struct RepoAudit {
    report: DeepEntry,
    jobs: Vec<Job>,
}

impl RepoAudit {
    /// Bytes this audit will hash.
    pub fn planned_bytes(&self) -> u64 {
        self.hashed_jobs().map(|j| j.size).sum()
    }

    /// Files this audit will hash.
    pub fn planned_files(&self) -> u64 {
        self.hashed_jobs().count() as u64
    }

    /// Jobs whose size does not already disprove them.
    fn hashed_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs
            .iter()
            .filter(|j| j.expected_size.is_none_or(|w| w == j.size))
    }
}

/// What a repo's `blobs/` holds, by name.
type BlobListing = BTreeMap<String, Kind>;

/// Plans the audit of `folder`: every snapshot, or only `revision` (a full snapshot
/// name). Everything but hashing happens here.
pub fn plan(fs: &CacheFs, folder: &str, revision: Option<&str>) -> RepoAudit {
    let mut audit = RepoAudit::default();
    let blobs: BlobListing = fs
        .read_dir(&layout::blobs_dir(folder))
        .map(|v| v.into_iter().collect())
        .unwrap_or_default();

    // Ids whose download finished: blobs present, and what trees list (the no-symlink
    // layout moves blobs into snapshots).
    let mut finished: BTreeSet<String> = blobs.keys().cloned().collect();
    let snapshots = snapshot::list_snapshots(fs, folder).unwrap_or_default();
    let audited: Vec<&str> = snapshots
        .iter()
        .map(|s| s.revision.as_str())
        .filter(|r| revision.is_none_or(|want| want == *r))
        .collect();
    audit.report.revisions = audited.iter().map(|r| (*r).to_owned()).collect();

    // Every snapshot counts for "which blobs are used"; only audited ones are checked.
    let mut used: HashMap<String, Vec<Use>> = HashMap::new();
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    let mut expected_sizes: HashMap<String, u64> = HashMap::new();
    for snap in &snapshots {
        let dir = layout::snapshot_dir(folder, &snap.revision);
        let manifest = Manifest::walk(fs, &dir);
        let is_audited = audited.contains(&snap.revision.as_str());
        for entry in manifest.entries.iter().filter(|e| e.is_link) {
            let Some(blob) = blob_of(fs, folder, &manifest.dir, entry) else {
                continue;
            };
            referenced.insert(blob.clone());
            if is_audited {
                used.entry(blob).or_default().push(Use {
                    revision: snap.revision.clone(),
                    file: entry.path.clone(),
                });
            }
        }
        if is_audited {
            let mut known = Known {
                blobs: &blobs,
                expected_sizes: &mut expected_sizes,
                finished: &mut finished,
            };
            check_snapshot(
                fs,
                folder,
                &snap.revision,
                &manifest,
                &mut known,
                &mut audit,
            );
        }
    }
    let locks = audit_locks(fs, folder, &finished, &mut audit.report.findings);

    for (name, kind) in &blobs {
        let rel = layout::blob_path(folder, name);
        let path = rel_str(&rel);
        if name.ends_with(".incomplete") {
            audit
                .report
                .findings
                .push(incomplete(fs, &rel, name, &locks));
            continue;
        }
        let Some(algo) = Algo::for_id(name) else {
            audit.report.findings.push(finding(
                "unexpected_file",
                Severity::Notice,
                path,
                format!("blobs/{name} is not named by a content hash"),
            ));
            continue;
        };
        let state = match kind {
            Kind::Symlink => fs.follow_link(&rel),
            _ => fs.resolve(&rel),
        };
        let orphan = !referenced.contains(name);
        if orphan {
            let mut f = finding(
                "orphan_blob",
                Severity::Stale,
                path.clone(),
                format!("blob {} is used by no snapshot", short(name)),
            );
            if let Resolved::File { size, .. } = &state {
                f.size = Some(*size);
                f.message = format!(
                    "blob {} ({}) is used by no snapshot",
                    short(name),
                    humanize_size(*size)
                );
            }
            audit.report.findings.push(f);
        }
        // With `@rev`, only that snapshot's blobs are hashed.
        let uses = used.get(name);
        if revision.is_some() && uses.is_none() {
            continue;
        }
        match state {
            Resolved::File {
                path: real, size, ..
            } => audit.jobs.push(Job {
                real,
                path,
                algo,
                expected: name.to_ascii_lowercase(),
                size,
                expected_size: expected_sizes.get(name).copied(),
                used_by: uses.and_then(|u| u.first().cloned()),
                uses: uses.map_or(0, Vec::len),
            }),
            other => {
                if let Some(mut f) = link_problem(&other, path) {
                    f.message = format!("blob {}: {}", short(name), f.message);
                    name_use(&mut f, uses.and_then(|u| u.first()));
                    audit.report.findings.push(f);
                }
            }
        }
    }

    audit_refs(fs, folder, &mut audit.report.findings);
    audit
}

/// The repo blob a snapshot link points to (one hop), if it points into `blobs/`.
fn blob_of(fs: &CacheFs, folder: &str, snapshot: &Path, entry: &Entry) -> Option<String> {
    let target = fs.link_target(&snapshot.join(&entry.path))?;
    (target.parent()? == layout::blobs_dir(folder))
        .then(|| target.file_name().map(|n| n.to_string_lossy().into_owned()))
        .flatten()
}

/// What the repo-wide pass knows and learns while snapshots are checked.
struct Known<'a> {
    /// The repo's `blobs/` listing.
    blobs: &'a BlobListing,
    /// Content sizes trees promise, by blob name.
    expected_sizes: &'a mut HashMap<String, u64>,
    /// Ids whose download finished.
    finished: &'a mut BTreeSet<String>,
}

/// Checks one snapshot's files against its links, its tree and its shard index.
fn check_snapshot(
    fs: &CacheFs,
    folder: &str,
    revision: &str,
    manifest: &Manifest,
    known: &mut Known<'_>,
    audit: &mut RepoAudit,
) {
    let blobs = known.blobs;
    let findings = &mut audit.report.findings;
    let at = |file: &str| rel_str(&manifest.dir.join(file));
    for (dir, why) in &manifest.unreadable_dirs {
        findings.push(finding(
            "unreadable",
            Severity::Corrupt,
            at(dir),
            format!("{}: folder cannot be read ({why})", display_dir(dir)),
        ));
    }
    // A link whose blob is itself a link is reported once, at the blob.
    for entry in &manifest.entries {
        let first_hop_listed = entry.is_link
            && blob_of(fs, folder, &manifest.dir, entry)
                .is_some_and(|b| blobs.get(&b) == Some(&Kind::Symlink));
        if first_hop_listed {
            continue;
        }
        if let Some(mut f) = link_problem(&entry.state, at(&entry.path)) {
            f.message = format!("{}: {}", entry.path, f.message);
            f.file = Some(entry.path.clone());
            f.revision = Some(revision.to_owned());
            findings.push(f);
        }
    }

    let missing_shards = missing_shards(fs, manifest);
    for (shard, index) in &missing_shards {
        let mut f = finding(
            "missing_shard",
            Severity::Corrupt,
            at(shard),
            format!("{shard}: missing (listed in {index})"),
        );
        f.file = Some(shard.clone());
        f.revision = Some(revision.to_owned());
        findings.push(f);
    }

    let tree = trees::load(fs, folder, revision);
    let listed = match tree {
        Tree::Missing => None,
        Tree::Unusable(why) => {
            findings.push(finding(
                "tree_unusable",
                Severity::Notice,
                rel_str(&layout::tree_path(folder, revision)),
                format!("trees/{revision}.json is ignored: {why}"),
            ));
            None
        }
        Tree::Files(files) => {
            known
                .finished
                .extend(files.values().map(|tf| tf.id.clone()));
            Some(files)
        }
    };

    for entry in &manifest.entries {
        // Plain files (no-symlink layout) carry no name to check; only a tree can vouch.
        if entry.is_link {
            continue;
        }
        let Resolved::File {
            path: real, size, ..
        } = &entry.state
        else {
            continue;
        };
        match listed.as_ref().and_then(|t| t.get(&entry.path)) {
            Some(tf) => {
                if let Some(algo) = Algo::for_id(&tf.id) {
                    audit.jobs.push(Job {
                        real: real.clone(),
                        path: at(&entry.path),
                        algo,
                        expected: tf.id.clone(),
                        size: *size,
                        expected_size: Some(tf.size),
                        used_by: Some(Use {
                            revision: revision.to_owned(),
                            file: entry.path.clone(),
                        }),
                        uses: 1,
                    });
                } else {
                    audit.report.unverified += 1;
                }
            }
            None => audit.report.unverified += 1,
        }
    }

    let Some(listed) = listed else { return };
    for (path, tf) in &listed {
        let Some(entry) = manifest.get(path) else {
            if !missing_shards.iter().any(|(s, _)| s == path) {
                let mut f = finding(
                    "not_downloaded",
                    Severity::Partial,
                    at(path),
                    format!(
                        "{path}: listed in the commit's tree ({}), not downloaded",
                        humanize_size(tf.size)
                    ),
                );
                f.file = Some(path.clone());
                f.revision = Some(revision.to_owned());
                f.size = Some(tf.size);
                findings.push(f);
            }
            continue;
        };
        if !entry.is_link {
            continue;
        }
        match blob_of(fs, folder, &manifest.dir, entry) {
            Some(blob) if blob.eq_ignore_ascii_case(&tf.id) => {
                known.expected_sizes.insert(blob, tf.size);
            }
            Some(blob) => {
                let mut f = finding(
                    "tree_mismatch",
                    Severity::Corrupt,
                    at(path),
                    format!(
                        "{path}: links to blob {}, the commit's tree says {}",
                        short(&blob),
                        short(&tf.id)
                    ),
                );
                f.file = Some(path.clone());
                f.revision = Some(revision.to_owned());
                f.expected = Some(tf.id.clone());
                f.actual = Some(blob);
                findings.push(f);
            }
            None => {}
        }
    }
}

fn display_dir(dir: &str) -> &str {
    if dir.is_empty() { "snapshot" } else { dir }
}

/// The finding for an entry that does not resolve to a file (`None` when it does).
fn link_problem(state: &Resolved, path: String) -> Option<Finding> {
    let (kind, message) = match state {
        Resolved::File { .. } | Resolved::Dir | Resolved::Special => return None,
        Resolved::Dangling { target } if target.is_empty() => ("dangling_link", "missing".into()),
        Resolved::Dangling { target } => (
            "dangling_link",
            format!("link to a missing file ({target})"),
        ),
        Resolved::Escapes { target } if target.is_empty() => {
            ("escaping_link", "link points outside the cache".into())
        }
        Resolved::Escapes { target } => (
            "escaping_link",
            format!("link points outside the cache ({target})"),
        ),
        Resolved::Loop => ("link_loop", "links loop or chain too deep".into()),
        Resolved::Unreadable { error } => ("unreadable", format!("cannot be read ({error})")),
    };
    Some(finding(kind, Severity::Corrupt, path, message))
}

fn name_use(f: &mut Finding, u: Option<&Use>) {
    if let Some(u) = u {
        f.file = Some(u.file.clone());
        f.revision = Some(u.revision.clone());
    }
}

/// Shards a snapshot's index lists that the snapshot lacks, with the index's name.
fn missing_shards(fs: &CacheFs, m: &Manifest) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for index in [
        "model.safetensors.index.json",
        "pytorch_model.bin.index.json",
    ] {
        let file = manifest::JsonFile::load(fs, m, index);
        let Some(map) = file
            .object()
            .and_then(|o| o.get("weight_map"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let shards: BTreeSet<&str> = map.values().filter_map(Value::as_str).collect();
        for shard in shards {
            let shard = shard.trim_start_matches("./");
            if m.get(shard).is_none() && !out.iter().any(|(s, _)| s == shard) {
                out.push((shard.to_owned(), index));
            }
        }
    }
    out
}

/// Lock files of the repo, probed; returns the held ones by etag.
///
/// huggingface_hub never deletes its lock files, so a lock nobody holds whose download
/// finished is the normal state, not a finding. A lock is stale when nobody holds it and
/// its download never finished (the process was killed); held locks are always shown.
fn audit_locks(
    fs: &CacheFs,
    folder: &str,
    finished: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) -> BTreeSet<String> {
    let dir = layout::locks_dir(folder);
    let mut held = BTreeSet::new();
    let Ok(entries) = fs.read_dir(&dir) else {
        return held;
    };
    for (name, kind) in entries {
        let Some(etag) = name.strip_suffix(".lock") else {
            continue;
        };
        if kind != Kind::File {
            continue;
        }
        let rel = dir.join(&name);
        let path = rel_str(&rel);
        let modified = fs.lstat(&rel).ok().and_then(|st| st.modified);
        let name = format!("lock {}", short(etag));
        let state = capability::probe_lock(fs, &rel);
        if state != Ok(LockState::Held) && finished.contains(etag) {
            continue;
        }
        let mut f = match state {
            Ok(LockState::Held) => {
                held.insert(etag.to_owned());
                finding(
                    "held_lock",
                    Severity::Notice,
                    path,
                    format!("{name} is held by a running process (a download in progress)"),
                )
            }
            Ok(LockState::Free) => finding(
                "stale_lock",
                Severity::Stale,
                path,
                format!("{name} is held by nobody (left behind by a finished or killed download)"),
            ),
            Ok(LockState::Unknown) => finding(
                "lock_unknown",
                Severity::Notice,
                path,
                format!("{name}: whether a process holds it cannot be told here"),
            ),
            Err(e) => finding(
                "lock_unknown",
                Severity::Notice,
                path,
                format!("{name}: {e}"),
            ),
        };
        f.modified = modified.map(|m| time::iso_utc(Some(m)));
        findings.push(f);
    }
    held
}

/// An interrupted (or running) download, both namings: `<etag>.incomplete` (0.x/1.x)
/// and `<etag>.<8 hex>.incomplete` (2.x).
fn incomplete(fs: &CacheFs, rel: &Path, name: &str, held: &BTreeSet<String>) -> Finding {
    let etag = name.split('.').next().unwrap_or(name);
    let st = fs.lstat(rel).ok();
    let size = st.map(|s| s.size);
    let running = held.contains(etag);
    let mut f = finding(
        "incomplete_download",
        if running {
            Severity::Notice
        } else {
            Severity::Stale
        },
        rel_str(rel),
        format!(
            "{} download of blob {} ({} so far)",
            if running { "running" } else { "interrupted" },
            short(etag),
            humanize_size(size.unwrap_or(0))
        ),
    );
    f.size = size;
    f.modified = st.and_then(|s| s.modified).map(|m| time::iso_utc(Some(m)));
    f
}

/// Every ref file: verbatim content (huggingface_hub does not strip), and its snapshot.
fn audit_refs(fs: &CacheFs, folder: &str, findings: &mut Vec<Finding>) {
    for r in crate::refs::ref_files(fs, folder) {
        if let Some(f) = check_ref(fs, folder, &r) {
            findings.push(f);
        }
    }
}

fn check_ref(fs: &CacheFs, folder: &str, r: &crate::refs::RefFile) -> Option<Finding> {
    let (path, name) = (rel_str(&r.path), r.name.as_str());
    let raw = match r.read(fs) {
        Ok(b) => b,
        Err(e) => {
            return Some(finding(
                "unreadable",
                Severity::Corrupt,
                path,
                format!("refs/{name}: cannot be read ({})", fs::describe(&e)),
            ));
        }
    };
    let text = String::from_utf8_lossy(&raw);
    let trimmed = text.trim();
    if !is_commit_hash(trimmed) {
        let mut f = finding(
            "ref_invalid",
            Severity::Corrupt,
            path,
            format!("refs/{name} does not hold a commit hash"),
        );
        f.actual = Some(text.into_owned());
        return Some(f);
    }
    if trimmed != text {
        let mut f = finding(
            "ref_whitespace",
            Severity::Corrupt,
            path,
            format!(
                "refs/{name} has stray whitespace around {}; huggingface_hub reads refs verbatim and cannot use it",
                short(trimmed)
            ),
        );
        f.expected = Some(trimmed.to_owned());
        f.actual = Some(text.into_owned());
        return Some(f);
    }
    let snap = layout::snapshot_dir(folder, trimmed);
    if fs.lstat(&snap).is_ok_and(|st| st.kind == Kind::Dir) {
        return None;
    }
    let mut f = finding(
        "ref_missing_snapshot",
        Severity::Corrupt,
        path,
        format!(
            "refs/{name} names commit {} which has no snapshot",
            short(trimmed)
        ),
    );
    f.expected = Some(trimmed.to_owned());
    Some(f)
}

/// Hashes the planned files and completes the report.
pub fn execute(fs: &CacheFs, mut audit: RepoAudit) -> DeepEntry {
    let mut to_hash = Vec::new();
    for job in std::mem::take(&mut audit.jobs) {
        // A size the tree contradicts needs no hash to be wrong.
        if let Some(want) = job.expected_size.filter(|w| *w != job.size) {
            let f = if is_lfs_pointer(fs, &job) {
                pointer_finding(&job, None)
            } else {
                size_finding(&job, want)
            };
            audit.report.findings.push(f);
        } else {
            to_hash.push(job);
        }
    }
    // One batch per repo: the host hashes a model's shards in parallel.
    let files: Vec<(&Path, Algo)> = to_hash.iter().map(|j| (j.real.as_path(), j.algo)).collect();
    let results = capability::hash_files(fs, &files);
    for (job, result) in to_hash.iter().zip(results) {
        match result {
            Ok(d) => {
                audit.report.files_hashed += 1;
                audit.report.bytes_hashed += d.bytes;
                if d.hex != job.expected {
                    audit.report.findings.push(mismatch(fs, job, &d.hex));
                }
            }
            Err(e) => {
                let mut f = finding(
                    "unreadable",
                    Severity::Corrupt,
                    job.path.clone(),
                    format!("{}: {e}", subject(job)),
                );
                name_use(&mut f, job.used_by.as_ref());
                audit.report.findings.push(f);
            }
        }
    }
    fs.release();
    let findings = &mut audit.report.findings;
    findings.sort_by(|a, b| {
        Severity::rank(a.severity)
            .cmp(&Severity::rank(b.severity))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.kind.cmp(b.kind))
    });
    findings.dedup();
    audit.report
}

/// How a job is named in messages: the snapshot file it serves, else its blob.
fn subject(job: &Job) -> String {
    match &job.used_by {
        Some(u) if job.uses > 1 => format!("{} (and {} more)", u.file, job.uses - 1),
        Some(u) => u.file.clone(),
        None => format!("blob {}", short(&job.expected)),
    }
}

fn size_finding(job: &Job, want: u64) -> Finding {
    let (kind, message) = if job.size < want {
        (
            "truncated",
            format!(
                "{}: truncated, {} of {} bytes",
                subject(job),
                job.size,
                want
            ),
        )
    } else {
        (
            "size_mismatch",
            format!(
                "{}: {} bytes, the commit's tree says {}",
                subject(job),
                job.size,
                want
            ),
        )
    };
    let mut f = finding(kind, Severity::Corrupt, job.path.clone(), message);
    name_use(&mut f, job.used_by.as_ref());
    f.size = Some(job.size);
    f.expected = Some(want.to_string());
    f.actual = Some(job.size.to_string());
    f
}

fn is_lfs_pointer(fs: &CacheFs, job: &Job) -> bool {
    job.size <= LFS_POINTER_MAX
        && fs
            .read_prefix_sized(&job.real, LFS_POINTER_MAX as usize, Some(job.size))
            .is_ok_and(|b| b.starts_with(LFS_HEADER))
}

fn pointer_finding(job: &Job, actual: Option<&str>) -> Finding {
    let mut f = finding(
        "lfs_pointer",
        Severity::Corrupt,
        job.path.clone(),
        format!("{}: a Git LFS pointer instead of the file", subject(job)),
    );
    name_use(&mut f, job.used_by.as_ref());
    f.size = Some(job.size);
    f.expected = Some(job.expected.clone());
    f.actual = actual.map(str::to_owned);
    f
}

fn mismatch(fs: &CacheFs, job: &Job, actual: &str) -> Finding {
    if is_lfs_pointer(fs, job) {
        return pointer_finding(job, Some(actual));
    }
    let mut f = finding(
        "hash_mismatch",
        Severity::Corrupt,
        job.path.clone(),
        format!(
            "{}: content does not match its {} ({} instead of {})",
            subject(job),
            job.algo.as_str(),
            short(actual),
            short(&job.expected)
        ),
    );
    name_use(&mut f, job.used_by.as_ref());
    f.size = Some(job.size);
    f.expected = Some(job.expected.clone());
    f.actual = Some(actual.to_owned());
    f
}

/// Adds one entry's findings to the run's totals.
pub fn tally(summary: &mut DeepSummary, entry: &DeepEntry) {
    summary.files_hashed += entry.files_hashed;
    summary.bytes_hashed += entry.bytes_hashed;
    for f in &entry.findings {
        match f.severity {
            "corrupt" => summary.corrupt += 1,
            "partial" => summary.partial += 1,
            "stale" => summary.stale += 1,
            _ => summary.notice += 1,
        }
    }
}

/// The first corrupt finding's message: the reason an otherwise healthy model is not.
pub fn first_corruption(entry: &DeepEntry) -> Option<&str> {
    entry
        .findings
        .iter()
        .find(|f| f.severity == Severity::Corrupt.as_str())
        .map(|f| f.message.as_str())
}
