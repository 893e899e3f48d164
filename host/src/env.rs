//! Environment variables the CLI reads, in one place, and where the cache is.

use std::path::{Path, PathBuf};

use core_wasm::location::{Location, Origin, State};

/// Names of the environment variables this tool reads.
pub struct EnvVars;

impl EnvVars {
    /// The hub cache itself (huggingface_hub's first choice).
    pub const HF_HUB_CACHE: &'static str = "HF_HUB_CACHE";
    /// Legacy name of `HF_HUB_CACHE`.
    pub const HUGGINGFACE_HUB_CACHE: &'static str = "HUGGINGFACE_HUB_CACHE";
    /// Hugging Face home; the cache is `$HF_HOME/hub`.
    pub const HF_HOME: &'static str = "HF_HOME";
    /// XDG cache home; the cache is `$XDG_CACHE_HOME/huggingface/hub`.
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";
    /// The user's home, for `~` and the default location.
    pub const HOME: &'static str = "HOME";
    /// Where compiled guest modules are kept (default `$XDG_CACHE_HOME/mlx-knife`).
    pub const MLXK_MODULE_CACHE: &'static str = "MLXK_MODULE_CACHE";
    /// Guest wall-clock limit in seconds (default 600).
    pub const MLXK_TIMEOUT_SECS: &'static str = "MLXK_TIMEOUT_SECS";
    /// Guest memory limit in MiB (default 1024).
    pub const MLXK_MEMORY_MIB: &'static str = "MLXK_MEMORY_MIB";
    /// The Hub to pull from (default `https://huggingface.co`).
    pub const HF_ENDPOINT: &'static str = "HF_ENDPOINT";
    /// The access token.
    pub const HF_TOKEN: &'static str = "HF_TOKEN";
    /// Legacy name of `HF_TOKEN`.
    pub const HUGGING_FACE_HUB_TOKEN: &'static str = "HUGGING_FACE_HUB_TOKEN";
    /// The token file (default `$HF_HOME/token`).
    pub const HF_TOKEN_PATH: &'static str = "HF_TOKEN_PATH";
    /// No network: `pull` answers from the cache or fails at once.
    pub const HF_HUB_OFFLINE: &'static str = "HF_HUB_OFFLINE";
    /// Same as `HF_HUB_OFFLINE` (transformers' name).
    pub const TRANSFORMERS_OFFLINE: &'static str = "TRANSFORMERS_OFFLINE";
    /// Attempts per request and per file before a pull gives up (default 5).
    pub const MLXK_PULL_RETRIES: &'static str = "MLXK_PULL_RETRIES";
    /// Seconds a server may stay silent before a request or a body read fails (default 60).
    pub const MLXK_PULL_TIMEOUT_SECS: &'static str = "MLXK_PULL_TIMEOUT_SECS";
    /// Files downloaded at once (default 8).
    pub const MLXK_PULL_JOBS: &'static str = "MLXK_PULL_JOBS";
    /// Seconds to wait for another process's download lock (default 600).
    pub const MLXK_LOCK_TIMEOUT_SECS: &'static str = "MLXK_LOCK_TIMEOUT_SECS";
    /// The Python that runs the inference engine (mlx-lm); default `python3`.
    pub const MLXK_PYTHON: &'static str = "MLXK_PYTHON";
    /// The folder bare workspace names live in (`clone`, `convert`, `list`).
    pub const MLXK_WORKSPACE_HOME: &'static str = "MLXK_WORKSPACE_HOME";
}

/// `MLXK_WORKSPACE_HOME`, `~` expanded and made absolute, and whether it is a folder;
/// `None` when unset or empty.
pub fn workspace_home(
    var: impl Fn(&str) -> Option<String>,
) -> Option<core_wasm::workspace::target::Home> {
    let value = var(EnvVars::MLXK_WORKSPACE_HOME).filter(|v| !v.trim().is_empty())?;
    let home = var(EnvVars::HOME)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let path = expand_tilde(&value, home.as_deref());
    let path = std::path::absolute(&path).unwrap_or(path);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    Some(core_wasm::workspace::target::Home {
        is_dir: path.is_dir(),
        path,
    })
}

/// The default Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// `HF_ENDPOINT` without trailing `/`, or the Hub.
pub fn endpoint(var: impl Fn(&str) -> Option<String>) -> String {
    var(EnvVars::HF_ENDPOINT)
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

/// Which offline variable is set to a true value (1/ON/YES/TRUE, any case), if any.
pub fn offline(var: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    [EnvVars::HF_HUB_OFFLINE, EnvVars::TRANSFORMERS_OFFLINE]
        .into_iter()
        .find(|name| {
            var(name).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_uppercase().as_str(),
                    "1" | "ON" | "YES" | "TRUE"
                )
            })
        })
}

/// The token as huggingface_hub finds it: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the
/// file `HF_TOKEN_PATH` (default `$HF_HOME/token`, with HF_HOME resolved as for the
/// cache). Line breaks and surrounding whitespace are removed; empty means none.
pub fn token(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let clean = |t: String| {
        let t = t.replace(['\r', '\n'], "").trim().to_owned();
        (!t.is_empty()).then_some(t)
    };
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(t) = get(EnvVars::HF_TOKEN).or_else(|| get(EnvVars::HUGGING_FACE_HUB_TOKEN)) {
        return clean(t);
    }
    let home = get(EnvVars::HOME).map(PathBuf::from);
    let file = match get(EnvVars::HF_TOKEN_PATH) {
        Some(p) => expand_tilde(&p, home.as_deref()),
        None => {
            let hf_home = get(EnvVars::HF_HOME)
                .map(|v| expand_tilde(&v, home.as_deref()))
                .or_else(|| {
                    get(EnvVars::XDG_CACHE_HOME)
                        .map(|v| expand_tilde(&v, home.as_deref()))
                        .or_else(|| home.clone().map(|h| h.join(".cache")))
                        .map(|c| c.join("huggingface"))
                })?;
            hf_home.join("token")
        }
    };
    std::fs::read_to_string(file).ok().and_then(clean)
}

/// Expands a leading `~` or `~/` with `home`.
pub fn expand_tilde(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(h)) => h.to_path_buf(),
        (Some(rest), Some(h)) if rest.starts_with('/') => h.join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

/// The hub cache directory, resolved as huggingface_hub resolves it:
///
/// 1. `--cache-dir DIR`
/// 2. `HF_HUB_CACHE`
/// 3. `HUGGINGFACE_HUB_CACHE`
/// 4. `$HF_HOME/hub`
/// 5. `$XDG_CACHE_HOME/huggingface/hub`
/// 6. `~/.cache/huggingface/hub`
///
/// Empty values count as unset; `~` is expanded everywhere.
pub fn resolve_cache_dir(cli: Option<&Path>, var: impl Fn(&str) -> Option<String>) -> PathBuf {
    resolve_cache_location(cli, var).0
}

/// [`resolve_cache_dir`], and which setting named the folder (a named one must exist).
pub fn resolve_cache_location(
    cli: Option<&Path>,
    var: impl Fn(&str) -> Option<String>,
) -> (PathBuf, Origin) {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    let home = get(EnvVars::HOME).map(PathBuf::from);
    let expand = |v: String| expand_tilde(&v, home.as_deref());
    if let Some(dir) = cli {
        return (expand(dir.to_string_lossy().into_owned()), Origin::Flag);
    }
    if let Some(v) = get(EnvVars::HF_HUB_CACHE) {
        return (expand(v), Origin::HfHubCache);
    }
    if let Some(v) = get(EnvVars::HUGGINGFACE_HUB_CACHE) {
        return (expand(v), Origin::HuggingfaceHubCache);
    }
    if let Some(v) = get(EnvVars::HF_HOME) {
        return (expand(v).join("hub"), Origin::Default);
    }
    let cache_home = get(EnvVars::XDG_CACHE_HOME)
        .map(expand)
        .unwrap_or_else(|| home.clone().unwrap_or_default().join(".cache"));
    (cache_home.join("huggingface").join("hub"), Origin::Default)
}

/// What the guest is told about the cache folder: where it came from and whether it is a
/// usable folder (the guest cannot look outside its preopen). Links are followed, as
/// every other tool reading the cache would.
pub fn cache_location(dir: &Path, origin: Origin) -> Location {
    let unusable = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(State::NotADirectory),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Some(State::NotADirectory),
        Err(_) if dir.parent().is_some_and(Path::is_dir) => Some(State::Missing),
        Err(_) => Some(State::MissingParent),
    };
    // Absolute, as the npm package reports it (`path.resolve`), so messages agree.
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    Location {
        origin,
        path: shown.to_string_lossy().into_owned(),
        unusable,
    }
}

/// Where compiled modules are cached: `MLXK_MODULE_CACHE`, else
/// `$XDG_CACHE_HOME/mlx-knife`, else `~/.cache/mlx-knife`.
pub fn module_cache_dir(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    let home = get(EnvVars::HOME).map(PathBuf::from);
    if let Some(v) = get(EnvVars::MLXK_MODULE_CACHE) {
        return Some(expand_tilde(&v, home.as_deref()));
    }
    let base = get(EnvVars::XDG_CACHE_HOME)
        .map(|v| expand_tilde(&v, home.as_deref()))
        .or_else(|| home.map(|h| h.join(".cache")))?;
    Some(base.join("mlx-knife"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn precedence_follows_huggingface_hub() {
        let all = [
            ("HOME", "/h"),
            ("HF_HUB_CACHE", "/a"),
            ("HUGGINGFACE_HUB_CACHE", "/b"),
            ("HF_HOME", "/c"),
            ("XDG_CACHE_HOME", "/d"),
        ];
        assert_eq!(
            resolve_cache_dir(Some(Path::new("/cli")), env(&all)),
            PathBuf::from("/cli")
        );
        assert_eq!(resolve_cache_dir(None, env(&all)), PathBuf::from("/a"));
        assert_eq!(
            resolve_cache_location(None, env(&all)).1,
            Origin::HfHubCache
        );
        assert_eq!(
            resolve_cache_location(None, env(&all[2..])).1,
            Origin::HuggingfaceHubCache
        );
        assert_eq!(
            resolve_cache_location(None, env(&all[3..])).1,
            Origin::Default
        );
        assert_eq!(resolve_cache_dir(None, env(&all[2..])), PathBuf::from("/b"));
        assert_eq!(
            resolve_cache_dir(None, env(&all[3..])),
            PathBuf::from("/c/hub")
        );
        assert_eq!(
            resolve_cache_dir(None, env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/d")])),
            PathBuf::from("/d/huggingface/hub")
        );
        assert_eq!(
            resolve_cache_dir(None, env(&[("HOME", "/h")])),
            PathBuf::from("/h/.cache/huggingface/hub")
        );
    }

    #[test]
    fn hub_settings() {
        assert_eq!(endpoint(env(&[])), DEFAULT_ENDPOINT);
        assert_eq!(
            endpoint(env(&[("HF_ENDPOINT", "http://h:1/")])),
            "http://h:1"
        );
        assert_eq!(
            offline(env(&[("HF_HUB_OFFLINE", "yes")])),
            Some("HF_HUB_OFFLINE")
        );
        assert_eq!(offline(env(&[("HF_HUB_OFFLINE", "0")])), None);
        assert_eq!(
            offline(env(&[("TRANSFORMERS_OFFLINE", "1")])),
            Some("TRANSFORMERS_OFFLINE")
        );
        assert_eq!(token(env(&[("HF_TOKEN", " t\n")])).as_deref(), Some("t"));
        assert_eq!(
            token(env(&[("HF_TOKEN", ""), ("HUGGING_FACE_HUB_TOKEN", "u")])).as_deref(),
            Some("u")
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "from-file\r\n").unwrap();
        let home = dir.path().to_str().unwrap();
        assert_eq!(
            token(env(&[("HF_HOME", home)])).as_deref(),
            Some("from-file")
        );
        assert_eq!(token(env(&[("HF_HOME", "/nonexistent")])), None);
    }

    #[test]
    fn empty_values_are_unset_and_tilde_expands() {
        let e = env(&[("HOME", "/h"), ("HF_HUB_CACHE", ""), ("HF_HOME", "~/hf")]);
        assert_eq!(resolve_cache_dir(None, e), PathBuf::from("/h/hf/hub"));
        let e = env(&[("HOME", "/h")]);
        assert_eq!(
            resolve_cache_dir(Some(Path::new("~/x")), e),
            PathBuf::from("/h/x")
        );
        assert_eq!(
            expand_tilde("~user/x", Some(Path::new("/h"))),
            PathBuf::from("~user/x")
        );
    }
}
