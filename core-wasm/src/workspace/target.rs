//! The folder `clone` and `convert` write: where a typed target resolves to (the
//! `MLXK_WORKSPACE_HOME` rule, workspaces-reference §2.2 and §3.1), and the mount the host
//! gives the guest for it. To check a target the host mounts the folder holding it
//! read-only as `/target` with `--target-root=<absolute parent>` and
//! `--target-child=<name>` (or `--target-state=missing-parent` when there is no such
//! folder); to fill it, the target itself, writable, with only `--target-root`. The rules
//! about what may be written are the guest's.

use std::path::{Component, Path, PathBuf};

use crate::error::CoreError;

/// The absolute host path of the mounted folder (messages only).
pub const ROOT_FLAG: &str = "--target-root=";
/// The target's name inside the mount, when the mount is its parent.
pub const CHILD_FLAG: &str = "--target-child=";
/// Present only when the parent does not exist (nothing is mounted).
pub const STATE_FLAG: &str = "--target-state=";
/// Where the guest sees the mount.
pub const GUEST_ROOT: &str = "/target";

/// What the host mounted for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetMount {
    /// The mounted folder's absolute host path (links resolved).
    pub root: String,
    /// The target's name in `root`; `None` when `root` is the target itself.
    pub child: Option<String>,
    /// The parent folder is missing: nothing is mounted, `root` is its lexical path.
    pub parent_missing: bool,
}

impl TargetMount {
    /// The guest options that describe this mount.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![format!("{ROOT_FLAG}{}", self.root)];
        if let Some(c) = &self.child {
            args.push(format!("{CHILD_FLAG}{c}"));
        }
        if self.parent_missing {
            args.push(format!("{STATE_FLAG}missing-parent"));
        }
        args
    }

    /// The target's absolute host path.
    pub fn target_path(&self) -> String {
        match self.child.as_deref() {
            None | Some("") => self.root.clone(),
            Some(c) if self.root == "/" => format!("/{c}"),
            Some(c) => format!("{}/{c}", self.root.trim_end_matches('/')),
        }
    }
}

/// Takes the target options out of the front of `args`.
pub fn extract(args: &mut Vec<String>) -> Result<Option<TargetMount>, CoreError> {
    let (mut root, mut child, mut missing) = (None, None, false);
    while let Some(a) = args.first() {
        if let Some(v) = a.strip_prefix(ROOT_FLAG) {
            root = Some(v.to_owned());
        } else if let Some(v) = a.strip_prefix(CHILD_FLAG) {
            child = Some(v.to_owned());
        } else if a.strip_prefix(STATE_FLAG) == Some("missing-parent") {
            missing = true;
        } else {
            break;
        }
        args.remove(0);
    }
    match root {
        Some(root) if root.starts_with('/') => Ok(Some(TargetMount {
            root,
            child,
            parent_missing: missing,
        })),
        None if child.is_none() && !missing => Ok(None),
        _ => Err(CoreError::Usage("invalid target mount options".into())),
    }
}

/// `MLXK_WORKSPACE_HOME` as the host found it (`~` expanded, made absolute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// The path.
    pub path: PathBuf,
    /// Whether it is an existing folder (anything else is ignored, or refused by `clone`).
    pub is_dir: bool,
}

/// Where a typed target goes, before anything is checked on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Absolute, `.` and `..` folded (the host resolves links when it mounts).
    pub path: PathBuf,
    /// The path as it appears in messages (`Cloned to <typed>`).
    pub typed: String,
    /// Chosen by the home rule with no target given: an existing folder there is
    /// "already exists", not "not empty".
    pub from_home: bool,
}

/// Why a clone target cannot even be named (2.0.8 prints these before the operation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No target and no usable home.
    #[error(
        "Target directory required.\nHint: Set MLXK_WORKSPACE_HOME or specify target:\n  mlxk clone {0} ./my-model"
    )]
    Required(String),
    /// The home is set but is not a folder.
    #[error("MLXK_WORKSPACE_HOME is not a directory: {0}")]
    HomeNotADirectory(String),
}

/// Whether `name` is "bare" for the home rule: no leading `/`, `./`, `../`, no `/`.
pub fn is_bare(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

/// Folds `.` and `..` out of `cwd.join(path)` without touching the disk.
pub fn absolute(cwd: &Path, path: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The clone target for `spec` (`org/name[@rev]`) and the typed `target`, as 2.0.8
/// resolves it: no target → `<home>/<name>`; a bare target with a home → `<home>/<target>`;
/// anything else relative to `cwd`. `~` is never expanded (a shell does that).
pub fn clone_target(
    spec: &str,
    target: Option<&str>,
    home: Option<&Home>,
    cwd: &Path,
) -> Result<Resolved, TargetError> {
    let home_dir = home.filter(|h| h.is_dir);
    match target {
        None => {
            let Some(h) = home else {
                return Err(TargetError::Required(spec.to_owned()));
            };
            if !h.is_dir {
                return Err(TargetError::HomeNotADirectory(
                    h.path.to_string_lossy().into_owned(),
                ));
            }
            let base = spec.split('@').next().unwrap_or_default();
            let name = base.rsplit('/').next().unwrap_or(base).to_owned();
            let path = absolute(&h.path, &name);
            Ok(Resolved {
                typed: path.to_string_lossy().into_owned(),
                path,
                from_home: true,
            })
        }
        Some(t) => {
            let (path, typed) = match home_dir {
                Some(h) if is_bare(t) => {
                    let p = absolute(&h.path, t);
                    let typed = p.to_string_lossy().into_owned();
                    (p, typed)
                }
                _ => (absolute(cwd, t), t.to_owned()),
            };
            Ok(Resolved {
                path,
                typed,
                from_home: false,
            })
        }
    }
}

/// A `convert` source or target with the home rule (§3.1): a bare name goes into an
/// existing home; a source only when that folder exists (`is_dir`). Returns the path as
/// it will be shown and its absolute form.
pub fn convert_path(
    typed: &str,
    home: Option<&Home>,
    source: bool,
    cwd: &Path,
    is_dir: impl Fn(&Path) -> bool,
) -> (String, PathBuf) {
    if let Some(h) = home.filter(|h| h.is_dir)
        && !typed.trim().is_empty()
        && is_bare(typed)
    {
        let p = absolute(&h.path, typed);
        if !source || is_dir(&p) {
            return (p.to_string_lossy().into_owned(), p);
        }
    }
    (typed.to_owned(), absolute(cwd, typed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(p: &str, is_dir: bool) -> Home {
        Home {
            path: PathBuf::from(p),
            is_dir,
        }
    }

    #[test]
    fn the_home_rule_applies_to_bare_names_only() {
        let cwd = Path::new("/w/cl");
        let h = home("/h", true);
        let r = clone_target("org/tiny@v1", None, Some(&h), cwd).unwrap();
        assert_eq!((r.path, r.from_home), (PathBuf::from("/h/tiny"), true));
        let r = clone_target("org/tiny", Some("bare"), Some(&h), cwd).unwrap();
        assert_eq!(
            (r.path, r.typed.as_str()),
            (PathBuf::from("/h/bare"), "/h/bare")
        );
        let r = clone_target("org/tiny", Some("sub/x"), Some(&h), cwd).unwrap();
        assert_eq!(
            (r.path, r.typed.as_str()),
            (PathBuf::from("/w/cl/sub/x"), "sub/x")
        );
        let r = clone_target("org/tiny", Some("."), None, cwd).unwrap();
        assert_eq!(r.path, PathBuf::from("/w/cl"));
        let r = clone_target("org/tiny", Some("../x/./y"), None, cwd).unwrap();
        assert_eq!(r.path, PathBuf::from("/w/x/y"));
        let r = clone_target("org/tiny", Some("~/foo"), None, cwd).unwrap();
        assert_eq!(r.path, PathBuf::from("/w/cl/~/foo"));
        // A home that is not a folder is ignored for a given target, refused without one.
        let f = home("/h", false);
        let r = clone_target("org/tiny", Some("bare"), Some(&f), cwd).unwrap();
        assert_eq!(r.path, PathBuf::from("/w/cl/bare"));
        assert_eq!(
            clone_target("org/tiny", None, Some(&f), cwd),
            Err(TargetError::HomeNotADirectory("/h".into()))
        );
        assert!(matches!(
            clone_target("org/tiny", None, None, cwd),
            Err(TargetError::Required(_))
        ));
    }
}
