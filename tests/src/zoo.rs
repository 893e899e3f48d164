//! The "zoo": one cache holding every shape the list/health/show rules distinguish, used
//! by the parity table so each case runs on something non-trivial.

use crate::fixture::{CacheFixture, safetensors};

/// Commit names used across the zoo.
pub const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A second commit.
pub const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A config.json body.
pub fn cfg(model_type: &str) -> String {
    format!(r#"{{"model_type":"{model_type}","hidden_size":64,"max_position_embeddings":2048}}"#)
}

/// A secret that must never appear in any output (planted outside the cache).
pub const SECRET: &str = "TOP-SECRET-4f1c2e9a";

/// Builds the zoo. Every mtime is frozen at 2023-11-14 so human ages print as dates.
pub fn zoo() -> CacheFixture {
    let fx = CacheFixture::new();
    let w = safetensors(16);

    fx.model("mlx-community/Phi-3-mini-4k-instruct-4bit")
        .git_ref("main", A)
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"phi3","quantization":{"bits":4,"group_size":64},"max_position_embeddings":4096,"architectures":["Phi3ForCausalLM"]}"#,
        )
        .file("model.safetensors", &w)
        .file("tokenizer.json", "{}")
        .file("tokenizer_config.json", r#"{"chat_template":"{{ messages }}"}"#)
        .file("README.md", "---\nlibrary_name: mlx\n---\n# Phi\n");

    fx.model("TheBloke/Llama-2-7B-Chat-GGUF")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("llama-2-7b-chat.Q4_0.gguf", b"GGUF\x03\x00\x00\x00 weights");

    fx.model("microsoft/DialoGPT-small")
        .snapshot(A)
        .file("config.json", cfg("gpt2"))
        .file("pytorch_model.bin", vec![7u8; 300]);

    fx.model("org/sharded")
        .git_ref("main", A)
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file(
            "model.safetensors.index.json",
            r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
        )
        .file("model-00001-of-00002.safetensors", safetensors(8))
        .file("model-00002-of-00002.safetensors", safetensors(9));

    fx.model("org/sharded-missing")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file(
            "model.safetensors.index.json",
            r#"{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#,
        )
        .file("model-00001-of-00002.safetensors", safetensors(8));

    fx.model("org/lfs")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .plain_file(
            "model.safetensors",
            "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n",
        );

    fx.model("mlx-community/llava-test-4bit")
        .snapshot(A)
        .file(
            "config.json",
            r#"{"model_type":"llava","vision_config":{"x":1}}"#,
        )
        .file("model.safetensors", &w);

    let two = fx.model("org/twosnaps");
    two.snapshot(A)
        .file("config.json", cfg("qwen2"))
        .file("model.safetensors", &w)
        .mtime(1_690_000_000);
    two.snapshot(B).file("model.safetensors", &w);
    two.git_ref("main", A);

    fx.model("org/no-snapshots-dir").raw_blob("x", b"orphan");
    std::fs::create_dir_all(fx.model("org/empty-snapshots").path().join("snapshots")).unwrap();

    fx.model("org/main-named")
        .snapshot("main")
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w);

    fx.model("org/m\u{f6}del-\u{65e5}\u{672c}")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w);

    // Malformed folder names still list (reference §9 item 2).
    std::fs::create_dir_all(fx.path().join("models--org---bad/snapshots")).unwrap();

    // The no-symlink layout (Windows without developer mode).
    fx.model("win/copies")
        .snapshot(A)
        .plain_file("config.json", cfg("mistral"))
        .plain_file("model.safetensors", &w)
        .plain_file("sub/extra.txt", "nested");

    // Interrupted download: a blob the snapshot never got.
    fx.model("org/interrupted")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w);
    fx.model("org/interrupted")
        .raw_blob("0123abcd.1a2b3c4d.incomplete", &[0u8; 40]);

    fx.model("org/dangling")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w)
        .link("tokenizer.json", "../../blobs/does-not-exist");

    // Links out of the cache, relative and absolute, to a file holding a secret.
    let secret = fx.outside().join("outside_secret.txt");
    std::fs::write(&secret, SECRET).unwrap();
    fx.model("evil/escape")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w)
        .link("README.md", "../../../../outside_secret.txt")
        .link("abs.json", secret.to_str().unwrap());
    fx.model("evil/config-escape")
        .snapshot(A)
        .link("config.json", "../../../../outside_secret.txt")
        .file("model.safetensors", &w);

    fx.model("org/loop")
        .snapshot(A)
        .file("config.json", cfg("llama"))
        .file("model.safetensors", &w)
        .link("a.json", "b.json")
        .link("b.json", "a.json");

    fx.model("TEST-CACHE-SENTINEL--mlxk2-safety-check")
        .snapshot(A)
        .file("config.json", r#"{"model_type":"test_sentinel"}"#);

    // Things at the root that are not model repos.
    fx.repo("datasets", "x/y")
        .snapshot(A)
        .file("data.csv", "a,b\n");
    std::fs::write(fx.path().join("file-not-dir"), "x").unwrap();
    std::fs::write(fx.path().join("models--stray-file"), "x").unwrap();
    fx.model("org/sharded").lock("abc.lock");

    fx.freeze_mtimes();
    fx
}

/// Revisions A and B of 800 files each (half shared between them), with tree files and no
/// refs: a removal slow enough to be killed half-way.
pub fn many_files(fx: &CacheFixture, id: &str) -> crate::Repo {
    let repo = fx.model(id);
    for (rev, salt) in [(A, "a"), (B, "b")] {
        let snap = repo.snapshot(rev);
        snap.file("config.json", cfg("llama"))
            .file("model.safetensors", safetensors(64));
        for i in 0..800 {
            let own = if i % 2 == 0 { "shared" } else { salt };
            snap.file(&format!("extra/f{i:04}.json"), format!("{{\"{own}\":{i}}}"));
        }
        snap.tree();
    }
    repo
}
