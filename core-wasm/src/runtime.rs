//! Whether mlx-lm could run a model: the gate order of reference §3.6 over a static,
//! documented table of supported `model_type`s.
//!
//! The reference imports `mlx_lm.models.<type>` to decide; a Rust core cannot. The table
//! below is the module list of mlx-lm 0.31.3 (helper modules excluded), and the remaps are
//! the ones mlx-lm applies before that import. Updating support is editing this table.

use serde_json::Value;

use crate::classify::Classification;
use crate::manifest::ModelFiles;
use crate::snapshot::Manifest;

/// `model_type`s mlx-lm 0.31.3 can load (its `mlx_lm/models/` modules).
pub const MLX_LM_MODEL_TYPES: &[&str] = &[
    "Klear",
    "afm7",
    "afmoe",
    "apertus",
    "baichuan_m1",
    "bailing_moe",
    "bailing_moe_linear",
    "bitnet",
    "cohere",
    "cohere2",
    "dbrx",
    "deepseek",
    "deepseek_v2",
    "deepseek_v3",
    "deepseek_v32",
    "dots1",
    "ernie4_5",
    "ernie4_5_moe",
    "exaone",
    "exaone4",
    "exaone_moe",
    "falcon_h1",
    "gemma",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "gemma3n",
    "gemma4",
    "gemma4_text",
    "glm",
    "glm4",
    "glm4_moe",
    "glm4_moe_lite",
    "glm_moe_dsa",
    "gpt2",
    "gpt_bigcode",
    "gpt_neox",
    "gpt_oss",
    "granite",
    "granitemoe",
    "granitemoehybrid",
    "helium",
    "hunyuan",
    "hunyuan_v1_dense",
    "internlm2",
    "internlm3",
    "iquestloopcoder",
    "jamba",
    "kimi_k25",
    "kimi_linear",
    "kimi_vl",
    "lfm2-vl",
    "lfm2",
    "lfm2_moe",
    "lille-130m",
    "llama",
    "llama4",
    "llama4_text",
    "longcat_flash",
    "longcat_flash_ngram",
    "mamba",
    "mamba2",
    "mimo",
    "mimo_v2_flash",
    "minicpm",
    "minicpm3",
    "minimax",
    "ministral3",
    "mistral3",
    "mixtral",
    "nanochat",
    "nemotron-nas",
    "nemotron",
    "nemotron_h",
    "olmo",
    "olmo2",
    "olmo3",
    "olmoe",
    "openelm",
    "phi",
    "phi3",
    "phi3small",
    "phimoe",
    "phixtral",
    "pixtral",
    "plamo",
    "plamo2",
    "qwen",
    "qwen2",
    "qwen2_moe",
    "qwen2_vl",
    "qwen3",
    "qwen3_5",
    "qwen3_5_moe",
    "qwen3_moe",
    "qwen3_next",
    "qwen3_vl",
    "qwen3_vl_moe",
    "recurrent_gemma",
    "rwkv7",
    "seed_oss",
    "smollm3",
    "solar_open",
    "stablelm",
    "starcoder2",
    "step3p5",
    "telechat3",
    "youtu_llm",
];

/// mlx-lm's `MODEL_REMAPPING` (0.31.3): config `model_type` → module name.
pub const MLX_LM_REMAP: &[(&str, &str)] = &[
    ("mistral", "llama"),
    ("llava", "mistral3"),
    ("phi-msft", "phixtral"),
    ("falcon_mamba", "mamba"),
    ("joyai_llm_flash", "deepseek_v3"),
    ("kimi_k2", "deepseek_v3"),
    ("qwen2_5_vl", "qwen2_vl"),
    ("minimax_m2", "minimax"),
    ("iquestcoder", "llama"),
];

/// Whether mlx-lm has a module for this config `model_type` (after its remap).
pub fn mlx_lm_supports(model_type: &str) -> bool {
    let module = MLX_LM_REMAP
        .iter()
        .find(|(from, _)| *from == model_type)
        .map_or(model_type, |(_, to)| to);
    MLX_LM_MODEL_TYPES.contains(&module)
}

/// Runtime gates for a healthy model: `None` when runnable, else the reason.
pub fn runtime_reason(
    class: &Classification,
    manifest: &Manifest,
    files: &ModelFiles,
) -> Option<String> {
    if class.framework != "MLX" {
        return Some(format!("Incompatible framework: {}", class.framework));
    }
    let config = files.config();
    if config
        .and_then(|c| c.get("model_file"))
        .is_some_and(|v| !v.is_null())
    {
        return Some("requires executing model-supplied code (config.json: model_file)".into());
    }
    let mt = files.config_model_type().unwrap_or("");
    if class.model_type == "audio" {
        if !(mt.contains("whisper") || mt.contains("vibevoice")) {
            return Some(format!(
                "Model type '{mt}' not supported (supported: whisper, vibevoice)"
            ));
        }
        if manifest.is_file("tekken.json") && !manifest.is_file("tokenizer.json") {
            return Some("Voxtral tekken.json tokenizer not supported by mlx-audio".into());
        }
        return None;
    }
    if class.model_type == "embedding" {
        return if crate::classify::is_causal_decoder(config, mt) || mt == "bert" {
            None
        } else {
            Some(format!(
                "Embedding encoder not vendored: {mt} \u{2014} use bge/e5 or Qwen3-Embedding"
            ))
        };
    }
    text_reason(manifest, files)
}

fn is_legacy_weight(name: &str) -> bool {
    let digits_between = |s: &str, pre: &str, suf: &str| {
        s.strip_prefix(pre)
            .and_then(|r| r.strip_suffix(suf))
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    };
    digits_between(name, "weights.", ".safetensors")
        || digits_between(name, "pytorch_model-", ".safetensors")
}

/// The mlx-lm text check: legacy weight names, then the config's model type.
fn text_reason(manifest: &Manifest, files: &ModelFiles) -> Option<String> {
    let top: Vec<&str> = manifest
        .entries
        .iter()
        .filter(|e| e.is_top_level() && e.name().ends_with(".safetensors"))
        .map(|e| e.name())
        .collect();
    if !top.is_empty()
        && !top
            .iter()
            .any(|n| *n == "model.safetensors" || crate::health::shard_pattern(n).is_some())
        && top.iter().any(|n| is_legacy_weight(n))
    {
        return Some("Legacy format not supported by mlx-lm".into());
    }
    let config = match &files.config {
        crate::manifest::JsonFile::Missing => {
            return Some("config.json missing (required for model_type detection)".into());
        }
        crate::manifest::JsonFile::Parsed(v) => v,
        other => {
            let detail = other
                .problem("config.json")
                .unwrap_or_else(|| "invalid JSON".into());
            return Some(format!("Failed to read config.json: {detail}"));
        }
    };
    let Some(mt) = config.get("model_type").and_then(Value::as_str) else {
        return Some("config.json missing model_type field".into());
    };
    if mlx_lm_supports(mt) {
        None
    } else {
        Some(format!("Model type {mt} not supported."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaps_apply_before_lookup() {
        assert!(mlx_lm_supports("mistral"));
        assert!(mlx_lm_supports("llava"));
        assert!(mlx_lm_supports("phi3"));
        assert!(!mlx_lm_supports("foobar"));
        assert!(!mlx_lm_supports("base"));
    }

    #[test]
    fn legacy_names() {
        assert!(is_legacy_weight("weights.00.safetensors"));
        assert!(is_legacy_weight("pytorch_model-1.safetensors"));
        assert!(!is_legacy_weight("model.safetensors"));
        assert!(!is_legacy_weight("weights..safetensors"));
    }
}
