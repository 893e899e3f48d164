//! The schemas are strict enough to catch drift: a field too many, a wrong type, a
//! missing key all fail, so validating real outputs (the parity suite does) means something.

use serde_json::json;
use tests::schema::check;
use tests::{cli_json, zoo};

#[test]
fn real_outputs_validate_and_mutations_do_not() {
    let fx = zoo::zoo();
    let (_, env) = cli_json(&["list", "--all"], fx.path());
    assert!(check(&env).is_empty(), "{:?}", check(&env));

    let mut extra = env.clone();
    extra["data"]["models"][0]["surprise"] = json!(1);
    assert!(
        !check(&extra).is_empty(),
        "an unknown model field must fail"
    );

    let mut wrong = env.clone();
    wrong["data"]["models"][0]["size_bytes"] = json!("5KB");
    assert!(!check(&wrong).is_empty(), "size_bytes is an integer");

    let mut missing = env.clone();
    missing["data"].as_object_mut().unwrap().remove("system");
    assert!(!check(&missing).is_empty(), "system is required");

    let mut bad_time = env;
    bad_time["data"]["models"][0]["last_modified"] = json!("2023-11-14 22:13:20");
    assert!(!check(&bad_time).is_empty());

    let usage = json!({"status": "error", "command": null, "data": null,
                       "error": {"type": "CommandError", "message": "x"}});
    assert!(check(&usage).is_empty());
    let mut usage_bad = usage;
    usage_bad["data"] = json!({});
    assert!(!check(&usage_bad).is_empty());
}
