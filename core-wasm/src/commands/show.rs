//! `show model[@rev] [--files] [--config]`: one model in detail (reference §1.6, §4).

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::Outcome;
use crate::classify;
use crate::error::CoreError;
use crate::fs::CacheFs;
use crate::model::{self, Evaluation};
use crate::protocol::{CommandName, Envelope, FileEntry, ShowData};
use crate::render;
use crate::request::ShowArgs;
use crate::resolve;
use crate::scan;
use crate::workspace::home::Home;
use crate::workspace::model as ws_model;
use crate::workspace::mount::Workspaces;

/// Shows the model `args.model` names.
pub fn run(
    args: &ShowArgs,
    fs: &CacheFs,
    ws: Option<&Workspaces>,
    home: Option<&Home>,
    now: SystemTime,
) -> Outcome {
    if resolve::is_explicit_path(args.model.trim()) {
        return match ws.filter(|w| w.mount_is_workspace()) {
            Some(ws) => workspace(args, ws, now),
            None => failure(CoreError::ModelNotFound(args.model.clone())),
        };
    }
    // The workspace home comes before the cache (workspaces-reference §1.2 step 3).
    if let Some(h) = home
        && let Some(child) = h.find(&args.model)
    {
        return workspace(args, &h.child(&child), now);
    }
    let info = match scan::scan_cache(fs) {
        Ok(info) => info,
        Err(e) => return failure(e),
    };
    let spec = &args.model;
    let (repo, revision) = match resolve::resolve(fs, &info, spec).into_found(spec) {
        Ok(found) => found,
        Err(e) => return failure(e),
    };
    let eval = model::evaluate(fs, &repo, revision.as_deref());
    let data = show_data(&eval, args);
    Outcome {
        human: render::show::text(&data, crate::time::unix_seconds(now)),
        exit_code: None,
        envelope: Envelope::success(CommandName::Show, data),
    }
}

/// `show <workspace>` (workspaces-reference §1.8): the model object of the folder, its whole
/// sentinel as `workspace_metadata` (`{}` without one), then files, config or metadata.
fn workspace(args: &ShowArgs, ws: &Workspaces, now: SystemTime) -> Outcome {
    let root = std::path::Path::new("");
    let name = ws.mount.name_of("");
    // The hash is re-pinned before the model is evaluated, so this answer shows it.
    let updated = args.recalc_hash && crate::workspace::recalc::recalc(&ws.fs, root, &name, now);
    let model = ws_model::evaluate(&ws.fs, root, &name);
    let mut data = show_data(&model.eval, args);
    data.workspace_metadata = Some(model.metadata());
    data.hash_updated = updated.then_some(true);
    let mut human = render::show::text(&data, crate::time::unix_seconds(now));
    human.push_str(&render::show::workspace_block(
        model.sentinel.as_ref(),
        &model.clean,
    ));
    if updated {
        human.push_str("\nHash recalculated and stored (workspace now marked as clean)\n");
    }
    Outcome {
        human,
        exit_code: None,
        envelope: Envelope::success(CommandName::Show, data),
    }
}

fn failure(e: CoreError) -> Outcome {
    Outcome {
        envelope: Envelope::failure(Some(CommandName::Show), e.to_body(), Value::Null),
        human: String::new(),
        exit_code: None,
    }
}

fn show_data(eval: &Evaluation, args: &ShowArgs) -> ShowData {
    let mut model = eval.object.clone();
    model.quantization = eval
        .files
        .config()
        .and_then(|c| c.get("quantization"))
        .filter(|q| q.is_object())
        .cloned();
    let (files, config, metadata) = if args.files {
        (Some(file_entries(eval)), None, None)
    } else if args.config {
        let config = match &eval.files.config {
            crate::manifest::JsonFile::Parsed(v) => v.clone(),
            _ => Value::Null,
        };
        (None, Some(config), None)
    } else {
        (None, None, eval.files.config().and_then(metadata))
    };
    ShowData {
        model,
        workspace_metadata: None,
        hash_updated: None,
        files,
        config,
        metadata,
    }
}

/// Regular files of the snapshot (links to files count), in path order.
fn file_entries(eval: &Evaluation) -> Vec<FileEntry> {
    eval.manifest
        .entries
        .iter()
        .filter_map(|e| {
            let size = e.file_size()?;
            Some(FileEntry {
                name: e.name().to_owned(),
                path: e.path.clone(),
                size: file_size_text(size),
                kind: file_kind(e.name()),
            })
        })
        .collect()
}

/// Reference §4.7: decimal units, one decimal, no TB.
pub fn file_size_text(size: u64) -> String {
    let s = size as f64;
    if s >= 1e9 {
        format!("{:.1}GB", s / 1e9)
    } else if s >= 1e6 {
        format!("{:.1}MB", s / 1e6)
    } else if s >= 1e3 {
        format!("{:.1}KB", s / 1e3)
    } else {
        format!("{size}B")
    }
}

/// Reference §4.7 file types.
pub fn file_kind(name: &str) -> &'static str {
    if name == "config.json" {
        "config"
    } else if name.ends_with(".safetensors") || name.ends_with(".bin") || name.ends_with(".gguf") {
        "weights"
    } else if name.to_lowercase().contains("tokenizer") {
        "tokenizer"
    } else if name.ends_with(".json") {
        "config"
    } else if name == "README.md" {
        "readme"
    } else {
        "other"
    }
}

/// Reference §4.6: selected config keys, in this order, each only when present.
fn metadata(config: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let copy = |out: &mut Map<String, Value>, key: &str| {
        if let Some(v) = config.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    };
    copy(&mut out, "model_type");
    if let Some(arch) = config
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        out.insert("architecture".into(), arch.clone());
    }
    if let Some(bits) = config
        .get("quantization_config")
        .and_then(|q| q.get("bits"))
        .filter(|b| !b.is_null())
    {
        let bits = match bits {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert("quantization".into(), Value::String(format!("{bits}bit")));
    }
    if let Some(ctx) = classify::context_length(config) {
        out.insert("context_length".into(), Value::from(ctx));
    }
    for key in [
        "vocab_size",
        "hidden_size",
        "num_attention_heads",
        "num_hidden_layers",
    ] {
        copy(&mut out, key);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_and_sizes() {
        assert_eq!(file_kind("config.json"), "config");
        assert_eq!(file_kind("tokenizer_config.json"), "tokenizer");
        assert_eq!(file_kind("model-00001-of-00002.safetensors"), "weights");
        assert_eq!(file_kind("special_tokens_map.json"), "config");
        assert_eq!(file_kind("README.md"), "readme");
        assert_eq!(file_kind("LICENSE"), "other");
        assert_eq!(file_size_text(20), "20B");
        assert_eq!(file_size_text(5000), "5.0KB");
        assert_eq!(file_size_text(2_500_000_000_000), "2500.0GB");
    }
}
