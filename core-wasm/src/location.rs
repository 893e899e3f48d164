//! Where the host found the cache, and the one rule that depends on it: a cache the user
//! named (`--cache-dir`, `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`) must exist, so a typo
//! never reads as an empty cache; only the default location may be absent (a machine
//! that never downloaded anything). `pull`, whose job is to fill a cache, may create a
//! named one whose parent folder exists (as `mkdir` would, not `mkdir -p`): a first
//! `HF_HUB_CACHE=/data/hf mlxk pull` works, a typo deeper in the path does not.
//!
//! The guest cannot see outside its preopen, so the host reports three facts on the
//! command line, before the command: `--cache-origin=<origin>`, `--cache-path=<path>` (for
//! messages only) and, when the path is unusable,
//! `--cache-state=missing|missing-parent|not-a-directory`.

use crate::error::CoreError;

/// The guest options that carry the facts.
pub const ORIGIN_FLAG: &str = "--cache-origin=";
/// The path, as the user's setting names it (after `~` expansion).
pub const PATH_FLAG: &str = "--cache-path=";
/// Present only when the path cannot be used.
pub const STATE_FLAG: &str = "--cache-state=";

/// Which setting named the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--cache-dir DIR` (the npm package's `cacheDir`).
    Flag,
    /// `HF_HUB_CACHE`.
    HfHubCache,
    /// `HUGGINGFACE_HUB_CACHE`.
    HuggingfaceHubCache,
    /// Derived: `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub` or `~/.cache/huggingface/hub`.
    Default,
}

impl Origin {
    /// The wire name (also what messages call it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "--cache-dir",
            Self::HfHubCache => "HF_HUB_CACHE",
            Self::HuggingfaceHubCache => "HUGGINGFACE_HUB_CACHE",
            Self::Default => "default",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Flag,
            Self::HfHubCache,
            Self::HuggingfaceHubCache,
            Self::Default,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// Whether the user named this location (so it must exist).
    pub fn is_explicit(self) -> bool {
        self != Self::Default
    }
}

/// Why the path cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Nothing is there; its parent is a folder.
    Missing,
    /// Nothing is there, nor is its parent folder.
    MissingParent,
    /// Something is there, but not a folder.
    NotADirectory,
}

impl State {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::MissingParent => "missing-parent",
            Self::NotADirectory => "not-a-directory",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Missing, Self::MissingParent, Self::NotADirectory]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// What the host reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Which setting named it.
    pub origin: Origin,
    /// The path, for messages.
    pub path: String,
    /// `None` when it is a usable folder.
    pub unusable: Option<State>,
}

impl Location {
    /// The guest options that describe this location (the hosts' half of the protocol).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            format!("{ORIGIN_FLAG}{}", self.origin.as_str()),
            format!("{PATH_FLAG}{}", self.path),
        ];
        if let Some(state) = self.unusable {
            args.push(format!("{STATE_FLAG}{}", state.as_str()));
        }
        args
    }

    /// The error a command reports instead of an empty answer, if any; `creates` is for
    /// the command that may make the folder itself (`pull`).
    pub fn check(&self, creates: bool) -> Result<(), CoreError> {
        match self.unusable {
            Some(State::Missing) if creates => Ok(()),
            Some(state) if self.origin.is_explicit() => Err(CoreError::CacheDirUnusable {
                path: self.path.clone(),
                origin: self.origin.as_str(),
                not_a_directory: state == State::NotADirectory,
            }),
            _ => Ok(()),
        }
    }
}

/// Takes the location options out of `args` (those before the command only).
/// Unknown values are a usage error: they come from a host, never from a user.
pub fn extract(args: &mut Vec<String>) -> Result<Option<Location>, CoreError> {
    let (mut origin, mut path, mut state) = (None, None, None);
    let bad = |a: &str| CoreError::Usage(format!("invalid cache location option: {a}"));
    while let Some(a) = args.first() {
        if let Some(v) = a.strip_prefix(ORIGIN_FLAG) {
            origin = Some(Origin::parse(v).ok_or_else(|| bad(a))?);
        } else if let Some(v) = a.strip_prefix(PATH_FLAG) {
            path = Some(v.to_owned());
        } else if let Some(v) = a.strip_prefix(STATE_FLAG) {
            state = Some(State::parse(v).ok_or_else(|| bad(a))?);
        } else {
            break;
        }
        args.remove(0);
    }
    Ok(origin.map(|origin| Location {
        origin,
        path: path.unwrap_or_default(),
        unusable: state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks() {
        let loc = Location {
            origin: Origin::HfHubCache,
            path: "/x y".into(),
            unusable: Some(State::NotADirectory),
        };
        let mut args = loc.to_args();
        args.push("list".into());
        assert_eq!(extract(&mut args).unwrap(), Some(loc.clone()));
        assert_eq!(args, ["list"]);
        assert_eq!(loc.check(true).unwrap_err().code(), "cache_not_found");
        let missing = Location {
            unusable: Some(State::Missing),
            ..loc.clone()
        };
        assert!(missing.check(false).is_err());
        assert!(missing.check(true).is_ok(), "pull makes it");
        let deeper = Location {
            unusable: Some(State::MissingParent),
            ..loc.clone()
        };
        assert!(deeper.check(true).is_err());
        let default = Location {
            origin: Origin::Default,
            ..loc
        };
        assert!(default.check(false).is_ok());
        assert!(extract(&mut vec!["--cache-origin=nope".into()]).is_err());
    }
}
