//! `list` on real caches: the model object of mlxk-reference §1.3/§1.4, asserted field by
//! field through the real CLI (wasmtime).

use serde_json::{Value, json};
use tests::zoo::{self, A, B};
use tests::{CacheFixture, cli, cli_json, safetensors};

fn model<'a>(env: &'a Value, name: &str) -> &'a Value {
    env["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

#[test]
fn lists_every_model_sorted_and_nothing_else() {
    // mlxk-reference §9 items 2, 3, 53 (sentinel hidden), §1.4 sort order.
    let fx = zoo::zoo();
    let (code, env) = cli_json(&["list", "--all"], fx.path());
    assert_eq!(code, 0);
    let names: Vec<&str> = env["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "TheBloke/Llama-2-7B-Chat-GGUF",
            "evil/config-escape",
            "evil/escape",
            "microsoft/DialoGPT-small",
            "mlx-community/Phi-3-mini-4k-instruct-4bit",
            "mlx-community/llava-test-4bit",
            "org/-bad",
            "org/dangling",
            "org/empty-snapshots",
            "org/interrupted",
            "org/lfs",
            "org/loop",
            "org/main-named",
            "org/m\u{f6}del-\u{65e5}\u{672c}",
            "org/no-snapshots-dir",
            "org/sharded",
            "org/sharded-missing",
            "org/twosnaps",
            "win/copies",
        ]
    );
    assert_eq!(env["data"]["count"], 19);
    assert_eq!(env["data"]["system"], Value::Null);
    assert_eq!(env["error"], Value::Null);
}

#[test]
fn model_object_has_every_field_in_order() {
    // mlxk-reference §1.3 and §9 item 21.
    let fx = zoo::zoo();
    let (_, env) = cli_json(&["list", "Phi-3"], fx.path());
    let m = model(&env, "mlx-community/Phi-3-mini-4k-instruct-4bit");
    let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "name",
            "hash",
            "size_bytes",
            "last_modified",
            "framework",
            "model_type",
            "capabilities",
            "context_length",
            "health",
            "runtime_compatible",
            "reason",
            "cached",
            "origin",
            "content_hash",
            "hash_modified",
            "clean"
        ]
    );
    let blob_sum: u64 = std::fs::read_dir(
        fx.path()
            .join("models--mlx-community--Phi-3-mini-4k-instruct-4bit/blobs"),
    )
    .unwrap()
    .map(|e| e.unwrap().metadata().unwrap().len())
    .sum();
    assert_eq!(m["size_bytes"], blob_sum);
    assert_eq!(m["hash"], A);
    assert_eq!(m["last_modified"], "2023-11-14T22:13:20Z");
    assert_eq!(m["framework"], "MLX");
    assert_eq!(m["model_type"], "chat");
    assert_eq!(m["capabilities"], json!(["text-generation", "chat"]));
    assert_eq!(m["context_length"], 4096);
    assert_eq!(m["health"], "healthy");
    assert_eq!(m["runtime_compatible"], true);
    assert_eq!(m["reason"], Value::Null);
    assert_eq!(m["cached"], true);
}

#[test]
fn frameworks_and_reasons_of_the_reference_examples() {
    // mlxk-reference §9 items 22, 23, 17, 47, 48.
    let fx = zoo::zoo();
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    let gguf = model(&env, "TheBloke/Llama-2-7B-Chat-GGUF");
    assert_eq!(
        (gguf["framework"].as_str(), gguf["model_type"].as_str()),
        (Some("GGUF"), Some("chat"))
    );
    assert_eq!(gguf["reason"], "Incompatible framework: GGUF");
    let pt = model(&env, "microsoft/DialoGPT-small");
    assert_eq!(pt["reason"], "Incompatible framework: PyTorch");
    assert_eq!(pt["model_type"], "base");
    let main = model(&env, "org/main-named");
    assert_eq!(
        main["hash"],
        Value::Null,
        "a snapshot named `main` has no hash"
    );
    assert_eq!(main["health"], "healthy");
    assert_eq!(
        model(&env, "org/no-snapshots-dir")["reason"],
        "No snapshots directory found"
    );
    assert_eq!(
        model(&env, "org/empty-snapshots")["reason"],
        "No snapshots found"
    );
    assert_eq!(model(&env, "org/empty-snapshots")["size_bytes"], 0);
    let llava = model(&env, "mlx-community/llava-test-4bit");
    assert_eq!(
        llava["reason"],
        "Vision model missing preprocessor_config.json or processor_config.json"
    );
    assert_eq!(
        llava["capabilities"],
        json!(["text-generation", "chat", "vision"])
    );
    assert!(
        model(&env, "org/sharded-missing")["reason"]
            .as_str()
            .unwrap()
            .starts_with(
                "Index/shard mismatch (mlx-vlm #624). Index references 2 shards but found 1"
            )
    );
    assert_eq!(
        model(&env, "org/lfs")["reason"],
        "LFS pointers instead of files: model.safetensors"
    );
    assert_eq!(
        model(&env, "org/interrupted")["reason"],
        "Interrupted download: blobs/0123abcd.1a2b3c4d.incomplete"
    );
    assert_eq!(model(&env, "org/loop")["reason"], "Symlink loop: a.json");
}

#[test]
fn refs_main_selects_the_snapshot_even_when_older() {
    // PRODUCT.md difference 4: refs/main wins over the newest folder.
    let fx = zoo::zoo();
    let (_, env) = cli_json(&["list", "--all", "twosnaps"], fx.path());
    let m = model(&env, "org/twosnaps");
    assert_eq!(m["hash"], A);
    assert_eq!(m["health"], "healthy");

    // Without refs/main, the newest snapshot folder is chosen (§9 item 18).
    let fx = CacheFixture::new();
    let repo = fx.model("org/two");
    repo.snapshot(A)
        .file("config.json", zoo::cfg("llama"))
        .file("model.safetensors", safetensors(4));
    repo.snapshot(B).file("model.safetensors", safetensors(4));
    fx.freeze_mtimes();
    repo.snapshot(A).mtime(1_700_000_000);
    repo.snapshot(B).mtime(1_710_000_000);
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    let m = model(&env, "org/two");
    assert_eq!(m["hash"], B);
    assert_eq!(m["reason"], "config.json missing");
    assert_eq!(m["last_modified"], "2024-03-09T16:00:00Z");
}

#[test]
fn pattern_is_a_case_insensitive_substring_of_the_full_name() {
    // mlxk-reference §9 items 14, 15.
    let fx = zoo::zoo();
    let count = |p: &str| cli_json(&["list", "--all", p], fx.path()).1["data"]["count"].clone();
    assert_eq!(count("PHI"), 1);
    assert_eq!(count("mlx-community/"), 2);
    assert_eq!(count(" "), 19);
    assert_eq!(count("Phi@aaa"), 0);
    assert_eq!(count("M\u{d6}DEL"), 1);
}

#[test]
fn default_human_list_shows_healthy_runnable_models_only() {
    // mlxk-reference §7.2 (filter, short names, trailing padding kept).
    let fx = zoo::zoo();
    let run = cli(&["list"], Some(fx.path()));
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout_text(),
        "Name                        | Hash    | Size | Modified   | Src   | Type\n\
         ----------------------------+---------+------+------------+-------+-----\n\
         Phi-3-mini-4k-instruct-4bit | aaaaaaa | 366B | 2023-11-14 | cache | chat\n"
    );
}

#[test]
fn non_ascii_names_are_escaped_like_python() {
    let fx = zoo::zoo();
    let run = cli(&["list", "--all", "--json", "del-"], Some(fx.path()));
    assert!(
        run.stdout_text()
            .contains(r#""name": "org/m\u00f6del-\u65e5\u672c""#)
    );
    assert!(run.stdout.is_ascii());
}

#[test]
fn empty_cache_human_output_is_header_and_rule() {
    // mlxk-reference §9 item 16.
    let fx = CacheFixture::new();
    let run = cli(&["list"], Some(fx.path()));
    assert_eq!(
        run.stdout_text(),
        "Name | Hash | Size | Modified | Src | Type\n-----+------+------+----------+-----+-----\n"
    );
}

#[test]
fn a_human_list_says_how_many_models_it_hides_and_how_to_see_them() {
    let fx = tests::zoo::zoo();
    let (_, all) = tests::cli_json(&["list", "--all"], fx.path());
    let models = all["data"]["models"].as_array().unwrap();
    let hidden = models
        .iter()
        .filter(|m| !(m["health"] == "healthy" && m["runtime_compatible"] == true))
        .count();
    assert!(hidden > 1, "the zoo has models the table hides");
    let run = tests::cli(&["list"], Some(fx.path()));
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stderr_text(),
        format!("{hidden} more models are not MLX-runnable or not healthy: mlxk list --all\n")
    );
    // With a pattern, the hint repeats it; one hidden model is singular.
    let one = models.iter().find(|m| m["health"] != "healthy").unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let matching = tests::cli_json(&["list", &one], fx.path()).1["data"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !(m["health"] == "healthy" && m["runtime_compatible"] == true))
        .count();
    let counted = if matching == 1 {
        "1 more model is".to_owned()
    } else {
        format!("{matching} more models are")
    };
    assert!(matching >= 1);
    assert_eq!(
        tests::cli(&["list", &one], Some(fx.path())).stderr_text(),
        format!("{counted} not MLX-runnable or not healthy: mlxk list {one} --all\n")
    );
    // Nothing on stderr with --all, nor in JSON (the data says it).
    assert_eq!(
        tests::cli(&["list", "--all"], Some(fx.path())).stderr_text(),
        ""
    );
    assert_eq!(
        tests::cli(&["list", "--json"], Some(fx.path())).stderr_text(),
        ""
    );
}
