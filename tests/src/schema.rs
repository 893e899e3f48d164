//! The published JSON Schemas (`schema/*.schema.json`), loaded for validating real outputs.

use serde_json::Value;

use crate::runners::repo_root;

const BASE: &str = "https://mlx-knife.dev/schema/";

fn load(name: &str) -> Value {
    let path = repo_root().join("schema").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Validates an envelope against the schema of its command (`command: null` → CLI error).
/// Returns the validation errors, empty when valid.
pub fn check(envelope: &Value) -> Vec<String> {
    let file = match envelope["command"].as_str() {
        None => "cli-error.schema.json",
        Some(cmd) => &format!("{cmd}.schema.json"),
    };
    let registry = jsonschema::Registry::new()
        .add(
            format!("{BASE}common.schema.json"),
            load("common.schema.json"),
        )
        .expect("valid URI")
        .prepare()
        .expect("registry");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&load(file))
        .unwrap_or_else(|e| panic!("{file} is not a valid schema: {e}"));
    validator
        .iter_errors(envelope)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every violation when `envelope` does not match its schema.
pub fn assert_valid(envelope: &Value) {
    let errors = check(envelope);
    assert!(
        errors.is_empty(),
        "schema violations:\n{}\nin {envelope:#}",
        errors.join("\n")
    );
}
