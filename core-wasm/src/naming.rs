//! Repo ids and their cache folder names: `org/name` ↔ `models--org--name`.
//!
//! The conversion is the mechanical one huggingface_hub and MLX-Knife use: the folder is
//! the repo type's plural, then the id with every `/` replaced by `--`. Going back, the
//! type prefix is split off at the first `--` and every remaining `--` becomes `/`, left to
//! right, so malformed folders (`models--org---bad`) still map to a name (`org/-bad`)
//! instead of being dropped.

/// The kinds of repository a cache can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoType {
    /// `models--…`
    Model,
    /// `datasets--…`
    Dataset,
    /// `spaces--…`
    Space,
    /// `kernels--…` (huggingface_hub 2.x)
    Kernel,
}

impl RepoType {
    /// Every type, in folder-prefix order.
    pub const ALL: [Self; 4] = [Self::Model, Self::Dataset, Self::Space, Self::Kernel];

    /// The folder prefix, without the `--` separator.
    pub fn folder_prefix(self) -> &'static str {
        match self {
            Self::Model => "models",
            Self::Dataset => "datasets",
            Self::Space => "spaces",
            Self::Kernel => "kernels",
        }
    }

    /// The singular name huggingface_hub reports (`model`, `dataset`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Dataset => "dataset",
            Self::Space => "space",
            Self::Kernel => "kernel",
        }
    }
}

/// The separator between the parts of a folder name.
pub const SEPARATOR: &str = "--";

/// `org/name` → `models--org--name` (for any repo type).
pub fn repo_folder(repo_type: RepoType, repo_id: &str) -> String {
    format!(
        "{}{SEPARATOR}{}",
        repo_type.folder_prefix(),
        repo_id.replace('/', SEPARATOR)
    )
}

/// `models--org--name` → `(Model, "org/name")`; `None` when the prefix is not a repo type
/// (`.locks`, `CACHEDIR.TAG`, the shared `blobs` store, stray files).
pub fn parse_repo_folder(folder: &str) -> Option<(RepoType, String)> {
    let (prefix, rest) = folder.split_once(SEPARATOR)?;
    let repo_type = RepoType::ALL
        .into_iter()
        .find(|t| t.folder_prefix() == prefix)?;
    Some((repo_type, rest.replace(SEPARATOR, "/")))
}

/// Whether a name is one of the test-suite canaries the reference hides from listings.
pub fn is_sentinel(name: &str) -> bool {
    name.contains("TEST-CACHE-SENTINEL")
}

/// Whether `s` is a full commit hash: 40 characters of `[0-9a-f]`, any case (as the
/// reference compares them).
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_round_trips_clean_names() {
        // mlxk-reference §9 item 1
        assert_eq!(
            repo_folder(RepoType::Model, "org/sub/model"),
            "models--org--sub--model"
        );
        assert_eq!(
            parse_repo_folder("models--org--sub--model"),
            Some((RepoType::Model, "org/sub/model".into()))
        );
        assert_eq!(
            repo_folder(RepoType::Model, "single-model"),
            "models--single-model"
        );
        assert_eq!(
            parse_repo_folder("models--single-model"),
            Some((RepoType::Model, "single-model".into()))
        );
        assert_eq!(
            parse_repo_folder("datasets--x--y"),
            Some((RepoType::Dataset, "x/y".into()))
        );
    }

    #[test]
    fn malformed_folders_map_mechanically() {
        // mlxk-reference §2.1 and §9 item 2
        for (folder, name) in [
            ("models--org---bad", "org/-bad"),
            ("models--org----model", "org//model"),
            ("models---bad--model", "-bad/model"),
            ("models--org--model---corrupted", "org/model/-corrupted"),
            ("models--", ""),
        ] {
            assert_eq!(
                parse_repo_folder(folder),
                Some((RepoType::Model, name.into())),
                "{folder}"
            );
        }
    }

    #[test]
    fn non_repo_entries_are_not_repos() {
        for folder in [
            ".locks",
            "CACHEDIR.TAG",
            "blobs",
            "file-not-dir",
            "models",
            "foo--bar",
        ] {
            assert_eq!(parse_repo_folder(folder), None, "{folder}");
        }
    }

    #[test]
    fn commit_hashes_are_40_hex() {
        assert!(is_commit_hash(&"a".repeat(40)));
        assert!(is_commit_hash(&"ABCDEF0123".repeat(4)));
        assert!(!is_commit_hash(&"a".repeat(39)));
        assert!(!is_commit_hash("main"));
        assert!(!is_commit_hash(&"g".repeat(40)));
    }
}
