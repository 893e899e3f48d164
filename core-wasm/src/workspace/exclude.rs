//! The files a workspace's content hash leaves out: MLX-Knife 2.0.8's 34 default patterns,
//! matched as Python's `fnmatch` does against base names at any depth. A pattern ending in
//! `/` names folders (skipped with everything in them); every other pattern names files.

/// The default list, in 2.0.8's order (it is written into the sentinel as is).
pub const DEFAULT_PATTERNS: &[&str] = &[
    ".hf_cache/",
    ".mlxk_workspace.json",
    ".git/",
    ".github/",
    "__pycache__/",
    ".vscode/",
    ".idea/",
    ".ipynb_checkpoints/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".tox/",
    "node_modules/",
    ".venv/",
    "venv/",
    "*.lock",
    "*.tmp",
    "*.log",
    "*.bak",
    ".DS_Store",
    "._*",
    ".Spotlight-V100/",
    ".Trashes/",
    ".fseventsd/",
    ".TemporaryItems/",
    ".apdisk",
    "Icon\r",
    "Thumbs.db",
    "desktop.ini",
    "$RECYCLE.BIN/",
    "System Volume Information/",
    "*~",
    ".*.swp",
    ".*.swo",
];

/// A compiled exclude list.
#[derive(Debug, Clone)]
pub struct Excludes {
    dirs: Vec<Matcher>,
    files: Vec<Matcher>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Glob(glob::Pattern),
    /// A pattern `glob` cannot parse (`fnmatch` reads an unclosed `[` literally).
    Literal(String),
}

impl Matcher {
    fn new(pattern: &str) -> Self {
        glob::Pattern::new(pattern).map_or_else(|_| Self::Literal(pattern.to_owned()), Self::Glob)
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            // fnmatch: `*` crosses dots and leading dots; case-sensitive (POSIX).
            Self::Glob(p) => p.matches_with(
                name,
                glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: false,
                    require_literal_leading_dot: false,
                },
            ),
            Self::Literal(l) => l == name,
        }
    }
}

impl Excludes {
    /// Compiles `patterns` (a sentinel's stored list, or [`DEFAULT_PATTERNS`]).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let (mut dirs, mut files) = (Vec::new(), Vec::new());
        for p in patterns {
            let p = p.as_ref();
            match p.strip_suffix('/') {
                Some(dir) => dirs.push(Matcher::new(dir)),
                None => files.push(Matcher::new(p)),
            }
        }
        Self { dirs, files }
    }

    /// The default list.
    pub fn default_list() -> Self {
        Self::new(DEFAULT_PATTERNS)
    }

    /// Whether a folder with this base name is left out, with all it holds.
    pub fn skips_dir(&self, name: &str) -> bool {
        self.dirs.iter().any(|m| m.matches(name))
    }

    /// Whether a regular file with this base name is left out.
    pub fn skips_file(&self, name: &str) -> bool {
        self.files.iter().any(|m| m.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_is_2_0_8s() {
        assert_eq!(DEFAULT_PATTERNS.len(), 34);
        let ex = Excludes::default_list();
        for name in [
            "node_modules",
            ".git",
            ".hf_cache",
            "$RECYCLE.BIN",
            "System Volume Information",
        ] {
            assert!(ex.skips_dir(name), "{name}");
        }
        for name in [
            ".DS_Store",
            "keep.bak",
            "run.log",
            "foo~",
            "._x",
            ".a.swp",
            "Icon\r",
            "x.lock",
            ".mlxk_workspace.json",
        ] {
            assert!(ex.skips_file(name), "{name}");
        }
        for name in [
            ".gitattributes",
            "config.json",
            "Icon",
            "model.safetensors",
            "log",
        ] {
            assert!(!ex.skips_file(name), "{name}");
        }
        // A folder pattern is not a file pattern, and the other way round.
        assert!(!ex.skips_file("node_modules") && !ex.skips_dir(".DS_Store"));
        // Case matters, as fnmatch on Linux.
        assert!(!ex.skips_file("RUN.LOG"));
        assert!(!ex.skips_file("X.LOCK"));
    }

    #[test]
    fn an_unparsable_pattern_is_a_literal() {
        let ex = Excludes::new(&["[abc", "data[0-9].bin"]);
        assert!(ex.skips_file("[abc") && !ex.skips_file("a"));
        assert!(ex.skips_file("data7.bin") && !ex.skips_file("dataX.bin"));
    }
}
