//! The sandbox: nothing outside the cache is ever read, through any runtime. Files
//! outside the cache carry markers that would change the output if they were followed
//! (an MLX model card, a config with an odd context length), so a leak cannot hide.

use std::fs;

use serde_json::Value;
use tests::zoo::{A, SECRET};
use tests::{CacheFixture, cli, native, node_batch, safetensors};

const CONTEXT_MARKER: u64 = 31_337;

fn escaping_cache() -> CacheFixture {
    let fx = CacheFixture::new();
    let outside = fx.outside();
    fs::write(
        outside.join("card.md"),
        format!("---\nlibrary_name: mlx\n---\n{SECRET}\n"),
    )
    .unwrap();
    fs::write(
        outside.join("config.json"),
        format!(r#"{{"model_type":"llama","max_position_embeddings":{CONTEXT_MARKER},"note":"{SECRET}"}}"#),
    )
    .unwrap();
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::write(outside.join("dir/model.safetensors"), safetensors(64)).unwrap();
    let abs = |name: &str| outside.join(name).to_str().unwrap().to_owned();

    fx.model("evil/relative")
        .snapshot(A)
        .link("config.json", "../../../../config.json")
        .link("README.md", "../../../../card.md")
        .file("model.safetensors", safetensors(4));
    fx.model("evil/absolute")
        .snapshot(A)
        .link("config.json", &abs("config.json"))
        .link("README.md", &abs("card.md"))
        .file("model.safetensors", safetensors(4));
    fx.model("evil/deep")
        .snapshot(A)
        .link("config.json", "../../../../../../../../../../config.json")
        .file("model.safetensors", safetensors(4));
    // A linked folder: `weights/` points outside; its files must not be counted.
    fx.model("evil/dirlink")
        .snapshot(A)
        .file("config.json", r#"{"model_type":"llama"}"#)
        .link("weights", &abs("dir"))
        .link("rel-weights", "../../../../dir");
    // The repo's own blobs folder is a link out of the cache.
    let blobs_out = fx.model("evil/blobs-link");
    std::os::unix::fs::symlink(outside, blobs_out.path().join("blobs")).unwrap();
    blobs_out
        .snapshot(A)
        .link("config.json", "../../blobs/config.json");
    // The snapshots folder itself is a link out of the cache.
    let snaps_out = fx.model("evil/snapshots-link");
    fs::create_dir_all(outside.join("snaps").join(A)).unwrap();
    fs::copy(
        outside.join("config.json"),
        outside.join("snaps").join(A).join("config.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("snaps"), snaps_out.path().join("snapshots")).unwrap();
    fx.freeze_mtimes();
    fx
}

fn assert_no_leak(label: &str, stdout: &[u8], stderr: &[u8]) {
    let out = String::from_utf8_lossy(stdout);
    let err = String::from_utf8_lossy(stderr);
    assert!(
        !out.contains(SECRET) && !err.contains(SECRET),
        "[{label}] secret leaked:\n{out}\n{err}"
    );
    assert!(
        !out.contains(&CONTEXT_MARKER.to_string()),
        "[{label}] outside config was read:\n{out}"
    );
}

#[test]
fn links_out_of_the_cache_are_reported_and_never_followed() {
    let fx = escaping_cache();
    let argvs: Vec<Vec<&str>> = vec![
        vec!["list", "--json", "--all"],
        vec!["list", "--all", "--health", "--verbose"],
        vec!["list", "--json", "evil"],
    ];
    let node_cases: Vec<_> = argvs
        .iter()
        .map(|a| {
            (
                a.iter().map(|s| (*s).to_owned()).collect(),
                fx.path().to_path_buf(),
            )
        })
        .collect();
    let node_runs = node_batch(&node_cases);
    for (argv, node) in argvs.iter().zip(node_runs) {
        let wasmtime = cli(argv, Some(fx.path()));
        let lib = native(argv, fx.path());
        assert_eq!(wasmtime.code, 0, "{argv:?} must succeed");
        for (label, run) in [("mlxk", &wasmtime), ("node", &node), ("native", &lib)] {
            assert_no_leak(label, &run.stdout, &run.stderr);
            assert_eq!(run.stdout, wasmtime.stdout, "{label} differs for {argv:?}");
        }
    }

    let env = cli(&["list", "--json", "--all"], Some(fx.path())).json();
    let models = env["data"]["models"].as_array().unwrap();
    let get = |name: &str| models.iter().find(|m| m["name"] == name).unwrap();
    for (name, first_link) in [
        ("evil/relative", "README.md"),
        ("evil/absolute", "README.md"),
        ("evil/deep", "config.json"),
    ] {
        let m = get(name);
        assert_eq!(m["health"], "unhealthy", "{name}");
        assert_eq!(
            m["reason"],
            format!("Link escapes the cache: {first_link}"),
            "{name}"
        );
        assert_ne!(
            m["framework"], "MLX",
            "{name}: the outside model card was read"
        );
        assert_eq!(m["context_length"], Value::Null, "{name}");
    }
    let dirlink = get("evil/dirlink");
    assert_eq!(dirlink["reason"], "Link escapes the cache: rel-weights");
    assert!(
        dirlink["size_bytes"].as_u64().unwrap() < 100,
        "files behind a linked folder were counted"
    );
    assert_eq!(
        get("evil/blobs-link")["reason"],
        "Link escapes the cache: config.json"
    );
    // A snapshots/ folder that is a link is not a snapshots folder.
    assert_eq!(
        get("evil/snapshots-link")["reason"],
        "No snapshots directory found"
    );
}

/// Every file under `dir` but the cache itself with its bytes (links as their text), for
/// before/after checks.
fn contents(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if rel == "hub" {
                continue;
            }
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_symlink() {
                out.push((
                    rel,
                    fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else if meta.is_dir() {
                out.push((rel, b"/".to_vec()));
                stack.push(p);
            } else {
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const EVIL: &[&str] = &[
    "evil/relative",
    "evil/absolute",
    "evil/deep",
    "evil/dirlink",
    "evil/blobs-link",
    "evil/snapshots-link",
];

#[test]
fn every_command_on_every_escaping_repo_leaks_nothing_and_touches_nothing_outside() {
    let fx = escaping_cache();
    let before = contents(fx.outside());
    let mut argvs: Vec<Vec<String>> = Vec::new();
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    argvs.push(own(&["health", "--json"]));
    argvs.push(own(&["health", "--deep", "--json"]));
    argvs.push(own(&["health", "--deep"]));
    for name in EVIL {
        for argv in [
            &["show", name, "--json"][..],
            &["show", name, "--files", "--json"],
            &["show", name, "--config", "--json"],
            &["show", name],
            &["health", name, "--deep", "--json"],
            &["rm", name, "--dry-run", "--json"],
            &["pull", name, "--json"],
        ] {
            argvs.push(own(argv));
        }
    }
    let node_cases: Vec<_> = argvs
        .iter()
        .map(|a| (a.clone(), fx.path().to_path_buf()))
        .collect();
    let node_runs = node_batch(&node_cases);
    for (argv, node) in argvs.iter().zip(&node_runs) {
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        // Offline: pull answers from the cache or fails, and never reaches out.
        let ours = tests::runners::cli_with(
            "mlxk",
            &args,
            Some(fx.path()),
            &[("HF_HUB_OFFLINE", std::path::Path::new("1"))],
        );
        assert_no_leak("mlxk", &ours.stdout, &ours.stderr);
        assert_no_leak("node", &node.stdout, &node.stderr);
        if args[0] != "pull" {
            assert_eq!(ours.stdout, node.stdout, "{argv:?}");
        }
        if argv.contains(&"--json".to_owned()) {
            tests::schema::assert_valid(&ours.json());
        }
    }
    assert_eq!(
        contents(fx.outside()),
        before,
        "a read-only command changed the outside"
    );

    // Removing every escaping repo, on both runtimes, unlinks links and never follows one.
    let node_fx = escaping_cache();
    let node_before = contents(node_fx.outside());
    let removals: Vec<_> = EVIL
        .iter()
        .map(|n| {
            (
                own(&["rm", n, "-f", "--json"]),
                node_fx.path().to_path_buf(),
            )
        })
        .collect();
    for (run, name) in node_batch(&removals).iter().zip(EVIL) {
        assert_eq!(
            run.json()["data"]["action"],
            "deleted",
            "node rm {name}: {}",
            run.stdout_text()
        );
    }
    for name in EVIL {
        let run = cli(&["rm", name, "-f", "--json"], Some(fx.path()));
        assert_eq!(
            run.json()["data"]["action"],
            "deleted",
            "rm {name}: {}",
            run.stdout_text()
        );
        assert!(
            !fx.path()
                .join(format!("models--{}", name.replace('/', "--")))
                .exists()
        );
    }
    assert_eq!(
        contents(fx.outside()),
        before,
        "rm changed a file outside the cache"
    );
    assert_eq!(
        contents(node_fx.outside()),
        node_before,
        "node rm changed the outside"
    );
}
