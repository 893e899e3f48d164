//! What kind of model a snapshot holds: framework, model type, capabilities, context
//! length (reference §4.2–§4.4, §1.3). Pure functions of the name, the manifest and the
//! descriptor files; nothing here reads the disk.

use serde_json::{Map, Value};

use crate::manifest::ModelFiles;
use crate::snapshot::Manifest;

/// Config `model_type`s that make a model a vision chat model.
pub const VISION_MODEL_TYPES: &[&str] = &[
    "llava",
    "llava_next",
    "pixtral",
    "qwen2_vl",
    "phi3_v",
    "mllama",
    "paligemma",
    "idefics",
    "smolvlm",
];

/// Encoders recognised as embedding models besides the runnable `bert`.
const DECLARED_ENCODERS: &[&str] = &["xlm-roberta", "modernbert", "nomic_bert"];

/// Config keys that carry the context window, in priority order.
const CONTEXT_KEYS: &[&str] = &[
    "max_position_embeddings",
    "n_positions",
    "context_length",
    "max_sequence_length",
    "seq_len",
];

/// The classification of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// `MLX`, `GGUF`, `PyTorch`, `Unknown`.
    pub framework: &'static str,
    /// `chat`, `base`, `embedding`, `audio`.
    pub model_type: &'static str,
    /// Canonical order: text-generation, chat, vision, audio; or embeddings; or audio.
    pub capabilities: Vec<&'static str>,
    /// From config.json.
    pub context_length: Option<u64>,
}

impl Classification {
    /// Whether the `vision` capability is present.
    pub fn is_vision(&self) -> bool {
        self.capabilities.contains(&"vision")
    }
}

/// Classifies a model called `name` (`org/name`) from its snapshot.
pub fn classify(name: &str, manifest: &Manifest, files: &ModelFiles) -> Classification {
    let lname = name.to_lowercase();
    let model_type = model_type(&lname, manifest, files);
    Classification {
        framework: framework(name, manifest, files),
        model_type,
        capabilities: capabilities(model_type, &lname, manifest, files),
        context_length: files.config().and_then(context_length),
    }
}

fn has_suffix(manifest: &Manifest, suffix: &str) -> bool {
    manifest.entries.iter().any(|e| e.name().ends_with(suffix))
}

fn framework(name: &str, manifest: &Manifest, files: &ModelFiles) -> &'static str {
    if name.contains("mlx-community/")
        || files.readme_says_mlx
        || files
            .config()
            .is_some_and(|c| c.contains_key("quantization"))
    {
        "MLX"
    } else if has_suffix(manifest, ".gguf") {
        "GGUF"
    } else if has_suffix(manifest, ".safetensors")
        || manifest
            .entries
            .iter()
            .any(|e| e.name().starts_with("pytorch_model") && e.name().ends_with(".bin"))
    {
        "PyTorch"
    } else {
        "Unknown"
    }
}

fn model_type(lname: &str, manifest: &Manifest, files: &ModelFiles) -> &'static str {
    let mt = files.config_model_type().unwrap_or("");
    if is_embedding(lname, files.config(), mt) {
        return "embedding";
    }
    if mt == "chat" || VISION_MODEL_TYPES.contains(&mt) {
        return "chat";
    }
    if ["whisper", "vibevoice", "voxtral"]
        .iter()
        .any(|k| mt.contains(k))
    {
        return "audio";
    }
    if files.has_chat_template()
        || manifest.is_file("chat_template.json")
        || manifest.is_file("chat_template.jinja")
        || name_says_chat(lname)
    {
        return "chat";
    }
    "base"
}

fn name_says_chat(lname: &str) -> bool {
    lname.contains("instruct") || lname.contains("chat")
}

/// Whether the config describes a causal (decoder) model: a `*ForCausalLM`
/// architecture, or a `qwen3`/`mistral` model type.
pub fn is_causal_decoder(config: Option<&Map<String, Value>>, mt: &str) -> bool {
    mt == "qwen3"
        || mt == "mistral"
        || config
            .and_then(|c| c.get("architectures"))
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .any(|s| s.contains("ForCausalLM"))
            })
}

/// Config-first embedder detection (reference 2.0.7+).
fn is_embedding(lname: &str, config: Option<&Map<String, Value>>, mt: &str) -> bool {
    let named = lname.contains("embed");
    (is_causal_decoder(config, mt) && named) || mt == "bert" || DECLARED_ENCODERS.contains(&mt)
}

fn capabilities(
    model_type: &'static str,
    lname: &str,
    manifest: &Manifest,
    files: &ModelFiles,
) -> Vec<&'static str> {
    match model_type {
        "embedding" => return vec!["embeddings"],
        "audio" => {
            let mut caps = vec!["audio"];
            let mt = files.config_model_type().unwrap_or("");
            if mt.contains("whisper") && !lname.contains(".en") && !lname.contains("turbo") {
                caps.push("audio-translate-en");
            }
            return caps;
        }
        _ => {}
    }
    let mut caps = vec!["text-generation"];
    if model_type == "chat" || name_says_chat(lname) || files.has_chat_template() {
        caps.push("chat");
    }
    if is_vision(manifest, files) {
        caps.push("vision");
    }
    if is_audio(files) {
        caps.push("audio");
    }
    caps
}

fn non_empty_object(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|o| !o.is_empty())
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn is_video_processor(obj: &Map<String, Value>) -> bool {
    obj.get("processor_class").and_then(Value::as_str) == Some("AutoVideoProcessor")
}

/// The vision signals of reference §4.4, in its order.
pub fn is_vision(manifest: &Manifest, files: &ModelFiles) -> bool {
    if let Some(cfg) = files.config() {
        let mt = cfg.get("model_type").and_then(Value::as_str).unwrap_or("");
        if non_empty_object(cfg.get("vision_config"))
            || VISION_MODEL_TYPES.contains(&mt)
            || truthy(cfg.get("image_processor"))
            || cfg
                .get("preprocessor_config")
                .and_then(Value::as_object)
                .is_some_and(|p| !is_video_processor(p))
        {
            return true;
        }
    }
    let has_processor_file = manifest.entries.iter().any(|e| {
        matches!(
            e.name(),
            "preprocessor_config.json" | "processor_config.json" | "image_processor_config.json"
        )
    });
    if !has_processor_file
        || manifest
            .entries
            .iter()
            .any(|e| e.name() == "video_preprocessor_config.json")
    {
        return false;
    }
    !files
        .preprocessor()
        .is_some_and(|p| is_video_processor(p) || p.contains_key("temporal_patch_size"))
}

fn is_audio(files: &ModelFiles) -> bool {
    let cfg = files.config();
    let mt = files.config_model_type().unwrap_or("");
    non_empty_object(cfg.and_then(|c| c.get("audio_config")))
        || ["gemma3n", "voxtral", "whisper", "vibevoice", "audio"]
            .iter()
            .any(|k| mt.contains(k))
        || files
            .preprocessor()
            .and_then(|p| p.get("feature_extractor_type"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_lowercase().contains("whisper"))
}

/// The first positive integer among the context keys, top level first, then `text_config`.
pub fn context_length(config: &Map<String, Value>) -> Option<u64> {
    let first = |obj: &Map<String, Value>| {
        CONTEXT_KEYS
            .iter()
            .filter_map(|k| obj.get(*k))
            .find_map(|v| v.as_u64().filter(|n| *n > 0))
    };
    first(config).or_else(|| config.get("text_config")?.as_object().and_then(first))
}
