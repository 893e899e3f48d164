//! mlxk-reference §9, items 1–53 and 75–80: each edge case on a real on-disk cache, run
//! through the real CLI (wasmtime). Each test is named after its item and asserts the
//! reference's envelope and reason string, or the documented difference of PRODUCT.md
//! where that changes it (noted as "difference N").

use serde_json::{Value, json};
use tests::zoo::{A, B, cfg};
use tests::{CacheFixture, cli, cli_json, safetensors};

const LLAMA: &str = r#"{"model_type":"llama"}"#;

fn w() -> Vec<u8> {
    safetensors(16)
}

/// `show <spec> --json`.
fn show(fx: &CacheFixture, spec: &str) -> (i32, Value) {
    cli_json(&["show", spec], fx.path())
}

/// The reason `health <name>` gives.
fn reason(fx: &CacheFixture, name: &str) -> String {
    tests::health_reason(fx.path(), name)
}

/// A model with config and one weight file in snapshot A; returns the snapshot.
fn basic(fx: &CacheFixture, name: &str) -> tests::Snapshot {
    let s = fx.model(name).snapshot(A);
    s.file("config.json", LLAMA).file("model.safetensors", w());
    s
}

fn names(env: &Value) -> Vec<String> {
    env["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

fn list_model(fx: &CacheFixture, name: &str) -> Value {
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    env["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in {env:#}"))
}

// ---- Naming and resolution ----

#[test]
fn item_01_folder_names_round_trip() {
    let fx = CacheFixture::new();
    basic(&fx, "org/sub/model");
    basic(&fx, "single-model");
    assert!(fx.path().join("models--org--sub--model").is_dir());
    assert!(fx.path().join("models--single-model").is_dir());
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    assert_eq!(names(&env), ["org/sub/model", "single-model"]);
    assert_eq!(
        show(&fx, "org/sub/model").1["data"]["model"]["name"],
        "org/sub/model"
    );
}

#[test]
fn item_02_malformed_folders_list_without_crashing() {
    let fx = CacheFixture::new();
    std::fs::create_dir_all(fx.path().join("models--org---bad/snapshots").join(A)).unwrap();
    std::fs::create_dir_all(fx.path().join("models--org----model/snapshots").join(A)).unwrap();
    let (code, env) = cli_json(&["list", "--all"], fx.path());
    assert_eq!(code, 0);
    // Code-point order: '-' (0x2d) sorts before '/' (0x2f).
    assert_eq!(names(&env), ["org/-bad", "org//model"]);
}

#[test]
fn item_03_non_model_entries_are_not_listed() {
    let fx = CacheFixture::new();
    std::fs::write(fx.path().join("file-not-dir"), "x").unwrap();
    std::fs::create_dir_all(fx.path().join(".locks/models--a--b")).unwrap();
    fx.repo("datasets", "x/y")
        .snapshot(A)
        .file("data.csv", "a\n");
    basic(&fx, "org/real");
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    assert_eq!(names(&env), ["org/real"]);
}

#[test]
fn item_04_expansion_and_substring_give_the_same_object() {
    let fx = CacheFixture::new();
    basic(&fx, "mlx-community/Phi-3-mini-4k-instruct-4bit");
    let (c1, by_short) = show(&fx, "Phi-3-mini-4k-instruct-4bit");
    let (c2, by_fuzzy) = show(&fx, "Phi-3");
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(
        by_short["data"]["model"]["name"],
        "mlx-community/Phi-3-mini-4k-instruct-4bit"
    );
    assert_eq!(by_short, by_fuzzy);
}

#[test]
fn item_05_expansion_beats_substring() {
    let fx = CacheFixture::new();
    basic(&fx, "mlx-community/Y");
    basic(&fx, "other/Y");
    assert_eq!(show(&fx, "Y").1["data"]["model"]["name"], "mlx-community/Y");
}

#[test]
fn item_06_unique_short_name_wins_over_substring_difference_2() {
    let fx = CacheFixture::new();
    basic(&fx, "other/X");
    basic(&fx, "other/X-v2");
    basic(&fx, "mlx-community/Y");
    // The reference reports ambiguity here; difference 2 prefers the unique short name.
    let (code, env) = show(&fx, "X");
    assert_eq!(code, 0);
    assert_eq!(env["data"]["model"]["name"], "other/X");
    // A plain substring that several names contain stays ambiguous, matches sorted.
    let (code, env) = show(&fx, "x");
    assert_eq!(
        code, 0,
        "x is also the short name of other/X, case-insensitively"
    );
    let (code, env2) = show(&fx, "o");
    assert_eq!(code, 1);
    assert_eq!(env2["error"]["type"], "ambiguous_match");
    assert_eq!(
        env2["error"]["matches"],
        json!(["mlx-community/Y", "other/X", "other/X-v2"])
    );
    assert_eq!(env2["data"], Value::Null);
    assert_eq!(env["data"]["model"]["name"], "other/X");
}

#[test]
fn item_07_exact_name_wins() {
    let fx = CacheFixture::new();
    basic(&fx, "org/sharded");
    basic(&fx, "org/sharded-missing");
    assert_eq!(
        show(&fx, "org/sharded").1["data"]["model"]["name"],
        "org/sharded"
    );
}

#[test]
fn item_08_ambiguous_matches_are_sorted_difference_2() {
    let fx = CacheFixture::new();
    basic(&fx, "org/sharded-missing");
    basic(&fx, "org/sharded");
    // The reference found `sharded` ambiguous; it is the unique exact short name here.
    assert_eq!(
        show(&fx, "sharded").1["data"]["model"]["name"],
        "org/sharded"
    );
    let (code, env) = show(&fx, "shard");
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "ambiguous_match");
    assert_eq!(env["error"]["message"], "Multiple models match 'shard'");
    assert_eq!(
        env["error"]["matches"],
        json!(["org/sharded", "org/sharded-missing"])
    );
    assert_eq!(env["data"], Value::Null);
}

#[test]
fn item_09_substring_is_case_insensitive() {
    let fx = CacheFixture::new();
    basic(&fx, "other/X");
    basic(&fx, "other/X-v2");
    assert_eq!(show(&fx, "x-V2").1["data"]["model"]["name"], "other/X-v2");
}

fn twosnaps(fx: &CacheFixture) {
    let r = fx.model("org/twosnaps");
    r.snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", w())
        .mtime(1_700_000_000);
    r.snapshot(B)
        .file("model.safetensors", w())
        .mtime(1_710_000_000);
}

#[test]
fn item_10_revision_prefix_selects_the_snapshot() {
    let fx = CacheFixture::new();
    twosnaps(&fx);
    let (code, env) = show(&fx, "twosnaps@bbb");
    assert_eq!(code, 0);
    assert_eq!(env["data"]["model"]["hash"], B);
}

#[test]
fn item_11_unknown_revision_is_model_not_found() {
    let fx = CacheFixture::new();
    twosnaps(&fx);
    let (code, env) = show(&fx, "org/twosnaps@zzz");
    assert_eq!(code, 1);
    assert_eq!(env["error"]["type"], "model_not_found");
    // The reference's words, then (additively) what is cached instead.
    assert_eq!(
        env["error"]["message"],
        "No model found matching 'org/twosnaps@zzz': no such revision is cached (available: aaaaaaaa, bbbbbbbb)"
    );
    assert_eq!(
        env["error"]["available_hashes"],
        json!(["aaaaaaaa", "bbbbbbbb"])
    );
    assert_eq!(env["data"], Value::Null);
}

#[test]
fn item_12_empty_names_match_nothing() {
    let fx = CacheFixture::new();
    basic(&fx, "org/a");
    for spec in ["", " ", "@aaa"] {
        let (code, env) = show(&fx, spec);
        assert_eq!(code, 1, "{spec:?}");
        assert_eq!(env["error"]["type"], "model_not_found", "{spec:?}");
        assert_eq!(
            env["error"]["message"],
            format!("No model found matching '{spec}'")
        );
    }
}

#[test]
fn item_13_revision_applies_to_the_resolved_name_only_difference_3() {
    let fx = CacheFixture::new();
    basic(&fx, "org/sharded-missing");
    basic(&fx, "org/sharded");
    // The reference returned org/sharded-missing (first in directory order).
    let (_, env) = show(&fx, "org/sharded@aaaa");
    assert_eq!(env["data"]["model"]["name"], "org/sharded");
    assert_eq!(env["data"]["model"]["hash"], A);
}

#[test]
fn item_14_list_pattern_is_a_case_insensitive_substring() {
    let fx = CacheFixture::new();
    basic(&fx, "mlx-community/Phi-3-mini-4k-instruct-4bit");
    basic(&fx, "mlx-community/Qwen3-4bit");
    basic(&fx, "org/other");
    let count = |p: &str| {
        cli_json(&["list", "--all", p], fx.path()).1["data"]["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count("PHI"), 1);
    assert_eq!(count("mlx-community/"), 2);
    assert_eq!(count(" "), 3);
}

#[test]
fn item_15_list_has_no_revision_syntax() {
    let fx = CacheFixture::new();
    basic(&fx, "mlx-community/Phi-3-mini-4k-instruct-4bit");
    let (code, env) = cli_json(&["list", "Phi@aaa"], fx.path());
    assert_eq!((code, &env["data"]["count"]), (0, &json!(0)));
}

// ---- list/show object fields ----

#[test]
fn item_16_empty_or_missing_cache_lists_nothing() {
    let fx = CacheFixture::new();
    let (code, env) = cli_json(&["list"], fx.path());
    assert_eq!(
        (code, &env["data"]["models"], &env["data"]["count"]),
        (0, &json!([]), &json!(0))
    );
    // A missing `hub/` under HF_HOME (a named --cache-dir must exist: safety.rs).
    let home = fx.outside().join("nope");
    let env_vars = [("HF_HOME", home.as_path())];
    let run = tests::runners::cli_with("mlxk", &["list", "--json"], None, &env_vars);
    assert_eq!((run.code, &run.json()["data"]["count"]), (0, &json!(0)));
    let human = tests::runners::cli_with("mlxk", &["list"], None, &env_vars);
    assert_eq!(
        human.stdout_text().lines().count(),
        2,
        "header and rule only"
    );
}

#[test]
fn item_17_a_snapshot_named_main_is_selected_difference_4() {
    let fx = CacheFixture::new();
    let s = fx.model("org/main-only").snapshot("main");
    s.file("config.json", LLAMA).file("model.safetensors", w());
    fx.model("org/main-only").raw_blob("orphan", &[1u8; 1000]);
    fx.freeze_mtimes();
    let m = list_model(&fx, "org/main-only");
    // One snapshot rule everywhere: the only snapshot is used (the reference's list fell
    // back to the whole repo folder); its name is not a hash.
    assert_eq!(m["hash"], Value::Null);
    let snapshot_bytes = (LLAMA.len() + w().len()) as u64;
    assert_eq!(m["size_bytes"], snapshot_bytes);
    assert_eq!(m["last_modified"], "2023-11-14T22:13:20Z");
    assert_eq!(m["health"], "healthy");
}

#[test]
fn item_18_newest_snapshot_without_refs_main() {
    let fx = CacheFixture::new();
    let r = fx.model("org/two");
    r.snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", w());
    r.snapshot(B).file("model.safetensors", w());
    fx.freeze_mtimes();
    r.snapshot(A).mtime(1_700_000_000);
    r.snapshot(B).mtime(1_710_000_000);
    let m = list_model(&fx, "org/two");
    assert_eq!(m["hash"], B);
    assert_eq!(m["reason"], "config.json missing");
}

#[test]
fn item_19_last_modified_is_true_utc_difference_1() {
    let fx = CacheFixture::new();
    basic(&fx, "org/t");
    fx.freeze_mtimes();
    let m = list_model(&fx, "org/t");
    assert_eq!(m["last_modified"], "2023-11-14T22:13:20Z");
}

#[test]
fn item_20_size_follows_links_into_blobs() {
    let fx = CacheFixture::new();
    fx.model("org/s")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", vec![9u8; 4321]);
    let m = list_model(&fx, "org/s");
    assert_eq!(m["size_bytes"], (LLAMA.len() + 4321) as u64);
    assert!(m.get("size").is_none());
}

fn phi(fx: &CacheFixture) {
    fx.model("mlx-community/Phi-3-mini-4k-instruct-4bit")
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"phi3","quantization":{"bits":4,"group_size":64},"max_position_embeddings":4096,"architectures":["Phi3ForCausalLM"],"vocab_size":32064,"hidden_size":3072,"num_attention_heads":32,"num_hidden_layers":32}"#,
        )
        .file("model.safetensors", w())
        .file("tokenizer.json", "{}")
        .file("tokenizer_config.json", r#"{"chat_template":"{{ x }}"}"#);
}

#[test]
fn item_21_mlx_community_quantized_chat_model() {
    let fx = CacheFixture::new();
    phi(&fx);
    let (_, env) = show(&fx, "Phi-3");
    let m = &env["data"]["model"];
    assert_eq!(
        (m["framework"].as_str(), m["model_type"].as_str()),
        (Some("MLX"), Some("chat"))
    );
    assert_eq!(m["capabilities"], json!(["text-generation", "chat"]));
    assert_eq!(
        (m["health"].as_str(), m["runtime_compatible"].as_bool()),
        (Some("healthy"), Some(true))
    );
    assert_eq!(m["context_length"], 4096);
    assert_eq!(m["quantization"], json!({"bits": 4, "group_size": 64}));
    assert_eq!(
        env["data"]["metadata"],
        json!({"model_type": "phi3", "architecture": "Phi3ForCausalLM", "context_length": 4096,
               "vocab_size": 32064, "hidden_size": 3072, "num_attention_heads": 32, "num_hidden_layers": 32})
    );
    assert_eq!(env["data"]["workspace_metadata"], Value::Null);
}

#[test]
fn item_22_gguf_is_healthy_but_not_runnable() {
    let fx = CacheFixture::new();
    fx.model("TheBloke/Llama-2-7B-Chat-GGUF")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("q4_0.gguf", b"GGUF weights");
    let m = list_model(&fx, "TheBloke/Llama-2-7B-Chat-GGUF");
    assert_eq!(
        (
            m["framework"].as_str(),
            m["model_type"].as_str(),
            m["health"].as_str()
        ),
        (Some("GGUF"), Some("chat"), Some("healthy"))
    );
    assert_eq!(
        (m["runtime_compatible"].as_bool(), m["reason"].as_str()),
        (Some(false), Some("Incompatible framework: GGUF"))
    );
}

#[test]
fn item_23_pytorch_bin_model() {
    let fx = CacheFixture::new();
    fx.model("microsoft/DialoGPT-small")
        .snapshot(A)
        .file("config.json", cfg("gpt2"))
        .file("pytorch_model.bin", vec![1u8; 500]);
    let m = list_model(&fx, "microsoft/DialoGPT-small");
    assert_eq!(
        (
            m["framework"].as_str(),
            m["model_type"].as_str(),
            m["health"].as_str()
        ),
        (Some("PyTorch"), Some("base"), Some("healthy"))
    );
    assert_eq!(m["reason"], "Incompatible framework: PyTorch");
}

#[test]
fn item_24_private_mlx_models_by_card_or_quantization() {
    let fx = CacheFixture::new();
    basic(&fx, "acme/private-mlx").file("README.md", "---\nlibrary_name: mlx\n---\n# x\n");
    fx.model("acme/quant-mlx")
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"llama","quantization":{"bits":4}}"#,
        )
        .file("model.safetensors", w());
    for name in ["acme/private-mlx", "acme/quant-mlx"] {
        let m = list_model(&fx, name);
        assert_eq!(m["framework"], "MLX", "{name}");
        assert_eq!(m["runtime_compatible"], true, "{name}: {}", m["reason"]);
    }
}

#[test]
fn item_25_bert_is_an_embedding_model() {
    let fx = CacheFixture::new();
    fx.model("BAAI/bge-small-en-v1.5")
        .snapshot(A)
        .file("config.json", cfg("bert"))
        .file("model.safetensors", w());
    fx.model("mlx-community/bge-small-en-v1.5")
        .snapshot(A)
        .file("config.json", cfg("bert"))
        .file("model.safetensors", w());
    let m = list_model(&fx, "BAAI/bge-small-en-v1.5");
    assert_eq!(
        (m["model_type"].as_str(), m["framework"].as_str()),
        (Some("embedding"), Some("PyTorch"))
    );
    assert_eq!(m["capabilities"], json!(["embeddings"]));
    assert_eq!(m["runtime_compatible"], false);
    assert_eq!(
        list_model(&fx, "mlx-community/bge-small-en-v1.5")["runtime_compatible"],
        true
    );
}

#[test]
fn item_26_other_encoders_are_not_vendored() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/xlmr-embed")
        .snapshot(A)
        .file("config.json", cfg("xlm-roberta"))
        .file("model.safetensors", w());
    let m = list_model(&fx, "mlx-community/xlmr-embed");
    assert_eq!(m["model_type"], "embedding");
    assert_eq!(m["runtime_compatible"], false);
    assert_eq!(
        m["reason"],
        "Embedding encoder not vendored: xlm-roberta \u{2014} use bge/e5 or Qwen3-Embedding"
    );
}

#[test]
fn item_27_whisper_is_audio() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/whisper-large-v3-mlx")
        .snapshot(A)
        .file("config.json", cfg("whisper"))
        .file("model.safetensors", w());
    let m = list_model(&fx, "mlx-community/whisper-large-v3-mlx");
    assert_eq!(m["model_type"], "audio");
    assert_eq!(m["capabilities"], json!(["audio", "audio-translate-en"]));
}

#[test]
fn item_28_legacy_weight_names() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/legacy-weights")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("weights.00.safetensors", w());
    let m = list_model(&fx, "mlx-community/legacy-weights");
    assert_eq!(
        (m["health"].as_str(), m["runtime_compatible"].as_bool()),
        (Some("healthy"), Some(false))
    );
    assert_eq!(m["reason"], "Legacy format not supported by mlx-lm");
    let human = cli(&["show", "legacy-weights"], Some(fx.path()));
    assert!(
        human
            .stdout_text()
            .contains("Health: healthy (files OK, runtime incompatible)\n"),
        "{}",
        human.stdout_text()
    );
}

#[test]
fn item_29_config_without_model_type() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/no-type")
        .snapshot(A)
        .file("config.json", r#"{"hidden_size":1}"#)
        .file("model.safetensors", w());
    let m = list_model(&fx, "mlx-community/no-type");
    assert_eq!(
        (m["health"].as_str(), m["reason"].as_str()),
        (
            Some("healthy"),
            Some("config.json missing model_type field")
        )
    );
}

#[test]
fn item_30_unsupported_and_remapped_model_types() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/foo")
        .snapshot(A)
        .file("config.json", cfg("foobar"))
        .file("model.safetensors", w());
    fx.model("mlx-community/mis")
        .snapshot(A)
        .file("config.json", cfg("mistral"))
        .file("model.safetensors", w());
    assert_eq!(
        list_model(&fx, "mlx-community/foo")["reason"],
        "Model type foobar not supported."
    );
    assert_eq!(
        list_model(&fx, "mlx-community/mis")["runtime_compatible"],
        true
    );
}

#[test]
fn item_31_model_file_needs_remote_code() {
    let fx = CacheFixture::new();
    fx.model("mlx-community/custom")
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"llama","model_file":"x.py"}"#,
        )
        .file("model.safetensors", w());
    assert_eq!(
        list_model(&fx, "mlx-community/custom")["reason"],
        "requires executing model-supplied code (config.json: model_file)"
    );
}

#[test]
fn item_32_files_wins_over_config() {
    let fx = CacheFixture::new();
    phi(&fx);
    let (_, env) = cli_json(&["show", "Phi-3", "--files", "--config"], fx.path());
    let keys: Vec<&String> = env["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "workspace_metadata", "files", "metadata"]);
    assert_eq!(env["data"]["metadata"], Value::Null);
    let blob = |name: &str| {
        let snap = fx
            .path()
            .join("models--mlx-community--Phi-3-mini-4k-instruct-4bit/snapshots")
            .join(A);
        format!("{}B", std::fs::metadata(snap.join(name)).unwrap().len())
    };
    assert_eq!(
        env["data"]["files"],
        json!([
            {"name": "config.json", "size": blob("config.json"), "type": "config"},
            {"name": "model.safetensors", "size": blob("model.safetensors"), "type": "weights"},
            {"name": "tokenizer.json", "size": "2B", "type": "tokenizer"},
            {"name": "tokenizer_config.json", "size": blob("tokenizer_config.json"), "type": "tokenizer"}
        ])
    );
}

#[test]
fn item_33_config_view() {
    let fx = CacheFixture::new();
    phi(&fx);
    let (_, env) = cli_json(&["show", "Phi-3", "--config"], fx.path());
    let keys: Vec<&String> = env["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "workspace_metadata", "config", "metadata"]);
    assert_eq!(
        env["data"]["config"]["quantization"],
        json!({"bits": 4, "group_size": 64})
    );
    assert_eq!(env["data"]["metadata"], Value::Null);
}

// ---- Health ----

#[test]
fn item_34_config_missing() {
    let fx = CacheFixture::new();
    fx.model("org/noconfig")
        .snapshot(A)
        .file("model.safetensors", w());
    assert_eq!(reason(&fx, "org/noconfig"), "config.json missing");
}

#[test]
fn item_35_config_invalid_or_empty() {
    let fx = CacheFixture::new();
    fx.model("org/bad")
        .snapshot(A)
        .file("config.json", "invalid json {")
        .file("model.safetensors", w());
    fx.model("org/empty")
        .snapshot(A)
        .file("config.json", "{}")
        .file("model.safetensors", w());
    assert_eq!(reason(&fx, "org/bad"), "config.json contains invalid JSON");
    assert_eq!(reason(&fx, "org/empty"), "config.json is empty or invalid");
}

const INDEX2: &str = r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#;

fn sharded(fx: &CacheFixture, name: &str) -> tests::Snapshot {
    let s = fx.model(name).snapshot(A);
    s.file("config.json", LLAMA)
        .file("model.safetensors.index.json", INDEX2);
    s
}

#[test]
fn item_36_complete_index() {
    let fx = CacheFixture::new();
    sharded(&fx, "org/s")
        .file("model-00001-of-00002.safetensors", safetensors(3))
        .file("model-00002-of-00002.safetensors", safetensors(4));
    assert_eq!(reason(&fx, "org/s"), "Multi-file model complete");
}

#[test]
fn item_37_partial_index_download() {
    let fx = CacheFixture::new();
    sharded(&fx, "org/s").file("model-00001-of-00002.safetensors", safetensors(3));
    assert_eq!(
        reason(&fx, "org/s"),
        "Index/shard mismatch (mlx-vlm #624). Index references 2 shards but found 1 different files. Fix: mlxk convert <model> <output> --repair-index"
    );
}

#[test]
fn item_38_index_without_any_safetensors_is_ignored() {
    let fx = CacheFixture::new();
    sharded(&fx, "org/s");
    assert_eq!(reason(&fx, "org/s"), "No model weights found");
}

#[test]
fn item_39_empty_indexed_shard() {
    let fx = CacheFixture::new();
    sharded(&fx, "org/s")
        .file("model-00001-of-00002.safetensors", safetensors(3))
        .file("model-00002-of-00002.safetensors", b"");
    assert_eq!(
        reason(&fx, "org/s"),
        "Empty weight shards: model-00002-of-00002.safetensors"
    );
}

const POINTER: &str = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";

#[test]
fn item_40_indexed_shard_is_an_lfs_pointer() {
    let fx = CacheFixture::new();
    sharded(&fx, "org/s")
        .file("model-00001-of-00002.safetensors", safetensors(3))
        .plain_file("model-00002-of-00002.safetensors", POINTER);
    assert_eq!(
        reason(&fx, "org/s"),
        "LFS pointers instead of files: model-00002-of-00002.safetensors"
    );
}

#[test]
fn item_41_pattern_shards_without_index() {
    let fx = CacheFixture::new();
    let s = fx.model("org/s").snapshot(A);
    s.file("config.json", LLAMA);
    for i in 1..=3 {
        s.file(
            &format!("model-0000{i}-of-00003.safetensors"),
            safetensors(i),
        );
    }
    assert_eq!(
        reason(&fx, "org/s"),
        "Safetensors index missing for sharded model"
    );
}

#[test]
fn item_42_missing_pattern_shard() {
    let fx = CacheFixture::new();
    fx.model("org/s")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model-00001-of-00003.safetensors", safetensors(1))
        .file("model-00003-of-00003.safetensors", safetensors(3));
    assert_eq!(
        reason(&fx, "org/s"),
        "Missing shards by pattern: 2/3 present"
    );
}

#[test]
fn item_43_single_weight_is_an_lfs_pointer() {
    let fx = CacheFixture::new();
    fx.model("org/s")
        .snapshot(A)
        .file("config.json", LLAMA)
        .plain_file("model.safetensors", POINTER);
    assert_eq!(
        reason(&fx, "org/s"),
        "LFS pointers instead of files: model.safetensors"
    );
}

#[test]
fn item_44_partial_markers() {
    let fx = CacheFixture::new();
    basic(&fx, "org/p").plain_file("model.safetensors.partial.tmp", "x");
    basic(&fx, "org/i").plain_file("foo.incomplete", "x");
    assert_eq!(reason(&fx, "org/p"), "Partial download marker detected");
    assert_eq!(reason(&fx, "org/i"), "Model is healthy");
}

#[test]
fn item_45_zero_byte_weight() {
    let fx = CacheFixture::new();
    fx.model("org/z")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", b"");
    assert_eq!(
        reason(&fx, "org/z"),
        "Empty weight files: model.safetensors"
    );
}

#[test]
fn item_46_pytorch_index() {
    let fx = CacheFixture::new();
    let idx = r#"{"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}"#;
    let s = fx.model("org/pt").snapshot(A);
    s.file("config.json", LLAMA)
        .file("pytorch_model.bin.index.json", idx)
        .file("pytorch_model-00001-of-00002.bin", vec![1u8; 300]);
    assert_eq!(
        reason(&fx, "org/pt"),
        "Missing weight shards: pytorch_model-00002-of-00002.bin"
    );
    s.file("pytorch_model-00002-of-00002.bin", vec![2u8; 300]);
    assert_eq!(reason(&fx, "org/pt"), "Multi-file model complete");
}

#[test]
fn item_47_repos_without_snapshots_are_listed() {
    let fx = CacheFixture::new();
    std::fs::create_dir_all(fx.model("org/nosnapdir").path().join("refs")).unwrap();
    std::fs::create_dir_all(fx.model("org/emptysnaps").path().join("snapshots")).unwrap();
    assert_eq!(reason(&fx, "org/nosnapdir"), "No snapshots directory found");
    assert_eq!(reason(&fx, "org/emptysnaps"), "No snapshots found");
    for name in ["org/nosnapdir", "org/emptysnaps"] {
        let m = list_model(&fx, name);
        assert_eq!(
            (&m["hash"], &m["size_bytes"], &m["framework"]),
            (&Value::Null, &json!(0), &json!("Unknown")),
            "{name}"
        );
    }
}

#[test]
fn item_48_vision_model_without_processor() {
    let fx = CacheFixture::new();
    fx.model("org/vis")
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"llama","vision_config":{"a":1}}"#,
        )
        .file("model.safetensors", w());
    assert_eq!(
        reason(&fx, "org/vis"),
        "Vision model missing preprocessor_config.json or processor_config.json"
    );
    let human = cli(&["list", "--all"], Some(fx.path()));
    assert!(
        human.stdout_text().contains("| base+vision"),
        "{}",
        human.stdout_text()
    );
}

#[test]
fn item_49_tokenizer_config_without_tokenizer() {
    let fx = CacheFixture::new();
    basic(&fx, "org/t").file("tokenizer_config.json", "{}");
    assert_eq!(
        reason(&fx, "org/t"),
        "tokenizer_config.json present but tokenizer.json missing"
    );
}

#[test]
fn item_50_health_of_nothing_is_an_empty_success() {
    let fx = CacheFixture::new();
    basic(&fx, "org/a");
    let (code, env) = cli_json(&["health", "nonexistent"], fx.path());
    assert_eq!(code, 0);
    assert_eq!(env["status"], "success");
    assert_eq!(
        env["data"],
        json!({"healthy": [], "unhealthy": [], "summary": {"total": 0, "healthy_count": 0, "unhealthy_count": 0}})
    );
    let human = cli(&["health", "nonexistent"], Some(fx.path()));
    assert_eq!(
        (human.code, human.stdout_text()),
        (0, "Summary: total 0, healthy 0, unhealthy 0\n".to_owned())
    );
}

#[test]
fn item_51_ambiguous_health_keeps_the_empty_structure() {
    let fx = CacheFixture::new();
    basic(&fx, "org/sharded");
    basic(&fx, "org/sharded-missing");
    let (code, env) = cli_json(&["health", "shard"], fx.path());
    assert_eq!(code, 1);
    let keys: Vec<&String> = env.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["status", "command", "error", "data"]);
    assert_eq!(
        env["error"]["matches"],
        json!(["org/sharded", "org/sharded-missing"])
    );
    assert_eq!(env["data"]["summary"]["total"], 0);
    let human = cli(&["health", "shard"], Some(fx.path()));
    assert_eq!(human.code, 1);
    assert_eq!(
        String::from_utf8_lossy(&human.stderr),
        // The original's line, then (a difference) the candidates JSON carries.
        "health: Error: Multiple models match 'shard'\n\
         Candidates (name one exactly, or as org/name@rev):\n  org/sharded\n  org/sharded-missing\n"
    );
}

#[test]
fn item_52_health_honours_the_revision_difference_3() {
    let fx = CacheFixture::new();
    twosnaps(&fx);
    // The reference checked the newest snapshot whatever @rev said.
    assert_eq!(reason(&fx, "org/twosnaps@aaaa"), "Model is healthy");
    assert_eq!(reason(&fx, "org/twosnaps@bbbb"), "config.json missing");
}

#[test]
fn item_53_health_counts_every_model_but_the_sentinel() {
    let fx = CacheFixture::new();
    for n in ["a/one", "b/two", "c/three"] {
        basic(&fx, n);
    }
    fx.model("org/broken")
        .snapshot(A)
        .file("model.safetensors", w());
    basic(&fx, "TEST-CACHE-SENTINEL--mlxk2-safety-check");
    let (_, env) = cli_json(&["health"], fx.path());
    let s = &env["data"]["summary"];
    assert_eq!(
        (
            s["total"].as_u64(),
            s["healthy_count"].as_u64(),
            s["unhealthy_count"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    let human = cli(&["health"], Some(fx.path()));
    assert!(
        human.stdout_text().starts_with(
            "Summary: total 4, healthy 3, unhealthy 1\nhealthy   a/one \u{2014} Model is healthy\n"
        ),
        "{}",
        human.stdout_text()
    );
}

// ---- More health cases ----

#[test]
fn item_75_bad_index_files() {
    let fx = CacheFixture::new();
    fx.model("org/nope")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors.index.json", "nope")
        .file("model.safetensors", w());
    fx.model("org/emptymap")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors.index.json", r#"{"weight_map":{}}"#)
        .file("model.safetensors", w());
    assert_eq!(reason(&fx, "org/nope"), "Invalid index file");
    assert_eq!(
        reason(&fx, "org/emptymap"),
        "Empty or invalid weight_map in index"
    );
}

#[test]
fn item_76_shard_totals_and_empty_shards() {
    let fx = CacheFixture::new();
    fx.model("org/mixed")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model-00001-of-00002.safetensors", safetensors(1))
        .file("model-00002-of-00003.safetensors", safetensors(2));
    fx.model("org/emptyshard")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model-00001-of-00002.safetensors", safetensors(1))
        .file("model-00002-of-00002.safetensors", b"");
    assert_eq!(
        reason(&fx, "org/mixed"),
        "Inconsistent shard totals detected"
    );
    assert_eq!(
        reason(&fx, "org/emptyshard"),
        "Empty shards: model-00002-of-00002.safetensors"
    );
}

#[test]
fn item_77_any_bin_is_a_weight() {
    let fx = CacheFixture::new();
    fx.model("org/args")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("training_args.bin", vec![1u8; 300]);
    assert_eq!(reason(&fx, "org/args"), "Model is healthy");
}

#[test]
fn item_78_incomplete_in_the_snapshot_is_not_a_marker() {
    let fx = CacheFixture::new();
    basic(&fx, "org/x").plain_file("x.incomplete", "partial bytes");
    assert_eq!(reason(&fx, "org/x"), "Model is healthy");
}

#[test]
fn item_79_small_non_weight_lfs_pointer() {
    let fx = CacheFixture::new();
    fx.model("org/tok")
        .snapshot(A)
        .file("config.json", LLAMA)
        .file("model.safetensors", vec![3u8; 300])
        .plain_file("tokenizer.json", POINTER);
    assert_eq!(
        reason(&fx, "org/tok"),
        "LFS pointers instead of files: tokenizer.json"
    );
}

#[test]
fn item_80_invalid_tokenizer_and_processor_configs() {
    let fx = CacheFixture::new();
    basic(&fx, "org/tc")
        .file("tokenizer_config.json", "not json")
        .file("tokenizer.json", "{}");
    fx.model("org/llava")
        .snapshot(A)
        .file("config.json", cfg("llava"))
        .file("model.safetensors", w())
        .file("preprocessor_config.json", "bad");
    assert_eq!(
        reason(&fx, "org/tc"),
        "tokenizer_config.json contains invalid JSON"
    );
    assert_eq!(
        reason(&fx, "org/llava"),
        "preprocessor_config.json invalid JSON"
    );
}

// ---- Human show output (mlxk-reference §7.4) ----

#[test]
fn show_human_output_matches_section_7_4() {
    let fx = CacheFixture::new();
    phi(&fx);
    fx.freeze_mtimes();
    let size = list_model(&fx, "mlx-community/Phi-3-mini-4k-instruct-4bit")["size_bytes"]
        .as_u64()
        .unwrap();
    assert!(
        size < 1000,
        "the fixture stays under 1 kB, so its size prints as bytes"
    );
    let run = cli(&["show", "Phi-3"], Some(fx.path()));
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout_text(),
        format!(
            "Model: mlx-community/Phi-3-mini-4k-instruct-4bit@aaaaaaa\n\
             Framework: MLX\n\
             Type: chat\n\
             Capabilities: text-generation, chat\n\
             Quantization: 4-bit (group_size=64)\n\
             Size: {size}B\n\
             Modified: 2023-11-14\n\
             Health: healthy\n\
             \n\
             Metadata:\n  model_type: phi3\n  architecture: Phi3ForCausalLM\n  context_length: 4096\n  \
             vocab_size: 32064\n  hidden_size: 3072\n  num_attention_heads: 32\n  num_hidden_layers: 32\n"
        )
    );
    let config = cli(&["show", "Phi-3", "--config"], Some(fx.path())).stdout_text();
    assert!(
        config.contains(
            "\nConfig:\n  model_type: phi3\n  quantization: {'bits': 4, 'group_size': 64}\n"
        ),
        "{config}"
    );
    assert!(
        config.contains("  architectures: ['Phi3ForCausalLM']\n"),
        "{config}"
    );
    let files = cli(&["show", "Phi-3", "--files"], Some(fx.path())).stdout_text();
    assert!(
        files.contains("\nFiles:\n  - config.json (config, "),
        "{files}"
    );
    let missing = cli(&["show", "nothing-here"], Some(fx.path()));
    assert_eq!(missing.code, 1);
    assert!(missing.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "show: Error: No model found matching 'nothing-here'\n"
    );
}
