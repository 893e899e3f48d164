//! From what a user types (`name[@rev]`) to one cached repo and revision.
//!
//! Order (PRODUCT.md difference 2): the exact `org/name`; then `mlx-community/<name>` when
//! that repo is cached; then a unique exact short name (the part after the last `/`,
//! case-insensitive); then a case-insensitive substring of `org/name`. Several substring
//! matches are ambiguous, listed sorted. `@rev` is applied after the repo is known, to that
//! repo only (difference 3): a branch or tag name from its `refs/` whose snapshot is
//! cached, else a prefix of its snapshot names. Only explicit paths (`./x`,
//! `../x`, `/x`, `.`, `..`) mean local folders; they are never looked up in the cache.

use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::refs;
use crate::scan::{CacheInfo, CachedRepo};
use crate::snapshot;

/// The organisation short names expand into.
pub const DEFAULT_ORG: &str = "mlx-community";

/// `name[@rev]`, split at the last `@`; an empty revision means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec<'a> {
    /// The name part.
    pub name: &'a str,
    /// The revision prefix, if any.
    pub revision: Option<&'a str>,
}

/// Splits `spec` at its last `@`.
pub fn parse_spec(spec: &str) -> Spec<'_> {
    match spec.rsplit_once('@') {
        Some((name, rev)) => Spec {
            name,
            revision: (!rev.is_empty()).then_some(rev),
        },
        None => Spec {
            name: spec,
            revision: None,
        },
    }
}

/// Whether a spec names a local folder rather than a cached model.
pub fn is_explicit_path(name: &str) -> bool {
    name == "."
        || name == ".."
        || name.starts_with("./")
        || name.starts_with("../")
        || name.starts_with('/')
}

/// How a name matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The exact `org/name`.
    Exact,
    /// `mlx-community/<name>`.
    Expanded,
    /// The unique repo whose short name is the spec.
    ShortName,
    /// The unique repo whose name contains the spec.
    Substring,
}

/// The outcome of resolving a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// One repo, and the snapshot the revision selected (if one was given).
    Found {
        /// The repo.
        repo: CachedRepo,
        /// The full snapshot name matched by `@rev`.
        revision: Option<String>,
        /// How the name matched.
        kind: MatchKind,
        /// Whether `@rev` was a ref name (a branch or tag) rather than a commit prefix.
        by_ref: bool,
    },
    /// Several repos match the name; sorted names.
    Ambiguous(Vec<String>),
    /// The repo matched but several of its snapshots start with the revision.
    AmbiguousRevision(Vec<String>),
    /// The name matched a repo, but no ref of it has that name and no snapshot starts
    /// with the revision: what exists instead.
    RevisionNotFound {
        /// The repo.
        repo: CachedRepo,
        /// Its snapshot folder names.
        available: Vec<String>,
        /// Its ref names whose snapshot is cached, sorted.
        refs: Vec<String>,
    },
    /// Nothing matches (also: empty names and explicit paths).
    NotFound,
}

impl Resolution {
    /// The repo and revision, or the error a command reports; `NotFound` becomes
    /// `model_not_found` (callers for which no match is not an error check it first).
    pub fn into_found(self, spec: &str) -> Result<(CachedRepo, Option<String>), CoreError> {
        match self {
            Self::Found { repo, revision, .. } => Ok((repo, revision)),
            Self::NotFound => Err(CoreError::ModelNotFound(spec.to_owned())),
            Self::Ambiguous(matches) => Err(CoreError::AmbiguousMatch {
                spec: spec.to_owned(),
                matches,
            }),
            Self::AmbiguousRevision(matches) => Err(CoreError::AmbiguousRevision {
                spec: spec.to_owned(),
                matches,
            }),
            Self::RevisionNotFound {
                available, refs, ..
            } => Err(CoreError::RevisionNotFound {
                spec: spec.to_owned(),
                plural: false,
                available,
                refs,
            }),
        }
    }
}

/// Resolves `spec` against the model repos of `info`.
pub fn resolve(fs: &CacheFs, info: &CacheInfo, spec: &str) -> Resolution {
    let Spec { name, revision } = parse_spec(spec);
    let name = name.trim();
    if name.is_empty() || is_explicit_path(name) {
        return Resolution::NotFound;
    }
    let models: Vec<&CachedRepo> = info
        .repos
        .iter()
        .filter(|r| r.repo_type == crate::naming::RepoType::Model)
        .collect();
    let (repo, kind) = match find_repo(&models, name) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(rev) = revision else {
        return Resolution::Found {
            repo: repo.clone(),
            revision: None,
            kind,
            by_ref: false,
        };
    };
    let snapshots = snapshot::list_snapshots(fs, &repo.folder).unwrap_or_default();
    let cached = |commit: &str| snapshots.iter().any(|s| s.revision == commit);
    // Refs are matched by name from the listing, so the typed text never becomes a path.
    let refs: Vec<(String, String)> = refs::named_commits(fs, &repo.folder)
        .into_iter()
        .filter(|(_, commit)| cached(commit))
        .collect();
    if let Some((_, commit)) = refs.iter().find(|(name, _)| name == rev) {
        return Resolution::Found {
            repo: repo.clone(),
            revision: Some(commit.clone()),
            kind,
            by_ref: true,
        };
    }
    let mut matching: Vec<&str> = snapshots
        .iter()
        .map(|s| s.revision.as_str())
        .filter(|s| s.starts_with(rev))
        .collect();
    matching.sort_unstable();
    match matching.as_slice() {
        [one] => Resolution::Found {
            repo: repo.clone(),
            revision: Some((*one).to_owned()),
            kind,
            by_ref: false,
        },
        [] => Resolution::RevisionNotFound {
            repo: repo.clone(),
            available: snapshots.into_iter().map(|s| s.revision).collect(),
            refs: refs.into_iter().map(|(name, _)| name).collect(),
        },
        many => Resolution::AmbiguousRevision(many.iter().map(|s| (*s).to_owned()).collect()),
    }
}

fn find_repo<'a>(
    models: &[&'a CachedRepo],
    name: &str,
) -> Result<(&'a CachedRepo, MatchKind), Resolution> {
    if let Some(r) = models.iter().find(|r| r.repo_id == name) {
        return Ok((r, MatchKind::Exact));
    }
    if !name.contains('/') {
        let expanded = format!("{DEFAULT_ORG}/{name}");
        if let Some(r) = models.iter().find(|r| r.repo_id == expanded) {
            return Ok((r, MatchKind::Expanded));
        }
    }
    let lname = name.to_lowercase();
    let short: Vec<&&CachedRepo> = models
        .iter()
        .filter(|r| {
            r.repo_id
                .rsplit('/')
                .next()
                .is_some_and(|s| s.to_lowercase() == lname)
        })
        .collect();
    if let [one] = short.as_slice() {
        return Ok((one, MatchKind::ShortName));
    }
    let mut fuzzy: Vec<&&CachedRepo> = models
        .iter()
        .filter(|r| r.repo_id.to_lowercase().contains(&lname))
        .collect();
    match fuzzy.len() {
        0 => Err(Resolution::NotFound),
        1 => Ok((fuzzy[0], MatchKind::Substring)),
        _ => {
            fuzzy.sort_by(|a, b| a.repo_id.cmp(&b.repo_id));
            Err(Resolution::Ambiguous(
                fuzzy.iter().map(|r| r.repo_id.clone()).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_at_the_last_at() {
        assert_eq!(
            parse_spec("a@b@c"),
            Spec {
                name: "a@b",
                revision: Some("c")
            }
        );
        assert_eq!(
            parse_spec("Model@"),
            Spec {
                name: "Model",
                revision: None
            }
        );
        assert_eq!(
            parse_spec("org/x"),
            Spec {
                name: "org/x",
                revision: None
            }
        );
        assert_eq!(
            parse_spec("@aaa"),
            Spec {
                name: "",
                revision: Some("aaa")
            }
        );
    }

    #[test]
    fn explicit_paths() {
        for p in [".", "..", "./x", "../x", "/abs/x"] {
            assert!(is_explicit_path(p), "{p}");
        }
        for p in ["org/x", "x", ".hidden", "..x"] {
            assert!(!is_explicit_path(p), "{p}");
        }
    }
}
