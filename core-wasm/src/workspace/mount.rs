//! The one folder a host mounts for a workspace command, and what the guest is told about
//! it. The host mounts the folder the user named (`./x`, `/x`, `.`, `..`) read-only as
//! `/workspace` when it is a folder, or, for `list`, the folder holding it when it is not
//! (so `list ./ti` can find `./tiny`), and says so on the command line after the cache
//! options: `--workspace-root=<absolute path>` and, in the second case,
//! `--workspace-prefix=<the last component>`. Every rule about what is a workspace is the
//! guest's.

use crate::error::CoreError;

/// The absolute host path of the mounted folder (names and messages only).
pub const ROOT_FLAG: &str = "--workspace-root=";
/// `list` only: the mount is the named path's parent, and names must start with this.
pub const PREFIX_FLAG: &str = "--workspace-prefix=";
/// Where the guest sees the mount.
pub const GUEST_ROOT: &str = "/workspace";

/// What the host mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The folder's absolute path on the host (links resolved), as models are named.
    pub root: String,
    /// For `list` of a path that is not a folder: the name prefix to match in `root`.
    pub prefix: Option<String>,
}

impl Mount {
    /// The guest options that describe this mount.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![format!("{ROOT_FLAG}{}", self.root)];
        if let Some(p) = &self.prefix {
            args.push(format!("{PREFIX_FLAG}{p}"));
        }
        args
    }

    /// The absolute name of `child` of the mount (`""` for the mount itself).
    pub fn name_of(&self, child: &str) -> String {
        match (child, self.root.as_str()) {
            ("", root) => root.to_owned(),
            (c, "/") => format!("/{c}"),
            (c, root) => format!("{}/{c}", root.trim_end_matches('/')),
        }
    }
}

/// Takes the mount options out of the front of `args`.
pub fn extract(args: &mut Vec<String>) -> Result<Option<Mount>, CoreError> {
    let (mut root, mut prefix) = (None, None);
    while let Some(a) = args.first() {
        if let Some(v) = a.strip_prefix(ROOT_FLAG) {
            root = Some(v.to_owned());
        } else if let Some(v) = a.strip_prefix(PREFIX_FLAG) {
            prefix = Some(v.to_owned());
        } else {
            break;
        }
        args.remove(0);
    }
    match (root, prefix) {
        (Some(root), prefix) if root.starts_with('/') => Ok(Some(Mount { root, prefix })),
        (None, None) => Ok(None),
        _ => Err(CoreError::Usage("invalid workspace mount options".into())),
    }
}

/// The mounted folder and its file access.
#[derive(Debug)]
pub struct Workspaces {
    /// Access rooted at the mount.
    pub fs: crate::fs::CacheFs,
    /// What the host said about it.
    pub mount: Mount,
}

impl Workspaces {
    /// The mount described by `mount`, seen at `root` (`/workspace` in the sandbox, the
    /// host path itself when the library runs natively).
    pub fn new(mount: Mount, root: &std::path::Path) -> Self {
        Self {
            fs: crate::fs::CacheFs::new(root),
            mount,
        }
    }

    /// Whether the mount itself is a workspace (and not a folder of them).
    pub fn mount_is_workspace(&self) -> bool {
        self.mount.prefix.is_none()
            && super::model::is_workspace(&self.fs, std::path::Path::new(""))
    }
}
