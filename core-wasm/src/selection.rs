//! Which files of a commit a command takes: `pull --include/--exclude` and `rm --files`,
//! with huggingface_hub's `allow_patterns` / `ignore_patterns` semantics.
//!
//! huggingface_hub filters with Python's `fnmatch` on the repo path: `*` matches any run of
//! characters *including* `/`, `?` one character, `[seq]` / `[!seq]` a set, matching is
//! case-sensitive (POSIX), and a pattern ending in `/` gets `*` appended (a folder and
//! everything under it). A path is taken when it matches some include pattern (or none is
//! given) and no exclude pattern. The matcher is written out here rather than taken from a
//! glob crate because glob crates give `**`, `{a,b}` and `/` their own meanings, which
//! would select other files than huggingface_hub does for the same patterns.

use serde::{Deserialize, Serialize};

/// Include and exclude patterns; both empty means every file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// `--include`: a path must match one of these (when any is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// `--exclude`: a path matching one of these is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl Selection {
    /// Whether no pattern was given (every file is taken).
    pub fn is_everything(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether `path` is taken.
    pub fn takes(&self, path: &str) -> bool {
        let any = |patterns: &[String]| patterns.iter().any(|p| fnmatch(path, &folder_glob(p)));
        (self.include.is_empty() || any(&self.include)) && !any(&self.exclude)
    }

    /// The patterns as the user gave them, for messages: `--include '*.gguf' --exclude 'x'`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (flag, patterns) in [("--include", &self.include), ("--exclude", &self.exclude)] {
            for p in patterns {
                parts.push(format!("{flag} '{p}'"));
            }
        }
        parts.join(" ")
    }
}

/// huggingface_hub's `_add_wildcard_to_directories`: `folder/` means `folder/*`.
fn folder_glob(pattern: &str) -> std::borrow::Cow<'_, str> {
    if pattern.ends_with('/') {
        format!("{pattern}*").into()
    } else {
        pattern.into()
    }
}

/// One element of a compiled pattern.
#[derive(Debug)]
enum Token {
    Char(char),
    Any,
    Star,
    /// A bracket set: (negated, ranges).
    Set(bool, Vec<(char, char)>),
}

/// Python's `fnmatch.fnmatchcase(name, pattern)`.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let tokens = compile(pattern);
    let name: Vec<char> = name.chars().collect();
    matches(&tokens, &name)
}

/// `fnmatch.translate`'s reading of a pattern: a `[` without its `]` is a literal `[`; a
/// `]` right after `[` or `[!` is a member; `!` negates.
fn compile(pattern: &str) -> Vec<Token> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => {
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
            }
            '?' => out.push(Token::Any),
            '[' => {
                let mut j = i + 1;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    out.push(Token::Char('['));
                } else {
                    let mut k = i + 1;
                    let negated = p[k] == '!';
                    if negated {
                        k += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    while k < j {
                        let c = p[k];
                        if c == ']' && !first {
                            break;
                        }
                        if k + 2 < j && p[k + 1] == '-' {
                            // A reversed range (`z-a`) matches nothing, as in Python.
                            if c <= p[k + 2] {
                                ranges.push((c, p[k + 2]));
                            }
                            k += 3;
                        } else {
                            ranges.push((c, c));
                            k += 1;
                        }
                        first = false;
                    }
                    out.push(Token::Set(negated, ranges));
                    i = j;
                }
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// Matches the whole name, backtracking to the last star (linear per star, no recursion).
fn matches(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if t < tokens.len() {
            let step = match &tokens[t] {
                Token::Star => {
                    resume = Some((t, n));
                    t += 1;
                    continue;
                }
                Token::Any => n < name.len(),
                Token::Char(c) => name.get(n) == Some(c),
                Token::Set(negated, ranges) => name
                    .get(n)
                    .is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated),
            };
            if step {
                t += 1;
                n += 1;
                continue;
            }
        } else if n == name.len() {
            return true;
        }
        match resume {
            Some((star, at)) if at < name.len() => {
                resume = Some((star, at + 1));
                t = star + 1;
                n = at + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_reads_patterns_as_python_does() {
        // Each answer was checked against Python 3.11's fnmatch.fnmatchcase.
        let cases = [
            ("model.gguf", "*.gguf", true),
            ("q4/model.gguf", "*.gguf", true), // `*` crosses `/`
            ("q4/model.gguf", "q4/*", true),
            ("model-Q4_K_M.gguf", "*Q4_K_M*", true),
            ("model-q4_k_m.gguf", "*Q4_K_M*", false), // case-sensitive
            ("a.json", "?.json", true),
            ("ab.json", "?.json", false),
            ("a1", "a[0-9]", true),
            ("ax", "a[!0-9]", true),
            ("a1", "a[!0-9]", false),
            ("a]", "a[]]", true),
            ("a[", "a[", true), // an unclosed `[` is literal
            ("x", "[z-a]", false),
            ("config.json", "config.json", true),
            ("sub/config.json", "config.json", false),
            ("a/b/c", "a/**", true),
            ("abc", "a**c", true),
            ("{a,b}", "{a,b}", true), // no alternates
            ("a", "{a,b}", false),
            ("", "*", true),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*c", false),
        ];
        for (name, pattern, want) in cases {
            assert_eq!(fnmatch(name, pattern), want, "{name:?} ~ {pattern:?}");
        }
    }

    #[test]
    fn include_then_exclude_and_folders() {
        let s = Selection {
            include: vec!["*.json".into(), "onnx/".into()],
            exclude: vec!["onnx/big*".into()],
        };
        assert!(s.takes("config.json"));
        assert!(s.takes("onnx/model.onnx"));
        assert!(!s.takes("onnx/big.onnx"));
        assert!(!s.takes("model.safetensors"));
        assert!(Selection::default().takes("anything"));
        assert_eq!(
            s.describe(),
            "--include '*.json' --include 'onnx/' --exclude 'onnx/big*'"
        );
    }
}
