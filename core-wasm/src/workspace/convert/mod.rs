//! `convert SOURCE TARGET --repair-index` (workspaces-reference §3): a new managed
//! workspace whose `model.safetensors.index.json` is rebuilt from the shards' headers.
//! The host mounts the source read-only and, for the check (`convert --plan`), the
//! target's parent read-only; then the target itself, writable, for the work. Unlike
//! 2.0.8, subfolders of the source are copied too, and a link that leaves the source is
//! refused instead of followed. `--quantize` needs an inference engine and is not built.

pub mod index;

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::clone::{Target, pin};
use super::content_hash;
use super::copy;
use super::exclude::DEFAULT_PATTERNS;
use super::mount::Workspaces;
use super::sentinel::{self, Sentinel};
use crate::error::CoreError;
use crate::fs::{CacheFs, Kind, Resolved};
use crate::snapshot::Manifest;

/// The mode asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--repair-index`.
    RepairIndex,
    /// `--quantize BITS [--q-group-size N]`.
    Quantize {
        /// Bits per weight.
        bits: u32,
        /// Group size.
        group_size: u32,
    },
}

impl Mode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepairIndex => "repair-index",
            Self::Quantize { .. } => "quantize",
        }
    }
}

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertRequest {
    /// The source as given (or as the home rule rewrote it).
    pub source: String,
    /// The target as given (or as the home rule rewrote it).
    pub target: String,
    /// The mode.
    pub mode: Mode,
    /// `--skip-health`.
    pub skip_health: bool,
    /// What the host found at the source when it could not mount it: `missing` or
    /// `not-a-directory`.
    pub source_state: Option<String>,
    /// `--quantize`: the engine has written the target; finish it (sentinel, health, hash).
    pub quantized: bool,
}

/// `data` of `convert` (§3.5), in 2.0.8's key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConvertData {
    /// The source as given.
    pub source: String,
    /// The target as given.
    pub target: String,
    /// `repair-index` or `quantize`.
    pub mode: String,
    /// `false` with `--skip-health`.
    pub health_check: bool,
    /// A warning about the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// What was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `--quantize`: the bits asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// `--quantize`: the group size asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: Option<u32>,
    /// `healthy` or `unhealthy`, when the check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    /// The health reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_reason: Option<String>,
    /// The target's pinned content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// What the check decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ConvertPlan {
    /// Refused; the envelope's payload and error.
    Reply {
        /// The payload (boxed: it dwarfs the other variant).
        data: Box<ConvertData>,
        /// The error.
        error: crate::protocol::ErrorBody,
    },
    /// The host creates `target_dir` (with its parents) and runs the work; for
    /// `--quantize`, the engine creates it first.
    Write {
        /// The absolute target.
        target_dir: String,
    },
}

/// The outcome: the payload and the error, if any.
pub type Done = (ConvertData, Option<CoreError>);

/// The checks every mode shares (§3.2 steps 1–3), then the mode's own (§3.3 step 1).
fn check(
    req: &ConvertRequest,
    source: Option<&Workspaces>,
    target: Option<&Target>,
    cache_root: Option<&str>,
) -> Result<String, CoreError> {
    if req.source.trim().is_empty() {
        return Err(CoreError::ConvertValidation(
            "Invalid source path: empty".into(),
        ));
    }
    if req.target.trim().is_empty() {
        return Err(CoreError::ConvertValidation(
            "Invalid target path: empty".into(),
        ));
    }
    let Some(source) = source else {
        return Err(CoreError::ConvertValue(match req.source_state.as_deref() {
            Some("not-a-directory") => format!("Source must be a directory: {}", req.source),
            _ => format!("Source path does not exist: {}", req.source),
        }));
    };
    let Some(target) = target else {
        return Err(CoreError::Usage("convert needs its target mounted".into()));
    };
    let source_path = source.mount.name_of("");
    let target_path = target.mount.target_path();
    if let Some(root) = cache_root {
        if is_under(&source_path, root) {
            return Err(CoreError::ConvertValue(format!(
                "Source path is in HF cache (read-only): {source_path}\nConvert operates on workspaces only. Use 'mlxk clone' first to create a workspace:\n  mlxk clone <model> ./workspace\n  mlxk convert ./workspace ./workspace-fixed --repair-index"
            )));
        }
        if is_under(&target_path, root) {
            return Err(CoreError::ConvertValue(format!(
                "Target path is in HF cache (read-only): {target_path}\nConvert cannot write to cache. Choose workspace location outside cache:\n  mlxk convert {} ./fixed-workspace --repair-index",
                req.source
            )));
        }
    }
    if is_under(&target_path, &source_path) || is_under(&source_path, &target_path) {
        return Err(CoreError::ConvertValue(format!(
            "Target must not be inside the source or hold it: {}",
            req.target
        )));
    }
    if let Mode::Quantize { .. } = req.mode {
        if req.quantized {
            // The engine wrote the target; it is mounted itself now.
            return Ok(target_path);
        }
        let child = target.mount.child.as_deref().unwrap_or("");
        if !target.mount.parent_missing && target.fs.lstat(Path::new(child)).is_ok() {
            return Err(CoreError::ConvertValue(format!(
                "Target directory exists: {}\nQuantize requires target to NOT exist (mlx-lm creates it).\nDelete target or choose different path.",
                req.target
            )));
        }
        quantizable(&source.fs, &source_path)?;
        return Ok(target_path);
    }
    if !target.mount.parent_missing {
        let child = target.mount.child.as_deref().unwrap_or("");
        match target.fs.lstat(Path::new(child)) {
            Ok(st) if st.kind == Kind::Dir => {
                let empty = target
                    .fs
                    .read_dir(Path::new(child))
                    .is_ok_and(|e| e.is_empty());
                if !empty {
                    return Err(CoreError::ConvertValue(format!(
                        "Target directory not empty: {}\nConvert requires empty target workspace. Use different path or delete contents.",
                        req.target
                    )));
                }
            }
            Ok(_) => {
                return Err(CoreError::ConvertValue(format!(
                    "Target exists but is not a directory: {}",
                    req.target
                )));
            }
            Err(_) => {}
        }
    }
    Ok(target_path)
}

/// 2.0.8's classification before `--quantize` (§3.4 step 3, 5): text models go to
/// mlx-lm; vision models need mlx-vlm (not driven here), speech models are not supported,
/// other multimodal configs are refused, and a config naming custom code is never run.
fn quantizable(src: &CacheFs, source_path: &str) -> Result<(), CoreError> {
    const VISION: &[&str] = &[
        "gemma3", "gemma4", "idefics2", "idefics3", "llava", "mimo", "mistral3", "mllama",
        "pixtral", "qwen2_vl",
    ];
    let config = source_config(src);
    let model_type = config["model_type"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or("<unknown>");
    if VISION.contains(&model_type) {
        return Err(CoreError::NotImplemented(format!(
            "Quantization of vision model type '{model_type}' needs mlx-vlm, which this build does not drive."
        )));
    }
    if ["whisper", "vibevoice", "voxtral"].contains(&model_type) {
        return Err(CoreError::NotImplemented(format!(
            "Quantization of speech-to-text model type '{model_type}' is not currently supported."
        )));
    }
    if config["vision_config"].is_object() || config["audio_config"].is_object() {
        return Err(CoreError::UnsupportedMultimodal(format!(
            "Model type '{model_type}' is not in the verified multimodal list for convert --quantize. Verified: {}. See: https://github.com/mzau/mlx-knife/blob/2.0.8/docs/MODEL-COVERAGE.md",
            VISION.join(", ")
        )));
    }
    if let Some(module) = config["model_file"].as_str() {
        return Err(CoreError::UntrustedCode(format!(
            "The model at {source_path} requires importing and running a custom module ('{module}'). mlx-knife refuses to execute it."
        )));
    }
    Ok(())
}

/// The source's `config.json` (`null` when unreadable, as 2.0.8 reads it as `{}`).
fn source_config(src: &CacheFs) -> serde_json::Value {
    src.read_prefix(Path::new("config.json"), 32 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The warning 2.0.8 gives when the source is already quantized to fewer bits.
pub fn precision_warning(src: &CacheFs, bits: u32) -> Option<String> {
    let have = source_config(src)["quantization"]["bits"].as_u64()?;
    (u64::from(bits) > have).then(|| {
        format!("Source already {have}-bit. Quantizing to {bits}-bit does not increase precision.")
    })
}

/// Whether `path` is `root` or inside it (by components, as text).
fn is_under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    !root.is_empty() && (path == root || path.starts_with(&format!("{root}/")))
}

fn data_for(req: &ConvertRequest) -> ConvertData {
    ConvertData {
        source: req.source.clone(),
        target: req.target.clone(),
        mode: req.mode.as_str().into(),
        health_check: !req.skip_health,
        ..ConvertData::default()
    }
}

/// The check, for the host.
pub fn plan(
    req: &ConvertRequest,
    source: Option<&Workspaces>,
    target: Option<&Target>,
    cache_root: Option<&str>,
) -> ConvertPlan {
    match check(req, source, target, cache_root) {
        Ok(target_dir) => ConvertPlan::Write { target_dir },
        Err(e) => ConvertPlan::Reply {
            data: Box::new(data_for(req)),
            error: e.to_body(),
        },
    }
}

/// Does the work into the mounted, existing (empty) target.
pub fn run(
    req: &ConvertRequest,
    source: Option<&Workspaces>,
    target: Option<&Target>,
    cache_root: Option<&str>,
    now: SystemTime,
) -> Done {
    let mut data = data_for(req);
    let target_path = match check(req, source, target, cache_root) {
        Ok(p) => p,
        Err(e) => return (data, Some(e)),
    };
    let (Some(source), Some(target)) = (source, target) else {
        return (data, None);
    };
    let dst = &target.fs;

    // The sentinel first (2.0.8 writes it before copying), from a managed source's.
    let source_path = source.mount.name_of("");
    let from = Sentinel::read(&source.fs, Path::new("")).filter(Sentinel::managed);
    let stamp = crate::time::iso_utc_micros(now);
    let mut s = Sentinel::default();
    s.set("mlxk_version", super::SENTINEL_VERSION.into());
    s.set("created_at", stamp.clone().into());
    s.set(
        "source_repo",
        from.as_ref()
            .and_then(Sentinel::source_repo)
            .map_or_else(|| source_path.clone(), str::to_owned)
            .into(),
    );
    s.set(
        "source_revision",
        from.as_ref()
            .and_then(|f| f.fields.get("source_revision").cloned())
            .unwrap_or(serde_json::Value::Null),
    );
    s.set("managed", true.into());
    s.set("operation", "convert".into());
    s.set("mode", req.mode.as_str().into());
    if let Mode::Quantize { bits, group_size } = req.mode {
        s.set(
            "quantization",
            serde_json::json!({"bits": bits, "group_size": group_size}),
        );
        data.warning = precision_warning(&source.fs, bits);
    }
    if let Err(e) = s.write(dst, Path::new("")) {
        let msg = format!(
            "Failed to write workspace sentinel: {}",
            crate::fs::describe(&e)
        );
        return (data, Some(CoreError::ConvertValue(msg)));
    }

    if !req.quantized
        && let Err(e) = copy_source(&source.fs, dst)
    {
        return (data, Some(e));
    }

    match index::rebuild(dst) {
        Ok(index::Rebuilt::NothingToDo) => {
            data.message =
                Some("No index to rebuild (single-file model or no safetensors found)".into());
        }
        Ok(index::Rebuilt::Written) => data.message = Some("Index rebuilt successfully".into()),
        Err(e) => return (data, Some(CoreError::ConvertValue(e.to_string()))),
    }
    if let Mode::Quantize { bits, group_size } = req.mode {
        data.message = Some(format!("Quantized to {bits}-bit successfully"));
        data.bits = Some(bits);
        data.group_size = Some(group_size);
    }

    if !req.skip_health {
        let model = super::model::evaluate(dst, Path::new(""), &target_path);
        let health = model.eval.health;
        data.health_status = Some(
            if health.healthy {
                "healthy"
            } else {
                "unhealthy"
            }
            .into(),
        );
        data.health_reason = Some(health.reason.clone());
        if !health.healthy {
            return (data, Some(CoreError::HealthCheckFailed(health.reason)));
        }
    }

    if let Some((hash, index)) = pin(dst, &target_path) {
        s.set("hash_algorithm", content_hash::ALGORITHM.into());
        s.set("content_hash", hash.content_hash.clone().into());
        s.set("hash_modified", crate::time::iso_utc_micros(now).into());
        s.set("exclude_patterns", serde_json::json!(DEFAULT_PATTERNS));
        s.set("file_index", index);
        match s.write(dst, Path::new("")) {
            Ok(()) => data.content_hash = Some(hash.content_hash),
            Err(e) => crate::diagnostics::warn(format!(
                "Cannot update hash: failed to write workspace sentinel: {}",
                crate::fs::describe(&e)
            )),
        }
    }
    (data, None)
}

/// Copies every file of the source (subfolders included, links inside it resolved)
/// except its sentinel and the index that is being rebuilt; a link out of the source,
/// a dangling link or a special file stops the copy.
fn copy_source(src: &CacheFs, dst: &CacheFs) -> Result<(), CoreError> {
    let manifest = Manifest::walk(src, Path::new(""));
    if let Some((dir, error)) = manifest.unreadable_dirs.first() {
        return Err(CoreError::ConvertValue(format!(
            "Cannot read {dir} in the source: {error}"
        )));
    }
    let skip = [sentinel::FILE_NAME, sentinel::TMP_NAME, index::INDEX];
    let mut files = Vec::new();
    for e in &manifest.entries {
        if skip.contains(&e.path.as_str()) {
            continue;
        }
        match &e.state {
            Resolved::File { path, modified, .. } => files.push((e.path.as_str(), path, *modified)),
            Resolved::Dir => {}
            Resolved::Escapes { .. } => {
                return Err(CoreError::ConvertValue(format!(
                    "Symlink outside the source refused: {}",
                    e.path
                )));
            }
            Resolved::Dangling { target } => {
                return Err(CoreError::ConvertValue(format!(
                    "Dangling link in the source: {} -> {target}",
                    e.path
                )));
            }
            Resolved::Loop => {
                return Err(CoreError::ConvertValue(format!("Symlink loop: {}", e.path)));
            }
            Resolved::Special => {
                return Err(CoreError::ConvertValue(format!(
                    "Not a regular file: {}",
                    e.path
                )));
            }
            Resolved::Unreadable { error } => {
                return Err(CoreError::ConvertValue(format!(
                    "Cannot read {}: {error}",
                    e.path
                )));
            }
        }
    }
    let mut buf = Vec::new();
    for (rel, real, modified) in files {
        copy::copy_file(src, real, dst, Path::new(rel), modified, &mut buf).map_err(|e| {
            CoreError::ConvertValue(format!("Failed to copy {rel}: {}", crate::fs::describe(&e)))
        })?;
    }
    src.release();
    Ok(())
}

/// The human form (§3.5).
pub fn human(data: &ConvertData) -> String {
    let mut out = format!(
        "convert: {} \u{2192} {}\n  Mode: {}\n",
        data.source, data.target, data.mode
    );
    if let Some(w) = &data.warning {
        out.push_str(&format!("  \u{26a0} {w}\n"));
    }
    if let Some(m) = data.message.as_deref().filter(|m| !m.is_empty()) {
        out.push_str(&format!("  {m}\n"));
    }
    match data.health_status.as_deref() {
        Some("healthy") => out.push_str("  \u{2713} Health check: passed\n"),
        Some("unhealthy") => out.push_str(&format!(
            "  \u{2717} Health check: {}\n",
            data.health_reason.as_deref().unwrap_or("")
        )),
        _ => {}
    }
    out
}
